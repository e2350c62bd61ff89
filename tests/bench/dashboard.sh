#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dashboard.sh: the dashboard with BASE (default 100) and then N (default 1000) running tasks in
# 20 services of sleeping busybox tasks, plus an alarm and the billing ledger. For each size:
#  - every page (and a detail page of each kind) in Debian's headless Chromium: milliseconds from
#    navigation start to the page usable (its main content on screen with data) and to its charts
#    drawn, with the API calls it made, their bytes and berthd's time (tests/e2e/bench.mjs);
#  - each /v1 call the pages make, timed with curl -w '%{time_total}' (median of 20) with
#    berthd's own handler time (Server-Timing), against GET /healthz as the baseline.
# Prints the load average beside every table; asserts nothing (target: every page usable in
# under 500 ms on loopback with 1000 tasks).
# BUSY=K (default 0) then adds a service of K tasks that each spin on a whole CPU (cpu 1024) and
# measures again at N + K tasks: the host loaded by berth's own containers, as in production.
# Usage: BERTH_BUILD=build [BUSY=K] tests/bench/dashboard.sh [N] [BASE]
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-1000}
BASE=${2:-100}
BUSY=${BUSY:-0}
S=20
E2E=$ROOT/tests/e2e
if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null; then
	echo "chromium or node missing (make deps installs them)" >&2
	exit 1
fi
if [ ! -d "$E2E/node_modules/playwright-core" ]; then
	(cd "$E2E" && npm ci --no-audit --no-fund >"$WORK/npm.log" 2>&1) || { cat "$WORK/npm.log"; exit 1; }
fi
# info: berthd logs each event-loop callback over 100 ms (printed after each size's table).
berth_start --log-level info --collect-interval 5
import_busybox >/dev/null
ecs_raw CreateCluster '{"clusterName":"bench"}' >/dev/null
ecs_raw RegisterTaskDefinition '{"family":"sleeper","cpu":"128","memory":"64","containerDefinitions":[{"name":"c","image":"busybox","command":["sleep","36000"],"stopTimeout":2}]}' >/dev/null
rest POST /v1/alarms -H 'Content-Type: application/json' --data-binary '{"AlarmName":"bench-cpu","MetricName":"CpuUtilized","Namespace":"ECS/ContainerInsights","Dimensions":[{"Name":"ClusterName","Value":"bench"}],"Statistic":"Average","Period":10,"EvaluationPeriods":1,"Threshold":1000,"ComparisonOperator":"GreaterThanThreshold"}' >/dev/null
TOKEN=$("$BUILD/berthctl" --endpoint-url "$ENDPOINT" token create --name bench 2>/dev/null)
curl -s -c "$WORK/jar" -H 'Content-Type: application/json' -d "{\"token\":\"$TOKEN\"}" "$ENDPOINT/v1/session" >/dev/null
CSRF=$(curl -s -b "$WORK/jar" "$ENDPOINT/v1/session" | jget "d['csrfToken']")

# Running tasks (0 while berthd is too busy to answer).
running() { rest GET '/v1/dashboard/tasks?limit=1&status=RUNNING' | jget "d['total']" 2>/dev/null || echo 0; }
# scale TOTAL: S services of TOTAL/S tasks each, then waits until they run.
CREATED=
scale() {
	local per=$(($1 / S)) end=$((SECONDS + 900))
	for i in $(seq 1 $S); do
		if [ -z "$CREATED" ]; then
			ecs_raw CreateService "{\"cluster\":\"bench\",\"serviceName\":\"s$i\",\"taskDefinition\":\"sleeper\",\"desiredCount\":$per}" >/dev/null
		else
			ecs_raw UpdateService "{\"cluster\":\"bench\",\"service\":\"s$i\",\"desiredCount\":$per}" >/dev/null
		fi
	done
	CREATED=1
	while [ "$(running)" -lt "$1" ] && [ $SECONDS -lt $end ]; do
		echo "# $(running) of $1 tasks running" >&2
		sleep 5
	done
	sleep 12 # two collect cycles, so every chart has data
}
# med CURL-ARGS...: median of 20 (total ms, bytes, berthd's handler ms).
med() {
	for _ in $(seq 1 20); do
		curl -s -o /dev/null -D "$WORK/h" -b "$WORK/jar" -w '%{time_total} %{size_download}' "$@"
		echo " $(sed -n 's/^Server-Timing: app;dur=\([0-9.]*\).*/\1/ip' "$WORK/h" | tr -d '\r')"
	done | sort -n | awk 'NR == 10 { printf "%8.2f ms %9d bytes  (berthd %.2f ms)", $1 * 1000, $2, $3 }'
}
ecs_call() { med -H "X-Amz-Target: AmazonEC2ContainerServiceV20141113.$1" -H 'Content-Type: application/x-amz-json-1.1' -H "X-CSRF-Token: $CSRF" -d "$2" "$ENDPOINT/"; }

measure() {
	local n task now
	n=$(running)
	task=$(rest GET '/v1/dashboard/tasks?limit=1&service=s1&status=RUNNING' | jget "d['tasks'][0]['id']")
	now=$(date +%s)
	echo
	echo "== $n running tasks in $S services; load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "API calls the pages make (curl -w '%{time_total}', median of 20, loopback):"
	echo "  /healthz (baseline)            $(med "$ENDPOINT/healthz")"
	echo "  session                        $(med "$ENDPOINT/v1/session")"
	echo "  overview                       $(med "$ENDPOINT/v1/dashboard/overview")"
	echo "  services, first page           $(med "$ENDPOINT/v1/dashboard/services?limit=50")"
	echo "  tasks, first page of 50        $(med "$ENDPOINT/v1/dashboard/tasks?limit=50&status=ACTIVE")"
	echo "  tasks, service filter, page 2  $(med "$ENDPOINT/v1/dashboard/tasks?service=s3&offset=25&limit=25")"
	echo "  service's tasks (100)          $(med "$ENDPOINT/v1/dashboard/tasks?cluster=bench&limit=100&service=s1")"
	echo "  DescribeServices               $(ecs_call DescribeServices '{"cluster":"bench","services":["s1"]}')"
	echo "  DescribeTasks                  $(ecs_call DescribeTasks "{\"cluster\":\"bench\",\"tasks\":[\"$task\"],\"include\":[\"TAGS\"]}")"
	echo "  DescribeClusters               $(ecs_call DescribeClusters '{"clusters":["bench"]}')"
	echo "  alarms                         $(med "$ENDPOINT/v1/alarms")"
	echo "  alarm history                  $(med "$ENDPOINT/v1/alarms/bench-cpu/history")"
	echo "  billing report, this month     $(med "$ENDPOINT/v1/billing/report?start=$(date -u +%Y-%m-01)&end=$(date -u -d "$(date -u +%Y-%m-01) +1 month" +%Y-%m-%d)&group_by=service&granularity=monthly&format=json")"
	echo "  cluster CPU chart, 1 h         $(med "$ENDPOINT/v1/metrics/query?ClusterName=bench&end=$now&metric=CpuUtilized&period=15&start=$((now - 3600))&statistics=Average")"
	echo "  task memory chart, 1 h         $(med "$ENDPOINT/v1/metrics/query?ClusterName=bench&TaskId=$task&end=$now&metric=MemoryUtilized&period=15&start=$((now - 3600))&statistics=Average")"
	echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
	since=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
	BERTH_URL=$ENDPOINT BERTH_TOKEN=$TOKEN BENCH_LABEL="$n running tasks, load average $(cut -d' ' -f1-3 /proc/loadavg)" \
		BENCH_PAGES="[[\"overview\",\"/\"],[\"services\",\"/services\"],[\"service s1\",\"/services/bench/s1\"],[\"tasks\",\"/tasks\"],[\"tasks filtered\",\"/tasks?service=s2&status=RUNNING\"],[\"task\",\"/tasks/bench/$task\"],[\"alarms\",\"/alarms\"],[\"alarm\",\"/alarms/bench-cpu\"],[\"billing\",\"/billing\"]]" \
		timeout 900 node "$E2E/bench.mjs"
	echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
	stalls "$since"
}
# stalls SINCE: berthd's event-loop callbacks over 100 ms logged since SINCE (UTC), with the
# function each ran (every other request waited that long).
stalls() {
	local n
	n=$(awk -v s="$1" '$1 >= s && / loop: a callback /' "$WORK/berthd.log" | wc -l)
	echo "berthd's event loop: $n callbacks over 100 ms during the page loads"
	awk -v s="$1" '$1 >= s && / loop: a callback /' "$WORK/berthd.log" | while read -r ts _ _ _ _ at _ ms _; do
		at=${at#(}; at=${at%)}
		printf '  %s %5s ms  %s\n' "$ts" "$ms" "$(addr2line -f -s -e "$BUILD/berthd" "${at#*+}" | paste -sd' ')"
	done
}

scale "$BASE"
measure
scale "$N"
measure
if [ "$BUSY" -gt 0 ]; then
	ecs_raw RegisterTaskDefinition '{"family":"spinner","cpu":"1024","memory":"64","containerDefinitions":[{"name":"c","image":"busybox","command":["sh","-c","while :; do :; done"],"stopTimeout":2}]}' >/dev/null
	ecs_raw CreateService "{\"cluster\":\"bench\",\"serviceName\":\"busy\",\"taskDefinition\":\"spinner\",\"desiredCount\":$BUSY}" >/dev/null
	end=$((SECONDS + 300))
	while [ "$(running)" -lt $((N + BUSY)) ] && [ $SECONDS -lt $end ]; do sleep 5; done
	sleep 30 # the load average follows
	echo
	echo "# with $BUSY tasks spinning on a CPU each (berth.slice), berthd outside it"
	measure
	ecs_raw UpdateService '{"cluster":"bench","service":"busy","desiredCount":0}' >/dev/null
fi
# Stop the services' tasks quickly: desired 0, then the cleanup kills what is left.
for i in $(seq 1 $S); do ecs_raw UpdateService "{\"cluster\":\"bench\",\"service\":\"s$i\",\"desiredCount\":0}" >/dev/null; done
