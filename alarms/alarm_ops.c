/* SPDX-License-Identifier: MIT */
/* alarm_ops.c: the CloudWatch alarm operations - put, describe, delete, set state, history,
 * enable/disable actions. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alarms/alarms_internal.h"
#include "common/log.h"

#define DEFAULT_MAX_ALARMS 100000

static size_t max_alarms(const struct alarms *a)
{
	return a->cfg->alarm_max_count > 0 ? (size_t)a->cfg->alarm_max_count : DEFAULT_MAX_ALARMS;
}

/* The alarm name a rule reference means: a name, or the name inside an alarm ARN. */
static const char *ref_name(const char *ref)
{
	const char *p = strncmp(ref, "arn:", 4) == 0 ? strstr(ref, ":alarm:") : NULL;

	return p ? p + 7 : ref;
}

static bool rule_names(const struct alarm *comp, const char *name)
{
	size_t n;
	const char *const *refs = comp->rule ? alarm_rule_refs(comp->rule, &n) : NULL;

	for (size_t i = 0; refs && i < n; i++)
		if (strcmp(ref_name(refs[i]), name) == 0)
			return true;
	return false;
}

/* True when target is reachable from al through composite rules. */
static bool reaches(struct alarms *a, const struct alarm *al, const char *target, int depth)
{
	size_t n;
	const char *const *refs;

	if (!al->rule || depth > 1000)
		return depth > 1000;
	refs = alarm_rule_refs(al->rule, &n);
	for (size_t i = 0; i < n; i++) {
		const char *nm = ref_name(refs[i]);
		struct alarm *child;
		if (strcmp(nm, target) == 0)
			return true;
		child = alarms_find(a, nm);
		if (child && child->composite && reaches(a, child, target, depth + 1))
			return true;
	}
	return false;
}

static int check_rule_refs(struct alarms *a, const struct alarm *al, struct berr *e)
{
	size_t n;
	const char *const *refs = alarm_rule_refs(al->rule, &n);

	if (n > 100)
		return berr_set(e, 400, "ValidationError", "An AlarmRule may name at most 100 "
				"alarms; this one names %zu.", n);
	for (size_t i = 0; i < n; i++) {
		const char *nm = ref_name(refs[i]);
		struct alarm *child = alarms_find(a, nm);
		if (strcmp(nm, al->name) == 0)
			return berr_set(e, 400, "ValidationError", "The AlarmRule of %s names the alarm "
					"itself.", al->name);
		if (!child)
			return berr_set(e, 400, "ValidationError", "The AlarmRule names the alarm "
					"%.255s, which does not exist.", nm);
		if (child->composite && reaches(a, child, al->name, 0))
			return berr_set(e, 400, "ValidationError", "The AlarmRule would make a cycle: "
					"%.255s depends on %.255s.", nm, al->name);
	}
	return 0;
}

/* Fields whose values differ between two configurations, with the old values. */
static json_t *changed_fields(const json_t *old, const json_t *new)
{
	json_t *out = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)old, k, v)
		if (!json_equal(v, json_object_get(new, k)))
			json_object_set(out, k, v);
	json_object_foreach((json_t *)new, k, v)
		if (!json_object_get(old, k))
			json_object_set_new(out, k, json_null());
	return out;
}

static void config_history(struct alarms *a, const struct alarm *al, const json_t *old_conf,
			   const char *type)
{
	char summary[400];
	json_t *d;

	snprintf(summary, sizeof(summary), "Alarm \"%s\" %s", al->name,
		 !strcmp(type, "Create") ? "created" : !strcmp(type, "Update") ? "updated"
		 : "deleted");
	if (!strcmp(type, "Update"))
		d = json_pack("{s:s, s:s, s:o, s:o}", "version", "1.0", "type", type, "updatedAlarm",
			      alarm_model_describe(al), "originalUpdatedFields",
			      changed_fields(old_conf, al->conf));
	else
		d = json_pack("{s:s, s:s, s:o}", "version", "1.0", "type", type,
			      !strcmp(type, "Create") ? "createdAlarm" : "deletedAlarm",
			      alarm_model_describe(al));
	alarms_history_add(a, al->name, al->composite, HIST_CONFIG, summary, d);
	alarms_history_sync(a);
}

/* Installs al (fully parsed) in place of any alarm of its name; evaluates it once. */
static int install(struct alarms *a, struct alarm *al, struct berr *e)
{
	struct alarm *old = alarms_find(a, al->name);
	double now = time_now();
	int ret;

	if (old && old->composite != al->composite)
		return berr_set(e, 400, "InvalidParameterValue", "An alarm named %s already exists "
				"as a %s alarm.", al->name, old->composite ? "composite" : "metric");
	if (!old && a->n_metric + a->n_composite >= max_alarms(a))
		return berr_set(e, 400, "LimitExceeded", "The maximum number of alarms (%zu) is "
				"reached.", max_alarms(a));
	if (!al->composite && alarm_sched_reserve(a, 1) < 0)
		return berr_set(e, 500, "InternalFailure", "The alarm could not be stored: %s.",
				strerror(ENOMEM));
	al->conf_updated = now;
	if (old) {
		al->state = old->state;
		al->reason = old->reason;
		al->reason_data = old->reason_data;
		old->reason = old->reason_data = NULL;
		al->state_updated = old->state_updated;
		al->state_transitioned = old->state_transitioned;
	} else {
		al->state = ALARM_STATE_INSUFFICIENT;
		al->reason = strdup("Unchecked: Initial alarm creation");
		al->state_updated = al->state_transitioned = now;
	}
	ret = alarms_save(a, al);
	if (ret < 0)
		return berr_set(e, 500, "InternalFailure", "The alarm could not be stored: %s.",
				strerror(-ret));
	if (old)
		alarms_unlink(a, old);
	alarms_link(a, al);
	config_history(a, al, old ? old->conf : NULL, old ? "Update" : "Create");
	alarms_free_alarm(old);
	if (!al->composite && a->collector) {
		/* As the passes do, at the collector's newest sample: a period it has not yet
		 * sampled to the end (its cycle is due, or late on a busy host) is not judged on
		 * the samples it does not have yet. */
		const struct collector *c = a->collector;
		double at = c->cycle && c->ts[c->cycle % c->cap] < now ? c->ts[c->cycle % c->cap] : now;
		alarm_eval_metric(a, al, alarm_period_end(a, al, at), now);
	}
	alarms_eval_composites(a, now, NULL);
	alarms_history_sync(a);
	return 0;
}

int alarms_put_metric_alarm(struct alarms *a, const json_t *request, struct berr *e)
{
	struct alarm *al = calloc(1, sizeof(*al));
	int ret;

	if (!al)
		return -ENOMEM;
	ret = alarm_model_metric(a, request, al, true, e);
	if (ret == 0)
		ret = install(a, al, e);
	if (ret < 0)
		alarms_free_alarm(al);
	return ret;
}

int alarms_put_composite_alarm(struct alarms *a, const json_t *request, struct berr *e)
{
	struct alarm *al = calloc(1, sizeof(*al));
	int ret;

	if (!al)
		return -ENOMEM;
	ret = alarm_model_composite(a, request, al, true, e);
	if (ret == 0)
		ret = check_rule_refs(a, al, e);
	if (ret == 0)
		ret = install(a, al, e);
	if (ret < 0)
		alarms_free_alarm(al);
	return ret;
}

json_t *alarms_describe_one(struct alarms *a, const char *name, bool *composite)
{
	struct alarm *al = alarms_find(a, name);

	if (!al)
		return NULL;
	if (composite)
		*composite = al->composite;
	return alarm_model_describe(al);
}

static int cmp_name(const void *x, const void *y)
{
	return strcmp((*(struct alarm *const *)x)->name, (*(struct alarm *const *)y)->name);
}

/* Every alarm sorted by name into a new array (*n); NULL on allocation failure. */
static struct alarm **sorted(struct alarms *a, size_t *n)
{
	size_t k = 0;
	struct alarm **v = malloc((a->n_metric + a->n_composite + 1) * sizeof(*v));

	for (struct alarm *al = a->list; v && al; al = al->next)
		v[k++] = al;
	if (v)
		qsort(v, k, sizeof(*v), cmp_name);
	*n = k;
	return v;
}

struct describe_filter {
	json_t *names;
	const char *prefix, *state, *action_prefix, *children_of, *parents_of;
	bool metric, composite;
};

static bool has_action_prefix(const struct alarm *al, const char *prefix)
{
	for (int s = 0; s < ALARM_STATE_N; s++) {
		size_t i;
		json_t *v;
		json_array_foreach(alarm_model_actions(al, s), i, v)
			if (strncmp(json_string_value(v), prefix, strlen(prefix)) == 0)
				return true;
	}
	return false;
}

static bool matches(struct alarms *a, const struct alarm *al, const struct describe_filter *f)
{
	if (al->composite ? !f->composite : !f->metric)
		return false;
	if (f->names && json_array_size(f->names)) {
		size_t i;
		json_t *v;
		bool found = false;
		json_array_foreach(f->names, i, v)
			found = found || !strcmp(json_string_value(v), al->name);
		if (!found)
			return false;
	}
	if (f->prefix && strncmp(al->name, f->prefix, strlen(f->prefix)))
		return false;
	if (f->state && strcmp(alarm_state_name(al->state), f->state))
		return false;
	if (f->action_prefix && !has_action_prefix(al, f->action_prefix))
		return false;
	if (f->children_of) {
		struct alarm *p = alarms_find(a, f->children_of);
		if (!p || !rule_names(p, al->name))
			return false;
	}
	if (f->parents_of && (!al->composite || !rule_names(al, f->parents_of)))
		return false;
	return true;
}

static int parse_filter(const json_t *req, struct describe_filter *f, struct berr *e)
{
	json_t *types = json_object_get(req, "AlarmTypes"), *v;
	size_t i;

	memset(f, 0, sizeof(*f));
	f->names = json_object_get(req, "AlarmNames");
	if (f->names && !json_is_null(f->names) &&
	    (!json_is_array(f->names) || json_array_size(f->names) > 100))
		return berr_set(e, 400, "ValidationError", "AlarmNames must be a list of at most "
				"100 names.");
	json_array_foreach(f->names, i, v)
		if (!json_is_string(v))
			return berr_set(e, 400, "ValidationError", "AlarmNames must be strings.");
	f->prefix = json_string_value(json_object_get(req, "AlarmNamePrefix"));
	f->state = json_string_value(json_object_get(req, "StateValue"));
	f->action_prefix = json_string_value(json_object_get(req, "ActionPrefix"));
	f->children_of = json_string_value(json_object_get(req, "ChildrenOfAlarmName"));
	f->parents_of = json_string_value(json_object_get(req, "ParentsOfAlarmName"));
	if (f->prefix && json_array_size(f->names))
		return berr_set(e, 400, "InvalidParameterCombination", "AlarmNames and "
				"AlarmNamePrefix cannot be given together.");
	if (f->state && alarm_state_parse(f->state) < 0)
		return berr_set(e, 400, "ValidationError", "1 validation error detected: Value "
				"'%.64s' at 'StateValue' failed to satisfy constraint: Member must "
				"satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]", f->state);
	/* Without AlarmTypes CloudWatch lists metric alarms only. */
	f->metric = !types || json_is_null(types);
	if (types && !json_is_null(types) && !json_is_array(types))
		return berr_set(e, 400, "ValidationError", "AlarmTypes must be a list.");
	json_array_foreach(types, i, v) {
		const char *t = json_string_value(v);
		if (t && !strcmp(t, "MetricAlarm"))
			f->metric = true;
		else if (t && !strcmp(t, "CompositeAlarm"))
			f->composite = true;
		else
			return berr_set(e, 400, "ValidationError", "1 validation error detected: "
					"AlarmTypes members must satisfy enum value set: "
					"[CompositeAlarm, MetricAlarm]");
	}
	return 0;
}

/* MaxRecords (1..100, absent: no limit) and NextToken (an offset) of a request. */
static int paging(const json_t *req, size_t *max, size_t *start, struct berr *e)
{
	json_t *m = json_object_get(req, "MaxRecords");
	const char *tok = json_string_value(json_object_get(req, "NextToken"));
	char *end;

	*max = (size_t)-1;
	*start = 0;
	if (m && !json_is_null(m)) {
		if (!json_is_integer(m) || json_integer_value(m) < 1 || json_integer_value(m) > 100)
			return berr_set(e, 400, "ValidationError", "MaxRecords must be between 1 and "
					"100.");
		*max = (size_t)json_integer_value(m);
	}
	if (tok) {
		unsigned long long v = strtoull(tok, &end, 10);
		if (!tok[0] || *end)
			return berr_set(e, 400, "InvalidNextToken", "The NextToken is not valid.");
		*start = (size_t)v;
	}
	return 0;
}

int alarms_describe(struct alarms *a, const json_t *request, json_t **out, struct berr *e)
{
	struct describe_filter f;
	struct alarm **v;
	size_t n, max, start, seen = 0, taken = 0;
	json_t *metric, *comp;

	*out = NULL;
	if (parse_filter(request, &f, e) < 0 || paging(request, &max, &start, e) < 0)
		return -EINVAL;
	v = sorted(a, &n);
	if (!v)
		return -ENOMEM;
	metric = json_array();
	comp = json_array();
	*out = json_pack("{s:o, s:o}", "MetricAlarms", metric, "CompositeAlarms", comp);
	for (size_t i = 0; i < n; i++) {
		if (!matches(a, v[i], &f) || seen++ < start)
			continue;
		if (taken == max) {
			char tok[32];
			snprintf(tok, sizeof(tok), "%zu", start + taken);
			json_object_set_new(*out, "NextToken", json_string(tok));
			break;
		}
		json_array_append_new(v[i]->composite ? comp : metric, alarm_model_describe(v[i]));
		taken++;
	}
	free(v);
	return 0;
}

static struct alarm *referenced_by(struct alarms *a, const char *name, json_t *deleting)
{
	for (struct alarm *c = a->list; c; c = c->next) {
		bool also = false;
		size_t i;
		json_t *v;
		if (!c->composite || !rule_names(c, name))
			continue;
		json_array_foreach(deleting, i, v)
			also = also || !strcmp(json_string_value(v), c->name);
		if (!also)
			return c;
	}
	return NULL;
}

static void remove_alarm(struct alarms *a, struct alarm *al)
{
	char path[700];

	alarms_path(a, al->name, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		log_error("alarms: failed to remove %s: %s", path, strerror(errno));
	config_history(a, al, NULL, "Delete");
	alarms_unlink(a, al);
	alarms_free_alarm(al);
}

int alarms_delete(struct alarms *a, const char *name, struct berr *e)
{
	json_t *req = json_pack("{s:[s]}", "AlarmNames", name);
	int ret = alarms_delete_request(a, req, e);

	json_decref(req);
	return ret;
}

int alarms_delete_request(struct alarms *a, const json_t *request, struct berr *e)
{
	json_t *names = json_object_get(request, "AlarmNames"), *v;
	size_t i, found = 0;

	if (!json_is_array(names) || json_array_size(names) == 0 || json_array_size(names) > 100)
		return berr_set(e, 400, "ValidationError", "AlarmNames must list 1 to 100 alarm "
				"names.");
	json_array_foreach(names, i, v) {
		struct alarm *al, *by;
		if (!json_is_string(v))
			return berr_set(e, 400, "ValidationError", "AlarmNames must be strings.");
		al = alarms_find(a, json_string_value(v));
		if (!al)
			continue;
		found++;
		if ((by = referenced_by(a, al->name, names)))
			return berr_set(e, 400, "ValidationError", "The alarm %s is named in the rule "
					"of composite alarm %s; change or delete that alarm first.",
					al->name, by->name);
	}
	if (!found)
		return berr_set(e, 404, "ResourceNotFound", "No alarm named %s exists.",
				json_string_value(json_array_get(names, 0)));
	json_array_foreach(names, i, v) {
		struct alarm *al = alarms_find(a, json_string_value(v));
		if (al)
			remove_alarm(a, al);
	}
	return 0;
}

int alarms_set_state(struct alarms *a, const json_t *request, struct berr *e)
{
	const char *name = json_string_value(json_object_get(request, "AlarmName"));
	const char *state = json_string_value(json_object_get(request, "StateValue"));
	json_t *rv = json_object_get(request, "StateReason");
	json_t *dv = json_object_get(request, "StateReasonData"), *data = NULL;
	const char *reason = json_string_value(rv);
	struct alarm *al;
	int s;

	if (!name || !state || !reason)
		return berr_set(e, 400, "ValidationError", "1 validation error detected: Value null at "
				"'%s' failed to satisfy constraint: Member must not be null",
				!name ? "AlarmName" : !state ? "StateValue" : "StateReason");
	if ((s = alarm_state_parse(state)) < 0)
		return berr_set(e, 400, "ValidationError", "1 validation error detected: Value "
				"'%.64s' at 'StateValue' failed to satisfy constraint: Member must "
				"satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]", state);
	if (strlen(reason) > 1023)
		return berr_set(e, 400, "ValidationError", "StateReason is longer than 1023 "
				"characters.");
	if (dv && !json_is_null(dv)) {
		if (!json_is_string(dv) || json_string_length(dv) > 4000 ||
		    !(data = json_loads(json_string_value(dv), JSON_DECODE_ANY, NULL)))
			return berr_set(e, 400, "InvalidFormat", "StateReasonData must be JSON text "
					"of at most 4000 characters.");
	}
	al = alarms_find(a, name);
	if (!al) {
		json_decref(data);
		return berr_set(e, 404, "ResourceNotFound", "No alarm named %.255s exists.", name);
	}
	alarms_transition(a, al, (enum alarm_state)s, reason, data, time_now());
	alarms_eval_composites(a, time_now(), al);
	alarms_history_sync(a);
	return 0;
}

static int parse_time(const json_t *v, double *out)
{
	struct tm tm = { 0 };
	const char *s = json_string_value(v), *end;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (!s)
		return -EINVAL;
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return -EINVAL;
	*out = (double)timegm(&tm);
	if (*end == '.')
		*out += strtod(end, (char **)&end);
	if (*end && strcmp(end, "Z") && strcmp(end, "+00:00") && strcmp(end, "+0000"))
		return -EINVAL;
	return 0;
}

static json_t *hist_json(const struct alarm_hist *h)
{
	static const char *const types[] = { "ConfigurationUpdate", "StateUpdate", "Action" };
	char t[40];

	time_iso8601(h->t, t, sizeof(t));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "AlarmName", h->name, "AlarmType",
			 h->composite ? "CompositeAlarm" : "MetricAlarm", "Timestamp", t,
			 "HistoryItemType", types[h->type], "HistorySummary", h->summary,
			 "HistoryData", h->data);
}

int alarms_history(struct alarms *a, const json_t *request, json_t **out, struct berr *e)
{
	const char *name = json_string_value(json_object_get(request, "AlarmName"));
	const char *type = json_string_value(json_object_get(request, "HistoryItemType"));
	const char *scan = json_string_value(json_object_get(request, "ScanBy"));
	json_t *sd = json_object_get(request, "StartDate"), *ed = json_object_get(request, "EndDate");
	json_t *types = json_object_get(request, "AlarmTypes"), *items, *v;
	double start = 0, end = INFINITY;
	size_t max, first, seen = 0, taken = 0, i;
	bool asc = scan && !strcmp(scan, "TimestampAscending"), want[2] = { true, true };
	int k = -1;

	*out = NULL;
	if ((sd && !json_is_null(sd) && parse_time(sd, &start) < 0) ||
	    (ed && !json_is_null(ed) && parse_time(ed, &end) < 0))
		return berr_set(e, 400, "ValidationError", "StartDate and EndDate are ISO 8601 times "
				"(2026-11-26T10:00:00Z) or seconds since the epoch.");
	if (scan && !asc && strcmp(scan, "TimestampDescending"))
		return berr_set(e, 400, "ValidationError", "ScanBy is TimestampDescending or "
				"TimestampAscending.");
	for (int t = 0; type && t < 3; t++)
		if (!strcmp(type, (const char *[]){ "ConfigurationUpdate", "StateUpdate",
						    "Action" }[t]))
			k = t;
	if (type && k < 0)
		return berr_set(e, 400, "ValidationError", "HistoryItemType is ConfigurationUpdate, "
				"StateUpdate or Action.");
	if (types && json_is_array(types) && json_array_size(types)) {
		want[0] = want[1] = false;
		json_array_foreach(types, i, v) {
			want[0] = want[0] || !strcmp(json_string_value(v) ?: "", "MetricAlarm");
			want[1] = want[1] || !strcmp(json_string_value(v) ?: "", "CompositeAlarm");
		}
	}
	if (paging(request, &max, &first, e) < 0)
		return -EINVAL;
	if (max == (size_t)-1)
		max = 100;
	items = json_array();
	*out = json_pack("{s:o}", "AlarmHistoryItems", items);
	for (size_t j = 0; j < a->n_hist - a->hist_head; j++) {
		const struct alarm_hist *h = &a->hist[asc ? a->hist_head + j : a->n_hist - 1 - j];
		if ((name && strcmp(h->name, name)) || (k >= 0 && (int)h->type != k) ||
		    h->t < start || h->t >= end || !want[h->composite] || seen++ < first)
			continue;
		if (taken == max) {
			char tok[32];
			snprintf(tok, sizeof(tok), "%zu", first + taken);
			json_object_set_new(*out, "NextToken", json_string(tok));
			break;
		}
		json_array_append_new(items, hist_json(h));
		taken++;
	}
	return 0;
}

int alarms_enable_actions(struct alarms *a, const json_t *request, bool enable, struct berr *e)
{
	json_t *names = json_object_get(request, "AlarmNames"), *v;
	size_t i;

	if (!json_is_array(names) || json_array_size(names) == 0 || json_array_size(names) > 100)
		return berr_set(e, 400, "ValidationError", "AlarmNames must list 1 to 100 alarm "
				"names.");
	json_array_foreach(names, i, v) {
		struct alarm *al = alarms_find(a, json_string_value(v) ?: "");
		if (!al || al->actions_enabled == enable)
			continue;
		al->actions_enabled = enable;
		json_object_set_new(al->conf, "ActionsEnabled", json_boolean(enable));
		if (alarms_save(a, al) < 0)
			return berr_set(e, 500, "InternalFailure", "The alarm %s could not be stored.",
					al->name);
	}
	return 0;
}
