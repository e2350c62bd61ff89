#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 200
# test_berthctl.sh: berthctl against a real berthd: aws-CLI flags, output formats and exit
# codes (compared with the real aws CLI where both apply), pagination, images and task logs.
. "$(dirname "$0")/lib.sh"
BCTL=$BUILD/berthctl
FIX=$ROOT/tests/integration/fixtures

berth_start
bc() { "$BCTL" --endpoint-url "$ENDPOINT" "$@"; }
# rc COMMAND...: the exit status of a command, its output discarded.
rc() { "$@" >/dev/null 2>&1; echo $?; }

expect_match "version" "$("$BCTL" version)" '^berthctl [0-9]+\.[0-9]+'
expect_match "help lists ECS and berth verbs" "$("$BCTL" help)" 'register-task-definition.*image import'
expect_match "verb help lists its flags" "$("$BCTL" run-task --help)" '--task-definition <string>  \(required\)'

# Usage errors: 252, naming the problem.
out=$(bc describe-clusters --bogus x 2>&1)
expect_eq "unknown flag exits 252" "$(rc bc describe-clusters --bogus x)" 252
expect_match "unknown flag is named with the valid ones" "$out" 'Unknown options: --bogus.*Valid options for describe-clusters: --clusters, --include'
expect_match "missing required flag" "$(bc stop-task 2>&1)" 'the following arguments are required: --task'
expect_match "unknown command" "$(bc frobnicate 2>&1)" "Invalid choice: 'frobnicate'"
expect_eq "bad --output exits 252" "$(rc bc --output yaml list-clusters)" 252

# Credentials and connections.
expect_eq "no credentials exits 253" \
	"$(cd "$WORK" && AWS_SHARED_CREDENTIALS_FILE=$WORK/none rc "$BCTL" --endpoint-url "$ENDPOINT" --profile "none-$$" list-clusters)" 253
expect_match "no credentials says so" \
	"$(cd "$WORK" && AWS_SHARED_CREDENTIALS_FILE=$WORK/none "$BCTL" --endpoint-url "$ENDPOINT" --profile "none-$$" list-clusters 2>&1)" \
	'Unable to locate credentials'
key=$(sed -n 's/^aws_access_key_id *= *//p' "$AWS_SHARED_CREDENTIALS_FILE")
secret=$(sed -n 's/^aws_secret_access_key *= *//p' "$AWS_SHARED_CREDENTIALS_FILE")
check "credentials from the environment" env AWS_SHARED_CREDENTIALS_FILE=/nonexistent \
	AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret" "$BCTL" --endpoint-url "$ENDPOINT" list-clusters
printf '[ops]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$key" "$secret" >"$WORK/creds"
check "--profile picks a profile" env AWS_SHARED_CREDENTIALS_FILE="$WORK/creds" \
	"$BCTL" --endpoint-url "$ENDPOINT" --profile ops list-clusters
check "AWS_PROFILE picks a profile" env AWS_SHARED_CREDENTIALS_FILE="$WORK/creds" AWS_PROFILE=ops \
	"$BCTL" --endpoint-url "$ENDPOINT" list-clusters
expect_eq "wrong secret exits 254" "$(AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_ACCESS_KEY_ID="$key" \
	AWS_SECRET_ACCESS_KEY=wrong rc "$BCTL" --endpoint-url "$ENDPOINT" list-clusters)" 254
expect_match "the region is signed" "$(bc --region eu-west-1 list-clusters 2>&1)" 'InvalidSignatureException'
closed=$(free_port)
expect_eq "connection refused exits 255" "$(rc "$BCTL" --endpoint-url "http://127.0.0.1:$closed" list-clusters)" 255
expect_match "connection refused message" "$("$BCTL" --endpoint-url "http://127.0.0.1:$closed" list-clusters 2>&1)" \
	"Could not connect to the endpoint URL: \"http://127.0.0.1:$closed/\""
check "timeouts accepted" bc --cli-connect-timeout 5 --cli-read-timeout 5 list-clusters

# Clusters: shorthand tags, both spellings of the command, output as the aws CLI prints it.
out=$(bc create-cluster --cluster-name demo --tags key=team,value=blue key=env,value=test)
expect_eq "create-cluster" "$(echo "$out" | jget "d['cluster']['clusterArn']")" \
	"arn:aws:ecs:us-east-1:000000000000:cluster/demo"
expect_eq "shorthand tags" "$(echo "$out" | jget "d['cluster']['tags']")" \
	"[{'key': 'team', 'value': 'blue'}, {'key': 'env', 'value': 'test'}]"
check "berthctl ecs <verb>" bc ecs create-cluster --cluster-name c2 --tags '[{"key":"k","value":"v"}]'
bc create-cluster --cluster-name c3 >/dev/null
for fmt in json text table; do
	for cmd in "describe-clusters --clusters demo nope --include TAGS" "list-clusters" "list-clusters --max-items 2"; do
		want=$(aws_cli --endpoint-url "$ENDPOINT" --output $fmt ecs $cmd 2>&1)
		got=$(bc --output $fmt $cmd 2>&1)
		if [ $fmt = json ]; then
			# Same document; key order follows the server here, the botocore model there.
			want=$(echo "$want" | jget "json.dumps(d, sort_keys=True)")
			got=$(echo "$got" | jget "json.dumps(d, sort_keys=True)")
		fi
		expect_eq "$fmt output as the aws CLI's: $cmd" "$got" "$want"
	done
done
out=$(bc describe-tasks --cluster nope --tasks x 2>&1)
expect_eq "service error exits 254" "$(rc bc describe-tasks --cluster nope --tasks x)" 254
expect_eq "service error worded as the aws CLI" "$(echo "$out" | tail -1)" \
	"$(aws_cli --endpoint-url "$ENDPOINT" ecs describe-tasks --cluster nope --tasks x 2>&1 | tail -1)"

# Pagination.
expect_eq "list merges every page" "$(bc list-clusters --page-size 1 | jget "len(d['clusterArns'])")" 3
out=$(bc list-clusters --max-items 2)
expect_eq "--max-items cuts" "$(echo "$out" | jget "len(d['clusterArns'])")" 2
tok=$(echo "$out" | jget "d['NextToken']")
expect_eq "--starting-token resumes" "$(bc list-clusters --starting-token "$tok" | jget "len(d['clusterArns'])")" 1
expect_eq "the aws CLI takes berthctl's token" \
	"$(aws_cli --endpoint-url "$ENDPOINT" ecs list-clusters --starting-token "$tok" | jget "len(d['clusterArns'])")" 1
expect_eq "--no-paginate with --max-items exits 252" "$(rc bc --no-paginate list-clusters --max-items 1)" 252
expect_match "--max-results is one page" "$(bc list-clusters --max-results 1)" '"nextToken"'

# Images.
rm -rf "$WORK/bb" && bash "$ROOT/tests/lib/mkimage-busybox.sh" "$WORK/bb" >/dev/null
expect_match "image import of a directory" "$(bc image import busybox:latest "$WORK/bb")" '"digest": "sha256:[0-9a-f]{64}"'
tar -C "$WORK/bb" -czf "$WORK/bb.tar.gz" .
tar -C "$WORK/bb" -cf "$WORK/bb.tar" .
expect_match "image import of a .tar.gz" "$(bc image import bb:gz "$WORK/bb.tar.gz")" '"tag": "gz"'
expect_match "image import of a .tar" "$(bc image import bb:tar "$WORK/bb.tar")" '"tag": "tar"'
expect_eq "image list" "$(bc image list | jget "sorted(i['name'] + ':' + i['tag'] for i in d['images'])")" \
	"['bb:gz', 'bb:tar', 'busybox:latest']"
expect_match "image rm" "$(bc image rm bb:gz)" '"removed": "bb:gz"'
expect_eq "image rm of a missing image exits 254" "$(rc bc image rm bb:gz)" 254
expect_eq "image import of a missing source fails" "$(rc bc image import x:y "$WORK/missing")" 255

# Task definitions: --cli-input-json, file://, flags overriding the input.
out=$(bc register-task-definition --cli-input-json "file://$FIX/web.json")
expect_eq "register from --cli-input-json" "$(echo "$out" | jget "d['taskDefinition']['family']")" web
out=$(bc register-task-definition --cli-input-json "file://$FIX/web.json" --family web2)
expect_eq "a flag overrides --cli-input-json" "$(echo "$out" | jget "d['taskDefinition']['family']")" web2
cat >"$WORK/cd.json" <<'EOF'
[{"name": "c", "image": "busybox:latest", "essential": true, "memory": 64,
  "command": ["sh", "-c", "echo hello-$WHO; i=0; while [ $i -lt 3 ]; do i=$((i+1)); echo tick $i; sleep 0.2; done"]}]
EOF
out=$(bc register-task-definition --family ticker --container-definitions "file://$WORK/cd.json")
expect_eq "register from --container-definitions file://" "$(echo "$out" | jget "d['taskDefinition']['revision']")" 1
expect_eq "list-task-definition-families" "$(bc list-task-definition-families | jget "sorted(d['families'])")" \
	"['ticker', 'web', 'web2']"

# Tasks and their logs.
out=$(bc run-task --cluster demo --task-definition ticker --started-by berthctl \
	--overrides '{"containerOverrides":[{"name":"c","environment":[{"name":"WHO","value":"there"}]}]}' \
	--tags key=app,value=ticker)
T=$(echo "$out" | jget "d['tasks'][0]['taskArn']")
expect_match "run-task" "$T" '^arn:aws:ecs:us-east-1:000000000000:task/demo/[0-9a-f]{32}$'
logs=$(timeout 20 "$BCTL" --endpoint-url "$ENDPOINT" logs "$T" --follow)
expect_eq "logs --follow streams until the task stops" "$logs" "$(printf 'hello-there\ntick 1\ntick 2\ntick 3')"
expect_eq "logs --tail" "$(bc logs "${T##*/}" --cluster demo --tail 1)" "tick 3"
expect_eq "logs --container" "$(bc logs "$T" --container c --tail 2)" "$(printf 'tick 2\ntick 3')"
expect_eq "logs of a missing task exits 254" "$(rc bc logs 0123456789abcdef0123456789abcdef --cluster demo)" 254
expect_eq "describe-tasks" "$(bc describe-tasks --cluster demo --tasks "$T" --include TAGS | jget "d['tasks'][0]['tags']")" \
	"[{'key': 'app', 'value': 'ticker'}]"
expect_eq "list-tasks --desired-status" "$(bc list-tasks --cluster demo --desired-status STOPPED | jget "d['taskArns']")" "['$T']"
out=$(bc run-task --cluster demo --task-definition web)
T2=$(echo "$out" | jget "d['tasks'][0]['taskArn']")
check "second task reaches RUNNING" wait_for 10 task_status_is demo "$T2" RUNNING
expect_eq "stop-task" "$(bc stop-task --cluster demo --task "$T2" --reason done | jget "d['task']['desiredStatus']")" STOPPED

# Tags.
CL=arn:aws:ecs:us-east-1:000000000000:cluster/demo
check "tag-resource" bc tag-resource --resource-arn "$CL" --tags key=owner,value=ops
check "untag-resource" bc untag-resource --resource-arn "$CL" --tag-keys env
expect_eq "list-tags-for-resource" "$(bc list-tags-for-resource --resource-arn "$CL" --output text)" \
	"$(printf 'TAGS\tteam\tblue\nTAGS\towner\tops')"

# Services: the verbs reach the service (answered, not refused as usage).
st=$(rc bc describe-services --cluster demo --services nope)
if [ "$st" = 0 ] || [ "$st" = 254 ]; then ok "describe-services reaches the service"; else not_ok "describe-services reaches the service (exit $st)"; fi
expect_match "delete-service --force is a flag" "$(bc delete-service --service s --force --bogus 2>&1)" 'Unknown options: --bogus'

echo "1..$T_N"
[ "$T_FAILED" -eq 0 ]
