/* SPDX-License-Identifier: MIT */
/* taskdef_container.c: parsing containerDefinitions (process, ports, ulimits, health, restarts). */
#include "runtime/taskdef_internal.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/util.h"

#define MAX_IMAGE_LEN 1024

static const struct name_value conditions[] = {
	{ "START", TASKDEF_COND_START }, { "COMPLETE", TASKDEF_COND_COMPLETE },
	{ "SUCCESS", TASKDEF_COND_SUCCESS }, { "HEALTHY", TASKDEF_COND_HEALTHY }, { NULL, 0 },
};
static const struct name_value protocols[] = {
	{ "tcp", TASKDEF_PROTO_TCP }, { "udp", TASKDEF_PROTO_UDP }, { NULL, 0 },
};
static const struct name_value ulimit_names[] = {
	{ "core", RLIMIT_CORE }, { "cpu", RLIMIT_CPU }, { "data", RLIMIT_DATA },
	{ "fsize", RLIMIT_FSIZE }, { "locks", RLIMIT_LOCKS }, { "memlock", RLIMIT_MEMLOCK },
	{ "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE }, { "nofile", RLIMIT_NOFILE },
	{ "nproc", RLIMIT_NPROC }, { "rss", RLIMIT_RSS }, { "rtprio", RLIMIT_RTPRIO },
	{ "rttime", RLIMIT_RTTIME }, { "sigpending", RLIMIT_SIGPENDING },
	{ "stack", RLIMIT_STACK }, { NULL, 0 },
};

/* Fields berth acts on; anything else that is not empty is listed in `ignored`. */
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

/* ---- containers ---- */

int taskdef_parse_env(json_t *obj, const char *prefix, const char *who, struct taskdef_kv **out,
		      size_t *n, struct taskdef_error *err)
{
	char path[PATH_LEN];
	const char *name, *value;
	json_t *arr, *e;
	size_t i;
	int rc = taskdef_get_typed(obj, prefix, "environment", JSON_ARRAY, &arr, err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	*out = calloc(json_array_size(arr), sizeof(**out));
	if (!*out)
		return taskdef_oom(err);
	json_array_foreach(arr, i, e) {
		snprintf(path, sizeof(path), "%s.environment[%zu]", prefix, i);
		if (!json_is_object(e))
			return taskdef_fail(err, CLIENT, "Expected object for %s", path);
		rc = taskdef_get_str(e, path, "name", &name, err);
		if (!rc)
			rc = taskdef_get_str(e, path, "value", &value, err);
		if (rc)
			return rc;
		if (!name || !*name || strchr(name, '='))
			return taskdef_fail(err, CLIENT, "Invalid environment variable name for %s "
					    "(%s.name): it must be non-empty and must not contain "
					    "'='.", who, path);
		(*out)[i].name = name;
		(*out)[i].value = value ? value : "";
		*n = i + 1;
	}
	return 0;
}

static int parse_identity(struct parse_ctx *ctx, json_t *obj, const char *prefix,
			  struct taskdef_container *c)
{
	int rc = taskdef_get_str(obj, prefix, "name", &c->name, ctx->err);

	if (!rc)
		rc = taskdef_get_str(obj, prefix, "image", &c->image, ctx->err);
	if (rc)
		return rc;
	if (!c->name || !*c->name)
		return taskdef_fail(ctx->err, CLIENT,
				    "Container.name should not be null or empty.");
	if (!name_is_valid(c->name, 255))
		return taskdef_fail(ctx->err, CLIENT, "Invalid container name '%.64s' (%s.name). "
				    "Up to 255 letters (uppercase and lowercase), numbers, "
				    "hyphens, and underscores are allowed.", c->name, prefix);
	if (!c->image || !*c->image)
		return taskdef_fail(ctx->err, CLIENT,
				    "Container.image should not be null or empty.");
	if (strlen(c->image) > MAX_IMAGE_LEN ||
	    regexec(&ctx->image_re, c->image, 0, NULL, 0) != 0)
		return taskdef_fail(ctx->err, CLIENT, "Invalid image '%.128s' for container '%s' "
				    "(%s.image): expected repository[:tag] or "
				    "repository@sha256:<64 hex digits>.", c->image, c->name,
				    prefix);
	return 0;
}

static int parse_container_size(struct parse_ctx *ctx, json_t *obj, const char *prefix,
				const char *who, struct taskdef_container *c)
{
	int rc = taskdef_get_int_range(obj, prefix, "cpu", who, 0, MAX_CPU_UNITS, 0, &c->cpu,
				       ctx->err);

	if (!rc)
		rc = taskdef_get_int_range(obj, prefix, "memory", who, 6, MAX_MIB, 0, &c->memory,
					   ctx->err);
	if (!rc)
		rc = taskdef_get_int_range(obj, prefix, "memoryReservation", who, 4, MAX_MIB, 0,
					   &c->memory_reservation, ctx->err);
	return rc;
}

static int parse_linux(struct parse_ctx *ctx, json_t *obj, const char *prefix,
		       struct taskdef_container *c)
{
	char path[PATH_LEN];
	json_t *lp;
	int rc = taskdef_get_typed(obj, prefix, "linuxParameters", JSON_OBJECT, &lp, ctx->err);

	if (rc || !lp)
		return rc;
	taskdef_field(path, sizeof(path), prefix, "linuxParameters");
	rc = taskdef_get_bool(lp, path, "initProcessEnabled", false, &c->init_process_enabled,
			      ctx->err);
	if (!rc)
		rc = taskdef_note_unused(&ctx->ignored, lp, path, linux_fields, NULL, ctx->err);
	return rc;
}

static int parse_process(struct parse_ctx *ctx, json_t *obj, const char *prefix,
			 const char *who, struct taskdef_container *c)
{
	struct taskdef_error *err = ctx->err;
	int start_max = ctx->sized_by ? 120 : 86400;
	int rc = taskdef_get_str_list(obj, prefix, "command", &c->command, &c->n_command, err);

	if (!rc)
		rc = taskdef_get_str_list(obj, prefix, "entryPoint", &c->entry_point,
					  &c->n_entry_point, err);
	if (!rc)
		rc = taskdef_parse_env(obj, prefix, who, &c->environment, &c->n_environment, err);
	if (!rc)
		rc = taskdef_get_str(obj, prefix, "workingDirectory", &c->working_directory, err);
	if (!rc)
		rc = taskdef_get_str(obj, prefix, "user", &c->user, err);
	if (!rc)
		rc = taskdef_get_bool(obj, prefix, "essential", true, &c->essential, err);
	if (!rc)
		rc = taskdef_get_bool(obj, prefix, "readonlyRootFilesystem", false,
				      &c->readonly_root_filesystem, err);
	if (!rc)
		rc = taskdef_get_bool(obj, prefix, "privileged", false, &c->privileged, err);
	if (!rc)
		rc = taskdef_get_int_range(obj, prefix, "stopTimeout", who, 2, 120, 30,
					   &c->stop_timeout, err);
	if (!rc)
		rc = taskdef_get_int_range(obj, prefix, "startTimeout", who, 2, start_max, 0,
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
		return taskdef_fail(ctx->err, CLIENT, "%s host port '%lld' is mapped multiple "
				    "times in task (%s.hostPort).",
				    proto == TASKDEF_PROTO_UDP ? "UDP" : "TCP", port, path);
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
		return taskdef_fail(ctx->err, CLIENT, "When networkMode=%s, the host ports and "
				    "container ports in port mappings must match (%s).", mode,
				    path);
	*host = container;
	return taskdef_set_default(p, "hostPort", json_integer(container), ctx->err);
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
		return taskdef_fail(ctx->err, CLIENT, "Expected object for %s", path);
	rc = taskdef_get_int(p, path, "containerPort", &f->container, &f->container_set, ctx->err);
	if (!rc)
		rc = taskdef_get_int(p, path, "hostPort", &f->host, &f->host_set, ctx->err);
	if (!rc)
		rc = taskdef_get_enum(p, path, "protocol", protocols, TASKDEF_PROTO_TCP, &f->proto,
				      ctx->err);
	if (!rc)
		rc = taskdef_get_str(p, path, "name", name, ctx->err);
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
		return taskdef_fail(ctx->err, CLIENT,
				    "Invalid 'containerPort' setting for %s (%s.containerPort).",
				    who, path);
	if (f.host_set && (hport < 0 || hport > 65535))
		return taskdef_fail(ctx->err, CLIENT,
				    "Invalid 'hostPort' setting for %s (%s.hostPort).", who, path);
	rc = pin_host_port(ctx, p, path, f.host_set, &hport, cport);
	if (!rc)
		rc = taskdef_set_default(p, "protocol", json_string(proto ? "udp" : "tcp"),
					 ctx->err);
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
	int rc = taskdef_get_typed(obj, prefix, "portMappings", JSON_ARRAY, &arr, ctx->err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	if (ctx->td->network_mode == TASKDEF_NETWORK_NONE)
		return taskdef_fail(ctx->err, CLIENT, "Invalid setting for %s (%s.portMappings): "
				    "port mappings are not allowed when networkMode is 'none'.",
				    who, prefix);
	c->ports = calloc(json_array_size(arr), sizeof(*c->ports));
	if (!c->ports)
		return taskdef_oom(ctx->err);
	json_array_foreach(arr, i, p) {
		snprintf(path, sizeof(path), "%s.portMappings[%zu]", prefix, i);
		rc = parse_port(ctx, p, path, who, &c->ports[c->n_ports], &used);
		if (!rc)
			rc = taskdef_note_unused(&ctx->ignored, p, path, port_fields, NULL,
						 ctx->err);
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
		return taskdef_fail(ctx->err, CLIENT, "Expected object for %s", path);
	rc = taskdef_get_enum(u, path, "name", ulimit_names, -1, &out->resource, ctx->err);
	if (!rc)
		rc = taskdef_get_int(u, path, "softLimit", &out->soft, &soft_set, ctx->err);
	if (!rc)
		rc = taskdef_get_int(u, path, "hardLimit", &out->hard, &hard_set, ctx->err);
	if (rc)
		return rc;
	if (out->resource < 0 || !soft_set || !hard_set)
		return taskdef_fail(ctx->err, CLIENT, "Invalid ulimit for %s (%s): name, softLimit "
				    "and hardLimit are required.", who, path);
	if (out->soft < 0 || out->hard < 0 || out->soft > out->hard)
		return taskdef_fail(ctx->err, CLIENT, "Invalid ulimit for %s (%s): limits must be "
				    ">= 0 and softLimit must not be greater than hardLimit.", who,
				    path);
	out->name = json_string_value(json_object_get(u, "name"));
	return 0;
}

static int parse_ulimits(struct parse_ctx *ctx, json_t *obj, const char *prefix,
			 const char *who, struct taskdef_container *c)
{
	char path[PATH_LEN + 32];
	json_t *arr, *u;
	size_t i;
	int rc = taskdef_get_typed(obj, prefix, "ulimits", JSON_ARRAY, &arr, ctx->err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	c->ulimits = calloc(json_array_size(arr), sizeof(*c->ulimits));
	if (!c->ulimits)
		return taskdef_oom(ctx->err);
	json_array_foreach(arr, i, u) {
		snprintf(path, sizeof(path), "%s.ulimits[%zu]", prefix, i);
		rc = parse_ulimit(ctx, u, path, who, &c->ulimits[i]);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (c->ulimits[j].resource == c->ulimits[i].resource)
				return taskdef_fail(ctx->err, CLIENT,
						    "Duplicate ulimit '%s' for %s (%s.name).",
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
	int cond, rc = taskdef_get_typed(obj, prefix, "dependsOn", JSON_ARRAY, &arr, ctx->err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	c->depends_on = calloc(json_array_size(arr), sizeof(*c->depends_on));
	if (!c->depends_on)
		return taskdef_oom(ctx->err);
	json_array_foreach(arr, i, d) {
		snprintf(path, sizeof(path), "%s.dependsOn[%zu]", prefix, i);
		if (!json_is_object(d))
			return taskdef_fail(ctx->err, CLIENT, "Expected object for %s", path);
		rc = taskdef_get_str(d, path, "containerName", &c->depends_on[i].container_name,
				     ctx->err);
		if (!rc)
			rc = taskdef_get_enum(d, path, "condition", conditions, -1, &cond,
					      ctx->err);
		if (rc)
			return rc;
		if (!c->depends_on[i].container_name || cond < 0)
			return taskdef_fail(ctx->err, CLIENT, "Invalid dependsOn for %s (%s): "
					    "containerName and condition are required.", who, path);
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
	int rc = taskdef_get_str_list(hc, path, "command", &h->command, &n, ctx->err);

	if (rc)
		return rc;
	if (n < 2 || (strcmp(h->command[0], "CMD") && strcmp(h->command[0], "CMD-SHELL")))
		return taskdef_fail(ctx->err, CLIENT, "Invalid healthCheck for %s (%s.command): "
				    "the command must be [\"CMD\", args...] or [\"CMD-SHELL\", "
				    "\"script\"].", who, path);
	h->kind = strcmp(h->command[0], "CMD") == 0 ? TASKDEF_HEALTH_CMD : TASKDEF_HEALTH_CMD_SHELL;
	memmove(h->command, h->command + 1, n * sizeof(*h->command));  /* keeps the NULL */
	h->n_command = n - 1;
	if (h->kind == TASKDEF_HEALTH_CMD)
		return 0;
	for (size_t i = 0; i < h->n_command; i++)
		len += strlen(h->command[i]) + 1;
	h->shell = malloc(len);
	if (!h->shell)
		return taskdef_oom(ctx->err);
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
	int rc = taskdef_get_typed(obj, prefix, "healthCheck", JSON_OBJECT, &hc, ctx->err);

	if (rc || !hc)
		return rc;
	taskdef_field(path, sizeof(path), prefix, "healthCheck");
	rc = health_command(ctx, hc, path, who, h);
	if (!rc)
		rc = taskdef_get_int_range(hc, path, "interval", who, 5, 300, 30, &h->interval,
					   ctx->err);
	if (!rc)
		rc = taskdef_get_int_range(hc, path, "timeout", who, 2, 60, 5, &h->timeout,
					   ctx->err);
	if (!rc)
		rc = taskdef_get_int_range(hc, path, "retries", who, 1, 10, 3, &h->retries,
					   ctx->err);
	if (!rc)
		rc = taskdef_get_int_range(hc, path, "startPeriod", who, 0, 300, 0,
					   &h->start_period, ctx->err);
	/* AWS shows the defaults it applied. */
	if (!rc)
		rc = taskdef_set_default(hc, "interval", json_integer(h->interval), ctx->err);
	if (!rc)
		rc = taskdef_set_default(hc, "timeout", json_integer(h->timeout), ctx->err);
	if (!rc)
		rc = taskdef_set_default(hc, "retries", json_integer(h->retries), ctx->err);
	if (!rc)
		rc = taskdef_note_unused(&ctx->ignored, hc, path, health_fields, NULL, ctx->err);
	return rc;
}

static int parse_exit_codes(struct parse_ctx *ctx, json_t *rp, const char *path,
			    struct taskdef_restart_policy *r)
{
	json_t *arr, *v;
	size_t i;
	int rc = taskdef_get_typed(rp, path, "ignoredExitCodes", JSON_ARRAY, &arr, ctx->err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	if (json_array_size(arr) > 50)
		return taskdef_fail(ctx->err, CLIENT, "Too many exit codes in %s.ignoredExitCodes: "
				    "at most 50 are allowed.", path);
	r->ignored_exit_codes = calloc(json_array_size(arr), sizeof(int));
	if (!r->ignored_exit_codes)
		return taskdef_oom(ctx->err);
	json_array_foreach(arr, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 255)
			return taskdef_fail(ctx->err, CLIENT, "Invalid exit code in "
					    "%s.ignoredExitCodes[%zu]: expected an integer between "
					    "0 and 255.", path, i);
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
	int rc = taskdef_get_typed(obj, prefix, "restartPolicy", JSON_OBJECT, &rp, ctx->err);

	if (rc || !rp)
		return rc;
	taskdef_field(path, sizeof(path), prefix, "restartPolicy");
	rc = taskdef_get_typed(rp, path, "enabled", JSON_TRUE, &enabled, ctx->err);
	if (rc)
		return rc;
	if (!enabled)
		return taskdef_fail(ctx->err, CLIENT, "Invalid restartPolicy for %s (%s.enabled): "
				    "enabled is required.", who, path);
	r->enabled = json_is_true(enabled);
	rc = parse_exit_codes(ctx, rp, path, r);
	if (!rc)
		rc = taskdef_get_int_range(rp, path, "restartAttemptPeriod", who, 60, 1800, 300,
					   &r->restart_attempt_period, ctx->err);
	c->has_restart_policy = rc == 0;
	return rc;
}

/* The members AWS always shows on a container. */
static int normalise_container(json_t *obj, struct taskdef_error *err)
{
	int rc = taskdef_set_default(obj, "essential", json_true(), err);

	if (!rc)
		rc = taskdef_set_default(obj, "portMappings", json_array(), err);
	if (!rc)
		rc = taskdef_set_default(obj, "environment", json_array(), err);
	if (!rc)
		rc = taskdef_set_default(obj, "mountPoints", json_array(), err);
	if (!rc)
		rc = taskdef_set_default(obj, "volumesFrom", json_array(), err);
	return rc;
}

static int parse_container(struct parse_ctx *ctx, json_t *obj, size_t i)
{
	struct taskdef_container *c = &ctx->td->containers[i];
	char prefix[PATH_LEN], who[WHO_LEN];
	int rc;

	snprintf(prefix, sizeof(prefix), "containerDefinitions[%zu]", i);
	if (!json_is_object(obj))
		return taskdef_fail(ctx->err, CLIENT, "Expected object for %s", prefix);
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
		rc = taskdef_note_unused(&ctx->ignored, obj, prefix, container_fields, NULL,
					 ctx->err);
	return rc;
}

int taskdef_parse_containers(struct parse_ctx *ctx, json_t *doc)
{
	struct taskdef *td = ctx->td;
	json_t *arr = json_object_get(doc, "containerDefinitions"), *c;
	size_t i;
	int rc;

	if (arr && !json_is_array(arr))
		return taskdef_fail(ctx->err, CLIENT, "Expected list for containerDefinitions");
	if (!arr || json_array_size(arr) == 0)
		return taskdef_fail(ctx->err, CLIENT, "Container list cannot be empty.");
	if (json_array_size(arr) > TASKDEF_MAX_CONTAINERS)
		return taskdef_fail(ctx->err, CLIENT, "Too many containers: at most %d are allowed "
				    "in containerDefinitions.", TASKDEF_MAX_CONTAINERS);
	td->containers = calloc(json_array_size(arr), sizeof(*td->containers));
	if (!td->containers)
		return taskdef_oom(ctx->err);
	td->n_containers = json_array_size(arr);
	json_array_foreach(arr, i, c) {
		rc = parse_container(ctx, c, i);
		if (rc)
			return rc;
	}
	return taskdef_check_containers(ctx);
}
