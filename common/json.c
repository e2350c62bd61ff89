/* SPDX-License-Identifier: MIT */
/* json.c: bounded JSON request decoding (depth, type checks) over jansson. */
#include "common/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int json_text_depth(const char *buf, size_t len)
{
	int depth = 0, max = 0;
	int in_str = 0, esc = 0;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];
		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if (c == '}' || c == ']') {
			if (--depth < 0)
				return -1;
		}
	}
	return max;
}

int json_decode_request(const char *buf, size_t len, int max_depth, json_t **out, struct berr *e)
{
	json_error_t jerr;
	int depth;
	json_t *o;

	if (len == 0) {
		*out = json_object();
		return *out ? 0 : -ENOMEM;
	}
	depth = json_text_depth(buf, len);
	if (depth > max_depth)
		return berr_set(e, 400, "SerializationException",
				"Request JSON is nested deeper than %d levels.", max_depth);
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return berr_set(e, 400, "SerializationException",
				"Malformed request JSON at line %d, column %d: %s", jerr.line,
				jerr.column, jerr.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return berr_set(e, 400, "SerializationException",
				"Request JSON must be an object.");
	}
	*out = o;
	return 0;
}

static int get_typed(const json_t *o, const char *key, json_t **v, json_type type, const char *what,
		     struct berr *e)
{
	json_t *x = json_object_get(o, key);

	if (!x || json_is_null(x))
		return 0;
	if (json_typeof(x) != type && !(type == JSON_TRUE && json_is_boolean(x)) &&
	    !(type == JSON_INTEGER && json_is_real(x) &&
	      json_real_value(x) == (double)(long long)json_real_value(x)))
		return berr_set(e, 400, "InvalidParameterException",
				"Invalid type for parameter %s, value: %s, valid types: %s", key,
				json_is_string(x) ? json_string_value(x) : "(non-string)", what);
	*v = x;
	return 1;
}

int json_get_string(const json_t *o, const char *key, const char **out, struct berr *e)
{
	json_t *v = NULL;
	int r = get_typed(o, key, &v, JSON_STRING, "<class 'str'>", e);

	if (r == 1)
		*out = json_string_value(v);
	return r;
}

int json_get_int(const json_t *o, const char *key, long long *out, struct berr *e)
{
	json_t *v = NULL;
	int r = get_typed(o, key, &v, JSON_INTEGER, "<class 'int'>", e);

	if (r == 1)
		*out = json_is_real(v) ? (long long)json_real_value(v) : json_integer_value(v);
	return r;
}

int json_get_bool(const json_t *o, const char *key, int *out, struct berr *e)
{
	json_t *v = NULL;
	int r = get_typed(o, key, &v, JSON_TRUE, "<class 'bool'>", e);

	if (r == 1)
		*out = json_is_true(v);
	return r;
}

int json_get_array(const json_t *o, const char *key, json_t **out, struct berr *e)
{
	return get_typed(o, key, out, JSON_ARRAY, "<class 'list'>", e);
}

int json_get_object(const json_t *o, const char *key, json_t **out, struct berr *e)
{
	return get_typed(o, key, out, JSON_OBJECT, "<class 'dict'>", e);
}

char *json_steal_dumps(json_t *o)
{
	char *s;

	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

char *json_steal_dumps_pretty(json_t *o)
{
	char *s;

	if (!o)
		return NULL;
	s = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	return s;
}
