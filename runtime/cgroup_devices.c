/* SPDX-License-Identifier: MIT */
/* cgroup_devices.c: runc's default device rules on a task cgroup (v1 devices lists, v2 BPF program). */
#include "runtime/cgroup.h"

#include "common/fileio.h"
#include "common/log.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ANY     (-1) /* wildcard major or minor */
#define ACC_M   BPF_DEVCG_ACC_MKNOD
#define ACC_RWM (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)
#define INSN_MAX 128
#define OLD_MAX  64  /* programs found attached by an earlier call */
#define VLOG_MAX 4096

struct dev_rule {
	char type; /* 'c' or 'b' */
	int major, minor;
	unsigned access;
};

/* runc's libcontainer/specconv AllowedDevices, in its order: every other access is denied. */
static const struct dev_rule rules[] = {
	{ 'c', ANY, ANY, ACC_M },  { 'b', ANY, ANY, ACC_M }, /* mknod of anything, no open */
	{ 'c', 1, 3, ACC_RWM },    /* null */
	{ 'c', 1, 8, ACC_RWM },    /* random */
	{ 'c', 1, 7, ACC_RWM },    /* full */
	{ 'c', 5, 0, ACC_RWM },    /* tty */
	{ 'c', 1, 5, ACC_RWM },    /* zero */
	{ 'c', 1, 9, ACC_RWM },    /* urandom */
	{ 'c', 136, ANY, ACC_RWM }, /* pts */
	{ 'c', 5, 2, ACC_RWM },    /* ptmx */
	{ 'c', 10, 200, ACC_RWM }, /* tun, kept by runc for compatibility */
};
#define N_RULES (sizeof(rules) / sizeof(rules[0]))

/* ---- v1: devices.deny and devices.allow ---- */

static void rule_number(char *buf, size_t size, int v)
{
	if (v == ANY)
		snprintf(buf, size, "*");
	else
		snprintf(buf, size, "%d", v);
}

/* The rules as devices.list shows them, one per line ("c 136:* rwm"). */
static void rules_text(char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < N_RULES && len < size; i++) {
		const struct dev_rule *d = &rules[i];
		char maj[12], min[12];
		rule_number(maj, sizeof(maj), d->major);
		rule_number(min, sizeof(min), d->minor);
		len += (size_t)snprintf(buf + len, size - len, "%c %s:%s %s%s%s\n", d->type, maj,
					min, d->access & BPF_DEVCG_ACC_READ ? "r" : "",
					d->access & BPF_DEVCG_ACC_WRITE ? "w" : "",
					d->access & BPF_DEVCG_ACC_MKNOD ? "m" : "");
	}
}

/* Writes text to a devices file one line per write(), as the kernel takes one rule per write;
 * a fixture file is created holding the whole text. Logged. */
static int write_lines(const struct cgroup_env *env, const char *path, const char *text)
{
	int flags = O_WRONLY | O_CLOEXEC | (env->fixture ? O_CREAT | O_TRUNC : 0);
	int fd = open(path, flags, 0644), r = 0;

	if (fd < 0) {
		r = -errno;
		log_error("cgroup: failed to open %s: %s", path, strerror(-r));
		return r;
	}
	while (*text && r == 0) {
		size_t len = strcspn(text, "\n") + (strchr(text, '\n') ? 1 : 0);
		ssize_t n = write(fd, text, len);
		if (n < 0 || (size_t)n != len) {
			r = n < 0 ? -errno : -EIO;
			log_error("cgroup: failed to write \"%.*s\" to %s: %s", (int)strcspn(text, "\n"),
				  text, path, strerror(-r));
		}
		text += len;
	}
	close(fd);
	return r;
}

static int restrict_v1(const struct cgroup_env *env, const char *rel)
{
	char path[PATH_MAX], want[512], *cur = NULL;
	int r;

	rules_text(want, sizeof(want));
	if ((r = cgroup_path(env, CGROUP_CTRL_DEVICES, rel, "devices.list", path, sizeof(path))))
		return r;
	/* "a" cannot be denied once children exist: a repeated call must find nothing to do. */
	if (file_read_all(path, 1 << 16, &cur, NULL) == 0 && strcmp(cur, want) == 0) {
		free(cur);
		return 0;
	}
	free(cur);
	if ((r = cgroup_path(env, CGROUP_CTRL_DEVICES, rel, "devices.deny", path, sizeof(path))) ||
	    (r = write_lines(env, path, "a\n")))
		return r;
	if ((r = cgroup_path(env, CGROUP_CTRL_DEVICES, rel, "devices.allow", path, sizeof(path))))
		return r;
	return write_lines(env, path, want);
}

/* ---- cgroup2: a BPF_PROG_TYPE_CGROUP_DEVICE program ---- */

struct prog {
	struct bpf_insn v[INSN_MAX];
	size_t n;
};

static void emit(struct prog *p, __u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm)
{
	if (p->n < INSN_MAX)
		p->v[p->n] = (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src,
						.off = off, .imm = imm };
	p->n++;
}

/* The offset that makes a jump emitted next land on instruction target. */
static __s16 jump_to(const struct prog *p, size_t target)
{
	return (__s16)(target - p->n - 1);
}

static size_t rule_len(const struct dev_rule *d)
{
	return 1 + (d->access != ACC_RWM ? 3 : 0) + (d->major != ANY) + (d->minor != ANY) + 2;
}

/* One block per rule: on a match return 1 (allow), else go on with the next block. Registers
 * hold r2 type, r3 access, r4 major, r5 minor; r1 is scratch. */
static void emit_rule(struct prog *p, const struct dev_rule *d)
{
	size_t next = p->n + rule_len(d);

	emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, jump_to(p, next),
	     d->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
	if (d->access != ACC_RWM) {
		/* Every access asked for must be in the rule: (access & rule) == access. */
		emit(p, BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
		emit(p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (__s32)d->access);
		emit(p, BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, jump_to(p, next), 0);
	}
	if (d->major != ANY)
		emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, jump_to(p, next), d->major);
	if (d->minor != ANY)
		emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, jump_to(p, next), d->minor);
	emit(p, BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* The rules as a device program over struct bpf_cgroup_dev_ctx { u32 access_type (access << 16
 * | type); u32 major; u32 minor; }, denying (0) whatever no rule allows. */
static void build_program(struct prog *p)
{
	p->n = 0;
	emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0);
	emit(p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0);
	emit(p, BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0);
	for (size_t i = 0; i < N_RULES; i++)
		emit_rule(p, &rules[i]);
	emit(p, BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* Loads the program and returns its fd, or -errno with the verifier's words in vlog (one line)
 * when it has any. */
static int load_program(char *vlog, size_t size)
{
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = vlog, .log_size = (__u32)size);
	struct prog *p = malloc(sizeof(*p));
	int fd;

	vlog[0] = '\0';
	if (!p)
		return -ENOMEM;
	build_program(p);
	if (p->n > INSN_MAX)
		fd = -E2BIG;
	else if ((fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, "berth_devices",
				     "Dual MIT/GPL", p->v, p->n, &opts)) < 0)
		fd = -errno;
	free(p);
	for (char *c = vlog; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return fd;
}

/* Detaches the device programs in ids[0, n) but keep from the cgroup. Failures only logged. */
static void detach_old(int cg, const __u32 *ids, __u32 n, __u32 keep, const char *dir)
{
	for (__u32 i = 0; i < n; i++) {
		int fd;

		if (ids[i] == keep)
			continue;
		fd = bpf_prog_get_fd_by_id(ids[i]);
		if (fd < 0 || bpf_prog_detach2(fd, cg, BPF_CGROUP_DEVICE) < 0)
			log_warn("cgroup: failed to detach old device program %u from %s: %s",
				 ids[i], dir, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
}

/* Attaches prog to the cgroup directory dir, then drops what an earlier call attached, so the
 * subtree is never without a filter. Returns 0 or -errno (not logged). */
static int attach_program(int prog, __u32 prog_id, const char *dir)
{
	__u32 ids[OLD_MAX], n = OLD_MAX, flags = 0;
	int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (cg < 0)
		return -errno;
	if (bpf_prog_query(cg, BPF_CGROUP_DEVICE, 0, &flags, ids, &n) < 0)
		n = 0;
	/* The same (cached) program attached by an earlier call: it stays, the others go. */
	if (bpf_prog_attach(prog, cg, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) < 0 &&
	    !(errno == EEXIST && prog_id))
		r = -errno;
	if (r == 0)
		detach_old(cg, ids, n, prog_id, dir);
	close(cg);
	return r;
}

/* A refusal that leaves the host without this layer rather than the task without a start. */
static bool degraded(int r)
{
	return r == -EPERM || r == -EACCES || r == -ENOSYS || r == -EOPNOTSUPP || r == -EINVAL;
}

/* The loaded program, kept for the life of the process: the rules never change, and loading
 * (verification) is the slow part of a task's cgroup setup. -1 until the first success. */
static int cgroup_dev_prog = -1;
static __u32 cgroup_dev_prog_id;  /* its kernel id, 0 if unknown */
static pid_t cgroup_dev_prog_pid; /* the process that loaded it: a fork loads its own */

/* Loads the program once and attaches it to dir; *what names the step that failed. */
static int load_and_attach(const char *dir, char *vlog, const char **what)
{
	*what = "load";
	vlog[0] = '\0';
	if (cgroup_dev_prog >= 0 && cgroup_dev_prog_pid != getpid()) {
		close(cgroup_dev_prog);
		cgroup_dev_prog = -1;
	}
	if (cgroup_dev_prog < 0) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int prog = load_program(vlog, VLOG_MAX);

		if (prog < 0)
			return prog;
		cgroup_dev_prog = prog;
		cgroup_dev_prog_pid = getpid();
		if (bpf_obj_get_info_by_fd(prog, &info, &len) == 0)
			cgroup_dev_prog_id = info.id;
	}
	*what = "attach";
	return attach_program(cgroup_dev_prog, cgroup_dev_prog_id, dir);
}

/* Logs a failure of load_and_attach() once, at the level its consequence deserves. */
static void report(int r, const char *what, const char *dir, const char *vlog, bool v1_done)
{
	const char *sep = vlog[0] ? ": " : "";

	if (!degraded(r))
		log_error("cgroup: failed to %s device program on %s: %s%s%s", what, dir,
			  strerror(-r), sep, vlog);
	else if (v1_done)
		log_debug("cgroup: failed to %s device program on %s: %s; the v1 devices cgroup "
			  "enforces the rules", what, dir, strerror(-r));
	else
		log_warn("cgroup: failed to %s device program on %s: %s%s%s; its containers may "
			 "open any device node they can create", what, dir, strerror(-r), sep, vlog);
}

/* v1_done: a v1 devices cgroup enforces the same rules, so a refusal here loses nothing. */
static int restrict_v2(const struct cgroup_env *env, const char *rel, bool v1_done)
{
	char dir[PATH_MAX], *vlog;
	const char *what;
	int r;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", env->unified, rel) >= sizeof(dir))
		return -ENAMETOOLONG;
	if (env->fixture) {
		log_debug("cgroup: device program not attached to fixture %s", dir);
		return 0;
	}
	if (access(dir, F_OK) < 0) {
		r = -errno;
		log_error("cgroup: failed to restrict devices of %s: %s", dir, strerror(-r));
		return r;
	}
	if (!(vlog = malloc(VLOG_MAX)))
		return -ENOMEM;
	if ((r = load_and_attach(dir, vlog, &what)))
		report(r, what, dir, vlog, v1_done);
	free(vlog);
	return r && degraded(r) ? 0 : r;
}

int cgroup_restrict_devices(const struct cgroup_env *env, const char *rel)
{
	bool v1 = env->mode != CGROUP_MODE_V2 && env->v1[CGROUP_CTRL_DEVICES][0];
	char path[PATH_MAX];
	int r;

	/* cgroup_path() checks rel before anything else. */
	if (cgroup_path(env, CGROUP_CTRL_CPUACCT, rel, NULL, path, sizeof(path)) == -EINVAL) {
		log_error("cgroup: failed to use cgroup name \"%s\": invalid path",
			  rel ? rel : "(null)");
		return -EINVAL;
	}
	if (v1 && (r = restrict_v1(env, rel)))
		return r;
	if (env->unified[0])
		return restrict_v2(env, rel, v1);
	if (!v1)
		log_debug("cgroup: devices of %s not restricted: no devices controller", rel);
	return 0;
}
