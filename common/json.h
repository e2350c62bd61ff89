/* SPDX-License-Identifier: MIT */
/* json.h: bounded JSON request decoding and small jansson helpers. */
#ifndef BERTH_JSON_H
#define BERTH_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "common/util.h"

/* Nesting depth of a JSON text (strings skipped); -1 when brackets do not balance. */
int json_text_depth(const char *buf, size_t len);

/* Decodes a request body into a JSON object, refusing texts deeper than max_depth, non-objects
 * and invalid UTF-8. An empty body is {}. Returns 0 and a new reference, or -EINVAL with e set
 * (SerializationException, naming line and column). */
int json_decode_request(const char *buf, size_t len, int max_depth, json_t **out, struct berr *e);

/* Field getters that validate types: 0 when absent (out untouched), 1 when present, or -EINVAL
 * with e naming the field (InvalidParameterException). */
int json_get_string(const json_t *o, const char *key, const char **out, struct berr *e);
int json_get_int(const json_t *o, const char *key, long long *out, struct berr *e);
int json_get_bool(const json_t *o, const char *key, int *out, struct berr *e);
int json_get_array(const json_t *o, const char *key, json_t **out, struct berr *e);
int json_get_object(const json_t *o, const char *key, json_t **out, struct berr *e);

/* Serialises o (stealing the reference) to a malloc'd compact string; NULL on failure. */
char *json_steal_dumps(json_t *o);
/* The same, indented for people (REST and /healthz). */
char *json_steal_dumps_pretty(json_t *o);

#endif
