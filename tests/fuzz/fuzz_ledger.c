/* SPDX-License-Identifier: MIT */
/* fuzz_ledger.c: bytes -> ledger_rec_parse() line by line; what parses formats back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/ledger.h"

static void one(const uint8_t *data, size_t len)
{
	char *copy = malloc(len + 1), out[LEDGER_LINE_MAX + 16];
	struct ledger_rec r;
	int n;

	if (!copy)
		return;
	memcpy(copy, data, len);
	copy[len] = '\0';
	if (ledger_rec_parse(copy, len, &r) == 0) {
		char *tags = r.tags ? strndup(r.tags, r.tags_len) : NULL;
		if (r.kind == 'T') {
			if (!tags)
				__builtin_trap();
			r.tags = tags;
		}
		n = ledger_rec_format(&r, out, sizeof(out));
		/* A valid record formats to a line that parses to the same record. */
		if (n <= 0 || out[n - 1] != '\n')
			__builtin_trap();
		struct ledger_rec again;
		if (ledger_rec_parse(out, (size_t)n - 1, &again) != 0 || again.kind != r.kind ||
		    again.hour != r.hour || again.from != r.from || again.to != r.to ||
		    again.cpu_us != r.cpu_us)
			__builtin_trap();
		free(tags);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t start = 0;

	if (size > 1 << 20)
		return 0;
	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			one(data + start, i - start);
			start = i + 1;
		}
	}
	return 0;
}
