/* SPDX-License-Identifier: MIT */
/* billing_api.c: /v1/billing: usage reports (JSON, CSV), the CUR split-cost CSV, the ledger's
 * state and the price sheets. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* A report computed off the loop: a worker thread reads the ledger and renders the answer;
 * the response is streamed and says "nothing yet" until the worker is done. */
struct job {
	pthread_t thread;
	atomic_int done;
	struct ledger *l;             /* loop-owned: touched only from the stream callback */
	struct web_server *srv;       /* woken when the answer is ready */
	char dir[512];
	struct price_book prices;
	struct billing_query q;
	char *open;                   /* the ledger's open hours when the report was asked for */
	bool cur, encode;
	char region[CONFIG_STR_MAX], account[CONFIG_STR_MAX];
	char *out;
	size_t len;
	struct ledger_seg_health *mh;
	size_t n_mh;
	bool noted;
	char err[400];
	double t0;
	uint64_t records;
};

static void job_render(struct job *j)
{
	struct billing_result *res = NULL;
	struct ledger_health h = { 0 };
	int ret;

	if (j->cur) {
		j->out = billing_cur_csv(j->dir, &j->prices, &j->q, j->region, j->account, &h,
					 &j->len, &ret, j->err, sizeof(j->err));
		if (!j->out && !j->err[0])
			snprintf(j->err, sizeof(j->err), "cannot read the ledger: %s", strerror(-ret));
		return;
	}
	if (billing_report_run(j->dir, &j->prices, &j->q, &res, j->err, sizeof(j->err)) < 0)
		return;
	j->records = res->records;
	j->mh = res->month_health;
	j->n_mh = res->n_months;
	res->month_health = NULL;
	if (j->q.format == BILL_CSV) {
		j->out = billing_report_csv(res, &j->len);
	} else {
		j->out = billing_report_json_text(res, &j->len);
	}
	if (!j->out)
		snprintf(j->err, sizeof(j->err), "out of memory");
	billing_result_free(res);
}

static void *job_main(void *arg)
{
	struct job *j = arg;

	job_render(j);
	if (!j->out) {
		json_t *e = json_pack("{s:s, s:s}", "__type", "ServerException", "message", j->err);
		j->out = e ? json_steal_dumps(e) : NULL;
		j->len = j->out ? strlen(j->out) : 0;
	}
	if (j->out && (j->encode || j->q.gzip)) {
		size_t zlen;
		char *z = billing_gzip(j->out, j->len, &zlen);
		free(j->out);
		j->out = z;
		j->len = z ? zlen : 0;
	}
	atomic_store_explicit(&j->done, 1, memory_order_release);
	web_server_wake(j->srv);
	return NULL;
}

static ssize_t job_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	struct job *j = ctx;
	size_t n;

	if (!atomic_load_explicit(&j->done, memory_order_acquire))
		return 0;
	if (!j->noted) {
		j->noted = true;
		for (size_t i = 0; i < j->n_mh; i++) {
			struct ledger_health h = { .corrupt_records = j->mh[i].corrupt_records,
						   .truncated_segments = j->mh[i].truncated };
			if (j->mh[i].month != j->l->month)
				ledger_note_health(j->l, j->mh[i].month, &h);
		}
		if (j->err[0])
			log_error("billing: failed to make a report: %s", j->err);
		else
			log_debug("billing: report of %" PRIu64 " task-hours in %.3f s", j->records,
				  time_now() - j->t0);
	}
	if (!j->out)
		return -2;
	if (pos >= j->len)
		return -1;
	n = j->len - pos < max ? j->len - pos : max;
	memcpy(buf, j->out + pos, n);
	return (ssize_t)n;
}

static void job_free(void *ctx)
{
	struct job *j = ctx;

	pthread_join(j->thread, NULL);
	free(j->open);
	free(j->out);
	free(j->mh);
	free(j);
}

static void start_job(struct app *a, struct web_request *rq, struct web_response *rs, bool cur)
{
	struct ledger *l = a->ledger;
	struct job *j;
	char err[400], disp[160];
	const char *name;
	struct billing_query q;

	if (billing_query_parse(rq->query, time_now(), &q, err, sizeof(err)) < 0) {
		web_respond_aws_error(rs, 400, "InvalidParameterException", "%s", err);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		web_respond_aws_error(rs, 500, "ServerException", "Out of memory.");
		return;
	}
	j->l = l;
	j->srv = &a->server;
	snprintf(j->dir, sizeof(j->dir), "%s", l->dir);
	j->prices = l->prices;
	j->q = q;
	/* Reports include the hours in progress as accrued at the last cycle, not as the last
	 * checkpoint (up to ledger_checkpoint_interval older) has them. */
	j->open = l->opened ? ledger_open_text(l) : NULL;
	j->q.open_hours = j->open;
	j->cur = cur;
	j->encode = !q.gzip && accepts_gzip(rq);
	j->t0 = time_now();
	snprintf(j->region, sizeof(j->region), "%s", a->cfg->region);
	snprintf(j->account, sizeof(j->account), "%s", a->cfg->account_id);
	atomic_init(&j->done, 0);
	if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
		free(j->open);
		free(j);
		web_respond_aws_error(rs, 503, "ServerException", "Cannot start a report now.");
		return;
	}
	name = cur ? "berth-cur.csv" : q.format == BILL_CSV ? "billing-report.csv"
							 : "billing-report.json";
	if (q.gzip) {
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s.gz\"", name);
		web_add_header(rs, "Content-Disposition", disp);
		rs->content_type = "application/gzip";
	} else {
		if (j->encode)
			web_add_header(rs, "Content-Encoding", "gzip");
		web_add_header(rs, "Vary", "Accept-Encoding");
		rs->content_type = cur || q.format == BILL_CSV ? "text/csv; charset=utf-8"
							      : "application/json";
	}
	rs->status = 200;
	rs->stream = job_read;
	rs->stream_ctx = j;
	rs->stream_free = job_free;
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
		ledger_index_path(l->dir, m[i], path, sizeof(path));
		json_object_set_new(o, "indexBytes",
				    json_integer(stat(path, &st) == 0 ? st.st_size : 0));
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

/* Describes the ledger; with verify=1 every closed segment is read again first, so their
 * health is current (slow on a large ledger: seconds). */
static void ledger_status(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct ledger *l = a->ledger;
	uint64_t corrupt, damaged;
	int *m;
	bool *gz;
	size_t n;
	char path[600];

	char v[8] = "";

	if (web_query(rq, "verify", v, sizeof(v)) == 0 && !strcmp(v, "1") &&
	    ledger_segments_list(l->dir, &m, &gz, &n) == 0) {
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
		start_job(a, rq, rs, false);
	else if (!strcmp(p, "/v1/billing/cur"))
		start_job(a, rq, rs, true);
	else if (!strcmp(p, "/v1/billing/ledger"))
		ledger_status(a, rq, rs);
	else if (!strcmp(p, "/v1/billing/prices"))
		prices(a, rs);
	else
		web_respond_aws_error(rs, 404, "ResourceNotFoundException",
				      "No billing resource at %s (report, cur, ledger, prices).", p);
	return true;
}
