/* SPDX-License-Identifier: MIT */
/* fuzz_ledger_index.c: bytes -> ledger_index_parse(), with the block checksums checked and
 * skipped (so the decoder itself sees hostile payloads); every record it delivers is sane. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/ledger.h"

static int check(void *ctx, const struct ledger_rec *r)
{
	(void)ctx;
	switch (r->kind) {
	case 'T':
		if (!r->t.id[0] || !r->t.cluster[0] || r->tags_len < 2 || r->tags[0] != '{' ||
		    r->tags[r->tags_len - 1] != '}' || r->t.cpu_units < 0 || r->t.mem_mib < 0 ||
		    r->t.arch >= PRICE_ARCH_COUNT || !r->ref)
			__builtin_trap();
		break;
	case 'R':
		if (!r->task[0] || r->from < 0 || r->to > 3600 || r->to <= r->from ||
		    r->hour % 3600 || r->hour < 0)
			__builtin_trap();
		break;
	case 'S':
		if (!r->repo[0])
			__builtin_trap();
		break;
	default:
		__builtin_trap();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ledger_health h = { 0 };
	uint64_t covered;

	if (size > 4 << 20)
		return 0;
	ledger_index_parse(data, size, true, check, NULL, &h, &covered);
	memset(&h, 0, sizeof(h));
	ledger_index_parse(data, size, false, check, NULL, &h, &covered);
	return 0;
}
