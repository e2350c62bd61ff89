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
if [ ! -d "$E2E/node_modules/playwright-core" ]; then
	(cd "$E2E" && npm ci --no-audit --no-fund >"$WORK/npm.log" 2>&1) || { not_ok "npm ci in tests/e2e"; cat "$WORK/npm.log"; exit 1; }
fi

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
