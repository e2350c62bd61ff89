/* SPDX-License-Identifier: MIT */
/* fuzz_awsclient.c: hostile shorthand, command lines and service answers through awsclient.
 * The first byte picks the parser: 's' shorthand, 'a' arguments (one per line), else the rest
 * is a JSON answer printed as json, text and table. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/awsclient.h"

static const struct awsclient_member members[] = {
	{ "cluster", AWSCLIENT_STRING, 1, NULL, NULL },
	{ "count", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ "force", AWSCLIENT_BOOLEAN, 0, NULL, NULL },
	{ "tasks", AWSCLIENT_STRING_LIST, 0, NULL, NULL },
	{ "overrides", AWSCLIENT_STRUCT, 0, NULL, "cpu:i,a.b:b,c.d:l,e:f" },
	{ "tags", AWSCLIENT_STRUCT_LIST, 0, NULL, "weight:i" },
	{ "labels", AWSCLIENT_MAP, 0, NULL, NULL },
	{ "nextToken", AWSCLIENT_STRING, 0, NULL, NULL },
	{ NULL },
};

static const struct awsclient_op op = { "FuzzThings", members, "things", "Fuzzes." };

static const struct awsclient_service svc = {
	.target_prefix = "Fuzz", .page_token = "nextToken", .page_limit = "maxResults",
	.ops = &op, .n_ops = 1,
};

static void fuzz_shorthand(const char *text)
{
	char err[512] = "";
	json_t *v = awsclient_parse_shorthand(text, members[4].hints, err, sizeof(err));

	if (!v && !err[0])
		abort();
	json_decref(v);
}

static void fuzz_args(char *text)
{
	struct awsclient_invocation inv;
	char *argv[64], err[4096] = "";
	int argc = 0;

	for (char *line = strtok(text, "\n"); line && argc < 64; line = strtok(NULL, "\n")) {
		if (strstr(line, "file://"))
			continue;   /* no reading of arbitrary files */
		argv[argc++] = line;
	}
	if (awsclient_parse_args(&svc, &op, argc, argv, argc % 2, &inv, err, sizeof(err)) == 0) {
		if (!json_is_object(inv.request) || !json_object_get(inv.request, "cluster"))
			abort();
	} else if (!err[0] || inv.request) {
		abort();
	}
	awsclient_invocation_clear(&inv);
}

static void fuzz_print(const char *text, size_t len)
{
	json_t *v = json_loadb(text, len, JSON_DECODE_ANY, NULL);
	FILE *null = fopen("/dev/null", "w");

	if (v && null) {
		awsclient_print(null, v, "json", "Fuzz");
		awsclient_print(null, v, "text", "Fuzz");
		awsclient_print(null, v, "table", "Fuzz");
	}
	if (null)
		fclose(null);
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] == 's')
		fuzz_shorthand(text);
	else if (data[0] == 'a')
		fuzz_args(text);
	else
		fuzz_print(text, size - 1);
	free(text);
	return 0;
}
