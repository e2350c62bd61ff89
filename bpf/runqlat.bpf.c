// SPDX-License-Identifier: GPL-2.0 OR MIT
/* runqlat.bpf.c: run-queue latency (wakeup or preemption -> switch-in) and on-CPU time per
 * cgroup.
 *
 * sched_switch runs at every context switch of the host, so it is kept to the least work: one
 * inlined per-CPU array access and one hash lookup for the rest of the host, the same for a
 * followed task (whose waits are then added to its cgroup's histogram). Where the kernel keeps
 * its own per-task record of when a task was queued (CONFIG_SCHED_INFO: sched_info.last_queued,
 * set at enqueue on a wakeup and when a running task is preempted, in the run queue's clock),
 * that record and the run queue's clock are read at the switch and nothing else is attached:
 * no wakeup program, no clock read, no per-task storage. Kernels without it (the loader tells,
 * from BTF) get wakeup programs that stamp the time into task storage instead. */
#include "common.bpf.h"
#include "runqlat.h"

#define TASK_RUNNING 0

/* Set by the loader before load: the kernel has sched_info.last_queued, and its task group
 * run queues lead to the CPU's run queue (se.cfs_rq->rq, CONFIG_FAIR_GROUP_SCHED). */
const volatile bool kernel_queued = false;

/* The clock of this CPU's run queue, through the task being switched in: every task's
 * se.cfs_rq is its group's run queue on the CPU it is on, whatever its class, and the idle
 * task's the root group's (the per-CPU runqueues symbol itself is not in kallsyms here). */
static __always_inline __u64 rq_clock_of(struct task_struct *next)
{
	return next->se.cfs_rq->rq->clock;
}

/* Set by the loader: the run queue is reachable (se.cfs_rq->rq) and has clock_task, the clock
 * the kernel charges CPU time by (sum_exec_runtime): the run queue's clock less the time spent
 * in interrupts and, in a guest, the time the host stole. On-CPU time reads it, so that a task
 * is not charged for the interrupts of others on its CPU or for a busy host. */
const volatile bool rq_clock_task = false;

static __always_inline __u64 oncpu_clock(struct task_struct *next)
{
	return rq_clock_task ? next->se.cfs_rq->rq->clock_task : bpf_ktime_get_ns();
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct runq_stats);
} runq_stats SEC(".maps");

/* Without kernel_queued: when each runnable task of a followed cgroup was woken or preempted
 * (0: not waiting). Task storage lives on the task itself: no global hash, no lock, freed when
 * the task goes. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} runq_start SEC(".maps");

/* The task running on each CPU, if it belongs to a followed cgroup: its cgroup and since when
 * (id 0: not followed). The next switch on the CPU switches that task out, so the switch needs
 * neither the previous task's cgroup nor a second lookup when both are of one cgroup. */
struct oncpu {
	__u64 cgroup_id, since;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct oncpu);
} oncpu SEC(".maps");

static __always_inline void enqueued(struct task_struct *p)
{
	__u64 id = task_cgroup_id(p), *ts;

	if (!bpf_map_lookup_elem(&runq_stats, &id))
		return;
	ts = bpf_task_storage_get(&runq_start, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (ts)
		*ts = bpf_ktime_get_ns();
}

/* Attached only without kernel_queued. */
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

static __always_inline void waited(struct runq_stats *s, __u64 d)
{
	__u32 slot = log2_u64(d / 1000);

	if (slot >= RUNQ_SLOTS)
		slot = RUNQ_SLOTS - 1;
	s->slots[slot] += 1;
	s->count += 1;
	s->sum_ns += d;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(berth_runq_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 zero = 0;
	struct oncpu *cpu = bpf_map_lookup_elem(&oncpu, &zero);
	struct runq_stats *ps = NULL, *ns;
	__u64 next_id, now = 0, task_now = 0, *ts;

	if (!cpu)
		return 0;
	next_id = task_cgroup_id(next);
	/* The task switched out: its time on the CPU. */
	if (cpu->cgroup_id) {
		now = kernel_queued ? rq_clock_of(next)
				    : bpf_ktime_get_ns();
		task_now = oncpu_clock(next);
		ps = bpf_map_lookup_elem(&runq_stats, &cpu->cgroup_id);
		if (ps && task_now > cpu->since)
			ps->oncpu_ns += task_now - cpu->since;
		/* Preempted while runnable: it waits in the run queue from now (the kernel's
		 * record says so by itself). */
		if (!kernel_queued && ps && prev_state == TASK_RUNNING) {
			ts = bpf_task_storage_get(&runq_start, prev, 0,
						  BPF_LOCAL_STORAGE_GET_F_CREATE);
			if (ts)
				*ts = now;
		}
	}
	/* The rest of the host stops here, after one lookup. */
	ns = next_id == cpu->cgroup_id ? ps : bpf_map_lookup_elem(&runq_stats, &next_id);
	if (!ns) {
		cpu->cgroup_id = 0;
		return 0;
	}
	if (!now) {
		now = kernel_queued ? rq_clock_of(next)
				    : bpf_ktime_get_ns();
		task_now = oncpu_clock(next);
	}
	cpu->cgroup_id = next_id;
	cpu->since = task_now;
	if (kernel_queued) {
		/* Read before the kernel clears it, a moment after this tracepoint, with the same
		 * clock: the wait is exactly what the kernel adds to the task's run_delay. */
		__u64 queued = next->sched_info.last_queued;
		if (queued && now >= queued)
			waited(ns, now - queued);
		return 0;
	}
	ts = bpf_task_storage_get(&runq_start, next, 0, 0);
	if (ts && *ts && now > *ts)
		waited(ns, now - *ts);
	if (ts)
		*ts = 0;
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
