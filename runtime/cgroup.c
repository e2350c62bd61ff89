/* SPDX-License-Identifier: MIT */
/* cgroup.c: task and container cgroups: names and paths, file access, children, ids, removal. */
#include "runtime/cgroup_internal.h"

#include "common/fileio.h"
#include "common/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_MAX         (16u << 20) /* a cgroup.procs of a few million pids */

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
int cgroup_rel_ok(const char *rel)
{
	int r = rel_check(rel);

	if (r)
		log_error("cgroup: failed to use cgroup name \"%s\": invalid path",
			  rel ? rel : "(null)");
	return r;
}

int cgroup_path_join(char *buf, size_t size, const char *base, const char *rel,
		     const char *file)
{
	int n = snprintf(buf, size, "%s%s%s%s%s", base, rel ? "/" : "", rel ? rel : "",
			 file ? "/" : "", file ? file : "");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int cgroup_set_path(char dst[CGROUP_PATH_MAX], const char *src)
{
	if (strlen(src) >= CGROUP_PATH_MAX)
		return -ENAMETOOLONG;
	strcpy(dst, src);
	return 0;
}

/* Number of components of a valid rel. */
int cgroup_rel_depth(const char *rel)
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
int cgroup_level_path(char *buf, size_t size, const char *base, const char *rel, int level,
		      const char *file)
{
	int n = snprintf(buf, size, "%s/%.*s%s%s", base, rel_prefix_len(rel, level), rel,
			 file ? "/" : "", file ? file : "");

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* The distinct hierarchies: the cgroup2 tree first, then each v1 mount once. */
size_t cgroup_hier_list(const struct cgroup_env *env, const char *out[HIER_MAX])
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
const char *cgroup_primary_base(const struct cgroup_env *env)
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
	return cgroup_path_join(buf, size,
				env->mode == CGROUP_MODE_V2 ? env->unified : env->v1[ctrl], rel,
				file);
}

/* ---- file access ---- */

/* Writes val in one write(), as cgroupfs wants; fixture trees get the file created. No log. */
int cgroup_write_raw(const struct cgroup_env *env, const char *path, const char *val)
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

int cgroup_write_file(const struct cgroup_env *env, const char *path, const char *val)
{
	int r = cgroup_write_raw(env, path, val);

	if (r)
		log_error("cgroup: failed to write \"%s\" to %s: %s", val, path, strerror(-r));
	return r;
}

/* Reads a whole file into a malloc'd string the caller frees. No log. */
int cgroup_read_raw(const char *path, char **out)
{
	return file_read_all(path, READ_MAX, out, NULL);
}

static int read_file(const char *path, char **out)
{
	int r = cgroup_read_raw(path, out);

	if (r)
		log_error("cgroup: failed to read %s: %s", path, strerror(-r));
	return r;
}

/* Reads key of the flat-keyed file path; a missing key reads as 0 (older kernels). */
int cgroup_read_keyed(const char *path, const char *key, uint64_t *val)
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

bool cgroup_is_dir_entry(DIR *d, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

bool cgroup_is_dot(const char *name)
{
	return name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]));
}

/* Removes one entry of a cgroup being removed: a child cgroup recursively, or in fixture mode a
 * file standing in for an interface file. Failures are logged where they happen. */
static int remove_entry(const struct cgroup_env *env, DIR *d, const struct dirent *de,
			const char *dir, int depth)
{
	char *child;
	int r = 0;

	if (asprintf(&child, "%s/%s", dir, de->d_name) < 0)
		return -ENOMEM;
	if (cgroup_is_dir_entry(d, de)) {
		r = cgroup_remove_tree(env, child, depth + 1);
	} else if (env->fixture && unlink(child) < 0 && errno != ENOENT) {
		r = -errno;
		log_error("cgroup: failed to remove %s: %s", child, strerror(-r));
	}
	free(child);
	return r == -ENOENT ? 0 : r;
}

/* Removes dir's child cgroups, then dir. Returns 0, -ENOENT when dir is missing (not logged),
 * or the first error, logged with the path it concerns. */
int cgroup_remove_tree(const struct cgroup_env *env, const char *dir, int depth)
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
		if (!cgroup_is_dot(de->d_name) && (r = remove_entry(env, d, de, dir, depth)) &&
		    !ret)

			ret = r;
	closedir(d);
	if (ret == 0 && rmdir(dir) < 0 && errno != ENOENT) {
		ret = -errno;
		log_error("cgroup: failed to remove %s: %s", dir, strerror(-ret));
	}
	return ret;
}

/* ---- children, ids, removal ---- */

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
	const char *base = cgroup_primary_base(env);
	char dir[PATH_MAX], **v = NULL;
	struct dirent *de;
	size_t n = 0;
	int r;
	DIR *d;

	if ((r = cgroup_rel_ok(rel)))
		return r;
	if (!base || (r = cgroup_path_join(dir, sizeof(dir), base, rel, NULL)))
		return base ? r : -ENOENT;
	if (!(d = opendir(dir))) {
		r = -errno;
		if (r != -ENOENT)
			log_error("cgroup: failed to list %s: %s", dir, strerror(-r));
		return r;
	}
	if (!(v = calloc(1, sizeof(*v)))) {
		closedir(d);
		return -ENOMEM;
	}
	while (r == 0 && (de = readdir(d)))
		if (!cgroup_is_dot(de->d_name) && cgroup_is_dir_entry(d, de))
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

	if ((r = cgroup_rel_ok(rel)))
		return r;
	if (!env->unified[0]) {
		log_error("cgroup: failed to get id of %s: no cgroup2 tree", rel);
		return -EOPNOTSUPP;
	}
	if ((r = cgroup_path_join(path, sizeof(path), env->unified, rel, NULL)))
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
	size_t n = cgroup_hier_list(env, h);
	char dir[PATH_MAX];
	int ret, r;

	if ((ret = cgroup_rel_ok(rel)))
		return ret;
	for (size_t i = 0; i < n; i++) {
		r = cgroup_path_join(dir, sizeof(dir), h[i], rel, NULL);
		if (r == 0)
			r = cgroup_remove_tree(env, dir, 0);
		if (r == -ENOENT)
			r = 0;
		if (r && !ret)
			ret = r;
	}
	return ret;
}
