/* SPDX-License-Identifier: MIT */
/* test_awsclient_http.c: awsclient against a local libmicrohttpd server that checks SigV4. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/awsclient.h"
#include "common/sigv4.h"
#include "tests/unit/unit.h"

#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define TOKEN "session-token-1"
#define N_ITEMS 5

/* What the server saw last; written by the server thread before it answers. */
struct server {
	struct MHD_Daemon *d;
	unsigned short port;
	int calls;
	long last_max_results;
	char last_token_header[64];
	char last_content_sha[80];
};

struct conn {
	int started;
	char *uri;
	char *body;
	size_t len;
};

struct header_list {
	struct sigv4_header h[32];
	size_t n;
};

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn *cn = calloc(1, sizeof(*cn));

	if (cn)
		cn->uri = strdup(uri);
	return cn;
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls,
		 enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	if (cn) {
		free(cn->uri);
		free(cn->body);
		free(cn);
	}
}

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	struct header_list *l = cls;

	if (l->n < 32)
		l->h[l->n++] = (struct sigv4_header){ k, v };
	return MHD_YES;
}

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *type,
			      const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								  MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer_json(struct MHD_Connection *c, unsigned status, json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	enum MHD_Result ret = answer(c, status, "application/x-amz-json-1.1", text ? text : "{}");

	free(text);
	json_decref(doc);
	return ret;
}

/* One page of N_ITEMS items "i0".."i4", maxResults per page (default 2), tokens "1".."4". */
static enum MHD_Result list_things(struct server *s, struct MHD_Connection *c, json_t *req)
{
	const char *tok = json_string_value(json_object_get(req, "nextToken"));
	long start = tok ? atol(tok) : 0, max = (long)json_integer_value(json_object_get(req,
									       "maxResults"));
	json_t *items = json_array(), *page;
	char next[16];

	s->last_max_results = max;
	max = max ? max : 2;
	for (long i = start; i < start + max && i < N_ITEMS; i++) {
		snprintf(next, sizeof(next), "i%ld", i);
		json_array_append_new(items, json_string(next));
	}
	page = json_pack("{s:o, s:s}", "things", items, "other", "kept");
	snprintf(next, sizeof(next), "%ld", start + max);
	if (start + max < N_ITEMS)
		json_object_set_new(page, "nextToken", json_string(next));
	return answer_json(c, 200, page);
}

static enum MHD_Result route_target(struct server *s, struct MHD_Connection *c,
				    const char *target, const struct conn *cn)
{
	json_t *req = json_loadb(cn->body ? cn->body : "{}", cn->len ? cn->len : 2, 0, NULL);

	enum MHD_Result ret;

	if (strcmp(target, "Test_1.ListThings") == 0) {
		ret = list_things(s, c, req);
		json_decref(req);
		return ret;
	}
	if (strcmp(target, "Test_1.Loop") == 0) {
		json_decref(req);
		return answer_json(c, 200, json_pack("{s:[s], s:s}", "things", "x", "nextToken",
						     "same"));
	}
	if (strcmp(target, "Test_1.Fail") == 0) {
		json_decref(req);
		return answer_json(c, 400, json_pack("{s:s, s:s}", "__type",
						     "com.example#ThingNotFoundException",
						     "message", "Thing not found."));
	}
	return answer_json(c, 200, json_pack("{s:s, s:o?}", "target", target, "request", req));
}

static enum MHD_Result route(struct server *s, struct MHD_Connection *c, const char *method,
			     const char *path, const struct conn *cn)
{
	const char *target = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Target");
	const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
	char sha[SIGV4_HEX_LEN + 1], body[256];

	if (target && strcmp(method, "POST") == 0)
		return route_target(s, c, target, cn);
	if (strcmp(path, "/v1/upload") == 0 || strcmp(path, "/base/v1/upload") == 0) {
		sigv4_sha256_hex(cn->body ? cn->body : "", cn->len, sha);
		snprintf(body, sizeof(body), "{\"name\":\"%s\",\"size\":%zu,\"sha_ok\":%s}",
			 name ? name : "", cn->len,
			 strcmp(sha, s->last_content_sha) == 0 ? "true" : "false");
		return answer(c, 200, "application/json", body);
	}
	if (strcmp(path, "/v1/plain") == 0)
		return answer(c, 500, "text/plain", "boom\nsecond line");
	if (strcmp(path, "/v1/slow") == 0) {
		usleep(2500 * 1000);
		return answer(c, 200, "text/plain", "late");
	}
	return answer(c, 200, "text/plain", "stream-data");
}

static int verify(struct MHD_Connection *c, const char *method, const struct conn *cn,
		  struct berr *e)
{
	static const struct sigv4_key keys[] = { { AKID, SECRET, NULL },
						 { "AKIDTOKEN", SECRET, TOKEN } };
	struct sigv4_verifier v = { .region = "us-east-1", .service = "ecs", .keys = keys,
				    .n_keys = 2 };
	struct header_list hl = { .n = 0 };
	const char *q = strchr(cn->uri, '?');
	char path[1024];

	snprintf(path, sizeof(path), "%.*s", (int)(q ? q - cn->uri : (long)strlen(cn->uri)),
		 cn->uri);
	MHD_get_connection_values(c, MHD_HEADER_KIND, collect, &hl);
	return sigv4_verify(&(struct sigv4_request){ method, path, q ? q + 1 : NULL, hl.h, hl.n,
						     cn->body, cn->len },
			    &v, time(NULL), e, NULL);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *data_size, void **con_cls)
{
	struct server *s = cls;
	struct conn *cn = *con_cls;
	const char *tok, *sha;
	struct berr e = { 0 };
	char path[1024];

	if (!cn->started) {
		cn->started = 1;   /* the first call carries only the headers */
		return MHD_YES;
	}
	if (*data_size) {
		char *p = realloc(cn->body, cn->len + *data_size + 1);
		if (!p)
			return MHD_NO;
		memcpy(p + cn->len, data, *data_size);
		cn->len += *data_size;
		p[cn->len] = '\0';
		cn->body = p;
		*data_size = 0;
		return MHD_YES;
	}
	s->calls++;
	tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Security-Token");
	sha = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Content-Sha256");
	snprintf(s->last_token_header, sizeof(s->last_token_header), "%s", tok ? tok : "");
	snprintf(s->last_content_sha, sizeof(s->last_content_sha), "%s", sha ? sha : "");
	if (verify(c, method, cn, &e) != 0)
		return answer_json(c, 400, json_pack("{s:s, s:s}", "__type", e.type, "message",
						     e.message));
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(cn->uri, "?"), cn->uri);
	return route(s, c, method, path, cn);
}

static void server_start(struct server *s)
{
	const union MHD_DaemonInfo *info;

	memset(s, 0, sizeof(*s));
	s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				0, NULL, NULL, handler, s, MHD_OPTION_URI_LOG_CALLBACK, uri_log,
				NULL, MHD_OPTION_NOTIFY_COMPLETED, done, NULL,
				MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
	CHECK(s->d != NULL);
	info = s->d ? MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	s->port = info ? info->port : 0;
}

static void server_stop(struct server *s)
{
	if (s->d)
		MHD_stop_daemon(s->d);
}

static void client_open(struct awsclient *c, const struct server *s, const char *key,
			const char *secret, const char *token, const char *base)
{
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s->port, base);
	CHECK_EQ(awsclient_init(c, url, "us-east-1", "ecs", key, secret, token), 0);
}

static void test_init(void)
{
	struct awsclient c;

	CHECK_EQ(awsclient_init(&c, "ftp://x", "us-east-1", "ecs", NULL, NULL, NULL), -EINVAL);
	CHECK_EQ(awsclient_init(&c, "not a url", "us-east-1", "ecs", NULL, NULL, NULL), -EINVAL);
	CHECK_EQ(awsclient_init(&c, "http://example.com:8080/base/", "r", "s", "k", "s", NULL), 0);
	CHECK_STR(c.host, "example.com:8080");
	CHECK_STR(c.base_path, "/base");
	CHECK_STR(c.endpoint, "http://example.com:8080/base");
	awsclient_close(&c);
	awsclient_close(&c);
	awsclient_close(NULL);
	CHECK_EQ(awsclient_init(&c, "https://[::1]", "r", "s", NULL, NULL, NULL), 0);
	CHECK_STR(c.host, "[::1]");
	CHECK_STR(c.base_path, "");
	awsclient_close(&c);
}

static void test_call_json_signed(void)
{
	struct server s;
	struct awsclient c;
	char *resp = NULL;
	long status = 0;

	server_start(&s);
	client_open(&c, &s, AKID, SECRET, NULL, "");
	CHECK_EQ(awsclient_call_json(&c, "Test_1.Echo", "{\"a\":1}", &status, &resp), 0);
	CHECK_EQ(status, 200);
	CHECK_CONTAINS(resp, "\"target\":\"Test_1.Echo\"");
	CHECK_CONTAINS(resp, "\"request\":{\"a\":1}");
	free(resp);
	CHECK_EQ(awsclient_call_json(&c, "Test_1.Echo", NULL, &status, &resp), 0);
	CHECK_CONTAINS(resp, "\"request\":{}");
	free(resp);
	awsclient_close(&c);

	/* A session token is sent and signed. */
	client_open(&c, &s, "AKIDTOKEN", SECRET, TOKEN, "");
	CHECK_EQ(awsclient_call_json(&c, "Test_1.Echo", "{}", &status, &resp), 0);
	CHECK_EQ(status, 200);
	CHECK_STR(s.last_token_header, TOKEN);
	free(resp);
	awsclient_close(&c);

	/* The wrong secret is refused by the verifier. */
	client_open(&c, &s, AKID, "wrong", NULL, "");
	CHECK_EQ(awsclient_call_json(&c, "Test_1.Echo", "{}", &status, &resp), 0);
	CHECK_EQ(status, 400);
	CHECK_CONTAINS(resp, "InvalidSignatureException");
	free(resp);
	awsclient_close(&c);
	server_stop(&s);
}

static const struct awsclient_member list_members[] = {
	{ "nextToken", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "maxResults", AWSCLIENT_INTEGER, 0, NULL, NULL },
	{ NULL },
};

static const struct awsclient_op ops[] = {
	{ "ListThings", list_members, "things", NULL },
	{ "Loop", list_members, "things", NULL },
	{ "Fail", list_members, NULL, NULL },
};

static const struct awsclient_service svc = {
	.target_prefix = "Test_1", .page_token = "nextToken", .page_limit = "maxResults",
	.ops = ops, .n_ops = 3,
};

/* Runs op with inv's paging settings; returns the result as compact JSON (caller frees). */
static char *invoke(struct awsclient *c, const struct awsclient_op *op, long long max_items,
		    long long page_size, const char *start, int paginate, int *ret)
{
	struct awsclient_invocation inv = { .op = op, .request = json_object(),
					    .paginate = paginate, .max_items = max_items,
					    .page_size = page_size, .starting_token = (char *)start };
	struct awsclient_error e;
	json_t *result = NULL;
	char *text;

	*ret = awsclient_invoke(c, &svc, &inv, &result, &e);
	json_decref(inv.request);
	if (*ret == -EPROTO) {
		CHECK_STR(e.type, "ThingNotFoundException");
		CHECK_STR(e.message, "Thing not found.");
		CHECK_EQ(e.http_status, 400);
	}
	text = result ? json_dumps(result, JSON_COMPACT) : NULL;
	json_decref(result);
	return text;
}

static void test_pagination(void)
{
	struct server s;
	struct awsclient c;
	char *got, token[256];
	json_t *doc;
	int ret;

	server_start(&s);
	client_open(&c, &s, AKID, SECRET, NULL, "");
	got = invoke(&c, &ops[0], 0, 0, NULL, 1, &ret);
	CHECK_EQ(ret, 0);
	CHECK_STR(got, "{\"things\":[\"i0\",\"i1\",\"i2\",\"i3\",\"i4\"],\"other\":\"kept\"}");
	CHECK_EQ(s.calls, 3);
	free(got);

	/* --page-size sets maxResults on every request. */
	s.calls = 0;
	got = invoke(&c, &ops[0], 0, 1, NULL, 1, &ret);
	CHECK_EQ(s.calls, 5);
	CHECK_EQ(s.last_max_results, 1);
	free(got);

	/* --max-items cuts inside a page; the NextToken resumes exactly there. */
	got = invoke(&c, &ops[0], 3, 0, NULL, 1, &ret);
	CHECK_CONTAINS(got, "\"things\":[\"i0\",\"i1\",\"i2\"]");
	doc = json_loads(got, 0, NULL);
	snprintf(token, sizeof(token), "%s", json_string_value(json_object_get(doc, "NextToken")));
	CHECK(token[0] != '\0');
	json_decref(doc);
	free(got);
	got = invoke(&c, &ops[0], 0, 0, token, 1, &ret);
	CHECK_STR(got, "{\"things\":[\"i3\",\"i4\"],\"other\":\"kept\"}");
	free(got);

	/* A cut at a page boundary gives the server's own next token. */
	got = invoke(&c, &ops[0], 2, 0, NULL, 1, &ret);
	CHECK_CONTAINS(got, "\"things\":[\"i0\",\"i1\"]");
	CHECK_CONTAINS(got, "\"NextToken\":\"eyJuZXh0VG9rZW4iOiAiMiJ9\"");  /* {"nextToken": "2"} */
	free(got);

	/* Without pagination: one page as the server sent it. */
	got = invoke(&c, &ops[0], 0, 0, NULL, 0, &ret);
	CHECK_STR(got, "{\"things\":[\"i0\",\"i1\"],\"other\":\"kept\",\"nextToken\":\"2\"}");
	free(got);

	got = invoke(&c, &ops[0], 0, 0, "%%%not-base64", 1, &ret);
	CHECK_EQ(ret, -EINVAL);
	CHECK(got == NULL);
	got = invoke(&c, &ops[1], 0, 0, NULL, 1, &ret);
	CHECK_EQ(ret, -EBADMSG);
	CHECK_CONTAINS(c.error, "same next token");
	CHECK(got == NULL);
	got = invoke(&c, &ops[2], 0, 0, NULL, 1, &ret);
	CHECK_EQ(ret, -EPROTO);
	CHECK(got == NULL);
	awsclient_close(&c);
	server_stop(&s);
}

static int collect_body(void *arg, const char *data, size_t len)
{
	char *buf = arg;
	size_t used = strlen(buf);

	if (used + len >= 256)
		return -EFBIG;
	memcpy(buf + used, data, len);
	buf[used + len] = '\0';
	return 0;
}

static int refuse_body(void *arg, const char *data, size_t len)
{
	return -EPIPE;
}

static void test_request_file_body(void)
{
	struct awsclient_body body = { .fd = -1 };
	struct server s;
	struct awsclient c;
	char path[] = "/tmp/berth-body-XXXXXX", got[256] = "", *err_body = NULL;
	long status = 0;

	server_start(&s);
	body.fd = mkstemp(path);
	CHECK(body.fd >= 0);
	unlink(path);
	for (int i = 0; i < 10000; i++)
		CHECK_EQ(write(body.fd, "0123456789", 10), 10);
	client_open(&c, &s, AKID, SECRET, NULL, "/base/");
	CHECK_EQ(awsclient_request(&c, "POST", "/v1/upload?name=busy%20box%3Alatest",
				   "application/gzip", &body, collect_body, got, &status,
				   &err_body), 0);
	CHECK_EQ(status, 200);
	CHECK_STR(got, "{\"name\":\"busy box:latest\",\"size\":100000,\"sha_ok\":true}");
	CHECK(err_body == NULL);
	awsclient_close(&c);
	close(body.fd);

	/* A buffer body, and a write callback that stops the transfer. */
	client_open(&c, &s, AKID, SECRET, NULL, "");
	body = (struct awsclient_body){ .data = "abc", .len = 3, .fd = -1 };
	CHECK_EQ(awsclient_request(&c, "PUT", "/v1/other", "text/plain", &body, refuse_body, NULL,
				   &status, &err_body), -EPIPE);
	awsclient_close(&c);
	server_stop(&s);
}

static void test_request_errors(void)
{
	struct awsclient_error e;
	struct server s;
	struct awsclient c;
	char got[256] = "", *err_body = NULL;
	long status = 0;

	server_start(&s);
	client_open(&c, &s, AKID, SECRET, NULL, "");
	CHECK_EQ(awsclient_request(&c, "GET", "/v1/plain", NULL, NULL, collect_body, got, &status,
				   &err_body), 0);
	CHECK_EQ(status, 500);
	CHECK_STR(got, "");
	CHECK_STR(err_body, "boom\nsecond line");
	awsclient_error_parse(err_body, status, &e);
	CHECK_STR(e.type, "500");
	CHECK_STR(e.message, "boom");
	free(err_body);
	awsclient_error_parse("{\"code\":\"Throttling:http://x\",\"Message\":\"slow down\"}", 400,
			      &e);
	CHECK_STR(e.type, "Throttling");
	CHECK_STR(e.message, "slow down");
	awsclient_error_parse(NULL, 503, &e);
	CHECK_STR(e.type, "503");
	CHECK_CONTAINS(e.message, "503");

	/* A DELETE with a query is signed over it. */
	CHECK_EQ(awsclient_request(&c, "DELETE", "/v1/x?ref=a%3Ab&z=1", NULL, NULL, collect_body,
				   got, &status, NULL), 0);
	CHECK_EQ(status, 200);
	CHECK_STR(got, "stream-data");

	/* Nothing arrives for longer than the read timeout. */
	c.read_timeout_ms = 1000;
	CHECK_EQ(awsclient_request(&c, "GET", "/v1/slow", NULL, NULL, NULL, NULL, &status, NULL),
		 -ETIMEDOUT);
	CHECK(c.error[0] != '\0');
	awsclient_close(&c);
	server_stop(&s);

	/* Nobody listens any more. */
	client_open(&c, &s, AKID, SECRET, NULL, "");
	CHECK_EQ(awsclient_request(&c, "GET", "/", NULL, NULL, NULL, NULL, &status, NULL),
		 -ECONNREFUSED);
	awsclient_close(&c);
}

UNIT_MAIN(test_init, test_call_json_signed, test_pagination, test_request_file_body,
	  test_request_errors)
