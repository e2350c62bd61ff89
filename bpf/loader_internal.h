/* SPDX-License-Identifier: MIT */
/* loader_internal.h: what the loader's files share (not part of the bpf interface). */
#ifndef BERTH_BPF_LOADER_INTERNAL_H
#define BERTH_BPF_LOADER_INTERNAL_H

#include "bpf/bpf.h"

#include "bpf/blkio.h"
#include "bpf/netstat.h"
#include "bpf/oomkill.h"
#include "bpf/procs.h"
#include "bpf/runqlat.h"

#include "bpf/blkio.skel.h"
#include "bpf/netstat.skel.h"
#include "bpf/oomkill.skel.h"
#include "bpf/procs.skel.h"
#include "bpf/runqlat.skel.h"

/* One followed cgroup directory. */
struct bpf_cgroup {
	uint64_t id;
	char *path;
	struct bpf_cgroup *owner;             /* the directory bpf_loader_cgroup_add was given */
	struct bpf_link *links[2];            /* network ingress/egress (owners only) */
	uint64_t oom_kills;
	struct bpf_counters cache;            /* as of the last bpf_loader_refresh */
	struct bpf_cgroup *next, *hnext;
};

/* Hash table and scratch of loader_cgroup.c. 0 or -ENOMEM. */
int bpf_loader_tables_init(struct bpf_loader *l);
/* Detaches every network link and frees the table. */
void bpf_loader_tables_close(struct bpf_loader *l);
/* Counts an OOM kill against a followed cgroup (nothing when not followed). */
void bpf_loader_count_oom(struct bpf_loader *l, uint64_t id);

#endif
