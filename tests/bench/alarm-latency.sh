#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# alarm-latency.sh: breach-to-action latency - from the sample that completes an alarm's
# breaching datapoint to the replacement task RUNNING (its startedAt), for a replace-task alarm
# on a service task that idles 20 s, then spins; N rounds, each on the task the last round
# started. Target: under 1 s beyond the period.
# The completing sample: berth closes a period at the first sample within half a collect
# interval of its end (samples are at most that late), which with a 1 s period can be a sample
# taken inside the period, up to half a second before its nominal end. So the latency is
# measured from that sample - the evaluation's queryDate in the StateUpdate's reason data (a pass
# runs right after its sample, at its time) - and, for reference, from the nominal end (period
# start + period, which can come after the action). The alarm is put while the task idles: an
# alarm put on a task that already breaches acts at once, on the put, not on a sample (such a
# round is reported and not counted).
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
 "command":["sh","-c","sleep 20; while :; do :; done"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/td.json" >/dev/null
ecs create-service --cluster lat --service-name spin --task-definition spin --desired-count 1 >/dev/null
running() { ecs list-tasks --cluster lat --service-name spin --desired-status RUNNING | jget "' '.join(a.split('/')[-1] for a in d['taskArns'])"; }
started_at() { ecs describe-tasks --cluster lat --tasks "$1" | jget "d['tasks'][0].get('startedAt', 0) if d['tasks'][0]['lastStatus'] == 'RUNNING' else 0"; }
wait_for 60 bash -c "[ -n \"\$($BUILD/berthctl --endpoint-url $ENDPOINT ecs list-tasks --cluster lat --service-name spin --desired-status RUNNING | grep arn)\" ]"
lat=()
lnom=()
for i in $(seq 1 "$N"); do
	task=$(running | cut -d' ' -f1)
	[ -n "$task" ] || { echo "# no running task"; break; }
	# Put while the task idles (its first 20 s; the last round took a few seconds since it
	# started it), so that a sample, not the put, finds the first breaching datapoint - but
	# not in its first seconds: starting a container costs CPU, which the task's first
	# datapoint shows (enough to breach).
	sleep 8
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
	# The breaching datapoint (its period start), the evaluation that found it (queryDate: the
	# time of the sample that completed it) and when the alarm was put.
	read -r dp qd put < <(CTL describe-alarm-history --alarm-name "spin-$i" |
		jget "' '.join([[(r['evaluatedDatapoints'][0]['timestamp'] + ' ' + r['queryDate']) for r in (json.loads(h['HistoryData'])['newState']['stateReasonData'] for h in d['AlarmHistoryItems'] if h['HistorySummary'].endswith('to ALARM'))][0], [h['Timestamp'] for h in d['AlarmHistoryItems'] if h['HistoryItemType'] == 'ConfigurationUpdate'][-1]])")
	read -r l ln early < <(python3 -c "
import datetime
ts=lambda s: datetime.datetime.strptime(s.replace('Z', '+0000'), '%Y-%m-%dT%H:%M:%S.%f%z').timestamp()
s=$(started_at "$new")
print('%.3f %.3f %d' % (s - ts('$qd'), s - (ts('$dp') + 1), ts('$qd') <= ts('$put')))")
	if [ "$early" = 1 ]; then
		echo "# round $i: the task breached before the alarm was put (evaluated by the put); not counted"
		CTL delete-alarms --alarm-names "spin-$i" >/dev/null
		continue
	fi
	echo "round $i: datapoint $dp completed by the sample at $qd, replacement $new RUNNING ${l} s after it (${ln} s after the period's nominal end)"
	lnom+=("$ln")
	lat+=("$l")
	CTL delete-alarms --alarm-names "spin-$i" >/dev/null
done
if [ ${#lat[@]} -gt 0 ]; then
	printf '%s\n' "${lat[@]}" | sort -n | python3 -c "
import sys
v=[float(x) for x in sys.stdin]
print('breach-to-action latency from the completing sample: median %.3f s, max %.3f s over %d rounds (target < 1 s)' % (v[len(v)//2], v[-1], len(v)))"
	printf '%s\n' "${lnom[@]}" | sort -n | python3 -c "
import sys
v=[float(x) for x in sys.stdin]
print('from the period\'s nominal end (for reference; the completing sample may precede it by up to half an interval): median %.3f s, min %.3f s, max %.3f s' % (v[len(v)//2], v[0], v[-1]))"
fi
ecs update-service --cluster lat --service spin --desired-count 0 >/dev/null
