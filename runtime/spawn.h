/* SPDX-License-Identifier: MIT */
/* spawn.h: starts the containers of one task as an isolated process tree under a task supervisor that outlives the daemon. */
#ifndef BERTH_SPAWN_H
#define BERTH_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/*
 * Process tree of one task (host view):
 *
 *   berthd
 *    └─ supervisor   ("berth-task", fork of berthd, no exec): own session, own uts/ipc(/net)
 *        │            namespaces; copies logs, writes status files, forwards signals
 *        ├─ init      pid 1 of the task's pid namespace ("berth-init"): reaps orphans; dies with
 *        │            the supervisor (PDEATHSIG), which tears the whole pid namespace down
 *        └─ container main processes (one per container), pids 2.. in the task's pid namespace,
 *                     each in its own mount namespace on an overlay rootfs
 *
 * The supervisor is a child of the caller: the caller must reap it (waitpid, or pidfd_open +
 * waitid(P_PIDFD)). If the caller dies, the supervisor is re-parented and keeps running; a
 * restarted caller finds it with spawn_init_alive() and learns everything from the status files.
 *
 * Status files, all in spawn_task.run_dir, each made visible by rename() (watch IN_MOVED_TO):
 *   "<container>.started"  {"pid":H,"starttime":S,"time":MS,"timeUs":US}  no fsync (cheap
 *                          RUNNING); US: MS in microseconds
 *   "<container>.exit"     {"pid":H,"exitCode":N,"time":MS}           normal exit
 *                          {"pid":H,"signal":N,"exitCode":128+N,"time":MS}  killed by a signal
 *                          {"error":"CannotStartContainerError","message":M,"errno":E,"time":MS}
 *                          (fsync'd file and directory)
 *   "<container>.restarted" {"pid":H,"exitCode":N,"time":MS,"restartCount":R}  the run that
 *                          just ended, when restartPolicy restarts the container (R: restarts so
 *                          far, including the one about to happen); a ".started" with
 *                          "restartCount":R follows. Not a final exit: the task goes on.
 *   "<container>.healthy"  written by the daemon (spawn_mark_healthy()) when the container's
 *                          health check turns HEALTHY; releases containers that depend on it
 *                          with condition HEALTHY. The supervisor removes it on a restart.
 *   "task.done"            written last, when every container is gone and the supervisor exits:
 *                          {"exitCode":0,"time":MS}, or the error form above when the task
 *                          could not be set up at all (then every container also gets that
 *                          error in its ".exit").
 * ".started" and the final ".exit" carry "restartCount":R once the container was restarted.
 * Only ".exit" is final: a container is stopped when its ".exit" exists, never on ".restarted".
 * A container whose dependsOn condition can no longer be met (a SUCCESS dependency exited
 * non-zero, a dependency exited before it started or became healthy, a dependency failed to
 * start, or the task was stopped first) never starts: its ".exit" is the error form with
 * message "dependency <name> ...".
 * H is the host pid, S its start time (clock ticks since boot, /proc/<pid>/stat field 22),
 * MS wall-clock milliseconds since the epoch. Names starting with '.' are temporary files and
 * "etc.*" files are generated /etc/hosts, /etc/hostname and /etc/resolv.conf; ignore both.
 * Container names are [A-Za-z0-9_-]{1,200} (no '.'), so they never collide with these.
 *
 * Logs: stdout and stderr of a container share one pipe and are copied raw to log_path,
 * rotated like logrotate (log_path, log_path.1, ... log_path.<log_max_files-1>); no file
 * grows past log_max_bytes.
 *
 * Security model (runc defaults): namespaces as above, capabilities bounded to runc's default set
 * (non-root users get none effective, like Docker), no_new_privs, masked and read-only /proc and
 * /sys paths, fresh /dev with null zero full random urandom tty created by mknod. Device access
 * control (v1 devices cgroup or a v2 device program) and seccomp are not applied here.
 */

/* One resource limit. name is one of core cpu data fsize locks memlock msgqueue nice nofile
 * nproc rss rtprio rttime sigpending stack; RLIM_INFINITY means unlimited; soft <= hard. */
struct spawn_ulimit {
	const char *name;
	rlim_t soft;
	rlim_t hard;
};

/* dependsOn conditions (ECS): START: the dependency has been exec'd; COMPLETE: it exited
 * (any code); SUCCESS: it exited 0; HEALTHY: the daemon wrote "<dependency>.healthy". */
enum spawn_condition {
	SPAWN_COND_START,
	SPAWN_COND_COMPLETE,
	SPAWN_COND_SUCCESS,
	SPAWN_COND_HEALTHY,
};

struct spawn_dependency {
	size_t index;              /* into spawn_task.containers; no cycles, not itself */
	enum spawn_condition condition;
};

/* One container. Every pointer is caller-owned and only read during spawn_task_start(). */
struct spawn_container {
	const char *name;          /* [A-Za-z0-9_-]{1,200}, unique in the task */
	const char *rootfs;        /* image rootfs, read-only lower layer; may be a ':' stack */
	const char *upper_dir;     /* overlay upper dir (the task's writable layer), absolute */
	const char *work_dir;      /* overlay work dir, same filesystem as upper_dir */
	const char *merged_dir;    /* existing empty directory the overlay is mounted on */
	char *const *argv;         /* command, argv[0] resolved via the container's PATH */
	char *const *envp;         /* NULL-terminated "K=V" list; may be NULL. PATH, HOME and
	                            * HOSTNAME are added when missing, as Docker does */
	const char *cwd;           /* absolute, NULL for "/"; created when missing */
	const char *user;          /* "uid", "uid:gid", "name", "name:group" (container's
	                            * /etc/passwd and /etc/group), NULL for root */
	bool readonly_rootfs;
	const struct spawn_ulimit *ulimits;
	size_t n_ulimits;
	char *const *cgroup_procs; /* NULL-terminated cgroup.procs paths to join, may be NULL.
	                            * Must be this container's own cgroups: their remaining
	                            * processes are killed when the main process exits */
	const char *log_path;      /* NULL discards the output */
	int stop_timeout;          /* seconds from SIGTERM to SIGKILL; <= 0 means 30 */
	/* dependsOn: started once every condition holds; stopped (SIGTERM) only after every
	 * container depending on it has exited. Containers without dependencies start at once,
	 * in parallel. */
	const struct spawn_dependency *depends_on;
	size_t n_depends_on;       /* 0..64 */
	/* restartPolicy: restarted in place (same namespaces, upper dir and log file) when it
	 * exits with a code (128+N for signal N) not in ignored_exit_codes, after running at
	 * least restart_attempt_ms since its last (re)start, unless the task is stopping. */
	bool restart_enabled;
	const int *ignored_exit_codes;
	size_t n_ignored_exit_codes; /* 0..64 */
	long long restart_attempt_ms; /* ECS restartAttemptPeriod x 1000; >= 0 */
};

struct spawn_task {
	const char *task_id;       /* for process titles and messages */
	const char *hostname;      /* NULL keeps the host's name (ECS host network mode) */
	bool host_network;         /* share the host's network namespace */
	const char *run_dir;       /* existing host directory for status files */
	char *const *init_cgroup_procs; /* cgroup.procs paths for supervisor and init, may be NULL */
	const struct spawn_container *containers;
	size_t n_containers;       /* 1..64 */
	size_t log_max_bytes;      /* 0 means 10 MiB */
	int log_max_files;         /* files kept including the current one; 0 means 3 */
	long long asked_mono_us;   /* CLOCK_MONOTONIC microseconds when the launch was asked
	                            * for, 0 if unknown: the debug log then times each step of
	                            * the launch from it */
	char *const *cpu_weight_files; /* CPU weight files of the task cgroup and its ancestors,
	                                * boosted for the launch (cgroup_weight_boost()), or NULL */
	const char *cpu_weight_normal; /* what the supervisor writes to each once no container
	                                * is between fork and exec */
	uint64_t warm_key;         /* a warm supervisor whose first container made its root
	                            * ahead for this task (spawn_zygote_arm()), 0: none */
};

struct spawn_result {
	pid_t init_pid;                    /* the supervisor's host pid */
	unsigned long long init_starttime; /* its /proc start time, to detect pid reuse */
};

/* Validates t and forks the task supervisor, which sets up namespaces and starts every
 * container in parallel; progress is reported through the status files. Returns 0 and fills
 * res, or -EINVAL (bad t, logged naming the field), -ENOENT (run_dir missing) or another -errno
 * from fork; on error no process was started. Failures after the fork (a missing command, a
 * bad user, a failed mount) are reported in "<container>.exit". Nothing to free. */
int spawn_task_start(const struct spawn_task *t, struct spawn_result *res);

/*
 * The zygote: a small process forked from the daemon early (before its heap grows) that forks
 * task supervisors on the daemon's behalf. Why: a supervisor forked from the daemon itself
 * shares the daemon's whole memory copy-on-write for as long as the task runs, so every page
 * the daemon writes afterwards is duplicated once per running task (1000 tasks x 20 MiB of
 * heap churn = 20 GB), and each fork copies the daemon's page tables on its event loop.
 * Forked from the zygote, a supervisor pins only the zygote's few pages.
 */
struct spawn_zygote;

/* Forks the zygote. It ends when freed or when the caller dies (PDEATHSIG); supervisors it
 * started keep running either way. Returns 0 and *out (free with spawn_zygote_free()), or
 * -errno. */
int spawn_zygote_start(struct spawn_zygote **out);

/* spawn_zygote_start() with a pool of up to 64 warm supervisors: forked ahead, each already in
 * its own session with fresh uts, ipc, pid and net namespaces (loopback up), waiting for a
 * task. The zygote offers each to the caller (its socket, pid and start time), which writes
 * a task that does not use the host network straight to the oldest live one: a fork, the
 * namespace setup and the zygote's round trip leave its launch; the zygote forks a
 * replacement shortly after (20 ms without a further request). Warm supervisors end with the
 * zygote (and the caller). pool 0: none. With stage_dir (an
 * existing empty directory that stays; NULL: none), each warm supervisor also forks its first
 * container's process ahead, with its mount namespace and its /proc, /dev and /sys (masked
 * and read-only paths applied) staged on a private tmpfs over stage_dir: at launch it only
 * joins its cgroups, mounts the overlay, moves them in, pivots and execs. */
int spawn_zygote_start_pool(struct spawn_zygote **out, int pool, const char *stage_dir);

/* spawn_task_start() through the zygote: same validation, result and errors, plus -EPIPE when
 * the zygote is gone (start a new one). Without a warm supervisor, blocks for the zygote's
 * fork (well under 1 ms on an idle host). The supervisor is not the caller's child: the zygote (or init) reaps it, so
 * watch it with pidfd_open() checked by spawn_init_alive(), and the status files. */
int spawn_zygote_task_start(struct spawn_zygote *z, const struct spawn_task *t,
			    struct spawn_result *res);

/* Has a warm supervisor's container make its root ahead ("arm"), for a task whose first
 * container will be an overlay of rootfs with these upper, work and merged directories and
 * whose run directory is run_dir (paths as they are now: the caller may rename the tree that
 * holds them before the task comes). The caller then gives that task warm_key = *key, which
 * sends it to that supervisor; any other task takes an unarmed one first, or ends an armed
 * one's container and has its first container forked. The arming itself is the warm process's
 * work, at the daemon's priority, and not waited for: one that fails leaves its supervisor
 * without a warm container. Returns 0, -ENOENT when every warm supervisor offered so far is
 * armed (none, or no zygote), or another -errno. */
int spawn_zygote_arm(struct spawn_zygote *z, const char *rootfs, const char *upper,
		     const char *work, const char *merged, const char *run_dir, uint64_t *key);

/* How many warm supervisors offered so far are not armed. */
int spawn_zygote_unarmed(struct spawn_zygote *z);

/* True while the warm supervisor armed with key waits, alive, for its task. */
bool spawn_zygote_armed(struct spawn_zygote *z, uint64_t key);

/* Ends the warm supervisor armed with key, if it still waits (the zygote forks another). */
void spawn_zygote_disarm(struct spawn_zygote *z, uint64_t key);

/* The zygote's pid (the caller's child), e.g. to notice its death. */
pid_t spawn_zygote_pid(const struct spawn_zygote *z);

/* Ends the zygote (running tasks are unaffected) and reaps it. NULL is a no-op. */
void spawn_zygote_free(struct spawn_zygote *z);

/* Sends SIGTERM to the supervisor if pid still is the process started at starttime: it
 * forwards SIGTERM to every container and SIGKILLs each after its stop_timeout, even if the
 * caller dies meanwhile. Returns 0, or -ESRCH when that process is gone. */
int spawn_task_stop(pid_t pid, unsigned long long starttime);

/* Like spawn_task_stop() with any signal (SIGKILL kills the whole task at once, but then no
 * status files are written). Returns 0, -ESRCH or -EINVAL. */
int spawn_task_signal(pid_t pid, unsigned long long starttime, int sig);

/* True when pid is alive (not a zombie) and started at starttime. */
bool spawn_init_alive(pid_t pid, unsigned long long starttime);

/* Reads the start time of pid from /proc/<pid>/stat. Returns 0, or -ESRCH / -EBADMSG. */
int spawn_proc_starttime(pid_t pid, unsigned long long *starttime);

enum spawn_state {
	SPAWN_STATE_PENDING, /* no status file yet */
	SPAWN_STATE_RUNNING, /* ".started" only */
	SPAWN_STATE_EXITED,  /* ".exit" (or "task.done") present */
};

struct spawn_status {
	enum spawn_state state;
	pid_t pid;                    /* host pid of the main process, 0 when unknown */
	unsigned long long starttime; /* its start time */
	long long started_ms;         /* wall clock at exec, 0 when unknown */
	long long started_us;         /* the same in microseconds ("timeUs"), 0 when unknown */
	long long exited_ms;          /* wall clock at exit, 0 when unknown */
	int restart_count;            /* restarts by restartPolicy so far (RestartCount) */
	int exit_code;                /* -1 when there is none (start error) */
	int signal;                   /* terminating signal, 0 if none */
	int error_errno;              /* errno of a start error, 0 if none */
	char error[64];               /* "CannotStartContainerError" or "" */
	char message[512];            /* human-readable start error, or "" */
};

/* Reads the status of container (NULL: the task, from "task.done") in run_dir into *st.
 * Returns 0 (state PENDING when nothing was written yet), -EBADMSG for a malformed file, or
 * another -errno from reading. *st is overwritten in every case. */
int spawn_read_status(const char *run_dir, const char *container, struct spawn_status *st);

/* Merges one status file's JSON text (len bytes, need not be NUL-terminated) into *st; fields
 * absent from the text are left alone. Returns 0 or -EBADMSG. */
int spawn_parse_status(const char *json, size_t len, struct spawn_status *st);

enum spawn_file {
	SPAWN_FILE_OTHER,     /* temporary, generated or foreign file */
	SPAWN_FILE_STARTED,   /* "<container>.started" */
	SPAWN_FILE_EXIT,      /* "<container>.exit" */
	SPAWN_FILE_TASK_DONE, /* "task.done" */
	SPAWN_FILE_RESTARTED, /* "<container>.restarted": not a final exit */
	SPAWN_FILE_HEALTHY,   /* "<container>.healthy" (written by the daemon) */
};

/* Classifies a file name seen in run_dir (e.g. from inotify); for container files copies the
 * container name into name (size bytes, NUL-terminated; may be NULL). */
enum spawn_file spawn_classify_file(const char *filename, char *name, size_t size);

/* Tells the supervisor of the task in run_dir that container's health check turned HEALTHY
 * (rename of "<container>.healthy"), releasing containers that depend on it with
 * condition HEALTHY. Not fsync'd (a lost file only delays dependents until the next HEALTHY
 * transition is marked again). Idempotent; call it on every transition to HEALTHY. Returns 0,
 * -EINVAL (bad name) or -errno from writing. Nothing to free. */
int spawn_mark_healthy(const char *run_dir, const char *container);

/* Maps a ulimit name ("nofile") to its RLIMIT_* constant, or -EINVAL. */
int spawn_ulimit_resource(const char *name);

/* Launches run at a higher priority than the daemon's (nice - SPAWN_LAUNCH_BOOST) from the
 * zygote's wake-up to the container's exec: on a busy host most of a launch is waiting for a
 * CPU at each hand-over between processes. Containers never keep it: the child returns to the
 * daemon's nice before exec, init at once, the supervisor once its containers have exec'd. */
#define SPAWN_LAUNCH_BOOST 10

/* Raises this process's priority for launches (the zygote, at start); the nice value before
 * is what spawn_launch_unboost() returns to in this process and its forks (0, or -errno when
 * it could not: a container must then not start). Raising the nice value is never refused by
 * RLIMIT_NICE or a change of user, so a container child returns to it last, just before its
 * exec, and waits for a CPU at the boosted priority until then. */
void spawn_launch_boost(void);
int spawn_launch_unboost(void);

/* Warm supervisors are prepared ahead at the daemon's own priority, so that a refill of the
 * pool yields to a launch (boosted) for a CPU, yet still gets its share on a busy host; they
 * return to the launch priority when their task arrives. Both do nothing when the zygote
 * could not raise its priority. */
void spawn_launch_idle(void);
void spawn_launch_reboost(void);
/* What spawn_launch_boost() left in this process (true: boosted, *base_nice the value to
 * return to), and the same set again in a program it execs (berth-warm). */
bool spawn_launch_state(int *base_nice);
void spawn_launch_restore(bool boosted, int base_nice);

/* The warm container program (berth-warm, built beside berthd): warm containers exec it ahead,
 * so that the container's own exec tears down a small address space. Set before the zygote
 * starts; NULL (the default): warm containers stay forks of their supervisor. */
void spawn_warm_set_program(const char *path);

/* berth-warm's main(): argv is what spawn_warm_fork() gives it. */
int spawn_warm_main(int argc, char **argv);

/* berthd's own part of a launch uses the same pair on its event loop's thread (Linux's
 * setpriority() on 0 is per thread), and unboosts before any fork. */

#endif
