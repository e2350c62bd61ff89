/* SPDX-License-Identifier: MIT */
/* webhooks_api.c: /v1/webhooks and /v1/scaling: webhook endpoints and scaling policies. */
#include "web/app.h"

bool webhooks_api_handle(struct app *a, struct web_request *rq, struct web_response *rs)
{
	(void)a;
	(void)rq;
	(void)rs;
	return false;
}
