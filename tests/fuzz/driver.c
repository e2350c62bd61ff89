/* SPDX-License-Identifier: MIT */
/* driver.c: runs a libFuzzer-style target over corpus files so every target runs in `make check`. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	/* Every prefix too: truncated input is the commonest hostile case. */
	for (long cut = 0; cut < len; cut += 1 + len / 64)
		LLVMFuzzerTestOneInput(buf, (size_t)cut);
	free(buf);
	return 0;
}

/* Usage: fuzz_x FILE|DIR... ; prints "ok N path" per input, TAP style. */
int main(int argc, char **argv)
{
	int n = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *de;
			while (d && (de = readdir(d))) {
				char p[4096];
				if (de->d_name[0] == '.')
					continue;
				snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
				if (run_file(p) == 0)
					printf("ok %d %s\n", ++n, p);
			}
			if (d)
				closedir(d);
		} else if (run_file(argv[i]) == 0) {
			printf("ok %d %s\n", ++n, argv[i]);
		} else {
			printf("not ok %d %s (unreadable)\n", ++n, argv[i]);
		}
	}
	return 0;
}
