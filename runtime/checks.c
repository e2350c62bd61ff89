/* SPDX-License-Identifier: MIT */
/* checks.c: container health checks on the event loop - interval and timeout timers, the
 * check's pidfd, ECS status rules, task health, and the dependsOn HEALTHY gate. */
#include "runtime/checks.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/log.h"
#include "runtime/health.h"
#include "runtime/spawn.h"
#include "runtime/taskdef.h"

#define FIRST_CHECK_MS 1000

struct rt_check {
	struct runtime *rt;
	struct rt_task *task;
	size_t idx;
	const struct taskdef_health_check *hc;
	struct health_state st;
	struct health_exec *exec;
	struct loop_io io;
	struct loop_timer timer;
	long long started_ms;
	pid_t pid;
	unsigned long long starttime;
	char **cgroup_procs;
	char **envp;
	bool marked_healthy;
};

static void check_free(struct rt_check *c)
{
	if (!c)
		return;
	if (c->exec) {
		loop_io_stop(&c->io);
		health_exec_free(c->exec);
	}
	loop_timer_close(&c->timer);
	cgroup_strv_free(c->cgroup_procs);
	for (size_t i = 0; c->envp && c->envp[i]; i++)
		free(c->envp[i]);
	free(c->envp);
	free(c);
}

/* The container's environment with overrides, as "K=V" strings (caller frees). */
static char **container_env(const struct rt_task *t, size_t idx)
{
	struct task_overrides *ov = NULL;
	struct taskdef_container_spec *spec = NULL;
	char **env = NULL;

	if (taskdef_parse_overrides(t->overrides, t->td, &ov, NULL) < 0 ||
	    taskdef_resolve_container(t->td, ov, idx, &spec) < 0)
		goto out;
	env = calloc(spec->n_environment + 1, sizeof(*env));
	for (size_t i = 0; env && i < spec->n_environment; i++)
		if (asprintf(&env[i], "%s=%s", spec->environment[i].name,
			     spec->environment[i].value ? spec->environment[i].value : "") < 0)
			env[i] = NULL;
out:
	taskdef_container_spec_free(spec);
	taskdef_overrides_free(ov);
	return env;
}

/* Recomputes the task's healthStatus from its essential containers. */
static void task_health(struct runtime *rt, struct rt_task *t)
{
	struct health_member m[TASKDEF_MAX_CONTAINERS];
	const char *now;
	size_t n = t->n_containers < TASKDEF_MAX_CONTAINERS ? t->n_containers
							    : TASKDEF_MAX_CONTAINERS;

	for (size_t i = 0; i < n; i++) {
		const char *h = t->containers[i].health_status;
		m[i].essential = t->containers[i].essential;
		m[i].has_check = t->td && t->td->containers[i].health.kind != TASKDEF_HEALTH_NONE;
		m[i].status = !strcmp(h, "HEALTHY") ? HEALTH_HEALTHY
			      : !strcmp(h, "UNHEALTHY") ? HEALTH_UNHEALTHY : HEALTH_UNKNOWN;
	}
	now = health_status_name(health_task_status(m, n));
	if (strcmp(now, t->health_status) == 0)
		return;
	log_info("runtime: task %s is %s", t->id, now);
	snprintf(t->health_status, sizeof(t->health_status), "%s", now);
	rt_task_changed(rt, t);
}

static void on_timer(struct loop_timer *tm);

static void record(struct rt_check *c, const struct health_result *res)
{
	struct rt_task *t = c->task;
	struct rt_container *ct = &t->containers[c->idx];
	enum health_status s;
	char dir[700];

	s = health_record(&c->st, c->hc, time_mono_ms(), c->started_ms, res->exit_code);
	if (res->exit_code != 0)
		log_debug("runtime: task %s container %s health check failed (%d%s): %.200s", t->id,
			  ct->name, res->exit_code, res->timed_out ? ", timed out" : "", res->output);
	if (s == HEALTH_HEALTHY && !c->marked_healthy) {
		/* Containers that depend on this one being HEALTHY may start now. */
		snprintf(dir, sizeof(dir), "%s/%s/run", c->rt->tasks_dir, t->id);
		spawn_mark_healthy(dir, ct->name);
		c->marked_healthy = true;
	}
	if (strcmp(ct->health_status, health_status_name(s)) != 0) {
		snprintf(ct->health_status, sizeof(ct->health_status), "%s", health_status_name(s));
		log_info("runtime: task %s container %s is %s", t->id, ct->name, ct->health_status);
		task_health(c->rt, t);
	}
}

static void on_done(struct loop_io *io, uint32_t events)
{
	struct rt_check *c = io->data;
	struct health_result res;

	(void)events;
	if (health_exec_finish(c->exec, &res) == -EAGAIN)
		return;
	loop_io_stop(&c->io);
	health_exec_free(c->exec);
	c->exec = NULL;
	record(c, &res);
	loop_timer_arm(&c->timer, (uint64_t)c->hc->interval * 1000, 0);
}

static void run_check(struct rt_check *c)
{
	const struct taskdef_container *d = &c->task->td->containers[c->idx];
	struct health_target tg = {
		.pid = c->pid, .starttime = c->starttime, .cgroup_procs = c->cgroup_procs,
		.user = d->user, .envp = c->envp, .cwd = d->working_directory,
	};
	int ret = health_exec_start(&tg, c->hc, &c->exec);

	if (ret < 0) {
		struct health_result res = { .exit_code = -1 };
		c->exec = NULL;
		if (ret == -ESRCH)
			return;   /* the container is gone: its exit is on its way */
		snprintf(res.output, sizeof(res.output), "cannot start the check: %s", strerror(-ret));
		record(c, &res);
		loop_timer_arm(&c->timer, (uint64_t)c->hc->interval * 1000, 0);
		return;
	}
	if (loop_io_start(c->rt->loop, &c->io, health_exec_fd(c->exec), EPOLLIN, on_done, c) < 0) {
		health_exec_free(c->exec);
		c->exec = NULL;
		loop_timer_arm(&c->timer, (uint64_t)c->hc->interval * 1000, 0);
		return;
	}
	loop_timer_arm(&c->timer, (uint64_t)c->hc->timeout * 1000, 0);
}

/* One timer per container: while a check runs it is the timeout, otherwise the interval. */
static void on_timer(struct loop_timer *tm)
{
	struct rt_check *c = tm->data;

	if (c->exec) {
		health_exec_kill(c->exec);   /* the result (timed out) arrives through the pidfd */
		return;
	}
	run_check(c);
}

void rt_checks_start(struct runtime *rt, struct rt_task *t, size_t idx,
		     const struct spawn_status *st)
{
	struct rt_container *ct = &t->containers[idx];
	struct rt_check *c;
	char rel[CGROUP_PATH_MAX];

	if (!t->td || idx >= t->td->n_containers ||
	    t->td->containers[idx].health.kind == TASKDEF_HEALTH_NONE || ct->check)
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->rt = rt;
	c->task = t;
	c->idx = idx;
	c->hc = &t->td->containers[idx].health;
	c->pid = st->pid;
	c->starttime = st->starttime;
	c->started_ms = st->started_ms ? st->started_ms : (long long)(time_now() * 1000);
	/* health_record compares with its now_ms: keep both on one clock. */
	c->started_ms = time_mono_ms() - ((long long)(time_now() * 1000) - c->started_ms);
	c->envp = container_env(t, idx);
	snprintf(rel, sizeof(rel), "%s/%s/%s/%s", rt->cfg->cgroup_parent, t->cluster, t->id,
		 ct->name);
	cgroup_procs_paths(&rt->cg, rel, &c->cgroup_procs);
	c->timer.io.fd = -1;
	if (loop_timer_init(rt->loop, &c->timer, on_timer, c) < 0) {
		check_free(c);
		return;
	}
	ct->check = c;
	loop_timer_arm(&c->timer, FIRST_CHECK_MS, 0);
}

void rt_checks_stop(struct runtime *rt, struct rt_task *t, size_t idx)
{
	(void)rt;
	for (size_t i = 0; i < t->n_containers; i++) {
		if (idx != SIZE_MAX && i != idx)
			continue;
		check_free(t->containers[i].check);
		t->containers[i].check = NULL;
	}
}
