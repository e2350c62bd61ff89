/* SPDX-License-Identifier: MIT */
/* berthctl_billing.c: berthctl verbs for billing reports. */
#include "cmd/berthctl.h"

const struct rest_verb ctl_billing_verbs[] = {
	{ NULL },
};
const size_t ctl_n_billing_verbs = 0;
