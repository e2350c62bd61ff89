/* SPDX-License-Identifier: MIT */
/* test_taskdef.c: task definition parsing, validation, the normalised document and overrides. */
#include "tests/unit/taskdef_test.h"

static void test_minimal(void)
{
	struct taskdef *td = one_ok("", "\"memory\": 256");
	const json_t *doc, *c;

	if (!td)
		return;
	doc = taskdef_json(td);
	c = container_doc(td, 0);
	CHECK_STR(td->family, "web");
	CHECK_EQ(td->network_mode, TASKDEF_NETWORK_BRIDGE);
	CHECK_EQ(td->status, TASKDEF_STATUS_ACTIVE);
	CHECK_EQ(td->revision, 0);
	CHECK(td->arn == NULL);
	CHECK_EQ(td->n_containers, 1);
	CHECK_STR(td->containers[0].image, "nginx:1.25");
	CHECK(td->containers[0].essential);
	CHECK_EQ(td->containers[0].memory, 256);
	CHECK_EQ(td->containers[0].stop_timeout, 30);
	CHECK_EQ(td->containers[0].health.kind, TASKDEF_HEALTH_NONE);
	CHECK(td->containers[0].command == NULL);
	CHECK_EQ(td->n_ignored, 0);
	CHECK(td->ignored == NULL);
	CHECK_STR(doc_str(td, "status"), "ACTIVE");
	CHECK_EQ(json_array_size(json_object_get(doc, "requiresAttributes")), 0);
	CHECK_STR(json_string_value(json_array_get(json_object_get(doc, "compatibilities"), 0)),
		  "EXTERNAL");
	CHECK(json_is_array(json_object_get(doc, "volumes")));
	CHECK(json_is_array(json_object_get(doc, "placementConstraints")));
	CHECK(json_is_true(json_object_get(c, "essential")));
	CHECK(json_is_array(json_object_get(c, "portMappings")));
	CHECK(json_is_array(json_object_get(c, "environment")));
	CHECK(json_is_array(json_object_get(c, "mountPoints")));
	CHECK(json_is_array(json_object_get(c, "volumesFrom")));
	CHECK(json_object_get(doc, "networkMode") == NULL);
	taskdef_free(td);
}

static void test_family(void)
{
	char long_name[300], *s;
	struct taskdef *td;

	REFUSED("{\"containerDefinitions\": [{\"name\": \"a\", \"image\": \"x\", \"memory\": 8}]}",
		CLIENT, "Family should not be null or empty.");
	REFUSED("{\"family\": \"\", \"containerDefinitions\": []}", CLIENT, "Family");
	REFUSED("{\"family\": \"my app\", \"containerDefinitions\": []}", CLIENT,
		"Invalid family 'my app'");
	REFUSED("{\"family\": 5, \"containerDefinitions\": []}", CLIENT,
		"Expected string for family");
	memset(long_name, 'a', 255);
	long_name[255] = '\0';
	if (asprintf(&s, "{\"family\": \"%s\", \"containerDefinitions\": [{\"name\": \"a\", "
		     "\"image\": \"x\", \"memory\": 8}]}", long_name) < 0)
		abort();
	td = parse_ok(s);
	CHECK(td && strlen(td->family) == 255);
	taskdef_free(td);
	free(s);
	if (asprintf(&s, "{\"family\": \"%sb\", \"containerDefinitions\": [{\"name\": \"a\", "
		     "\"image\": \"x\", \"memory\": 8}]}", long_name) < 0)
		abort();
	REFUSED(s, CLIENT, "Invalid family");
	free(s);
	td = parse_ok("{\"family\": \"A-z_09\", \"containerDefinitions\": [{\"name\": \"a\", "
		      "\"image\": \"x\", \"memory\": 8}]}");
	taskdef_free(td);
}

static void test_container_list(void)
{
	REFUSED("{\"family\": \"f\"}", CLIENT, "Container list cannot be empty.");
	REFUSED("{\"family\": \"f\", \"containerDefinitions\": []}", CLIENT,
		"Container list cannot be empty.");
	REFUSED("{\"family\": \"f\", \"containerDefinitions\": {}}", CLIENT,
		"Expected list for containerDefinitions");
	REFUSED("{\"family\": \"f\", \"containerDefinitions\": [5]}", CLIENT,
		"Expected object for containerDefinitions[0]");
	REFUSED("{\"family\": \"f\", \"containerDefinitions\": [{},{},{},{},{},{},{},{},{},{},{}]}",
		CLIENT, "Too many containers");
	REFUSED("[]", CLIENT, "Expected object");
}

static void test_container_name(void)
{
	ONE_REFUSED("", "\"name\": null", CLIENT, "Container.name should not be null or empty.");
	REFUSED("{\"family\": \"f\", \"containerDefinitions\": [{\"image\": \"x\"}]}", CLIENT,
		"Container.name should not be null or empty.");
	REFUSED("{\"family\": \"f\", \"containerDefinitions\": [{\"name\": \"we b\", "
		"\"image\": \"x\", \"memory\": 8}]}", CLIENT,
		"Invalid container name 'we b' (containerDefinitions[0].name)");
	REFUSED("{\"family\": \"f\", \"containerDefinitions\": [{\"name\": \"a\", \"image\": \"x\", "
		"\"memory\": 8}, {\"name\": \"a\", \"image\": \"y\", \"memory\": 8}]}", CLIENT,
		"Duplicate container name 'a' (containerDefinitions[1].name)");
}

static void test_image(void)
{
	static const char *const good[] = {
		"nginx", "nginx:1.25", "library/nginx:latest",
		"public.ecr.aws/docker/library/httpd:latest", "localhost:5000/a/b:c",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:v1.2.3-rc_1",
		"repo@sha256:" HEX64, "repo:tag@sha256:" HEX64, "a__b.c-d",
	};
	static const char *const bad[] = {
		"Nginx", "nginx:", "nginx@sha256:abc", "repo@sha256:" HEX64 "0", " nginx",
		"nginx:tag with space", "a//b", "nginx:-tag", "repo@md5:" HEX64, "-nginx",
	};
	char member[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(member, sizeof(member), "\"memory\": 8, \"image\": \"%s\"", good[i]);
		taskdef_free(one_ok("", member));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(member, sizeof(member), "\"memory\": 8, \"image\": \"%s\"", bad[i]);
		ONE_REFUSED("", member, CLIENT, "(containerDefinitions[0].image)");
	}
	REFUSED("{\"family\": \"f\", \"containerDefinitions\": [{\"name\": \"a\", \"memory\": 8}]}",
		CLIENT, "Container.image should not be null or empty.");
	ONE_REFUSED("", "\"memory\": 8, \"image\": \"\"", CLIENT,
		    "Container.image should not be null or empty.");
	ONE_REFUSED("", "\"memory\": 8, \"image\": [\"nginx\"]", CLIENT,
		    "Expected string for containerDefinitions[0].image");
}

static void test_essential(void)
{
	struct taskdef *td;

	REFUSED("{\"family\": \"f\", \"containerDefinitions\": [{\"name\": \"a\", \"image\": \"x\", "
		"\"memory\": 8, \"essential\": false}]}", CLIENT,
		"Task definition doesn't have any essential container.");
	ONE_REFUSED("", "\"memory\": 8, \"essential\": \"yes\"", CLIENT,
		    "Expected boolean for containerDefinitions[0].essential");
	td = parse_ok("{\"family\": \"f\", \"containerDefinitions\": [{\"name\": \"a\", "
		      "\"image\": \"x\", \"memory\": 8, \"essential\": false}, {\"name\": \"b\", "
		      "\"image\": \"x\", \"memory\": 8}]}");
	if (!td)
		return;
	CHECK(!td->containers[0].essential);
	CHECK(td->containers[1].essential);
	CHECK(json_is_false(json_object_get(container_doc(td, 0), "essential")));
	taskdef_free(td);
}

static void check_cpu(const char *value, int units)
{
	char task[64];
	struct taskdef *td;

	snprintf(task, sizeof(task), "\"cpu\": %s", value);
	td = one_ok(task, "\"memory\": 8");
	if (!td)
		return;
	CHECK_EQ(td->cpu, units);
	CHECK_EQ(atoi(doc_str(td, "cpu")), units);
	taskdef_free(td);
}

static void check_memory(const char *value, int mib)
{
	char task[64];
	struct taskdef *td;

	snprintf(task, sizeof(task), "\"memory\": %s", value);
	td = one_ok(task, "");
	if (!td)
		return;
	CHECK_EQ(td->memory, mib);
	CHECK_EQ(atoi(doc_str(td, "memory")), mib);
	taskdef_free(td);
}

static void test_task_cpu(void)
{
	static const char *const bad[] = {
		"\"\"", "\"abc\"", "\"1.5\"", "\"0.0001 vCPU\"", "\"-256\"", "\"0\"",
		"\"256 MB\"", "3.5", "true", "0", "100", "\" 256\"", "\"1e3\"", "[256]",
	};
	char task[64];

	check_cpu("\"256\"", 256);
	check_cpu("256", 256);
	check_cpu("\"0.25 vCPU\"", 256);
	check_cpu("\"1 vCPU\"", 1024);
	check_cpu("\"2vcpu\"", 2048);
	check_cpu("\"0.5 VCPU\"", 512);
	check_cpu("\"128\"", 128);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(task, sizeof(task), "\"cpu\": %s", bad[i]);
		ONE_REFUSED(task, "\"memory\": 8", CLIENT, "Invalid 'cpu' setting for task.");
	}
}

static void test_task_memory(void)
{
	static const char *const bad[] = {
		"\"1 TB\"", "\"0.3GB\"", "\"\"", "\"GB\"", "\"-1\"", "\"512 MiB\"", "1.5", "0",
	};
	char task[64];

	check_memory("512", 512);
	check_memory("\"512\"", 512);
	check_memory("\"1GB\"", 1024);
	check_memory("\"1 GB\"", 1024);
	check_memory("\"0.5GB\"", 512);
	check_memory("\"2 gb\"", 2048);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(task, sizeof(task), "\"memory\": %s", bad[i]);
		ONE_REFUSED(task, "", CLIENT, "Invalid 'memory' setting for task.");
	}
}

static void check_fargate(int cpu, int memory, bool valid)
{
	char task[160];

	snprintf(task, sizeof(task), "\"networkMode\": \"awsvpc\", \"requiresCompatibilities\": "
		 "[\"FARGATE\"], \"cpu\": \"%d\", \"memory\": \"%d\"", cpu, memory);
	if (valid)
		taskdef_free(one_ok(task, ""));
	else
		ONE_REFUSED(task, "", CLIENT, "No Fargate configuration exists for given values");
}

static void test_fargate(void)
{
	struct taskdef *td;

	ONE_REFUSED("\"requiresCompatibilities\": [\"FARGATE\"], \"cpu\": \"256\", "
		    "\"memory\": \"512\"", "", CLIENT,
		    "Fargate only supports network mode 'awsvpc'.");
	ONE_REFUSED("\"networkMode\": \"awsvpc\", \"requiresCompatibilities\": [\"FARGATE\"], "
		    "\"memory\": \"512\"", "", CLIENT,
		    "Fargate requires that 'cpu' be defined at the task level.");
	ONE_REFUSED("\"networkMode\": \"awsvpc\", \"requiresCompatibilities\": [\"FARGATE\"], "
		    "\"cpu\": \"256\"", "\"memory\": 128", CLIENT,
		    "Fargate requires that 'memory' be defined at the task level.");
	ONE_REFUSED("\"networkMode\": \"awsvpc\"", "\"memory\": 128", CLIENT,
		    "Network mode 'awsvpc' requires that 'cpu' be defined at the task level.");
	ONE_REFUSED("\"networkMode\": \"awsvpc\", \"requiresCompatibilities\": [\"FARGATE\"], "
		    "\"cpu\": \"256\", \"memory\": \"4096\"", "", CLIENT,
		    "No Fargate configuration exists for given values: 256 CPU, 4096 memory.");
	check_fargate(256, 512, true);
	check_fargate(256, 1024, true);
	check_fargate(256, 2048, true);
	check_fargate(256, 1536, false);
	check_fargate(256, 3072, false);
	check_fargate(512, 1024, true);
	check_fargate(512, 4096, true);
	check_fargate(512, 512, false);
	check_fargate(1024, 2048, true);
	check_fargate(1024, 8192, true);
	check_fargate(1024, 9216, false);
	check_fargate(2048, 16384, true);
	check_fargate(2048, 3072, false);
	check_fargate(4096, 30720, true);
	check_fargate(4096, 31744, false);
	check_fargate(8192, 20480, true);
	check_fargate(8192, 61440, true);
	check_fargate(8192, 18432, false);
	check_fargate(16384, 32768, true);
	check_fargate(16384, 122880, true);
	check_fargate(16384, 36864, false);
	check_fargate(384, 1024, false);
	td = one_ok("\"networkMode\": \"awsvpc\", \"cpu\": \"1 vCPU\", \"memory\": \"2GB\"", "");
	if (!td)
		return;
	CHECK_EQ(td->cpu, 1024);
	CHECK_EQ(td->memory, 2048);
	CHECK_STR(json_string_value(json_array_get(json_object_get(taskdef_json(td),
								   "compatibilities"), 1)), "FARGATE");
	taskdef_free(td);
}

static void test_container_memory(void)
{
	struct taskdef *td;

	ONE_REFUSED("", "", CLIENT, "Invalid setting for container 'web'. At least one of "
		    "'memory' or 'memoryReservation' must be specified.");
	taskdef_free(one_ok("\"memory\": \"512\"", ""));
	taskdef_free(one_ok("", "\"memoryReservation\": 64"));
	taskdef_free(one_ok("", "\"memory\": 128, \"memoryReservation\": 128"));
	ONE_REFUSED("", "\"memory\": 128, \"memoryReservation\": 129", CLIENT,
		    "'memoryReservation' (129 MiB) must not be greater than 'memory'");
	ONE_REFUSED("", "\"memory\": 5", CLIENT,
		    "Invalid 'memory' setting for container 'web' (containerDefinitions[0].memory)");
	ONE_REFUSED("", "\"memory\": \"256\"", CLIENT,
		    "Expected integer for containerDefinitions[0].memory");
	ONE_REFUSED("\"memory\": \"512\"", "\"memory\": 1024", CLIENT,
		    "The 'memory' setting for container 'web' is greater than for the task.");
	ONE_REFUSED("\"memory\": \"512\"", "\"memoryReservation\": 1024", CLIENT,
		    "The 'memoryReservation' setting for container 'web' is greater than");
	REFUSED("{\"family\": \"f\", \"memory\": \"512\", \"containerDefinitions\": ["
		"{\"name\": \"a\", \"image\": \"x\", \"memoryReservation\": 300},"
		"{\"name\": \"b\", \"image\": \"x\", \"memory\": 300}]}", CLIENT,
		"The sum of all container 'memoryReservation' values cannot be greater than the "
		"value of the task 'memory'.");
	REFUSED("{\"family\": \"f\", \"cpu\": \"256\", \"containerDefinitions\": ["
		"{\"name\": \"a\", \"image\": \"x\", \"memory\": 8, \"cpu\": 200},"
		"{\"name\": \"b\", \"image\": \"x\", \"memory\": 8, \"cpu\": 100}]}", CLIENT,
		"The sum of all container 'cpu' values cannot be greater than the value of the "
		"task 'cpu'.");
	ONE_REFUSED("", "\"memory\": 8, \"cpu\": -1", CLIENT,
		    "Invalid 'cpu' setting for container 'web' (containerDefinitions[0].cpu)");
	td = parse_ok("{\"family\": \"f\", \"cpu\": \"256\", \"memory\": \"512\", "
		      "\"containerDefinitions\": [{\"name\": \"a\", \"image\": \"x\", \"cpu\": 128, "
		      "\"memoryReservation\": 256}, {\"name\": \"b\", \"image\": \"x\", "
		      "\"cpu\": 128, \"memory\": 256}]}");
	if (!td)
		return;
	CHECK_EQ(td->containers[0].memory_reservation, 256);
	CHECK_EQ(td->containers[1].memory, 256);
	CHECK_EQ(td->containers[0].cpu + td->containers[1].cpu, 256);
	taskdef_free(td);
}

static void test_ports(void)
{
	struct taskdef *td;
	const json_t *pm;

	ONE_REFUSED("\"networkMode\": \"none\"", "\"memory\": 8, \"portMappings\": "
		    "[{\"containerPort\": 80}]", CLIENT, "containerDefinitions[0].portMappings");
	ONE_REFUSED("\"networkMode\": \"awsvpc\", \"cpu\": \"256\", \"memory\": \"512\"",
		    "\"portMappings\": [{\"containerPort\": 80, \"hostPort\": 8080}]", CLIENT,
		    "When networkMode=awsvpc, the host ports and container ports in port mappings "
		    "must match");
	ONE_REFUSED("\"networkMode\": \"host\"", "\"memory\": 8, \"portMappings\": "
		    "[{\"containerPort\": 80, \"hostPort\": 8080}]", CLIENT,
		    "When networkMode=host");
	ONE_REFUSED("", "\"memory\": 8, \"portMappings\": [{\"hostPort\": 80}]", CLIENT,
		    "Invalid 'containerPort' setting for container 'web' "
		    "(containerDefinitions[0].portMappings[0].containerPort)");
	ONE_REFUSED("", "\"memory\": 8, \"portMappings\": [{\"containerPort\": 70000}]", CLIENT,
		    "Invalid 'containerPort' setting");
	ONE_REFUSED("", "\"memory\": 8, \"portMappings\": [{\"containerPort\": 80, "
		    "\"hostPort\": 65536}]", CLIENT, "Invalid 'hostPort' setting");
	ONE_REFUSED("", "\"memory\": 8, \"portMappings\": [{\"containerPort\": 80, "
		    "\"protocol\": \"sctp\"}]", CLIENT,
		    "Invalid value 'sctp' for containerDefinitions[0].portMappings[0].protocol");
	ONE_REFUSED("", "\"memory\": 8, \"portMappings\": [{\"containerPort\": 80, \"hostPort\": 80},"
		    " {\"containerPort\": 81, \"hostPort\": 80}]", CLIENT,
		    "TCP host port '80' is mapped multiple times in task");
	ONE_REFUSED("", "\"memory\": 8, \"portMappings\": {}", CLIENT,
		    "Expected list for containerDefinitions[0].portMappings");
	td = one_ok("\"networkMode\": \"awsvpc\", \"cpu\": \"256\", \"memory\": \"512\"",
		    "\"portMappings\": [{\"containerPort\": 80}, {\"containerPort\": 53, "
		    "\"protocol\": \"udp\"}, {\"containerPort\": 53}]");
	if (!td)
		return;
	CHECK_EQ(td->containers[0].n_ports, 3);
	CHECK_EQ(td->containers[0].ports[0].host_port, 80);
	CHECK_EQ(td->containers[0].ports[1].protocol, TASKDEF_PROTO_UDP);
	pm = json_object_get(container_doc(td, 0), "portMappings");
	CHECK_EQ(json_integer_value(json_object_get(json_array_get(pm, 0), "hostPort")), 80);
	CHECK_STR(json_string_value(json_object_get(json_array_get(pm, 0), "protocol")), "tcp");
	taskdef_free(td);
	td = one_ok("", "\"memory\": 8, \"portMappings\": [{\"containerPort\": 80, \"hostPort\": 0},"
		    " {\"containerPort\": 81}, {\"containerPort\": 82, \"hostPort\": 8082, "
		    "\"name\": \"admin\", \"appProtocol\": \"http\"}]");
	if (!td)
		return;
	CHECK_EQ(td->containers[0].ports[0].host_port, 0);
	CHECK_EQ(td->containers[0].ports[1].host_port, 0);
	CHECK_EQ(td->containers[0].ports[2].host_port, 8082);
	CHECK_STR(td->containers[0].ports[2].name, "admin");
	CHECK(has_ignored(td, "containerDefinitions[0].portMappings[2].appProtocol"));
	taskdef_free(td);
}

static void test_health_check(void)
{
	static const struct {
		const char *member;
		const char *path;
	} bad[] = {
		{ "\"interval\": 4", "healthCheck.interval" },
		{ "\"interval\": 301", "healthCheck.interval" },
		{ "\"timeout\": 1", "healthCheck.timeout" },
		{ "\"timeout\": 61", "healthCheck.timeout" },
		{ "\"retries\": 0", "healthCheck.retries" },
		{ "\"retries\": 11", "healthCheck.retries" },
		{ "\"startPeriod\": -1", "healthCheck.startPeriod" },
		{ "\"startPeriod\": 301", "healthCheck.startPeriod" },
	};
	char member[256], path[128];
	struct taskdef *td;
	const json_t *hc;

	td = one_ok("", "\"memory\": 8, \"healthCheck\": {\"command\": [\"CMD-SHELL\", "
		    "\"curl -f http://localhost/\", \"|| exit 1\"]}");
	if (!td)
		return;
	CHECK_EQ(td->containers[0].health.kind, TASKDEF_HEALTH_CMD_SHELL);
	CHECK_STR(td->containers[0].health.shell, "curl -f http://localhost/ || exit 1");
	CHECK_EQ(td->containers[0].health.interval, 30);
	CHECK_EQ(td->containers[0].health.timeout, 5);
	CHECK_EQ(td->containers[0].health.retries, 3);
	CHECK_EQ(td->containers[0].health.start_period, 0);
	hc = json_object_get(container_doc(td, 0), "healthCheck");
	CHECK_EQ(json_integer_value(json_object_get(hc, "interval")), 30);
	CHECK_EQ(json_integer_value(json_object_get(hc, "timeout")), 5);
	CHECK_EQ(json_integer_value(json_object_get(hc, "retries")), 3);
	CHECK(json_object_get(hc, "startPeriod") == NULL);
	CHECK_STR(json_string_value(json_array_get(json_object_get(hc, "command"), 0)),
		  "CMD-SHELL");
	taskdef_free(td);
	td = one_ok("", "\"memory\": 8, \"healthCheck\": {\"command\": [\"CMD\", \"/bin/check\", "
		    "\"-q\"], \"interval\": 5, \"timeout\": 60, \"retries\": 10, "
		    "\"startPeriod\": 300}");
	if (!td)
		return;
	CHECK_EQ(td->containers[0].health.kind, TASKDEF_HEALTH_CMD);
	CHECK_EQ(td->containers[0].health.n_command, 2);
	CHECK_STR(td->containers[0].health.command[0], "/bin/check");
	CHECK_STR(td->containers[0].health.command[1], "-q");
	CHECK(td->containers[0].health.command[2] == NULL);
	CHECK(td->containers[0].health.shell == NULL);
	CHECK_EQ(td->containers[0].health.interval, 5);
	CHECK_EQ(td->containers[0].health.start_period, 300);
	taskdef_free(td);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(member, sizeof(member), "\"memory\": 8, \"healthCheck\": {\"command\": "
			 "[\"CMD\", \"true\"], %s}", bad[i].member);
		snprintf(path, sizeof(path), "(containerDefinitions[0].%s)", bad[i].path);
		ONE_REFUSED("", member, CLIENT, path);
	}
	ONE_REFUSED("", "\"memory\": 8, \"healthCheck\": {\"command\": [\"curl\", \"x\"]}", CLIENT,
		    "containerDefinitions[0].healthCheck.command");
	ONE_REFUSED("", "\"memory\": 8, \"healthCheck\": {\"command\": [\"CMD\"]}", CLIENT,
		    "containerDefinitions[0].healthCheck.command");
	ONE_REFUSED("", "\"memory\": 8, \"healthCheck\": {\"interval\": 10}", CLIENT,
		    "containerDefinitions[0].healthCheck.command");
	ONE_REFUSED("", "\"memory\": 8, \"healthCheck\": {\"command\": \"CMD true\"}", CLIENT,
		    "Expected list for containerDefinitions[0].healthCheck.command");
	ONE_REFUSED("", "\"memory\": 8, \"healthCheck\": [\"CMD\", \"true\"]", CLIENT,
		    "Expected object for containerDefinitions[0].healthCheck");
}

static void test_ulimits(void)
{
	struct taskdef *td = one_ok("", "\"memory\": 8, \"ulimits\": [{\"name\": \"nofile\", "
				    "\"softLimit\": 1024, \"hardLimit\": 4096}, {\"name\": \"core\", "
				    "\"softLimit\": 0, \"hardLimit\": 0}]");

	if (!td)
		return;
	CHECK_EQ(td->containers[0].n_ulimits, 2);
	CHECK_STR(td->containers[0].ulimits[0].name, "nofile");
	CHECK_EQ(td->containers[0].ulimits[0].resource, RLIMIT_NOFILE);
	CHECK_EQ(td->containers[0].ulimits[0].soft, 1024);
	CHECK_EQ(td->containers[0].ulimits[0].hard, 4096);
	CHECK_EQ(td->containers[0].ulimits[1].resource, RLIMIT_CORE);
	taskdef_free(td);
	ONE_REFUSED("", "\"memory\": 8, \"ulimits\": [{\"name\": \"files\", \"softLimit\": 1, "
		    "\"hardLimit\": 1}]", CLIENT,
		    "Invalid value 'files' for containerDefinitions[0].ulimits[0].name");
	ONE_REFUSED("", "\"memory\": 8, \"ulimits\": [{\"name\": \"nofile\", \"softLimit\": 10, "
		    "\"hardLimit\": 1}]", CLIENT, "(containerDefinitions[0].ulimits[0])");
	ONE_REFUSED("", "\"memory\": 8, \"ulimits\": [{\"name\": \"nofile\", \"softLimit\": 10}]",
		    CLIENT, "(containerDefinitions[0].ulimits[0]): name, softLimit and hardLimit");
	ONE_REFUSED("", "\"memory\": 8, \"ulimits\": [{\"name\": \"nofile\", \"softLimit\": 1, "
		    "\"hardLimit\": 1}, {\"name\": \"nofile\", \"softLimit\": 2, \"hardLimit\": 2}]",
		    CLIENT, "Duplicate ulimit 'nofile'");
}

static void test_timeouts(void)
{
	struct taskdef *td = one_ok("", "\"memory\": 8, \"stopTimeout\": 2, \"startTimeout\": 600");

	if (td) {
		CHECK_EQ(td->containers[0].stop_timeout, 2);
		CHECK_EQ(td->containers[0].start_timeout, 600);
	}
	taskdef_free(td);
	td = one_ok("", "\"memory\": 8, \"stopTimeout\": 120");
	CHECK(td && td->containers[0].stop_timeout == 120);
	taskdef_free(td);
	ONE_REFUSED("", "\"memory\": 8, \"stopTimeout\": 1", CLIENT,
		    "Invalid 'stopTimeout' setting for container 'web' "
		    "(containerDefinitions[0].stopTimeout): must be between 2 and 120.");
	ONE_REFUSED("", "\"memory\": 8, \"stopTimeout\": 121", CLIENT, "'stopTimeout'");
	ONE_REFUSED("\"networkMode\": \"awsvpc\", \"cpu\": \"256\", \"memory\": \"512\"",
		    "\"startTimeout\": 121", CLIENT, "'startTimeout'");
}

static void test_process_fields(void)
{
	struct taskdef *td = one_ok("", "\"memory\": 8, \"command\": [\"sleep\", \"360\"], "
				    "\"entryPoint\": [\"/bin/sh\", \"-c\"], \"workingDirectory\": "
				    "\"/srv\", \"user\": \"1000:1000\", \"readonlyRootFilesystem\": "
				    "true, \"privileged\": true, \"linuxParameters\": "
				    "{\"initProcessEnabled\": true}");
	const struct taskdef_container *c;

	if (!td)
		return;
	c = &td->containers[0];
	CHECK_EQ(c->n_command, 2);
	CHECK_STR(c->command[1], "360");
	CHECK(c->command[2] == NULL);
	CHECK_EQ(c->n_entry_point, 2);
	CHECK_STR(c->entry_point[0], "/bin/sh");
	CHECK_STR(c->working_directory, "/srv");
	CHECK_STR(c->user, "1000:1000");
	CHECK(c->readonly_root_filesystem);
	CHECK(c->privileged);
	CHECK(c->init_process_enabled);
	taskdef_free(td);
	ONE_REFUSED("", "\"memory\": 8, \"command\": \"sleep 360\"", CLIENT,
		    "Expected list for containerDefinitions[0].command");
	ONE_REFUSED("", "\"memory\": 8, \"command\": [\"sleep\", 360]", CLIENT,
		    "Expected string for containerDefinitions[0].command[1]");
	ONE_REFUSED("", "\"memory\": 8, \"entryPoint\": [null]", CLIENT,
		    "Expected string for containerDefinitions[0].entryPoint[0]");
	ONE_REFUSED("", "\"memory\": 8, \"user\": 0", CLIENT,
		    "Expected string for containerDefinitions[0].user");
	ONE_REFUSED("", "\"memory\": 8, \"linuxParameters\": {\"initProcessEnabled\": 1}", CLIENT,
		    "Expected boolean for containerDefinitions[0].linuxParameters.initProcessEnabled");
}

static void test_environment(void)
{
	struct taskdef *td = one_ok("", "\"memory\": 8, \"environment\": [{\"name\": \"A\", "
				    "\"value\": \"1\"}, {\"name\": \"EMPTY\"}]");

	if (!td)
		return;
	CHECK_EQ(td->containers[0].n_environment, 2);
	CHECK_STR(td->containers[0].environment[0].name, "A");
	CHECK_STR(td->containers[0].environment[0].value, "1");
	CHECK_STR(td->containers[0].environment[1].value, "");
	taskdef_free(td);
	ONE_REFUSED("", "\"memory\": 8, \"environment\": [{\"name\": \"\", \"value\": \"1\"}]",
		    CLIENT, "(containerDefinitions[0].environment[0].name)");
	ONE_REFUSED("", "\"memory\": 8, \"environment\": [{\"value\": \"1\"}]",
		    CLIENT, "(containerDefinitions[0].environment[0].name)");
	ONE_REFUSED("", "\"memory\": 8, \"environment\": [{\"name\": \"A=B\", \"value\": \"1\"}]",
		    CLIENT, "must not contain '='");
	ONE_REFUSED("", "\"memory\": 8, \"environment\": [{\"name\": \"A\", \"value\": 1}]",
		    CLIENT, "Expected string for containerDefinitions[0].environment[0].value");
	ONE_REFUSED("", "\"memory\": 8, \"environment\": [\"A=1\"]",
		    CLIENT, "Expected object for containerDefinitions[0].environment[0]");
}

static void test_depends_on(void)
{
	struct taskdef *td = parse_ok(TWO(", \"dependsOn\": [{\"containerName\": \"db\", "
					  "\"condition\": \"HEALTHY\"}]", ", \"healthCheck\": "
					  "{\"command\": [\"CMD\", \"true\"]}"));

	if (!td)
		return;
	CHECK_EQ(td->containers[0].n_depends_on, 1);
	CHECK_EQ(td->containers[0].depends_on[0].index, 1);
	CHECK_EQ(td->containers[0].depends_on[0].condition, TASKDEF_COND_HEALTHY);
	CHECK_STR(td->containers[0].depends_on[0].container_name, "db");
	taskdef_free(td);
	taskdef_free(parse_ok(TWO(", \"dependsOn\": [{\"containerName\": \"db\", \"condition\": "
				  "\"SUCCESS\"}]", ", \"essential\": false")));
	taskdef_free(parse_ok(TWO(", \"dependsOn\": [{\"containerName\": \"db\", \"condition\": "
				  "\"START\"}]", "")));
	REFUSED(TWO(", \"dependsOn\": [{\"containerName\": \"cache\", \"condition\": \"START\"}]",
		    ""), CLIENT, "(containerDefinitions[0].dependsOn[0].containerName)");
	REFUSED(TWO(", \"dependsOn\": [{\"containerName\": \"app\", \"condition\": \"START\"}]",
		    ""), CLIENT, "(containerDefinitions[0].dependsOn[0].containerName)");
	REFUSED(TWO(", \"dependsOn\": [{\"containerName\": \"db\", \"condition\": \"READY\"}]", ""),
		CLIENT, "Invalid value 'READY' for containerDefinitions[0].dependsOn[0].condition");
	REFUSED(TWO(", \"dependsOn\": [{\"containerName\": \"db\"}]", ""), CLIENT,
		"(containerDefinitions[0].dependsOn[0]): containerName and condition are required");
	REFUSED(TWO(", \"dependsOn\": [{\"containerName\": \"db\", \"condition\": \"HEALTHY\"}]",
		    ""), CLIENT, "container 'db' has no healthCheck");
	REFUSED(TWO(", \"dependsOn\": [{\"containerName\": \"db\", \"condition\": \"COMPLETE\"}]",
		    ""), CLIENT, "A dependency container with SUCCESS or COMPLETE condition cannot "
		"be an essential container");
	REFUSED(TWO(", \"dependsOn\": [{\"containerName\": \"db\", \"condition\": \"START\"}]",
		    ", \"dependsOn\": [{\"containerName\": \"app\", \"condition\": \"START\"}]"),
		CLIENT, "form a cycle");
}

static void test_tags(void)
{
	char *s, *p, task[8192];
	struct taskdef *td;

	td = one_ok("\"tags\": [{\"key\": \"team\", \"value\": \"web\"}, {\"key\": \"caf\xc3\xa9 "
		    "owner\"}, {\"key\": \"a:b/c=d+e-f@g_h.i\", \"value\": \"\"}]", "\"memory\": 8");
	if (td) {
		CHECK_EQ(td->n_tags, 3);
		CHECK_STR(td->tags[0].key, "team");
		CHECK_STR(td->tags[0].value, "web");
		CHECK_STR(td->tags[1].value, "");
		CHECK(json_object_get(taskdef_json(td), "tags") == NULL);
		CHECK_EQ(json_array_size(td->tags_doc), 3);
	}
	taskdef_free(td);
	p = task + sprintf(task, "\"tags\": [");
	for (int i = 0; i < 51; i++)
		p += sprintf(p, "%s{\"key\": \"k%d\", \"value\": \"v\"}", i ? "," : "", i);
	strcpy(p, "]");
	ONE_REFUSED(task, "\"memory\": 8", INVALID, "Too many tags");
	strcpy(strrchr(task, '{') - 1, "]");   /* 50 tags */
	taskdef_free(one_ok(task, "\"memory\": 8"));
	ONE_REFUSED("\"tags\": [{\"key\": \"\"}]", "\"memory\": 8", INVALID, "(tags[0].key)");
	ONE_REFUSED("\"tags\": [{\"value\": \"v\"}]", "\"memory\": 8", INVALID, "(tags[0].key)");
	ONE_REFUSED("\"tags\": [{\"key\": \"aws:cost\"}]", "\"memory\": 8", INVALID, "reserved");
	ONE_REFUSED("\"tags\": [{\"key\": \"a#b\"}]", "\"memory\": 8", INVALID, "tags[0]");
	ONE_REFUSED("\"tags\": [{\"key\": \"a\"}, {\"key\": \"a\"}]", "\"memory\": 8", INVALID,
		    "Duplicate tag key 'a' (tags[1].key)");
	ONE_REFUSED("\"tags\": {\"team\": \"web\"}", "\"memory\": 8", CLIENT,
		    "Expected list for tags");
	s = malloc(400);
	memset(s, 'k', 129);
	strcpy(s + 129, "\"}]");
	snprintf(task, sizeof(task), "\"tags\": [{\"key\": \"%s", s);
	ONE_REFUSED(task, "\"memory\": 8", INVALID, "(tags[0].key)");
	memset(s, 'v', 257);
	strcpy(s + 257, "\"}]");
	snprintf(task, sizeof(task), "\"tags\": [{\"key\": \"k\", \"value\": \"%s", s);
	ONE_REFUSED(task, "\"memory\": 8", INVALID, "(tags[0].value)");
	free(s);
}

static void test_enums(void)
{
	struct taskdef *td;

	ONE_REFUSED("\"networkMode\": \"nat\"", "\"memory\": 8", CLIENT,
		    "Invalid value 'nat' for networkMode. Valid values: bridge, host, awsvpc, none.");
	ONE_REFUSED("\"networkMode\": 5", "\"memory\": 8", CLIENT, "Expected string for networkMode");
	ONE_REFUSED("\"pidMode\": \"none\"", "\"memory\": 8", CLIENT, "for pidMode");
	ONE_REFUSED("\"ipcMode\": \"shared\"", "\"memory\": 8", CLIENT, "for ipcMode");
	ONE_REFUSED("\"requiresCompatibilities\": [\"LAMBDA\"]", "\"memory\": 8", CLIENT,
		    "Invalid value 'LAMBDA' for requiresCompatibilities[0]");
	ONE_REFUSED("\"requiresCompatibilities\": \"EC2\"", "\"memory\": 8", CLIENT,
		    "Expected list for requiresCompatibilities");
	td = one_ok("\"networkMode\": \"host\", \"pidMode\": \"task\", \"ipcMode\": \"none\", "
		    "\"requiresCompatibilities\": [\"EC2\", \"EXTERNAL\"]", "\"memory\": 8");
	if (!td)
		return;
	CHECK_EQ(td->network_mode, TASKDEF_NETWORK_HOST);
	CHECK_EQ(td->pid_mode, TASKDEF_NS_TASK);
	CHECK_EQ(td->ipc_mode, TASKDEF_NS_NONE);
	CHECK_EQ(td->requires_compatibilities, TASKDEF_COMPAT_EC2 | TASKDEF_COMPAT_EXTERNAL);
	taskdef_free(td);
}

static void test_ephemeral_storage(void)
{
	struct taskdef *td = one_ok("\"ephemeralStorage\": {\"sizeInGiB\": 21}", "\"memory\": 8");

	CHECK(td && td->ephemeral_storage_gib == 21);
	taskdef_free(td);
	taskdef_free(one_ok("\"ephemeralStorage\": {\"sizeInGiB\": 200}", "\"memory\": 8"));
	ONE_REFUSED("\"ephemeralStorage\": {\"sizeInGiB\": 20}", "\"memory\": 8", CLIENT,
		    "ephemeralStorage.sizeInGiB");
	ONE_REFUSED("\"ephemeralStorage\": {\"sizeInGiB\": 201}", "\"memory\": 8", CLIENT,
		    "ephemeralStorage.sizeInGiB");
	ONE_REFUSED("\"ephemeralStorage\": {}", "\"memory\": 8", CLIENT,
		    "ephemeralStorage.sizeInGiB");
	ONE_REFUSED("\"ephemeralStorage\": 30", "\"memory\": 8", CLIENT,
		    "Expected object for ephemeralStorage");
}

static void test_restart_policy(void)
{
	struct taskdef *td = one_ok("", "\"memory\": 8, \"restartPolicy\": {\"enabled\": true, "
				    "\"ignoredExitCodes\": [0, 143]}");

	if (!td)
		return;
	CHECK(td->containers[0].has_restart_policy);
	CHECK(td->containers[0].restart.enabled);
	CHECK_EQ(td->containers[0].restart.n_ignored_exit_codes, 2);
	CHECK_EQ(td->containers[0].restart.ignored_exit_codes[1], 143);
	CHECK_EQ(td->containers[0].restart.restart_attempt_period, 300);
	taskdef_free(td);
	ONE_REFUSED("", "\"memory\": 8, \"restartPolicy\": {\"enabled\": true, "
		    "\"restartAttemptPeriod\": 59}", CLIENT,
		    "(containerDefinitions[0].restartPolicy.restartAttemptPeriod)");
	ONE_REFUSED("", "\"memory\": 8, \"restartPolicy\": {}", CLIENT,
		    "(containerDefinitions[0].restartPolicy.enabled)");
	ONE_REFUSED("", "\"memory\": 8, \"restartPolicy\": {\"enabled\": true, "
		    "\"ignoredExitCodes\": [\"1\"]}", CLIENT,
		    "containerDefinitions[0].restartPolicy.ignoredExitCodes[0]");
}

static void test_ignored_fields(void)
{
	struct taskdef *td = one_ok("\"executionRoleArn\": \"arn:aws:iam::1:role/x\", "
				    "\"volumes\": [{\"name\": \"data\"}], \"placementConstraints\": [], "
				    "\"someFutureField\": {\"a\": 1}, \"ipcMode\": null",
				    "\"memory\": 8, \"logConfiguration\": {\"logDriver\": \"awslogs\"}, "
				    "\"secrets\": [{\"name\": \"S\", \"valueFrom\": \"arn\"}], "
				    "\"dockerLabels\": {\"a\": \"b\"}, \"disableNetworking\": false, "
				    "\"linuxParameters\": {\"capabilities\": {\"add\": [\"NET_ADMIN\"]}}, "
				    "\"mountPoints\": []");
	const json_t *doc;

	if (!td)
		return;
	doc = taskdef_json(td);
	CHECK(has_ignored(td, "executionRoleArn"));
	CHECK(has_ignored(td, "volumes"));
	CHECK(has_ignored(td, "someFutureField"));
	CHECK(has_ignored(td, "containerDefinitions[0].logConfiguration"));
	CHECK(has_ignored(td, "containerDefinitions[0].secrets"));
	CHECK(has_ignored(td, "containerDefinitions[0].dockerLabels"));
	CHECK(has_ignored(td, "containerDefinitions[0].linuxParameters.capabilities"));
	CHECK(!has_ignored(td, "placementConstraints"));
	CHECK(!has_ignored(td, "containerDefinitions[0].mountPoints"));
	CHECK(!has_ignored(td, "containerDefinitions[0].disableNetworking"));
	CHECK(!has_ignored(td, "ipcMode"));
	CHECK(td->ignored[td->n_ignored] == NULL);
	CHECK_STR(doc_str(td, "executionRoleArn"), "arn:aws:iam::1:role/x");
	CHECK_EQ(json_integer_value(json_object_get(json_object_get(doc, "someFutureField"), "a")),
		 1);
	CHECK_STR(json_string_value(json_object_get(json_object_get(container_doc(td, 0),
				    "logConfiguration"), "logDriver")), "awslogs");
	CHECK(json_object_get(doc, "ipcMode") == NULL);
	taskdef_free(td);
}

static void test_null_members(void)
{
	struct taskdef *td = one_ok("\"cpu\": null, \"memory\": null, \"pidMode\": null",
				    "\"memory\": null, \"memoryReservation\": 64, \"command\": null, "
				    "\"healthCheck\": null");

	if (!td)
		return;
	CHECK_EQ(td->cpu, 0);
	CHECK_EQ(td->memory, 0);
	CHECK_EQ(td->containers[0].memory, 0);
	CHECK_EQ(td->containers[0].memory_reservation, 64);
	CHECK(json_object_get(container_doc(td, 0), "memory") == NULL);
	CHECK(json_object_get(taskdef_json(td), "cpu") == NULL);
	taskdef_free(td);
}

static void test_output_fields_dropped(void)
{
	struct taskdef *td = one_ok("\"taskDefinitionArn\": \"arn:aws:ecs:xx:1:task-definition/"
				    "other:99\", \"revision\": 99, \"status\": \"INACTIVE\", "
				    "\"registeredAt\": \"2024-01-01T00:00:00Z\", \"registeredBy\": 7, "
				    "\"deregisteredAt\": 1, \"compatibilities\": [\"FARGATE\"], "
				    "\"requiresAttributes\": [{\"name\": \"x\"}]", "\"memory\": 8");
	const json_t *doc;

	if (!td)
		return;
	doc = taskdef_json(td);
	CHECK_EQ(td->revision, 0);
	CHECK_EQ(td->status, TASKDEF_STATUS_ACTIVE);
	CHECK(td->arn == NULL);
	CHECK_EQ(td->n_ignored, 0);
	CHECK(json_object_get(doc, "taskDefinitionArn") == NULL);
	CHECK(json_object_get(doc, "revision") == NULL);
	CHECK(json_object_get(doc, "registeredAt") == NULL);
	CHECK(json_object_get(doc, "registeredBy") == NULL);
	CHECK(json_object_get(doc, "deregisteredAt") == NULL);
	CHECK_STR(doc_str(td, "status"), "ACTIVE");
	CHECK_EQ(json_array_size(json_object_get(doc, "requiresAttributes")), 0);
	CHECK_STR(json_string_value(json_array_get(json_object_get(doc, "compatibilities"), 0)),
		  "EXTERNAL");
	taskdef_free(td);
}

static void test_assign_and_status(void)
{
	struct taskdef *td = one_ok("", "\"memory\": 8");
	const json_t *doc;
	const char *first_key;

	if (!td)
		return;
	CHECK_EQ(taskdef_assign(td, "us-east-1", "123456789012", 0, 1.0), -EINVAL);
	CHECK_EQ(taskdef_assign(td, "us-east-1", "123456789012", 3, 1700000000.25), 0);
	doc = taskdef_json(td);
	CHECK_STR(td->arn, "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3");
	CHECK_EQ(td->revision, 3);
	CHECK_STR(doc_str(td, "taskDefinitionArn"), td->arn);
	CHECK_EQ(json_integer_value(json_object_get(doc, "revision")), 3);
	CHECK(json_is_real(json_object_get(doc, "registeredAt")));
	CHECK(json_real_value(json_object_get(doc, "registeredAt")) == 1700000000.25);
	CHECK_STR(doc_str(td, "registeredBy"), "arn:aws:iam::123456789012:root");
	first_key = json_object_iter_key(json_object_iter((json_t *)doc));
	CHECK_STR(first_key, "taskDefinitionArn");
	CHECK_STR(td->family, "web");   /* borrowed strings survive the rebuild */
	CHECK_STR(td->containers[0].name, "web");
	CHECK_EQ(taskdef_set_status(td, "GONE", 5.0), -EINVAL);
	CHECK_EQ(taskdef_set_status(td, "INACTIVE", 1700000100.5), 0);
	CHECK_EQ(td->status, TASKDEF_STATUS_INACTIVE);
	CHECK(td->deregistered_at == 1700000100.5);
	CHECK_STR(doc_str(td, "status"), "INACTIVE");
	CHECK(json_real_value(json_object_get(taskdef_json(td), "deregisteredAt")) ==
	      1700000100.5);
	CHECK_EQ(taskdef_set_status(td, "DELETE_IN_PROGRESS", 0), 0);
	CHECK_STR(doc_str(td, "status"), "DELETE_IN_PROGRESS");
	CHECK(json_object_get(taskdef_json(td), "deregisteredAt") != NULL);
	CHECK_EQ(taskdef_find_container(td, "web"), 0);
	CHECK_EQ(taskdef_find_container(td, "nope"), -ENOENT);
	taskdef_free(td);
}


static void test_round_trip(void)
{
	struct taskdef *td = one_ok("\"tags\": [{\"key\": \"a\", \"value\": \"b\"}], "
				    "\"volumes\": [{\"name\": \"v\"}]",
				    "\"memory\": 8, \"healthCheck\": {\"command\": [\"CMD\", \"true\"]},"
				    " \"portMappings\": [{\"containerPort\": 80}]");
	struct taskdef *back = NULL;
	struct taskdef_error err;

	if (!td)
		return;
	check_round_trip(td);
	CHECK_EQ(taskdef_set_status(td, "INACTIVE", 1712349999.5), 0);
	if (taskdef_from_json(taskdef_json(td), &back, &err) == 0) {
		CHECK(json_equal(taskdef_json(back), taskdef_json(td)));
		CHECK_EQ(back->status, TASKDEF_STATUS_INACTIVE);
		CHECK(back->deregistered_at == 1712349999.5);
	} else {
		UNIT_FAIL("from_json refused: %s", err.message);
	}
	taskdef_free(back);
	taskdef_free(td);
	CHECK_EQ(taskdef_from_json(NULL, &back, &err), -EINVAL);
	back = (struct taskdef *)json_string("x");   /* any non-object */
	CHECK_EQ(taskdef_from_json((json_t *)back, &td, &err), -EINVAL);
	json_decref((json_t *)back);
}

/* The fixtures directory, wherever the test runs from (repo root or a build folder). */
static void test_free_null(void)
{
	taskdef_free(NULL);
	taskdef_overrides_free(NULL);
	taskdef_container_spec_free(NULL);
	CHECK(taskdef_json(NULL) == NULL);
	CHECK_EQ(taskdef_parse(NULL, NULL, NULL), -EINVAL);
	CHECK_EQ(taskdef_set_status(NULL, "ACTIVE", 0), -EINVAL);
}

UNIT_MAIN(test_minimal, test_family, test_container_list, test_container_name, test_image,
	  test_essential, test_task_cpu, test_task_memory, test_fargate, test_container_memory,
	  test_ports, test_health_check, test_ulimits, test_timeouts, test_process_fields,
	  test_environment, test_depends_on, test_tags, test_enums, test_ephemeral_storage,
	  test_restart_policy, test_ignored_fields, test_null_members, test_output_fields_dropped,
	  test_assign_and_status, test_round_trip, test_free_null)
