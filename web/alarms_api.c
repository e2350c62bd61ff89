/* SPDX-License-Identifier: MIT */
/* alarms_api.c: /v1/alarms: PutMetricAlarm-shaped alarm operations. */
#include "web/app.h"

bool alarms_api_handle(struct app *a, struct web_request *rq, struct web_response *rs)
{
	(void)a;
	(void)rq;
	(void)rs;
	return false;
}
