/* SPDX-License-Identifier: MIT */
/* unit.h: a tiny test harness; assertions print both sides and are never compiled out. */
#ifndef BERTH_UNIT_H
#define BERTH_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
};

extern int unit_failed_now;   /* set by a failing check inside the running test */

#define UNIT_FAIL(...)                                                   \
	do {                                                             \
		fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__);        \
		fprintf(stderr, __VA_ARGS__);                            \
		fputc('\n', stderr);                                     \
		unit_failed_now = 1;                                     \
	} while (0)

#define CHECK(cond)                                                      \
	do { if (!(cond)) UNIT_FAIL("CHECK(%s) failed", #cond); } while (0)

#define CHECK_INT(a, op, b)                                              \
	do {                                                             \
		long long a_ = (long long)(a), b_ = (long long)(b);      \
		if (!(a_ op b_))                                         \
			UNIT_FAIL("%s %s %s: %lld vs %lld", #a, #op, #b, \
				  a_, b_);                               \
	} while (0)

#define CHECK_EQ(a, b) CHECK_INT(a, ==, b)

#define CHECK_STR(a, b)                                                  \
	do {                                                             \
		const char *a_ = (a), *b_ = (b);                         \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                   \
			UNIT_FAIL("%s == %s: \"%s\" vs \"%s\"", #a, #b,  \
				  a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                      \
	do {                                                             \
		const char *h_ = (hay), *n_ = (needle);                  \
		if (!h_ || !strstr(h_, n_))                              \
			UNIT_FAIL("%s contains \"%s\": got \"%s\"", #hay, \
				  n_, h_ ? h_ : "(null)");               \
	} while (0)

/* Each test file ends with UNIT_MAIN(test_a, test_b, ...). */
#define UNIT_MAIN(...)                                                   \
	int unit_failed_now;                                             \
	int main(int argc, char **argv)                                  \
	{                                                                \
		void (*fns[])(void) = { __VA_ARGS__ };                   \
		const char *names = #__VA_ARGS__;                        \
		return unit_run(fns, sizeof(fns) / sizeof(fns[0]), names, \
				argc > 1 ? argv[1] : NULL);              \
	}

/* Prints "ok N name" / "not ok N name" lines (TAP) and returns failures. */
static inline int unit_run(void (**fns)(void), size_t n, const char *names,
			   const char *only)
{
	int failed = 0;
	char buf[4096];
	const char *p = names;

	for (size_t i = 0; i < n; i++) {
		size_t len = 0;
		while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t')
			p++;
		while (p[len] && p[len] != ',' && len < sizeof(buf) - 1)
			len++;
		memcpy(buf, p, len);
		buf[len] = '\0';
		while (len && (buf[len - 1] == ' '))
			buf[--len] = '\0';
		p += len;
		if (only && strcmp(only, buf) != 0)
			continue;
		unit_failed_now = 0;
		fns[i]();
		printf("%s %zu %s\n", unit_failed_now ? "not ok" : "ok", i + 1, buf);
		fflush(stdout);
		failed += unit_failed_now;
	}
	return failed ? 1 : 0;
}

#endif
