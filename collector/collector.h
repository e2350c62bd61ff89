/* SPDX-License-Identifier: MIT */
/* collector.h: container insights - samples task cgroups, keeps a recent window, writes RRD files. */
#ifndef BERTH_COLLECTOR_H
#define BERTH_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/cgstat.h"
#include "collector/rrd_store.h"
#include "common/config.h"
#include "common/loop.h"
#include "bpf/bpf.h"
#include "runtime/runtime.h"

/*
 * Every collect_interval seconds (a loop timer) the collector walks rt->tasks, reads
 * the cgroup files of every RUNNING task's containers (kept open, re-read with pread into one
 * scratch buffer: no allocation per sample) and derives Container Insights metrics per container,
 * task, service ("service:NAME" task groups), task definition family and cluster. The last
 * metrics_window seconds of them stay in memory (per series one float per column and cycle, in
 * chunks of COL_CHUNK cycles: the current one raw, older ones encoded by
 * collector/window_chunk.h, a chunk that encodes as the one before it shared with it) and
 * every task, service and cluster is written to its RRD file (rrd_store.h) from the window: about
 * every 15 minutes per file (the first write, which creates it, within 5 minutes of its start),
 * files spread over the cycles, all rows of a file in one librrd call (with rrdcached: every
 * cycle). The loop copies a file's rows into a job; the store's one worker thread makes the
 * librrd calls and hands the job back to the loop, which owns every collector structure. A
 * crash loses at most those 15 minutes of RRD rows; a clean close writes everything.
 */

/* Columns of a series; containers have the first 2, tasks the first COL_TASK_COLS, aggregates
 * all. The network and run-queue columns come from the eBPF probes (NaN without them). */
enum col_metric {
	COL_CPU,          /* CpuUtilized: CPU units (1024 = one CPU) over the last interval */
	COL_MEM,          /* MemoryUtilized: working set, MiB */
	COL_CPU_RES,      /* CpuReserved: units */
	COL_MEM_RES,      /* MemoryReserved: MiB */
	COL_READ,         /* StorageReadBytes: bytes in the last interval */
	COL_WRITE,        /* StorageWriteBytes */
	COL_NET_RX,       /* NetworkRxBytes: bytes/second over the last interval */
	COL_NET_TX,       /* NetworkTxBytes */
	COL_NET_RX_PKT,   /* NetworkRxPackets: packets/second */
	COL_NET_TX_PKT,   /* NetworkTxPackets */
	COL_RUNQ_P99,     /* RunQueueLatencyP99: milliseconds, over the last interval */
	COL_RUNNING,      /* RunningTaskCount */
	COL_PENDING,      /* PendingTaskCount */
	COL_DESIRED,      /* DesiredTaskCount (services; from the hook) */
	COL_TASKS,        /* TaskCount */
	COL_SERVICES,     /* ServiceCount (clusters) */
	COL_METRIC_COUNT,
};

#define COL_TASK_COLS (COL_RUNQ_P99 + 1)

enum col_kind { COL_CONTAINER, COL_TASK, COL_SERVICE, COL_FAMILY, COL_CLUSTER, COL_KIND_COUNT };

struct col_task;
struct col_chunk;

/* One dimension set's recent values. */
struct col_series {
	enum col_kind kind;
	/* Strings in the series' own allocation (after the struct). */
	char *cluster;
	char *name;                   /* task id, service name, family; "" for clusters */
	char *container;              /* containers only, else "" */
	int n_cols;
	float *open;                  /* the current chunk: COL_CHUNK slots x n_cols, NaN = none */
	struct col_chunk **chunks;    /* older chunks, encoded; read with collector_value() */
	uint64_t first_cycle;         /* slots before it hold nothing */
	double last[COL_METRIC_COUNT];/* the latest values (NaN = unknown) */
	bool active;                  /* sampled in the last cycle */
	double ended_at;              /* when it went inactive (freed after the window) */
	struct col_task *owner;       /* task series: the task while it is sampled */
	struct rrd_file rrd;          /* service and cluster series: their file */
	uint64_t active_cycle;        /* the last cycle it was active */
	uint64_t rrd_cycle;           /* cycles up to this one are handed to the RRD worker */
	bool rrd_owed;                /* due for an RRD write not handed over yet */
	struct col_series *next;      /* collector's list of every series */
	struct col_series *hnext;     /* hash chain */
};

/* What the eBPF probes counted for one container (collector/probes.c). */
struct col_bpf {
	uint64_t cgroup_id;           /* cgroup2 id of the container's cgroup, 0 until known */
	bool have_cur, have_prev;
	struct bpf_counters cur, prev;
	double t_cur, t_prev;
	/* The sched probe's switch-ins and on-CPU time of the container at cycle `still_cycle`
	 * (collector_bpf_still), and whether nothing of it ran as of its last reading. */
	bool still_have, idle;
	uint64_t still_runq, still_oncpu, still_cycle;
};

/* One container being sampled. */
struct col_container {
	char *name;                   /* one allocation holding name, image and rel */
	char *image;
	char *rel;                    /* cgroup path below the hierarchy's root */
	struct cgstat_reader reader;
	struct cgstat cur, prev;
	double t_cur, t_prev;
	bool have_cur, have_prev;
	struct cgroup_limits limits;  /* read once when first seen */
	int cpu_units, memory_mib;    /* from the task definition */
	double started_at;
	unsigned phase;               /* offset of its slow and full reads' cycles (spread) */
	struct col_series *series;
	struct col_bpf *bpf;          /* NULL without eBPF probes */
};

struct col_task {
	char id[40];
	char *cluster;                /* strings in the task's own allocation (after the struct) */
	char *family;
	int revision;
	char *service;                /* "" when not a service task */
	int cpu_units, memory_mib;    /* task size, or the sum of its containers' */
	struct col_container *containers;
	size_t n_containers;
	struct col_series *series;
	struct col_series *agg[3];    /* its cluster, service and family series (made on first use;
				       * kept alive by the task counting into them every cycle) */
	struct rrd_file rrd;
	uint64_t rrd_cycle;           /* cycles up to this one are handed to the RRD worker */
	bool rrd_owed;                /* due for an RRD write not handed over yet */
	bool seen;                    /* in rt->tasks and RUNNING during this cycle */
	bool io_enabled;              /* v1 blkio accounting switched on */
	struct col_task *next;
};

struct col_self {
	uint64_t cycles, samples, cgroups_gone, parse_errors, open_errors;
	uint64_t gated;               /* readings that skipped the gated files (CPU idle) */
	uint64_t still;               /* readings skipped whole: the sched probe saw nothing run */
	double last_cycle_seconds, total_cycle_seconds, max_cycle_seconds;
	double last_cycle_at;
	size_t window_bytes;
	/* CPU time (the thread's, kernel included) of the cycles' phases: cgroup files and probes,
	 * the window and aggregates, RRD writes, and the observers after the cycle. */
	double cpu_read, cpu_window, cpu_rrd, cpu_observers;
};

#define COL_HASH_SIZE 4096
#define COL_CHUNK 128                 /* cycles per window chunk */
#define COL_MAX_OBSERVERS 8
#define COL_TASK_MAX_DS 32            /* 11 task columns + 2 per container, at most 10 containers */

struct collector {
	const struct config *cfg;
	struct runtime *rt;
	struct loop *loop;
	struct loop_timer timer;
	bool timer_ready;
	unsigned interval;            /* seconds */
	unsigned slow_every;          /* cycles between reads of the costly files (~5 s) */
	unsigned fast_mask;           /* the files read every cycle (enum cgstat_file bits) */
	unsigned gate_mask;           /* of those, the ones read only when the CPU counter moved */
	size_t cap;                   /* window slots */
	uint64_t cycle;               /* cycles done; slot of cycle k is k % cap */
	double *ts;                   /* cap timestamps */
	size_t n_chunks;              /* chunk slots per series: the window and two more */
	const struct col_series *dec_series; /* the chunk decoded last, in dec */
	uint64_t dec_chunk;
	float dec[COL_CHUNK * COL_METRIC_COUNT];
	struct col_task *tasks;
	size_t n_tasks;
	struct col_series *series;
	struct col_series *hash[COL_HASH_SIZE];
	struct rrd_store rrd;
	bool rrd_on;
	unsigned rrd_batch;           /* cycles between writes of one file (~15 minutes; 1 with
				       * rrdcached): librrd opens the file once per write */
	unsigned rrd_first;           /* cycles before a new file's first write (~5 minutes) */
	/* The RRD writes run in the store's worker thread (rrd_store.h). A cycle's due files are
	 * handed to it in slices of at most RRD_SLICE_MS (copying their rows out of the window),
	 * the loop serving what waits (HTTP requests) between them; rrd_slice runs the next
	 * slice. A file stays owed while its last job is out or the worker's queue is full
	 * (rrd_waiting: the next job back starts a slice). */
	struct loop_timer rrd_slice;
	bool rrd_slice_ready;
	bool rrd_waiting;
	uint64_t rrd_dropped;         /* rows that left the window before they were handed over */
	double next_expire;
	struct col_self self;
	char buf[32768];              /* scratch for one cgroup file */
	/*
	 * Hooks the service scheduler fills (NULL = unknown): the desired count of a service, and
	 * the number of ACTIVE services of a cluster (rt->cluster_service_count is used when this
	 * is NULL). Until services set them, DesiredTaskCount is unknown and ServiceCount counts
	 * the services that have tasks.
	 */
	int (*service_desired)(void *ctx, const char *cluster, const char *service);
	int (*service_count)(void *ctx, const char *cluster);
	void *hook_ctx;
	/* Observers called at the end of every cycle (collector_on_cycle). */
	struct col_observer {
		void (*fn)(void *ctx, struct collector *c, double now);
		void *ctx;
	} observers[COL_MAX_OBSERVERS];
	size_t n_observers;
	/* Bumped when a series is made / freed: a series pointer kept since an older
	 * series_freed may be stale; a lookup that found none may succeed after series_made. */
	uint64_t series_made, series_freed;
	struct bpf_loader *bpf;       /* the eBPF probes (collector_bpf_init), NULL without */
	struct col_bpf_self {
		uint64_t cycles;
		double seconds;       /* time spent reading the probes' maps */
		uint64_t refreshed;   /* the cycle whose counters the loader's cache holds */
	} bpf_self;
};

/* Sets c up on loop for rt: the window, the RRD store under DATA_DIR/rrd (or through
 * cfg->rrdcached_address) and the sampling timer. Returns 0 or -errno (logged); on error
 * nothing is left to close. */
int collector_init(struct collector *c, const struct config *cfg, struct runtime *rt,
		   struct loop *loop);
/* Stops sampling and frees everything; idempotent (a zeroed collector is fine). */
void collector_close(struct collector *c);

/* Loads the eBPF probes that c->cfg enables (collector/probes.c) after collector_init: follows
 * every task cgroup the runtime makes from then on (and those already there), reads their
 * counters each cycle, and hands OOM kills to the runtime as they happen. A probe that cannot
 * load is reported and skipped (berthd runs on cgroup statistics); returns 0, or -ENOMEM. */
int collector_bpf_init(struct collector *c);

/* Registers fn (after collector_init) to run at the end of every cycle, after the window holds the cycle's values (the
 * alarm evaluator, the usage ledger, ...), in registration order. 0, or -ENOSPC when
 * COL_MAX_OBSERVERS are registered. */
int collector_on_cycle(struct collector *c, void (*fn)(void *ctx, struct collector *c, double now),
		       void *ctx);

/* Runs one sampling cycle at wall time now (the timer calls it; tests call it directly). */
void collector_sample(struct collector *c, double now);

/* The window's value of column col of s at cycle k (NaN when none or out of the window). */
float collector_value(struct collector *c, const struct col_series *s, uint64_t k, int col);

/* The series of a dimension set, or NULL. name/container may be NULL for kinds without them. */
struct col_series *collector_series_find(struct collector *c, enum col_kind kind,
					 const char *cluster, const char *name,
					 const char *container);

/* Metric names: metric -> column and the kinds that have it. Container Insights'
 * (ECS/ContainerInsights) and AWS/ECS's service and cluster utilization, which is derived
 * from the same columns (CPU units used over CPU units reserved, x100). */
#define COL_NS_CI "ECS/ContainerInsights"
#define COL_NS_ECS "AWS/ECS"
struct col_metric_info {
	const char *name;
	const char *unit;             /* CloudWatch unit */
	int col;                      /* enum col_metric */
	int den;                      /* >= 0: value = 100 * col / den (utilization percent) */
	unsigned kinds;               /* bit (1u << enum col_kind) */
	const char *ns;               /* namespace; NULL: ECS/ContainerInsights */
};
/* Borrowed table of *n entries (every namespace). */
const struct col_metric_info *collector_metrics(size_t *n);
/* A Container Insights metric by name, or NULL. */
const struct col_metric_info *collector_metric_find(const char *name);
/* A metric by namespace (NULL: ECS/ContainerInsights) and name, or NULL. */
const struct col_metric_info *collector_metric_find_ns(const char *ns, const char *name);
/* The namespace of a metric ("ECS/ContainerInsights" or "AWS/ECS"). */
const char *collector_metric_ns(const struct col_metric_info *m);
/* The value of metric m of series s at cycle k (NaN when none): the column, or for a
 * utilization 100 * col / den (NaN when den is not positive). */
double collector_metric_value(struct collector *c, const struct col_series *s,
			      const struct col_metric_info *m, uint64_t k);
/* The nearest-rank percentile p (0..100) of sorted v[0..n), n > 0: the ceil(p/100*n)-th
 * smallest value (the smallest for p0). */
double collector_percentile_sorted(const double *v, size_t n, double p);
/* The same of unsorted v[0..n) (reorders v: quickselect, no full sort). */
double collector_percentile(double *v, size_t n, double p);

/* One period's statistics. */
#define COL_MAX_PCT 8
struct col_datapoint {
	double t;                     /* period start */
	double count, sum, min, max;
	double pct[COL_MAX_PCT];      /* NaN when not computed */
};

/* A GetMetricStatistics request; all strings borrowed. */
struct col_query {
	const struct col_metric_info *metric;
	enum col_kind kind;
	const char *cluster, *name, *container;
	double start, end;            /* unix seconds, end exclusive */
	unsigned period;              /* seconds, >= interval */
	double pct[COL_MAX_PCT];      /* percentiles wanted (0..100) */
	int n_pct;
};

/* Computes datapoints, oldest first, into *out (malloc'd, caller frees; NULL when none),
 * from the window when it covers start, otherwise the periods before the window's first whole
 * period from the RRD file as it is (AVERAGE, MIN and MAX archives; no percentiles there,
 * SampleCount estimated from rows) and the rest from the window, which holds the rows the file
 * is still owed: a query writes nothing and never waits for the RRD worker. Periods without
 * values are left out. *from_rrd tells whether the file was read. Returns 0, -ENOENT when the
 * dimension set is unknown, or -errno. */
int collector_query(struct collector *c, const struct col_query *q, struct col_datapoint **out,
		    size_t *n, bool *from_rrd);

/* The RRD file path of a task, service or cluster into out; 0 or -errno. */
int collector_rrd_path(struct collector *c, enum col_kind kind, const char *cluster,
		       const char *name, char *out, size_t len);
/* Writes the rows of a dimension set's RRD file still waiting for their batch, so that a read
 * of the file (a graph) sees every sampled cycle: hands them to the RRD worker ahead of its
 * queue and waits for them (and for the job it is running). Errors are counted as for any
 * write. */
void collector_rrd_sync(struct collector *c, enum col_kind kind, const char *cluster,
			const char *name);
/* Names of the data sources in a task file for a metric column and container index
 * (-1 = the task itself), e.g. "cpu", "c0_mem". */
void collector_ds_name(int col, int container, char *out, size_t len);

#endif
