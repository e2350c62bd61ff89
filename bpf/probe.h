/* SPDX-License-Identifier: MIT */
/* probe.h: whether this host lets berthd load the eBPF programs its probes need. */
#ifndef BERTH_BPF_PROBE_H
#define BERTH_BPF_PROBE_H

#include <stdbool.h>
#include <stddef.h>

/* Loads trivial programs of the types berth uses (cgroup_skb, tracepoint) and checks for BTF.
 * Returns true when all load; otherwise false and a sentence saying what is missing in reason. */
bool bpf_probe_available(char *reason, size_t len);

#endif
