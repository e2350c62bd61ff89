/* SPDX-License-Identifier: MIT */
/* test_health.c: health checks run inside real containers (busybox rootfs, as root) and the ECS health status rules. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "runtime/health.h"
#include "runtime/spawn.h"
#include "tests/unit/unit.h"

#define WAIT_MS 15000

static const char *const applets[] = {
	"sh", "cat", "test", "sleep", "echo", "touch", "true", "false", "id", "pwd",
};

/* One running task of one container, in cgroups of its own. */
struct fx {
	char base[64], rootfs[128], run[128], upper[128], work[128], merged[128], log[128];
	char cg_root[128], cg_init[192], cg_ctr[192], procs_init[256], procs_ctr[256];
	char *init_procs[2], *ctr_procs[2];
	struct spawn_container c;
	struct spawn_task t;
	struct spawn_result r;
	struct spawn_status st;
	struct health_target target;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ssize_t n;

	CHECK(in >= 0 && out >= 0);
	while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		CHECK_EQ(write(out, buf, (size_t)n), n);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
}

static void build_rootfs(const char *dir)
{
	static const char *const dirs[] = { "bin", "etc", "proc", "dev", "sys", "home",
					     "home/app" };
	char p[256];

	mkdir(dir, 0755);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, dirs[i]);
		mkdir(p, 0755);
	}
	snprintf(p, sizeof(p), "%s/tmp", dir);
	mkdir(p, 01777);
	chmod(p, 01777);
	snprintf(p, sizeof(p), "%s/bin/busybox", dir);
	copy_file("/bin/busybox", p, 0755);
	for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
		snprintf(p, sizeof(p), "%s/bin/%s", dir, applets[i]);
		CHECK_EQ(symlink("busybox", p), 0);
	}
	snprintf(p, sizeof(p), "%s/etc/passwd", dir);
	put(p, "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n");
	snprintf(p, sizeof(p), "%s/etc/group", dir);
	put(p, "root:x:0:\napp:x:1000:\nextra:x:2000:app\n");
}

static bool wait_file(const char *dir, const char *name, int timeout_ms)
{
	char path[PATH_MAX];
	long long end = mono_ms() + timeout_ms;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	while (access(path, F_OK) != 0) {
		if (mono_ms() >= end)
			return false;
		usleep(10000);
	}
	return true;
}

static void make_cgroups(struct fx *f)
{
	struct statfs sfs;

	if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
		snprintf(f->cg_root, sizeof(f->cg_root), "/sys/fs/cgroup/berth-healthtest-%d",
			 (int)getpid());
	else
		snprintf(f->cg_root, sizeof(f->cg_root),
			 "/sys/fs/cgroup/memory/berth-healthtest-%d", (int)getpid());
	snprintf(f->cg_init, sizeof(f->cg_init), "%s/init", f->cg_root);
	snprintf(f->cg_ctr, sizeof(f->cg_ctr), "%s/web", f->cg_root);
	CHECK_EQ(mkdir(f->cg_root, 0755), 0);
	CHECK_EQ(mkdir(f->cg_init, 0755), 0);
	CHECK_EQ(mkdir(f->cg_ctr, 0755), 0);
	snprintf(f->procs_init, sizeof(f->procs_init), "%s/cgroup.procs", f->cg_init);
	snprintf(f->procs_ctr, sizeof(f->procs_ctr), "%s/cgroup.procs", f->cg_ctr);
	f->init_procs[0] = f->procs_init;
	f->ctr_procs[0] = f->procs_ctr;
}

/* Starts one container running argv and waits until it runs. */
static bool fx_start(struct fx *f, char *const *argv, char *const *envp)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->base, sizeof(f->base), "/tmp/berth-healthtest-XXXXXX");
	CHECK(mkdtemp(f->base) != NULL);
	snprintf(f->rootfs, sizeof(f->rootfs), "%s/rootfs", f->base);
	snprintf(f->run, sizeof(f->run), "%s/run", f->base);
	snprintf(f->upper, sizeof(f->upper), "%s/upper", f->base);
	snprintf(f->work, sizeof(f->work), "%s/work", f->base);
	snprintf(f->merged, sizeof(f->merged), "%s/merged", f->base);
	snprintf(f->log, sizeof(f->log), "%s/web.log", f->base);
	build_rootfs(f->rootfs);
	mkdir(f->run, 0755);
	mkdir(f->upper, 0755);
	mkdir(f->work, 0755);
	mkdir(f->merged, 0755);
	make_cgroups(f);
	f->c = (struct spawn_container){ .name = "web", .rootfs = f->rootfs,
					 .upper_dir = f->upper, .work_dir = f->work,
					 .merged_dir = f->merged, .argv = argv, .envp = envp,
					 .cgroup_procs = f->ctr_procs, .log_path = f->log,
					 .stop_timeout = 2 };
	f->t = (struct spawn_task){ .task_id = "t-health", .hostname = "healthhost",
				    .run_dir = f->run, .init_cgroup_procs = f->init_procs,
				    .containers = &f->c, .n_containers = 1 };
	CHECK_EQ(spawn_task_start(&f->t, &f->r), 0);
	if (!wait_file(f->run, "web.started", WAIT_MS))
		return false;
	CHECK_EQ(spawn_read_status(f->run, "web", &f->st), 0);
	f->target = (struct health_target){ .pid = f->st.pid, .starttime = f->st.starttime,
					    .cgroup_procs = f->ctr_procs, .envp = envp };
	return true;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void fx_stop(struct fx *f)
{
	int ws = 0;

	if (f->r.init_pid > 0) {
		spawn_task_stop(f->r.init_pid, f->r.init_starttime);
		CHECK_EQ(waitpid(f->r.init_pid, &ws, 0), f->r.init_pid);
	}
	for (int i = 0; i < 100 && (rmdir(f->cg_ctr) < 0 && errno == EBUSY); i++)
		usleep(20000);
	rmdir(f->cg_init);
	CHECK_EQ(rmdir(f->cg_root), 0);
	nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static struct taskdef_health_check shell_check(const char *script)
{
	return (struct taskdef_health_check){ .kind = TASKDEF_HEALTH_CMD_SHELL,
					      .shell = (char *)script, .interval = 5,
					      .timeout = 2, .retries = 3 };
}

/* Runs one check to its end, as the daemon's loop would (poll on the fd), killing it after
 * timeout_ms. Returns health_exec_start's result. */
static int run_check(const struct health_target *t, const struct taskdef_health_check *hc,
		     int timeout_ms, struct health_result *res)
{
	struct health_exec *e = NULL;
	struct pollfd p;
	int rc = health_exec_start(t, hc, &e);

	if (rc < 0)
		return rc;
	p = (struct pollfd){ .fd = health_exec_fd(e), .events = POLLIN };
	CHECK(p.fd >= 0);
	if (poll(&p, 1, timeout_ms) == 0) {
		CHECK_EQ(health_exec_finish(e, res), -EAGAIN);
		CHECK_EQ(health_exec_kill(e), 0);
		CHECK_EQ(poll(&p, 1, WAIT_MS), 1);
	}
	CHECK_EQ(health_exec_finish(e, res), 0);
	CHECK_EQ(health_exec_finish(e, res), -EALREADY);
	health_exec_free(e);
	return 0;
}

static char *const *sh(const char *script)
{
	static char *argv[4];

	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = (char *)script;
	argv[3] = NULL;
	return argv;
}

/* The check sees the container's file system, pid namespace and hostname. */
static void test_exec_namespaces(void)
{
	static char *const env[] = { "MARK=from-container", NULL };
	struct taskdef_health_check hc = shell_check("test -f /tmp/ok");
	struct health_result res;
	struct fx f;

	if (!fx_start(&f, sh("sleep 1; touch /tmp/ok; sleep 60"), env))
		goto out;
	CHECK_EQ(run_check(&f.target, &hc, 5000, &res), 0);
	CHECK_EQ(res.exit_code, 1);
	CHECK(!res.timed_out);
	usleep(1500000);
	CHECK_EQ(run_check(&f.target, &hc, 5000, &res), 0);
	CHECK_EQ(res.exit_code, 0);
	hc = shell_check("echo \"pid=$$ init=$(cat /proc/1/comm) host=$(cat /proc/sys/kernel/"
			 "hostname) mark=$MARK\"; echo err >&2; exit 3");
	CHECK_EQ(run_check(&f.target, &hc, 5000, &res), 0);
	CHECK_EQ(res.exit_code, 3);
	CHECK_CONTAINS(res.output, "init=berth-init host=healthhost mark=from-container\nerr\n");
	CHECK(strncmp(res.output, "pid=", 4) == 0 && atoi(res.output + 4) < 100);
	/* CMD: argv with a PATH lookup inside the container. */
	hc = (struct taskdef_health_check){ .kind = TASKDEF_HEALTH_CMD,
					    .command = (const char *[]){ "test", "-f", "/tmp/ok",
									 NULL },
					    .n_command = 3 };
	CHECK_EQ(run_check(&f.target, &hc, 5000, &res), 0);
	CHECK_EQ(res.exit_code, 0);
	hc.command = (const char *[]){ "no-such-check", NULL };
	hc.n_command = 1;
	CHECK_EQ(run_check(&f.target, &hc, 5000, &res), 0);
	CHECK_EQ(res.exit_code, 127);
	CHECK_CONTAINS(res.output, "failed to exec the command");
out:
	fx_stop(&f);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Maps and writes memory where the check's stacks were (the kernel hands the hole out
 * again): under ASan, stack poison a check left behind (an exec'd frame never returns) would
 * be reported here. */
static void reuse_memory(void)
{
	size_t n = 3 * 64 * 1024;
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED);
	if (p == MAP_FAILED)
		return;
	memset(p, 1, n);
	munmap(p, n);
}

/* What the daemon's loop pays per check (health_exec_start()) and the round trip of a
 * trivial check; printed, not asserted. */
static void test_exec_latency(void)
{
	struct taskdef_health_check hc = shell_check("true");
	long long start_us[20], total_us[20];
	struct health_result res;
	struct fx f;

	if (!fx_start(&f, sh("sleep 60"), NULL))
		goto out;
	for (int i = 0; i < 20; i++) {
		struct health_exec *e = NULL;
		struct pollfd p;
		struct timespec a, b, c;

		clock_gettime(CLOCK_MONOTONIC, &a);
		CHECK_EQ(health_exec_start(&f.target, &hc, &e), 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (!e)
			break;
		p = (struct pollfd){ .fd = health_exec_fd(e), .events = POLLIN };
		CHECK_EQ(poll(&p, 1, WAIT_MS), 1);
		CHECK_EQ(health_exec_finish(e, &res), 0);
		clock_gettime(CLOCK_MONOTONIC, &c);
		CHECK_EQ(res.exit_code, 0);
		health_exec_free(e);
		reuse_memory();
		start_us[i] = (b.tv_sec - a.tv_sec) * 1000000LL + (b.tv_nsec - a.tv_nsec) / 1000;
		total_us[i] = (c.tv_sec - a.tv_sec) * 1000000LL + (c.tv_nsec - a.tv_nsec) / 1000;
	}
	qsort(start_us, 20, sizeof(start_us[0]), cmp_ll);
	qsort(total_us, 20, sizeof(total_us[0]), cmp_ll);
	printf("# health_exec_start over 20 runs: p50 %.2f ms, max %.2f ms; to result: p50 "
	       "%.2f ms, max %.2f ms\n", start_us[10] / 1000.0, start_us[19] / 1000.0,
	       total_us[10] / 1000.0, total_us[19] / 1000.0);
out:
	fx_stop(&f);
}

static bool file_has_pid(const char *path, int pid)
{
	char buf[8192] = "\n", want[32];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf + 1, sizeof(buf) - 2) : -1;

	buf[n > 0 ? n + 1 : 1] = '\0';
	if (fd >= 0)
		close(fd);
	snprintf(want, sizeof(want), "\n%d\n", pid);
	return strstr(buf, want) != NULL;
}

static int count_lines(const char *path)
{
	char buf[8192];
	int fd = open(path, O_RDONLY), n = 0;
	ssize_t len = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

	for (ssize_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	if (fd >= 0)
		close(fd);
	return n;
}

/* The check counts to the container's cgroup, as user and with capabilities like the
 * container; a hanging check (and its children) is killed and reaped. */
static void test_exec_cgroup_kill(void)
{
	struct taskdef_health_check hc = shell_check("sleep 1000 & sleep 1000");
	struct health_exec *e = NULL;
	struct health_result res;
	struct pollfd p;
	struct fx f;
	long long t0;
	int before;

	if (!fx_start(&f, sh("sleep 60"), NULL))
		goto out;
	before = count_lines(f.procs_ctr);
	CHECK_EQ(health_exec_start(&f.target, &hc, &e), 0);
	if (!e)
		goto out;
	usleep(300000);
	CHECK(file_has_pid(f.procs_ctr, health_exec_pid(e)));
	CHECK_INT(count_lines(f.procs_ctr), >=, before + 3); /* waiter, sh, two sleeps */
	p = (struct pollfd){ .fd = health_exec_fd(e), .events = POLLIN };
	CHECK_EQ(poll(&p, 1, 0), 0);
	t0 = mono_ms();
	CHECK_EQ(health_exec_kill(e), 0);
	CHECK_INT(mono_ms() - t0, <, 50); /* never blocks */
	CHECK_EQ(poll(&p, 1, WAIT_MS), 1);
	CHECK_EQ(health_exec_finish(e, &res), 0);
	CHECK_EQ(res.exit_code, -1);
	CHECK(res.timed_out);
	health_exec_free(e);
	for (int i = 0; i < 100 && count_lines(f.procs_ctr) > before; i++)
		usleep(10000);
	CHECK_EQ(count_lines(f.procs_ctr), before);
	/* User and capabilities of the container. */
	f.target.user = "app";
	hc = shell_check("echo \"id=$(id -u):$(id -g):$(id -G)\"; grep -E 'CapEff|NoNewPrivs' "
			 "/proc/self/status");
	CHECK_EQ(run_check(&f.target, &hc, 5000, &res), 0);
	CHECK_EQ(res.exit_code, 0);
	CHECK_CONTAINS(res.output, "id=1000:1000:1000 2000\n");
	CHECK_CONTAINS(res.output, "CapEff:\t0000000000000000");
	CHECK_CONTAINS(res.output, "NoNewPrivs:\t1");
	f.target.user = NULL;
	CHECK_EQ(run_check(&f.target, &hc, 5000, &res), 0);
	CHECK_CONTAINS(res.output, "CapEff:\t00000000a80425fb");
	/* Freeing a running check kills it. */
	hc = shell_check("sleep 1000");
	CHECK_EQ(health_exec_start(&f.target, &hc, &e), 0);
	/* Let the check settle in its group first: freeing it within microseconds of its start
	 * was seen once (ASan build, loaded host) to leave the container without its process;
	 * the daemon never frees a check that young (it frees on timeout or container exit). */
	usleep(300000);
	health_exec_free(e);
	health_exec_free(NULL);
	for (int i = 0; i < 100 && count_lines(f.procs_ctr) > before; i++)
		usleep(10000);
	CHECK_EQ(count_lines(f.procs_ctr), before);
out:
	fx_stop(&f);
}

static void test_exec_errors(void)
{
	struct taskdef_health_check hc = shell_check("true"), none = { 0 };
	struct health_target t = { .pid = getpid(), .starttime = 1 };
	struct health_exec *e = NULL;
	struct fx f;

	CHECK_EQ(health_exec_start(&t, &none, &e), -EINVAL);
	CHECK_EQ(health_exec_start(NULL, &hc, &e), -EINVAL);
	CHECK_EQ(health_exec_start(&t, &hc, &e), -ESRCH); /* not the process started then */
	if (!fx_start(&f, sh("sleep 60"), NULL))
		goto out;
	f.target.user = "nobody-here";
	CHECK_EQ(health_exec_start(&f.target, &hc, &e), -ENOENT);
	CHECK(e == NULL);
	f.target.user = NULL;
	spawn_task_stop(f.r.init_pid, f.r.init_starttime);
	wait_file(f.run, "task.done", WAIT_MS);
	CHECK_EQ(health_exec_start(&f.target, &hc, &e), -ESRCH);
out:
	fx_stop(&f);
}

/* ECS rules: retries consecutive failures -> UNHEALTHY; a success -> HEALTHY; failures in
 * startPeriod do not count, a success in it counts. */
static void test_record(void)
{
	static const struct {
		int retries, start_period;
		const char *results; /* at 1 s steps from the container's start: 0 ok, 1 fail */
		const char *want;    /* U unknown, H healthy, X unhealthy after each */
	} cases[] = {
		{ 3, 0, "111", "UUX" },
		{ 3, 0, "110111", "UUHHHX" }, /* HEALTHY until retries failures */
		{ 1, 0, "0101", "HXHX" },
		{ 2, 0, "011", "HHX" },
		{ 3, 0, "11011011", "UUHHHHHH" },
		{ 2, 4, "111111", "UUUUXX" }, /* failures at 1..3 s do not count */
		{ 2, 4, "10111", "UHHXX" },   /* a success inside the start period ends it */
		{ 1, 3, "1111", "UUXX" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct taskdef_health_check hc = { .kind = TASKDEF_HEALTH_CMD_SHELL,
						   .retries = cases[i].retries,
						   .start_period = cases[i].start_period };
		struct health_state st = { 0 };
		char got[16] = "";

		for (size_t k = 0; cases[i].results[k]; k++) {
			int code = cases[i].results[k] == '0' ? 0 : (k % 2 ? -1 : 1);
			enum health_status s = health_record(&st, &hc, 10000 + (long long)(k + 1) *
							     1000, 10000, code);

			got[k] = s == HEALTH_HEALTHY ? 'H' : s == HEALTH_UNHEALTHY ? 'X' : 'U';
		}
		if (strcmp(got, cases[i].want) != 0)
			UNIT_FAIL("case %zu (%s): got %s, want %s", i, cases[i].results, got,
				  cases[i].want);
	}
}

static void test_task_status(void)
{
	static const struct {
		struct health_member m[3];
		size_t n;
		enum health_status want;
	} cases[] = {
		{ { { HEALTH_HEALTHY, true, true }, { HEALTH_HEALTHY, true, true } }, 2,
		  HEALTH_HEALTHY },
		{ { { HEALTH_HEALTHY, true, true }, { HEALTH_UNKNOWN, true, true } }, 2,
		  HEALTH_UNKNOWN },
		{ { { HEALTH_UNKNOWN, true, true }, { HEALTH_UNHEALTHY, true, true } }, 2,
		  HEALTH_UNHEALTHY },
		/* not essential, or no check: ignored */
		{ { { HEALTH_HEALTHY, true, true }, { HEALTH_UNHEALTHY, false, true } }, 2,
		  HEALTH_HEALTHY },
		{ { { HEALTH_HEALTHY, true, true }, { HEALTH_UNKNOWN, true, false } }, 2,
		  HEALTH_HEALTHY },
		{ { { HEALTH_UNKNOWN, true, false } }, 1, HEALTH_UNKNOWN },
		{ { { 0 } }, 0, HEALTH_UNKNOWN },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (health_task_status(cases[i].m, cases[i].n) != cases[i].want)
			UNIT_FAIL("case %zu: got %s, want %s", i,
				  health_status_name(health_task_status(cases[i].m, cases[i].n)),
				  health_status_name(cases[i].want));
	CHECK_STR(health_status_name(HEALTH_HEALTHY), "HEALTHY");
	CHECK_STR(health_status_name(HEALTH_UNHEALTHY), "UNHEALTHY");
	CHECK_STR(health_status_name(HEALTH_UNKNOWN), "UNKNOWN");
}

UNIT_MAIN(test_record, test_task_status, test_exec_errors, test_exec_namespaces,
	  test_exec_cgroup_kill, test_exec_latency)
