/* SPDX-License-Identifier: MIT */
/* test_cgroup_devices.c: device access control of task cgroups: runc's device rules on v1 and
 * fixture trees, the BPF device program on cgroup2, and on this host's real cgroups (root). */
#include "tests/unit/cgroup_test.h"

/* ---- device access control ---- */

/* runc's default device rules, as the v1 devices.list of a restricted cgroup shows them. */
static const char device_rules[] =
	"c *:* m\nb *:* m\nc 1:3 rwm\nc 1:8 rwm\nc 1:7 rwm\nc 5:0 rwm\nc 1:5 rwm\nc 1:9 rwm\n"
	"c 136:* rwm\nc 5:2 rwm\nc 10:200 rwm\n";

static void test_devices_fixture(void)
{
	char tmp[64], root[128], p[256], *text;
	struct cgroup_env env;

	if (fixture_copy("v1", tmp, root) < 0 ||
	    cgroup_env_init_fixture(&env, CGROUP_MODE_V1, root) < 0) {
		UNIT_FAIL("cannot set up fixture");
		return;
	}
#define AT(ctrl, rel, file) (snprintf(p, sizeof(p), "%s/%s/%s%s", root, ctrl, rel, file), p)
	CHECK(env.controllers & (1u << CGROUP_CTRL_DEVICES));
	CHECK_CONTAINS(env.v1[CGROUP_CTRL_DEVICES], "/devices");
	CHECK_EQ(cgroup_create(&env, "berth.slice/demo/t5", NULL), 0);
	CHECK_EQ(cgroup_restrict_devices(&env, "berth.slice/demo/t5"), 0);
	text = slurp(AT("devices", "berth.slice/demo/t5", "/devices.deny"));
	CHECK_STR(text, "a\n");
	free(text);
	text = slurp(AT("devices", "berth.slice/demo/t5", "/devices.allow"));
	CHECK_STR(text, device_rules);
	free(text);
	CHECK(!exists(AT("memory", "berth.slice/demo/t5", "/devices.allow")));
	/* Rules already in place (the fixture task's devices.list): nothing is written. */
	CHECK_EQ(cgroup_restrict_devices(&env, "berth.slice/demo/" TASK), 0);
	CHECK(!exists(AT("devices", "berth.slice/demo/" TASK, "/devices.deny")));
	CHECK_EQ(cgroup_restrict_devices(&env, "berth.slice/demo/missing"), -ENOENT);
	CHECK_EQ(cgroup_restrict_devices(&env, "../x"), -EINVAL);
	CHECK_EQ(cgroup_restrict_devices(&env, NULL), -EINVAL);

	/* Hybrid: the v1 lists are written, no program is attached to a fixture's unified tree. */
	CHECK_EQ(mkdir(AT("unified", "", ""), 0755), 0);
	CHECK_EQ(cgroup_env_init_fixture(&env, CGROUP_MODE_HYBRID, root), 0);
	CHECK_EQ(cgroup_create(&env, "berth.slice/demo/t6", NULL), 0);
	CHECK_EQ(cgroup_restrict_devices(&env, "berth.slice/demo/t6"), 0);
	text = slurp(AT("devices", "berth.slice/demo/t6", "/devices.allow"));
	CHECK_STR(text, device_rules);
	free(text);

	/* A v1 host without the devices controller: created everywhere else, restricted nowhere. */
	CHECK_EQ(cgroup_remove(&env, "berth.slice"), 0);
	CHECK_EQ(file_remove_tree(AT("devices", "", "")), 0);
	CHECK_EQ(cgroup_env_init_fixture(&env, CGROUP_MODE_V1, root), 0);
	CHECK(!(env.controllers & (1u << CGROUP_CTRL_DEVICES)));
	CHECK_EQ(cgroup_create(&env, "berth.slice/t7", NULL), 0);
	CHECK_EQ(cgroup_restrict_devices(&env, "berth.slice/t7"), 0);
	CHECK(exists(AT("pids", "berth.slice/t7", "")));
#undef AT
	fixture_drop(tmp);

	/* v2 fixture: nothing to attach a program to; skipped, and no file is made. */
	if (fixture_copy("v2", tmp, root) < 0 ||
	    cgroup_env_init_fixture(&env, CGROUP_MODE_V2, root) < 0) {
		UNIT_FAIL("cannot set up fixture");
		return;
	}
	CHECK(env.controllers & (1u << CGROUP_CTRL_DEVICES));
	CHECK_EQ(cgroup_create(&env, "berth.slice/demo/t8", NULL), 0);
	CHECK_EQ(cgroup_restrict_devices(&env, "berth.slice/demo/t8"), 0);
	snprintf(p, sizeof(p), "%s/berth.slice/demo/t8/devices.allow", root);
	CHECK(!exists(p));
	CHECK_EQ(cgroup_restrict_devices(&env, "a//b"), -EINVAL);
	fixture_drop(tmp);
}

/* What a child in a restricted cgroup tries, each giving 0 or an errno. */
enum probe {
	PROBE_MKNOD_BLOCK, /* mknod of the host's disk: allowed ("b *:* m") */
	PROBE_OPEN_BLOCK,  /* opening it: EPERM */
	PROBE_OPEN_NULL,   /* /dev/null: allowed */
	PROBE_MKNOD_MEM,   /* c 1:1 (/dev/mem): mknod allowed */
	PROBE_OPEN_MEM,    /* opening it: EPERM */
	PROBE_MKNOD_ZERO,  /* c 1:5 made by the child */
	PROBE_OPEN_ZERO,   /* opening it: allowed */
	PROBE_OPEN_PTMX,   /* /dev/ptmx (c 5:2; needs a pts dir beside it), read-write: allowed */
	PROBE_OPEN_CONSOLE, /* c 5:1 made by the child: EPERM (runc dropped it) */
	PROBE_COUNT,
};

static int try_mknod(const char *dir, const char *name, mode_t type, dev_t dev)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return mknod(path, type | 0600, dev) == 0 ? 0 : errno;
}

static int try_open(const char *dir, const char *name, int flags)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
	fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* A block device of this host that this (unrestricted) process can open through a node made
 * in dir; some hosts guard their root disk by other means as well. */
static bool host_block_device(const char *dir, dev_t *dev)
{
	DIR *d = opendir("/sys/dev/block");
	struct dirent *de;
	unsigned maj, min;
	char path[256];
	bool found = false;

	while (d && !found && (de = readdir(d))) {
		if (sscanf(de->d_name, "%u:%u", &maj, &min) != 2 ||
		    try_mknod(dir, "host-disk", S_IFBLK, makedev(maj, min)) != 0)
			continue;
		found = try_open(dir, "host-disk", O_RDONLY) == 0;
		snprintf(path, sizeof(path), "%s/host-disk", dir);
		unlink(path);
		*dev = makedev(maj, min);
	}
	if (d)
		closedir(d);
	return found;
}

static void probe_child(int go, int out, const char *dir, dev_t blk)
{
	int res[PROBE_COUNT];
	char c;

	if (read(go, &c, 1) != 1)
		_exit(2);
	res[PROBE_MKNOD_BLOCK] = try_mknod(dir, "disk", S_IFBLK, blk);
	res[PROBE_OPEN_BLOCK] = try_open(dir, "disk", O_RDONLY);
	res[PROBE_OPEN_NULL] = try_open(NULL, "/dev/null", O_RDWR);
	res[PROBE_MKNOD_MEM] = try_mknod(dir, "mem", S_IFCHR, makedev(1, 1));
	res[PROBE_OPEN_MEM] = try_open(dir, "mem", O_RDONLY);
	res[PROBE_MKNOD_ZERO] = try_mknod(dir, "zero", S_IFCHR, makedev(1, 5));
	res[PROBE_OPEN_ZERO] = try_open(dir, "zero", O_RDWR);
	res[PROBE_OPEN_PTMX] = try_open(NULL, "/dev/ptmx", O_RDWR);
	res[PROBE_OPEN_CONSOLE] = try_mknod(dir, "console", S_IFCHR, makedev(5, 1));
	if (res[PROBE_OPEN_CONSOLE] == 0)
		res[PROBE_OPEN_CONSOLE] = try_open(dir, "console", O_RDONLY);
	_exit(write(out, res, sizeof(res)) == (ssize_t)sizeof(res) ? 0 : 3);
}

/* Runs the probes in a child placed in rel and checks runc's semantics: any node may be made,
 * only the allowed character devices opened. The block device opens from here (unrestricted),
 * so an EPERM in the child comes from the cgroup. */
static void check_devices_denied(const struct cgroup_env *env, const char *rel)
{
	char dir[] = "/tmp/berth-dev-XXXXXX";
	int go[2], out[2], res[PROBE_COUNT], status;
	dev_t blk = 0;
	pid_t pid;

	if (!mkdtemp(dir)) {
		UNIT_FAIL("cannot make a temporary directory");
		return;
	}
	if (!host_block_device(dir, &blk)) {
		UNIT_FAIL("no block device of this host opens from an unrestricted cgroup");
		file_remove_tree(dir);
		return;
	}
	for (int i = 0; i < PROBE_COUNT; i++)
		res[i] = -1;
	CHECK_EQ(pipe2(go, O_CLOEXEC), 0);
	CHECK_EQ(pipe2(out, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		probe_child(go[0], out[1], dir, blk);
	}
	close(go[0]);
	close(out[1]);
	CHECK_INT(pid, >, 0);
	CHECK_EQ(cgroup_attach(env, rel, pid), 0);
	CHECK_EQ(write(go[1], "g", 1), 1);
	close(go[1]);
	CHECK_EQ(read(out[0], res, sizeof(res)), (ssize_t)sizeof(res));
	close(out[0]);
	status = wait_child(pid);
	CHECK(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ(res[PROBE_MKNOD_BLOCK], 0);
	CHECK_EQ(res[PROBE_OPEN_BLOCK], EPERM);
	CHECK_EQ(res[PROBE_OPEN_NULL], 0);
	CHECK_EQ(res[PROBE_MKNOD_MEM], 0);
	CHECK_EQ(res[PROBE_OPEN_MEM], EPERM);
	CHECK_EQ(res[PROBE_MKNOD_ZERO], 0);
	CHECK_EQ(res[PROBE_OPEN_ZERO], 0);
	CHECK_EQ(res[PROBE_OPEN_PTMX], 0);
	CHECK_EQ(res[PROBE_OPEN_CONSOLE], EPERM);
	CHECK(wait_unpopulated(env, rel));
	CHECK_EQ(file_remove_tree(dir), 0);
}

/* Number of device programs attached to rel itself in the cgroup2 tree of env. */
static int device_programs(const struct cgroup_env *env, const char *rel)
{
	__u32 ids[16], n = 16, flags = 0;
	char path[512];
	int fd, r;

	snprintf(path, sizeof(path), "%s/%s", env->unified, rel);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	r = bpf_prog_query(fd, BPF_CGROUP_DEVICE, 0, &flags, ids, &n);
	close(fd);
	return r < 0 ? r : (int)n;
}

/* An env for the cgroup2 tree alone: the host's on v2, else the unified tree of a hybrid host
 * (a controller-less v2 tree). */
static bool cgroup2_env(struct cgroup_env *env)
{
	struct statfs sf;

	if (!real_env(env))
		return false;
	if (env->mode == CGROUP_MODE_V2)
		return true;
	if (statfs("/sys/fs/cgroup/unified", &sf) < 0 || sf.f_type != CGROUP2_SUPER_MAGIC) {
		printf("# skip: no cgroup2 tree\n");
		return false;
	}
	return cgroup_env_detect(env, "/sys/fs/cgroup/unified") == 0;
}

/* The v1 devices controller alone (a hybrid host seen as v1): devices.list is exactly runc's
 * rules, inherited by children, and enforced. */
static void test_real_devices_v1(void)
{
	char rel[128], crel[128], path[512], *text;
	struct cgroup_env env;

	if (!real_env(&env))
		return;
	if (env.mode == CGROUP_MODE_V2 || !env.v1[CGROUP_CTRL_DEVICES][0]) {
		printf("# skip: no v1 devices controller\n");
		return;
	}
	env.mode = CGROUP_MODE_V1;
	env.unified[0] = '\0';
	rel_of(rel, sizeof(rel), "/demo/task-dev1");
	snprintf(crel, sizeof(crel), "%s/web", rel);
	CHECK_EQ(cgroup_create(&env, rel, NULL), 0);
	CHECK_EQ(cgroup_restrict_devices(&env, rel), 0);
	CHECK_EQ(cgroup_path(&env, CGROUP_CTRL_DEVICES, rel, "devices.list", path, sizeof(path)), 0);
	text = slurp(path);
	CHECK_STR(text, device_rules);
	free(text);
	CHECK_EQ(cgroup_create(&env, crel, NULL), 0);
	CHECK_EQ(cgroup_restrict_devices(&env, rel), 0); /* children now: must find it done */
	CHECK_EQ(cgroup_path(&env, CGROUP_CTRL_DEVICES, crel, "devices.list", path, sizeof(path)),
		 0);
	text = slurp(path);
	CHECK_STR(text, device_rules);
	free(text);
	check_devices_denied(&env, crel);
	CHECK_EQ(cgroup_remove(&env, rel), 0);
}

/* The BPF device program alone, on a cgroup2 tree: the child's v1 devices cgroup (if any) is
 * the host root, which allows everything, so every refusal comes from the program. */
static void test_real_devices_v2(void)
{
	char rel[128], crel[128];
	struct cgroup_env env;

	if (!cgroup2_env(&env))
		return;
	CHECK_STR(cgroup_mode_name(env.mode), "v2");
	rel_of(rel, sizeof(rel), "/demo/task-dev2");
	snprintf(crel, sizeof(crel), "%s/web", rel);
	CHECK_EQ(cgroup_create(&env, rel, NULL), 0);
	CHECK_EQ(device_programs(&env, rel), 0);
	CHECK_EQ(cgroup_restrict_devices(&env, rel), 0);
	CHECK_EQ(device_programs(&env, rel), 1);
	CHECK_EQ(cgroup_restrict_devices(&env, rel), 0); /* replaces, does not stack */
	CHECK_EQ(device_programs(&env, rel), 1);
	CHECK_EQ(cgroup_create(&env, crel, NULL), 0); /* created after the attach: inherits */
	check_devices_denied(&env, crel);
	check_devices_denied(&env, rel);
	CHECK_EQ(cgroup_remove(&env, rel), 0);
	rel_of(rel, sizeof(rel), "/demo/missing");
	CHECK_EQ(cgroup_restrict_devices(&env, rel), -ENOENT);
}

/* This host as it is: both layers on a hybrid host, the one that exists elsewhere. */
static void test_real_devices_host(void)
{
	char rel[128], crel[128], path[512], *text;
	struct cgroup_env env;

	if (!real_env(&env))
		return;
	rel_of(rel, sizeof(rel), "/demo/task-dev3");
	snprintf(crel, sizeof(crel), "%s/app", rel);
	CHECK_EQ(cgroup_create(&env, rel, NULL), 0);
	CHECK_EQ(cgroup_restrict_devices(&env, rel), 0);
	CHECK_EQ(cgroup_create(&env, crel, NULL), 0);
	if (env.unified[0])
		CHECK_EQ(device_programs(&env, rel), 1);
	if (env.mode != CGROUP_MODE_V2 && env.v1[CGROUP_CTRL_DEVICES][0]) {
		CHECK_EQ(cgroup_path(&env, CGROUP_CTRL_DEVICES, crel, "devices.list", path,
				     sizeof(path)), 0);
		text = slurp(path);
		CHECK_STR(text, device_rules);
		free(text);
	}
	check_devices_denied(&env, crel);
	CHECK_EQ(cgroup_remove(&env, rel), 0);
}

/* A caller that may not load BPF programs: the task still starts (0), nothing is attached. */
static void test_real_devices_no_bpf(void)
{
	char rel[128];
	struct cgroup_env env;
	int status;
	pid_t pid;

	if (!cgroup2_env(&env))
		return;
	rel_of(rel, sizeof(rel), "/demo/task-nobpf");
	CHECK_EQ(cgroup_create(&env, rel, NULL), 0);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		_exit(cgroup_restrict_devices(&env, rel) == 0 ? 0 : 1);
	}
	CHECK_INT(pid, >, 0);
	status = wait_child(pid);
	CHECK(status != -1 && WIFEXITED(status));
	CHECK_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	CHECK_EQ(device_programs(&env, rel), 0);
	CHECK_EQ(cgroup_remove(&env, rel), 0);
}

/* Last: lists what the run made, then removes the whole test parent in every hierarchy. */

/* This run's cgroups go, as test_cgroup.c's last test does with its own. */
static void test_real_devices_cleanup(void)
{
	struct cgroup_env env;
	char rel[128];

	if (!real_env(&env))
		return;
	rel_of(rel, sizeof(rel), "");
	cgroup_kill(&env, rel);
	wait_unpopulated(&env, rel);
	int r = cgroup_remove(&env, rel);

	CHECK(r == 0 || r == -ENOENT);
}

UNIT_MAIN(test_devices_fixture, test_real_devices_v1, test_real_devices_v2, test_real_devices_host,
	  test_real_devices_no_bpf, test_real_devices_cleanup)
