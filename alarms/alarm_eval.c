/* SPDX-License-Identifier: MIT */
/* alarm_eval.c: M of N with missing data, statistics, comparisons and CloudWatch's formats. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alarms/alarm_eval.h"
#include "collector/collector.h"

static const char *const state_names[] = { "OK", "ALARM", "INSUFFICIENT_DATA" };
static const char *const missing_names[] = { "missing", "ignore", "breaching", "notBreaching" };
static const char *const cmp_names[] = { "GreaterThanOrEqualToThreshold", "GreaterThanThreshold",
					 "LessThanThreshold", "LessThanOrEqualToThreshold" };
static const char *const cmp_words[] = { "greater than or equal to", "greater than", "less than",
					 "less than or equal to" };
static const char *const stat_names[] = { "SampleCount", "Average", "Sum", "Minimum", "Maximum" };

static int find(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *alarm_state_name(enum alarm_state s)
{
	return (unsigned)s < ALARM_STATE_N ? state_names[s] : "INSUFFICIENT_DATA";
}

int alarm_state_parse(const char *s)
{
	return find(state_names, 3, s);
}

int alarm_missing_parse(const char *s)
{
	return find(missing_names, 4, s);
}

const char *alarm_missing_name(enum alarm_missing m)
{
	return missing_names[m];
}

int alarm_cmp_parse(const char *s)
{
	return find(cmp_names, 4, s);
}

const char *alarm_cmp_name(enum alarm_cmp c)
{
	return cmp_names[c];
}

const char *alarm_cmp_words(enum alarm_cmp c)
{
	return cmp_words[c];
}

int alarm_stat_parse(const char *s)
{
	return find(stat_names, 5, s);
}

const char *alarm_stat_name(enum alarm_stat s)
{
	return s < ALARM_STAT_PERCENTILE ? stat_names[s] : "Percentile";
}

int alarm_percentile_parse(const char *s, double *pct)
{
	const char *p = s + 1;
	size_t digits = 0, decimals = 0;
	double v;

	if (!s || s[0] != 'p')
		return -EINVAL;
	while (p[digits] >= '0' && p[digits] <= '9')
		digits++;
	if (digits == 0 || digits > 3)
		return -EINVAL;
	if (p[digits] == '.') {
		while (p[digits + 1 + decimals] >= '0' && p[digits + 1 + decimals] <= '9')
			decimals++;
		if (decimals == 0 || decimals > 10 || p[digits + 1 + decimals])
			return -EINVAL;
	} else if (p[digits]) {
		return -EINVAL;
	}
	v = strtod(p, NULL);
	if (v < 0 || v > 100)
		return -EINVAL;
	*pct = v;
	return 0;
}

bool alarm_breaches(enum alarm_cmp c, double value, double threshold)
{
	switch (c) {
	case ALARM_CMP_GE: return value >= threshold;
	case ALARM_CMP_GT: return value > threshold;
	case ALARM_CMP_LT: return value < threshold;
	case ALARM_CMP_LE: return value <= threshold;
	}
	return false;
}

bool alarm_low_sample(double pct, double count)
{
	double p = pct / 100.0;

	if (p <= 0 || p >= 1)
		return false;
	return p >= 0.5 ? count < 10.0 / (1.0 - p) : count < 10.0 / p;
}

/* Fewer real datapoints than N, and missing or ignore: the real ones decide when they can. */
static void decide_few(const signed char *slots, int range, int n, int m, enum alarm_missing tmd,
		       enum alarm_state current, struct alarm_verdict *v)
{
	int good = v->n_used - v->breaching;
	bool recent = false;

	v->evaluated = v->n_used;
	for (int i = range - n; i < range; i++)
		if (i >= 0 && slots[i] != ALARM_DP_MISSING)
			recent = true;
	if (v->breaching >= m)
		v->state = ALARM_STATE_ALARM;
	else if (good > 0)
		v->state = ALARM_STATE_OK;
	else if (tmd == ALARM_MISSING_IGNORE)
		v->retained = true, v->state = current;
	else
		v->state = recent ? ALARM_STATE_INSUFFICIENT : ALARM_STATE_ALARM;
}

void alarm_decide(const signed char *slots, int range, int n, int m, enum alarm_missing tmd,
		  enum alarm_state current, struct alarm_verdict *v)
{
	int real = 0;

	memset(v, 0, offsetof(struct alarm_verdict, used));
	v->n_used = 0;
	v->filled = 0;
	v->breaching = 0;
	v->evaluated = 0;
	for (int i = 0; i < range; i++)
		real += slots[i] != ALARM_DP_MISSING;
	/* The newest real datapoints, up to N of them. */
	for (int i = range - 1; i >= 0 && v->n_used < n; i--) {
		if (slots[i] == ALARM_DP_MISSING)
			continue;
		v->used[v->n_used++] = i;
		v->breaching += slots[i] == ALARM_DP_BREACHING;
	}
	if (real >= n) {
		v->evaluated = n;
		v->state = v->breaching >= m ? ALARM_STATE_ALARM : ALARM_STATE_OK;
		return;
	}
	if (real == 0 && (tmd == ALARM_MISSING_MISSING || tmd == ALARM_MISSING_IGNORE)) {
		v->retained = tmd == ALARM_MISSING_IGNORE;
		v->state = v->retained ? current : ALARM_STATE_INSUFFICIENT;
		return;
	}
	if (tmd == ALARM_MISSING_BREACHING || tmd == ALARM_MISSING_NOT_BREACHING) {
		v->filled = n - real;
		v->evaluated = n;
		if (tmd == ALARM_MISSING_BREACHING)
			v->breaching += v->filled;
		v->state = v->breaching >= m ? ALARM_STATE_ALARM : ALARM_STATE_OK;
		return;
	}
	decide_few(slots, range, n, m, tmd, current, v);
}

void alarm_fmt_number(double v, char *out, size_t len)
{
	char tmp[64];

	if (isnan(v) || isinf(v)) {
		snprintf(out, len, "%s", isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
		return;
	}
	if (v == 0 || (fabs(v) >= 1e-3 && fabs(v) < 1e7)) {
		for (int d = 1; d <= 17; d++) {
			snprintf(tmp, sizeof(tmp), "%.*f", d, v);
			if (strtod(tmp, NULL) == v)
				break;
		}
		snprintf(out, len, "%s", tmp);
		return;
	}
	/* Java's scientific form: "1.0E7", "1.5E-4". */
	for (int d = 1; d <= 17; d++) {
		snprintf(tmp, sizeof(tmp), "%.*e", d, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	{
		char *e = strchr(tmp, 'e');
		int exp = e ? atoi(e + 1) : 0;
		if (e)
			*e = '\0';
		/* Trailing zeros of the mantissa go, keeping one decimal. */
		for (size_t l = strlen(tmp); l > 2 && tmp[l - 1] == '0' && tmp[l - 2] != '.'; l--)
			tmp[l - 1] = '\0';
		snprintf(out, len, "%sE%d", tmp, exp);
	}
}

void alarm_fmt_reason_time(double t, char *out, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(out, len, "%d/%m/%y %H:%M:%S", &tm);
}

void alarm_fmt_cw_time(double t, char *out, size_t len)
{
	time_t s = (time_t)floor(t);
	int ms = (int)((t - floor(t)) * 1000.0);
	struct tm tm;
	char base[32];

	if (ms > 999)
		ms = 999;
	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03d+0000", base, ms);
}

double alarm_percentile_value(double *v, size_t n, double pct)
{
	return collector_percentile(v, n, pct);
}
