/* SPDX-License-Identifier: MIT */
/* taskdef_fields.c: typed members of JSON objects with AWS-worded errors; ignored-field lists. */
#include "runtime/taskdef_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int taskdef_fail(struct taskdef_error *err, const char *type, const char *fmt, ...)
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

int taskdef_oom(struct taskdef_error *err)
{
	taskdef_fail(err, "ServerException", "Out of memory.");
	return -ENOMEM;
}

/* "prefix.key", or "key" at the top level. */
const char *taskdef_field(char *buf, size_t len, const char *prefix, const char *key)
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
int taskdef_get_typed(json_t *obj, const char *prefix, const char *key, json_type type,
		      json_t **out, struct taskdef_error *err)
{
	char path[PATH_LEN];
	json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v)
		return 0;
	if (type == JSON_TRUE ? !json_is_boolean(v) : json_typeof(v) != type)
		return taskdef_fail(err, CLIENT, "Expected %s for %s", type_word(type),
				    taskdef_field(path, sizeof(path), prefix, key));
	*out = v;
	return 0;
}

bool taskdef_has_nul(const json_t *s)
{
	return strlen(json_string_value(s)) != json_string_length(s);
}

/* A string field (borrowed), NULL when absent. Embedded NULs are refused: the value ends up
 * in argv, environments and paths. */
int taskdef_get_str(json_t *obj, const char *prefix, const char *key, const char **out,
		    struct taskdef_error *err)
{
	char path[PATH_LEN];
	json_t *v;
	int rc = taskdef_get_typed(obj, prefix, key, JSON_STRING, &v, err);

	*out = NULL;
	if (rc || !v)
		return rc;
	if (taskdef_has_nul(v))
		return taskdef_fail(err, CLIENT, "Invalid NUL character in %s",
				    taskdef_field(path, sizeof(path), prefix, key));
	*out = json_string_value(v);
	return 0;
}

int taskdef_get_int(json_t *obj, const char *prefix, const char *key, long long *out, bool *set,
		    struct taskdef_error *err)
{
	json_t *v;
	int rc = taskdef_get_typed(obj, prefix, key, JSON_INTEGER, &v, err);

	*set = v != NULL;
	*out = v ? json_integer_value(v) : 0;
	return rc;
}

/* An integer in lo..hi (dflt when absent); who ("container 'web'") names the owner. */
int taskdef_get_int_range(json_t *obj, const char *prefix, const char *key, const char *who,
			  long long lo, long long hi, int dflt, int *out,
			  struct taskdef_error *err)
{
	char path[PATH_LEN];
	long long v;
	bool set;
	int rc = taskdef_get_int(obj, prefix, key, &v, &set, err);

	if (rc)
		return rc;
	if (!set) {
		*out = dflt;
		return 0;
	}
	if (v < lo || v > hi)
		return taskdef_fail(err, CLIENT, "Invalid '%s' setting for %s (%s): must be "
				    "between %lld and %lld.", key, who,
				    taskdef_field(path, sizeof(path), prefix, key), lo, hi);
	*out = (int)v;
	return 0;
}

int taskdef_get_bool(json_t *obj, const char *prefix, const char *key, bool dflt, bool *out,
		     struct taskdef_error *err)
{
	json_t *v;
	int rc = taskdef_get_typed(obj, prefix, key, JSON_TRUE, &v, err);

	*out = v ? json_is_true(v) : dflt;
	return rc;
}

/* A list of strings as a NULL-terminated array (owned; strings borrowed); an empty or absent
 * list gives NULL. */
int taskdef_get_str_list(json_t *obj, const char *prefix, const char *key, const char ***out,
			 size_t *n, struct taskdef_error *err)
{
	char path[PATH_LEN], item[PATH_LEN + 24];
	json_t *arr, *v;
	const char **list;
	size_t i;
	int rc = taskdef_get_typed(obj, prefix, key, JSON_ARRAY, &arr, err);

	*out = NULL;
	*n = 0;
	if (rc || !arr || json_array_size(arr) == 0)
		return rc;
	list = calloc(json_array_size(arr) + 1, sizeof(*list));
	if (!list)
		return taskdef_oom(err);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || taskdef_has_nul(v)) {
			free(list);
			snprintf(item, sizeof(item), "%s[%zu]",
				 taskdef_field(path, sizeof(path), prefix, key), i);
			return taskdef_fail(err, CLIENT, "Expected string for %s", item);
		}
		list[i] = json_string_value(v);
	}
	*out = list;
	*n = json_array_size(arr);
	return 0;
}

int taskdef_enum_value(const struct name_value *tab, const char *s, const char *path, int *out,
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
	return taskdef_fail(err, CLIENT, "Invalid value '%.64s' for %s. Valid values: %s.", s, path,
			    valid);
}

int taskdef_get_enum(json_t *obj, const char *prefix, const char *key,
		     const struct name_value *tab, int dflt, int *out, struct taskdef_error *err)
{
	char path[PATH_LEN];
	const char *s;
	int rc = taskdef_get_str(obj, prefix, key, &s, err);

	if (rc)
		return rc;
	if (!s) {
		*out = dflt;
		return 0;
	}
	return taskdef_enum_value(tab, s, taskdef_field(path, sizeof(path), prefix, key), out, err);
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
	l->v[l->n] = strdup(taskdef_field(path, sizeof(path), prefix, key));
	if (!l->v[l->n])
		return -ENOMEM;
	l->v[++l->n] = NULL;
	return 0;
}

void taskdef_ignored_free(struct ignored_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Hands the list over to its owner. */
void taskdef_take_ignored(struct ignored_list *l, char ***v, size_t *n)
{
	*v = l->v;
	*n = l->n;
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Lists the non-empty members of obj that are neither used nor skipped. */
int taskdef_note_unused(struct ignored_list *l, json_t *obj, const char *prefix,
			const char *const *used, const char *const *skip,
			struct taskdef_error *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		if (in_list(used, key) || (skip && in_list(skip, key)) || is_empty(v))
			continue;
		if (ignored_add(l, prefix, key))
			return taskdef_oom(err);
	}
	return 0;
}

/* AWS treats a JSON null member as absent; so does berth, and the document drops it. */
void taskdef_strip_nulls(json_t *v)
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
				taskdef_strip_nulls(m);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			taskdef_strip_nulls(m);
	}
}

/* Adds key = value (a new reference, stolen) unless obj has key already. */
int taskdef_set_default(json_t *obj, const char *key, json_t *value, struct taskdef_error *err)
{
	if (!value)
		return taskdef_oom(err);
	if (json_object_get(obj, key)) {
		json_decref(value);
		return 0;
	}
	return json_object_set_new(obj, key, value) ? taskdef_oom(err) : 0;
}
