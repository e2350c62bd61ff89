#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# billing.sh: billing reports over a generated 30-day ledger of 1000 tasks (one record per task
# per hour, 720,000 task-hours): the ledger's size on disk (gzip'd closed month, plain open month
# and their indexes), the report time per group_by in-process and through a real berthd's
# /v1/billing/report, as wall time and CPU time (the load average beside them: the host is
# shared), against baselines measured in the same run: zcat of the segments (the least a
# report from the text must do) and the same reports from the text alone (no indexes). Prints
# figures and ratios; asserts nothing.
# Usage: BERTH_BUILD=build tests/bench/billing.sh [TASKS [DAYS]]
. "$(dirname "$0")/../integration/lib.sh"
TASKS=${1:-1000}
DAYS=${2:-30}
GEN=$BUILD/tests/bench/billing_gen
[ -x "$GEN" ] || { echo "build $GEN first (make tests)" >&2; exit 1; }
mkdir -p "$WORK/data"
L=$WORK/data/ledger
load() { cut -d' ' -f1-3 /proc/loadavg; }
echo "# generating $DAYS days of $TASKS tasks in $L"
"$GEN" "$L" "$TASKS" "$DAYS" 2>/dev/null >"$WORK/gen.txt"
grep '^gen' "$WORK/gen.txt" | awk '{ printf "generate (through the ledger writer): %.1f s\n", $2 }'
sizes() {
	( cd "$L" && ls -l *.ledger *.ledger.gz *.ledger.idx open.json 2>/dev/null |
		awk '{ printf "  %-22s %8.1f MiB\n", $9, $5 / 1048576 }' )
	( cd "$L" && du -cb *.ledger *.ledger.gz open.json | tail -1 ) |
		awk '{ printf "  segments + checkpoint  %8.1f MiB\n", $1 / 1048576 }'
	du -sb "$L" | awk '{ printf "  total with indexes     %8.1f MiB\n", $1 / 1048576 }'
}
segs() { (cd "$L" && for f in *.ledger *.ledger.gz; do case $f in *.gz) zcat "$f";; *) cat "$f";; esac; done); }
plain=$(segs | wc -c)
echo "  uncompressed records   $(awk -v b="$plain" 'BEGIN { printf "%8.1f MiB", b / 1048576 }')"

t0=$(date +%s.%N)
segs >/dev/null
t1=$(date +%s.%N)
BASE=$(python3 -c "print('%.3f' % ($t1 - $t0))")
echo "baseline: zcat of every segment: $BASE s wall (load $(load))"
row='{ printf "  %-9s %7.3f s wall %7.3f s CPU (run %.3f, JSON %.3f) %5d groups %7d task-hours\n", $2, $3, $4, $7, $8, $5, $6 }'
echo "in-process report from the text alone (no indexes; daily periods; CPU of the thread), load $(load):"
BILLING_GEN_NOINDEX=1 BILLING_GEN_SKIP=1 "$GEN" "$L" "$TASKS" "$DAYS" 2>/dev/null | grep '^report' >"$WORK/text.txt"
awk "$row" "$WORK/text.txt"
echo "in-process report through the indexes (daily periods), load $(load):"
BILLING_GEN_SKIP=1 "$GEN" "$L" "$TASKS" "$DAYS" 2>/dev/null | grep '^report' >"$WORK/idx.txt"
awk "$row" "$WORK/idx.txt"
echo "CPU from the text / CPU through the indexes:"
paste -d' ' "$WORK/text.txt" "$WORK/idx.txt" | awk '{ printf "  %-9s x%.1f\n", $2, $4 / ($12 > 0 ? $12 : 0.001) }'
echo "ledger on disk (after the reports):"
sizes

berth_start --collect-interval 5
S=1790985600 E=$((1790985600 + DAYS * 86400))
cpu_of() { awk '{ print $14 + $15 }' "/proc/$BERTHD_PID/stat"; }
TCK=$(getconf CLK_TCK)
echo "berthd GET /v1/billing/report (monthly periods, the default; wall s, berthd CPU s), load $(load):"
for g in cluster service family task tag%3Ateam; do
	c0=$(cpu_of); t0=$(date +%s.%N)
	rest GET "/v1/billing/report?end=$E&group_by=$g&start=$S" -o "$WORK/r.json"
	t1=$(date +%s.%N); c1=$(cpu_of)
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
w = float(sys.argv[3]) - float(sys.argv[2])
c = (int(sys.argv[6]) - int(sys.argv[5])) / float(sys.argv[7])
print('  %-9s %7.3f s wall %6.2f s CPU %5d groups  total %s USD  (x%.1f baseline)' % (sys.argv[4].replace('%3A', ':'), w, c,
      len(d['groups']), d['totals']['reservedCost'], w / float(sys.argv[8])))" "$WORK/r.json" "$t0" "$t1" "$g" "$c0" "$c1" "$TCK" "$BASE"
done
# The CUR file has a line per task, hour and resource: a day of the 1000 tasks.
t0=$(date +%s.%N)
rest GET "/v1/billing/cur?end=$((S + 86400))&start=$S" -H 'Accept-Encoding: gzip' -o "$WORK/cur.csv.gz"
t1=$(date +%s.%N)
python3 -c "print('berthd GET /v1/billing/cur, one day (gzip): %.3f s, %.1f MiB compressed' % ($t1 - $t0, $(stat -c %s "$WORK/cur.csv.gz" 2>/dev/null || echo 0) / 1048576))"
echo "load at the end: $(load)"
