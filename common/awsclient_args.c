/* SPDX-License-Identifier: MIT */
/* awsclient_args.c: aws-CLI arguments over an operation table: flag names, shorthand, requests. */
#include "common/awsclient.h"
#include "common/awsclient_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/fileio.h"

#define VALUE_FILE_MAX (16 << 20)

void awsclient_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- names ----------------------------------------------------------------------------- */

/* Appends c to out[*n] when it fits; always keeps out NUL-terminated. */
static void put(char *out, size_t len, size_t *n, char c)
{
	if (*n + 1 < len)
		out[(*n)++] = c;
	else
		*n = len;   /* remember the overflow */
	if (len)
		out[*n < len ? *n : len - 1] = '\0';
}

/* "(.)([A-Z][a-z]+)" -> "\1-\2", the first of botocore's two rewrites. */
static void split_capitalised(const char *in, char *out, size_t len, size_t *n)
{
	size_t i = 0;

	while (in[i]) {
		if (in[i + 1] && isupper((unsigned char)in[i + 1]) &&
		    islower((unsigned char)in[i + 2])) {
			put(out, len, n, in[i]);
			put(out, len, n, '-');
			put(out, len, n, in[i + 1]);
			for (i += 2; islower((unsigned char)in[i]); i++)
				put(out, len, n, in[i]);
			continue;
		}
		put(out, len, n, in[i++]);
	}
}

/* "([a-z0-9])([A-Z])" -> "\1-\2", then lower case: the second rewrite. */
static void split_after_lower(const char *in, char *out, size_t len, size_t *n)
{
	for (size_t i = 0; in[i]; i++) {
		put(out, len, n, (char)tolower((unsigned char)in[i]));
		if ((islower((unsigned char)in[i]) || isdigit((unsigned char)in[i])) &&
		    isupper((unsigned char)in[i + 1]))
			put(out, len, n, '-');
	}
}

int awsclient_cli_name(const char *api_name, char *out, size_t len)
{
	char work[256], mid[300];
	size_t n = 0, tail = 0, name_len = strlen(api_name);

	if (!len)
		return -ENAMETOOLONG;
	if (strchr(api_name, '-') || name_len >= sizeof(work)) {
		snprintf(out, len, "%s", api_name);
		return strlen(api_name) < len ? 0 : -ENAMETOOLONG;
	}
	/* "[A-Z]{2,}s$" (ARNs, ACLs) becomes "-arns" before the other rewrites. */
	if (name_len > 2 && api_name[name_len - 1] == 's') {
		while (tail + 1 < name_len && isupper((unsigned char)api_name[name_len - 2 - tail]))
			tail++;
	}
	if (tail >= 2) {
		size_t head = name_len - 1 - tail;
		snprintf(work, sizeof(work), "%.*s-", (int)head, api_name);
		for (size_t i = head; i < name_len; i++)
			work[head + 1 + i - head] = (char)tolower((unsigned char)api_name[i]);
		work[name_len + 1] = '\0';
	} else {
		snprintf(work, sizeof(work), "%s", api_name);
	}
	split_capitalised(work, mid, sizeof(mid), &n);
	n = 0;
	split_after_lower(mid, out, len, &n);
	return n < len ? 0 : -ENAMETOOLONG;
}

const struct awsclient_op *awsclient_op_find(const struct awsclient_service *svc, const char *verb)
{
	char name[128];

	for (size_t i = 0; i < svc->n_ops; i++) {
		if (awsclient_cli_name(svc->ops[i].name, name, sizeof(name)) == 0 &&
		    strcmp(name, verb) == 0)
			return &svc->ops[i];
	}
	return NULL;
}

/* The negative flag of a boolean member into out ("no-force" or the table's override). */
static void negative_flag(const struct awsclient_member *m, const char *flag, char *out, size_t len)
{
	if (m->negative_flag)
		snprintf(out, len, "%s", m->negative_flag);
	else
		snprintf(out, len, "no-%s", flag);
}

const struct awsclient_member *awsclient_member_find(const struct awsclient_op *op,
						     const char *flag, int *value)
{
	char name[128], neg[160];

	for (const struct awsclient_member *m = op->members; m->name; m++) {
		if (awsclient_cli_name(m->name, name, sizeof(name)) < 0)
			continue;
		if (strcmp(name, flag) == 0) {
			*value = 1;
			return m;
		}
		negative_flag(m, name, neg, sizeof(neg));
		if (m->type == AWSCLIENT_BOOLEAN && strcmp(neg, flag) == 0) {
			*value = 0;
			return m;
		}
	}
	return NULL;
}

/* ---- arguments ------------------------------------------------------------------------------ */

/* The state of one awsclient_parse_args run. */
struct argscan {
	const struct awsclient_service *svc;
	const struct awsclient_op *op;
	struct awsclient_invocation *inv;
	json_t *flags;        /* members given as flags */
	json_t *input;        /* --cli-input-json */
	char unknown[512];
	char *err;
	size_t errlen;
};

/* *out is v, or the contents of the file a "file://PATH" value names (*owned, the caller frees). */
static int resolve_value(const char *flag, const char *v, char **owned, const char **out,
			 char *err, size_t errlen)
{
	size_t len;
	int ret;

	*owned = NULL;
	*out = v;
	if (strncmp(v, "file://", 7) != 0)
		return 0;
	ret = file_read_all(v + 7, VALUE_FILE_MAX, owned, &len);
	if (ret < 0) {
		awsclient_set_err(err, errlen, "Error parsing parameter '--%s': Unable to load paramfile %s: %s",
			flag, v, strerror(-ret));
		return ret;
	}
	*out = *owned;
	return 0;
}

static json_t *parse_json_text(const char *flag, const char *text, char *err, size_t errlen)
{
	json_error_t je;
	json_t *v = json_loads(text, 0, &je);

	if (!v)
		awsclient_set_err(err, errlen, "Error parsing parameter '--%s': Invalid JSON: %s (line %d, "
			"column %d)", flag, je.text, je.line, je.column);
	return v;
}

/* One value of a structure or map member: JSON when it starts with '{' or '[', else shorthand. */
static json_t *complex_value(const struct awsclient_member *m, const char *flag, const char *text,
			     char *err, size_t errlen)
{
	char why[1024];
	json_t *v;

	while (isspace((unsigned char)*text))
		text++;
	if (*text == '{' || *text == '[')
		return parse_json_text(flag, text, err, errlen);
	v = awsclient_parse_shorthand(text, m->hints, why, sizeof(why));
	if (!v)
		awsclient_set_err(err, errlen, "Error parsing parameter '--%s': %s", flag, why);
	return v;
}

static json_t *string_value(const char *flag, const char *text, char *err, size_t errlen)
{
	json_t *v = json_string(text);

	if (!v)
		awsclient_set_err(err, errlen, "Error parsing parameter '--%s': not valid UTF-8", flag);
	return v;
}

static json_t *integer_value(const char *flag, const char *text, char *err, size_t errlen)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	if (!*text || *end || errno) {
		awsclient_set_err(err, errlen, "argument --%s: invalid integer value: '%s'", flag, text);
		return NULL;
	}
	return json_integer(v);
}

/* A list member: one JSON array, or each value converted by `one`. */
static json_t *list_value(const struct awsclient_member *m, const char *flag, const char **vals,
			  int n, char *err, size_t errlen)
{
	const char *first = vals[0];
	json_t *list;

	while (isspace((unsigned char)*first))
		first++;
	if (n == 1 && *first == '[')
		return parse_json_text(flag, first, err, errlen);
	list = json_array();
	for (int k = 0; list && k < n; k++) {
		json_t *v = m->type == AWSCLIENT_STRING_LIST ?
			    string_value(flag, vals[k], err, errlen) :
			    complex_value(m, flag, vals[k], err, errlen);
		if (!v || json_array_append_new(list, v) < 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

static json_t *member_value(const struct awsclient_member *m, const char *flag, const char **vals,
			    int n, int bval, char *err, size_t errlen)
{
	switch (m->type) {
	case AWSCLIENT_BOOLEAN:
		return json_boolean(bval);
	case AWSCLIENT_STRING:
		return string_value(flag, vals[0], err, errlen);
	case AWSCLIENT_INTEGER:
		return integer_value(flag, vals[0], err, errlen);
	case AWSCLIENT_STRING_LIST:
	case AWSCLIENT_STRUCT_LIST:
		return list_value(m, flag, vals, n, err, errlen);
	case AWSCLIENT_STRUCT:
	case AWSCLIENT_MAP:
		return complex_value(m, flag, vals[0], err, errlen);
	}
	return NULL;
}

/* Converts a member's raw values (file:// resolved first) and records it in s->flags. */
static int take_member(struct argscan *s, const struct awsclient_member *m, const char *flag,
		       char **raw, int n, int bval)
{
	const char *vals[n > 0 ? n : 1];
	char *owned[n > 0 ? n : 1];
	json_t *v = NULL;
	int ret = 0, k;

	for (k = 0; k < n; k++) {
		ret = resolve_value(flag, raw[k], &owned[k], &vals[k], s->err, s->errlen);
		if (ret < 0)
			break;
	}
	if (ret == 0) {
		v = member_value(m, flag, vals, n, bval, s->err, s->errlen);
		ret = v && json_object_set_new(s->flags, m->name, v) == 0 ? 0 : -EINVAL;
	}
	while (k-- > 0)
		free(owned[k]);
	return ret;
}

static int positive_number(const char *flag, const char *text, long long *out,
			   char *err, size_t errlen)
{
	json_t *v = integer_value(flag, text, err, errlen);

	if (!v)
		return -EINVAL;
	*out = json_integer_value(v);
	json_decref(v);
	if (*out <= 0) {
		awsclient_set_err(err, errlen, "argument --%s: must be greater than zero", flag);
		return -EINVAL;
	}
	return 0;
}

static int take_input_json(struct argscan *s, const char *text)
{
	const char *resolved;
	char *owned;
	int ret;

	ret = resolve_value("cli-input-json", text, &owned, &resolved, s->err, s->errlen);
	if (ret < 0)
		return ret;
	json_decref(s->input);
	s->input = parse_json_text("cli-input-json", resolved, s->err, s->errlen);
	free(owned);
	if (s->input && !json_is_object(s->input)) {
		awsclient_set_err(s->err, s->errlen, "Error parsing parameter '--cli-input-json': "
			"expected a JSON object");
		return -EINVAL;
	}
	return s->input ? 0 : -EINVAL;
}

/* Flags of the CLI's own: --cli-input-json and, for paginated operations, the paging ones.
 * Returns 1 when flag was one (handled), 0 when not, or -EINVAL. */
static int take_cli_flag(struct argscan *s, const char *flag, const char *value)
{
	struct awsclient_invocation *inv = s->inv;
	int paging = s->op->page_result != NULL;

	if (strcmp(flag, "cli-input-json") == 0)
		return take_input_json(s, value) < 0 ? -EINVAL : 1;
	if (paging && strcmp(flag, "starting-token") == 0) {
		free(inv->starting_token);
		inv->starting_token = strdup(value);
		return inv->starting_token ? 1 : -EINVAL;
	}
	if (paging && strcmp(flag, "max-items") == 0)
		return positive_number(flag, value, &inv->max_items, s->err, s->errlen) < 0 ? -EINVAL : 1;
	if (paging && strcmp(flag, "page-size") == 0)
		return positive_number(flag, value, &inv->page_size, s->err, s->errlen) < 0 ? -EINVAL : 1;
	return 0;
}

static int is_cli_flag(const struct awsclient_op *op, const char *flag)
{
	if (strcmp(flag, "cli-input-json") == 0)
		return 1;
	return op->page_result && (strcmp(flag, "starting-token") == 0 ||
				   strcmp(flag, "max-items") == 0 || strcmp(flag, "page-size") == 0);
}

static void note_unknown(struct argscan *s, const char *what)
{
	size_t used = strlen(s->unknown);

	snprintf(s->unknown + used, sizeof(s->unknown) - used, "%s%s", used ? ", " : "", what);
}

/* Handles argv[0] (a flag) and the values after it; returns how many arguments it used. */
static int take_flag(struct argscan *s, int argc, char **argv)
{
	const struct awsclient_member *m;
	char flag[128], *eq, *inline_val = NULL;
	int nvals = 0, bval = 1, ret;
	int list;

	snprintf(flag, sizeof(flag), "%s", argv[0] + 2);
	eq = strchr(argv[0] + 2, '=');
	if (eq) {
		size_t len = (size_t)(eq - (argv[0] + 2));
		flag[len < sizeof(flag) ? len : sizeof(flag) - 1] = '\0';
		inline_val = eq + 1;
	}
	while (!eq && 1 + nvals < argc && strncmp(argv[1 + nvals], "--", 2) != 0)
		nvals++;
	m = awsclient_member_find(s->op, flag, &bval);
	if (!m && !is_cli_flag(s->op, flag)) {
		note_unknown(s, argv[0]);
		return 1 + nvals;
	}
	if (m && m->type == AWSCLIENT_BOOLEAN) {
		if (eq) {
			awsclient_set_err(s->err, s->errlen, "argument --%s: ignored explicit argument '%s'",
				flag, eq + 1);
			return -EINVAL;
		}
		return take_member(s, m, flag, NULL, 0, bval) < 0 ? -EINVAL : 1;
	}
	list = m && (m->type == AWSCLIENT_STRING_LIST || m->type == AWSCLIENT_STRUCT_LIST);
	if (!eq && nvals == 0) {
		awsclient_set_err(s->err, s->errlen, "argument --%s: expected %s argument", flag,
			list ? "at least one" : "one");
		return -EINVAL;
	}
	if (!m)
		ret = take_cli_flag(s, flag, eq ? inline_val : argv[1]);
	else if (eq)
		ret = take_member(s, m, flag, &inline_val, 1, 1);
	else
		ret = take_member(s, m, flag, argv + 1, list ? nvals : 1, 1);
	if (ret < 0)
		return -EINVAL;
	return eq ? 1 : 1 + (list ? nvals : 1);
}

/* Appends "--flag" for every flag op accepts to out. */
static void list_flags(const struct awsclient_op *op, char *out, size_t len)
{
	static const char *const paging[] = { "starting-token", "max-items", "page-size" };
	char name[128], neg[160];
	size_t used = 0;

	out[0] = '\0';
	for (const struct awsclient_member *m = op->members; m->name && used < len; m++) {
		awsclient_cli_name(m->name, name, sizeof(name));
		used += (size_t)snprintf(out + used, len - used, "%s--%s", used ? ", " : "", name);
		if (m->type == AWSCLIENT_BOOLEAN && used < len) {
			negative_flag(m, name, neg, sizeof(neg));
			used += (size_t)snprintf(out + used, len - used, ", --%s", neg);
		}
	}
	if (used < len)
		used += (size_t)snprintf(out + used, len - used, "%s--cli-input-json",
					 used ? ", " : "");
	for (size_t i = 0; op->page_result && i < 3 && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, ", --%s", paging[i]);
}

static int check_required(struct argscan *s, const json_t *request)
{
	char missing[512] = "", name[128];
	size_t used = 0;

	for (const struct awsclient_member *m = s->op->members; m->name; m++) {
		if (!m->required || json_object_get(request, m->name) || used >= sizeof(missing))
			continue;
		awsclient_cli_name(m->name, name, sizeof(name));
		used += (size_t)snprintf(missing + used, sizeof(missing) - used, "%s--%s",
					 used ? ", " : "", name);
	}
	if (!used)
		return 0;
	awsclient_set_err(s->err, s->errlen, "the following arguments are required: %s", missing);
	return -EINVAL;
}

/* Paging like the aws CLI: a manual page token or limit in the request turns it off, and
 * the CLI's paging flags then make no sense. */
static int check_paging(struct argscan *s, int no_paginate)
{
	struct awsclient_invocation *inv = s->inv;
	const json_t *req = inv->request;

	if (!s->op->page_result)
		return 0;
	if (json_object_get(req, s->svc->page_token) || json_object_get(req, s->svc->page_limit))
		no_paginate = 1;
	inv->paginate = !no_paginate;
	if (!no_paginate)
		return 0;
	if (inv->starting_token || inv->max_items || inv->page_size) {
		awsclient_set_err(s->err, s->errlen, "Cannot specify --no-paginate along with pagination "
			"arguments: %s%s%s", inv->starting_token ? "--starting-token " : "",
			inv->max_items ? "--max-items " : "", inv->page_size ? "--page-size" : "");
		return -EINVAL;
	}
	return 0;
}

static int scan_args(struct argscan *s, int argc, char **argv)
{
	char verb[128], valid[2048];

	for (int i = 0; i < argc; ) {
		int used;
		if (strncmp(argv[i], "--", 2) != 0 || !argv[i][2]) {
			note_unknown(s, argv[i++]);
			continue;
		}
		used = take_flag(s, argc - i, argv + i);
		if (used < 0)
			return used;
		i += used;
	}
	if (!s->unknown[0])
		return 0;
	awsclient_cli_name(s->op->name, verb, sizeof(verb));
	list_flags(s->op, valid, sizeof(valid));
	awsclient_set_err(s->err, s->errlen, "Unknown options: %s\nValid options for %s: %s",
		s->unknown, verb, valid);
	return -EINVAL;
}

int awsclient_parse_args(const struct awsclient_service *svc, const struct awsclient_op *op,
			 int argc, char **argv, int no_paginate, struct awsclient_invocation *inv,
			 char *err, size_t errlen)
{
	struct argscan s = { .svc = svc, .op = op, .inv = inv, .err = err, .errlen = errlen };
	int ret = -ENOMEM;

	memset(inv, 0, sizeof(*inv));
	inv->op = op;
	awsclient_set_err(err, errlen, "out of memory");
	s.flags = json_object();
	if (!s.flags)
		goto out;
	ret = scan_args(&s, argc, argv);
	if (ret < 0)
		goto out;
	inv->request = s.input ? json_incref(s.input) : json_object();
	if (!inv->request || json_object_update(inv->request, s.flags) < 0) {
		ret = -ENOMEM;
		goto out;
	}
	ret = check_required(&s, inv->request);
	if (ret == 0)
		ret = check_paging(&s, no_paginate);
out:
	json_decref(s.flags);
	json_decref(s.input);
	if (ret < 0)
		awsclient_invocation_clear(inv);
	return ret;
}

void awsclient_invocation_clear(struct awsclient_invocation *inv)
{
	if (!inv)
		return;
	json_decref(inv->request);
	free(inv->starting_token);
	memset(inv, 0, sizeof(*inv));
}

/* ---- help and output ------------------------------------------------------------------------ */

static const char *type_usage(const struct awsclient_member *m)
{
	switch (m->type) {
	case AWSCLIENT_STRING:
		return "<string>";
	case AWSCLIENT_INTEGER:
		return "<integer>";
	case AWSCLIENT_BOOLEAN:
		return "";
	case AWSCLIENT_STRING_LIST:
		return "<string> [<string> ...]";
	case AWSCLIENT_STRUCT:
	case AWSCLIENT_MAP:
		return "<json | shorthand | file://path>";
	case AWSCLIENT_STRUCT_LIST:
		return "<json | shorthand> [<shorthand> ...]";
	}
	return "";
}

void awsclient_print_usage(FILE *out, const char *command, const struct awsclient_service *svc,
			   const struct awsclient_op *op)
{
	char name[128], neg[160];

	fprintf(out, "usage: %s [options]\n\n%s\n\n", command, op->summary ? op->summary : "");
	fprintf(out, "Options (%s):\n", op->name);
	for (const struct awsclient_member *m = op->members; m->name; m++) {
		awsclient_cli_name(m->name, name, sizeof(name));
		if (m->type == AWSCLIENT_BOOLEAN) {
			negative_flag(m, name, neg, sizeof(neg));
			fprintf(out, "  --%s | --%s%s\n", name, neg, m->required ? "  (required)" : "");
			continue;
		}
		fprintf(out, "  --%s %s%s\n", name, type_usage(m), m->required ? "  (required)" : "");
	}
	fprintf(out, "  --cli-input-json <json | file://path>  (the request as JSON; flags override "
		"its members)\n");
	if (op->page_result)
		fprintf(out, "  --starting-token <string>\n  --max-items <integer>\n"
			"  --page-size <integer>  (%s per request; pages are followed and \"%s\" "
			"merged unless --no-paginate)\n", svc->page_limit, op->page_result);
}

