/* SPDX-License-Identifier: MIT */
/* metrics_bpf.c: the eBPF probes' families of GET /metrics - per-container network, run-queue
 * latency, processes and block I/O, the probes' status and the cost of reading them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/bpf.h"
#include "collector/collector.h"
#include "web/app.h"
#include "web/metrics_text.h"

/* Slots rendered as buckets: up to 2^24 us (16.8 s); longer ones only count in +Inf. */
#define LE_SLOTS 24

static void esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void labels(FILE *f, const struct col_task *t, const struct col_container *cc)
{
	fputs("cluster=\"", f);
	esc(f, t->cluster);
	fputs("\",service=\"", f);
	esc(f, t->service);
	fputs("\",family=\"", f);
	esc(f, t->family);
	fprintf(f, "\",revision=\"%d\",task_id=\"", t->revision);
	esc(f, t->id);
	fputs("\",container=\"", f);
	esc(f, cc->name);
	fputs("\",image=\"", f);
	esc(f, cc->image);
	fputc('"', f);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void mhead(struct mbuf *b, const char *name, const char *type, const char *help)
{
	size_t n = strlen(name);

	mbuf_put(b, "# HELP ", 7);
	mbuf_put(b, name, n);
	mbuf_put(b, " ", 1);
	mbuf_put(b, help, strlen(help));
	mbuf_put(b, "\n# TYPE ", 8);
	mbuf_put(b, name, n);
	mbuf_put(b, " ", 1);
	mbuf_put(b, type, strlen(type));
	mbuf_put(b, "\n", 1);
}

struct cnt {
	const char *name, *help;
	unsigned probe;
	size_t off;
	bool ns;                      /* nanoseconds, rendered as seconds */
};

#define BC(f) offsetof(struct bpf_counters, f)
static const struct cnt counters[] = {
	{ "container_network_receive_bytes_total", "Cumulative count of bytes received.", BPF_PROBE_NETWORK, BC(net_rx_bytes), false },
	{ "container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.", BPF_PROBE_NETWORK, BC(net_tx_bytes), false },
	{ "container_network_receive_packets_total", "Cumulative count of packets received.", BPF_PROBE_NETWORK, BC(net_rx_packets), false },
	{ "container_network_transmit_packets_total", "Cumulative count of packets transmitted.", BPF_PROBE_NETWORK, BC(net_tx_packets), false },
	{ "berth_container_oncpu_seconds_total", "Time the container's threads spent on a CPU, from the scheduler.", BPF_PROBE_SCHED, BC(oncpu_ns), true },
	{ "berth_task_forks_total", "Processes and threads the container's processes created.", BPF_PROBE_PROCS, BC(forks), false },
	{ "berth_task_execs_total", "Programs executed in the container (execve).", BPF_PROBE_PROCS, BC(execs), false },
	{ "berth_blkio_read_bytes_total", "Bytes of block device reads the container submitted.", BPF_PROBE_BLKIO, BC(blk_read_bytes), false },
	{ "berth_blkio_write_bytes_total", "Bytes of block device writes the container submitted.", BPF_PROBE_BLKIO, BC(blk_write_bytes), false },
};

/* The container's probe counters when they hold the probe's, else NULL. */
static const struct bpf_counters *probed(const struct prom_ctr *r, unsigned probe)
{
	const struct col_bpf *b = r->cc->bpf;

	return b && b->have_cur && (b->cur.have & (1u << probe)) ? &b->cur : NULL;
}

static uint64_t u64_at(const struct bpf_counters *k, size_t off)
{
	return *(const uint64_t *)((const char *)k + off);
}

static void line_u64(struct mbuf *b, const char *name, size_t name_len, const struct prom_ctr *r,
		     const char *extra, size_t extra_len, uint64_t v)
{
	char tmp[24], *p = mbuf_fmt_u64(tmp, v);

	mbuf_line(b, name, name_len, r, extra, extra_len, p, (size_t)(tmp + 24 - p), r->bpf_ts,
		  r->bpf_ts_len);
}

static void render_counter(struct mbuf *b, const struct cnt *k, const struct prom_ctr *refs,
			   size_t n)
{
	size_t name_len = strlen(k->name);

	mhead(b, k->name, "counter", k->help);
	for (size_t i = 0; i < n; i++) {
		const struct bpf_counters *cur = probed(&refs[i], k->probe);
		char out[40];
		if (!cur)
			continue;
		if (!k->ns) {
			line_u64(b, k->name, name_len, &refs[i], "", 0, u64_at(cur, k->off));
			continue;
		}
		mbuf_line(b, k->name, name_len, &refs[i], "", 0, out,
			  mbuf_fmt_fixed(out, u64_at(cur, k->off), 9, 1000000000ull),
			  refs[i].bpf_ts, refs[i].bpf_ts_len);
	}
}

static void render_exits(struct mbuf *b, const struct prom_ctr *refs, size_t n)
{
	static const char *const how[] = { ",how=\"code_zero\"", ",how=\"code_nonzero\"",
					   ",how=\"signal\"" };
	static const char name[] = "berth_task_exits_total";

	mhead(b, name, "counter",
	      "Processes of the container that ended, by how: exit code 0, another code, a signal.");
	for (size_t i = 0; i < n; i++) {
		const struct bpf_counters *cur = probed(&refs[i], BPF_PROBE_PROCS);
		uint64_t v[3];
		if (!cur)
			continue;
		v[2] = cur->exits_signaled;
		v[1] = cur->exits_failed;
		v[0] = cur->exits - v[1] - v[2];
		for (int k = 0; k < 3; k++)
			line_u64(b, name, sizeof(name) - 1, &refs[i], how[k], strlen(how[k]), v[k]);
	}
}

static void render_hist(struct mbuf *b, const char *name, const char *help, unsigned probe,
			size_t slots_off, size_t count_off, size_t sum_off,
			const struct prom_ctr *refs, size_t n)
{
	char bucket[96], sum[96], count[96], le[LE_SLOTS + 1][40];
	size_t bucket_len, sum_len, count_len, le_len[LE_SLOTS + 1];

	bucket_len = (size_t)snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	sum_len = (size_t)snprintf(sum, sizeof(sum), "%s_sum", name);
	count_len = (size_t)snprintf(count, sizeof(count), "%s_count", name);
	for (int k = 0; k < LE_SLOTS; k++)
		le_len[k] = (size_t)snprintf(le[k], sizeof(le[k]), ",le=\"%g\"", bpf_hist_upper(k));
	le_len[LE_SLOTS] = (size_t)snprintf(le[LE_SLOTS], sizeof(le[LE_SLOTS]), ",le=\"+Inf\"");
	mhead(b, name, "histogram", help);
	for (size_t i = 0; i < n; i++) {
		const struct bpf_counters *cur = probed(&refs[i], probe);
		const uint64_t *slots;
		uint64_t cum = 0, total;
		char out[40];
		if (!cur)
			continue;
		slots = (const uint64_t *)((const char *)cur + slots_off);
		total = u64_at(cur, count_off);
		for (int k = 0; k < LE_SLOTS; k++) {
			cum += slots[k];
			line_u64(b, bucket, bucket_len, &refs[i], le[k], le_len[k], cum);
		}
		line_u64(b, bucket, bucket_len, &refs[i], le[LE_SLOTS], le_len[LE_SLOTS], total);
		mbuf_line(b, sum, sum_len, &refs[i], "", 0, out,
			  mbuf_fmt_fixed(out, u64_at(cur, sum_off), 9, 1000000000ull),
			  refs[i].bpf_ts, refs[i].bpf_ts_len);
		line_u64(b, count, count_len, &refs[i], "", 0, total);
	}
}

static void render_status(FILE *f, struct collector *c)
{
	const struct bpf_loader *l = c ? c->bpf : NULL;

	head(f, "berth_bpf_probe_up", "gauge",
	     "1 when the eBPF probe is loaded and attached, 0 when it is missing (see /healthz).");
	for (int p = 0; p < BPF_PROBE_COUNT; p++)
		fprintf(f, "berth_bpf_probe_up{probe=\"%s\"} %d\n", bpf_probe_name((enum bpf_probe)p),
			l && bpf_loader_up(l, (enum bpf_probe)p) ? 1 : 0);
	if (!l)
		return;
	head(f, "berth_bpf_cgroups", "gauge", "Cgroups the eBPF probes follow.");
	fprintf(f, "berth_bpf_cgroups %llu\n", (unsigned long long)l->stats.cgroups);
	head(f, "berth_bpf_map_reads_total", "counter",
	     "Batched passes over the eBPF maps (one per collector cycle).");
	fprintf(f, "berth_bpf_map_reads_total %llu\n", (unsigned long long)l->stats.refreshes);
	head(f, "berth_bpf_map_read_seconds_total", "counter",
	     "Time berthd spent reading the eBPF maps.");
	fprintf(f, "berth_bpf_map_read_seconds_total %.9f\n", l->stats.read_seconds);
	head(f, "berth_bpf_events_total", "counter", "Events read from the eBPF ring buffers.");
	fprintf(f, "berth_bpf_events_total{type=\"oom_kill\"} %llu\n",
		(unsigned long long)l->stats.oom_events);
	fprintf(f, "berth_bpf_events_total{type=\"exit\"} %llu\n",
		(unsigned long long)l->stats.exit_events);
	head(f, "berth_bpf_map_full_total", "counter",
	     "Cgroups the eBPF probes could not follow: bpf_max_cgroups reached.");
	fprintf(f, "berth_bpf_map_full_total %llu\n", (unsigned long long)l->stats.map_full);
}

void metrics_bpf_render(struct app *a, struct mbuf *b, const struct prom_ctr *refs, size_t n)
{
	struct collector *c = a->collector;
	char *status = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&status, &len);

	if (!f) {
		b->failed = true;
		return;
	}
	render_status(f, c);
	if (fclose(f) != 0) {
		free(status);
		b->failed = true;
		return;
	}
	mbuf_put(b, status, len);
	free(status);
	if (!c || !c->bpf || !bpf_loader_up_count(c->bpf))
		return;
	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		render_counter(b, &counters[i], refs, n);
	render_exits(b, refs, n);
	render_hist(b, "berth_runqueue_latency_seconds",
		    "Time the container's threads waited in a run queue (wakeup to switch-in).",
		    BPF_PROBE_SCHED, BC(runq), BC(runq_count), BC(runq_sum_ns), refs, n);
	render_hist(b, "berth_blkio_latency_seconds",
		    "Block request latency (issue to completion) of the container's I/O.",
		    BPF_PROBE_BLKIO, BC(blk), BC(blk_count), BC(blk_sum_ns), refs, n);
}

char *metrics_bpf_text(struct app *a, size_t *len)
{
	struct collector *c = a->collector;
	struct prom_ctr *refs = NULL;
	struct mbuf b = { 0 };
	size_t n = 0, cap = 0;

	for (struct col_task *t = c ? c->tasks : NULL; t; t = t->next)
		cap += t->n_containers;
	if (cap && !(refs = calloc(cap, sizeof(*refs))))
		return NULL;
	for (struct col_task *t = c ? c->tasks : NULL; t; t = t->next) {
		for (size_t i = 0; i < t->n_containers; i++) {
			struct prom_ctr *r = &refs[n];
			FILE *f = open_memstream(&r->labels, &r->labels_len);
			if (!f)
				continue;
			labels(f, t, &t->containers[i]);
			if (fclose(f) != 0) {
				free(r->labels);
				continue;
			}
			r->t = t;
			r->cc = &t->containers[i];
			r->bpf_ts_len = (size_t)snprintf(r->bpf_ts, sizeof(r->bpf_ts), " %lld",
							 r->cc->bpf ? (long long)(r->cc->bpf->t_cur * 1000) : 0);
			n++;
		}
	}
	metrics_bpf_render(a, &b, refs, n);
	for (size_t i = 0; i < n; i++)
		free(refs[i].labels);
	free(refs);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p ? b.p : calloc(1, 1);
}

json_t *metrics_bpf_health(struct app *a)
{
	const struct bpf_loader *l = a->collector ? a->collector->bpf : NULL;
	json_t *o = json_object();

	for (int p = 0; o && p < BPF_PROBE_COUNT; p++) {
		bool up = l && bpf_loader_up(l, (enum bpf_probe)p);
		const char *why = l ? bpf_loader_reason(l, (enum bpf_probe)p)
				    : a->cfg && !a->cfg->bpf ? "switched off by bpf=false"
							     : "the collector is not running";
		json_object_set_new(o, bpf_probe_name((enum bpf_probe)p),
				    json_pack("{s:b, s:s}", "up", up, "reason", why));
	}
	return o;
}
