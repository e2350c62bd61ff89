/* SPDX-License-Identifier: MIT */
/* test_awsclient.c: aws-CLI conventions: flag names, shorthand, argument parsing and output. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/awsclient.h"
#include "common/fileio.h"
#include "tests/unit/unit.h"

static const struct awsclient_member run_members[] = {
	{ "cluster", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "count", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ "enableECSManagedTags", AWSCLIENT_BOOLEAN, 0, NULL, NULL },
	{ "enableExecuteCommand", AWSCLIENT_BOOLEAN, 0, "disable-execute-command", NULL },
	{ "overrides", AWSCLIENT_STRUCT, 0, NULL, "cpu:i,containerOverrides.command:l" },
	{ "tags", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "capacityProviderStrategy", AWSCLIENT_STRUCT_LIST, 0, NULL, "weight:i,base:i" },
	{ "taskDefinition", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "include", AWSCLIENT_STRING_LIST, 0, NULL, NULL },
	{ NULL },
};

static const struct awsclient_member list_members[] = {
	{ "cluster", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "nextToken", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "maxResults", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ NULL },
};

static const struct awsclient_op ops[] = {
	{ "RunTask", run_members, NULL, "Starts a task." },
	{ "ListTasks", list_members, "taskArns", "Lists tasks." },
};

static const struct awsclient_service svc = {
	.target_prefix = "Test_20240101", .page_token = "nextToken", .page_limit = "maxResults",
	.ops = ops, .n_ops = 2,
};

static void check_name(const char *api, const char *want)
{
	char out[128];

	CHECK_EQ(awsclient_cli_name(api, out, sizeof(out)), 0);
	CHECK_STR(out, want);
}

static void test_cli_names(void)
{
	char small[6];

	check_name("clusterName", "cluster-name");
	check_name("taskDefinition", "task-definition");
	check_name("enableECSManagedTags", "enable-ecs-managed-tags");
	check_name("DescribeClusters", "describe-clusters");
	check_name("ListTaskDefinitionFamilies", "list-task-definition-families");
	check_name("sizeInGiB", "size-in-gi-b");
	check_name("resourceArn", "resource-arn");
	check_name("cluster", "cluster");
	check_name("clusterARNs", "cluster-arns");
	check_name("already-kebab", "already-kebab");
	CHECK_EQ(awsclient_cli_name("clusterName", small, sizeof(small)), -ENAMETOOLONG);
}

static void test_lookups(void)
{
	const struct awsclient_member *m;
	int v = -1;

	CHECK(awsclient_op_find(&svc, "run-task") == &ops[0]);
	CHECK(awsclient_op_find(&svc, "list-tasks") == &ops[1]);
	CHECK(awsclient_op_find(&svc, "RunTask") == NULL);
	CHECK(awsclient_op_find(&svc, "nope") == NULL);
	m = awsclient_member_find(&ops[0], "task-definition", &v);
	CHECK(m && strcmp(m->name, "taskDefinition") == 0);
	CHECK_EQ(v, 1);
	m = awsclient_member_find(&ops[0], "no-enable-ecs-managed-tags", &v);
	CHECK(m && strcmp(m->name, "enableECSManagedTags") == 0);
	CHECK_EQ(v, 0);
	m = awsclient_member_find(&ops[0], "disable-execute-command", &v);
	CHECK(m && strcmp(m->name, "enableExecuteCommand") == 0);
	CHECK_EQ(v, 0);
	CHECK(awsclient_member_find(&ops[0], "no-enable-execute-command", &v) == NULL);
	CHECK(awsclient_member_find(&ops[0], "no-cluster", &v) == NULL);
	CHECK(awsclient_member_find(&ops[0], "taskDefinition", &v) == NULL);
}

/* Parses text and compares its compact JSON with want (NULL: expect failure). */
static void check_shorthand(const char *text, const char *hints, const char *want)
{
	char err[512] = "";
	json_t *v = awsclient_parse_shorthand(text, hints, err, sizeof(err));
	char *got = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	if (!want) {
		CHECK(v == NULL);
		CHECK(err[0] != '\0');
	} else {
		if (!got)
			fprintf(stderr, "  shorthand %s: %s\n", text, err);
		CHECK_STR(got, want);
	}
	free(got);
	json_decref(v);
}

/* Nesting deeper than the parser allows is refused, not a stack overflow. */
static void check_deep_shorthand(void)
{
	char text[256] = "a=";

	for (int i = 0; i < 100; i++)
		strcat(text, "[");
	check_shorthand(text, NULL, NULL);
}

static void test_shorthand(void)
{
	check_shorthand("key=k1,value=v1", NULL, "{\"key\":\"k1\",\"value\":\"v1\"}");
	check_shorthand("a=b,c,d", NULL, "{\"a\":[\"b\",\"c\",\"d\"]}");
	check_shorthand("a=b,c,d=e", NULL, "{\"a\":[\"b\",\"c\"],\"d\":\"e\"}");
	check_shorthand("a=[x, y],b={c=d,e=[1,2]}", NULL,
			"{\"a\":[\"x\",\"y\"],\"b\":{\"c\":\"d\",\"e\":[\"1\",\"2\"]}}");
	check_shorthand("a='x,y',b=\"q\\\"uote\"", NULL, "{\"a\":\"x,y\",\"b\":\"q\\\"uote\"}");
	check_shorthand("a=x\\,y", NULL, "{\"a\":\"x,y\"}");
	check_shorthand("a=", NULL, "{\"a\":\"\"}");
	check_shorthand("a = b ", NULL, "{\"a\":\"b\"}");
	check_shorthand(" a=b", NULL, NULL);   /* awscli refuses a leading blank too */
	check_shorthand("a=b c", NULL, "{\"a\":\"b c\"}");
	check_shorthand("a=[]", NULL, "{\"a\":[]}");
	check_shorthand("a=http://x/y?z=1", NULL, "{\"a\":\"http://x/y?z=1\"}");
	check_shorthand("weight=2,base=0,capacityProvider=FARGATE", "weight:i,base:i",
			"{\"weight\":2,\"base\":0,\"capacityProvider\":\"FARGATE\"}");
	check_shorthand("cpu=256,containerOverrides=[{name=a,command=echo}]",
			"cpu:i,containerOverrides.command:l",
			"{\"cpu\":256,\"containerOverrides\":[{\"name\":\"a\",\"command\":[\"echo\"]}]}");
	check_shorthand("enabled=TRUE,n=1.5", "enabled:b,n:f", "{\"enabled\":true,\"n\":1.5}");
	check_shorthand("weight=heavy", "weight:i", NULL);
	check_shorthand("enabled=yes", "enabled:b", NULL);
	check_shorthand("a=b,a=c", NULL, NULL);
	check_shorthand("novalue", NULL, NULL);
	check_shorthand("a=[x,y", NULL, NULL);
	check_shorthand("a={b=c", NULL, NULL);
	check_shorthand("a='open", NULL, NULL);
	check_shorthand("a=b,", NULL, NULL);
	check_deep_shorthand();
}

/* Parses argv (a NULL-terminated list) for op; returns the request as compact JSON or NULL. */
static char *parse(const struct awsclient_op *op, int no_paginate, char *err, size_t errlen,
		   struct awsclient_invocation *keep, char **argv)
{
	struct awsclient_invocation inv;
	int argc = 0;
	char *out;

	while (argv[argc])
		argc++;
	if (awsclient_parse_args(&svc, op, argc, argv, no_paginate, &inv, err, errlen) < 0) {
		CHECK(inv.request == NULL);
		return NULL;
	}
	out = json_dumps(inv.request, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_SORT_KEYS);
	if (keep)
		*keep = inv;
	else
		awsclient_invocation_clear(&inv);
	return out;
}

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })

static void test_args_types(void)
{
	char err[2048], *got;

	got = parse(&ops[0], 0, err, sizeof(err), NULL,
		    ARGV("--cluster", "c1", "--task-definition=web:3", "--count", "2",
			 "--enable-ecs-managed-tags", "--disable-execute-command", "--include",
			 "TAGS", "X", "--tags", "key=a,value=b", "{\"key\":\"c\",\"value\":\"d\"}",
			 "--capacity-provider-strategy", "capacityProvider=F,weight=1",
			 "--overrides", "{\"containerOverrides\":[{\"name\":\"web\"}]}"));
	CHECK_STR(got, "{\"capacityProviderStrategy\":[{\"capacityProvider\":\"F\",\"weight\":1}],"
		  "\"cluster\":\"c1\",\"count\":2,\"enableECSManagedTags\":true,"
		  "\"enableExecuteCommand\":false,\"include\":[\"TAGS\",\"X\"],"
		  "\"overrides\":{\"containerOverrides\":[{\"name\":\"web\"}]},"
		  "\"tags\":[{\"key\":\"a\",\"value\":\"b\"},{\"key\":\"c\",\"value\":\"d\"}],"
		  "\"taskDefinition\":\"web:3\"}");
	free(got);
	got = parse(&ops[0], 0, err, sizeof(err), NULL,
		    ARGV("--task-definition", "t", "--tags", "[{\"key\":\"k\",\"value\":\"v\"}]",
			 "--overrides", "cpu=512", "--include", "[\"A\",\"B\"]"));
	CHECK_STR(got, "{\"include\":[\"A\",\"B\"],\"overrides\":{\"cpu\":512},"
		  "\"tags\":[{\"key\":\"k\",\"value\":\"v\"}],\"taskDefinition\":\"t\"}");
	free(got);
}

static void test_args_errors(void)
{
	char err[2048];

	CHECK(parse(&ops[0], 0, err, sizeof(err), NULL, ARGV("--cluster", "c")) == NULL);
	CHECK_CONTAINS(err, "the following arguments are required: --task-definition");
	CHECK(parse(&ops[0], 0, err, sizeof(err), NULL,
		    ARGV("--bogus", "--task-definition", "t", "stray")) == NULL);
	CHECK_CONTAINS(err, "Unknown options: --bogus, stray");
	CHECK_CONTAINS(err, "Valid options for run-task: --cluster, --count, "
		       "--enable-ecs-managed-tags, --no-enable-ecs-managed-tags");
	CHECK_CONTAINS(err, "--disable-execute-command");
	CHECK(parse(&ops[0], 0, err, sizeof(err), NULL,
		    ARGV("--task-definition", "t", "--count", "two")) == NULL);
	CHECK_CONTAINS(err, "argument --count: invalid integer value: 'two'");
	CHECK(parse(&ops[0], 0, err, sizeof(err), NULL, ARGV("--task-definition")) == NULL);
	CHECK_CONTAINS(err, "argument --task-definition: expected one argument");
	CHECK(parse(&ops[0], 0, err, sizeof(err), NULL,
		    ARGV("--task-definition", "t", "--include")) == NULL);
	CHECK_CONTAINS(err, "expected at least one argument");
	CHECK(parse(&ops[0], 0, err, sizeof(err), NULL,
		    ARGV("--task-definition", "t", "--overrides", "{bad json")) == NULL);
	CHECK_CONTAINS(err, "Error parsing parameter '--overrides': Invalid JSON");
	CHECK(parse(&ops[0], 0, err, sizeof(err), NULL,
		    ARGV("--task-definition", "t", "--tags", "key")) == NULL);
	CHECK_CONTAINS(err, "Error parsing parameter '--tags'");
	CHECK(parse(&ops[0], 0, err, sizeof(err), NULL,
		    ARGV("--task-definition", "t", "--enable-ecs-managed-tags=yes")) == NULL);
	CHECK_CONTAINS(err, "ignored explicit argument");
	CHECK(parse(&ops[0], 0, err, sizeof(err), NULL,
		    ARGV("--task-definition", "file:///nonexistent/x")) == NULL);
	CHECK_CONTAINS(err, "Unable to load paramfile file:///nonexistent/x");
	CHECK(parse(&ops[0], 0, err, sizeof(err), NULL, ARGV("--cli-input-json", "[1]")) == NULL);
	CHECK_CONTAINS(err, "expected a JSON object");
	/* Paging flags belong to paginated operations only. */
	CHECK(parse(&ops[0], 0, err, sizeof(err), NULL,
		    ARGV("--task-definition", "t", "--max-items", "1")) == NULL);
	CHECK_CONTAINS(err, "Unknown options: --max-items");
}

static void test_args_files_and_input_json(void)
{
	char dir[] = "/tmp/berth-awsc-XXXXXX", path[128], arg[160], input[200], err[2048], *got;
	const char *text = "{\"taskDefinition\":\"from-file\",\"count\":5,\"cluster\":\"c0\"}";

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/in.json", dir);
	CHECK_EQ(file_write_durable(path, text, strlen(text), 0600), 0);
	snprintf(input, sizeof(input), "file://%s", path);
	/* Flags override the members of --cli-input-json, wherever they stand. */
	got = parse(&ops[0], 0, err, sizeof(err), NULL,
		    ARGV("--count", "7", "--cli-input-json", input));
	CHECK_STR(got, "{\"cluster\":\"c0\",\"count\":7,\"taskDefinition\":\"from-file\"}");
	free(got);
	/* file:// feeds a structure member too. */
	snprintf(arg, sizeof(arg), "file://%s", path);
	got = parse(&ops[0], 0, err, sizeof(err), NULL,
		    ARGV("--task-definition", "t", "--overrides", arg));
	CHECK_CONTAINS(got, "\"overrides\":{\"cluster\":\"c0\",\"count\":5,");
	free(got);
	got = parse(&ops[0], 0, err, sizeof(err), NULL,
		    ARGV("--cli-input-json", "{\"taskDefinition\":\"inline\"}"));
	CHECK_STR(got, "{\"taskDefinition\":\"inline\"}");
	free(got);
	unlink(path);
	rmdir(dir);
}

static void test_args_paging(void)
{
	struct awsclient_invocation inv;
	char err[2048], *got;

	got = parse(&ops[1], 0, err, sizeof(err), &inv,
		    ARGV("--cluster", "c", "--max-items", "3", "--page-size", "2",
			 "--starting-token", "abc"));
	CHECK_STR(got, "{\"cluster\":\"c\"}");
	CHECK_EQ(inv.paginate, 1);
	CHECK_EQ(inv.max_items, 3);
	CHECK_EQ(inv.page_size, 2);
	CHECK_STR(inv.starting_token, "abc");
	free(got);
	awsclient_invocation_clear(&inv);
	awsclient_invocation_clear(&inv);
	awsclient_invocation_clear(NULL);

	/* A manual page token turns pagination off, as --no-paginate does. */
	got = parse(&ops[1], 0, err, sizeof(err), &inv, ARGV("--next-token", "t1"));
	CHECK_EQ(inv.paginate, 0);
	free(got);
	awsclient_invocation_clear(&inv);
	got = parse(&ops[1], 1, err, sizeof(err), &inv, ARGV("--cluster", "c"));
	CHECK_EQ(inv.paginate, 0);
	free(got);
	awsclient_invocation_clear(&inv);
	CHECK(parse(&ops[1], 1, err, sizeof(err), NULL, ARGV("--max-items", "1")) == NULL);
	CHECK_CONTAINS(err, "Cannot specify --no-paginate along with pagination arguments");
	CHECK(parse(&ops[1], 0, err, sizeof(err), NULL,
		    ARGV("--max-results", "5", "--page-size", "1")) == NULL);
	CHECK_CONTAINS(err, "--page-size");
	CHECK(parse(&ops[1], 0, err, sizeof(err), NULL, ARGV("--max-items", "0")) == NULL);
	CHECK_CONTAINS(err, "greater than zero");
}

/* Prints v in format into a string the caller frees. */
static char *print_to_string(const char *json, const char *format)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	CHECK(v != NULL);
	CHECK_EQ(awsclient_print(f, v, format, "ListThings"), 0);
	fclose(f);
	json_decref(v);
	return buf;
}

static void check_print(const char *json, const char *format, const char *want)
{
	char *got = print_to_string(json, format);

	CHECK_STR(got, want);
	free(got);
}

static void test_print_json(void)
{
	check_print("{}", "json", "");
	check_print("{\"a\": [], \"b\": {}, \"c\": [1, \"x\"], \"d\": {\"e\": null, \"f\": true}}",
		    "json",
		    "{\n    \"a\": [],\n    \"b\": {},\n    \"c\": [\n        1,\n        \"x\"\n"
		    "    ],\n    \"d\": {\n        \"e\": null,\n        \"f\": true\n    }\n}\n");
	/* Reals as Python's repr: shortest round trip, ".0" for whole numbers. */
	check_print("[1795685741.0544252, 100.0, 0.1, 1e16, 1.5e-05, -2.5]", "json",
		    "[\n    1795685741.0544252,\n    100.0,\n    0.1,\n    1e+16,\n    1.5e-05,\n"
		    "    -2.5\n]\n");
	check_print("{\"s\": \"q\\\"b\\\\n\\n\\u0001/é\"}", "json",
		    "{\n    \"s\": \"q\\\"b\\\\n\\n\\u0001/é\"\n}\n");
	CHECK_EQ(awsclient_print(stdout, json_null(), "yaml", NULL), -EINVAL);
}

static void test_print_text(void)
{
	check_print("{\"clusterArns\": [\"a\", \"b\"]}", "text", "CLUSTERARNS\ta\nCLUSTERARNS\tb\n");
	check_print("{\"clusters\": [{\"name\": \"x\", \"n\": 1, \"tags\": [{\"key\": \"k\", "
		    "\"value\": \"v\"}]}, {\"name\": \"y\", \"ok\": true}], \"failures\": []}",
		    "text", "CLUSTERS\t1\tx\t\nTAGS\tk\tv\nCLUSTERS\t\ty\tTrue\n");
	check_print("{\"b\": 2.0, \"a\": \"s\", \"z\": null}", "text", "s\t2.0\tNone\n");
	check_print("{\"arns\": [\"a\"], \"NextToken\": \"tok\"}", "text", "ARNS\ta\nNEXTTOKEN\ttok\n");
	check_print("[[1, 2], 3]", "text", "3\n1\t2\n");
}

/* Expected tables come from awscli's own TableFormatter (80 columns, colour off). */
static void test_print_table(void)
{
	check_print("{\"clusterArns\": [\"arn:a\", \"arn:b\"]}", "table",
		    "---------------\n"
		    "| ListThings  |\n"
		    "+-------------+\n"
		    "||clusterArns||\n"
		    "|+-----------+|\n"
		    "||  arn:a    ||\n"
		    "||  arn:b    ||\n"
		    "|+-----------+|\n");
	check_print("{\"items\": [{\"name\": \"a\", \"n\": 1}, {\"name\": \"bb\", \"n\": 22}]}",
		    "table",
		    "------------------\n"
		    "|   ListThings   |\n"
		    "+----------------+\n"
		    "||     items    ||\n"
		    "|+-----+--------+|\n"
		    "||  n  | name   ||\n"
		    "|+-----+--------+|\n"
		    "||  1  |  a     ||\n"
		    "||  22 |  bb    ||\n"
		    "|+-----+--------+|\n");
	check_print("{}", "table", "");
}

UNIT_MAIN(test_cli_names, test_lookups, test_shorthand, test_args_types, test_args_errors,
	  test_args_files_and_input_json, test_args_paging, test_print_json, test_print_text,
	  test_print_table)
