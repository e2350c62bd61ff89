/* SPDX-License-Identifier: MIT */
/* ledger_index.c: the binary index of a ledger segment (YYYY-MM.ledger.idx) - its records
 * decoded once, so reports read compact binary blocks instead of inflating, checksumming and
 * parsing text lines. The text segment stays the record of truth: the index is derived from
 * it, checked against it, and rebuilt from it whenever it does not match. */
#include "collector/ledger.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/*
 * Layout (integers little-endian):
 *   file header  "BLIX" u32 version(1) u64 inode of the plain segment the index was begun on
 *   block        "BLKB" u32 type u64 text_from u64 text_to u32 payload_len u32 entries
 *                u64 corrupt_records u32 truncated u32 error_len   (48 bytes)
 *                payload (error text, then entries) u32 crc32(header + payload)
 * A records block (type 1) holds the records of the text bytes [text_from, text_to) of the
 * segment (decompressed offsets) and what reading them found wrong; blocks follow each other
 * without gaps from offset 0. A seal block (type 2, after the last records block) carries the
 * size and the gzip trailer of the compressed segment the blocks were checked against.
 *
 * Entries: a kind byte, then LEB128 varints:
 *   'T' ordinal [id-len id] (only when the ordinal is new) cluster service family (len+bytes)
 *       revision arch spot cpu mem storage start tags(len+bytes)
 *   'R' flags(1 final, 2 have_net, 4 from given, 8 to given) ordinal+1 (0: id-len id follows)
 *       zigzag(hour/3600 - previous R hour/3600) [from] [to] cpu_us mem_mib_s io [net]
 *   'S' repo(len+bytes) hour byte_seconds
 * Ordinals number the task ids of the whole index in the order they first appear.
 */
#define IDX_MAGIC 0x58494c42u      /* "BLIX" */
#define BLK_MAGIC 0x424b4c42u      /* "BLKB" */
#define IDX_VERSION 1
#define IDX_HDR 16
#define BLK_HDR 48
#define BLK_RECORDS 1
#define BLK_SEAL 2
#define IDX_MAX_TASKS (1u << 22)

struct names {
	char (*id)[40];
	size_t n, cap;
	uint32_t *slot;               /* open addressing: ordinal + 1, 0 empty */
	size_t scap;
	int64_t prev_hour;            /* of the last R entry, in hours */
};

static uint32_t fnv(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static void names_free(struct names *nm)
{
	free(nm->id);
	free(nm->slot);
	memset(nm, 0, sizeof(*nm));
}

/* The ordinal of id, or -1. */
static long names_find(const struct names *nm, const char *id)
{
	if (!nm->scap)
		return -1;
	for (size_t j = fnv(id) & (nm->scap - 1);; j = (j + 1) & (nm->scap - 1)) {
		if (!nm->slot[j])
			return -1;
		if (!strcmp(nm->id[nm->slot[j] - 1], id))
			return (long)nm->slot[j] - 1;
	}
}

static int names_add(struct names *nm, const char *id)
{
	if (nm->n >= IDX_MAX_TASKS)
		return -E2BIG;
	if (nm->n == nm->cap) {
		size_t ncap = nm->cap ? nm->cap * 2 : 256;
		void *p = realloc(nm->id, ncap * sizeof(*nm->id));
		if (!p)
			return -ENOMEM;
		nm->id = p;
		nm->cap = ncap;
	}
	if ((nm->n + 1) * 2 > nm->scap) {
		size_t ncap = nm->scap ? nm->scap * 2 : 512;
		uint32_t *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		for (size_t i = 0; i < nm->n; i++) {
			size_t j = fnv(nm->id[i]) & (ncap - 1);
			while (ns[j])
				j = (j + 1) & (ncap - 1);
			ns[j] = (uint32_t)i + 1;
		}
		free(nm->slot);
		nm->slot = ns;
		nm->scap = ncap;
	}
	snprintf(nm->id[nm->n], sizeof(nm->id[0]), "%s", id);
	size_t j = fnv(id) & (nm->scap - 1);
	while (nm->slot[j])
		j = (j + 1) & (nm->scap - 1);
	nm->slot[j] = (uint32_t)++nm->n;
	return 0;
}

/* ---- encoding ------------------------------------------------------------------------------ */

struct buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 65536;
		while (ncap < b->len + n)
			ncap *= 2;
		uint8_t *np = realloc(b->p, ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put_v(struct buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	do {
		t[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	put(b, t, n);
}

static void put_s(struct buf *b, const char *s, size_t n)
{
	put_v(b, n);
	put(b, s, n);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
	return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static int encode(struct buf *b, struct names *nm, const struct ledger_rec *r)
{
	uint8_t k = (uint8_t)r->kind;
	long ord;
	int ret;

	switch (r->kind) {
	case 'T':
		ord = names_find(nm, r->t.id);
		put(b, &k, 1);
		if (ord < 0) {
			if ((ret = names_add(nm, r->t.id)) < 0)
				return ret;
			put_v(b, nm->n - 1);
			put_s(b, r->t.id, strlen(r->t.id));
		} else {
			put_v(b, (uint64_t)ord);
		}
		put_s(b, r->t.cluster, strlen(r->t.cluster));
		put_s(b, r->t.service, strlen(r->t.service));
		put_s(b, r->t.family, strlen(r->t.family));
		put_v(b, (uint64_t)r->t.revision);
		put_v(b, (uint64_t)r->t.arch);
		put_v(b, r->t.spot);
		put_v(b, (uint64_t)r->t.cpu_units);
		put_v(b, (uint64_t)r->t.mem_mib);
		put_v(b, (uint64_t)r->t.storage_gib);
		put_v(b, (uint64_t)r->t.start);
		put_s(b, r->tags, r->tags_len);
		break;
	case 'R': {
		uint8_t fl = (uint8_t)((r->final ? 1 : 0) | (r->have_net ? 2 : 0) |
				       (r->from ? 4 : 0) | (r->to != 3600 ? 8 : 0));
		int64_t h = r->hour / 3600, d = h - nm->prev_hour;
		ord = names_find(nm, r->task);
		put(b, &k, 1);
		put(b, &fl, 1);
		put_v(b, (uint64_t)(ord + 1));
		if (ord < 0)
			put_s(b, r->task, strlen(r->task));
		put_v(b, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
		nm->prev_hour = h;
		if (fl & 4)
			put_v(b, (uint64_t)r->from);
		if (fl & 8)
			put_v(b, (uint64_t)r->to);
		put_v(b, r->cpu_us);
		put_v(b, r->mem_mib_s);
		put_v(b, r->io_bytes);
		if (fl & 2)
			put_v(b, r->net_bytes);
		break;
	}
	case 'S':
		put(b, &k, 1);
		put_s(b, r->repo, strlen(r->repo));
		put_v(b, (uint64_t)r->hour);
		put_v(b, r->byte_seconds);
		break;
	default:
		return 0; /* H: nothing a reader needs */
	}
	return b->oom ? -ENOMEM : 1;
}

/* ---- decoding ------------------------------------------------------------------------------ */

struct rd {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t get_v(struct rd *d)
{
	uint64_t v = 0;

	for (int s = 0; s < 64; s += 7) {
		if (d->p >= d->end) {
			d->bad = true;
			return 0;
		}
		uint8_t c = *d->p++;
		v |= (uint64_t)(c & 0x7f) << s;
		if (!(c & 0x80))
			return v;
	}
	d->bad = true;
	return 0;
}

static uint64_t get_max(struct rd *d, uint64_t max)
{
	uint64_t v = get_v(d);

	if (v > max)
		d->bad = true;
	return v > max ? 0 : v;
}

static void get_str(struct rd *d, char *out, size_t cap, bool empty_ok)
{
	uint64_t n = get_v(d);

	if (d->bad || n >= cap || n > (uint64_t)(d->end - d->p) || (!empty_ok && !n) ||
	    memchr(d->p, '\0', (size_t)n)) {
		d->bad = true;
		out[0] = '\0';
		return;
	}
	memcpy(out, d->p, (size_t)n);
	out[n] = '\0';
	d->p += n;
}

#define TIME_MAX 253402300799LL

/* Decodes the entries of one records block, calling fn for each; 0, fn's value, or -EINVAL
 * when the payload is malformed (the entries before the damage were delivered). */
static int decode(const uint8_t *p, size_t len, struct names *nm, struct ledger_rec *r,
		  int (*fn)(void *ctx, const struct ledger_rec *r), void *ctx)
{
	struct rd d = { p, p + len, false };
	int ret;

	while (d.p < d.end) {
		uint8_t k = *d.p++;
		uint64_t ord, len_tags;
		r->kind = (char)k;
		r->ref = 0;
		switch (k) {
		case 'T':
			ord = get_v(&d);
			if (d.bad || ord > nm->n)
				return -EINVAL;
			if (ord == nm->n) {
				char id[40];
				get_str(&d, id, sizeof(id), false);
				if (d.bad || names_find(nm, id) >= 0 || names_add(nm, id) < 0)
					return -EINVAL;
			}
			memcpy(r->t.id, nm->id[ord], sizeof(r->t.id));
			get_str(&d, r->t.cluster, sizeof(r->t.cluster), false);
			get_str(&d, r->t.service, sizeof(r->t.service), true);
			get_str(&d, r->t.family, sizeof(r->t.family), true);
			r->t.revision = (int)get_max(&d, 1000000);
			r->t.arch = (enum price_arch)get_max(&d, PRICE_ARCH_COUNT - 1);
			r->t.spot = get_max(&d, 1) != 0;
			r->t.cpu_units = (int)get_max(&d, 1 << 24);
			r->t.mem_mib = (int)get_max(&d, 1 << 30);
			r->t.storage_gib = (int)get_max(&d, 1 << 20);
			r->t.start = (int64_t)get_max(&d, TIME_MAX);
			len_tags = get_v(&d);
			if (d.bad || len_tags < 2 || len_tags > LEDGER_TAGS_MAX ||
			    len_tags > (uint64_t)(d.end - d.p) || d.p[0] != '{' ||
			    d.p[len_tags - 1] != '}')
				return -EINVAL;
			r->tags = (const char *)d.p;
			r->tags_len = (size_t)len_tags;
			d.p += len_tags;
			r->ref = (uint32_t)ord + 1;
			break;
		case 'R': {
			uint8_t fl;
			int64_t h;
			uint64_t z;
			if (d.p >= d.end)
				return -EINVAL;
			fl = *d.p++;
			if (fl & ~15u)
				return -EINVAL;
			ord = get_v(&d);
			if (d.bad || ord > nm->n)
				return -EINVAL;
			if (ord)
				memcpy(r->task, nm->id[ord - 1], sizeof(r->task));
			else
				get_str(&d, r->task, sizeof(r->task), false);
			r->ref = (uint32_t)ord;
			z = get_v(&d);
			h = (int64_t)((z >> 1) ^ (~(z & 1) + 1));
			if (h < -TIME_MAX / 3600 || h > TIME_MAX / 3600)
				return -EINVAL;
			h += nm->prev_hour;
			if (h < 0 || h > TIME_MAX / 3600)
				return -EINVAL;
			nm->prev_hour = h;
			r->hour = h * 3600;
			r->from = fl & 4 ? (int)get_max(&d, 3599) : 0;
			r->to = fl & 8 ? (int)get_max(&d, 3600) : 3600;
			r->cpu_us = get_v(&d);
			r->mem_mib_s = get_v(&d);
			r->io_bytes = get_v(&d);
			r->net_bytes = fl & 2 ? get_v(&d) : 0;
			r->have_net = fl & 2;
			r->final = fl & 1;
			if (d.bad || r->to <= r->from)
				return -EINVAL;
			break;
		}
		case 'S':
			get_str(&d, r->repo, sizeof(r->repo), false);
			r->hour = (int64_t)get_max(&d, TIME_MAX);
			r->byte_seconds = get_v(&d);
			break;
		default:
			return -EINVAL;
		}
		if (d.bad)
			return -EINVAL;
		if (fn && (ret = fn(ctx, r)) != 0)
			return ret;
	}
	return 0;
}

/* ---- the index file ------------------------------------------------------------------------ */

struct key {
	bool gz;
	uint64_t size;                /* of the segment file */
	uint64_t ino;
	uint8_t trailer[8];           /* gz: its last 8 bytes (CRC-32 and size of the text) */
};

static int seg_key(const char *path, bool gz, struct key *k)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	memset(k, 0, sizeof(*k));
	k->gz = gz;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	k->size = (uint64_t)st.st_size;
	k->ino = (uint64_t)st.st_ino;
	if (ret == 0 && gz && (st.st_size < 18 || pread(fd, k->trailer, 8, st.st_size - 8) != 8))
		ret = -EINVAL;
	close(fd);
	return ret;
}

/* The index image's valid prefix: its length, with the records blocks decoded through fn
 * (unless fn is NULL and deliver is false) and their findings added to h. *covered gets the
 * text offset the blocks reach, *sealed whether a seal matching k ends them. A stop by fn is
 * returned in *stop. */
static size_t scan(const uint8_t *img, size_t len, const struct key *k, bool check_crc,
		   struct names *nm, struct ledger_rec *r, struct ledger_health *h,
		   int (*fn)(void *ctx, const struct ledger_rec *r), void *ctx, uint64_t *covered,
		   bool *sealed, int *stop)
{
	size_t pos = IDX_HDR;

	*covered = 0;
	*sealed = false;
	*stop = 0;
	if (len < IDX_HDR || get_u32(img) != IDX_MAGIC || get_u32(img + 4) != IDX_VERSION)
		return 0;
	if (k && !k->gz && get_u64(img + 8) != k->ino)
		return 0;
	while (pos + BLK_HDR + 4 <= len && !*sealed) {
		const uint8_t *b = img + pos;
		uint32_t type = get_u32(b + 4), plen = get_u32(b + 24), elen = get_u32(b + 44);
		uint64_t from = get_u64(b + 8), to = get_u64(b + 16);
		if (get_u32(b) != BLK_MAGIC || plen > len - pos - BLK_HDR - 4 || elen > plen ||
		    from != *covered || to < from)
			break;
		if (check_crc && (uint32_t)crc32(0L, b, BLK_HDR + plen) != get_u32(b + BLK_HDR + plen))
			break;
		if (type == BLK_SEAL) {
			if (plen != 16 || to != from || !k || !k->gz || get_u64(b + BLK_HDR) != k->size ||
			    memcmp(b + BLK_HDR + 8, k->trailer, 8))
				break;
			*sealed = true;
		} else if (type == BLK_RECORDS) {
			/* A plain segment only grows; one shorter than the blocks is not theirs. */
			if (k && !k->gz && to > k->size)
				break;
			int ret = decode(b + BLK_HDR + elen, plen - elen, nm, r, fn, ctx);
			if (ret == -EINVAL)
				break;
			if (ret) {
				*stop = ret;
				return pos;
			}
			if (h) {
				h->corrupt_records += get_u64(b + 28);
				h->truncated_segments += get_u32(b + 36) ? 1 : 0;
				if (elen)
					snprintf(h->last_error, sizeof(h->last_error), "%.*s",
						 (int)elen, (const char *)b + BLK_HDR);
			}
			*covered = to;
		} else {
			break;
		}
		pos += BLK_HDR + plen + 4;
	}
	return pos;
}

/* CRC-32 of the last (at most 64) bytes of the text range [from, to) of a plain segment: a
 * cheap check that the text a block was made from is still there. */
static uint32_t text_tail_crc(const char *seg, uint64_t from, uint64_t to)
{
	uint8_t t[64];
	uint64_t a = to - from > sizeof(t) ? to - sizeof(t) : from;
	int fd = open(seg, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? pread(fd, t, (size_t)(to - a), (off_t)a) : -1;

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)(to - a) ? (uint32_t)crc32(0L, t, (uInt)n) : 0;
}

/* Whether the last records block of img still matches the text of the plain segment (a file
 * copied over the segment keeps its inode but not its content). */
static bool tail_matches(const uint8_t *img, size_t len, const char *seg)
{
	size_t pos = IDX_HDR;
	const uint8_t *last = NULL;

	if (len < IDX_HDR || get_u32(img) != IDX_MAGIC || get_u32(img + 4) != IDX_VERSION)
		return true; /* nothing to check: scan finds no blocks */
	while (pos + BLK_HDR + 4 <= len) {
		const uint8_t *b = img + pos;
		uint32_t plen = get_u32(b + 24);
		if (get_u32(b) != BLK_MAGIC || plen > len - pos - BLK_HDR - 4)
			break;
		if (get_u32(b + 4) == BLK_RECORDS && get_u64(b + 16) > get_u64(b + 8))
			last = b;
		pos += BLK_HDR + plen + 4;
	}
	return !last || text_tail_crc(seg, get_u64(last + 8), get_u64(last + 16)) ==
				get_u32(last + 40);
}

/* Whether the blocks of img end in a seal for k (headers only; scan checks the rest). */
static bool sealed_for(const uint8_t *img, size_t len, const struct key *k)
{
	size_t pos = IDX_HDR;

	if (len < IDX_HDR || get_u32(img) != IDX_MAGIC || get_u32(img + 4) != IDX_VERSION)
		return false;
	while (pos + BLK_HDR + 4 <= len) {
		const uint8_t *b = img + pos;
		uint32_t plen = get_u32(b + 24);
		if (get_u32(b) != BLK_MAGIC || plen > len - pos - BLK_HDR - 4)
			return false;
		if (get_u32(b + 4) == BLK_SEAL)
			return plen == 16 && get_u64(b + BLK_HDR) == k->size &&
			       !memcmp(b + BLK_HDR + 8, k->trailer, 8);
		pos += BLK_HDR + plen + 4;
	}
	return false;
}

int ledger_index_parse(const void *img, size_t len, bool check_crc,
		       int (*fn)(void *ctx, const struct ledger_rec *r), void *ctx,
		       struct ledger_health *h, uint64_t *covered)
{
	struct names nm = { 0 };
	struct ledger_rec *r = calloc(1, sizeof(*r));
	uint64_t cov;
	bool sealed;
	int stop;
	size_t n;

	if (!r)
		return -ENOMEM;
	n = scan(img, len, NULL, check_crc, &nm, r, h, fn, ctx, &cov, &sealed, &stop);
	names_free(&nm);
	free(r);
	if (covered)
		*covered = cov;
	return stop ? stop : n == len ? 0 : -EINVAL;
}

void ledger_index_path(const char *dir, int month, char *out, size_t len)
{
	snprintf(out, len, "%s/%04d-%02d.ledger.idx", dir, month / 12, month % 12 + 1);
}

static int write_all_at(int fd, const void *p, size_t n, off_t off)
{
	const uint8_t *c = p;

	while (n) {
		ssize_t w = pwrite(fd, c, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		c += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

/* Maps the index (read-only; the caller holds its lock, and every writer takes it). */
static int read_img(int fd, uint8_t **out, size_t *len)
{
	struct stat st;
	void *p;

	*out = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size == 0)
		return 0;
	if ((uint64_t)st.st_size > (uint64_t)1 << 34)
		return -EFBIG;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	*out = p;
	*len = (size_t)st.st_size;
	return 0;
}

static void img_free(uint8_t *img, size_t len)
{
	if (img)
		munmap(img, len);
}

/* A block around payload; appended to the index at off. Returns the new end or -errno. */
static int64_t put_block(int fd, off_t off, uint32_t type, uint64_t from, uint64_t to,
			 const struct ledger_health *h, const uint8_t *payload, size_t plen,
			 uint32_t tail_crc)
{
	uint8_t hdr[BLK_HDR], crcb[4];
	size_t elen = h && h->last_error[0] && (h->corrupt_records || h->truncated_segments)
			      ? strlen(h->last_error) : 0;
	uint32_t crc;
	int ret;

	if (plen + elen > UINT32_MAX - 64)
		return -EFBIG;
	put_u32(hdr, BLK_MAGIC);
	put_u32(hdr + 4, type);
	put_u64(hdr + 8, from);
	put_u64(hdr + 16, to);
	put_u32(hdr + 24, (uint32_t)(plen + elen));
	put_u64(hdr + 28, h ? h->corrupt_records : 0);
	put_u32(hdr + 36, h && h->truncated_segments ? 1 : 0);
	put_u32(hdr + 40, tail_crc);
	put_u32(hdr + 44, (uint32_t)elen);
	crc = (uint32_t)crc32(0L, hdr, BLK_HDR);
	crc = (uint32_t)crc32(crc, (const Bytef *)(h ? h->last_error : ""), (uInt)elen);
	crc = (uint32_t)crc32(crc, payload, (uInt)plen);
	put_u32(crcb, crc);
	if ((ret = write_all_at(fd, hdr, BLK_HDR, off)) < 0 ||
	    (elen && (ret = write_all_at(fd, h->last_error, elen, off + BLK_HDR)) < 0) ||
	    (plen && (ret = write_all_at(fd, payload, plen, off + BLK_HDR + (off_t)elen)) < 0) ||
	    (ret = write_all_at(fd, crcb, 4, off + BLK_HDR + (off_t)(plen + elen))) < 0)
		return ret;
	return off + BLK_HDR + (int64_t)(plen + elen) + 4;
}

static int64_t put_seal(int fd, off_t off, uint64_t at, const struct key *k)
{
	uint8_t p[16];

	put_u64(p, k->size);
	memcpy(p + 8, k->trailer, 8);
	return put_block(fd, off, BLK_SEAL, at, at, NULL, p, sizeof(p), 0);
}

struct tail {
	struct buf b;
	struct names *nm;
	int (*fn)(void *ctx, const struct ledger_rec *r);
	void *ctx;
	int err;
};

static int tail_rec(void *ctx, const struct ledger_rec *r)
{
	struct tail *t = ctx;
	int ret;

	if (!t->err && (ret = encode(&t->b, t->nm, r)) < 0)
		t->err = ret;
	if (r->kind == 'T' && !t->err) {
		/* Text records carry no ordinal; give the reader the one the index uses. */
		struct ledger_rec copy = *r;
		long o = names_find(t->nm, r->t.id);
		copy.ref = o >= 0 ? (uint32_t)o + 1 : 0;
		return t->fn ? t->fn(t->ctx, &copy) : 0;
	}
	if (r->kind == 'R' && !t->err) {
		struct ledger_rec copy = *r;
		long o = names_find(t->nm, r->task);
		copy.ref = o >= 0 ? (uint32_t)o + 1 : 0;
		return t->fn ? t->fn(t->ctx, &copy) : 0;
	}
	return t->fn ? t->fn(t->ctx, r) : 0;
}

int ledger_segment_scan(const char *dir, int month, bool gz, struct ledger_health *h,
			int (*fn)(void *ctx, const struct ledger_rec *r), void *ctx)
{
	char seg[600], idx[600];
	struct key k;
	struct names nm = { 0 };
	struct ledger_rec *r = NULL;
	struct tail t = { .fn = fn, .ctx = ctx };
	struct ledger_health th = { 0 };
	uint8_t *img = NULL, hdr[IDX_HDR];
	size_t len = 0, good;
	uint64_t covered = 0, end = 0;
	bool sealed = false, writable;
	int fd, ret, stop = 0;
	int64_t pos;

	ledger_segment_path(dir, month, gz, seg, sizeof(seg));
	ledger_index_path(dir, month, idx, sizeof(idx));
	if ((ret = seg_key(seg, gz, &k)) < 0)
		return ledger_segment_read(seg, 0, h, fn, ctx, NULL);
	fd = open(idx, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	writable = fd >= 0;
	if (fd < 0)
		fd = open(idx, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || flock(fd, writable ? LOCK_EX : LOCK_SH) < 0 || read_img(fd, &img, &len) < 0 ||
	    !(r = calloc(1, sizeof(*r)))) {
		/* No index to use: the text alone. */
		if (fd >= 0)
			close(fd);
		img_free(img, len);
		free(r);
		return ledger_segment_read(seg, 0, h, fn, ctx, NULL);
	}
	/* The blocks of a compressed segment are used only when a seal proves they were made
	 * from this very file; without one the index is rebuilt from the text. */
	good = (gz ? sealed_for(img, len, &k) : tail_matches(img, len, seg))
		       ? scan(img, len, &k, true, &nm, r, h, fn, ctx, &covered, &sealed, &stop) : 0;
	img_free(img, len);
	if (stop) {
		ret = stop;
		goto out;
	}
	if (sealed) {
		ret = 0;
		goto out;
	}
	/* The rest comes from the text: from where the blocks end in a plain segment; from the
	 * start of a compressed one (its blocks are trusted only with a seal). */
	t.nm = &nm;
	ret = ledger_segment_read(seg, covered, &th, tail_rec, &t, &end);
	if (h) {
		h->corrupt_records += th.corrupt_records;
		h->truncated_segments += th.truncated_segments;
		h->duplicate_records += th.duplicate_records;
		if (th.last_error[0])
			snprintf(h->last_error, sizeof(h->last_error), "%s", th.last_error);
	}
	if (ret || t.err || !writable || t.b.oom)
		goto out;
	pos = (int64_t)good;
	if (good == 0) {
		put_u32(hdr, IDX_MAGIC);
		put_u32(hdr + 4, IDX_VERSION);
		put_u64(hdr + 8, gz ? 0 : k.ino);
		if (write_all_at(fd, hdr, IDX_HDR, 0) < 0)
			goto out;
		pos = IDX_HDR;
	}
	if (end > covered || th.corrupt_records || th.truncated_segments)
		pos = put_block(fd, (off_t)pos, BLK_RECORDS, covered, end, &th, t.b.p, t.b.len,
				gz ? 0 : text_tail_crc(seg, covered, end));
	if (pos >= 0 && gz)
		pos = put_seal(fd, (off_t)pos, end, &k);
	if ((pos < 0 || ftruncate(fd, (off_t)pos) < 0) && ftruncate(fd, 0) < 0)
		log_warn("ledger: cannot empty the half-written index of %s: %s", seg,
			 strerror(errno)); /* its blocks' checks still refuse it; rebuilt next time */
out:
	names_free(&nm);
	free(t.b.p);
	free(r);
	close(fd);
	return ret;
}

int ledger_index_seal(const char *dir, int month)
{
	char plain[600], gzp[600], idx[600];
	struct key kp, kg;
	struct names nm = { 0 };
	struct ledger_rec *r = calloc(1, sizeof(*r));
	uint8_t *img = NULL;
	size_t len = 0, good;
	uint64_t covered = 0;
	bool sealed;
	int fd, stop, ret;

	ledger_segment_path(dir, month, false, plain, sizeof(plain));
	ledger_segment_path(dir, month, true, gzp, sizeof(gzp));
	ledger_index_path(dir, month, idx, sizeof(idx));
	if (!r)
		return -ENOMEM;
	fd = open(idx, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		free(r);
		return -errno;
	}
	ret = seg_key(plain, false, &kp);
	if (ret == 0)
		ret = seg_key(gzp, true, &kg);
	if (ret == 0 && (flock(fd, LOCK_EX) < 0 || read_img(fd, &img, &len) < 0))
		ret = -EIO;
	if (ret == 0) {
		good = scan(img, len, &kp, true, &nm, r, NULL, NULL, NULL, &covered, &sealed, &stop);
		/* Only an index of every byte of the plain segment stands for the .gz. */
		if (!good || sealed || covered != kp.size)
			ret = -EINVAL;
		else {
			int64_t end = put_seal(fd, (off_t)good, covered, &kg);
			if (end < 0 || ftruncate(fd, (off_t)end) < 0)
				ret = -EIO;
		}
	}
	if (ret < 0)
		unlink(idx); /* rebuilt from the .gz by the next reader */
	img_free(img, len);
	free(r);
	names_free(&nm);
	close(fd);
	return ret;
}
