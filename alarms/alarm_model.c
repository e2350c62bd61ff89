/* SPDX-License-Identifier: MIT */
/* alarm_model.c: PutMetricAlarm / PutCompositeAlarm validation, as CloudWatch does it, into the
 * alarm's configuration and its evaluation fields. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/actions.h"
#include "alarms/alarms_internal.h"

#define NS_CI "ECS/ContainerInsights"

static const char *const units[] = {
	"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
	"Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
	"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
	"Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
	"Terabits/Second", "Count/Second", "None",
};

static const char *const metric_members[] = {
	"AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions",
	"InsufficientDataActions", "MetricName", "Namespace", "Statistic", "ExtendedStatistic",
	"Dimensions", "Period", "Unit", "EvaluationPeriods", "DatapointsToAlarm", "Threshold",
	"ComparisonOperator", "TreatMissingData", "EvaluateLowSampleCountPercentile", "Metrics",
	"Tags", "ThresholdMetricId", NULL,
};

static const char *const composite_members[] = {
	"ActionsEnabled", "AlarmActions", "AlarmDescription", "AlarmName", "AlarmRule",
	"InsufficientDataActions", "OKActions", "Tags", "ActionsSuppressor",
	"ActionsSuppressorWaitPeriod", "ActionsSuppressorExtensionPeriod", NULL,
};

static int verr(struct berr *e, const char *fmt, const char *field, const char *extra)
{
	return berr_set(e, 400, "ValidationError", fmt, field, extra ? extra : "");
}

static int null_err(struct berr *e, const char *field)
{
	return verr(e, "1 validation error detected: Value null at '%s' failed to satisfy "
		    "constraint: Member must not be null%s", field, NULL);
}

static int type_err(struct berr *e, const char *field, const char *type)
{
	return verr(e, "1 validation error detected: Value at '%s' failed to satisfy constraint: "
		    "Member must be %s", field, type);
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A string member of length lo..hi: 1 when present, 0 when absent, -EINVAL with e set. */
static int get_str(const json_t *req, const char *key, size_t lo, size_t hi, const char **out,
		   struct berr *e)
{
	json_t *v = json_object_get(req, key);
	size_t len;

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return type_err(e, key, "a string");
	len = json_string_length(v);
	if (len < lo || len > hi || strlen(json_string_value(v)) != len)
		return berr_set(e, 400, "ValidationError", "1 validation error detected: Value at "
				"'%s' failed to satisfy constraint: Member must have length between "
				"%zu and %zu", key, lo, hi);
	*out = json_string_value(v);
	return 1;
}

static int get_int(const json_t *req, const char *key, long long lo, long long hi, long long *out,
		   struct berr *e)
{
	json_t *v = json_object_get(req, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return type_err(e, key, "an integer");
	*out = json_integer_value(v);
	if (*out < lo || *out > hi)
		return berr_set(e, 400, "ValidationError", "1 validation error detected: Value '%lld' "
				"at '%s' failed to satisfy constraint: Member must have value "
				"between %lld and %lld", *out, key, lo, hi);
	return 1;
}

static int check_members(const json_t *req, const char *const *known, struct berr *e)
{
	const char *key;
	json_t *v;

	if (!json_is_object(req))
		return berr_set(e, 400, "ValidationError", "The request must be a JSON object.");
	json_object_foreach((json_t *)req, key, v) {
		size_t i = 0;
		while (known[i] && strcmp(known[i], key))
			i++;
		if (!known[i])
			return berr_set(e, 400, "ValidationError", "Unknown parameter in input: "
					"\"%.200s\", must be one of the request's members.", key);
	}
	return 0;
}

static int check_arn(struct alarms *a, const char *arn, bool full, struct berr *e)
{
	int colons = 0;

	for (const char *p = arn; *p; p++)
		colons += *p == ':';
	if (strncmp(arn, "arn:", 4) != 0 || colons < 5 || has_ctl(arn))
		return berr_set(e, 400, "ValidationError", "Invalid arn syntax: %.300s", arn);
	if (full && a && a->actions)
		return actions_validate_arn(a->actions, arn, e);
	return 0;
}

/* OKActions, AlarmActions, InsufficientDataActions: up to 5 ARNs each, copied into conf. */
static int take_actions(struct alarms *a, const json_t *req, json_t *conf, bool full,
			struct berr *e)
{
	static const char *const keys[] = { "OKActions", "AlarmActions", "InsufficientDataActions" };

	for (size_t k = 0; k < 3; k++) {
		json_t *v = json_object_get(req, keys[k]), *out = json_array(), *s;
		size_t i;
		json_object_set_new(conf, keys[k], out);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_array(v))
			return type_err(e, keys[k], "a list of ARNs");
		if (json_array_size(v) > 5)
			return berr_set(e, 400, "ValidationError", "1 validation error detected: Value "
					"at '%s' failed to satisfy constraint: Member must have length "
					"less than or equal to 5", keys[k]);
		json_array_foreach(v, i, s) {
			const char *arn = json_string_value(s);
			if (!arn || !arn[0] || strlen(arn) > 1024)
				return type_err(e, keys[k], "a list of ARNs of 1 to 1024 characters");
			if (check_arn(a, arn, full, e) < 0)
				return -EINVAL;
			json_array_append(out, s);
		}
	}
	return 0;
}

static int take_common(struct alarms *a, const json_t *req, struct alarm *al, bool full,
		       struct berr *e)
{
	const char *name, *desc;
	json_t *v, *tags;
	int ret;

	if ((ret = get_str(req, "AlarmName", 1, 255, &name, e)) <= 0)
		return ret < 0 ? ret : null_err(e, "AlarmName");
	if (has_ctl(name))
		return berr_set(e, 400, "ValidationError", "AlarmName must not contain control "
				"characters.");
	snprintf(al->name, sizeof(al->name), "%s", name);
	snprintf(al->arn, sizeof(al->arn), "arn:aws:cloudwatch:%s:%s:alarm:%s",
		 a ? a->cfg->region : "us-east-1", a ? a->cfg->account_id : "000000000000", name);
	json_object_set_new(al->conf, "AlarmName", json_string(name));
	json_object_set_new(al->conf, "AlarmArn", json_string(al->arn));
	if (get_str(req, "AlarmDescription", 0, 1024, &desc, e) < 0)
		return -EINVAL;
	if (desc)
		json_object_set_new(al->conf, "AlarmDescription", json_string(desc));
	v = json_object_get(req, "ActionsEnabled");
	if (v && !json_is_null(v) && !json_is_boolean(v))
		return type_err(e, "ActionsEnabled", "a boolean");
	al->actions_enabled = !v || json_is_null(v) || json_is_true(v);
	json_object_set_new(al->conf, "ActionsEnabled", json_boolean(al->actions_enabled));
	if (take_actions(a, req, al->conf, full, e) < 0)
		return -EINVAL;
	tags = json_object_get(req, "Tags");
	if (tags && !json_is_null(tags)) {
		size_t i;
		json_t *t;
		if (!json_is_array(tags) || json_array_size(tags) > 50)
			return type_err(e, "Tags", "a list of at most 50 {Key, Value}");
		json_array_foreach(tags, i, t) {
			const char *k, *val;
			if (!json_is_object(t) || get_str(t, "Key", 1, 128, &k, e) <= 0 ||
			    get_str(t, "Value", 0, 256, &val, e) <= 0)
				return type_err(e, "Tags", "a list of {Key (1-128), Value (0-256)}");
		}
		json_object_set(al->conf, "Tags", tags);
	}
	return 0;
}

/* Dimensions -> the collector series (kind, cluster, name, container). */
/* ns: 0 a namespace berth does not serve, 1 ECS/ContainerInsights, 2 AWS/ECS (ClusterName
 * and ServiceName only). */
static int take_dimensions(const json_t *req, struct alarm *al, int ns, struct berr *e)
{
	static const char *const ci_dims[] = { "ClusterName", "ServiceName", "TaskDefinitionFamily",
					       "TaskId", "ContainerName" };
	bool ci = ns != 0;
	char vals[5][256] = { "" };
	json_t *dims = json_object_get(req, "Dimensions"), *d, *out = json_array();
	size_t i;

	json_object_set_new(al->conf, "Dimensions", out);
	if (dims && !json_is_null(dims) && (!json_is_array(dims) || json_array_size(dims) > 30))
		return type_err(e, "Dimensions", "a list of at most 30 {Name, Value}");
	json_array_foreach(dims, i, d) {
		const char *n, *v;
		size_t k;
		if (!json_is_object(d) || get_str(d, "Name", 1, 255, &n, e) <= 0 ||
		    get_str(d, "Value", 1, 1024, &v, e) <= 0)
			return type_err(e, "Dimensions", "a list of {Name (1-255), Value (1-1024)}");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(json_string_value(json_object_get(json_array_get(dims, j), "Name")),
				    n))
				return berr_set(e, 400, "InvalidParameterValue",
						"The dimension %.255s is given twice.", n);
		json_array_append_new(out, json_pack("{s:s, s:s}", "Name", n, "Value", v));
		if (!ci)
			continue;
		for (k = 0; k < 5 && strcmp(ci_dims[k], n); k++)
			;
		if (k == 5)
			return berr_set(e, 400, "InvalidParameterValue", "The dimension %.255s is not "
					"one of " NS_CI "'s: ClusterName, ServiceName, "
					"TaskDefinitionFamily, TaskId, ContainerName.", n);
		if (ns == 2 && k > 1)
			return berr_set(e, 400, "InvalidParameterValue", "The dimension %.255s is not "
					"one of " COL_NS_ECS "'s: ClusterName, ServiceName.", n);
		if (strlen(v) >= sizeof(vals[k]))
			return berr_set(e, 400, "InvalidParameterValue", "The value of dimension %s is "
					"longer than 255 characters.", n);
		snprintf(vals[k], sizeof(vals[k]), "%s", v);
	}
	snprintf(al->cluster, sizeof(al->cluster), "%s", vals[0][0] ? vals[0] : "default");
	if (vals[4][0] && !vals[3][0])
		return berr_set(e, 400, "InvalidParameterCombination",
				"The ContainerName dimension needs a TaskId dimension.");
	if ((vals[1][0] != 0) + (vals[2][0] != 0) + (vals[3][0] != 0) > 1)
		return berr_set(e, 400, "InvalidParameterCombination", "Container Insights has no "
				"dimension set with more than one of ServiceName, "
				"TaskDefinitionFamily and TaskId.");
	al->kind = vals[4][0] ? COL_CONTAINER : vals[3][0] ? COL_TASK : vals[1][0] ? COL_SERVICE
		 : vals[2][0] ? COL_FAMILY : COL_CLUSTER;
	snprintf(al->dim_name, sizeof(al->dim_name), "%s",
		 vals[3][0] ? vals[3] : vals[1][0] ? vals[1] : vals[2]);
	snprintf(al->container, sizeof(al->container), "%s", vals[4]);
	al->series_key = 14695981039346656037ull ^ (uint64_t)al->kind;
	for (int k = 0; k < 5; k++)
		for (const char *p = vals[k]; ; p++) {
			al->series_key = (al->series_key ^ (unsigned char)*p) * 1099511628211ull;
			if (!*p)
				break;
		}
	return 0;
}

static int take_statistic(const json_t *req, struct alarm *al, struct berr *e)
{
	const char *stat, *ext, *low;

	if (get_str(req, "Statistic", 1, 64, &stat, e) < 0 ||
	    get_str(req, "ExtendedStatistic", 1, 64, &ext, e) < 0 ||
	    get_str(req, "EvaluateLowSampleCountPercentile", 1, 255, &low, e) < 0)
		return -EINVAL;
	if (!stat == !ext)
		return berr_set(e, 400, "InvalidParameterCombination",
				"Exactly one of Statistic or ExtendedStatistic must be specified.");
	if (stat) {
		if ((al->stat = alarm_stat_parse(stat)) < 0)
			return berr_set(e, 400, "ValidationError", "1 validation error detected: Value "
					"'%.64s' at 'Statistic' failed to satisfy constraint: Member must "
					"satisfy enum value set: [Maximum, SampleCount, Sum, Minimum, "
					"Average]", stat);
		json_object_set_new(al->conf, "Statistic", json_string(stat));
	} else {
		if (alarm_percentile_parse(ext, &al->pct) < 0)
			return berr_set(e, 400, "InvalidParameterValue", "The value %.64s for parameter "
					"ExtendedStatistic is not supported: berth evaluates "
					"percentiles p0.0 to p100 (pNN or pNN.N).", ext);
		al->stat = ALARM_STAT_PERCENTILE;
		json_object_set_new(al->conf, "ExtendedStatistic", json_string(ext));
	}
	if (low) {
		if (strcmp(low, "evaluate") && strcmp(low, "ignore"))
			return berr_set(e, 400, "ValidationError", "Invalid value for "
					"EvaluateLowSampleCountPercentile: %.64s; it is evaluate or "
					"ignore.", low);
		al->low_ignore = !strcmp(low, "ignore");
		json_object_set_new(al->conf, "EvaluateLowSampleCountPercentile", json_string(low));
	}
	return 0;
}

static int take_period(struct alarms *a, const json_t *req, struct alarm *al, struct berr *e)
{
	long long period = 0, n = 0, m = 0;
	unsigned interval = a && a->collector ? a->collector->interval
			    : a ? (unsigned)a->cfg->collect_interval : 1;
	int ret;

	if ((ret = get_int(req, "Period", 1, 86400, &period, e)) <= 0)
		return ret < 0 ? ret : null_err(e, "Period");
	if (period != 10 && period != 30 && period % 60 && period % interval)
		return berr_set(e, 400, "InvalidParameterValue", "The parameter Period must be 10, "
				"30, a multiple of 60 or a multiple of the collect interval (%u s).",
				interval);
	if (period < interval)
		return berr_set(e, 400, "InvalidParameterValue", "The parameter Period (%lld s) is "
				"shorter than the collect interval (%u s).", period, interval);
	if ((ret = get_int(req, "EvaluationPeriods", 1, 1440, &n, e)) <= 0)
		return ret < 0 ? ret : null_err(e, "EvaluationPeriods");
	if (period * n > 86400)
		return berr_set(e, 400, "ValidationError", "Metrics cannot be checked across more "
				"than a day (EvaluationPeriods * Period must be <= 86400).");
	m = n;
	if (get_int(req, "DatapointsToAlarm", 1, 1440, &m, e) < 0)
		return -EINVAL;
	if (m > n)
		return berr_set(e, 400, "ValidationError", "DatapointsToAlarm (%lld) must be less "
				"than or equal to EvaluationPeriods (%lld).", m, n);
	al->period = (unsigned)period;
	al->n = (int)n;
	al->m = (int)m;
	json_object_set_new(al->conf, "Period", json_integer(period));
	json_object_set_new(al->conf, "EvaluationPeriods", json_integer(n));
	if (json_object_get(req, "DatapointsToAlarm"))
		json_object_set_new(al->conf, "DatapointsToAlarm", json_integer(m));
	return 0;
}

static int take_threshold(const json_t *req, struct alarm *al, struct berr *e)
{
	const char *cmp, *tmd;
	json_t *th = json_object_get(req, "Threshold");
	int ret;

	if ((ret = get_str(req, "ComparisonOperator", 1, 64, &cmp, e)) <= 0)
		return ret < 0 ? ret : null_err(e, "ComparisonOperator");
	if ((al->cmp = alarm_cmp_parse(cmp)) < 0) {
		if (!strcmp(cmp, "LessThanLowerOrGreaterThanUpperThreshold") ||
		    !strcmp(cmp, "LessThanLowerThreshold") || !strcmp(cmp, "GreaterThanUpperThreshold"))
			return berr_set(e, 400, "InvalidParameterValue", "The ComparisonOperator %s "
					"needs an anomaly detection band (ThresholdMetricId), which "
					"berth does not provide.", cmp);
		return berr_set(e, 400, "ValidationError", "1 validation error detected: Value "
				"'%.64s' at 'ComparisonOperator' failed to satisfy constraint: Member "
				"must satisfy enum value set: [GreaterThanOrEqualToThreshold, "
				"GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold]",
				cmp);
	}
	if (!th || json_is_null(th))
		return null_err(e, "Threshold");
	if (!json_is_number(th) || !isfinite(json_number_value(th)))
		return type_err(e, "Threshold", "a number");
	al->threshold = json_number_value(th);
	if (get_str(req, "TreatMissingData", 1, 255, &tmd, e) < 0)
		return -EINVAL;
	al->tmd = ALARM_MISSING_MISSING;
	if (tmd && (al->tmd = alarm_missing_parse(tmd)) < 0)
		return berr_set(e, 400, "ValidationError", "Invalid value for TreatMissingData: "
				"%.64s; it is one of missing, ignore, breaching, notBreaching.", tmd);
	json_object_set_new(al->conf, "Threshold", json_real(al->threshold));
	json_object_set_new(al->conf, "ComparisonOperator", json_string(cmp));
	if (tmd)
		json_object_set_new(al->conf, "TreatMissingData", json_string(tmd));
	return 0;
}

static int take_metric(const json_t *req, struct alarm *al, struct berr *e)
{
	const char *name, *ns, *unit;
	json_t *metrics = json_object_get(req, "Metrics"), *tm = json_object_get(req,
										  "ThresholdMetricId");
	int ci, ret;

	if ((metrics && !json_is_null(metrics) && (!json_is_array(metrics) ||
						   json_array_size(metrics))) ||
	    (tm && !json_is_null(tm) && (!json_is_string(tm) || json_string_length(tm))))
		return berr_set(e, 400, "InvalidParameterValue", "Metric math alarms (Metrics, "
				"ThresholdMetricId) are not supported: give MetricName, Namespace, "
				"Dimensions and a statistic.");
	if ((ret = get_str(req, "MetricName", 1, 255, &name, e)) <= 0)
		return ret < 0 ? ret : null_err(e, "MetricName");
	if ((ret = get_str(req, "Namespace", 1, 255, &ns, e)) <= 0)
		return ret < 0 ? ret : null_err(e, "Namespace");
	if (ns[0] == ':')
		return berr_set(e, 400, "ValidationError", "The Namespace must not start with ':'.");
	json_object_set_new(al->conf, "MetricName", json_string(name));
	json_object_set_new(al->conf, "Namespace", json_string(ns));
	ci = strcmp(ns, NS_CI) == 0 ? 1 : strcmp(ns, COL_NS_ECS) == 0 ? 2 : 0;
	if (take_dimensions(req, al, ci, e) < 0)
		return -EINVAL;
	al->metric = ci ? collector_metric_find_ns(ns, name) : NULL;
	if (al->metric && !(al->metric->kinds & (1u << al->kind)))
		return berr_set(e, 400, "InvalidParameterCombination", "%s has no %s for these "
				"dimensions.", ci == 1 ? "Container Insights" : COL_NS_ECS, name);
	if (get_str(req, "Unit", 1, 64, &unit, e) < 0)
		return -EINVAL;
	if (unit) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(units) && strcmp(units[i], unit); i++)
			;
		if (i == ARRAY_SIZE(units))
			return berr_set(e, 400, "ValidationError", "1 validation error detected: Value "
					"'%.64s' at 'Unit' failed to satisfy constraint: Member must "
					"satisfy enum value set of CloudWatch's units", unit);
		al->unit_mismatch = al->metric && strcmp(al->metric->unit, unit) != 0;
		json_object_set_new(al->conf, "Unit", json_string(unit));
	}
	return 0;
}

int alarm_model_metric(struct alarms *a, const json_t *req, struct alarm *out, bool check_arns,
		       struct berr *e)
{
	memset(out, 0, sizeof(*out));
	out->conf = json_object();
	if (!out->conf)
		return -ENOMEM;
	if (check_members(req, metric_members, e) < 0 || take_common(a, req, out, check_arns, e) < 0 ||
	    take_metric(req, out, e) < 0 || take_statistic(req, out, e) < 0 ||
	    take_period(a, req, out, e) < 0 || take_threshold(req, out, e) < 0) {
		alarm_model_clear(out);
		return -EINVAL;
	}
	return 0;
}

int alarm_model_composite(struct alarms *a, const json_t *req, struct alarm *out, bool check_arns,
			  struct berr *e)
{
	const char *rule;
	int ret;

	memset(out, 0, sizeof(*out));
	out->composite = true;
	out->conf = json_object();
	if (!out->conf)
		return -ENOMEM;
	ret = check_members(req, composite_members, e);
	if (ret == 0 && json_object_get(req, "ActionsSuppressor") &&
	    !json_is_null(json_object_get(req, "ActionsSuppressor")))
		ret = berr_set(e, 400, "InvalidParameterValue", "Action suppression "
			       "(ActionsSuppressor) is not supported.");
	if (ret == 0)
		ret = take_common(a, req, out, check_arns, e);
	if (ret == 0 && (ret = get_str(req, "AlarmRule", 1, ALARM_RULE_MAX_LEN, &rule, e)) == 0)
		ret = null_err(e, "AlarmRule");
	if (ret > 0)
		ret = alarm_rule_parse(rule, &out->rule, e);
	if (ret < 0) {
		alarm_model_clear(out);
		return ret == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	json_object_set_new(out->conf, "AlarmRule", json_string(rule));
	return 0;
}

void alarm_model_clear(struct alarm *al)
{
	json_decref(al->conf);
	al->conf = NULL;
	alarm_rule_free(al->rule);
	al->rule = NULL;
	free(al->reason);
	al->reason = NULL;
	free(al->reason_data);
	al->reason_data = NULL;
}

json_t *alarm_model_actions(const struct alarm *al, enum alarm_state s)
{
	static const char *const keys[] = { "OKActions", "AlarmActions", "InsufficientDataActions" };

	return json_object_get(al->conf, keys[s]);
}

json_t *alarm_model_describe(const struct alarm *al)
{
	json_t *o = json_deep_copy(al->conf);
	char t[40];

	if (!o)
		return NULL;
	json_object_del(o, "Tags");
	json_object_set_new(o, "ActionsEnabled", json_boolean(al->actions_enabled));
	time_iso8601(al->conf_updated, t, sizeof(t));
	json_object_set_new(o, "AlarmConfigurationUpdatedTimestamp", json_string(t));
	json_object_set_new(o, "StateValue", json_string(alarm_state_name(al->state)));
	json_object_set_new(o, "StateReason", json_string(al->reason ? al->reason : ""));
	if (al->reason_data)
		json_object_set_new(o, "StateReasonData", json_string(al->reason_data));
	time_iso8601(al->state_updated, t, sizeof(t));
	json_object_set_new(o, "StateUpdatedTimestamp", json_string(t));
	time_iso8601(al->state_transitioned, t, sizeof(t));
	json_object_set_new(o, "StateTransitionedTimestamp", json_string(t));
	return o;
}
