/* SPDX-License-Identifier: MIT */
/* app.h: berthd's HTTP application - authentication, routing, ECS API, REST, health. */
#ifndef BERTH_WEB_APP_H
#define BERTH_WEB_APP_H

#include <jansson.h>
#include <stdbool.h>

#include "common/config.h"
#include "common/util.h"
#include "runtime/runtime.h"
#include "common/json.h"
#include "web/http.h"
#include "web/server.h"

struct collector;
struct alarms;
struct alarm_actions;
struct ledger;
struct auth;

struct app {
	const struct config *cfg;
	struct runtime *rt;
	struct collector *collector;  /* NULL: no metrics (set before app_start) */
	struct alarms *alarms;        /* NULL: no alarms (set before app_start) */
	struct alarm_actions *actions;/* NULL: no webhooks or scaling policies */
	struct ledger *ledger;        /* NULL: no billing */
	struct loop *loop;
	struct web_server server;
	char access_key_id[32];
	char secret_key[64];
	char credentials_path[600];
	double started_at;
	bool bpf_available;
	char bpf_reason[160];         /* what the probe found */
	struct auth *auth;            /* dashboard tokens and sessions; NULL: store unreadable */
	char auth_error[400];         /* why auth is NULL */
	char web_root[CONFIG_STR_MAX];/* the dashboard's assets, resolved at start */
	/* The service list's sparklines ("cluster/service/metric" -> [[t, v], ...]) as of the
	 * collector's cycle spark_cycle: a sparkline may read RRD files, and nothing in it
	 * changes until the next cycle. */
	json_t *spark_cache;
	uint64_t spark_cycle;
};

/* Loads DATA_DIR/state/credentials, generating it (0600) on first start. 0 or -errno. */
int app_credentials_init(struct app *a);
/* Starts listening. 0 or -errno (logged). */
int app_start(struct app *a, const struct config *cfg, struct runtime *rt, struct loop *loop);
void app_stop(struct app *a);

/* The request handler given to the server. */
void app_handle(void *app, struct web_request *rq, struct web_response *rs);
bool app_is_upload(void *app, const char *method, const char *path);

/* Checks the request's SigV4 signature; 0 or -EACCES with e set. */
int app_authenticate(struct app *a, const struct web_request *rq, struct berr *e);

/* ECS JSON 1.1 API (web/ecs.c): dispatches on X-Amz-Target. */
void ecs_handle(struct app *a, struct web_request *rq, struct web_response *rs);
/* REST /v1 (web/rest.c). */
void rest_handle(struct app *a, struct web_request *rq, struct web_response *rs);
/* Metrics (web/metrics.c): GET /metrics; and the authenticated /v1/metrics/... and
 * /v1/graphs/... routes, returning true when the path was one of theirs. */
void metrics_prometheus(struct app *a, struct web_request *rq, struct web_response *rs);
/* Collector observer: gives back the buffer of the last plain /metrics text once no plain
 * scrape came for a minute. */
void metrics_on_cycle(void *ctx, struct collector *c, double now);
bool metrics_handle(struct app *a, struct web_request *rq, struct web_response *rs);
/* The authenticated /v1 routes of each area; each returns true when the path was one of its
 * own (and answered it). Alarms (web/alarms_api.c): /v1/alarms...; webhook endpoints and
 * scaling policies (web/webhooks_api.c): /v1/webhooks..., /v1/scaling...; billing
 * (web/billing_api.c): /v1/billing/... */
bool alarms_api_handle(struct app *a, struct web_request *rq, struct web_response *rs);
bool webhooks_api_handle(struct app *a, struct web_request *rq, struct web_response *rs);
bool billing_api_handle(struct app *a, struct web_request *rq, struct web_response *rs);
/* Application Auto Scaling's JSON 1.1 API (web/webhooks_api.c): POST / with X-Amz-Target
 * AnyScaleFrontendService.<Operation>, already authenticated; ecs_handle hands it over. */
#define SCALING_TARGET_PREFIX "AnyScaleFrontendService."
void scaling_json_handle(struct app *a, struct web_request *rq, struct web_response *rs,
			 const char *operation);
/* The eBPF probes (web/metrics_bpf.c): their /metrics families as text (malloc'd, *len bytes;
 * NULL when memory runs out), and each probe's {up, reason} for /healthz (new reference). */
char *metrics_bpf_text(struct app *a, size_t *len);
json_t *metrics_bpf_health(struct app *a);
/* The dashboard (web/dashboard.c): the token store and sessions, the assets' directory.
 * 0 or -errno; a token store that cannot be read leaves a->auth NULL (logged), not an error. */
int dashboard_init(struct app *a);
void dashboard_close(struct app *a);
/* Pages, assets and /v1/session (sign-in, sign-out); true when the path was one of them. */
bool dashboard_handle(struct app *a, struct web_request *rq, struct web_response *rs);
/* A request carrying a dashboard session cookie (and no SigV4): 0 when the session allows it
 * (CSRF header on changes, role), -EACCES with e set when not; 1 when the request has no
 * session cookie and SigV4 applies. */
int dashboard_authenticate(struct app *a, const struct web_request *rq, struct berr *e);
/* The dashboard's read endpoints /v1/dashboard/... and token management /v1/tokens
 * (web/dashboard_api.c); true when the path was one of them. */
bool dashboard_api_handle(struct app *a, struct web_request *rq, struct web_response *rs);

#endif
