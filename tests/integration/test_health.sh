#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 100
# test_health.sh: container health checks inside the container, task health from essential
# containers, unhealthy service tasks replaced (standalone ones kept), dependsOn ordering,
# restartPolicy in place.
. "$(dirname "$0")/lib.sh"

berth_start --task-healthy-after 1
import_busybox >/dev/null
ecs create-cluster --cluster-name hc >/dev/null
# Healthy for about 8 s (the check sees the container's own /tmp), then unhealthy for good.
cat >"$WORK/sick.json" <<'J'
{"family":"sick","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
 "containerDefinitions":[{"name":"app","image":"busybox","stopTimeout":2,
  "command":["sh","-c","touch /tmp/ok; sleep 8; rm /tmp/ok; sleep 3600"],
  "healthCheck":{"command":["CMD-SHELL","test -f /tmp/ok"],"interval":5,"timeout":2,"retries":1}}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/sick.json" >/dev/null

# Standalone: HEALTHY, then UNHEALTHY, and it keeps running.
T=$(ecs run-task --cluster hc --task-definition sick | jget "d['tasks'][0]['taskArn']")
# Task and container in one answer: the healthy window is short on a loaded host.
check "task and its container become HEALTHY" wait_for 15 bash -c "[ \"\$(task_field hc $T \"d['tasks'][0]['healthStatus'] + '/' + d['tasks'][0]['containers'][0]['healthStatus']\")\" = HEALTHY/HEALTHY ]"
check "task turns UNHEALTHY" wait_for 30 bash -c "[ \"\$(task_field hc $T \"d['tasks'][0]['healthStatus']\")\" = UNHEALTHY ]"
expect_eq "an unhealthy standalone task keeps running" "$(task_field hc "$T" "d['tasks'][0]['lastStatus']")" RUNNING
ecs stop-task --cluster hc --task "$T" >/dev/null

# Service: the unhealthy task is replaced, and the events say why.
ecs create-service --cluster hc --service-name sick --task-definition sick --desired-count 1 >/dev/null
first=
check "service task RUNNING" wait_for 15 bash -c "ecs list-tasks --cluster hc --service-name sick | jget \"len(d['taskArns'])\" | grep -q 1"
first=$(ecs list-tasks --cluster hc --service-name sick | jget "d['taskArns'][0]")
check "unhealthy service task is stopped" wait_for 40 task_status_is hc "$first" STOPPED
expect_eq "stopped by the scheduler" "$(task_field hc "$first" "d['tasks'][0]['stopCode']")" ServiceSchedulerInitiated
expect_eq "reason" "$(task_field hc "$first" "d['tasks'][0]['stoppedReason']")" "Task failed container health checks"
check "a replacement runs" wait_for 15 bash -c "ecs list-tasks --cluster hc --service-name sick | jget \"[a for a in d['taskArns'] if a != '$first']\" | grep -q task/"
check "events say why" bash -c "ecs describe-services --cluster hc --services sick | grep -q 'failed container health checks'"
ecs delete-service --cluster hc --service sick --force >/dev/null

# dependsOn: app starts only after db is HEALTHY and migrate COMPLETEd; stop in reverse order.
cat >"$WORK/deps.json" <<'J'
{"family":"deps","containerDefinitions":[
 {"name":"db","image":"busybox","memory":32,"essential":true,"stopTimeout":2,
  "command":["sh","-c","sleep 2; touch /tmp/ready; sleep 3600"],
  "healthCheck":{"command":["CMD-SHELL","test -f /tmp/ready"],"interval":5,"timeout":2,"retries":3}},
 {"name":"migrate","image":"busybox","memory":32,"essential":false,"command":["sh","-c","sleep 1; exit 0"]},
 {"name":"app","image":"busybox","memory":32,"essential":true,"stopTimeout":2,"command":["sleep","3600"],
  "dependsOn":[{"containerName":"db","condition":"HEALTHY"},{"containerName":"migrate","condition":"SUCCESS"}]}]}
J
ecs register-task-definition --cli-input-json "file://$WORK/deps.json" >/dev/null
T=$(ecs run-task --cluster hc --task-definition deps | jget "d['tasks'][0]['taskArn']")
ID=${T##*/}
check "dependsOn task RUNNING" wait_for 30 task_status_is hc "$T" RUNNING
RUN=$WORK/data/tasks/$ID/run
ms() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['time'])" "$1"; }
db=$(ms "$RUN/db.started"); mig_exit=$(ms "$RUN/migrate.exit"); app=$(ms "$RUN/app.started")
healthy=$(stat -c %Y "$RUN/db.healthy")000
echo "# db started $db, migrate exited $mig_exit, db healthy ~$healthy, app started $app"
check "app started after migrate succeeded" test "$app" -ge "$mig_exit"
check "app started after db was healthy (db ready after 2 s)" test $((app - db)) -ge 2000
ecs stop-task --cluster hc --task "$T" >/dev/null
check "dependsOn task stops" wait_for 20 task_status_is hc "$T" STOPPED

# restartPolicy needs a container to run restartAttemptPeriod (at least 60 s) before ECS
# restarts it; tests/unit/test_spawn.c covers restarts with short periods.
