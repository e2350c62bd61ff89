/* SPDX-License-Identifier: MIT */
/* capacity.c: Fargate capacity providers (FARGATE, FARGATE_SPOT) - the cluster's associations
 * and default strategy, strategy validation, and which provider the next task goes to. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "runtime/runtime.h"

static const char *const providers[] = { "FARGATE", "FARGATE_SPOT" };

static bool provider_known(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(providers); i++)
		if (!strcmp(name, providers[i]))
			return true;
	return false;
}

static bool associated(const json_t *list, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), name))
			return true;
	return false;
}

static int bad(struct berr *e, const char *msg)
{
	return berr_set(e, 400, "InvalidParameterException", "%s", msg);
}

/* The shape of a strategy: items {capacityProvider, weight 0-1000, base 0-100000}, each
 * provider once, at most one base, providers in `allowed` (when given). */
static int strategy_check(const json_t *strategy, const json_t *allowed, struct berr *e)
{
	size_t i, j, bases = 0, weighted = 0;
	json_t *it;

	if (!json_is_array(strategy))
		return bad(e, "capacityProviderStrategy must be a list.");
	if (json_array_size(strategy) > 20)
		return bad(e, "capacityProviderStrategy can have at most 20 items.");
	json_array_foreach(strategy, i, it) {
		const json_t *p = json_object_get(it, "capacityProvider");
		const json_t *w = json_object_get(it, "weight"), *b = json_object_get(it, "base");
		const char *name;

		if (!json_is_object(it) || !json_is_string(p))
			return bad(e, "Each capacityProviderStrategy item needs a capacityProvider.");
		name = json_string_value(p);
		if ((w && !json_is_integer(w)) || (b && !json_is_integer(b)))
			return bad(e, "capacityProviderStrategy weight and base must be integers.");
		if (w && (json_integer_value(w) < 0 || json_integer_value(w) > 1000))
			return bad(e, "capacityProviderStrategy weight must be between 0 and 1000.");
		if (b && (json_integer_value(b) < 0 || json_integer_value(b) > 100000))
			return bad(e, "capacityProviderStrategy base must be between 0 and 100000.");
		if (!provider_known(name))
			return berr_set(e, 400, "InvalidParameterException",
					"The specified capacity provider '%s' does not exist. Specify "
					"FARGATE or FARGATE_SPOT and try again.", name);
		if (allowed && !associated(allowed, name))
			return berr_set(e, 400, "InvalidParameterException",
					"The specified capacity provider strategy cannot contain a "
					"capacity provider that is not associated with the cluster. "
					"Associate the capacity provider with the cluster or specify a "
					"valid capacity provider and try again. (%s)", name);
		for (j = 0; j < i; j++)
			if (!strcmp(json_string_value(json_object_get(json_array_get(strategy, j),
								      "capacityProvider")), name))
				return bad(e, "A capacity provider can be named only once in a "
					      "capacityProviderStrategy.");
		bases += b && json_integer_value(b) > 0;
		weighted += w && json_integer_value(w) > 0;
	}
	if (bases > 1)
		return bad(e, "Only one capacity provider in a capacity provider strategy can have "
			      "a base defined.");
	if (json_array_size(strategy) > 0 && !weighted && !bases)
		return bad(e, "The capacity provider strategy must contain at least one capacity "
			      "provider with a weight greater than zero.");
	return 0;
}

int rt_capacity_set(struct runtime *rt, struct rt_cluster *c, json_t *list, json_t *strategy,
		    struct berr *e)
{
	size_t i, j;
	json_t *v;

	if (!json_is_array(list))
		return bad(e, "capacityProviders must be a list.");
	json_array_foreach(list, i, v) {
		if (!json_is_string(v) || !provider_known(json_string_value(v)))
			return berr_set(e, 400, "InvalidParameterException",
					"The specified capacity provider '%s' does not exist. Specify "
					"FARGATE or FARGATE_SPOT and try again.",
					json_is_string(v) ? json_string_value(v) : "?");
		for (j = 0; j < i; j++)
			if (json_equal(v, json_array_get(list, j)))
				return bad(e, "A capacity provider can be associated only once.");
	}
	if (strategy && strategy_check(strategy, list, e) < 0)
		return -EINVAL;
	json_decref(c->capacity_providers);
	json_decref(c->default_strategy);
	c->capacity_providers = json_deep_copy(list);
	c->default_strategy = strategy ? json_deep_copy(strategy) : json_array();
	if (rt)
		rt_state_save_cluster(rt, c);
	return 0;
}

int rt_capacity_check(const struct rt_cluster *c, const json_t *strategy, struct berr *e)
{
	static json_t *none;

	if (!none)
		none = json_array(); /* never freed: one empty list for clusters without any */
	if (strategy_check(strategy, c->capacity_providers ? c->capacity_providers : none, e) < 0)
		return -EINVAL;
	if (json_array_size(strategy) == 0)
		return bad(e, "capacityProviderStrategy must name at least one capacity provider.");
	return 0;
}

/* ECS's placement across providers: first the one with a base until it holds `base` tasks,
 * then by weight: the provider whose share of the tasks beyond the bases lags its weight most. */
const char *rt_capacity_pick(const json_t *strategy, int *have)
{
	size_t i, best = (size_t)-1;
	double best_score = 0;
	json_t *it;

	json_array_foreach(strategy, i, it) {
		json_int_t base = json_integer_value(json_object_get(it, "base"));
		if (base > 0 && have[i] < base) {
			have[i]++;
			return json_string_value(json_object_get(it, "capacityProvider"));
		}
	}
	json_array_foreach(strategy, i, it) {
		json_int_t w = json_integer_value(json_object_get(it, "weight"));
		json_int_t base = json_integer_value(json_object_get(it, "base"));
		double beyond = (double)(have[i] - (base > 0 ? base : 0));
		double score;

		if (w <= 0)
			continue;
		score = (beyond + 1) / (double)w;
		if (best == (size_t)-1 || score < best_score) {
			best = i;
			best_score = score;
		}
	}
	if (best == (size_t)-1)
		best = 0; /* only bases, all met: the base provider takes the rest */
	have[best]++;
	return json_string_value(json_object_get(json_array_get(strategy, best),
						 "capacityProvider"));
}
