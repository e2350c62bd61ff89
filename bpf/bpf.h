/* SPDX-License-Identifier: MIT */
/* bpf.h: the eBPF loader - berth's probes, their status, per-cgroup counters and events. */
#ifndef BERTH_BPF_H
#define BERTH_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/loop.h"

/*
 * Five probes, each its own CO-RE program set (bpf/<name>.bpf.c), loaded through libbpf
 * skeletons. Each one that the configuration enables is loaded on its own: a probe the kernel
 * refuses (no CAP_BPF, no BTF, a missing hook) is down with a reason, logged once, and the
 * others work. Counters are kept per cgroup2 id (the inode number of a directory in the unified
 * tree) in per-CPU hash maps whose entries the loader makes for the cgroups it follows and
 * removes when they go: the programs only add to existing entries, so the maps hold berth's
 * cgroups and nothing else. OOM kills and process exits arrive through ring buffers watched on
 * the caller's loop (no threads).
 */

enum bpf_probe {
	BPF_PROBE_NETWORK,   /* cgroup_skb ingress/egress: bytes, packets */
	BPF_PROBE_SCHED,     /* tp_btf sched_wakeup(_new)/sched_switch: run-queue latency, on-CPU */
	BPF_PROBE_OOM,       /* tp_btf oom/mark_victim: OOM kill events */
	BPF_PROBE_PROCS,     /* tp_btf sched_process_fork/exec/exit: counts, exit events */
	BPF_PROBE_BLKIO,     /* tp_btf block_getrq/block_rq_issue/block_rq_complete */
	BPF_PROBE_COUNT,
};

/* Log2 histograms: slot i counts values in [2^i, 2^(i+1)) microseconds (slot 0 also holds 0),
 * the last slot everything longer. */
#define BPF_HIST_SLOTS 32

/* Cumulative counters of one cgroup since it was followed. */
struct bpf_counters {
	unsigned have;                        /* bit (1u << enum bpf_probe): values present */
	uint64_t net_rx_bytes, net_rx_packets, net_tx_bytes, net_tx_packets;
	uint64_t runq[BPF_HIST_SLOTS];        /* run-queue latency histogram */
	uint64_t runq_count, runq_sum_ns;
	uint64_t oncpu_ns;
	uint64_t forks, execs, exits, exits_signaled, exits_failed;
	uint64_t oom_kills;
	uint64_t blk_read_bytes, blk_write_bytes, blk_reads, blk_writes;
	uint64_t blk[BPF_HIST_SLOTS];         /* block request latency histogram */
	uint64_t blk_count, blk_sum_ns;
};

enum bpf_event_type { BPF_EVENT_OOM_KILL, BPF_EVENT_EXIT };

struct bpf_event {
	enum bpf_event_type type;
	uint64_t cgroup_id;                   /* the process's cgroup2 id */
	pid_t pid;                            /* host pid (the process, not a thread) */
	char comm[16];
	/* OOM kills: the victim's memory when it was chosen. */
	uint64_t total_vm_bytes, rss_bytes, hiwater_rss_bytes;
	int oom_score_adj;
	bool cgroup_of_killer;                /* old kernels: cgroup is the allocating task's */
	/* Exits. */
	int exit_code;                        /* exit status when exit_signal is 0 */
	int exit_signal;                      /* the signal that ended it, or 0 */
};

typedef void (*bpf_event_fn)(void *ctx, const struct bpf_event *ev);

struct bpf_cgroup;
struct bpf_link;
struct ring_buffer;

struct bpf_loader_stats {
	uint64_t reads;                       /* counter reads answered */
	uint64_t refreshes;                   /* bpf_loader_refresh calls */
	double read_seconds;                  /* time spent reading the maps */
	uint64_t events, oom_events, exit_events;
	uint64_t cgroups;                     /* cgroups followed now */
	uint64_t map_full;                    /* cgroups not followed: a map was full */
};

/* Caller-owned; zero it or bpf_loader_init() it. */
struct bpf_loader {
	struct loop *loop;
	bool enabled[BPF_PROBE_COUNT];        /* by configuration */
	bool sched_wakeups;                   /* bpf_sched_wakeups: the sched probe's own stamps */
	bool up[BPF_PROBE_COUNT];
	char reason[BPF_PROBE_COUNT][200];    /* why down, or what is attached */
	struct netstat_bpf *net;
	struct runqlat_bpf *runq;
	struct oomkill_bpf *oom;
	struct procs_bpf *procs;
	struct blkio_bpf *blk;
	struct ring_buffer *oom_rb, *procs_rb;
	struct loop_io oom_io, procs_io;
	bool oom_io_on, procs_io_on;
	int ncpu;
	void *scratch;                        /* per-CPU values of one lookup */
	size_t scratch_len;
	void *batch_keys, *batch_vals;        /* bpf_loader_refresh's buffers */
	size_t batch_cap, batch_vals_len;
	struct bpf_cgroup *cgroups;           /* followed, in a list (few thousand at most) */
	struct bpf_cgroup **cg_hash;          /* by cgroup id */
	size_t cg_hash_size;
	size_t max_cgroups;
	bpf_event_fn on_event;
	void *event_ctx;
	struct bpf_loader_stats stats;
};

/* Loads and attaches the probes cfg enables (bpf, bpf_network, ...; cfg NULL = all) and watches
 * their ring buffers on loop (NULL: call bpf_loader_poll yourself). Never fails for the kernel's
 * sake: a probe that cannot load is down with a reason (bpf_loader_reason), logged once as a
 * warning. Returns 0, or -ENOMEM with nothing left to close. */
int bpf_loader_init(struct bpf_loader *l, const struct config *cfg, struct loop *loop);
/* Detaches and frees everything; idempotent, a zeroed loader is fine. */
void bpf_loader_close(struct bpf_loader *l);

/* Detaches the tracing programs of the probes that are up (they stay loaded, their maps and
 * the cgroups followed are kept; the network programs stay on their cgroups: remove a cgroup to
 * detach those) or attaches them again; what the probes cost can so be measured against
 * nothing in one process. Returns 0 or the first -errno (the probes attached stay so). */
int bpf_loader_set_attached(struct bpf_loader *l, bool on);

/* "network", "sched", "oom", "procs", "blkio" (static strings). */
const char *bpf_probe_name(enum bpf_probe p);
bool bpf_loader_up(const struct bpf_loader *l, enum bpf_probe p);
/* Why p is down ("switched off by bpf_network=false", the kernel's refusal...), or what it
 * attached when up. Borrowed. */
const char *bpf_loader_reason(const struct bpf_loader *l, enum bpf_probe p);
/* How many probes are up. */
int bpf_loader_up_count(const struct bpf_loader *l);

/* Sets the callback told of OOM kills and process exits in followed cgroups. */
void bpf_loader_on_event(struct bpf_loader *l, bpf_event_fn fn, void *ctx);
/* Reads what the ring buffers hold now and calls the callback; the loop does this by itself.
 * Returns the number of events or -errno. */
int bpf_loader_poll(struct bpf_loader *l);

/* Follows the cgroup2 directory path (absolute, e.g. /sys/fs/cgroup/unified/berth.slice/c/T)
 * and its direct child directories: attaches the network programs to path (its descendants
 * inherit them) and makes zeroed counters for each directory's cgroup id. Calling it again
 * picks up children made since. Returns 0, -ENOENT when path does not exist, -ENOSPC when the
 * maps are full (bpf_max_cgroups), or -errno; a loader without probes returns 0. */
int bpf_loader_cgroup_add(struct bpf_loader *l, const char *path);
/* Detaches from path and forgets the counters of it and the children followed with it (the
 * directories may be gone already). Returns 0 or -ENOENT when path was not followed. */
int bpf_loader_cgroup_remove(struct bpf_loader *l, const char *path);
/* Whether cgroup id is followed. */
bool bpf_loader_follows(const struct bpf_loader *l, uint64_t id);

/* Sums the per-CPU counters of cgroup id into *out, read from the maps now (a lookup per
 * probe). Returns 0, or -ENOENT when id is not followed (out zeroed). */
int bpf_loader_read(struct bpf_loader *l, uint64_t id, struct bpf_counters *out);
/* Reads every followed cgroup's counters in one pass: each map in batches of whole buckets (a
 * few system calls for thousands of cgroups), summed into a cache that bpf_loader_cached()
 * answers from. Returns 0 or -errno (the cache then holds what was read). */
int bpf_loader_refresh(struct bpf_loader *l);
/* The counters of cgroup id as of the last bpf_loader_refresh (OOM kills as of now). Returns 0,
 * or -ENOENT when id is not followed (out zeroed). */
int bpf_loader_cached(struct bpf_loader *l, uint64_t id, struct bpf_counters *out);

/* The cgroup2 id of an absolute cgroup2 directory path; 0 or -errno. */
int bpf_cgroup_id_of(const char *path, uint64_t *id);

/* The upper bound in seconds of histogram slot i: 2^(i+1) microseconds; +Inf for the last. */
double bpf_hist_upper(int slot);
/* The q-quantile (0 < q <= 1) of a log2 histogram in seconds, interpolated linearly inside the
 * slot that holds it (the last slot reads as its lower bound); NaN when the histogram is
 * empty. */
double bpf_hist_quantile(const uint64_t *slots, size_t n, double q);
/* d = a - b slot by slot; a slot that went backwards (a reset) counts a's value. */
void bpf_hist_delta(const uint64_t *a, const uint64_t *b, uint64_t *d, size_t n);

#endif
