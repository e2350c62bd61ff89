/* SPDX-License-Identifier: MIT */
/* fuzz_billing_query.c: bytes -> billing_query_parse() (a report's query string) and
 * price_book_parse() (a price file). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/billing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct billing_query q;
	struct price_book b;
	char err[512], *copy;

	if (size > 1 << 16)
		return 0;
	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if (billing_query_parse(copy, 1793491200.0, &q, err, sizeof(err)) == 0) {
		if (q.start >= q.end || (q.group == BILL_TAG && !q.tag[0]))
			__builtin_trap();
	} else if (!err[0]) {
		__builtin_trap();
	}
	price_book_defaults(&b);
	if (price_book_parse(&b, copy, size, err, sizeof(err)) == 0) {
		if (b.n < 1 || b.n > PRICE_MAX_SHEETS)
			__builtin_trap();
		for (size_t i = 1; i < b.n; i++)
			if (b.sheets[i].effective <= b.sheets[i - 1].effective)
				__builtin_trap();
	}
	free(copy);
	return 0;
}
