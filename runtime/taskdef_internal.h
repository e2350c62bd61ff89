/* SPDX-License-Identifier: MIT */
/* taskdef_internal.h: what the taskdef*.c files share; not part of the module's interface. */
#ifndef BERTH_TASKDEF_INTERNAL_H
#define BERTH_TASKDEF_INTERNAL_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/taskdef.h"

#define CLIENT "ClientException"
#define INVALID "InvalidParameterException"
#define PATH_LEN 192
#define WHO_LEN 300
#define MAX_CPU_UNITS 196608          /* 192 vCPU */
#define MAX_MIB 4194304               /* 4 TiB */

struct name_value {
	const char *name;
	int value;
};

struct ignored_list {
	char **v;
	size_t n, cap;
};

struct parse_ctx {
	struct taskdef *td;
	struct taskdef_error *err;
	bool from_state;
	const char *sized_by;         /* "Fargate", "Network mode 'awsvpc'" or NULL */
	regex_t image_re;
	bool have_re;
	unsigned char *host_ports;    /* bitmap [protocol][port] of mapped host ports */
	struct ignored_list ignored;
};

/* Effective sizes of a task and its containers, checked the same way for a definition and
 * for a definition under RunTask overrides. */
struct sizes {
	int task_cpu, task_memory;
	const char *sized_by;
	size_t n;
	const char *name[TASKDEF_MAX_CONTAINERS];
	int cpu[TASKDEF_MAX_CONTAINERS];
	int memory[TASKDEF_MAX_CONTAINERS];
	int reservation[TASKDEF_MAX_CONTAINERS];
};

/* taskdef_fields.c: typed members of a JSON object, errors as AWS words them. */

/* Fills err (when not NULL) with an AWS error type and message; returns -EINVAL. */
int taskdef_fail(struct taskdef_error *err, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fills err with AWS's out-of-memory error; returns -ENOMEM. */
int taskdef_oom(struct taskdef_error *err);
/* Formats "prefix.key" (or "key" at the top level) into buf; returns buf. */
const char *taskdef_field(char *buf, size_t len, const char *prefix, const char *key);
/* *out = obj[key] when it has the given type (JSON_TRUE: any boolean), NULL when absent. */
int taskdef_get_typed(json_t *obj, const char *prefix, const char *key, json_type type,
		      json_t **out, struct taskdef_error *err);
/* True when the JSON string s holds an embedded NUL. */
bool taskdef_has_nul(const json_t *s);
/* A string member (borrowed), NULL when absent; embedded NULs are refused. */
int taskdef_get_str(json_t *obj, const char *prefix, const char *key, const char **out,
		    struct taskdef_error *err);
/* An integer member, 0 when absent; *set says whether it is there. */
int taskdef_get_int(json_t *obj, const char *prefix, const char *key, long long *out, bool *set,
		    struct taskdef_error *err);
/* An integer member in lo..hi, dflt when absent; who names its owner in errors. */
int taskdef_get_int_range(json_t *obj, const char *prefix, const char *key, const char *who,
			  long long lo, long long hi, int dflt, int *out,
			  struct taskdef_error *err);
/* A boolean member, dflt when absent. */
int taskdef_get_bool(json_t *obj, const char *prefix, const char *key, bool dflt, bool *out,
		     struct taskdef_error *err);
/* A list of strings as a NULL-terminated array (owned; strings borrowed), or NULL. */
int taskdef_get_str_list(json_t *obj, const char *prefix, const char *key, const char ***out,
			 size_t *n, struct taskdef_error *err);
/* The value of name s in the NULL-terminated tab; the error lists the valid names. */
int taskdef_enum_value(const struct name_value *tab, const char *s, const char *path, int *out,
		       struct taskdef_error *err);
/* A string member mapped through tab, dflt when absent. */
int taskdef_get_enum(json_t *obj, const char *prefix, const char *key,
		     const struct name_value *tab, int dflt, int *out, struct taskdef_error *err);
/* Frees the names and the array of l and leaves it empty. */
void taskdef_ignored_free(struct ignored_list *l);
/* Hands the list over to its owner (*v, *n) and leaves l empty. */
void taskdef_take_ignored(struct ignored_list *l, char ***v, size_t *n);
/* Adds to l the non-empty members of obj that are neither used nor skipped. */
int taskdef_note_unused(struct ignored_list *l, json_t *obj, const char *prefix,
			const char *const *used, const char *const *skip,
			struct taskdef_error *err);
/* Deletes JSON null members, recursively: AWS treats them as absent. */
void taskdef_strip_nulls(json_t *v);
/* Adds key = value (a new reference, stolen) unless obj has key already. */
int taskdef_set_default(json_t *obj, const char *key, json_t *value, struct taskdef_error *err);

/* taskdef_validate.c: sizes and the rules that span containers. */

/* Reads the task size key ("cpu" or "memory") of obj and rewrites it as AWS stores it. */
int taskdef_task_size_field(json_t *obj, const char *key, const char *where, long long lo,
			    long long hi, int *out, struct taskdef_error *err);
/* Checks task and container sizes against each other and the Fargate table. */
int taskdef_check_sizes(const struct sizes *s, struct taskdef_error *err);
/* Fills s with the sizes td defines; sized_by is what taskdef_sized_by() returns for td. */
void taskdef_sizes_from_taskdef(const struct taskdef *td, const char *sized_by, struct sizes *s);
/* What requires task-level sizes: "Fargate", "Network mode 'awsvpc'" or NULL. */
const char *taskdef_sized_by(const struct taskdef *td);
/* The rules across containers: unique names, an essential one, dependencies, sizes. */
int taskdef_check_containers(struct parse_ctx *ctx);

/* taskdef_container.c: container definitions. */

/* The "environment" list of obj as name/value pairs (owned; strings borrowed). */
int taskdef_parse_env(json_t *obj, const char *prefix, const char *who, struct taskdef_kv **out,
		      size_t *n, struct taskdef_error *err);
/* Parses containerDefinitions into ctx->td and checks them. */
int taskdef_parse_containers(struct parse_ctx *ctx, json_t *doc);

#endif
