/* SPDX-License-Identifier: MIT */
/* webhooks_api.c: /v1/webhooks and /v1/scaling: webhook endpoints and scaling policies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/actions.h"
#include "common/json.h"
#include "web/app.h"

static void respond(struct web_response *rs, int status, json_t *o)
{
	char *s = json_steal_dumps_pretty(o);

	web_respond(rs, status, "application/json", s, s ? strlen(s) : 0);
}

static void respond_err(struct web_response *rs, const struct berr *e)
{
	web_respond_aws_error(rs, e->http_status ? e->http_status : 400,
			      e->type[0] ? e->type : "ValidationException", "%s", e->message);
}

static bool method_is(const struct web_request *rq, const char *m)
{
	return strcmp(rq->method, m) == 0;
}

static void not_allowed(struct web_request *rq, struct web_response *rs)
{
	web_respond_aws_error(rs, 405, "MethodNotAllowedException", "%s is not allowed on %s.",
			      rq->method, rq->path);
}

/* The request body as a JSON object; false (answered) when it is not one. */
static bool body_json(struct app *a, struct web_request *rq, struct web_response *rs,
		      json_t **out)
{
	struct berr e = { { 0 }, { 0 }, 400 };

	if (json_decode_request(rq->body, rq->body_len, (int)a->cfg->max_json_depth, out, &e) < 0) {
		respond_err(rs, &e);
		return false;
	}
	return true;
}

static void webhook_put(struct app *a, struct web_request *rq, struct web_response *rs,
			const char *name)
{
	struct berr e = { { 0 }, { 0 }, 400 };
	json_t *body, *out = NULL;
	const char *bn;

	if (!body_json(a, rq, rs, &body))
		return;
	bn = json_string_value(json_object_get(body, "name"));
	if (name && bn && strcmp(name, bn) != 0) {
		json_decref(body);
		web_respond_aws_error(rs, 400, "ValidationException",
				      "The name in the body (%.256s) differs from the path's (%.256s).",
				      bn, name);
		return;
	}
	if (name && !bn)
		json_object_set_new(body, "name", json_string(name));
	if (actions_webhook_put(a->actions, body, &out, &e) < 0)
		respond_err(rs, &e);
	else
		respond(rs, 200, json_pack("{s:o}", "webhook", out));
	json_decref(body);
}

static void webhook_one(struct app *a, struct web_request *rq, struct web_response *rs,
			const char *rest)
{
	struct berr e = { { 0 }, { 0 }, 400 };
	const char *slash = strchr(rest, '/');
	char name[300];
	json_t *o;

	snprintf(name, sizeof(name), "%.*s", slash ? (int)(slash - rest) : (int)strlen(rest), rest);
	if (slash && strcmp(slash, "/deliveries") == 0) {
		if (!method_is(rq, "GET"))
			return not_allowed(rq, rs);
		o = actions_webhook_deliveries(a->actions, name);
	} else if (slash && strcmp(slash, "/test") == 0) {
		if (!method_is(rq, "POST"))
			return not_allowed(rq, rs);
		if (actions_webhook_test(a->actions, name, &o, &e) < 0)
			return respond_err(rs, &e);
	} else if (slash) {
		web_respond_aws_error(rs, 404, "NotFoundException", "No route %s.", rq->path);
		return;
	} else if (method_is(rq, "GET")) {
		o = actions_webhook_get(a->actions, name);
		if (o)
			o = json_pack("{s:o}", "webhook", o);
	} else if (method_is(rq, "DELETE")) {
		if (actions_webhook_delete(a->actions, name, &e) < 0)
			return respond_err(rs, &e);
		o = json_pack("{s:s}", "deleted", name);
	} else if (method_is(rq, "PUT") || method_is(rq, "POST")) {
		return webhook_put(a, rq, rs, name);
	} else {
		return not_allowed(rq, rs);
	}
	if (!o) {
		web_respond_aws_error(rs, 404, "ResourceNotFoundException",
				      "Webhook %.256s not found.", name);
		return;
	}
	respond(rs, 200, o);
}

/* Query parameters of the describe calls as request members. */
static void query_member(struct web_request *rq, json_t *req, const char *param,
			 const char *member, bool list)
{
	char v[1024];

	if (web_query(rq, param, v, sizeof(v)) < 0 || !v[0] || json_object_get(req, member))
		return;
	if (list)
		json_object_set_new(req, member, json_pack("[s]", v));
	else if (strcmp(member, "MaxResults") == 0)
		json_object_set_new(req, member, json_integer(strtoll(v, NULL, 10)));
	else
		json_object_set_new(req, member, json_string(v));
}

static void scaling_run(struct app *a, struct web_request *rq, struct web_response *rs,
			const char *op)
{
	struct berr e = { { 0 }, { 0 }, 400 };
	json_t *body = NULL, *out = NULL;

	if (!body_json(a, rq, rs, &body))
		return;
	if (!json_object_get(body, "ServiceNamespace"))
		json_object_set_new(body, "ServiceNamespace", json_string("ecs"));
	if (strcmp(op, "RegisterScalableTarget") != 0 && strcmp(op, "PutScalingPolicy") != 0) {
		bool describe = strncmp(op, "Describe", 8) == 0;
		query_member(rq, body, "ResourceId", describe && !strcmp(op, "DescribeScalableTargets")
			     ? "ResourceIds" : "ResourceId", describe &&
			     !strcmp(op, "DescribeScalableTargets"));
		query_member(rq, body, "PolicyName", describe ? "PolicyNames" : "PolicyName",
			     describe);
		query_member(rq, body, "MaxResults", "MaxResults", false);
	}
	if (json_object_get(body, "ResourceId") && !json_object_get(body, "ScalableDimension") &&
	    strncmp(op, "Describe", 8) != 0)
		json_object_set_new(body, "ScalableDimension",
				    json_string("ecs:service:DesiredCount"));
	if (actions_scaling_call(a->actions, op, body, &out, &e) < 0)
		respond_err(rs, &e);
	else
		respond(rs, 200, out);
	json_decref(body);
}

static void scaling_route(struct app *a, struct web_request *rq, struct web_response *rs,
			  const char *rest)
{
	static const struct {
		const char *path, *method, *op;
	} routes[] = {
		{ "targets", "POST", "RegisterScalableTarget" },
		{ "targets", "PUT", "RegisterScalableTarget" },
		{ "targets", "GET", "DescribeScalableTargets" },
		{ "targets", "DELETE", "DeregisterScalableTarget" },
		{ "policies", "POST", "PutScalingPolicy" },
		{ "policies", "PUT", "PutScalingPolicy" },
		{ "policies", "GET", "DescribeScalingPolicies" },
		{ "policies", "DELETE", "DeleteScalingPolicy" },
		{ "activities", "GET", "DescribeScalingActivities" },
	};
	bool known = false;

	for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
		if (strcmp(rest, routes[i].path) != 0)
			continue;
		known = true;
		if (method_is(rq, routes[i].method))
			return scaling_run(a, rq, rs, routes[i].op);
	}
	if (known)
		return not_allowed(rq, rs);
	/* POST /v1/scaling/OPERATION with the operation's request shape (berthctl). */
	if (method_is(rq, "POST") && strchr(rest, '/') == NULL && rest[0] >= 'A' && rest[0] <= 'Z')
		return scaling_run(a, rq, rs, rest);
	web_respond_aws_error(rs, 404, "NotFoundException", "No route %s.", rq->path);
}

void scaling_json_handle(struct app *a, struct web_request *rq, struct web_response *rs,
			 const char *operation)
{
	struct berr e = { { 0 }, { 0 }, 400 };
	json_t *req = NULL, *out = NULL;
	char *s;

	if (!a->actions) {
		web_respond_aws_error(rs, 503, "ServiceUnavailableException",
				      "Alarm actions are not running on this server.");
		return;
	}
	if (json_decode_request(rq->body, rq->body_len, (int)a->cfg->max_json_depth, &req, &e) < 0 ||
	    actions_scaling_call(a->actions, operation, req, &out, &e) < 0) {
		json_decref(req);
		respond_err(rs, &e);
		return;
	}
	json_decref(req);
	s = json_steal_dumps(out);
	web_respond(rs, 200, "application/x-amz-json-1.1", s, s ? strlen(s) : 0);
}

bool webhooks_api_handle(struct app *a, struct web_request *rq, struct web_response *rs)
{
	const char *p = rq->path;
	bool webhooks = strcmp(p, "/v1/webhooks") == 0 || strncmp(p, "/v1/webhooks/", 13) == 0;
	bool scaling = strncmp(p, "/v1/scaling/", 12) == 0;

	if (!webhooks && !scaling)
		return false;
	if (!a->actions) {
		web_respond_aws_error(rs, 503, "ServiceUnavailableException",
				      "Alarm actions are not running on this server.");
		return true;
	}
	if (scaling)
		scaling_route(a, rq, rs, p + 12);
	else if (strcmp(p, "/v1/webhooks") == 0 || strcmp(p, "/v1/webhooks/") == 0) {
		if (method_is(rq, "GET"))
			respond(rs, 200, actions_webhook_list(a->actions));
		else if (method_is(rq, "PUT") || method_is(rq, "POST"))
			webhook_put(a, rq, rs, NULL);
		else
			not_allowed(rq, rs);
	} else {
		webhook_one(a, rq, rs, p + 13);
	}
	return true;
}
