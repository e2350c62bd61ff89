#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# collect.sh: cost of berthd's collector at a 1 s interval with N sleeping tasks (default 100 and
# 1000): berthd's CPU seconds per minute and RSS while it samples every second, against the same
# berthd sampling once a minute (the rest of berthd), and against collectd 5 (cgroups + rrdtool
# plugins, Interval 1) reading the same task cgroups in the same run. Both are measured in their
# steady state: berthd once every task has its RRD file (each is created once, ~16 MB at a 1 s
# step: that cost is reported on its own), collectd once its files stop appearing. Also prints
# the collector's own CPU time by phase (berth_collector_cpu_seconds_total). Prints figures and
# ratios; asserts nothing (run by hand: BERTH_BUILD=build tests/bench/collect.sh [N...]).
# berthd's RSS is sampled every 5 s for RSS_WATCH seconds (default 120) after the CPU measure,
# with a gzip /metrics scrape every 15 s as Prometheus would make (all of this script's scrapes
# ask for gzip too): the max and final figures are printed against 64 MiB.
# Knobs: MEASURE (seconds per CPU measure, default 60), RSS_WATCH, FILES_WAIT, BASELINES=0 (only the 1 s
# berthd: no 60 s pass, no collectd; ~8 minutes at N=1000 instead of ~15).
# RRD files of 1000 tasks take ~16 GB under /tmp while it runs.
. "$(dirname "$0")/../integration/lib.sh"
SIZES=${*:-100 1000}
MEASURE=${MEASURE:-60}
RSS_WATCH=${RSS_WATCH:-120}
BASELINES=${BASELINES:-1}
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
metric() { curl -s --compressed "$ENDPOINT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# rss_watch PID: RSS every 5 s for RSS_WATCH seconds, a gzip scrape every 15 s -> "max final"
# in MiB.
rss_watch() {
	local max=0 r t0=$SECONDS i=0
	while [ $((SECONDS - t0)) -lt "$RSS_WATCH" ]; do
		[ $((i % 3)) -eq 0 ] && curl -s --compressed -o /dev/null "$ENDPOINT/metrics"
		r=$(rss_mib "$1")
		max=$(python3 -c "print(max($max, $r))")
		i=$((i + 1))
		sleep 5
	done
	echo "$max $(rss_mib "$1")"
}
# The collector's CPU seconds by phase: "read window rrd observers".
phases() {
	curl -s --compressed "$ENDPOINT/metrics" | awk '/^berth_collector_cpu_seconds_total/ { v[$1] = $2 }
		END { printf "%s %s %s %s", v["berth_collector_cpu_seconds_total{phase=\"read\"}"],
		      v["berth_collector_cpu_seconds_total{phase=\"window\"}"],
		      v["berth_collector_cpu_seconds_total{phase=\"rrd\"}"],
		      v["berth_collector_cpu_seconds_total{phase=\"observers\"}"] }'
}
# Waits (up to FILES_WAIT seconds, default 900) until every sampled task has its RRD file: files
# are created on their first write, spread over the first five minutes of a task (longer on a
# loaded host). While they are, berthd's RSS carries librrd's buffer of the file being created
# (~17 MB): measured before they all exist, RSS is not the steady state's.
wait_files() {
	local want=$1 have t0=$SECONDS
	while :; do
		have=$(metric berth_rrd_files_created_total); have=${have%.*}
		[ "${have:-0}" -ge "$want" ] && break
		[ $((SECONDS - t0)) -ge "${FILES_WAIT:-900}" ] && { echo "# only ${have:-0} of $want RRD files after ${FILES_WAIT:-900} s" >&2; break; }
		sleep 5
	done
	echo "# ${have:-0} RRD files, $(du -sm "$WORK/data/rrd" | cut -f1) MiB, after $((SECONDS - t0)) s" >&2
}

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
	# Steady state: its RRD files (made on a cgroup's first values) stop appearing.
	local last=-1 now_files t0=$SECONDS
	sleep 5
	while [ $((SECONDS - t0)) -lt 120 ]; do
		now_files=$(find "$WORK/collectd-rrd" -name '*.rrd' | wc -l)
		[ "$now_files" -eq "$last" ] && [ "$now_files" -gt 0 ] && break
		last=$now_files
		sleep 5
	done
	local m r files
	m=$(measure "$COLLECTD_PID"); r=$(rss_mib "$COLLECTD_PID")
	files=$(find "$WORK/collectd-rrd" -name '*.rrd' | wc -l)
	kill "$COLLECTD_PID"; wait "$COLLECTD_PID" 2>/dev/null; COLLECTD_PID=
	echo "collectd N=$n: ${m% *} CPU s/min (${m#* }% of a core), RSS ${r} MiB, $files RRD files (CPU user/system only per cgroup)" >&2
	echo "$m"
}

# No cap on the RRD directory: every task's file is written, as in production with a cap that
# fits (rrd_max_bytes).
FLAGS="--log-level warn --rrd-max-bytes 0"
berth_start $FLAGS --collect-interval 1
import_busybox >/dev/null
ecs create-cluster --cluster-name bench >/dev/null
cat >"$WORK/td.json" <<'J'
{"family":"sleeper","cpu":"128","memory":"64",
 "containerDefinitions":[{"name":"c","image":"busybox","command":["sleep","36000"],"stopTimeout":2}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/td.json" >/dev/null
for n in $SIZES; do
	launch_to "$n"
	wait_files "$((n + 1))"
	sleep 5
	c1=$(metric berth_collector_cycle_seconds_total); k1=$(metric berth_collector_cycles_total)
	p1=$(phases); w1=$(date +%s.%N)
	on=$(measure "$BERTHD_PID"); rss=$(rss_mib "$BERTHD_PID")
	p2=$(phases); w2=$(date +%s.%N)
	c2=$(metric berth_collector_cycle_seconds_total); k2=$(metric berth_collector_cycles_total)
	win=$(metric berth_collector_window_bytes); rrd=$(metric berth_rrd_bytes)
	cycle_ms=$(python3 -c "print('%.2f' % (($c2 - $c1) / max(1, $k2 - $k1) * 1000))")
	rss_load=$(cut -d' ' -f1-3 /proc/loadavg)
	watch=$(rss_watch "$BERTHD_PID"); win2=$(metric berth_collector_window_bytes)
	echo "berthd N=$n interval 1 s: ${on% *} CPU s/min (${on#* }% of a core), RSS $rss MiB, cycle $cycle_ms ms," \
	     "window $(python3 -c "print('%.1f' % ($win / 1048576))") MiB (grows to its steady size over metrics_window)"
	echo "berthd N=$n RSS over $RSS_WATCH s (every 5 s, a gzip scrape every 15 s): max ${watch% *} MiB, final ${watch#* } MiB" \
	     "(target < 64 MiB); window $(python3 -c "print('%.2f -> %.2f' % ($win / 1048576, $win2 / 1048576))") MiB;" \
	     "load average before: $rss_load"
	if [ "$BASELINES" = 0 ]; then
		echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
		continue
	fi
	# The same daemon sampling once a minute: what berthd costs without the collector.
	berth_stop
	berth_start $FLAGS --collect-interval 60
	sleep 5
	off=$(measure "$BERTHD_PID")
	berth_stop
	berth_start $FLAGS --collect-interval 1
	base=$(collectd_run "$n")
	echo "berthd N=$n interval 60 s: ${off% *} CPU s/min (${off#* }% of a core)"
	echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	python3 - "$on" "$off" "${base:-}" "$n" "$p1" "$p2" "$w1" "$w2" <<'P'
import sys
on = float(sys.argv[1].split()[0]); off = float(sys.argv[2].split()[0])
col = max(on - off, 0.0)
p1 = [float(x) for x in sys.argv[5].split()]; p2 = [float(x) for x in sys.argv[6].split()]
wall = float(sys.argv[8]) - float(sys.argv[7])
ph = [(b - a) / wall * 100 for a, b in zip(p1, p2)]
own = sum(ph[:3])
print("collector N=%s: %.3f CPU s/min = %.2f%% of one core (berthd at 1 s minus at 60 s; target at N=1000: < 2%%)" % (sys.argv[4], col, col / 60 * 100))
print("collector N=%s by phase (%% of one core, the thread's CPU time): read %.2f, window %.2f, rrd %.2f = %.2f own; observers (alarms, usage ledger) %.2f" % (sys.argv[4], ph[0], ph[1], ph[2], own, ph[3]))
if sys.argv[3]:
    cd = float(sys.argv[3].split()[0])
    print("ratio collectd / berth collector: %.1fx (target >= 10x at N=1000); collectd / collector's own phases: %.1fx" % (cd / col if col > 0 else float("inf"), cd / 60 * 100 / own if own > 0 else float("inf")))
P
done
