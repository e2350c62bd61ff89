/* SPDX-License-Identifier: MIT */
/* util.h: ids, time, and the AWS-shaped error carried from any layer up to the API. */
#ifndef BERTH_UTIL_H
#define BERTH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* An error that reaches a client: the AWS `__type`, a message, and the HTTP status. */
struct berr {
	char type[64];
	char message[512];
	int http_status;
};

/* Fills e (when not NULL) and returns -EINVAL, so callers can `return berr_set(...)`. */
int berr_set(struct berr *e, int http_status, const char *type, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Writes 32 lower-case hex characters from the kernel's random source (an ECS task id). */
void id_random_hex(char *out, size_t hex_len);
/* An RFC 4122 version 4 UUID, 36 characters plus NUL. */
void id_uuid(char out[37]);

/* Wall-clock seconds since the epoch, with sub-second precision (ECS timestamps). */
double time_now(void);
/* Monotonic milliseconds. */
int64_t time_mono_ms(void);
/* ISO 8601 UTC "2026-11-26T10:15:00.123Z" into out (at least 32 bytes). */
void time_iso8601(double t, char *out, size_t len);

/* The value of a hex digit (either case), or -1. */
int hex_digit_value(char c);

/* True when s is 1..max characters of letters, digits, '-' and '_'. */
int name_is_valid(const char *s, size_t max);

#endif
