/* SPDX-License-Identifier: MIT */
/* billing_query.c: the report query string - parameters, times, defaults. */
#include "collector/billing.h"
#include "common/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VALUE_MAX 256

/* Percent-decodes s[0..n) into out; -EINVAL on a bad escape or when too long. */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			int h, l;
			if (i + 2 >= n)
				return -EINVAL;
			h = hex_digit_value(s[i + 1]);
			l = hex_digit_value(s[i + 2]);
			if (h < 0 || l < 0)
				return -EINVAL;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (c == '\0' || k + 1 >= cap)
			return -EINVAL;
		out[k++] = c;
	}
	out[k] = '\0';
	return 0;
}

static int parse_time(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	const char *end;
	char *e;
	long long v;

	if (!*s)
		return -EINVAL;
	v = strtoll(s, &e, 10);
	if (*e == '\0' && e != s) {
		if (v < 0 || v > 253402300799LL)
			return -EINVAL;
		*out = v;
		return 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (!end || (*end && strcmp(end, "Z") && strcmp(end, "+00:00") && strcmp(end, ".000Z")))
		return -EINVAL;
	if (tm.tm_year < 70 || tm.tm_year > 8099)
		return -EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int set(struct billing_query *q, const char *k, const char *v, bool *have_start,
	       char *err, size_t errlen)
{
	if (!strcmp(k, "start") || !strcmp(k, "end")) {
		int64_t t;
		if (parse_time(v, &t) < 0) {
			snprintf(err, errlen, "%s must be a date (2026-11-01), a UTC time "
				 "(2026-11-01T10:00:00Z) or unix seconds, got '%s'", k, v);
			return -EINVAL;
		}
		if (k[0] == 's') {
			q->start = t;
			*have_start = true;
		} else {
			q->end = t;
		}
	} else if (!strcmp(k, "group_by") || !strcmp(k, "groupBy")) {
		if (!strcmp(v, "cluster"))
			q->group = BILL_CLUSTER;
		else if (!strcmp(v, "service"))
			q->group = BILL_SERVICE;
		else if (!strcmp(v, "family"))
			q->group = BILL_FAMILY;
		else if (!strcmp(v, "task"))
			q->group = BILL_TASK;
		else if (!strncmp(v, "tag:", 4) && v[4] && strlen(v + 4) < sizeof(q->tag)) {
			q->group = BILL_TAG;
			snprintf(q->tag, sizeof(q->tag), "%s", v + 4);
		} else {
			snprintf(err, errlen, "group_by must be cluster, service, family, task or "
				 "tag:KEY (a key of 1 to 128 characters), got '%s'", v);
			return -EINVAL;
		}
	} else if (!strcmp(k, "granularity")) {
		if (!strcmp(v, "hourly"))
			q->gran = BILL_HOURLY;
		else if (!strcmp(v, "daily"))
			q->gran = BILL_DAILY;
		else if (!strcmp(v, "monthly"))
			q->gran = BILL_MONTHLY;
		else {
			snprintf(err, errlen, "granularity must be hourly, daily or monthly, got '%s'",
				 v);
			return -EINVAL;
		}
	} else if (!strcmp(k, "format")) {
		if (!strcmp(v, "json"))
			q->format = BILL_JSON;
		else if (!strcmp(v, "csv"))
			q->format = BILL_CSV;
		else {
			snprintf(err, errlen, "format must be json or csv, got '%s'", v);
			return -EINVAL;
		}
	} else if (!strcmp(k, "gzip")) {
		if (strcmp(v, "1") && strcmp(v, "0") && strcmp(v, "true") && strcmp(v, "false")) {
			snprintf(err, errlen, "gzip must be 1 or 0, got '%s'", v);
			return -EINVAL;
		}
		q->gzip = !strcmp(v, "1") || !strcmp(v, "true");
	} else {
		snprintf(err, errlen, "unknown parameter '%s' (start, end, group_by, granularity, "
			 "format, gzip)", k);
		return -EINVAL;
	}
	return 0;
}

int billing_query_parse(const char *qs, double now, struct billing_query *q, char *err,
			size_t errlen)
{
	const char *p = qs ? qs : "";
	bool have_start = false;

	memset(q, 0, sizeof(*q));
	q->group = BILL_CLUSTER;
	q->gran = BILL_MONTHLY;
	q->format = BILL_JSON;
	/* This month so far, and the minimum charges that run past now. */
	q->end = ledger_month_start(ledger_month_of((int64_t)now) + 1);
	while (*p) {
		const char *amp = strchr(p, '&'), *eq;
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		char k[64], v[VALUE_MAX];
		eq = memchr(p, '=', n);
		if (n == 0) {
			p += amp ? 1 : 0;
			continue;
		}
		if (!eq || decode(p, (size_t)(eq - p), k, sizeof(k)) < 0 ||
		    decode(eq + 1, n - (size_t)(eq - p) - 1, v, sizeof(v)) < 0) {
			snprintf(err, errlen, "malformed query parameter '%.*s'", (int)(n > 64 ? 64 : n),
				 p);
			return -EINVAL;
		}
		if (set(q, k, v, &have_start, err, errlen) < 0)
			return -EINVAL;
		p += n + (amp ? 1 : 0);
	}
	if (!have_start)
		q->start = ledger_month_start(ledger_month_of(q->end > 0 ? q->end - 1 : 0));
	if (q->end <= 0)
		q->end = 1;
	if (q->start >= q->end) {
		snprintf(err, errlen, "start must be before end");
		return -EINVAL;
	}
	return 0;
}

const char *billing_group_name(const struct billing_query *q, char *buf, size_t len)
{
	static const char *const names[] = { "cluster", "service", "family", "task" };

	if (q->group == BILL_TAG) {
		snprintf(buf, len, "tag:%s", q->tag);
		return buf;
	}
	return names[q->group];
}

const char *billing_gran_name(enum billing_gran g)
{
	return g == BILL_HOURLY ? "hourly" : g == BILL_DAILY ? "daily" : "monthly";
}
