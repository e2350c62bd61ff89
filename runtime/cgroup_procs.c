/* SPDX-License-Identifier: MIT */
/* cgroup_procs.c: processes of a cgroup subtree: attach, list, freeze, signal, kill, OOM kills. */
#include "runtime/cgroup_internal.h"

#include "common/log.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIGNAL_ROUNDS    8           /* re-reads to catch forks when nothing can freeze */
#define FREEZE_WAIT_MS   1000

/* ---- walking a subtree ---- */

typedef int (*visit_fn)(const char *dir, int depth, void *ctx);

/* Calls fn on dir, then on each descendant directory (parents first). Children that vanish
 * meanwhile are skipped. Returns 0 or the first error. */
static int walk_tree(const char *dir, int depth, visit_fn fn, void *ctx)
{
	struct dirent *de;
	int ret;
	DIR *d;

	ret = fn(dir, depth, ctx);
	if (ret || depth >= WALK_MAX_DEPTH)
		return ret == -ENOENT && depth > 0 ? 0 : ret;
	d = opendir(dir);
	if (!d) {
		ret = errno == ENOENT && depth > 0 ? 0 : -errno;
		if (ret)
			log_error("cgroup: failed to list %s: %s", dir, strerror(-ret));
		return ret;
	}
	while (!ret && (de = readdir(d))) {
		char *child;
		if (cgroup_is_dot(de->d_name) || !cgroup_is_dir_entry(d, de))
			continue;
		if (asprintf(&child, "%s/%s", dir, de->d_name) < 0) {
			ret = -ENOMEM;
			break;
		}
		ret = walk_tree(child, depth + 1, fn, ctx);
		free(child);
	}
	closedir(d);
	return ret;
}

struct pidvec {
	pid_t *v;
	size_t n, cap;
};

static int pidvec_push(struct pidvec *pv, pid_t pid)
{
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 16;
		pid_t *v = realloc(pv->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		pv->v = v;
		pv->cap = cap;
	}
	pv->v[pv->n++] = pid;
	return 0;
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Sorts and drops duplicates (v1 cgroup.procs may repeat a pid). */
static void pidvec_uniq(struct pidvec *pv)
{
	size_t w = 0;

	if (pv->n)
		qsort(pv->v, pv->n, sizeof(pid_t), pid_cmp);
	for (size_t i = 0; i < pv->n; i++)
		if (!w || pv->v[w - 1] != pv->v[i])
			pv->v[w++] = pv->v[i];
	pv->n = w;
}

static int visit_pids(const char *dir, int depth, void *ctx)
{
	char path[PATH_MAX], *text, *p;
	int r = cgroup_path_join(path, sizeof(path), dir, NULL, "cgroup.procs");

	if (r || (r = cgroup_read_raw(path, &text))) {
		if (r != -ENOENT || depth == 0)
			log_error("cgroup: failed to read %s: %s", path, strerror(-r));
		return r;
	}
	for (p = text; *p && !r;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p) {
			p++;
			continue;
		}
		if (v > 0 && v <= INT_MAX)
			r = pidvec_push(ctx, (pid_t)v);
		p = end;
	}
	free(text);
	return r;
}

static int visit_oom(const char *dir, int depth, void *ctx)
{
	char path[PATH_MAX];
	uint64_t v;
	int r = cgroup_path_join(path, sizeof(path), dir, NULL, "memory.oom_control");

	if (r || (depth > 0 && access(path, F_OK) != 0))
		return r ? r : -ENOENT;
	r = cgroup_read_keyed(path, "oom_kill", &v);
	if (r == 0)
		*(uint64_t *)ctx += v;
	return r;
}

/* ---- processes ---- */

void cgroup_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int cgroup_procs_paths(const struct cgroup_env *env, const char *rel, char ***out)
{
	const char *h[HIER_MAX];
	size_t n = cgroup_hier_list(env, h);
	char **v;
	int r;

	if ((r = cgroup_rel_ok(rel)))
		return r;
	if (!(v = calloc(n + 1, sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (asprintf(&v[i], "%s/%s/cgroup.procs", h[i], rel) < 0) {
			v[i] = NULL;
			cgroup_strv_free(v);
			return -ENOMEM;
		}
	}
	*out = v;
	return 0;
}

int cgroup_attach(const struct cgroup_env *env, const char *rel, pid_t pid)
{
	char **paths, val[16];
	int r = cgroup_procs_paths(env, rel, &paths);

	if (r)
		return r;
	snprintf(val, sizeof(val), "%d", (int)pid);
	for (char **p = paths; *p && r == 0; p++)
		r = cgroup_write_file(env, *p, val);
	cgroup_strv_free(paths);
	return r;
}

int cgroup_pids(const struct cgroup_env *env, const char *rel, pid_t **pids, size_t *n)
{
	const char *base = cgroup_primary_base(env);
	struct pidvec pv = { 0 };
	char dir[PATH_MAX];
	int r;

	if ((r = cgroup_rel_ok(rel)))
		return r;
	if (!base)
		return -ENOENT;
	if ((r = cgroup_path_join(dir, sizeof(dir), base, rel, NULL)) ||
	    (r = walk_tree(dir, 0, visit_pids, &pv))) {
		free(pv.v);
		return r;
	}
	pidvec_uniq(&pv);
	*pids = pv.v;
	*n = pv.n;
	return 0;
}

/* Sleeps until path holds needle, for at most FREEZE_WAIT_MS. */
static void wait_contains(const char *path, const char *needle)
{
	const struct timespec ms = { 0, 1000000 };
	char *text;

	for (int i = 0; i < FREEZE_WAIT_MS; i++) {
		bool done = false;
		if (cgroup_read_raw(path, &text) == 0) {
			done = strstr(text, needle) != NULL;
			free(text);
		}
		if (done)
			return;
		nanosleep(&ms, NULL);
	}
	log_warn("cgroup: failed to freeze %s: still not \"%s\"; signalling anyway", path, needle);
}

/* Which freezer file of rel to use: cgroup2's cgroup.freeze, else v1 freezer.state. */
static int freezer_file(const struct cgroup_env *env, const char *rel, char *path, size_t size,
			bool *v2)
{
	*v2 = env->unified[0] &&
	      cgroup_path_join(path, size, env->unified, rel, "cgroup.freeze") == 0 &&
	      access(path, W_OK) == 0;
	if (*v2)
		return 0;
	if (env->v1[CGROUP_CTRL_FREEZER][0] &&
	    cgroup_path_join(path, size, env->v1[CGROUP_CTRL_FREEZER], rel, "freezer.state") == 0 &&
	    access(path, W_OK) == 0)
		return 0;
	return -EOPNOTSUPP;
}

/* Freezes rel unless it is frozen already or has no freezer; true when the caller must thaw. */
static bool freeze(const struct cgroup_env *env, const char *rel)
{
	char path[PATH_MAX], events[PATH_MAX], *cur;
	bool v2, frozen;

	if (freezer_file(env, rel, path, sizeof(path), &v2) || cgroup_read_raw(path, &cur))
		return false;
	frozen = v2 ? cur[0] == '1' : strncmp(cur, "FROZEN", 6) == 0;
	free(cur);
	if (frozen || cgroup_write_file(env, path, v2 ? "1" : "FROZEN"))
		return false;
	if (v2 && cgroup_path_join(events, sizeof(events), env->unified, rel, "cgroup.events") == 0)
		wait_contains(events, "frozen 1");
	else if (!v2)
		wait_contains(path, "FROZEN");
	return true;
}

static void thaw(const struct cgroup_env *env, const char *rel)
{
	char path[PATH_MAX];
	bool v2;

	if (freezer_file(env, rel, path, sizeof(path), &v2) == 0)
		cgroup_write_file(env, path, v2 ? "0" : "THAWED");
}

/* Signals each pid not in done[0, old) and records it in done. */
static int signal_round(struct pidvec *done, const pid_t *pids, size_t n, int sig, size_t *fresh)
{
	size_t old = done->n;
	int r = 0;

	*fresh = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (old && bsearch(&pids[i], done->v, old, sizeof(pid_t), pid_cmp))
			continue;
		if (kill(pids[i], sig) < 0 && errno != ESRCH) {
			r = -errno;
			log_error("cgroup: failed to signal pid %d: %s", (int)pids[i], strerror(-r));
		}
		(*fresh)++;
		if (r == 0)
			r = pidvec_push(done, pids[i]);
	}
	pidvec_uniq(done);
	return r;
}

/* Signals every process once; while frozen one pass is enough, else passes repeat until no new
 * process shows up (a fork between reading cgroup.procs and the signal). */
static int signal_all(const struct cgroup_env *env, const char *rel, int sig)
{
	struct pidvec done = { 0 };
	bool frozen;
	int r = 0;

	if (env->fixture) {
		log_error("cgroup: failed to signal %s: fixture pids are not real", rel);
		return -EOPNOTSUPP;
	}
	frozen = freeze(env, rel);
	for (int round = 0; round < SIGNAL_ROUNDS && r == 0; round++) {
		pid_t *pids;
		size_t n, fresh;
		if ((r = cgroup_pids(env, rel, &pids, &n)))
			break;
		r = signal_round(&done, pids, n, sig, &fresh);
		free(pids);
		if (!fresh || frozen)
			break;
	}
	if (frozen)
		thaw(env, rel);
	free(done.v);
	return r;
}

int cgroup_signal(const struct cgroup_env *env, const char *rel, int sig)
{
	int r = cgroup_rel_ok(rel);

	return r ? r : signal_all(env, rel, sig);
}

int cgroup_kill(const struct cgroup_env *env, const char *rel)
{
	char path[PATH_MAX];
	int r;

	if ((r = cgroup_rel_ok(rel)))
		return r;
	/* cgroup.kill (5.14+) kills the whole subtree atomically, forks included. */
	if (!env->fixture && env->unified[0] &&
	    cgroup_path_join(path, sizeof(path), env->unified, rel, "cgroup.kill") == 0 &&
	    access(path, F_OK) == 0)
		return cgroup_write_file(env, path, "1");
	return signal_all(env, rel, SIGKILL);
}

/* ---- inspection ---- */

int cgroup_oom_kills(const struct cgroup_env *env, const char *rel, uint64_t *count)
{
	char path[PATH_MAX];
	int r;

	*count = 0;
	if ((r = cgroup_rel_ok(rel)))
		return r;
	r = cgroup_path(env, CGROUP_CTRL_MEMORY, rel,
			env->mode == CGROUP_MODE_V2 ? "memory.events" : NULL, path, sizeof(path));
	if (r == -EOPNOTSUPP)
		log_error("cgroup: failed to count OOM kills of %s: no memory controller", rel);
	if (r)
		return r;
	/* v2 events are hierarchical; v1 counts in the victim's own cgroup, so sum the subtree. */
	if (env->mode == CGROUP_MODE_V2)
		return cgroup_read_keyed(path, "oom_kill", count);
	return walk_tree(path, 0, visit_oom, count);
}

int cgroup_is_populated(const struct cgroup_env *env, const char *rel, bool *populated)
{
	char path[PATH_MAX];
	uint64_t v = 0;
	pid_t *pids;
	size_t n;
	int r;

	if ((r = cgroup_rel_ok(rel)))
		return r;
	if (env->unified[0]) {
		if ((r = cgroup_path_join(path, sizeof(path), env->unified, rel,
					  "cgroup.events")) ||

		    (r = cgroup_read_keyed(path, "populated", &v)))
			return r;
		*populated = v != 0;
		return 0;
	}
	if ((r = cgroup_pids(env, rel, &pids, &n)))
		return r;
	free(pids);
	*populated = n > 0;
	return 0;
}
