/* SPDX-License-Identifier: MIT */
/* berthctl_webhooks.c: berthctl verbs for webhook endpoints and scaling policies. */
#include "cmd/berthctl.h"

const struct rest_verb ctl_webhook_verbs[] = {
	{ NULL },
};
const size_t ctl_n_webhook_verbs = 0;
