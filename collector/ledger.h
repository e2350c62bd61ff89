/* SPDX-License-Identifier: MIT */
/* ledger.h: the usage ledger - per-task reserved and used resources, hour by hour, in
 * append-only monthly segments under DATA_DIR/ledger (gzip once the month is over). */
#ifndef BERTH_COLLECTOR_LEDGER_H
#define BERTH_COLLECTOR_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "collector/prices.h"

/*
 * A segment is a text file of lines, one record each, fields separated by TAB, the last field
 * "*" and the CRC-32 (8 hex digits) of the bytes before that field's TAB:
 *
 *   H  berth-ledger  1  <written at>                                          header
 *   T  <task> <cluster> <service> <family> <revision> <arch> <spot 0|1>
 *      <cpu units> <memory MiB> <storage GiB beyond 20> <start> <tags JSON>    task attributes
 *   R  <task> <hour> <from> <to> <cpu µs> <memory MiB-s> <net bytes|-> <storage bytes>
 *      <final 0|1>                                                             one task-hour
 *   S  <repository> <hour> <byte-seconds>                                      image storage
 *
 * An R record covers the reserved seconds [hour+from, hour+to) of one UTC hour of one task
 * (from < to <= 3600) and what the task used in them; it is written once, when the hour is
 * over or the task is billed to its end (final = 1), so (task, hour) is its key and a reader
 * keeps the first of duplicates. T records repeat in every segment that has R records of the
 * task. S records are the place for image storage (GB-month) once a registry keeps images;
 * nothing writes them yet and reports price them at zero.
 */
#define LEDGER_LINE_MAX 65536
#define LEDGER_TAGS_MAX 32768

struct ledger_task_attrs {
	char id[40];
	char cluster[256];
	char service[256];            /* "" for a task outside a service */
	char family[256];
	int revision;
	enum price_arch arch;
	bool spot;
	int cpu_units;                /* 1024 = 1 vCPU */
	int mem_mib;
	int storage_gib;              /* ephemeral storage beyond 20 GiB */
	int64_t start;                /* unix second billing starts */
};

struct ledger_rec {
	char kind;                    /* 'H', 'T', 'R', 'S' */
	struct ledger_task_attrs t;   /* T */
	const char *tags;             /* T: JSON object text, into the parsed line */
	size_t tags_len;
	char task[40];                /* R */
	int64_t hour;                 /* R, S: start of the UTC hour */
	int from, to;                 /* R: seconds into the hour */
	uint64_t cpu_us, mem_mib_s, net_bytes, io_bytes;
	bool have_net, final;
	char repo[256];               /* S */
	uint64_t byte_seconds;        /* S */
	int64_t written;              /* H */
	int version;                  /* H */
	uint32_t ref;                 /* T, R read through an index: 1 + the ordinal of the task
				       * id in the segment's index (stable within one segment), 0
				       * when unknown */
};

/* Parses one line (without its newline; it is modified) into r; tags point into line.
 * Returns 0, or -EINVAL when the line is malformed or its checksum does not match. */
int ledger_rec_parse(char *line, size_t len, struct ledger_rec *r);
/* Formats r as one line with its newline into out; the length, or -ENOSPC / -EINVAL. Tab and
 * newline characters in names are replaced by '_'. */
int ledger_rec_format(const struct ledger_rec *r, char *out, size_t len);

/* What a reader found wrong in the segments it read. */
struct ledger_health {
	uint64_t corrupt_records;     /* lines that did not parse or failed their checksum */
	uint64_t truncated_segments;  /* gzip segments that ended early or did not inflate */
	uint64_t duplicate_records;   /* R records already seen for their task and hour */
	char last_error[320];
};

/* Reads a segment (plain or gzip, by content) line by line from decompressed byte offset
 * `from`, calling fn for every valid record; bad lines and a truncated end are counted in h
 * (and logged once per segment). fn returns 0 to go on, anything else stops the read.
 * *end_offset (may be NULL) gets the decompressed offset after the last full line.
 * Returns 0, -errno when the file cannot be opened, or fn's value. */
int ledger_segment_read(const char *path, uint64_t from, struct ledger_health *h,
			int (*fn)(void *ctx, const struct ledger_rec *r), void *ctx,
			uint64_t *end_offset);

/*
 * The index of a segment, YYYY-MM.ledger.idx: its records in compact binary blocks, each
 * covering a range of the segment's text and what reading that range found wrong; a closed
 * segment's index ends in a seal naming the compressed file it matches. It is derived from the
 * text, checked against it (the inode and size of a plain segment, the size and gzip trailer
 * of a compressed one, a CRC-32 per block) and rebuilt from it when it does not match.
 */
/* Reads month's segment (gz: the compressed one) like ledger_segment_read from offset 0,
 * through its index: the blocks that match, then the text after them, which is added to the
 * index as a new block (so the next read finds it there). Falls back to the text alone when
 * the index cannot be used. Records carry ref. 0, -errno, or fn's value. */
int ledger_segment_scan(const char *dir, int month, bool gz, struct ledger_health *h,
			int (*fn)(void *ctx, const struct ledger_rec *r), void *ctx);
/* Completes the index of month's plain segment, to be sealed for its .gz by
 * ledger_index_seal once that is written (both before the plain file is removed). */
int ledger_index_seal(const char *dir, int month);
void ledger_index_path(const char *dir, int month, char *out, size_t len);
/* Decodes an index image from memory (the records blocks; check_crc false skips the block
 * checksums, for fuzzing), calling fn per record. 0, -EINVAL at the first damage (the blocks
 * before it were delivered), or fn's value. *covered (may be NULL): the text offset reached. */
int ledger_index_parse(const void *img, size_t len, bool check_crc,
		       int (*fn)(void *ctx, const struct ledger_rec *r), void *ctx,
		       struct ledger_health *h, uint64_t *covered);

/* Segment names: "YYYY-MM.ledger" and "YYYY-MM.ledger.gz"; month index = year * 12 + mon. */
int ledger_month_of(int64_t t);
int64_t ledger_month_start(int month);
void ledger_segment_path(const char *dir, int month, bool gz, char *out, size_t len);
/* Month indexes of the segments in dir, ascending, into *out (malloc'd, caller frees);
 * *gz (malloc'd) tells which are compressed. 0 or -errno. */
int ledger_segments_list(const char *dir, int **out, bool **gz, size_t *n);
/* Compresses the plain segment of month into its .gz durably and removes the plain file; the
 * segment's index is completed first and sealed for the .gz (or removed, to be rebuilt from
 * it). 0 or -errno (the plain file is then kept). */
int ledger_segment_compress(const char *dir, int month);

/* ---- accrual ---------------------------------------------------------------------------- */

/* What the daemon knows of a task at a cycle. */
struct ledger_task_info {
	struct ledger_task_attrs a;
	const char *tags_json;        /* compact JSON object of its tags, or NULL */
	bool stopped;                 /* STOPPED: billed to `end` */
	double created_at, stopped_at;
	bool have_usage;              /* the collector sampled it this cycle */
	uint64_t cpu_ns;              /* cumulative CPU time of its containers */
	uint64_t io_bytes;            /* cumulative storage read + write bytes */
	uint64_t net_bytes;           /* cumulative network bytes, when have_net */
	bool have_net;
	double mem_bytes;             /* working set now */
};

struct ledger_open;

/* Running totals since start, for /metrics, per cluster/service/family. */
struct ledger_total {
	char cluster[256], service[256], family[256];
	int64_t reserved_pico, used_pico;
	int64_t cpu_unit_seconds, mib_seconds;
	struct ledger_total *next;
};

#define LEDGER_HASH 4096

/* What the last full read of one segment found (for /metrics and /v1/billing/ledger). */
struct ledger_seg_health {
	int month;
	uint64_t corrupt_records;
	bool truncated;
};

struct ledger {
	bool opened;                  /* ledger_init succeeded */
	char dir[512];
	struct price_book prices;
	unsigned interval;            /* collect interval, seconds */
	unsigned checkpoint_interval; /* seconds between checkpoints of the open hours */
	int retention_months;
	int month;                    /* month of the open segment */
	int fd;                       /* open segment, O_APPEND */
	uint64_t offset;              /* its size */
	bool dirty;                   /* records written since the last fsync */
	struct ledger_open *hash[LEDGER_HASH];
	size_t n_open;
	struct ledger_total *totals;
	struct ledger_seg_health *seg_health;
	size_t n_seg_health;
	char last_error[320];
	uint64_t records_written, write_errors, checkpoints;
	double last_checkpoint;       /* when the checkpoint was last written, 0 never */
	double last_observe;          /* ledger_observe's last cycle, 0 never */
	char *ck;                     /* the checkpoint's text, rebuilt in place each time */
	size_t ck_len, ck_cap;
	char line[LEDGER_LINE_MAX];
};

/* Opens the ledger in dir (created): compresses plain segments of past months, drops
 * segments older than retention_months, restores the open accruals from the checkpoint and
 * the segment records written after it (so a replay never counts an hour twice), and opens
 * this month's segment. interval is the collect interval, checkpoint_interval the seconds
 * between checkpoints (0: every cycle). prices is copied. 0 or -errno (logged); on error
 * nothing is open. */
int ledger_init(struct ledger *l, const char *dir, const struct price_book *prices,
		unsigned interval, unsigned checkpoint_interval, int retention_months, double now);
/* Writes the checkpoint and closes; idempotent (a zeroed ledger is fine). */
void ledger_close(struct ledger *l, double now);

/* Accrues one task up to now (a cycle): reserved seconds from its start to now, or to its
 * billed end once stopped (rounded up to the second, 60 s minimum), and its use since the last
 * cycle. Hours that end are appended to the segment. */
void ledger_task_update(struct ledger *l, const struct ledger_task_info *ti, double now);
/* Ends a cycle: tasks not updated since the last end are closed at what they accrued, the
 * segment is fsync'd, and the checkpoint of open hours is written when checkpoint_interval has
 * passed since the last one or when the cycle appended records (so the checkpoint is never
 * older than a record: a restart needs no replay of hours that ended after it). Between
 * checkpoints nothing is lost to a crash: the restored counters take the CPU, I/O and network
 * use since from the cgroups' cumulative counters, and the memory-seconds of the gap are
 * accrued at the level last seen (up to checkpoint_interval + 3 collect intervals). Rotates
 * the segment at a month change. */
void ledger_cycle_end(struct ledger *l, double now);
/* The open hours as the checkpoint would hold them now (the same JSON text), for reports made
 * while berthd runs; malloc'd (caller frees), NULL when out of memory. */
char *ledger_open_text(struct ledger *l);

/* Records what a full read of month's segment found (replacing the previous finding). */
void ledger_note_health(struct ledger *l, int month, const struct ledger_health *h);
/* Corrupt records and damaged segments over all segments read so far. */
void ledger_health_sum(const struct ledger *l, uint64_t *corrupt, uint64_t *damaged);

/* Reserved cost in pico-dollars of a task's seconds [from, to), split where a price sheet
 * takes effect: cpu, memory and extra storage. */
void ledger_reserved_pico(const struct price_book *b, const struct ledger_task_attrs *a,
			  int64_t from, int64_t to, int64_t *cpu, int64_t *mem, int64_t *sto);

struct collector;
struct config;

/* Seconds between the daemon's ledger cycles at least: a shorter collect interval samples the
 * use of tasks at this interval (at 1000 tasks, every cycle of 1 s cost ~0.3% of a core). */
#define LEDGER_MIN_INTERVAL 5

/* Opens the ledger of a daemon: DATA_DIR/ledger, the price file cfg->price_sheet (or the list
 * prices), cfg->collect_interval (at least LEDGER_MIN_INTERVAL), cfg->ledger_checkpoint_interval
 * and cfg->ledger_retention_months. 0 or -errno (logged). */
int ledger_open_config(struct ledger *l, const struct config *cfg, double now);
/* The collector_on_cycle observer (ctx is the ledger): once the ledger's interval has passed
 * since its last cycle, feeds every task of the runtime, with the use the collector sampled,
 * and ends the cycle. */
void ledger_observe(void *ctx, struct collector *c, double now);

/* Appends the Prometheus exposition of the billing counters to a new buffer (caller frees);
 * NULL on allocation failure. */
char *ledger_prometheus(const struct ledger *l, size_t *len);

#endif
