/* SPDX-License-Identifier: MIT */
/* spawn.c: the daemon side of the task launcher: validation, forking the supervisor, stop, liveness. */
#include "runtime/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "runtime/spawn_internal.h"

#define MAX_CONTAINERS 64
#define MAX_NAME 200

static const struct {
	const char *name;
	int resource;
} ulimit_names[] = {
	{ "core", RLIMIT_CORE },         { "cpu", RLIMIT_CPU },
	{ "data", RLIMIT_DATA },         { "fsize", RLIMIT_FSIZE },
	{ "locks", RLIMIT_LOCKS },       { "memlock", RLIMIT_MEMLOCK },
	{ "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
	{ "nofile", RLIMIT_NOFILE },     { "nproc", RLIMIT_NPROC },
	{ "rss", RLIMIT_RSS },           { "rtprio", RLIMIT_RTPRIO },
	{ "rttime", RLIMIT_RTTIME },     { "sigpending", RLIMIT_SIGPENDING },
	{ "stack", RLIMIT_STACK },
};

int spawn_ulimit_resource(const char *name)
{
	if (!name)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(ulimit_names) / sizeof(ulimit_names[0]); i++)
		if (strcmp(name, ulimit_names[i].name) == 0)
			return ulimit_names[i].resource;
	return -EINVAL;
}

static bool name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > MAX_NAME)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_-") == n;
}

/* Absolute path without characters that would break the overlay option string. */
static bool path_ok(const char *p, const char *bad)
{
	return p && p[0] == '/' && strlen(p) < 1024 && !strpbrk(p, bad);
}

static int bad_field(const char *who, const char *field)
{
	log_error("spawn: failed to validate %s: bad %s", who, field);
	return -EINVAL;
}

static int check_ulimits(const struct spawn_container *c)
{
	for (size_t i = 0; i < c->n_ulimits; i++) {
		const struct spawn_ulimit *u = &c->ulimits[i];

		if (spawn_ulimit_resource(u->name) < 0 || u->soft > u->hard)
			return bad_field(c->name, "ulimits");
	}
	return 0;
}

static int check_container(const struct spawn_container *c)
{
	if (!name_ok(c->name))
		return bad_field("container", "name");
	if (!path_ok(c->rootfs, ",\\"))
		return bad_field(c->name, "rootfs");
	if (!path_ok(c->upper_dir, ",:\\") || !path_ok(c->work_dir, ",:\\"))
		return bad_field(c->name, "upper_dir/work_dir");
	if (!path_ok(c->merged_dir, ""))
		return bad_field(c->name, "merged_dir");
	if (!c->argv || !c->argv[0] || !c->argv[0][0])
		return bad_field(c->name, "argv");
	if (c->cwd && !path_ok(c->cwd, ""))
		return bad_field(c->name, "cwd");
	if (c->user && (!c->user[0] || strlen(c->user) > 255))
		return bad_field(c->name, "user");
	if (c->n_ulimits && !c->ulimits)
		return bad_field(c->name, "ulimits");
	return check_ulimits(c);
}

static int check_policy(const struct spawn_task *t, const struct spawn_container *c)
{
	if (c->n_depends_on > MAX_CONTAINERS || (c->n_depends_on && !c->depends_on))
		return bad_field(c->name, "depends_on");
	for (size_t i = 0; i < c->n_depends_on; i++)
		if (c->depends_on[i].index >= t->n_containers ||
		    &t->containers[c->depends_on[i].index] == c ||
		    (unsigned)c->depends_on[i].condition > SPAWN_COND_HEALTHY)
			return bad_field(c->name, "depends_on");
	if (c->n_ignored_exit_codes > MAX_CONTAINERS ||
	    (c->n_ignored_exit_codes && !c->ignored_exit_codes) || c->restart_attempt_ms < 0)
		return bad_field(c->name, "restart policy");
	return 0;
}

/* Depth-first search for a dependency cycle through container i; state 1 = on the path,
 * 2 = known to reach no cycle. */
static bool has_cycle(const struct spawn_task *t, size_t i, unsigned char *state)
{
	const struct spawn_container *c = &t->containers[i];

	if (state[i])
		return state[i] == 1;
	state[i] = 1;
	for (size_t k = 0; k < c->n_depends_on; k++)
		if (has_cycle(t, c->depends_on[k].index, state))
			return true;
	state[i] = 2;
	return false;
}

static int check_order(const struct spawn_task *t)
{
	unsigned char state[MAX_CONTAINERS] = { 0 };
	int rc;

	for (size_t i = 0; i < t->n_containers; i++)
		if ((rc = check_policy(t, &t->containers[i])) < 0)
			return rc;
	for (size_t i = 0; i < t->n_containers; i++)
		if (has_cycle(t, i, state))
			return bad_field(t->containers[i].name, "depends_on (cycle)");
	return 0;
}

int spawn_check_task(const struct spawn_task *t)
{
	int rc;

	if (!path_ok(t->run_dir, ""))
		return bad_field("task", "run_dir");
	if (!t->containers || t->n_containers == 0 || t->n_containers > MAX_CONTAINERS)
		return bad_field("task", "containers");
	if (t->hostname && (!t->hostname[0] || strlen(t->hostname) > 64))
		return bad_field("task", "hostname");
	if (t->log_max_files < 0)
		return bad_field("task", "log_max_files");
	for (size_t i = 0; t->cpu_weight_files && t->cpu_weight_files[i]; i++)
		if (i >= 16 || !path_ok(t->cpu_weight_files[i], "") || !t->cpu_weight_normal ||
		    !t->cpu_weight_normal[0] || strlen(t->cpu_weight_normal) > 20 ||
		    strspn(t->cpu_weight_normal, "0123456789") != strlen(t->cpu_weight_normal))
			return bad_field("task", "cpu_weight_files");
	for (size_t i = 0; i < t->n_containers; i++) {
		rc = check_container(&t->containers[i]);
		if (rc < 0)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(t->containers[j].name, t->containers[i].name) == 0)
				return bad_field(t->containers[i].name, "name (duplicate)");
	}
	return check_order(t);
}

int spawn_task_start(const struct spawn_task *t, struct spawn_result *res)
{
	int run_fd, rc;
	pid_t pid;

	if (!t || !res)
		return -EINVAL;
	rc = spawn_check_task(t);
	if (rc < 0)
		return rc;
	run_fd = open(t->run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (run_fd < 0) {
		rc = -errno;
		log_error("spawn: failed to open run dir %s: %s", t->run_dir, strerror(-rc));
		return rc;
	}
	pid = fork();
	if (pid == 0)
		spawn_supervise(t, run_fd);
	rc = pid < 0 ? -errno : 0;
	close(run_fd);
	if (rc < 0) {
		log_error("spawn: failed to fork supervisor of task %s: %s",
			  t->task_id ? t->task_id : "?", strerror(-rc));
		return rc;
	}
	res->init_pid = pid;
	rc = spawn_proc_starttime(pid, &res->init_starttime);
	if (rc < 0) {
		/* Our own child always has /proc/<pid>/stat; give up cleanly if not. */
		log_error("spawn: failed to read start time of pid %d: %s", (int)pid,
			  strerror(-rc));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return rc;
}

int spawn_proc_stat(pid_t pid, int field, char *state, unsigned long long *val)
{
	char path[64], buf[2048], *p, *end;
	ssize_t n;
	int fd;

	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/stat");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 && errno == ESRCH ? -ESRCH : -EBADMSG;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the name (field 2) may hold spaces and parentheses */
	if (!p || p[1] != ' ' || !p[2])
		return -EBADMSG;
	p += 2;
	if (state)
		*state = *p;
	for (int i = 3; i < field; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -EBADMSG;
		p++;
	}
	errno = 0;
	*val = strtoull(p, &end, 10);
	return end == p || errno ? -EBADMSG : 0;
}

int spawn_proc_starttime(pid_t pid, unsigned long long *starttime)
{
	if (pid <= 0 || !starttime)
		return -EINVAL;
	return spawn_proc_stat(pid, 22, NULL, starttime);
}

bool spawn_init_alive(pid_t pid, unsigned long long starttime)
{
	unsigned long long st;
	char state;

	if (pid <= 0 || spawn_proc_stat(pid, 22, &state, &st) < 0)
		return false;
	return st == starttime && state != 'Z' && state != 'X';
}

int spawn_task_signal(pid_t pid, unsigned long long starttime, int sig)
{
	int fd, rc = 0;

	if (pid <= 0 || sig <= 0 || sig >= NSIG)
		return -EINVAL;
	/* The pidfd pins the process: once its start time matches, the signal cannot reach a
	 * process that reused the pid. */
	fd = pidfd_open(pid, 0);
	if (fd < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	if (!spawn_init_alive(pid, starttime))
		rc = -ESRCH;
	else if (pidfd_send_signal(fd, sig, NULL, 0) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int spawn_task_stop(pid_t pid, unsigned long long starttime)
{
	return spawn_task_signal(pid, starttime, SIGTERM);
}
