/* SPDX-License-Identifier: MIT */
/* ledger_state.c: the ledger's life - opening (checkpoint and segment replay), cycle ends with
 * the checkpoint of open hours when it is due, closing, and its counters for /metrics. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/ledger_internal.h"
#include "common/fileio.h"
#include "common/log.h"

#define CHECKPOINT "open.json"
#define CHECKPOINT_MAX (256 << 20)

/* The checkpoint is JSON text written straight into a buffer kept between checkpoints: at
 * a thousand tasks a document of JSON values cost more than the rest of the ledger's cycle. */
static int ck_reserve(struct ledger *l, size_t more)
{
	size_t cap = l->ck_cap ? l->ck_cap : 4096;
	char *n;

	if (l->ck_len + more <= l->ck_cap)
		return 0;
	while (cap < l->ck_len + more)
		cap *= 2;
	n = realloc(l->ck, cap);
	if (!n)
		return -ENOMEM;
	l->ck = n;
	l->ck_cap = cap;
	return 0;
}

/* Appends s as a JSON string; the room (6 bytes a character, 2 quotes) is reserved. */
static void ck_str(struct ledger *l, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char *p = l->ck + l->ck_len;

	*p++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20) {
			memcpy(p, "\\u00", 4);
			p[4] = hex[c >> 4];
			p[5] = hex[c & 15];
			p += 6;
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	l->ck_len = (size_t)(p - l->ck);
}

/* Appends text (room reserved by the caller). */
static void ck_raw(struct ledger *l, const char *text, size_t n)
{
	memcpy(l->ck + l->ck_len, text, n);
	l->ck_len += n;
}

#define CK_FMT(l, ...) ((l)->ck_len += (size_t)snprintf((l)->ck + (l)->ck_len, \
						       (l)->ck_cap - (l)->ck_len, __VA_ARGS__))

/* A double that reads back as itself; JSON has no infinities. */
static double finite_or_0(double v)
{
	return isfinite(v) ? v : 0;
}

static int ck_task(struct ledger *l, const struct ledger_open *o)
{
	size_t names = strlen(o->a.id) + strlen(o->a.cluster) + strlen(o->a.service) +
		       strlen(o->a.family);

	if (ck_reserve(l, 6 * (names + strlen(o->tags)) + 1024) < 0)
		return -ENOMEM;
	ck_raw(l, "{\"id\":", 6);
	ck_str(l, o->a.id);
	ck_raw(l, ",\"cluster\":", 11);
	ck_str(l, o->a.cluster);
	ck_raw(l, ",\"service\":", 11);
	ck_str(l, o->a.service);
	ck_raw(l, ",\"family\":", 10);
	ck_str(l, o->a.family);
	CK_FMT(l, ",\"revision\":%d,\"arch\":\"%s\",\"spot\":%s,\"cpu\":%d,\"mem\":%d,"
		  "\"storage\":%d,\"start\":%" PRId64 ",\"tags\":", o->a.revision,
	       price_arch_name(o->a.arch), o->a.spot ? "true" : "false", o->a.cpu_units,
	       o->a.mem_mib, o->a.storage_gib, o->a.start);
	ck_str(l, o->tags);
	CK_FMT(l, ",\"end\":%" PRId64 ",\"accTo\":%" PRId64 ",\"hour\":%" PRId64 ",\"from\":%d,"
		  "\"cpuUs\":%.17g,\"memMibS\":%.17g,\"net\":%" PRIu64 ",\"io\":%" PRIu64 ","
		  "\"haveNet\":%s,\"cpuSeen\":%" PRIu64 ",\"ioSeen\":%" PRIu64 ",\"netSeen\":%"
		  PRIu64 ",\"haveSeen\":%s,\"lastT\":%.17g,\"lastMib\":%.17g,\"closed\":%s}",
	       o->end, o->acc_to, o->hour, o->from, finite_or_0(o->cpu_us), finite_or_0(o->mem_mib_s), o->net,
	       o->io, o->have_net ? "true" : "false", o->cpu_seen, o->io_seen, o->net_seen,
	       o->have_seen ? "true" : "false", finite_or_0(o->last_t), finite_or_0(o->last_mib),
	       o->closed ? "true" : "false");
	return 0;
}

/* Builds the checkpoint's text in l->ck (l->ck_len bytes, NUL-terminated). 0 or -ENOMEM. */
static int checkpoint_text(struct ledger *l, double now)
{
	bool first = true;

	l->ck_len = 0;
	if (ck_reserve(l, 256) < 0)
		return -ENOMEM;
	CK_FMT(l, "{\"version\":1,\"month\":%d,\"offset\":%" PRIu64 ",\"written\":%.17g,"
		  "\"tasks\":[", l->month, l->offset, finite_or_0(now));
	for (size_t i = 0; i < LEDGER_HASH; i++)
		for (struct ledger_open *o = l->hash[i]; o; o = o->next) {
			if (!first)
				ck_raw(l, ",", 1);
			first = false;
			if (ck_task(l, o) < 0)
				return -ENOMEM;
		}
	if (ck_reserve(l, 3) < 0)
		return -ENOMEM;
	ck_raw(l, "]}", 3);
	l->ck_len--; /* the NUL is not part of the text */
	return 0;
}

static int checkpoint_write(struct ledger *l, double now)
{
	char path[600];
	int ret = checkpoint_text(l, now);

	if (ret < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/%s", l->dir, CHECKPOINT);
	ret = file_write_durable(path, l->ck, l->ck_len, 0640);
	if (ret == 0) {
		l->checkpoints++;
		l->last_checkpoint = now;
	}
	return ret;
}

char *ledger_open_text(struct ledger *l)
{
	char *copy;

	if (checkpoint_text(l, l->last_checkpoint) < 0)
		return NULL;
	copy = malloc(l->ck_len + 1);
	if (copy)
		memcpy(copy, l->ck, l->ck_len + 1);
	return copy;
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
	o->last_mib = getf(t, "lastMib");
	o->closed = json_is_true(json_object_get(t, "closed"));
	o->base_only = !o->have_seen;
	o->gap = o->have_seen && o->last_t > 0;
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
	o->gap = false;
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
		unsigned interval, unsigned checkpoint_interval, int retention_months, double now)
{
	int month = -1, ret;
	uint64_t offset = 0;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->month = -1;
	snprintf(l->dir, sizeof(l->dir), "%s", dir);
	l->prices = *prices;
	l->interval = interval ? interval : 5;
	l->checkpoint_interval = checkpoint_interval;
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
	bool wrote;
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
	wrote = l->dirty;
	ledger_segment_sync(l);
	/* A clock stepped back counts as due, so a checkpoint is never held off for long. */
	if (!wrote && l->last_checkpoint > 0 && now >= l->last_checkpoint &&
	    now - l->last_checkpoint < (double)l->checkpoint_interval)
		return;
	ret = checkpoint_write(l, now);
	if (ret < 0) {
		if (l->write_errors++ == 0)
			log_error("ledger: failed to write the checkpoint: %s", strerror(-ret));
		snprintf(l->last_error, sizeof(l->last_error), "checkpoint: %s", strerror(-ret));
	}
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
	free(l->ck);
	l->ck = NULL;
	l->ck_len = l->ck_cap = 0;
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
