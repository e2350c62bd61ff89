/* SPDX-License-Identifier: MIT */
/* registry.c: task definition families and revisions - register, find, deregister, tags. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "runtime/runtime.h"
#include "runtime/taskdef.h"

const char *rt_taskdef_arn(const struct taskdef *td)
{
	return td->arn ? td->arn : "";
}

static struct rt_family *family_find(struct runtime *rt, const char *name)
{
	for (struct rt_family *f = rt->families; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static struct rt_family *family_get(struct runtime *rt, const char *name)
{
	struct rt_family *f = family_find(rt, name);

	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->revision_tags = json_object();
	f->next = rt->families;
	rt->families = f;
	return f;
}

/* Puts td at its revision slot; the family owns it afterwards. */
static int family_put(struct rt_family *f, struct taskdef *td)
{
	if (td->revision > f->n_revisions) {
		struct taskdef **nr = realloc(f->revisions, sizeof(*nr) * (size_t)td->revision);
		if (!nr)
			return -ENOMEM;
		for (int i = f->n_revisions; i < td->revision; i++)
			nr[i] = NULL;
		f->revisions = nr;
		f->n_revisions = td->revision;
	}
	taskdef_free(f->revisions[td->revision - 1]);
	f->revisions[td->revision - 1] = td;
	return 0;
}

json_t *rt_taskdef_tags(struct runtime *rt, const struct taskdef *td)
{
	struct rt_family *f = family_find(rt, td->family);
	char key[16];
	json_t *tags;

	if (!f)
		return NULL;
	snprintf(key, sizeof(key), "%d", td->revision);
	tags = json_object_get(f->revision_tags, key);
	if (!tags) {
		tags = json_array();
		json_object_set_new(f->revision_tags, key, tags);
	}
	return tags;
}

int rt_taskdef_register(struct runtime *rt, const json_t *request, struct taskdef **out,
			struct berr *e)
{
	struct taskdef_error terr = { { 0 }, { 0 } };
	struct taskdef *td = NULL;
	struct rt_family *f;
	json_t *tags;
	int ret;

	ret = taskdef_parse(request, &td, &terr);
	if (ret < 0)
		return berr_set(e, ret == -ENOMEM ? 500 : 400,
				terr.type[0] ? terr.type : "ClientException", "%s", terr.message);
	f = family_get(rt, td->family);
	if (!f || taskdef_assign(td, rt->cfg->region, rt->cfg->account_id, f->n_revisions + 1,
				 time_now()) < 0 || family_put(f, td) < 0) {
		taskdef_free(td);
		return berr_set(e, 500, "ServerException", "Out of memory.");
	}
	tags = json_object_get(request, "tags");
	if (json_is_array(tags))
		json_array_extend(rt_taskdef_tags(rt, td), tags);
	for (size_t i = 0; i < td->n_ignored; i++)
		log_info("runtime: task definition %s:%d: field %s is kept but not used by berth",
			 td->family, td->revision, td->ignored[i]);
	rt_state_save_taskdef(rt, td);
	log_info("runtime: registered task definition %s:%d", td->family, td->revision);
	*out = td;
	return 0;
}

struct taskdef *rt_taskdef_find(struct runtime *rt, const char *ref, struct berr *e)
{
	char family[256];
	const char *p, *colon;
	struct rt_family *f;
	long rev = 0;

	if (!ref || !*ref) {
		berr_set(e, 400, "ClientException", "TaskDefinition can not be blank.");
		return NULL;
	}
	p = ref;
	if (strncmp(ref, "arn:", 4) == 0) {
		p = strstr(ref, ":task-definition/");
		if (!p) {
			berr_set(e, 400, "ClientException", "Invalid revision number. Number: %s",
				 ref);
			return NULL;
		}
		p += strlen(":task-definition/");
	}
	colon = strchr(p, ':');
	snprintf(family, sizeof(family), "%.*s", colon ? (int)(colon - p) : (int)strlen(p), p);
	if (colon) {
		char *end;
		rev = strtol(colon + 1, &end, 10);
		if (*end || rev <= 0) {
			berr_set(e, 400, "ClientException", "Invalid revision number. Number: %s",
				 colon + 1);
			return NULL;
		}
	}
	f = family_find(rt, family);
	if (f && rev == 0) {
		for (int i = f->n_revisions; i > 0; i--) {
			struct taskdef *td = f->revisions[i - 1];
			if (td && td->status == TASKDEF_STATUS_ACTIVE)
				return td;
		}
	} else if (f && rev <= f->n_revisions && f->revisions[rev - 1]) {
		return f->revisions[rev - 1];
	}
	berr_set(e, 400, "ClientException", "Unable to describe task definition.");
	return NULL;
}

int rt_taskdef_deregister(struct runtime *rt, struct taskdef *td, struct berr *e)
{
	if (td->status != TASKDEF_STATUS_ACTIVE)
		return berr_set(e, 400, "ClientException",
				"The specified task definition is already inactive.");
	if (taskdef_set_status(td, "INACTIVE", time_now()) < 0)
		return berr_set(e, 500, "ServerException", "Out of memory.");
	rt_state_save_taskdef(rt, td);
	log_info("runtime: deregistered task definition %s:%d", td->family, td->revision);
	return 0;
}

void rt_registry_load(struct runtime *rt, json_t *o, const char *path)
{
	struct taskdef_error terr = { { 0 }, { 0 } };
	json_t *doc = json_object_get(o, "taskDefinition"), *tags = json_object_get(o, "tags");
	struct taskdef *td = NULL;
	struct rt_family *f;

	if (taskdef_from_json(doc, &td, &terr) < 0) {
		log_error("state: failed to load task definition %s: %s", path, terr.message);
		return;
	}
	f = family_get(rt, td->family);
	if (!f || td->revision <= 0 || family_put(f, td) < 0) {
		log_error("state: failed to load task definition %s: bad revision", path);
		taskdef_free(td);
		return;
	}
	if (json_is_array(tags))
		json_array_extend(rt_taskdef_tags(rt, td), tags);
}
