// SPDX-License-Identifier: GPL-2.0 OR MIT
/* oomkill.bpf.c: oom/mark_victim -> ring buffer, with the victim's pid, cgroup and memory. */
#include "common.bpf.h"
#include "oomkill.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} oom_events SEC(".maps");

static __always_inline void fill(struct oom_event *e, struct task_struct *t)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);

	e->cgroup_id = task_cgroup_id(t);
	e->pid = BPF_CORE_READ(t, pid);
	e->tgid = BPF_CORE_READ(t, tgid);
	e->oom_score_adj = BPF_CORE_READ(t, signal, oom_score_adj);
	BPF_CORE_READ_STR_INTO(&e->comm, t, comm);
	if (!mm)
		return;
	e->total_vm_pages = BPF_CORE_READ(mm, total_vm);
	e->hiwater_rss_pages = BPF_CORE_READ(mm, hiwater_rss);
	/* Kernels from 6.2 keep the counters in percpu_counters (their count is near enough);
	 * older ones in a struct of atomics, not read here. */
	if (bpf_core_field_size(mm->rss_stat) == sizeof(mm->rss_stat)) {
		struct percpu_counter rss[4];
		if (bpf_core_read(&rss, sizeof(rss), &mm->rss_stat) == 0)
			e->rss_pages = (unsigned long long)(rss[0].count + rss[1].count +
							    rss[3].count);
	}
}

/* Kernels from 6.8: the victim's task. */
SEC("tp_btf/mark_victim")
int BPF_PROG(berth_oom_victim, struct task_struct *victim)
{
	struct oom_event *e = bpf_ringbuf_reserve(&oom_events, sizeof(*e), 0);

	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill(e, victim);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* Older kernels: only the victim's pid. */
SEC("tp_btf/mark_victim")
int BPF_PROG(berth_oom_victim_pid, int pid)
{
	struct oom_event *e = bpf_ringbuf_reserve(&oom_events, sizeof(*e), 0);

	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	fill(e, bpf_get_current_task_btf());
	e->pid = pid;
	e->tgid = pid;
	e->flags = OOM_EV_FROM_KILLER;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
