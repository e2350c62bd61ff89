/* SPDX-License-Identifier: MIT */
/* fileio.h: durable file writes (temp, fsync, rename, fsync dir), whole-file reads, mkdir -p. */
#ifndef BERTH_FILEIO_H
#define BERTH_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Writes len bytes to path durably with the given mode: a crash leaves either the old or the
 * new content, never a mix. Returns 0 or -errno; on error the old file is unchanged. */
int file_write_durable(const char *path, const void *data, size_t len, mode_t mode);

/* Writes all of data to fd, retrying short writes and EINTR. Returns 0 or -errno. */
int file_write_all(int fd, const void *data, size_t len);

/* Reads a whole file (at most max bytes) into a NUL-terminated malloc'd buffer the caller frees.
 * Returns 0 and sets *out and *len, or -errno (-EFBIG when larger than max). */
int file_read_all(const char *path, size_t max, char **out, size_t *len);

/* Creates path and its missing parents with mode. Returns 0 or -errno. */
int file_mkdir_p(const char *path, mode_t mode);

/* Removes a directory tree (no symlink following, stays on one device). Returns 0 or -errno. */
int file_remove_tree(const char *path);

#endif
