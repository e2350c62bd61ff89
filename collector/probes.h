/* SPDX-License-Identifier: MIT */
/* probes.h: the collector's side of the eBPF probes, shared by collector.c and probes.c only. */
#ifndef BERTH_COLLECTOR_PROBES_H
#define BERTH_COLLECTOR_PROBES_H

#include "collector/collector.h"

/* Reads the probes' counters of t's containers and fills the task's network, run-queue and
 * (where the cgroup files count nothing) storage columns of t->series->last. */
void collector_bpf_task(struct collector *c, struct col_task *t, double now);
/* True when the sched probe saw no switch-in of the container's threads and no time on a
 * CPU since the previous cycle (one batched pass over the maps per cycle); false when it
 * cannot tell. Call once per container and cycle: it keeps the counters it compares. */
bool collector_bpf_still(struct collector *c, struct col_container *cc);
/* Unhooks from the runtime and closes the loader; a collector without one is fine. */
void collector_bpf_close(struct collector *c);

#endif
