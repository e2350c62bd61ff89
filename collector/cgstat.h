/* SPDX-License-Identifier: MIT */
/* cgstat.h: one cgroup's statistics - parsers of cgroupfs files and a reader that keeps them open. */
#ifndef BERTH_COLLECTOR_CGSTAT_H
#define BERTH_COLLECTOR_CGSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/cgroup.h"

/* The files the collector reads; the same enum names v2 and v1 files (see cgstat.c). */
enum cgstat_file {
	CGSTAT_CPU_STAT,        /* v2 cpu.stat (usage + throttling), v1 cpu.stat (throttling) */
	CGSTAT_CPUACCT_USAGE,   /* v1 cpuacct.usage (ns) */
	CGSTAT_CPUACCT_STAT,    /* v1 cpuacct.stat (user/system, USER_HZ) */
	CGSTAT_MEM_CURRENT,     /* v2 memory.current, v1 memory.usage_in_bytes */
	CGSTAT_MEM_STAT,        /* memory.stat, v2 or v1 keys */
	CGSTAT_MEM_EVENTS,      /* v2 memory.events, v1 memory.oom_control */
	CGSTAT_MEM_FAILCNT,     /* v1 memory.failcnt (v2: memory.events max) */
	CGSTAT_IO_STAT,         /* v2 io.stat */
	CGSTAT_BLKIO_BYTES,     /* v1 blkio.throttle.io_service_bytes_recursive */
	CGSTAT_BLKIO_OPS,       /* v1 blkio.throttle.io_serviced_recursive */
	CGSTAT_PIDS_CURRENT,    /* pids.current */
	CGSTAT_CPU_PRESSURE,    /* cpu.pressure (PSI, cgroup2 tree) */
	CGSTAT_MEM_PRESSURE,
	CGSTAT_IO_PRESSURE,
	CGSTAT_FILE_COUNT,
};

/* PSI of one resource: "some" and "full" lines. */
struct cgstat_psi {
	double some_avg10, full_avg10;     /* percent */
	uint64_t some_total_us, full_total_us;
};

/* One reading of a cgroup. Counters are cumulative since the cgroup was made. */
struct cgstat {
	uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
	uint64_t cpu_periods, cpu_throttled_periods, cpu_throttled_ns;
	uint64_t mem_usage, mem_working_set, mem_anon, mem_file, mem_inactive_file;
	uint64_t mem_failcnt, mem_oom_events;
	uint64_t io_read_bytes, io_write_bytes, io_read_ops, io_write_ops;
	uint64_t pids_current;
	struct cgstat_psi psi_cpu, psi_mem, psi_io;
	unsigned have;                     /* bit (1u << enum cgstat_file) per file read */
	bool v1_mem;                       /* memory.stat had v1 keys */
};

/* Parses the text of file kind into s (fields of other files untouched), setting its bit in
 * s->have. Unknown keys and lines are ignored; missing keys leave fields as they were.
 * Returns 0, or -EINVAL when the text is not in the file's format. Does not log. */
int cgstat_parse(enum cgstat_file kind, const char *text, struct cgstat *s);

/* Derived values once every file is parsed: working set = usage - inactive file (0 floor). */
void cgstat_finish(struct cgstat *s);

/* The open files of one cgroup; caller-owned, cgstat_reader_init() before first use. */
struct cgstat_reader {
	int fd[CGSTAT_FILE_COUNT];         /* -1 when the file does not exist */
	bool gone;                         /* the cgroup disappeared: nothing more is read */
};

/* Opens the files of cgroup rel that exist on this host (v2: the cgroup2 tree; hybrid: v1
 * controllers plus PSI from the unified tree; v1: controllers only). Missing files are skipped.
 * Returns 0, or -ENOENT when the cgroup does not exist (nothing left open). Does not log. */
int cgstat_reader_open(struct cgstat_reader *r, const struct cgroup_env *env, const char *rel);

/* The files read every cycle: CPU usage, memory usage, I/O bytes. */
#define CGSTAT_FAST ((1u << CGSTAT_CPU_STAT) | (1u << CGSTAT_CPUACCT_USAGE) | \
		     (1u << CGSTAT_MEM_CURRENT) | (1u << CGSTAT_IO_STAT) | (1u << CGSTAT_BLKIO_BYTES))
#define CGSTAT_ALL ((1u << CGSTAT_FILE_COUNT) - 1)

/* Reads the open files in mask (bits of enum cgstat_file) with pread into buf (size bytes, the
 * caller's scratch, >= 4096) and parses them into *s, whose other fields keep their values (pass
 * the previous reading to refresh only part of it). No allocation. Returns 0; -ENOENT once the
 * cgroup is gone (r->gone set, its files closed, nothing logged); -EINVAL when a file does not
 * parse. */
int cgstat_reader_read(struct cgstat_reader *r, char *buf, size_t size, unsigned mask,
		       struct cgstat *s);

/* Closes the files; idempotent on an initialised reader. */
void cgstat_reader_close(struct cgstat_reader *r);
/* Marks every fd -1. */
void cgstat_reader_init(struct cgstat_reader *r);

/* Switches on v1 blkio byte and operation accounting below the cgroup rel (kernels before 6.3
 * count v1 blkio.throttle.* only under a throttle rule): writes a 1 TiB/s read and write limit
 * for each whole disk in /sys/block. A no-op returning 0 when the io controller is on a cgroup2
 * tree. Returns 0 or -errno (not logged: accounting is best effort). */
int cgstat_enable_io_accounting(const struct cgroup_env *env, const char *rel);

#endif
