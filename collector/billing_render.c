/* SPDX-License-Identifier: MIT */
/* billing_render.c: billing reports as JSON and CSV (money rounded once per group and period,
 * so totals are the sums of their lines), the CUR split-cost CSV and gzip. */
#include "collector/billing.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* A cell's figures in micro-dollars; sums of these are what the report shows. */
struct fig {
	int64_t reserved, used;
	int64_t cpu_unit_seconds, mib_seconds, storage_gib_seconds;
	double cpu_seconds_used, mem_mib_seconds_used;
	uint64_t io_bytes, net_bytes;
	uint32_t tasks;
};

static void fig_of(const struct billing_cell *c, struct fig *f)
{
	memset(f, 0, sizeof(*f));
	f->reserved = price_pico_to_micro(c->reserved_pico);
	f->used = price_pico_to_micro(c->used_pico);
	if (f->used > f->reserved)
		f->used = f->reserved;
	f->cpu_unit_seconds = c->cpu_unit_seconds;
	f->mib_seconds = c->mib_seconds;
	f->storage_gib_seconds = c->storage_gib_seconds;
	f->cpu_seconds_used = c->cpu_seconds_used;
	f->mem_mib_seconds_used = c->mem_mib_seconds_used;
	f->io_bytes = c->io_bytes;
	f->net_bytes = c->net_bytes;
	f->tasks = c->tasks;
}

static void fig_add(struct fig *a, const struct fig *b)
{
	a->reserved += b->reserved;
	a->used += b->used;
	a->cpu_unit_seconds += b->cpu_unit_seconds;
	a->mib_seconds += b->mib_seconds;
	a->storage_gib_seconds += b->storage_gib_seconds;
	a->cpu_seconds_used += b->cpu_seconds_used;
	a->mem_mib_seconds_used += b->mem_mib_seconds_used;
	a->io_bytes += b->io_bytes;
	a->net_bytes += b->net_bytes;
	a->tasks += b->tasks;
}

static double r6(double v)
{
	return round(v * 1e6) / 1e6;
}

static double efficiency(const struct fig *f)
{
	return f->reserved > 0 ? round((double)f->used * 10000.0 / (double)f->reserved) / 100.0 : 0;
}

static json_t *money(int64_t micro)
{
	char s[40];

	price_format_micro(micro, s, sizeof(s));
	return json_string(s);
}

static json_t *fig_json(const struct fig *f, json_t *o)
{
	json_object_set_new(o, "tasks", json_integer(f->tasks));
	json_object_set_new(o, "vcpuHours", json_real(r6((double)f->cpu_unit_seconds / 1024 / 3600)));
	json_object_set_new(o, "gbHours", json_real(r6((double)f->mib_seconds / 1024 / 3600)));
	json_object_set_new(o, "reservedCost", money(f->reserved));
	json_object_set_new(o, "usedCost", money(f->used));
	json_object_set_new(o, "idleCost", money(f->reserved - f->used));
	json_object_set_new(o, "efficiency", json_real(efficiency(f)));
	json_object_set_new(o, "vcpuHoursUsed", json_real(r6(f->cpu_seconds_used / 3600)));
	json_object_set_new(o, "gbHoursUsed", json_real(r6(f->mem_mib_seconds_used / 1024 / 3600)));
	json_object_set_new(o, "storageGbHours",
			    json_real(r6((double)f->storage_gib_seconds / 3600)));
	json_object_set_new(o, "storageBytes", json_integer((json_int_t)f->io_bytes));
	json_object_set_new(o, "networkBytes", json_integer((json_int_t)f->net_bytes));
	json_object_set_new(o, "imageStorageCost", money(0));
	return o;
}

static void iso(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *period_json(const struct billing_result *r, size_t p, const struct fig *f)
{
	char a[32], b[32];

	iso(r->periods[p] < r->q.start ? r->q.start : r->periods[p], a, sizeof(a));
	iso(r->periods[p + 1] > r->q.end ? r->q.end : r->periods[p + 1], b, sizeof(b));
	return fig_json(f, json_pack("{s:s, s:s}", "start", a, "end", b));
}

json_t *billing_report_json(const struct billing_result *r)
{
	struct fig total = { 0 }, *pt = calloc(r->n_periods ? r->n_periods : 1, sizeof(*pt));
	json_t *groups = json_array(), *periods = json_array(), *o;
	char a[32], b[32], gb[160];
	uint32_t tasks = 0;

	if (!pt)
		return NULL;
	for (size_t i = 0; i < r->n_rows; i++) {
		struct fig row = { 0 };
		json_t *rp = json_array();
		for (size_t p = 0; p < r->n_periods; p++) {
			struct fig f;
			fig_of(&r->rows[i].cells[p], &f);
			fig_add(&row, &f);
			fig_add(&pt[p], &f);
			if (f.tasks)
				json_array_append_new(rp, period_json(r, p, &f));
		}
		row.tasks = r->rows[i].tasks;
		tasks += row.tasks;
		fig_add(&total, &row);
		o = fig_json(&row, json_pack("{s:s}", "key", r->rows[i].key));
		json_object_set_new(o, "periods", rp);
		json_array_append_new(groups, o);
	}
	total.tasks = tasks;
	for (size_t p = 0; p < r->n_periods; p++)
		json_array_append_new(periods, period_json(r, p, &pt[p]));
	free(pt);
	iso(r->q.start, a, sizeof(a));
	iso(r->q.end, b, sizeof(b));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "currency", "USD", "start", a,
		      "end", b, "groupBy", billing_group_name(&r->q, gb, sizeof(gb)),
		      "granularity", billing_gran_name(r->q.gran), "groups", groups,
		      "totals", fig_json(&total, json_object()), "periods", periods);
	if (o && (r->health.corrupt_records || r->health.truncated_segments))
		json_object_set_new(o, "ledgerErrors",
				    json_pack("{s:I, s:I, s:s}", "corruptRecords",
					      (json_int_t)r->health.corrupt_records,
					      "truncatedSegments",
					      (json_int_t)r->health.truncated_segments,
					      "lastError", r->health.last_error));
	return o;
}

/* ---- the JSON report as text, without a tree of JSON values --------------------------------- */

struct out {
	char *p;
	size_t len, cap;
	bool oom;
};

static void out_n(struct out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t ncap = o->cap ? o->cap : 1 << 16;
		while (ncap < o->len + n + 1)
			ncap *= 2;
		char *np = realloc(o->p, ncap);
		if (!np) {
			o->oom = true;
			return;
		}
		o->p = np;
		o->cap = ncap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void out_s(struct out *o, const char *s)
{
	out_n(o, s, strlen(s));
}

static void out_u(struct out *o, uint64_t v)
{
	char t[24];
	int i = (int)sizeof(t);

	do
		t[--i] = (char)('0' + v % 10);
	while (v /= 10);
	out_n(o, t + i, sizeof(t) - (size_t)i);
}

/* v, which is round(v * 10^dec) / 10^dec, in decimal: the digits of that integer with the
 * point put back (trailing zeros dropped, one kept), which reads back as the same double.
 * Values too large for that are printed with 17 significant digits. */
static void out_fixed(struct out *o, double v, int dec)
{
	static const double scale[] = { 1, 10, 100, 1000, 10000, 100000, 1000000 };
	double k = round(v * scale[dec]);
	char t[40];
	uint64_t u, div = 1;
	int n;

	if (!(fabs(k) < 9007199254740992.0) || k / scale[dec] != v) {
		n = snprintf(t, sizeof(t), "%.17g", v);
		out_n(o, t, (size_t)n);
		if (!strpbrk(t, ".eEn"))
			out_s(o, ".0");
		return;
	}
	if (k < 0 || (k == 0 && signbit(v)))
		out_s(o, "-");
	u = (uint64_t)fabs(k);
	for (int i = 0; i < dec; i++)
		div *= 10;
	out_u(o, u / div);
	u %= div;
	out_s(o, ".");
	if (!u) {
		out_s(o, "0");
		return;
	}
	for (int i = dec - 1; i >= 0; i--, u /= 10)
		t[i] = (char)('0' + u % 10);
	n = dec;
	while (n > 1 && t[n - 1] == '0')
		n--;
	out_n(o, t, (size_t)n);
}

/* A JSON string: quotes, backslashes and control characters escaped; bytes that are not
 * UTF-8 are written as the code points of their values. */
static void out_str(struct out *o, const char *s)
{
	json_t *probe = json_string(s);
	bool utf8 = probe != NULL;

	json_decref(probe);
	out_s(o, "\"");
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		char e[8];
		if (*c == '"' || *c == '\\') {
			e[0] = '\\';
			e[1] = (char)*c;
			out_n(o, e, 2);
		} else if (*c < 0x20 || (*c >= 0x80 && !utf8)) {
			snprintf(e, sizeof(e), "\\u%04x", *c);
			out_n(o, e, 6);
		} else {
			out_n(o, (const char *)c, 1);
		}
	}
	out_s(o, "\"");
}

/* As price_format_micro, quoted. */
static void out_money(struct out *o, int64_t micro)
{
	uint64_t m = micro < 0 ? (uint64_t)0 - (uint64_t)micro : (uint64_t)micro;
	char f[8];

	out_s(o, micro < 0 ? "\"-" : "\"");
	out_u(o, m / 1000000);
	f[0] = '.';
	m %= 1000000;
	for (int i = 6; i >= 1; i--, m /= 10)
		f[i] = (char)('0' + m % 10);
	f[7] = '"';
	out_n(o, f, 8);
}

/* The fields fig_json sets, in its order, after an opening the caller wrote. */
static void fig_text(struct out *o, const struct fig *f)
{
	out_s(o, "\"tasks\": ");
	out_u(o, f->tasks);
	out_s(o, ", \"vcpuHours\": ");
	out_fixed(o, r6((double)f->cpu_unit_seconds / 1024 / 3600), 6);
	out_s(o, ", \"gbHours\": ");
	out_fixed(o, r6((double)f->mib_seconds / 1024 / 3600), 6);
	out_s(o, ", \"reservedCost\": ");
	out_money(o, f->reserved);
	out_s(o, ", \"usedCost\": ");
	out_money(o, f->used);
	out_s(o, ", \"idleCost\": ");
	out_money(o, f->reserved - f->used);
	out_s(o, ", \"efficiency\": ");
	out_fixed(o, efficiency(f), 2);
	out_s(o, ", \"vcpuHoursUsed\": ");
	out_fixed(o, r6(f->cpu_seconds_used / 3600), 6);
	out_s(o, ", \"gbHoursUsed\": ");
	out_fixed(o, r6(f->mem_mib_seconds_used / 1024 / 3600), 6);
	out_s(o, ", \"storageGbHours\": ");
	out_fixed(o, r6((double)f->storage_gib_seconds / 3600), 6);
	out_s(o, ", \"storageBytes\": ");
	out_u(o, f->io_bytes);
	out_s(o, ", \"networkBytes\": ");
	out_u(o, f->net_bytes);
	out_s(o, ", \"imageStorageCost\": \"0.000000\"}");
}

/* The periods' bounds as text, clipped to the query, computed once per report. */
static char (*period_bounds(const struct billing_result *r))[2][24]
{
	char (*pb)[2][24] = calloc(r->n_periods ? r->n_periods : 1, sizeof(*pb));

	for (size_t p = 0; pb && p < r->n_periods; p++) {
		iso(r->periods[p] < r->q.start ? r->q.start : r->periods[p], pb[p][0],
		    sizeof(pb[p][0]));
		iso(r->periods[p + 1] > r->q.end ? r->q.end : r->periods[p + 1], pb[p][1],
		    sizeof(pb[p][1]));
	}
	return pb;
}

static void period_text(struct out *o, char (*pb)[2][24], size_t p, const struct fig *f)
{
	out_s(o, "{\"start\": \"");
	out_s(o, pb[p][0]);
	out_s(o, "\", \"end\": \"");
	out_s(o, pb[p][1]);
	out_s(o, "\", ");
	fig_text(o, f);
}

char *billing_report_json_text(const struct billing_result *r, size_t *len)
{
	struct fig total = { 0 }, *pt = calloc(r->n_periods ? r->n_periods : 1, sizeof(*pt));
	char (*pb)[2][24] = period_bounds(r);
	struct out o = { 0 };
	char a[32], b[32], gb[160];
	uint32_t tasks = 0;

	if (!pt || !pb) {
		free(pt);
		free(pb);
		return NULL;
	}
	iso(r->q.start, a, sizeof(a));
	iso(r->q.end, b, sizeof(b));
	out_s(&o, "{\"currency\": \"USD\", \"start\": \"");
	out_s(&o, a);
	out_s(&o, "\", \"end\": \"");
	out_s(&o, b);
	out_s(&o, "\", \"groupBy\": ");
	out_str(&o, billing_group_name(&r->q, gb, sizeof(gb)));
	out_s(&o, ", \"granularity\": \"");
	out_s(&o, billing_gran_name(r->q.gran));
	out_s(&o, "\", \"groups\": [");
	for (size_t i = 0; i < r->n_rows && !o.oom; i++) {
		struct fig row = { 0 }, f;
		size_t np = 0;
		/* The group's figures are the sums of its periods, and come first. */
		for (size_t p = 0; p < r->n_periods; p++) {
			fig_of(&r->rows[i].cells[p], &f);
			fig_add(&row, &f);
			fig_add(&pt[p], &f);
		}
		row.tasks = r->rows[i].tasks;
		tasks += row.tasks;
		fig_add(&total, &row);
		out_s(&o, i ? ",\n  {\"key\": " : "\n  {\"key\": ");
		out_str(&o, r->rows[i].key);
		out_s(&o, ", ");
		fig_text(&o, &row);
		o.len--; /* the group's object goes on with its periods */
		out_s(&o, ", \"periods\": [");
		for (size_t p = 0; p < r->n_periods; p++) {
			if (!r->rows[i].cells[p].tasks)
				continue;
			fig_of(&r->rows[i].cells[p], &f);
			out_s(&o, np++ ? ", " : "");
			period_text(&o, pb, p, &f);
		}
		out_s(&o, "]}");
	}
	out_s(&o, r->n_rows ? "\n], \"totals\": {" : "], \"totals\": {");
	total.tasks = tasks;
	fig_text(&o, &total);
	out_s(&o, ", \"periods\": [");
	for (size_t p = 0; p < r->n_periods; p++) {
		out_s(&o, p ? ",\n  " : "\n  ");
		period_text(&o, pb, p, &pt[p]);
	}
	out_s(&o, r->n_periods ? "\n]" : "]");
	free(pt);
	free(pb);
	if (r->health.corrupt_records || r->health.truncated_segments) {
		out_s(&o, ", \"ledgerErrors\": {\"corruptRecords\": ");
		out_u(&o, r->health.corrupt_records);
		out_s(&o, ", \"truncatedSegments\": ");
		out_u(&o, r->health.truncated_segments);
		out_s(&o, ", \"lastError\": ");
		out_str(&o, r->health.last_error);
		out_s(&o, "}");
	}
	out_s(&o, "}\n");
	if (o.oom) {
		free(o.p);
		return NULL;
	}
	*len = o.len;
	return o.p;
}

/* A CSV field, quoted when it needs to be (RFC 4180). */
static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

char *billing_report_csv(const struct billing_result *r, size_t *len)
{
	char *buf = NULL, a[32], b[32], m[3][40], gb[160];
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	fputs("period_start,period_end,group_by,key,tasks,vcpu_hours,gb_hours,reserved_cost,"
	      "used_cost,idle_cost,efficiency,vcpu_hours_used,gb_hours_used,storage_bytes,"
	      "network_bytes\r\n", f);
	for (size_t i = 0; i < r->n_rows; i++) {
		for (size_t p = 0; p < r->n_periods; p++) {
			struct fig x;
			fig_of(&r->rows[i].cells[p], &x);
			if (!x.tasks)
				continue;
			iso(r->periods[p] < r->q.start ? r->q.start : r->periods[p], a, sizeof(a));
			iso(r->periods[p + 1] > r->q.end ? r->q.end : r->periods[p + 1], b,
			    sizeof(b));
			price_format_micro(x.reserved, m[0], sizeof(m[0]));
			price_format_micro(x.used, m[1], sizeof(m[1]));
			price_format_micro(x.reserved - x.used, m[2], sizeof(m[2]));
			fprintf(f, "%s,%s,", a, b);
			csv_field(f, billing_group_name(&r->q, gb, sizeof(gb)));
			fputc(',', f);
			csv_field(f, r->rows[i].key);
			fprintf(f, ",%u,%.6f,%.6f,%s,%s,%s,%.2f,%.6f,%.6f,%" PRIu64 ",%" PRIu64 "\r\n",
				x.tasks, (double)x.cpu_unit_seconds / 1024 / 3600,
				(double)x.mib_seconds / 1024 / 3600, m[0], m[1], m[2], efficiency(&x),
				x.cpu_seconds_used / 3600, x.mem_mib_seconds_used / 1024 / 3600,
				x.io_bytes, x.net_bytes);
		}
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

char *billing_gzip(const char *in, size_t n, size_t *out_len)
{
	z_stream z = { 0 };
	uLong cap = compressBound((uLong)n) + 64;
	char *out = malloc(cap);

	if (!out || deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	z.next_out = (Bytef *)out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*out_len = z.total_out;
	deflateEnd(&z);
	return out;
}
