/* SPDX-License-Identifier: MIT */
/* test_taskdef_fixtures.c: task definitions exported from AWS (describe-task-definition output) and
 * RunTask overrides against a task definition. */
#include "tests/unit/taskdef_test.h"

static int fixtures_dir(char *out, size_t len)
{
	const char *ups[] = { "", "../", "../../", "../../../", "../../../../" };

	for (size_t i = 0; i < sizeof(ups) / sizeof(ups[0]); i++) {
		snprintf(out, len, "%stests/fixtures/taskdefs", ups[i]);
		if (access(out, R_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

static struct taskdef *load_fixture(const char *name)
{
	char dir[256], path[512];
	struct taskdef_error err = { "", "" };
	struct taskdef *td = NULL;
	json_error_t jerr;
	json_t *req;

	if (fixtures_dir(dir, sizeof(dir))) {
		UNIT_FAIL("tests/fixtures/taskdefs not found");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	req = json_load_file(path, 0, &jerr);
	if (!req) {
		UNIT_FAIL("%s: %s", path, jerr.text);
		return NULL;
	}
	if (taskdef_parse(req, &td, &err) != 0)
		UNIT_FAIL("%s refused: %s %s", name, err.type, err.message);
	json_decref(req);
	return td;
}

static void test_fixtures_register(void)
{
	char dir[256];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (fixtures_dir(dir, sizeof(dir)) || !(d = opendir(dir))) {
		UNIT_FAIL("tests/fixtures/taskdefs not found");
		return;
	}
	while ((de = readdir(d))) {
		struct taskdef *td;
		if (!strstr(de->d_name, ".json"))
			continue;
		td = load_fixture(de->d_name);
		if (td)
			check_round_trip(td);
		taskdef_free(td);
		n++;
	}
	closedir(d);
	CHECK_INT(n, >=, 4);
}

static void test_fixture_details(void)
{
	struct taskdef *td = load_fixture("sample_fargate.json");

	if (td) {
		CHECK_EQ(td->network_mode, TASKDEF_NETWORK_AWSVPC);
		CHECK_EQ(td->cpu, 256);
		CHECK_EQ(td->memory, 512);
		CHECK_EQ(td->revision, 0);
		CHECK(has_ignored(td, "containerDefinitions[0].logConfiguration"));
		CHECK(has_ignored(td, "executionRoleArn"));
		CHECK(has_ignored(td, "runtimePlatform"));
		CHECK_EQ(td->containers[0].n_entry_point, 2);
		CHECK_EQ(td->containers[0].ports[0].host_port, 80);
	}
	taskdef_free(td);
	td = load_fixture("appmesh_envoy.json");
	if (td) {
		CHECK_EQ(td->cpu, 512);
		CHECK_EQ(td->memory, 1024);
		CHECK_STR(doc_str(td, "cpu"), "512");
		CHECK_STR(doc_str(td, "memory"), "1024");
		CHECK_EQ(td->containers[0].depends_on[0].index, 1);
		CHECK_STR(td->containers[1].health.shell,
			  "curl -s http://localhost:9901/server_info | grep state | grep -q LIVE");
		CHECK_EQ(td->containers[1].ulimits[0].soft, 15000);
		CHECK_EQ(td->containers[0].stop_timeout, 10);
		CHECK_EQ(td->n_tags, 2);
		CHECK(has_ignored(td, "proxyConfiguration"));
		CHECK(has_ignored(td, "taskRoleArn"));
		CHECK(has_ignored(td, "containerDefinitions[1].secrets"));
	}
	taskdef_free(td);
	td = load_fixture("terraform_export.json");
	if (td) {
		CHECK(json_object_get(taskdef_json(td), "ipcMode") == NULL);
		CHECK(td->containers[0].init_process_enabled);
		CHECK(td->containers[0].readonly_root_filesystem);
		CHECK_EQ(td->containers[0].stop_timeout, 5);
		CHECK(has_ignored(td, "containerDefinitions[0].linuxParameters.capabilities"));
		CHECK(has_ignored(td, "containerDefinitions[0].dockerLabels"));
	}
	taskdef_free(td);
	td = load_fixture("hello_world.json");
	if (td) {
		CHECK_EQ(td->n_containers, 2);
		CHECK(has_ignored(td, "containerDefinitions[0].links"));
		CHECK_STR(td->containers[1].environment[0].name, "MYSQL_ROOT_PASSWORD");
	}
	taskdef_free(td);
}

static struct task_overrides *overrides_ok(const struct taskdef *td, const char *text)
{
	struct taskdef_error err = { "", "" };
	struct task_overrides *ov = NULL;
	json_t *j = text ? load(text) : NULL;

	if (taskdef_parse_overrides(j, td, &ov, &err) != 0)
		UNIT_FAIL("overrides refused: %s %s (%s)", err.type, err.message, text);
	json_decref(j);
	return ov;
}

static void overrides_refused(const struct taskdef *td, const char *text, const char *type,
			      const char *needle, int line)
{
	struct taskdef_error err = { "", "" };
	struct task_overrides *ov = NULL;
	json_t *j = load(text);

	if (taskdef_parse_overrides(j, td, &ov, &err) != -EINVAL || ov)
		UNIT_FAIL("line %d: overrides accepted: %s", line, text);
	else if (strcmp(err.type, type) != 0 || !strstr(err.message, needle))
		UNIT_FAIL("line %d: got %s \"%s\", wanted %s containing \"%s\"", line, err.type,
			  err.message, type, needle);
	taskdef_overrides_free(ov);
	json_decref(j);
}

#define OV_REFUSED(td, text, type, needle) overrides_refused(td, text, type, needle, __LINE__)

static void test_overrides(void)
{
	struct taskdef *td = parse_ok(TWO(", \"command\": [\"serve\"], \"environment\": "
					  "[{\"name\": \"A\", \"value\": \"1\"}, {\"name\": \"B\", "
					  "\"value\": \"2\"}]", ""));
	struct taskdef_container_spec *spec = NULL;
	struct task_overrides *ov;
	int cpu, memory;

	if (!td)
		return;
	ov = overrides_ok(td, "{\"containerOverrides\": [{\"name\": \"app\", \"command\": "
			  "[\"migrate\", \"--all\"], \"environment\": [{\"name\": \"B\", \"value\": "
			  "\"two\"}, {\"name\": \"C\", \"value\": \"3\"}], \"memory\": 64, "
			  "\"environmentFiles\": [{\"value\": \"arn\", \"type\": \"s3\"}]}], "
			  "\"memory\": \"1GB\", \"taskRoleArn\": \"arn:aws:iam::1:role/r\"}");
	if (ov && taskdef_resolve_container(td, ov, 0, &spec) == 0) {
		CHECK_EQ(spec->n_command, 2);
		CHECK_STR(spec->command[0], "migrate");
		CHECK_EQ(spec->n_environment, 3);
		CHECK_STR(spec->environment[0].value, "1");
		CHECK_STR(spec->environment[1].name, "B");
		CHECK_STR(spec->environment[1].value, "two");
		CHECK_STR(spec->environment[2].name, "C");
		CHECK_EQ(spec->memory, 64);
		CHECK(spec->def == &td->containers[0]);
		taskdef_resolve_size(td, ov, &cpu, &memory);
		CHECK_EQ(cpu, 0);
		CHECK_EQ(memory, 1024);
		CHECK_EQ(ov->n_ignored, 2);
		CHECK_STR(json_string_value(json_object_get(ov->doc, "memory")), "1024");
	}
	taskdef_container_spec_free(spec);
	spec = NULL;
	if (ov && taskdef_resolve_container(td, ov, 1, &spec) == 0) {
		CHECK(spec->command == NULL);
		CHECK_EQ(spec->memory, 8);
		CHECK_EQ(spec->n_environment, 0);
	}
	taskdef_container_spec_free(spec);
	spec = NULL;
	CHECK_EQ(taskdef_resolve_container(td, ov, 2, &spec), -EINVAL);
	taskdef_overrides_free(ov);
	ov = overrides_ok(td, NULL);
	if (ov && taskdef_resolve_container(td, ov, 0, &spec) == 0) {
		CHECK_STR(spec->command[0], "serve");
		CHECK_EQ(spec->n_environment, 2);
	}
	taskdef_container_spec_free(spec);
	taskdef_overrides_free(ov);
	OV_REFUSED(td, "{\"containerOverrides\": [{\"name\": \"nope\"}]}", INVALID,
		   "Override for container named nope is not a container in the TaskDefinition.");
	OV_REFUSED(td, "{\"containerOverrides\": [{\"command\": [\"x\"]}]}", INVALID,
		   "(overrides.containerOverrides[0].name)");
	OV_REFUSED(td, "{\"containerOverrides\": [{\"name\": \"app\"}, {\"name\": \"app\"}]}",
		   INVALID, "Duplicate override");
	OV_REFUSED(td, "{\"containerOverrides\": [{\"name\": \"app\", \"memory\": \"64\"}]}",
		   CLIENT, "Expected integer for overrides.containerOverrides[0].memory");
	OV_REFUSED(td, "{\"containerOverrides\": {\"name\": \"app\"}}", CLIENT,
		   "Expected list for overrides.containerOverrides");
	OV_REFUSED(td, "{\"memory\": \"32\", \"containerOverrides\": [{\"name\": \"app\", "
		   "\"memory\": 64}]}", CLIENT,
		   "The 'memory' setting for container 'app' is greater than for the task.");
	OV_REFUSED(td, "{\"cpu\": \"lots\"}", CLIENT, "Invalid 'cpu' setting for task "
		   "(overrides.cpu).");
	OV_REFUSED(td, "[]", CLIENT, "Expected object for overrides");
	taskdef_free(td);
}

static void test_overrides_fargate(void)
{
	struct taskdef *td = load_fixture("sample_fargate.json");
	struct task_overrides *ov;
	char *big, *p;
	int cpu, memory;

	if (!td)
		return;
	OV_REFUSED(td, "{\"cpu\": \"256\", \"memory\": \"4096\"}", CLIENT,
		   "No Fargate configuration exists for given values: 256 CPU, 4096 memory.");
	ov = overrides_ok(td, "{\"cpu\": \"1 vCPU\", \"memory\": \"4GB\"}");
	taskdef_resolve_size(td, ov, &cpu, &memory);
	CHECK_EQ(cpu, 1024);
	CHECK_EQ(memory, 4096);
	taskdef_overrides_free(ov);
	big = malloc(32768);
	p = big + sprintf(big, "{\"containerOverrides\": [{\"name\": \"fargate-app\", "
			  "\"environment\": [");
	for (int i = 0; i < 300; i++)
		p += sprintf(p, "%s{\"name\": \"V%d\", \"value\": \"xxxxxxxx\"}", i ? "," : "", i);
	strcpy(p, "]}]}");
	OV_REFUSED(td, big, INVALID, "Container Overrides length must be at most 8192");
	free(big);
	taskdef_free(td);
}


UNIT_MAIN(test_fixtures_register, test_fixture_details, test_overrides, test_overrides_fargate)
