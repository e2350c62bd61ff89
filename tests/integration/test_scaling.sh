#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 40
# test_scaling.sh: Application Auto Scaling's API over a real service - scalable targets, step
# policies through berthctl (--cli-input-json), REST and the aws CLI's application-autoscaling
# commands (JSON 1.1, SigV4 for its own service name), validation, persistence across restarts.
. "$(dirname "$0")/lib.sh"
trap berth_cleanup EXIT

ecs() { "$BUILD/berthctl" --endpoint-url "$ENDPOINT" --output json ecs "$@"; }
CTL() { "$BUILD/berthctl" --endpoint-url "$ENDPOINT" --output json "$@"; }
berth_start
import_busybox >/dev/null
ecs create-cluster --cluster-name sc >/dev/null
cat >"$WORK/td.json" <<'J'
{"family":"idle","containerDefinitions":[{"name":"c","image":"busybox","memory":32,"command":["sleep","3600"],"stopTimeout":2}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/td.json" >/dev/null
ecs create-service --cluster sc --service-name web --task-definition idle --desired-count 1 >/dev/null
RID=service/sc/web

out=$(CTL register-scalable-target --resource-id service/sc/nope \
	--scalable-dimension ecs:service:DesiredCount --min-capacity 1 --max-capacity 3 2>&1)
expect_match "a service that does not exist cannot be registered" "$out" "ECS service doesn't exist"
out=$(CTL register-scalable-target --resource-id $RID --scalable-dimension ecs:service:DesiredCount \
	--min-capacity 4 --max-capacity 3 2>&1)
expect_match "min above max is refused" "$out" "Minimum capacity cannot be greater than maximum capacity"
out=$(CTL register-scalable-target --service-namespace ecs --resource-id $RID \
	--scalable-dimension ecs:service:DesiredCount --min-capacity 1 --max-capacity 3)
expect_match "register-scalable-target answers its ARN" "$(echo "$out" | jget "d['ScalableTargetARN']")" \
	'^arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/0e[0-9a-f]{30}$'

cat >"$WORK/policy.json" <<J
{"PolicyName": "out", "ServiceNamespace": "ecs", "ResourceId": "$RID",
 "ScalableDimension": "ecs:service:DesiredCount", "PolicyType": "StepScaling",
 "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity", "Cooldown": 5,
   "MetricAggregationType": "Average",
   "StepAdjustments": [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 50, "ScalingAdjustment": 1},
                       {"MetricIntervalLowerBound": 50, "ScalingAdjustment": 2}]}}
J
ARN=$(CTL put-scaling-policy --cli-input-json "file://$WORK/policy.json" | jget "d['PolicyARN']")
expect_match "put-scaling-policy answers the policy ARN" "$ARN" \
	"^arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:[0-9a-f-]{36}:resource/ecs/service/sc/web:policyName/out$"
ARN2=$(CTL put-scaling-policy --cli-input-json "file://$WORK/policy.json" | jget "d['PolicyARN']")
expect_eq "putting it again keeps the ARN" "$ARN2" "$ARN"
sed 's/"MetricIntervalLowerBound": 50/"MetricIntervalLowerBound": 60/' "$WORK/policy.json" >"$WORK/gap.json"
out=$(CTL put-scaling-policy --cli-input-json "file://$WORK/gap.json" 2>&1)
expect_match "a gap between steps is refused" "$out" "ValidationException.*gap"
out=$(rest POST /v1/scaling/policies -d '{"PolicyName":"x","ResourceId":"service/sc/other","StepScalingPolicyConfiguration":{}}')
expect_match "a policy needs a registered target" "$out" "ObjectNotFoundException"
out=$(rest POST /v1/scaling/policies -d '{"PolicyName":"tt","ResourceId":"'$RID'","PolicyType":"TargetTrackingScaling","TargetTrackingScalingPolicyConfiguration":{"TargetValue":50}}')
expect_match "target tracking needs a metric" "$out" "PredefinedMetricSpecification"
expect_eq "describe-scaling-policies" \
	"$(CTL describe-scaling-policies --resource-id $RID | jget "[(p['PolicyName'], p['PolicyType'], len(p['StepScalingPolicyConfiguration']['StepAdjustments'])) for p in d['ScalingPolicies']]")" \
	"[('out', 'StepScaling', 2)]"
expect_eq "REST GET with a PolicyName query" \
	"$(rest GET "/v1/scaling/policies?PolicyName=out" | jget "[p['PolicyARN'] for p in d['ScalingPolicies']]")" "['$ARN']"
expect_eq "no activities yet" "$(CTL describe-scaling-activities --resource-id $RID | jget "len(d['ScalingActivities'])")" 0

# The aws CLI's own commands, signed for application-autoscaling.
if [ "${BERTH_ECS_CLIENT:-aws}" != berthctl ]; then
	out=$(aws_cli --endpoint-url "$ENDPOINT" --output json application-autoscaling describe-scaling-policies \
		--service-namespace ecs --resource-id $RID)
	expect_eq "aws application-autoscaling describe-scaling-policies" \
		"$(echo "$out" | jget "[p['PolicyARN'] for p in d['ScalingPolicies']]")" "['$ARN']"
	out=$(aws_cli --endpoint-url "$ENDPOINT" --output json application-autoscaling describe-scalable-targets \
		--service-namespace ecs)
	expect_eq "aws application-autoscaling describe-scalable-targets" \
		"$(echo "$out" | jget "[(t['ResourceId'], t['MinCapacity'], t['MaxCapacity']) for t in d['ScalableTargets']]")" \
		"[('$RID', 1, 3)]"
fi

# Restart: targets and policies persist.
berth_stop
berth_start
expect_eq "policies persist across restarts" \
	"$(CTL describe-scaling-policies --resource-id $RID | jget "[p['PolicyARN'] for p in d['ScalingPolicies']]")" "['$ARN']"
check "delete-scaling-policy" CTL delete-scaling-policy --policy-name out --resource-id $RID \
	--scalable-dimension ecs:service:DesiredCount
out=$(CTL delete-scaling-policy --policy-name out --resource-id $RID --scalable-dimension ecs:service:DesiredCount 2>&1)
expect_match "deleting it twice says it is not there" "$out" "ObjectNotFoundException"
check "deregister-scalable-target" CTL deregister-scalable-target --resource-id $RID \
	--scalable-dimension ecs:service:DesiredCount
expect_eq "no targets left" "$(CTL describe-scalable-targets | jget "len(d['ScalableTargets'])")" 0
ecs update-service --cluster sc --service web --desired-count 0 >/dev/null

echo "1..$T_N"
[ "$T_FAILED" -eq 0 ]
