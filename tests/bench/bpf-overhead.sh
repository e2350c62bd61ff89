#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bpf-overhead.sh: what berth's eBPF probes cost.
#  1. A context-switch-heavy workload (tests/bench/pingpong.c: two processes passing a byte over
#     pipes, pinned to one CPU, in a cgroup the probes follow) with every probe attached and with
#     none, alternating PAIRS times in the same run: round trips per second and the slowdown in
#     percent (medians). Target: under 3 %.
#  2. Draining the maps as the collector does: 1000 task cgroups followed, every container's
#     counters read each interval (1 s and the default 5 s): CPU time in percent of a core.
#     Target: under 1 % at 1000 tasks. berthd reports the same cost of its own reads as
#     berth_bpf_map_read_seconds_total.
# Prints figures; asserts nothing (run by hand as root: BERTH_BUILD=build tests/bench/bpf-overhead.sh).
. "$(dirname "$0")/../integration/lib.sh"
PAIRS=${PAIRS:-5}
ROUNDS=${ROUNDS:-200000}
TASKS=${TASKS:-1000}
DRAIN_SECONDS=${DRAIN_SECONDS:-30}
UNIFIED=/sys/fs/cgroup/unified
[ -f /sys/fs/cgroup/cgroup.controllers ] && UNIFIED=/sys/fs/cgroup
CG=$UNIFIED/berth-bench-bpf-$$
HELPER_PID=
stop_helper() { [ -n "$HELPER_PID" ] && { exec 7>&-; wait "$HELPER_PID" 2>/dev/null; HELPER_PID=; }; }
trap 'stop_helper; rmdir "$CG/app" "$CG" 2>/dev/null; berth_cleanup' EXIT
mkdir -p "$CG/app"

# pingpong in the followed cgroup, on CPU 0: prints round trips per second.
pp() { bash -c "echo \$\$ > '$CG/app/cgroup.procs'; exec taskset -c 0 '$BUILD/tests/bench/pingpong' $ROUNDS" | awk '{ print $(NF - 2) }'; }
attach() {
	exec 7> >(exec "$BUILD/tests/bench/bpf_probes" attach "$CG" >"$WORK/helper.out" 2>&1)
	HELPER_PID=$!
	wait_for 60 grep -q attached "$WORK/helper.out" || { echo "probes did not attach:"; cat "$WORK/helper.out"; exit 1; }
}

# The kernel's own account of the programs' run time (kernel.bpf_stats_enabled) while attached.
STATS_WAS=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
sysctl -qw kernel.bpf_stats_enabled=1 2>/dev/null
trap 'sysctl -qw kernel.bpf_stats_enabled=$STATS_WAS 2>/dev/null; stop_helper; rmdir "$CG/app" "$CG" 2>/dev/null; berth_cleanup' EXIT
prog_stats() {
	bpftool -j prog show 2>/dev/null | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name", "").startswith(("berth_net", "berth_runq", "berth_oom", "berth_proc", "berth_blk")) and p.get("run_cnt"):
        print("%s %d %d" % (p["name"], p["run_time_ns"], p["run_cnt"]))'
}
: >"$WORK/progstats"
echo "# pingpong, $ROUNDS round trips, $PAIRS pairs (detached, attached) alternating"
OFF=() ON=()
for i in $(seq 1 "$PAIRS"); do
	OFF+=("$(pp)")
	attach
	ON+=("$(pp)")
	prog_stats >>"$WORK/progstats"
	stop_helper
	echo "pair $i: detached ${OFF[-1]}/s, attached ${ON[-1]}/s"
done
python3 - "${OFF[*]}" "${ON[*]}" <<'P'
import statistics, sys
off = [float(x) for x in sys.argv[1].split()]
on = [float(x) for x in sys.argv[2].split()]
mo, mn = statistics.median(off), statistics.median(on)
pairs = [(a - b) / a * 100 for a, b in zip(off, on)]
print("detached median %.0f round trips/s, attached median %.0f/s: slowdown %.2f %% (pairs: %s; target < 3 %%)"
      % (mo, mn, (mo - mn) / mo * 100, ", ".join("%.1f" % p for p in pairs)))
P

echo "# the probes' run time per event (kernel.bpf_stats_enabled, all CPUs, while attached):"
python3 - "$WORK/progstats" "$ROUNDS" "$PAIRS" <<'P'
import collections, sys
t, n = collections.Counter(), collections.Counter()
for line in open(sys.argv[1]):
    name, ns, cnt = line.split()
    t[name] += int(ns); n[name] += int(cnt)
for name in sorted(t):
    print("  %-24s %8d runs  %6.0f ns per run" % (name, n[name], t[name] / n[name]))
P
echo "# draining the maps: $TASKS task cgroups with one container each, ${DRAIN_SECONDS} s per interval"
for iv in 1 5; do
	"$BUILD/tests/bench/bpf_probes" drain "$CG" "$TASKS" "$DRAIN_SECONDS" "$iv"
done
echo "# target: under 1 % of a core at 1000 tasks"
