/* SPDX-License-Identifier: MIT */
/* fuzz_alarm_rule.c: bytes -> composite AlarmRule parser -> evaluation under every state. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/alarm_eval.h"

static int state_by_hash(void *ctx, const char *ref)
{
	unsigned seed = *(unsigned *)ctx, h = seed;

	for (const char *p = ref; *p; p++)
		h = h * 31 + (unsigned char)*p;
	return (int)(h % 4) - 1;   /* -1 (no such alarm), OK, ALARM, INSUFFICIENT_DATA */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct alarm_rule *r = NULL;
	struct berr e;
	size_t n;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (alarm_rule_parse(text, &r, &e) == 0) {
		const char *const *refs = alarm_rule_refs(r, &n);
		for (size_t i = 0; i < n; i++)
			if (!refs[i] || !refs[i][0])
				abort();
		for (unsigned seed = 0; seed < 4; seed++)
			(void)alarm_rule_eval(r, state_by_hash, &seed);
	} else if (r || !e.message[0]) {
		abort();   /* a refused rule leaves nothing behind and says why */
	}
	alarm_rule_free(r);
	free(text);
	return 0;
}
