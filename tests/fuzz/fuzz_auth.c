/* SPDX-License-Identifier: MIT */
/* fuzz_auth.c: hostile Cookie headers through the cookie parser and hostile token stores. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_token *list = NULL;
	char *text = malloc(size + 1), v[AUTH_SESSION_ID_LEN + 1], err[256];
	size_t n = 0;
	int r;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* As a Cookie header: a found value fits, is NUL-terminated and holds only cookie octets. */
	r = auth_cookie_get(text, AUTH_COOKIE, v, sizeof(v));
	if (r == 0) {
		size_t len = strlen(v);
		if (len >= sizeof(v))
			abort();
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e || v[i] == ';')
				abort();
	} else if (r != -ENOENT && r != -EINVAL) {
		abort();
	}
	/* As a token store: parsed entries are well-formed; a refusal says why. */
	r = auth_tokens_parse(text, size, &list, &n, err, sizeof(err));
	if (r == 0) {
		for (size_t i = 0; i < n; i++)
			if (strlen(list[i].id) != 12 || strlen(list[i].hash) != 64)
				abort();
	} else if (!err[0] || list || n) {
		abort();
	}
	free(list);
	free(text);
	return 0;
}
