#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# launch.sh: RunTask -> RUNNING latency of berthd (p50, p99 over N tasks, from the tasks' own
# createdAt/startedAt, one task at a time) against `runc run --detach` of an equivalent busybox
# bundle, in one run.
# Usage: BERTH_BUILD=build tests/bench/launch.sh [N]    (prints figures; asserts nothing)
# BERTH_LAUNCH_STEPS=1 runs berthd at --log-level debug and prints the p50 of each launch step
# (tests/bench/launch-steps.py; the debug log costs a little CPU itself); BERTH_LAUNCH_KEEPLOG=FILE
# keeps berthd's log there.
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-100}
if [ -n "${BERTH_LAUNCH_STEPS:-}" ]; then berth_start; else berth_start --log-level warn; fi
import_busybox >/dev/null
ecs create-cluster --cluster-name bench >/dev/null
cat >"$WORK/td.json" <<'J'
{"family":"bench","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
 "containerDefinitions":[{"name":"c","image":"busybox","command":["sleep","3600"],"stopTimeout":2}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/td.json" >/dev/null
# One task at a time, as `runc run` below: RunTask (count 1) through curl's SigV4, wait for
# RUNNING, then the next. Latency is server-side, from the task's own createdAt to startedAt;
# the stops are sent after all launches so that teardown does not overlap a launch.
arns=()
for _ in $(seq 1 "$N"); do
	a=$(ecs_raw RunTask '{"cluster":"bench","taskDefinition":"bench"}' | jget "d['tasks'][0]['taskArn']")
	arns+=("$a")
	wait_for 30 bash -c "ecs_raw DescribeTasks '{\"cluster\":\"bench\",\"tasks\":[\"$a\"]}' | grep -q '\"lastStatus\": *\"RUNNING\"'"
	sleep 0.1  # let the warm pool refill, as between real launches
done
berth=$(rest GET /v1/tasks | python3 -c '
import json, sys
dec = json.JSONDecoder(); s = sys.stdin.read(); i = 0; lat = []
while i < len(s):
    while i < len(s) and s[i].isspace(): i += 1
    if i >= len(s): break
    d, i = dec.raw_decode(s, i)
    lat += [(t["startedAt"] - t["createdAt"]) * 1000 for t in d["tasks"] if "startedAt" in t and t.get("group") == "family:bench"]
lat.sort()
print("%.2f %.2f %d" % (lat[len(lat)//2], lat[min(len(lat)-1, int(len(lat)*0.99))], len(lat)))')
for a in "${arns[@]}"; do ecs_raw StopTask "{\"cluster\":\"bench\",\"task\":\"$a\"}" >/dev/null; done
wait_for 60 bash -c "[ \"\$(ecs_raw ListTasks '{\"cluster\":\"bench\"}' | jget \"len(d['taskArns'])\")\" = 0 ]"
# runc baseline: the same busybox rootfs, `runc run --detach` until it returns (started); the
# container names carry the pid, so that two runs side by side do not collide.
B=$WORK/bundle; mkdir -p "$B"
bash "$ROOT/tests/lib/mkimage-busybox.sh" "$B/rootfs" >/dev/null
(cd "$B" && runc spec && python3 - <<'P'
import json; c = json.load(open("config.json"))
c["process"]["args"] = ["sleep", "3600"]; c["process"]["terminal"] = False
c["linux"]["resources"] = {"memory": {"limit": 512 * 1024 * 1024}, "cpu": {"quota": 25000, "period": 100000}}
json.dump(c, open("config.json", "w"))
P
)
runc_lat=$(cd "$B" && python3 - "$N" <<'P'
import os, subprocess, sys, time
n = int(sys.argv[1]); lat = []
for i in range(n):
    name = "berth-bench-%d-%d" % (os.getpid(), i)
    t = time.monotonic()
    subprocess.run(["runc", "run", "--detach", name], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    lat.append((time.monotonic() - t) * 1000)
    subprocess.run(["runc", "delete", "--force", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
lat.sort()
print("%.2f %.2f" % (lat[len(lat)//2], lat[min(n-1, int(n*0.99))]))
P
)
read -r bp50 bp99 bn <<<"$berth"
read -r rp50 rp99 <<<"$runc_lat"
echo "# launch: berth RunTask->RUNNING over $bn tasks: p50 ${bp50} ms, p99 ${bp99} ms"
echo "# launch: runc run --detach over $N containers: p50 ${rp50} ms, p99 ${rp99} ms"
python3 -c "print('# launch: ratio berth/runc p50 %.2f, p99 %.2f' % ($bp50/$rp50, $bp99/$rp99))"
[ -z "${BERTH_LAUNCH_STEPS:-}" ] || python3 "$ROOT/tests/bench/launch-steps.py" <"$WORK/berthd.log"
[ -z "${BERTH_LAUNCH_KEEPLOG:-}" ] || cp "$WORK/berthd.log" "$BERTH_LAUNCH_KEEPLOG"
echo "# launch: load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
