/* SPDX-License-Identifier: MIT */
/* berthctl.c: the command-line client: `aws ecs` verbs and flags, image import/list/rm, logs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/awsclient.h"
#include "common/credentials.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/image.h"

#include "common/version.h"
#include "cmd/berthctl.h"

/* The ECS operations berthctl speaks, with the members and types of their requests as the
 * botocore model (ecs/2014-11-13 service-2.json) gives them. */
static const struct awsclient_member create_cluster_members[] = {
	{ "clusterName", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "tags", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "settings", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "configuration", AWSCLIENT_STRUCT, 0, NULL,
	  "executeCommandConfiguration.logConfiguration.cloudWatchEncryptionEnabled:b,"
	  "executeCommandConfiguration.logConfiguration.s3EncryptionEnabled:b" },
	{ "capacityProviders", AWSCLIENT_STRING_LIST, 0, NULL, NULL },
	{ "defaultCapacityProviderStrategy", AWSCLIENT_STRUCT_LIST, 0, NULL, "weight:i,base:i" },
	{ "serviceConnectDefaults", AWSCLIENT_STRUCT, 0, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member delete_cluster_members[] = {
	{ "cluster", AWSCLIENT_STRING, 1, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member describe_clusters_members[] = {
	{ "clusters", AWSCLIENT_STRING_LIST, 0, NULL, NULL },
	{ "include", AWSCLIENT_STRING_LIST, 0, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member list_clusters_members[] = {
	{ "nextToken", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "maxResults", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member register_task_definition_members[] = {
	{ "family", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "taskRoleArn", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "executionRoleArn", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "networkMode", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "containerDefinitions", AWSCLIENT_STRUCT_LIST, 1, NULL,
	  "cpu:i,memory:i,memoryReservation:i,links:l,portMappings.containerPort:i,"
	  "portMappings.hostPort:i,essential:b,entryPoint:l,command:l,"
	  "mountPoints.readOnly:b,volumesFrom.readOnly:b,"
	  "linuxParameters.capabilities.add:l,linuxParameters.capabilities.drop:l,"
	  "linuxParameters.devices.permissions:l,linuxParameters.initProcessEnabled:b,"
	  "linuxParameters.sharedMemorySize:i,linuxParameters.tmpfs.size:i,"
	  "linuxParameters.tmpfs.mountOptions:l,linuxParameters.maxSwap:i,"
	  "linuxParameters.swappiness:i,startTimeout:i,stopTimeout:i,disableNetworking:b,"
	  "privileged:b,readonlyRootFilesystem:b,dnsServers:l,dnsSearchDomains:l,"
	  "dockerSecurityOptions:l,interactive:b,pseudoTerminal:b,ulimits.softLimit:i,"
	  "ulimits.hardLimit:i,healthCheck.command:l,healthCheck.interval:i,"
	  "healthCheck.timeout:i,healthCheck.retries:i,healthCheck.startPeriod:i" },
	{ "volumes", AWSCLIENT_STRUCT_LIST, 0, NULL,
	  "dockerVolumeConfiguration.autoprovision:b,"
	  "efsVolumeConfiguration.transitEncryptionPort:i" },
	{ "placementConstraints", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "requiresCompatibilities", AWSCLIENT_STRING_LIST, 0, NULL, NULL },
	{ "cpu", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "memory", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "tags", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "pidMode", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "ipcMode", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "proxyConfiguration", AWSCLIENT_STRUCT, 0, NULL, NULL },
	{ "inferenceAccelerators", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "ephemeralStorage", AWSCLIENT_STRUCT, 0, NULL, "sizeInGiB:i" },
	{ "runtimePlatform", AWSCLIENT_STRUCT, 0, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member put_cluster_capacity_providers_members[] = {
	{ "cluster", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "capacityProviders", AWSCLIENT_STRING_LIST, 1, NULL, NULL },
	{ "defaultCapacityProviderStrategy", AWSCLIENT_STRUCT_LIST, 1, NULL, "weight:i,base:i" },
	{ NULL }
};
static const struct awsclient_member deregister_task_definition_members[] = {
	{ "taskDefinition", AWSCLIENT_STRING, 1, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member describe_task_definition_members[] = {
	{ "taskDefinition", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "include", AWSCLIENT_STRING_LIST, 0, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member list_task_definitions_members[] = {
	{ "familyPrefix", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "status", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "sort", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "nextToken", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "maxResults", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member list_task_definition_families_members[] = {
	{ "familyPrefix", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "status", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "nextToken", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "maxResults", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member run_task_members[] = {
	{ "capacityProviderStrategy", AWSCLIENT_STRUCT_LIST, 0, NULL, "weight:i,base:i" },
	{ "cluster", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "count", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ "enableECSManagedTags", AWSCLIENT_BOOLEAN, 0, NULL, NULL },
	{ "enableExecuteCommand", AWSCLIENT_BOOLEAN, 0, "disable-execute-command", NULL },
	{ "group", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "launchType", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "networkConfiguration", AWSCLIENT_STRUCT, 0, NULL,
	  "awsvpcConfiguration.subnets:l,awsvpcConfiguration.securityGroups:l" },
	{ "overrides", AWSCLIENT_STRUCT, 0, NULL,
	  "containerOverrides.command:l,containerOverrides.cpu:i,"
	  "containerOverrides.memory:i,containerOverrides.memoryReservation:i,"
	  "ephemeralStorage.sizeInGiB:i" },
	{ "placementConstraints", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "placementStrategy", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "platformVersion", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "propagateTags", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "referenceId", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "startedBy", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "tags", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "taskDefinition", AWSCLIENT_STRING, 1, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member stop_task_members[] = {
	{ "cluster", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "task", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "reason", AWSCLIENT_STRING, 0, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member describe_tasks_members[] = {
	{ "cluster", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "tasks", AWSCLIENT_STRING_LIST, 1, NULL, NULL },
	{ "include", AWSCLIENT_STRING_LIST, 0, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member list_tasks_members[] = {
	{ "cluster", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "containerInstance", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "family", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "nextToken", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "maxResults", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ "startedBy", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "serviceName", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "desiredStatus", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "launchType", AWSCLIENT_STRING, 0, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member tag_resource_members[] = {
	{ "resourceArn", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "tags", AWSCLIENT_STRUCT_LIST, 1, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member untag_resource_members[] = {
	{ "resourceArn", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "tagKeys", AWSCLIENT_STRING_LIST, 1, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member list_tags_for_resource_members[] = {
	{ "resourceArn", AWSCLIENT_STRING, 1, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member create_service_members[] = {
	{ "cluster", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "serviceName", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "taskDefinition", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "loadBalancers", AWSCLIENT_STRUCT_LIST, 0, NULL, "containerPort:i" },
	{ "serviceRegistries", AWSCLIENT_STRUCT_LIST, 0, NULL, "port:i,containerPort:i" },
	{ "desiredCount", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ "clientToken", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "launchType", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "capacityProviderStrategy", AWSCLIENT_STRUCT_LIST, 0, NULL, "weight:i,base:i" },
	{ "platformVersion", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "role", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "deploymentConfiguration", AWSCLIENT_STRUCT, 0, NULL,
	  "deploymentCircuitBreaker.enable:b,deploymentCircuitBreaker.rollback:b,"
	  "maximumPercent:i,minimumHealthyPercent:i,alarms.alarmNames:l,alarms.enable:b,"
	  "alarms.rollback:b" },
	{ "placementConstraints", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "placementStrategy", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "networkConfiguration", AWSCLIENT_STRUCT, 0, NULL,
	  "awsvpcConfiguration.subnets:l,awsvpcConfiguration.securityGroups:l" },
	{ "healthCheckGracePeriodSeconds", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ "schedulingStrategy", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "deploymentController", AWSCLIENT_STRUCT, 0, NULL, NULL },
	{ "tags", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "enableECSManagedTags", AWSCLIENT_BOOLEAN, 0, NULL, NULL },
	{ "propagateTags", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "enableExecuteCommand", AWSCLIENT_BOOLEAN, 0, "disable-execute-command", NULL },
	{ "serviceConnectConfiguration", AWSCLIENT_STRUCT, 0, NULL,
	  "enabled:b,services.clientAliases.port:i,services.ingressPortOverride:i" },
	{ NULL }
};
static const struct awsclient_member update_service_members[] = {
	{ "cluster", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "service", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "desiredCount", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ "taskDefinition", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "capacityProviderStrategy", AWSCLIENT_STRUCT_LIST, 0, NULL, "weight:i,base:i" },
	{ "deploymentConfiguration", AWSCLIENT_STRUCT, 0, NULL,
	  "deploymentCircuitBreaker.enable:b,deploymentCircuitBreaker.rollback:b,"
	  "maximumPercent:i,minimumHealthyPercent:i,alarms.alarmNames:l,alarms.enable:b,"
	  "alarms.rollback:b" },
	{ "networkConfiguration", AWSCLIENT_STRUCT, 0, NULL,
	  "awsvpcConfiguration.subnets:l,awsvpcConfiguration.securityGroups:l" },
	{ "placementConstraints", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "placementStrategy", AWSCLIENT_STRUCT_LIST, 0, NULL, NULL },
	{ "platformVersion", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "forceNewDeployment", AWSCLIENT_BOOLEAN, 0, NULL, NULL },
	{ "healthCheckGracePeriodSeconds", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ "enableExecuteCommand", AWSCLIENT_BOOLEAN, 0, "disable-execute-command", NULL },
	{ "enableECSManagedTags", AWSCLIENT_BOOLEAN, 0, NULL, NULL },
	{ "loadBalancers", AWSCLIENT_STRUCT_LIST, 0, NULL, "containerPort:i" },
	{ "propagateTags", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "serviceRegistries", AWSCLIENT_STRUCT_LIST, 0, NULL, "port:i,containerPort:i" },
	{ "serviceConnectConfiguration", AWSCLIENT_STRUCT, 0, NULL,
	  "enabled:b,services.clientAliases.port:i,services.ingressPortOverride:i" },
	{ NULL }
};
static const struct awsclient_member delete_service_members[] = {
	{ "cluster", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "service", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "force", AWSCLIENT_BOOLEAN, 0, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member describe_services_members[] = {
	{ "cluster", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "services", AWSCLIENT_STRING_LIST, 1, NULL, NULL },
	{ "include", AWSCLIENT_STRING_LIST, 0, NULL, NULL },
	{ NULL }
};
static const struct awsclient_member list_services_members[] = {
	{ "cluster", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "nextToken", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "maxResults", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ "launchType", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "schedulingStrategy", AWSCLIENT_STRING, 0, NULL, NULL },
	{ NULL }
};
static const struct awsclient_op ecs_ops[] = {
	{ "CreateCluster", create_cluster_members, NULL,
	  "Creates a new Amazon ECS cluster." },
	{ "DeleteCluster", delete_cluster_members, NULL,
	  "Deletes the specified cluster." },
	{ "DescribeClusters", describe_clusters_members, NULL,
	  "Describes one or more of your clusters." },
	{ "ListClusters", list_clusters_members, "clusterArns",
	  "Returns a list of existing clusters." },
	{ "PutClusterCapacityProviders", put_cluster_capacity_providers_members, NULL,
	  "Modifies the available capacity providers and the default capacity provider strategy "
	  "for a cluster." },
	{ "RegisterTaskDefinition", register_task_definition_members, NULL,
	  "Registers a new task definition from the supplied family and containerDefinitions." },
	{ "DeregisterTaskDefinition", deregister_task_definition_members, NULL,
	  "Deregisters the specified task definition by family and revision." },
	{ "DescribeTaskDefinition", describe_task_definition_members, NULL,
	  "Describes a task definition." },
	{ "ListTaskDefinitions", list_task_definitions_members, "taskDefinitionArns",
	  "Returns a list of task definitions that are registered to your account." },
	{ "ListTaskDefinitionFamilies", list_task_definition_families_members, "families",
	  "Returns a list of task definition families that are registered to your account." },
	{ "RunTask", run_task_members, NULL,
	  "Starts a new task using the specified task definition." },
	{ "StopTask", stop_task_members, NULL,
	  "Stops a running task." },
	{ "DescribeTasks", describe_tasks_members, NULL,
	  "Describes a specified task or tasks." },
	{ "ListTasks", list_tasks_members, "taskArns",
	  "Returns a list of tasks." },
	{ "TagResource", tag_resource_members, NULL,
	  "Associates the specified tags to a resource with the specified resourceArn." },
	{ "UntagResource", untag_resource_members, NULL,
	  "Deletes specified tags from a resource." },
	{ "ListTagsForResource", list_tags_for_resource_members, NULL,
	  "List the tags for an Amazon ECS resource." },
	{ "CreateService", create_service_members, NULL,
	  "Runs and maintains your desired number of tasks from a specified task definition." },
	{ "UpdateService", update_service_members, NULL,
	  "Modifies the parameters of a service." },
	{ "DeleteService", delete_service_members, NULL,
	  "Deletes a specified service within a cluster." },
	{ "DescribeServices", describe_services_members, NULL,
	  "Describes the specified services running in your cluster." },
	{ "ListServices", list_services_members, "serviceArns",
	  "Returns a list of services." },
};

static const struct awsclient_service ecs_service = {
	.target_prefix = "AmazonEC2ContainerServiceV20141113",
	.page_token = "nextToken",
	.page_limit = "maxResults",
	.ops = ecs_ops,
	.n_ops = ARRAY_SIZE(ecs_ops),
};

static void print_usage_hint(FILE *out)
{
	fprintf(out, "usage: berthctl [options] <command> [parameters]\n"
		"To see help text, you can run:\n\n"
		"  berthctl help\n"
		"  berthctl <command> --help\n\n");
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	print_usage_hint(stderr);
	fputs("berthctl: error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

static const char *first_env(const char *a, const char *b)
{
	const char *v = getenv(a);

	if (v && *v)
		return v;
	v = b ? getenv(b) : NULL;
	return v && *v ? v : NULL;
}

static int parse_seconds(const char *flag, const char *value, long *ms)
{
	char *end;
	double s = strtod(value, &end);

	if (!*value || *end || s < 0 || s > 86400 * 365)
		return usage_error("argument %s: invalid value: '%s'", flag, value);
	*ms = (long)(s * 1000);
	return 0;
}

static const char *const global_value_flags[] = {
	"--endpoint-url", "--region", "--profile", "--output", "--ca-bundle",
	"--cli-connect-timeout", "--cli-read-timeout", "--query", "--color", NULL,
};

static int is_global_value_flag(const char *flag)
{
	for (size_t i = 0; global_value_flags[i]; i++) {
		if (strcmp(flag, global_value_flags[i]) == 0)
			return 1;
	}
	return 0;
}

/* Sets the global option flag (one of global_value_flags). Returns 0 or an exit code. */
static int take_global_value(struct globals *g, const char *flag, const char *value)
{
	if (strcmp(flag, "--endpoint-url") == 0)
		g->endpoint = value;
	else if (strcmp(flag, "--region") == 0)
		g->region = value;
	else if (strcmp(flag, "--profile") == 0)
		g->profile = value;
	else if (strcmp(flag, "--ca-bundle") == 0)
		g->ca_bundle = value;
	else if (strcmp(flag, "--cli-connect-timeout") == 0)
		return parse_seconds(flag, value, &g->connect_timeout_ms);
	else if (strcmp(flag, "--cli-read-timeout") == 0)
		return parse_seconds(flag, value, &g->read_timeout_ms);
	else if (strcmp(flag, "--output") == 0 && (!strcmp(value, "json") || !strcmp(value, "text") ||
						    !strcmp(value, "table")))
		g->output = value;
	else if (strcmp(flag, "--output") == 0)
		return usage_error("argument --output: Invalid choice, valid choices are: "
				   "json | text | table");
	else
		return usage_error("argument %s: not supported by berthctl", flag);
	return 0;
}

static int take_global_switch(struct globals *g, const char *flag)
{
	int *on = strcmp(flag, "--no-paginate") == 0 ? &g->no_paginate :
		  strcmp(flag, "--debug") == 0 ? &g->debug :
		  strcmp(flag, "--no-verify-ssl") == 0 ? &g->no_verify_ssl :
		  strcmp(flag, "--no-sign-request") == 0 ? &g->no_sign_request : NULL;

	if (on)
		*on = 1;
	return on != NULL;
}

/* Takes the global options out of argv; the other words stay in order in cli->argv (the caller
 * frees the array). Returns 0 or an exit code. */
static int split_globals(int argc, char **argv, struct cli *cli)
{
	struct globals *g = &cli->g;

	*g = (struct globals){ .connect_timeout_ms = -1, .read_timeout_ms = -1, .output = "json" };
	cli->argc = 0;
	cli->argv = calloc((size_t)argc + 1, sizeof(char *));
	if (!cli->argv)
		return EXIT_GENERAL;
	for (int i = 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '='), *value;
		char flag[64];
		int ret;

		snprintf(flag, sizeof(flag), "%.*s", eq ? (int)(eq - argv[i]) : (int)strlen(argv[i]),
			 argv[i]);
		if (strncmp(flag, "--", 2) == 0 && !eq && take_global_switch(g, flag))
			continue;
		if (strncmp(flag, "--", 2) != 0 || !is_global_value_flag(flag)) {
			cli->argv[cli->argc++] = argv[i];
			continue;
		}
		value = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
		if (!value)
			return usage_error("argument %s: expected one argument", flag);
		ret = take_global_value(g, flag, value);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- the client ---------------------------------------------------------------------------- */

static const char *endpoint_of(const struct globals *g)
{
	const char *e = g->endpoint ? g->endpoint : first_env("AWS_ENDPOINT_URL_ECS",
							      "AWS_ENDPOINT_URL");
	return e ? e : DEFAULT_ENDPOINT;
}

static const char *region_of(const struct globals *g)
{
	const char *r = g->region ? g->region : first_env("AWS_REGION", "AWS_DEFAULT_REGION");
	return r ? r : DEFAULT_REGION;
}

static const char *profile_of(const struct globals *g)
{
	const char *p = g->profile ? g->profile : first_env("AWS_PROFILE", NULL);
	return p ? p : "default";
}

/* Opens c with the credentials found the aws CLI's way. stream: a long-lived answer, so no read
 * timeout unless one was asked for. Returns 0 or an exit code (the error is printed). */
int client_open(const struct globals *g, struct awsclient *c, int stream)
{
	static const char *const fallback[] = { "/var/lib/berth/state/credentials",
						"./var/state/credentials", NULL };
	struct credentials cr = { 0 };
	char err[1024], source[512];
	int ret;

	if (!g->no_sign_request &&
	    credentials_resolve(profile_of(g), fallback, &cr, source, sizeof(source), err,
				sizeof(err)) < 0) {
		fprintf(stderr, "\nUnable to locate credentials: %s. Set AWS_ACCESS_KEY_ID and "
			"AWS_SECRET_ACCESS_KEY, or AWS_SHARED_CREDENTIALS_FILE.\n", err);
		return EXIT_CONFIG;
	}
	log_debug("berthctl: credentials from %s", g->no_sign_request ? "(unsigned)" : source);
	ret = awsclient_init(c, endpoint_of(g), region_of(g), "ecs", cr.access_key_id,
			     cr.secret_access_key, cr.session_token);
	credentials_clear(&cr);
	if (ret < 0)
		return ret == -EINVAL ? usage_error("Bad value for --endpoint-url \"%s\": must be "
						    "http://<host>[:port] or https://...",
						    endpoint_of(g)) : EXIT_GENERAL;
	if (g->connect_timeout_ms >= 0)
		c->connect_timeout_ms = g->connect_timeout_ms;
	c->read_timeout_ms = g->read_timeout_ms >= 0 ? g->read_timeout_ms :
			     stream ? 0 : c->read_timeout_ms;
	c->insecure = g->no_verify_ssl;
	c->verbose = g->debug;
	if (g->ca_bundle && !(c->ca_bundle = strdup(g->ca_bundle))) {
		awsclient_close(c);
		return EXIT_GENERAL;
	}
	return 0;
}

/* Prints why a call failed the way the aws CLI words it; returns the exit code. */
int report_failure(const struct awsclient *c, int ret, const char *op,
		   const struct awsclient_error *e)
{
	if (ret == -EPROTO) {
		fprintf(stderr, "\nAn error occurred (%s) when calling the %s operation: %s\n",
			e->type, op, e->message);
		return EXIT_SERVICE;
	}
	if (ret == -ETIMEDOUT)
		fprintf(stderr, "\n%s timeout on endpoint URL: \"%s/\"\n",
			strstr(c->error, "onnect") ? "Connect" : "Read", c->endpoint);
	else if (ret == -ECONNREFUSED || ret == -EHOSTUNREACH || ret == -ECONNRESET)
		fprintf(stderr, "\nCould not connect to the endpoint URL: \"%s/\"\n", c->endpoint);
	else if (ret == -ECONNABORTED)
		fprintf(stderr, "\nSSL validation failed for %s/ %s\n", c->endpoint, c->error);
	else
		fprintf(stderr, "\n%s\n", c->error[0] ? c->error : strerror(-ret));
	log_debug("berthctl: %s failed: %s", op, c->error);
	return EXIT_GENERAL;
}

static int wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") || !strcmp(argv[i], "help"))
			return 1;
	}
	return 0;
}

/* ---- ECS verbs ------------------------------------------------------------------------------ */

static int run_ecs(const struct cli *cli, const struct awsclient_op *op, const char *verb,
		   int argc, char **argv)
{
	struct awsclient_invocation inv;
	struct awsclient_error e;
	struct awsclient c;
	json_t *result = NULL;
	char err[4096], cmd[160];
	int ret;

	snprintf(cmd, sizeof(cmd), "berthctl %s", verb);
	if (wants_help(argc, argv)) {
		awsclient_print_usage(stdout, cmd, &ecs_service, op);
		return 0;
	}
	if (awsclient_parse_args(&ecs_service, op, argc, argv, cli->g.no_paginate, &inv, err,
				 sizeof(err)) < 0)
		return usage_error("%s", err);
	ret = client_open(&cli->g, &c, 0);
	if (ret) {
		awsclient_invocation_clear(&inv);
		return ret;
	}
	ret = awsclient_invoke(&c, &ecs_service, &inv, &result, &e);
	if (ret < 0)
		ret = report_failure(&c, ret, op->name, &e);
	else if (awsclient_print(stdout, result, cli->g.output, op->name) < 0 || fflush(stdout))
		ret = EXIT_GENERAL;
	json_decref(result);
	awsclient_close(&c);
	awsclient_invocation_clear(&inv);
	return ret;
}

/* ---- berth's own verbs (REST /v1) ---------------------------------------------------------- */

static const struct awsclient_member image_import_members[] = {
	{ "name", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "source", AWSCLIENT_STRING, 1, NULL, NULL },
	{ NULL },
};

static const struct awsclient_member image_list_members[] = {
	{ NULL },
};

static const struct awsclient_member image_rm_members[] = {
	{ "ref", AWSCLIENT_STRING, 1, NULL, NULL },
	{ NULL },
};

static const struct awsclient_member logs_members[] = {
	{ "task", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "cluster", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "container", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "follow", AWSCLIENT_BOOLEAN, 0, NULL, NULL },
	{ "tail", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ NULL },
};

int sink_write(void *arg, const char *data, size_t len)
{
	struct sink *s = arg;
	char *p = realloc(s->buf, s->len + len + 1);

	if (!p)
		return -ENOMEM;
	memcpy(p + s->len, data, len);
	s->len += len;
	p[s->len] = '\0';
	s->buf = p;
	return 0;
}

int stdout_write(void *arg, const char *data, size_t len)
{
	if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
		return errno ? -errno : -EIO;
	return 0;
}

/* Appends "<sep>key=<escaped value>" to the path in buf. */
int add_query(char *buf, size_t len, const char *key, const char *value)
{
	char *esc = curl_easy_escape(NULL, value, 0);
	size_t used = strlen(buf);
	int n;

	if (!esc)
		return -ENOMEM;
	n = snprintf(buf + used, len - used, "%c%s=%s", strchr(buf, '?') ? '&' : '?', key, esc);
	curl_free(esc);
	return n < 0 || (size_t)n >= len - used ? -ENAMETOOLONG : 0;
}

/* Sends one REST request; a 2xx answer goes to write, any other is reported. */
int rest_call(const struct cli *cli, const char *op, const char *method, const char *pq,
		     const char *content_type, const struct awsclient_body *body,
		     awsclient_write_fn write, void *arg, int stream)
{
	struct awsclient_error e;
	struct awsclient c;
	char *error_body = NULL;
	long status = 0;
	int ret;

	ret = client_open(&cli->g, &c, stream);
	if (ret)
		return ret;
	ret = awsclient_request(&c, method, pq, content_type, body, write, arg, &status,
				&error_body);
	if (ret == -EPIPE) {
		ret = 0;    /* the reader went away: nothing more to say */
	} else if (ret < 0) {
		ret = report_failure(&c, ret, op, &e);
	} else if (status < 200 || status >= 300) {
		awsclient_error_parse(error_body, status, &e);
		ret = report_failure(&c, -EPROTO, op, &e);
	}
	free(error_body);
	awsclient_close(&c);
	return ret;
}

/* A REST call whose JSON answer is printed in the chosen output format. */
int rest_json(const struct cli *cli, const char *op, const char *method, const char *pq,
		     const char *content_type, const struct awsclient_body *body, int stream)
{
	struct sink s = { 0 };
	json_t *doc;
	int ret = rest_call(cli, op, method, pq, content_type, body, sink_write, &s, stream);

	if (ret == 0 && s.buf) {
		doc = json_loads(s.buf, 0, NULL);
		if (!doc)
			fputs(s.buf, stdout);
		else if (awsclient_print(stdout, doc, cli->g.output, op) < 0)
			ret = EXIT_GENERAL;
		json_decref(doc);
	}
	free(s.buf);
	return ret;
}

const char *req_str(const json_t *req, const char *key)
{
	return json_string_value(json_object_get(req, key));
}

/* An anonymous temporary file for the packed image, on disk rather than in a tmpfs. */
static int temp_file(void)
{
	const char *dir = first_env("TMPDIR", NULL);
	char path[4096];
	int fd;

	dir = dir ? dir : "/var/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR))
		return fd < 0 ? -errno : fd;
	snprintf(path, sizeof(path), "%s/berthctl-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

/* Packs directory dir into an anonymous temporary file; returns its fd or -errno. */
static int pack_dir(const char *dir)
{
	char err[512];
	int fd = temp_file(), ret;

	if (fd < 0) {
		fprintf(stderr, "berthctl: failed to create a temporary file: %s\n", strerror(-fd));
		return fd;
	}
	ret = image_pack_dir(dir, fd, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "berthctl: failed to pack %s: %s\n", dir, err);
		close(fd);
		return ret;
	}
	return fd;
}

/* Opens SOURCE as the archive to send: a directory is packed, a file is sent as it is. */
static int open_source(const char *source, const char **content_type)
{
	unsigned char magic[2] = { 0 };
	struct stat st;
	int fd, ret;

	fd = open(source, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		fprintf(stderr, "berthctl: failed to open %s: %s\n", source, strerror(-ret));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		*content_type = "application/gzip";
		return pack_dir(source);
	}
	ret = -EINVAL;
	if (!S_ISREG(st.st_mode) || pread(fd, magic, 2, 0) < 0) {
		fprintf(stderr, "berthctl: failed to open %s: not a directory, .tar or .tar.gz\n",
			source);
		goto fail;
	}
	*content_type = magic[0] == 0x1f && magic[1] == 0x8b ? "application/gzip"
							     : "application/x-tar";
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return ret;
}

static int cmd_image_import(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	struct awsclient_body body = { .fd = -1 };
	const char *content_type = NULL;
	char pq[2048] = "/v1/images";
	int ret;

	if (add_query(pq, sizeof(pq), "name", req_str(req, "name")) < 0)
		return usage_error("the image name is too long");
	body.fd = open_source(req_str(req, "source"), &content_type);
	if (body.fd < 0)
		return EXIT_GENERAL;
	ret = rest_json(cli, v->op.name, "POST", pq, content_type, &body, 1);
	close(body.fd);
	return ret;
}

static int cmd_image_list(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	return rest_json(cli, v->op.name, "GET", "/v1/images", NULL, NULL, 0);
}

static int cmd_image_rm(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	char pq[2048] = "/v1/images";

	if (add_query(pq, sizeof(pq), "ref", req_str(req, "ref")) < 0)
		return usage_error("the image reference is too long");
	return rest_json(cli, v->op.name, "DELETE", pq, NULL, NULL, 0);
}

/* TASK is an id or an ARN "arn:...:task/CLUSTER/ID" (or the older ".../ID"). */
static void split_task(const char *task, char *id, size_t id_len, char *cluster, size_t cl_len)
{
	const char *t = strncmp(task, "arn:", 4) == 0 ? strstr(task, ":task/") : NULL;
	const char *last;

	cluster[0] = '\0';
	if (!t) {
		snprintf(id, id_len, "%s", task);
		return;
	}
	t += 6;
	last = strrchr(t, '/');
	snprintf(id, id_len, "%s", last ? last + 1 : t);
	if (last)
		snprintf(cluster, cl_len, "%.*s", (int)(last - t), t);
}

static int cmd_logs(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	char id[256], arn_cluster[256], pq[4096] = "/v1/tasks/", tail[32], *esc;
	const char *cluster = req_str(req, "cluster"), *container = req_str(req, "container");
	int follow = json_is_true(json_object_get(req, "follow")), ret = 0;
	json_t *t = json_object_get(req, "tail");

	split_task(req_str(req, "task"), id, sizeof(id), arn_cluster, sizeof(arn_cluster));
	cluster = cluster ? cluster : arn_cluster[0] ? arn_cluster : NULL;
	esc = curl_easy_escape(NULL, id, 0);
	if (!esc)
		return EXIT_GENERAL;
	snprintf(pq + strlen(pq), sizeof(pq) - strlen(pq), "%s/logs", esc);
	curl_free(esc);
	snprintf(tail, sizeof(tail), "%" JSON_INTEGER_FORMAT, json_integer_value(t));
	if (cluster)
		ret = add_query(pq, sizeof(pq), "cluster", cluster);
	if (ret == 0 && container)
		ret = add_query(pq, sizeof(pq), "container", container);
	if (ret == 0 && follow)
		ret = add_query(pq, sizeof(pq), "follow", "1");
	if (ret == 0 && t)
		ret = add_query(pq, sizeof(pq), "tail", tail);
	if (ret < 0)
		return usage_error("the task, cluster or container name is too long");
	return rest_call(cli, v->op.name, "GET", pq, NULL, NULL, stdout_write, NULL, follow);
}

static const struct rest_verb rest_verbs[] = {
	{ "image import", "NAME:TAG SOURCE", { "--name", "--source" },
	  { "ImportImage", image_import_members, NULL,
	    "Imports a root file system as image NAME:TAG: SOURCE is a directory (packed as a "
	    "gzip'd tar) or a .tar / .tar.gz file." }, cmd_image_import },
	{ "image list", "", { NULL },
	  { "ListImages", image_list_members, NULL, "Lists the imported images." }, cmd_image_list },
	{ "image ls", "", { NULL },
	  { "ListImages", image_list_members, NULL, "Lists the imported images." }, cmd_image_list },
	{ "image rm", "REF", { "--ref" },
	  { "RemoveImage", image_rm_members, NULL, "Removes image REF (NAME:TAG)." }, cmd_image_rm },
	{ "logs", "TASK", { "--task" },
	  { "GetTaskLogs", logs_members, NULL,
	    "Prints a task's container output (TASK is an id or an ARN); --follow streams it "
	    "until the task stops, --tail N starts N lines from the end." }, cmd_logs },
};

static const size_t n_rest_verbs = ARRAY_SIZE(rest_verbs);

/* Every verb table, in the order help lists them. */
static const struct {
	const struct rest_verb *verbs;
	const size_t *n;
} verb_tables[] = {
	{ rest_verbs, &n_rest_verbs },
	{ ctl_alarm_verbs, &ctl_n_alarm_verbs },
	{ ctl_webhook_verbs, &ctl_n_webhook_verbs },
	{ ctl_billing_verbs, &ctl_n_billing_verbs },
	{ ctl_token_verbs, &ctl_n_token_verbs },
};

/* Rewrites the positional words of argv as "--member word" pairs; the caller frees the array. */
static char **positional_to_flags(const struct rest_verb *v, int argc, char **argv, int *n)
{
	char **out = calloc(2 * (size_t)argc + 1, sizeof(char *));
	size_t pos = 0;
	int bval;

	*n = 0;
	for (int i = 0; out && i < argc; i++) {
		const struct awsclient_member *m;
		if (strncmp(argv[i], "--", 2) == 0) {
			out[(*n)++] = argv[i];
			m = awsclient_member_find(&v->op, argv[i] + 2, &bval);
			if (m && m->type != AWSCLIENT_BOOLEAN && i + 1 < argc)
				out[(*n)++] = argv[++i];
			continue;
		}
		if (pos < ARRAY_SIZE(v->positional) && v->positional[pos])
			out[(*n)++] = (char *)v->positional[pos++];
		out[(*n)++] = argv[i];
	}
	return out;
}

static int run_rest(const struct cli *cli, const struct rest_verb *v, int argc, char **argv)
{
	static const struct awsclient_service none = { .target_prefix = "" };
	struct awsclient_invocation inv;
	char err[2048], cmd[160], **args;
	int n, ret;

	snprintf(cmd, sizeof(cmd), "berthctl %s %s", v->words, v->args);
	if (wants_help(argc, argv)) {
		awsclient_print_usage(stdout, cmd, &none, &v->op);
		return 0;
	}
	args = positional_to_flags(v, argc, argv, &n);
	if (!args)
		return EXIT_GENERAL;
	ret = awsclient_parse_args(&none, &v->op, n, args, 1, &inv, err, sizeof(err));
	free(args);
	if (ret < 0)
		return usage_error("%s\nusage: %s", err, cmd);
	ret = v->run(cli, v, inv.request);
	awsclient_invocation_clear(&inv);
	return ret;
}

/* The berth verb argv starts with, and how many words it took; NULL when none. */
static const struct rest_verb *rest_find(int argc, char **argv, int *words)
{
	for (size_t t = 0; t < ARRAY_SIZE(verb_tables); t++) {
		for (size_t i = 0; i < *verb_tables[t].n; i++) {
			const struct rest_verb *v = &verb_tables[t].verbs[i];
			const char *w = v->words, *space = strchr(w, ' ');
			if (!space && strcmp(argv[0], w) == 0) {
				*words = 1;
				return v;
			}
			if (space && argc > 1 && strncmp(argv[0], w, (size_t)(space - w)) == 0 &&
			    !argv[0][space - w] && strcmp(argv[1], space + 1) == 0) {
				*words = 2;
				return v;
			}
		}
	}
	return NULL;
}

/* ---- help and dispatch ---------------------------------------------------------------------- */

static void print_help(FILE *out)
{
	char verb[128];

	fprintf(out, "berthctl %s: the berth command-line client; speaks the ECS API like "
		"`aws ecs`.\n\nusage: berthctl [options] [ecs] <command> [parameters]\n\n"
		"ECS commands (same flags as `aws ecs <command>`):\n", BERTH_VERSION);
	for (size_t i = 0; i < ecs_service.n_ops; i++) {
		awsclient_cli_name(ecs_ops[i].name, verb, sizeof(verb));
		fprintf(out, "  %-30s %s\n", verb, ecs_ops[i].summary);
	}
	fprintf(out, "\nberth commands:\n");
	for (size_t t = 0; t < ARRAY_SIZE(verb_tables); t++) {
		for (size_t i = 0; i < *verb_tables[t].n; i++) {
			const struct rest_verb *v = &verb_tables[t].verbs[i];
			char words[96];
			snprintf(words, sizeof(words), "%s %s", v->words, v->args);
			fprintf(out, "  %-30s %s\n", words, v->op.summary);
		}
	}
	fprintf(out, "  %-30s %s\n", "version", "Prints berthctl's version.");
	fprintf(out, "\nOptions (anywhere on the line):\n"
		"  --endpoint-url URL       default $AWS_ENDPOINT_URL or " DEFAULT_ENDPOINT "\n"
		"  --region REGION          default $AWS_REGION, $AWS_DEFAULT_REGION or "
		DEFAULT_REGION "\n"
		"  --profile NAME           credentials profile; default $AWS_PROFILE or default\n"
		"  --output json|text|table default json\n"
		"  --no-paginate            one page only for list commands\n"
		"  --cli-connect-timeout S  --cli-read-timeout S   seconds, 0 for none "
		"(default 60)\n"
		"  --no-verify-ssl  --ca-bundle FILE  --no-sign-request  --debug\n\n"
		"Credentials: $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY, else the profile in "
		"$AWS_SHARED_CREDENTIALS_FILE,\n/var/lib/berth/state/credentials or "
		"./var/state/credentials.\n"
		"Exit codes: 0 ok, 252 usage, 253 no credentials, 254 service error, "
		"255 connection or other error.\n");
}

static int dispatch(const struct cli *cli)
{
	const struct awsclient_op *op;
	const struct rest_verb *v;
	char **argv = cli->argv;
	int argc = cli->argc, words;

	if (argc && strcmp(argv[0], "ecs") == 0) {
		argc--;
		argv++;
	}
	if (!argc)
		return usage_error("the following arguments are required: command");
	if (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
		print_help(stdout);
		return 0;
	}
	if (!strcmp(argv[0], "version") || !strcmp(argv[0], "--version")) {
		printf("berthctl %s\n", BERTH_VERSION);
		return 0;
	}
	v = rest_find(argc, argv, &words);
	if (v)
		return run_rest(cli, v, argc - words, argv + words);
	if (strcmp(argv[0], "image") == 0)
		return usage_error("argument image: Invalid choice, valid choices are: "
				   "import | list | rm");
	op = awsclient_op_find(&ecs_service, argv[0]);
	if (op)
		return run_ecs(cli, op, argv[0], argc - 1, argv + 1);
	return usage_error("argument command: Invalid choice: '%s' (see `berthctl help`)", argv[0]);
}

int main(int argc, char **argv)
{
	struct cli cli = { 0 };
	int ret;

	signal(SIGPIPE, SIG_IGN);
	ret = split_globals(argc, argv, &cli);
	if (ret == 0) {
		if (cli.g.debug)
			log_set_level(LOG_DEBUG);
		curl_global_init(CURL_GLOBAL_DEFAULT);
		ret = dispatch(&cli);
		curl_global_cleanup();
	}
	free(cli.argv);
	return ret;
}
