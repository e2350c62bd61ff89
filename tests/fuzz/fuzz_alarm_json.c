/* SPDX-License-Identifier: MIT */
/* fuzz_alarm_json.c: bytes -> JSON -> PutMetricAlarm / PutCompositeAlarm validation -> describe
 * -> validation again of what describe shows (it must still be a valid request). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/alarms_internal.h"
#include "common/json.h"

#define MAX_DEPTH 64

static void reparse(const struct alarm *al)
{
	json_t *d = alarm_model_describe(al);
	struct alarm again;
	struct berr e;
	int ret;
	static const char *const added[] = { "AlarmArn", "AlarmConfigurationUpdatedTimestamp",
					     "StateValue", "StateReason", "StateReasonData",
					     "StateUpdatedTimestamp", "StateTransitionedTimestamp" };

	if (!d)
		return;
	for (size_t i = 0; i < sizeof(added) / sizeof(added[0]); i++)
		json_object_del(d, added[i]);
	ret = al->composite ? alarm_model_composite(NULL, d, &again, false, &e)
			    : alarm_model_metric(NULL, d, &again, false, &e);
	if (ret != 0)
		abort();   /* what was accepted must be accepted again when reloaded */
	alarm_model_clear(&again);
	json_decref(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berr e;
	struct alarm al;
	json_t *req = NULL;

	if (json_decode_request((const char *)data, size, MAX_DEPTH, &req, &e) < 0)
		return 0;
	if ((json_object_get(req, "AlarmRule") ? alarm_model_composite(NULL, req, &al, true, &e)
					       : alarm_model_metric(NULL, req, &al, true, &e)) == 0) {
		al.reason = strdup("fuzz");
		reparse(&al);
		alarm_model_clear(&al);
	}
	json_decref(req);
	return 0;
}
