/* SPDX-License-Identifier: MIT */
/* loader.c: loads berth's eBPF probes one by one, keeps their status, drains their ring buffers. */
#include "bpf/bpf.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "bpf/loader_internal.h"
#include "common/log.h"

static const char *const probe_names[BPF_PROBE_COUNT] = {
	"network", "sched", "oom", "procs", "blkio",
};

const char *bpf_probe_name(enum bpf_probe p)
{
	return (unsigned)p < BPF_PROBE_COUNT ? probe_names[p] : "?";
}

bool bpf_loader_up(const struct bpf_loader *l, enum bpf_probe p)
{
	return (unsigned)p < BPF_PROBE_COUNT && l->up[p];
}

const char *bpf_loader_reason(const struct bpf_loader *l, enum bpf_probe p)
{
	return (unsigned)p < BPF_PROBE_COUNT ? l->reason[p] : "";
}

int bpf_loader_up_count(const struct bpf_loader *l)
{
	int n = 0;

	for (int i = 0; i < BPF_PROBE_COUNT; i++)
		n += l->up[i];
	return n;
}

void bpf_loader_on_event(struct bpf_loader *l, bpf_event_fn fn, void *ctx)
{
	l->on_event = fn;
	l->event_ctx = ctx;
}

/* libbpf's own messages: its warnings explain a refusal, so they go to the debug log. */
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	log_debug("bpf: libbpf: %s", line);
	return 0;
}

static void why(struct bpf_loader *l, enum bpf_probe p, const char *what, int err)
{
	err = err < 0 ? -err : err;
	snprintf(l->reason[p], sizeof(l->reason[p]), "%s: %s%s", what, strerror(err),
		 err == EPERM ? " (needs CAP_BPF and CAP_PERFMON, or root)" : "");
}

/* Common steps of a skeleton: the per-cgroup map sized, loaded, attached. */
#define LOAD_SKEL(l, p, field, type, stats_map, attach)                                       \
	do {                                                                                  \
		int r_;                                                                       \
		struct type *s_ = type##__open();                                             \
		if (!s_) {                                                                    \
			why(l, p, "cannot open the BPF object", errno);                      \
			break;                                                                \
		}                                                                             \
		if (stats_map)                                                                \
			bpf_map__set_max_entries(stats_map, (__u32)(l)->max_cgroups);         \
		r_ = probe_prepare(l, p, s_, s_->obj);                                        \
		if (r_ == 0 && (r_ = type##__load(s_)) < 0)                                    \
			why(l, p, "the kernel refused to load the programs", r_);            \
		else if (r_ == 0 && (attach) && (r_ = type##__attach(s_)) < 0)                \
			why(l, p, "the kernel refused to attach the programs", r_);          \
		if (r_ < 0) {                                                                 \
			type##__destroy(s_);                                                  \
			break;                                                                \
		}                                                                             \
		(l)->field = s_;                                                              \
		(l)->up[p] = true;                                                            \
	} while (0)

static int oom_variant(struct bpf_loader *l, struct bpf_object *obj)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	bool task_arg = false;
	int id;

	if (!btf) {
		why(l, BPF_PROBE_OOM, "no kernel BTF", errno);
		return -ENOENT;
	}
	id = btf__find_by_name_kind(btf, "btf_trace_mark_victim", BTF_KIND_TYPEDEF);
	t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	t = t ? btf__type_by_id(btf, t->type) : NULL;           /* pointer */
	t = t && btf_is_ptr(t) ? btf__type_by_id(btf, t->type) : NULL; /* func proto */
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 2) {
		snprintf(l->reason[BPF_PROBE_OOM], sizeof(l->reason[0]),
			 "the kernel has no oom/mark_victim tracepoint");
		btf__free(btf);
		return -ENOENT;
	}
	t = btf__type_by_id(btf, btf_params(t)[1].type);
	while (t && (btf_is_mod(t) || btf_is_typedef(t)))
		t = btf__type_by_id(btf, t->type);
	task_arg = t && btf_is_ptr(t);
	btf__free(btf);
	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, "berth_oom_victim"),
				  task_arg);
	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, "berth_oom_victim_pid"),
				  !task_arg);
	return 0;
}

/* Whether struct name of the kernel's BTF has a member called member. */
static bool has_member(const struct btf *btf, const char *name, const char *member)
{
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;

	for (int i = 0; t && i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, btf_members(t)[i].name_off), member))
			return true;
	return false;
}

/* Whether the kernel keeps when each task was queued (sched_info.last_queued, in the clock of
 * the run queue) and a task leads to its run queue (se.cfs_rq->rq): the sched probe then
 * needs sched_switch alone. */
static bool kernel_queued(const struct btf *btf)
{
	return has_member(btf, "sched_info", "last_queued") &&
	       has_member(btf, "task_struct", "sched_info") &&
	       has_member(btf, "sched_entity", "cfs_rq") && has_member(btf, "cfs_rq", "rq") &&
	       has_member(btf, "rq", "clock");
}

static int sched_variant(struct bpf_loader *l, struct runqlat_bpf *s)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool queued;

	if (!btf) {
		why(l, BPF_PROBE_SCHED, "no kernel BTF", errno);
		return -ENOENT;
	}
	queued = l->sched_wakeups ? false : kernel_queued(btf);
	s->rodata->rq_clock_task = has_member(btf, "sched_entity", "cfs_rq") &&
				   has_member(btf, "cfs_rq", "rq") && has_member(btf, "rq", "clock_task");
	btf__free(btf);
	s->rodata->kernel_queued = queued;
	bpf_program__set_autoload(s->progs.berth_runq_wakeup, !queued);
	bpf_program__set_autoload(s->progs.berth_runq_wakeup_new, !queued);
	return 0;
}

/* block_io_start where the kernel has it (6.5), else block_getrq. */
static int blk_variant(struct bpf_loader *l, struct bpf_object *obj)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool io_start;

	if (!btf) {
		why(l, BPF_PROBE_BLKIO, "no kernel BTF", errno);
		return -ENOENT;
	}
	io_start = btf__find_by_name_kind(btf, "btf_trace_block_io_start", BTF_KIND_TYPEDEF) > 0;
	btf__free(btf);
	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, "berth_blk_io_start"),
				  io_start);
	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, "berth_blk_getrq"),
				  !io_start);
	return 0;
}

static int probe_prepare(struct bpf_loader *l, enum bpf_probe p, void *skel,
			 struct bpf_object *obj)
{
	if (p == BPF_PROBE_SCHED)
		return sched_variant(l, skel);
	if (p == BPF_PROBE_OOM)
		return oom_variant(l, obj);
	if (p == BPF_PROBE_BLKIO)
		return blk_variant(l, obj);
	return 0;
}

static void on_ring(struct loop_io *io, uint32_t events)
{
	struct ring_buffer *rb = io->data;

	(void)events;
	ring_buffer__consume(rb);
}

static int oom_event(void *ctx, void *data, size_t len)
{
	struct bpf_loader *l = ctx;
	const struct oom_event *e = data;
	struct bpf_event ev = { .type = BPF_EVENT_OOM_KILL };

	if (len < sizeof(*e))
		return 0;
	ev.cgroup_id = e->cgroup_id;
	ev.pid = (pid_t)e->tgid;
	memcpy(ev.comm, e->comm, sizeof(ev.comm));
	ev.comm[sizeof(ev.comm) - 1] = '\0';
	ev.total_vm_bytes = e->total_vm_pages * 4096ull;
	ev.rss_bytes = e->rss_pages * 4096ull;
	ev.hiwater_rss_bytes = e->hiwater_rss_pages * 4096ull;
	ev.oom_score_adj = e->oom_score_adj;
	ev.cgroup_of_killer = e->flags & OOM_EV_FROM_KILLER;
	l->stats.events++;
	l->stats.oom_events++;
	bpf_loader_count_oom(l, ev.cgroup_id);
	log_info("bpf: OOM kill of pid %d (%s) in cgroup %llu: rss %llu KiB, address space %llu KiB",
		 (int)ev.pid, ev.comm, (unsigned long long)ev.cgroup_id,
		 (unsigned long long)(ev.rss_bytes >> 10),
		 (unsigned long long)(ev.total_vm_bytes >> 10));
	if (l->on_event)
		l->on_event(l->event_ctx, &ev);
	return 0;
}

static int exit_event(void *ctx, void *data, size_t len)
{
	struct bpf_loader *l = ctx;
	const struct proc_exit_event *e = data;
	struct bpf_event ev = { .type = BPF_EVENT_EXIT };

	if (len < sizeof(*e))
		return 0;
	ev.cgroup_id = e->cgroup_id;
	ev.pid = (pid_t)e->pid;
	memcpy(ev.comm, e->comm, sizeof(ev.comm));
	ev.comm[sizeof(ev.comm) - 1] = '\0';
	ev.exit_signal = e->exit_code & 0x7f;
	ev.exit_code = (e->exit_code >> 8) & 0xff;
	l->stats.events++;
	l->stats.exit_events++;
	if (l->on_event)
		l->on_event(l->event_ctx, &ev);
	return 0;
}

static int ring_start(struct bpf_loader *l, enum bpf_probe p, struct bpf_map *map,
		      ring_buffer_sample_fn fn, struct ring_buffer **rb, struct loop_io *io,
		      bool *on)
{
	int ret;

	*rb = ring_buffer__new(bpf_map__fd(map), fn, l, NULL);
	if (!*rb) {
		why(l, p, "cannot map the ring buffer", errno);
		return -errno;
	}
	if (!l->loop)
		return 0;
	ret = loop_io_start(l->loop, io, ring_buffer__epoll_fd(*rb), EPOLLIN, on_ring, *rb);
	if (ret < 0) {
		why(l, p, "cannot watch the ring buffer", ret);
		return ret;
	}
	*on = true;
	return 0;
}

int bpf_loader_poll(struct bpf_loader *l)
{
	int n = 0, r;

	if (l->oom_rb && (r = ring_buffer__consume(l->oom_rb)) > 0)
		n += r;
	if (l->procs_rb && (r = ring_buffer__consume(l->procs_rb)) > 0)
		n += r;
	return n;
}

static void load_all(struct bpf_loader *l)
{
	if (l->enabled[BPF_PROBE_NETWORK])
		LOAD_SKEL(l, BPF_PROBE_NETWORK, net, netstat_bpf, s_->maps.net_stats, false);
	if (l->enabled[BPF_PROBE_SCHED])
		LOAD_SKEL(l, BPF_PROBE_SCHED, runq, runqlat_bpf, s_->maps.runq_stats, true);
	if (l->enabled[BPF_PROBE_OOM])
		LOAD_SKEL(l, BPF_PROBE_OOM, oom, oomkill_bpf, (struct bpf_map *)NULL, true);
	if (l->enabled[BPF_PROBE_PROCS])
		LOAD_SKEL(l, BPF_PROBE_PROCS, procs, procs_bpf, s_->maps.proc_stats, true);
	if (l->enabled[BPF_PROBE_BLKIO])
		LOAD_SKEL(l, BPF_PROBE_BLKIO, blk, blkio_bpf, s_->maps.blk_stats, true);
	if (l->oom && ring_start(l, BPF_PROBE_OOM, l->oom->maps.oom_events, oom_event, &l->oom_rb,
				 &l->oom_io, &l->oom_io_on) < 0) {
		l->up[BPF_PROBE_OOM] = false;
		oomkill_bpf__destroy(l->oom);
		l->oom = NULL;
	}
	if (l->procs && ring_start(l, BPF_PROBE_PROCS, l->procs->maps.proc_events, exit_event,
				   &l->procs_rb, &l->procs_io, &l->procs_io_on) < 0) {
		l->up[BPF_PROBE_PROCS] = false;
		procs_bpf__destroy(l->procs);
		l->procs = NULL;
	}
}

static const char *const attached[BPF_PROBE_COUNT] = {
	"cgroup_skb ingress/egress on each task cgroup",
	"tp_btf sched_wakeup, sched_wakeup_new, sched_switch",
	"tp_btf oom/mark_victim",
	"tp_btf sched_process_fork, sched_process_exec, sched_process_exit",
	"tp_btf block_io_start (or block_getrq), block_rq_issue, block_rq_complete",
};

int bpf_loader_init(struct bpf_loader *l, const struct config *cfg, struct loop *loop)
{
	const int64_t on[BPF_PROBE_COUNT] = {
		cfg ? cfg->bpf_network : 1, cfg ? cfg->bpf_sched : 1, cfg ? cfg->bpf_oom : 1,
		cfg ? cfg->bpf_procs : 1, cfg ? cfg->bpf_blkio : 1,
	};
	libbpf_print_fn_t old;
	int ret;

	memset(l, 0, sizeof(*l));
	l->loop = loop;
	l->max_cgroups = cfg && cfg->bpf_max_cgroups > 0 ? (size_t)cfg->bpf_max_cgroups : 4096;
	l->sched_wakeups = cfg && cfg->bpf_sched_wakeups;
	ret = bpf_loader_tables_init(l);
	if (ret < 0)
		return ret;
	for (int p = 0; p < BPF_PROBE_COUNT; p++) {
		l->enabled[p] = (!cfg || cfg->bpf) && on[p];
		if (!l->enabled[p])
			snprintf(l->reason[p], sizeof(l->reason[p]), "switched off by %s",
				 cfg && !cfg->bpf ? "bpf=false" : p == BPF_PROBE_NETWORK ?
				 "bpf_network=false" : p == BPF_PROBE_SCHED ? "bpf_sched=false" :
				 p == BPF_PROBE_OOM ? "bpf_oom=false" : p == BPF_PROBE_PROCS ?
				 "bpf_procs=false" : "bpf_blkio=false");
	}
	old = libbpf_set_print(libbpf_log);
	load_all(l);
	libbpf_set_print(old);
	for (int p = 0; p < BPF_PROBE_COUNT; p++) {
		if (l->up[p] && p == BPF_PROBE_SCHED && l->runq->rodata->kernel_queued)
			snprintf(l->reason[p], sizeof(l->reason[p]),
				 "tp_btf sched_switch (waits from the kernel's sched_info)");
		else if (l->up[p])
			snprintf(l->reason[p], sizeof(l->reason[p]), "%s", attached[p]);
		else if (l->enabled[p])
			log_warn("bpf: probe %s is missing: %s", probe_names[p], l->reason[p]);
	}
	log_info("bpf: %d of %d probes up%s", bpf_loader_up_count(l), BPF_PROBE_COUNT,
		 cfg && !cfg->bpf ? " (bpf=false)" : "");
	return 0;
}

int bpf_loader_set_attached(struct bpf_loader *l, bool on)
{
	int ret = 0, r;

#define SET(skel, type)                                                                       \
	do {                                                                                  \
		if (!(skel))                                                                  \
			break;                                                                \
		if (!on) {                                                                    \
			type##__detach(skel);                                                 \
			break;                                                                \
		}                                                                             \
		if ((r = type##__attach(skel)) < 0 && ret == 0)                               \
			ret = r;                                                              \
	} while (0)
	if (on && l->runq) {
		/* Forget which task was on each CPU when the programs were detached. */
		__u32 zero = 0;
		memset(l->scratch, 0, l->scratch_len);
		bpf_map_update_elem(bpf_map__fd(l->runq->maps.oncpu), &zero, l->scratch, BPF_ANY);
	}
	SET(l->runq, runqlat_bpf);
	SET(l->oom, oomkill_bpf);
	SET(l->procs, procs_bpf);
	SET(l->blk, blkio_bpf);
#undef SET
	return ret;
}

void bpf_loader_close(struct bpf_loader *l)
{
	bpf_loader_tables_close(l);
	if (l->oom_io_on)
		loop_io_stop(&l->oom_io);
	if (l->procs_io_on)
		loop_io_stop(&l->procs_io);
	l->oom_io_on = l->procs_io_on = false;
	ring_buffer__free(l->oom_rb);
	ring_buffer__free(l->procs_rb);
	l->oom_rb = l->procs_rb = NULL;
	netstat_bpf__destroy(l->net);
	runqlat_bpf__destroy(l->runq);
	oomkill_bpf__destroy(l->oom);
	procs_bpf__destroy(l->procs);
	blkio_bpf__destroy(l->blk);
	l->net = NULL;
	l->runq = NULL;
	l->oom = NULL;
	l->procs = NULL;
	l->blk = NULL;
	memset(l->up, 0, sizeof(l->up));
}
