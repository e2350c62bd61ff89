/* SPDX-License-Identifier: MIT */
/* oomkill.h: the kernel's OOM kill events (shared with the loader). */
#ifndef BERTH_OOMKILL_H
#define BERTH_OOMKILL_H

struct oom_event {
	unsigned long long cgroup_id;       /* the victim's cgroup2 id */
	unsigned long long total_vm_pages;  /* its address space */
	unsigned long long hiwater_rss_pages; /* its peak resident set */
	unsigned long long rss_pages;       /* resident anon + file + shmem pages when known */
	unsigned int pid, tgid;
	int oom_score_adj;
	unsigned int flags;                 /* OOM_EV_* */
	char comm[16];
};

/* The kernel named only the victim's pid (before 6.8): cgroup and memory state are those of
 * the task that ran into the limit, which a memory cgroup's OOM kill picks from. */
#define OOM_EV_FROM_KILLER 1u

#endif
