#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 100
# test_restart.sh: kill -9 of berthd leaves tasks running; the next berthd re-adopts them,
# records exits that happened while it was down, and starts nothing twice.
. "$(dirname "$0")/lib.sh"

berth_start
import_busybox >/dev/null
ecs create-cluster --cluster-name rs >/dev/null
cat >"$WORK/long.json" <<'J'
{"family":"long","containerDefinitions":[{"name":"a","image":"busybox","memory":32,"command":["sh","-c","echo up; sleep 3600"],"stopTimeout":2}]}
J
cat >"$WORK/short.json" <<'J'
{"family":"short","containerDefinitions":[{"name":"a","image":"busybox","memory":32,"command":["sh","-c","sleep 15; exit 7"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/long.json" >/dev/null
ecs register-task-definition --cli-input-json "file://$WORK/short.json" >/dev/null
L=$(ecs run-task --cluster rs --task-definition long | jget "d['tasks'][0]['taskArn']")
S=$(ecs run-task --cluster rs --task-definition short | jget "d['tasks'][0]['taskArn']")
check "long task RUNNING" wait_for 10 task_status_is rs "$L" RUNNING
check "short task RUNNING" wait_for 15 task_status_is rs "$S" RUNNING
# The host pid is berth's own field: the REST view has it (the aws CLI drops unknown fields).
task_pid() { rest GET /v1/tasks | jget "[t['containers'][0].get('pid') for t in d['tasks'] if t['taskArn'] == '$1'][0]"; }
pid_before=$(task_pid "$L")
pid_short=$(task_pid "$S")
# Spare task trees (launch_pool_size of them, 4 by default) are made ahead and refilled after
# each launch; the long task's directories came from one.
# Up to 3 more are armed: a warm container mounted the image launched last on it (below).
spares_ready() { local n l; n=$(find "$WORK/data/tasks/.spare" -mindepth 1 -maxdepth 1 | wc -l); l=$(find "$WORK/data/log/.spare" -mindepth 1 -maxdepth 1 | wc -l); [ "$n" -ge 4 ] && [ "$n" -le 7 ] && [ "$l" = "$n" ]; }
check "4 spare task trees are ready" wait_for 10 spares_ready
LID=${L##*/}
check "a launched task's directories are in place" test -d "$WORK/data/tasks/$LID/run" -a -d "$WORK/data/tasks/$LID/c/a/upper" -a -d "$WORK/data/log/rs/$LID" -a ! -e "$WORK/data/tasks/$LID/c/_"
expect_match "its /etc/hosts names its host" "$(cat "$WORK/data/tasks/$LID/run/etc.hosts")" "127.0.1.1	${LID:0:12}"
# Task cgroups made ahead: the cluster keeps 4 sets for the task definition it launched last
# (short), under task ids drawn ahead, and the next task of that definition takes one.
CGROOT=/sys/fs/cgroup/unified/$PARENT
[ -d /sys/fs/cgroup/unified ] || CGROOT=/sys/fs/cgroup/$PARENT
[ -d /sys/fs/cgroup/memory ] && CGROOT=/sys/fs/cgroup/memory/$PARENT
task_ids() { ecs list-tasks --cluster "$1" --desired-status "${2:-RUNNING}" | jget "' '.join(a.split('/')[-1] for a in d['taskArns'])"; }
# ahead CLUSTER: the sets made ahead there (task-id cgroups that no task has).
ahead() { local known; known=" $(task_ids "$1") $(task_ids "$1" STOPPED) "; for d in "$CGROOT/$1"/*/; do d=$(basename "$d"); [[ $d =~ ^[0-9a-f]{32}$ ]] && [[ $known != *" $d "* ]] && echo "$d"; done; }
pool_is() { [ "$(ahead "$1" | wc -l)" = "$2" ]; }
check "4 task cgroup sets are made ahead" wait_for 10 pool_is rs 4
POOLED=" $(ahead rs | tr '\n' ' ') "
check "each with berth.init and the definition's container" test -d "$CGROOT/rs/$(ahead rs | head -1)/berth.init" -a -d "$CGROOT/rs/$(ahead rs | head -1)/a"
L2=$(ecs run-task --cluster rs --task-definition short | jget "d['tasks'][0]['taskArn']")
check "a task of that definition runs" wait_for 15 task_status_is rs "$L2" RUNNING
expect_match "with the id of a set made ahead" "$POOLED" " ${L2##*/} "
expect_eq "its memory limit is the task's" "$(cat "/sys/fs/cgroup/memory/$PARENT/rs/${L2##*/}/a/memory.limit_in_bytes" 2>/dev/null || echo 33554432)" 33554432
check "the set taken is made again" wait_for 10 pool_is rs 4
ecs stop-task --cluster rs --task "$L2" >/dev/null
# Roots made ahead ("armed"): warm containers mount the overlay of the image launched last
# (busybox) on spare trees and pivot into it, leaving one warm supervisor and one tree plain;
# the next task of that image starts on one.
armed_roots() { local p; for p in $(pgrep -x berth-task); do grep -l " - overlay overlay .*upperdir=$WORK/data/tasks/.spare/" "/proc/$p/mountinfo" 2>/dev/null; done | wc -l; }
armed_are() { [ "$(armed_roots)" "$1" "$2" ]; }
check "3 warm containers made their roots ahead" wait_for 10 armed_are = 3
cat >"$WORK/armed.json" <<'J'
{"family":"armed","containerDefinitions":[{"name":"a","image":"busybox","memory":32,"stopTimeout":2,
 "command":["sh","-c","echo written >/in-upper; echo host=$(cat /etc/hostname); sleep 3600"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/armed.json" >/dev/null
A=$(ecs run-task --cluster rs --task-definition armed | jget "d['tasks'][0]['taskArn']")
AID=${A##*/}
check "a task of that image runs" wait_for 15 task_status_is rs "$A" RUNNING
apid=$(task_pid "$A")
check "on a root made ahead" grep -q " - overlay overlay .*upperdir=$WORK/data/tasks/.spare/" "/proc/$apid/mountinfo"
expect_eq "with the host's root detached: one mount on /" "$(awk '$5 == "/"' "/proc/$apid/mountinfo" | wc -l)" 1
check "and no host cgroup mount" bash -c "! grep -q ' /sys/fs/cgroup/memory ' /proc/$apid/mountinfo"
check "its writable layer is the task's" wait_for 10 test -f "$WORK/data/tasks/$AID/c/a/upper/in-upper"
check "it sees its hostname" wait_for 10 bash -c "rest GET '/v1/tasks/$AID/logs?cluster=rs' | grep -q 'host=${AID:0:12}'"
check "it is in its container's cgroups" grep -q "$AID/a" "/proc/$apid/cgroup"
check "the root taken is made again" wait_for 10 armed_are = 3
# Tasks of another image take the plain warm supervisor first, then armed ones, whose
# containers are ended and forked anew; the roots are then made for that image.
bash "$ROOT/tests/lib/mkimage-busybox.sh" "$WORK/other" >/dev/null
echo other >"$WORK/other/which"
"$BUILD/berthctl" --endpoint-url "$ENDPOINT" image import other:1 "$WORK/other" >/dev/null
cat >"$WORK/other.json" <<'J'
{"family":"other","containerDefinitions":[{"name":"a","image":"other:1","memory":32,"stopTimeout":2,
 "command":["sh","-c","echo img=$(cat /which) host=$(cat /etc/hostname); sleep 3600"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/other.json" >/dev/null
others=$(ecs run-task --cluster rs --task-definition other --count 3 | jget "' '.join(t['taskArn'] for t in d['tasks'])")
n_other=0
for o in $others; do
	check "a task of another image runs ($((++n_other)) of 3)" wait_for 15 task_status_is rs "$o" RUNNING
	check "on its own image, with its hostname" wait_for 10 bash -c "rest GET '/v1/tasks/${o##*/}/logs?cluster=rs' | grep -q 'img=other host=$(echo "${o##*/}" | cut -c1-12)'"
done
lower=$(grep -o ' - overlay overlay .*lowerdir=[^,]*' "/proc/$(task_pid "${others%% *}")/mountinfo" | head -n 1 | sed 's/.*lowerdir=//')
armed_for() { local p; for p in $(pgrep -x berth-task); do grep -l "lowerdir=$1,upperdir=$WORK/data/tasks/.spare/" "/proc/$p/mountinfo" 2>/dev/null; done | wc -l; }
armed_for_is() { [ "$(armed_for "$1")" = "$2" ]; }
check "roots are made ahead for that image instead" wait_for 10 armed_for_is "$lower" 3
expect_eq "and none is left for the old one" "$(armed_roots)" 3
for o in $others; do ecs stop-task --cluster rs --task "$o" >/dev/null; done
ecs stop-task --cluster rs --task "$A" >/dev/null
# A deleted cluster's sets go with it.
ecs create-cluster --cluster-name pp >/dev/null
P1=$(ecs run-task --cluster pp --task-definition long | jget "d['tasks'][0]['taskArn']")
check "another cluster makes sets of its own" wait_for 10 pool_is pp 4
ecs stop-task --cluster pp --task "$P1" >/dev/null
check "its task stops" wait_for 20 task_status_is pp "$P1" STOPPED
ecs delete-cluster --cluster pp >/dev/null
check "deleting the cluster removes them" wait_for 5 pool_is pp 0
berth_kill9
check "container survives kill -9 of berthd" kill -0 "$pid_before"
# The short task exits while berthd is down.
check "short task exits while berthd is down" wait_for 30 bash -c "! kill -0 $pid_short 2>/dev/null"
for f in "$WORK"/data/state/tasks/*.json "$WORK"/data/state/clusters/*.json "$WORK"/data/state/taskdefs/*.json; do
	python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$f" || { not_ok "state file $f parses"; continue; }
done
ok "every state file parses"
# A spare tree left by the crash (and one made up) are removed at the next start.
mkdir -p "$WORK/data/tasks/.spare/99/c/_/upper"
berth_start
check "leftover spare trees are removed at start" wait_for 5 test ! -e "$WORK/data/tasks/.spare/99"
check "and made again" wait_for 10 spares_ready
check "long task still RUNNING after restart" task_status_is rs "$L" RUNNING
expect_eq "same process, not started twice" "$(task_pid "$L")" "$pid_before"
expect_eq "one long task" "$(ecs list-tasks --cluster rs --family long | jget "len(d['taskArns'])")" 1
check "exit while down is recorded" wait_for 10 task_status_is rs "$S" STOPPED
expect_eq "exit code recorded while down" "$(task_field rs "$S" "d['tasks'][0]['containers'][0]['exitCode']")" 7
expect_eq "stop code of the exit while down" "$(task_field rs "$S" "d['tasks'][0]['stopCode']")" EssentialContainerExited
ecs stop-task --cluster rs --task "$L" >/dev/null
check "re-adopted task can be stopped" wait_for 10 task_status_is rs "$L" STOPPED
check "its process is gone" bash -c "! kill -0 $pid_before 2>/dev/null"

# A corrupted state file is reported, kept aside, and loses nothing else.
echo '{"taskArn": "arn:aws:ecs:us-east-1:000000000000:task/rs/' >"$WORK/data/state/tasks/broken.json"
berth_stop
berth_start
check "daemon starts with a corrupt state file" curl -sf "$ENDPOINT/healthz"
check "corrupt file kept aside" test -f "$WORK/data/state/tasks/broken.json.corrupt"
check "corruption is reported naming the file" grep -q "broken.json" "$WORK/berthd.log"
expect_eq "other tasks still there" "$(ecs list-tasks --cluster rs --desired-status STOPPED | jget "len(d['taskArns'])")" 7

# A task cgroup that no state file names (berthd died between a supervisor's fork and the task's
# first save) is killed and removed at the next start; the tasks it knows are left alone.
berth_stop
check "a clean stop removes the spare trees" test ! -e "$WORK/data/tasks/.spare" -a ! -e "$WORK/data/log/.spare"
# (berthd is down: the tasks it knows are those with a state file)
unstated() { for d in "$CGROOT/rs"/*/; do d=$(basename "$d"); [[ $d =~ ^[0-9a-f]{32}$ ]] && [ ! -e "$WORK/data/state/tasks/$d.json" ] && echo "$d"; done; }
expect_eq "and the task cgroups made ahead" "$(unstated | wc -l)" 0
ORPHAN=0123456789abcdef0123456789abcdef
UNI=/sys/fs/cgroup/unified/$PARENT/rs/$ORPHAN
[ -d /sys/fs/cgroup/unified ] || UNI=/sys/fs/cgroup/$PARENT/rs/$ORPHAN
mkdir -p "$UNI"
sleep 3600 &
ORPHAN_PID=$!
echo "$ORPHAN_PID" >"$UNI/cgroup.procs"
berth_start
check "orphan task cgroup's process is killed" wait_for 10 bash -c "! kill -0 $ORPHAN_PID 2>/dev/null || grep -q '^State:.*Z' /proc/$ORPHAN_PID/status"
wait "$ORPHAN_PID" 2>/dev/null
check "orphan task cgroup is removed" wait_for 10 test ! -d "$UNI"
check "the removal is logged" grep -q "removing task cgroup.*$ORPHAN" "$WORK/berthd.log"
# Without warm supervisors or spare trees (launch_pool_size 0) every directory is made at launch;
# a task of two containers gets both containers' overlay directories either way.
berth_stop
berth_start --launch-pool-size 0
cat >"$WORK/two.json" <<'J'
{"family":"two","containerDefinitions":[{"name":"a","image":"busybox","memory":32,"command":["sleep","3600"],"stopTimeout":2},
 {"name":"b","image":"busybox","memory":32,"command":["sleep","3600"],"stopTimeout":2}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/two.json" >/dev/null
T=$(ecs run-task --cluster rs --task-definition two | jget "d['tasks'][0]['taskArn']")
check "a two-container task runs without spare trees" wait_for 15 task_status_is rs "$T" RUNNING
check "no spare trees are made" test ! -e "$WORK/data/tasks/.spare"
check "both containers' directories are made" test -d "$WORK/data/tasks/${T##*/}/c/a/upper" -a -d "$WORK/data/tasks/${T##*/}/c/b/upper"
berth_stop
berth_start
T2=$(ecs run-task --cluster rs --task-definition two | jget "d['tasks'][0]['taskArn']")
check "with spare trees too" wait_for 15 task_status_is rs "$T2" RUNNING
check "the first container's directories came from a spare tree, the second's were made" test -d "$WORK/data/tasks/${T2##*/}/c/a/upper" -a -d "$WORK/data/tasks/${T2##*/}/c/b/work" -a ! -e "$WORK/data/tasks/${T2##*/}/c/_"
ecs stop-task --cluster rs --task "$T" >/dev/null
ecs stop-task --cluster rs --task "$T2" >/dev/null
check "both stop" wait_for 20 bash -c "task_status_is rs '$T' STOPPED && task_status_is rs '$T2' STOPPED"
# The first container's /etc mount points come made in the spare tree's upper layer (as in
# Docker's init layer), fitted at launch to the image's /etc and to the network mode.
bash "$ROOT/tests/lib/mkimage-busybox.sh" "$WORK/odd" >/dev/null
chmod 0750 "$WORK/odd/etc"
"$BUILD/berthctl" --endpoint-url "$ENDPOINT" image import odd:1 "$WORK/odd" >/dev/null
cat >"$WORK/etc.json" <<'J'
{"family":"etc","containerDefinitions":[{"name":"a","image":"odd:1","memory":32,"stopTimeout":2,
 "command":["sh","-c","echo hostname=$(cat /etc/hostname); grep -c 127.0.1.1 /etc/hosts; sleep 3600"]}]}
J
cat >"$WORK/hostnet.json" <<'J'
{"family":"hostnet","networkMode":"host","containerDefinitions":[{"name":"a","image":"busybox","memory":32,"stopTimeout":2,
 "command":["sh","-c","echo etc=$(ls /etc | tr '\\n' ' '); sleep 3600"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/etc.json" >/dev/null
ecs register-task-definition --cli-input-json "file://$WORK/hostnet.json" >/dev/null
check "spare trees are ready for them" wait_for 10 spares_ready
E=$(ecs run-task --cluster rs --task-definition etc | jget "d['tasks'][0]['taskArn']")
H=$(ecs run-task --cluster rs --task-definition hostnet | jget "d['tasks'][0]['taskArn']")
check "both run" wait_for 15 bash -c "task_status_is rs '$E' RUNNING && task_status_is rs '$H' RUNNING"
EID=${E##*/}
check "the container sees its hostname and hosts" wait_for 10 bash -c "rest GET '/v1/tasks/$EID/logs?cluster=rs' | grep -q 'hostname=${EID:0:12}' && rest GET '/v1/tasks/$EID/logs?cluster=rs' | grep -qx 1"
expect_eq "the upper layer's /etc has the image's mode" "$(stat -c %a "$WORK/data/tasks/${E##*/}/c/a/upper/etc")" 750
check "a host-network task gets no hostname mount point" test -f "$WORK/data/tasks/${H##*/}/c/a/upper/etc/hosts" -a ! -e "$WORK/data/tasks/${H##*/}/c/a/upper/etc/hostname"
check "and its container's /etc has no hostname file" wait_for 10 bash -c "rest GET '/v1/tasks/${H##*/}/logs?cluster=rs' | grep 'etc=' | grep -vq hostname"
ecs stop-task --cluster rs --task "$E" >/dev/null
ecs stop-task --cluster rs --task "$H" >/dev/null
# Spare trees that cannot be made (here .spare is a file) or moved: launches make their
# directories themselves, and the failure is said once a minute, not once a launch.
check "spare trees are ready again" wait_for 10 spares_ready
rm -rf "$WORK/data/tasks/.spare" && touch "$WORK/data/tasks/.spare"
arns=()
for _ in 1 2 3 4 5 6; do
	arns+=("$(ecs run-task --cluster rs --task-definition long | jget "d['tasks'][0]['taskArn']")")
	sleep 0.2
done
check "every launch runs without spare trees" wait_for 30 bash -c "for a in ${arns[*]}; do task_status_is rs \$a RUNNING || exit 1; done"
expect_eq "moving a missing spare tree is logged once for each tree" "$(grep -c 'cannot move a spare tree' "$WORK/berthd.log")" 4
expect_eq "failing to make spare trees is logged once" "$(grep -c 'cannot make a spare task directory tree' "$WORK/berthd.log")" 1
for a in "${arns[@]}"; do ecs stop-task --cluster rs --task "$a" >/dev/null; done
rm -f "$WORK/data/tasks/.spare"
