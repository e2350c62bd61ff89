/* SPDX-License-Identifier: MIT */
/* bpf_probes.c: the loader on its own, for bpf-overhead.sh.
 *   bpf_probes attach CGROUP2_DIR   loads every probe, follows the directory, prints "attached",
 *                                   stays until stdin closes
 *   bpf_probes toggle CGROUP2_DIR [wakeups]
 *                                   loads every probe (wakeups: the sched probe with its own
 *                                   wakeup stamps, bpf_sched_wakeups), detached; then for each
 *                                   line "on" or "off" on stdin attaches them and follows the
 *                                   directory, or detaches them and forgets it, and answers the
 *                                   line back when done; ends when stdin closes
 *   bpf_probes drain CGROUP2_DIR N SECONDS INTERVAL
 *                                   makes N task directories (each with one container) below
 *                                   the directory, follows them, reads every container's
 *                                   counters each INTERVAL seconds as the collector does (one
 *                                   batched pass over the maps, then the cache), prints
 *                                   the CPU time that took, and removes the directories. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bpf/bpf.h"
#include "common/config.h"
#include "common/log.h"

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int attach(const char *dir)
{
	struct bpf_loader l;
	char buf[64];
	int ret;

	if (bpf_loader_init(&l, NULL, NULL) < 0)
		return 1;
	if (bpf_loader_up_count(&l) != BPF_PROBE_COUNT)
		fprintf(stderr, "bpf_probes: only %d probes up\n", bpf_loader_up_count(&l));
	ret = bpf_loader_cgroup_add(&l, dir);
	if (ret < 0) {
		fprintf(stderr, "bpf_probes: cannot follow %s: %s\n", dir, strerror(-ret));
		bpf_loader_close(&l);
		return 1;
	}
	printf("attached\n");
	fflush(stdout);
	while (fgets(buf, sizeof(buf), stdin))
		;
	bpf_loader_close(&l);
	return 0;
}

static int toggle(const char *dir, bool wakeups)
{
	struct bpf_loader l;
	struct config cfg;
	char line[64];
	int ret = 0;

	config_defaults(&cfg);
	cfg.bpf_sched_wakeups = wakeups;
	if (bpf_loader_init(&l, &cfg, NULL) < 0)
		return 1;
	if (bpf_loader_up_count(&l) != BPF_PROBE_COUNT)
		fprintf(stderr, "bpf_probes: only %d probes up\n", bpf_loader_up_count(&l));
	bpf_loader_set_attached(&l, false);
	printf("loaded: sched %s\n", bpf_loader_reason(&l, BPF_PROBE_SCHED));
	fflush(stdout);
	while (ret == 0 && fgets(line, sizeof(line), stdin)) {
		bool on = !strncmp(line, "on", 2);
		if (on) {
			ret = bpf_loader_set_attached(&l, true);
			if (ret == 0)
				ret = bpf_loader_cgroup_add(&l, dir);
		} else {
			bpf_loader_set_attached(&l, false);
			bpf_loader_cgroup_remove(&l, dir);
		}
		if (ret < 0)
			fprintf(stderr, "bpf_probes: cannot attach: %s\n", strerror(-ret));
		printf("%s\n", on ? "on" : "off");
		fflush(stdout);
	}
	bpf_loader_close(&l);
	return ret < 0;
}

static int drain(const char *dir, int n, double seconds, double interval)
{
	struct bpf_loader l;
	struct bpf_counters c;
	uint64_t *ids = calloc((size_t)n, sizeof(*ids));
	char path[600], sub[700];
	double c0, w0, end, next, work = 0;
	long cycles = 0, reads = 0;
	int ret = 1;

	if (!ids || bpf_loader_init(&l, NULL, NULL) < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		int r = 0;
		snprintf(path, sizeof(path), "%s/t%d", dir, i);
		snprintf(sub, sizeof(sub), "%s/app", path);
		if ((mkdir(path, 0755) < 0 && errno != EEXIST) ||
		    (mkdir(sub, 0755) < 0 && errno != EEXIST))
			r = -errno;
		if (r == 0)
			r = bpf_loader_cgroup_add(&l, path);
		if (r == 0)
			r = bpf_cgroup_id_of(sub, &ids[i]);
		if (r < 0) {
			fprintf(stderr, "bpf_probes: cannot make or follow %s: %s\n", sub, strerror(-r));
			n = i + 1;
			goto out;
		}
	}
	c0 = cpu_seconds();
	w0 = mono();
	end = w0 + seconds;
	for (next = w0; mono() < end; next += interval) {
		struct timespec ts;
		double c1 = cpu_seconds();
		bpf_loader_refresh(&l);
		for (int i = 0; i < n; i++)
			reads += bpf_loader_cached(&l, ids[i], &c) == 0;
		work += cpu_seconds() - c1;
		cycles++;
		ts.tv_sec = (time_t)(next + interval);
		ts.tv_nsec = (long)((next + interval - (double)ts.tv_sec) * 1e9);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	printf("%d task cgroups, %ld cycles every %.0f s, %ld container reads: draining %.4f CPU s in "
	       "%.1f s = %.3f%% of a core (%.2f ms per cycle); the process in all %.3f%%\n", n,
	       cycles, interval, reads, work, mono() - w0, work / (mono() - w0) * 100,
	       work / (double)(cycles ? cycles : 1) * 1e3,
	       (cpu_seconds() - c0) / (mono() - w0) * 100);
	ret = 0;
out:
	bpf_loader_close(&l);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/t%d", dir, i);
		snprintf(sub, sizeof(sub), "%s/app", path);
		rmdir(sub);
		rmdir(path);
	}
	free(ids);
	return ret;
}

int main(int argc, char **argv)
{
	log_set_level(LOG_WARN);
	if (argc == 3 && !strcmp(argv[1], "attach"))
		return attach(argv[2]);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "toggle"))
		return toggle(argv[2], argc == 4 && !strcmp(argv[3], "wakeups"));
	if (argc == 6 && !strcmp(argv[1], "drain"))
		return drain(argv[2], atoi(argv[3]), atof(argv[4]), atof(argv[5]));
	fprintf(stderr, "usage: bpf_probes attach DIR | toggle DIR [wakeups] | "
		"drain DIR N SECONDS INTERVAL\n");
	return 2;
}
