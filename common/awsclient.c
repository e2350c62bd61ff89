/* SPDX-License-Identifier: MIT */
/* awsclient.c: SigV4-signed HTTP for AWS-style JSON APIs on libcurl, with aws-CLI pagination. */
#include "common/awsclient.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "common/sigv4.h"

#define RESPONSE_MAX (256 << 20)
#define DEFAULT_TIMEOUT_MS 60000

/* ---- HTTP ----------------------------------------------------------------------------------- */

static char *dup_or_null(const char *s, int *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	*failed |= !d;
	return d;
}

/* Splits endpoint into its Host header value and base path; -EINVAL unless http(s). */
static int parse_endpoint(struct awsclient *c, const char *endpoint)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	int ret = -EINVAL;
	size_t plen;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, endpoint, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
		goto out;
	curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT);
	ret = -ENOMEM;
	if (asprintf(&c->host, "%s%s%s", host, port ? ":" : "", port ? port : "") < 0) {
		c->host = NULL;
		goto out;
	}
	plen = strlen(path);
	while (plen && path[plen - 1] == '/')
		path[--plen] = '\0';
	c->base_path = strdup(path);
	c->endpoint = strdup(endpoint);
	if (!c->base_path || !c->endpoint)
		goto out;
	plen = strlen(c->endpoint);
	while (plen && c->endpoint[plen - 1] == '/')
		c->endpoint[--plen] = '\0';
	ret = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return ret;
}

int awsclient_init(struct awsclient *c, const char *endpoint, const char *region,
		   const char *service, const char *access_key, const char *secret,
		   const char *token)
{
	int failed = 0, ret;

	memset(c, 0, sizeof(*c));
	ret = parse_endpoint(c, endpoint);
	if (ret < 0) {
		snprintf(c->error, sizeof(c->error), "not an http(s) URL: %s", endpoint);
		goto fail;
	}
	c->region = dup_or_null(region, &failed);
	c->service = dup_or_null(service, &failed);
	c->access_key = dup_or_null(access_key, &failed);
	c->secret = dup_or_null(secret, &failed);
	c->token = dup_or_null(token, &failed);
	c->curl = curl_easy_init();
	c->connect_timeout_ms = DEFAULT_TIMEOUT_MS;
	c->read_timeout_ms = DEFAULT_TIMEOUT_MS;
	ret = -ENOMEM;
	if (failed || !c->curl || !c->region || !c->service || (access_key && !secret))
		goto fail;
	return 0;
fail:
	awsclient_close(c);
	return ret;
}

void awsclient_close(struct awsclient *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	if (c->secret)
		explicit_bzero(c->secret, strlen(c->secret));
	free(c->endpoint);
	free(c->host);
	free(c->base_path);
	free(c->region);
	free(c->service);
	free(c->access_key);
	free(c->secret);
	free(c->token);
	free(c->ca_bundle);
	c->endpoint = c->host = c->base_path = c->region = c->service = NULL;
	c->access_key = c->secret = c->token = c->ca_bundle = NULL;
	c->curl = NULL;
}

/* One request in flight: where its answer goes. */
struct xfer {
	struct awsclient *c;
	awsclient_write_fn write;
	void *arg;
	int collect_all;       /* every answer into buf (awsclient_call_json) */
	int write_err;         /* the -errno that aborted the transfer */
	char *buf;
	size_t len, cap;
};

static int buf_append(struct xfer *x, const char *data, size_t n)
{
	if (x->len + n + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 4096;
		char *p;
		while (cap < x->len + n + 1)
			cap *= 2;
		if (cap > RESPONSE_MAX)
			return -EFBIG;
		p = realloc(x->buf, cap);
		if (!p)
			return -ENOMEM;
		x->buf = p;
		x->cap = cap;
	}
	memcpy(x->buf + x->len, data, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return 0;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	long code = 0;
	int ret;

	curl_easy_getinfo(x->c->curl, CURLINFO_RESPONSE_CODE, &code);
	if (!x->collect_all && code >= 200 && code < 300)
		ret = x->write ? x->write(x->arg, data, n) : 0;
	else
		ret = buf_append(x, data, n);
	if (ret < 0) {
		x->write_err = ret;
		return 0;   /* anything but n aborts the transfer */
	}
	return n;
}

static int add_header(struct curl_slist **list, const char *name, const char *value)
{
	char line[8192];
	struct curl_slist *l;

	if ((size_t)snprintf(line, sizeof(line), "%s: %s", name, value) >= sizeof(line))
		return -EINVAL;
	l = curl_slist_append(*list, line);
	if (!l)
		return -ENOMEM;
	*list = l;
	return 0;
}

/* What one request carries besides its method and body. */
struct req_meta {
	const char *method;
	const char *path_and_query;
	const char *content_type;
	const char *target;
	const char *content_sha256;
	const void *body;
	size_t body_len;
};

/* Signs m (when c has a key) and builds the header list to send. */
static int build_headers(struct awsclient *c, const struct req_meta *m, struct curl_slist **list)
{
	struct sigv4_header h[4];
	struct sigv4_key key = { c->access_key, c->secret, c->token };
	struct sigv4_signature sig = { 0 };
	char path[4096];
	const char *q = strchr(m->path_and_query, '?');
	size_t n = 0;
	int ret = 0;

	h[n++] = (struct sigv4_header){ "Host", c->host };
	if (m->content_type)
		h[n++] = (struct sigv4_header){ "Content-Type", m->content_type };
	if (m->target)
		h[n++] = (struct sigv4_header){ "X-Amz-Target", m->target };
	if (m->content_sha256)
		h[n++] = (struct sigv4_header){ "X-Amz-Content-Sha256", m->content_sha256 };
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = add_header(list, h[i].name, h[i].value);
	if (ret == 0)
		ret = add_header(list, "Expect", "");
	if (ret < 0 || !c->access_key)
		return ret;
	snprintf(path, sizeof(path), "%s%.*s", c->base_path,
		 (int)(q ? (size_t)(q - m->path_and_query) : strlen(m->path_and_query)),
		 m->path_and_query);
	ret = sigv4_sign(&(struct sigv4_request){ m->method, path, q ? q + 1 : NULL, h, n,
						  m->body, m->body_len },
			 c->region, c->service, &key, time(NULL), &sig);
	if (ret < 0) {
		snprintf(c->error, sizeof(c->error), "cannot sign the request: %s", strerror(-ret));
		return ret;
	}
	ret = add_header(list, "X-Amz-Date", sig.amz_date);
	if (ret == 0)
		ret = add_header(list, "Authorization", sig.authorization);
	if (ret == 0 && c->token)
		ret = add_header(list, "X-Amz-Security-Token", c->token);
	sigv4_signature_clear(&sig);
	return ret;
}

static int curl_to_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CACERT_BADFILE:
		return -ECONNABORTED;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static void set_method(CURL *h, const struct req_meta *m)
{
	if (m->body || strcmp(m->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, m->body ? m->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)m->body_len);
		if (strcmp(m->method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m->method);
	} else if (strcmp(m->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(m->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m->method);
	}
}

static void set_transport(struct awsclient *c, CURL *h, char *errbuf)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "berth-awsclient/1");
	curl_easy_setopt(h, CURLOPT_VERBOSE, (long)!!c->verbose);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	if (c->read_timeout_ms > 0) {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (c->read_timeout_ms + 999) / 1000);
	}
	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->ca_bundle)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
}

static int perform(struct awsclient *c, const struct req_meta *m, struct xfer *x, long *status)
{
	struct curl_slist *headers = NULL;
	char *url = NULL, errbuf[CURL_ERROR_SIZE] = "";
	CURL *h = c->curl;
	CURLcode rc;
	int ret;

	c->error[0] = '\0';
	if (!h)
		return -EINVAL;
	curl_easy_reset(h);
	ret = build_headers(c, m, &headers);
	if (ret < 0)
		goto out;
	ret = -ENOMEM;
	if (asprintf(&url, "%s%s", c->endpoint, m->path_and_query) < 0) {
		url = NULL;
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	set_transport(c, h, errbuf);
	set_method(h, m);
	rc = curl_easy_perform(h);
	if (rc == CURLE_WRITE_ERROR && x->write_err) {
		ret = x->write_err;
		snprintf(c->error, sizeof(c->error), "%s", strerror(-ret));
	} else if (rc != CURLE_OK) {
		ret = curl_to_errno(rc);
		snprintf(c->error, sizeof(c->error), "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		ret = 0;
	}
out:
	curl_slist_free_all(headers);
	free(url);
	return ret;
}

int awsclient_call_json(struct awsclient *c, const char *target, const char *json_body,
			long *http_status, char **response)
{
	const char *body = json_body ? json_body : "{}";
	struct req_meta m = { .method = "POST", .path_and_query = "/",
			      .content_type = "application/x-amz-json-1.1", .target = target,
			      .body = body, .body_len = strlen(body) };
	struct xfer x = { .c = c, .collect_all = 1 };
	int ret;

	*response = NULL;
	ret = perform(c, &m, &x, http_status);
	if (ret == 0 && !x.buf)
		ret = buf_append(&x, "", 0);
	if (ret < 0) {
		free(x.buf);
		return ret;
	}
	*response = x.buf;
	return 0;
}

/* Maps a regular file read-only; *map is NULL for an empty one. */
static int map_file(struct awsclient *c, int fd, void **map, size_t *len)
{
	struct stat st;

	*map = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(c->error, sizeof(c->error), "request body is not a regular file");
		return -EINVAL;
	}
	if (st.st_size == 0)
		return 0;
	*map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (*map == MAP_FAILED) {
		*map = NULL;
		snprintf(c->error, sizeof(c->error), "cannot map the request body: %s",
			 strerror(errno));
		return -errno;
	}
	*len = (size_t)st.st_size;
	return 0;
}

int awsclient_request(struct awsclient *c, const char *method, const char *path_and_query,
		      const char *content_type, const struct awsclient_body *body,
		      awsclient_write_fn write, void *arg, long *http_status, char **error_body)
{
	struct req_meta m = { .method = method, .path_and_query = path_and_query,
			      .content_type = content_type };
	struct xfer x = { .c = c, .write = write, .arg = arg };
	char sha[SIGV4_HEX_LEN + 1];
	void *map = NULL;
	size_t map_len = 0;
	int ret = 0;

	if (error_body)
		*error_body = NULL;
	if (body && body->fd >= 0) {
		ret = map_file(c, body->fd, &map, &map_len);
		if (ret == 0)
			ret = sigv4_sha256_hex(map ? map : "", map_len, sha);
		m.body = map ? map : "";
		m.body_len = map_len;
		m.content_sha256 = sha;
	} else if (body) {
		m.body = body->data ? body->data : "";
		m.body_len = body->len;
	}
	if (ret == 0)
		ret = perform(c, &m, &x, http_status);
	if (map)
		munmap(map, map_len);
	if (ret == 0 && error_body)
		*error_body = x.buf;
	else
		free(x.buf);
	return ret;
}

/* ---- service calls and pagination ----------------------------------------------------------- */

static const char *first_string(const json_t *obj, const char *a, const char *b)
{
	const char *s = json_string_value(json_object_get(obj, a));

	return s ? s : json_string_value(json_object_get(obj, b));
}

void awsclient_error_parse(const char *body, long http_status, struct awsclient_error *err)
{
	json_t *doc = body ? json_loads(body, JSON_DECODE_ANY, NULL) : NULL;
	const char *type = first_string(doc, "__type", "code");
	const char *msg = first_string(doc, "message", "Message");
	const char *hash;
	size_t len;

	memset(err, 0, sizeof(*err));
	err->http_status = http_status;
	if (type) {
		/* "namespace#Name" and "Name:http://..." both carry the name botocore shows. */
		hash = strrchr(type, '#');
		type = hash ? hash + 1 : type;
		len = strcspn(type, ":");
		snprintf(err->type, sizeof(err->type), "%.*s", (int)len, type);
	} else {
		snprintf(err->type, sizeof(err->type), "%ld", http_status);
	}
	if (msg)
		snprintf(err->message, sizeof(err->message), "%s", msg);
	else if (!doc && body && *body)
		snprintf(err->message, sizeof(err->message), "%.*s", (int)strcspn(body, "\r\n"), body);
	else
		snprintf(err->message, sizeof(err->message), "HTTP status %ld", http_status);
	json_decref(doc);
}

/* One call: 0 with *result, -EPROTO with *err filled, -EBADMSG, or a transport -errno. */
static int call_once(struct awsclient *c, const char *target, const json_t *request,
		     json_t **result, struct awsclient_error *err)
{
	char *body = json_dumps(request, JSON_COMPACT | JSON_PRESERVE_ORDER), *resp = NULL;
	json_error_t je;
	long status = 0;
	int ret;

	*result = NULL;
	if (!body)
		return -ENOMEM;
	ret = awsclient_call_json(c, target, body, &status, &resp);
	free(body);
	if (ret < 0)
		return ret;
	if (status < 200 || status >= 300) {
		awsclient_error_parse(resp, status, err);
		ret = -EPROTO;
	} else {
		*result = *resp ? json_loads(resp, 0, &je) : json_object();
		if (!*result) {
			snprintf(c->error, sizeof(c->error), "the answer is not JSON: %s", je.text);
			ret = -EBADMSG;
		}
	}
	free(resp);
	return ret;
}

/* A botocore pagination token: base64 of {"<page_token>": token, "boto_truncate_amount": skip}. */
static char *token_encode(const char *page_token, const char *token, long long skip)
{
	json_t *doc = json_pack("{s:s?}", page_token, token);
	char *text, *out = NULL;
	size_t len;

	if (doc && skip)
		json_object_set_new(doc, "boto_truncate_amount", json_integer(skip));
	text = doc ? json_dumps(doc, JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (!text)
		return NULL;
	len = strlen(text);
	out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)text, (int)len);
	free(text);
	return out;
}

/* Reads a token made by token_encode; *token is NULL for the first page. Returns 0 or -EINVAL. */
static int token_decode(const char *page_token, const char *text, char **token, long long *skip)
{
	size_t len = strlen(text), pad = 0;
	unsigned char *raw = malloc(len / 4 * 3 + 1);
	json_t *doc = NULL, *t;
	int n, ret = -EINVAL;

	*token = NULL;
	*skip = 0;
	if (!raw || len % 4 || (n = EVP_DecodeBlock(raw, (const unsigned char *)text, (int)len)) < 0)
		goto out;
	while (pad < 2 && len > pad && text[len - 1 - pad] == '=')
		pad++;
	doc = json_loadb((const char *)raw, (size_t)n - pad, 0, NULL);
	t = json_object_get(doc, page_token);
	if (!json_is_object(doc) || (t && !json_is_string(t) && !json_is_null(t)))
		goto out;
	*skip = json_integer_value(json_object_get(doc, "boto_truncate_amount"));
	*token = json_is_string(t) ? strdup(json_string_value(t)) : NULL;
	ret = *skip >= 0 && (!json_is_string(t) || *token) ? 0 : -EINVAL;
out:
	json_decref(doc);
	free(raw);
	return ret;
}

/* Pagination state across pages. */
struct pager {
	struct awsclient *c;
	const struct awsclient_service *svc;
	const struct awsclient_invocation *inv;
	char target[256];
	json_t *first;        /* the first page, which becomes the result */
	json_t *items;        /* merged page_result */
	char *token;          /* the token of the page being fetched (NULL: first) */
	long long skip;       /* items of that page already shown by an earlier run */
	char *next_out;       /* the NextToken to print */
};

/* Adds a page's items; returns 1 when max_items is reached (next_out then set), else 0. */
static int pager_take(struct pager *p, json_t *page)
{
	json_t *list = json_object_get(page, p->inv->op->page_result);
	long long max = p->inv->max_items;
	size_t n = json_array_size(list);

	for (size_t i = (size_t)p->skip; i < n; i++) {
		if (max && (long long)json_array_size(p->items) == max) {
			p->next_out = token_encode(p->svc->page_token, p->token, (long long)i);
			return 1;
		}
		json_array_append(p->items, json_array_get(list, i));
	}
	p->skip = 0;
	return 0;
}

/* Fetches one page; returns 1 when there are more to fetch, 0 when done, or a -errno. */
static int pager_step(struct pager *p, struct awsclient_error *err)
{
	json_t *req = json_copy(p->inv->request), *page = NULL;
	const char *next;
	int ret = -ENOMEM;

	if (!req || (p->token && json_object_set_new(req, p->svc->page_token,
						     json_string(p->token)) < 0) ||
	    (p->inv->page_size && json_object_set_new(req, p->svc->page_limit,
						      json_integer(p->inv->page_size)) < 0))
		goto out;
	ret = call_once(p->c, p->target, req, &page, err);
	if (ret < 0)
		goto out;
	if (!p->first)
		p->first = json_incref(page);
	ret = 0;
	if (pager_take(p, page))
		goto out;
	next = json_string_value(json_object_get(page, p->svc->page_token));
	if (!next || !*next)
		goto out;
	if (p->token && strcmp(next, p->token) == 0) {
		snprintf(p->c->error, sizeof(p->c->error), "the same next token was received twice");
		ret = -EBADMSG;
		goto out;
	}
	if (p->inv->max_items && (long long)json_array_size(p->items) == p->inv->max_items) {
		p->next_out = token_encode(p->svc->page_token, next, 0);
		goto out;
	}
	free(p->token);
	p->token = strdup(next);
	ret = p->token ? 1 : -ENOMEM;
out:
	json_decref(page);
	json_decref(req);
	return ret;
}

/* The first page with the merged list, without its page token, plus NextToken when cut short. */
static int pager_result(struct pager *p, json_t **result)
{
	json_t *r = p->first;

	json_object_del(r, p->svc->page_token);
	if (json_object_set(r, p->inv->op->page_result, p->items) < 0 ||
	    (p->next_out && json_object_set_new(r, "NextToken", json_string(p->next_out)) < 0))
		return -ENOMEM;
	*result = json_incref(r);
	return 0;
}

static int paginate(struct awsclient *c, const struct awsclient_service *svc,
		    const struct awsclient_invocation *inv, json_t **result,
		    struct awsclient_error *err)
{
	struct pager p = { .c = c, .svc = svc, .inv = inv, .items = json_array() };
	int ret = -ENOMEM;

	snprintf(p.target, sizeof(p.target), "%s.%s", svc->target_prefix, inv->op->name);
	if (!p.items)
		goto out;
	if (inv->starting_token &&
	    token_decode(svc->page_token, inv->starting_token, &p.token, &p.skip) < 0) {
		snprintf(c->error, sizeof(c->error), "invalid --starting-token: %s",
			 inv->starting_token);
		ret = -EINVAL;
		goto out;
	}
	do
		ret = pager_step(&p, err);
	while (ret == 1);
	if (ret == 0)
		ret = pager_result(&p, result);
out:
	json_decref(p.first);
	json_decref(p.items);
	free(p.token);
	free(p.next_out);
	return ret;
}

int awsclient_invoke(struct awsclient *c, const struct awsclient_service *svc,
		     const struct awsclient_invocation *inv, json_t **result,
		     struct awsclient_error *err)
{
	char target[256];

	*result = NULL;
	if (inv->paginate && inv->op->page_result)
		return paginate(c, svc, inv, result, err);
	snprintf(target, sizeof(target), "%s.%s", svc->target_prefix, inv->op->name);
	return call_once(c, target, inv->request, result, err);
}

