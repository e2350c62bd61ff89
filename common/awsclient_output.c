/* SPDX-License-Identifier: MIT */
/* awsclient_output.c: prints responses as the aws CLI does: json, text and table. */
#include "common/awsclient.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* A double as Python's repr() writes it: the shortest digits that read back the same, fixed
 * notation from 1e-4 up to 1e16 (always with a fraction), scientific outside. */
static void real_repr(double v, char out[40])
{
	int digits = 17, exp;
	char sci[40];

	if (!isfinite(v)) {
		snprintf(out, 40, "%s", isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
		return;
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(sci, sizeof(sci), "%.*e", p - 1, v);
		if (strtod(sci, NULL) == v) {
			digits = p;
			break;
		}
	}
	snprintf(sci, sizeof(sci), "%.*e", digits - 1, v);
	exp = atoi(strchr(sci, 'e') + 1);
	if (exp < -4 || exp >= 16) {
		snprintf(out, 40, "%s", sci);
		return;
	}
	snprintf(out, 40, "%.*f", digits - 1 - exp > 0 ? digits - 1 - exp : 0, v);
	if (!strchr(out, '.'))
		strcat(out, ".0");
}

/* A scalar as Python's str() shows it (the aws CLI's text output is written in Python). */
static void scalar_put(FILE *out, const json_t *v)
{
	char num[40];

	switch (json_typeof(v)) {
	case JSON_STRING:
		fwrite(json_string_value(v), 1, json_string_length(v), out);
		return;
	case JSON_INTEGER:
		fprintf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return;
	case JSON_REAL:
		real_repr(json_real_value(v), num);
		fputs(num, out);
		return;
	case JSON_TRUE:
		fputs("True", out);
		return;
	case JSON_FALSE:
		fputs("False", out);
		return;
	default:
		fputs("None", out);
		return;
	}
}

/* The same as a malloc'd string (the caller frees); NULL when out of memory. */
static char *scalar_str(const json_t *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	if (v)
		scalar_put(f, v);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* A string as Python's json.dumps(ensure_ascii=False) quotes it. */
static void json_put_string(FILE *out, const char *s, size_t len)
{
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" :
				  c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b" :
				  c == '\f' ? "\\f" : NULL;
		if (esc)
			fputs(esc, out);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* v as Python's json.dumps(indent=4) writes it, at nesting depth `depth`. */
static void json_put(FILE *out, const json_t *v, int depth)
{
	const char *key;
	json_t *child;
	size_t i, n = 0;

	if (json_is_object(v) && json_object_size(v)) {
		fputs("{\n", out);
		json_object_foreach((json_t *)v, key, child) {
			fprintf(out, "%s%*s", n++ ? ",\n" : "", 4 * (depth + 1), "");
			json_put_string(out, key, strlen(key));
			fputs(": ", out);
			json_put(out, child, depth + 1);
		}
		fprintf(out, "\n%*s}", 4 * depth, "");
	} else if (json_is_array(v) && json_array_size(v)) {
		fputs("[\n", out);
		json_array_foreach((json_t *)v, i, child) {
			fprintf(out, "%s%*s", i ? ",\n" : "", 4 * (depth + 1), "");
			json_put(out, child, depth + 1);
		}
		fprintf(out, "\n%*s]", 4 * depth, "");
	} else if (json_is_object(v) || json_is_array(v)) {
		fputs(json_is_object(v) ? "{}" : "[]", out);
	} else if (json_is_string(v)) {
		json_put_string(out, json_string_value(v), json_string_length(v));
	} else if (json_is_boolean(v) || json_is_null(v)) {
		fputs(json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null", out);
	} else {
		scalar_put(out, v);
	}
}

static int is_container(const json_t *v)
{
	return json_is_object(v) || json_is_array(v);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of obj, sorted; scalars_only keeps those whose value is not a container. The caller
 * frees the array (not the strings). Returns NULL when obj is empty or on allocation failure. */
static const char **sorted_keys(const json_t *obj, int scalars_only, int containers_only,
				size_t *n)
{
	const char **keys = malloc((json_object_size(obj) + 1) * sizeof(*keys));
	const char *key;
	json_t *v;

	*n = 0;
	if (!keys)
		return NULL;
	json_object_foreach((json_t *)obj, key, v) {
		if ((scalars_only && is_container(v)) || (containers_only && !is_container(v)))
			continue;
		keys[(*n)++] = key;
	}
	qsort(keys, *n, sizeof(*keys), cmp_str);
	return keys;
}

static void text_item(FILE *out, const json_t *v, const char *ident, const json_t *scalar_keys);

static void text_upper(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc(toupper((unsigned char)*s), out);
}

/* One cell of a text line: the upper-cased identifier opens the line, tabs separate cells. */
static void text_cell(FILE *out, const json_t *v, const char *ident, int *first)
{
	if (*first && ident)
		text_upper(out, ident);
	if (!*first || ident)
		fputc('\t', out);
	if (v && !is_container(v))
		scalar_put(out, v);
	*first = 0;
}

/* A dict: its scalars on one line (after the upper-cased identifier), then its containers. */
static void text_dict(FILE *out, const json_t *obj, const char *ident, const json_t *scalar_keys)
{
	size_t n = 0, nk = 0;
	const char **keys;
	int first = 1;

	if (scalar_keys) {
		for (size_t i = 0; i < json_array_size(scalar_keys); i++)
			text_cell(out, json_object_get(obj, json_string_value(
							   json_array_get(scalar_keys, i))), ident, &first);
	} else {
		keys = sorted_keys(obj, 1, 0, &n);
		for (size_t i = 0; keys && i < n; i++)
			text_cell(out, json_object_get(obj, keys[i]), ident, &first);
		free(keys);
	}
	if (!first)
		fputc('\n', out);
	keys = sorted_keys(obj, 0, scalar_keys ? 0 : 1, &nk);
	for (size_t i = 0; keys && i < nk; i++) {
		int listed = 0;
		for (size_t j = 0; scalar_keys && j < json_array_size(scalar_keys); j++)
			listed |= strcmp(keys[i], json_string_value(json_array_get(scalar_keys, j))) == 0;
		if (!listed)
			text_item(out, json_object_get(obj, keys[i]), keys[i], NULL);
	}
	free(keys);
}

/* The sorted union of the scalar keys of a list's dicts, as a JSON array of strings. */
static json_t *all_scalar_keys(const json_t *list)
{
	json_t *seen = json_object(), *keys = json_array(), *el, *v;
	const char *key;
	const char **sorted;
	size_t i, n = 0;

	json_array_foreach((json_t *)list, i, el) {
		if (!json_is_object(el))
			continue;
		json_object_foreach(el, key, v) {
			if (!is_container(v))
				json_object_set_new(seen, key, json_null());
		}
	}
	sorted = seen ? sorted_keys(seen, 0, 0, &n) : NULL;
	for (i = 0; sorted && keys && i < n; i++)
		json_array_append_new(keys, json_string(sorted[i]));
	free(sorted);
	json_decref(seen);
	return keys;
}

static void text_scalar_list(FILE *out, const json_t *list, const char *ident)
{
	size_t i, n = 0;
	json_t *el;

	json_array_foreach((json_t *)list, i, el) {
		if (is_container(el))
			continue;
		if (ident) {
			text_upper(out, ident);
			fputc('\t', out);
		} else if (n++) {
			fputc('\t', out);
		}
		scalar_put(out, el);
		if (ident)
			fputc('\n', out);
	}
	if (!ident)
		fputc('\n', out);
}

static void text_list(FILE *out, const json_t *list, const char *ident)
{
	int dicts = 0, lists = 0, scalars = 0;
	size_t i;
	json_t *el;

	json_array_foreach((json_t *)list, i, el) {
		dicts |= json_is_object(el);
		lists |= json_is_array(el);
		scalars |= !is_container(el);
	}
	if (!json_array_size(list))
		return;
	if (dicts) {
		json_t *keys = all_scalar_keys(list);
		json_array_foreach((json_t *)list, i, el)
			text_item(out, el, ident, keys);
		json_decref(keys);
		return;
	}
	if (scalars)
		text_scalar_list(out, list, ident);
	json_array_foreach((json_t *)list, i, el) {
		if (lists && is_container(el))
			text_item(out, el, ident, NULL);
	}
}

static void text_item(FILE *out, const json_t *v, const char *ident, const json_t *scalar_keys)
{
	if (json_is_object(v)) {
		text_dict(out, v, ident, scalar_keys);
	} else if (json_is_array(v)) {
		text_list(out, v, ident);
	} else {
		scalar_put(out, v);
		fputc('\n', out);
	}
}

static int table_print(FILE *out, const json_t *result, const char *title);

/* Like the aws CLI, a NextToken comes last, on its own "NEXTTOKEN" line. */
static void text_paged(FILE *out, const json_t *result)
{
	const json_t *token = json_object_get(result, "NextToken");
	json_t *rest;

	if (!json_is_string(token) || !(rest = json_copy((json_t *)result))) {
		text_item(out, result, NULL, NULL);
		return;
	}
	json_object_del(rest, "NextToken");
	text_item(out, rest, NULL, NULL);
	fprintf(out, "NEXTTOKEN\t%s\n", json_string_value(token));
	json_decref(rest);
}

int awsclient_print(FILE *out, const json_t *result, const char *format, const char *title)
{
	if (strcmp(format, "json") == 0) {
		if (json_is_object(result) && json_object_size(result) == 0)
			return 0;
		json_put(out, result, 0);
		fputc('\n', out);
	} else if (strcmp(format, "text") == 0) {
		text_paged(out, result);
	} else if (strcmp(format, "table") == 0) {
		if (table_print(out, result, title ? title : "") < 0)
			return -ENOMEM;
	} else {
		return -EINVAL;
	}
	return ferror(out) ? -EIO : 0;
}

/* ---- table output: a port of awscli's TableFormatter and MultiTable -------------------------- */

struct tsection {
	int indent;
	char *title;
	json_t *headers;      /* strings, or NULL */
	json_t *rows;         /* arrays of strings */
};

struct table {
	struct tsection *s;
	size_t n, cap;
	int failed;
};

static void table_section(struct table *t, const char *title, int indent)
{
	struct tsection *s;

	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		s = realloc(t->s, cap * sizeof(*s));
		if (!s) {
			t->failed = 1;
			return;
		}
		t->s = s;
		t->cap = cap;
	}
	s = &t->s[t->n++];
	*s = (struct tsection){ .indent = indent, .title = strdup(title), .rows = json_array() };
	t->failed |= !s->title || !s->rows;
}

static json_t *str_of(const json_t *v)
{
	char *text = v && !is_container(v) ? scalar_str(v) : NULL;
	json_t *s = json_string(text ? text : "");

	free(text);
	return s;
}

static void table_row(struct table *t, json_t *row)
{
	if (!t->n || !row || json_array_append_new(t->s[t->n - 1].rows, row) < 0)
		t->failed = 1;
}

static void table_header(struct table *t, json_t *headers)
{
	if (!t->n || !headers) {
		t->failed = 1;
		json_decref(headers);
		return;
	}
	json_decref(t->s[t->n - 1].headers);
	t->s[t->n - 1].headers = headers;
}

static json_t *strings_of(const char **keys, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(keys[i]));
	return a;
}

static json_t *values_of(const json_t *obj, const json_t *keys)
{
	json_t *row = json_array(), *k;
	size_t i;

	json_array_foreach((json_t *)keys, i, k)
		json_array_append_new(row, str_of(json_object_get(obj, json_string_value(k))));
	return row;
}

static void table_build(struct table *t, const char *title, const json_t *cur, int indent);

static void table_from_dict(struct table *t, const json_t *obj, int indent)
{
	size_t ns = 0, nc = 0;
	const char **scalars = sorted_keys(obj, 1, 0, &ns);
	const char **containers = sorted_keys(obj, 0, 1, &nc);
	json_t *headers = strings_of(scalars, ns);

	if (ns == 1) {
		table_row(t, json_pack("[so]", scalars[0], str_of(json_object_get(obj, scalars[0]))));
	} else if (ns) {
		table_header(t, json_incref(headers));
		table_row(t, values_of(obj, headers));
	}
	for (size_t i = 0; containers && i < nc; i++)
		table_build(t, containers[i], json_object_get(obj, containers[i]), indent + 1);
	json_decref(headers);
	free(scalars);
	free(containers);
}

/* The sorted union of the container-valued keys of a list's dicts. */
static json_t *all_container_keys(const json_t *list)
{
	json_t *seen = json_object(), *el, *v, *keys;
	const char *key;
	const char **sorted;
	size_t i, n = 0;

	json_array_foreach((json_t *)list, i, el) {
		json_object_foreach(el, key, v) {
			if (is_container(v))
				json_object_set_new(seen, key, json_null());
		}
	}
	sorted = sorted_keys(seen, 0, 0, &n);
	keys = strings_of(sorted, n);
	free(sorted);
	json_decref(seen);
	return keys;
}

static void table_from_list(struct table *t, const json_t *list, int indent, const char *title)
{
	json_t *headers = all_scalar_keys(list), *more = all_container_keys(list), *el, *k;
	size_t i, j;

	table_header(t, json_incref(headers));
	json_array_foreach((json_t *)list, i, el) {
		if (i > 0 && json_array_size(more)) {
			table_section(t, title ? title : "", indent);
			table_header(t, json_incref(headers));
		}
		table_row(t, values_of(el, headers));
		json_array_foreach(more, j, k) {
			const json_t *v = json_object_get(el, json_string_value(k));
			if (v)
				table_build(t, json_string_value(k), v, indent + 1);
		}
	}
	json_decref(headers);
	json_decref(more);
}

static int is_falsy(const json_t *v)
{
	return !v || json_is_null(v) || json_is_false(v) ||
	       (json_is_integer(v) && !json_integer_value(v)) ||
	       (json_is_real(v) && json_real_value(v) == 0.0) ||
	       (json_is_string(v) && !*json_string_value(v)) ||
	       (json_is_object(v) && !json_object_size(v)) ||
	       (json_is_array(v) && !json_array_size(v));
}

static int all_scalars(const json_t *list)
{
	size_t i;
	json_t *el;

	json_array_foreach((json_t *)list, i, el) {
		if (is_container(el))
			return 0;
	}
	return 1;
}

static void table_build(struct table *t, const char *title, const json_t *cur, int indent)
{
	size_t i;
	json_t *el, *row;

	if (is_falsy(cur) || t->failed)
		return;
	if (title)
		table_section(t, title, indent);
	if (json_is_array(cur) && json_is_object(json_array_get(cur, 0))) {
		table_from_list(t, cur, indent, title);
	} else if (json_is_array(cur)) {
		json_array_foreach((json_t *)cur, i, el) {
			if (!is_container(el)) {
				table_row(t, json_pack("[o]", str_of(el)));
			} else if (json_is_array(el) && all_scalars(el)) {
				size_t j;
				json_t *x;
				row = json_array();
				json_array_foreach(el, j, x)
					json_array_append_new(row, str_of(x));
				table_row(t, row);
			} else {
				table_build(t, NULL, el, indent);
			}
		}
	} else if (json_is_object(cur)) {
		table_from_dict(t, cur, indent);
	}
}

/* Display width: code points (the aws CLI counts East Asian wide ones twice; close enough). */
static long text_len(const char *s)
{
	long n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void spaces(FILE *out, long n, char c)
{
	while (n-- > 0)
		fputc(c, out);
}

static void center_text(FILE *out, const char *text, long width, const char *left,
			const char *right)
{
	long tl = text_len(text), start = width / 2 - tl / 2 - 1;

	fputs(left, out);
	spaces(out, start, ' ');
	fputs(text, out);
	spaces(out, width - (long)strlen(right) - ((long)strlen(left) + start + tl), ' ');
	fputs(right, out);
}

static void align_left(FILE *out, const char *text, long width, const char *left,
		       const char *right)
{
	long tl = text_len(text), edges = (long)strlen(left) + (long)strlen(right);
	long pad = width - (tl + 2 + edges) >= 0 ? 2 : 0;

	fputs(left, out);
	spaces(out, pad, ' ');
	fputs(text, out);
	spaces(out, width - ((long)strlen(left) + pad + tl) - (long)strlen(right), ' ');
	fputs(right, out);
}

static size_t section_cols(const struct tsection *s)
{
	if (s->headers)
		return json_array_size(s->headers);
	return json_array_size(json_array_get(s->rows, 0));
}

/* Column widths: the widest cell of each column plus padding, scaled to `width` when > 0. */
static void section_widths(const struct tsection *s, long *w, long width)
{
	size_t n = section_cols(s), i, r;
	long sum = 0, scaled = 0;
	json_t *row;

	for (i = 0; i < n; i++) {
		w[i] = s->headers ? text_len(json_string_value(json_array_get(s->headers, i))) : 0;
		json_array_foreach(s->rows, r, row) {
			const char *cell = json_string_value(json_array_get(row, i));
			if (cell && text_len(cell) > w[i])
				w[i] = text_len(cell);
		}
		w[i] += 4;
		sum += w[i];
	}
	if (width <= 0 || !sum)
		return;
	for (i = 0; i < n; i++) {
		w[i] = (long)rint((double)width / (double)sum * (double)w[i]);
		scaled += w[i];
	}
	/* Like awscli: take the rounding error off the first columns, or add it to the last. */
	for (i = 0; scaled > width; i++, scaled--)
		w[i % n]--;
	for (i = 0; scaled < width; i++, scaled++)
		w[n - 1 - i % n]++;
}

static long section_total(const struct tsection *s)
{
	size_t n = section_cols(s);
	long w[n ? n : 1], total = 2 + 2L * s->indent, title;

	section_widths(s, w, 0);
	for (size_t i = 0; i < n; i++)
		total += w[i];
	title = text_len(s->title) + 2 + 2L * s->indent;
	return title > total ? title : total;
}

static void line_break(FILE *out, const long *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i == 0) {
			fputc('+', out);
			spaces(out, w[i] - 2, '-');
		} else {
			spaces(out, w[i] - 1, '-');
		}
		fputc('+', out);
	}
}

/* Writes one line of a section between its indentation bars; kind picks the content. */
enum tline { TLINE_TITLE, TLINE_RULE, TLINE_BREAK, TLINE_HEADER, TLINE_ROW };

static void section_line(FILE *out, const struct tsection *s, enum tline kind, const long *w,
			 long width, const json_t *row)
{
	size_t n = section_cols(s);

	spaces(out, s->indent, '|');
	if (kind == TLINE_TITLE) {
		center_text(out, s->title, width, "|", "|");
	} else if (kind == TLINE_RULE) {
		fputc('+', out);
		spaces(out, width - 2, '-');
		fputc('+', out);
	} else if (kind == TLINE_BREAK) {
		line_break(out, w, n);
	} else {
		for (size_t i = 0; i < n; i++) {
			const char *cell = json_string_value(json_array_get(row, i));
			if (kind == TLINE_HEADER)
				center_text(out, cell ? cell : "", w[i], i ? "" : "|", "|");
			else
				align_left(out, cell ? cell : "", w[i], i ? "" : "|", "|");
		}
	}
	spaces(out, s->indent, '|');
	fputc('\n', out);
}

static void section_render(FILE *out, const struct tsection *s, long max_width)
{
	long width = max_width - 2L * s->indent;
	size_t n = section_cols(s), i;
	long w[n ? n : 1];
	json_t *row;

	section_widths(s, w, width);
	if (*s->title) {
		section_line(out, s, TLINE_TITLE, w, width, NULL);
		if (!json_array_size(s->headers) && !json_array_size(s->rows))
			section_line(out, s, TLINE_RULE, w, width, NULL);
	}
	if (json_array_size(s->headers)) {
		section_line(out, s, TLINE_BREAK, w, width, NULL);
		section_line(out, s, TLINE_HEADER, w, width, s->headers);
	}
	if (!json_array_size(s->rows) || !n)
		return;
	section_line(out, s, TLINE_BREAK, w, width, NULL);
	json_array_foreach(s->rows, i, row)
		section_line(out, s, TLINE_ROW, w, width, row);
	section_line(out, s, TLINE_BREAK, w, width, NULL);
}

static long table_width(const struct table *t)
{
	long max = 0;

	for (size_t i = 0; i < t->n; i++) {
		long w = section_total(&t->s[i]);
		max = w > max ? w : max;
	}
	return max;
}

/* Too wide for the terminal: one-row sections become "header | value" rows, as awscli does. */
static void table_verticalise(struct table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		struct tsection *s = &t->s[i];
		json_t *rows, *only = json_array_get(s->rows, 0), *h;
		size_t j;

		if (json_array_size(s->rows) != 1 || !s->headers)
			continue;
		rows = json_array();
		json_array_foreach(s->headers, j, h)
			json_array_append_new(rows, json_pack("[OO]", h, json_array_get(only, j)));
		json_decref(s->rows);
		json_decref(s->headers);
		s->rows = rows;
		s->headers = NULL;
	}
}

static long terminal_width(FILE *out)
{
	struct winsize ws;

	if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static int table_print(FILE *out, const json_t *result, const char *title)
{
	struct table t = { 0 };
	long width;
	int ret = 0;

	table_build(&t, title, result, 0);
	if (t.failed) {
		ret = -ENOMEM;
		goto out;
	}
	if (!t.n)
		goto out;
	width = table_width(&t);
	if (width > terminal_width(out)) {
		table_verticalise(&t);
		width = table_width(&t);
	}
	spaces(out, width, '-');
	fputc('\n', out);
	for (size_t i = 0; i < t.n; i++)
		section_render(out, &t.s[i], width);
out:
	for (size_t i = 0; i < t.n; i++) {
		free(t.s[i].title);
		json_decref(t.s[i].headers);
		json_decref(t.s[i].rows);
	}
	free(t.s);
	return ret;
}
