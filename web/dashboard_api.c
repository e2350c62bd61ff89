/* SPDX-License-Identifier: MIT */
/* dashboard_api.c: /v1/dashboard/... (overview, services, paged tasks) and /v1/tokens. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"
#include "common/json.h"
#include "common/log.h"
#include "common/version.h"
#include "runtime/service.h"
#include "runtime/taskdef.h"
#include "web/app.h"
#include "web/auth.h"

#define TASKS_PAGE_MAX 500
#define SPARK_SECONDS 1800

static void respond_json(struct web_response *rs, int status, json_t *o)
{
	char *s = json_steal_dumps(o);

	web_respond(rs, status, "application/json", s, s ? strlen(s) : 0);
	web_add_header(rs, "Cache-Control", "no-store");
}

/* The latest value of a metric for a dimension set, or JSON null. */
static json_t *latest(struct app *a, enum col_kind kind, const char *cluster, const char *name,
		      const char *metric)
{
	const struct col_metric_info *mi = collector_metric_find(metric);
	struct col_series *s;

	if (!a->collector || !mi || mi->den >= 0)
		return json_null();
	s = collector_series_find(a->collector, kind, cluster, name, NULL);
	if (!s || isnan(s->last[mi->col]))
		return json_null();
	return json_real(s->last[mi->col]);
}

static const char *service_of(const struct rt_task *t)
{
	return strncmp(t->group, "service:", 8) == 0 ? t->group + 8 : NULL;
}

static void overview(struct app *a, struct web_response *rs)
{
	json_t *clusters = json_array(), *host;

	for (struct rt_cluster *c = a->rt->clusters; c; c = c->next) {
		int running = 0, pending = 0, desired = 0, services = 0, stopped = 0;
		json_t *o;

		rt_cluster_counts(a->rt, c, &running, &pending);
		for (struct rt_service *s = a->rt->services ? a->rt->services->list : NULL; s;
		     s = s->next) {
			if (strcmp(s->cluster, c->name) != 0 || strcmp(s->status, "ACTIVE") != 0)
				continue;
			services++;
			desired += s->desired_count;
		}
		for (struct rt_task *t = a->rt->tasks; t; t = t->next) {
			if (strcmp(t->cluster, c->name) != 0)
				continue;
			if (strcmp(t->last_status, "STOPPED") == 0)
				stopped++;
			else if (!service_of(t) && strcmp(t->desired_status, "RUNNING") == 0)
				desired++;
		}
		o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i}", "name", c->name, "status",
			      c->status, "runningTasks", running, "pendingTasks", pending,
			      "desiredTasks", desired, "activeServices", services, "stoppedTasks",
			      stopped);
		json_object_set_new(o, "cpuUtilized", latest(a, COL_CLUSTER, c->name, NULL, "CpuUtilized"));
		json_object_set_new(o, "cpuReserved", latest(a, COL_CLUSTER, c->name, NULL, "CpuReserved"));
		json_object_set_new(o, "memoryUtilized",
				    latest(a, COL_CLUSTER, c->name, NULL, "MemoryUtilized"));
		json_object_set_new(o, "memoryReserved",
				    latest(a, COL_CLUSTER, c->name, NULL, "MemoryReserved"));
		json_array_append_new(clusters, o);
	}
	host = json_pack("{s:s, s:s, s:{s:b, s:s}, s:I, s:s, s:f, s:I, s:b}", "cgroupMode",
			 cgroup_mode_name(a->rt->cg.mode), "cgroupParent", a->cfg->cgroup_parent,
			 "bpf", "available", a->bpf_available, "reason", a->bpf_reason,
			 "collectInterval", (json_int_t)a->cfg->collect_interval, "version",
			 BERTH_VERSION, "uptimeSeconds", time_now() - a->started_at, "tasks",
			 (json_int_t)a->rt->n_tasks, "metrics", a->collector != NULL);
	respond_json(rs, 200, json_pack("{s:o, s:o, s:b, s:b}", "clusters", clusters, "host", host,
					"alarms", a->alarms != NULL, "billing", a->ledger != NULL));
}

/* The last half hour of a service metric, one value a minute: [[t, v], ...]. */
static json_t *sparkline(struct app *a, const struct rt_service *s, const char *metric)
{
	const struct col_metric_info *mi = collector_metric_find(metric);
	struct col_query q = { 0 };
	struct col_datapoint *dp = NULL;
	json_t *arr = json_array();
	double now = time_now();
	bool rrd = false;
	size_t n = 0;

	if (!a->collector || !mi)
		return arr;
	q.metric = mi;
	q.kind = COL_SERVICE;
	q.cluster = s->cluster;
	q.name = s->name;
	/* From the in-memory window only: while berthd is younger than the sparkline, from its
	 * start (a query reaching further back reads the service's RRD file, after writing the
	 * file's pending rows: 10-25 ms a service on a busy machine, on the event loop). */
	q.start = now - SPARK_SECONDS > a->started_at ? now - SPARK_SECONDS : a->started_at;
	q.end = now;
	q.period = 60;
	if (collector_query(a->collector, &q, &dp, &n, &rrd) < 0)
		return arr;
	for (size_t i = 0; i < n; i++)
		if (dp[i].count > 0)
			json_array_append_new(arr, json_pack("[f, f]", dp[i].t, dp[i].sum / dp[i].count));
	free(dp);
	return arr;
}

/* sparkline() through the app's cache, which the collector's next cycle empties: a list
 * asked for again (another page, a reload) costs no RRD read. A new reference. */
static json_t *sparkline_cached(struct app *a, const struct rt_service *s, const char *metric)
{
	char key[800];
	json_t *arr;

	if (!a->collector)
		return sparkline(a, s, metric);
	if (!a->spark_cache || a->spark_cycle != a->collector->self.cycles) {
		json_decref(a->spark_cache);
		a->spark_cache = json_object();
		a->spark_cycle = a->collector->self.cycles;
	}
	snprintf(key, sizeof(key), "%s/%s/%s", s->cluster, s->name, metric);
	arr = json_object_get(a->spark_cache, key);
	if (arr)
		return json_incref(arr);
	arr = sparkline(a, s, metric);
	if (a->spark_cache)
		json_object_set(a->spark_cache, key, arr);
	return arr;
}

/* Which sparklines a service row carries. */
enum { SPARK_CPU = 1, SPARK_MEMORY = 2 };

static json_t *service_row(struct app *a, const struct rt_service *s, unsigned sparks)
{
	int running = 0, pending = 0, healthy = 0, unhealthy = 0;
	const struct rt_deployment *primary = NULL;
	json_t *o;

	for (struct rt_task *t = a->rt->tasks; t; t = t->next) {
		const char *name = service_of(t);
		if (!name || strcmp(name, s->name) != 0 || strcmp(t->cluster, s->cluster) != 0)
			continue;
		if (strcmp(t->last_status, "RUNNING") == 0)
			running++;
		else if (strcmp(t->last_status, "STOPPED") != 0)
			pending++;
		if (strcmp(t->last_status, "STOPPED") != 0) {
			healthy += strcmp(t->health_status, "HEALTHY") == 0;
			unhealthy += strcmp(t->health_status, "UNHEALTHY") == 0;
		}
	}
	for (int i = 0; i < s->n_deployments; i++)
		if (strcmp(s->deployments[i].status, "PRIMARY") == 0)
			primary = &s->deployments[i];
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:f}",
		      "cluster", s->cluster, "name", s->name, "arn", s->arn, "status", s->status,
		      "taskDefinition", s->taskdef_arn, "desiredCount", s->desired_count,
		      "runningCount", running, "pendingCount", pending, "healthyCount", healthy,
		      "unhealthyCount", unhealthy, "deployments", s->n_deployments, "rolloutState",
		      primary ? primary->rollout_state : "", "createdAt", s->created_at);
	if (sparks & SPARK_CPU)
		json_object_set_new(o, "cpuSpark", sparkline_cached(a, s, "CpuUtilized"));
	if (sparks & SPARK_MEMORY)
		json_object_set_new(o, "memorySpark", sparkline_cached(a, s, "MemoryUtilized"));
	return o;
}

static int cmp_service(const void *x, const void *y)
{
	const struct rt_service *a = *(const struct rt_service *const *)x;
	const struct rt_service *b = *(const struct rt_service *const *)y;
	int c = strcmp(a->cluster, b->cluster);

	return c ? c : strcmp(a->name, b->name);
}

/* offset and limit of a paged list, leaving *limit as it is (and *given false) when the query
 * names none: 0, or -EINVAL when not a number or out of range (the caller answers 400). */
static int page_params(struct web_request *rq, long *offset, long *limit, bool *given)
{
	char num[32] = "", *end;

	*given = false;
	if (web_query(rq, "offset", num, sizeof(num)) == 0) {
		*offset = strtol(num, &end, 10);
		if (end == num || *end || *offset < 0)
			return -EINVAL;
	}
	if (web_query(rq, "limit", num, sizeof(num)) == 0) {
		*limit = strtol(num, &end, 10);
		*given = true;
		if (end == num || *end || *limit < 1 || *limit > TASKS_PAGE_MAX)
			return -EINVAL;
	}
	return 0;
}

static void bad_page(struct web_response *rs)
{
	web_respond_aws_error(rs, 400, "InvalidParameterException",
			      "offset must be 0 or more and limit between 1 and %d.", TASKS_PAGE_MAX);
}

/* Services sorted by cluster and name; with limit, one page of them (the rows, with their task
 * counts and sparklines, are built for that page only). */
static void services(struct app *a, struct web_request *rq, struct web_response *rs)
{
	char cluster[300] = "";
	long offset = 0, limit = 0;
	struct rt_service **list = NULL;
	unsigned sparks = SPARK_CPU | SPARK_MEMORY;
	char list_of[64] = "";
	size_t n = 0, cap = 0;
	bool limited;
	json_t *arr;

	web_query(rq, "cluster", cluster, sizeof(cluster));
	if (page_params(rq, &offset, &limit, &limited) < 0) {
		bad_page(rs);
		return;
	}
	/* sparks=cpu,memory (the default), one of them, or none (sparks=): a sparkline may read
	 * the RRD files, so a list shows its rows first and asks for the sparklines after. */
	if (web_query(rq, "sparks", list_of, sizeof(list_of)) == 0) {
		char *save = NULL;
		sparks = 0;
		for (char *w = strtok_r(list_of, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
			if (strcmp(w, "cpu") == 0)
				sparks |= SPARK_CPU;
			else if (strcmp(w, "memory") == 0)
				sparks |= SPARK_MEMORY;
			else {
				web_respond_aws_error(rs, 400, "InvalidParameterException",
						      "sparks is a list of cpu and memory, not %s.", w);
				return;
			}
		}
	}
	for (struct rt_service *s = a->rt->services ? a->rt->services->list : NULL; s; s = s->next) {
		if (cluster[0] && strcmp(cluster, s->cluster) != 0)
			continue;
		if (n == cap) {
			struct rt_service **nl = realloc(list, (cap = cap ? 2 * cap : 64) * sizeof(*nl));
			if (!nl) {
				free(list);
				web_respond_aws_error(rs, 500, "ServerException", "Out of memory.");
				return;
			}
			list = nl;
		}
		list[n++] = s;
	}
	if (n)
		qsort(list, n, sizeof(*list), cmp_service);
	arr = json_array();
	for (size_t i = (size_t)offset; i < n && (!limited || i < (size_t)(offset + limit)); i++)
		json_array_append_new(arr, service_row(a, list[i], sparks));
	free(list);
	respond_json(rs, 200, json_pack("{s:o, s:I, s:I}", "services", arr, "total", (json_int_t)n,
					"offset", (json_int_t)offset));
}

/* Filters of the task list; empty strings match everything. */
struct task_filter {
	char cluster[300], service[300], family[300], status[32], q[300];
};

static bool task_matches(const struct rt_task *t, const struct task_filter *f)
{
	const char *svc = service_of(t);

	if (f->cluster[0] && strcmp(f->cluster, t->cluster) != 0)
		return false;
	if (f->service[0] && (!svc || strcmp(f->service, svc) != 0))
		return false;
	if (f->family[0] && (!t->td || strcmp(f->family, t->td->family) != 0))
		return false;
	if (f->status[0]) {
		bool stopped = strcmp(t->last_status, "STOPPED") == 0;
		if (strcmp(f->status, "ACTIVE") == 0 ? stopped : strcmp(f->status, t->last_status) != 0)
			return false;
	}
	return !f->q[0] || strstr(t->id, f->q) || strstr(t->group, f->q);
}

static json_t *task_row(const struct rt_task *t)
{
	const char *svc = service_of(t);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:i}",
			      "id", t->id, "arn", t->arn, "cluster", t->cluster, "family",
			      t->td ? t->td->family : "", "revision", t->td ? t->td->revision : 0,
			      "group", t->group, "lastStatus", t->last_status, "desiredStatus",
			      t->desired_status, "healthStatus", t->health_status, "cpu", t->cpu,
			      "memory", t->memory, "createdAt", t->created_at, "containers",
			      (int)t->n_containers);

	json_object_set_new(o, "service", svc ? json_string(svc) : json_null());
	if (t->started_at > 0)
		json_object_set_new(o, "startedAt", json_real(t->started_at));
	if (t->stopped_at > 0)
		json_object_set_new(o, "stoppedAt", json_real(t->stopped_at));
	if (t->stop_code[0])
		json_object_set_new(o, "stopCode", json_string(t->stop_code));
	if (t->stopped_reason[0])
		json_object_set_new(o, "stoppedReason", json_string(t->stopped_reason));
	return o;
}

static int cmp_created_desc(const void *x, const void *y)
{
	const struct rt_task *a = *(const struct rt_task *const *)x;
	const struct rt_task *b = *(const struct rt_task *const *)y;

	return a->created_at < b->created_at ? 1 : a->created_at > b->created_at ? -1
									     : strcmp(a->id, b->id);
}

static void facet_add(json_t *set, const char *v)
{
	if (v && v[0])
		json_object_set_new(set, v, json_true());
}

static json_t *facet_list(json_t *set)
{
	json_t *arr = json_array();
	const char *k;
	json_t *v;

	json_object_foreach(set, k, v)
		json_array_append_new(arr, json_string(k));
	json_decref(set);
	return arr;
}

static void tasks(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct task_filter f = { 0 };
	long offset = 0, limit = 50;
	struct rt_task **match;
	size_t n = 0;
	bool limited;
	json_t *rows, *fc, *fs, *ff;

	if (page_params(rq, &offset, &limit, &limited) < 0) {
		bad_page(rs);
		return;
	}
	web_query(rq, "cluster", f.cluster, sizeof(f.cluster));
	web_query(rq, "service", f.service, sizeof(f.service));
	web_query(rq, "family", f.family, sizeof(f.family));
	web_query(rq, "status", f.status, sizeof(f.status));
	web_query(rq, "q", f.q, sizeof(f.q));
	rows = json_array();
	fc = json_object();
	fs = json_object();
	ff = json_object();
	match = malloc((a->rt->n_tasks + 1) * sizeof(*match));
	for (struct rt_task *t = a->rt->tasks; t && match; t = t->next) {
		facet_add(fc, t->cluster);
		facet_add(fs, service_of(t));
		facet_add(ff, t->td ? t->td->family : NULL);
		if (task_matches(t, &f) && n < a->rt->n_tasks)
			match[n++] = t;
	}
	if (match)
		qsort(match, n, sizeof(*match), cmp_created_desc);
	for (size_t i = (size_t)offset; match && i < n && i < (size_t)offset + (size_t)limit; i++)
		json_array_append_new(rows, task_row(match[i]));
	free(match);
	respond_json(rs, 200, json_pack("{s:o, s:I, s:I, s:I, s:{s:o, s:o, s:o}}", "tasks", rows,
					"total", (json_int_t)n, "offset", (json_int_t)offset,
					"limit", (json_int_t)limit, "facets", "clusters",
					facet_list(fc), "services", facet_list(fs), "families",
					facet_list(ff)));
}

static void metric_catalog(struct web_response *rs)
{
	static const char *const kinds[COL_KIND_COUNT] = { "container", "task", "service", "family",
							   "cluster" };
	const struct col_metric_info *m;
	json_t *arr = json_array();
	size_t n;

	m = collector_metrics(&n);
	for (size_t i = 0; i < n; i++) {
		json_t *k;
		if (m[i].ns)
			continue;   /* the dashboard charts Container Insights */
		k = json_array();
		for (int j = 0; j < COL_KIND_COUNT; j++)
			if (m[i].kinds & (1u << j))
				json_array_append_new(k, json_string(kinds[j]));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "name", m[i].name, "unit",
						     m[i].unit, "kinds", k));
	}
	respond_json(rs, 200, json_pack("{s:o}", "metrics", arr));
}

/* Token management needs the operator's SigV4 credentials (berthctl), never a session. */
static bool signed_request(const struct web_request *rq)
{
	return web_header(rq, "Authorization") || strstr(rq->query, "X-Amz-Signature=");
}

static void token_create(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct berr e = { { 0 }, { 0 }, 400 };
	enum auth_role role = AUTH_ROLE_OPERATOR;
	const struct auth_token *t = NULL;
	const char *name = NULL, *r = NULL;
	char secret[AUTH_TOKEN_LEN + 1];
	json_t *req = NULL, *o;

	if (rq->body_len && (json_decode_request(rq->body, rq->body_len, 4, &req, &e) < 0 ||
			     json_get_string(req, "name", &name, &e) < 0 ||
			     json_get_string(req, "role", &r, &e) < 0)) {
		json_decref(req);
		web_respond_aws_error(rs, 400, e.type[0] ? e.type : "InvalidParameterException",
				      "%s", e.message);
		return;
	}
	if (r && strcmp(r, "read-only") == 0)
		role = AUTH_ROLE_READ_ONLY;
	else if (r && strcmp(r, "operator") != 0) {
		json_decref(req);
		web_respond_aws_error(rs, 400, "InvalidParameterException",
				      "role must be operator or read-only.");
		return;
	}
	if (auth_token_create(a->auth, name, role, time_now(), secret, sizeof(secret), &t, &e) < 0) {
		json_decref(req);
		web_respond_aws_error(rs, e.http_status, e.type, "%s", e.message);
		return;
	}
	json_decref(req);
	log_info("web: created %s access token %s (%s)", auth_role_name(t->role), t->id, t->name);
	o = auth_token_json(t);
	json_object_set_new(o, "token", json_string(secret));
	respond_json(rs, 200, json_pack("{s:o}", "token", o));
	memset(secret, 0, sizeof(secret));
}

static void tokens_route(struct app *a, struct web_request *rq, struct web_response *rs)
{
	const char *id = rq->path[10] == '/' ? rq->path + 11 : NULL;

	if (!signed_request(rq)) {
		web_respond_aws_error(rs, 403, "AccessDeniedException",
				      "Access tokens are managed with berthctl token (SigV4 "
				      "credentials), not from a dashboard session.");
		return;
	}
	if (!a->auth) {
		web_respond_aws_error(rs, 503, "ServiceUnavailableException",
				      "The token store cannot be read (%s).", a->auth_error);
		return;
	}
	if (!id && strcmp(rq->method, "GET") == 0) {
		json_t *arr = json_array();
		for (size_t i = 0; i < a->auth->n_tokens; i++)
			json_array_append_new(arr, auth_token_json(&a->auth->tokens[i]));
		respond_json(rs, 200, json_pack("{s:o}", "tokens", arr));
	} else if (!id && strcmp(rq->method, "POST") == 0) {
		token_create(a, rq, rs);
	} else if (id && strcmp(rq->method, "DELETE") == 0) {
		int ret = auth_token_revoke(a->auth, id);
		if (ret == -ENOENT)
			web_respond_aws_error(rs, 404, "ResourceNotFoundException",
					      "No access token %s.", id);
		else if (ret < 0)
			web_respond_aws_error(rs, 500, "ServerException",
					      "Cannot write the token store: %s.", strerror(-ret));
		else {
			log_info("web: revoked access token %s", id);
			respond_json(rs, 200, json_pack("{s:s}", "revoked", id));
		}
	} else {
		web_respond_aws_error(rs, 405, "MethodNotAllowedException",
				      "%s is not allowed on %s.", rq->method, rq->path);
	}
}

bool dashboard_api_handle(struct app *a, struct web_request *rq, struct web_response *rs)
{
	const char *p = rq->path;
	bool get = strcmp(rq->method, "GET") == 0;

	if (strcmp(p, "/v1/tokens") == 0 || strncmp(p, "/v1/tokens/", 11) == 0) {
		tokens_route(a, rq, rs);
		return true;
	}
	if (strncmp(p, "/v1/dashboard/", 14) != 0)
		return false;
	if (!get)
		web_respond_aws_error(rs, 405, "MethodNotAllowedException",
				      "%s is not allowed on %s.", rq->method, p);
	else if (strcmp(p, "/v1/dashboard/overview") == 0)
		overview(a, rs);
	else if (strcmp(p, "/v1/dashboard/services") == 0)
		services(a, rq, rs);
	else if (strcmp(p, "/v1/dashboard/tasks") == 0)
		tasks(a, rq, rs);
	else if (strcmp(p, "/v1/dashboard/metrics") == 0)
		metric_catalog(rs);
	else
		web_respond_aws_error(rs, 404, "UnknownOperationException", "No route for %s %s.",
				      rq->method, p);
	return true;
}
