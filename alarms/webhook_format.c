/* SPDX-License-Identifier: MIT */
/* webhook_format.c: notification bodies - CloudWatch alarm via SNS, Alertmanager v4, berth. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alarms/actions_internal.h"
#include "common/json.h"

static const char *const format_names[] = {
	[WH_FORMAT_SNS] = "cloudwatch-sns",
	[WH_FORMAT_ALERTMANAGER] = "alertmanager",
	[WH_FORMAT_BERTH] = "berth",
};

int wh_format_parse(const char *s, enum wh_format *f)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(format_names); i++) {
		if (strcmp(s, format_names[i]) == 0) {
			*f = (enum wh_format)i;
			return 0;
		}
	}
	return -1;
}

const char *wh_format_name(enum wh_format f)
{
	return (size_t)f < ARRAY_SIZE(format_names) ? format_names[f] : "berth";
}

void wh_time_cloudwatch(double t, char *out, size_t len)
{
	time_t s = (time_t)floor(t);
	int ms = (int)((t - (double)s) * 1000.0);
	struct tm tm;
	char base[32];

	if (ms > 999)
		ms = 999;
	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03d+0000", base, ms < 0 ? 0 : ms);
}

const char *wh_region_name(const char *code)
{
	static const char *const names[][2] = {
		{ "us-east-1", "US East (N. Virginia)" }, { "us-east-2", "US East (Ohio)" },
		{ "us-west-1", "US West (N. California)" }, { "us-west-2", "US West (Oregon)" },
		{ "ca-central-1", "Canada (Central)" }, { "eu-west-1", "EU (Ireland)" },
		{ "eu-west-2", "EU (London)" }, { "eu-west-3", "EU (Paris)" },
		{ "eu-central-1", "EU (Frankfurt)" }, { "eu-north-1", "EU (Stockholm)" },
		{ "eu-south-1", "EU (Milan)" }, { "ap-south-1", "Asia Pacific (Mumbai)" },
		{ "ap-northeast-1", "Asia Pacific (Tokyo)" }, { "ap-northeast-2", "Asia Pacific (Seoul)" },
		{ "ap-southeast-1", "Asia Pacific (Singapore)" },
		{ "ap-southeast-2", "Asia Pacific (Sydney)" }, { "sa-east-1", "South America (Sao Paulo)" },
	};

	for (size_t i = 0; code && i < ARRAY_SIZE(names); i++)
		if (strcmp(code, names[i][0]) == 0)
			return names[i][1];
	return code ? code : "";
}

/* A timestamp member of the alarm (ISO text or unix seconds) as unix seconds; fallback when
 * absent or unreadable. */
static double alarm_time(const json_t *alarm, const char *key, double fallback)
{
	const json_t *v = json_object_get(alarm, key);
	struct tm tm = { 0 };
	const char *s, *end;
	double frac = 0;

	if (json_is_number(v))
		return json_number_value(v);
	s = json_string_value(v);
	if (!s || !(end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return fallback;
	if (*end == '.')
		frac = strtod(end, NULL);
	return (double)timegm(&tm) + frac;
}

static json_t *copy_or_null(const json_t *alarm, const char *key)
{
	json_t *v = json_object_get(alarm, key);

	return v ? json_deep_copy(v) : json_null();
}

static json_t *copy_array(const json_t *alarm, const char *key)
{
	json_t *v = json_object_get(alarm, key);

	return json_is_array(v) ? json_deep_copy(v) : json_array();
}

/* Trigger {...} of a metric alarm as CloudWatch's SNS message has it. */
static json_t *sns_trigger(const json_t *al)
{
	json_t *t = json_object(), *dims = json_array(), *d;
	const char *stat = json_string_value(json_object_get(al, "Statistic"));
	const char *ext = json_string_value(json_object_get(al, "ExtendedStatistic"));
	size_t i;
	char up[64];

	json_object_set_new(t, "MetricName", copy_or_null(al, "MetricName"));
	json_object_set_new(t, "Namespace", copy_or_null(al, "Namespace"));
	if (ext) {
		json_object_set_new(t, "StatisticType", json_string("ExtendedStatistic"));
		json_object_set_new(t, "ExtendedStatistic", json_string(ext));
	} else {
		snprintf(up, sizeof(up), "%s", stat ? stat : "");
		for (char *p = up; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		json_object_set_new(t, "StatisticType", json_string("Statistic"));
		json_object_set_new(t, "Statistic", json_string(up));
	}
	json_object_set_new(t, "Unit", copy_or_null(al, "Unit"));
	json_array_foreach(json_object_get(al, "Dimensions"), i, d)
		json_array_append_new(dims, json_pack("{s:O?, s:O?}", "value",
						      json_object_get(d, "Value"), "name",
						      json_object_get(d, "Name")));
	json_object_set_new(t, "Dimensions", dims);
	json_object_set_new(t, "Period", copy_or_null(al, "Period"));
	json_object_set_new(t, "EvaluationPeriods", copy_or_null(al, "EvaluationPeriods"));
	if (json_object_get(al, "DatapointsToAlarm"))
		json_object_set_new(t, "DatapointsToAlarm", copy_or_null(al, "DatapointsToAlarm"));
	json_object_set_new(t, "ComparisonOperator", copy_or_null(al, "ComparisonOperator"));
	json_object_set_new(t, "Threshold", copy_or_null(al, "Threshold"));
	json_object_set_new(t, "TreatMissingData",
			    json_string(json_string_value(json_object_get(al, "TreatMissingData"))
					? json_string_value(json_object_get(al, "TreatMissingData"))
					: "missing"));
	json_object_set_new(t, "EvaluateLowSampleCountPercentile",
			    json_string(json_string_value(json_object_get(
					al, "EvaluateLowSampleCountPercentile")) ?: ""));
	return t;
}

static json_t *sns_message(const struct alarm_event *ev, const struct config *cfg)
{
	const json_t *al = ev->alarm;
	char changed[40], updated[40];
	json_t *m;

	wh_time_cloudwatch(ev->timestamp, changed, sizeof(changed));
	wh_time_cloudwatch(alarm_time(al, "AlarmConfigurationUpdatedTimestamp", ev->timestamp),
			   updated, sizeof(updated));
	m = json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}",
		      "AlarmName", ev->alarm_name, "AlarmDescription",
		      copy_or_null(al, "AlarmDescription"), "AWSAccountId", cfg->account_id,
		      "AlarmConfigurationUpdatedTimestamp", updated, "NewStateValue",
		      ev->new_state, "NewStateReason", ev->reason ? ev->reason : "",
		      "StateChangeTime", changed, "Region", wh_region_name(cfg->region),
		      "AlarmArn", ev->alarm_arn ? ev->alarm_arn : "", "OldStateValue",
		      ev->old_state ? ev->old_state : "INSUFFICIENT_DATA", "OKActions",
		      copy_array(al, "OKActions"), "AlarmActions", copy_array(al, "AlarmActions"),
		      "InsufficientDataActions", copy_array(al, "InsufficientDataActions"));
	if (!m)
		return NULL;
	if (ev->composite || json_object_get(al, "AlarmRule")) {
		json_object_set_new(m, "AlarmRule", copy_or_null(al, "AlarmRule"));
		return m;
	}
	json_object_set_new(m, "Trigger", sns_trigger(al));
	return m;
}

/* The SNS envelope around the alarm message, as an HTTP(S) subscription receives it. */
static json_t *sns_envelope(const struct alarm_event *ev, const struct config *cfg,
			    const char *topic_arn, const char *message_id)
{
	char *msg = json_steal_dumps(sns_message(ev, cfg));
	char subject[128], ts[40];
	json_t *o;

	if (!msg)
		return NULL;
	/* SNS subjects stop at 100 characters. */
	snprintf(subject, sizeof(subject), "%s: \"%s\" in %s", ev->new_state, ev->alarm_name,
		 wh_region_name(cfg->region));
	if (strlen(subject) > 100)
		memcpy(subject + 97, "...", 4);
	time_iso8601(ev->timestamp, ts, sizeof(ts));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "Type", "Notification", "MessageId",
		      message_id, "TopicArn", topic_arn, "Subject", subject, "Message", msg,
		      "Timestamp", ts, "SignatureVersion", "1");
	free(msg);
	return o;
}

static void label_name(const char *in, char *out, size_t len)
{
	size_t j = 0;

	/* Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]*; CamelCase -> snake_case. */
	for (size_t i = 0; in[i] && j + 2 < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (isupper(c) && i > 0 && j > 0 && out[j - 1] != '_')
			out[j++] = '_';
		out[j++] = isalnum(c) ? (char)tolower(c) : '_';
	}
	out[j] = '\0';
	if (j == 0 || isdigit((unsigned char)out[0]))
		snprintf(out, len, "_%s", in);
}

/* Alertmanager's fingerprint: FNV-1a 64 over the sorted label pairs. */
static void fingerprint(const json_t *labels, char out[17])
{
	const char *keys[64];
	size_t n = 0;
	uint64_t h = 14695981039346656037ULL;
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)labels, k, v)
		if (n < ARRAY_SIZE(keys))
			keys[n++] = k;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
			const char *t = keys[j];
			keys[j] = keys[j - 1];
			keys[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		const char *parts[2] = { keys[i], json_string_value(json_object_get(labels, keys[i])) };
		for (int p = 0; p < 2; p++) {
			for (const char *c = parts[p] ? parts[p] : ""; *c; c++) {
				h ^= (unsigned char)*c;
				h *= 1099511628211ULL;
			}
			h ^= 255;
			h *= 1099511628211ULL;
		}
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static json_t *am_body(const struct alarm_event *ev, const char *endpoint,
		       const struct config *cfg)
{
	const json_t *al = ev->alarm;
	bool firing = strcmp(ev->new_state, "ALARM") == 0;
	json_t *labels = json_pack("{s:s, s:s, s:s}", "alertname", ev->alarm_name, "state",
				   ev->new_state, "source", "berth");
	json_t *ann, *alert, *d, *o;
	char ts[40], fp[17], url[600], lname[128], gk[600];
	const char *ns = json_string_value(json_object_get(al, "Namespace"));
	const char *mn = json_string_value(json_object_get(al, "MetricName"));
	size_t i;

	if (ns)
		json_object_set_new(labels, "namespace", json_string(ns));
	if (mn)
		json_object_set_new(labels, "metric_name", json_string(mn));
	json_array_foreach(json_object_get(al, "Dimensions"), i, d) {
		const char *n = json_string_value(json_object_get(d, "Name"));
		const char *v = json_string_value(json_object_get(d, "Value"));
		if (!n || !v)
			continue;
		label_name(n, lname, sizeof(lname));
		json_object_set_new(labels, lname, json_string(v));
	}
	ann = json_pack("{s:s}", "summary", ev->reason ? ev->reason : "");
	if (json_string_value(json_object_get(al, "AlarmDescription")))
		json_object_set(ann, "description", json_object_get(al, "AlarmDescription"));
	fingerprint(labels, fp);
	time_iso8601(ev->timestamp, ts, sizeof(ts));
	snprintf(url, sizeof(url), "http://%s/#/alarms/%s", cfg->listen, ev->alarm_name);
	alert = json_pack("{s:s, s:O, s:O, s:s, s:s, s:s, s:s}", "status",
			  firing ? "firing" : "resolved", "labels", labels, "annotations", ann,
			  "startsAt", ts, "endsAt", firing ? "0001-01-01T00:00:00Z" : ts,
			  "generatorURL", url, "fingerprint", fp);
	snprintf(gk, sizeof(gk), "{}:{alertname=\"%s\"}", ev->alarm_name);
	snprintf(url, sizeof(url), "http://%s", cfg->listen);
	o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:{s:s}, s:O, s:O, s:s, s:[o]}", "version", "4",
		      "groupKey", gk, "truncatedAlerts", 0, "status",
		      firing ? "firing" : "resolved", "receiver", endpoint, "groupLabels",
		      "alertname", ev->alarm_name, "commonLabels", labels, "commonAnnotations", ann,
		      "externalURL", url, "alerts", alert);
	json_decref(labels);
	json_decref(ann);
	return o;
}

static json_t *berth_body(const struct alarm_event *ev, const struct config *cfg,
			  const char *message_id)
{
	json_t *data = NULL;
	char ts[40];

	if (ev->reason_data)
		data = json_loads(ev->reason_data, 0, NULL);
	time_iso8601(ev->timestamp, ts, sizeof(ts));
	return json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:b, s:O?}",
			 "type", "alarm.state_change", "id", message_id, "alarmName",
			 ev->alarm_name, "alarmArn", ev->alarm_arn, "oldState",
			 ev->old_state ? ev->old_state : "INSUFFICIENT_DATA", "newState",
			 ev->new_state, "reason", ev->reason ? ev->reason : "", "reasonData",
			 data ? data : json_null(), "timestamp", ts, "region", cfg->region,
			 "accountId", cfg->account_id, "composite", ev->composite, "alarm",
			 ev->alarm);
}

char *wh_format_body(enum wh_format f, const struct alarm_event *ev, const char *topic_arn,
		     const char *endpoint, const struct config *cfg, const char *message_id)
{
	json_t *o = NULL;

	if (!ev || !ev->alarm_name || !ev->new_state)
		return NULL;
	switch (f) {
	case WH_FORMAT_SNS:
		o = sns_envelope(ev, cfg, topic_arn, message_id);
		break;
	case WH_FORMAT_ALERTMANAGER:
		o = am_body(ev, endpoint, cfg);
		break;
	case WH_FORMAT_BERTH:
		o = berth_body(ev, cfg, message_id);
		break;
	}
	return o ? json_steal_dumps(o) : NULL;
}
