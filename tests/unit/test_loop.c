/* SPDX-License-Identifier: MIT */
/* test_loop.c: the event loop - io watchers, timers, and watchers stopped (and freed) by an
 * earlier callback of the same batch of events. */
#include <stdlib.h>
#include <unistd.h>

#include "common/loop.h"
#include "tests/unit/unit.h"

static int callbacks;
static struct watched *survivor;

struct watched {
	struct loop_io io;
	int fds[2];
	int calls;
	struct watched *victim;       /* stopped and freed by this one's callback */
};

static void on_readable(struct loop_io *io, uint32_t events)
{
	struct watched *w = io->data;
	char c;

	(void)events;
	w->calls++;
	callbacks++;
	survivor = w;
	if (read(w->fds[0], &c, 1) < 0)
		UNIT_FAIL("read: nothing to read");
	if (w->victim) {
		loop_io_stop(&w->victim->io);
		close(w->victim->fds[0]);
		close(w->victim->fds[1]);
		free(w->victim);      /* ASan reports any later use */
		w->victim = NULL;
	}
}

static struct watched *watch(struct loop *l)
{
	struct watched *w = calloc(1, sizeof(*w));

	if (!w || pipe(w->fds) < 0) {
		UNIT_FAIL("pipe");
		return w;
	}
	CHECK_EQ(loop_io_start(l, &w->io, w->fds[0], EPOLLIN, on_readable, w), 0);
	return w;
}

/* Both pipes are readable before the loop runs, so both events come in one batch; whichever
 * callback runs first frees the other watcher, whose event must then be dropped. */
static void test_stop_in_batch(void)
{
	struct loop l;
	struct watched *a, *b;

	CHECK_EQ(loop_init(&l), 0);
	a = watch(&l);
	b = watch(&l);
	a->victim = b;
	b->victim = a;
	CHECK_EQ(write(a->fds[1], "x", 1), 1);
	CHECK_EQ(write(b->fds[1], "x", 1), 1);
	CHECK_EQ(loop_run_once(&l, 1000), 2);
	/* Exactly one ran (it freed the other, whose event was dropped). */
	CHECK_EQ(callbacks, 1);
	CHECK(survivor == a || survivor == b);
	if (survivor) {
		CHECK_EQ(survivor->calls, 1);
		CHECK(survivor->victim == NULL);
		loop_io_stop(&survivor->io);
		close(survivor->fds[0]);
		close(survivor->fds[1]);
		free(survivor);
	}
	loop_close(&l);
}

static int fired;

static void on_timer(struct loop_timer *t)
{
	(void)t;
	fired++;
}

static void test_timer(void)
{
	struct loop l;
	struct loop_timer t;

	CHECK_EQ(loop_init(&l), 0);
	CHECK_EQ(loop_timer_init(&l, &t, on_timer, NULL), 0);
	CHECK_EQ(loop_timer_arm(&t, 1, 0), 0);
	while (fired == 0)
		CHECK(loop_run_once(&l, 1000) >= 0);
	CHECK_EQ(fired, 1);
	/* Disarmed after a one-shot: nothing more within 20 ms. */
	CHECK_EQ(loop_run_once(&l, 20), 0);
	loop_timer_close(&t);
	loop_timer_close(&t);   /* idempotent */
	loop_close(&l);
}

/* Every callback is counted once in the stall histogram, in exactly one bucket. */
static void test_stall_stats(void)
{
	struct loop l;
	struct loop_timer t;
	uint64_t in_buckets = 0;

	fired = 0;
	CHECK_EQ(loop_init(&l), 0);
	CHECK_EQ(l.stats.callbacks, 0);
	CHECK_EQ(loop_timer_init(&l, &t, on_timer, NULL), 0);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(loop_timer_arm(&t, 1, 0), 0);
		while (fired == i)
			CHECK(loop_run_once(&l, 1000) >= 0);
	}
	CHECK_EQ(fired, 3);
	CHECK_EQ(l.stats.callbacks, 3);
	for (int i = 0; i <= LOOP_STALL_BUCKETS; i++)
		in_buckets += l.stats.counts[i];
	CHECK_EQ(in_buckets, 3);
	CHECK(l.stats.sum_seconds >= 0);
	CHECK(l.stats.max_seconds <= l.stats.sum_seconds);
	for (int i = 1; i < LOOP_STALL_BUCKETS; i++)
		CHECK(loop_stall_bounds[i] > loop_stall_bounds[i - 1]);
	loop_timer_close(&t);
	loop_close(&l);
}

UNIT_MAIN(test_stop_in_batch, test_timer, test_stall_stats)
