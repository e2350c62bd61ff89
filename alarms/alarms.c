/* SPDX-License-Identifier: MIT */
/* alarms.c: the alarm store - lookup, durable per-alarm files, and the API operations. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "alarms/actions.h"
#include "alarms/alarms_internal.h"
#include "common/fileio.h"
#include "common/json.h"
#include "common/log.h"

static unsigned name_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % ALARM_HASH_SIZE;
}

struct alarm *alarms_find(struct alarms *a, const char *name)
{
	for (struct alarm *al = a->hash[name_hash(name)]; al; al = al->hnext)
		if (strcmp(al->name, name) == 0)
			return al;
	return NULL;
}

void alarms_link(struct alarms *a, struct alarm *al)
{
	unsigned h = name_hash(al->name);

	al->hnext = a->hash[h];
	a->hash[h] = al;
	al->next = a->list;
	a->list = al;
	if (al->composite)
		a->n_composite++;
	else
		a->n_metric++;
	/* The callers reserved the entry: this does not fail. */
	if (!al->composite && alarm_sched_add(a, al) < 0)
		log_error("alarms: failed to schedule %s: %s", al->name, strerror(ENOMEM));
}

void alarms_unlink(struct alarms *a, struct alarm *al)
{
	struct alarm **pp;

	for (pp = &a->hash[name_hash(al->name)]; *pp && *pp != al; pp = &(*pp)->hnext)
		;
	if (*pp)
		*pp = al->hnext;
	for (pp = &a->list; *pp && *pp != al; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = al->next;
	if (al->composite)
		a->n_composite--;
	else
		a->n_metric--;
	if (!al->composite)
		alarm_sched_remove(a, al);
}

void alarms_free_alarm(struct alarm *al)
{
	if (!al)
		return;
	alarm_model_clear(al);
	free(al);
}

/* DATA_DIR/state/alarms/<sha256 of the name>.json: names may hold any character. */
void alarms_path(const struct alarms *a, const char *name, char *out, size_t len)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char hex[65];

	EVP_Digest(name, strlen(name), md, &mdlen, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(out, len, "%s/%s.json", a->dir, hex);
}

int alarms_save(struct alarms *a, struct alarm *al)
{
	char path[700], *text;
	json_t *o;
	int ret;

	alarms_path(a, al->name, path, sizeof(path));
	o = json_pack("{s:O, s:f, s:{s:s, s:s?, s:s?, s:f, s:f, s:f}}", "Config", al->conf,
		      "ConfigUpdated", al->conf_updated, "State", "Value",
		      alarm_state_name(al->state), "Reason", al->reason, "ReasonData",
		      al->reason_data, "Updated", al->state_updated, "Transitioned",
		      al->state_transitioned, "LastPeriodEnd", al->last_end);
	text = o ? json_steal_dumps(o) : NULL;
	if (!text)
		return -ENOMEM;
	ret = file_write_durable(path, text, strlen(text), 0600);
	free(text);
	if (ret < 0)
		log_error("alarms: failed to write %s: %s", path, strerror(-ret));
	al->dirty = ret < 0;
	return ret;
}

static void set_reason(struct alarm *al, const char *reason, char *data)
{
	free(al->reason);
	al->reason = strdup(reason ? reason : "");
	free(al->reason_data);
	al->reason_data = data;
}

static void load_one(struct alarms *a, const char *path)
{
	json_error_t jerr;
	json_t *o = json_load_file(path, 0, &jerr), *conf, *st;
	struct alarm *al = calloc(1, sizeof(*al));
	struct berr e = { { 0 }, { 0 }, 0 };
	int ret = -EINVAL, state;

	conf = json_object_get(o, "Config");
	st = json_object_get(o, "State");
	if (!al || !o || !json_is_object(conf) || !json_is_object(st)) {
		char aside[800];
		log_error("alarms: failed to parse %s: line %d: %s; kept as %s.corrupt", path,
			  jerr.line, o ? "not an alarm" : jerr.text, path);
		snprintf(aside, sizeof(aside), "%s.corrupt", path);
		rename(path, aside);
		goto out;
	}
	/* The stored configuration is the request plus what describe adds. */
	json_object_del(conf, "AlarmArn");
	ret = json_object_get(conf, "AlarmRule") ? alarm_model_composite(a, conf, al, false, &e)
						  : alarm_model_metric(a, conf, al, false, &e);
	if (ret < 0) {
		log_error("alarms: failed to load %s: %s", path, e.message);
		goto out;
	}
	if (alarms_find(a, al->name)) {
		alarm_model_clear(al);
		goto out;
	}
	if (alarm_sched_reserve(a, 1) < 0) {
		log_error("alarms: failed to load %s: %s", path, strerror(ENOMEM));
		alarm_model_clear(al);
		goto out;
	}
	state = alarm_state_parse(json_string_value(json_object_get(st, "Value")));
	al->state = state < 0 ? ALARM_STATE_INSUFFICIENT : (enum alarm_state)state;
	set_reason(al, json_string_value(json_object_get(st, "Reason")),
		   json_string_value(json_object_get(st, "ReasonData"))
		   ? strdup(json_string_value(json_object_get(st, "ReasonData"))) : NULL);
	al->state_updated = json_number_value(json_object_get(st, "Updated"));
	al->state_transitioned = json_number_value(json_object_get(st, "Transitioned"));
	al->last_end = json_number_value(json_object_get(st, "LastPeriodEnd"));
	al->conf_updated = json_number_value(json_object_get(o, "ConfigUpdated"));
	alarms_link(a, al);
	al = NULL;
out:
	free(al);
	json_decref(o);
}

static int load_dir(struct alarms *a)
{
	DIR *d = opendir(a->dir);
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char path[900];
		if (len != 69 || strcmp(de->d_name + 64, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", a->dir, de->d_name);
		load_one(a, path);
	}
	closedir(d);
	return 0;
}

/* ---- history ------------------------------------------------------------------------------- */

static const char *const hist_types[] = { "ConfigurationUpdate", "StateUpdate", "Action" };

static void hist_prune(struct alarms *a, double now);
static void hist_compact(struct alarms *a);

static int hist_push(struct alarms *a, double t, const char *name, bool composite,
		     enum alarm_hist_type type, const char *summary, const char *data)
{
	struct alarm_hist *h;

	if (a->n_hist - a->hist_head >= ALARM_HISTORY_MAX_ITEMS) {
		h = &a->hist[a->hist_head++];
		free(h->name);
		free(h->summary);
		free(h->data);
	}
	if (a->hist_head > 0 && a->hist_head >= a->n_hist / 2) {
		memmove(a->hist, a->hist + a->hist_head, (a->n_hist - a->hist_head) * sizeof(*h));
		a->n_hist -= a->hist_head;
		a->hist_head = 0;
	}
	if (a->n_hist == a->cap_hist) {
		size_t cap = a->cap_hist ? a->cap_hist * 2 : 256;
		h = realloc(a->hist, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		a->hist = h;
		a->cap_hist = cap;
	}
	h = &a->hist[a->n_hist];
	*h = (struct alarm_hist){ t, strdup(name), composite, type, strdup(summary),
				  strdup(data ? data : "{}") };
	if (!h->name || !h->summary || !h->data) {
		free(h->name);
		free(h->summary);
		free(h->data);
		return -ENOMEM;
	}
	a->n_hist++;
	return 0;
}

void alarms_history_maintain(struct alarms *a, double now)
{
	size_t head = a->hist_head;

	if (now < a->next_prune)
		return;
	a->next_prune = now + 3600;
	hist_prune(a, now);
	if (a->hist_head != head)
		hist_compact(a);
}

static void hist_prune(struct alarms *a, double now)
{
	while (a->hist_head < a->n_hist && a->hist[a->hist_head].t < now - ALARM_HISTORY_RETENTION) {
		struct alarm_hist *h = &a->hist[a->hist_head++];
		free(h->name);
		free(h->summary);
		free(h->data);
	}
}

static char *hist_line(const struct alarm_hist *h)
{
	json_t *o = json_pack("{s:s, s:s, s:f, s:s, s:s, s:s}", "AlarmName", h->name, "AlarmType",
			      h->composite ? "CompositeAlarm" : "MetricAlarm", "Timestamp", h->t,
			      "HistoryItemType", hist_types[h->type], "HistorySummary", h->summary,
			      "HistoryData", h->data);
	char *s = o ? json_steal_dumps(o) : NULL;
	char *line = s ? malloc(strlen(s) + 2) : NULL;

	if (line)
		sprintf(line, "%s\n", s);
	free(s);
	return line;
}

/* Rewrites the history file with the live items (after a prune, or at load). */
static void hist_compact(struct alarms *a)
{
	size_t cap = 0, len = 0;
	char *all = NULL;
	int ret;

	for (size_t i = a->hist_head; i < a->n_hist; i++) {
		char *l = hist_line(&a->hist[i]);
		size_t n = l ? strlen(l) : 0;
		if (len + n + 1 > cap) {
			char *p;
			cap = (len + n + 1) * 2;
			p = realloc(all, cap);
			if (!p) {
				free(l);
				free(all);
				return;
			}
			all = p;
		}
		if (l)
			memcpy(all + len, l, n);
		len += n;
		free(l);
	}
	ret = file_write_durable(a->hist_path, all ? all : "", len, 0600);
	free(all);
	if (ret < 0) {
		log_error("alarms: failed to write %s: %s", a->hist_path, strerror(-ret));
		return;
	}
	if (a->hist_fd >= 0)
		close(a->hist_fd);
	a->hist_fd = open(a->hist_path, O_WRONLY | O_APPEND | O_CLOEXEC);
}

static void hist_load(struct alarms *a, double now)
{
	FILE *f = fopen(a->hist_path, "re");
	char *line = NULL;
	size_t cap = 0, bad = 0;
	ssize_t n;

	while (f && (n = getline(&line, &cap, f)) > 0) {
		json_t *o = json_loads(line, 0, NULL);
		const char *name = json_string_value(json_object_get(o, "AlarmName"));
		const char *type = json_string_value(json_object_get(o, "HistoryItemType"));
		const char *sum = json_string_value(json_object_get(o, "HistorySummary"));
		const char *data = json_string_value(json_object_get(o, "HistoryData"));
		double t = json_number_value(json_object_get(o, "Timestamp"));
		int k = -1;
		for (int i = 0; type && i < 3; i++)
			if (!strcmp(type, hist_types[i]))
				k = i;
		if (!name || !sum || k < 0 || t <= 0)
			bad++;
		else if (t >= now - ALARM_HISTORY_RETENTION)
			hist_push(a, t, name, !strcmp(json_string_value(json_object_get(
				  o, "AlarmType")) ?: "", "CompositeAlarm"), k, sum, data);
		json_decref(o);
	}
	free(line);
	if (f)
		fclose(f);
	if (bad)
		log_error("alarms: %zu unreadable lines in %s skipped", bad, a->hist_path);
	hist_compact(a);
}

void alarms_history_add(struct alarms *a, const char *name, bool composite,
			enum alarm_hist_type type, const char *summary, json_t *data)
{
	char *d = data ? json_steal_dumps(data) : NULL, *line;

	if (hist_push(a, time_now(), name, composite, type, summary, d) < 0) {
		free(d);
		return;
	}
	free(d);
	line = hist_line(&a->hist[a->n_hist - 1]);
	if (line && a->hist_fd >= 0 && write(a->hist_fd, line, strlen(line)) < 0)
		log_error("alarms: failed to append to %s: %s", a->hist_path, strerror(errno));
	free(line);
	a->hist_unsynced = true;
}

void alarms_history_sync(struct alarms *a)
{
	if (a->hist_unsynced && a->hist_fd >= 0)
		fdatasync(a->hist_fd);
	a->hist_unsynced = false;
}

void alarms_history_action(void *ctx, const char *alarm_name, const char *summary,
			   const char *data_json)
{
	struct alarms *a = ctx;
	struct alarm *al = alarms_find(a, alarm_name);
	json_t *d = data_json ? json_loads(data_json, 0, NULL) : NULL;

	alarms_history_add(a, alarm_name, al && al->composite, HIST_ACTION, summary,
			   d ? d : data_json ? json_pack("{s:s}", "message", data_json) : NULL);
	if (!a->in_eval)
		alarms_history_sync(a);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static void on_cycle(void *ctx, struct collector *c, double now)
{
	(void)c;
	alarms_evaluate(ctx, now);
}

int alarms_init(struct alarms **out, const struct config *cfg, struct loop *loop,
		struct collector *collector, struct runtime *rt)
{
	struct alarms *a = calloc(1, sizeof(*a));
	int ret;

	*out = NULL;
	if (!a)
		return -ENOMEM;
	a->cfg = cfg;
	a->loop = loop;
	a->collector = collector;
	a->rt = rt;
	a->hist_fd = -1;
	snprintf(a->dir, sizeof(a->dir), "%s/state/alarms", cfg->data_dir);
	snprintf(a->hist_path, sizeof(a->hist_path), "%s/state/alarm-history.jsonl", cfg->data_dir);
	ret = file_mkdir_p(a->dir, 0700);
	if (ret == 0)
		ret = load_dir(a);
	if (ret < 0) {
		log_error("alarms: failed to load %s: %s", a->dir, strerror(-ret));
		alarms_close(a);
		return ret;
	}
	hist_load(a, time_now());
	if (a->hist_fd < 0) {
		ret = -errno;
		log_error("alarms: failed to open %s: %s", a->hist_path, strerror(errno));
		alarms_close(a);
		return ret ? ret : -EIO;
	}
	if (collector && (ret = collector_on_cycle(collector, on_cycle, a)) < 0) {
		log_error("alarms: failed to follow the collector: %s", strerror(-ret));
		alarms_close(a);
		return ret;
	}
	log_info("alarms: %zu metric and %zu composite alarms loaded", a->n_metric, a->n_composite);
	*out = a;
	return 0;
}

void alarms_close(struct alarms *a)
{
	if (!a)
		return;
	/* No cycle may reach a freed evaluator: leave the collector's observers. */
	for (size_t i = 0; a->collector && i < a->collector->n_observers;) {
		if (a->collector->observers[i].ctx != a) {
			i++;
			continue;
		}
		memmove(&a->collector->observers[i], &a->collector->observers[i + 1],
			(a->collector->n_observers - i - 1) * sizeof(a->collector->observers[0]));
		a->collector->n_observers--;
	}
	while (a->list) {
		struct alarm *al = a->list;
		a->list = al->next;
		alarms_free_alarm(al);
	}
	for (size_t i = a->hist_head; i < a->n_hist; i++) {
		free(a->hist[i].name);
		free(a->hist[i].summary);
		free(a->hist[i].data);
	}
	free(a->hist);
	alarm_feed_free_all(a);
	free(a->vals);
	free(a->range);
	alarm_sched_free(a);
	free(a->verdict);
	if (a->hist_fd >= 0) {
		fdatasync(a->hist_fd);
		close(a->hist_fd);
	}
	free(a);
}

void alarms_set_actions(struct alarms *a, struct alarm_actions *actions)
{
	a->actions = actions;
}

void alarms_get_stats(const struct alarms *a, struct alarms_stats *out)
{
	*out = a->stats;
	out->n_metric = a->n_metric;
	out->n_composite = a->n_composite;
}
