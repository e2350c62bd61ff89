#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 180
# test_alarm_actions.sh: alarms acting on real load - a CPU-burning service task trips an alarm
# whose actions are a webhook and replace-task: the receiver gets a signed SNS-shaped body, the
# task is replaced, the alarm returns to OK and the OK notification arrives; a step scaling
# policy grows a service while its tasks burn CPU and shrinks it after.
. "$(dirname "$0")/lib.sh"

ecs() { "$BUILD/berthctl" --endpoint-url "$ENDPOINT" --output json ecs "$@"; }
CTL() { "$BUILD/berthctl" --endpoint-url "$ENDPOINT" --output json "$@"; }
S1=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
RX_LOG=$WORK/rx.jsonl
: >"$RX_LOG"
python3 "$ROOT/tests/integration/fixtures/webhook_receiver.py" "$WORK/rx.port" "$RX_LOG" "$S1" &
RX_PID=$!
trap 'kill $RX_PID 2>/dev/null; berth_cleanup' EXIT
wait_for 60 test -s "$WORK/rx.port"
RX=http://127.0.0.1:$(cat "$WORK/rx.port")
# sns_of NAME NEW [OLD]: the first notification of the alarm's move to NEW (from OLD when given),
# from the receiver's log.
sns_of() { python3 -c "
import json
for l in open('$RX_LOG'):
    r=json.loads(l)
    if r['path']!='/sns': continue
    m=json.loads(json.loads(r['body'])['Message'])
    if m['AlarmName']=='$1' and m['NewStateValue']=='$2' and '${3:-}' in ('', m['OldStateValue']):
        print(r['signature_ok'], m['OldStateValue'], m['Trigger']['MetricName'], m['Trigger']['Dimensions'][1]['name'], json.loads(r['body'])['Type'])
        break"; }
state_of() { CTL describe-alarms --alarm-names "$1" | jget "([a['StateValue'] for a in d['MetricAlarms']] + ['NONE'])[0]"; }
state_is() { [ "$(state_of "$1")" == "$2" ]; }
sns_seen() { [ -n "$(sns_of "$@")" ]; }

berth_start --collect-interval 1 --webhook-retry-initial-ms 200 --task-healthy-after 1
import_busybox >/dev/null
ecs create-cluster --cluster-name aa >/dev/null
CTL put-webhook --name ops --url "$RX/sns" --format cloudwatch-sns --secret "$S1" >/dev/null
SNS=arn:aws:sns:us-east-1:000000000000:ops
REPLACE=arn:aws:automate:us-east-1:ecs:replace-task

# ---- webhook + replace-task -------------------------------------------------------------------
cat >"$WORK/burn.json" <<'J'
{"family":"burn","containerDefinitions":[{"name":"c","image":"busybox","memory":32,"stopTimeout":2,
 "command":["sh","-c","while :; do :; done"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/burn.json" >/dev/null
ecs create-service --cluster aa --service-name burner --task-definition burn --desired-count 1 >/dev/null
running_tasks() { ecs list-tasks --cluster aa --service-name burner --desired-status RUNNING | jget "' '.join(sorted(a.split('/')[-1] for a in d['taskArns']))"; }
check "the burning task starts" wait_for 30 bash -c "[ -n \"\$($BUILD/berthctl --endpoint-url $ENDPOINT ecs list-tasks --cluster aa --service-name burner | python3 -c 'import json,sys; print(\" \".join(json.load(sys.stdin)[\"taskArns\"]))')\" ]"
TASK=$(running_tasks)
# Two full periods of samples before the alarm exists: its first evaluation then has both
# datapoints (with fewer, notBreaching would rightly make it OK first).
check "the burning task runs" wait_for 30 task_status_is aa "$TASK" RUNNING
sleep 5
cat >"$WORK/alarm.json" <<J
{"AlarmName": "burner-cpu", "AlarmDescription": "a task spins",
 "MetricName": "CpuUtilized", "Namespace": "ECS/ContainerInsights",
 "Dimensions": [{"Name": "ClusterName", "Value": "aa"}, {"Name": "TaskId", "Value": "$TASK"}],
 "Statistic": "Average", "Period": 2, "EvaluationPeriods": 2, "DatapointsToAlarm": 2,
 "Threshold": 50, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
 "AlarmActions": ["$SNS", "$REPLACE"], "OKActions": ["$SNS"]}
J
out=$(sed 's/"OKActions": \["[^"]*"\]/"OKActions": ["arn:aws:sns:us-east-1:000000000000:nobody"]/' "$WORK/alarm.json" >"$WORK/bad.json"; CTL put-metric-alarm --cli-input-json "file://$WORK/bad.json" 2>&1)
expect_match "an action naming an unknown webhook is refused" "$out" "no webhook endpoint named nobody"
check "put-metric-alarm with webhook and replace-task actions" CTL put-metric-alarm --cli-input-json "file://$WORK/alarm.json"
check "the alarm trips" wait_for 40 state_is burner-cpu ALARM
check "the ALARM notification arrives" wait_for 30 sns_seen burner-cpu ALARM
# From INSUFFICIENT_DATA, or from OK where a loaded host left one of the first periods without a
# sample (missing data is notBreaching here, as CloudWatch treats it).
expect_match "signed, SNS-shaped, with the alarm's trigger" "$(sns_of burner-cpu ALARM)" \
	"^True (INSUFFICIENT_DATA|OK) CpuUtilized TaskId Notification$"
stopped_reason() { ecs describe-tasks --cluster aa --tasks "$TASK" | jget "d['tasks'][0].get('stoppedReason','')"; }
check "the breaching task is stopped" wait_for 30 task_status_is aa "$TASK" STOPPED
expect_match "its stoppedReason names the alarm" "$(stopped_reason)" "alarm burner-cpu"
check "the service runs a replacement" wait_for 30 bash -c "t=\$($BUILD/berthctl --endpoint-url $ENDPOINT ecs list-tasks --cluster aa --service-name burner --desired-status RUNNING | python3 -c 'import json,sys; print(\" \".join(json.load(sys.stdin)[\"taskArns\"]))'); [ -n \"\$t\" ] && [[ \$t != *$TASK* ]]"
check "the alarm returns to OK" wait_for 40 state_is burner-cpu OK
check "the OK notification arrives" wait_for 30 sns_seen burner-cpu OK ALARM
expect_eq "OK notification" "$(sns_of burner-cpu OK ALARM | cut -d' ' -f1,2)" "True ALARM"
HIST=$(CTL describe-alarm-history --alarm-name burner-cpu --history-item-type Action)
expect_match "Action history: the webhook" "$HIST" "Successfully executed action $SNS"
expect_match "Action history: the replacement" "$HIST" "Successfully executed action $REPLACE: task $TASK replaced"
ecs update-service --cluster aa --service burner --desired-count 0 >/dev/null
CTL delete-alarms --alarm-names burner-cpu >/dev/null

# ---- step scaling ----------------------------------------------------------------------------
# Each task spins for its first 40 seconds, then idles.
cat >"$WORK/web.json" <<'J'
{"family":"web","containerDefinitions":[{"name":"c","image":"busybox","memory":32,"stopTimeout":2,
 "command":["sh","-c","end=$(($(date +%s)+40)); while [ $(date +%s) -lt $end ]; do :; done; exec sleep 3600"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/web.json" >/dev/null
ecs create-service --cluster aa --service-name web --task-definition web --desired-count 1 >/dev/null
RID=service/aa/web
CTL register-scalable-target --resource-id $RID --scalable-dimension ecs:service:DesiredCount \
	--min-capacity 1 --max-capacity 2 >/dev/null
policy() {
	cat >"$WORK/p-$1.json" <<J
{"PolicyName": "$1", "ServiceNamespace": "ecs", "ResourceId": "$RID",
 "ScalableDimension": "ecs:service:DesiredCount", "PolicyType": "StepScaling",
 "StepScalingPolicyConfiguration": {"AdjustmentType": "ChangeInCapacity", "Cooldown": 2,
   "StepAdjustments": [$2]}}
J
	CTL put-scaling-policy --cli-input-json "file://$WORK/p-$1.json" | jget "d['PolicyARN']"
}
OUT_ARN=$(policy out '{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}')
IN_ARN=$(policy in '{"MetricIntervalUpperBound": 0, "ScalingAdjustment": -1}')
svc_alarm() {
	cat >"$WORK/a-$1.json" <<J
{"AlarmName": "$1", "MetricName": "CpuUtilized", "Namespace": "ECS/ContainerInsights",
 "Dimensions": [{"Name": "ClusterName", "Value": "aa"}, {"Name": "ServiceName", "Value": "web"}],
 "Statistic": "Average", "Period": 2, "EvaluationPeriods": 2, "DatapointsToAlarm": 2,
 "Threshold": $2, "ComparisonOperator": "$3", "TreatMissingData": "missing",
 "AlarmActions": ["$4"]}
J
	CTL put-metric-alarm --cli-input-json "file://$WORK/a-$1.json"
}
check "scale-out alarm" svc_alarm web-high 50 GreaterThanThreshold "$OUT_ARN"
check "scale-in alarm" svc_alarm web-low 20 LessThanThreshold "$IN_ARN"
desired() { ecs describe-services --cluster aa --services web | jget "d['services'][0]['desiredCount']"; }
desired_is() { [ "$(desired)" == "$1" ]; }
check "the service grows under load" wait_for 60 desired_is 2
ACT=$(CTL describe-scaling-activities --resource-id $RID)
expect_match "a scaling activity records it" "$(echo "$ACT" | jget "[a['Description'] for a in d['ScalingActivities']]")" \
	"Setting desired count to 2."
check "and shrinks once the load is gone" wait_for 90 desired_is 1
expect_eq "never beyond the scalable target's bounds" \
	"$(CTL describe-scaling-activities --resource-id $RID | jget "sorted({a['Description'] for a in d['ScalingActivities']})")" \
	"['Setting desired count to 1.', 'Setting desired count to 2.']"
HIST=$(CTL describe-alarm-history --alarm-name web-high --history-item-type Action)
expect_match "the policy's Action history" "$HIST" "policy out set the desired count from 1 to 2"
m=$(curl -s "$ENDPOINT/metrics")
expect_match "scaling actions on /metrics" "$m" 'berth_alarm_actions_total\{action="scaling",result="done"\} [2-9]'
ecs update-service --cluster aa --service web --desired-count 0 >/dev/null
CTL delete-alarms --alarm-names web-high web-low >/dev/null

echo "1..$T_N"
[ "$T_FAILED" -eq 0 ]
