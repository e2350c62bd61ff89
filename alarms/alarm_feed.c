/* SPDX-License-Identifier: MIT */
/* alarm_feed.c: the datapoints alarms share. Per (series, metric, period, percentile) a feed
 * keeps the statistics of its completed periods in a ring: at a period boundary the alarms on
 * it read the one new period from the window once (mostly from the open chunk), every older one
 * comes from the ring, and every alarm on the same feed shares the result. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/alarms_internal.h"

#define FEED_BUCKETS 16384u           /* power of two */
#define FEED_NONE INT64_MIN

struct feed_slot {
	int64_t p;                    /* period number (start / period); FEED_NONE: empty */
	double count, sum, min, max, value;
};

struct alarm_feed {
	uint64_t key;
	enum col_kind kind;
	const struct col_metric_info *metric;
	unsigned period;
	double pct;                   /* percentile feeds; -1 for the others */
	char cluster[256], name[256], container[256];
	struct col_series *series;    /* resolved while the collector's counters are these */
	uint64_t made, freed;
	bool resolved;
	struct feed_slot *slots;      /* ring of cap slots, slot of period p at p % cap */
	size_t cap;
	double last_used;
	struct alarm_feed *hnext;
};

static double feed_pct(const struct alarm *al)
{
	return al->stat == ALARM_STAT_PERCENTILE ? al->pct : -1;
}

static uint64_t feed_key(const struct alarm *al)
{
	double pct = feed_pct(al);
	uint64_t k = al->series_key, pb;

	memcpy(&pb, &pct, sizeof(pb));
	k = (k ^ (uint64_t)(uintptr_t)al->metric) * 1099511628211ull;
	k = (k ^ al->period) * 1099511628211ull;
	k = (k ^ pb) * 1099511628211ull;
	k = (k ^ (uint64_t)al->kind) * 1099511628211ull;
	return k ^ (k >> 29);
}

static bool feed_is(const struct alarm_feed *f, const struct alarm *al, uint64_t key)
{
	return f->key == key && f->metric == al->metric && f->period == al->period &&
	       f->kind == al->kind && f->pct == feed_pct(al) && !strcmp(f->cluster, al->cluster) &&
	       !strcmp(f->name, al->dim_name) && !strcmp(f->container, al->container);
}

static void feed_free(struct alarm_feed *f)
{
	free(f->slots);
	free(f);
}

struct alarm_feed *alarm_feed_get(struct alarms *a, struct alarm *al)
{
	uint64_t key;
	struct alarm_feed *f;
	size_t h;

	if (al->feed && al->feed_epoch == a->feed_epoch)
		return al->feed;
	if (!a->feed_hash) {
		a->feed_hash = calloc(FEED_BUCKETS, sizeof(*a->feed_hash));
		if (!a->feed_hash)
			return NULL;
		a->feed_buckets = FEED_BUCKETS;
	}
	key = feed_key(al);
	h = key & (a->feed_buckets - 1);
	for (f = a->feed_hash[h]; f && !feed_is(f, al, key); f = f->hnext)
		;
	if (!f) {
		if (!(f = calloc(1, sizeof(*f))))
			return NULL;
		f->key = key;
		f->kind = al->kind;
		f->metric = al->metric;
		f->period = al->period;
		f->pct = feed_pct(al);
		memcpy(f->cluster, al->cluster, sizeof(f->cluster));
		memcpy(f->name, al->dim_name, sizeof(f->name));
		memcpy(f->container, al->container, sizeof(f->container));
		f->hnext = a->feed_hash[h];
		a->feed_hash[h] = f;
		a->n_feeds++;
	}
	al->feed = f;
	al->feed_epoch = a->feed_epoch;
	return f;
}

/* The ring holds at least n periods; growing it forgets what it held. */
static bool feed_reserve(struct alarm_feed *f, size_t n)
{
	struct feed_slot *s;

	if (f->cap >= n)
		return true;
	if (!(s = realloc(f->slots, n * sizeof(*s))))
		return false;
	f->slots = s;
	f->cap = n;
	for (size_t i = 0; i < n; i++)
		s[i].p = FEED_NONE;
	return true;
}

static struct col_series *feed_series(struct collector *c, struct alarm_feed *f)
{
	/* A kept pointer stays good until a series is freed; a missing one is looked up again
	 * only after a series was made. */
	if (f->resolved && (f->series ? f->freed == c->series_freed : f->made == c->series_made))
		return f->series;
	f->series = collector_series_find(c, f->kind, f->cluster,
					  f->kind == COL_CLUSTER ? NULL : f->name,
					  f->kind == COL_CONTAINER ? f->container : NULL);
	f->made = c->series_made;
	f->freed = c->series_freed;
	f->resolved = true;
	return f->series;
}

static int64_t period_of(double t, unsigned period)
{
	return (int64_t)floor(t / period);
}

/* Computes periods [p_lo, p_hi] of f from the window into the ring (slots of p_lo..p_hi are
 * reserved); a period is kept for later reads only when complete (complete_p and older). */
static void feed_compute(struct alarms *a, struct alarm_feed *f, int64_t p_lo, int64_t p_hi,
			 int64_t complete_p)
{
	struct collector *c = a->collector;
	struct col_series *s = feed_series(c, f);
	uint64_t lo = c->cycle >= c->cap ? c->cycle - c->cap + 1 : 1;
	double lo_t = (double)p_lo * f->period, hi_t = (double)(p_hi + 1) * f->period;
	const struct col_metric_info *m = f->metric;
	bool pct = f->pct >= 0, plain = m->den < 0;
	struct feed_slot *cur = NULL;
	size_t nv = 0;

	for (int64_t p = p_lo; p <= p_hi; p++) {
		struct feed_slot *sl = &f->slots[(uint64_t)p % f->cap];
		*sl = (struct feed_slot){ .p = p, .value = NAN };
	}
	if (s && s->first_cycle > lo)
		lo = s->first_cycle;
	/* Newest first, cycle by cycle (collector_value keeps the last unpacked chunk, so a walk
	 * unpacks each chunk once); the slot changes only when t crosses its start. */
	for (uint64_t k = c->cycle; s && k >= lo && k > 0; k--) {
		double t = c->ts[k % c->cap], v;
		if (t >= hi_t)
			continue;
		if (t < lo_t)
			break;
		if (plain)
			v = m->col < s->n_cols ? collector_value(c, s, k, m->col) : NAN;
		else
			v = collector_metric_value(c, s, m, k);
		a->feed_stats.samples_read++;
		if (isnan(v))
			continue;
		if (!cur || t < (double)cur->p * f->period) {
			if (cur && pct && nv)
				cur->value = collector_percentile(a->vals, nv, f->pct);
			nv = 0;
			cur = &f->slots[(uint64_t)period_of(t, f->period) % f->cap];
		}
		if (cur->count == 0)
			cur->min = cur->max = v;
		cur->count++;
		cur->sum += v;
		if (v < cur->min)
			cur->min = v;
		if (v > cur->max)
			cur->max = v;
		if (pct && nv < a->cap_vals)
			a->vals[nv++] = v;
	}
	if (cur && pct && nv)
		cur->value = collector_percentile(a->vals, nv, f->pct);
	for (int64_t p = complete_p + 1; p <= p_hi; p++)
		f->slots[(uint64_t)p % f->cap].p = FEED_NONE;   /* still open: not kept */
	a->feed_stats.periods_computed += (uint64_t)(p_hi - p_lo + 1);
}

void alarm_feed_read(struct alarms *a, struct alarm_feed *f, double end, struct range *r)
{
	struct collector *c = a->collector;
	int64_t p0 = period_of(r->start + f->period / 2.0, f->period), p_end = p0 + r->n - 1;
	int64_t lo = INT64_MAX, complete_p;
	double newest;

	f->last_used = end;
	a->feed_stats.reads++;
	if (!feed_reserve(f, (size_t)r->n + 1))
		return;
	/* Complete: the collector sampled past the period's end (samples are at most half an
	 * interval late), so no later sample falls into it. */
	newest = c->cycle ? c->ts[c->cycle % c->cap] : 0;
	complete_p = period_of(newest + c->interval / 2.0, f->period) - 1;
	for (int64_t p = p0; p <= p_end; p++) {
		if (f->slots[(uint64_t)p % f->cap].p != p) {
			lo = p;
			break;
		}
	}
	if (lo != INT64_MAX)
		feed_compute(a, f, lo, p_end, complete_p);
	a->feed_stats.periods_kept += (uint64_t)((lo == INT64_MAX ? p_end + 1 : lo) - p0);
	for (int b = 0; b < r->n; b++) {
		const struct feed_slot *sl = &f->slots[(uint64_t)(p0 + b) % f->cap];
		/* A slot that is not kept was just computed for this read (the ring is larger
		 * than the range, so nothing else took its place). */
		if (sl->count <= 0)
			continue;
		r->count[b] = sl->count;
		r->sum[b] = sl->sum;
		r->min[b] = sl->min;
		r->max[b] = sl->max;
		r->value[b] = sl->value;
	}
}

void alarm_feed_gc(struct alarms *a, double now)
{
	bool freed = false;

	if (now < a->next_feed_gc || !a->feed_hash)
		return;
	a->next_feed_gc = now + 60;
	for (size_t h = 0; h < a->feed_buckets; h++) {
		for (struct alarm_feed **pp = &a->feed_hash[h]; *pp;) {
			struct alarm_feed *f = *pp;
			if (f->last_used >= now - 3.0 * f->period - 120) {
				pp = &f->hnext;
				continue;
			}
			*pp = f->hnext;
			feed_free(f);
			a->n_feeds--;
			freed = true;
		}
	}
	if (freed)
		a->feed_epoch++;   /* alarms' cached pointers may name a freed feed */
}

void alarm_feed_forget(struct alarms *a)
{
	for (size_t h = 0; a->feed_hash && h < a->feed_buckets; h++)
		for (struct alarm_feed *f = a->feed_hash[h]; f; f = f->hnext)
			for (size_t i = 0; i < f->cap; i++)
				f->slots[i].p = FEED_NONE;
}

void alarm_feed_free_all(struct alarms *a)
{
	for (size_t h = 0; a->feed_hash && h < a->feed_buckets; h++) {
		while (a->feed_hash[h]) {
			struct alarm_feed *f = a->feed_hash[h];
			a->feed_hash[h] = f->hnext;
			feed_free(f);
		}
	}
	free(a->feed_hash);
	a->feed_hash = NULL;
	a->n_feeds = 0;
	a->feed_epoch++;
}
