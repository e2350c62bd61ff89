/* SPDX-License-Identifier: MIT */
/* berthctl_alarms.c: berthctl verbs for alarms: put-metric-alarm, describe-alarms, .... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cmd/berthctl.h"
#include "common/json.h"
#include "common/util.h"

#define S(n) { n, AWSCLIENT_STRING, 0, NULL, NULL }
#define I(n) { n, AWSCLIENT_INTEGER, 0, NULL, NULL }
#define L(n) { n, AWSCLIENT_STRING_LIST, 0, NULL, NULL }

static const struct awsclient_member put_metric_members[] = {
	S("AlarmName"), S("AlarmDescription"),
	{ "ActionsEnabled", AWSCLIENT_BOOLEAN, 0, NULL, NULL },
	L("OKActions"), L("AlarmActions"), L("InsufficientDataActions"), S("MetricName"),
	S("Namespace"), S("Statistic"), S("ExtendedStatistic"),
	{ "Dimensions", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	I("Period"), S("Unit"), I("EvaluationPeriods"), I("DatapointsToAlarm"),
	S("Threshold"), S("ComparisonOperator"), S("TreatMissingData"),
	S("EvaluateLowSampleCountPercentile"),
	{ "Metrics", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "Tags", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	S("ThresholdMetricId"),
	{ NULL },
};

static const struct awsclient_member put_composite_members[] = {
	S("AlarmName"), S("AlarmDescription"), S("AlarmRule"),
	{ "ActionsEnabled", AWSCLIENT_BOOLEAN, 0, NULL, NULL },
	L("OKActions"), L("AlarmActions"), L("InsufficientDataActions"),
	{ "Tags", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	S("ActionsSuppressor"), I("ActionsSuppressorWaitPeriod"),
	I("ActionsSuppressorExtensionPeriod"),
	{ NULL },
};

static const struct awsclient_member describe_members[] = {
	L("AlarmNames"), S("AlarmNamePrefix"), L("AlarmTypes"), S("ChildrenOfAlarmName"),
	S("ParentsOfAlarmName"), S("StateValue"), S("ActionPrefix"), I("MaxRecords"),
	S("NextToken"),
	{ NULL },
};

static const struct awsclient_member names_members[] = {
	{ "AlarmNames", AWSCLIENT_STRING_LIST, 1, NULL, NULL },
	{ NULL },
};

static const struct awsclient_member set_state_members[] = {
	{ "AlarmName", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "StateValue", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "StateReason", AWSCLIENT_STRING, 1, NULL, NULL },
	S("StateReasonData"),
	{ NULL },
};

static const struct awsclient_member history_members[] = {
	S("AlarmName"), L("AlarmTypes"), S("HistoryItemType"), S("StartDate"), S("EndDate"),
	I("MaxRecords"), S("NextToken"), S("ScanBy"),
	{ NULL },
};

/* POSTs req as JSON to path and prints the answer. */
static int post_json(const struct cli *cli, const char *op, const char *path, const json_t *req)
{
	char *text = json_dumps(req, JSON_COMPACT);
	struct awsclient_body b = { .data = text, .len = text ? strlen(text) : 0, .fd = -1 };
	int ret;

	if (!text)
		return EXIT_GENERAL;
	ret = rest_json(cli, op, "POST", path, "application/json", &b, 0);
	free(text);
	return ret;
}

/* "/v1/alarms/<escaped name><suffix>" into out; 0 or an exit code. */
static int alarm_path(const char *name, const char *suffix, char *out, size_t len)
{
	char *esc = curl_easy_escape(NULL, name ? name : "", 0);
	int n;

	if (!esc)
		return EXIT_GENERAL;
	n = snprintf(out, len, "/v1/alarms/%s%s", esc, suffix);
	curl_free(esc);
	return n < (int)len ? 0 : usage_error("the alarm name is too long");
}

static int cmd_put_metric(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	json_t *copy = json_deep_copy(req), *th = json_object_get(copy, "Threshold");
	int ret;

	/* --threshold is a number: the flag parser hands it over as text. */
	if (json_is_string(th)) {
		char *end;
		double d = strtod(json_string_value(th), &end);
		if (end == json_string_value(th) || *end) {
			json_decref(copy);
			return usage_error("argument --threshold: expected a number, got '%s'",
					   json_string_value(th));
		}
		json_object_set_new(copy, "Threshold", json_real(d));
	}
	ret = post_json(cli, v->op.name, "/v1/alarms", copy);
	json_decref(copy);
	return ret;
}

static int cmd_put_composite(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	if (!json_object_get(req, "AlarmRule"))
		return usage_error("the following arguments are required: --alarm-rule");
	return post_json(cli, v->op.name, "/v1/alarms", req);
}

static int add_list(char *pq, size_t len, const char *key, const json_t *list)
{
	char buf[32768] = "";
	size_t pos = 0, i;
	json_t *s;

	json_array_foreach(list, i, s)
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%s%s", i ? "," : "",
					json_string_value(s));
	if (pos >= sizeof(buf))
		return -1;
	return json_array_size(list) ? add_query(pq, len, key, buf) : 0;
}

static int cmd_describe(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	static const char *const strs[][2] = {
		{ "AlarmNamePrefix", "alarmNamePrefix" }, { "ChildrenOfAlarmName",
							      "childrenOfAlarmName" },
		{ "ParentsOfAlarmName", "parentsOfAlarmName" }, { "StateValue", "stateValue" },
		{ "ActionPrefix", "actionPrefix" }, { "NextToken", "nextToken" },
	};
	json_t *types = json_object_get(req, "AlarmTypes"), *mr = json_object_get(req, "MaxRecords");
	char pq[65536] = "/v1/alarms", num[32];
	int ret = add_list(pq, sizeof(pq), "alarmNames", json_object_get(req, "AlarmNames"));

	/* As with the aws CLI, metric alarms only unless --alarm-types says otherwise. */
	if (ret == 0)
		ret = types ? add_list(pq, sizeof(pq), "alarmTypes", types)
			    : add_query(pq, sizeof(pq), "alarmTypes", "MetricAlarm");
	for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(strs); i++)
		if (req_str(req, strs[i][0]))
			ret = add_query(pq, sizeof(pq), strs[i][1], req_str(req, strs[i][0]));
	if (ret == 0 && mr) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(mr));
		ret = add_query(pq, sizeof(pq), "maxRecords", num);
	}
	if (ret < 0)
		return usage_error("the arguments are too long");
	return rest_json(cli, v->op.name, "GET", pq, NULL, NULL, 0);
}

static int cmd_delete(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	json_t *names = json_object_get(req, "AlarmNames");
	char pq[65536] = "/v1/alarms";

	if (!json_array_size(names))
		return usage_error("the following arguments are required: --alarm-names");
	if (add_list(pq, sizeof(pq), "alarmNames", names) < 0)
		return usage_error("the alarm names are too long");
	return rest_json(cli, v->op.name, "DELETE", pq, NULL, NULL, 0);
}

static int cmd_set_state(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	char path[2048];
	json_t *b;
	int ret = alarm_path(req_str(req, "AlarmName"), "/state", path, sizeof(path));

	if (ret)
		return ret;
	b = json_deep_copy(req);
	json_object_del(b, "AlarmName");
	ret = post_json(cli, v->op.name, path, b);
	json_decref(b);
	return ret;
}

static int cmd_history(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	static const char *const strs[][2] = {
		{ "AlarmName", "alarmName" }, { "HistoryItemType", "historyItemType" },
		{ "StartDate", "startDate" }, { "EndDate", "endDate" }, { "NextToken", "nextToken" },
		{ "ScanBy", "scanBy" },
	};
	json_t *mr = json_object_get(req, "MaxRecords");
	char pq[8192] = "/v1/alarm-history", num[32];
	int ret = add_list(pq, sizeof(pq), "alarmTypes", json_object_get(req, "AlarmTypes"));

	for (size_t i = 0; ret == 0 && i < ARRAY_SIZE(strs); i++)
		if (req_str(req, strs[i][0]))
			ret = add_query(pq, sizeof(pq), strs[i][1], req_str(req, strs[i][0]));
	if (ret == 0 && mr) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(mr));
		ret = add_query(pq, sizeof(pq), "maxRecords", num);
	}
	if (ret < 0)
		return usage_error("the arguments are too long");
	return rest_json(cli, v->op.name, "GET", pq, NULL, NULL, 0);
}

static int switch_actions(const struct cli *cli, const struct rest_verb *v, const json_t *req,
			  const char *suffix)
{
	json_t *names = json_object_get(req, "AlarmNames"), *s;
	size_t i;

	if (!json_array_size(names))
		return usage_error("the following arguments are required: --alarm-names");
	json_array_foreach(names, i, s) {
		struct sink out = { 0 };
		char path[2048];
		int ret = alarm_path(json_string_value(s), suffix, path, sizeof(path));
		if (ret == 0)
			ret = rest_call(cli, v->op.name, "POST", path, "application/json", NULL,
					sink_write, &out, 0);
		free(out.buf);
		if (ret)
			return ret;
	}
	return 0;
}

static int cmd_enable(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	return switch_actions(cli, v, req, "/actions/enable");
}

static int cmd_disable(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	return switch_actions(cli, v, req, "/actions/disable");
}

const struct rest_verb ctl_alarm_verbs[] = {
	{ "put-metric-alarm", "", { NULL },
	  { "PutMetricAlarm", put_metric_members, NULL,
	    "Creates or updates a metric alarm (flags as `aws cloudwatch put-metric-alarm`; "
	    "--cli-input-json file://alarm.json)." }, cmd_put_metric },
	{ "put-composite-alarm", "", { NULL },
	  { "PutCompositeAlarm", put_composite_members, NULL,
	    "Creates or updates a composite alarm from an --alarm-rule." }, cmd_put_composite },
	{ "describe-alarms", "", { NULL },
	  { "DescribeAlarms", describe_members, NULL,
	    "Lists alarms (--alarm-names N..., --alarm-name-prefix, --state-value, "
	    "--alarm-types)." }, cmd_describe },
	{ "delete-alarms", "", { NULL },
	  { "DeleteAlarms", names_members, NULL, "Deletes alarms (--alarm-names N...)." },
	  cmd_delete },
	{ "set-alarm-state", "", { NULL },
	  { "SetAlarmState", set_state_members, NULL,
	    "Sets an alarm's state until its next evaluation; its actions run." }, cmd_set_state },
	{ "describe-alarm-history", "", { NULL },
	  { "DescribeAlarmHistory", history_members, NULL,
	    "Lists alarm history items (ConfigurationUpdate, StateUpdate, Action; two weeks)." },
	  cmd_history },
	{ "enable-alarm-actions", "", { NULL },
	  { "EnableAlarmActions", names_members, NULL, "Enables the actions of alarms." },
	  cmd_enable },
	{ "disable-alarm-actions", "", { NULL },
	  { "DisableAlarmActions", names_members, NULL, "Disables the actions of alarms." },
	  cmd_disable },
};
const size_t ctl_n_alarm_verbs = ARRAY_SIZE(ctl_alarm_verbs);
