/* SPDX-License-Identifier: MIT */
/* actions_internal.h: what the action files share - webhook endpoints, the outbox and its
 * sender, message formats, signing, and scaling arithmetic. Not used outside alarms/. */
#ifndef BERTH_ALARMS_ACTIONS_INTERNAL_H
#define BERTH_ALARMS_ACTIONS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "alarms/actions.h"

#define WH_LOG_MAX 50              /* recent deliveries kept per endpoint */
#define WH_SECRET_MAX 128
#define WH_URL_MAX 2048
#define WH_BODY_MAX (256 * 1024)    /* a larger outbox file is corrupt */

enum wh_format { WH_FORMAT_SNS, WH_FORMAT_ALERTMANAGER, WH_FORMAT_BERTH };

/* One delivery attempt, as the log shows it. */
struct wh_attempt {
	char id[64];
	int attempt;
	double at;
	long status;               /* HTTP status, 0 when there was no answer */
	char result[16];           /* delivered, failed, disabled, expired */
	char error[160];
	double duration_ms;
};

struct wh_endpoint {
	char name[256];
	char url[WH_URL_MAX];
	enum wh_format format;
	char secret[WH_SECRET_MAX];
	char prev_secret[WH_SECRET_MAX];  /* "" unless rotating */
	json_t *headers;           /* {name: value} */
	bool enabled;
	char disabled_reason[256];
	double created_at, updated_at;
	/* Counters since start (not persisted). */
	uint64_t delivered, failed, expired, dropped, attempts;
	double last_attempt_at, last_success_at;
	long last_status;
	unsigned inflight;
	struct wh_attempt log[WH_LOG_MAX];   /* ring, newest at (log_head - 1) */
	unsigned log_head, n_log;
	struct wh_endpoint *next;
};

/* One pending notification: an outbox file. */
struct wh_item {
	char id[64];               /* webhook-id, the same on every attempt */
	char endpoint[256];
	char alarm[256];
	char *body;
	size_t body_len;
	double created_at;
	double next_at;            /* wall seconds of the next attempt */
	int attempts;
	bool inflight;
	struct wh_item *next;
};

struct wh_sock;
struct wh_xfer;

/* Application Auto Scaling objects. */
struct sc_target {
	char resource_id[600];     /* service/CLUSTER/SERVICE */
	char arn[700];
	int min, max;
	json_t *suspended;         /* SuspendedState or NULL */
	char role_arn[600];
	double created_at;
	struct sc_target *next;
};

struct sc_step {
	double lower, upper;       /* NAN: unbounded */
	int adjustment;
};

enum sc_adjust { SC_CHANGE, SC_PERCENT, SC_EXACT };

struct sc_policy {
	char name[256];
	char arn[1024];
	char resource_id[600];
	bool target_tracking;
	json_t *config;            /* the policy's configuration member, as put */
	/* Step scaling. */
	enum sc_adjust adjust;
	struct sc_step steps[20];
	int n_steps;
	int min_magnitude;         /* 0: none */
	int cooldown;
	/* Target tracking. */
	double target_value;
	int scale_out_cooldown, scale_in_cooldown;
	bool disable_scale_in;
	char alarm_high[256], alarm_low[256];
	json_t *alarms;            /* [{AlarmName, AlarmARN}] */
	double created_at;
	/* Cooldown state (persisted). */
	double last_out_at, last_in_at;
	int last_out_from;         /* capacity before the last scale-out */
	struct sc_policy *next;
};

#define SC_MAX_ACTIVITIES 500

struct alarm_actions {
	struct alarm_actions_deps deps;
	char outbox_dir[600];
	char dead_dir[640];
	char webhooks_path[600];
	char scaling_path[600];
	struct wh_endpoint *endpoints;
	struct wh_item *items;
	size_t n_items;
	CURLM *multi;
	struct loop_timer curl_timer;   /* curl's timeout */
	struct loop_timer pump_timer;   /* the next retry that is due */
	bool timers_ready;
	struct wh_sock *socks;          /* watchers, reused: never freed while the loop runs */
	struct wh_xfer *xfers;          /* attempts in flight */
	/* Config, copied. */
	int64_t connect_timeout_ms, timeout_ms, backoff_initial_ms, backoff_max_ms, max_age_s;
	char allow_hosts[CONFIG_STR_MAX];
	/* Scaling. */
	struct sc_target *targets;
	struct sc_policy *policies;
	json_t *activities;             /* newest first */
	uint64_t scale_actions, scale_failures, replace_actions, replace_failures;
	uint64_t rng;
	char last_webhook_id[64];       /* of the last notification queued */
};

/* webhook_sign.c */
/* Decodes "whsec_<base64>" into key (at most *len bytes; *len is set). 0 or -EINVAL. */
int wh_secret_decode(const char *secret, unsigned char *key, size_t *len);
/* A fresh "whsec_..." secret (32 random bytes) into out (at least 64 bytes). */
void wh_secret_generate(char *out, size_t len);
/* "v1,<base64 HMAC-SHA256(key, id.ts.body)>" for each non-empty secret, space separated, into
 * out. 0, or -EINVAL when a secret does not decode. */
int wh_sign(const char *secret, const char *prev_secret, const char *id, long long ts,
	    const char *body, size_t len, char *out, size_t outlen);

/* webhook_format.c */
int wh_format_parse(const char *s, enum wh_format *f);
const char *wh_format_name(enum wh_format f);
/* The body of one notification in format f; malloc'd, caller frees; NULL on error. */
char *wh_format_body(enum wh_format f, const struct alarm_event *ev, const char *topic_arn,
		     const char *endpoint, const struct config *cfg, const char *message_id);
/* "2019-11-22T15:43:51.730+0000" (CloudWatch's StateChangeTime) into out (>= 32 bytes). */
void wh_time_cloudwatch(double t, char *out, size_t len);
/* The long region name CloudWatch puts in messages ("US East (N. Virginia)"), or the code. */
const char *wh_region_name(const char *code);

/* webhook_delivery.c: the outbox and the sender. */
/* Delay in ms before attempt `attempt` + 1 (attempt >= 1) with jitter from *rng; bounded by
 * [initial/2, max]. */
int64_t wh_backoff_ms(int attempt, int64_t initial_ms, int64_t max_ms, uint64_t *rng);
/* Seconds of a Retry-After value (delta seconds or an HTTP date relative to now); -1 when it
 * does not parse. */
long wh_retry_after(const char *value, double now);
/* True when the address may be called: not link-local or a cloud metadata address, unless
 * allow (comma separated addresses or CIDRs) lists it. */
bool wh_address_allowed(const struct sockaddr *sa, const char *allow);
/* Checks a URL at put time: http(s), a host, and an IP literal host must be allowed.
 * 0 or -EINVAL with e set. */
int wh_url_check(const char *url, const char *allow, struct berr *e);
int wh_outbox_init(struct alarm_actions *a);
void wh_outbox_close(struct alarm_actions *a);
/* Writes the item durably to the outbox and queues it; takes body. 0 or -errno. */
int wh_outbox_add(struct alarm_actions *a, const char *endpoint, const char *alarm,
		  const char *id, char *body);
/* Parses one outbox file's text into a new item (body owned); NULL with why set. */
struct wh_item *wh_item_parse(const char *text, size_t len, char *why, size_t whylen);
/* Sends what is due. */
void wh_pump(struct alarm_actions *a);
/* Moves every pending item of an endpoint to the dead letters. */
void wh_outbox_drop_endpoint(struct alarm_actions *a, const char *endpoint, const char *why);
void wh_log_attempt(struct wh_endpoint *ep, const struct wh_attempt *at);
struct wh_endpoint *wh_endpoint_find(struct alarm_actions *a, const char *name);

/* webhook.c: endpoints. */
int wh_endpoints_load(struct alarm_actions *a);
int wh_endpoints_save(struct alarm_actions *a);
void wh_endpoints_free(struct alarm_actions *a);
/* Parses an endpoint from a put request or the state file. 0 or -EINVAL with e set. */
int wh_endpoint_from_json(const json_t *o, struct wh_endpoint *ep, bool stored, struct berr *e);

/* scaling.c */
int sc_load(struct alarm_actions *a);
void sc_free(struct alarm_actions *a);
struct sc_policy *sc_policy_by_arn(struct alarm_actions *a, const char *arn);
/* Runs a policy for an alarm event; returns 0 or -errno, with what happened in msg. */
int sc_execute(struct alarm_actions *a, struct sc_policy *p, const struct alarm_event *ev,
	       char *msg, size_t msglen);

/* scaling_math.c: Application Auto Scaling's arithmetic, pure. */
/* Parses StepScalingPolicyConfiguration into p. 0 or -EINVAL with e set. */
int sc_step_config_parse(const json_t *cfg, struct sc_policy *p, struct berr *e);
/* The step adjustment for a metric value against the threshold; NULL when none applies. */
const struct sc_step *sc_step_find(const struct sc_policy *p, double value, double threshold);
/* The new capacity after an adjustment from current, clamped to [min, max]. */
int sc_apply_adjustment(enum sc_adjust kind, int adjustment, int min_magnitude, int current,
			int min, int max);
/* Cooldown rules of step scaling: from current and the policy's last activities, the capacity
 * to set (== current: nothing to do). why says why not when blocked. */
int sc_step_decide(const struct sc_policy *p, double value, double threshold, int current,
		   int min, int max, double now, char *why, size_t whylen);

/* actions.c */
void actions_history(struct alarm_actions *a, const char *alarm, const char *summary,
		     json_t *data);

#endif
