/* SPDX-License-Identifier: MIT */
/* test_spawn.c: runs real tasks (busybox rootfs, namespaces, overlay) through the spawn module, as root. */
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
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "runtime/spawn.h"
#include "tests/unit/unit.h"

#define MAX_CTR 6
#define WAIT_MS 15000

static const char *const applets[] = {
	"sh", "cat", "ls", "id", "hostname", "sleep", "grep", "head", "tail", "ps", "echo",
	"touch", "wc", "pwd", "readlink", "tr", "true", "false", "cut", "seq", "printf", "env",
	"kill", "mkdir", "stat",
};

/* One test's temporary tree: a busybox rootfs, a run dir, and per-container dirs. */
struct fx {
	char base[64];
	char rootfs[128], run[128];
	char upper[MAX_CTR][128], work[MAX_CTR][128], merged[MAX_CTR][128], log[MAX_CTR][128];
	struct spawn_container c[MAX_CTR];
	struct spawn_task t;
};

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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

static void build_rootfs(const char *dir, bool bare)
{
	static const char *const dirs[] = { "proc", "dev", "sys", "root", "home", "home/app" };
	char p[256];

	mkdir(dir, 0755);
	snprintf(p, sizeof(p), "%s/bin", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/etc", dir);
	mkdir(p, 0755);
	for (size_t i = 0; !bare && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
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
	put(p, "root:x:0:\napp:x:1000:\nextra:x:2000:app\nother:x:3000:root\n");
	snprintf(p, sizeof(p), "%s/etc/hosts", dir);
	put(p, "# image hosts\n");
}

static char *const *sh(const char *script)
{
	/* Leaked per call is not acceptable under LeakSanitizer: keep a small static ring. */
	static char *ring[16][4];
	static int next;
	char **argv = ring[next++ % 16];

	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = (char *)script;
	argv[3] = NULL;
	return argv;
}

static void fx_ctr(struct fx *f, int i, const char *name, char *const *argv)
{
	struct spawn_container *c = &f->c[i];
	char base[64];

	snprintf(base, sizeof(base), "%s", f->base);
	snprintf(f->upper[i], sizeof(f->upper[i]), "%s/%s-upper", base, name);
	snprintf(f->work[i], sizeof(f->work[i]), "%s/%s-work", base, name);
	snprintf(f->merged[i], sizeof(f->merged[i]), "%s/%s-merged", base, name);
	snprintf(f->log[i], sizeof(f->log[i]), "%s/%s.log", base, name);
	mkdir(f->upper[i], 0755);
	mkdir(f->work[i], 0755);
	mkdir(f->merged[i], 0755);
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->rootfs = f->rootfs;
	c->upper_dir = f->upper[i];
	c->work_dir = f->work[i];
	c->merged_dir = f->merged[i];
	c->argv = argv;
	c->log_path = f->log[i];
	c->stop_timeout = 5;
	if ((size_t)i + 1 > f->t.n_containers)
		f->t.n_containers = (size_t)i + 1;
}

/* bare: the rootfs lacks /proc, /dev and /sys, which the launcher must then create. */
static void fx_init(struct fx *f, bool bare)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->base, sizeof(f->base), "/tmp/berth-spawntest-XXXXXX");
	CHECK(mkdtemp(f->base) != NULL);
	snprintf(f->rootfs, sizeof(f->rootfs), "%s/rootfs", f->base);
	snprintf(f->run, sizeof(f->run), "%s/run", f->base);
	build_rootfs(f->rootfs, bare);
	mkdir(f->run, 0755);
	f->t.task_id = "t-0001";
	f->t.hostname = "taskhost";
	f->t.run_dir = f->run;
	f->t.containers = f->c;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void fx_fini(struct fx *f)
{
	nftw(f->base, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* Waits until run_dir/name exists; false after timeout_ms. */
static bool wait_file(const char *dir, const char *name, int timeout_ms)
{
	char path[PATH_MAX], ev[4096];
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	long long end = mono_us() + timeout_ms * 1000LL;
	bool ok = false;

	inotify_add_watch(fd, dir, IN_MOVED_TO | IN_CREATE);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (;;) {
		long long left = end - mono_us();
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (access(path, F_OK) == 0) {
			ok = true;
			break;
		}
		if (left <= 0)
			break;
		poll(&p, 1, (int)(left / 1000) + 1);
		while (read(fd, ev, sizeof(ev)) > 0)
			;
	}
	close(fd);
	return ok;
}

/* Waits for task.done and reaps the supervisor. */
static bool finish(struct fx *f, const struct spawn_result *r)
{
	bool ok = wait_file(f->run, "task.done", WAIT_MS);
	int ws = 0;

	CHECK(ok);
	if (!ok)
		kill(r->init_pid, SIGKILL);
	CHECK_EQ(waitpid(r->init_pid, &ws, 0), r->init_pid);
	CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
	return ok;
}

/* Waits for task.done and for the supervisor (not our child) to be gone. */
static bool finish_foreign(struct fx *f, const struct spawn_result *r)
{
	bool ok = wait_file(f->run, "task.done", WAIT_MS);

	CHECK(ok);
	for (int i = 0; i < 500 && spawn_init_alive(r->init_pid, r->init_starttime); i++)
		usleep(10000);
	CHECK(!spawn_init_alive(r->init_pid, r->init_starttime));
	return ok;
}

static bool run(struct fx *f)
{
	struct spawn_result r;
	int rc = spawn_task_start(&f->t, &r);

	CHECK_EQ(rc, 0);
	return rc == 0 && finish(f, &r);
}

static char *slurp(const char *path)
{
	static char buf[4][65536];
	static int next;
	char *b = buf[next++ % 4];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, b, sizeof(buf[0]) - 1) : -1;

	b[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	return b;
}

static struct spawn_status status(struct fx *f, const char *name)
{
	struct spawn_status st;

	CHECK_EQ(spawn_read_status(f->run, name, &st), 0);
	return st;
}

static void test_validation(void)
{
	struct fx f;
	struct spawn_result r;
	struct spawn_ulimit bad = { "nofiles", 1, 1 };

	fx_init(&f, false);
	fx_ctr(&f, 0, "a", sh("true"));
	f.c[0].name = "bad.name";
	CHECK_EQ(spawn_task_start(&f.t, &r), -EINVAL);
	f.c[0].name = "a";
	f.c[0].upper_dir = "/tmp/x,lowerdir=/";
	CHECK_EQ(spawn_task_start(&f.t, &r), -EINVAL);
	f.c[0].upper_dir = f.upper[0];
	f.c[0].ulimits = &bad;
	f.c[0].n_ulimits = 1;
	CHECK_EQ(spawn_task_start(&f.t, &r), -EINVAL);
	f.c[0].n_ulimits = 0;
	fx_ctr(&f, 1, "a", sh("true"));
	CHECK_EQ(spawn_task_start(&f.t, &r), -EINVAL); /* duplicate name */
	f.t.n_containers = 1;
	f.t.run_dir = "/nonexistent/run";
	CHECK_EQ(spawn_task_start(&f.t, &r), -ENOENT);
	CHECK_EQ(spawn_ulimit_resource("nofile"), RLIMIT_NOFILE);
	CHECK_EQ(spawn_ulimit_resource("bogus"), -EINVAL);
	fx_fini(&f);
}

static void test_status_files(void)
{
	struct spawn_status st = { 0 };
	char name[64];
	const char *exit_sig = "{\"pid\":7,\"signal\":9,\"exitCode\":137,\"time\":5}";
	const char *err = "{\"error\":\"CannotStartContainerError\",\"message\":\"m\",\"errno\":2}";

	CHECK_EQ(spawn_parse_status(exit_sig, strlen(exit_sig), &st), 0);
	CHECK_EQ(st.pid, 7);
	CHECK_EQ(st.signal, 9);
	CHECK_EQ(st.exit_code, 137);
	CHECK_EQ(st.exited_ms, 5);
	CHECK_EQ(spawn_parse_status(err, strlen(err), &st), 0);
	CHECK_STR(st.error, "CannotStartContainerError");
	CHECK_EQ(st.error_errno, 2);
	CHECK_EQ(spawn_parse_status("{", 1, &st), -EBADMSG);
	CHECK_EQ(spawn_parse_status("[1]", 3, &st), -EBADMSG);
	CHECK_EQ(spawn_classify_file("web.started", name, sizeof(name)), SPAWN_FILE_STARTED);
	CHECK_STR(name, "web");
	CHECK_EQ(spawn_classify_file("task.exit", name, sizeof(name)), SPAWN_FILE_EXIT);
	CHECK_STR(name, "task");
	CHECK_EQ(spawn_classify_file("task.done", NULL, 0), SPAWN_FILE_TASK_DONE);
	CHECK_EQ(spawn_classify_file(".web.exit.tmp", NULL, 0), SPAWN_FILE_OTHER);
	CHECK_EQ(spawn_classify_file("etc.hosts", NULL, 0), SPAWN_FILE_OTHER);
	CHECK_EQ(spawn_classify_file("a.b.exit", NULL, 0), SPAWN_FILE_OTHER);
	CHECK(!spawn_init_alive(getpid(), 1));
	CHECK_EQ(spawn_task_stop(getpid(), 1), -ESRCH);
	CHECK_EQ(spawn_read_status("/nonexistent", "x", &st), -ENOENT);
}

static const char isolation_script[] =
	"echo \"pid=$$\"\n"
	"echo \"init=$(cat /proc/1/cmdline | tr -d '\\000')\"\n"
	"echo \"host=$(hostname)\"\n"
	"grep NoNewPrivs /proc/self/status\n"
	"grep CapEff /proc/self/status\n"
	"grep CapBnd /proc/self/status\n"
	"echo \"fds=$(ls /proc/self/fd | tr '\\n' ' ')\"\n"
	"for p in /proc/kcore /proc/keys /proc/timer_list; do\n"
	"  [ -e $p ] && echo \"$p=$(wc -c < $p)\"\n"
	"done\n"
	"echo \"firmware=$(ls /sys/firmware | wc -l)\"\n"
	"(echo x > /proc/sys/kernel/domainname) 2>/dev/null && echo sys=rw || echo sys=ro\n"
	"echo \"net=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' ')\"\n"
	"touch /x && echo root=rw || echo root=ro\n"
	"echo \"hosts=$(grep -c taskhost /etc/hosts)\"\n"
	"echo \"etchostname=$(cat /etc/hostname)\"\n"
	"echo \"cwd=$(pwd)\"\n"
	"echo \"FOO=$FOO HOME=$HOME HOSTNAME=$HOSTNAME\"\n"
	"echo \"nofile=$(ulimit -n)/$(ulimit -Hn)\"\n"
	"echo \"id=$(id -u):$(id -g)\"\n"
	"echo \"dev=$(ls /dev | tr '\\n' ' ')\"\n"
	"echo \"stdin=$(wc -c)\"\n"
	"echo to-stderr >&2\n";

static void test_isolation(void)
{
	static char *const env[] = { "FOO=bar", NULL };
	struct spawn_ulimit nofile = { "nofile", 100, 200 };
	struct stat sb;
	char path[256];
	const char *log;
	struct fx f;

	fx_init(&f, false);
	fx_ctr(&f, 0, "main", sh(isolation_script));
	f.c[0].envp = env;
	f.c[0].cwd = "/work/dir";
	f.c[0].ulimits = &nofile;
	f.c[0].n_ulimits = 1;
	if (!run(&f))
		goto out;
	log = slurp(f.log[0]);
	CHECK_CONTAINS(log, "pid=2\n");
	CHECK_CONTAINS(log, "init=berth-init\n");
	CHECK_CONTAINS(log, "host=taskhost\n");
	CHECK_CONTAINS(log, "NoNewPrivs:\t1\n");
	CHECK_CONTAINS(log, "CapEff:\t00000000a80425fb\n");
	CHECK_CONTAINS(log, "CapBnd:\t00000000a80425fb\n");
	CHECK_CONTAINS(log, "fds=0 1 2 3 \n");
	for (int i = 0; i < 3; i++) {
		const char *masked[] = { "/proc/kcore", "/proc/keys", "/proc/timer_list" };

		snprintf(path, sizeof(path), "%s=0\n", masked[i]);
		if (access(masked[i], F_OK) == 0) /* present on this kernel: hidden inside */
			CHECK_CONTAINS(log, path);
	}
	CHECK_CONTAINS(log, "firmware=0\n");
	CHECK_CONTAINS(log, "sys=ro\n");
	CHECK_CONTAINS(log, "net=lo \n");
	CHECK_CONTAINS(log, "root=rw\n");
	CHECK_CONTAINS(log, "hosts=1\n");
	CHECK_CONTAINS(log, "etchostname=taskhost\n");
	CHECK_CONTAINS(log, "cwd=/work/dir\n");
	CHECK_CONTAINS(log, "FOO=bar HOME=/root HOSTNAME=taskhost\n");
	CHECK_CONTAINS(log, "nofile=100/200\n");
	CHECK_CONTAINS(log, "id=0:0\n");
	CHECK_CONTAINS(log, "dev=fd full mqueue null ptmx pts random shm stderr stdin stdout tty "
			    "urandom zero \n");
	CHECK_CONTAINS(log, "stdin=0\n");
	CHECK_CONTAINS(log, "to-stderr\n");
	snprintf(path, sizeof(path), "%s/x", f.upper[0]);
	CHECK_EQ(stat(path, &sb), 0); /* the write landed in the task's layer */
	snprintf(path, sizeof(path), "%s/x", f.rootfs);
	CHECK(stat(path, &sb) < 0);
	CHECK_EQ(status(&f, "main").exit_code, 0);
out:
	fx_fini(&f);
}

static void test_user_readonly(void)
{
	struct fx f;
	const char *id_script = "touch /tmp/t 2>/dev/null && echo root=rw || echo root=ro; "
				"echo \"id=$(id -u):$(id -g):$(id -G)\"; "
				"grep CapEff /proc/self/status; echo \"home=$HOME\"";
	struct spawn_status st;

	fx_init(&f, true);
	fx_ctr(&f, 0, "num", sh(id_script));
	f.c[0].user = "1000:1000";
	f.c[0].readonly_rootfs = true;
	fx_ctr(&f, 1, "named", sh(id_script));
	f.c[1].user = "app";
	fx_ctr(&f, 2, "nouser", sh(id_script));
	f.c[2].user = "nosuchuser";
	fx_ctr(&f, 3, "nogroup", sh(id_script));
	f.c[3].user = "app:nosuchgroup";
	if (!run(&f))
		goto out;
	CHECK_CONTAINS(slurp(f.log[0]), "root=ro\nid=1000:1000:1000\nCapEff:\t0000000000000000\n");
	CHECK_CONTAINS(slurp(f.log[0]), "home=/home/app\n");
	CHECK_CONTAINS(slurp(f.log[1]), "root=rw\nid=1000:1000:1000 2000\n");
	st = status(&f, "nouser");
	CHECK_EQ(st.state, SPAWN_STATE_EXITED);
	CHECK_STR(st.error, "CannotStartContainerError");
	CHECK_CONTAINS(st.message, "nosuchuser");
	st = status(&f, "nogroup");
	CHECK_CONTAINS(st.message, "nosuchgroup");
out:
	fx_fini(&f);
}

static void test_exit_codes(void)
{
	static char *const missing[] = { "/no/such/command", NULL };
	static char *const missing_path[] = { "no-such-command", NULL };
	const char *ns = "readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt";
	struct spawn_status st;
	struct fx f;
	char a[256], b[256];

	fx_init(&f, false);
	fx_ctr(&f, 0, "three", sh("echo \"ns=$(readlink /proc/self/ns/pid)\"; exit 3"));
	fx_ctr(&f, 1, "killed", sh("kill -9 $$"));
	fx_ctr(&f, 2, "missing", missing);
	fx_ctr(&f, 3, "ns", sh(ns));
	if (!run(&f))
		goto out;
	st = status(&f, "three");
	CHECK_EQ(st.state, SPAWN_STATE_EXITED);
	CHECK_EQ(st.exit_code, 3);
	CHECK_EQ(st.signal, 0);
	CHECK_INT(st.pid, >, 0);
	CHECK_INT(st.started_ms, >, 0);
	CHECK_INT(st.exited_ms, >=, st.started_ms);
	/* The exec time in microseconds too (startedAt), the same instant as "time". */
	CHECK_INT(st.started_us / 1000, ==, st.started_ms);
	st = status(&f, "killed");
	CHECK_EQ(st.signal, 9);
	CHECK_EQ(st.exit_code, 137);
	st = status(&f, "missing");
	CHECK_EQ(st.state, SPAWN_STATE_EXITED);
	CHECK_STR(st.error, "CannotStartContainerError");
	CHECK_EQ(st.error_errno, ENOENT);
	CHECK_CONTAINS(st.message, "No such file or directory");
	CHECK_EQ(st.exit_code, -1);
	st = status(&f, NULL);
	CHECK_EQ(st.state, SPAWN_STATE_EXITED);
	CHECK_EQ(st.exit_code, 0);
	/* Containers share the pid and uts namespaces but not the mount namespace. */
	snprintf(a, sizeof(a), "%s", slurp(f.log[0]));
	snprintf(b, sizeof(b), "%s", slurp(f.log[3]));
	CHECK(strncmp(a, "ns=pid:[", 8) == 0);
	CHECK(strncmp(b, a + 3, strlen(a + 3)) == 0);
	CHECK_EQ(strstr(b, "mnt:[") - b, (long)strlen(a + 3));
	fx_ctr(&f, 0, "missing2", missing_path);
	f.t.n_containers = 1;
	if (!run(&f))
		goto out;
	st = status(&f, "missing2");
	CHECK_EQ(st.error_errno, ENOENT);
	CHECK_CONTAINS(st.message, "exec \"no-such-command\": No such file or directory");
out:
	fx_fini(&f);
}

/* True when one of pid's fds refers to what link (e.g. "pipe:[123]") names. */
static bool has_fd_to(pid_t pid, const char *link)
{
	char dir[64], path[128], target[128];
	bool found = false;
	ssize_t n;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	for (int fd = 0; fd < 1024 && !found; fd++) {
		snprintf(path, sizeof(path), "%s/%d", dir, fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			found = strcmp(target, link) == 0;
		}
	}
	return found;
}

static void test_stop_timeout(void)
{
	static char *const sleeper[] = { "sleep", "30", NULL };
	char leak[128], path[64];
	struct spawn_result r;
	struct spawn_status st;
	long long t0, ms;
	int p[2];
	struct fx f;
	ssize_t n;

	fx_init(&f, false);
	/* Stands for the daemon's listening socket: must not reach the supervisor. */
	CHECK_EQ(pipe(p), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	n = readlink(path, leak, sizeof(leak) - 1);
	leak[n > 0 ? n : 0] = '\0';
	fx_ctr(&f, 0, "stubborn", sh("trap '' TERM; echo ready; while true; do sleep 1; done"));
	f.c[0].stop_timeout = 1;
	fx_ctr(&f, 1, "polite", sleeper);
	CHECK_EQ(spawn_task_start(&f.t, &r), 0);
	CHECK(wait_file(f.run, "polite.started", WAIT_MS));
	for (int i = 0; i < 500 && !strstr(slurp(f.log[0]), "ready"); i++)
		usleep(10000);
	CHECK(spawn_init_alive(r.init_pid, r.init_starttime));
	CHECK(!has_fd_to(r.init_pid, leak));
	CHECK(has_fd_to(getpid(), leak));
	close(p[0]);
	close(p[1]);
	t0 = mono_us();
	CHECK_EQ(spawn_task_stop(r.init_pid, r.init_starttime), 0);
	CHECK(wait_file(f.run, "polite.exit", WAIT_MS));
	finish(&f, &r);
	ms = (mono_us() - t0) / 1000;
	CHECK_INT(ms, >=, 900);
	CHECK_INT(ms, <, 5000);
	st = status(&f, "polite");
	CHECK_EQ(st.signal, SIGTERM);
	st = status(&f, "stubborn");
	CHECK_EQ(st.signal, SIGKILL);
	CHECK(!spawn_init_alive(r.init_pid, r.init_starttime));
	CHECK_EQ(spawn_task_stop(r.init_pid, r.init_starttime), -ESRCH);
	fx_fini(&f);
}

static void test_log_rotation(void)
{
	char path[256];
	struct stat sb;
	struct fx f;

	fx_init(&f, false);
	/* 100 lines of 50 bytes = 5000 bytes through a 1000-byte cap, 3 files kept. */
	fx_ctr(&f, 0, "chatty", sh("for i in $(seq 100); do printf 'line %03d %040d\\n' $i 0; done"));
	f.t.log_max_bytes = 1000;
	f.t.log_max_files = 3;
	if (!run(&f))
		goto out;
	for (int i = 0; i < 3; i++) {
		if (i)
			snprintf(path, sizeof(path), "%s.%d", f.log[0], i);
		else
			snprintf(path, sizeof(path), "%s", f.log[0]);
		CHECK_EQ(stat(path, &sb), 0);
		CHECK_INT(sb.st_size, <=, 1000);
		CHECK_INT(sb.st_size, >, 0);
		CHECK_EQ(sb.st_size % 50, 0); /* cut at line ends */
	}
	snprintf(path, sizeof(path), "%s.3", f.log[0]);
	CHECK(stat(path, &sb) < 0);
	CHECK_CONTAINS(slurp(f.log[0]), "line 100 ");
	snprintf(path, sizeof(path), "%s.2", f.log[0]);
	CHECK(!strstr(slurp(path), "line 001 "));
out:
	fx_fini(&f);
}

/* The process that started the task dies at once; the task runs on and reports. */
static void test_survives_parent(void)
{
	struct spawn_result r = { 0 };
	int p[2], ws;
	pid_t mid;
	struct fx f;

	fx_init(&f, false);
	fx_ctr(&f, 0, "orphan", sh("sleep 1; echo done"));
	CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	CHECK_EQ(pipe(p), 0);
	mid = fork();
	if (mid == 0) {
		if (spawn_task_start(&f.t, &r) < 0 || write(p[1], &r, sizeof(r)) != sizeof(r))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	CHECK_EQ(read(p[0], &r, sizeof(r)), (ssize_t)sizeof(r));
	close(p[0]);
	CHECK_EQ(waitpid(mid, &ws, 0), mid);
	CHECK(spawn_init_alive(r.init_pid, r.init_starttime));
	CHECK(wait_file(f.run, "orphan.started", WAIT_MS));
	if (r.init_pid > 0)
		finish(&f, &r); /* re-parented to us, the subreaper */
	CHECK_EQ(status(&f, "orphan").exit_code, 0);
	CHECK_CONTAINS(slurp(f.log[0]), "done\n");
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	fx_fini(&f);
}

static void test_host_network(void)
{
	char host[128] = "", want[200];
	const char *log;
	int lines;
	struct fx f;

	gethostname(host, sizeof(host) - 1);
	fx_init(&f, false);
	fx_ctr(&f, 0, "hostnet",
	       sh("echo \"host=$(hostname)\"; echo \"ifs=$(tail -n +3 /proc/net/dev | wc -l)\""));
	f.t.host_network = true;
	f.t.hostname = NULL;
	if (!run(&f))
		goto out;
	log = slurp(f.log[0]);
	snprintf(want, sizeof(want), "host=%s\n", host);
	CHECK_CONTAINS(log, want);
	/* The host's interfaces, counted the same way (two header lines). */
	lines = 0;
	for (const char *q = slurp("/proc/net/dev"); (q = strchr(q, '\n')); q++)
		lines++;
	snprintf(want, sizeof(want), "ifs=%d\n", lines - 2);
	CHECK_CONTAINS(log, want);
out:
	fx_fini(&f);
}

/* Makes dir (a cgroup) and returns its cgroup.procs path in procs. */
static bool mk_cgroup(const char *dir, char *procs, size_t size)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return false;
	snprintf(procs, size, "%s/cgroup.procs", dir);
	return true;
}

static bool file_has_pid(const char *path, int pid)
{
	char want[32], buf[4096];

	snprintf(buf, sizeof(buf), "\n%s", slurp(path));
	snprintf(want, sizeof(want), "\n%d\n", pid);
	return strstr(buf, want) != NULL;
}

static void test_cgroups(void)
{
	char root[128], dirs[2][192], procs[2][256];
	char *init_procs[2] = { procs[0], NULL }, *a_procs[2] = { procs[1], NULL };
	struct spawn_result r;
	struct spawn_status st;
	struct statfs sfs;
	struct fx f;

	if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
		snprintf(root, sizeof(root), "/sys/fs/cgroup/berth-spawntest-%d", (int)getpid());
	else
		snprintf(root, sizeof(root), "/sys/fs/cgroup/memory/berth-spawntest-%d",
			 (int)getpid());
	snprintf(dirs[0], sizeof(dirs[0]), "%s/init", root);
	snprintf(dirs[1], sizeof(dirs[1]), "%s/a", root);
	CHECK_EQ(mkdir(root, 0755), 0);
	CHECK(mk_cgroup(dirs[0], procs[0], sizeof(procs[0])));
	CHECK(mk_cgroup(dirs[1], procs[1], sizeof(procs[1])));
	fx_init(&f, false);
	/* a leaves a background process behind; b must not see it after a is gone. */
	fx_ctr(&f, 0, "a", sh("sleep 100 & sleep 0.5; exit 0"));
	f.c[0].cgroup_procs = a_procs;
	fx_ctr(&f, 1, "b", sh("sleep 1.5; ps -o args"));
	f.t.init_cgroup_procs = init_procs;
	CHECK_EQ(spawn_task_start(&f.t, &r), 0);
	CHECK(wait_file(f.run, "a.started", WAIT_MS));
	st = status(&f, "a");
	CHECK(file_has_pid(procs[1], st.pid));
	CHECK(file_has_pid(procs[0], r.init_pid));
	finish(&f, &r);
	CHECK(!strstr(slurp(f.log[1]), "sleep 100"));
	CHECK_CONTAINS(slurp(f.log[1]), "ps -o args");
	CHECK_EQ(status(&f, "a").exit_code, 0);
	fx_fini(&f);
	CHECK_EQ(rmdir(dirs[1]), 0);
	CHECK_EQ(rmdir(dirs[0]), 0);
	CHECK_EQ(rmdir(root), 0);
}

/* A task that cannot be set up reports the error for every container and for the task. */
static void test_setup_failure(void)
{
	static char *const bad[] = { "/nonexistent/cgroup.procs", NULL };
	struct spawn_result r;
	struct spawn_status st;
	struct fx f;
	int ws = 0;

	fx_init(&f, false);
	fx_ctr(&f, 0, "a", sh("true"));
	fx_ctr(&f, 1, "b", sh("true"));
	f.t.init_cgroup_procs = bad;
	CHECK_EQ(spawn_task_start(&f.t, &r), 0);
	CHECK(wait_file(f.run, "task.done", WAIT_MS));
	CHECK_EQ(waitpid(r.init_pid, &ws, 0), r.init_pid);
	st = status(&f, NULL);
	CHECK_EQ(st.state, SPAWN_STATE_EXITED);
	CHECK_STR(st.error, "CannotStartContainerError");
	CHECK_CONTAINS(st.message, "join cgroup /nonexistent/cgroup.procs: No such file");
	st = status(&f, "b");
	CHECK_EQ(st.state, SPAWN_STATE_EXITED);
	CHECK_EQ(st.error_errno, ENOENT);
	fx_fini(&f);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* spawn_task_start() to "<c>.started", over 20 runs; printed, not asserted. */
static void test_latency(void)
{
	static char *const cmd[] = { "true", NULL };
	long long us[20], t0;
	struct spawn_result r;
	char name[32];
	struct fx f;

	fx_init(&f, false);
	for (int i = 0; i < 20; i++) {
		/* A fresh run dir per task, as the daemon makes them. */
		snprintf(f.run, sizeof(f.run), "%s/run%d", f.base, i);
		mkdir(f.run, 0755);
		f.t.run_dir = f.run;
		snprintf(name, sizeof(name), "c%d", i);
		fx_ctr(&f, 0, name, cmd);
		f.t.n_containers = 1;
		t0 = mono_us();
		CHECK_EQ(spawn_task_start(&f.t, &r), 0);
		snprintf(name, sizeof(name), "c%d.started", i);
		CHECK(wait_file(f.run, name, WAIT_MS));
		us[i] = mono_us() - t0;
		finish(&f, &r);
	}
	qsort(us, 20, sizeof(us[0]), cmp_ll);
	printf("# spawn -> started over 20 runs: p50 %.2f ms, p90 %.2f ms, max %.2f ms\n",
	       us[10] / 1000.0, us[18] / 1000.0, us[19] / 1000.0);
	fx_fini(&f);
}

/* Tasks started through the zygote run like the others and outlive it. */
static void test_zygote(void)
{
	static char *const cmd[] = { "true", NULL };
	struct spawn_zygote *z = NULL;
	struct spawn_result r, r2;
	long long us[20], t0;
	char name[32];
	struct fx f;

	fx_init(&f, false);
	CHECK_EQ(spawn_zygote_start(&z), 0);
	fx_ctr(&f, 0, "viaz", sh("echo \"host=$(hostname) pid=$$ ppid=$PPID\"; exit 4"));
	CHECK_EQ(spawn_zygote_task_start(z, &f.t, &r), 0);
	finish_foreign(&f, &r);
	CHECK_EQ(status(&f, "viaz").exit_code, 4);
	CHECK_CONTAINS(slurp(f.log[0]), "host=taskhost pid=2 ppid=0\n");
	f.t.run_dir = "/nonexistent";
	CHECK_EQ(spawn_zygote_task_start(z, &f.t, &r), -ENOENT);
	for (int i = 0; i < 20; i++) {
		snprintf(f.run, sizeof(f.run), "%s/zrun%d", f.base, i);
		mkdir(f.run, 0755);
		f.t.run_dir = f.run;
		snprintf(name, sizeof(name), "z%d", i);
		fx_ctr(&f, 0, name, cmd);
		t0 = mono_us();
		CHECK_EQ(spawn_zygote_task_start(z, &f.t, &r), 0);
		snprintf(name, sizeof(name), "z%d.started", i);
		CHECK(wait_file(f.run, name, WAIT_MS));
		us[i] = mono_us() - t0;
		finish_foreign(&f, &r);
	}
	qsort(us, 20, sizeof(us[0]), cmp_ll);
	printf("# zygote spawn -> started over 20 runs: p50 %.2f ms, p90 %.2f ms, max %.2f ms\n",
	       us[10] / 1000.0, us[18] / 1000.0, us[19] / 1000.0);
	/* The zygote dies; the running task goes on, and the next start says so. */
	snprintf(f.run, sizeof(f.run), "%s/zlast", f.base);
	mkdir(f.run, 0755);
	f.t.run_dir = f.run;
	fx_ctr(&f, 0, "survivor", sh("sleep 1; echo done"));
	CHECK_EQ(spawn_zygote_task_start(z, &f.t, &r), 0);
	CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	kill(spawn_zygote_pid(z), SIGKILL);
	CHECK_EQ(spawn_zygote_task_start(z, &f.t, &r2), -EPIPE);
	finish(&f, &r); /* re-parented to us, the subreaper */
	CHECK_CONTAINS(slurp(f.log[0]), "done\n");
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	spawn_zygote_free(z);
	spawn_zygote_free(NULL);
	fx_fini(&f);
}

/* How many children pid has. */
static int child_count(pid_t pid)
{
	char path[64];
	FILE *f;
	int n = 0, c;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	while (fscanf(f, "%d", &c) == 1)
		n++;
	fclose(f);
	return n;
}

/* Pids of the warm supervisors (children of the zygote titled "berth-task"), up to max. */
static size_t warm_pids(pid_t zygote, pid_t *out, size_t max)
{
	char path[64], buf[4096];
	size_t n = 0;
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)zygote, (int)zygote);
	if (!(f = fopen(path, "re")))
		return 0;
	while (n < max && fscanf(f, "%d", &pid) == 1) {
		snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
		snprintf(buf, sizeof(buf), "%s", slurp(path));
		if (strstr(buf, "(warm)"))
			out[n++] = pid;
	}
	fclose(f);
	return n;
}

/* A pool of warm supervisors: a task takes one (already in its own namespaces), runs as any
 * other, the pool is refilled, a host-network task still starts fresh, and the warm ones end
 * with the zygote. */
static void test_zygote_pool(void)
{
	static char *const cmd[] = { "true", NULL };
	pid_t warm[8], again[8], zpid;
	struct spawn_zygote *z = NULL;
	struct spawn_result r;
	long long us[20], t0;
	char name[32], host[128] = "", want[200];
	size_t n = 0;
	struct fx f;

	char stage[128];

	fx_init(&f, false);
	snprintf(stage, sizeof(stage), "%s/stage", f.base);
	CHECK_EQ(mkdir(stage, 0700), 0);
	CHECK_EQ(spawn_zygote_start_pool(&z, 2, stage), 0);
	zpid = spawn_zygote_pid(z);
	for (int i = 0; i < 200 && (n = warm_pids(zpid, warm, 8)) < 2; i++)
		usleep(10000);
	CHECK_EQ(n, 2);
	/* Each has its init and its first container's process forked ahead (staged). */
	for (int i = 0; i < 200 && child_count(warm[0]) < 2; i++)
		usleep(10000);
	CHECK_EQ(child_count(warm[0]), 2);
	fx_ctr(&f, 0, "warm", sh("echo \"host=$(hostname) pid=$$ ppid=$PPID\"; "
				 "echo \"ifs=$(tail -n +3 /proc/net/dev | wc -l)\"; "
				 "echo \"nice=$(cut -d' ' -f19 /proc/self/stat)\"; exit 5"));
	CHECK_EQ(spawn_zygote_task_start(z, &f.t, &r), 0);
	CHECK(r.init_pid == warm[0] || r.init_pid == warm[1]);
	finish_foreign(&f, &r);
	CHECK_EQ(status(&f, "warm").exit_code, 5);
	/* The launch's priority boost stays outside: the container runs at our nice. */
	errno = 0;
	snprintf(want, sizeof(want), "host=taskhost pid=2 ppid=0\nifs=1\nnice=%d\n",
		 getpriority(PRIO_PROCESS, 0));
	CHECK_CONTAINS(slurp(f.log[0]), want);
	/* Refilled a moment later, with a new process. */
	for (int i = 0; i < 200 && warm_pids(zpid, again, 8) < 2; i++)
		usleep(10000);
	CHECK_EQ(warm_pids(zpid, again, 8), 2);
	CHECK(again[0] != r.init_pid && again[1] != r.init_pid);
	/* The host network is never a warm supervisor's. */
	gethostname(host, sizeof(host) - 1);
	snprintf(f.run, sizeof(f.run), "%s/prun-host", f.base);
	mkdir(f.run, 0755);
	f.t.run_dir = f.run;
	fx_ctr(&f, 0, "hostnet", sh("echo \"host=$(hostname)\""));
	f.t.host_network = true;
	f.t.hostname = NULL;
	CHECK_EQ(spawn_zygote_task_start(z, &f.t, &r), 0);
	CHECK(r.init_pid != again[0] && r.init_pid != again[1]);
	finish_foreign(&f, &r);
	snprintf(want, sizeof(want), "host=%s\n", host);
	CHECK_CONTAINS(slurp(f.log[0]), want);
	f.t.host_network = false;
	f.t.hostname = "taskhost";
	for (int i = 0; i < 20; i++) {
		snprintf(f.run, sizeof(f.run), "%s/prun%d", f.base, i);
		mkdir(f.run, 0755);
		f.t.run_dir = f.run;
		snprintf(name, sizeof(name), "p%d", i);
		fx_ctr(&f, 0, name, cmd);
		usleep(50000); /* the pool refills between launches */
		t0 = mono_us();
		CHECK_EQ(spawn_zygote_task_start(z, &f.t, &r), 0);
		snprintf(name, sizeof(name), "p%d.started", i);
		CHECK(wait_file(f.run, name, WAIT_MS));
		us[i] = mono_us() - t0;
		finish_foreign(&f, &r);
	}
	qsort(us, 20, sizeof(us[0]), cmp_ll);
	printf("# pooled zygote spawn -> started over 20 runs: p50 %.2f ms, p90 %.2f ms, "
	       "max %.2f ms\n", us[10] / 1000.0, us[18] / 1000.0, us[19] / 1000.0);
	for (int i = 0; i < 200 && (n = warm_pids(zpid, warm, 8)) < 2; i++)
		usleep(10000);
	CHECK_EQ(n, 2);
	spawn_zygote_free(z);
	for (size_t i = 0; i < n; i++) {
		int k = 0;

		while (k++ < 200 && kill(warm[i], 0) == 0)
			usleep(10000);
		CHECK(kill(warm[i], 0) < 0);
	}
	fx_fini(&f);
}

static void dep(struct fx *f, int i, struct spawn_dependency *d, size_t index,
		enum spawn_condition cond)
{
	d->index = index;
	d->condition = cond;
	f->c[i].depends_on = d;
	f->c[i].n_depends_on = 1;
}

/* dependsOn START / COMPLETE / SUCCESS, seen in the status files' times, and what happens
 * when a condition can no longer be met. */
static void test_depends_order(void)
{
	struct spawn_dependency d[6];
	struct spawn_status db, st;
	struct fx f;

	fx_init(&f, false);
	fx_ctr(&f, 0, "db", sh("sleep 0.5; exit 0"));
	fx_ctr(&f, 1, "web", sh("true"));
	dep(&f, 1, &d[1], 0, SPAWN_COND_START);
	fx_ctr(&f, 2, "job", sh("true"));
	dep(&f, 2, &d[2], 0, SPAWN_COND_COMPLETE);
	fx_ctr(&f, 3, "app", sh("true"));
	dep(&f, 3, &d[3], 0, SPAWN_COND_SUCCESS);
	if (!run(&f))
		goto out;
	db = status(&f, "db");
	st = status(&f, "web");
	CHECK_EQ(st.exit_code, 0);
	CHECK_INT(st.started_ms, >=, db.started_ms);
	CHECK_INT(st.started_ms, <, db.exited_ms); /* while db runs */
	st = status(&f, "job");
	CHECK_EQ(st.exit_code, 0);
	CHECK_INT(st.started_ms, >=, db.exited_ms);
	st = status(&f, "app");
	CHECK_EQ(st.exit_code, 0);
	CHECK_INT(st.started_ms, >=, db.exited_ms);
	fx_fini(&f);

	fx_init(&f, false);
	fx_ctr(&f, 0, "db", sh("sleep 0.2; exit 3"));
	fx_ctr(&f, 1, "app", sh("echo never"));
	dep(&f, 1, &d[1], 0, SPAWN_COND_SUCCESS);
	fx_ctr(&f, 2, "next", sh("echo never"));
	dep(&f, 2, &d[2], 1, SPAWN_COND_START);
	fx_ctr(&f, 3, "job", sh("exit 0"));
	dep(&f, 3, &d[3], 0, SPAWN_COND_COMPLETE);
	if (!run(&f))
		goto out;
	st = status(&f, "app");
	CHECK_EQ(st.state, SPAWN_STATE_EXITED);
	CHECK_EQ(st.started_ms, 0);
	CHECK_STR(st.error, "CannotStartContainerError");
	CHECK_CONTAINS(st.message, "dependency db exited with 3");
	st = status(&f, "next");
	CHECK_CONTAINS(st.message, "dependency app did not start");
	CHECK_EQ(status(&f, "job").exit_code, 0);
	CHECK(!strstr(slurp(f.log[1]), "never"));
out:
	fx_fini(&f);
}

/* HEALTHY waits for "<dep>.healthy" from the daemon; a dependency that exits first fails it. */
static void test_depends_healthy(void)
{
	struct spawn_dependency d[3];
	struct spawn_result r;
	struct spawn_status st;
	long long marked;
	struct fx f;

	fx_init(&f, false);
	fx_ctr(&f, 0, "db", sh("sleep 30"));
	fx_ctr(&f, 1, "web", sh("sleep 30"));
	dep(&f, 1, &d[1], 0, SPAWN_COND_HEALTHY);
	fx_ctr(&f, 2, "early", sh("sleep 0.2"));
	fx_ctr(&f, 3, "late", sh("echo never"));
	dep(&f, 3, &d[2], 2, SPAWN_COND_HEALTHY);
	CHECK_EQ(spawn_task_start(&f.t, &r), 0);
	CHECK(wait_file(f.run, "db.started", WAIT_MS));
	CHECK(!wait_file(f.run, "web.started", 500));
	CHECK_EQ(spawn_mark_healthy(f.run, "db.x"), -EINVAL);
	marked = status(&f, "db").started_ms + 500;
	CHECK_EQ(spawn_mark_healthy(f.run, "db"), 0);
	CHECK(wait_file(f.run, "web.started", WAIT_MS));
	CHECK_INT(status(&f, "web").started_ms, >=, marked);
	CHECK(wait_file(f.run, "late.exit", WAIT_MS));
	st = status(&f, "late");
	CHECK_CONTAINS(st.message, "dependency early exited with 0 before it was healthy");
	CHECK_EQ(spawn_classify_file("db.healthy", NULL, 0), SPAWN_FILE_HEALTHY);
	CHECK_EQ(spawn_task_stop(r.init_pid, r.init_starttime), 0);
	finish(&f, &r);
	fx_fini(&f);
}

/* A stop goes in reverse dependency order: db is signalled only after web (slow to stop)
 * has exited; a container still waiting for its dependencies never starts. */
static void test_stop_order(void)
{
	struct spawn_dependency d[2];
	struct spawn_result r;
	struct spawn_status db, web, st;
	struct fx f;

	fx_init(&f, false);
	fx_ctr(&f, 0, "db", sh("trap 'exit 0' TERM; while :; do sleep 0.05; done"));
	fx_ctr(&f, 1, "web", sh("trap 'sleep 0.5; exit 0' TERM; while :; do sleep 0.05; done"));
	dep(&f, 1, &d[0], 0, SPAWN_COND_START);
	fx_ctr(&f, 2, "waits", sh("echo never"));
	dep(&f, 2, &d[1], 0, SPAWN_COND_HEALTHY);
	CHECK_EQ(spawn_task_start(&f.t, &r), 0);
	CHECK(wait_file(f.run, "web.started", WAIT_MS));
	usleep(200000); /* both traps set */
	CHECK_EQ(spawn_task_stop(r.init_pid, r.init_starttime), 0);
	if (!finish(&f, &r))
		goto out;
	db = status(&f, "db");
	web = status(&f, "web");
	CHECK_EQ(web.exit_code, 0);
	CHECK_EQ(db.exit_code, 0);
	CHECK_INT(db.exited_ms, >=, web.exited_ms);
	st = status(&f, "waits");
	CHECK_CONTAINS(st.message, "stopped before the dependencies");
	CHECK_INT(st.exited_ms, <=, web.exited_ms);
out:
	fx_fini(&f);
}

static const char counter[] = "n=$(cat /n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /n; "
			      "echo run $n; ";

/* restartPolicy: in place (the writable layer and the log go on), counted, ignoredExitCodes
 * and restartAttemptPeriod honoured; ".exit" only for the final exit. */
static void test_restart(void)
{
	static const int ignored[] = { 5 };
	struct spawn_status st;
	char a[256], c[256];
	struct fx f;

	snprintf(a, sizeof(a), "%s[ $n -ge 3 ] && exit 5; exit 1", counter);
	snprintf(c, sizeof(c), "%s[ $n -ge 2 ] && exit 0; sleep 0.5; exit 1", counter);
	fx_init(&f, false);
	fx_ctr(&f, 0, "a", sh(a));
	f.c[0].restart_enabled = true;
	f.c[0].ignored_exit_codes = ignored;
	f.c[0].n_ignored_exit_codes = 1;
	fx_ctr(&f, 1, "b", sh("exit 1"));
	f.c[1].restart_enabled = true;
	f.c[1].restart_attempt_ms = 1000;
	fx_ctr(&f, 2, "c", sh(c));
	f.c[2].restart_enabled = true;
	f.c[2].restart_attempt_ms = 300;
	if (!run(&f))
		goto out;
	st = status(&f, "a");
	CHECK_EQ(st.exit_code, 5);
	CHECK_EQ(st.restart_count, 2);
	CHECK_CONTAINS(slurp(f.log[0]), "run 1\nrun 2\nrun 3\n");
	snprintf(a, sizeof(a), "%s/a.restarted", f.run);
	CHECK_CONTAINS(slurp(a), "\"restartCount\":2");
	CHECK_CONTAINS(slurp(a), "\"exitCode\":1");
	snprintf(a, sizeof(a), "%s/a.started", f.run);
	CHECK_CONTAINS(slurp(a), "\"restartCount\":2");
	CHECK_EQ(spawn_classify_file("a.restarted", NULL, 0), SPAWN_FILE_RESTARTED);
	st = status(&f, "b");
	CHECK_EQ(st.exit_code, 1);
	CHECK_EQ(st.restart_count, 0);
	st = status(&f, "c");
	CHECK_EQ(st.exit_code, 0);
	CHECK_EQ(st.restart_count, 1);
	CHECK_CONTAINS(slurp(f.log[2]), "run 1\nrun 2\n");
out:
	fx_fini(&f);
}

static void test_order_validation(void)
{
	struct spawn_dependency d[2] = { { 1, SPAWN_COND_START }, { 0, SPAWN_COND_START } };
	struct spawn_result r;
	struct fx f;

	fx_init(&f, false);
	fx_ctr(&f, 0, "a", sh("true"));
	fx_ctr(&f, 1, "b", sh("true"));
	f.c[0].depends_on = &d[0];
	f.c[0].n_depends_on = 1;
	f.c[1].depends_on = &d[1];
	f.c[1].n_depends_on = 1;
	CHECK_EQ(spawn_task_start(&f.t, &r), -EINVAL); /* cycle */
	f.c[1].n_depends_on = 0;
	d[0].index = 0;
	CHECK_EQ(spawn_task_start(&f.t, &r), -EINVAL); /* itself */
	d[0].index = 7;
	CHECK_EQ(spawn_task_start(&f.t, &r), -EINVAL); /* out of range */
	d[0].index = 1;
	f.c[0].restart_attempt_ms = -1;
	CHECK_EQ(spawn_task_start(&f.t, &r), -EINVAL);
	fx_fini(&f);
}

/* The zygote carries dependencies and restart policies over. */
static void test_zygote_policy(void)
{
	static const int ignored[] = { 5 };
	struct spawn_dependency d = { 0, SPAWN_COND_SUCCESS };
	struct spawn_zygote *z = NULL;
	struct spawn_result r;
	struct spawn_status st;
	char a[256];
	struct fx f;

	snprintf(a, sizeof(a), "%s[ $n -ge 2 ] && exit 5; exit 1", counter);
	fx_init(&f, false);
	CHECK_EQ(spawn_zygote_start(&z), 0);
	fx_ctr(&f, 0, "a", sh(a));
	f.c[0].restart_enabled = true;
	f.c[0].ignored_exit_codes = ignored;
	f.c[0].n_ignored_exit_codes = 1;
	fx_ctr(&f, 1, "b", sh("true"));
	f.c[1].depends_on = &d;
	f.c[1].n_depends_on = 1;
	CHECK_EQ(spawn_zygote_task_start(z, &f.t, &r), 0);
	finish_foreign(&f, &r);
	st = status(&f, "a");
	CHECK_EQ(st.exit_code, 5);
	CHECK_EQ(st.restart_count, 1);
	CHECK_CONTAINS(status(&f, "b").message, "dependency a exited with 5");
	spawn_zygote_free(z);
	fx_fini(&f);
}

UNIT_MAIN(test_validation, test_status_files, test_isolation, test_user_readonly,
	  test_exit_codes, test_stop_timeout, test_log_rotation, test_survives_parent,
	  test_host_network, test_cgroups, test_setup_failure, test_latency, test_zygote,
	  test_depends_order, test_depends_healthy, test_stop_order, test_restart,
	  test_order_validation, test_zygote_policy, test_zygote_pool)
