/* SPDX-License-Identifier: MIT */
/* service.h: ECS services - desired count, deployments, circuit breaker, events, self-healing. */
#ifndef BERTH_SERVICE_H
#define BERTH_SERVICE_H

#include <jansson.h>
#include <stdbool.h>

#include "common/loop.h"
#include "common/util.h"
#include "runtime/runtime.h"

#define SVC_MAX_EVENTS 100
#define SVC_MAX_DEPLOYMENTS 8

struct rt_deployment {
	char id[48];                  /* "ecs-svc/<19 digits>", the tasks' startedBy */
	char status[16];              /* PRIMARY, ACTIVE, INACTIVE */
	char taskdef_arn[600];
	int desired_count;
	int failed_tasks;             /* for the circuit breaker */
	char rollout_state[16];       /* IN_PROGRESS, COMPLETED, FAILED */
	char rollout_reason[256];
	double created_at, updated_at;
	/* Counted on each reconcile, not stored. */
	int running_count, pending_count;
};

struct svc_event {
	char id[40];
	double created_at;
	char message[512];
};

struct rt_service {
	char name[256];
	char arn[600];
	char cluster[256];
	char status[16];              /* ACTIVE, DRAINING, INACTIVE */
	char taskdef_arn[600];
	char last_good_taskdef[600];  /* of the last COMPLETED deployment: rollbacks go there */
	int desired_count;
	int min_healthy_percent;
	int max_percent;
	bool breaker_enable, breaker_rollback;
	int health_grace;             /* healthCheckGracePeriodSeconds */
	char launch_type[16];
	json_t *capacity_strategy;    /* capacityProviderStrategy; NULL or [] = launchType alone */
	char propagate_tags[16];      /* NONE, SERVICE, TASK_DEFINITION */
	bool managed_tags;
	json_t *tags;
	double created_at;
	struct rt_deployment deployments[SVC_MAX_DEPLOYMENTS];
	int n_deployments;
	struct svc_event events[SVC_MAX_EVENTS]; /* ring, newest at events[(head-1) % MAX] */
	int n_events, event_head;
	/* Launch throttling of tasks that never start. */
	int start_failures;
	double next_launch_at;
	bool dirty;
	bool steady;                  /* the last state reported was a steady state */
	/* SHA-256 of the state file last written: the reconcile every second rewrites (and
	 * fsyncs) the file only when the state changed. All zero: not written yet. */
	unsigned char saved_sha[32];
	struct rt_service *next;
};

struct rt_services {
	struct runtime *rt;
	struct rt_service *list;
	struct loop_timer soon;       /* reconcile shortly after a change, outside callbacks */
	struct loop_timer tick;       /* and every second */
	char dir[600];
	double healthy_after;         /* seconds RUNNING before a task without checks is healthy */
};

/* Loads services from DATA_DIR/state/services and hooks into the runtime (task changes,
 * cluster deletion, tags). Returns 0 or -errno. */
int svc_init(struct rt_services *s, struct runtime *rt);
void svc_close(struct rt_services *s);

struct rt_service *svc_find(struct rt_services *s, const char *cluster, const char *name_or_arn);

/* CreateService from a decoded request; *out borrowed. 0 or -EINVAL with e filled. */
int svc_create(struct rt_services *s, struct rt_cluster *c, const json_t *rq,
	       struct rt_service **out, struct berr *e);
/* UpdateService: desiredCount, taskDefinition, forceNewDeployment, deploymentConfiguration,
 * healthCheckGracePeriodSeconds. */
int svc_update(struct rt_services *s, struct rt_service *svc, const json_t *rq, struct berr *e);
/* DeleteService: refused while desiredCount > 0 unless force. */
int svc_delete(struct rt_services *s, struct rt_service *svc, bool force, struct berr *e);
/* The DescribeServices shape; new reference. */
json_t *svc_json(struct rt_services *s, const struct rt_service *svc, bool with_tags);

/* Replaces one task: a service task is stopped (ServiceSchedulerInitiated, reason) and its
 * service starts the replacement; a standalone task is stopped and run again from the same
 * definition, overrides and tags. *replacement (may be NULL) gets the new standalone task. */
int svc_replace_task(struct rt_services *s, struct rt_task *t, const char *reason,
		     struct rt_task **replacement);

/* Runs the reconciler now for every dirty service (tests and the heal path). */
void svc_reconcile_all(struct rt_services *s);

#endif
