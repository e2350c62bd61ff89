/* SPDX-License-Identifier: MIT */
/* cgroup_limits.c: creating cgroups with their cpu, memory and pids limits; reading limits back. */
#include "runtime/cgroup_internal.h"

#include "common/log.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CPU_PERIOD_US    100000ULL
#define CPU_QUOTA_MIN_US 1000ULL     /* the kernel rejects smaller quotas */
#define CPU_UNITS_PER_CPU 1024ULL
#define SHARES_MIN       2ULL
#define SHARES_MAX       262144ULL

/* ---- creation and limits ---- */

/* Old kernels let a v1 memory cgroup ignore its children's usage; modern ones always count it. */
static void v1_use_hierarchy(const struct cgroup_env *env, const char *dir)
{
	char path[PATH_MAX], *text;

	if (cgroup_path_join(path, sizeof(path), dir, NULL, "memory.use_hierarchy") ||
	    cgroup_read_raw(path, &text))
		return;
	if (text[0] == '0' && cgroup_write_raw(env, path, "1") < 0)
		log_warn("cgroup: failed to enable %s: children's memory not counted", path);
	free(text);
}

/* Makes base/rel level by level; *first becomes the first level this call made. */
static int mkdir_levels(const struct cgroup_env *env, const char *base, const char *rel,
			int *first)
{
	char path[PATH_MAX];
	int depth = cgroup_rel_depth(rel), r;

	/* The leaf first: its parents exist at every launch but a cluster's first. */
	if ((r = cgroup_level_path(path, sizeof(path), base, rel, depth - 1, NULL)))
		return r;
	if (mkdir(path, 0755) == 0) {
		*first = depth - 1;
		if (env->v1[CGROUP_CTRL_MEMORY][0] && strcmp(base, env->v1[CGROUP_CTRL_MEMORY]) == 0)
			v1_use_hierarchy(env, path);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	for (int l = 0; l < depth; l++) {
		if ((r = cgroup_level_path(path, sizeof(path), base, rel, l, NULL)))
			return r;
		if (mkdir(path, 0755) == 0) {
			if (*first < 0)
				*first = l;
			if (env->v1[CGROUP_CTRL_MEMORY][0] &&
			    strcmp(base, env->v1[CGROUP_CTRL_MEMORY]) == 0)
				v1_use_hierarchy(env, path);
		} else if (errno != EEXIST) {
			r = -errno;
			log_error("cgroup: failed to create %s: %s", path, strerror(-r));
			return r;
		}
	}
	return 0;
}

static void undo_levels(const struct cgroup_env *env, const char *base, const char *rel,
			int first)
{
	char path[PATH_MAX];

	if (first >= 0 && cgroup_level_path(path, sizeof(path), base, rel, first, NULL) == 0)
		cgroup_remove_tree(env, path, 0);
}

static bool has_word(const char *text, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = text; p && (p = strstr(p, word)); p += len)
		if ((p == text || isspace((unsigned char)p[-1])) &&
		    (!p[len] || isspace((unsigned char)p[len])))
			return true;
	return false;
}

/* Adds the wanted controllers missing from one cgroup.subtree_control file. */
static int enable_at(const struct cgroup_env *env, const char *path)
{
	char want[64] = "", *cur = NULL;
	int r = cgroup_read_raw(path, &cur);

	if (r && !(r == -ENOENT && env->fixture)) {
		log_error("cgroup: failed to read %s: %s", path, strerror(-r));
		return r;
	}
	for (int c = 0; c < CGROUP_CTRL_COUNT; c++)
		if (cgroup_v2_names[c] && (env->controllers & (1u << c)) &&
		    !has_word(cur, cgroup_v2_names[c]))
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s+%s",
				 want[0] ? " " : "", cgroup_v2_names[c]);
	free(cur);
	return want[0] ? cgroup_write_file(env, path, want) : 0;
}

/* v2 limits need their controller enabled in every ancestor's subtree_control; rel itself is
 * left alone so that it may hold processes (the no-internal-process rule). */
static int enable_subtree(const struct cgroup_env *env, const char *rel)
{
	char path[PATH_MAX];
	int depth = cgroup_rel_depth(rel), r;

	r = cgroup_path_join(path, sizeof(path), env->unified, NULL, "cgroup.subtree_control");
	if (r == 0)
		r = enable_at(env, path);
	for (int l = 0; l < depth - 1 && r == 0; l++) {
		r = cgroup_level_path(path, sizeof(path), env->unified, rel, l,
				      "cgroup.subtree_control");

		if (r == 0)
			r = enable_at(env, path);
	}
	return r;
}

struct setting {
	enum cgroup_ctrl ctrl;
	const char *file;
	bool optional; /* written only when the kernel offers the file */
	char value[48];
};

static void add_setting(struct setting *s, size_t *n, enum cgroup_ctrl ctrl, const char *file,
			bool optional, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void add_setting(struct setting *s, size_t *n, enum cgroup_ctrl ctrl, const char *file,
			bool optional, const char *fmt, ...)
{
	va_list ap;

	s[*n].ctrl = ctrl;
	s[*n].file = file;
	s[*n].optional = optional;
	va_start(ap, fmt);
	vsnprintf(s[*n].value, sizeof(s[*n].value), fmt, ap);
	va_end(ap);
	(*n)++;
}

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static uint64_t cpu_quota_us(uint64_t units)
{
	uint64_t q = clamp_u64(units, 1, 1ULL << 40) * CPU_PERIOD_US / CPU_UNITS_PER_CPU;

	return q < CPU_QUOTA_MIN_US ? CPU_QUOTA_MIN_US : q;
}

/* runc's conversion of cpu shares [2, 262144] to cgroup v2 weight [1, 10000]. */
static uint64_t units_to_weight(uint64_t units)
{
	return 1 + ((clamp_u64(units, SHARES_MIN, SHARES_MAX) - 2) * 9999) / 262142;
}

/* The smallest unit count that units_to_weight() maps to weight. */
static uint64_t weight_to_units(uint64_t weight)
{
	weight = clamp_u64(weight, 1, 10000);
	return 2 + ((weight - 1) * 262142 + 9998) / 9999;
}

static size_t settings_v2(const struct cgroup_limits *lim, struct setting *s)
{
	size_t n = 0;

	if (lim->cpu_max_units)
		add_setting(s, &n, CGROUP_CTRL_CPU, "cpu.max", false, "%" PRIu64 " %llu",
			    cpu_quota_us(lim->cpu_max_units), CPU_PERIOD_US);
	if (lim->cpu_weight_units)
		add_setting(s, &n, CGROUP_CTRL_CPU, "cpu.weight", false, "%" PRIu64,
			    units_to_weight(lim->cpu_weight_units));
	if (lim->memory_max_bytes) {
		add_setting(s, &n, CGROUP_CTRL_MEMORY, "memory.max", false, "%" PRIu64,
			    lim->memory_max_bytes);
		add_setting(s, &n, CGROUP_CTRL_MEMORY, "memory.swap.max", true, "0");
	}
	if (lim->memory_low_bytes)
		add_setting(s, &n, CGROUP_CTRL_MEMORY, "memory.low", false, "%" PRIu64,
			    lim->memory_low_bytes);
	if (lim->pids_max)
		add_setting(s, &n, CGROUP_CTRL_PIDS, "pids.max", false, "%" PRIu64, lim->pids_max);
	return n;
}

/* The v1 settings but the memory hard limit (see set_v1_memory()). */
static size_t settings_v1(const struct cgroup_limits *lim, struct setting *s)
{
	size_t n = 0;

	if (lim->cpu_max_units) {
		add_setting(s, &n, CGROUP_CTRL_CPU, "cpu.cfs_period_us", false, "%llu",
			    CPU_PERIOD_US);
		add_setting(s, &n, CGROUP_CTRL_CPU, "cpu.cfs_quota_us", false, "%" PRIu64,
			    cpu_quota_us(lim->cpu_max_units));
	}
	if (lim->cpu_weight_units)
		add_setting(s, &n, CGROUP_CTRL_CPU, "cpu.shares", false, "%" PRIu64,
			    clamp_u64(lim->cpu_weight_units, SHARES_MIN, SHARES_MAX));
	if (lim->memory_low_bytes)
		add_setting(s, &n, CGROUP_CTRL_MEMORY, "memory.soft_limit_in_bytes", false,
			    "%" PRIu64, lim->memory_low_bytes);
	if (lim->pids_max)
		add_setting(s, &n, CGROUP_CTRL_PIDS, "pids.max", false, "%" PRIu64, lim->pids_max);
	return n;
}

/* Path of a limit file; a missing controller is an error, since a limit must not be dropped. */
static int limit_path(const struct cgroup_env *env, enum cgroup_ctrl ctrl, const char *rel,
		      const char *file, char *path, size_t size)
{
	int r = cgroup_path(env, ctrl, rel, file, path, size);

	if (r == -EOPNOTSUPP)
		log_error("cgroup: failed to set %s of %s: no %s controller", file, rel,
			  cgroup_v1_names[ctrl]);
	return r;
}

/* memory.memsw.limit_in_bytes (memory + swap) must stay >= memory.limit_in_bytes, so the order
 * of the two writes depends on whether the limit goes up or down. */
static int set_v1_memory(const struct cgroup_env *env, const char *rel, uint64_t bytes)
{
	char lim[PATH_MAX], sw[PATH_MAX], val[24];
	bool has_sw;
	int r;

	if ((r = limit_path(env, CGROUP_CTRL_MEMORY, rel, "memory.limit_in_bytes", lim,
			    sizeof(lim))) ||
	    (r = limit_path(env, CGROUP_CTRL_MEMORY, rel, "memory.memsw.limit_in_bytes", sw,
			    sizeof(sw))))
		return r;
	has_sw = access(sw, F_OK) == 0;
	snprintf(val, sizeof(val), "%" PRIu64, bytes);
	r = cgroup_write_raw(env, lim, val);
	if (r == -EINVAL && has_sw) {
		r = cgroup_write_file(env, sw, val);
		return r ? r : cgroup_write_file(env, lim, val);
	}
	if (r) {
		log_error("cgroup: failed to write \"%s\" to %s: %s", val, lim, strerror(-r));
		return r;
	}
	return has_sw ? cgroup_write_file(env, sw, val) : 0;
}

int cgroup_set_limits(const struct cgroup_env *env, const char *rel, const struct cgroup_limits *lim)
{
	struct setting s[8];
	char path[PATH_MAX];
	bool v2 = env->mode == CGROUP_MODE_V2;
	size_t n = v2 ? settings_v2(lim, s) : settings_v1(lim, s);
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		r = limit_path(env, s[i].ctrl, rel, s[i].file, path, sizeof(path));
		if (r == 0 && !(s[i].optional && access(path, F_OK) != 0))
			r = cgroup_write_file(env, path, s[i].value);
	}
	if (r == 0 && !v2 && lim->memory_max_bytes)
		r = set_v1_memory(env, rel, lim->memory_max_bytes);
	return r;
}

int cgroup_create(const struct cgroup_env *env, const char *rel, const struct cgroup_limits *lim)
{
	const char *h[HIER_MAX];
	int first[HIER_MAX], r;
	size_t n = cgroup_hier_list(env, h);

	if ((r = cgroup_rel_ok(rel)))
		return r;
	for (size_t i = 0; i < n; i++)
		first[i] = -1;
	for (size_t i = 0; i < n && r == 0; i++)
		r = mkdir_levels(env, h[i], rel, &first[i]);
	if (r == 0 && env->mode == CGROUP_MODE_V2)
		r = enable_subtree(env, rel);
	if (r == 0 && lim)
		r = cgroup_set_limits(env, rel, lim);
	if (r)
		for (size_t i = n; i-- > 0;)
			undo_levels(env, h[i], rel, first[i]);
	return r;
}

int cgroup_weight_boost(const struct cgroup_env *env, const char *rel, unsigned factor,
			char *path, size_t size, char *normal, size_t nsize)
{
	bool v2 = env->mode == CGROUP_MODE_V2;
	uint64_t def = v2 ? 100 : 1024, cur = def;
	char val[24], *text = NULL;
	int r;

	if (factor < 2 || factor > 100)
		return -EINVAL;
	if ((r = cgroup_rel_ok(rel)) ||
	    (r = cgroup_path(env, CGROUP_CTRL_CPU, rel, v2 ? "cpu.weight" : "cpu.shares", path,
			     size)))
		return r;
	if ((size_t)snprintf(normal, nsize, "%" PRIu64, def) >= nsize)
		return -ENAMETOOLONG;
	r = cgroup_read_raw(path, &text);
	if (r == 0)
		r = cgroup_parse_value(text, &cur);
	free(text);
	if (r == -ENOENT && env->fixture)
		r = 0, cur = def; /* a fixture tree has the files it was given */
	if (r)
		return r;
	if (cur != def && cur != def * factor)
		return -EBUSY;
	snprintf(val, sizeof(val), "%" PRIu64, def * factor);
	return cur == def * factor ? 0 : cgroup_write_raw(env, path, val);
}

/* Reads one value file; a missing controller or file reads as 0. */
static int read_limit(const struct cgroup_env *env, enum cgroup_ctrl ctrl, const char *rel,
		      const char *file, char **text)
{
	char path[PATH_MAX];
	int r = cgroup_path(env, ctrl, rel, file, path, sizeof(path));

	*text = NULL;
	if (r == -EOPNOTSUPP)
		return 0;
	if (r == 0 && (r = cgroup_read_raw(path, text)) == -ENOENT)
		return 0;
	if (r)
		log_error("cgroup: failed to read %s: %s", path, strerror(-r));
	return r;
}

static int read_value(const struct cgroup_env *env, enum cgroup_ctrl ctrl, const char *rel,
		      const char *file, uint64_t *val)
{
	char *text;
	int r = read_limit(env, ctrl, rel, file, &text);

	*val = 0;
	if (r || !text)
		return r;
	if ((r = cgroup_parse_value(text, val)))
		log_error("cgroup: failed to parse %s of %s: \"%.32s\"", file, rel, text);
	free(text);
	return r;
}

static uint64_t quota_to_units(uint64_t quota, uint64_t period)
{
	return period ? (quota * CPU_UNITS_PER_CPU + period / 2) / period : 0;
}

static int read_cpu_v2(const struct cgroup_env *env, const char *rel, struct cgroup_limits *out)
{
	uint64_t quota, period, weight;
	char *text;
	int r = read_limit(env, CGROUP_CTRL_CPU, rel, "cpu.max", &text);

	if (r == 0 && text) {
		if ((r = cgroup_parse_cpu_max(text, &quota, &period)))
			log_error("cgroup: failed to parse cpu.max of %s: \"%.32s\"", rel, text);
		else
			out->cpu_max_units = quota_to_units(quota, period);
		free(text);
	}
	if (r == 0 && (r = read_value(env, CGROUP_CTRL_CPU, rel, "cpu.weight", &weight)) == 0)
		out->cpu_weight_units = weight ? weight_to_units(weight) : 0;
	return r;
}

static int read_cpu_v1(const struct cgroup_env *env, const char *rel, struct cgroup_limits *out)
{
	uint64_t quota, period;
	int r = read_value(env, CGROUP_CTRL_CPU, rel, "cpu.cfs_quota_us", &quota);

	if (r == 0)
		r = read_value(env, CGROUP_CTRL_CPU, rel, "cpu.cfs_period_us", &period);
	if (r == 0)
		out->cpu_max_units = quota_to_units(quota, period);
	if (r == 0)
		r = read_value(env, CGROUP_CTRL_CPU, rel, "cpu.shares", &out->cpu_weight_units);
	return r;
}

int cgroup_read_limits(const struct cgroup_env *env, const char *rel, struct cgroup_limits *out)
{
	bool v2 = env->mode == CGROUP_MODE_V2;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = cgroup_rel_ok(rel)))
		return r;
	r = v2 ? read_cpu_v2(env, rel, out) : read_cpu_v1(env, rel, out);
	if (r == 0)
		r = read_value(env, CGROUP_CTRL_MEMORY, rel,
			       v2 ? "memory.max" : "memory.limit_in_bytes", &out->memory_max_bytes);
	if (r == 0)
		r = read_value(env, CGROUP_CTRL_MEMORY, rel,
			       v2 ? "memory.low" : "memory.soft_limit_in_bytes",
			       &out->memory_low_bytes);
	if (r == 0)
		r = read_value(env, CGROUP_CTRL_PIDS, rel, "pids.max", &out->pids_max);
	return r;
}
