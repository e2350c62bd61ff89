/* SPDX-License-Identifier: MIT */
/* spawn_status.c: the status files of a task's run dir: atomic writes, JSON texts, reading and parsing. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "runtime/spawn.h"
#include "runtime/spawn_internal.h"

#define STATUS_MAX 65536

long long spawn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long spawn_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long spawn_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void spawn_trace_sched(struct spawn_trace *trace, enum spawn_step step)
{
	/* Kept open per process (a fork's copy names its parent's thread): a container child
	 * reads it on through pivot_root, while it has no /proc of its own. */
	static int fd = -1;
	static pid_t owner;
	static ino_t ino;
	char buf[128];
	unsigned long long cpu, runq;
	struct timespec ts;
	struct stat sb;
	ssize_t n;

	/* The fd may have been closed and its number reused (the supervisor closes what it
	 * inherited): the inode tells. */
	if (owner != getpid() || fd < 0 || fstat(fd, &sb) < 0 || sb.st_ino != ino) {
		if (owner != getpid() && fd >= 0 && fstat(fd, &sb) == 0 && sb.st_ino == ino)
			close(fd); /* the parent's, inherited */
		fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
		owner = getpid();
		ino = fd >= 0 && fstat(fd, &sb) == 0 ? sb.st_ino : 0;
	}
	n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
	trace->runq[step] = -1; /* unknown */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	trace->cpu[step] = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &cpu, &runq) == 2)
		trace->runq[step] = (long long)(runq / 1000);
}

void spawn_trace_exec(struct spawn_trace *trace, pid_t pid)
{
	char path[64], buf[128];
	unsigned long long cpu, runq;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &cpu, &runq) == 2) {
		trace->exec_cpu = (long long)(cpu / 1000);
		trace->exec_runq = (long long)(runq / 1000);
	}
}

long long spawn_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int spawn_put_file(int dirfd, const char *name, const char *data, size_t len, bool durable)
{
	char tmp[NAME_MAX + 1];
	int fd, rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rc = file_write_all(fd, data, len);
	if (rc == 0 && durable && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(dirfd, tmp, 0);
		return rc;
	}
	if (durable && fsync(dirfd) < 0)
		return -errno;
	return 0;
}

int spawn_write_file(int dirfd, const char *name, const char *data, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	int rc;

	if (fd < 0)
		return -errno;
	rc = file_write_all(fd, data, len);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static char *dump(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

static json_t *with_restarts(json_t *o, int restarts)
{
	if (o && restarts > 0)
		json_object_set_new(o, "restartCount", json_integer(restarts));
	return o;
}

char *spawn_json_started(pid_t pid, unsigned long long starttime, long long us, int restarts)
{
	return dump(with_restarts(json_pack("{s:i,s:I,s:I,s:I}", "pid", (int)pid, "starttime",
					    (json_int_t)starttime, "time", (json_int_t)(us / 1000),
					    "timeUs", (json_int_t)us),
				  restarts));
}

char *spawn_json_exit(pid_t pid, int wstatus, long long ms, int restarts)
{
	json_t *o = json_object();
	int code = WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);

	if (!o)
		return NULL;
	if (pid > 0)
		json_object_set_new(o, "pid", json_integer(pid));
	if (WIFSIGNALED(wstatus))
		json_object_set_new(o, "signal", json_integer(WTERMSIG(wstatus)));
	json_object_set_new(o, "exitCode", json_integer(code));
	json_object_set_new(o, "time", json_integer(ms));
	return dump(with_restarts(o, restarts));
}

char *spawn_json_error(int err, const char *msg, long long ms)
{
	return dump(json_pack("{s:s,s:s,s:i,s:I}", "error", SPAWN_START_ERROR, "message", msg,
			      "errno", err, "time", (json_int_t)ms));
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

int spawn_parse_status(const char *json, size_t len, struct spawn_status *st)
{
	json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	json_t *v;

	if (!o || !json_is_object(o)) {
		json_decref(o);
		return -EBADMSG;
	}
	if ((v = json_object_get(o, "pid")) && json_is_integer(v))
		st->pid = (pid_t)json_integer_value(v);
	if ((v = json_object_get(o, "starttime")) && json_is_integer(v))
		st->starttime = (unsigned long long)json_integer_value(v);
	if ((v = json_object_get(o, "exitCode")) && json_is_integer(v))
		st->exit_code = (int)json_integer_value(v);
	if ((v = json_object_get(o, "signal")) && json_is_integer(v))
		st->signal = (int)json_integer_value(v);
	if ((v = json_object_get(o, "restartCount")) && json_is_integer(v))
		st->restart_count = (int)json_integer_value(v);
	if ((v = json_object_get(o, "errno")) && json_is_integer(v))
		st->error_errno = (int)json_integer_value(v);
	if ((v = json_object_get(o, "error")) && json_is_string(v))
		copy_str(st->error, sizeof(st->error), json_string_value(v));
	if ((v = json_object_get(o, "message")) && json_is_string(v))
		copy_str(st->message, sizeof(st->message), json_string_value(v));
	/* "time" is the exit time in ".exit" texts and the start time in ".started" ones. */
	if ((v = json_object_get(o, "time")) && json_is_integer(v)) {
		if (json_object_get(o, "exitCode") || json_object_get(o, "error"))
			st->exited_ms = json_integer_value(v);
		else
			st->started_ms = json_integer_value(v);
	}
	if ((v = json_object_get(o, "timeUs")) && json_is_integer(v))
		st->started_us = json_integer_value(v);
	json_decref(o);
	return 0;
}

/* Reads and parses one status file; *found tells whether it exists. Returns 0 or -errno. */
static int read_one(int dirfd, const char *name, struct spawn_status *st, bool *found)
{
	char *buf = malloc(STATUS_MAX);
	ssize_t n = -1;
	int fd, rc = 0;

	*found = false;
	if (!buf)
		return -ENOMEM;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? 0 : -errno;
		goto out;
	}
	n = read(fd, buf, STATUS_MAX);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc == 0) {
		*found = true;
		rc = spawn_parse_status(buf, (size_t)n, st);
	}
out:
	free(buf);
	return rc;
}

static int read_task(int dirfd, struct spawn_status *st)
{
	bool found;
	int rc = read_one(dirfd, SPAWN_TASK_DONE, st, &found);

	if (rc == 0 && found)
		st->state = SPAWN_STATE_EXITED;
	return rc;
}

static int read_container(int dirfd, const char *container, struct spawn_status *st)
{
	char name[NAME_MAX + 1];
	bool found;
	int rc;

	snprintf(name, sizeof(name), "%s.started", container);
	rc = read_one(dirfd, name, st, &found);
	if (rc < 0)
		return rc;
	if (found)
		st->state = SPAWN_STATE_RUNNING;
	snprintf(name, sizeof(name), "%s.exit", container);
	rc = read_one(dirfd, name, st, &found);
	if (rc == 0 && found)
		st->state = SPAWN_STATE_EXITED;
	return rc;
}

int spawn_read_status(const char *run_dir, const char *container, struct spawn_status *st)
{
	int dirfd, rc;

	if (!st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->exit_code = -1;
	if (!run_dir || (container && (!container[0] || strlen(container) > 200 ||
				       strchr(container, '/'))))
		return -EINVAL;
	dirfd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	rc = container ? read_container(dirfd, container, st) : read_task(dirfd, st);
	close(dirfd);
	return rc;
}

static enum spawn_file with_name(enum spawn_file kind, const char *f, size_t n, char *name,
				 size_t size)
{
	if (n == 0 || n > 200 || memchr(f, '.', n))
		return SPAWN_FILE_OTHER;
	if (name && size)
		snprintf(name, size, "%.*s", (int)n, f);
	return kind;
}

enum spawn_file spawn_classify_file(const char *filename, char *name, size_t size)
{
	size_t n = filename ? strlen(filename) : 0;

	if (n == 0 || filename[0] == '.')
		return SPAWN_FILE_OTHER;
	if (strcmp(filename, SPAWN_TASK_DONE) == 0)
		return SPAWN_FILE_TASK_DONE;
	if (n > 8 && strcmp(filename + n - 8, ".started") == 0)
		return with_name(SPAWN_FILE_STARTED, filename, n - 8, name, size);
	if (n > 5 && strcmp(filename + n - 5, ".exit") == 0)
		return with_name(SPAWN_FILE_EXIT, filename, n - 5, name, size);
	if (n > 10 && strcmp(filename + n - 10, ".restarted") == 0)
		return with_name(SPAWN_FILE_RESTARTED, filename, n - 10, name, size);
	if (n > 8 && strcmp(filename + n - 8, SPAWN_HEALTHY_SUFFIX) == 0)
		return with_name(SPAWN_FILE_HEALTHY, filename, n - 8, name, size);
	return SPAWN_FILE_OTHER;
}

int spawn_mark_healthy(const char *run_dir, const char *container)
{
	char name[NAME_MAX + 1];
	int dirfd, rc;

	if (!run_dir || !container ||
	    with_name(SPAWN_FILE_HEALTHY, container, strlen(container), NULL, 0) ==
		    SPAWN_FILE_OTHER ||
	    strchr(container, '/'))
		return -EINVAL;
	snprintf(name, sizeof(name), "%s%s", container, SPAWN_HEALTHY_SUFFIX);
	dirfd = open(run_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	rc = spawn_put_file(dirfd, name, "{}", 2, false);
	close(dirfd);
	return rc;
}
