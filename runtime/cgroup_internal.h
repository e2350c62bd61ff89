/* SPDX-License-Identifier: MIT */
/* cgroup_internal.h: what the cgroup*.c files share; not part of the module's interface. */
#ifndef BERTH_CGROUP_INTERNAL_H
#define BERTH_CGROUP_INTERNAL_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/cgroup.h"

#define WALK_MAX_DEPTH   32          /* levels walked below a cgroup */
#define HIER_MAX         (CGROUP_CTRL_COUNT + 1)

/* cgroup_env.c: controller names, indexed by enum cgroup_ctrl */

/* The v1 controller (and mount option) names. */
extern const char *const cgroup_v1_names[CGROUP_CTRL_COUNT];
/* The v2 controller names to enable in subtree_control (NULL: core, nothing to enable). */
extern const char *const cgroup_v2_names[CGROUP_CTRL_COUNT];

/* cgroup.c: names, paths, file access, removal */

/* rel_check() for the public entry points, which log what they reject. */
int cgroup_rel_ok(const char *rel);
/* base[/rel][/file] into buf: 0 or -ENAMETOOLONG. */
int cgroup_path_join(char *buf, size_t size, const char *base, const char *rel,
		     const char *file);
/* Copies src into dst: 0 or -ENAMETOOLONG. */
int cgroup_set_path(char dst[CGROUP_PATH_MAX], const char *src);
/* Number of components of a valid rel. */
int cgroup_rel_depth(const char *rel);
/* Path of the first level + 1 components of rel under base, plus file when not NULL. */
int cgroup_level_path(char *buf, size_t size, const char *base, const char *rel, int level,
		      const char *file);
/* The distinct hierarchies: the cgroup2 tree first, then each v1 mount once. */
size_t cgroup_hier_list(const struct cgroup_env *env, const char *out[HIER_MAX]);
/* The hierarchy that lists every process of a cgroup and is walked for children. */
const char *cgroup_primary_base(const struct cgroup_env *env);
/* Writes val in one write(); fixture trees get the file created. Not logged. */
int cgroup_write_raw(const struct cgroup_env *env, const char *path, const char *val);
/* cgroup_write_raw(), logging a failure. */
int cgroup_write_file(const struct cgroup_env *env, const char *path, const char *val);
/* Reads a whole file into a malloc'd string the caller frees. Not logged. */
int cgroup_read_raw(const char *path, char **out);
/* Reads key of the flat-keyed file path; a missing key reads as 0. Logged. */
int cgroup_read_keyed(const char *path, const char *key, uint64_t *val);
/* True when de (read from d) is a directory; links are not followed. */
bool cgroup_is_dir_entry(DIR *d, const struct dirent *de);
/* True for "." and "..". */
bool cgroup_is_dot(const char *name);
/* Removes dir's child cgroups, then dir: 0, -ENOENT (not logged) or -errno (logged). */
int cgroup_remove_tree(const struct cgroup_env *env, const char *dir, int depth);

#endif
