#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 140
# test_bpf.sh: the eBPF probes in a real berthd - 10 MiB over TCP between two tasks, run-queue
# latency of two spinners on a capped CPU against an idle task, an OOM kill, exec/exit counts of
# a shell loop; then berthd without BPF: the collector alone, and /healthz says why.
. "$(dirname "$0")/lib.sh"

in_range() { python3 -c "import sys; v=float(sys.argv[1]); sys.exit(0 if float(sys.argv[2]) <= v <= float(sys.argv[3]) else 1)" "$@"; }
query() { rest GET "/v1/metrics/query?$1"; }
sum_of() { jget "sum(p['Sum'] for p in d['Datapoints'])"; }
max_of() { jget "max([p['Maximum'] for p in d['Datapoints']] or [0])"; }
# prom NAME TASK [EXTRA]: the value of a container family of the task in /metrics.
prom() { curl -s "$ENDPOINT/metrics" | awk -v n="$1" -v id="$2" -v x="${3:-}" 'index($1, n "{") == 1 && index($1, id) && index($1, x) { print $2; exit }'; }

berth_start --collect-interval 1
T0=$(date +%s)
H=$(curl -s "$ENDPOINT/healthz")
if [ "$(echo "$H" | jget "all(p['up'] for p in d['bpf']['probes'].values())")" != True ]; then
	# A host without eBPF: the degraded path is all there is to test.
	echo "# eBPF probes missing here: $(echo "$H" | jget "d['bpf']")"
	expect_match "healthz names the missing probes" "$H" '"reason"'
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
	exit
fi
ok "healthz: every probe up"
M=$(curl -s "$ENDPOINT/metrics")
expect_match "berth_bpf_probe_up" "$M" 'berth_bpf_probe_up\{probe="network"\} 1'
import_busybox >/dev/null
ecs create-cluster --cluster-name bpf >/dev/null
# Host networking: the probes count whatever the network namespace, and the two tasks reach each
# other over the host's loopback. A half-CPU cap for the spinners' task.
cat >"$WORK/td.json" <<'J'
{"family":"probe","networkMode":"host","cpu":"512","memory":"64",
 "containerDefinitions":[{"name":"app","image":"busybox","essential":true,"command":["sleep","3600"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/td.json" >/dev/null
run() { ecs run-task --cluster bpf --task-definition probe --overrides "{\"containerOverrides\":[{\"name\":\"app\",\"command\":[\"sh\",\"-c\",\"$1\"]}]}" | jget "d['tasks'][0]['taskArn'].split('/')[-1]"; }
# The tasks start after the collector's first cycle, as tasks launched on a running berthd do:
# their series then hold every row, and queries are answered from the window alone (a task
# re-adopted at start has its earlier rows in its RRD file, which the window completes).
wait_for 20 bash -c "curl -s '$ENDPOINT/metrics' | grep -q '^berth_collector_cycles_total [1-9]'"
P=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MIB10=10485760
RX=$(run "sleep 3600 | nc -l -p $P | wc -c; sleep 3600")
TX=$(run "until head -c $MIB10 /dev/zero | nc 127.0.0.1 $P; do sleep 0.2; done; echo sent; sleep 3600")
SPIN=$(run 'while :; do :; done & while :; do :; done')
IDLE=$(run 'while :; do sleep 1; done')
LOOP=$(run 'i=0; while [ $i -lt 40 ]; do /bin/busybox true; sh -c \"exit 3\"; i=$((i+1)); done; echo looped; sleep 3600')

check "receiver got 10 MiB" wait_for 30 bash -c "rest GET '/v1/tasks/$RX/logs?cluster=bpf' | grep -q '^$MIB10'"
# The probes' counters: exact bytes on the wire, payload plus the TCP/IP headers.
TXB=$(prom container_network_transmit_bytes_total "$TX")
RXB=$(prom container_network_receive_bytes_total "$RX")
wait_for 10 bash -c "[ \"\$(curl -s '$ENDPOINT/metrics' | awk -v id='$RX' 'index(\$1, \"container_network_receive_bytes_total{\") == 1 && index(\$1, id) { print \$2 }')\" -ge $MIB10 ]" 2>/dev/null
RXB=$(prom container_network_receive_bytes_total "$RX")
TXB=$(prom container_network_transmit_bytes_total "$TX")
check "container_network_transmit_bytes_total of the sender ~10 MiB ($TXB)" in_range "${TXB:-0}" $MIB10 $((MIB10 * 105 / 100))
check "container_network_receive_bytes_total of the receiver ~10 MiB ($RXB)" in_range "${RXB:-0}" $MIB10 $((MIB10 * 105 / 100))
# Container Insights: bytes/second per interval; their sum times the 1 s interval is the total.
sleep 2
NOW=$(date +%s)
TXS=$(query "ClusterName=bpf&TaskId=$TX&end=$((NOW + 1))&metric=NetworkTxBytes&period=60&start=$((T0 + 1))&statistics=Sum" | sum_of)
RXS=$(query "ClusterName=bpf&TaskId=$RX&end=$((NOW + 1))&metric=NetworkRxBytes&period=60&start=$((T0 + 1))&statistics=Sum" | sum_of)
check "NetworkTxBytes of the sender totals 10 MiB +-5% ($TXS)" in_range "$TXS" $((MIB10 * 95 / 100)) $((MIB10 * 105 / 100))
check "NetworkRxBytes of the receiver totals 10 MiB +-5% ($RXS)" in_range "$RXS" $((MIB10 * 95 / 100)) $((MIB10 * 105 / 100))
# The other direction carries only ACKs.
TXR=$(query "ClusterName=bpf&TaskId=$RX&end=$((NOW + 1))&metric=NetworkTxBytes&period=60&start=$((T0 + 1))&statistics=Sum" | sum_of)
check "the receiver sent only ACKs ($TXR)" in_range "$TXR" 1 $((MIB10 / 10))

# Run-queue latency: two spinners on half a CPU wait for each other and for the quota; an idle
# task waking every second barely waits. The p99 metric, and the histogram's total wait per second
# over the same seconds: a busy host (a shared CI machine) delays every wakeup, so single waits of
# an idle task may be long too (0.28 s/s seen on one, against 1.33 for the spinners), but the
# spinners wait nearly all the time.
hist() { curl -s "$ENDPOINT/metrics" | awk -v id="$1" 'index($1, id) && index($1, "berth_runqueue_latency_seconds_sum{") == 1 { s = $2 } index($1, id) && index($1, "berth_runqueue_latency_seconds_count{") == 1 { c = $2 } END { print s, c }'; }
W1=$(date +%s.%N); HS1=$(hist "$SPIN"); HI1=$(hist "$IDLE")
sleep 4
W2=$(date +%s.%N); HS2=$(hist "$SPIN"); HI2=$(hist "$IDLE")
mean() { python3 -c "a, b = '$1'.split(), '$2'.split(); print((float(b[0]) - float(a[0])) / max(1, float(b[1]) - float(a[1])) * 1e3)"; }
waiting() { python3 -c "a, b = '$1'.split(), '$2'.split(); print((float(b[0]) - float(a[0])) / ($W2 - $W1))"; }
MS=$(mean "$HS1" "$HS2"); MI=$(mean "$HI1" "$HI2"); WS=$(waiting "$HS1" "$HS2"); WI=$(waiting "$HI1" "$HI2")
NOW=$(date +%s)
PS=$(query "ClusterName=bpf&TaskId=$SPIN&end=$((NOW + 1))&metric=RunQueueLatencyP99&period=60&start=$((NOW - 4))&statistics=Maximum" | max_of)
PI=$(query "ClusterName=bpf&TaskId=$IDLE&end=$((NOW + 1))&metric=RunQueueLatencyP99&period=60&start=$((NOW - 4))&statistics=Maximum" | max_of)
echo "# run-queue latency: spinners p99 $PS ms, mean $MS ms, waiting $WS s/s; idle p99 $PI ms, mean $MI ms, waiting $WI s/s"
check "spinners' run-queue p99 above 1 ms ($PS)" in_range "$PS" 1 100000
check "spinners wait in the run queue far more than the idle task ($WS vs $WI s/s)" python3 -c "import sys; sys.exit(0 if $WS > 3 * $WI and $WS > 0.5 else 1)"
expect_match "berth_runqueue_latency_seconds histogram" "$(curl -s "$ENDPOINT/metrics" | grep "^berth_runqueue_latency_seconds_count.*$SPIN")" ' [1-9][0-9]* '
# Alarms and the API: the cluster aggregate carries the slowest task's p99, second by second.
QT=$(query "ClusterName=bpf&TaskId=$SPIN&end=$((NOW + 1))&metric=RunQueueLatencyP99&period=1&start=$((NOW - 4))&statistics=Maximum")
QC=$(query "ClusterName=bpf&end=$((NOW + 1))&metric=RunQueueLatencyP99&period=1&start=$((NOW - 4))&statistics=Maximum")
check "cluster RunQueueLatencyP99 is at least the spinners' each second" python3 -c "
import json, sys
t = {p['Timestamp']: p['Maximum'] for p in json.loads(sys.argv[1])['Datapoints']}
c = {p['Timestamp']: p['Maximum'] for p in json.loads(sys.argv[2])['Datapoints']}
both = [k for k in t if k in c]
print(both, t, c)
sys.exit(0 if len(both) >= 3 and all(c[k] >= t[k] - 1e-3 for k in both) else 1)" "$QT" "$QC"

# Processes: 40 rounds of an exec of true and a shell exiting 3.
check "loop task finished its rounds" wait_for 30 bash -c "rest GET '/v1/tasks/$LOOP/logs?cluster=bpf' | grep -q looped"
sleep 1.5
EX=$(prom berth_task_execs_total "$LOOP")
E3=$(prom berth_task_exits_total "$LOOP" 'how="code_nonzero"')
check "berth_task_execs_total counts the loop's execs ($EX)" in_range "${EX:-0}" 80 200
check "berth_task_exits_total counts the 40 exits with code 3 ($E3)" in_range "${E3:-0}" 40 40

# OOM: 100 MiB wanted under a 64 MiB limit; the probe names the task at once.
OOM=$(run "awk 'BEGIN { s = sprintf(\\\"%104857600s\\\", \\\"\\\"); print length(s) }'")
check "OOM task stopped" wait_for 30 task_status_is bpf "$OOM" STOPPED
expect_eq "stoppedReason of the OOM-killed task" "$(task_field bpf "$OOM" "d['tasks'][0]['stoppedReason']")" "OutOfMemoryError: Container killed due to memory usage"
check "the probe reported the kill in the task's container" grep -q "runtime: task $OOM: the kernel killed pid [0-9]* of container app for memory" "$WORK/berthd.log"
OE=$(curl -s "$ENDPOINT/metrics" | awk '$1 == "berth_bpf_events_total{type=\"oom_kill\"}" { print $2 }')
# The counter is of every OOM kill on the host (other suites' tests have their own).
check "berth_bpf_events_total counts the OOM kill ($OE)" in_range "${OE:-0}" 1 1000000

# A container that sleeps costs no file reads while the sched probe sees nothing of it run
# (cgroup v1 and hybrid hosts), and one that wakes is read again at once: its CPU counter moves
# in every one of the seconds after it starts spinning.
WAKE=$(run "sleep 8; while :; do :; done")
check "waking task running" wait_for 20 task_status_is bpf "$WAKE" RUNNING
cpu_of() { prom container_cpu_usage_seconds_total "$WAKE"; }
spinning() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1] or 0) > 0.05 else 1)" "$(cpu_of)"; }
check "its CPU counter starts moving" wait_for 20 spinning
moves=0
prev=$(cpu_of)
for _ in 1 2 3 4; do
	sleep 1.1
	cur=$(cpu_of)
	python3 -c "import sys; sys.exit(0 if float(sys.argv[2]) > float(sys.argv[1]) else 1)" "$prev" "$cur" && moves=$((moves + 1))
	prev=$cur
done
expect_eq "a woken container is sampled every cycle" "$moves" 4
if grep -q " - cgroup2 " /proc/self/mountinfo && [ ! -d /sys/fs/cgroup/memory ]; then
	ok "# skip still readings: cgroup v2 reads every file"
else
	STILL=$(curl -s "$ENDPOINT/metrics" | awk '$1 == "berth_collector_still_samples_total" { print $2 }')
	check "sleeping containers' cycles read no file ($STILL)" in_range "${STILL:-0}" 1 1e12
fi
ecs stop-task --cluster bpf --task "$WAKE" >/dev/null
check "waking task stopped" wait_for 30 task_status_is bpf "$WAKE" STOPPED

# promtool has nothing to say about the exposition with the probes' families in it.
curl -s "$ENDPOINT/metrics" >"$WORK/metrics.txt"
check "promtool check metrics is clean" bash -c "promtool check metrics <'$WORK/metrics.txt' 2>&1 | tee '$WORK/promtool.log' | grep -q . && exit 1 || exit 0"

# Without BPF: berthd re-adopts the tasks and samples them from cgroups alone.
berth_stop
berth_start --collect-interval 1 --bpf false
H=$(curl -s "$ENDPOINT/healthz")
expect_eq "healthz: probes switched off" "$(echo "$H" | jget "sorted(set(p['reason'] for p in d['bpf']['probes'].values()))")" "['switched off by bpf=false']"
check "berth_bpf_probe_up 0" bash -c "curl -s '$ENDPOINT/metrics' | grep -q '^berth_bpf_probe_up{probe=\"oom\"} 0'"
check "the collector samples the tasks without BPF" wait_for 15 bash -c "curl -s '$ENDPOINT/metrics' | grep -q '^berth_collector_tasks 5'"
check "no network families without the probe" bash -c "! curl -s '$ENDPOINT/metrics' | grep -q '^container_network_transmit_bytes_total{'"
sleep 2
NOW=$(date +%s)
CPU=$(query "ClusterName=bpf&TaskId=$SPIN&end=$NOW&metric=CpuUtilized&period=60&start=$((NOW - 2))&statistics=Maximum" | max_of)
check "CpuUtilized of the spinners from cgroups ($CPU)" in_range "$CPU" 100 600
berth_stop
check "no sanitizer report from berthd" bash -c "! grep -E 'Sanitizer|runtime error' '$WORK/berthd.log'"
echo "1..$T_N"
[ "$T_FAILED" -eq 0 ]
