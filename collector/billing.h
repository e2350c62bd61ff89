/* SPDX-License-Identifier: MIT */
/* billing.h: billing reports from the usage ledger - groups, periods, reserved / used / idle
 * cost in micro-dollars, JSON and CSV renderings, and the CUR split-cost-allocation CSV. */
#ifndef BERTH_COLLECTOR_BILLING_H
#define BERTH_COLLECTOR_BILLING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/ledger.h"

enum billing_group { BILL_CLUSTER, BILL_SERVICE, BILL_FAMILY, BILL_TASK, BILL_TAG };
enum billing_gran { BILL_HOURLY, BILL_DAILY, BILL_MONTHLY };
enum billing_format { BILL_JSON, BILL_CSV };

struct billing_query {
	int64_t start, end;           /* unix seconds, end exclusive */
	enum billing_group group;
	char tag[129];                /* BILL_TAG: the key */
	enum billing_gran gran;
	enum billing_format format;
	bool gzip;                    /* gzip=1 */
	const char *open_hours;       /* the hours in progress as checkpoint text (the daemon's
				       * ledger_open_text); NULL reads DIR/open.json */
};

/* Parses a raw query string (start, end, group_by, granularity, format, gzip; percent-encoded)
 * into q. end defaults to the first second of the next UTC month after now, start to the first second of
 * end's month; times are
 * 2026-11-01, 2026-11-01T10:00:00Z or unix seconds. Returns 0, or -EINVAL with err naming the
 * parameter. */
int billing_query_parse(const char *qs, double now, struct billing_query *q, char *err,
			size_t errlen);
const char *billing_group_name(const struct billing_query *q, char *buf, size_t len);
const char *billing_gran_name(enum billing_gran g);

/* One group in one period. Money in pico-dollars until rendered. */
struct billing_cell {
	int64_t reserved_pico, used_pico;
	int64_t cpu_unit_seconds, mib_seconds, storage_gib_seconds;   /* reserved */
	double cpu_seconds_used, mem_mib_seconds_used;
	uint64_t io_bytes, net_bytes;
	uint32_t tasks;
};

struct billing_row {
	char *key;
	struct billing_cell *cells;   /* n_periods */
	uint32_t tasks;
};

struct billing_result {
	struct billing_query q;
	int64_t *periods;             /* n_periods + 1 boundaries */
	size_t n_periods;
	struct billing_row *rows;     /* sorted by key */
	size_t n_rows;
	struct ledger_health health;
	uint64_t records, orphans;
	struct ledger_seg_health *month_health; /* what each segment read had */
	size_t n_months;
};

#define BILLING_MAX_CELLS (8u << 20)
#define BILLING_CUR_MAX_TASK_HOURS 250000u  /* the CUR file is built in memory */

/* Runs q over the segments in dir. *out is the caller's (billing_result_free). Returns 0,
 * -EINVAL (too many cells: err says to narrow), -ENOMEM or -errno. */
int billing_report_run(const char *dir, const struct price_book *prices,
		       const struct billing_query *q, struct billing_result **out, char *err,
		       size_t errlen);
void billing_result_free(struct billing_result *r);

/* {"currency", "start", "end", "groupBy", "granularity", "groups": [{"key", "tasks",
 * "vcpuHours", "gbHours", "reservedCost", "usedCost", "idleCost", "efficiency", ...,
 * "periods": [...]}], "totals": {...}, "periods": [...]}; new reference. */
json_t *billing_report_json(const struct billing_result *r);
/* The same report as JSON text, written directly (a large report is much cheaper than through
 * JSON values): the same fields in the same order, numbers that read back as the same
 * doubles. malloc'd, NUL-terminated; NULL when out of memory. */
char *billing_report_json_text(const struct billing_result *r, size_t *len);
/* One row per group and period; malloc'd text the caller frees, NULL when out of memory. */
char *billing_report_csv(const struct billing_result *r, size_t *len);

/* Split cost allocation lines (CUR split_line_item_* columns), one per task, hour and
 * resource, for q's range; malloc'd text, NULL with -errno in *ret (-EINVAL: more than
 * BILLING_CUR_MAX_TASK_HOURS task-hours, the range must be narrowed). */
char *billing_cur_csv(const char *dir, const struct price_book *prices,
		      const struct billing_query *q, const char *region, const char *account,
		      struct ledger_health *h, size_t *len, int *ret, char *err, size_t errlen);

/* gzip of in[0..n) into a new buffer; NULL on failure. */
char *billing_gzip(const char *in, size_t n, size_t *out_len);

#endif
