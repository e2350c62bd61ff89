/* SPDX-License-Identifier: MIT */
/* alarm_eval.h: the pure parts of alarm evaluation - M of N with missing data, statistics,
 * comparisons, CloudWatch number and time formats, and the composite AlarmRule language. */
#ifndef BERTH_ALARM_EVAL_H
#define BERTH_ALARM_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

enum alarm_state { ALARM_STATE_OK, ALARM_STATE_ALARM, ALARM_STATE_INSUFFICIENT, ALARM_STATE_N };
enum alarm_missing { ALARM_MISSING_MISSING, ALARM_MISSING_IGNORE, ALARM_MISSING_BREACHING,
		     ALARM_MISSING_NOT_BREACHING };
enum alarm_cmp { ALARM_CMP_GE, ALARM_CMP_GT, ALARM_CMP_LT, ALARM_CMP_LE };
enum alarm_stat { ALARM_STAT_SAMPLE_COUNT, ALARM_STAT_AVERAGE, ALARM_STAT_SUM, ALARM_STAT_MINIMUM,
		  ALARM_STAT_MAXIMUM, ALARM_STAT_PERCENTILE };

/* "OK", "ALARM", "INSUFFICIENT_DATA"; and back (-1 when unknown). */
const char *alarm_state_name(enum alarm_state s);
int alarm_state_parse(const char *s);
/* Parse tables: -1 when the text is none of the API's values. */
int alarm_missing_parse(const char *s);
const char *alarm_missing_name(enum alarm_missing m);
int alarm_cmp_parse(const char *s);
const char *alarm_cmp_name(enum alarm_cmp c);
/* "greater than or equal to", ... as state reasons say it. */
const char *alarm_cmp_words(enum alarm_cmp c);
int alarm_stat_parse(const char *s);
const char *alarm_stat_name(enum alarm_stat s);

/* An ExtendedStatistic percentile "p99", "p99.9", "p0.0" .. "p100" into *pct (0..100).
 * 0, or -EINVAL for anything else (trimmed means and other statistics are not percentiles). */
int alarm_percentile_parse(const char *s, double *pct);
/* True when value breaches threshold under c. */
bool alarm_breaches(enum alarm_cmp c, double value, double threshold);
/* True when count samples are too few for percentile pct (0..100): fewer than 10/(1-p) for
 * p in [0.5, 1), fewer than 10/p for p in (0, 0.5); never for p0 and p100. */
bool alarm_low_sample(double pct, double count);

/*
 * The evaluation of one alarm over its evaluation range (slots oldest first; each slot is
 * ALARM_DP_MISSING, ALARM_DP_OK or ALARM_DP_BREACHING), N = EvaluationPeriods and
 * M = DatapointsToAlarm, as CloudWatch does it: with at least N real datapoints in the range the
 * newest N are used and missing data plays no part; with fewer, every real datapoint counts and
 * gaps are filled per TreatMissingData only as many times as needed to make N. When nothing in the
 * range is real: missing -> INSUFFICIENT_DATA, ignore -> the current state, breaching -> ALARM,
 * notBreaching -> OK. With missing or ignore and too few real datapoints, the state follows the
 * real ones when they decide it (M breaching -> ALARM, any not breaching -> OK); when they are
 * all breaching but fewer than M, ignore keeps the state, and missing reports ALARM when the
 * newest N periods hold no data (the last real datapoints breached) and INSUFFICIENT_DATA
 * otherwise. See docs/alarms.md for the table this reproduces.
 */
enum { ALARM_DP_MISSING = -1, ALARM_DP_OK = 0, ALARM_DP_BREACHING = 1 };
#define ALARM_MAX_RANGE 1442   /* evaluation range slots: N <= 1440 (one day of minutes) + 2 */

struct alarm_verdict {
	enum alarm_state state;
	bool retained;             /* the state was kept (ignore) */
	int used[ALARM_MAX_RANGE]; /* slot indexes of the real datapoints evaluated, newest first */
	int n_used;
	int filled;                /* missing slots filled per TreatMissingData */
	int breaching;             /* breaching among those evaluated (filled included) */
	int evaluated;             /* N, or the real ones when fewer and no fill applies */
};
void alarm_decide(const signed char *slots, int range, int n, int m, enum alarm_missing tmd,
		  enum alarm_state current, struct alarm_verdict *v);

/* A number as CloudWatch prints it in reasons: "30.0", "99.56666666666666", "1.0E7". */
void alarm_fmt_number(double v, char *out, size_t len);
/* "07/03/25 08:29:00" (dd/MM/yy HH:mm:ss, UTC) as reasons say it. */
void alarm_fmt_reason_time(double t, char *out, size_t len);
/* "2019-11-22T15:43:51.730+0000" as StateReasonData and SNS messages say it. */
void alarm_fmt_cw_time(double t, char *out, size_t len);

/* ---- composite alarm rules ---------------------------------------------------------------- */

struct alarm_rule;

#define ALARM_RULE_MAX_LEN 10240
#define ALARM_RULE_MAX_DEPTH 64

/* Parses an AlarmRule: ALARM(x), OK(x), INSUFFICIENT_DATA(x) where x is an alarm name or ARN,
 * bare or in double quotes; TRUE, FALSE, NOT, AND, OR (NOT binds tightest, then AND, then OR),
 * parentheses. Returns 0 and a new rule (alarm_rule_free), or -EINVAL with e set (ValidationError
 * naming the position and what was expected). */
int alarm_rule_parse(const char *text, struct alarm_rule **out, struct berr *e);
void alarm_rule_free(struct alarm_rule *r);
/* The alarm references of r in order of appearance (borrowed, *n of them; names as written:
 * a name or an ARN). */
const char *const *alarm_rule_refs(const struct alarm_rule *r, size_t *n);
/* Evaluates r; state_of returns the state of a referenced alarm (-1 when it does not exist:
 * the term is then false). */
bool alarm_rule_eval(const struct alarm_rule *r, int (*state_of)(void *ctx, const char *ref),
		     void *ctx);

#endif
