/* SPDX-License-Identifier: MIT */
/* billing_api.c: /v1/billing: usage reports. */
#include "web/app.h"

bool billing_api_handle(struct app *a, struct web_request *rq, struct web_response *rs)
{
	(void)a;
	(void)rq;
	(void)rs;
	return false;
}
