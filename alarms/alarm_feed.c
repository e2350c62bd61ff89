/* SPDX-License-Identifier: MIT */
/* alarm_feed.c: the datapoints alarms share. Per (series, metric, period, percentile) a feed
 * keeps the statistics of its periods in a ring, every alarm on the same feed shares them, and a
 * feed that was read follows the window: the passes between period boundaries fold the new
 * samples into the ring a few cycles at a time (from the collector's open chunk), so that at a
 * boundary the alarms find their periods complete and read nothing from the window. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/alarms_internal.h"

#define FEED_BUCKETS 16384u           /* power of two */
#define FEED_NONE INT64_MIN
#define FEED_INLINE_SLOTS 7           /* a ring for up to five evaluation periods */
#define FOLD_SPREAD 8                 /* passes a round of folding every feed takes */
#define FOLD_PCT_MAX 4096             /* percentile feeds follow periods of at most this many
				       * samples (their values are kept until the period ends) */

struct feed_slot {
	int64_t p;                    /* period number (start / period); FEED_NONE: empty */
	double count, sum, min, max, value;
};

struct alarm_feed {
	/* What a fold reads, together at the top (a fold visits every feed, most of them for a
	 * few samples each). Following the window: the samples of cycles up to folded are in the
	 * ring, the periods not yet complete included (0: not following - a read computes from
	 * the window). */
	uint64_t folded;
	double folded_t;              /* the time of cycle folded */
	struct feed_slot *slots;      /* ring of cap slots, slot of period p at p % cap */
	size_t cap;
	struct col_series *fold_series;
	const struct col_metric_info *metric;
	unsigned period;
	double pct;                   /* percentile feeds; -1 for the others */
	struct col_series *series;    /* resolved while the collector's counters are these */
	uint64_t made, freed;
	bool resolved;
	double *pv;                   /* percentile feeds: the samples of period pv_p so far */
	size_t n_pv, cap_pv;
	int64_t pv_p;
	/* the rest */
	uint64_t key, series_key;
	enum col_kind kind;
	double last_used;
	struct alarm_feed *hnext;
	/* the dimensions, in one allocation (dims) so that the feeds stay small */
	const char *cluster, *name, *container;
	char *dims;
	struct feed_slot inline_slots[FEED_INLINE_SLOTS];   /* the ring when it is this small */
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
	free(f->pv);
	if (f->slots != f->inline_slots)
		free(f->slots);
	free(f->dims);
	free(f);
}

/* The feeds in series order (then by key): a round of folds reads each series' newest rows
 * once for all its feeds. The list has room. */
static void list_insert(struct alarms *a, struct alarm_feed *f)
{
	size_t lo = 0, hi = a->n_feeds;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct alarm_feed *g = a->feed_list[mid];
		if (g->series_key < f->series_key || (g->series_key == f->series_key &&
						      g->key < f->key))
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&a->feed_list[lo + 1], &a->feed_list[lo], (a->n_feeds - lo) * sizeof(f));
	a->feed_list[lo] = f;
}

static void list_remove(struct alarms *a, const struct alarm_feed *f)
{
	for (size_t i = 0; i < a->n_feeds; i++) {
		if (a->feed_list[i] != f)
			continue;
		memmove(&a->feed_list[i], &a->feed_list[i + 1],
			(a->n_feeds - i - 1) * sizeof(f));
		return;
	}
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
		if (a->n_feeds == a->cap_feed_list) {
			size_t cap = a->cap_feed_list ? a->cap_feed_list * 2 : 256;
			struct alarm_feed **l = realloc(a->feed_list, cap * sizeof(*l));
			if (!l)
				return NULL;
			a->feed_list = l;
			a->cap_feed_list = cap;
		}
		size_t lc = strlen(al->cluster) + 1, ln = strlen(al->dim_name) + 1;
		size_t lk = strlen(al->container) + 1;
		if (!(f = calloc(1, sizeof(*f))))
			return NULL;
		if (!(f->dims = malloc(lc + ln + lk))) {
			free(f);
			return NULL;
		}
		memcpy(f->dims, al->cluster, lc);
		memcpy(f->dims + lc, al->dim_name, ln);
		memcpy(f->dims + lc + ln, al->container, lk);
		f->cluster = f->dims;
		f->name = f->dims + lc;
		f->container = f->dims + lc + ln;
		f->pv_p = FEED_NONE;
		f->series_key = al->series_key;
		f->key = key;
		list_insert(a, f);
		f->kind = al->kind;
		f->metric = al->metric;
		f->period = al->period;
		f->pct = feed_pct(al);
		f->hnext = a->feed_hash[h];
		a->feed_hash[h] = f;
		a->n_feeds++;
	}
	al->feed = f;
	al->feed_epoch = a->feed_epoch;
	return f;
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

/* Complete: the collector sampled past the period's end (samples are at most half an interval
 * late), so no later sample falls into it. The newest complete period at cycle k. */
static int64_t complete_at(const struct collector *c, double newest, unsigned period)
{
	return period_of(newest + c->interval / 2.0, period) - 1;
}

/* Stops following: the periods that were not complete are forgotten (a read computes them). */
static void feed_unfollow(struct alarms *a, struct alarm_feed *f)
{
	int64_t complete_p = complete_at(a->collector, f->folded_t, f->period);

	for (size_t i = 0; i < f->cap; i++)
		if (f->slots[i].p != FEED_NONE && f->slots[i].p > complete_p)
			f->slots[i].p = FEED_NONE;
	f->folded = 0;
	f->fold_series = NULL;
	f->n_pv = 0;
	f->pv_p = FEED_NONE;
}

/* A feed may follow the window: percentile feeds keep a period's samples, so not for periods
 * of more than FOLD_PCT_MAX (or the window's) samples. */
static bool feed_can_follow(const struct alarms *a, const struct alarm_feed *f)
{
	const struct collector *c = a->collector;
	double n = (double)f->period / c->interval + 2;

	return f->pct < 0 || (n <= FOLD_PCT_MAX && n <= (double)a->cap_vals);
}

/* Sets the value of the percentile feed's period pv_p from its samples. */
static void pct_finish(struct alarm_feed *f)
{
	struct feed_slot *sl;

	if (f->pv_p == FEED_NONE || !f->n_pv)
		return;
	sl = &f->slots[(uint64_t)f->pv_p % f->cap];
	if (sl->p == f->pv_p)
		sl->value = collector_percentile(f->pv, f->n_pv, f->pct);
}

/* Folds cycle k of series s (NULL: none) into the ring; false when it cannot (time went back,
 * too many samples for a percentile period, no memory): the feed stops following. */
static bool fold_cycle(struct alarms *a, struct alarm_feed *f, struct col_series *s, uint64_t k,
		       double t)
{
	struct collector *c = a->collector;
	const struct col_metric_info *m = f->metric;
	int64_t p = period_of(t, f->period);
	struct feed_slot *sl = &f->slots[(uint64_t)p % f->cap];
	double v;

	if (f->pct >= 0 && p != f->pv_p) {
		if (f->pv_p != FEED_NONE && p < f->pv_p)
			return false;
		pct_finish(f);
		f->pv_p = p;
		f->n_pv = 0;
	}
	if (sl->p != p) {
		if (sl->p != FEED_NONE && sl->p > p)
			return false;
		*sl = (struct feed_slot){ .p = p, .value = NAN };
	}
	if (!s || k < s->first_cycle)
		return true;
	if (m->den < 0)
		v = m->col < s->n_cols ? collector_value(c, s, k, m->col) : NAN;
	else
		v = collector_metric_value(c, s, m, k);
	a->feed_stats.samples_read++;
	if (isnan(v))
		return true;
	if (sl->count == 0)
		sl->min = sl->max = v;
	sl->count++;
	sl->sum += v;
	if (v < sl->min)
		sl->min = v;
	if (v > sl->max)
		sl->max = v;
	if (f->pct >= 0) {
		if (f->n_pv >= a->cap_vals)
			return false;
		if (f->n_pv == f->cap_pv) {
			size_t cap = f->cap_pv ? f->cap_pv * 2 : (size_t)(f->period / c->interval) + 2;
			double *pv = cap <= FOLD_PCT_MAX ? realloc(f->pv, cap * sizeof(*pv)) : NULL;
			if (!pv)
				return false;
			f->pv = pv;
			f->cap_pv = cap;
		}
		f->pv[f->n_pv++] = v;
		sl->value = NAN;   /* set when the period ends, or when a read asks */
	}
	return true;
}

/* A following feed takes in the cycles sampled since it last did. */
static void feed_catch_up(struct alarms *a, struct alarm_feed *f)
{
	struct collector *c = a->collector;
	struct col_series *s;

	if (!f->folded || f->folded >= c->cycle)
		return;
	s = feed_series(c, f);
	/* Another series than the one folded (freed, or made again), or samples gone from the
	 * window: what a read computes from the window could differ. */
	if ((s != f->fold_series && (f->fold_series || (s && s->first_cycle <= f->folded))) ||
	    c->cycle - f->folded >= c->cap) {
		feed_unfollow(a, f);
		return;
	}
	f->fold_series = s;
	for (uint64_t k = f->folded + 1, ti = k % c->cap; k <= c->cycle; k++) {
		double t = c->ts[ti];
		if (!fold_cycle(a, f, s, k, t)) {
			feed_unfollow(a, f);
			return;
		}
		f->folded = k;
		f->folded_t = t;
		if (++ti == c->cap)
			ti = 0;
	}
}

/* The ring holds at least n periods; growing it forgets what it held. */
static bool feed_reserve(struct alarm_feed *f, size_t n)
{
	struct feed_slot *s;

	if (f->cap >= n)
		return true;
	if (n <= FEED_INLINE_SLOTS) {
		s = f->inline_slots;
	} else {
		if (!(s = realloc(f->slots == f->inline_slots ? NULL : f->slots, n * sizeof(*s))))
			return false;
	}
	f->slots = s;
	f->cap = n;
	for (size_t i = 0; i < n; i++)
		s[i].p = FEED_NONE;
	f->folded = 0;
	f->fold_series = NULL;
	f->n_pv = 0;
	f->pv_p = FEED_NONE;
	return true;
}



/* The percentile of a computed period from its nv samples in a->vals; the newest period of a
 * feed that starts following keeps its samples for the folds that add to it. */
static bool pct_close(struct alarms *a, struct alarm_feed *f, struct feed_slot *sl, size_t nv,
		      bool keep)
{
	bool ok = true;

	if (keep) {
		double *pv = nv > f->cap_pv && nv <= FOLD_PCT_MAX ? realloc(f->pv, nv * sizeof(*pv))
								 : f->pv;
		ok = pv && nv <= FOLD_PCT_MAX;
		if (ok) {
			if (nv > f->cap_pv)
				f->cap_pv = nv;
			f->pv = pv;
			memcpy(f->pv, a->vals, nv * sizeof(*pv));
			f->n_pv = nv;
		}
	}
	sl->value = collector_percentile(a->vals, nv, f->pct);
	return ok;
}

/* Closes a computed period from its nv samples in a->vals, newest first: the sum is taken
 * oldest first, in the order the folds add samples, so that a period folded and the same period
 * computed are the same to the last bit; percentiles as pct_close. */
static bool period_close(struct alarms *a, struct alarm_feed *f, struct feed_slot *sl, size_t nv,
			 bool keep)
{
	double sum = 0;

	for (size_t i = nv; i-- > 0;)
		sum += a->vals[i];
	sl->sum = sum;
	return f->pct < 0 || pct_close(a, f, sl, nv, keep);
}

/* Computes periods [p_lo, p_hi] of f from the window into the ring (slots of p_lo..p_hi are
 * reserved). A period is kept for later reads only when complete (complete_p and older), or
 * when the feed follows the window from now on (follow: p_hi is the newest sample's period or
 * later, and the folds that come add to it). */
static void feed_compute(struct alarms *a, struct alarm_feed *f, int64_t p_lo, int64_t p_hi,
			 int64_t complete_p, bool follow)
{
	struct collector *c = a->collector;
	struct col_series *s = feed_series(c, f);
	uint64_t lo = c->cycle >= c->cap ? c->cycle - c->cap + 1 : 1;
	double lo_t = (double)p_lo * f->period, hi_t = (double)(p_hi + 1) * f->period;
	int64_t p_new = period_of(c->ts[c->cycle % c->cap], f->period);
	const struct col_metric_info *m = f->metric;
	bool pct = f->pct >= 0, plain = m->den < 0;
	struct feed_slot *cur = NULL;
	size_t nv = 0;

	for (int64_t p = p_lo; p <= p_hi; p++) {
		struct feed_slot *sl = &f->slots[(uint64_t)p % f->cap];
		*sl = (struct feed_slot){ .p = p, .value = NAN };
	}
	if (follow) {
		f->n_pv = 0;
		f->pv_p = pct ? p_new : FEED_NONE;
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
			if (cur && nv && !period_close(a, f, cur, nv, follow && cur->p == p_new))
				follow = false;
			nv = 0;
			cur = &f->slots[(uint64_t)period_of(t, f->period) % f->cap];
		}
		if (cur->count == 0)
			cur->min = cur->max = v;
		cur->count++;
		if (v < cur->min)
			cur->min = v;
		if (v > cur->max)
			cur->max = v;
		if (nv < a->cap_vals)
			a->vals[nv++] = v;
	}
	if (cur && nv && !period_close(a, f, cur, nv, follow && cur->p == p_new))
		follow = false;
	for (int64_t p = complete_p + 1; !follow && !f->folded && p <= p_hi; p++)
		f->slots[(uint64_t)p % f->cap].p = FEED_NONE;   /* still open: not kept */
	if (follow) {
		f->folded = c->cycle;
		f->folded_t = c->ts[c->cycle % c->cap];
		f->fold_series = s;
	} else if (pct && !f->folded) {
		f->n_pv = 0;
		f->pv_p = FEED_NONE;
	}
	a->feed_stats.periods_computed += (uint64_t)(p_hi - p_lo + 1);
}

/* Starts following the window when the feed can: computes what its next read needs, the open
 * period included (in a pass between boundaries, so that the boundary finds it done). */
static void feed_start(struct alarms *a, struct alarm_feed *f)
{
	struct collector *c = a->collector;
	int64_t p_new, lo;

	if (f->folded || f->cap < 3 || !c->cycle || !feed_can_follow(a, f))
		return;
	p_new = period_of(c->ts[c->cycle % c->cap], f->period);
	lo = p_new - (int64_t)f->cap + 3;
	while (lo < p_new && f->slots[(uint64_t)lo % f->cap].p == lo)
		lo++;
	feed_compute(a, f, lo, p_new, complete_at(c, c->ts[c->cycle % c->cap], f->period), true);
}

void alarm_feed_read(struct alarms *a, struct alarm_feed *f, double end, struct range *r)
{
	struct collector *c = a->collector;
	int64_t p0 = period_of(r->start + f->period / 2.0, f->period), p_end = p0 + r->n - 1;
	int64_t lo = INT64_MAX, p_new, p_hi;

	f->last_used = end;
	a->feed_stats.reads++;
	/* The range and the newest sample's period after it (a feed that follows keeps both). */
	if (!feed_reserve(f, (size_t)r->n + 2))
		return;
	feed_catch_up(a, f);
	for (int64_t p = p0; p <= p_end; p++) {
		if (f->slots[(uint64_t)p % f->cap].p != p) {
			lo = p;
			break;
		}
	}
	if (lo != INT64_MAX) {
		/* From the window; reaching the newest sample's period, the feed follows from
		 * now on (when it does not yet). */
		bool follow = false;
		p_new = period_of(c->ts[c->cycle % c->cap], f->period);
		p_hi = p_end;
		if (!f->folded && p_new <= p_end + 1 && feed_can_follow(a, f)) {
			follow = true;
			p_hi = p_new > p_end ? p_new : p_end;
		}
		feed_compute(a, f, lo, p_hi, complete_at(c, c->ts[c->cycle % c->cap], f->period), follow);
	}
	a->feed_stats.periods_kept += (uint64_t)((lo == INT64_MAX ? p_end + 1 : lo) - p0);
	/* The percentile of a period still open: of its samples so far. */
	if (f->folded && f->pct >= 0 && f->n_pv && f->pv_p >= p0 && f->pv_p <= p_end) {
		struct feed_slot *sl = &f->slots[(uint64_t)f->pv_p % f->cap];
		memcpy(a->vals, f->pv, f->n_pv * sizeof(*f->pv));
		if (sl->p == f->pv_p)
			sl->value = collector_percentile(a->vals, f->n_pv, f->pct);
	}
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

void alarm_feed_fold(struct alarms *a)
{
	struct collector *c = a->collector;
	size_t n;

	if (!c || !c->cycle || !a->n_feeds)
		return;
	/* Before the collector seals its open chunk, every feed takes in its cycles: the folds
	 * read the open chunk only (a sealed one is unpacked to be read). */
	if ((c->cycle + 1) % COL_CHUNK == 0)
		n = a->n_feeds;
	else
		n = (a->n_feeds + FOLD_SPREAD - 1) / FOLD_SPREAD;
	for (size_t i = 0; i < n; i++) {
		struct alarm_feed *f;
		if (a->fold_pos >= a->n_feeds)
			a->fold_pos = 0;
		/* The feeds are apart in memory: their top lines, then their rings, ahead. */
		if (a->fold_pos + 4 < a->n_feeds)
			__builtin_prefetch(a->feed_list[a->fold_pos + 4]);
		if (a->fold_pos + 2 < a->n_feeds)
			__builtin_prefetch(a->feed_list[a->fold_pos + 2]->slots);
		f = a->feed_list[a->fold_pos++];
		if (f->folded)
			feed_catch_up(a, f);
		else
			feed_start(a, f);
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
			list_remove(a, f);
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
		{
			for (size_t i = 0; i < f->cap; i++)
				f->slots[i].p = FEED_NONE;
			f->folded = 0;
			f->fold_series = NULL;
			f->n_pv = 0;
			f->pv_p = FEED_NONE;
		}
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
	free(a->feed_list);
	a->feed_list = NULL;
	a->n_feeds = a->cap_feed_list = a->fold_pos = 0;
	a->feed_epoch++;
}
