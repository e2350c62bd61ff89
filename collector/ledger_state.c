/* SPDX-License-Identifier: MIT */
/* ledger_state.c: the ledger's life - opening (checkpoint and segment replay), cycle ends with
 * the checkpoint of open hours, closing, and its counters for /metrics. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/ledger_internal.h"
#include "common/fileio.h"
#include "common/log.h"

#define CHECKPOINT "open.json"
#define CHECKPOINT_MAX (256 << 20)

static json_t *open_json(const struct ledger_open *o)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:b, s:i, s:i, s:i, s:I, s:s, s:I, s:I,"
			 " s:I, s:i, s:f, s:f, s:I, s:I, s:b, s:I, s:I, s:I, s:b, s:f, s:b}",
			 "id", o->a.id, "cluster", o->a.cluster, "service", o->a.service,
			 "family", o->a.family, "revision", o->a.revision,
			 "arch", price_arch_name(o->a.arch), "spot", o->a.spot,
			 "cpu", o->a.cpu_units, "mem", o->a.mem_mib, "storage", o->a.storage_gib,
			 "start", (json_int_t)o->a.start, "tags", o->tags,
			 "end", (json_int_t)o->end, "accTo", (json_int_t)o->acc_to,
			 "hour", (json_int_t)o->hour, "from", o->from, "cpuUs", o->cpu_us,
			 "memMibS", o->mem_mib_s, "net", (json_int_t)o->net, "io", (json_int_t)o->io,
			 "haveNet", o->have_net, "cpuSeen", (json_int_t)o->cpu_seen,
			 "ioSeen", (json_int_t)o->io_seen, "netSeen", (json_int_t)o->net_seen,
			 "haveSeen", o->have_seen, "lastT", o->last_t, "closed", o->closed);
}

static int checkpoint_write(struct ledger *l, double now)
{
	json_t *doc = json_pack("{s:i, s:i, s:I, s:f, s:[]}", "version", 1, "month", l->month,
				"offset", (json_int_t)l->offset, "written", now, "tasks");
	json_t *tasks = json_object_get(doc, "tasks");
	char path[600], *text;
	int ret;

	if (!doc)
		return -ENOMEM;
	for (size_t i = 0; i < LEDGER_HASH; i++)
		for (struct ledger_open *o = l->hash[i]; o; o = o->next)
			json_array_append_new(tasks, open_json(o));
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!text)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/%s", l->dir, CHECKPOINT);
	ret = file_write_durable(path, text, strlen(text), 0640);
	free(text);
	if (ret == 0)
		l->checkpoints++;
	return ret;
}

static long long geti(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static double getf(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static const char *gets_(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void restore_open(struct ledger *l, json_t *t)
{
	struct ledger_task_attrs a = { 0 };
	struct ledger_open *o;

	snprintf(a.id, sizeof(a.id), "%s", gets_(t, "id"));
	snprintf(a.cluster, sizeof(a.cluster), "%s", gets_(t, "cluster"));
	snprintf(a.service, sizeof(a.service), "%s", gets_(t, "service"));
	snprintf(a.family, sizeof(a.family), "%s", gets_(t, "family"));
	a.revision = (int)geti(t, "revision");
	if (price_arch_parse(gets_(t, "arch"), &a.arch) < 0)
		a.arch = PRICE_X86_64;
	a.spot = json_is_true(json_object_get(t, "spot"));
	a.cpu_units = (int)geti(t, "cpu");
	a.mem_mib = (int)geti(t, "mem");
	a.storage_gib = (int)geti(t, "storage");
	a.start = geti(t, "start");
	if (!a.id[0] || ledger_find(l, a.id) || !(o = ledger_open_new(l, &a, gets_(t, "tags"))))
		return;
	o->end = geti(t, "end");
	o->acc_to = geti(t, "accTo");
	o->hour = geti(t, "hour");
	o->from = (int)geti(t, "from");
	o->cpu_us = getf(t, "cpuUs");
	o->mem_mib_s = getf(t, "memMibS");
	o->net = (uint64_t)geti(t, "net");
	o->io = (uint64_t)geti(t, "io");
	o->have_net = json_is_true(json_object_get(t, "haveNet"));
	o->cpu_seen = (uint64_t)geti(t, "cpuSeen");
	o->io_seen = (uint64_t)geti(t, "ioSeen");
	o->net_seen = (uint64_t)geti(t, "netSeen");
	o->have_seen = json_is_true(json_object_get(t, "haveSeen"));
	o->last_t = getf(t, "lastT");
	o->closed = json_is_true(json_object_get(t, "closed"));
	o->base_only = !o->have_seen;
	if (o->hour % 3600 || o->from < 0 || o->from >= 3600 || o->acc_to < o->hour + o->from ||
	    o->acc_to > o->hour + 3600) {
		/* Not a state this code writes: restart the hour at what was accrued. */
		o->hour = o->acc_to - o->acc_to % 3600;
		o->from = (int)(o->acc_to - o->hour);
		o->cpu_us = o->mem_mib_s = 0;
	}
}

/* 1, with month and offset set, when a checkpoint was restored. */
static int checkpoint_load(struct ledger *l, int *month, uint64_t *offset)
{
	char path[600];
	json_error_t je;
	json_t *doc, *tasks, *t;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", l->dir, CHECKPOINT);
	if (access(path, F_OK) < 0)
		return 0;
	doc = json_load_file(path, 0, &je);
	tasks = json_object_get(doc, "tasks");
	if (!doc || geti(doc, "version") != 1 || !json_is_array(tasks)) {
		log_warn("ledger: %s is unreadable (%s); replaying the recent segments instead",
			 path, doc ? "not a ledger checkpoint" : je.text);
		snprintf(l->last_error, sizeof(l->last_error), "%s: unreadable checkpoint", path);
		json_decref(doc);
		return 0;
	}
	*month = (int)geti(doc, "month");
	*offset = (uint64_t)geti(doc, "offset");
	json_array_foreach(tasks, i, t)
		restore_open(l, t);
	json_decref(doc);
	return 1;
}

struct replay {
	struct ledger *l;
	int month;
};

static int replay_rec(void *ctx, const struct ledger_rec *r)
{
	struct replay *rp = ctx;
	struct ledger *l = rp->l;
	struct ledger_open *o;

	if (r->kind == 'T') {
		char tags[LEDGER_TAGS_MAX];
		snprintf(tags, sizeof(tags), "%.*s", (int)r->tags_len, r->tags);
		o = ledger_find(l, r->t.id);
		if (!o)
			o = ledger_open_new(l, &r->t, tags);
		if (o && rp->month == l->month)
			o->t_month = l->month;
		return 0;
	}
	if (r->kind != 'R' || !(o = ledger_find(l, r->task)))
		return 0;
	if (r->hour < o->hour)
		return 0;
	/* The hour is written: whatever the checkpoint held of it is in the record, and so is
	 * use the checkpoint's counters have not seen: the next sample only sets the base. */
	o->acc_to = r->hour + r->to;
	o->have_seen = false;
	o->base_only = true;
	o->last_t = 0;
	o->cpu_us = o->mem_mib_s = 0;
	o->net = o->io = 0;
	if (r->to == 3600 && !r->final) {
		o->hour = r->hour + 3600;
		o->from = 0;
	} else {
		o->hour = r->hour;
		o->from = r->to;
		o->closed = true;
	}
	return 0;
}

static void replay(struct ledger *l, int from_month, uint64_t from_offset)
{
	int *m;
	bool *gz;
	size_t n;
	char path[600];

	if (ledger_segments_list(l->dir, &m, &gz, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct replay rp = { l, m[i] };
		struct ledger_health h = { 0 };
		uint64_t off = m[i] == from_month ? from_offset : 0;
		if (m[i] < from_month)
			continue;
		ledger_segment_path(l->dir, m[i], gz[i], path, sizeof(path));
		ledger_segment_read(path, off, &h, replay_rec, &rp, NULL);
		if (off == 0)
			ledger_note_health(l, m[i], &h);
	}
	free(m);
	free(gz);
}

int ledger_init(struct ledger *l, const char *dir, const struct price_book *prices,
		unsigned interval, int retention_months, double now)
{
	int month = -1, ret;
	uint64_t offset = 0;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->month = -1;
	snprintf(l->dir, sizeof(l->dir), "%s", dir);
	l->prices = *prices;
	l->interval = interval ? interval : 5;
	l->retention_months = retention_months < 13 ? 13 : retention_months;
	ret = file_mkdir_p(dir, 0750);
	if (ret < 0) {
		log_error("ledger: failed to create %s: %s", dir, strerror(-ret));
		return ret;
	}
	if (checkpoint_load(l, &month, &offset))
		replay(l, month, offset);
	else
		replay(l, ledger_month_of((int64_t)now) - 2, 0);
	ledger_maybe_rotate(l, now);
	if (l->fd < 0) {
		ledger_close(l, now);
		return -EIO;
	}
	l->opened = true;
	log_info("ledger: %s open, %zu task(s) restored", dir, l->n_open);
	return 0;
}

void ledger_cycle_end(struct ledger *l, double now)
{
	int ret;

	if (!l->opened)
		return;
	ledger_maybe_rotate(l, now);
	for (size_t i = 0; i < LEDGER_HASH; i++) {
		for (struct ledger_open *o = l->hash[i], *next; o; o = next) {
			next = o->next;
			if (o->touched) {
				o->touched = false;
				continue;
			}
			if (!o->closed)
				ledger_close_out(l, o);
			ledger_open_free(l, o);
		}
	}
	ledger_segment_sync(l);
	ret = checkpoint_write(l, now);
	if (ret < 0) {
		if (l->write_errors++ == 0)
			log_error("ledger: failed to write the checkpoint: %s", strerror(-ret));
		snprintf(l->last_error, sizeof(l->last_error), "checkpoint: %s", strerror(-ret));
	}
	l->last_flush = now;
}

void ledger_close(struct ledger *l, double now)
{
	if (!l->opened && l->fd == 0)
		return; /* zeroed, never opened */
	if (l->opened && l->fd >= 0) {
		ledger_segment_sync(l);
		if (checkpoint_write(l, now) < 0)
			log_error("ledger: failed to write the checkpoint at close");
		close(l->fd);
	}
	l->fd = -1;
	for (size_t i = 0; i < LEDGER_HASH; i++)
		while (l->hash[i])
			ledger_open_free(l, l->hash[i]);
	while (l->totals) {
		struct ledger_total *t = l->totals;
		l->totals = t->next;
		free(t);
	}
	free(l->seg_health);
	l->seg_health = NULL;
	l->n_seg_health = 0;
	l->month = -1;
	l->opened = false;
}

void ledger_note_health(struct ledger *l, int month, const struct ledger_health *h)
{
	struct ledger_seg_health *s = NULL;

	for (size_t i = 0; i < l->n_seg_health; i++)
		if (l->seg_health[i].month == month)
			s = &l->seg_health[i];
	if (!s) {
		struct ledger_seg_health *n = realloc(l->seg_health,
						      (l->n_seg_health + 1) * sizeof(*n));
		if (!n)
			return;
		l->seg_health = n;
		s = &n[l->n_seg_health++];
		s->month = month;
	}
	s->corrupt_records = h->corrupt_records;
	s->truncated = h->truncated_segments > 0;
	if (h->last_error[0])
		snprintf(l->last_error, sizeof(l->last_error), "%s", h->last_error);
}

void ledger_health_sum(const struct ledger *l, uint64_t *corrupt, uint64_t *damaged)
{
	*corrupt = *damaged = 0;
	for (size_t i = 0; i < l->n_seg_health; i++) {
		*corrupt += l->seg_health[i].corrupt_records;
		*damaged += l->seg_health[i].truncated || l->seg_health[i].corrupt_records;
	}
}

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

static void family_of(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void per_group(FILE *f, const struct ledger *l, const char *name, const char *help,
		      int which)
{
	family_of(f, name, "counter", help);
	for (const struct ledger_total *t = l->totals; t; t = t->next) {
		double v = which == 0 ? (double)t->reserved_pico / PRICE_PICO
			 : which == 1 ? (double)t->used_pico / PRICE_PICO
			 : which == 2 ? (double)t->cpu_unit_seconds / 1024.0
				      : (double)t->mib_seconds * 1048576.0;
		fprintf(f, "%s{cluster=\"", name);
		esc(f, t->cluster);
		fputs("\",service=\"", f);
		esc(f, t->service);
		fputs("\",family=\"", f);
		esc(f, t->family);
		fprintf(f, which == 3 ? "\"} %.0f\n" : "\"} %.6f\n", v);
	}
}

char *ledger_prometheus(const struct ledger *l, size_t *len)
{
	char *buf = NULL;
	uint64_t corrupt, damaged;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	per_group(f, l, "berth_billing_cost_dollars_total",
		  "Reserved (billed) cost accrued since berthd started, in dollars.", 0);
	per_group(f, l, "berth_billing_used_cost_dollars_total",
		  "Cost of the CPU and memory tasks used since berthd started, in dollars.", 1);
	per_group(f, l, "berth_billing_reserved_vcpu_seconds_total",
		  "Reserved vCPU-seconds accrued since berthd started.", 2);
	per_group(f, l, "berth_billing_reserved_memory_byte_seconds_total",
		  "Reserved memory byte-seconds accrued since berthd started.", 3);
	ledger_health_sum(l, &corrupt, &damaged);
	family_of(f, "berth_billing_open_tasks", "gauge", "Tasks the ledger is accruing or remembers.");
	fprintf(f, "berth_billing_open_tasks %zu\n", l->n_open);
	family_of(f, "berth_billing_ledger_records_total", "counter", "Ledger records appended.");
	fprintf(f, "berth_billing_ledger_records_total %" PRIu64 "\n", l->records_written);
	family_of(f, "berth_billing_ledger_write_errors_total", "counter",
		  "Ledger appends, syncs and checkpoints that failed.");
	fprintf(f, "berth_billing_ledger_write_errors_total %" PRIu64 "\n", l->write_errors);
	family_of(f, "berth_billing_ledger_corrupt_records", "gauge",
		  "Records that failed to parse or their checksum in the last read of each segment.");
	fprintf(f, "berth_billing_ledger_corrupt_records %" PRIu64 "\n", corrupt);
	family_of(f, "berth_billing_ledger_damaged_segments", "gauge",
		  "Segments with corrupt records or a truncated end at their last read.");
	fprintf(f, "berth_billing_ledger_damaged_segments %" PRIu64 "\n", damaged);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
