/* SPDX-License-Identifier: MIT */
/* cgroup_parse.c: parsers of cgroup interface files: flat-keyed, single values, cpu.max. */
#include "runtime/cgroup_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#define V1_UNLIMITED     (1ULL << 62) /* v1 page counters read about LONG_MAX when unlimited */

/* ---- parsers ---- */

/* Parses the decimal digits in [s, end), allowing trailing whitespace. */
static int parse_u64(const char *s, const char *end, uint64_t *val)
{
	uint64_t v = 0;

	if (s >= end || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; s < end && isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	while (s < end && isspace((unsigned char)*s))
		s++;
	if (s != end)
		return -EINVAL;
	*val = v;
	return 0;
}

int cgroup_parse_keyed(const char *text, const char *key, uint64_t *val)
{
	size_t klen;
	const char *line = text;

	if (!text || !key || !(klen = strlen(key)))
		return -EINVAL;
	while (*line) {
		const char *eol = strchrnul(line, '\n');
		if ((size_t)(eol - line) > klen && strncmp(line, key, klen) == 0 &&
		    line[klen] == ' ')
			return parse_u64(line + klen + 1, eol, val);
		line = *eol ? eol + 1 : eol;
	}
	return -ENOENT;
}

int cgroup_parse_value(const char *text, uint64_t *val)
{
	const char *end;
	int r;

	if (!text)
		return -EINVAL;
	while (isspace((unsigned char)*text))
		text++;
	end = text + strlen(text);
	while (end > text && isspace((unsigned char)end[-1]))
		end--;
	if ((end - text == 3 && strncmp(text, "max", 3) == 0) ||
	    (end - text == 2 && strncmp(text, "-1", 2) == 0)) {
		*val = 0;
		return 0;
	}
	r = parse_u64(text, end, val);
	if (r == 0 && *val >= V1_UNLIMITED)
		*val = 0;
	return r;
}

int cgroup_parse_cpu_max(const char *text, uint64_t *quota, uint64_t *period)
{
	const char *sp;
	uint64_t q = 0, p;

	if (!text || !(sp = strchr(text, ' ')))
		return -EINVAL;
	if (!(sp - text == 3 && strncmp(text, "max", 3) == 0) && parse_u64(text, sp, &q) < 0)
		return -EINVAL;
	if (parse_u64(sp + 1, sp + 1 + strlen(sp + 1), &p) < 0 || p == 0)
		return -EINVAL;
	*quota = q;
	*period = p;
	return 0;
}
