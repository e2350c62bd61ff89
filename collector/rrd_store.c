/* SPDX-License-Identifier: MIT */
/* rrd_store.c: per-task, per-service and per-cluster RRD files through librrd or rrdcached. */
#include "collector/rrd_store.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <rrd.h>
#include <rrd_client.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/loop.h"
#include "common/log.h"
#include "common/util.h"

#define RRD_LINE_MAX (24 + RRD_MAX_DS * 24)
#define RETENTION_SECONDS (455L * 86400)

static int mkdir_p(const char *dir)
{
	char tmp[640];

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int rrd_store_init(struct rrd_store *s, const char *dir, const char *daemon, unsigned long step,
		   uint64_t max_bytes)
{
	int ret;

	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	snprintf(s->daemon, sizeof(s->daemon), "%s", daemon ? daemon : "");
	s->step = step ? step : 1;
	s->max_bytes = max_bytes;
	s->queue_bytes = RRD_QUEUE_BYTES;
	s->lines = malloc((size_t)RRD_MAX_ROWS * RRD_LINE_MAX);
	if (!s->lines)
		return -ENOMEM;
	ret = mkdir_p(s->dir);
	if (ret < 0) {
		log_error("collector: failed to create RRD directory %s: %s", s->dir, strerror(-ret));
		free(s->lines);
		s->lines = NULL;
		return ret;
	}
	return 0;
}

struct rrd_worker {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;          /* the worker's: a job queued, hold lifted or stop */
	pthread_cond_t ran;           /* the waiters': a job is done */
	struct rrd_job *head, *tail;  /* queued, in order */
	struct rrd_job *done, *done_tail; /* run, not handed back yet */
	size_t n_done;
	bool hold, stop;
	int efd;                      /* written once a job is done */
	struct loop_io io;
	void (*cb)(void *ctx, struct rrd_job *j);
	void *ctx;
};

struct rrd_job *rrd_job_new(size_t n, size_t rows)
{
	size_t vals = rows * n * sizeof(double), tss = rows * sizeof(time_t);
	size_t size = sizeof(struct rrd_job) + vals + tss + n * RRD_DS_NAME;
	struct rrd_job *j = malloc(size);

	if (!j)
		return NULL;
	memset(j, 0, sizeof(*j));
	j->n = n;
	j->rows = rows;
	j->size = size;
	j->values = (double *)(j + 1);
	j->ts = (time_t *)((char *)j->values + vals);
	j->ds = (char (*)[RRD_DS_NAME])((char *)j->ts + tss);
	return j;
}

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs j in the calling thread (the worker's, or the caller's without one). */
static void job_run(struct rrd_store *s, struct rrd_job *j)
{
	const char *ds[RRD_MAX_DS];
	double cpu0 = thread_cpu();

	if (j->expire) {
		j->ret = rrd_store_expire(s, j->now, &j->stats);
	} else {
		for (size_t i = 0; i < j->n && i < RRD_MAX_DS; i++)
			ds[i] = j->ds[i];
		j->ret = rrd_store_update(s, &j->file, &j->stats, ds, j->n, j->values, j->ts,
					  j->rows);
	}
	/* No malloc_trim here: librrd's buffer of a new file (~17 MB at a 1 s step) is above
	 * berthd's fixed mmap threshold and unmapped when freed, and a trim would hold the main
	 * arena's lock through a walk of the loop's whole heap while the loop allocates. */
	j->stats.bytes = s->disk_bytes;
	j->cpu_seconds = thread_cpu() - cpu0;
}

/* Hands back every job done (the loop's thread). */
static void deliver(struct rrd_store *s)
{
	struct rrd_worker *w = s->worker;
	struct rrd_job *list;

	pthread_mutex_lock(&w->lock);
	list = w->done;
	w->done = w->done_tail = NULL;
	w->n_done = 0;
	pthread_mutex_unlock(&w->lock);
	while (list) {
		struct rrd_job *j = list;
		list = j->next;
		s->queued_bytes -= j->size;
		s->queued_jobs--;
		w->cb(w->ctx, j);
	}
}

static void on_done(struct loop_io *io, uint32_t events)
{
	struct rrd_store *s = io->data;
	uint64_t v;

	(void)events;
	if (read(s->worker->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_error("collector: RRD worker eventfd: %s", strerror(errno));
	deliver(s);
}

static void *worker_main(void *arg)
{
	struct rrd_store *s = arg;
	struct rrd_worker *w = s->worker;
	const uint64_t one = 1;

	rrd_get_context(); /* librrd's per-thread error context */
	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct rrd_job *j;
		while (!w->head || (w->hold && !w->stop)) {
			if (w->stop && !w->head)
				break;
			pthread_cond_wait(&w->wake, &w->lock);
		}
		if (!w->head)
			break;
		j = w->head;
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&w->lock);
		job_run(s, j);
		pthread_mutex_lock(&w->lock);
		j->next = NULL;
		j->done = true;
		if (w->done_tail)
			w->done_tail->next = j;
		else
			w->done = j;
		w->done_tail = j;
		w->n_done++;
		pthread_cond_broadcast(&w->ran);
		if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_error("collector: RRD worker eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int rrd_store_start(struct rrd_store *s, struct loop *loop,
		    void (*done)(void *ctx, struct rrd_job *j), void *ctx)
{
	struct rrd_worker *w;
	int ret;

	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	w->cb = done;
	w->ctx = ctx;
	w->efd = -1;
	s->worker = w;
	if (!loop)
		return 0; /* jobs run in the caller */
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = loop_io_start(loop, &w->io, w->efd, EPOLLIN, on_done, s);
	if (ret < 0)
		goto fail;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->ran, NULL);
	ret = -pthread_create(&w->thread, NULL, worker_main, s);
	if (ret == 0)
		return 0;
	pthread_cond_destroy(&w->ran);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	loop_io_stop(&w->io);
fail:
	log_error("collector: failed to start the RRD writer thread: %s; RRD files are written "
		  "in the event loop", strerror(-ret));
	if (w->efd >= 0)
		close(w->efd);
	w->efd = -1;
	return ret;
}

/* Whether jobs go to a thread (else they run as submitted). */
static bool threaded(const struct rrd_store *s)
{
	return s->worker && s->worker->efd >= 0;
}

bool rrd_store_full(const struct rrd_store *s)
{
	return threaded(s) && s->queued_jobs && s->queued_bytes >= s->queue_bytes;
}

bool rrd_store_submit(struct rrd_store *s, struct rrd_job *j, bool force, bool urgent)
{
	struct rrd_worker *w = s->worker;

	if (!threaded(s)) {
		job_run(s, j);
		if (w)
			w->cb(w->ctx, j);
		else
			free(j);
		return true;
	}
	if (!force && s->queued_jobs && s->queued_bytes + j->size > s->queue_bytes)
		return false;
	s->queued_bytes += j->size;
	s->queued_jobs++;
	j->done = false;
	pthread_mutex_lock(&w->lock);
	if (urgent || !w->head) {
		j->next = w->head;
		w->head = j;
		if (!w->tail)
			w->tail = j;
	} else {
		j->next = NULL;
		w->tail->next = j;
		w->tail = j;
	}
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return true;
}

void rrd_store_hurry(struct rrd_store *s, struct rrd_job *j)
{
	struct rrd_worker *w = s->worker;

	if (!threaded(s))
		return;
	pthread_mutex_lock(&w->lock);
	for (struct rrd_job **pp = &w->head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp != j)
			continue;
		if (pp != &w->head) {
			*pp = j->next;
			if (w->tail == j)
				w->tail = prev;
			j->next = w->head;
			w->head = j;
		}
		break;
	}
	pthread_mutex_unlock(&w->lock);
}

void rrd_store_wait(struct rrd_store *s, struct rrd_job *j)
{
	struct rrd_worker *w = s->worker;

	if (!threaded(s))
		return;
	pthread_mutex_lock(&w->lock);
	/* Not held: a wait for a held worker would never end. */
	w->hold = false;
	pthread_cond_signal(&w->wake);
	while (j ? !j->done : s->queued_jobs > w->n_done)
		pthread_cond_wait(&w->ran, &w->lock);
	pthread_mutex_unlock(&w->lock);
	deliver(s);
}

void rrd_store_hold(struct rrd_store *s, bool hold)
{
	struct rrd_worker *w = s->worker;

	if (!threaded(s))
		return;
	pthread_mutex_lock(&w->lock);
	w->hold = hold;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

void rrd_store_close(struct rrd_store *s)
{
	struct rrd_worker *w = s->worker;

	if (threaded(s)) {
		pthread_mutex_lock(&w->lock);
		w->stop = true;
		pthread_cond_signal(&w->wake);
		pthread_mutex_unlock(&w->lock);
		pthread_join(w->thread, NULL); /* after running every queued job */
		deliver(s);
		loop_io_stop(&w->io);
		close(w->efd);
		pthread_cond_destroy(&w->ran);
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
	}
	free(w);
	s->worker = NULL;
	free(s->lines);
	s->lines = NULL;
	/* rrdcached keeps its queue (and journal) across our restarts; nothing to flush. */
	if (s->daemon[0] && rrdc_is_any_connected())
		rrdc_disconnect();
}

int rrd_store_path(const struct rrd_store *s, struct rrd_file *f, const char *kind,
		   const char *cluster, const char *name)
{
	int n = name ? snprintf(f->path, sizeof(f->path), "%s/%s/%s-%s.rrd", s->dir, cluster, kind,
				name)
		     : snprintf(f->path, sizeof(f->path), "%s/%s/%s.rrd", s->dir, cluster, kind);

	return n >= (int)sizeof(f->path) ? -ENAMETOOLONG : 0;
}

static const char *rrd_err(void)
{
	const char *e = rrd_get_error();

	return e && *e ? e : "unknown librrd error";
}

/* Rows of each archive: raw for 3 h (AVERAGE), 1 min for 15 d, 5 min for 63 d, 1 h for 455 d
 * (AVERAGE, MIN, MAX). */
static int create_file(struct rrd_store *s, struct rrd_store_stats *st, const char *path,
		       const char *const *ds, size_t n, time_t t)
{
	static const char *const cfs[] = { "AVERAGE", "MIN", "MAX" };
	const unsigned long tiers[4][2] = { { 1, 10800 }, { 60, 15 * 1440 }, { 300, 63 * 288 },
					    { 3600, 455 * 24 } };
	char defs[RRD_MAX_DS + 12][64];
	const char *argv[RRD_MAX_DS + 12];
	int argc = 0;

	for (size_t i = 0; i < n; i++) {
		snprintf(defs[argc], sizeof(defs[argc]), "DS:%s:GAUGE:%lu:U:U", ds[i], 3 * s->step);
		argv[argc] = defs[argc];
		argc++;
	}
	for (int k = 0; k < 4; k++) {
		unsigned long per = tiers[k][0] <= s->step ? 1 : tiers[k][0] / s->step;
		unsigned long rows = k == 0 ? tiers[0][1] / s->step : tiers[k][1];
		/* A raw row is one sample: its MIN and MAX would repeat AVERAGE, so the raw
		 * tier has AVERAGE only (a third of the file and of each update's pages). */
		for (int c = 0; c < (per == 1 ? 1 : 3); c++) {
			snprintf(defs[argc], sizeof(defs[argc]), "RRA:%s:0.5:%lu:%lu", cfs[c], per,
				 rows ? rows : 1);
			argv[argc] = defs[argc];
			argc++;
		}
	}
	rrd_clear_error();
	if (rrd_create_r2(path, s->step, t - 1, 1, NULL, NULL, argc, argv) != 0)
		return -EIO;
	st->created++;
	return 0;
}

static int ensure_dir_of(const char *path)
{
	char dir[640];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	return mkdir_p(dir);
}

/* A file librrd cannot read is moved aside so that a fresh one can be made. */
static void quarantine(struct rrd_store *s, struct rrd_store_stats *st, struct rrd_file *f,
		       time_t t)
{
	char aside[700];

	snprintf(aside, sizeof(aside), "%s.corrupt-%ld", f->path, (long)t);
	if (rename(f->path, aside) < 0) {
		log_error("collector: failed to quarantine RRD file %s: %s", f->path, strerror(errno));
		unlink(f->path);
	} else {
		log_warn("collector: RRD file %s is unreadable (%s), moved to %s", f->path, rrd_err(),
			 aside);
	}
	if (s->daemon[0] && rrdc_connect(s->daemon) == 0)
		rrdc_forget(f->path);
	st->quarantined++;
}

/* Reads the last update of an existing file or creates it; quarantines unreadable files. */
static int make_ready(struct rrd_store *s, struct rrd_store_stats *st, struct rrd_file *f,
		      const char *const *ds, size_t n, time_t t)
{
	int ret = ensure_dir_of(f->path);
	struct stat sb;
	time_t last;

	if (ret < 0)
		return ret;
	if (access(f->path, F_OK) == 0) {
		if (s->daemon[0] && rrdc_connect(s->daemon) == 0)
			rrdc_flush(f->path);
		rrd_clear_error();
		last = rrd_last_r(f->path);
		if (last > 0) {
			f->last = last;
			f->ready = true;
			return 0;
		}
		quarantine(s, st, f, t);
	}
	if (s->max_bytes && s->disk_bytes >= s->max_bytes)
		return -ENOSPC; /* rrd_max_bytes reached: no new files until some expire */
	ret = create_file(s, st, f->path, ds, n, t);
	if (ret < 0)
		return ret;
	if (stat(f->path, &sb) == 0)
		s->disk_bytes += (uint64_t)sb.st_size;
	f->last = t - 1;
	f->ready = true;
	return 0;
}

/* ":v" for one value of an update line (at most 24 bytes): "U" when unknown, integers (most
 * values: counts, reservations, bytes, idle CPU) without printf, the rest as %.10g. */
static size_t put_value(char *out, double v)
{
	char tmp[24];
	uint64_t u;
	size_t n = 0, len;

	if (!isfinite(v)) {
		memcpy(out, ":U", 2);
		return 2;
	}
	if (v != floor(v) || fabs(v) >= 1e15)
		return (size_t)snprintf(out, 24, ":%.10g", v);
	out[n++] = ':';
	if (v < 0) {
		out[n++] = '-';
		v = -v;
	}
	u = (uint64_t)v;
	len = 0;
	do {
		tmp[sizeof(tmp) - ++len] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	memcpy(out + n, tmp + sizeof(tmp) - len, len);
	return n + len;
}

/* Formats rows[i] as "t:v1:v2..." lines in s->lines and writes them with one librrd call (one
 * open of the file) or one rrdcached command. */
static int write_rows(struct rrd_store *s, struct rrd_file *f, size_t n, const double *values,
		      const time_t *ts, size_t rows)
{
	const char *argv[RRD_MAX_ROWS];
	size_t off = 0;

	for (size_t r = 0; r < rows; r++) {
		char *line = s->lines + off;
		off += (size_t)snprintf(line, RRD_LINE_MAX, "%ld", (long)ts[r]);
		for (size_t i = 0; i < n; i++)
			off += put_value(s->lines + off, values[r * n + i]);
		s->lines[off++] = '\0';
		argv[r] = line;
	}
	rrd_clear_error();
	if (s->daemon[0]) {
		if (rrdc_connect(s->daemon) != 0)
			return -ECONNREFUSED;
		return rrdc_update(f->path, (int)rows, argv) == 0 ? 0 : -EIO;
	}
	return rrd_update_r(f->path, NULL, (int)rows, argv) == 0 ? 0 : -EIO;
}

static int fail(struct rrd_store_stats *st, struct rrd_file *f, int ret, const char *what,
		time_t t)
{
	st->errors++;
	f->retry_at = (double)t + 60;
	if (!f->failing)
		log_error("collector: failed to %s RRD file %s: %s", what, f->path,
			  ret == -EIO ? rrd_err() : strerror(-ret));
	f->failing = true;
	return ret;
}

/* Drops rows at or before the last update (same second, clock stepped back), counting them;
 * returns the rows kept, moved to the front. */
static size_t keep_newer(struct rrd_store_stats *st, struct rrd_file *f, size_t n,
			 double *values, time_t *ts, size_t rows)
{
	size_t k = 0;
	time_t last = f->last;

	for (size_t r = 0; r < rows; r++) {
		if (ts[r] <= last) {
			if (ts[r] == last)
				st->skipped_same_second++;
			else
				st->skipped_clock_back++;
			continue;
		}
		last = ts[r];
		if (k != r) {
			ts[k] = ts[r];
			memmove(values + k * n, values + r * n, n * sizeof(*values));
		}
		k++;
	}
	return k;
}

int rrd_store_update(struct rrd_store *s, struct rrd_file *f, struct rrd_store_stats *st,
		     const char *const *ds, size_t n, double *values, time_t *ts, size_t rows)
{
	int ret;

	if (n == 0 || n > RRD_MAX_DS || rows > RRD_MAX_ROWS)
		return -EINVAL;
	if (rows == 0)
		return 0;
	if (f->retry_at > (double)ts[rows - 1])
		return -EAGAIN;
	if (!f->ready && (ret = make_ready(s, st, f, ds, n, ts[0])) < 0)
		return fail(st, f, ret, "create", ts[rows - 1]);
	rows = keep_newer(st, f, n, values, ts, rows);
	if (rows == 0)
		return 1;
	ret = write_rows(s, f, n, values, ts, rows);
	if (ret == -EIO && strstr(rrd_err(), "illegal attempt to update")) {
		/* Someone else (rrdcached's queue, a restart) already wrote these seconds. */
		st->skipped_same_second += rows;
		f->last = ts[rows - 1];
		return 1;
	}
	if (ret < 0) {
		/* An unreadable file is quarantined and made again on the next update. */
		if (!s->daemon[0] && access(f->path, F_OK) == 0 && rrd_last_r(f->path) <= 0) {
			quarantine(s, st, f, ts[rows - 1]);
			f->ready = false;
		} else if (!s->daemon[0] && access(f->path, F_OK) < 0) {
			f->ready = false; /* removed (expired): made again */
		}
		return fail(st, f, ret, "update", ts[rows - 1]);
	}
	if (f->failing)
		log_info("collector: RRD file %s is written again", f->path);
	f->failing = false;
	f->last = ts[rows - 1];
	st->updates += rows;
	return 0;
}

int rrd_store_fetch(struct rrd_store *s, const char *path, const char *cf, time_t *start,
		    time_t *end, unsigned long *step, unsigned long *n_ds, char ***names,
		    double **data)
{
	rrd_value_t *d = NULL;

	if (access(path, F_OK) < 0)
		return -ENOENT;
	if (s->daemon[0] && rrdc_connect(s->daemon) == 0)
		rrdc_flush(path);
	rrd_clear_error();
	if (rrd_fetch_r(path, cf, start, end, step, n_ds, names, &d) != 0)
		return -EIO;
	*data = d;
	return 0;
}

void rrd_store_free_names(char **names, unsigned long n)
{
	if (!names)
		return;
	for (unsigned long i = 0; i < n; i++)
		rrd_freemem(names[i]);
	rrd_freemem(names);
}

struct rrd_entry {
	char path[640];
	time_t mtime;
	off_t size;
};

static int by_mtime(const void *a, const void *b)
{
	const struct rrd_entry *x = a, *y = b;

	return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

/* Appends the .rrd files of DIR/<cluster>/ to *v. */
static int scan(const char *dir, struct rrd_entry **v, size_t *n, size_t *cap)
{
	DIR *top = opendir(dir);
	struct dirent *c;

	if (!top)
		return -errno;
	while ((c = readdir(top))) {
		char sub[640];
		DIR *d;
		struct dirent *e;
		if (c->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, c->d_name);
		d = opendir(sub);
		if (!d)
			continue;
		while ((e = readdir(d))) {
			struct stat st;
			size_t len = strlen(e->d_name);
			if (len < 5 || strcmp(e->d_name + len - 4, ".rrd") != 0)
				continue;
			if (*n == *cap) {
				size_t nc = *cap ? *cap * 2 : 64;
				struct rrd_entry *nv = realloc(*v, nc * sizeof(**v));
				if (!nv)
					break;
				*v = nv;
				*cap = nc;
			}
			snprintf((*v)[*n].path, sizeof((*v)[*n].path), "%s/%s", sub, e->d_name);
			if (stat((*v)[*n].path, &st) < 0)
				continue;
			(*v)[*n].mtime = st.st_mtime;
			(*v)[*n].size = st.st_size;
			(*n)++;
		}
		closedir(d);
	}
	closedir(top);
	return 0;
}

int rrd_store_expire(struct rrd_store *s, time_t now, struct rrd_store_stats *st)
{
	struct rrd_entry *v = NULL;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	int removed = 0;

	if (scan(s->dir, &v, &n, &cap) < 0)
		return 0;
	if (n)
		qsort(v, n, sizeof(*v), by_mtime);
	for (size_t i = 0; i < n; i++)
		total += (uint64_t)v[i].size;
	for (size_t i = 0; i < n; i++) {
		bool old = now - v[i].mtime > RETENTION_SECONDS;
		bool over = s->max_bytes && total > s->max_bytes && now - v[i].mtime > 3600;
		if (!old && !over)
			continue;
		if (unlink(v[i].path) == 0) {
			log_info("collector: removed RRD file %s (%s)", v[i].path,
				 old ? "past retention" : "over rrd_max_bytes");
			total -= (uint64_t)v[i].size;
			removed++;
		}
	}
	free(v);
	s->disk_bytes = st->bytes = total;
	st->removed += (uint64_t)removed;
	return removed;
}
