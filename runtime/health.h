/* SPDX-License-Identifier: MIT */
/* health.h: container health checks: running one check inside a container without blocking, and ECS health status rules. */
#ifndef BERTH_HEALTH_H
#define BERTH_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/taskdef.h"

#define HEALTH_OUTPUT_MAX 1024 /* the tail of a check's stdout+stderr that is kept */

/*
 * Running one check (as `docker exec` does): the check process joins the mount, pid, uts,
 * ipc, net and cgroup namespaces of the container's main process and its cgroups (so its CPU
 * and memory count to the container), runs as the container's user with the container's
 * environment and working directory, bounded to runc's default capabilities with
 * no_new_privs, in a process group of its own. CMD runs argv (PATH lookup in the container's
 * PATH), CMD-SHELL runs /bin/sh -c <shell>.
 *
 * Daemon loop usage (nothing here blocks, except health_exec_free() of a running check):
 *   health_exec_start(&target, &def->health, &e)    at each interval
 *   add health_exec_fd(e) to epoll (EPOLLIN: the check ended); arm a timer of hc->timeout s
 *   on EPOLLIN:   health_exec_finish(e, &res) == 0 -> health_record(..., res.exit_code)
 *   on the timer: health_exec_kill(e), then wait for EPOLLIN as above (exit_code -1)
 *   health_exec_free(e)
 * The check's waiter is a child of the caller created with CLONE_PARENT; reaping it with
 * waitpid(-1) elsewhere is harmless (the result does not come from its exit status).
 */
struct health_exec;

/* The container a check runs in: from its ".started" status and its spawn_container. */
struct health_target {
	pid_t pid;                    /* host pid of the container's main process */
	unsigned long long starttime; /* its start time (spawn_status.starttime) */
	char *const *cgroup_procs;    /* the container's cgroup.procs paths, NULL-terminated;
	                               * may be NULL */
	const char *user;             /* as spawn_container.user; NULL for root */
	char *const *envp;            /* the container's "K=V" list, may be NULL; PATH is
	                               * added when missing */
	const char *cwd;              /* working directory, NULL for "/"; "/" when missing */
};

struct health_result {
	int exit_code;                /* the check's exit code (128+N for signal N); -1 when it
	                               * was killed by health_exec_kill() (timeout) */
	bool timed_out;               /* killed by health_exec_kill() */
	char output[HEALTH_OUTPUT_MAX + 1]; /* last bytes of stdout+stderr, NUL-terminated */
};

/* Starts one check of hc (kind CMD or CMD_SHELL) in the container of t. Blocks only for the
 * namespace and cgroup joins (a vfork-like clone that shares the caller's memory: no page
 * table copy, no atexit handlers). Returns 0 and *out (the caller frees it with
 * health_exec_free()), -EINVAL (bad argument, no check), -ESRCH (the container's process is
 * gone or is not the one started at t->starttime), or another -errno from setting up (the
 * step is logged); on error nothing is left running. Failures inside the container after the
 * start (no such user, exec failed) end the check with exit code 126/127 and a message in the
 * output. */
int health_exec_start(const struct health_target *t, const struct taskdef_health_check *hc,
		      struct health_exec **out);

/* A pidfd that turns readable (EPOLLIN) when the check has ended. Owned by e. */
int health_exec_fd(const struct health_exec *e);

/* The host pid of the check's waiter (its process group id), for logs and tests. */
pid_t health_exec_pid(const struct health_exec *e);

/* SIGKILLs the check's whole process group (inside the container's pid namespace); the
 * check then ends with exit_code -1 and timed_out. Idempotent; 0, or -errno. */
int health_exec_kill(struct health_exec *e);

/* Collects the result of an ended check into *res. Returns 0, -EAGAIN when the check is
 * still running (res untouched), -EALREADY when already collected. Never blocks. */
int health_exec_finish(struct health_exec *e, struct health_result *res);

/* Kills a check still running, waits for it to end (a SIGKILLed process ends promptly),
 * releases everything. NULL is a no-op. */
void health_exec_free(struct health_exec *e);

/* Container health, as ECS reports it in healthStatus. */
enum health_status {
	HEALTH_UNKNOWN,
	HEALTH_HEALTHY,
	HEALTH_UNHEALTHY,
};

/* The state of one container's checks; zero-initialised means UNKNOWN, no failures. */
struct health_state {
	enum health_status status;
	int failures;                 /* consecutive failures that counted */
	bool passed;                  /* a check succeeded since the (re)start */
	long long last_ms;            /* when the last result was recorded, 0 for none */
};

/* Records one result (exit_code 0 = success, anything else or -1 for a timeout = failure) at
 * now_ms of a container started at started_ms, with ECS rules: a success makes it HEALTHY
 * (also inside startPeriod, which it ends); a failure inside startPeriod before any success
 * does not count; retries consecutive counted failures make it UNHEALTHY (a HEALTHY
 * container stays HEALTHY until then). Reset *st to zero when the container restarts.
 * Returns the new status. */
enum health_status health_record(struct health_state *st, const struct taskdef_health_check *hc,
				 long long now_ms, long long started_ms, int exit_code);

/* One container, for the task's health. */
struct health_member {
	enum health_status status;
	bool essential;
	bool has_check;               /* hc.kind != TASKDEF_HEALTH_NONE */
};

/* The task's healthStatus from its essential containers that have a check: any UNHEALTHY ->
 * UNHEALTHY; else any UNKNOWN -> UNKNOWN; else HEALTHY; none at all -> UNKNOWN. */
enum health_status health_task_status(const struct health_member *m, size_t n);

/* "HEALTHY", "UNHEALTHY" or "UNKNOWN". */
const char *health_status_name(enum health_status s);

#endif
