/* SPDX-License-Identifier: MIT */
/* scaling.c: service scaling as Application Auto Scaling does it - scalable targets, step and
 * target tracking policies, activities, and their state file. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/actions_internal.h"
#include "common/fileio.h"
#include "common/json.h"
#include "common/log.h"
#include "runtime/service.h"

#define DIMENSION "ecs:service:DesiredCount"

/* ---- lookups ------------------------------------------------------------------------------- */

static struct sc_target *target_find(struct alarm_actions *a, const char *rid)
{
	for (struct sc_target *t = a->targets; t; t = t->next)
		if (strcmp(t->resource_id, rid) == 0)
			return t;
	return NULL;
}

static struct sc_policy *policy_find(struct alarm_actions *a, const char *rid, const char *name)
{
	for (struct sc_policy *p = a->policies; p; p = p->next)
		if (strcmp(p->resource_id, rid) == 0 && strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

struct sc_policy *sc_policy_by_arn(struct alarm_actions *a, const char *arn)
{
	for (struct sc_policy *p = a->policies; p; p = p->next)
		if (strcmp(p->arn, arn) == 0)
			return p;
	return NULL;
}

/* "service/CLUSTER/SERVICE" into its parts; 0 or -EINVAL. */
static int resource_split(const char *rid, char *cluster, size_t cl, char *service, size_t sl)
{
	const char *p, *q;

	if (!rid || strncmp(rid, "service/", 8) != 0)
		return -EINVAL;
	p = rid + 8;
	q = strchr(p, '/');
	if (!q || q == p || !q[1] || strchr(q + 1, '/') || (size_t)(q - p) >= cl ||
	    strlen(q + 1) >= sl)
		return -EINVAL;
	snprintf(cluster, cl, "%.*s", (int)(q - p), p);
	snprintf(service, sl, "%s", q + 1);
	return 0;
}

static struct rt_service *target_service(struct alarm_actions *a, const char *rid)
{
	char cluster[256], service[256];

	if (!a->deps.services || resource_split(rid, cluster, sizeof(cluster), service,
						sizeof(service)) < 0)
		return NULL;
	return svc_find(a->deps.services, cluster, service);
}

/* ---- persistence --------------------------------------------------------------------------- */

static json_t *target_json(const struct sc_target *t)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:f, s:s}", "ServiceNamespace", "ecs",
			      "ResourceId", t->resource_id, "ScalableDimension", DIMENSION,
			      "MinCapacity", t->min, "MaxCapacity", t->max, "CreationTime",
			      t->created_at, "ScalableTargetARN", t->arn);

	if (t->role_arn[0])
		json_object_set_new(o, "RoleARN", json_string(t->role_arn));
	json_object_set_new(o, "SuspendedState",
			    t->suspended ? json_deep_copy(t->suspended)
					 : json_pack("{s:b, s:b, s:b}", "DynamicScalingInSuspended", 0,
						     "DynamicScalingOutSuspended", 0,
						     "ScheduledScalingSuspended", 0));
	return o;
}

static json_t *policy_json(const struct sc_policy *p)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f}", "PolicyARN", p->arn,
			      "PolicyName", p->name, "ServiceNamespace", "ecs", "ResourceId",
			      p->resource_id, "ScalableDimension", DIMENSION, "PolicyType",
			      p->target_tracking ? "TargetTrackingScaling" : "StepScaling",
			      "CreationTime", p->created_at);

	json_object_set(o, p->target_tracking ? "TargetTrackingScalingPolicyConfiguration"
					      : "StepScalingPolicyConfiguration", p->config);
	json_object_set_new(o, "Alarms", p->alarms ? json_deep_copy(p->alarms) : json_array());
	return o;
}

static int sc_save(struct alarm_actions *a)
{
	json_t *targets = json_array(), *policies = json_array();
	char *text;
	int ret;

	for (struct sc_target *t = a->targets; t; t = t->next)
		json_array_append_new(targets, target_json(t));
	for (struct sc_policy *p = a->policies; p; p = p->next) {
		json_t *o = policy_json(p);
		json_object_set_new(o, "berth", json_pack("{s:f, s:f, s:i, s:s, s:s}", "lastOutAt",
							  p->last_out_at, "lastInAt", p->last_in_at,
							  "lastOutFrom", p->last_out_from,
							  "alarmHigh", p->alarm_high, "alarmLow",
							  p->alarm_low));
		json_array_append_new(policies, o);
	}
	text = json_steal_dumps_pretty(json_pack("{s:i, s:o, s:o, s:O}", "version", 1, "targets",
						 targets, "policies", policies, "activities",
						 a->activities));
	if (!text)
		return -ENOMEM;
	ret = file_write_durable(a->scaling_path, text, strlen(text), 0600);
	free(text);
	if (ret < 0)
		log_error("actions: failed to write %s: %s", a->scaling_path, strerror(-ret));
	return ret;
}

static void policy_free(struct sc_policy *p)
{
	if (p) {
		json_decref(p->config);
		json_decref(p->alarms);
		free(p);
	}
}

void sc_free(struct alarm_actions *a)
{
	while (a->targets) {
		struct sc_target *t = a->targets;
		a->targets = t->next;
		json_decref(t->suspended);
		free(t);
	}
	while (a->policies) {
		struct sc_policy *p = a->policies;
		a->policies = p->next;
		policy_free(p);
	}
}

static int tt_config_parse(const json_t *cfg, struct sc_policy *p, struct berr *e);

/* A policy from the state file; NULL (logged) when it does not parse. */
static struct sc_policy *policy_load(const json_t *o)
{
	struct sc_policy *p = calloc(1, sizeof(*p));
	const char *name = NULL, *arn = NULL, *rid = NULL, *type = NULL, *hi = "", *lo = "";
	json_t *cfg, *berth = json_object_get(o, "berth");
	struct berr e = { .message = "missing members" };
	double created = 0, out = 0, in = 0;
	int from = 0;

	if (!p)
		return NULL;
	if (json_unpack((json_t *)o, "{s:s, s:s, s:s, s:s, s?F}", "PolicyName", &name, "PolicyARN", &arn,
			"ResourceId", &rid, "PolicyType", &type, "CreationTime", &created) < 0 ||
	    strlen(name) >= sizeof(p->name) || strlen(arn) >= sizeof(p->arn) ||
	    strlen(rid) >= sizeof(p->resource_id))
		goto bad;
	p->target_tracking = strcmp(type, "TargetTrackingScaling") == 0;
	cfg = json_object_get(o, p->target_tracking ? "TargetTrackingScalingPolicyConfiguration"
						    : "StepScalingPolicyConfiguration");
	if ((p->target_tracking ? tt_config_parse(cfg, p, &e) : sc_step_config_parse(cfg, p, &e)) < 0)
		goto bad;
	json_unpack(berth, "{s?F, s?F, s?i, s?s, s?s}", "lastOutAt", &out, "lastInAt", &in,
		    "lastOutFrom", &from, "alarmHigh", &hi, "alarmLow", &lo);
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->arn, sizeof(p->arn), "%s", arn);
	snprintf(p->resource_id, sizeof(p->resource_id), "%s", rid);
	snprintf(p->alarm_high, sizeof(p->alarm_high), "%s", hi);
	snprintf(p->alarm_low, sizeof(p->alarm_low), "%s", lo);
	p->config = json_deep_copy(cfg);
	p->alarms = json_deep_copy(json_object_get(o, "Alarms"));
	p->created_at = created;
	p->last_out_at = out;
	p->last_in_at = in;
	p->last_out_from = from;
	return p;
bad:
	log_error("actions: scaling policy %s skipped: %s", name ? name : "?", e.message);
	policy_free(p);
	return NULL;
}

int sc_load(struct alarm_actions *a)
{
	json_t *o, *v;
	json_error_t jerr;
	char *text = NULL;
	size_t len = 0, i;
	int ret = file_read_all(a->scaling_path, 64 << 20, &text, &len);

	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		log_error("actions: failed to read %s: %s", a->scaling_path, strerror(-ret));
		return ret;
	}
	o = json_loadb(text, len, 0, &jerr);
	free(text);
	if (!json_is_object(o)) {
		log_error("actions: failed to load %s: line %d: %s", a->scaling_path, jerr.line,
			  jerr.text);
		json_decref(o);
		return -EINVAL;
	}
	json_array_foreach(json_object_get(o, "targets"), i, v) {
		struct sc_target *t = calloc(1, sizeof(*t));
		const char *rid = NULL, *arn = NULL, *role = "";
		if (!t)
			break;
		if (json_unpack(v, "{s:s, s:s, s:i, s:i, s?F, s?s}", "ResourceId", &rid,
				"ScalableTargetARN", &arn, "MinCapacity", &t->min, "MaxCapacity",
				&t->max, "CreationTime", &t->created_at, "RoleARN", &role) < 0 ||
		    strlen(rid) >= sizeof(t->resource_id) || strlen(arn) >= sizeof(t->arn)) {
			log_error("actions: %s: scalable target %zu skipped", a->scaling_path, i);
			free(t);
			continue;
		}
		snprintf(t->resource_id, sizeof(t->resource_id), "%s", rid);
		snprintf(t->arn, sizeof(t->arn), "%s", arn);
		snprintf(t->role_arn, sizeof(t->role_arn), "%s", role);
		t->suspended = json_deep_copy(json_object_get(v, "SuspendedState"));
		t->next = a->targets;
		a->targets = t;
	}
	json_array_foreach(json_object_get(o, "policies"), i, v) {
		struct sc_policy *p = policy_load(v);
		if (p) {
			p->next = a->policies;
			a->policies = p;
		}
	}
	if (json_is_array(json_object_get(o, "activities"))) {
		json_decref(a->activities);
		a->activities = json_deep_copy(json_object_get(o, "activities"));
	}
	json_decref(o);
	return 0;
}

/* ---- activities ---------------------------------------------------------------------------- */

static void activity_add(struct alarm_actions *a, const char *rid, const char *desc,
			 const char *cause, const char *status, const char *msg, double start)
{
	char id[37];

	id_uuid(id);
	json_array_insert_new(a->activities, 0,
			      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:s, s:s}",
					"ActivityId", id, "ServiceNamespace", "ecs", "ResourceId",
					rid, "ScalableDimension", DIMENSION, "Description", desc,
					"Cause", cause, "StartTime", start, "EndTime", time_now(),
					"StatusCode", status, "StatusMessage", msg));
	while (json_array_size(a->activities) > SC_MAX_ACTIVITIES)
		json_array_remove(a->activities, json_array_size(a->activities) - 1);
}

/* ---- the request model --------------------------------------------------------------------- */

/* ServiceNamespace, ResourceId and ScalableDimension of a request, checked. */
static int common_members(const json_t *rq, const char **rid, bool need_rid, struct berr *e)
{
	const char *ns = NULL, *dim = NULL;
	char c[256], s[256];

	*rid = NULL;
	if (json_get_string(rq, "ServiceNamespace", &ns, e) < 0 ||
	    json_get_string(rq, "ResourceId", rid, e) < 0 ||
	    json_get_string(rq, "ScalableDimension", &dim, e) < 0)
		return -EINVAL;
	if (!ns || strcmp(ns, "ecs") != 0)
		return berr_set(e, 400, "ValidationException",
				"ServiceNamespace must be 'ecs': berth scales ECS services.");
	if (dim && strcmp(dim, DIMENSION) != 0)
		return berr_set(e, 400, "ValidationException",
				"ScalableDimension must be '" DIMENSION "', got '%.80s'.", dim);
	if (need_rid && (!*rid || !dim))
		return berr_set(e, 400, "ValidationException",
				"ResourceId and ScalableDimension are required.");
	if (*rid && resource_split(*rid, c, sizeof(c), s, sizeof(s)) < 0)
		return berr_set(e, 400, "ValidationException",
				"ResourceId must be service/CLUSTER/SERVICE, got '%.200s'.", *rid);
	return 0;
}

static int op_register(struct alarm_actions *a, const json_t *rq, json_t **out, struct berr *e)
{
	const struct config *cfg = a->deps.cfg;
	const char *rid, *role = NULL;
	long long min = -1, max = -1;
	json_t *susp = NULL;
	struct sc_target *t;
	bool created = false;
	char hex[33];

	if (common_members(rq, &rid, true, e) < 0 || json_get_int(rq, "MinCapacity", &min, e) < 0 ||
	    json_get_int(rq, "MaxCapacity", &max, e) < 0 ||
	    json_get_string(rq, "RoleARN", &role, e) < 0 ||
	    json_get_object(rq, "SuspendedState", &susp, e) < 0)
		return -EINVAL;
	if (!target_service(a, rid))
		return berr_set(e, 400, "ValidationException", "ECS service doesn't exist: %.200s",
				rid);
	t = target_find(a, rid);
	if (!t && (min < 0 || max < 0))
		return berr_set(e, 400, "ValidationException",
				"MinCapacity and MaxCapacity are required to register a new "
				"scalable target.");
	if ((min >= 0 && min > 100000) || (max >= 0 && max > 100000))
		return berr_set(e, 400, "ValidationException", "Capacities are at most 100000.");
	if (min >= 0 && max >= 0 && min > max)
		return berr_set(e, 400, "ValidationException",
				"Minimum capacity cannot be greater than maximum capacity");
	if (t && ((min >= 0 && max < 0 && min > t->max) || (max >= 0 && min < 0 && max < t->min)))
		return berr_set(e, 400, "ValidationException",
				"Minimum capacity cannot be greater than maximum capacity");
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return berr_set(e, 500, "InternalServiceException", "Out of memory.");
		snprintf(t->resource_id, sizeof(t->resource_id), "%s", rid);
		id_random_hex(hex, 32);
		snprintf(t->arn, sizeof(t->arn),
			 "arn:aws:application-autoscaling:%s:%s:scalable-target/0e%.30s",
			 cfg->region, cfg->account_id, hex);
		t->created_at = time_now();
		t->next = a->targets;
		a->targets = t;
		created = true;
	}
	if (min >= 0)
		t->min = (int)min;
	if (max >= 0)
		t->max = (int)max;
	if (role)
		snprintf(t->role_arn, sizeof(t->role_arn), "%.599s", role);
	if (susp) {
		json_decref(t->suspended);
		t->suspended = json_deep_copy(susp);
	}
	sc_save(a);
	log_info("actions: scalable target %s %s (%d..%d)", rid, created ? "registered" : "updated",
		 t->min, t->max);
	*out = json_pack("{s:s}", "ScalableTargetARN", t->arn);
	return 0;
}

static bool rid_wanted(const json_t *rq, const char *rid)
{
	json_t *ids = json_object_get(rq, "ResourceIds"), *v;
	const char *one = json_string_value(json_object_get(rq, "ResourceId"));
	size_t i;

	if (one && strcmp(one, rid) != 0)
		return false;
	if (!json_is_array(ids) || json_array_size(ids) == 0)
		return true;
	json_array_foreach(ids, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), rid) == 0)
			return true;
	return false;
}

static int op_describe_targets(struct alarm_actions *a, const json_t *rq, json_t **out,
			       struct berr *e)
{
	json_t *list = json_array(), *ids = NULL;
	const char *rid;

	if (common_members(rq, &rid, false, e) < 0 || json_get_array(rq, "ResourceIds", &ids, e) < 0) {
		json_decref(list);
		return -EINVAL;
	}
	for (struct sc_target *t = a->targets; t; t = t->next)
		if (rid_wanted(rq, t->resource_id))
			json_array_append_new(list, target_json(t));
	*out = json_pack("{s:o}", "ScalableTargets", list);
	return 0;
}

static void policy_remove(struct alarm_actions *a, struct sc_policy *p);

static int op_deregister(struct alarm_actions *a, const json_t *rq, json_t **out, struct berr *e)
{
	struct sc_target **pp, *t;
	const char *rid;

	if (common_members(rq, &rid, true, e) < 0)
		return -EINVAL;
	for (pp = &a->targets; *pp && strcmp((*pp)->resource_id, rid) != 0; pp = &(*pp)->next)
		;
	if (!*pp)
		return berr_set(e, 400, "ObjectNotFoundException",
				"No scalable target registered for service namespace: ecs, resource "
				"ID: %.200s, scalable dimension: " DIMENSION, rid);
	t = *pp;
	*pp = t->next;
	/* Its policies (and their managed alarms) go with it, as in AWS. */
	for (struct sc_policy *p = a->policies, *n; p; p = n) {
		n = p->next;
		if (strcmp(p->resource_id, rid) == 0)
			policy_remove(a, p);
	}
	json_decref(t->suspended);
	free(t);
	sc_save(a);
	*out = json_object();
	return 0;
}

/* ---- target tracking ----------------------------------------------------------------------- */

static int tt_config_parse(const json_t *cfg, struct sc_policy *p, struct berr *e)
{
	json_t *pre = NULL, *cust = NULL, *tv;
	long long out_cd = 300, in_cd = 300;
	int dis = 0;
	const char *type = NULL;

	if (!json_is_object(cfg))
		return berr_set(e, 400, "ValidationException",
				"TargetTrackingScalingPolicyConfiguration is required for a "
				"TargetTrackingScaling policy.");
	tv = json_object_get(cfg, "TargetValue");
	if (!json_is_number(tv) || !(json_number_value(tv) > 0) ||
	    !isfinite(json_number_value(tv)))
		return berr_set(e, 400, "ValidationException",
				"TargetTrackingScalingPolicyConfiguration.TargetValue must be a "
				"positive number.");
	if (json_get_object(cfg, "PredefinedMetricSpecification", &pre, e) < 0 ||
	    json_get_object(cfg, "CustomizedMetricSpecification", &cust, e) < 0 ||
	    json_get_int(cfg, "ScaleOutCooldown", &out_cd, e) < 0 ||
	    json_get_int(cfg, "ScaleInCooldown", &in_cd, e) < 0 ||
	    json_get_bool(cfg, "DisableScaleIn", &dis, e) < 0)
		return -EINVAL;
	if (!pre == !cust)
		return berr_set(e, 400, "ValidationException",
				"Exactly one of PredefinedMetricSpecification and "
				"CustomizedMetricSpecification is required.");
	if (pre && (json_get_string(pre, "PredefinedMetricType", &type, e) < 0 || !type ||
		    (strcmp(type, "ECSServiceAverageCPUUtilization") != 0 &&
		     strcmp(type, "ECSServiceAverageMemoryUtilization") != 0)))
		return berr_set(e, 400, "ValidationException",
				"PredefinedMetricType must be ECSServiceAverageCPUUtilization or "
				"ECSServiceAverageMemoryUtilization.");
	if (cust && (!json_string_value(json_object_get(cust, "MetricName")) ||
		     !json_string_value(json_object_get(cust, "Namespace")) ||
		     !json_string_value(json_object_get(cust, "Statistic"))))
		return berr_set(e, 400, "ValidationException",
				"CustomizedMetricSpecification needs MetricName, Namespace and "
				"Statistic.");
	if (out_cd < 0 || in_cd < 0 || out_cd > 86400 * 7 || in_cd > 86400 * 7)
		return berr_set(e, 400, "ValidationException", "Cooldowns must be non-negative.");
	p->target_value = json_number_value(tv);
	p->scale_out_cooldown = (int)out_cd;
	p->scale_in_cooldown = (int)in_cd;
	p->disable_scale_in = dis != 0;
	return 0;
}

/* The PutMetricAlarm request of one of a target tracking policy's alarms. */
static json_t *tt_alarm_request(struct alarm_actions *a, const struct sc_policy *p,
				const json_t *cfg, bool high, const char *name)
{
	json_t *pre = json_object_get(cfg, "PredefinedMetricSpecification");
	json_t *cust = json_object_get(cfg, "CustomizedMetricSpecification");
	char cluster[256], service[256];
	json_t *rq;
	int period = (int)a->deps.cfg->scaling_alarm_period;

	resource_split(p->resource_id, cluster, sizeof(cluster), service, sizeof(service));
	rq = json_pack("{s:s, s:b, s:[s], s:f, s:s, s:i, s:i, s:i, s:s}", "AlarmName", name,
		       "ActionsEnabled", 1, "AlarmActions", p->arn, "Threshold",
		       high ? p->target_value : p->target_value * 0.9, "ComparisonOperator",
		       high ? "GreaterThanThreshold" : "LessThanThreshold", "Period", period,
		       "EvaluationPeriods", high ? 3 : 15, "DatapointsToAlarm", high ? 3 : 15,
		       "TreatMissingData", "missing");
	json_object_set_new(rq, "AlarmDescription",
			    json_sprintf("DO NOT EDIT OR DELETE. For TargetTrackingScaling policy %s.",
					 p->arn));
	if (pre) {
		const char *type = json_string_value(json_object_get(pre, "PredefinedMetricType"));
		bool cpu = type && strstr(type, "CPU");
		json_object_set_new(rq, "Namespace", json_string("AWS/ECS"));
		json_object_set_new(rq, "MetricName",
				    json_string(cpu ? "CPUUtilization" : "MemoryUtilization"));
		json_object_set_new(rq, "Statistic", json_string("Average"));
		json_object_set_new(rq, "Unit", json_string("Percent"));
		json_object_set_new(rq, "Dimensions",
				    json_pack("[{s:s, s:s}, {s:s, s:s}]", "Name", "ClusterName",
					      "Value", cluster, "Name", "ServiceName", "Value",
					      service));
	} else {
		const char *k;
		json_t *v;
		json_object_foreach(cust, k, v)
			if (!strcmp(k, "MetricName") || !strcmp(k, "Namespace") ||
			    !strcmp(k, "Statistic") || !strcmp(k, "Unit") || !strcmp(k, "Dimensions"))
				json_object_set(rq, k, v);
	}
	return rq;
}

static int tt_alarms_create(struct alarm_actions *a, struct sc_policy *p, struct berr *e)
{
	const struct config *cfg = a->deps.cfg;
	char uuid[37], arn[900];
	int ret;

	if (!a->deps.put_metric_alarm || !a->deps.alarms)
		return berr_set(e, 400, "ValidationException",
				"Target tracking needs the alarm evaluator, which is not running.");
	id_uuid(uuid);
	snprintf(p->alarm_high, sizeof(p->alarm_high), "TargetTracking-%.180s-AlarmHigh-%s",
		 p->resource_id, uuid);
	snprintf(p->alarm_low, sizeof(p->alarm_low), "TargetTracking-%.180s-AlarmLow-%s",
		 p->resource_id, uuid);
	json_decref(p->alarms);
	p->alarms = json_array();
	for (int i = 0; i < 2; i++) {
		const char *name = i == 0 ? p->alarm_high : p->alarm_low;
		json_t *rq;
		if (i == 1 && p->disable_scale_in) {
			p->alarm_low[0] = '\0';
			break;
		}
		rq = tt_alarm_request(a, p, p->config, i == 0, name);
		ret = a->deps.put_metric_alarm(a->deps.alarms, rq, e);
		json_decref(rq);
		if (ret < 0) {
			struct berr e2;
			if (i == 1 && a->deps.delete_alarm)
				a->deps.delete_alarm(a->deps.alarms, p->alarm_high, &e2);
			return ret;
		}
		snprintf(arn, sizeof(arn), "arn:aws:cloudwatch:%s:%s:alarm:%s", cfg->region,
			 cfg->account_id, name);
		json_array_append_new(p->alarms, json_pack("{s:s, s:s}", "AlarmName", name,
							    "AlarmARN", arn));
	}
	return 0;
}

static void tt_alarms_delete(struct alarm_actions *a, struct sc_policy *p)
{
	const char *names[2] = { p->alarm_high, p->alarm_low };

	struct berr e;

	for (int i = 0; i < 2; i++)
		if (names[i][0] && a->deps.delete_alarm && a->deps.alarms &&
		    a->deps.delete_alarm(a->deps.alarms, names[i], &e) < 0)
			log_warn("actions: failed to delete alarm %s of policy %s: %s", names[i],
				 p->name, e.message);
}

/* ---- policies ------------------------------------------------------------------------------ */

static void policy_remove(struct alarm_actions *a, struct sc_policy *p)
{
	for (struct sc_policy **pp = &a->policies; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (p->target_tracking)
		tt_alarms_delete(a, p);
	policy_free(p);
}

static int op_put_policy(struct alarm_actions *a, const json_t *rq, json_t **out, struct berr *e)
{
	const struct config *cfg = a->deps.cfg;
	const char *rid, *name = NULL, *type = NULL;
	struct sc_policy *p, *old;
	json_t *cfgj;
	char uuid[37];

	if (common_members(rq, &rid, true, e) < 0 || json_get_string(rq, "PolicyName", &name, e) < 0 ||
	    json_get_string(rq, "PolicyType", &type, e) < 0)
		return -EINVAL;
	if (!name || !*name || strlen(name) > 256 || strchr(name, ':') || strchr(name, '/'))
		return berr_set(e, 400, "ValidationException",
				"PolicyName must be 1 to 256 characters without ':' or '/'.");
	if (type && strcmp(type, "StepScaling") != 0 && strcmp(type, "TargetTrackingScaling") != 0)
		return berr_set(e, 400, "ValidationException",
				"PolicyType must be StepScaling or TargetTrackingScaling.");
	if (!target_find(a, rid))
		return berr_set(e, 400, "ObjectNotFoundException",
				"No scalable target registered for service namespace: ecs, resource "
				"ID: %.200s, scalable dimension: " DIMENSION, rid);
	p = calloc(1, sizeof(*p));
	if (!p)
		return berr_set(e, 500, "InternalServiceException", "Out of memory.");
	p->target_tracking = type && strcmp(type, "TargetTrackingScaling") == 0;
	cfgj = json_object_get(rq, p->target_tracking ? "TargetTrackingScalingPolicyConfiguration"
						      : "StepScalingPolicyConfiguration");
	if ((p->target_tracking ? tt_config_parse(cfgj, p, e) : sc_step_config_parse(cfgj, p, e)) < 0) {
		policy_free(p);
		return -EINVAL;
	}
	old = policy_find(a, rid, name);
	if (old && old->target_tracking != p->target_tracking) {
		policy_free(p);
		return berr_set(e, 400, "ValidationException",
				"Policy %s exists with another PolicyType; delete it first.", name);
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->resource_id, sizeof(p->resource_id), "%s", rid);
	p->config = json_deep_copy(cfgj);
	if (old) {
		snprintf(p->arn, sizeof(p->arn), "%s", old->arn);
		p->created_at = old->created_at;
		p->last_out_at = old->last_out_at;
		p->last_in_at = old->last_in_at;
		p->last_out_from = old->last_out_from;
	} else {
		id_uuid(uuid);
		snprintf(p->arn, sizeof(p->arn),
			 "arn:aws:autoscaling:%s:%s:scalingPolicy:%s:resource/ecs/%s:policyName/%s",
			 cfg->region, cfg->account_id, uuid, rid, name);
		p->created_at = time_now();
	}
	if (p->target_tracking) {
		int ret;
		if (old)
			tt_alarms_delete(a, old);
		/* Its alarms name it as their action, which must resolve while they are put. */
		p->next = a->policies;
		a->policies = p;
		ret = tt_alarms_create(a, p, e);
		a->policies = p->next;
		if (ret < 0) {
			policy_free(p);
			return -EINVAL;
		}
	}
	if (old) {
		/* Its alarms were replaced above. */
		old->target_tracking = false;
		policy_remove(a, old);
	}
	p->next = a->policies;
	a->policies = p;
	sc_save(a);
	log_info("actions: scaling policy %s on %s %s", name, rid, old ? "updated" : "created");
	*out = json_pack("{s:s, s:o}", "PolicyARN", p->arn, "Alarms",
			 p->alarms ? json_deep_copy(p->alarms) : json_array());
	return 0;
}

static int op_describe_policies(struct alarm_actions *a, const json_t *rq, json_t **out,
				struct berr *e)
{
	json_t *names = NULL, *list, *v;
	const char *rid;
	size_t i;

	if (common_members(rq, &rid, false, e) < 0 || json_get_array(rq, "PolicyNames", &names, e) < 0)
		return -EINVAL;
	list = json_array();
	for (struct sc_policy *p = a->policies; p; p = p->next) {
		bool want = !names || json_array_size(names) == 0;
		if (rid && strcmp(rid, p->resource_id) != 0)
			continue;
		json_array_foreach(names, i, v)
			if (json_is_string(v) && strcmp(json_string_value(v), p->name) == 0)
				want = true;
		if (want)
			json_array_append_new(list, policy_json(p));
	}
	*out = json_pack("{s:o}", "ScalingPolicies", list);
	return 0;
}

static int op_delete_policy(struct alarm_actions *a, const json_t *rq, json_t **out,
			    struct berr *e)
{
	const char *rid, *name = NULL;
	struct sc_policy *p;

	if (common_members(rq, &rid, true, e) < 0 || json_get_string(rq, "PolicyName", &name, e) < 0)
		return -EINVAL;
	p = name ? policy_find(a, rid, name) : NULL;
	if (!p)
		return berr_set(e, 400, "ObjectNotFoundException",
				"No scaling policy found for service namespace: ecs, resource ID: "
				"%.200s, scalable dimension: " DIMENSION ", policy name: %.256s",
				rid, name ? name : "");
	policy_remove(a, p);
	sc_save(a);
	*out = json_object();
	return 0;
}

static int op_describe_activities(struct alarm_actions *a, const json_t *rq, json_t **out,
				  struct berr *e)
{
	json_t *list, *v;
	const char *rid;
	long long max = 50;
	size_t i;

	if (common_members(rq, &rid, false, e) < 0 || json_get_int(rq, "MaxResults", &max, e) < 0)
		return -EINVAL;
	if (max < 1 || max > 50)
		return berr_set(e, 400, "ValidationException", "MaxResults must be 1 to 50.");
	list = json_array();
	json_array_foreach(a->activities, i, v) {
		if (rid && strcmp(rid, json_string_value(json_object_get(v, "ResourceId")) ?: "") != 0)
			continue;
		if ((long long)json_array_size(list) >= max)
			break;
		json_array_append(list, v);
	}
	*out = json_pack("{s:o}", "ScalingActivities", list);
	return 0;
}

int actions_scaling_call(struct alarm_actions *a, const char *operation, const json_t *rq,
			 json_t **out, struct berr *e)
{
	static const struct {
		const char *name;
		int (*fn)(struct alarm_actions *, const json_t *, json_t **, struct berr *);
	} ops[] = {
		{ "RegisterScalableTarget", op_register },
		{ "DescribeScalableTargets", op_describe_targets },
		{ "DeregisterScalableTarget", op_deregister },
		{ "PutScalingPolicy", op_put_policy },
		{ "DescribeScalingPolicies", op_describe_policies },
		{ "DeleteScalingPolicy", op_delete_policy },
		{ "DescribeScalingActivities", op_describe_activities },
	};

	*out = NULL;
	if (!json_is_object(rq))
		return berr_set(e, 400, "ValidationException", "The request must be a JSON object.");
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (strcmp(operation, ops[i].name) == 0)
			return ops[i].fn(a, rq, out, e);
	return berr_set(e, 400, "UnknownOperationException", "Unknown operation %.100s.",
			operation);
}

/* ---- execution ----------------------------------------------------------------------------- */

/* The metric value an alarm event carries, aggregated as the policy asks: StateReasonData's
 * evaluatedDatapoints values, else recentDatapoints. NAN when there is none. */
static double event_value(const struct alarm_event *ev, const char *agg)
{
	json_t *d = ev->reason_data ? json_loads(ev->reason_data, 0, NULL) : NULL, *arr, *v;
	double sum = 0, lo = INFINITY, hi = -INFINITY;
	size_t i, n = 0;

	arr = json_object_get(d, "evaluatedDatapoints");
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		arr = json_object_get(d, "recentDatapoints");
	json_array_foreach(arr, i, v) {
		json_t *num = json_is_object(v) ? json_object_get(v, "value") : v;
		double x;
		if (!json_is_number(num))
			continue;
		x = json_number_value(num);
		sum += x;
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
		n++;
	}
	json_decref(d);
	if (!n)
		return NAN;
	if (agg && strcmp(agg, "Minimum") == 0)
		return lo;
	if (agg && strcmp(agg, "Maximum") == 0)
		return hi;
	return sum / (double)n;
}

static double event_threshold(const struct alarm_event *ev)
{
	json_t *t = json_object_get(ev->alarm, "Threshold");

	return json_is_number(t) ? json_number_value(t) : NAN;
}

static bool suspended(const struct sc_target *t, bool out)
{
	return json_is_true(json_object_get(t->suspended, out ? "DynamicScalingOutSuspended"
							      : "DynamicScalingInSuspended"));
}

/* Target tracking: proportional to how far the metric is from the target, out only above it,
 * in only from the low alarm and unless disabled. */
static int tt_decide(const struct sc_policy *p, const struct alarm_event *ev, double value,
		     int current, int min, int max, double now, char *why, size_t whylen)
{
	bool high = strcmp(ev->alarm_name, p->alarm_high) == 0;
	double want;
	int next;

	why[0] = '\0';
	if (strcmp(ev->new_state, "ALARM") != 0) {
		snprintf(why, whylen, "the alarm is %s, not ALARM", ev->new_state);
		return current;
	}
	if (current == 0) {
		snprintf(why, whylen, "the service has no tasks to measure");
		return current;
	}
	want = ceil((double)current * value / p->target_value - 1e-9);
	next = want > max ? max : want < min ? min : (int)want;
	if (high) {
		if (value <= p->target_value || next <= current) {
			snprintf(why, whylen, "the metric (%g) does not call for more than %d", value,
				 current);
			return current;
		}
		if (p->last_out_at > 0 && now < p->last_out_at + p->scale_out_cooldown) {
			snprintf(why, whylen, "in scale-out cooldown");
			return current;
		}
		return next;
	}
	if (p->disable_scale_in || next >= current) {
		snprintf(why, whylen, p->disable_scale_in ? "scale-in is disabled"
							  : "the metric does not allow fewer tasks");
		return current;
	}
	if ((p->last_in_at > 0 && now < p->last_in_at + p->scale_in_cooldown) ||
	    (p->last_out_at > 0 && now < p->last_out_at + p->scale_out_cooldown)) {
		snprintf(why, whylen, "in cooldown");
		return current;
	}
	return next;
}

int sc_execute(struct alarm_actions *a, struct sc_policy *p, const struct alarm_event *ev,
	       char *msg, size_t msglen)
{
	struct sc_target *t = target_find(a, p->resource_id);
	struct rt_service *svc = target_service(a, p->resource_id);
	const char *agg = json_string_value(json_object_get(p->config, "MetricAggregationType"));
	double now = time_now(), value = event_value(ev, agg);
	char why[300], desc[200], cause[700];
	struct berr e;
	int current, next;
	json_t *rq;

	if (!t || !svc) {
		snprintf(msg, msglen, "%s", !t ? "the scalable target is not registered"
					       : "the service no longer exists");
		return -ENOENT;
	}
	/* Never on insufficient data: without a value there is nothing to act on. */
	if (strcmp(ev->new_state, "INSUFFICIENT_DATA") == 0 || isnan(value)) {
		snprintf(msg, msglen, "no metric value to act on (state %s)", ev->new_state);
		return 0;
	}
	current = svc->desired_count;
	if (p->target_tracking)
		next = tt_decide(p, ev, value, current, t->min, t->max, now, why, sizeof(why));
	else
		next = sc_step_decide(p, value, event_threshold(ev), current, t->min, t->max, now,
				      why, sizeof(why));
	/* Outside [min, max] after the target changed: bring it back inside. */
	if (next == current && (current < t->min || current > t->max)) {
		next = current < t->min ? t->min : t->max;
		why[0] = '\0';
	}
	if (next == current) {
		snprintf(msg, msglen, "policy %s: no change (%s)", p->name, why);
		return 0;
	}
	if (suspended(t, next > current)) {
		snprintf(msg, msglen, "policy %s: dynamic scaling %s is suspended", p->name,
			 next > current ? "out" : "in");
		return 0;
	}
	snprintf(desc, sizeof(desc), "Setting desired count to %d.", next);
	snprintf(cause, sizeof(cause), "monitor alarm %.256s in state %s triggered policy %.256s",
		 ev->alarm_name, ev->new_state, p->name);
	rq = json_pack("{s:i}", "desiredCount", next);
	if (svc_update(a->deps.services, svc, rq, &e) < 0) {
		json_decref(rq);
		activity_add(a, p->resource_id, desc, cause, "Failed", e.message, now);
		sc_save(a);
		snprintf(msg, msglen, "policy %s: %s", p->name, e.message);
		return -EIO;
	}
	json_decref(rq);
	if (next > current) {
		/* Within a cooldown the base stays what it was before the first scale-out. */
		if (!(p->last_out_at > 0 && now < p->last_out_at +
		      (p->target_tracking ? p->scale_out_cooldown : p->cooldown)))
			p->last_out_from = current;
		p->last_out_at = now;
	} else {
		p->last_in_at = now;
	}
	snprintf(why, sizeof(why), "Successfully set desired count to %d. Change successfully "
		 "fulfilled by ecs.", next);
	activity_add(a, p->resource_id, desc, cause, "Successful", why, now);
	sc_save(a);
	a->scale_actions++;
	log_info("actions: policy %s set %s desired count %d -> %d (alarm %s)", p->name,
		 p->resource_id, current, next, ev->alarm_name);
	snprintf(msg, msglen, "policy %s set the desired count from %d to %d", p->name, current,
		 next);
	return 0;
}
