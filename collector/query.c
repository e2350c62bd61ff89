/* SPDX-License-Identifier: MIT */
/* query.c: metric names (ECS/ContainerInsights, AWS/ECS) and GetMetricStatistics over the window
 * or RRD files. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"

#define K(x) (1u << (x))
#define AGG (K(COL_SERVICE) | K(COL_FAMILY) | K(COL_CLUSTER))

static const struct col_metric_info metrics[] = {
	{ "CpuUtilized", "None", COL_CPU, -1, K(COL_TASK) | AGG, NULL },
	{ "CpuReserved", "None", COL_CPU_RES, -1, K(COL_TASK) | AGG, NULL },
	{ "MemoryUtilized", "Megabytes", COL_MEM, -1, K(COL_TASK) | AGG, NULL },
	{ "MemoryReserved", "Megabytes", COL_MEM_RES, -1, K(COL_TASK) | AGG, NULL },
	{ "StorageReadBytes", "Bytes", COL_READ, -1, K(COL_TASK) | AGG, NULL },
	{ "StorageWriteBytes", "Bytes", COL_WRITE, -1, K(COL_TASK) | AGG, NULL },
	{ "NetworkRxBytes", "Bytes/Second", COL_NET_RX, -1, K(COL_TASK) | AGG, NULL },
	{ "NetworkTxBytes", "Bytes/Second", COL_NET_TX, -1, K(COL_TASK) | AGG, NULL },
	{ "NetworkRxPackets", "Count/Second", COL_NET_RX_PKT, -1, K(COL_TASK) | AGG, NULL },
	{ "NetworkTxPackets", "Count/Second", COL_NET_TX_PKT, -1, K(COL_TASK) | AGG, NULL },
	{ "RunQueueLatencyP99", "Milliseconds", COL_RUNQ_P99, -1, K(COL_TASK) | AGG, NULL },
	{ "RunningTaskCount", "Count", COL_RUNNING, -1, AGG, NULL },
	{ "PendingTaskCount", "Count", COL_PENDING, -1, AGG, NULL },
	{ "DesiredTaskCount", "Count", COL_DESIRED, -1, K(COL_SERVICE), NULL },
	{ "TaskCount", "Count", COL_TASKS, -1, K(COL_FAMILY) | K(COL_CLUSTER), NULL },
	{ "ServiceCount", "Count", COL_SERVICES, -1, K(COL_CLUSTER), NULL },
	{ "TaskCpuUtilization", "Percent", COL_CPU, COL_CPU_RES, K(COL_TASK), NULL },
	{ "TaskMemoryUtilization", "Percent", COL_MEM, COL_MEM_RES, K(COL_TASK), NULL },
	{ "ContainerCpuUtilized", "None", COL_CPU, -1, K(COL_CONTAINER), NULL },
	{ "ContainerMemoryUtilized", "Megabytes", COL_MEM, -1, K(COL_CONTAINER), NULL },
	/* AWS/ECS: CPU units used by the service's (cluster's) tasks over the units they reserve,
	 * memory likewise, as percent; per sample, from the sums the aggregate series keep. */
	{ "CPUUtilization", "Percent", COL_CPU, COL_CPU_RES, K(COL_SERVICE) | K(COL_CLUSTER),
	  COL_NS_ECS },
	{ "MemoryUtilization", "Percent", COL_MEM, COL_MEM_RES, K(COL_SERVICE) | K(COL_CLUSTER),
	  COL_NS_ECS },
};

const struct col_metric_info *collector_metrics(size_t *n)
{
	*n = sizeof(metrics) / sizeof(metrics[0]);
	return metrics;
}

const char *collector_metric_ns(const struct col_metric_info *m)
{
	return m->ns ? m->ns : COL_NS_CI;
}

const struct col_metric_info *collector_metric_find_ns(const char *ns, const char *name)
{
	if (!ns)
		ns = COL_NS_CI;
	for (size_t i = 0; name && i < sizeof(metrics) / sizeof(metrics[0]); i++)
		if (strcmp(metrics[i].name, name) == 0 && strcmp(collector_metric_ns(&metrics[i]), ns) == 0)
			return &metrics[i];
	return NULL;
}

const struct col_metric_info *collector_metric_find(const char *name)
{
	return collector_metric_find_ns(NULL, name);
}

int collector_rrd_path(struct collector *c, enum col_kind kind, const char *cluster,
		       const char *name, char *out, size_t len)
{
	struct rrd_file f;
	int ret;

	if (kind == COL_FAMILY)
		return -ENOENT;
	if (kind == COL_CONTAINER)
		kind = COL_TASK;
	ret = rrd_store_path(&c->rrd, &f, kind == COL_TASK ? "task" : kind == COL_SERVICE
			     ? "service" : "cluster", cluster, kind == COL_CLUSTER ? NULL : name);
	if (ret == 0 && snprintf(out, len, "%s", f.path) >= (int)len)
		ret = -ENAMETOOLONG;
	return ret;
}

double collector_metric_value(struct collector *c, const struct col_series *s,
			      const struct col_metric_info *m, uint64_t k)
{
	double v, den;

	if (m->col >= s->n_cols || m->den >= s->n_cols)
		return NAN;
	v = collector_value(c, s, k, m->col);
	if (m->den >= 0 && !isnan(v)) {
		den = collector_value(c, s, k, m->den);
		v = den > 0 ? 100.0 * v / den : NAN;
	}
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double collector_percentile_sorted(const double *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);

	if (rank > n)
		rank = n;
	return v[rank ? rank - 1 : 0];
}

double collector_percentile(double *v, size_t n, double p)
{
	long k = (long)ceil(p / 100.0 * (double)n) - 1, lo = 0, hi = (long)n - 1;

	if (k < 0)
		k = 0;
	if (k > hi)
		k = hi;
	while (lo < hi) {
		double pivot = v[lo + (hi - lo) / 2];
		long i = lo, j = hi;
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				double t = v[i];
				v[i++] = v[j];
				v[j--] = t;
			}
		}
		/* [lo, j] <= pivot, [i, hi] >= pivot, and anything between equals it. */
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

static void point_finish(struct col_datapoint *d, double *vals, size_t n, const struct col_query *q)
{
	qsort(vals, n, sizeof(*vals), cmp_double);
	d->min = vals[0];
	d->max = vals[n - 1];
	for (int i = 0; i < q->n_pct && i < COL_MAX_PCT; i++)
		d->pct[i] = collector_percentile_sorted(vals, n, q->pct[i]);
}

/* Window path: slots oldest first, bucketed by period from q->start. */
static int from_window(struct collector *c, const struct col_series *s, const struct col_query *q,
		       struct col_datapoint **out, size_t *n_out)
{
	size_t avail = c->cycle - s->first_cycle + 1 < c->cap ? c->cycle - s->first_cycle + 1 : c->cap;
	size_t n_buckets = (size_t)ceil((q->end - q->start) / q->period), n = 0, nv = 0;
	double *vals = malloc((avail + 1) * sizeof(*vals));
	struct col_datapoint *dp = calloc(n_buckets ? n_buckets : 1, sizeof(*dp));
	long cur = -1;

	if (!vals || !dp) {
		free(vals);
		free(dp);
		return -ENOMEM;
	}
	for (size_t i = avail; i-- > 0;) {
		size_t slot = (size_t)((c->cycle - i) % c->cap);
		double t = c->ts[slot], v;
		long b;
		if (t < q->start || t >= q->end || isnan(v = collector_metric_value(c, s, q->metric, c->cycle - i)))
			continue;
		b = (long)((t - q->start) / q->period);
		if (b != cur && nv) {
			point_finish(&dp[n++], vals, nv, q);
			nv = 0;
		}
		if (b != cur) {
			cur = b;
			dp[n] = (struct col_datapoint){ .t = q->start + (double)b * q->period };
		}
		vals[nv++] = v;
		dp[n].count++;
		dp[n].sum += v;
	}
	if (nv)
		point_finish(&dp[n++], vals, nv, q);
	free(vals);
	*out = dp;
	*n_out = n;
	return 0;
}

/* Index of data source name in names, or -1. */
static long ds_index(char **names, unsigned long n, const char *name)
{
	for (unsigned long i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (long)i;
	return -1;
}

struct fetched {
	time_t start, end;
	unsigned long step, n_ds;
	char **names;
	double *data;
};

static int fetch(struct collector *c, const char *path, const char *cf, const struct col_query *q,
		 struct fetched *f)
{
	f->start = (time_t)q->start;
	f->end = (time_t)q->end;
	f->step = q->period;
	return rrd_store_fetch(&c->rrd, path, cf, &f->start, &f->end, &f->step, &f->n_ds,
			       &f->names, &f->data);
}

/* Data source of the query in a file: container index from the task's series order. */
static void query_ds(struct collector *c, const struct col_query *q, int col, char *out, size_t len)
{
	int idx = -1;

	if (q->kind == COL_CONTAINER) {
		struct col_series *ts = collector_series_find(c, COL_TASK, q->cluster, q->name, NULL);
		idx = 0;
		if (ts && ts->owner)
			for (size_t i = 0; i < ts->owner->n_containers; i++)
				if (!strcmp(ts->owner->containers[i].name, q->container))
					idx = (int)i;
	}
	collector_ds_name(col, idx, out, len);
}

static int from_rrd(struct collector *c, const struct col_query *q, struct col_datapoint **out,
		    size_t *n_out)
{
	static const char *const cfs[3] = { "AVERAGE", "MIN", "MAX" };
	struct fetched f[3] = { { 0 } };
	char path[700], ds[32];
	struct col_datapoint *dp = NULL;
	size_t n = 0, rows;
	long col;
	int ret;

	ret = collector_rrd_path(c, q->kind, q->cluster, q->name, path, sizeof(path));
	for (int i = 0; i < 3 && ret == 0; i++)
		ret = fetch(c, path, cfs[i], q, &f[i]);
	if (ret < 0)
		goto out;
	query_ds(c, q, q->metric->col, ds, sizeof(ds));
	col = ds_index(f[0].names, f[0].n_ds, ds);
	rows = f[0].step ? (size_t)((f[0].end - f[0].start) / (time_t)f[0].step) : 0;
	dp = calloc(rows ? rows : 1, sizeof(*dp));
	if (col < 0 || !dp) {
		ret = col < 0 ? -ENOENT : -ENOMEM;
		goto out;
	}
	for (size_t r = 0; r < rows; r++) {
		double avg = f[0].data[r * f[0].n_ds + (size_t)col];
		double per = (double)f[0].step / c->interval;
		if (isnan(avg))
			continue;
		/* A raw row ends at its sample's second; consolidated rows are labelled by their
		 * start, as CloudWatch labels periods. */
		double row_t = (double)f[0].start + (double)(r * f[0].step) +
			       (f[0].step == c->interval ? (double)f[0].step : 0);
		dp[n] = (struct col_datapoint){ .t = row_t,
						.count = per < 1 ? 1 : per, .min = avg, .max = avg };
		dp[n].sum = avg * dp[n].count;
		/* Raw rows have no MIN/MAX archive (a row is one sample): librrd then answers
		 * from a coarser one, which is not these rows. */
		if (f[1].step == f[0].step && f[1].start == f[0].start &&
		    r < (size_t)((f[1].end - f[1].start) / (time_t)f[1].step))
			dp[n].min = f[1].data[r * f[1].n_ds + (size_t)col];
		if (f[2].step == f[0].step && f[2].start == f[0].start &&
		    r < (size_t)((f[2].end - f[2].start) / (time_t)f[2].step))
			dp[n].max = f[2].data[r * f[2].n_ds + (size_t)col];
		for (int i = 0; i < COL_MAX_PCT; i++)
			dp[n].pct[i] = NAN;
		n++;
	}
	*out = dp;
	*n_out = n;
	dp = NULL;
out:
	free(dp);
	for (int i = 0; i < 3; i++) {
		rrd_store_free_names(f[i].names, f[i].n_ds);
		free(f[i].data);
	}
	return ret;
}

/*
 * Older than the window: the periods before the window's first whole period from the RRD file,
 * as it is (nothing written for the read, so a read never waits for the RRD worker), and from
 * that period on from the window, which holds every row the file is still owed.
 */
static int from_rrd_and_window(struct collector *c, const struct col_series *s,
			       const struct col_query *q, double window_start,
			       struct col_datapoint **out, size_t *n_out)
{
	struct col_query older = *q, newer = *q;
	struct col_datapoint *a = NULL, *b = NULL, *all;
	size_t na = 0, nb = 0, keep = 0;
	int ret;

	if (!s || !c->cycle)
		return from_rrd(c, q, out, n_out);
	older.end = q->start + ceil((window_start - q->start) / q->period) * q->period;
	if (older.end > q->end)
		older.end = q->end;
	newer.start = older.end;
	ret = older.end > older.start ? from_rrd(c, &older, &a, &na) : 0;
	if (ret < 0 && ret != -ENOENT) /* no file yet: the window has every row */
		return ret;
	if (newer.end > newer.start && (ret = from_window(c, s, &newer, &b, &nb)) < 0) {
		free(a);
		return ret;
	}
	for (size_t i = 0; i < na; i++)
		if (a[i].t < older.end) /* librrd's rows may run past the end asked */
			a[keep++] = a[i];
	all = realloc(a, (keep + nb ? keep + nb : 1) * sizeof(*all));
	if (!all) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	if (nb)
		memcpy(all + keep, b, nb * sizeof(*b));
	free(b);
	*out = all;
	*n_out = keep + nb;
	return 0;
}

int collector_query(struct collector *c, const struct col_query *q, struct col_datapoint **out,
		    size_t *n, bool *from_rrd_out)
{
	struct col_series *s = collector_series_find(c, q->kind, q->cluster, q->name, q->container);
	size_t oldest = c->cycle >= c->cap ? (c->cycle + 1) % c->cap : 1;
	double window_start = c->cycle ? c->ts[oldest] : 0;

	*out = NULL;
	*n = 0;
	*from_rrd_out = false;
	if (!q->metric || !(q->metric->kinds & (1u << q->kind)) || q->period == 0 ||
	    q->end <= q->start)
		return -EINVAL;
	uint64_t oldest_cycle = c->cycle >= c->cap ? c->cycle - c->cap + 1 : 1;

	/* From the window alone when it holds every row asked for, or every row the series
	 * has: a series that began after the window's oldest row (a task launched since) has
	 * nothing older in its file, whose rows of the period the window starts in may not be
	 * written yet. */
	if (s && c->cycle &&
	    (q->start >= window_start - c->interval || s->first_cycle > oldest_cycle))
		return from_window(c, s, q, out, n);
	if (q->metric->den >= 0)
		return s ? from_window(c, s, q, out, n) : -ENOENT;
	*from_rrd_out = true;
	return from_rrd_and_window(c, s, q, window_start, out, n);
}
