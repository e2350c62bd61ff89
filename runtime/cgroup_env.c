/* SPDX-License-Identifier: MIT */
/* cgroup_env.c: finding the hierarchies: v2, hybrid and v1 hosts (mountinfo), fixture trees. */
#include "runtime/cgroup_internal.h"

#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

const char *const cgroup_v1_names[CGROUP_CTRL_COUNT] = {
	"cpu", "cpuacct", "memory", "pids", "blkio", "freezer", "devices",
};
/* Controllers enabled in the subtree_control of v2 ancestors (NULL: core, nothing to enable). */
const char *const cgroup_v2_names[CGROUP_CTRL_COUNT] = {
	"cpu", NULL, "memory", "pids", "io", NULL, NULL,
};

/* ---- environment ---- */

/* Fills env for the cgroup2 tree at root from its cgroup.controllers. Not logged. */
static int env_init_v2(struct cgroup_env *env, const char *root)
{
	char path[PATH_MAX], *text, *save, *tok;
	int r;

	if ((r = cgroup_path_join(path, sizeof(path), root, NULL, "cgroup.controllers")) ||
	    (r = cgroup_read_raw(path, &text)))
		return r;
	memset(env, 0, sizeof(*env));
	env->mode = CGROUP_MODE_V2;
	if ((r = cgroup_set_path(env->unified, root))) {
		free(text);
		return r;
	}
	env->controllers = 1u << CGROUP_CTRL_CPUACCT | 1u << CGROUP_CTRL_FREEZER |
			   1u << CGROUP_CTRL_DEVICES;
	for (tok = strtok_r(text, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		for (int c = 0; c < CGROUP_CTRL_COUNT; c++)
			if (cgroup_v2_names[c] && strcmp(tok, cgroup_v2_names[c]) == 0)
				env->controllers |= 1u << c;
	free(text);
	return 0;
}

static bool under_root(const char *path, const char *root)
{
	size_t len = strlen(root);

	return strncmp(path, root, len) == 0 && (path[len] == '/' || path[len] == '\0');
}

/* Decodes mountinfo's octal escapes ("\040" is a space) in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* Splits one mountinfo line (modified) into fields; the index of the "-" separator, or -1. */
static int split_line(char *line, char *f[64], int *nf)
{
	char *save, *tok;
	int sep = -1;

	*nf = 0;
	for (tok = strtok_r(line, " ", &save); tok && *nf < 64; tok = strtok_r(NULL, " ", &save)) {
		if (sep < 0 && *nf >= 6 && strcmp(tok, "-") == 0)
			sep = *nf;
		f[(*nf)++] = tok;
	}
	return sep >= 0 && sep + 3 < *nf ? sep : -1;
}

/* Records a cgroup or cgroup2 mount under root from one mountinfo line (modified). */
static int mount_line(struct cgroup_env *env, const char *root, char *line)
{
	char *f[64], *save, *tok, *mp;
	int nf, sep, r = 0;

	if ((sep = split_line(line, f, &nf)) < 0)
		return 0;
	mp = f[4];
	unescape_octal(mp);
	if (!under_root(mp, root))
		return 0;
	if (strcmp(f[sep + 1], "cgroup2") == 0)
		return env->unified[0] ? 0 : cgroup_set_path(env->unified, mp);
	if (strcmp(f[sep + 1], "cgroup") != 0)
		return 0;
	for (tok = strtok_r(f[sep + 3], ",", &save); tok && !r; tok = strtok_r(NULL, ",", &save))
		for (int c = 0; c < CGROUP_CTRL_COUNT && !r; c++)
			if (strcmp(tok, cgroup_v1_names[c]) == 0 && !env->v1[c][0]) {
				r = cgroup_set_path(env->v1[c], mp);
				env->controllers |= 1u << c;
			}
	return r;
}

int cgroup_env_from_mountinfo(struct cgroup_env *env, const char *root, const char *mountinfo)
{
	char rootn[CGROUP_PATH_MAX], *copy, *save, *line;
	size_t len;
	int r = 0;

	memset(env, 0, sizeof(*env));
	if (cgroup_set_path(rootn, root) < 0)
		return -ENAMETOOLONG;
	len = strlen(rootn);
	while (len > 0 && rootn[len - 1] == '/')
		rootn[--len] = '\0';
	if (!(copy = strdup(mountinfo)))
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line && !r; line = strtok_r(NULL, "\n", &save))
		r = mount_line(env, rootn, line);
	free(copy);
	if (r)
		return r;
	if (!env->controllers) {
		char unified[CGROUP_PATH_MAX];
		strcpy(unified, env->unified); /* env_init_v2() clears env */
		return unified[0] ? env_init_v2(env, unified) : -ENOENT;
	}
	env->mode = env->unified[0] ? CGROUP_MODE_HYBRID : CGROUP_MODE_V1;
	return 0;
}

int cgroup_env_detect(struct cgroup_env *env, const char *root)
{
	struct statfs sf;
	char *text;
	int r;

	if (statfs(root, &sf) < 0) {
		r = -errno;
		log_error("cgroup: failed to stat %s: %s", root, strerror(-r));
		return r;
	}
	if (sf.f_type == CGROUP2_SUPER_MAGIC) {
		r = env_init_v2(env, root);
	} else if ((r = cgroup_read_raw("/proc/self/mountinfo", &text)) == 0) {
		r = cgroup_env_from_mountinfo(env, root, text);
		free(text);
	}
	if (r)
		log_error("cgroup: failed to find cgroup hierarchies under %s: %s", root,
			  strerror(-r));
	if (r == 0)
		log_debug("cgroup: %s mode under %s", cgroup_mode_name(env->mode), root);
	if (r == 0 && env->mode == CGROUP_MODE_V1 && !env->v1[CGROUP_CTRL_DEVICES][0])
		log_warn("cgroup: no devices controller under %s: containers may open any device "
			 "node they can create", root);
	return r;
}

int cgroup_mount_options(const char *mountinfo, const char *mount_point, char *out, size_t size)
{
	char *copy, *save, *line, *f[64];
	int nf, sep, r = -ENOENT;

	if (!(copy = strdup(mountinfo)))
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if ((sep = split_line(line, f, &nf)) < 0)
			continue;
		unescape_octal(f[4]);
		if (strcmp(f[4], mount_point) != 0)
			continue;
		/* The last mount at a point is the one seen there. */
		r = strlen(f[sep + 3]) < size ? 0 : -ENAMETOOLONG;
		if (r == 0)
			strcpy(out, f[sep + 3]);
	}
	free(copy);
	return r;
}

/* Reconfigures the superblock mounted at mp with its options plus favordynmods (fspick: the
 * mount's own flags, nosuid and the like, are not touched; a reconfigure resets every option
 * not given, so all of them are given again). */
static int reconfigure_favor(const char *mp, const char *opts)
{
	char copy[CGROUP_PATH_MAX], *save, *tok;
	int fd, r = 0;

	if (strlen(opts) >= sizeof(copy))
		return -ENAMETOOLONG;
	strcpy(copy, opts);
	if ((fd = fspick(AT_FDCWD, mp, FSPICK_CLOEXEC | FSPICK_NO_AUTOMOUNT)) < 0)
		return -errno;
	for (tok = strtok_r(copy, ",", &save); tok && !r; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (strcmp(tok, "rw") == 0 || strcmp(tok, "ro") == 0)
			continue;
		if (eq) {
			*eq = '\0';
			r = fsconfig(fd, FSCONFIG_SET_STRING, tok, eq + 1, 0);
		} else {
			r = fsconfig(fd, FSCONFIG_SET_FLAG, tok, NULL, 0);
		}
	}
	if (r == 0)
		r = fsconfig(fd, FSCONFIG_SET_FLAG, "favordynmods", NULL, 0);
	if (r == 0)
		r = fsconfig(fd, FSCONFIG_CMD_RECONFIGURE, NULL, NULL, 0);
	r = r < 0 ? -errno : 0;
	close(fd);
	return r;
}

static bool has_option(const char *opts, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = opts; (p = strstr(p, name)); p += len)
		if ((p == opts || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
			return true;
	return false;
}

int cgroup_favor_dynmods(struct cgroup_env *env)
{
	const char *mp = env->unified;
	char *text, opts[CGROUP_PATH_MAX];
	int r;

	env->favor_dynmods = false;
	if (env->fixture)
		return -EOPNOTSUPP;
	if (!mp[0]) {
		log_info("cgroup: no cgroup2 tree: favordynmods can only be given when a v1 hierarchy "
			 "is mounted; without it every move into a cgroup waits for an RCU grace period");
		return -EOPNOTSUPP;
	}
	if ((r = cgroup_read_raw("/proc/self/mountinfo", &text)))
		return r;
	r = cgroup_mount_options(text, mp, opts, sizeof(opts));
	free(text);
	if (r == 0 && has_option(opts, "favordynmods")) {
		env->favor_dynmods = true;
		return 1;
	}
	if (r == 0)
		r = reconfigure_favor(mp, opts);
	if (r == 0) {
		/* Outside the initial cgroup namespace the kernel takes the reconfigure but
		 * changes nothing: believe the mount table. */
		char now[CGROUP_PATH_MAX];

		if ((r = cgroup_read_raw("/proc/self/mountinfo", &text)) == 0) {
			r = cgroup_mount_options(text, mp, now, sizeof(now));
			free(text);
		}
		if (r == 0 && !has_option(now, "favordynmods"))
			r = -EPERM;
	}
	if (r < 0) {
		log_warn("cgroup: cannot turn on favordynmods on %s: %s; every move into a cgroup "
			 "waits for an RCU grace period (launches take ~10 ms longer)", mp,
			 strerror(-r));
		return r;
	}
	log_info("cgroup: turned on favordynmods on %s (was %s): moves into cgroups no longer "
		 "wait for an RCU grace period", mp, opts);
	env->favor_dynmods = true;
	return 0;
}

/* Fills env from a tree holding one directory per v1 controller, plus "unified" for HYBRID. */
static int fixture_v1(struct cgroup_env *env, enum cgroup_mode mode, const char *dir)
{
	char path[PATH_MAX], real[PATH_MAX];
	int r = 0;

	memset(env, 0, sizeof(*env));
	env->mode = mode;
	for (int c = 0; c < CGROUP_CTRL_COUNT && !r; c++) {
		if (cgroup_path_join(path, sizeof(path), dir, NULL, cgroup_v1_names[c]) ||
		    !realpath(path, real))

			continue;
		r = cgroup_set_path(env->v1[c], real);
		env->controllers |= 1u << c;
	}
	if (r || !env->controllers)
		return r ? r : -ENOENT;
	if (mode != CGROUP_MODE_HYBRID)
		return 0;
	if ((r = cgroup_path_join(path, sizeof(path), dir, NULL, "unified")))
		return r;
	return realpath(path, real) ? cgroup_set_path(env->unified, real) : -errno;
}

int cgroup_env_init_fixture(struct cgroup_env *env, enum cgroup_mode mode, const char *dir)
{
	int r = mode == CGROUP_MODE_V2 ? env_init_v2(env, dir) : fixture_v1(env, mode, dir);

	env->fixture = true;
	if (r)
		log_error("cgroup: failed to use fixture %s: %s", dir, strerror(-r));
	return r;
}
