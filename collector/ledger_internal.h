/* SPDX-License-Identifier: MIT */
/* ledger_internal.h: what the ledger's files share - the open accrual of a task. */
#ifndef BERTH_COLLECTOR_LEDGER_INTERNAL_H
#define BERTH_COLLECTOR_LEDGER_INTERNAL_H

#include "collector/ledger.h"

struct ledger_open {
	struct ledger_task_attrs a;
	char *tags;                   /* compact JSON object */
	int64_t end;                  /* billed end once stopped, 0 while running */
	int64_t acc_to;               /* reserved seconds accrued up to here */
	int64_t hour;                 /* the open hour */
	int from;                     /* its first reserved second */
	double cpu_us, mem_mib_s;     /* its use so far */
	uint64_t net, io;
	bool have_net;
	uint64_t cpu_seen, io_seen, net_seen; /* cumulative counters already counted */
	bool have_seen;
	bool base_only;               /* restored: the first sample only sets the counters' base */
	double last_t;                /* time of the last usage sample */
	double last_mib;              /* working set then, MiB */
	bool gap;                     /* restored: the first sample covers the time since last_t */
	bool closed, touched;
	int t_month;                  /* segment holding its T record, -1 none */
	struct ledger_total *total;
	struct ledger_open *next;
};

struct ledger_open *ledger_find(struct ledger *l, const char *id);
/* A new open accrual (hashed) for a, or NULL when memory runs out. */
struct ledger_open *ledger_open_new(struct ledger *l, const struct ledger_task_attrs *a,
				    const char *tags);
void ledger_open_free(struct ledger *l, struct ledger_open *o);
int ledger_segment_open(struct ledger *l, int month, double now);
void ledger_segment_sync(struct ledger *l);
void ledger_maybe_rotate(struct ledger *l, double now);
void ledger_emit_task(struct ledger *l, struct ledger_open *o);
void ledger_emit_hour(struct ledger *l, struct ledger_open *o, int to, bool final);
/* Writes what is left of the open hour as final and marks o closed. */
void ledger_close_out(struct ledger *l, struct ledger_open *o);

#endif
