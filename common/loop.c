/* SPDX-License-Identifier: MIT */
/* loop.c: epoll event loop with timerfd timers. */
#include "common/loop.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

const double loop_stall_bounds[LOOP_STALL_BUCKETS] = {
	0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

int loop_init(struct loop *l)
{
	memset(l, 0, sizeof(*l));
	l->log_stall_ms = 100;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void loop_close(struct loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

int loop_io_start(struct loop *l, struct loop_io *io, int fd, uint32_t events,
		  loop_io_cb cb, void *data)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	io->loop = l;
	io->fd = fd;
	io->cb = cb;
	io->data = data;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int loop_io_modify(struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (epoll_ctl(io->loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return -errno;
	return 0;
}

void loop_io_stop(struct loop_io *io)
{
	struct loop *l = io->loop;

	if (l && io->fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	if (l)
		for (int i = 0; i < l->batch_n; i++)
			if (l->batch[i].data.ptr == io)
				l->batch[i].data.ptr = NULL;
	io->loop = NULL;
}

static void timer_ready(struct loop_io *io, uint32_t events)
{
	struct loop_timer *t = io->data;
	uint64_t n;

	(void)events;
	if (read(io->fd, &n, sizeof(n)) < 0 && errno == EAGAIN)
		return;
	t->cb(t);
}

int loop_timer_init(struct loop *l, struct loop_timer *t, void (*cb)(struct loop_timer *),
		    void *data)
{
	int fd, ret;

	t->cb = cb;
	t->data = data;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = loop_io_start(l, &t->io, fd, EPOLLIN, timer_ready, t);
	if (ret < 0)
		close(fd);
	return ret;
}

int loop_timer_arm(struct loop_timer *t, uint64_t first_ms, uint64_t repeat_ms)
{
	struct itimerspec its = {
		.it_value = { (time_t)(first_ms / 1000), (long)(first_ms % 1000) * 1000000L },
		.it_interval = { (time_t)(repeat_ms / 1000), (long)(repeat_ms % 1000) * 1000000L },
	};

	/* A zero it_value disarms; "now" is expressed as one nanosecond. */
	if (first_ms == 0 && repeat_ms == 0)
		its.it_value.tv_nsec = 0;
	if (timerfd_settime(t->io.fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

void loop_timer_close(struct loop_timer *t)
{
	if (t->io.fd < 0 || !t->io.loop)
		return;
	loop_io_stop(&t->io);
	close(t->io.fd);
	t->io.fd = -1;
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The function a watcher runs: a timer's own callback rather than the timerfd reader. */
static void *callback_of(const struct loop_io *io)
{
	if (io->cb == timer_ready)
		return (void *)((const struct loop_timer *)io->data)->cb;
	return (void *)io->cb;
}

static void stall_log(const void *fn, double seconds)
{
	Dl_info di;

	if (dladdr(fn, &di) && di.dli_fbase)
		log_info("loop: a callback (%s+%#lx) ran %.0f ms while other events waited",
			 strrchr(di.dli_fname, '/') ? strrchr(di.dli_fname, '/') + 1 : di.dli_fname,
			 (unsigned long)((const char *)fn - (const char *)di.dli_fbase), seconds * 1e3);
	else
		log_info("loop: a callback (%p) ran %.0f ms while other events waited", fn,
			 seconds * 1e3);
}

static void stall_count(struct loop *l, const void *fn, double seconds)
{
	struct loop_stats *s = &l->stats;
	int i = 0;

	while (i < LOOP_STALL_BUCKETS && seconds > loop_stall_bounds[i])
		i++;
	s->counts[i]++;
	s->callbacks++;
	s->sum_seconds += seconds;
	if (seconds > s->max_seconds)
		s->max_seconds = seconds;
	if (l->log_stall_ms && seconds * 1e3 > l->log_stall_ms)
		stall_log(fn, seconds);
}

int loop_run_once(struct loop *l, int timeout_ms)
{
	struct epoll_event evs[LOOP_BATCH];
	int n;

	n = epoll_wait(l->epfd, evs, LOOP_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	l->batch = evs;
	l->batch_n = n;
	for (int i = 0; i < n; i++) {
		struct loop_io *io = evs[i].data.ptr;
		const void *fn;
		double t0;

		if (!io)   /* stopped by an earlier callback of this batch */
			continue;
		fn = callback_of(io);
		t0 = now_seconds();
		io->cb(io, evs[i].events);
		stall_count(l, fn, now_seconds() - t0);
	}
	l->batch = NULL;
	l->batch_n = 0;
	return n;
}

int loop_run(struct loop *l)
{
	while (!l->stop) {
		int ret = loop_run_once(l, -1);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}
