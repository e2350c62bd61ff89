/* SPDX-License-Identifier: MIT */
/* metrics.c: GET /metrics (Prometheus text 0.0.4, cAdvisor names, gzip) and the /v1 metrics API
 * (query with GetMetricStatistics semantics, list, graphs rendered by librrd). */
#include <errno.h>
#include <math.h>
#include <rrd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include "alarms/actions.h"
#include "alarms/alarms.h"
#include "collector/collector.h"
#include "collector/ledger.h"
#include "common/json.h"
#include "common/log.h"
#include "common/loop.h"
#include "web/app.h"
#include "web/metrics_text.h"

bool mbuf_reserve(struct mbuf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (b->failed)
		return false;
	if (b->len + need + 1 <= b->cap)
		return true;
	if (b->sink && b->len) {
		if (!b->sink(b)) {
			b->failed = true;
			return false;
		}
		b->len = 0;
		if (need + 1 <= b->cap)
			return true;
	}
	while (cap < b->len + need + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void put(struct mbuf *b, const char *s, size_t n)
{
	mbuf_put(b, s, n);
}

static void puts_(struct mbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void putf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct mbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!mbuf_reserve(b, 256))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		if (!mbuf_reserve(b, (size_t)n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* Integers print without printf: a scrape of a thousand tasks is ~40k of them. */
static void put_u64(struct mbuf *b, uint64_t v)
{
	mbuf_u64(b, v);
}

static void put_value(struct mbuf *b, double v)
{
	if (isnan(v))
		puts_(b, "NaN");
	else if (v >= 0 && v < 1e18 && v == floor(v))
		put_u64(b, (uint64_t)v);
	else
		putf(b, "%.15g", v);
}

static void put_escaped(struct mbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			put(b, "\\", 1), put(b, s, 1);
		else if (*s == '\n')
			put(b, "\\n", 2);
		else
			put(b, s, 1);
	}
}

static void label(struct mbuf *b, const char *name, const char *value, bool first)
{
	if (!first)
		put(b, ",", 1);
	puts_(b, name);
	put(b, "=\"", 2);
	put_escaped(b, value);
	put(b, "\"", 1);
}

static void family(struct mbuf *b, const char *name, const char *type, const char *help)
{
	putf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A sample line: name{labels} value [timestamp ms]. labels is preformatted without braces. */
static void sample_at(struct mbuf *b, const char *name, const char *labels, double v, double t)
{
	puts_(b, name);
	if (labels && *labels) {
		put(b, "{", 1);
		puts_(b, labels);
		put(b, "}", 1);
	}
	put(b, " ", 1);
	put_value(b, v);
	if (t > 0) {
		put(b, " ", 1);
		put_u64(b, (uint64_t)(t * 1000));
	}
	put(b, "\n", 1);
}

static void sample(struct mbuf *b, const char *name, const char *labels, double v)
{
	sample_at(b, name, labels, v, 0);
}

enum val_kind { V_NS, V_U64, V_PSI_US };

/* cAdvisor-compatible container families; offset into struct cgstat. */
struct cfam {
	const char *name, *type, *help;
	size_t off;
	enum val_kind kind;
};

#define CS(f) offsetof(struct cgstat, f)
static const struct cfam cfams[] = {
	{ "container_cpu_usage_seconds_total", "counter", "Cumulative cpu time consumed in seconds.", CS(cpu_usage_ns), V_NS },
	{ "container_cpu_user_seconds_total", "counter", "Cumulative user cpu time consumed in seconds.", CS(cpu_user_ns), V_NS },
	{ "container_cpu_system_seconds_total", "counter", "Cumulative system cpu time consumed in seconds.", CS(cpu_system_ns), V_NS },
	{ "container_cpu_cfs_periods_total", "counter", "Number of elapsed enforcement period intervals.", CS(cpu_periods), V_U64 },
	{ "container_cpu_cfs_throttled_periods_total", "counter", "Number of throttled period intervals.", CS(cpu_throttled_periods), V_U64 },
	{ "container_cpu_cfs_throttled_seconds_total", "counter", "Total time duration the container has been throttled.", CS(cpu_throttled_ns), V_NS },
	{ "container_memory_usage_bytes", "gauge", "Current memory usage in bytes, including all memory regardless of when it was accessed.", CS(mem_usage), V_U64 },
	{ "container_memory_working_set_bytes", "gauge", "Current working set in bytes.", CS(mem_working_set), V_U64 },
	{ "container_memory_rss", "gauge", "Size of RSS in bytes.", CS(mem_anon), V_U64 },
	{ "container_memory_cache", "gauge", "Number of bytes of page cache memory.", CS(mem_file), V_U64 },
	{ "container_memory_failcnt", "gauge", "Number of memory usage hits limits (cumulative).", CS(mem_failcnt), V_U64 },
	{ "container_oom_events_total", "counter", "Count of out of memory events observed for the container.", CS(mem_oom_events), V_U64 },
	{ "container_fs_reads_bytes_total", "counter", "Cumulative count of bytes read.", CS(io_read_bytes), V_U64 },
	{ "container_fs_writes_bytes_total", "counter", "Cumulative count of bytes written.", CS(io_write_bytes), V_U64 },
	{ "container_fs_reads_total", "counter", "Cumulative count of reads completed.", CS(io_read_ops), V_U64 },
	{ "container_fs_writes_total", "counter", "Cumulative count of writes completed.", CS(io_write_ops), V_U64 },
	{ "container_threads", "gauge", "Number of threads running inside the container.", CS(pids_current), V_U64 },
	{ "container_pressure_cpu_waiting_seconds_total", "counter", "Total time duration tasks in the container have waited due to CPU congestion.", CS(psi_cpu.some_total_us), V_PSI_US },
	{ "container_pressure_cpu_stalled_seconds_total", "counter", "Total time duration no tasks in the container could make progress due to CPU congestion.", CS(psi_cpu.full_total_us), V_PSI_US },
	{ "container_pressure_memory_waiting_seconds_total", "counter", "Total time duration tasks in the container have waited due to memory congestion.", CS(psi_mem.some_total_us), V_PSI_US },
	{ "container_pressure_memory_stalled_seconds_total", "counter", "Total time duration no tasks in the container could make progress due to memory congestion.", CS(psi_mem.full_total_us), V_PSI_US },
	{ "container_pressure_io_waiting_seconds_total", "counter", "Total time duration tasks in the container have waited due to IO congestion.", CS(psi_io.some_total_us), V_PSI_US },
	{ "container_pressure_io_stalled_seconds_total", "counter", "Total time duration no tasks in the container could make progress due to IO congestion.", CS(psi_io.full_total_us), V_PSI_US },
};

/* A double as Prometheus reads it: NaN, an integer without printf, else %.15g. */
static size_t fmt_value(char out[40], double v)
{
	char tmp[24], *p;

	if (isnan(v)) {
		memcpy(out, "NaN", 3);
		return 3;
	}
	if (v >= 0 && v < 1e18 && v == floor(v)) {
		p = mbuf_fmt_u64(tmp, (uint64_t)v);
		memcpy(out, p, (size_t)(tmp + 24 - p));
		return (size_t)(tmp + 24 - p);
	}
	return (size_t)snprintf(out, 40, "%.15g", v);
}

size_t mbuf_fmt_fixed(char out[40], uint64_t n, unsigned digits, uint64_t scale)
{
	char tmp[24], *p = mbuf_fmt_u64(tmp, n / scale);
	size_t len = (size_t)(tmp + 24 - p);
	uint64_t f = n % scale;

	memcpy(out, p, len);
	if (!f)
		return len;
	out[len++] = '.';
	for (unsigned i = digits; i-- > 0;) {
		out[len + i] = (char)('0' + f % 10);
		f /= 10;
	}
	len += digits;
	while (out[len - 1] == '0')
		len--;
	return len;
}

static bool has_psi(const struct cgstat *s, size_t off)
{
	if (off >= CS(psi_io))
		return s->have & (1u << CGSTAT_IO_PRESSURE);
	if (off >= CS(psi_mem))
		return s->have & (1u << CGSTAT_MEM_PRESSURE);
	return s->have & (1u << CGSTAT_CPU_PRESSURE);
}

static void render_cfam(struct mbuf *b, const struct cfam *f, const struct prom_ctr *refs,
			size_t n)
{
	size_t name_len = strlen(f->name);

	family(b, f->name, f->type, f->help);
	for (size_t i = 0; i < n; i++) {
		const struct cgstat *s = &refs[i].cc->cur;
		uint64_t v = *(const uint64_t *)((const char *)s + f->off);
		char out[40];
		const char *vp = out;
		size_t len;
		if (!refs[i].cc->have_cur || (f->kind == V_PSI_US && !has_psi(s, f->off)))
			continue;
		if (f->kind == V_NS) {
			len = mbuf_fmt_fixed(out, v, 9, 1000000000ull);
		} else if (f->kind == V_PSI_US) {
			len = mbuf_fmt_fixed(out, v, 6, 1000000ull);
		} else {
			vp = mbuf_fmt_u64(out, v);
			len = (size_t)(out + 24 - vp);
		}
		/* Stamped with the time of the reading, as cAdvisor does: rates are then exact
		 * whenever the scrape falls within the interval. */
		mbuf_line(b, f->name, name_len, &refs[i], "", 0, vp, len, refs[i].ts,
			  refs[i].ts_len);
	}
}

static char *container_labels(const struct col_task *t, const struct col_container *cc)
{
	struct mbuf b = { 0 };
	char rev[16];

	snprintf(rev, sizeof(rev), "%d", t->revision);
	label(&b, "cluster", t->cluster, true);
	label(&b, "service", t->service, false);
	label(&b, "family", t->family, false);
	label(&b, "revision", rev, false);
	label(&b, "task_id", t->id, false);
	label(&b, "container", cc->name, false);
	label(&b, "image", cc->image, false);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static size_t fmt_ts(char out[24], double t)
{
	char tmp[24], *p = mbuf_fmt_u64(tmp, (uint64_t)(t * 1000));
	size_t len = (size_t)(tmp + 24 - p);

	out[0] = ' ';
	memcpy(out + 1, p, len);
	return len + 1;
}

/* Every container of a sampled task, each with its label string; *n of them. */
static struct prom_ctr *collect_refs(struct collector *c, size_t *n)
{
	size_t cap = 0, k = 0;
	struct prom_ctr *refs;

	for (struct col_task *t = c->tasks; t; t = t->next)
		cap += t->n_containers;
	refs = calloc(cap ? cap : 1, sizeof(*refs));
	if (!refs)
		return NULL;
	for (struct col_task *t = c->tasks; t; t = t->next) {
		for (size_t i = 0; i < t->n_containers; i++) {
			const struct col_container *cc = &t->containers[i];
			struct prom_ctr *r = &refs[k];
			r->t = t;
			r->cc = cc;
			if (!(r->labels = container_labels(t, cc)))
				continue;
			r->labels_len = strlen(r->labels);
			r->ts_len = fmt_ts(r->ts, cc->t_cur);
			r->bpf_ts_len = cc->bpf ? fmt_ts(r->bpf_ts, cc->bpf->t_cur) : 0;
			k++;
		}
	}
	*n = k;
	return refs;
}

static void spec(struct mbuf *b, const char *name, const struct prom_ctr *r, double v)
{
	char out[40];
	size_t len = fmt_value(out, v);

	mbuf_line(b, name, strlen(name), r, "", 0, out, len, "", 0);
}

static void render_specs(struct mbuf *b, const struct prom_ctr *refs, size_t n)
{
	static const char *const names[] = {
		"container_spec_memory_limit_bytes", "container_spec_cpu_shares",
		"container_spec_cpu_period", "container_spec_cpu_quota",
		"container_start_time_seconds", "container_last_seen",
	};
	static const char *const helps[] = {
		"Memory limit for the container.", "CPU share of the container.",
		"CPU period of the container.", "CPU quota of the container.",
		"Start time of the container since unix epoch in seconds.",
		"Last time a container was seen by the exporter",
	};

	for (int f = 0; f < 6; f++) {
		family(b, names[f], "gauge", helps[f]);
		for (size_t i = 0; i < n; i++) {
			const struct col_container *cc = refs[i].cc;
			double v = 0;
			if (!cc->have_cur)
				continue;
			switch (f) {
			case 0: v = (double)cc->limits.memory_max_bytes; break;
			case 1: v = cc->cpu_units ? cc->cpu_units : 2; break;
			case 2: v = 100000; break;
			case 3: v = (double)cc->limits.cpu_max_units * 100000.0 / 1024.0; break;
			case 4: v = cc->started_at; break;
			default: v = floor(cc->t_cur); break;
			}
			spec(b, names[f], &refs[i], v);
		}
	}
}

static void render_containers(struct mbuf *b, struct app *a, struct collector *c)
{
	size_t n = 0, need = 0;
	struct prom_ctr *refs = collect_refs(c, &n);

	if (!refs) {
		b->failed = true;
		return;
	}
	/* About 100 lines of labels and numbers per container (with the probes' histograms):
	 * one allocation up front rather than a series of copies as the text grows. */
	for (size_t i = 0; i < n && !b->sink; i++)
		need += 100 * (refs[i].labels_len + 96);
	if (!b->sink)
		mbuf_reserve(b, need);
	for (size_t i = 0; i < sizeof(cfams) / sizeof(cfams[0]); i++)
		render_cfam(b, &cfams[i], refs, n);
	render_specs(b, refs, n);
	metrics_bpf_render(a, b, refs, n);
	for (size_t i = 0; i < n; i++)
		free(refs[i].labels);
	free(refs);
}

static void render_task_counts(struct mbuf *b, struct app *a)
{
	static const char *const states[] = { "PROVISIONING", "PENDING", "ACTIVATING", "RUNNING",
					      "DEACTIVATING", "STOPPING", "DEPROVISIONING",
					      "STOPPED" };
	family(b, "berth_tasks", "gauge", "Tasks known to berth by cluster and last status.");
	for (struct rt_cluster *cl = a->rt->clusters; cl; cl = cl->next) {
		for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
			struct mbuf l = { 0 };
			int count = 0;
			for (struct rt_task *t = a->rt->tasks; t; t = t->next)
				count += !strcmp(t->cluster, cl->name) &&
					 !strcmp(t->last_status, states[s]);
			label(&l, "cluster", cl->name, true);
			label(&l, "status", states[s], false);
			if (!l.failed)
				sample(b, "berth_tasks", l.p, count);
			free(l.p);
		}
	}
}

static void render_health(struct mbuf *b, struct app *a)
{
	family(b, "berth_task_healthy", "gauge",
	       "1 when a running task's health status is HEALTHY, 0 when UNHEALTHY, -1 when UNKNOWN.");
	for (struct rt_task *t = a->rt->tasks; t; t = t->next) {
		struct mbuf l = { 0 };
		if (strcmp(t->last_status, "RUNNING") != 0)
			continue;
		label(&l, "cluster", t->cluster, true);
		label(&l, "task_id", t->id, false);
		label(&l, "group", t->group, false);
		if (!l.failed)
			sample(b, "berth_task_healthy", l.p,
			       !strcmp(t->health_status, "HEALTHY") ? 1
			       : !strcmp(t->health_status, "UNHEALTHY") ? 0 : -1);
		free(l.p);
	}
}

/* Service and cluster aggregates from the collector's latest cycle. */
static void render_aggregates(struct mbuf *b, struct collector *c)
{
	static const struct { const char *name, *help; int col; enum col_kind kind; } f[] = {
		{ "berth_service_desired_tasks", "Desired task count of a service.", COL_DESIRED, COL_SERVICE },
		{ "berth_service_running_tasks", "Running tasks of a service.", COL_RUNNING, COL_SERVICE },
		{ "berth_service_pending_tasks", "Pending tasks of a service.", COL_PENDING, COL_SERVICE },
		{ "berth_cluster_services", "Active services of a cluster.", COL_SERVICES, COL_CLUSTER },
		{ "berth_cluster_cpu_utilized_units", "CPU units used by a cluster's tasks (1024 = one CPU).", COL_CPU, COL_CLUSTER },
		{ "berth_cluster_memory_utilized_bytes", "Working set of a cluster's tasks.", COL_MEM, COL_CLUSTER },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		family(b, f[i].name, "gauge", f[i].help);
		for (struct col_series *s = c->series; s; s = s->next) {
			struct mbuf l = { 0 };
			double v = s->last[f[i].col];
			if (s->kind != f[i].kind || !s->active || isnan(v))
				continue;
			label(&l, "cluster", s->cluster, true);
			if (s->kind == COL_SERVICE)
				label(&l, "service", s->name, false);
			if (!l.failed)
				sample(b, f[i].name, l.p, f[i].col == COL_MEM ? v * 1048576.0 : v);
			free(l.p);
		}
	}
}

static void counter(struct mbuf *b, const char *name, const char *help, const char *labels,
		    double v)
{
	family(b, name, "counter", help);
	sample(b, name, labels, v);
}

static void gauge(struct mbuf *b, const char *name, const char *help, double v)
{
	family(b, name, "gauge", help);
	sample(b, name, NULL, v);
}

static void render_self(struct mbuf *b, struct collector *c)
{
	const struct col_self *s = &c->self;
	const struct rrd_store_stats *r = &c->rrd.stats;

	counter(b, "berth_collector_cycles_total", "Sampling cycles run.", NULL, (double)s->cycles);
	gauge(b, "berth_collector_cycle_duration_seconds", "Duration of the last sampling cycle, RRD writes included.", s->last_cycle_seconds);
	gauge(b, "berth_collector_cycle_duration_max_seconds", "Longest sampling cycle since start.", s->max_cycle_seconds);
	counter(b, "berth_collector_cycle_seconds_total", "Time spent in sampling cycles.", NULL, s->total_cycle_seconds);
	counter(b, "berth_collector_samples_total", "Container cgroups read.", NULL, (double)s->samples);
	counter(b, "berth_collector_idle_samples_total", "Container readings whose CPU counter had not moved, so that memory usage and block I/O bytes kept their values (cgroup v1).", NULL, (double)s->gated);
	counter(b, "berth_collector_still_samples_total", "Container readings that read no file: the eBPF sched probe saw nothing of the container run since a reading that found it idle (cgroup v1).", NULL, (double)s->still);
	counter(b, "berth_collector_cgroups_gone_total", "Container cgroups that disappeared while sampled.", NULL, (double)s->cgroups_gone);
	counter(b, "berth_collector_parse_errors_total", "Cgroup files that did not parse.", NULL, (double)s->parse_errors);
	gauge(b, "berth_collector_tasks", "Tasks being sampled.", (double)c->n_tasks);
	gauge(b, "berth_collector_window_bytes", "Memory held by the in-memory window of samples.", (double)s->window_bytes);
	family(b, "berth_collector_cpu_seconds_total", "counter", "CPU time of the sampling cycles by phase: cgroup files and probes (read), window and aggregates (window), RRD writes (rrd), and the cycle's observers such as alarms and the usage ledger (observers).");
	sample(b, "berth_collector_cpu_seconds_total", "phase=\"read\"", s->cpu_read);
	sample(b, "berth_collector_cpu_seconds_total", "phase=\"window\"", s->cpu_window);
	sample(b, "berth_collector_cpu_seconds_total", "phase=\"rrd\"", s->cpu_rrd);
	sample(b, "berth_collector_cpu_seconds_total", "phase=\"observers\"", s->cpu_observers);
	counter(b, "berth_rrd_updates_total", "RRD updates written.", NULL, (double)r->updates);
	family(b, "berth_rrd_skipped_updates_total", "counter", "RRD updates skipped by reason.");
	sample(b, "berth_rrd_skipped_updates_total", "reason=\"same_second\"", (double)r->skipped_same_second);
	sample(b, "berth_rrd_skipped_updates_total", "reason=\"clock_back\"", (double)r->skipped_clock_back);
	sample(b, "berth_rrd_skipped_updates_total", "reason=\"left_window\"", (double)c->rrd_dropped);
	counter(b, "berth_rrd_errors_total", "RRD creations or updates that failed.", NULL, (double)r->errors);
	counter(b, "berth_rrd_quarantined_total", "Unreadable RRD files moved aside and made again.", NULL, (double)r->quarantined);
	counter(b, "berth_rrd_files_created_total", "RRD files created.", NULL, (double)r->created);
	counter(b, "berth_rrd_files_removed_total", "RRD files removed for retention or the disk cap.", NULL, (double)r->removed);
	gauge(b, "berth_rrd_bytes", "Size of the RRD directory at the last scan.", (double)r->bytes);
}

/* The alarms' block (states and evaluation self-metrics). */
static void render_alarms(struct mbuf *b, struct app *a)
{
	char *text = a->alarms ? alarms_prometheus(a->alarms) : NULL;

	if (text)
		put(b, text, strlen(text));
	free(text);
}

static void render_scrape_self(struct mbuf *b);

/* berth_loop_stall_seconds: how long single callbacks held the event loop (an HTTP request
 * waits behind whatever callback runs when it arrives). */
static void render_loop(struct mbuf *b, const struct loop *l)
{
	const struct loop_stats *s = &l->stats;
	uint64_t cum = 0;
	char le[48];

	family(b, "berth_loop_stall_seconds", "histogram", "Time spent in one event-loop callback, while every other ready event waited.");
	for (int i = 0; i <= LOOP_STALL_BUCKETS; i++) {
		cum += s->counts[i];
		if (i < LOOP_STALL_BUCKETS)
			snprintf(le, sizeof(le), "le=\"%g\"", loop_stall_bounds[i]);
		else
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		sample(b, "berth_loop_stall_seconds_bucket", le, (double)cum);
	}
	sample(b, "berth_loop_stall_seconds_sum", NULL, s->sum_seconds);
	sample(b, "berth_loop_stall_seconds_count", NULL, (double)s->callbacks);
	gauge(b, "berth_loop_stall_max_seconds", "Longest single event-loop callback since start.", s->max_seconds);
}

static void render(struct app *a, struct mbuf *b)
{
	struct collector *c = a->collector;

	render_task_counts(b, a);
	render_health(b, a);
	if (a->actions) {
		char *text = NULL;
		size_t n = 0;
		if (actions_metrics_render(a->actions, &text, &n) < 0)
			b->failed = true;
		else if (text)
			puts_(b, text);
		free(text);
	}
	if (a->loop)
		render_loop(b, a->loop);
	render_alarms(b, a);
	if (a->ledger) {
		size_t n;
		char *s = ledger_prometheus(a->ledger, &n);
		if (s)
			put(b, s, n);
		free(s);
	}
	if (!c) {
		metrics_bpf_render(a, b, NULL, 0);
		return;
	}
	render_containers(b, a, c);
	render_aggregates(b, c);
	render_self(b, c);
	render_scrape_self(b);
}

/* The cost of the previous scrape (this one's is not known until it is rendered). */
static struct {
	uint64_t scrapes;
	double render_cpu, gzip_cpu;
	size_t bytes, gzip_bytes;
} scrape_self;

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void render_scrape_self(struct mbuf *b)
{
	counter(b, "berth_metrics_scrapes_total", "Scrapes of /metrics answered.", NULL,
		(double)scrape_self.scrapes);
	gauge(b, "berth_metrics_render_seconds",
	      "CPU time berthd spent rendering the previous /metrics text.", scrape_self.render_cpu);
	gauge(b, "berth_metrics_render_bytes", "Size of the previous /metrics text, uncompressed.",
	      (double)scrape_self.bytes);
	gauge(b, "berth_metrics_gzip_seconds",
	      "CPU time berthd spent compressing the last gzip'd /metrics response.",
	      scrape_self.gzip_cpu);
	gauge(b, "berth_metrics_gzip_bytes", "Size of the last gzip'd /metrics response.",
	      (double)scrape_self.gzip_bytes);
}

static bool wants_gzip(const struct web_request *rq)
{
	const char *ae = web_header(rq, "Accept-Encoding");

	const char *g = ae ? strcasestr(ae, "gzip") : NULL;

	/* "gzip;q=0" refuses it; any other weight accepts it. */
	return g && !(strncasecmp(g + 4, ";q=0", 4) == 0 && !(g[8] == '.' && g[9] > '0'));
}

/*
 * Buffers of /metrics. A thousand tasks make ~18 MB of text. A gzip scrape (Prometheus asks for
 * it) never holds the text whole: it is rendered into a 64 KiB buffer that is deflated into the
 * response each time it fills, so the scrape's memory is the compressed body (~1.2 MB), which
 * is kept for the next gzip scrape (one; a scrape that finds it still being sent makes its
 * own). A plain scrape renders the whole text into one buffer (mapped apart from the heap),
 * kept for the next plain scrape while they come within PLAIN_KEEP_SECONDS of each other (fresh
 * pages cost more to fault in than the render itself), then given back at a collector cycle.
 */
#define GZ_TEXT_CHUNK (64 * 1024)
#define PLAIN_KEEP_SECONDS 60.0
static struct mbuf spare_gz, spare_plain;
static double plain_last;             /* the time of the last plain scrape */

struct body {
	struct mbuf b;
	struct mbuf *home;            /* the spare slot it goes back to, NULL: freed */
};

static void spare_put(struct mbuf *home, struct mbuf *b)
{
	if (!home || home->p || b->failed) {
		free(b->p);
	} else {
		*home = *b;
		home->len = 0;
	}
	memset(b, 0, sizeof(*b));
}

static void body_free(void *ctx)
{
	struct body *x = ctx;

	spare_put(x->home, &x->b);
	free(x);
}

static struct mbuf spare_take(struct mbuf *home)
{
	struct mbuf b = *home;

	memset(home, 0, sizeof(*home));
	b.len = 0;
	b.failed = false;
	if (b.p)
		b.p[0] = '\0';
	return b;
}

/* A scrape's gzip stream (level 1): text goes in as it is rendered, out grows. */
struct gz_stream {
	z_stream z;
	struct mbuf *out;
	size_t in_bytes;
	double cpu;                   /* thread CPU time spent in deflate */
};

static double thread_cpu(void);

/* Deflates in[0..n) into g->out with flush (Z_NO_FLUSH or Z_FINISH); false on failure. */
static bool gz_feed(struct gz_stream *g, const char *in, size_t n, int flush)
{
	double t0 = thread_cpu();
	int ret;

	g->z.next_in = (Bytef *)in;
	g->z.avail_in = (uInt)n;
	g->in_bytes += n;
	do {
		struct mbuf *o = g->out;
		size_t room;
		if (o->cap - o->len < GZ_TEXT_CHUNK / 4 + 1 &&
		    !mbuf_reserve(o, o->cap > GZ_TEXT_CHUNK ? o->cap : GZ_TEXT_CHUNK))
			return false;
		room = o->cap - o->len - 1;
		g->z.next_out = (Bytef *)o->p + o->len;
		g->z.avail_out = (uInt)room;
		ret = deflate(&g->z, flush);
		o->len += room - g->z.avail_out;
		if (ret == Z_STREAM_ERROR)
			return false;
	} while (g->z.avail_in || (flush == Z_FINISH && ret != Z_STREAM_END));
	g->cpu += thread_cpu() - t0;
	return true;
}

static bool gz_sink(struct mbuf *b)
{
	return gz_feed(b->sink_ctx, b->p, b->len, Z_NO_FLUSH);
}

static void respond_body(struct web_response *rs, struct mbuf *b, struct mbuf *home)
{
	struct body *x = malloc(sizeof(*x));

	if (!x) {
		spare_put(home, b);
		web_respond_text(rs, 500, "text/plain", "out of memory\n");
		return;
	}
	x->b = *b;
	x->home = home;
	memset(b, 0, sizeof(*b));
	web_respond(rs, 200, "text/plain; version=0.0.4; charset=utf-8", x->b.p, x->b.len);
	rs->body_free = body_free;
	rs->body_ctx = x;
}

/* Renders the text straight into a gzip body; false (nothing to free) on failure. */
static bool render_gzip(struct app *a, struct mbuf *gz, double *gz_cpu, size_t *bytes)
{
	struct gz_stream g = { .out = gz };
	struct mbuf b = { 0 };
	bool ok;

	if (deflateInit2(&g.z, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	ok = mbuf_reserve(&b, GZ_TEXT_CHUNK);
	b.sink = gz_sink;
	b.sink_ctx = &g;
	if (ok)
		render(a, &b);
	ok = ok && !b.failed && gz_feed(&g, b.p ? b.p : "", b.len, Z_FINISH) && !gz->failed;
	deflateEnd(&g.z);
	free(b.p);
	*gz_cpu = g.cpu;
	*bytes = g.in_bytes;
	return ok;
}

void metrics_prometheus(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct mbuf b = { 0 }, gz;
	double t0 = thread_cpu(), gz_cpu = 0;
	size_t bytes = 0;

	web_add_header(rs, "Vary", "Accept-Encoding");
	scrape_self.scrapes++;
	if (wants_gzip(rq)) {
		gz = spare_take(&spare_gz);
		if (!render_gzip(a, &gz, &gz_cpu, &bytes)) {
			gz.failed = true;
			spare_put(&spare_gz, &gz);
			web_respond_text(rs, 500, "text/plain", "out of memory\n");
			return;
		}
		scrape_self.render_cpu = thread_cpu() - t0 - gz_cpu;
		scrape_self.bytes = bytes;
		scrape_self.gzip_cpu = gz_cpu;
		scrape_self.gzip_bytes = gz.len;
		web_add_header(rs, "Content-Encoding", "gzip");
		respond_body(rs, &gz, &spare_gz);
		return;
	}
	b = spare_take(&spare_plain);
	plain_last = time_now();
	render(a, &b);
	scrape_self.render_cpu = thread_cpu() - t0;
	scrape_self.bytes = b.len;
	if (b.failed) {
		free(b.p);
		web_respond_text(rs, 500, "text/plain", "out of memory\n");
		return;
	}
	respond_body(rs, &b, &spare_plain);
}

void metrics_on_cycle(void *ctx, struct collector *c, double now)
{
	(void)ctx;
	(void)c;
	if (spare_plain.p && fabs(now - plain_last) > PLAIN_KEEP_SECONDS) {
		free(spare_plain.p);
		memset(&spare_plain, 0, sizeof(spare_plain));
	}
}

static void respond_json(struct web_response *rs, int status, json_t *o)
{
	char *s = json_steal_dumps_pretty(o);

	web_respond(rs, status, "application/json", s, s ? strlen(s) : 0);
}

/* "2026-11-26T10:00:00Z", or seconds since the epoch. */
static int parse_time(const char *s, double *out)
{
	struct tm tm = { 0 };
	char *end;
	double v = strtod(s, &end);

	if (end != s && *end == '\0') {
		*out = v;
		return 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || (*end && strcmp(end, "Z") && strcmp(end, ".000Z") && strcmp(end, "+00:00")))
		return -EINVAL;
	*out = (double)timegm(&tm);
	return 0;
}

static const char *const dim_names[] = { "ClusterName", "ServiceName", "TaskDefinitionFamily",
					 "TaskId", "ContainerName" };

struct dims {
	char v[5][256];
};

/* Dimensions from the query string (?ClusterName=x&TaskId=y) to a series kind. */
static enum col_kind dims_kind(const struct web_request *rq, struct dims *d)
{
	for (int i = 0; i < 5; i++)
		if (web_query(rq, dim_names[i], d->v[i], sizeof(d->v[i])) < 0)
			d->v[i][0] = '\0';
	if (!d->v[0][0])
		snprintf(d->v[0], sizeof(d->v[0]), "default");
	if (d->v[4][0])
		return COL_CONTAINER;
	if (d->v[3][0])
		return COL_TASK;
	if (d->v[1][0])
		return COL_SERVICE;
	if (d->v[2][0])
		return COL_FAMILY;
	return COL_CLUSTER;
}

static const char *kind_name(const struct dims *d, enum col_kind k)
{
	switch (k) {
	case COL_CONTAINER:
	case COL_TASK: return d->v[3];
	case COL_SERVICE: return d->v[1];
	case COL_FAMILY: return d->v[2];
	default: return NULL;
	}
}

/* "p50,p99,p99.9" into q->pct; -EINVAL on a bad entry. */
static int parse_pcts(const char *s, struct col_query *q, char names[][16])
{
	char tmp[256], *save = NULL;

	snprintf(tmp, sizeof(tmp), "%s", s);
	for (char *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		double p;
		if (tok[0] != 'p' || q->n_pct >= COL_MAX_PCT)
			return -EINVAL;
		p = strtod(tok + 1, &end);
		if (end == tok + 1 || *end || p <= 0 || p > 100)
			return -EINVAL;
		snprintf(names[q->n_pct], 16, "%s", tok);
		q->pct[q->n_pct++] = p;
	}
	return 0;
}

static json_t *datapoint_json(const struct col_datapoint *d, const char *stats,
			      const struct col_query *q, char pct_names[][16], const char *unit)
{
	char ts[40];
	json_t *o;

	time_iso8601(d->t, ts, sizeof(ts));
	o = json_pack("{s:s, s:s}", "Timestamp", ts, "Unit", unit);
	if (strstr(stats, "SampleCount"))
		json_object_set_new(o, "SampleCount", json_real(d->count));
	if (strstr(stats, "Average"))
		json_object_set_new(o, "Average", json_real(d->sum / d->count));
	if (strstr(stats, "Sum"))
		json_object_set_new(o, "Sum", json_real(d->sum));
	if (strstr(stats, "Minimum"))
		json_object_set_new(o, "Minimum", json_real(d->min));
	if (strstr(stats, "Maximum"))
		json_object_set_new(o, "Maximum", json_real(d->max));
	if (q->n_pct) {
		json_t *ext = json_object();
		for (int i = 0; i < q->n_pct; i++)
			if (!isnan(d->pct[i]))
				json_object_set_new(ext, pct_names[i], json_real(d->pct[i]));
		json_object_set_new(o, "ExtendedStatistics", ext);
	}
	return o;
}

static int bad(struct web_response *rs, const char *msg)
{
	web_respond_aws_error(rs, 400, "InvalidParameterValueException", "%s", msg);
	return -EINVAL;
}

/* Fills q from the request; on error responds 400. */
static int query_parse(struct app *a, struct web_request *rq, struct web_response *rs,
		       struct col_query *q, struct dims *d, char *stats, size_t stats_len,
		       char pct_names[][16])
{
	char metric[64], v[256], ns[64] = COL_NS_CI;
	double now = time_now();

	if (web_query(rq, "namespace", ns, sizeof(ns)) == 0 && strcmp(ns, COL_NS_CI) &&
	    strcmp(ns, COL_NS_ECS))
		return bad(rs, "The namespace must be ECS/ContainerInsights or AWS/ECS.");
	if (web_query(rq, "metric", metric, sizeof(metric)) < 0 ||
	    !(q->metric = collector_metric_find_ns(ns, metric)))
		return bad(rs, "The metric parameter must name a metric of the namespace (see /v1/metrics/list).");
	q->kind = dims_kind(rq, d);
	q->cluster = d->v[0];
	q->name = kind_name(d, q->kind);
	q->container = q->kind == COL_CONTAINER ? d->v[4] : NULL;
	if (!(q->metric->kinds & (1u << q->kind)))
		return bad(rs, "The metric does not exist for these dimensions.");
	q->end = now;
	q->start = now - 3600;
	if ((web_query(rq, "end", v, sizeof(v)) == 0 && parse_time(v, &q->end) < 0) ||
	    (web_query(rq, "start", v, sizeof(v)) == 0 && parse_time(v, &q->start) < 0))
		return bad(rs, "start and end must be ISO 8601 (2026-01-02T03:04:05Z) or epoch seconds.");
	q->period = 60;
	if (web_query(rq, "period", v, sizeof(v)) == 0 && (atol(v) < 1 || atol(v) > 86400 * 30))
		return bad(rs, "period must be between 1 and 2592000 seconds.");
	if (web_query(rq, "period", v, sizeof(v)) == 0)
		q->period = (unsigned)atol(v);
	if (q->end <= q->start || (q->end - q->start) / q->period > 100800)
		return bad(rs, "The time range must be positive and hold at most 100800 periods.");
	if (web_query(rq, "statistics", stats, stats_len) < 0)
		snprintf(stats, stats_len, "Average");
	if (web_query(rq, "extended", v, sizeof(v)) == 0 && parse_pcts(v, q, pct_names) < 0)
		return bad(rs, "extended must list percentiles like p50,p99,p99.9.");
	if (web_query(rq, "unit", v, sizeof(v)) == 0 && strcmp(v, q->metric->unit))
		return bad(rs, "The unit does not match the metric's unit.");
	(void)a;
	return 0;
}

static void metrics_query(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct col_query q = { 0 };
	struct dims d;
	char stats[128], pct_names[COL_MAX_PCT][16];
	struct col_datapoint *dp = NULL;
	size_t n = 0;
	bool rrd = false;
	json_t *arr;
	int ret;

	if (query_parse(a, rq, rs, &q, &d, stats, sizeof(stats), pct_names) < 0)
		return;
	ret = collector_query(a->collector, &q, &dp, &n, &rrd);
	if (ret < 0 && ret != -ENOENT) {
		web_respond_aws_error(rs, 500, "InternalServiceFault", "Cannot read the metric: %s.",
				      strerror(-ret));
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, datapoint_json(&dp[i], stats, &q, pct_names,
							  q.metric->unit));
	free(dp);
	respond_json(rs, 200, json_pack("{s:s, s:o, s:s}", "Label", q.metric->name, "Datapoints",
					arr, "Source", rrd ? "rrd" : "window"));
}

static json_t *dims_json(const struct col_series *s)
{
	json_t *d = json_array();

	json_array_append_new(d, json_pack("{s:s, s:s}", "Name", "ClusterName", "Value", s->cluster));
	if (s->kind == COL_SERVICE)
		json_array_append_new(d, json_pack("{s:s, s:s}", "Name", "ServiceName", "Value", s->name));
	if (s->kind == COL_FAMILY)
		json_array_append_new(d, json_pack("{s:s, s:s}", "Name", "TaskDefinitionFamily",
						   "Value", s->name));
	if (s->kind == COL_TASK || s->kind == COL_CONTAINER)
		json_array_append_new(d, json_pack("{s:s, s:s}", "Name", "TaskId", "Value", s->name));
	if (s->kind == COL_CONTAINER)
		json_array_append_new(d, json_pack("{s:s, s:s}", "Name", "ContainerName", "Value",
						   s->container));
	return d;
}

static void metrics_list(struct app *a, struct web_request *rq, struct web_response *rs)
{
	char want[64] = "", ns[64] = "";
	size_t n;
	const struct col_metric_info *m = collector_metrics(&n);
	json_t *arr = json_array();

	web_query(rq, "metric", want, sizeof(want));
	web_query(rq, "namespace", ns, sizeof(ns));
	for (struct col_series *s = a->collector->series; s; s = s->next) {
		for (size_t i = 0; i < n; i++) {
			if (!(m[i].kinds & (1u << s->kind)) || (want[0] && strcmp(want, m[i].name)) ||
			    (ns[0] && strcmp(ns, collector_metric_ns(&m[i]))))
				continue;
			json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:s}", "Namespace",
							     collector_metric_ns(&m[i]), "MetricName",
							     m[i].name, "Dimensions", dims_json(s),
							     "Unit", m[i].unit));
		}
	}
	respond_json(rs, 200, json_pack("{s:o}", "Metrics", arr));
}

/* librrd's graph of one metric. The image comes back in the info list as a blob. */
static int graph_render(struct app *a, const struct col_query *q, const char *fmt,
			const char *title, const char *threshold, char **img, size_t *len)
{
	char path[700], ds[32], start[32], end[32], def[900], line[128], hrule[96], daemon[300];
	const char *argv[24] = { "graph", "-", "--imgformat", fmt, "--start", start, "--end", end,
				 "--title", title, "--vertical-label", q->metric->unit, "--width",
				 "720", "--height", "240", def, line };
	int argc = 18;
	rrd_info_t *info;
	int ret = collector_rrd_path(a->collector, q->kind, q->cluster, q->name, path,
				     sizeof(path));

	if (ret < 0)
		return ret;
	collector_rrd_sync(a->collector, q->kind, q->cluster, q->name);
	collector_ds_name(q->metric->col, -1, ds, sizeof(ds));
	if (q->kind == COL_CONTAINER) {
		struct col_series *ts = collector_series_find(a->collector, COL_TASK, q->cluster,
							      q->name, NULL);
		for (size_t i = 0; ts && ts->owner && i < ts->owner->n_containers; i++)
			if (!strcmp(ts->owner->containers[i].name, q->container))
				collector_ds_name(q->metric->col, (int)i, ds, sizeof(ds));
	}
	snprintf(start, sizeof(start), "%ld", (long)q->start);
	snprintf(end, sizeof(end), "%ld", (long)q->end);
	snprintf(def, sizeof(def), "DEF:v=%s:%s:AVERAGE", path, ds);
	snprintf(line, sizeof(line), "LINE2:v#1f77b4:%s", q->metric->name);
	if (threshold && *threshold && strtod(threshold, NULL) == strtod(threshold, NULL)) {
		snprintf(hrule, sizeof(hrule), "HRULE:%g#d62728:threshold", strtod(threshold, NULL));
		argv[argc++] = hrule;
	}
	if (a->cfg->rrdcached_address[0]) {
		snprintf(daemon, sizeof(daemon), "%s", a->cfg->rrdcached_address);
		argv[argc++] = "--daemon";
		argv[argc++] = daemon;
	}
	rrd_clear_error();
	info = rrd_graph_v(argc, (char **)argv);
	ret = -EIO;
	for (rrd_info_t *i = info; i; i = i->next) {
		if (i->type == RD_I_BLO && !strcmp(i->key, "image") &&
		    (*img = malloc(i->value.u_blo.size))) {
			memcpy(*img, i->value.u_blo.ptr, i->value.u_blo.size);
			*len = i->value.u_blo.size;
			ret = 0;
		}
	}
	if (ret < 0)
		log_warn("web: failed to render graph of %s: %s", path, rrd_get_error());
	rrd_info_free(info);
	return ret;
}

static void graphs(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct col_query q = { 0 };
	struct dims d;
	char stats[128], pct_names[COL_MAX_PCT][16], title[200], thr[32] = "";
	bool png = strstr(rq->path, ".png") != NULL;
	char *img = NULL;
	size_t len = 0;

	if (query_parse(a, rq, rs, &q, &d, stats, sizeof(stats), pct_names) < 0)
		return;
	if (q.metric->den >= 0 || q.kind == COL_FAMILY) {
		bad(rs, "Graphs exist for stored metrics of tasks, containers, services and clusters.");
		return;
	}
	if (web_query(rq, "title", title, sizeof(title)) < 0)
		snprintf(title, sizeof(title), "%s", q.metric->name);
	web_query(rq, "threshold", thr, sizeof(thr));
	if (graph_render(a, &q, png ? "PNG" : "SVG", title, thr, &img, &len) < 0) {
		web_respond_aws_error(rs, 404, "ResourceNotFoundException",
				      "No stored data to draw for these dimensions.");
		return;
	}
	web_respond(rs, 200, png ? "image/png" : "image/svg+xml", img, len);
}

bool metrics_handle(struct app *a, struct web_request *rq, struct web_response *rs)
{
	const char *p = rq->path;

	if (strncmp(p, "/v1/metrics/", 12) != 0 && strncmp(p, "/v1/graphs/", 11) != 0)
		return false;
	if (strcmp(rq->method, "GET") != 0) {
		web_respond_aws_error(rs, 405, "MethodNotAllowedException", "%s is not allowed on %s.",
				      rq->method, p);
		return true;
	}
	if (!a->collector)
		web_respond_aws_error(rs, 503, "ServiceUnavailable", "Metrics are not collected.");
	else if (strcmp(p, "/v1/metrics/query") == 0)
		metrics_query(a, rq, rs);
	else if (strcmp(p, "/v1/metrics/list") == 0)
		metrics_list(a, rq, rs);
	else if (strncmp(p, "/v1/graphs/", 11) == 0)
		graphs(a, rq, rs);
	else
		web_respond_aws_error(rs, 404, "UnknownOperationException", "No route for GET %s.", p);
	return true;
}
