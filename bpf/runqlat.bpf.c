// SPDX-License-Identifier: GPL-2.0 OR MIT
/* runqlat.bpf.c: run-queue latency (wakeup -> switch-in) and on-CPU time per cgroup. */
#include "common.bpf.h"
#include "runqlat.h"

#define TASK_RUNNING 0

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct runq_stats);
} runq_stats SEC(".maps");

/* Wakeup times of runnable tasks of followed cgroups; LRU so that a lost switch-in cannot
 * fill it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} runq_start SEC(".maps");

/* When the running task of each CPU was switched in. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} oncpu_since SEC(".maps");

static __always_inline void enqueued(struct task_struct *p)
{
	__u64 id = task_cgroup_id(p), ts;
	__u32 pid = BPF_CORE_READ(p, pid);

	if (!pid || !bpf_map_lookup_elem(&runq_stats, &id))
		return;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&runq_start, &pid, &ts, BPF_ANY);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(berth_runq_wakeup, struct task_struct *p)
{
	enqueued(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(berth_runq_wakeup_new, struct task_struct *p)
{
	enqueued(p);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(berth_runq_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u64 now = bpf_ktime_get_ns(), id, *since, *start;
	__u32 zero = 0, pid;
	struct runq_stats *s;

	since = bpf_map_lookup_elem(&oncpu_since, &zero);
	if (since) {
		id = task_cgroup_id(prev);
		s = bpf_map_lookup_elem(&runq_stats, &id);
		if (s && *since && now > *since)
			s->oncpu_ns += now - *since;
		*since = now;
		/* Preempted while runnable: it waits in the run queue from now. */
		if (s && prev_state == TASK_RUNNING) {
			pid = BPF_CORE_READ(prev, pid);
			if (pid)
				bpf_map_update_elem(&runq_start, &pid, &now, BPF_ANY);
		}
	}
	pid = BPF_CORE_READ(next, pid);
	start = bpf_map_lookup_elem(&runq_start, &pid);
	if (!start)
		return 0;
	id = task_cgroup_id(next);
	s = bpf_map_lookup_elem(&runq_stats, &id);
	if (s && now > *start) {
		__u64 d = now - *start;
		__u32 slot = log2_u64(d / 1000);
		if (slot >= RUNQ_SLOTS)
			slot = RUNQ_SLOTS - 1;
		s->slots[slot] += 1;
		s->count += 1;
		s->sum_ns += d;
	}
	bpf_map_delete_elem(&runq_start, &pid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
