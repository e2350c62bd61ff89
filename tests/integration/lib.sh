# SPDX-License-Identifier: MIT
# lib.sh: shared helpers for integration tests - a real berthd on a loopback port, the real
# aws CLI, TAP output. Source it; call berth_start; the EXIT trap cleans up.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BERTH_BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
AWS=/usr/bin/aws
T_N=0
T_FAILED=0
WORK=$(mktemp -d /tmp/berth-it.XXXXXX)
# Debian's python3 for every helper here (jget, receivers, fixtures): a python3 found first on
# PATH through a version manager's shim can cost 0.4 s of CPU a call, and the suites make
# thousands of calls.
if [ -x /usr/bin/python3 ]; then
	mkdir -p "$WORK/bin" && ln -sf /usr/bin/python3 "$WORK/bin/python3" && export PATH="$WORK/bin:$PATH"
fi
PARENT="berth-it-$$.slice"
BERTHD_PID=
PORT=

# BERTH_TEST_TIMES=1 prints the seconds since the suite began after every result.
T_START=${EPOCHREALTIME/./}
t_time() { [ -z "${BERTH_TEST_TIMES:-}" ] || printf '# %d.%01d s\n' $(((${EPOCHREALTIME/./} - T_START) / 1000000)) $(((${EPOCHREALTIME/./} - T_START) / 100000 % 10)); }
ok() { T_N=$((T_N + 1)); echo "ok $T_N $*"; t_time; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N $*"; t_time; }
# check NAME COMMAND...: ok when the command succeeds.
check() { local n=$1; shift; if "$@" >>"$WORK/check.log" 2>&1; then ok "$n"; else not_ok "$n"; echo "  command: $*"; tail -5 "$WORK/check.log" | sed 's/^/  /'; fi; }
# expect_eq NAME GOT WANT
expect_eq() { if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1"; echo "  got:  '$2'"; echo "  want: '$3'"; fi; }
expect_match() { if [[ $2 =~ $3 ]]; then ok "$1"; else not_ok "$1"; echo "  got:  '$2'"; echo "  want /$3/"; fi; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# berth_start [extra flags]: starts berthd with a fresh or existing $WORK/data.
berth_start() {
	PORT=${PORT:-$(free_port)}
	mkdir -p "$WORK/data"
	"$BUILD/berthd" --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" \
		--cgroup-parent "$PARENT" --log-level debug "$@" >>"$WORK/berthd.log" 2>&1 &
	BERTHD_PID=$!
	for _ in $(seq 1 200); do
		curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
		kill -0 "$BERTHD_PID" 2>/dev/null || break
		sleep 0.05
	done
	export AWS_SHARED_CREDENTIALS_FILE=$WORK/data/state/credentials AWS_DEFAULT_REGION=us-east-1
	export AWS_PAGER= AWS_CONFIG_FILE=/dev/null
	unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
	export ENDPOINT=http://127.0.0.1:$PORT
}

berth_kill9() { [ -n "$BERTHD_PID" ] && kill -9 "$BERTHD_PID" 2>/dev/null; wait "$BERTHD_PID" 2>/dev/null; BERTHD_PID=; }
berth_stop() { [ -n "$BERTHD_PID" ] && kill "$BERTHD_PID" 2>/dev/null; wait "$BERTHD_PID" 2>/dev/null; BERTHD_PID=; }

# The ECS client: the real aws CLI; BERTH_ECS_CLIENT=berthctl runs the same calls through
# berthctl (same verbs, flags, output and errors), which starts in milliseconds where the aws
# CLI takes a second - the sanitizer pass uses it to stay fast.
if [ "${BERTH_ECS_CLIENT:-aws}" = berthctl ]; then
	ecs() { "$BUILD/berthctl" --endpoint-url "$ENDPOINT" --output json ecs "$@"; }
else
	ecs() { aws_cli --endpoint-url "$ENDPOINT" --output json ecs "$@"; }
fi

# aws_cli ARG...: the Debian aws CLI. /usr/bin/aws spends about a second importing itself on
# every call; tests/tools/awsd.py imports the same awscli once per suite and runs each call's
# awscli main() in a fork of itself, with the caller's argv, environment, directory and fds
# (tests/tools/awsc is its client). BERTH_AWS_DIRECT=1 runs /usr/bin/aws every time instead.
aws_cli() {
	local awsc=$BUILD/tests/tools/awsc
	if [ -n "${BERTH_AWS_DIRECT:-}" ] || [ ! -x "$awsc" ]; then
		"$AWS" "$@"
		return
	fi
	[ -S "$WORK/awsd.sock" ] || awsd_start || { "$AWS" "$@"; return; }
	"$awsc" "$WORK/awsd.sock" "$@"
}
# Starts the suite's aws CLI server once (calls from subshells share it) and waits for it.
awsd_start() {
	(
		flock 9
		if [ ! -f "$WORK/awsd.pid" ]; then
			setsid /usr/bin/python3 "$ROOT/tests/tools/awsd.py" "$WORK/awsd.sock" \
				</dev/null >>"$WORK/awsd.log" 2>&1 9>&- &
			echo $! >"$WORK/awsd.pid"
		fi
		for _ in $(seq 1 600); do
			[ -S "$WORK/awsd.sock" ] && exit 0
			kill -0 "$(cat "$WORK/awsd.pid")" 2>/dev/null || break
			sleep 0.05
		done
		echo "# the aws CLI server did not start; using /usr/bin/aws (log: $WORK/awsd.log)" >&2
		exit 1
	) 9>>"$WORK/awsd.lock"
}
# jq-free JSON field access: jget EXPR < json (python expression on `d`).
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# Signed REST call with curl's own SigV4 implementation.
rest() {
	local method=$1 path=$2; shift 2
	local key secret
	key=$(sed -n 's/^aws_access_key_id *= *//p' "$AWS_SHARED_CREDENTIALS_FILE")
	secret=$(sed -n 's/^aws_secret_access_key *= *//p' "$AWS_SHARED_CREDENTIALS_FILE")
	curl -s -X "$method" --aws-sigv4 "aws:amz:us-east-1:ecs" --user "$key:$secret" \
		"$@" "$ENDPOINT$path"
}

# ecs_raw OPERATION JSON: one ECS call through curl's SigV4 (milliseconds, where the aws CLI
# takes a second): for tests that must watch what happens right after the call.
ecs_raw() {
	local key secret
	key=$(sed -n 's/^aws_access_key_id *= *//p' "$AWS_SHARED_CREDENTIALS_FILE")
	secret=$(sed -n 's/^aws_secret_access_key *= *//p' "$AWS_SHARED_CREDENTIALS_FILE")
	curl -s --aws-sigv4 "aws:amz:us-east-1:ecs" --user "$key:$secret" \
		-H "X-Amz-Target: AmazonEC2ContainerServiceV20141113.$1" \
		-H 'Content-Type: application/x-amz-json-1.1' --data-binary "$2" "$ENDPOINT/"
}

# Imports the busybox test image as busybox:latest.
import_busybox() {
	if [ ! -f /tmp/berth-busybox.tar.gz ] || [ /bin/busybox -nt /tmp/berth-busybox.tar.gz ]; then
		rm -rf "$WORK/bb" && bash "$ROOT/tests/lib/mkimage-busybox.sh" "$WORK/bb" >/dev/null &&
			tar -C "$WORK/bb" -czf /tmp/berth-busybox.tar.gz.$$ . &&
			mv /tmp/berth-busybox.tar.gz.$$ /tmp/berth-busybox.tar.gz
	fi
	rest POST "/v1/images?name=busybox%3Alatest" -H 'Content-Type: application/gzip' \
		--data-binary @/tmp/berth-busybox.tar.gz
}

# wait_for SECONDS COMMAND...: polls every 50 ms until the command succeeds.
wait_for() {
	local t=$1; shift
	local end=$((SECONDS + t))
	while [ $SECONDS -lt $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}

task_field() { ecs describe-tasks --cluster "$1" --tasks "$2" | jget "$3"; }
task_status_is() { [ "$(task_field "$1" "$2" "d['tasks'][0]['lastStatus']")" == "$3" ]; }

berth_cleanup() {
	berth_stop
	[ -f "$WORK/awsd.pid" ] && kill "$(cat "$WORK/awsd.pid")" 2>/dev/null
	# Kill whatever tasks are left and remove their cgroups.
	for d in /sys/fs/cgroup/*/"$PARENT" /sys/fs/cgroup/unified/"$PARENT"; do
		[ -d "$d" ] || continue
		find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
	done
	sleep 0.2
	for d in /sys/fs/cgroup/*/"$PARENT" /sys/fs/cgroup/unified/"$PARENT"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	if [ "$T_FAILED" -gt 0 ] && [ -f "$WORK/berthd.log" ]; then
		echo "# berthd log (tail):"; tail -30 "$WORK/berthd.log" | sed 's/^/# /'
	fi
	# A sanitizer report is kept whole, whatever else failed.
	if [ -f "$WORK/berthd.log" ] && grep -qE '^==[0-9]+==ERROR|runtime error:' "$WORK/berthd.log"; then
		echo "# sanitizer report:"
		grep -E -A60 '^==[0-9]+==ERROR|runtime error:' "$WORK/berthd.log" | head -120 | sed 's/^/# /'
		[ "$T_FAILED" -gt 0 ] || echo "not ok - berthd's sanitizer report"
	fi
	umount -R "$WORK"/data/tasks/*/c/*/merged 2>/dev/null
	rm -rf "$WORK"
}
trap berth_cleanup EXIT
export -f ecs jget rest ecs_raw task_field task_status_is aws_cli awsd_start
export AWS BUILD WORK ROOT
