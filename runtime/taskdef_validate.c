/* SPDX-License-Identifier: MIT */
/* taskdef_validate.c: task and container sizes, the Fargate table, rules across containers. */
#include "runtime/taskdef_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

/* Fargate task sizes: for each CPU value, memory from..to MiB in steps. */
static const struct {
	int cpu, from, to, step;
} fargate_sizes[] = {
	{ 256, 512, 512, 1 },  { 256, 1024, 2048, 1024 }, { 512, 1024, 4096, 1024 },
	{ 1024, 2048, 8192, 1024 }, { 2048, 4096, 16384, 1024 }, { 4096, 8192, 30720, 1024 },
	{ 8192, 16384, 61440, 4096 }, { 16384, 32768, 122880, 8192 },
};

/* "256", "0.25 vCPU" (unit "vcpu", scale 1024) or "1GB" (unit "gb", scale 1024): a whole
 * number, or a decimal followed by the unit; the result must be a whole number. */
static int parse_scaled(const char *s, const char *unit, long long scale, long long *out)
{
	size_t whole_len = strspn(s, "0123456789"), frac_len = 0;
	const char *p = s + whole_len;
	long long whole, frac = 0, div = 1;

	if (whole_len == 0 || whole_len > 9)
		return -EINVAL;
	whole = strtoll(s, NULL, 10);
	if (*p == '.') {
		frac_len = strspn(p + 1, "0123456789");
		if (frac_len == 0 || frac_len > 6)
			return -EINVAL;
		for (size_t i = 1; i <= frac_len; i++) {
			frac = frac * 10 + (p[i] - '0');
			div *= 10;
		}
		p += 1 + frac_len;
	}
	while (*p == ' ')
		p++;
	if (*p == '\0' && frac_len == 0) {
		*out = whole;
		return 0;
	}
	if (strcasecmp(p, unit) != 0 || (frac * scale) % div != 0)
		return -EINVAL;
	*out = whole * scale + frac * scale / div;
	return 0;
}

/* Task cpu/memory: a JSON integer or a string as parse_scaled reads it. */
static int parse_units(const json_t *v, const char *unit, long long *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v) || taskdef_has_nul(v))
		return -EINVAL;
	return parse_scaled(json_string_value(v), unit, 1024, out);
}

/* Reads the task size key ("cpu" or "memory") of obj into *out and rewrites it as AWS stores
 * it: a string of units or MiB. */
int taskdef_task_size_field(json_t *obj, const char *key, const char *where, long long lo,
			    long long hi, int *out, struct taskdef_error *err)
{
	json_t *v = json_object_get(obj, key);
	const char *unit = strcmp(key, "cpu") == 0 ? "vcpu" : "gb";
	long long n;

	*out = 0;
	if (!v)
		return 0;
	if (parse_units(v, unit, &n) || n < lo || n > hi)
		return taskdef_fail(err, CLIENT, "Invalid '%s' setting for task%s.", key, where);
	*out = (int)n;
	v = json_sprintf("%lld", n);
	if (!v || json_object_set_new(obj, key, v))
		return taskdef_oom(err);
	return 0;
}

static bool fargate_size_ok(int cpu, int memory)
{
	for (size_t i = 0; i < ARRAY_SIZE(fargate_sizes); i++) {
		if (fargate_sizes[i].cpu == cpu && memory >= fargate_sizes[i].from &&
		    memory <= fargate_sizes[i].to &&
		    (memory - fargate_sizes[i].from) % fargate_sizes[i].step == 0)
			return true;
	}
	return false;
}

static int check_task_size(const struct sizes *s, struct taskdef_error *err)
{
	if (!s->sized_by)
		return 0;
	if (!s->task_cpu)
		return taskdef_fail(err, CLIENT,
				    "%s requires that 'cpu' be defined at the task level.",
				    s->sized_by);
	if (!s->task_memory)
		return taskdef_fail(err, CLIENT,
				    "%s requires that 'memory' be defined at the task level.",
				    s->sized_by);
	if (!fargate_size_ok(s->task_cpu, s->task_memory))
		return taskdef_fail(err, CLIENT, "No Fargate configuration exists for given "
				    "values: %d CPU, %d memory. See the Amazon ECS documentation "
				    "for the valid values.", s->task_cpu, s->task_memory);
	return 0;
}

static int check_container_size(const struct sizes *s, size_t i, struct taskdef_error *err)
{
	const char *name = s->name[i];
	int mem = s->memory[i], res = s->reservation[i];

	if (!mem && !res && !s->task_memory)
		return taskdef_fail(err, CLIENT, "Invalid setting for container '%s'. At least one "
				    "of 'memory' or 'memoryReservation' must be specified.", name);
	/* AWS documents memory >= memoryReservation (equal is accepted). */
	if (mem && res > mem)
		return taskdef_fail(err, CLIENT, "Invalid setting for container '%s'. "
				    "'memoryReservation' (%d MiB) must not be greater than "
				    "'memory' (%d MiB).", name, res, mem);
	if (s->task_memory && mem > s->task_memory)
		return taskdef_fail(err, CLIENT, "The 'memory' setting for container '%s' is "
				    "greater than for the task.", name);
	if (s->task_memory && res > s->task_memory)
		return taskdef_fail(err, CLIENT, "The 'memoryReservation' setting for container "
				    "'%s' is greater than for the task.", name);
	return 0;
}

int taskdef_check_sizes(const struct sizes *s, struct taskdef_error *err)
{
	long long reserved = 0, cpu = 0;
	bool any_reservation = false;
	int rc = check_task_size(s, err);

	for (size_t i = 0; !rc && i < s->n; i++) {
		rc = check_container_size(s, i, err);
		reserved += s->reservation[i] ? s->reservation[i] : s->memory[i];
		any_reservation |= s->reservation[i] != 0;
		cpu += s->cpu[i];
	}
	if (rc)
		return rc;
	if (s->task_memory && reserved > s->task_memory)
		return taskdef_fail(err, CLIENT, "The sum of all container '%s' values cannot be "
				    "greater than the value of the task 'memory'.",
				    any_reservation ? "memoryReservation" : "memory");
	if (s->task_cpu && cpu > s->task_cpu)
		return taskdef_fail(err, CLIENT, "The sum of all container 'cpu' values cannot be "
				    "greater than the value of the task 'cpu'.");
	return 0;
}

void taskdef_sizes_from_taskdef(const struct taskdef *td, const char *sized_by, struct sizes *s)
{
	memset(s, 0, sizeof(*s));
	s->task_cpu = td->cpu;
	s->task_memory = td->memory;
	s->sized_by = sized_by;
	s->n = td->n_containers;
	for (size_t i = 0; i < s->n; i++) {
		s->name[i] = td->containers[i].name;
		s->cpu[i] = td->containers[i].cpu;
		s->memory[i] = td->containers[i].memory;
		s->reservation[i] = td->containers[i].memory_reservation;
	}
}

const char *taskdef_sized_by(const struct taskdef *td)
{
	if (td->requires_compatibilities & TASKDEF_COMPAT_FARGATE)
		return "Fargate";
	if (td->network_mode == TASKDEF_NETWORK_AWSVPC)
		return "Network mode 'awsvpc'";
	return NULL;
}

static bool depends_cycle(const struct taskdef *td, size_t i, unsigned char *state)
{
	const struct taskdef_container *c = &td->containers[i];

	if (state[i] == 1)
		return true;
	if (state[i] == 2)
		return false;
	state[i] = 1;
	for (size_t k = 0; k < c->n_depends_on; k++)
		if (depends_cycle(td, c->depends_on[k].index, state))
			return true;
	state[i] = 2;
	return false;
}

static int resolve_dependency(struct parse_ctx *ctx, size_t i, size_t k)
{
	struct taskdef *td = ctx->td;
	struct taskdef_dependency *d = &td->containers[i].depends_on[k];
	const char *name = td->containers[i].name;
	int idx = taskdef_find_container(td, d->container_name);

	if (idx < 0 || (size_t)idx == i)
		return taskdef_fail(ctx->err, CLIENT, "Invalid dependsOn for container '%s' "
				    "(containerDefinitions[%zu].dependsOn[%zu].containerName): "
				    "'%.64s' is not another container of the task definition.",
				    name, i, k, d->container_name);
	d->index = (size_t)idx;
	if ((d->condition == TASKDEF_COND_SUCCESS || d->condition == TASKDEF_COND_COMPLETE) &&
	    td->containers[idx].essential)
		return taskdef_fail(ctx->err, CLIENT, "A dependency container with SUCCESS or "
				    "COMPLETE condition cannot be an essential container "
				    "(containerDefinitions[%zu].dependsOn[%zu]).", i, k);
	if (d->condition == TASKDEF_COND_HEALTHY &&
	    td->containers[idx].health.kind == TASKDEF_HEALTH_NONE)
		return taskdef_fail(ctx->err, CLIENT, "Invalid dependsOn for container '%s' "
				    "(containerDefinitions[%zu].dependsOn[%zu].condition): "
				    "container '%s' has no healthCheck, so it can never be "
				    "HEALTHY.", name, i, k, td->containers[idx].name);
	return 0;
}

static int check_dependencies(struct parse_ctx *ctx)
{
	struct taskdef *td = ctx->td;
	unsigned char state[TASKDEF_MAX_CONTAINERS] = { 0 };
	int rc;

	for (size_t i = 0; i < td->n_containers; i++)
		for (size_t k = 0; k < td->containers[i].n_depends_on; k++)
			if ((rc = resolve_dependency(ctx, i, k)))
				return rc;
	for (size_t i = 0; i < td->n_containers; i++)
		if (depends_cycle(td, i, state))
			return taskdef_fail(ctx->err, CLIENT, "Invalid dependsOn: the dependencies "
					    "of container '%s' form a cycle "
					    "(containerDefinitions[%zu].dependsOn).",
					    td->containers[i].name, i);
	return 0;
}

int taskdef_check_containers(struct parse_ctx *ctx)
{
	struct taskdef *td = ctx->td;
	struct sizes s;
	bool essential = false;
	int rc;

	for (size_t i = 0; i < td->n_containers; i++) {
		essential |= td->containers[i].essential;
		for (size_t j = 0; j < i; j++)
			if (strcmp(td->containers[i].name, td->containers[j].name) == 0)
				return taskdef_fail(ctx->err, CLIENT, "Duplicate container name "
						    "'%s' (containerDefinitions[%zu].name). "
						    "Container names must be unique within a task "
						    "definition.", td->containers[i].name, i);
	}
	if (!essential)
		return taskdef_fail(ctx->err, CLIENT,
				    "Task definition doesn't have any essential container.");
	rc = check_dependencies(ctx);
	if (rc)
		return rc;
	taskdef_sizes_from_taskdef(td, ctx->sized_by, &s);
	return taskdef_check_sizes(&s, ctx->err);
}
