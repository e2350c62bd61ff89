/* SPDX-License-Identifier: MIT */
/* loader_cgroup.c: the cgroups the probes follow - map entries, network links, counter reads. */
#include "bpf/loader_internal.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

int bpf_cgroup_id_of(const char *path, uint64_t *id)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h;
	struct stat st;
	int mnt;

	/* A kernfs file handle is the 64-bit cgroup id; the inode number equals it on 64-bit. */
	h.fh.handle_bytes = sizeof(uint64_t);
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt, 0) == 0 &&
	    h.fh.handle_bytes == sizeof(uint64_t)) {
		memcpy(id, h.fh.f_handle, sizeof(uint64_t));
		return 0;
	}
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*id = (uint64_t)st.st_ino;
	return 0;
}

static size_t slot_of(const struct bpf_loader *l, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 20) % l->cg_hash_size;
}

int bpf_loader_tables_init(struct bpf_loader *l)
{
	int ncpu = libbpf_num_possible_cpus();
	size_t biggest = sizeof(struct runq_stats);

	if (sizeof(struct blk_stats) > biggest)
		biggest = sizeof(struct blk_stats);
	l->ncpu = ncpu > 0 ? ncpu : 1;
	l->cg_hash_size = 4096;
	l->cg_hash = calloc(l->cg_hash_size, sizeof(*l->cg_hash));
	l->scratch_len = ((biggest + 7) & ~(size_t)7) * (size_t)l->ncpu;
	l->scratch = malloc(l->scratch_len);
	if (!l->cg_hash || !l->scratch) {
		free(l->cg_hash);
		free(l->scratch);
		l->cg_hash = NULL;
		l->scratch = NULL;
		return -ENOMEM;
	}
	return 0;
}

static struct bpf_cgroup *find(const struct bpf_loader *l, uint64_t id)
{
	if (!l->cg_hash)
		return NULL;
	for (struct bpf_cgroup *c = l->cg_hash[slot_of(l, id)]; c; c = c->hnext)
		if (c->id == id)
			return c;
	return NULL;
}

bool bpf_loader_follows(const struct bpf_loader *l, uint64_t id)
{
	return find(l, id) != NULL;
}

/* The per-cgroup maps of the probes that are up, with their value sizes. */
static int stats_maps(const struct bpf_loader *l, int *fds, size_t *sizes)
{
	int n = 0;

	if (l->net) {
		fds[n] = bpf_map__fd(l->net->maps.net_stats);
		sizes[n++] = sizeof(struct net_stats);
	}
	if (l->runq) {
		fds[n] = bpf_map__fd(l->runq->maps.runq_stats);
		sizes[n++] = sizeof(struct runq_stats);
	}
	if (l->procs) {
		fds[n] = bpf_map__fd(l->procs->maps.proc_stats);
		sizes[n++] = sizeof(struct proc_stats);
	}
	if (l->blk) {
		fds[n] = bpf_map__fd(l->blk->maps.blk_stats);
		sizes[n++] = sizeof(struct blk_stats);
	}
	return n;
}

static void entries_delete(struct bpf_loader *l, uint64_t id)
{
	int fds[4];
	size_t sizes[4];
	int n = stats_maps(l, fds, sizes);

	for (int i = 0; i < n; i++)
		bpf_map_delete_elem(fds[i], &id);
}

static int entries_make(struct bpf_loader *l, uint64_t id)
{
	int fds[4];
	size_t sizes[4];
	int n = stats_maps(l, fds, sizes);

	memset(l->scratch, 0, l->scratch_len);
	for (int i = 0; i < n; i++) {
		if (bpf_map_update_elem(fds[i], &id, l->scratch, BPF_NOEXIST) == 0 ||
		    errno == EEXIST)
			continue;
		int err = errno == E2BIG ? ENOSPC : errno;
		entries_delete(l, id);
		return -err;
	}
	return 0;
}

static void cgroup_free(struct bpf_loader *l, struct bpf_cgroup *c)
{
	for (int i = 0; i < 2; i++)
		bpf_link__destroy(c->links[i]);
	entries_delete(l, c->id);
	free(c->path);
	free(c);
}

static void unlink_cg(struct bpf_loader *l, struct bpf_cgroup *c)
{
	for (struct bpf_cgroup **pp = &l->cg_hash[slot_of(l, c->id)]; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	for (struct bpf_cgroup **pp = &l->cgroups; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	l->stats.cgroups--;
}

/* Follows one directory; *out is the entry (new or existing). */
static int follow(struct bpf_loader *l, const char *path, struct bpf_cgroup *owner,
		  struct bpf_cgroup **out)
{
	struct bpf_cgroup *c;
	uint64_t id;
	int ret = bpf_cgroup_id_of(path, &id);

	if (ret < 0)
		return ret;
	if ((c = find(l, id))) {
		*out = c;
		return 0;
	}
	if (l->stats.cgroups >= l->max_cgroups) {
		l->stats.map_full++;
		return -ENOSPC;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(path))) {
		free(c);
		return -ENOMEM;
	}
	c->id = id;
	c->owner = owner;
	ret = entries_make(l, id);
	if (ret < 0) {
		if (ret == -ENOSPC)
			l->stats.map_full++;
		free(c->path);
		free(c);
		return ret;
	}
	c->hnext = l->cg_hash[slot_of(l, id)];
	l->cg_hash[slot_of(l, id)] = c;
	c->next = l->cgroups;
	l->cgroups = c;
	l->stats.cgroups++;
	*out = c;
	return 0;
}

static int attach_net(struct bpf_loader *l, struct bpf_cgroup *c)
{
	struct bpf_program *progs[2];
	int fd, ret = 0;

	if (!l->net || c->links[0])
		return 0;
	progs[0] = l->net->progs.berth_net_ingress;
	progs[1] = l->net->progs.berth_net_egress;
	fd = open(c->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (int i = 0; i < 2 && ret == 0; i++) {
		c->links[i] = bpf_program__attach_cgroup(progs[i], fd);
		if (!c->links[i])
			ret = -errno;
	}
	close(fd);
	if (ret < 0) {
		for (int i = 0; i < 2; i++) {
			bpf_link__destroy(c->links[i]);
			c->links[i] = NULL;
		}
		log_warn("bpf: failed to attach the network programs to %s: %s", c->path,
			 strerror(-ret));
	}
	return ret;
}

int bpf_loader_cgroup_add(struct bpf_loader *l, const char *path)
{
	struct bpf_cgroup *top, *child;
	struct dirent *de;
	DIR *d;
	int ret;

	if (!bpf_loader_up_count(l) || !l->cg_hash)
		return 0;
	ret = follow(l, path, NULL, &top);
	if (ret < 0)
		return ret;
	ret = attach_net(l, top);
	d = opendir(path);
	if (!d)
		return ret;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];
		int r;
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		r = follow(l, sub, top, &child);
		if (r < 0 && r != -ENOENT && ret == 0)
			ret = r;
	}
	closedir(d);
	return ret;
}

int bpf_loader_cgroup_remove(struct bpf_loader *l, const char *path)
{
	struct bpf_cgroup *top = NULL;

	for (struct bpf_cgroup *c = l->cgroups; c; c = c->next)
		if (!c->owner && !strcmp(c->path, path))
			top = c;
	if (!top)
		return -ENOENT;
	for (struct bpf_cgroup **pp = &l->cgroups; *pp;) {
		struct bpf_cgroup *c = *pp;
		if (c->owner != top) {
			pp = &c->next;
			continue;
		}
		unlink_cg(l, c);
		cgroup_free(l, c);
	}
	unlink_cg(l, top);
	cgroup_free(l, top);
	return 0;
}

void bpf_loader_tables_close(struct bpf_loader *l)
{
	while (l->cgroups) {
		struct bpf_cgroup *c = l->cgroups;
		unlink_cg(l, c);
		cgroup_free(l, c);
	}
	free(l->cg_hash);
	free(l->scratch);
	free(l->batch_keys);
	free(l->batch_vals);
	l->cg_hash = NULL;
	l->scratch = NULL;
	l->batch_keys = l->batch_vals = NULL;
	l->batch_cap = l->batch_vals_len = 0;
}

void bpf_loader_count_oom(struct bpf_loader *l, uint64_t id)
{
	struct bpf_cgroup *c = find(l, id);

	if (c)
		c->oom_kills++;
}

static void from_net(struct bpf_counters *o, const void *v)
{
	const struct net_stats *n = v;

	o->have |= 1u << BPF_PROBE_NETWORK;
	o->net_rx_bytes = n->rx_bytes;
	o->net_rx_packets = n->rx_packets;
	o->net_tx_bytes = n->tx_bytes;
	o->net_tx_packets = n->tx_packets;
}

static void from_runq(struct bpf_counters *o, const void *v)
{
	const struct runq_stats *r = v;

	o->have |= 1u << BPF_PROBE_SCHED;
	memcpy(o->runq, r->slots, sizeof(o->runq));
	o->runq_count = r->count;
	o->runq_sum_ns = r->sum_ns;
	o->oncpu_ns = r->oncpu_ns;
}

static void from_procs(struct bpf_counters *o, const void *v)
{
	const struct proc_stats *p = v;

	o->have |= 1u << BPF_PROBE_PROCS;
	o->forks = p->forks;
	o->execs = p->execs;
	o->exits = p->exits;
	o->exits_signaled = p->exits_signaled;
	o->exits_failed = p->exits_failed;
}

static void from_blk(struct bpf_counters *o, const void *v)
{
	const struct blk_stats *b = v;

	o->have |= 1u << BPF_PROBE_BLKIO;
	o->blk_read_bytes = b->read_bytes;
	o->blk_write_bytes = b->write_bytes;
	o->blk_reads = b->reads;
	o->blk_writes = b->writes;
	memcpy(o->blk, b->slots, sizeof(o->blk));
	o->blk_count = b->count;
	o->blk_sum_ns = b->sum_ns;
}

typedef void (*from_fn)(struct bpf_counters *o, const void *v);

/* The per-cgroup maps of the probes that are up, their value sizes and converters. */
static int maps_of(const struct bpf_loader *l, int *fds, size_t *sizes, from_fn *fns)
{
	int n = 0;

	if (l->net) {
		fds[n] = bpf_map__fd(l->net->maps.net_stats);
		sizes[n] = sizeof(struct net_stats);
		fns[n++] = from_net;
	}
	if (l->runq) {
		fds[n] = bpf_map__fd(l->runq->maps.runq_stats);
		sizes[n] = sizeof(struct runq_stats);
		fns[n++] = from_runq;
	}
	if (l->procs) {
		fds[n] = bpf_map__fd(l->procs->maps.proc_stats);
		sizes[n] = sizeof(struct proc_stats);
		fns[n++] = from_procs;
	}
	if (l->blk) {
		fds[n] = bpf_map__fd(l->blk->maps.blk_stats);
		sizes[n] = sizeof(struct blk_stats);
		fns[n++] = from_blk;
	}
	return n;
}

/* Sums ncpu copies (stride bytes apart) of a value of all-u64 fields into out. */
static void sum_cpus(const struct bpf_loader *l, const void *vals, size_t size, void *out)
{
	size_t stride = (size + 7) & ~(size_t)7, words = size / sizeof(uint64_t);
	uint64_t *sum = out;

	memset(out, 0, size);
	for (int cpu = 0; cpu < l->ncpu; cpu++) {
		const uint64_t *v = (const uint64_t *)((const char *)vals + stride * (size_t)cpu);
		for (size_t w = 0; w < words; w++)
			sum[w] += v[w];
	}
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bpf_loader_read(struct bpf_loader *l, uint64_t id, struct bpf_counters *out)
{
	struct bpf_cgroup *c = find(l, id);
	int fds[4];
	size_t sizes[4];
	from_fn fns[4];
	int n = maps_of(l, fds, sizes, fns);
	char sum[sizeof(struct runq_stats) + sizeof(struct blk_stats)];
	double t0 = mono();

	memset(out, 0, sizeof(*out));
	if (!c)
		return -ENOENT;
	for (int i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fds[i], &id, l->scratch) < 0)
			continue;
		sum_cpus(l, l->scratch, sizes[i], sum);
		fns[i](out, sum);
	}
	if (l->oom) {
		out->have |= 1u << BPF_PROBE_OOM;
		out->oom_kills = c->oom_kills;
	}
	l->stats.reads++;
	l->stats.read_seconds += mono() - t0;
	return 0;
}

/* Grows the batch buffers to hold cap entries of stride bytes. */
static int batch_room(struct bpf_loader *l, size_t cap, size_t stride)
{
	void *k, *v;

	if (cap <= l->batch_cap && cap * stride <= l->batch_vals_len)
		return 0;
	k = realloc(l->batch_keys, cap * sizeof(uint64_t));
	if (!k)
		return -ENOMEM;
	l->batch_keys = k;
	v = realloc(l->batch_vals, cap * stride);
	if (!v)
		return -ENOMEM;
	l->batch_vals = v;
	l->batch_cap = cap;
	l->batch_vals_len = cap * stride;
	return 0;
}

/* One map in batches of whole hash buckets; fills the caches of the followed cgroups. */
static int refresh_map(struct bpf_loader *l, int fd, size_t size, from_fn fn)
{
	size_t stride = ((size + 7) & ~(size_t)7) * (size_t)l->ncpu, got = 0, cap;
	char sum[sizeof(struct runq_stats) + sizeof(struct blk_stats)];
	uint64_t out_batch = 0;
	void *in = NULL;
	int ret;

	cap = l->stats.cgroups + 64;
	for (;;) {
		__u32 count;
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		if ((ret = batch_room(l, cap, stride)) < 0)
			return ret;
		count = (__u32)(cap - got);
		ret = bpf_map_lookup_batch(fd, in, &out_batch, (uint64_t *)l->batch_keys + got,
					   (char *)l->batch_vals + got * stride, &count, &opts);
		got += count;
		if (ret < 0 && errno == ENOENT)
			break;                  /* the whole map */
		if (ret < 0 && errno == ENOSPC) {
			cap = cap * 2;          /* a bucket larger than the room left */
			continue;
		}
		if (ret < 0)
			return -errno;
		in = &out_batch;
		if (got >= cap)
			cap = cap * 2;
	}
	for (size_t i = 0; i < got; i++) {
		struct bpf_cgroup *c = find(l, ((uint64_t *)l->batch_keys)[i]);
		if (!c)
			continue;
		sum_cpus(l, (char *)l->batch_vals + i * stride, size, sum);
		fn(&c->cache, sum);
	}
	return 0;
}

int bpf_loader_refresh(struct bpf_loader *l)
{
	int fds[4], n, ret = 0;
	size_t sizes[4];
	from_fn fns[4];
	double t0 = mono();

	n = maps_of(l, fds, sizes, fns);
	for (struct bpf_cgroup *c = l->cgroups; c; c = c->next) {
		c->cache.have = l->oom ? 1u << BPF_PROBE_OOM : 0;
		c->cache.oom_kills = c->oom_kills;
	}
	for (int i = 0; i < n && ret == 0; i++)
		ret = refresh_map(l, fds[i], sizes[i], fns[i]);
	l->stats.refreshes++;
	l->stats.read_seconds += mono() - t0;
	return ret;
}

int bpf_loader_cached(struct bpf_loader *l, uint64_t id, struct bpf_counters *out)
{
	struct bpf_cgroup *c = find(l, id);

	if (!c) {
		memset(out, 0, sizeof(*out));
		return -ENOENT;
	}
	*out = c->cache;
	out->oom_kills = c->oom_kills;
	l->stats.reads++;
	return 0;
}
