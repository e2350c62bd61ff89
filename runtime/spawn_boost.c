/* SPDX-License-Identifier: MIT */
/* spawn_boost.c: the launch priority: a launch's processes run SPAWN_LAUNCH_BOOST nice levels
 * above the daemon until the containers exec (runtime/spawn.h). */
#include <errno.h>
#include <sys/resource.h>

#include "runtime/spawn.h"

static bool spawn_boosted;
static int spawn_base_nice;

void spawn_launch_boost(void)
{
	int nice;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, 0);
	if (errno || setpriority(PRIO_PROCESS, 0, nice - SPAWN_LAUNCH_BOOST < -20 ? -20
					: nice - SPAWN_LAUNCH_BOOST) < 0)
		return; /* not allowed (no CAP_SYS_NICE): launches run at the daemon's nice */
	spawn_boosted = true;
	spawn_base_nice = nice;
}

int spawn_launch_unboost(void)
{
	if (!spawn_boosted)
		return 0;
	if (setpriority(PRIO_PROCESS, 0, spawn_base_nice) < 0)
		return -errno;
	spawn_boosted = false;
	return 0;
}

void spawn_launch_idle(void)
{
	if (spawn_boosted)
		setpriority(PRIO_PROCESS, 0, spawn_base_nice);
}

void spawn_launch_reboost(void)
{
	if (spawn_boosted)
		setpriority(PRIO_PROCESS, 0, spawn_base_nice - SPAWN_LAUNCH_BOOST < -20 ? -20
					     : spawn_base_nice - SPAWN_LAUNCH_BOOST);
}

bool spawn_launch_state(int *base_nice)
{
	*base_nice = spawn_base_nice;
	return spawn_boosted;
}

void spawn_launch_restore(bool boosted, int base_nice)
{
	spawn_boosted = boosted;
	spawn_base_nice = base_nice;
}
