#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 60
# test_capacity.sh: Fargate capacity providers - a cluster's providers and default strategy
# (CreateCluster, PutClusterCapacityProviders, kept across a restart), RunTask and services
# placed by a strategy (base, then weights), ECS's errors, and FARGATE_SPOT tasks billed at the
# spot discount.
. "$(dirname "$0")/lib.sh"

berth_start --collect-interval 1
import_busybox >/dev/null
cat >"$WORK/td.json" <<'J'
{"family":"cap","cpu":"1024","memory":"2048","requiresCompatibilities":["FARGATE"],
 "networkMode":"awsvpc",
 "containerDefinitions":[{"name":"c","image":"busybox","command":["sleep","3600"],"stopTimeout":2}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/td.json" >/dev/null
describe() { ecs_raw DescribeTasks "{\"cluster\":\"$1\",\"tasks\":[\"$2\"]}"; }
providers_of() { # CLUSTER ARN...: the capacityProviderName of each task, sorted
	local c=$1; shift
	ecs_raw DescribeTasks "{\"cluster\":\"$c\",\"tasks\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@")}" |
		jget "' '.join(sorted(t.get('capacityProviderName', '-') for t in d['tasks']))"
}

# A cluster with both providers and FARGATE_SPOT as its default.
out=$(ecs create-cluster --cluster-name spot --capacity-providers FARGATE FARGATE_SPOT \
	--default-capacity-provider-strategy capacityProvider=FARGATE_SPOT,weight=1)
expect_eq "create-cluster keeps the providers" "$(echo "$out" | jget "d['cluster']['capacityProviders']")" \
	"['FARGATE', 'FARGATE_SPOT']"
expect_eq "and the default strategy" \
	"$(echo "$out" | jget "[(s['capacityProvider'], s['weight']) for s in d['cluster']['defaultCapacityProviderStrategy']]")" \
	"[('FARGATE_SPOT', 1)]"
ecs create-cluster --cluster-name plain >/dev/null
expect_eq "a cluster without providers lists none" \
	"$(ecs describe-clusters --clusters plain | jget "d['clusters'][0]['capacityProviders']")" "[]"

# RunTask: the default strategy, an explicit launch type, and a strategy of the request's own.
t=$(ecs run-task --cluster spot --task-definition cap | jget "d['tasks'][0]['taskArn']")
expect_eq "the cluster's default strategy places the task on FARGATE_SPOT" "$(providers_of spot "$t")" FARGATE_SPOT
expect_eq "its launchType is FARGATE" "$(describe spot "$t" | jget "d['tasks'][0]['launchType']")" FARGATE
t=$(ecs run-task --cluster spot --task-definition cap --launch-type FARGATE | jget "d['tasks'][0]['taskArn']")
expect_eq "an explicit launchType bypasses the strategy" "$(providers_of spot "$t")" -
arns=$(ecs run-task --cluster spot --task-definition cap --count 5 --capacity-provider-strategy \
	capacityProvider=FARGATE,base=1,weight=1 capacityProvider=FARGATE_SPOT,weight=3 |
	jget "' '.join(t['taskArn'] for t in d['tasks'])")
# shellcheck disable=SC2086
expect_eq "base 1 on FARGATE, then 1:3 by weight" "$(providers_of spot $arns)" \
	"FARGATE FARGATE FARGATE_SPOT FARGATE_SPOT FARGATE_SPOT"

# ECS's errors.
expect_match "launchType and a strategy together are refused" \
	"$(ecs run-task --cluster spot --task-definition cap --launch-type FARGATE \
		--capacity-provider-strategy capacityProvider=FARGATE,weight=1 2>&1)" \
	'InvalidParameterException.*Specifying both a launchType and capacityProviderStrategy is not supported'
expect_match "a provider the cluster lacks is refused" \
	"$(ecs run-task --cluster plain --task-definition cap \
		--capacity-provider-strategy capacityProvider=FARGATE_SPOT,weight=1 2>&1)" \
	'InvalidParameterException.*not associated with the cluster'
expect_match "an unknown provider is named" \
	"$(ecs put-cluster-capacity-providers --cluster plain --capacity-providers NOPE \
		--default-capacity-provider-strategy capacityProvider=NOPE,weight=1 2>&1)" \
	"InvalidParameterException.*'NOPE' does not exist"
expect_match "two bases are refused" \
	"$(ecs run-task --cluster spot --task-definition cap --capacity-provider-strategy \
		capacityProvider=FARGATE,base=1,weight=1 capacityProvider=FARGATE_SPOT,base=1,weight=1 2>&1)" \
	'Only one capacity provider .* can have a base'
expect_match "weights all zero are refused" \
	"$(ecs run-task --cluster spot --task-definition cap --capacity-provider-strategy \
		capacityProvider=FARGATE,weight=0 2>&1)" 'at least one capacity provider with a weight'
expect_match "a bad default strategy creates no cluster" \
	"$(ecs create-cluster --cluster-name never --capacity-providers FARGATE \
		--default-capacity-provider-strategy capacityProvider=FARGATE_SPOT,weight=1 2>&1)" \
	'not associated with the cluster'
expect_eq "no cluster was made" "$(ecs describe-clusters --clusters never | jget "d['failures'][0]['reason']")" MISSING

# PutClusterCapacityProviders.
out=$(ecs put-cluster-capacity-providers --cluster plain --capacity-providers FARGATE FARGATE_SPOT \
	--default-capacity-provider-strategy capacityProvider=FARGATE,weight=1 capacityProvider=FARGATE_SPOT,weight=1)
expect_eq "put-cluster-capacity-providers returns the cluster" \
	"$(echo "$out" | jget "len(d['cluster']['defaultCapacityProviderStrategy'])")" 2

# A service spreads its tasks over the strategy and keeps the spread as tasks are replaced.
ecs create-service --cluster plain --service-name mixed --task-definition cap --desired-count 4 >/dev/null
check "the service's four tasks run" wait_for 30 bash -c \
	"[ \"\$(ecs_raw ListTasks '{\"cluster\":\"plain\",\"serviceName\":\"mixed\",\"desiredStatus\":\"RUNNING\"}' | jget \"len(d['taskArns'])\")\" = 4 ]"
svc_providers() {
	local arns
	arns=$(ecs_raw ListTasks '{"cluster":"plain","serviceName":"mixed","desiredStatus":"RUNNING"}' | jget "' '.join(d['taskArns'])")
	# shellcheck disable=SC2086
	providers_of plain $arns
}
export -f svc_providers providers_of
expect_eq "the cluster default strategy spreads them 2:2" "$(svc_providers)" \
	"FARGATE FARGATE FARGATE_SPOT FARGATE_SPOT"
out=$(ecs describe-services --cluster plain --services mixed)
expect_eq "describe-services shows the strategy" \
	"$(echo "$out" | jget "[s['capacityProvider'] for s in d['services'][0]['capacityProviderStrategy']]")" \
	"['FARGATE', 'FARGATE_SPOT']"
expect_eq "and no launchType" "$(echo "$out" | jget "'launchType' in d['services'][0]")" False
victim=$(ecs_raw ListTasks '{"cluster":"plain","serviceName":"mixed","desiredStatus":"RUNNING"}' |
	jget "d['taskArns'][0]")
ecs stop-task --cluster plain --task "$victim" >/dev/null
check "a stopped task is replaced" wait_for 30 bash -c \
	"[ \"\$(ecs_raw ListTasks '{\"cluster\":\"plain\",\"serviceName\":\"mixed\",\"desiredStatus\":\"RUNNING\"}' | jget \"len(d['taskArns'])\")\" = 4 ] &&
	 ! ecs_raw ListTasks '{\"cluster\":\"plain\",\"serviceName\":\"mixed\",\"desiredStatus\":\"RUNNING\"}' | grep -q '${victim##*/}'"
check "the replacement keeps the spread" wait_for 10 bash -c \
	"[ \"\$(svc_providers)\" = 'FARGATE FARGATE FARGATE_SPOT FARGATE_SPOT' ]"

# Kept across a restart: the cluster's providers, the tasks' and the service's placement.
berth_kill9
berth_start --collect-interval 1
expect_eq "providers survive a restart" \
	"$(ecs describe-clusters --clusters spot | jget "d['clusters'][0]['capacityProviders']")" "['FARGATE', 'FARGATE_SPOT']"
# shellcheck disable=SC2086
expect_eq "the tasks' providers too" "$(providers_of spot $arns)" \
	"FARGATE FARGATE FARGATE_SPOT FARGATE_SPOT FARGATE_SPOT"
expect_eq "and the service's strategy" \
	"$(ecs describe-services --cluster plain --services mixed | jget "len(d['services'][0]['capacityProviderStrategy'])")" 2
ecs update-service --cluster plain --service mixed --desired-count 0 >/dev/null

# Billing: a FARGATE_SPOT task costs the spot discount less than the same task on FARGATE.
ecs create-cluster --cluster-name bill --capacity-providers FARGATE FARGATE_SPOT >/dev/null
od=$(ecs run-task --cluster bill --task-definition cap --capacity-provider-strategy capacityProvider=FARGATE,weight=1 |
	jget "d['tasks'][0]['taskArn'].split('/')[-1]")
sp=$(ecs run-task --cluster bill --task-definition cap --capacity-provider-strategy capacityProvider=FARGATE_SPOT,weight=1 |
	jget "d['tasks'][0]['taskArn'].split('/')[-1]")
check "both tasks run" wait_for 20 bash -c "task_status_is bill $od RUNNING && task_status_is bill $sp RUNNING"
ecs stop-task --cluster bill --task "$od" >/dev/null
ecs stop-task --cluster bill --task "$sp" >/dev/null
check "both stop" wait_for 20 bash -c "task_status_is bill $od STOPPED && task_status_is bill $sp STOPPED"
report() { rest GET '/v1/billing/report?end=2030-01-01&group_by=task&start=2026-01-01'; }
cost_of() { report | jget "[g['reservedCost'] for g in d['groups'] if g['key'] == '$1'][0]"; }
export -f report cost_of
check "both are in the report" wait_for 10 bash -c "cost_of $od >/dev/null 2>&1 && cost_of $sp >/dev/null 2>&1"
# A stopped task's hour is closed at its billed end (the one-minute minimum) by the ledger's next
# cycle (every 5 s at most often); until then the report shows what it accrued so far.
spot_ratio() { python3 -c "import sys; od, sp = float(sys.argv[1]), float(sys.argv[2]); sys.exit(not (od > 0 and abs(sp - 0.3 * od) <= 2e-6))" "$(cost_of "$od")" "$(cost_of "$sp")"; }
export -f spot_ratio; export od sp
check "each bills the one-minute minimum at its rate: spot = 30% of on-demand" wait_for 20 spot_ratio

echo "1..$T_N"
[ "$T_FAILED" -eq 0 ]
