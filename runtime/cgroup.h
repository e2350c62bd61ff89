/* SPDX-License-Identifier: MIT */
/* cgroup.h: task and container cgroups on cgroup v2, hybrid (v1 controllers + unified) and v1 hosts. */
#ifndef BERTH_CGROUP_H
#define BERTH_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * A cgroup is named by a path relative to the hierarchy roots ("rel"), e.g.
 * "berth.slice/demo/<task-id>/web". A rel must be non-empty, relative, and made of non-empty
 * components other than "." and ".."; anything else is rejected with -EINVAL.
 *
 * Every function returns 0 or a negative errno. File errors are logged once, naming the file,
 * by the function that meets them; callers need not log them again.
 */

enum cgroup_mode {
	CGROUP_MODE_V2,     /* one cgroup2 tree with the controllers */
	CGROUP_MODE_HYBRID, /* v1 controller hierarchies plus a controller-less cgroup2 tree */
	CGROUP_MODE_V1,     /* v1 controller hierarchies only */
};

/* Controllers berth uses. CPUACCT, FREEZER and DEVICES are built into the core of cgroup v2
 * (DEVICES as BPF device programs); on v1 hosts DEVICES is optional. */
enum cgroup_ctrl {
	CGROUP_CTRL_CPU,
	CGROUP_CTRL_CPUACCT,
	CGROUP_CTRL_MEMORY,
	CGROUP_CTRL_PIDS,
	CGROUP_CTRL_IO,     /* "io" on v2, "blkio" on v1 */
	CGROUP_CTRL_FREEZER,
	CGROUP_CTRL_DEVICES,
	CGROUP_CTRL_COUNT,
};

#define CGROUP_PATH_MAX 512

/* Where the hierarchies are; caller-owned, filled by cgroup_env_detect() or
 * cgroup_env_init_fixture(), needs no release. */
struct cgroup_env {
	enum cgroup_mode mode;
	bool fixture;                 /* a plain directory tree standing in for cgroupfs (tests) */
	unsigned controllers;         /* bit (1u << CGROUP_CTRL_x) set when that controller exists */
	char unified[CGROUP_PATH_MAX];/* the cgroup2 tree; "" in V1 mode */
	/* Mount point of each v1 controller, "" when absent; co-mounted controllers
	 * (e.g. "cpu,cpuacct") share the same string. Unused in V2 mode. */
	char v1[CGROUP_CTRL_COUNT][CGROUP_PATH_MAX];
	bool favor_dynmods;           /* favordynmods is on (set by cgroup_favor_dynmods()) */
};

/* Limits in ECS units; 0 leaves a limit unset (the kernel default stays). */
struct cgroup_limits {
	uint64_t cpu_max_units;    /* hard cap, 1024 = one CPU: v2 cpu.max, v1 cpu.cfs_quota_us */
	uint64_t cpu_weight_units; /* relative share (2..262144): v2 cpu.weight, v1 cpu.shares */
	uint64_t memory_max_bytes; /* hard: memory.max (+ memory.swap.max 0), v1 limit (+ memsw) */
	uint64_t memory_low_bytes; /* soft reservation: memory.low, v1 memory.soft_limit_in_bytes */
	uint64_t pids_max;         /* pids.max */
};

/* Detects the mode under root (normally "/sys/fs/cgroup"): statfs() tells a cgroup2 root, else
 * /proc/self/mountinfo tells where each v1 controller and the unified tree are mounted.
 * Returns 0, or -errno (-ENOENT when no cgroup hierarchy is mounted under root). */
int cgroup_env_detect(struct cgroup_env *env, const char *root);

/* The mountinfo half of cgroup_env_detect(), from the text of a mountinfo file: v1 controller
 * mounts and a cgroup2 mount under root (mounts elsewhere are ignored). When only a cgroup2 tree
 * is found, its cgroup.controllers is read as for a V2 root. Returns 0, -ENOENT when nothing is
 * under root, or -errno. Does not log. */
int cgroup_env_from_mountinfo(struct cgroup_env *env, const char *root, const char *mountinfo);

/* The super options ("rw,nsdelegate,memory_recursiveprot") of the last mount at mount_point in
 * mountinfo's text, into out. Returns 0, -ENOENT when nothing is mounted there, -ENAMETOOLONG. */
int cgroup_mount_options(const char *mountinfo, const char *mount_point, char *out, size_t size);

/* Turns on the kernel's favordynmods on the cgroup2 tree unless it is on already, keeping the
 * mount's other options: moving a process into a cgroup then no longer waits for an RCU grace
 * period (8-12 ms on an idle 2-CPU host) at the price of slightly dearer forks and exits. The
 * setting is host-wide (it changes how the kernel locks every cgroup migration, v1 hierarchies
 * included) and, from Linux 6.18, stays in effect once set. v1 hierarchies take it only when
 * first mounted: without a cgroup2 tree this returns -EOPNOTSUPP (logged). Returns 1 when it was
 * on already, 0 when turned on, or -errno (logged); sets env->favor_dynmods. */
int cgroup_favor_dynmods(struct cgroup_env *env);

/* Points env at a fixture tree in dir: for V2 dir is the cgroup2 root (its cgroup.controllers is
 * read); for V1 and HYBRID dir holds one directory per v1 controller named as on a real host
 * (cpu, cpuacct, memory, pids, blkio, freezer, devices; symlinks express co-mounting), plus
 * "unified" for HYBRID. In fixture mode writes create missing files, cgroup_remove() deletes the files a
 * directory holds, and cgroup_kill()/cgroup_signal() refuse with -EOPNOTSUPP (the pids listed
 * there are made up). Returns 0 or -errno (-ENOENT when dir lacks what mode needs). */
int cgroup_env_init_fixture(struct cgroup_env *env, enum cgroup_mode mode, const char *dir);

/* "v2", "hybrid" or "v1" (static string). */
const char *cgroup_mode_name(enum cgroup_mode mode);

/* Path of file (may be NULL for the directory itself) of cgroup rel in the hierarchy of ctrl:
 * the unified tree on V2, the controller's v1 mount otherwise. Returns 0, -EINVAL for a bad rel,
 * -EOPNOTSUPP when ctrl is not available, -ENAMETOOLONG when buf is too small. */
int cgroup_path(const struct cgroup_env *env, enum cgroup_ctrl ctrl, const char *rel,
		const char *file, char *buf, size_t size);

/* Creates rel and its missing parents in every hierarchy (v2: the one tree, enabling cpu, memory,
 * pids and io in the subtree_control of every ancestor; hybrid: each v1 hierarchy and the unified
 * tree; v1: each v1 hierarchy), then writes lim (may be NULL) to rel. Idempotent: existing
 * directories are kept and the limits written again. A CPU quota is raised to the kernel minimum
 * of 1 ms per 100 ms period. Returns 0 or -errno (-EOPNOTSUPP when a limit's controller is
 * missing); on error the directories this call made are removed again. */
int cgroup_create(const struct cgroup_env *env, const char *rel, const struct cgroup_limits *lim);

/* Writes the limits lim sets (its non-zero fields) to the existing cgroup rel, as
 * cgroup_create() does to a new one. Returns 0 or -errno (logged). */
int cgroup_set_limits(const struct cgroup_env *env, const char *rel, const struct cgroup_limits *lim);

/* Applies runc's default device rules to rel, normally a task cgroup, which its descendants
 * then inherit. Allowed: mknod of any character or block device ("c *:* m", "b *:* m"), and
 * read, write and mknod of null, zero, full, random, urandom (c 1:3, 1:5, 1:7, 1:8, 1:9), tty
 * (c 5:0), ptmx (c 5:2), pseudo-terminals (c 136:*) and tun (c 10:200); every other open is
 * refused with EPERM. Opening a block device node made with mknod is therefore refused.
 * v1 devices controller: "a" is written to devices.deny, then each rule to devices.allow; the
 * kernel refuses that once rel has child cgroups, so call this right after cgroup_create(rel)
 * and before creating any cgroup below rel (a call that finds the rules already in place does
 * nothing). cgroup2 tree (v2 and hybrid): a BPF_PROG_TYPE_CGROUP_DEVICE program with the same
 * rules is attached to rel (BPF_F_ALLOW_MULTI), replacing one attached by an earlier call; it
 * applies to the whole subtree whenever created. Both are applied on hybrid hosts.
 * Degraded, logged once and still 0: a kernel or caller that may not load BPF programs (no
 * CAP_BPF/CAP_SYS_ADMIN) while no v1 devices controller enforces the rules, a v1 host without
 * a devices controller, fixture mode on a cgroup2 tree (nothing attached). Returns 0, or -errno
 * when rel is invalid or missing or a devices file refuses a rule. Nothing to free. */
int cgroup_restrict_devices(const struct cgroup_env *env, const char *rel);

/* The launch boost: sets rel's CPU weight to factor (2..100) times the kernel's default (v2
 * cpu.weight 100, v1 cpu.shares 1024) when it is the default or already that (an earlier
 * boost), and gives the file (path, size bytes) and the default (normal, nsize bytes) that
 * restore it. A weight set to anything else is left alone: -EBUSY. Returns 0 or -errno
 * (-EOPNOTSUPP: no cpu controller); logs nothing. Nothing to free. */
int cgroup_weight_boost(const struct cgroup_env *env, const char *rel, unsigned factor,
			char *path, size_t size, char *normal, size_t nsize);

/* Reads back the limits of rel into *out; unset or unlimited values read as 0, a missing
 * controller file too. The weight reads back as the smallest unit count giving the same kernel
 * weight (v2 weights are coarser than units). Returns 0 or -errno. */
int cgroup_read_limits(const struct cgroup_env *env, const char *rel, struct cgroup_limits *out);

/* Sets *out to a NULL-terminated list of the cgroup.procs files of rel, one per hierarchy, that a
 * new process is written into. The caller frees it with cgroup_strv_free(). Returns 0 or -errno
 * (nothing allocated on error). */
int cgroup_procs_paths(const struct cgroup_env *env, const char *rel, char ***out);

/* Moves pid into rel in every hierarchy. Returns 0 or -errno (the pid may then be in some). */
int cgroup_attach(const struct cgroup_env *env, const char *rel, pid_t pid);

/* Kills every process in rel and its descendants: cgroup.kill when the kernel has it (5.14+),
 * else SIGKILL to each listed process, frozen first when a freezer exists so forks cannot
 * escape. Returns once signals are sent; processes exit asynchronously (watch
 * cgroup_is_populated()). Returns 0 or -errno (-ENOENT when rel does not exist). */
int cgroup_kill(const struct cgroup_env *env, const char *rel);

/* Sends sig once to every process in rel and its descendants (frozen meanwhile when possible).
 * Returns 0 or -errno. */
int cgroup_signal(const struct cgroup_env *env, const char *rel, int sig);

/* Sets *count to the kernel's OOM kill count of rel including its descendants (v2 memory.events
 * oom_kill; v1 the sum of memory.oom_control oom_kill). Returns 0, -EOPNOTSUPP without a memory
 * controller, or -errno. */
int cgroup_oom_kills(const struct cgroup_env *env, const char *rel, uint64_t *count);

/* Sets *populated when a process lives in rel or below (cgroup.events on a cgroup2 tree, else
 * the cgroup.procs files). Returns 0 or -errno. */
int cgroup_is_populated(const struct cgroup_env *env, const char *rel, bool *populated);

/* Sets *pids to a malloc'd sorted array of the *n distinct pids in rel and its descendants
 * (NULL when none); the caller frees it. Returns 0 or -errno (nothing allocated on error). */
int cgroup_pids(const struct cgroup_env *env, const char *rel, pid_t **pids, size_t *n);

/* Removes rel and its descendants in every hierarchy, children first. A missing cgroup is
 * success; -EBUSY when processes remain. Every hierarchy is tried; the first error is returned. */
int cgroup_remove(const struct cgroup_env *env, const char *rel);

/* Sets *names to the sorted, NULL-terminated names of the child cgroups of rel (in the cgroup2
 * tree, or in V1 mode the freezer hierarchy, else the first one). The caller frees it with cgroup_strv_free().
 * Returns 0 or -errno (-ENOENT when rel does not exist, not logged). */
int cgroup_list(const struct cgroup_env *env, const char *rel, char ***names);

/* Sets *id to the cgroup2 id of rel (what bpf_get_current_cgroup_id() returns), from the unified
 * tree. Returns 0, -EOPNOTSUPP in V1 mode, or -errno. */
int cgroup_id(const struct cgroup_env *env, const char *rel, uint64_t *id);

/* Frees a list from cgroup_procs_paths() or cgroup_list(); NULL is a no-op. */
void cgroup_strv_free(char **v);

/* Parsers of cgroupfs file contents, exposed for the collector and fuzzing. */

/* Finds "key value" in a flat-keyed file (memory.events, cgroup.events, memory.oom_control,
 * cpu.stat, memory.stat). Returns 0, -ENOENT when key is absent, -EINVAL when malformed. */
int cgroup_parse_keyed(const char *text, const char *key, uint64_t *val);

/* Parses a single-value limit file: "max", "-1" and v1's "unlimited" page-counter maximum read as
 * 0. Returns 0 or -EINVAL. */
int cgroup_parse_value(const char *text, uint64_t *val);

/* Parses cpu.max "QUOTA PERIOD" (QUOTA "max" reads as 0). Returns 0 or -EINVAL. */
int cgroup_parse_cpu_max(const char *text, uint64_t *quota, uint64_t *period);

#endif
