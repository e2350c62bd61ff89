/* SPDX-License-Identifier: MIT */
/* test_collector.c: cgroup statistics parsers on real v1/v2 files, the sampling cycle on a fixture
 * tree, window statistics, RRD round trips and the RRD failure cases (same second, clock step
 * back, truncated and zeroed files). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rrd.h>

#include "collector/cgstat.h"
#include "collector/collector.h"
#include "collector/window_chunk.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/loop.h"
#include "unit.h"

#define FIX "tests/fixtures/cgroupstat"

#define CHECK_NEAR(a, b, tol)                                                        \
	do {                                                                         \
		double a_ = (a), b_ = (b);                                           \
		if (!(fabs(a_ - b_) <= (tol)))                                       \
			UNIT_FAIL("%s ~ %s: %.6g vs %.6g", #a, #b, a_, b_);          \
	} while (0)
#define TASK_ID "0123456789abcdef0123456789abcdef"

static char *slurp(const char *path)
{
	char *text = NULL;

	return file_read_all(path, 1 << 20, &text, NULL) == 0 ? text : NULL;
}

static int parse_file(enum cgstat_file kind, const char *path, struct cgstat *s)
{
	char *text = slurp(path);
	int ret = text ? cgstat_parse(kind, text, s) : -ENOENT;

	free(text);
	return ret;
}

static void test_parse_v1(void)
{
	struct cgstat s = { 0 };
	long hz = sysconf(_SC_CLK_TCK);

	CHECK_EQ(parse_file(CGSTAT_CPUACCT_USAGE, FIX "/v1/cpuacct.usage", &s), 0);
	CHECK_EQ(s.cpu_usage_ns, 358342701);
	CHECK_EQ(parse_file(CGSTAT_CPUACCT_STAT, FIX "/v1/cpuacct.stat", &s), 0);
	CHECK_EQ(s.cpu_user_ns, 22ull * (1000000000ull / (uint64_t)hz));
	CHECK_EQ(s.cpu_system_ns, 12ull * (1000000000ull / (uint64_t)hz));
	CHECK_EQ(parse_file(CGSTAT_CPU_STAT, FIX "/v1/cpu.stat", &s), 0);
	CHECK_EQ(s.cpu_throttled_ns, 0);
	CHECK_EQ(parse_file(CGSTAT_MEM_CURRENT, FIX "/v1/memory.usage_in_bytes", &s), 0);
	CHECK_EQ(parse_file(CGSTAT_MEM_STAT, FIX "/v1/memory.stat", &s), 0);
	CHECK(s.v1_mem);
	CHECK_EQ(s.mem_file, 8388608);
	CHECK_EQ(s.mem_anon, 0);
	CHECK_EQ(s.mem_inactive_file, 8388608);
	cgstat_finish(&s);
	CHECK_EQ(s.mem_working_set, 9019392 - 8388608);
	CHECK_EQ(parse_file(CGSTAT_MEM_EVENTS, FIX "/v1/memory.oom_control", &s), 0);
	CHECK_EQ(s.mem_oom_events, 0);
	CHECK_EQ(parse_file(CGSTAT_BLKIO_BYTES, FIX "/v1/blkio.throttle.io_service_bytes_recursive", &s), 0);
	CHECK_EQ(s.io_read_bytes, 77824);
	CHECK_EQ(s.io_write_bytes, 16785408);
	CHECK_EQ(parse_file(CGSTAT_BLKIO_OPS, FIX "/v1/blkio.throttle.io_serviced_recursive", &s), 0);
	CHECK_EQ(s.io_read_ops, 19);
	CHECK_EQ(s.io_write_ops, 130);
	CHECK_EQ(parse_file(CGSTAT_CPU_PRESSURE, FIX "/v1/unified/cpu.pressure", &s), 0);
	CHECK_EQ(s.psi_cpu.some_total_us, 125084);
	CHECK_EQ(s.psi_cpu.full_total_us, 104089);
	CHECK_EQ(parse_file(CGSTAT_IO_PRESSURE, FIX "/v1/unified/io.pressure", &s), 0);
	CHECK_EQ(s.psi_io.some_total_us, 6717);
	CHECK_EQ(parse_file(CGSTAT_PIDS_CURRENT, FIX "/v1/pids.current", &s), 0);
	CHECK_EQ(s.pids_current, 0);
	/* The unified tree's cpu.stat of a hybrid host parses as v2 usage. */
	CHECK_EQ(parse_file(CGSTAT_CPU_STAT, FIX "/v1/unified/cpu.stat", &s), 0);
	CHECK_EQ(s.cpu_usage_ns, 358342000);
}

static void test_parse_v2(void)
{
	struct cgstat s = { 0 };

	CHECK_EQ(parse_file(CGSTAT_CPU_STAT, FIX "/v2/cpu.stat", &s), 0);
	CHECK_EQ(s.cpu_usage_ns, 30512345000ull);
	CHECK_EQ(s.cpu_user_ns, 29001000000ull);
	CHECK_EQ(s.cpu_system_ns, 1511345000ull);
	CHECK_EQ(s.cpu_periods, 612);
	CHECK_EQ(s.cpu_throttled_periods, 598);
	CHECK_EQ(s.cpu_throttled_ns, 29876543000ull);
	CHECK_EQ(parse_file(CGSTAT_MEM_CURRENT, FIX "/v2/memory.current", &s), 0);
	CHECK_EQ(parse_file(CGSTAT_MEM_STAT, FIX "/v2/memory.stat", &s), 0);
	CHECK(!s.v1_mem);
	CHECK_EQ(s.mem_anon, 209891328);
	CHECK_EQ(s.mem_file, 12288000);
	cgstat_finish(&s);
	CHECK_EQ(s.mem_working_set, 224153600 - 8192000);
	CHECK_EQ(parse_file(CGSTAT_MEM_EVENTS, FIX "/v2/memory.events", &s), 0);
	CHECK_EQ(s.mem_oom_events, 1);
	CHECK_EQ(s.mem_failcnt, 3);
	CHECK_EQ(parse_file(CGSTAT_IO_STAT, FIX "/v2/io.stat", &s), 0);
	CHECK_EQ(s.io_read_bytes, 1220608 + 4096);
	CHECK_EQ(s.io_write_bytes, 104857600);
	CHECK_EQ(s.io_read_ops, 64);
	CHECK_EQ(s.io_write_ops, 800);
	CHECK_EQ(parse_file(CGSTAT_CPU_PRESSURE, FIX "/v2/cpu.pressure", &s), 0);
	CHECK_NEAR(s.psi_cpu.some_avg10, 48.91, 1);
	CHECK_EQ(s.psi_cpu.some_total_us, 29876543);
	CHECK_EQ(parse_file(CGSTAT_PIDS_CURRENT, FIX "/v2/pids.current", &s), 0);
	CHECK_EQ(s.pids_current, 3);
	CHECK_EQ(s.have & (1u << CGSTAT_IO_STAT), 1u << CGSTAT_IO_STAT);
}

static void test_parse_malformed(void)
{
	static const struct { enum cgstat_file kind; const char *text; } bad[] = {
		{ CGSTAT_CPU_STAT, "usage_usec\n" },
		{ CGSTAT_CPU_STAT, "usage_usec x\n" },
		{ CGSTAT_CPU_STAT, "usage_usec 99999999999999999999999\n" },
		{ CGSTAT_MEM_CURRENT, "-1\n" },
		{ CGSTAT_IO_STAT, "8:0 rbytes\n" },
		{ CGSTAT_IO_STAT, "8-0 rbytes=1\n" },
		{ CGSTAT_BLKIO_BYTES, "8:0 Read\n" },
		{ CGSTAT_CPU_PRESSURE, "some avg10=1.00 total=3\n" },
		{ CGSTAT_CPU_PRESSURE, "half avg10=0.00 avg60=0.00 avg300=0.00 total=0\n" },
	};
	struct cgstat s = { 0 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(cgstat_parse(bad[i].kind, bad[i].text, &s), -EINVAL);
	/* Empty files (a cgroup with no I/O yet) and unknown keys are fine. */
	CHECK_EQ(cgstat_parse(CGSTAT_IO_STAT, "", &s), 0);
	CHECK_EQ(cgstat_parse(CGSTAT_CPU_STAT, "brand_new_key 7\nusage_usec 5\n", &s), 0);
	CHECK_EQ(s.cpu_usage_ns, 5000);
	CHECK_EQ(cgstat_parse(CGSTAT_MEM_CURRENT, "max\n", &s), 0);
}

/* A v2 fixture tree in a temp dir with one task container "web". */
struct tree {
	char root[256];
	char ctr[512];
	char data[256];
};

static void copy_file(const char *from, const char *to)
{
	char *text = slurp(from);

	if (text)
		file_write_durable(to, text, strlen(text), 0644);
	free(text);
}

static void put_text(const struct tree *t, const char *file, const char *text)
{
	char p[700];

	FILE *f;

	/* In place: the collector keeps the files open, as cgroupfs files stay. */
	snprintf(p, sizeof(p), "%s/%s", t->ctr, file);
	f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static int tree_make(struct tree *t)
{
	static const char *const files[] = { "cpu.stat", "memory.current", "memory.stat",
					     "memory.events", "io.stat", "pids.current",
					     "cpu.pressure", "memory.pressure", "io.pressure",
					     "memory.max", "cpu.max", "pids.max" };
	char cmd[800], from[300], to[800];

	snprintf(t->root, sizeof(t->root), "/tmp/berth-col-XXXXXX");
	if (!mkdtemp(t->root))
		return -errno;
	snprintf(t->ctr, sizeof(t->ctr), "%s/cg/berth.slice/m/" TASK_ID "/web", t->root);
	snprintf(t->data, sizeof(t->data), "%s/data", t->root);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s %s && echo 'cpu io memory pids' > %s/cg/cgroup.controllers",
		 t->ctr, t->data, t->root);
	if (system(cmd) != 0)
		return -EIO;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(from, sizeof(from), FIX "/v2/%s", files[i]);
		snprintf(to, sizeof(to), "%s/%s", t->ctr, files[i]);
		copy_file(from, to);
	}
	return 0;
}

static void tree_remove(struct tree *t)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->root);
	if (system(cmd) != 0)
		UNIT_FAIL("cannot remove %s", t->root);
}

struct world {
	struct tree tree;
	struct config cfg;
	struct runtime rt;
	struct rt_task task;
	struct rt_container ctr;
	struct rt_cluster cluster;
	struct collector col;
	uint64_t cpu_usec, wbytes;    /* the fixture's counters */
};

/* (Re)starts the collector writing every file every cycle, as with rrdcached. */
static int world_start(struct world *w)
{
	int ret = collector_init(&w->col, &w->cfg, &w->rt, NULL);

	w->col.rrd_batch = w->col.rrd_first = 1;
	return ret;
}

static int world_make(struct world *w)
{
	char cg[300];

	memset(w, 0, sizeof(*w));
	w->cpu_usec = 30512345;
	w->wbytes = 104857600 + 0;
	if (tree_make(&w->tree) < 0)
		return -1;
	config_defaults(&w->cfg);
	w->cfg.collect_interval = 1;
	w->cfg.metrics_window = 600;
	snprintf(w->cfg.data_dir, sizeof(w->cfg.data_dir), "%s", w->tree.data);
	snprintf(cg, sizeof(cg), "%s/cg", w->tree.root);
	if (cgroup_env_init_fixture(&w->rt.cg, CGROUP_MODE_V2, cg) < 0)
		return -1;
	w->rt.cfg = &w->cfg;
	snprintf(w->cluster.name, sizeof(w->cluster.name), "m");
	snprintf(w->cluster.status, sizeof(w->cluster.status), "ACTIVE");
	w->rt.clusters = &w->cluster;
	snprintf(w->task.id, sizeof(w->task.id), TASK_ID);
	snprintf(w->task.cluster, sizeof(w->task.cluster), "m");
	snprintf(w->task.last_status, sizeof(w->task.last_status), "RUNNING");
	snprintf(w->task.group, sizeof(w->task.group), "service:api");
	snprintf(w->task.cpu, sizeof(w->task.cpu), "512");
	snprintf(w->task.memory, sizeof(w->task.memory), "1024");
	snprintf(w->ctr.name, sizeof(w->ctr.name), "web");
	snprintf(w->ctr.image, sizeof(w->ctr.image), "busybox");
	w->task.containers = &w->ctr;
	w->task.n_containers = 1;
	w->rt.tasks = &w->task;
	return world_start(w);
}

static void world_free(struct world *w)
{
	collector_close(&w->col);
	tree_remove(&w->tree);
}

/* Advances the fixture's counters: CPU by usec, written bytes by wbytes. */
static void advance(struct world *w, uint64_t cpu_usec, uint64_t wbytes)
{
	uint64_t cpu = w->cpu_usec += cpu_usec, wr = w->wbytes += wbytes;
	char text[256];

	snprintf(text, sizeof(text), "usage_usec %llu\nuser_usec 1\nsystem_usec 1\n",
		 (unsigned long long)cpu);
	put_text(&w->tree, "cpu.stat", text);
	snprintf(text, sizeof(text), "8:0 rbytes=0 wbytes=%llu rios=0 wios=1\n",
		 (unsigned long long)wr);
	put_text(&w->tree, "io.stat", text);
}

static void test_sample_cycle(void)
{
	struct world w;
	struct col_series *ts, *cs, *svc, *cl;

	if (world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	collector_sample(&w.col, 1000);
	for (int i = 1; i <= 10; i++) {
		advance(&w, 500000, 10 << 20); /* half a CPU, 10 MiB per second */
		collector_sample(&w.col, 1000 + i);
	}
	ts = collector_series_find(&w.col, COL_TASK, "m", TASK_ID, NULL);
	cs = collector_series_find(&w.col, COL_CONTAINER, "m", TASK_ID, "web");
	svc = collector_series_find(&w.col, COL_SERVICE, "m", "api", NULL);
	cl = collector_series_find(&w.col, COL_CLUSTER, "m", NULL, NULL);
	CHECK(ts && cs && svc && cl);
	if (!ts || !cs || !svc || !cl)
		goto out;
	CHECK_NEAR(ts->last[COL_CPU], 512, 1);
	CHECK_NEAR(cs->last[COL_CPU], 512, 1);
	CHECK_NEAR(ts->last[COL_MEM] * 1048576, (224153600 - 8192000), 1);
	CHECK_EQ(ts->last[COL_WRITE], 10 << 20);
	CHECK_EQ(ts->last[COL_CPU_RES], 512);
	CHECK_EQ(ts->last[COL_MEM_RES], 1024);
	CHECK_EQ(svc->last[COL_RUNNING], 1);
	CHECK_NEAR(svc->last[COL_CPU], 512, 1);
	CHECK_EQ(cl->last[COL_TASKS], 1);
	CHECK_EQ(cl->last[COL_SERVICES], 1);
	CHECK_EQ(w.col.self.cycles, 11);
	CHECK_EQ(w.col.self.samples, 11);
	CHECK_EQ(w.col.self.parse_errors, 0);
out:
	world_free(&w);
}

static void test_window_query(void)
{
	struct world w;
	struct col_query q = { 0 };
	struct col_datapoint *dp = NULL;
	size_t n = 0;
	bool rrd = true;

	if (world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	collector_sample(&w.col, 1000);
	for (int i = 1; i <= 20; i++) {
		/* 100..2000 ms of CPU per second: known percentiles. */
		advance(&w, 100000ull * (uint64_t)i, 1 << 20);
		collector_sample(&w.col, 1000 + i);
	}
	q.metric = collector_metric_find("CpuUtilized");
	q.kind = COL_TASK;
	q.cluster = "m";
	q.name = TASK_ID;
	q.start = 1001;
	q.end = 1021;
	q.period = 10;
	q.pct[0] = 50;
	q.pct[1] = 100;
	q.n_pct = 2;
	CHECK_EQ(collector_query(&w.col, &q, &dp, &n, &rrd), 0);
	CHECK(!rrd);
	CHECK_EQ(n, 2);
	if (n == 2) {
		CHECK_EQ(dp[0].t, 1001);
		CHECK_EQ(dp[0].count, 10);
		CHECK_NEAR(dp[0].min, 102.4, 0.01);
		CHECK_NEAR(dp[0].max, 1024, 0.01);
		CHECK_NEAR(dp[0].sum / dp[0].count, 563.2, 0.01);
		CHECK_NEAR(dp[0].pct[0], 512, 0.01);
		CHECK_NEAR(dp[1].pct[1], 2048, 0.01);
	}
	free(dp);
	/* A utilization percentage is derived per sample: 20th second = 2048 / 512. */
	q.metric = collector_metric_find("TaskCpuUtilization");
	q.start = 1020;
	q.period = 1;
	q.n_pct = 0;
	CHECK_EQ(collector_query(&w.col, &q, &dp, &n, &rrd), 0);
	CHECK_EQ(n, 1);
	if (n == 1)
		CHECK_NEAR(dp[0].max, 400, 0.01);
	free(dp);
	/* Unknown dimensions, and a metric the kind does not have. */
	q.name = "nope";
	q.start = 1001;
	CHECK_EQ(collector_query(&w.col, &q, &dp, &n, &rrd), -ENOENT);
	q.metric = collector_metric_find("DesiredTaskCount");
	CHECK_EQ(collector_query(&w.col, &q, &dp, &n, &rrd), -EINVAL);
	world_free(&w);
}

static uint32_t bits_of(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

/* Packs rows and checks that every slot decodes to the same bits; returns the bytes taken. */
static size_t roundtrip(const float *rows, unsigned slots, int n_cols)
{
	uint8_t buf[WINDOW_CHUNK_MAX_BYTES(COL_CHUNK, COL_METRIC_COUNT)];
	float dec[COL_CHUNK * COL_METRIC_COUNT];
	size_t len = window_chunk_pack(rows, slots, n_cols, buf), bad = 0;

	CHECK_INT(len, <=, WINDOW_CHUNK_MAX_BYTES(slots, n_cols));
	memset(dec, 0x5a, sizeof(dec));
	CHECK(window_chunk_unpack(buf, len, slots, n_cols, dec));
	for (size_t i = 0; i < (size_t)slots * (size_t)n_cols; i++)
		bad += bits_of(dec[i]) != bits_of(rows[i]);
	CHECK_EQ(bad, 0);
	/* One byte short is never read as a whole chunk. */
	if (len > 0)
		CHECK(!window_chunk_unpack(buf, len - 1, slots, n_cols, dec));
	return len;
}

/* The chunk encoding is exact for any float bits: constant columns (NaN too), random values,
 * sparse changes, signed zeros, infinities, denormals and every width of XOR. */
static void test_chunk_encoding(void)
{
	float rows[COL_CHUNK * COL_METRIC_COUNT];
	const int n = COL_METRIC_COUNT;
	uint32_t x = 12345;

	for (int round = 0; round < 200; round++) {
		for (size_t k = 0; k < COL_CHUNK; k++) {
			for (int col = 0; col < n; col++) {
				float *v = &rows[k * (size_t)n + (size_t)col];
				uint32_t u;
				x = x * 1664525u + 1013904223u;
				switch ((col + round) % 8) {
				case 0: *v = NAN; break;                      /* constant NaN */
				case 1: *v = 512.0f; break;                   /* constant */
				case 2: u = x; memcpy(v, &u, 4); break;       /* any bits */
				case 3: *v = k % 17 ? 3.5f : 7.25f; break;    /* sparse changes */
				case 4: *v = (x >> 28) ? (float)(x >> 8) : NAN; break;
				case 5: *v = k % 2 ? -0.0f : 0.0f; break;     /* signed zeros */
				case 6: *v = k % 3 ? INFINITY : 1e-40f; break; /* inf, denormal */
				default: *v = (float)k * 0.1f; break;         /* slow ramp */
				}
			}
		}
		roundtrip(rows, COL_CHUNK, n);
		roundtrip(rows, COL_CHUNK, 2);
		roundtrip(rows, 1, n);
	}
	/* A column that never changes takes 33 bits, whatever its value. */
	for (size_t i = 0; i < COL_CHUNK * (size_t)n; i++)
		rows[i] = i % (size_t)n == 3 ? NAN : (float)(i % (size_t)n);
	CHECK_EQ(roundtrip(rows, COL_CHUNK, n), (size_t)(33 * n + 7) / 8);
}

/* A task whose values do not move keeps one chunk of each series for the whole window, shared
 * by every slot, and freeing the window gives all of it back. */
static void test_window_shared_chunks(void)
{
	struct world w;
	size_t before, after_one, after_all;

	if (world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	collector_sample(&w.col, 1000);
	for (int i = 1; i <= 2 * COL_CHUNK; i++)
		collector_sample(&w.col, 1000 + i);
	before = w.col.self.window_bytes;
	for (int i = 2 * COL_CHUNK + 1; i <= 3 * COL_CHUNK; i++)
		collector_sample(&w.col, 1000 + i);
	after_one = w.col.self.window_bytes;
	for (int i = 3 * COL_CHUNK + 1; i <= 6 * COL_CHUNK; i++)
		collector_sample(&w.col, 1000 + i);
	after_all = w.col.self.window_bytes;
	/* The chunks sealed after the second are the same bytes as the second: no growth. */
	CHECK_EQ(after_one, before);
	CHECK_EQ(after_all, before);
	CHECK(!isnan(collector_value(&w.col, collector_series_find(&w.col, COL_TASK, "m", TASK_ID,
								   NULL),
				     w.col.cycle - w.col.cap + 1, COL_MEM)));
	world_free(&w);
}

/* The window past its first chunks: every cycle's exact values read back from the compressed
 * chunks (constant, changing and missing values), the oldest cycles drop out, and the window
 * of a sleeping task costs far less than 4 bytes per value. */
static void test_window_chunks(void)
{
	struct world w;
	struct col_series *s;
	int cycles = 5 * COL_CHUNK + 17, bad = 0; /* past the 601-cycle window */
	size_t cols = 0;

	if (world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	collector_sample(&w.col, 1000);
	for (int i = 1; i <= cycles; i++) {
		/* Busy, then idle for a while, then busy with a changing working set. */
		advance(&w, i % 200 < 100 ? 1000ull * (uint64_t)(i % 7 + 1) : 0,
			i % 3 ? 4096 : 0);
		collector_sample(&w.col, 1000 + i);
	}
	s = collector_series_find(&w.col, COL_TASK, "m", TASK_ID, NULL);
	CHECK(s != NULL);
	if (!s)
		goto out;
	for (int i = 1; i <= cycles; i++) {
		/* Recompute what the cycle stored: CPU units from the usage step of that second. */
		double want = (i % 200 < 100 ? 1000.0 * (i % 7 + 1) : 0) * 1e3 / 1e9 * 1024.0;
		float got = collector_value(&w.col, s, w.col.cycle - (uint64_t)(cycles - i), COL_CPU);

		if (i > 1 && fabs(got - want) > 1e-3 * (want + 1))
			bad++;
		cols++;
	}
	CHECK_EQ(bad, 0);
	CHECK(isnan(collector_value(&w.col, s, w.col.cycle + 1, COL_CPU)));
	CHECK(isnan(collector_value(&w.col, s, w.col.cycle - w.col.cap, COL_CPU)));
	CHECK(!isnan(collector_value(&w.col, s, w.col.cycle - w.col.cap + 1, COL_CPU_RES)));
	/* Compressed: well under the 4 bytes per value of a raw ring. */
	CHECK_INT(w.col.self.window_bytes, <, w.col.cap * 4 * (6 + 2 + 3 * COL_METRIC_COUNT));
out:
	world_free(&w);
}

static void test_rrd_roundtrip(void)
{
	struct world w;
	struct col_query q = { 0 };
	struct col_datapoint *dp = NULL;
	size_t n = 0;
	bool rrd = false;

	if (world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	collector_sample(&w.col, 2000);
	for (int i = 1; i <= 10; i++) {
		advance(&w, 250000, 3 << 20);
		collector_sample(&w.col, 2000 + i);
	}
	CHECK_EQ(w.col.rrd.stats.errors, 0);
	CHECK_INT(w.col.rrd.stats.updates, >=, 20);
	/* A restart: the window starts again at 2011. */
	collector_close(&w.col);
	CHECK_EQ(world_start(&w), 0);
	for (int i = 11; i <= 13; i++) {
		advance(&w, 250000, 3 << 20);
		collector_sample(&w.col, 2000 + i);
	}
	/* Start before the window: 2001-2010 from the task's RRD file, 2012-2013 (2011 has no
	 * rate yet) from the window. */
	q.metric = collector_metric_find("StorageWriteBytes");
	q.kind = COL_TASK;
	q.cluster = "m";
	q.name = TASK_ID;
	q.start = 1990;
	q.end = 2014;
	q.period = 1;
	CHECK_EQ(collector_query(&w.col, &q, &dp, &n, &rrd), 0);
	CHECK(rrd);
	CHECK_EQ(n, 12);
	for (size_t i = 0; i < n; i++) {
		CHECK_NEAR(dp[i].sum, (3 << 20), 1);
		CHECK_NEAR(dp[i].t, i < 10 ? 2001 + i : 2002 + i, 0);
	}
	free(dp);
	q.metric = collector_metric_find("ContainerCpuUtilized");
	q.kind = COL_CONTAINER;
	q.container = "web";
	CHECK_EQ(collector_query(&w.col, &q, &dp, &n, &rrd), 0);
	CHECK_INT(n, >=, 9);
	for (size_t i = 0; i < n; i++)
		CHECK_NEAR(dp[i].max, 256, 0.01);
	free(dp);
	world_free(&w);
}

/* Without rrdcached a file is written once per batch of cycles, all rows in one call, and
 * whatever is left when the collector closes. */
static void test_rrd_batches(void)
{
	struct world w;
	char path[700];

	if (world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	CHECK_EQ(w.col.rrd_batch, 1);
	w.col.rrd_batch = w.col.rrd_first = 5;
	for (int i = 0; i <= 11; i++) {
		advance(&w, 100000, 0);
		collector_sample(&w.col, 7000 + i);
	}
	/* Each of the 3 files was written when due (8 to 11 of its 12 rows); the rest at close. */
	CHECK_INT(w.col.rrd.stats.updates, >=, 24);
	CHECK_INT(w.col.rrd.stats.updates, <, 36);
	collector_close(&w.col);
	CHECK_EQ(w.col.rrd.stats.updates, 36);
	collector_rrd_path(&w.col, COL_TASK, "m", TASK_ID, path, sizeof(path));
	CHECK_EQ(rrd_last_r(path), 7011);
	CHECK_EQ(world_start(&w), 0);
	world_free(&w);
}

/* A file is written at least every half window, so that its rows never leave the window
 * unwritten: 15 minutes, or 5 with the shortest metrics_window (10 minutes). */
static void test_rrd_batch_fits_window(void)
{
	struct world w;

	if (world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	collector_close(&w.col);
	CHECK_EQ(collector_init(&w.col, &w.cfg, &w.rt, NULL), 0); /* 600 s window, 1 s */
	CHECK_EQ(w.col.cap, 601);
	CHECK_EQ(w.col.rrd_batch, 300);
	CHECK_EQ(w.col.rrd_first, 300);
	collector_close(&w.col);
	w.cfg.metrics_window = 10800;
	CHECK_EQ(collector_init(&w.col, &w.cfg, &w.rt, NULL), 0);
	CHECK_EQ(w.col.rrd_batch, 900);
	CHECK_EQ(w.col.rrd_first, 300);
	collector_close(&w.col);
	w.cfg.metrics_window = 600;
	w.cfg.collect_interval = 60;
	CHECK_EQ(collector_init(&w.col, &w.cfg, &w.rt, NULL), 0);
	CHECK_EQ(w.col.rrd_batch, 5);
	CHECK_EQ(w.col.rrd_first, 5);
	world_free(&w);
}

/* A new file is first written (created) on its own, shorter cadence, then once per batch. */
static void test_rrd_first_write(void)
{
	struct world w;
	uint64_t first;

	if (world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	w.col.rrd_first = 3;
	w.col.rrd_batch = 1000;
	for (int i = 0; i < 4; i++) {
		advance(&w, 100000, 0);
		collector_sample(&w.col, 7000 + i);
	}
	/* Each of the 3 files created within 3 cycles, with its 1 to 3 rows. */
	CHECK_EQ(w.col.rrd.stats.created, 3);
	first = w.col.rrd.stats.updates;
	CHECK_INT(first, >=, 3);
	CHECK_INT(first, <=, 9);
	for (int i = 4; i < 12; i++) {
		advance(&w, 100000, 0);
		collector_sample(&w.col, 7000 + i);
	}
	CHECK_EQ(w.col.rrd.stats.updates, first); /* the next write is a batch away */
	collector_close(&w.col);
	CHECK_EQ(w.col.rrd.stats.updates, 36);
	world_free(&w);
}

static void test_rrd_skips(void)
{
	struct world w;

	if (world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	collector_sample(&w.col, 3000);
	collector_sample(&w.col, 3001);
	collector_sample(&w.col, 3001.5); /* same second */
	CHECK_EQ(w.col.rrd.stats.skipped_same_second, 3); /* task, service and cluster files */
	collector_sample(&w.col, 2990);   /* clock stepped back */
	CHECK_INT(w.col.rrd.stats.skipped_clock_back, >=, 2);
	CHECK_EQ(w.col.rrd.stats.errors, 0);
	collector_sample(&w.col, 3002);
	CHECK_EQ(w.col.rrd.stats.errors, 0);
	world_free(&w);
}

/* Damages the task's file, then a new collector (a restart) must quarantine and recreate it. */
static void damage_case(bool zero)
{
	struct world w;
	char path[700], aside[800];
	struct stat st;
	int fd;

	if (world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	collector_sample(&w.col, 4000);
	collector_sample(&w.col, 4001);
	collector_rrd_path(&w.col, COL_TASK, "m", TASK_ID, path, sizeof(path));
	if (stat(path, &st) < 0) {
		UNIT_FAIL("no RRD file %s", path);
		world_free(&w);
		return;
	}
	fd = open(path, O_RDWR);
	if (zero) {
		char z[4096] = { 0 };
		for (off_t off = 0; off < st.st_size; off += (off_t)sizeof(z))
			CHECK_INT(pwrite(fd, z, sizeof(z), off), >, 0);
	} else {
		CHECK_EQ(ftruncate(fd, st.st_size / 3), 0);
	}
	close(fd);
	collector_close(&w.col);
	CHECK_EQ(world_start(&w), 0);
	collector_sample(&w.col, 4002);
	collector_sample(&w.col, 4003);
	CHECK_EQ(w.col.rrd.stats.quarantined, 1);
	CHECK_EQ(w.col.rrd.stats.created, 1);
	snprintf(aside, sizeof(aside), "%s.corrupt-4002", path);
	CHECK_EQ(access(aside, F_OK), 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_INT(w.col.rrd.stats.updates, >=, 2);
	world_free(&w);
}

static void test_rrd_truncated(void)
{
	damage_case(false);
}

static void test_rrd_zeroed(void)
{
	damage_case(true);
}

/* Past rrd_max_bytes no new file is made; sampling and the window go on. */
static void test_rrd_cap(void)
{
	struct world w;
	char path[700];

	if (world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	collector_close(&w.col);
	w.cfg.rrd_max_bytes = 1;
	CHECK_EQ(world_start(&w), 0);
	w.col.rrd.disk_bytes = 2; /* as a scan would have found */
	w.col.next_expire = 1e18;  /* (and no scan in the test) */
	collector_sample(&w.col, 6000);
	collector_sample(&w.col, 6001);
	collector_rrd_path(&w.col, COL_TASK, "m", TASK_ID, path, sizeof(path));
	CHECK(access(path, F_OK) < 0);
	CHECK_EQ(w.col.rrd.stats.created, 0);
	CHECK_EQ(w.col.rrd.stats.errors, 3); /* task, service, cluster; then a minute's pause */
	CHECK_EQ(w.col.self.cycles, 2);
	CHECK(collector_series_find(&w.col, COL_TASK, "m", TASK_ID, NULL) != NULL);
	world_free(&w);
}

/* The collector on an event loop: RRD writes go to the store's worker thread. The sampling
 * timer is disarmed: the test runs the cycles. */
static int world_start_loop(struct world *w, struct loop *loop)
{
	int ret;

	collector_close(&w->col);
	ret = collector_init(&w->col, &w->cfg, &w->rt, loop);
	if (ret == 0)
		ret = loop_timer_arm(&w->col.timer, 0, 0);
	w->col.rrd_batch = w->col.rrd_first = 1;
	return ret;
}

/* Turns the loop until want(w) or, as a bound on a broken build, 2000 turns of 50 ms. */
static bool spin(struct loop *loop, struct world *w, bool (*want)(struct world *w))
{
	for (int i = 0; i < 2000 && !want(w); i++)
		loop_run_once(loop, 50);
	return want(w);
}

static bool no_jobs(struct world *w)
{
	if (w->col.rrd.queued_jobs || w->col.rrd_waiting || w->col.tasks->rrd_owed)
		return false;
	for (struct col_series *s = w->col.series; s; s = s->next)
		if (s->rrd_owed)
			return false;
	return true;
}

static bool slices_run(struct world *w)
{
	return w->col.rrd_waiting;
}

static time_t file_last(struct world *w, enum col_kind kind, const char *name)
{
	char path[700];

	if (collector_rrd_path(&w->col, kind, "m", name, path, sizeof(path)) < 0)
		return -1;
	rrd_clear_error();
	return rrd_last_r(path);
}

/* A full queue: the files stay owed (their rows kept in the window), none dropped, and are
 * handed over as jobs come back. */
static void test_rrd_queue_full(void)
{
	struct world w;
	struct loop loop;

	if (loop_init(&loop) < 0 || world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	CHECK_EQ(world_start_loop(&w, &loop), 0);
	w.col.rrd.queue_bytes = 1; /* one job at a time */
	rrd_store_hold(&w.col.rrd, true);
	for (int i = 0; i < 5; i++) {
		advance(&w, 100000, 4096);
		collector_sample(&w.col, 8000 + i);
		CHECK(spin(&loop, &w, slices_run));
	}
	/* The expiry scan holds the queue: every file is owed, nothing written. */
	CHECK_EQ(w.col.rrd.queued_jobs, 1);
	CHECK(w.col.tasks->rrd_owed);
	CHECK_EQ(w.col.rrd.stats.updates, 0);
	CHECK_EQ(w.col.rrd_dropped, 0);
	rrd_store_hold(&w.col.rrd, false);
	CHECK(spin(&loop, &w, no_jobs));
	/* One job a file with its 5 rows, one after the other. */
	CHECK_EQ(w.col.rrd.stats.created, 3);
	CHECK_EQ(w.col.rrd.stats.updates, 15);
	CHECK_EQ(w.col.rrd.stats.errors, 0);
	CHECK(w.col.tasks->rrd.ready);
	CHECK_EQ(w.col.tasks->rrd.last, 8004);
	CHECK_EQ(file_last(&w, COL_TASK, TASK_ID), 8004);
	CHECK_EQ(file_last(&w, COL_SERVICE, "api"), 8004);
	CHECK_EQ(file_last(&w, COL_CLUSTER, NULL), 8004);
	world_free(&w);
	loop_close(&loop);
}

/* Closing (SIGTERM) with jobs queued behind a held worker and files still owed: every row is
 * written before the worker is joined. */
static void test_rrd_close_drains(void)
{
	struct world w;
	struct loop loop;

	if (loop_init(&loop) < 0 || world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	CHECK_EQ(world_start_loop(&w, &loop), 0);
	w.col.next_expire = 1e18;
	rrd_store_hold(&w.col.rrd, true);
	for (int i = 0; i < 4; i++) {
		advance(&w, 100000, 4096);
		collector_sample(&w.col, 9000 + i);
		for (int k = 0; k < 5; k++)
			loop_run_once(&loop, 10);
	}
	/* Each file's first job is queued and held; its later rows wait for it to come back. */
	CHECK_EQ(w.col.rrd.queued_jobs, 3);
	CHECK(w.col.tasks->rrd.job != NULL);
	CHECK_EQ(w.col.rrd.stats.updates, 0);
	collector_close(&w.col);
	CHECK_EQ(w.col.rrd.queued_jobs, 0);
	CHECK_EQ(w.col.rrd.stats.created, 3);
	CHECK_EQ(w.col.rrd.stats.updates, 12);
	CHECK_EQ(w.col.rrd.stats.errors, 0);
	CHECK_EQ(file_last(&w, COL_TASK, TASK_ID), 9003);
	CHECK_EQ(file_last(&w, COL_SERVICE, "api"), 9003);
	CHECK_EQ(file_last(&w, COL_CLUSTER, NULL), 9003);
	world_free(&w);
	loop_close(&loop);
}

/* A query older than the window neither writes the file nor waits for the worker: the rows the
 * file is owed come from the window. A graph's read (collector_rrd_sync) has them written first,
 * ahead of the worker's queue. */
static void test_rrd_worker_query(void)
{
	struct world w;
	struct loop loop;
	struct col_query q = { 0 };
	struct col_datapoint *dp = NULL;
	size_t n = 0;
	bool rrd = false;

	if (loop_init(&loop) < 0 || world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	CHECK_EQ(world_start_loop(&w, &loop), 0);
	w.col.next_expire = 1e18;
	w.col.rrd_batch = w.col.rrd_first = 1000; /* nothing due: every row owed */
	for (int i = 0; i <= 10; i++) {
		advance(&w, 250000, 3 << 20);
		collector_sample(&w.col, 2000 + i);
		loop_run_once(&loop, 5);
	}
	q.metric = collector_metric_find("StorageWriteBytes");
	q.kind = COL_TASK;
	q.cluster = "m";
	q.name = TASK_ID;
	q.start = 1990;
	q.end = 2011;
	q.period = 1;
	CHECK_EQ(collector_query(&w.col, &q, &dp, &n, &rrd), 0);
	CHECK(rrd);
	CHECK_EQ(n, 10);
	for (size_t i = 0; i < n; i++)
		CHECK_NEAR(dp[i].sum, (3 << 20), 1);
	free(dp);
	CHECK_EQ(w.col.rrd.queued_jobs, 0);
	CHECK_EQ(w.col.rrd.stats.created, 0);
	/* A graph of the service: its rows are written before the read, the other files' not. */
	collector_rrd_sync(&w.col, COL_SERVICE, "m", "api");
	CHECK_EQ(w.col.rrd.queued_jobs, 0);
	CHECK_EQ(file_last(&w, COL_SERVICE, "api"), 2010);
	CHECK_EQ(file_last(&w, COL_TASK, TASK_ID), -1);
	/* Every file due next cycle, queued behind a held worker: the task's job is moved ahead. */
	w.col.rrd_batch = w.col.rrd_first = 1;
	rrd_store_hold(&w.col.rrd, true);
	advance(&w, 250000, 3 << 20);
	collector_sample(&w.col, 2011);
	for (int k = 0; k < 5; k++)
		loop_run_once(&loop, 10);
	CHECK_EQ(w.col.rrd.queued_jobs, 3);
	CHECK(w.col.tasks->rrd.job != NULL);
	collector_rrd_sync(&w.col, COL_TASK, "m", TASK_ID);
	CHECK_EQ(w.col.tasks->rrd.job, NULL);
	CHECK_EQ(w.col.tasks->rrd.last, 2011);
	CHECK_EQ(file_last(&w, COL_TASK, TASK_ID), 2011);
	CHECK_EQ(w.col.rrd.stats.errors, 0);
	world_free(&w);
	loop_close(&loop);
}

static void test_cgroup_gone(void)
{
	struct world w;
	char cmd[700];

	if (world_make(&w) < 0) {
		UNIT_FAIL("cannot set up the fixture world");
		return;
	}
	collector_sample(&w.col, 5000);
	/* The task stops: its series stays in the window, sampling ends without errors. */
	snprintf(w.task.last_status, sizeof(w.task.last_status), "STOPPED");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", w.tree.ctr);
	CHECK_EQ(system(cmd), 0);
	collector_sample(&w.col, 5001);
	CHECK_EQ(w.col.n_tasks, 0);
	CHECK(collector_series_find(&w.col, COL_TASK, "m", TASK_ID, NULL) != NULL);
	CHECK_EQ(w.col.self.parse_errors, 0);
	world_free(&w);
}

/* On a real cgroup2 tree a removed cgroup reads ENODEV through the kept fd. */
static void test_real_cgroup_gone(void)
{
	struct cgroup_env env;
	struct cgstat_reader r;
	struct cgstat s = { 0 };
	char buf[8192], rel[64], path[600];

	if (geteuid() != 0 || cgroup_env_detect(&env, "/sys/fs/cgroup") < 0 || !env.unified[0]) {
		printf("# skipped: needs root and a cgroup2 tree\n");
		return;
	}
	snprintf(rel, sizeof(rel), "berth-test-collector-%d", getpid());
	snprintf(path, sizeof(path), "%s/%s", env.unified, rel);
	CHECK_EQ(mkdir(path, 0755), 0);
	CHECK_EQ(cgstat_reader_open(&r, &env, rel), 0);
	CHECK_EQ(cgstat_reader_read(&r, buf, sizeof(buf), CGSTAT_ALL, &s), 0);
	CHECK_EQ(rmdir(path), 0);
	CHECK_EQ(cgstat_reader_read(&r, buf, sizeof(buf), CGSTAT_ALL, &s), -ENOENT);
	CHECK(r.gone);
	cgstat_reader_close(&r);
}

UNIT_MAIN(test_parse_v1, test_parse_v2, test_parse_malformed, test_sample_cycle,
	  test_window_query, test_chunk_encoding, test_window_chunks, test_window_shared_chunks, test_rrd_roundtrip, test_rrd_batches, test_rrd_batch_fits_window, test_rrd_first_write,
	  test_rrd_skips,
	  test_rrd_truncated,
	  test_rrd_zeroed, test_rrd_cap, test_rrd_queue_full, test_rrd_close_drains,
	  test_rrd_worker_query, test_cgroup_gone, test_real_cgroup_gone)
