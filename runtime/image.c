/* SPDX-License-Identifier: MIT */
/* image.c: the local image store: refs parsing, sha256 blobs, safe rootfs extraction, refs.json. */
#include "runtime/image.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <search.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "common/util.h"

#define HEX_LEN        64
#define DIGEST_PREFIX  "sha256:"
#define REFS_MAX_BYTES (64u << 20)
#define SHOWN_NAME_MAX 160

/* Absolute names, "..", links out of the root and writes through symlinks are refused by our
 * own checks and by libarchive's; NOABSOLUTEPATHS cannot be used because every entry is
 * prefixed with the (absolute) destination instead of chdir()ing the whole process. */
#define EXTRACT_FLAGS (ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | \
		       ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SPARSE |                        \
		       ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT)

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

struct extract_ctx {
	const char *dest;        /* canonical destination, no trailing '/' */
	uint64_t max_extracted;
	uint64_t extracted;
	unsigned entries;
	char *err;
	size_t errlen;
};

/* State of one import, so that a failure can undo exactly what it made. */
struct import_job {
	char hex[HEX_LEN + 1];
	struct image_record rec;
	char tmpdir[PATH_MAX];
	bool made_blob;
	bool made_rootfs;
};

/* ---------------------------------------------------------------- small helpers */

static void set_err(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int path_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int path_fmt(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int copy_out(char *dst, size_t len, const char *src, size_t n)
{
	if (!dst && !len)
		return 0;
	if (!dst || n >= len)
		return -ENAMETOOLONG;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* A printable, bounded copy of an archive entry name for messages and logs. */
static void shown_name(char *out, size_t len, const char *name)
{
	size_t i = 0;

	for (; name && name[i] && i + 4 < len && i < SHOWN_NAME_MAX; i++)
		out[i] = (name[i] < 0x20 || name[i] == 0x7f) ? '?' : name[i];
	if (name && name[i] && i + 4 < len)
		memcpy(out + i, "...", 3), i += 3;
	out[i] = '\0';
}

static bool is_hex64(const char *s)
{
	size_t i = 0;

	for (; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == HEX_LEN;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static bool dir_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int rootfs_path(const struct image_store *s, const char *hex, char *buf, size_t len)
{
	return path_fmt(buf, len, "%s/rootfs/%s", s->dir, hex);
}

static int blob_path(const struct image_store *s, const char *hex, char *buf, size_t len)
{
	return path_fmt(buf, len, "%s/blobs/sha256/%s", s->dir, hex);
}

/* ---------------------------------------------------------------- reference parsing */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* separator := [_.] | __ | [-]+ */
static bool separator_ok(const char *s, size_t n)
{
	if (n == 1 && (s[0] == '.' || s[0] == '_'))
		return true;
	if (n == 2 && s[0] == '_' && s[1] == '_')
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '-')
			return false;
	return true;
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)* */
static bool path_component_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	while (i < n) {
		size_t j = i;
		while (j < n && !is_lower_alnum(s[j]))
			j++;
		if (j > i && !separator_ok(s + i, j - i))
			return false;
		while (j < n && is_lower_alnum(s[j]))
			j++;
		i = j;
	}
	return true;
}

static bool host_label_ok(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* domain := label ('.' label)* (':' port)? */
static bool domain_ok(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t host_len = colon ? (size_t)(colon - s) : n;
	size_t i = 0;

	if (colon) {
		size_t plen = n - host_len - 1;
		unsigned port = 0;
		if (plen == 0 || plen > 5)
			return false;
		for (size_t k = 0; k < plen; k++) {
			if (colon[1 + k] < '0' || colon[1 + k] > '9')
				return false;
			port = port * 10 + (unsigned)(colon[1 + k] - '0');
		}
		if (port == 0 || port > 65535)
			return false;
	}
	while (i <= host_len) {
		const char *dot = memchr(s + i, '.', host_len - i);
		size_t len = dot ? (size_t)(dot - (s + i)) : host_len - i;
		if (!host_label_ok(s + i, len))
			return false;
		i += len + 1;
	}
	return true;
}

/* Like docker: the first component is a registry when it has '.', ':', capitals or is
 * "localhost". */
static bool looks_like_domain(const char *s, size_t n)
{
	if (n == 9 && memcmp(s, "localhost", 9) == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '.' || s[i] == ':' || (s[i] >= 'A' && s[i] <= 'Z'))
			return true;
	return false;
}

static bool name_ok(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	size_t i = 0;

	if (n == 0 || n >= IMAGE_NAME_MAX)
		return false;
	if (slash && looks_like_domain(s, (size_t)(slash - s))) {
		if (!domain_ok(s, (size_t)(slash - s)))
			return false;
		i = (size_t)(slash - s) + 1;
	}
	for (;;) {
		const char *end = memchr(s + i, '/', n - i);
		size_t len = end ? (size_t)(end - (s + i)) : n - i;
		if (!path_component_ok(s + i, len))
			return false;
		if (!end)
			return true;
		i += len + 1;
	}
}

/* tag := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
static bool tag_ok(const char *s, size_t n)
{
	if (n == 0 || n >= IMAGE_TAG_MAX || !(is_alnum(s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

static bool digest_ok(const char *s)
{
	size_t plen = strlen(DIGEST_PREFIX);

	return strncmp(s, DIGEST_PREFIX, plen) == 0 && is_hex64(s + plen);
}

/* docker.io/library/busybox, library/busybox and busybox are one image. */
static void name_normalise(const char **s, size_t *n)
{
	static const char *const hubs[] = { "docker.io/", "index.docker.io/" };

	for (size_t i = 0; i < ARRAY_SIZE(hubs); i++) {
		size_t len = strlen(hubs[i]);
		const char *slash;
		if (*n <= len || memcmp(*s, hubs[i], len) != 0)
			continue;
		/* "docker.io/registry.example.com/x" would change meaning without its prefix. */
		slash = memchr(*s + len, '/', *n - len);
		if (slash && looks_like_domain(*s + len, (size_t)(slash - (*s + len))))
			break;
		*s += len;
		*n -= len;
		break;
	}
	if (*n > 8 && memcmp(*s, "library/", 8) == 0 && !memchr(*s + 8, '/', *n - 8)) {
		*s += 8;
		*n -= 8;
	}
}

int image_ref_parse(const char *ref, char *name, size_t name_len, char *tag, size_t tag_len,
		    char *digest, size_t digest_len)
{
	const char *at, *slash, *tail, *colon, *nm = ref, *tg;
	size_t left, nm_len, tg_len;
	int rc;

	if (!ref)
		return -EINVAL;
	at = strchr(ref, '@');
	left = at ? (size_t)(at - ref) : strlen(ref);
	if (at && !digest_ok(at + 1))
		return -EINVAL;
	slash = memrchr(ref, '/', left);
	tail = slash ? slash + 1 : ref;
	colon = memrchr(tail, ':', left - (size_t)(tail - ref));
	nm_len = colon ? (size_t)(colon - ref) : left;
	tg = colon ? colon + 1 : at ? "" : "latest";
	tg_len = colon ? left - nm_len - 1 : strlen(tg);
	if ((colon && !tag_ok(tg, tg_len)) || !name_ok(ref, nm_len))
		return -EINVAL;
	name_normalise(&nm, &nm_len);
	rc = copy_out(name, name_len, nm, nm_len);
	if (!rc)
		rc = copy_out(tag, tag_len, tg, tg_len);
	if (!rc)
		rc = copy_out(digest, digest_len, at ? at + 1 : "", at ? strlen(at + 1) : 0);
	return rc;
}

/* ---------------------------------------------------------------- the in-memory index */

static struct image_record *record_find(const struct image_store *s, const char *digest)
{
	for (size_t i = 0; i < s->n_images; i++)
		if (strcmp(s->images[i].digest, digest) == 0)
			return &s->images[i];
	return NULL;
}

static struct image_tag *tag_find(const struct image_store *s, const char *name, const char *tag)
{
	for (size_t i = 0; i < s->n_tags; i++)
		if (strcmp(s->tags[i].name, name) == 0 && strcmp(s->tags[i].tag, tag) == 0)
			return &s->tags[i];
	return NULL;
}

static size_t tag_count_for(const struct image_store *s, const char *digest)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_tags; i++)
		n += strcmp(s->tags[i].digest, digest) == 0;
	return n;
}

static int record_add(struct image_store *s, const struct image_record *r)
{
	struct image_record *n = reallocarray(s->images, s->n_images + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	s->images = n;
	s->images[s->n_images++] = *r;
	return 0;
}

static int tag_set(struct image_store *s, const char *name, const char *tag, const char *digest)
{
	struct image_tag *t = tag_find(s, name, tag);

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

static void tag_delete_at(struct image_store *s, size_t i)
{
	memmove(&s->tags[i], &s->tags[i + 1], (s->n_tags - i - 1) * sizeof(s->tags[0]));
	s->n_tags--;
}

static void record_delete_at(struct image_store *s, size_t i)
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

static int index_snapshot_take(const struct image_store *s, struct index_snapshot *snap)
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
static void index_snapshot_end(struct image_store *s, struct index_snapshot *snap, bool restore)
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

static int index_save(const struct image_store *s)
{
	char path[PATH_MAX], *text = NULL;
	json_t *root = index_to_json(s);
	int rc = -ENOMEM;

	if (root)
		text = json_dumps(root, JSON_INDENT(1));
	if (text) {
		rc = path_fmt(path, sizeof(path), "%s/refs.json", s->dir);
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
		    !digest_ok(digest) || size < 0 || asize < 0 || record_find(s, digest)) {
			log_warn("image: skipping invalid image #%zu in %s", i, path);
			continue;
		}
		snprintf(r.digest, sizeof(r.digest), "%s", digest);
		r.size = (uint64_t)size;
		r.archive_size = (uint64_t)asize;
		r.created = created;
		if (record_add(s, &r) < 0)
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
		    !name_ok(name, strlen(name)) || !tag_ok(tag, strlen(tag)) ||
		    !digest_ok(digest) || tag_find(s, name, tag)) {
			log_warn("image: skipping invalid tag #%zu in %s", i, path);
			continue;
		}
		if (tag_set(s, name, tag, digest) < 0)
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
		set_err(why, whylen, "larger than %u bytes", REFS_MAX_BYTES);
	if (rc)
		return rc == -EFBIG ? -EINVAL : rc;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!root) {
		set_err(why, whylen, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	imgs = json_object_get(root, "images");
	tags = json_object_get(root, "tags");
	if (!json_is_array(imgs) || !json_is_array(tags)) {
		set_err(why, whylen, "expected an object with \"images\" and \"tags\" arrays");
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
	rc = rootfs_path(s, hex, path, sizeof(path));
	if (rc)
		return rc;
	r.size = tree_data_size(path);
	if (stat(path, &st) == 0)
		r.created = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
	if (blob_path(s, hex, path, sizeof(path)) == 0 && stat(path, &st) == 0)
		r.archive_size = (uint64_t)st.st_size;
	snprintf(tag, sizeof(tag), "%.12s", hex);
	rc = record_add(s, &r);
	if (!rc && !tag_count_for(s, r.digest))
		rc = tag_set(s, IMAGE_RECOVERED_NAME, tag, r.digest);
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
	int rc = path_fmt(path, sizeof(path), "%s/rootfs", s->dir);

	if (rc)
		return rc;
	d = opendir(path);
	if (!d)
		return -errno;
	while (!rc && (de = readdir(d))) {
		char digest[IMAGE_DIGEST_MAX];
		if (!is_hex64(de->d_name))
			continue;
		snprintf(digest, sizeof(digest), DIGEST_PREFIX "%.64s", de->d_name);
		if (record_find(s, digest) || rootfs_path(s, de->d_name, path, sizeof(path)) ||
		    !dir_exists(path))
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
		if (rootfs_path(s, hex, path, sizeof(path)) == 0 && dir_exists(path)) {
			i++;
			continue;
		}
		log_warn("image: dropping %s from the index: %s is missing", s->images[i].digest,
			 path);
		record_delete_at(s, i);
		*changed = true;
	}
	for (size_t i = 0; i < s->n_tags;) {
		if (record_find(s, s->tags[i].digest)) {
			i++;
			continue;
		}
		log_warn("image: dropping tag %s:%s: image %s is missing", s->tags[i].name,
			 s->tags[i].tag, s->tags[i].digest);
		tag_delete_at(s, i);
		*changed = true;
	}
}

/* Moves a corrupt refs.json aside (kept for inspection) before a fresh one is written. */
static void index_quarantine(const char *path, const char *why)
{
	char aside[PATH_MAX];

	log_error("image: failed to load %s: %s; rebuilding the index from the rootfs "
		  "directories (no image files are deleted)", path, why);
	if (path_fmt(aside, sizeof(aside), "%s.corrupt", path) == 0 && rename(path, aside) < 0)
		log_warn("image: failed to move %s aside: %s", path, strerror(errno));
}

static int index_open(struct image_store *s)
{
	char path[PATH_MAX], why[256] = "";
	bool changed = false;
	int rc = path_fmt(path, sizeof(path), "%s/refs.json", s->dir);

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
		rc = index_save(s);
	return rc;
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

	if (path_fmt(dir, sizeof(dir), "%s/tmp", s->dir) || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		for (size_t i = 0; i < ARRAY_SIZE(mine); i++) {
			if (strncmp(de->d_name, mine[i], strlen(mine[i])) != 0 ||
			    path_fmt(path, sizeof(path), "%s/%s", dir, de->d_name))
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
		rc = path_fmt(path, sizeof(path), "%s/%s", s->dir, subs[i].sub);
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
		rc = index_open(s);
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

static const char *special_kind(mode_t type)
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

static const char *archive_msg(struct archive *a)
{
	const char *m = archive_error_string(a);

	return m ? m : "unknown error";
}

/* libarchive's message about an entry, without the temporary directory's path in it. */
static const char *entry_msg(const struct extract_ctx *x, struct archive *a, char *buf,
			     size_t len)
{
	const char *msg = archive_msg(a);
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
		set_err(x->err, x->errlen, "entry #%u has an empty or unreadable name", x->entries);
		return -EINVAL;
	}
	if (path[0] == '/' || has_dotdot(path)) {
		set_err(x->err, x->errlen, "unsafe entry '%s': %s", shown,
			path[0] == '/' ? "absolute path" : "'..' in path");
		return -EINVAL;
	}
	if (link && (link[0] == '/' || has_dotdot(link) || !*link)) {
		char target[SHOWN_NAME_MAX + 8];
		shown_name(target, sizeof(target), link);
		set_err(x->err, x->errlen, "unsafe entry '%s': hard link to '%s' outside the image",
			shown, target);
		return -EINVAL;
	}
	if (++x->entries > IMAGE_MAX_ENTRIES) {
		set_err(x->err, x->errlen, "archive has more than %u entries", IMAGE_MAX_ENTRIES);
		return -EFBIG;
	}
	if (size < 0 || (uint64_t)size > x->max_extracted - x->extracted) {
		set_err(x->err, x->errlen, "entry '%s' takes the extracted size past the limit of "
			"%llu bytes", shown, (unsigned long long)x->max_extracted);
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

	if (path_fmt(buf, sizeof(buf), "%s/%s", x->dest, archive_entry_pathname(e))) {
		set_err(x->err, x->errlen, "entry '%s': name too long", shown);
		return -EINVAL;
	}
	archive_entry_copy_pathname(e, buf);
	if (!link)
		return 0;
	if (path_fmt(buf, sizeof(buf), "%s/%s", x->dest, link)) {
		set_err(x->err, x->errlen, "entry '%s': link target too long", shown);
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
			set_err(x->err, x->errlen, "failed to read entry '%s': %s", shown,
				archive_msg(in));
			return -EINVAL;
		}
		if (archive_write_data_block(out, buf, len, off) < ARCHIVE_WARN) {
			char msg[256];
			set_err(x->err, x->errlen, "failed to write entry '%s': %s", shown,
				entry_msg(x, out, msg, sizeof(msg)));
			return archive_rc(out);
		}
	}
}

static int extract_entry(struct extract_ctx *x, struct archive *in, struct archive *out,
			 struct archive_entry *e)
{
	char shown[SHOWN_NAME_MAX + 8], msg[256];
	const char *kind = special_kind(archive_entry_filetype(e));
	int rc, r;

	shown_name(shown, sizeof(shown), archive_entry_pathname(e));
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
		set_err(x->err, x->errlen, "cannot extract entry '%s': %s", shown,
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
			set_err(x->err, x->errlen, "failed to read archive after %u entries: %s",
				x->entries, archive_msg(in));
			return -EINVAL;
		}
		rc = extract_entry(x, in, out, e);
		if (rc)
			return rc;
	}
	if (x->entries == 0) {
		set_err(x->err, x->errlen, "archive has no entries");
		return -EINVAL;
	}
	if (archive_write_close(out) < ARCHIVE_WARN) {
		char msg[256];
		set_err(x->err, x->errlen, "failed to finish extraction: %s",
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
		set_err(err, errlen, "out of memory");
		rc = -ENOMEM;
	} else if (!realpath(dest, canon)) {
		rc = -errno;
		set_err(err, errlen, "failed to resolve %s: %s", dest, strerror(errno));
	} else if (archive_read_open_filename(in, archive_path, 64 * 1024) != ARCHIVE_OK) {
		set_err(err, errlen, "failed to open archive: %s", archive_msg(in));
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

/* ---------------------------------------------------------------- import */

static void info_fill(const struct image_store *s, const struct image_record *r,
		      const char *name, const char *tag, struct image_info *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->tag, sizeof(out->tag), "%s", tag);
	snprintf(out->digest, sizeof(out->digest), "%s", r->digest);
	rootfs_path(s, r->digest + strlen(DIGEST_PREFIX), out->rootfs, sizeof(out->rootfs));
	out->size = r->size;
	out->created = r->created;
}

static int import_hash(const struct image_store *s, const char *path, struct import_job *job,
		       char *err, size_t errlen)
{
	unsigned char buf[64 * 1024], md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen = 0;
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > s->max_archive) {
		set_err(err, errlen, "archive is %lld bytes, more than the limit of %llu",
			(long long)st.st_size, (unsigned long long)s->max_archive);
		rc = -EFBIG;
		goto out;
	}
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = -ENOMEM;
		goto out;
	}
	while (!rc && (n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0)
			rc = errno == EINTR ? 0 : -errno;
		else if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			rc = -EIO;
		else
			job->rec.archive_size += (uint64_t)n;
	}
	/* The upload may still be in the page cache only; it becomes the blob. */
	if (!rc && (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen * 2 != HEX_LEN))
		rc = -EIO;
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	for (unsigned int i = 0; !rc && i < mdlen; i++)
		snprintf(job->hex + 2 * i, 3, "%02x", md[i]);
	snprintf(job->rec.digest, sizeof(job->rec.digest), DIGEST_PREFIX "%.64s", job->hex);
out:
	if (rc && rc != -EFBIG)
		set_err(err, errlen, "failed to read archive %s: %s", path,
			rc == -EINVAL ? "not a regular file" : strerror(-rc));
	EVP_MD_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int import_extract(const struct image_store *s, const char *path, struct import_job *job,
			  char *err, size_t errlen)
{
	int rc = path_fmt(job->tmpdir, sizeof(job->tmpdir), "%s/tmp/extract-XXXXXX", s->dir);
	int fd;

	if (rc || !mkdtemp(job->tmpdir)) {
		rc = rc ? rc : -errno;
		set_err(err, errlen, "failed to create a directory in %s/tmp: %s", s->dir,
			strerror(-rc));
		job->tmpdir[0] = '\0';
		return rc;
	}
	/* mkdtemp makes 0700; a rootfs root must be searchable by the container's users. */
	if (chmod(job->tmpdir, 0755) < 0)
		rc = -errno;
	if (!rc)
		rc = image_extract(path, job->tmpdir, s->max_extracted, &job->rec.size, err, errlen);
	fd = rc ? -1 : open(job->tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* Everything extracted reaches the disk before the rootfs gets its final name. */
	if (!rc && (fd < 0 || syncfs(fd) < 0)) {
		rc = -errno;
		set_err(err, errlen, "failed to sync the extracted rootfs: %s", strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Copies src to dst durably through a temp file in the store's tmp (no hard link possible). */
static int blob_copy(const struct image_store *s, const char *src, const char *dst)
{
	char tmp[PATH_MAX];
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	rc = path_fmt(tmp, sizeof(tmp), "%s/tmp/blob-XXXXXX", s->dir);
	if (!rc && (out = mkostemp(tmp, O_CLOEXEC)) < 0)
		rc = -errno;
	while (!rc && (n = sendfile(out, in, NULL, 1 << 30)) != 0)
		rc = n < 0 ? -errno : 0;
	if (!rc && fsync(out) < 0)
		rc = -errno;
	if (!rc && rename(tmp, dst) < 0)
		rc = -errno;
	if (rc && out >= 0)
		unlink(tmp);
	if (out >= 0)
		close(out);
	close(in);
	return rc;
}

/* Hard-links the upload as the blob (the upload itself is removed only once all succeeded). */
static int import_blob(const struct image_store *s, const char *path, struct import_job *job,
		       char *err, size_t errlen)
{
	char blob[PATH_MAX], dir[PATH_MAX];
	int rc = blob_path(s, job->hex, blob, sizeof(blob));

	if (rc || access(blob, F_OK) == 0)
		return rc;
	if (link(path, blob) < 0)
		rc = errno == EXDEV || errno == EPERM ? blob_copy(s, path, blob) : -errno;
	job->made_blob = rc == 0;
	if (!rc)
		rc = path_fmt(dir, sizeof(dir), "%s/blobs/sha256", s->dir);
	if (!rc)
		rc = fsync_path(dir);
	if (rc)
		set_err(err, errlen, "failed to store blob %s: %s", blob, strerror(-rc));
	return rc;
}

static int import_install(const struct image_store *s, struct import_job *job, char *err,
			  size_t errlen)
{
	char dst[PATH_MAX], dir[PATH_MAX];
	int rc = rootfs_path(s, job->hex, dst, sizeof(dst));

	if (!rc && rename(job->tmpdir, dst) == 0) {
		job->made_rootfs = true;
		job->tmpdir[0] = '\0';
	} else if (!rc && errno != EEXIST && errno != ENOTEMPTY) {
		rc = -errno;
	}
	/* EEXIST/ENOTEMPTY: the rootfs is already there; the temp copy is dropped by the caller. */
	if (!rc && path_fmt(dir, sizeof(dir), "%s/rootfs", s->dir) == 0)
		rc = fsync_path(dir);
	if (rc)
		set_err(err, errlen, "failed to install rootfs %s: %s", dst, strerror(-rc));
	return rc;
}

/* Adds the record (if new) and points name:tag at it, durably; memory unchanged on error. */
static int import_commit(struct image_store *s, const char *name, const char *tag,
			 const struct import_job *job, char *err, size_t errlen)
{
	struct index_snapshot snap;
	int rc = index_snapshot_take(s, &snap);

	if (rc) {
		set_err(err, errlen, "out of memory");
		return rc;
	}
	if (!record_find(s, job->rec.digest))
		rc = record_add(s, &job->rec);
	if (!rc)
		rc = tag_set(s, name, tag, job->rec.digest);
	if (!rc)
		rc = index_save(s);
	index_snapshot_end(s, &snap, rc != 0);
	if (rc)
		set_err(err, errlen, "failed to update %s/refs.json: %s", s->dir, strerror(-rc));
	return rc;
}

/* Removes what a failed import made (or, after success, an unneeded temp rootfs). */
static void import_undo(const struct image_store *s, const struct import_job *job)
{
	char path[PATH_MAX];

	if (job->tmpdir[0])
		file_remove_tree(job->tmpdir);
	if (job->made_rootfs && rootfs_path(s, job->hex, path, sizeof(path)) == 0)
		file_remove_tree(path);
	if (job->made_blob && blob_path(s, job->hex, path, sizeof(path)) == 0)
		unlink(path);
}

int image_import_file(struct image_store *s, const char *name_tag, const char *archive_path,
		      struct image_info *out, char *err, size_t errlen)
{
	char name[IMAGE_NAME_MAX], tag[IMAGE_TAG_MAX], digest[IMAGE_DIGEST_MAX], path[PATH_MAX];
	struct import_job job = { .rec.created = time_now() };
	bool present;
	int rc;

	set_err(err, errlen, "%s", "");
	if (!s || !name_tag || !archive_path ||
	    image_ref_parse(name_tag, name, sizeof(name), tag, sizeof(tag), digest,
			    sizeof(digest)) != 0 || digest[0]) {
		set_err(err, errlen, "invalid image name '%s': expected NAME[:TAG]",
			name_tag ? name_tag : "(null)");
		return -EINVAL;
	}
	rc = import_hash(s, archive_path, &job, err, errlen);
	if (rc)
		return rc;
	present = record_find(s, job.rec.digest) &&
		  rootfs_path(s, job.hex, path, sizeof(path)) == 0 && dir_exists(path);
	if (!present)
		rc = import_extract(s, archive_path, &job, err, errlen);
	if (!rc)
		rc = import_blob(s, archive_path, &job, err, errlen);
	if (!rc && !present)
		rc = import_install(s, &job, err, errlen);
	if (!rc)
		rc = import_commit(s, name, tag, &job, err, errlen);
	if (rc) {
		import_undo(s, &job);
		return rc;
	}
	job.made_blob = job.made_rootfs = false;
	import_undo(s, &job);
	unlink(archive_path);
	log_info("image: imported %s:%s as %s%s", name, tag, job.rec.digest,
		 present ? " (already extracted)" : "");
	if (out)
		info_fill(s, record_find(s, job.rec.digest), name, tag, out);
	return 0;
}

/* ---------------------------------------------------------------- lookups */

int image_resolve(const struct image_store *s, const char *ref, struct image_info *out)
{
	char name[IMAGE_NAME_MAX], tag[IMAGE_TAG_MAX], digest[IMAGE_DIGEST_MAX];
	const struct image_record *r;
	const struct image_tag *t;

	if (image_ref_parse(ref, name, sizeof(name), tag, sizeof(tag), digest, sizeof(digest)))
		return -EINVAL;
	if (digest[0]) {
		r = record_find(s, digest);
		tag[0] = '\0';
	} else {
		t = tag_find(s, name, tag);
		r = t ? record_find(s, t->digest) : NULL;
	}
	if (!r)
		return -ENOENT;
	info_fill(s, r, name, tag, out);
	return 0;
}

void image_describe_error(int rc, const char *ref, char *buf, size_t len)
{
	char shown[SHOWN_NAME_MAX + 8];

	shown_name(shown, sizeof(shown), ref ? ref : "");
	if (rc == -ENOENT)
		set_err(buf, len, "image '%s' is not in the local image store; import it with "
			"'berthctl image import %s ROOTFS'", shown, shown);
	else if (rc == -EINVAL)
		set_err(buf, len, "invalid image reference '%s': expected NAME[:TAG] or "
			"NAME@sha256:<64 hex digits>", shown);
	else
		set_err(buf, len, "image '%s': %s", shown, strerror(rc < 0 ? -rc : rc));
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
		const struct image_record *r = record_find(s, s->tags[i].digest);
		if (r)
			info_fill(s, r, s->tags[i].name, s->tags[i].tag, &v[k++]);
	}
	for (size_t i = 0; i < s->n_images; i++)
		if (!tag_count_for(s, s->images[i].digest))
			info_fill(s, &s->images[i], "", "", &v[k++]);
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
	rc = index_snapshot_take(s, &snap);
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
		tag_delete_at(s, i);
		removed++;
	}
	rc = removed ? index_save(s) : -ENOENT;
	index_snapshot_end(s, &snap, rc != 0);
	if (!rc)
		log_info("image: removed %s (%zu tag%s)", ref, removed, removed == 1 ? "" : "s");
	return rc;
}

/* Blob first, then the rootfs leaves its name atomically: a crash never leaves a half rootfs
 * that looks whole, and leftovers in tmp are swept at the next open. */
static int image_files_delete(const struct image_store *s, const char *hex)
{
	char path[PATH_MAX], trash[PATH_MAX];
	int rc = blob_path(s, hex, path, sizeof(path));

	if (!rc && unlink(path) < 0 && errno != ENOENT)
		rc = -errno;
	if (!rc)
		rc = rootfs_path(s, hex, path, sizeof(path));
	if (!rc)
		rc = path_fmt(trash, sizeof(trash), "%s/tmp/delete-%s", s->dir, hex);
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
		if (tag_count_for(s, r->digest) || digest_in(r->digest, in_use, n)) {
			i++;
			continue;
		}
		rc = image_files_delete(s, r->digest + strlen(DIGEST_PREFIX));
		if (rc)
			break;
		log_info("image: deleted unused image %s", r->digest);
		record_delete_at(s, i);
		removed++;
	}
	if (removed) {
		int save = index_save(s);
		rc = rc ? rc : save;
	}
	return rc ? rc : removed;
}

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
			set_err(p->err, p->errlen, "failed to read %s/%s: %s", p->root, rel,
				archive_msg(p->disk));
			return -EIO;
		}
		if (archive_write_data(p->out, buf, len) < 0) {
			set_err(p->err, p->errlen, "failed to write the archive: %s",
				archive_msg(p->out));
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
	kind = special_kind(archive_entry_filetype(e));
	if (kind) {
		log_info("image: skipping %s %s/%s", kind, p->root, full);
		return 0;
	}
	if (path_fmt(rel, sizeof(rel), "%s", full))
		return -ENAMETOOLONG;
	archive_entry_copy_pathname(e, rel);
	archive_entry_linkify(p->links, &e, &spare);
	if (!e)
		return 0;
	r = archive_write_header(p->out, e);
	if (r < ARCHIVE_WARN) {
		set_err(p->err, p->errlen, "failed to add %s to the archive: %s", rel,
			archive_msg(p->out));
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
			set_err(p->err, p->errlen, "failed to read %s: %s", p->root,
				archive_msg(p->disk));
			return -EIO;
		}
		if (r == ARCHIVE_WARN)
			log_warn("image: %s: %s", p->root, archive_msg(p->disk));
		archive_read_disk_descend(p->disk);
		rc = pack_entry(p, e);
	}
	if (!rc && archive_write_close(p->out) < ARCHIVE_OK) {
		set_err(p->err, p->errlen, "failed to finish the archive: %s",
			archive_msg(p->out));
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
		set_err(p->err, p->errlen, "failed to start the archive: %s",
			archive_msg(p->out));
		return -EIO;
	}
	if (archive_read_disk_open(p->disk, p->root) != ARCHIVE_OK) {
		set_err(p->err, p->errlen, "failed to open %s: %s", p->root,
			archive_msg(p->disk));
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

	set_err(err, errlen, "%s", "");
	if (!dir || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		set_err(err, errlen, "%s is not a directory", dir ? dir : "(null)");
		return -ENOTDIR;
	}
	if (path_fmt(root, sizeof(root), "%s", dir))
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
		set_err(err, errlen, "failed to pack %s: %s", dir, strerror(-rc));
	archive_entry_linkresolver_free(p.links);
	archive_read_free(p.disk);
	archive_write_free(p.out);
	return rc;
}
