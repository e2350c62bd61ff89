/* SPDX-License-Identifier: MIT */
/* taskdef_overrides.c: RunTask overrides, and a container as a task runs it. */
#include "runtime/taskdef_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OVERRIDES_LEN 8192

/* Fields berth acts on; anything else that is not empty is listed in `ignored`. */
static const char *const override_fields[] = { "containerOverrides", "cpu", "memory", NULL };
static const char *const container_override_fields[] = {
	"name", "command", "environment", "cpu", "memory", "memoryReservation", NULL,
};

/* ---- RunTask overrides ---- */

struct override_ctx {
	struct task_overrides *ov;
	const struct taskdef *td;
	struct taskdef_error *err;
	struct ignored_list ignored;
};

/* The container override i names: it must exist and be overridden once. */
static int override_target(struct override_ctx *ctx, json_t *obj, const char *prefix, size_t i,
			   const char **name)
{
	int idx, rc = taskdef_get_str(obj, prefix, "name", name, ctx->err);

	if (rc)
		return rc;
	if (!*name || !**name)
		return taskdef_fail(ctx->err, INVALID, "Container override name should not be null "
				    "or empty (%s.name).", prefix);
	idx = taskdef_find_container(ctx->td, *name);
	if (idx < 0)
		return taskdef_fail(ctx->err, INVALID, "Override for container named %.64s is not "
				    "a container in the TaskDefinition.", *name);
	for (size_t j = 0; j < i; j++)
		if (ctx->ov->containers[j].index == (size_t)idx)
			return taskdef_fail(ctx->err, INVALID,
					    "Duplicate override for container named %s (%s.name).",
					    *name, prefix);
	ctx->ov->containers[i].index = (size_t)idx;
	return 0;
}

static int parse_container_override(struct override_ctx *ctx, json_t *obj, size_t i)
{
	struct taskdef_container_override *o = &ctx->ov->containers[i];
	char prefix[PATH_LEN], who[WHO_LEN];
	const char *name;
	int rc;

	snprintf(prefix, sizeof(prefix), "overrides.containerOverrides[%zu]", i);
	if (!json_is_object(obj))
		return taskdef_fail(ctx->err, CLIENT, "Expected object for %s", prefix);
	rc = override_target(ctx, obj, prefix, i, &name);
	if (rc)
		return rc;
	snprintf(who, sizeof(who), "container '%s'", name);
	rc = taskdef_get_str_list(obj, prefix, "command", &o->command, &o->n_command, ctx->err);
	o->has_command = o->command != NULL;
	if (!rc)
		rc = taskdef_parse_env(obj, prefix, who, &o->environment, &o->n_environment,
				       ctx->err);
	if (!rc)
		rc = taskdef_get_int_range(obj, prefix, "cpu", who, 0, MAX_CPU_UNITS, -1, &o->cpu,
					   ctx->err);
	if (!rc)
		rc = taskdef_get_int_range(obj, prefix, "memory", who, 6, MAX_MIB, -1, &o->memory,
					   ctx->err);
	if (!rc)
		rc = taskdef_get_int_range(obj, prefix, "memoryReservation", who, 4, MAX_MIB, -1,
					   &o->memory_reservation, ctx->err);
	if (!rc)
		rc = taskdef_note_unused(&ctx->ignored, obj, prefix, container_override_fields,
					 NULL, ctx->err);
	return rc;
}

static int parse_container_overrides(struct override_ctx *ctx, json_t *doc)
{
	struct task_overrides *ov = ctx->ov;
	json_t *arr, *c;
	char *text;
	size_t i, len;
	int rc = taskdef_get_typed(doc, "overrides", "containerOverrides", JSON_ARRAY, &arr,
				   ctx->err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	text = json_dumps(arr, JSON_COMPACT);
	len = text ? strlen(text) : 0;
	free(text);
	if (!len)
		return taskdef_oom(ctx->err);
	if (len > MAX_OVERRIDES_LEN)
		return taskdef_fail(ctx->err, INVALID,
				    "Container Overrides length must be at most %d",
				    MAX_OVERRIDES_LEN);
	ov->containers = calloc(json_array_size(arr), sizeof(*ov->containers));
	if (!ov->containers)
		return taskdef_oom(ctx->err);
	json_array_foreach(arr, i, c) {
		ov->n_containers = i + 1;
		rc = parse_container_override(ctx, c, i);
		if (rc)
			return rc;
	}
	return 0;
}

static const struct taskdef_container_override *find_override(const struct task_overrides *ov,
							      size_t index)
{
	for (size_t i = 0; ov && i < ov->n_containers; i++)
		if (ov->containers[i].index == index)
			return &ov->containers[i];
	return NULL;
}

static int check_override_sizes(struct override_ctx *ctx)
{
	const struct taskdef *td = ctx->td;
	struct sizes s;

	taskdef_sizes_from_taskdef(td, taskdef_sized_by(td), &s);
	taskdef_resolve_size(td, ctx->ov, &s.task_cpu, &s.task_memory);
	for (size_t i = 0; i < s.n; i++) {
		const struct taskdef_container_override *o = find_override(ctx->ov, i);
		if (!o)
			continue;
		s.cpu[i] = o->cpu >= 0 ? o->cpu : s.cpu[i];
		s.memory[i] = o->memory >= 0 ? o->memory : s.memory[i];
		s.reservation[i] = o->memory_reservation >= 0 ? o->memory_reservation :
			s.reservation[i];
	}
	return taskdef_check_sizes(&s, ctx->err);
}

static int parse_overrides(struct override_ctx *ctx)
{
	json_t *doc = ctx->ov->doc;
	int rc;

	taskdef_strip_nulls(doc);
	rc = taskdef_task_size_field(doc, "cpu", " (overrides.cpu)", 128, MAX_CPU_UNITS,
				     &ctx->ov->cpu, ctx->err);
	if (!rc)
		rc = taskdef_task_size_field(doc, "memory", " (overrides.memory)", 6, MAX_MIB,
					     &ctx->ov->memory, ctx->err);
	if (!rc)
		rc = parse_container_overrides(ctx, doc);
	if (!rc)
		rc = taskdef_note_unused(&ctx->ignored, doc, "overrides", override_fields, NULL,
					 ctx->err);
	if (!rc)
		rc = check_override_sizes(ctx);
	return rc;
}

int taskdef_parse_overrides(const json_t *overrides, const struct taskdef *td,
			    struct task_overrides **out, struct taskdef_error *err)
{
	struct override_ctx ctx = { .td = td, .err = err };
	int rc;

	if (!td || !out)
		return -EINVAL;
	if (overrides && !json_is_object(overrides))
		return taskdef_fail(err, CLIENT, "Expected object for overrides");
	ctx.ov = calloc(1, sizeof(*ctx.ov));
	if (!ctx.ov)
		return taskdef_oom(err);
	ctx.ov->doc = overrides ? json_deep_copy(overrides) : json_object();
	rc = ctx.ov->doc ? parse_overrides(&ctx) : taskdef_oom(err);
	if (rc == 0) {
		taskdef_take_ignored(&ctx.ignored, &ctx.ov->ignored, &ctx.ov->n_ignored);
		*out = ctx.ov;
		ctx.ov = NULL;
	}
	taskdef_ignored_free(&ctx.ignored);
	taskdef_overrides_free(ctx.ov);
	return rc;
}

void taskdef_overrides_free(struct task_overrides *ov)
{
	if (!ov)
		return;
	for (size_t i = 0; i < ov->n_containers; i++) {
		free(ov->containers[i].command);
		free(ov->containers[i].environment);
	}
	free(ov->containers);
	for (size_t i = 0; i < ov->n_ignored; i++)
		free(ov->ignored[i]);
	free(ov->ignored);
	json_decref(ov->doc);
	free(ov);
}

/* Definition order; an override replaces every variable of its name, or is appended. */
static int merge_environment(struct taskdef_container_spec *spec,
			     const struct taskdef_container *def,
			     const struct taskdef_container_override *o)
{
	size_t n = def->n_environment + (o ? o->n_environment : 0);

	if (n == 0)
		return 0;
	spec->environment = calloc(n, sizeof(*spec->environment));
	if (!spec->environment)
		return -ENOMEM;
	if (def->n_environment)
		memcpy(spec->environment, def->environment,
		       def->n_environment * sizeof(*def->environment));
	spec->n_environment = def->n_environment;
	for (size_t i = 0; o && i < o->n_environment; i++) {
		bool replaced = false;
		for (size_t j = 0; j < spec->n_environment; j++) {
			if (strcmp(spec->environment[j].name, o->environment[i].name) == 0) {
				spec->environment[j].value = o->environment[i].value;
				replaced = true;
			}
		}
		if (!replaced)
			spec->environment[spec->n_environment++] = o->environment[i];
	}
	return 0;
}

int taskdef_resolve_container(const struct taskdef *td, const struct task_overrides *ov,
			      size_t index, struct taskdef_container_spec **out)
{
	const struct taskdef_container *def;
	const struct taskdef_container_override *o;
	struct taskdef_container_spec *spec;

	if (!td || !out || index >= td->n_containers)
		return -EINVAL;
	def = &td->containers[index];
	o = find_override(ov, index);
	spec = calloc(1, sizeof(*spec));
	if (!spec)
		return -ENOMEM;
	spec->def = def;
	spec->command = o && o->has_command ? o->command : def->command;
	spec->n_command = o && o->has_command ? o->n_command : def->n_command;
	spec->cpu = o && o->cpu >= 0 ? o->cpu : def->cpu;
	spec->memory = o && o->memory >= 0 ? o->memory : def->memory;
	spec->memory_reservation = o && o->memory_reservation >= 0 ? o->memory_reservation :
		def->memory_reservation;
	if (merge_environment(spec, def, o)) {
		taskdef_container_spec_free(spec);
		return -ENOMEM;
	}
	*out = spec;
	return 0;
}

void taskdef_container_spec_free(struct taskdef_container_spec *spec)
{
	if (!spec)
		return;
	free(spec->environment);
	free(spec);
}

void taskdef_resolve_size(const struct taskdef *td, const struct task_overrides *ov, int *cpu,
			  int *memory)
{
	int c = td ? td->cpu : 0, m = td ? td->memory : 0;

	if (ov && ov->cpu)
		c = ov->cpu;
	if (ov && ov->memory)
		m = ov->memory;
	if (cpu)
		*cpu = c;
	if (memory)
		*memory = m;
}
