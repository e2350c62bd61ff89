/* SPDX-License-Identifier: MIT */
/* cgroup_test.h: helpers of the cgroup unit tests (test_cgroup.c, test_cgroup_devices.c). */
#ifndef BERTH_CGROUP_TEST_H
#define BERTH_CGROUP_TEST_H

#include "runtime/cgroup.h"

#include "common/fileio.h"
#include "tests/unit/unit.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FIXTURES "tests/fixtures/cgroup"
#define TASK     "0f3a9c1e2b4d45e6a7b8c9d0e1f2a3b4"
#define MIB      (1024ULL * 1024)

/* The whole file (malloc'd, the caller frees) or NULL. */
static inline char *slurp(const char *path)
{
	char *text = NULL;

	return file_read_all(path, 1 << 20, &text, NULL) == 0 ? text : NULL;
}

/* The first line of a file, without its newline, in buf ("" when unreadable). */
static inline const char *line_of(const char *path, char *buf, size_t size)
{
	char *text = slurp(path);

	snprintf(buf, size, "%s", text ? text : "");
	buf[strcspn(buf, "\n")] = '\0';
	free(text);
	return buf;
}

static inline bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static inline void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Copies fixture tree name into a fresh temporary directory; fills tmp (to drop later) and
 * root (the copied tree). Returns 0 or -1. */
static inline int fixture_copy(const char *name, char tmp[64], char root[128])
{
	char cmd[512];

	snprintf(tmp, 64, "/tmp/berth-cgroup-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(cmd, sizeof(cmd), "cp -a %s/%s %s/", FIXTURES, name, tmp);
	snprintf(root, 128, "%s/%s", tmp, name);
	return system(cmd) == 0 ? 0 : -1;
}

static inline void fixture_drop(const char *tmp)
{
	CHECK_EQ(file_remove_tree(tmp), 0);
}

static inline size_t strv_len(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* ---- this host's real cgroups (root only) ---- */

static inline bool real_env(struct cgroup_env *env)
{
	if (geteuid() != 0) {
		printf("# skip: real cgroup tests need root\n");
		return false;
	}
	return cgroup_env_detect(env, "/sys/fs/cgroup") == 0;
}

/* "berth-test-<pid>.slice<suffix>", unique per test run. */
static inline const char *rel_of(char *buf, size_t size, const char *suffix)
{
	snprintf(buf, size, "berth-test-%d.slice%s", (int)getpid(), suffix);
	return buf;
}

static inline pid_t fork_pausing(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
		for (;;)
			pause();
	}
	return pid;
}

/* waitpid() with a deadline; a child still alive then is killed and reported as -1. */
static inline int wait_child(pid_t pid)
{
	int status = 0;

	for (int i = 0; i < 10000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static inline bool wait_unpopulated(const struct cgroup_env *env, const char *rel)
{
	bool pop = true;

	for (int i = 0; i < 2000 && pop; i++) {
		if (cgroup_is_populated(env, rel, &pop) < 0)
			return false;
		if (pop)
			usleep(1000);
	}
	return !pop;
}

#endif
