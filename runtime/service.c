/* SPDX-License-Identifier: MIT */
/* service.c: the service scheduler - reconciles desired and running tasks within the
 * deployment configuration, rolls deployments, trips the circuit breaker, throttles launches. */
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "runtime/service.h"
#include "runtime/service_internal.h"
#include "runtime/taskdef.h"

#define THROTTLE_AFTER 3          /* consecutive failed starts before launches are delayed */
#define THROTTLE_MAX 900.0        /* seconds, as ECS: at most 15 minutes */

void svc_event(struct rt_service *svc, const char *fmt, ...)
{
	struct svc_event *ev = &svc->events[svc->event_head];
	va_list ap;

	id_uuid(ev->id);
	ev->created_at = time_now();
	va_start(ap, fmt);
	vsnprintf(ev->message, sizeof(ev->message), fmt, ap);
	va_end(ap);
	svc->event_head = (svc->event_head + 1) % SVC_MAX_EVENTS;
	if (svc->n_events < SVC_MAX_EVENTS)
		svc->n_events++;
	log_info("service: %s", ev->message);
}

/* The newest event, or NULL. */
static const struct svc_event *last_event(const struct rt_service *svc)
{
	if (svc->n_events == 0)
		return NULL;
	return &svc->events[(svc->event_head + SVC_MAX_EVENTS - 1) % SVC_MAX_EVENTS];
}

/* Adds an event unless the newest one says the same (ECS does not repeat itself). */
static void svc_event_once(struct rt_service *svc, const char *msg)
{
	const struct svc_event *ev = last_event(svc);

	if (!ev || strcmp(ev->message, msg) != 0)
		svc_event(svc, "%s", msg);
}

struct rt_deployment *svc_deployment(struct rt_service *svc, const char *id)
{
	for (int i = 0; i < svc->n_deployments; i++)
		if (strcmp(svc->deployments[i].id, id) == 0)
			return &svc->deployments[i];
	return NULL;
}

static bool is_service_task(const struct rt_service *svc, const struct rt_task *t)
{
	return strcmp(t->cluster, svc->cluster) == 0 && strncmp(t->group, "service:", 8) == 0 &&
	       strcmp(t->group + 8, svc->name) == 0;
}

/* Healthy: RUNNING and HEALTHY by its checks, or without checks RUNNING for healthy_after. */
enum task_health { TH_PENDING, TH_STARTING, TH_HEALTHY, TH_UNHEALTHY };

static enum task_health task_health(const struct rt_services *s, const struct rt_service *svc,
				    const struct rt_task *t, double now)
{
	if (strcmp(t->last_status, "RUNNING") != 0)
		return TH_PENDING;
	if (!strcmp(t->health_status, "UNHEALTHY") && now - t->started_at >= svc->health_grace)
		return TH_UNHEALTHY;
	if (!strcmp(t->health_status, "HEALTHY"))
		return TH_HEALTHY;
	if (t->td && svc_task_has_checks(t->td))
		return TH_STARTING;
	return now - t->started_at >= s->healthy_after ? TH_HEALTHY : TH_STARTING;
}

/* The tasks a service has that are meant to run, with their health. */
struct view {
	struct rt_task *task[512];
	enum task_health health[512];
	struct rt_deployment *dep[512];
	int n, healthy, unhealthy;
};

static void view_build(struct rt_services *s, struct rt_service *svc, struct view *v)
{
	double now = time_now();

	memset(v, 0, sizeof(*v));
	for (int i = 0; i < svc->n_deployments; i++)
		svc->deployments[i].running_count = svc->deployments[i].pending_count = 0;
	for (struct rt_task *t = s->rt->tasks; t && v->n < 512; t = t->next) {
		struct rt_deployment *d;
		if (!is_service_task(svc, t) || strcmp(t->desired_status, "RUNNING") != 0)
			continue;
		d = svc_deployment(svc, t->started_by);
		v->task[v->n] = t;
		v->dep[v->n] = d;
		v->health[v->n] = task_health(s, svc, t, now);
		v->healthy += v->health[v->n] == TH_HEALTHY;
		/* A healthy task of the current deployment ends launch throttling. */
		if (v->health[v->n] == TH_HEALTHY && d == &svc->deployments[0]) {
			svc->start_failures = 0;
			svc->next_launch_at = 0;
		}
		v->unhealthy += v->health[v->n] == TH_UNHEALTHY;
		if (d && v->health[v->n] == TH_PENDING)
			d->pending_count++;
		else if (d)
			d->running_count++;
		v->n++;
	}
}

static void stop_task(struct rt_services *s, struct rt_service *svc, struct rt_task *t,
		      const char *reason)
{
	svc->steady = false;
	rt_task_stop(s->rt, t, "ServiceSchedulerInitiated", reason);
	svc_event(svc, "(service %s) has stopped 1 running tasks: (task %s).", svc->name, t->id);
}

static int start_tasks(struct rt_services *s, struct rt_service *svc, struct rt_deployment *d,
		       int count)
{
	struct rt_cluster *c = rt_cluster_find(s->rt, svc->cluster);
	struct taskdef *td = rt_taskdef_find(s->rt, d->taskdef_arn, NULL);
	struct rt_task **list = NULL;
	const char *providers[10] = { NULL };
	char group[300], ids[1024] = "";
	json_t *tags;
	struct berr e;
	int started = 0;

	if (!c || !td || count <= 0)
		return 0;
	count = count > 10 ? 10 : count;
	snprintf(group, sizeof(group), "service:%s", svc->name);
	if (json_array_size(svc->capacity_strategy) > 0) {
		/* Spread over the strategy's providers counting the service's live tasks. */
		int have[20] = { 0 };
		size_t k;
		json_t *it;
		for (struct rt_task *t = s->rt->tasks; t; t = t->next) {
			if (strcmp(t->cluster, c->name) || strcmp(t->group, group) ||
			    !strcmp(t->last_status, "STOPPED") || !strcmp(t->desired_status, "STOPPED"))
				continue;
			json_array_foreach(svc->capacity_strategy, k, it)
				if (k < 20 && !strcmp(t->capacity_provider,
					json_string_value(json_object_get(it, "capacityProvider")) ?: ""))
					have[k]++;
		}
		for (int i = 0; i < count; i++)
			providers[i] = rt_capacity_pick(svc->capacity_strategy, have);
	}
	tags = svc_task_tags(s, svc, td);
	if (rt_task_run(s->rt, c, td, NULL, d->id, group, tags, svc->launch_type,
			json_array_size(svc->capacity_strategy) > 0 ? providers : NULL, count, &list,
			&e) < 0) {
		svc_event(svc, "(service %s) was unable to place a task: %s", svc->name, e.message);
		json_decref(tags);
		return 0;
	}
	json_decref(tags);
	for (int i = 0; i < count && list[i]; i++) {
		size_t len = strlen(ids);
		snprintf(ids + len, sizeof(ids) - len, "%s(task %s)", started ? " " : "",
			 list[i]->id);
		started++;
	}
	free(list);
	svc->steady = false;
	svc_event(svc, "(service %s) has started %d tasks: %s.", svc->name, started, ids);
	return started;
}

/* Starts what the primary deployment lacks, within maximumPercent. */
static void scale_up(struct rt_services *s, struct rt_service *svc, struct view *v,
		     int max_total)
{
	struct rt_deployment *p = &svc->deployments[0];
	int have = 0, need, room;
	char msg[512];

	for (int i = 0; i < v->n; i++)
		if (v->dep[i] == p && v->health[i] != TH_UNHEALTHY)
			have++;
	need = p->desired_count - have;
	room = max_total - v->n;
	if (need <= 0 || !strcmp(p->rollout_state, "FAILED"))
		return;
	if (svc->start_failures >= THROTTLE_AFTER && time_now() < svc->next_launch_at) {
		snprintf(msg, sizeof(msg),
			 "(service %s) is unable to consistently start tasks successfully. For more "
			 "information, see the Troubleshooting section of the Amazon ECS Developer "
			 "Guide.", svc->name);
		svc_event_once(svc, msg);
		return;
	}
	if (room <= 0) {
		/* No room: an unhealthy task goes first, its replacement follows. */
		for (int i = 0; i < v->n; i++) {
			if (v->health[i] == TH_UNHEALTHY) {
				svc_event(svc, "(service %s) (task %s) failed container health checks.",
					  svc->name, v->task[i]->id);
				stop_task(s, svc, v->task[i], "Task failed container health checks");
				return;
			}
		}
		snprintf(msg, sizeof(msg),
			 "(service %s) was unable to stop or start tasks during a deployment because "
			 "of the service deployment configuration. Update the minimumHealthyPercent "
			 "or maximumPercent value and try again.", svc->name);
		if (v->n > 0 && v->healthy <= (int)ceil(svc->desired_count *
							  svc->min_healthy_percent / 100.0))
			svc_event_once(svc, msg);
		return;
	}
	start_tasks(s, svc, p, need < room ? need : room);
}

/* Stops old-deployment, unhealthy and surplus tasks while keeping minimumHealthyPercent. */
static void scale_down(struct rt_services *s, struct rt_service *svc, struct view *v,
		       int min_healthy)
{
	struct rt_deployment *p = &svc->deployments[0];
	int primary_ok = 0, healthy = v->healthy;

	for (int i = 0; i < v->n; i++)
		if (v->dep[i] == p && v->health[i] != TH_UNHEALTHY)
			primary_ok++;
	/* Unhealthy tasks: replaced first; stopped once the primary has its count. */
	for (int i = 0; i < v->n; i++) {
		if (v->health[i] != TH_UNHEALTHY || primary_ok < p->desired_count)
			continue;
		svc_event(svc, "(service %s) (task %s) failed container health checks.", svc->name,
			  v->task[i]->id);
		stop_task(s, svc, v->task[i], "Task failed container health checks");
		v->health[i] = TH_PENDING;
		v->task[i] = NULL;
	}
	/* Tasks of older deployments: pending ones at once, healthy ones within the minimum. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < v->n; i++) {
			bool is_healthy;
			if (!v->task[i] || v->dep[i] == p)
				continue;
			is_healthy = v->health[i] == TH_HEALTHY;
			if (pass == 0 && is_healthy)
				continue;
			if (is_healthy && healthy - 1 < min_healthy)
				continue;
			stop_task(s, svc, v->task[i], svc_stop_reason(p));
			healthy -= is_healthy;
			v->task[i] = NULL;
		}
	}
	/* Scale-in: surplus primary tasks, the ones not yet running first. */
	for (int pass = 0; pass < 2 && primary_ok > p->desired_count; pass++) {
		for (int i = v->n - 1; i >= 0 && primary_ok > p->desired_count; i--) {
			if (!v->task[i] || v->dep[i] != p || v->health[i] == TH_UNHEALTHY)
				continue;
			if (pass == 0 && v->health[i] == TH_HEALTHY)
				continue;
			stop_task(s, svc, v->task[i], svc_stop_reason(p));
			v->task[i] = NULL;
			primary_ok--;
		}
	}
}

/* Retires empty old deployments, completes the rollout, reports a steady state. */
static void settle(struct rt_services *s, struct rt_service *svc)
{
	struct rt_deployment *p = &svc->deployments[0];
	struct view v;
	char msg[512];

	view_build(s, svc, &v);
	for (int i = svc->n_deployments - 1; i >= 1; i--) {
		struct rt_deployment *d = &svc->deployments[i];
		if (d->running_count + d->pending_count > 0)
			continue;
		memmove(d, d + 1, sizeof(*d) * (size_t)(svc->n_deployments - i - 1));
		svc->n_deployments--;
	}
	if (svc->n_deployments != 1 || v.n != p->desired_count || v.healthy != v.n)
		return;
	if (!strcmp(p->rollout_state, "IN_PROGRESS")) {
		snprintf(p->rollout_state, sizeof(p->rollout_state), "COMPLETED");
		snprintf(p->rollout_reason, sizeof(p->rollout_reason),
			 "ECS deployment %s completed.", p->id);
		p->updated_at = time_now();
		snprintf(svc->last_good_taskdef, sizeof(svc->last_good_taskdef), "%s",
			 p->taskdef_arn);
		svc_event(svc, "(service %s) (deployment %s) deployment completed.", svc->name,
			  p->id);
	}
	if (!svc->steady && !strcmp(p->rollout_state, "COMPLETED")) {
		svc->steady = true;
		snprintf(msg, sizeof(msg), "(service %s) has reached a steady state.", svc->name);
		svc_event_once(svc, msg);
	}
}

static void reconcile(struct rt_services *s, struct rt_service *svc)
{
	struct view v;
	int max_total, min_healthy;

	if (!strcmp(svc->status, "INACTIVE"))
		return;
	if (!strcmp(svc->status, "DRAINING")) {
		view_build(s, svc, &v);
		for (int i = 0; i < v.n; i++)
			stop_task(s, svc, v.task[i], "Service is being deleted");
		if (v.n == 0) {
			snprintf(svc->status, sizeof(svc->status), "INACTIVE");
			svc_save(s, svc);
		}
		return;
	}
	max_total = (int)floor(svc->desired_count * svc->max_percent / 100.0);
	min_healthy = (int)ceil(svc->desired_count * svc->min_healthy_percent / 100.0);
	if (max_total < svc->desired_count && svc->min_healthy_percent < 100)
		max_total = svc->desired_count;
	view_build(s, svc, &v);
	scale_down(s, svc, &v, min_healthy);
	view_build(s, svc, &v);
	scale_up(s, svc, &v, max_total < 1 && svc->desired_count > 0 ? 1 : max_total);
	settle(s, svc);
	svc_save(s, svc);
}

void svc_reconcile_all(struct rt_services *s)
{
	for (struct rt_service *svc = s->list; svc; svc = svc->next) {
		if (!svc->dirty)
			continue;
		svc->dirty = false;
		reconcile(s, svc);
	}
}

/* The circuit breaker: a deployment fails after threshold failed tasks, and rolls back. */
static void breaker_count(struct rt_services *s, struct rt_service *svc, struct rt_deployment *d)
{
	int threshold = (int)ceil(0.5 * d->desired_count);
	char old_id[48];

	if (threshold < 3)
		threshold = 3;
	if (threshold > 200)
		threshold = 200;
	d->failed_tasks++;
	if (!svc->breaker_enable || strcmp(d->rollout_state, "IN_PROGRESS") != 0 ||
	    d != &svc->deployments[0] || d->failed_tasks < threshold)
		return;
	snprintf(d->rollout_state, sizeof(d->rollout_state), "FAILED");
	snprintf(d->rollout_reason, sizeof(d->rollout_reason),
		 "ECS deployment circuit breaker: tasks failed to start.");
	d->updated_at = time_now();
	svc_event(svc, "(service %s) (deployment %s) deployment failed: tasks failed to start.",
		  svc->name, d->id);
	if (!svc->breaker_rollback || !svc->last_good_taskdef[0])
		return;
	snprintf(old_id, sizeof(old_id), "%s", d->id);
	svc_new_deployment(s, svc, svc->last_good_taskdef);
	svc_event(svc, "(service %s) rolling back to deployment %s.", svc->name,
		  svc->deployments[0].id);
	(void)old_id;
}

/* Told of every task change by the runtime. */
static void on_task(struct runtime *rt, struct rt_task *t, void *data)
{
	struct rt_services *s = data;
	struct rt_service *svc;
	struct rt_deployment *d;

	(void)rt;
	if (strncmp(t->group, "service:", 8) != 0)
		return;
	svc = svc_find(s, t->cluster, t->group + 8);
	if (!svc)
		return;
	svc->dirty = true;
	loop_timer_arm(&s->soon, 1, 0);
	if (strcmp(t->last_status, "STOPPED") != 0 || t->svc_counted)
		return;
	t->svc_counted = true;
	if (!strcmp(t->stop_code, "ServiceSchedulerInitiated") || !strcmp(t->stop_code, "UserInitiated"))
		return;
	d = svc_deployment(svc, t->started_by);
	if (d)
		breaker_count(s, svc, d);
	if (t->started_at == 0 || t->stopped_at - t->started_at < 10) {
		svc->start_failures++;
		if (svc->start_failures >= THROTTLE_AFTER) {
			double delay = 5.0 * pow(2, svc->start_failures - THROTTLE_AFTER);
			svc->next_launch_at = time_now() + (delay > THROTTLE_MAX ? THROTTLE_MAX : delay);
		}
	}
}

static void on_soon(struct loop_timer *tm)
{
	svc_reconcile_all(tm->data);
}

static void on_tick(struct loop_timer *tm)
{
	struct rt_services *s = tm->data;

	for (struct rt_service *svc = s->list; svc; svc = svc->next)
		svc->dirty = true;
	svc_reconcile_all(s);
}

static bool has_services(struct runtime *rt, const struct rt_cluster *c)
{
	return svc_count_active(rt->services, c->name) > 0;
}

static int service_count(struct runtime *rt, const struct rt_cluster *c)
{
	return svc_count_active(rt->services, c->name);
}

int svc_init(struct rt_services *s, struct runtime *rt)
{
	int ret;

	memset(s, 0, sizeof(*s));
	s->rt = rt;
	s->healthy_after = (double)rt->cfg->task_healthy_after;
	s->soon.io.fd = s->tick.io.fd = -1;
	snprintf(s->dir, sizeof(s->dir), "%s/services", rt->state_dir);
	ret = svc_load(s);
	if (ret < 0)
		return ret;
	ret = loop_timer_init(rt->loop, &s->soon, on_soon, s);
	if (ret == 0)
		ret = loop_timer_init(rt->loop, &s->tick, on_tick, s);
	if (ret == 0)
		ret = loop_timer_arm(&s->tick, 1000, 1000);
	if (ret < 0)
		return ret;
	rt->services = s;
	rt->listener = on_task;
	rt->listener_data = s;
	rt->cluster_has_services = has_services;
	rt->cluster_service_count = service_count;
	rt->resource_tags_hook = svc_tags_hook;
	rt->resource_save_hook = svc_save_hook;
	for (struct rt_service *svc = s->list; svc; svc = svc->next)
		svc->dirty = true;
	loop_timer_arm(&s->soon, 1, 0);
	return 0;
}

void svc_close(struct rt_services *s)
{
	loop_timer_close(&s->soon);
	loop_timer_close(&s->tick);
	if (s->rt && s->rt->services == s) {
		s->rt->listener = NULL;
		s->rt->services = NULL;
	}
	while (s->list) {
		struct rt_service *svc = s->list;
		s->list = svc->next;
		json_decref(svc->tags);
		json_decref(svc->capacity_strategy);
		free(svc);
	}
}
