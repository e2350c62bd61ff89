/* SPDX-License-Identifier: MIT */
/* http.h: the request and response the router and API handlers see (no libmicrohttpd types). */
#ifndef BERTH_WEB_HTTP_H
#define BERTH_WEB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct MHD_Connection;

struct web_header {
	const char *name;
	const char *value;
};

#define WEB_MAX_HEADERS 64

struct web_request {
	const char *method;
	const char *path;          /* without the query */
	const char *query;         /* raw query string, "" when none */
	struct web_header headers[WEB_MAX_HEADERS];
	size_t n_headers;
	const char *body;          /* NUL-terminated, body_len bytes; empty for uploads */
	size_t body_len;
	const char *upload_path;   /* streamed uploads: the temp file holding the body */
	uint64_t upload_len;
	char payload_sha256[65];   /* hex SHA-256 of the body, computed as it arrived */
	const char *remote;        /* client address */
	struct MHD_Connection *conn;
};

/* Streamed response body: read returns bytes, 0 for "nothing yet", -1 at the end, -2 on error. */
typedef ssize_t (*web_stream_read)(void *ctx, uint64_t pos, char *buf, size_t max);

#define WEB_MAX_RESP_HEADERS 8

struct web_response {
	int status;
	const char *content_type;
	char *body;                /* malloc'd, owned by the response */
	size_t body_len;
	struct { char name[64]; char value[256]; } headers[WEB_MAX_RESP_HEADERS];
	size_t n_headers;
	web_stream_read stream;    /* when set, body is ignored */
	void *stream_ctx;
	void (*stream_free)(void *ctx);
	/* When set, body is not malloc'd memory of the response: body_free(body_ctx) is called
	 * once the body has been sent (or the response dropped). */
	void (*body_free)(void *ctx);
	void *body_ctx;
};

/* Case-insensitive header lookup; NULL when absent. */
const char *web_header(const struct web_request *rq, const char *name);
/* Decoded query parameter into out (percent-decoding); returns 0, or -ENOENT when absent. */
int web_query(const struct web_request *rq, const char *name, char *out, size_t len);

/* Sets the body (takes ownership of a malloc'd buffer). */
void web_respond(struct web_response *rs, int status, const char *content_type, char *body,
		 size_t len);
/* Copies a string body. */
void web_respond_text(struct web_response *rs, int status, const char *content_type,
		      const char *text);
/* An AWS JSON error body {"__type": type, "message": msg}. */
void web_respond_aws_error(struct web_response *rs, int status, const char *type,
			   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void web_add_header(struct web_response *rs, const char *name, const char *value);

#endif
