/* SPDX-License-Identifier: MIT */
/* spawn_warm.c: a warm supervisor's container process, forked and staged before its task is known. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#include "common/fileio.h"
#include "common/log.h"
#include "runtime/spawn_internal.h"

#define MAX_REQUEST (16u << 20)

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Closes every fd above 2 but the three given. */
static void keep_fds(int a, int b, int c)
{
	int keep[3] = { a, b, c }, from = 3;

	for (int i = 0; i < 3; i++) /* sort */
		for (int j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				int t = keep[i];

				keep[i] = keep[j];
				keep[j] = t;
			}
	for (int i = 0; i < 3; i++) {
		if (keep[i] > from)
			close_range((unsigned)from, (unsigned)keep[i] - 1, 0);
		if (keep[i] >= from)
			from = keep[i] + 1;
	}
	close_range((unsigned)from, ~0U, 0);
}

/* Arms the staged process (spawn_child_arm()) with the struct spawn_arm that follows go on
 * go_fd, at the daemon's priority (it is work ahead of a task), and tells the supervisor the
 * outcome (an int32: 0 or -errno) on err_fd. A failure ends the process: its mounts are in
 * disorder. */
static void arm(const char *stage_dir, int go_fd, int err_fd, const struct spawn_warm_go *go,
		struct spawn_armed *armed)
{
	struct spawn_arm *a = malloc(sizeof(*a));
	char what[4200] = "";
	int32_t rc = -EBADMSG;

	if (!a || go->len != sizeof(*a) || read_full(go_fd, a, sizeof(*a)) < 0)
		_exit(1);
	a->rootfs[sizeof(a->rootfs) - 1] = a->upper[sizeof(a->upper) - 1] = '\0';
	a->work[sizeof(a->work) - 1] = a->merged[sizeof(a->merged) - 1] = '\0';
	a->run_dir[sizeof(a->run_dir) - 1] = '\0';
	if (armed->on)
		snprintf(what, sizeof(what), "arm again");
	else {
		spawn_launch_idle();
		rc = spawn_child_arm(a, stage_dir, armed, what, sizeof(what));
		spawn_launch_reboost();
	}
	free(a);
	if (file_write_all(err_fd, &rc, sizeof(rc)) < 0 || rc < 0) {
		if (rc < 0)
			log_warn("spawn: failed to make a container's root ahead: %s: %s", what,
				 strerror((int)-rc));
		_exit(1);
	}
}

/* In the warm container process: stages, waits for its task on go_fd, then becomes the
 * container (spawn_child_exec_staged()). Exits when the supervisor goes away first (EOF), or
 * when staging fails (logged: the supervisor then forks its container as usual). */
static void __attribute__((noreturn)) warm_child(const char *stage_dir, int go_fd, int out_fd,
						  int err_fd, struct spawn_trace *trace)
{
	struct spawn_request d = { 0 };
	struct spawn_warm_go go;
	struct spawn_armed armed = { .old_root = -1 };
	struct spawn_child_ctx x = { .run_fd = -1, .out_fd = out_fd, .err_fd = err_fd };
	struct statfs sfs;
	char what[4200] = "";
	int rc;

	keep_fds(go_fd, out_fd, err_fd);
	spawn_set_title("berth-task (warm container)", "berth-task");
	rc = spawn_child_stage(stage_dir, what, sizeof(what));
	if (rc < 0) {
		/* The supervisor sees us gone and forks its container as usual. */
		log_warn("spawn: failed to stage a container's mounts: %s: %s", what,
			 strerror(-rc));
		_exit(1);
	}
	x.cgroup2_root = statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
	/* Staged (at the daemon's priority): it waits with the launch's, until the exec, so that
	 * its wake-up is not queued behind the host's other work. */
	spawn_launch_reboost();
	/* EOF: the supervisor ended without a task (its pid namespace ends with it anyway). */
	for (;;) {
		if (read_full(go_fd, &go, sizeof(go)) < 0)
			_exit(0);
		if (!go.arm)
			break;
		arm(stage_dir, go_fd, err_fd, &go, &armed);
	}
	if (go.len > MAX_REQUEST || !(d.buf = malloc(go.len ? go.len : 1)) ||
	    read_full(go_fd, d.buf, go.len) < 0)
		_exit(0);
	close(go_fd);
	if (spawn_request_decode(&d, go.len) < 0 || go.index >= d.t.n_containers)
		spawn_child_fail(&x, EBADMSG, "read the task");
	x.t = &d.t;
	x.c = &d.t.containers[go.index];
	x.have_hosts = go.have_hosts;
	x.have_hostname = go.have_hostname;
	x.have_resolv = go.have_resolv;
	x.trace = go.traced ? trace : NULL;
	if (armed.on != !!go.armed) /* the supervisor never does this */
		spawn_child_fail(&x, EINVAL, "start a task on a root armed for another");
	if (armed.on)
		spawn_child_exec_armed(&x, &armed);
	spawn_child_exec_staged(&x, stage_dir);
}

/* In a warm supervisor: its container process, forked ahead (0: none), whose fds are the
 * SPAWN_WARM_{GO,OUT,ERR}_FD; the trace page shared with it; whether it made its root ahead
 * (spawn_warm_arm()). */
static pid_t warm_pid;
static struct spawn_trace *warm_trace;
static bool warm_armed;

/* The warm container program (berth-warm, spawn_warm_main()): a process of its own, so that
 * the container's exec tears down a small address space instead of the copy of the daemon's
 * (its libraries, and anonymous mappings shared with three generations of forks), about 1 ms
 * of a launch's CPU. NULL: none found, the warm container is the fork itself. */
static char *spawn_helper;

/* The fds the warm container program gets: the request pipe, the output and close-on-exec
 * status pipes, the trace page (a memfd). */
#define HELPER_GO_FD    3
#define HELPER_OUT_FD   4
#define HELPER_ERR_FD   5
#define HELPER_TRACE_FD 6

void spawn_warm_set_program(const char *path)
{
	free(spawn_helper);
	spawn_helper = path ? strdup(path) : NULL;
}

int spawn_warm_main(int argc, char **argv)
{
	struct spawn_trace *tr;
	char *stage_dir;
	int boosted, base;

	if (argc != 5 || fcntl(HELPER_TRACE_FD, F_GETFD) < 0) {
		fprintf(stderr, "berth-warm: a warm container's program, started by berthd only\n");
		return 2;
	}
	tr = mmap(NULL, sizeof(*tr), PROT_READ | PROT_WRITE, MAP_SHARED, HELPER_TRACE_FD, 0);
	close(HELPER_TRACE_FD);
	if (tr == MAP_FAILED)
		return 1;
	boosted = atoi(argv[2]);
	base = atoi(argv[3]);
	spawn_launch_restore(boosted != 0, base);
	log_set_level(atoi(argv[4]) ? LOG_WARN : LOG_ERROR);
	/* A copy: the process title is written over argv. */
	stage_dir = strdup(argv[1]);
	if (!stage_dir)
		return 1;
	warm_child(stage_dir, HELPER_GO_FD, HELPER_OUT_FD, HELPER_ERR_FD, tr);
}

/* In the forked warm container: places its fds for berth-warm and execs it; returns (with the
 * fds placed, the trace page still mapped) only when that fails. */
static void warm_exec(const char *stage_dir, int *go, int *out, int *err, int trace_fd)
{
	int from[4] = { *go, *out, *err, trace_fd }, hi[4];
	char boosted[8], base[16], warn[4];
	bool b;
	int nice;

	if (!spawn_helper)
		return;
	for (int i = 0; i < 4; i++)
		if ((hi[i] = fcntl(from[i], F_DUPFD_CLOEXEC, 64)) < 0)
			return;
	for (int i = 0; i < 4; i++) /* all first: one may sit where another goes */
		close(from[i]);
	for (int i = 0; i < 4; i++) {
		if (dup2(hi[i], HELPER_GO_FD + i) < 0) /* not close-on-exec */
			_exit(1);
		close(hi[i]);
	}
	*go = HELPER_GO_FD;
	*out = HELPER_OUT_FD;
	*err = HELPER_ERR_FD;
	b = spawn_launch_state(&nice);
	snprintf(boosted, sizeof(boosted), "%d", b);
	snprintf(base, sizeof(base), "%d", nice);
	snprintf(warn, sizeof(warn), "%d", log_enabled(LOG_WARN));
	char *const argv[] = { "berth-task", (char *)stage_dir, boosted, base, warn, NULL };
	execve(spawn_helper, argv, environ);
	fcntl(HELPER_GO_FD, F_SETFD, FD_CLOEXEC);
	fcntl(HELPER_OUT_FD, F_SETFD, FD_CLOEXEC);
	fcntl(HELPER_ERR_FD, F_SETFD, FD_CLOEXEC);
	log_warn("spawn: cannot run %s: %s; warm containers stay in-process", spawn_helper,
		 strerror(errno));
}

/* Moves fd to want (close-on-exec), which must be free or one of the fds being placed: all
 * are first moved above them. */
static int place_fd(int fd, int want)
{
	int rc = dup3(fd, want, O_CLOEXEC) < 0 ? -errno : 0;

	close(fd);
	return rc;
}

int spawn_warm_fork(const char *stage_dir)
{
	int go[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, hi[3], rc = 0;
	struct spawn_trace *tr;
	int trace_fd;
	pid_t pid;

	/* A memfd, so that berth-warm maps the same page after its exec. */
	trace_fd = memfd_create("berth-trace", MFD_CLOEXEC);
	if (trace_fd < 0)
		return -errno;
	if (ftruncate(trace_fd, sizeof(*tr)) < 0) {
		rc = -errno;
		close(trace_fd);
		return rc;
	}
	tr = mmap(NULL, sizeof(*tr), PROT_READ | PROT_WRITE, MAP_SHARED, trace_fd, 0);
	if (tr == MAP_FAILED) {
		rc = -errno;
		close(trace_fd);
		return rc;
	}
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		close(out[0]);
		close(err[0]);
		warm_exec(stage_dir, &go[0], &out[1], &err[1], trace_fd);
		warm_child(stage_dir, go[0], out[1], err[1], tr);
	}
	close(trace_fd);
	trace_fd = -1;
	if (pid < 0) {
		rc = -errno;
		goto fail;
	}
	close(go[0]);
	close(out[1]);
	close(err[1]);
	/* Above the fixed fds first, so that placing one never closes another. */
	hi[0] = fcntl(go[1], F_DUPFD_CLOEXEC, 64);
	hi[1] = fcntl(out[0], F_DUPFD_CLOEXEC, 64);
	hi[2] = fcntl(err[0], F_DUPFD_CLOEXEC, 64);
	close(go[1]);
	close(out[0]);
	close(err[0]);
	if (hi[0] < 0 || hi[1] < 0 || hi[2] < 0 || place_fd(hi[0], SPAWN_WARM_GO_FD) < 0 ||
	    place_fd(hi[1], SPAWN_WARM_OUT_FD) < 0 || place_fd(hi[2], SPAWN_WARM_ERR_FD) < 0)
		return -EBADF; /* the process is not usable: the caller exits */
	warm_pid = pid;
	warm_trace = tr;
	return 0;
fail:
	if (trace_fd >= 0)
		close(trace_fd);
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	munmap(tr, sizeof(*tr));
	return rc;
}

/* Ends the warm container process (reaped as a stranger) and closes what we had of it. */
static void warm_drop(void)
{
	kill(warm_pid, SIGKILL);
	warm_pid = 0;
	warm_armed = false;
	close(SPAWN_WARM_GO_FD);
	close(SPAWN_WARM_OUT_FD);
	close(SPAWN_WARM_ERR_FD);
	munmap(warm_trace, sizeof(*warm_trace));
	warm_trace = NULL;
}

int spawn_warm_arm(const struct spawn_arm *a)
{
	struct spawn_warm_go go = { .arm = 1, .len = sizeof(*a) };
	int32_t rc = -EPIPE;
	ssize_t n;

	if (!warm_pid || warm_armed)
		return -EALREADY;
	if (file_write_all(SPAWN_WARM_GO_FD, &go, sizeof(go)) < 0 ||
	    file_write_all(SPAWN_WARM_GO_FD, a, sizeof(*a)) < 0) {
		warm_drop();
		return -EPIPE;
	}
	do
		n = read(SPAWN_WARM_ERR_FD, &rc, sizeof(rc));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(rc) || rc < 0) {
		warm_drop(); /* its task gets a container forked as usual */
		return n == (ssize_t)sizeof(rc) ? rc : -EPIPE;
	}
	warm_armed = true;
	return 0;
}

pid_t spawn_warm_hand(struct spawn_warm_go *go, bool armed_for_it, const char *req,
		      struct spawn_trace **trace)
{
	pid_t pid = warm_pid;

	if (!pid)
		return 0;
	if (warm_armed && !armed_for_it) {
		warm_drop();
		return 0;
	}
	go->armed = warm_armed;
	if (waitpid(pid, NULL, WNOHANG) != 0 ||
	    file_write_all(SPAWN_WARM_GO_FD, go, sizeof(*go)) < 0 ||
	    file_write_all(SPAWN_WARM_GO_FD, req, go->len) < 0) {
		warm_drop();
		return 0;
	}
	close(SPAWN_WARM_GO_FD);
	warm_pid = 0; /* once */
	if (go->traced)
		*trace = warm_trace;
	else
		munmap(warm_trace, sizeof(*warm_trace));
	warm_trace = NULL;
	return pid;
}
