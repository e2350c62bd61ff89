/* SPDX-License-Identifier: MIT */
/* cgroup.c: task and container cgroups: mode detection, creation, limits, signals, removal. */
#include "runtime/cgroup.h"

#include "common/fileio.h"
#include "common/log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#define CPU_PERIOD_US    100000ULL
#define CPU_QUOTA_MIN_US 1000ULL     /* the kernel rejects smaller quotas */
#define CPU_UNITS_PER_CPU 1024ULL
#define SHARES_MIN       2ULL
#define SHARES_MAX       262144ULL
#define WALK_MAX_DEPTH   32          /* levels walked below a cgroup */
#define READ_MAX         (16u << 20) /* a cgroup.procs of a few million pids */
#define V1_UNLIMITED     (1ULL << 62) /* v1 page counters read about LONG_MAX when unlimited */
#define SIGNAL_ROUNDS    8           /* re-reads to catch forks when nothing can freeze */
#define FREEZE_WAIT_MS   1000
#define HIER_MAX         (CGROUP_CTRL_COUNT + 1)

static const char *const v1_names[CGROUP_CTRL_COUNT] = {
	"cpu", "cpuacct", "memory", "pids", "blkio", "freezer", "devices",
};
/* Controllers enabled in the subtree_control of v2 ancestors (NULL: core, nothing to enable). */
static const char *const v2_names[CGROUP_CTRL_COUNT] = {
	"cpu", NULL, "memory", "pids", "io", NULL, NULL,
};

/* ---- parsers ---- */

/* Parses the decimal digits in [s, end), allowing trailing whitespace. */
static int parse_u64(const char *s, const char *end, uint64_t *val)
{
	uint64_t v = 0;

	if (s >= end || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; s < end && isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	while (s < end && isspace((unsigned char)*s))
		s++;
	if (s != end)
		return -EINVAL;
	*val = v;
	return 0;
}

int cgroup_parse_keyed(const char *text, const char *key, uint64_t *val)
{
	size_t klen;
	const char *line = text;

	if (!text || !key || !(klen = strlen(key)))
		return -EINVAL;
	while (*line) {
		const char *eol = strchrnul(line, '\n');
		if ((size_t)(eol - line) > klen && strncmp(line, key, klen) == 0 &&
		    line[klen] == ' ')
			return parse_u64(line + klen + 1, eol, val);
		line = *eol ? eol + 1 : eol;
	}
	return -ENOENT;
}

int cgroup_parse_value(const char *text, uint64_t *val)
{
	const char *end;
	int r;

	if (!text)
		return -EINVAL;
	while (isspace((unsigned char)*text))
		text++;
	end = text + strlen(text);
	while (end > text && isspace((unsigned char)end[-1]))
		end--;
	if ((end - text == 3 && strncmp(text, "max", 3) == 0) ||
	    (end - text == 2 && strncmp(text, "-1", 2) == 0)) {
		*val = 0;
		return 0;
	}
	r = parse_u64(text, end, val);
	if (r == 0 && *val >= V1_UNLIMITED)
		*val = 0;
	return r;
}

int cgroup_parse_cpu_max(const char *text, uint64_t *quota, uint64_t *period)
{
	const char *sp;
	uint64_t q = 0, p;

	if (!text || !(sp = strchr(text, ' ')))
		return -EINVAL;
	if (!(sp - text == 3 && strncmp(text, "max", 3) == 0) && parse_u64(text, sp, &q) < 0)
		return -EINVAL;
	if (parse_u64(sp + 1, sp + 1 + strlen(sp + 1), &p) < 0 || p == 0)
		return -EINVAL;
	*quota = q;
	*period = p;
	return 0;
}

/* ---- names and paths ---- */

const char *cgroup_mode_name(enum cgroup_mode mode)
{
	switch (mode) {
	case CGROUP_MODE_V2:
		return "v2";
	case CGROUP_MODE_HYBRID:
		return "hybrid";
	case CGROUP_MODE_V1:
		return "v1";
	}
	return "unknown";
}

/* 0 when rel is a non-empty relative path of plain components. */
static int rel_check(const char *rel)
{
	const char *p = rel;

	if (!rel || !*rel || strlen(rel) >= CGROUP_PATH_MAX)
		return -EINVAL;
	while (*p) {
		size_t len = strcspn(p, "/");
		if (len == 0 || len > NAME_MAX || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)p[i] < 0x20)
				return -EINVAL;
		p += len;
		if (*p == '/' && !*++p)
			return -EINVAL;
	}
	return 0;
}

/* rel_check() for the public entry points, which log what they reject. */
static int rel_ok(const char *rel)
{
	int r = rel_check(rel);

	if (r)
		log_error("cgroup: failed to use cgroup name \"%s\": invalid path",
			  rel ? rel : "(null)");
	return r;
}

static int path_join(char *buf, size_t size, const char *base, const char *rel,
		     const char *file)
{
	int n = snprintf(buf, size, "%s%s%s%s%s", base, rel ? "/" : "", rel ? rel : "",
			 file ? "/" : "", file ? file : "");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int set_path(char dst[CGROUP_PATH_MAX], const char *src)
{
	if (strlen(src) >= CGROUP_PATH_MAX)
		return -ENAMETOOLONG;
	strcpy(dst, src);
	return 0;
}

/* Number of components of a valid rel. */
static int rel_depth(const char *rel)
{
	int n = 1;

	for (; *rel; rel++)
		n += *rel == '/';
	return n;
}

/* Length of the first level + 1 components of rel. */
static int rel_prefix_len(const char *rel, int level)
{
	const char *p = rel;

	for (;;) {
		p += strcspn(p, "/");
		if (level-- == 0 || !*p)
			return (int)(p - rel);
		p++;
	}
}

/* Path of the first level + 1 components of rel under base, plus file when not NULL. */
static int level_path(char *buf, size_t size, const char *base, const char *rel, int level,
		      const char *file)
{
	int n = snprintf(buf, size, "%s/%.*s%s%s", base, rel_prefix_len(rel, level), rel,
			 file ? "/" : "", file ? file : "");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The distinct hierarchies: the cgroup2 tree first, then each v1 mount once. */
static size_t hier_list(const struct cgroup_env *env, const char *out[HIER_MAX])
{
	size_t n = 0;

	if (env->unified[0])
		out[n++] = env->unified;
	if (env->mode == CGROUP_MODE_V2)
		return n;
	for (int c = 0; c < CGROUP_CTRL_COUNT; c++) {
		bool seen = !env->v1[c][0];
		for (size_t i = 0; i < n && !seen; i++)
			seen = strcmp(out[i], env->v1[c]) == 0;
		if (!seen)
			out[n++] = env->v1[c];
	}
	return n;
}

/* The hierarchy that every process of a cgroup is listed in and that is walked for children. */
static const char *primary_base(const struct cgroup_env *env)
{
	if (env->unified[0])
		return env->unified;
	if (env->v1[CGROUP_CTRL_FREEZER][0])
		return env->v1[CGROUP_CTRL_FREEZER];
	for (int c = 0; c < CGROUP_CTRL_COUNT; c++)
		if (env->v1[c][0])
			return env->v1[c];
	return NULL;
}

int cgroup_path(const struct cgroup_env *env, enum cgroup_ctrl ctrl, const char *rel,
		const char *file, char *buf, size_t size)
{
	if (rel_check(rel))
		return -EINVAL;
	if ((unsigned)ctrl >= CGROUP_CTRL_COUNT || !(env->controllers & (1u << ctrl)))
		return -EOPNOTSUPP;
	return path_join(buf, size, env->mode == CGROUP_MODE_V2 ? env->unified : env->v1[ctrl],
			 rel, file);
}

/* ---- file access ---- */

/* Writes val in one write(), as cgroupfs wants; fixture trees get the file created. No log. */
static int write_raw(const struct cgroup_env *env, const char *path, const char *val)
{
	int flags = O_WRONLY | O_CLOEXEC | (env->fixture ? O_CREAT | O_TRUNC : 0);
	size_t len = strlen(val);
	int fd, ret = 0;
	ssize_t n;

	fd = open(path, flags, 0644);
	if (fd < 0)
		return -errno;
	n = write(fd, val, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

static int write_file(const struct cgroup_env *env, const char *path, const char *val)
{
	int r = write_raw(env, path, val);

	if (r)
		log_error("cgroup: failed to write \"%s\" to %s: %s", val, path, strerror(-r));
	return r;
}

/* Reads a whole file into a malloc'd string the caller frees. No log. */
static int read_raw(const char *path, char **out)
{
	return file_read_all(path, READ_MAX, out, NULL);
}

static int read_file(const char *path, char **out)
{
	int r = read_raw(path, out);

	if (r)
		log_error("cgroup: failed to read %s: %s", path, strerror(-r));
	return r;
}

/* Reads key of the flat-keyed file path; a missing key reads as 0 (older kernels). */
static int read_keyed(const char *path, const char *key, uint64_t *val)
{
	char *text;
	int r = read_file(path, &text);

	if (r)
		return r;
	r = cgroup_parse_keyed(text, key, val);
	if (r == -ENOENT) {
		*val = 0;
		r = 0;
	} else if (r) {
		log_error("cgroup: failed to parse %s: bad \"%s\" line", path, key);
	}
	free(text);
	return r;
}

static bool is_dir_entry(DIR *d, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

static bool is_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

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
		if (is_dot(de->d_name) || !is_dir_entry(d, de))
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
	int r = path_join(path, sizeof(path), dir, NULL, "cgroup.procs");

	if (r || (r = read_raw(path, &text))) {
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
	int r = path_join(path, sizeof(path), dir, NULL, "memory.oom_control");

	if (r || (depth > 0 && access(path, F_OK) != 0))
		return r ? r : -ENOENT;
	r = read_keyed(path, "oom_kill", &v);
	if (r == 0)
		*(uint64_t *)ctx += v;
	return r;
}

static int remove_tree(const struct cgroup_env *env, const char *dir, int depth);

/* Removes one entry of a cgroup being removed: a child cgroup recursively, or in fixture mode a
 * file standing in for an interface file. Failures are logged where they happen. */
static int remove_entry(const struct cgroup_env *env, DIR *d, const struct dirent *de,
			const char *dir, int depth)
{
	char *child;
	int r = 0;

	if (asprintf(&child, "%s/%s", dir, de->d_name) < 0)
		return -ENOMEM;
	if (is_dir_entry(d, de)) {
		r = remove_tree(env, child, depth + 1);
	} else if (env->fixture && unlink(child) < 0 && errno != ENOENT) {
		r = -errno;
		log_error("cgroup: failed to remove %s: %s", child, strerror(-r));
	}
	free(child);
	return r == -ENOENT ? 0 : r;
}

/* Removes dir's child cgroups, then dir. Returns 0, -ENOENT when dir is missing (not logged),
 * or the first error, logged with the path it concerns. */
static int remove_tree(const struct cgroup_env *env, const char *dir, int depth)
{
	struct dirent *de;
	int ret = 0, r;
	DIR *d;

	if (depth > WALK_MAX_DEPTH || !(d = opendir(dir))) {
		ret = depth > WALK_MAX_DEPTH ? -ELOOP : -errno;
		if (ret != -ENOENT)
			log_error("cgroup: failed to list %s: %s", dir, strerror(-ret));
		return ret;
	}
	while ((de = readdir(d)))
		if (!is_dot(de->d_name) && (r = remove_entry(env, d, de, dir, depth)) && !ret)
			ret = r;
	closedir(d);
	if (ret == 0 && rmdir(dir) < 0 && errno != ENOENT) {
		ret = -errno;
		log_error("cgroup: failed to remove %s: %s", dir, strerror(-ret));
	}
	return ret;
}

/* ---- environment ---- */

/* Fills env for the cgroup2 tree at root from its cgroup.controllers. Not logged. */
static int env_init_v2(struct cgroup_env *env, const char *root)
{
	char path[PATH_MAX], *text, *save, *tok;
	int r;

	if ((r = path_join(path, sizeof(path), root, NULL, "cgroup.controllers")) ||
	    (r = read_raw(path, &text)))
		return r;
	memset(env, 0, sizeof(*env));
	env->mode = CGROUP_MODE_V2;
	if ((r = set_path(env->unified, root))) {
		free(text);
		return r;
	}
	env->controllers = 1u << CGROUP_CTRL_CPUACCT | 1u << CGROUP_CTRL_FREEZER |
			   1u << CGROUP_CTRL_DEVICES;
	for (tok = strtok_r(text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		for (int c = 0; c < CGROUP_CTRL_COUNT; c++)
			if (v2_names[c] && strcmp(tok, v2_names[c]) == 0)
				env->controllers |= 1u << c;
	free(text);
	return 0;
}

static bool under_root(const char *path, const char *root)
{
	size_t len = strlen(root);

	return strncmp(path, root, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

/* Decodes mountinfo's octal escapes ("\040" is a space) in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* Records a cgroup or cgroup2 mount under root from one mountinfo line (modified). */
static int mount_line(struct cgroup_env *env, const char *root, char *line)
{
	char *f[64], *save, *tok, *mp;
	int nf = 0, sep = -1, r = 0;

	for (tok = strtok_r(line, " ", &save); tok && nf < 64; tok = strtok_r(NULL, " ", &save)) {
		if (sep < 0 && nf >= 6 && strcmp(tok, "-") == 0)
			sep = nf;
		f[nf++] = tok;
	}
	if (sep < 0 || sep + 3 >= nf)
		return 0;
	mp = f[4];
	unescape_octal(mp);
	if (!under_root(mp, root))
		return 0;
	if (strcmp(f[sep + 1], "cgroup2") == 0)
		return env->unified[0] ? 0 : set_path(env->unified, mp);
	if (strcmp(f[sep + 1], "cgroup") != 0)
		return 0;
	for (tok = strtok_r(f[sep + 3], ",", &save); tok && !r; tok = strtok_r(NULL, ",", &save))
		for (int c = 0; c < CGROUP_CTRL_COUNT && !r; c++)
			if (strcmp(tok, v1_names[c]) == 0 && !env->v1[c][0]) {
				r = set_path(env->v1[c], mp);
				env->controllers |= 1u << c;
			}
	return r;
}

int cgroup_env_from_mountinfo(struct cgroup_env *env, const char *root, const char *mountinfo)
{
	char rootn[CGROUP_PATH_MAX], *copy, *save, *line;
	size_t len;
	int r = 0;

	memset(env, 0, sizeof(*env));
	if (set_path(rootn, root) < 0)
		return -ENAMETOOLONG;
	len = strlen(rootn);
	while (len > 0 && rootn[len - 1] == '/')
		rootn[--len] = '\0';
	if (!(copy = strdup(mountinfo)))
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line && !r; line = strtok_r(NULL, "\n", &save))
		r = mount_line(env, rootn, line);
	free(copy);
	if (r)
		return r;
	if (!env->controllers) {
		char unified[CGROUP_PATH_MAX];
		strcpy(unified, env->unified); /* env_init_v2() clears env */
		return unified[0] ? env_init_v2(env, unified) : -ENOENT;
	}
	env->mode = env->unified[0] ? CGROUP_MODE_HYBRID : CGROUP_MODE_V1;
	return 0;
}

int cgroup_env_detect(struct cgroup_env *env, const char *root)
{
	struct statfs sf;
	char *text;
	int r;

	if (statfs(root, &sf) < 0) {
		r = -errno;
		log_error("cgroup: failed to stat %s: %s", root, strerror(-r));
		return r;
	}
	if (sf.f_type == CGROUP2_SUPER_MAGIC) {
		r = env_init_v2(env, root);
	} else if ((r = read_raw("/proc/self/mountinfo", &text)) == 0) {
		r = cgroup_env_from_mountinfo(env, root, text);
		free(text);
	}
	if (r)
		log_error("cgroup: failed to find cgroup hierarchies under %s: %s", root,
			  strerror(-r));
	if (r == 0)
		log_debug("cgroup: %s mode under %s", cgroup_mode_name(env->mode), root);
	if (r == 0 && env->mode == CGROUP_MODE_V1 && !env->v1[CGROUP_CTRL_DEVICES][0])
		log_warn("cgroup: no devices controller under %s: containers may open any device "
			 "node they can create", root);
	return r;
}

/* Fills env from a tree holding one directory per v1 controller, plus "unified" for HYBRID. */
static int fixture_v1(struct cgroup_env *env, enum cgroup_mode mode, const char *dir)
{
	char path[PATH_MAX], real[PATH_MAX];
	int r = 0;

	memset(env, 0, sizeof(*env));
	env->mode = mode;
	for (int c = 0; c < CGROUP_CTRL_COUNT && !r; c++) {
		if (path_join(path, sizeof(path), dir, NULL, v1_names[c]) || !realpath(path, real))
			continue;
		r = set_path(env->v1[c], real);
		env->controllers |= 1u << c;
	}
	if (r || !env->controllers)
		return r ? r : -ENOENT;
	if (mode != CGROUP_MODE_HYBRID)
		return 0;
	if ((r = path_join(path, sizeof(path), dir, NULL, "unified")))
		return r;
	return realpath(path, real) ? set_path(env->unified, real) : -errno;
}

int cgroup_env_init_fixture(struct cgroup_env *env, enum cgroup_mode mode, const char *dir)
{
	int r = mode == CGROUP_MODE_V2 ? env_init_v2(env, dir) : fixture_v1(env, mode, dir);

	env->fixture = true;
	if (r)
		log_error("cgroup: failed to use fixture %s: %s", dir, strerror(-r));
	return r;
}

/* ---- creation and limits ---- */

/* Old kernels let a v1 memory cgroup ignore its children's usage; modern ones always count it. */
static void v1_use_hierarchy(const struct cgroup_env *env, const char *dir)
{
	char path[PATH_MAX], *text;

	if (path_join(path, sizeof(path), dir, NULL, "memory.use_hierarchy") ||
	    read_raw(path, &text))
		return;
	if (text[0] == '0' && write_raw(env, path, "1") < 0)
		log_warn("cgroup: failed to enable %s: children's memory not counted", path);
	free(text);
}

/* Makes base/rel level by level; *first becomes the first level this call made. */
static int mkdir_levels(const struct cgroup_env *env, const char *base, const char *rel,
			int *first)
{
	char path[PATH_MAX];
	int depth = rel_depth(rel), r;

	for (int l = 0; l < depth; l++) {
		if ((r = level_path(path, sizeof(path), base, rel, l, NULL)))
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

	if (first >= 0 && level_path(path, sizeof(path), base, rel, first, NULL) == 0)
		remove_tree(env, path, 0);
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
	int r = read_raw(path, &cur);

	if (r && !(r == -ENOENT && env->fixture)) {
		log_error("cgroup: failed to read %s: %s", path, strerror(-r));
		return r;
	}
	for (int c = 0; c < CGROUP_CTRL_COUNT; c++)
		if (v2_names[c] && (env->controllers & (1u << c)) && !has_word(cur, v2_names[c]))
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s+%s",
				 want[0] ? " " : "", v2_names[c]);
	free(cur);
	return want[0] ? write_file(env, path, want) : 0;
}

/* v2 limits need their controller enabled in every ancestor's subtree_control; rel itself is
 * left alone so that it may hold processes (the no-internal-process rule). */
static int enable_subtree(const struct cgroup_env *env, const char *rel)
{
	char path[PATH_MAX];
	int depth = rel_depth(rel), r;

	r = path_join(path, sizeof(path), env->unified, NULL, "cgroup.subtree_control");
	if (r == 0)
		r = enable_at(env, path);
	for (int l = 0; l < depth - 1 && r == 0; l++) {
		r = level_path(path, sizeof(path), env->unified, rel, l, "cgroup.subtree_control");
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
			  v1_names[ctrl]);
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
	r = write_raw(env, lim, val);
	if (r == -EINVAL && has_sw) {
		r = write_file(env, sw, val);
		return r ? r : write_file(env, lim, val);
	}
	if (r) {
		log_error("cgroup: failed to write \"%s\" to %s: %s", val, lim, strerror(-r));
		return r;
	}
	return has_sw ? write_file(env, sw, val) : 0;
}

static int limits_write(const struct cgroup_env *env, const char *rel,
			const struct cgroup_limits *lim)
{
	struct setting s[8];
	char path[PATH_MAX];
	bool v2 = env->mode == CGROUP_MODE_V2;
	size_t n = v2 ? settings_v2(lim, s) : settings_v1(lim, s);
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		r = limit_path(env, s[i].ctrl, rel, s[i].file, path, sizeof(path));
		if (r == 0 && !(s[i].optional && access(path, F_OK) != 0))
			r = write_file(env, path, s[i].value);
	}
	if (r == 0 && !v2 && lim->memory_max_bytes)
		r = set_v1_memory(env, rel, lim->memory_max_bytes);
	return r;
}

int cgroup_create(const struct cgroup_env *env, const char *rel, const struct cgroup_limits *lim)
{
	const char *h[HIER_MAX];
	int first[HIER_MAX], r;
	size_t n = hier_list(env, h);

	if ((r = rel_ok(rel)))
		return r;
	for (size_t i = 0; i < n; i++)
		first[i] = -1;
	for (size_t i = 0; i < n && r == 0; i++)
		r = mkdir_levels(env, h[i], rel, &first[i]);
	if (r == 0 && env->mode == CGROUP_MODE_V2)
		r = enable_subtree(env, rel);
	if (r == 0 && lim)
		r = limits_write(env, rel, lim);
	if (r)
		for (size_t i = n; i-- > 0;)
			undo_levels(env, h[i], rel, first[i]);
	return r;
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
	if (r == 0 && (r = read_raw(path, text)) == -ENOENT)
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
	if ((r = rel_ok(rel)))
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
	size_t n = hier_list(env, h);
	char **v;
	int r;

	if ((r = rel_ok(rel)))
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
		r = write_file(env, *p, val);
	cgroup_strv_free(paths);
	return r;
}

int cgroup_pids(const struct cgroup_env *env, const char *rel, pid_t **pids, size_t *n)
{
	const char *base = primary_base(env);
	struct pidvec pv = { 0 };
	char dir[PATH_MAX];
	int r;

	if ((r = rel_ok(rel)))
		return r;
	if (!base)
		return -ENOENT;
	if ((r = path_join(dir, sizeof(dir), base, rel, NULL)) ||
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
		if (read_raw(path, &text) == 0) {
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
	*v2 = env->unified[0] && path_join(path, size, env->unified, rel, "cgroup.freeze") == 0 &&
	      access(path, W_OK) == 0;
	if (*v2)
		return 0;
	if (env->v1[CGROUP_CTRL_FREEZER][0] &&
	    path_join(path, size, env->v1[CGROUP_CTRL_FREEZER], rel, "freezer.state") == 0 &&
	    access(path, W_OK) == 0)
		return 0;
	return -EOPNOTSUPP;
}

/* Freezes rel unless it is frozen already or has no freezer; true when the caller must thaw. */
static bool freeze(const struct cgroup_env *env, const char *rel)
{
	char path[PATH_MAX], events[PATH_MAX], *cur;
	bool v2, frozen;

	if (freezer_file(env, rel, path, sizeof(path), &v2) || read_raw(path, &cur))
		return false;
	frozen = v2 ? cur[0] == '1' : strncmp(cur, "FROZEN", 6) == 0;
	free(cur);
	if (frozen || write_file(env, path, v2 ? "1" : "FROZEN"))
		return false;
	if (v2 && path_join(events, sizeof(events), env->unified, rel, "cgroup.events") == 0)
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
		write_file(env, path, v2 ? "0" : "THAWED");
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
	int r = rel_ok(rel);

	return r ? r : signal_all(env, rel, sig);
}

int cgroup_kill(const struct cgroup_env *env, const char *rel)
{
	char path[PATH_MAX];
	int r;

	if ((r = rel_ok(rel)))
		return r;
	/* cgroup.kill (5.14+) kills the whole subtree atomically, forks included. */
	if (!env->fixture && env->unified[0] &&
	    path_join(path, sizeof(path), env->unified, rel, "cgroup.kill") == 0 &&
	    access(path, F_OK) == 0)
		return write_file(env, path, "1");
	return signal_all(env, rel, SIGKILL);
}

/* ---- inspection ---- */

int cgroup_oom_kills(const struct cgroup_env *env, const char *rel, uint64_t *count)
{
	char path[PATH_MAX];
	int r;

	*count = 0;
	if ((r = rel_ok(rel)))
		return r;
	r = cgroup_path(env, CGROUP_CTRL_MEMORY, rel,
			env->mode == CGROUP_MODE_V2 ? "memory.events" : NULL, path, sizeof(path));
	if (r == -EOPNOTSUPP)
		log_error("cgroup: failed to count OOM kills of %s: no memory controller", rel);
	if (r)
		return r;
	/* v2 events are hierarchical; v1 counts in the victim's own cgroup, so sum the subtree. */
	if (env->mode == CGROUP_MODE_V2)
		return read_keyed(path, "oom_kill", count);
	return walk_tree(path, 0, visit_oom, count);
}

int cgroup_is_populated(const struct cgroup_env *env, const char *rel, bool *populated)
{
	char path[PATH_MAX];
	uint64_t v = 0;
	pid_t *pids;
	size_t n;
	int r;

	if ((r = rel_ok(rel)))
		return r;
	if (env->unified[0]) {
		if ((r = path_join(path, sizeof(path), env->unified, rel, "cgroup.events")) ||
		    (r = read_keyed(path, "populated", &v)))
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

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends a copy of name to the NULL-terminated *v of *n entries. */
static int strv_push(char ***v, size_t *n, const char *name)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	if (!(nv[*n] = strdup(name)))
		return -ENOMEM;
	nv[++*n] = NULL;
	return 0;
}

int cgroup_list(const struct cgroup_env *env, const char *rel, char ***names)
{
	const char *base = primary_base(env);
	char dir[PATH_MAX], **v = NULL;
	struct dirent *de;
	size_t n = 0;
	int r;
	DIR *d;

	if ((r = rel_ok(rel)))
		return r;
	if (!base || (r = path_join(dir, sizeof(dir), base, rel, NULL)))
		return base ? r : -ENOENT;
	if (!(d = opendir(dir))) {
		r = -errno;
		log_error("cgroup: failed to list %s: %s", dir, strerror(-r));
		return r;
	}
	if (!(v = calloc(1, sizeof(*v)))) {
		closedir(d);
		return -ENOMEM;
	}
	while (r == 0 && (de = readdir(d)))
		if (!is_dot(de->d_name) && is_dir_entry(d, de))
			r = strv_push(&v, &n, de->d_name);
	closedir(d);
	if (r) {
		cgroup_strv_free(v);
		return r;
	}
	qsort(v, n, sizeof(char *), str_cmp);
	*names = v;
	return 0;
}

int cgroup_id(const struct cgroup_env *env, const char *rel, uint64_t *id)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h;
	char path[PATH_MAX];
	struct stat st;
	int mnt, r;

	if ((r = rel_ok(rel)))
		return r;
	if (!env->unified[0]) {
		log_error("cgroup: failed to get id of %s: no cgroup2 tree", rel);
		return -EOPNOTSUPP;
	}
	if ((r = path_join(path, sizeof(path), env->unified, rel, NULL)))
		return r;
	/* A kernfs file handle is the 64-bit cgroup id; the inode number equals it on 64-bit. */
	h.fh.handle_bytes = sizeof(uint64_t);
	if (!env->fixture && name_to_handle_at(AT_FDCWD, path, &h.fh, &mnt, 0) == 0 &&
	    h.fh.handle_bytes == sizeof(uint64_t)) {
		memcpy(id, h.fh.f_handle, sizeof(uint64_t));
		return 0;
	}
	if (stat(path, &st) < 0) {
		r = -errno;
		log_error("cgroup: failed to stat %s: %s", path, strerror(-r));
		return r;
	}
	*id = st.st_ino;
	return 0;
}

int cgroup_remove(const struct cgroup_env *env, const char *rel)
{
	const char *h[HIER_MAX];
	size_t n = hier_list(env, h);
	char dir[PATH_MAX];
	int ret, r;

	if ((ret = rel_ok(rel)))
		return ret;
	for (size_t i = 0; i < n; i++) {
		r = path_join(dir, sizeof(dir), h[i], rel, NULL);
		if (r == 0)
			r = remove_tree(env, dir, 0);
		if (r == -ENOENT)
			r = 0;
		if (r && !ret)
			ret = r;
	}
	return ret;
}
