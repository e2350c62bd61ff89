/* SPDX-License-Identifier: MIT */
/* server.c: libmicrohttpd in external-epoll mode on berthd's loop; body caps, spooled uploads. */
#include "web/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* Per-request state kept between libmicrohttpd's calls of the access handler. */
struct conn {
	char *raw_uri;           /* the request target as sent: path and query, not decoded */
	bool started;
	char *body;
	size_t len, cap;
	bool too_big;
	bool upload;
	int upload_fd;
	char upload_path[512];
	uint64_t upload_len;
	EVP_MD_CTX *sha;
};

static void conn_free(struct conn *c)
{
	if (!c)
		return;
	free(c->raw_uri);
	free(c->body);
	if (c->upload_fd >= 0)
		close(c->upload_fd);
	if (c->upload_path[0])
		unlink(c->upload_path);
	EVP_MD_CTX_free(c->sha);
	free(c);
}

static void request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)connection;
	(void)toe;
	conn_free(*con_cls);
	*con_cls = NULL;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct web_request *rq = cls;

	(void)kind;
	if (rq->n_headers >= WEB_MAX_HEADERS)
		return MHD_NO;
	rq->headers[rq->n_headers].name = key;
	rq->headers[rq->n_headers].value = value ? value : "";
	rq->n_headers++;
	return MHD_YES;
}

static enum MHD_Result queue(struct web_server *s, struct MHD_Connection *mc,
			     struct web_response *rs)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (rs->stream) {
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536,
						      (MHD_ContentReaderCallback)rs->stream,
						      rs->stream_ctx, rs->stream_free);
		s->streams++;
	} else if (rs->body_free) {
		r = MHD_create_response_from_buffer_with_free_callback_cls(
			rs->body_len, rs->body ? rs->body : (char *)"", rs->body_free, rs->body_ctx);
		if (!r)
			rs->body_free(rs->body_ctx);
		rs->body = NULL;
		rs->body_free = NULL;
	} else {
		r = MHD_create_response_from_buffer(rs->body_len, rs->body ? rs->body : (char *)"",
						    rs->body ? MHD_RESPMEM_MUST_FREE
							     : MHD_RESPMEM_PERSISTENT);
		rs->body = NULL;
	}
	if (!r)
		return MHD_NO;
	if (rs->content_type)
		MHD_add_response_header(r, "Content-Type", rs->content_type);
	for (size_t i = 0; i < rs->n_headers; i++)
		MHD_add_response_header(r, rs->headers[i].name, rs->headers[i].value);
	ret = MHD_queue_response(mc, (unsigned)rs->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result refuse(struct web_server *s, struct MHD_Connection *mc, int status,
			      const char *type, const char *msg)
{
	struct web_response rs = { 0 };

	web_respond_aws_error(&rs, status, type, "%s", msg);
	return queue(s, mc, &rs);
}

static int conn_start(struct web_server *s, struct conn *c, const char *method, const char *url)
{
	char path[512];
	const char *q = strchr(url, '?');
	size_t n = q ? (size_t)(q - url) : strlen(url);

	c->upload_fd = -1;
	if (n >= sizeof(path))
		n = sizeof(path) - 1;
	memcpy(path, url, n);
	path[n] = '\0';
	c->sha = EVP_MD_CTX_new();
	if (!c->sha || !EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL))
		return -ENOMEM;
	if (!s->is_upload || !s->is_upload(s->app, method, path))
		return 0;
	c->upload = true;
	snprintf(c->upload_path, sizeof(c->upload_path), "%s/upload.XXXXXX",
		 s->limits.upload_dir);
	c->upload_fd = mkostemp(c->upload_path, O_CLOEXEC);
	if (c->upload_fd < 0) {
		c->upload_path[0] = '\0';
		log_error("web: failed to create upload file in %s: %s", s->limits.upload_dir,
			  strerror(errno));
		return -errno;
	}
	return 0;
}

static int conn_append(struct web_server *s, struct conn *c, const char *data, size_t len)
{
	EVP_DigestUpdate(c->sha, data, len);
	if (c->upload) {
		if (c->upload_len + len > s->limits.max_upload_bytes) {
			c->too_big = true;
			return 0;
		}
		for (size_t off = 0; off < len;) {
			ssize_t w = write(c->upload_fd, data + off, len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			off += (size_t)w;
		}
		c->upload_len += len;
		return 0;
	}
	if (c->len + len > s->limits.max_body_bytes) {
		c->too_big = true;
		return 0;
	}
	if (c->len + len + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		char *nb;
		while (cap < c->len + len + 1)
			cap *= 2;
		nb = realloc(c->body, cap);
		if (!nb)
			return -ENOMEM;
		c->body = nb;
		c->cap = cap;
	}
	memcpy(c->body + c->len, data, len);
	c->len += len;
	c->body[c->len] = '\0';
	return 0;
}

static void remote_of(struct MHD_Connection *mc, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, len, "unknown");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)len);
}

static enum MHD_Result dispatch(struct web_server *s, struct MHD_Connection *mc,
				struct conn *c, const char *method, const char *url)
{
	struct web_request rq = { 0 };
	struct web_response rs = { 0 };
	unsigned char md[32];
	unsigned int mdlen = 0;
	char remote[64], path[2048], timing[48];
	const char *raw = c->raw_uri ? c->raw_uri : url;
	struct timespec t0, t1;
	const char *q = strchr(raw, '?');
	size_t n = q ? (size_t)(q - raw) : strlen(raw);

	if (n >= sizeof(path))
		return refuse(s, mc, 414, "InvalidParameterException", "Request URI too long.");
	memcpy(path, raw, n);
	path[n] = '\0';
	EVP_DigestFinal_ex(c->sha, md, &mdlen);
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(rq.payload_sha256 + 2 * i, 3, "%02x", md[i]);
	remote_of(mc, remote, sizeof(remote));
	rq.method = method;
	rq.path = path;
	rq.query = q ? q + 1 : "";
	rq.body = c->body ? c->body : "";
	rq.body_len = c->len;
	rq.remote = remote;
	rq.conn = mc;
	if (c->upload) {
		rq.upload_path = c->upload_path;
		rq.upload_len = c->upload_len;
	}
	MHD_get_connection_values(mc, MHD_HEADER_KIND, collect_header, &rq);
	rs.status = 500;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	s->handler(s->app, &rq, &rs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* The handler's own time, for browsers' developer tools and Resource Timing. */
	snprintf(timing, sizeof(timing), "app;dur=%.3f",
		 (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	web_add_header(&rs, "Server-Timing", timing);
	return queue(s, mc, &rs);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *mc, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **con_cls)
{
	struct web_server *s = cls;
	struct conn *c = *con_cls;

	(void)version;
	if (!c)
		return MHD_NO;
	if (!c->started) {
		c->started = true;
		if (conn_start(s, c, method, url) < 0)
			return refuse(s, mc, 500, "ServerException", "Cannot accept the request body.");
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!c->too_big && conn_append(s, c, upload_data, *upload_data_size) < 0)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (c->too_big) {
		char msg[128];
		snprintf(msg, sizeof(msg), "Request body is larger than the limit of %llu bytes.",
			 (unsigned long long)(c->upload ? s->limits.max_upload_bytes
							: s->limits.max_body_bytes));
		return refuse(s, mc, 413, "RequestEntityTooLargeException", msg);
	}
	return dispatch(s, mc, c, method, url);
}

/* Called first for every request with the raw request target; its result becomes the
 * request's state, so the raw path and query reach the handler (SigV4 signs them raw). */
static void *uri_log(void *cls, const char *uri, struct MHD_Connection *mc)
{
	struct conn *c = calloc(1, sizeof(*c));

	(void)cls;
	(void)mc;
	if (c) {
		c->upload_fd = -1;
		c->raw_uri = strdup(uri ? uri : "/");
	}
	return c;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("web: %s", buf);
}

static void server_run(struct web_server *s)
{
	MHD_UNSIGNED_LONG_LONG to = 0;
	uint64_t ms;

	MHD_run(s->mhd);
	/* libmicrohttpd says when it next needs a call (idle timeouts); streamed responses are
	 * polled at 100 ms because their readers return "nothing yet". */
	if (MHD_get_timeout(s->mhd, &to) == MHD_YES)
		ms = to ? to : 1;
	else
		ms = 0;
	if (s->streams && (ms == 0 || ms > 100))
		ms = 100;
	loop_timer_arm(&s->timer, ms, 0);
}

static void on_ready(struct loop_io *io, uint32_t events)
{
	(void)events;
	server_run(io->data);
}

static void on_wake(struct loop_io *io, uint32_t events)
{
	uint64_t n;

	(void)events;
	if (read(io->fd, &n, sizeof(n)) < 0)
		return;
	server_run(io->data);
}

void web_server_wake(struct web_server *s)
{
	uint64_t one = 1;

	if (s->wake.fd >= 0 && write(s->wake.fd, &one, sizeof(one)) < 0)
		return;   /* the counter is full: a wake-up is pending anyway */
}

static int wake_start(struct web_server *s, struct loop *l)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = loop_io_start(l, &s->wake, fd, EPOLLIN, on_wake, s);
	if (ret < 0)
		close(fd);
	else
		s->wake.fd = fd;
	return ret;
}

static void on_timer(struct loop_timer *t)
{
	struct web_server *s = t->data;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd,
							     MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	if (di && di->num_connections == 0)
		s->streams = 0;
	server_run(s);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;

	if (!colon || (size_t)(colon - listen) >= sizeof(host))
		return -EINVAL;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

int web_server_start(struct web_server *s, struct loop *l, const char *listen,
		     const struct web_limits *lim, web_handler h, web_is_upload up, void *app)
{
	const union MHD_DaemonInfo *di;
	struct sockaddr_in sa;
	int ret;

	memset(s, 0, sizeof(*s));
	s->limits = *lim;
	s->handler = h;
	s->is_upload = up;
	s->app = app;
	s->io.fd = -1;
	s->timer.io.fd = -1;
	s->wake.fd = -1;
	if (parse_listen(listen, &sa) < 0) {
		log_error("web: failed to parse listen address '%s': expected ADDR:PORT", listen);
		return -EINVAL;
	}
	s->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, ntohs(sa.sin_port), NULL,
				  NULL, access_handler, s,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				  MHD_OPTION_CONNECTION_LIMIT, lim->max_connections,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, lim->max_connections_per_ip,
				  MHD_OPTION_CONNECTION_TIMEOUT, lim->idle_timeout,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)128 * 1024,
				  MHD_OPTION_NOTIFY_COMPLETED, request_completed, s,
				  MHD_OPTION_URI_LOG_CALLBACK, uri_log, s,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
				  MHD_OPTION_LISTENING_ADDRESS_REUSE, 1,
				  MHD_OPTION_END);
	if (!s->mhd) {
		log_error("web: failed to listen on %s: %s", listen, strerror(errno ? errno : EADDRINUSE));
		return -EADDRINUSE;
	}
	di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : ntohs(sa.sin_port);
	di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	ret = loop_io_start(l, &s->io, di->epoll_fd, EPOLLIN, on_ready, s);
	if (ret == 0)
		ret = loop_timer_init(l, &s->timer, on_timer, s);
	if (ret == 0)
		ret = wake_start(s, l);
	if (ret < 0) {
		web_server_stop(s);
		return ret;
	}
	loop_timer_arm(&s->timer, 1, 0);
	return 0;
}

void web_server_stop(struct web_server *s)
{
	if (s->io.loop)
		loop_io_stop(&s->io);
	loop_timer_close(&s->timer);
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
	/* After the daemon: stopping it ends the streams whose workers may still wake it. */
	if (s->wake.fd >= 0) {
		loop_io_stop(&s->wake);
		close(s->wake.fd);
		s->wake.fd = -1;
	}
}
