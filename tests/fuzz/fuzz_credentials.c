/* SPDX-License-Identifier: MIT */
/* fuzz_credentials.c: hostile shared-credentials files through credentials_parse. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/credentials.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const profiles[] = { "default", "ops", "profile x", "" };
	char *text = malloc(size + 1), err[256];
	struct credentials c;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		int r = credentials_parse(text, profiles[i], &c, err, sizeof(err));
		/* Success means both keys, non-empty; failure leaves nothing to free. */
		if (r == 0 && (!c.access_key_id || !*c.access_key_id || !c.secret_access_key ||
			       !*c.secret_access_key))
			abort();
		if (r < 0 && (c.access_key_id || c.secret_access_key || c.session_token || !err[0]))
			abort();
		credentials_clear(&c);
	}
	free(text);
	return 0;
}
