/* SPDX-License-Identifier: MIT */
/* fuzz_sigv4.c: hostile Authorization values and whole requests through SigV4 verify and sign. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/sigv4.h"

#define MAX_HEADERS 32
#define NOW ((time_t)1440938160) /* 20150830T123600Z */

static const struct sigv4_key fuzz_key = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
					   NULL };

/* Verifies req; every refusal must name an AWS error and say why. */
static int verify(const struct sigv4_request *req)
{
	struct sigv4_verifier v = { .region = "us-east-1", .service = "service", .keys = &fuzz_key,
				    .n_keys = 1 };
	struct berr e = { 0 };
	int r = sigv4_verify(req, &v, NOW, &e, NULL);

	if (r != 0 && (!e.type[0] || !e.message[0] || (e.http_status != 400 && r != -ENOMEM)))
		abort();
	return r;
}

/* Mode 1: the input is the value of the Authorization header of the suite's get-vanilla. */
static void fuzz_authorization(char *text)
{
	struct sigv4_header h[] = { { "Host", "example.amazonaws.com" },
				    { "X-Amz-Date", "20150830T123600Z" }, { "Authorization", text } };
	struct sigv4_request req = { "GET", "/", "", h, 3, "", 0 };

	verify(&req);
}

/* Splits "METHOD target" into method, path and query. */
static void parse_request_line(char *line, struct sigv4_request *req)
{
	char *sp = strchr(line, ' '), *q;

	req->method = line;
	if (!sp)
		return;
	*sp = '\0';
	req->path = sp + 1;
	q = strchr(sp + 1, '?');
	if (q) {
		*q = '\0';
		req->query = q + 1;
	}
}

/* Cuts the next '\n'-terminated line from *p (before end); NULL when there is none left. */
static char *next_line(char **p, char *end)
{
	char *line = *p, *nl;

	if (line >= end)
		return NULL;
	nl = memchr(line, '\n', (size_t)(end - line));
	*p = nl ? nl + 1 : end;
	if (nl)
		*nl = '\0';
	return line;
}

/* "METHOD target\nName: value\n...\n\nbody" into req; returns the header count. */
static size_t parse_request(char *text, size_t len, struct sigv4_header *h,
			    struct sigv4_request *req)
{
	char *p = text, *end = text + len, *line;
	size_t n = 0;

	line = next_line(&p, end);
	if (line)
		parse_request_line(line, req);
	while (n < MAX_HEADERS && (line = next_line(&p, end)) && *line) {
		char *colon = strchr(line, ':');

		if (colon)
			*colon = '\0';
		h[n++] = (struct sigv4_header){ line, colon ? colon + 1 : "" };
	}
	req->body = p < end ? p : "";
	req->body_len = p < end ? (size_t)(end - p) : 0;
	return n;
}

static const struct sigv4_header *header(const struct sigv4_request *req, const char *name)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return &req->headers[i];
	return NULL;
}

/* Mode 2: a whole request. Whatever sigv4_sign accepts must then verify. */
static void fuzz_request(char *text, size_t len)
{
	struct sigv4_header h[MAX_HEADERS + 2];
	struct sigv4_request req = { "GET", "/", "", h, 0, "", 0 };
	struct sigv4_signature s;
	char *creq;

	req.n_headers = parse_request(text, len, h, &req);
	verify(&req);
	creq = sigv4_canonical_request(&req, "host;x-amz-date;X-Amz-Target;;a");
	free(creq);
	if (sigv4_sign(&req, "us-east-1", "service", &fuzz_key, NOW, &s) != 0)
		return;
	h[req.n_headers++] = (struct sigv4_header){ "X-Amz-Date", s.amz_date };
	h[req.n_headers++] = (struct sigv4_header){ "Authorization", s.authorization };
	if (!strstr(req.query ? req.query : "", "X-Amz-Algorithm") &&
	    !header(&req, "X-Amz-Security-Token") && verify(&req) != 0)
		abort();
	sigv4_signature_clear(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size == 0)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] == 'R')
		fuzz_request(text, size - 1);
	else
		fuzz_authorization(text);
	free(text);
	return 0;
}
