/* SPDX-License-Identifier: MIT */
/* probe.c: asks the kernel (through libbpf) whether berth's program types can be loaded. */
#include "bpf/probe.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

bool bpf_probe_available(char *reason, size_t len)
{
	static const struct { enum bpf_prog_type type; const char *name; } need[] = {
		{ BPF_PROG_TYPE_CGROUP_SKB, "cgroup_skb" },
		{ BPF_PROG_TYPE_TRACEPOINT, "tracepoint" },
	};
	libbpf_print_fn_t old = libbpf_set_print(quiet);
	bool ok = true;

	snprintf(reason, len, "eBPF programs load");
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]) && ok; i++) {
		int r = libbpf_probe_bpf_prog_type(need[i].type, NULL);
		if (r == 1)
			continue;
		ok = false;
		snprintf(reason, len, "the kernel refuses %s programs: %s", need[i].name,
			 r == 0 ? "not supported" : strerror(-r));
	}
	if (ok && access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		ok = false;
		snprintf(reason, len, "no kernel BTF at /sys/kernel/btf/vmlinux");
	}
	libbpf_set_print(old);
	return ok;
}
