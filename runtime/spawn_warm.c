/* SPDX-License-Identifier: MIT */
/* spawn_warm.c: a warm supervisor's container process, forked and staged before its task is known. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

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

/* In the warm container process: stages, waits for its task on go_fd, then becomes the
 * container (spawn_child_exec_staged()). Exits when the supervisor goes away first (EOF), or
 * when staging fails (logged: the supervisor then forks its container as usual). */
static void __attribute__((noreturn)) warm_child(const char *stage_dir, int go_fd, int out_fd,
						  int err_fd, struct spawn_trace *trace)
{
	struct spawn_request d = { 0 };
	struct spawn_warm_go go;
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
	if (read_full(go_fd, &go, sizeof(go)) < 0 || go.len > MAX_REQUEST ||
	    !(d.buf = malloc(go.len ? go.len : 1)) || read_full(go_fd, d.buf, go.len) < 0)
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
	spawn_child_exec_staged(&x, stage_dir);
}

/* Moves fd to want (close-on-exec), which must be free or one of the fds being placed: all
 * are first moved above them. */
static int place_fd(int fd, int want)
{
	int rc = dup3(fd, want, O_CLOEXEC) < 0 ? -errno : 0;

	close(fd);
	return rc;
}

int spawn_warm_fork(const char *stage_dir, pid_t *out_pid, struct spawn_trace **out_trace)
{
	int go[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, hi[3], rc = 0;
	struct spawn_trace *tr;
	pid_t pid;

	tr = mmap(NULL, sizeof(*tr), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (tr == MAP_FAILED)
		return -errno;
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		close(out[0]);
		close(err[0]);
		warm_child(stage_dir, go[0], out[1], err[1], tr);
	}
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
	*out_pid = pid;
	*out_trace = tr;
	return 0;
fail:
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
