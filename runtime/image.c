/* SPDX-License-Identifier: MIT */
/* image.c: the local image store: opening, lookups, removal and garbage collection. */
#include "runtime/image_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "common/util.h"

/* ---------------------------------------------------------------- small helpers */

void image_set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

int image_path_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A printable, bounded copy of an archive entry name for messages and logs. */
void image_shown_name(char *out, size_t len, const char *name)
{
	size_t i = 0;

	for (; name && name[i] && i + 4 < len && i < SHOWN_NAME_MAX; i++)
		out[i] = (name[i] < 0x20 || name[i] == 0x7f) ? '?' : name[i];
	if (name && name[i] && i + 4 < len)
		memcpy(out + i, "...", 3), i += 3;
	out[i] = '\0';
}

bool image_is_hex64(const char *s)
{
	size_t i = 0;

	for (; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == HEX_LEN;
}

bool image_dir_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int image_rootfs_path(const struct image_store *s, const char *hex, char *buf, size_t len)
{
	return image_path_fmt(buf, len, "%s/rootfs/%s", s->dir, hex);
}

int image_blob_path(const struct image_store *s, const char *hex, char *buf, size_t len)
{
	return image_path_fmt(buf, len, "%s/blobs/sha256/%s", s->dir, hex);
}

/* ---------------------------------------------------------------- opening */

/* Removes what interrupted imports and deletions left in tmp (only names this module makes:
 * the web layer's own uploads there are not touched). */
static void tmp_cleanup(const struct image_store *s)
{
	static const char *const mine[] = { "extract-", "delete-", "blob-" };
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (image_path_fmt(dir, sizeof(dir), "%s/tmp", s->dir) || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		for (size_t i = 0; i < ARRAY_SIZE(mine); i++) {
			if (strncmp(de->d_name, mine[i], strlen(mine[i])) != 0 ||
			    image_path_fmt(path, sizeof(path), "%s/%s", dir, de->d_name))
				continue;
			log_info("image: removing leftover %s", path);
			file_remove_tree(path);
		}
	}
	closedir(d);
}

static int store_make_dirs(struct image_store *s, const char *dir)
{
	static const struct { const char *sub; mode_t mode; } subs[] = {
		{ "blobs/sha256", 0700 }, { "rootfs", 0755 }, { "tmp", 0700 },
	};
	char path[PATH_MAX];
	int rc = file_mkdir_p(dir, 0755);

	if (rc)
		return rc;
	if (!realpath(dir, s->dir))
		return -errno;
	for (size_t i = 0; !rc && i < ARRAY_SIZE(subs); i++) {
		rc = image_path_fmt(path, sizeof(path), "%s/%s", s->dir, subs[i].sub);
		if (!rc)
			rc = file_mkdir_p(path, subs[i].mode);
	}
	return rc;
}

int image_store_open(struct image_store *s, const char *dir)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->max_archive = IMAGE_DEFAULT_MAX_ARCHIVE;
	s->max_extracted = IMAGE_DEFAULT_MAX_EXTRACTED;
	rc = dir && *dir ? store_make_dirs(s, dir) : -EINVAL;
	if (!rc) {
		tmp_cleanup(s);
		rc = image_index_open(s);
	}
	if (rc) {
		log_error("image: failed to open store %s: %s", dir ? dir : "(null)", strerror(-rc));
		image_store_close(s);
	}
	return rc;
}

void image_store_close(struct image_store *s)
{
	if (!s)
		return;
	free(s->images);
	free(s->tags);
	memset(s, 0, sizeof(*s));
}

void image_store_set_limits(struct image_store *s, uint64_t max_archive, uint64_t max_extracted)
{
	s->max_archive = max_archive ? max_archive : IMAGE_DEFAULT_MAX_ARCHIVE;
	s->max_extracted = max_extracted ? max_extracted : IMAGE_DEFAULT_MAX_EXTRACTED;
}

/* ---------------------------------------------------------------- lookups */

void image_info_fill(const struct image_store *s, const struct image_record *r,
		     const char *name, const char *tag, struct image_info *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->tag, sizeof(out->tag), "%s", tag);
	snprintf(out->digest, sizeof(out->digest), "%s", r->digest);
	image_rootfs_path(s, r->digest + strlen(DIGEST_PREFIX), out->rootfs, sizeof(out->rootfs));
	out->size = r->size;
	out->created = r->created;
}

int image_resolve(const struct image_store *s, const char *ref, struct image_info *out)
{
	char name[IMAGE_NAME_MAX], tag[IMAGE_TAG_MAX], digest[IMAGE_DIGEST_MAX];
	const struct image_record *r;
	const struct image_tag *t;

	if (image_ref_parse(ref, name, sizeof(name), tag, sizeof(tag), digest, sizeof(digest)))
		return -EINVAL;
	if (digest[0]) {
		r = image_record_find(s, digest);
		tag[0] = '\0';
	} else {
		t = image_tag_find(s, name, tag);
		r = t ? image_record_find(s, t->digest) : NULL;
	}
	if (!r)
		return -ENOENT;
	image_info_fill(s, r, name, tag, out);
	return 0;
}

void image_describe_error(int rc, const char *ref, char *buf, size_t len)
{
	char shown[SHOWN_NAME_MAX + 8];

	image_shown_name(shown, sizeof(shown), ref ? ref : "");
	if (rc == -ENOENT)
		image_set_err(buf, len, "image '%s' is not in the local image store; import it "
			      "with 'berthctl image import %s ROOTFS'", shown, shown);

	else if (rc == -EINVAL)
		image_set_err(buf, len, "invalid image reference '%s': expected NAME[:TAG] or "
			      "NAME@sha256:<64 hex digits>", shown);
	else
		image_set_err(buf, len, "image '%s': %s", shown, strerror(rc < 0 ? -rc : rc));
}

static int info_cmp(const void *a, const void *b)
{
	const struct image_info *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (!c)
		c = strcmp(x->tag, y->tag);
	return c ? c : strcmp(x->digest, y->digest);
}

int image_list(const struct image_store *s, struct image_info **out, size_t *n)
{
	struct image_info *v = NULL;
	size_t k = 0, cap = s->n_tags + s->n_images;

	if (cap && !(v = calloc(cap, sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < s->n_tags; i++) {
		const struct image_record *r = image_record_find(s, s->tags[i].digest);
		if (r)
			image_info_fill(s, r, s->tags[i].name, s->tags[i].tag, &v[k++]);
	}
	for (size_t i = 0; i < s->n_images; i++)
		if (!image_tag_count_for(s, s->images[i].digest))
			image_info_fill(s, &s->images[i], "", "", &v[k++]);
	if (k)
		qsort(v, k, sizeof(*v), info_cmp);
	*out = v;
	*n = k;
	return 0;
}

/* ---------------------------------------------------------------- removal */

int image_remove(struct image_store *s, const char *ref)
{
	char name[IMAGE_NAME_MAX], tag[IMAGE_TAG_MAX], digest[IMAGE_DIGEST_MAX];
	struct index_snapshot snap;
	size_t removed = 0;
	int rc;

	if (image_ref_parse(ref, name, sizeof(name), tag, sizeof(tag), digest, sizeof(digest)))
		return -EINVAL;
	rc = image_index_snapshot_take(s, &snap);
	if (rc)
		return rc;
	for (size_t i = 0; i < s->n_tags;) {
		const struct image_tag *t = &s->tags[i];
		bool match = strcmp(t->name, name) == 0 &&
			     (digest[0] ? strcmp(t->digest, digest) == 0 : strcmp(t->tag, tag) == 0);
		if (!match) {
			i++;
			continue;
		}
		image_tag_delete_at(s, i);
		removed++;
	}
	rc = removed ? image_index_save(s) : -ENOENT;
	image_index_snapshot_end(s, &snap, rc != 0);
	if (!rc)
		log_info("image: removed %s (%zu tag%s)", ref, removed, removed == 1 ? "" : "s");
	return rc;
}

/* Blob first, then the rootfs leaves its name atomically: a crash never leaves a half rootfs
 * that looks whole, and leftovers in tmp are swept at the next open. */
static int image_files_delete(const struct image_store *s, const char *hex)
{
	char path[PATH_MAX], trash[PATH_MAX];
	int rc = image_blob_path(s, hex, path, sizeof(path));

	if (!rc && unlink(path) < 0 && errno != ENOENT)
		rc = -errno;
	if (!rc)
		rc = image_rootfs_path(s, hex, path, sizeof(path));
	if (!rc)
		rc = image_path_fmt(trash, sizeof(trash), "%s/tmp/delete-%s", s->dir, hex);
	if (!rc) {
		file_remove_tree(trash);
		if (rename(path, trash) < 0 && errno != ENOENT)
			rc = -errno;
	}
	if (!rc)
		rc = file_remove_tree(trash);
	if (rc)
		log_error("image: failed to delete image sha256:%s: %s", hex, strerror(-rc));
	return rc;
}

static bool digest_in(const char *digest, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] && strcmp(set[i], digest) == 0)
			return true;
	return false;
}

int image_gc(struct image_store *s, const char *const *in_use, size_t n)
{
	int removed = 0, rc = 0;

	for (size_t i = 0; i < s->n_images;) {
		const struct image_record *r = &s->images[i];
		if (image_tag_count_for(s, r->digest) || digest_in(r->digest, in_use, n)) {
			i++;
			continue;
		}
		rc = image_files_delete(s, r->digest + strlen(DIGEST_PREFIX));
		if (rc)
			break;
		log_info("image: deleted unused image %s", r->digest);
		image_record_delete_at(s, i);
		removed++;
	}
	if (removed) {
		int save = image_index_save(s);
		rc = rc ? rc : save;
	}
	return rc ? rc : removed;
}
