// SPDX-License-Identifier: GPL-2.0 OR MIT
/* runqlat.bpf.c: run-queue latency (wakeup -> switch-in) and on-CPU time per cgroup. */
#include "common.bpf.h"
#include "runqlat.h"

#define TASK_RUNNING 0

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct runq_stats);
} runq_stats SEC(".maps");

/* When each runnable task of a followed cgroup was woken or preempted (0: not waiting). Task
 * storage lives on the task itself: no global hash, no lock, freed when the task goes. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} runq_start SEC(".maps");

/* When the running task of each CPU was switched in, if it belongs to a followed cgroup. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} oncpu_since SEC(".maps");

static __always_inline void enqueued(struct task_struct *p)
{
	__u64 id = task_cgroup_id(p), *ts;

	if (!bpf_map_lookup_elem(&runq_stats, &id))
		return;
	ts = bpf_task_storage_get(&runq_start, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (ts)
		*ts = bpf_ktime_get_ns();
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
	/* The tracepoint fires before the switch: prev is still current. */
	__u64 prev_id = bpf_get_current_cgroup_id(), next_id = task_cgroup_id(next), now, *since, *ts;
	struct runq_stats *ps = bpf_map_lookup_elem(&runq_stats, &prev_id);
	struct runq_stats *ns = bpf_map_lookup_elem(&runq_stats, &next_id);
	__u32 zero = 0;

	/* Neither side followed: the rest of the host costs two lookups. (The barrier keeps
	 * clang from OR-ing the two pointers, which the verifier refuses.) */
	barrier_var(ps);
	if (!ps && !ns)
		return 0;
	now = bpf_ktime_get_ns();
	since = bpf_map_lookup_elem(&oncpu_since, &zero);
	if (ps) {
		if (since && *since && now > *since)
			ps->oncpu_ns += now - *since;
		/* Preempted while runnable: it waits in the run queue from now. */
		if (prev_state == TASK_RUNNING) {
			ts = bpf_task_storage_get(&runq_start, prev, 0,
						  BPF_LOCAL_STORAGE_GET_F_CREATE);
			if (ts)
				*ts = now;
		}
	}
	if (since)
		*since = ns ? now : 0;
	if (!ns)
		return 0;
	ts = bpf_task_storage_get(&runq_start, next, 0, 0);
	if (ts && *ts && now > *ts) {
		__u64 d = now - *ts;
		__u32 slot = log2_u64(d / 1000);
		if (slot >= RUNQ_SLOTS)
			slot = RUNQ_SLOTS - 1;
		ns->slots[slot] += 1;
		ns->count += 1;
		ns->sum_ns += d;
	}
	if (ts)
		*ts = 0;
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
