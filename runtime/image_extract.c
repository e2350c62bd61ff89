/* SPDX-License-Identifier: MIT */
/* image_extract.c: safe extraction of a rootfs archive: hostile names, links, sizes, xattrs. */
#include "runtime/image_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* Absolute names, "..", links out of the root and writes through symlinks are refused by our
 * own checks and by libarchive's; NOABSOLUTEPATHS cannot be used because every entry is
 * prefixed with the (absolute) destination instead of chdir()ing the whole process. */
#define EXTRACT_FLAGS (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | \
		       ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SPARSE |                        \
		       ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT)

struct extract_ctx {
	const char *dest;        /* canonical destination, no trailing '/' */
	uint64_t max_extracted;
	uint64_t extracted;
	unsigned entries;
	char *err;
	size_t errlen;
};

/* ---------------------------------------------------------------- extraction */

static bool has_dotdot(const char *p)
{
	for (const char *c = p; *c; c = strchrnul(c, '/')) {
		while (*c == '/')
			c++;
		if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return true;
	}
	return false;
}

const char *image_special_kind(mode_t type)
{
	switch (type) {
	case AE_IFCHR: return "character device";
	case AE_IFBLK: return "block device";
	case AE_IFIFO: return "FIFO";
	case AE_IFSOCK: return "socket";
	default: return NULL;
	}
}

/* Errors of the file system are reported as such; everything else is the archive's fault. */
static int archive_rc(struct archive *a)
{
	int e = archive_errno(a);

	switch (e) {
	case ENOSPC: case EDQUOT: case EIO: case ENOMEM: case EROFS: case EMFILE: case ENFILE:
		return -e;
	default:
		return -EINVAL;
	}
}

const char *image_archive_msg(struct archive *a)
{
	const char *m = archive_error_string(a);

	return m ? m : "unknown error";
}

/* libarchive's message about an entry, without the temporary directory's path in it. */
static const char *entry_msg(const struct extract_ctx *x, struct archive *a, char *buf,
			     size_t len)
{
	const char *msg = image_archive_msg(a);
	size_t dl = strlen(x->dest), o = 0;

	while (*msg && o + 1 < len) {
		if (dl && strncmp(msg, x->dest, dl) == 0 && msg[dl] == '/') {
			msg += dl + 1;
			continue;
		}
		buf[o++] = (*msg > 0 && *msg < 0x20) || *msg == 0x7f ? '?' : *msg;
		msg++;
	}
	buf[o] = '\0';
	return buf;
}

static int entry_check(struct extract_ctx *x, struct archive_entry *e, const char *shown)
{
	const char *path = archive_entry_pathname(e), *link = archive_entry_hardlink(e);
	int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;

	if (!path || !*path) {
		image_set_err(x->err, x->errlen, "entry #%u has an empty or unreadable name",
			      x->entries);
		return -EINVAL;
	}
	if (path[0] == '/' || has_dotdot(path)) {
		image_set_err(x->err, x->errlen, "unsafe entry '%s': %s", shown,
			      path[0] == '/' ? "absolute path" : "'..' in path");
		return -EINVAL;
	}
	if (link && (link[0] == '/' || has_dotdot(link) || !*link)) {
		char target[SHOWN_NAME_MAX + 8];
		image_shown_name(target, sizeof(target), link);
		image_set_err(x->err, x->errlen,
			      "unsafe entry '%s': hard link to '%s' outside the image", shown,
			      target);

		return -EINVAL;
	}
	if (++x->entries > IMAGE_MAX_ENTRIES) {
		image_set_err(x->err, x->errlen, "archive has more than %u entries",
			      IMAGE_MAX_ENTRIES);
		return -EFBIG;
	}
	if (size < 0 || (uint64_t)size > x->max_extracted - x->extracted) {
		image_set_err(x->err, x->errlen, "entry '%s' takes the extracted size past the "
			      "limit of %llu bytes", shown, (unsigned long long)x->max_extracted);
		return -EFBIG;
	}
	x->extracted += (uint64_t)size;
	return 0;
}

/* Drops trusted.* extended attributes: only privileged software reads them, and overlayfs,
 * which mounts these trees as lower layers, takes its instructions from trusted.overlay.*. */
static int entry_filter_xattrs(struct archive_entry *e)
{
	struct archive_entry *keep;
	const char *name;
	const void *value;
	size_t size;
	bool dropped = false;

	if (archive_entry_xattr_reset(e) == 0)
		return 0;
	keep = archive_entry_new();
	if (!keep)
		return -ENOMEM;
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (strncmp(name, "trusted.", 8) == 0)
			dropped = true;
		else
			archive_entry_xattr_add_entry(keep, name, value, size);
	}
	if (dropped) {
		archive_entry_xattr_clear(e);
		archive_entry_xattr_reset(keep);
		while (archive_entry_xattr_next(keep, &name, &value, &size) == ARCHIVE_OK)
			archive_entry_xattr_add_entry(e, name, value, size);
	}
	archive_entry_free(keep);
	return 0;
}

/* Rewrites the entry's names to live under the destination (instead of chdir()). */
static int entry_prefix(struct extract_ctx *x, struct archive_entry *e, const char *shown)
{
	char buf[PATH_MAX];
	const char *link = archive_entry_hardlink(e);

	if (image_path_fmt(buf, sizeof(buf), "%s/%s", x->dest, archive_entry_pathname(e))) {
		image_set_err(x->err, x->errlen, "entry '%s': name too long", shown);
		return -EINVAL;
	}
	archive_entry_copy_pathname(e, buf);
	if (!link)
		return 0;
	if (image_path_fmt(buf, sizeof(buf), "%s/%s", x->dest, link)) {
		image_set_err(x->err, x->errlen, "entry '%s': link target too long", shown);
		return -EINVAL;
	}
	archive_entry_copy_hardlink(e, buf);
	return 0;
}

static int entry_copy_data(struct extract_ctx *x, struct archive *in, struct archive *out,
			   const char *shown)
{
	const void *buf;
	size_t len;
	la_int64_t off;

	for (;;) {
		int r = archive_read_data_block(in, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN) {
			image_set_err(x->err, x->errlen, "failed to read entry '%s': %s", shown,
				      image_archive_msg(in));
			return -EINVAL;
		}
		if (archive_write_data_block(out, buf, len, off) < ARCHIVE_WARN) {
			char msg[256];
			image_set_err(x->err, x->errlen, "failed to write entry '%s': %s", shown,
				      entry_msg(x, out, msg, sizeof(msg)));
			return archive_rc(out);
		}
	}
}

static int extract_entry(struct extract_ctx *x, struct archive *in, struct archive *out,
			 struct archive_entry *e)
{
	char shown[SHOWN_NAME_MAX + 8], msg[256];
	const char *kind = image_special_kind(archive_entry_filetype(e));
	int rc, r;

	image_shown_name(shown, sizeof(shown), archive_entry_pathname(e));
	rc = entry_check(x, e, shown);
	if (rc)
		return rc;
	if (kind && !archive_entry_hardlink(e)) {
		log_debug("image: skipping %s '%s'", kind, shown);
		return 0;
	}
	rc = entry_prefix(x, e, shown);
	if (!rc)
		rc = entry_filter_xattrs(e);
	if (rc)
		return rc;
	r = archive_write_header(out, e);
	if (r == ARCHIVE_WARN)
		log_debug("image: entry '%s': %s", shown, entry_msg(x, out, msg, sizeof(msg)));
	if (r >= ARCHIVE_WARN && archive_entry_size(e) > 0)
		rc = entry_copy_data(x, in, out, shown);
	if (r >= ARCHIVE_WARN && !rc)
		r = archive_write_finish_entry(out);
	if (!rc && r < ARCHIVE_WARN) {
		image_set_err(x->err, x->errlen, "cannot extract entry '%s': %s", shown,
			      entry_msg(x, out, msg, sizeof(msg)));
		rc = archive_rc(out);
	}
	return rc;
}

static int extract_loop(struct extract_ctx *x, struct archive *in, struct archive *out)
{
	struct archive_entry *e;
	int rc = 0;

	for (;;) {
		int r = archive_read_next_header(in, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			image_set_err(x->err, x->errlen,
				      "failed to read archive after %u entries: %s", x->entries,
				      image_archive_msg(in));

			return -EINVAL;
		}
		rc = extract_entry(x, in, out, e);
		if (rc)
			return rc;
	}
	if (x->entries == 0) {
		image_set_err(x->err, x->errlen, "archive has no entries");
		return -EINVAL;
	}
	if (archive_write_close(out) < ARCHIVE_WARN) {
		char msg[256];
		image_set_err(x->err, x->errlen, "failed to finish extraction: %s",
			      entry_msg(x, out, msg, sizeof(msg)));
		return archive_rc(out);
	}
	return 0;
}

/* Plain tar in its dialects under the compressions libarchive decodes in-process; filters
 * that libarchive runs as external programs (lrzip, grzip, lzop...) are left out on purpose. */
static struct archive *reader_new(void)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_lz4(a);
	archive_read_support_format_tar(a);
	return a;
}

int image_extract(const char *archive_path, const char *dest, uint64_t max_extracted,
		  uint64_t *extracted, char *err, size_t errlen)
{
	struct extract_ctx x = { .max_extracted = max_extracted, .err = err, .errlen = errlen };
	struct archive *in = reader_new(), *out = archive_write_disk_new();
	char canon[PATH_MAX];
	int rc = 0;

	if (!in || !out) {
		image_set_err(err, errlen, "out of memory");
		rc = -ENOMEM;
	} else if (!realpath(dest, canon)) {
		rc = -errno;
		image_set_err(err, errlen, "failed to resolve %s: %s", dest, strerror(errno));
	} else if (archive_read_open_filename(in, archive_path, 64 * 1024) != ARCHIVE_OK) {
		image_set_err(err, errlen, "failed to open archive: %s", image_archive_msg(in));
		rc = archive_errno(in) == ENOENT ? -ENOENT : -EINVAL;
	}
	if (!rc) {
		x.dest = strcmp(canon, "/") == 0 ? "" : canon;
		archive_write_disk_set_options(out, EXTRACT_FLAGS);
		rc = extract_loop(&x, in, out);
	}
	if (!rc && extracted)
		*extracted = x.extracted;
	archive_read_free(in);
	archive_write_free(out);
	return rc;
}
