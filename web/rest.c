/* SPDX-License-Identifier: MIT */
/* rest.c: the REST /v1 API - image import/list/remove and task logs (plain and followed). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "runtime/service.h"
#include "web/app.h"

static void respond_json(struct web_response *rs, int status, json_t *o)
{
	char *s = json_steal_dumps_pretty(o);

	web_respond(rs, status, "application/json", s, s ? strlen(s) : 0);
}

static json_t *image_json(const struct image_info *im)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:f}", "name", im->name, "tag", im->tag, "digest",
			 im->digest, "size", (json_int_t)im->size, "created", im->created);
}

static void images_import(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct image_info im;
	char name[512], err[512];
	int ret;

	if (web_query(rq, "name", name, sizeof(name)) < 0 || !name[0]) {
		web_respond_aws_error(rs, 400, "InvalidParameterException",
				      "The image name is missing: POST /v1/images?name=NAME:TAG.");
		return;
	}
	if (!rq->upload_path || rq->upload_len == 0) {
		web_respond_aws_error(rs, 400, "InvalidParameterException",
				      "The request body must be a .tar or .tar.gz of a root file system.");
		return;
	}
	ret = image_import_file(&a->rt->images, name, rq->upload_path, &im, err, sizeof(err));
	if (ret < 0) {
		web_respond_aws_error(rs, ret == -EFBIG ? 413 : 400,
				      ret == -EFBIG ? "RequestEntityTooLargeException"
						    : "InvalidParameterException",
				      "Cannot import image %s: %s", name, err);
		return;
	}
	log_info("web: imported image %s as %s", name, im.digest);
	respond_json(rs, 200, json_pack("{s:o}", "image", image_json(&im)));
}

static void images_list(struct app *a, struct web_response *rs)
{
	struct image_info *list = NULL;
	size_t n = 0;
	json_t *arr;

	if (image_list(&a->rt->images, &list, &n) < 0) {
		web_respond_aws_error(rs, 500, "ServerException", "Cannot list images.");
		return;
	}
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, image_json(&list[i]));
	free(list);
	respond_json(rs, 200, json_pack("{s:o}", "images", arr));
}

static void images_remove(struct app *a, struct web_request *rq, struct web_response *rs)
{
	char ref[512];
	int ret;

	if (web_query(rq, "ref", ref, sizeof(ref)) < 0 || !ref[0]) {
		web_respond_aws_error(rs, 400, "InvalidParameterException",
				      "The image reference is missing: DELETE /v1/images?ref=NAME:TAG.");
		return;
	}
	ret = image_remove(&a->rt->images, ref);
	if (ret == -ENOENT) {
		web_respond_aws_error(rs, 404, "ImageNotFoundException", "Image %s not found.", ref);
		return;
	}
	if (ret < 0) {
		web_respond_aws_error(rs, 400, "InvalidParameterException", "Cannot remove %s: %s",
				      ref, strerror(-ret));
		return;
	}
	respond_json(rs, 200, json_pack("{s:s}", "removed", ref));
}

/* A followed log: reads what the file has, says "nothing yet" while the task runs. */
struct log_stream {
	struct app *app;
	char task_id[40];
	char path[1024];
	int fd;
	bool follow;
};

static void log_stream_free(void *p)
{
	struct log_stream *ls = p;

	if (ls->fd >= 0)
		close(ls->fd);
	free(ls);
}

static ssize_t log_stream_read(void *p, uint64_t pos, char *buf, size_t max)
{
	struct log_stream *ls = p;
	struct rt_task *t;
	ssize_t n;

	(void)pos;
	n = read(ls->fd, buf, max);
	if (n > 0)
		return n;
	if (n < 0)
		return -2;
	if (!ls->follow)
		return -1;
	t = rt_task_find(ls->app->rt, NULL, ls->task_id);
	if (!t || strcmp(t->last_status, "STOPPED") == 0) {
		/* One last read: the tail written just before the stop. */
		n = read(ls->fd, buf, max);
		return n > 0 ? n : -1;
	}
	return 0;
}

/* Positions fd at the start of the last `tail` lines. */
static void seek_tail(int fd, long tail)
{
	char buf[4096];
	off_t end = lseek(fd, 0, SEEK_END), pos = end;
	long lines = 0;

	while (pos > 0) {
		size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		pos -= (off_t)chunk;
		if (pread(fd, buf, chunk, pos) != (ssize_t)chunk)
			break;
		for (size_t i = chunk; i > 0; i--) {
			if (buf[i - 1] == '\n' && (off_t)(pos + (off_t)i) != end && ++lines >= tail) {
				lseek(fd, pos + (off_t)i, SEEK_SET);
				return;
			}
		}
	}
	lseek(fd, 0, SEEK_SET);
}

static void task_logs(struct app *a, struct web_request *rq, struct web_response *rs,
		      const char *id)
{
	char cluster[300] = "", container[300] = "", follow[16] = "", tail[32] = "";
	struct rt_cluster *c = NULL;
	struct log_stream *ls;
	struct rt_task *t;

	web_query(rq, "cluster", cluster, sizeof(cluster));
	web_query(rq, "container", container, sizeof(container));
	web_query(rq, "follow", follow, sizeof(follow));
	web_query(rq, "tail", tail, sizeof(tail));
	if (cluster[0] && !(c = rt_cluster_find(a->rt, cluster))) {
		web_respond_aws_error(rs, 404, "ClusterNotFoundException", "Cluster not found.");
		return;
	}
	t = rt_task_find(a->rt, c, id);
	if (!t) {
		web_respond_aws_error(rs, 404, "InvalidParameterException",
				      "The referenced task was not found.");
		return;
	}
	ls = calloc(1, sizeof(*ls));
	if (!ls)
		return;
	ls->app = a;
	snprintf(ls->task_id, sizeof(ls->task_id), "%s", t->id);
	ls->follow = follow[0] && strcmp(follow, "0") && strcmp(follow, "false");
	if (rt_task_log_path(a->rt, t, container[0] ? container : NULL, ls->path,
			     sizeof(ls->path)) < 0) {
		free(ls);
		web_respond_aws_error(rs, 404, "InvalidParameterException",
				      "The task has no container named %s.", container);
		return;
	}
	ls->fd = open(ls->path, O_RDONLY | O_CLOEXEC);
	if (ls->fd < 0)
		ls->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (tail[0] && atol(tail) > 0)
		seek_tail(ls->fd, atol(tail));
	rs->status = 200;
	rs->content_type = "text/plain; charset=utf-8";
	rs->stream = log_stream_read;
	rs->stream_ctx = ls;
	rs->stream_free = log_stream_free;
}

/* POST /v1/tasks/ID/replace?cluster=C&reason=R: the replacement call alarms use. */
static void task_replace(struct app *a, struct web_request *rq, struct web_response *rs,
			 const char *id)
{
	char cluster[300] = "", reason[300] = "";
	struct rt_cluster *c = NULL;
	struct rt_task *t, *repl = NULL;
	json_t *o;

	web_query(rq, "cluster", cluster, sizeof(cluster));
	web_query(rq, "reason", reason, sizeof(reason));
	if (cluster[0] && !(c = rt_cluster_find(a->rt, cluster))) {
		web_respond_aws_error(rs, 404, "ClusterNotFoundException", "Cluster not found.");
		return;
	}
	t = rt_task_find(a->rt, c, id);
	if (!t || !a->rt->services) {
		web_respond_aws_error(rs, 404, "InvalidParameterException",
				      "The referenced task was not found.");
		return;
	}
	if (svc_replace_task(a->rt->services, t, reason[0] ? reason : "Replaced by request",
			     &repl) < 0) {
		web_respond_aws_error(rs, 409, "InvalidParameterException",
				      "The task is already stopped.");
		return;
	}
	o = json_pack("{s:o}", "task", rt_task_json(a->rt, t, true));
	if (repl)
		json_object_set_new(o, "replacement", rt_task_json(a->rt, repl, true));
	respond_json(rs, 200, o);
}

static void tasks_list(struct app *a, struct web_response *rs)
{
	json_t *arr = json_array();

	for (struct rt_task *t = a->rt->tasks; t; t = t->next)
		json_array_append_new(arr, rt_task_json(a->rt, t, true));
	respond_json(rs, 200, json_pack("{s:o}", "tasks", arr));
}

void rest_handle(struct app *a, struct web_request *rq, struct web_response *rs)
{
	struct berr e = { { 0 }, { 0 }, 400 };
	const char *p = rq->path;

	if (app_authenticate(a, rq, &e) < 0) {
		web_respond_aws_error(rs, e.http_status ? e.http_status : 403, e.type, "%s",
				      e.message);
		return;
	}
	if (metrics_handle(a, rq, rs) || alarms_api_handle(a, rq, rs) ||
	    webhooks_api_handle(a, rq, rs) || billing_api_handle(a, rq, rs) ||
	    dashboard_api_handle(a, rq, rs))
		return;
	if (strcmp(p, "/v1/images") == 0) {
		if (strcmp(rq->method, "POST") == 0)
			images_import(a, rq, rs);
		else if (strcmp(rq->method, "GET") == 0)
			images_list(a, rs);
		else if (strcmp(rq->method, "DELETE") == 0)
			images_remove(a, rq, rs);
		else
			web_respond_aws_error(rs, 405, "MethodNotAllowedException",
					      "%s is not allowed on /v1/images.", rq->method);
		return;
	}
	if (strcmp(p, "/v1/tasks") == 0 && strcmp(rq->method, "GET") == 0) {
		tasks_list(a, rs);
		return;
	}
	if (strncmp(p, "/v1/tasks/", 10) == 0 && strcmp(rq->method, "GET") == 0) {
		const char *id = p + 10, *slash = strchr(id, '/');
		char tid[64];
		if (slash && strcmp(slash, "/logs") == 0 && (size_t)(slash - id) < sizeof(tid)) {
			snprintf(tid, sizeof(tid), "%.*s", (int)(slash - id), id);
			task_logs(a, rq, rs, tid);
			return;
		}
	}
	if (strncmp(p, "/v1/tasks/", 10) == 0 && strcmp(rq->method, "POST") == 0) {
		const char *id = p + 10, *slash = strchr(id, '/');
		char tid[64];
		if (slash && strcmp(slash, "/replace") == 0 && (size_t)(slash - id) < sizeof(tid)) {
			snprintf(tid, sizeof(tid), "%.*s", (int)(slash - id), id);
			task_replace(a, rq, rs, tid);
			return;
		}
	}
	web_respond_aws_error(rs, 404, "UnknownOperationException", "No route for %s %s.",
			      rq->method, rq->path);
}
