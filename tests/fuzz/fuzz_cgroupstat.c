/* SPDX-License-Identifier: MIT */
/* fuzz_cgroupstat.c: arbitrary text as every cgroup statistics file the collector parses (the
 * first byte picks the file kind, or all kinds when it is not a valid kind). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector/cgstat.h"

static void parse_one(enum cgstat_file kind, const char *text)
{
	struct cgstat s = { 0 };

	if (cgstat_parse(kind, text, &s) == 0 && !(s.have & (1u << kind)))
		abort();
	cgstat_finish(&s);
	if (s.mem_working_set > s.mem_usage)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size == 0)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] < CGSTAT_FILE_COUNT) {
		parse_one((enum cgstat_file)data[0], text);
	} else {
		for (int k = 0; k < CGSTAT_FILE_COUNT; k++)
			parse_one((enum cgstat_file)k, text);
	}
	free(text);
	return 0;
}
