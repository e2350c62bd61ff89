/* SPDX-License-Identifier: MIT */
/* actions.c: alarm actions - ARN kinds, dispatch to webhooks, task replacement and scaling. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/actions_internal.h"
#include "collector/collector.h"
#include "common/fileio.h"
#include "common/json.h"
#include "common/log.h"
#include "runtime/service.h"

enum arn_kind { ARN_BAD, ARN_SNS, ARN_REPLACE, ARN_SCALING };

/* Splits "arn:aws:SERVICE:REGION:ACCOUNT:REST" far enough to know the kind; *rest points into
 * arn. */
static enum arn_kind arn_kind(const char *arn, const char **rest)
{
	const char *p;

	if (!arn || strlen(arn) > 1600)
		return ARN_BAD;
	if (strncmp(arn, "arn:aws:sns:", 12) == 0) {
		p = strchr(arn + 12, ':');              /* after REGION */
		p = p ? strchr(p + 1, ':') : NULL;      /* after ACCOUNT */
		if (!p || !p[1] || strchr(p + 1, ':'))
			return ARN_BAD;
		*rest = p + 1;
		return ARN_SNS;
	}
	if (strncmp(arn, "arn:aws:automate:", 17) == 0) {
		p = strchr(arn + 17, ':');
		if (p && strcmp(p, ":ecs:replace-task") == 0)
			return ARN_REPLACE;
		return ARN_BAD;
	}
	if (strncmp(arn, "arn:aws:autoscaling:", 20) == 0 && strstr(arn, ":scalingPolicy:")) {
		*rest = arn;
		return ARN_SCALING;
	}
	return ARN_BAD;
}

int actions_validate_arn(struct alarm_actions *a, const char *arn, struct berr *e)
{
	const char *rest = NULL;

	switch (arn_kind(arn, &rest)) {
	case ARN_SNS:
		if (!wh_endpoint_find(a, rest))
			return berr_set(e, 400, "ValidationError",
					"Invalid action %.600s: no webhook endpoint named %.256s "
					"(create it with PUT /v1/webhooks).", arn, rest);
		return 0;
	case ARN_REPLACE:
		return 0;
	case ARN_SCALING:
		if (!sc_policy_by_arn(a, arn))
			return berr_set(e, 400, "ValidationError",
					"Invalid action %.600s: no such scaling policy.", arn);
		return 0;
	case ARN_BAD:
		break;
	}
	return berr_set(e, 400, "ValidationError",
			"Invalid action %.600s: berth supports arn:aws:sns:REGION:ACCOUNT:WEBHOOK, "
			"arn:aws:automate:REGION:ecs:replace-task and scaling policy ARNs.",
			arn ? arn : "(null)");
}

void actions_history(struct alarm_actions *a, const char *alarm, const char *summary,
		     json_t *data)
{
	char *text = data ? json_steal_dumps(data) : NULL;

	if (a->deps.history && alarm && *alarm)
		a->deps.history(a->deps.history_ctx, alarm, summary, text ? text : "{}");
	free(text);
}

static void history_result(struct alarm_actions *a, const struct alarm_event *ev,
			   const char *arn, bool ok, const char *detail, const char *id)
{
	char summary[1024], ts[40];
	json_t *d;

	snprintf(summary, sizeof(summary), "%s action %s%s%s",
		 ok ? "Successfully executed" : "Failed to execute", arn, detail && *detail ? ": " : "",
		 detail ? detail : "");
	time_iso8601(ev->timestamp, ts, sizeof(ts));
	d = json_pack("{s:s, s:s, s:s}", "actionState", ok ? "Succeeded" : "Failed",
		      "stateUpdateTimestamp", ts, "notificationResource", arn);
	if (detail && *detail)
		json_object_set_new(d, ok ? "message" : "error", json_string(detail));
	if (id)
		json_object_set_new(d, "webhookId", json_string(id));
	actions_history(a, ev->alarm_name, summary, d);
}

static int dispatch_webhook(struct alarm_actions *a, const struct alarm_event *ev,
			    const char *arn, const char *name)
{
	struct wh_endpoint *ep = wh_endpoint_find(a, name);
	char id[40], mid[37];
	char *body;

	if (!ep) {
		history_result(a, ev, arn, false, "no webhook endpoint of that name", NULL);
		return -ENOENT;
	}
	snprintf(id, sizeof(id), "msg_");
	id_random_hex(id + 4, 32);
	id_uuid(mid);
	body = wh_format_body(ep->format, ev, arn, ep->name, a->deps.cfg, mid);
	if (!body || wh_outbox_add(a, ep->name, ev->alarm_name, id, body) < 0) {
		if (!body)
			log_error("actions: failed to format a notification for %s", ep->name);
		history_result(a, ev, arn, false, "the notification could not be queued", NULL);
		return -EIO;
	}
	snprintf(a->last_webhook_id, sizeof(a->last_webhook_id), "%s", id);
	history_result(a, ev, arn, true, ep->enabled ? NULL : "queued; the endpoint is disabled",
		       id);
	return 0;
}

static const char *dimension(const json_t *alarm, const char *name)
{
	json_t *d;
	size_t i;

	json_array_foreach(json_object_get(alarm, "Dimensions"), i, d) {
		const char *n = json_string_value(json_object_get(d, "Name"));
		if (n && strcmp(n, name) == 0)
			return json_string_value(json_object_get(d, "Value"));
	}
	return NULL;
}

/* The latest value of the alarm's metric for one task, NAN when unknown. */
static double task_value(struct alarm_actions *a, const struct rt_task *t,
			 const struct col_metric_info *m)
{
	struct col_series *s;
	double v;

	if (!a->deps.collector || !m)
		return NAN;
	s = collector_series_find(a->deps.collector, COL_TASK, t->cluster, t->id, NULL);
	if (!s || m->col >= s->n_cols)
		return NAN;
	v = s->last[m->col];
	if (m->den >= 0)
		v = s->last[m->den] > 0 ? 100.0 * v / s->last[m->den] : NAN;
	return v;
}

static bool task_live(const struct rt_task *t)
{
	return strcmp(t->desired_status, "RUNNING") == 0 && strcmp(t->last_status, "STOPPED") != 0;
}

/* The service's task whose value is furthest past the threshold's side. */
static struct rt_task *worst_task(struct alarm_actions *a, const char *cluster,
				  const char *service, const json_t *alarm, char *why,
				  size_t whylen)
{
	const char *op = json_string_value(json_object_get(alarm, "ComparisonOperator"));
	const char *mn = json_string_value(json_object_get(alarm, "MetricName"));
	const char *ns = json_string_value(json_object_get(alarm, "Namespace"));
	const struct col_metric_info *m = mn ? collector_metric_find_ns(ns, mn) : NULL;
	bool low = op && strncmp(op, "Less", 4) == 0;
	struct rt_task *best = NULL;
	double best_v = NAN;
	char group[300];

	snprintf(group, sizeof(group), "service:%s", service);
	if (m && m->ns) {
		/* AWS/ECS utilization: its per-task counterpart (TaskCpuUtilization, ...). */
		size_t n;
		const struct col_metric_info *all = collector_metrics(&n), *task = NULL;
		for (size_t i = 0; i < n && !task; i++)
			if (!all[i].ns && all[i].col == m->col && all[i].den == m->den &&
			    (all[i].kinds & (1u << COL_TASK)))
				task = &all[i];
		m = task;
	}
	if (!m || !(m->kinds & (1u << COL_TASK))) {
		snprintf(why, whylen, "metric %s is not measured per task, so no task of service "
			 "%s is the breaching one", mn ? mn : "(none)", service);
		return NULL;
	}
	for (struct rt_task *t = a->deps.rt->tasks; t; t = t->next) {
		double v;
		if (strcmp(t->cluster, cluster) != 0 || strcmp(t->group, group) != 0 ||
		    !task_live(t) || strcmp(t->last_status, "RUNNING") != 0)
			continue;
		v = task_value(a, t, m);
		if (isnan(v))
			continue;
		if (!best || (low ? v < best_v : v > best_v)) {
			best = t;
			best_v = v;
		}
	}
	if (!best)
		snprintf(why, whylen, "service %s has no running task with a recent %s value",
			 service, mn);
	return best;
}

static int dispatch_replace(struct alarm_actions *a, const struct alarm_event *ev,
			    const char *arn)
{
	const char *cluster = dimension(ev->alarm, "ClusterName");
	const char *task_id = dimension(ev->alarm, "TaskId");
	const char *service = dimension(ev->alarm, "ServiceName");
	struct rt_cluster *c;
	struct rt_task *t = NULL;
	char why[400] = "", reason[512], msg[600];
	int ret;

	if (!a->deps.rt || !a->deps.services) {
		history_result(a, ev, arn, false, "the scheduler is not running", NULL);
		return -ENOTSUP;
	}
	cluster = cluster ? cluster : "default";
	c = rt_cluster_find(a->deps.rt, cluster);
	if (!c)
		snprintf(why, sizeof(why), "cluster %s not found", cluster);
	else if (task_id) {
		t = rt_task_find(a->deps.rt, c, task_id);
		if (!t || !task_live(t)) {
			snprintf(why, sizeof(why), "task %s is not running", task_id);
			t = NULL;
		}
	} else if (service) {
		t = worst_task(a, c->name, service, ev->alarm, why, sizeof(why));
	} else {
		snprintf(why, sizeof(why), "the alarm has neither a TaskId nor a ServiceName "
			 "dimension");
	}
	if (!t) {
		a->replace_failures++;
		history_result(a, ev, arn, false, why, NULL);
		log_warn("actions: alarm %s: replace-task not done: %s", ev->alarm_name, why);
		return -ENOENT;
	}
	snprintf(reason, sizeof(reason), "Replaced by alarm %s (%s): replace-task action",
		 ev->alarm_name, ev->new_state);
	ret = svc_replace_task(a->deps.services, t, reason, NULL);
	snprintf(msg, sizeof(msg), "task %s%s%s", t->id, ret < 0 ? ": " : " replaced",
		 ret < 0 ? strerror(-ret) : "");
	if (ret < 0) {
		a->replace_failures++;
		history_result(a, ev, arn, false, msg, NULL);
		return ret;
	}
	a->replace_actions++;
	log_info("actions: alarm %s replaced task %s", ev->alarm_name, t->id);
	history_result(a, ev, arn, true, msg, NULL);
	return 0;
}

static int dispatch_scaling(struct alarm_actions *a, const struct alarm_event *ev,
			    const char *arn)
{
	struct sc_policy *p = sc_policy_by_arn(a, arn);
	char msg[600] = "";
	int ret;

	if (!p) {
		history_result(a, ev, arn, false, "no such scaling policy", NULL);
		return -ENOENT;
	}
	ret = sc_execute(a, p, ev, msg, sizeof(msg));
	if (ret < 0)
		a->scale_failures++;
	history_result(a, ev, arn, ret >= 0, msg, NULL);
	return ret;
}

int actions_dispatch(struct alarm_actions *a, const struct alarm_event *ev,
		     const char *const *arns, size_t n)
{
	int issued = 0;

	if (!a || !ev || !ev->alarm_name || !ev->new_state)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const char *rest = NULL;
		int ret = -EINVAL;
		switch (arn_kind(arns[i], &rest)) {
		case ARN_SNS:
			/* Notifications are for changes; a repeat is not one. */
			if (ev->repeat)
				continue;
			ret = dispatch_webhook(a, ev, arns[i], rest);
			break;
		case ARN_REPLACE:
			if (ev->repeat)
				continue;
			ret = dispatch_replace(a, ev, arns[i]);
			break;
		case ARN_SCALING:
			ret = dispatch_scaling(a, ev, arns[i]);
			break;
		case ARN_BAD:
			history_result(a, ev, arns[i] ? arns[i] : "(null)", false,
				       "unknown action kind", NULL);
			continue;
		}
		if (ret >= 0)
			issued++;
	}
	wh_pump(a);
	return issued;
}

int actions_init(struct alarm_actions **out, const struct alarm_actions_deps *deps)
{
	struct alarm_actions *a = calloc(1, sizeof(*a));
	char state[600];
	int ret;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	a->deps = *deps;
	snprintf(a->webhooks_path, sizeof(a->webhooks_path), "%s/state/webhooks.json",
		 deps->cfg->data_dir);
	snprintf(a->scaling_path, sizeof(a->scaling_path), "%s/state/scaling.json",
		 deps->cfg->data_dir);
	a->activities = json_array();
	snprintf(state, sizeof(state), "%s/state", deps->cfg->data_dir);
	ret = file_mkdir_p(state, 0700);
	if (ret == 0)
		ret = wh_endpoints_load(a);
	if (ret == 0)
		ret = sc_load(a);
	if (ret == 0)
		ret = wh_outbox_init(a);
	if (ret < 0) {
		log_error("actions: failed to start: %s", strerror(-ret));
		actions_close(a);
		return ret;
	}
	*out = a;
	wh_pump(a);
	return 0;
}

void actions_close(struct alarm_actions *a)
{
	if (!a)
		return;
	wh_outbox_close(a);
	wh_endpoints_free(a);
	sc_free(a);
	json_decref(a->activities);
	free(a);
}

/* ---- Prometheus ---------------------------------------------------------------------------- */

struct mbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void mput(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mput(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = (b->cap + (size_t)n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* Label values: \ " and newline escaped as the text format wants. */
static const char *esc(const char *s, char *out, size_t len)
{
	size_t j = 0;

	for (; *s && j + 3 < len; s++) {
		if (*s == '\\' || *s == '"')
			out[j++] = '\\', out[j++] = *s;
		else if (*s == '\n')
			out[j++] = '\\', out[j++] = 'n';
		else
			out[j++] = *s;
	}
	out[j] = '\0';
	return out;
}

int actions_metrics_render(struct alarm_actions *a, char **buf, size_t *len)
{
	struct mbuf b = { 0 };
	static const char *const results[] = { "delivered", "failed", "expired", "dropped" };
	char e[600];

	if (!a)
		return 0;
	mput(&b, "# HELP berth_webhook_deliveries_total Webhook delivery attempts by result "
		 "(expired and dropped count notifications given up).\n"
		 "# TYPE berth_webhook_deliveries_total counter\n");
	for (struct wh_endpoint *ep = a->endpoints; ep; ep = ep->next) {
		uint64_t v[4] = { ep->delivered, ep->failed, ep->expired, ep->dropped };
		for (size_t i = 0; i < 4; i++)
			mput(&b, "berth_webhook_deliveries_total{endpoint=\"%s\",result=\"%s\"} %llu\n",
			     esc(ep->name, e, sizeof(e)), results[i], (unsigned long long)v[i]);
	}
	mput(&b, "# HELP berth_webhook_pending Notifications waiting in the outbox.\n"
		 "# TYPE berth_webhook_pending gauge\n");
	for (struct wh_endpoint *ep = a->endpoints; ep; ep = ep->next) {
		size_t n = 0;
		for (struct wh_item *it = a->items; it; it = it->next)
			n += strcmp(it->endpoint, ep->name) == 0;
		mput(&b, "berth_webhook_pending{endpoint=\"%s\"} %zu\n", esc(ep->name, e, sizeof(e)),
		     n);
	}
	mput(&b, "# HELP berth_webhook_enabled 1 when the endpoint receives deliveries.\n"
		 "# TYPE berth_webhook_enabled gauge\n");
	for (struct wh_endpoint *ep = a->endpoints; ep; ep = ep->next)
		mput(&b, "berth_webhook_enabled{endpoint=\"%s\"} %d\n", esc(ep->name, e, sizeof(e)),
		     ep->enabled ? 1 : 0);
	mput(&b, "# HELP berth_webhook_last_success_timestamp_seconds When the endpoint last "
		 "answered 2xx.\n# TYPE berth_webhook_last_success_timestamp_seconds gauge\n");
	for (struct wh_endpoint *ep = a->endpoints; ep; ep = ep->next)
		mput(&b, "berth_webhook_last_success_timestamp_seconds{endpoint=\"%s\"} %.3f\n",
		     esc(ep->name, e, sizeof(e)), ep->last_success_at);
	mput(&b, "# HELP berth_alarm_actions_total Task replacement and scaling actions by "
		 "result.\n# TYPE berth_alarm_actions_total counter\n"
		 "berth_alarm_actions_total{action=\"replace_task\",result=\"done\"} %llu\n"
		 "berth_alarm_actions_total{action=\"replace_task\",result=\"failed\"} %llu\n"
		 "berth_alarm_actions_total{action=\"scaling\",result=\"done\"} %llu\n"
		 "berth_alarm_actions_total{action=\"scaling\",result=\"failed\"} %llu\n",
		 (unsigned long long)a->replace_actions, (unsigned long long)a->replace_failures,
		 (unsigned long long)a->scale_actions, (unsigned long long)a->scale_failures);
	if (b.failed) {
		free(b.p);
		*buf = NULL;
		*len = 0;
		return -ENOMEM;
	}
	*buf = b.p;
	*len = b.len;
	return 0;
}
