/* SPDX-License-Identifier: MIT */
/* alarms_bench.c: CPU of one alarm evaluation pass over ALARMS alarms on TASKS task series,
 * synthesised through the collector's API on a fixture cgroup tree (tests/bench/alarms.sh). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alarms/alarms.h"
#include "collector/collector.h"
#include "runtime/runtime.h"

#define FIX "tests/fixtures/cgroupstat/v2"

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd) == 0 ? 0 : -EIO;
}

static void put_alarm(struct alarms *al, int i, const char *task, int kind)
{
	static const char *const metrics[] = { "CpuUtilized", "MemoryUtilized", "CpuUtilized",
					       "TaskCpuUtilization", "StorageWriteBytes" };
	static const char *const stats[] = { "Average", "Maximum", NULL, "Average", "Sum" };
	struct berr e;
	char name[64];
	json_t *req;

	snprintf(name, sizeof(name), "alarm-%05d", i);
	req = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}], s:i, s:i, s:i, s:f, s:s, s:s}",
			"AlarmName", name, "MetricName", metrics[kind % 5], "Namespace",
			"ECS/ContainerInsights", "Dimensions", "Name", "ClusterName", "Value", "b",
			"Name", "TaskId", "Value", task, "Period", 60, "EvaluationPeriods", 3,
			"DatapointsToAlarm", 2, "Threshold", (double)(i % 3),
			"ComparisonOperator", i % 2 ? "GreaterThanThreshold" : "LessThanThreshold",
			"TreatMissingData", i % 4 ? "missing" : "breaching");
	if (stats[kind % 5])
		json_object_set_new(req, "Statistic", json_string(stats[kind % 5]));
	else
		json_object_set_new(req, "ExtendedStatistic", json_string("p99"));
	if (alarms_put_metric_alarm(al, req, &e) < 0)
		fprintf(stderr, "alarms_bench: put %s: %s\n", name, e.message);
	json_decref(req);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return (a > b) - (a < b);
}

/* The nearest-rank percentile p of sorted v[0..n). */
static double pctl(const double *v, int n, double p)
{
	int rank = (int)ceil(p / 100.0 * n);

	return n ? v[rank > 0 ? rank - 1 : 0] : 0;
}

int main(int argc, char **argv)
{
	int n_tasks = argc > 1 ? atoi(argv[1]) : 1000, n_alarms = argc > 2 ? atoi(argv[2]) : 10000;
	const char *root = argc > 3 ? argv[3] : "/dev/shm/berth-alarms-bench";
	int minutes = argc > 4 ? atoi(argv[4]) : 10;
	static struct config cfg;
	static struct runtime rt;
	static struct rt_cluster cl;
	static struct collector col;
	struct rt_task *tasks = calloc((size_t)n_tasks, sizeof(*tasks));
	struct rt_container *ctrs = calloc((size_t)n_tasks, sizeof(*ctrs));
	double *due = calloc((size_t)minutes + 1, sizeof(*due));
	struct alarms *al = NULL;
	char cg[600];
	double t0, put_cpu, sum = 0, idle_sum = 0, idle_max = 0, first = 0, all_cpu = 0;
	int boundaries = 0, idle = 0, k = 0;
	struct alarms_stats st;

	if (!tasks || !ctrs || !due || minutes < 1 || sh("rm -rf %s && mkdir -p %s", root, root) < 0)
		return 1;
	config_defaults(&cfg);
	cfg.collect_interval = 1;
	cfg.metrics_window = 600;
	snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s/data", root);
	snprintf(cg, sizeof(cg), "%s/cg", root);
	for (int i = 0; i < n_tasks; i++) {
		char dir[800];
		snprintf(tasks[i].id, sizeof(tasks[i].id), "%032x", i + 1);
		snprintf(dir, sizeof(dir), "%s/berth.slice/b/%s/c", cg, tasks[i].id);
		if (sh("mkdir -p %s && cp " FIX "/* %s/", dir, dir) < 0)
			return 1;
		snprintf(tasks[i].cluster, sizeof(tasks[i].cluster), "b");
		snprintf(tasks[i].last_status, sizeof(tasks[i].last_status), "RUNNING");
		snprintf(tasks[i].group, sizeof(tasks[i].group), "service:s%d", i % 20);
		snprintf(tasks[i].cpu, sizeof(tasks[i].cpu), "256");
		snprintf(tasks[i].memory, sizeof(tasks[i].memory), "512");
		snprintf(ctrs[i].name, sizeof(ctrs[i].name), "c");
		snprintf(ctrs[i].image, sizeof(ctrs[i].image), "busybox");
		tasks[i].containers = &ctrs[i];
		tasks[i].n_containers = 1;
		tasks[i].next = i + 1 < n_tasks ? &tasks[i + 1] : NULL;
	}
	if (sh("echo 'cpu io memory pids' > %s/cgroup.controllers%s", cg, "") < 0 ||
	    cgroup_env_init_fixture(&rt.cg, CGROUP_MODE_V2, cg) < 0)
		return 1;
	rt.cfg = &cfg;
	snprintf(cl.name, sizeof(cl.name), "b");
	snprintf(cl.status, sizeof(cl.status), "ACTIVE");
	rt.clusters = &cl;
	rt.tasks = tasks;
	if (collector_init(&col, &cfg, &rt, NULL) < 0)
		return 1;
	col.rrd_on = false;   /* the evaluator's cost is measured, not the RRD writer's */
	if (alarms_init(&al, &cfg, NULL, &col, &rt) < 0)
		return 1;
	/* Five and a half minutes of samples first, so every evaluation range is in the window,
	 * up to the wall clock: the puts evaluate each alarm at once on the wall clock, and so
	 * does a running berthd at the time of its last sample. They start well before a minute
	 * boundary, so that every alarm is due at the next one. */
	t0 = floor(time_now()) - 330;
	for (;;) {
		double w = time_now();
		while (t0 + k <= w - 1)
			collector_sample(&col, t0 + k++);
		if (k >= 330 && fmod(w, 60) < 45)
			break;
		usleep(100000);
	}
	put_cpu = cpu_now();
	for (int i = 0; i < n_alarms; i++)
		put_alarm(al, i, tasks[i % n_tasks].id, i / n_tasks);
	put_cpu = cpu_now() - put_cpu;
	/* Then on, faster than the wall clock, for MINUTES minute boundaries: every alarm is due
	 * at each. */
	for (; boundaries < minutes || ((long)(t0 + k)) % 60 != 0; k++) {
		collector_sample(&col, t0 + k);
		alarms_get_stats(al, &st);
		if (boundaries)
			all_cpu += st.last_cycle_seconds;
		if (((long)(t0 + k)) % 60 == 0) {
			if (!boundaries)
				first = all_cpu = st.last_cycle_seconds;
			due[boundaries++] = st.last_cycle_seconds;
			sum += st.last_cycle_seconds;
		} else {
			idle++;
			idle_sum += st.last_cycle_seconds;
			idle_max = st.last_cycle_seconds > idle_max ? st.last_cycle_seconds : idle_max;
		}
	}
	alarms_get_stats(al, &st);
	qsort(due, (size_t)boundaries, sizeof(*due), cmp_double);
	printf("alarms: %d alarms on %d tasks, period 60 s, 3 evaluation periods\n", n_alarms,
	       n_tasks);
	printf("put: %.1f us CPU per PutMetricAlarm (durable file each)\n",
	       put_cpu / n_alarms * 1e6);
	printf("evaluation pass with every alarm due: %.2f ms CPU mean, %.2f ms max over %d "
	       "passes (target < 20 ms)\n", sum / (boundaries ? boundaries : 1) * 1e3,
	       (boundaries ? due[boundaries - 1] : 0) * 1e3, boundaries);
	printf("evaluation pass with every alarm due: p50 %.2f ms, p90 %.2f ms CPU; the first "
	       "after the puts %.2f ms\n", pctl(due, boundaries, 50) * 1e3,
	       pctl(due, boundaries, 90) * 1e3, first * 1e3);
	printf("evaluation pass with nothing due: %.3f ms CPU mean over %d passes (max %.3f ms)\n",
	       idle_sum / (idle ? idle : 1) * 1e3, idle, idle_max * 1e3);
	printf("per alarm evaluation: %.2f us\n", sum / (boundaries ? boundaries : 1) /
	       (n_alarms ? n_alarms : 1) * 1e6);
	printf("all passes of a minute: %.2f ms CPU per minute (mean of %d minutes)\n",
	       all_cpu / (minutes > 0 ? minutes : 1) * 1e3, minutes);
	printf("collector cycle for comparison: %.2f ms wall mean\n",
	       col.self.total_cycle_seconds / (double)col.self.cycles * 1e3);
	printf("evaluations %llu, transitions %llu\n", st.evaluations, st.transitions);
	alarms_close(al);
	collector_close(&col);
	free(tasks);
	free(ctrs);
	free(due);
	sh("rm -rf %s%s", root, "");
	return 0;
}
