/* SPDX-License-Identifier: MIT */
/* fuzz_request.c: hostile request bodies through the bounded JSON decoder and the config parser. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berr e = { { 0 }, { 0 }, 0 };
	json_t *o = NULL;
	char path[64], err[512];
	struct config c;
	FILE *f;

	if (json_decode_request((const char *)data, size, 64, &o, &e) == 0) {
		const char *s;
		long long i;
		json_get_string(o, "cluster", &s, &e);
		json_get_int(o, "count", &i, &e);
		json_decref(o);
	} else if (!e.type[0] || !e.message[0]) {
		abort();
	}
	/* The same bytes as a config file. */
	snprintf(path, sizeof(path), "/tmp/berth-fuzz-conf.%d", (int)getpid());
	f = fopen(path, "w");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	config_defaults(&c);
	if (config_load_file(&c, path, err, sizeof(err)) < 0 && !strstr(err, path))
		abort();
	unlink(path);
	return 0;
}
