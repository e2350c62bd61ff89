#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bpf-overhead.sh: what berth's eBPF probes cost.
#  1. A context-switch-heavy workload (tests/bench/pingpong.c: two processes passing a byte over
#     pipes, pinned to CPU 0, in a cgroup the probes follow) with every probe attached and with
#     none, PAIRS pairs of ROUNDS round trips, interleaved in ABBA order (detached-attached,
#     attached-detached, ...) by one process that keeps the probes loaded and only attaches and
#     detaches them. Per pair, the slowdown in percent of the attached run against its detached
#     twin, by wall time and by the CPU time of the two processes per round trip (what the
#     programs run on their behalf counts there; what else runs on the machine much less): the
#     median over the pairs, the interquartile range and a bootstrap 95% interval of the median.
#     Target: under 3 %.
#  2. The kernel's own account of each program's run time per event (kernel.bpf_stats_enabled,
#     the programs of this run only) over STATS_RUNS attached runs. The statistics cost two clock
#     reads per program run themselves, so they are off while 1. and 3. measure the slowdown.
#  3. The same for the sched probe with its own wakeup stamps (bpf_sched_wakeups=true: three
#     programs, a clock read and task storage, as kernels without the scheduler's per-task
#     record need), WAKEUP_PAIRS pairs: the cost of the previous design, measured in the same run.
#  4. Draining the maps as the collector does: 1000 task cgroups followed, every container's
#     counters read each interval (1 s and the default 5 s): CPU time in percent of a core.
#     Target: under 1 % at 1000 tasks. berthd reports the same cost of its own reads as
#     berth_bpf_map_read_seconds_total.
# Prints figures and the load average; asserts nothing (run by hand as root:
# BERTH_BUILD=build tests/bench/bpf-overhead.sh).
. "$(dirname "$0")/../integration/lib.sh"
PAIRS=${PAIRS:-30}
WAKEUP_PAIRS=${WAKEUP_PAIRS:-10}
STATS_RUNS=${STATS_RUNS:-4}
ROUNDS=${ROUNDS:-50000}
TASKS=${TASKS:-1000}
DRAIN_SECONDS=${DRAIN_SECONDS:-30}
UNIFIED=/sys/fs/cgroup/unified
[ -f /sys/fs/cgroup/cgroup.controllers ] && UNIFIED=/sys/fs/cgroup
CG=$UNIFIED/berth-bench-bpf-$$
HELPER_PID=
stop_helper() {
	[ -n "$HELPER_PID" ] || return 0
	exec 7>&- 8<&-
	wait "$HELPER_PID" 2>/dev/null
	HELPER_PID=
}
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
trap 'sysctl -qw kernel.bpf_stats_enabled=$STATS_WAS 2>/dev/null; stop_helper; rmdir "$CG/app" "$CG" 2>/dev/null; berth_cleanup' EXIT
mkdir -p "$CG/app"
stats_on() { sysctl -qw kernel.bpf_stats_enabled="$1" 2>/dev/null; }
stats_on 0 || echo "# kernel.bpf_stats_enabled cannot be set: no per-event figures"
load() { cut -d' ' -f1-3 /proc/loadavg; }

# The helper: loaded, detached; "on"/"off" on fd 7, its answers on fd 8.
start_helper() {
	mkfifo "$WORK/h.in" "$WORK/h.out"
	"$BUILD/tests/bench/bpf_probes" toggle "$CG" $1 <"$WORK/h.in" >"$WORK/h.out" 2>"$WORK/h.err" &
	HELPER_PID=$!
	exec 7>"$WORK/h.in" 8<"$WORK/h.out"
	rm -f "$WORK/h.in" "$WORK/h.out"
	read -r -t 120 line <&8 || { echo "the probes did not load:"; cat "$WORK/h.err"; exit 1; }
	echo "# $line"
}
probes() { echo "$1" >&7; read -r -t 60 ack <&8 && [ "$ack" = "$1" ] || { echo "the helper did not answer $1:"; cat "$WORK/h.err"; exit 1; }; }
# The helper's programs: "name run_time_ns run_cnt" each (their ids from its fdinfo).
prog_stats() {
	local ids
	ids=$(grep -h '^prog_id:' /proc/"$HELPER_PID"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -u)
	for id in $ids; do bpftool -j prog show id "$id" 2>/dev/null; echo; done | python3 -c '
import json, sys
for line in sys.stdin:
    if line.strip():
        p = json.loads(line)
        print("%s %d %d" % (p.get("name", "?"), p.get("run_time_ns", 0), p.get("run_cnt", 0)))'
}
# pingpong in the followed cgroup, on CPU 0: "round-trips/s cpu-ns/round-trip".
pp() { bash -c "echo \$\$ > '$CG/app/cgroup.procs'; exec taskset -c 0 '$BUILD/tests/bench/pingpong' $ROUNDS" | awk '{ print $(NF - 10), $(NF - 4) }'; }

# measure NAME PAIRS: ABBA pairs; appends "off_rate off_cpu on_rate on_cpu" lines to $WORK/NAME.
measure() {
	local name=$1 n=$2 off on
	: >"$WORK/$name"
	for i in $(seq 1 "$n"); do
		if [ $((i % 2)) = 1 ]; then
			probes off; off=$(pp); probes on; on=$(pp)
		else
			probes on; on=$(pp); probes off; off=$(pp)
		fi
		echo "$off $on" >>"$WORK/$name"
	done
	probes off
}
summary() {
	python3 - "$WORK/$1" "$2" <<'P'
import random, statistics, sys
rows = [[float(x) for x in l.split()] for l in open(sys.argv[1]) if l.strip()]
def stats(v):
    v = sorted(v)
    q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0]] * 3
    rnd = random.Random(1)
    meds = sorted(statistics.median(rnd.choice(v) for _ in v) for _ in range(2000))
    return statistics.median(v), q[0], q[2], meds[50], meds[1949]
wall = [(r[0] - r[2]) / r[0] * 100 for r in rows]      # rate: fewer round trips per second
cpu = [(r[3] - r[1]) / r[1] * 100 for r in rows]       # more CPU per round trip
print("%s: %d pairs of ABBA-ordered runs" % (sys.argv[2], len(rows)))
print("  detached: median %.0f round trips/s, %.0f ns CPU per round trip" %
      (statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)))
print("  attached: median %.0f round trips/s, %.0f ns CPU per round trip" %
      (statistics.median(r[2] for r in rows), statistics.median(r[3] for r in rows)))
for what, v in (("wall time", wall), ("CPU time per round trip", cpu)):
    m, q1, q3, lo, hi = stats(v)
    print("  slowdown by %s: median %.2f %% (IQR %.2f .. %.2f %%, 95%% interval of the median %.2f .. %.2f %%)"
          % (what, m, q1, q3, lo, hi))
print("  (target < 3 %)")
P
}
# per_event: STATS_RUNS attached runs with the statistics on; each program's time per run.
per_event() {
	probes on
	stats_on 1
	prog_stats >"$WORK/ps0"
	for i in $(seq 1 "$STATS_RUNS"); do pp >/dev/null; done
	prog_stats >"$WORK/ps1"
	stats_on 0
	probes off
	python3 - "$WORK/ps0" "$WORK/ps1" <<'P'
import sys
before = {l.split()[0]: [int(x) for x in l.split()[1:]] for l in open(sys.argv[1]) if l.strip()}
after = {l.split()[0]: [int(x) for x in l.split()[1:]] for l in open(sys.argv[2]) if l.strip()}
for name in sorted(after):
    t = after[name][0] - before.get(name, [0, 0])[0]
    n = after[name][1] - before.get(name, [0, 0])[1]
    if n:
        print("  %-24s %9d runs  %5.0f ns per run" % (name, n, t / n))
P
}

echo "# load average at the start: $(load) ($(nproc) CPUs)"
echo "# 1. pingpong, $ROUNDS round trips per run, on CPU 0, in a followed cgroup"
start_helper ""
measure main "$PAIRS"
summary main "every probe"
echo "# 2. run time per event, $STATS_RUNS attached runs (kernel.bpf_stats_enabled, all CPUs, this run's programs):"
per_event
stop_helper
echo "# 3. the sched probe with its own wakeup stamps (bpf_sched_wakeups=true)"
start_helper wakeups
measure wakeups "$WAKEUP_PAIRS"
summary wakeups "every probe, sched with wakeup stamps"
per_event
stop_helper
echo "# load average after the pingpong runs: $(load)"
echo "# 4. draining the maps: $TASKS task cgroups with one container each, ${DRAIN_SECONDS} s per interval"
for iv in 1 5; do
	"$BUILD/tests/bench/bpf_probes" drain "$CG" "$TASKS" "$DRAIN_SECONDS" "$iv"
done
echo "# target: under 1 % of a core at 1000 tasks; load average at the end: $(load)"
