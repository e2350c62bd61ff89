/* SPDX-License-Identifier: MIT */
/* runtime.c: brings the runtime up (directories, cgroups, images, state) and down. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "runtime/runtime.h"
#include "runtime/spawn.h"
#include "runtime/taskdef.h"

#ifndef BERTH_LIBEXEC_DIR
#define BERTH_LIBEXEC_DIR "/usr/lib/berth"
#endif

static int make_dirs(struct runtime *rt)
{
	const char *sub[] = { "clusters", "taskdefs", "tasks" };
	char path[600];
	int ret;

	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", rt->state_dir, sub[i]);
		ret = file_mkdir_p(path, 0700);
		if (ret < 0) {
			log_error("runtime: failed to create %s: %s", path, strerror(-ret));
			return ret;
		}
	}
	ret = file_mkdir_p(rt->tasks_dir, 0711);
	if (ret == 0)
		ret = file_mkdir_p(rt->stage_dir, 0700);
	if (ret == 0)
		ret = file_mkdir_p(rt->log_dir, 0750);
	if (ret < 0)
		log_error("runtime: failed to create %s or %s: %s", rt->tasks_dir, rt->log_dir,
			  strerror(-ret));
	return ret;
}
/* berth-warm, the warm containers' program: beside berthd (the build tree, /usr/sbin), else in
 * BERTH_LIBEXEC_DIR. Without it warm containers stay forks of their supervisor, whose exec
 * costs a launch about 1 ms more. */
static void find_warm_program(void)
{
	char self[PATH_MAX], path[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/berth-warm", self);
			if (access(path, X_OK) == 0) {
				spawn_warm_set_program(path);
				return;
			}
		}
	}
	snprintf(path, sizeof(path), "%s/berth-warm", BERTH_LIBEXEC_DIR);
	if (access(path, X_OK) == 0) {
		spawn_warm_set_program(path);
		return;
	}
	log_info("runtime: no berth-warm beside berthd or in %s: warm containers are forks of "
		 "their supervisor", BERTH_LIBEXEC_DIR);
}


int rt_init(struct runtime *rt, const struct config *cfg, struct loop *loop)
{
	int ret;

	memset(rt, 0, sizeof(*rt));
	rt->cfg = cfg;
	rt->loop = loop;
	rt->inotify_fd = -1;
	snprintf(rt->state_dir, sizeof(rt->state_dir), "%s/state", cfg->data_dir);
	snprintf(rt->tasks_dir, sizeof(rt->tasks_dir), "%s/tasks", cfg->data_dir);
	snprintf(rt->stage_dir, sizeof(rt->stage_dir), "%s/.stage", rt->tasks_dir);
	snprintf(rt->images_dir, sizeof(rt->images_dir), "%s/images", cfg->data_dir);
	if (cfg->log_dir[0])
		snprintf(rt->log_dir, sizeof(rt->log_dir), "%s", cfg->log_dir);
	else
		snprintf(rt->log_dir, sizeof(rt->log_dir), "%s/log", cfg->data_dir);
	ret = make_dirs(rt);
	if (ret < 0)
		return ret;
	find_warm_program();
	/* First, while berthd's heap is small: supervisors forked from it pin little memory. */
	ret = spawn_zygote_start_pool(&rt->zygote, (int)cfg->launch_pool_size,
				      rt->stage_dir);
	if (ret < 0)
		log_warn("runtime: failed to start the task zygote: %s; supervisors fork from berthd",
			 strerror(-ret));
	ret = cgroup_env_detect(&rt->cg, cfg->cgroup_root);
	if (ret < 0) {
		log_error("runtime: failed to detect cgroups under %s: %s", cfg->cgroup_root,
			  strerror(-ret));
		return ret;
	}
	log_info("runtime: cgroup mode %s", cgroup_mode_name(rt->cg.mode));
	if (cfg->cgroup_favor_dynmods)
		cgroup_favor_dynmods(&rt->cg);
	ret = image_store_open(&rt->images, rt->images_dir);
	if (ret < 0) {
		log_error("runtime: failed to open image store %s: %s", rt->images_dir,
			  strerror(-ret));
		return ret;
	}
	rt->images_open = true;
	image_store_set_limits(&rt->images, (uint64_t)cfg->image_max_bytes, 0);
	ret = rt_state_load(rt);
	if (ret == 0)
		ret = rt_exec_init(rt);
	if (ret < 0) {
		rt_close(rt);
		return ret;
	}
	return 0;
}

static void free_families(struct runtime *rt)
{
	while (rt->families) {
		struct rt_family *f = rt->families;
		rt->families = f->next;
		for (int i = 0; i < f->n_revisions; i++)
			taskdef_free(f->revisions[i]);
		free(f->revisions);
		json_decref(f->revision_tags);
		json_decref(f->tags);
		free(f);
	}
}

void rt_close(struct runtime *rt)
{
	rt_exec_close(rt);
	rt_task_free_all(rt);
	free_families(rt);
	while (rt->clusters) {
		struct rt_cluster *c = rt->clusters;
		rt->clusters = c->next;
		json_decref(c->tags);
		json_decref(c->settings);
		json_decref(c->configuration);
		json_decref(c->capacity_providers);
		json_decref(c->default_strategy);
		free(c);
	}
	if (rt->images_open)
		image_store_close(&rt->images);
	rt->images_open = false;
}
