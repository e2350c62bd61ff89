/* SPDX-License-Identifier: MIT */
/* taskdef.c: validates ECS task definitions into typed structs plus the normalised AWS document. */
#include "runtime/taskdef.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "common/util.h"

#define CLIENT "ClientException"
#define INVALID "InvalidParameterException"
#define PATH_LEN 192
#define WHO_LEN 300
#define MAX_TAGS 50
#define MAX_OVERRIDES_LEN 8192
#define MAX_IMAGE_LEN 1024
#define MAX_CPU_UNITS 196608          /* 192 vCPU */
#define MAX_MIB 4194304               /* 4 TiB */

/* Docker image references: [domain[:port]/]path[:tag][@sha256:digest]. */
#define RE_LABEL "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
#define RE_DOMAIN RE_LABEL "(\\." RE_LABEL ")*(:[0-9]+)?"
#define RE_COMPONENT "[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*"
#define IMAGE_RE "^(" RE_DOMAIN "/)?" RE_COMPONENT "(/" RE_COMPONENT ")*" \
		 "(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"

struct name_value {
	const char *name;
	int value;
};

static const struct name_value network_modes[] = {
	{ "bridge", TASKDEF_NETWORK_BRIDGE }, { "host", TASKDEF_NETWORK_HOST },
	{ "awsvpc", TASKDEF_NETWORK_AWSVPC }, { "none", TASKDEF_NETWORK_NONE }, { NULL, 0 },
};
static const struct name_value pid_modes[] = {
	{ "host", TASKDEF_NS_HOST }, { "task", TASKDEF_NS_TASK }, { NULL, 0 },
};
static const struct name_value ipc_modes[] = {
	{ "host", TASKDEF_NS_HOST }, { "task", TASKDEF_NS_TASK }, { "none", TASKDEF_NS_NONE },
	{ NULL, 0 },
};
static const struct name_value compat_names[] = {
	{ "EC2", TASKDEF_COMPAT_EC2 }, { "FARGATE", TASKDEF_COMPAT_FARGATE },
	{ "EXTERNAL", TASKDEF_COMPAT_EXTERNAL },
	{ "MANAGED_INSTANCES", TASKDEF_COMPAT_MANAGED_INSTANCES }, { NULL, 0 },
};
static const struct name_value conditions[] = {
	{ "START", TASKDEF_COND_START }, { "COMPLETE", TASKDEF_COND_COMPLETE },
	{ "SUCCESS", TASKDEF_COND_SUCCESS }, { "HEALTHY", TASKDEF_COND_HEALTHY }, { NULL, 0 },
};
static const struct name_value protocols[] = {
	{ "tcp", TASKDEF_PROTO_TCP }, { "udp", TASKDEF_PROTO_UDP }, { NULL, 0 },
};
static const struct name_value statuses[] = {
	{ "ACTIVE", TASKDEF_STATUS_ACTIVE }, { "INACTIVE", TASKDEF_STATUS_INACTIVE },
	{ "DELETE_IN_PROGRESS", TASKDEF_STATUS_DELETE_IN_PROGRESS }, { NULL, 0 },
};
static const struct name_value ulimit_names[] = {
	{ "core", RLIMIT_CORE }, { "cpu", RLIMIT_CPU }, { "data", RLIMIT_DATA },
	{ "fsize", RLIMIT_FSIZE }, { "locks", RLIMIT_LOCKS }, { "memlock", RLIMIT_MEMLOCK },
	{ "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE }, { "nofile", RLIMIT_NOFILE },
	{ "nproc", RLIMIT_NPROC }, { "rss", RLIMIT_RSS }, { "rtprio", RLIMIT_RTPRIO },
	{ "rttime", RLIMIT_RTTIME }, { "sigpending", RLIMIT_SIGPENDING },
	{ "stack", RLIMIT_STACK }, { NULL, 0 },
};

/* Fields of DescribeTaskDefinition output that a request may carry back (an exported
 * definition); they are recomputed, never taken from the caller. */
static const char *const output_fields[] = {
	"taskDefinitionArn", "revision", "status", "requiresAttributes", "compatibilities",
	"registeredAt", "registeredBy", "deregisteredAt", NULL,
};
/* Fields berth acts on; anything else that is not empty is listed in `ignored`. */
static const char *const task_fields[] = {
	"family", "networkMode", "containerDefinitions", "requiresCompatibilities", "cpu",
	"memory", "tags", "pidMode", "ipcMode", "ephemeralStorage", NULL,
};
static const char *const container_fields[] = {
	"name", "image", "cpu", "memory", "memoryReservation", "portMappings", "essential",
	"entryPoint", "command", "environment", "dependsOn", "startTimeout", "stopTimeout",
	"user", "workingDirectory", "readonlyRootFilesystem", "privileged", "ulimits",
	"healthCheck", "restartPolicy", "linuxParameters", NULL,
};
static const char *const port_fields[] = { "containerPort", "hostPort", "protocol", "name", NULL };
static const char *const health_fields[] = {
	"command", "interval", "timeout", "retries", "startPeriod", NULL,
};
static const char *const linux_fields[] = { "initProcessEnabled", NULL };
static const char *const override_fields[] = { "containerOverrides", "cpu", "memory", NULL };
static const char *const container_override_fields[] = {
	"name", "command", "environment", "cpu", "memory", "memoryReservation", NULL,
};
/* The key order of AWS's TaskDefinition output; other keys follow in request order. */
static const char *const doc_order[] = {
	"taskDefinitionArn", "containerDefinitions", "family", "taskRoleArn", "executionRoleArn",
	"networkMode", "revision", "volumes", "status", "requiresAttributes",
	"placementConstraints", "compatibilities", "runtimePlatform", "requiresCompatibilities",
	"cpu", "memory", "inferenceAccelerators", "pidMode", "ipcMode", "proxyConfiguration",
	"registeredAt", "deregisteredAt", "registeredBy", "ephemeralStorage", NULL,
};
/* Fargate task sizes: for each CPU value, memory from..to MiB in steps. */
static const struct {
	int cpu, from, to, step;
} fargate_sizes[] = {
	{ 256, 512, 512, 1 },  { 256, 1024, 2048, 1024 }, { 512, 1024, 4096, 1024 },
	{ 1024, 2048, 8192, 1024 }, { 2048, 4096, 16384, 1024 }, { 4096, 8192, 30720, 1024 },
	{ 8192, 16384, 61440, 4096 }, { 16384, 32768, 122880, 8192 },
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

static int fail(struct taskdef_error *err, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct taskdef_error *err, const char *type, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		snprintf(err->type, sizeof(err->type), "%s", type);
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int oom(struct taskdef_error *err)
{
	fail(err, "ServerException", "Out of memory.");
	return -ENOMEM;
}

/* "prefix.key", or "key" at the top level. */
static const char *field(char *buf, size_t len, const char *prefix, const char *key)
{
	if (prefix && *prefix)
		snprintf(buf, len, "%s.%s", prefix, key);
	else
		snprintf(buf, len, "%s", key);
	return buf;
}

static const char *type_word(json_type type)
{
	switch (type) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "list";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_TRUE: return "boolean";
	default: return "value";
	}
}

/* *out = obj[key] when it has the given type (JSON_TRUE stands for any boolean), NULL when
 * absent; -EINVAL naming the field otherwise. */
static int get_typed(json_t *obj, const char *prefix, const char *key, json_type type,
		     json_t **out, struct taskdef_error *err)
{
	char path[PATH_LEN];
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (type == JSON_TRUE ? !json_is_boolean(v) : json_typeof(v) != type)
		return fail(err, CLIENT, "Expected %s for %s", type_word(type),
			    field(path, sizeof(path), prefix, key));
	*out = v;
	return 0;
}

static bool has_nul(const json_t *s)
{
	return strlen(json_string_value(s)) != json_string_length(s);
}

/* A string field (borrowed), NULL when absent. Embedded NULs are refused: the value ends up
 * in argv, environments and paths. */
static int get_str(json_t *obj, const char *prefix, const char *key, const char **out,
		   struct taskdef_error *err)
{
	char path[PATH_LEN];
	json_t *v;
	int rc = get_typed(obj, prefix, key, JSON_STRING, &v, err);

	*out = NULL;
	if (rc || !v)
		return rc;
	if (has_nul(v))
		return fail(err, CLIENT, "Invalid NUL character in %s",
			    field(path, sizeof(path), prefix, key));
	*out = json_string_value(v);
	return 0;
}

static int get_int(json_t *obj, const char *prefix, const char *key, long long *out, bool *set,
		   struct taskdef_error *err)
{
	json_t *v;
	int rc = get_typed(obj, prefix, key, JSON_INTEGER, &v, err);

	*set = v != NULL;
	*out = v ? json_integer_value(v) : 0;
	return rc;
}

/* An integer in lo..hi (dflt when absent); who ("container 'web'") names the owner. */
static int get_int_range(json_t *obj, const char *prefix, const char *key, const char *who,
			 long long lo, long long hi, int dflt, int *out,
			 struct taskdef_error *err)
{
	char path[PATH_LEN];
	long long v;
	bool set;
	int rc = get_int(obj, prefix, key, &v, &set, err);

	if (rc)
		return rc;
	if (!set) {
		*out = dflt;
		return 0;
	}
	if (v < lo || v > hi)
		return fail(err, CLIENT,
			    "Invalid '%s' setting for %s (%s): must be between %lld and %lld.", key,
			    who, field(path, sizeof(path), prefix, key), lo, hi);
	*out = (int)v;
	return 0;
}

static int get_bool(json_t *obj, const char *prefix, const char *key, bool dflt, bool *out,
		    struct taskdef_error *err)
{
	json_t *v;
	int rc = get_typed(obj, prefix, key, JSON_TRUE, &v, err);

	*out = v ? json_is_true(v) : dflt;
	return rc;
}

/* A list of strings as a NULL-terminated array (owned; strings borrowed); an empty or absent
 * list gives NULL. */
static int get_str_list(json_t *obj, const char *prefix, const char *key, const char ***out,
			size_t *n, struct taskdef_error *err)
{
	char path[PATH_LEN], item[PATH_LEN + 24];
	json_t *arr, *v;
	const char **list;
	size_t i;
	int rc = get_typed(obj, prefix, key, JSON_ARRAY, &arr, err);

	*out = NULL;
	*n = 0;
	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	list = calloc(json_array_size(arr) + 1, sizeof(*list));
	if (!list)
		return oom(err);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || has_nul(v)) {
			free(list);
			snprintf(item, sizeof(item), "%s[%zu]",
				 field(path, sizeof(path), prefix, key), i);
			return fail(err, CLIENT, "Expected string for %s", item);
		}
		list[i] = json_string_value(v);
	}
	*out = list;
	*n = json_array_size(arr);
	return 0;
}

static int enum_value(const struct name_value *tab, const char *s, const char *path, int *out,
		      struct taskdef_error *err)
{
	char valid[256] = "";
	size_t len = 0;

	for (const struct name_value *e = tab; e->name; e++) {
		if (strcmp(e->name, s) == 0) {
			*out = e->value;
			return 0;
		}
		if (len < sizeof(valid))
			len += snprintf(valid + len, sizeof(valid) - len, "%s%s", len ? ", " : "",
					e->name);
	}
	return fail(err, CLIENT, "Invalid value '%.64s' for %s. Valid values: %s.", s, path, valid);
}

static int get_enum(json_t *obj, const char *prefix, const char *key,
		    const struct name_value *tab, int dflt, int *out, struct taskdef_error *err)
{
	char path[PATH_LEN];
	const char *s;
	int rc = get_str(obj, prefix, key, &s, err);

	if (rc)
		return rc;
	if (!s) {
		*out = dflt;
		return 0;
	}
	return enum_value(tab, s, field(path, sizeof(path), prefix, key), out, err);
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static bool is_empty(const json_t *v)
{
	return json_is_null(v) || json_is_false(v) ||
	       (json_is_string(v) && json_string_length(v) == 0) ||
	       (json_is_array(v) && json_array_size(v) == 0) ||
	       (json_is_object(v) && json_object_size(v) == 0);
}

static int ignored_add(struct ignored_list *l, const char *prefix, const char *key)
{
	char path[PATH_LEN];

	if (l->n + 2 > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = strdup(field(path, sizeof(path), prefix, key));
	if (!l->v[l->n])
		return -ENOMEM;
	l->v[++l->n] = NULL;
	return 0;
}

static void ignored_free(struct ignored_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Hands the list over to its owner. */
static void take_ignored(struct ignored_list *l, char ***v, size_t *n)
{
	*v = l->v;
	*n = l->n;
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Lists the non-empty members of obj that are neither used nor skipped. */
static int note_unused(struct ignored_list *l, json_t *obj, const char *prefix,
		       const char *const *used, const char *const *skip,
		       struct taskdef_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		if (in_list(used, key) || (skip && in_list(skip, key)) || is_empty(v))
			continue;
		if (ignored_add(l, prefix, key))
			return oom(err);
	}
	return 0;
}

/* AWS treats a JSON null member as absent; so does berth, and the document drops it. */
static void strip_nulls(json_t *v)
{
	const char *key;
	json_t *m;
	void *tmp;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach_safe(v, tmp, key, m) {
			if (json_is_null(m))
				json_object_del(v, key);
			else
				strip_nulls(m);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			strip_nulls(m);
	}
}

/* Adds key = value (a new reference, stolen) unless obj has key already. */
static int set_default(json_t *obj, const char *key, json_t *value, struct taskdef_error *err)
{
	if (!value)
		return oom(err);
	if (json_object_get(obj, key)) {
		json_decref(value);
		return 0;
	}
	return json_object_set_new(obj, key, value) ? oom(err) : 0;
}

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
	if (!json_is_string(v) || has_nul(v))
		return -EINVAL;
	return parse_scaled(json_string_value(v), unit, 1024, out);
}

/* Reads the task size key ("cpu" or "memory") of obj into *out and rewrites it as AWS stores
 * it: a string of units or MiB. */
static int task_size_field(json_t *obj, const char *key, const char *where, long long lo,
			   long long hi, int *out, struct taskdef_error *err)
{
	json_t *v = json_object_get(obj, key);
	const char *unit = strcmp(key, "cpu") == 0 ? "vcpu" : "gb";
	long long n;

	*out = 0;
	if (!v)
		return 0;
	if (parse_units(v, unit, &n) || n < lo || n > hi)
		return fail(err, CLIENT, "Invalid '%s' setting for task%s.", key, where);
	*out = (int)n;
	v = json_sprintf("%lld", n);
	if (!v || json_object_set_new(obj, key, v))
		return oom(err);
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
		return fail(err, CLIENT, "%s requires that 'cpu' be defined at the task level.",
			    s->sized_by);
	if (!s->task_memory)
		return fail(err, CLIENT, "%s requires that 'memory' be defined at the task level.",
			    s->sized_by);
	if (!fargate_size_ok(s->task_cpu, s->task_memory))
		return fail(err, CLIENT,
			    "No Fargate configuration exists for given values: %d CPU, %d memory. "
			    "See the Amazon ECS documentation for the valid values.",
			    s->task_cpu, s->task_memory);
	return 0;
}

static int check_container_size(const struct sizes *s, size_t i, struct taskdef_error *err)
{
	const char *name = s->name[i];
	int mem = s->memory[i], res = s->reservation[i];

	if (!mem && !res && !s->task_memory)
		return fail(err, CLIENT,
			    "Invalid setting for container '%s'. At least one of 'memory' or "
			    "'memoryReservation' must be specified.", name);
	/* AWS documents memory >= memoryReservation (equal is accepted). */
	if (mem && res > mem)
		return fail(err, CLIENT,
			    "Invalid setting for container '%s'. 'memoryReservation' (%d MiB) must "
			    "not be greater than 'memory' (%d MiB).", name, res, mem);
	if (s->task_memory && mem > s->task_memory)
		return fail(err, CLIENT,
			    "The 'memory' setting for container '%s' is greater than for the task.",
			    name);
	if (s->task_memory && res > s->task_memory)
		return fail(err, CLIENT,
			    "The 'memoryReservation' setting for container '%s' is greater than for "
			    "the task.", name);
	return 0;
}

static int check_sizes(const struct sizes *s, struct taskdef_error *err)
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
		return fail(err, CLIENT,
			    "The sum of all container '%s' values cannot be greater than the value "
			    "of the task 'memory'.", any_reservation ? "memoryReservation" : "memory");
	if (s->task_cpu && cpu > s->task_cpu)
		return fail(err, CLIENT,
			    "The sum of all container 'cpu' values cannot be greater than the value of "
			    "the task 'cpu'.");
	return 0;
}

static void sizes_from_taskdef(const struct taskdef *td, const char *sized_by, struct sizes *s)
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

static const char *sized_by(const struct taskdef *td)
{
	if (td->requires_compatibilities & TASKDEF_COMPAT_FARGATE)
		return "Fargate";
	if (td->network_mode == TASKDEF_NETWORK_AWSVPC)
		return "Network mode 'awsvpc'";
	return NULL;
}

/* ---- task level ---- */

static int parse_family(struct parse_ctx *ctx, json_t *doc)
{
	const char *s;
	int rc = get_str(doc, "", "family", &s, ctx->err);

	if (rc)
		return rc;
	if (!s || !*s)
		return fail(ctx->err, CLIENT, "Family should not be null or empty.");
	if (!name_is_valid(s, 255))
		return fail(ctx->err, CLIENT,
			    "Invalid family '%.64s' (family). Up to 255 letters (uppercase and "
			    "lowercase), numbers, hyphens, and underscores are allowed.", s);
	ctx->td->family = s;
	return 0;
}

static int parse_compatibilities(struct parse_ctx *ctx, json_t *doc)
{
	char path[PATH_LEN];
	json_t *arr, *v;
	size_t i;
	int bit, rc = get_typed(doc, "", "requiresCompatibilities", JSON_ARRAY, &arr, ctx->err);

	if (rc || !arr)
		return rc;
	json_array_foreach(arr, i, v) {
		snprintf(path, sizeof(path), "requiresCompatibilities[%zu]", i);
		if (!json_is_string(v))
			return fail(ctx->err, CLIENT, "Expected string for %s", path);
		rc = enum_value(compat_names, json_string_value(v), path, &bit, ctx->err);
		if (rc)
			return rc;
		ctx->td->requires_compatibilities |= (unsigned)bit;
	}
	if ((ctx->td->requires_compatibilities & TASKDEF_COMPAT_FARGATE) &&
	    ctx->td->network_mode != TASKDEF_NETWORK_AWSVPC)
		return fail(ctx->err, CLIENT, "Fargate only supports network mode 'awsvpc'.");
	return 0;
}

static int parse_modes(struct parse_ctx *ctx, json_t *doc)
{
	struct taskdef *td = ctx->td;
	int net, pid, ipc, rc;

	rc = get_enum(doc, "", "networkMode", network_modes, TASKDEF_NETWORK_BRIDGE, &net,
		      ctx->err);
	if (!rc)
		rc = get_enum(doc, "", "pidMode", pid_modes, TASKDEF_NS_UNSET, &pid, ctx->err);
	if (!rc)
		rc = get_enum(doc, "", "ipcMode", ipc_modes, TASKDEF_NS_UNSET, &ipc, ctx->err);
	if (rc)
		return rc;
	td->network_mode = net;
	td->pid_mode = pid;
	td->ipc_mode = ipc;
	return parse_compatibilities(ctx, doc);
}

static int parse_ephemeral(struct parse_ctx *ctx, json_t *doc)
{
	json_t *eph;
	long long gib;
	bool set;
	int rc = get_typed(doc, "", "ephemeralStorage", JSON_OBJECT, &eph, ctx->err);

	if (rc || !eph)
		return rc;
	rc = get_int(eph, "ephemeralStorage", "sizeInGiB", &gib, &set, ctx->err);
	if (rc)
		return rc;
	if (!set || gib < 21 || gib > 200)
		return fail(ctx->err, CLIENT,
			    "Invalid 'ephemeralStorage.sizeInGiB' setting for task: must be between "
			    "21 and 200.");
	ctx->td->ephemeral_storage_gib = (int)gib;
	return 0;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Letters, numbers and spaces in any script, and _ . : / = + - @ */
static bool tag_text_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x80 && !isalnum(ch) && !strchr(" _.:/=+-@", ch))
			return false;
	}
	return true;
}

static int parse_tag(struct parse_ctx *ctx, json_t *t, size_t i, struct taskdef_tag *out)
{
	char prefix[PATH_LEN];
	const char *key, *value;
	int rc;

	snprintf(prefix, sizeof(prefix), "tags[%zu]", i);
	if (!json_is_object(t))
		return fail(ctx->err, CLIENT, "Expected object for %s", prefix);
	rc = get_str(t, prefix, "key", &key, ctx->err);
	if (!rc)
		rc = get_str(t, prefix, "value", &value, ctx->err);
	if (rc)
		return rc;
	if (!key || utf8_chars(key) < 1 || utf8_chars(key) > 128)
		return fail(ctx->err, INVALID, "Tag keys must be 1 to 128 characters (%s.key).",
			    prefix);
	if (value && utf8_chars(value) > 256)
		return fail(ctx->err, INVALID, "Tag values must be at most 256 characters "
			    "(%s.value).", prefix);
	if (!tag_text_ok(key) || (value && !tag_text_ok(value)))
		return fail(ctx->err, INVALID, "Invalid characters in tag %s. Letters, numbers, "
			    "spaces and _ . : / = + - @ are allowed.", prefix);
	if (strncasecmp(key, "aws:", 4) == 0)
		return fail(ctx->err, INVALID, "Tag keys beginning with 'aws:' are reserved "
			    "(%s.key).", prefix);
	out->key = key;
	out->value = value ? value : "";
	return 0;
}

static int parse_tags(struct parse_ctx *ctx, json_t *doc)
{
	struct taskdef *td = ctx->td;
	json_t *arr, *t;
	size_t i;
	int rc = get_typed(doc, "", "tags", JSON_ARRAY, &arr, ctx->err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	if (json_array_size(arr) > MAX_TAGS)
		return fail(ctx->err, INVALID, "Too many tags: at most %d are allowed (tags).",
			    MAX_TAGS);
	td->tags = calloc(json_array_size(arr), sizeof(*td->tags));
	if (!td->tags)
		return oom(ctx->err);
	json_array_foreach(arr, i, t) {
		rc = parse_tag(ctx, t, i, &td->tags[i]);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(td->tags[j].key, td->tags[i].key) == 0)
				return fail(ctx->err, INVALID, "Duplicate tag key '%.64s' "
					    "(tags[%zu].key).", td->tags[i].key, i);
		td->n_tags = i + 1;
	}
	return 0;
}

static int parse_task_level(struct parse_ctx *ctx, json_t *doc)
{
	struct taskdef *td = ctx->td;
	int rc = parse_family(ctx, doc);

	if (!rc)
		rc = parse_modes(ctx, doc);
	if (!rc)
		rc = task_size_field(doc, "cpu", "", 128, MAX_CPU_UNITS, &td->cpu, ctx->err);
	if (!rc)
		rc = task_size_field(doc, "memory", "", 6, MAX_MIB, &td->memory, ctx->err);
	if (!rc)
		rc = parse_ephemeral(ctx, doc);
	if (!rc)
		rc = parse_tags(ctx, doc);
	ctx->sized_by = sized_by(td);
	return rc;
}

/* ---- containers ---- */

static int parse_env(json_t *obj, const char *prefix, const char *who, struct taskdef_kv **out,
		     size_t *n, struct taskdef_error *err)
{
	char path[PATH_LEN];
	const char *name, *value;
	json_t *arr, *e;
	size_t i;
	int rc = get_typed(obj, prefix, "environment", JSON_ARRAY, &arr, err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	*out = calloc(json_array_size(arr), sizeof(**out));
	if (!*out)
		return oom(err);
	json_array_foreach(arr, i, e) {
		snprintf(path, sizeof(path), "%s.environment[%zu]", prefix, i);
		if (!json_is_object(e))
			return fail(err, CLIENT, "Expected object for %s", path);
		rc = get_str(e, path, "name", &name, err);
		if (!rc)
			rc = get_str(e, path, "value", &value, err);
		if (rc)
			return rc;
		if (!name || !*name || strchr(name, '='))
			return fail(err, CLIENT, "Invalid environment variable name for %s (%s.name): "
				    "it must be non-empty and must not contain '='.", who, path);
		(*out)[i].name = name;
		(*out)[i].value = value ? value : "";
		*n = i + 1;
	}
	return 0;
}

static int parse_identity(struct parse_ctx *ctx, json_t *obj, const char *prefix,
			  struct taskdef_container *c)
{
	int rc = get_str(obj, prefix, "name", &c->name, ctx->err);

	if (!rc)
		rc = get_str(obj, prefix, "image", &c->image, ctx->err);
	if (rc)
		return rc;
	if (!c->name || !*c->name)
		return fail(ctx->err, CLIENT, "Container.name should not be null or empty.");
	if (!name_is_valid(c->name, 255))
		return fail(ctx->err, CLIENT,
			    "Invalid container name '%.64s' (%s.name). Up to 255 letters (uppercase "
			    "and lowercase), numbers, hyphens, and underscores are allowed.", c->name,
			    prefix);
	if (!c->image || !*c->image)
		return fail(ctx->err, CLIENT, "Container.image should not be null or empty.");
	if (strlen(c->image) > MAX_IMAGE_LEN ||
	    regexec(&ctx->image_re, c->image, 0, NULL, 0) != 0)
		return fail(ctx->err, CLIENT,
			    "Invalid image '%.128s' for container '%s' (%s.image): expected "
			    "repository[:tag] or repository@sha256:<64 hex digits>.", c->image,
			    c->name, prefix);
	return 0;
}

static int parse_container_size(struct parse_ctx *ctx, json_t *obj, const char *prefix,
				const char *who, struct taskdef_container *c)
{
	int rc = get_int_range(obj, prefix, "cpu", who, 0, MAX_CPU_UNITS, 0, &c->cpu, ctx->err);

	if (!rc)
		rc = get_int_range(obj, prefix, "memory", who, 6, MAX_MIB, 0, &c->memory,
				   ctx->err);
	if (!rc)
		rc = get_int_range(obj, prefix, "memoryReservation", who, 4, MAX_MIB, 0,
				   &c->memory_reservation, ctx->err);
	return rc;
}

static int parse_linux(struct parse_ctx *ctx, json_t *obj, const char *prefix,
		       struct taskdef_container *c)
{
	char path[PATH_LEN];
	json_t *lp;
	int rc = get_typed(obj, prefix, "linuxParameters", JSON_OBJECT, &lp, ctx->err);

	if (rc || !lp)
		return rc;
	field(path, sizeof(path), prefix, "linuxParameters");
	rc = get_bool(lp, path, "initProcessEnabled", false, &c->init_process_enabled, ctx->err);
	if (!rc)
		rc = note_unused(&ctx->ignored, lp, path, linux_fields, NULL, ctx->err);
	return rc;
}

static int parse_process(struct parse_ctx *ctx, json_t *obj, const char *prefix,
			 const char *who, struct taskdef_container *c)
{
	struct taskdef_error *err = ctx->err;
	int start_max = ctx->sized_by ? 120 : 86400;
	int rc = get_str_list(obj, prefix, "command", &c->command, &c->n_command, err);

	if (!rc)
		rc = get_str_list(obj, prefix, "entryPoint", &c->entry_point, &c->n_entry_point,
				  err);
	if (!rc)
		rc = parse_env(obj, prefix, who, &c->environment, &c->n_environment, err);
	if (!rc)
		rc = get_str(obj, prefix, "workingDirectory", &c->working_directory, err);
	if (!rc)
		rc = get_str(obj, prefix, "user", &c->user, err);
	if (!rc)
		rc = get_bool(obj, prefix, "essential", true, &c->essential, err);
	if (!rc)
		rc = get_bool(obj, prefix, "readonlyRootFilesystem", false,
			      &c->readonly_root_filesystem, err);
	if (!rc)
		rc = get_bool(obj, prefix, "privileged", false, &c->privileged, err);
	if (!rc)
		rc = get_int_range(obj, prefix, "stopTimeout", who, 2, 120, 30, &c->stop_timeout,
				   err);
	if (!rc)
		rc = get_int_range(obj, prefix, "startTimeout", who, 2, start_max, 0,
				   &c->start_timeout, err);
	if (!rc)
		rc = parse_linux(ctx, obj, prefix, c);
	return rc;
}

/* Marks (protocol, host port) as used; refuses a second mapping of the same one. */
static int claim_host_port(struct parse_ctx *ctx, int proto, long long port, const char *path)
{
	size_t bit = (size_t)proto * 65536 + (size_t)port;

	if (ctx->host_ports[bit / 8] & (1u << (bit % 8)))
		return fail(ctx->err, CLIENT, "%s host port '%lld' is mapped multiple times in task "
			    "(%s.hostPort).", proto == TASKDEF_PROTO_UDP ? "UDP" : "TCP", port,
			    path);
	ctx->host_ports[bit / 8] |= (unsigned char)(1u << (bit % 8));
	return 0;
}

/* Host ports in awsvpc and host mode are the container ports; AWS writes them out. */
static int pin_host_port(struct parse_ctx *ctx, json_t *p, const char *path, bool host_set,
			 long long *host, long long container)
{
	const char *mode = ctx->td->network_mode == TASKDEF_NETWORK_HOST ? "host" : "awsvpc";

	if (ctx->td->network_mode != TASKDEF_NETWORK_AWSVPC &&
	    ctx->td->network_mode != TASKDEF_NETWORK_HOST)
		return 0;
	if (host_set && *host != container)
		return fail(ctx->err, CLIENT, "When networkMode=%s, the host ports and container "
			    "ports in port mappings must match (%s).", mode, path);
	*host = container;
	return set_default(p, "hostPort", json_integer(container), ctx->err);
}

struct port_fields {
	long long container, host;
	bool container_set, host_set;
	int proto;
};

static int read_port(struct parse_ctx *ctx, json_t *p, const char *path, struct port_fields *f,
		     const char **name)
{
	int rc;

	if (!json_is_object(p))
		return fail(ctx->err, CLIENT, "Expected object for %s", path);
	rc = get_int(p, path, "containerPort", &f->container, &f->container_set, ctx->err);
	if (!rc)
		rc = get_int(p, path, "hostPort", &f->host, &f->host_set, ctx->err);
	if (!rc)
		rc = get_enum(p, path, "protocol", protocols, TASKDEF_PROTO_TCP, &f->proto,
			      ctx->err);
	if (!rc)
		rc = get_str(p, path, "name", name, ctx->err);
	return rc;
}

static int parse_port(struct parse_ctx *ctx, json_t *p, const char *path, const char *who,
		      struct taskdef_port *out, bool *used)
{
	struct port_fields f;
	int rc = read_port(ctx, p, path, &f, &out->name);
	long long cport = f.container, hport = f.host;
	int proto = f.proto;

	*used = false;
	if (rc || (!f.container_set && json_object_get(p, "containerPortRange")))
		return rc;  /* a port range: kept, listed as ignored */
	if (!f.container_set || cport < 1 || cport > 65535)
		return fail(ctx->err, CLIENT, "Invalid 'containerPort' setting for %s (%s.containerPort).",
			    who, path);
	if (f.host_set && (hport < 0 || hport > 65535))
		return fail(ctx->err, CLIENT, "Invalid 'hostPort' setting for %s (%s.hostPort).",
			    who, path);
	rc = pin_host_port(ctx, p, path, f.host_set, &hport, cport);
	if (!rc)
		rc = set_default(p, "protocol", json_string(proto ? "udp" : "tcp"), ctx->err);
	if (!rc && hport)
		rc = claim_host_port(ctx, proto, hport, path);
	out->container_port = (int)cport;
	out->host_port = (int)hport;
	out->protocol = proto;
	*used = !rc;
	return rc;
}

static int parse_ports(struct parse_ctx *ctx, json_t *obj, const char *prefix, const char *who,
		       struct taskdef_container *c)
{
	char path[PATH_LEN + 32];
	json_t *arr, *p;
	size_t i;
	bool used;
	int rc = get_typed(obj, prefix, "portMappings", JSON_ARRAY, &arr, ctx->err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	if (ctx->td->network_mode == TASKDEF_NETWORK_NONE)
		return fail(ctx->err, CLIENT, "Invalid setting for %s (%s.portMappings): port "
			    "mappings are not allowed when networkMode is 'none'.", who, prefix);
	c->ports = calloc(json_array_size(arr), sizeof(*c->ports));
	if (!c->ports)
		return oom(ctx->err);
	json_array_foreach(arr, i, p) {
		snprintf(path, sizeof(path), "%s.portMappings[%zu]", prefix, i);
		rc = parse_port(ctx, p, path, who, &c->ports[c->n_ports], &used);
		if (!rc)
			rc = note_unused(&ctx->ignored, p, path, port_fields, NULL, ctx->err);
		if (rc)
			return rc;
		c->n_ports += used;
	}
	return 0;
}

static int parse_ulimit(struct parse_ctx *ctx, json_t *u, const char *path, const char *who,
			struct taskdef_ulimit *out)
{
	bool soft_set, hard_set;
	int rc;

	if (!json_is_object(u))
		return fail(ctx->err, CLIENT, "Expected object for %s", path);
	rc = get_enum(u, path, "name", ulimit_names, -1, &out->resource, ctx->err);
	if (!rc)
		rc = get_int(u, path, "softLimit", &out->soft, &soft_set, ctx->err);
	if (!rc)
		rc = get_int(u, path, "hardLimit", &out->hard, &hard_set, ctx->err);
	if (rc)
		return rc;
	if (out->resource < 0 || !soft_set || !hard_set)
		return fail(ctx->err, CLIENT, "Invalid ulimit for %s (%s): name, softLimit and "
			    "hardLimit are required.", who, path);
	if (out->soft < 0 || out->hard < 0 || out->soft > out->hard)
		return fail(ctx->err, CLIENT, "Invalid ulimit for %s (%s): limits must be >= 0 and "
			    "softLimit must not be greater than hardLimit.", who, path);
	out->name = json_string_value(json_object_get(u, "name"));
	return 0;
}

static int parse_ulimits(struct parse_ctx *ctx, json_t *obj, const char *prefix,
			 const char *who, struct taskdef_container *c)
{
	char path[PATH_LEN + 32];
	json_t *arr, *u;
	size_t i;
	int rc = get_typed(obj, prefix, "ulimits", JSON_ARRAY, &arr, ctx->err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	c->ulimits = calloc(json_array_size(arr), sizeof(*c->ulimits));
	if (!c->ulimits)
		return oom(ctx->err);
	json_array_foreach(arr, i, u) {
		snprintf(path, sizeof(path), "%s.ulimits[%zu]", prefix, i);
		rc = parse_ulimit(ctx, u, path, who, &c->ulimits[i]);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (c->ulimits[j].resource == c->ulimits[i].resource)
				return fail(ctx->err, CLIENT, "Duplicate ulimit '%s' for %s (%s.name).",
					    c->ulimits[i].name, who, path);
		c->n_ulimits = i + 1;
	}
	return 0;
}

static int parse_depends_on(struct parse_ctx *ctx, json_t *obj, const char *prefix,
			    const char *who, struct taskdef_container *c)
{
	char path[PATH_LEN + 32];
	json_t *arr, *d;
	size_t i;
	int cond, rc = get_typed(obj, prefix, "dependsOn", JSON_ARRAY, &arr, ctx->err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	c->depends_on = calloc(json_array_size(arr), sizeof(*c->depends_on));
	if (!c->depends_on)
		return oom(ctx->err);
	json_array_foreach(arr, i, d) {
		snprintf(path, sizeof(path), "%s.dependsOn[%zu]", prefix, i);
		if (!json_is_object(d))
			return fail(ctx->err, CLIENT, "Expected object for %s", path);
		rc = get_str(d, path, "containerName", &c->depends_on[i].container_name, ctx->err);
		if (!rc)
			rc = get_enum(d, path, "condition", conditions, -1, &cond, ctx->err);
		if (rc)
			return rc;
		if (!c->depends_on[i].container_name || cond < 0)
			return fail(ctx->err, CLIENT, "Invalid dependsOn for %s (%s): containerName "
				    "and condition are required.", who, path);
		c->depends_on[i].condition = cond;
		c->n_depends_on = i + 1;
	}
	return 0;
}

/* CMD: the rest is argv. CMD-SHELL: the rest, joined by spaces, is a /bin/sh -c script. */
static int health_command(struct parse_ctx *ctx, json_t *hc, const char *path, const char *who,
			  struct taskdef_health_check *h)
{
	size_t n, len = 0;
	int rc = get_str_list(hc, path, "command", &h->command, &n, ctx->err);

	if (rc)
		return rc;
	if (n < 2 || (strcmp(h->command[0], "CMD") && strcmp(h->command[0], "CMD-SHELL")))
		return fail(ctx->err, CLIENT, "Invalid healthCheck for %s (%s.command): the command "
			    "must be [\"CMD\", args...] or [\"CMD-SHELL\", \"script\"].", who, path);
	h->kind = strcmp(h->command[0], "CMD") == 0 ? TASKDEF_HEALTH_CMD : TASKDEF_HEALTH_CMD_SHELL;
	memmove(h->command, h->command + 1, n * sizeof(*h->command));  /* keeps the NULL */
	h->n_command = n - 1;
	if (h->kind == TASKDEF_HEALTH_CMD)
		return 0;
	for (size_t i = 0; i < h->n_command; i++)
		len += strlen(h->command[i]) + 1;
	h->shell = malloc(len);
	if (!h->shell)
		return oom(ctx->err);
	for (size_t i = 0, at = 0; i < h->n_command; i++) {
		size_t n_i = strlen(h->command[i]);
		memcpy(h->shell + at, h->command[i], n_i);
		at += n_i;
		h->shell[at++] = i + 1 < h->n_command ? ' ' : '\0';
	}
	return 0;
}

static int parse_health(struct parse_ctx *ctx, json_t *obj, const char *prefix, const char *who,
			struct taskdef_container *c)
{
	struct taskdef_health_check *h = &c->health;
	char path[PATH_LEN];
	json_t *hc;
	int rc = get_typed(obj, prefix, "healthCheck", JSON_OBJECT, &hc, ctx->err);

	if (rc || !hc)
		return rc;
	field(path, sizeof(path), prefix, "healthCheck");
	rc = health_command(ctx, hc, path, who, h);
	if (!rc)
		rc = get_int_range(hc, path, "interval", who, 5, 300, 30, &h->interval, ctx->err);
	if (!rc)
		rc = get_int_range(hc, path, "timeout", who, 2, 60, 5, &h->timeout, ctx->err);
	if (!rc)
		rc = get_int_range(hc, path, "retries", who, 1, 10, 3, &h->retries, ctx->err);
	if (!rc)
		rc = get_int_range(hc, path, "startPeriod", who, 0, 300, 0, &h->start_period,
				   ctx->err);
	/* AWS shows the defaults it applied. */
	if (!rc)
		rc = set_default(hc, "interval", json_integer(h->interval), ctx->err);
	if (!rc)
		rc = set_default(hc, "timeout", json_integer(h->timeout), ctx->err);
	if (!rc)
		rc = set_default(hc, "retries", json_integer(h->retries), ctx->err);
	if (!rc)
		rc = note_unused(&ctx->ignored, hc, path, health_fields, NULL, ctx->err);
	return rc;
}

static int parse_exit_codes(struct parse_ctx *ctx, json_t *rp, const char *path,
			    struct taskdef_restart_policy *r)
{
	json_t *arr, *v;
	size_t i;
	int rc = get_typed(rp, path, "ignoredExitCodes", JSON_ARRAY, &arr, ctx->err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	if (json_array_size(arr) > 50)
		return fail(ctx->err, CLIENT, "Too many exit codes in %s.ignoredExitCodes: at most "
			    "50 are allowed.", path);
	r->ignored_exit_codes = calloc(json_array_size(arr), sizeof(int));
	if (!r->ignored_exit_codes)
		return oom(ctx->err);
	json_array_foreach(arr, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 255)
			return fail(ctx->err, CLIENT, "Invalid exit code in %s.ignoredExitCodes[%zu]: "
				    "expected an integer between 0 and 255.", path, i);
		r->ignored_exit_codes[i] = (int)json_integer_value(v);
		r->n_ignored_exit_codes = i + 1;
	}
	return 0;
}

static int parse_restart(struct parse_ctx *ctx, json_t *obj, const char *prefix,
			 const char *who, struct taskdef_container *c)
{
	struct taskdef_restart_policy *r = &c->restart;
	char path[PATH_LEN];
	json_t *rp, *enabled;
	int rc = get_typed(obj, prefix, "restartPolicy", JSON_OBJECT, &rp, ctx->err);

	if (rc || !rp)
		return rc;
	field(path, sizeof(path), prefix, "restartPolicy");
	rc = get_typed(rp, path, "enabled", JSON_TRUE, &enabled, ctx->err);
	if (rc)
		return rc;
	if (!enabled)
		return fail(ctx->err, CLIENT, "Invalid restartPolicy for %s (%s.enabled): enabled is "
			    "required.", who, path);
	r->enabled = json_is_true(enabled);
	rc = parse_exit_codes(ctx, rp, path, r);
	if (!rc)
		rc = get_int_range(rp, path, "restartAttemptPeriod", who, 60, 1800, 300,
				   &r->restart_attempt_period, ctx->err);
	c->has_restart_policy = rc == 0;
	return rc;
}

/* The members AWS always shows on a container. */
static int normalise_container(json_t *obj, struct taskdef_error *err)
{
	int rc = set_default(obj, "essential", json_true(), err);

	if (!rc)
		rc = set_default(obj, "portMappings", json_array(), err);
	if (!rc)
		rc = set_default(obj, "environment", json_array(), err);
	if (!rc)
		rc = set_default(obj, "mountPoints", json_array(), err);
	if (!rc)
		rc = set_default(obj, "volumesFrom", json_array(), err);
	return rc;
}

static int parse_container(struct parse_ctx *ctx, json_t *obj, size_t i)
{
	struct taskdef_container *c = &ctx->td->containers[i];
	char prefix[PATH_LEN], who[WHO_LEN];
	int rc;

	snprintf(prefix, sizeof(prefix), "containerDefinitions[%zu]", i);
	if (!json_is_object(obj))
		return fail(ctx->err, CLIENT, "Expected object for %s", prefix);
	rc = parse_identity(ctx, obj, prefix, c);
	if (rc)
		return rc;
	snprintf(who, sizeof(who), "container '%s'", c->name);
	rc = parse_container_size(ctx, obj, prefix, who, c);
	if (!rc)
		rc = parse_process(ctx, obj, prefix, who, c);
	if (!rc)
		rc = parse_ports(ctx, obj, prefix, who, c);
	if (!rc)
		rc = parse_ulimits(ctx, obj, prefix, who, c);
	if (!rc)
		rc = parse_depends_on(ctx, obj, prefix, who, c);
	if (!rc)
		rc = parse_health(ctx, obj, prefix, who, c);
	if (!rc)
		rc = parse_restart(ctx, obj, prefix, who, c);
	if (!rc)
		rc = normalise_container(obj, ctx->err);
	if (!rc)
		rc = note_unused(&ctx->ignored, obj, prefix, container_fields, NULL, ctx->err);
	return rc;
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
		return fail(ctx->err, CLIENT, "Invalid dependsOn for container '%s' "
			    "(containerDefinitions[%zu].dependsOn[%zu].containerName): '%.64s' is "
			    "not another container of the task definition.", name, i, k,
			    d->container_name);
	d->index = (size_t)idx;
	if ((d->condition == TASKDEF_COND_SUCCESS || d->condition == TASKDEF_COND_COMPLETE) &&
	    td->containers[idx].essential)
		return fail(ctx->err, CLIENT, "A dependency container with SUCCESS or COMPLETE "
			    "condition cannot be an essential container "
			    "(containerDefinitions[%zu].dependsOn[%zu]).", i, k);
	if (d->condition == TASKDEF_COND_HEALTHY &&
	    td->containers[idx].health.kind == TASKDEF_HEALTH_NONE)
		return fail(ctx->err, CLIENT, "Invalid dependsOn for container '%s' "
			    "(containerDefinitions[%zu].dependsOn[%zu].condition): container '%s' "
			    "has no healthCheck, so it can never be HEALTHY.", name, i, k,
			    td->containers[idx].name);
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
			return fail(ctx->err, CLIENT, "Invalid dependsOn: the dependencies of "
				    "container '%s' form a cycle (containerDefinitions[%zu].dependsOn).",
				    td->containers[i].name, i);
	return 0;
}

static int check_containers(struct parse_ctx *ctx)
{
	struct taskdef *td = ctx->td;
	struct sizes s;
	bool essential = false;
	int rc;

	for (size_t i = 0; i < td->n_containers; i++) {
		essential |= td->containers[i].essential;
		for (size_t j = 0; j < i; j++)
			if (strcmp(td->containers[i].name, td->containers[j].name) == 0)
				return fail(ctx->err, CLIENT, "Duplicate container name '%s' "
					    "(containerDefinitions[%zu].name). Container names must be "
					    "unique within a task definition.", td->containers[i].name, i);
	}
	if (!essential)
		return fail(ctx->err, CLIENT, "Task definition doesn't have any essential container.");
	rc = check_dependencies(ctx);
	if (rc)
		return rc;
	sizes_from_taskdef(td, ctx->sized_by, &s);
	return check_sizes(&s, ctx->err);
}

static int parse_containers(struct parse_ctx *ctx, json_t *doc)
{
	struct taskdef *td = ctx->td;
	json_t *arr = json_object_get(doc, "containerDefinitions"), *c;
	size_t i;
	int rc;

	if (arr && !json_is_array(arr))
		return fail(ctx->err, CLIENT, "Expected list for containerDefinitions");
	if (!arr || json_array_size(arr) == 0)
		return fail(ctx->err, CLIENT, "Container list cannot be empty.");
	if (json_array_size(arr) > TASKDEF_MAX_CONTAINERS)
		return fail(ctx->err, CLIENT, "Too many containers: at most %d are allowed in "
			    "containerDefinitions.", TASKDEF_MAX_CONTAINERS);
	td->containers = calloc(json_array_size(arr), sizeof(*td->containers));
	if (!td->containers)
		return oom(ctx->err);
	td->n_containers = json_array_size(arr);
	json_array_foreach(arr, i, c) {
		rc = parse_container(ctx, c, i);
		if (rc)
			return rc;
	}
	return check_containers(ctx);
}

/* ---- the document ---- */

static int add_attribute(json_t *list, const char *name)
{
	return json_array_append_new(list, json_pack("{s:s}", "name", name));
}

/* The capabilities a container agent would need for this definition. */
static json_t *requires_attributes(const struct taskdef *td)
{
	json_t *list = json_array();
	bool health = false, ordering = false;
	int rc = 0;

	for (size_t i = 0; i < td->n_containers; i++) {
		health |= td->containers[i].health.kind != TASKDEF_HEALTH_NONE;
		ordering |= td->containers[i].n_depends_on > 0;
	}
	if (list && td->network_mode == TASKDEF_NETWORK_AWSVPC)
		rc |= add_attribute(list, "ecs.capability.task-eni");
	if (list && health)
		rc |= add_attribute(list, "ecs.capability.container-health-check");
	if (list && ordering)
		rc |= add_attribute(list, "ecs.capability.container-ordering");
	if (rc) {
		json_decref(list);
		return NULL;
	}
	return list;
}

static json_t *compatibilities(const struct taskdef *td)
{
	if (td->network_mode == TASKDEF_NETWORK_AWSVPC)
		return json_pack("[s,s]", "EC2", "FARGATE");
	return json_pack("[s,s]", "EXTERNAL", "EC2");
}

/* What RegisterTaskDefinition adds to what the caller sent. */
static int finish_document(struct parse_ctx *ctx, json_t *doc)
{
	int rc = set_default(doc, "volumes", json_array(), ctx->err);

	if (!rc)
		rc = set_default(doc, "placementConstraints", json_array(), ctx->err);
	if (!rc)
		rc = set_default(doc, "status", json_string("ACTIVE"), ctx->err);
	if (!rc)
		rc = set_default(doc, "compatibilities", compatibilities(ctx->td), ctx->err);
	if (!rc)
		rc = set_default(doc, "requiresAttributes", requires_attributes(ctx->td), ctx->err);
	return rc;
}

/* Rebuilds *doc with AWS's key order; the values are shared, so borrowed strings stay valid. */
static int reorder_document(json_t **doc)
{
	json_t *out = json_object(), *v;
	const char *key;

	if (!out)
		return -ENOMEM;
	for (size_t i = 0; doc_order[i]; i++)
		if ((v = json_object_get(*doc, doc_order[i])) && json_object_set(out, doc_order[i], v))
			goto nomem;
	json_object_foreach(*doc, key, v)
		if (!json_object_get(out, key) && json_object_set(out, key, v))
			goto nomem;
	json_decref(*doc);
	*doc = out;
	return 0;
nomem:
	json_decref(out);
	return -ENOMEM;
}

static int get_time(json_t *doc, const char *key, double *out, struct taskdef_error *err)
{
	json_t *v = json_object_get(doc, key);

	*out = 0;
	if (!v)
		return 0;
	if (!json_is_number(v))
		return fail(err, CLIENT, "Expected number for %s", key);
	*out = json_number_value(v);
	return 0;
}

/* The fields of a stored document that a request never sets. */
static int parse_state_fields(struct parse_ctx *ctx, json_t *doc)
{
	struct taskdef *td = ctx->td;
	const char *arn;
	int status, rc = get_str(doc, "", "taskDefinitionArn", &arn, ctx->err);

	if (!rc)
		rc = get_int_range(doc, "", "revision", "task", 0, INT32_MAX, 0, &td->revision,
				   ctx->err);
	if (!rc)
		rc = get_enum(doc, "", "status", statuses, TASKDEF_STATUS_ACTIVE, &status, ctx->err);
	if (!rc)
		rc = get_time(doc, "registeredAt", &td->registered_at, ctx->err);
	if (!rc)
		rc = get_time(doc, "deregisteredAt", &td->deregistered_at, ctx->err);
	if (rc)
		return rc;
	td->status = status;
	if (arn && !(td->arn = strdup(arn)))
		return oom(ctx->err);
	return 0;
}

/* Tags are not part of AWS's TaskDefinition shape (DescribeTaskDefinition returns them beside
 * it, TagResource changes them): they move from the document to tags_doc. */
static void move_tags(struct taskdef *td)
{
	json_t *tags = json_object_get(td->doc, "tags");

	if (!tags)
		return;
	td->tags_doc = json_incref(tags);
	json_object_del(td->doc, "tags");
}

static int parse_all(struct parse_ctx *ctx)
{
	json_t *doc = ctx->td->doc;
	int rc = 0;

	strip_nulls(doc);
	if (ctx->from_state)
		rc = parse_state_fields(ctx, doc);
	else
		for (size_t i = 0; output_fields[i]; i++)
			json_object_del(doc, output_fields[i]);
	if (!rc)
		rc = parse_task_level(ctx, doc);
	if (!rc)
		rc = parse_containers(ctx, doc);
	if (!rc)
		rc = note_unused(&ctx->ignored, doc, "", task_fields, output_fields, ctx->err);
	if (!rc && !ctx->from_state)
		rc = finish_document(ctx, doc);
	if (!rc)
		move_tags(ctx->td);
	if (!rc && reorder_document(&ctx->td->doc))
		rc = oom(ctx->err);
	return rc;
}

/* Parses doc (a new reference, stolen) into *out. */
static int parse_document(json_t *doc, bool from_state, struct taskdef **out,
			  struct taskdef_error *err)
{
	struct parse_ctx ctx = { .err = err, .from_state = from_state };
	int rc;

	ctx.td = calloc(1, sizeof(*ctx.td));
	if (!ctx.td) {
		json_decref(doc);
		return oom(err);
	}
	ctx.td->doc = doc;
	ctx.host_ports = calloc(2 * 65536 / 8, 1);
	if (!doc || !ctx.host_ports ||
	    regcomp(&ctx.image_re, IMAGE_RE, REG_EXTENDED | REG_NOSUB) != 0) {
		rc = oom(err);
		goto out;
	}
	ctx.have_re = true;
	rc = parse_all(&ctx);
	if (rc == 0) {
		take_ignored(&ctx.ignored, &ctx.td->ignored, &ctx.td->n_ignored);
		*out = ctx.td;
		ctx.td = NULL;
	}
out:
	if (ctx.have_re)
		regfree(&ctx.image_re);
	free(ctx.host_ports);
	ignored_free(&ctx.ignored);
	taskdef_free(ctx.td);
	return rc;
}

int taskdef_parse(const json_t *request, struct taskdef **out, struct taskdef_error *err)
{
	if (!out)
		return -EINVAL;
	if (!json_is_object(request))
		return fail(err, CLIENT, "Expected object for the RegisterTaskDefinition request");
	return parse_document(json_deep_copy(request), false, out, err);
}

int taskdef_from_json(const json_t *doc, struct taskdef **out, struct taskdef_error *err)
{
	if (!out)
		return -EINVAL;
	if (!json_is_object(doc))
		return fail(err, CLIENT, "Expected object for the task definition document");
	return parse_document(json_deep_copy(doc), true, out, err);
}

/* A new string the caller frees, or NULL (asprintf leaves its pointer undefined on failure). */
static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *format(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

int taskdef_assign(struct taskdef *td, const char *region, const char *account, int revision,
		   double registered_at)
{
	char *arn = NULL, *by = NULL;
	json_t *add = NULL;
	int rc = -ENOMEM;

	if (!td || !region || !account || revision < 1 || !isfinite(registered_at))
		return -EINVAL;
	arn = format("arn:aws:ecs:%s:%s:task-definition/%s:%d", region, account, td->family,
		     revision);
	by = format("arn:aws:iam::%s:root", account);
	if (!arn || !by)
		goto out;
	add = json_pack("{s:s, s:i, s:f, s:s}", "taskDefinitionArn", arn, "revision", revision,
			"registeredAt", registered_at, "registeredBy", by);
	if (!add || json_object_update(td->doc, add) || reorder_document(&td->doc))
		goto out;
	free(td->arn);
	td->arn = arn;
	arn = NULL;
	td->revision = revision;
	td->registered_at = registered_at;
	rc = 0;
out:
	json_decref(add);
	free(arn);
	free(by);
	return rc;
}

const json_t *taskdef_json(const struct taskdef *td)
{
	return td ? td->doc : NULL;
}

int taskdef_set_status(struct taskdef *td, const char *status, double when)
{
	struct taskdef_error err;
	json_t *s;
	int st;

	if (!td || !status || enum_value(statuses, status, "status", &st, &err) ||
	    (st == TASKDEF_STATUS_INACTIVE && !isfinite(when)))
		return -EINVAL;
	s = json_string(status);
	if (!s || json_object_set_new(td->doc, "status", s))
		return -ENOMEM;
	td->status = st;
	if (st == TASKDEF_STATUS_ACTIVE) {
		json_object_del(td->doc, "deregisteredAt");
		td->deregistered_at = 0;
	} else if (st == TASKDEF_STATUS_INACTIVE) {
		if (json_object_set_new(td->doc, "deregisteredAt", json_real(when)))
			return -ENOMEM;
		td->deregistered_at = when;
	}
	return 0;
}

int taskdef_find_container(const struct taskdef *td, const char *name)
{
	if (!td || !name)
		return -ENOENT;
	for (size_t i = 0; i < td->n_containers; i++)
		if (td->containers[i].name && strcmp(td->containers[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}

static void container_free(struct taskdef_container *c)
{
	free(c->command);
	free(c->entry_point);
	free(c->environment);
	free(c->ports);
	free(c->ulimits);
	free(c->depends_on);
	free(c->health.command);
	free(c->health.shell);
	free(c->restart.ignored_exit_codes);
}

void taskdef_free(struct taskdef *td)
{
	if (!td)
		return;
	for (size_t i = 0; i < td->n_containers; i++)
		container_free(&td->containers[i]);
	free(td->containers);
	for (size_t i = 0; i < td->n_ignored; i++)
		free(td->ignored[i]);
	free(td->ignored);
	free(td->tags);
	json_decref(td->tags_doc);
	free(td->arn);
	json_decref(td->doc);
	free(td);
}

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
	int idx, rc = get_str(obj, prefix, "name", name, ctx->err);

	if (rc)
		return rc;
	if (!*name || !**name)
		return fail(ctx->err, INVALID, "Container override name should not be null or "
			    "empty (%s.name).", prefix);
	idx = taskdef_find_container(ctx->td, *name);
	if (idx < 0)
		return fail(ctx->err, INVALID, "Override for container named %.64s is not a "
			    "container in the TaskDefinition.", *name);
	for (size_t j = 0; j < i; j++)
		if (ctx->ov->containers[j].index == (size_t)idx)
			return fail(ctx->err, INVALID, "Duplicate override for container named %s "
				    "(%s.name).", *name, prefix);
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
		return fail(ctx->err, CLIENT, "Expected object for %s", prefix);
	rc = override_target(ctx, obj, prefix, i, &name);
	if (rc)
		return rc;
	snprintf(who, sizeof(who), "container '%s'", name);
	rc = get_str_list(obj, prefix, "command", &o->command, &o->n_command, ctx->err);
	o->has_command = o->command != NULL;
	if (!rc)
		rc = parse_env(obj, prefix, who, &o->environment, &o->n_environment, ctx->err);
	if (!rc)
		rc = get_int_range(obj, prefix, "cpu", who, 0, MAX_CPU_UNITS, -1, &o->cpu, ctx->err);
	if (!rc)
		rc = get_int_range(obj, prefix, "memory", who, 6, MAX_MIB, -1, &o->memory,
				   ctx->err);
	if (!rc)
		rc = get_int_range(obj, prefix, "memoryReservation", who, 4, MAX_MIB, -1,
				   &o->memory_reservation, ctx->err);
	if (!rc)
		rc = note_unused(&ctx->ignored, obj, prefix, container_override_fields, NULL,
				 ctx->err);
	return rc;
}

static int parse_container_overrides(struct override_ctx *ctx, json_t *doc)
{
	struct task_overrides *ov = ctx->ov;
	json_t *arr, *c;
	char *text;
	size_t i, len;
	int rc = get_typed(doc, "overrides", "containerOverrides", JSON_ARRAY, &arr, ctx->err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	text = json_dumps(arr, JSON_COMPACT);
	len = text ? strlen(text) : 0;
	free(text);
	if (!len)
		return oom(ctx->err);
	if (len > MAX_OVERRIDES_LEN)
		return fail(ctx->err, INVALID, "Container Overrides length must be at most %d",
			    MAX_OVERRIDES_LEN);
	ov->containers = calloc(json_array_size(arr), sizeof(*ov->containers));
	if (!ov->containers)
		return oom(ctx->err);
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

	sizes_from_taskdef(td, sized_by(td), &s);
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
	return check_sizes(&s, ctx->err);
}

static int parse_overrides(struct override_ctx *ctx)
{
	json_t *doc = ctx->ov->doc;
	int rc;

	strip_nulls(doc);
	rc = task_size_field(doc, "cpu", " (overrides.cpu)", 128, MAX_CPU_UNITS, &ctx->ov->cpu,
			     ctx->err);
	if (!rc)
		rc = task_size_field(doc, "memory", " (overrides.memory)", 6, MAX_MIB,
				     &ctx->ov->memory, ctx->err);
	if (!rc)
		rc = parse_container_overrides(ctx, doc);
	if (!rc)
		rc = note_unused(&ctx->ignored, doc, "overrides", override_fields, NULL, ctx->err);
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
		return fail(err, CLIENT, "Expected object for overrides");
	ctx.ov = calloc(1, sizeof(*ctx.ov));
	if (!ctx.ov)
		return oom(err);
	ctx.ov->doc = overrides ? json_deep_copy(overrides) : json_object();
	rc = ctx.ov->doc ? parse_overrides(&ctx) : oom(err);
	if (rc == 0) {
		take_ignored(&ctx.ignored, &ctx.ov->ignored, &ctx.ov->n_ignored);
		*out = ctx.ov;
		ctx.ov = NULL;
	}
	ignored_free(&ctx.ignored);
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
