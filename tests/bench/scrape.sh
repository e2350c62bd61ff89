#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scrape.sh: GET /metrics with N running tasks (default 1000): berthd's CPU time to render the text
# and to gzip it (berth_metrics_render_seconds, berth_metrics_gzip_seconds: the thread's CPU time,
# which the load of the host distorts little), bytes plain and gzip, and the time to the last byte
# seen by curl, medians of 20 scrapes, against GET /healthz on the same server as the baseline of
# a request's fixed cost. Prints figures and ratios; asserts nothing (target: render < 20 ms).
# Usage: BERTH_BUILD=build tests/bench/scrape.sh [N]
. "$(dirname "$0")/../integration/lib.sh"
N=${1:-1000}
berth_start --log-level warn --collect-interval 5
import_busybox >/dev/null
ecs create-cluster --cluster-name bench >/dev/null
cat >"$WORK/td.json" <<'J'
{"family":"sleeper","cpu":"128","memory":"64",
 "containerDefinitions":[{"name":"c","image":"busybox","command":["sleep","36000"],"stopTimeout":2}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/td.json" >/dev/null
metric() { curl -s "$ENDPOINT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
have=0
while [ "$have" -lt "$N" ]; do
	for _ in $(seq 1 $(( (N - have + 9) / 10 < 4 ? (N - have + 9) / 10 : 4 ))); do
		ecs run-task --cluster bench --task-definition sleeper --count 10 >/dev/null &
	done
	wait $(jobs -p | grep -v "^$BERTHD_PID$") 2>/dev/null
	sleep 6
	have=$(metric berth_collector_tasks); have=${have:-0}
	echo "# $have tasks sampled" >&2
done
sleep 6
# median of 20: "time_total size" from curl (time to last byte on loopback).
scrape() {
	for _ in $(seq 1 20); do
		curl -s -o /dev/null -w '%{time_total} %{size_download}\n' "$@"
	done | sort -n | awk 'NR == 10 { printf "%.2f %d", $1 * 1000, $2 }'
}
plain=$(scrape "$ENDPOINT/metrics")
gz=$(scrape -H 'Accept-Encoding: gzip' "$ENDPOINT/metrics")
base=$(scrape "$ENDPOINT/healthz")
# Server-side CPU: each scrape reports the previous one's render (and the last gzip) time.
cpu_of() {
	for _ in $(seq 1 20); do
		curl -s -o /dev/null "$@"
		curl -s "$ENDPOINT/metrics" | awk '$1 == "berth_metrics_render_seconds" { r = $2 }
			$1 == "berth_metrics_gzip_seconds" { g = $2 } END { print r * 1000, g * 1000 }'
	done
}
render_ms=$(cpu_of "$ENDPOINT/metrics" | sort -n | awk 'NR == 10 { printf "%.2f", $1 }')
gzip_ms=$(cpu_of -H 'Accept-Encoding: gzip' "$ENDPOINT/metrics" | sort -k2 -n | awk 'NR == 10 { printf "%.2f", $2 }')
series=$(curl -s "$ENDPOINT/metrics" | grep -vc '^#')
echo "/metrics N=$have: plain ${plain% *} ms, ${plain#* } bytes; gzip ${gz% *} ms, ${gz#* } bytes; $series samples"
echo "/healthz baseline: ${base% *} ms; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server-side CPU (median of 20): render ${render_ms} ms (target < 20 ms), gzip level 1 ${gzip_ms} ms more"
python3 -c "
p, g, b = ${plain% *}, ${gz% *}, ${base% *}
print('ratio plain / healthz: %.1fx, gzip / healthz: %.1fx; render (plain - healthz): %.2f ms (target < 20 ms)' % (p / b, g / b, p - b))
print('gzip ratio: %.1fx smaller' % (${plain#* } / max(1, ${gz#* })))"
