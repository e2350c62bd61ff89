/* SPDX-License-Identifier: MIT */
/* collector.c: the sampling cycle - tasks and containers from the runtime, their cgroup files,
 * Container Insights metrics per container/task/service/family/cluster, window and RRD writes. */
#include "collector/collector.h"
#include "collector/probes.h"
#include "collector/window_chunk.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "runtime/service.h"
#include "runtime/taskdef.h"

#define MIB (1024.0 * 1024.0)
#define EXPIRE_EVERY 3600.0
#define RRD_BATCH_SECONDS 900 /* a task file is written about every 15 minutes */
#define RRD_SLICE_MS 20       /* the longest run of RRD writes between two turns of the loop */
#define RRD_FIRST_SECONDS 300 /* and first (which creates it) within 5 minutes of its start */
#define RARE_EVERY 4          /* slow reads between reads of the rarely moving files */
/* Read every slow cycle (~5 s): the inactive file pages of the working set. Every RARE_EVERY
 * slow cycles: events, failcnt, pids, PSI, throttling, user/system split, I/O operations. */
#define MEM_STAT_MASK (1u << CGSTAT_MEM_STAT)

static const int kind_cols[COL_KIND_COUNT] = {
	[COL_CONTAINER] = 2, [COL_TASK] = COL_TASK_COLS, [COL_SERVICE] = COL_METRIC_COUNT,
	[COL_FAMILY] = COL_METRIC_COUNT, [COL_CLUSTER] = COL_METRIC_COUNT,
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned hash_key(enum col_kind kind, const char *cluster, const char *name,
			 const char *container)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind;
	const char *parts[3] = { cluster, name, container };

	for (int i = 0; i < 3; i++) {
		for (const char *p = parts[i] ? parts[i] : ""; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		h = (h ^ 0x1f) * 16777619u;
	}
	return h % COL_HASH_SIZE;
}

static bool same(const char *a, const char *b)
{
	return strcmp(a, b ? b : "") == 0;
}

struct col_series *collector_series_find(struct collector *c, enum col_kind kind,
					 const char *cluster, const char *name,
					 const char *container)
{
	unsigned h = hash_key(kind, cluster, name, container);

	for (struct col_series *s = c->hash[h]; s; s = s->hnext)
		if (s->kind == kind && same(s->cluster, cluster) && same(s->name, name) &&
		    same(s->container, container))
			return s;
	return NULL;
}

/*
 * Window chunks. Chunk j holds cycles [j * COL_CHUNK, (j + 1) * COL_CHUNK); a series keeps the
 * current one raw (open) and the older ones in chunks[j % n_chunks], encoded when the next
 * begins (collector/window_chunk.h: a column that did not change takes 33 bits, a changing one
 * about a bit per unchanged value). A slot of the window holds chunk j or nothing: every series
 * is sealed at every chunk boundary. A chunk encoded to the same bytes as the one before it
 * (a series whose values did not move for both) is the same allocation, counted: a sleeping
 * task's window holds one chunk, not one per 128 cycles.
 */
struct col_chunk {
	uint32_t refs;                /* slots pointing at it */
	uint32_t len;                 /* bytes of bits[] */
	uint8_t bits[];
};

static void chunk_unref(struct collector *c, struct col_chunk *ch)
{
	if (!ch || --ch->refs)
		return;
	c->self.window_bytes -= sizeof(*ch) + ch->len;
	free(ch);
}

/* Encodes s->open into a chunk, or shares prev (any chunk of s, NULL = none) when it encodes
 * the same; NULL on ENOMEM. */
static struct col_chunk *chunk_make(struct collector *c, const struct col_series *s,
				    struct col_chunk *prev)
{
	uint8_t buf[WINDOW_CHUNK_MAX_BYTES(COL_CHUNK, COL_METRIC_COUNT)];
	size_t len = window_chunk_pack(s->open, COL_CHUNK, s->n_cols, buf);
	struct col_chunk *ch;

	if (prev && prev->len == len && memcmp(prev->bits, buf, len) == 0) {
		prev->refs++;
		return prev;
	}
	if (!(ch = malloc(sizeof(*ch) + len)))
		return NULL;
	ch->refs = 1;
	ch->len = (uint32_t)len;
	memcpy(ch->bits, buf, len);
	c->self.window_bytes += sizeof(*ch) + len;
	return ch;
}

float collector_value(struct collector *c, const struct col_series *s, uint64_t k, int col)
{
	uint64_t j = k / COL_CHUNK;
	const struct col_chunk *chunk;

	if (!s || k < s->first_cycle || k > c->cycle || c->cycle - k >= c->cap || col < 0 ||
	    col >= s->n_cols)
		return NAN;
	if (j == c->cycle / COL_CHUNK)
		return s->open[(k % COL_CHUNK) * (size_t)s->n_cols + (size_t)col];
	if (c->dec_series != s || c->dec_chunk != j) {
		chunk = s->chunks[j % c->n_chunks];
		c->dec_series = NULL;
		if (!chunk || !window_chunk_unpack(chunk->bits, chunk->len, COL_CHUNK, s->n_cols,
						   c->dec))
			return NAN;
		c->dec_series = s;
		c->dec_chunk = j;
	}
	return c->dec[(k % COL_CHUNK) * (size_t)s->n_cols + (size_t)col];
}

/* The bytes a series holds besides its compressed chunks. */
static size_t series_bytes(const struct collector *c, const struct col_series *s)
{
	return sizeof(*s) + COL_CHUNK * (size_t)s->n_cols * sizeof(float) +
	       c->n_chunks * sizeof(void *);
}

/* At the first cycle of chunk j + 1: encodes the open chunk j into its slot. */
static void series_seal(struct collector *c, struct col_series *s, uint64_t j)
{
	struct col_chunk **slot = &s->chunks[j % c->n_chunks];
	struct col_chunk *prev = j ? s->chunks[(j - 1) % c->n_chunks] : NULL;

	if (j * COL_CHUNK + COL_CHUNK <= s->first_cycle)
		return; /* nothing of this series in it */
	chunk_unref(c, *slot);
	*slot = chunk_make(c, s, prev);
	if (c->dec_series == s && c->dec_chunk == j)
		c->dec_series = NULL;
}

static void series_free(struct collector *c, struct col_series *s)
{
	if (s->rrd.job)
		s->rrd.job->owner = NULL; /* gone when it comes back */
	if (c->dec_series == s)
		c->dec_series = NULL;
	for (size_t i = 0; s->chunks && i < c->n_chunks; i++)
		chunk_unref(c, s->chunks[i]);
	c->self.window_bytes -= series_bytes(c, s);
	free(s->chunks);
	free(s->open);
	free(s);
	c->series_freed++;
}

/* Copies the strings into one allocation: dst, then each of src[0..n) (NULL = ""), its
 * pointers into ptrs; the caller frees dst. NULL when memory runs out. */
static void *alloc_with_strings(size_t head, const char *const *src, char **ptrs[], size_t n)
{
	size_t len[4], total = head;
	char *p, *base;

	for (size_t i = 0; i < n; i++)
		total += (len[i] = strlen(src[i] ? src[i] : "") + 1);
	if (!(base = calloc(1, total)))
		return NULL;
	p = base + head;
	for (size_t i = 0; i < n; i++) {
		memcpy(p, src[i] ? src[i] : "", len[i]);
		*ptrs[i] = p;
		p += len[i];
	}
	return base;
}

static struct col_series *series_alloc(const char *cluster, const char *name,
				       const char *container)
{
	const char *src[3] = { cluster, name, container };
	struct col_series tmp;
	char **ptrs[3] = { &tmp.cluster, &tmp.name, &tmp.container };
	struct col_series *s = alloc_with_strings(sizeof(*s), src, ptrs, 3);

	if (s) {
		s->cluster = tmp.cluster;
		s->name = tmp.name;
		s->container = tmp.container;
	}
	return s;
}

/* Finds or makes a series; NULL when memory runs out. */
static struct col_series *series_get(struct collector *c, enum col_kind kind, const char *cluster,
				     const char *name, const char *container)
{
	struct col_series *s = collector_series_find(c, kind, cluster, name, container);
	unsigned h;

	if (s)
		return s;
	s = series_alloc(cluster, name, container);
	if (!s)
		return NULL;
	s->n_cols = kind_cols[kind];
	s->open = malloc(COL_CHUNK * (size_t)s->n_cols * sizeof(float));
	s->chunks = calloc(c->n_chunks, sizeof(*s->chunks));
	if (!s->open || !s->chunks) {
		free(s->open);
		free(s->chunks);
		free(s);
		return NULL;
	}
	for (size_t i = 0; i < COL_CHUNK * (size_t)s->n_cols; i++)
		s->open[i] = NAN;
	s->kind = kind;
	s->first_cycle = c->cycle;
	s->rrd_cycle = c->cycle - 1;
	s->active_cycle = 0;
	for (int i = 0; i < COL_METRIC_COUNT; i++)
		s->last[i] = NAN;
	h = hash_key(kind, cluster, name, container);
	s->hnext = c->hash[h];
	c->hash[h] = s;
	s->next = c->series;
	c->series = s;
	c->self.window_bytes += series_bytes(c, s);
	c->series_made++;
	return s;
}

static void series_unlink(struct collector *c, struct col_series *s)
{
	unsigned h = hash_key(s->kind, s->cluster, s->name, s->container);

	for (struct col_series **pp = &c->hash[h]; *pp; pp = &(*pp)->hnext) {
		if (*pp == s) {
			*pp = s->hnext;
			break;
		}
	}
	series_free(c, s);
}

static void task_free(struct col_task *t)
{
	if (t->rrd.job)
		t->rrd.job->owner = NULL; /* gone when it comes back */
	for (size_t i = 0; i < t->n_containers; i++) {
		cgstat_reader_close(&t->containers[i].reader);
		if (t->containers[i].series) {
			t->containers[i].series->active = false;
			t->containers[i].series->owner = NULL;
		}
	}
	if (t->series)
		t->series->active = false;
	for (size_t i = 0; i < t->n_containers; i++) {
		free(t->containers[i].bpf);
		free(t->containers[i].name);
	}
	free(t->containers);
	free(t);
}

/* How a file's rows are handed to the worker. */
enum flush_how {
	FLUSH_QUEUE,   /* if there is room and the file has no job out: else it stays owed */
	FLUSH_FORCE,   /* whatever the queue holds (its owner goes away, or the collector closes) */
	FLUSH_URGENT,  /* forced, ahead of the queue, and waited for (a read of the file next) */
};

static bool task_flush(struct collector *c, struct col_task *t, uint64_t upto,
		       enum flush_how how);

static void parse_group(const char *group, char *service, size_t len)
{
	service[0] = '\0';
	if (strncmp(group, "service:", 8) == 0)
		snprintf(service, len, "%s", group + 8);
}

static void container_open(struct collector *c, struct col_container *cc)
{
	const struct cgroup_env *env = &c->rt->cg;

	if (cgstat_reader_open(&cc->reader, env, cc->rel) < 0) {
		/* Not made yet or already gone: tried again next cycle. */
		cc->reader.gone = false;
		return;
	}
	cgroup_read_limits(env, cc->rel, &cc->limits);
}

/* cc's name, image and cgroup path in one allocation; 0 or -ENOMEM. */
static int container_strings(struct collector *c, const struct col_task *t,
			     struct col_container *cc, const struct rt_container *rc)
{
	const char *name = rc->name, *image = rc->image;
	int rel_len = snprintf(NULL, 0, "%s/%s/%s/%s", c->cfg->cgroup_parent, t->cluster, t->id,
			       name);
	size_t ln = strlen(name) + 1, li = strlen(image) + 1;
	char *p = rel_len < 0 ? NULL : malloc(ln + li + (size_t)rel_len + 1);

	if (!p)
		return -ENOMEM;
	cc->name = memcpy(p, name, ln);
	cc->image = memcpy(p + ln, image, li);
	cc->rel = p + ln + li;
	snprintf(cc->rel, (size_t)rel_len + 1, "%s/%s/%s/%s", c->cfg->cgroup_parent, t->cluster,
		 t->id, name);
	return 0;
}

/* The collector's view of a runtime task, made when it is first seen RUNNING. */
static struct col_task *task_make(struct collector *c, const struct rt_task *rt_t)
{
	const char *src[3] = {
		rt_t->cluster, rt_t->td ? rt_t->td->family : "",
		strncmp(rt_t->group, "service:", 8) == 0 ? rt_t->group + 8 : "",
	};
	struct col_task tmp, *t;
	char **ptrs[3] = { &tmp.cluster, &tmp.family, &tmp.service };
	size_t n = rt_t->n_containers;

	t = alloc_with_strings(sizeof(*t), src, ptrs, 3);
	if (!t || !(t->containers = calloc(n ? n : 1, sizeof(*t->containers)))) {
		free(t);
		return NULL;
	}
	t->cluster = tmp.cluster;
	t->family = tmp.family;
	t->service = tmp.service;
	snprintf(t->id, sizeof(t->id), "%s", rt_t->id);
	t->revision = rt_t->td ? rt_t->td->revision : 0;
	t->cpu_units = atoi(rt_t->cpu);
	t->memory_mib = atoi(rt_t->memory);
	t->n_containers = n;
	for (size_t i = 0; i < n; i++) {
		struct col_container *cc = &t->containers[i];
		if (container_strings(c, t, cc, &rt_t->containers[i]) < 0) {
			t->n_containers = i;
			task_free(t);
			return NULL;
		}
		cc->cpu_units = rt_t->containers[i].cpu;
		cc->memory_mib = rt_t->containers[i].memory;
		/* Containers take their slow and full reads in turns, not all in one cycle:
		 * the full read of a thousand containers held the loop 0.6-2 s on a busy
		 * host every ~20 s. */
		cc->phase = hash_key(COL_CONTAINER, t->cluster, t->id, cc->name) %
			    (c->slow_every * RARE_EVERY);
		cc->started_at = rt_t->started_at;
		cgstat_reader_init(&cc->reader);
		if (!t->cpu_units)
			t->cpu_units += cc->cpu_units;
	}
	if (!t->memory_mib)
		for (size_t i = 0; i < n; i++)
			t->memory_mib += t->containers[i].memory_mib;
	t->series = series_get(c, COL_TASK, t->cluster, t->id, NULL);
	if (!t->series) {
		task_free(t);
		return NULL;
	}
	t->series->owner = t;
	t->rrd_cycle = c->cycle - 1;
	rrd_store_path(&c->rrd, &t->rrd, "task", t->cluster, t->id);
	return t;
}

static void enable_io(struct collector *c, struct col_task *t)
{
	char rel[CGROUP_PATH_MAX];

	if (t->io_enabled || c->rt->cg.mode == CGROUP_MODE_V2)
		return;
	t->io_enabled = true;
	snprintf(rel, sizeof(rel), "%s/%s/%s", c->cfg->cgroup_parent, t->cluster, t->id);
	cgstat_enable_io_accounting(&c->rt->cg, rel);
}

/* Reads one container; false when nothing could be read this cycle. */
static bool container_read(struct collector *c, struct col_container *cc, double now)
{
	struct cgstat s;
	unsigned mask;
	bool still;
	int ret;

	if (cc->reader.fd[CGSTAT_MEM_STAT] < 0 && cc->reader.fd[CGSTAT_CPU_STAT] < 0) {
		cgstat_reader_close(&cc->reader);
		container_open(c, cc);
	}
	/* Usage counters every cycle; memory.stat, PSI, limits' events and the rest about every
	 * 5 s (and on a container's first reading): they are most of the cost. */
	s = cc->cur;
	if (!cc->have_cur || (c->cycle + cc->phase) % (c->slow_every * RARE_EVERY) == 0)
		mask = CGSTAT_ALL;
	else if ((c->cycle + cc->phase) % c->slow_every == 0)
		mask = c->fast_mask | MEM_STAT_MASK;
	else
		mask = c->fast_mask;
	still = collector_bpf_still(c, cc);
	if (mask != CGSTAT_ALL && c->gate_mask && cc->have_cur && still && cc->bpf->idle) {
		/* Nothing of it was on a CPU at its last reading (its CPU counter had not moved
		 * and none of its threads had been switched in since the cycle before) and none
		 * has been switched in since: the fast files and memory.stat cannot have moved
		 * but for the kernel reclaiming its page cache, which the full read every ~20 s
		 * catches up with (see collector_init). */
		ret = 0;
		c->self.still++;
	} else if (mask == c->fast_mask && c->gate_mask && cc->have_cur) {
		/* The CPU counter first: a container that did not run since the last reading
		 * cannot have moved the gated files (see collector_init). */
		ret = cgstat_reader_read(&cc->reader, c->buf, sizeof(c->buf),
					 mask & ((1u << CGSTAT_CPUACCT_USAGE) | (1u << CGSTAT_CPU_STAT)),
					 &s);
		if (ret == 0 && s.cpu_usage_ns != cc->cur.cpu_usage_ns)
			ret = cgstat_reader_read(&cc->reader, c->buf, sizeof(c->buf),
						 mask & ~((1u << CGSTAT_CPUACCT_USAGE) |
							  (1u << CGSTAT_CPU_STAT)), &s);
		else if (ret == 0)
			c->self.gated++;
	} else {
		ret = cgstat_reader_read(&cc->reader, c->buf, sizeof(c->buf), mask, &s);
	}
	if (ret == -ENOENT) {
		if (cc->reader.gone)
			c->self.cgroups_gone++;
		return false;
	}
	if (ret == -EINVAL)
		c->self.parse_errors++;
	if (cc->bpf)
		cc->bpf->idle = still && cc->have_cur && s.cpu_usage_ns == cc->cur.cpu_usage_ns;
	cc->prev = cc->cur;
	cc->t_prev = cc->t_cur;
	cc->have_prev = cc->have_cur;
	cc->cur = s;
	cc->t_cur = now;
	cc->have_cur = true;
	c->self.samples++;
	return true;
}

/* Rate of a cumulative counter between two samples; NaN across a reset or clock step. */
static double delta(uint64_t cur, uint64_t prev)
{
	return cur >= prev ? (double)(cur - prev) : NAN;
}

static void add(double *acc, double v)
{
	if (isnan(v))
		return;
	*acc = isnan(*acc) ? v : *acc + v;
}

static void container_metrics(struct col_container *cc, double *cpu, double *mem, double *rd,
			      double *wr)
{
	double dt = cc->t_cur - cc->t_prev;

	*cpu = *rd = *wr = NAN;
	*mem = cc->have_cur ? (double)cc->cur.mem_working_set / MIB : NAN;
	if (!cc->have_cur || !cc->have_prev || dt <= 0)
		return;
	*cpu = delta(cc->cur.cpu_usage_ns, cc->prev.cpu_usage_ns) / (dt * 1e9) * 1024.0;
	*rd = delta(cc->cur.io_read_bytes, cc->prev.io_read_bytes);
	*wr = delta(cc->cur.io_write_bytes, cc->prev.io_write_bytes);
}

static void task_sample(struct collector *c, struct col_task *t, double now)
{
	double *v = t->series->last;

	enable_io(c, t);
	for (int i = 0; i < COL_METRIC_COUNT; i++)
		v[i] = NAN;
	for (size_t i = 0; i < t->n_containers; i++) {
		struct col_container *cc = &t->containers[i];
		double cpu, mem, rd, wr;
		if (!cc->series && (cc->series = series_get(c, COL_CONTAINER, t->cluster, t->id,
							    cc->name)))
			cc->series->owner = t;
		if (!container_read(c, cc, now) || !cc->series)
			continue;
		container_metrics(cc, &cpu, &mem, &rd, &wr);
		cc->series->last[COL_CPU] = cpu;
		cc->series->last[COL_MEM] = mem;
		cc->series->active = true;
		add(&v[COL_CPU], cpu);
		add(&v[COL_MEM], mem);
		add(&v[COL_READ], rd);
		add(&v[COL_WRITE], wr);
	}
	v[COL_CPU_RES] = t->cpu_units;
	v[COL_MEM_RES] = t->memory_mib;
	if (c->bpf)
		collector_bpf_task(c, t, now);
	t->series->active = true;
}

/* Resets the aggregates before a cycle: counts 0, sums unknown. */
static void aggregates_reset(struct collector *c)
{
	for (struct col_series *s = c->series; s; s = s->next) {
		if (s->kind < COL_SERVICE)
			continue;
		for (int i = 0; i < COL_METRIC_COUNT; i++)
			s->last[i] = i >= COL_RUNNING ? 0 : NAN;
		s->last[COL_DESIRED] = NAN;
		s->active = false;
	}
}

/* The aggregates a task counts into; cache (a sampled task's) keeps them from cycle to cycle. */
static void aggregates_of(struct collector *c, const struct rt_task *rt_t, const char *service,
			  struct col_series *agg[3], struct col_series *cache[3])
{
	if (cache && cache[0]) {
		memcpy(agg, cache, 3 * sizeof(*agg));
		return;
	}
	agg[0] = series_get(c, COL_CLUSTER, rt_t->cluster, NULL, NULL);
	agg[1] = service[0] ? series_get(c, COL_SERVICE, rt_t->cluster, service, NULL) : NULL;
	agg[2] = rt_t->td ? series_get(c, COL_FAMILY, rt_t->cluster, rt_t->td->family, NULL) : NULL;
	if (cache && agg[0] && (!service[0] || agg[1]) && (!rt_t->td || agg[2]))
		memcpy(cache, agg, 3 * sizeof(*agg));
}

static void aggregate_add(struct collector *c, const struct rt_task *rt_t, const char *service,
			  const double *task_v, struct col_series *cache[3])
{
	struct col_series *agg[3];
	bool running = cache || strcmp(rt_t->last_status, "RUNNING") == 0;

	aggregates_of(c, rt_t, service, agg, cache);

	for (int i = 0; i < 3; i++) {
		if (!agg[i])
			continue;
		agg[i]->active = true;
		agg[i]->last[running ? COL_RUNNING : COL_PENDING] += 1;
		agg[i]->last[COL_TASKS] += 1;
		for (int m = 0; task_v && m < COL_RUNQ_P99; m++)
			add(&agg[i]->last[m], task_v[m]);
		/* The slowest task's p99 stands for the group. */
		if (task_v && !isnan(task_v[COL_RUNQ_P99]) &&
		    !(agg[i]->last[COL_RUNQ_P99] >= task_v[COL_RUNQ_P99]))
			agg[i]->last[COL_RUNQ_P99] = task_v[COL_RUNQ_P99];
	}
}

static bool is_pending(const char *status)
{
	return !strcmp(status, "PROVISIONING") || !strcmp(status, "PENDING") ||
	       !strcmp(status, "ACTIVATING");
}

/* Samples every RUNNING task, counting every live one into its aggregates. */
static void tasks_sample(struct collector *c, double now)
{
	for (struct rt_task *rt_t = c->rt->tasks; rt_t; rt_t = rt_t->next) {
		bool running = strcmp(rt_t->last_status, "RUNNING") == 0;
		struct col_series *ts;
		struct col_task *t;
		char service[256];

		if (!running && !is_pending(rt_t->last_status))
			continue;
		parse_group(rt_t->group, service, sizeof(service));
		if (!running) {
			aggregate_add(c, rt_t, service, NULL, NULL);
			continue;
		}
		ts = collector_series_find(c, COL_TASK, rt_t->cluster, rt_t->id, NULL);
		t = ts && ts->owner ? ts->owner : NULL;
		if (!t && (t = task_make(c, rt_t))) {
			t->next = c->tasks;
			c->tasks = t;
			c->n_tasks++;
		}
		if (!t)
			continue;
		t->seen = true;
		task_sample(c, t, now);
		aggregate_add(c, rt_t, service, t->series->last, t->agg);
	}
}

/* Drops the tasks that were not RUNNING in this cycle (their series stay for the window). */
static void tasks_sweep(struct collector *c)
{
	for (struct col_task **pp = &c->tasks; *pp;) {
		struct col_task *t = *pp;
		if (t->seen) {
			t->seen = false;
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		c->n_tasks--;
		if (c->rrd_on) /* its last sampled cycle, whatever the worker's queue holds */
			task_flush(c, t, c->cycle - 1, FLUSH_FORCE);
		t->series->owner = NULL;
		task_free(t);
	}
}

static int services_of(struct collector *c, const char *cluster)
{
	struct rt_cluster *cl;
	int n = 0;

	if (c->service_count)
		return c->service_count(c->hook_ctx, cluster);
	cl = rt_cluster_find(c->rt, cluster);
	if (cl && c->rt->cluster_service_count)
		return c->rt->cluster_service_count(c->rt, cl);
	for (struct col_series *s = c->series; s; s = s->next)
		n += s->kind == COL_SERVICE && s->active && !strcmp(s->cluster, cluster);
	return n;
}

static int desired_of(struct collector *c, const char *cluster, const char *service)
{
	struct rt_service *svc;

	if (c->service_desired)
		return c->service_desired(c->hook_ctx, cluster, service);
	svc = c->rt->services ? svc_find(c->rt->services, cluster, service) : NULL;
	return svc && strcmp(svc->status, "INACTIVE") ? svc->desired_count : -1;
}

/* Services without tasks still have a desired count (and a row in their cluster). */
static void services_add(struct collector *c)
{
	if (!c->rt->services || c->service_desired)
		return;
	for (struct rt_service *svc = c->rt->services->list; svc; svc = svc->next) {
		struct col_series *s;
		if (!strcmp(svc->status, "INACTIVE"))
			continue;
		s = series_get(c, COL_SERVICE, svc->cluster, svc->name, NULL);
		if (s)
			s->active = true;
	}
}

static void aggregates_finish(struct collector *c)
{
	for (struct rt_cluster *cl = c->rt->clusters; cl; cl = cl->next) {
		struct col_series *s;
		if (strcmp(cl->status, "ACTIVE") != 0)
			continue;
		s = series_get(c, COL_CLUSTER, cl->name, NULL, NULL);
		if (s)
			s->active = true;
	}
	services_add(c);
	for (struct col_series *s = c->series; s; s = s->next) {
		if (s->kind == COL_SERVICE) {
			int d = desired_of(c, s->cluster, s->name);
			s->last[COL_DESIRED] = d >= 0 ? d : NAN;
			s->active = s->active || d >= 0;
		}
		if (s->kind == COL_CLUSTER)
			s->last[COL_SERVICES] = services_of(c, s->cluster);
	}
}

/* Writes this cycle's slot of every series; frees series idle for longer than the window. */
static void window_write(struct collector *c, double now)
{
	size_t slot = c->cycle % COL_CHUNK;
	double keep = (double)c->cap * c->interval;
	bool seal = slot == 0 && c->cycle >= COL_CHUNK;

	for (struct col_series **pp = &c->series; *pp;) {
		struct col_series *s = *pp;
		float *row = s->open + slot * (size_t)s->n_cols;
		if (!s->active && s->ended_at == 0)
			s->ended_at = now;
		if (s->active) {
			s->ended_at = 0;
			s->active_cycle = c->cycle;
		}
		if (!s->active && !s->owner && now - s->ended_at > keep) {
			*pp = s->next;
			series_unlink(c, s);
			continue;
		}
		if (seal)
			series_seal(c, s, c->cycle / COL_CHUNK - 1);
		for (int i = 0; i < s->n_cols; i++)
			row[i] = s->active ? (float)s->last[i] : NAN;
		if (s->kind == COL_CONTAINER)
			s->active = false; /* set again when read next cycle */
		pp = &s->next;
	}
}

void collector_ds_name(int col, int container, char *out, size_t len)
{
	static const char *const names[COL_METRIC_COUNT] = {
		"cpu", "mem", "cpu_res", "mem_res", "rd", "wr", "net_rx", "net_tx", "net_rxp",
		"net_txp", "runq_p99", "running", "pending", "desired",
		"tasks", "services",
	};

	if (container < 0)
		snprintf(out, len, "%s", names[col]);
	else
		snprintf(out, len, "c%d_%s", container, names[col]);
}

/* Copies cycles k0 .. k0 + rows - 1 of columns 0 .. cols - 1 of s into columns at .. of the rows
 * of vals (n a row): one series at a time, row by row, so that an encoded chunk of the window is
 * decoded once for all its columns and rows (collector_value keeps the chunk decoded last). */
static void copy_rows(struct collector *c, const struct col_series *s, int cols, uint64_t k0,
		      size_t rows, size_t at, size_t n, double *vals)
{
	for (size_t r = 0; r < rows; r++)
		for (int m = 0; m < cols; m++)
			vals[r * n + at + (size_t)m] = collector_value(c, s, k0 + r, m);
}

typedef void (*rows_fill)(struct collector *c, const void *owner, uint64_t k0, size_t rows,
			  size_t n, double *vals);

static void task_rows(struct collector *c, const void *owner, uint64_t k0, size_t rows, size_t n,
		      double *vals)
{
	const struct col_task *t = owner;
	size_t at = COL_TASK_COLS;

	copy_rows(c, t->series, COL_TASK_COLS, k0, rows, 0, n, vals);
	for (size_t i = 0; i < t->n_containers && at + 2 <= n; i++, at += 2)
		copy_rows(c, t->containers[i].series, 2, k0, rows, at, n, vals);
}

static void aggregate_rows(struct collector *c, const void *owner, uint64_t k0, size_t rows,
			   size_t n, double *vals)
{
	copy_rows(c, owner, COL_METRIC_COUNT, k0, rows, 0, n, vals);
}

/* Queues the cycles after *done up to upto (those still in the window) for f as jobs of at most
 * RRD_MAX_ROWS rows. True when every row is queued (or skipped: the file failed less than a
 * minute ago); false when the file stays owed: its last job is not back yet or the queue is
 * full (FLUSH_QUEUE). */
static bool flush_rows(struct collector *c, struct rrd_file *f, uint64_t *done, uint64_t upto,
		       const char *const *ds, size_t n, rows_fill fill, const void *owner,
		       enum flush_how how)
{
	uint64_t k = *done + 1, oldest = c->cycle >= c->cap ? c->cycle - c->cap + 1 : 1;

	if (k < oldest && *done < upto) {
		log_warn("collector: %llu rows of %s left the window before they were written",
			 (unsigned long long)(oldest - k), f->path);
		c->rrd_dropped += oldest - k;
		k = oldest;
	}
	if (how == FLUSH_URGENT && f->job) {
		/* The rows after its job's must not overtake it. */
		rrd_store_hurry(&c->rrd, f->job);
		rrd_store_wait(&c->rrd, f->job);
	}
	while (k <= upto) {
		size_t rows = upto - k + 1 < RRD_MAX_ROWS ? (size_t)(upto - k + 1) : RRD_MAX_ROWS;
		struct rrd_job *j;
		if (how == FLUSH_QUEUE && (f->job || rrd_store_full(&c->rrd)))
			return false;
		if (f->retry_at > c->ts[(k + rows - 1) % c->cap]) {
			/* Failed less than a minute ago: these rows are not tried (as before). */
			k += rows;
			*done = k - 1;
			continue;
		}
		if (!(j = rrd_job_new(n, rows))) {
			c->rrd.stats.errors++;
			break;
		}
		for (size_t r = 0; r < rows; r++)
			j->ts[r] = (time_t)c->ts[(k + r) % c->cap];
		fill(c, owner, k, rows, n, j->values);
		for (size_t i = 0; i < n; i++)
			snprintf(j->ds[i], RRD_DS_NAME, "%s", ds[i]);
		j->file = *f;
		j->file.job = NULL;
		j->owner = f;
		if (f->job)
			f->job->owner = NULL; /* only the last job's state is the file's */
		f->job = j;
		k += rows;
		*done = k - 1;
		if (!rrd_store_submit(&c->rrd, j, how != FLUSH_QUEUE, how == FLUSH_URGENT)) {
			f->job = NULL; /* no room for this one */
			free(j);
			*done = k - rows - 1;
			return false;
		}
		if (how == FLUSH_URGENT && f->job)
			rrd_store_wait(&c->rrd, f->job);
	}
	if (upto > *done)
		*done = upto;
	return true;
}

static bool task_flush(struct collector *c, struct col_task *t, uint64_t upto, enum flush_how how)
{
	char names[COL_TASK_MAX_DS][24];
	const char *ds[COL_TASK_MAX_DS];
	size_t n = 0;

	for (int m = 0; m < COL_TASK_COLS; m++, n++)
		collector_ds_name(m, -1, names[n], sizeof(names[n]));
	for (size_t i = 0; i < t->n_containers && n + 2 <= COL_TASK_MAX_DS; i++)
		for (int m = 0; m < 2; m++, n++)
			collector_ds_name(m, (int)i, names[n], sizeof(names[n]));
	for (size_t i = 0; i < n; i++)
		ds[i] = names[i];
	return flush_rows(c, &t->rrd, &t->rrd_cycle, upto, ds, n, task_rows, t, how);
}

static bool aggregate_flush(struct collector *c, struct col_series *s, enum flush_how how)
{
	char names[COL_METRIC_COUNT][24];
	const char *ds[COL_METRIC_COUNT];

	if (s->rrd_cycle >= s->active_cycle)
		return true;
	if (!s->rrd.path[0])
		rrd_store_path(&c->rrd, &s->rrd, s->kind == COL_SERVICE ? "service" : "cluster",
			       s->cluster, s->kind == COL_SERVICE ? s->name : NULL);
	for (int m = 0; m < COL_METRIC_COUNT; m++) {
		collector_ds_name(m, -1, names[m], sizeof(names[m]));
		ds[m] = names[m];
	}
	return flush_rows(c, &s->rrd, &s->rrd_cycle, s->active_cycle, ds, COL_METRIC_COUNT,
			  aggregate_rows, s, how);
}

/* Spreads the files over the cycles of a batch: each is written once per batch (every
 * `every` cycles). */
static bool due(const struct collector *c, const char *a, const char *b, uint64_t every)
{
	return (hash_key(COL_TASK, a, b, NULL) + c->cycle) % every == 0;
}

/* Hands every file due (all: every file) to the worker, whatever its queue holds (without an
 * event loop, the tests, each is written as it is handed over). */
static void rrd_write_due(struct collector *c, bool all)
{
	for (struct col_task *t = c->tasks; t; t = t->next) {
		if (all || t->rrd_owed || due(c, t->cluster, t->id, t->rrd.ready ? c->rrd_batch : c->rrd_first))
			task_flush(c, t, c->cycle, FLUSH_FORCE);
		t->rrd_owed = false;
	}
	for (struct col_series *s = c->series; s; s = s->next) {
		if ((s->kind == COL_SERVICE || s->kind == COL_CLUSTER) &&
		    (all || s->rrd_owed || due(c, s->cluster, s->name, s->rrd.ready ? c->rrd_batch
										     : c->rrd_first)))
			aggregate_flush(c, s, FLUSH_FORCE);
		s->rrd_owed = false;
	}
}

/* Marks the files due this cycle (a file still owed from the last cycle stays owed). */
static void rrd_mark_due(struct collector *c)
{
	for (struct col_task *t = c->tasks; t; t = t->next)
		if (due(c, t->cluster, t->id, t->rrd.ready ? c->rrd_batch : c->rrd_first))
			t->rrd_owed = true;
	for (struct col_series *s = c->series; s; s = s->next)
		if ((s->kind == COL_SERVICE || s->kind == COL_CLUSTER) &&
		    due(c, s->cluster, s->name, s->rrd.ready ? c->rrd_batch : c->rrd_first))
			s->rrd_owed = true;
}

/* Hands owed files to the worker until RRD_SLICE_MS have passed (copying rows out of the window
 * is the loop's part) or its queue is full. Returns true when the slice ran out of time with
 * files owed; files left owed for a full queue or a job not back yet set rrd_waiting, and the
 * next job back starts another slice. The lists are walked from their heads each slice, so
 * tasks that go between slices are no matter. */
static bool rrd_write_slice(struct collector *c)
{
	double end = mono_now() + RRD_SLICE_MS / 1e3;

	c->rrd_waiting = false;
	for (struct col_task *t = c->tasks; t; t = t->next) {
		if (!t->rrd_owed)
			continue;
		if (mono_now() >= end)
			return true;
		t->rrd_owed = !task_flush(c, t, c->cycle, FLUSH_QUEUE);
		c->rrd_waiting |= t->rrd_owed;
		if (rrd_store_full(&c->rrd))
			return false;
	}
	for (struct col_series *s = c->series; s; s = s->next) {
		if (!s->rrd_owed)
			continue;
		if (mono_now() >= end)
			return true;
		s->rrd_owed = !aggregate_flush(c, s, FLUSH_QUEUE);
		c->rrd_waiting |= s->rrd_owed;
		if (rrd_store_full(&c->rrd))
			return false;
	}
	return false;
}

static double thread_cpu(void);

static void on_rrd_slice(struct loop_timer *tm)
{
	struct collector *c = tm->data;
	double cpu0 = thread_cpu();

	if (rrd_write_slice(c))
		loop_timer_arm(&c->rrd_slice, 1, 0);
	else if (rrd_store_full(&c->rrd))
		c->rrd_waiting = true;
	c->self.cpu_rrd += thread_cpu() - cpu0;
}

/* A job back from the worker: its file's new state and its counts, in the loop's thread. */
static void rrd_job_done(void *ctx, struct rrd_job *j)
{
	struct collector *c = ctx;
	struct rrd_store_stats *st = &c->rrd.stats;
	struct rrd_file *f = j->owner;

	st->updates += j->stats.updates;
	st->created += j->stats.created;
	st->skipped_same_second += j->stats.skipped_same_second;
	st->skipped_clock_back += j->stats.skipped_clock_back;
	st->errors += j->stats.errors;
	st->quarantined += j->stats.quarantined;
	st->removed += j->stats.removed;
	st->bytes = j->stats.bytes;
	c->self.cpu_rrd += j->cpu_seconds;
	if (f && f->job == j) {
		f->last = j->file.last;
		f->retry_at = j->file.retry_at;
		f->ready = j->file.ready;
		f->failing = j->file.failing;
		f->job = NULL;
	}
	free(j);
	if (c->rrd_waiting && c->rrd_slice_ready) {
		c->rrd_waiting = false;
		loop_timer_arm(&c->rrd_slice, 1, 0);
	}
}

void collector_rrd_sync(struct collector *c, enum col_kind kind, const char *cluster,
			const char *name)
{
	struct col_series *s;

	if (!c->rrd_on)
		return;
	if (kind == COL_TASK || kind == COL_CONTAINER) {
		s = collector_series_find(c, COL_TASK, cluster, name, NULL);
		if (s && s->owner)
			task_flush(c, s->owner, c->cycle, FLUSH_URGENT);
	} else if (kind == COL_SERVICE || kind == COL_CLUSTER) {
		s = collector_series_find(c, kind, cluster, kind == COL_SERVICE ? name : NULL, NULL);
		if (s)
			aggregate_flush(c, s, FLUSH_URGENT);
	}
}
static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void collector_sample(struct collector *c, double now)
{
	double t0 = mono_now(), dt, cpu0 = thread_cpu(), cpu1, cpu2, cpu3;
	bool seal;

	c->cycle++;
	seal = c->cycle % COL_CHUNK == 0;
	c->ts[c->cycle % c->cap] = now;
	aggregates_reset(c);
	tasks_sample(c, now);
	cpu1 = thread_cpu();
	tasks_sweep(c);
	aggregates_finish(c);
	window_write(c, now);
	cpu2 = thread_cpu();
	if (c->rrd_on) {
		struct rrd_job *j;
		if (now >= c->next_expire && (j = rrd_job_new(0, 0))) {
			/* Before this cycle's writes: a file made knows the directory's size. */
			j->expire = true;
			j->now = (time_t)now;
			rrd_store_submit(&c->rrd, j, true, false);
			c->next_expire = now + EXPIRE_EVERY;
		}
		if (c->rrd_slice_ready) {
			/* Not in this callback: the requests that waited for the cycle go first. */
			rrd_mark_due(c);
			loop_timer_arm(&c->rrd_slice, 1, 0);
		} else {
			rrd_write_due(c, false);
		}
		/* Once a chunk (every COL_CHUNK cycles), the whole free pages that bursts of the
		 * loop (task launches, API requests, reports) left inside the heap, where nothing
		 * else would return them: malloc_trim walks the heap's free chunks, cheap next to
		 * the COL_CHUNK cycles between two calls. (The worker trims after making a file:
		 * librrd builds it in one buffer of its whole size.) */
		if (seal)
			malloc_trim(0);
	}
	cpu3 = thread_cpu();
	c->self.cpu_read += cpu1 - cpu0;
	c->self.cpu_window += cpu2 - cpu1;
	c->self.cpu_rrd += cpu3 - cpu2;
	dt = mono_now() - t0;
	c->self.cycles++;
	c->self.last_cycle_seconds = dt;
	c->self.total_cycle_seconds += dt;
	if (dt > c->self.max_cycle_seconds)
		c->self.max_cycle_seconds = dt;
	c->self.last_cycle_at = now;
	for (size_t i = 0; i < c->n_observers; i++)
		c->observers[i].fn(c->observers[i].ctx, c, now);
	c->self.cpu_observers += thread_cpu() - cpu3;
}

int collector_on_cycle(struct collector *c, void (*fn)(void *ctx, struct collector *c, double now),
		       void *ctx)
{
	if (c->n_observers >= COL_MAX_OBSERVERS)
		return -ENOSPC;
	c->observers[c->n_observers].fn = fn;
	c->observers[c->n_observers].ctx = ctx;
	c->n_observers++;
	return 0;
}

static void on_timer(struct loop_timer *tm)
{
	struct collector *c = tm->data;

	collector_sample(c, time_now());
}

int collector_init(struct collector *c, const struct config *cfg, struct runtime *rt,
		   struct loop *loop)
{
	char dir[600];
	int ret;

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->rt = rt;
	c->loop = loop;
	c->interval = (unsigned)cfg->collect_interval;
	c->cap = (size_t)(cfg->metrics_window / cfg->collect_interval) + 1;
	c->n_chunks = c->cap / COL_CHUNK + 3;
	c->ts = calloc(c->cap, sizeof(*c->ts));
	if (!c->ts)
		return -ENOMEM;
	snprintf(dir, sizeof(dir), "%s/rrd", cfg->data_dir);
	ret = rrd_store_init(&c->rrd, dir, cfg->rrdcached_address, c->interval,
			     (uint64_t)cfg->rrd_max_bytes);
	c->rrd_on = ret == 0;
	c->slow_every = c->interval >= 5 ? 1 : 5 / c->interval;
	/* v1 cpu.stat holds only throttling counters (usage is cpuacct.usage): slow is enough. */
	c->fast_mask = rt->cg.mode == CGROUP_MODE_V2 ? CGSTAT_FAST
						       : CGSTAT_FAST & ~(1u << CGSTAT_CPU_STAT);
	/*
	 * On v1 and hybrid hosts, between the slow reads, memory usage and the blkio byte counters
	 * of a container whose CPU counter did not move are not read again: nothing ran in it to
	 * allocate or submit I/O (v1 blkio counts bios when the container's own threads submit
	 * them; background writeback is charged to the root), so they keep their last values; the
	 * slow read every ~5 s reads them whatever happened. Most containers sleep most of the
	 * time: their cycle is one pread instead of three. Where the eBPF sched probe follows
	 * the container, not even that: when its CPU counter had not moved at the last reading
	 * and the probe saw none of its threads switched in (or on a CPU) from the cycle before
	 * that one to now, nothing of it can have run since, and the cycle reads no file, not
	 * even memory.stat every ~5 s: only the full read every ~20 s
	 * (berth_collector_still_samples_total). On cgroup v2 writeback and socket buffers are
	 * charged to a cgroup while it sleeps: every file is read.
	 */
	c->gate_mask = rt->cg.mode == CGROUP_MODE_V2
			       ? 0 : (1u << CGSTAT_MEM_CURRENT) | (1u << CGSTAT_BLKIO_BYTES);
	/* Each librrd call maps the file and dirties a page per archive and the header again: the
	 * fewer calls, the less it costs per row (at 13 data sources, 1 s step: 11 us a row in
	 * calls of 300 rows, 7 us in calls of 900). */
	c->rrd_batch = cfg->rrdcached_address[0] || c->interval >= RRD_BATCH_SECONDS
			       ? 1 : RRD_BATCH_SECONDS / c->interval;
	c->rrd_first = cfg->rrdcached_address[0] || c->interval >= RRD_FIRST_SECONDS
			       ? 1 : RRD_FIRST_SECONDS / c->interval;
	/* A batch must be written while its rows are still in the window: with a short
	 * metrics_window (600 s at least) a file is written every half window instead. */
	if (c->rrd_batch > c->cap / 2)
		c->rrd_batch = c->cap / 2 > 1 ? (unsigned)(c->cap / 2) : 1;
	if (c->rrd_first > c->rrd_batch)
		c->rrd_first = c->rrd_batch;
	if (!loop) {
		/* Without a loop (tests) every write runs as it is handed over. */
		if (c->rrd_on && rrd_store_start(&c->rrd, NULL, rrd_job_done, c) < 0) {
			collector_close(c);
			return -ENOMEM;
		}
		return 0;
	}
	ret = loop_timer_init(loop, &c->timer, on_timer, c);
	if (ret == 0)
		ret = loop_timer_arm(&c->timer, 1000ull * c->interval, 1000ull * c->interval);
	if (ret == 0 && c->rrd_on) {
		c->rrd_slice.io.fd = -1;
		ret = loop_timer_init(loop, &c->rrd_slice, on_rrd_slice, c);
		c->rrd_slice_ready = ret == 0;
	}
	if (ret == 0 && c->rrd_on && rrd_store_start(&c->rrd, loop, rrd_job_done, c) < 0 &&
	    !c->rrd.worker)
		ret = -ENOMEM;
	if (ret < 0) {
		log_error("collector: failed to start the sampling timer: %s", strerror(-ret));
		collector_close(c);
		return ret;
	}
	c->timer_ready = true;
	log_info("collector: sampling every %u s, window %zu samples, RRD files in %s%s%s",
		 c->interval, c->cap, dir, cfg->rrdcached_address[0] ? " through rrdcached at " : "",
		 cfg->rrdcached_address);
	return 0;
}

void collector_close(struct collector *c)
{
	collector_bpf_close(c);
	if (c->timer_ready)
		loop_timer_close(&c->timer);
	c->timer_ready = false;
	if (c->rrd_slice_ready)
		loop_timer_close(&c->rrd_slice);
	c->rrd_slice_ready = false;
	/* SIGTERM too: every row owed is written before the worker stops. */
	if (c->rrd_on && c->cycle)
		rrd_write_due(c, true);
	if (c->rrd_on)
		rrd_store_close(&c->rrd); /* runs every job, hands them back, joins the worker */
	c->rrd_on = false;
	while (c->tasks) {
		struct col_task *t = c->tasks;
		c->tasks = t->next;
		task_free(t);
	}
	while (c->series) {
		struct col_series *s = c->series;
		c->series = s->next;
		series_free(c, s);
	}
	memset(c->hash, 0, sizeof(c->hash));
	free(c->ts);
	c->ts = NULL;
}
