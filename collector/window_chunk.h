/* SPDX-License-Identifier: MIT */
/* window_chunk.h: the compressed encoding of the collector's window chunks (internal to
 * collector/, public for its unit tests). */
#ifndef BERTH_COLLECTOR_WINDOW_CHUNK_H
#define BERTH_COLLECTOR_WINDOW_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A chunk is `slots` rows of n_cols floats (row-major, as the open chunk is kept), encoded
 * column by column. A column whose slots all hold the same bits takes "1" + those 32 bits.
 * Any other takes "0" and then each slot's bits XORed with the previous slot's (Gorilla; the
 * first against 0): "0" for an unchanged value, "10" + the meaningful bits when they fit in
 * the previous value's window of leading/trailing zeros, else "11" + 5 bits of leading zeros
 * + 5 bits of (length - 1) + the meaningful bits. Encoding is exact: every float, NaNs and
 * signed zeros included, decodes to the same bits.
 */

/* The most bytes a chunk of slots x n_cols can take. */
#define WINDOW_CHUNK_MAX_BYTES(slots, n_cols) ((1 + (size_t)(slots) * 44) * (size_t)(n_cols) / 8 + 1)

/* Encodes rows[slots x n_cols] into out (at least WINDOW_CHUNK_MAX_BYTES); returns the bytes
 * written. */
size_t window_chunk_pack(const float *rows, unsigned slots, int n_cols, uint8_t *out);

/* Decodes len bytes of an encoded chunk into rows[slots x n_cols]. false (rows partly
 * written) when the bytes end before the chunk does. */
bool window_chunk_unpack(const uint8_t *in, size_t len, unsigned slots, int n_cols, float *rows);

#endif
