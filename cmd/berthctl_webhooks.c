/* SPDX-License-Identifier: MIT */
/* berthctl_webhooks.c: berthctl verbs for webhook endpoints and scaling policies. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/berthctl.h"
#include "common/util.h"

/* ---- webhooks ------------------------------------------------------------------------------ */

static const struct awsclient_member put_webhook_members[] = {
	{ "name", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "url", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "format", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "secret", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "previousSecret", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "header", AWSCLIENT_STRING_LIST, 0, NULL, NULL },
	{ "disabled", AWSCLIENT_BOOLEAN, 0, "enabled", NULL },
	{ NULL },
};

static const struct awsclient_member name_members[] = {
	{ "name", AWSCLIENT_STRING, 1, NULL, NULL },
	{ NULL },
};

static const struct awsclient_member no_members[] = {
	{ NULL },
};

static int send_json(const struct cli *cli, const char *op, const char *method, const char *pq,
		     json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	struct awsclient_body b = { .fd = -1 };
	int ret;

	json_decref(body);
	if (!text)
		return EXIT_GENERAL;
	b.data = text;
	b.len = strlen(text);
	ret = rest_json(cli, op, method, pq, "application/json", &b, 0);
	free(text);
	return ret;
}

static int cmd_put_webhook(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	json_t *body = json_object(), *headers = json_object(), *h;
	const char *keys[] = { "name", "url", "format", "secret", "previousSecret" };
	json_t *dis = json_object_get(req, "disabled");
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (req_str(req, keys[i]))
			json_object_set_new(body, keys[i], json_string(req_str(req, keys[i])));
	json_array_foreach(json_object_get(req, "header"), i, h) {
		const char *kv = json_string_value(h), *eq = kv ? strchr(kv, '=') : NULL;
		char k[200];
		if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(k)) {
			json_decref(body);
			json_decref(headers);
			return usage_error("--header takes NAME=VALUE, got '%s'", kv ? kv : "");
		}
		snprintf(k, sizeof(k), "%.*s", (int)(eq - kv), kv);
		json_object_set_new(headers, k, json_string(eq + 1));
	}
	json_object_set_new(body, "headers", headers);
	json_object_set_new(body, "enabled", json_boolean(!json_is_true(dis)));
	return send_json(cli, v->op.name, "PUT", "/v1/webhooks", body);
}

static int webhook_path(const json_t *req, const char *suffix, char *pq, size_t len)
{
	char *esc = curl_easy_escape(NULL, req_str(req, "name"), 0);

	if (!esc)
		return -1;
	snprintf(pq, len, "/v1/webhooks/%s%s", esc, suffix);
	curl_free(esc);
	return 0;
}

static int cmd_list_webhooks(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	return rest_json(cli, v->op.name, "GET", "/v1/webhooks", NULL, NULL, 0);
}

static int cmd_webhook_name(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	const char *method = "GET", *suffix = "";
	char pq[1024];

	if (strcmp(v->op.name, "DeleteWebhook") == 0)
		method = "DELETE";
	else if (strcmp(v->op.name, "TestWebhook") == 0)
		method = "POST", suffix = "/test";
	else if (strcmp(v->op.name, "ListWebhookDeliveries") == 0)
		suffix = "/deliveries";
	if (webhook_path(req, suffix, pq, sizeof(pq)) < 0)
		return EXIT_GENERAL;
	return rest_json(cli, v->op.name, method, pq, NULL, NULL, 0);
}

/* ---- Application Auto Scaling ------------------------------------------------------------- */

#define SCALE_COMMON                                                             \
	{ "ServiceNamespace", AWSCLIENT_STRING, 0, NULL, NULL },                 \
	{ "ResourceId", AWSCLIENT_STRING, 0, NULL, NULL },                       \
	{ "ScalableDimension", AWSCLIENT_STRING, 0, NULL, NULL }

static const struct awsclient_member register_members[] = {
	SCALE_COMMON,
	{ "MinCapacity", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ "MaxCapacity", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ "RoleARN", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "SuspendedState", AWSCLIENT_STRUCT, 0, NULL,
	  "DynamicScalingInSuspended:b,DynamicScalingOutSuspended:b,ScheduledScalingSuspended:b" },
	{ NULL },
};

static const struct awsclient_member describe_targets_members[] = {
	{ "ServiceNamespace", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "ResourceIds", AWSCLIENT_STRING_LIST, 0, NULL, NULL },
	{ "ScalableDimension", AWSCLIENT_STRING, 0, NULL, NULL },
	{ NULL },
};

static const struct awsclient_member deregister_members[] = {
	SCALE_COMMON,
	{ NULL },
};

static const struct awsclient_member put_policy_members[] = {
	{ "PolicyName", AWSCLIENT_STRING, 1, NULL, NULL },
	SCALE_COMMON,
	{ "PolicyType", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "StepScalingPolicyConfiguration", AWSCLIENT_STRUCT, 0, NULL,
	  "StepAdjustments.MetricIntervalLowerBound:f,StepAdjustments.MetricIntervalUpperBound:f,"
	  "StepAdjustments.ScalingAdjustment:i,MinAdjustmentMagnitude:i,Cooldown:i" },
	{ "TargetTrackingScalingPolicyConfiguration", AWSCLIENT_STRUCT, 0, NULL,
	  "TargetValue:f,ScaleOutCooldown:i,ScaleInCooldown:i,DisableScaleIn:b" },
	{ NULL },
};

static const struct awsclient_member describe_policies_members[] = {
	{ "PolicyNames", AWSCLIENT_STRING_LIST, 0, NULL, NULL },
	SCALE_COMMON,
	{ "MaxResults", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ NULL },
};

static const struct awsclient_member delete_policy_members[] = {
	{ "PolicyName", AWSCLIENT_STRING, 1, NULL, NULL },
	SCALE_COMMON,
	{ NULL },
};

static const struct awsclient_member activities_members[] = {
	SCALE_COMMON,
	{ "MaxResults", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ "IncludeNotScaledActivities", AWSCLIENT_BOOLEAN, 0, NULL, NULL },
	{ NULL },
};

/* Every scaling verb sends its request shape to POST /v1/scaling/OPERATION. */
static int cmd_scaling(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	char pq[256];

	snprintf(pq, sizeof(pq), "/v1/scaling/%s", v->op.name);
	return send_json(cli, v->op.name, "POST", pq, json_deep_copy(req));
}

const struct rest_verb ctl_webhook_verbs[] = {
	{ "put-webhook", "", { NULL },
	  { "PutWebhook", put_webhook_members, NULL,
	    "Creates or replaces webhook endpoint NAME (format cloudwatch-sns, alertmanager or "
	    "berth; --secret whsec_..., generated when left out; --header NAME=VALUE; "
	    "--disabled). Alarms call it as arn:aws:sns:REGION:ACCOUNT:NAME." }, cmd_put_webhook },
	{ "list-webhooks", "", { NULL },
	  { "ListWebhooks", no_members, NULL,
	    "Lists webhook endpoints with their delivery counters and recent deliveries." },
	  cmd_list_webhooks },
	{ "get-webhook", "NAME", { "--name" },
	  { "GetWebhook", name_members, NULL, "Shows one webhook endpoint." }, cmd_webhook_name },
	{ "delete-webhook", "NAME", { "--name" },
	  { "DeleteWebhook", name_members, NULL,
	    "Deletes a webhook endpoint; its pending notifications move to outbox/dead." },
	  cmd_webhook_name },
	{ "test-webhook", "NAME", { "--name" },
	  { "TestWebhook", name_members, NULL,
	    "Queues a test alarm notification to a webhook endpoint." }, cmd_webhook_name },
	{ "list-webhook-deliveries", "NAME", { "--name" },
	  { "ListWebhookDeliveries", name_members, NULL,
	    "Shows a webhook endpoint's delivery log and pending notifications." },
	  cmd_webhook_name },
	{ "register-scalable-target", "", { NULL },
	  { "RegisterScalableTarget", register_members, NULL,
	    "Registers an ECS service (--resource-id service/CLUSTER/SERVICE) for scaling "
	    "between --min-capacity and --max-capacity." }, cmd_scaling },
	{ "describe-scalable-targets", "", { NULL },
	  { "DescribeScalableTargets", describe_targets_members, NULL,
	    "Lists scalable targets." }, cmd_scaling },
	{ "deregister-scalable-target", "", { NULL },
	  { "DeregisterScalableTarget", deregister_members, NULL,
	    "Deregisters a scalable target and deletes its scaling policies." }, cmd_scaling },
	{ "put-scaling-policy", "", { NULL },
	  { "PutScalingPolicy", put_policy_members, NULL,
	    "Creates or updates a step scaling or target tracking policy (Application Auto "
	    "Scaling's request shape; --cli-input-json works)." }, cmd_scaling },
	{ "describe-scaling-policies", "", { NULL },
	  { "DescribeScalingPolicies", describe_policies_members, NULL,
	    "Lists scaling policies." }, cmd_scaling },
	{ "delete-scaling-policy", "", { NULL },
	  { "DeleteScalingPolicy", delete_policy_members, NULL,
	    "Deletes a scaling policy (and the alarms target tracking made for it)." },
	  cmd_scaling },
	{ "describe-scaling-activities", "", { NULL },
	  { "DescribeScalingActivities", activities_members, NULL,
	    "Lists scaling activities, newest first." }, cmd_scaling },
};
const size_t ctl_n_webhook_verbs = ARRAY_SIZE(ctl_webhook_verbs);
