/* SPDX-License-Identifier: MIT */
/* spare.c: task directory trees made ahead. A launch needs a run directory, a log directory and
 * each container's overlay directories (upper, work, merged); on some file systems each mkdir
 * costs ~0.5 ms (ext4 without a journal scans for inodes not deleted recently), so berthd keeps
 * launch_pool_size empty trees ready under DATA_DIR/tasks/.spare and LOG_DIR/.spare and a launch
 * renames one into place (a rename allocates no inode). They hold nothing of a task: a tree left
 * by a crash is removed at the next start. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "common/util.h"
#include "runtime/runtime.h"
#include "runtime/spawn.h"
#include "runtime/spawn_internal.h"

#define REFILL_AFTER_START_MS 200
#define REFILL_AFTER_TAKE_MS  50 /* after the launch's own steps, which share berthd's loop */
#define REFILL_STEP_MS        5  /* one tree a turn, so that the loop is held ~3 ms at most */
/* The zygote forks a warm supervisor 20 ms after a launch took one: arming waits for it. */
#define ARM_WAIT_MS 25
#define ARM_WAITS   8

/* Where spare tree n lives: "TASKS/.spare/N" or "LOG/.spare/N" (n < 0: the .spare dir). */
static void spare_path(const struct runtime *rt, bool log, long n, char *out, size_t len)
{
	if (n < 0)
		snprintf(out, len, "%s/.spare", log ? rt->log_dir : rt->tasks_dir);
	else
		snprintf(out, len, "%s/.spare/%ld", log ? rt->log_dir : rt->tasks_dir, n);
}

/* An empty file at path, which must not exist: 0 or -errno. */
static int create_empty(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Makes spare tree n: the modes are those of the launch's own mkdirs. */
static int spare_make(struct runtime *rt, unsigned n)
{
	static const char *const sub[] = { "upper", "work", "merged" };
	char base[600], p[700];
	int ret;

	spare_path(rt, false, n, base, sizeof(base));
	snprintf(p, sizeof(p), "%s/run", base);
	ret = file_mkdir_p(p, 0700);
	/* The supervisor writes these in place: existing, they take no inode at launch. */
	static const char *const etc[] = { SPAWN_ETC_HOSTS, SPAWN_ETC_HOSTNAME, SPAWN_ETC_RESOLV };
	for (size_t k = 0; ret == 0 && k < 3; k++) {
		snprintf(p, sizeof(p), "%s/run/%s", base, etc[k]);
		ret = create_empty(p);
	}
	for (size_t k = 0; ret == 0 && k < 3; k++) {
		snprintf(p, sizeof(p), "%s/c/_/%s", base, sub[k]);
		ret = file_mkdir_p(p, 0755);
	}
	/* The mount points of the /etc files in the first container's upper layer, as Docker's
	 * init layer has them: made at launch they would cost a copy-up of the image's /etc and
	 * two files (fitted to the image and the network mode at launch, spare_fit_etc()). */
	snprintf(p, sizeof(p), "%s/c/_/upper/etc", base);
	if (ret == 0 && mkdir(p, 0755) < 0)
		ret = -errno;
	static const char *const points[] = { "hosts", "hostname" };
	for (size_t k = 0; ret == 0 && k < 2; k++) {
		snprintf(p, sizeof(p), "%s/c/_/upper/etc/%s", base, points[k]);
		ret = create_empty(p);
	}
	if (ret == 0) {
		spare_path(rt, true, n, p, sizeof(p));
		ret = file_mkdir_p(p, 0750);
	}
	return ret;
}

static void spare_drop(struct runtime *rt, unsigned n)
{
	char p[600];

	spare_path(rt, false, n, p, sizeof(p));
	file_remove_tree(p);
	spare_path(rt, true, n, p, sizeof(p));
	file_remove_tree(p);
}

/* Makes one spare tree when some are missing; true while more are wanted. */
static bool refill_tree(struct runtime *rt)
{
	struct rt_spares *sp = &rt->spares;
	int64_t now = time_mono_ms();
	unsigned n;
	int ret;

	if (sp->n >= sp->want || now < sp->retry_at_ms)
		return false;
	n = sp->next++;
	ret = spare_make(rt, n);
	if (ret < 0) {
		/* Launches make their directories themselves meanwhile; tried again (and said
		 * again) a minute later at the earliest, whatever launches come. */
		log_warn("runtime: cannot make a spare task directory tree under %s/.spare: %s; "
			 "trying again in a minute", rt->tasks_dir, strerror(-ret));
		spare_drop(rt, n);
		sp->retry_at_ms = now + 60000;
		loop_timer_arm(&sp->timer, 60000, 0);
		return false;
	}
	sp->ids[sp->n++] = n;
	return sp->n < sp->want;
}

static void spare_fit_etc(const char *upper_etc, const char *image_root, bool host_network);

/* Drops the armed trees whose warm supervisor is gone (taken by another task, dead) or whose
 * image is no longer the one launched last (that supervisor is ended). */
static void armed_reap(struct runtime *rt)
{
	struct rt_spares *sp = &rt->spares;
	struct stat st;

	/* An image removed: its roots made ahead only hold its files. */
	if (sp->arm_root[0] && (stat(sp->arm_root, &st) < 0 || st.st_ino != sp->arm_ino ||
				st.st_dev != sp->arm_dev)) {
		sp->arm_root[0] = '\0';
		sp->arm_gen++;
	}

	for (unsigned i = 0; i < sp->n_armed;) {
		struct rt_armed *a = &sp->armed[i];

		if (a->gen == sp->arm_gen && spawn_zygote_armed(rt->zygote, a->key)) {
			i++;
			continue;
		}
		spawn_zygote_disarm(rt->zygote, a->key);
		spare_drop(rt, a->tree);
		*a = sp->armed[--sp->n_armed];
	}
}

/* Has a warm supervisor's container make its root ahead on one spare tree, for the image
 * launched last. One plain tree and one unarmed warm supervisor stay for tasks of other
 * images. 1: one was armed; 0: none to arm; -EAGAIN: the zygote has not offered a warm
 * supervisor yet. */
static int arm_tree(struct runtime *rt)
{
	struct rt_spares *sp = &rt->spares;
	char base[600], upper[700], work[700], merged[700], run[700], etc[720];
	unsigned n, cap = sp->want > 1 ? sp->want - 1 : sp->want;
	uint64_t key;
	int ret;

	if (!rt->zygote || !sp->arm_root[0] || sp->n < 2 || sp->n_armed >= cap)
		return 0;
	if (spawn_zygote_unarmed(rt->zygote) < 2)
		return -EAGAIN;
	n = sp->ids[--sp->n];
	spare_path(rt, false, n, base, sizeof(base));
	snprintf(upper, sizeof(upper), "%s/c/_/upper", base);
	snprintf(work, sizeof(work), "%s/c/_/work", base);
	snprintf(merged, sizeof(merged), "%s/c/_/merged", base);
	snprintf(run, sizeof(run), "%s/run", base);
	snprintf(etc, sizeof(etc), "%s/etc", upper);
	spare_fit_etc(etc, sp->arm_root, false);
	ret = spawn_zygote_arm(rt->zygote, sp->arm_root, upper, work, merged, run, &key);
	if (ret < 0) {
		/* Fitted to the image: not for other tasks. */
		log_debug("runtime: cannot have a container root made ahead: %s", strerror(-ret));
		spare_drop(rt, n);
		return 0;
	}
	sp->armed[sp->n_armed++] = (struct rt_armed){ .tree = n, .gen = sp->arm_gen, .key = key };
	return 1;
}

/* One tree and one cgroup set per cluster a turn, so that the loop is held ~3 ms at most. */
static void on_refill(struct loop_timer *tm)
{
	struct runtime *rt = tm->data;
	bool more = refill_tree(rt);
	int armed;

	armed_reap(rt);
	armed = more ? 0 : arm_tree(rt);
	if (armed > 0)
		more = true;
	else if (armed == -EAGAIN && !more && rt->spares.arm_waits++ < ARM_WAITS)
		loop_timer_arm(&rt->spares.timer, ARM_WAIT_MS, 0);

	if (rt_cgpool_refill(rt))
		more = true;
	if (more)
		loop_timer_arm(&rt->spares.timer, REFILL_STEP_MS, 0);
}

void rt_spare_kick(struct runtime *rt)
{
	rt->spares.arm_waits = 0;
	if (rt->spares.timer_on)
		loop_timer_arm(&rt->spares.timer, REFILL_AFTER_TAKE_MS, 0);
}

int rt_spare_init(struct runtime *rt)
{
	struct rt_spares *sp = &rt->spares;
	char p[600];
	int ret;

	memset(sp, 0, sizeof(*sp));
	sp->want = (unsigned)rt->cfg->launch_pool_size;
	if (sp->want > RT_SPARE_MAX)
		sp->want = RT_SPARE_MAX;
	for (int log = 0; log < 2; log++) {
		spare_path(rt, log, -1, p, sizeof(p));
		file_remove_tree(p);
	}
	ret = loop_timer_init(rt->loop, &sp->timer, on_refill, rt);
	if (ret == 0)
		sp->timer_on = true;
	if (ret == 0 && sp->want)
		ret = loop_timer_arm(&sp->timer, REFILL_AFTER_START_MS, 0);
	return ret;
}

void rt_spare_close(struct runtime *rt)
{
	struct rt_spares *sp = &rt->spares;
	char p[600];

	if (!sp->timer_on)
		return;
	loop_timer_close(&sp->timer);
	sp->timer_on = false;
	sp->n = 0;
	for (unsigned i = 0; i < sp->n_armed; i++)
		spawn_zygote_disarm(rt->zygote, sp->armed[i].key);
	sp->n_armed = 0;
	for (int log = 0; log < 2; log++) {
		spare_path(rt, log, -1, p, sizeof(p));
		file_remove_tree(p);
	}
}

/* Fits the upper layer's /etc of a spare tree to the image: the attributes of the image's /etc
 * (a merged directory shows the upper one's), none where the image's /etc is not a directory,
 * and no hostname where the task keeps the host's (host network). An image without /etc gets
 * one with the two mount points, as Docker gives every container. */
static void spare_fit_etc(const char *upper_etc, const char *image_root, bool host_network)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/etc", image_root);
	if (lstat(p, &st) == 0 && !S_ISDIR(st.st_mode)) {
		file_remove_tree(upper_etc);
		return;
	}
	if (lstat(p, &st) == 0) {
		if ((st.st_mode & 07777) != 0755)
			chmod(upper_etc, st.st_mode & 07777);
		if (st.st_uid || st.st_gid)
			if (lchown(upper_etc, st.st_uid, st.st_gid) < 0)
				log_warn("runtime: cannot give %s the owner of the image's /etc: %s",
					 upper_etc, strerror(errno));
	}
	if (host_network) {
		snprintf(p, sizeof(p), "%s/hostname", upper_etc);
		unlink(p);
	}
}

/* An armed tree for a task whose first container has image_root: its index, or -1. The image
 * becomes the one armed for (the trees armed for another are dropped at the next refill). */
static int armed_pick(struct runtime *rt, const char *image_root)
{
	struct rt_spares *sp = &rt->spares;
	struct stat st;

	/* The directory itself: an image removed and imported again is a new one, which roots
	 * armed before do not show. */
	if (stat(image_root, &st) < 0)
		return -1;
	if (strcmp(sp->arm_root, image_root) != 0 || st.st_ino != sp->arm_ino ||
	    st.st_dev != sp->arm_dev) {
		if ((size_t)snprintf(sp->arm_root, sizeof(sp->arm_root), "%s", image_root) >=
		    sizeof(sp->arm_root))
			sp->arm_root[0] = '\0';
		sp->arm_ino = st.st_ino;
		sp->arm_dev = st.st_dev;
		sp->arm_gen++;
		return -1;
	}
	for (unsigned i = 0; i < sp->n_armed; i++)
		if (sp->armed[i].gen == sp->arm_gen && spawn_zygote_armed(rt->zygote, sp->armed[i].key))
			return (int)i;
	return -1;
}

int rt_spare_take(struct runtime *rt, const struct rt_task *t, const char *image_root,
		  bool host_network, uint64_t *warm_key)
{
	struct rt_spares *sp = &rt->spares;
	char from[700], to[700];
	const char *step;
	bool armed = false;
	unsigned n;
	int i;

	*warm_key = 0;
	if (!t->n_containers)
		return -ENOENT;
	if (!host_network && (i = armed_pick(rt, image_root)) >= 0) {
		n = sp->armed[i].tree;
		*warm_key = sp->armed[i].key;
		sp->armed[i] = sp->armed[--sp->n_armed];
		armed = true;
	} else if (sp->n) {
		n = sp->ids[--sp->n];
	} else {
		return -ENOENT;
	}
	step = "the log directory";
	snprintf(to, sizeof(to), "%s/%s", rt->log_dir, t->cluster);
	if (mkdir(to, 0750) < 0 && errno != EEXIST)
		goto fail;
	spare_path(rt, true, n, from, sizeof(from));
	snprintf(to, sizeof(to), "%s/%s/%s", rt->log_dir, t->cluster, t->id);
	if (rename(from, to) < 0)
		goto fail;
	step = "the task directory";
	spare_path(rt, false, n, from, sizeof(from));
	snprintf(to, sizeof(to), "%s/%s", rt->tasks_dir, t->id);
	if (rename(from, to) < 0)
		goto fail;
	step = "the container directory";
	snprintf(from, sizeof(from), "%s/%s/c/_", rt->tasks_dir, t->id);
	snprintf(to, sizeof(to), "%s/%s/c/%s", rt->tasks_dir, t->id, t->containers[0].name);
	if (rename(from, to) < 0)
		goto fail;
	snprintf(to, sizeof(to), "%s/%s/c/%s/upper/etc", rt->tasks_dir, t->id,
		 t->containers[0].name);
	if (!armed) /* an armed one was fitted before its overlay was mounted */
		spare_fit_etc(to, image_root, host_network);
	return 0;
fail:;
	int ret = -errno;

	/* Its supervisor's container must not start on a tree that is not the task's. */
	if (armed)
		spawn_zygote_disarm(rt->zygote, *warm_key);
	*warm_key = 0;

	log_warn("runtime: task %s: cannot move a spare tree into place as %s (%s): %s; making "
		 "the directories", t->id, step, to, strerror(-ret));
	spare_drop(rt, n);
	snprintf(from, sizeof(from), "%s/%s/c/_", rt->tasks_dir, t->id);
	file_remove_tree(from);
	return ret;
}
