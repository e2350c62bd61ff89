/* SPDX-License-Identifier: MIT */
/* ecs.c: the ECS JSON 1.1 API - operation table, request validation, AWS response shapes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/log.h"
#include "runtime/taskdef.h"
#include "web/app.h"
#include "web/ecs_ops.h"

#define ECS_TARGET_PREFIX "AmazonEC2ContainerServiceV20141113."

typedef int (*ecs_op_fn)(struct app *a, json_t *rq, json_t **out, struct berr *e);

struct ecs_op {
	const char *name;
	ecs_op_fn fn;
};

static int bad_param(struct berr *e, const char *fmt, const char *what)
{
	return berr_set(e, 400, "InvalidParameterException", fmt, what);
}

struct rt_cluster *ecs_cluster_arg(struct app *a, json_t *rq, struct berr *e)
{
	const char *name = NULL;
	struct rt_cluster *c;

	if (json_get_string(rq, "cluster", &name, e) < 0)
		return NULL;
	c = rt_cluster_find(a->rt, name);
	if (!c || strcmp(c->status, "ACTIVE") != 0) {
		berr_set(e, 400, "ClusterNotFoundException", "Cluster not found.");
		return NULL;
	}
	return c;
}

static int tags_arg(json_t *rq, const char *member, json_t **out, struct berr *e);

int ecs_check_tags(json_t *rq, const char *member, struct berr *e)
{
	json_t *tags;

	return tags_arg(rq, member, &tags, e);
}

/* Validated tags array [{key, value}] (NULL when absent), or -EINVAL. */
static int tags_arg(json_t *rq, const char *member, json_t **out, struct berr *e)
{
	json_t *tags = NULL, *t;
	size_t i;

	*out = NULL;
	if (json_get_array(rq, member, &tags, e) < 0)
		return -EINVAL;
	if (!tags)
		return 0;
	if (json_array_size(tags) > 50)
		return bad_param(e, "%s: at most 50 tags are allowed.", member);
	json_array_foreach(tags, i, t) {
		const char *k = json_string_value(json_object_get(t, "key"));
		const char *v = json_string_value(json_object_get(t, "value"));
		if (!json_is_object(t) || !k || !*k || strlen(k) > 128)
			return bad_param(e, "%s: each tag needs a key of 1-128 characters.", member);
		if (json_object_get(t, "value") && (!v || strlen(v) > 256))
			return bad_param(e, "%s: a tag value must be a string of at most 256 "
					    "characters.", member);
		if (strncasecmp(k, "aws:", 4) == 0)
			return bad_param(e, "%s: tag keys starting with 'aws:' are reserved.", member);
	}
	*out = tags;
	return 0;
}

/* Replaces or adds each tag of add in dst. */
static void tags_merge(json_t *dst, json_t *add)
{
	size_t i, j;
	json_t *t, *d;

	json_array_foreach(add, i, t) {
		const char *k = json_string_value(json_object_get(t, "key"));
		json_t *v = json_object_get(t, "value");
		bool found = false;
		json_array_foreach(dst, j, d) {
			if (strcmp(json_string_value(json_object_get(d, "key")), k) == 0) {
				json_object_set(d, "value", v ? v : json_string(""));
				found = true;
			}
		}
		if (!found)
			json_array_append_new(dst, json_pack("{s:s, s:O}", "key", k, "value",
							     v ? v : json_string("")));
	}
}

/* Pagination over an array of strings: nextToken is the hex of the next index. */
int ecs_paginate(json_t *rq, json_t *all, long max_default, json_t *out, const char *member,
		    struct berr *e)
{
	const char *token = NULL;
	long long max = max_default;
	size_t start = 0, n = json_array_size(all);

	if (json_get_string(rq, "nextToken", &token, e) < 0 ||
	    json_get_int(rq, "maxResults", &max, e) < 0)
		return -EINVAL;
	if (max < 1 || max > 100)
		return bad_param(e, "maxResults must be between 1 and 100, got %s.",
				 json_string_value(json_object_get(rq, "maxResults")) ?: "a bad value");
	if (token) {
		char *end;
		if (strncmp(token, "berth1.", 7) != 0)
			return bad_param(e, "Invalid nextToken: %s", token);
		start = strtoul(token + 7, &end, 16);
		if (*end || start > n)
			return bad_param(e, "Invalid nextToken: %s", token);
	}
	json_t *page = json_array();
	for (size_t i = start; i < n && i < start + (size_t)max; i++)
		json_array_append(page, json_array_get(all, i));
	json_object_set_new(out, member, page);
	if (start + (size_t)max < n) {
		char tok[32];
		snprintf(tok, sizeof(tok), "berth1.%zx", start + (size_t)max);
		json_object_set_new(out, "nextToken", json_string(tok));
	}
	return 0;
}

static bool include_has(json_t *rq, const char *what)
{
	json_t *inc = json_object_get(rq, "include"), *v;
	size_t i;

	json_array_foreach(inc, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), what) == 0)
			return true;
	return false;
}

/* ---- Clusters ---- */

static int op_create_cluster(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	const char *name = "default";
	json_t *tags, *settings = NULL, *conf = NULL, *providers = NULL, *strategy = NULL;
	struct rt_cluster *c, probe = { .name = "" };

	if (json_get_string(rq, "clusterName", &name, e) < 0 || tags_arg(rq, "tags", &tags, e) < 0 ||
	    json_get_array(rq, "settings", &settings, e) < 0 ||
	    json_get_object(rq, "configuration", &conf, e) < 0 ||
	    json_get_array(rq, "capacityProviders", &providers, e) < 0 ||
	    json_get_array(rq, "defaultCapacityProviderStrategy", &strategy, e) < 0)
		return -EINVAL;
	if (providers || strategy) {
		/* Validated before anything is made: a bad strategy creates no cluster. */
		json_t *none = json_array();
		int bad = rt_capacity_set(NULL, &probe, providers ? providers : none, strategy, e);
		json_decref(probe.capacity_providers);
		json_decref(probe.default_strategy);
		if (bad == 0 && rt_cluster_create(a->rt, name, tags, settings, conf, &c, e) == 0)
			bad = rt_capacity_set(a->rt, c, providers ? providers : none, strategy, e);
		else
			bad = -EINVAL;
		json_decref(none);
		if (bad < 0)
			return -EINVAL;
	} else if (rt_cluster_create(a->rt, name, tags, settings, conf, &c, e) < 0) {
		return -EINVAL;
	}
	*out = json_pack("{s:o}", "cluster", rt_cluster_json(a->rt, c, true, true));
	return 0;
}

static int op_put_cluster_capacity_providers(struct app *a, json_t *rq, json_t **out,
					     struct berr *e)
{
	json_t *providers = NULL, *strategy = NULL;
	struct rt_cluster *c;

	if (!json_object_get(rq, "cluster"))
		return bad_param(e, "%s", "Missing required parameter in input: \"cluster\"");
	if (json_get_array(rq, "capacityProviders", &providers, e) < 0 ||
	    json_get_array(rq, "defaultCapacityProviderStrategy", &strategy, e) < 0)
		return -EINVAL;
	if (!providers)
		return bad_param(e, "%s", "Missing required parameter in input: \"capacityProviders\"");
	if (!strategy)
		return bad_param(e, "%s", "Missing required parameter in input: "
					  "\"defaultCapacityProviderStrategy\"");
	c = ecs_cluster_arg(a, rq, e);
	if (!c || rt_capacity_set(a->rt, c, providers, strategy, e) < 0)
		return -EINVAL;
	*out = json_pack("{s:o}", "cluster", rt_cluster_json(a->rt, c, true, true));
	return 0;
}

static int op_delete_cluster(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	struct rt_cluster *c;

	if (!json_object_get(rq, "cluster"))
		return bad_param(e, "%s", "Missing required parameter in input: \"cluster\"");
	c = ecs_cluster_arg(a, rq, e);
	if (!c || rt_cluster_delete(a->rt, c, e) < 0)
		return -EINVAL;
	*out = json_pack("{s:o}", "cluster", rt_cluster_json(a->rt, c, true, true));
	return 0;
}

static int op_describe_clusters(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	json_t *names = NULL, *clusters = json_array(), *failures = json_array(), *v;
	size_t i;

	if (json_get_array(rq, "clusters", &names, e) < 0)
		goto bad;
	if (!names || json_array_size(names) == 0) {
		struct rt_cluster *c = rt_cluster_find(a->rt, "default");
		if (c)
			json_array_append_new(clusters, rt_cluster_json(a->rt, c, include_has(rq, "TAGS"),
									include_has(rq, "SETTINGS")));
		else
			json_array_append_new(failures, json_pack("{s:s, s:s}", "arn",
				"default", "reason", "MISSING"));
	}
	if (json_array_size(names) > 100) {
		bad_param(e, "%s", "clusters can name at most 100 clusters.");
		goto bad;
	}
	json_array_foreach(names, i, v) {
		struct rt_cluster *c = json_is_string(v) ? rt_cluster_find(a->rt, json_string_value(v))
							 : NULL;
		if (c)
			json_array_append_new(clusters, rt_cluster_json(a->rt, c, include_has(rq, "TAGS"),
									include_has(rq, "SETTINGS")));
		else
			json_array_append_new(failures, json_pack("{s:s, s:s}", "arn",
				json_is_string(v) ? json_string_value(v) : "", "reason", "MISSING"));
	}
	*out = json_pack("{s:o, s:o}", "clusters", clusters, "failures", failures);
	return 0;
bad:
	json_decref(clusters);
	json_decref(failures);
	return -EINVAL;
}

static int op_list_clusters(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	json_t *all = json_array();
	int ret;

	for (struct rt_cluster *c = a->rt->clusters; c; c = c->next)
		if (strcmp(c->status, "ACTIVE") == 0)
			json_array_append_new(all, json_string(c->arn));
	*out = json_object();
	ret = ecs_paginate(rq, all, 100, *out, "clusterArns", e);
	json_decref(all);
	return ret;
}

/* ---- Task definitions ---- */

static json_t *taskdef_out(struct app *a, struct taskdef *td)
{
	json_t *doc = json_deep_copy(taskdef_json(td));

	json_object_del(doc, "tags");
	(void)a;
	return doc;
}

static int op_register_taskdef(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	struct taskdef *td;
	json_t *tags;

	if (tags_arg(rq, "tags", &tags, e) < 0 || rt_taskdef_register(a->rt, rq, &td, e) < 0)
		return -EINVAL;
	*out = json_pack("{s:o, s:O}", "taskDefinition", taskdef_out(a, td), "tags",
			 rt_taskdef_tags(a->rt, td));
	return 0;
}

static struct taskdef *taskdef_arg(struct app *a, json_t *rq, struct berr *e)
{
	const char *ref = NULL;

	if (json_get_string(rq, "taskDefinition", &ref, e) < 0)
		return NULL;
	if (!ref) {
		bad_param(e, "%s", "Missing required parameter in input: \"taskDefinition\"");
		return NULL;
	}
	return rt_taskdef_find(a->rt, ref, e);
}

static int op_deregister_taskdef(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	struct taskdef *td = taskdef_arg(a, rq, e);

	if (!td)
		return -EINVAL;
	if (!strchr(json_string_value(json_object_get(rq, "taskDefinition")), ':'))
		return berr_set(e, 400, "ClientException",
				"Invalid revision number. Number: %s",
				json_string_value(json_object_get(rq, "taskDefinition")));
	if (rt_taskdef_deregister(a->rt, td, e) < 0)
		return -EINVAL;
	*out = json_pack("{s:o}", "taskDefinition", taskdef_out(a, td));
	return 0;
}

static int op_describe_taskdef(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	struct taskdef *td = taskdef_arg(a, rq, e);

	if (!td)
		return -EINVAL;
	*out = json_pack("{s:o}", "taskDefinition", taskdef_out(a, td));
	if (include_has(rq, "TAGS"))
		json_object_set(*out, "tags", rt_taskdef_tags(a->rt, td));
	return 0;
}

static int status_arg(json_t *rq, const char **status, bool allow_all, struct berr *e)
{
	*status = "ACTIVE";
	if (json_get_string(rq, "status", status, e) < 0)
		return -EINVAL;
	if (strcmp(*status, "ACTIVE") && strcmp(*status, "INACTIVE") &&
	    strcmp(*status, "DELETE_IN_PROGRESS") && !(allow_all && !strcmp(*status, "ALL")))
		return bad_param(e, "Invalid status: %s", *status);
	return 0;
}

static const char *td_status_name(const struct taskdef *td)
{
	return td->status == TASKDEF_STATUS_ACTIVE	 ? "ACTIVE"
	       : td->status == TASKDEF_STATUS_INACTIVE ? "INACTIVE"
						       : "DELETE_IN_PROGRESS";
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int op_list_taskdefs(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	const char *prefix = NULL, *status, *sort = "ASC";
	const char **fams = NULL;
	size_t nf = 0;
	json_t *all;
	int ret;

	if (status_arg(rq, &status, false, e) < 0 || json_get_string(rq, "familyPrefix", &prefix, e) < 0 ||
	    json_get_string(rq, "sort", &sort, e) < 0)
		return -EINVAL;
	if (strcmp(sort, "ASC") && strcmp(sort, "DESC"))
		return bad_param(e, "Invalid sort: %s", sort);
	for (struct rt_family *f = a->rt->families; f; f = f->next)
		nf++;
	fams = calloc(nf ? nf : 1, sizeof(*fams));
	nf = 0;
	for (struct rt_family *f = a->rt->families; f && fams; f = f->next)
		fams[nf++] = f->name;
	qsort(fams, nf, sizeof(*fams), cmp_str);
	all = json_array();
	for (size_t k = 0; k < nf; k++) {
		size_t i = strcmp(sort, "ASC") == 0 ? k : nf - 1 - k;
		struct rt_family *f = a->rt->families;
		while (f && strcmp(f->name, fams[i]) != 0)
			f = f->next;
		if (prefix && strcmp(f->name, prefix) != 0)
			continue;
		for (int r = 0; r < f->n_revisions; r++) {
			int rev = strcmp(sort, "ASC") == 0 ? r : f->n_revisions - 1 - r;
			struct taskdef *td = f->revisions[rev];
			if (td && strcmp(td_status_name(td), status) == 0)
				json_array_append_new(all, json_string(td->arn));
		}
	}
	free(fams);
	*out = json_object();
	ret = ecs_paginate(rq, all, 100, *out, "taskDefinitionArns", e);
	json_decref(all);
	return ret;
}

static int op_list_families(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	const char *prefix = NULL, *status;
	const char **fams;
	size_t nf = 0;
	json_t *all;
	int ret;

	if (status_arg(rq, &status, true, e) < 0 || json_get_string(rq, "familyPrefix", &prefix, e) < 0)
		return -EINVAL;
	for (struct rt_family *f = a->rt->families; f; f = f->next)
		nf++;
	fams = calloc(nf ? nf : 1, sizeof(*fams));
	nf = 0;
	for (struct rt_family *f = a->rt->families; f && fams; f = f->next) {
		bool active = false;
		for (int r = 0; r < f->n_revisions; r++)
			active |= f->revisions[r] && f->revisions[r]->status == TASKDEF_STATUS_ACTIVE;
		if (prefix && strncmp(f->name, prefix, strlen(prefix)) != 0)
			continue;
		if (!strcmp(status, "ALL") || (active == !strcmp(status, "ACTIVE")))
			fams[nf++] = f->name;
	}
	qsort(fams, nf, sizeof(*fams), cmp_str);
	all = json_array();
	for (size_t i = 0; i < nf; i++)
		json_array_append_new(all, json_string(fams[i]));
	free(fams);
	*out = json_object();
	ret = ecs_paginate(rq, all, 100, *out, "families", e);
	json_decref(all);
	return ret;
}

/* ---- Tasks ---- */

static int op_run_task(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	const char *started_by = NULL, *group = NULL, *launch = NULL;
	json_t *tags, *overrides = NULL, *tasks, *strategy = NULL;
	const char *providers[10] = { NULL };
	struct rt_task **list = NULL;
	struct rt_cluster *c;
	struct taskdef *td;
	long long count = 1;

	c = ecs_cluster_arg(a, rq, e);
	if (!c)
		return -EINVAL;
	td = taskdef_arg(a, rq, e);
	if (!td || json_get_int(rq, "count", &count, e) < 0 ||
	    json_get_string(rq, "startedBy", &started_by, e) < 0 ||
	    json_get_string(rq, "group", &group, e) < 0 ||
	    json_get_string(rq, "launchType", &launch, e) < 0 ||
	    json_get_object(rq, "overrides", &overrides, e) < 0 || tags_arg(rq, "tags", &tags, e) < 0 ||
	    json_get_array(rq, "capacityProviderStrategy", &strategy, e) < 0)
		return -EINVAL;
	if (count < 1 || count > 10)
		return bad_param(e, "%s", "count must be between 1 and 10.");
	if (launch && strategy)
		return bad_param(e, "%s", "Specifying both a launchType and capacityProviderStrategy "
					  "is not supported. Remove one and try again.");
	/* Without either, the cluster's default strategy places the tasks, when it has one. */
	if (!launch && !strategy && json_array_size(c->default_strategy) > 0)
		strategy = c->default_strategy;
	if (strategy) {
		int have[20] = { 0 };
		if (rt_capacity_check(c, strategy, e) < 0)
			return -EINVAL;
		for (long long i = 0; i < count; i++)
			providers[i] = rt_capacity_pick(strategy, have);
		launch = "FARGATE";
	}
	if (started_by && strlen(started_by) > 128)
		return bad_param(e, "%s", "startedBy can be up to 128 characters.");
	if (launch && strcmp(launch, "EC2") && strcmp(launch, "FARGATE") && strcmp(launch, "EXTERNAL"))
		return bad_param(e, "launchType must be EC2, FARGATE or EXTERNAL, got %s.", launch);
	if (rt_task_run(a->rt, c, td, overrides, started_by, group, tags, launch,
			strategy ? providers : NULL, (int)count, &list, e) < 0)
		return -EINVAL;
	tasks = json_array();
	for (long long i = 0; i < count; i++)
		if (list[i])
			json_array_append_new(tasks, rt_task_json(a->rt, list[i], true));
	free(list);
	*out = json_pack("{s:o, s:[]}", "tasks", tasks, "failures");
	return 0;
}

static int op_stop_task(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	const char *id = NULL, *reason = NULL;
	struct rt_cluster *c = ecs_cluster_arg(a, rq, e);
	struct rt_task *t;

	if (!c || json_get_string(rq, "task", &id, e) < 0 || json_get_string(rq, "reason", &reason, e) < 0)
		return -EINVAL;
	if (!id)
		return bad_param(e, "%s", "Missing required parameter in input: \"task\"");
	if (reason && strlen(reason) > 255)
		return bad_param(e, "%s", "reason can be up to 255 characters.");
	t = rt_task_find(a->rt, c, id);
	if (!t)
		return bad_param(e, "%s", "The referenced task was not found.");
	rt_task_stop(a->rt, t, "UserInitiated", reason && *reason ? reason : "Stopped by user.");
	*out = json_pack("{s:o}", "task", rt_task_json(a->rt, t, true));
	return 0;
}

static int op_describe_tasks(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	struct rt_cluster *c = ecs_cluster_arg(a, rq, e);
	json_t *ids = NULL, *tasks, *failures, *v;
	size_t i;

	if (!c || json_get_array(rq, "tasks", &ids, e) < 0)
		return -EINVAL;
	if (!ids)
		return bad_param(e, "%s", "Missing required parameter in input: \"tasks\"");
	if (json_array_size(ids) > 100)
		return bad_param(e, "%s", "tasks can name at most 100 tasks.");
	tasks = json_array();
	failures = json_array();
	json_array_foreach(ids, i, v) {
		struct rt_task *t = json_is_string(v) ? rt_task_find(a->rt, c, json_string_value(v))
						      : NULL;
		if (t)
			json_array_append_new(tasks, rt_task_json(a->rt, t, include_has(rq, "TAGS")));
		else
			json_array_append_new(failures, json_pack("{s:s, s:s}", "arn",
				json_is_string(v) ? json_string_value(v) : "", "reason", "MISSING"));
	}
	*out = json_pack("{s:o, s:o}", "tasks", tasks, "failures", failures);
	return 0;
}

static int op_list_tasks(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	const char *family = NULL, *started_by = NULL, *desired = "RUNNING", *service = NULL,
		   *launch = NULL;
	struct rt_cluster *c = ecs_cluster_arg(a, rq, e);
	char group[300];
	json_t *all;
	int ret;

	if (!c || json_get_string(rq, "family", &family, e) < 0 ||
	    json_get_string(rq, "startedBy", &started_by, e) < 0 ||
	    json_get_string(rq, "desiredStatus", &desired, e) < 0 ||
	    json_get_string(rq, "serviceName", &service, e) < 0 ||
	    json_get_string(rq, "launchType", &launch, e) < 0)
		return -EINVAL;
	if (strcmp(desired, "RUNNING") && strcmp(desired, "PENDING") && strcmp(desired, "STOPPED"))
		return bad_param(e, "desiredStatus must be RUNNING, PENDING or STOPPED, got %s.",
				 desired);
	if (service && family)
		return bad_param(e, "%s", "family and serviceName cannot both be specified.");
	snprintf(group, sizeof(group), "service:%s", service ? service : "");
	all = json_array();
	for (struct rt_task *t = a->rt->tasks; t; t = t->next) {
		const char *fam = t->td ? t->td->family : "";
		if (strcmp(t->cluster, c->name) != 0)
			continue;
		if (strcmp(desired, "PENDING") == 0 ? strcmp(t->last_status, "PENDING") != 0
						    : strcmp(t->desired_status, desired) != 0)
			continue;
		if ((family && strcmp(fam, family) != 0) ||
		    (started_by && strcmp(t->started_by, started_by) != 0) ||
		    (service && strcmp(t->group, group) != 0) ||
		    (launch && strcmp(t->launch_type, launch) != 0))
			continue;
		json_array_append_new(all, json_string(t->arn));
	}
	*out = json_object();
	ret = ecs_paginate(rq, all, 100, *out, "taskArns", e);
	json_decref(all);
	return ret;
}

/* ---- Tags ---- */

static int resource_arg(struct app *a, json_t *rq, json_t **tags, struct berr *e)
{
	const char *arn = NULL;

	if (json_get_string(rq, "resourceArn", &arn, e) < 0)
		return -EINVAL;
	if (!arn)
		return bad_param(e, "%s", "Missing required parameter in input: \"resourceArn\"");
	*tags = rt_resource_tags(a->rt, arn, e);
	return *tags ? 0 : -EINVAL;
}

static int op_tag_resource(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	json_t *dst, *tags;

	if (resource_arg(a, rq, &dst, e) < 0 || tags_arg(rq, "tags", &tags, e) < 0)
		return -EINVAL;
	if (!tags)
		return bad_param(e, "%s", "Missing required parameter in input: \"tags\"");
	if (json_array_size(dst) + json_array_size(tags) > 50)
		return bad_param(e, "%s", "A resource can have at most 50 tags.");
	tags_merge(dst, tags);
	rt_resource_save(a->rt, json_string_value(json_object_get(rq, "resourceArn")));
	*out = json_object();
	return 0;
}

static int op_untag_resource(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	json_t *dst, *keys = NULL, *k;
	size_t i;

	if (resource_arg(a, rq, &dst, e) < 0 || json_get_array(rq, "tagKeys", &keys, e) < 0)
		return -EINVAL;
	if (!keys)
		return bad_param(e, "%s", "Missing required parameter in input: \"tagKeys\"");
	json_array_foreach(keys, i, k) {
		for (size_t j = json_array_size(dst); j > 0; j--) {
			const char *have = json_string_value(json_object_get(json_array_get(dst, j - 1),
									   "key"));
			if (json_is_string(k) && have && strcmp(have, json_string_value(k)) == 0)
				json_array_remove(dst, j - 1);
		}
	}
	rt_resource_save(a->rt, json_string_value(json_object_get(rq, "resourceArn")));
	*out = json_object();
	return 0;
}

static int op_list_tags(struct app *a, json_t *rq, json_t **out, struct berr *e)
{
	json_t *tags;

	if (resource_arg(a, rq, &tags, e) < 0)
		return -EINVAL;
	*out = json_pack("{s:O}", "tags", tags);
	return 0;
}

static const struct ecs_op ops[] = {
	{ "CreateCluster", op_create_cluster },
	{ "PutClusterCapacityProviders", op_put_cluster_capacity_providers },
	{ "DeleteCluster", op_delete_cluster },
	{ "DescribeClusters", op_describe_clusters },
	{ "ListClusters", op_list_clusters },
	{ "RegisterTaskDefinition", op_register_taskdef },
	{ "DeregisterTaskDefinition", op_deregister_taskdef },
	{ "DescribeTaskDefinition", op_describe_taskdef },
	{ "ListTaskDefinitions", op_list_taskdefs },
	{ "ListTaskDefinitionFamilies", op_list_families },
	{ "RunTask", op_run_task },
	{ "StopTask", op_stop_task },
	{ "DescribeTasks", op_describe_tasks },
	{ "ListTasks", op_list_tasks },
	{ "TagResource", op_tag_resource },
	{ "UntagResource", op_untag_resource },
	{ "ListTagsForResource", op_list_tags },
	{ "CreateService", ecs_create_service },
	{ "UpdateService", ecs_update_service },
	{ "DeleteService", ecs_delete_service },
	{ "DescribeServices", ecs_describe_services },
	{ "ListServices", ecs_list_services },
};

static const struct ecs_op *op_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

static void respond_error(struct web_response *rs, const struct berr *e)
{
	web_respond_aws_error(rs, e->http_status ? e->http_status : 400, e->type, "%s",
			      e->message);
}

void ecs_handle(struct app *a, struct web_request *rq, struct web_response *rs)
{
	const char *target = web_header(rq, "X-Amz-Target");
	struct berr e = { { 0 }, { 0 }, 400 };
	const struct ecs_op *op;
	json_t *req = NULL, *out = NULL;
	char rid[37];

	id_uuid(rid);
	web_add_header(rs, "x-amzn-RequestId", rid);
	if (app_authenticate(a, rq, &e) < 0) {
		respond_error(rs, &e);
		return;
	}
	if (target && strncmp(target, SCALING_TARGET_PREFIX, strlen(SCALING_TARGET_PREFIX)) == 0) {
		scaling_json_handle(a, rq, rs, target + strlen(SCALING_TARGET_PREFIX));
		return;
	}
	if (!target || strncmp(target, ECS_TARGET_PREFIX, strlen(ECS_TARGET_PREFIX)) != 0 ||
	    !(op = op_find(target + strlen(ECS_TARGET_PREFIX)))) {
		web_respond_aws_error(rs, 400, "UnknownOperationException",
				      "Unknown operation %s.", target ? target : "(no X-Amz-Target)");
		return;
	}
	if (json_decode_request(rq->body, rq->body_len, (int)a->cfg->max_json_depth, &req, &e) < 0) {
		respond_error(rs, &e);
		return;
	}
	if (op->fn(a, req, &out, &e) < 0 || !out) {
		if (!e.type[0])
			berr_set(&e, 500, "ServerException", "Internal error in %s.", op->name);
		log_debug("ecs: %s refused: %s: %s", op->name, e.type, e.message);
		respond_error(rs, &e);
	} else {
		char *s = json_steal_dumps(out);
		web_respond(rs, 200, "application/x-amz-json-1.1", s, s ? strlen(s) : 0);
	}
	json_decref(req);
}
