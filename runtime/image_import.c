/* SPDX-License-Identifier: MIT */
/* image_import.c: importing an archive: hash, extract, blob, install, commit, undo. */
#include "runtime/image_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "common/util.h"

/* State of one import, so that a failure can undo exactly what it made. */
struct import_job {
	char hex[HEX_LEN + 1];
	struct image_record rec;
	char tmpdir[PATH_MAX];
	bool made_blob;
	bool made_rootfs;
};

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

/* ---------------------------------------------------------------- import */

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
		image_set_err(err, errlen, "archive is %lld bytes, more than the limit of %llu",
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
		image_set_err(err, errlen, "failed to read archive %s: %s", path,
			      rc == -EINVAL ? "not a regular file" : strerror(-rc));
	EVP_MD_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int import_extract(const struct image_store *s, const char *path, struct import_job *job,
			  char *err, size_t errlen)
{
	int rc = image_path_fmt(job->tmpdir, sizeof(job->tmpdir), "%s/tmp/extract-XXXXXX", s->dir);
	int fd;

	if (rc || !mkdtemp(job->tmpdir)) {
		rc = rc ? rc : -errno;
		image_set_err(err, errlen, "failed to create a directory in %s/tmp: %s", s->dir,
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
		image_set_err(err, errlen, "failed to sync the extracted rootfs: %s",
			      strerror(errno));
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
	rc = image_path_fmt(tmp, sizeof(tmp), "%s/tmp/blob-XXXXXX", s->dir);
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
	int rc = image_blob_path(s, job->hex, blob, sizeof(blob));

	if (rc || access(blob, F_OK) == 0)
		return rc;
	if (link(path, blob) < 0)
		rc = errno == EXDEV || errno == EPERM ? blob_copy(s, path, blob) : -errno;
	job->made_blob = rc == 0;
	if (!rc)
		rc = image_path_fmt(dir, sizeof(dir), "%s/blobs/sha256", s->dir);
	if (!rc)
		rc = fsync_path(dir);
	if (rc)
		image_set_err(err, errlen, "failed to store blob %s: %s", blob, strerror(-rc));
	return rc;
}

static int import_install(const struct image_store *s, struct import_job *job, char *err,
			  size_t errlen)
{
	char dst[PATH_MAX], dir[PATH_MAX];
	int rc = image_rootfs_path(s, job->hex, dst, sizeof(dst));

	if (!rc && rename(job->tmpdir, dst) == 0) {
		job->made_rootfs = true;
		job->tmpdir[0] = '\0';
	} else if (!rc && errno != EEXIST && errno != ENOTEMPTY) {
		rc = -errno;
	}
	/* EEXIST/ENOTEMPTY: the rootfs is already there; the temp copy is dropped by the caller. */
	if (!rc && image_path_fmt(dir, sizeof(dir), "%s/rootfs", s->dir) == 0)
		rc = fsync_path(dir);
	if (rc)
		image_set_err(err, errlen, "failed to install rootfs %s: %s", dst, strerror(-rc));
	return rc;
}

/* Adds the record (if new) and points name:tag at it, durably; memory unchanged on error. */
static int import_commit(struct image_store *s, const char *name, const char *tag,
			 const struct import_job *job, char *err, size_t errlen)
{
	struct index_snapshot snap;
	int rc = image_index_snapshot_take(s, &snap);

	if (rc) {
		image_set_err(err, errlen, "out of memory");
		return rc;
	}
	if (!image_record_find(s, job->rec.digest))
		rc = image_record_add(s, &job->rec);
	if (!rc)
		rc = image_tag_set(s, name, tag, job->rec.digest);
	if (!rc)
		rc = image_index_save(s);
	image_index_snapshot_end(s, &snap, rc != 0);
	if (rc)
		image_set_err(err, errlen, "failed to update %s/refs.json: %s", s->dir,
			      strerror(-rc));

	return rc;
}

/* Removes what a failed import made (or, after success, an unneeded temp rootfs). */
static void import_undo(const struct image_store *s, const struct import_job *job)
{
	char path[PATH_MAX];

	if (job->tmpdir[0])
		file_remove_tree(job->tmpdir);
	if (job->made_rootfs && image_rootfs_path(s, job->hex, path, sizeof(path)) == 0)
		file_remove_tree(path);
	if (job->made_blob && image_blob_path(s, job->hex, path, sizeof(path)) == 0)
		unlink(path);
}

int image_import_file(struct image_store *s, const char *name_tag, const char *archive_path,
		      struct image_info *out, char *err, size_t errlen)
{
	char name[IMAGE_NAME_MAX], tag[IMAGE_TAG_MAX], digest[IMAGE_DIGEST_MAX], path[PATH_MAX];
	struct import_job job = { .rec.created = time_now() };
	bool present;
	int rc;

	image_set_err(err, errlen, "%s", "");
	if (!s || !name_tag || !archive_path ||
	    image_ref_parse(name_tag, name, sizeof(name), tag, sizeof(tag), digest,
			    sizeof(digest)) != 0 || digest[0]) {
		image_set_err(err, errlen, "invalid image name '%s': expected NAME[:TAG]",
			      name_tag ? name_tag : "(null)");
		return -EINVAL;
	}
	rc = import_hash(s, archive_path, &job, err, errlen);
	if (rc)
		return rc;
	present = image_record_find(s, job.rec.digest) &&
		  image_rootfs_path(s, job.hex, path, sizeof(path)) == 0 && image_dir_exists(path);
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
		image_info_fill(s, image_record_find(s, job.rec.digest), name, tag, out);
	return 0;
}
