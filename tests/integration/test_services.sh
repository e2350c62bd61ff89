#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 150
# test_services.sh: services keep their desired count, heal, roll deployments within
# minimumHealthyPercent/maximumPercent, trip the circuit breaker and survive kill -9.
. "$(dirname "$0")/lib.sh"
FIX=$ROOT/tests/integration/fixtures

berth_start --task-healthy-after 2
import_busybox >/dev/null
ecs create-cluster --cluster-name svc >/dev/null
ecs register-task-definition --cli-input-json "file://$FIX/web.json" >/dev/null

# Fast views through the REST API (curl), for polling without the aws CLI's start-up time.
svc_tasks() {  # svc_tasks -> lines "status taskdef-revision health" of the service's live tasks
	rest GET /v1/tasks | jget "'\n'.join('%s %s' % (t['lastStatus'], t['taskDefinitionArn'].rsplit(':',1)[1]) for t in d['tasks'] if t.get('group') == 'service:web' and t['desiredStatus'] == 'RUNNING')"
}
running_count() { svc_tasks | grep -c '^RUNNING' ; }
describe() { ecs describe-services --cluster svc --services web; }
export -f svc_tasks running_count

out=$(ecs create-service --cluster svc --service-name web --task-definition web --desired-count 3)
expect_eq "create-service ARN" "$(echo "$out" | jget "d['service']['serviceArn']")" \
	"arn:aws:ecs:us-east-1:000000000000:service/svc/web"
expect_eq "one PRIMARY deployment" "$(echo "$out" | jget "[x['status'] for x in d['service']['deployments']]")" "['PRIMARY']"
check "3 tasks RUNNING" wait_for 20 bash -c '[ "$(running_count)" = 3 ]'
check "steady state reached" wait_for 20 bash -c "ecs describe-services --cluster svc --services web | grep -q 'has reached a steady state'"
out=$(describe)
expect_eq "runningCount 3" "$(echo "$out" | jget "d['services'][0]['runningCount']")" 3
expect_eq "rollout COMPLETED" "$(echo "$out" | jget "d['services'][0]['deployments'][0]['rolloutState']")" COMPLETED
expect_match "started event in AWS wording" "$(echo "$out" | jget "'\n'.join(e['message'] for e in d['services'][0]['events'])")" \
	"\(service web\) has started [0-9] tasks: \(task [0-9a-f]{32}\)"
expect_eq "list-services" "$(ecs list-services --cluster svc | jget "d['serviceArns']")" "['arn:aws:ecs:us-east-1:000000000000:service/svc/web']"
expect_eq "list-tasks by serviceName" "$(ecs list-tasks --cluster svc --service-name web | jget "len(d['taskArns'])")" 3
T=$(ecs list-tasks --cluster svc --service-name web | jget "d['taskArns'][0]")
expect_match "task group and startedBy" "$(task_field svc "$T" "d['tasks'][0]['group'] + ' ' + d['tasks'][0]['startedBy']")" "^service:web ecs-svc/[0-9]{19}$"
expect_match "describe-services MISSING" "$(ecs describe-services --cluster svc --services nope | jget "d['failures'][0]['reason']")" MISSING

# Self-healing: kill a task's processes from outside.
pid=$(rest GET /v1/tasks | jget "[t['containers'][0]['pid'] for t in d['tasks'] if t['taskArn'] == '$T'][0]")
kill -9 "$pid"
check "killed task stops" wait_for 10 task_status_is svc "$T" STOPPED
check "replacement RUNNING" wait_for 10 bash -c '[ "$(running_count)" = 3 ]'
expect_eq "killed task's stop code" "$(task_field svc "$T" "d['tasks'][0]['stopCode']")" EssentialContainerExited

# The replacement call (what alarms use): a service task is replaced by its service, a
# standalone task is run again from the same definition.
T=$(ecs list-tasks --cluster svc --service-name web | jget "d['taskArns'][0]")
out=$(rest POST "/v1/tasks/${T##*/}/replace?cluster=svc&reason=alarm%20fired")
expect_eq "replace: service task stopped by the scheduler" "$(echo "$out" | jget "d['task']['stopCode']")" ServiceSchedulerInitiated
expect_eq "replace: reason kept" "$(echo "$out" | jget "d['task']['stoppedReason']")" "alarm fired"
check "replace: service back at 3" wait_for 10 bash -c '[ "$(running_count)" = 3 ] && [ "$(svc_tasks | grep -c .)" = 3 ]'
S=$(ecs run-task --cluster svc --task-definition web | jget "d['tasks'][0]['taskArn']")
check "standalone task RUNNING" wait_for 10 task_status_is svc "$S" RUNNING
out=$(rest POST "/v1/tasks/${S##*/}/replace?cluster=svc")
expect_match "replace: standalone task re-run" "$(echo "$out" | jget "d['replacement']['taskDefinitionArn']")" "task-definition/web:1$"
ecs stop-task --cluster svc --task "$(echo "$out" | jget "d['replacement']['taskArn']")" >/dev/null

# Scale to 4, then roll a new revision with min 50% / max 200%: at every moment at most 8 tasks
# and at least 2 running; at the end 4 tasks of revision 2.
ecs update-service --cluster svc --service web --desired-count 4 >/dev/null
check "scaled to 4" wait_for 20 bash -c '[ "$(running_count)" = 4 ]'
check "steady at 4" wait_for 20 bash -c "[ \"\$(ecs describe-services --cluster svc --services web | jget \"len(d['services'][0]['deployments'])\")\" = 1 ]"
ecs register-task-definition --cli-input-json "file://$FIX/web.json" >/dev/null
T_UPD=$(date +%s.%N)
ecs_raw UpdateService '{"cluster":"svc","service":"web","taskDefinition":"web:2","deploymentConfiguration":{"minimumHealthyPercent":50,"maximumPercent":200}}' >/dev/null
max_total=0 min_running=99 done=0
for _ in $(seq 1 300); do
	lines=$(svc_tasks)
	total=$(echo "$lines" | grep -c .)
	run=$(echo "$lines" | grep -c '^RUNNING')
	[ "$total" -gt "$max_total" ] && max_total=$total
	[ "$run" -lt "$min_running" ] && min_running=$run
	if [ "$(echo "$lines" | grep -c '^RUNNING 2$')" = 4 ] && [ "$total" = 4 ]; then done=1; break; fi
	sleep 0.1
done
echo "# rolling update: at most $max_total tasks, at least $min_running running"
# A rollout can be quicker than the polls above: the tasks' own times tell how many lived at once
# (each from createdAt to stoppingAt, or to now).
overlap=$(rest GET /v1/tasks | jget "max(sum(1 for u in ts if u[0] <= t[0] < u[1]) for t in ts) if (ts := [(t['createdAt'], t.get('stoppingAt') or t.get('stoppedAt') or 1e18) for t in d['tasks'] if t.get('group') == 'service:web' and (t.get('stoppingAt') or t.get('stoppedAt') or 1e18) > $T_UPD]) else 0")
echo "# tasks of the service alive at once during the rollout, by their times: $overlap"
check "the rollout was seen in progress (old and new tasks side by side: $max_total polled, $overlap by times)" \
	test "$max_total" -gt 4 -o "${overlap:-0}" -gt 4
expect_eq "rolling update finishes with 4 tasks of revision 2" "$done" 1
check "never above maximumPercent (8 tasks)" test "$max_total" -le 8
check "never below minimumHealthyPercent (2 running)" test "$min_running" -ge 2
check "rollout COMPLETED" wait_for 20 bash -c "ecs describe-services --cluster svc --services web | jget \"d['services'][0]['deployments'][0]['rolloutState']\" | grep -q COMPLETED"

# Circuit breaker: a definition whose essential container exits at once, with rollback.
cat >"$WORK/crash.json" <<'J'
{"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
 "containerDefinitions":[{"name":"web","image":"busybox","command":["sh","-c","exit 1"]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/crash.json" >/dev/null
ecs update-service --cluster svc --service web --task-definition web:3 \
	--deployment-configuration 'minimumHealthyPercent=100,maximumPercent=200,deploymentCircuitBreaker={enable=true,rollback=true}' >/dev/null
check "circuit breaker trips" wait_for 60 bash -c "ecs describe-services --cluster svc --services web | grep -q 'deployment failed: tasks failed to start'"
check "rolled back to revision 2" wait_for 30 bash -c "ecs describe-services --cluster svc --services web | jget \"d['services'][0]['taskDefinition']\" | grep -q ':2$'"
check "rollback completes with 4 tasks of revision 2" wait_for 30 bash -c '[ "$(svc_tasks | grep -c "^RUNNING 2$")" = 4 ] && [ "$(svc_tasks | grep -c .)" = 4 ]'
check "rollback event" bash -c "ecs describe-services --cluster svc --services web | grep -q 'rolling back to deployment'"

# Launch throttling: a service whose tasks die at once is slowed down, with ECS's event.
ecs create-service --cluster svc --service-name flaky --task-definition web:3 --desired-count 1 >/dev/null
check "throttled launches are reported" wait_for 30 bash -c "ecs describe-services --cluster svc --services flaky | grep -q 'is unable to consistently start tasks successfully'"
n1=$(ecs list-tasks --cluster svc --service-name flaky --desired-status STOPPED | jget "len(d['taskArns'])")
sleep 2
n2=$(ecs list-tasks --cluster svc --service-name flaky --desired-status STOPPED | jget "len(d['taskArns'])")
check "no launch while throttled (2 s)" test "$n2" -le $((n1 + 1))
ecs delete-service --cluster svc --service flaky --force >/dev/null

# kill -9 of berthd mid-deployment: the rollout continues after restart, nothing twice.
ecs update-service --cluster svc --service web --force-new-deployment >/dev/null
sleep 0.5
berth_kill9
berth_start --task-healthy-after 2
check "deployment continues after restart" wait_for 60 bash -c "ecs describe-services --cluster svc --services web | jget \"(len(d['services'][0]['deployments']), d['services'][0]['deployments'][0]['rolloutState'])\" | grep -q \"(1, 'COMPLETED')\""
expect_eq "4 tasks after the restart" "$(svc_tasks | grep -c '^RUNNING')" 4
expect_eq "no task runs twice" "$(ecs list-tasks --cluster svc --service-name web | jget "len(set(d['taskArns']))")" 4

# Delete: refused while scaled up, then force -> DRAINING -> INACTIVE, tasks stopped.
expect_match "delete refused while scaled up" "$(ecs delete-service --cluster svc --service web 2>&1)" "InvalidParameterException"
expect_eq "delete --force drains" "$(ecs delete-service --cluster svc --service web --force | jget "d['service']['status']")" DRAINING
check "service tasks stop" wait_for 20 bash -c '[ "$(svc_tasks | grep -c .)" = 0 ]'
check "service INACTIVE" wait_for 10 bash -c "ecs describe-services --cluster svc --services web | jget \"d['services'][0]['status']\" | grep -q INACTIVE"
expect_eq "inactive service not listed" "$(ecs list-services --cluster svc | jget "len(d['serviceArns'])")" 0
