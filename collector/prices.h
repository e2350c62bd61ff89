/* SPDX-License-Identifier: MIT */
/* prices.h: price sheets for billing - per vCPU-hour, GB-hour and storage GB-hour, per
 * architecture, with a spot discount and an effective date; money in integer pico-dollars. */
#ifndef BERTH_COLLECTOR_PRICES_H
#define BERTH_COLLECTOR_PRICES_H

#include <stddef.h>
#include <stdint.h>

#define PRICE_MAX_SHEETS 64
#define PRICE_PICO 1000000000000LL      /* pico-dollars per dollar */
#define PRICE_PICO_PER_MICRO 1000000LL

enum price_arch { PRICE_X86_64, PRICE_ARM64, PRICE_ARCH_COUNT };

/* One sheet: prices in pico-dollars per unit-hour, from `effective` (unix seconds) on. */
struct price_sheet {
	int64_t effective;
	int64_t vcpu_hour[PRICE_ARCH_COUNT];
	int64_t gb_hour[PRICE_ARCH_COUNT];
	int64_t storage_gb_hour;          /* ephemeral storage beyond 20 GB */
	int64_t spot_discount_ppm;        /* 700000: spot costs 30% of on-demand */
	int64_t image_gb_month;           /* image storage (registry), per GB-month */
};

/* Sheets sorted by effective date; the first one also covers the seconds before its date. */
struct price_book {
	struct price_sheet sheets[PRICE_MAX_SHEETS];
	size_t n;
};

/* Fargate us-east-1 Linux list prices (x86 and ARM), 70% spot discount, effective since 1970. */
void price_book_defaults(struct price_book *b);

/* Parses a price file (JSON, see docs/billing.md) into b. Returns 0, or -EINVAL with err
 * naming the sheet and field; b is then unchanged. */
int price_book_parse(struct price_book *b, const char *text, size_t len, char *err,
		     size_t errlen);
/* Reads and parses path; 0 or -errno with err filled. */
int price_book_load(struct price_book *b, const char *path, char *err, size_t errlen);

/* The sheet in force at second t; *until (may be NULL) gets the next sheet's effective date
 * or INT64_MAX. Never NULL for a book with at least one sheet. */
const struct price_sheet *price_at(const struct price_book *b, int64_t t, int64_t *until);

/* "0.04048" (dollars, up to 12 decimals) into pico-dollars. 0 or -EINVAL. */
int price_parse_dollars(const char *s, int64_t *out);
/* Pico-dollars rounded half-up to micro-dollars. */
int64_t price_pico_to_micro(int64_t pico);
/* Micro-dollars as "12.345678" into out (at least 32 bytes). */
void price_format_micro(int64_t micro, char *out, size_t len);

/* Costs in pico-dollars of one stretch: cpu_units (1024 = 1 vCPU) and mem_mib held for
 * seconds; storage_gib of extra storage. spot applies the sheet's discount. */
int64_t price_cpu_cost(const struct price_sheet *s, enum price_arch arch, int spot,
		       int64_t cpu_unit_seconds);
int64_t price_mem_cost(const struct price_sheet *s, enum price_arch arch, int spot,
		       int64_t mib_seconds);
int64_t price_storage_cost(const struct price_sheet *s, int spot, int64_t gib_seconds);

/* "X86_64" / "ARM64" (case-insensitive) -> arch; -EINVAL for others. */
int price_arch_parse(const char *s, enum price_arch *out);
const char *price_arch_name(enum price_arch a);

#endif
