/* SPDX-License-Identifier: MIT */
/* scaling_math.c: Application Auto Scaling's step scaling rules - steps, rounding, cooldown. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alarms/actions_internal.h"
#include "common/json.h"

static int bound(const json_t *step, const char *key, double *out, size_t i, struct berr *e)
{
	json_t *v = json_object_get(step, key);

	*out = NAN;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v) || !isfinite(json_number_value(v)))
		return berr_set(e, 400, "ValidationException",
				"StepAdjustments[%zu].%s must be a number.", i, key);
	*out = json_number_value(v);
	return 0;
}

static int step_cmp(const void *x, const void *y)
{
	const struct sc_step *a = x, *b = y;
	double la = isnan(a->lower) ? -INFINITY : a->lower;
	double lb = isnan(b->lower) ? -INFINITY : b->lower;

	return la < lb ? -1 : la > lb;
}

static int steps_parse(const json_t *arr, struct sc_policy *p, struct berr *e)
{
	json_t *s;
	size_t i;

	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return berr_set(e, 400, "ValidationException",
				"StepScalingPolicyConfiguration.StepAdjustments must hold at least "
				"one step adjustment.");
	if (json_array_size(arr) > ARRAY_SIZE(p->steps))
		return berr_set(e, 400, "ValidationException",
				"StepAdjustments may hold at most %zu step adjustments.",
				ARRAY_SIZE(p->steps));
	p->n_steps = 0;
	json_array_foreach(arr, i, s) {
		struct sc_step *st = &p->steps[p->n_steps];
		json_t *adj = json_object_get(s, "ScalingAdjustment");
		if (!json_is_object(s))
			return berr_set(e, 400, "ValidationException",
					"StepAdjustments[%zu] must be an object.", i);
		if (bound(s, "MetricIntervalLowerBound", &st->lower, i, e) < 0 ||
		    bound(s, "MetricIntervalUpperBound", &st->upper, i, e) < 0)
			return -EINVAL;
		if (!json_is_integer(adj) || llabs(json_integer_value(adj)) > 1000000)
			return berr_set(e, 400, "ValidationException",
					"StepAdjustments[%zu].ScalingAdjustment must be an integer.", i);
		st->adjustment = (int)json_integer_value(adj);
		if (!isnan(st->lower) && !isnan(st->upper) && st->lower >= st->upper)
			return berr_set(e, 400, "ValidationException",
					"StepAdjustments[%zu]: the lower bound must be below the upper "
					"bound.", i);
		p->n_steps++;
	}
	qsort(p->steps, (size_t)p->n_steps, sizeof(p->steps[0]), step_cmp);
	for (int k = 0; k < p->n_steps; k++) {
		const struct sc_step *st = &p->steps[k];
		if (k > 0 && isnan(st->lower))
			return berr_set(e, 400, "ValidationException",
					"Only one step adjustment can have a null lower bound.");
		if (k < p->n_steps - 1 && isnan(st->upper))
			return berr_set(e, 400, "ValidationException",
					"Only one step adjustment can have a null upper bound.");
		if (k > 0 && p->steps[k - 1].upper != st->lower)
			return berr_set(e, 400, "ValidationException",
					"Step adjustments cannot overlap or leave a gap: one ends at "
					"%g and the next starts at %g.", p->steps[k - 1].upper,
					st->lower);
	}
	return 0;
}

int sc_step_config_parse(const json_t *cfg, struct sc_policy *p, struct berr *e)
{
	const char *type = NULL, *agg = NULL;
	json_t *steps = NULL;
	long long mam = 0, cooldown = 300;

	if (!json_is_object(cfg))
		return berr_set(e, 400, "ValidationException",
				"StepScalingPolicyConfiguration is required for a StepScaling "
				"policy.");
	if (json_get_string(cfg, "AdjustmentType", &type, e) < 0 ||
	    json_get_array(cfg, "StepAdjustments", &steps, e) < 0 ||
	    json_get_int(cfg, "MinAdjustmentMagnitude", &mam, e) < 0 ||
	    json_get_int(cfg, "Cooldown", &cooldown, e) < 0 ||
	    json_get_string(cfg, "MetricAggregationType", &agg, e) < 0)
		return -EINVAL;
	if (!type)
		return berr_set(e, 400, "ValidationException",
				"StepScalingPolicyConfiguration.AdjustmentType is required.");
	if (strcmp(type, "ChangeInCapacity") == 0)
		p->adjust = SC_CHANGE;
	else if (strcmp(type, "PercentChangeInCapacity") == 0)
		p->adjust = SC_PERCENT;
	else if (strcmp(type, "ExactCapacity") == 0)
		p->adjust = SC_EXACT;
	else
		return berr_set(e, 400, "ValidationException",
				"AdjustmentType must be ChangeInCapacity, PercentChangeInCapacity or "
				"ExactCapacity, got '%.40s'.", type);
	if (agg && strcmp(agg, "Average") && strcmp(agg, "Minimum") && strcmp(agg, "Maximum"))
		return berr_set(e, 400, "ValidationException",
				"MetricAggregationType must be Average, Minimum or Maximum.");
	if (mam && p->adjust != SC_PERCENT)
		return berr_set(e, 400, "ValidationException",
				"MinAdjustmentMagnitude is only valid with PercentChangeInCapacity.");
	if (mam < 0 || mam > 1000000 || cooldown < 0 || cooldown > 86400 * 7)
		return berr_set(e, 400, "ValidationException",
				"MinAdjustmentMagnitude and Cooldown must be non-negative.");
	if (steps_parse(steps, p, e) < 0)
		return -EINVAL;
	if (p->adjust == SC_EXACT)
		for (int k = 0; k < p->n_steps; k++)
			if (p->steps[k].adjustment < 0)
				return berr_set(e, 400, "ValidationException",
						"An ExactCapacity ScalingAdjustment cannot be "
						"negative.");
	p->min_magnitude = (int)mam;
	p->cooldown = (int)cooldown;
	return 0;
}

const struct sc_step *sc_step_find(const struct sc_policy *p, double value, double threshold)
{
	double d = value - threshold;

	if (!isfinite(d))
		return NULL;
	for (int k = 0; k < p->n_steps; k++) {
		const struct sc_step *s = &p->steps[k];
		double lo = isnan(s->lower) ? -INFINITY : s->lower;
		double hi = isnan(s->upper) ? INFINITY : s->upper;
		/* Above the threshold the lower bound is inclusive, below it the upper one is. */
		if (d >= 0 ? (d >= lo && d < hi) : (d > lo && d <= hi))
			return s;
	}
	return NULL;
}

int sc_apply_adjustment(enum sc_adjust kind, int adjustment, int min_magnitude, int current,
			int min, int max)
{
	long long next = current;

	switch (kind) {
	case SC_CHANGE:
		next = (long long)current + adjustment;
		break;
	case SC_PERCENT: {
		double d = (double)current * adjustment / 100.0;
		long long delta;
		/* Between -1 and 1 (not 0) becomes -1 or 1; beyond, toward zero. */
		if (d > 0 && d < 1)
			delta = 1;
		else if (d < 0 && d > -1)
			delta = -1;
		else
			delta = (long long)trunc(d);
		if (min_magnitude > 0 && delta != 0 && llabs(delta) < min_magnitude)
			delta = delta > 0 ? min_magnitude : -min_magnitude;
		next = (long long)current + delta;
		break;
	}
	case SC_EXACT:
		next = adjustment;
		break;
	}
	if (next < min)
		next = min;
	if (next > max)
		next = max;
	return (int)next;
}

int sc_step_decide(const struct sc_policy *p, double value, double threshold, int current,
		   int min, int max, double now, char *why, size_t whylen)
{
	const struct sc_step *s = sc_step_find(p, value, threshold);
	int next;

	why[0] = '\0';
	if (!s) {
		snprintf(why, whylen, "no step adjustment covers the metric value %g (threshold %g)",
			 value, threshold);
		return current;
	}
	next = sc_apply_adjustment(p->adjust, s->adjustment, p->min_magnitude, current, min, max);
	if (next > current && p->last_out_at > 0 && now < p->last_out_at + p->cooldown) {
		/* In a scale-out cooldown, the capacity the last scale-out added counts: only a
		 * larger step goes further. */
		int from = sc_apply_adjustment(p->adjust, s->adjustment, p->min_magnitude,
					       p->last_out_from, min, max);
		if (from <= current) {
			snprintf(why, whylen, "in scale-out cooldown until %.0f s from now; the step "
				 "asks for %d, already %d", p->last_out_at + p->cooldown - now,
				 from, current);
			return current;
		}
		next = from;
	}
	if (next < current && p->last_in_at > 0 && now < p->last_in_at + p->cooldown) {
		snprintf(why, whylen, "in scale-in cooldown for %.0f more seconds",
			 p->last_in_at + p->cooldown - now);
		return current;
	}
	if (next == current)
		snprintf(why, whylen, "capacity stays %d (min %d, max %d)", current, min, max);
	return next;
}
