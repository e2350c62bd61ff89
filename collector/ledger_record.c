/* SPDX-License-Identifier: MIT */
/* ledger_record.c: the ledger's line format - CRC-checked records, formatting and parsing. */
#include "collector/ledger.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MAX_FIELDS 16

static int split(char *line, size_t len, char **f, size_t *flen, int max)
{
	int n = 0;
	char *p = line, *end = line + len;

	while (n < max) {
		char *tab = memchr(p, '\t', (size_t)(end - p));
		f[n] = p;
		flen[n] = (size_t)((tab ? tab : end) - p);
		p[flen[n]] = '\0';
		n++;
		if (!tab)
			return n;
		p = tab + 1;
	}
	return -1;
}

static int num_u(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int num_i(const char *s, size_t len, int64_t max, int64_t *out)
{
	uint64_t v;

	if (num_u(s, len, (uint64_t)max, &v) < 0)
		return -EINVAL;
	*out = (int64_t)v;
	return 0;
}

static int num_int(const char *s, size_t len, int max, int *out)
{
	uint64_t v;

	if (num_u(s, len, (uint64_t)max, &v) < 0)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int str(const char *s, size_t len, char *out, size_t cap, bool empty_ok)
{
	if (len >= cap || (!empty_ok && len == 0) || memchr(s, '\0', len))
		return -EINVAL;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

static int flag(const char *s, size_t len, bool *out)
{
	if (len != 1 || (s[0] != '0' && s[0] != '1'))
		return -EINVAL;
	*out = s[0] == '1';
	return 0;
}

#define TIME_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

static int parse_t(char **f, size_t *l, int n, struct ledger_rec *r)
{
	struct ledger_task_attrs *a = &r->t;
	uint64_t cpu, mem, sto;

	if (n != 13)
		return -EINVAL;
	if (str(f[1], l[1], a->id, sizeof(a->id), false) < 0 ||
	    str(f[2], l[2], a->cluster, sizeof(a->cluster), false) < 0 ||
	    str(f[3], l[3], a->service, sizeof(a->service), true) < 0 ||
	    str(f[4], l[4], a->family, sizeof(a->family), true) < 0 ||
	    num_int(f[5], l[5], 1000000, &a->revision) < 0 ||
	    price_arch_parse(f[6], &a->arch) < 0 || flag(f[7], l[7], &a->spot) < 0 ||
	    num_u(f[8], l[8], 1 << 24, &cpu) < 0 || num_u(f[9], l[9], 1 << 30, &mem) < 0 ||
	    num_u(f[10], l[10], 1 << 20, &sto) < 0 || num_i(f[11], l[11], TIME_MAX, &a->start) < 0)
		return -EINVAL;
	if (l[12] < 2 || f[12][0] != '{' || f[12][l[12] - 1] != '}')
		return -EINVAL;
	a->cpu_units = (int)cpu;
	a->mem_mib = (int)mem;
	a->storage_gib = (int)sto;
	r->tags = f[12];
	r->tags_len = l[12];
	return 0;
}

static int parse_r(char **f, size_t *l, int n, struct ledger_rec *r)
{
	int64_t hour;

	if (n != 10)
		return -EINVAL;
	if (str(f[1], l[1], r->task, sizeof(r->task), false) < 0 ||
	    num_i(f[2], l[2], TIME_MAX, &hour) < 0 || hour % 3600 ||
	    num_int(f[3], l[3], 3599, &r->from) < 0 || num_int(f[4], l[4], 3600, &r->to) < 0 ||
	    r->to <= r->from || num_u(f[5], l[5], UINT64_MAX, &r->cpu_us) < 0 ||
	    num_u(f[6], l[6], UINT64_MAX, &r->mem_mib_s) < 0 ||
	    num_u(f[8], l[8], UINT64_MAX, &r->io_bytes) < 0 || flag(f[9], l[9], &r->final) < 0)
		return -EINVAL;
	r->hour = hour;
	r->have_net = !(l[7] == 1 && f[7][0] == '-');
	r->net_bytes = 0;
	if (r->have_net && num_u(f[7], l[7], UINT64_MAX, &r->net_bytes) < 0)
		return -EINVAL;
	return 0;
}

int ledger_rec_parse(char *line, size_t len, struct ledger_rec *r)
{
	char *f[MAX_FIELDS];
	size_t l[MAX_FIELDS];
	char *star;
	uint32_t want;
	uint64_t crc;
	int n;

	if (len < 11 || len >= LEDGER_LINE_MAX)
		return -EINVAL;
	star = line + len - 10;
	if (star[0] != '\t' || star[1] != '*')
		return -EINVAL;
	for (int i = 2; i < 10; i++)
		if (!((star[i] >= '0' && star[i] <= '9') || (star[i] >= 'a' && star[i] <= 'f')))
			return -EINVAL;
	crc = strtoull(star + 2, NULL, 16);
	want = (uint32_t)crc32(0L, (const Bytef *)line, (uInt)(len - 10));
	if ((uint32_t)crc != want)
		return -EINVAL;
	n = split(line, len - 10, f, l, MAX_FIELDS);
	if (n < 1 || l[0] != 1)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->kind = f[0][0];
	switch (r->kind) {
	case 'H':
		if (n != 4 || strcmp(f[1], "berth-ledger") || num_int(f[2], l[2], 1000, &r->version) < 0 ||
		    r->version != 1 || num_i(f[3], l[3], TIME_MAX, &r->written) < 0)
			return -EINVAL;
		return 0;
	case 'T':
		return parse_t(f, l, n, r);
	case 'R':
		return parse_r(f, l, n, r);
	case 'S':
		if (n != 4 || str(f[1], l[1], r->repo, sizeof(r->repo), false) < 0 ||
		    num_i(f[2], l[2], TIME_MAX, &r->hour) < 0 ||
		    num_u(f[3], l[3], UINT64_MAX, &r->byte_seconds) < 0)
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Copies s with TAB, CR and LF replaced, so a name can never split a record. */
static void clean(char *out, size_t cap, const char *s)
{
	size_t i = 0;

	for (; s[i] && i + 1 < cap; i++)
		out[i] = (s[i] == '\t' || s[i] == '\n' || s[i] == '\r') ? '_' : s[i];
	out[i] = '\0';
}

int ledger_rec_format(const struct ledger_rec *r, char *out, size_t len)
{
	char a[256], b[256], c[256], d[256], net[24];
	int n;
	uint32_t crc;

	switch (r->kind) {
	case 'H':
		n = snprintf(out, len, "H\tberth-ledger\t1\t%" PRId64, r->written);
		break;
	case 'T':
		clean(a, sizeof(a), r->t.id);
		clean(b, sizeof(b), r->t.cluster);
		clean(c, sizeof(c), r->t.service);
		clean(d, sizeof(d), r->t.family);
		if (r->tags && (memchr(r->tags, '\n', r->tags_len) || memchr(r->tags, '\t', r->tags_len)))
			return -EINVAL;
		n = snprintf(out, len, "T\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%" PRId64 "\t%.*s",
			     a, b, c, d, r->t.revision, price_arch_name(r->t.arch), r->t.spot,
			     r->t.cpu_units, r->t.mem_mib, r->t.storage_gib, r->t.start,
			     r->tags ? (int)r->tags_len : 2, r->tags ? r->tags : "{}");
		break;
	case 'R':
		clean(a, sizeof(a), r->task);
		if (r->have_net)
			snprintf(net, sizeof(net), "%" PRIu64, r->net_bytes);
		else
			snprintf(net, sizeof(net), "-");
		n = snprintf(out, len, "R\t%s\t%" PRId64 "\t%d\t%d\t%" PRIu64 "\t%" PRIu64 "\t%s\t%"
			     PRIu64 "\t%d", a, r->hour, r->from, r->to, r->cpu_us, r->mem_mib_s, net,
			     r->io_bytes, r->final);
		break;
	case 'S':
		clean(a, sizeof(a), r->repo);
		n = snprintf(out, len, "S\t%s\t%" PRId64 "\t%" PRIu64, a, r->hour, r->byte_seconds);
		break;
	default:
		return -EINVAL;
	}
	if (n < 0 || (size_t)n + 11 >= len)
		return -ENOSPC;
	crc = (uint32_t)crc32(0L, (const Bytef *)out, (uInt)n);
	n += snprintf(out + n, len - (size_t)n, "\t*%08x\n", crc);
	return n;
}
