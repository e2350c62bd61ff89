/* SPDX-License-Identifier: MIT */
/* http.c: request accessors and response builders shared by every handler. */
#include "web/http.h"
#include "common/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *web_header(const struct web_request *rq, const char *name)
{
	for (size_t i = 0; i < rq->n_headers; i++)
		if (strcasecmp(rq->headers[i].name, name) == 0)
			return rq->headers[i].value;
	return NULL;
}

/* Percent-decodes src[0..n) into out; '+' is a space as in forms. */
static void url_decode(const char *src, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (src[i] == '%' && i + 2 < n && hex_digit_value(src[i + 1]) >= 0 && hex_digit_value(src[i + 2]) >= 0) {
			out[o++] = (char)(hex_digit_value(src[i + 1]) * 16 + hex_digit_value(src[i + 2]));
			i += 2;
		} else {
			out[o++] = src[i] == '+' ? ' ' : src[i];
		}
	}
	out[o] = '\0';
}

int web_query(const struct web_request *rq, const char *name, char *out, size_t len)
{
	const char *p = rq->query;
	size_t nlen = strlen(name);

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t plen = amp ? (size_t)(amp - p) : strlen(p);
		if (plen >= nlen && strncmp(p, name, nlen) == 0 &&
		    (plen == nlen || p[nlen] == '=')) {
			if (plen == nlen)
				out[0] = '\0';
			else
				url_decode(p + nlen + 1, plen - nlen - 1, out, len);
			return 0;
		}
		p = amp ? amp + 1 : NULL;
	}
	return -ENOENT;
}

void web_respond(struct web_response *rs, int status, const char *content_type, char *body,
		 size_t len)
{
	free(rs->body);
	rs->status = status;
	rs->content_type = content_type;
	rs->body = body;
	rs->body_len = len;
}

void web_respond_text(struct web_response *rs, int status, const char *content_type,
		      const char *text)
{
	char *b = strdup(text);

	web_respond(rs, status, content_type, b, b ? strlen(b) : 0);
}

void web_respond_aws_error(struct web_response *rs, int status, const char *type,
			   const char *fmt, ...)
{
	char msg[1024];
	json_t *o;
	va_list ap;
	char *s;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s, s:s}", "__type", type, "message", msg);
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	web_respond(rs, status, "application/x-amz-json-1.1", s, s ? strlen(s) : 0);
	web_add_header(rs, "x-amzn-ErrorType", type);
}

void web_add_header(struct web_response *rs, const char *name, const char *value)
{
	if (rs->n_headers >= WEB_MAX_RESP_HEADERS)
		return;
	snprintf(rs->headers[rs->n_headers].name, sizeof(rs->headers[0].name), "%s", name);
	snprintf(rs->headers[rs->n_headers].value, sizeof(rs->headers[0].value), "%s", value);
	rs->n_headers++;
}
