/* SPDX-License-Identifier: MIT */
/* billing_gen.c: writes a ledger of N tasks running for D days through the real ledger (one
 * accrual per task per simulated hour), then times billing_report_run per group_by.
 * Usage: billing_gen DIR [TASKS [DAYS]] (BILLING_GEN_SKIP=1: reports only; BILLING_GEN_NOINDEX=1:
 * each report without the segment indexes, from the text); prints "gen <seconds>" and
 * "report <group> <wall seconds> <CPU seconds> <rows> <task-hours> <CPU: run> <CPU: JSON text>"
 * (CPU of the thread: the report run and its JSON text, as berthd answers it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector/billing.h"
#include "collector/ledger.h"

#define T0 1790985600LL /* 2026-10-03T00:00:00Z */

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of this thread, which does all the work: load on the host does not count. */
static double cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void task_info(int i, struct ledger_task_info *ti, char *tags, size_t len)
{
	static const int cpus[] = { 256, 512, 1024, 2048, 4096 };
	static const char *const teams[] = { "payments", "search", "ads", "infra", "data", "web",
					     "mobile", "ml" };

	memset(ti, 0, sizeof(*ti));
	snprintf(ti->a.id, sizeof(ti->a.id), "%032x", 0x5eed0000u + (unsigned)i);
	snprintf(ti->a.cluster, sizeof(ti->a.cluster), "cluster-%d", i % 3);
	snprintf(ti->a.service, sizeof(ti->a.service), "svc-%02d", i % 40);
	snprintf(ti->a.family, sizeof(ti->a.family), "family-%d", i % 12);
	ti->a.revision = 1 + i % 4;
	ti->a.arch = i % 5 == 0 ? PRICE_ARM64 : PRICE_X86_64;
	ti->a.spot = i % 7 == 0;
	ti->a.cpu_units = cpus[i % 5];
	ti->a.mem_mib = cpus[i % 5] * 2;
	ti->a.start = T0 + i % 300;
	ti->created_at = (double)ti->a.start;
	snprintf(tags, len, "{\"env\":\"prod\",\"team\":\"%s\"}", teams[i % 8]);
	ti->tags_json = tags;
	ti->have_usage = true;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "ledger";
	int n = argc > 2 ? atoi(argv[2]) : 1000, days = argc > 3 ? atoi(argv[3]) : 30;
	static const char *const groups[] = { "cluster", "service", "family", "task", "tag:team" };
	struct ledger *l = calloc(1, sizeof(*l));
	struct ledger_task_info *ti = calloc((size_t)n, sizeof(*ti));
	char (*tags)[96] = calloc((size_t)n, sizeof(*tags));
	struct price_book prices;
	double t;

	if (!l || !ti || !tags)
		return 1;
	price_book_defaults(&prices);
	for (int i = 0; i < n; i++)
		task_info(i, &ti[i], tags[i], sizeof(tags[i]));
	t = mono();
	if (getenv("BILLING_GEN_SKIP"))
		goto reports;
	if (ledger_init(l, dir, &prices, 5, 0, 13, (double)T0) < 0)
		return 1;
	for (int h = 0; h <= days * 24; h++) {
		double now = (double)(T0 + 3600LL * h + 301);
		for (int i = 0; i < n; i++) {
			/* A quarter to all of its reservation, by task. */
			ti[i].cpu_ns += (uint64_t)(3600e9 * ti[i].a.cpu_units / 1024 * (1 + i % 4) / 4);
			ti[i].mem_bytes = (double)ti[i].a.mem_mib * 1048576 * (1 + i % 3) / 3;
			ti[i].io_bytes += 1 << 20;
			ledger_task_update(l, &ti[i], now);
		}
		if (h % 24 == 0)
			ledger_cycle_end(l, now);
	}
	ledger_close(l, (double)(T0 + 86400LL * days + 400));
	printf("gen %.3f\n", mono() - t);
reports:
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		if (getenv("BILLING_GEN_NOINDEX")) {
			/* The full computation from the text, as before the first report (or on
			 * a ledger from before indexes): the indexes are removed first. */
			char cmd[1200];
			snprintf(cmd, sizeof(cmd), "rm -f '%s'/*.ledger.idx", dir);
			if (system(cmd) != 0)
				return 1;
		}
		struct billing_query q;
		struct billing_result *r = NULL;
		char qs[200], err[256];
		snprintf(qs, sizeof(qs), "start=%lld&end=%lld&group_by=%s&granularity=daily",
			 T0, T0 + 86400LL * days, groups[g]);
		if (billing_query_parse(qs, (double)T0, &q, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		t = mono();
		double c0 = cpu();
		if (billing_report_run(dir, &prices, &q, &r, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		double c1 = cpu();
		size_t len;
		char *s = billing_report_json_text(r, &len);
		double c2 = cpu();
		if (!s)
			return 1;
		printf("report %s %.3f %.3f %zu %llu %.3f %.3f\n", groups[g], mono() - t,
		       c2 - c0, r->n_rows, (unsigned long long)r->records, c1 - c0, c2 - c1);
		free(s);
		billing_result_free(r);
	}
	free(ti);
	free(tags);
	free(l);
	return 0;
}
