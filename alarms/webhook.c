/* SPDX-License-Identifier: MIT */
/* webhook.c: webhook endpoints - validation, the durable state file, the /v1/webhooks views. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/actions_internal.h"
#include "common/fileio.h"
#include "common/json.h"
#include "common/log.h"

static bool header_name_ok(const char *k)
{
	static const char *const reserved[] = { "webhook-id", "webhook-timestamp",
						"webhook-signature", "content-type",
						"content-length", "host", "transfer-encoding",
						"expect", "connection" };

	if (!*k || strlen(k) > 128)
		return false;
	for (const char *p = k; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
			return false;
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
		if (strcasecmp(k, reserved[i]) == 0)
			return false;
	return true;
}

static int headers_check(const json_t *h, struct berr *e)
{
	const char *k;
	json_t *v;

	if (!json_is_object(h))
		return berr_set(e, 400, "ValidationException",
				"headers must be an object of name: value strings.");
	if (json_object_size(h) > 32)
		return berr_set(e, 400, "ValidationException", "headers may hold at most 32 entries.");
	json_object_foreach((json_t *)h, k, v) {
		const char *s = json_string_value(v);
		if (!header_name_ok(k))
			return berr_set(e, 400, "ValidationException",
					"headers: '%.100s' is not a header name berth lets a "
					"webhook set.", k);
		if (!s || strlen(s) > 400 || strpbrk(s, "\r\n"))
			return berr_set(e, 400, "ValidationException",
					"headers: the value of '%.100s' must be a string of at most "
					"400 characters without line breaks.", k);
	}
	return 0;
}

static int secret_check(const char *s, const char *field, struct berr *e)
{
	unsigned char key[WH_SECRET_MAX];
	size_t len = sizeof(key);

	if (strlen(s) >= WH_SECRET_MAX || wh_secret_decode(s, key, &len) < 0)
		return berr_set(e, 400, "ValidationException",
				"%s must be 'whsec_' followed by the base64 of 16 to 64 random "
				"bytes.", field);
	return 0;
}

int wh_endpoint_from_json(const json_t *o, struct wh_endpoint *ep, bool stored, struct berr *e)
{
	const char *name = NULL, *url = NULL, *format = NULL, *secret = NULL, *prev = NULL;
	const char *reason = NULL;
	json_t *headers = NULL;
	int enabled = 1;
	long long ll;

	if (!json_is_object(o))
		return berr_set(e, 400, "ValidationException", "A webhook must be a JSON object.");
	if (json_get_string(o, "name", &name, e) < 0 || json_get_string(o, "url", &url, e) < 0 ||
	    json_get_string(o, "format", &format, e) < 0 ||
	    json_get_string(o, "secret", &secret, e) < 0 ||
	    json_get_string(o, "previousSecret", &prev, e) < 0 ||
	    json_get_object(o, "headers", &headers, e) < 0 ||
	    json_get_bool(o, "enabled", &enabled, e) < 0 ||
	    json_get_string(o, "disabledReason", &reason, e) < 0)
		return -EINVAL;
	if (!name || !name_is_valid(name, 256))
		return berr_set(e, 400, "ValidationException",
				"name must be 1 to 256 letters, digits, '-' or '_' (an SNS topic "
				"name), got '%.100s'.", name ? name : "");
	if (!url)
		return berr_set(e, 400, "ValidationException", "url is required.");
	if (format && wh_format_parse(format, &ep->format) < 0)
		return berr_set(e, 400, "ValidationException",
				"format must be cloudwatch-sns, alertmanager or berth, got "
				"'%.40s'.", format);
	if (!format)
		ep->format = WH_FORMAT_SNS;
	if (secret && secret_check(secret, "secret", e) < 0)
		return -EINVAL;
	if (prev && *prev && secret_check(prev, "previousSecret", e) < 0)
		return -EINVAL;
	if (headers && headers_check(headers, e) < 0)
		return -EINVAL;
	snprintf(ep->name, sizeof(ep->name), "%s", name);
	snprintf(ep->url, sizeof(ep->url), "%s", url);
	snprintf(ep->secret, sizeof(ep->secret), "%s", secret ? secret : "");
	snprintf(ep->prev_secret, sizeof(ep->prev_secret), "%s", prev ? prev : "");
	ep->headers = headers ? json_deep_copy(headers) : json_object();
	ep->enabled = enabled != 0;
	snprintf(ep->disabled_reason, sizeof(ep->disabled_reason), "%s",
		 stored && reason ? reason : "");
	if (stored) {
		if (json_get_int(o, "created", &ll, NULL) > 0)
			ep->created_at = (double)ll;
		if (json_get_int(o, "updated", &ll, NULL) > 0)
			ep->updated_at = (double)ll;
	}
	return 0;
}

static json_t *endpoint_stored(const struct wh_endpoint *ep)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:b, s:s, s:I, s:I}", "name", ep->name,
			 "url", ep->url, "format", wh_format_name(ep->format), "secret", ep->secret,
			 "previousSecret", ep->prev_secret, "headers", ep->headers, "enabled",
			 ep->enabled, "disabledReason", ep->disabled_reason, "created",
			 (json_int_t)ep->created_at, "updated", (json_int_t)ep->updated_at);
}

int wh_endpoints_save(struct alarm_actions *a)
{
	json_t *list = json_array();
	char *text;
	int ret;

	for (struct wh_endpoint *ep = a->endpoints; ep; ep = ep->next)
		json_array_append_new(list, endpoint_stored(ep));
	text = json_steal_dumps_pretty(json_pack("{s:i, s:o}", "version", 1, "webhooks", list));
	if (!text)
		return -ENOMEM;
	ret = file_write_durable(a->webhooks_path, text, strlen(text), 0600);
	free(text);
	if (ret < 0)
		log_error("actions: failed to write %s: %s", a->webhooks_path, strerror(-ret));
	return ret;
}

static void endpoint_free(struct wh_endpoint *ep)
{
	if (ep) {
		json_decref(ep->headers);
		free(ep);
	}
}

void wh_endpoints_free(struct alarm_actions *a)
{
	while (a->endpoints) {
		struct wh_endpoint *ep = a->endpoints;
		a->endpoints = ep->next;
		endpoint_free(ep);
	}
}

int wh_endpoints_load(struct alarm_actions *a)
{
	json_t *o, *list, *v;
	json_error_t jerr;
	char *text = NULL;
	size_t len = 0, i;
	int ret;

	ret = file_read_all(a->webhooks_path, 16 << 20, &text, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		log_error("actions: failed to read %s: %s", a->webhooks_path, strerror(-ret));
		return ret;
	}
	o = json_loadb(text, len, 0, &jerr);
	free(text);
	list = json_object_get(o, "webhooks");
	if (!json_is_array(list)) {
		log_error("actions: failed to load %s: line %d: %s", a->webhooks_path, jerr.line,
			  o ? "no webhooks list" : jerr.text);
		json_decref(o);
		return -EINVAL;
	}
	json_array_foreach(list, i, v) {
		struct wh_endpoint *ep = calloc(1, sizeof(*ep));
		struct berr e;
		if (!ep)
			break;
		if (wh_endpoint_from_json(v, ep, true, &e) < 0 || wh_endpoint_find(a, ep->name)) {
			log_error("actions: %s: webhook %zu skipped: %s", a->webhooks_path, i,
				  ep->name[0] ? "duplicate name" : e.message);
			endpoint_free(ep);
			continue;
		}
		ep->next = a->endpoints;
		a->endpoints = ep;
	}
	json_decref(o);
	return 0;
}

static size_t pending_of(struct alarm_actions *a, const char *name)
{
	size_t n = 0;

	for (struct wh_item *it = a->items; it; it = it->next)
		n += strcmp(it->endpoint, name) == 0;
	return n;
}

static json_t *attempt_json(const struct wh_attempt *at)
{
	char ts[40];

	time_iso8601(at->at, ts, sizeof(ts));
	return json_pack("{s:s, s:i, s:s, s:I, s:s, s:s, s:f}", "webhookId", at->id, "attempt",
			 at->attempt, "time", ts, "status", (json_int_t)at->status, "result",
			 at->result, "error", at->error, "durationMs", at->duration_ms);
}

static json_t *log_json(const struct wh_endpoint *ep, unsigned max)
{
	json_t *arr = json_array();

	for (unsigned i = 0; i < ep->n_log && i < max; i++) {
		unsigned idx = (ep->log_head + WH_LOG_MAX - 1 - i) % WH_LOG_MAX;
		json_array_append_new(arr, attempt_json(&ep->log[idx]));
	}
	return arr;
}

static json_t *endpoint_view(struct alarm_actions *a, const struct wh_endpoint *ep,
			     unsigned max_log)
{
	const struct config *cfg = a->deps.cfg;
	char arn[600], created[40], updated[40];
	json_t *o;

	snprintf(arn, sizeof(arn), "arn:aws:sns:%s:%s:%s", cfg->region, cfg->account_id, ep->name);
	time_iso8601(ep->created_at, created, sizeof(created));
	time_iso8601(ep->updated_at, updated, sizeof(updated));
	o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:O, s:b, s:s, s:s}", "name", ep->name, "arn", arn,
		      "url", ep->url, "format", wh_format_name(ep->format), "enabled", ep->enabled,
		      "headers", ep->headers, "rotating", ep->prev_secret[0] != '\0', "createdAt",
		      created, "updatedAt", updated);
	if (!ep->enabled && ep->disabled_reason[0])
		json_object_set_new(o, "disabledReason", json_string(ep->disabled_reason));
	json_object_set_new(o, "counters",
			    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:I}", "delivered",
				      (json_int_t)ep->delivered, "failed", (json_int_t)ep->failed,
				      "expired", (json_int_t)ep->expired, "dropped",
				      (json_int_t)ep->dropped, "attempts", (json_int_t)ep->attempts,
				      "pending", (json_int_t)pending_of(a, ep->name), "inflight",
				      (int)ep->inflight, "lastStatus", (json_int_t)ep->last_status));
	json_object_set_new(o, "deliveries", log_json(ep, max_log));
	return o;
}

int actions_webhook_put(struct alarm_actions *a, const json_t *rq, json_t **out, struct berr *e)
{
	struct wh_endpoint *ep = calloc(1, sizeof(*ep)), *old;
	bool generated = false;
	int ret;

	*out = NULL;
	if (!ep)
		return berr_set(e, 500, "ServerException", "Out of memory.");
	if (wh_endpoint_from_json(rq, ep, false, e) < 0 ||
	    wh_url_check(ep->url, a->allow_hosts, e) < 0) {
		endpoint_free(ep);
		return -EINVAL;
	}
	old = wh_endpoint_find(a, ep->name);
	if (!ep->secret[0] && old) {
		snprintf(ep->secret, sizeof(ep->secret), "%s", old->secret);
		if (!json_object_get(rq, "previousSecret"))
			snprintf(ep->prev_secret, sizeof(ep->prev_secret), "%s", old->prev_secret);
	} else if (!ep->secret[0]) {
		wh_secret_generate(ep->secret, sizeof(ep->secret));
		generated = true;
	}
	ep->updated_at = time_now();
	ep->created_at = old ? old->created_at : ep->updated_at;
	if (old) {
		/* Counters and the delivery log belong to the name, not to one version. */
		ep->delivered = old->delivered, ep->failed = old->failed;
		ep->expired = old->expired, ep->dropped = old->dropped;
		ep->attempts = old->attempts, ep->inflight = old->inflight;
		ep->last_status = old->last_status, ep->last_attempt_at = old->last_attempt_at;
		ep->last_success_at = old->last_success_at;
		memcpy(ep->log, old->log, sizeof(ep->log));
		ep->log_head = old->log_head, ep->n_log = old->n_log;
	}
	ep->next = a->endpoints;
	a->endpoints = ep;
	if (old) {
		for (struct wh_endpoint **pp = &ep->next; *pp; pp = &(*pp)->next) {
			if (*pp == old) {
				*pp = old->next;
				break;
			}
		}
	}
	ret = wh_endpoints_save(a);
	if (ret < 0) {
		/* Undo: the state on disk is what counts. */
		a->endpoints = ep->next;
		if (old) {
			old->next = a->endpoints;
			a->endpoints = old;
		}
		endpoint_free(ep);
		return berr_set(e, 500, "ServerException", "Cannot save the webhook: %s.",
				strerror(-ret));
	}
	endpoint_free(old);
	log_info("actions: webhook endpoint %s %s (%s, %s)", ep->name, old ? "updated" : "created",
		 wh_format_name(ep->format), ep->enabled ? "enabled" : "disabled");
	*out = endpoint_view(a, ep, 10);
	if (generated)
		json_object_set_new(*out, "secret", json_string(ep->secret));
	wh_pump(a);
	return 0;
}

json_t *actions_webhook_list(struct alarm_actions *a)
{
	json_t *arr = json_array();

	for (struct wh_endpoint *ep = a->endpoints; ep; ep = ep->next)
		json_array_append_new(arr, endpoint_view(a, ep, 10));
	return json_pack("{s:o}", "webhooks", arr);
}

json_t *actions_webhook_get(struct alarm_actions *a, const char *name)
{
	struct wh_endpoint *ep = wh_endpoint_find(a, name);

	return ep ? endpoint_view(a, ep, 10) : NULL;
}

json_t *actions_webhook_deliveries(struct alarm_actions *a, const char *name)
{
	struct wh_endpoint *ep = wh_endpoint_find(a, name);
	json_t *pending;

	if (!ep)
		return NULL;
	pending = json_array();
	for (struct wh_item *it = a->items; it; it = it->next) {
		char created[40], next[40];
		if (strcmp(it->endpoint, name) != 0)
			continue;
		time_iso8601(it->created_at, created, sizeof(created));
		time_iso8601(it->next_at, next, sizeof(next));
		json_array_append_new(pending,
				      json_pack("{s:s, s:s, s:s, s:s, s:i, s:b}", "webhookId", it->id,
						"alarmName", it->alarm, "createdAt", created,
						"nextAttemptAt", next, "attempts", it->attempts,
						"inflight", it->inflight));
	}
	return json_pack("{s:s, s:o, s:o}", "name", name, "deliveries", log_json(ep, WH_LOG_MAX),
			 "pending", pending);
}

int actions_webhook_delete(struct alarm_actions *a, const char *name, struct berr *e)
{
	struct wh_endpoint **pp, *ep = NULL;

	for (pp = &a->endpoints; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->name, name) == 0) {
			ep = *pp;
			*pp = ep->next;
			break;
		}
	}
	if (!ep)
		return berr_set(e, 404, "ResourceNotFoundException", "Webhook %.256s not found.",
				name);
	if (wh_endpoints_save(a) < 0) {
		ep->next = a->endpoints;
		a->endpoints = ep;
		return berr_set(e, 500, "ServerException", "Cannot save the webhooks.");
	}
	wh_outbox_drop_endpoint(a, name, "the endpoint was deleted");
	log_info("actions: webhook endpoint %s deleted", name);
	endpoint_free(ep);
	return 0;
}

int actions_webhook_test(struct alarm_actions *a, const char *name, json_t **out,
			 struct berr *e)
{
	const struct config *cfg = a->deps.cfg;
	struct wh_endpoint *ep = wh_endpoint_find(a, name);
	char arn[600], alarm_arn[600];
	const char *arns[1] = { arn };
	struct alarm_event ev = { 0 };
	json_t *alarm;
	int n;

	*out = NULL;
	if (!ep)
		return berr_set(e, 404, "ResourceNotFoundException", "Webhook %.256s not found.",
				name);
	snprintf(arn, sizeof(arn), "arn:aws:sns:%s:%s:%s", cfg->region, cfg->account_id, name);
	snprintf(alarm_arn, sizeof(alarm_arn), "arn:aws:cloudwatch:%s:%s:alarm:berth-test-%s",
		 cfg->region, cfg->account_id, name);
	alarm = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[], s:[s], s:[], s:s, s:s, s:s, s:i, "
			  "s:i, s:i, s:f, s:s, s:s, s:[{s:s, s:s}]}",
			  "AlarmName", "berth-test-notification", "AlarmArn", alarm_arn,
			  "AlarmDescription", "A test notification sent by berth.", "StateValue",
			  "ALARM", "StateReason", "Test notification.", "OKActions",
			  "AlarmActions", arn, "InsufficientDataActions", "MetricName",
			  "CpuUtilized", "Namespace", "ECS/ContainerInsights", "Statistic", "Average",
			  "Period", 60, "EvaluationPeriods", 1, "DatapointsToAlarm", 1, "Threshold",
			  0.0, "ComparisonOperator", "GreaterThanThreshold", "TreatMissingData",
			  "missing", "Dimensions", "Name", "ClusterName", "Value", "default");
	ev.alarm_name = "berth-test-notification";
	ev.alarm_arn = alarm_arn;
	ev.old_state = "OK";
	ev.new_state = "ALARM";
	ev.reason = "Test notification sent through the webhook's test call.";
	ev.timestamp = time_now();
	ev.alarm = alarm;
	n = actions_dispatch(a, &ev, arns, 1);
	json_decref(alarm);
	if (n != 1)
		return berr_set(e, 500, "ServerException",
				"The test notification could not be written to the outbox.");
	*out = json_pack("{s:s, s:s}", "name", name, "webhookId", a->last_webhook_id);
	return 0;
}
