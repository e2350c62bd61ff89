/* SPDX-License-Identifier: MIT */
/* ledger_observe.c: feeds the ledger from the runtime's tasks and the collector's samples. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/collector.h"
#include "collector/ledger.h"
#include "common/log.h"
#include "runtime/taskdef.h"

int ledger_open_config(struct ledger *l, const struct config *cfg, double now)
{
	struct price_book book;
	char dir[600], err[512];

	price_book_defaults(&book);
	if (cfg->price_sheet[0] && price_book_load(&book, cfg->price_sheet, err, sizeof(err)) < 0) {
		log_error("ledger: failed to load the price sheet: %s", err);
		return -EINVAL;
	}
	snprintf(dir, sizeof(dir), "%s/ledger", cfg->data_dir);
	return ledger_init(l, dir, &book,
			   cfg->collect_interval < LEDGER_MIN_INTERVAL ? LEDGER_MIN_INTERVAL
								    : (unsigned)cfg->collect_interval,
			   (unsigned)cfg->ledger_checkpoint_interval,
			   (int)cfg->ledger_retention_months, now);
}

static void attrs_of(const struct rt_task *t, struct ledger_task_attrs *a, bool *spot)
{
	const struct taskdef *td = t->td;
	json_t *plat = td ? json_object_get(td->doc, "runtimePlatform") : NULL;
	const char *arch = json_string_value(json_object_get(plat, "cpuArchitecture"));
	const char *svc = strncmp(t->group, "service:", 8) == 0 ? t->group + 8 : "";

	memset(a, 0, sizeof(*a));
	snprintf(a->id, sizeof(a->id), "%s", t->id);
	snprintf(a->cluster, sizeof(a->cluster), "%s", t->cluster);
	snprintf(a->service, sizeof(a->service), "%s", svc);
	snprintf(a->family, sizeof(a->family), "%s", td && td->family ? td->family : "");
	a->revision = td ? td->revision : 0;
	if (!arch || price_arch_parse(arch, &a->arch) < 0)
		a->arch = PRICE_X86_64;
	a->spot = *spot = !strcmp(t->capacity_provider, "FARGATE_SPOT");
	a->cpu_units = atoi(t->cpu);
	a->mem_mib = atoi(t->memory);
	for (size_t i = 0; i < t->n_containers; i++) {
		/* No task size: the containers' own reservations, as the collector counts them. */
		if (!t->cpu[0])
			a->cpu_units += t->containers[i].cpu;
		if (!t->memory[0])
			a->mem_mib += t->containers[i].memory ? t->containers[i].memory
							      : t->containers[i].memory_reservation;
	}
	a->storage_gib = td && td->ephemeral_storage_gib > 20 ? td->ephemeral_storage_gib - 20 : 0;
	a->start = (int64_t)floor(t->created_at);
}

/* The task's tags as a compact JSON object with sorted keys (caller frees), or NULL. */
static char *tags_of(const struct rt_task *t)
{
	json_t *o = json_object(), *v;
	size_t i;
	char *s;

	json_array_foreach(t->tags, i, v) {
		const char *k = json_string_value(json_object_get(v, "key"));
		const char *val = json_string_value(json_object_get(v, "value"));
		if (k)
			json_object_set_new(o, k, json_string(val ? val : ""));
	}
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

static void usage_of(struct collector *c, const struct rt_task *t, struct ledger_task_info *ti)
{
	struct col_series *s = collector_series_find(c, COL_TASK, t->cluster, t->id, NULL);
	struct col_task *ct = s ? s->owner : NULL;

	if (!ct)
		return;
	for (size_t i = 0; i < ct->n_containers; i++) {
		const struct col_container *cc = &ct->containers[i];
		if (!cc->have_cur)
			continue;
		ti->have_usage = true;
		ti->cpu_ns += cc->cur.cpu_usage_ns;
		ti->io_bytes += cc->cur.io_read_bytes + cc->cur.io_write_bytes;
		ti->mem_bytes += (double)cc->cur.mem_working_set;
	}
}

void ledger_observe(void *ctx, struct collector *c, double now)
{
	struct ledger *l = ctx;

	/* Half a second of slack for the timer's jitter; a clock stepped back runs a cycle. */
	if (l->last_observe > 0 && now >= l->last_observe &&
	    now - l->last_observe < (double)l->interval - 0.5)
		return;
	l->last_observe = now;
	for (struct rt_task *t = c->rt->tasks; t; t = t->next) {
		struct ledger_task_info ti = { 0 };
		bool spot;
		char *tags;

		if (t->created_at <= 0)
			continue;
		attrs_of(t, &ti.a, &spot);
		tags = tags_of(t);
		ti.tags_json = tags;
		ti.stopped = !strcmp(t->last_status, "STOPPED");
		ti.created_at = t->created_at;
		ti.stopped_at = t->stopped_at;
		if (!ti.stopped)
			usage_of(c, t, &ti);
		ledger_task_update(l, &ti, now);
		free(tags);
	}
	ledger_cycle_end(l, now);
}
