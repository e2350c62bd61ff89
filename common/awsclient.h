/* SPDX-License-Identifier: MIT */
/* awsclient.h: a client for AWS-style JSON APIs: SigV4-signed HTTP on libcurl, and the aws-CLI
 * conventions on top of an operation table (kebab-case flags, shorthand, pagination, output). */
#ifndef BERTH_AWSCLIENT_H
#define BERTH_AWSCLIENT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* ---- the operation model: static tables the caller describes its API with ---------------- */

enum awsclient_type {
	AWSCLIENT_STRING,
	AWSCLIENT_INTEGER,
	AWSCLIENT_BOOLEAN,
	AWSCLIENT_STRING_LIST,
	AWSCLIENT_STRUCT,
	AWSCLIENT_STRUCT_LIST,
	AWSCLIENT_MAP,
};

/* One request member. Its flag is the kebab-case of name (see awsclient_cli_name). */
struct awsclient_member {
	const char *name;           /* API name, camelCase; NULL ends a member table */
	enum awsclient_type type;
	int required;
	const char *negative_flag;  /* a boolean's "false" flag when it is not "no-<flag>" */
	/* How shorthand values below this member are typed: "path:t,..." where path is dotted member
	 * names (list levels are transparent) and t is i (integer), f (number), b (boolean) or
	 * l (list: a single value becomes a one-element list). Anything else stays a string. */
	const char *hints;
};

struct awsclient_op {
	const char *name;                       /* "DescribeClusters"; the verb is its kebab-case */
	const struct awsclient_member *members; /* ends with { NULL } */
	const char *page_result;                /* list merged across pages; NULL: not paginated */
	const char *summary;                    /* one line for --help */
};

struct awsclient_service {
	const char *target_prefix;  /* X-Amz-Target is "<target_prefix>.<op name>" */
	const char *page_token;     /* request and response member carrying the page token */
	const char *page_limit;     /* request member limiting a page's size */
	const struct awsclient_op *ops;
	size_t n_ops;
};

/* Writes the aws-CLI spelling of an API name ("enableECSManagedTags" -> "enable-ecs-managed-tags",
 * "DescribeClusters" -> "describe-clusters") into out. Returns 0, or -ENAMETOOLONG (out then
 * holds a truncated name). */
int awsclient_cli_name(const char *api_name, char *out, size_t len);

/* Finds the operation whose verb is `verb`; NULL when none. */
const struct awsclient_op *awsclient_op_find(const struct awsclient_service *svc, const char *verb);

/* Finds the member whose flag (without "--") is `flag`; *value is set to 0 when flag is a
 * boolean's negative form, else 1. NULL when none. */
const struct awsclient_member *awsclient_member_find(const struct awsclient_op *op,
						     const char *flag, int *value);

/* Parses aws-CLI shorthand ("key=k1,value=v1", "a=[x,y],b={c=d}", quoted values) into a new
 * object typed by `hints` (see struct awsclient_member; NULL: all strings). The caller releases
 * the result with json_decref. On error returns NULL and describes the problem in err. */
json_t *awsclient_parse_shorthand(const char *text, const char *hints, char *err, size_t errlen);

/* Where pagination stands for one invocation. */
struct awsclient_invocation {
	const struct awsclient_op *op;
	json_t *request;         /* owned: the request body */
	int paginate;            /* follow page tokens and merge op->page_result */
	long long max_items;     /* stop after this many results (0: all) */
	long long page_size;     /* page_limit sent with each request (0: the server's) */
	char *starting_token;    /* owned: a NextToken printed by an earlier --max-items run */
};

/* Builds op's request from its arguments the way the aws CLI does: --flag value for members
 * (lists take several values, booleans are --flag / --no-flag, structures accept JSON or
 * shorthand, any value may be file://PATH), --cli-input-json JSON|file://PATH whose members the
 * flags override, and --max-items / --starting-token / --page-size for paginated operations
 * (`no_paginate` is the global --no-paginate). On success returns 0 and fills *inv (release with
 * awsclient_invocation_clear). Returns -EINVAL for a usage error (err says what, naming unknown
 * flags and the valid ones), -ENOMEM; *inv is then empty. */
int awsclient_parse_args(const struct awsclient_service *svc, const struct awsclient_op *op,
			 int argc, char **argv, int no_paginate, struct awsclient_invocation *inv,
			 char *err, size_t errlen);

/* Releases what inv owns; inv stays usable (empty). NULL is a no-op. */
void awsclient_invocation_clear(struct awsclient_invocation *inv);

/* Prints "usage: <command> [options]", op's summary and its flags (with their types, required
 * ones marked). command is how the user invokes op, e.g. "berthctl describe-clusters". */
void awsclient_print_usage(FILE *out, const char *command, const struct awsclient_service *svc,
			   const struct awsclient_op *op);

/* Prints a response like the aws CLI: format "json" (4-space indent, nothing for {}), "text"
 * (tab-separated) or "table" (boxed, titled `title`, usually the operation's name). Returns 0,
 * -EINVAL for an unknown format, -ENOMEM or -EIO. */
int awsclient_print(FILE *out, const json_t *result, const char *format, const char *title);

/* ---- the HTTP client ----------------------------------------------------------------------- */

#define AWSCLIENT_ERROR_MAX 512

struct awsclient {
	char *endpoint;          /* scheme://host[:port][/base], no trailing '/' */
	char *host;              /* the Host header: host[:port] as in endpoint */
	char *base_path;         /* endpoint's path ("" or "/base"), prefixed to every request */
	char *region;
	char *service;           /* SigV4 service name */
	char *access_key;        /* NULL: requests are sent unsigned */
	char *secret;
	char *token;             /* session token or NULL */
	long connect_timeout_ms; /* 0: no limit */
	long read_timeout_ms;    /* 0: no limit; else abort when nothing arrives for this long */
	int insecure;            /* skip TLS certificate checks */
	char *ca_bundle;         /* NULL: the system's */
	int verbose;             /* libcurl's trace on stderr */
	void *curl;              /* CURL *, reused across requests */
	char error[AWSCLIENT_ERROR_MAX]; /* why the last transport failure happened */
};

/* An error answered by the service. */
struct awsclient_error {
	long http_status;
	char type[128];          /* "__type" without any "namespace#" prefix */
	char message[1024];
};

/* A request body: `len` bytes at `data`, or, when fd >= 0, the whole regular file fd (read from
 * offset 0; its SHA-256 is sent as X-Amz-Content-Sha256 so the server can verify it). */
struct awsclient_body {
	const void *data;
	size_t len;
	int fd;
};

/* Called with each piece of a successful (2xx) response; returns 0, or -errno to abort. */
typedef int (*awsclient_write_fn)(void *arg, const char *data, size_t len);

/* Sets c up for endpoint (copied, like every argument). access_key NULL: unsigned requests;
 * token may be NULL. Timeouts default to 60 s (connect and read) like the aws CLI. Returns 0,
 * -EINVAL for an endpoint that is not an http(s) URL, or -ENOMEM; on error c needs no close. */
int awsclient_init(struct awsclient *c, const char *endpoint, const char *region,
		   const char *service, const char *access_key, const char *secret,
		   const char *token);

/* Releases what c holds (wiping the secret). NULL or an already closed client is a no-op. */
void awsclient_close(struct awsclient *c);

/* POSTs json_body ("{}" when NULL) to "/" as "application/x-amz-json-1.1" with X-Amz-Target:
 * target, signed. Returns 0 when an HTTP answer arrived, whatever its status, with *http_status
 * and *response (malloc'd, NUL-terminated, the caller frees). Returns -errno when no answer
 * arrived (-ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT, -ECONNRESET, -ECONNABORTED for TLS, -EIO...;
 * c->error says why); *response is then NULL. */
int awsclient_call_json(struct awsclient *c, const char *target, const char *json_body,
			long *http_status, char **response);

/* Sends a signed request: method, path_and_query (starting with '/', already percent-encoded),
 * content_type and body (both may be NULL). A 2xx answer's body goes to write (may be NULL to
 * drop it) as it arrives; any other answer's body is collected into *error_body (when not NULL;
 * malloc'd, NUL-terminated, the caller frees). Returns 0 when an answer arrived with
 * *http_status set, -errno from write when it aborted, or -errno for a transport failure as
 * awsclient_call_json does. */
int awsclient_request(struct awsclient *c, const char *method, const char *path_and_query,
		      const char *content_type, const struct awsclient_body *body,
		      awsclient_write_fn write, void *arg, long *http_status, char **error_body);

/* Fills err from an error answer: "__type"/"code" and "message"/"Message" of a JSON body, else a
 * generic type for the status and the body's first line. body may be NULL. */
void awsclient_error_parse(const char *body, long http_status, struct awsclient_error *err);

/* Runs an invocation against svc: one call, or, when paginating, every page up to max_items,
 * merging op->page_result and adding "NextToken" when max_items stopped early. Returns 0 with
 * *result (the caller releases it with json_decref); -EPROTO when the service answered an
 * error (in *err); -EBADMSG when an answer was not JSON (c->error says so); -EINVAL for a bad
 * starting token; or a transport -errno. */
int awsclient_invoke(struct awsclient *c, const struct awsclient_service *svc,
		     const struct awsclient_invocation *inv, json_t **result,
		     struct awsclient_error *err);

#endif
