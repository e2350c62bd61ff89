/* SPDX-License-Identifier: MIT */
/* spawn_child.c: a container child's root: mount namespace, overlay, /proc /dev /sys with masked paths (staged ahead or not), pivot_root. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "runtime/spawn_internal.h"

/* The fresh file systems of every container, mounted in this order after pivot_root. */
static const struct {
	const char *src, *dst, *type;
	unsigned long flags;
	const char *data;
} base_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k" },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	  "newinstance,ptmxmode=0666,mode=0620,gid=5" },
	{ "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k" },
	{ "mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL },
};

static const struct {
	const char *path;
	unsigned maj, min;
} devices[] = {
	{ "/dev/null", 1, 3 },    { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
	{ "/dev/random", 1, 8 },  { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

static const char *const dev_links[][2] = {
	{ "/proc/self/fd", "/dev/fd" },       { "/proc/self/fd/0", "/dev/stdin" },
	{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
	{ "pts/ptmx", "/dev/ptmx" },
};

/* runc's defaults: hidden (tmpfs over directories, /dev/null over files) and read-only. */
static const char *const masked_paths[] = {
	"/proc/acpi",        "/proc/asound",      "/proc/kcore",         "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",  "/proc/sched_debug",
	"/proc/scsi",        "/sys/firmware",     "/sys/devices/virtual/powercap",
};

static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

void spawn_reset_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL); /* fails harmlessly for KILL, STOP and libc's own */
}

void spawn_child_fail(const struct spawn_child_ctx *x, int err, const char *fmt, ...)
{
	struct spawn_child_error ce = { .err = err };
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(ce.msg, sizeof(ce.msg), fmt, ap);
	va_end(ap);
	n = strlen(ce.msg);
	if (err)
		snprintf(ce.msg + n, sizeof(ce.msg) - n, ": %s", strerror(err));
	if (write(x->err_fd, &ce, sizeof(ce)) < 0)
		_exit(126);
	_exit(127);
}

/* Creates a mount point directory; an existing one must be a directory (not a symlink). */
static int ensure_dir(const char *path)
{
	struct stat sb;

	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (lstat(path, &sb) < 0)
		return -errno;
	return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

/* Joins the container's cgroups, then a cgroup namespace rooted there. */
static void join_cgroups(const struct spawn_child_ctx *x)
{
	const char *failed = NULL;
	int rc = spawn_cgroup_join(x->c->cgroup_procs, &failed);

	if (rc < 0)
		spawn_child_fail(x, -rc, "join cgroup %s", failed);
	spawn_trace_mark(x->trace, SPAWN_T_CG);
	/* After joining the cgroups, so that the cgroup namespace is rooted at the container's. */
	if (unshare(CLONE_NEWCGROUP) < 0)
		spawn_child_fail(x, errno, "create cgroup namespace");
}

/* A mount namespace of our own; slave: host unmounts still reach us, nothing of ours reaches
 * the host. */
static int new_mount_ns(const char **what)
{
	*what = "create mount namespace";
	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	*what = "make / rslave";
	return mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ? -errno : 0;
}

/* The overlay of lower (read-only) and upper (writable, with its work dir) on merged: 0 or
 * -errno. */
static int overlay(const char *lower, const char *upper, const char *work, const char *merged)
{
	char opts[4096];
	int n;

	n = snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work);
	if (n < 0 || (size_t)n >= sizeof(opts))
		return -ENAMETOOLONG;
	return mount("overlay", merged, "overlay", 0, opts) < 0 ? -errno : 0;
}

static void mount_overlay(const struct spawn_child_ctx *x)
{
	const struct spawn_container *c = x->c;
	int rc = overlay(c->rootfs, c->upper_dir, c->work_dir, c->merged_dir);

	if (rc < 0)
		spawn_child_fail(x, -rc, "mount overlay on %s", c->merged_dir);
}

/* runc's pivot_root(".", "."): the old root ends up stacked on the new one and is detached. */
static void pivot(const struct spawn_child_ctx *x)
{
	int old = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	if (old < 0 || chdir(x->c->merged_dir) < 0)
		spawn_child_fail(x, errno, "enter %s", x->c->merged_dir);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		spawn_child_fail(x, errno, "pivot_root into %s", x->c->merged_dir);
	if (fchdir(old) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		spawn_child_fail(x, errno, "detach the old root");
	close(old);
}

/* A detached copy of run_dir/name, to be attached once the host is out of reach: the fd, or
 * -errno. By path: run_fd belongs to the supervisor's mount namespace, which open_tree()
 * refuses. */
static int clone_file(const char *run_dir, const char *name, char *path, size_t size)
{
	int fd;

	snprintf(path, size, "%s/%s", run_dir, name);
	fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* clone_file() of run_dir's name when the task has it; -1 if not. */
static int clone_etc(const struct spawn_child_ctx *x, bool have, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (!have)
		return -1;
	fd = clone_file(x->t->run_dir, name, path, sizeof(path));
	if (fd < 0)
		spawn_child_fail(x, -fd, "clone %s", path);
	return fd;
}

/* dir + path into out; -ENAMETOOLONG when it does not fit. */
static int stage_path(char *out, size_t size, const char *dir, const char *path)
{
	int n = snprintf(out, size, "%s%s", dir, path);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int stage_base(const char *dir, char *what, size_t size)
{
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof(base_mounts) / sizeof(base_mounts[0]); i++) {
		int rc = stage_path(p, sizeof(p), dir, base_mounts[i].dst);

		if (rc == 0)
			rc = ensure_dir(p);
		if (rc < 0) {
			snprintf(what, size, "create mount point %s", base_mounts[i].dst);
			return rc;
		}
		if (mount(base_mounts[i].src, p, base_mounts[i].type, base_mounts[i].flags,
			  base_mounts[i].data) < 0) {
			snprintf(what, size, "mount %s", base_mounts[i].dst);
			return -errno;
		}
	}
	return 0;
}

static int stage_devices(const char *dir, char *what, size_t size)
{
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		if (stage_path(p, sizeof(p), dir, devices[i].path) < 0 ||
		    mknod(p, S_IFCHR | 0666, makedev(devices[i].maj, devices[i].min)) < 0) {
			snprintf(what, size, "create %s", devices[i].path);
			return -errno;
		}
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++)
		if (stage_path(p, sizeof(p), dir, dev_links[i][1]) < 0 ||
		    symlink(dev_links[i][0], p) < 0) {
			snprintf(what, size, "create %s", dev_links[i][1]);
			return -errno;
		}
	return 0;
}

static int stage_masks(const char *dir, char *what, size_t size)
{
	char p[PATH_MAX], null[PATH_MAX];

	if (stage_path(null, sizeof(null), dir, "/dev/null") < 0)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < sizeof(masked_paths) / sizeof(masked_paths[0]); i++) {
		struct stat sb;
		int rc;

		if (stage_path(p, sizeof(p), dir, masked_paths[i]) < 0 || lstat(p, &sb) < 0)
			continue; /* absent on this kernel */
		if (S_ISDIR(sb.st_mode))
			rc = mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL);
		else
			rc = mount(null, p, NULL, MS_BIND, NULL);
		if (rc < 0) {
			snprintf(what, size, "mask %s", masked_paths[i]);
			return -errno;
		}
	}
	for (size_t i = 0; i < sizeof(readonly_paths) / sizeof(readonly_paths[0]); i++) {
		if (stage_path(p, sizeof(p), dir, readonly_paths[i]) < 0)
			return -ENAMETOOLONG;
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			snprintf(what, size, "bind %s", readonly_paths[i]);
			return -errno;
		}
		if (mount(p, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
			  MS_NOEXEC, NULL) < 0) {
			snprintf(what, size, "make %s read-only", readonly_paths[i]);
			return -errno;
		}
	}
	return 0;
}

/* The task-independent part of a container's root, built under dir (the container's root
 * before pivot_root, or a warm child's staging directory): /proc, /dev with its nodes, links
 * and submounts, /sys, and runc's masked and read-only paths on them. Returns 0, or -errno
 * with what (size bytes) naming the step that failed. */
static int stage_all(const char *dir, struct spawn_trace *trace, char *what, size_t size)
{
	int rc = stage_base(dir, what, size);

	spawn_trace_mark(trace, SPAWN_T_BASE);
	if (rc == 0)
		rc = stage_devices(dir, what, size);
	spawn_trace_mark(trace, SPAWN_T_DEVICES);
	if (rc == 0)
		rc = stage_masks(dir, what, size);
	spawn_trace_mark(trace, SPAWN_T_MASKED);
	return rc;
}

/* Best effort: a cgroup2 view rooted at the container's cgroup (so after the cgroup namespace),
 * read-only, so that runtimes (JVM, Go) see their limits. Hybrid hosts keep /sys/fs/cgroup
 * empty. */
static void mount_cgroup2(const struct spawn_child_ctx *x)
{
	char p[PATH_MAX];

	if (x->cgroup2_root && stage_path(p, sizeof(p), x->c->merged_dir, "/sys/fs/cgroup") == 0)
		mount("cgroup2", p, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
}

/* Attaches a cloned run_dir file over path when the image has an /etc. */
static void attach_etc(const struct spawn_child_ctx *x, int fd, const char *path)
{
	struct stat sb;
	int tfd;

	if (fd < 0 || stat("/etc", &sb) < 0 || !S_ISDIR(sb.st_mode))
		goto out;
	if (lstat(path, &sb) < 0) {
		tfd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (tfd < 0)
			spawn_child_fail(x, errno, "create %s", path);
		close(tfd);
	}
	if (move_mount(fd, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH |
		       MOVE_MOUNT_T_SYMLINKS) < 0 && errno != ENOENT)
		spawn_child_fail(x, errno, "mount %s", path);
out:
	if (fd >= 0)
		close(fd);
}

/* Creates the working directory and its parents when missing, then enters it. */
static void enter_cwd(const struct spawn_child_ctx *x)
{
	const char *cwd = x->c->cwd ? x->c->cwd : "/";
	char path[1024];

	if (chdir(cwd) == 0)
		return;
	if (errno != ENOENT)
		spawn_child_fail(x, errno, "enter working directory %s", cwd);
	snprintf(path, sizeof(path), "%s", cwd);
	for (char *p = strchr(path + 1, '/');; p = strchr(p + 1, '/')) {
		if (p)
			*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			spawn_child_fail(x, errno, "create working directory %s", cwd);
		if (!p)
			break;
		*p = '/';
	}
	if (chdir(cwd) < 0)
		spawn_child_fail(x, errno, "enter working directory %s", cwd);
}

/* The container's root once pivot_root is done: /etc files, working directory, read-only
 * root; then the last steps and exec. */
static void __attribute__((noreturn)) finish_in_root(const struct spawn_child_ctx *x, int hosts,
						     int hostname, int resolv)
{
	attach_etc(x, hosts, "/etc/hosts");
	attach_etc(x, hostname, "/etc/hostname");
	attach_etc(x, resolv, "/etc/resolv.conf");
	enter_cwd(x);
	if (x->c->readonly_rootfs &&
	    mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		spawn_child_fail(x, errno, "make the root file system read-only");
	spawn_trace_mark(x->trace, SPAWN_T_ETC);
	spawn_child_finish(x);
}

/* The container's root once its overlay is mounted and /proc /dev /sys are in it: pivot_root,
 * then finish_in_root(). */
static void __attribute__((noreturn)) finish_root(const struct spawn_child_ctx *x, int hosts,
						  int hostname, int resolv)
{
	mount_cgroup2(x);
	pivot(x);
	spawn_trace_mark(x->trace, SPAWN_T_PIVOT);
	/* From here on every path resolves inside the container's root. */
	finish_in_root(x, hosts, hostname, resolv);
}

int spawn_child_stage(const char *stage_dir, char *what, size_t size)
{
	const char *step = "";
	int rc;

	umask(0);
	if ((rc = new_mount_ns(&step)) < 0) {
		snprintf(what, size, "%s", step);
		return rc;
	}
	/* A private tmpfs over the staging directory, in our mount namespace only. */
	if (mount("tmpfs", stage_dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=700") < 0) {
		snprintf(what, size, "mount a tmpfs on %s", stage_dir);
		return -errno;
	}
	return stage_all(stage_dir, NULL, what, size);
}

/* Moves the staged /proc, /dev and /sys (with everything mounted on them) under the root
 * merged: 0, or -errno with what naming the step. */
static int move_staged_to(const char *merged, const char *stage_dir, char *what, size_t size)
{
	static const char *const tops[] = { "/proc", "/dev", "/sys" };
	char from[PATH_MAX], to[PATH_MAX];

	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		int rc = stage_path(to, sizeof(to), merged, tops[i]);

		if (rc == 0)
			rc = ensure_dir(to);
		if (rc < 0) {
			snprintf(what, size, "create mount point %s", tops[i]);
			return rc;
		}
		if (stage_path(from, sizeof(from), stage_dir, tops[i]) < 0 ||
		    mount(from, to, NULL, MS_MOVE, NULL) < 0) {
			snprintf(what, size, "move %s into the container", tops[i]);
			return -errno;
		}
	}
	return 0;
}

static void move_staged(const struct spawn_child_ctx *x, const char *stage_dir)
{
	char what[64];
	int rc = move_staged_to(x->c->merged_dir, stage_dir, what, sizeof(what));

	if (rc < 0)
		spawn_child_fail(x, -rc, "%s", what);
}

/* stage_dir: where a warm child staged its mounts (spawn_child_stage()); NULL: a cold child,
 * which builds them under its new root before pivot_root, as runc does. */
static void __attribute__((noreturn)) child_exec(const struct spawn_child_ctx *x,
						  const char *stage_dir)
{
	int hosts, hostname, resolv, rc;
	const char *step = "";
	char what[PATH_MAX + 64];

	spawn_trace_mark(x->trace, SPAWN_T_FORK);
	spawn_reset_signals();
	umask(0);
	join_cgroups(x);
	if (!stage_dir && (rc = new_mount_ns(&step)) < 0)
		spawn_child_fail(x, -rc, "%s", step);
	spawn_trace_mark(x->trace, SPAWN_T_MNTNS);
	mount_overlay(x);
	hosts = clone_etc(x, x->have_hosts, SPAWN_ETC_HOSTS);
	hostname = clone_etc(x, x->have_hostname, SPAWN_ETC_HOSTNAME);
	resolv = clone_etc(x, x->have_resolv, SPAWN_ETC_RESOLV);
	spawn_trace_mark(x->trace, SPAWN_T_OVERLAY);
	if (stage_dir) {
		move_staged(x, stage_dir);
		spawn_trace_mark(x->trace, SPAWN_T_BASE);
	} else if ((rc = stage_all(x->c->merged_dir, x->trace, what, sizeof(what))) < 0) {
		spawn_child_fail(x, -rc, "%s", what);
	}
	finish_root(x, hosts, hostname, resolv);
}

void spawn_child_exec(const struct spawn_child_ctx *x)
{
	child_exec(x, NULL);
}

void spawn_child_exec_staged(const struct spawn_child_ctx *x, const char *stage_dir)
{
	child_exec(x, stage_dir);
}

int spawn_child_arm(const struct spawn_arm *a, const char *stage_dir, struct spawn_armed *out,
		    char *what, size_t size)
{
	static const char *const etc[] = { SPAWN_ETC_HOSTS, SPAWN_ETC_HOSTNAME, SPAWN_ETC_RESOLV };
	char path[PATH_MAX];
	int rc;

	*out = (struct spawn_armed){ .old_root = -1, .etc = { -1, -1, -1 } };
	rc = overlay(a->rootfs, a->upper, a->work, a->merged);
	if (rc < 0) {
		snprintf(what, size, "mount overlay on %s", a->merged);
		return rc;
	}
	if ((rc = move_staged_to(a->merged, stage_dir, what, size)) < 0)
		return rc;
	/* Each that the run directory has: the task says which it uses. */
	for (size_t i = 0; i < 3; i++) {
		rc = clone_file(a->run_dir, etc[i], path, sizeof(path));
		if (rc >= 0)
			out->etc[i] = rc;
		else if (rc != -ENOENT) {
			snprintf(what, size, "clone %s", path);
			return rc;
		}
	}
	/* pivot_root(".", "."): the old root stays stacked on the new one, reachable through
	 * old_root only, until the task's cgroups are joined. */
	out->old_root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (out->old_root < 0 || chdir(a->merged) < 0) {
		snprintf(what, size, "enter %s", a->merged);
		return -errno;
	}
	if (syscall(SYS_pivot_root, ".", ".") < 0) {
		snprintf(what, size, "pivot_root into %s", a->merged);
		return -errno;
	}
	out->on = true;
	return 0;
}

void spawn_child_exec_armed(const struct spawn_child_ctx *x, const struct spawn_armed *armed)
{
	const char *failed = NULL;
	int rc;

	spawn_trace_mark(x->trace, SPAWN_T_FORK);
	spawn_reset_signals();
	umask(0);
	rc = spawn_cgroup_join_at(armed->old_root, x->c->cgroup_procs, &failed);
	if (rc < 0)
		spawn_child_fail(x, -rc, "join cgroup %s", failed);
	spawn_trace_mark(x->trace, SPAWN_T_CG);
	if (unshare(CLONE_NEWCGROUP) < 0)
		spawn_child_fail(x, errno, "create cgroup namespace");
	spawn_trace_mark(x->trace, SPAWN_T_MNTNS);
	spawn_trace_mark(x->trace, SPAWN_T_OVERLAY); /* made ahead */
	spawn_trace_mark(x->trace, SPAWN_T_BASE);
	if (fchdir(armed->old_root) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		spawn_child_fail(x, errno, "detach the old root");
	close(armed->old_root);
	/* After the cgroup namespace, so that it shows the container's cgroup as its root. */
	if (x->cgroup2_root)
		mount("cgroup2", "/sys/fs/cgroup", "cgroup2",
		      MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
	spawn_trace_mark(x->trace, SPAWN_T_PIVOT);
	int fds[3] = { -1, -1, -1 };
	const bool have[3] = { x->have_hosts, x->have_hostname, x->have_resolv };
	for (size_t i = 0; i < 3; i++) {
		if (have[i] && armed->etc[i] < 0)
			spawn_child_fail(x, ENOENT, "attach the task's /etc file %zu", i);
		if (have[i])
			fds[i] = armed->etc[i];
		else if (armed->etc[i] >= 0)
			close(armed->etc[i]);
	}
	finish_in_root(x, fds[0], fds[1], fds[2]);
}
