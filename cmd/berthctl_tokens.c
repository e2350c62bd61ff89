/* SPDX-License-Identifier: MIT */
/* berthctl_tokens.c: berthctl verbs for dashboard access tokens. */
#include "cmd/berthctl.h"

const struct rest_verb ctl_token_verbs[] = {
	{ NULL },
};
const size_t ctl_n_token_verbs = 0;
