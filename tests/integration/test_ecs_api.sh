#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 200
# test_ecs_api.sh: every ECS operation of the foundation through the real aws CLI, errors too.
. "$(dirname "$0")/lib.sh"
FIX=$ROOT/tests/integration/fixtures

berth_start
check "healthz answers" curl -sf "$ENDPOINT/healthz"
expect_match "healthz says the cgroup mode" "$(curl -s "$ENDPOINT/healthz")" '"mode": "(v2|hybrid|v1)"'
# berthd turns on favordynmods (moves into cgroups without an RCU grace period) where it can,
# and /healthz says what the mount table says (or why not, in the log).
if grep -q ' - cgroup2 cgroup2 .*favordynmods' /proc/self/mountinfo; then FDM=true; else FDM=false; fi
expect_match "healthz says whether favordynmods is on" "$(curl -s "$ENDPOINT/healthz")" "\"favorDynmods\": $FDM"
if [ "$FDM" = false ]; then
	check "and the log says why not" grep -q 'favordynmods' "$WORK/berthd.log"
fi
check "credentials file is 0600" test "$(stat -c %a "$WORK/data/state/credentials")" = 600
expect_match "image import" "$(import_busybox)" '"digest": "sha256:[0-9a-f]{64}"'

# Clusters
out=$(ecs create-cluster --cluster-name demo --tags key=team,value=blue)
expect_eq "create-cluster returns the ARN" "$(echo "$out" | jget "d['cluster']['clusterArn']")" \
	"arn:aws:ecs:us-east-1:000000000000:cluster/demo"
expect_eq "create-cluster ACTIVE" "$(echo "$out" | jget "d['cluster']['status']")" ACTIVE
ecs create-cluster --cluster-name other >/dev/null
expect_eq "list-clusters" "$(ecs list-clusters | jget "sorted(d['clusterArns'])")" \
	"['arn:aws:ecs:us-east-1:000000000000:cluster/demo', 'arn:aws:ecs:us-east-1:000000000000:cluster/other']"
expect_eq "list-clusters paginates" "$(ecs list-clusters --max-items 1 | jget "len(d['clusterArns'])")" 1
out=$(ecs describe-clusters --clusters demo nope --include TAGS)
expect_eq "describe-clusters finds one" "$(echo "$out" | jget "d['clusters'][0]['clusterName']")" demo
expect_eq "describe-clusters tags" "$(echo "$out" | jget "d['clusters'][0]['tags']")" "[{'key': 'team', 'value': 'blue'}]"
expect_eq "describe-clusters reports MISSING" "$(echo "$out" | jget "d['failures'][0]['reason']")" MISSING
expect_match "describe-tasks on a missing cluster" "$(ecs describe-tasks --cluster nope --tasks x 2>&1)" "ClusterNotFoundException"

# The suites run the aws CLI warm (lib.sh aws_cli); /usr/bin/aws itself prints the same, output,
# errors and exit status alike.
if [ "${BERTH_ECS_CLIENT:-aws}" != berthctl ]; then
	for args in "ecs describe-clusters --clusters demo nope --include TAGS" \
		"ecs describe-tasks --cluster nope --tasks x" "ecs list-clusters --max-items 1" \
		"ecs run-task --cluster demo --bogus-flag"; do
		# shellcheck disable=SC2086
		direct=$("$AWS" --endpoint-url "$ENDPOINT" --output json $args 2>&1; echo "rc=$?")
		# shellcheck disable=SC2086
		warm=$(aws_cli --endpoint-url "$ENDPOINT" --output json $args 2>&1; echo "rc=$?")
		expect_eq "warm aws CLI prints what /usr/bin/aws prints: $args" "$warm" "$direct"
	done
fi

# Task definitions
out=$(ecs register-task-definition --cli-input-json "file://$FIX/web.json")
expect_eq "register-task-definition revision 1" "$(echo "$out" | jget "d['taskDefinition']['revision']")" 1
expect_eq "register-task-definition ARN" "$(echo "$out" | jget "d['taskDefinition']['taskDefinitionArn']")" \
	"arn:aws:ecs:us-east-1:000000000000:task-definition/web:1"
out=$(ecs register-task-definition --cli-input-json "file://$FIX/web.json")
expect_eq "second registration is revision 2" "$(echo "$out" | jget "d['taskDefinition']['revision']")" 2
expect_eq "describe-task-definition latest" "$(ecs describe-task-definition --task-definition web | jget "d['taskDefinition']['revision']")" 2
expect_eq "describe-task-definition web:1" "$(ecs describe-task-definition --task-definition web:1 | jget "d['taskDefinition']['cpu']")" 256
expect_eq "list-task-definitions" "$(ecs list-task-definitions | jget "len(d['taskDefinitionArns'])")" 2
expect_eq "list-task-definition-families" "$(ecs list-task-definition-families | jget "d['families']")" "['web']"
expect_eq "deregister-task-definition" "$(ecs deregister-task-definition --task-definition web:2 | jget "d['taskDefinition']['status']")" INACTIVE
expect_eq "list-task-definitions INACTIVE" "$(ecs list-task-definitions --status INACTIVE | jget "d['taskDefinitionArns']")" \
	"['arn:aws:ecs:us-east-1:000000000000:task-definition/web:2']"
expect_match "bad cpu is refused naming the field" \
	"$(ecs register-task-definition --family bad --cpu 3 --memory 512 --requires-compatibilities FARGATE --network-mode awsvpc --container-definitions '[{"name":"a","image":"busybox"}]' 2>&1)" \
	"ClientException.*cpu"
expect_match "missing container name is refused" \
	"$(ecs register-task-definition --family bad --container-definitions '[{"image":"busybox","memory":64}]' 2>&1)" \
	"(ClientException|InvalidParameterException|ParamValidation).*name"

# Tasks
out=$(ecs run-task --cluster demo --task-definition web --count 2 --started-by it-test --tags key=app,value=web)
expect_eq "run-task starts 2" "$(echo "$out" | jget "len(d['tasks'])")" 2
T1=$(echo "$out" | jget "d['tasks'][0]['taskArn']")
T2=$(echo "$out" | jget "d['tasks'][1]['taskArn']")
expect_match "task ARN shape" "$T1" '^arn:aws:ecs:us-east-1:000000000000:task/demo/[0-9a-f]{32}$'
check "task 1 reaches RUNNING" wait_for 10 task_status_is demo "$T1" RUNNING
check "task 2 reaches RUNNING" wait_for 10 task_status_is demo "$T2" RUNNING
out=$(ecs describe-tasks --cluster demo --tasks "$T1" --include TAGS)
expect_eq "describe-tasks container RUNNING" "$(echo "$out" | jget "d['tasks'][0]['containers'][0]['lastStatus']")" RUNNING
expect_eq "describe-tasks startedBy" "$(echo "$out" | jget "d['tasks'][0]['startedBy']")" it-test
expect_eq "describe-tasks tags" "$(echo "$out" | jget "d['tasks'][0]['tags']")" "[{'key': 'app', 'value': 'web'}]"
expect_eq "describe-tasks group" "$(echo "$out" | jget "d['tasks'][0]['group']")" "family:web"
check "describe-tasks has startedAt" bash -c "echo '$out' | grep -q startedAt"
# startedAt is the container's exec as its supervisor saw it: after the request and the
# provisioning steps, at or before berthd marked the task RUNNING.
raw=$(ecs_raw DescribeTasks "{\"cluster\":\"demo\",\"tasks\":[\"$T1\"]}")
expect_eq "timestamps in order: created, pull started and stopped, started" \
	"$(echo "$raw" | jget "(lambda t: t['createdAt'] <= t['pullStartedAt'] <= t['pullStoppedAt'] <= t['startedAt'])(d['tasks'][0])")" True
expect_eq "list-tasks" "$(ecs list-tasks --cluster demo | jget "len(d['taskArns'])")" 2
expect_eq "list-tasks by family" "$(ecs list-tasks --cluster demo --family web | jget "len(d['taskArns'])")" 2
expect_eq "list-tasks by startedBy" "$(ecs list-tasks --cluster demo --started-by nobody | jget "len(d['taskArns'])")" 0
expect_eq "run-task with overrides" "$(ecs run-task --cluster demo --task-definition web:1 \
	--overrides '{"containerOverrides":[{"name":"web","command":["sh","-c","echo $GREETING-$EXTRA; sleep 300"],"environment":[{"name":"EXTRA","value":"x"}]}]}' \
	| jget "d['tasks'][0]['overrides']['containerOverrides'][0]['name']")" web
T3=$(ecs list-tasks --cluster demo | jget "[a for a in d['taskArns'] if a not in ('$T1','$T2')][0]")
check "override task RUNNING" wait_for 10 task_status_is demo "$T3" RUNNING
check "override command and environment reach the container" wait_for 5 bash -c \
	"rest GET '/v1/tasks/${T3##*/}/logs?cluster=demo' | grep -q hello-x"
expect_match "logs endpoint" "$(rest GET "/v1/tasks/${T1##*/}/logs?cluster=demo")" "started"
expect_match "run-task on an inactive revision" "$(ecs run-task --cluster demo --task-definition web:2 2>&1)" "ClientException"
expect_match "run-task count 11 refused" "$(ecs run-task --cluster demo --task-definition web --count 11 2>&1)" "InvalidParameterException"
expect_match "run-task unknown family" "$(ecs run-task --cluster demo --task-definition nope 2>&1)" "ClientException"
expect_match "run-task bad override container" "$(ecs run-task --cluster demo --task-definition web --overrides '{"containerOverrides":[{"name":"zzz"}]}' 2>&1)" "(InvalidParameterException|ClientException)"

# Tags
ecs tag-resource --resource-arn "$T1" --tags key=extra,value=1 >/dev/null
expect_eq "tag-resource / list-tags-for-resource" "$(ecs list-tags-for-resource --resource-arn "$T1" | jget "sorted(t['key'] for t in d['tags'])")" "['app', 'extra']"
ecs untag-resource --resource-arn "$T1" --tag-keys app >/dev/null
expect_eq "untag-resource" "$(ecs list-tags-for-resource --resource-arn "$T1" | jget "[t['key'] for t in d['tags']]")" "['extra']"
ecs tag-resource --resource-arn arn:aws:ecs:us-east-1:000000000000:cluster/demo --tags key=env,value=prod >/dev/null
expect_eq "cluster tags" "$(ecs list-tags-for-resource --resource-arn arn:aws:ecs:us-east-1:000000000000:cluster/demo | jget "len(d['tags'])")" 2
ecs tag-resource --resource-arn arn:aws:ecs:us-east-1:000000000000:task-definition/web:1 --tags key=v,value=1 >/dev/null
expect_eq "task definition tags" "$(ecs describe-task-definition --task-definition web:1 --include TAGS | jget "d['tags']")" "[{'key': 'v', 'value': '1'}]"
expect_match "tags on an unknown ARN" "$(ecs list-tags-for-resource --resource-arn arn:aws:ecs:us-east-1:000000000000:task/demo/ffff 2>&1)" "InvalidParameterException"

# Stop
out=$(ecs stop-task --cluster demo --task "$T1" --reason "test over")
expect_eq "stop-task desiredStatus" "$(echo "$out" | jget "d['task']['desiredStatus']")" STOPPED
check "stopped task reaches STOPPED" wait_for 10 task_status_is demo "$T1" STOPPED
out=$(ecs describe-tasks --cluster demo --tasks "$T1")
expect_eq "stopCode UserInitiated" "$(echo "$out" | jget "d['tasks'][0]['stopCode']")" UserInitiated
expect_eq "stoppedReason" "$(echo "$out" | jget "d['tasks'][0]['stoppedReason']")" "test over"
expect_eq "container exit code after SIGTERM" "$(echo "$out" | jget "d['tasks'][0]['containers'][0]['exitCode']")" 143
check "stopped task has stoppedAt" bash -c "echo '$out' | grep -q stoppedAt"
expect_eq "list-tasks STOPPED" "$(ecs list-tasks --cluster demo --desired-status STOPPED | jget "len(d['taskArns'])")" 1
ecs stop-task --cluster demo --task "$T2" >/dev/null
expect_eq "default stop reason" "$(ecs describe-tasks --cluster demo --tasks "$T2" | jget "d['tasks'][0]['stoppedReason']")" "Stopped by user."
expect_match "delete-cluster with tasks refused" "$(ecs delete-cluster --cluster demo 2>&1)" "ClusterContainsTasksException"
ecs stop-task --cluster demo --task "$T3" >/dev/null
check "all tasks stop" wait_for 10 bash -c "[ \"\$(ecs list-tasks --cluster demo | jget \"len(d['taskArns'])\")\" = 0 ]"
# (the cluster's task cgroups made ahead for its next tasks stay)
stopped_cgroups_gone() {
	for a in $(ecs list-tasks --cluster demo --desired-status STOPPED | jget "' '.join(d['taskArns'])"); do
		[ ! -e "/sys/fs/cgroup/memory/$PARENT/demo/${a##*/}" ] || return 1
	done
}
check "task cgroups are removed" wait_for 10 stopped_cgroups_gone
expect_eq "delete-cluster" "$(ecs delete-cluster --cluster other | jget "d['cluster']['status']")" INACTIVE
expect_eq "deleted cluster is not listed" "$(ecs list-clusters | jget "len(d['clusterArns'])")" 1

# Missing image
cat >"$WORK/noimg.json" <<'J'
{"family":"noimg","containerDefinitions":[{"name":"a","image":"nothere:1","memory":32,"command":["true"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/noimg.json" >/dev/null
T=$(ecs run-task --cluster demo --task-definition noimg | jget "d['tasks'][0]['taskArn']")
check "missing image stops the task" wait_for 10 task_status_is demo "$T" STOPPED
expect_match "CannotPullContainerError" "$(task_field demo "$T" "d['tasks'][0]['stoppedReason']")" "CannotPullContainerError"
expect_eq "stopCode TaskFailedToStart" "$(task_field demo "$T" "d['tasks'][0]['stopCode']")" TaskFailedToStart

# A failed exec
cat >"$WORK/noexec.json" <<'J'
{"family":"noexec","containerDefinitions":[{"name":"a","image":"busybox","memory":32,"command":["/no/such/binary"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/noexec.json" >/dev/null
T=$(ecs run-task --cluster demo --task-definition noexec | jget "d['tasks'][0]['taskArn']")
check "failed exec stops the task" wait_for 10 task_status_is demo "$T" STOPPED
expect_match "CannotStartContainerError names the errno" "$(task_field demo "$T" "d['tasks'][0]['containers'][0]['reason']")" "CannotStartContainerError.*(No such file|ENOENT)"

# Essential container exit
cat >"$WORK/exit3.json" <<'J'
{"family":"exit3","containerDefinitions":[{"name":"a","image":"busybox","memory":32,"command":["sh","-c","exit 3"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/exit3.json" >/dev/null
T=$(ecs run-task --cluster demo --task-definition exit3 | jget "d['tasks'][0]['taskArn']")
check "exiting essential container stops the task" wait_for 10 task_status_is demo "$T" STOPPED
expect_eq "EssentialContainerExited" "$(task_field demo "$T" "d['tasks'][0]['stopCode']")" EssentialContainerExited
expect_eq "exit code 3" "$(task_field demo "$T" "d['tasks'][0]['containers'][0]['exitCode']")" 3
expect_eq "Essential container in task exited" "$(task_field demo "$T" "d['tasks'][0]['stoppedReason']")" "Essential container in task exited"
echo "# $T_N tests"
