/* SPDX-License-Identifier: MIT */
/* loop.h: the single epoll event loop that owns all of berthd's state (fds, timers). */
#ifndef BERTH_LOOP_H
#define BERTH_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct loop;
struct loop_io;
typedef void (*loop_io_cb)(struct loop_io *io, uint32_t events);

/* A watched fd; caller-owned, must stay valid while watched. */
struct loop_io {
	struct loop *loop;
	int fd;
	loop_io_cb cb;
	void *data;
};

/* A timer backed by a timerfd; caller-owned. */
struct loop_timer {
	struct loop_io io;
	void (*cb)(struct loop_timer *t);
	void *data;
};

#define LOOP_BATCH 64

/* Upper bounds (seconds) of the stall histogram's buckets; the last bucket is +Inf. */
#define LOOP_STALL_BUCKETS 10
extern const double loop_stall_bounds[LOOP_STALL_BUCKETS];

/* Time spent in single callbacks: while one runs, every other ready fd (an HTTP request, a
 * timer) waits. counts[i] holds the callbacks of at most loop_stall_bounds[i] seconds (not
 * cumulative), counts[LOOP_STALL_BUCKETS] the longer ones. */
struct loop_stats {
	uint64_t counts[LOOP_STALL_BUCKETS + 1];
	uint64_t callbacks;
	double sum_seconds, max_seconds;
};

struct loop {
	int epfd;
	bool stop;
	struct loop_stats stats;
	/* A callback longer than this (ms, 0 = never) is logged at info level with its address
	 * (resolve with addr2line -e berthd). */
	unsigned log_stall_ms;
	/* The events being dispatched: a watcher stopped by a callback is struck out of it, so
	 * an event already fetched for it is never delivered to freed memory. */
	struct epoll_event *batch;
	int batch_n;
};

/* Returns 0 or -errno. */
int loop_init(struct loop *l);
void loop_close(struct loop *l);

/* Watches io->fd for events (EPOLLIN...); io is filled from the arguments. 0 or -errno. */
int loop_io_start(struct loop *l, struct loop_io *io, int fd, uint32_t events,
		  loop_io_cb cb, void *data);
int loop_io_modify(struct loop_io *io, uint32_t events);
/* Stops watching (does not close the fd); idempotent. */
void loop_io_stop(struct loop_io *io);

/* One-shot after first_ms (0 = disarmed), then every repeat_ms when non-zero. 0 or -errno. */
int loop_timer_init(struct loop *l, struct loop_timer *t, void (*cb)(struct loop_timer *),
		    void *data);
int loop_timer_arm(struct loop_timer *t, uint64_t first_ms, uint64_t repeat_ms);
/* Disarms and closes the timerfd; idempotent. */
void loop_timer_close(struct loop_timer *t);

/* Runs until loop_stop(); returns 0 or -errno from epoll_wait. */
int loop_run(struct loop *l);
/* Runs one iteration waiting at most timeout_ms (-1 forever). */
int loop_run_once(struct loop *l, int timeout_ms);
void loop_stop(struct loop *l);

#endif
