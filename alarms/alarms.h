/* SPDX-License-Identifier: MIT */
/* alarms.h: CloudWatch-style metric and composite alarms - model, evaluation, history. */
#ifndef BERTH_ALARMS_H
#define BERTH_ALARMS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/config.h"
#include "common/loop.h"
#include "common/util.h"

struct collector;
struct runtime;
struct alarms;
struct alarm_actions;

/*
 * Alarms live in berthd's loop. Every metric alarm is evaluated right after the collector cycle
 * that completes one of its periods (collector_on_cycle), on the collector's window (RRD files
 * for ranges the window no longer holds), with CloudWatch's semantics: one datapoint per period,
 * M out of N, TreatMissingData, low-sample percentiles. Composite alarms follow the alarms their
 * rule names. Alarms and their state are kept in DATA_DIR/state/alarms/ (one durable file per
 * alarm), history in DATA_DIR/state/alarm-history.jsonl (two weeks).
 *
 * The operations take and return the CloudWatch API's request and response objects (member
 * names as in the API); errors are struct berr with CloudWatch's error codes (ValidationError,
 * InvalidParameterValue, InvalidParameterCombination, ResourceNotFound, LimitExceeded).
 */

/* Loads the alarms and history (a corrupt file is renamed *.corrupt and reported) and, when
 * collector is not NULL, starts evaluating on its cycles. 0 or -errno (logged); on error nothing
 * is left to close. */
int alarms_init(struct alarms **out, const struct config *cfg, struct loop *loop,
		struct collector *collector, struct runtime *rt);
/* Stops evaluating and frees everything; NULL is fine. State is already on disk. */
void alarms_close(struct alarms *a);
/* Sets (or clears, with NULL) the actions module: ARNs are checked with it at put time and state
 * changes dispatched to it. Without it, ARNs are checked for syntax only and nothing is issued. */
void alarms_set_actions(struct alarms *a, struct alarm_actions *actions);

/* PutMetricAlarm / PutCompositeAlarm: creates or replaces an alarm (a ConfigurationUpdate history
 * item). 0, or -EINVAL / -ENOSPC with e set; nothing changes on error. */
int alarms_put_metric_alarm(struct alarms *a, const json_t *request, struct berr *e);
int alarms_put_composite_alarm(struct alarms *a, const json_t *request, struct berr *e);
/* DescribeAlarms: a new {"MetricAlarms":[...],"CompositeAlarms":[...]} (and NextToken when a
 * page is full) into *out, or -EINVAL with e set. */
int alarms_describe(struct alarms *a, const json_t *request, json_t **out, struct berr *e);
/* One alarm as DescribeAlarms shows it (a new reference), or NULL when there is none. */
json_t *alarms_describe_one(struct alarms *a, const char *name, bool *composite);
/* DeleteAlarms of one name: 0, or -ENOENT (ResourceNotFound) / -EINVAL (an alarm that a
 * composite alarm's rule names) with e set. */
int alarms_delete(struct alarms *a, const char *name, struct berr *e);
/* DeleteAlarms: every name of request.AlarmNames; unknown names are skipped as CloudWatch does,
 * but a request naming none that exist answers ResourceNotFound. */
int alarms_delete_request(struct alarms *a, const json_t *request, struct berr *e);
/* SetAlarmState: sets the state until the next evaluation (actions run). 0 or -errno, e set. */
int alarms_set_state(struct alarms *a, const json_t *request, struct berr *e);
/* DescribeAlarmHistory: a new {"AlarmHistoryItems":[...], "NextToken"?} into *out. */
int alarms_history(struct alarms *a, const json_t *request, json_t **out, struct berr *e);
/* EnableAlarmActions / DisableAlarmActions on request.AlarmNames. 0 or -EINVAL with e set. */
int alarms_enable_actions(struct alarms *a, const json_t *request, bool enable, struct berr *e);

/* Records an Action history item (the actions module's deps.history callback; ctx is the
 * struct alarms). */
void alarms_history_action(void *ctx, const char *alarm_name, const char *summary,
			   const char *data_json);

/* Runs the evaluation of every alarm whose period ended by now (the collector's cycle observer
 * calls it; tests and benchmarks call it directly). */
void alarms_evaluate(struct alarms *a, double now);

/* Evaluation self-metrics. */
struct alarms_stats {
	unsigned long long evaluations;   /* metric alarm evaluations */
	unsigned long long cycles;        /* evaluation passes */
	unsigned long long transitions;   /* state changes */
	double last_cycle_seconds;        /* CPU time of the last pass */
	double max_cycle_seconds;
	size_t n_metric, n_composite;
};
void alarms_get_stats(const struct alarms *a, struct alarms_stats *out);

/* Appends the Prometheus text of berth_alarm_state and the evaluation self-metrics to a new
 * malloc'd string (the caller frees); NULL on allocation failure. */
char *alarms_prometheus(struct alarms *a);

#endif
