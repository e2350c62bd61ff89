// SPDX-License-Identifier: GPL-2.0 OR MIT
/* netstat.bpf.c: cgroup_skb ingress/egress programs counting bytes and packets per cgroup. */
#include "common.bpf.h"
#include "netstat.h"

/* Entries are made (zeroed) by the loader for the cgroups it follows, removed when they go:
 * the programs only add to existing ones, so the map holds berth's cgroups and nothing else. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct net_stats);
} net_stats SEC(".maps");

SEC("cgroup_skb/ingress")
int berth_net_ingress(struct __sk_buff *skb)
{
	__u64 id = bpf_skb_cgroup_id(skb);
	struct net_stats *s = bpf_map_lookup_elem(&net_stats, &id);

	if (s) {
		s->rx_bytes += skb->len;
		s->rx_packets += 1;
	}
	return 1;
}

SEC("cgroup_skb/egress")
int berth_net_egress(struct __sk_buff *skb)
{
	__u64 id = bpf_skb_cgroup_id(skb);
	struct net_stats *s = bpf_map_lookup_elem(&net_stats, &id);

	if (s) {
		s->tx_bytes += skb->len;
		s->tx_packets += 1;
	}
	return 1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
