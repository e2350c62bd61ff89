/* SPDX-License-Identifier: MIT */
/* runqlat.h: run-queue latency and on-CPU time per cgroup (shared with the loader). */
#ifndef BERTH_RUNQLAT_H
#define BERTH_RUNQLAT_H

/* Slot i counts latencies in [2^i, 2^(i+1)) microseconds (slot 0 also holds 0); the last slot
 * everything longer. */
#define RUNQ_SLOTS 32

struct runq_stats {
	unsigned long long slots[RUNQ_SLOTS];
	unsigned long long count, sum_ns;   /* switch-ins measured, their total wait */
	unsigned long long oncpu_ns;        /* time its tasks spent running */
};

#endif
