/* SPDX-License-Identifier: MIT */
/* billing_api.c: /v1/billing: usage reports (JSON, CSV), the CUR split-cost CSV, the ledger's
 * state and the price sheets. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "collector/billing.h"
#include "collector/ledger.h"
#include "common/log.h"
#include "web/app.h"

static void respond_json(struct web_response *rs, int status, json_t *o)
{
	char *s = o ? json_steal_dumps_pretty(o) : NULL;

	if (!s) {
		web_respond_aws_error(rs, 500, "ServerException", "Out of memory.");
		return;
	}
	web_respond(rs, status, "application/json", s, strlen(s));
}

static bool accepts_gzip(const struct web_request *rq)
{
	const char *ae = web_header(rq, "Accept-Encoding");
	const char *g = ae ? strcasestr(ae, "gzip") : NULL;

	return g && !(strncasecmp(g + 4, ";q=0", 4) == 0 && !(g[8] == '.' && g[9] > '0'));
}

/* Sends body (taken), gzip'd as a file when gzip=1, as a content encoding when the client
 * accepts it. */
static void send(struct web_response *rs, const struct web_request *rq, bool file_gz,
		 const char *type, const char *name, char *body, size_t len)
{
	char disp[160];
	size_t zlen;
	char *z;

	if (file_gz || accepts_gzip(rq)) {
		z = billing_gzip(body, len, &zlen);
		if (!z) {
			free(body);
			web_respond_aws_error(rs, 500, "ServerException", "Out of memory.");
			return;
		}
		free(body);
		if (file_gz) {
			snprintf(disp, sizeof(disp), "attachment; filename=\"%s.gz\"", name);
			web_add_header(rs, "Content-Disposition", disp);
			web_respond(rs, 200, "application/gzip", z, zlen);
			return;
		}
		web_add_header(rs, "Content-Encoding", "gzip");
		web_add_header(rs, "Vary", "Accept-Encoding");
		body = z;
		len = zlen;
	}
	if (strncmp(type, "text/csv", 8) == 0) {
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
		web_add_header(rs, "Content-Disposition", disp);
	}
	web_respond(rs, 200, type, body, len);
}

static void report(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct ledger *l = a->ledger;
	struct billing_result *res = NULL;
	struct billing_query q;
	char err[400];
	double t0 = time_now();
	int ret;

	if (billing_query_parse(rq->query, t0, &q, err, sizeof(err)) < 0) {
		web_respond_aws_error(rs, 400, "InvalidParameterException", "%s", err);
		return;
	}
	ret = billing_report_run(l->dir, &l->prices, &q, &res, err, sizeof(err));
	if (ret < 0) {
		web_respond_aws_error(rs, ret == -EINVAL ? 400 : 500,
				      ret == -EINVAL ? "InvalidParameterException" : "ServerException",
				      "%s", err);
		return;
	}
	for (size_t i = 0; i < res->n_months; i++) {
		struct ledger_health h = { .corrupt_records = res->month_health[i].corrupt_records,
					   .truncated_segments = res->month_health[i].truncated };
		if (res->month_health[i].month != l->month)
			ledger_note_health(l, res->month_health[i].month, &h);
	}
	if (res->health.corrupt_records || res->health.truncated_segments)
		snprintf(l->last_error, sizeof(l->last_error), "%s", res->health.last_error);
	log_debug("billing: report of %" PRIu64 " task-hours in %.3f s", res->records,
		  time_now() - t0);
	if (q.format == BILL_CSV) {
		size_t len;
		char *csv = billing_report_csv(res, &len);
		billing_result_free(res);
		if (!csv) {
			web_respond_aws_error(rs, 500, "ServerException", "Out of memory.");
			return;
		}
		send(rs, rq, q.gzip, "text/csv; charset=utf-8", "billing-report.csv", csv, len);
		return;
	}
	json_t *o = billing_report_json(res);
	char *s = o ? json_steal_dumps_pretty(o) : NULL;
	billing_result_free(res);
	if (!s) {
		web_respond_aws_error(rs, 500, "ServerException", "Out of memory.");
		return;
	}
	send(rs, rq, q.gzip, "application/json", "billing-report.json", s, strlen(s));
}

static void cur(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct ledger *l = a->ledger;
	struct ledger_health h = { 0 };
	struct billing_query q;
	char err[400], *csv;
	size_t len;
	int ret;

	if (billing_query_parse(rq->query, time_now(), &q, err, sizeof(err)) < 0) {
		web_respond_aws_error(rs, 400, "InvalidParameterException", "%s", err);
		return;
	}
	csv = billing_cur_csv(l->dir, &l->prices, &q, a->cfg->region, a->cfg->account_id, &h,
			      &len, &ret);
	if (!csv) {
		web_respond_aws_error(rs, 500, "ServerException", "Cannot read the ledger: %s",
				      strerror(-ret));
		return;
	}
	send(rs, rq, q.gzip, "text/csv; charset=utf-8", "berth-cur.csv", csv, len);
}

static json_t *segments_json(struct ledger *l)
{
	json_t *arr = json_array();
	int *m;
	bool *gz;
	size_t n;
	char path[600];

	if (ledger_segments_list(l->dir, &m, &gz, &n) < 0)
		return arr;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		char name[16];
		json_t *o;
		ledger_segment_path(l->dir, m[i], gz[i], path, sizeof(path));
		snprintf(name, sizeof(name), "%04d-%02d", m[i] / 12, m[i] % 12 + 1);
		o = json_pack("{s:s, s:s, s:b, s:I}", "month", name, "path", path, "compressed",
			      gz[i], "bytes", (json_int_t)(stat(path, &st) == 0 ? st.st_size : 0));
		for (size_t k = 0; k < l->n_seg_health; k++)
			if (l->seg_health[k].month == m[i])
				json_object_set_new(o, "health", json_pack(
					"{s:I, s:b}", "corruptRecords",
					(json_int_t)l->seg_health[k].corrupt_records, "truncated",
					l->seg_health[k].truncated));
		json_array_append_new(arr, o);
	}
	free(m);
	free(gz);
	return arr;
}

/* Reads every segment so their health is current, then describes the ledger. */
static void ledger_status(struct app *a, struct web_response *rs)
{
	struct ledger *l = a->ledger;
	uint64_t corrupt, damaged;
	int *m;
	bool *gz;
	size_t n;
	char path[600];

	if (ledger_segments_list(l->dir, &m, &gz, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct ledger_health h = { 0 };
			ledger_segment_path(l->dir, m[i], gz[i], path, sizeof(path));
			if (m[i] == l->month)
				continue; /* being written; checked at every restart */
			/* The callback reads nothing; damage is counted by the reader. */
			ledger_segment_read(path, 0, &h, NULL, NULL, NULL);
			ledger_note_health(l, m[i], &h);
		}
		free(m);
		free(gz);
	}
	ledger_health_sum(l, &corrupt, &damaged);
	respond_json(rs, 200, json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:s, s:i}",
		"directory", l->dir, "segments", segments_json(l), "openTasks", (json_int_t)l->n_open,
		"recordsWritten", (json_int_t)l->records_written,
		"writeErrors", (json_int_t)l->write_errors, "corruptRecords", (json_int_t)corrupt,
		"damagedSegments", (json_int_t)damaged, "lastError", l->last_error,
		"retentionMonths", l->retention_months));
}

static void prices(struct app *a, struct web_response *rs)
{
	const struct price_book *b = &a->ledger->prices;
	json_t *arr = json_array();

	for (size_t i = 0; i < b->n; i++) {
		const struct price_sheet *s = &b->sheets[i];
		char v[6][40], sp[40];
		price_format_micro(price_pico_to_micro(s->vcpu_hour[PRICE_X86_64]), v[0], 40);
		price_format_micro(price_pico_to_micro(s->gb_hour[PRICE_X86_64]), v[1], 40);
		price_format_micro(price_pico_to_micro(s->vcpu_hour[PRICE_ARM64]), v[2], 40);
		price_format_micro(price_pico_to_micro(s->gb_hour[PRICE_ARM64]), v[3], 40);
		price_format_micro(price_pico_to_micro(s->storage_gb_hour), v[4], 40);
		price_format_micro(price_pico_to_micro(s->image_gb_month), v[5], 40);
		price_format_micro(s->spot_discount_ppm, sp, sizeof(sp));
		json_array_append_new(arr, json_pack(
			"{s:I, s:{s:s, s:s}, s:{s:s, s:s}, s:s, s:s, s:s}", "effective",
			(json_int_t)s->effective, "X86_64", "vcpuHour", v[0], "gbHour", v[1],
			"ARM64", "vcpuHour", v[2], "gbHour", v[3], "storageGbHour", v[4],
			"imageGbMonth", v[5], "spotDiscount", sp));
	}
	respond_json(rs, 200, json_pack("{s:s, s:o}", "currency", "USD", "sheets", arr));
}

bool billing_api_handle(struct app *a, struct web_request *rq, struct web_response *rs)
{
	const char *p = rq->path;

	if (strncmp(p, "/v1/billing", 11) != 0 || (p[11] && p[11] != '/'))
		return false;
	if (!a->ledger) {
		web_respond_aws_error(rs, 503, "ServerException",
				      "Billing is off: the collector or the ledger did not start.");
		return true;
	}
	if (strcmp(rq->method, "GET") != 0) {
		web_respond_aws_error(rs, 405, "MethodNotAllowedException",
				      "%s is not allowed on %s.", rq->method, p);
		return true;
	}
	if (!strcmp(p, "/v1/billing/report"))
		report(a, rq, rs);
	else if (!strcmp(p, "/v1/billing/cur"))
		cur(a, rq, rs);
	else if (!strcmp(p, "/v1/billing/ledger"))
		ledger_status(a, rs);
	else if (!strcmp(p, "/v1/billing/prices"))
		prices(a, rs);
	else
		web_respond_aws_error(rs, 404, "ResourceNotFoundException",
				      "No billing resource at %s (report, cur, ledger, prices).", p);
	return true;
}
