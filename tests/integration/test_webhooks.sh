#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 90
# test_webhooks.sh: webhook endpoints against a receiver of the test's own - signed deliveries in
# the three formats, key rotation, retries through 500s and a hang with berthd killed -9 and
# restarted in between (every notification exactly once per webhook-id), 410 disables, the
# link-local guard, counters on /metrics.
. "$(dirname "$0")/lib.sh"

CTL() { "$BUILD/berthctl" --endpoint-url "$ENDPOINT" --output json "$@"; }
S1=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
S2=whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD
RX_LOG=$WORK/rx.jsonl
: >"$RX_LOG"
python3 "$ROOT/tests/integration/fixtures/webhook_receiver.py" "$WORK/rx.port" "$RX_LOG" "$S1" "$S2" &
RX_PID=$!
trap 'kill $RX_PID 2>/dev/null; berth_cleanup' EXIT
wait_for 60 test -s "$WORK/rx.port"
RX=http://127.0.0.1:$(cat "$WORK/rx.port")
mode() { curl -s -X POST --data "$1" "$RX/_mode" >/dev/null; }
# rx_count PYTHON-CONDITION-ON-r: how many recorded requests match.
rx_count() { python3 -c "
import json,sys
n=0
for l in open('$RX_LOG'):
    r=json.loads(l)
    if $1: n+=1
print(n)"; }
# rx_seen ID [MODE] [N]: at least N (1) requests with that webhook-id (and mode) arrived.
rx_seen() { [ "$(grep -c "^$1 ${2:-[^ ]*} " "$RX_LOG.idx" 2>/dev/null)" -ge "${3:-1}" ]; }
rx_last() { python3 -c "
import json
rs=[json.loads(l) for l in open('$RX_LOG')]
rs=[r for r in rs if $1]
r=rs[-1]
print($2)"; }

FLAGS=(--webhook-retry-initial-ms 200 --webhook-retry-max-ms 800 --webhook-timeout-ms 5000
       --webhook-connect-timeout-ms 500)
berth_start "${FLAGS[@]}"

# ---- endpoints -------------------------------------------------------------------------------
out=$(CTL put-webhook --name rx --url "$RX/sns" --format cloudwatch-sns --secret "$S1" \
	--header X-Team=ops 2>&1)
expect_eq "put-webhook answers the endpoint" "$(echo "$out" | jget "d['webhook']['arn']")" \
	"arn:aws:sns:us-east-1:000000000000:rx"
out=$(CTL put-webhook --name bad --url "$RX/x" --secret not-a-secret 2>&1)
expect_match "a secret without whsec_ is refused" "$out" "whsec_"
out=$(CTL put-webhook --name meta --url http://169.254.169.254/latest --secret "$S1" 2>&1)
expect_match "a link-local URL is refused" "$out" "link-local"
out=$(CTL put-webhook --name v6 --url "http://[fe80::1]:80/x" --secret "$S1" 2>&1)
expect_match "an IPv6 link-local URL is refused" "$out" "link-local"
out=$(CTL put-webhook --name ftp --url ftp://127.0.0.1/x --secret "$S1" 2>&1)
expect_match "a non-http URL is refused" "$out" "http"
out=$(CTL put-webhook --name fmt --url "$RX/x" --format xml --secret "$S1" 2>&1)
expect_match "an unknown format is refused" "$out" "cloudwatch-sns, alertmanager or berth"
out=$(rest PUT /v1/webhooks -d '{"name":"h","url":"'"$RX"'/x","headers":{"webhook-id":"x"}}')
expect_match "berth's own headers cannot be set" "$out" "header name"
out=$(rest PUT /v1/webhooks -d '{"name":')
expect_match "malformed JSON is refused with its position" "$out" "SerializationException"

# ---- a delivery in the CloudWatch SNS shape --------------------------------------------------
id=$(CTL test-webhook rx | jget "d['webhookId']")
expect_match "test-webhook returns a webhook-id" "$id" "^msg_[0-9a-f]{32}$"
check "the receiver gets it" wait_for 30 rx_seen "$id"
sel="r['headers'].get('webhook-id')=='$id'"
expect_eq "signature verifies with the secret" "$(rx_last "$sel" "r['signature_ok']")" True
expect_match "one v1 signature" "$(rx_last "$sel" "r['headers']['webhook-signature']")" '^v1,[A-Za-z0-9+/]{43}=$'
expect_match "webhook-timestamp is unix seconds" "$(rx_last "$sel" "r['headers']['webhook-timestamp']")" '^[0-9]{10}$'
expect_eq "the endpoint's own header is sent" "$(rx_last "$sel" "r['headers'].get('x-team')")" ops
expect_eq "SNS envelope" "$(rx_last "$sel" "json.loads(r['body'])['Type']+' '+json.loads(r['body'])['TopicArn']")" \
	"Notification arn:aws:sns:us-east-1:000000000000:rx"
msg="json.loads(json.loads(r['body'])['Message'])"
expect_eq "Message is the alarm as CloudWatch sends it" \
	"$(rx_last "$sel" "' '.join(str($msg[k]) for k in ('AlarmName','NewStateValue','OldStateValue','AWSAccountId','Region'))")" \
	"berth-test-notification ALARM OK 000000000000 US East (N. Virginia)"
expect_match "StateChangeTime in CloudWatch's format" "$(rx_last "$sel" "$msg['StateChangeTime']")" \
	'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\+0000$'
expect_eq "Trigger with the upper-case statistic and lower-case dimension keys" \
	"$(rx_last "$sel" "(lambda t: (t['Statistic'], t['StatisticType'], t['Dimensions'][0]['name'], t['Dimensions'][0]['value'], t['TreatMissingData']))($msg['Trigger'])")" \
	"('AVERAGE', 'Statistic', 'ClusterName', 'default', 'missing')"
expect_eq "Subject" "$(rx_last "$sel" "json.loads(r['body'])['Subject']")" \
	'ALARM: "berth-test-notification" in US East (N. Virginia)'

# ---- rotation: both signatures ---------------------------------------------------------------
CTL put-webhook --name rx --url "$RX/sns" --format cloudwatch-sns --secret "$S2" \
	--previous-secret "$S1" >/dev/null
id=$(CTL test-webhook rx | jget "d['webhookId']")
check "delivery during rotation" wait_for 30 rx_seen "$id"
sig=$(rx_last "r['headers'].get('webhook-id')=='$id'" "r['headers']['webhook-signature']")
expect_match "two signatures, space separated" "$sig" '^v1,[^ ]+ v1,[^ ]+$'
expect_eq "verifies" "$(rx_last "r['headers'].get('webhook-id')=='$id'" "r['signature_ok']")" True

# ---- Alertmanager and berth formats ----------------------------------------------------------
CTL put-webhook --name am --url "$RX/am" --format alertmanager --secret "$S1" >/dev/null
CTL put-webhook --name plain --url "$RX/plain" --format berth --secret "$S1" >/dev/null
a=$(CTL test-webhook am | jget "d['webhookId']")
b=$(CTL test-webhook plain | jget "d['webhookId']")
check "alertmanager delivery" wait_for 30 rx_seen "$a"
check "berth delivery" wait_for 30 rx_seen "$b"
expect_eq "Alertmanager webhook v4" \
	"$(rx_last "r['headers'].get('webhook-id')=='$a'" "(lambda d: (d['version'], d['status'], d['receiver'], d['alerts'][0]['labels']['alertname'], len(d['alerts'][0]['fingerprint'])))(json.loads(r['body']))")" \
	"('4', 'firing', 'am', 'berth-test-notification', 16)"
expect_eq "berth event" \
	"$(rx_last "r['headers'].get('webhook-id')=='$b'" "(lambda d: (d['type'], d['newState'], d['id'] != ''))(json.loads(r['body']))")" \
	"('alarm.state_change', 'ALARM', True)"

# ---- the receiver is down: 500s, a hang, berthd killed -9, then 200 -------------------------
mode 500
ids=()
for i in 1 2 3; do ids+=("$(CTL test-webhook rx | jget "d['webhookId']")"); done
for i in 0 1 2; do
	check "notification $((i + 1)) retried through 500s" wait_for 30 rx_seen "${ids[$i]}" 500 2
done
expect_eq "three notifications in the outbox" "$(ls "$WORK/data/outbox"/*.json | wc -l)" 3
mode hang
check "a delivery hangs" wait_for 30 grep -q " hang " "$RX_LOG.idx"
# The attempt hangs for up to webhook_timeout_ms (5 s); the loop must not wait for it.
check "berthd answers while a delivery hangs" curl -sf -m 4 "$ENDPOINT/healthz"
berth_kill9
expect_eq "outbox survives kill -9" "$(ls "$WORK/data/outbox"/*.json | wc -l)" 3
berth_start "${FLAGS[@]}"
sleep 1
mode 200
for i in 0 1 2; do
	check "notification $((i + 1)) delivered after the restart" wait_for 40 rx_seen "${ids[$i]}" 200
done
check "outbox empty once delivered" wait_for 30 test -z "$(ls "$WORK/data/outbox"/*.json 2>/dev/null)"
sleep 1
for i in 0 1 2; do
	expect_eq "notification $((i + 1)) accepted exactly once" \
		"$(rx_count "r['headers'].get('webhook-id')=='${ids[$i]}' and r['mode']=='200'")" 1
	expect_eq "notification $((i + 1)): every attempt signed and the same body" \
		"$(python3 -c "
import json
rs=[json.loads(l) for l in open('$RX_LOG')]
rs=[r for r in rs if r['headers'].get('webhook-id')=='${ids[$i]}']
print(all(r['signature_ok'] for r in rs), len(set(r['body'] for r in rs)))")" "True 1"
done
expect_eq "no notification got a second id" \
	"$(rx_count "r['path']=='/sns'" | tr -d ' ') $(python3 -c "
import json
print(len({json.loads(l)['headers']['webhook-id'] for l in open('$RX_LOG') if json.loads(l)['path']=='/sns'}))")" \
	"$(rx_count "r['path']=='/sns'") 5"
deliv=$(CTL list-webhook-deliveries rx)
expect_match "the delivery log shows the failures" "$(echo "$deliv" | jget "sorted({x['result'] for x in d['deliveries']})")" "delivered.*failed"
m=$(curl -s "$ENDPOINT/metrics")
expect_match "delivered counter on /metrics" "$m" 'berth_webhook_deliveries_total\{endpoint="rx",result="delivered"\} [1-9]'
expect_match "pending gauge on /metrics" "$m" 'berth_webhook_pending\{endpoint="rx"\} 0'

# ---- Retry-After and 410 -----------------------------------------------------------------------
mode 429
id=$(CTL test-webhook rx | jget "d['webhookId']")
check "429 answered" wait_for 30 rx_seen "$id" 429 2
# Without Retry-After the next try would come after 100-200 ms; it says 1 s.
gap=$(python3 -c "
import json
ts=[json.loads(l)['time'] for l in open('$RX_LOG') if json.loads(l)['headers'].get('webhook-id')=='$id']
print(ts[1]-ts[0] >= 0.95)")
expect_eq "Retry-After: 1 holds the retry back a second" "$gap" True
mode 410
check "retried after Retry-After" wait_for 30 rx_seen "$id" 410
disabled() { CTL get-webhook rx | grep -q '"enabled": false'; }
check "410 disables the endpoint" wait_for 30 disabled
expect_match "and says why" "$(CTL get-webhook rx | jget "d['webhook'].get('disabledReason','')")" "410"
check "the notification is kept in outbox/dead" test -f "$WORK/data/outbox/dead/$id.json"
mode 200
n=$(rx_count "r['path']=='/sns'")
id=$(CTL test-webhook rx | jget "d['webhookId']")
sleep 1
expect_eq "a disabled endpoint is not called" "$(rx_count "r['path']=='/sns'")" "$n"
CTL put-webhook --name rx --url "$RX/sns" --format cloudwatch-sns --secret "$S1" >/dev/null
check "enabling it again delivers what waited" wait_for 30 rx_seen "$id"

# ---- delete -----------------------------------------------------------------------------------
CTL delete-webhook plain >/dev/null
out=$(CTL get-webhook plain 2>&1)
expect_match "a deleted endpoint is gone" "$out" "not found"
# (berth_start outside a command substitution: a berthd started in a subshell outlives the test)
berth_stop
berth_start "${FLAGS[@]}"
expect_eq "endpoints persist across restarts" "$(CTL list-webhooks | jget "sorted(w['name'] for w in d['webhooks'])")" "['am', 'rx']"

echo "1..$T_N"
[ "$T_FAILED" -eq 0 ]
