#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# alarm-latency.sh: breach-to-action latency - from the sample that completes an alarm's
# breaching datapoint (the end of its period) to the replacement task RUNNING (its startedAt),
# for a replace-task alarm on a CPU-spinning service task; N rounds, each on the task the last
# round started. Target: under 1 s beyond the period.
# Usage: BERTH_BUILD=build tests/bench/alarm-latency.sh [N]   (prints; asserts nothing)
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-5}
ecs() { "$BUILD/berthctl" --endpoint-url "$ENDPOINT" --output json ecs "$@"; }
CTL() { "$BUILD/berthctl" --endpoint-url "$ENDPOINT" --output json "$@"; }
berth_start --log-level warn --collect-interval 1 --task-healthy-after 0
import_busybox >/dev/null
ecs create-cluster --cluster-name lat >/dev/null
cat >"$WORK/td.json" <<'J'
{"family":"spin","containerDefinitions":[{"name":"c","image":"busybox","memory":32,"stopTimeout":2,
 "command":["sh","-c","while :; do :; done"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/td.json" >/dev/null
ecs create-service --cluster lat --service-name spin --task-definition spin --desired-count 1 >/dev/null
running() { ecs list-tasks --cluster lat --service-name spin --desired-status RUNNING | jget "' '.join(a.split('/')[-1] for a in d['taskArns'])"; }
started_at() { ecs describe-tasks --cluster lat --tasks "$1" | jget "d['tasks'][0].get('startedAt', 0) if d['tasks'][0]['lastStatus'] == 'RUNNING' else 0"; }
wait_for 60 bash -c "[ -n \"\$($BUILD/berthctl --endpoint-url $ENDPOINT ecs list-tasks --cluster lat --service-name spin --desired-status RUNNING | grep arn)\" ]"
lat=()
for i in $(seq 1 "$N"); do
	task=$(running | cut -d' ' -f1)
	[ -n "$task" ] || { echo "# no running task"; break; }
	# Wait for the task to be sampled before the alarm exists, so its first period can breach.
	sleep 2
	cat >"$WORK/alarm.json" <<J
{"AlarmName": "spin-$i", "MetricName": "CpuUtilized", "Namespace": "ECS/ContainerInsights",
 "Dimensions": [{"Name": "ClusterName", "Value": "lat"}, {"Name": "TaskId", "Value": "$task"}],
 "Statistic": "Average", "Period": 1, "EvaluationPeriods": 1, "DatapointsToAlarm": 1,
 "Threshold": 50, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
 "AlarmActions": ["arn:aws:automate:us-east-1:ecs:replace-task"]}
J
	CTL put-metric-alarm --cli-input-json "file://$WORK/alarm.json" >/dev/null
	new=
	for _ in $(seq 1 600); do
		new=$(running | tr ' ' '\n' | grep -v "^$task$" | head -1)
		[ -n "$new" ] && [ "$(started_at "$new")" != 0 ] && break
		new=
		sleep 0.05
	done
	[ -n "$new" ] || { echo "# round $i: no replacement seen"; continue; }
	# The breaching datapoint: the one the ALARM transition evaluated (its period start).
	dp=$(CTL describe-alarm-history --alarm-name "spin-$i" --history-item-type StateUpdate |
		jget "[json.loads(h['HistoryData'])['newState']['stateReasonData']['evaluatedDatapoints'][0]['timestamp'] for h in d['AlarmHistoryItems'] if h['HistorySummary'].endswith('to ALARM')][0]")
	l=$(python3 -c "
import datetime
dp=datetime.datetime.strptime('$dp', '%Y-%m-%dT%H:%M:%S.%f%z').timestamp()
print('%.3f' % ($(started_at "$new") - (dp + 1)))")
	echo "round $i: datapoint $dp, replacement $new RUNNING ${l} s after the period ended"
	lat+=("$l")
	CTL delete-alarms --alarm-names "spin-$i" >/dev/null
done
if [ ${#lat[@]} -gt 0 ]; then
	printf '%s\n' "${lat[@]}" | sort -n | python3 -c "
import sys
v=[float(x) for x in sys.stdin]
print('breach-to-action latency beyond the period: median %.3f s, max %.3f s over %d rounds (target < 1 s)' % (v[len(v)//2], v[-1], len(v)))"
fi
ecs update-service --cluster lat --service spin --desired-count 0 >/dev/null
