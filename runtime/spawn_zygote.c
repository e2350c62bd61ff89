/* SPDX-License-Identifier: MIT */
/* spawn_zygote.c: a small early fork of the daemon that forks task supervisors, so they do not pin the daemon's heap. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "runtime/spawn.h"
#include "runtime/spawn_internal.h"

#define ZY_FD 3
#define ZY_OFFER_FD 4
#define NONE UINT32_MAX
#define MAX_REQUEST (16u << 20)

#define POOL_MAX 64
#define WARM_SOCK_FD (SPAWN_WARM_LAST_FD + 1)
#define REFILL_DELAY_MS 20

/* A warm supervisor waiting for a task on its socket, held by the daemon. */
struct zy_warm {
	int fd;
	pid_t pid;
	unsigned long long starttime;
	uint64_t armed; /* the key of the root its container was asked to make ahead; 0: none */
};

struct spawn_zygote {
	int fd;
	int offer_fd;          /* the zygote's offers of warm supervisors (datagrams, fd each) */
	pid_t pid;
	struct zy_warm warm[POOL_MAX]; /* offered, oldest first */
	int n_warm;
};

static uint64_t zy_last_key; /* of the last arm request, of any zygote of this process */

/* An offer: the warm supervisor's socket travels with it (SCM_RIGHTS). */
struct zy_offer {
	int32_t pid;
	uint64_t starttime;
};

/* In the zygote: warm supervisors offered to the daemon and not yet taken. */
static int zy_pool_n, zy_pool_size;
static const char *zy_stage_dir; /* for warm container children; NULL: none */

struct zy_reply {
	int32_t err;
	int32_t pid;
	uint64_t starttime;
};

/* Request encoding: u64 numbers, strings as u32 length (NONE for NULL) + bytes + NUL, string
 * lists as u32 count (NONE for NULL) + strings. Sticky error flags keep the callers flat. */
struct wr {
	char *p;
	size_t len, cap;
	bool bad;
};

static void wr_bytes(struct wr *w, const void *data, size_t n)
{
	if (w->bad)
		return;
	if (w->len + n > w->cap) {
		size_t cap = (w->cap ? w->cap * 2 : 4096) + n;
		char *p = realloc(w->p, cap);

		if (!p) {
			w->bad = true;
			return;
		}
		w->p = p;
		w->cap = cap;
	}
	memcpy(w->p + w->len, data, n);
	w->len += n;
}

static void wr_u32(struct wr *w, uint32_t v)
{
	wr_bytes(w, &v, sizeof(v));
}

static void wr_u64(struct wr *w, uint64_t v)
{
	wr_bytes(w, &v, sizeof(v));
}

static void wr_str(struct wr *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	wr_u32(w, s ? (uint32_t)n : NONE);
	if (s)
		wr_bytes(w, s, n + 1);
}

static void wr_strv(struct wr *w, char *const *v)
{
	uint32_t n = 0;

	while (v && v[n])
		n++;
	wr_u32(w, v ? n : NONE);
	for (uint32_t i = 0; v && i < n; i++)
		wr_str(w, v[i]);
}

static void wr_container(struct wr *w, const struct spawn_container *c)
{
	wr_str(w, c->name);
	wr_str(w, c->rootfs);
	wr_str(w, c->upper_dir);
	wr_str(w, c->work_dir);
	wr_str(w, c->merged_dir);
	wr_strv(w, c->argv);
	wr_strv(w, c->envp);
	wr_str(w, c->cwd);
	wr_str(w, c->user);
	wr_u64(w, c->readonly_rootfs);
	wr_u64(w, c->n_ulimits);
	for (size_t i = 0; i < c->n_ulimits; i++) {
		wr_str(w, c->ulimits[i].name);
		wr_u64(w, c->ulimits[i].soft);
		wr_u64(w, c->ulimits[i].hard);
	}
	wr_strv(w, c->cgroup_procs);
	wr_str(w, c->log_path);
	wr_u64(w, (uint64_t)(int64_t)c->stop_timeout);
	wr_u64(w, c->n_depends_on);
	for (size_t i = 0; i < c->n_depends_on; i++) {
		wr_u64(w, c->depends_on[i].index);
		wr_u64(w, (uint64_t)c->depends_on[i].condition);
	}
	wr_u64(w, c->restart_enabled);
	wr_u64(w, c->n_ignored_exit_codes);
	for (size_t i = 0; i < c->n_ignored_exit_codes; i++)
		wr_u64(w, (uint64_t)(int64_t)c->ignored_exit_codes[i]);
	wr_u64(w, (uint64_t)c->restart_attempt_ms);
}

static void wr_task(struct wr *w, const struct spawn_task *t)
{
	wr_u32(w, 0); /* length, filled in last */
	wr_str(w, t->task_id);
	wr_str(w, t->hostname);
	wr_u64(w, t->host_network);
	wr_str(w, t->run_dir);
	wr_strv(w, t->init_cgroup_procs);
	wr_u64(w, t->log_max_bytes);
	wr_u64(w, (uint64_t)(int64_t)t->log_max_files);
	wr_u64(w, (uint64_t)t->asked_mono_us);
	wr_strv(w, t->cpu_weight_files);
	wr_str(w, t->cpu_weight_normal);
	wr_u64(w, t->n_containers);
	for (size_t i = 0; i < t->n_containers; i++)
		wr_container(w, &t->containers[i]);
	if (!w->bad) {
		uint32_t len = (uint32_t)(w->len - sizeof(uint32_t));

		memcpy(w->p, &len, sizeof(len));
	}
}

struct rd {
	const char *p;
	size_t left;
	bool bad;
	struct spawn_request *d;
};

static void *rd_alloc(struct rd *r, size_t n, size_t size)
{
	void **a = r->bad ? NULL : realloc(r->d->allocs, (r->d->n_allocs + 1) * sizeof(*a));
	void *p;

	if (!a) {
		r->bad = true;
		return NULL;
	}
	r->d->allocs = a;
	p = calloc(n, size);
	if (!p)
		r->bad = true;
	else
		a[r->d->n_allocs++] = p;
	return p;
}

static bool rd_take(struct rd *r, void *out, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = true;
		return false;
	}
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

static uint64_t rd_u64(struct rd *r)
{
	uint64_t v = 0;

	rd_take(r, &v, sizeof(v));
	return v;
}

static const char *rd_str(struct rd *r)
{
	uint32_t n = 0;
	const char *s;

	if (!rd_take(r, &n, sizeof(n)) || n == NONE)
		return NULL;
	if (r->left <= n || r->p[n] != '\0' || memchr(r->p, '\0', n)) {
		r->bad = true;
		return NULL;
	}
	s = r->p;
	r->p += n + 1;
	r->left -= n + 1;
	return s;
}

static char **rd_strv(struct rd *r)
{
	uint32_t n = 0;
	char **v;

	if (!rd_take(r, &n, sizeof(n)) || n == NONE)
		return NULL;
	if (n > r->left / 5) { /* each string takes at least 5 bytes */
		r->bad = true;
		return NULL;
	}
	v = rd_alloc(r, n + 1, sizeof(*v));
	for (uint32_t i = 0; v && i < n; i++)
		v[i] = (char *)rd_str(r);
	return v;
}

/* dependsOn and restartPolicy; sizes are checked again by spawn_check_task() in the caller. */
static void rd_policy(struct rd *r, struct spawn_container *c)
{
	struct spawn_dependency *dep;
	int *codes;

	c->n_depends_on = rd_u64(r);
	if (c->n_depends_on > 64)
		r->bad = true;
	dep = r->bad ? NULL : rd_alloc(r, c->n_depends_on + 1, sizeof(*dep));
	for (size_t i = 0; dep && i < c->n_depends_on; i++) {
		dep[i].index = rd_u64(r);
		dep[i].condition = (enum spawn_condition)rd_u64(r);
	}
	c->depends_on = dep;
	c->restart_enabled = rd_u64(r) != 0;
	c->n_ignored_exit_codes = rd_u64(r);
	if (c->n_ignored_exit_codes > 64)
		r->bad = true;
	codes = r->bad ? NULL : rd_alloc(r, c->n_ignored_exit_codes + 1, sizeof(*codes));
	for (size_t i = 0; codes && i < c->n_ignored_exit_codes; i++)
		codes[i] = (int)(int64_t)rd_u64(r);
	c->ignored_exit_codes = codes;
	c->restart_attempt_ms = (long long)rd_u64(r);
}

static void rd_container(struct rd *r, struct spawn_container *c)
{
	struct spawn_ulimit *u;

	c->name = rd_str(r);
	c->rootfs = rd_str(r);
	c->upper_dir = rd_str(r);
	c->work_dir = rd_str(r);
	c->merged_dir = rd_str(r);
	c->argv = rd_strv(r);
	c->envp = rd_strv(r);
	c->cwd = rd_str(r);
	c->user = rd_str(r);
	c->readonly_rootfs = rd_u64(r) != 0;
	c->n_ulimits = rd_u64(r);
	if (c->n_ulimits > 64)
		r->bad = true;
	u = r->bad ? NULL : rd_alloc(r, c->n_ulimits + 1, sizeof(*u));
	for (size_t i = 0; u && i < c->n_ulimits; i++) {
		u[i].name = rd_str(r);
		u[i].soft = rd_u64(r);
		u[i].hard = rd_u64(r);
	}
	c->ulimits = u;
	c->cgroup_procs = rd_strv(r);
	c->log_path = rd_str(r);
	c->stop_timeout = (int)(int64_t)rd_u64(r);
	rd_policy(r, c);
}

int spawn_request_decode(struct spawn_request *d, size_t len)
{
	struct rd r = { .p = d->buf, .left = len, .d = d };
	struct spawn_task *t = &d->t;
	struct spawn_container *c;

	t->task_id = rd_str(&r);
	t->hostname = rd_str(&r);
	t->host_network = rd_u64(&r) != 0;
	t->run_dir = rd_str(&r);
	t->init_cgroup_procs = rd_strv(&r);
	t->log_max_bytes = rd_u64(&r);
	t->log_max_files = (int)(int64_t)rd_u64(&r);
	t->asked_mono_us = (long long)rd_u64(&r);
	t->cpu_weight_files = rd_strv(&r);
	t->cpu_weight_normal = rd_str(&r);
	t->n_containers = rd_u64(&r);
	if (t->n_containers > 64)
		r.bad = true;
	c = r.bad ? NULL : rd_alloc(&r, t->n_containers, sizeof(*c));
	for (size_t i = 0; c && i < t->n_containers; i++)
		rd_container(&r, &c[i]);
	t->containers = c;
	return r.bad || r.left ? -EBADMSG : 0;
}

void spawn_request_free(struct spawn_request *d)
{
	for (size_t i = 0; i < d->n_allocs; i++)
		free(d->allocs[i]);
	free(d->allocs);
	free(d->buf);
}

static int io_full(int fd, void *buf, size_t len, bool out)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = out ? send(fd, p, len, MSG_NOSIGNAL) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 || errno == ECONNRESET ? -EPIPE : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* In the zygote: forks the supervisor of a decoded task. */
static struct zy_reply zy_start(const struct spawn_task *t)
{
	struct zy_reply rep = { 0 };
	unsigned long long st = 0;
	int run_fd = open(t->run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pid_t pid;

	if (run_fd < 0) {
		rep.err = -errno;
		return rep;
	}
	pid = fork();
	if (pid == 0)
		spawn_supervise(t, run_fd);
	rep.err = pid < 0 ? -errno : 0;
	close(run_fd);
	if (pid > 0) {
		spawn_proc_starttime(pid, &st); /* alive: it cannot exit before setting up */
		rep.pid = pid;
		rep.starttime = st;
	}
	return rep;
}

/* A warm supervisor: waits on its socket for a request (as the zygote gets it), then
 * supervises that task. EOF (the zygote ended) or a bad request ends it. */
static void __attribute__((noreturn)) warm_main(int sock, pid_t zygote)
{
	struct spawn_request d = { 0 };
	struct spawn_arm *arm = NULL;
	uint32_t hdr, len;
	int run_fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != zygote)
		_exit(0);
	if (dup2(sock, WARM_SOCK_FD) < 0)
		_exit(1);
	close_range(3, WARM_SOCK_FD - 1, 0);
	close_range(WARM_SOCK_FD + 1, ~0U, 0);
	spawn_launch_idle(); /* yields to launches while it prepares */
	if (spawn_warm_prepare(zy_stage_dir) < 0)
		_exit(1);
	spawn_set_title("berth-task (warm)", "berth-task");
	/* Prepared: it waits with the launch's priority, which only counts once its task wakes
	 * it, so that the wake-up is not queued behind the host's other work. */
	spawn_launch_reboost();
	for (;;) {
		if (io_full(WARM_SOCK_FD, &hdr, sizeof(hdr), false) < 0)
			_exit(0);
		if (!(hdr & SPAWN_WARM_MSG_ARM))
			break;
		/* Its container's root, made ahead for the task the daemon expects. A failure
		 * leaves it without a warm container; the daemon learns nothing and need not. */
		if ((hdr & SPAWN_WARM_MSG_LEN) != sizeof(*arm) ||
		    (!arm && !(arm = malloc(sizeof(*arm)))) ||
		    io_full(WARM_SOCK_FD, arm, sizeof(*arm), false) < 0)
			_exit(0);
		spawn_warm_arm(arm);
	}
	free(arm);
	len = hdr & SPAWN_WARM_MSG_LEN;
	if (len > MAX_REQUEST || !(d.buf = malloc(len ? len : 1)) ||
	    io_full(WARM_SOCK_FD, d.buf, len, false) < 0 || spawn_request_decode(&d, len) < 0)
		_exit(0);
	/* From here on the task outlives the zygote and berthd. */
	prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
	run_fd = open(d.t.run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (run_fd < 0)
		_exit(1);
	spawn_supervise_warm(&d.t, run_fd, d.buf, len, hdr & SPAWN_WARM_MSG_ARMED);
}

/* Sends the daemon a warm supervisor's socket, with its pid and start time. */
static int offer(int fd, pid_t pid, unsigned long long starttime)
{
	struct zy_offer o = { .pid = pid, .starttime = starttime };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = &o, .iov_len = sizeof(o) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	memset(&u, 0, sizeof(u));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(ZY_OFFER_FD, &m, MSG_NOSIGNAL) == (ssize_t)sizeof(o) ? 0 : -1;
}

/* Forks warm supervisors until the pool is full, and offers each to the daemon, which hands
 * it its task itself (one process less on a launch's path). */
static void pool_fill(void)
{
	pid_t self = getpid();

	while (zy_pool_n < zy_pool_size) {
		unsigned long long st = 0;
		int sv[2], rc;
		pid_t pid;

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return;
		pid = fork();
		if (pid == 0)
			warm_main(sv[1], self);
		close(sv[1]);
		if (pid < 0) {
			close(sv[0]);
			return;
		}
		spawn_proc_starttime(pid, &st);
		rc = offer(sv[0], pid, st);
		close(sv[0]); /* the daemon's copy is the only one: EOF ends it with the daemon */
		if (rc < 0) {
			kill(pid, SIGKILL);
			return;
		}
		zy_pool_n++;
	}
}

static int zy_serve_one(void)
{
	struct spawn_request d = { 0 };
	struct zy_reply rep = { .err = -EBADMSG };
	struct pollfd p = { .fd = ZY_FD, .events = POLLIN };
	uint32_t len;
	int rc;

	/* Refill a little after a launch, so that the fork does not compete with it. */
	while (zy_pool_n < zy_pool_size && poll(&p, 1, REFILL_DELAY_MS) == 0) {
		int before = zy_pool_n;

		pool_fill();
		if (zy_pool_n == before)
			break; /* cannot fork now: the next request starts cold */
	}
	rc = io_full(ZY_FD, &len, sizeof(len), false);
	if (rc < 0)
		return rc;
	if (len == 0) { /* the daemon took (or dropped) a warm supervisor: refill */
		if (zy_pool_n > 0)
			zy_pool_n--;
		return 0;
	}
	if (len > MAX_REQUEST || !(d.buf = malloc(len ? len : 1)))
		return -ENOMEM;
	rc = io_full(ZY_FD, d.buf, len, false);
	if (rc == 0 && spawn_request_decode(&d, len) == 0)
		rep = zy_start(&d.t);
	spawn_request_free(&d);
	return rc < 0 ? rc : io_full(ZY_FD, &rep, sizeof(rep), true);
}

static void __attribute__((noreturn)) zy_main(int sock, int offers, pid_t parent, int pool,
					      const char *stage_dir)
{
	static const char title[] = "berth-zygote";
	sigset_t none;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* Above the fixed fds first, so that placing one never closes the other. */
	sock = fcntl(sock, F_DUPFD_CLOEXEC, 64);
	offers = fcntl(offers, F_DUPFD_CLOEXEC, 64);
	if (getppid() != parent || sock < 0 || offers < 0 || dup2(sock, ZY_FD) < 0 ||
	    dup2(offers, ZY_OFFER_FD) < 0)
		_exit(0);
	close_range(ZY_OFFER_FD + 1, ~0U, 0);
	setsid();
	if (chdir("/") < 0)
		_exit(1);
	spawn_reset_signals();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN); /* supervisors are reaped automatically */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	spawn_set_title(title, title);
	spawn_launch_boost();
	zy_pool_size = pool < 0 ? 0 : pool > POOL_MAX ? POOL_MAX : pool;
	zy_stage_dir = stage_dir; /* our copy of the caller's memory */
	pool_fill();
	while (zy_serve_one() == 0)
		;
	_exit(0); /* warm supervisors see EOF (and PDEATHSIG) and end */
}

int spawn_zygote_start(struct spawn_zygote **out)
{
	return spawn_zygote_start_pool(out, 0, NULL);
}

int spawn_zygote_start_pool(struct spawn_zygote **out, int pool, const char *stage_dir)
{
	struct spawn_zygote *z = calloc(1, sizeof(*z));
	pid_t parent = getpid();
	int sv[2], ov[2], rc;

	if (!z)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		free(z);
		log_error("spawn: failed to create zygote socket: %s", strerror(-rc));
		return rc;
	}
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, ov) < 0) {
		rc = -errno;
		close(sv[0]);
		close(sv[1]);
		free(z);
		log_error("spawn: failed to create zygote socket: %s", strerror(-rc));
		return rc;
	}
	z->pid = fork();
	if (z->pid == 0)
		zy_main(sv[1], ov[1], parent, pool, stage_dir);
	rc = z->pid < 0 ? -errno : 0;
	close(sv[1]);
	close(ov[1]);
	if (rc < 0) {
		close(sv[0]);
		close(ov[0]);
		free(z);
		log_error("spawn: failed to fork zygote: %s", strerror(-rc));
		return rc;
	}
	z->fd = sv[0];
	z->offer_fd = ov[0];
	*out = z;
	return 0;
}

pid_t spawn_zygote_pid(const struct spawn_zygote *z)
{
	return z ? z->pid : -1;
}

void spawn_zygote_free(struct spawn_zygote *z)
{
	if (!z)
		return;
	for (int i = 0; i < z->n_warm; i++)
		close(z->warm[i].fd); /* EOF ends a warm supervisor */
	close(z->offer_fd);
	close(z->fd); /* EOF ends the zygote */
	waitpid(z->pid, NULL, 0);
	free(z);
}

/* Collects the warm supervisors the zygote has offered since the last launch. */
static void offers_take(struct spawn_zygote *z)
{
	for (;;) {
		struct zy_offer o;
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u;
		struct iovec iov = { .iov_base = &o, .iov_len = sizeof(o) };
		struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf) };
		struct cmsghdr *c;
		ssize_t n = recvmsg(z->offer_fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		int fd = -1;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		c = CMSG_FIRSTHDR(&m);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
		if (fd < 0)
			continue;
		if (n != (ssize_t)sizeof(o) || z->n_warm == POOL_MAX) {
			close(fd);
			continue;
		}
		z->warm[z->n_warm++] = (struct zy_warm){ .fd = fd, .pid = o.pid,
							 .starttime = o.starttime };
	}
}

/* Takes warm supervisor i out of the pool; the zygote is told (no reply) to fork a
 * replacement. */
static struct zy_warm warm_take(struct spawn_zygote *z, int i)
{
	static const uint32_t taken = 0;
	struct zy_warm c = z->warm[i];

	memmove(z->warm + i, z->warm + i + 1, (size_t)(--z->n_warm - i) * sizeof(c));
	send(z->fd, &taken, sizeof(taken), MSG_NOSIGNAL | MSG_DONTWAIT);
	return c;
}

/* The oldest warm supervisor armed with key (key 0: the oldest unarmed one, else the oldest of
 * all), or -1. */
static int warm_pick(const struct spawn_zygote *z, uint64_t key)
{
	for (int i = 0; i < z->n_warm; i++)
		if (z->warm[i].armed == key)
			return i;
	return key || !z->n_warm ? -1 : 0;
}

/* Writes the encoded request (w: its length first) straight to a live warm supervisor (the one
 * armed for it, with key; else the oldest), without a round trip through the zygote. False
 * when none took it. */
static bool warm_start(struct spawn_zygote *z, struct wr *w, uint64_t key,
		       struct spawn_result *res)
{
	uint32_t len;
	int i;

	offers_take(z);
	memcpy(&len, w->p, sizeof(len));
	while ((i = warm_pick(z, key)) >= 0 || (key && (i = warm_pick(z, 0)) >= 0)) {
		struct zy_warm c = warm_take(z, i);
		uint32_t hdr = len | (key && c.armed == key ? SPAWN_WARM_MSG_ARMED : 0);
		bool ok;

		key = 0; /* the armed one only once */
		memcpy(w->p, &hdr, sizeof(hdr));
		ok = c.starttime && spawn_init_alive(c.pid, c.starttime) &&
		     io_full(c.fd, w->p, w->len, true) == 0;
		close(c.fd);
		if (ok) {
			res->init_pid = c.pid;
			res->init_starttime = c.starttime;
			return true;
		}
	}
	return false;
}

int spawn_zygote_arm(struct spawn_zygote *z, const char *rootfs, const char *upper,
		     const char *work, const char *merged, const char *run_dir, uint64_t *key)
{
	uint32_t hdr = SPAWN_WARM_MSG_ARM | (uint32_t)sizeof(struct spawn_arm);
	struct spawn_arm *a;
	int i, rc;

	if (!z)
		return -ENOENT;
	offers_take(z);
	/* The newest unarmed one: the oldest are taken first by tasks it was not made for. */
	for (i = z->n_warm - 1; i >= 0 && z->warm[i].armed; i--)
		;
	if (i < 0)
		return -ENOENT;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	if ((size_t)snprintf(a->rootfs, sizeof(a->rootfs), "%s", rootfs) >= sizeof(a->rootfs) ||
	    (size_t)snprintf(a->upper, sizeof(a->upper), "%s", upper) >= sizeof(a->upper) ||
	    (size_t)snprintf(a->work, sizeof(a->work), "%s", work) >= sizeof(a->work) ||
	    (size_t)snprintf(a->merged, sizeof(a->merged), "%s", merged) >= sizeof(a->merged) ||
	    (size_t)snprintf(a->run_dir, sizeof(a->run_dir), "%s", run_dir) >= sizeof(a->run_dir)) {
		free(a);
		return -ENAMETOOLONG;
	}
	/* Its socket is empty (it waits for a task): both fit its buffer, the send never waits. */
	rc = io_full(z->warm[i].fd, &hdr, sizeof(hdr), true);
	if (rc == 0)
		rc = io_full(z->warm[i].fd, a, sizeof(*a), true);
	free(a);
	if (rc < 0) {
		close(warm_take(z, i).fd); /* gone, or its socket is in disorder */
		return rc;
	}
	z->warm[i].armed = *key = ++zy_last_key;
	return 0;
}

int spawn_zygote_unarmed(struct spawn_zygote *z)
{
	int n = 0;

	if (!z)
		return 0;
	offers_take(z);
	for (int i = 0; i < z->n_warm; i++)
		n += !z->warm[i].armed;
	return n;
}

bool spawn_zygote_armed(struct spawn_zygote *z, uint64_t key)
{
	if (!z || !key)
		return false;
	offers_take(z);
	for (int i = 0; i < z->n_warm; i++)
		if (z->warm[i].armed == key)
			return spawn_init_alive(z->warm[i].pid, z->warm[i].starttime);
	return false;
}

void spawn_zygote_disarm(struct spawn_zygote *z, uint64_t key)
{
	int i;

	if (z && key && (i = warm_pick(z, key)) >= 0)
		close(warm_take(z, i).fd); /* EOF ends it, and its container with it */
}

int spawn_zygote_task_start(struct spawn_zygote *z, const struct spawn_task *t,
			    struct spawn_result *res)
{
	struct wr w = { 0 };
	struct zy_reply rep;
	int rc;

	if (!z || !t || !res)
		return -EINVAL;
	rc = spawn_check_task(t);
	if (rc < 0)
		return rc;
	wr_task(&w, t);
	if (!w.bad && !t->host_network && warm_start(z, &w, t->warm_key, res)) {
		free(w.p);
		return 0;
	}
	rc = w.bad ? -ENOMEM : io_full(z->fd, w.p, w.len, true);
	if (rc == 0)
		rc = io_full(z->fd, &rep, sizeof(rep), false);
	free(w.p);
	if (rc == 0)
		rc = rep.err;
	if (rc < 0) {
		log_error("spawn: failed to start task %s through the zygote: %s",
			  t->task_id ? t->task_id : "?", strerror(-rc));
		return rc;
	}
	res->init_pid = rep.pid;
	res->init_starttime = rep.starttime;
	return 0;
}
