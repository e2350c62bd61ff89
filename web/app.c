/* SPDX-License-Identifier: MIT */
/* app.c: credentials, request authentication and top-level routing of berthd's HTTP API. */
#include "web/app.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "collector/collector.h"
#include "common/credentials.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/sigv4.h"
#include "bpf/probe.h"

#include "common/version.h"

static void random_key(char *out, size_t len, const char *alphabet)
{
	char hex[129];
	size_t n = strlen(alphabet);

	id_random_hex(hex, 2 * (len - 1) < 128 ? 2 * (len - 1) : 128);
	for (size_t i = 0; i + 1 < len; i++) {
		unsigned v = (unsigned)strtoul((char[]){ hex[2 * i], hex[2 * i + 1], 0 }, NULL, 16);
		out[i] = alphabet[v % n];
	}
	out[len - 1] = '\0';
}

int app_credentials_init(struct app *a)
{
	struct credentials cr = { 0 };
	char err[256], body[256];
	int ret;

	snprintf(a->credentials_path, sizeof(a->credentials_path), "%s/state/credentials",
		 a->cfg->data_dir);
	ret = credentials_load_file(a->credentials_path, "default", &cr, err, sizeof(err));
	if (ret == 0 && cr.access_key_id && cr.secret_access_key) {
		snprintf(a->access_key_id, sizeof(a->access_key_id), "%s", cr.access_key_id);
		snprintf(a->secret_key, sizeof(a->secret_key), "%s", cr.secret_access_key);
		credentials_clear(&cr);
		return 0;
	}
	credentials_clear(&cr);
	/* Only a missing file is generated: a file without [default] is the operator's. */
	if (ret != -ENOENT || access(a->credentials_path, F_OK) == 0) {
		log_error("web: failed to read credentials %s: %s", a->credentials_path, err);
		return ret < 0 ? ret : -EINVAL;
	}
	memcpy(a->access_key_id, "AKIA", 4);
	random_key(a->access_key_id + 4, 17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
	random_key(a->secret_key, 41,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
	snprintf(body, sizeof(body),
		 "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
		 a->access_key_id, a->secret_key);
	ret = file_write_durable(a->credentials_path, body, strlen(body), 0600);
	if (ret < 0) {
		log_error("web: failed to write credentials %s: %s", a->credentials_path,
			  strerror(-ret));
		return ret;
	}
	log_info("web: generated credentials in %s", a->credentials_path);
	return 0;
}

int app_authenticate(struct app *a, const struct web_request *rq, struct berr *e)
{
	static const char *const required[] = { "X-Amz-Target", NULL };
	struct sigv4_key key = { a->access_key_id, a->secret_key, NULL };
	struct sigv4_header hdrs[WEB_MAX_HEADERS];
	const char *target = web_header(rq, "X-Amz-Target");
	struct sigv4_verifier v = {
		/* Application Auto Scaling's clients sign for their own service name. */
		.region = a->cfg->region,
		.service = target && strncmp(target, SCALING_TARGET_PREFIX,
					     strlen(SCALING_TARGET_PREFIX)) == 0
				   ? "application-autoscaling" : "ecs",
		.keys = &key, .n_keys = 1,
		.max_skew = (long)a->cfg->signature_max_skew,
		.required_signed = web_header(rq, "X-Amz-Target") ? required : NULL,
	};
	struct sigv4_request req = {
		.method = rq->method, .path = rq->path, .query = rq->query, .headers = hdrs,
		.n_headers = rq->n_headers, .body = rq->body, .body_len = rq->body_len,
	};
	void *map = NULL;
	int ret;

	ret = dashboard_authenticate(a, rq, e);
	if (ret <= 0)
		return ret;
	for (size_t i = 0; i < rq->n_headers; i++) {
		hdrs[i].name = rq->headers[i].name;
		hdrs[i].value = rq->headers[i].value;
	}
	if (rq->upload_path && rq->upload_len) {
		/* A streamed upload is signed over its bytes like any body: map the spool file. */
		int fd = open(rq->upload_path, O_RDONLY | O_CLOEXEC);
		map = fd >= 0 ? mmap(NULL, rq->upload_len, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
		if (fd >= 0)
			close(fd);
		if (map == MAP_FAILED) {
			berr_set(e, 500, "ServerException", "Cannot read the uploaded body.");
			return -EIO;
		}
		req.body = map;
		req.body_len = rq->upload_len;
	}
	ret = sigv4_verify(&req, &v, time(NULL), e, NULL);
	if (map)
		munmap(map, rq->upload_len);
	if (ret == 0)
		return 0;
	log_debug("web: refused %s %s from %s: %s", rq->method, rq->path, rq->remote,
		  e->message);
	return -EACCES;
}

static void health(struct app *a, struct web_response *rs)
{
	json_t *o = json_pack("{s:s, s:s, s:{s:s, s:s, s:b}, s:{s:b, s:s}, s:f, s:I, s:s}",
			      "status", "ok", "version", BERTH_VERSION, "cgroup", "mode",
			      cgroup_mode_name(a->rt->cg.mode), "parent", a->cfg->cgroup_parent,
			      "favorDynmods", a->rt->cg.favor_dynmods,
			      "bpf", "available", a->bpf_available, "reason", a->bpf_reason,
			      "uptimeSeconds", time_now() - a->started_at, "tasks",
			      (json_int_t)a->rt->n_tasks, "region", a->cfg->region);
	char *s;

	json_object_set_new(json_object_get(o, "bpf"), "probes", metrics_bpf_health(a));
	s = json_steal_dumps_pretty(o);
	web_respond(rs, 200, "application/json", s, s ? strlen(s) : 0);
}

void app_handle(void *app, struct web_request *rq, struct web_response *rs)
{
	struct app *a = app;

	web_add_header(rs, "Server", "berth/" BERTH_VERSION);
	if (strcmp(rq->path, "/healthz") == 0 && strcmp(rq->method, "GET") == 0) {
		health(a, rs);
		return;
	}
	if (strcmp(rq->path, "/metrics") == 0 && strcmp(rq->method, "GET") == 0) {
		metrics_prometheus(a, rq, rs);
		return;
	}
	if (dashboard_handle(a, rq, rs))
		return;
	if (strcmp(rq->path, "/") == 0 && strcmp(rq->method, "POST") == 0) {
		ecs_handle(a, rq, rs);
		return;
	}
	if (strncmp(rq->path, "/v1/", 4) == 0) {
		rest_handle(a, rq, rs);
		return;
	}
	web_respond_aws_error(rs, 404, "UnknownOperationException", "No route for %s %s.",
			      rq->method, rq->path);
}

bool app_is_upload(void *app, const char *method, const char *path)
{
	(void)app;
	return strcmp(method, "POST") == 0 && strcmp(path, "/v1/images") == 0;
}

int app_start(struct app *a, const struct config *cfg, struct runtime *rt, struct loop *loop)
{
	struct web_limits lim = {
		.max_connections = (unsigned)cfg->max_connections,
		.max_connections_per_ip = (unsigned)cfg->max_connections_per_ip,
		.idle_timeout = (unsigned)cfg->idle_timeout,
		.max_body_bytes = (uint64_t)cfg->max_body_bytes,
		.max_upload_bytes = (uint64_t)cfg->image_max_bytes,
		.upload_dir = rt->images_dir,
	};
	char tmp[600];
	int ret;

	a->cfg = cfg;
	a->rt = rt;
	a->loop = loop;
	a->started_at = time_now();
	a->bpf_available = bpf_probe_available(a->bpf_reason, sizeof(a->bpf_reason));
	if (!a->bpf_available)
		log_warn("web: eBPF is not available (%s): network, scheduling and OOM probes are off",
			 a->bpf_reason);
	snprintf(tmp, sizeof(tmp), "%s/tmp", rt->images_dir);
	lim.upload_dir = strdup(tmp);
	if (!lim.upload_dir)
		return -ENOMEM;
	if (a->collector && (ret = collector_on_cycle(a->collector, metrics_on_cycle, a)) < 0) {
		free((char *)lim.upload_dir);
		return ret;
	}
	if (dashboard_init(a) < 0) {
		free((char *)lim.upload_dir);
		return -ENOMEM;
	}
	ret = web_server_start(&a->server, loop, cfg->listen, &lim, app_handle, app_is_upload, a);
	if (ret < 0)
		dashboard_close(a);
	return ret;
}

void app_stop(struct app *a)
{
	free((char *)a->server.limits.upload_dir);
	web_server_stop(&a->server);
	dashboard_close(a);
	json_decref(a->spark_cache);
	a->spark_cache = NULL;
}
