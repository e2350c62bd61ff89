/* SPDX-License-Identifier: MIT */
/* cluster.c: ECS clusters - create, find by name or ARN, delete, describe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "runtime/runtime.h"

/* "arn:aws:ecs:REGION:ACCOUNT:cluster/NAME" -> NAME; anything else is a name. */
static const char *cluster_name_of(const char *name_or_arn)
{
	const char *p;

	if (!name_or_arn || !*name_or_arn)
		return "default";
	if (strncmp(name_or_arn, "arn:", 4) == 0 && (p = strstr(name_or_arn, ":cluster/")))
		return p + 9;
	return name_or_arn;
}

struct rt_cluster *rt_cluster_find(struct runtime *rt, const char *name_or_arn)
{
	const char *name = cluster_name_of(name_or_arn);

	for (struct rt_cluster *c = rt->clusters; c; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int rt_cluster_create(struct runtime *rt, const char *name, json_t *tags, json_t *settings,
		      json_t *configuration, struct rt_cluster **out, struct berr *e)
{
	struct rt_cluster *c;

	if (!name || !*name)
		name = "default";
	if (!name_is_valid(name, 255))
		return berr_set(e, 400, "InvalidParameterException",
				"Cluster name must be 1-255 characters: letters (upper and lower "
				"case), numbers, hyphens and underscores.");
	c = rt_cluster_find(rt, name);
	if (c && strcmp(c->status, "ACTIVE") == 0) {
		/* CreateCluster is idempotent in ECS: the existing cluster comes back. */
		*out = c;
		return 0;
	}
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return berr_set(e, 500, "ServerException", "Out of memory.");
		snprintf(c->name, sizeof(c->name), "%s", name);
		snprintf(c->arn, sizeof(c->arn), "arn:aws:ecs:%s:%s:cluster/%s", rt->cfg->region,
			 rt->cfg->account_id, name);
		c->next = rt->clusters;
		rt->clusters = c;
	}
	json_decref(c->tags);
	json_decref(c->settings);
	json_decref(c->configuration);
	json_decref(c->capacity_providers);
	json_decref(c->default_strategy);
	c->capacity_providers = json_array();
	c->default_strategy = json_array();
	snprintf(c->status, sizeof(c->status), "ACTIVE");
	c->created_at = time_now();
	c->tags = tags ? json_incref(tags) : json_array();
	c->settings = settings ? json_incref(settings)
			       : json_pack("[{s:s, s:s}]", "name", "containerInsights", "value",
					   "enabled");
	c->configuration = configuration ? json_incref(configuration) : NULL;
	rt_state_save_cluster(rt, c);
	log_info("runtime: created cluster %s", c->name);
	*out = c;
	return 0;
}

void rt_cluster_counts(struct runtime *rt, const struct rt_cluster *c, int *running, int *pending)
{
	*running = *pending = 0;
	for (struct rt_task *t = rt->tasks; t; t = t->next) {
		if (strcmp(t->cluster, c->name) != 0)
			continue;
		if (strcmp(t->last_status, "RUNNING") == 0)
			(*running)++;
		else if (strcmp(t->last_status, "PROVISIONING") == 0 ||
			 strcmp(t->last_status, "PENDING") == 0 ||
			 strcmp(t->last_status, "ACTIVATING") == 0)
			(*pending)++;
	}
}

int rt_cluster_delete(struct runtime *rt, struct rt_cluster *c, struct berr *e)
{
	int running, pending;

	rt_cluster_counts(rt, c, &running, &pending);
	if (running + pending > 0)
		return berr_set(e, 400, "ClusterContainsTasksException",
				"The Cluster cannot be deleted while Tasks are active.");
	if (rt->cluster_has_services && rt->cluster_has_services(rt, c))
		return berr_set(e, 400, "ClusterContainsServicesException",
				"The Cluster cannot be deleted while Services are active.");
	snprintf(c->status, sizeof(c->status), "INACTIVE");
	rt_cgpool_drop(rt, c);
	rt_state_save_cluster(rt, c);
	log_info("runtime: deleted cluster %s", c->name);
	return 0;
}

json_t *rt_cluster_json(struct runtime *rt, const struct rt_cluster *c, bool with_tags,
			bool with_settings)
{
	int running = 0, pending = 0;
	json_t *o;

	rt_cluster_counts(rt, c, &running, &pending);
	o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:[], s:[], s:[]}",
		      "clusterArn", c->arn, "clusterName", c->name, "status", c->status,
		      "registeredContainerInstancesCount", 0, "runningTasksCount", running,
		      "pendingTasksCount", pending, "activeServicesCount",
		      rt->cluster_service_count ? rt->cluster_service_count(rt, c) : 0,
		      "statistics", "capacityProviders", "defaultCapacityProviderStrategy");
	if (!o)
		return NULL;
	if (c->capacity_providers)
		json_object_set(o, "capacityProviders", c->capacity_providers);
	if (c->default_strategy)
		json_object_set(o, "defaultCapacityProviderStrategy", c->default_strategy);
	if (with_tags)
		json_object_set(o, "tags", c->tags);
	if (with_settings)
		json_object_set(o, "settings", c->settings);
	if (c->configuration)
		json_object_set(o, "configuration", c->configuration);
	return o;
}
