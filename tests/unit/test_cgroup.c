/* SPDX-License-Identifier: MIT */
/* test_cgroup.c: cgroup parsers, v2 and v1 fixture trees, and real cgroups on this host (root). */
#include "tests/unit/cgroup_test.h"

/* ---- helpers ---- */

static uint64_t weight_of(uint64_t units)
{
	return 1 + ((units - 2) * 9999) / 262142;
}


/* ---- parsers ---- */

static const char memory_events[] =
	"low 0\nhigh 0\nmax 57\noom 3\noom_kill 2\noom_group_kill 1\n";

static void test_parse_keyed(void)
{
	uint64_t v = 99;

	CHECK_EQ(cgroup_parse_keyed(memory_events, "oom_kill", &v), 0);
	CHECK_EQ(v, 2);
	CHECK_EQ(cgroup_parse_keyed(memory_events, "oom", &v), 0);
	CHECK_EQ(v, 3);
	CHECK_EQ(cgroup_parse_keyed(memory_events, "oom_group_kill", &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(cgroup_parse_keyed(memory_events, "kill", &v), -ENOENT);
	CHECK_EQ(cgroup_parse_keyed("populated 1\nfrozen 0\n", "populated", &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(cgroup_parse_keyed("populated 0\nfrozen 1", "frozen", &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(cgroup_parse_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 7\n", "oom_kill", &v),
		 0);
	CHECK_EQ(v, 7);
	CHECK_EQ(cgroup_parse_keyed("oom_kill 5\r\n", "oom_kill", &v), 0);
	CHECK_EQ(v, 5);
	CHECK_EQ(cgroup_parse_keyed("", "oom_kill", &v), -ENOENT);
	CHECK_EQ(cgroup_parse_keyed("oom_kill\n", "oom_kill", &v), -ENOENT);
	CHECK_EQ(cgroup_parse_keyed("oom_kill \n", "oom_kill", &v), -EINVAL);
	CHECK_EQ(cgroup_parse_keyed("oom_kill x\n", "oom_kill", &v), -EINVAL);
	CHECK_EQ(cgroup_parse_keyed("oom_kill -1\n", "oom_kill", &v), -EINVAL);
	CHECK_EQ(cgroup_parse_keyed("oom_kill 99999999999999999999\n", "oom_kill", &v), -EINVAL);
	CHECK_EQ(cgroup_parse_keyed("oom_kill 18446744073709551615\n", "oom_kill", &v), 0);
	CHECK(v == UINT64_MAX);
}

static void test_parse_value(void)
{
	uint64_t v = 99;

	CHECK_EQ(cgroup_parse_value("max\n", &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(cgroup_parse_value("-1\n", &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(cgroup_parse_value("9223372036854771712\n", &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(cgroup_parse_value("268435456\n", &v), 0);
	CHECK_EQ(v, 268435456);
	CHECK_EQ(cgroup_parse_value("  42 ", &v), 0);
	CHECK_EQ(v, 42);
	CHECK_EQ(cgroup_parse_value("", &v), -EINVAL);
	CHECK_EQ(cgroup_parse_value("maxi", &v), -EINVAL);
	CHECK_EQ(cgroup_parse_value("-5", &v), -EINVAL);
	CHECK_EQ(cgroup_parse_value("12 34", &v), -EINVAL);
}

static void test_parse_cpu_max(void)
{
	uint64_t q = 9, p = 9;

	CHECK_EQ(cgroup_parse_cpu_max("max 100000\n", &q, &p), 0);
	CHECK_EQ(q, 0);
	CHECK_EQ(p, 100000);
	CHECK_EQ(cgroup_parse_cpu_max("50000 100000", &q, &p), 0);
	CHECK_EQ(q, 50000);
	CHECK_EQ(p, 100000);
	CHECK_EQ(cgroup_parse_cpu_max("50000", &q, &p), -EINVAL);
	CHECK_EQ(cgroup_parse_cpu_max("max 0\n", &q, &p), -EINVAL);
	CHECK_EQ(cgroup_parse_cpu_max("maxi 100000\n", &q, &p), -EINVAL);
	CHECK_EQ(cgroup_parse_cpu_max(" 100000\n", &q, &p), -EINVAL);
	CHECK_EQ(cgroup_parse_cpu_max("1 2 3\n", &q, &p), -EINVAL);
}

static const char mountinfo_hybrid[] =
	"22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"30 22 0:27 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
	"31 30 0:28 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
	"32 30 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n"
	"33 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw shared:14 - cgroup cgroup rw,cpu,cpuacct\n"
	"34 30 0:31 / /sys/fs/cgroup/memory rw shared:15 - cgroup cgroup rw,memory\n"
	"35 30 0:32 / /sys/fs/cgroup/my\\040blkio rw - cgroup cgroup rw,blkio\n"
	"36 30 0:33 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n"
	"40 1 0:34 / /mnt/other rw - cgroup cgroup rw,pids\n"
	"41 1 0:35 / /mnt/v2 rw - cgroup2 cgroup2 rw\n";

static void test_mountinfo(void)
{
	struct cgroup_env env;

	CHECK_EQ(cgroup_env_from_mountinfo(&env, "/sys/fs/cgroup/", mountinfo_hybrid), 0);
	CHECK_EQ(env.mode, CGROUP_MODE_HYBRID);
	CHECK_STR(env.unified, "/sys/fs/cgroup/unified");
	CHECK_STR(env.v1[CGROUP_CTRL_CPU], "/sys/fs/cgroup/cpu,cpuacct");
	CHECK_STR(env.v1[CGROUP_CTRL_CPUACCT], "/sys/fs/cgroup/cpu,cpuacct");
	CHECK_STR(env.v1[CGROUP_CTRL_MEMORY], "/sys/fs/cgroup/memory");
	CHECK_STR(env.v1[CGROUP_CTRL_IO], "/sys/fs/cgroup/my blkio");
	CHECK_STR(env.v1[CGROUP_CTRL_PIDS], "");
	CHECK(!(env.controllers & (1u << CGROUP_CTRL_PIDS)));
	CHECK(env.controllers & (1u << CGROUP_CTRL_FREEZER));

	/* Without the cgroup2 line: plain v1. */
	const char v1_only[] =
		"34 30 0:31 / /sys/fs/cgroup/memory rw shared:15 - cgroup cgroup rw,memory\n"
		"38 30 0:35 / /sys/fs/cgroup/pids rw master:3 shared:9 - cgroup cgroup rw,pids\n";
	CHECK_EQ(cgroup_env_from_mountinfo(&env, "/sys/fs/cgroup", v1_only), 0);
	CHECK_EQ(env.mode, CGROUP_MODE_V1);
	CHECK_STR(env.unified, "");
	CHECK_STR(env.v1[CGROUP_CTRL_PIDS], "/sys/fs/cgroup/pids");

	CHECK_EQ(cgroup_env_from_mountinfo(&env, "/elsewhere", mountinfo_hybrid), -ENOENT);
	CHECK_EQ(cgroup_env_from_mountinfo(&env, "/sys/fs/cgroup", "garbage\n- - -\n"), -ENOENT);
	CHECK_STR(cgroup_mode_name(CGROUP_MODE_V2), "v2");
	CHECK_STR(cgroup_mode_name(CGROUP_MODE_HYBRID), "hybrid");
	CHECK_STR(cgroup_mode_name(CGROUP_MODE_V1), "v1");
}

/* ---- fixtures: cgroup v2 ---- */

static void test_v2_fixture_inspect(void)
{
	char tmp[64], root[128], **names = NULL;
	struct cgroup_env env;
	struct cgroup_limits lim;
	uint64_t n = 0;
	bool pop = false;
	pid_t *pids = NULL;
	size_t npids = 0;

	if (fixture_copy("v2", tmp, root) < 0) {
		UNIT_FAIL("cannot copy fixture");
		return;
	}
	CHECK_EQ(cgroup_env_init_fixture(&env, CGROUP_MODE_V2, root), 0);
	CHECK_STR(cgroup_mode_name(env.mode), "v2");
	for (int c = 0; c < CGROUP_CTRL_COUNT; c++)
		CHECK(env.controllers & (1u << c));

	CHECK_EQ(cgroup_list(&env, "berth.slice", &names), 0);
	CHECK_EQ(strv_len(names), 1);
	CHECK_STR(names ? names[0] : NULL, "demo");
	cgroup_strv_free(names);
	CHECK_EQ(cgroup_list(&env, "berth.slice/demo/" TASK, &names), 0);
	CHECK_EQ(strv_len(names), 2);
	CHECK_STR(names ? names[0] : NULL, "sidecar");
	CHECK_STR(names ? names[1] : NULL, "web");
	cgroup_strv_free(names);
	CHECK_EQ(cgroup_list(&env, "berth.slice/nope", &names), -ENOENT);

	CHECK_EQ(cgroup_oom_kills(&env, "berth.slice/demo/" TASK, &n), 0);
	CHECK_EQ(n, 2);
	CHECK_EQ(cgroup_is_populated(&env, "berth.slice/demo/" TASK "/web", &pop), 0);
	CHECK(pop);
	CHECK_EQ(cgroup_is_populated(&env, "berth.slice/demo/" TASK "/sidecar", &pop), 0);
	CHECK(!pop);
	CHECK_EQ(cgroup_pids(&env, "berth.slice/demo/" TASK, &pids, &npids), 0);
	CHECK_EQ(npids, 2);
	if (npids == 2) {
		CHECK_EQ(pids[0], 4242);
		CHECK_EQ(pids[1], 4250);
	}
	free(pids);

	CHECK_EQ(cgroup_read_limits(&env, "berth.slice/demo/" TASK, &lim), 0);
	CHECK_EQ(lim.memory_max_bytes, 268435456);
	CHECK_EQ(lim.pids_max, 64);
	CHECK_EQ(lim.cpu_max_units, 0);
	CHECK_EQ(lim.memory_low_bytes, 0);
	/* Nothing was signalled: fixture pids are not real processes. */
	CHECK_EQ(cgroup_kill(&env, "berth.slice/demo/" TASK), -EOPNOTSUPP);
	CHECK_EQ(cgroup_signal(&env, "berth.slice/demo/" TASK, SIGTERM), -EOPNOTSUPP);
	fixture_drop(tmp);
}

static void test_v2_fixture_create(void)
{
	const struct cgroup_limits task = { .cpu_max_units = 512, .memory_max_bytes = 256 * MIB,
					    .memory_low_bytes = 128 * MIB, .pids_max = 100 };
	const struct cgroup_limits web = { .cpu_weight_units = 256, .memory_max_bytes = 64 * MIB };
	char tmp[64], root[128], p[256], buf[128], **paths = NULL;
	struct cgroup_env env;
	struct cgroup_limits got;
	struct stat st;
	uint64_t id = 0;

	if (fixture_copy("v2", tmp, root) < 0 ||
	    cgroup_env_init_fixture(&env, CGROUP_MODE_V2, root) < 0) {
		UNIT_FAIL("cannot set up fixture");
		return;
	}
#define AT(rel, file) (snprintf(p, sizeof(p), "%s/%s%s", root, rel, file), p)
	/* Controllers are enabled where missing, in ancestors only. A plain file keeps what was
	 * written ("+cpu +io") where the kernel would show the merged list. */
	CHECK_EQ(cgroup_create(&env, "berth.slice/demo/t2", &task), 0);
	CHECK_STR(line_of(AT("", "cgroup.subtree_control"), buf, sizeof(buf)),
		  "cpuset cpu io memory pids");
	CHECK_STR(line_of(AT("berth.slice", "/cgroup.subtree_control"), buf, sizeof(buf)),
		  "+cpu +io");
	CHECK_STR(line_of(AT("berth.slice/demo", "/cgroup.subtree_control"), buf, sizeof(buf)),
		  "+cpu +io");
	CHECK(!exists(AT("berth.slice/demo/t2", "/cgroup.subtree_control")));
	CHECK_EQ(cgroup_create(&env, "berth.slice/demo/t2/web", &web), 0);
	CHECK_EQ(cgroup_create(&env, "berth.slice/demo/t2/web", &web), 0); /* idempotent */
	CHECK_STR(line_of(AT("berth.slice/demo/t2", "/cgroup.subtree_control"), buf, sizeof(buf)),
		  "+cpu +memory +pids +io");
	CHECK(!exists(AT("berth.slice/demo/t2/web", "/cgroup.subtree_control")));

	CHECK_STR(line_of(AT("berth.slice/demo/t2", "/cpu.max"), buf, sizeof(buf)), "50000 100000");
	CHECK_STR(line_of(AT("berth.slice/demo/t2", "/memory.max"), buf, sizeof(buf)), "268435456");
	CHECK_STR(line_of(AT("berth.slice/demo/t2", "/memory.low"), buf, sizeof(buf)), "134217728");
	CHECK_STR(line_of(AT("berth.slice/demo/t2", "/pids.max"), buf, sizeof(buf)), "100");
	CHECK(!exists(AT("berth.slice/demo/t2", "/memory.swap.max"))); /* only when offered */
	CHECK_STR(line_of(AT("berth.slice/demo/t2/web", "/cpu.weight"), buf, sizeof(buf)), "10");

	CHECK_EQ(cgroup_read_limits(&env, "berth.slice/demo/t2", &got), 0);
	CHECK_EQ(got.cpu_max_units, 512);
	CHECK_EQ(got.memory_max_bytes, 256 * MIB);
	CHECK_EQ(got.memory_low_bytes, 128 * MIB);
	CHECK_EQ(got.pids_max, 100);
	CHECK_EQ(cgroup_read_limits(&env, "berth.slice/demo/t2/web", &got), 0);
	CHECK_EQ(weight_of(got.cpu_weight_units), weight_of(256));
	CHECK_EQ(got.memory_max_bytes, 64 * MIB);

	/* memory.swap.max is set to 0 when the kernel offers it, so swap cannot dodge the cap. */
	CHECK_EQ(mkdir(AT("berth.slice/demo/t3", ""), 0755), 0);
	put(AT("berth.slice/demo/t3", "/memory.swap.max"), "max\n");
	CHECK_EQ(cgroup_create(&env, "berth.slice/demo/t3", &task), 0);
	CHECK_STR(line_of(AT("berth.slice/demo/t3", "/memory.swap.max"), buf, sizeof(buf)), "0");

	CHECK_EQ(cgroup_procs_paths(&env, "berth.slice/demo/t2/web", &paths), 0);
	CHECK_EQ(strv_len(paths), 1);
	CHECK_STR(paths ? paths[0] : NULL, AT("berth.slice/demo/t2/web", "/cgroup.procs"));
	cgroup_strv_free(paths);
	CHECK_EQ(cgroup_id(&env, "berth.slice/demo/t2/web", &id), 0);
	CHECK_EQ(stat(AT("berth.slice/demo/t2/web", ""), &st), 0);
	CHECK_EQ(id, st.st_ino);

	CHECK_EQ(cgroup_remove(&env, "berth.slice/demo/t2"), 0);
	CHECK(!exists(AT("berth.slice/demo/t2", "")));
	CHECK(exists(AT("berth.slice/demo", "/memory.max")));
	CHECK_EQ(cgroup_remove(&env, "berth.slice/demo/t2"), 0); /* missing is success */
#undef AT
	fixture_drop(tmp);
}

static void test_v2_fixture_errors(void)
{
	const struct cgroup_limits cap = { .cpu_max_units = 1024 };
	const char *bad[] = { "", "/abs", "..", "../x", "a/../b", "a//b", "a/", ".", "a/./b",
			      "a\nb" };
	char tmp[64], root[128], p[256];
	struct cgroup_env env;

	if (fixture_copy("v2", tmp, root) < 0) {
		UNIT_FAIL("cannot copy fixture");
		return;
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(cgroup_env_init_fixture(&env, CGROUP_MODE_V2, root), 0);
		CHECK_EQ(cgroup_create(&env, bad[i], NULL), -EINVAL);
		CHECK_EQ(cgroup_remove(&env, bad[i]), -EINVAL);
	}
	snprintf(p, sizeof(p), "%s/x", tmp);
	CHECK(!exists(p));

	/* A host without the cpu controller: the cap is refused and nothing is left behind. */
	snprintf(p, sizeof(p), "%s/cgroup.controllers", root);
	put(p, "memory pids\n");
	CHECK_EQ(cgroup_env_init_fixture(&env, CGROUP_MODE_V2, root), 0);
	CHECK(!(env.controllers & (1u << CGROUP_CTRL_CPU)));
	CHECK_EQ(cgroup_create(&env, "berth.slice/new/t4", &cap), -EOPNOTSUPP);
	snprintf(p, sizeof(p), "%s/berth.slice/new", root);
	CHECK(!exists(p));
	snprintf(p, sizeof(p), "%s/berth.slice/demo", root);
	CHECK(exists(p));
	CHECK_EQ(cgroup_env_init_fixture(&env, CGROUP_MODE_V2, "/nonexistent"), -ENOENT);
	fixture_drop(tmp);
}

/* ---- fixtures: cgroup v1 and hybrid ---- */

static void test_v1_fixture_inspect(void)
{
	char tmp[64], root[128], **v = NULL;
	struct cgroup_env env;
	struct cgroup_limits lim;
	uint64_t n = 0;
	bool pop = true;
	pid_t *pids = NULL;
	size_t npids = 0;

	if (fixture_copy("v1", tmp, root) < 0 ||
	    cgroup_env_init_fixture(&env, CGROUP_MODE_V1, root) < 0) {
		UNIT_FAIL("cannot set up fixture");
		return;
	}
	CHECK_STR(cgroup_mode_name(env.mode), "v1");
	CHECK_STR(env.unified, "");
	CHECK_STR(env.v1[CGROUP_CTRL_CPU], env.v1[CGROUP_CTRL_CPUACCT]); /* co-mounted */
	CHECK_CONTAINS(env.v1[CGROUP_CTRL_CPU], "/cpu,cpuacct");
	CHECK_EQ(cgroup_procs_paths(&env, "berth.slice/demo/" TASK, &v), 0);
	CHECK_EQ(strv_len(v), 6); /* cpu,cpuacct memory pids blkio freezer devices */
	cgroup_strv_free(v);

	CHECK_EQ(cgroup_list(&env, "berth.slice/demo", &v), 0);
	CHECK_EQ(strv_len(v), 1);
	CHECK_STR(v ? v[0] : NULL, TASK);
	cgroup_strv_free(v);
	CHECK_EQ(cgroup_pids(&env, "berth.slice/demo/" TASK, &pids, &npids), 0);
	CHECK_EQ(npids, 2); /* duplicates in v1 cgroup.procs are dropped */
	free(pids);
	CHECK_EQ(cgroup_is_populated(&env, "berth.slice/demo/" TASK "/sidecar", &pop), 0);
	CHECK(!pop);
	CHECK_EQ(cgroup_is_populated(&env, "berth.slice", &pop), 0);
	CHECK(pop);
	/* v1 counts OOM kills in the victim's cgroup: the task sums its containers. */
	CHECK_EQ(cgroup_oom_kills(&env, "berth.slice/demo/" TASK, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(cgroup_oom_kills(&env, "berth.slice/demo/" TASK "/sidecar", &n), 0);
	CHECK_EQ(n, 0);

	CHECK_EQ(cgroup_read_limits(&env, "berth.slice/demo/" TASK, &lim), 0);
	CHECK_EQ(lim.memory_max_bytes, 268435456);
	CHECK_EQ(lim.memory_low_bytes, 0);
	CHECK_EQ(lim.pids_max, 64);
	CHECK_EQ(lim.cpu_max_units, 0);
	CHECK_EQ(lim.cpu_weight_units, 1024);
	fixture_drop(tmp);
}

static void test_v1_fixture_create(void)
{
	const struct cgroup_limits task = { .cpu_max_units = 1536, .memory_max_bytes = 512 * MIB,
					    .memory_low_bytes = 256 * MIB, .pids_max = 50,
					    .cpu_weight_units = 1 };
	char tmp[64], root[128], p[256], buf[128], **v = NULL;
	struct cgroup_env env;
	struct cgroup_limits got;

	if (fixture_copy("v1", tmp, root) < 0 ||
	    cgroup_env_init_fixture(&env, CGROUP_MODE_V1, root) < 0) {
		UNIT_FAIL("cannot set up fixture");
		return;
	}
#define AT(ctrl, rel, file) (snprintf(p, sizeof(p), "%s/%s/%s%s", root, ctrl, rel, file), p)
	CHECK_EQ(mkdir(AT("memory", "berth.slice/demo/t2", ""), 0755), 0);
	put(AT("memory", "berth.slice/demo/t2", "/memory.memsw.limit_in_bytes"), "9223372036854771712\n");
	CHECK_EQ(cgroup_create(&env, "berth.slice/demo/t2", &task), 0);
	CHECK_STR(line_of(AT("cpu", "berth.slice/demo/t2", "/cpu.cfs_period_us"), buf, sizeof(buf)),
		  "100000");
	CHECK_STR(line_of(AT("cpu", "berth.slice/demo/t2", "/cpu.cfs_quota_us"), buf, sizeof(buf)),
		  "150000");
	CHECK_STR(line_of(AT("cpuacct", "berth.slice/demo/t2", "/cpu.shares"), buf, sizeof(buf)),
		  "2"); /* the v1 minimum */
	CHECK_STR(line_of(AT("memory", "berth.slice/demo/t2", "/memory.limit_in_bytes"), buf,
			  sizeof(buf)), "536870912");
	CHECK_STR(line_of(AT("memory", "berth.slice/demo/t2", "/memory.memsw.limit_in_bytes"), buf,
			  sizeof(buf)), "536870912");
	CHECK_STR(line_of(AT("memory", "berth.slice/demo/t2", "/memory.soft_limit_in_bytes"), buf,
			  sizeof(buf)), "268435456");
	CHECK_STR(line_of(AT("pids", "berth.slice/demo/t2", "/pids.max"), buf, sizeof(buf)), "50");
	CHECK(exists(AT("blkio", "berth.slice/demo/t2", "")));
	CHECK(exists(AT("freezer", "berth.slice/demo/t2", "")));
	CHECK(exists(AT("devices", "berth.slice/demo/t2", "")));
	CHECK(!exists(AT("pids", "berth.slice/demo/t2", "/cgroup.subtree_control")));
	CHECK_EQ(cgroup_read_limits(&env, "berth.slice/demo/t2", &got), 0);
	CHECK_EQ(got.cpu_max_units, 1536);
	CHECK_EQ(got.cpu_weight_units, 2);
	CHECK_EQ(got.memory_max_bytes, 512 * MIB);
	CHECK_EQ(got.memory_low_bytes, 256 * MIB);
	CHECK_EQ(got.pids_max, 50);

	/* Hybrid: the same hierarchies plus the controller-less unified tree. */
	CHECK_EQ(mkdir(AT("unified", "", ""), 0755), 0);
	CHECK_EQ(cgroup_env_init_fixture(&env, CGROUP_MODE_HYBRID, root), 0);
	CHECK_STR(cgroup_mode_name(env.mode), "hybrid");
	CHECK_EQ(cgroup_create(&env, "berth.slice/demo/t2/web", NULL), 0);
	CHECK(exists(AT("unified", "berth.slice/demo/t2/web", "")));
	CHECK(!exists(AT("unified", "berth.slice", "/cgroup.subtree_control")));
	CHECK_EQ(cgroup_procs_paths(&env, "berth.slice/demo/t2/web", &v), 0);
	CHECK_EQ(strv_len(v), 7);
	CHECK_STR(v ? v[0] : NULL, AT("unified", "berth.slice/demo/t2/web", "/cgroup.procs"));
	cgroup_strv_free(v);

	CHECK_EQ(cgroup_remove(&env, "berth.slice/demo/t2"), 0);
	CHECK(!exists(AT("unified", "berth.slice/demo/t2", "")));
	CHECK(!exists(AT("memory", "berth.slice/demo/t2", "")));
	CHECK(!exists(AT("cpu,cpuacct", "berth.slice/demo/t2", "")));
	CHECK(exists(AT("memory", "berth.slice/demo/" TASK, "")));
#undef AT
	fixture_drop(tmp);
}

/* ---- this host's real cgroups (root only) ---- */


static void test_real_detect(void)
{
	struct cgroup_env env;
	struct statfs sf;

	if (geteuid() != 0)
		return;
	CHECK_EQ(cgroup_env_detect(&env, "/sys/fs/cgroup"), 0);
	CHECK_EQ(statfs("/sys/fs/cgroup", &sf), 0);
	if (sf.f_type == CGROUP2_SUPER_MAGIC) {
		CHECK_STR(cgroup_mode_name(env.mode), "v2");
		return;
	}
	if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
		CHECK_STR(cgroup_mode_name(env.mode), "hybrid");
		CHECK_STR(env.unified, "/sys/fs/cgroup/unified");
	} else {
		CHECK_STR(cgroup_mode_name(env.mode), "v1");
	}
	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) == 0)
		CHECK_STR(env.v1[CGROUP_CTRL_MEMORY], "/sys/fs/cgroup/memory");
	for (int c = 0; c < CGROUP_CTRL_COUNT; c++)
		CHECK(env.controllers & (1u << c));
}

/* Reads a limit file of the controller's hierarchy into buf (first line). */
static const char *real_file(const struct cgroup_env *env, enum cgroup_ctrl ctrl, const char *rel,
			     const char *file, char *buf, size_t size)
{
	char path[512];

	if (cgroup_path(env, ctrl, rel, file, path, sizeof(path)) < 0)
		return "";
	return line_of(path, buf, size);
}

static void test_real_create_limits(void)
{
	const struct cgroup_limits task = { .cpu_max_units = 512, .memory_max_bytes = 64 * MIB,
					    .memory_low_bytes = 32 * MIB, .pids_max = 100 };
	const struct cgroup_limits web = { .cpu_weight_units = 256 };
	char rel[128], crel[128], buf[64], path[512];
	struct cgroup_env env;
	struct cgroup_limits got;
	bool v2;

	if (!real_env(&env))
		return;
	v2 = env.mode == CGROUP_MODE_V2;
	rel_of(rel, sizeof(rel), "/demo/task1");
	rel_of(crel, sizeof(crel), "/demo/task1/web");
	CHECK_EQ(cgroup_create(&env, rel, &task), 0);
	CHECK_EQ(cgroup_create(&env, crel, &web), 0);
	CHECK_EQ(cgroup_create(&env, rel, &task), 0); /* idempotent */
	if (v2) {
		CHECK_STR(real_file(&env, CGROUP_CTRL_CPU, rel, "cpu.max", buf, sizeof(buf)),
			  "50000 100000");
		CHECK_STR(real_file(&env, CGROUP_CTRL_MEMORY, rel, "memory.max", buf, sizeof(buf)),
			  "67108864");
		CHECK_STR(real_file(&env, CGROUP_CTRL_MEMORY, rel, "memory.low", buf, sizeof(buf)),
			  "33554432");
		CHECK_STR(real_file(&env, CGROUP_CTRL_CPU, crel, "cpu.weight", buf, sizeof(buf)), "10");
	} else {
		CHECK_STR(real_file(&env, CGROUP_CTRL_CPU, rel, "cpu.cfs_quota_us", buf, sizeof(buf)),
			  "50000");
		CHECK_STR(real_file(&env, CGROUP_CTRL_CPU, rel, "cpu.cfs_period_us", buf, sizeof(buf)),
			  "100000");
		CHECK_STR(real_file(&env, CGROUP_CTRL_MEMORY, rel, "memory.limit_in_bytes", buf,
				    sizeof(buf)), "67108864");
		CHECK_STR(real_file(&env, CGROUP_CTRL_MEMORY, rel, "memory.soft_limit_in_bytes", buf,
				    sizeof(buf)), "33554432");
		CHECK_STR(real_file(&env, CGROUP_CTRL_MEMORY, rel, "memory.use_hierarchy", buf,
				    sizeof(buf)), "1");
		CHECK_STR(real_file(&env, CGROUP_CTRL_CPU, crel, "cpu.shares", buf, sizeof(buf)), "256");
		if (cgroup_path(&env, CGROUP_CTRL_MEMORY, rel, "memory.memsw.limit_in_bytes", path,
				sizeof(path)) == 0 && access(path, F_OK) == 0)
			CHECK_STR(line_of(path, buf, sizeof(buf)), "67108864");
	}
	CHECK_STR(real_file(&env, CGROUP_CTRL_PIDS, rel, "pids.max", buf, sizeof(buf)), "100");
	if (env.unified[0]) {
		snprintf(path, sizeof(path), "%s/%s", env.unified, crel);
		CHECK(exists(path));
	}
	CHECK_EQ(cgroup_read_limits(&env, rel, &got), 0);
	CHECK_EQ(got.cpu_max_units, 512);
	CHECK_EQ(got.memory_max_bytes, 64 * MIB);
	CHECK_EQ(got.memory_low_bytes, 32 * MIB);
	CHECK_EQ(got.pids_max, 100);
	CHECK_EQ(cgroup_read_limits(&env, crel, &got), 0);
	CHECK_EQ(weight_of(got.cpu_weight_units), weight_of(256));
	CHECK_EQ(cgroup_remove(&env, rel), 0);
}

/* The launch boost: the kernel's default weight times the factor, the file and the default to
 * restore; again (a concurrent launch) a no-op; a weight someone set is left alone. */
static void test_real_weight_boost(void)
{
	const struct cgroup_limits set = { .cpu_weight_units = 512 };
	char rel[128], other[128], path[512], path2[512], normal[24], buf[64];
	struct cgroup_env env;
	bool v2;

	if (!real_env(&env))
		return;
	v2 = env.mode == CGROUP_MODE_V2;
	rel_of(rel, sizeof(rel), "/boost/task1");
	rel_of(other, sizeof(other), "/boost/set");
	CHECK_EQ(cgroup_create(&env, rel, NULL), 0);
	CHECK_EQ(cgroup_create(&env, other, &set), 0);
	CHECK_EQ(cgroup_weight_boost(&env, rel, 10, path, sizeof(path), normal, sizeof(normal)), 0);
	CHECK_STR(normal, v2 ? "100" : "1024");
	CHECK(strstr(path, v2 ? "/cpu.weight" : "/cpu.shares") != NULL);
	CHECK_STR(line_of(path, buf, sizeof(buf)), v2 ? "1000" : "10240");
	CHECK_EQ(cgroup_weight_boost(&env, rel, 10, path2, sizeof(path2), normal, sizeof(normal)),
		 0);
	CHECK_STR(path2, path);
	CHECK_STR(line_of(path, buf, sizeof(buf)), v2 ? "1000" : "10240");
	CHECK_EQ(cgroup_weight_boost(&env, other, 10, path2, sizeof(path2), normal, sizeof(normal)),
		 -EBUSY);
	CHECK_STR(real_file(&env, CGROUP_CTRL_CPU, other, v2 ? "cpu.weight" : "cpu.shares", buf,
			    sizeof(buf)), v2 ? "20" : "512");
	CHECK_EQ(cgroup_weight_boost(&env, rel, 1, path2, sizeof(path2), normal, sizeof(normal)),
		 -EINVAL);
	rel_of(other, sizeof(other), "");
	CHECK_EQ(cgroup_remove(&env, other), 0);
}

/* The child is in rel's cgroup.procs in every hierarchy, and in /proc/<pid>/cgroup. */
static void check_attached(const struct cgroup_env *env, const char *rel, pid_t pid)
{
	char **paths = NULL, needle[24], procfile[64], want[256], *text;
	uint64_t id = 0;
	struct stat st;

	snprintf(needle, sizeof(needle), "%d\n", (int)pid);
	CHECK_EQ(cgroup_procs_paths(env, rel, &paths), 0);
	CHECK_INT(strv_len(paths), >=, 1);
	for (char **p = paths; p && *p; p++) {
		text = slurp(*p);
		CHECK_CONTAINS(text, needle);
		free(text);
	}
	cgroup_strv_free(paths);
	if (!env->unified[0])
		return;
	snprintf(procfile, sizeof(procfile), "/proc/%d/cgroup", (int)pid);
	snprintf(want, sizeof(want), "0::/%s\n", rel);
	text = slurp(procfile);
	CHECK_CONTAINS(text, want);
	free(text);
	snprintf(want, sizeof(want), "%s/%s", env->unified, rel);
	CHECK_EQ(cgroup_id(env, rel, &id), 0);
	CHECK_EQ(stat(want, &st), 0);
	CHECK_EQ(id, st.st_ino);
}

/* Runs a pausing child in a fresh task, then stops it with cgroup_kill() (sig 0) or
 * cgroup_signal(sig); the child must die of the expected signal. */
static void run_and_stop(const struct cgroup_env *env, const char *name, int sig)
{
	char rel[128], crel[128];
	bool pop = false;
	pid_t pid, *pids = NULL;
	size_t n = 0;
	int status;

	rel_of(rel, sizeof(rel), name);
	snprintf(crel, sizeof(crel), "%s/web", rel);
	CHECK_EQ(cgroup_create(env, crel, NULL), 0);
	pid = fork_pausing();
	CHECK_INT(pid, >, 0);
	if (pid <= 0)
		return;
	CHECK_EQ(cgroup_attach(env, crel, pid), 0);
	check_attached(env, crel, pid);
	CHECK_EQ(cgroup_is_populated(env, rel, &pop), 0);
	CHECK(pop);
	CHECK_EQ(cgroup_pids(env, rel, &pids, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(n ? pids[0] : 0, pid);
	free(pids);
	CHECK_EQ(cgroup_remove(env, rel), -EBUSY);
	CHECK_EQ(sig ? cgroup_signal(env, rel, sig) : cgroup_kill(env, rel), 0);
	status = wait_child(pid);
	CHECK(status != -1 && WIFSIGNALED(status));
	CHECK_EQ(WIFSIGNALED(status) ? WTERMSIG(status) : 0, sig ? sig : SIGKILL);
	CHECK(wait_unpopulated(env, rel));
	CHECK_EQ(cgroup_remove(env, rel), 0);
}

static void test_real_attach_kill(void)
{
	struct cgroup_env env;

	if (!real_env(&env))
		return;
	run_and_stop(&env, "/demo/task-kill", 0);
	run_and_stop(&env, "/demo/task-term", SIGTERM);
}

/* The v1 path (no cgroup.kill: freeze, SIGKILL each pid, thaw) on a hybrid host. */
static void test_real_v1_kill(void)
{
	struct cgroup_env env, full;

	if (!real_env(&full) || full.mode != CGROUP_MODE_HYBRID)
		return;
	env = full;
	env.mode = CGROUP_MODE_V1;
	env.unified[0] = '\0';
	run_and_stop(&env, "/demo/task-v1kill", 0);
	run_and_stop(&env, "/demo/task-v1term", SIGTERM);
}

/* The v2 code paths on a real cgroup2 tree: the unified tree of a hybrid host detects as v2
 * (without controllers, so no limits). */
static void test_real_unified_as_v2(void)
{
	struct cgroup_env env;
	struct statfs sf;
	char rel[128];

	if (geteuid() != 0 || statfs("/sys/fs/cgroup/unified", &sf) < 0 ||
	    sf.f_type != CGROUP2_SUPER_MAGIC)
		return;
	CHECK_EQ(cgroup_env_detect(&env, "/sys/fs/cgroup/unified"), 0);
	CHECK_STR(cgroup_mode_name(env.mode), "v2");
	run_and_stop(&env, "/demo/task-v2kill", 0);
	run_and_stop(&env, "/demo/task-v2term", SIGTERM);
	CHECK_EQ(cgroup_remove(&env, rel_of(rel, sizeof(rel), "")), 0);
}

static void oom_child(int fd)
{
	size_t len = 64 * MIB;
	char go;
	char *mem;

	if (read(fd, &go, 1) != 1)
		_exit(2);
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		_exit(3);
	for (size_t i = 0; i < len; i += 4096)
		mem[i] = 1;
	_exit(0);
}

static void test_real_oom(void)
{
	const struct cgroup_limits task = { .memory_max_bytes = 16 * MIB };
	char rel[128], crel[128];
	struct cgroup_env env;
	uint64_t kills = 0;
	int fds[2], status;
	pid_t pid;

	if (!real_env(&env))
		return;
	rel_of(rel, sizeof(rel), "/demo/task-oom");
	snprintf(crel, sizeof(crel), "%s/app", rel);
	CHECK_EQ(cgroup_create(&env, rel, &task), 0);
	CHECK_EQ(cgroup_create(&env, crel, NULL), 0);
	CHECK_EQ(cgroup_oom_kills(&env, rel, &kills), 0);
	CHECK_EQ(kills, 0);
	CHECK_EQ(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(fds[1]);
		oom_child(fds[0]);
	}
	close(fds[0]);
	CHECK_EQ(cgroup_attach(&env, crel, pid), 0);
	CHECK_EQ(write(fds[1], "g", 1), 1);
	close(fds[1]);
	status = wait_child(pid);
	CHECK(status != -1 && WIFSIGNALED(status));
	CHECK_EQ(WIFSIGNALED(status) ? WTERMSIG(status) : 0, SIGKILL);
	CHECK_EQ(cgroup_oom_kills(&env, crel, &kills), 0);
	CHECK_INT(kills, >=, 1);
	CHECK_EQ(cgroup_oom_kills(&env, rel, &kills), 0);
	CHECK_INT(kills, >=, 1);
	CHECK(wait_unpopulated(&env, rel));
	CHECK_EQ(cgroup_remove(&env, rel), 0);
}

static void test_real_list_remove(void)
{
	const char *bases[CGROUP_CTRL_COUNT + 1];
	char rel[128], trel[128], path[600], **names = NULL;
	struct cgroup_env env;
	size_t nb = 0;

	if (!real_env(&env))
		return;
	rel_of(rel, sizeof(rel), "");
	rel_of(trel, sizeof(trel), "/demo/t-listed");
	CHECK_EQ(cgroup_create(&env, trel, NULL), 0);
	rel_of(trel, sizeof(trel), "/demo");
	CHECK_EQ(cgroup_list(&env, trel, &names), 0);
	CHECK_EQ(strv_len(names), 1);
	CHECK_STR(names ? names[0] : NULL, "t-listed");
	cgroup_strv_free(names);

	cgroup_kill(&env, rel); /* in case an earlier test left a child behind */
	wait_unpopulated(&env, rel);
	CHECK_EQ(cgroup_remove(&env, rel), 0);
	if (env.unified[0])
		bases[nb++] = env.unified;
	for (int c = 0; c < CGROUP_CTRL_COUNT && env.mode != CGROUP_MODE_V2; c++)
		if (env.v1[c][0])
			bases[nb++] = env.v1[c];
	for (size_t i = 0; i < nb; i++) {
		snprintf(path, sizeof(path), "%s/%s", bases[i], rel);
		CHECK(!exists(path));
	}
}

UNIT_MAIN(test_parse_keyed, test_parse_value, test_parse_cpu_max, test_mountinfo,
	  test_v2_fixture_inspect, test_v2_fixture_create, test_v2_fixture_errors,
	  test_v1_fixture_inspect, test_v1_fixture_create, test_real_detect,
	  test_real_create_limits, test_real_attach_kill, test_real_v1_kill,
	  test_real_unified_as_v2, test_real_oom, test_real_list_remove, test_real_weight_boost)
