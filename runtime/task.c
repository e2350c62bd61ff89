/* SPDX-License-Identifier: MIT */
/* task.c: the ECS task model - run, find, stop, status changes, the DescribeTasks shape. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "runtime/runtime.h"
#include "runtime/taskdef.h"

/* Fields that go to and come from JSON as they are (DescribeTasks shape and state files). */
enum field_type { F_STR, F_TIME };
struct field {
	const char *key;
	enum field_type type;
	size_t offset;
	size_t size;
};
#define FS(k, m) { k, F_STR, offsetof(struct rt_task, m), sizeof(((struct rt_task *)0)->m) }
#define FT(k, m) { k, F_TIME, offsetof(struct rt_task, m), 0 }
static const struct field task_fields[] = {
	FS("taskArn", arn), FS("clusterArn", cluster_arn), FS("taskDefinitionArn", taskdef_arn),
	FS("lastStatus", last_status), FS("desiredStatus", desired_status),
	FS("startedBy", started_by), FS("group", group), FS("launchType", launch_type),
	FS("capacityProviderName", capacity_provider),
	FS("cpu", cpu), FS("memory", memory), FS("stopCode", stop_code),
	FS("stoppedReason", stopped_reason), FS("healthStatus", health_status),
	FT("createdAt", created_at), FT("pullStartedAt", pull_started_at),
	FT("pullStoppedAt", pull_stopped_at), FT("startedAt", started_at),
	FT("stoppingAt", stopping_at), FT("executionStoppedAt", execution_stopped_at),
	FT("stoppedAt", stopped_at), FT("connectivityAt", connectivity_at),
};

/* Splits "arn:...:task/CLUSTER/ID" or "ID" into the id. */
static const char *task_id_of(const char *id_or_arn)
{
	const char *slash;

	if (strncmp(id_or_arn, "arn:", 4) != 0)
		return id_or_arn;
	slash = strrchr(id_or_arn, '/');
	return slash ? slash + 1 : id_or_arn;
}

struct rt_task *rt_task_find(struct runtime *rt, const struct rt_cluster *c, const char *id_or_arn)
{
	const char *id = task_id_of(id_or_arn);

	for (struct rt_task *t = rt->tasks; t; t = t->next)
		if (strcmp(t->id, id) == 0 && (!c || strcmp(t->cluster, c->name) == 0))
			return t;
	return NULL;
}

/* Between RunTask and the supervisor's fork nothing runs that a state file could name: the
 * task is saved (durably) right after the fork, before RunTask answers, and a task cgroup that
 * a crash left without a state file is killed at the next start (rt_exec_init). Keeping fsync
 * off that path is most of a launch's cost on a busy disk. */
static bool unstarted(const struct rt_task *t)
{
	return !t->init_pid && !strcmp(t->desired_status, "RUNNING") &&
	       (!strcmp(t->last_status, "PROVISIONING") || !strcmp(t->last_status, "PENDING"));
}

static void task_notify(struct runtime *rt, struct rt_task *t)
{
	t->version++;
	if (!unstarted(t))
		rt_state_save_task(rt, t);
	if (rt->listener)
		rt->listener(rt, t, rt->listener_data);
}

void rt_task_changed(struct runtime *rt, struct rt_task *t)
{
	task_notify(rt, t);
}

void rt_task_set_status(struct runtime *rt, struct rt_task *t, const char *status)
{
	double now = time_now();

	if (strcmp(t->last_status, status) == 0)
		return;
	log_debug("runtime: task %s %s -> %s", t->id, t->last_status, status);
	snprintf(t->last_status, sizeof(t->last_status), "%s", status);
	if (strcmp(status, "PENDING") == 0 && !t->pull_started_at)
		t->pull_started_at = now;
	if (strcmp(status, "RUNNING") == 0) {
		if (!t->pull_stopped_at)
			t->pull_stopped_at = now;
		/* The task ran from its last container's exec (its supervisor's clock, the same
		 * as ours), not from when we noticed. */
		t->started_at = t->exec_at >= t->created_at && t->exec_at < now ? t->exec_at : now;
		if (t->pull_stopped_at > t->started_at)
			t->pull_stopped_at = t->started_at;
		if (!t->connectivity_at || t->connectivity_at > t->started_at)
			t->connectivity_at = t->started_at; /* its network was up before its exec */
	}
	if (strcmp(status, "DEPROVISIONING") == 0 && !t->execution_stopped_at)
		t->execution_stopped_at = now;
	if (strcmp(status, "STOPPED") == 0) {
		if (!t->execution_stopped_at)
			t->execution_stopped_at = now;
		t->stopped_at = now;
		snprintf(t->desired_status, sizeof(t->desired_status), "STOPPED");
	}
	task_notify(rt, t);
}

static void set_stop(struct rt_task *t, const char *code, const char *reason)
{
	if (!t->stop_code[0] && code)
		snprintf(t->stop_code, sizeof(t->stop_code), "%s", code);
	if (!t->stopped_reason[0] && reason)
		snprintf(t->stopped_reason, sizeof(t->stopped_reason), "%s", reason);
	if (!t->stopping_at)
		t->stopping_at = time_now();
	snprintf(t->desired_status, sizeof(t->desired_status), "STOPPED");
}

int rt_task_stop(struct runtime *rt, struct rt_task *t, const char *stop_code, const char *reason)
{
	if (strcmp(t->last_status, "STOPPED") == 0)
		return 0;
	set_stop(t, stop_code, reason);
	if (strcmp(t->last_status, "RUNNING") == 0)
		rt_task_set_status(rt, t, "DEACTIVATING");
	else
		task_notify(rt, t);
	return rt_exec_stop(rt, t);
}

void rt_task_finish(struct runtime *rt, struct rt_task *t)
{
	for (size_t i = 0; i < t->n_containers; i++)
		snprintf(t->containers[i].last_status, sizeof(t->containers[i].last_status),
			 "STOPPED");
	if (!t->stop_code[0])
		set_stop(t, "EssentialContainerExited", "Essential container in task exited");
	rt_task_set_status(rt, t, "STOPPED");
	log_info("runtime: task %s stopped: %s: %s", t->id, t->stop_code, t->stopped_reason);
}

static struct rt_task *task_new(struct runtime *rt, struct rt_cluster *c, struct taskdef *td,
				const json_t *overrides, const char *started_by,
				const char *group, json_t *tags, const char *launch_type)
{
	struct rt_task *t = calloc(1, sizeof(*t));
	int cpu = 0, mem = 0;

	if (!t)
		return NULL;
	t->containers = calloc(td->n_containers, sizeof(*t->containers));
	if (!t->containers) {
		free(t);
		return NULL;
	}
	if (!rt_cgpool_take(rt, c, td, t)) /* the id of cgroups made ahead, when some fit */
		id_random_hex(t->id, 32);
	snprintf(t->cluster, sizeof(t->cluster), "%s", c->name);
	snprintf(t->cluster_arn, sizeof(t->cluster_arn), "%s", c->arn);
	snprintf(t->arn, sizeof(t->arn), "arn:aws:ecs:%s:%s:task/%s/%s", rt->cfg->region,
		 rt->cfg->account_id, c->name, t->id);
	snprintf(t->taskdef_arn, sizeof(t->taskdef_arn), "%s", rt_taskdef_arn(td));
	t->td = td;
	t->overrides = overrides ? json_deep_copy(overrides) : json_object();
	t->tags = tags ? json_deep_copy(tags) : json_array();
	snprintf(t->last_status, sizeof(t->last_status), "PROVISIONING");
	snprintf(t->desired_status, sizeof(t->desired_status), "RUNNING");
	snprintf(t->started_by, sizeof(t->started_by), "%s", started_by ? started_by : "");
	snprintf(t->group, sizeof(t->group), "%s", group ? group : "family:");
	if (!group)
		snprintf(t->group, sizeof(t->group), "family:%s", td->family);
	snprintf(t->launch_type, sizeof(t->launch_type), "%s", launch_type ? launch_type :
		 (td->requires_compatibilities & TASKDEF_COMPAT_FARGATE) ? "FARGATE" : "EC2");
	snprintf(t->health_status, sizeof(t->health_status), "UNKNOWN");
	t->created_at = time_now();
	t->watch = -1;
	t->n_containers = td->n_containers;
	for (size_t i = 0; i < td->n_containers; i++) {
		struct rt_container *ct = &t->containers[i];
		const struct taskdef_container *d = &td->containers[i];
		snprintf(ct->name, sizeof(ct->name), "%s", d->name);
		snprintf(ct->image, sizeof(ct->image), "%s", d->image);
		snprintf(ct->last_status, sizeof(ct->last_status), "PENDING");
		id_uuid(ct->uuid);
		ct->essential = d->essential;
		ct->cpu = d->cpu;
		ct->memory = d->memory;
		ct->memory_reservation = d->memory_reservation;
	}
	taskdef_resolve_size(td, NULL, &cpu, &mem);
	if (json_is_integer(json_object_get(overrides, "cpu")) ||
	    json_is_string(json_object_get(overrides, "cpu")))
		cpu = 0; /* set below from the parsed overrides by the executor */
	if (cpu)
		snprintf(t->cpu, sizeof(t->cpu), "%d", cpu);
	if (mem)
		snprintf(t->memory, sizeof(t->memory), "%d", mem);
	return t;
}

static void task_free(struct rt_task *t)
{
	if (!t)
		return;
	json_decref(t->overrides);
	json_decref(t->tags);
	free(t->containers);
	free(t);
}

int rt_task_run(struct runtime *rt, struct rt_cluster *c, struct taskdef *td,
		const json_t *overrides, const char *started_by, const char *group,
		json_t *tags, const char *launch_type, const char *const *providers, int count,
		struct rt_task ***out, struct berr *e)
{
	struct taskdef_error terr = { { 0 }, { 0 } };
	struct task_overrides *ov = NULL;
	struct rt_task **list;
	int cpu = 0, mem = 0;

	if (td->status != TASKDEF_STATUS_ACTIVE)
		return berr_set(e, 400, "ClientException",
				"TaskDefinition is inactive");
	if (taskdef_parse_overrides(overrides, td, &ov, &terr) < 0)
		return berr_set(e, 400, terr.type[0] ? terr.type : "InvalidParameterException",
				"%s", terr.message);
	taskdef_resolve_size(td, ov, &cpu, &mem);
	list = calloc((size_t)count, sizeof(*list));
	if (!list) {
		taskdef_overrides_free(ov);
		return berr_set(e, 500, "ServerException", "Out of memory.");
	}
	for (int i = 0; i < count; i++) {
		struct rt_task *t = task_new(rt, c, td, ov ? ov->doc : overrides, started_by,
					     group, tags, launch_type);
		if (!t)
			break;
		t->cpu[0] = t->memory[0] = '\0';
		if (providers && providers[i])
			snprintf(t->capacity_provider, sizeof(t->capacity_provider), "%s",
				 providers[i]);
		if (cpu)
			snprintf(t->cpu, sizeof(t->cpu), "%d", cpu);
		if (mem)
			snprintf(t->memory, sizeof(t->memory), "%d", mem);
		t->next = rt->tasks;
		rt->tasks = t;
		rt->n_tasks++;
		list[i] = t;
		rt_exec_start(rt, t); /* saves the task once its supervisor runs, or it stopped */
	}
	taskdef_overrides_free(ov);
	*out = list;
	return 0;
}

static void put_time(json_t *o, const char *key, double t)
{
	if (t > 0)
		json_object_set_new(o, key, json_real(t));
}

static json_t *container_json(struct runtime *rt, const struct rt_task *t,
			      const struct rt_container *ct)
{
	char arn[700];
	json_t *o;

	snprintf(arn, sizeof(arn), "arn:aws:ecs:%s:%s:container/%s/%s/%s", rt->cfg->region,
		 rt->cfg->account_id, t->cluster, t->id, ct->uuid);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[], s:[], s:s}", "containerArn", arn,
		      "taskArn", t->arn, "name", ct->name, "image", ct->image, "lastStatus",
		      ct->last_status, "networkBindings", "networkInterfaces", "healthStatus",
		      ct->health_status[0] ? ct->health_status : "UNKNOWN");
	if (!o)
		return NULL;
	if (ct->image_digest[0])
		json_object_set_new(o, "imageDigest", json_string(ct->image_digest));
	if (ct->runtime_id[0])
		json_object_set_new(o, "runtimeId", json_string(ct->runtime_id));
	if (ct->has_exit_code)
		json_object_set_new(o, "exitCode", json_integer(ct->exit_code));
	if (ct->reason[0])
		json_object_set_new(o, "reason", json_string(ct->reason));
	json_object_set_new(o, "cpu", json_sprintf("%d", ct->cpu));
	if (ct->memory)
		json_object_set_new(o, "memory", json_sprintf("%d", ct->memory));
	if (ct->memory_reservation)
		json_object_set_new(o, "memoryReservation",
				    json_sprintf("%d", ct->memory_reservation));
	json_object_set_new(o, "essential", json_boolean(ct->essential));
	if (ct->restart_count)
		json_object_set_new(o, "restartCount", json_integer(ct->restart_count));
	if (ct->pid)
		json_object_set_new(o, "pid", json_integer(ct->pid));
	return o;
}

json_t *rt_task_json(struct runtime *rt, const struct rt_task *t, bool with_tags)
{
	json_t *o = json_object(), *cs = json_array();

	if (!o || !cs) {
		json_decref(o);
		json_decref(cs);
		return NULL;
	}
	for (size_t i = 0; i < sizeof(task_fields) / sizeof(task_fields[0]); i++) {
		const struct field *f = &task_fields[i];
		const char *base = (const char *)t + f->offset;
		if (f->type == F_STR && base[0])
			json_object_set_new(o, f->key, json_string(base));
		else if (f->type == F_TIME)
			put_time(o, f->key, *(const double *)base);
	}
	for (size_t i = 0; i < t->n_containers; i++)
		json_array_append_new(cs, container_json(rt, t, &t->containers[i]));
	json_object_set_new(o, "containers", cs);
	json_object_set(o, "overrides", t->overrides);
	json_object_set_new(o, "version", json_integer(t->version));
	json_object_set_new(o, "availabilityZone", json_sprintf("%sa", rt->cfg->region));
	json_object_set_new(o, "enableExecuteCommand", json_false());
	json_object_set_new(o, "attachments", json_array());
	json_object_set_new(o, "attributes", json_array());
	if (t->td && t->td->network_mode != TASKDEF_NETWORK_HOST)
		json_array_append_new(json_object_get(o, "attributes"),
				      json_pack("{s:s, s:s}", "name", "berth.network", "value",
						"private network namespace with loopback only; "
						"per-task networking is not available yet"));
	if (with_tags)
		json_object_set(o, "tags", t->tags);
	return o;
}

int rt_task_log_path(struct runtime *rt, const struct rt_task *t, const char *container,
		     char *out, size_t len)
{
	const struct rt_container *ct = NULL;

	for (size_t i = 0; i < t->n_containers; i++)
		if (!container || strcmp(t->containers[i].name, container) == 0) {
			ct = &t->containers[i];
			break;
		}
	if (!ct)
		return -ENOENT;
	snprintf(out, len, "%s/%s/%s/%s.log", rt->log_dir, t->cluster, t->id, ct->name);
	return 0;
}

static void load_containers(struct rt_task *t, json_t *cs)
{
	size_t n = json_array_size(cs);

	t->containers = calloc(n ? n : 1, sizeof(*t->containers));
	if (!t->containers)
		return;
	t->n_containers = n;
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(cs, i);
		struct rt_container *ct = &t->containers[i];
		const char *arn = json_string_value(json_object_get(c, "containerArn"));
		const char *slash = arn ? strrchr(arn, '/') : NULL;
#define CPY(dst, key) snprintf(dst, sizeof(dst), "%s", \
		json_string_value(json_object_get(c, key)) ? \
		json_string_value(json_object_get(c, key)) : "")
		CPY(ct->name, "name");
		CPY(ct->image, "image");
		CPY(ct->image_digest, "imageDigest");
		CPY(ct->runtime_id, "runtimeId");
		CPY(ct->last_status, "lastStatus");
		CPY(ct->reason, "reason");
		CPY(ct->health_status, "healthStatus");
#undef CPY
		snprintf(ct->uuid, sizeof(ct->uuid), "%s", slash ? slash + 1 : "");
		ct->has_exit_code = json_is_integer(json_object_get(c, "exitCode"));
		ct->exit_code = (int)json_integer_value(json_object_get(c, "exitCode"));
		ct->essential = json_is_true(json_object_get(c, "essential"));
		ct->pid = (pid_t)json_integer_value(json_object_get(c, "pid"));
		ct->restart_count = (int)json_integer_value(json_object_get(c, "restartCount"));
		ct->cpu = atoi(json_string_value(json_object_get(c, "cpu")) ?: "0");
		ct->memory = atoi(json_string_value(json_object_get(c, "memory")) ?: "0");
		ct->memory_reservation =
			atoi(json_string_value(json_object_get(c, "memoryReservation")) ?: "0");
	}
}

void rt_task_load(struct runtime *rt, json_t *o, const char *path)
{
	struct rt_task *t = calloc(1, sizeof(*t));
	json_t *b = json_object_get(o, "berth");
	const char *arn;
	struct berr e;

	if (!t)
		return;
	for (size_t i = 0; i < sizeof(task_fields) / sizeof(task_fields[0]); i++) {
		const struct field *f = &task_fields[i];
		json_t *v = json_object_get(o, f->key);
		char *base = (char *)t + f->offset;
		if (f->type == F_STR && json_is_string(v))
			snprintf(base, f->size, "%s", json_string_value(v));
		else if (f->type == F_TIME && json_is_number(v))
			*(double *)base = json_number_value(v);
	}
	arn = t->arn;
	if (!arn[0] || !strrchr(arn, '/') || !strstr(arn, ":task/")) {
		log_error("state: failed to load task %s: taskArn missing or malformed", path);
		free(t);
		return;
	}
	snprintf(t->id, sizeof(t->id), "%s", strrchr(arn, '/') + 1);
	snprintf(t->cluster, sizeof(t->cluster), "%.*s",
		 (int)(strrchr(arn, '/') - (strstr(arn, ":task/") + 6)), strstr(arn, ":task/") + 6);
	t->td = rt_taskdef_find(rt, t->taskdef_arn, &e);
	t->overrides = json_incref(json_object_get(o, "overrides"));
	if (!t->overrides)
		t->overrides = json_object();
	t->tags = json_incref(json_object_get(o, "tags"));
	if (!t->tags)
		t->tags = json_array();
	t->version = (long)json_integer_value(json_object_get(o, "version"));
	t->init_pid = (pid_t)json_integer_value(json_object_get(b, "initPid"));
	t->init_start = (unsigned long long)json_integer_value(json_object_get(b, "initStart"));
	t->oom_killed = json_is_true(json_object_get(b, "oomKilled"));
	t->watch = -1;
	load_containers(t, json_object_get(o, "containers"));
	t->next = rt->tasks;
	rt->tasks = t;
	rt->n_tasks++;
}

/* Drops STOPPED tasks older than the retention from memory and disk. */
void rt_task_expire(struct runtime *rt)
{
	double cutoff = time_now() - (double)rt->cfg->stopped_task_retention;
	struct rt_task **pp = &rt->tasks;

	while (*pp) {
		struct rt_task *t = *pp;
		if (strcmp(t->last_status, "STOPPED") == 0 && t->stopped_at < cutoff) {
			*pp = t->next;
			rt->n_tasks--;
			rt_state_remove_task(rt, t);
			task_free(t);
			continue;
		}
		pp = &t->next;
	}
}

void rt_task_free_all(struct runtime *rt)
{
	while (rt->tasks) {
		struct rt_task *t = rt->tasks;
		rt->tasks = t->next;
		task_free(t);
	}
	rt->n_tasks = 0;
}
