/* SPDX-License-Identifier: MIT */
/* image_internal.h: what the image*.c files share; not part of the module's interface. */
#ifndef BERTH_IMAGE_INTERNAL_H
#define BERTH_IMAGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "runtime/image.h"

#define HEX_LEN        64
#define DIGEST_PREFIX  "sha256:"
#define SHOWN_NAME_MAX 160

struct archive;

struct image_record {
	char digest[IMAGE_DIGEST_MAX];
	uint64_t size;          /* extracted data bytes */
	uint64_t archive_size;  /* blob bytes */
	double created;
};

struct image_tag {
	char name[IMAGE_NAME_MAX];
	char tag[IMAGE_TAG_MAX];
	char digest[IMAGE_DIGEST_MAX];
};

/* A copy of the index, so a failed refs.json write can put memory back as it was. */
struct index_snapshot {
	struct image_record *images;
	size_t n_images;
	struct image_tag *tags;
	size_t n_tags;
};

/* image.c: helpers and the store */

/* Formats a message into err (nothing when err is NULL or len 0). */
void image_set_err(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Formats a path into buf: 0, or -ENAMETOOLONG when it does not fit. */
int image_path_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A printable, bounded copy of an archive entry name for messages and logs. */
void image_shown_name(char *out, size_t len, const char *name);
/* True when s is 64 lowercase hex digits. */
bool image_is_hex64(const char *s);
/* True when path is a directory (links not followed). */
bool image_dir_exists(const char *path);
/* The rootfs directory of the image with digest hex: 0 or -ENAMETOOLONG. */
int image_rootfs_path(const struct image_store *s, const char *hex, char *buf, size_t len);
/* The archive blob of the image with digest hex: 0 or -ENAMETOOLONG. */
int image_blob_path(const struct image_store *s, const char *hex, char *buf, size_t len);
/* Fills *out with what the record and name:tag show of an image. */
void image_info_fill(const struct image_store *s, const struct image_record *r,
		     const char *name, const char *tag, struct image_info *out);

/* image_index.c: the in-memory index and refs.json */

/* The image with that digest, or NULL. */
struct image_record *image_record_find(const struct image_store *s, const char *digest);
/* The tag name:tag, or NULL. */
struct image_tag *image_tag_find(const struct image_store *s, const char *name, const char *tag);
/* How many tags point at digest. */
size_t image_tag_count_for(const struct image_store *s, const char *digest);
/* Appends a copy of r: 0 or -ENOMEM. */
int image_record_add(struct image_store *s, const struct image_record *r);
/* Points name:tag at digest, adding the tag when new: 0 or -ENOMEM. */
int image_tag_set(struct image_store *s, const char *name, const char *tag, const char *digest);
/* Removes tag i, keeping the order of the others. */
void image_tag_delete_at(struct image_store *s, size_t i);
/* Removes image i, keeping the order of the others. */
void image_record_delete_at(struct image_store *s, size_t i);
/* Copies the index into snap: 0 or -ENOMEM (and nothing taken). */
int image_index_snapshot_take(const struct image_store *s, struct index_snapshot *snap);
/* Puts the snapshot back (restore) or drops it; either way it is consumed. */
void image_index_snapshot_end(struct image_store *s, struct index_snapshot *snap, bool restore);
/* Writes the index to refs.json durably; 0 or -errno, logged. */
int image_index_save(const struct image_store *s);
/* Loads refs.json and reconciles it with the rootfs directories: 0 or -errno. */
int image_index_open(struct image_store *s);

/* image_ref.c: reference parsing */

/* True when s[0, n) is a valid image name (with its optional registry). */
bool image_name_ok(const char *s, size_t n);
/* True when s[0, n) is a valid tag. */
bool image_tag_ok(const char *s, size_t n);
/* True when s is "sha256:" and 64 lowercase hex digits. */
bool image_digest_ok(const char *s);

/* image_extract.c: extraction */

/* What a device, FIFO or socket entry type is called, or NULL for other types. */
const char *image_special_kind(mode_t type);
/* libarchive's error message for a, never NULL. */
const char *image_archive_msg(struct archive *a);

#endif
