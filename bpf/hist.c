/* SPDX-License-Identifier: MIT */
/* hist.c: log2 latency histograms - bucket bounds, quantiles and deltas. */
#include "bpf/bpf.h"

#include <math.h>

double bpf_hist_upper(int slot)
{
	if (slot >= BPF_HIST_SLOTS - 1)
		return INFINITY;
	return ldexp(1.0, slot + 1) / 1e6;
}

static double lower(size_t slot)
{
	return slot == 0 ? 0.0 : ldexp(1.0, (int)slot) / 1e6;
}

double bpf_hist_quantile(const uint64_t *slots, size_t n, double q)
{
	uint64_t total = 0, seen = 0;
	double rank;

	for (size_t i = 0; i < n; i++)
		total += slots[i];
	if (!total || q <= 0 || q > 1)
		return NAN;
	rank = q * (double)total;
	for (size_t i = 0; i < n; i++) {
		double lo, hi;
		if (!slots[i] || (double)(seen + slots[i]) < rank) {
			seen += slots[i];
			continue;
		}
		lo = lower(i);
		if (i + 1 >= n || i >= BPF_HIST_SLOTS - 1)
			return lo;
		hi = bpf_hist_upper((int)i);
		return lo + (hi - lo) * ((rank - (double)seen) / (double)slots[i]);
	}
	return lower(n - 1);
}

void bpf_hist_delta(const uint64_t *a, const uint64_t *b, uint64_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] = a[i] >= b[i] ? a[i] - b[i] : a[i];
}
