/* SPDX-License-Identifier: MIT */
/* test_config.c: config defaults, file parsing with line numbers, kebab-case flags. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/config.h"
#include "tests/unit/unit.h"

static const char *write_tmp(const char *text)
{
	static char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/berth-config-test.%d", (int)getpid());
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_defaults(void)
{
	struct config c;

	config_defaults(&c);
	CHECK_STR(c.listen, "127.0.0.1:8080");
	CHECK_STR(c.cgroup_parent, "berth.slice");
	CHECK_STR(c.region, "us-east-1");
	CHECK_STR(c.account_id, "000000000000");
	CHECK_EQ(c.max_body_bytes, 1 << 20);
	CHECK_EQ(config_validate(&c, (char[64]){0}, 64), 0);
}

static void test_file(void)
{
	struct config c;
	char err[256] = "";
	const char *p = write_tmp("# comment\n\nlisten = 127.0.0.1:9000\n"
				  "cgroup_parent = \"x.slice\"\n  idle_timeout=10  \n");

	config_defaults(&c);
	CHECK_EQ(config_load_file(&c, p, err, sizeof(err)), 0);
	CHECK_STR(c.listen, "127.0.0.1:9000");
	CHECK_STR(c.cgroup_parent, "x.slice");
	CHECK_EQ(c.idle_timeout, 10);
	unlink(p);
}

static void test_file_errors(void)
{
	struct config c;
	char err[256] = "";
	const char *p;

	config_defaults(&c);
	p = write_tmp("listen = a:1\n\nbogus_key = 1\n");
	CHECK(config_load_file(&c, p, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, ":3: unknown key 'bogus_key'");
	p = write_tmp("task_log_max_files = 0\n");
	CHECK(config_load_file(&c, p, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, ":1: 'task_log_max_files' must be between 1 and 100, got 0");
	p = write_tmp("max_body_bytes = lots\n");
	CHECK(config_load_file(&c, p, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "'max_body_bytes' must be an integer, got 'lots'");
	p = write_tmp("listen 127.0.0.1:1\n");
	CHECK(config_load_file(&c, p, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "expected 'key = value'");
	unlink(p);
	CHECK(config_load_file(&c, "/nonexistent/berthd.conf", err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "/nonexistent/berthd.conf");
}

static void test_flags(void)
{
	struct config c;
	char err[256] = "";
	char *argv[] = { "berthd", "--listen", "0.0.0.0:1", "--cgroup-parent=t.slice",
			 "--idle-timeout", "2", "rest", NULL };
	char *bad[] = { "berthd", "--no-such-flag", "1", NULL };
	char *badv[] = { "berthd", "--idle-timeout", "-1", NULL };
	char *novalue[] = { "berthd", "--region", NULL };

	config_defaults(&c);
	CHECK_EQ(config_parse_args(&c, 7, argv, err, sizeof(err)), 6);
	CHECK_STR(c.listen, "0.0.0.0:1");
	CHECK_STR(c.cgroup_parent, "t.slice");
	CHECK_EQ(c.idle_timeout, 2);
	CHECK(config_parse_args(&c, 3, bad, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "unknown flag '--no-such-flag'");
	CHECK(config_parse_args(&c, 3, badv, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "flag --idle-timeout");
	CHECK(config_parse_args(&c, 2, novalue, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "needs a value");
}

static void test_config_flag_then_override(void)
{
	struct config c;
	char err[256] = "";
	const char *p = write_tmp("region = eu-west-1\naccount_id = 123456789012\n");
	char *argv[] = { "berthd", "--region", "ap-south-1", "--config", (char *)p, NULL };

	config_defaults(&c);
	CHECK_EQ(config_parse_args(&c, 5, argv, err, sizeof(err)), 5);
	CHECK_STR(c.region, "ap-south-1");   /* flags win over the file, wherever --config is */
	CHECK_STR(c.account_id, "123456789012");
	unlink(p);
}

static void test_validate(void)
{
	struct config c;
	char err[256] = "";

	config_defaults(&c);
	snprintf(c.account_id, sizeof(c.account_id), "12");
	CHECK(config_validate(&c, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "account_id");
	config_defaults(&c);
	snprintf(c.region, sizeof(c.region), "US East");
	CHECK(config_validate(&c, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "region");
	config_defaults(&c);
	snprintf(c.cgroup_parent, sizeof(c.cgroup_parent), "../escape");
	CHECK(config_validate(&c, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "cgroup_parent");
}

/* Boolean keys: true/false, yes/no, on/off, 1/0 in any case; anything else names the key. */
static void test_bools(void)
{
	struct config c;
	char err[256];
	char *argv[] = { "berthd", "--bpf", "FALSE", "--bpf-network=no", "--bpf-oom", "on", NULL };
	char *bad[] = { "berthd", "--bpf-sched", "maybe", NULL };

	config_defaults(&c);
	CHECK_EQ(c.bpf, 1);
	CHECK_EQ(c.bpf_blkio, 1);
	CHECK_EQ(config_parse_args(&c, 6, argv, err, sizeof(err)), 6);
	CHECK_EQ(c.bpf, 0);
	CHECK_EQ(c.bpf_network, 0);
	CHECK_EQ(c.bpf_oom, 1);
	CHECK(config_parse_args(&c, 3, bad, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "'bpf_sched' must be true or false, got 'maybe'");
}

UNIT_MAIN(test_defaults, test_file, test_file_errors, test_flags, test_config_flag_then_override, test_validate,
	  test_bools)
