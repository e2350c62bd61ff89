/* SPDX-License-Identifier: MIT */
/* service_api.c: services as the API sees them - create, update, delete, describe, persist. */
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/json.h"
#include "common/log.h"
#include "runtime/service_internal.h"
#include "runtime/taskdef.h"

struct rt_service *svc_find(struct rt_services *s, const char *cluster, const char *name_or_arn)
{
	const char *name = name_or_arn, *p;

	if (!name)
		return NULL;
	if (!strncmp(name, "arn:", 4) && (p = strrchr(name, '/')))
		name = p + 1;
	for (struct rt_service *svc = s->list; svc; svc = svc->next)
		if (!strcmp(svc->name, name) && !strcmp(svc->cluster, cluster))
			return svc;
	return NULL;
}

int svc_count_active(struct rt_services *s, const char *cluster)
{
	int n = 0;

	for (struct rt_service *svc = s ? s->list : NULL; svc; svc = svc->next)
		n += !strcmp(svc->cluster, cluster) && strcmp(svc->status, "INACTIVE") != 0;
	return n;
}

const char *svc_stop_reason(const struct rt_deployment *d)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "Scaling activity initiated by (deployment %s)", d->id);
	return buf;
}

bool svc_task_has_checks(const struct taskdef *td)
{
	for (size_t i = 0; i < td->n_containers; i++)
		if (td->containers[i].essential && td->containers[i].health.kind != TASKDEF_HEALTH_NONE)
			return true;
	return false;
}

json_t *svc_task_tags(struct rt_services *s, const struct rt_service *svc,
		      const struct taskdef *td)
{
	json_t *tags = json_array();

	if (!strcmp(svc->propagate_tags, "SERVICE"))
		json_array_extend(tags, svc->tags);
	else if (!strcmp(svc->propagate_tags, "TASK_DEFINITION"))
		json_array_extend(tags, rt_taskdef_tags(s->rt, td));
	if (svc->managed_tags) {
		json_array_append_new(tags, json_pack("{s:s, s:s}", "key", "aws:ecs:serviceName",
						      "value", svc->name));
		json_array_append_new(tags, json_pack("{s:s, s:s}", "key", "aws:ecs:clusterName",
						      "value", svc->cluster));
	}
	return tags;
}

void svc_new_deployment(struct rt_services *s, struct rt_service *svc, const char *taskdef_arn)
{
	struct rt_deployment *d;
	char digits[20];

	(void)s;
	if (svc->n_deployments == SVC_MAX_DEPLOYMENTS)
		svc->n_deployments--;   /* the oldest ACTIVE one is forgotten */
	memmove(&svc->deployments[1], &svc->deployments[0],
		sizeof(svc->deployments[0]) * (size_t)svc->n_deployments);
	svc->n_deployments++;
	for (int i = 1; i < svc->n_deployments; i++)
		snprintf(svc->deployments[i].status, sizeof(svc->deployments[i].status), "ACTIVE");
	d = &svc->deployments[0];
	memset(d, 0, sizeof(*d));
	id_random_hex(digits, 19);
	for (int i = 0; i < 19; i++)   /* ECS deployment ids are decimal */
		digits[i] = (char)('0' + (digits[i] % 10));
	snprintf(d->id, sizeof(d->id), "ecs-svc/%s", digits);
	snprintf(d->status, sizeof(d->status), "PRIMARY");
	snprintf(d->taskdef_arn, sizeof(d->taskdef_arn), "%s", taskdef_arn);
	snprintf(svc->taskdef_arn, sizeof(svc->taskdef_arn), "%s", taskdef_arn);
	d->desired_count = svc->desired_count;
	snprintf(d->rollout_state, sizeof(d->rollout_state), "IN_PROGRESS");
	snprintf(d->rollout_reason, sizeof(d->rollout_reason), "ECS deployment %s in progress.", d->id);
	d->created_at = d->updated_at = time_now();
	svc->steady = false;
	svc->start_failures = 0;
	svc->next_launch_at = 0;
	svc->dirty = true;
}

static int bad(struct berr *e, const char *msg)
{
	return berr_set(e, 400, "InvalidParameterException", "%s", msg);
}

/* deploymentConfiguration into svc; nothing changes on error. */
static int parse_deploy_config(struct rt_service *svc, const json_t *rq, struct berr *e)
{
	json_t *dc = json_object_get(rq, "deploymentConfiguration"), *cb;
	long long minp = svc->min_healthy_percent, maxp = svc->max_percent;
	int enable = svc->breaker_enable, rollback = svc->breaker_rollback;

	if (!dc)
		return 0;
	if (!json_is_object(dc))
		return bad(e, "deploymentConfiguration must be an object.");
	if (json_get_int(dc, "minimumHealthyPercent", &minp, e) < 0 ||
	    json_get_int(dc, "maximumPercent", &maxp, e) < 0)
		return -EINVAL;
	cb = json_object_get(dc, "deploymentCircuitBreaker");
	if (cb && (json_get_bool(cb, "enable", &enable, e) < 0 ||
		   json_get_bool(cb, "rollback", &rollback, e) < 0))
		return -EINVAL;
	if (minp < 0 || minp > 100)
		return bad(e, "minimumHealthyPercent must be between 0 and 100.");
	if (maxp < 100 || maxp > 200)
		return bad(e, "maximumPercent must be between 100 and 200.");
	svc->min_healthy_percent = (int)minp;
	svc->max_percent = (int)maxp;
	svc->breaker_enable = enable;
	svc->breaker_rollback = rollback;
	return 0;
}

static int parse_common(struct rt_service *svc, const json_t *rq, struct berr *e)
{
	long long desired = svc->desired_count, grace = svc->health_grace;

	if (json_get_int(rq, "desiredCount", &desired, e) < 0 ||
	    json_get_int(rq, "healthCheckGracePeriodSeconds", &grace, e) < 0)
		return -EINVAL;
	if (desired < 0 || desired > 10000)
		return bad(e, "desiredCount must be between 0 and 10000.");
	if (grace < 0 || grace > 2147483647)
		return bad(e, "healthCheckGracePeriodSeconds must not be negative.");
	if (parse_deploy_config(svc, rq, e) < 0)
		return -EINVAL;
	svc->desired_count = (int)desired;
	svc->health_grace = (int)grace;
	return 0;
}

int svc_create(struct rt_services *s, struct rt_cluster *c, const json_t *rq,
	       struct rt_service **out, struct berr *e)
{
	const char *name = NULL, *tdref = NULL, *launch = "FARGATE", *prop = "NONE";
	struct rt_service tmp, *svc, *old;
	struct taskdef *td;
	json_t *strategy = NULL;
	int managed = 0;

	if (json_get_string(rq, "serviceName", &name, e) < 0 ||
	    json_get_string(rq, "taskDefinition", &tdref, e) < 0 ||
	    json_get_string(rq, "launchType", &launch, e) < 0 ||
	    json_get_string(rq, "propagateTags", &prop, e) < 0 ||
	    json_get_bool(rq, "enableECSManagedTags", &managed, e) < 0 ||
	    json_get_array(rq, "capacityProviderStrategy", &strategy, e) < 0)
		return -EINVAL;
	if (strategy && json_object_get(rq, "launchType"))
		return bad(e, "Specifying both a launchType and capacityProviderStrategy is not "
			      "supported. Remove one and try again.");
	if (!strategy && !json_object_get(rq, "launchType") &&
	    json_array_size(c->default_strategy) > 0)
		strategy = c->default_strategy;
	if (strategy && rt_capacity_check(c, strategy, e) < 0)
		return -EINVAL;
	if (!name || !name_is_valid(name, 255))
		return bad(e, "serviceName must be 1-255 letters, numbers, hyphens and underscores.");
	if (!tdref)
		return bad(e, "A task definition must be specified for a service.");
	if (!json_object_get(rq, "desiredCount"))
		return bad(e, "desiredCount is required for services with the REPLICA scheduling "
			      "strategy.");
	if (strcmp(prop, "NONE") && strcmp(prop, "SERVICE") && strcmp(prop, "TASK_DEFINITION"))
		return bad(e, "propagateTags must be NONE, SERVICE or TASK_DEFINITION.");
	if (json_object_get(rq, "schedulingStrategy") &&
	    strcmp(json_string_value(json_object_get(rq, "schedulingStrategy")) ?: "", "REPLICA"))
		return bad(e, "Only the REPLICA scheduling strategy is supported.");
	td = rt_taskdef_find(s->rt, tdref, e);
	if (!td)
		return -EINVAL;
	if (td->status != TASKDEF_STATUS_ACTIVE)
		return bad(e, "TaskDefinition is inactive");
	old = svc_find(s, c->name, name);
	if (old && strcmp(old->status, "INACTIVE") != 0)
		return bad(e, "Creation of service was not idempotent.");
	memset(&tmp, 0, sizeof(tmp));
	tmp.min_healthy_percent = 100;
	tmp.max_percent = 200;
	if (parse_common(&tmp, rq, e) < 0)
		return -EINVAL;
	svc = old ? old : calloc(1, sizeof(*svc));
	if (!svc)
		return berr_set(e, 500, "ServerException", "Out of memory.");
	json_decref(svc->tags);
	json_decref(svc->capacity_strategy);
	tmp.next = old ? old->next : s->list;
	*svc = tmp;
	if (!old)
		s->list = svc;
	snprintf(svc->name, sizeof(svc->name), "%s", name);
	snprintf(svc->cluster, sizeof(svc->cluster), "%s", c->name);
	snprintf(svc->arn, sizeof(svc->arn), "arn:aws:ecs:%s:%s:service/%s/%s",
		 s->rt->cfg->region, s->rt->cfg->account_id, c->name, name);
	snprintf(svc->status, sizeof(svc->status), "ACTIVE");
	snprintf(svc->launch_type, sizeof(svc->launch_type), "%s", launch);
	svc->capacity_strategy = strategy ? json_deep_copy(strategy) : NULL;
	snprintf(svc->propagate_tags, sizeof(svc->propagate_tags), "%s", prop);
	svc->managed_tags = managed;
	svc->tags = json_incref(json_object_get(rq, "tags"));
	if (!json_is_array(svc->tags)) {
		json_decref(svc->tags);
		svc->tags = json_array();
	}
	svc->created_at = time_now();
	svc_new_deployment(s, svc, td->arn);
	svc_save(s, svc);
	loop_timer_arm(&s->soon, 1, 0);
	*out = svc;
	return 0;
}

int svc_update(struct rt_services *s, struct rt_service *svc, const json_t *rq, struct berr *e)
{
	const char *tdref = NULL;
	struct taskdef *td = NULL;
	struct rt_service tmp = *svc;
	json_t *strategy = NULL;
	int force = 0;

	if (strcmp(svc->status, "ACTIVE") != 0)
		return berr_set(e, 400, "ServiceNotActiveException", "Service was not ACTIVE.");
	if (json_get_string(rq, "taskDefinition", &tdref, e) < 0 ||
	    json_get_bool(rq, "forceNewDeployment", &force, e) < 0 || parse_common(&tmp, rq, e) < 0 ||
	    json_get_array(rq, "capacityProviderStrategy", &strategy, e) < 0)
		return -EINVAL;
	if (strategy) {
		/* New tasks follow the new strategy; forceNewDeployment moves the running ones. */
		struct rt_cluster *c = rt_cluster_find(s->rt, svc->cluster);
		if (json_array_size(strategy) > 0 && (!c || rt_capacity_check(c, strategy, e) < 0))
			return -EINVAL;
	}
	if (tdref) {
		td = rt_taskdef_find(s->rt, tdref, e);
		if (!td)
			return -EINVAL;
		if (td->status != TASKDEF_STATUS_ACTIVE)
			return bad(e, "TaskDefinition is inactive");
	}
	svc->desired_count = tmp.desired_count;
	svc->health_grace = tmp.health_grace;
	svc->min_healthy_percent = tmp.min_healthy_percent;
	svc->max_percent = tmp.max_percent;
	svc->breaker_enable = tmp.breaker_enable;
	svc->breaker_rollback = tmp.breaker_rollback;
	if (strategy) {
		json_decref(svc->capacity_strategy);
		svc->capacity_strategy = json_array_size(strategy) > 0 ? json_deep_copy(strategy)
								       : NULL;
	}
	svc->deployments[0].desired_count = svc->desired_count;
	for (int i = 1; i < svc->n_deployments; i++)
		svc->deployments[i].desired_count = 0;
	if ((td && strcmp(td->arn, svc->taskdef_arn) != 0) || force)
		svc_new_deployment(s, svc, td ? td->arn : svc->taskdef_arn);
	svc->steady = false;
	svc->dirty = true;
	svc_save(s, svc);
	loop_timer_arm(&s->soon, 1, 0);
	return 0;
}

int svc_delete(struct rt_services *s, struct rt_service *svc, bool force, struct berr *e)
{
	if (strcmp(svc->status, "ACTIVE") != 0)
		return berr_set(e, 400, "ServiceNotActiveException", "Service was not ACTIVE.");
	if (svc->desired_count > 0 && !force)
		return berr_set(e, 400, "InvalidParameterException",
				"The service cannot be stopped while it is scaled above 0.");
	svc->desired_count = 0;
	snprintf(svc->status, sizeof(svc->status), "DRAINING");
	svc->dirty = true;
	svc_save(s, svc);
	loop_timer_arm(&s->soon, 1, 0);
	return 0;
}

static json_t *deployment_json(const struct rt_service *svc, const struct rt_deployment *d)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:f, s:f, s:s, s:s, s:s}", "id", d->id,
			 "status", d->status, "taskDefinition", d->taskdef_arn, "desiredCount",
			 d->desired_count, "pendingCount", d->pending_count, "runningCount",
			 d->running_count, "failedTasks", d->failed_tasks, "createdAt", d->created_at,
			 "updatedAt", d->updated_at, "launchType", svc->launch_type, "rolloutState",
			 d->rollout_state, "rolloutStateReason", d->rollout_reason);
	if (o && json_array_size(svc->capacity_strategy) > 0) {
		json_object_del(o, "launchType");
		json_object_set(o, "capacityProviderStrategy", svc->capacity_strategy);
	}
	return o;
}

json_t *svc_json(struct rt_services *s, const struct rt_service *svc, bool with_tags)
{
	json_t *o, *deps = json_array(), *evs = json_array();
	struct rt_cluster *c = rt_cluster_find(s->rt, svc->cluster);
	int running = 0, pending = 0;

	for (int i = 0; i < svc->n_deployments; i++) {
		running += svc->deployments[i].running_count;
		pending += svc->deployments[i].pending_count;
		json_array_append_new(deps, deployment_json(svc, &svc->deployments[i]));
	}
	for (int k = 0; k < svc->n_events; k++) {
		const struct svc_event *ev =
			&svc->events[(svc->event_head + SVC_MAX_EVENTS - 1 - k) % SVC_MAX_EVENTS];
		json_array_append_new(evs, json_pack("{s:s, s:f, s:s}", "id", ev->id, "createdAt",
						     ev->created_at, "message", ev->message));
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:s,"
		      " s:{s:{s:b, s:b}, s:i, s:i}, s:o, s:o, s:f, s:[], s:[], s:[], s:[],"
		      " s:i, s:s, s:b, s:s, s:s, s:{s:s}}",
		      "serviceArn", svc->arn, "serviceName", svc->name, "clusterArn",
		      c ? c->arn : "", "status", svc->status, "desiredCount", svc->desired_count,
		      "runningCount", running, "pendingCount", pending, "launchType",
		      svc->launch_type, "taskDefinition", svc->taskdef_arn,
		      "deploymentConfiguration", "deploymentCircuitBreaker", "enable",
		      svc->breaker_enable, "rollback", svc->breaker_rollback, "maximumPercent",
		      svc->max_percent, "minimumHealthyPercent", svc->min_healthy_percent,
		      "deployments", deps, "events", evs, "createdAt", svc->created_at,
		      "loadBalancers", "serviceRegistries", "placementConstraints",
		      "placementStrategy", "healthCheckGracePeriodSeconds", svc->health_grace,
		      "schedulingStrategy", "REPLICA", "enableECSManagedTags", svc->managed_tags,
		      "propagateTags", svc->propagate_tags, "createdBy",
		      "arn:aws:iam::000000000000:root", "deploymentController", "type", "ECS");
	if (o && with_tags)
		json_object_set(o, "tags", svc->tags);
	if (o && json_array_size(svc->capacity_strategy) > 0) {
		json_object_del(o, "launchType");
		json_object_set(o, "capacityProviderStrategy", svc->capacity_strategy);
	}
	return o;
}

int svc_replace_task(struct rt_services *s, struct rt_task *t, const char *reason,
		     struct rt_task **replacement)
{
	struct rt_task **list = NULL;
	struct rt_cluster *c;
	struct berr e;
	int ret;

	if (replacement)
		*replacement = NULL;
	if (strcmp(t->last_status, "STOPPED") == 0)
		return -ESRCH;
	if (!strncmp(t->group, "service:", 8) && svc_find(s, t->cluster, t->group + 8)) {
		struct rt_service *svc = svc_find(s, t->cluster, t->group + 8);
		svc_event(svc, "(service %s) has stopped 1 running tasks: (task %s).", svc->name,
			  t->id);
		return rt_task_stop(s->rt, t, "ServiceSchedulerInitiated", reason);
	}
	c = rt_cluster_find(s->rt, t->cluster);
	rt_task_stop(s->rt, t, "ServiceSchedulerInitiated", reason);
	if (!c || !t->td)
		return -ENOENT;
	{
		const char *provider[1] = { t->capacity_provider[0] ? t->capacity_provider : NULL };
		ret = rt_task_run(s->rt, c, t->td, t->overrides, t->started_by, t->group, t->tags,
				  t->launch_type, provider, 1, &list, &e);
	}
	if (ret == 0 && replacement)
		*replacement = list[0];
	free(list);
	return ret;
}

/* ---- persistence ---- */

static json_t *svc_state(struct rt_services *s, const struct rt_service *svc)
{
	json_t *o = svc_json(s, svc, true);

	json_object_set_new(o, "berth", json_pack("{s:s, s:i, s:f, s:b, s:s}", "cluster",
				svc->cluster, "startFailures", svc->start_failures, "nextLaunchAt",
				svc->next_launch_at, "steady", svc->steady, "lastGoodTaskDefinition",
				svc->last_good_taskdef));
	return o;
}

int svc_save(struct rt_services *s, struct rt_service *svc)
{
	unsigned char sha[32];
	unsigned int sha_len = 0;
	char path[1200];
	char *text;
	int ret;

	text = json_steal_dumps(svc_state(s, svc));
	if (!text)
		return -ENOMEM;
	/* A durable write costs two fsyncs: skip the ones that would write the same bytes. */
	if (EVP_Digest(text, strlen(text), sha, &sha_len, EVP_sha256(), NULL) &&
	    sha_len == sizeof(sha) && memcmp(sha, svc->saved_sha, sizeof(sha)) == 0) {
		free(text);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", s->dir, svc->cluster);
	file_mkdir_p(path, 0700);
	snprintf(path, sizeof(path), "%s/%s/%s.json", s->dir, svc->cluster, svc->name);
	ret = file_write_durable(path, text, strlen(text), 0600);
	free(text);
	if (ret < 0)
		log_error("service: failed to write %s: %s", path, strerror(-ret));
	if (ret == 0 && sha_len == sizeof(sha))
		memcpy(svc->saved_sha, sha, sizeof(sha));
	else
		memset(svc->saved_sha, 0, sizeof(svc->saved_sha));
	return ret;
}

#define GETS(o, k) (json_string_value(json_object_get(o, k)) ?: "")

static void load_deployment(struct rt_deployment *d, json_t *o)
{
	snprintf(d->id, sizeof(d->id), "%s", GETS(o, "id"));
	snprintf(d->status, sizeof(d->status), "%s", GETS(o, "status"));
	snprintf(d->taskdef_arn, sizeof(d->taskdef_arn), "%s", GETS(o, "taskDefinition"));
	snprintf(d->rollout_state, sizeof(d->rollout_state), "%s", GETS(o, "rolloutState"));
	snprintf(d->rollout_reason, sizeof(d->rollout_reason), "%s", GETS(o, "rolloutStateReason"));
	d->desired_count = (int)json_integer_value(json_object_get(o, "desiredCount"));
	d->failed_tasks = (int)json_integer_value(json_object_get(o, "failedTasks"));
	d->created_at = json_number_value(json_object_get(o, "createdAt"));
	d->updated_at = json_number_value(json_object_get(o, "updatedAt"));
}

static void load_one(struct rt_services *s, json_t *o, const char *path)
{
	struct rt_service *svc = calloc(1, sizeof(*svc));
	json_t *b = json_object_get(o, "berth"), *dc = json_object_get(o, "deploymentConfiguration");
	json_t *deps = json_object_get(o, "deployments"), *evs = json_object_get(o, "events");
	size_t n;

	if (!svc)
		return;
	snprintf(svc->name, sizeof(svc->name), "%s", GETS(o, "serviceName"));
	snprintf(svc->cluster, sizeof(svc->cluster), "%s", GETS(b, "cluster"));
	if (!name_is_valid(svc->name, 255) || !name_is_valid(svc->cluster, 255) ||
	    json_array_size(deps) == 0) {
		log_error("service: failed to load %s: serviceName, cluster or deployments missing",
			  path);
		free(svc);
		return;
	}
	snprintf(svc->arn, sizeof(svc->arn), "%s", GETS(o, "serviceArn"));
	snprintf(svc->status, sizeof(svc->status), "%s", GETS(o, "status"));
	snprintf(svc->taskdef_arn, sizeof(svc->taskdef_arn), "%s", GETS(o, "taskDefinition"));
	snprintf(svc->launch_type, sizeof(svc->launch_type), "%s", GETS(o, "launchType"));
	if (!svc->launch_type[0])
		snprintf(svc->launch_type, sizeof(svc->launch_type), "FARGATE");
	if (json_array_size(json_object_get(o, "capacityProviderStrategy")) > 0)
		svc->capacity_strategy = json_deep_copy(json_object_get(o, "capacityProviderStrategy"));
	snprintf(svc->propagate_tags, sizeof(svc->propagate_tags), "%s", GETS(o, "propagateTags"));
	snprintf(svc->last_good_taskdef, sizeof(svc->last_good_taskdef), "%s",
		 GETS(b, "lastGoodTaskDefinition"));
	svc->desired_count = (int)json_integer_value(json_object_get(o, "desiredCount"));
	svc->min_healthy_percent = (int)json_integer_value(json_object_get(dc, "minimumHealthyPercent"));
	svc->max_percent = (int)json_integer_value(json_object_get(dc, "maximumPercent"));
	svc->breaker_enable = json_is_true(json_object_get(json_object_get(dc,
				"deploymentCircuitBreaker"), "enable"));
	svc->breaker_rollback = json_is_true(json_object_get(json_object_get(dc,
				"deploymentCircuitBreaker"), "rollback"));
	svc->health_grace = (int)json_integer_value(json_object_get(o, "healthCheckGracePeriodSeconds"));
	svc->managed_tags = json_is_true(json_object_get(o, "enableECSManagedTags"));
	svc->created_at = json_number_value(json_object_get(o, "createdAt"));
	svc->start_failures = (int)json_integer_value(json_object_get(b, "startFailures"));
	svc->next_launch_at = json_number_value(json_object_get(b, "nextLaunchAt"));
	svc->steady = json_is_true(json_object_get(b, "steady"));
	svc->tags = json_incref(json_object_get(o, "tags"));
	if (!json_is_array(svc->tags)) {
		json_decref(svc->tags);
		svc->tags = json_array();
	}
	n = json_array_size(deps);
	for (size_t i = 0; i < n && i < SVC_MAX_DEPLOYMENTS; i++)
		load_deployment(&svc->deployments[svc->n_deployments++], json_array_get(deps, i));
	/* Events are stored newest first; the ring wants them oldest first. */
	for (size_t k = json_array_size(evs); k > 0 && svc->n_events < SVC_MAX_EVENTS; k--) {
		json_t *ev = json_array_get(evs, k - 1);
		struct svc_event *dst = &svc->events[svc->event_head];
		snprintf(dst->id, sizeof(dst->id), "%s", GETS(ev, "id"));
		snprintf(dst->message, sizeof(dst->message), "%s", GETS(ev, "message"));
		dst->created_at = json_number_value(json_object_get(ev, "createdAt"));
		svc->event_head = (svc->event_head + 1) % SVC_MAX_EVENTS;
		svc->n_events++;
	}
	svc->next = s->list;
	s->list = svc;
}

int svc_load(struct rt_services *s)
{
	struct dirent *cd;
	DIR *top;
	int ret = file_mkdir_p(s->dir, 0700);

	if (ret < 0)
		return ret;
	top = opendir(s->dir);
	if (!top)
		return -errno;
	while ((cd = readdir(top))) {
		char sub[1200];
		struct dirent *fd;
		DIR *d;
		if (cd->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", s->dir, cd->d_name);
		d = opendir(sub);
		while (d && (fd = readdir(d))) {
			char path[1500];
			size_t len = strlen(fd->d_name);
			json_error_t jerr;
			json_t *o;
			if (len < 6 || strcmp(fd->d_name + len - 5, ".json") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", sub, fd->d_name);
			o = json_load_file(path, 0, &jerr);
			if (!o) {
				char aside[1600];
				log_error("service: failed to parse %s: line %d: %s; kept as %s.corrupt",
					  path, jerr.line, jerr.text, path);
				snprintf(aside, sizeof(aside), "%s.corrupt", path);
				rename(path, aside);
				continue;
			}
			load_one(s, o, path);
			json_decref(o);
		}
		if (d)
			closedir(d);
	}
	closedir(top);
	return 0;
}

json_t *svc_tags_hook(struct runtime *rt, const char *arn)
{
	const char *p = strstr(arn, ":service/"), *slash;
	char cluster[256];
	struct rt_service *svc;

	if (!p || !rt->services || !(slash = strchr(p + 9, '/')))
		return NULL;
	snprintf(cluster, sizeof(cluster), "%.*s", (int)(slash - (p + 9)), p + 9);
	svc = svc_find(rt->services, cluster, slash + 1);
	return svc && strcmp(svc->status, "INACTIVE") ? svc->tags : NULL;
}

int svc_save_hook(struct runtime *rt, const char *arn)
{
	const char *p = strstr(arn, ":service/"), *slash;
	char cluster[256];
	struct rt_service *svc;

	if (!p || !rt->services || !(slash = strchr(p + 9, '/')))
		return 0;
	snprintf(cluster, sizeof(cluster), "%.*s", (int)(slash - (p + 9)), p + 9);
	svc = svc_find(rt->services, cluster, slash + 1);
	return svc ? svc_save(rt->services, svc) : 0;
}
