/* SPDX-License-Identifier: MIT */
/* auth.c: the token store (SHA-256 hashes in DATA_DIR/state/tokens.json) and cookie sessions. */
#include "web/auth.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "common/json.h"
#include "common/log.h"

#define TOKENS_MAX_BYTES (4 << 20)

const char *auth_role_name(enum auth_role r)
{
	return r == AUTH_ROLE_READ_ONLY ? "read-only" : "operator";
}

static int role_parse(const char *s, enum auth_role *r)
{
	if (strcmp(s, "operator") == 0)
		*r = AUTH_ROLE_OPERATOR;
	else if (strcmp(s, "read-only") == 0)
		*r = AUTH_ROLE_READ_ONLY;
	else
		return -EINVAL;
	return 0;
}

static bool is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Random bytes as lower-case hex (hex_len characters plus NUL); 0 or -EIO. */
static int random_hex(char *out, size_t hex_len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[64];
	size_t n = (hex_len + 1) / 2;

	if (n > sizeof(b) || RAND_bytes(b, (int)n) != 1)
		return -EIO;
	for (size_t i = 0; i < hex_len; i++)
		out[i] = hex[(i & 1) ? (b[i / 2] & 0xf) : (b[i / 2] >> 4)];
	out[hex_len] = '\0';
	OPENSSL_cleanse(b, sizeof(b));
	return 0;
}

static void sha256_hex(const char *s, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int n = 0;

	EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
}

static bool equal_ct(const char *a, const char *b, size_t len)
{
	return strlen(a) == len && strlen(b) == len && CRYPTO_memcmp(a, b, len) == 0;
}

static int token_from_json(json_t *o, size_t i, struct auth_token *t, char *err, size_t errlen)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *name = json_string_value(json_object_get(o, "name"));
	const char *role = json_string_value(json_object_get(o, "role"));
	const char *hash = json_string_value(json_object_get(o, "hash"));
	json_t *created = json_object_get(o, "createdAt"), *used = json_object_get(o, "lastUsedAt");

	memset(t, 0, sizeof(*t));
	if (!json_is_object(o) || !id || !is_hex(id, 12) || !hash || !is_hex(hash, 64)) {
		snprintf(err, errlen, "token %zu: needs an id of 12 and a hash of 64 hex digits", i);
		return -EINVAL;
	}
	if (!role || role_parse(role, &t->role) < 0) {
		snprintf(err, errlen, "token %s: role must be operator or read-only", id);
		return -EINVAL;
	}
	if (name && strlen(name) >= sizeof(t->name)) {
		snprintf(err, errlen, "token %s: name is longer than %zu bytes", id,
			 sizeof(t->name) - 1);
		return -EINVAL;
	}
	snprintf(t->id, sizeof(t->id), "%s", id);
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
	snprintf(t->hash, sizeof(t->hash), "%s", hash);
	t->created_at = json_is_number(created) ? json_number_value(created) : 0;
	t->last_used_at = json_is_number(used) ? json_number_value(used) : 0;
	return 0;
}

int auth_tokens_parse(const char *text, size_t len, struct auth_token **out, size_t *n,
		      char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *arr;
	struct auth_token *list = NULL;
	size_t count;

	*out = NULL;
	*n = 0;
	if (!root) {
		snprintf(err, errlen, "not JSON: %s at line %d", je.text, je.line);
		return -EINVAL;
	}
	arr = json_object_get(root, "tokens");
	if (!json_is_object(root) || !json_is_array(arr)) {
		snprintf(err, errlen, "expected {\"tokens\": [...]}");
		json_decref(root);
		return -EINVAL;
	}
	count = json_array_size(arr);
	if (count > AUTH_MAX_TOKENS) {
		snprintf(err, errlen, "%zu tokens: more than %d", count, AUTH_MAX_TOKENS);
		json_decref(root);
		return -EINVAL;
	}
	list = count ? calloc(count, sizeof(*list)) : NULL;
	if (count && !list) {
		json_decref(root);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		if (token_from_json(json_array_get(arr, i), i, &list[i], err, errlen) < 0) {
			free(list);
			json_decref(root);
			return -EINVAL;
		}
	}
	json_decref(root);
	*out = list;
	*n = count;
	return 0;
}

int auth_init(struct auth *au, const char *state_dir, double session_ttl, char *err,
	      size_t errlen)
{
	char *text = NULL, why[256];
	size_t len = 0;
	int ret;

	memset(au, 0, sizeof(*au));
	au->session_ttl = session_ttl;
	snprintf(au->path, sizeof(au->path), "%s/tokens.json", state_dir);
	ret = file_read_all(au->path, TOKENS_MAX_BYTES, &text, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", au->path, strerror(-ret));
		return ret;
	}
	ret = auth_tokens_parse(text, len, &au->tokens, &au->n_tokens, why, sizeof(why));
	free(text);
	if (ret < 0)
		snprintf(err, errlen, "%s: %s", au->path, why);
	return ret;
}

void auth_close(struct auth *au)
{
	if (au->sessions)
		OPENSSL_cleanse(au->sessions, au->cap_sessions * sizeof(*au->sessions));
	free(au->sessions);
	free(au->tokens);
	au->sessions = NULL;
	au->tokens = NULL;
	au->n_tokens = au->n_sessions = au->cap_sessions = 0;
}

json_t *auth_token_json(const struct auth_token *t)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:f}", "id", t->id, "name", t->name, "role",
			      auth_role_name(t->role), "createdAt", t->created_at);

	if (o && t->last_used_at > 0)
		json_object_set_new(o, "lastUsedAt", json_real(t->last_used_at));
	return o;
}

/* Writes tokens[0..n) durably; the store is unchanged on error. */
static int store_save(const struct auth *au, const struct auth_token *list, size_t n)
{
	json_t *arr = json_array(), *root;
	char *s;
	int ret;

	for (size_t i = 0; i < n; i++) {
		json_t *o = auth_token_json(&list[i]);
		json_object_set_new(o, "hash", json_string(list[i].hash));
		json_array_append_new(arr, o);
	}
	root = json_pack("{s:o}", "tokens", arr);
	s = json_steal_dumps_pretty(root);
	if (!s)
		return -ENOMEM;
	ret = file_write_durable(au->path, s, strlen(s), 0600);
	free(s);
	if (ret < 0)
		log_error("web: failed to write token store %s: %s", au->path, strerror(-ret));
	return ret;
}

int auth_token_create(struct auth *au, const char *name, enum auth_role role, double now,
		      char *secret, size_t secret_len, const struct auth_token **out,
		      struct berr *e)
{
	struct auth_token *list, *t;
	int ret;

	if (!name)
		name = "";
	if (strlen(name) >= sizeof(t->name))
		return berr_set(e, 400, "InvalidParameterException",
				"The token name is longer than %zu characters.", sizeof(t->name) - 1);
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return berr_set(e, 400, "InvalidParameterException",
					"The token name must not contain control characters.");
	if (au->n_tokens >= AUTH_MAX_TOKENS) {
		berr_set(e, 400, "LimitExceededException", "There are already %d tokens.",
			 AUTH_MAX_TOKENS);
		return -ENOSPC;
	}
	if (secret_len < AUTH_TOKEN_LEN + 1)
		return berr_set(e, 500, "ServerException", "Token buffer too small.");
	list = realloc(au->tokens, (au->n_tokens + 1) * sizeof(*list));
	if (!list) {
		berr_set(e, 500, "ServerException", "Out of memory.");
		return -ENOMEM;
	}
	au->tokens = list;
	t = &list[au->n_tokens];
	memset(t, 0, sizeof(*t));
	memcpy(secret, AUTH_TOKEN_PREFIX, strlen(AUTH_TOKEN_PREFIX));
	if (random_hex(t->id, 12) < 0 ||
	    random_hex(secret + strlen(AUTH_TOKEN_PREFIX), AUTH_TOKEN_LEN - strlen(AUTH_TOKEN_PREFIX)) < 0) {
		berr_set(e, 500, "ServerException", "No random bytes for a token.");
		return -EIO;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->role = role;
	t->created_at = now;
	sha256_hex(secret, t->hash);
	ret = store_save(au, list, au->n_tokens + 1);
	if (ret < 0) {
		OPENSSL_cleanse(secret, secret_len);
		berr_set(e, 500, "ServerException", "Cannot write the token store: %s.",
			 strerror(-ret));
		return ret;
	}
	au->n_tokens++;
	if (out)
		*out = t;
	return 0;
}

int auth_token_revoke(struct auth *au, const char *id)
{
	struct auth_token *copy;
	size_t i, k = 0;
	int ret;

	for (i = 0; i < au->n_tokens; i++)
		if (strcmp(au->tokens[i].id, id) == 0)
			break;
	if (i == au->n_tokens)
		return -ENOENT;
	copy = malloc((au->n_tokens ? au->n_tokens : 1) * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	for (size_t j = 0; j < au->n_tokens; j++)
		if (j != i)
			copy[k++] = au->tokens[j];
	ret = store_save(au, copy, k);
	free(copy);
	if (ret < 0)
		return ret;
	memmove(&au->tokens[i], &au->tokens[i + 1], (au->n_tokens - i - 1) * sizeof(*au->tokens));
	au->n_tokens--;
	for (size_t j = 0; j < au->n_sessions;) {
		if (strcmp(au->sessions[j].token_id, id) == 0)
			au->sessions[j] = au->sessions[--au->n_sessions];
		else
			j++;
	}
	return 0;
}

struct auth_token *auth_token_verify(struct auth *au, const char *secret)
{
	struct auth_token *found = NULL;
	char hash[65];

	if (!secret || strlen(secret) != AUTH_TOKEN_LEN ||
	    strncmp(secret, AUTH_TOKEN_PREFIX, strlen(AUTH_TOKEN_PREFIX)) != 0)
		return NULL;
	sha256_hex(secret, hash);
	/* Every stored hash is compared, so timing says nothing about which one matched. */
	for (size_t i = 0; i < au->n_tokens; i++)
		if (equal_ct(au->tokens[i].hash, hash, 64))
			found = &au->tokens[i];
	return found;
}

static void session_drop_expired(struct auth *au, double now)
{
	for (size_t j = 0; j < au->n_sessions;) {
		if (au->sessions[j].expires_at <= now)
			au->sessions[j] = au->sessions[--au->n_sessions];
		else
			j++;
	}
}

struct auth_session *auth_session_create(struct auth *au, const struct auth_token *t, double now)
{
	struct auth_session *s;

	session_drop_expired(au, now);
	if (au->n_sessions >= AUTH_MAX_SESSIONS) {
		size_t oldest = 0;
		for (size_t j = 1; j < au->n_sessions; j++)
			if (au->sessions[j].created_at < au->sessions[oldest].created_at)
				oldest = j;
		au->sessions[oldest] = au->sessions[--au->n_sessions];
	}
	if (au->n_sessions == au->cap_sessions) {
		size_t cap = au->cap_sessions ? 2 * au->cap_sessions : 16;
		struct auth_session *ns = realloc(au->sessions, cap * sizeof(*ns));
		if (!ns)
			return NULL;
		au->sessions = ns;
		au->cap_sessions = cap;
	}
	s = &au->sessions[au->n_sessions];
	memset(s, 0, sizeof(*s));
	if (random_hex(s->id, AUTH_SESSION_ID_LEN) < 0 ||
	    random_hex(s->csrf, AUTH_SESSION_ID_LEN) < 0)
		return NULL;
	snprintf(s->token_id, sizeof(s->token_id), "%s", t->id);
	snprintf(s->name, sizeof(s->name), "%s", t->name);
	s->role = t->role;
	s->created_at = now;
	s->expires_at = now + au->session_ttl;
	au->n_sessions++;
	return s;
}

struct auth_session *auth_session_find(struct auth *au, const char *id, double now)
{
	struct auth_session *found = NULL;

	if (!id || strlen(id) != AUTH_SESSION_ID_LEN)
		return NULL;
	session_drop_expired(au, now);
	for (size_t j = 0; j < au->n_sessions; j++)
		if (equal_ct(au->sessions[j].id, id, AUTH_SESSION_ID_LEN))
			found = &au->sessions[j];
	return found;
}

void auth_session_end(struct auth *au, const char *id)
{
	struct auth_session *s = id ? auth_session_find(au, id, 0) : NULL;

	if (!s)
		return;
	*s = au->sessions[--au->n_sessions];
}

bool auth_csrf_ok(const struct auth_session *s, const char *v)
{
	return v && equal_ct(s->csrf, v, AUTH_SESSION_ID_LEN);
}

/* Cookie header: "a=b; c=d" (RFC 6265 cookie-string); values may be quoted. */
int auth_cookie_get(const char *header, const char *name, char *out, size_t len)
{
	size_t nlen = strlen(name);
	const char *p = header;

	if (!header || !len)
		return -ENOENT;
	while (*p) {
		const char *end, *eq;
		size_t vlen;
		while (*p == ' ' || *p == '\t' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (!end)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq && (size_t)(eq - p) == nlen && strncmp(p, name, nlen) == 0) {
			const char *v = eq + 1;
			vlen = (size_t)(end - v);
			while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
				vlen--;
			if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
				v++;
				vlen -= 2;
			}
			if (vlen >= len)
				return -EINVAL;
			for (size_t i = 0; i < vlen; i++) {
				unsigned char c = (unsigned char)v[i];
				/* cookie-octet: no controls, whitespace, DQUOTE, comma, semicolon, backslash */
				if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == '\\')
					return -EINVAL;
			}
			memcpy(out, v, vlen);
			out[vlen] = '\0';
			return 0;
		}
		p = end;
	}
	return -ENOENT;
}
