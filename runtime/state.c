/* SPDX-License-Identifier: MIT */
/* state.c: the model on disk - one durable JSON file per cluster, task definition and task. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "runtime/runtime.h"
#include "runtime/taskdef.h"

#define STATE_FILE_MAX (16u << 20)

static int save_json(const char *path, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	int ret;

	if (!s)
		return -ENOMEM;
	ret = file_write_durable(path, s, strlen(s), 0600);
	free(s);
	if (ret < 0)
		log_error("state: failed to write %s: %s", path, strerror(-ret));
	return ret;
}

int rt_state_save_cluster(struct runtime *rt, const struct rt_cluster *c)
{
	char path[1024];
	json_t *o;
	int ret;

	snprintf(path, sizeof(path), "%s/clusters/%s.json", rt->state_dir, c->name);
	o = json_pack("{s:s, s:s, s:f, s:O, s:O}", "clusterName", c->name, "status", c->status,
		      "createdAt", c->created_at, "tags", c->tags, "settings", c->settings);
	if (!o)
		return -ENOMEM;
	if (c->configuration)
		json_object_set(o, "configuration", c->configuration);
	if (c->capacity_providers)
		json_object_set(o, "capacityProviders", c->capacity_providers);
	if (c->default_strategy)
		json_object_set(o, "defaultCapacityProviderStrategy", c->default_strategy);
	ret = save_json(path, o);
	json_decref(o);
	return ret;
}

int rt_state_save_taskdef(struct runtime *rt, const struct taskdef *td)
{
	char path[1024];
	json_t *o;
	int ret;

	snprintf(path, sizeof(path), "%s/taskdefs/%s:%d.json", rt->state_dir, td->family,
		 td->revision);
	o = json_pack("{s:O, s:O}", "taskDefinition", taskdef_json(td), "tags",
		      rt_taskdef_tags(rt, td));
	if (!o)
		return -ENOMEM;
	ret = save_json(path, o);
	json_decref(o);
	return ret;
}

int rt_state_save_task(struct runtime *rt, const struct rt_task *t)
{
	char path[1024];
	json_t *o;
	int ret;

	snprintf(path, sizeof(path), "%s/tasks/%s.json", rt->state_dir, t->id);
	o = rt_task_json(rt, t, true);
	if (!o)
		return -ENOMEM;
	json_object_set_new(o, "berth", json_pack("{s:i, s:I, s:b}", "initPid", (int)t->init_pid,
						  "initStart", (json_int_t)t->init_start,
						  "oomKilled", t->oom_killed));
	ret = save_json(path, o);
	json_decref(o);
	return ret;
}

int rt_state_remove_task(struct runtime *rt, const struct rt_task *t)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/tasks/%s.json", rt->state_dir, t->id);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Calls fn for every parsed *.json file in dir; unparsable files are reported and skipped
 * (renamed aside so they are kept for inspection and never silently lost). */
static void load_dir(struct runtime *rt, const char *dir,
		     void (*fn)(struct runtime *, json_t *, const char *))
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		char path[1024];
		json_error_t jerr;
		json_t *o;

		if (len < 6 || strcmp(name + len - 5, ".json") != 0) {
			free(names[i]);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		o = json_load_file(path, 0, &jerr);
		if (!o || !json_is_object(o)) {
			char aside[1100];
			log_error("state: failed to parse %s: line %d: %s; kept as %s.corrupt", path,
				  jerr.line, o ? "not an object" : jerr.text, path);
			snprintf(aside, sizeof(aside), "%s.corrupt", path);
			rename(path, aside);
		} else {
			fn(rt, o, path);
		}
		json_decref(o);
		free(names[i]);
	}
	free(names);
}

static void load_cluster(struct runtime *rt, json_t *o, const char *path)
{
	struct rt_cluster *c;
	const char *name = json_string_value(json_object_get(o, "clusterName"));
	const char *status = json_string_value(json_object_get(o, "status"));

	if (!name || !name_is_valid(name, 255) || !status) {
		log_error("state: failed to load %s: clusterName or status missing", path);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->arn, sizeof(c->arn), "arn:aws:ecs:%s:%s:cluster/%s", rt->cfg->region,
		 rt->cfg->account_id, name);
	snprintf(c->status, sizeof(c->status), "%s", status);
	c->created_at = json_number_value(json_object_get(o, "createdAt"));
	c->tags = json_incref(json_object_get(o, "tags"));
	if (!json_is_array(c->tags)) {
		json_decref(c->tags);
		c->tags = json_array();
	}
	c->settings = json_incref(json_object_get(o, "settings"));
	if (!c->settings)
		c->settings = json_array();
	c->configuration = json_incref(json_object_get(o, "configuration"));
	{
		/* Associations as saved; what no longer validates is dropped, with a word. */
		json_t *list = json_object_get(o, "capacityProviders");
		json_t *strategy = json_object_get(o, "defaultCapacityProviderStrategy");
		struct berr ce;
		if (list && rt_capacity_set(NULL, c, list, strategy, &ce) < 0) {
			log_warn("state: cluster %s: capacity providers ignored: %s", name,
				 ce.message);
			json_decref(c->capacity_providers);
			json_decref(c->default_strategy);
			c->capacity_providers = c->default_strategy = NULL;
		}
	}
	c->next = rt->clusters;
	rt->clusters = c;
}

int rt_state_load(struct runtime *rt)
{
	char dir[1024];

	snprintf(dir, sizeof(dir), "%s/clusters", rt->state_dir);
	load_dir(rt, dir, load_cluster);
	snprintf(dir, sizeof(dir), "%s/taskdefs", rt->state_dir);
	load_dir(rt, dir, rt_registry_load);
	snprintf(dir, sizeof(dir), "%s/tasks", rt->state_dir);
	load_dir(rt, dir, rt_task_load);
	return 0;
}
