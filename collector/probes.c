/* SPDX-License-Identifier: MIT */
/* probes.c: eBPF counters into container insights - follows task cgroups for the loader, reads
 * per-container counters each cycle, hands OOM kills to the runtime as they happen. */
#include "collector/probes.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int v2_path(const struct collector *c, const char *rel, char *out, size_t len)
{
	if (!c->rt->cg.unified[0])
		return -EOPNOTSUPP;
	if (snprintf(out, len, "%s/%s", c->rt->cg.unified, rel) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

static void follow(struct collector *c, const char *rel)
{
	char path[CGROUP_PATH_MAX * 2];
	int ret;

	if (v2_path(c, rel, path, sizeof(path)) < 0)
		return;
	ret = bpf_loader_cgroup_add(c->bpf, path);
	if (ret < 0 && ret != -ENOENT)
		log_warn("collector: failed to follow %s with the eBPF probes: %s", rel,
			 strerror(-ret));
}

static void on_cgroup(struct runtime *rt, struct rt_task *t, const char *rel, bool up)
{
	struct collector *c = rt->cgroup_hook_data;
	char path[CGROUP_PATH_MAX * 2];

	(void)t;
	if (up)
		follow(c, rel);
	else if (v2_path(c, rel, path, sizeof(path)) == 0)
		bpf_loader_cgroup_remove(c->bpf, path);
}

/* The live task and container whose cgroup has id; false when none (another cgroup). */
static bool owner_of(struct collector *c, uint64_t id, struct rt_task **task, size_t *idx)
{
	for (struct rt_task *t = c->rt->tasks; t; t = t->next) {
		if (!strcmp(t->last_status, "STOPPED"))
			continue;
		for (size_t i = 0; i < t->n_containers; i++) {
			char rel[CGROUP_PATH_MAX];
			uint64_t cid;
			snprintf(rel, sizeof(rel), "%s/%s/%s/%s", c->cfg->cgroup_parent, t->cluster,
				 t->id, t->containers[i].name);
			if (cgroup_id(&c->rt->cg, rel, &cid) == 0 && cid == id) {
				*task = t;
				*idx = i;
				return true;
			}
		}
	}
	return false;
}

/* The collector's container of a task, when it samples it. */
static struct col_container *sampled(struct collector *c, const struct rt_task *t, size_t i)
{
	struct col_series *s = collector_series_find(c, COL_TASK, t->cluster, t->id, NULL);

	if (!s || !s->owner || i >= s->owner->n_containers)
		return NULL;
	return &s->owner->containers[i];
}

static void on_event(void *ctx, const struct bpf_event *ev)
{
	struct collector *c = ctx;
	struct col_container *cc;
	struct rt_task *t;
	size_t i;

	if (ev->type != BPF_EVENT_OOM_KILL || !owner_of(c, ev->cgroup_id, &t, &i))
		return;
	/* container_oom_events_total moves now, not at the next reading of memory.events. */
	cc = sampled(c, t, i);
	if (cc)
		cc->cur.mem_oom_events++;
	rt_exec_oom_kill(c->rt, t, i, ev->pid);
}

int collector_bpf_init(struct collector *c)
{
	struct bpf_loader *l;
	int ret;

	if (c->bpf)
		return 0;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	ret = bpf_loader_init(l, c->cfg, c->loop);
	if (ret < 0) {
		free(l);
		return ret;
	}
	c->bpf = l;
	if (!bpf_loader_up_count(l))
		return 0;
	if (!c->rt->cg.unified[0])
		log_warn("collector: no cgroup2 tree: the eBPF probes cannot tell tasks apart");
	bpf_loader_on_event(l, on_event, c);
	c->rt->cgroup_hook = on_cgroup;
	c->rt->cgroup_hook_data = c;
	/* Tasks re-adopted before the probes were loaded. */
	for (struct rt_task *t = c->rt->tasks; t; t = t->next) {
		char rel[CGROUP_PATH_MAX];
		if (!strcmp(t->last_status, "STOPPED") || !t->init_pid)
			continue;
		snprintf(rel, sizeof(rel), "%s/%s/%s", c->cfg->cgroup_parent, t->cluster, t->id);
		follow(c, rel);
	}
	return 0;
}

void collector_bpf_close(struct collector *c)
{
	if (!c->bpf)
		return;
	if (c->rt && c->rt->cgroup_hook == on_cgroup) {
		c->rt->cgroup_hook = NULL;
		c->rt->cgroup_hook_data = NULL;
	}
	bpf_loader_close(c->bpf);
	free(c->bpf);
	c->bpf = NULL;
}

/* One batched pass over the maps per cycle, then every container from the cache. */
static void refresh_once(struct collector *c)
{
	if (c->bpf_self.refreshed != c->cycle) {
		c->bpf_self.refreshed = c->cycle;
		bpf_loader_refresh(c->bpf);
	}
}

bool collector_bpf_still(struct collector *c, struct col_container *cc)
{
	struct col_bpf *b = cc->bpf;
	struct bpf_counters k;
	bool still;

	if (!c->bpf || !b || !b->cgroup_id)
		return false;
	refresh_once(c);
	if (bpf_loader_cached(c->bpf, b->cgroup_id, &k) < 0 ||
	    !(k.have & (1u << BPF_PROBE_SCHED))) {
		b->still_have = false;
		return false;
	}
	still = b->still_have && b->still_cycle + 1 == c->cycle && k.runq_count == b->still_runq &&
		k.oncpu_ns == b->still_oncpu;
	b->still_have = true;
	b->still_cycle = c->cycle;
	b->still_runq = k.runq_count;
	b->still_oncpu = k.oncpu_ns;
	return still;
}

/* Reads one container's counters; false when there is nothing to read. */
static bool container_bpf_read(struct collector *c, struct col_task *t, struct col_container *cc,
			       double now)
{
	struct col_bpf *b = cc->bpf;

	if (!b && !(b = cc->bpf = calloc(1, sizeof(*b))))
		return false;
	if (!b->cgroup_id && (!c->rt->cg.unified[0] || cgroup_id(&c->rt->cg, cc->rel,
								   &b->cgroup_id) < 0))
		return false;
	if (!bpf_loader_follows(c->bpf, b->cgroup_id)) {
		/* Made before the probes were loaded, or a child made after the hook ran: its
		 * counters start now, read from the next cycle on. */
		char rel[CGROUP_PATH_MAX];
		snprintf(rel, sizeof(rel), "%s/%s/%s", c->cfg->cgroup_parent, t->cluster, t->id);
		follow(c, rel);
		return false;
	}
	refresh_once(c);
	b->prev = b->cur;
	b->t_prev = b->t_cur;
	b->have_prev = b->have_cur;
	if (bpf_loader_cached(c->bpf, b->cgroup_id, &b->cur) < 0) {
		b->have_cur = b->have_prev = false;
		return false;
	}
	b->t_cur = now;
	b->have_cur = true;
	/* The kernel's count and the probe's: whichever saw more (the probe sees it first). */
	if (b->cur.oom_kills > cc->cur.mem_oom_events)
		cc->cur.mem_oom_events = b->cur.oom_kills;
	return true;
}

static void add(double *acc, double v)
{
	if (isnan(v))
		return;
	*acc = isnan(*acc) ? v : *acc + v;
}

void collector_bpf_task(struct collector *c, struct col_task *t, double now)
{
	uint64_t hist[BPF_HIST_SLOTS] = { 0 }, d[BPF_HIST_SLOTS];
	double *v = t->series->last, t0 = mono(), rd = NAN, wr = NAN;
	bool runq = false;

	for (size_t i = 0; i < t->n_containers; i++) {
		struct col_container *cc = &t->containers[i];
		const struct bpf_counters *cur, *prev;
		struct bpf_counters zero = { 0 };
		double dt;
		if (!container_bpf_read(c, t, cc, now))
			continue;
		cur = &cc->bpf->cur;
		/* Counters start at 0 when the cgroup is made: the first reading is the first
		 * interval's (however long the task ran before it). Rates are per nominal
		 * interval, so that the values times collect_interval add up to the exact
		 * counts whatever the timer's jitter. */
		prev = cc->bpf->have_prev ? &cc->bpf->prev : &zero;
		dt = (double)c->interval;
		if (cur->have & (1u << BPF_PROBE_NETWORK)) {
			add(&v[COL_NET_RX], (double)(cur->net_rx_bytes - prev->net_rx_bytes) / dt);
			add(&v[COL_NET_TX], (double)(cur->net_tx_bytes - prev->net_tx_bytes) / dt);
			add(&v[COL_NET_RX_PKT],
			    (double)(cur->net_rx_packets - prev->net_rx_packets) / dt);
			add(&v[COL_NET_TX_PKT],
			    (double)(cur->net_tx_packets - prev->net_tx_packets) / dt);
		}
		if (cur->have & (1u << BPF_PROBE_SCHED)) {
			bpf_hist_delta(cur->runq, prev->runq, d, BPF_HIST_SLOTS);
			for (int k = 0; k < BPF_HIST_SLOTS; k++)
				hist[k] += d[k];
			runq = true;
		}
		if (cur->have & (1u << BPF_PROBE_BLKIO) && cc->bpf->have_prev) {
			add(&rd, (double)(cur->blk_read_bytes - prev->blk_read_bytes));
			add(&wr, (double)(cur->blk_write_bytes - prev->blk_write_bytes));
		}
	}
	if (runq) {
		double p99 = bpf_hist_quantile(hist, BPF_HIST_SLOTS, 0.99);
		/* No switch-in in the interval: nobody waited. */
		v[COL_RUNQ_P99] = isnan(p99) ? 0 : p99 * 1e3;
	}
	/* Where the cgroup files count no I/O (v1 blkio without a throttle rule), the block
	 * probe's bytes stand in. */
	if (!isnan(rd) && !(v[COL_READ] >= rd))
		v[COL_READ] = rd;
	if (!isnan(wr) && !(v[COL_WRITE] >= wr))
		v[COL_WRITE] = wr;
	c->bpf_self.cycles++;
	c->bpf_self.seconds += mono() - t0;
}
