/* SPDX-License-Identifier: MIT */
/* test_alarms.c: alarm evaluation - the missing-data tables row by row, M of N, percentiles,
 * low-sample percentiles, composite rules, PutMetricAlarm validation, the durable store. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alarms/alarms_internal.h"
#include "tests/unit/unit.h"

/* "0 - X - X" (oldest first) into slots; returns the count. */
static int slots_of(const char *row, signed char *out)
{
	int n = 0;

	for (const char *p = row; *p; p++) {
		if (*p == ' ')
			continue;
		out[n++] = *p == 'X' ? ALARM_DP_BREACHING : *p == '0' ? ALARM_DP_OK : ALARM_DP_MISSING;
	}
	return n;
}

/* Expected per TreatMissingData (missing, ignore, breaching, notBreaching); "retain" = the
 * current state is kept. */
static void check_row(const char *row, int n, int m, const char *const want[4])
{
	static const enum alarm_missing tmd[4] = { ALARM_MISSING_MISSING, ALARM_MISSING_IGNORE,
						   ALARM_MISSING_BREACHING,
						   ALARM_MISSING_NOT_BREACHING };
	signed char slots[16];
	int range = slots_of(row, slots);
	struct alarm_verdict *v = calloc(1, sizeof(*v));

	for (int t = 0; t < 4; t++) {
		/* Starting from each state shows whether "retain" really keeps it. */
		for (int cur = 0; cur < ALARM_STATE_N; cur++) {
			const char *got;
			alarm_decide(slots, range, n, m, tmd[t], cur, v);
			got = v->retained ? "retain" : alarm_state_name(v->state);
			if (strcmp(got, want[t]) != 0)
				UNIT_FAIL("row \"%s\" M=%d N=%d %s from %s: got %s, want %s", row, m, n,
					  alarm_missing_name(tmd[t]), alarm_state_name(cur), got,
					  want[t]);
			if (v->retained && v->state != (enum alarm_state)cur)
				UNIT_FAIL("row \"%s\": retained but state changed", row);
		}
	}
	free(v);
}

/* The reference's first table: N = 3, M = 3. */
static void test_missing_table_3_of_3(void)
{
	check_row("0 - X - X", 3, 3, (const char *[]){ "OK", "OK", "OK", "OK" });
	check_row("- - - - -", 3, 3, (const char *[]){ "INSUFFICIENT_DATA", "retain", "ALARM", "OK" });
	check_row("0 X X - X", 3, 3, (const char *[]){ "ALARM", "ALARM", "ALARM", "ALARM" });
	check_row("- - - - X", 3, 3, (const char *[]){ "INSUFFICIENT_DATA", "retain", "ALARM", "OK" });
	check_row("X - - - -", 3, 3, (const char *[]){ "ALARM", "retain", "ALARM", "OK" });
}

/* The reference's second table: N = 3, M = 2. */
static void test_missing_table_2_of_3(void)
{
	check_row("0 - X - X", 3, 2, (const char *[]){ "ALARM", "ALARM", "ALARM", "ALARM" });
	check_row("0 - X - -", 3, 2, (const char *[]){ "OK", "OK", "ALARM", "OK" });
	check_row("- - - - 0", 3, 2, (const char *[]){ "OK", "OK", "ALARM", "OK" });
}

static void test_m_of_n(void)
{
	signed char s[8];
	struct alarm_verdict *v = calloc(1, sizeof(*v));
	int n;

	/* 3 of 5, not consecutive: ALARM; the newest 5 real ones are used. */
	n = slots_of("0 0 X 0 X 0 X", s);
	alarm_decide(s, n, 5, 3, ALARM_MISSING_MISSING, ALARM_STATE_OK, v);
	CHECK_EQ(v->state, ALARM_STATE_ALARM);
	CHECK_EQ(v->n_used, 5);
	CHECK_EQ(v->breaching, 3);
	CHECK_EQ(v->used[0], 6);
	/* Only 2 breaching among the newest 5. */
	n = slots_of("X X 0 X 0 0 X", s);
	alarm_decide(s, n, 5, 3, ALARM_MISSING_MISSING, ALARM_STATE_ALARM, v);
	CHECK_EQ(v->state, ALARM_STATE_OK);
	/* 1 of 1. */
	n = slots_of("0 0 X", s);
	alarm_decide(s, n, 1, 1, ALARM_MISSING_MISSING, ALARM_STATE_OK, v);
	CHECK_EQ(v->state, ALARM_STATE_ALARM);
	CHECK_EQ(v->evaluated, 1);
	/* Gaps with at least N real datapoints: TreatMissingData plays no part. */
	n = slots_of("0 - 0 - 0", s);
	alarm_decide(s, n, 3, 1, ALARM_MISSING_BREACHING, ALARM_STATE_OK, v);
	CHECK_EQ(v->state, ALARM_STATE_OK);
	CHECK_EQ(v->filled, 0);
	/* Fewer: filled only as many times as needed. */
	n = slots_of("- - - 0 -", s);
	alarm_decide(s, n, 3, 2, ALARM_MISSING_BREACHING, ALARM_STATE_OK, v);
	CHECK_EQ(v->filled, 2);
	CHECK_EQ(v->state, ALARM_STATE_ALARM);
	free(v);
}

static void test_comparisons(void)
{
	CHECK(alarm_breaches(ALARM_CMP_GT, 2, 1));
	CHECK(!alarm_breaches(ALARM_CMP_GT, 1, 1));
	CHECK(alarm_breaches(ALARM_CMP_GE, 1, 1));
	CHECK(alarm_breaches(ALARM_CMP_LT, 0.5, 1));
	CHECK(!alarm_breaches(ALARM_CMP_LT, 1, 1));
	CHECK(alarm_breaches(ALARM_CMP_LE, 1, 1));
	CHECK_EQ(alarm_cmp_parse("GreaterThanThreshold"), ALARM_CMP_GT);
	CHECK_EQ(alarm_cmp_parse("greaterthanthreshold"), -1);
	CHECK_STR(alarm_cmp_words(ALARM_CMP_GE), "greater than or equal to");
}

static void test_percentiles(void)
{
	double p = -1;

	CHECK_EQ(alarm_percentile_parse("p99", &p), 0);
	CHECK(p == 99);
	CHECK_EQ(alarm_percentile_parse("p99.9", &p), 0);
	CHECK(fabs(p - 99.9) < 1e-9);
	CHECK_EQ(alarm_percentile_parse("p0.0", &p), 0);
	CHECK(p == 0);
	CHECK_EQ(alarm_percentile_parse("p100", &p), 0);
	CHECK(p == 100);
	CHECK_EQ(alarm_percentile_parse("p100.1", &p), -EINVAL);
	CHECK_EQ(alarm_percentile_parse("p101", &p), -EINVAL);
	CHECK_EQ(alarm_percentile_parse("p", &p), -EINVAL);
	CHECK_EQ(alarm_percentile_parse("p9.", &p), -EINVAL);
	CHECK_EQ(alarm_percentile_parse("P99", &p), -EINVAL);
	CHECK_EQ(alarm_percentile_parse("tm90", &p), -EINVAL);
	CHECK_EQ(alarm_percentile_parse("p99x", &p), -EINVAL);
	CHECK_EQ(alarm_percentile_parse("p-1", &p), -EINVAL);
}

static void test_low_sample(void)
{
	/* p99: fewer than 10 / (1 - 0.99) = 1000 samples is low. */
	CHECK(alarm_low_sample(99, 999));
	CHECK(!alarm_low_sample(99, 1000));
	/* p50: 10 / 0.5 = 20. */
	CHECK(alarm_low_sample(50, 19));
	CHECK(!alarm_low_sample(50, 20));
	/* p10: 10 / 0.1 = 100. */
	CHECK(alarm_low_sample(10, 99));
	CHECK(!alarm_low_sample(10, 100));
	/* p0 and p100 are the minimum and maximum: never low. */
	CHECK(!alarm_low_sample(100, 1));
	CHECK(!alarm_low_sample(0, 1));
}

static void test_formats(void)
{
	char b[64];

	alarm_fmt_number(30, b, sizeof(b));
	CHECK_STR(b, "30.0");
	alarm_fmt_number(32.6, b, sizeof(b));
	CHECK_STR(b, "32.6");
	alarm_fmt_number(0.1 + 0.2, b, sizeof(b));
	CHECK_STR(b, "0.30000000000000004");
	alarm_fmt_number(0, b, sizeof(b));
	CHECK_STR(b, "0.0");
	alarm_fmt_number(1e7, b, sizeof(b));
	CHECK_STR(b, "1.0E7");
	alarm_fmt_number(-2.5e-5, b, sizeof(b));
	CHECK_STR(b, "-2.5E-5");
	alarm_fmt_reason_time(1751531340, b, sizeof(b));
	CHECK_STR(b, "03/07/25 08:29:00");
	alarm_fmt_cw_time(1574437431.730, b, sizeof(b));
	CHECK_STR(b, "2019-11-22T15:43:51.730+0000");
}

struct states {
	const char *names[4];
	int st[4];
};

static int lookup(void *ctx, const char *ref)
{
	struct states *s = ctx;

	for (int i = 0; i < 4 && s->names[i]; i++)
		if (!strcmp(s->names[i], ref))
			return s->st[i];
	return -1;
}

static bool rule(const char *text, struct states *s, int *err)
{
	struct alarm_rule *r;
	struct berr e;
	bool v;

	*err = alarm_rule_parse(text, &r, &e);
	if (*err)
		return false;
	v = alarm_rule_eval(r, lookup, s);
	alarm_rule_free(r);
	return v;
}

static void test_rules(void)
{
	struct states s = { { "a", "b", "my alarm (x)", NULL },
			    { ALARM_STATE_ALARM, ALARM_STATE_OK, ALARM_STATE_INSUFFICIENT } };
	struct alarm_rule *r;
	struct berr e;
	size_t n;
	int err;

	CHECK(rule("ALARM(a)", &s, &err) && !err);
	CHECK(!rule("ALARM(b)", &s, &err) && !err);
	CHECK(rule("OK(b) AND ALARM(a)", &s, &err));
	CHECK(rule("INSUFFICIENT_DATA(\"my alarm (x)\")", &s, &err) && !err);
	CHECK(rule("TRUE", &s, &err) && !rule("FALSE", &s, &err));
	/* NOT binds tighter than AND, AND tighter than OR. */
	CHECK(rule("NOT ALARM(b) AND ALARM(a)", &s, &err));
	CHECK(rule("FALSE AND FALSE OR TRUE", &s, &err));
	CHECK(!rule("FALSE AND (FALSE OR TRUE)", &s, &err));
	CHECK(rule("NOT NOT TRUE", &s, &err));
	CHECK(rule("( ALARM( a ) OR OK(zzz) )", &s, &err));
	CHECK(!rule("ALARM(missing)", &s, &err) && !err);
	CHECK(rule("ALARM(arn:aws:cloudwatch:us-east-1:1:alarm:a) OR TRUE", &s, &err) && !err);
	CHECK_EQ(alarm_rule_parse("ALARM(a) OR OK(\"b\") AND NOT ALARM(c)", &r, &e), 0);
	CHECK_STR(alarm_rule_refs(r, &n)[1], "b");
	CHECK_EQ(n, 3);
	alarm_rule_free(r);
	/* Errors name the position and what was expected. */
	CHECK_EQ(alarm_rule_parse("", &r, &e), -EINVAL);
	CHECK_EQ(alarm_rule_parse("ALARM(", &r, &e), -EINVAL);
	CHECK_EQ(alarm_rule_parse("ALARM()", &r, &e), -EINVAL);
	CHECK_EQ(alarm_rule_parse("TRUE AND", &r, &e), -EINVAL);
	CHECK_EQ(alarm_rule_parse("TRUE TRUE", &r, &e), -EINVAL);
	CHECK_CONTAINS(e.message, "character 6");
	CHECK_STR(e.type, "ValidationError");
	CHECK_EQ(alarm_rule_parse("alarm(a)", &r, &e), -EINVAL);
	CHECK_EQ(alarm_rule_parse("ALARM(\"a)", &r, &e), -EINVAL);
	CHECK_EQ(alarm_rule_parse("(TRUE", &r, &e), -EINVAL);
	{
		char deep[1000] = "";
		for (int i = 0; i < 200; i++)
			strcat(deep, "(");
		CHECK_EQ(alarm_rule_parse(deep, &r, &e), -EINVAL);
		CHECK_CONTAINS(e.message, "nests too deeply");
	}
}

static int put_err(const char *json, struct berr *e)
{
	json_t *req = json_loads(json, 0, NULL);
	struct alarm al;
	int ret;

	if (!req)
		return -1000;
	ret = alarm_model_metric(NULL, req, &al, true, e);
	if (ret == 0)
		alarm_model_clear(&al);
	json_decref(req);
	return ret;
}

#define BASE "\"AlarmName\":\"a\",\"MetricName\":\"CpuUtilized\",\"Namespace\":" \
	     "\"ECS/ContainerInsights\",\"Period\":60,\"EvaluationPeriods\":3,\"Threshold\":5," \
	     "\"ComparisonOperator\":\"GreaterThanThreshold\""

static void expect_err(const char *json, const char *type, const char *needle)
{
	struct berr e = { { 0 }, { 0 }, 0 };
	int ret = put_err(json, &e);

	if (ret != -EINVAL || strcmp(e.type, type) || !strstr(e.message, needle))
		UNIT_FAIL("%s: got %d %s \"%s\", want %s containing \"%s\"", json, ret, e.type,
			  e.message, type, needle);
}

static void test_validation(void)
{
	struct berr e;

	CHECK_EQ(put_err("{" BASE ",\"Statistic\":\"Average\"}", &e), 0);
	CHECK_EQ(put_err("{" BASE ",\"ExtendedStatistic\":\"p99.9\",\"Dimensions\":[{\"Name\":"
			 "\"ClusterName\",\"Value\":\"c\"},{\"Name\":\"TaskId\",\"Value\":\"t\"}],"
			 "\"TreatMissingData\":\"breaching\"}", &e), 0);
	expect_err("{\"MetricName\":\"x\"}", "ValidationError", "'AlarmName'");
	expect_err("{" BASE "}", "InvalidParameterCombination", "Statistic or ExtendedStatistic");
	expect_err("{" BASE ",\"Statistic\":\"Average\",\"ExtendedStatistic\":\"p9\"}",
		   "InvalidParameterCombination", "Exactly one");
	expect_err("{" BASE ",\"Statistic\":\"Mean\"}", "ValidationError", "'Statistic'");
	expect_err("{" BASE ",\"ExtendedStatistic\":\"tm90\"}", "InvalidParameterValue",
		   "ExtendedStatistic");
	expect_err("{" BASE ",\"Statistic\":\"Average\",\"DatapointsToAlarm\":4}", "ValidationError",
		   "DatapointsToAlarm");
	expect_err("{" BASE ",\"Statistic\":\"Average\",\"TreatMissingData\":\"zero\"}",
		   "ValidationError", "TreatMissingData");
	expect_err("{" BASE ",\"Statistic\":\"Average\",\"Bogus\":1}", "ValidationError", "Bogus");
	expect_err("{" BASE ",\"Statistic\":\"Average\",\"AlarmActions\":[\"http://x\"]}",
		   "ValidationError", "Invalid arn syntax");
	expect_err("{\"AlarmName\":\"a\",\"MetricName\":\"CpuUtilized\",\"Namespace\":\"N\","
		   "\"Period\":60,\"EvaluationPeriods\":3,\"Threshold\":5,\"Statistic\":\"Sum\","
		   "\"ComparisonOperator\":\"LessThanLowerThreshold\"}", "InvalidParameterValue",
		   "ThresholdMetricId");
	expect_err("{" BASE ",\"Statistic\":\"Average\",\"Metrics\":[{\"Id\":\"m\"}]}",
		   "InvalidParameterValue", "Metric math");
	expect_err("{\"AlarmName\":\"a\",\"MetricName\":\"CpuUtilized\",\"Namespace\":\"N\","
		   "\"Period\":3600,\"EvaluationPeriods\":25,\"Threshold\":5,\"Statistic\":\"Sum\","
		   "\"ComparisonOperator\":\"LessThanThreshold\"}", "ValidationError", "a day");
	expect_err("{" BASE ",\"Statistic\":\"Average\",\"Threshold\":\"high\"}", "ValidationError",
		   "'Threshold'");
	expect_err("{" BASE ",\"Statistic\":\"Average\",\"Dimensions\":[{\"Name\":\"ContainerName\","
		   "\"Value\":\"c\"}]}", "InvalidParameterCombination", "TaskId");
	expect_err("{" BASE ",\"Statistic\":\"Average\",\"Dimensions\":[{\"Name\":\"Pod\","
		   "\"Value\":\"c\"}]}", "InvalidParameterValue", "Pod");
	expect_err("{\"AlarmName\":\"a\",\"MetricName\":\"ServiceCount\",\"Namespace\":"
		   "\"ECS/ContainerInsights\",\"Dimensions\":[{\"Name\":\"TaskId\",\"Value\":\"t\"}],"
		   "\"Period\":60,\"EvaluationPeriods\":1,\"Threshold\":5,\"Statistic\":\"Sum\","
		   "\"ComparisonOperator\":\"LessThanThreshold\"}", "InvalidParameterCombination",
		   "ServiceCount");
	expect_err("{" BASE ",\"Statistic\":\"Average\",\"Unit\":\"Furlongs\"}", "ValidationError",
		   "'Unit'");
}

/* The store: put, describe, set state, history, restart, delete, composite cycle check. */
static void test_store(void)
{
	char dir[] = "/tmp/berth-test-alarms-XXXXXX", cmd[300];
	struct config cfg;
	struct alarms *a = NULL;
	struct berr e = { { 0 }, { 0 }, 0 };
	json_t *req, *out = NULL;

	config_defaults(&cfg);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", dir);
	CHECK_EQ(alarms_init(&a, &cfg, NULL, NULL, NULL), 0);
	if (!a)
		return;
	req = json_loads("{" BASE ",\"Statistic\":\"Maximum\"}", 0, NULL);
	CHECK_EQ(alarms_put_metric_alarm(a, req, &e), 0);
	json_decref(req);
	req = json_loads("{\"AlarmName\":\"c\",\"AlarmRule\":\"ALARM(a)\"}", 0, NULL);
	CHECK_EQ(alarms_put_composite_alarm(a, req, &e), 0);
	json_decref(req);
	req = json_loads("{\"AlarmName\":\"a\",\"StateValue\":\"ALARM\",\"StateReason\":\"t\"}", 0,
			 NULL);
	CHECK_EQ(alarms_set_state(a, req, &e), 0);
	json_decref(req);
	CHECK_EQ(alarms_describe(a, json_object(), &out, &e), 0);
	CHECK_EQ(json_array_size(json_object_get(out, "MetricAlarms")), 1);
	CHECK_EQ(json_array_size(json_object_get(out, "CompositeAlarms")), 0);
	json_decref(out);
	req = json_loads("{\"AlarmTypes\":[\"CompositeAlarm\"]}", 0, NULL);
	CHECK_EQ(alarms_describe(a, req, &out, &e), 0);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(out,
		  "CompositeAlarms"), 0), "StateValue")), "ALARM");
	json_decref(out);
	json_decref(req);
	/* A composite may not name itself through another. */
	req = json_loads("{\"AlarmName\":\"d\",\"AlarmRule\":\"OK(c)\"}", 0, NULL);
	CHECK_EQ(alarms_put_composite_alarm(a, req, &e), 0);
	json_decref(req);
	req = json_loads("{\"AlarmName\":\"c\",\"AlarmRule\":\"ALARM(d)\"}", 0, NULL);
	CHECK_EQ(alarms_put_composite_alarm(a, req, &e), -EINVAL);
	CHECK_CONTAINS(e.message, "cycle");
	json_decref(req);
	CHECK_EQ(alarms_delete(a, "a", &e), -EINVAL);
	alarms_close(a);
	/* Restart: everything is back. */
	CHECK_EQ(alarms_init(&a, &cfg, NULL, NULL, NULL), 0);
	if (!a)
		return;
	{
		bool comp = false;
		json_t *one = alarms_describe_one(a, "a", &comp);
		CHECK_STR(json_string_value(json_object_get(one, "StateValue")), "ALARM");
		CHECK_STR(json_string_value(json_object_get(one, "StateReason")), "t");
		CHECK(!comp);
		json_decref(one);
	}
	req = json_loads("{\"AlarmName\":\"a\",\"HistoryItemType\":\"StateUpdate\"}", 0, NULL);
	CHECK_EQ(alarms_history(a, req, &out, &e), 0);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(out,
		  "AlarmHistoryItems"), 0), "HistorySummary")),
		  "Alarm updated from INSUFFICIENT_DATA to ALARM");
	json_decref(out);
	json_decref(req);
	req = json_loads("{\"AlarmNames\":[\"a\",\"c\",\"d\",\"zz\"]}", 0, NULL);
	CHECK_EQ(alarms_delete_request(a, req, &e), 0);
	json_decref(req);
	CHECK_EQ(alarms_delete(a, "a", &e), -EINVAL);
	CHECK_STR(e.type, "ResourceNotFound");
	alarms_close(a);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ(system(cmd), 0);
}

UNIT_MAIN(test_missing_table_3_of_3, test_missing_table_2_of_3, test_m_of_n, test_comparisons,
	  test_percentiles, test_low_sample, test_formats, test_rules, test_validation, test_store)
