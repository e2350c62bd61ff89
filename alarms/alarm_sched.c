/* SPDX-License-Identifier: MIT */
/* alarm_sched.c: the metric alarms' schedule - one contiguous array, kept in series order, of
 * each alarm's next due time, so that a pass reads 16 bytes per alarm that is not due and
 * evaluates the due ones grouped by series without sorting them. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/alarms_internal.h"

/* The order alarms are evaluated in: the alarms of one series (and of one feed) together. */
static int sched_cmp(const struct alarm *p, const struct alarm *q)
{
	if (p->series_key != q->series_key)
		return (p->series_key > q->series_key) - (p->series_key < q->series_key);
	if (p->metric != q->metric)
		return (p->metric > q->metric) - (p->metric < q->metric);
	if (p->period != q->period)
		return (p->period > q->period) - (p->period < q->period);
	if (p->stat != q->stat)
		return (p->stat > q->stat) - (p->stat < q->stat);
	return (p->pct > q->pct) - (p->pct < q->pct);
}

/* The first entry not ordered before al. */
static size_t lower_bound(const struct alarms *a, const struct alarm *al)
{
	size_t lo = 0, hi = a->n_sched;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sched_cmp(a->sched[mid].al, al) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int alarm_sched_reserve(struct alarms *a, size_t more)
{
	struct alarm_sched_entry *s;
	size_t cap;

	if (a->n_sched + more <= a->cap_sched)
		return 0;
	cap = a->cap_sched ? a->cap_sched * 2 : 256;
	if (cap < a->n_sched + more)
		cap = a->n_sched + more;
	if (!(s = realloc(a->sched, cap * sizeof(*s))))
		return -ENOMEM;
	a->sched = s;
	a->cap_sched = cap;
	return 0;
}

int alarm_sched_add(struct alarms *a, struct alarm *al)
{
	size_t i;

	if (alarm_sched_reserve(a, 1) < 0)
		return -ENOMEM;
	/* Before its equals: the newest alarm of a series is evaluated first, as the list
	 * (newest first) and the stable sort of earlier versions did. */
	i = lower_bound(a, al);
	memmove(&a->sched[i + 1], &a->sched[i], (a->n_sched - i) * sizeof(*a->sched));
	/* Unchecked: the next pass looks at it whatever its last period end says. */
	a->sched[i] = (struct alarm_sched_entry){ .due = -INFINITY, .al = al };
	a->n_sched++;
	a->sched_gen++;
	a->next_due = -INFINITY;
	return 0;
}

void alarm_sched_remove(struct alarms *a, const struct alarm *al)
{
	for (size_t i = lower_bound(a, al); i < a->n_sched; i++) {
		if (a->sched[i].al != al)
			continue;
		memmove(&a->sched[i], &a->sched[i + 1], (a->n_sched - i - 1) * sizeof(*a->sched));
		a->n_sched--;
		a->sched_gen++;
		return;
	}
}

void alarm_sched_recheck(struct alarms *a)
{
	for (size_t i = 0; i < a->n_sched; i++)
		a->sched[i].due = -INFINITY;
	a->next_due = -INFINITY;
}

double alarm_sched_due(const struct alarm *al)
{
	/* The first period end after the last evaluated one (last_end is normally one). */
	return (floor(al->last_end / al->period) + 1) * al->period;
}

void alarm_sched_free(struct alarms *a)
{
	free(a->sched);
	a->sched = NULL;
	a->n_sched = a->cap_sched = 0;
}
