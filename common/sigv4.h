/* SPDX-License-Identifier: MIT */
/* sigv4.h: AWS Signature Version 4 (AWS4-HMAC-SHA256) signing and verification of HTTP requests. */
#ifndef BERTH_SIGV4_H
#define BERTH_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "common/util.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_AMZ_DATE_LEN 16       /* "20261126T101500Z" */
#define SIGV4_HEX_LEN 64            /* a SHA-256 digest or signature in lower-case hex */
#define SIGV4_KEY_LEN 32            /* a derived signing key, raw bytes */
#define SIGV4_DEFAULT_MAX_SKEW 900  /* seconds; AWS accepts 15 minutes either way */

/* One header as received or to be sent; names compare case-insensitively and may repeat. */
struct sigv4_header {
	const char *name;
	const char *value;
};

/* A borrowed view of an HTTP request; nothing in it is copied or freed by this module.
 * path is the raw path exactly as on the request line (still percent-encoded, no query; NULL or ""
 * means "/"), query the raw query string without '?' (NULL or "" when there is none). */
struct sigv4_request {
	const char *method;
	const char *path;
	const char *query;
	const struct sigv4_header *headers;
	size_t n_headers;
	const void *body;
	size_t body_len;
};

/* A credential; session_token is NULL for long-term keys. Borrowed, never freed here. */
struct sigv4_key {
	const char *access_key_id;
	const char *secret_key;
	const char *session_token;
};

/* Returns the key for access_key_id, or NULL when it is unknown; the key must stay valid until
 * sigv4_verify returns. */
typedef const struct sigv4_key *(*sigv4_key_lookup_fn)(void *arg, const char *access_key_id);

/* What sigv4_verify accepts. Keys come from lookup when it is set, else from keys[0..n_keys).
 * max_skew is in seconds (<= 0 means SIGV4_DEFAULT_MAX_SKEW). required_signed is an optional
 * NULL-terminated list of header names that must be in SignedHeaders besides Host
 * (e.g. "X-Amz-Target"), so that no caller-relevant header can be swapped after signing. */
struct sigv4_verifier {
	const char *region;
	const char *service;
	const struct sigv4_key *keys;
	size_t n_keys;
	sigv4_key_lookup_fn lookup;
	void *lookup_arg;
	long max_skew;
	const char *const *required_signed;
};

/* sigv4_verify results: 0, one of these, or -ENOMEM. They do not collide with -errno values.
 * berr.type says which AWS exception the client gets; the HTTP status is 400 for all of them, as
 * AWS JSON 1.0/1.1 services (ECS included) answer; -ENOMEM gives InternalFailure with 500. */
enum sigv4_status {
	SIGV4_OK = 0,
	SIGV4_E_MISSING = -1001,     /* MissingAuthenticationTokenException: no AWS4 Authorization */
	SIGV4_E_INCOMPLETE = -1002,  /* IncompleteSignatureException: malformed header, date, algorithm,
				      * credential shape, signed header absent from the request */
	SIGV4_E_INVALID = -1003,     /* InvalidSignatureException: Host (or a required header) not
				      * signed, or both query-string and header authentication */
	SIGV4_E_EXPIRED = -1004,     /* InvalidSignatureException: date outside max_skew */
	SIGV4_E_SCOPE = -1005,       /* InvalidSignatureException: wrong region/service/terminator/date */
	SIGV4_E_UNKNOWN_KEY = -1006, /* UnrecognizedClientException: access key id not known */
	SIGV4_E_MISMATCH = -1007,    /* InvalidSignatureException: signature does not match */
	SIGV4_E_TOKEN = -1008,       /* UnrecognizedClientException: wrong or unexpected session token */
};

/* What sigv4_sign produces. authorization is malloc'd: release with sigv4_signature_clear. */
struct sigv4_signature {
	char *authorization;
	char amz_date[SIGV4_AMZ_DATE_LEN + 1];
};

/* Writes the lower-case hex SHA-256 of data[0..len) and a NUL into out. Returns 0 or -EIO. */
int sigv4_sha256_hex(const void *data, size_t len, char out[SIGV4_HEX_LEN + 1]);

/* Derives the signing key HMAC(HMAC(HMAC(HMAC("AWS4" secret, date8), region), service),
 * "aws4_request") into out. date8 is "YYYYMMDD". Returns 0, -EINVAL or -ENOMEM. */
int sigv4_signing_key(const char *secret_key, const char *date8, const char *region,
		      const char *service, unsigned char out[SIGV4_KEY_LEN]);

/* Builds the canonical request of req over signed_headers (';'-separated names as they appear in
 * SignedHeaders), using the non-S3 rules: the path has dot segments and repeated slashes removed and
 * is URI-encoded once more, the query is decoded, re-encoded and sorted, header values are trimmed
 * with inner whitespace collapsed and repeats joined with ',', and the payload hash is the SHA-256 of
 * the body. Returns a malloc'd string the caller frees, or NULL (errno EINVAL or ENOMEM). */
char *sigv4_canonical_request(const struct sigv4_request *req, const char *signed_headers);

/* Builds "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex SHA-256 of canonical_request>", where scope
 * is "YYYYMMDD/region/service/aws4_request". Returns a malloc'd string the caller frees, or NULL
 * (errno EINVAL or ENOMEM). */
char *sigv4_string_to_sign(const char *amz_date, const char *scope, const char *canonical_request);

/* Signs req as at time `when` for region/service with key. req must carry a Host header, must
 * not carry X-Amz-Date or Authorization, and its header names must be HTTP tokens. Signed: host, content-type, content-md5 and every x-amz-*
 * header present, plus X-Amz-Date (and X-Amz-Security-Token when key->session_token is set and the
 * request does not already carry it). The caller then sends "X-Amz-Date: out->amz_date",
 * "Authorization: out->authorization" and, for a session token, "X-Amz-Security-Token". To send
 * X-Amz-Content-Sha256, add it to req (see sigv4_sha256_hex) before signing.
 * Returns 0 and fills *out (release with sigv4_signature_clear), or -EINVAL / -ENOMEM / -EIO with
 * *out left empty. */
int sigv4_sign(const struct sigv4_request *req, const char *region, const char *service,
	       const struct sigv4_key *key, time_t when, struct sigv4_signature *out);

/* Frees out->authorization and empties *out. NULL is a no-op. */
void sigv4_signature_clear(struct sigv4_signature *out);

/* Checks the Authorization header of req as received, at time `now`, the way AWS does and in
 * AWS's order of checks. Returns 0 when the signature is valid (then *matched, when not NULL,
 * points at the key used); else a sigv4_status or -ENOMEM, and err (may be NULL) holds the AWS
 * error type, message and HTTP status for the client. Query-string (presigned) authentication is
 * not accepted. Nothing is logged: the caller reports the error. */
int sigv4_verify(const struct sigv4_request *req, const struct sigv4_verifier *v, time_t now,
		 struct berr *err, const struct sigv4_key **matched);

#endif
