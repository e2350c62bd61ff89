/* SPDX-License-Identifier: MIT */
/* spawn_init.c: the task supervisor (forked from the daemon) and the pid-1 reaper of the task's pid namespace. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#include "common/log.h"
#include "runtime/spawn_internal.h"

#define RUN_FD 3
#define DEFAULT_LOG_BYTES (10u * 1024 * 1024)
#define DEFAULT_LOG_FILES 3
#define DEFAULT_STOP_TIMEOUT 30
#define DRAIN_MS 2000

/* One container as the supervisor sees it. */
struct sup_ctr {
	const struct spawn_container *c;
	pid_t pid;          /* host pid of the main process, 0 when not running */
	int err_fd;         /* read end of the close-on-exec pipe, -1 once closed */
	int out_fd;         /* read end of the stdout/stderr pipe, -1 at EOF */
	int log_fd;         /* log file, -1 when not open */
	size_t log_size;
	bool failed;        /* the child reported a start error in ce */
	bool done;          /* ".exit" written */
	bool waiting;       /* not started yet: its dependsOn conditions do not hold yet */
	bool execd;         /* has exec'd at least once (condition START) */
	bool term_sent;     /* SIGTERM sent by a stop */
	int restarts;       /* restarts by restartPolicy */
	int exit_code;      /* of the final exit; -1 when it never ran */
	long long run_start; /* monotonic ms of the last (re)start */
	unsigned long long starttime; /* of pid, read while the child sets up; 0 if unknown */
	struct spawn_trace *trace; /* the first start's steps, shared with the child; or NULL */
	long long kill_at;  /* monotonic ms of the SIGKILL after a stop, 0 if none */
	struct spawn_child_error ce;
};

struct sup {
	const struct spawn_task *t;
	int sig_fd;
	int ino_fd;         /* inotify on run_dir for ".healthy" files, -1 when not needed */
	int alive_fd;       /* write end the init watches to learn that we died */
	pid_t init_pid;     /* host pid of the namespace's pid 1, 0 when gone */
	struct sup_ctr *ctr;
	size_t log_max;
	int log_files;
	bool stopping;
	struct spawn_child_ctx x; /* template for container children */
	struct spawn_trace trace; /* the supervisor's own launch steps */
	struct spawn_trace *tr;   /* &trace when the launch is timed (debug log), or NULL */
	const char *req;          /* a warm supervisor's request, for its warm container */
	size_t req_len;
	bool armed;               /* the task is the one the warm container's root was armed for */
	bool weight_restored;     /* the task cgroup's launch weight is back to normal */
	int *init_cg_fds;         /* berth.init's cgroup.procs files, open until joined */
	size_t n_init_cg;
	char what[300];           /* the step that failed, for messages */
};

static pid_t spawn_warm_init; /* a warm supervisor's init, forked ahead */
int spawn_cgroup_join(char *const *procs, const char **failed)
{
	return spawn_cgroup_join_at(AT_FDCWD, procs, failed);
}

int spawn_cgroup_join_at(int dirfd, char *const *procs, const char **failed)
{
	for (size_t i = 0; procs && procs[i]; i++) {
		const char *p = procs[i];
		int fd, rc = 0;

		if (dirfd != AT_FDCWD) /* relative to it */
			while (*p == '/')
				p++;
		fd = openat(dirfd, p, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			rc = -errno;
		if (fd >= 0)
			close(fd);
		if (rc < 0) {
			*failed = procs[i];
			return rc;
		}
	}
	return 0;
}

/* SIGKILLs every process left in the container's cgroups (host pids: we are in the host pid
 * namespace), so that a container ends with its main process as it does under Docker. */
static void kill_cgroups(char *const *procs)
{
	for (size_t i = 0; procs && procs[i]; i++) {
		FILE *f = fopen(procs[i], "re");
		int pid;

		if (!f)
			continue;
		while (fscanf(f, "%d", &pid) == 1)
			if (pid > 0)
				kill(pid, SIGKILL);
		fclose(f);
	}
}

/* setproctitle(): overwrites our copy of the daemon's argv area, which ps and (for pid 1) the
 * container would show otherwise, then shrinks it to the title when allowed. */
void spawn_set_title(const char *title, const char *comm)
{
	unsigned long long start, end;
	size_t n;

	prctl(PR_SET_NAME, (unsigned long)comm, 0, 0, 0);
	if (spawn_proc_stat(0, 48, NULL, &start) < 0 || spawn_proc_stat(0, 49, NULL, &end) < 0 ||
	    end <= start)
		return;
	n = strnlen(title, end - start - 1);
	memset((void *)(uintptr_t)start, 0, end - start);
	memcpy((void *)(uintptr_t)start, title, n);
	prctl(PR_SET_MM, PR_SET_MM_ARG_END, (unsigned long)(start + n + 1), 0, 0);
}

/* pid 1 of the task's pid namespace: reaps orphans until the supervisor dies. */
static void __attribute__((noreturn)) run_init(int alive_rd)
{
	static const char title[] = "berth-init";
	struct pollfd p = { .fd = alive_rd, .events = POLLIN };
	sigset_t all, chld;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (poll(&p, 1, 0) > 0) /* the supervisor died before PDEATHSIG was armed */
		_exit(0);
	spawn_launch_unboost();
	close_range(0, ~0U, 0);
	/* Not dumpable: container processes must not reach our host root via /proc/1/root. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	spawn_set_title(title, title);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sigwaitinfo(&chld, NULL);
	}
}

static int fork_init(struct sup *s)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		run_init(p[0]);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return -errno;
	}
	s->init_pid = pid;
	s->alive_fd = p[1];
	return 0;
}

/* Leaves fd 0 and 1 on /dev/null, keeps 2 (our log), run dir on RUN_FD, a warm supervisor's
 * fds (SPAWN_WARM_SIG_FD .. SPAWN_WARM_LAST_FD), and nothing else. */
static int setup_fds(int run_fd, bool warm)
{
	int null_fd;

	if (run_fd != RUN_FD && dup2(run_fd, RUN_FD) < 0)
		return -errno;
	close_range(warm ? SPAWN_WARM_LAST_FD + 1 : RUN_FD + 1, ~0U, 0);
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0)
		return -errno;
	dup2(null_fd, 0);
	dup2(null_fd, 1);
	if (fcntl(2, F_GETFD) < 0)
		dup2(null_fd, 2);
	if (null_fd > 2)
		close(null_fd);
	return 0;
}

static int setup_signals(struct sup *s)
{
	sigset_t set;

	spawn_reset_signals();
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_SETMASK, &set, NULL);
	s->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return s->sig_fd < 0 ? -errno : 0;
}

/* Brings the loopback interface of a fresh network namespace up. */
static int loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (rc == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Copies a small host file (e.g. /etc/hosts) into the run dir as name; absent is fine. */
static int copy_host_file(const char *path, const char *name, bool *have)
{
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return -errno;
	*have = true;
	return spawn_write_file(RUN_FD, name, buf, (size_t)n);
}

/* The /etc files bind-mounted into each container: Docker's behaviour, so that the hostname
 * resolves and host-network tasks get the host's resolver. */
static int write_etc_files(struct sup *s)
{
	const struct spawn_task *t = s->t;
	char buf[512];
	int n, rc;

	if (t->hostname) {
		n = snprintf(buf, sizeof(buf), "%s\n", t->hostname);
		rc = spawn_write_file(RUN_FD, SPAWN_ETC_HOSTNAME, buf, (size_t)n);
		if (rc < 0)
			return rc;
		s->x.have_hostname = true;
	}
	if (t->host_network) {
		rc = copy_host_file("/etc/hosts", SPAWN_ETC_HOSTS, &s->x.have_hosts);
		return rc < 0 ? rc
			      : copy_host_file("/etc/resolv.conf", SPAWN_ETC_RESOLV,
					       &s->x.have_resolv);
	}
	n = snprintf(buf, sizeof(buf),
		     "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
		     "%s%s%s",
		     t->hostname ? "127.0.1.1\t" : "", t->hostname ? t->hostname : "",
		     t->hostname ? "\n" : "");
	s->x.have_hosts = true;
	return spawn_write_file(RUN_FD, SPAWN_ETC_HOSTS, buf, (size_t)n);
}

/* The uts, ipc and pid (and unless host_network, net with loopback up) namespaces. */
static int new_namespaces(bool host_network, const char **what)
{
	int rc;

	*what = "create namespaces";
	if (unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID |
		    (host_network ? 0 : CLONE_NEWNET)) < 0)
		return -errno;
	*what = "bring up loopback";
	if (!host_network && (rc = loopback_up()) < 0)
		return rc;
	return 0;
}

/* Creates the namespaces every container of the task shares (a warm supervisor has them
 * already), and their pid 1. */
static int setup_namespaces(struct sup *s, bool warm, const char **what)
{
	const struct spawn_task *t = s->t;
	struct statfs sfs;
	int rc;

	if (!warm && (rc = new_namespaces(t->host_network, what)) < 0)
		return rc;
	*what = "set hostname";
	if (t->hostname && sethostname(t->hostname, strlen(t->hostname)) < 0)
		return -errno;
	*what = "write /etc files";
	if ((rc = write_etc_files(s)) < 0)
		return rc;
	s->x.cgroup2_root = statfs("/sys/fs/cgroup", &sfs) == 0 &&
			    sfs.f_type == CGROUP2_SUPER_MAGIC;
	spawn_trace_mark(s->tr, SPAWN_T_NS);
	*what = "start init";
	if (!warm)
		return fork_init(s);
	s->init_pid = spawn_warm_init; /* forked ahead */
	s->alive_fd = SPAWN_WARM_ALIVE_FD;
	return 0;
}

/* Opens berth.init's cgroup.procs files: a missing cgroup fails the task before anything
 * starts, but the moves themselves wait until the containers are forked (join_init_cgroups),
 * off the launch's path: each container joins its own cgroups by itself. */
static int open_init_cgroups(struct sup *s, const char **what)
{
	char *const *procs = s->t->init_cgroup_procs;
	size_t n = 0;

	while (procs && procs[n])
		n++;
	if (n == 0)
		return 0;
	s->init_cg_fds = calloc(n, sizeof(*s->init_cg_fds));
	if (!s->init_cg_fds)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int fd = open(procs[i], O_WRONLY | O_CLOEXEC);

		if (fd < 0) {
			int rc = -errno;

			snprintf(s->what, sizeof(s->what), "join cgroup %s", procs[i]);
			*what = s->what;
			return rc;
		}
		s->init_cg_fds[s->n_init_cg++] = fd;
	}
	return 0;
}

/* Moves the supervisor and init into berth.init (the files opened by open_init_cgroups()),
 * once a container has exec'd (or failed to), so that these migrations do not contend with the
 * container's own (both take the kernel's cgroup migration lock) on its way to the exec. A
 * failure leaves them in the daemon's cgroup, which only their accounting notices. */
static void join_init_cgroups(struct sup *s)
{
	char pid[24];
	int n = snprintf(pid, sizeof(pid), "%d", (int)s->init_pid);

	for (size_t i = 0; i < s->n_init_cg; i++) {
		int fd = s->init_cg_fds[i];

		if (write(fd, "0", 1) != 1 ||
		    (s->init_pid > 0 && write(fd, pid, (size_t)n) != n))
			log_warn("spawn: task %s: failed to move the supervisor or init to cgroup "
				 "%s: %s", s->t->task_id ? s->t->task_id : "?",
				 s->t->init_cgroup_procs[i], strerror(errno));
		close(fd);
	}
	free(s->init_cg_fds);
	s->init_cg_fds = NULL;
	s->n_init_cg = 0;
}

static int setup_process(struct sup *s, int run_fd, bool warm, const char **what)
{
	char *title = NULL;
	int rc;

	*what = "set up file descriptors";
	if (warm) {
		s->sig_fd = SPAWN_WARM_SIG_FD;
		if ((rc = setup_fds(run_fd, true)) < 0)
			return rc;
	} else {
		setsid();
		if ((rc = setup_fds(run_fd, false)) < 0)
			return rc;
		if (chdir("/") < 0)
			return -errno;
		umask(022);
		*what = "set up signals";
		if ((rc = setup_signals(s)) < 0)
			return rc;
	}
	if (asprintf(&title, "berth-task %s", s->t->task_id ? s->t->task_id : "") > 0)
		spawn_set_title(title, "berth-task");
	free(title);
	rc = open_init_cgroups(s, what);
	spawn_trace_mark(s->tr, SPAWN_T_SUP_CG);
	return rc;
}

static void put_status(const char *name, const char *suffix, char *json, bool durable)
{
	char file[300];
	int rc = -ENOMEM;

	snprintf(file, sizeof(file), "%s%s", name, suffix);
	if (json)
		rc = spawn_put_file(RUN_FD, file, json, strlen(json), durable);
	if (rc < 0)
		log_error("spawn: failed to write status %s: %s", file, strerror(-rc));
	free(json);
}

/* Reports a task that could not be set up: every container and the task get the error. */
static void __attribute__((noreturn)) fail_task(struct sup *s, int err, const char *what)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "failed to %s: %s", what, strerror(-err));
	log_error("spawn: task %s: %s", s->t->task_id ? s->t->task_id : "?", msg);
	for (size_t i = 0; i < s->t->n_containers; i++)
		put_status(s->t->containers[i].name, ".exit",
			   spawn_json_error(-err, msg, spawn_now_ms()), true);
	put_status("task", ".done", spawn_json_error(-err, msg, spawn_now_ms()), true);
	_exit(1);
}

static void copy_out(struct sup *s, struct sup_ctr *r, const char *buf, size_t n)
{
	int rc;

	if (!r->c->log_path)
		return;
	rc = spawn_log_write(r->c->log_path, s->log_max, s->log_files, &r->log_fd,
			     &r->log_size, buf, n);
	if (rc < 0)
		log_warn("spawn: failed to write log %s: %s", r->c->log_path, strerror(-rc));
}

/* Copies what the pipe holds now; closes it at EOF. */
static void drain_out(struct sup *s, struct sup_ctr *r)
{
	char buf[65536];
	ssize_t n;

	while (r->out_fd >= 0) {
		n = read(r->out_fd, buf, sizeof(buf));
		if (n > 0) {
			copy_out(s, r, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		close(r->out_fd);
		r->out_fd = -1;
	}
}

static void trace_free(struct sup_ctr *r)
{
	if (r->trace)
		munmap(r->trace, sizeof(*r->trace));
	r->trace = NULL;
}

/* The debug log's breakdown of a container's first start: when each step ended, in
 * milliseconds from the request, and what the step took in the process that did it: CPU time,
 * time waiting for a CPU, and the rest (asleep: locks, RCU grace periods, I/O). */
static void log_launch(const struct sup *s, const struct sup_ctr *r)
{
	static const char *const names[SPAWN_T_COUNT] = {
		[SPAWN_T_WAKE] = "supervisor has it", [SPAWN_T_SUP_CG] = "berth.init opened",
		[SPAWN_T_NS] = "namespaces hostname /etc",
		[SPAWN_T_INIT_CG] = "containers forked",
		[SPAWN_T_FORK] = "container process has it", [SPAWN_T_CG] = "its cgroups joined",
		[SPAWN_T_MNTNS] = "its namespaces", [SPAWN_T_OVERLAY] = "overlay",
		[SPAWN_T_PIVOT] = "pivot_root and old root detached",
		[SPAWN_T_BASE] = "/proc /dev /sys", [SPAWN_T_DEVICES] = "device nodes",
		[SPAWN_T_MASKED] = "masked paths", [SPAWN_T_ETC] = "/etc and cwd",
		[SPAWN_T_EXEC] = "ulimits user caps", [SPAWN_T_SEEN] = "exec seen",
		[SPAWN_T_STARTED] = "berth.init joined and .started written",
	};
	long long t0 = s->t->asked_mono_us;
	char line[2048];
	size_t n = 0;
	int prev = -1; /* the previous step of the same process */

	if (!t0 || !r->trace || !s->tr)
		return;
	for (int i = 0; i < SPAWN_T_COUNT && n < sizeof(line); i++) {
		bool child = i >= SPAWN_T_FORK && i < SPAWN_T_SEEN;
		const struct spawn_trace *tr = i < SPAWN_T_FORK ? s->tr : r->trace;
		const struct spawn_trace *ptr;
		long long wall, cpu, runq;

		if (i == SPAWN_T_FORK || i == SPAWN_T_SEEN)
			prev = i == SPAWN_T_FORK ? -1 : SPAWN_T_INIT_CG;
		if (!tr->us[i])
			continue;
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s +%.2f", n ? "; " : "",
				      names[i], (double)(tr->us[i] - t0) / 1000);
		if (i == SPAWN_T_SEEN && tr->exec_cpu && tr->cpu[SPAWN_T_EXEC] &&
		    tr->runq[SPAWN_T_EXEC] >= 0)
			n += (size_t)snprintf(line + n, sizeof(line) - n,
					      " (container's exec: cpu %.2f queued %.2f)",
					      (double)(tr->exec_cpu - tr->cpu[SPAWN_T_EXEC]) / 1000,
					      (double)(tr->exec_runq - tr->runq[SPAWN_T_EXEC]) / 1000);
		ptr = prev >= 0 && prev < SPAWN_T_FORK ? s->tr : r->trace;
		if (tr->runq[i] < 0)
			continue; /* the next step of this process is timed from the last known one */
		if (prev >= 0 && ptr->us[prev] && n < sizeof(line) && (child || i != SPAWN_T_SEEN)) {
			wall = tr->us[i] - ptr->us[prev];
			cpu = tr->cpu[i] - ptr->cpu[prev];
			runq = tr->runq[i] - ptr->runq[prev];
			n += (size_t)snprintf(line + n, sizeof(line) - n,
					      " (cpu %.2f queued %.2f asleep %.2f)",
					      (double)cpu / 1000, (double)runq / 1000,
					      (double)(wall - cpu - runq) / 1000);
		}
		prev = i;
	}
	log_debug("spawn: task %s container %s launch (ms after the request): %s",
		  s->t->task_id ? s->t->task_id : "?", r->c->name, line);
}

/* The CPU weights berthd boosted for the launch (the task cgroup's and its ancestors') back to
 * normal once no container is between fork and exec; once. A failure only leaves a boost, which
 * the next launch's supervisor undoes: logged. */
static void weight_when_started(struct sup *s)
{
	char *const *f = s->t->cpu_weight_files;
	const char *v = s->t->cpu_weight_normal;

	if (!f || s->weight_restored)
		return;
	for (size_t i = 0; i < s->t->n_containers; i++)
		if (s->ctr[i].pid > 0 && s->ctr[i].err_fd >= 0)
			return;
	s->weight_restored = true;
	for (size_t i = 0; f[i]; i++) {
		int fd = open(f[i], O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, v, strlen(v)) != (ssize_t)strlen(v))
			log_warn("spawn: task %s: failed to write %s to %s: %s",
				 s->t->task_id ? s->t->task_id : "?", v, f[i], strerror(errno));
		if (fd >= 0)
			close(fd);
	}
}

/* The close-on-exec pipe: EOF means the exec happened, data is a start error. */
static void read_err(struct sup *s, struct sup_ctr *r)
{
	ssize_t n;
	char *json;
	unsigned long long st = 0;
	long long seen_us;

	do
		n = read(r->err_fd, &r->ce, sizeof(r->ce));
	while (n < 0 && errno == EINTR);
	close(r->err_fd);
	r->err_fd = -1;
	if (n > 0) {
		r->failed = true;
		r->ce.msg[sizeof(r->ce.msg) - 1] = '\0';
		trace_free(r);
		weight_when_started(s);
		join_init_cgroups(s);
		return;
	}
	seen_us = spawn_now_us(); /* the exec's time, whatever follows */
	spawn_trace_mark(r->trace, SPAWN_T_SEEN);
	if (r->trace)
		spawn_trace_exec(r->trace, r->pid);
	r->execd = true;
	weight_when_started(s); /* before ".started": RUNNING runs at the normal weight */
	join_init_cgroups(s);   /* a started container's supervisor is in berth.init */
	st = r->starttime;
	if (!st) /* not yet reaped: readable even after an exit */
		spawn_proc_starttime(r->pid, &st);
	json = spawn_json_started(r->pid, st, seen_us, r->restarts);
	put_status(r->c->name, ".started", json, false);
	spawn_trace_mark(r->trace, SPAWN_T_STARTED);
	log_launch(s, r);
	trace_free(r);
}

/* Back to the daemon's priority once no container is between fork and exec. */
static void unboost_when_started(struct sup *s)
{
	for (size_t i = 0; i < s->t->n_containers; i++)
		if (s->ctr[i].pid > 0 && s->ctr[i].err_fd >= 0)
			return;
	spawn_launch_unboost();
}

static int exit_code_of(int wstatus)
{
	return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
}

/* restartPolicy: ECS restarts a container only when it ran restartAttemptPeriod since its
 * last (re)start and its exit code is not ignored; never while the task is stopping. */
static bool should_restart(const struct sup *s, const struct sup_ctr *r, int wstatus)
{
	const struct spawn_container *c = r->c;
	int code = exit_code_of(wstatus);

	if (!c->restart_enabled || r->failed || s->stopping ||
	    spawn_mono_ms() - r->run_start < c->restart_attempt_ms)
		return false;
	for (size_t i = 0; i < c->n_ignored_exit_codes; i++)
		if (c->ignored_exit_codes[i] == code)
			return false;
	return true;
}

static void start_container(struct sup *s, struct sup_ctr *r);

/* Reports the run that ended as ".restarted" (not final) and starts the container again in
 * the same namespaces, on the same upper dir, appending to the same log. */
static void restart_container(struct sup *s, struct sup_ctr *r, int wstatus)
{
	char name[300];

	r->restarts++;
	put_status(r->c->name, ".restarted",
		   spawn_json_exit(r->pid, wstatus, spawn_now_ms(), r->restarts), false);
	snprintf(name, sizeof(name), "%s%s", r->c->name, SPAWN_HEALTHY_SUFFIX);
	unlinkat(RUN_FD, name, 0); /* the new run has to become healthy again */
	if (r->out_fd >= 0) { /* output of leftovers still holding the old pipe is dropped */
		close(r->out_fd);
		r->out_fd = -1;
	}
	r->pid = 0;
	r->kill_at = 0;
	r->term_sent = false;
	start_container(s, r);
}

static void ctr_exited(struct sup *s, struct sup_ctr *r, int wstatus)
{
	char *json;

	if (r->err_fd >= 0)
		read_err(s, r);
	drain_out(s, r);
	trace_free(r);
	kill_cgroups(r->c->cgroup_procs);
	if (should_restart(s, r, wstatus)) {
		restart_container(s, r, wstatus);
		return;
	}
	if (r->failed)
		json = spawn_json_error(r->ce.err, r->ce.msg, spawn_now_ms());
	else
		json = spawn_json_exit(r->pid, wstatus, spawn_now_ms(), r->restarts);
	put_status(r->c->name, ".exit", json, true);
	r->exit_code = r->failed ? -1 : exit_code_of(wstatus);
	r->pid = 0;
	r->done = true;
	r->kill_at = 0;
}

static void reap(struct sup *s)
{
	int ws;
	pid_t pid;

	while ((pid = waitpid(-1, &ws, WNOHANG)) > 0) {
		if (pid == s->init_pid) {
			s->init_pid = 0;
			continue;
		}
		for (size_t i = 0; i < s->t->n_containers; i++)
			if (s->ctr[i].pid == pid)
				ctr_exited(s, &s->ctr[i], ws);
	}
}

static void send_all(struct sup *s, int sig)
{
	for (size_t i = 0; i < s->t->n_containers; i++)
		if (s->ctr[i].pid > 0)
			kill(s->ctr[i].pid, sig);
}

/* Whether a container that depends on container i is still running or may still start. */
static bool has_live_dependent(const struct sup *s, size_t i)
{
	for (size_t j = 0; j < s->t->n_containers; j++) {
		const struct sup_ctr *r = &s->ctr[j];

		if (r->pid <= 0 && !r->waiting)
			continue;
		for (size_t k = 0; k < r->c->n_depends_on; k++)
			if (r->c->depends_on[k].index == i)
				return true;
	}
	return false;
}

/* The stop in reverse dependency order (as ECS): SIGTERM to each running container once
 * every container depending on it has exited, SIGKILL after its own stop timeout. */
static void stop_step(struct sup *s)
{
	long long now = spawn_mono_ms();

	for (size_t i = 0; s->stopping && i < s->t->n_containers; i++) {
		struct sup_ctr *r = &s->ctr[i];
		int secs = r->c->stop_timeout > 0 ? r->c->stop_timeout : DEFAULT_STOP_TIMEOUT;

		if (r->pid <= 0 || r->term_sent || has_live_dependent(s, i))
			continue;
		kill(r->pid, SIGTERM);
		r->term_sent = true;
		r->kill_at = now + secs * 1000LL;
	}
}

static void start_ready(struct sup *s);

/* Idempotent: a repeated SIGTERM is forwarded again to the containers already stopping. */
static void stop_all(struct sup *s)
{
	for (size_t i = 0; s->stopping && i < s->t->n_containers; i++)
		if (s->ctr[i].pid > 0 && s->ctr[i].term_sent)
			kill(s->ctr[i].pid, SIGTERM);
	s->stopping = true;
	start_ready(s); /* containers still waiting for their dependencies never start */
	stop_step(s);
}

static void handle_signals(struct sup *s)
{
	struct signalfd_siginfo si;

	while (read(s->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap(s);
		else if (si.ssi_signo == SIGTERM)
			stop_all(s);
		else
			send_all(s, (int)si.ssi_signo);
	}
	reap(s); /* SIGCHLDs coalesce; cheap to check */
}

static void handle_deadlines(struct sup *s)
{
	long long now = spawn_mono_ms();

	for (size_t i = 0; i < s->t->n_containers; i++) {
		struct sup_ctr *r = &s->ctr[i];

		if (r->pid > 0 && r->kill_at && now >= r->kill_at) {
			kill(r->pid, SIGKILL);
			kill_cgroups(r->c->cgroup_procs);
			r->kill_at = 0;
		}
	}
}

static int next_timeout(struct sup *s)
{
	long long now = spawn_mono_ms(), best = -1;

	for (size_t i = 0; i < s->t->n_containers; i++) {
		long long at = s->ctr[i].kill_at;

		if (s->ctr[i].pid > 0 && at && (best < 0 || at - now < best))
			best = at > now ? at - now : 0;
	}
	return best < 0 ? -1 : (int)(best > 60000 ? 60000 : best);
}

/* Containers running or still to start. */
static size_t live_count(struct sup *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->t->n_containers; i++)
		n += !s->ctr[i].done;
	return n;
}

/* pfd[0] is the signalfd, pfd[1] the inotify fd (-1: unused); container i has pfd[2 + 2i]
 * (err pipe) and pfd[3 + 2i] (output). */
static void fill_poll(struct sup *s, struct pollfd *pfd)
{
	pfd[0] = (struct pollfd){ .fd = s->sig_fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = s->ino_fd, .events = POLLIN };
	for (size_t i = 0; i < s->t->n_containers; i++) {
		pfd[2 + 2 * i] = (struct pollfd){ .fd = s->ctr[i].err_fd, .events = POLLIN };
		pfd[3 + 2 * i] = (struct pollfd){ .fd = s->ctr[i].out_fd, .events = POLLIN };
	}
}

static void handle_fds(struct sup *s, const struct pollfd *pfd)
{
	char ev[4096];

	if (s->ino_fd >= 0 && pfd[1].revents)
		while (read(s->ino_fd, ev, sizeof(ev)) > 0)
			; /* only a wake-up: start_ready() looks at the files */
	for (size_t i = 0; i < s->t->n_containers; i++) {
		struct sup_ctr *r = &s->ctr[i];

		if (r->err_fd >= 0 && pfd[2 + 2 * i].revents) {
			read_err(s, r);
			unboost_when_started(s);
		}
		if (r->out_fd >= 0 && pfd[3 + 2 * i].revents)
			drain_out(s, r);
	}
}

static void run_loop(struct sup *s, struct pollfd *pfd)
{
	size_t n = 2 + 2 * s->t->n_containers;

	while (live_count(s) > 0) {
		fill_poll(s, pfd);
		if (poll(pfd, n, next_timeout(s)) < 0 && errno != EINTR) {
			log_error("spawn: failed to poll: %s", strerror(errno));
			sleep(1);
			continue;
		}
		handle_fds(s, pfd); /* before reaping, so ".started" precedes ".exit" */
		handle_signals(s);
		handle_deadlines(s);
		start_ready(s);
		stop_step(s);
	}
}

/* All main processes are gone: end the pid namespace, copy the last output, report. */
static void __attribute__((noreturn)) finish(struct sup *s, struct pollfd *pfd)
{
	size_t n = 2 + 2 * s->t->n_containers;
	long long end = spawn_mono_ms() + DRAIN_MS;

	if (s->init_pid > 0) {
		kill(s->init_pid, SIGKILL);
		waitpid(s->init_pid, NULL, 0);
	}
	for (;;) {
		bool open = false;

		for (size_t i = 0; i < s->t->n_containers; i++) {
			drain_out(s, &s->ctr[i]);
			open |= s->ctr[i].out_fd >= 0;
		}
		if (!open || spawn_mono_ms() >= end)
			break;
		fill_poll(s, pfd);
		poll(pfd, n, 100);
	}
	for (size_t i = 0; i < s->t->n_containers; i++)
		if (s->ctr[i].log_fd >= 0)
			close(s->ctr[i].log_fd);
	put_status("task", ".done", spawn_json_exit(0, 0, spawn_now_ms(), 0), true);
	_exit(0);
}

/* Hands the task to the warm container process, which becomes container r. False when there
 * is none (or it is gone, or its root was armed for another task or container): the caller
 * forks one. */
static bool start_warm(struct sup *s, struct sup_ctr *r)
{
	struct spawn_warm_go go = {
		.index = (uint32_t)(r - s->ctr), .len = (uint32_t)s->req_len, .traced = s->tr != NULL,
		.have_hosts = s->x.have_hosts, .have_hostname = s->x.have_hostname,
		.have_resolv = s->x.have_resolv,
	};
	struct spawn_trace *tr = NULL;
	pid_t pid = spawn_warm_hand(&go, s->armed && r == s->ctr, s->req, &tr);

	if (pid <= 0)
		return false;
	if (tr)
		r->trace = tr; /* freed by trace_free() */
	fcntl(SPAWN_WARM_OUT_FD, F_SETFL, O_NONBLOCK);
	r->run_start = spawn_mono_ms();
	r->pid = pid;
	r->starttime = 0;
	spawn_proc_starttime(pid, &r->starttime);
	r->out_fd = SPAWN_WARM_OUT_FD;
	r->err_fd = SPAWN_WARM_ERR_FD;
	return true;
}

static void start_container(struct sup *s, struct sup_ctr *r)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	struct spawn_child_ctx x = s->x;
	int rc = 0;
	pid_t pid;

	if (!r->restarts && start_warm(s, r))
		return;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	x.c = r->c;
	x.out_fd = out[1];
	x.err_fd = err[1];
	if (s->tr && !r->restarts && !r->trace) {
		r->trace = mmap(NULL, sizeof(*r->trace), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (r->trace == MAP_FAILED)
			r->trace = NULL; /* the breakdown is only for the debug log */
	}
	x.trace = r->trace;
	pid = fork();
	if (pid == 0)
		spawn_child_exec(&x);
	rc = pid < 0 ? -errno : 0;
	close(out[1]);
	close(err[1]);
	if (rc < 0)
		goto fail;
	fcntl(out[0], F_SETFL, O_NONBLOCK); /* only our end: the container's stays blocking */
	r->run_start = spawn_mono_ms();
	r->pid = pid;
	/* Now, while the child sets itself up, rather than after its exec on the way to
	 * ".started": a start time does not change with exec. */
	r->starttime = 0;
	spawn_proc_starttime(pid, &r->starttime);
	r->out_fd = out[0];
	r->err_fd = err[0];
	return;
fail:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	r->failed = true;
	r->ce.err = -rc;
	snprintf(r->ce.msg, sizeof(r->ce.msg), "failed to start process: %s", strerror(-rc));
	ctr_exited(s, r, 0);
}

/* 1: the condition holds, 0: not yet, -1: it never will (msg says why). */
static int dep_state(struct sup *s, const struct spawn_dependency *d, char *msg, size_t size)
{
	const struct sup_ctr *r = &s->ctr[d->index];
	char file[300];

	if (r->failed || (r->done && !r->execd)) {
		snprintf(msg, size, "dependency %s did not start", r->c->name);
		return -1;
	}
	switch (d->condition) {
	case SPAWN_COND_START:
		return r->execd ? 1 : 0;
	case SPAWN_COND_COMPLETE:
		return r->done ? 1 : 0;
	case SPAWN_COND_SUCCESS:
		if (r->done && r->exit_code != 0)
			snprintf(msg, size, "dependency %s exited with %d: condition SUCCESS "
				 "cannot be met", r->c->name, r->exit_code);
		return !r->done ? 0 : r->exit_code == 0 ? 1 : -1;
	case SPAWN_COND_HEALTHY:
		snprintf(file, sizeof(file), "%s%s", r->c->name, SPAWN_HEALTHY_SUFFIX);
		if (faccessat(RUN_FD, file, F_OK, 0) == 0)
			return 1;
		if (r->done)
			snprintf(msg, size, "dependency %s exited with %d before it was healthy: "
				 "condition HEALTHY cannot be met", r->c->name, r->exit_code);
		return r->done ? -1 : 0;
	}
	return -1;
}

/* 1: start it, 0: keep waiting, -1: never start it (the reason is in r->ce.msg). */
static int deps_state(struct sup *s, struct sup_ctr *r)
{
	int rc = 1;

	if (s->stopping) {
		snprintf(r->ce.msg, sizeof(r->ce.msg),
			 "the task stopped before the dependencies of the container were met");
		return -1;
	}
	for (size_t i = 0; i < r->c->n_depends_on && rc >= 0; i++) {
		int st = dep_state(s, &r->c->depends_on[i], r->ce.msg, sizeof(r->ce.msg));

		rc = st < rc ? st : rc;
	}
	return rc;
}

/* Starts every waiting container whose dependencies are met, and gives up on those whose
 * dependencies can no longer be met (which may release or fail others: repeat). */
static void start_ready(struct sup *s)
{
	bool again = true;

	while (again) {
		again = false;
		for (size_t i = 0; i < s->t->n_containers; i++) {
			struct sup_ctr *r = &s->ctr[i];
			int st = r->waiting ? deps_state(s, r) : 0;

			if (st == 0)
				continue;
			r->waiting = false;
			again = true;
			if (st > 0) {
				start_container(s, r);
				continue;
			}
			r->failed = true;
			r->ce.err = 0;
			ctr_exited(s, r, 0);
		}
	}
}

/* Watches run_dir for ".healthy" files when some container waits for condition HEALTHY. */
static int watch_healthy(struct sup *s)
{
	bool need = false;

	for (size_t i = 0; i < s->t->n_containers; i++)
		for (size_t k = 0; k < s->t->containers[i].n_depends_on; k++)
			need |= s->t->containers[i].depends_on[k].condition == SPAWN_COND_HEALTHY;
	if (!need)
		return 0;
	s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ino_fd < 0 ||
	    inotify_add_watch(s->ino_fd, s->t->run_dir, IN_MOVED_TO | IN_CREATE) < 0)
		return -errno;
	return 0;
}

int spawn_warm_prepare(const char *stage_dir)
{
	struct sup s = { .sig_fd = -1 };
	const char *what;
	int rc;

	setsid();
	if (chdir("/") < 0)
		return -errno;
	umask(022);
	if ((rc = setup_signals(&s)) < 0)
		return rc;
	if (s.sig_fd != SPAWN_WARM_SIG_FD) {
		if (dup2(s.sig_fd, SPAWN_WARM_SIG_FD) < 0)
			return -errno;
		close(s.sig_fd);
		fcntl(SPAWN_WARM_SIG_FD, F_SETFD, FD_CLOEXEC);
	}
	if ((rc = new_namespaces(false, &what)) < 0 || (rc = fork_init(&s)) < 0)
		return rc;
	if (s.alive_fd != SPAWN_WARM_ALIVE_FD) {
		if (dup2(s.alive_fd, SPAWN_WARM_ALIVE_FD) < 0)
			return -errno;
		close(s.alive_fd);
		fcntl(SPAWN_WARM_ALIVE_FD, F_SETFD, FD_CLOEXEC);
	}
	spawn_warm_init = s.init_pid;
	return stage_dir ? spawn_warm_fork(stage_dir) : 0;
}

static void __attribute__((noreturn)) supervise(const struct spawn_task *t, int run_fd,
						 bool warm, const char *req, size_t req_len,
						 bool armed)
{
	struct sup s = { .t = t, .sig_fd = -1, .ino_fd = -1, .alive_fd = -1, .req = req,
			 .req_len = req_len, .armed = armed };
	struct pollfd *pfd;
	const char *what = "allocate memory";
	int rc;

	if (t->asked_mono_us && log_enabled(LOG_DEBUG))
		s.tr = &s.trace;
	spawn_trace_mark(s.tr, SPAWN_T_WAKE);
	s.log_max = t->log_max_bytes ? t->log_max_bytes : DEFAULT_LOG_BYTES;
	s.log_files = t->log_max_files ? t->log_max_files : DEFAULT_LOG_FILES;
	s.x = (struct spawn_child_ctx){ .t = t, .run_fd = RUN_FD };
	rc = setup_process(&s, run_fd, warm, &what);
	if (rc == 0)
		rc = setup_namespaces(&s, warm, &what);
	if (rc == 0 && (rc = watch_healthy(&s)) < 0)
		what = "watch the run directory";
	s.ctr = calloc(t->n_containers, sizeof(*s.ctr));
	pfd = calloc(2 + 2 * t->n_containers, sizeof(*pfd));
	if (rc == 0 && (!s.ctr || !pfd))
		rc = -ENOMEM;
	if (rc < 0)
		fail_task(&s, rc, what);
	for (size_t i = 0; i < t->n_containers; i++)
		s.ctr[i] = (struct sup_ctr){ .c = &t->containers[i], .err_fd = -1, .out_fd = -1,
					     .log_fd = -1, .exit_code = -1,
					     .waiting = t->containers[i].n_depends_on > 0 };
	for (size_t i = 0; i < t->n_containers; i++)
		if (!s.ctr[i].waiting)
			start_container(&s, &s.ctr[i]);
	start_ready(&s);
	spawn_trace_mark(s.tr, SPAWN_T_INIT_CG);
	run_loop(&s, pfd);
	finish(&s, pfd);
}

void spawn_supervise(const struct spawn_task *t, int run_fd)
{
	supervise(t, run_fd, false, NULL, 0, false);
}

void spawn_supervise_warm(const struct spawn_task *t, int run_fd, const char *req, size_t len,
			  bool armed)
{
	supervise(t, run_fd, true, req, len, armed);
}
