/* SPDX-License-Identifier: MIT */
/* prices.c: price sheets - defaults, the JSON price file, lookups and exact integer costs. */
#include "collector/prices.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/fileio.h"

#define PRICE_FILE_MAX (1 << 20)

void price_book_defaults(struct price_book *b)
{
	struct price_sheet *s = &b->sheets[0];

	memset(b, 0, sizeof(*b));
	b->n = 1;
	s->effective = 0;
	s->vcpu_hour[PRICE_X86_64] = 40480000000LL;   /* $0.04048 */
	s->gb_hour[PRICE_X86_64] = 4445000000LL;      /* $0.004445 */
	s->vcpu_hour[PRICE_ARM64] = 32380000000LL;    /* $0.03238 */
	s->gb_hour[PRICE_ARM64] = 3560000000LL;       /* $0.00356 */
	s->storage_gb_hour = 111000000LL;             /* $0.000111 */
	s->spot_discount_ppm = 700000;
	s->image_gb_month = 100000000000LL;           /* $0.10 (ECR) */
}

int price_parse_dollars(const char *s, int64_t *out)
{
	int64_t whole = 0, frac = 0;
	int digits = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (whole > 1000000)
			return -EINVAL;
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (digits == 12)
				return -EINVAL;
			frac = frac * 10 + (*p - '0');
			digits++;
		}
	}
	if (*p)
		return -EINVAL;
	for (; digits < 12; digits++)
		frac *= 10;
	*out = whole * PRICE_PICO + frac;
	return 0;
}

int64_t price_pico_to_micro(int64_t pico)
{
	if (pico >= 0)
		return (pico + PRICE_PICO_PER_MICRO / 2) / PRICE_PICO_PER_MICRO;
	return -((-pico + PRICE_PICO_PER_MICRO / 2) / PRICE_PICO_PER_MICRO);
}

void price_format_micro(int64_t micro, char *out, size_t len)
{
	uint64_t m = micro < 0 ? (uint64_t)(-micro) : (uint64_t)micro;

	snprintf(out, len, "%s%" PRIu64 ".%06" PRIu64, micro < 0 ? "-" : "", m / 1000000,
		 m % 1000000);
}

int price_arch_parse(const char *s, enum price_arch *out)
{
	if (!strcasecmp(s, "X86_64"))
		*out = PRICE_X86_64;
	else if (!strcasecmp(s, "ARM64"))
		*out = PRICE_ARM64;
	else
		return -EINVAL;
	return 0;
}

const char *price_arch_name(enum price_arch a)
{
	return a == PRICE_ARM64 ? "ARM64" : "X86_64";
}

/* A money member: a decimal string or a JSON number; absent leaves *out. */
static int money(json_t *o, const char *key, int64_t *out, const char *where, char *err,
		 size_t errlen)
{
	json_t *v = json_object_get(o, key);
	char tmp[64];
	const char *s = tmp;

	if (!v)
		return 0;
	if (json_is_string(v))
		s = json_string_value(v);
	else if (json_is_integer(v))
		snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(tmp, sizeof(tmp), "%.12f", json_real_value(v));
	else
		s = "";
	if (price_parse_dollars(s, out) < 0) {
		snprintf(err, errlen, "%s: '%s' must be a non-negative amount of dollars with at "
			 "most 12 decimals", where, key);
		return -EINVAL;
	}
	return 0;
}

static int parse_effective(json_t *v, int64_t *out)
{
	struct tm tm = { 0 };
	const char *s, *end;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EINVAL;
	s = json_string_value(v);
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (!end || (*end && strcmp(end, "Z") && strcmp(end, "+00:00")))
		return -EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int arch_prices(json_t *sheet, const char *arch, enum price_arch a, struct price_sheet *s,
		       const char *where, char *err, size_t errlen)
{
	json_t *o = json_object_get(sheet, arch);
	char w[96];

	if (!o)
		return 0;
	snprintf(w, sizeof(w), "%s.%s", where, arch);
	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s must be an object", w);
		return -EINVAL;
	}
	if (money(o, "vcpuHour", &s->vcpu_hour[a], w, err, errlen) < 0 ||
	    money(o, "gbHour", &s->gb_hour[a], w, err, errlen) < 0)
		return -EINVAL;
	return 0;
}

static int sheet_parse(json_t *o, const struct price_sheet *prev, struct price_sheet *s,
		       size_t i, char *err, size_t errlen)
{
	char where[64];
	int64_t disc;

	snprintf(where, sizeof(where), "sheets[%zu]", i);
	*s = *prev;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "%s must be an object", where);
		return -EINVAL;
	}
	if (parse_effective(json_object_get(o, "effective"), &s->effective) < 0) {
		snprintf(err, errlen, "%s: 'effective' must be a date (2026-11-15 or "
			 "2026-11-15T12:00:00Z) or unix seconds", where);
		return -EINVAL;
	}
	if (arch_prices(o, "X86_64", PRICE_X86_64, s, where, err, errlen) < 0 ||
	    arch_prices(o, "ARM64", PRICE_ARM64, s, where, err, errlen) < 0 ||
	    money(o, "storageGbHour", &s->storage_gb_hour, where, err, errlen) < 0 ||
	    money(o, "imageGbMonth", &s->image_gb_month, where, err, errlen) < 0)
		return -EINVAL;
	disc = s->spot_discount_ppm * 1000000;
	if (money(o, "spotDiscount", &disc, where, err, errlen) < 0)
		return -EINVAL;
	if (disc > PRICE_PICO) {
		snprintf(err, errlen, "%s: 'spotDiscount' must be between 0 and 1", where);
		return -EINVAL;
	}
	s->spot_discount_ppm = disc / 1000000;
	return 0;
}

int price_book_parse(struct price_book *b, const char *text, size_t len, char *err,
		     size_t errlen)
{
	struct price_book nb;
	json_error_t je;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *sheets;
	int ret = -EINVAL;

	price_book_defaults(&nb);
	if (!doc) {
		snprintf(err, errlen, "line %d: %s", je.line, je.text);
		return -EINVAL;
	}
	sheets = json_object_get(doc, "sheets");
	if (!json_is_array(sheets) || json_array_size(sheets) == 0 ||
	    json_array_size(sheets) > PRICE_MAX_SHEETS) {
		snprintf(err, errlen, "'sheets' must be a list of 1 to %d price sheets",
			 PRICE_MAX_SHEETS);
		goto out;
	}
	nb.n = json_array_size(sheets);
	for (size_t i = 0; i < nb.n; i++) {
		const struct price_sheet *prev = i ? &nb.sheets[i - 1] : &nb.sheets[0];
		struct price_sheet s;
		if (sheet_parse(json_array_get(sheets, i), prev, &s, i, err, errlen) < 0)
			goto out;
		if (i && s.effective <= nb.sheets[i - 1].effective) {
			snprintf(err, errlen, "sheets[%zu]: 'effective' must be later than the "
				 "sheet before it", i);
			goto out;
		}
		nb.sheets[i] = s;
	}
	*b = nb;
	ret = 0;
out:
	json_decref(doc);
	return ret;
}

int price_book_load(struct price_book *b, const char *path, char *err, size_t errlen)
{
	char *text, sub[400];
	size_t len;
	int ret = file_read_all(path, PRICE_FILE_MAX, &text, &len);

	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = price_book_parse(b, text, len, sub, sizeof(sub));
	if (ret < 0)
		snprintf(err, errlen, "%s: %s", path, sub);
	free(text);
	return ret;
}

const struct price_sheet *price_at(const struct price_book *b, int64_t t, int64_t *until)
{
	size_t i = 0;

	while (i + 1 < b->n && b->sheets[i + 1].effective <= t)
		i++;
	if (until)
		*until = i + 1 < b->n ? b->sheets[i + 1].effective : INT64_MAX;
	return &b->sheets[i];
}

static int64_t discounted(const struct price_sheet *s, int spot, __int128 v)
{
	if (spot)
		v = v * (1000000 - s->spot_discount_ppm) / 1000000;
	return (int64_t)v;
}

int64_t price_cpu_cost(const struct price_sheet *s, enum price_arch arch, int spot,
		       int64_t cpu_unit_seconds)
{
	return discounted(s, spot, (__int128)cpu_unit_seconds * s->vcpu_hour[arch] / (1024 * 3600));
}

int64_t price_mem_cost(const struct price_sheet *s, enum price_arch arch, int spot,
		       int64_t mib_seconds)
{
	return discounted(s, spot, (__int128)mib_seconds * s->gb_hour[arch] / (1024 * 3600));
}

int64_t price_storage_cost(const struct price_sheet *s, int spot, int64_t gib_seconds)
{
	return discounted(s, spot, (__int128)gib_seconds * s->storage_gb_hour / 3600);
}
