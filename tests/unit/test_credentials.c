/* SPDX-License-Identifier: MIT */
/* test_credentials.c: shared-credentials parsing and the environment/file lookup order. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/credentials.h"
#include "common/fileio.h"
#include "tests/unit/unit.h"

static const char *const sample =
	"# berth credentials\n"
	"[default]\n"
	"aws_access_key_id = AKIADEFAULT\n"
	"aws_secret_access_key=secret/with+chars==\n"
	"\n"
	"; another profile\n"
	"[ops]\n"
	"  AWS_ACCESS_KEY_ID   =  AKIAOPS  \n"
	"aws_secret_access_key = opssecret\n"
	"aws_session_token = tok\n"
	"[profile cfgstyle]\n"
	"aws_access_key_id = AKIACFG\n"
	"aws_secret_access_key = cfgsecret\n"
	"[partial]\n"
	"aws_access_key_id = AKIAPART\n";

static void test_parse_default(void)
{
	struct credentials c;
	char err[256];

	CHECK_EQ(credentials_parse(sample, "default", &c, err, sizeof(err)), 0);
	CHECK_STR(c.access_key_id, "AKIADEFAULT");
	CHECK_STR(c.secret_access_key, "secret/with+chars==");
	CHECK(c.session_token == NULL);
	credentials_clear(&c);
	CHECK(c.access_key_id == NULL);
	credentials_clear(&c);
	credentials_clear(NULL);
}

static void test_parse_profiles(void)
{
	struct credentials c;
	char err[256];

	CHECK_EQ(credentials_parse(sample, "ops", &c, err, sizeof(err)), 0);
	CHECK_STR(c.access_key_id, "AKIAOPS");
	CHECK_STR(c.secret_access_key, "opssecret");
	CHECK_STR(c.session_token, "tok");
	credentials_clear(&c);
	CHECK_EQ(credentials_parse(sample, "cfgstyle", &c, err, sizeof(err)), 0);
	CHECK_STR(c.access_key_id, "AKIACFG");
	credentials_clear(&c);
}

static void test_parse_missing(void)
{
	struct credentials c;
	char err[256];

	CHECK_EQ(credentials_parse(sample, "nope", &c, err, sizeof(err)), -ENOENT);
	CHECK_CONTAINS(err, "no profile \"nope\"");
	CHECK(c.access_key_id == NULL);
	CHECK_EQ(credentials_parse(sample, "partial", &c, err, sizeof(err)), -ENOENT);
	CHECK_CONTAINS(err, "lacks");
	CHECK_EQ(credentials_parse("", "default", &c, err, sizeof(err)), -ENOENT);
}

static void test_parse_malformed(void)
{
	struct credentials c;
	char err[256];

	CHECK_EQ(credentials_parse("[default]\njunk line\n", "default", &c, err, sizeof(err)),
		 -EINVAL);
	CHECK_CONTAINS(err, "line 2");
	CHECK_EQ(credentials_parse("[default\n", "default", &c, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "line 1");
}

static void write_file(const char *path, const char *text)
{
	CHECK_EQ(file_write_durable(path, text, strlen(text), 0600), 0);
}

static void test_resolve_order(void)
{
	char dir[] = "/tmp/berth-cred-XXXXXX", a[128], b[128], src[256], err[512];
	const char *paths[3];
	struct credentials c;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	paths[0] = a;
	paths[1] = b;
	paths[2] = NULL;
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");

	/* Nothing anywhere: -ENOENT naming where it looked. */
	CHECK_EQ(credentials_resolve("default", paths, &c, src, sizeof(src), err, sizeof(err)),
		 -ENOENT);
	CHECK_CONTAINS(err, a);
	CHECK_CONTAINS(err, b);

	/* The second fallback file; the first is missing. */
	write_file(b, "[default]\naws_access_key_id=KB\naws_secret_access_key=SB\n");
	CHECK_EQ(credentials_resolve("default", paths, &c, src, sizeof(src), err, sizeof(err)), 0);
	CHECK_STR(c.access_key_id, "KB");
	CHECK_STR(src, b);
	credentials_clear(&c);

	/* A file without the profile is passed over. */
	write_file(a, "[other]\naws_access_key_id=KA\naws_secret_access_key=SA\n");
	CHECK_EQ(credentials_resolve("default", paths, &c, src, sizeof(src), err, sizeof(err)), 0);
	CHECK_STR(c.access_key_id, "KB");
	credentials_clear(&c);

	/* AWS_SHARED_CREDENTIALS_FILE comes before the fallbacks. */
	setenv("AWS_SHARED_CREDENTIALS_FILE", a, 1);
	CHECK_EQ(credentials_resolve("other", paths, &c, src, sizeof(src), err, sizeof(err)), 0);
	CHECK_STR(c.access_key_id, "KA");
	CHECK_STR(src, a);
	credentials_clear(&c);

	/* The environment comes first of all. */
	setenv("AWS_ACCESS_KEY_ID", "KE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "SE", 1);
	setenv("AWS_SESSION_TOKEN", "TE", 1);
	CHECK_EQ(credentials_resolve("default", paths, &c, src, sizeof(src), err, sizeof(err)), 0);
	CHECK_STR(c.access_key_id, "KE");
	CHECK_STR(c.session_token, "TE");
	CHECK_STR(src, "environment");
	credentials_clear(&c);

	/* A malformed file that has to be read is an error, not "not found". */
	unsetenv("AWS_ACCESS_KEY_ID");
	write_file(a, "garbage\n");
	CHECK_EQ(credentials_resolve("default", paths, &c, src, sizeof(src), err, sizeof(err)),
		 -EINVAL);
	CHECK_CONTAINS(err, "line 1");

	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unlink(a);
	unlink(b);
	rmdir(dir);
}

UNIT_MAIN(test_parse_default, test_parse_profiles, test_parse_missing, test_parse_malformed,
	  test_resolve_order)
