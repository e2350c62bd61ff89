#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 180
# test_alarms.sh: CloudWatch-style alarms against real load - a CPU-burning task trips a
# CpuUtilized alarm within its periods, an idle one stays OK; history, /metrics, SetAlarmState,
# composite alarms and their cycle check, hostile input, restart and a corrupt alarm file.
. "$(dirname "$0")/lib.sh"
trap berth_cleanup EXIT

# berthctl speaks the same ECS verbs in milliseconds; the aws CLI is not what this suite tests.
ecs() { "$BUILD/berthctl" --endpoint-url "$ENDPOINT" --output json ecs "$@"; }
berth_start --collect-interval 1
ctl() { "$BUILD/berthctl" --endpoint-url "$ENDPOINT" --output json "$@"; }
state_of() { ctl describe-alarms --alarm-names "$1" --alarm-types MetricAlarm CompositeAlarm |
	jget "([a['StateValue'] for a in d['MetricAlarms'] + d['CompositeAlarms']] + ['NONE'])[0]"; }
state_is() { [ "$(state_of "$1")" == "$2" ]; }

import_busybox >/dev/null
ecs create-cluster --cluster-name al >/dev/null
cat >"$WORK/td.json" <<'J'
{"family":"burn","containerDefinitions":[{"name":"c","image":"busybox","essential":true,"memory":64,
 "command":["sleep","3600"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/td.json" >/dev/null
run() { ecs run-task --cluster al --task-definition burn --overrides "{\"containerOverrides\":[{\"name\":\"c\",\"command\":[\"sh\",\"-c\",\"$1\"]}]}" | jget "d['tasks'][0]['taskArn'].split('/')[-1]"; }
BURN=$(run 'while :; do :; done')
IDLE=$(run 'sleep 3600')
check "both tasks running" wait_for 20 bash -c "curl -s '$ENDPOINT/metrics' | grep -q '^berth_collector_tasks 2'"

# Period 2 s (a multiple of the 1 s collect interval), 2 of 3 datapoints above 50 CPU units (a
# spinning task gets far more even on a busy host; an idle one uses none).
alarm_json() {
	cat <<J
{"AlarmName": "$1", "AlarmDescription": "CPU of task $2",
 "MetricName": "CpuUtilized", "Namespace": "ECS/ContainerInsights",
 "Dimensions": [{"Name": "ClusterName", "Value": "al"}, {"Name": "TaskId", "Value": "$2"}],
 "Statistic": "Average", "Period": 2, "EvaluationPeriods": 3, "DatapointsToAlarm": 2,
 "Threshold": 50, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "missing",
 "Tags": [{"Key": "team", "Value": "infra"}]}
J
}
alarm_json cpu-high "$BURN" >"$WORK/alarm.json"
alarm_json cpu-idle "$IDLE" >"$WORK/idle.json"
check "put-metric-alarm --cli-input-json" ctl put-metric-alarm --cli-input-json "file://$WORK/alarm.json"
check "put the idle task's alarm" ctl put-metric-alarm --cli-input-json "file://$WORK/idle.json"
OUT=$(ctl describe-alarms --alarm-names cpu-high)
expect_eq "describe-alarms shows the configuration" \
	"$(echo "$OUT" | jget "[d['MetricAlarms'][0][k] for k in ('Period','EvaluationPeriods','DatapointsToAlarm','ComparisonOperator','Statistic')] + [len(d['CompositeAlarms'])]")" \
	"[2, 3, 2, 'GreaterThanThreshold', 'Average', 0]"
check "the burning task trips its alarm" wait_for 20 state_is cpu-high ALARM
check "the idle task's alarm is OK" wait_for 20 state_is cpu-idle OK
OUT=$(ctl describe-alarms --alarm-names cpu-high)
expect_match "ALARM reason in CloudWatch's wording" \
	"$(echo "$OUT" | jget "d['MetricAlarms'][0]['StateReason']")" \
	'^Threshold Crossed: [23] out of the last [23] datapoints \[[0-9.]+ \([0-9]{2}/[0-9]{2}/[0-9]{2} [0-9:]{8}\).*\] were greater than the threshold \(50\.0\) \(minimum 2 datapoints for OK -> ALARM transition\)\.$'
expect_eq "StateReasonData lists the evaluated datapoints" \
	"$(echo "$OUT" | jget "(lambda r: [r['statistic'], r['period'], len(r['evaluatedDatapoints']) >= 2])(json.loads(d['MetricAlarms'][0]['StateReasonData']))")" \
	"['Average', 2, True]"
HIST=$(ctl describe-alarm-history --alarm-name cpu-high)
expect_eq "history has the StateUpdate to ALARM and the creation" \
	"$(echo "$HIST" | jget "[[i['HistoryItemType'], i['HistorySummary']] for i in d['AlarmHistoryItems'] if i['HistorySummary'] in ('Alarm updated from INSUFFICIENT_DATA to ALARM', 'Alarm \"cpu-high\" created')]")" \
	"[['StateUpdate', 'Alarm updated from INSUFFICIENT_DATA to ALARM'], ['ConfigurationUpdate', 'Alarm \"cpu-high\" created']]"
check "describe-alarms --state-value ALARM lists only it" \
	bash -c "[ \"\$('$BUILD/berthctl' --endpoint-url '$ENDPOINT' describe-alarms --state-value ALARM | python3 -c 'import json,sys; print([a[\"AlarmName\"] for a in json.load(sys.stdin)[\"MetricAlarms\"]])')\" == \"['cpu-high']\" ]"
METRICS=$(curl -s "$ENDPOINT/metrics")
expect_match "berth_alarm_state on /metrics" "$METRICS" 'berth_alarm_state\{alarm="cpu-high",state="ALARM"\} 1'
expect_match "evaluation self-metrics on /metrics" "$METRICS" 'berth_alarm_evaluations_total [1-9]'

# SetAlarmState holds until the next evaluation puts the truth back.
check "set-alarm-state OK" ctl set-alarm-state --alarm-name cpu-high --state-value OK --state-reason "testing"
check "the next evaluation returns it to ALARM" wait_for 10 state_is cpu-high ALARM

# Composite alarms follow their children; cycles are refused.
check "put-composite-alarm" ctl put-composite-alarm --alarm-name both \
	--alarm-rule 'ALARM("cpu-high") AND NOT ALARM(cpu-idle)'
check "the composite alarm is in ALARM" wait_for 5 state_is both ALARM
check "a second composite names the first" ctl put-composite-alarm --alarm-name outer --alarm-rule 'ALARM(both) OR FALSE'
OUT=$(ctl put-composite-alarm --alarm-name both --alarm-rule 'ALARM(outer)' 2>&1)
expect_match "a cycle is refused" "$OUT" 'ValidationError.*cycle'
OUT=$(ctl delete-alarms --alarm-names cpu-high 2>&1)
expect_match "an alarm a composite names cannot be deleted alone" "$OUT" 'ValidationError.*composite alarm both'

# Hostile and invalid input: clear errors naming the field; nothing changes.
OUT=$(rest POST /v1/alarms -H 'Content-Type: application/json' --data-binary '{"AlarmName": "x",')
expect_match "malformed JSON" "$OUT" 'SerializationException'
OUT=$(rest POST /v1/alarms -H 'Content-Type: application/json' --data-binary '{"AlarmName":"x","MetricName":"CpuUtilized","Namespace":"ECS/ContainerInsights","Statistic":"Average","Period":60,"Threshold":1,"ComparisonOperator":"GreaterThanThreshold"}')
expect_match "missing EvaluationPeriods" "$OUT" "ValidationError.*'EvaluationPeriods'"
OUT=$(rest POST /v1/alarms -H 'Content-Type: application/json' --data-binary '{"AlarmName":"x","MetricName":"CpuUtilized","Namespace":"ECS/ContainerInsights","Statistic":"Average","Period":86400,"EvaluationPeriods":2,"Threshold":1,"ComparisonOperator":"GreaterThanThreshold"}')
expect_match "more than a day of periods" "$OUT" 'ValidationError.*more than a day'
OUT=$(rest POST /v1/alarms -H 'Content-Type: application/json' --data-binary '{"AlarmName":"x","AlarmRule":"ALARM(cpu-high) AND (OK(cpu-idle)"}')
expect_match "an unbalanced AlarmRule" "$OUT" "ValidationError.*expected '\\)'"
OUT=$(rest POST /v1/alarms -H 'Content-Type: application/json' --data-binary "$(python3 -c 'print("{\"a\":" * 500 + "1" + "}" * 500)')")
expect_match "deeply nested JSON" "$OUT" 'SerializationException'
OUT=$(rest POST /v1/alarms -H 'Content-Type: application/json' --data-binary '{"AlarmName":"x","MetricName":"CpuUtilized","Namespace":"ECS/ContainerInsights","Dimensions":[{"Name":"Pod","Value":"a"}],"Statistic":"Average","Period":60,"EvaluationPeriods":1,"Threshold":1,"ComparisonOperator":"GreaterThanThreshold"}')
expect_match "an unknown dimension" "$OUT" 'InvalidParameterValue.*Pod'
OUT=$(ctl put-metric-alarm --alarm-name y --metric-name CpuUtilized --namespace ECS/ContainerInsights --statistic Average --period 60 --evaluation-periods 1 --threshold 1 --comparison-operator GreaterThanThreshold --alarm-actions not-an-arn 2>&1)
expect_match "an invalid action ARN" "$OUT" 'Invalid arn syntax: not-an-arn'
check "flags work too (--threshold as a number, --dimensions shorthand)" ctl put-metric-alarm \
	--alarm-name flags --metric-name MemoryUtilized --namespace ECS/ContainerInsights \
	--dimensions Name=ClusterName,Value=al Name=TaskId,Value="$IDLE" --extended-statistic p99.5 \
	--period 2 --evaluation-periods 2 --threshold 1e9 --comparison-operator GreaterThanOrEqualToThreshold \
	--evaluate-low-sample-count-percentile ignore
expect_eq "nothing invalid was stored" \
	"$(ctl describe-alarms --alarm-types MetricAlarm CompositeAlarm | jget "sorted(a['AlarmName'] for a in d['MetricAlarms'] + d['CompositeAlarms'])")" \
	"['both', 'cpu-high', 'cpu-idle', 'flags', 'outer']"
OUT=$(rest POST /v1/alarms -H 'Content-Type: application/json' --data-binary '{"AlarmName":"x","MetricName":"CpuUtilized","Namespace":"ECS/ContainerInsights","Statistic":"Average","Period":0,"EvaluationPeriods":1,"Threshold":1,"ComparisonOperator":"GreaterThanThreshold"}')
expect_match "a zero Period" "$OUT" "ValidationError.*'Period'"
OUT=$(rest DELETE /v1/alarms/nonexistent)
expect_match "deleting an unknown alarm" "$OUT" 'ResourceNotFound'

# Restart: alarms, their state and history come back.
BEFORE=$(ctl describe-alarms --alarm-types MetricAlarm CompositeAlarm | jget "sorted((a['AlarmName'], a['StateValue']) for a in d['MetricAlarms'] + d['CompositeAlarms'])")
berth_stop
# What is on disk while berthd is down (once it runs, the next evaluation may move a state on).
STORED=$(python3 -c "
import glob, json
print(sorted((d['Config']['AlarmName'], d['State']['Value']) for d in (json.load(open(f)) for f in glob.glob('$WORK/data/state/alarms/*.json'))))")
expect_eq "alarms and states are stored durably" "$STORED" "$BEFORE"
echo '{"Config": {"AlarmName": ' >"$WORK/data/state/alarms/0000000000000000000000000000000000000000000000000000000000000000.json"
berth_start --collect-interval 1
AFTER=$(ctl describe-alarms --alarm-types MetricAlarm CompositeAlarm | jget "sorted(a['AlarmName'] for a in d['MetricAlarms'] + d['CompositeAlarms'])")
expect_eq "alarms survive a restart" "$AFTER" "$(echo "$BEFORE" | python3 -c "import ast,sys; print(sorted(a for a, s in ast.literal_eval(sys.stdin.read())))")"
check "a corrupt alarm file is kept aside" test -f "$WORK/data/state/alarms/0000000000000000000000000000000000000000000000000000000000000000.json.corrupt"
check "and reported" grep -q 'alarms: failed to parse .*corrupt' "$WORK/berthd.log"
expect_eq "history survives a restart" \
	"$(ctl describe-alarm-history --alarm-name cpu-high --history-item-type StateUpdate --scan-by TimestampAscending | jget "d['AlarmHistoryItems'][0]['HistorySummary']")" \
	"Alarm updated from INSUFFICIENT_DATA to ALARM"
check "the alarm keeps evaluating after the restart" wait_for 10 bash -c "[ \$(curl -s '$ENDPOINT/metrics' | sed -n 's/^berth_alarm_evaluations_total //p') -gt 3 ]"
check "delete-alarms removes the composites and an alarm" ctl delete-alarms --alarm-names outer both flags
expect_eq "they are gone" \
	"$(ctl describe-alarms --alarm-types MetricAlarm CompositeAlarm | jget "sorted(a['AlarmName'] for a in d['MetricAlarms'] + d['CompositeAlarms'])")" \
	"['cpu-high', 'cpu-idle']"
check "disable-alarm-actions" ctl disable-alarm-actions --alarm-names cpu-high
expect_eq "ActionsEnabled is false" "$(ctl describe-alarms --alarm-names cpu-high | jget "d['MetricAlarms'][0]['ActionsEnabled']")" "False"

echo "1..$T_N"
[ "$T_FAILED" -eq 0 ]
