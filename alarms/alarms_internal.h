/* SPDX-License-Identifier: MIT */
/* alarms_internal.h: what the files of the alarms module share (not part of its interface). */
#ifndef BERTH_ALARMS_INTERNAL_H
#define BERTH_ALARMS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "alarms/alarm_eval.h"
#include "alarms/alarms.h"
#include "collector/collector.h"

#define ALARM_HASH_SIZE 4096
#define ALARM_HISTORY_RETENTION (14 * 86400.0)
#define ALARM_HISTORY_MAX_ITEMS 500000
#define ALARM_RANGE_EXTRA 2          /* periods looked at beyond EvaluationPeriods */

enum alarm_hist_type { HIST_CONFIG, HIST_STATE, HIST_ACTION };

struct alarm {
	/* What the evaluation of a due alarm reads, together at the top (one or two cache
	 * lines; a pass reads the schedule, not the alarms that are not due). */
	struct alarm *next, *hnext;
	bool composite;
	bool actions_enabled;
	bool unit_mismatch;           /* Unit given and not the metric's: no datapoints */
	bool low_ignore;              /* EvaluateLowSampleCountPercentile ignore */
	unsigned period;
	double last_end;              /* end of the last evaluated period */
	uint64_t series_key;          /* a hash of the series, to evaluate its alarms together */
	const struct col_metric_info *metric;  /* NULL: not a series berth collects */
	struct alarm_feed *feed;      /* cached: valid while feed_epoch is the store's */
	uint64_t feed_epoch;
	enum col_kind kind;
	int stat;                     /* enum alarm_stat */
	double pct;                   /* ALARM_STAT_PERCENTILE */
	int n, m;
	double threshold;
	int cmp;                      /* enum alarm_cmp */
	int tmd;                      /* enum alarm_missing */
	enum alarm_state state;
	bool dirty;                   /* state to be written */
	char name[256];
	char arn[512];
	json_t *conf;                 /* configuration as DescribeAlarms shows it (no state) */
	double conf_updated;
	/* metric alarms */
	char cluster[256], dim_name[256], container[256];
	/* composite alarms */
	struct alarm_rule *rule;
	/* state */
	char *reason;
	char *reason_data;            /* JSON text or NULL */
	double state_updated, state_transitioned;
};

/* One evaluation range: per slot the statistic, its sample count, and whether it has one. */
struct range {
	int n;
	double start, period;
	double value[ALARM_MAX_RANGE], count[ALARM_MAX_RANGE];
	double sum[ALARM_MAX_RANGE], min[ALARM_MAX_RANGE], max[ALARM_MAX_RANGE];
	signed char slot[ALARM_MAX_RANGE];
	bool low[ALARM_MAX_RANGE];
};

/* One metric alarm in the schedule: no period of it ends before due (-INFINITY: not checked
 * since it was added, or since the clock stepped back). */
struct alarm_sched_entry {
	double due;
	struct alarm *al;
};

/* A feed: what the alarms on one (series, metric, period, percentile) read - the statistics of
 * its completed periods, computed once from the window and kept in a ring (alarm_feed.c). */
struct alarm_feed;

struct alarm_hist {
	double t;
	char *name;
	bool composite;
	enum alarm_hist_type type;
	char *summary;
	char *data;
};

struct alarms {
	const struct config *cfg;
	struct loop *loop;
	struct collector *collector;
	struct runtime *rt;
	struct alarm_actions *actions;
	struct alarm *list;
	struct alarm *hash[ALARM_HASH_SIZE];
	size_t n_metric, n_composite;
	char dir[600];                /* DATA_DIR/state/alarms */
	char hist_path[600];
	int hist_fd;
	bool hist_unsynced;
	struct alarm_hist *hist;      /* oldest first */
	size_t n_hist, cap_hist, hist_head;   /* items [hist_head, n_hist) are live */
	double next_prune;
	struct alarms_stats stats;
	double next_due;              /* no metric alarm is due before this */
	double last_now;              /* the previous pass's time */
	/* the metric alarms in series order with their next due time (alarm_sched.c) */
	struct alarm_sched_entry *sched;
	size_t n_sched, cap_sched;
	uint64_t sched_gen;           /* bumped when an entry is added or removed */
	/* evaluation scratch */
	struct range *range;
	struct alarm_verdict *verdict;
	double *vals;
	size_t cap_vals;
	bool in_eval;
	/* feeds (alarm_feed.c) */
	struct alarm_feed **feed_hash;
	size_t feed_buckets, n_feeds;
	struct alarm_feed **feed_list;  /* every feed, for the folds between boundaries */
	size_t cap_feed_list, fold_pos;
	uint64_t feed_epoch;          /* bumped when a feed is freed */
	double next_feed_gc;
	struct alarm_feed_stats {
		unsigned long long reads, periods_kept, periods_computed, samples_read;
	} feed_stats;
};

/* alarms.c */
struct alarm *alarms_find(struct alarms *a, const char *name);
/* Records a history item (the file is appended; synced by the caller or the pass). */
void alarms_history_add(struct alarms *a, const char *name, bool composite,
			enum alarm_hist_type type, const char *summary, json_t *data);
void alarms_history_sync(struct alarms *a);
/* Drops items older than two weeks (at most once an hour) and compacts the file. */
void alarms_history_maintain(struct alarms *a, double now);
/* Links a new alarm into the store; unlinks one. */
void alarms_link(struct alarms *a, struct alarm *al);
void alarms_unlink(struct alarms *a, struct alarm *al);
void alarms_free_alarm(struct alarm *al);
/* The path of an alarm's file. */
void alarms_path(const struct alarms *a, const char *name, char *out, size_t len);
/* Writes an alarm's file durably; 0 or -errno (logged). */
int alarms_save(struct alarms *a, struct alarm *al);
/* A state change: history, actions, file. reason_data is stolen (may be NULL). */
void alarms_transition(struct alarms *a, struct alarm *al, enum alarm_state to, const char *reason,
		       json_t *reason_data, double now);
/* Another period in ALARM: scaling actions run again. */
void alarms_repeat(struct alarms *a, struct alarm *al, double now);
/* Re-evaluates the composite alarms until nothing changes. */
void alarms_eval_composites(struct alarms *a, double now, const struct alarm *trigger);

/* alarm_model.c */
int alarm_model_metric(struct alarms *a, const json_t *req, struct alarm *out, bool check_arns,
		       struct berr *e);
int alarm_model_composite(struct alarms *a, const json_t *req, struct alarm *out, bool check_arns,
			  struct berr *e);
void alarm_model_clear(struct alarm *al);
/* The alarm as DescribeAlarms shows it (a new reference). */
json_t *alarm_model_describe(const struct alarm *al);
/* The actions of al for a state (borrowed array of strings, may be NULL). */
json_t *alarm_model_actions(const struct alarm *al, enum alarm_state s);

/* alarm_feed.c */
/* The feed al reads (found, or made; cached in al), or NULL when memory runs out. */
struct alarm_feed *alarm_feed_get(struct alarms *a, struct alarm *al);
/* Fills r (n slots of r->period from r->start, ending at end) with f's statistics: periods kept
 * from earlier reads are copied, the others are computed from the window (and kept once
 * complete). Percentile feeds set r->value. */
void alarm_feed_read(struct alarms *a, struct alarm_feed *f, double end, struct range *r);
/* Folds the samples of the last cycles into a share of the feeds that follow the window (all of
 * them before the collector seals a chunk), and starts following for feeds that do not yet. */
void alarm_feed_fold(struct alarms *a);
/* Frees the feeds no alarm read for three of their periods (at most once a minute). */
void alarm_feed_gc(struct alarms *a, double now);
/* Forgets every kept period (the clock stepped back). */
void alarm_feed_forget(struct alarms *a);
void alarm_feed_free_all(struct alarms *a);

/* alarm_sched.c */
/* Room for more entries: 0, or -ENOMEM and nothing changed. */
int alarm_sched_reserve(struct alarms *a, size_t more);
/* Adds al (a metric alarm) in series order, to be checked by the next pass; 0 or -ENOMEM. */
int alarm_sched_add(struct alarms *a, struct alarm *al);
void alarm_sched_remove(struct alarms *a, const struct alarm *al);
/* Every entry is checked by the next pass (the clock stepped back). */
void alarm_sched_recheck(struct alarms *a);
/* When al's next period ends (from its last evaluated period end). */
double alarm_sched_due(const struct alarm *al);
void alarm_sched_free(struct alarms *a);

/* alarm_cycle.c */
/* The end of the newest complete period of al at now (samples are at most half an interval late). */
double alarm_period_end(const struct alarms *a, const struct alarm *al, double now);
void alarm_eval_metric(struct alarms *a, struct alarm *al, double end, double now);

#endif
