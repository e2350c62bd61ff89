/* SPDX-License-Identifier: MIT */
/* fuzz_taskdef.c: bytes -> JSON -> taskdef_parse -> document round trip and overrides. */
#include <stddef.h>
#include <stdint.h>

#include "runtime/taskdef.h"

#define MAX_INPUT (256 * 1024)
#define MAX_DEPTH 64

/* Nesting depth of the JSON text, counted outside strings; the API layer bounds requests the
 * same way before decoding. */
static int nesting_depth(const uint8_t *data, size_t size)
{
	int depth = 0, max = 0;
	int in_string = 0;

	for (size_t i = 0; i < size; i++) {
		if (in_string) {
			if (data[i] == '\\')
				i++;
			else if (data[i] == '"')
				in_string = 0;
		} else if (data[i] == '"') {
			in_string = 1;
		} else if (data[i] == '{' || data[i] == '[') {
			if (++depth > max)
				max = depth;
		} else if (data[i] == '}' || data[i] == ']') {
			depth--;
		}
	}
	return max;
}

/* Reloads the stored document and checks it is the same; aborts on a mismatch so the fuzzer
 * reports it. */
static void round_trip(const struct taskdef *td)
{
	struct taskdef_error err;
	struct taskdef *back = NULL;

	if (taskdef_from_json(taskdef_json(td), &back, &err) != 0 ||
	    !json_equal(taskdef_json(back), taskdef_json(td)))
		__builtin_trap();
	taskdef_free(back);
}

static void exercise_overrides(const struct taskdef *td, const json_t *request)
{
	struct taskdef_error err;
	struct task_overrides *ov = NULL;
	struct taskdef_container_spec *spec = NULL;
	int cpu, memory;

	/* The same input doubles as RunTask overrides when it carries them. */
	if (taskdef_parse_overrides(json_object_get(request, "overrides"), td, &ov, &err) != 0)
		return;
	taskdef_resolve_size(td, ov, &cpu, &memory);
	for (size_t i = 0; i < td->n_containers; i++) {
		if (taskdef_resolve_container(td, ov, i, &spec) == 0)
			taskdef_container_spec_free(spec);
	}
	taskdef_overrides_free(ov);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct taskdef_error err;
	struct taskdef *td = NULL;
	json_t *request;

	if (size > MAX_INPUT || nesting_depth(data, size) > MAX_DEPTH)
		return 0;
	request = json_loadb((const char *)data, size, 0, NULL);
	if (!request)
		return 0;
	if (taskdef_parse(request, &td, &err) == 0) {
		round_trip(td);
		if (taskdef_assign(td, "us-east-1", "123456789012", 1, 1700000000.5) == 0)
			round_trip(td);
		exercise_overrides(td, request);
		taskdef_set_status(td, "INACTIVE", 1700000001.0);
		round_trip(td);
	}
	taskdef_free(td);
	json_decref(request);
	return 0;
}
