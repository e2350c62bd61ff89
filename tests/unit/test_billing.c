/* SPDX-License-Identifier: MIT */
/* test_billing.c: the usage ledger and billing reports - accrual arithmetic, rounding, the
 * one-minute minimum, hour/day/month splits, price changes, tags, micro-dollar sums, rotation,
 * damaged segments and replay after a crash. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "collector/billing.h"
#include "collector/ledger.h"
#include "common/fileio.h"
#include "unit.h"

#define NOV1 1793491200LL   /* 2026-11-01T00:00:00Z */
#define OCT1 (NOV1 - 31 * 86400LL)

static char dir[256];

static void fresh_dir(void)
{
	if (dir[0])
		file_remove_tree(dir);
	snprintf(dir, sizeof(dir), "/tmp/berth-billing-XXXXXX");
	if (!mkdtemp(dir))
		UNIT_FAIL("mkdtemp: %s", strerror(errno));
}

static struct ledger_task_info info(const char *id, int64_t created, int cpu, int mem)
{
	struct ledger_task_info ti = { 0 };

	snprintf(ti.a.id, sizeof(ti.a.id), "%s", id);
	snprintf(ti.a.cluster, sizeof(ti.a.cluster), "default");
	snprintf(ti.a.family, sizeof(ti.a.family), "web");
	ti.a.revision = 1;
	ti.a.cpu_units = cpu;
	ti.a.mem_mib = mem;
	ti.a.start = created;
	ti.created_at = (double)created;
	ti.tags_json = "{}";
	return ti;
}

static unsigned ck_interval; /* the ledgers' checkpoint interval: 0, every cycle */

static struct ledger *open_ledger(const struct price_book *b, double now)
{
	static struct ledger l;
	struct price_book def;

	price_book_defaults(&def);
	CHECK_EQ(ledger_init(&l, dir, b ? b : &def, 5, ck_interval, 13, now), 0);
	return &l;
}

/* Runs a task from created for dur seconds (cycles every 5 s), stopping it at the end. */
static void run_task(struct ledger *l, struct ledger_task_info ti, double dur)
{
	double t0 = ti.created_at;

	for (double t = t0 + 5; t < t0 + dur; t += 5) {
		ledger_task_update(l, &ti, t);
		ledger_cycle_end(l, t);
	}
	ti.stopped = true;
	ti.stopped_at = t0 + dur;
	ledger_task_update(l, &ti, t0 + dur + 1);
	ledger_cycle_end(l, t0 + dur + 1);
}

/* A report; open_hours: the running ledger's open hours (NULL: the checkpoint's). */
static json_t *report_open(const char *qs, const struct price_book *b, const char *open_hours)
{
	struct price_book def;
	struct billing_query q;
	struct billing_result *r = NULL;
	char err[256];
	json_t *o;

	price_book_defaults(&def);
	if (billing_query_parse(qs, (double)NOV1 + 40 * 86400, &q, err, sizeof(err)) < 0) {
		UNIT_FAIL("query %s: %s", qs, err);
		return NULL;
	}
	q.open_hours = open_hours;
	if (billing_report_run(dir, b ? b : &def, &q, &r, err, sizeof(err)) < 0) {
		UNIT_FAIL("report: %s", err);
		return NULL;
	}
	o = billing_report_json(r);
	billing_result_free(r);
	return o;
}

static json_t *report(const char *qs, const struct price_book *b)
{
	return report_open(qs, b, NULL);
}

static const char *total(json_t *o, const char *k)
{
	return json_string_value(json_object_get(json_object_get(o, "totals"), k));
}

static int64_t micro(const char *s)
{
	int64_t p = 0;

	if (!s || price_parse_dollars(s, &p) < 0)
		return -1;
	return p / PRICE_PICO_PER_MICRO;
}

/* Expected reserved cost, x86 on demand, in micro-dollars. */
static int64_t expect(int cpu, int mem, int64_t secs)
{
	int64_t pico = (int64_t)((__int128)cpu * secs * 40480000000LL / (1024 * 3600)) +
		       (int64_t)((__int128)mem * secs * 4445000000LL / (1024 * 3600));
	return price_pico_to_micro(pico);
}

static void test_prices(void)
{
	struct price_book b;
	int64_t v;
	char s[40], err[256];

	CHECK_EQ(price_parse_dollars("0.04048", &v), 0);
	CHECK_EQ(v, 40480000000LL);
	CHECK(price_parse_dollars("-1", &v) < 0);
	CHECK(price_parse_dollars("0.1234567890123", &v) < 0);
	CHECK(price_parse_dollars("1e3", &v) < 0);
	price_format_micro(1234567, s, sizeof(s));
	CHECK_STR(s, "1.234567");
	CHECK_EQ(price_pico_to_micro(1500000), 2);
	CHECK_EQ(price_pico_to_micro(1499999), 1);
	price_book_defaults(&b);
	/* One vCPU-hour and one GB-hour at list prices. */
	CHECK_EQ(price_cpu_cost(&b.sheets[0], PRICE_X86_64, 0, 1024 * 3600), 40480000000LL);
	CHECK_EQ(price_mem_cost(&b.sheets[0], PRICE_ARM64, 0, 1024 * 3600), 3560000000LL);
	CHECK_EQ(price_cpu_cost(&b.sheets[0], PRICE_X86_64, 1, 1024 * 3600), 12144000000LL);
	CHECK_EQ(price_storage_cost(&b.sheets[0], 0, 10 * 3600), 1110000000LL);
	const char *sheet = "{\"sheets\":[{\"effective\":\"2026-01-01\"},"
			    "{\"effective\":\"2026-11-15T12:00:00Z\",\"X86_64\":{\"vcpuHour\":\"0.05\"},"
			    "\"spotDiscount\":\"0.5\"}]}";
	CHECK_EQ(price_book_parse(&b, sheet, strlen(sheet), err, sizeof(err)), 0);
	CHECK_EQ(b.n, 2);
	CHECK_EQ(b.sheets[1].vcpu_hour[PRICE_X86_64], 50000000000LL);
	CHECK_EQ(b.sheets[1].gb_hour[PRICE_X86_64], 4445000000LL);
	CHECK_EQ(b.sheets[1].spot_discount_ppm, 500000);
	CHECK_EQ(price_at(&b, NOV1 + 14 * 86400 + 43199, NULL)->vcpu_hour[PRICE_X86_64],
		 40480000000LL);
	CHECK_EQ(price_at(&b, NOV1 + 14 * 86400 + 43200, NULL)->vcpu_hour[PRICE_X86_64],
		 50000000000LL);
	const char *bad = "{\"sheets\":[{\"effective\":\"2026-02-01\"},{\"effective\":\"2026-01-01\"}]}";
	CHECK(price_book_parse(&b, bad, strlen(bad), err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "sheets[1]");
	const char *bad2 = "{\"sheets\":[{\"effective\":\"2026-02-01\",\"ARM64\":{\"gbHour\":\"x\"}}]}";
	CHECK(price_book_parse(&b, bad2, strlen(bad2), err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "gbHour");
}

static void test_records(void)
{
	struct ledger_rec r = { .kind = 'R', .hour = NOV1, .from = 10, .to = 3600, .cpu_us = 5,
				.mem_mib_s = 7, .io_bytes = 9, .final = true };
	struct ledger_rec p;
	char line[512];
	int n;

	snprintf(r.task, sizeof(r.task), "abc");
	n = ledger_rec_format(&r, line, sizeof(line));
	CHECK(n > 0 && line[n - 1] == '\n');
	line[--n] = '\0';
	char copy[512];
	memcpy(copy, line, (size_t)n + 1);
	CHECK_EQ(ledger_rec_parse(copy, (size_t)n, &p), 0);
	CHECK_EQ(p.kind, 'R');
	CHECK_STR(p.task, "abc");
	CHECK_EQ(p.from, 10);
	CHECK_EQ(p.to, 3600);
	CHECK(p.final && !p.have_net);
	memcpy(copy, line, (size_t)n + 1);
	copy[3] = copy[3] == '1' ? '2' : '1';
	CHECK(ledger_rec_parse(copy, (size_t)n, &p) < 0);       /* checksum */
	memcpy(copy, line, (size_t)n + 1);
	CHECK(ledger_rec_parse(copy, (size_t)n - 3, &p) < 0);   /* truncated */
	struct ledger_rec t = { .kind = 'T', .tags = "{\"team\":\"a\"}", .tags_len = 12 };
	snprintf(t.t.id, sizeof(t.t.id), "x");
	snprintf(t.t.cluster, sizeof(t.t.cluster), "c\tc");
	n = ledger_rec_format(&t, line, sizeof(line));
	CHECK(n > 0);
	line[--n] = '\0';
	CHECK_EQ(ledger_rec_parse(line, (size_t)n, &p), 0);
	CHECK_STR(p.t.cluster, "c_c");
	CHECK_EQ(p.tags_len, 12);
}

/* 1 vCPU / 2 GB for 90 s bills exactly 90 s; a 10 s task bills the 60 s minimum. */
static void test_accrual_and_minimum(void)
{
	struct ledger *l;
	json_t *o;

	fresh_dir();
	l = open_ledger(NULL, (double)NOV1 + 7200);
	run_task(l, info("t90", NOV1 + 7200 + 100, 1024, 2048), 89.4); /* rounds up to 90 */
	ledger_close(l, (double)NOV1 + 9000);
	o = report("start=2026-11-01&end=2026-11-02", NULL);
	CHECK_EQ(micro(total(o, "reservedCost")), expect(1024, 2048, 90));
	CHECK(fabs(json_real_value(json_object_get(json_object_get(o, "totals"), "vcpuHours")) -
		   0.025) < 1e-9);
	json_decref(o);

	fresh_dir();
	l = open_ledger(NULL, (double)NOV1 + 7200);
	run_task(l, info("t10", NOV1 + 7200 + 100, 1024, 2048), 10);
	ledger_close(l, (double)NOV1 + 9000);
	o = report("start=2026-11-01&end=2026-11-02", NULL);
	CHECK_EQ(micro(total(o, "reservedCost")), expect(1024, 2048, 60));
	CHECK_EQ(json_integer_value(json_object_get(json_object_get(o, "totals"), "tasks")), 1);
	json_decref(o);
}

/* A task from 23:59:00 on Oct 31 to 00:01:30 on Nov 1 splits into both days and months. */
static void test_midnight_and_month(void)
{
	struct ledger *l;
	json_t *o, *g;
	int64_t start = NOV1 - 60;

	fresh_dir();
	l = open_ledger(NULL, (double)start);
	run_task(l, info("tm", start, 2048, 4096), 150);
	ledger_close(l, (double)NOV1 + 3600);
	o = report("start=2026-10-31&end=2026-11-02&granularity=daily", NULL);
	g = json_object_get(o, "periods");
	CHECK_EQ(json_array_size(g), 2);
	CHECK_EQ(micro(json_string_value(json_object_get(json_array_get(g, 0), "reservedCost"))),
		 expect(2048, 4096, 60));
	CHECK_EQ(micro(json_string_value(json_object_get(json_array_get(g, 1), "reservedCost"))),
		 expect(2048, 4096, 90));
	json_decref(o);
	o = report("start=2026-10-01&end=2026-12-01&granularity=monthly", NULL);
	g = json_object_get(o, "periods");
	CHECK_EQ(json_array_size(g), 2);
	CHECK_EQ(micro(json_string_value(json_object_get(json_array_get(g, 0), "reservedCost"))),
		 expect(2048, 4096, 60));
	json_decref(o);
	/* Only November. */
	o = report("start=2026-11-01&end=2026-12-01", NULL);
	CHECK_EQ(micro(total(o, "reservedCost")), expect(2048, 4096, 90));
	json_decref(o);
	/* The October segment was rotated and compressed: zcat reads it. */
	char path[600], cmd[700];
	ledger_segment_path(dir, ledger_month_of(OCT1), true, path, sizeof(path));
	CHECK_EQ(access(path, R_OK), 0);
	ledger_segment_path(dir, ledger_month_of(OCT1), false, path, sizeof(path));
	CHECK(access(path, F_OK) < 0);
	snprintf(cmd, sizeof(cmd), "zcat %s/2026-10.ledger.gz | grep -q '^T.tm.'", dir);
	CHECK_EQ(system(cmd), 0);
}

static void test_price_change(void)
{
	struct price_book b;
	struct ledger *l;
	char err[256];
	json_t *o;
	/* Doubles the vCPU price 30 s into the task. */
	const char *sheet = "{\"sheets\":[{\"effective\":0},{\"effective\":1794700830,"
			    "\"X86_64\":{\"vcpuHour\":\"0.08096\"}}]}";
	int64_t start = 1794700800; /* 2026-11-15T00:00:00Z */

	CHECK_EQ(price_book_parse(&b, sheet, strlen(sheet), err, sizeof(err)), 0);
	fresh_dir();
	l = open_ledger(&b, (double)start);
	run_task(l, info("tp", start, 1024, 0), 90);
	ledger_close(l, (double)start + 3600);
	o = report("start=2026-11-01&end=2026-12-01", &b);
	CHECK_EQ(micro(total(o, "reservedCost")),
		 price_pico_to_micro(30 * 40480000000LL / 3600 + 60 * 80960000000LL / 3600));
	json_decref(o);
}

static void test_tags_and_sums(void)
{
	struct ledger *l;
	json_t *o, *g, *v;
	size_t i;
	const char *teams[] = { "{\"team\":\"a\"}", "{\"team\":\"b\"}", "{}" };

	fresh_dir();
	l = open_ledger(NULL, (double)NOV1);
	for (int k = 0; k < 30; k++) {
		char id[16];
		snprintf(id, sizeof(id), "task%d", k);
		struct ledger_task_info ti = info(id, NOV1 + 13 * k, 256 + 7 * k, 512 + 13 * k);
		ti.tags_json = teams[k % 3];
		ti.stopped = true;
		ti.stopped_at = (double)(NOV1 + 13 * k) + 61.3 + 97 * k;
		ledger_task_update(l, &ti, (double)NOV1 + 5000);
	}
	ledger_cycle_end(l, (double)NOV1 + 5000);
	ledger_close(l, (double)NOV1 + 5000);
	o = report("start=2026-11-01&end=2026-11-02&group_by=tag:team&granularity=hourly", NULL);
	g = json_object_get(o, "groups");
	CHECK_EQ(json_array_size(g), 3);
	CHECK_STR(json_string_value(json_object_get(json_array_get(g, 0), "key")), "(untagged)");
	CHECK_STR(json_string_value(json_object_get(json_array_get(g, 1), "key")), "a");
	CHECK_EQ(json_integer_value(json_object_get(json_array_get(g, 1), "tasks")), 10);
	int64_t sum = 0, psum = 0, used = 0, idle = 0;
	json_array_foreach(g, i, v) {
		sum += micro(json_string_value(json_object_get(v, "reservedCost")));
		used += micro(json_string_value(json_object_get(v, "usedCost")));
		idle += micro(json_string_value(json_object_get(v, "idleCost")));
	}
	CHECK_EQ(sum, micro(total(o, "reservedCost")));
	CHECK_EQ(used + idle, sum);
	json_array_foreach(json_object_get(o, "periods"), i, v)
		psum += micro(json_string_value(json_object_get(v, "reservedCost")));
	CHECK_EQ(psum, sum);
	json_decref(o);
}

/* Copies dir to dst (a crash image of the ledger at this point). */
static void snapshot(const char *dst)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf %s && cp -a %s %s", dst, dir, dst);
	CHECK_EQ(system(cmd), 0);
}

static int count_rec(void *ctx, const struct ledger_rec *r)
{
	(*(int *)ctx) += r->kind == 'R';
	return 0;
}

static int count_first_hour(void *ctx, const struct ledger_rec *r)
{
	(*(int *)ctx) += r->kind == 'R' && r->hour == NOV1;
	return 0;
}

/* The rest of a crash test after the restart: the task runs at half a CPU from from to +900,
 * stops there, and the ledger closes; returns the day's report. */
static json_t *run_until_stop(struct ledger *l, struct ledger_task_info *ti, int64_t start,
			      int64_t from)
{
	for (int64_t t = from; t < start + 900; t += 5) {
		ti->cpu_ns = (uint64_t)(t - start) * 500000000ULL;
		ledger_task_update(l, ti, (double)t);
		ledger_cycle_end(l, (double)t);
	}
	ti->stopped = true;
	ti->stopped_at = (double)start + 900;
	ti->have_usage = false;
	ledger_task_update(l, ti, (double)start + 901);
	ledger_cycle_end(l, (double)start + 901);
	ledger_close(l, (double)start + 901);
	return report("start=2026-11-01&end=2026-11-02", NULL);
}

/* kill -9 at any point: the restarted ledger counts every second once. */
static void test_replay_after_crash(void)
{
	struct ledger *l;
	struct ledger_task_info ti;
	char crash[300], seg[600], cmd[1400];
	int64_t start = NOV1 + 3000;
	json_t *o;

	fresh_dir();
	snprintf(crash, sizeof(crash), "%s.crash", dir);
	l = open_ledger(NULL, (double)start);
	ti = info("tc", start, 1024, 1024);
	ti.have_usage = true;
	for (int64_t t = start + 5; t <= start + 610; t += 5) {
		ti.cpu_ns = (uint64_t)(t - start) * 500000000ULL; /* half a CPU */
		ti.mem_bytes = 512.0 * 1048576;
		ledger_task_update(l, &ti, (double)t);
		ledger_cycle_end(l, (double)t);
		if (t == start + 595)
			snapshot(crash); /* the checkpoint before the hour's record */
	}
	ledger_segment_path(dir, ledger_month_of(start), false, seg, sizeof(seg));
	ledger_close(l, (double)start + 600);
	/* The crash image: the older checkpoint, the newer segment (the hour's R record). */
	snprintf(cmd, sizeof(cmd), "cp %s %s/", seg, crash);
	CHECK_EQ(system(cmd), 0);
	snprintf(dir, sizeof(dir), "%s", crash);
	l = open_ledger(NULL, (double)start + 700);
	o = run_until_stop(l, &ti, start, start + 700);
	CHECK_EQ(micro(total(o, "reservedCost")), expect(1024, 1024, 900));
	/* Half a CPU was used throughout; the restart loses at most a cycle of memory use. */
	double cpu = json_real_value(json_object_get(json_object_get(o, "totals"), "vcpuHoursUsed"));
	CHECK(cpu <= 0.5 * 900 / 3600 + 1e-6);
	CHECK(cpu >= 0.5 * (900 - 110) / 3600 - 1e-6);
	json_decref(o);
	int n = 0;
	ledger_segment_path(dir, ledger_month_of(start), false, seg, sizeof(seg));
	CHECK_EQ(ledger_segment_read(seg, 0, NULL, count_first_hour, &n, NULL), 0);
	CHECK_EQ(n, 1); /* the hour written before the crash is not written again */
	file_remove_tree(crash);
	snprintf(dir, sizeof(dir), "%.*s", (int)(strlen(crash) - 6), crash);
}

/* Checkpoints a minute apart: a kill -9 between two loses nothing - the CPU since the last one
 * comes from the counters, the memory of the gap is accrued at the level last seen - and a
 * report made meanwhile includes the open hour as far as it is accrued, not as far as the
 * checkpoint has it. */
static void test_crash_between_checkpoints(void)
{
	struct ledger *l;
	struct ledger_task_info ti;
	char crash[300], *text;
	int64_t start = NOV1 + 600;
	uint64_t n_ck;
	json_t *o;

	fresh_dir();
	ck_interval = 60;
	snprintf(crash, sizeof(crash), "%s.crash", dir);
	l = open_ledger(NULL, (double)start);
	ti = info("tg", start, 1024, 1024);
	ti.have_usage = true;
	ti.mem_bytes = 512.0 * 1048576;
	n_ck = l->checkpoints;
	for (int64_t t = start + 5; t <= start + 290; t += 5) {
		ti.cpu_ns = (uint64_t)(t - start) * 500000000ULL; /* half a CPU */
		ledger_task_update(l, &ti, (double)t);
		ledger_cycle_end(l, (double)t);
	}
	/* The first cycle (a T record), then one a minute: +65, +125, +185, +245. */
	CHECK_EQ(l->checkpoints - n_ck, 5);
	snapshot(crash); /* kill -9 at +290: the checkpoint on disk is of +245 */
	o = report("start=2026-11-01&end=2026-11-02", NULL);
	CHECK_EQ(micro(total(o, "reservedCost")), expect(1024, 1024, 245));
	json_decref(o);
	text = ledger_open_text(l);
	CHECK(text != NULL);
	o = report_open("start=2026-11-01&end=2026-11-02", NULL, text);
	CHECK_EQ(micro(total(o, "reservedCost")), expect(1024, 1024, 290));
	json_decref(o);
	free(text);
	ledger_close(l, (double)start + 290);

	snprintf(dir, sizeof(dir), "%s", crash);
	l = open_ledger(NULL, (double)start + 295);
	o = run_until_stop(l, &ti, start, start + 295);
	CHECK_EQ(micro(total(o, "reservedCost")), expect(1024, 1024, 900));
	/* Sampled every 5 s up to +895: half a CPU and 512 MiB, the gap included. */
	double cpu = json_real_value(json_object_get(json_object_get(o, "totals"), "vcpuHoursUsed"));
	double gb = json_real_value(json_object_get(json_object_get(o, "totals"), "gbHoursUsed"));
	CHECK(fabs(cpu - 0.5 * 895 / 3600) < 1e-6);
	CHECK(fabs(gb - 0.5 * 895 / 3600) < 1e-6);
	json_decref(o);
	ck_interval = 0;
	file_remove_tree(crash);
	snprintf(dir, sizeof(dir), "%.*s", (int)(strlen(crash) - 6), crash);
}

static void test_damaged_segments(void)
{
	struct ledger *l;
	struct ledger_health h = { 0 };
	char path[600], cmd[1300];
	struct stat st;
	int n = 0;

	fresh_dir();
	l = open_ledger(NULL, (double)OCT1);
	for (int k = 0; k < 200; k++) {
		char id[16];
		snprintf(id, sizeof(id), "d%d", k);
		struct ledger_task_info ti = info(id, OCT1 + 3600 * k, 1024, 2048);
		ti.stopped = true;
		ti.stopped_at = (double)(OCT1 + 3600 * k + 100);
		ledger_task_update(l, &ti, (double)(OCT1 + 3600 * k + 200));
		ledger_cycle_end(l, (double)(OCT1 + 3600 * k + 200));
	}
	/* Rotates October into its .gz. */
	ledger_cycle_end(l, (double)NOV1 + 10);
	ledger_close(l, (double)NOV1 + 10);
	ledger_segment_path(dir, ledger_month_of(OCT1), true, path, sizeof(path));
	CHECK_EQ(ledger_segment_read(path, 0, &h, count_rec, &n, NULL), 0);
	CHECK_EQ(n, 200);
	CHECK_EQ(h.corrupt_records + h.truncated_segments, 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(truncate(path, st.st_size / 2), 0);
	n = 0;
	memset(&h, 0, sizeof(h));
	CHECK_EQ(ledger_segment_read(path, 0, &h, count_rec, &n, NULL), 0);
	CHECK(n > 20 && n < 200);
	CHECK_EQ(h.truncated_segments, 1);
	/* A flipped byte in a plain segment costs one record, the rest still reads. */
	snprintf(cmd, sizeof(cmd), "zcat %s > %s/2026-09.ledger 2>/dev/null; true", path, dir);
	CHECK_EQ(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "sed -i '5s/\\t1024\\t/\\t1025\\t/; 7s/$/x/' %s/2026-09.ledger", dir);
	CHECK_EQ(system(cmd), 0);
	ledger_segment_path(dir, ledger_month_of(OCT1) - 1, false, path, sizeof(path));
	n = 0;
	memset(&h, 0, sizeof(h));
	CHECK_EQ(ledger_segment_read(path, 0, &h, count_rec, &n, NULL), 0);
	CHECK(h.corrupt_records >= 1);
	CHECK(n > 20);
	/* Reports still run and say what they skipped. */
	json_t *o = report("start=2026-09-01&end=2026-11-01", NULL);
	CHECK(json_object_get(o, "ledgerErrors") != NULL);
	CHECK(micro(total(o, "reservedCost")) > 0);
	json_decref(o);
}

/* A record torn by a crash mid-append: the next start ends the line, the torn record is
 * counted as damage and the records after it read. */
static void test_torn_append(void)
{
	struct ledger *l;
	struct ledger_health h = { 0 };
	char path[600];
	FILE *f;
	int n = 0;

	fresh_dir();
	l = open_ledger(NULL, (double)NOV1 + 100);
	run_task(l, info("a", NOV1 + 100, 1024, 1024), 30);
	ledger_close(l, (double)NOV1 + 200);
	ledger_segment_path(dir, ledger_month_of(NOV1), false, path, sizeof(path));
	f = fopen(path, "a");
	CHECK(f != NULL);
	if (f) {
		fputs("R\ta\t17930", f);
		fclose(f);
	}
	/* Being appended: not damage yet. */
	CHECK_EQ(ledger_segment_read(path, 0, &h, count_rec, &n, NULL), 0);
	CHECK_EQ(h.corrupt_records, 0);
	l = open_ledger(NULL, (double)NOV1 + 300);
	run_task(l, info("b", NOV1 + 300, 1024, 1024), 30);
	ledger_close(l, (double)NOV1 + 400);
	n = 0;
	CHECK_EQ(ledger_segment_read(path, 0, &h, count_rec, &n, NULL), 0);
	CHECK_EQ(h.corrupt_records, 1);
	CHECK_EQ(n, 2);
	json_t *o = report("start=2026-11-01&end=2026-11-02", NULL);
	CHECK_EQ(micro(total(o, "reservedCost")), expect(1024, 1024, 120)); /* one rounding */
	json_decref(o);
}

static struct billing_result *run_q(const char *d, const char *qs, const struct price_book *b)
{
	struct billing_query q;
	struct billing_result *r = NULL;
	char err[256];

	if (billing_query_parse(qs, (double)NOV1 + 40 * 86400, &q, err, sizeof(err)) < 0 ||
	    billing_report_run(d, b, &q, &r, err, sizeof(err)) < 0) {
		UNIT_FAIL("%s: %s", qs, err);
		return NULL;
	}
	return r;
}

/* The report of qs over the indexes of dir against the full computation from the text alone
 * (a copy without indexes): the same values to the micro-dollar, and the JSON text gives the
 * same document as the JSON values. */
static void same_as_text(const char *ref, const char *qs, const struct price_book *b)
{
	char cmd[700];
	struct billing_result *fast, *slow;
	json_t *a, *t, *parsed;
	char *text;
	size_t len = 0;

	snprintf(cmd, sizeof(cmd), "rm -f %s/*.idx", ref);
	CHECK_EQ(system(cmd), 0);
	slow = run_q(ref, qs, b);
	fast = run_q(dir, qs, b);
	if (!slow || !fast)
		return;
	CHECK_EQ(fast->records, slow->records);
	a = billing_report_json(slow);
	t = billing_report_json(fast);
	if (!json_equal(a, t)) {
		char *x = json_dumps(a, JSON_COMPACT), *y = json_dumps(t, JSON_COMPACT);
		UNIT_FAIL("%s: the index gives %.300s, the text %.300s", qs, y, x);
		free(x);
		free(y);
	}
	text = billing_report_json_text(fast, &len);
	CHECK(text != NULL && len == strlen(text));
	parsed = text ? json_loads(text, 0, NULL) : NULL;
	CHECK(parsed != NULL);
	if (parsed && !json_equal(parsed, t))
		UNIT_FAIL("%s: the JSON text differs: %.300s", qs, text);
	json_decref(parsed);
	free(text);
	json_decref(a);
	json_decref(t);
	billing_result_free(fast);
	billing_result_free(slow);
}

static void test_index_matches_text(void)
{
	static const char *const groups[] = { "cluster", "service", "family", "task", "tag:team" };
	static const char *const grans[] = { "hourly", "daily", "monthly" };
	static const char *const teams[] = { "{\"team\":\"a\"}", "{\"team\":\"b\\\"q\"}", "{}" };
	/* A price change in the middle of an hour of the second day. */
	const char *sheet = "{\"sheets\":[{\"effective\":0},{\"effective\":1793531000,"
			    "\"X86_64\":{\"vcpuHour\":\"0.05\",\"gbHour\":\"0.005\"}}]}";
	struct ledger_task_info ti[24];
	struct price_book b;
	struct ledger *l;
	char err[256], ref[300], cmd[700], idx[600], qs[200];
	int64_t t0 = NOV1 - 3 * 3600 - 17;
	FILE *f;

	CHECK_EQ(price_book_parse(&b, sheet, strlen(sheet), err, sizeof(err)), 0);
	fresh_dir();
	snprintf(ref, sizeof(ref), "%s.ref", dir);
	l = open_ledger(&b, (double)t0);
	for (int k = 0; k < 24; k++) {
		char id[16];
		snprintf(id, sizeof(id), "ix%02d", k);
		ti[k] = info(id, t0 + 11 * k, 256 << (k % 4), 512 << (k % 3));
		snprintf(ti[k].a.cluster, sizeof(ti[k].a.cluster), "c%d", k % 2);
		snprintf(ti[k].a.service, sizeof(ti[k].a.service), k % 5 ? "s%d" : "", k % 3);
		ti[k].a.arch = k % 4 == 1 ? PRICE_ARM64 : PRICE_X86_64;
		ti[k].a.spot = k % 6 == 5;
		ti[k].a.storage_gib = k % 7 == 0 ? 10 : 0;
		ti[k].tags_json = teams[k % 3];
		ti[k].have_usage = true;
	}
	for (int64_t t = t0 + 300; t < NOV1 + 30 * 3600; t += 300) {
		for (int k = 0; k < 24; k++) {
			if (ti[k].stopped)
				continue;
			ti[k].cpu_ns += (uint64_t)(300e9 * ti[k].a.cpu_units / 1024 * (k % 5) / 3);
			ti[k].mem_bytes = (double)ti[k].a.mem_mib * 1048576 * (1 + k % 3) / 4;
			ti[k].io_bytes += 4096u * (unsigned)k;
			if (k % 8 == 3 && t > t0 + 7 * 3600 + 100 * k) {
				ti[k].stopped = true;
				ti[k].stopped_at = (double)t - 37.4;
			}
			if (k % 5 == 4 && t == NOV1 + 5 * 3600)
				ti[k].tags_json = teams[(k + 1) % 3]; /* a tag change */
			ledger_task_update(l, &ti[k], (double)t);
		}
		ledger_cycle_end(l, (double)t);
		if (t == NOV1 + 20 * 3600) {
			/* Indexes of what is written so far; the open segment grows on after. */
			struct billing_result *r = run_q(dir, "start=2026-10-31&end=2026-11-03", &b);
			billing_result_free(r);
		}
	}
	ledger_close(l, (double)NOV1 + 30 * 3600);
	/* The closed month's index is sealed for its .gz when the month is compressed. */
	ledger_index_path(dir, ledger_month_of(OCT1), idx, sizeof(idx));
	CHECK_EQ(access(idx, R_OK), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && cp -a %s %s", ref, dir, ref);
	CHECK_EQ(system(cmd), 0);
	for (size_t g = 0; g < 5; g++)
		for (size_t k = 0; k < 3; k++) {
			snprintf(qs, sizeof(qs), "start=2026-10-31T22:00:00Z&end=2026-11-03&group_by=%s"
				 "&granularity=%s", groups[g], grans[k]);
			same_as_text(ref, qs, &b);
		}
	/* A part of a day, cutting hours. */
	same_as_text(ref, "start=2026-10-31T23:30:10Z&end=2026-11-01T07:12:00Z&group_by=task"
		     "&granularity=hourly", &b);
	/* A damaged index is not believed: its bad block and what follows come from the text. */
	ledger_index_path(dir, ledger_month_of(NOV1), idx, sizeof(idx));
	f = fopen(idx, "r+");
	CHECK(f != NULL);
	if (f) {
		fseek(f, 300, SEEK_SET);
		fputc(0x5a ^ fgetc(f), f);
		fclose(f);
	}
	same_as_text(ref, "start=2026-10-31&end=2026-11-03&group_by=task&granularity=daily", &b);
	/* A truncated one too. */
	CHECK_EQ(truncate(idx, 1000), 0);
	ledger_index_path(dir, ledger_month_of(OCT1), idx, sizeof(idx));
	CHECK_EQ(truncate(idx, 777), 0);
	same_as_text(ref, "start=2026-10-31&end=2026-11-03&group_by=service&granularity=hourly", &b);
	same_as_text(ref, "start=2026-10-31&end=2026-11-03&group_by=service&granularity=hourly", &b);
	file_remove_tree(ref);
}

/* Bytes that are not an index are refused without a crash, and a good one decodes. */
static void test_index_parse(void)
{
	struct ledger_health h = { 0 };
	uint64_t covered = 1;
	int n = 0;
	char path[600], *img = NULL;
	size_t len = 0;

	CHECK(ledger_index_parse("junk", 4, true, count_rec, &n, &h, &covered) < 0);
	CHECK_EQ(covered, 0);
	fresh_dir();
	struct ledger *l = open_ledger(NULL, (double)NOV1);
	run_task(l, info("p1", NOV1 + 10, 1024, 1024), 4000);
	ledger_close(l, (double)NOV1 + 9000);
	json_decref(report("start=2026-11-01&end=2026-11-02", NULL));
	ledger_index_path(dir, ledger_month_of(NOV1), path, sizeof(path));
	CHECK_EQ(file_read_all(path, 1 << 20, &img, &len), 0);
	CHECK_EQ(ledger_index_parse(img, len, true, count_rec, &n, &h, &covered), 0);
	CHECK_EQ(n, 2);
	CHECK(covered > 0);
	free(img);
	/* Another ledger's text copied over the segment (the same inode, longer): the index of
	 * the old text is not used. */
	char other[300], cmd[900], seg[600];
	snprintf(other, sizeof(other), "%s", dir);
	snprintf(dir, sizeof(dir), "/tmp/berth-billing-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	l = open_ledger(NULL, (double)NOV1);
	run_task(l, info("p2", NOV1 + 20, 2048, 4096), 4100);
	ledger_close(l, (double)NOV1 + 9000);
	ledger_segment_path(other, ledger_month_of(NOV1), false, seg, sizeof(seg));
	snprintf(cmd, sizeof(cmd), "cat %s/2026-11.ledger > %s && cp %s/open.json %s/open.json", dir,
		 seg, dir, other);
	CHECK_EQ(system(cmd), 0);
	json_t *o = report("start=2026-11-01&end=2026-11-02", NULL);
	snprintf(cmd, sizeof(cmd), "%s", dir);
	snprintf(dir, sizeof(dir), "%s", other);
	json_t *o2 = report("start=2026-11-01&end=2026-11-02", NULL);
	CHECK_STR(total(o2, "reservedCost"), total(o, "reservedCost"));
	CHECK_EQ(micro(total(o2, "reservedCost")), expect(2048, 4096, 4100));
	json_decref(o);
	json_decref(o2);
	file_remove_tree(cmd);
}

static void test_query(void)
{
	struct billing_query q;
	char err[256];

	CHECK_EQ(billing_query_parse("", (double)NOV1 + 100, &q, err, sizeof(err)), 0);
	CHECK_EQ(q.start, NOV1);
	CHECK_EQ(q.end, NOV1 + 30 * 86400);
	CHECK_EQ(billing_query_parse("start=2026-11-01T00%3A00%3A00Z&end=1793577600&group_by=tag%3Ateam"
				     "&granularity=hourly&format=csv&gzip=1", 0, &q, err, sizeof(err)), 0);
	CHECK_EQ(q.start, NOV1);
	CHECK_EQ(q.end, NOV1 + 86400);
	CHECK_EQ(q.group, BILL_TAG);
	CHECK_STR(q.tag, "team");
	CHECK(q.gzip && q.format == BILL_CSV && q.gran == BILL_HOURLY);
	CHECK(billing_query_parse("group_by=region", 0, &q, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "group_by");
	CHECK(billing_query_parse("start=2026-13-01", 0, &q, err, sizeof(err)) < 0);
	CHECK(billing_query_parse("start=2026-11-02&end=2026-11-01", 0, &q, err, sizeof(err)) < 0);
	CHECK(billing_query_parse("start=%zz", 0, &q, err, sizeof(err)) < 0);
	CHECK(billing_query_parse("bogus=1", 0, &q, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "bogus");
}

static void test_cleanup(void)
{
	if (dir[0])
		CHECK_EQ(file_remove_tree(dir), 0);
}

UNIT_MAIN(test_prices, test_records, test_accrual_and_minimum, test_midnight_and_month,
	  test_price_change, test_tags_and_sums, test_replay_after_crash,
	  test_crash_between_checkpoints, test_damaged_segments,
	  test_torn_append, test_index_matches_text, test_index_parse, test_query, test_cleanup)
