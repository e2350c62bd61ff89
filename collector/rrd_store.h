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

struct rrd_store {
	char dir[512];
	char daemon[256];             /* rrdcached address, "" = write files directly */
	unsigned long step;           /* seconds */
	uint64_t max_bytes;           /* 0 = no cap */
	struct rrd_store_stats stats;
	char *lines;                  /* scratch for update lines, made once */
};

/* One file as its owner knows it; caller-owned, zeroed before the first update. */
struct rrd_file {
	char path[640];
	time_t last;                  /* last update written, 0 until known */
	double retry_at;              /* after an error: not tried before then */
	bool ready;                   /* checked or created */
	bool failing;                 /* an error was logged and not yet cleared */
};

/* Sets up s (creates dir). daemon may be NULL or "". Returns 0 or -errno (logged). */
int rrd_store_init(struct rrd_store *s, const char *dir, const char *daemon, unsigned long step,
		   uint64_t max_bytes);
/* Frees the scratch and disconnects from rrdcached; idempotent. */
void rrd_store_close(struct rrd_store *s);

/* Sets f->path for a kind ("task", "service" or "cluster"), cluster and name (NULL for the
 * cluster). Returns 0 or -ENAMETOOLONG. */
int rrd_store_path(const struct rrd_store *s, struct rrd_file *f, const char *kind,
		   const char *cluster, const char *name);

/* Writes rows (at most RRD_MAX_ROWS) of the n data sources ds[]: values[r * n + i] (NaN =
 * unknown) at ts[r], increasing, in one librrd call (one open of the file) or one rrdcached
 * command; creates the file on first use. values and ts are reordered in place. Returns 0, 1
 * when every row was skipped (same second or clock back, counted), or -errno (counted, logged
 * once per failing period, then nothing tried for a minute). */
int rrd_store_update(struct rrd_store *s, struct rrd_file *f, const char *const *ds, size_t n,
		     double *values, time_t *ts, size_t rows);

/* Fetches consolidation cf ("AVERAGE", "MIN", "MAX") of path between *start and *end at the
 * coarsest archive that has resolution <= *step. On success *data is malloc'd, rows x *n_ds
 * values (the caller frees it and *names with rrd_store_free_names); *start, *end, *step are
 * updated. Flushes rrdcached first. Returns 0 or -errno (not logged). */
int rrd_store_fetch(struct rrd_store *s, const char *path, const char *cf, time_t *start,
		    time_t *end, unsigned long *step, unsigned long *n_ds, char ***names,
		    double **data);
void rrd_store_free_names(char **names, unsigned long n);

/* Removes files not updated for the longest retention (455 days) and, while the total exceeds
 * max_bytes, the least recently updated files that have not been written for an hour. Updates
 * stats.bytes. Returns the number of files removed. */
int rrd_store_expire(struct rrd_store *s, time_t now);

#endif
