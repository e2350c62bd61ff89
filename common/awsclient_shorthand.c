/* SPDX-License-Identifier: MIT */
/* awsclient_shorthand.c: the aws CLI's shorthand syntax ("key=k1,value=v1"), typed by hints. */
#include "common/awsclient.h"
#include "common/awsclient_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SHORTHAND_MAX_DEPTH 32

/* ---- shorthand: a port of awscli's ShorthandParser ---------------------------------------- */

struct shorthand {
	const char *s;
	size_t i, n;
	int depth;
	char *err;
	size_t errlen;
};

static int sh_eof(const struct shorthand *p)
{
	return p->i >= p->n;
}

static int sh_cur(const struct shorthand *p)
{
	return sh_eof(p) ? -1 : (unsigned char)p->s[p->i];
}

static void sh_skip_ws(struct shorthand *p)
{
	while (!sh_eof(p) && isspace((unsigned char)p->s[p->i]))
		p->i++;
}

static json_t *sh_fail(struct shorthand *p, const char *expected)
{
	if (sh_eof(p))
		awsclient_set_err(p->err, p->errlen, "expected '%s', received end of input, at column %zu of: %s",
			expected, p->i + 1, p->s);
	else
		awsclient_set_err(p->err, p->errlen, "expected '%s', received '%c', at column %zu of: %s",
			expected, p->s[p->i], p->i + 1, p->s);
	return NULL;
}

static int sh_expect(struct shorthand *p, char c, int ws)
{
	char what[2] = { c, '\0' };

	if (ws)
		sh_skip_ws(p);
	if (sh_cur(p) != (unsigned char)c) {
		sh_fail(p, what);
		return -EINVAL;
	}
	p->i++;
	if (ws)
		sh_skip_ws(p);
	return 0;
}

/* Character classes of awscli's value regexes (bytes >= 0x80 are allowed everywhere). */
static int is_start_char(int c)
{
	return c >= 0x80 || (c > 0x20 && c < 0x7f && !strchr("\"',=[{", c));
}

static int is_first_follow(int c)
{
	return c >= 0x80 || isspace(c) || (c > 0x20 && c < 0x7f && !strchr("\"',]}", c));
}

static int is_second_follow(int c)
{
	return c >= 0x80 || isspace(c) || (c > 0x20 && c < 0x7f && !strchr("\"',=", c));
}

/* Length of "(\\,|[start])(\\,|[follow])*" at the cursor; 0 when it does not match. */
static size_t sh_match(const struct shorthand *p, int (*follow)(int))
{
	size_t j = p->i;

	for (int first = 1; j < p->n; first = 0) {
		unsigned char c = (unsigned char)p->s[j];
		if (c == '\\' && j + 1 < p->n && p->s[j + 1] == ',')
			j += 2;
		else if (first ? is_start_char(c) : follow(c))
			j++;
		else
			break;
	}
	return j - p->i;
}

/* The matched text with "\," unescaped and trailing blanks removed. */
static json_t *sh_take(struct shorthand *p, size_t len)
{
	char *buf = malloc(len + 1);
	size_t o = 0;
	json_t *v;

	if (!buf)
		return NULL;
	for (size_t k = 0; k < len; k++) {
		if (p->s[p->i + k] == '\\' && k + 1 < len && p->s[p->i + k + 1] == ',')
			k++;
		buf[o++] = p->s[p->i + k];
	}
	while (o && isspace((unsigned char)buf[o - 1]))
		o--;
	p->i += len;
	v = json_stringn(buf, o);
	free(buf);
	return v;
}

/* 'single' or "double" quoted, with \' (\") and \\ unescaped. */
static json_t *sh_quoted(struct shorthand *p)
{
	char q = p->s[p->i], *buf;
	size_t j = p->i + 1, o = 0;
	json_t *v;

	buf = malloc(p->n - p->i + 1);
	if (!buf)
		return NULL;
	while (j < p->n && p->s[j] != q) {
		if (p->s[j] == '\\' && j + 1 < p->n && (p->s[j + 1] == q || p->s[j + 1] == '\\'))
			j++;
		buf[o++] = p->s[j++];
	}
	if (j >= p->n) {
		free(buf);
		return sh_fail(p, q == '"' ? "closing \"" : "closing '");
	}
	p->i = j + 1;
	v = json_stringn(buf, o);
	free(buf);
	return v;
}

static json_t *sh_first_value(struct shorthand *p)
{
	if (sh_cur(p) == '\'' || sh_cur(p) == '"')
		return sh_quoted(p);
	return sh_take(p, sh_match(p, is_first_follow));
}

static json_t *sh_second_value(struct shorthand *p)
{
	size_t len;

	if (sh_cur(p) == '\'' || sh_cur(p) == '"')
		return sh_quoted(p);
	len = sh_match(p, is_second_follow);
	if (!len)
		return sh_fail(p, "<second>");
	return sh_take(p, len);
}

static json_t *sh_explicit_values(struct shorthand *p);

/* "[" [value *("," value)] "]" */
static json_t *sh_explicit_list(struct shorthand *p)
{
	json_t *list = json_array(), *v;

	if (!list || sh_expect(p, '[', 1) < 0)
		goto fail;
	while (sh_cur(p) != ']') {
		v = sh_explicit_values(p);
		if (!v || json_array_append_new(list, v) < 0)
			goto fail;
		sh_skip_ws(p);
		if (sh_cur(p) != ']') {
			if (sh_expect(p, ',', 0) < 0)
				goto fail;
			sh_skip_ws(p);
		}
	}
	if (sh_expect(p, ']', 0) < 0)
		goto fail;
	return list;
fail:
	json_decref(list);
	return NULL;
}

static size_t sh_key(struct shorthand *p)
{
	size_t start = p->i;

	while (!sh_eof(p) && (isalnum((unsigned char)p->s[p->i]) || strchr("-_.#/:", p->s[p->i])))
		p->i++;
	return start;
}

/* "{" key "=" value *("," key "=" value) "}" */
static json_t *sh_hash(struct shorthand *p)
{
	json_t *obj = json_object(), *v;
	char key[256];

	if (!obj || sh_expect(p, '{', 1) < 0)
		goto fail;
	while (sh_cur(p) != '}') {
		size_t start = sh_key(p);
		snprintf(key, sizeof(key), "%.*s", (int)(p->i - start), p->s + start);
		if (sh_expect(p, '=', 1) < 0)
			goto fail;
		v = sh_explicit_values(p);
		if (!v || json_object_set_new(obj, key, v) < 0)
			goto fail;
		sh_skip_ws(p);
		if (sh_cur(p) != '}') {
			if (sh_expect(p, ',', 0) < 0)
				goto fail;
			sh_skip_ws(p);
		}
	}
	if (sh_expect(p, '}', 0) < 0)
		goto fail;
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

static json_t *sh_nested(struct shorthand *p, json_t *(*fn)(struct shorthand *))
{
	json_t *v;

	if (++p->depth > SHORTHAND_MAX_DEPTH) {
		awsclient_set_err(p->err, p->errlen, "shorthand nested deeper than %d levels",
			SHORTHAND_MAX_DEPTH);
		return NULL;
	}
	v = fn(p);
	p->depth--;
	return v;
}

static json_t *sh_explicit_values(struct shorthand *p)
{
	if (sh_cur(p) == '[')
		return sh_nested(p, sh_explicit_list);
	if (sh_cur(p) == '{')
		return sh_nested(p, sh_hash);
	return sh_first_value(p);
}

/* Goes back to the comma before the cursor, as awscli does when "b,c=d" turns out to hold a key. */
static void sh_backtrack(struct shorthand *p)
{
	while (p->i > 0 && (p->i >= p->n || p->s[p->i] != ','))
		p->i--;
}

/* The rest of "a,b,c" after its first value and comma; stops before a following "key=". */
static int sh_csv_rest(struct shorthand *p, json_t *list)
{
	for (;;) {
		json_t *v = sh_second_value(p);
		if (v) {
			sh_skip_ws(p);
			if (sh_eof(p))
				return json_array_append_new(list, v) < 0 ? -ENOMEM : 0;
			if (sh_cur(p) == ',') {
				p->i++;
				sh_skip_ws(p);
				if (json_array_append_new(list, v) < 0)
					return -ENOMEM;
				continue;
			}
			json_decref(v);
			sh_fail(p, ",");
		}
		if (sh_eof(p))
			return -EINVAL;
		sh_backtrack(p);
		return 0;
	}
}

/* value, or "a,b,c" as a list */
static json_t *sh_csv_value(struct shorthand *p)
{
	json_t *first = sh_first_value(p), *list;

	if (!first)
		return NULL;
	sh_skip_ws(p);
	if (sh_eof(p) || sh_cur(p) != ',')
		return first;
	p->i++;
	sh_skip_ws(p);
	list = json_array();
	if (!list || json_array_append(list, first) < 0 || sh_csv_rest(p, list) < 0) {
		json_decref(list);
		json_decref(first);
		return NULL;
	}
	if (json_array_size(list) == 1) {
		json_decref(list);
		return first;
	}
	json_decref(first);
	return list;
}

static json_t *sh_values(struct shorthand *p)
{
	if (sh_eof(p))
		return json_string("");
	if (sh_cur(p) == '[')
		return sh_nested(p, sh_explicit_list);
	if (sh_cur(p) == '{')
		return sh_nested(p, sh_hash);
	return sh_csv_value(p);
}

/* key "=" values *("," key "=" values) */
static json_t *sh_parameter(struct shorthand *p)
{
	json_t *obj = json_object(), *v;
	char key[256];

	while (obj) {
		size_t start = sh_key(p);
		snprintf(key, sizeof(key), "%.*s", (int)(p->i - start), p->s + start);
		if (sh_expect(p, '=', 1) < 0)
			break;
		if (json_object_get(obj, key)) {
			awsclient_set_err(p->err, p->errlen, "second instance of key \"%s\" in: %s (often a "
				"\",\" where a space should separate two values)", key, p->s);
			break;
		}
		v = sh_values(p);
		if (!v || json_object_set_new(obj, key, v) < 0)
			break;
		if (sh_eof(p))
			return obj;
		if (sh_expect(p, ',', 1) < 0)
			break;
	}
	json_decref(obj);
	return NULL;
}

/* ---- typing shorthand values from hints --------------------------------------------------- */

/* The hint letter for path, or 0. */
static char hint_for(const char *hints, const char *path)
{
	size_t len = strlen(path);

	for (const char *h = hints; h && *h; ) {
		const char *end = strchr(h, ',');
		size_t tok = end ? (size_t)(end - h) : strlen(h);
		if (tok == len + 2 && strncmp(h, path, len) == 0 && h[len] == ':')
			return h[len + 1];
		h = end ? end + 1 : h + tok;
	}
	return 0;
}

/* Converts one string value as hint says; returns the new value (a new reference) or NULL. */
static json_t *typed_scalar(const char *s, char hint, const char *path, char *err, size_t errlen)
{
	char *end;

	errno = 0;
	switch (hint) {
	case 'i': {
		long long v = strtoll(s, &end, 10);
		if (*s && !*end && !errno)
			return json_integer(v);
		break;
	}
	case 'f': {
		double v = strtod(s, &end);
		if (*s && !*end && !errno)
			return json_real(v);
		break;
	}
	case 'b':
		if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0)
			return json_boolean(strcasecmp(s, "true") == 0);
		break;
	case 'l':
		return json_pack("[s]", s);
	default:
		return json_string(s);
	}
	awsclient_set_err(err, errlen, "invalid value \"%s\" for %s: expected %s", s, path,
		hint == 'i' ? "an integer" : hint == 'f' ? "a number" : "true or false");
	return NULL;
}

static int apply_hints(json_t *v, const char *hints, const char *path, char *err, size_t errlen);

static int apply_hints_object(json_t *obj, const char *hints, const char *path,
			      char *err, size_t errlen)
{
	const char *key;
	json_t *child;
	char sub[512];

	json_object_foreach(obj, key, child) {
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
		if (json_is_string(child)) {
			json_t *typed = typed_scalar(json_string_value(child),
						     hint_for(hints, sub), sub, err, errlen);
			if (!typed || json_object_set_new(obj, key, typed) < 0)
				return -EINVAL;
		} else if (apply_hints(child, hints, sub, err, errlen) < 0) {
			return -EINVAL;
		}
	}
	return 0;
}

/* Types v's strings in place. Lists are transparent: their elements share the list's path. */
static int apply_hints(json_t *v, const char *hints, const char *path, char *err, size_t errlen)
{
	size_t i;
	json_t *el;
	char hint = hint_for(hints, path);

	if (json_is_object(v))
		return apply_hints_object(v, hints, path, err, errlen);
	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, el) {
		if (json_is_string(el) && hint && hint != 'l') {
			json_t *typed = typed_scalar(json_string_value(el), hint, path, err, errlen);
			if (!typed || json_array_set_new(v, i, typed) < 0)
				return -EINVAL;
		} else if (apply_hints(el, hints, path, err, errlen) < 0) {
			return -EINVAL;
		}
	}
	return 0;
}

json_t *awsclient_parse_shorthand(const char *text, const char *hints, char *err, size_t errlen)
{
	struct shorthand p = { .s = text, .n = strlen(text), .err = err, .errlen = errlen };
	json_t *obj;

	awsclient_set_err(err, errlen, "out of memory");
	obj = sh_parameter(&p);
	if (obj && apply_hints(obj, hints, "", err, errlen) < 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

