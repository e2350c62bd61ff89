#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 90
# test: first-build (an ASan build cannot run under valgrind)
# test_valgrind.sh: berthd under valgrind through a whole API session (image import, clusters,
# task definitions, tasks, a service, metrics, a malformed request, shutdown): no leak and no
# memory error in the daemon. Task supervisors are forks of berthd and so also run under
# valgrind, whose 3.19 lacks syscalls they need (open_tree, pidfd_open): the tasks fail to
# start here, which still walks the daemon's failure paths; the other suites run them for real.
# Plain builds only (ASan builds cannot run under valgrind; the sanitizer pass covers them).
. "$(dirname "$0")/lib.sh"
if [ "${BERTH_ECS_CLIENT:-aws}" = berthctl ]; then echo "# sanitizer build: covered by ASan"; exit 0; fi
export BERTH_ECS_CLIENT=berthctl
ecs() { "$BUILD/berthctl" --endpoint-url "$ENDPOINT" --output json ecs "$@"; }
PORT=$(free_port)
mkdir -p "$WORK/data"
valgrind --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
	--error-exitcode=9 --suppressions="$ROOT/tests/valgrind.supp" --child-silent-after-fork=yes \
	--log-file="$WORK/vg.log" "$BUILD/berthd" --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" \
	--cgroup-parent "$PARENT" --task-healthy-after 1 >>"$WORK/berthd.log" 2>&1 &
BERTHD_PID=$!
# Loading the eBPF probes parses the kernel's BTF once per probe, which takes valgrind some 25 s
# on a quiet machine and far longer on a loaded one.
for _ in $(seq 1 1800); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
export AWS_SHARED_CREDENTIALS_FILE=$WORK/data/state/credentials AWS_DEFAULT_REGION=us-east-1
export ENDPOINT=http://127.0.0.1:$PORT
check "berthd answers under valgrind" curl -sf "$ENDPOINT/healthz"
import_busybox >/dev/null
ecs create-cluster --cluster-name vg >/dev/null
ecs register-task-definition --cli-input-json "file://$ROOT/tests/integration/fixtures/web.json" >/dev/null
T=$(ecs run-task --cluster vg --task-definition web | jget "d['tasks'][0]['taskArn']")
check "task started or failed under valgrind" wait_for 90 bash -c "ecs describe-tasks --cluster vg --tasks $T | grep -Eq '\"lastStatus\": \"(RUNNING|STOPPED)\"'"
ecs create-service --cluster vg --service-name s --task-definition web --desired-count 1 >/dev/null
check "service started a task" wait_for 90 bash -c "ecs list-tasks --cluster vg --service-name s --desired-status STOPPED | grep -q task/ || ecs list-tasks --cluster vg --service-name s | grep -q task/"
ecs describe-services --cluster vg --services s >/dev/null
ecs list-task-definitions >/dev/null
ecs tag-resource --resource-arn "$T" --tags key=a,value=b >/dev/null
curl -s "$ENDPOINT/metrics" >/dev/null
printf '{"clusterName": "x' | curl -s -X POST -H 'X-Amz-Target: AmazonEC2ContainerServiceV20141113.CreateCluster' --data-binary @- "$ENDPOINT/" >/dev/null
ecs stop-task --cluster vg --task "$T" >/dev/null
ecs delete-service --cluster vg --service s --force >/dev/null
check "task stops" wait_for 90 task_status_is vg "$T" STOPPED
sleep 2
kill "$BERTHD_PID"
wait "$BERTHD_PID"
rc=$?
BERTHD_PID=
# Only the daemon's own report counts (forked supervisors exec nothing and are silenced).
summary=$(grep -E "ERROR SUMMARY" "$WORK/vg.log" | head -1)
echo "# $summary"
expect_eq "valgrind exit status" "$rc" 0
expect_match "no memory errors" "$summary" "ERROR SUMMARY: 0 errors"
check "no definite leak" grep -q "definitely lost: 0 bytes\|All heap blocks were freed" "$WORK/vg.log"
[ "$T_FAILED" -gt 0 ] && sed 's/^/# /' "$WORK/vg.log" | grep -v "^# ==[0-9]*== *$" | head -60
exit 0
