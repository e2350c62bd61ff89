/* SPDX-License-Identifier: MIT */
/* fuzz_cgroup.c: arbitrary text as memory.events, cgroup.events, memory.oom_control, cpu.max,
 * a limit value and /proc/self/mountinfo. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "runtime/cgroup.h"

#define FUZZ_ROOT "/fuzz/cgroup"

static void fuzz_keyed(const char *text)
{
	static const char *const keys[] = { "oom_kill", "oom", "populated", "frozen",
					    "oom_kill_disable", "under_oom", "usage_usec" };
	uint64_t v;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cgroup_parse_keyed(text, keys[i], &v);
}

static void fuzz_cpu_max(const char *text)
{
	uint64_t quota, period;

	if (cgroup_parse_cpu_max(text, &quota, &period) == 0 && period == 0)
		abort();
}

static void fuzz_mountinfo(const char *text)
{
	struct cgroup_env env;
	char opts[64];

	if (cgroup_mount_options(text, FUZZ_ROOT, opts, sizeof(opts)) == 0 &&
	    strlen(opts) >= sizeof(opts))
		abort();
	if (cgroup_env_from_mountinfo(&env, FUZZ_ROOT, text) != 0)
		return;
	/* Every hierarchy found lies under the root asked for. */
	if (env.unified[0] && strncmp(env.unified, FUZZ_ROOT, strlen(FUZZ_ROOT)) != 0)
		abort();
	for (int c = 0; c < CGROUP_CTRL_COUNT; c++)
		if (env.v1[c][0] && strncmp(env.v1[c], FUZZ_ROOT, strlen(FUZZ_ROOT)) != 0)
			abort();
}

/* The first byte picks the parser ('0'..'3' in the seed corpus), the rest is the file. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	uint64_t v;

	if (size < 1)
		return 0;
	log_set_level(LOG_ERROR);
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		fuzz_keyed(text);
		break;
	case 1:
		cgroup_parse_value(text, &v);
		break;
	case 2:
		fuzz_cpu_max(text);
		break;
	default:
		fuzz_mountinfo(text);
		break;
	}
	free(text);
	return 0;
}
