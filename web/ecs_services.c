/* SPDX-License-Identifier: MIT */
/* ecs_services.c: the ECS service operations - Create/Update/Delete/Describe/ListServices. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "runtime/service.h"
#include "web/app.h"
#include "web/ecs_ops.h"

static struct rt_cluster *cluster_of(struct app *a, json_t *rq, struct berr *e)
{
	struct rt_cluster *c = ecs_cluster_arg(a, rq, e);

	if (!c)
		return NULL;
	if (!a->rt->services) {
		berr_set(e, 500, "ServerException", "The service scheduler is not running.");
		return NULL;
	}
	return c;
}

static struct rt_service *service_of(struct app *a, struct rt_cluster *c, json_t *rq,
				     struct berr *e)
{
	const char *name = NULL;
	struct rt_service *svc;

	if (json_get_string(rq, "service", &name, e) < 0)
		return NULL;
	if (!name) {
		berr_set(e, 400, "InvalidParameterException",
			 "Missing required parameter in input: \"service\"");
		return NULL;
	}
	svc = svc_find(a->rt->services, c->name, name);
	if (!svc || !strcmp(svc->status, "INACTIVE")) {
		berr_set(e, 400, "ServiceNotFoundException", "Service not found.");
		return NULL;
	}
	return svc;
}

int ecs_create_service(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	struct rt_cluster *c = cluster_of(a, rq, e);
	struct rt_service *svc;

	if (!c || ecs_check_tags(rq, "tags", e) < 0 ||
	    svc_create(a->rt->services, c, rq, &svc, e) < 0)
		return -EINVAL;
	*out = json_pack("{s:o}", "service", svc_json(a->rt->services, svc, true));
	return 0;
}

int ecs_update_service(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	struct rt_cluster *c = cluster_of(a, rq, e);
	struct rt_service *svc = c ? service_of(a, c, rq, e) : NULL;

	if (!svc || svc_update(a->rt->services, svc, rq, e) < 0)
		return -EINVAL;
	*out = json_pack("{s:o}", "service", svc_json(a->rt->services, svc, false));
	return 0;
}

int ecs_delete_service(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	struct rt_cluster *c = cluster_of(a, rq, e);
	struct rt_service *svc = c ? service_of(a, c, rq, e) : NULL;
	int force = 0;

	if (!svc || json_get_bool(rq, "force", &force, e) < 0 ||
	    svc_delete(a->rt->services, svc, force, e) < 0)
		return -EINVAL;
	*out = json_pack("{s:o}", "service", svc_json(a->rt->services, svc, false));
	return 0;
}

int ecs_describe_services(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	struct rt_cluster *c = cluster_of(a, rq, e);
	json_t *names = NULL, *list, *failures, *v, *inc;
	bool tags = false;
	size_t i;

	if (!c || json_get_array(rq, "services", &names, e) < 0)
		return -EINVAL;
	if (!names || json_array_size(names) == 0 || json_array_size(names) > 10)
		return berr_set(e, 400, "InvalidParameterException",
				"services must name between 1 and 10 services.");
	json_array_foreach(json_object_get(rq, "include"), i, inc)
		tags |= json_is_string(inc) && !strcmp(json_string_value(inc), "TAGS");
	list = json_array();
	failures = json_array();
	json_array_foreach(names, i, v) {
		struct rt_service *svc = json_is_string(v) ?
			svc_find(a->rt->services, c->name, json_string_value(v)) : NULL;
		if (svc)
			json_array_append_new(list, svc_json(a->rt->services, svc, tags));
		else
			json_array_append_new(failures, json_pack("{s:s, s:s}", "arn",
				json_is_string(v) ? json_string_value(v) : "", "reason", "MISSING"));
	}
	*out = json_pack("{s:o, s:o}", "services", list, "failures", failures);
	return 0;
}

int ecs_list_services(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	struct rt_cluster *c = cluster_of(a, rq, e);
	const char *launch = NULL;
	json_t *all;
	int ret;

	if (!c || json_get_string(rq, "launchType", &launch, e) < 0)
		return -EINVAL;
	all = json_array();
	for (struct rt_service *svc = a->rt->services->list; svc; svc = svc->next)
		if (!strcmp(svc->cluster, c->name) && strcmp(svc->status, "INACTIVE") &&
		    (!launch || !strcmp(launch, svc->launch_type)))
			json_array_append_new(all, json_string(svc->arn));
	*out = json_object();
	ret = ecs_paginate(rq, all, 10, *out, "serviceArns", e);
	json_decref(all);
	return ret;
}
