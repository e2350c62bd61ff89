/* SPDX-License-Identifier: MIT */
/* billing_report.c: aggregates the ledger's task-hours into groups and periods. */
#include "collector/billing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

struct rtask {
	uint32_t h;                   /* fnv(id), compared before the id */
	char id[40];
	struct ledger_task_attrs a;
	char *tags;
	char *cur_tags;               /* CUR resource_tags, made on first use */
	int row;                      /* -1 until its group is known */
	int64_t last_hour;            /* the last R record counted (duplicates are skipped) */
	int64_t counted_period;       /* the last period it was counted in, for its row */
	int counted_row;
	/* The reserved cost of the last stretch priced under one sheet, by its length: most
	 * task-hours are whole hours at the same prices. */
	const struct price_sheet *memo_sheet;
	int64_t memo_secs, memo_cpu, memo_mem, memo_sto;
};

struct run {
	const struct price_book *prices;
	struct billing_result *res;
	struct rtask *tasks;          /* dense: indexes stay valid */
	size_t n, tcap;
	uint32_t *slots;              /* open addressing: task index + 1, 0 empty */
	size_t cap;
	uint32_t *refs;               /* this segment's index ordinals: ref -> task index + 1 */
	size_t nrefs;
	struct { char *key; int row; } *keys;  /* open addressing, key -> row */
	size_t kcap, kn;
	int64_t p0;
	int64_t memo_hour, memo_period;  /* period_of's last answer */
	int err;
	FILE *cur;                    /* CUR mode: lines written here instead of aggregated */
	const char *region, *account;
};

static int cur_hour(struct run *r, struct rtask *t, const struct ledger_rec *rec, int64_t a,
		    int64_t b, double frac);

static uint32_t fnv(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The task of id (created when asked); the pointer lasts until the next task is created. */
static struct rtask *task_slot(struct run *r, const char *id, bool create)
{
	if (create && (r->n + 1) * 2 > r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 1024;
		uint32_t *ns = calloc(ncap, sizeof(*ns));
		if (!ns) {
			r->err = -ENOMEM;
			return NULL;
		}
		for (size_t i = 0; i < r->n; i++) {
			size_t j = r->tasks[i].h & (ncap - 1);
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = (uint32_t)i + 1;
		}
		free(r->slots);
		r->slots = ns;
		r->cap = ncap;
	}
	if (create && r->n == r->tcap) {
		size_t ncap = r->tcap ? r->tcap * 2 : 512;
		struct rtask *nt = realloc(r->tasks, ncap * sizeof(*nt));
		if (!nt) {
			r->err = -ENOMEM;
			return NULL;
		}
		r->tasks = nt;
		r->tcap = ncap;
	}
	if (!r->cap)
		return NULL;
	uint32_t h = fnv(id);
	for (size_t j = h & (r->cap - 1);; j = (j + 1) & (r->cap - 1)) {
		if (!r->slots[j]) {
			if (!create)
				return NULL;
			struct rtask *t = &r->tasks[r->n];
			memset(t, 0, sizeof(*t));
			t->h = h;
			snprintf(t->id, sizeof(t->id), "%s", id);
			t->row = -1;
			t->last_hour = INT64_MIN;
			t->counted_period = -1;
			t->counted_row = -1;
			r->slots[j] = (uint32_t)++r->n;
			return t;
		}
		struct rtask *t = &r->tasks[r->slots[j] - 1];
		if (t->h == h && !strcmp(t->id, id))
			return t;
	}
}

/* Remembers that the segment's index ordinal ref is task t. */
static void ref_note(struct run *r, uint32_t ref, const struct rtask *t)
{
	if (!ref || !t)
		return;
	if (ref >= r->nrefs) {
		size_t n = r->nrefs ? r->nrefs : 1024;
		while (n <= ref)
			n *= 2;
		uint32_t *nr = realloc(r->refs, n * sizeof(*nr));
		if (!nr)
			return; /* found by id instead */
		memset(nr + r->nrefs, 0, (n - r->nrefs) * sizeof(*nr));
		r->refs = nr;
		r->nrefs = n;
	}
	r->refs[ref] = (uint32_t)(t - r->tasks) + 1;
}

static struct rtask *task_of(struct run *r, const struct ledger_rec *rec)
{
	struct rtask *t;

	if (rec->ref && rec->ref < r->nrefs && r->refs[rec->ref])
		return &r->tasks[r->refs[rec->ref] - 1];
	t = task_slot(r, rec->task, false);
	ref_note(r, rec->ref, t);
	return t;
}

static int row_of(struct run *r, const char *key)
{
	struct billing_result *res = r->res;

	if ((r->kn + 1) * 2 > r->kcap) {
		size_t ncap = r->kcap ? r->kcap * 2 : 256;
		__typeof__(r->keys) nk = calloc(ncap, sizeof(*nk));
		if (!nk)
			return -ENOMEM;
		for (size_t i = 0; i < r->kcap; i++) {
			if (!r->keys[i].key)
				continue;
			size_t j = fnv(r->keys[i].key) & (ncap - 1);
			while (nk[j].key)
				j = (j + 1) & (ncap - 1);
			nk[j] = r->keys[i];
		}
		free(r->keys);
		r->keys = nk;
		r->kcap = ncap;
	}
	size_t j = fnv(key) & (r->kcap - 1);
	for (; r->keys[j].key; j = (j + 1) & (r->kcap - 1))
		if (!strcmp(r->keys[j].key, key))
			return r->keys[j].row;
	if ((res->n_rows + 1) * res->n_periods > BILLING_MAX_CELLS)
		return -E2BIG;
	struct billing_row *nr = realloc(res->rows, (res->n_rows + 1) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	res->rows = nr;
	nr = &res->rows[res->n_rows];
	nr->key = strdup(key);
	nr->cells = calloc(res->n_periods, sizeof(*nr->cells));
	nr->tasks = 0;
	if (!nr->key || !nr->cells) {
		free(nr->key);
		free(nr->cells);
		return -ENOMEM;
	}
	r->keys[j].key = nr->key;
	r->keys[j].row = (int)res->n_rows;
	r->kn++;
	return (int)res->n_rows++;
}

static void key_of(const struct run *r, const struct rtask *t, char *out, size_t len)
{
	const struct billing_query *q = &r->res->q;
	json_t *tags, *v;

	switch (q->group) {
	case BILL_CLUSTER:
		snprintf(out, len, "%s", t->a.cluster);
		return;
	case BILL_SERVICE:
		snprintf(out, len, "%s", t->a.service[0] ? t->a.service : "(no service)");
		return;
	case BILL_FAMILY:
		snprintf(out, len, "%s", t->a.family[0] ? t->a.family : "(no family)");
		return;
	case BILL_TASK:
		snprintf(out, len, "%s", t->a.id);
		return;
	case BILL_TAG:
		tags = t->tags ? json_loads(t->tags, 0, NULL) : NULL;
		v = json_object_get(tags, q->tag);
		snprintf(out, len, "%s", json_is_string(v) ? json_string_value(v) : "(untagged)");
		json_decref(tags);
		return;
	}
}

static int on_hour(struct run *r, const struct ledger_rec *rec);

static int64_t jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/*
 * The hours in progress: the daemon's open hours at the report's start (q->open_hours, the
 * checkpoint's text), or else the checkpoint (open.json, rewritten every checkpoint interval),
 * hold each running task's unwritten hour, so a report includes what running tasks have
 * accrued up to the last cycle (the last checkpoint). An hour the segments already hold (they
 * may have moved on since) and hours of tasks whose final record is written are left out, so
 * nothing counts twice. A missing or unreadable checkpoint adds nothing (the daemon reports
 * it).
 */
static int open_hours(const char *dir, struct run *r)
{
	char path[600];
	json_t *doc, *t;
	size_t i;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/open.json", dir);
	doc = r->res->q.open_hours ? json_loads(r->res->q.open_hours, 0, NULL)
				   : json_load_file(path, 0, NULL);
	json_array_foreach(json_object_get(doc, "tasks"), i, t) {
		struct ledger_rec rec = { .kind = 'R' };
		const char *id = json_string_value(json_object_get(t, "id"));
		const struct rtask *rt;
		int64_t hour = jint(t, "hour"), to = jint(t, "accTo") - hour;

		if (!id || json_is_true(json_object_get(t, "closed")))
			continue;
		if (to > 3600)
			to = 3600;
		rec.from = (int)jint(t, "from");
		if (rec.from < 0 || to <= rec.from)
			continue;
		rt = task_slot(r, id, false);
		if (!rt || hour <= rt->last_hour)
			continue;
		snprintf(rec.task, sizeof(rec.task), "%s", id);
		rec.hour = hour;
		rec.to = (int)to;
		rec.cpu_us = (uint64_t)json_number_value(json_object_get(t, "cpuUs"));
		rec.mem_mib_s = (uint64_t)json_number_value(json_object_get(t, "memMibS"));
		rec.io_bytes = (uint64_t)jint(t, "io");
		rec.net_bytes = (uint64_t)jint(t, "net");
		rec.have_net = json_is_true(json_object_get(t, "haveNet"));
		ret = on_hour(r, &rec);
		if (ret)
			break;
	}
	json_decref(doc);
	return ret;
}

static int64_t period_of(struct run *r, int64_t hour)
{
	switch (r->res->q.gran) {
	case BILL_HOURLY:
		return (hour - r->p0) / 3600;
	case BILL_DAILY:
		return (hour - r->p0) / 86400;
	default:
		if (hour != r->memo_hour) {
			r->memo_hour = hour;
			r->memo_period = ledger_month_of(hour) - ledger_month_of(r->p0);
		}
		return r->memo_period;
	}
}

static int on_task(struct run *r, const struct ledger_rec *rec)
{
	struct rtask *t = task_slot(r, rec->t.id, true);
	char *tags;

	if (!t)
		return r->err;
	tags = strndup(rec->tags, rec->tags_len);
	if (!tags)
		return -ENOMEM;
	free(t->tags);
	free(t->cur_tags);
	t->cur_tags = NULL;
	t->tags = tags;
	t->a = rec->t;
	t->row = -1;
	t->memo_sheet = NULL;
	ref_note(r, rec->ref, t);
	return 0;
}

/* min(1, used / reserved) of part, exactly. */
static int64_t share(int64_t part, double used, int64_t reserved)
{
	if (reserved <= 0 || used <= 0)
		return 0;
	if (used >= (double)reserved)
		return part;
	return (int64_t)((__int128)part * (int64_t)(used * 1024) / ((__int128)reserved * 1024));
}

static int on_hour(struct run *r, const struct ledger_rec *rec)
{
	const struct billing_query *q = &r->res->q;
	struct rtask *t = task_of(r, rec);
	int64_t a = rec->hour + rec->from, b = rec->hour + rec->to, cpu, mem, sto, p, until;
	const struct price_sheet *sheet;
	struct billing_cell *c;
	double frac, cpu_used, mem_used;

	if (!t) {
		r->res->orphans++;
		return 0;
	}
	if (rec->hour <= t->last_hour) {
		r->res->health.duplicate_records++;
		return 0;
	}
	t->last_hour = rec->hour;
	if (a < q->start)
		a = q->start;
	if (b > q->end)
		b = q->end;
	if (a >= b)
		return 0;
	if (r->cur)
		return cur_hour(r, t, rec, a, b, (double)(b - a) / (double)(rec->to - rec->from));
	if (t->row < 0) {
		char key[512];
		key_of(r, t, key, sizeof(key));
		t->row = row_of(r, key);
		if (t->row < 0)
			return t->row;
	}
	p = period_of(r, rec->hour);
	if (p < 0 || (size_t)p >= r->res->n_periods)
		return 0;
	r->res->records++;
	frac = (double)(b - a) / (double)(rec->to - rec->from);
	c = &r->res->rows[t->row].cells[p];
	sheet = price_at(r->prices, a, &until);
	if (b <= until && sheet == t->memo_sheet && b - a == t->memo_secs) {
		cpu = t->memo_cpu;
		mem = t->memo_mem;
		sto = t->memo_sto;
	} else {
		ledger_reserved_pico(r->prices, &t->a, a, b, &cpu, &mem, &sto);
		if (b <= until) {
			t->memo_sheet = sheet;
			t->memo_secs = b - a;
			t->memo_cpu = cpu;
			t->memo_mem = mem;
			t->memo_sto = sto;
		}
	}
	cpu_used = (double)rec->cpu_us * frac / 1e6;
	mem_used = (double)rec->mem_mib_s * frac;
	c->reserved_pico += cpu + mem + sto;
	c->used_pico += share(cpu, cpu_used * 1024, (int64_t)t->a.cpu_units * (b - a)) +
			share(mem, mem_used, (int64_t)t->a.mem_mib * (b - a));
	c->cpu_unit_seconds += (int64_t)t->a.cpu_units * (b - a);
	c->mib_seconds += (int64_t)t->a.mem_mib * (b - a);
	c->storage_gib_seconds += (int64_t)t->a.storage_gib * (b - a);
	c->cpu_seconds_used += cpu_used;
	c->mem_mib_seconds_used += mem_used;
	c->io_bytes += (uint64_t)((double)rec->io_bytes * frac);
	c->net_bytes += (uint64_t)((double)rec->net_bytes * frac);
	if (t->counted_row != t->row || t->counted_period != p) {
		c->tasks++;
		if (t->counted_row != t->row)
			r->res->rows[t->row].tasks++;
		t->counted_row = t->row;
		t->counted_period = p;
	}
	return 0;
}

static int on_rec(void *ctx, const struct ledger_rec *rec)
{
	struct run *r = ctx;

	if (rec->kind == 'T')
		return on_task(r, rec);
	if (rec->kind == 'R')
		return on_hour(r, rec);
	return 0; /* H; S (image storage) is priced once a registry writes it */
}

static void cur_iso(FILE *f, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[32];

	gmtime_r(&tt, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs(s, f);
}

static void cur_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void cur_money(FILE *f, int64_t pico)
{
	char s[40];

	price_format_micro(price_pico_to_micro(pico), s, sizeof(s));
	fputs(s, f);
}

/* One CUR line: reserved and actual usage of one resource in one task-hour. */
static void cur_line(struct run *r, const struct rtask *t, const struct ledger_rec *rec,
		     int64_t a, int64_t b, const char *type, double reserved, double actual,
		     int64_t cost, int64_t od_cost, const char *tags)
{
	FILE *f = r->cur;
	double split = actual > reserved ? actual : reserved;
	double unused = reserved > 0 ? (reserved - (actual < reserved ? actual : reserved)) / reserved : 0;
	double k = reserved > 0 ? split / reserved : 0;

	cur_iso(f, rec->hour);
	fputc('/', f);
	cur_iso(f, rec->hour + 3600);
	fputc(',', f);
	cur_iso(f, ledger_month_start(ledger_month_of(rec->hour)));
	fputc(',', f);
	cur_iso(f, a);
	fputc(',', f);
	cur_iso(f, b);
	fprintf(f, ",AmazonECS,%s%s%s,FargateTask,arn:aws:ecs:%s:%s:task/%s/%s,%.9f,",
		t->a.spot ? "SpotUsage-" : "", t->a.arch == PRICE_ARM64 ? "ARM-" : "", type,
		r->region, r->account, t->a.cluster, t->a.id, reserved);
	cur_money(f, cost);
	fprintf(f, ",arn:aws:ecs:%s:%s:cluster/%s,%.9f,%.9f,%.9f,%.6f,", r->region, r->account,
		t->a.cluster, reserved, actual, split, reserved > 0 ? actual / reserved : 0);
	cur_money(f, (int64_t)((double)cost * k));
	fputc(',', f);
	cur_money(f, (int64_t)((double)cost * unused));
	fputc(',', f);
	cur_money(f, (int64_t)((double)od_cost * k));
	fputc(',', f);
	cur_money(f, (int64_t)((double)od_cost * unused));
	fputc(',', f);
	cur_quoted(f, tags);
	fputs("\r\n", f);
}

/* The CUR 2.0 resource_tags object of a task; the caller frees. */
static char *cur_tags_of(const struct rtask *t)
{
	json_t *in = json_loads(t->tags ? t->tags : "{}", 0, NULL), *out = json_object(), *v;
	const char *k;
	char *tags;

	json_object_set_new(out, "aws_ecs_cluster_name", json_string(t->a.cluster));
	if (t->a.service[0])
		json_object_set_new(out, "aws_ecs_service_name", json_string(t->a.service));
	json_object_foreach(in, k, v) {
		char key[300];
		snprintf(key, sizeof(key), "user_%s", k);
		json_object_set(out, key, v);
	}
	tags = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(in);
	json_decref(out);
	return tags;
}

static int cur_hour(struct run *r, struct rtask *t, const struct ledger_rec *rec, int64_t a,
		    int64_t b, double frac)
{
	struct ledger_task_attrs od = t->a;
	int64_t cpu, mem, sto, ocpu, omem, osto;
	double secs = (double)(b - a);
	const char *tags;

	if (r->res->records >= BILLING_CUR_MAX_TASK_HOURS)
		return -E2BIG;
	if (!t->cur_tags && !(t->cur_tags = cur_tags_of(t)))
		return -ENOMEM;
	tags = t->cur_tags;
	od.spot = false;
	ledger_reserved_pico(r->prices, &t->a, a, b, &cpu, &mem, &sto);
	ledger_reserved_pico(r->prices, &od, a, b, &ocpu, &omem, &osto);
	cur_line(r, t, rec, a, b, "Fargate-vCPU-Hours:perCPU", t->a.cpu_units / 1024.0 * secs / 3600,
		 (double)rec->cpu_us * frac / 1e6 / 3600, cpu, ocpu, tags);
	cur_line(r, t, rec, a, b, "Fargate-GB-Hours", t->a.mem_mib / 1024.0 * secs / 3600,
		 (double)rec->mem_mib_s * frac / 1024 / 3600, mem, omem, tags);
	if (t->a.storage_gib)
		cur_line(r, t, rec, a, b, "Fargate-EphemeralStorage-GB-Hours",
			 t->a.storage_gib * secs / 3600, t->a.storage_gib * secs / 3600, sto, osto,
			 tags);
	r->res->records++;
	return 0;
}

static int periods_make(struct billing_result *res, int64_t *p0)
{
	const struct billing_query *q = &res->q;
	size_t n = 0, cap = 64;
	int64_t t;
	int month;

	res->periods = malloc(cap * sizeof(*res->periods));
	if (!res->periods)
		return -ENOMEM;
	if (q->gran == BILL_HOURLY)
		t = q->start - q->start % 3600;
	else if (q->gran == BILL_DAILY)
		t = q->start - q->start % 86400;
	else
		t = ledger_month_start(ledger_month_of(q->start));
	*p0 = t;
	month = ledger_month_of(t);
	for (;;) {
		if (n + 2 > cap) {
			int64_t *np = realloc(res->periods, (cap *= 2) * sizeof(*np));
			if (!np)
				return -ENOMEM;
			res->periods = np;
		}
		res->periods[n++] = t;
		if (t >= q->end)
			break;
		if (n > BILLING_MAX_CELLS)
			return -E2BIG;
		t = q->gran == BILL_HOURLY ? t + 3600 : q->gran == BILL_DAILY ? t + 86400
		    : ledger_month_start(++month);
	}
	res->n_periods = n - 1;
	return 0;
}

static int cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct billing_row *)a)->key, ((const struct billing_row *)b)->key);
}

static int run_segments(const char *dir, const struct price_book *prices,
			const struct billing_query *q, struct billing_result **out, char *err,
			size_t errlen, FILE *cur, const char *region, const char *account)
{
	struct billing_result *res = calloc(1, sizeof(*res));
	struct run r = { .prices = prices, .res = res, .cur = cur, .region = region,
			 .account = account, .memo_hour = INT64_MIN };
	int *m = NULL, ret;
	bool *gz = NULL;
	size_t n = 0;

	if (!res)
		return -ENOMEM;
	res->q = *q;
	ret = periods_make(res, &r.p0);
	if (ret == 0)
		ret = ledger_segments_list(dir, &m, &gz, &n);
	if (ret == 0 && !(res->month_health = calloc(n + 1, sizeof(*res->month_health))))
		ret = -ENOMEM;
	for (size_t i = 0; ret == 0 && i < n; i++) {
		struct ledger_health h = { 0 };
		/* Records reach the segment of the month they are written in: at most a minute
		 * before their hour (the minimum charge), any time after it. */
		if (m[i] < ledger_month_of(q->start) - 1)
			continue;
		if (r.refs)
			memset(r.refs, 0, r.nrefs * sizeof(*r.refs)); /* ordinals are per segment */
		ret = ledger_segment_scan(dir, m[i], gz[i], &h, on_rec, &r);
		if (ret == -ENOENT)
			ret = 0;
		res->month_health[res->n_months].month = m[i];
		res->month_health[res->n_months].corrupt_records = h.corrupt_records;
		res->month_health[res->n_months++].truncated = h.truncated_segments > 0;
		res->health.corrupt_records += h.corrupt_records;
		res->health.truncated_segments += h.truncated_segments;
		if (h.last_error[0])
			snprintf(res->health.last_error, sizeof(res->health.last_error), "%s",
				 h.last_error);
	}
	if (ret == 0)
		ret = open_hours(dir, &r);
	res->q.open_hours = NULL; /* the caller's, not the result's */
	free(m);
	free(gz);
	for (size_t i = 0; i < r.n; i++) {
		free(r.tasks[i].tags);
		free(r.tasks[i].cur_tags);
	}
	free(r.tasks);
	free(r.slots);
	free(r.refs);
	free(r.keys);
	if (ret == -E2BIG && cur)
		snprintf(err, errlen, "the range has more than %u task-hours; ask for a shorter "
			 "range (a day or a week at a time)", BILLING_CUR_MAX_TASK_HOURS);
	else if (ret == -E2BIG)
		snprintf(err, errlen, "the report would have more than %u group-periods; narrow the "
			 "range or use a coarser granularity", BILLING_MAX_CELLS);
	else if (ret < 0)
		snprintf(err, errlen, "failed to read the ledger: %s", strerror(-ret));
	if (ret < 0) {
		billing_result_free(res);
		return ret == -E2BIG ? -EINVAL : ret;
	}
	if (res->n_rows)
		qsort(res->rows, res->n_rows, sizeof(*res->rows), cmp_row);
	*out = res;
	return 0;
}

int billing_report_run(const char *dir, const struct price_book *prices,
		       const struct billing_query *q, struct billing_result **out, char *err,
		       size_t errlen)
{
	return run_segments(dir, prices, q, out, err, errlen, NULL, NULL, NULL);
}

char *billing_cur_csv(const char *dir, const struct price_book *prices,
		      const struct billing_query *q, const char *region, const char *account,
		      struct ledger_health *h, size_t *len, int *ret, char *err, size_t errlen)
{
	struct billing_query cq = *q;
	struct billing_result *res = NULL;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f) {
		*ret = -ENOMEM;
		return NULL;
	}
	fputs("identity_time_interval,bill_billing_period_start_date,line_item_usage_start_date,"
	      "line_item_usage_end_date,line_item_product_code,line_item_usage_type,"
	      "line_item_operation,line_item_resource_id,line_item_usage_amount,"
	      "line_item_unblended_cost,split_line_item_parent_resource_id,"
	      "split_line_item_reserved_usage,split_line_item_actual_usage,"
	      "split_line_item_split_usage,split_line_item_split_usage_ratio,"
	      "split_line_item_split_cost,split_line_item_unused_cost,"
	      "split_line_item_public_on_demand_split_cost,"
	      "split_line_item_public_on_demand_unused_cost,resource_tags\r\n", f);
	cq.gran = BILL_MONTHLY;
	*ret = run_segments(dir, prices, &cq, &res, err, errlen, f, region, account);
	if (res && h)
		*h = res->health;
	billing_result_free(res);
	if (fclose(f) != 0 && *ret == 0)
		*ret = -ENOMEM;
	if (*ret < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

void billing_result_free(struct billing_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_rows; i++) {
		free(r->rows[i].key);
		free(r->rows[i].cells);
	}
	free(r->rows);
	free(r->periods);
	free(r->month_health);
	free(r);
}
