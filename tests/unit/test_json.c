/* SPDX-License-Identifier: MIT */
/* test_json.c: bounded request decoding and typed field access. */
#include <string.h>

#include "common/json.h"
#include "tests/unit/unit.h"

static void test_depth(void)
{
	CHECK_EQ(json_text_depth("{}", 2), 1);
	CHECK_EQ(json_text_depth("{\"a\":[[1]]}", 11), 3);
	CHECK_EQ(json_text_depth("{\"a\":\"[[[[\"}", 12), 1);
	CHECK_EQ(json_text_depth("{\"a\":\"\\\"[[\"}", 12), 1);
	CHECK_EQ(json_text_depth("}", 1), -1);
}

static void test_decode(void)
{
	struct berr e = { { 0 }, { 0 }, 0 };
	json_t *o = NULL;
	char deep[300];

	CHECK_EQ(json_decode_request("", 0, 8, &o, &e), 0);
	CHECK(json_is_object(o));
	json_decref(o);
	CHECK_EQ(json_decode_request("{\"a\":1}", 7, 8, &o, &e), 0);
	json_decref(o);
	CHECK(json_decode_request("{\"a\":", 5, 8, &o, &e) < 0);
	CHECK_STR(e.type, "SerializationException");
	CHECK_CONTAINS(e.message, "line 1");
	CHECK(json_decode_request("[1]", 3, 8, &o, &e) < 0);
	CHECK_CONTAINS(e.message, "must be an object");
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	CHECK(json_decode_request(deep, 200, 64, &o, &e) < 0);
	CHECK_CONTAINS(e.message, "deeper than 64");
	CHECK(json_decode_request("{\"a\":1,\"a\":2}", 13, 8, &o, &e) < 0);
	CHECK(json_decode_request("{\"a\":\"\xff\"}", 8, 8, &o, &e) < 0);
}

static void test_getters(void)
{
	struct berr e = { { 0 }, { 0 }, 0 };
	json_t *o = json_loads("{\"s\":\"x\",\"i\":3,\"f\":2.0,\"b\":true,\"a\":[],\"o\":{},\"n\":null}",
			       0, NULL);
	const char *s = NULL;
	long long i = 0;
	int b = 0;
	json_t *v = NULL;

	CHECK_EQ(json_get_string(o, "s", &s, &e), 1);
	CHECK_STR(s, "x");
	CHECK_EQ(json_get_string(o, "missing", &s, &e), 0);
	CHECK_EQ(json_get_string(o, "n", &s, &e), 0);
	CHECK_EQ(json_get_int(o, "i", &i, &e), 1);
	CHECK_EQ(i, 3);
	CHECK_EQ(json_get_int(o, "f", &i, &e), 1);
	CHECK_EQ(i, 2);
	CHECK_EQ(json_get_bool(o, "b", &b, &e), 1);
	CHECK_EQ(b, 1);
	CHECK_EQ(json_get_array(o, "a", &v, &e), 1);
	CHECK_EQ(json_get_object(o, "o", &v, &e), 1);
	CHECK(json_get_int(o, "s", &i, &e) < 0);
	CHECK_STR(e.type, "InvalidParameterException");
	CHECK_CONTAINS(e.message, "parameter s");
	CHECK(json_get_array(o, "o", &v, &e) < 0);
	json_decref(o);
}

UNIT_MAIN(test_depth, test_decode, test_getters)
