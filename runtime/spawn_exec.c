/* SPDX-License-Identifier: MIT */
/* spawn_exec.c: a container child's last steps: ulimits, user and groups, stdio, capabilities, exec. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include "runtime/spawn_internal.h"

#define MAX_GROUPS 64
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* runc's (and Docker's) default capability set: 0x00000000a80425fb. */
#define CAP(c) (1ULL << (c))
static const unsigned long long default_caps =
	CAP(CAP_CHOWN) | CAP(CAP_DAC_OVERRIDE) | CAP(CAP_FSETID) | CAP(CAP_FOWNER) |
	CAP(CAP_MKNOD) | CAP(CAP_NET_RAW) | CAP(CAP_SETGID) | CAP(CAP_SETUID) |
	CAP(CAP_SETFCAP) | CAP(CAP_SETPCAP) | CAP(CAP_NET_BIND_SERVICE) |
	CAP(CAP_SYS_CHROOT) | CAP(CAP_KILL) | CAP(CAP_AUDIT_WRITE);

/* Who the process runs as, resolved from the container's own /etc/passwd and /etc/group. */
struct ids {
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
	char name[256];  /* "" when the uid has no passwd entry */
	char home[PATH_MAX];
};

static void set_ulimits(const struct spawn_child_ctx *x)
{
	for (size_t i = 0; i < x->c->n_ulimits; i++) {
		const struct spawn_ulimit *u = &x->c->ulimits[i];
		struct rlimit rl = { .rlim_cur = u->soft, .rlim_max = u->hard };

		if (setrlimit(spawn_ulimit_resource(u->name), &rl) < 0)
			spawn_child_fail(x, errno, "set ulimit %s", u->name);
	}
}

/* Parses a decimal id; false when s is not one. */
static bool parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!s[0] || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || v >= UINT_MAX)
		return false;
	*out = (unsigned)v;
	return true;
}

/* Finds the passwd entry named user, or with uid when numeric. */
static bool find_passwd(const char *user, bool numeric, unsigned uid, struct ids *id)
{
	FILE *f = fopen("/etc/passwd", "re");
	struct passwd *pw;
	bool found = false;

	while (f && !found && (pw = fgetpwent(f))) {
		if (numeric ? pw->pw_uid != uid : strcmp(pw->pw_name, user) != 0)
			continue;
		found = true;
		id->uid = pw->pw_uid;
		id->gid = pw->pw_gid;
		snprintf(id->name, sizeof(id->name), "%s", pw->pw_name);
		snprintf(id->home, sizeof(id->home), "%s", pw->pw_dir[0] ? pw->pw_dir : "/");
	}
	if (f)
		fclose(f);
	return found;
}

/* Finds the group named group (or numbered gid) when group is set; otherwise collects the
 * supplementary groups listing id->name. */
static bool scan_groups(const char *group, bool numeric, unsigned gid, struct ids *id)
{
	FILE *f = fopen("/etc/group", "re");
	struct group *gr;
	bool found = false;

	while (f && !found && (gr = fgetgrent(f))) {
		if (group) {
			found = numeric ? gr->gr_gid == gid : strcmp(gr->gr_name, group) == 0;
			if (found)
				id->gid = gr->gr_gid;
			continue;
		}
		for (char **m = gr->gr_mem; *m && id->ngroups < MAX_GROUPS; m++)
			if (gr->gr_gid != id->gid && strcmp(*m, id->name) == 0) {
				id->groups[id->ngroups++] = gr->gr_gid;
				break;
			}
	}
	if (f)
		fclose(f);
	return found;
}

/* "uid", "uid:gid", "name", "name:group": runc's rules (a numeric id needs no entry; the
 * supplementary groups are looked up only when no group is given). */
static void resolve_user(const struct spawn_child_ctx *x, struct ids *id)
{
	char user[256], *group;
	unsigned uid = 0, gid = 0;
	bool uid_num, gid_num;

	snprintf(user, sizeof(user), "%s", x->c->user ? x->c->user : "0");
	group = strchr(user, ':');
	if (group)
		*group++ = '\0';
	memset(id, 0, sizeof(*id));
	snprintf(id->home, sizeof(id->home), "/");
	uid_num = parse_id(user, &uid);
	id->uid = uid;
	if (!find_passwd(user, uid_num, uid, id) && !uid_num)
		spawn_child_fail(x, 0, "find user \"%s\": no matching entry in /etc/passwd", user);
	if (!group) {
		if (id->name[0])
			scan_groups(NULL, false, 0, id);
		return;
	}
	gid_num = parse_id(group, &gid);
	id->gid = gid;
	if (!scan_groups(group, gid_num, gid, id) && !gid_num)
		spawn_child_fail(x, 0, "find group \"%s\": no matching entry in /etc/group", group);
}

/* stdin from /dev/null, stdout and stderr to the supervisor; every other fd closes at exec
 * (the error pipe too, which is how the supervisor learns that the exec happened). */
static void setup_stdio(const struct spawn_child_ctx *x)
{
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(x->out_fd, 1) < 0 ||
	    dup2(x->out_fd, 2) < 0)
		spawn_child_fail(x, errno, "set up stdio");
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		spawn_child_fail(x, errno, "close file descriptors");
}

static bool has_var(char *const *envp, const char *prefix)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], prefix, n) == 0)
			return true;
	return false;
}

/* The caller's environment plus PATH, HOME and HOSTNAME when missing (as Docker does). */
static char **build_env(const struct spawn_child_ctx *x, const struct ids *id)
{
	char *const *envp = x->c->envp;
	size_t n = 0, k = 0;
	char host[72] = "", **env;

	while (envp && envp[n])
		n++;
	env = calloc(n + 4, sizeof(*env));
	if (!env)
		spawn_child_fail(x, ENOMEM, "build environment");
	for (size_t i = 0; i < n; i++)
		env[k++] = envp[i];
	if (!has_var(envp, "PATH="))
		env[k++] = (char *)DEFAULT_PATH;
	if (!has_var(envp, "HOME=") && asprintf(&env[k], "HOME=%s", id->home) > 0)
		k++;
	gethostname(host, sizeof(host) - 1);
	if (!has_var(envp, "HOSTNAME=") && asprintf(&env[k], "HOSTNAME=%s", host) > 0)
		k++;
	env[k] = NULL;
	return env;
}

int spawn_drop_privileges(uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
			  const char **what)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {
		{ .effective = (uint32_t)default_caps, .permitted = (uint32_t)default_caps },
		{ .effective = (uint32_t)(default_caps >> 32),
		  .permitted = (uint32_t)(default_caps >> 32) },
	};

	*what = "drop capabilities";
	for (int cap = 0; cap < 64 && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (!(default_caps & CAP(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	/* Keep the permitted set across the uid change; capset below trims it. */
	*what = "switch user";
	/* Raw system calls: glibc's wrappers would signal every thread of a multi-threaded
	 * caller, and a vfork child shares the daemon's thread list without its threads. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_setgroups, (size_t)ngroups, groups) < 0 ||
	    syscall(SYS_setresgid, gid, gid, gid) < 0 || syscall(SYS_setresuid, uid, uid, uid) < 0)
		return -errno;
	/* Inheritable and ambient stay empty (CVE-2022-24769): a non-root user gets no
	 * capabilities across exec, as under Docker. */
	*what = "set capabilities";
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	*what = "set no_new_privs";
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? -errno : 0;
}

static void drop_privileges(const struct spawn_child_ctx *x, const struct ids *id)
{
	const char *what = "";
	int rc = spawn_drop_privileges(id->uid, id->gid, id->groups, id->ngroups, &what);

	if (rc < 0)
		spawn_child_fail(x, -rc, "%s to %u:%u", what, id->uid, id->gid);
}

void spawn_child_finish(const struct spawn_child_ctx *x)
{
	struct ids id;
	sigset_t none;
	char **env;
	int rc;

	set_ulimits(x);
	resolve_user(x, &id);
	env = build_env(x, &id);
	setup_stdio(x);
	drop_privileges(x, &id);
	umask(022);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* execvp() searches the PATH of environ, which is now the container's. */
	environ = env;
	spawn_trace_mark(x->trace, SPAWN_T_EXEC);
	/* Last: the container never runs with the launch's priority boost. */
	if ((rc = spawn_launch_unboost()) < 0)
		spawn_child_fail(x, -rc, "return to the daemon's priority");
	execvp(x->c->argv[0], x->c->argv);
	spawn_child_fail(x, errno, "exec \"%s\"", x->c->argv[0]);
}
