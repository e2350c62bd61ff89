/* SPDX-License-Identifier: MIT */
/* tags.c: resource tags by ARN for clusters, tasks and task definitions. */
#include <string.h>

#include "runtime/runtime.h"
#include "runtime/taskdef.h"

json_t *rt_resource_tags(struct runtime *rt, const char *arn, struct berr *e)
{
	char prefix[128];
	size_t plen;

	plen = (size_t)snprintf(prefix, sizeof(prefix), "arn:aws:ecs:%s:%s:", rt->cfg->region,
				rt->cfg->account_id);
	if (!arn || strncmp(arn, prefix, plen) != 0) {
		berr_set(e, 400, "InvalidParameterException", "The ARN provided is invalid.");
		return NULL;
	}
	if (strncmp(arn + plen, "cluster/", 8) == 0) {
		struct rt_cluster *c = rt_cluster_find(rt, arn);
		if (c && strcmp(c->status, "ACTIVE") == 0)
			return c->tags;
	} else if (strncmp(arn + plen, "task/", 5) == 0) {
		struct rt_task *t = rt_task_find(rt, NULL, arn);
		if (t)
			return t->tags;
	} else if (strncmp(arn + plen, "task-definition/", 16) == 0 && strchr(arn + plen, ':')) {
		struct taskdef *td = rt_taskdef_find(rt, arn, NULL);
		if (td)
			return rt_taskdef_tags(rt, td);
	} else if (rt->resource_tags_hook) {
		json_t *tags = rt->resource_tags_hook(rt, arn);
		if (tags)
			return tags;
	}
	berr_set(e, 400, "InvalidParameterException", "The specified resource is not found.");
	return NULL;
}

int rt_resource_save(struct runtime *rt, const char *arn)
{
	struct rt_cluster *c;
	struct rt_task *t;
	struct taskdef *td;

	if (strstr(arn, ":cluster/") && (c = rt_cluster_find(rt, arn)))
		return rt_state_save_cluster(rt, c);
	if (strstr(arn, ":task/") && (t = rt_task_find(rt, NULL, arn)))
		return rt_state_save_task(rt, t);
	if (strstr(arn, ":task-definition/") && (td = rt_taskdef_find(rt, arn, NULL)))
		return rt_state_save_taskdef(rt, td);
	if (rt->resource_save_hook)
		return rt->resource_save_hook(rt, arn);
	return 0;
}
