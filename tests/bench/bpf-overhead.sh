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

echo "# pingpong, $ROUNDS round trips, $PAIRS pairs (detached, attached) alternating"
OFF=() ON=()
for i in $(seq 1 "$PAIRS"); do
	OFF+=("$(pp)")
	attach
	ON+=("$(pp)")
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

echo "# draining the maps: $TASKS task cgroups with one container each, ${DRAIN_SECONDS} s per interval"
for iv in 1 5; do
	"$BUILD/tests/bench/bpf_probes" drain "$CG" "$TASKS" "$DRAIN_SECONDS" "$iv"
done
echo "# target: under 1 % of a core at 1000 tasks"
