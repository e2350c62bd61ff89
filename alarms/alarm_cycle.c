/* SPDX-License-Identifier: MIT */
/* alarm_cycle.c: evaluation at period boundaries - datapoints from the collector, the verdict,
 * CloudWatch's state reasons, transitions and actions, composite alarms, self-metrics. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alarms/actions.h"
#include "alarms/alarms_internal.h"
#include "common/log.h"

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double alarm_period_end(const struct alarms *a, const struct alarm *al, double now)
{
	double half = a->collector ? a->collector->interval / 2.0 : 0;

	return floor((now + half) / al->period) * al->period;
}

/* Older than the window: the RRD file's consolidated rows (no percentiles there). */
static int from_rrd(struct alarms *a, const struct alarm *al, double end, struct range *r)
{
	struct col_query q = { .metric = al->metric, .kind = al->kind, .cluster = al->cluster,
			       .name = al->kind == COL_CLUSTER ? NULL : al->dim_name,
			       .container = al->kind == COL_CONTAINER ? al->container : NULL,
			       .start = r->start, .end = end, .period = al->period };
	struct col_datapoint *dp = NULL;
	size_t n = 0;
	bool rrd;
	int ret = collector_query(a->collector, &q, &dp, &n, &rrd);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		int b = (int)floor((dp[i].t - r->start) / r->period + 0.5);
		if (b < 0 || b >= r->n || dp[i].count <= 0)
			continue;
		r->count[b] = dp[i].count;
		r->sum[b] = dp[i].sum;
		r->min[b] = dp[i].min;
		r->max[b] = dp[i].max;
	}
	free(dp);
	return 0;
}

static void fetch(struct alarms *a, struct alarm *al, double end, struct range *r)
{
	struct collector *c = a->collector;
	struct alarm_feed *f;
	uint64_t oldest;

	if (!c || !al->metric || al->unit_mismatch || !(al->metric->kinds & (1u << al->kind)))
		return;
	/* A range older than the window (a long one, or a daemon just restarted) is read from the
	 * RRD file, which the collector brings up to date first; percentages and families have no
	 * file, and a task too new for one has all its samples in the window. */
	oldest = c->cycle >= c->cap ? c->cycle - c->cap + 1 : 1;
	if ((!c->cycle || r->start < c->ts[oldest % c->cap] - c->interval) && al->metric->den < 0 &&
	    al->kind != COL_FAMILY && al->stat != ALARM_STAT_PERCENTILE && from_rrd(a, al, end, r) == 0)
		return;
	if (c->cycle && (f = alarm_feed_get(a, al)))
		alarm_feed_read(a, f, end, r);
}

static double stat_of(const struct alarm *al, const struct range *r, int b)
{
	switch (al->stat) {
	case ALARM_STAT_SAMPLE_COUNT: return r->count[b];
	case ALARM_STAT_AVERAGE: return r->sum[b] / r->count[b];
	case ALARM_STAT_SUM: return r->sum[b];
	case ALARM_STAT_MINIMUM: return r->min[b];
	case ALARM_STAT_MAXIMUM: return r->max[b];
	default: return r->value[b];
	}
}

static const char *stat_label(const struct alarm *al)
{
	const char *s = json_string_value(json_object_get(al->conf, "Statistic"));

	return s ? s : json_string_value(json_object_get(al->conf, "ExtendedStatistic"));
}

/* "v (dd/mm/yy HH:MM:SS), ..." of the used datapoints that are (or are not) breaching. */
static void list_points(const struct alarm *al, const struct range *r,
			const struct alarm_verdict *v, bool breaching, char *out, size_t len)
{
	size_t pos = 0;

	out[0] = '\0';
	for (int i = 0; i < v->n_used && pos + 64 < len; i++) {
		int b = v->used[i];
		char num[40], t[32];
		if ((r->slot[b] == ALARM_DP_BREACHING) != breaching)
			continue;
		alarm_fmt_number(r->value[b], num, sizeof(num));
		alarm_fmt_reason_time(r->start + b * r->period, t, sizeof(t));
		pos += (size_t)snprintf(out + pos, len - pos, "%s%s (%s)", pos ? ", " : "", num, t);
	}
	(void)al;
}

static void reason_text(const struct alarm *al, const struct range *r,
			const struct alarm_verdict *v, char *out, size_t len)
{
	bool alarm = v->state == ALARM_STATE_ALARM;
	int count = alarm ? v->breaching : v->evaluated - v->breaching;
	int min = alarm ? al->m : al->n - al->m + 1;
	int real_count = 0;
	char pts[640], th[40], fill[120] = "";

	if (v->state == ALARM_STATE_INSUFFICIENT) {
		snprintf(out, len, "Insufficient Data: %d datapoint%s %s unknown.", al->n,
			 al->n == 1 ? "" : "s", al->n == 1 ? "was" : "were");
		return;
	}
	alarm_fmt_number(al->threshold, th, sizeof(th));
	if (v->filled && v->n_used == 0) {
		snprintf(out, len, "Threshold Crossed: no datapoints were received for %d period%s "
			 "and %d missing datapoint%s %s treated as [%s].", v->filled,
			 v->filled == 1 ? "" : "s", v->filled, v->filled == 1 ? "" : "s",
			 v->filled == 1 ? "was" : "were",
			 al->tmd == ALARM_MISSING_BREACHING ? "Breaching" : "NonBreaching");
		return;
	}
	for (int i = 0; i < v->n_used; i++)
		real_count += (r->slot[v->used[i]] == ALARM_DP_BREACHING) == alarm;
	list_points(al, r, v, alarm, pts, sizeof(pts));
	if (v->filled && ((al->tmd == ALARM_MISSING_BREACHING) == alarm))
		snprintf(fill, sizeof(fill), " and %d missing datapoint%s %s treated as [%s]",
			 v->filled, v->filled == 1 ? "" : "s", v->filled == 1 ? "was" : "were",
			 alarm ? "Breaching" : "NonBreaching");
	if (v->evaluated == 1 && count == 1 && !v->filled)
		snprintf(out, len, "Threshold Crossed: 1 datapoint [%s] was %s%s the threshold (%s).",
			 pts, alarm ? "" : "not ", alarm_cmp_words(al->cmp), th);
	else
		snprintf(out, len, "Threshold Crossed: %d out of the last %d datapoints [%s] %s "
			 "%s%s the threshold (%s)%s (minimum %d datapoint%s for %s transition).",
			 real_count, v->evaluated, pts, real_count == 1 ? "was" : "were",
			 alarm ? "" : "not ", alarm_cmp_words(al->cmp), th, fill, min,
			 min == 1 ? "" : "s", alarm ? "OK -> ALARM" : "ALARM -> OK");
	(void)count;
}

static json_t *reason_data(const struct alarm *al, const struct range *r,
			   const struct alarm_verdict *v, double now)
{
	json_t *recent = json_array(), *evald = json_array();
	char q[40], s[40];

	for (int i = v->n_used - 1; i >= 0; i--)
		json_array_append_new(recent, json_real(r->value[v->used[i]]));
	for (int i = 0; i < v->n_used; i++) {
		int b = v->used[i];
		char t[40];
		alarm_fmt_cw_time(r->start + b * r->period, t, sizeof(t));
		json_array_append_new(evald, json_pack("{s:s, s:f, s:f}", "timestamp", t,
						       "sampleCount", r->count[b], "value",
						       r->value[b]));
	}
	alarm_fmt_cw_time(now, q, sizeof(q));
	alarm_fmt_cw_time(r->start + (r->n - al->n) * r->period, s, sizeof(s));
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:f, s:o}", "version", "1.0", "queryDate",
			 q, "startDate", s, "statistic", stat_label(al), "period", (int)al->period,
			 "recentDatapoints", recent, "threshold", al->threshold,
			 "evaluatedDatapoints", evald);
}

/* The range scratch, cleared for the slots this alarm uses only (it is large). */
static struct range *range_get(struct alarms *a, int n)
{
	struct range *r;

	if (!a->range && !(a->range = malloc(sizeof(struct range))))
		return NULL;
	if (!a->verdict && !(a->verdict = malloc(sizeof(struct alarm_verdict))))
		return NULL;
	r = a->range;
	r->n = n;
	for (int b = 0; b < n; b++) {
		r->value[b] = r->count[b] = r->sum[b] = r->min[b] = r->max[b] = 0;
		r->low[b] = false;
	}
	return r;
}

void alarm_eval_metric(struct alarms *a, struct alarm *al, double end, double now)
{
	struct range *r;
	struct alarm_verdict *v;
	char reason[1024];
	bool low = false;

	if (a->collector && a->cap_vals < a->collector->cap + 1) {
		free(a->vals);
		a->vals = malloc((a->collector->cap + 1) * sizeof(*a->vals));
		a->cap_vals = a->vals ? a->collector->cap + 1 : 0;
	}
	if (!(r = range_get(a, al->n + ALARM_RANGE_EXTRA)))
		return;
	r->period = al->period;
	r->start = end - r->n * r->period;
	fetch(a, al, end, r);
	v = a->verdict;
	al->last_end = end;
	for (int b = 0; b < r->n; b++) {
		r->slot[b] = ALARM_DP_MISSING;
		if (r->count[b] <= 0)
			continue;
		r->value[b] = stat_of(al, r, b);
		if (isnan(r->value[b]))
			continue;
		r->slot[b] = alarm_breaches(al->cmp, r->value[b], al->threshold)
			     ? ALARM_DP_BREACHING : ALARM_DP_OK;
		r->low[b] = al->stat == ALARM_STAT_PERCENTILE && alarm_low_sample(al->pct, r->count[b]);
		low = low || (r->low[b] && b >= r->n - al->n);
	}
	a->stats.evaluations++;
	if (low && al->low_ignore)
		goto same;   /* too few samples for this percentile: the state stays */
	alarm_decide(r->slot, r->n, al->n, al->m, al->tmd, al->state, v);
	if (v->retained || v->state == al->state)
		goto same;
	reason_text(al, r, v, reason, sizeof(reason));
	alarms_transition(a, al, v->state, reason,
			  v->state == ALARM_STATE_INSUFFICIENT ? NULL : reason_data(al, r, v, now), now);
	return;
same:
	if (al->state == ALARM_STATE_ALARM)
		alarms_repeat(a, al, now);
}

/* ---- transitions and actions --------------------------------------------------------------- */

static void dispatch(struct alarms *a, struct alarm *al, enum alarm_state old, bool repeat,
		     double now)
{
	json_t *arns, *desc, *v;
	const char *list[8];
	size_t n = 0, i;

	if (!al->actions_enabled || !a->actions)
		return;
	arns = alarm_model_actions(al, al->state);
	if (!json_array_size(arns))
		return;
	json_array_foreach(arns, i, v)
		if (n < ARRAY_SIZE(list))
			list[n++] = json_string_value(v);
	desc = alarm_model_describe(al);
	struct alarm_event ev = {
		.alarm_name = al->name, .alarm_arn = al->arn, .old_state = alarm_state_name(old),
		.new_state = alarm_state_name(al->state), .reason = al->reason ? al->reason : "",
		.reason_data = al->reason_data, .timestamp = repeat ? now : al->state_updated,
		.alarm = desc, .composite = al->composite, .repeat = repeat,
	};
	actions_dispatch(a->actions, &ev, list, n);
	json_decref(desc);
}

static json_t *state_json(enum alarm_state s, const char *reason, const char *data)
{
	json_t *o = json_pack("{s:s, s:s}", "stateValue", alarm_state_name(s), "stateReason",
			      reason ? reason : "");
	json_t *d = data ? json_loads(data, JSON_DECODE_ANY, NULL) : NULL;

	if (d)
		json_object_set_new(o, "stateReasonData", d);
	return o;
}

void alarms_transition(struct alarms *a, struct alarm *al, enum alarm_state to, const char *reason,
		       json_t *reason_data, double now)
{
	enum alarm_state old = al->state;
	char *data = reason_data ? json_dumps(reason_data, JSON_COMPACT) : NULL, summary[160];
	json_t *h;

	json_decref(reason_data);
	if (old == to) {
		free(al->reason);
		al->reason = strdup(reason);
		free(al->reason_data);
		al->reason_data = data;
		al->state_updated = now;
		alarms_save(a, al);
		return;
	}
	h = json_pack("{s:s, s:o, s:o}", "version", "1.0", "oldState",
		      state_json(old, al->reason, al->reason_data), "newState",
		      state_json(to, reason, data));
	snprintf(summary, sizeof(summary), "Alarm updated from %s to %s", alarm_state_name(old),
		 alarm_state_name(to));
	alarms_history_add(a, al->name, al->composite, HIST_STATE, summary, h);
	free(al->reason);
	al->reason = strdup(reason);
	free(al->reason_data);
	al->reason_data = data;
	al->state = to;
	al->state_updated = al->state_transitioned = now;
	a->stats.transitions++;
	alarms_save(a, al);
	dispatch(a, al, old, false, now);
}

void alarms_repeat(struct alarms *a, struct alarm *al, double now)
{
	dispatch(a, al, al->state, true, now);
}

/* ---- composite alarms ---------------------------------------------------------------------- */

static const char *ref_name(const char *ref)
{
	const char *p = strncmp(ref, "arn:", 4) == 0 ? strstr(ref, ":alarm:") : NULL;

	return p ? p + 7 : ref;
}

static int state_of(void *ctx, const char *ref)
{
	struct alarm *al = alarms_find(ctx, ref_name(ref));

	return al ? (int)al->state : -1;
}

static void composite_reason(struct alarms *a, const struct alarm *c, bool value, char *out,
			     size_t len, json_t **data)
{
	size_t n;
	const char *const *refs = alarm_rule_refs(c->rule, &n);
	struct alarm *trig = NULL;
	char when[80], ts[40];
	time_t t;
	struct tm tm;

	for (size_t i = 0; i < n; i++) {
		struct alarm *al = alarms_find(a, ref_name(refs[i]));
		if (al && (!trig || al->state_transitioned > trig->state_transitioned))
			trig = al;
	}
	*data = NULL;
	if (!trig) {
		snprintf(out, len, "The alarm rule evaluated to %s.", value ? "TRUE" : "FALSE");
		return;
	}
	t = (time_t)trig->state_transitioned;
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%A %d %B, %Y %H:%M:%S UTC", &tm);
	snprintf(out, len, "%s transitioned to %s at %s", trig->arn, alarm_state_name(trig->state),
		 when);
	alarm_fmt_cw_time(trig->state_transitioned, ts, sizeof(ts));
	*data = json_pack("{s:[{s:s, s:{s:s, s:s}}]}", "triggeringAlarms", "arn", trig->arn,
			  "state", "value", alarm_state_name(trig->state), "timestamp", ts);
}

void alarms_eval_composites(struct alarms *a, double now, const struct alarm *trigger)
{
	(void)trigger;
	if (!a->n_composite)
		return;
	for (size_t iter = 0; iter <= a->n_composite; iter++) {
		bool changed = false;
		for (struct alarm *c = a->list; c; c = c->next) {
			bool value;
			enum alarm_state to;
			char reason[1024];
			json_t *data;
			if (!c->composite || !c->rule)
				continue;
			value = alarm_rule_eval(c->rule, state_of, a);
			to = value ? ALARM_STATE_ALARM : ALARM_STATE_OK;
			if (to == c->state)
				continue;
			composite_reason(a, c, value, reason, sizeof(reason), &data);
			alarms_transition(a, c, to, reason, data, now);
			changed = true;
		}
		if (!changed)
			break;
	}
}

/* ---- the pass ------------------------------------------------------------------------------ */

/* Evaluates every metric alarm whose period ended. The schedule is in series order, so the
 * alarms of one series (and of one feed) come together and read its window slots while they are
 * in the cache; an entry that is not due is skipped without reading its alarm. */
static void evaluate_due(struct alarms *a, double now)
{
	double half = a->collector ? a->collector->interval / 2.0 : 0, next;
	uint64_t gen;

again:
	next = INFINITY;
	gen = a->sched_gen;
	for (size_t i = 0; i < a->n_sched; i++) {
		struct alarm_sched_entry *e = &a->sched[i];
		struct alarm *al;
		double end;
		/* A margin: the exact test below decides (floor() of a division). */
		if (e->due > now + half + 1e-3) {
			next = e->due < next ? e->due : next;
			continue;
		}
		if (i + 4 < a->n_sched)
			__builtin_prefetch(a->sched[i + 4].al);
		al = e->al;
		end = alarm_period_end(a, al, now);
		if (end + al->period < al->last_end)
			al->last_end = 0;   /* evaluated "in the future" before a clock step */
		if (end > al->last_end)
			alarm_eval_metric(a, al, end, now);
		if (gen != a->sched_gen)
			goto again;         /* an action changed the alarms: what is done is not due */
		e->due = alarm_sched_due(al);
		next = e->due < next ? e->due : next;
	}
	a->next_due = next;
	alarm_feed_gc(a, now);
}

void alarms_evaluate(struct alarms *a, double now)
{
	double t0 = cpu_seconds(), dt;
	unsigned long long before = a->stats.transitions;

	a->in_eval = true;
	if (now < a->last_now - 1) {
		alarm_sched_recheck(a);   /* the clock stepped back: look at every alarm */
		alarm_feed_forget(a);
	}
	a->last_now = now;
	alarm_feed_fold(a);
	/* Nothing is due before the earliest end of a next period: most passes stop here. */
	if (now + (a->collector ? a->collector->interval / 2.0 : 0) + 1e-3 >= a->next_due)
		evaluate_due(a, now);
	if (a->stats.transitions != before)
		alarms_eval_composites(a, now, NULL);
	a->in_eval = false;
	alarms_history_sync(a);
	alarms_history_maintain(a, now);
	dt = cpu_seconds() - t0;
	a->stats.cycles++;
	a->stats.last_cycle_seconds = dt;
	if (dt > a->stats.max_cycle_seconds)
		a->stats.max_cycle_seconds = dt;
}

/* ---- Prometheus ---------------------------------------------------------------------------- */

static void put_label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f), fputc(*s, f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

char *alarms_prometheus(struct alarms *a)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fputs("# HELP berth_alarm_state State of an alarm: 1 for its current state, 0 for the "
	      "others.\n# TYPE berth_alarm_state gauge\n", f);
	for (struct alarm *al = a->list; al; al = al->next) {
		for (int s = 0; s < ALARM_STATE_N; s++) {
			fputs("berth_alarm_state{alarm=\"", f);
			put_label(f, al->name);
			fprintf(f, "\",state=\"%s\"} %d\n", alarm_state_name(s), (int)al->state == s);
		}
	}
	fprintf(f, "# HELP berth_alarms Alarms defined.\n# TYPE berth_alarms gauge\n"
		"berth_alarms{type=\"metric\"} %zu\nberth_alarms{type=\"composite\"} %zu\n"
		"# HELP berth_alarm_evaluations_total Metric alarm evaluations.\n"
		"# TYPE berth_alarm_evaluations_total counter\nberth_alarm_evaluations_total %llu\n"
		"# HELP berth_alarm_evaluation_cycles_total Evaluation passes (one per collector "
		"cycle).\n# TYPE berth_alarm_evaluation_cycles_total counter\n"
		"berth_alarm_evaluation_cycles_total %llu\n"
		"# HELP berth_alarm_transitions_total Alarm state changes.\n"
		"# TYPE berth_alarm_transitions_total counter\nberth_alarm_transitions_total %llu\n"
		"# HELP berth_alarm_last_cycle_seconds CPU seconds of the last evaluation pass.\n"
		"# TYPE berth_alarm_last_cycle_seconds gauge\nberth_alarm_last_cycle_seconds %.6f\n"
		"# HELP berth_alarm_max_cycle_seconds Longest evaluation pass, CPU seconds.\n"
		"# TYPE berth_alarm_max_cycle_seconds gauge\nberth_alarm_max_cycle_seconds %.6f\n",
		a->n_metric, a->n_composite, a->stats.evaluations, a->stats.cycles,
		a->stats.transitions, a->stats.last_cycle_seconds, a->stats.max_cycle_seconds);
	fprintf(f, "# HELP berth_alarm_feeds Datapoint feeds the alarms share (one per series, "
		"metric, period and percentile).\n# TYPE berth_alarm_feeds gauge\n"
		"berth_alarm_feeds %zu\n"
		"# HELP berth_alarm_feed_periods_total Periods the alarms read: kept in the feed's "
		"ring (from an earlier read, or folded in between), or computed from the window.\n"
		"# TYPE berth_alarm_feed_periods_total counter\n"
		"berth_alarm_feed_periods_total{source=\"kept\"} %llu\n"
		"berth_alarm_feed_periods_total{source=\"computed\"} %llu\n"
		"# HELP berth_alarm_feed_samples_total Window samples read for alarm datapoints "
		"(by reads and folds).\n"
		"# TYPE berth_alarm_feed_samples_total counter\nberth_alarm_feed_samples_total %llu\n",
		a->n_feeds, a->feed_stats.periods_kept, a->feed_stats.periods_computed,
		a->feed_stats.samples_read);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
