/* SPDX-License-Identifier: MIT */
/* taskdef.c: task definition entry points: task-level fields, the normalised AWS document. */
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

#include "common/util.h"
#include "runtime/taskdef_internal.h"

#define MAX_TAGS 50

/* Docker image references: [domain[:port]/]path[:tag][@sha256:digest]. */
#define RE_LABEL "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
#define RE_DOMAIN RE_LABEL "(\\." RE_LABEL ")*(:[0-9]+)?"
#define RE_COMPONENT "[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*"
#define IMAGE_RE "^(" RE_DOMAIN "/)?" RE_COMPONENT "(/" RE_COMPONENT ")*" \
		 "(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"

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
static const struct name_value statuses[] = {
	{ "ACTIVE", TASKDEF_STATUS_ACTIVE }, { "INACTIVE", TASKDEF_STATUS_INACTIVE },
	{ "DELETE_IN_PROGRESS", TASKDEF_STATUS_DELETE_IN_PROGRESS }, { NULL, 0 },
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
/* The key order of AWS's TaskDefinition output; other keys follow in request order. */
static const char *const doc_order[] = {
	"taskDefinitionArn", "containerDefinitions", "family", "taskRoleArn", "executionRoleArn",
	"networkMode", "revision", "volumes", "status", "requiresAttributes",
	"placementConstraints", "compatibilities", "runtimePlatform", "requiresCompatibilities",
	"cpu", "memory", "inferenceAccelerators", "pidMode", "ipcMode", "proxyConfiguration",
	"registeredAt", "deregisteredAt", "registeredBy", "ephemeralStorage", NULL,
};

/* ---- task level ---- */

static int parse_family(struct parse_ctx *ctx, json_t *doc)
{
	const char *s;
	int rc = taskdef_get_str(doc, "", "family", &s, ctx->err);

	if (rc)
		return rc;
	if (!s || !*s)
		return taskdef_fail(ctx->err, CLIENT, "Family should not be null or empty.");
	if (!name_is_valid(s, 255))
		return taskdef_fail(ctx->err, CLIENT, "Invalid family '%.64s' (family). Up to 255 "
				    "letters (uppercase and lowercase), numbers, hyphens, and "
				    "underscores are allowed.", s);
	ctx->td->family = s;
	return 0;
}

static int parse_compatibilities(struct parse_ctx *ctx, json_t *doc)
{
	char path[PATH_LEN];
	json_t *arr, *v;
	size_t i;
	int bit, rc = taskdef_get_typed(doc, "", "requiresCompatibilities", JSON_ARRAY, &arr,
					ctx->err);

	if (rc || !arr)
		return rc;
	json_array_foreach(arr, i, v) {
		snprintf(path, sizeof(path), "requiresCompatibilities[%zu]", i);
		if (!json_is_string(v))
			return taskdef_fail(ctx->err, CLIENT, "Expected string for %s", path);
		rc = taskdef_enum_value(compat_names, json_string_value(v), path, &bit, ctx->err);
		if (rc)
			return rc;
		ctx->td->requires_compatibilities |= (unsigned)bit;
	}
	if ((ctx->td->requires_compatibilities & TASKDEF_COMPAT_FARGATE) &&
	    ctx->td->network_mode != TASKDEF_NETWORK_AWSVPC)
		return taskdef_fail(ctx->err, CLIENT,
				    "Fargate only supports network mode 'awsvpc'.");
	return 0;
}

static int parse_modes(struct parse_ctx *ctx, json_t *doc)
{
	struct taskdef *td = ctx->td;
	int net, pid, ipc, rc;

	rc = taskdef_get_enum(doc, "", "networkMode", network_modes, TASKDEF_NETWORK_BRIDGE, &net,
			      ctx->err);
	if (!rc)
		rc = taskdef_get_enum(doc, "", "pidMode", pid_modes, TASKDEF_NS_UNSET, &pid,
				      ctx->err);
	if (!rc)
		rc = taskdef_get_enum(doc, "", "ipcMode", ipc_modes, TASKDEF_NS_UNSET, &ipc,
				      ctx->err);
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
	int rc = taskdef_get_typed(doc, "", "ephemeralStorage", JSON_OBJECT, &eph, ctx->err);

	if (rc || !eph)
		return rc;
	rc = taskdef_get_int(eph, "ephemeralStorage", "sizeInGiB", &gib, &set, ctx->err);
	if (rc)
		return rc;
	if (!set || gib < 21 || gib > 200)
		return taskdef_fail(ctx->err, CLIENT, "Invalid 'ephemeralStorage.sizeInGiB' "
				    "setting for task: must be between 21 and 200.");
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
		return taskdef_fail(ctx->err, CLIENT, "Expected object for %s", prefix);
	rc = taskdef_get_str(t, prefix, "key", &key, ctx->err);
	if (!rc)
		rc = taskdef_get_str(t, prefix, "value", &value, ctx->err);
	if (rc)
		return rc;
	if (!key || utf8_chars(key) < 1 || utf8_chars(key) > 128)
		return taskdef_fail(ctx->err, INVALID,
				    "Tag keys must be 1 to 128 characters (%s.key).", prefix);
	if (value && utf8_chars(value) > 256)
		return taskdef_fail(ctx->err, INVALID, "Tag values must be at most 256 characters "
				    "(%s.value).", prefix);
	if (!tag_text_ok(key) || (value && !tag_text_ok(value)))
		return taskdef_fail(ctx->err, INVALID, "Invalid characters in tag %s. Letters, "
				    "numbers, spaces and _ . : / = + - @ are allowed.", prefix);
	if (strncasecmp(key, "aws:", 4) == 0)
		return taskdef_fail(ctx->err, INVALID,
				    "Tag keys beginning with 'aws:' are reserved (%s.key).",
				    prefix);
	out->key = key;
	out->value = value ? value : "";
	return 0;
}

static int parse_tags(struct parse_ctx *ctx, json_t *doc)
{
	struct taskdef *td = ctx->td;
	json_t *arr, *t;
	size_t i;
	int rc = taskdef_get_typed(doc, "", "tags", JSON_ARRAY, &arr, ctx->err);

	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	if (json_array_size(arr) > MAX_TAGS)
		return taskdef_fail(ctx->err, INVALID,
				    "Too many tags: at most %d are allowed (tags).", MAX_TAGS);
	td->tags = calloc(json_array_size(arr), sizeof(*td->tags));
	if (!td->tags)
		return taskdef_oom(ctx->err);
	json_array_foreach(arr, i, t) {
		rc = parse_tag(ctx, t, i, &td->tags[i]);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (strcmp(td->tags[j].key, td->tags[i].key) == 0)
				return taskdef_fail(ctx->err, INVALID, "Duplicate tag key '%.64s' "
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
		rc = taskdef_task_size_field(doc, "cpu", "", 128, MAX_CPU_UNITS, &td->cpu,
					     ctx->err);
	if (!rc)
		rc = taskdef_task_size_field(doc, "memory", "", 6, MAX_MIB, &td->memory, ctx->err);
	if (!rc)
		rc = parse_ephemeral(ctx, doc);
	if (!rc)
		rc = parse_tags(ctx, doc);
	ctx->sized_by = taskdef_sized_by(td);
	return rc;
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
	int rc = taskdef_set_default(doc, "volumes", json_array(), ctx->err);

	if (!rc)
		rc = taskdef_set_default(doc, "placementConstraints", json_array(), ctx->err);
	if (!rc)
		rc = taskdef_set_default(doc, "status", json_string("ACTIVE"), ctx->err);
	if (!rc)
		rc = taskdef_set_default(doc, "compatibilities", compatibilities(ctx->td),
					 ctx->err);
	if (!rc)
		rc = taskdef_set_default(doc, "requiresAttributes", requires_attributes(ctx->td),
					 ctx->err);
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
		return taskdef_fail(err, CLIENT, "Expected number for %s", key);
	*out = json_number_value(v);
	return 0;
}

/* The fields of a stored document that a request never sets. */
static int parse_state_fields(struct parse_ctx *ctx, json_t *doc)
{
	struct taskdef *td = ctx->td;
	const char *arn;
	int status, rc = taskdef_get_str(doc, "", "taskDefinitionArn", &arn, ctx->err);

	if (!rc)
		rc = taskdef_get_int_range(doc, "", "revision", "task", 0, INT32_MAX, 0,
					   &td->revision, ctx->err);
	if (!rc)
		rc = taskdef_get_enum(doc, "", "status", statuses, TASKDEF_STATUS_ACTIVE, &status,
				      ctx->err);
	if (!rc)
		rc = get_time(doc, "registeredAt", &td->registered_at, ctx->err);
	if (!rc)
		rc = get_time(doc, "deregisteredAt", &td->deregistered_at, ctx->err);
	if (rc)
		return rc;
	td->status = status;
	if (arn && !(td->arn = strdup(arn)))
		return taskdef_oom(ctx->err);
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

	taskdef_strip_nulls(doc);
	if (ctx->from_state)
		rc = parse_state_fields(ctx, doc);
	else
		for (size_t i = 0; output_fields[i]; i++)
			json_object_del(doc, output_fields[i]);
	if (!rc)
		rc = parse_task_level(ctx, doc);
	if (!rc)
		rc = taskdef_parse_containers(ctx, doc);
	if (!rc)
		rc = taskdef_note_unused(&ctx->ignored, doc, "", task_fields, output_fields,
					 ctx->err);
	if (!rc && !ctx->from_state)
		rc = finish_document(ctx, doc);
	if (!rc)
		move_tags(ctx->td);
	if (!rc && reorder_document(&ctx->td->doc))
		rc = taskdef_oom(ctx->err);
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
		return taskdef_oom(err);
	}
	ctx.td->doc = doc;
	ctx.host_ports = calloc(2 * 65536 / 8, 1);
	if (!doc || !ctx.host_ports ||
	    regcomp(&ctx.image_re, IMAGE_RE, REG_EXTENDED | REG_NOSUB) != 0) {
		rc = taskdef_oom(err);
		goto out;
	}
	ctx.have_re = true;
	rc = parse_all(&ctx);
	if (rc == 0) {
		taskdef_take_ignored(&ctx.ignored, &ctx.td->ignored, &ctx.td->n_ignored);
		*out = ctx.td;
		ctx.td = NULL;
	}
out:
	if (ctx.have_re)
		regfree(&ctx.image_re);
	free(ctx.host_ports);
	taskdef_ignored_free(&ctx.ignored);
	taskdef_free(ctx.td);
	return rc;
}

int taskdef_parse(const json_t *request, struct taskdef **out, struct taskdef_error *err)
{
	if (!out)
		return -EINVAL;
	if (!json_is_object(request))
		return taskdef_fail(err, CLIENT,
				    "Expected object for the RegisterTaskDefinition request");
	return parse_document(json_deep_copy(request), false, out, err);
}

int taskdef_from_json(const json_t *doc, struct taskdef **out, struct taskdef_error *err)
{
	if (!out)
		return -EINVAL;
	if (!json_is_object(doc))
		return taskdef_fail(err, CLIENT,
				    "Expected object for the task definition document");
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

	if (!td || !status || taskdef_enum_value(statuses, status, "status", &st, &err) ||
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
