/* SPDX-License-Identifier: MIT */
/* test_image.c: image store tests: refs, import/resolve, hostile archives, limits, recovery, packing. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "runtime/image.h"
#include "tests/unit/unit.h"

#define HEX_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* snprintf for paths; a truncated path fails the test instead of going unnoticed. */
static void pathf(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		UNIT_FAIL("path too long: %s", buf);
}

/* One archive member: 'f' file (data), 'd' directory, 'l' symlink (target), 'h' hard link. */
struct member {
	char type;
	const char *path;
	const char *data;
	int mode;
};

struct sandbox {
	char root[PATH_MAX];      /* everything the test makes lives here */
	char store_dir[PATH_MAX];
	struct image_store store;
};

static void sandbox_open(struct sandbox *sb)
{
	log_set_level(LOG_ERROR);
	pathf(sb->root, sizeof(sb->root), "/tmp/berth-test-image-XXXXXX");
	CHECK(mkdtemp(sb->root) != NULL);
	pathf(sb->store_dir, sizeof(sb->store_dir), "%s/store", sb->root);
	CHECK_EQ(image_store_open(&sb->store, sb->store_dir), 0);
}

static void sandbox_close(struct sandbox *sb)
{
	image_store_close(&sb->store);
	CHECK_EQ(file_remove_tree(sb->root), 0);
}

/* An upload path inside the store's tmp, as the web layer makes them. */
static void upload_path(const struct sandbox *sb, const char *name, char *out, size_t len)
{
	pathf(out, len, "%s/tmp/upload-%s", sb->store_dir, name);
}

static void write_tar(const char *path, const struct member *m, size_t n, bool gz)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_set_format_pax_restricted(a);
	if (gz) {
		archive_write_add_filter_gzip(a);
		/* No time in the gzip header: the same members make the same bytes (digest),
		 * whichever second they are written in. */
		CHECK_EQ(archive_write_set_options(a, "gzip:!timestamp"), ARCHIVE_OK);
	}
	CHECK_EQ(archive_write_open_filename(a, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		size_t len = m[i].type == 'f' && m[i].data ? strlen(m[i].data) : 0;
		archive_entry_clear(e);
		archive_entry_set_pathname(e, m[i].path);
		archive_entry_set_mtime(e, 1700000000, 0);
		archive_entry_set_perm(e, m[i].mode ? (mode_t)m[i].mode : 0644);
		archive_entry_set_filetype(e, m[i].type == 'd' ? AE_IFDIR :
					   m[i].type == 'l' ? AE_IFLNK : AE_IFREG);
		if (m[i].type == 'l')
			archive_entry_set_symlink(e, m[i].data);
		if (m[i].type == 'h')
			archive_entry_set_hardlink(e, m[i].data);
		archive_entry_set_size(e, (la_int64_t)len);
		CHECK_INT(archive_write_header(a, e), >=, ARCHIVE_WARN);
		if (len)
			CHECK_EQ(archive_write_data(a, m[i].data, len), (la_ssize_t)len);
	}
	CHECK_EQ(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	archive_entry_free(e);
}

static char *read_text(const char *path)
{
	char *buf = NULL;
	size_t len;

	return file_read_all(path, 1 << 20, &buf, &len) == 0 ? buf : NULL;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Number of entries in dir whose name starts with prefix ("" for all). */
static int count_entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

static void check_store_empty(const struct sandbox *sb)
{
	char path[PATH_MAX];
	struct image_info *list = NULL;
	size_t n = 99;

	pathf(path, sizeof(path), "%s/blobs/sha256", sb->store_dir);
	CHECK_EQ(count_entries(path, ""), 0);
	pathf(path, sizeof(path), "%s/rootfs", sb->store_dir);
	CHECK_EQ(count_entries(path, ""), 0);
	pathf(path, sizeof(path), "%s/tmp", sb->store_dir);
	CHECK_EQ(count_entries(path, "extract-"), 0);
	CHECK_EQ(count_entries(path, "delete-"), 0);
	CHECK_EQ(image_list(&sb->store, &list, &n), 0);
	CHECK_EQ(n, 0);
	free(list);
}

static const struct member small_rootfs[] = {
	{ 'd', "bin", NULL, 0755 },
	{ 'f', "bin/tool", "#!/bin/sh\necho hi\n", 04755 },
	{ 'l', "bin/sh", "tool", 0777 },
	{ 'd', "etc", NULL, 0755 },
	{ 'f', "etc/hostname", "berth\n", 0644 },
	{ 'h', "etc/hostname2", "etc/hostname", 0644 },
	{ 'l', "etc/abs", "/etc/hostname", 0777 },
	{ 'd', "tmp", NULL, 01777 },
};

static void test_ref_parse(void)
{
	char name[IMAGE_NAME_MAX], tag[IMAGE_TAG_MAX], digest[IMAGE_DIGEST_MAX];
	static const struct { const char *ref, *name, *tag, *digest; } ok[] = {
		{ "busybox", "busybox", "latest", "" },
		{ "busybox:1.36", "busybox", "1.36", "" },
		{ "library/busybox:latest", "busybox", "latest", "" },
		{ "docker.io/library/busybox", "busybox", "latest", "" },
		{ "docker.io/team/app:v2", "team/app", "v2", "" },
		{ "docker.io/registry.example.com/x", "docker.io/registry.example.com/x", "latest", "" },
		{ "docker.io/library/library/x", "library/library/x", "latest", "" },
		{ "registry.example.com:5000/team/app:v1", "registry.example.com:5000/team/app", "v1", "" },
		{ "registry.example.com:5000/team/app", "registry.example.com:5000/team/app", "latest", "" },
		{ "localhost/app_x__y.z-w:V_1.0-rc", "localhost/app_x__y.z-w", "V_1.0-rc", "" },
		{ "busybox@sha256:" HEX_A, "busybox", "", "sha256:" HEX_A },
		{ "busybox:1.36@sha256:" HEX_A, "busybox", "1.36", "sha256:" HEX_A },
	};
	static const char *const bad[] = {
		"", "Busybox", ":tag", "name:", "a//b", "/a", "a/", "a::b", "a b", "a:b c",
		"busybox@sha256:abc", "busybox@sha256:" HEX_A "0", "busybox@md5:" HEX_A,
		"a..b", "-a", "a-", "host:port/app", "reg.example.com:99999/app", "app:-x",
		"busybox@sha256:" HEX_A "@sha256:" HEX_A, "a:b:c",
		"busybox:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		CHECK_EQ(image_ref_parse(ok[i].ref, name, sizeof(name), tag, sizeof(tag), digest,
					 sizeof(digest)), 0);
		CHECK_STR(name, ok[i].name);
		CHECK_STR(tag, ok[i].tag);
		CHECK_STR(digest, ok[i].digest);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = image_ref_parse(bad[i], name, sizeof(name), tag, sizeof(tag), digest,
					 sizeof(digest));
		if (rc != -EINVAL)
			UNIT_FAIL("ref '%s' accepted (rc %d, name '%s')", bad[i], rc, name);
	}
	CHECK_EQ(image_ref_parse(NULL, NULL, 0, NULL, 0, NULL, 0), -EINVAL);
	CHECK_EQ(image_ref_parse("busybox:1", NULL, 0, NULL, 0, NULL, 0), 0);
	CHECK_EQ(image_ref_parse("busybox:1", name, 4, NULL, 0, NULL, 0), -ENAMETOOLONG);
}

static void test_import_and_resolve(void)
{
	char up[PATH_MAX], path[PATH_MAX], err[512], *text;
	struct image_info info, again;
	struct sandbox sb;
	struct stat a, b;

	sandbox_open(&sb);
	upload_path(&sb, "1", up, sizeof(up));
	write_tar(up, small_rootfs, sizeof(small_rootfs) / sizeof(small_rootfs[0]), false);
	CHECK_EQ(image_import_file(&sb.store, "busybox:1.36", up, &info, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_STR(info.name, "busybox");
	CHECK_STR(info.tag, "1.36");
	CHECK_EQ(strlen(info.digest), 71);
	CHECK_INT(info.size, >, 0);
	CHECK(!exists(up));   /* consumed */
	pathf(path, sizeof(path), "%s/blobs/sha256/%s", sb.store.dir, info.digest + 7);
	CHECK(exists(path));
	pathf(path, sizeof(path), "%s/rootfs/%s", sb.store.dir, info.digest + 7);
	CHECK_STR(info.rootfs, path);
	CHECK(stat(path, &a) == 0 && (a.st_mode & 07777) == 0755);

	pathf(path, sizeof(path), "%s/etc/hostname", info.rootfs);
	text = read_text(path);
	CHECK_STR(text, "berth\n");
	free(text);
	CHECK_EQ(stat(path, &a), 0);
	pathf(path, sizeof(path), "%s/etc/hostname2", info.rootfs);
	CHECK_EQ(stat(path, &b), 0);
	CHECK_EQ(a.st_ino, b.st_ino);                     /* hard link kept */
	pathf(path, sizeof(path), "%s/bin/tool", info.rootfs);
	CHECK(stat(path, &a) == 0 && (a.st_mode & 07777) == 04755);   /* setuid kept */
	pathf(path, sizeof(path), "%s/tmp", info.rootfs);
	CHECK(stat(path, &a) == 0 && (a.st_mode & 07777) == 01777);
	pathf(path, sizeof(path), "%s/etc/abs", info.rootfs);
	CHECK(readlink(path, err, sizeof(err)) == 13 && memcmp(err, "/etc/hostname", 13) == 0);

	CHECK_EQ(image_resolve(&sb.store, "busybox:1.36", &again), 0);
	CHECK_STR(again.digest, info.digest);
	CHECK_EQ(image_resolve(&sb.store, "library/busybox:1.36", &again), 0);
	CHECK_EQ(image_resolve(&sb.store, "docker.io/library/busybox:1.36", &again), 0);
	CHECK_STR(again.rootfs, info.rootfs);
	pathf(path, sizeof(path), "whatever@%s", info.digest);
	CHECK_EQ(image_resolve(&sb.store, path, &again), 0);
	CHECK_STR(again.digest, info.digest);
	CHECK_STR(again.tag, "");
	CHECK_EQ(image_resolve(&sb.store, "busybox", &again), -ENOENT);
	CHECK_EQ(image_resolve(&sb.store, "busybox@sha256:" HEX_A, &again), -ENOENT);
	CHECK_EQ(image_resolve(&sb.store, "Bad Ref", &again), -EINVAL);

	/* The same tree gzip'd is other bytes, so another image; NAME means NAME:latest. */
	upload_path(&sb, "2", up, sizeof(up));
	write_tar(up, small_rootfs, sizeof(small_rootfs) / sizeof(small_rootfs[0]), true);
	CHECK_EQ(image_import_file(&sb.store, "busybox", up, &again, err, sizeof(err)), 0);
	CHECK(strcmp(again.digest, info.digest) != 0);
	CHECK_EQ(image_resolve(&sb.store, "busybox", &info), 0);
	CHECK_STR(info.digest, again.digest);
	CHECK_STR(info.tag, "latest");

	/* Everything survives a reopen. */
	image_store_close(&sb.store);
	image_store_close(&sb.store);
	CHECK_EQ(image_store_open(&sb.store, sb.store_dir), 0);
	CHECK_EQ(image_resolve(&sb.store, "busybox:latest", &info), 0);
	CHECK_STR(info.digest, again.digest);
	CHECK_EQ(image_resolve(&sb.store, "busybox:1.36", &info), 0);
	sandbox_close(&sb);
}

static void test_reimport_is_cheap(void)
{
	char up[PATH_MAX], marker[PATH_MAX], err[512];
	struct image_info one, two;
	struct sandbox sb;
	struct stat a, b;
	int fd;

	sandbox_open(&sb);
	upload_path(&sb, "1", up, sizeof(up));
	write_tar(up, small_rootfs, sizeof(small_rootfs) / sizeof(small_rootfs[0]), true);
	CHECK_EQ(image_import_file(&sb.store, "app:1", up, &one, err, sizeof(err)), 0);
	pathf(marker, sizeof(marker), "%s/marker", one.rootfs);
	fd = open(marker, O_CREAT | O_WRONLY, 0644);
	CHECK_INT(fd, >=, 0);
	close(fd);
	CHECK_EQ(stat(one.rootfs, &a), 0);

	write_tar(up, small_rootfs, sizeof(small_rootfs) / sizeof(small_rootfs[0]), true);
	CHECK_EQ(image_import_file(&sb.store, "app:2", up, &two, err, sizeof(err)), 0);
	CHECK_STR(two.digest, one.digest);
	CHECK_STR(two.tag, "2");
	CHECK(exists(marker));                     /* not extracted again */
	CHECK_EQ(stat(two.rootfs, &b), 0);
	CHECK_EQ(a.st_ino, b.st_ino);
	CHECK(!exists(up));
	CHECK_EQ(image_resolve(&sb.store, "app:1", &two), 0);
	CHECK_STR(two.digest, one.digest);
	sandbox_close(&sb);
}

static void check_refused(struct sandbox *sb, const struct member *m, size_t n,
			  const char *entry)
{
	char up[PATH_MAX], err[512];
	struct image_info info;

	upload_path(sb, "evil", up, sizeof(up));
	write_tar(up, m, n, false);
	memset(&info, 0, sizeof(info));
	CHECK_EQ(image_import_file(&sb->store, "evil:1", up, &info, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, entry);
	CHECK(exists(up));                         /* left to the caller */
	unlink(up);
	CHECK_EQ(image_resolve(&sb->store, "evil:1", &info), -ENOENT);
	check_store_empty(sb);
}

static void test_hostile_archives(void)
{
	char outside[PATH_MAX], secret[PATH_MAX], *passwd = read_text("/etc/passwd");
	struct stat before, after;
	struct sandbox sb;

	sandbox_open(&sb);
	CHECK(passwd != NULL);
	CHECK_EQ(stat("/etc/passwd", &before), 0);
	pathf(outside, sizeof(outside), "%s/outside", sb.root);
	CHECK_EQ(mkdir(outside, 0755), 0);
	pathf(secret, sizeof(secret), "%s/secret", outside);
	CHECK_EQ(file_write_durable(secret, "s\n", 2, 0600), 0);

	const struct member dotdot[] = { { 'f', "ok", "x", 0 }, { 'f', "../evil", "x", 0 } };
	check_refused(&sb, dotdot, 2, "../evil");
	CHECK(!exists("/tmp/evil"));
	{
		char p[PATH_MAX];
		pathf(p, sizeof(p), "%s/tmp/evil", sb.store_dir);
		CHECK(!exists(p));
	}

	const struct member absolute[] = { { 'f', "/etc/evil", "x", 0 } };
	check_refused(&sb, absolute, 1, "/etc/evil");
	CHECK(!exists("/etc/evil"));

	/* Should the defence fail, the write would put back the same bytes. */
	const struct member via_link[] = { { 'l', "a", "/etc", 0 },
					   { 'f', "a/passwd", passwd, 0644 } };
	check_refused(&sb, via_link, 2, "a/passwd");

	const struct member up_link[] = { { 'l', "b", "../../..", 0 }, { 'f', "b/x", "x", 0 } };
	check_refused(&sb, up_link, 2, "b/x");
	{
		char p[PATH_MAX];
		pathf(p, sizeof(p), "%s/x", sb.root);
		CHECK(!exists(p));
	}

	const struct member hard[] = { { 'h', "h", "/etc/passwd", 0 } };
	check_refused(&sb, hard, 1, "/etc/passwd");

	const struct member hard_via_link[] = { { 'l', "o", outside, 0 },
						{ 'h', "h", "o/secret", 0 } };
	check_refused(&sb, hard_via_link, 2, "'h'");

	const struct member dir_via_link[] = { { 'l', "d", outside, 0 },
					       { 'd', "d/sub", NULL, 0755 },
					       { 'f', "d/sub/f", "x", 0 } };
	check_refused(&sb, dir_via_link, 3, "d/sub");

	CHECK_EQ(stat("/etc/passwd", &after), 0);
	CHECK_EQ(after.st_ino, before.st_ino);
	CHECK_EQ(after.st_nlink, before.st_nlink);
	CHECK_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	CHECK_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	CHECK_EQ(stat(secret, &after), 0);
	CHECK_EQ(after.st_nlink, 1);
	CHECK_EQ(count_entries(outside, ""), 1);
	free(passwd);
	sandbox_close(&sb);
}

/* Replacing a symlink by a file of the same name writes inside the rootfs, never through it. */
static void test_symlink_replaced_not_followed(void)
{
	char outside[PATH_MAX], target[PATH_MAX], up[PATH_MAX], err[512], *text;
	struct image_info info;
	struct sandbox sb;

	sandbox_open(&sb);
	pathf(outside, sizeof(outside), "%s/outside", sb.root);
	CHECK_EQ(mkdir(outside, 0755), 0);
	pathf(target, sizeof(target), "%s/target", outside);
	CHECK_EQ(file_write_durable(target, "orig", 4, 0644), 0);
	const struct member m[] = { { 'l', "c", target, 0 }, { 'f', "c", "pwned", 0644 } };
	upload_path(&sb, "1", up, sizeof(up));
	write_tar(up, m, 2, false);
	if (image_import_file(&sb.store, "c:1", up, &info, err, sizeof(err)) == 0) {
		char p[PATH_MAX];
		pathf(p, sizeof(p), "%s/c", info.rootfs);
		text = read_text(p);
		CHECK_STR(text, "pwned");
		free(text);
	}
	text = read_text(target);
	CHECK_STR(text, "orig");
	free(text);
	sandbox_close(&sb);
}

static void test_garbage_and_empty(void)
{
	char up[PATH_MAX], err[512];
	struct image_info info;
	struct sandbox sb;

	sandbox_open(&sb);
	upload_path(&sb, "1", up, sizeof(up));
	CHECK_EQ(file_write_durable(up, "this is not a tar archive at all", 32, 0644), 0);
	CHECK_EQ(image_import_file(&sb.store, "junk", up, &info, err, sizeof(err)), -EINVAL);
	CHECK(err[0] != '\0');
	check_store_empty(&sb);
	CHECK_EQ(file_write_durable(up, "", 0, 0644), 0);
	CHECK_EQ(image_import_file(&sb.store, "junk", up, &info, err, sizeof(err)), -EINVAL);
	CHECK(err[0] != '\0');
	check_store_empty(&sb);
	write_tar(up, small_rootfs, 0, false);
	CHECK_EQ(image_import_file(&sb.store, "junk", up, &info, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "no entries");
	check_store_empty(&sb);
	/* A truncated tar.gz. */
	write_tar(up, small_rootfs, sizeof(small_rootfs) / sizeof(small_rootfs[0]), true);
	CHECK_EQ(truncate(up, 60), 0);
	CHECK_EQ(image_import_file(&sb.store, "junk", up, &info, err, sizeof(err)), -EINVAL);
	check_store_empty(&sb);
	CHECK_EQ(image_import_file(&sb.store, "junk@sha256:" HEX_A, up, &info, err, sizeof(err)),
		 -EINVAL);
	CHECK_CONTAINS(err, "invalid image name");
	CHECK_EQ(image_import_file(&sb.store, "junk", "/nonexistent/x.tar", &info, err,
				   sizeof(err)), -ENOENT);
	CHECK_CONTAINS(err, "/nonexistent/x.tar");
	sandbox_close(&sb);
}

static void test_size_limits(void)
{
	char up[PATH_MAX], err[512], *zeros = calloc(1, (1 << 20) + 1);
	struct image_info info;
	struct sandbox sb;

	sandbox_open(&sb);
	upload_path(&sb, "1", up, sizeof(up));
	write_tar(up, small_rootfs, sizeof(small_rootfs) / sizeof(small_rootfs[0]), false);
	image_store_set_limits(&sb.store, 100, 0);
	CHECK_EQ(image_import_file(&sb.store, "big", up, &info, err, sizeof(err)), -EFBIG);
	CHECK_CONTAINS(err, "limit of 100");
	check_store_empty(&sb);

	memset(zeros, '0', 1 << 20);
	const struct member bomb[] = { { 'f', "small", "x", 0 }, { 'f', "zeros", zeros, 0 } };
	write_tar(up, bomb, 2, true);
	image_store_set_limits(&sb.store, 0, 64 * 1024);
	CHECK_EQ(image_import_file(&sb.store, "big", up, &info, err, sizeof(err)), -EFBIG);
	CHECK_CONTAINS(err, "zeros");
	check_store_empty(&sb);

	image_store_set_limits(&sb.store, 0, 0);
	CHECK_EQ(image_import_file(&sb.store, "big", up, &info, err, sizeof(err)), 0);
	CHECK_EQ(info.size, (1 << 20) + 1);
	free(zeros);
	sandbox_close(&sb);
}

static void test_corrupt_refs_recovery(void)
{
	char up[PATH_MAX], path[PATH_MAX], ref[128], err[512];
	struct image_info info, got;
	struct sandbox sb;

	sandbox_open(&sb);
	upload_path(&sb, "1", up, sizeof(up));
	write_tar(up, small_rootfs, sizeof(small_rootfs) / sizeof(small_rootfs[0]), false);
	CHECK_EQ(image_import_file(&sb.store, "app:v1", up, &info, err, sizeof(err)), 0);
	image_store_close(&sb.store);

	pathf(path, sizeof(path), "%s/refs.json", sb.store_dir);
	CHECK_EQ(file_write_durable(path, "{\"images\": [ {\"dig", 17, 0644), 0);
	CHECK_EQ(image_store_open(&sb.store, sb.store_dir), 0);
	CHECK_EQ(image_resolve(&sb.store, "app:v1", &got), -ENOENT);
	pathf(ref, sizeof(ref), "%s:%.12s", IMAGE_RECOVERED_NAME, info.digest + 7);
	CHECK_EQ(image_resolve(&sb.store, ref, &got), 0);
	CHECK_STR(got.digest, info.digest);
	CHECK_EQ(got.size, info.size);
	pathf(ref, sizeof(ref), "app@%s", info.digest);
	CHECK_EQ(image_resolve(&sb.store, ref, &got), 0);
	pathf(path, sizeof(path), "%s/blobs/sha256/%s", sb.store_dir, info.digest + 7);
	CHECK(exists(path));
	pathf(path, sizeof(path), "%s/refs.json.corrupt", sb.store_dir);
	CHECK(exists(path));
	/* Recovered images are tagged, so collection keeps them. */
	CHECK_EQ(image_gc(&sb.store, NULL, 0), 0);
	image_store_close(&sb.store);

	/* The rewritten index is valid; a partly valid one keeps its valid entries. */
	pathf(path, sizeof(path), "%s/refs.json", sb.store_dir);
	pathf(err, sizeof(err), "{\"version\":1,\"images\":[{\"digest\":\"%s\",\"size\":5},"
		 "{\"digest\":\"nope\"}],\"tags\":[{\"name\":\"app\",\"tag\":\"v2\","
		 "\"digest\":\"%s\"},{\"name\":\"BAD\",\"tag\":\"x\",\"digest\":\"%s\"},"
		 "{\"name\":\"gone\",\"tag\":\"x\",\"digest\":\"sha256:" HEX_A "\"}]}",
		 info.digest, info.digest, info.digest);
	CHECK_EQ(file_write_durable(path, err, strlen(err), 0644), 0);
	CHECK_EQ(image_store_open(&sb.store, sb.store_dir), 0);
	CHECK_EQ(image_resolve(&sb.store, "app:v2", &got), 0);
	CHECK_EQ(got.size, 5);
	CHECK_EQ(image_resolve(&sb.store, "gone:x", &got), -ENOENT);
	sandbox_close(&sb);
}

static void test_leftovers_swept(void)
{
	char path[PATH_MAX];
	struct sandbox sb;

	sandbox_open(&sb);
	image_store_close(&sb.store);
	pathf(path, sizeof(path), "%s/tmp/extract-abc123/bin", sb.store_dir);
	CHECK_EQ(file_mkdir_p(path, 0755), 0);
	pathf(path, sizeof(path), "%s/tmp/upload-keep", sb.store_dir);
	CHECK_EQ(file_write_durable(path, "x", 1, 0644), 0);
	CHECK_EQ(image_store_open(&sb.store, sb.store_dir), 0);
	pathf(path, sizeof(path), "%s/tmp", sb.store_dir);
	CHECK_EQ(count_entries(path, "extract-"), 0);
	CHECK_EQ(count_entries(path, "upload-"), 1);
	sandbox_close(&sb);
}

static void test_list_remove_gc(void)
{
	char up[PATH_MAX], path[PATH_MAX], err[512];
	struct image_info a, b, *list = NULL;
	const char *in_use[1];
	struct sandbox sb;
	size_t n = 0;

	sandbox_open(&sb);
	upload_path(&sb, "1", up, sizeof(up));
	write_tar(up, small_rootfs, 3, false);
	CHECK_EQ(image_import_file(&sb.store, "web:1", up, &a, err, sizeof(err)), 0);
	write_tar(up, small_rootfs, 3, false);
	CHECK_EQ(image_import_file(&sb.store, "web:latest", up, &a, err, sizeof(err)), 0);
	write_tar(up, small_rootfs, 5, false);
	CHECK_EQ(image_import_file(&sb.store, "db:1", up, &b, err, sizeof(err)), 0);
	CHECK_EQ(image_list(&sb.store, &list, &n), 0);
	CHECK_EQ(n, 3);
	if (n == 3) {
		CHECK_STR(list[0].name, "db");
		CHECK_STR(list[1].tag, "1");
		CHECK_STR(list[2].tag, "latest");
		CHECK_STR(list[2].digest, a.digest);
	}
	free(list);

	CHECK_EQ(image_remove(&sb.store, "web:1"), 0);
	CHECK_EQ(image_remove(&sb.store, "web:1"), -ENOENT);
	CHECK_EQ(image_remove(&sb.store, "Bad!"), -EINVAL);
	CHECK_EQ(image_resolve(&sb.store, "web", &a), 0);
	CHECK_EQ(image_gc(&sb.store, NULL, 0), 0);
	pathf(path, sizeof(path), "web@%s", a.digest);
	CHECK_EQ(image_remove(&sb.store, path), 0);
	CHECK_EQ(image_resolve(&sb.store, "web", &a), -ENOENT);
	CHECK_EQ(image_resolve(&sb.store, path, &a), 0);   /* untagged, still there */

	CHECK_EQ(image_list(&sb.store, &list, &n), 0);
	CHECK_EQ(n, 2);
	if (n == 2) {
		CHECK_STR(list[0].name, "");
		CHECK_STR(list[0].digest, a.digest);
	}
	free(list);

	in_use[0] = a.digest;
	CHECK_EQ(image_gc(&sb.store, in_use, 1), 0);
	CHECK(exists(a.rootfs));
	CHECK_EQ(image_gc(&sb.store, NULL, 0), 1);
	CHECK(!exists(a.rootfs));
	pathf(path, sizeof(path), "%s/blobs/sha256/%s", sb.store_dir, a.digest + 7);
	CHECK(!exists(path));
	CHECK(exists(b.rootfs));
	image_store_close(&sb.store);
	CHECK_EQ(image_store_open(&sb.store, sb.store_dir), 0);
	CHECK_EQ(image_list(&sb.store, &list, &n), 0);
	CHECK_EQ(n, 1);
	free(list);
	sandbox_close(&sb);
}

static void test_describe_error(void)
{
	char buf[256];

	image_describe_error(-ENOENT, "busybox:1.36", buf, sizeof(buf));
	CHECK_CONTAINS(buf, "busybox:1.36");
	CHECK_CONTAINS(buf, "not in the local image store");
	image_describe_error(-EINVAL, "Bad\nRef", buf, sizeof(buf));
	CHECK_CONTAINS(buf, "invalid image reference 'Bad?Ref'");
}

static int run_status(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_pack_dir_roundtrip_busybox(void)
{
	char dir[PATH_MAX], up[PATH_MAX], cmd[PATH_MAX * 2], path[PATH_MAX], err[512], *text;
	const char *script = "tests/lib/mkimage-busybox.sh";
	struct image_info info;
	struct sandbox sb;
	struct stat a, b;
	int fd;

	if (access("/bin/busybox", X_OK) != 0 || access(script, X_OK) != 0) {
		printf("# skip: needs /bin/busybox (busybox-static) and %s from the top dir\n",
		       script);
		return;
	}
	sandbox_open(&sb);
	pathf(dir, sizeof(dir), "%s/bb", sb.root);
	pathf(cmd, sizeof(cmd), "%s %s", script, dir);
	CHECK_EQ(run_status(cmd), 0);
	/* Extras: a hard link, a setuid file, a FIFO that packing skips. */
	pathf(path, sizeof(path), "%s/bin/busybox", dir);
	pathf(cmd, sizeof(cmd), "%s/bin/busybox-hard", dir);
	CHECK_EQ(link(path, cmd), 0);
	pathf(path, sizeof(path), "%s/bin/su-ish", dir);
	CHECK_EQ(file_write_durable(path, "x", 1, 04755), 0);
	pathf(path, sizeof(path), "%s/tmp/fifo", dir);
	CHECK_EQ(mkfifo(path, 0644), 0);

	upload_path(&sb, "bb.tar.gz", up, sizeof(up));
	fd = open(up, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK_INT(fd, >=, 0);
	CHECK_EQ(image_pack_dir(dir, fd, err, sizeof(err)), 0);
	close(fd);
	CHECK_EQ(image_import_file(&sb.store, "busybox", up, &info, err, sizeof(err)), 0);
	if (err[0])
		fprintf(stderr, "  import: %s\n", err);

	pathf(path, sizeof(path), "%s/bin/busybox", info.rootfs);
	CHECK(stat(path, &a) == 0 && (a.st_mode & 0111) == 0111);
	pathf(cmd, sizeof(cmd), "%s/bin/busybox-hard", info.rootfs);
	CHECK(stat(cmd, &b) == 0 && a.st_ino == b.st_ino);
	pathf(cmd, sizeof(cmd), "%s/bin/sh", info.rootfs);
	CHECK(readlink(cmd, err, sizeof(err)) == 7 && memcmp(err, "busybox", 7) == 0);
	pathf(cmd, sizeof(cmd), "%s/bin", info.rootfs);
	CHECK_INT(count_entries(cmd, ""), >, 100);
	pathf(cmd, sizeof(cmd), "%s/bin/su-ish", info.rootfs);
	CHECK(stat(cmd, &b) == 0 && (b.st_mode & 07777) == 04755);
	pathf(cmd, sizeof(cmd), "%s/tmp", info.rootfs);
	CHECK(stat(cmd, &b) == 0 && (b.st_mode & 07777) == 01777);
	pathf(cmd, sizeof(cmd), "%s/tmp/fifo", info.rootfs);
	CHECK(!exists(cmd));
	pathf(cmd, sizeof(cmd), "%s/proc", info.rootfs);
	CHECK(stat(cmd, &b) == 0 && S_ISDIR(b.st_mode));
	pathf(cmd, sizeof(cmd), "%s/etc/passwd", info.rootfs);
	text = read_text(cmd);
	CHECK_CONTAINS(text, "app:x:1000:1000:");
	free(text);
	pathf(cmd, sizeof(cmd), "%s echo packed-ok >/dev/null", path);
	CHECK_EQ(run_status(cmd), 0);

	CHECK_EQ(image_pack_dir("/nonexistent-dir", 1, err, sizeof(err)), -ENOTDIR);
	CHECK_CONTAINS(err, "/nonexistent-dir");
	sandbox_close(&sb);
}

static void test_extract_direct(void)
{
	char up[PATH_MAX], dest[PATH_MAX], err[256];
	uint64_t got = 0;
	struct sandbox sb;

	sandbox_open(&sb);
	pathf(up, sizeof(up), "%s/a.tar", sb.root);
	write_tar(up, small_rootfs, sizeof(small_rootfs) / sizeof(small_rootfs[0]), false);
	pathf(dest, sizeof(dest), "%s/dest", sb.root);
	CHECK_EQ(mkdir(dest, 0755), 0);
	CHECK_EQ(image_extract(up, dest, 1 << 20, &got, err, sizeof(err)), 0);
	CHECK_EQ(got, strlen(small_rootfs[1].data) + strlen(small_rootfs[4].data));
	CHECK_EQ(image_extract(up, "/nonexistent-dest", 1 << 20, &got, err, sizeof(err)),
		 -ENOENT);
	sandbox_close(&sb);
}

/* A symlink given as the directory is followed (like tar -H); links inside stay links. */
static void test_pack_symlinked_root(void)
{
	char dir[PATH_MAX], link_path[PATH_MAX], out[PATH_MAX], dest[PATH_MAX], p[PATH_MAX];
	char err[256], buf[16];
	struct sandbox sb;
	int fd;

	sandbox_open(&sb);
	pathf(dir, sizeof(dir), "%s/real", sb.root);
	CHECK_EQ(mkdir(dir, 0755), 0);
	pathf(p, sizeof(p), "%s/file", dir);
	CHECK_EQ(file_write_durable(p, "data", 4, 0644), 0);
	pathf(p, sizeof(p), "%s/ln", dir);
	CHECK_EQ(symlink("/nowhere", p), 0);
	pathf(link_path, sizeof(link_path), "%s/alias", sb.root);
	CHECK_EQ(symlink(dir, link_path), 0);
	pathf(out, sizeof(out), "%s/out.tgz", sb.root);
	fd = open(out, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	pathf(p, sizeof(p), "%s/", link_path);
	CHECK_EQ(image_pack_dir(p, fd, err, sizeof(err)), 0);
	close(fd);
	pathf(dest, sizeof(dest), "%s/dest", sb.root);
	CHECK_EQ(mkdir(dest, 0755), 0);
	CHECK_EQ(image_extract(out, dest, 1 << 20, NULL, err, sizeof(err)), 0);
	pathf(p, sizeof(p), "%s/file", dest);
	CHECK(exists(p));
	pathf(p, sizeof(p), "%s/ln", dest);
	CHECK(readlink(p, buf, sizeof(buf)) == 8 && memcmp(buf, "/nowhere", 8) == 0);
	sandbox_close(&sb);
}

/* An upload on another file system cannot be hard-linked: it is copied, then removed. */
static void test_import_from_other_fs(void)
{
	char up[] = "/dev/shm/berth-test-image-XXXXXX", err[256], p[PATH_MAX];
	struct image_info info;
	struct sandbox sb;
	struct stat a, b;
	int fd;

	sandbox_open(&sb);
	fd = mkstemp(up);
	if (fd < 0 || fstat(fd, &a) < 0 || stat(sb.store_dir, &b) < 0 || a.st_dev == b.st_dev) {
		printf("# skip: /dev/shm is not another file system here\n");
		if (fd >= 0)
			unlink(up), close(fd);
		sandbox_close(&sb);
		return;
	}
	close(fd);
	write_tar(up, small_rootfs, sizeof(small_rootfs) / sizeof(small_rootfs[0]), true);
	CHECK_EQ(image_import_file(&sb.store, "shm", up, &info, err, sizeof(err)), 0);
	CHECK(!exists(up));
	pathf(p, sizeof(p), "%s/blobs/sha256/%s", sb.store_dir, info.digest + 7);
	CHECK(stat(p, &a) == 0 && a.st_size > 0);
	pathf(p, sizeof(p), "%s/tmp", sb.store_dir);
	CHECK_EQ(count_entries(p, "blob-"), 0);
	unlink(up);
	sandbox_close(&sb);
}

/* Raw ustar headers, for what libarchive's writer refuses to produce (hard links with data). */
static void raw_header(FILE *f, char type, const char *name, const char *link, size_t size)
{
	char h[512] = { 0 };
	unsigned sum = 0;

	memcpy(h, name, strlen(name));
	snprintf(h + 100, 8, "%07o", 0644);
	snprintf(h + 108, 8, "%07o", 0);
	snprintf(h + 116, 8, "%07o", 0);
	snprintf(h + 124, 12, "%011zo", size);
	snprintf(h + 136, 12, "%011o", 1700000000);
	memset(h + 148, ' ', 8);
	h[156] = type;
	if (link)
		memcpy(h + 157, link, strlen(link));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (size_t i = 0; i < sizeof(h); i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	h[155] = ' ';
	CHECK_EQ(fwrite(h, 1, sizeof(h), f), sizeof(h));
}

static void raw_data(FILE *f, const char *data, size_t len)
{
	static const char zeros[512];

	CHECK_EQ(fwrite(data, 1, len, f), len);
	if (len % 512)
		CHECK_EQ(fwrite(zeros, 1, 512 - len % 512, f), 512 - len % 512);
}

/* A pax hard link carrying data, linked to a symlink that leaves the root: the data must not
 * be written through the symlink. */
static void test_hardlink_with_data_to_symlink(void)
{
	char up[PATH_MAX], target[PATH_MAX], err[512], *text;
	static const char zeros[1024];
	struct image_info info;
	struct sandbox sb;
	FILE *f;

	sandbox_open(&sb);
	pathf(target, sizeof(target), "%s/target", sb.root);   /* extract-X/../../../target */
	CHECK_EQ(file_write_durable(target, "orig", 4, 0644), 0);
	upload_path(&sb, "raw", up, sizeof(up));
	f = fopen(up, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	raw_header(f, '2', "l", "../../../target", 0);
	raw_header(f, 'x', "PaxHeaders/h", NULL, 13);
	raw_data(f, "13 comment=x\n", 13);
	raw_header(f, '1', "h", "l", 6);
	raw_data(f, "pwned\n", 6);
	CHECK_EQ(fwrite(zeros, 1, sizeof(zeros), f), sizeof(zeros));
	fclose(f);
	image_import_file(&sb.store, "raw", up, &info, err, sizeof(err));
	text = read_text(target);
	CHECK_STR(text, "orig");
	free(text);
	sandbox_close(&sb);
}

/* trusted.* xattrs (overlayfs obeys trusted.overlay.*) are dropped, others are kept. */
static void test_xattrs_filtered(void)
{
	char up[PATH_MAX], dest[PATH_MAX], p[PATH_MAX], err[256], val[16];
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	struct sandbox sb;

	sandbox_open(&sb);
	pathf(up, sizeof(up), "%s/x.tar", sb.root);
	archive_write_set_format_pax(a);
	CHECK_EQ(archive_write_open_filename(a, up), ARCHIVE_OK);
	archive_entry_set_pathname(e, "d");
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_entry_xattr_add_entry(e, "user.keep", "yes", 3);
	archive_entry_xattr_add_entry(e, "trusted.overlay.opaque", "y", 1);
	CHECK_EQ(archive_write_header(a, e), ARCHIVE_OK);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);

	pathf(dest, sizeof(dest), "%s/dest", sb.root);
	CHECK_EQ(mkdir(dest, 0755), 0);
	CHECK_EQ(image_extract(up, dest, 1 << 20, NULL, err, sizeof(err)), 0);
	pathf(p, sizeof(p), "%s/d", dest);
	if (lgetxattr(p, "user.keep", val, sizeof(val)) < 0 && errno == ENOTSUP) {
		printf("# skip: no user xattrs on this file system\n");
	} else {
		CHECK_EQ(lgetxattr(p, "user.keep", val, sizeof(val)), 3);
		CHECK_EQ(lgetxattr(p, "trusted.overlay.opaque", val, sizeof(val)), -1);
	}
	sandbox_close(&sb);
}

UNIT_MAIN(test_ref_parse, test_import_and_resolve, test_reimport_is_cheap,
	  test_hostile_archives, test_symlink_replaced_not_followed, test_garbage_and_empty,
	  test_size_limits, test_corrupt_refs_recovery, test_leftovers_swept,
	  test_list_remove_gc, test_describe_error, test_pack_dir_roundtrip_busybox,
	  test_extract_direct, test_pack_symlinked_root, test_import_from_other_fs,
	  test_hardlink_with_data_to_symlink, test_xattrs_filtered)
