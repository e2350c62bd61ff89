/* SPDX-License-Identifier: MIT */
/* runtime.h: the ECS model (clusters, task definitions, tasks) and its lifecycle on this host. */
#ifndef BERTH_RUNTIME_H
#define BERTH_RUNTIME_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/config.h"
#include "common/loop.h"
#include "common/util.h"
#include "runtime/cgroup.h"
#include "runtime/image.h"

struct taskdef;
struct spawn_zygote;
struct rt_services;
struct rt_check;

#define RT_INIT_CGROUP "berth.init" /* has a '.', so no container can be called that */
#define RT_TASK_PIDS_MAX 4096

/* A task's cgroups made ahead (runtime/cgpool.c): the task cgroup with its pids limit and device
 * rules, berth.init, and one cgroup per container of the task definition td (no limits yet),
 * all under a task id drawn ahead. */
#define RT_CGPOOL_MAX 4
struct rt_cgpool_entry {
	char id[33];
	const struct taskdef *td;
};

struct rt_cluster {
	char name[256];
	char arn[512];
	char status[16];              /* ACTIVE, INACTIVE */
	double created_at;
	json_t *tags;                 /* [{key, value}] */
	json_t *settings;             /* [{name, value}] */
	json_t *configuration;        /* kept verbatim */
	json_t *capacity_providers;   /* ["FARGATE", "FARGATE_SPOT"] associated (capacity.c) */
	json_t *default_strategy;     /* [{capacityProvider, weight, base}] */
	struct rt_cgpool_entry cgpool[RT_CGPOOL_MAX]; /* ready: [0..cgpool_n) */
	int cgpool_n;
	const struct taskdef *cgpool_td; /* the task definition launched last: the pool's */
	struct rt_cluster *next;
};

struct rt_family {
	char name[256];
	struct taskdef **revisions;   /* index revision-1 */
	int n_revisions;
	json_t *tags;                 /* per revision tags live in revision_tags */
	json_t *revision_tags;        /* object: "rev" -> [{key, value}] */
	struct rt_family *next;
};

struct rt_container {
	char name[256];
	char image[512];
	char image_digest[80];
	char runtime_id[80];
	char uuid[40];                /* the id in containerArn */
	char last_status[16];         /* PENDING, RUNNING, STOPPED */
	char reason[512];
	bool essential;
	bool has_exit_code;
	int exit_code;
	int cpu;
	int memory;
	int memory_reservation;
	pid_t pid;                    /* host pid of the main process, 0 when unknown */
	char health_status[16];       /* HEALTHY, UNHEALTHY, UNKNOWN */
	int restart_count;            /* restarts in place by restartPolicy */
	struct rt_check *check;       /* its running health check, or NULL */
	bool oom_seen;                /* the kernel OOM-killed one of its processes (rt_exec_oom_kill) */
};

struct rt_task {
	char id[40];
	char arn[600];
	char cluster[256];
	char cluster_arn[512];
	char taskdef_arn[600];
	struct taskdef *td;           /* borrowed from the registry */
	json_t *overrides;            /* the RunTask overrides, as sent */
	json_t *tags;
	char last_status[24];
	char desired_status[16];
	char started_by[160];
	char group[300];
	char launch_type[16];
	char capacity_provider[32];   /* FARGATE or FARGATE_SPOT when placed by a strategy */
	char cpu[16];
	char memory[16];
	char stop_code[48];
	char stopped_reason[512];
	char health_status[16];
	double created_at, pull_started_at, pull_stopped_at, started_at, stopping_at;
	double execution_stopped_at, stopped_at, connectivity_at;
	long version;
	struct rt_container *containers;
	size_t n_containers;
	/* Executor state. */
	pid_t init_pid;
	unsigned long long init_start;
	int watch;                    /* inotify watch descriptor, -1 when none */
	long long launch_us;          /* CLOCK_MONOTONIC us of its launch (debug log), 0: none */
	double exec_at;               /* wall clock of its last container's exec as its supervisor
	                               * saw it (0: unknown): startedAt, the task running then */
	bool pid_watched;             /* pid_io watches a pidfd of the supervisor */
	struct loop_io pid_io;
	bool oom_killed;
	bool cgroup_left;             /* removal failed (supervisor still exiting): retried */
	bool cgroups_ahead;           /* its cgroups were made ahead (rt_cgpool_take) */
	bool svc_counted;             /* its end was counted by its service (breaker, throttle) */
	struct rt_task *next;
};

struct runtime;
/* Told of every task state change (services, collector and alarms hook in here). */
typedef void (*rt_task_listener)(struct runtime *rt, struct rt_task *t, void *data);

/* Task directory trees made ahead (runtime/spare.c). */
#define RT_SPARE_MAX 64
struct rt_spares {
	struct loop_timer timer;      /* refills */
	bool timer_on;
	unsigned want;                /* launch_pool_size, at most RT_SPARE_MAX */
	unsigned next;                /* name of the next tree made */
	unsigned n;                   /* ready: ids[0..n) */
	unsigned ids[RT_SPARE_MAX];
	int64_t retry_at_ms;          /* after a failure, no tree is made before this */
	/* Trees a warm container made its root on ahead (spawn_zygote_arm()), for arm_root: the
	 * first container's image of the last launch with its own network. */
	char arm_root[4096];
	ino_t arm_ino;                /* and its identity, for an image removed and imported again */
	dev_t arm_dev;
	unsigned arm_gen;             /* counts changes of arm_root */
	unsigned arm_waits;           /* turns spent waiting for a warm supervisor to arm */
	unsigned n_armed;
	struct rt_armed {
		unsigned tree;
		unsigned gen;         /* arm_gen when armed: another is stale */
		uint64_t key;
	} armed[RT_SPARE_MAX];
};

struct runtime {
	const struct config *cfg;
	struct loop *loop;
	struct cgroup_env cg;
	struct image_store images;
	bool images_open;
	char state_dir[512];
	char tasks_dir[512];
	char stage_dir[520];  /* tasks_dir/.stage: warm containers stage their mounts on it */
	char log_dir[512];
	char images_dir[512];
	struct rt_cluster *clusters;
	struct rt_family *families;
	struct rt_task *tasks;
	size_t n_tasks;
	struct spawn_zygote *zygote;  /* forks task supervisors; NULL: fork from berthd */
	struct rt_spares spares;
	int inotify_fd;
	struct loop_io inotify_io;
	struct loop_timer tick;
	rt_task_listener listener;
	void *listener_data;
	struct rt_services *services; /* the service scheduler, when running */
	/* Set by the service scheduler so clusters can count and refuse deletion. */
	bool (*cluster_has_services)(struct runtime *rt, const struct rt_cluster *c);
	int (*cluster_service_count)(struct runtime *rt, const struct rt_cluster *c);
	/* Set by the service scheduler for service ARNs. */
	json_t *(*resource_tags_hook)(struct runtime *rt, const char *arn);
	int (*resource_save_hook)(struct runtime *rt, const char *arn);
	/* Told when a task's cgroups exist, before its processes start (up), and just before they
	 * are removed (!up); rel is the task cgroup. NULL = nobody (the eBPF probes set it). */
	void (*cgroup_hook)(struct runtime *rt, struct rt_task *t, const char *rel, bool up);
	void *cgroup_hook_data;
};

/* Detects cgroups, opens the image store, loads state and re-adopts surviving tasks.
 * Returns 0 or -errno (logged); on error rt is closed. */
int rt_init(struct runtime *rt, const struct config *cfg, struct loop *loop);
/* Releases memory; running tasks keep running (they are re-adopted on the next start). */
void rt_close(struct runtime *rt);

/* Clusters. Names or ARNs are accepted wherever a cluster is named; NULL = "default". */
struct rt_cluster *rt_cluster_find(struct runtime *rt, const char *name_or_arn);
int rt_cluster_create(struct runtime *rt, const char *name, json_t *tags, json_t *settings,
		      json_t *configuration, struct rt_cluster **out, struct berr *e);
int rt_cluster_delete(struct runtime *rt, struct rt_cluster *c, struct berr *e);
/* Tasks in the cluster by status, for DescribeClusters counts. */
void rt_cluster_counts(struct runtime *rt, const struct rt_cluster *c, int *running,
		       int *pending);
/* New reference the caller releases. */
json_t *rt_cluster_json(struct runtime *rt, const struct rt_cluster *c, bool with_tags,
			bool with_settings);

/* Task definitions. */
int rt_taskdef_register(struct runtime *rt, const json_t *request, struct taskdef **out,
			struct berr *e);
/* "family", "family:revision" or an ARN; "family" means the latest ACTIVE revision. */
struct taskdef *rt_taskdef_find(struct runtime *rt, const char *ref, struct berr *e);
int rt_taskdef_deregister(struct runtime *rt, struct taskdef *td, struct berr *e);
/* Borrowed tags array of a task definition revision (created empty on demand). */
json_t *rt_taskdef_tags(struct runtime *rt, const struct taskdef *td);

/* Tasks. */
struct rt_task *rt_task_find(struct runtime *rt, const struct rt_cluster *c, const char *id_or_arn);
/* Starts count tasks; *out (caller frees the array, not the tasks) gets the created ones.
 * Tasks that fail to start are returned too, STOPPED with their reason. */
/* Capacity providers (capacity.c). rt_capacity_set associates providers and a default strategy
 * with a cluster (CreateCluster, PutClusterCapacityProviders) and saves it; rt_capacity_check
 * validates a RunTask/CreateService strategy against the cluster's providers;
 * rt_capacity_pick names the provider of the next task, given how many tasks each of the
 * strategy's items holds (have[i], counted up). */
int rt_capacity_set(struct runtime *rt, struct rt_cluster *c, json_t *providers,
		    json_t *strategy, struct berr *e);
int rt_capacity_check(const struct rt_cluster *c, const json_t *strategy, struct berr *e);
const char *rt_capacity_pick(const json_t *strategy, int *have);

/* providers: NULL, or one capacity provider name per task (rt_capacity_pick). */
int rt_task_run(struct runtime *rt, struct rt_cluster *c, struct taskdef *td,
		const json_t *overrides, const char *started_by, const char *group,
		json_t *tags, const char *launch_type, const char *const *providers, int count,
		struct rt_task ***out, struct berr *e);
/* Asks a task to stop (SIGTERM, then SIGKILL after its stopTimeout). */
int rt_task_stop(struct runtime *rt, struct rt_task *t, const char *stop_code,
		 const char *reason);
/* New reference: the ECS Task shape. */
json_t *rt_task_json(struct runtime *rt, const struct rt_task *t, bool with_tags);
/* The task's log file for a container (NULL = the first container), into out. */
int rt_task_log_path(struct runtime *rt, const struct rt_task *t, const char *container,
		     char *out, size_t len);

/* Tags by ARN: the borrowed [{key,value}] array of a cluster, task or task definition, or
 * NULL with e filled; after changing it call rt_resource_save. */
json_t *rt_resource_tags(struct runtime *rt, const char *arn, struct berr *e);
int rt_resource_save(struct runtime *rt, const char *arn);

/* Persistence (runtime/state.c). */
int rt_state_save_cluster(struct runtime *rt, const struct rt_cluster *c);
int rt_state_save_taskdef(struct runtime *rt, const struct taskdef *td);
int rt_state_save_task(struct runtime *rt, const struct rt_task *t);
int rt_state_remove_task(struct runtime *rt, const struct rt_task *t);
int rt_state_load(struct runtime *rt);

/* Executor (runtime/executor.c). */
int rt_exec_init(struct runtime *rt);
void rt_exec_close(struct runtime *rt);
/* Launches a PROVISIONING task; on failure the task is STOPPED with the reason. */
void rt_exec_start(struct runtime *rt, struct rt_task *t);
int rt_exec_stop(struct runtime *rt, struct rt_task *t);
/* Re-attaches a task loaded from state to its cgroup and status files. */
void rt_exec_adopt(struct runtime *rt, struct rt_task *t);
/* Spare task directory trees: made ahead on the loop (launch_pool_size of them), removed at
 * close; rt_spare_take moves one into place as t's run, log and first container's overlay
 * directories, its upper layer's /etc fitted to the first container's image (image_root) and
 * network mode: 0, or -errno when none is ready or it failed (logged; the caller makes them).
 * Some trees are armed: a warm supervisor's container has mounted image_root over it and
 * pivoted into it ahead, for the image launched last; a task of that image takes one, with
 * *warm_key set for spawn_task.warm_key (else 0). */
/* Task cgroups made ahead per cluster, for the task definition the cluster launched last
 * (launch_pool_size of them at most, RT_CGPOOL_MAX): rt_cgpool_take gives t (of cluster c,
 * definition td) the id of a ready set and marks it cgroups_ahead; false when none fits.
 * rt_cgpool_drop removes a cluster's sets (deleted cluster, close). */
bool rt_cgpool_take(struct runtime *rt, struct rt_cluster *c, const struct taskdef *td,
		    struct rt_task *t);
/* Makes one set for each cluster short of them; true while some cluster wants more. */
bool rt_cgpool_refill(struct runtime *rt);
void rt_cgpool_drop(struct runtime *rt, struct rt_cluster *c);
int rt_spare_init(struct runtime *rt);
/* Has the spare trees and cgroup sets refilled soon (after a launch). */
void rt_spare_kick(struct runtime *rt);
void rt_spare_close(struct runtime *rt);
int rt_spare_take(struct runtime *rt, const struct rt_task *t, const char *image_root,
		  bool host_network, uint64_t *warm_key);
/* Reads the status files of a task and moves its lifecycle on. */
void rt_exec_poll(struct runtime *rt, struct rt_task *t);
/* The kernel OOM-killed a process of container i of t (told by the eBPF probe as it happens):
 * when the container's main process ends by SIGKILL, the task stops with OutOfMemoryError
 * without waiting for the cgroup's counters. */
void rt_exec_oom_kill(struct runtime *rt, struct rt_task *t, size_t i, pid_t pid);

/* Internal helpers shared by the runtime's files. */
void rt_task_set_status(struct runtime *rt, struct rt_task *t, const char *status);
void rt_task_finish(struct runtime *rt, struct rt_task *t);
/* Saves the task and tells the listener (health changes and the like). */
void rt_task_changed(struct runtime *rt, struct rt_task *t);
void rt_task_expire(struct runtime *rt);
void rt_task_free_all(struct runtime *rt);
const char *rt_taskdef_arn(const struct taskdef *td);
/* Loaders for state files (registry.c, task.c); path is for messages. */
void rt_registry_load(struct runtime *rt, json_t *o, const char *path);
void rt_task_load(struct runtime *rt, json_t *o, const char *path);

#endif
