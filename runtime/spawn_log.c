/* SPDX-License-Identifier: MIT */
/* spawn_log.c: a container's size-capped, rotated log file (path, path.1, ... like logrotate). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "runtime/spawn_internal.h"

int spawn_log_open(const char *path, size_t *size)
{
	struct stat sb;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0) {
		log_warn("spawn: failed to open log %s: %s", path, strerror(errno));
		return -1;
	}
	*size = fstat(fd, &sb) == 0 ? (size_t)sb.st_size : 0;
	return fd;
}

/* Shifts path.N-1 to path.N ... path to path.1 (dropping the oldest) and opens a new path. */
static int rotate(const char *path, int max_files, int *fd, size_t *size)
{
	char from[PATH_MAX], to[PATH_MAX];

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	for (int i = max_files - 1; i >= 1; i--) {
		if (i == 1)
			snprintf(from, sizeof(from), "%s", path);
		else
			snprintf(from, sizeof(from), "%s.%d", path, i - 1);
		snprintf(to, sizeof(to), "%s.%d", path, i);
		if (rename(from, to) < 0 && errno != ENOENT)
			return -errno;
	}
	if (max_files <= 1 && truncate(path, 0) < 0 && errno != ENOENT)
		return -errno;
	*fd = spawn_log_open(path, size);
	return *fd < 0 ? -EIO : 0;
}

/* How much of data fits in room bytes: up to the last newline when there is one. */
static size_t fit(const char *data, size_t len, size_t room, size_t used)
{
	const char *nl;

	if (len <= room)
		return len;
	nl = room ? memrchr(data, '\n', room) : NULL;
	if (nl)
		return (size_t)(nl - data) + 1;
	return used ? 0 : room; /* no newline: rotate first, or cut a line longer than a file */
}

int spawn_log_write(const char *path, size_t max_bytes, int max_files, int *fd, size_t *size,
		    const char *data, size_t len)
{
	int rc;

	if (max_bytes == 0)
		max_bytes = SIZE_MAX;
	if (*fd < 0)
		*fd = spawn_log_open(path, size);
	if (*fd < 0)
		return -EIO;
	while (len > 0) {
		size_t room = *size < max_bytes ? max_bytes - *size : 0;
		size_t n = fit(data, len, room, *size);

		if (n > 0) {
			rc = file_write_all(*fd, data, n);
			if (rc < 0)
				return rc;
			*size += n;
			data += n;
			len -= n;
		}
		if (len > 0) {
			rc = rotate(path, max_files, fd, size);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}
