/* SPDX-License-Identifier: MIT */
/* alarms_api.c: /v1/alarms: PutMetricAlarm-shaped alarm operations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/alarms.h"
#include "common/json.h"
#include "web/app.h"

static void respond_json(struct web_response *rs, int status, json_t *o)
{
	char *s = json_steal_dumps_pretty(o);

	web_respond(rs, status, "application/json", s, s ? strlen(s) : 0);
}

static void respond_err(struct web_response *rs, int ret, const struct berr *e)
{
	if (ret == -ENOMEM || !e->type[0])
		web_respond_aws_error(rs, 500, "InternalFailure", "The request failed: %s.",
				      strerror(ret < 0 ? -ret : EIO));
	else
		web_respond_aws_error(rs, e->http_status ? e->http_status : 400, e->type, "%s",
				      e->message);
}

static int body(struct app *a, struct web_request *rq, json_t **req, struct berr *e)
{
	return json_decode_request(rq->body, rq->body_len, (int)a->cfg->max_json_depth, req, e);
}

/* "a,b,c" query parameter into a JSON list member of req. */
static void query_list(struct web_request *rq, const char *param, json_t *req, const char *key)
{
	char buf[32768], *save = NULL;
	json_t *arr;

	if (web_query(rq, param, buf, sizeof(buf)) < 0 || !buf[0])
		return;
	arr = json_array();
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(arr, json_string(t));
	json_object_set_new(req, key, arr);
}

static void query_str(struct web_request *rq, const char *param, json_t *req, const char *key)
{
	char buf[2048];

	if (web_query(rq, param, buf, sizeof(buf)) == 0 && buf[0])
		json_object_set_new(req, key, json_string(buf));
}

static void query_int(struct web_request *rq, const char *param, json_t *req, const char *key)
{
	char buf[32], *end;
	long long v;

	if (web_query(rq, param, buf, sizeof(buf)) < 0 || !buf[0])
		return;
	v = strtoll(buf, &end, 10);
	json_object_set_new(req, key, *end ? json_string(buf) : json_integer(v));
}

static void put_alarm(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct berr e = { { 0 }, { 0 }, 400 };
	json_t *req = NULL, *one;
	int ret = body(a, rq, &req, &e);

	if (ret == 0)
		ret = json_object_get(req, "AlarmRule") ? alarms_put_composite_alarm(a->alarms, req, &e)
							 : alarms_put_metric_alarm(a->alarms, req, &e);
	if (ret < 0) {
		json_decref(req);
		respond_err(rs, ret, &e);
		return;
	}
	one = alarms_describe_one(a->alarms, json_string_value(json_object_get(req, "AlarmName")),
				  NULL);
	json_decref(req);
	respond_json(rs, 200, one ? one : json_object());
}

static void describe(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct berr e = { { 0 }, { 0 }, 400 };
	json_t *req = json_object(), *out = NULL;
	char types[128];
	int ret;

	query_list(rq, "alarmNames", req, "AlarmNames");
	query_str(rq, "alarmNamePrefix", req, "AlarmNamePrefix");
	query_str(rq, "stateValue", req, "StateValue");
	query_str(rq, "actionPrefix", req, "ActionPrefix");
	query_str(rq, "childrenOfAlarmName", req, "ChildrenOfAlarmName");
	query_str(rq, "parentsOfAlarmName", req, "ParentsOfAlarmName");
	query_str(rq, "nextToken", req, "NextToken");
	query_int(rq, "maxRecords", req, "MaxRecords");
	/* berth's REST lists both kinds unless asked otherwise. */
	if (web_query(rq, "alarmTypes", types, sizeof(types)) < 0 || !types[0])
		json_object_set_new(req, "AlarmTypes", json_pack("[s,s]", "MetricAlarm",
								 "CompositeAlarm"));
	else
		query_list(rq, "alarmTypes", req, "AlarmTypes");
	ret = alarms_describe(a->alarms, req, &out, &e);
	json_decref(req);
	if (ret < 0)
		respond_err(rs, ret, &e);
	else
		respond_json(rs, 200, out);
}

/* DELETE /v1/alarms?alarmNames=a,b: DeleteAlarms. */
static void delete_many(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct berr e = { { 0 }, { 0 }, 400 };
	json_t *req = json_object();
	int ret;

	query_list(rq, "alarmNames", req, "AlarmNames");
	ret = alarms_delete_request(a->alarms, req, &e);
	json_decref(req);
	if (ret < 0)
		respond_err(rs, ret, &e);
	else
		respond_json(rs, 200, json_object());
}

static void history(struct app *a, struct web_request *rq, struct web_response *rs,
		    const char *name)
{
	struct berr e = { { 0 }, { 0 }, 400 };
	json_t *req = json_object(), *out = NULL;
	int ret;

	if (name)
		json_object_set_new(req, "AlarmName", json_string(name));
	else
		query_str(rq, "alarmName", req, "AlarmName");
	query_str(rq, "historyItemType", req, "HistoryItemType");
	query_str(rq, "startDate", req, "StartDate");
	query_str(rq, "endDate", req, "EndDate");
	query_str(rq, "scanBy", req, "ScanBy");
	query_str(rq, "nextToken", req, "NextToken");
	query_int(rq, "maxRecords", req, "MaxRecords");
	query_list(rq, "alarmTypes", req, "AlarmTypes");
	ret = alarms_history(a->alarms, req, &out, &e);
	json_decref(req);
	if (ret < 0)
		respond_err(rs, ret, &e);
	else
		respond_json(rs, 200, out);
}

static void set_state(struct app *a, struct web_request *rq, struct web_response *rs,
		      const char *name)
{
	struct berr e = { { 0 }, { 0 }, 400 };
	json_t *req = NULL;
	int ret = body(a, rq, &req, &e);

	if (ret == 0) {
		json_object_set_new(req, "AlarmName", json_string(name));
		ret = alarms_set_state(a->alarms, req, &e);
	}
	json_decref(req);
	if (ret < 0)
		respond_err(rs, ret, &e);
	else
		respond_json(rs, 200, alarms_describe_one(a->alarms, name, NULL));
}

static void one_alarm(struct app *a, struct web_request *rq, struct web_response *rs,
		      const char *name)
{
	struct berr e = { { 0 }, { 0 }, 400 };
	json_t *o;
	int ret;

	if (!strcmp(rq->method, "GET")) {
		o = alarms_describe_one(a->alarms, name, NULL);
		if (o)
			respond_json(rs, 200, o);
		else
			web_respond_aws_error(rs, 404, "ResourceNotFound", "No alarm named %.255s "
					      "exists.", name);
	} else if (!strcmp(rq->method, "DELETE")) {
		ret = alarms_delete(a->alarms, name, &e);
		if (ret < 0)
			respond_err(rs, ret, &e);
		else
			respond_json(rs, 200, json_object());
	} else {
		web_respond_aws_error(rs, 405, "MethodNotAllowedException",
				      "%s is not allowed on /v1/alarms/NAME.", rq->method);
	}
}

static void actions_switch(struct app *a, struct web_response *rs, const char *name, bool on)
{
	struct berr e = { { 0 }, { 0 }, 400 };
	json_t *req = json_pack("{s:[s]}", "AlarmNames", name), *o;
	int ret;

	if (!(o = alarms_describe_one(a->alarms, name, NULL))) {
		json_decref(req);
		web_respond_aws_error(rs, 404, "ResourceNotFound", "No alarm named %.255s exists.",
				      name);
		return;
	}
	json_decref(o);
	ret = alarms_enable_actions(a->alarms, req, on, &e);
	json_decref(req);
	if (ret < 0)
		respond_err(rs, ret, &e);
	else
		respond_json(rs, 200, alarms_describe_one(a->alarms, name, NULL));
}

/* /v1/alarms/NAME[/SUFFIX]: NAME may itself hold '/', so the suffix is matched at the end. */
static void alarm_path(struct app *a, struct web_request *rq, struct web_response *rs,
		       const char *rest)
{
	static const char *const suffixes[] = { "/history", "/state", "/actions/enable",
						"/actions/disable" };
	size_t len = strlen(rest);
	char name[1024];

	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);
		if (len <= sl || strcmp(rest + len - sl, suffixes[i]) != 0)
			continue;
		if (len - sl >= sizeof(name))
			break;
		snprintf(name, sizeof(name), "%.*s", (int)(len - sl), rest);
		if (i == 0 && !strcmp(rq->method, "GET"))
			history(a, rq, rs, name);
		else if (i == 1 && !strcmp(rq->method, "POST"))
			set_state(a, rq, rs, name);
		else if (i >= 2 && !strcmp(rq->method, "POST"))
			actions_switch(a, rs, name, i == 2);
		else
			web_respond_aws_error(rs, 405, "MethodNotAllowedException",
					      "%s is not allowed on /v1/alarms/NAME%s.", rq->method,
					      suffixes[i]);
		return;
	}
	if (len == 0 || len > 255) {
		web_respond_aws_error(rs, 400, "ValidationError", "An alarm name is 1 to 255 "
				      "characters.");
		return;
	}
	one_alarm(a, rq, rs, rest);
}

bool alarms_api_handle(struct app *a, struct web_request *rq, struct web_response *rs)
{
	const char *p = rq->path;

	if (strcmp(p, "/v1/alarms") && strncmp(p, "/v1/alarms/", 11) &&
	    strcmp(p, "/v1/alarm-history"))
		return false;
	if (!a->alarms) {
		web_respond_aws_error(rs, 503, "ServiceUnavailable", "Alarms are not available "
				      "(see berthd's log).");
		return true;
	}
	if (!strcmp(p, "/v1/alarm-history")) {
		if (!strcmp(rq->method, "GET"))
			history(a, rq, rs, NULL);
		else
			web_respond_aws_error(rs, 405, "MethodNotAllowedException",
					      "%s is not allowed on /v1/alarm-history.", rq->method);
	} else if (!strcmp(p, "/v1/alarms")) {
		if (!strcmp(rq->method, "POST"))
			put_alarm(a, rq, rs);
		else if (!strcmp(rq->method, "GET"))
			describe(a, rq, rs);
		else if (!strcmp(rq->method, "DELETE"))
			delete_many(a, rq, rs);
		else
			web_respond_aws_error(rs, 405, "MethodNotAllowedException",
					      "%s is not allowed on /v1/alarms.", rq->method);
	} else {
		alarm_path(a, rq, rs, p + 11);
	}
	return true;
}
