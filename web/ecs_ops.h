/* SPDX-License-Identifier: MIT */
/* ecs_ops.h: ECS operation handlers shared between web/ecs.c and its sibling files. */
#ifndef BERTH_WEB_ECS_OPS_H
#define BERTH_WEB_ECS_OPS_H

#include <jansson.h>

#include "common/util.h"

struct app;
struct rt_cluster;

/* Looks the cluster up by the request's "cluster" member (default "default"): an ACTIVE one,
 * else NULL with ClusterNotFoundException in e. */
struct rt_cluster *ecs_cluster_arg(struct app *a, json_t *rq, struct berr *e);

/* Validates a tags member ([{key, value}], at most 50, no "aws:" keys). 0 or -EINVAL. */
int ecs_check_tags(json_t *rq, const char *member, struct berr *e);
/* Pages through an array of strings by nextToken/maxResults into out[member]. */
int ecs_paginate(json_t *rq, json_t *all, long max_default, json_t *out, const char *member,
		 struct berr *e);

int ecs_create_service(struct app *a, json_t *rq, json_t **out, struct berr *e);
int ecs_update_service(struct app *a, json_t *rq, json_t **out, struct berr *e);
int ecs_delete_service(struct app *a, json_t *rq, json_t **out, struct berr *e);
int ecs_describe_services(struct app *a, json_t *rq, json_t **out, struct berr *e);
int ecs_list_services(struct app *a, json_t *rq, json_t **out, struct berr *e);

#endif
