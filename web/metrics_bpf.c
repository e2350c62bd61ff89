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

struct cnt {
	const char *name, *help;
	unsigned probe;
	size_t off;
	double scale;
	const char *extra;            /* an extra label, or NULL */
};

#define BC(f) offsetof(struct bpf_counters, f)
static const struct cnt counters[] = {
	{ "container_network_receive_bytes_total", "Cumulative count of bytes received.", BPF_PROBE_NETWORK, BC(net_rx_bytes), 1, NULL },
	{ "container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.", BPF_PROBE_NETWORK, BC(net_tx_bytes), 1, NULL },
	{ "container_network_receive_packets_total", "Cumulative count of packets received.", BPF_PROBE_NETWORK, BC(net_rx_packets), 1, NULL },
	{ "container_network_transmit_packets_total", "Cumulative count of packets transmitted.", BPF_PROBE_NETWORK, BC(net_tx_packets), 1, NULL },
	{ "berth_container_oncpu_seconds_total", "Time the container's threads spent on a CPU, from the scheduler.", BPF_PROBE_SCHED, BC(oncpu_ns), 1e-9, NULL },
	{ "berth_task_forks_total", "Processes and threads the container's processes created.", BPF_PROBE_PROCS, BC(forks), 1, NULL },
	{ "berth_task_execs_total", "Programs executed in the container (execve).", BPF_PROBE_PROCS, BC(execs), 1, NULL },
	{ "berth_blkio_read_bytes_total", "Bytes of block device reads the container submitted.", BPF_PROBE_BLKIO, BC(blk_read_bytes), 1, NULL },
	{ "berth_blkio_write_bytes_total", "Bytes of block device writes the container submitted.", BPF_PROBE_BLKIO, BC(blk_write_bytes), 1, NULL },
};

static void render_counter(FILE *f, struct collector *c, const struct cnt *k)
{
	head(f, k->name, "counter", k->help);
	for (struct col_task *t = c->tasks; t; t = t->next)
		for (size_t i = 0; i < t->n_containers; i++) {
			const struct col_container *cc = &t->containers[i];
			const struct col_bpf *b = cc->bpf;
			if (!b || !b->have_cur || !(b->cur.have & (1u << k->probe)))
				continue;
			fprintf(f, "%s{", k->name);
			labels(f, t, cc);
			fprintf(f, "} %.17g %lld\n",
				(double)*(const uint64_t *)((const char *)&b->cur + k->off) * k->scale,
				(long long)(b->t_cur * 1000));
		}
}

static void render_exits(FILE *f, struct collector *c)
{
	static const char *const how[] = { "code_zero", "code_nonzero", "signal" };

	head(f, "berth_task_exits_total", "counter",
	     "Processes of the container that ended, by how: exit code 0, another code, a signal.");
	for (struct col_task *t = c->tasks; t; t = t->next)
		for (size_t i = 0; i < t->n_containers; i++) {
			const struct col_bpf *b = t->containers[i].bpf;
			uint64_t v[3];
			if (!b || !b->have_cur || !(b->cur.have & (1u << BPF_PROBE_PROCS)))
				continue;
			v[2] = b->cur.exits_signaled;
			v[1] = b->cur.exits_failed;
			v[0] = b->cur.exits - v[1] - v[2];
			for (int k = 0; k < 3; k++) {
				fputs("berth_task_exits_total{", f);
				labels(f, t, &t->containers[i]);
				fprintf(f, ",how=\"%s\"} %llu %lld\n", how[k], (unsigned long long)v[k],
					(long long)(b->t_cur * 1000));
			}
		}
}

static void render_hist(FILE *f, struct collector *c, const char *name, const char *help,
			unsigned probe, size_t slots_off, size_t count_off, size_t sum_off)
{
	head(f, name, "histogram", help);
	for (struct col_task *t = c->tasks; t; t = t->next)
		for (size_t i = 0; i < t->n_containers; i++) {
			const struct col_bpf *b = t->containers[i].bpf;
			const uint64_t *slots;
			uint64_t cum = 0, count;
			long long ts;
			if (!b || !b->have_cur || !(b->cur.have & (1u << probe)))
				continue;
			slots = (const uint64_t *)((const char *)&b->cur + slots_off);
			count = *(const uint64_t *)((const char *)&b->cur + count_off);
			ts = (long long)(b->t_cur * 1000);
			for (int k = 0; k < LE_SLOTS; k++) {
				cum += slots[k];
				fprintf(f, "%s_bucket{", name);
				labels(f, t, &t->containers[i]);
				fprintf(f, ",le=\"%g\"} %llu %lld\n", bpf_hist_upper(k),
					(unsigned long long)cum, ts);
			}
			fprintf(f, "%s_bucket{", name);
			labels(f, t, &t->containers[i]);
			fprintf(f, ",le=\"+Inf\"} %llu %lld\n%s_sum{", (unsigned long long)count, ts,
				name);
			labels(f, t, &t->containers[i]);
			fprintf(f, "} %.9f %lld\n%s_count{",
				(double)*(const uint64_t *)((const char *)&b->cur + sum_off) / 1e9, ts,
				name);
			labels(f, t, &t->containers[i]);
			fprintf(f, "} %llu %lld\n", (unsigned long long)count, ts);
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

char *metrics_bpf_text(struct app *a, size_t *len)
{
	struct collector *c = a->collector;
	char *out = NULL;
	FILE *f = open_memstream(&out, len);

	if (!f)
		return NULL;
	render_status(f, c);
	if (c && c->bpf && bpf_loader_up_count(c->bpf)) {
		for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
			render_counter(f, c, &counters[i]);
		render_exits(f, c);
		render_hist(f, c, "berth_runqueue_latency_seconds",
			    "Time the container's threads waited in a run queue (wakeup to switch-in).",
			    BPF_PROBE_SCHED, BC(runq), BC(runq_count), BC(runq_sum_ns));
		render_hist(f, c, "berth_blkio_latency_seconds",
			    "Block request latency (issue to completion) of the container's I/O.",
			    BPF_PROBE_BLKIO, BC(blk), BC(blk_count), BC(blk_sum_ns));
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
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
