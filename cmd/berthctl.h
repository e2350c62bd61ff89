/* SPDX-License-Identifier: MIT */
/* berthctl.h: what berthctl's verb files share - global options, berth's own (REST /v1) verbs
 * described as operations so parsing and help are shared, and the REST call helpers.
 * berthctl.c has the ECS verbs, images and logs; each area has its own berthctl_<area>.c with
 * one table of verbs. */
#ifndef BERTH_CMD_BERTHCTL_H
#define BERTH_CMD_BERTHCTL_H

#include <stddef.h>

#include <jansson.h>

#include "common/awsclient.h"

/* Exit codes of the aws CLI. */
enum {
	EXIT_USAGE = 252,
	EXIT_CONFIG = 253,
	EXIT_SERVICE = 254,
	EXIT_GENERAL = 255,
};

#define DEFAULT_ENDPOINT "http://127.0.0.1:8080"
#define DEFAULT_REGION "us-east-1"

/* Options that apply to every command, wherever they stand. */
struct globals {
	const char *endpoint;
	const char *region;
	const char *profile;
	const char *output;
	const char *ca_bundle;
	long connect_timeout_ms;   /* -1: the default */
	long read_timeout_ms;      /* -1: the default (or none for streams) */
	int no_paginate;
	int debug;
	int no_verify_ssl;
	int no_sign_request;
};

/* What a command needs: the options and the words after them. */
struct cli {
	struct globals g;
	int argc;
	char **argv;
};

struct rest_verb;
typedef int (*rest_fn)(const struct cli *cli, const struct rest_verb *v, const json_t *req);

/* A verb outside the ECS API: its words, its positional arguments (given to the members named
 * in `positional`, in order) and flags described as an operation so parsing and help are shared. */
struct rest_verb {
	const char *words;               /* "image import" */
	const char *args;                /* usage of the positional words */
	const char *const positional[3];
	struct awsclient_op op;
	rest_fn run;
};

/* A collected answer. */
struct sink {
	char *buf;
	size_t len;
};

/* Prints the usage hint and "berthctl: error: ..." to stderr; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* awsclient_write_fn sinks: into a struct sink (NUL-terminated), or to stdout. */
int sink_write(void *arg, const char *data, size_t len);
int stdout_write(void *arg, const char *data, size_t len);
/* Appends "<sep>key=<escaped value>" to the path in buf; 0 or -ENAMETOOLONG. */
int add_query(char *buf, size_t len, const char *key, const char *value);
/* Opens a signed client for the global options; 0 or an exit code (reported). */
int client_open(const struct globals *g, struct awsclient *c, int stream);
/* Reports a failed call the way the aws CLI does; returns the exit code. */
int report_failure(const struct awsclient *c, int ret, const char *op,
		   const struct awsclient_error *e);
/* Sends one REST request; a 2xx answer goes to write, any other is reported. Returns 0 or an
 * exit code. */
int rest_call(const struct cli *cli, const char *op, const char *method, const char *pq,
	      const char *content_type, const struct awsclient_body *body,
	      awsclient_write_fn write, void *arg, int stream);
/* A REST call whose JSON answer is printed in the chosen output format (--output). */
int rest_json(const struct cli *cli, const char *op, const char *method, const char *pq,
	      const char *content_type, const struct awsclient_body *body, int stream);
/* A string member of a parsed request, or NULL. */
const char *req_str(const json_t *req, const char *key);

/* The verb tables of the areas (berthctl_<area>.c). */
extern const struct rest_verb ctl_alarm_verbs[];
extern const size_t ctl_n_alarm_verbs;
extern const struct rest_verb ctl_webhook_verbs[];
extern const size_t ctl_n_webhook_verbs;
extern const struct rest_verb ctl_billing_verbs[];
extern const size_t ctl_n_billing_verbs;
extern const struct rest_verb ctl_token_verbs[];
extern const size_t ctl_n_token_verbs;

#endif
