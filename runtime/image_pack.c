/* SPDX-License-Identifier: MIT */
/* image_pack.c: packing a directory into a rootfs archive (pax, gzip). */
#include "runtime/image_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"

/* ---------------------------------------------------------------- packing a directory */

struct pack_ctx {
	struct archive *disk;
	struct archive *out;
	struct archive_entry_linkresolver *links;
	const char *root;
	size_t root_len;
	char *err;
	size_t errlen;
};

static int pack_data(struct pack_ctx *p, const char *rel)
{
	const void *buf;
	size_t len;
	la_int64_t off;

	for (;;) {
		int r = archive_read_data_block(p->disk, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r < ARCHIVE_WARN) {
			image_set_err(p->err, p->errlen, "failed to read %s/%s: %s", p->root, rel,
				      image_archive_msg(p->disk));
			return -EIO;
		}
		if (archive_write_data(p->out, buf, len) < 0) {
			image_set_err(p->err, p->errlen, "failed to write the archive: %s",
				      image_archive_msg(p->out));
			return -EIO;
		}
	}
}

static int pack_entry(struct pack_ctx *p, struct archive_entry *e)
{
	const char *full = archive_entry_pathname(e), *kind;
	struct archive_entry *spare = NULL;
	char rel[PATH_MAX];
	int r;

	if (!full || strncmp(full, p->root, p->root_len) != 0)
		return 0;
	full += p->root_len;
	while (*full == '/')
		full++;
	if (!*full)
		return 0;   /* the root itself: extraction gives the rootfs root its own mode */
	kind = image_special_kind(archive_entry_filetype(e));
	if (kind) {
		log_info("image: skipping %s %s/%s", kind, p->root, full);
		return 0;
	}
	if (image_path_fmt(rel, sizeof(rel), "%s", full))
		return -ENAMETOOLONG;
	archive_entry_copy_pathname(e, rel);
	archive_entry_linkify(p->links, &e, &spare);
	if (!e)
		return 0;
	r = archive_write_header(p->out, e);
	if (r < ARCHIVE_WARN) {
		image_set_err(p->err, p->errlen, "failed to add %s to the archive: %s", rel,
			      image_archive_msg(p->out));
		return -EIO;
	}
	return archive_entry_size(e) > 0 ? pack_data(p, rel) : 0;
}

static int pack_walk(struct pack_ctx *p)
{
	struct archive_entry *e;
	int rc = 0;

	while (!rc) {
		int r = archive_read_next_header(p->disk, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			image_set_err(p->err, p->errlen, "failed to read %s: %s", p->root,
				      image_archive_msg(p->disk));
			return -EIO;
		}
		if (r == ARCHIVE_WARN)
			log_warn("image: %s: %s", p->root, image_archive_msg(p->disk));
		archive_read_disk_descend(p->disk);
		rc = pack_entry(p, e);
	}
	if (!rc && archive_write_close(p->out) < ARCHIVE_OK) {
		image_set_err(p->err, p->errlen, "failed to finish the archive: %s",
			      image_archive_msg(p->out));
		rc = -EIO;
	}
	return rc;
}

static int pack_open(struct pack_ctx *p, int out_fd)
{
	if (!p->disk || !p->out || !p->links)
		return -ENOMEM;
	/* Like tar -H: a symlink given as the directory is followed, none inside it. */
	archive_read_disk_set_symlink_hybrid(p->disk);
	archive_read_disk_set_behavior(p->disk, ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS |
				       ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS |
				       ARCHIVE_READDISK_NO_SPARSE);
	if (archive_write_set_format_pax_restricted(p->out) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(p->out) != ARCHIVE_OK)
		return -ENOTSUP;
	archive_write_set_bytes_in_last_block(p->out, 1);
	archive_entry_linkresolver_set_strategy(p->links, archive_format(p->out));
	if (archive_write_open_fd(p->out, out_fd) != ARCHIVE_OK) {
		image_set_err(p->err, p->errlen, "failed to start the archive: %s",
			      image_archive_msg(p->out));
		return -EIO;
	}
	if (archive_read_disk_open(p->disk, p->root) != ARCHIVE_OK) {
		image_set_err(p->err, p->errlen, "failed to open %s: %s", p->root,
			      image_archive_msg(p->disk));
		return -ENOENT;
	}
	return 0;
}

int image_pack_dir(const char *dir, int out_fd, char *err, size_t errlen)
{
	struct pack_ctx p = { .err = err, .errlen = errlen };
	char root[PATH_MAX];
	struct stat st;
	int rc = 0;

	image_set_err(err, errlen, "%s", "");
	if (!dir || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		image_set_err(err, errlen, "%s is not a directory", dir ? dir : "(null)");
		return -ENOTDIR;
	}
	if (image_path_fmt(root, sizeof(root), "%s", dir))
		return -ENAMETOOLONG;
	for (size_t n = strlen(root); n > 1 && root[n - 1] == '/'; n--)
		root[n - 1] = '\0';
	p.root = root;
	p.root_len = strlen(root);
	p.disk = archive_read_disk_new();
	p.out = archive_write_new();
	p.links = archive_entry_linkresolver_new();
	rc = pack_open(&p, out_fd);
	if (!rc)
		rc = pack_walk(&p);
	if (rc && !*err)
		image_set_err(err, errlen, "failed to pack %s: %s", dir, strerror(-rc));
	archive_entry_linkresolver_free(p.links);
	archive_read_free(p.disk);
	archive_write_free(p.out);
	return rc;
}
