/* SPDX-License-Identifier: MIT */
/* health.c: runs one container health check inside the container's namespaces and cgroups, without blocking the daemon. */
#include "runtime/health.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "common/log.h"
#include "runtime/spawn.h"
#include "runtime/spawn_internal.h"

#define STACK_SIZE (64 * 1024)
#define OUT_CAP (64 * 1024)  /* the output file never grows past this */
#define MAX_GROUPS 64
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* The children run on stacks of ours that ASan does not know about; a frame that never
 * returns (exec) would leave its redzones poisoned for whoever maps that memory next. */
#define CHILD_FN __attribute__((no_sanitize_address))
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | \
		  CLONE_NEWCGROUP)

/*
 * Three processes, all sharing the daemon's memory (no page tables copied):
 *   setup  (CLONE_VM|CLONE_VFORK: the daemon waits for it) joins the cgroups and namespaces,
 *          creates the waiter as the daemon's child (CLONE_PARENT) and exits;
 *   waiter (in the container's pid namespace, its own process group) runs concurrently with
 *          the daemon, so it only makes raw system calls: it vforks the check, waits for it,
 *          stores the wait status in the health_exec and SIGKILLs its process group (itself
 *          and whatever the check left behind);
 *   check  (CLONE_VM|CLONE_VFORK of the waiter) sets stdio, user, capabilities and execs.
 * The daemon watches the waiter's pidfd; the result is in memory, so it does not matter who
 * reaps the waiter.
 */
struct health_exec {
	/* set up by the daemon before the clone */
	pid_t cpid;                  /* the container's main process */
	int cpidfd;                  /* its pidfd */
	char *const *cgroup_procs;
	char **argv;                 /* owned: the argv the check execs */
	char **envp;                 /* owned array; strings borrowed or owned_path */
	char *owned_path;            /* "PATH=..." when added */
	const char *cwd;
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_GROUPS];
	int ngroups;
	int null_fd, out_fd;         /* /dev/null, the output memfd */
	char *stacks;                /* 3 x STACK_SIZE: setup, waiter, check */
	/* written by the children */
	const char *what;            /* the setup step that failed */
	int err;                     /* its -errno */
	pid_t wpid;                  /* the waiter's host pid */
	int wstatus;                 /* the check's wait status, valid when reported */
	int reported;
	/* the daemon's */
	int wpidfd;                  /* the waiter's pidfd */
	bool killed, collected, gone;
};

static int join_cgroups(struct health_exec *e)
{
	const char *failed = NULL;
	int rc = spawn_cgroup_join(e->cgroup_procs, &failed);

	if (rc < 0)
		e->what = "join the container's cgroup";
	return rc;
}

/* Fallback for kernels without setns() on a pidfd (before 5.8): one namespace file each. */
static int join_ns_files(struct health_exec *e)
{
	static const char *const names[] = { "cgroup", "ipc", "uts", "net", "pid", "mnt" };
	int fds[6], rc = 0;
	char path[64];

	for (int i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)e->cpid, names[i]);
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
	}
	for (int i = 0; i < 6; i++) {
		if (rc == 0 && (fds[i] < 0 || setns(fds[i], 0) < 0))
			rc = -errno;
		if (fds[i] >= 0)
			close(fds[i]);
	}
	return rc;
}

/* Finds PATH= in envp and execs file in each of its directories, as execvp() would, but
 * with the container's PATH (execvpe() looks at the caller's environ). */
static CHILD_FN int exec_path(char *const *argv, char *const *envp)
{
	const char *path = DEFAULT_PATH, *p, *end;
	char buf[PATH_MAX];
	int err = ENOENT;

	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		return -errno;
	}
	for (size_t i = 0; envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			path = envp[i] + 5;
	for (p = path;; p = end + 1) {
		end = strchrnul(p, ':');
		snprintf(buf, sizeof(buf), "%.*s/%s", end > p ? (int)(end - p) : 1,
			 end > p ? p : ".", argv[0]);
		execve(buf, argv, envp);
		if (errno == EACCES)
			err = EACCES;
		if (!*end)
			return -err;
	}
}

static CHILD_FN void __attribute__((noreturn)) check_fail(const char *what, int err, int code)
{
	const char *desc = strerrordesc_np(err); /* strerror() may allocate (translations) */
	char msg[256];
	int n = snprintf(msg, sizeof(msg), "health check: failed to %s: %s\n", what,
			 desc ? desc : "unknown error");

	if (write(1, msg, (size_t)n) < 0)
		_exit(code);
	_exit(code);
}

/* The check: stdio, group of the waiter, user, capabilities, then exec. */
static CHILD_FN int check_main(void *arg)
{
	struct health_exec *e = arg;
	const char *what = "set up stdio";
	sigset_t none;
	int rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	spawn_reset_signals();
	if (dup2(e->null_fd, 0) < 0 || dup2(e->out_fd, 1) < 0 || dup2(e->out_fd, 2) < 0 ||
	    close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		_exit(126);
	if (chdir(e->cwd ? e->cwd : "/") < 0 && chdir("/") < 0)
		check_fail("enter the working directory", errno, 126);
	rc = spawn_drop_privileges(e->uid, e->gid, e->groups, e->ngroups, &what);
	if (rc < 0)
		check_fail(what, -rc, 126);
	umask(022);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	rc = exec_path(e->argv, e->envp);
	check_fail("exec the command", -rc, rc == -ENOENT ? 127 : 126);
}

/* The waiter: raw system calls only (it runs beside the daemon in the same memory). */
static CHILD_FN int waiter_main(void *arg)
{
	struct health_exec *e = arg;
	char *stack_top = e->stacks + 3 * STACK_SIZE;
	siginfo_t si;
	pid_t pid;
	int ws;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* Its own group, or nothing: the group is what the kill below ends, and an inherited one
	 * would be the daemon's (and so every supervisor's and container's forked from it). */
	if (setpgid(0, 0) < 0)
		_exit(126);
	pid = clone(check_main, stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, e);
	if (pid < 0)
		_exit(126);
	memset(&si, 0, sizeof(si));
	if (syscall(SYS_waitid, P_PID, pid, &si, WEXITED, NULL) < 0)
		_exit(126);
	ws = si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status & 0x7f;
	__atomic_store_n(&e->wstatus, ws, __ATOMIC_RELAXED);
	__atomic_store_n(&e->reported, 1, __ATOMIC_RELEASE);
	/* Whatever the check left in its group, and the waiter: the group is named, not 0. */
	kill(-(pid_t)syscall(SYS_getpid), SIGKILL);
	_exit(0);
}

/* Setup, while the daemon waits: cgroups, namespaces, then the waiter as the daemon's child
 * inside the container's pid namespace. */
static CHILD_FN int setup_main(void *arg)
{
	struct health_exec *e = arg;
	int rc = join_cgroups(e);

	if (rc == 0) {
		e->what = "join the container's namespaces";
		if (setns(e->cpidfd, NS_FLAGS) < 0)
			rc = errno == EINVAL ? join_ns_files(e) : -errno;
	}
	if (rc == 0) {
		e->what = "start the check";
		e->wpid = clone(waiter_main, e->stacks + 2 * STACK_SIZE,
				CLONE_VM | CLONE_PARENT | SIGCHLD, e);
		if (e->wpid < 0)
			rc = -errno;
	}
	e->err = rc;
	_exit(0);
}

/* Opens path inside the container's root (symlinks cannot leave it); NULL when absent. */
static FILE *open_in_root(int root_fd, const char *path)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
	FILE *f = fd >= 0 ? fdopen(fd, "re") : NULL;

	if (fd >= 0 && !f)
		close(fd);
	return f;
}

/* Decimal id; false when s is not one. */
static bool parse_id(const char *s, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!s[0] || strspn(s, "0123456789") != strlen(s))
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	*out = (unsigned)v;
	return !errno && v < UINT_MAX;
}

static bool find_user(int root_fd, const char *user, struct health_exec *e, char *name,
		      size_t size)
{
	FILE *f = open_in_root(root_fd, "/etc/passwd");
	unsigned uid = 0;
	bool num = parse_id(user, &uid), found = false;
	struct passwd *pw;

	e->uid = uid;
	while (f && !found && (pw = fgetpwent(f))) {
		if (num ? pw->pw_uid != uid : strcmp(pw->pw_name, user) != 0)
			continue;
		found = true;
		e->uid = pw->pw_uid;
		e->gid = pw->pw_gid;
		snprintf(name, size, "%s", pw->pw_name);
	}
	if (f)
		fclose(f);
	return found || num;
}

/* The group named (or numbered) group, or when group is NULL the groups listing name. */
static bool find_groups(int root_fd, const char *group, const char *name, struct health_exec *e)
{
	FILE *f = open_in_root(root_fd, "/etc/group");
	unsigned gid = 0;
	bool num = group && parse_id(group, &gid), found = false;
	struct group *gr;

	if (num)
		e->gid = gid;
	while (f && !found && (gr = fgetgrent(f))) {
		if (group) {
			found = num ? gr->gr_gid == gid : strcmp(gr->gr_name, group) == 0;
			e->gid = found ? gr->gr_gid : e->gid;
			continue;
		}
		for (char **m = gr->gr_mem; name[0] && *m && e->ngroups < MAX_GROUPS; m++)
			if (gr->gr_gid != e->gid && strcmp(*m, name) == 0) {
				e->groups[e->ngroups++] = gr->gr_gid;
				break;
			}
	}
	if (f)
		fclose(f);
	return found || num || !group;
}

/* "uid", "uid:gid", "name", "name:group", resolved in the container's /etc (runc's rules). */
static int resolve_user(struct health_exec *e, const char *spec)
{
	char path[64], user[256], name[256] = "", *group;
	int root_fd, rc = 0;

	if (!spec)
		return 0;
	snprintf(user, sizeof(user), "%s", spec);
	group = strchr(user, ':');
	if (group)
		*group++ = '\0';
	snprintf(path, sizeof(path), "/proc/%d/root", (int)e->cpid);
	root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	if (!find_user(root_fd, user, e, name, sizeof(name)) ||
	    !find_groups(root_fd, group, name, e))
		rc = -ENOENT;
	close(root_fd);
	return rc;
}

/* The container's environment plus PATH when missing (borrowed strings). */
static int build_env(struct health_exec *e, char *const *envp)
{
	size_t n = 0;
	bool path = false;

	while (envp && envp[n])
		path |= strncmp(envp[n++], "PATH=", 5) == 0;
	e->envp = calloc(n + 2, sizeof(*e->envp));
	if (!e->envp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		e->envp[i] = envp[i];
	if (!path && !(e->envp[n] = e->owned_path = strdup("PATH=" DEFAULT_PATH)))
		return -ENOMEM;
	return 0;
}

static int build_argv(struct health_exec *e, const struct taskdef_health_check *hc)
{
	size_t n = hc->kind == TASKDEF_HEALTH_CMD ? hc->n_command : 3;

	e->argv = calloc(n + 1, sizeof(*e->argv));
	if (!e->argv)
		return -ENOMEM;
	if (hc->kind == TASKDEF_HEALTH_CMD) {
		for (size_t i = 0; i < n; i++)
			e->argv[i] = (char *)hc->command[i];
		return 0;
	}
	e->argv[0] = "/bin/sh";
	e->argv[1] = "-c";
	e->argv[2] = hc->shell;
	return 0;
}

/* An output file the check cannot grow past OUT_CAP: its writes stop there. */
static int make_output(struct health_exec *e)
{
	e->out_fd = memfd_create("berth-health", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (e->out_fd < 0 || ftruncate(e->out_fd, OUT_CAP) < 0 ||
	    fcntl(e->out_fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK) < 0)
		return -errno;
	e->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	return e->null_fd < 0 ? -errno : 0;
}

static bool command_ok(const struct taskdef_health_check *hc)
{
	if (hc->kind == TASKDEF_HEALTH_CMD)
		return hc->command && hc->n_command > 0 && hc->command[0] && hc->command[0][0];
	return hc->kind == TASKDEF_HEALTH_CMD_SHELL && hc->shell;
}

static struct health_exec *exec_new(const struct health_target *t)
{
	struct health_exec *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cpid = t->pid;
	e->cpidfd = e->null_fd = e->out_fd = e->wpidfd = -1;
	e->cgroup_procs = t->cgroup_procs;
	e->cwd = t->cwd;
	e->gone = true; /* until the waiter exists */
	return e;
}

/* Everything up to the clone; "what" names the failed step. */
static int prepare(struct health_exec *e, const struct health_target *t,
		   const struct taskdef_health_check *hc, const char **what)
{
	int rc;

	*what = "open the container's process";
	e->cpidfd = pidfd_open(t->pid, 0);
	if (e->cpidfd < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	if (!spawn_init_alive(t->pid, t->starttime))
		return -ESRCH;
	*what = "resolve the container's user";
	if ((rc = resolve_user(e, t->user)) < 0)
		return rc;
	*what = "allocate memory";
	if ((rc = build_env(e, t->envp)) < 0 || (rc = build_argv(e, hc)) < 0)
		return rc;
	*what = "create the output file";
	if ((rc = make_output(e)) < 0)
		return rc;
	*what = "allocate stacks";
	e->stacks = mmap(NULL, 3 * STACK_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (e->stacks == MAP_FAILED) {
		e->stacks = NULL;
		return -errno;
	}
	return 0;
}

/* Runs the setup child with every signal blocked (our handlers must not run in it). */
static int run_setup(struct health_exec *e, const char **what)
{
	sigset_t all, old;
	pid_t pid;
	int rc;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	e->err = -EIO;
	pid = clone(setup_main, e->stacks + STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, e);
	rc = pid < 0 ? -errno : 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	*what = "start the check";
	if (rc < 0)
		return rc;
	waitpid(pid, NULL, 0);
	if (e->err < 0) {
		*what = e->what;
		return e->err;
	}
	/* Our child, not reaped yet (the daemon reaps in its loop, not meanwhile): no reuse. */
	e->gone = false;
	e->wpidfd = pidfd_open(e->wpid, 0);
	if (e->wpidfd < 0) {
		rc = -errno;
		kill(-e->wpid, SIGKILL);
		return rc;
	}
	return 0;
}

int health_exec_start(const struct health_target *t, const struct taskdef_health_check *hc,
		      struct health_exec **out)
{
	struct health_exec *e;
	const char *what = "allocate memory";
	int rc;

	if (!t || !hc || !out || t->pid <= 0 || !command_ok(hc))
		return -EINVAL;
	e = exec_new(t);
	if (!e)
		return -ENOMEM;
	rc = prepare(e, t, hc, &what);
	if (rc == 0)
		rc = run_setup(e, &what);
	if (rc < 0) {
		if (rc != -ESRCH)
			log_error("health: failed to %s for pid %d: %s", what, (int)t->pid,
				  strerror(-rc));
		health_exec_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

int health_exec_fd(const struct health_exec *e)
{
	return e ? e->wpidfd : -1;
}

pid_t health_exec_pid(const struct health_exec *e)
{
	return e ? e->wpid : -1;
}

static bool ended(struct health_exec *e)
{
	struct pollfd p = { .fd = e->wpidfd, .events = POLLIN };

	if (!e->gone && poll(&p, 1, 0) > 0)
		e->gone = true;
	return e->gone;
}

int health_exec_kill(struct health_exec *e)
{
	if (!e)
		return -EINVAL;
	if (ended(e))
		return 0;
	e->killed = true;
	/* The group is pinned by the waiter, alive (checked just above) or a zombie. */
	if (kill(-e->wpid, SIGKILL) < 0 && errno != ESRCH)
		return -errno;
	return 0;
}

/* The last HEALTH_OUTPUT_MAX bytes written (the check's stdout and stderr share the file
 * offset, which is where its writes ended). */
static void read_tail(struct health_exec *e, char *buf, size_t size)
{
	off_t end = lseek(e->out_fd, 0, SEEK_CUR);
	size_t want = size - 1;
	ssize_t n;

	if (end < 0)
		end = 0;
	if ((off_t)want > end)
		want = (size_t)end;
	n = pread(e->out_fd, buf, want, end - (off_t)want);
	buf[n > 0 ? n : 0] = '\0';
}

int health_exec_finish(struct health_exec *e, struct health_result *res)
{
	siginfo_t si;

	if (!e || !res)
		return -EINVAL;
	if (e->collected)
		return -EALREADY;
	if (!ended(e))
		return -EAGAIN;
	memset(&si, 0, sizeof(si));
	waitid(P_PIDFD, (id_t)e->wpidfd, &si, WEXITED | WNOHANG); /* unless reaped already */
	e->collected = true;
	memset(res, 0, sizeof(*res));
	res->timed_out = e->killed;
	res->exit_code = -1;
	if (!e->killed && __atomic_load_n(&e->reported, __ATOMIC_ACQUIRE)) {
		int ws = e->wstatus;

		res->exit_code = WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
	}
	read_tail(e, res->output, sizeof(res->output));
	return 0;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

void health_exec_free(struct health_exec *e)
{
	struct pollfd p;
	siginfo_t si;

	if (!e)
		return;
	if (!ended(e)) {
		kill(-e->wpid, SIGKILL);
		p = (struct pollfd){ .fd = e->wpidfd, .events = POLLIN };
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
	}
	if (e->wpidfd >= 0 && !e->collected)
		waitid(P_PIDFD, (id_t)e->wpidfd, &si, WEXITED | WNOHANG);
	/* The stacks go only once the waiter (which runs on one) has ended. */
	if (e->stacks) {
		UNPOISON(e->stacks, 3 * STACK_SIZE);
		munmap(e->stacks, 3 * STACK_SIZE);
	}
	close_fd(e->cpidfd);
	close_fd(e->null_fd);
	close_fd(e->out_fd);
	close_fd(e->wpidfd);
	free(e->argv);
	free(e->envp);
	free(e->owned_path);
	free(e);
}

enum health_status health_record(struct health_state *st, const struct taskdef_health_check *hc,
				 long long now_ms, long long started_ms, int exit_code)
{
	if (!st || !hc)
		return HEALTH_UNKNOWN;
	st->last_ms = now_ms;
	if (exit_code == 0) {
		st->failures = 0;
		st->passed = true;
		st->status = HEALTH_HEALTHY;
		return st->status;
	}
	/* startPeriod: failures while the container starts up are not counted, until a first
	 * success ends the start period (Docker's and ECS's rule). */
	if (!st->passed && hc->start_period > 0 &&
	    now_ms - started_ms < hc->start_period * 1000LL)
		return st->status;
	st->failures++;
	if (st->failures >= (hc->retries > 0 ? hc->retries : 1))
		st->status = HEALTH_UNHEALTHY;
	return st->status;
}

enum health_status health_task_status(const struct health_member *m, size_t n)
{
	bool any = false, unknown = false;

	for (size_t i = 0; m && i < n; i++) {
		if (!m[i].essential || !m[i].has_check)
			continue;
		if (m[i].status == HEALTH_UNHEALTHY)
			return HEALTH_UNHEALTHY;
		any = true;
		unknown |= m[i].status != HEALTH_HEALTHY;
	}
	return !any || unknown ? HEALTH_UNKNOWN : HEALTH_HEALTHY;
}

const char *health_status_name(enum health_status s)
{
	switch (s) {
	case HEALTH_HEALTHY:
		return "HEALTHY";
	case HEALTH_UNHEALTHY:
		return "UNHEALTHY";
	default:
		return "UNKNOWN";
	}
}
