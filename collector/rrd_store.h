/* SPDX-License-Identifier: MIT */
/* rrd_store.h: RRD files with CloudWatch's retention, written directly or through rrdcached. */
#ifndef BERTH_COLLECTOR_RRD_STORE_H
#define BERTH_COLLECTOR_RRD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Layout: DIR/<cluster>/task-<task-id>.rrd, DIR/<cluster>/service-<name>.rrd and
 * DIR/<cluster>/cluster.rrd. Every data source is a GAUGE with heartbeat 3 x step, and every file
 * has AVERAGE, MIN and MAX archives of: the raw step for 3 hours, 1 minute for 15 days,
 * 5 minutes for 63 days and 1 hour for 455 days (CloudWatch's tiers).
 *
 * Failures never propagate storms: an update in the same second as the last one, or older than
 * it (clock stepped back), is skipped and counted; a file that librrd cannot read (truncated,
 * zeroed, not an RRD) is renamed to "<name>.corrupt-<unix time>" and created again; other write
 * errors (a full disk) are counted, logged once per file until it works again, and retried one
 * minute later. Past max_bytes no new file is created (-ENOSPC, counted the same way).
 */

struct rrd_store_stats {
	uint64_t updates, created, skipped_same_second, skipped_clock_back;
	uint64_t errors, quarantined, removed;
	uint64_t bytes;               /* total size of the files, from the last scan */
};

#define RRD_MAX_DS 64
#define RRD_MAX_ROWS 960          /* rows per rrd_store_update call */
#define RRD_DS_NAME 20            /* librrd's longest data source name, NUL included */
#define RRD_QUEUE_BYTES (2u << 20)/* rows waiting for the worker, at most (one job over) */

struct rrd_job;
struct rrd_worker;
struct loop;

struct rrd_store {
	char dir[512];
	char daemon[256];             /* rrdcached address, "" = write files directly */
	unsigned long step;           /* seconds */
	uint64_t max_bytes;           /* 0 = no cap */
	struct rrd_store_stats stats; /* the loop's: jobs' counts added as they come back */
	size_t queue_bytes;           /* the bound of the worker's queue (RRD_QUEUE_BYTES) */
	size_t queued_bytes;          /* the loop's: jobs handed over and not back yet */
	size_t queued_jobs;
	/* The worker's (the caller's without a worker): */
	char *lines;                  /* scratch for update lines, made once */
	uint64_t disk_bytes;          /* the files' size: the last scan plus files made since */
	struct rrd_worker *worker;    /* NULL: jobs run in the caller, as submitted */
};

/* One file as its owner knows it; caller-owned, zeroed before the first update. */
struct rrd_file {
	char path[640];
	time_t last;                  /* last update written, 0 until known */
	double retry_at;              /* after an error: not tried before then */
	bool ready;                   /* checked or created */
	bool failing;                 /* an error was logged and not yet cleared */
	struct rrd_job *job;          /* the owner's: its write handed to the worker, not back yet */
};

/*
 * The worker: one thread that runs every librrd (or rrdcached) call of the write path - a file's
 * check, creation, quarantine and update, and the expiry scan - so that none holds the event
 * loop (making a file at a 1 s step writes ~17 MB in one call). The loop copies the rows of a
 * file into a job (rrd_job_new), submits it, and gets it back, run, in done(ctx, job) from the
 * loop (an eventfd): job->file holds the file's new state and job->stats what the run counted,
 * for the loop to apply; the worker touches nothing but its jobs, the scratch and disk_bytes.
 * Jobs run in order (urgent ones first). The queue holds at most queue_bytes of rows: a job
 * that does not fit is refused (the caller keeps the rows and tries again when one is back).
 */
struct rrd_job {
	struct rrd_job *next;
	struct rrd_file file;         /* the owner's file when queued; its state after the run */
	struct rrd_store_stats stats; /* counted by the run; bytes = the files' size after it */
	int ret;                      /* rrd_store_update's, or the files rrd_store_expire removed */
	bool expire;                  /* rrd_store_expire(now) instead of a write */
	bool done;                    /* the run is over (under the worker's lock) */
	time_t now;
	double cpu_seconds;           /* the worker's CPU time in the run */
	void *owner;                  /* the loop's: whose file this is (NULL once it is gone) */
	size_t n, rows, size;         /* data sources, rows, bytes of the allocation */
	double *values;               /* rows x n */
	time_t *ts;                   /* rows */
	char (*ds)[RRD_DS_NAME];      /* n names */
};

/* A write of rows rows of n data sources (one allocation; the caller fills file, owner, ds,
 * values and ts), or an expiry scan at now (n = 0); NULL when memory runs out. Free with free(). */
struct rrd_job *rrd_job_new(size_t n, size_t rows);

/* Sets up s (creates dir). daemon may be NULL or "". Returns 0 or -errno (logged). */
int rrd_store_init(struct rrd_store *s, const char *dir, const char *daemon, unsigned long step,
		   uint64_t max_bytes);
/* Runs every job submitted, hands them back, stops the worker, frees the scratch and
 * disconnects from rrdcached; idempotent. */
void rrd_store_close(struct rrd_store *s);

/* Sets f->path for a kind ("task", "service" or "cluster"), cluster and name (NULL for the
 * cluster). Returns 0 or -ENAMETOOLONG. */
int rrd_store_path(const struct rrd_store *s, struct rrd_file *f, const char *kind,
		   const char *cluster, const char *name);

/* Starts the worker thread (loop != NULL) that runs submitted jobs and hands each back to
 * done(ctx, job) in the loop's thread; without a loop rrd_store_submit runs a job and hands it
 * back before returning. Returns 0 or -errno (logged; jobs then run in the caller). */
int rrd_store_start(struct rrd_store *s, struct loop *loop,
		    void (*done)(void *ctx, struct rrd_job *j), void *ctx);
/* Whether the worker's queue has no room for more rows. */
bool rrd_store_full(const struct rrd_store *s);
/* Hands j to the worker: urgent ones run before every queued one. Refuses j (false, j still the
 * caller's) when the queue is full, unless force. Once taken, j belongs to the store until done
 * gets it (maybe before this returns). */
bool rrd_store_submit(struct rrd_store *s, struct rrd_job *j, bool force, bool urgent);
/* Moves j, if still queued, to the head of the queue. */
void rrd_store_hurry(struct rrd_store *s, struct rrd_job *j);
/* Blocks until j (NULL: every job submitted) has run, then hands back every job done. */
void rrd_store_wait(struct rrd_store *s, struct rrd_job *j);
/* Holds the worker before its next job (tests: a queue that fills up); close releases it. */
void rrd_store_hold(struct rrd_store *s, bool hold);

/* Writes rows (at most RRD_MAX_ROWS) of the n data sources ds[]: values[r * n + i] (NaN =
 * unknown) at ts[r], increasing, in one librrd call (one open of the file) or one rrdcached
 * command; creates the file on first use; counts into *st. values and ts are reordered in
 * place. Returns 0, 1 when every row was skipped (same second or clock back, counted), or
 * -errno (counted, logged once per failing period, then nothing tried for a minute). The
 * worker's call: it uses the scratch and disk_bytes. */
int rrd_store_update(struct rrd_store *s, struct rrd_file *f, struct rrd_store_stats *st,
		     const char *const *ds, size_t n, double *values, time_t *ts, size_t rows);

/* Fetches consolidation cf ("AVERAGE", "MIN", "MAX") of path between *start and *end at the
 * coarsest archive that has resolution <= *step. On success *data is malloc'd, rows x *n_ds
 * values (the caller frees it and *names with rrd_store_free_names); *start, *end, *step are
 * updated. Flushes rrdcached first. Returns 0 or -errno (not logged). */
int rrd_store_fetch(struct rrd_store *s, const char *path, const char *cf, time_t *start,
		    time_t *end, unsigned long *step, unsigned long *n_ds, char ***names,
		    double **data);
void rrd_store_free_names(char **names, unsigned long n);

/* Removes files not updated for the longest retention (455 days) and, while the total exceeds
 * max_bytes, the least recently updated files that have not been written for an hour. Sets
 * disk_bytes and st->bytes, counts st->removed. Returns the number of files removed. The
 * worker's call (an expiry job). */
int rrd_store_expire(struct rrd_store *s, time_t now, struct rrd_store_stats *st);

#endif
