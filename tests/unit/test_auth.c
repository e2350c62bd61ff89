/* SPDX-License-Identifier: MIT */
/* test_auth.c: the dashboard token store (hashed, durable, revocation) and sessions with CSRF. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "tests/unit/unit.h"
#include "web/auth.h"

static char dir[64];

static void remove_dir(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (dir[0] && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void fresh_dir(void)
{
	char cmd[128];

	if (!dir[0])
		atexit(remove_dir);
	if (dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			UNIT_FAIL("cannot remove %s", dir);
	}
	snprintf(dir, sizeof(dir), "/tmp/berth-auth-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
}

static void test_token_create_verify_persist(void)
{
	struct auth au, again;
	const struct auth_token *t = NULL;
	struct berr e = { 0 };
	char secret[AUTH_TOKEN_LEN + 1], err[256], path[128], *text = NULL;
	size_t len;
	struct stat st;

	fresh_dir();
	CHECK_EQ(auth_init(&au, dir, 60, err, sizeof(err)), 0);
	CHECK_EQ(au.n_tokens, 0);
	CHECK_EQ(auth_token_create(&au, "ci", AUTH_ROLE_READ_ONLY, 1000, secret, sizeof(secret), &t,
				   &e), 0);
	CHECK_EQ(strlen(secret), AUTH_TOKEN_LEN);
	CHECK(strncmp(secret, "berth_", 6) == 0);
	CHECK(auth_token_verify(&au, secret) == t);
	secret[10] ^= 1;
	CHECK(auth_token_verify(&au, secret) == NULL);
	secret[10] ^= 1;
	CHECK(auth_token_verify(&au, "berth_short") == NULL);
	CHECK(auth_token_verify(&au, NULL) == NULL);
	/* Only the hash is on disk, mode 0600. */
	snprintf(path, sizeof(path), "%s/tokens.json", dir);
	CHECK_EQ(file_read_all(path, 1 << 20, &text, &len), 0);
	CHECK(text && !strstr(text, secret + 6));
	CHECK_CONTAINS(text, t->hash);
	CHECK_CONTAINS(text, "\"read-only\"");
	free(text);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	/* A restart finds it. */
	CHECK_EQ(auth_init(&again, dir, 60, err, sizeof(err)), 0);
	CHECK_EQ(again.n_tokens, 1);
	CHECK(auth_token_verify(&again, secret) != NULL);
	CHECK_EQ(again.tokens[0].role, AUTH_ROLE_READ_ONLY);
	CHECK_STR(again.tokens[0].name, "ci");
	auth_close(&again);
	auth_close(&au);
	auth_close(&au); /* idempotent */
}

static void test_token_bad_names(void)
{
	struct auth au;
	struct berr e = { 0 };
	char secret[AUTH_TOKEN_LEN + 1], err[256], longname[200];

	fresh_dir();
	CHECK_EQ(auth_init(&au, dir, 60, err, sizeof(err)), 0);
	CHECK(auth_token_create(&au, "a\nb", AUTH_ROLE_OPERATOR, 1, secret, sizeof(secret), NULL,
				&e) < 0);
	CHECK_CONTAINS(e.message, "control characters");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(auth_token_create(&au, longname, AUTH_ROLE_OPERATOR, 1, secret, sizeof(secret), NULL,
				&e) < 0);
	CHECK_EQ(au.n_tokens, 0);
	auth_close(&au);
}

static void test_revoke_ends_sessions(void)
{
	struct auth au;
	const struct auth_token *a = NULL, *b = NULL;
	struct auth_session *s;
	struct berr e = { 0 };
	char sa[AUTH_TOKEN_LEN + 1], sb[AUTH_TOKEN_LEN + 1], err[256], ida[80], idb[80], tid[16];

	fresh_dir();
	CHECK_EQ(auth_init(&au, dir, 60, err, sizeof(err)), 0);
	CHECK_EQ(auth_token_create(&au, "a", AUTH_ROLE_OPERATOR, 1, sa, sizeof(sa), &a, &e), 0);
	snprintf(tid, sizeof(tid), "%s", a->id);
	CHECK_EQ(auth_token_create(&au, "b", AUTH_ROLE_OPERATOR, 1, sb, sizeof(sb), &b, &e), 0);
	a = auth_token_verify(&au, sa);
	s = auth_session_create(&au, a, 100);
	snprintf(ida, sizeof(ida), "%s", s->id);
	s = auth_session_create(&au, auth_token_verify(&au, sb), 100);
	snprintf(idb, sizeof(idb), "%s", s->id);
	CHECK_EQ(auth_token_revoke(&au, tid), 0);
	CHECK_EQ(auth_token_revoke(&au, tid), -ENOENT);
	CHECK(auth_token_verify(&au, sa) == NULL);
	CHECK(auth_session_find(&au, ida, 101) == NULL);
	CHECK(auth_session_find(&au, idb, 101) != NULL);
	auth_close(&au);
}

static void test_session_expiry_and_csrf(void)
{
	struct auth au;
	const struct auth_token *t = NULL;
	struct auth_session *s;
	struct berr e = { 0 };
	char secret[AUTH_TOKEN_LEN + 1], err[256], id[80], csrf[80];

	fresh_dir();
	CHECK_EQ(auth_init(&au, dir, 60, err, sizeof(err)), 0);
	CHECK_EQ(auth_token_create(&au, "", AUTH_ROLE_OPERATOR, 1, secret, sizeof(secret), &t, &e), 0);
	s = auth_session_create(&au, t, 1000);
	CHECK(s != NULL);
	CHECK_EQ(strlen(s->id), AUTH_SESSION_ID_LEN);
	CHECK(strcmp(s->id, s->csrf) != 0);
	snprintf(id, sizeof(id), "%s", s->id);
	snprintf(csrf, sizeof(csrf), "%s", s->csrf);
	s = auth_session_find(&au, id, 1059);
	CHECK(s != NULL);
	CHECK(auth_csrf_ok(s, csrf));
	CHECK(!auth_csrf_ok(s, NULL));
	CHECK(!auth_csrf_ok(s, ""));
	csrf[0] = csrf[0] == 'a' ? 'b' : 'a';
	CHECK(!auth_csrf_ok(s, csrf));
	CHECK(auth_session_find(&au, "short", 1000) == NULL);
	CHECK(auth_session_find(&au, id, 1060) == NULL); /* expired at created + ttl */
	CHECK_EQ(au.n_sessions, 0);
	s = auth_session_create(&au, t, 2000);
	snprintf(id, sizeof(id), "%s", s->id);
	auth_session_end(&au, id);
	CHECK(auth_session_find(&au, id, 2001) == NULL);
	auth_session_end(&au, id);
	auth_close(&au);
}

static void test_session_cap(void)
{
	struct auth au;
	const struct auth_token *t = NULL;
	struct berr e = { 0 };
	char secret[AUTH_TOKEN_LEN + 1], err[256], first[80];

	fresh_dir();
	CHECK_EQ(auth_init(&au, dir, 1e6, err, sizeof(err)), 0);
	CHECK_EQ(auth_token_create(&au, "", AUTH_ROLE_OPERATOR, 1, secret, sizeof(secret), &t, &e), 0);
	snprintf(first, sizeof(first), "%s", auth_session_create(&au, t, 1)->id);
	for (int i = 0; i < AUTH_MAX_SESSIONS; i++)
		CHECK(auth_session_create(&au, t, 2 + i) != NULL);
	CHECK_EQ(au.n_sessions, AUTH_MAX_SESSIONS);
	CHECK(auth_session_find(&au, first, 10) == NULL); /* the oldest went */
	auth_close(&au);
}

static void test_corrupt_store_refused_and_kept(void)
{
	struct auth au;
	char err[256], path[128], *text = NULL;
	size_t len;

	fresh_dir();
	snprintf(path, sizeof(path), "%s/tokens.json", dir);
	CHECK_EQ(file_write_durable(path, "{\"tokens\": [{\"id\": 1", 21, 0600), 0);
	CHECK_EQ(auth_init(&au, dir, 60, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "tokens.json");
	CHECK_CONTAINS(err, "not JSON");
	CHECK_EQ(file_read_all(path, 1024, &text, &len), 0);
	CHECK_EQ(len, 21); /* left as it was */
	free(text);
	CHECK_EQ(file_write_durable(path, "{\"tokens\": [{\"id\": \"abc\", \"hash\": \"00\"}]}", 41,
				    0600), 0);
	CHECK_EQ(auth_init(&au, dir, 60, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "token 0");
}

static void test_cookie_parser(void)
{
	char v[80];

	CHECK_EQ(auth_cookie_get("berth_session=abc", "berth_session", v, sizeof(v)), 0);
	CHECK_STR(v, "abc");
	CHECK_EQ(auth_cookie_get("a=1; berth_session=xyz; b=2", "berth_session", v, sizeof(v)), 0);
	CHECK_STR(v, "xyz");
	CHECK_EQ(auth_cookie_get("x_berth_session=1;berth_session=\"q\"", "berth_session", v,
				 sizeof(v)), 0);
	CHECK_STR(v, "q");
	CHECK_EQ(auth_cookie_get("berth_sessionx=1", "berth_session", v, sizeof(v)), -ENOENT);
	CHECK_EQ(auth_cookie_get("", "berth_session", v, sizeof(v)), -ENOENT);
	CHECK_EQ(auth_cookie_get(NULL, "berth_session", v, sizeof(v)), -ENOENT);
	CHECK_EQ(auth_cookie_get("berth_session=a,b", "berth_session", v, sizeof(v)), -EINVAL);
	CHECK_EQ(auth_cookie_get("berth_session=0123456789", "berth_session", v, 5), -EINVAL);
	CHECK_EQ(auth_cookie_get("berth_session=", "berth_session", v, sizeof(v)), 0);
	CHECK_STR(v, "");
}

UNIT_MAIN(test_token_create_verify_persist, test_token_bad_names, test_revoke_ends_sessions,
	  test_session_expiry_and_csrf, test_session_cap, test_corrupt_store_refused_and_kept,
	  test_cookie_parser)
