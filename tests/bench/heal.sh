#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# heal.sh: time from a service task's death (SIGKILL from outside) to its replacement RUNNING,
# p50 and p99 over N kills, from the replacement's own startedAt. ECS's scheduler takes tens of
# seconds for the same. Usage: BERTH_BUILD=build tests/bench/heal.sh [N]   (prints; asserts nothing)
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-50}
berth_start --log-level warn --task-healthy-after 0
import_busybox >/dev/null
ecs create-cluster --cluster-name heal >/dev/null
cat >"$WORK/td.json" <<'J'
{"family":"heal","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
 "containerDefinitions":[{"name":"c","image":"busybox","command":["sleep","3600"],"stopTimeout":2}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/td.json" >/dev/null
ecs create-service --cluster heal --service-name heal --task-definition heal --desired-count 3 >/dev/null
live() { rest GET /v1/tasks | jget "'\n'.join('%s %s %s' % (t['taskArn'], t['containers'][0].get('pid', 0), t.get('startedAt', 0)) for t in d['tasks'] if t.get('group') == 'service:heal' and t['lastStatus'] == 'RUNNING' and t['desiredStatus'] == 'RUNNING')"; }
wait_for 30 bash -c "[ \$(rest GET /v1/tasks | grep -c '\"lastStatus\": \"RUNNING\"') -ge 3 ]"
lat=()
for _ in $(seq 1 "$N"); do
	before=$(live)
	read -r _ pid _ <<<"$(echo "$before" | head -1)"
	t0=$(date +%s.%N)
	kill -9 "$pid"
	for _ in $(seq 1 200); do
		new=$(live | grep -v -F -f <(echo "$before" | cut -d' ' -f1) | head -1)
		[ -n "$new" ] && break
		sleep 0.02
	done
	[ -n "$new" ] || { echo "# no replacement seen"; continue; }
	lat+=("$(python3 -c "print(($(echo "$new" | cut -d' ' -f3) - $t0) * 1000)")")
done
printf '%s\n' "${lat[@]}" | python3 -c '
import sys
v = sorted(float(x) for x in sys.stdin if x.strip())
print("# heal: kill -> replacement RUNNING over %d kills: p50 %.1f ms, p99 %.1f ms (ECS: tens of seconds)" % (len(v), v[len(v)//2], v[min(len(v)-1, int(len(v)*0.99))]))'
