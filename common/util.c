/* SPDX-License-Identifier: MIT */
/* util.c: ids, time and the AWS-shaped error type. */
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int berr_set(struct berr *e, int http_status, const char *type, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return -EINVAL;
	e->http_status = http_status;
	snprintf(e->type, sizeof(e->type), "%s", type);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void random_bytes(unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* getrandom cannot fail after boot; fall back to time bits. */
			for (; got < len; got++)
				buf[got] = (unsigned char)(clock() ^ (got * 131));
			return;
		}
		got += (size_t)n;
	}
}

void id_random_hex(char *out, size_t hex_len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[64];
	size_t n = (hex_len + 1) / 2;

	if (n > sizeof(b))
		n = sizeof(b);
	random_bytes(b, n);
	for (size_t i = 0; i < hex_len && i / 2 < n; i++)
		out[i] = hex[(i & 1) ? (b[i / 2] & 0xf) : (b[i / 2] >> 4)];
	out[hex_len] = '\0';
}

void id_uuid(char out[37])
{
	unsigned char b[16];

	random_bytes(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
}

double time_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void time_iso8601(double t, char *out, size_t len)
{
	time_t s = (time_t)t;
	struct tm tm;
	char base[24];

	gmtime_r(&s, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03dZ", base, (int)((t - (double)s) * 1000) % 1000);
}

int name_is_valid(const char *s, size_t max)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		if (!isalnum((unsigned char)s[n]) && s[n] != '-' && s[n] != '_')
			return 0;
	}
	return n >= 1 && n <= max;
}

int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
