#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 180
# test_billing.sh: metering and billing against a real berthd - a short task bills the one-minute
# minimum, a task of a minute and more bills its seconds at the configured price sheet, kill -9 of
# berthd during accrual neither loses nor double counts seconds, reports as JSON, CSV (gzip) and
# the CUR split-cost CSV parse with python's csv module, the berthctl table, /metrics counters,
# and a truncated segment is reported while reports still run.
. "$(dirname "$0")/lib.sh"

cat >"$WORK/prices.json" <<'J'
{"sheets": [{"effective": 0},
            {"effective": "2020-01-01", "X86_64": {"vcpuHour": "0.036"}}]}
J
berth_start --collect-interval 1 --ledger-checkpoint-interval 30 --price-sheet "$WORK/prices.json"
LEDGER=$WORK/data/ledger
import_busybox >/dev/null
ecs create-cluster --cluster-name bill >/dev/null
cat >"$WORK/td.json" <<'J'
{"family":"meter","cpu":"1024","memory":"2048","requiresCompatibilities":["FARGATE"],
 "networkMode":"awsvpc",
 "containerDefinitions":[{"name":"m","image":"busybox","essential":true,"command":["sleep","3600"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/td.json" >/dev/null
run() {
	ecs_raw RunTask "{\"cluster\":\"bill\",\"taskDefinition\":\"meter\",\"tags\":[{\"key\":\"team\",\"value\":\"$1\"}],
	  \"overrides\":{\"containerOverrides\":[{\"name\":\"m\",\"command\":[\"sleep\",\"$2\"]}]}}" |
		jget "d['tasks'][0]['taskArn'].split('/')[-1]"
}
LONG=$(run blue 3600)
SHORT=$(run green 5)
check "prices come from the price file" bash -c "rest GET /v1/billing/prices | grep -q '\"vcpuHour\": \"0.036000\"'"
check "long task running" wait_for 20 task_status_is bill "$LONG" RUNNING
check "short task stopped" wait_for 30 task_status_is bill "$SHORT" STOPPED
# The running task's hour in progress is billed up to the last cycle (berthd's open hours, not
# the checkpoint, which is up to 30 s older).
check "a running task's hour in progress is in the report" wait_for 10 bash -c \
	"rest GET '/v1/billing/report?end=2030-01-01&group_by=task&start=2026-01-01' | jget \"[g['reservedCost'] for g in d['groups'] if g['key']=='$LONG'][0]\" | grep -qv '^0.000000\$'"

# kill -9 in the middle of accrual (between two checkpoints), restart on the same data.
sleep 3
berth_kill9
sleep 2
berth_start --collect-interval 1 --ledger-checkpoint-interval 30 --price-sheet "$WORK/prices.json"
check "berthd back" curl -sf "$ENDPOINT/healthz"

# Let the long task pass a minute, then stop it.
created=$(ecs_raw DescribeTasks "{\"cluster\":\"bill\",\"tasks\":[\"$LONG\"]}" | jget "d['tasks'][0]['createdAt']")
python3 -c "import time,sys; d=float(sys.argv[1])+63-time.time(); time.sleep(max(0,d))" "$created"
ecs stop-task --cluster bill --task "$LONG" >/dev/null
check "long task stopped" wait_for 30 task_status_is bill "$LONG" STOPPED
# The next cycle writes the final hour; every record is appended and fsync'd by then.
check "ledger has the long task's final record" wait_for 10 bash -c \
	"grep -qP '^R\t$LONG\t.*\t1\t\*' '$LEDGER'/*.ledger"

# What the ledger holds: every (task, hour) once, seconds contiguous from the task's start.
cat >"$WORK/ledger.py" <<'P'
import glob, gzip, sys, zlib
recs = {}
for f in sorted(glob.glob(sys.argv[1] + "/*.ledger") + glob.glob(sys.argv[1] + "/*.ledger.gz")):
    op = gzip.open if f.endswith(".gz") else open
    for line in op(f, "rt"):
        line = line.rstrip("\n")
        body, _, crc = line.rpartition("\t*")
        assert "%08x" % zlib.crc32(body.encode()) == crc, line
        fld = body.split("\t")
        if fld[0] == "R":
            recs.setdefault(fld[1], []).append((int(fld[2]), int(fld[3]), int(fld[4]), fld[9]))
task = sys.argv[2]
rs = recs[task]
keys = [r[0] for r in rs]
assert len(keys) == len(set(keys)), "an hour written twice: %r" % rs
secs = sum(r[2] - r[1] for r in rs)
# contiguous: each record starts where the previous ended
for a, b in zip(rs, rs[1:]):
    assert a[0] + a[2] == b[0] + b[1] or (a[2] == 3600 and b[1] == 0), rs
assert rs[-1][3] == "1", "no final record"
print(secs)
P
describe() { ecs_raw DescribeTasks "{\"cluster\":\"bill\",\"tasks\":[\"$1\"]}"; }
span() { describe "$1" | jget "__import__('math').ceil(d['tasks'][0]['stoppedAt'] - d['tasks'][0]['createdAt'])"; }
LONG_SECS=$(python3 "$WORK/ledger.py" "$LEDGER" "$LONG")
SHORT_SECS=$(python3 "$WORK/ledger.py" "$LEDGER" "$SHORT")
LONG_SPAN=$(span "$LONG")
expect_eq "short task bills the 60 s minimum" "$SHORT_SECS" 60
if [ "$LONG_SPAN" -ge 61 ] && [ $((LONG_SECS - LONG_SPAN)) -le 1 ] && [ $((LONG_SPAN - LONG_SECS)) -le 1 ]; then
	ok "long task bills its seconds across kill -9 (ledger $LONG_SECS s, task $LONG_SPAN s)"
else
	not_ok "long task bills its seconds across kill -9"; echo "  ledger $LONG_SECS s, task ran $LONG_SPAN s"
fi

# Money: per-task report lines at the price sheet, totals equal the sum of the lines.
expect_cost() { python3 -c "import sys; s=int(sys.argv[1]); c=1024*s*36000000000//(1024*3600); m=2048*s*4445000000//(1024*3600); print('%.6f' % ((c+m+500000)//1000000/1e6))" "$1"; }
# curl signs the query as given: parameters in sorted order, colons escaped.
E=end=2030-01-01 S=start=2026-01-01
rest GET "/v1/billing/report?$E&group_by=task&$S" >"$WORK/r.json"
got_long=$(jget "[g['reservedCost'] for g in d['groups'] if g['key']=='$LONG'][0]" <"$WORK/r.json")
got_short=$(jget "[g['reservedCost'] for g in d['groups'] if g['key']=='$SHORT'][0]" <"$WORK/r.json")
expect_eq "long task's reserved cost" "$got_long" "$(expect_cost "$LONG_SECS")"
expect_eq "short task's reserved cost (60 s)" "$got_short" "$(expect_cost 60)"
expect_eq "JSON report shape" "$(jget "[sorted(d.keys()), d['currency'], d['groupBy']]" <"$WORK/r.json")" \
	"[['currency', 'end', 'granularity', 'groupBy', 'groups', 'periods', 'start', 'totals'], 'USD', 'task']"
check "group members" jget "all(k in d['groups'][0] for k in ('key','tasks','vcpuHours','gbHours','reservedCost','usedCost','idleCost','efficiency'))" <"$WORK/r.json"
cat >"$WORK/sums.py" <<'P'
import json, sys
from decimal import Decimal as D
d = json.load(open(sys.argv[1]))
for k in ("reservedCost", "usedCost", "idleCost"):
    assert sum(D(g[k]) for g in d["groups"]) == D(d["totals"][k]), k
    assert sum(D(p[k]) for p in d["periods"]) == D(d["totals"][k]), k
    for g in d["groups"]:
        assert sum(D(p[k]) for p in g["periods"]) == D(g[k]), (k, g["key"])
assert D(d["totals"]["reservedCost"]) == D(d["totals"]["usedCost"]) + D(d["totals"]["idleCost"])
assert d["totals"]["vcpuHoursUsed"] > 0, "no CPU use measured"
P
check "totals are the sums of their lines" python3 "$WORK/sums.py" "$WORK/r.json"
# Reports read the segments through their indexes; without them, or with a damaged one, the
# same report comes from the text alone.
check "segments have indexes" bash -c "ls '$LEDGER'/*.ledger.idx"
same_report() { python3 -c "import json,sys; a,b=(json.load(open(f)) for f in sys.argv[1:]); assert a == b, (a['totals'], b['totals'])" "$@"; }
rest GET "/v1/billing/report?$E&group_by=task&$S" >"$WORK/r1.json"
rm -f "$LEDGER"/*.ledger.idx
rest GET "/v1/billing/report?$E&group_by=task&$S" >"$WORK/r2.json"
check "the report without indexes is the same" same_report "$WORK/r1.json" "$WORK/r2.json"
for f in "$LEDGER"/*.ledger.idx; do printf 'XXXX' | dd of="$f" bs=1 seek=100 conv=notrunc status=none; done
rest GET "/v1/billing/report?$E&group_by=task&$S" >"$WORK/r3.json"
check "the report with a damaged index is the same" same_report "$WORK/r1.json" "$WORK/r3.json"
rest GET "/v1/billing/report?$E&granularity=daily&group_by=tag%3Ateam&$S" >"$WORK/t.json"
expect_eq "tag grouping" "$(jget "sorted(g['key'] for g in d['groups'])" <"$WORK/t.json")" "['blue', 'green']"
check "tag report sums" python3 "$WORK/sums.py" "$WORK/t.json"
expect_eq "bad group_by is refused" "$(rest GET "/v1/billing/report?group_by=region" | jget "d['__type']")" InvalidParameterException

# CSV, gzip'd both ways, through python's csv module.
rest GET "/v1/billing/report?$E&format=csv&group_by=family&gzip=1&$S" -o "$WORK/r.csv.gz"
check "CSV gunzips and parses" python3 -c "
import csv, gzip, sys
rows = list(csv.DictReader(gzip.open(sys.argv[1], 'rt', newline='')))
assert rows and rows[0]['key'] == 'meter' and float(rows[0]['reserved_cost']) > 0, rows" "$WORK/r.csv.gz"
check "CSV with Accept-Encoding gzip" bash -c "rest GET '/v1/billing/report?$E&format=csv&$S' -H 'Accept-Encoding: gzip' | gunzip | python3 -c 'import csv,sys; r=list(csv.reader(sys.stdin)); assert r[0][3]==\"key\" and len(r)==2, r'"
rest GET "/v1/billing/cur?$E&$S" >"$WORK/cur.csv"
check "CUR split cost CSV parses" python3 -c "
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
assert {'split_line_item_split_usage','split_line_item_split_cost','split_line_item_unused_cost',
        'split_line_item_reserved_usage','split_line_item_actual_usage'} <= set(rows[0]), rows[0].keys()
for r in rows:
    assert float(r['split_line_item_split_usage']) >= float(r['split_line_item_reserved_usage'])
    assert json.loads(r['resource_tags'])['user_team'] in ('blue','green')
assert any(r['line_item_usage_type'].endswith('vCPU-Hours:perCPU') for r in rows)" "$WORK/cur.csv"

# berthctl's table.
"$BUILD/berthctl" --endpoint-url "$ENDPOINT" --output table billing report --start 2026-01-01 \
	--end 2030-01-01 --group-by service >"$WORK/table.txt" 2>&1
check "berthctl billing report table" grep -qE '^\(no service\) +2 ' "$WORK/table.txt"
check "berthctl table has totals" grep -q '^TOTAL' "$WORK/table.txt"

# Prometheus counters.
curl -s "$ENDPOINT/metrics" >"$WORK/metrics.txt"
check "cost counter per cluster/service/family" grep -qE '^berth_billing_cost_dollars_total\{cluster="bill",service="",family="meter"\} 0\.0[0-9]+' "$WORK/metrics.txt"
check "used cost counter" grep -q '^berth_billing_used_cost_dollars_total{' "$WORK/metrics.txt"

# A truncated old segment: reported, and the rest still reads.
cp "$(ls "$LEDGER"/*.ledger | head -1)" "$WORK/seg"
for i in $(seq 1 40); do cat "$WORK/seg"; done | gzip >"$LEDGER/2025-01.ledger.gz"
size=$(stat -c %s "$LEDGER/2025-01.ledger.gz")
truncate -s $((size / 2)) "$LEDGER/2025-01.ledger.gz"
check "ledger status reports the damaged segment" bash -c "rest GET \"/v1/billing/ledger?verify=1\" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"damagedSegments\"] >= 1, d'"
check "damage on /metrics" bash -c "curl -s '$ENDPOINT/metrics' | grep -qE '^berth_billing_ledger_damaged_segments [1-9]'"
expect_eq "this year's report unchanged" "$(rest GET "/v1/billing/report?$E&group_by=task&$S" | jget "[g['reservedCost'] for g in d['groups'] if g['key']=='$LONG'][0]")" "$got_long"
check "berthd log names the damage" grep -q '2025-01.ledger.gz: the' "$WORK/berthd.log"

echo "1..$T_N"
[ "$T_FAILED" -eq 0 ]
