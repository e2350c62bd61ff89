/* SPDX-License-Identifier: MIT */
/* dashboard.c: the dashboard's pages and assets, sign-in/sign-out, and session authentication. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "common/version.h"
#include "web/app.h"
#include "web/auth.h"

#define ASSET_MAX_BYTES (16 << 20)
#define INSTALLED_WEB_ROOT "/usr/share/berth/web"
#define ECS_PREFIX "AmazonEC2ContainerServiceV20141113."

static const char csp[] =
	"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
	"form-action 'self'";

static bool dir_has_index(const char *dir)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/index.html", dir);
	return access(p, R_OK) == 0;
}

/* web_root, else web/static of the source tree holding the running binary (build/berthd,
 * build/asan/berthd), else the installed assets. */
static void resolve_web_root(struct app *a)
{
	char exe[PATH_MAX], cand[PATH_MAX + 32];
	ssize_t n;

	if (a->cfg->web_root[0]) {
		snprintf(a->web_root, sizeof(a->web_root), "%s", a->cfg->web_root);
		if (!dir_has_index(a->web_root))
			log_warn("web: web_root %s has no index.html: the dashboard will answer 404",
				 a->web_root);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (int up = 0; up < 3; up++) {
			char *slash = strrchr(exe, '/');
			if (!slash)
				break;
			*slash = '\0';
			snprintf(cand, sizeof(cand), "%s/web/static", exe);
			if (dir_has_index(cand) && strlen(cand) < sizeof(a->web_root)) {
				snprintf(a->web_root, sizeof(a->web_root), "%s", cand);
				return;
			}
		}
	}
	snprintf(a->web_root, sizeof(a->web_root), "%s", INSTALLED_WEB_ROOT);
}

int dashboard_init(struct app *a)
{
	char dir[CONFIG_STR_MAX + 16];
	struct auth *au;

	resolve_web_root(a);
	a->auth_error[0] = '\0';
	au = calloc(1, sizeof(*au));
	if (!au)
		return -ENOMEM;
	snprintf(dir, sizeof(dir), "%s/state", a->cfg->data_dir);
	if (auth_init(au, dir, (double)a->cfg->session_ttl, a->auth_error,
		      sizeof(a->auth_error)) < 0) {
		log_error("web: failed to load dashboard tokens: %s (left as it is; sign-in is off "
			  "until it is fixed or moved away)", a->auth_error);
		free(au);
		return 0;
	}
	a->auth = au;
	log_info("web: dashboard assets in %s, %zu access tokens", a->web_root, au->n_tokens);
	return 0;
}

void dashboard_close(struct app *a)
{
	if (a->auth) {
		auth_close(a->auth);
		free(a->auth);
	}
	a->auth = NULL;
}

static void respond_json(struct web_response *rs, int status, json_t *o)
{
	char *s = json_steal_dumps(o);

	web_respond(rs, status, "application/json", s, s ? strlen(s) : 0);
	web_add_header(rs, "Cache-Control", "no-store");
}

static const char *content_type_of(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".mjs", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json" },
		{ ".map", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

static void security_headers(struct web_response *rs)
{
	web_add_header(rs, "Content-Security-Policy", csp);
	web_add_header(rs, "X-Content-Type-Options", "nosniff");
	web_add_header(rs, "Referrer-Policy", "same-origin");
	web_add_header(rs, "X-Frame-Options", "DENY");
}

/* True when the browser's If-None-Match names etag (a list, "*", or weak forms). */
static bool etag_matches(const struct web_request *rq, const char *etag)
{
	const char *inm = web_header(rq, "If-None-Match");

	return inm && (strcmp(inm, "*") == 0 || strstr(inm, etag));
}

/* Serves root/rel; rel comes from the URL: no "..", no hidden files, and the resolved file must
 * stay below root (symlinks included). Every answer carries an ETag from the file's inode, size
 * and modification time, so the browser revalidates (no-cache) and gets 304 with no body while
 * the file is unchanged: a page load then neither sends nor recompiles the scripts. */
static void serve_file(const struct web_request *rq, struct web_response *rs, const char *root,
		       const char *rel)
{
	char path[PATH_MAX], real_root[PATH_MAX], real[PATH_MAX], etag[96];
	struct stat st;
	char *body = NULL;
	size_t len = 0, rl;

	if (!rel[0] || strstr(rel, "..") || strstr(rel, "/.") || rel[0] == '.' ||
	    strchr(rel, '\\') || strlen(root) + strlen(rel) + 2 > sizeof(path)) {
		web_respond_aws_error(rs, 404, "NotFoundException", "No such file.");
		return;
	}
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (!realpath(root, real_root) || !realpath(path, real) ||
	    strncmp(real, real_root, (rl = strlen(real_root))) != 0 || real[rl] != '/' ||
	    stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
		web_respond_aws_error(rs, 404, "NotFoundException", "No such file: %s.", rel);
		return;
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx-%llx.%09ld\"", (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec,
		 st.st_mtim.tv_nsec);
	if (etag_matches(rq, etag)) {
		web_respond(rs, 304, NULL, NULL, 0);
		web_add_header(rs, "ETag", etag);
		web_add_header(rs, "Cache-Control", "no-cache");
		return;
	}
	if (file_read_all(real, ASSET_MAX_BYTES, &body, &len) < 0) {
		web_respond_aws_error(rs, 500, "ServerException", "Cannot read %s.", rel);
		return;
	}
	web_respond(rs, 200, content_type_of(real), body, len);
	web_add_header(rs, "Cache-Control", "no-cache");
	web_add_header(rs, "ETag", etag);
	security_headers(rs);
}

static struct auth_session *session_of(struct app *a, const struct web_request *rq)
{
	char id[AUTH_SESSION_ID_LEN + 1];

	if (!a->auth || auth_cookie_get(web_header(rq, "Cookie"), AUTH_COOKIE, id, sizeof(id)) < 0)
		return NULL;
	return auth_session_find(a->auth, id, time_now());
}

static void redirect(struct web_response *rs, const char *to)
{
	web_respond_text(rs, 302, "text/plain; charset=utf-8", "Redirecting.\n");
	web_add_header(rs, "Location", to);
	web_add_header(rs, "Cache-Control", "no-store");
}

/* TLS is terminated in front of berthd when the proxy says so; the cookie then needs Secure. */
static bool request_is_tls(const struct web_request *rq)
{
	const char *p = web_header(rq, "X-Forwarded-Proto");

	return p && strcasecmp(p, "https") == 0;
}

static void set_cookie(struct web_response *rs, const struct web_request *rq, const char *value,
		       long max_age)
{
	char c[256];

	snprintf(c, sizeof(c), "%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Strict%s",
		 AUTH_COOKIE, value, max_age, request_is_tls(rq) ? "; Secure" : "");
	web_add_header(rs, "Set-Cookie", c);
}

static json_t *session_json(struct app *a, const struct auth_session *s)
{
	return json_pack("{s:s, s:s, s:s, s:f, s:f, s:I, s:s, s:s, s:b, s:b, s:b}", "name", s->name,
			 "role", auth_role_name(s->role), "csrfToken", s->csrf, "expiresAt",
			 s->expires_at, "createdAt", s->created_at, "collectInterval",
			 (json_int_t)a->cfg->collect_interval, "region", a->cfg->region, "version",
			 BERTH_VERSION, "alarms", a->alarms != NULL, "billing", a->ledger != NULL,
			 "actions", a->actions != NULL);
}

static void sign_in(struct app *a, struct web_request *rq, struct web_response *rs)
{
	const char *ct = web_header(rq, "Content-Type"), *secret;
	struct berr e = { { 0 }, { 0 }, 400 };
	struct auth_session *s;
	struct auth_token *t;
	json_t *req = NULL;

	if (!a->auth) {
		web_respond_aws_error(rs, 503, "ServiceUnavailableException",
				      "Sign-in is off: the token store cannot be read (%s). Fix or "
				      "move the file and restart berthd.", a->auth_error);
		return;
	}
	/* JSON only: a cross-site form cannot send it without the browser asking first. */
	if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
		web_respond_aws_error(rs, 415, "UnsupportedMediaTypeException",
				      "Sign in with Content-Type: application/json and {\"token\": \"...\"}.");
		return;
	}
	if (json_decode_request(rq->body, rq->body_len, 4, &req, &e) < 0 ||
	    json_get_string(req, "token", &secret, &e) < 0 || !secret) {
		json_decref(req);
		web_respond_aws_error(rs, 400, "InvalidParameterException",
				      "The body must be {\"token\": \"berth_...\"}.");
		return;
	}
	t = auth_token_verify(a->auth, secret);
	json_decref(req);
	if (!t) {
		log_info("web: refused a dashboard sign-in from %s: unknown token", rq->remote);
		web_respond_aws_error(rs, 403, "InvalidTokenException",
				      "That access token is not valid (revoked, mistyped, or from "
				      "another berthd). Create one with `berthctl token create`.");
		return;
	}
	s = auth_session_create(a->auth, t, time_now());
	if (!s) {
		web_respond_aws_error(rs, 500, "ServerException", "Cannot start a session.");
		return;
	}
	t->last_used_at = s->created_at;
	log_info("web: dashboard sign-in with token %s (%s, %s) from %s", t->id, t->name,
		 auth_role_name(t->role), rq->remote);
	respond_json(rs, 200, session_json(a, s));
	set_cookie(rs, rq, s->id, (long)a->auth->session_ttl);
}

static void session_route(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct auth_session *s;

	if (strcmp(rq->method, "POST") == 0) {
		sign_in(a, rq, rs);
		return;
	}
	s = session_of(a, rq);
	if (strcmp(rq->method, "GET") == 0) {
		if (!s) {
			web_respond_aws_error(rs, 403, "InvalidSessionException",
					      "Not signed in, or the session has expired: sign in "
					      "with an access token.");
			return;
		}
		respond_json(rs, 200, session_json(a, s));
		return;
	}
	if (strcmp(rq->method, "DELETE") == 0) {
		if (s && !auth_csrf_ok(s, web_header(rq, "X-CSRF-Token"))) {
			web_respond_aws_error(rs, 403, "InvalidCsrfTokenException",
					      "Sign-out needs the session's X-CSRF-Token header.");
			return;
		}
		if (s)
			auth_session_end(a->auth, s->id);
		respond_json(rs, 200, json_pack("{s:b}", "signedOut", 1));
		set_cookie(rs, rq, "", 0);
		return;
	}
	web_respond_aws_error(rs, 405, "MethodNotAllowedException",
			      "%s is not allowed on /v1/session.", rq->method);
}

bool dashboard_handle(struct app *a, struct web_request *rq, struct web_response *rs)
{
	const char *p = rq->path;
	bool get = strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0;

	if (strcmp(p, "/v1/session") == 0) {
		session_route(a, rq, rs);
		return true;
	}
	if (!get)
		return false;
	if (strcmp(p, "/") == 0 || strcmp(p, "/index.html") == 0) {
		if (!session_of(a, rq))
			redirect(rs, "/signin");
		else
			serve_file(rq, rs, a->web_root, "index.html");
		return true;
	}
	if (strcmp(p, "/signin") == 0) {
		if (session_of(a, rq))
			redirect(rs, "/");
		else
			serve_file(rq, rs, a->web_root, "signin.html");
		return true;
	}
	if (strcmp(p, "/favicon.ico") == 0) {
		serve_file(rq, rs, a->web_root, "favicon.svg");
		return true;
	}
	if (strncmp(p, "/static/", 8) == 0) {
		serve_file(rq, rs, a->web_root, p + 8);
		return true;
	}
	/* Only the charting library of Debian's JavaScript tree. */
	if (strncmp(p, "/javascript/chart.js/", 21) == 0) {
		char root[CONFIG_STR_MAX + 16];
		snprintf(root, sizeof(root), "%s/chart.js", a->cfg->javascript_root);
		serve_file(rq, rs, root, p + 21);
		return true;
	}
	return false;
}

/* Reads change nothing: GET/HEAD, and the ECS API's Describe and List operations. */
static bool request_is_read(const struct web_request *rq)
{
	const char *target;

	if (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0)
		return true;
	target = web_header(rq, "X-Amz-Target");
	if (strcmp(rq->path, "/") == 0 && target &&
	    strncmp(target, ECS_PREFIX, strlen(ECS_PREFIX)) == 0) {
		target += strlen(ECS_PREFIX);
		return strncmp(target, "Describe", 8) == 0 || strncmp(target, "List", 4) == 0;
	}
	return false;
}

/* An Origin, when the browser sends one, must be this server's own. */
static bool origin_ok(const struct web_request *rq)
{
	const char *origin = web_header(rq, "Origin"), *host = web_header(rq, "Host"), *h;

	if (!origin)
		return true;
	if (!host)
		return false;
	h = strstr(origin, "://");
	return h && strcmp(h + 3, host) == 0;
}

int dashboard_authenticate(struct app *a, const struct web_request *rq, struct berr *e)
{
	char id[AUTH_SESSION_ID_LEN + 1];
	struct auth_session *s;

	if (!a->auth || web_header(rq, "Authorization") || strstr(rq->query, "X-Amz-Signature=") ||
	    auth_cookie_get(web_header(rq, "Cookie"), AUTH_COOKIE, id, sizeof(id)) < 0)
		return 1;
	s = auth_session_find(a->auth, id, time_now());
	if (!s) {
		berr_set(e, 403, "InvalidSessionException",
			 "The dashboard session has expired or was ended: sign in again.");
		return -EACCES;
	}
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
		if (!origin_ok(rq)) {
			berr_set(e, 403, "InvalidCsrfTokenException",
				 "The request comes from another origin.");
			return -EACCES;
		}
		if (!auth_csrf_ok(s, web_header(rq, "X-CSRF-Token"))) {
			berr_set(e, 403, "InvalidCsrfTokenException",
				 "A change from a dashboard session needs its X-CSRF-Token header.");
			return -EACCES;
		}
	}
	if (s->role == AUTH_ROLE_READ_ONLY && !request_is_read(rq)) {
		const char *target = web_header(rq, "X-Amz-Target"), *dot;
		dot = target ? strrchr(target, '.') : NULL;
		berr_set(e, 403, "AccessDeniedException",
			 "The token '%s' is read-only: it cannot call %s%s%s.", s->name,
			 dot ? dot + 1 : rq->method, dot ? "" : " ", dot ? "" : rq->path);
		return -EACCES;
	}
	return 0;
}
