/* SPDX-License-Identifier: MIT */
/* spawn_child.c: a container child's root: mount namespace, overlay, pivot_root, /proc /dev /sys, masked paths. */
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

static void enter_mount_ns(const struct spawn_child_ctx *x)
{
	const char *failed = NULL;
	int rc = spawn_cgroup_join(x->c->cgroup_procs, &failed);

	if (rc < 0)
		spawn_child_fail(x, -rc, "join cgroup %s", failed);
	spawn_trace_mark(x->trace, SPAWN_T_CG);
	/* After joining the cgroups, so that the cgroup namespace is rooted at the container's. */
	if (unshare(CLONE_NEWNS | CLONE_NEWCGROUP) < 0)
		spawn_child_fail(x, errno, "create mount namespace");
	/* Slave: host unmounts still reach us, nothing of ours reaches the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		spawn_child_fail(x, errno, "make / rslave");
}

static void mount_overlay(const struct spawn_child_ctx *x)
{
	const struct spawn_container *c = x->c;
	char opts[4096];
	int n;

	n = snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s", c->rootfs,
		     c->upper_dir, c->work_dir);
	if (n < 0 || (size_t)n >= sizeof(opts))
		spawn_child_fail(x, ENAMETOOLONG, "mount overlay on %s", c->merged_dir);
	if (mount("overlay", c->merged_dir, "overlay", 0, opts) < 0)
		spawn_child_fail(x, errno, "mount overlay on %s", c->merged_dir);
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

/* A detached copy of run_dir/name, to be attached once the host is out of reach; -1 if none.
 * By path: run_fd belongs to the supervisor's mount namespace, which open_tree() refuses. */
static int clone_etc(const struct spawn_child_ctx *x, bool have, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (!have)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", x->t->run_dir, name);
	fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (fd < 0)
		spawn_child_fail(x, errno, "clone %s", path);
	return fd;
}

static void mount_base(const struct spawn_child_ctx *x)
{
	for (size_t i = 0; i < sizeof(base_mounts) / sizeof(base_mounts[0]); i++) {
		int rc = ensure_dir(base_mounts[i].dst);

		if (rc < 0)
			spawn_child_fail(x, -rc, "create mount point %s", base_mounts[i].dst);
		if (mount(base_mounts[i].src, base_mounts[i].dst, base_mounts[i].type,
			  base_mounts[i].flags, base_mounts[i].data) < 0)
			spawn_child_fail(x, errno, "mount %s", base_mounts[i].dst);
	}
	/* Best effort: a cgroup2 view rooted at the container's cgroup, read-only, so that
	 * runtimes (JVM, Go) see their limits. Hybrid hosts keep /sys/fs/cgroup empty. */
	if (x->cgroup2_root)
		mount("cgroup2", "/sys/fs/cgroup", "cgroup2",
		      MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
}

static void make_devices(const struct spawn_child_ctx *x)
{
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		if (mknod(devices[i].path, S_IFCHR | 0666,
			  makedev(devices[i].maj, devices[i].min)) < 0)
			spawn_child_fail(x, errno, "create %s", devices[i].path);
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++)
		if (symlink(dev_links[i][0], dev_links[i][1]) < 0)
			spawn_child_fail(x, errno, "create %s", dev_links[i][1]);
}

static void mask_paths(const struct spawn_child_ctx *x)
{
	for (size_t i = 0; i < sizeof(masked_paths) / sizeof(masked_paths[0]); i++) {
		const char *p = masked_paths[i];
		struct stat sb;
		int rc;

		if (lstat(p, &sb) < 0)
			continue; /* absent on this kernel */
		if (S_ISDIR(sb.st_mode))
			rc = mount("tmpfs", p, "tmpfs", MS_RDONLY, NULL);
		else
			rc = mount("/dev/null", p, NULL, MS_BIND, NULL);
		if (rc < 0)
			spawn_child_fail(x, errno, "mask %s", p);
	}
	for (size_t i = 0; i < sizeof(readonly_paths) / sizeof(readonly_paths[0]); i++) {
		const char *p = readonly_paths[i];

		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
			if (errno == ENOENT)
				continue;
			spawn_child_fail(x, errno, "bind %s", p);
		}
		if (mount(p, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV |
			  MS_NOEXEC, NULL) < 0)
			spawn_child_fail(x, errno, "make %s read-only", p);
	}
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

void spawn_child_exec(const struct spawn_child_ctx *x)
{
	int hosts, hostname, resolv;

	spawn_trace_mark(x->trace, SPAWN_T_FORK);
	spawn_reset_signals();
	umask(0);
	enter_mount_ns(x);
	spawn_trace_mark(x->trace, SPAWN_T_MNTNS);
	mount_overlay(x);
	hosts = clone_etc(x, x->have_hosts, SPAWN_ETC_HOSTS);
	hostname = clone_etc(x, x->have_hostname, SPAWN_ETC_HOSTNAME);
	resolv = clone_etc(x, x->have_resolv, SPAWN_ETC_RESOLV);
	spawn_trace_mark(x->trace, SPAWN_T_OVERLAY);
	pivot(x);
	spawn_trace_mark(x->trace, SPAWN_T_PIVOT);
	/* From here on every path resolves inside the container's root. */
	mount_base(x);
	spawn_trace_mark(x->trace, SPAWN_T_BASE);
	make_devices(x);
	spawn_trace_mark(x->trace, SPAWN_T_DEVICES);
	mask_paths(x);
	spawn_trace_mark(x->trace, SPAWN_T_MASKED);
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
