/* SPDX-License-Identifier: MIT */
/* loop.c: epoll event loop with timerfd timers. */
#include "common/loop.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

int loop_init(struct loop *l)
{
	memset(l, 0, sizeof(*l));
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
		if (io)   /* NULL: stopped by an earlier callback of this batch */
			io->cb(io, evs[i].events);
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
