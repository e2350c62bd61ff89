/* SPDX-License-Identifier: MIT */
/* image.h: the local content-addressed image store (rootfs archives by sha256, tags, extraction). */
#ifndef BERTH_IMAGE_H
#define BERTH_IMAGE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define IMAGE_NAME_MAX    256   /* "registry:5000/team/app" + NUL (docker caps names at 255) */
#define IMAGE_TAG_MAX     129   /* [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} + NUL */
#define IMAGE_DIGEST_MAX  72    /* "sha256:" + 64 hex + NUL */

#define IMAGE_DEFAULT_MAX_ARCHIVE   (2ULL << 30)   /* 2 GiB of archive bytes */
#define IMAGE_DEFAULT_MAX_EXTRACTED (8ULL << 30)   /* 8 GiB of extracted file data */
#define IMAGE_MAX_ENTRIES           (1u << 20)     /* entries per archive (inode bomb guard) */

/* Name given to images found on disk but missing from refs.json (crash, corrupt index):
 * "recovered:<first 12 hex of the digest>", so they stay listed and are never collected
 * until an operator removes them. */
#define IMAGE_RECOVERED_NAME "recovered"

struct image_info {
	char name[IMAGE_NAME_MAX];      /* "busybox", "registry.example.com:5000/team/app"; "" if untagged */
	char tag[IMAGE_TAG_MAX];        /* "latest"; "" when untagged or resolved by digest */
	char digest[IMAGE_DIGEST_MAX];  /* "sha256:<hex>" of the archive bytes */
	char rootfs[PATH_MAX];          /* absolute path of the extracted root file system */
	uint64_t size;                  /* bytes of regular-file data in the rootfs */
	double created;                 /* import time, seconds since the epoch */
};

struct image_record;   /* private to image.c */
struct image_tag;      /* private to image.c */

/* Caller-owned; fields are private to image.c except the limits, which
 * image_store_set_limits() changes. Not thread-safe: one caller at a time. */
struct image_store {
	char dir[PATH_MAX];           /* canonical store directory (no symlinks) */
	uint64_t max_archive;         /* largest accepted archive, bytes */
	uint64_t max_extracted;       /* largest accepted extracted data, bytes */
	struct image_record *images;
	size_t n_images;
	struct image_tag *tags;
	size_t n_tags;
};

/* Opens (creating if needed) the store under dir: dir/blobs/sha256, dir/rootfs, dir/tmp and the
 * index dir/refs.json. Leftovers of interrupted imports and deletions in dir/tmp are removed.
 * A corrupt refs.json is logged with its path, kept as refs.json.corrupt, and the store starts
 * from the rootfs directories it finds (tagged IMAGE_RECOVERED_NAME); no blob is deleted.
 * Returns 0, or -errno with *s zeroed (nothing to close). Close with image_store_close(). */
int image_store_open(struct image_store *s, const char *dir);

/* Frees what the store holds in memory; files stay. Idempotent, safe on a zeroed struct. */
void image_store_close(struct image_store *s);

/* Sets the archive and extracted-size limits used by later imports (0 keeps the default). */
void image_store_set_limits(struct image_store *s, uint64_t max_archive, uint64_t max_extracted);

/* Imports the rootfs tar (plain, gzip, xz, bzip2, zstd...) at archive_path as name_tag
 * ("NAME" means NAME:latest). The archive is hashed (sha256), extracted once into
 * rootfs/<hex> (via a temp directory renamed into place) and kept as blobs/sha256/<hex>;
 * importing bytes already in the store only moves the tag. On success the file at
 * archive_path is consumed (moved into the store or deleted) and *out (may be NULL) describes
 * the image. On error, a message naming the cause (and the offending entry for unsafe
 * archives) is written to err, the store and its index are unchanged, nothing is left behind
 * in it, and archive_path is left for the caller to delete. Returns 0 or -EINVAL (bad ref,
 * unreadable or unsafe archive), -EFBIG (a size limit), or another -errno (I/O). */
int image_import_file(struct image_store *s, const char *name_tag, const char *archive_path,
		      struct image_info *out, char *err, size_t errlen);

/* Looks ref up: "busybox", "busybox:1.36", "library/busybox:latest",
 * "registry.example.com:5000/team/app:v1", "busybox@sha256:<hex>" (the digest must be in the
 * store; the name is then informational). Fills *out and returns 0, -ENOENT when the image is
 * not in the store, or -EINVAL for a malformed ref (*out unchanged on error). */
int image_resolve(const struct image_store *s, const char *ref, struct image_info *out);

/* Writes a one-line explanation of an image_resolve()/image_import_file() failure rc for ref
 * into buf (what the daemon puts into CannotPullContainerError). Never fails. */
void image_describe_error(int rc, const char *ref, char *buf, size_t len);

/* Lists the store: one entry per tag, plus one with empty name and tag per untagged image.
 * On success *out is a malloc'd array of *n entries the caller frees (NULL when empty).
 * Returns 0 or -ENOMEM (*out and *n untouched). */
int image_list(const struct image_store *s, struct image_info **out, size_t *n);

/* Removes a tag: "name[:tag]" removes that tag, "name@sha256:<hex>" removes every tag of name
 * pointing at the digest. Files stay until image_gc(). Returns 0, -ENOENT (no such tag),
 * -EINVAL (malformed ref) or -errno when the index cannot be written (nothing changed). */
int image_remove(struct image_store *s, const char *ref);

/* Deletes the blob and rootfs of every image that no tag refers to and whose digest is not
 * among the n strings in_use ("sha256:<hex>", e.g. the images of running tasks). Returns the
 * number of images deleted, or -errno (images deleted before the error stay deleted). */
int image_gc(struct image_store *s, const char *const *in_use, size_t n);

/* Extracts the archive at archive_path into dest, an existing empty directory, refusing the
 * whole archive on an absolute path, a ".." component, a link leaving dest or an entry written
 * through a symlink; device nodes, FIFOs and sockets are skipped; owners are numeric, modes
 * (setuid included), times and xattrs are kept. Stops with -EFBIG past max_extracted bytes of
 * file data or IMAGE_MAX_ENTRIES entries. Sets *extracted (may be NULL) to the data bytes.
 * Returns 0 or -errno with a message in err; on error dest may hold partial content that the
 * caller removes (image_import_file does). */
int image_extract(const char *archive_path, const char *dest, uint64_t max_extracted,
		  uint64_t *extracted, char *err, size_t errlen);

/* Writes dir as a gzip'd pax tar to out_fd (not closed): entries relative to dir, numeric
 * owners, symlinks as symlinks, hard links preserved, xattrs kept, other mounts not entered;
 * devices, FIFOs and sockets are skipped. Returns 0 or -errno with a message in err (the
 * output is then incomplete). */
int image_pack_dir(const char *dir, int out_fd, char *err, size_t errlen);

/* Parses an image reference the way docker does (the last ':' after the last '/' starts the
 * tag, '@' starts the digest) and normalises docker.io/library/ away, so "busybox",
 * "library/busybox" and "docker.io/library/busybox" name the same image. Writes the name, the
 * tag ("latest" when neither tag nor digest is given, "" when only a digest is) and the digest
 * ("sha256:<hex>" or ""); any output may be NULL with size 0. Returns 0, -EINVAL for a
 * malformed ref, or -ENAMETOOLONG when a buffer is too small. */
int image_ref_parse(const char *ref, char *name, size_t name_len, char *tag, size_t tag_len,
		    char *digest, size_t digest_len);

#endif
