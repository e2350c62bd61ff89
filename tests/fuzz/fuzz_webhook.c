/* SPDX-License-Identifier: MIT */
/* fuzz_webhook.c: hostile webhook endpoints, outbox files, scaling policies and header values. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/actions_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), why[256];
	unsigned char key[WH_SECRET_MAX];
	size_t klen = sizeof(key);
	struct wh_endpoint ep;
	struct sc_policy p;
	struct wh_item *it;
	struct berr e;
	json_t *o;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* An outbox file: parsed or refused, never half-made. */
	it = wh_item_parse(text, size, why, sizeof(why));
	if (it) {
		if (!it->body || strlen(it->body) != it->body_len || !it->id[0])
			abort();
		free(it->body);
		free(it);
	} else if (!why[0]) {
		abort();
	}
	wh_retry_after(text, 1e9);
	wh_secret_decode(text, key, &klen);
	wh_url_check(text, "169.254.10.0/24", &e);
	o = json_loadb(text, size, 0, NULL);
	if (o) {
		memset(&ep, 0, sizeof(ep));
		if (wh_endpoint_from_json(o, &ep, size % 2, &e) == 0)
			json_decref(ep.headers);
		memset(&p, 0, sizeof(p));
		if (sc_step_config_parse(o, &p, &e) == 0) {
			/* Accepted steps are sorted, contiguous and findable. */
			for (int k = 1; k < p.n_steps; k++)
				if (p.steps[k - 1].upper != p.steps[k].lower)
					abort();
			sc_step_find(&p, 1.5, 1.0);
			sc_apply_adjustment(p.adjust, p.steps[0].adjustment, p.min_magnitude, 7, 0,
					    100);
		}
		memset(&p, 0, sizeof(p));
		sc_step_config_parse(json_object_get(o, "StepScalingPolicyConfiguration"), &p, &e);
		json_decref(o);
	}
	free(text);
	return 0;
}
