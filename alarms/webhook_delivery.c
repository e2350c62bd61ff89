/* SPDX-License-Identifier: MIT */
/* webhook_delivery.c: the durable outbox and its sender - libcurl multi on the event loop. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alarms/actions_internal.h"
#include "common/fileio.h"
#include "common/json.h"
#include "common/log.h"
#include "common/version.h"

/* A socket curl asked us to watch. Watchers are kept for reuse rather than freed: the loop may
 * still hold an event for one in the batch it is dispatching. */
struct wh_sock {
	struct loop_io io;
	struct alarm_actions *a;
	curl_socket_t fd;
	bool used;
	struct wh_sock *next;
};

/* One attempt in flight. */
struct wh_xfer {
	struct alarm_actions *a;
	struct wh_item *item;
	CURL *easy;
	struct curl_slist *headers;
	char error[CURL_ERROR_SIZE];
	char refused[160];         /* why an address was refused */
	long retry_after;          /* seconds, -1 when none */
	int64_t started_ms;
	struct wh_xfer *next;
};

static void xfer_free(struct alarm_actions *a, struct wh_xfer *x)
{
	for (struct wh_xfer **pp = &a->xfers; *pp; pp = &(*pp)->next) {
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	}
	if (x->easy) {
		curl_multi_remove_handle(a->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	curl_slist_free_all(x->headers);
	free(x);
}

/* ---- pure helpers -------------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
	/* splitmix64: jitter only, not secrets. */
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

int64_t wh_backoff_ms(int attempt, int64_t initial_ms, int64_t max_ms, uint64_t *rng)
{
	int64_t d = initial_ms;

	for (int i = 1; i < attempt && d < max_ms; i++)
		d *= 2;
	if (d > max_ms)
		d = max_ms;
	/* Equal jitter: half fixed, half random, so retries of many items spread out. */
	return d - d / 2 + (int64_t)(rng_next(rng) % (uint64_t)(d / 2 + 1));
}

long wh_retry_after(const char *value, double now)
{
	struct tm tm = { 0 };
	const char *end;
	char *e;
	long v;

	if (!value)
		return -1;
	while (*value == ' ')
		value++;
	v = strtol(value, &e, 10);
	if (e != value && (*e == '\0' || *e == '\r' || *e == '\n' || *e == ' '))
		return v < 0 ? -1 : v;
	end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end)
		return -1;
	v = (long)(timegm(&tm) - (time_t)now);
	return v < 0 ? 0 : v;
}

static bool in_cidr(const struct sockaddr *sa, const char *cidr)
{
	char addr[INET6_ADDRSTRLEN + 8];
	unsigned char want[16], have[16];
	const char *slash = strchr(cidr, '/');
	int fam = strchr(cidr, ':') ? AF_INET6 : AF_INET, bits, len;

	snprintf(addr, sizeof(addr), "%.*s", slash ? (int)(slash - cidr) : (int)strlen(cidr), cidr);
	if (inet_pton(fam, addr, want) != 1)
		return false;
	len = fam == AF_INET ? 4 : 16;
	bits = slash ? atoi(slash + 1) : len * 8;
	if (bits < 0 || bits > len * 8)
		return false;
	if (sa->sa_family == AF_INET && fam == AF_INET) {
		memcpy(have, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (fam == AF_INET) {
			if (memcmp(b, mapped, 12) != 0)
				return false;
			memcpy(have, b + 12, 4);
		} else {
			memcpy(have, b, 16);
		}
	} else {
		return false;
	}
	for (int i = 0; i < bits; i++) {
		int byte = i / 8, bit = 7 - i % 8;
		if (((want[byte] >> bit) & 1) != ((have[byte] >> bit) & 1))
			return false;
	}
	return true;
}

bool wh_address_allowed(const struct sockaddr *sa, const char *allow)
{
	/* Link-local (where instance metadata lives) and the metadata addresses clouds use
	 * outside it. Loopback and private ranges stay reachable: receivers live there. */
	static const char *const refused[] = {
		"169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32",
		"168.63.129.16/32", "192.0.0.192/32",
	};
	char list[CONFIG_STR_MAX], *save = NULL;
	bool bad = false;

	for (size_t i = 0; i < ARRAY_SIZE(refused) && !bad; i++)
		bad = in_cidr(sa, refused[i]);
	if (!bad)
		return true;
	snprintf(list, sizeof(list), "%s", allow ? allow : "");
	for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		if (in_cidr(sa, t))
			return true;
	return false;
}

int wh_url_check(const char *url, const char *allow, struct berr *e)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	int ret = 0;

	if (!u)
		return -ENOMEM;
	if (!url || strlen(url) >= WH_URL_MAX ||
	    curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		ret = berr_set(e, 400, "ValidationException",
			       "The url '%.200s' is not a valid http:// or https:// URL.",
			       url ? url : "");
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		ret = berr_set(e, 400, "ValidationException",
			       "The url must be http:// or https://, got %s://.", scheme);
		goto out;
	}
	/* Names are checked again for every connection, against the address they resolve to. */
	if (host[0] == '[') {
		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &s6.sin6_addr) == 1 &&
		    !wh_address_allowed((struct sockaddr *)&s6, allow))
			ret = -EINVAL;
	} else if (inet_pton(AF_INET, host, &s4.sin_addr) == 1 &&
		   !wh_address_allowed((struct sockaddr *)&s4, allow)) {
		ret = -EINVAL;
	}
	if (ret < 0)
		berr_set(e, 400, "ValidationException",
			 "The url's host %s is a link-local or cloud metadata address; webhooks "
			 "may call it only when webhook_allow_hosts lists it.", host);
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

/* ---- the outbox ---------------------------------------------------------------------------- */

static int item_path(struct alarm_actions *a, const char *dir, const struct wh_item *it,
		     char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s.json", dir ? dir : a->outbox_dir, it->id);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int item_save(struct alarm_actions *a, const struct wh_item *it)
{
	char path[800], *text;
	json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:f, s:f, s:i, s:s%}", "version", 1, "id",
			      it->id, "endpoint", it->endpoint, "alarm", it->alarm, "created",
			      it->created_at, "nextAttempt", it->next_at, "attempts", it->attempts,
			      "body", it->body, it->body_len);
	int ret;

	if (item_path(a, NULL, it, path, sizeof(path)) < 0 || !o) {
		json_decref(o);
		return -ENOMEM;
	}
	text = json_steal_dumps(o);
	if (!text)
		return -ENOMEM;
	ret = file_write_durable(path, text, strlen(text), 0600);
	free(text);
	return ret;
}

struct wh_item *wh_item_parse(const char *text, size_t len, char *why, size_t whylen)
{
	json_error_t err;
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err), *body;
	const char *id = NULL, *ep = NULL, *alarm = "";
	struct wh_item *it = NULL;
	double created = 0, next = 0;
	int attempts = 0;

	if (!o) {
		snprintf(why, whylen, "not JSON (line %d: %s)", err.line, err.text);
		return NULL;
	}
	body = json_object_get(o, "body");
	if (json_unpack_ex(o, &err, 0, "{s:s, s:s, s?s, s:F, s?F, s?i}", "id", &id, "endpoint",
			   &ep, "alarm", &alarm, "created", &created, "nextAttempt", &next,
			   "attempts", &attempts) < 0 || !json_is_string(body)) {
		snprintf(why, whylen, "missing or mistyped member (%s)",
			 json_is_string(body) ? err.text : "body");
		goto out;
	}
	if (!name_is_valid(id, 63) || strlen(ep) == 0 || strlen(ep) >= 256 ||
	    strlen(alarm) >= 256 || json_string_length(body) > WH_BODY_MAX || attempts < 0 ||
	    !isfinite(created) || !isfinite(next)) {
		snprintf(why, whylen, "id, endpoint, alarm, body or times out of range");
		goto out;
	}
	it = calloc(1, sizeof(*it));
	if (!it)
		goto out;
	it->body = malloc(json_string_length(body) + 1);
	if (!it->body) {
		free(it);
		it = NULL;
		goto out;
	}
	it->body_len = json_string_length(body);
	memcpy(it->body, json_string_value(body), it->body_len);
	it->body[it->body_len] = '\0';
	snprintf(it->id, sizeof(it->id), "%s", id);
	snprintf(it->endpoint, sizeof(it->endpoint), "%s", ep);
	snprintf(it->alarm, sizeof(it->alarm), "%s", alarm);
	it->created_at = created;
	it->next_at = next;
	it->attempts = attempts;
out:
	json_decref(o);
	return it;
}

static void item_free(struct wh_item *it)
{
	if (it) {
		free(it->body);
		free(it);
	}
}

static void item_unlink(struct alarm_actions *a, struct wh_item *it)
{
	for (struct wh_item **pp = &a->items; *pp; pp = &(*pp)->next) {
		if (*pp == it) {
			*pp = it->next;
			a->n_items--;
			return;
		}
	}
}

static int dir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Removes a delivered item's file; the directory is synced so a crash cannot bring it back
 * (a resend would still be safe: receivers dedupe on webhook-id). */
static void item_done(struct alarm_actions *a, struct wh_item *it)
{
	char path[800];

	if (item_path(a, NULL, it, path, sizeof(path)) == 0 && unlink(path) < 0 &&
	    errno != ENOENT)
		log_warn("actions: failed to remove outbox file %s: %s", path, strerror(errno));
	dir_sync(a->outbox_dir);
	item_unlink(a, it);
	item_free(it);
}

/* Moves an item that will not be delivered to DATA_DIR/outbox/dead, keeping it for people. */
static void item_dead(struct alarm_actions *a, struct wh_item *it, const char *why)
{
	char from[800], to[800];

	log_warn("actions: webhook %s to %s given up: %s (kept in %s)", it->id, it->endpoint, why,
		 a->dead_dir);
	if (item_path(a, NULL, it, from, sizeof(from)) == 0 &&
	    item_path(a, a->dead_dir, it, to, sizeof(to)) == 0 && rename(from, to) == 0) {
		dir_sync(a->dead_dir);
		dir_sync(a->outbox_dir);
	}
	actions_history(a, it->alarm, "Failed to deliver webhook notification",
			json_pack("{s:s, s:s, s:s, s:s, s:i}", "actionState", "Failed",
				  "webhookId", it->id, "endpoint", it->endpoint, "error", why,
				  "attempts", it->attempts));
	item_unlink(a, it);
	item_free(it);
}

static void item_insert(struct alarm_actions *a, struct wh_item *it)
{
	struct wh_item **pp = &a->items;

	/* Oldest first, so an endpoint's notifications go out in the order they happened. */
	while (*pp && (*pp)->created_at <= it->created_at)
		pp = &(*pp)->next;
	it->next = *pp;
	*pp = it;
	a->n_items++;
}

int wh_outbox_add(struct alarm_actions *a, const char *endpoint, const char *alarm,
		  const char *id, char *body)
{
	struct wh_item *it = calloc(1, sizeof(*it));
	int ret;

	if (!it) {
		free(body);
		return -ENOMEM;
	}
	snprintf(it->id, sizeof(it->id), "%s", id);
	snprintf(it->endpoint, sizeof(it->endpoint), "%s", endpoint);
	snprintf(it->alarm, sizeof(it->alarm), "%s", alarm ? alarm : "");
	it->body = body;
	it->body_len = strlen(body);
	it->created_at = time_now();
	it->next_at = it->created_at;
	ret = item_save(a, it);
	if (ret < 0) {
		log_error("actions: failed to write webhook %s to the outbox: %s", id,
			  strerror(-ret));
		item_free(it);
		return ret;
	}
	item_insert(a, it);
	return 0;
}

void wh_outbox_drop_endpoint(struct alarm_actions *a, const char *endpoint, const char *why)
{
	struct wh_item *it = a->items, *next;

	struct wh_endpoint *ep = wh_endpoint_find(a, endpoint);

	for (; it; it = next) {
		next = it->next;
		if (it->inflight || strcmp(it->endpoint, endpoint) != 0)
			continue;
		if (ep)
			ep->dropped++;
		item_dead(a, it, why);
	}
}

static void outbox_load(struct alarm_actions *a)
{
	DIR *d = opendir(a->outbox_dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[800], why[200], bad[840], *text = NULL;
		size_t len = 0, n = strlen(de->d_name);
		struct wh_item *it;

		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", a->outbox_dir, de->d_name);
		if (file_read_all(path, 2 * WH_BODY_MAX, &text, &len) < 0)
			continue;
		it = wh_item_parse(text, len, why, sizeof(why));
		free(text);
		if (!it || strncmp(de->d_name, it->id, n - 5) != 0 || strlen(it->id) != n - 5) {
			/* Not ours to guess at: set aside, never lost. */
			snprintf(bad, sizeof(bad), "%s/%s.corrupt", a->dead_dir, de->d_name);
			log_error("actions: outbox file %s is unreadable (%s); moved to %s", path,
				  it ? "name does not match its id" : why, bad);
			rename(path, bad);
			item_free(it);
			continue;
		}
		item_insert(a, it);
	}
	closedir(d);
	if (a->n_items)
		log_info("actions: %zu webhook notifications pending in the outbox", a->n_items);
}

/* ---- curl on the loop ---------------------------------------------------------------------- */

static void check_done(struct alarm_actions *a);

static void on_sock(struct loop_io *io, uint32_t events)
{
	struct wh_sock *s = io->data;
	struct alarm_actions *a = s->a;
	int flags = 0;
	int running = 0;

	if (!s->used)
		return;
	if (events & (EPOLLIN | EPOLLHUP))
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & EPOLLERR)
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(a->multi, s->fd, flags, &running);
	check_done(a);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct alarm_actions *a = userp;
	struct wh_sock *s = sockp;
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			loop_io_stop(&s->io);
			s->used = false;
			curl_multi_assign(a->multi, fd, NULL);
		}
		return 0;
	}
	if (s) {
		if (loop_io_modify(&s->io, ev) < 0)
			log_warn("actions: failed to watch a webhook socket: %s", strerror(errno));
		return 0;
	}
	for (s = a->socks; s && s->used; s = s->next)
		;
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return -1;
		s->next = a->socks;
		a->socks = s;
	}
	s->a = a;
	s->fd = fd;
	s->used = true;
	if (loop_io_start(a->deps.loop, &s->io, fd, ev, on_sock, s) < 0) {
		/* The fd was reused without a REMOVE: epoll still has it. */
		s->io.loop = a->deps.loop;
		if (loop_io_modify(&s->io, ev) < 0) {
			s->used = false;
			return -1;
		}
	}
	curl_multi_assign(a->multi, fd, s);
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct alarm_actions *a = userp;

	(void)multi;
	if (timeout_ms < 0)
		loop_timer_arm(&a->curl_timer, 0, 0);
	else
		loop_timer_arm(&a->curl_timer, timeout_ms > 0 ? (uint64_t)timeout_ms : 1, 0);
	return 0;
}

static void on_curl_timer(struct loop_timer *t)
{
	struct alarm_actions *a = t->data;
	int running = 0;

	curl_multi_socket_action(a->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(a);
}

static void on_pump_timer(struct loop_timer *t)
{
	wh_pump(t->data);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct wh_xfer *x = ud;
	size_t len = size * n;
	char line[256];

	if (len > 12 && len < sizeof(line) && strncasecmp(p, "Retry-After:", 12) == 0) {
		memcpy(line, p + 12, len - 12);
		line[len - 12] = '\0';
		x->retry_after = wh_retry_after(line, time_now());
	}
	return len;
}

static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct wh_xfer *x = ud;
	char host[INET6_ADDRSTRLEN] = "?";
	int fd;

	(void)purpose;
	if (!wh_address_allowed(&addr->addr, x->a->allow_hosts)) {
		if (addr->family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&addr->addr)->sin_addr, host,
				  sizeof(host));
		else if (addr->family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr->addr)->sin6_addr, host,
				  sizeof(host));
		snprintf(x->refused, sizeof(x->refused),
			 "address %s is link-local or cloud metadata (see webhook_allow_hosts)",
			 host);
		return CURL_SOCKET_BAD;
	}
	fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

struct wh_endpoint *wh_endpoint_find(struct alarm_actions *a, const char *name)
{
	for (struct wh_endpoint *ep = a->endpoints; ep; ep = ep->next)
		if (strcmp(ep->name, name) == 0)
			return ep;
	return NULL;
}

void wh_log_attempt(struct wh_endpoint *ep, const struct wh_attempt *at)
{
	ep->log[ep->log_head] = *at;
	ep->log_head = (ep->log_head + 1) % WH_LOG_MAX;
	if (ep->n_log < WH_LOG_MAX)
		ep->n_log++;
}

static struct curl_slist *build_headers(struct wh_endpoint *ep, struct wh_item *it,
					char *err, size_t errlen)
{
	struct curl_slist *h = NULL, *t;
	char sig[400], line[600];
	long long ts = (long long)time(NULL);
	const char *k;
	json_t *v;

	if (wh_sign(ep->secret, ep->prev_secret, it->id, ts, it->body, it->body_len, sig,
		    sizeof(sig)) < 0) {
		snprintf(err, errlen, "the endpoint's secret does not decode");
		return NULL;
	}
	/* The endpoint's own headers first; berth's may not be overridden. */
	json_object_foreach(ep->headers, k, v) {
		snprintf(line, sizeof(line), "%s: %s", k, json_string_value(v));
		if (!(t = curl_slist_append(h, line)))
			goto oom;
		h = t;
	}
	const char *fixed[] = { "Content-Type: application/json", "User-Agent: berth/" BERTH_VERSION,
				"Expect:" };
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		if (!(t = curl_slist_append(h, fixed[i])))
			goto oom;
		h = t;
	}
	snprintf(line, sizeof(line), "webhook-id: %s", it->id);
	if (!(t = curl_slist_append(h, line)))
		goto oom;
	h = t;
	snprintf(line, sizeof(line), "webhook-timestamp: %lld", ts);
	if (!(t = curl_slist_append(h, line)))
		goto oom;
	h = t;
	snprintf(line, sizeof(line), "webhook-signature: %s", sig);
	if (!(t = curl_slist_append(h, line)))
		goto oom;
	h = t;
	if (ep->format == WH_FORMAT_SNS) {
		snprintf(line, sizeof(line), "x-amz-sns-message-type: Notification");
		if ((t = curl_slist_append(h, line)))
			h = t;
	}
	return h;
oom:
	curl_slist_free_all(h);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

static void record(struct alarm_actions *a, struct wh_endpoint *ep, struct wh_item *it,
		   long status, const char *result, const char *error, double ms)
{
	struct wh_attempt at = { .attempt = it->attempts, .at = time_now(), .status = status,
				 .duration_ms = ms };

	(void)a;
	snprintf(at.id, sizeof(at.id), "%s", it->id);
	snprintf(at.result, sizeof(at.result), "%s", result);
	snprintf(at.error, sizeof(at.error), "%s", error ? error : "");
	if (ep) {
		wh_log_attempt(ep, &at);
		ep->last_attempt_at = at.at;
		ep->last_status = status;
	}
}

/* Schedules the next attempt after a failure, or gives the item up when it is too old. */
static void retry_later(struct alarm_actions *a, struct wh_item *it, long retry_after)
{
	int64_t d = wh_backoff_ms(it->attempts, a->backoff_initial_ms, a->backoff_max_ms, &a->rng);
	double now = time_now();

	if (retry_after >= 0 && retry_after * 1000LL > d)
		d = retry_after * 1000LL;
	if (now + (double)d / 1000.0 > it->created_at + (double)a->max_age_s) {
		struct wh_endpoint *ep = wh_endpoint_find(a, it->endpoint);
		if (ep)
			ep->expired++;
		item_dead(a, it, "not delivered within webhook_max_age");
		return;
	}
	it->next_at = now + (double)d / 1000.0;
	if (item_save(a, it) < 0)
		log_warn("actions: failed to record the retry of webhook %s", it->id);
}

static void finish(struct alarm_actions *a, struct wh_xfer *x, CURLcode rc)
{
	struct wh_item *it = x->item;
	struct wh_endpoint *ep = wh_endpoint_find(a, it->endpoint);
	double ms = (double)(time_mono_ms() - x->started_ms);
	long status = 0;
	char err[200];

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	it->inflight = false;
	if (ep && ep->inflight)
		ep->inflight--;
	if (rc == CURLE_OK && status >= 200 && status < 300) {
		log_debug("actions: webhook %s delivered to %s (%ld, attempt %d)", it->id,
			  it->endpoint, status, it->attempts);
		if (ep) {
			ep->delivered++;
			ep->last_success_at = time_now();
		}
		record(a, ep, it, status, "delivered", NULL, ms);
		item_done(a, it);
		return;
	}
	if (rc != CURLE_OK)
		snprintf(err, sizeof(err), "%s", x->refused[0] ? x->refused
				: x->error[0] ? x->error : curl_easy_strerror(rc));
	else
		snprintf(err, sizeof(err), "HTTP %ld", status);
	if (ep)
		ep->failed++;
	if (rc == CURLE_OK && status == 410 && ep) {
		/* Standard Webhooks: 410 Gone means the receiver wants no more. */
		record(a, ep, it, status, "disabled", "410 Gone: endpoint disabled", ms);
		ep->enabled = false;
		snprintf(ep->disabled_reason, sizeof(ep->disabled_reason),
			 "the receiver answered 410 Gone to %s", it->id);
		ep->updated_at = time_now();
		log_warn("actions: webhook endpoint %s disabled: %s", ep->name, ep->disabled_reason);
		wh_endpoints_save(a);
		item_dead(a, it, "the endpoint answered 410 Gone and is disabled");
		wh_outbox_drop_endpoint(a, ep->name, "the endpoint was disabled by a 410 Gone");
		return;
	}
	log_info("actions: webhook %s to %s failed (attempt %d): %s", it->id, it->endpoint,
		 it->attempts, err);
	record(a, ep, it, status, "failed", err, ms);
	retry_later(a, it, x->retry_after);
}

static void check_done(struct alarm_actions *a)
{
	CURLMsg *m;
	int left;
	bool any = false;

	while ((m = curl_multi_info_read(a->multi, &left))) {
		struct wh_xfer *x = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		CURLcode rc = m->data.result;
		finish(a, x, rc);
		xfer_free(a, x);
		any = true;
	}
	if (any)
		wh_pump(a);
}

static int start(struct alarm_actions *a, struct wh_endpoint *ep, struct wh_item *it)
{
	struct wh_xfer *x = calloc(1, sizeof(*x));
	char err[160];

	if (!x)
		return -ENOMEM;
	x->a = a;
	x->item = it;
	x->retry_after = -1;
	x->started_ms = time_mono_ms();
	x->headers = build_headers(ep, it, err, sizeof(err));
	x->easy = x->headers ? curl_easy_init() : NULL;
	if (!x->easy) {
		if (x->headers)
			snprintf(err, sizeof(err), "out of memory");
		curl_slist_free_all(x->headers);
		free(x);
		it->attempts++;
		ep->failed++;
		record(a, ep, it, 0, "failed", err, 0);
		retry_later(a, it, -1);
		return -EIO;
	}
	curl_easy_setopt(x->easy, CURLOPT_URL, ep->url);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, it->body);
	curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->body_len);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)a->connect_timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->error);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	it->inflight = true;
	it->attempts++;
	ep->inflight++;
	ep->attempts++;
	if (curl_multi_add_handle(a->multi, x->easy) != CURLM_OK) {
		it->inflight = false;
		ep->inflight--;
		curl_easy_cleanup(x->easy);
		curl_slist_free_all(x->headers);
		free(x);
		retry_later(a, it, -1);
		return -EIO;
	}
	x->next = a->xfers;
	a->xfers = x;
	return 0;
}

void wh_pump(struct alarm_actions *a)
{
	double now = time_now(), soonest = INFINITY;
	struct wh_item *it, *next;

	if (!a->multi)
		return;
	for (it = a->items; it; it = next) {
		struct wh_endpoint *ep = wh_endpoint_find(a, it->endpoint);
		next = it->next;
		if (it->inflight)
			continue;
		if (!ep) {
			item_dead(a, it, "the endpoint no longer exists");
			continue;
		}
		/* A disabled endpoint keeps its notifications until it is enabled again. */
		if (!ep->enabled || ep->inflight > 0)
			continue;
		if (it->next_at > now) {
			if (it->next_at < soonest)
				soonest = it->next_at;
			continue;
		}
		start(a, ep, it);
	}
	if (isfinite(soonest)) {
		double ms = (soonest - now) * 1000.0 + 1;
		loop_timer_arm(&a->pump_timer, ms < 1 ? 1 : (uint64_t)ms, 0);
	}
}

int wh_outbox_init(struct alarm_actions *a)
{
	const struct config *cfg = a->deps.cfg;
	int ret;

	snprintf(a->outbox_dir, sizeof(a->outbox_dir), "%s/outbox", cfg->data_dir);
	snprintf(a->dead_dir, sizeof(a->dead_dir), "%s/dead", a->outbox_dir);
	ret = file_mkdir_p(a->dead_dir, 0700);
	if (ret < 0) {
		log_error("actions: failed to create %s: %s", a->dead_dir, strerror(-ret));
		return ret;
	}
	a->connect_timeout_ms = cfg->webhook_connect_timeout_ms;
	a->timeout_ms = cfg->webhook_timeout_ms;
	a->backoff_initial_ms = cfg->webhook_retry_initial_ms;
	a->backoff_max_ms = cfg->webhook_retry_max_ms;
	a->max_age_s = cfg->webhook_max_age;
	snprintf(a->allow_hosts, sizeof(a->allow_hosts), "%s", cfg->webhook_allow_hosts);
	a->rng = (uint64_t)time_mono_ms() ^ ((uint64_t)getpid() << 32);
	outbox_load(a);
	if (!a->deps.loop)
		return 0;
	a->multi = curl_multi_init();
	if (!a->multi)
		return -ENOMEM;
	curl_multi_setopt(a->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(a->multi, CURLMOPT_SOCKETDATA, a);
	curl_multi_setopt(a->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(a->multi, CURLMOPT_TIMERDATA, a);
	ret = loop_timer_init(a->deps.loop, &a->curl_timer, on_curl_timer, a);
	if (ret == 0) {
		ret = loop_timer_init(a->deps.loop, &a->pump_timer, on_pump_timer, a);
		if (ret < 0)
			loop_timer_close(&a->curl_timer);
	}
	if (ret < 0) {
		curl_multi_cleanup(a->multi);
		a->multi = NULL;
		return ret;
	}
	a->timers_ready = true;
	return 0;
}

void wh_outbox_close(struct alarm_actions *a)
{
	struct wh_item *it, *next;

	if (a->multi) {
		/* What was in flight stays in the outbox and goes again after a restart. */
		while (a->xfers)
			xfer_free(a, a->xfers);
		curl_multi_cleanup(a->multi);
		a->multi = NULL;
	}
	if (a->timers_ready) {
		loop_timer_close(&a->curl_timer);
		loop_timer_close(&a->pump_timer);
		a->timers_ready = false;
	}
	while (a->socks) {
		struct wh_sock *s = a->socks;
		a->socks = s->next;
		if (s->used)
			loop_io_stop(&s->io);
		free(s);
	}
	for (it = a->items; it; it = next) {
		next = it->next;
		item_free(it);
	}
	a->items = NULL;
	a->n_items = 0;
}
