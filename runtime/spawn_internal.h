/* SPDX-License-Identifier: MIT */
/* spawn_internal.h: what the spawn*.c files share; not part of the spawn module's interface. */
#ifndef BERTH_SPAWN_INTERNAL_H
#define BERTH_SPAWN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/spawn.h"

#define SPAWN_TASK_DONE "task.done"
#define SPAWN_ETC_HOSTS "etc.hosts"
#define SPAWN_ETC_HOSTNAME "etc.hostname"
#define SPAWN_ETC_RESOLV "etc.resolv.conf"
#define SPAWN_START_ERROR "CannotStartContainerError"
#define SPAWN_HEALTHY_SUFFIX ".healthy"

/* What a container child sends on its close-on-exec pipe when it cannot exec. */
struct spawn_child_error {
	int err;
	char msg[400];
};

/* The steps of a launch, timed (CLOCK_MONOTONIC microseconds, 0: not reached) for the debug
 * log's breakdown of where a launch's time goes. The supervisor's steps, then one container's
 * (the child's own, recorded in a page it shares with the supervisor, then the supervisor's
 * view of its exec). */
enum spawn_step {
	SPAWN_T_WAKE,      /* the supervisor has the task (warm: read the request; cold: forked) */
	SPAWN_T_SUP_CG,    /* berth.init's cgroup.procs files opened */
	SPAWN_T_NS,        /* namespaces (cold only), hostname and /etc files */
	SPAWN_T_INIT_CG,   /* containers forked (berth.init is joined at the first exec) */
	SPAWN_T_FORK,      /* the container's process has its task (cold: forked; warm: read it) */
	SPAWN_T_CG,        /* it joined its cgroups */
	SPAWN_T_MNTNS,     /* its cgroup (and, cold, mount) namespace */
	SPAWN_T_OVERLAY,   /* the overlay root mounted */
	SPAWN_T_BASE,      /* /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys (warm: moved in) */
	SPAWN_T_DEVICES,   /* device nodes and links in /dev (cold only) */
	SPAWN_T_MASKED,    /* masked and read-only paths (cold only) */
	SPAWN_T_PIVOT,     /* pivot_root, the old root detached */
	SPAWN_T_ETC,       /* /etc files, working directory, read-only root */
	SPAWN_T_EXEC,      /* ulimits, user, stdio, capabilities done: execve() */
	SPAWN_T_SEEN,      /* the supervisor saw the exec (close-on-exec pipe at EOF) */
	SPAWN_T_STARTED,   /* "<container>.started" written */
	SPAWN_T_COUNT
};

struct spawn_trace {
	long long us[SPAWN_T_COUNT];
	/* The marking process's CPU time and time spent waiting for a CPU (microseconds, from
	 * /proc/thread-self/schedstat) at each step: wall time minus both is time asleep. */
	long long cpu[SPAWN_T_COUNT], runq[SPAWN_T_COUNT];
	/* The container process's own CPU and queued totals when its exec was seen (0: unknown):
	 * what its execve took, from its SPAWN_T_EXEC figures. */
	long long exec_cpu, exec_runq;
};

/* Reads this thread's schedstat into trace at step. */
void spawn_trace_sched(struct spawn_trace *trace, enum spawn_step step);

/* Reads the schedstat of pid (host pid: the supervisor's view) into trace's exec figures. */
void spawn_trace_exec(struct spawn_trace *trace, pid_t pid);

/* What a container child needs from the supervisor (fds are the supervisor's). */
struct spawn_child_ctx {
	const struct spawn_task *t;
	const struct spawn_container *c;
	int run_fd;        /* t->run_dir */
	int out_fd;        /* write end of the stdout/stderr pipe */
	int err_fd;        /* write end of the close-on-exec status pipe */
	bool cgroup2_root; /* host /sys/fs/cgroup is cgroup2: mount it in the container */
	bool have_hosts, have_hostname, have_resolv; /* etc.* files exist in run_dir */
	struct spawn_trace *trace; /* shared with the supervisor; NULL: not timed */
};

/* Writes "0" (the writer itself) to each cgroup.procs path of the NULL-terminated list procs
 * (may be NULL). Returns 0, or -errno and sets *failed to the path that failed. */
int spawn_cgroup_join(char *const *procs, const char **failed);

/* spawn_cgroup_join() with the absolute paths resolved under the directory dirfd (an old root
 * kept after pivot_root). */
int spawn_cgroup_join_at(int dirfd, char *const *procs, const char **failed);

/* Validates a task (logging what is wrong once). Returns 0 or -EINVAL. */
int spawn_check_task(const struct spawn_task *t);

/* setproctitle(): shows title as our command line (truncated to the space the original one
 * had) and comm as our name. */
void spawn_set_title(const char *title, const char *comm);

/* Reads numeric field (4 or more, as numbered in proc(5)) of /proc/<pid>/stat (pid 0: self),
 * and the state letter when state is not NULL. Returns 0, -ESRCH or -EBADMSG. */
int spawn_proc_stat(pid_t pid, int field, char *state, unsigned long long *val);

/* Sets every signal's disposition to SIG_DFL (the mask is left alone). */
void spawn_reset_signals(void);

/* Reports a container start error (err is a positive errno, 0 for none; appended to the
 * message as ": <strerror>") on x->err_fd and exits the child. */
void spawn_child_fail(const struct spawn_child_ctx *x, int err, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

/* The last steps in a container child, after its root is in place: ulimits, user, working
 * directory, stdio, capabilities, exec. Never returns. */
void spawn_child_finish(const struct spawn_child_ctx *x) __attribute__((noreturn));

/* Bounds capabilities to runc's default set, switches to uid/gid with the supplementary
 * groups, sets no_new_privs: async-signal-safe (vfork children use it). Returns 0, or -errno
 * with *what naming the step that failed. */
int spawn_drop_privileges(uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
			  const char **what);

/* Runs in the forked supervisor; never returns. run_fd is an open fd of t->run_dir. */
void spawn_supervise(const struct spawn_task *t, int run_fd) __attribute__((noreturn));


/* Warm supervisors: set up before their task is known (own session, signals, fresh uts, ipc,
 * pid and net namespaces with loopback up, and the namespace's init already forked), so that a
 * launch skips that work. Where the signalfd of a warm supervisor and the pipe its init watches
 * live; fds above them are closed when its task arrives. */
#define SPAWN_WARM_SIG_FD 4
#define SPAWN_WARM_ALIVE_FD 5
/* A warm supervisor's warm container child (see spawn_warm_prepare()): the pipe that hands it
 * its task, and the read ends of its output and close-on-exec status pipes. */
#define SPAWN_WARM_GO_FD 6
#define SPAWN_WARM_OUT_FD 7
#define SPAWN_WARM_ERR_FD 8
#define SPAWN_WARM_LAST_FD SPAWN_WARM_ERR_FD

/* In a fresh fork that holds no fd at or above SPAWN_WARM_SIG_FD that it needs (fd 3 may be
 * the run dir later): everything a supervisor does before it looks at its task, for a task
 * with its own network. With stage_dir (an existing empty directory; NULL: none) it also
 * forks a warm container child: pid 2 of the namespace, in a mount namespace of its own with
 * /proc, /dev and /sys staged under stage_dir (spawn_child_stage()), waiting for the task of
 * its first container. Returns 0 or -errno (then exit: the process is not usable). */
int spawn_warm_prepare(const char *stage_dir);

/* spawn_supervise() in a process prepared by spawn_warm_prepare(); t must not use the host
 * network; req (len bytes) is the task's request as received, handed on to the warm container
 * child; armed: the daemon sent t as the task its warm container's armed root was made for
 * (otherwise an armed container is ended and t's first container forked). Never returns. */
void spawn_supervise_warm(const struct spawn_task *t, int run_fd, const char *req, size_t len,
			  bool armed) __attribute__((noreturn));

/* What the supervisor sends a warm container child on SPAWN_WARM_GO_FD, followed by the
 * request (len bytes, the zygote's encoding), or with arm set by a struct spawn_arm. */
struct spawn_warm_go {
	uint32_t index;    /* the container it becomes */
	uint32_t len;
	uint8_t traced;    /* record the launch steps in the shared trace page */
	uint8_t have_hosts, have_hostname, have_resolv;
	uint8_t arm;       /* not a task: a struct spawn_arm follows (len is its size) */
	uint8_t armed;     /* the task is the one its armed root was made for */
};

/* A warm container's root made ahead for the likely next task ("armed"): the overlay of rootfs
 * (upper, work) mounted on merged, the staged /proc /dev /sys moved in, the run directory's
 * /etc files cloned, pivot_root done. Only the first container of a task with its own network
 * takes it, and only when the daemon renamed that tree into place as its directories. */
struct spawn_arm {
	char rootfs[4096], upper[4096], work[4096], merged[4096], run_dir[4096];
};

/* What an armed warm container keeps for its task: the old root (stacked on the new one until
 * the task comes, for the cgroup.procs paths) and the cloned /etc files (-1: none). */
struct spawn_armed {
	bool on;
	int old_root;
	int etc[3]; /* hosts, hostname, resolv.conf */
};

/* In a warm supervisor, before its task: has its warm container arm itself (struct spawn_arm)
 * and waits for the outcome. A container that cannot is ended: the task then gets one forked
 * as usual. Returns 0 or -errno. */
int spawn_warm_arm(const struct spawn_arm *a);

/* Header bits of the length word before a warm supervisor's message from the daemon: an arm
 * request (a struct spawn_arm follows), or a task that is the one its armed root was made
 * for. */
#define SPAWN_WARM_MSG_ARM   0x80000000u
#define SPAWN_WARM_MSG_ARMED 0x40000000u
#define SPAWN_WARM_MSG_LEN   0x3fffffffu

/* In a warm supervisor (spawn_warm_prepare()): forks its warm container process, which stages
 * its mounts (spawn_child_stage()) and waits for its task on SPAWN_WARM_GO_FD (a struct
 * spawn_warm_go and the request); SPAWN_WARM_OUT_FD and SPAWN_WARM_ERR_FD are the read ends of
 * its output and close-on-exec status pipes. Returns 0 (the process is kept for
 * spawn_warm_arm() and spawn_warm_hand()), or -errno (-EBADF: our fds are in disorder, do not
 * go on). */
int spawn_warm_fork(const char *stage_dir);

/* Hands the task (go, then req of go->len bytes) to the warm container process, which becomes
 * container go->index; armed_for_it: the task is the one an armed root was made for, and this
 * its first container (otherwise an armed process is ended). Returns its pid, with *trace the
 * shared trace page when go->traced (munmap() it), or 0 when there is none (or it is gone, or
 * armed for another): fork the container. */
pid_t spawn_warm_hand(struct spawn_warm_go *go, bool armed_for_it, const char *req,
		      struct spawn_trace **trace);

/* A task request decoded (spawn_zygote.c's encoding): t's strings point into buf, which the
 * caller malloc'd and sets; the arrays are in allocs. */
struct spawn_request {
	struct spawn_task t;
	char *buf;
	void **allocs;
	size_t n_allocs;
};

/* Decodes the len bytes at d->buf into d->t. Returns 0 or -EBADMSG/-ENOMEM. Free with
 * spawn_request_free() either way (it frees buf too). */
int spawn_request_decode(struct spawn_request *d, size_t len);
void spawn_request_free(struct spawn_request *d);

/* Runs in a forked container child: sets it up and execs; never returns. */
void spawn_child_exec(const struct spawn_child_ctx *x) __attribute__((noreturn));

/* Ahead of a task, in a warm container child: a mount namespace of its own (/ rslave) with a
 * private tmpfs on stage_dir holding /proc (of the current pid namespace), /dev with its nodes
 * and submounts, /sys, and runc's masked and read-only paths applied on them. Returns 0, or
 * -errno with what (size bytes) naming the step that failed. */
int spawn_child_stage(const char *stage_dir, char *what, size_t size);

/* spawn_child_exec() in a child staged by spawn_child_stage(): joins its cgroups, mounts the
 * overlay, moves the staged mounts under it, pivot_root, execs. Never returns. */
void spawn_child_exec_staged(const struct spawn_child_ctx *x, const char *stage_dir)
	__attribute__((noreturn));

/* In a child staged by spawn_child_stage(), before its task: mounts a's overlay, moves the
 * staged mounts under it, clones a's /etc files and pivots into it, keeping the old root
 * (stacked on the new one) in *out. Returns 0, or -errno with what naming the failed step
 * (the mount namespace is then in disorder: the process must end). */
int spawn_child_arm(const struct spawn_arm *a, const char *stage_dir, struct spawn_armed *out,
		    char *what, size_t size);

/* spawn_child_exec() in an armed child: joins its cgroups through the old root, detaches it,
 * mounts the cgroup2 view, attaches the /etc files, execs. Never returns. */
void spawn_child_exec_armed(const struct spawn_child_ctx *x, const struct spawn_armed *armed)
	__attribute__((noreturn));

/* Writes name in dirfd atomically (temp file + rename); durable adds fsync of the file and
 * the directory. Returns 0 or -errno. */
int spawn_put_file(int dirfd, const char *name, const char *data, size_t len, bool durable);

/* Writes name in dirfd in place (created or truncated), for files no one reads before they are
 * whole: a file that exists already (a spare task tree brings the /etc files empty) takes no
 * new inode. Returns 0 or -errno. */
int spawn_write_file(int dirfd, const char *name, const char *data, size_t len);

/* Status JSON texts, malloc'd (caller frees), NULL on allocation failure. restarts > 0 adds
 * "restartCount". */
char *spawn_json_started(pid_t pid, unsigned long long starttime, long long us, int restarts);
char *spawn_json_exit(pid_t pid, int wstatus, long long ms, int restarts); /* pid 0: no "pid" */
char *spawn_json_error(int err, const char *msg, long long ms);

/* Wall clock in milli- and microseconds since the epoch, and CLOCK_MONOTONIC in milliseconds. */
long long spawn_now_ms(void);
long long spawn_now_us(void);
long long spawn_mono_ms(void);
long long spawn_mono_us(void);

/* Records step now in trace (NULL: nothing). */
static inline void spawn_trace_mark(struct spawn_trace *trace, enum spawn_step step)
{
	if (!trace)
		return;
	trace->us[step] = spawn_mono_us();
	spawn_trace_sched(trace, step);
}

/* Copies a log chunk to the log file with rotation (see spawn.h). *fd and *size track the
 * open file (-1 when not open). Returns 0 or -errno (the chunk is then dropped). */
int spawn_log_write(const char *path, size_t max_bytes, int max_files, int *fd, size_t *size,
		    const char *data, size_t len);

/* Opens (appending) the log file at path; -1 and a warning on failure. */
int spawn_log_open(const char *path, size_t *size);

#endif
