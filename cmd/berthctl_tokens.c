/* SPDX-License-Identifier: MIT */
/* berthctl_tokens.c: berthctl verbs for dashboard access tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cmd/berthctl.h"

static const struct awsclient_member token_create_members[] = {
	{ "name", AWSCLIENT_STRING, 0, NULL, NULL },
	{ "readOnly", AWSCLIENT_BOOLEAN, 0, NULL, NULL },
	{ NULL },
};
static const struct awsclient_member token_list_members[] = { { NULL } };
static const struct awsclient_member token_revoke_members[] = {
	{ "id", AWSCLIENT_STRING, 1, NULL, NULL },
	{ NULL },
};

/* Prints the token alone on stdout (what a script captures) and what it is on stderr;
 * `token list` shows the rest. */
static int cmd_token_create(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	struct sink out = { 0 };
	struct awsclient_body body = { .fd = -1 };
	json_t *rq, *answer, *t;
	char *text;
	int ret;

	rq = json_pack("{s:s}", "role",
		       json_is_true(json_object_get(req, "readOnly")) ? "read-only" : "operator");
	if (req_str(req, "name"))
		json_object_set_new(rq, "name", json_string(req_str(req, "name")));
	text = json_dumps(rq, JSON_COMPACT);
	json_decref(rq);
	if (!text)
		return EXIT_GENERAL;
	body.data = text;
	body.len = strlen(text);
	ret = rest_call(cli, v->op.name, "POST", "/v1/tokens", "application/json", &body,
			sink_write, &out, 0);
	free(text);
	if (ret != 0) {
		free(out.buf);
		return ret;
	}
	answer = json_loadb(out.buf ? out.buf : "", out.len, 0, NULL);
	free(out.buf);
	t = json_object_get(answer, "token");
	if (!json_string_value(json_object_get(t, "token"))) {
		fprintf(stderr, "berthctl: error: the answer has no token\n");
		json_decref(answer);
		return EXIT_GENERAL;
	}
	printf("%s\n", json_string_value(json_object_get(t, "token")));
	fprintf(stderr,
		"berthctl: created %s token %s%s%s; it is shown only this once (berthd keeps a "
		"hash). Sign in to the dashboard at %s/ with it.\n",
		json_string_value(json_object_get(t, "role")),
		json_string_value(json_object_get(t, "id")),
		json_string_length(json_object_get(t, "name")) ? " named " : "",
		json_string_value(json_object_get(t, "name")),
		cli->g.endpoint ? cli->g.endpoint : DEFAULT_ENDPOINT);
	json_decref(answer);
	return 0;
}

static int cmd_token_list(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	(void)req;
	return rest_json(cli, v->op.name, "GET", "/v1/tokens", NULL, NULL, 0);
}

static int cmd_token_revoke(const struct cli *cli, const struct rest_verb *v, const json_t *req)
{
	char pq[256];
	char *esc = curl_easy_escape(NULL, req_str(req, "id"), 0);

	if (!esc)
		return EXIT_GENERAL;
	snprintf(pq, sizeof(pq), "/v1/tokens/%s", esc);
	curl_free(esc);
	return rest_json(cli, v->op.name, "DELETE", pq, NULL, NULL, 0);
}

const struct rest_verb ctl_token_verbs[] = {
	{ "token create", "", { NULL },
	  { "CreateAccessToken", token_create_members, NULL,
	    "Creates a dashboard access token and prints it (only this once); --read-only for a "
	    "token that can look but not act, --name to tell tokens apart." }, cmd_token_create },
	{ "token list", "", { NULL },
	  { "ListAccessTokens", token_list_members, NULL,
	    "Lists the dashboard access tokens (ids, names, roles; never the tokens)." },
	  cmd_token_list },
	{ "token revoke", "ID", { "--id" },
	  { "RevokeAccessToken", token_revoke_members, NULL,
	    "Revokes a dashboard access token and ends its sessions." }, cmd_token_revoke },
};
const size_t ctl_n_token_verbs = sizeof(ctl_token_verbs) / sizeof(ctl_token_verbs[0]);
