/* SPDX-License-Identifier: MIT */
/* alarms_bench.c: CPU of one alarm evaluation pass over ALARMS alarms on TASKS task series,
 * synthesised through the collector's API on a fixture cgroup tree (tests/bench/alarms.sh). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int main(int argc, char **argv)
{
	int n_tasks = argc > 1 ? atoi(argv[1]) : 1000, n_alarms = argc > 2 ? atoi(argv[2]) : 10000;
	const char *root = argc > 3 ? argv[3] : "/dev/shm/berth-alarms-bench";
	static struct config cfg;
	static struct runtime rt;
	static struct rt_cluster cl;
	static struct collector col;
	struct rt_task *tasks = calloc((size_t)n_tasks, sizeof(*tasks));
	struct rt_container *ctrs = calloc((size_t)n_tasks, sizeof(*ctrs));
	struct alarms *al = NULL;
	char cg[600];
	double t0, put_cpu, sum = 0, max = 0, idle_sum = 0;
	int boundaries = 0, idle = 0;
	struct alarms_stats st;

	if (!tasks || !ctrs || sh("rm -rf %s && mkdir -p %s", root, root) < 0)
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
	/* Five minutes of samples first, so every evaluation range is in the window; the puts
	 * (evaluated at once, on the wall clock) come before the sampled minutes that follow. */
	t0 = ceil(time(NULL) / 60.0) * 60 + 120 - 330;
	for (int k = 0; k < 330; k++)
		collector_sample(&col, t0 + k);
	put_cpu = cpu_now();
	for (int i = 0; i < n_alarms; i++)
		put_alarm(al, i, tasks[i % n_tasks].id, i / n_tasks);
	put_cpu = cpu_now() - put_cpu;
	/* Three more minutes: every alarm is due at each minute boundary. */
	for (int k = 330; k < 510; k++) {
		collector_sample(&col, t0 + k);
		alarms_get_stats(al, &st);
		if (((long)(t0 + k)) % 60 == 0) {
			boundaries++;
			sum += st.last_cycle_seconds;
			max = st.last_cycle_seconds > max ? st.last_cycle_seconds : max;
		} else {
			idle++;
			idle_sum += st.last_cycle_seconds;
		}
	}
	alarms_get_stats(al, &st);
	printf("alarms: %d alarms on %d tasks, period 60 s, 3 evaluation periods\n", n_alarms,
	       n_tasks);
	printf("put: %.1f us CPU per PutMetricAlarm (durable file each)\n",
	       put_cpu / n_alarms * 1e6);
	printf("evaluation pass with every alarm due: %.2f ms CPU mean, %.2f ms max over %d "
	       "passes (target < 20 ms)\n", sum / (boundaries ? boundaries : 1) * 1e3, max * 1e3,
	       boundaries);
	printf("evaluation pass with nothing due: %.3f ms CPU mean over %d passes\n",
	       idle_sum / (idle ? idle : 1) * 1e3, idle);
	printf("per alarm evaluation: %.2f us\n", sum / (boundaries ? boundaries : 1) /
	       (n_alarms ? n_alarms : 1) * 1e6);
	printf("collector cycle for comparison: %.2f ms wall mean\n",
	       col.self.total_cycle_seconds / (double)col.self.cycles * 1e3);
	printf("evaluations %llu, transitions %llu\n", st.evaluations, st.transitions);
	alarms_close(al);
	collector_close(&col);
	free(tasks);
	free(ctrs);
	sh("rm -rf %s%s", root, "");
	return 0;
}
