#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test: weight 30
# test_hostile.sh: bad signatures, malformed and huge bodies, unknown targets - refused with AWS
# errors, nothing changed, the daemon keeps serving.
. "$(dirname "$0")/lib.sh"

berth_start
ecs create-cluster --cluster-name h >/dev/null
T=AmazonEC2ContainerServiceV20141113
raw() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }

code=$(raw -X POST -H "X-Amz-Target: $T.ListClusters" -H 'Content-Type: application/x-amz-json-1.1' -d '{}' "$ENDPOINT/")
expect_eq "unsigned request: 400" "$code" 400
expect_match "unsigned request: MissingAuthenticationToken" "$(cat "$WORK/body")" '"__type":"MissingAuthenticationTokenException"'
AWS_ACCESS_KEY_ID=AKIAWRONGWRONGWRONG1 AWS_SECRET_ACCESS_KEY=x out=$(AWS_ACCESS_KEY_ID=AKIAWRONGWRONGWRONG1 AWS_SECRET_ACCESS_KEY=x AWS_SHARED_CREDENTIALS_FILE=/dev/null ecs list-clusters 2>&1)
expect_match "unknown key: UnrecognizedClientException" "$out" "UnrecognizedClientException"
key=$(sed -n 's/^aws_access_key_id *= *//p' "$AWS_SHARED_CREDENTIALS_FILE")
out=$(AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=wrongsecret AWS_SHARED_CREDENTIALS_FILE=/dev/null ecs list-clusters 2>&1)
expect_match "wrong secret: InvalidSignatureException" "$out" "InvalidSignatureException"
out=$(ecs list-clusters --region eu-west-1 2>&1)
expect_match "wrong region: InvalidSignatureException" "$out" "InvalidSignatureException"

secret=$(sed -n 's/^aws_secret_access_key *= *//p' "$AWS_SHARED_CREDENTIALS_FILE")
signed() {  # signed TARGET BODYFILE: a correctly signed request with an arbitrary body
	curl -s -o "$WORK/body" -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:ecs" --user "$key:$secret" \
		-H "X-Amz-Target: $1" -H 'Content-Type: application/x-amz-json-1.1' --data-binary "@$2" "$ENDPOINT/"
}
printf '{"clusterName": "x' >"$WORK/trunc"
expect_eq "truncated JSON: 400" "$(signed "$T.CreateCluster" "$WORK/trunc")" 400
expect_match "truncated JSON: SerializationException" "$(cat "$WORK/body")" "SerializationException"
python3 -c "print('[' * 5000 + ']' * 5000)" >"$WORK/deep"
expect_eq "deep JSON: 400" "$(signed "$T.CreateCluster" "$WORK/deep")" 400
echo '{"clusterName": 5}' >"$WORK/type"
expect_eq "wrong type: 400" "$(signed "$T.CreateCluster" "$WORK/type")" 400
expect_match "wrong type names the field" "$(cat "$WORK/body")" "clusterName"
head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$WORK/huge"
expect_eq "10 MiB body: 413" "$(raw -X POST -H "X-Amz-Target: $T.ListClusters" --data-binary "@$WORK/huge" "$ENDPOINT/")" 413
echo '{}' >"$WORK/empty"
expect_eq "unknown target: 400" "$(signed "$T.LaunchMissiles" "$WORK/empty")" 400
expect_match "unknown target: UnknownOperationException" "$(cat "$WORK/body")" "UnknownOperationException"
expect_eq "no such route: 404" "$(raw "$ENDPOINT/nope")" 404
rawsock() {  # rawsock BYTES: sends raw bytes, prints the status line
	python3 - "$PORT" "$1" <<'P'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
try:
    print(s.recv(4096).decode("latin-1").split("\r\n")[0])
except Exception as e:
    print("error", e)
P
}
stale="POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: $T.ListClusters\r\nX-Amz-Date: 20000101T000000Z\r\nAuthorization: AWS4-HMAC-SHA256 Credential=$key/20000101/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00\r\nContent-Length: 2\r\n\r\n{}"
expect_match "stale X-Amz-Date refused" "$(rawsock "$stale")" " 400"
rawsock 'GARBAGE\r\n\r\n' >/dev/null
check "daemon still serves" curl -sf "$ENDPOINT/healthz"
expect_eq "nothing changed: one cluster" "$(ecs list-clusters | jget "len(d['clusterArns'])")" 1
