#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# billing.sh: billing reports over a generated 30-day ledger of 1000 tasks (one record per task
# per hour, 720,000 task-hours): the ledger's size on disk (gzip'd closed month and plain open
# month), the report time per group_by in-process and through a real berthd's
# /v1/billing/report, against a baseline measured in the same run: zcat of the same segments
# (the least any report must do). Prints figures and ratios; asserts nothing.
# Usage: BERTH_BUILD=build tests/bench/billing.sh [TASKS [DAYS]]
. "$(dirname "$0")/../integration/lib.sh"
TASKS=${1:-1000}
DAYS=${2:-30}
GEN=$BUILD/tests/bench/billing_gen
[ -x "$GEN" ] || { echo "build $GEN first (make tests)" >&2; exit 1; }
mkdir -p "$WORK/data"
L=$WORK/data/ledger
echo "# generating $DAYS days of $TASKS tasks in $L"
"$GEN" "$L" "$TASKS" "$DAYS" 2>/dev/null >"$WORK/gen.txt"
grep '^gen' "$WORK/gen.txt" | awk '{ printf "generate (through the ledger writer): %.1f s\n", $2 }'
echo "ledger on disk:"
( cd "$L" && ls -l *.ledger* open.json | awk '{ printf "  %-20s %10.1f MiB\n", $9, $5 / 1048576 }' )
du -sb "$L" | awk '{ printf "  total                %10.1f MiB\n", $1 / 1048576 }'
plain=$( (cd "$L" && for f in *.ledger*; do case $f in *.gz) zcat "$f";; *) cat "$f";; esac; done) | wc -c)
echo "  uncompressed records  $(awk -v b="$plain" 'BEGIN { printf "%10.1f MiB", b / 1048576 }')"

t0=$(date +%s.%N)
(cd "$L" && for f in *.ledger*; do case $f in *.gz) zcat "$f";; *) cat "$f";; esac; done) >/dev/null
t1=$(date +%s.%N)
BASE=$(python3 -c "print('%.3f' % ($t1 - $t0))")
echo "baseline: zcat of every segment: $BASE s"
echo "in-process report (daily periods; wall s, CPU s, groups, task-hours):"
BILLING_GEN_SKIP=1 "$GEN" "$L" "$TASKS" "$DAYS" 2>/dev/null | awk -v b="$BASE" '/^report/ {
	printf "  %-9s %7.3f s wall %7.3f s CPU %5d groups %7d task-hours  (x%.1f baseline)\n", $2, $3, $4, $5, $6, $3 / b }'

berth_start --collect-interval 5
S=$(python3 -c "print(1790985600)") E=$(python3 -c "print(1790985600 + $DAYS * 86400)")
echo "berthd GET /v1/billing/report (monthly periods, the default; wall s):"
for g in cluster service family task tag%3Ateam; do
	t0=$(date +%s.%N)
	rest GET "/v1/billing/report?end=$E&group_by=$g&start=$S" -o "$WORK/r.json"
	t1=$(date +%s.%N)
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
w = float(sys.argv[3]) - float(sys.argv[2])
print('  %-9s %7.3f s  %5d groups  total %s USD  (x%.1f baseline)' % (sys.argv[4].replace('%3A', ':'), w,
      len(d['groups']), d['totals']['reservedCost'], w / float(sys.argv[5])))" "$WORK/r.json" "$t0" "$t1" "$g" "$BASE"
done
# The CUR file has a line per task, hour and resource: a day of the 1000 tasks.
t0=$(date +%s.%N)
rest GET "/v1/billing/cur?end=$((S + 86400))&start=$S" -H 'Accept-Encoding: gzip' -o "$WORK/cur.csv.gz"
t1=$(date +%s.%N)
python3 -c "print('berthd GET /v1/billing/cur, one day (gzip): %.3f s, %.1f MiB compressed' % ($t1 - $t0, $(stat -c %s "$WORK/cur.csv.gz" 2>/dev/null || echo 0) / 1048576))"
