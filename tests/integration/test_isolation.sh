#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: alone (it measures CPU shares: other suites running beside it would skew them)
# test_isolation.sh: inside a running container - namespaces, privileges, masked paths, fds,
# and the kernel enforcing memory (OOM) and CPU limits.
. "$(dirname "$0")/lib.sh"

berth_start
import_busybox >/dev/null
ecs create-cluster --cluster-name iso >/dev/null

# One container prints what it sees, then waits to be inspected.
cat >"$WORK/probe.json" <<'J'
{"family":"probe","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"512","memory":"1024",
 "containerDefinitions":[{"name":"probe","image":"busybox","essential":true,"memory":256,"memoryReservation":128,
  "ulimits":[{"name":"nofile","softLimit":1000,"hardLimit":2000}],
  "command":["sh","-c","echo pid=$$; echo host=$(hostname); grep NoNewPrivs /proc/self/status; grep CapEff /proc/self/status; echo fds=$(ls /proc/self/fd | tr '\\n' ' '); echo timer_list=$(wc -c < /proc/timer_list); echo keys=$(wc -c < /proc/keys); echo acpi=$(ls /proc/acpi | wc -l); (echo 1 > /proc/sys/kernel/domainname) 2>/dev/null && echo procsys=writable || echo procsys=readonly; echo nofile=$(ulimit -n); echo ifaces=$(ls /sys/class/net 2>/dev/null | tr '\\n' ' '); echo netdev=$(grep -c : /proc/net/dev); echo pid1=$(cat /proc/1/comm); touch /written && echo rootfs=writable; echo ready; sleep 3600"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/probe.json" >/dev/null
T=$(ecs run-task --cluster iso --task-definition probe | jget "d['tasks'][0]['taskArn']")
ID=${T##*/}
check "probe task RUNNING" wait_for 10 task_status_is iso "$T" RUNNING
logs() { rest GET "/v1/tasks/$ID/logs?cluster=iso"; }
check "probe printed" wait_for 10 bash -c "rest GET '/v1/tasks/$ID/logs?cluster=iso' | grep -q ready"
L=$(logs)
expect_match "own pid namespace (small pid)" "$L" "pid=[0-9]$"$'\n'
expect_match "pid 1 is the task init" "$L" "pid1=berth-init"
expect_match "hostname is the short task id" "$L" "host=${ID:0:12}"
expect_match "NoNewPrivs 1" "$L" "NoNewPrivs:[[:space:]]+1"
expect_match "CapEff is runc's default set" "$L" "CapEff:[[:space:]]+00000000a80425fb"
expect_match "only fds 0-2 (and ls's own)" "$L" "fds=0 1 2 3"$'\n'
expect_match "/proc/timer_list masked" "$L" "timer_list=0"
expect_match "/proc/keys masked" "$L" "keys=0"
expect_match "/proc/acpi masked (empty)" "$L" "acpi=0"
expect_match "/proc/sys read-only" "$L" "procsys=readonly"
expect_match "ulimit nofile applied" "$L" "nofile=1000"
expect_match "private network: loopback only" "$L" "netdev=1"$'\n'
expect_match "root is writable by default" "$L" "rootfs=writable"

# Limits as the kernel sees them (v1 on hybrid hosts, v2 otherwise).
CG=/sys/fs/cgroup
if [ -d "$CG/memory/$PARENT" ]; then
	expect_eq "task memory limit" "$(cat "$CG/memory/$PARENT/iso/$ID/memory.limit_in_bytes")" $((1024 * 1024 * 1024))
	expect_eq "container memory limit" "$(cat "$CG/memory/$PARENT/iso/$ID/probe/memory.limit_in_bytes")" $((256 * 1024 * 1024))
	expect_eq "container soft limit" "$(cat "$CG/memory/$PARENT/iso/$ID/probe/memory.soft_limit_in_bytes")" $((128 * 1024 * 1024))
	expect_eq "task CPU cap (512 units = half a CPU)" "$(cat "$CG/cpu/$PARENT/iso/$ID/cpu.cfs_quota_us")/$(cat "$CG/cpu/$PARENT/iso/$ID/cpu.cfs_period_us")" "50000/100000"
	# The launch's weight boost is undone once the containers have exec'd (before RUNNING).
	expect_eq "task, cluster and parent CPU weights back to the default once RUNNING" "$(cat "$CG/cpu/$PARENT/iso/$ID/cpu.shares") $(cat "$CG/cpu/$PARENT/iso/cpu.shares") $(cat "$CG/cpu/$PARENT/cpu.shares")" "1024 1024 1024"
	check "container process is in its v1 memory cgroup" grep -q . "$CG/memory/$PARENT/iso/$ID/probe/cgroup.procs"
	check "unified v2 cgroup exists and is populated" grep -q "populated 1" "$CG/unified/$PARENT/iso/$ID/probe/cgroup.events"
else
	expect_eq "task memory.max" "$(cat "$CG/$PARENT/iso/$ID/memory.max")" $((1024 * 1024 * 1024))
	expect_eq "container memory.max" "$(cat "$CG/$PARENT/iso/$ID/probe/memory.max")" $((256 * 1024 * 1024))
	expect_eq "task cpu.max" "$(cat "$CG/$PARENT/iso/$ID/cpu.max")" "50000 100000"
	expect_eq "task, cluster and parent CPU weights back to the default once RUNNING" "$(cat "$CG/$PARENT/iso/$ID/cpu.weight") $(cat "$CG/$PARENT/iso/cpu.weight") $(cat "$CG/$PARENT/cpu.weight")" "100 100 100"
fi
ecs stop-task --cluster iso --task "$T" >/dev/null

# Read-only root and a user.
cat >"$WORK/ro.json" <<'J'
{"family":"ro","containerDefinitions":[{"name":"ro","image":"busybox","memory":64,"readonlyRootFilesystem":true,"user":"1000:1000","workingDirectory":"/tmp",
 "command":["sh","-c","touch /x 2>/dev/null && echo rootfs=writable || echo rootfs=readonly; echo uid=$(id -u) gid=$(id -g) cwd=$(pwd); grep CapEff /proc/self/status"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/ro.json" >/dev/null
T=$(ecs run-task --cluster iso --task-definition ro | jget "d['tasks'][0]['taskArn']")
check "ro task ends" wait_for 10 task_status_is iso "$T" STOPPED
L=$(rest GET "/v1/tasks/${T##*/}/logs?cluster=iso")
expect_match "readonlyRootFilesystem" "$L" "rootfs=readonly"
expect_match "user 1000:1000 and workingDirectory" "$L" "uid=1000 gid=1000 cwd=/tmp"
expect_match "non-root has no effective capabilities" "$L" "CapEff:[[:space:]]+0000000000000000"
expect_eq "exit code 0" "$(task_field iso "$T" "d['tasks'][0]['containers'][0]['exitCode']")" 0

# Memory: allocate past the limit -> the kernel's OOM killer -> OutOfMemoryError, 137.
cat >"$WORK/oom.json" <<'J'
{"family":"oom","containerDefinitions":[{"name":"hog","image":"busybox","memory":16,
 "command":["sh","-c","x=a; while true; do x=$x$x; done"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/oom.json" >/dev/null
T=$(ecs run-task --cluster iso --task-definition oom | jget "d['tasks'][0]['taskArn']")
check "OOM task ends" wait_for 30 task_status_is iso "$T" STOPPED
expect_eq "OOM exit code 137" "$(task_field iso "$T" "d['tasks'][0]['containers'][0]['exitCode']")" 137
expect_eq "OOM container reason" "$(task_field iso "$T" "d['tasks'][0]['containers'][0]['reason']")" "OutOfMemoryError: Container killed due to memory usage"
expect_match "OOM task reason" "$(task_field iso "$T" "d['tasks'][0]['stoppedReason']")" "OutOfMemoryError"

# CPU: a busy loop in a 256-unit (quarter CPU) task stays at its cap.
cat >"$WORK/cpu.json" <<'J'
{"family":"cpu","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
 "containerDefinitions":[{"name":"spin","image":"busybox","command":["sh","-c","while true; do :; done"],"stopTimeout":2}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/cpu.json" >/dev/null
T=$(ecs run-task --cluster iso --task-definition cpu | jget "d['tasks'][0]['taskArn']")
ID=${T##*/}
check "cpu task RUNNING" wait_for 10 task_status_is iso "$T" RUNNING
STAT=/sys/fs/cgroup/unified/$PARENT/iso/$ID/cpu.stat
[ -f "$STAT" ] || STAT=/sys/fs/cgroup/$PARENT/iso/$ID/cpu.stat
u0=$(awk '/^usage_usec/ {print $2}' "$STAT"); t0=$(date +%s%N)
sleep 2
u1=$(awk '/^usage_usec/ {print $2}' "$STAT"); t1=$(date +%s%N)
share=$(python3 -c "print(round(($u1-$u0)*1000/($t1-$t0), 2))")
echo "# cpu share of a 0.25-vCPU task spinning: $share"
check "CPU stays at its cap (<= 0.30 CPU)" python3 -c "import sys; sys.exit(0 if $share <= 0.30 else 1)"
check "CPU is used up to the cap (>= 0.15 CPU)" python3 -c "import sys; sys.exit(0 if $share >= 0.15 else 1)"
ecs stop-task --cluster iso --task "$T" >/dev/null
check "cpu task stops" wait_for 10 task_status_is iso "$T" STOPPED

# Devices: mknod works (CAP_MKNOD), opening a host block device does not; /dev/null does.
blk=$(for d in /sys/dev/block/*; do n=$(basename "$d"); dev=/dev/$(sed -n 's/^DEVNAME=//p' "$d/uevent"); [ -b "$dev" ] && head -c1 "$dev" >/dev/null 2>&1 && { echo "$n"; break; }; done)
if [ -n "$blk" ]; then
	cat >"$WORK/dev.json" <<J
{"family":"dev","containerDefinitions":[{"name":"d","image":"busybox","memory":32,
 "command":["sh","-c","mknod /tmp/blk b ${blk%%:*} ${blk##*:} && echo mknod=ok; head -c1 /tmp/blk >/dev/null 2>&1 && echo blk=open || echo blk=denied; echo x > /dev/null && echo null=ok"]}]}
J
	ecs register-task-definition --cli-input-json "file://$WORK/dev.json" >/dev/null
	T=$(ecs run-task --cluster iso --task-definition dev | jget "d['tasks'][0]['taskArn']")
	check "device task ends" wait_for 10 task_status_is iso "$T" STOPPED
	L=$(rest GET "/v1/tasks/${T##*/}/logs?cluster=iso")
	expect_match "mknod of a block device is allowed" "$L" "mknod=ok"
	expect_match "opening a host block device is denied" "$L" "blk=denied"
	expect_match "/dev/null works" "$L" "null=ok"
fi
