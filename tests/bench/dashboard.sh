#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# dashboard.sh: what the dashboard's pages fetch, with N running tasks (default 1000) in 20
# services: the page's own API calls (overview, a page of tasks, a filtered page, the service
# list with sparklines, one task's DescribeTasks, a chart's metric query) timed with a session
# cookie, median of 20 each, against GET /healthz as the baseline. Prints figures; asserts
# nothing (target: every page's data well under 500 ms on loopback).
# Usage: BERTH_BUILD=build tests/bench/dashboard.sh [N]
# (curl --aws-sigv4 does not sort query parameters: rest calls pass them in byte order.)
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-1000}
S=20
berth_start --log-level warn --collect-interval 5
import_busybox >/dev/null
ecs_raw CreateCluster '{"clusterName":"bench"}' >/dev/null
ecs_raw RegisterTaskDefinition '{"family":"sleeper","cpu":"128","memory":"64","containerDefinitions":[{"name":"c","image":"busybox","command":["sleep","36000"],"stopTimeout":2}]}' >/dev/null
for i in $(seq 1 $S); do
	ecs_raw CreateService "{\"cluster\":\"bench\",\"serviceName\":\"s$i\",\"taskDefinition\":\"sleeper\",\"desiredCount\":$((N / S))}" >/dev/null
done
running() { rest GET '/v1/dashboard/tasks?limit=1&status=RUNNING' | jget "d['total']"; }
end=$((SECONDS + 900))
while [ "$(running)" -lt "$N" ] && [ $SECONDS -lt $end ]; do
	echo "# $(running) tasks running" >&2
	sleep 10
done
sleep 10
TOKEN=$("$BUILD/berthctl" --endpoint-url "$ENDPOINT" token create --name bench 2>/dev/null)
curl -s -c "$WORK/jar" -H 'Content-Type: application/json' -d "{\"token\":\"$TOKEN\"}" "$ENDPOINT/v1/session" >/dev/null
CSRF=$(curl -s -b "$WORK/jar" "$ENDPOINT/v1/session" | jget "d['csrfToken']")
TASK=$(rest GET '/v1/dashboard/tasks?limit=1' | jget "d['tasks'][0]['id']")
med() {
	for _ in $(seq 1 20); do
		curl -s -o /dev/null -b "$WORK/jar" -w '%{time_total} %{size_download}\n' "$@"
	done | sort -n | awk 'NR == 10 { printf "%.2f ms, %d bytes", $1 * 1000, $2 }'
}
echo "dashboard API with $(running) running tasks in $S services (median of 20, loopback):"
echo "  /healthz (baseline):              $(med "$ENDPOINT/healthz")"
echo "  overview:                         $(med "$ENDPOINT/v1/dashboard/overview")"
echo "  tasks, first page of 50:          $(med "$ENDPOINT/v1/dashboard/tasks?status=ACTIVE")"
echo "  tasks, service filter, page 2:    $(med "$ENDPOINT/v1/dashboard/tasks?service=s3&offset=25&limit=25")"
echo "  services with sparklines:         $(med "$ENDPOINT/v1/dashboard/services")"
echo "  DescribeTasks (task page):        $(med -H 'X-Amz-Target: AmazonEC2ContainerServiceV20141113.DescribeTasks' -H 'Content-Type: application/x-amz-json-1.1' -H "X-CSRF-Token: $CSRF" -d "{\"cluster\":\"bench\",\"tasks\":[\"$TASK\"]}" "$ENDPOINT/")"
echo "  DescribeServices (service page):  $(med -H 'X-Amz-Target: AmazonEC2ContainerServiceV20141113.DescribeServices' -H 'Content-Type: application/x-amz-json-1.1' -H "X-CSRF-Token: $CSRF" -d '{"cluster":"bench","services":["s1"]}' "$ENDPOINT/")"
now=$(date +%s)
echo "  cluster CPU chart, 1 h:           $(med "$ENDPOINT/v1/metrics/query?ClusterName=bench&end=$now&metric=CpuUtilized&period=15&start=$((now - 3600))")"
# Stop the services' tasks quickly: desired 0, then the cleanup kills what is left.
for i in $(seq 1 $S); do ecs_raw UpdateService "{\"cluster\":\"bench\",\"service\":\"s$i\",\"desiredCount\":0}" >/dev/null; done
