/* SPDX-License-Identifier: MIT */
/* taskdef.h: ECS task definitions: validation, the normalised document, RunTask overrides. */
#ifndef BERTH_RUNTIME_TASKDEF_H
#define BERTH_RUNTIME_TASKDEF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define TASKDEF_MAX_CONTAINERS 10   /* AWS quota: containers per task definition */

/* Why a request was refused: the AWS `__type` and a message that names the field. */
struct taskdef_error {
	char type[64];      /* "ClientException", "InvalidParameterException" ("ServerException"
			     * when memory ran out) */
	char message[512];
};

enum taskdef_network_mode {
	TASKDEF_NETWORK_BRIDGE,     /* the default */
	TASKDEF_NETWORK_NONE,
	TASKDEF_NETWORK_AWSVPC,
	TASKDEF_NETWORK_HOST,
};

enum taskdef_status {
	TASKDEF_STATUS_ACTIVE,
	TASKDEF_STATUS_INACTIVE,
	TASKDEF_STATUS_DELETE_IN_PROGRESS,
};

/* pidMode / ipcMode. */
enum taskdef_ns_mode {
	TASKDEF_NS_UNSET,           /* not given: a namespace of the container's own */
	TASKDEF_NS_HOST,
	TASKDEF_NS_TASK,            /* shared by the containers of the task */
	TASKDEF_NS_NONE,            /* ipcMode only */
};

/* requiresCompatibilities, as bits. */
enum {
	TASKDEF_COMPAT_EC2 = 1 << 0,
	TASKDEF_COMPAT_FARGATE = 1 << 1,
	TASKDEF_COMPAT_EXTERNAL = 1 << 2,
	TASKDEF_COMPAT_MANAGED_INSTANCES = 1 << 3,
};

enum taskdef_condition {
	TASKDEF_COND_START,
	TASKDEF_COND_COMPLETE,
	TASKDEF_COND_SUCCESS,
	TASKDEF_COND_HEALTHY,
};

enum taskdef_protocol { TASKDEF_PROTO_TCP, TASKDEF_PROTO_UDP };

enum taskdef_health_kind {
	TASKDEF_HEALTH_NONE,        /* no healthCheck */
	TASKDEF_HEALTH_CMD,         /* exec command[] */
	TASKDEF_HEALTH_CMD_SHELL,   /* /bin/sh -c shell */
};

/* Strings marked "borrowed" point into the owning object's JSON document and live as long
 * as that object (struct taskdef or struct task_overrides). */
struct taskdef_kv {
	const char *name;           /* borrowed, non-empty, no '=' */
	const char *value;          /* borrowed, "" when not given */
};

struct taskdef_tag {
	const char *key;            /* borrowed */
	const char *value;          /* borrowed */
};

struct taskdef_port {
	int container_port;         /* 1..65535 */
	int host_port;              /* 0 = dynamic (bridge); equals container_port in awsvpc/host */
	enum taskdef_protocol protocol;
	const char *name;           /* borrowed, NULL when not given */
};

struct taskdef_ulimit {
	const char *name;           /* borrowed: "nofile", ... */
	int resource;               /* RLIMIT_* for setrlimit/prlimit */
	long long soft;
	long long hard;             /* soft <= hard */
};

struct taskdef_dependency {
	const char *container_name; /* borrowed */
	size_t index;               /* into taskdef.containers */
	enum taskdef_condition condition;
};

struct taskdef_health_check {
	enum taskdef_health_kind kind;
	const char **command;       /* CMD: argv, NULL-terminated (array owned, strings borrowed) */
	size_t n_command;
	char *shell;                /* CMD-SHELL: the script (elements joined by spaces), owned */
	int interval;               /* seconds, 5..300, default 30 */
	int timeout;                /* 2..60, default 5 */
	int retries;                /* 1..10, default 3 */
	int start_period;           /* 0..300, default 0 (off) */
};

struct taskdef_restart_policy {
	bool enabled;
	int *ignored_exit_codes;    /* owned */
	size_t n_ignored_exit_codes;
	int restart_attempt_period; /* seconds, 60..1800, default 300 */
};

struct taskdef_container {
	const char *name;           /* borrowed */
	const char *image;          /* borrowed: repo[:tag][@sha256:...] */
	const char **command;       /* NULL-terminated or NULL when not given (array owned) */
	size_t n_command;
	const char **entry_point;   /* same */
	size_t n_entry_point;
	struct taskdef_kv *environment; /* owned array */
	size_t n_environment;
	bool essential;             /* default true */
	int cpu;                    /* units (relative weight), 0 = unset */
	int memory;                 /* hard limit MiB, 0 = unset */
	int memory_reservation;     /* soft limit MiB, 0 = unset */
	struct taskdef_port *ports; /* owned array */
	size_t n_ports;
	int stop_timeout;           /* seconds, 2..120, default 30 */
	int start_timeout;          /* seconds, 0 = unset */
	const char *working_directory; /* borrowed or NULL */
	const char *user;           /* borrowed or NULL */
	struct taskdef_ulimit *ulimits; /* owned array */
	size_t n_ulimits;
	bool readonly_root_filesystem;
	bool privileged;            /* accepted and kept; the executor decides what it allows */
	bool init_process_enabled;  /* linuxParameters.initProcessEnabled */
	struct taskdef_dependency *depends_on; /* owned array */
	size_t n_depends_on;
	struct taskdef_health_check health;
	bool has_restart_policy;
	struct taskdef_restart_policy restart;
};

struct taskdef {
	const char *family;         /* borrowed */
	int revision;               /* 0 until taskdef_assign */
	char *arn;                  /* owned, NULL until taskdef_assign */
	enum taskdef_status status;
	enum taskdef_network_mode network_mode;
	unsigned requires_compatibilities; /* TASKDEF_COMPAT_* bits */
	int cpu;                    /* task CPU units, 0 = unset */
	int memory;                 /* task memory MiB, 0 = unset */
	int ephemeral_storage_gib;  /* 21..200, 0 = unset (20 GiB) */
	enum taskdef_ns_mode pid_mode;
	enum taskdef_ns_mode ipc_mode;
	struct taskdef_tag *tags;   /* owned array (strings borrowed from tags_doc) */
	size_t n_tags;
	json_t *tags_doc;           /* owned: the request's [{key, value}] list or NULL; tags are
				     * not part of doc (AWS returns them beside it) */
	double registered_at;       /* epoch seconds, 0 until assigned */
	double deregistered_at;     /* 0 unless deregistered */
	struct taskdef_container *containers; /* owned array, 1..TASKDEF_MAX_CONTAINERS */
	size_t n_containers;
	/* Field paths berth keeps in doc but does not act on ("volumes",
	 * "containerDefinitions[0].logConfiguration", ...), for the daemon to log once. */
	char **ignored;             /* owned, NULL-terminated; NULL when there are none */
	size_t n_ignored;
	json_t *doc;                /* owned: the DescribeTaskDefinition `taskDefinition` */
};

/* Parses and validates a RegisterTaskDefinition request (a decoded JSON object; it is not
 * modified or kept). Output-only fields of an exported task definition (taskDefinitionArn,
 * revision, status, registeredAt, ...) are accepted and dropped. On success returns 0 and
 * *out is the caller's (taskdef_free); it is ACTIVE with revision 0 until taskdef_assign.
 * On a refused request returns -EINVAL, *out untouched and err (when not NULL) filled;
 * -ENOMEM when memory runs out. */
int taskdef_parse(const json_t *request, struct taskdef **out, struct taskdef_error *err);

/* Gives a parsed definition its identity: revision, ARN
 * (arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION), registeredAt (epoch seconds)
 * and registeredBy in the document. Returns 0, -EINVAL for a bad argument (revision < 1,
 * non-finite time) with td unchanged, or -ENOMEM. */
int taskdef_assign(struct taskdef *td, const char *region, const char *account, int revision,
		   double registered_at);

/* The DescribeTaskDefinition `taskDefinition` object (borrowed, valid until td changes or is
 * freed). Tags are not in it: see tags_doc. */
const json_t *taskdef_json(const struct taskdef *td);

/* Rebuilds a definition from a document previously returned by taskdef_json (the daemon's
 * state files); taskdef_json of the result equals doc. Tags are not restored (the caller
 * stores them beside the document). Same ownership and errors as taskdef_parse; doc is not
 * modified or kept. */
int taskdef_from_json(const json_t *doc, struct taskdef **out, struct taskdef_error *err);

/* Sets status "ACTIVE", "INACTIVE" (deregistration: deregisteredAt = when) or
 * "DELETE_IN_PROGRESS". Returns 0, -EINVAL (td unchanged) for another status, or -ENOMEM. */
int taskdef_set_status(struct taskdef *td, const char *status, double when);

/* Index of the container called name, or -ENOENT. */
int taskdef_find_container(const struct taskdef *td, const char *name);

/* Frees td and everything it owns; NULL is a no-op. */
void taskdef_free(struct taskdef *td);

/* One entry of RunTask overrides.containerOverrides. */
struct taskdef_container_override {
	size_t index;               /* into taskdef.containers */
	bool has_command;
	const char **command;       /* replaces the definition's command; NULL-terminated */
	size_t n_command;
	struct taskdef_kv *environment; /* merged over the definition's; owned array */
	size_t n_environment;
	int cpu;                    /* -1 = not overridden */
	int memory;                 /* -1 = not overridden */
	int memory_reservation;     /* -1 = not overridden */
};

struct task_overrides {
	int cpu;                    /* task CPU units, 0 = not overridden */
	int memory;                 /* task MiB, 0 = not overridden */
	struct taskdef_container_override *containers; /* owned array */
	size_t n_containers;
	char **ignored;             /* field paths kept but not acted on; owned, NULL-terminated,
				     * NULL when there are none */
	size_t n_ignored;
	json_t *doc;                /* owned: the overrides as DescribeTasks returns them */
};

/* Parses RunTask `overrides` (NULL = none) against td: container names must exist, sizes
 * must still fit (and be a Fargate combination for awsvpc/FARGATE definitions). On success
 * returns 0 and *out is the caller's (taskdef_overrides_free); it borrows nothing from td
 * but its indexes refer to td. On a refused request -EINVAL with err filled; -ENOMEM. */
int taskdef_parse_overrides(const json_t *overrides, const struct taskdef *td,
			    struct task_overrides **out, struct taskdef_error *err);

/* Frees ov; NULL is a no-op. */
void taskdef_overrides_free(struct task_overrides *ov);

/* What one container of a task actually runs with: the definition plus overrides. */
struct taskdef_container_spec {
	const struct taskdef_container *def; /* borrowed from td */
	const char **command;       /* the override's when given, else the definition's (borrowed,
				     * may be NULL: the image's CMD) */
	size_t n_command;
	struct taskdef_kv *environment; /* owned array (strings borrowed): definition order,
					 * override values win, new names appended */
	size_t n_environment;
	int cpu;
	int memory;
	int memory_reservation;
};

/* Resolves container index of td under ov (NULL = no overrides). On success returns 0 and
 * *out is the caller's (taskdef_container_spec_free); it borrows from td and ov, which must
 * outlive it. -EINVAL for a bad index, -ENOMEM. */
int taskdef_resolve_container(const struct taskdef *td, const struct task_overrides *ov,
			      size_t index, struct taskdef_container_spec **out);

/* Frees spec; NULL is a no-op. */
void taskdef_container_spec_free(struct taskdef_container_spec *spec);

/* The task-level CPU units and MiB under ov (NULL = none): the override, else the
 * definition's, else 0 (unset). */
void taskdef_resolve_size(const struct taskdef *td, const struct task_overrides *ov, int *cpu,
			  int *memory);

#endif
