#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 80
# test_dashboard.sh: the dashboard end to end - access tokens from berthctl, then a real
# headless Chromium (Debian's, driven by playwright-core) signs in, opens every page, checks
# them against the API, scales a service and stops a task from the UI, checks CSRF refusal,
# cookie flags, the read-only role and sign-out. Screenshots go to build/test-logs/e2e/.
. "$(dirname "$0")/lib.sh"
E2E=$ROOT/tests/e2e
CTL=("$BUILD/berthctl" --endpoint-url)

if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null; then
	echo "1..0 # SKIP chromium or node missing (make deps installs them)"
	exit 0
fi
# The plain and the sanitizer runs of this suite start side by side: one of them installs
# playwright-core, the other waits on the lock and then finds it installed (npm ci removes
# node_modules first, so two at once break each other).
(
	flock 9
	if [ ! -f "$E2E/node_modules/playwright-core/index.js" ]; then
		cd "$E2E" && npm ci --no-audit --no-fund >"$WORK/npm.log" 2>&1
	fi
) 9>"$E2E/.npm-install.lock" || { not_ok "npm ci in tests/e2e"; cat "$WORK/npm.log"; exit 1; }

berth_start --collect-interval 1 --task-healthy-after 1
import_busybox >/dev/null
ecs_raw CreateCluster '{"clusterName":"shop"}' >/dev/null
ecs_raw RegisterTaskDefinition "$(cat "$ROOT/tests/integration/fixtures/web.json")" >/dev/null
ecs_raw RegisterTaskDefinition '{"family":"batch","cpu":"256","memory":"512","containerDefinitions":[{"name":"worker","image":"busybox:latest","essential":true,"stopTimeout":2,"command":["sh","-c","echo hello-from-e2e; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done"]}]}' >/dev/null
ecs_raw CreateService '{"cluster":"shop","serviceName":"web","taskDefinition":"web","desiredCount":2}' >/dev/null
ecs_raw RunTask '{"cluster":"shop","taskDefinition":"batch"}' >/dev/null

# Tokens: printed once on stdout, stored hashed.
TOKEN=$("${CTL[@]}" "$ENDPOINT" token create --name e2e 2>"$WORK/token.err")
expect_match "token create prints a token" "$TOKEN" '^berth_[0-9a-f]{48}$'
RO_TOKEN=$("${CTL[@]}" "$ENDPOINT" token create --read-only --name viewer 2>/dev/null)
expect_match "token create --read-only" "$RO_TOKEN" '^berth_[0-9a-f]{48}$'
check "token store keeps no token" bash -c "! grep -q '${TOKEN#berth_}' '$WORK/data/state/tokens.json'"
expect_eq "token store mode 0600" "$(stat -c %a "$WORK/data/state/tokens.json")" 600
expect_eq "token list: roles" "$("${CTL[@]}" "$ENDPOINT" token list | jget "sorted(t['role'] for t in d['tokens'])")" "['operator', 'read-only']"
check "unsigned token requests refused" bash -c "curl -s -X POST $ENDPOINT/v1/tokens | grep -q MissingAuthenticationToken"
check "service RUNNING before the browser starts" wait_for 20 bash -c \
	"rest GET '/v1/dashboard/tasks?service=web&status=RUNNING' | grep -q '\"total\": *2'"

# What the pages rely on for speed: one page of services with or without sparklines, paging
# parameters checked, assets revalidated with ETag (304, no body), berthd's time in Server-Timing.
ecs_raw CreateService '{"cluster":"shop","serviceName":"api","taskDefinition":"batch","desiredCount":0}' >/dev/null
expect_eq "services: sorted, one page, total" "$(rest GET '/v1/dashboard/services?cluster=shop&limit=1&offset=1' | jget "[s['name'] for s in d['services']], d['total'], d['offset']")" "['web'] 2 1"
expect_eq "services: no limit lists all, both sparklines" "$(rest GET '/v1/dashboard/services' | jget "len(d['services']), sorted(k for k in d['services'][0] if k.endswith('Spark'))")" "2 ['cpuSpark', 'memorySpark']"
expect_eq "services: sparks= leaves them out" "$(rest GET '/v1/dashboard/services?sparks=' | jget "[k for s in d['services'] for k in s if k.endswith('Spark')]")" "[]"
expect_eq "services: sparks=cpu" "$(rest GET '/v1/dashboard/services?sparks=cpu' | jget "sorted({k for s in d['services'] for k in s if k.endswith('Spark')})")" "['cpuSpark']"
expect_match "services: a bad sparks list is refused" "$(rest GET '/v1/dashboard/services?sparks=disk')" 'InvalidParameterException.*not disk'
expect_match "services: a bad limit is refused" "$(rest GET '/v1/dashboard/services?limit=0')" 'InvalidParameterException'
expect_match "tasks: a limit that is not a number is refused" "$(rest GET '/v1/dashboard/tasks?limit=5x')" 'InvalidParameterException'
etag=$(curl -s -D - -o /dev/null "$ENDPOINT/static/app.js" | sed -n 's/^ETag: *//ip' | tr -d '\r')
expect_match "assets carry an ETag" "$etag" '^"[0-9a-f.-]+"$'
expect_eq "an unchanged asset revalidates as 304 with no body" "$(curl -s -o "$WORK/body" -w '%{http_code} %{size_download}' -H "If-None-Match: $etag" "$ENDPOINT/static/app.js")" "304 0"
expect_eq "another ETag gets the asset" "$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "0-0-0.0"' "$ENDPOINT/static/app.js")" 200
expect_match "answers carry berthd's time in Server-Timing" "$(curl -s -D - -o /dev/null "$ENDPOINT/healthz")" 'Server-Timing: app;dur=[0-9]+\.[0-9]{3}'

mkdir -p "$ROOT/build/test-logs/e2e"
BERTH_URL=$ENDPOINT BERTH_TOKEN=$TOKEN BERTH_RO_TOKEN=$RO_TOKEN BERTH_SHOTS=$ROOT/build/test-logs/e2e \
	T_START=$T_N timeout 240 node "$E2E/dashboard.mjs" >"$WORK/e2e.out" 2>&1
rc=$?
cat "$WORK/e2e.out"
T_N=$((T_N + $(grep -cE '^(ok|not ok) ' "$WORK/e2e.out")))
T_FAILED=$((T_FAILED + $(grep -cE '^not ok ' "$WORK/e2e.out")))
[ $rc -eq 0 ] || [ "$(grep -cE '^not ok ' "$WORK/e2e.out")" -gt 0 ] || not_ok "browser run exited with status $rc"

# Revocation ends the token's sessions; the store survives a restart.
id=$("${CTL[@]}" "$ENDPOINT" token list | jget "[t['id'] for t in d['tokens'] if t['name'] == 'viewer'][0]")
curl -s -c "$WORK/jar" -H 'Content-Type: application/json' -d "{\"token\":\"$RO_TOKEN\"}" "$ENDPOINT/v1/session" >/dev/null
check "read-only session works" bash -c "curl -sf -b '$WORK/jar' $ENDPOINT/v1/dashboard/overview >/dev/null"
"${CTL[@]}" "$ENDPOINT" token revoke "$id" >/dev/null
expect_match "revoked token's session ends" "$(curl -s -b "$WORK/jar" "$ENDPOINT/v1/dashboard/overview")" InvalidSessionException
berth_stop
berth_start --collect-interval 1
expect_match "token survives a restart" "$(curl -s -H 'Content-Type: application/json' -d "{\"token\":\"$TOKEN\"}" "$ENDPOINT/v1/session")" '"role": *"operator"'
expect_match "revoked token stays revoked" "$(curl -s -H 'Content-Type: application/json' -d "{\"token\":\"$RO_TOKEN\"}" "$ENDPOINT/v1/session")" InvalidTokenException
echo "1..$T_N"
[ "$T_FAILED" -eq 0 ]
