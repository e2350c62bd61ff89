/* SPDX-License-Identifier: MIT */
/* netstat.h: what netstat.bpf.c counts per cgroup (shared with the loader). */
#ifndef BERTH_NETSTAT_H
#define BERTH_NETSTAT_H

struct net_stats {
	unsigned long long rx_bytes, rx_packets;
	unsigned long long tx_bytes, tx_packets;
};

#endif
