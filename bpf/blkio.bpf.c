// SPDX-License-Identifier: GPL-2.0 OR MIT
/* blkio.bpf.c: block requests per cgroup of the task that submitted them: bytes and latency. */
#include "common.bpf.h"
#include "blkio.h"

#define REQ_OP_MASK 0xff
#define REQ_OP_READ 0
#define REQ_OP_WRITE 1

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct blk_stats);
} blk_stats SEC(".maps");

/* The submitter's cgroup of the bio a request was made for (block_getrq runs in the submitter's
 * context, after any split), until the request is issued. LRU bounds what is never issued. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} bio_cgroup SEC(".maps");

struct rq_start {
	__u64 ts, cgroup_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct rq_start);
} rq_start SEC(".maps");

/* Kernels from 6.5: a request starts in the context of the task that submitted its first bio
 * (also when it comes from the plug's cache of requests, which block_getrq misses). */
SEC("tp_btf/block_io_start")
int BPF_PROG(berth_blk_io_start, struct request *rq)
{
	__u64 id = bpf_get_current_cgroup_id(), key = (__u64)rq;
	struct rq_start s = { .ts = 0, .cgroup_id = id };

	if (bpf_map_lookup_elem(&blk_stats, &id))
		bpf_map_update_elem(&rq_start, &key, &s, BPF_ANY);
	return 0;
}

/* Older kernels: the bio a new request is made for, in the submitter's context. */
SEC("tp_btf/block_getrq")
int BPF_PROG(berth_blk_getrq, struct bio *bio)
{
	__u64 id = bpf_get_current_cgroup_id(), key = (__u64)bio;

	if (bpf_map_lookup_elem(&blk_stats, &id))
		bpf_map_update_elem(&bio_cgroup, &key, &id, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(berth_blk_rq_issue, struct request *rq)
{
	__u64 bio, key = (__u64)rq, *id;
	struct rq_start *st = bpf_map_lookup_elem(&rq_start, &key), s;

	if (st) {
		st->ts = bpf_ktime_get_ns();
		return 0;
	}
	bio = (__u64)BPF_CORE_READ(rq, bio);
	if (!bio || !(id = bpf_map_lookup_elem(&bio_cgroup, &bio)))
		return 0;
	s.ts = bpf_ktime_get_ns();
	s.cgroup_id = *id;
	bpf_map_update_elem(&rq_start, &key, &s, BPF_ANY);
	bpf_map_delete_elem(&bio_cgroup, &bio);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(berth_blk_rq_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns();
	struct rq_start *st = bpf_map_lookup_elem(&rq_start, &key);
	struct blk_stats *s;
	bool last;
	__u32 op, slot;

	if (!st)
		return 0;
	/* A request may complete in parts: bytes count each time, latency once at the end. */
	last = nr_bytes >= BPF_CORE_READ(rq, __data_len);
	s = bpf_map_lookup_elem(&blk_stats, &st->cgroup_id);
	if (s) {
		op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;
		if (op == REQ_OP_READ) {
			s->read_bytes += nr_bytes;
			s->reads += last;
		} else if (op == REQ_OP_WRITE) {
			s->write_bytes += nr_bytes;
			s->writes += last;
		}
		if (last && st->ts && now > st->ts) {
			slot = log2_u64((now - st->ts) / 1000);
			if (slot >= BLK_SLOTS)
				slot = BLK_SLOTS - 1;
			s->slots[slot] += 1;
			s->count += 1;
			s->sum_ns += now - st->ts;
		}
	}
	if (last)
		bpf_map_delete_elem(&rq_start, &key);
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
