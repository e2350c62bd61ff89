/* SPDX-License-Identifier: MIT */
/* fuzz_spawn_status.c: bytes -> spawn_parse_status() and spawn_classify_file() (run dirs). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/spawn.h"

#define MAX_INPUT 65536 /* the most of a status file that is read */
#define NAME_MAX_LEN 200

/* Parses len bytes from a copy of exactly that size, so a read past the end is caught. */
static void check_parse(const uint8_t *data, size_t len)
{
	struct spawn_status st, before;
	char *copy = malloc(len ? len : 1);
	int r;

	if (!copy)
		return;
	memcpy(copy, data, len);
	memset(&st, 0x5a, sizeof(st));
	st.error[sizeof(st.error) - 1] = '\0';
	st.message[sizeof(st.message) - 1] = '\0';
	before = st;
	r = spawn_parse_status(copy, len, &st);
	free(copy);
	if (r != 0 && r != -EBADMSG)
		__builtin_trap();
	/* A malformed text changes nothing; a parsed one leaves terminated strings. */
	if (r == -EBADMSG && memcmp(&st, &before, sizeof(st)) != 0)
		__builtin_trap();
	if (!memchr(st.error, '\0', sizeof(st.error)) ||
	    !memchr(st.message, '\0', sizeof(st.message)))
		__builtin_trap();
}

/* The name given for a container file is the file name less its suffix (suffix NULL: any one
 * ".word" without further dots, for kinds added later). */
static void check_name(const char *file, const char *suffix, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NAME_MAX_LEN || strchr(name, '.') || strncmp(file, name, n) != 0 ||
	    file[n] != '.' || strchr(file + n + 1, '.') ||
	    (suffix && strcmp(file + n, suffix) != 0))
		__builtin_trap();
}

static void check_classify(const char *file)
{
	char name[NAME_MAX_LEN + 1], small[4];
	enum spawn_file kind = spawn_classify_file(file, name, sizeof(name));

	if (spawn_classify_file(file, NULL, 0) != kind ||
	    spawn_classify_file(file, small, sizeof(small)) != kind)
		__builtin_trap();
	if (file[0] == '.' && kind != SPAWN_FILE_OTHER)
		__builtin_trap();
	switch (kind) {
	case SPAWN_FILE_OTHER:
		return;
	case SPAWN_FILE_TASK_DONE:
		if (strcmp(file, "task.done") != 0)
			__builtin_trap();
		return;
	case SPAWN_FILE_STARTED:
		check_name(file, ".started", name);
		break;
	case SPAWN_FILE_EXIT:
		check_name(file, ".exit", name);
		break;
	default:
		check_name(file, NULL, name);
		break;
	}
	/* A short buffer gets a terminated prefix of the name. */
	if (!memchr(small, '\0', sizeof(small)) || strncmp(small, name, strlen(small)) != 0)
		__builtin_trap();
}

/* The whole input is a status text. Its first line is also a file name, and when there is a
 * newline the rest is parsed as the text of that file (seeds "web.exit\n{...}"). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl;
	char *file;
	size_t flen;

	if (size > MAX_INPUT)
		return 0;
	check_parse(data, size);
	nl = memchr(data, '\n', size);
	flen = nl ? (size_t)(nl - data) : size;
	file = malloc(flen + 1);
	if (!file)
		return 0;
	memcpy(file, data, flen);
	file[flen] = '\0';
	check_classify(file);
	free(file);
	if (nl)
		check_parse(nl + 1, size - flen - 1);
	return 0;
}
