/* SPDX-License-Identifier: MIT */
/* cgpool.c: task cgroups made ahead. A launch made 24 cgroups on a hybrid host (3 levels x 8
 * hierarchies, memory ones the dearest), wrote the device rules and attached the device program
 * before its supervisor could start: ~1 ms of berthd's CPU at every launch. cgroup v2 cannot
 * rename a cgroup, so a set made ahead must already carry its task's name: each cluster keeps
 * sets under task ids drawn ahead (random, as any task id), for the task definition it launched
 * last, and RunTask gives a task of that definition the id of a ready set. The launch then only
 * writes the limits. A set holds nothing of a task; a clean stop removes the sets and the next
 * start removes any a crash left (as task cgroups no state file names). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "runtime/runtime.h"
#include "runtime/taskdef.h"

static void set_rel(const struct runtime *rt, const struct rt_cluster *c, const char *id,
		    const char *sub, char *out, size_t len)
{
	if (sub)
		snprintf(out, len, "%s/%s/%s/%s", rt->cfg->cgroup_parent, c->name, id, sub);
	else
		snprintf(out, len, "%s/%s/%s", rt->cfg->cgroup_parent, c->name, id);
}

static unsigned want(const struct runtime *rt)
{
	unsigned n = (unsigned)rt->cfg->launch_pool_size;

	return n < RT_CGPOOL_MAX ? n : RT_CGPOOL_MAX;
}

/* Makes one set for c->cgpool_td: 0 or -errno (nothing is left of it). */
static int make_set(struct runtime *rt, struct rt_cluster *c)
{
	struct rt_cgpool_entry *e = &c->cgpool[c->cgpool_n];
	struct cgroup_limits lim = { .pids_max = RT_TASK_PIDS_MAX }, none = { 0 };
	char rel[CGROUP_PATH_MAX], sub[CGROUP_PATH_MAX];
	int r;

	id_random_hex(e->id, 32);
	set_rel(rt, c, e->id, NULL, rel, sizeof(rel));
	r = cgroup_create(&rt->cg, rel, &lim);
	if (r == 0)
		r = cgroup_restrict_devices(&rt->cg, rel);
	if (r == 0) {
		set_rel(rt, c, e->id, RT_INIT_CGROUP, sub, sizeof(sub));
		r = cgroup_create(&rt->cg, sub, &none);
	}
	for (size_t i = 0; r == 0 && i < c->cgpool_td->n_containers; i++) {
		set_rel(rt, c, e->id, c->cgpool_td->containers[i].name, sub, sizeof(sub));
		r = cgroup_create(&rt->cg, sub, &none);
	}
	if (r < 0) {
		cgroup_remove(&rt->cg, rel);
		return r;
	}
	e->td = c->cgpool_td;
	c->cgpool_n++;
	return 0;
}

static void drop_entry(struct runtime *rt, struct rt_cluster *c, int i)
{
	char rel[CGROUP_PATH_MAX];

	set_rel(rt, c, c->cgpool[i].id, NULL, rel, sizeof(rel));
	cgroup_remove(&rt->cg, rel);
	c->cgpool[i] = c->cgpool[--c->cgpool_n];
}

bool rt_cgpool_take(struct runtime *rt, struct rt_cluster *c, const struct taskdef *td,
		    struct rt_task *t)
{
	if (!want(rt))
		return false;
	c->cgpool_td = td;
	for (int i = 0; i < c->cgpool_n; i++) {
		if (c->cgpool[i].td != td)
			continue;
		memcpy(t->id, c->cgpool[i].id, sizeof(c->cgpool[i].id));
		c->cgpool[i] = c->cgpool[--c->cgpool_n];
		t->cgroups_ahead = true;
		return true;
	}
	return false;
}

bool rt_cgpool_refill(struct runtime *rt)
{
	static int64_t quiet_until;
	bool more = false;

	for (struct rt_cluster *c = rt->clusters; c; c = c->next) {
		/* Sets of another definition than the one launched last go first. */
		for (int i = c->cgpool_n - 1; i >= 0; i--)
			if (c->cgpool[i].td != c->cgpool_td || strcmp(c->status, "ACTIVE") != 0)
				drop_entry(rt, c, i);
		if (!c->cgpool_td || strcmp(c->status, "ACTIVE") != 0 ||
		    c->cgpool_n >= (int)want(rt))
			continue;
		int r = make_set(rt, c);
		if (r < 0) {
			/* Launches make their cgroups themselves; the next launch tries again. */
			if (time_mono_ms() >= quiet_until) {
				log_warn("runtime: cannot make task cgroups ahead in cluster %s: %s",
					 c->name, strerror(-r));
				quiet_until = time_mono_ms() + 60000;
			}
			c->cgpool_td = NULL;
			continue;
		}
		more = more || c->cgpool_n < (int)want(rt);
	}
	return more;
}

void rt_cgpool_drop(struct runtime *rt, struct rt_cluster *c)
{
	while (c->cgpool_n)
		drop_entry(rt, c, c->cgpool_n - 1);
	c->cgpool_td = NULL;
}
