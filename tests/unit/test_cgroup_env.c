/* SPDX-License-Identifier: MIT */
/* test_cgroup_env.c: a mount's options from mountinfo, and favordynmods on this host's cgroup2
 * tree (root; skipped without one). */
#include "runtime/cgroup.h"

#include "common/fileio.h"
#include "tests/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

static const char mountinfo[] =
	"25 30 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec - tmpfs tmpfs rw,mode=755\n"
	"26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 "
	"cgroup2 rw,nsdelegate\n"
	"27 25 0:25 / /sys/fs/cgroup/cpu\\054cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
	"28 25 0:26 / /sys/fs/cgroup/unified rw shared:5 - cgroup2 cgroup2 "
	"rw,nsdelegate,memory_recursiveprot\n"
	"short line\n";

static void test_mount_options(void)
{
	char out[64], tiny[4];

	/* The last mount at a point is the one seen there; escapes in the point are decoded. */
	CHECK_EQ(cgroup_mount_options(mountinfo, "/sys/fs/cgroup/unified", out, sizeof(out)), 0);
	CHECK_STR(out, "rw,nsdelegate,memory_recursiveprot");
	CHECK_EQ(cgroup_mount_options(mountinfo, "/sys/fs/cgroup/cpu,cpuacct", out, sizeof(out)), 0);
	CHECK_STR(out, "rw,cpu,cpuacct");
	CHECK_EQ(cgroup_mount_options(mountinfo, "/sys/fs/cgroup/memory", out, sizeof(out)),
		 -ENOENT);
	CHECK_EQ(cgroup_mount_options(mountinfo, "/sys/fs/cgroup", tiny, sizeof(tiny)),
		 -ENAMETOOLONG);
	CHECK_EQ(cgroup_mount_options("", "/", out, sizeof(out)), -ENOENT);
	CHECK_EQ(cgroup_mount_options("- - - - - - - -\n", "-", out, sizeof(out)), -ENOENT);
}

/* The super options of mp now, or "" (the caller's buffer). */
static const char *options_now(const char *mp, char *out, size_t size)
{
	char *text = NULL;

	out[0] = '\0';
	if (file_read_all("/proc/self/mountinfo", 1 << 20, &text, NULL) == 0)
		cgroup_mount_options(text, mp, out, size);
	free(text);
	return out;
}

/* Reconfigures the superblock at mp to exactly the options in opts ("rw,a,b"), as berthd does
 * (fspick: the mount's own flags stay). */
static int reconfigure(const char *mp, const char *opts)
{
	char copy[256], *save, *tok;
	int fd, r = 0;

	snprintf(copy, sizeof(copy), "%s", opts);
	if ((fd = fspick(AT_FDCWD, mp, FSPICK_CLOEXEC)) < 0)
		return -errno;
	for (tok = strtok_r(copy, ",", &save); tok && !r; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, "rw") && strcmp(tok, "ro"))
			r = fsconfig(fd, FSCONFIG_SET_FLAG, tok, NULL, 0);
	if (r == 0)
		r = fsconfig(fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0);
	r = r < 0 ? -errno : 0;
	close(fd);
	return r;
}

static void test_favor_dynmods_real(void)
{
	struct cgroup_env env, fix = { .fixture = true };
	char before[256], after[256], plain[256];

	CHECK_EQ(cgroup_favor_dynmods(&fix), -EOPNOTSUPP);
	CHECK(!fix.favor_dynmods);
	if (geteuid() != 0 || cgroup_env_detect(&env, "/sys/fs/cgroup") < 0 || !env.unified[0]) {
		printf("# skipped: needs root and a cgroup2 tree\n");
		return;
	}
	/* Off first (the options as they are, less favordynmods), with memory_localevents added
	 * so that keeping the other options is seen. Other berthd on this host only lose speed. */
	options_now(env.unified, before, sizeof(before));
	snprintf(plain, sizeof(plain), "%s", before);
	char *p = strstr(plain, ",favordynmods");
	if (p)
		memmove(p, p + 13, strlen(p + 13) + 1);
	if (!strstr(plain, "memory_localevents"))
		strncat(plain, ",memory_localevents", sizeof(plain) - strlen(plain) - 1);
	int r = reconfigure(env.unified, plain);
	if (r < 0) {
		printf("# skipped: cannot reconfigure %s: %s\n", env.unified, strerror(-r));
		return;
	}
	CHECK(!strstr(options_now(env.unified, after, sizeof(after)), "favordynmods"));
	CHECK_EQ(cgroup_favor_dynmods(&env), 0);
	CHECK(env.favor_dynmods);
	options_now(env.unified, after, sizeof(after));
	CHECK_CONTAINS(after, "favordynmods");
	CHECK_CONTAINS(after, "memory_localevents");
	CHECK_EQ(cgroup_favor_dynmods(&env), 1); /* on already: left alone */
	/* Back as it was, favordynmods included. */
	CHECK_EQ(reconfigure(env.unified, before), 0);
	CHECK_STR(options_now(env.unified, after, sizeof(after)), before);
}

UNIT_MAIN(test_mount_options, test_favor_dynmods_real)
