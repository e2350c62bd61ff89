/* SPDX-License-Identifier: MIT */
/* fuzz_image.c: arbitrary bytes as a rootfs archive (extracted with small limits) and as an image ref. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "runtime/image.h"

#define FUZZ_MAX_EXTRACTED (1u << 20)

static void fuzz_ref(const uint8_t *data, size_t size)
{
	char ref[512], name[IMAGE_NAME_MAX], tag[IMAGE_TAG_MAX], digest[IMAGE_DIGEST_MAX];
	size_t n = size < sizeof(ref) - 1 ? size : sizeof(ref) - 1;

	memcpy(ref, data, n);
	ref[n] = '\0';
	if (image_ref_parse(ref, name, sizeof(name), tag, sizeof(tag), digest, sizeof(digest)) == 0) {
		/* What parses must parse again to itself (normalisation is idempotent). */
		char again[IMAGE_NAME_MAX + IMAGE_TAG_MAX + IMAGE_DIGEST_MAX + 2];
		char name2[IMAGE_NAME_MAX], tag2[IMAGE_TAG_MAX], digest2[IMAGE_DIGEST_MAX];
		snprintf(again, sizeof(again), "%s%s%s%s%s", name, tag[0] ? ":" : "", tag,
			 digest[0] ? "@" : "", digest);
		if (image_ref_parse(again, name2, sizeof(name2), tag2, sizeof(tag2), digest2,
				    sizeof(digest2)) != 0 || strcmp(name, name2) != 0 ||
		    strcmp(tag, tag2) != 0 || strcmp(digest, digest2) != 0)
			abort();
	}
}

/* A plain write: no fsync, the fuzzer runs this thousands of times a second. */
static int write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t off = 0;

	while (fd >= 0 && off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	return fd >= 0 && off == size ? 0 : -1;
}

static void fuzz_archive(const uint8_t *data, size_t size)
{
	char root[] = "/tmp/berth-fuzz-image-XXXXXX", archive[sizeof(root) + 16];
	char dest[sizeof(root) + 16], err[256];
	uint64_t extracted = 0;

	if (!mkdtemp(root))
		return;
	snprintf(archive, sizeof(archive), "%s/in", root);
	snprintf(dest, sizeof(dest), "%s/out", root);
	if (write_file(archive, data, size) == 0 && mkdir(dest, 0755) == 0 &&
	    image_extract(archive, dest, FUZZ_MAX_EXTRACTED, &extracted, err, sizeof(err)) == 0 &&
	    extracted > FUZZ_MAX_EXTRACTED)
		abort();
	file_remove_tree(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_level(LOG_ERROR);
	fuzz_ref(data, size);
	fuzz_archive(data, size);
	return 0;
}
