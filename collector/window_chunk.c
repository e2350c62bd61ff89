/* SPDX-License-Identifier: MIT */
/* window_chunk.c: encoding of the collector's window chunks (constant columns, Gorilla XOR). */
#include "collector/window_chunk.h"

#include <string.h>

struct bitw {
	uint8_t *p;
	size_t bits;
};

static void bit_put(struct bitw *w, uint32_t v, unsigned n)
{
	while (n--) {
		size_t i = w->bits >> 3;
		if ((w->bits & 7) == 0)
			w->p[i] = 0;
		w->p[i] |= (uint8_t)(((v >> n) & 1u) << (7 - (w->bits & 7)));
		w->bits++;
	}
}

struct bitr {
	const uint8_t *p;
	size_t bits, end;
	bool over;                    /* read past end */
};

static uint32_t bit_get(struct bitr *r, unsigned n)
{
	uint32_t v = 0;

	if (r->bits + n > r->end) {
		r->over = true;
		r->bits += n;
		return 0;
	}
	while (n--) {
		v = (v << 1) | ((r->p[r->bits >> 3] >> (7 - (r->bits & 7))) & 1u);
		r->bits++;
	}
	return v;
}

static uint32_t f2u(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

static float u2f(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static void pack_xor(struct bitw *w, const float *rows, unsigned slots, int n_cols, int col)
{
	uint32_t prev = 0;
	unsigned lz = 33, tz = 0;

	for (size_t k = 0; k < slots; k++) {
		uint32_t v = f2u(rows[k * (size_t)n_cols + (size_t)col]), x = v ^ prev;
		prev = v;
		if (!x) {
			bit_put(w, 0, 1);
			continue;
		}
		unsigned l = (unsigned)__builtin_clz(x), t = (unsigned)__builtin_ctz(x);
		if (lz <= 32 && l >= lz && t >= tz) {
			bit_put(w, 2, 2);
			bit_put(w, x >> tz, 32 - lz - tz);
			continue;
		}
		lz = l;
		tz = t;
		bit_put(w, 3, 2);
		bit_put(w, l, 5);
		bit_put(w, 32 - l - t - 1, 5);
		bit_put(w, x >> t, 32 - l - t);
	}
}

size_t window_chunk_pack(const float *rows, unsigned slots, int n_cols, uint8_t *out)
{
	struct bitw w = { .p = out };

	for (int col = 0; col < n_cols; col++) {
		uint32_t first = slots ? f2u(rows[col]) : 0;
		size_t k = 1;
		while (k < slots && f2u(rows[k * (size_t)n_cols + (size_t)col]) == first)
			k++;
		if (k >= slots) {
			bit_put(&w, 1, 1);
			bit_put(&w, first, 32);
			continue;
		}
		bit_put(&w, 0, 1);
		pack_xor(&w, rows, slots, n_cols, col);
	}
	return (w.bits + 7) / 8;
}

static void unpack_xor(struct bitr *r, unsigned slots, int n_cols, int col, float *rows)
{
	uint32_t prev = 0;
	unsigned lz = 0, tz = 0;

	for (size_t k = 0; k < slots && !r->over; k++) {
		if (bit_get(r, 1)) {
			if (!bit_get(r, 1)) {
				prev ^= bit_get(r, 32 - lz - tz) << tz;
			} else {
				unsigned len;
				lz = bit_get(r, 5);
				len = bit_get(r, 5) + 1;
				if (lz + len > 32) {
					r->over = true;
					return;
				}
				tz = 32 - lz - len;
				prev ^= bit_get(r, len) << tz;
			}
		}
		rows[k * (size_t)n_cols + (size_t)col] = u2f(prev);
	}
}

bool window_chunk_unpack(const uint8_t *in, size_t len, unsigned slots, int n_cols, float *rows)
{
	struct bitr r = { .p = in, .end = len * 8 };

	for (int col = 0; col < n_cols && !r.over; col++) {
		if (bit_get(&r, 1)) {
			float v = u2f(bit_get(&r, 32));
			for (size_t k = 0; k < slots; k++)
				rows[k * (size_t)n_cols + (size_t)col] = v;
			continue;
		}
		unpack_xor(&r, slots, n_cols, col, rows);
	}
	return !r.over;
}
