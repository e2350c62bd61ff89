/* SPDX-License-Identifier: MIT */
/* ledger_segment.c: monthly ledger segment files - naming, listing, reading (plain or gzip,
 * with damage counted and skipped) and compression when a month is over. */
#include "collector/ledger.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/log.h"

int ledger_month_of(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	return (tm.tm_year + 1900) * 12 + tm.tm_mon;
}

int64_t ledger_month_start(int month)
{
	struct tm tm = { 0 };

	tm.tm_year = month / 12 - 1900;
	tm.tm_mon = month % 12;
	tm.tm_mday = 1;
	return (int64_t)timegm(&tm);
}

void ledger_segment_path(const char *dir, int month, bool gz, char *out, size_t len)
{
	snprintf(out, len, "%s/%04d-%02d.ledger%s", dir, month / 12, month % 12 + 1,
		 gz ? ".gz" : "");
}

static int name_month(const char *name, bool *gz)
{
	int y, m, n = 0;

	if (sscanf(name, "%4d-%2d.ledger%n", &y, &m, &n) != 2 || n != 14 || m < 1 || m > 12 ||
	    y < 1970)
		return -1;
	if (!strcmp(name + n, ""))
		*gz = false;
	else if (!strcmp(name + n, ".gz"))
		*gz = true;
	else
		return -1;
	return y * 12 + m - 1;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int ledger_segments_list(const char *dir, int **out, bool **gz, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int *m = NULL;
	size_t cap = 0, cnt = 0;

	*out = NULL;
	*gz = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		bool z;
		int month = name_month(e->d_name, &z);
		if (month < 0)
			continue;
		if (cnt == cap) {
			int *nm = realloc(m, (cap = cap ? cap * 2 : 32) * sizeof(*m));
			if (!nm) {
				free(m);
				closedir(d);
				return -ENOMEM;
			}
			m = nm;
		}
		/* A month may exist as both while it is compressed; encode gz in the low bit. */
		m[cnt++] = month * 2 + (z ? 1 : 0);
	}
	closedir(d);
	if (cnt)
		qsort(m, cnt, sizeof(*m), cmp_int);
	*gz = calloc(cnt ? cnt : 1, sizeof(**gz));
	if (!*gz) {
		free(m);
		return -ENOMEM;
	}
	/* Keep one entry per month: the plain file when both exist (compression unfinished). */
	size_t k = 0;
	for (size_t i = 0; i < cnt; i++) {
		int month = m[i] / 2;
		if (k && m[k - 1] == month)
			continue;
		(*gz)[k] = m[i] & 1;
		m[k++] = month;
	}
	*out = m;
	*n = k;
	return 0;
}

static void note(struct ledger_health *h, const char *path, const char *what, bool *said)
{
	if (h)
		snprintf(h->last_error, sizeof(h->last_error), "%s: %s", path, what);
	if (!*said)
		log_warn("ledger: %s: %s (the rest of the segment is still read)", path, what);
	*said = true;
}

int ledger_segment_read(const char *path, uint64_t from, struct ledger_health *h,
			int (*fn)(void *ctx, const struct ledger_rec *r), void *ctx,
			uint64_t *end_offset)
{
	static __thread char line[LEDGER_LINE_MAX];
	gzFile f = gzopen(path, "rb");
	uint64_t off = from;
	bool said = false, skipping = false;
	struct ledger_rec r;
	int ret = 0, errnum;

	if (!f)
		return errno ? -errno : -ENOMEM;
	gzbuffer(f, 256 * 1024);
	if (from && gzseek(f, (z_off_t)from, SEEK_SET) != (z_off_t)from) {
		gzclose(f);
		return -EINVAL;
	}
	for (;;) {
		size_t len;
		if (!gzgets(f, line, sizeof(line)))
			break;
		len = strlen(line);
		if (len == 0)
			break;
		if (line[len - 1] != '\n') {
			if (gzeof(f)) {
				/* In the open plain segment that is a record being appended; after
				 * a crash the next start ends it with a newline and it fails its
				 * checksum then. */
				if (gzdirect(f))
					break;
				note(h, path, "the last record is incomplete", &said);
				if (h)
					h->corrupt_records++;
				break;
			}
			if (!skipping && h)
				h->corrupt_records++;
			if (!skipping)
				note(h, path, "a record is longer than the longest allowed", &said);
			skipping = true;
			off += len;
			continue;
		}
		off += len;
		if (skipping) {
			skipping = false;
			continue;
		}
		line[--len] = '\0';
		if (len == 0)
			continue;
		if (ledger_rec_parse(line, len, &r) < 0) {
			if (h)
				h->corrupt_records++;
			note(h, path, "a record does not parse or fails its checksum", &said);
			continue;
		}
		ret = fn ? fn(ctx, &r) : 0;
		if (ret)
			break;
	}
	gzerror(f, &errnum);
	if (errnum != Z_OK && ret == 0) {
		if (h)
			h->truncated_segments++;
		note(h, path, errnum == Z_BUF_ERROR ? "the compressed segment is truncated"
						      : "the compressed segment is corrupt", &said);
	}
	gzclose(f);
	if (end_offset)
		*end_offset = off;
	return ret;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int ledger_segment_compress(const char *dir, int month)
{
	char src[600], dst[600], tmp[620], buf[65536];
	int in = -1, fd = -1, ret = 0;
	gzFile out = NULL;
	ssize_t n;

	ledger_segment_path(dir, month, false, src, sizeof(src));
	ledger_segment_path(dir, month, true, dst, sizeof(dst));
	snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	/* The index first covers every record of the month, to be sealed for the .gz. */
	ledger_segment_scan(dir, month, false, NULL, NULL, NULL);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	out = gzdopen(dup(fd), "wb6");
	if (!out) {
		ret = -ENOMEM;
		goto out;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (gzwrite(out, buf, (unsigned)n) != (int)n) {
			ret = -EIO;
			goto out;
		}
	if (n < 0)
		ret = -errno;
out:
	if (out && gzclose(out) != Z_OK && ret == 0)
		ret = -EIO;
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (in >= 0)
		close(in);
	if (ret == 0 && rename(tmp, dst) < 0)
		ret = -errno;
	if (ret == 0)
		ret = fsync_dir(dir);
	if (ret == 0)
		ledger_index_seal(dir, month);
	if (ret == 0 && unlink(src) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}
