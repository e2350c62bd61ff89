/* SPDX-License-Identifier: MIT */
/* metrics_text.h: the text buffer GET /metrics is rendered into, shared by web/metrics.c and
 * web/metrics_bpf.c (internal to web/). Lines are assembled with memcpy from label strings made
 * once per container and scrape; numbers are formatted without printf where they are integers. */
#ifndef BERTH_WEB_METRICS_TEXT_H
#define BERTH_WEB_METRICS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/collector.h"

struct app;

struct mbuf {
	char *p;
	size_t len, cap;
	bool failed;                  /* memory ran out: the text is incomplete */
	/* When set, a full buffer is handed to sink (which consumes p[0..len): the gzip stream of
	 * a scrape) and reused from its start instead of growing: the text is never whole in
	 * memory. false from sink fails the buffer. */
	bool (*sink)(struct mbuf *b);
	void *sink_ctx;
};

/* Makes room for need more bytes (and a NUL): drains the buffer into b->sink when it has one,
 * else grows it; text before b->len may be gone afterwards when it has a sink. false
 * (b->failed) when memory runs out or the sink fails. */
bool mbuf_reserve(struct mbuf *b, size_t need);

static inline void mbuf_put(struct mbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap && !mbuf_reserve(b, n))
		return;
	__builtin_memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Decimal digits of v at the end of tmp[24]; returns where they start. */
static inline char *mbuf_fmt_u64(char tmp[24], uint64_t v)
{
	char *p = tmp + 24;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return p;
}

/* n / scale (scale = 10^digits) exactly, as "I.FFF" without the fraction's trailing zeros ("I"
 * when none) into out; returns its length. */
size_t mbuf_fmt_fixed(char out[40], uint64_t n, unsigned digits, uint64_t scale);

static inline void mbuf_u64(struct mbuf *b, uint64_t v)
{
	char tmp[24], *p = mbuf_fmt_u64(tmp, v);

	mbuf_put(b, p, (size_t)(tmp + 24 - p));
}

/* One container of the scrape: its label string (cluster, service, family, revision, task_id,
 * container, image; no braces) and " <reading time in ms>" of its last cgroup and probe readings. */
struct prom_ctr {
	const struct col_task *t;
	const struct col_container *cc;
	char *labels;
	size_t labels_len;
	char ts[24], bpf_ts[24];
	size_t ts_len, bpf_ts_len;
};

/* A sample line "name{labels[,extra]} value[ ts]\n"; value already formatted (v, vlen). */
static inline void mbuf_line(struct mbuf *b, const char *name, size_t name_len,
			     const struct prom_ctr *r, const char *extra, size_t extra_len,
			     const char *v, size_t vlen, const char *ts, size_t ts_len)
{
	size_t need = name_len + r->labels_len + extra_len + vlen + ts_len + 4;
	char *p;

	if (b->len + need + 1 > b->cap && !mbuf_reserve(b, need))
		return;
	p = b->p + b->len;
	__builtin_memcpy(p, name, name_len), p += name_len;
	*p++ = '{';
	__builtin_memcpy(p, r->labels, r->labels_len), p += r->labels_len;
	__builtin_memcpy(p, extra, extra_len), p += extra_len;
	*p++ = '}';
	*p++ = ' ';
	__builtin_memcpy(p, v, vlen), p += vlen;
	__builtin_memcpy(p, ts, ts_len), p += ts_len;
	*p++ = '\n';
	*p = '\0';
	b->len = (size_t)(p - b->p);
}

/* The eBPF probes' families for the containers of the scrape (web/metrics_bpf.c). */
void metrics_bpf_render(struct app *a, struct mbuf *b, const struct prom_ctr *refs, size_t n);

#endif
