/* SPDX-License-Identifier: MIT */
/* common.bpf.h: helpers shared by berth's BPF programs (kernel side only). */
#ifndef BERTH_COMMON_BPF_H
#define BERTH_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* The cgroup2 id of a task: the inode number of its directory in the unified tree, what
 * bpf_get_current_cgroup_id() returns for the current task. p is a BTF pointer (tp_btf
 * argument): plain loads, relocated by CO-RE, which the JIT turns into guarded moves - no helper
 * call per pointer, as this runs at every wakeup. */
static __always_inline __u64 task_cgroup_id(struct task_struct *p)
{
	return p->cgroups->dfl_cgrp->kn->id;
}

/* log2 of v, rounded down; 0 for 0 and 1. */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

#endif
