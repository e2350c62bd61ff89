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
	l->cg_hash = NULL;
	l->scratch = NULL;
}

void bpf_loader_count_oom(struct bpf_loader *l, uint64_t id)
{
	struct bpf_cgroup *c = find(l, id);

	if (c)
		c->oom_kills++;
}

/* Sums the per-CPU copies of one value (all u64 fields) into out. */
static int lookup_sum(struct bpf_loader *l, int fd, uint64_t id, void *out, size_t size)
{
	size_t stride = (size + 7) & ~(size_t)7, words = size / sizeof(uint64_t);
	uint64_t *sum = out;

	if (bpf_map_lookup_elem(fd, &id, l->scratch) < 0)
		return -errno;
	memset(out, 0, size);
	for (int cpu = 0; cpu < l->ncpu; cpu++) {
		const uint64_t *v = (const uint64_t *)((const char *)l->scratch + stride * (size_t)cpu);
		for (size_t w = 0; w < words; w++)
			sum[w] += v[w];
	}
	return 0;
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
	double t0 = mono();
	struct net_stats n;
	struct runq_stats r;
	struct proc_stats p;
	struct blk_stats b;

	memset(out, 0, sizeof(*out));
	if (!c)
		return -ENOENT;
	if (l->net && lookup_sum(l, bpf_map__fd(l->net->maps.net_stats), id, &n, sizeof(n)) == 0) {
		out->have |= 1u << BPF_PROBE_NETWORK;
		out->net_rx_bytes = n.rx_bytes;
		out->net_rx_packets = n.rx_packets;
		out->net_tx_bytes = n.tx_bytes;
		out->net_tx_packets = n.tx_packets;
	}
	if (l->runq && lookup_sum(l, bpf_map__fd(l->runq->maps.runq_stats), id, &r, sizeof(r)) == 0) {
		out->have |= 1u << BPF_PROBE_SCHED;
		memcpy(out->runq, r.slots, sizeof(out->runq));
		out->runq_count = r.count;
		out->runq_sum_ns = r.sum_ns;
		out->oncpu_ns = r.oncpu_ns;
	}
	if (l->procs && lookup_sum(l, bpf_map__fd(l->procs->maps.proc_stats), id, &p, sizeof(p)) == 0) {
		out->have |= 1u << BPF_PROBE_PROCS;
		out->forks = p.forks;
		out->execs = p.execs;
		out->exits = p.exits;
		out->exits_signaled = p.exits_signaled;
		out->exits_failed = p.exits_failed;
	}
	if (l->blk && lookup_sum(l, bpf_map__fd(l->blk->maps.blk_stats), id, &b, sizeof(b)) == 0) {
		out->have |= 1u << BPF_PROBE_BLKIO;
		out->blk_read_bytes = b.read_bytes;
		out->blk_write_bytes = b.write_bytes;
		out->blk_reads = b.reads;
		out->blk_writes = b.writes;
		memcpy(out->blk, b.slots, sizeof(out->blk));
		out->blk_count = b.count;
		out->blk_sum_ns = b.sum_ns;
	}
	if (l->oom) {
		out->have |= 1u << BPF_PROBE_OOM;
		out->oom_kills = c->oom_kills;
	}
	l->stats.reads++;
	l->stats.read_seconds += mono() - t0;
	return 0;
}
