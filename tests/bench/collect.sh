#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collect.sh: cost of berthd's collector at a 1 s interval with N sleeping tasks (default 100 and
# 1000): berthd's CPU seconds per minute and RSS while it samples every second, against the same
# berthd sampling once a minute (the rest of berthd), and against collectd 5 (cgroups + rrdtool
# plugins, Interval 1) reading the same task cgroups in the same run. Prints figures and ratios;
# asserts nothing (run by hand: BERTH_BUILD=build tests/bench/collect.sh [N...]).
. "$(dirname "$0")/../integration/lib.sh"
SIZES=${*:-100 1000}
MEASURE=${MEASURE:-60}
HZ=$(getconf CLK_TCK)
COLLECTD_PID=

# CPU ticks (user + system) of a pid.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
# measure PID LABEL: CPU over MEASURE seconds -> "seconds-per-minute percent-of-a-core rss".
measure() {
	local t1 t2 w1 w2
	t1=$(ticks "$1"); w1=$(date +%s.%N); sleep "$MEASURE"; t2=$(ticks "$1"); w2=$(date +%s.%N)
	python3 -c "d = ($t2 - $t1) / $HZ; w = $w2 - $w1; print('%.3f %.2f' % (d / w * 60, d / w * 100))"
}
metric() { curl -s "$ENDPOINT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

launch_to() {
	local want=$1 have
	have=$(metric berth_collector_tasks); have=${have:-0}
	while [ "$have" -lt "$want" ]; do
		local batch=$(( (want - have) / 10 < 4 ? (want - have + 9) / 10 : 4 ))
		for _ in $(seq 1 "$batch"); do
			ecs run-task --cluster bench --task-definition sleeper --count 10 >/dev/null &
		done
		wait $(jobs -p | grep -v "^$BERTHD_PID$") 2>/dev/null
		sleep 2
		have=$(metric berth_collector_tasks); have=${have:-0}
		echo "# $have tasks sampled" >&2
	done
}

collectd_run() {
	local n=$1
	if [ ! -d "/sys/fs/cgroup/cpuacct/$PARENT" ]; then
		echo "collectd baseline: skipped (no v1 cpuacct hierarchy: collectd's cgroups plugin reads only v1)" >&2
		return
	fi
	mkdir -p "$WORK/collectd-rrd" "$WORK/collectd"
	cat >"$WORK/collectd.conf" <<C
Interval 1
BaseDir "$WORK/collectd"
PIDFile "$WORK/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin cgroups
LoadPlugin rrdtool
<Plugin cgroups>
  CGroup "/^[0-9a-f]{32}\$/"
</Plugin>
<Plugin rrdtool>
  DataDir "$WORK/collectd-rrd"
</Plugin>
C
	# collectd's plugin reads cgroups exactly two levels below the first cpuacct mount: in a
	# private mount namespace the task tree is bound over that mount, so that level is
	# <cluster>/<task-id>, the same task cgroups berthd reads.
	unshare -m --propagation private sh -c "mount --bind '/sys/fs/cgroup/cpuacct/$PARENT' /sys/fs/cgroup/cpuacct && exec collectd -f -C '$WORK/collectd.conf'" >"$WORK/collectd.log" 2>&1 &
	COLLECTD_PID=$!
	sleep 5
	local m r files
	m=$(measure "$COLLECTD_PID"); r=$(rss_mib "$COLLECTD_PID")
	files=$(find "$WORK/collectd-rrd" -name '*.rrd' | wc -l)
	kill "$COLLECTD_PID"; wait "$COLLECTD_PID" 2>/dev/null; COLLECTD_PID=
	echo "collectd N=$n: ${m% *} CPU s/min (${m#* }% of a core), RSS ${r} MiB, $files RRD files (CPU user/system only per cgroup)" >&2
	echo "$m"
}

berth_start --log-level warn --collect-interval 1
import_busybox >/dev/null
ecs create-cluster --cluster-name bench >/dev/null
cat >"$WORK/td.json" <<'J'
{"family":"sleeper","cpu":"128","memory":"64",
 "containerDefinitions":[{"name":"c","image":"busybox","command":["sleep","36000"],"stopTimeout":2}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/td.json" >/dev/null
for n in $SIZES; do
	launch_to "$n"
	sleep 5
	c1=$(metric berth_collector_cycle_seconds_total); k1=$(metric berth_collector_cycles_total)
	on=$(measure "$BERTHD_PID"); rss=$(rss_mib "$BERTHD_PID")
	c2=$(metric berth_collector_cycle_seconds_total); k2=$(metric berth_collector_cycles_total)
	win=$(metric berth_collector_window_bytes); rrd=$(metric berth_rrd_bytes)
	cycle_ms=$(python3 -c "print('%.2f' % (($c2 - $c1) / max(1, $k2 - $k1) * 1000))")
	# The same daemon sampling once a minute: what berthd costs without the collector.
	berth_stop
	berth_start --log-level warn --collect-interval 60
	sleep 5
	off=$(measure "$BERTHD_PID")
	berth_stop
	berth_start --log-level warn --collect-interval 1
	base=$(collectd_run "$n")
	echo "berthd N=$n interval 1 s: ${on% *} CPU s/min (${on#* }% of a core), RSS $rss MiB, cycle $cycle_ms ms," \
	     "window $(python3 -c "print('%.1f' % ($win / 1048576))") MiB (grows to its steady size over metrics_window)"
	echo "berthd N=$n interval 60 s: ${off% *} CPU s/min (${off#* }% of a core)"
	python3 - "$on" "$off" "${base:-}" "$n" <<'P'
import sys
on = float(sys.argv[1].split()[0]); off = float(sys.argv[2].split()[0])
col = max(on - off, 0.0)
print("collector N=%s: %.3f CPU s/min = %.2f%% of one core (target at N=1000: < 2%%)" % (sys.argv[4], col, col / 60 * 100))
if sys.argv[3]:
    cd = float(sys.argv[3].split()[0])
    print("ratio collectd / berth collector: %.1fx (target >= 10x at N=1000)" % (cd / col if col > 0 else float("inf")))
P
done
