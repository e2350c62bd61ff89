#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh BUILD LISTEN: `make run` - starts berthd with a demo cluster whose tasks make real load.
set -euo pipefail
BUILD=$1 LISTEN=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=${BERTH_DATA_DIR:-$ROOT/var}
mkdir -p "$DATA"
"$ROOT/$BUILD/berthd" --listen "$LISTEN" --data-dir "$DATA" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null' INT TERM
for _ in $(seq 1 100); do
	curl -sf "http://$LISTEN/healthz" >/dev/null && break
	sleep 0.1
done
export AWS_SHARED_CREDENTIALS_FILE=$DATA/state/credentials AWS_DEFAULT_REGION=us-east-1
CTL=("$ROOT/$BUILD/berthctl" --endpoint-url "http://$LISTEN")
if ! "${CTL[@]}" image list 2>/dev/null | grep -q '"busybox"'; then
	tmp=$(mktemp -d)
	bash "$ROOT/tests/lib/mkimage-busybox.sh" "$tmp/rootfs" >/dev/null
	"${CTL[@]}" image import busybox:latest "$tmp/rootfs" >/dev/null
	rm -rf "$tmp"
fi
"${CTL[@]}" create-cluster --cluster-name demo >/dev/null
"${CTL[@]}" register-task-definition --cli-input-json "file://$ROOT/packaging/demo/web.json" >/dev/null
# A service of two tasks (metrics, a bill), and an alarm on its CPU.
if ! "${CTL[@]}" describe-services --cluster demo --services web 2>/dev/null | grep -q '"status": "ACTIVE"'; then
	"${CTL[@]}" create-service --cluster demo --service-name web --task-definition web \
		--desired-count 2 >/dev/null
fi
"${CTL[@]}" put-metric-alarm --cli-input-json "file://$ROOT/packaging/demo/alarm.json" >/dev/null
# A dashboard token for this demo, made once and kept next to the credentials (0600).
TOKEN_FILE=$DATA/state/demo-dashboard-token
if [ ! -s "$TOKEN_FILE" ] || ! curl -sf -H 'Content-Type: application/json' \
	-d "{\"token\":\"$(cat "$TOKEN_FILE")\"}" "http://$LISTEN/v1/session" >/dev/null; then
	(umask 077; "${CTL[@]}" token create --name demo 2>/dev/null >"$TOKEN_FILE")
fi
cat <<MSG

berthd is running on http://$LISTEN (pid $PID), data in $DATA.
  dashboard: http://$LISTEN/ - sign in with $(cat "$TOKEN_FILE")
  export AWS_SHARED_CREDENTIALS_FILE=$DATA/state/credentials AWS_DEFAULT_REGION=us-east-1
  aws --endpoint-url http://$LISTEN ecs list-tasks --cluster demo
  $BUILD/berthctl logs <task-id> --cluster demo --follow
Ctrl-C stops berthd; the demo tasks keep running and are re-adopted on the next start.
MSG
wait $PID
