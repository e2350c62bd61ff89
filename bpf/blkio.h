/* SPDX-License-Identifier: MIT */
/* blkio.h: block I/O bytes and latency per cgroup (shared with the loader). */
#ifndef BERTH_BLKIO_H
#define BERTH_BLKIO_H

/* Slot i counts request latencies in [2^i, 2^(i+1)) microseconds (slot 0 also holds 0). */
#define BLK_SLOTS 32

struct blk_stats {
	unsigned long long read_bytes, write_bytes, reads, writes;
	unsigned long long slots[BLK_SLOTS];
	unsigned long long count, sum_ns;
};

#endif
