/* SPDX-License-Identifier: MIT */
/* ledger.c: usage accrual - per-task open hours, R records appended when an hour ends, the
 * checkpoint of open hours (ledger_state.c), monthly rotation. */
#include "collector/ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "collector/ledger_internal.h"

static unsigned hash_id(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % LEDGER_HASH;
}

struct ledger_open *ledger_find(struct ledger *l, const char *id)
{
	for (struct ledger_open *o = l->hash[hash_id(id)]; o; o = o->next)
		if (!strcmp(o->a.id, id))
			return o;
	return NULL;
}

static struct ledger_total *total_of(struct ledger *l, const struct ledger_task_attrs *a)
{
	struct ledger_total *t;

	for (t = l->totals; t; t = t->next)
		if (!strcmp(t->cluster, a->cluster) && !strcmp(t->service, a->service) &&
		    !strcmp(t->family, a->family))
			return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	snprintf(t->cluster, sizeof(t->cluster), "%s", a->cluster);
	snprintf(t->service, sizeof(t->service), "%s", a->service);
	snprintf(t->family, sizeof(t->family), "%s", a->family);
	t->next = l->totals;
	l->totals = t;
	return t;
}

struct ledger_open *ledger_open_new(struct ledger *l, const struct ledger_task_attrs *a,
				    const char *tags)
{
	struct ledger_open *o = calloc(1, sizeof(*o));
	unsigned h = hash_id(a->id);

	if (!o)
		return NULL;
	o->a = *a;
	o->tags = strdup(tags && *tags ? tags : "{}");
	o->total = total_of(l, a);
	if (!o->tags || !o->total) {
		free(o->tags);
		free(o);
		return NULL;
	}
	o->acc_to = a->start;
	o->hour = a->start - a->start % 3600;
	o->from = (int)(a->start - o->hour);
	o->t_month = -1;
	o->next = l->hash[h];
	l->hash[h] = o;
	l->n_open++;
	return o;
}

void ledger_open_free(struct ledger *l, struct ledger_open *o)
{
	for (struct ledger_open **pp = &l->hash[hash_id(o->a.id)]; *pp; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	l->n_open--;
	free(o->tags);
	free(o);
}

void ledger_reserved_pico(const struct price_book *b, const struct ledger_task_attrs *a,
			  int64_t from, int64_t to, int64_t *cpu, int64_t *mem, int64_t *sto)
{
	*cpu = *mem = *sto = 0;
	while (from < to) {
		int64_t until, end;
		const struct price_sheet *s = price_at(b, from, &until);
		end = until < to ? until : to;
		*cpu += price_cpu_cost(s, a->arch, a->spot, (int64_t)a->cpu_units * (end - from));
		*mem += price_mem_cost(s, a->arch, a->spot, (int64_t)a->mem_mib * (end - from));
		*sto += price_storage_cost(s, a->spot, (int64_t)a->storage_gib * (end - from));
		from = end;
	}
}

/* ---- the segment ------------------------------------------------------------------------ */

static void emit(struct ledger *l, const struct ledger_rec *r)
{
	int n = ledger_rec_format(r, l->line, sizeof(l->line)), ret;

	if (n < 0 || l->fd < 0) {
		l->write_errors++;
		return;
	}
	ret = file_write_all(l->fd, l->line, (size_t)n);
	if (ret < 0) {
		if (l->write_errors++ == 0)
			log_error("ledger: failed to append to the segment: %s", strerror(-ret));
		snprintf(l->last_error, sizeof(l->last_error), "append: %s", strerror(-ret));
		return;
	}
	l->offset += (uint64_t)n;
	l->records_written++;
	l->dirty = true;
}

void ledger_emit_task(struct ledger *l, struct ledger_open *o)
{
	struct ledger_rec r = { .kind = 'T', .t = o->a, .tags = o->tags,
				.tags_len = strlen(o->tags) };

	emit(l, &r);
	o->t_month = l->month;
}

int ledger_segment_open(struct ledger *l, int month, double now)
{
	char path[600], last;
	struct stat st;
	int fd;

	ledger_segment_path(l->dir, month, false, path, sizeof(path));
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	l->fd = fd;
	l->month = month;
	l->offset = (uint64_t)st.st_size;
	/* A torn last line must not swallow the next record. */
	if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') {
		if (file_write_all(fd, "\n", 1) == 0)
			l->offset++;
	}
	if (st.st_size == 0) {
		struct ledger_rec h = { .kind = 'H', .written = (int64_t)now };
		emit(l, &h);
	}
	return 0;
}

void ledger_segment_sync(struct ledger *l)
{
	if (l->fd >= 0 && l->dirty && fdatasync(l->fd) < 0) {
		l->write_errors++;
		log_error("ledger: failed to sync the segment: %s", strerror(errno));
	}
	l->dirty = false;
}

static void retention(struct ledger *l)
{
	int *m;
	bool *gz;
	size_t n;
	char path[600];

	if (ledger_segments_list(l->dir, &m, &gz, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (m[i] < l->month && !gz[i]) {
			int ret = ledger_segment_compress(l->dir, m[i]);
			if (ret < 0)
				log_warn("ledger: failed to compress the segment of %04d-%02d: %s",
					 m[i] / 12, m[i] % 12 + 1, strerror(-ret));
		}
		if (m[i] <= l->month - l->retention_months) {
			ledger_segment_path(l->dir, m[i], true, path, sizeof(path));
			if (unlink(path) == 0)
				log_info("ledger: removed %s (older than %d months)", path,
					 l->retention_months);
			ledger_index_path(l->dir, m[i], path, sizeof(path));
			unlink(path);
		}
	}
	free(m);
	free(gz);
}

void ledger_maybe_rotate(struct ledger *l, double now)
{
	int month = ledger_month_of((int64_t)now);
	int ret;

	if (month <= l->month && l->fd >= 0)
		return;
	ledger_segment_sync(l);
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	ret = ledger_segment_open(l, month, now);
	if (ret < 0) {
		l->write_errors++;
		log_error("ledger: failed to open the segment of %04d-%02d: %s", month / 12,
			  month % 12 + 1, strerror(-ret));
		return;
	}
	retention(l);
}

/* ---- accrual ---------------------------------------------------------------------------- */

void ledger_emit_hour(struct ledger *l, struct ledger_open *o, int to, bool final)
{
	struct ledger_rec r = { .kind = 'R', .hour = o->hour, .from = o->from, .to = to,
				.cpu_us = (uint64_t)llround(o->cpu_us),
				.mem_mib_s = (uint64_t)llround(o->mem_mib_s),
				.net_bytes = o->net, .have_net = o->have_net, .io_bytes = o->io,
				.final = final };

	snprintf(r.task, sizeof(r.task), "%s", o->a.id);
	if (o->t_month != l->month)
		ledger_emit_task(l, o);
	emit(l, &r);
	o->cpu_us = o->mem_mib_s = 0;
	o->net = o->io = 0;
}

static void add_use(struct ledger *l, struct ledger_open *o, double cpu_us, double mem_mib_s,
		    uint64_t io, uint64_t net, bool have_net)
{
	const struct price_sheet *s = price_at(&l->prices, o->acc_to, NULL);

	o->cpu_us += cpu_us;
	o->mem_mib_s += mem_mib_s;
	o->io += io;
	o->net += net;
	o->have_net = o->have_net || have_net;
	if (o->total) {
		o->total->used_pico += price_cpu_cost(s, o->a.arch, o->a.spot,
						      (int64_t)(cpu_us * 1024 / 1e6));
		o->total->used_pico += price_mem_cost(s, o->a.arch, o->a.spot, (int64_t)mem_mib_s);
	}
}

/* The use since the last sample, the part after the open hour's end carried to the next. */
static void sample_use(struct ledger *l, struct ledger_open *o, const struct ledger_task_info *ti,
		       double now, double *carry)
{
	uint64_t dcpu, dio, dnet;
	double dt, frac = 0, hour_end = (double)(o->hour + 3600), cap = 3.0 * l->interval;
	double mib = ti->mem_bytes / 1048576.0;

	carry[0] = carry[1] = 0;
	if (!o->have_seen) {
		/* A fresh task's counters start with its cgroup; a restored one has counted
		 * up to an unknown point, so its first sample only sets the base. */
		bool fresh = !o->base_only;
		o->cpu_seen = fresh ? 0 : ti->cpu_ns;
		o->io_seen = fresh ? 0 : ti->io_bytes;
		o->net_seen = fresh ? 0 : ti->net_bytes;
		o->have_seen = true;
	}
	dcpu = ti->cpu_ns >= o->cpu_seen ? ti->cpu_ns - o->cpu_seen : 0;
	dio = ti->io_bytes >= o->io_seen ? ti->io_bytes - o->io_seen : 0;
	dnet = ti->net_bytes >= o->net_seen ? ti->net_bytes - o->net_seen : 0;
	o->cpu_seen = ti->cpu_ns;
	o->io_seen = ti->io_bytes;
	o->net_seen = ti->net_bytes;
	if (o->gap) {
		/* The first sample after a restart covers the time since the checkpoint's last
		 * sample: the counters carry the CPU, I/O and network use of that gap; its memory
		 * is accrued at the level last seen (berthd down longer than a checkpoint interval
		 * and three cycles is not billed for memory beyond that). */
		o->gap = false;
		cap += (double)l->checkpoint_interval;
		mib = o->last_mib;
	}
	dt = o->last_t > 0 ? now - o->last_t : (double)l->interval;
	if (dt < 0)
		dt = 0;
	if (dt > cap)
		dt = cap;
	if (now > hour_end && now - dt < hour_end)
		frac = (now - hour_end) / dt;
	else if (now > hour_end)
		frac = 1;
	o->last_t = now;
	o->last_mib = ti->mem_bytes / 1048576.0;
	add_use(l, o, (double)dcpu / 1000.0 * (1 - frac), mib * dt * (1 - frac),
		(uint64_t)((double)dio * (1 - frac)), (uint64_t)((double)dnet * (1 - frac)),
		ti->have_net);
	carry[0] = (double)dcpu / 1000.0 * frac;
	carry[1] = mib * dt * frac;
}

static int64_t billed_end(const struct ledger_task_info *ti, double now)
{
	double stop = ti->stopped_at > 0 ? ti->stopped_at : now;
	double dur = ceil(stop - ti->created_at);

	if (dur < 60)
		dur = 60;
	return ti->a.start + (int64_t)dur;
}

/* Moves reserved accrual to tgt, writing the hours that end on the way. */
static void accrue(struct ledger *l, struct ledger_open *o, int64_t tgt, const double *carry)
{
	int64_t cpu, mem, sto;

	if (tgt <= o->acc_to)
		return;
	ledger_reserved_pico(&l->prices, &o->a, o->acc_to, tgt, &cpu, &mem, &sto);
	if (o->total) {
		o->total->reserved_pico += cpu + mem + sto;
		o->total->cpu_unit_seconds += (int64_t)o->a.cpu_units * (tgt - o->acc_to);
		o->total->mib_seconds += (int64_t)o->a.mem_mib * (tgt - o->acc_to);
	}
	while (tgt >= o->hour + 3600) {
		ledger_emit_hour(l, o, 3600, o->end && o->end == o->hour + 3600);
		o->hour += 3600;
		o->from = 0;
		if (carry) {
			o->cpu_us += carry[0];
			o->mem_mib_s += carry[1];
			carry = NULL;
		}
	}
	o->acc_to = tgt;
	if (carry) {
		o->cpu_us += carry[0];
		o->mem_mib_s += carry[1];
	}
}

void ledger_close_out(struct ledger *l, struct ledger_open *o)
{
	if (o->acc_to > o->hour + o->from)
		ledger_emit_hour(l, o, (int)(o->acc_to - o->hour), true);
	o->closed = true;
}

void ledger_task_update(struct ledger *l, const struct ledger_task_info *ti, double now)
{
	struct ledger_open *o = ledger_find(l, ti->a.id);
	double carry[2] = { 0, 0 };
	int64_t tgt;

	ledger_maybe_rotate(l, now);
	if (!o) {
		o = ledger_open_new(l, &ti->a, ti->tags_json);
		if (!o)
			return;
		ledger_emit_task(l, o);
	}
	o->touched = true;
	if (o->closed)
		return;
	if (ti->tags_json && strcmp(ti->tags_json, o->tags)) {
		char *t = strdup(ti->tags_json);
		if (t) {
			free(o->tags);
			o->tags = t;
			ledger_emit_task(l, o);
		}
	}
	if (ti->have_usage)
		sample_use(l, o, ti, now, carry);
	if (ti->stopped && !o->end)
		o->end = billed_end(ti, now);
	if (o->end && o->end < o->acc_to)
		o->end = o->acc_to;
	tgt = o->end ? o->end : (int64_t)floor(now);
	accrue(l, o, tgt, carry);
	if (o->end && o->acc_to >= o->end)
		ledger_close_out(l, o);
}
