/* SPDX-License-Identifier: MIT */
/* berthctl_alarms.c: berthctl verbs for alarms: put-metric-alarm, describe-alarms, .... */
#include "cmd/berthctl.h"

const struct rest_verb ctl_alarm_verbs[] = {
	{ NULL },
};
const size_t ctl_n_alarm_verbs = 0;
