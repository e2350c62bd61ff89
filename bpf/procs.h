/* SPDX-License-Identifier: MIT */
/* procs.h: process lifecycle counters and exit events per cgroup (shared with the loader). */
#ifndef BERTH_PROCS_H
#define BERTH_PROCS_H

struct proc_stats {
	unsigned long long forks, execs, exits;
	unsigned long long exits_signaled;  /* ended by a signal */
	unsigned long long exits_failed;    /* exited with a non-zero code */
};

struct proc_exit_event {
	unsigned long long cgroup_id;
	unsigned int pid;
	int exit_code;                      /* the wait status: code << 8 | signal */
	char comm[16];
};

#endif
