/* SPDX-License-Identifier: MIT */
/* executor.c: turns a task into cgroups, directories and a spawned process tree, and follows it. */
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/pidfd.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "runtime/checks.h"
#include "runtime/runtime.h"
#include "runtime/spawn.h"
#include "runtime/taskdef.h"

#define OOM_REASON "OutOfMemoryError: Container killed due to memory usage"
#define WEIGHT_LEVELS 16
/* The CPU weight of a launching task's cgroup and of those above it, in multiples of the
 * kernel's default, until its containers have exec'd: as the 10 nice levels of the launch's
 * processes, but at the level where a container's process competes once in its cgroups. */
#define LAUNCH_WEIGHT_FACTOR 10

static long long clock_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long mono_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

static void task_rel(const struct runtime *rt, const struct rt_task *t, const char *sub,
		     char *out, size_t len)
{
	if (sub)
		snprintf(out, len, "%s/%s/%s/%s", rt->cfg->cgroup_parent, t->cluster, t->id, sub);
	else
		snprintf(out, len, "%s/%s/%s", rt->cfg->cgroup_parent, t->cluster, t->id);
}

static void run_dir(const struct runtime *rt, const struct rt_task *t, char *out, size_t len)
{
	snprintf(out, len, "%s/%s/run", rt->tasks_dir, t->id);
}

/* Tells the cgroup hook (the eBPF probes) that t's cgroups are made or about to go. */
static void cgroups_told(struct runtime *rt, struct rt_task *t, bool up)
{
	char rel[CGROUP_PATH_MAX];

	if (!rt->cgroup_hook)
		return;
	task_rel(rt, t, NULL, rel, sizeof(rel));
	rt->cgroup_hook(rt, t, rel, up);
}

/* Ends a task that could not start: every container gets the reason. */
static void fail_start(struct runtime *rt, struct rt_task *t, const char *reason)
{
	char rel[CGROUP_PATH_MAX], dir[700];

	log_warn("runtime: task %s failed to start: %s", t->id, reason);
	for (size_t i = 0; i < t->n_containers; i++)
		if (!t->containers[i].reason[0])
			snprintf(t->containers[i].reason, sizeof(t->containers[i].reason), "%s",
				 reason);
	snprintf(t->stop_code, sizeof(t->stop_code), "TaskFailedToStart");
	snprintf(t->stopped_reason, sizeof(t->stopped_reason), "%s", reason);
	cgroups_told(rt, t, false);
	task_rel(rt, t, NULL, rel, sizeof(rel));
	cgroup_kill(&rt->cg, rel);
	cgroup_remove(&rt->cg, rel);
	snprintf(dir, sizeof(dir), "%s/%s", rt->tasks_dir, t->id);
	file_remove_tree(dir);
	rt_task_finish(rt, t);
}

/* The run, log and overlay directories; those a spare tree brought are there already. */
static int make_task_dirs(struct runtime *rt, struct rt_task *t, const char *image_root,
			  uint64_t *warm_key)
{
	bool spared = rt_spare_take(rt, t, image_root,
				    t->td->network_mode == TASKDEF_NETWORK_HOST, warm_key) == 0;
	char p[1024];
	int ret = 0;

	if (!spared) {
		run_dir(rt, t, p, sizeof(p));
		ret = file_mkdir_p(p, 0700);
		snprintf(p, sizeof(p), "%s/%s/%s", rt->log_dir, t->cluster, t->id);
		if (ret == 0)
			ret = file_mkdir_p(p, 0750);
	}
	for (size_t i = spared ? 1 : 0; ret == 0 && i < t->n_containers; i++) {
		static const char *const sub[] = { "upper", "work", "merged" };
		for (size_t k = 0; ret == 0 && k < 3; k++) {
			snprintf(p, sizeof(p), "%s/%s/c/%s/%s", rt->tasks_dir, t->id,
				 t->containers[i].name, sub[k]);
			ret = file_mkdir_p(p, 0755);
		}
	}
	return ret;
}

/* A container's limits: its cpu as a weight, memory hard, memoryReservation soft. */
static struct cgroup_limits container_limits(const struct taskdef_container_spec *spec)
{
	struct cgroup_limits lim = { 0 };

	lim.cpu_weight_units = spec->cpu > 2 ? (uint64_t)spec->cpu : 2;
	lim.memory_max_bytes = (uint64_t)spec->memory << 20;
	lim.memory_low_bytes = (uint64_t)spec->memory_reservation << 20;
	return lim;
}

/* The limits of cgroups made ahead (runtime/cgpool.c); -errno when they are not all there. */
static int limit_cgroups(struct runtime *rt, struct rt_task *t, int cpu, int mem,
			 struct taskdef_container_spec **specs)
{
	struct cgroup_limits lim = { 0 };
	char rel[CGROUP_PATH_MAX];
	int ret;

	lim.cpu_max_units = (uint64_t)cpu;
	lim.memory_max_bytes = (uint64_t)mem << 20;
	task_rel(rt, t, NULL, rel, sizeof(rel));
	ret = cgroup_set_limits(&rt->cg, rel, &lim);
	for (size_t i = 0; ret == 0 && i < t->n_containers; i++) {
		lim = container_limits(specs[i]);
		task_rel(rt, t, t->containers[i].name, rel, sizeof(rel));
		ret = cgroup_set_limits(&rt->cg, rel, &lim);
	}
	return ret;
}

static int make_cgroups(struct runtime *rt, struct rt_task *t, int cpu, int mem,
			struct taskdef_container_spec **specs)
{
	struct cgroup_limits lim = { 0 };
	char rel[CGROUP_PATH_MAX];
	int ret;

	if (t->cgroups_ahead) {
		if (limit_cgroups(rt, t, cpu, mem, specs) == 0) {
			cgroups_told(rt, t, true);
			return 0;
		}
		/* Gone or changed behind berthd's back: made again, as at any launch. */
		log_warn("runtime: task %s: its cgroups made ahead are not usable; making them",
			 t->id);
		t->cgroups_ahead = false;
		task_rel(rt, t, NULL, rel, sizeof(rel));
		cgroup_remove(&rt->cg, rel);
	}

	lim.cpu_max_units = (uint64_t)cpu;
	lim.memory_max_bytes = (uint64_t)mem << 20;
	lim.pids_max = RT_TASK_PIDS_MAX;
	task_rel(rt, t, NULL, rel, sizeof(rel));
	ret = cgroup_create(&rt->cg, rel, &lim);
	if (ret < 0)
		return ret;
	/* runc's device allow-list, before any child exists (v1 refuses "a" after). */
	ret = cgroup_restrict_devices(&rt->cg, rel);
	if (ret < 0)
		return ret;
	memset(&lim, 0, sizeof(lim));
	task_rel(rt, t, RT_INIT_CGROUP, rel, sizeof(rel));
	ret = cgroup_create(&rt->cg, rel, &lim);
	for (size_t i = 0; ret == 0 && i < t->n_containers; i++) {
		lim = container_limits(specs[i]);
		task_rel(rt, t, t->containers[i].name, rel, sizeof(rel));
		ret = cgroup_create(&rt->cg, rel, &lim);
	}
	if (ret == 0)
		cgroups_told(rt, t, true);
	return ret;
}

/* Everything spawn needs for one task; freed by launch_free. */
struct launch {
	struct task_overrides *ov;
	struct taskdef_container_spec **specs;
	struct spawn_container *sc;
	struct image_info *images;
	char **argv_mem;      /* per container: NULL-terminated argv (strings borrowed) */
	char **env_mem;       /* per container: NULL-terminated "K=V" (strings owned) */
	struct spawn_ulimit **ulimits;
	struct spawn_dependency **deps;
	char ***cg_procs;
	char **init_procs;
	char (*paths)[4][1024];
	size_t n;
	char weight_files[WEIGHT_LEVELS][1024]; /* boosted for the launch */
	char *weight_list[WEIGHT_LEVELS + 1];
	char weight_normal[24];
	uint64_t warm_key;    /* its first container's root was made ahead (rt_spare_take) */
};

/* Boosts the CPU weight of the task cgroup and of each cgroup above it (those at the kernel's
 * default) for the launch; the supervisor restores them once the containers have exec'd.
 * Best effort: a weight that cannot be boosted is left as it is. */
static void weights_boost(struct runtime *rt, struct rt_task *t, struct launch *l)
{
	char rel[CGROUP_PATH_MAX];
	size_t n = 0;

	task_rel(rt, t, NULL, rel, sizeof(rel));
	for (char *p = rel + strlen(rel); n < WEIGHT_LEVELS && p > rel;) {
		if (cgroup_weight_boost(&rt->cg, rel, LAUNCH_WEIGHT_FACTOR, l->weight_files[n],
					sizeof(l->weight_files[n]), l->weight_normal,
					sizeof(l->weight_normal)) == 0) {
			l->weight_list[n] = l->weight_files[n];
			n++;
		}
		p = strrchr(rel, '/');
		if (!p)
			break;
		*p = '\0';
	}
	l->weight_list[n] = NULL;
}

/* The fail path's undo of weights_boost(), when no supervisor will do it. */
static void weights_restore(struct launch *l)
{
	for (size_t i = 0; l->weight_list[i]; i++) {
		FILE *f = fopen(l->weight_list[i], "we");

		if (f) {
			fputs(l->weight_normal, f);
			fclose(f);
		}
	}
	l->weight_list[0] = NULL;
}

static void launch_free(struct launch *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->specs)
			taskdef_container_spec_free(l->specs[i]);
		if (l->env_mem && l->env_mem[i]) {
			char **env = (char **)l->env_mem[i];
			for (size_t k = 0; env[k]; k++)
				free(env[k]);
			free(env);
		}
		if (l->argv_mem)
			free(l->argv_mem[i]);
		if (l->ulimits)
			free(l->ulimits[i]);
		if (l->deps)
			free(l->deps[i]);
		if (l->cg_procs)
			cgroup_strv_free(l->cg_procs[i]);
	}
	cgroup_strv_free(l->init_procs);
	taskdef_overrides_free(l->ov);
	free(l->specs);
	free(l->sc);
	free(l->images);
	free(l->argv_mem);
	free(l->env_mem);
	free(l->ulimits);
	free(l->deps);
	free(l->cg_procs);
	free(l->paths);
}

static int build_argv(struct launch *l, size_t i, char *reason, size_t rlen)
{
	const struct taskdef_container *d = l->specs[i]->def;
	size_t n = d->n_entry_point + l->specs[i]->n_command, k = 0;
	char **argv;

	if (n == 0) {
		snprintf(reason, rlen, "CannotStartContainerError: container %s has no entryPoint "
			 "or command, and berth images carry no default command", d->name);
		return -EINVAL;
	}
	argv = calloc(n + 1, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	for (size_t j = 0; j < d->n_entry_point; j++)
		argv[k++] = (char *)d->entry_point[j];
	for (size_t j = 0; j < l->specs[i]->n_command; j++)
		argv[k++] = (char *)l->specs[i]->command[j];
	l->argv_mem[i] = (char *)argv;
	return 0;
}

static int build_env(struct launch *l, size_t i)
{
	const struct taskdef_container_spec *s = l->specs[i];
	char **env = calloc(s->n_environment + 1, sizeof(*env));

	if (!env)
		return -ENOMEM;
	l->env_mem[i] = (char *)env;
	for (size_t k = 0; k < s->n_environment; k++)
		if (asprintf(&env[k], "%s=%s", s->environment[k].name,
			     s->environment[k].value ? s->environment[k].value : "") < 0)
			return -ENOMEM;
	return 0;
}

static int build_container(struct runtime *rt, struct rt_task *t, struct launch *l, size_t i,
			   char *reason, size_t rlen)
{
	const struct taskdef_container *d = l->specs[i]->def;
	struct spawn_container *sc = &l->sc[i];
	char rel[CGROUP_PATH_MAX];
	int ret;

	ret = image_resolve(&rt->images, d->image, &l->images[i]);
	if (ret < 0) {
		char msg[400];
		image_describe_error(ret, d->image, msg, sizeof(msg));
		snprintf(reason, rlen, "CannotPullContainerError: %s", msg);
		return ret;
	}
	snprintf(t->containers[i].image_digest, sizeof(t->containers[i].image_digest), "%s",
		 l->images[i].digest);
	if ((ret = build_argv(l, i, reason, rlen)) < 0 || (ret = build_env(l, i)) < 0)
		return ret;
	l->ulimits[i] = calloc(d->n_ulimits + 1, sizeof(**l->ulimits));
	if (!l->ulimits[i])
		return -ENOMEM;
	for (size_t k = 0; k < d->n_ulimits; k++) {
		l->ulimits[i][k].name = d->ulimits[k].name;
		l->ulimits[i][k].soft = (rlim_t)d->ulimits[k].soft;
		l->ulimits[i][k].hard = (rlim_t)d->ulimits[k].hard;
	}
	l->deps[i] = calloc(d->n_depends_on + 1, sizeof(**l->deps));
	if (!l->deps[i])
		return -ENOMEM;
	for (size_t k = 0; k < d->n_depends_on; k++) {
		static const enum spawn_condition cond[] = {
			[TASKDEF_COND_START] = SPAWN_COND_START,
			[TASKDEF_COND_COMPLETE] = SPAWN_COND_COMPLETE,
			[TASKDEF_COND_SUCCESS] = SPAWN_COND_SUCCESS,
			[TASKDEF_COND_HEALTHY] = SPAWN_COND_HEALTHY,
		};
		l->deps[i][k].index = d->depends_on[k].index;
		l->deps[i][k].condition = cond[d->depends_on[k].condition];
	}
	task_rel(rt, t, d->name, rel, sizeof(rel));
	ret = cgroup_procs_paths(&rt->cg, rel, &l->cg_procs[i]);
	if (ret < 0)
		return ret;
	snprintf(l->paths[i][0], 1024, "%s/%s/c/%s/upper", rt->tasks_dir, t->id, d->name);
	snprintf(l->paths[i][1], 1024, "%s/%s/c/%s/work", rt->tasks_dir, t->id, d->name);
	snprintf(l->paths[i][2], 1024, "%s/%s/c/%s/merged", rt->tasks_dir, t->id, d->name);
	rt_task_log_path(rt, t, d->name, l->paths[i][3], 1024);
	*sc = (struct spawn_container){
		.name = d->name, .rootfs = l->images[i].rootfs, .upper_dir = l->paths[i][0],
		.work_dir = l->paths[i][1], .merged_dir = l->paths[i][2],
		.argv = (char *const *)l->argv_mem[i], .envp = (char *const *)l->env_mem[i],
		.cwd = d->working_directory, .user = d->user,
		.readonly_rootfs = d->readonly_root_filesystem, .ulimits = l->ulimits[i],
		.n_ulimits = d->n_ulimits, .cgroup_procs = l->cg_procs[i],
		.log_path = l->paths[i][3], .stop_timeout = d->stop_timeout,
		.depends_on = l->deps[i], .n_depends_on = d->n_depends_on,
		.restart_enabled = d->has_restart_policy && d->restart.enabled,
		.ignored_exit_codes = d->restart.ignored_exit_codes,
		.n_ignored_exit_codes = d->restart.n_ignored_exit_codes,
		.restart_attempt_ms = (long long)d->restart.restart_attempt_period * 1000,
	};
	return 0;
}

static int launch_prepare(struct runtime *rt, struct rt_task *t, struct launch *l, char *reason,
			  size_t rlen)
{
	struct taskdef_error terr;
	size_t n = t->n_containers;
	int ret, cpu = 0, mem = 0;

	if (!t->td) {
		snprintf(reason, rlen, "TaskFailedToStart: task definition %s is gone",
			 t->taskdef_arn);
		return -ENOENT;
	}
	if (taskdef_parse_overrides(t->overrides, t->td, &l->ov, &terr) < 0) {
		snprintf(reason, rlen, "TaskFailedToStart: %s", terr.message);
		return -EINVAL;
	}
	l->n = n;
	l->specs = calloc(n, sizeof(*l->specs));
	l->sc = calloc(n, sizeof(*l->sc));
	l->images = calloc(n, sizeof(*l->images));
	l->argv_mem = calloc(n, sizeof(*l->argv_mem));
	l->env_mem = calloc(n, sizeof(*l->env_mem));
	l->ulimits = calloc(n, sizeof(*l->ulimits));
	l->deps = calloc(n, sizeof(*l->deps));
	l->cg_procs = calloc(n, sizeof(*l->cg_procs));
	l->paths = calloc(n, sizeof(*l->paths));
	if (!l->specs || !l->sc || !l->images || !l->argv_mem || !l->env_mem || !l->ulimits || !l->deps ||
	    !l->cg_procs || !l->paths)
		goto nomem;
	for (size_t i = 0; i < n; i++)
		if (taskdef_resolve_container(t->td, l->ov, i, &l->specs[i]) < 0)
			goto nomem;
	for (size_t i = 0; i < n; i++) {
		ret = build_container(rt, t, l, i, reason, rlen);
		if (ret < 0 && reason[0])
			return ret;
		if (ret < 0)
			goto nomem;
	}
	taskdef_resolve_size(t->td, l->ov, &cpu, &mem);
	ret = make_task_dirs(rt, t, l->images[0].rootfs, &l->warm_key);
	if (ret == 0)
		ret = make_cgroups(rt, t, cpu, mem, l->specs);
	if (ret == 0)
		weights_boost(rt, t, l);
	if (ret < 0) {
		snprintf(reason, rlen, "TaskFailedToStart: cannot set up the task's cgroups or "
			 "directories: %s", strerror(-ret));
		return ret;
	}
	return 0;
nomem:
	snprintf(reason, rlen, "TaskFailedToStart: out of memory");
	return -ENOMEM;
}

static int watch_task(struct runtime *rt, struct rt_task *t)
{
	char dir[700];

	run_dir(rt, t, dir, sizeof(dir));
	t->watch = inotify_add_watch(rt->inotify_fd, dir, IN_MOVED_TO | IN_CLOSE_WRITE);
	if (t->watch < 0) {
		log_error("runtime: failed to watch %s: %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

static void on_pid_exit(struct loop_io *io, uint32_t events);

/* Follows the supervisor's exit through a pidfd on the loop, so that the tick need not look
 * at every task. Best effort: without one the tick checks liveness. */
static void watch_pid(struct runtime *rt, struct rt_task *t)
{
	int fd;

	if (t->pid_watched || !t->init_pid || !rt->loop)
		return;
	fd = pidfd_open(t->init_pid, 0);
	if (fd < 0)
		return;
	if (!spawn_init_alive(t->init_pid, t->init_start) ||
	    loop_io_start(rt->loop, &t->pid_io, fd, EPOLLIN, on_pid_exit, rt) < 0) {
		close(fd);
		return;
	}
	t->pid_watched = true;
}

static void unwatch_pid(struct rt_task *t)
{
	if (!t->pid_watched)
		return;
	loop_io_stop(&t->pid_io);
	close(t->pid_io.fd);
	t->pid_watched = false;
}

/* Through the zygote (a small early fork, so supervisors do not pin berthd's memory), which is
 * restarted once if it died; without one, straight from berthd. */
static int start_supervisor(struct runtime *rt, const struct spawn_task *st,
			    struct spawn_result *res)
{
	int ret;

	if (!rt->zygote) {
		spawn_launch_unboost(); /* before the fork */
		return spawn_task_start(st, res);
	}
	ret = spawn_zygote_task_start(rt->zygote, st, res);
	if (ret != -EPIPE)
		return ret;
	spawn_launch_unboost(); /* before the zygote's fork */
	log_warn("runtime: task zygote is gone; starting a new one");
	spawn_zygote_free(rt->zygote);
	rt->zygote = NULL;
	if (spawn_zygote_start_pool(&rt->zygote, (int)rt->cfg->launch_pool_size,
				    rt->stage_dir) < 0)
		return spawn_task_start(st, res);
	return spawn_zygote_task_start(rt->zygote, st, res);
}

/* berthd's own part of a launch (directories, 24 cgroups on a hybrid host, limits, device
 * program, the hand-over) runs at the launch's priority, as the zygote and the supervisors
 * do: on a busy host it otherwise waits for a CPU behind the host's other work. Never across a
 * fork: a zygote or supervisor forked from berthd takes berthd's own nice value as its base. */
void rt_exec_start(struct runtime *rt, struct rt_task *t)
{
	struct launch l = { 0 };
	struct spawn_result res = { 0 };
	char reason[512] = "", rel[CGROUP_PATH_MAX], dir[700];
	struct spawn_task st;
	long long t1, t2, c0 = clock_us(CLOCK_THREAD_CPUTIME_ID), c1, c2;
	int ret;

	t->launch_us = mono_us();
	spawn_launch_boost();
	rt_task_set_status(rt, t, "PENDING");
	ret = launch_prepare(rt, t, &l, reason, sizeof(reason));
	if (ret < 0)
		goto fail;
	t1 = mono_us();
	c1 = clock_us(CLOCK_THREAD_CPUTIME_ID);
	task_rel(rt, t, RT_INIT_CGROUP, rel, sizeof(rel));
	ret = cgroup_procs_paths(&rt->cg, rel, &l.init_procs);
	if (ret < 0) {
		snprintf(reason, sizeof(reason), "TaskFailedToStart: %s", strerror(-ret));
		goto fail;
	}
	run_dir(rt, t, dir, sizeof(dir));
	st = (struct spawn_task){
		.task_id = t->id, .hostname = NULL, .host_network = false, .run_dir = dir,
		.init_cgroup_procs = l.init_procs, .containers = l.sc, .n_containers = l.n,
		.log_max_bytes = (size_t)rt->cfg->task_log_max_bytes,
		.log_max_files = (int)rt->cfg->task_log_max_files,
		.asked_mono_us = t->launch_us,
		.cpu_weight_files = l.weight_list[0] ? l.weight_list : NULL,
		.cpu_weight_normal = l.weight_normal, .warm_key = l.warm_key,
	};
	/* ECS names a task's host by its short id; host mode keeps the host's name and net. */
	char host[16];
	snprintf(host, sizeof(host), "%.12s", t->id);
	if (t->td->network_mode == TASKDEF_NETWORK_HOST)
		st.host_network = true;
	else
		st.hostname = host;
	if (watch_task(rt, t) < 0 || (ret = start_supervisor(rt, &st, &res)) < 0) {
		snprintf(reason, sizeof(reason), "TaskFailedToStart: cannot start the task: %s",
			 strerror(-ret));
		goto fail;
	}
	spawn_launch_unboost();
	t->init_pid = res.init_pid;
	t->init_start = res.init_starttime;
	watch_pid(rt, t);
	t2 = mono_us();
	c2 = clock_us(CLOCK_THREAD_CPUTIME_ID);
	rt_state_save_task(rt, t);
	log_debug("runtime: task %s launch (ms after the request): directories and cgroups +%.2f "
		  "(cpu %.2f); handed to its supervisor +%.2f (cpu %.2f); state saved +%.2f (cpu "
		  "%.2f)", t->id, (double)(t1 - t->launch_us) / 1000, (double)(c1 - c0) / 1000,
		  (double)(t2 - t->launch_us) / 1000, (double)(c2 - c1) / 1000,
		  (double)(mono_us() - t->launch_us) / 1000,
		  (double)(clock_us(CLOCK_THREAD_CPUTIME_ID) - c2) / 1000);
	launch_free(&l);
	rt_spare_kick(rt);
	return;
fail:
	spawn_launch_unboost();
	weights_restore(&l);
	launch_free(&l);
	if (t->watch >= 0)
		inotify_rm_watch(rt->inotify_fd, t->watch);
	t->watch = -1;
	fail_start(rt, t, reason);
	rt_spare_kick(rt);
}

int rt_exec_stop(struct runtime *rt, struct rt_task *t)
{
	if (t->init_pid && spawn_task_stop(t->init_pid, t->init_start) == 0) {
		rt_task_set_status(rt, t, "STOPPING");
		return 0;
	}
	/* Nothing runs: the status files or the cgroup tell the rest. */
	rt_exec_poll(rt, t);
	if (strcmp(t->last_status, "STOPPED") != 0) {
		char rel[CGROUP_PATH_MAX];
		task_rel(rt, t, NULL, rel, sizeof(rel));
		cgroup_kill(&rt->cg, rel);
		rt_exec_poll(rt, t);
	}
	return 0;
}

/* Applies one container's status file to the model; returns true when it changed. */
static bool apply_container(struct runtime *rt, struct rt_task *t, size_t i, const char *dir)
{
	struct rt_container *ct = &t->containers[i];
	struct spawn_status st;
	char rel[CGROUP_PATH_MAX];
	uint64_t ooms = 0;

	if (spawn_read_status(dir, ct->name, &st) < 0 || st.state == SPAWN_STATE_PENDING)
		return false;
	if (st.state == SPAWN_STATE_RUNNING && st.pid && ct->pid && st.pid != ct->pid) {
		/* restartPolicy restarted it in place: a new process, health from scratch. */
		rt_checks_stop(rt, t, i);
		ct->pid = st.pid;
		ct->restart_count = st.restart_count;
		snprintf(ct->health_status, sizeof(ct->health_status), "UNKNOWN");
		rt_checks_start(rt, t, i, &st);
		return true;
	}
	if (st.pid && !ct->pid) {
		ct->pid = st.pid;
		snprintf(ct->runtime_id, sizeof(ct->runtime_id), "%s-%s", t->id, ct->name);
	}
	if (st.state == SPAWN_STATE_RUNNING) {
		if (strcmp(ct->last_status, "PENDING") != 0) {
			rt_checks_start(rt, t, i, &st);   /* re-adopted: no-op when already checking */
			return false;
		}
		snprintf(ct->last_status, sizeof(ct->last_status), "RUNNING");
		if (st.started_us && (double)st.started_us / 1e6 > t->exec_at)
			t->exec_at = (double)st.started_us / 1e6;
		rt_checks_start(rt, t, i, &st);
		return true;
	}
	if (strcmp(ct->last_status, "STOPPED") == 0)
		return false;
	rt_checks_stop(rt, t, i);
	ct->restart_count = st.restart_count;
	snprintf(ct->last_status, sizeof(ct->last_status), "STOPPED");
	if (st.error[0]) {
		snprintf(ct->reason, sizeof(ct->reason), "%s: %s", st.error, st.message);
		return true;
	}
	ct->has_exit_code = true;
	ct->exit_code = st.exit_code;
	task_rel(rt, t, ct->name, rel, sizeof(rel));
	if (st.signal == SIGKILL &&
	    (ct->oom_seen || (cgroup_oom_kills(&rt->cg, rel, &ooms) == 0 && ooms > 0))) {
		snprintf(ct->reason, sizeof(ct->reason), OOM_REASON);
		t->oom_killed = true;
	}
	return true;
}

/* After an essential container ends, the task stops with the reason AWS gives. */
static void essential_exited(struct runtime *rt, struct rt_task *t, struct rt_container *ct)
{
	if (!strcmp(t->desired_status, "STOPPED"))
		return;
	if (!ct->has_exit_code)
		rt_task_stop(rt, t, "TaskFailedToStart", ct->reason);
	else if (!strcmp(ct->reason, OOM_REASON))
		rt_task_stop(rt, t, "EssentialContainerExited", OOM_REASON);
	else
		rt_task_stop(rt, t, "EssentialContainerExited", "Essential container in task exited");
}

static void cleanup(struct runtime *rt, struct rt_task *t)
{
	char rel[CGROUP_PATH_MAX], dir[700];

	rt_task_set_status(rt, t, "DEPROVISIONING");
	rt_checks_stop(rt, t, SIZE_MAX);
	unwatch_pid(t);
	if (t->watch >= 0)
		inotify_rm_watch(rt->inotify_fd, t->watch);
	t->watch = -1;
	cgroups_told(rt, t, false);
	task_rel(rt, t, NULL, rel, sizeof(rel));
	cgroup_kill(&rt->cg, rel);
	/* The supervisor writes task.done just before it exits: its cgroup may still be busy
	 * for a moment, so removal is retried on the tick. */
	if (t->init_pid && spawn_init_alive(t->init_pid, t->init_start))
		t->cgroup_left = true;
	else
		t->cgroup_left = cgroup_remove(&rt->cg, rel) < 0;
	snprintf(dir, sizeof(dir), "%s/%s", rt->tasks_dir, t->id);
	file_remove_tree(dir);
	t->init_pid = 0;
	rt_task_finish(rt, t);
}

void rt_exec_poll(struct runtime *rt, struct rt_task *t)
{
	struct spawn_status done;
	bool changed = false, all_running = true;
	char dir[700];

	if (!strcmp(t->last_status, "STOPPED"))
		return;
	run_dir(rt, t, dir, sizeof(dir));
	for (size_t i = 0; i < t->n_containers; i++) {
		struct rt_container *ct = &t->containers[i];
		if (apply_container(rt, t, i, dir)) {
			changed = true;
			if (!strcmp(ct->last_status, "STOPPED") && ct->essential)
				essential_exited(rt, t, ct);
		}
		/* RUNNING once nothing waits to start: a finished init container counts. */
		all_running &= strcmp(ct->last_status, "PENDING") != 0;
	}
	if (spawn_read_status(dir, NULL, &done) == 0 && done.state == SPAWN_STATE_EXITED) {
		if (done.error[0] && !t->stop_code[0]) {
			snprintf(t->stop_code, sizeof(t->stop_code), "TaskFailedToStart");
			snprintf(t->stopped_reason, sizeof(t->stopped_reason), "%s: %s", done.error,
				 done.message);
		}
		cleanup(rt, t);
		return;
	}
	if (t->init_pid && !spawn_init_alive(t->init_pid, t->init_start)) {
		/* The supervisor is gone without its last word (killed): nothing runs any more. */
		if (!t->stopped_reason[0])
			snprintf(t->stopped_reason, sizeof(t->stopped_reason),
				 "Task supervisor exited unexpectedly");
		cleanup(rt, t);
		return;
	}
	if (all_running && !strcmp(t->desired_status, "RUNNING") &&
	    (!strcmp(t->last_status, "PENDING") || !strcmp(t->last_status, "PROVISIONING"))) {
		if (t->launch_us)
			log_debug("runtime: task %s RUNNING +%.2f ms after the request", t->id,
				  (double)(mono_us() - t->launch_us) / 1000);
		rt_task_set_status(rt, t, "RUNNING");
	}
	else if (changed)
		rt_state_save_task(rt, t);
}

void rt_exec_oom_kill(struct runtime *rt, struct rt_task *t, size_t i, pid_t pid)
{
	if (i >= t->n_containers || !strcmp(t->last_status, "STOPPED"))
		return;
	log_info("runtime: task %s: the kernel killed pid %d of container %s for memory", t->id,
		 (int)pid, t->containers[i].name);
	t->containers[i].oom_seen = true;
	t->oom_killed = true;
}

void rt_exec_adopt(struct runtime *rt, struct rt_task *t)
{
	if (!strcmp(t->last_status, "STOPPED"))
		return;
	if (t->init_pid && spawn_init_alive(t->init_pid, t->init_start)) {
		watch_task(rt, t);
		watch_pid(rt, t);
		log_info("runtime: re-adopted task %s (supervisor pid %d)", t->id, (int)t->init_pid);
	} else if (!t->init_pid && (!strcmp(t->last_status, "PROVISIONING") ||
				    !strcmp(t->last_status, "PENDING"))) {
		/* berthd died between saving the task and starting it: nothing ran. */
		fail_start(rt, t, "TaskFailedToStart: berthd restarted before the task started");
		return;
	}
	rt_exec_poll(rt, t);
}

static void on_inotify(struct loop_io *io, uint32_t events)
{
	struct runtime *rt = io->data;
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	(void)events;
	while ((n = read(rt->inotify_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			for (struct rt_task *t = rt->tasks; t; t = t->next) {
				if (t->watch == ev->wd) {
					rt_exec_poll(rt, t);
					break;
				}
			}
		}
	}
}

/* The supervisor exited: its last status files (or their absence) tell the rest. */
static void on_pid_exit(struct loop_io *io, uint32_t events)
{
	struct rt_task *t = (struct rt_task *)((char *)io - offsetof(struct rt_task, pid_io));
	struct runtime *rt = io->data;

	(void)events;
	unwatch_pid(t);
	rt_exec_poll(rt, t);
}

/* Once a second: catch supervisors that died unseen (the status files are followed with
 * inotify, so only liveness is checked here: one read of /proc per task), expire old stopped
 * tasks. */
static void on_tick(struct loop_timer *tm)
{
	struct runtime *rt = tm->data;

	for (struct rt_task *t = rt->tasks; t; t = t->next) {
		if (strcmp(t->last_status, "STOPPED") != 0 && t->init_pid && !t->pid_watched &&
		    !spawn_init_alive(t->init_pid, t->init_start))
			rt_exec_poll(rt, t);
		if (t->cgroup_left) {
			char rel[CGROUP_PATH_MAX];
			task_rel(rt, t, NULL, rel, sizeof(rel));
			cgroup_kill(&rt->cg, rel);
			t->cgroup_left = cgroup_remove(&rt->cg, rel) < 0;
		}
	}
	rt_task_expire(rt);
}

/* Kills and removes task cgroups (and their directories) that no task of the model and no
 * state file names: what a crash between a supervisor's fork and the task's first save leaves.
 * A task whose state file was set aside as corrupt is left running, with a warning. */
static void remove_orphans(struct runtime *rt)
{
	char **clusters = NULL, **ids = NULL, rel[CGROUP_PATH_MAX], path[1200];

	if (cgroup_list(&rt->cg, rt->cfg->cgroup_parent, &clusters) < 0)
		return;
	for (size_t c = 0; clusters[c]; c++) {
		snprintf(rel, sizeof(rel), "%s/%s", rt->cfg->cgroup_parent, clusters[c]);
		if (cgroup_list(&rt->cg, rel, &ids) < 0)
			continue;
		for (size_t i = 0; ids[i]; i++) {
			bool known = false;

			for (struct rt_task *t = rt->tasks; t && !known; t = t->next)
				known = !strcmp(t->id, ids[i]) && !strcmp(t->cluster, clusters[c]);
			snprintf(path, sizeof(path), "%s/tasks/%s.json.corrupt", rt->state_dir, ids[i]);
			if (known || strlen(ids[i]) != 32 || strspn(ids[i], "0123456789abcdef") != 32)
				continue;
			if (access(path, F_OK) == 0) {
				log_warn("runtime: task cgroup %s/%s has only a corrupt state file; "
					 "left running", rel, ids[i]);
				continue;
			}
			log_warn("runtime: removing task cgroup %s/%s that no state file names "
				 "(made ahead, or berthd stopped while starting it)", rel, ids[i]);
			snprintf(rel, sizeof(rel), "%s/%s/%s", rt->cfg->cgroup_parent, clusters[c],
				 ids[i]);
			cgroup_kill(&rt->cg, rel);
			for (int k = 0; k < 50 && cgroup_remove(&rt->cg, rel) == -EBUSY; k++)
				usleep(10000);
			snprintf(path, sizeof(path), "%s/%s", rt->tasks_dir, ids[i]);
			file_remove_tree(path);
			snprintf(rel, sizeof(rel), "%s/%s", rt->cfg->cgroup_parent, clusters[c]);
		}
		cgroup_strv_free(ids);
		ids = NULL;
	}
	cgroup_strv_free(clusters);
}

int rt_exec_init(struct runtime *rt)
{
	int ret;

	rt->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (rt->inotify_fd < 0)
		return -errno;

	ret = loop_io_start(rt->loop, &rt->inotify_io, rt->inotify_fd, EPOLLIN, on_inotify, rt);
	if (ret == 0)
		ret = loop_timer_init(rt->loop, &rt->tick, on_tick, rt);
	if (ret == 0)
		ret = loop_timer_arm(&rt->tick, 1000, 1000);
	if (ret < 0)
		return ret;
	for (struct rt_task *t = rt->tasks; t; t = t->next)
		rt_exec_adopt(rt, t);
	remove_orphans(rt);
	return rt_spare_init(rt);
}

void rt_exec_close(struct runtime *rt)
{
	for (struct rt_task *t = rt->tasks; t; t = t->next)
		unwatch_pid(t);
	spawn_zygote_free(rt->zygote);
	rt->zygote = NULL;
	rt_spare_close(rt);
	for (struct rt_cluster *c = rt->clusters; c; c = c->next)
		rt_cgpool_drop(rt, c);
	loop_timer_close(&rt->tick);
	if (rt->inotify_fd >= 0) {
		loop_io_stop(&rt->inotify_io);
		close(rt->inotify_fd);
	}
	rt->inotify_fd = -1;
}
