/* SPDX-License-Identifier: MIT */
/* actions.h: what an alarm does when its state changes. The evaluator (alarms/alarm*.c) decides
 * when; this module (alarms/actions*.c, webhook*.c, scaling*.c) decides how: webhook deliveries
 * through the durable outbox, task replacement and service scaling. */
#ifndef BERTH_ALARMS_ACTIONS_H
#define BERTH_ALARMS_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/config.h"
#include "common/loop.h"
#include "common/util.h"

struct runtime;
struct rt_services;
struct collector;
struct alarms;
struct alarm_actions;

/* One state change (or, with repeat, one more period in the same state) of one alarm. */
struct alarm_event {
	const char *alarm_name;
	const char *alarm_arn;
	const char *old_state;        /* "OK", "ALARM" or "INSUFFICIENT_DATA" */
	const char *new_state;
	const char *reason;           /* StateReason, CloudWatch's wording */
	const char *reason_data;      /* StateReasonData (JSON text) or NULL */
	double timestamp;             /* StateUpdatedTimestamp, unix seconds with milliseconds */
	const json_t *alarm;          /* the alarm as DescribeAlarms shows it (a MetricAlarms[] or
				       * CompositeAlarms[] element), borrowed for the call */
	bool composite;
	bool repeat;                  /* state unchanged: the alarm stayed in it for another period
				       * (scaling policies act again; webhooks do not) */
};

/* Records an "Action" history item of an alarm (DescribeAlarmHistory HistoryItemType Action). */
typedef void (*alarm_history_fn)(void *ctx, const char *alarm_name, const char *summary,
				 const char *data_json);

struct alarm_actions_deps {
	const struct config *cfg;
	struct loop *loop;
	struct runtime *rt;
	struct rt_services *services;
	struct collector *collector;  /* may be NULL */
	struct alarms *alarms;        /* the evaluator, for alarms that target tracking manages */
	alarm_history_fn history;
	void *history_ctx;
	/* Target tracking's managed alarms, through the evaluator (alarms_put_metric_alarm and
	 * alarms_delete); NULL: target tracking policies are refused. */
	int (*put_metric_alarm)(struct alarms *al, const json_t *request, struct berr *e);
	int (*delete_alarm)(struct alarms *al, const char *name, struct berr *e);
};

/* Loads the webhook endpoints, scaling policies and the outbox (DATA_DIR/outbox), and resumes
 * pending deliveries. 0 or -errno (logged); on error nothing is left to close. */
int actions_init(struct alarm_actions **out, const struct alarm_actions_deps *deps);
/* Stops delivering (what is pending stays in the outbox) and frees everything; NULL is fine. */
void actions_close(struct alarm_actions *a);

/* Checks an action ARN at PutMetricAlarm / PutCompositeAlarm time: 0, or -EINVAL with e set
 * (ValidationError naming the ARN). Known kinds:
 *   arn:aws:sns:REGION:ACCOUNT:NAME                        a webhook endpoint (must exist)
 *   arn:aws:autoscaling:REGION:ACCOUNT:scalingPolicy:...   a scaling policy (must exist)
 *   arn:aws:automate:REGION:ecs:replace-task               replace the breaching task(s) */
int actions_validate_arn(struct alarm_actions *a, const char *arn, struct berr *e);

/* Issues the actions for ev: arns are the alarm's actions for ev->new_state, called only when
 * ActionsEnabled. Webhook deliveries are in the durable outbox before this returns. Outcomes are
 * recorded through deps->history. Returns the number of actions issued. */
int actions_dispatch(struct alarm_actions *a, const struct alarm_event *ev,
		     const char *const *arns, size_t n);

/* ---- webhook endpoints (REST /v1/webhooks) ------------------------------------------------ */

/* Creates or replaces the endpoint described by rq ({name, url, format, secret, previousSecret,
 * headers, enabled}); durable before it returns. *out (new reference) is the endpoint as GET
 * shows it, secrets left out. 0, or -EINVAL with e set (nothing changed). */
int actions_webhook_put(struct alarm_actions *a, const json_t *rq, json_t **out, struct berr *e);
/* {"webhooks": [...]} with counters and recent deliveries; new reference. */
json_t *actions_webhook_list(struct alarm_actions *a);
/* One endpoint (new reference) or NULL when there is none by that name. */
json_t *actions_webhook_get(struct alarm_actions *a, const char *name);
/* {"deliveries": [...], "pending": [...]} of one endpoint, or NULL when unknown. */
json_t *actions_webhook_deliveries(struct alarm_actions *a, const char *name);
/* Removes an endpoint; what is pending for it moves to DATA_DIR/outbox/dead. 0, or -ENOENT
 * with e set. */
int actions_webhook_delete(struct alarm_actions *a, const char *name, struct berr *e);
/* Queues a test notification to one endpoint; *out (new reference) names its webhook-id.
 * 0, or -ENOENT / -EIO with e set. */
int actions_webhook_test(struct alarm_actions *a, const char *name, json_t **out,
			 struct berr *e);

/* The webhook and action counters in Prometheus text format: *buf (NULL on entry) becomes a
 * malloc'd NUL-terminated string of *len bytes the caller frees. 0 or -ENOMEM (*buf freed). */
int actions_metrics_render(struct alarm_actions *a, char **buf, size_t *len);

/* ---- service scaling (Application Auto Scaling, REST /v1/scaling) ------------------------- */

/* Runs one Application Auto Scaling operation (RegisterScalableTarget,
 * DescribeScalableTargets, DeregisterScalableTarget, PutScalingPolicy,
 * DescribeScalingPolicies, DeleteScalingPolicy, DescribeScalingActivities) on its request
 * shape. 0 and *out (new reference, the response shape), or -EINVAL / -ENOENT with e set
 * (ValidationException, ObjectNotFoundException, ...) and nothing changed. */
int actions_scaling_call(struct alarm_actions *a, const char *operation, const json_t *rq,
			 json_t **out, struct berr *e);

#endif
