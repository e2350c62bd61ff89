/* SPDX-License-Identifier: MIT */
/* alarm_rule.c: the composite alarm AlarmRule language - parser and evaluation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/alarm_eval.h"

enum node_kind { N_TRUE, N_FALSE, N_REF, N_NOT, N_AND, N_OR };

struct node {
	enum node_kind kind;
	int state;                 /* N_REF: the state it tests */
	int ref;                   /* N_REF: index into refs */
	int left, right;           /* child node indexes, -1 when none */
};

struct alarm_rule {
	struct node *nodes;
	size_t n_nodes, cap_nodes;
	char **refs;
	size_t n_refs;
	int root;
};

struct parser {
	const char *s;
	size_t pos;
	int depth;
	struct alarm_rule *r;
	struct berr *e;
};

static int fail(struct parser *p, const char *what)
{
	return berr_set(p->e, 400, "ValidationError",
			"Invalid AlarmRule at character %zu: %s.", p->pos + 1, what);
}

static void skip_ws(struct parser *p)
{
	while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
	       p->s[p->pos] == '\r')
		p->pos++;
}

static bool is_word(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

/* The keyword at the cursor (letters and '_'), consumed when it equals kw. */
static bool keyword(struct parser *p, const char *kw)
{
	size_t n = strlen(kw);

	skip_ws(p);
	if (strncmp(p->s + p->pos, kw, n) != 0 || is_word(p->s[p->pos + n]))
		return false;
	p->pos += n;
	return true;
}

static int add_node(struct parser *p, enum node_kind kind, int left, int right)
{
	struct alarm_rule *r = p->r;

	if (r->n_nodes == r->cap_nodes) {
		size_t cap = r->cap_nodes ? r->cap_nodes * 2 : 16;
		struct node *nn = realloc(r->nodes, cap * sizeof(*nn));
		if (!nn)
			return berr_set(p->e, 500, "InternalFailure", "Out of memory.") ? -ENOMEM : -ENOMEM;
		r->nodes = nn;
		r->cap_nodes = cap;
	}
	r->nodes[r->n_nodes] = (struct node){ kind, 0, -1, left, right };
	return (int)r->n_nodes++;
}

/* The argument of ALARM(...): a quoted or bare alarm name or ARN. */
static int parse_ref(struct parser *p, int state)
{
	size_t start, len;
	char *name, **refs;
	int idx;

	skip_ws(p);
	if (p->s[p->pos] != '(')
		return fail(p, "expected '(' after the state function");
	p->pos++;
	skip_ws(p);
	if (p->s[p->pos] == '"') {
		start = ++p->pos;
		while (p->s[p->pos] && p->s[p->pos] != '"')
			p->pos++;
		if (!p->s[p->pos])
			return fail(p, "unterminated quoted alarm name");
		len = p->pos++ - start;
	} else {
		start = p->pos;
		while (p->s[p->pos] && p->s[p->pos] != ')' && p->s[p->pos] != '(')
			p->pos++;
		len = p->pos - start;
		while (len && (p->s[start + len - 1] == ' ' || p->s[start + len - 1] == '\t'))
			len--;
	}
	if (len == 0 || len > 1600)
		return fail(p, len ? "alarm name too long" : "expected an alarm name or ARN");
	skip_ws(p);
	if (p->s[p->pos] != ')')
		return fail(p, "expected ')' after the alarm name");
	p->pos++;
	name = strndup(p->s + start, len);
	refs = name ? realloc(p->r->refs, (p->r->n_refs + 1) * sizeof(*refs)) : NULL;
	if (!refs) {
		free(name);
		return -ENOMEM;
	}
	p->r->refs = refs;
	refs[p->r->n_refs++] = name;
	idx = add_node(p, N_REF, -1, -1);
	if (idx >= 0) {
		p->r->nodes[idx].state = state;
		p->r->nodes[idx].ref = (int)p->r->n_refs - 1;
	}
	return idx;
}

static int parse_or(struct parser *p);

static int parse_primary(struct parser *p)
{
	int idx;

	skip_ws(p);
	if (p->s[p->pos] == '(') {
		p->pos++;
		idx = parse_or(p);
		if (idx < 0)
			return idx;
		skip_ws(p);
		if (p->s[p->pos] != ')')
			return fail(p, "expected ')'");
		p->pos++;
		return idx;
	}
	if (keyword(p, "TRUE"))
		return add_node(p, N_TRUE, -1, -1);
	if (keyword(p, "FALSE"))
		return add_node(p, N_FALSE, -1, -1);
	if (keyword(p, "ALARM"))
		return parse_ref(p, ALARM_STATE_ALARM);
	if (keyword(p, "OK"))
		return parse_ref(p, ALARM_STATE_OK);
	if (keyword(p, "INSUFFICIENT_DATA"))
		return parse_ref(p, ALARM_STATE_INSUFFICIENT);
	return fail(p, p->s[p->pos] ? "expected ALARM(), OK(), INSUFFICIENT_DATA(), TRUE, FALSE, "
			"NOT or '('" : "unexpected end of the rule");
}

static int parse_not(struct parser *p)
{
	int idx;

	if (++p->depth > ALARM_RULE_MAX_DEPTH)
		return fail(p, "the rule nests too deeply");
	if (keyword(p, "NOT")) {
		idx = parse_not(p);
		if (idx >= 0)
			idx = add_node(p, N_NOT, idx, -1);
	} else {
		idx = parse_primary(p);
	}
	p->depth--;
	return idx;
}

static int parse_and(struct parser *p)
{
	int left = parse_not(p), right;

	while (left >= 0 && keyword(p, "AND")) {
		right = parse_not(p);
		if (right < 0)
			return right;
		left = add_node(p, N_AND, left, right);
	}
	return left;
}

static int parse_or(struct parser *p)
{
	int left, right;

	if (++p->depth > ALARM_RULE_MAX_DEPTH)
		return fail(p, "the rule nests too deeply");
	left = parse_and(p);
	while (left >= 0 && keyword(p, "OR")) {
		right = parse_and(p);
		if (right < 0)
			return right;
		left = add_node(p, N_OR, left, right);
	}
	p->depth--;
	return left;
}

int alarm_rule_parse(const char *text, struct alarm_rule **out, struct berr *e)
{
	struct parser p = { .s = text, .e = e };
	int root;

	*out = NULL;
	if (!text || !text[0])
		return berr_set(e, 400, "ValidationError", "The AlarmRule is empty.");
	if (strlen(text) > ALARM_RULE_MAX_LEN)
		return berr_set(e, 400, "ValidationError",
				"The AlarmRule is longer than %d characters.", ALARM_RULE_MAX_LEN);
	p.r = calloc(1, sizeof(*p.r));
	if (!p.r)
		return -ENOMEM;
	root = parse_or(&p);
	if (root >= 0) {
		skip_ws(&p);
		if (text[p.pos])
			root = fail(&p, "expected AND, OR or the end of the rule");
	}
	if (root < 0) {
		alarm_rule_free(p.r);
		return root == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	p.r->root = root;
	*out = p.r;
	return 0;
}

void alarm_rule_free(struct alarm_rule *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_refs; i++)
		free(r->refs[i]);
	free(r->refs);
	free(r->nodes);
	free(r);
}

const char *const *alarm_rule_refs(const struct alarm_rule *r, size_t *n)
{
	*n = r->n_refs;
	return (const char *const *)r->refs;
}

static bool eval_node(const struct alarm_rule *r, int i, int (*state_of)(void *, const char *),
		      void *ctx)
{
	const struct node *nd = &r->nodes[i];

	switch (nd->kind) {
	case N_TRUE: return true;
	case N_FALSE: return false;
	case N_REF: return state_of(ctx, r->refs[nd->ref]) == nd->state;
	case N_NOT: return !eval_node(r, nd->left, state_of, ctx);
	case N_AND:
		return eval_node(r, nd->left, state_of, ctx) && eval_node(r, nd->right, state_of, ctx);
	case N_OR:
		return eval_node(r, nd->left, state_of, ctx) || eval_node(r, nd->right, state_of, ctx);
	}
	return false;
}

bool alarm_rule_eval(const struct alarm_rule *r, int (*state_of)(void *ctx, const char *ref),
		     void *ctx)
{
	return eval_node(r, r->root, state_of, ctx);
}
