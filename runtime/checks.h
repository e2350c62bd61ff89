/* SPDX-License-Identifier: MIT */
/* checks.h: runs each container's health check on the daemon's loop and keeps task health. */
#ifndef BERTH_CHECKS_H
#define BERTH_CHECKS_H

#include <stddef.h>

#include "runtime/runtime.h"

struct spawn_status;

/* Starts checking container idx of t (when its definition has a healthCheck): the first check
 * one second after start, then every interval. st is the container's ".started" status.
 * Failures are logged; the container then stays UNKNOWN. */
void rt_checks_start(struct runtime *rt, struct rt_task *t, size_t idx,
		     const struct spawn_status *st);
/* Stops checking container idx of t (SIZE_MAX: every container); kills a running check. */
void rt_checks_stop(struct runtime *rt, struct rt_task *t, size_t idx);

#endif
