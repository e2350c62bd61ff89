/* SPDX-License-Identifier: MIT */
/* taskdef_test.h: helpers of the task definition unit tests (test_taskdef.c,
 * test_taskdef_fixtures.c). */
#ifndef BERTH_TASKDEF_TEST_H
#define BERTH_TASKDEF_TEST_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "runtime/taskdef.h"
#include "tests/unit/unit.h"

#define HEX64 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

/* A task definition of two containers, app and db, with extra members for each. */
#define TWO(app_extra, db_extra) \
	"{\"family\": \"f\", \"containerDefinitions\": [{\"name\": \"app\", \"image\": \"x\", " \
	"\"memory\": 8" app_extra "}, {\"name\": \"db\", \"image\": \"x\", \"memory\": 8" \
	db_extra "}]}"

static inline json_t *load(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!v)
		UNIT_FAIL("bad test JSON (%s): %s", jerr.text, text);
	return v;
}

/* Parses text; NULL (and a failed check) when refused. */
static inline struct taskdef *parse_ok(const char *text)
{
	struct taskdef_error err = { "", "" };
	struct taskdef *td = NULL;
	json_t *req = load(text);
	int rc = req ? taskdef_parse(req, &td, &err) : -1;

	if (rc != 0)
		UNIT_FAIL("refused (%d) %s: %s\n    request: %s", rc, err.type, err.message, text);
	json_decref(req);
	return rc == 0 ? td : NULL;
}

static inline void parse_refused(const char *text, const char *type, const char *needle,
				  int line)
{
	struct taskdef_error err = { "", "" };
	struct taskdef *td = NULL;
	json_t *req = load(text);
	int rc = req ? taskdef_parse(req, &td, &err) : 0;

	if (rc != -EINVAL || td)
		UNIT_FAIL("line %d: accepted (%d): %s", line, rc, text);
	else if (strcmp(err.type, type) != 0 || !strstr(err.message, needle))
		UNIT_FAIL("line %d: got %s \"%s\", wanted %s containing \"%s\"", line, err.type,
			  err.message, type, needle);
	taskdef_free(td);
	json_decref(req);
}

#define REFUSED(text, type, needle) parse_refused(text, type, needle, __LINE__)
#define CLIENT "ClientException"
#define INVALID "InvalidParameterException"

/* One container called "web"; task and container are extra members ("" for none). */
static inline char *one(const char *task, const char *container)
{
	char *s;

	if (asprintf(&s, "{\"family\": \"web\"%s%s, \"containerDefinitions\": [{\"name\": \"web\", "
		     "\"image\": \"nginx:1.25\"%s%s}]}", *task ? ", " : "", task,
		     *container ? ", " : "", container) < 0)
		abort();
	return s;
}

static inline struct taskdef *one_ok(const char *task, const char *container)
{
	char *s = one(task, container);
	struct taskdef *td = parse_ok(s);

	free(s);
	return td;
}

static inline void one_refused(const char *task, const char *container, const char *type,
			const char *needle, int line)
{
	char *s = one(task, container);

	parse_refused(s, type, needle, line);
	free(s);
}

#define ONE_REFUSED(task, container, type, needle) \
	one_refused(task, container, type, needle, __LINE__)

static inline const char *doc_str(const struct taskdef *td, const char *key)
{
	return json_string_value(json_object_get(taskdef_json(td), key));
}

static inline json_t *container_doc(const struct taskdef *td, size_t i)
{
	return json_array_get(json_object_get(taskdef_json(td), "containerDefinitions"), i);
}

static inline bool has_ignored(const struct taskdef *td, const char *path)
{
	for (size_t i = 0; i < td->n_ignored; i++)
		if (strcmp(td->ignored[i], path) == 0)
			return true;
	return false;
}

/* parse -> assign -> dump -> load -> from_json: the same document and fields. */
static inline void check_round_trip(struct taskdef *td)
{
	struct taskdef_error err = { "", "" };
	struct taskdef *back = NULL;
	char *text;
	json_t *loaded;

	CHECK_EQ(taskdef_assign(td, "eu-west-1", "000000000000", 7, 1712345678.123456), 0);
	text = json_dumps(taskdef_json(td), JSON_COMPACT);
	loaded = text ? json_loads(text, 0, NULL) : NULL;
	CHECK(loaded != NULL);
	if (loaded && taskdef_from_json(loaded, &back, &err) != 0)
		UNIT_FAIL("from_json refused: %s %s", err.type, err.message);
	if (back) {
		CHECK(json_equal(taskdef_json(back), taskdef_json(td)));
		CHECK_EQ(back->revision, 7);
		CHECK_STR(back->arn, td->arn);
		CHECK(back->registered_at == 1712345678.123456);
		CHECK_EQ(back->cpu, td->cpu);
		CHECK_EQ(back->memory, td->memory);
		CHECK_EQ(back->n_containers, td->n_containers);
		CHECK_EQ(back->n_ignored, td->n_ignored);
		CHECK_EQ(back->n_tags, 0);
		CHECK_EQ(back->status, td->status);
	}
	taskdef_free(back);
	json_decref(loaded);
	free(text);
}

#endif
