/* SPDX-License-Identifier: MIT */
/*
 * awsc: runs one aws CLI command in the suite's warm aws CLI server (tests/tools/awsd.py).
 * Usage: awsc SOCKET ARG...   - exactly as `aws ARG...`: the server runs awscli's own main()
 * with this process's argv, environment, working directory and fds 0-2, and awsc exits with
 * its exit status.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

static int fail(const char *what)
{
	fprintf(stderr, "awsc: %s: %s\n", what, strerror(errno));
	return 255;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: awsc SOCKET ARG...\n");
		return 252;
	}
	json_t *req = json_object(), *args = json_array(), *env = json_object();
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return fail("getcwd");
	for (int i = 2; i < argc; i++) {
		json_t *s = json_string(argv[i]);
		if (!s) {
			fprintf(stderr, "awsc: argument %d is not UTF-8\n", i - 1);
			return 252;
		}
		json_array_append_new(args, s);
	}
	for (char **e = environ; *e; e++) {
		char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		char *name = strndup(*e, (size_t)(eq - *e));
		json_t *v = json_string(eq + 1);
		if (name && v)
			json_object_set_new(env, name, v);
		else
			json_decref(v);
		free(name);
	}
	json_object_set_new(req, "argv", args);
	json_object_set_new(req, "env", env);
	json_object_set_new(req, "cwd", json_string(cwd));
	char *body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!body)
		return fail("json");

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "awsc: socket path too long\n");
		return 255;
	}
	strcpy(sa.sun_path, argv[1]);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail(argv[1]);

	/* The header (body length) carries fds 0-2; then the body. */
	uint32_t len = (uint32_t)strlen(body);
	int fds[3] = { 0, 1, 2 };
	char ctl[CMSG_SPACE(sizeof(fds))];
	memset(ctl, 0, sizeof(ctl));
	struct iovec iov = { .iov_base = &len, .iov_len = sizeof(len) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	if (sendmsg(s, &mh, 0) != (ssize_t)sizeof(len))
		return fail("sendmsg");
	for (size_t off = 0; off < len;) {
		ssize_t n = write(s, body + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return fail("write");
		off += (size_t)n;
	}
	free(body);

	int32_t rc;
	size_t got = 0;
	while (got < sizeof(rc)) {
		ssize_t n = read(s, (char *)&rc + got, sizeof(rc) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "awsc: the aws CLI server ended the call without a status\n");
			return 255;
		}
		got += (size_t)n;
	}
	close(s);
	return rc;
}
