/* SPDX-License-Identifier: MIT */
/* alarms_internal.h: what the files of the alarms module share (not part of its interface). */
#ifndef BERTH_ALARMS_INTERNAL_H
#define BERTH_ALARMS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

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
	char name[256];
	char arn[512];
	bool composite;
	json_t *conf;                 /* configuration as DescribeAlarms shows it (no state) */
	double conf_updated;
	bool actions_enabled;
	/* metric alarms */
	const struct col_metric_info *metric;  /* NULL: not a series berth collects */
	enum col_kind kind;
	char cluster[256], dim_name[256], container[256];
	int stat;                     /* enum alarm_stat */
	double pct;                   /* ALARM_STAT_PERCENTILE */
	bool low_ignore;              /* EvaluateLowSampleCountPercentile ignore */
	bool unit_mismatch;           /* Unit given and not the metric's: no datapoints */
	unsigned period;
	int n, m;
	double threshold;
	int cmp;                      /* enum alarm_cmp */
	int tmd;                      /* enum alarm_missing */
	/* composite alarms */
	struct alarm_rule *rule;
	/* state */
	enum alarm_state state;
	char *reason;
	char *reason_data;            /* JSON text or NULL */
	double state_updated, state_transitioned;
	double last_end;              /* end of the last evaluated period */
	bool dirty;                   /* state to be written */
	struct alarm *next, *hnext;
};

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
	/* evaluation scratch */
	double *vals;
	size_t cap_vals;
	bool in_eval;
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

/* alarm_cycle.c */
/* The end of the newest complete period of al at now (samples are at most half an interval late). */
double alarm_period_end(const struct alarms *a, const struct alarm *al, double now);
void alarm_eval_metric(struct alarms *a, struct alarm *al, double end, double now);

#endif
