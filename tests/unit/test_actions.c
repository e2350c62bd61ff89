/* SPDX-License-Identifier: MIT */
/* test_actions.c: alarm actions - signing, message formats, backoff, the outbox across a crash,
 * the address guard, step scaling arithmetic and cooldowns, action ARNs. */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alarms/actions_internal.h"
#include "common/fileio.h"
#include "common/json.h"
#include "tests/unit/unit.h"

static const char *const S1 = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

static void test_sign_vector(void)
{
	/* The Standard Webhooks reference vector. */
	const char *body = "{\"test\": 2432232314}";
	char sig[256];

	CHECK_EQ(wh_sign(S1, NULL, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body),
			 sig, sizeof(sig)), 0);
	CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	/* Rotation: the new key's signature first, then the previous one's. */
	CHECK_EQ(wh_sign("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", S1,
			 "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, strlen(body), sig,
			 sizeof(sig)), 0);
	CHECK_CONTAINS(sig, " v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	CHECK(strncmp(sig, "v1,", 3) == 0 && strchr(sig, ' ') - sig == 47);
}

static void test_secret_decode(void)
{
	unsigned char key[128];
	size_t len = sizeof(key);
	char gen[80];

	CHECK_EQ(wh_secret_decode(S1, key, &len), 0);
	CHECK_EQ(len, 24);
	len = sizeof(key);
	CHECK(wh_secret_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, &len) < 0);
	CHECK(wh_secret_decode("whsec_", key, &len) < 0);
	CHECK(wh_secret_decode("whsec_abc", key, &len) < 0);
	CHECK(wh_secret_decode("whsec_AAAA", key, &len) < 0);        /* 3 bytes: too short */
	CHECK(wh_secret_decode("whsec_MfKQ9r8G*YqrTwjUPD8ILPZIo2LaLaSw", key, &len) < 0);
	wh_secret_generate(gen, sizeof(gen));
	len = sizeof(key);
	CHECK_EQ(wh_secret_decode(gen, key, &len), 0);
	CHECK_EQ(len, 32);
}

static json_t *sample_alarm(void)
{
	return json_pack("{s:s, s:s, s:s, s:[s], s:[], s:[], s:s, s:s, s:s, s:i, s:i, s:i, s:f, "
			 "s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}], s:s}",
			 "AlarmName", "cpu-high", "AlarmDescription", "CPU above 80",
			 "AlarmConfigurationUpdatedTimestamp", "2019-11-22T15:40:00.125Z",
			 "AlarmActions", "arn:aws:sns:us-east-1:000000000000:ops", "OKActions",
			 "InsufficientDataActions", "MetricName", "CpuUtilized", "Namespace",
			 "ECS/ContainerInsights", "Statistic", "Average", "Period", 60,
			 "EvaluationPeriods", 3, "DatapointsToAlarm", 2, "Threshold", 80.0,
			 "ComparisonOperator", "GreaterThanThreshold", "TreatMissingData", "breaching",
			 "Dimensions", "Name", "ClusterName", "Value", "prod", "Name", "ServiceName",
			 "Value", "web", "Unit", "Percent");
}

static struct alarm_event sample_event(json_t *alarm)
{
	struct alarm_event ev = {
		.alarm_name = "cpu-high",
		.alarm_arn = "arn:aws:cloudwatch:us-east-1:000000000000:alarm:cpu-high",
		.old_state = "OK",
		.new_state = "ALARM",
		.reason = "Threshold Crossed: 2 out of the last 3 datapoints were greater than the "
			  "threshold (80.0).",
		.reason_data = "{\"version\":\"1.0\",\"recentDatapoints\":[85.5,90.0]}",
		.timestamp = 1574437431.730,
		.alarm = alarm,
	};
	return ev;
}

static void test_format_sns(void)
{
	struct config cfg;
	json_t *alarm = sample_alarm(), *o, *m, *t, *d;
	struct alarm_event ev = sample_event(alarm);
	char *body;

	config_defaults(&cfg);
	body = wh_format_body(WH_FORMAT_SNS, &ev, "arn:aws:sns:us-east-1:000000000000:ops", "ops",
			      &cfg, "11111111-2222-3333-4444-555555555555");
	o = json_loads(body ? body : "", 0, NULL);
	CHECK(o != NULL);
	CHECK_STR(json_string_value(json_object_get(o, "Type")), "Notification");
	CHECK_STR(json_string_value(json_object_get(o, "MessageId")),
		  "11111111-2222-3333-4444-555555555555");
	CHECK_STR(json_string_value(json_object_get(o, "Subject")),
		  "ALARM: \"cpu-high\" in US East (N. Virginia)");
	m = json_loads(json_string_value(json_object_get(o, "Message")) ?: "", 0, NULL);
	CHECK(m != NULL);
	CHECK_STR(json_string_value(json_object_get(m, "StateChangeTime")),
		  "2019-11-22T15:43:51.730+0000");
	CHECK_STR(json_string_value(json_object_get(m, "AlarmConfigurationUpdatedTimestamp")),
		  "2019-11-22T15:40:00.125+0000");
	CHECK_STR(json_string_value(json_object_get(m, "AWSAccountId")), "000000000000");
	CHECK_STR(json_string_value(json_object_get(m, "Region")), "US East (N. Virginia)");
	CHECK_STR(json_string_value(json_object_get(m, "OldStateValue")), "OK");
	CHECK_STR(json_string_value(json_object_get(m, "NewStateValue")), "ALARM");
	CHECK_STR(json_string_value(json_object_get(m, "AlarmDescription")), "CPU above 80");
	CHECK_EQ(json_array_size(json_object_get(m, "AlarmActions")), 1);
	CHECK(json_is_array(json_object_get(m, "InsufficientDataActions")));
	t = json_object_get(m, "Trigger");
	CHECK_STR(json_string_value(json_object_get(t, "Statistic")), "AVERAGE");
	CHECK_STR(json_string_value(json_object_get(t, "StatisticType")), "Statistic");
	CHECK_STR(json_string_value(json_object_get(t, "TreatMissingData")), "breaching");
	CHECK_STR(json_string_value(json_object_get(t, "Unit")), "Percent");
	CHECK_EQ(json_integer_value(json_object_get(t, "DatapointsToAlarm")), 2);
	CHECK(json_number_value(json_object_get(t, "Threshold")) == 80.0);
	d = json_array_get(json_object_get(t, "Dimensions"), 1);
	CHECK_STR(json_string_value(json_object_get(d, "name")), "ServiceName");
	CHECK_STR(json_string_value(json_object_get(d, "value")), "web");
	CHECK_STR(json_string_value(json_object_get(t, "EvaluateLowSampleCountPercentile")), "");
	json_decref(m);
	json_decref(o);
	free(body);
	/* An extended statistic. */
	json_object_del(alarm, "Statistic");
	json_object_set_new(alarm, "ExtendedStatistic", json_string("p99"));
	body = wh_format_body(WH_FORMAT_SNS, &ev, "arn:x", "ops", &cfg, "id");
	CHECK_CONTAINS(body, "\\\"StatisticType\\\":\\\"ExtendedStatistic\\\"");
	CHECK_CONTAINS(body, "\\\"ExtendedStatistic\\\":\\\"p99\\\"");
	free(body);
	json_decref(alarm);
}

static void test_format_alertmanager_and_berth(void)
{
	struct config cfg;
	json_t *alarm = sample_alarm(), *o, *al;
	struct alarm_event ev = sample_event(alarm);
	char *body;

	config_defaults(&cfg);
	body = wh_format_body(WH_FORMAT_ALERTMANAGER, &ev, "arn", "ops", &cfg, "id");
	o = json_loads(body ? body : "", 0, NULL);
	CHECK_STR(json_string_value(json_object_get(o, "version")), "4");
	CHECK_STR(json_string_value(json_object_get(o, "status")), "firing");
	CHECK_STR(json_string_value(json_object_get(o, "receiver")), "ops");
	CHECK_STR(json_string_value(json_object_get(o, "groupKey")), "{}:{alertname=\"cpu-high\"}");
	CHECK_EQ(json_integer_value(json_object_get(o, "truncatedAlerts")), 0);
	al = json_array_get(json_object_get(o, "alerts"), 0);
	CHECK_STR(json_string_value(json_object_get(json_object_get(al, "labels"), "service_name")),
		  "web");
	CHECK_STR(json_string_value(json_object_get(al, "endsAt")), "0001-01-01T00:00:00Z");
	CHECK_EQ(strlen(json_string_value(json_object_get(al, "fingerprint")) ?: ""), 16);
	CHECK_STR(json_string_value(json_object_get(json_object_get(al, "annotations"),
						    "description")), "CPU above 80");
	json_decref(o);
	free(body);
	ev.new_state = "OK";
	ev.old_state = "ALARM";
	body = wh_format_body(WH_FORMAT_ALERTMANAGER, &ev, "arn", "ops", &cfg, "id");
	CHECK_CONTAINS(body, "\"status\":\"resolved\"");
	free(body);
	body = wh_format_body(WH_FORMAT_BERTH, &ev, "arn", "ops", &cfg, "m1");
	o = json_loads(body ? body : "", 0, NULL);
	CHECK_STR(json_string_value(json_object_get(o, "type")), "alarm.state_change");
	CHECK_STR(json_string_value(json_object_get(o, "newState")), "OK");
	CHECK(json_number_value(json_array_get(json_object_get(json_object_get(o, "reasonData"),
							       "recentDatapoints"), 1)) == 90.0);
	json_decref(o);
	free(body);
	json_decref(alarm);
}

static void test_backoff(void)
{
	uint64_t rng = 42;

	for (int i = 0; i < 200; i++) {
		int64_t d1 = wh_backoff_ms(1, 1000, 60000, &rng);
		int64_t d3 = wh_backoff_ms(3, 1000, 60000, &rng);
		int64_t d20 = wh_backoff_ms(20, 1000, 60000, &rng);
		CHECK(d1 >= 500 && d1 <= 1000);
		CHECK(d3 >= 2000 && d3 <= 4000);
		CHECK(d20 >= 30000 && d20 <= 60000);
	}
	CHECK_EQ(wh_retry_after("120", 0), 120);
	CHECK_EQ(wh_retry_after(" 5\r\n", 0), 5);
	CHECK_EQ(wh_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0), 10);
	CHECK_EQ(wh_retry_after("soon", 0), -1);
	CHECK_EQ(wh_retry_after("-3", 0), -1);
}

static bool allowed4(const char *ip, const char *allow)
{
	struct sockaddr_in s = { .sin_family = AF_INET };

	inet_pton(AF_INET, ip, &s.sin_addr);
	return wh_address_allowed((struct sockaddr *)&s, allow);
}

static bool allowed6(const char *ip, const char *allow)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6 };

	inet_pton(AF_INET6, ip, &s.sin6_addr);
	return wh_address_allowed((struct sockaddr *)&s, allow);
}

static void test_address_guard(void)
{
	struct berr e;

	CHECK(allowed4("127.0.0.1", ""));
	CHECK(allowed4("10.1.2.3", ""));
	CHECK(!allowed4("169.254.169.254", ""));
	CHECK(!allowed4("169.254.1.1", ""));
	CHECK(!allowed4("100.100.100.200", ""));
	CHECK(allowed4("169.254.10.1", "169.254.10.0/24"));
	CHECK(!allowed4("169.254.169.254", "169.254.10.0/24, 10.0.0.1"));
	CHECK(allowed6("::1", ""));
	CHECK(!allowed6("fe80::1", ""));
	CHECK(!allowed6("fd00:ec2::254", ""));
	CHECK(!allowed6("::ffff:169.254.169.254", ""));
	CHECK(allowed6("fe80::1", "fe80::/10"));
	CHECK_EQ(wh_url_check("http://127.0.0.1:8080/hook", "", &e), 0);
	CHECK(wh_url_check("http://169.254.169.254/latest/meta-data", "", &e) < 0);
	CHECK_CONTAINS(e.message, "link-local");
	CHECK(wh_url_check("http://[fe80::1]/x", "", &e) < 0);
	CHECK(wh_url_check("file:///etc/passwd", "", &e) < 0);
	CHECK(wh_url_check("not a url", "", &e) < 0);
	CHECK_EQ(wh_url_check("https://hooks.example.com/x", "", &e), 0);
}

struct hist {
	int n;
	char last[1024];
};

static void on_history(void *ctx, const char *alarm, const char *summary, const char *data)
{
	struct hist *h = ctx;

	(void)alarm;
	(void)data;
	h->n++;
	snprintf(h->last, sizeof(h->last), "%s", summary);
}

static void tmpdir(char *out, size_t len)
{
	snprintf(out, len, "/tmp/berth-actions-test.XXXXXX");
	CHECK(mkdtemp(out) != NULL);
}

static void test_outbox_recovery(void)
{
	struct config cfg;
	struct hist h = { 0 };
	struct alarm_actions_deps deps = { .cfg = &cfg, .history = on_history, .history_ctx = &h };
	struct alarm_actions *a = NULL;
	json_t *alarm = sample_alarm(), *rq, *out = NULL;
	struct alarm_event ev = sample_event(alarm);
	const char *arns[] = { "arn:aws:sns:us-east-1:000000000000:ops" };
	char dir[64], id[64], path[256], *text = NULL;
	struct berr e;

	config_defaults(&cfg);
	tmpdir(dir, sizeof(dir));
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", dir);
	CHECK_EQ(actions_init(&a, &deps), 0);
	if (!a)
		return;
	CHECK(actions_validate_arn(a, arns[0], &e) < 0);
	CHECK_CONTAINS(e.message, "no webhook endpoint named ops");
	rq = json_pack("{s:s, s:s, s:s, s:s}", "name", "ops", "url", "http://127.0.0.1:9/x",
		       "format", "cloudwatch-sns", "secret", S1);
	CHECK_EQ(actions_webhook_put(a, rq, &out, &e), 0);
	json_decref(out);
	json_decref(rq);
	CHECK_EQ(actions_validate_arn(a, arns[0], &e), 0);
	CHECK_EQ(actions_dispatch(a, &ev, arns, 1), 1);
	CHECK_CONTAINS(h.last, "Successfully executed action arn:aws:sns:");
	snprintf(id, sizeof(id), "%s", a->last_webhook_id);
	snprintf(path, sizeof(path), "%s/outbox/%s.json", dir, id);
	CHECK_EQ(access(path, F_OK), 0);
	/* A repeat period is not a new notification. */
	ev.repeat = true;
	CHECK_EQ(actions_dispatch(a, &ev, arns, 1), 0);
	CHECK_EQ(a->n_items, 1);
	/* "Crash": drop everything in memory, as kill -9 would, and start again. */
	actions_close(a);
	/* A torn or foreign file beside it is set aside, not lost and not fatal. */
	snprintf(path, sizeof(path), "%s/outbox/msg_bad.json", dir);
	file_write_durable(path, "{\"id\":", 6, 0600);
	CHECK_EQ(actions_init(&a, &deps), 0);
	if (!a)
		return;
	CHECK_EQ(a->n_items, 1);
	CHECK_STR(a->items ? a->items->id : "", id);
	CHECK_STR(a->items ? a->items->endpoint : "", "ops");
	CHECK_CONTAINS(a->items ? a->items->body : "", "\"TopicArn\":\"arn:aws:sns:us-east-1");
	snprintf(path, sizeof(path), "%s/outbox/dead/msg_bad.json.corrupt", dir);
	CHECK_EQ(access(path, F_OK), 0);
	/* Deleting the endpoint moves what waits to the dead letters. */
	CHECK_EQ(actions_webhook_delete(a, "ops", &e), 0);
	CHECK_EQ(a->n_items, 0);
	snprintf(path, sizeof(path), "%s/outbox/dead/%s.json", dir, id);
	CHECK_EQ(access(path, F_OK), 0);
	CHECK_CONTAINS(h.last, "Failed to deliver");
	/* Counters render. */
	size_t len = 0;
	CHECK_EQ(actions_metrics_render(a, &text, &len), 0);
	CHECK_CONTAINS(text, "berth_alarm_actions_total{action=\"replace_task\",result=\"done\"} 0");
	free(text);
	actions_close(a);
	json_decref(alarm);
	file_remove_tree(dir);
}

static void test_item_parse(void)
{
	char why[200];
	struct wh_item *it;

	const char *good = "{\"id\":\"msg_1\",\"endpoint\":\"e\",\"created\":1.5,\"body\":\"{}\"}";
	const char *bad1 = "{\"id\":\"../x\",\"endpoint\":\"e\",\"created\":1,\"body\":\"\"}";
	const char *bad2 = "{\"id\":\"m\",\"endpoint\":\"e\",\"created\":1,\"body\":3}";

	it = wh_item_parse(good, strlen(good), why, sizeof(why));
	CHECK(it != NULL);
	if (it) {
		CHECK_STR(it->body, "{}");
		free(it->body);
		free(it);
	}
	CHECK(wh_item_parse("[]", 2, why, sizeof(why)) == NULL);
	CHECK(wh_item_parse(bad1, strlen(bad1), why, sizeof(why)) == NULL);
	CHECK(wh_item_parse(bad2, strlen(bad2), why, sizeof(why)) == NULL);
}

static struct sc_policy *policy(const char *cfg_json)
{
	static struct sc_policy p;
	json_t *cfg = json_loads(cfg_json, 0, NULL);
	struct berr e;
	int ret;

	memset(&p, 0, sizeof(p));
	ret = sc_step_config_parse(cfg, &p, &e);
	json_decref(cfg);
	if (ret < 0) {
		UNIT_FAIL("policy does not parse: %s", e.message);
		return NULL;
	}
	return &p;
}

static void test_step_bounds(void)
{
	struct sc_policy *p = policy(
		"{\"AdjustmentType\":\"ChangeInCapacity\",\"Cooldown\":60,\"StepAdjustments\":["
		"{\"MetricIntervalLowerBound\":0,\"MetricIntervalUpperBound\":10,\"ScalingAdjustment\":1},"
		"{\"MetricIntervalLowerBound\":10,\"ScalingAdjustment\":3},"
		"{\"MetricIntervalUpperBound\":0,\"ScalingAdjustment\":-1}]}");
	struct sc_policy q;
	struct berr e;
	json_t *bad;

	if (!p)
		return;
	CHECK_EQ(p->n_steps, 3);
	CHECK_EQ(p->cooldown, 60);
	/* Threshold 50: 55 is in [0, 10) above it, 60 starts the next step, 45 is below. */
	CHECK_EQ(sc_step_find(p, 55, 50)->adjustment, 1);
	CHECK_EQ(sc_step_find(p, 50, 50)->adjustment, 1);
	CHECK_EQ(sc_step_find(p, 60, 50)->adjustment, 3);
	CHECK_EQ(sc_step_find(p, 1e9, 50)->adjustment, 3);
	CHECK_EQ(sc_step_find(p, 45, 50)->adjustment, -1);
	CHECK(sc_step_find(p, NAN, 50) == NULL);
	/* Below the threshold the upper bound is inclusive. */
	p = policy("{\"AdjustmentType\":\"ChangeInCapacity\",\"StepAdjustments\":["
		   "{\"MetricIntervalLowerBound\":-10,\"MetricIntervalUpperBound\":0,\"ScalingAdjustment\":-1},"
		   "{\"MetricIntervalUpperBound\":-10,\"ScalingAdjustment\":-2}]}");
	if (!p)
		return;
	CHECK_EQ(p->cooldown, 300);
	CHECK_EQ(sc_step_find(p, 40.5, 50)->adjustment, -1);
	CHECK_EQ(sc_step_find(p, 50, 50) == NULL, 1);
	CHECK_EQ(sc_step_find(p, 49, 50)->adjustment, -1);
	CHECK_EQ(sc_step_find(p, 40, 50)->adjustment, -2);
	CHECK_EQ(sc_step_find(p, 39.9, 50)->adjustment, -2);
	CHECK(sc_step_find(p, 50.1, 50) == NULL);
	/* Refused shapes. */
	const char *bads[] = {
		"{\"AdjustmentType\":\"ChangeInCapacity\",\"StepAdjustments\":[]}",
		"{\"AdjustmentType\":\"Add\",\"StepAdjustments\":[{\"ScalingAdjustment\":1}]}",
		"{\"AdjustmentType\":\"ChangeInCapacity\",\"StepAdjustments\":["
		"{\"MetricIntervalLowerBound\":0,\"MetricIntervalUpperBound\":10,\"ScalingAdjustment\":1},"
		"{\"MetricIntervalLowerBound\":20,\"ScalingAdjustment\":2}]}",
		"{\"AdjustmentType\":\"ChangeInCapacity\",\"StepAdjustments\":["
		"{\"MetricIntervalLowerBound\":0,\"ScalingAdjustment\":1},"
		"{\"MetricIntervalLowerBound\":5,\"ScalingAdjustment\":2}]}",
		"{\"AdjustmentType\":\"ChangeInCapacity\",\"MinAdjustmentMagnitude\":2,"
		"\"StepAdjustments\":[{\"ScalingAdjustment\":1}]}",
		"{\"AdjustmentType\":\"ChangeInCapacity\",\"StepAdjustments\":[{\"ScalingAdjustment\":1.5}]}",
		"{\"AdjustmentType\":\"ExactCapacity\",\"StepAdjustments\":[{\"ScalingAdjustment\":-1}]}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
		bad = json_loads(bads[i], 0, NULL);
		memset(&q, 0, sizeof(q));
		if (sc_step_config_parse(bad, &q, &e) == 0)
			UNIT_FAIL("accepted: %s", bads[i]);
		json_decref(bad);
	}
}

static void test_percent_rounding(void)
{
	/* 25% of 4 = 1; of 3 = 0.75 -> 1; of 10 = 2.5 -> 2; -25% of 3 = -0.75 -> -1;
	 * -25% of 10 = -2.5 -> -2. */
	CHECK_EQ(sc_apply_adjustment(SC_PERCENT, 25, 0, 4, 0, 100), 5);
	CHECK_EQ(sc_apply_adjustment(SC_PERCENT, 25, 0, 3, 0, 100), 4);
	CHECK_EQ(sc_apply_adjustment(SC_PERCENT, 25, 0, 10, 0, 100), 12);
	CHECK_EQ(sc_apply_adjustment(SC_PERCENT, -25, 0, 3, 0, 100), 2);
	CHECK_EQ(sc_apply_adjustment(SC_PERCENT, -25, 0, 10, 0, 100), 8);
	/* MinAdjustmentMagnitude: 25% of 4 is 1, at least 2. */
	CHECK_EQ(sc_apply_adjustment(SC_PERCENT, 25, 2, 4, 0, 100), 6);
	CHECK_EQ(sc_apply_adjustment(SC_PERCENT, -25, 2, 4, 0, 100), 2);
	/* 0 tasks stay 0 with a percentage. */
	CHECK_EQ(sc_apply_adjustment(SC_PERCENT, 50, 0, 0, 0, 100), 0);
	/* Change, exact, and the bounds. */
	CHECK_EQ(sc_apply_adjustment(SC_CHANGE, 3, 0, 2, 1, 10), 5);
	CHECK_EQ(sc_apply_adjustment(SC_CHANGE, 30, 0, 2, 1, 10), 10);
	CHECK_EQ(sc_apply_adjustment(SC_CHANGE, -5, 0, 2, 1, 10), 1);
	CHECK_EQ(sc_apply_adjustment(SC_EXACT, 7, 0, 2, 1, 10), 7);
	CHECK_EQ(sc_apply_adjustment(SC_EXACT, 70, 0, 2, 1, 10), 10);
}

static void test_cooldown(void)
{
	struct sc_policy *p = policy(
		"{\"AdjustmentType\":\"ChangeInCapacity\",\"Cooldown\":100,\"StepAdjustments\":["
		"{\"MetricIntervalLowerBound\":0,\"MetricIntervalUpperBound\":20,\"ScalingAdjustment\":1},"
		"{\"MetricIntervalLowerBound\":20,\"ScalingAdjustment\":3},"
		"{\"MetricIntervalUpperBound\":0,\"ScalingAdjustment\":-1}]}");
	char why[300];

	if (!p)
		return;
	/* First scale-out: 2 -> 3. */
	CHECK_EQ(sc_step_decide(p, 55, 50, 2, 1, 10, 1000, why, sizeof(why)), 3);
	p->last_out_at = 1000;
	p->last_out_from = 2;
	/* In the cooldown the same step again asks for 2 + 1 = 3: nothing more. */
	CHECK_EQ(sc_step_decide(p, 55, 50, 3, 1, 10, 1050, why, sizeof(why)), 3);
	CHECK_CONTAINS(why, "cooldown");
	/* A larger step goes on, from the capacity before the cooldown: 2 + 3 = 5. */
	CHECK_EQ(sc_step_decide(p, 80, 50, 3, 1, 10, 1050, why, sizeof(why)), 5);
	/* After the cooldown: from the current capacity. */
	CHECK_EQ(sc_step_decide(p, 55, 50, 3, 1, 10, 1101, why, sizeof(why)), 4);
	/* Scale-in: once, then blocked for the cooldown, then again. */
	CHECK_EQ(sc_step_decide(p, 40, 50, 5, 1, 10, 2000, why, sizeof(why)), 4);
	p->last_in_at = 2000;
	CHECK_EQ(sc_step_decide(p, 40, 50, 4, 1, 10, 2050, why, sizeof(why)), 4);
	CHECK_CONTAINS(why, "scale-in cooldown");
	CHECK_EQ(sc_step_decide(p, 40, 50, 4, 1, 10, 2101, why, sizeof(why)), 3);
	/* A scale-out is not held back by the scale-in cooldown. */
	CHECK_EQ(sc_step_decide(p, 55, 50, 4, 1, 10, 2050, why, sizeof(why)), 5);
	/* At the minimum nothing goes lower. */
	CHECK_EQ(sc_step_decide(p, 40, 50, 1, 1, 10, 5000, why, sizeof(why)), 1);
}

static void test_arns(void)
{
	struct config cfg;
	struct alarm_actions_deps deps = { .cfg = &cfg };
	struct alarm_actions *a = NULL;
	struct berr e;
	char dir[64];
	json_t *out = NULL, *rq;

	config_defaults(&cfg);
	tmpdir(dir, sizeof(dir));
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", dir);
	CHECK_EQ(actions_init(&a, &deps), 0);
	if (!a)
		return;
	CHECK_EQ(actions_validate_arn(a, "arn:aws:automate:us-east-1:ecs:replace-task", &e), 0);
	CHECK(actions_validate_arn(a, "arn:aws:automate:us-east-1:ec2:reboot", &e) < 0);
	CHECK(actions_validate_arn(a, "arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:"
				      "x:resource/ecs/service/c/s:policyName/p", &e) < 0);
	CHECK_CONTAINS(e.message, "no such scaling policy");
	CHECK(actions_validate_arn(a, "arn:aws:lambda:us-east-1:1:function:f", &e) < 0);
	CHECK(actions_validate_arn(a, "arn:aws:sns:us-east-1:000000000000:", &e) < 0);
	/* Scaling requests are validated before anything is looked up. */
	rq = json_pack("{s:s, s:s, s:s}", "ServiceNamespace", "ec2", "ResourceId", "service/c/s",
		       "ScalableDimension", "ecs:service:DesiredCount");
	CHECK(actions_scaling_call(a, "RegisterScalableTarget", rq, &out, &e) < 0);
	CHECK_CONTAINS(e.message, "ServiceNamespace");
	json_object_set_new(rq, "ServiceNamespace", json_string("ecs"));
	json_object_set_new(rq, "ResourceId", json_string("cluster/c"));
	CHECK(actions_scaling_call(a, "RegisterScalableTarget", rq, &out, &e) < 0);
	CHECK_CONTAINS(e.message, "service/CLUSTER/SERVICE");
	json_object_set_new(rq, "ResourceId", json_string("service/c/s"));
	json_object_set_new(rq, "PolicyName", json_string("p"));
	CHECK(actions_scaling_call(a, "PutScalingPolicy", rq, &out, &e) < 0);
	CHECK_STR(e.type, "ObjectNotFoundException");
	CHECK(actions_scaling_call(a, "Frobnicate", rq, &out, &e) < 0);
	CHECK_EQ(actions_scaling_call(a, "DescribeScalingPolicies", rq, &out, &e), 0);
	CHECK_EQ(json_array_size(json_object_get(out, "ScalingPolicies")), 0);
	json_decref(out);
	json_decref(rq);
	actions_close(a);
	file_remove_tree(dir);
}

UNIT_MAIN(test_sign_vector, test_secret_decode, test_format_sns,
	  test_format_alertmanager_and_berth, test_backoff, test_address_guard,
	  test_outbox_recovery, test_item_parse, test_step_bounds, test_percent_rounding,
	  test_cooldown, test_arns)
