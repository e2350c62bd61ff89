/* SPDX-License-Identifier: MIT */
/* image_index.c: the in-memory index of images and tags, refs.json, recovery on open. */
#include "runtime/image_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fts.h>
#include <jansson.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "common/log.h"

#define REFS_MAX_BYTES (64u << 20)

/* ---------------------------------------------------------------- the in-memory index */

struct image_record *image_record_find(const struct image_store *s, const char *digest)
{
	for (size_t i = 0; i < s->n_images; i++)
		if (strcmp(s->images[i].digest, digest) == 0)
			return &s->images[i];
	return NULL;
}

struct image_tag *image_tag_find(const struct image_store *s, const char *name, const char *tag)
{
	for (size_t i = 0; i < s->n_tags; i++)
		if (strcmp(s->tags[i].name, name) == 0 && strcmp(s->tags[i].tag, tag) == 0)
			return &s->tags[i];
	return NULL;
}

size_t image_tag_count_for(const struct image_store *s, const char *digest)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_tags; i++)
		n += strcmp(s->tags[i].digest, digest) == 0;
	return n;
}

int image_record_add(struct image_store *s, const struct image_record *r)
{
	struct image_record *n = reallocarray(s->images, s->n_images + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	s->images = n;
	s->images[s->n_images++] = *r;
	return 0;
}

int image_tag_set(struct image_store *s, const char *name, const char *tag, const char *digest)
{
	struct image_tag *t = image_tag_find(s, name, tag);

	if (!t) {
		t = reallocarray(s->tags, s->n_tags + 1, sizeof(*t));
		if (!t)
			return -ENOMEM;
		s->tags = t;
		t = &s->tags[s->n_tags++];
		snprintf(t->name, sizeof(t->name), "%s", name);
		snprintf(t->tag, sizeof(t->tag), "%s", tag);
	}
	snprintf(t->digest, sizeof(t->digest), "%s", digest);
	return 0;
}

void image_tag_delete_at(struct image_store *s, size_t i)
{
	memmove(&s->tags[i], &s->tags[i + 1], (s->n_tags - i - 1) * sizeof(s->tags[0]));
	s->n_tags--;
}

void image_record_delete_at(struct image_store *s, size_t i)
{
	memmove(&s->images[i], &s->images[i + 1], (s->n_images - i - 1) * sizeof(s->images[0]));
	s->n_images--;
}

static void *dup_array(const void *src, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p && n)
		memcpy(p, src, n * size);
	return p;
}

int image_index_snapshot_take(const struct image_store *s, struct index_snapshot *snap)
{
	snap->images = dup_array(s->images, s->n_images, sizeof(*s->images));
	snap->tags = dup_array(s->tags, s->n_tags, sizeof(*s->tags));
	snap->n_images = s->n_images;
	snap->n_tags = s->n_tags;
	if (snap->images && snap->tags)
		return 0;
	free(snap->images);
	free(snap->tags);
	return -ENOMEM;
}

/* Puts the snapshot back (restore) or drops it; either way the snapshot is consumed. */
void image_index_snapshot_end(struct image_store *s, struct index_snapshot *snap, bool restore)
{
	if (restore) {
		free(s->images);
		free(s->tags);
		s->images = snap->images;
		s->n_images = snap->n_images;
		s->tags = snap->tags;
		s->n_tags = snap->n_tags;
		return;
	}
	free(snap->images);
	free(snap->tags);
}

/* ---------------------------------------------------------------- refs.json */

static json_t *index_to_json(const struct image_store *s)
{
	json_t *root = json_pack("{s:i, s:[], s:[]}", "version", 1, "images", "tags");
	json_t *imgs = json_object_get(root, "images"), *tags = json_object_get(root, "tags");
	int bad = !root;

	for (size_t i = 0; !bad && i < s->n_images; i++) {
		const struct image_record *r = &s->images[i];
		bad = json_array_append_new(imgs, json_pack("{s:s, s:I, s:I, s:f}",
			"digest", r->digest, "size", (json_int_t)r->size,
			"archive_size", (json_int_t)r->archive_size, "created", r->created));
	}
	for (size_t i = 0; !bad && i < s->n_tags; i++) {
		const struct image_tag *t = &s->tags[i];
		bad = json_array_append_new(tags, json_pack("{s:s, s:s, s:s}", "name", t->name,
			"tag", t->tag, "digest", t->digest));
	}
	if (bad) {
		json_decref(root);
		return NULL;
	}
	return root;
}

int image_index_save(const struct image_store *s)
{
	char path[PATH_MAX], *text = NULL;
	json_t *root = index_to_json(s);
	int rc = -ENOMEM;

	if (root)
		text = json_dumps(root, JSON_INDENT(1));
	if (text) {
		rc = image_path_fmt(path, sizeof(path), "%s/refs.json", s->dir);
		if (!rc)
			rc = file_write_durable(path, text, strlen(text), 0644);
	}
	if (rc)
		log_error("image: failed to write %s/refs.json: %s", s->dir, strerror(-rc));
	free(text);
	json_decref(root);
	return rc;
}

static void index_load_images(struct image_store *s, json_t *arr, const char *path)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		struct image_record r = { 0 };
		json_int_t size = -1, asize = 0;
		const char *digest = NULL;
		double created = 0;

		if (json_unpack(v, "{s:s, s:I, s?I, s?F}", "digest", &digest, "size", &size,
				"archive_size", &asize, "created", &created) != 0 ||
		    !image_digest_ok(digest) || size < 0 || asize < 0 ||
		    image_record_find(s, digest)) {
			log_warn("image: skipping invalid image #%zu in %s", i, path);
			continue;
		}
		snprintf(r.digest, sizeof(r.digest), "%s", digest);
		r.size = (uint64_t)size;
		r.archive_size = (uint64_t)asize;
		r.created = created;
		if (image_record_add(s, &r) < 0)
			return;
	}
}

static void index_load_tags(struct image_store *s, json_t *arr, const char *path)
{
	const char *name = NULL, *tag = NULL, *digest = NULL;
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		if (json_unpack(v, "{s:s, s:s, s:s}", "name", &name, "tag", &tag,
				"digest", &digest) != 0 ||
		    !image_name_ok(name, strlen(name)) || !image_tag_ok(tag, strlen(tag)) ||
		    !image_digest_ok(digest) || image_tag_find(s, name, tag)) {
			log_warn("image: skipping invalid tag #%zu in %s", i, path);
			continue;
		}
		if (image_tag_set(s, name, tag, digest) < 0)
			return;
	}
}

/* Loads refs.json. Returns 0 (loaded, or absent), -EINVAL when it is not a refs index (why
 * says where), or another -errno when it cannot be read. Invalid entries are skipped. */
static int index_load(struct image_store *s, const char *path, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *root, *imgs, *tags;
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = file_read_all(path, REFS_MAX_BYTES, &text, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc == -EFBIG)
		image_set_err(why, whylen, "larger than %u bytes", REFS_MAX_BYTES);
	if (rc)
		return rc == -EFBIG ? -EINVAL : rc;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root) {
		image_set_err(why, whylen, "line %d column %d: %s", jerr.line, jerr.column,
			      jerr.text);
		return -EINVAL;
	}
	imgs = json_object_get(root, "images");
	tags = json_object_get(root, "tags");
	if (!json_is_array(imgs) || !json_is_array(tags)) {
		image_set_err(why, whylen,
			      "expected an object with \"images\" and \"tags\" arrays");
		json_decref(root);
		return -EINVAL;
	}
	index_load_images(s, imgs, path);
	index_load_tags(s, tags, path);
	json_decref(root);
	return 0;
}

/* ---------------------------------------------------------------- recovery and reconciliation */

static int ino_cmp(const void *a, const void *b)
{
	const ino_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Bytes of regular-file data under path (one file system), hard links counted once. */
static uint64_t tree_data_size(const char *path)
{
	char *const paths[] = { (char *)path, NULL };
	FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_NOCHDIR | FTS_XDEV, NULL);
	void *seen = NULL;
	uint64_t sum = 0;
	FTSENT *e;

	if (!fts)
		return 0;
	while ((e = fts_read(fts))) {
		const struct stat *st = e->fts_statp;
		if (e->fts_info != FTS_F)
			continue;
		if (st->st_nlink > 1) {
			ino_t *key = malloc(sizeof(*key)), **slot;
			if (!key)
				continue;
			*key = st->st_ino;
			slot = tsearch(key, &seen, ino_cmp);
			if (!slot || *slot != key) {
				free(key);
				continue;
			}
		}
		sum += (uint64_t)st->st_size;
	}
	tdestroy(seen, free);
	fts_close(fts);
	return sum;
}

/* Adds a rootfs directory found on disk but not in the index, tagged "recovered:<hex12>". */
static int index_adopt(struct image_store *s, const char *hex)
{
	struct image_record r = { 0 };
	char path[PATH_MAX], tag[16];
	struct stat st;
	int rc;

	snprintf(r.digest, sizeof(r.digest), DIGEST_PREFIX "%.64s", hex);
	rc = image_rootfs_path(s, hex, path, sizeof(path));
	if (rc)
		return rc;
	r.size = tree_data_size(path);
	if (stat(path, &st) == 0)
		r.created = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
	if (image_blob_path(s, hex, path, sizeof(path)) == 0 && stat(path, &st) == 0)
		r.archive_size = (uint64_t)st.st_size;
	snprintf(tag, sizeof(tag), "%.12s", hex);
	rc = image_record_add(s, &r);
	if (!rc && !image_tag_count_for(s, r.digest))
		rc = image_tag_set(s, IMAGE_RECOVERED_NAME, tag, r.digest);
	if (!rc)
		log_warn("image: recovered %s from %s/rootfs as %s:%s", r.digest, s->dir,
			 IMAGE_RECOVERED_NAME, tag);
	return rc;
}

/* Adds rootfs directories missing from the index; sets *changed when it did. */
static int index_scan_rootfs(struct image_store *s, bool *changed)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int rc = image_path_fmt(path, sizeof(path), "%s/rootfs", s->dir);

	if (rc)
		return rc;
	d = opendir(path);
	if (!d)
		return -errno;
	while (!rc && (de = readdir(d))) {
		char digest[IMAGE_DIGEST_MAX];
		if (!image_is_hex64(de->d_name))
			continue;
		snprintf(digest, sizeof(digest), DIGEST_PREFIX "%.64s", de->d_name);
		if (image_record_find(s, digest) ||
		    image_rootfs_path(s, de->d_name, path, sizeof(path)) ||
		    !image_dir_exists(path))
			continue;
		rc = index_adopt(s, de->d_name);
		*changed = true;
	}
	closedir(d);
	return rc;
}

/* Drops index entries whose rootfs is gone, and tags that point at no image. */
static void index_drop_missing(struct image_store *s, bool *changed)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < s->n_images;) {
		const char *hex = s->images[i].digest + strlen(DIGEST_PREFIX);
		if (image_rootfs_path(s, hex, path, sizeof(path)) == 0 && image_dir_exists(path)) {
			i++;
			continue;
		}
		log_warn("image: dropping %s from the index: %s is missing", s->images[i].digest,
			 path);
		image_record_delete_at(s, i);
		*changed = true;
	}
	for (size_t i = 0; i < s->n_tags;) {
		if (image_record_find(s, s->tags[i].digest)) {
			i++;
			continue;
		}
		log_warn("image: dropping tag %s:%s: image %s is missing", s->tags[i].name,
			 s->tags[i].tag, s->tags[i].digest);
		image_tag_delete_at(s, i);
		*changed = true;
	}
}

/* Moves a corrupt refs.json aside (kept for inspection) before a fresh one is written. */
static void index_quarantine(const char *path, const char *why)
{
	char aside[PATH_MAX];

	log_error("image: failed to load %s: %s; rebuilding the index from the rootfs "
		  "directories (no image files are deleted)", path, why);
	if (image_path_fmt(aside, sizeof(aside), "%s.corrupt", path) == 0 &&
	    rename(path, aside) < 0)

		log_warn("image: failed to move %s aside: %s", path, strerror(errno));
}

int image_index_open(struct image_store *s)
{
	char path[PATH_MAX], why[256] = "";
	bool changed = false;
	int rc = image_path_fmt(path, sizeof(path), "%s/refs.json", s->dir);

	if (!rc)
		rc = index_load(s, path, why, sizeof(why));
	if (rc == -EINVAL) {
		index_quarantine(path, why);
		changed = true;
		rc = 0;
	}
	if (!rc)
		index_drop_missing(s, &changed);
	if (!rc)
		rc = index_scan_rootfs(s, &changed);
	if (!rc && changed)
		rc = image_index_save(s);
	return rc;
}
