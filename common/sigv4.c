/* SPDX-License-Identifier: MIT */
/* sigv4.c: AWS Signature Version 4: canonical requests, signing and verification over libcrypto. */
#include "common/sigv4.h"
#include "common/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define SCOPE_TERMINATOR "aws4_request"
#define AUTH_DELIMS " \t\r\n,"

/* ---- text helpers ---- */

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

static void hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* SigV4's URI encoding: everything but the unreserved set becomes %XX (upper-case hex). */
static void put_encoded_byte(FILE *f, unsigned char c)
{
	if (is_unreserved(c))
		fputc(c, f);
	else
		fprintf(f, "%%%02X", c);
}

static void put_lower(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fputc((s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' : s[i], f);
}

/* Closes an open_memstream; returns its buffer, or NULL (errno ENOMEM) when a write failed. */
static char *stream_finish(FILE *f, char **buf)
{
	bool bad = ferror(f);

	if (fclose(f) != 0 || bad) {
		free(*buf);
		*buf = NULL;
		errno = ENOMEM;
		return NULL;
	}
	return *buf;
}

/* Steps through a ';'-separated list: returns the next item and its length, NULL at the end. */
static const char *list_next(const char **cursor, size_t *len)
{
	const char *item = *cursor, *semi;

	if (!item)
		return NULL;
	semi = strchr(item, ';');
	*len = semi ? (size_t)(semi - item) : strlen(item);
	*cursor = semi ? semi + 1 : NULL;
	return item;
}

static bool list_contains(const char *list, const char *name)
{
	const char *cursor = list, *item;
	size_t len;

	while ((item = list_next(&cursor, &len)))
		if (len == strlen(name) && strncasecmp(item, name, len) == 0)
			return true;
	return false;
}

/* ---- dates ---- */

static int format_amz_date(time_t t, char out[SIGV4_AMZ_DATE_LEN + 1])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    strftime(out, SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm) != SIGV4_AMZ_DATE_LEN) {
		out[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

/* Accepts exactly "YYYYMMDDTHHMMSSZ" naming a real instant (no 13th month, no 61st second). */
static int parse_amz_date(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	char back[SIGV4_AMZ_DATE_LEN + 1];

	if (!s || strlen(s) != SIGV4_AMZ_DATE_LEN || s[8] != 'T' || s[15] != 'Z')
		return -EINVAL;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (s[i] < '0' || s[i] > '9'))
			return -EINVAL;
	if (sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	if (format_amz_date(*out, back) < 0 || strcmp(back, s) != 0)
		return -EINVAL;
	return 0;
}

/* The HTTP Date header (RFC 7231 IMF-fixdate), which AWS accepts when X-Amz-Date is absent. */
static int parse_http_date(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	const char *end = s ? strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm) : NULL;

	if (!end || *end)
		return -EINVAL;
	*out = timegm(&tm);
	return 0;
}

/* ---- crypto (libcrypto does all of it) ---- */

int sigv4_sha256_hex(const void *data, size_t len, char out[SIGV4_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (!out || (!data && len))
		return -EINVAL;
	if (!EVP_Digest(data ? data : "", len, md, &md_len, EVP_sha256(), NULL) ||
	    md_len != SIGV4_HEX_LEN / 2)
		return -EIO;
	hex_encode(md, md_len, out);
	return 0;
}

static int hmac_sha256(const void *key, size_t key_len, const char *msg,
		       unsigned char out[SIGV4_KEY_LEN])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;

	if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), mac,
		  &mac_len) || mac_len != SIGV4_KEY_LEN)
		return -EIO;
	memcpy(out, mac, SIGV4_KEY_LEN);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

int sigv4_signing_key(const char *secret_key, const char *date8, const char *region,
		      const char *service, unsigned char out[SIGV4_KEY_LEN])
{
	const char *steps[] = { region, service, SCOPE_TERMINATOR };
	unsigned char k[SIGV4_KEY_LEN];
	char *first;
	int r;

	if (!secret_key || !date8 || !region || !service || !out)
		return -EINVAL;
	if (asprintf(&first, "AWS4%s", secret_key) < 0)
		return -ENOMEM;
	r = hmac_sha256(first, strlen(first), date8, k);
	for (size_t i = 0; r == 0 && i < sizeof(steps) / sizeof(steps[0]); i++)
		r = hmac_sha256(k, sizeof(k), steps[i], k);
	if (r == 0)
		memcpy(out, k, sizeof(k));
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(first, strlen(first));
	free(first);
	return r;
}

/* ---- canonical request ---- */

struct segment {
	const char *start;
	size_t len;
};

/* The path with "." and empty segments dropped and ".." applied (botocore's remove_dot_segments,
 * which is what AWS's non-S3 services expect), each segment URI-encoded again. */
static int put_canonical_path(FILE *f, const char *path)
{
	size_t len = path ? strlen(path) : 0, n = 0;
	const char *p = path, *end;
	struct segment *segs;

	if (len == 0) {
		fputc('/', f);
		return 0;
	}
	end = path + len;
	segs = calloc(len + 1, sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	for (;;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		size_t seg = (size_t)((slash ? slash : end) - p);

		if (seg == 2 && p[0] == '.' && p[1] == '.')
			n -= n > 0;
		else if (seg > 0 && !(seg == 1 && p[0] == '.'))
			segs[n++] = (struct segment){ p, seg };
		if (!slash)
			break;
		p = slash + 1;
	}
	for (size_t i = 0; i < n; i++) {
		fputc('/', f);
		for (size_t j = 0; j < segs[i].len; j++)
			put_encoded_byte(f, (unsigned char)segs[i].start[j]);
	}
	if (n == 0 || path[len - 1] == '/')
		fputc('/', f);
	free(segs);
	return 0;
}

struct qparam {
	char *name;
	char *value;
};

/* Percent-decodes s[0..len) (a malformed escape stays literal; '+' stays '+') and re-encodes it. */
static char *query_part(const char *s, size_t len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%' && i + 2 < len && hex_digit_value(s[i + 1]) >= 0 && hex_digit_value(s[i + 2]) >= 0) {
			c = (unsigned char)(hex_digit_value(s[i + 1]) * 16 + hex_digit_value(s[i + 2]));
			i += 2;
		}
		put_encoded_byte(f, c);
	}
	return stream_finish(f, &buf);
}

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static void qparams_free(struct qparam *q, size_t n)
{
	for (size_t i = 0; q && i < n; i++) {
		free(q[i].name);
		free(q[i].value);
	}
	free(q);
}

/* Splits the raw query at '&' into encoded name/value pairs; empty pieces ("a&&b") are skipped. */
static int query_parse(const char *query, struct qparam **out, size_t *n_out)
{
	const char *p = query ? query : "", *end = p + strlen(p);
	size_t cap = 1, n = 0;
	struct qparam *q;

	for (const char *c = p; *c; c++)
		cap += *c == '&';
	q = calloc(cap, sizeof(*q));
	if (!q)
		return -ENOMEM;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));

		if (stop > p) {
			struct qparam *qp = &q[n++];

			qp->name = query_part(p, (size_t)((eq ? eq : stop) - p));
			qp->value = eq ? query_part(eq + 1, (size_t)(stop - eq - 1)) : query_part(p, 0);
			if (!qp->name || !qp->value) {
				qparams_free(q, n);
				return -ENOMEM;
			}
		}
		if (!amp)
			break;
		p = amp + 1;
	}
	*out = q;
	*n_out = n;
	return 0;
}

static int put_canonical_query(FILE *f, const char *query)
{
	struct qparam *q;
	size_t n;
	int r = query_parse(query, &q, &n);

	if (r < 0)
		return r;
	qsort(q, n, sizeof(*q), qparam_cmp);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%s=%s", i ? "&" : "", q[i].name, q[i].value);
	qparams_free(q, n);
	return 0;
}

/* A header value trimmed, with every inner run of whitespace turned into one space. */
static void put_trimmed(FILE *f, const char *v)
{
	bool space = false, any = false;

	for (; *v; v++) {
		if (is_space(*v)) {
			space = true;
			continue;
		}
		if (space && any)
			fputc(' ', f);
		fputc(*v, f);
		space = false;
		any = true;
	}
}

/* Writes the values of every header named name[0..len), joined with ','. */
static void put_header_values(FILE *f, const struct sigv4_request *req, const char *name,
			      size_t len)
{
	size_t found = 0;

	for (size_t i = 0; i < req->n_headers; i++) {
		const struct sigv4_header *h = &req->headers[i];

		if (!h->name || strlen(h->name) != len || strncasecmp(h->name, name, len) != 0)
			continue;
		if (found++)
			fputc(',', f);
		put_trimmed(f, h->value ? h->value : "");
	}
}

static void put_canonical_headers(FILE *f, const struct sigv4_request *req,
				  const char *signed_headers)
{
	const char *cursor = *signed_headers ? signed_headers : NULL, *name;
	size_t len;

	while ((name = list_next(&cursor, &len))) {
		put_lower(f, name, len);
		fputc(':', f);
		put_header_values(f, req, name, len);
		fputc('\n', f);
	}
	fputc('\n', f);
	put_lower(f, signed_headers, strlen(signed_headers));
	fputc('\n', f);
}

static bool request_is_valid(const struct sigv4_request *req)
{
	return req && req->method && (req->headers || !req->n_headers) &&
	       (req->body || !req->body_len);
}

char *sigv4_canonical_request(const struct sigv4_request *req, const char *signed_headers)
{
	char hash[SIGV4_HEX_LEN + 1], *buf = NULL;
	size_t size = 0;
	FILE *f;
	int r;

	if (!request_is_valid(req) || !signed_headers) {
		errno = EINVAL;
		return NULL;
	}
	if (sigv4_sha256_hex(req->body, req->body_len, hash) < 0) {
		errno = EIO;
		return NULL;
	}
	f = open_memstream(&buf, &size);
	if (!f)
		return NULL;
	fprintf(f, "%s\n", req->method);
	r = put_canonical_path(f, req->path);
	fputc('\n', f);
	if (r == 0)
		r = put_canonical_query(f, req->query);
	fputc('\n', f);
	put_canonical_headers(f, req, signed_headers);
	fputs(hash, f);
	if (r < 0) {
		fclose(f);
		free(buf);
		errno = -r;
		return NULL;
	}
	return stream_finish(f, &buf);
}

char *sigv4_string_to_sign(const char *amz_date, const char *scope, const char *canonical_request)
{
	char hash[SIGV4_HEX_LEN + 1], *out;

	if (!amz_date || !scope || !canonical_request) {
		errno = EINVAL;
		return NULL;
	}
	if (sigv4_sha256_hex(canonical_request, strlen(canonical_request), hash) < 0) {
		errno = EIO;
		return NULL;
	}
	if (asprintf(&out, SIGV4_ALGORITHM "\n%s\n%s\n%s", amz_date, scope, hash) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return out;
}

/* Where a signature is made: the request date and the scope's region and service. */
struct sign_scope {
	const char *amz_date;
	const char *region;
	const char *service;
};

/* The lower-case hex signature of req over signed_headers, into out. */
static int compute_signature(const struct sigv4_request *req, const char *signed_headers,
			     const struct sign_scope *s, const char *secret_key,
			     char out[SIGV4_HEX_LEN + 1])
{
	char date8[9], *scope = NULL, *creq = NULL, *sts = NULL;
	unsigned char key[SIGV4_KEY_LEN], mac[SIGV4_KEY_LEN];
	int r = -ENOMEM;

	snprintf(date8, sizeof(date8), "%.8s", s->amz_date);
	if (asprintf(&scope, "%s/%s/%s/" SCOPE_TERMINATOR, date8, s->region, s->service) < 0) {
		scope = NULL;
		goto out;
	}
	creq = sigv4_canonical_request(req, signed_headers);
	sts = creq ? sigv4_string_to_sign(s->amz_date, scope, creq) : NULL;
	if (!sts) {
		r = errno ? -errno : -ENOMEM;
		goto out;
	}
	r = sigv4_signing_key(secret_key, date8, s->region, s->service, key);
	if (r == 0)
		r = hmac_sha256(key, sizeof(key), sts, mac);
	if (r == 0)
		hex_encode(mac, sizeof(mac), out);
	OPENSSL_cleanse(key, sizeof(key));
out:
	free(sts);
	free(creq);
	free(scope);
	return r;
}

/* ---- signing ---- */

static const struct sigv4_header *find_header(const struct sigv4_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (req->headers[i].name && strcasecmp(req->headers[i].name, name) == 0)
			return &req->headers[i];
	return NULL;
}

static bool is_signable(const char *name)
{
	return strcasecmp(name, "host") == 0 || strcasecmp(name, "content-type") == 0 ||
	       strcasecmp(name, "content-md5") == 0 || strncasecmp(name, "x-amz-", 6) == 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The signable header names of hdrs, lower-cased, sorted, unique and joined with ';'. */
static char *signed_header_list(const struct sigv4_header *hdrs, size_t n)
{
	char **names = calloc(n ? n : 1, sizeof(*names)), *buf = NULL, *res = NULL;
	size_t k = 0, size = 0;
	FILE *f;

	if (!names)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!is_signable(hdrs[i].name))
			continue;
		names[k] = strdup(hdrs[i].name);
		if (!names[k])
			goto out;
		for (char *c = names[k++]; *c; c++)
			*c = (*c >= 'A' && *c <= 'Z') ? *c - 'A' + 'a' : *c;
	}
	qsort(names, k, sizeof(*names), name_cmp);
	f = open_memstream(&buf, &size);
	if (!f)
		goto out;
	for (size_t i = 0; i < k; i++)
		if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
			fprintf(f, "%s%s", i ? ";" : "", names[i]);
	res = stream_finish(f, &buf);
out:
	for (size_t i = 0; i < k; i++)
		free(names[i]);
	free(names);
	return res;
}

/* An RFC 7230 token: anything else in a signed name would break the SignedHeaders list. */
static bool is_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!is_unreserved((unsigned char)*s) && !strchr("!#$%&'*+^`|", *s))
			return false;
	return true;
}

/* Scope parts must not hold the separators of the Authorization header they end up in. */
static bool is_scope_part(const char *s)
{
	return s && *s && !strpbrk(s, "/,; \t\r\n");
}

static int sign_check_args(const struct sigv4_request *req, const char *region,
			   const char *service, const struct sigv4_key *key)
{
	if (!request_is_valid(req) || !is_scope_part(region) || !is_scope_part(service) || !key ||
	    !is_scope_part(key->access_key_id) || !key->secret_key)
		return -EINVAL;
	for (size_t i = 0; i < req->n_headers; i++)
		if (!is_token(req->headers[i].name) || !req->headers[i].value)
			return -EINVAL;
	if (!find_header(req, "Host") || find_header(req, "X-Amz-Date") ||
	    find_header(req, "Authorization"))
		return -EINVAL;
	return 0;
}

/* req's headers plus X-Amz-Date, and X-Amz-Security-Token when the key has a token the request
 * does not carry yet, in a new array the caller frees. */
static struct sigv4_header *headers_to_sign(const struct sigv4_request *req,
					    const struct sigv4_key *key, const char *amz_date,
					    size_t *n)
{
	struct sigv4_header *hdrs = calloc(req->n_headers + 2, sizeof(*hdrs));

	if (!hdrs)
		return NULL;
	if (req->n_headers)
		memcpy(hdrs, req->headers, req->n_headers * sizeof(*hdrs));
	*n = req->n_headers;
	hdrs[(*n)++] = (struct sigv4_header){ "X-Amz-Date", amz_date };
	if (key->session_token && !find_header(req, "X-Amz-Security-Token"))
		hdrs[(*n)++] = (struct sigv4_header){ "X-Amz-Security-Token", key->session_token };
	return hdrs;
}

int sigv4_sign(const struct sigv4_request *req, const char *region, const char *service,
	       const struct sigv4_key *key, time_t when, struct sigv4_signature *out)
{
	struct sigv4_request full;
	struct sigv4_header *hdrs = NULL;
	char sig[SIGV4_HEX_LEN + 1], *list = NULL;
	int r;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	r = sign_check_args(req, region, service, key);
	if (r == 0)
		r = format_amz_date(when, out->amz_date);
	if (r < 0)
		return r;
	r = -ENOMEM;
	full = *req;
	full.headers = hdrs = headers_to_sign(req, key, out->amz_date, &full.n_headers);
	list = hdrs ? signed_header_list(hdrs, full.n_headers) : NULL;
	if (list)
		r = compute_signature(&full, list, &(struct sign_scope){ out->amz_date, region, service },
				      key->secret_key, sig);
	if (r == 0 && asprintf(&out->authorization,
			       SIGV4_ALGORITHM " Credential=%s/%.8s/%s/%s/" SCOPE_TERMINATOR
			       ", SignedHeaders=%s, Signature=%s",
			       key->access_key_id, out->amz_date, region, service, list, sig) < 0) {
		out->authorization = NULL;
		r = -ENOMEM;
	}
	free(list);
	free(hdrs);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

void sigv4_signature_clear(struct sigv4_signature *out)
{
	if (!out)
		return;
	free(out->authorization);
	memset(out, 0, sizeof(*out));
}

/* ---- verification ---- */

/* The Authorization header split into its parts; the pointers aim into copy. */
struct auth {
	char *copy;
	const char *algorithm;
	const char *credential;
	const char *signed_headers;
	const char *signature;
	const char *bad_pair;
};

/* Everything one sigv4_verify call works on; each check reads it and adds what it finds. */
struct verify {
	const struct sigv4_request *req;
	const struct sigv4_verifier *v;
	time_t now;
	struct berr *err;
	const char *header;
	struct auth a;
	char amz_date[SIGV4_AMZ_DATE_LEN + 1];
	char *cred;
	const char *scope[5]; /* key id, date, region, service, terminator */
	const struct sigv4_key *key;
};

static const char *error_type(int code)
{
	switch (code) {
	case SIGV4_E_MISSING:
		return "MissingAuthenticationTokenException";
	case SIGV4_E_INCOMPLETE:
		return "IncompleteSignatureException";
	case SIGV4_E_UNKNOWN_KEY:
	case SIGV4_E_TOKEN:
		return "UnrecognizedClientException";
	case SIGV4_E_INVALID:
	case SIGV4_E_EXPIRED:
	case SIGV4_E_SCOPE:
	case SIGV4_E_MISMATCH:
		return "InvalidSignatureException";
	default:
		return "InternalFailure";
	}
}

__attribute__((format(printf, 3, 4)))
static int fail(struct berr *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->http_status = strcmp(error_type(code), "InternalFailure") == 0 ? 500 : 400;
	snprintf(e->type, sizeof(e->type), "%s", error_type(code));
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return code;
}

__attribute__((format(printf, 4, 5)))
static void appendf(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, size - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off = *off + (size_t)n < size ? *off + (size_t)n : size;
}

static bool query_has_param(const char *query, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == '=' || p[n] == '&' || p[n] == '\0'))
			return true;
	return false;
}

static int check_present(struct verify *x)
{
	const struct sigv4_header *h = find_header(x->req, "Authorization");
	bool in_query = query_has_param(x->req->query, "X-Amz-Algorithm");
	const char *p = h && h->value ? h->value : "";

	if (h && in_query)
		return fail(x->err, SIGV4_E_INVALID, "Found both 'X-Amz-Algorithm' as a query-string "
			    "param and 'Authorization' as HTTP header.");
	if (in_query)
		return fail(x->err, SIGV4_E_INCOMPLETE, "Query-string (presigned) authentication is "
			    "not supported here; sign the request with an Authorization header.");
	while (is_space(*p))
		p++;
	if (strncmp(p, "AWS4-", 5) != 0)
		return fail(x->err, SIGV4_E_MISSING, "Missing Authentication Token");
	x->header = h->value;
	return 0;
}

/* Splits "ALG k=v, k=v" the way AWS does: pairs are separated by commas and/or whitespace. */
static int auth_parse(const char *value, struct auth *a)
{
	char *tok, *save = NULL;

	a->copy = strdup(value);
	if (!a->copy)
		return -ENOMEM;
	a->algorithm = strtok_r(a->copy, AUTH_DELIMS, &save);
	while ((tok = strtok_r(NULL, AUTH_DELIMS, &save))) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			a->bad_pair = tok;
			break;
		}
		*eq = '\0';
		if (strcmp(tok, "Credential") == 0)
			a->credential = eq + 1;
		else if (strcmp(tok, "SignedHeaders") == 0)
			a->signed_headers = eq + 1;
		else if (strcmp(tok, "Signature") == 0)
			a->signature = eq + 1;
	}
	return 0;
}

static int check_fields(struct verify *x)
{
	const char *names[] = { "Credential", "Signature", "SignedHeaders" };
	const char *values[] = { x->a.credential, x->a.signature, x->a.signed_headers };
	char msg[512] = "";
	size_t off = 0;

	for (size_t i = 0; i < 3; i++)
		if (!values[i] || !*values[i])
			appendf(msg, sizeof(msg), &off,
				"Authorization header requires '%s' parameter. ", names[i]);
	if (!find_header(x->req, "X-Amz-Date") && !find_header(x->req, "Date"))
		appendf(msg, sizeof(msg), &off, "Authorization header requires existence of "
			"either a 'X-Amz-Date' or a 'Date' header. ");
	if (off)
		return fail(x->err, SIGV4_E_INCOMPLETE, "%sAuthorization=%s", msg, x->header);
	return 0;
}

static int check_syntax(struct verify *x)
{
	if (auth_parse(x->header, &x->a) < 0)
		return fail(x->err, -ENOMEM, "Internal failure");
	if (x->a.bad_pair)
		return fail(x->err, SIGV4_E_INCOMPLETE, "'%s' not a valid key=value pair (missing "
			    "equal-sign) in Authorization header: '%s'.", x->a.bad_pair, x->header);
	return check_fields(x);
}

static int check_skew(struct verify *x, time_t t)
{
	long skew = x->v->max_skew > 0 ? x->v->max_skew : SIGV4_DEFAULT_MAX_SKEW;
	char now_s[SIGV4_AMZ_DATE_LEN + 1], edge[SIGV4_AMZ_DATE_LEN + 1], span[32];

	if (t >= x->now - skew && t <= x->now + skew)
		return 0;
	format_amz_date(x->now, now_s);
	if (skew % 60 == 0)
		snprintf(span, sizeof(span), "%ld min.", skew / 60);
	else
		snprintf(span, sizeof(span), "%ld sec.", skew);
	if (t < x->now - skew) {
		format_amz_date(x->now - skew, edge);
		return fail(x->err, SIGV4_E_EXPIRED, "Signature expired: %s is now earlier than %s "
			    "(%s - %s)", x->amz_date, edge, now_s, span);
	}
	format_amz_date(x->now + skew, edge);
	return fail(x->err, SIGV4_E_EXPIRED, "Signature not yet current: %s is still later than "
		    "%s (%s + %s)", x->amz_date, edge, now_s, span);
}

static int check_date(struct verify *x)
{
	const struct sigv4_header *h = find_header(x->req, "X-Amz-Date");
	time_t t = 0;
	int r;

	if (h) {
		r = parse_amz_date(h->value, &t);
	} else {
		h = find_header(x->req, "Date"); /* present: check_fields made sure of it */
		r = parse_http_date(h->value, &t);
	}
	if (r == 0)
		r = format_amz_date(t, x->amz_date);
	if (r < 0)
		return fail(x->err, SIGV4_E_INCOMPLETE, "Date must be in ISO-8601 'basic format'. "
			    "Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601",
			    h->value ? h->value : "");
	return check_skew(x, t);
}

static int check_signed_names(struct verify *x)
{
	if (!list_contains(x->a.signed_headers, "host"))
		return fail(x->err, SIGV4_E_INVALID,
			    "'Host' must be a 'SignedHeader' in the AWS Authorization.");
	for (const char *const *name = x->v->required_signed; name && *name; name++)
		if (!list_contains(x->a.signed_headers, *name))
			return fail(x->err, SIGV4_E_INVALID,
				    "'%s' must be a 'SignedHeader' in the AWS Authorization.", *name);
	return 0;
}

static int check_algorithm(struct verify *x)
{
	if (!x->a.algorithm || strcmp(x->a.algorithm, SIGV4_ALGORITHM) != 0)
		return fail(x->err, SIGV4_E_INCOMPLETE, "Unsupported AWS 'algorithm': '%s' (only "
			    SIGV4_ALGORITHM " for now). ", x->a.algorithm ? x->a.algorithm : "");
	return 0;
}

/* "keyid/date/region/service/term"; AWS ignores trailing slashes. */
static int check_credential(struct verify *x)
{
	size_t n = 0, len;
	char *p;

	x->cred = strdup(x->a.credential);
	if (!x->cred)
		return fail(x->err, -ENOMEM, "Internal failure");
	len = strlen(x->cred);
	while (len && x->cred[len - 1] == '/')
		x->cred[--len] = '\0';
	for (p = x->cred; p && n < 5;) {
		x->scope[n++] = p;
		p = strchr(p, '/');
		if (p)
			*p++ = '\0';
	}
	if (n != 5 || p)
		return fail(x->err, SIGV4_E_INCOMPLETE, "Credential must have exactly 5 "
			    "slash-delimited elements, e.g. keyid/date/region/service/term, got "
			    "'%s'", x->a.credential);
	return 0;
}

static int check_scope(struct verify *x)
{
	char msg[512] = "";
	size_t off = 0;

	if (strcmp(x->scope[2], x->v->region) != 0)
		appendf(msg, sizeof(msg), &off, "Credential should be scoped to a valid region, "
			"not '%s'. ", x->scope[2]);
	if (strcmp(x->scope[3], x->v->service) != 0)
		appendf(msg, sizeof(msg), &off, "Credential should be scoped to correct service: "
			"'%s'. ", x->v->service);
	if (strcmp(x->scope[4], SCOPE_TERMINATOR) != 0)
		appendf(msg, sizeof(msg), &off, "Credential should be scoped with a valid "
			"terminator: '" SCOPE_TERMINATOR "', not '%s'. ", x->scope[4]);
	if (strlen(x->scope[1]) != 8 || strncmp(x->scope[1], x->amz_date, 8) != 0)
		appendf(msg, sizeof(msg), &off, "Date in Credential scope does not match YYYYMMDD "
			"from ISO-8601 version of date from HTTP: '%s' != '%.8s', from '%s'.",
			x->scope[1], x->amz_date, x->amz_date);
	if (off)
		return fail(x->err, SIGV4_E_SCOPE, "%s", msg);
	return 0;
}

static int check_key(struct verify *x)
{
	const struct sigv4_verifier *v = x->v;

	if (v->lookup)
		x->key = v->lookup(v->lookup_arg, x->scope[0]);
	for (size_t i = 0; !v->lookup && i < v->n_keys && !x->key; i++)
		if (v->keys[i].access_key_id && strcmp(v->keys[i].access_key_id, x->scope[0]) == 0)
			x->key = &v->keys[i];
	if (!x->key || !x->key->secret_key)
		return fail(x->err, SIGV4_E_UNKNOWN_KEY,
			    "The security token included in the request is invalid.");
	return 0;
}

static int check_headers_exist(struct verify *x)
{
	const char *cursor = x->a.signed_headers, *name;
	size_t len;

	while ((name = list_next(&cursor, &len))) {
		bool found = false;

		for (size_t i = 0; i < x->req->n_headers && !found; i++) {
			const char *h = x->req->headers[i].name;

			found = h && strlen(h) == len && strncasecmp(h, name, len) == 0;
		}
		if (!found)
			return fail(x->err, SIGV4_E_INCOMPLETE, "'%.*s' is named as a SignedHeader, "
				    "but it does not exist in the HTTP request.", (int)len, name);
	}
	return 0;
}

static int check_signature(struct verify *x)
{
	char want[SIGV4_HEX_LEN + 1];
	const struct sign_scope s = { x->amz_date, x->scope[2], x->scope[3] };
	int r = compute_signature(x->req, x->a.signed_headers, &s, x->key->secret_key, want);

	if (r < 0)
		return fail(x->err, r, "Internal failure");
	if (strlen(x->a.signature) != SIGV4_HEX_LEN ||
	    CRYPTO_memcmp(want, x->a.signature, SIGV4_HEX_LEN) != 0)
		return fail(x->err, SIGV4_E_MISMATCH, "The request signature we calculated does not "
			    "match the signature you provided. Check your AWS Secret Access Key and "
			    "signing method. Consult the service documentation for details.");
	return 0;
}

static int check_token(struct verify *x)
{
	const struct sigv4_header *h = find_header(x->req, "X-Amz-Security-Token");
	const char *want = x->key->session_token, *got = h ? h->value : NULL;

	if (!want && !got)
		return 0;
	if (want && got && strlen(want) == strlen(got) &&
	    CRYPTO_memcmp(want, got, strlen(want)) == 0)
		return 0;
	return fail(x->err, SIGV4_E_TOKEN, "The security token included in the request is invalid.");
}

int sigv4_verify(const struct sigv4_request *req, const struct sigv4_verifier *v, time_t now,
		 struct berr *err, const struct sigv4_key **matched)
{
	/* AWS's own order, so that a client sees the error AWS would have sent first. */
	static int (*const checks[])(struct verify *) = {
		check_present, check_syntax, check_date, check_signed_names, check_algorithm,
		check_credential, check_scope, check_key, check_headers_exist, check_signature,
		check_token,
	};
	struct verify x = { .req = req, .v = v, .now = now, .err = err };
	int r = 0;

	if (matched)
		*matched = NULL;
	if (!request_is_valid(req) || !v || !v->region || !v->service || (!v->keys && v->n_keys))
		return fail(err, -EINVAL, "Internal failure");
	for (size_t i = 0; r == 0 && i < sizeof(checks) / sizeof(checks[0]); i++)
		r = checks[i](&x);
	if (r == 0 && matched)
		*matched = x.key;
	free(x.a.copy);
	free(x.cred);
	return r;
}
