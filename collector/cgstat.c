/* SPDX-License-Identifier: MIT */
/* cgstat.c: parsers of cgroup v2 and v1 statistics files and a pread-based reader of them. */
#include "collector/cgstat.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parses a decimal u64 at *p, advancing it; -EINVAL when there is none. */
static int parse_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -EINVAL;
		x = x * 10 + d;
	}
	*p = s;
	*v = x;
	return 0;
}

/* A decimal with an optional fraction ("12.34"). */
static int parse_dec(const char **p, double *v)
{
	uint64_t i, f = 0;
	double scale = 1;

	if (parse_u64(p, &i) < 0)
		return -EINVAL;
	if (**p == '.') {
		const char *s = *p + 1;
		for (; *s >= '0' && *s <= '9' && scale < 1e15; s++) {
			f = f * 10 + (uint64_t)(*s - '0');
			scale *= 10;
		}
		while (*s >= '0' && *s <= '9')
			s++;
		*p = s;
	}
	*v = (double)i + (double)f / scale;
	return 0;
}

static const char *next_line(const char *p)
{
	const char *nl = strchr(p, '\n');

	return nl ? nl + 1 : p + strlen(p);
}

static bool word_is(const char *p, size_t n, const char *w)
{
	return strlen(w) == n && memcmp(p, w, n) == 0;
}

struct keyed {
	const char *key;
	uint64_t *dst;
	uint64_t mul;
};

/* "key value" lines; every line must have that shape. */
static int parse_keyed(const char *text, const struct keyed *keys, size_t n, bool *seen)
{
	for (const char *p = text; *p; p = next_line(p)) {
		const char *sp = p;
		uint64_t v;

		if (*p == '\n')
			continue;
		while (*sp && *sp != ' ' && *sp != '\n')
			sp++;
		if (*sp != ' ' || sp == p)
			return -EINVAL;
		const char *q = sp + 1;
		if (parse_u64(&q, &v) < 0 || (*q && *q != '\n'))
			return -EINVAL;
		for (size_t i = 0; i < n; i++) {
			if (word_is(p, (size_t)(sp - p), keys[i].key)) {
				*keys[i].dst = v * keys[i].mul;
				if (seen)
					seen[i] = true;
			}
		}
	}
	return 0;
}

static int parse_single(const char *text, uint64_t *v)
{
	const char *p = text;

	if (strncmp(p, "max", 3) == 0) {
		*v = 0;
		return 0;
	}
	if (parse_u64(&p, v) < 0 || (*p && *p != '\n'))
		return -EINVAL;
	return 0;
}

static int parse_cpu_stat(const char *text, struct cgstat *s)
{
	const struct keyed k[] = {
		{ "usage_usec", &s->cpu_usage_ns, 1000 },
		{ "user_usec", &s->cpu_user_ns, 1000 },
		{ "system_usec", &s->cpu_system_ns, 1000 },
		{ "nr_periods", &s->cpu_periods, 1 },
		{ "nr_throttled", &s->cpu_throttled_periods, 1 },
		{ "throttled_usec", &s->cpu_throttled_ns, 1000 },
		{ "throttled_time", &s->cpu_throttled_ns, 1 },
	};

	return parse_keyed(text, k, sizeof(k) / sizeof(k[0]), NULL);
}

static int parse_cpuacct_stat(const char *text, struct cgstat *s)
{
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t mul = hz > 0 ? 1000000000ull / (uint64_t)hz : 10000000ull;
	const struct keyed k[] = {
		{ "user", &s->cpu_user_ns, mul },
		{ "system", &s->cpu_system_ns, mul },
	};

	return parse_keyed(text, k, 2, NULL);
}

static int parse_mem_stat(const char *text, struct cgstat *s)
{
	uint64_t v1_rss = 0, v1_cache = 0, v1_inact = 0, l_rss = 0, l_cache = 0;
	bool seen[8] = { false };
	const struct keyed k[] = {
		{ "anon", &s->mem_anon, 1 },
		{ "file", &s->mem_file, 1 },
		{ "inactive_file", &s->mem_inactive_file, 1 },
		{ "total_rss", &v1_rss, 1 },
		{ "total_cache", &v1_cache, 1 },
		{ "total_inactive_file", &v1_inact, 1 },
		{ "rss", &l_rss, 1 },
		{ "cache", &l_cache, 1 },
	};
	int ret = parse_keyed(text, k, sizeof(k) / sizeof(k[0]), seen);

	if (ret < 0)
		return ret;
	if (seen[3] || seen[6]) {
		/* v1: the total_ keys include descendants; a leaf may lack them. */
		s->v1_mem = true;
		s->mem_anon = seen[3] ? v1_rss : l_rss;
		s->mem_file = seen[4] ? v1_cache : l_cache;
		if (seen[5])
			s->mem_inactive_file = v1_inact;
	}
	return 0;
}

static int parse_mem_events(const char *text, struct cgstat *s)
{
	uint64_t oom = 0, oom_kill = 0, max = 0;
	bool seen[3] = { false };
	const struct keyed k[] = {
		{ "oom", &oom, 1 }, { "oom_kill", &oom_kill, 1 }, { "max", &max, 1 },
	};
	int ret = parse_keyed(text, k, 3, seen);

	if (ret < 0)
		return ret;
	if (seen[1])
		s->mem_oom_events = oom_kill;
	else if (seen[0])
		s->mem_oom_events = oom;
	if (seen[2] && !(s->have & (1u << CGSTAT_MEM_FAILCNT)))
		s->mem_failcnt = max;
	return 0;
}

/* v2 io.stat: "MAJ:MIN key=value ..." per device. */
static int parse_io_stat(const char *text, struct cgstat *s)
{
	for (const char *p = text; *p; p = next_line(p)) {
		const char *q = p;
		uint64_t maj, min;

		if (*p == '\n')
			continue;
		if (parse_u64(&q, &maj) < 0 || *q++ != ':' || parse_u64(&q, &min) < 0)
			return -EINVAL;
		while (*q == ' ') {
			const char *key = ++q, *eq;
			uint64_t v;
			while (*q && *q != '=' && *q != ' ' && *q != '\n')
				q++;
			if (*q != '=')
				return -EINVAL;
			eq = q++;
			if (parse_u64(&q, &v) < 0)
				return -EINVAL;
			if (word_is(key, (size_t)(eq - key), "rbytes"))
				s->io_read_bytes += v;
			else if (word_is(key, (size_t)(eq - key), "wbytes"))
				s->io_write_bytes += v;
			else if (word_is(key, (size_t)(eq - key), "rios"))
				s->io_read_ops += v;
			else if (word_is(key, (size_t)(eq - key), "wios"))
				s->io_write_ops += v;
		}
		if (*q && *q != '\n')
			return -EINVAL;
	}
	return 0;
}

/* v1 blkio: "MAJ:MIN Op N" per device and op, then "Total N". */
static int parse_blkio(const char *text, uint64_t *rd, uint64_t *wr)
{
	for (const char *p = text; *p; p = next_line(p)) {
		const char *q = p, *op;
		uint64_t maj, min, v;
		size_t op_len;

		if (*p == '\n')
			continue;
		if (strncmp(p, "Total ", 6) == 0) {
			q = p + 6;
			if (parse_u64(&q, &v) < 0)
				return -EINVAL;
			continue;
		}
		if (parse_u64(&q, &maj) < 0 || *q++ != ':' || parse_u64(&q, &min) < 0 ||
		    *q++ != ' ')
			return -EINVAL;
		op = q;
		while (*q && *q != ' ' && *q != '\n')
			q++;
		op_len = (size_t)(q - op);
		if (*q++ != ' ' || parse_u64(&q, &v) < 0 || (*q && *q != '\n'))
			return -EINVAL;
		if (word_is(op, op_len, "Read"))
			*rd += v;
		else if (word_is(op, op_len, "Write"))
			*wr += v;
	}
	return 0;
}

/* "some avg10=A avg60=B avg300=C total=T" and optionally the same for "full". */
static int parse_psi(const char *text, struct cgstat_psi *psi)
{
	for (const char *p = text; *p; p = next_line(p)) {
		bool full;
		const char *q;
		double avg10 = 0, skip;
		uint64_t total = 0;

		if (*p == '\n')
			continue;
		if (strncmp(p, "some ", 5) == 0)
			full = false;
		else if (strncmp(p, "full ", 5) == 0)
			full = true;
		else
			return -EINVAL;
		q = p + 5;
		if (strncmp(q, "avg10=", 6) || (q += 6, parse_dec(&q, &avg10) < 0) ||
		    strncmp(q, " avg60=", 7) || (q += 7, parse_dec(&q, &skip) < 0) ||
		    strncmp(q, " avg300=", 8) || (q += 8, parse_dec(&q, &skip) < 0) ||
		    strncmp(q, " total=", 7) || (q += 7, parse_u64(&q, &total) < 0) ||
		    (*q && *q != '\n'))
			return -EINVAL;
		if (full) {
			psi->full_avg10 = avg10;
			psi->full_total_us = total;
		} else {
			psi->some_avg10 = avg10;
			psi->some_total_us = total;
		}
	}
	return 0;
}

int cgstat_parse(enum cgstat_file kind, const char *text, struct cgstat *s)
{
	int ret;

	switch (kind) {
	case CGSTAT_CPU_STAT: ret = parse_cpu_stat(text, s); break;
	case CGSTAT_CPUACCT_USAGE: ret = parse_single(text, &s->cpu_usage_ns); break;
	case CGSTAT_CPUACCT_STAT: ret = parse_cpuacct_stat(text, s); break;
	case CGSTAT_MEM_CURRENT: ret = parse_single(text, &s->mem_usage); break;
	case CGSTAT_MEM_STAT: ret = parse_mem_stat(text, s); break;
	case CGSTAT_MEM_EVENTS: ret = parse_mem_events(text, s); break;
	case CGSTAT_MEM_FAILCNT: ret = parse_single(text, &s->mem_failcnt); break;
	case CGSTAT_IO_STAT: ret = parse_io_stat(text, s); break;
	case CGSTAT_BLKIO_BYTES: ret = parse_blkio(text, &s->io_read_bytes, &s->io_write_bytes); break;
	case CGSTAT_BLKIO_OPS: ret = parse_blkio(text, &s->io_read_ops, &s->io_write_ops); break;
	case CGSTAT_PIDS_CURRENT: ret = parse_single(text, &s->pids_current); break;
	case CGSTAT_CPU_PRESSURE: ret = parse_psi(text, &s->psi_cpu); break;
	case CGSTAT_MEM_PRESSURE: ret = parse_psi(text, &s->psi_mem); break;
	case CGSTAT_IO_PRESSURE: ret = parse_psi(text, &s->psi_io); break;
	default: return -EINVAL;
	}
	if (ret == 0)
		s->have |= 1u << kind;
	return ret;
}

void cgstat_finish(struct cgstat *s)
{
	s->mem_working_set = s->mem_usage > s->mem_inactive_file
				     ? s->mem_usage - s->mem_inactive_file : 0;
}

void cgstat_reader_init(struct cgstat_reader *r)
{
	for (int i = 0; i < CGSTAT_FILE_COUNT; i++)
		r->fd[i] = -1;
	r->gone = false;
}

void cgstat_reader_close(struct cgstat_reader *r)
{
	for (int i = 0; i < CGSTAT_FILE_COUNT; i++) {
		if (r->fd[i] >= 0)
			close(r->fd[i]);
		r->fd[i] = -1;
	}
}

struct file_spec {
	enum cgstat_file kind;
	enum cgroup_ctrl ctrl;
	const char *v2, *v1;          /* NULL: not on that kind of host */
};

static const struct file_spec specs[] = {
	{ CGSTAT_CPU_STAT, CGROUP_CTRL_CPU, "cpu.stat", "cpu.stat" },
	{ CGSTAT_CPUACCT_USAGE, CGROUP_CTRL_CPUACCT, NULL, "cpuacct.usage" },
	{ CGSTAT_CPUACCT_STAT, CGROUP_CTRL_CPUACCT, NULL, "cpuacct.stat" },
	{ CGSTAT_MEM_CURRENT, CGROUP_CTRL_MEMORY, "memory.current", "memory.usage_in_bytes" },
	{ CGSTAT_MEM_STAT, CGROUP_CTRL_MEMORY, "memory.stat", "memory.stat" },
	{ CGSTAT_MEM_EVENTS, CGROUP_CTRL_MEMORY, "memory.events", "memory.oom_control" },
	{ CGSTAT_MEM_FAILCNT, CGROUP_CTRL_MEMORY, NULL, "memory.failcnt" },
	{ CGSTAT_IO_STAT, CGROUP_CTRL_IO, "io.stat", NULL },
	{ CGSTAT_BLKIO_BYTES, CGROUP_CTRL_IO, NULL, "blkio.throttle.io_service_bytes_recursive" },
	{ CGSTAT_BLKIO_OPS, CGROUP_CTRL_IO, NULL, "blkio.throttle.io_serviced_recursive" },
	{ CGSTAT_PIDS_CURRENT, CGROUP_CTRL_PIDS, "pids.current", "pids.current" },
};

static const char *const psi_files[] = { "cpu.pressure", "memory.pressure", "io.pressure" };

static int open_ro(const char *path)
{
	return open(path, O_RDONLY | O_CLOEXEC);
}

int cgstat_reader_open(struct cgstat_reader *r, const struct cgroup_env *env, const char *rel)
{
	char path[CGROUP_PATH_MAX * 2];
	bool v2 = env->mode == CGROUP_MODE_V2;
	int n = 0;

	cgstat_reader_init(r);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		const char *name = v2 ? specs[i].v2 : specs[i].v1;
		if (!name || cgroup_path(env, specs[i].ctrl, rel, name, path, sizeof(path)) < 0)
			continue;
		r->fd[specs[i].kind] = open_ro(path);
		n += r->fd[specs[i].kind] >= 0;
	}
	for (int i = 0; i < 3 && env->unified[0]; i++) {
		/* PSI lives in the cgroup2 tree, also on hybrid hosts. */
		if (snprintf(path, sizeof(path), "%s/%s/%s", env->unified, rel, psi_files[i]) >=
		    (int)sizeof(path))
			continue;
		r->fd[CGSTAT_CPU_PRESSURE + i] = open_ro(path);
		n += r->fd[CGSTAT_CPU_PRESSURE + i] >= 0;
	}
	if (n == 0)
		return -ENOENT;
	return 0;
}

/* I/O files add up devices: their fields start from zero on each read. */
static void io_reset(struct cgstat *s, unsigned mask)
{
	if (mask & ((1u << CGSTAT_IO_STAT) | (1u << CGSTAT_BLKIO_BYTES)))
		s->io_read_bytes = s->io_write_bytes = 0;
	if (mask & ((1u << CGSTAT_IO_STAT) | (1u << CGSTAT_BLKIO_OPS)))
		s->io_read_ops = s->io_write_ops = 0;
}

int cgstat_reader_read(struct cgstat_reader *r, char *buf, size_t size, unsigned mask,
		       struct cgstat *s)
{
	int ret = 0;

	if (r->gone)
		return -ENOENT;
	for (int i = 0; i < CGSTAT_FILE_COUNT; i++)
		if (r->fd[i] < 0)
			mask &= ~(1u << i);
	/* Only the I/O files read now start their fields from zero. */
	io_reset(s, mask);
	for (int i = 0; i < CGSTAT_FILE_COUNT; i++) {
		ssize_t n;
		if (r->fd[i] < 0 || !(mask & (1u << i)))
			continue;
		n = pread(r->fd[i], buf, size - 1, 0);
		if (n < 0 && (errno == ENODEV || errno == ENOENT || errno == ESTALE)) {
			/* rmdir'd under us: the files read ENODEV from now on. */
			r->gone = true;
			cgstat_reader_close(r);
			return -ENOENT;
		}
		if (n < 0)
			continue; /* e.g. PSI disabled at boot: EOPNOTSUPP */
		buf[n] = '\0';
		if (cgstat_parse((enum cgstat_file)i, buf, s) < 0)
			ret = -EINVAL;
	}
	cgstat_finish(s);
	return ret;
}

/* Writes "MAJ:MIN 1TiB/s" for every whole disk into file; 0 or the first -errno. */
static int write_rules(const char *file)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int ret = 0, fd;

	if (!d)
		return -errno;
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	while ((e = readdir(d))) {
		char path[300], dev[32], rule[64];
		ssize_t n;
		int dfd;
		if (e->d_name[0] == '.' || !strncmp(e->d_name, "loop", 4) ||
		    !strncmp(e->d_name, "ram", 3) || !strncmp(e->d_name, "zram", 4))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dev", e->d_name);
		dfd = open(path, O_RDONLY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		n = read(dfd, dev, sizeof(dev) - 1);
		close(dfd);
		if (n <= 0)
			continue;
		dev[n] = '\0';
		dev[strcspn(dev, "\n")] = '\0';
		n = snprintf(rule, sizeof(rule), "%s %llu\n", dev, 1ull << 40);
		if (write(fd, rule, (size_t)n) < 0 && ret == 0)
			ret = -errno;
	}
	close(fd);
out:
	closedir(d);
	return ret;
}

int cgstat_enable_io_accounting(const struct cgroup_env *env, const char *rel)
{
	static const char *const files[] = { "blkio.throttle.read_bps_device",
					     "blkio.throttle.write_bps_device" };
	char path[CGROUP_PATH_MAX * 2];
	int ret = 0;

	if (env->mode == CGROUP_MODE_V2 || env->fixture)
		return 0;
	for (int i = 0; i < 2; i++) {
		int r = cgroup_path(env, CGROUP_CTRL_IO, rel, files[i], path, sizeof(path));
		if (r == 0)
			r = write_rules(path);
		if (r < 0 && ret == 0)
			ret = r;
	}
	return ret;
}
