/* SPDX-License-Identifier: MIT */
/* berth-warm: the program of a warm container process, exec'd by its supervisor ahead of the task (see runtime/spawn_warm.c). */
#include "runtime/spawn.h"

int main(int argc, char **argv)
{
	return spawn_warm_main(argc, argv);
}
