// SPDX-License-Identifier: GPL-2.0 OR MIT
/* procs.bpf.c: forks, execs and process exits (with code or signal) per cgroup. */
#include "common.bpf.h"
#include "procs.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct proc_stats);
} proc_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} proc_events SEC(".maps");

SEC("tp_btf/sched_process_fork")
int BPF_PROG(berth_proc_fork, struct task_struct *parent, struct task_struct *child)
{
	__u64 id = bpf_get_current_cgroup_id();
	struct proc_stats *s = bpf_map_lookup_elem(&proc_stats, &id);

	if (s)
		s->forks += 1;
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(berth_proc_exec, struct task_struct *p)
{
	__u64 id = bpf_get_current_cgroup_id();
	struct proc_stats *s = bpf_map_lookup_elem(&proc_stats, &id);

	if (s)
		s->execs += 1;
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(berth_proc_exit, struct task_struct *p)
{
	__u64 id = bpf_get_current_cgroup_id();
	struct proc_stats *s = bpf_map_lookup_elem(&proc_stats, &id);
	struct proc_exit_event *e;
	int code;

	/* A process ends when its thread group leader does; other threads are not counted. */
	if (!s || BPF_CORE_READ(p, pid) != BPF_CORE_READ(p, tgid))
		return 0;
	code = BPF_CORE_READ(p, exit_code);
	s->exits += 1;
	if (code & 0x7f)
		s->exits_signaled += 1;
	else if (code >> 8)
		s->exits_failed += 1;
	e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->cgroup_id = id;
	e->pid = BPF_CORE_READ(p, tgid);
	e->exit_code = code;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
