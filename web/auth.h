/* SPDX-License-Identifier: MIT */
/* auth.h: dashboard access tokens (stored hashed, durably) and cookie sessions with CSRF tokens. */
#ifndef BERTH_WEB_AUTH_H
#define BERTH_WEB_AUTH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

enum auth_role { AUTH_ROLE_OPERATOR, AUTH_ROLE_READ_ONLY };

#define AUTH_TOKEN_PREFIX "berth_"
#define AUTH_TOKEN_LEN (6 + 48)        /* prefix and 24 random bytes in hex */
#define AUTH_SESSION_ID_LEN 64         /* 32 random bytes in hex */
#define AUTH_COOKIE "berth_session"
#define AUTH_MAX_TOKENS 1000
#define AUTH_MAX_SESSIONS 4096

struct auth_token {
	char id[16];                   /* 12 hex: names the token in lists and revocation */
	char name[128];
	enum auth_role role;
	char hash[65];                 /* hex SHA-256 of the whole token */
	double created_at;
	double last_used_at;           /* last sign-in; not persisted on every use */
};

struct auth_session {
	char id[AUTH_SESSION_ID_LEN + 1];
	char csrf[AUTH_SESSION_ID_LEN + 1];
	char token_id[16];
	char name[128];
	enum auth_role role;
	double created_at, expires_at;
};

struct auth {
	char path[600];                /* DATA_DIR/state/tokens.json */
	struct auth_token *tokens;
	size_t n_tokens;
	struct auth_session *sessions;
	size_t n_sessions, cap_sessions;
	double session_ttl;            /* seconds a session lives after sign-in */
};

/* Loads the token store at state_dir/tokens.json (a missing file is an empty store). A file
 * that does not parse is left alone and refused: -EINVAL with err naming the file and what is
 * wrong. 0 or -errno; on error nothing is left to close. */
int auth_init(struct auth *au, const char *state_dir, double session_ttl, char *err,
	      size_t errlen);
/* Frees the store and every session; idempotent (a zeroed struct is fine). */
void auth_close(struct auth *au);

/* Parses the text of a token store into *out (malloc'd, caller frees) and *n. 0, or -EINVAL
 * with err saying what is wrong (nothing allocated). */
int auth_tokens_parse(const char *text, size_t len, struct auth_token **out, size_t *n,
		      char *err, size_t errlen);

/* Creates a token, writes the store durably and puts the token itself (shown once, never
 * stored) into secret (at least AUTH_TOKEN_LEN + 1 bytes). *out is borrowed until the next
 * change. 0, or -EINVAL/-ENOSPC/-errno with e filled; on error nothing changed. */
int auth_token_create(struct auth *au, const char *name, enum auth_role role, double now,
		      char *secret, size_t secret_len, const struct auth_token **out,
		      struct berr *e);
/* Removes a token by id and ends its sessions; 0, -ENOENT, or -errno when the store cannot be
 * written (then nothing changed). */
int auth_token_revoke(struct auth *au, const char *id);
/* The stored token the secret belongs to (compared in constant time), or NULL. */
struct auth_token *auth_token_verify(struct auth *au, const char *secret);
/* {id, name, role, createdAt, lastUsedAt}; new reference. */
json_t *auth_token_json(const struct auth_token *t);
const char *auth_role_name(enum auth_role r);

/* Starts a session for t at now; borrowed until the next session change, NULL when out of
 * memory. The oldest session goes when AUTH_MAX_SESSIONS are open. */
struct auth_session *auth_session_create(struct auth *au, const struct auth_token *t, double now);
/* The live session with this id (constant-time compare), or NULL; expired ones are dropped. */
struct auth_session *auth_session_find(struct auth *au, const char *id, double now);
/* Ends a session; idempotent. */
void auth_session_end(struct auth *au, const char *id);
/* True when the request's CSRF header value matches the session's (constant time). */
bool auth_csrf_ok(const struct auth_session *s, const char *header_value);

/* The value of cookie `name` in a Cookie header into out. 0, -ENOENT when absent, -EINVAL
 * when the value is malformed or does not fit. */
int auth_cookie_get(const char *header, const char *name, char *out, size_t len);

#endif
