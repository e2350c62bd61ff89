/* SPDX-License-Identifier: MIT */
/* server.h: the HTTP server (libmicrohttpd driven from berthd's epoll loop) with its limits. */
#ifndef BERTH_WEB_SERVER_H
#define BERTH_WEB_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/loop.h"
#include "web/http.h"

struct MHD_Daemon;

struct web_limits {
	unsigned max_connections;
	unsigned max_connections_per_ip;
	unsigned idle_timeout;          /* seconds */
	uint64_t max_body_bytes;
	uint64_t max_upload_bytes;      /* streamed uploads (image import) */
	const char *upload_dir;         /* where streamed uploads are spooled */
};

/* Called on the loop for each complete request; fills rs. */
typedef void (*web_handler)(void *app, struct web_request *rq, struct web_response *rs);
/* Says whether a request's body is streamed to a file instead of kept in memory. */
typedef bool (*web_is_upload)(void *app, const char *method, const char *path);

struct web_server {
	struct MHD_Daemon *mhd;
	struct loop_io io;
	struct loop_timer timer;
	struct web_limits limits;
	web_handler handler;
	web_is_upload is_upload;
	void *app;
	unsigned streams;               /* open streamed responses: poll them */
	struct loop_io wake;            /* eventfd: a stream's data is ready (web_server_wake) */
	uint16_t port;                  /* the bound port (useful with port 0) */
};

/* Listens on "ADDR:PORT" and registers with the loop. Returns 0 or -errno (logged). */
int web_server_start(struct web_server *s, struct loop *l, const char *listen,
		     const struct web_limits *lim, web_handler h, web_is_upload up, void *app);
/* Stops listening and closes every connection; idempotent. */
void web_server_stop(struct web_server *s);
/* Says that a streamed response has data now, so it is sent at once rather than at the next
 * 100 ms poll. Safe from any thread while the server runs. */
void web_server_wake(struct web_server *s);

#endif
