#!/usr/bin/env bats
# The AWS credential chain past static keys: web identity (IRSA) from the
# environment and from a profile, container credentials (EKS Pod Identity /
# ECS), EC2 instance metadata (IMDSv2), each served by tests/helpers/
# aws_standin.py on 127.0.0.1, and each checked twice: bc archives and lists
# through the SigV4 gate (which accepts only the keys the stand-in issued,
# with their session token), and botocore's own resolver, given the same
# environment, obtains from the same stand-in keys with the same access key
# and is accepted by the gate the same way.
# Not tested here: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, whose host
# 169.254.170.2 cannot be bound on a test machine (the unit tests check the
# URL it makes). The refresh rule itself is a unit test
# (test_aws_credentials.c) at chosen times; here a multipart upload through
# a gate that holds each part outlasts keys that live 2 seconds, and keys
# the gate stops taking long before their stated expiry are renewed when
# it answers ExpiredToken.

load helpers

# A python3 whose botocore knows what this file checks against it
# (AWS_ENDPOINT_URL_STS, container token files and the EKS Pod Identity
# hosts: 1.34 and later); Debian's may be older.
botocore_python() {
    local py
    for py in $(type -ap python3); do
        if "$py" -c 'import botocore, sys
sys.exit(tuple(map(int, botocore.__version__.split(".")[:2])) < (1, 34))' 2>/dev/null; then
            echo "$py"
            return
        fi
    done
}

setup_file() {
    start_s3rver
    export BOTOCORE_PY=$(botocore_python)
}
teardown_file() { stop_s3rver; }

setup() {
    T=$(scratch_dir)
    P="p$BATS_TEST_NUMBER"
    make_segment "$T/000000010000000000000001" 1
    unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    export AWS_SHARED_CREDENTIALS_FILE="$T/credentials" AWS_CONFIG_FILE="$T/config"
    export AWS_EC2_METADATA_DISABLED=true
    printf 'eyJhbGciOiJSUzI1NiJ9.standin-jwt.%s' "$BATS_TEST_NUMBER" >"$T/token"
    WEB_TOKEN=$(cat "$T/token")
}

teardown() {
    local pid
    for pid in "$T/standin.pid" "$T/gate.pid"; do
        if [ -f "$pid" ]; then kill "$(cat "$pid")" 2>/dev/null || true; fi
    done
}

# standin [ARGS...]: starts the stand-in, exports STANDIN (its URL).
standin() {
    local port
    port=$(free_port)
    /usr/bin/python3 "$BC_TOP/tests/helpers/aws_standin.py" --port "$port" \
        --issued "$S3RVER_DIR/issued.jsonl" --log "$T/standin.log" --web-token "$WEB_TOKEN" \
        "$@" >"$T/standin.out" 2>&1 &
    echo $! >"$T/standin.pid"
    export STANDIN="http://127.0.0.1:$port"
    wait_for 30 port_open "$port"
}

# web_identity_env TOKEN_FILE: IRSA's variables, STS at the stand-in.
web_identity_env() {
    export AWS_ROLE_ARN=arn:aws:iam::123456789012:role/bc AWS_WEB_IDENTITY_TOKEN_FILE="$1"
    export AWS_ENDPOINT_URL_STS="$STANDIN"
}

# botocore_key: the access key botocore's resolver gets from this
# environment, after checking the gate takes it for a listing.
botocore_key() {
    [ -n "$BOTOCORE_PY" ] || skip "no python3 with botocore >= 1.34"
    "$BOTOCORE_PY" - "$S3_ENDPOINT" <<'EOF'
import sys, botocore.session
s = botocore.session.get_session()
c = s.get_credentials()
assert c is not None, "botocore found no credentials"
f = c.get_frozen_credentials()
assert f.token, "temporary keys come with a session token"
client = s.create_client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
client.list_objects_v2(Bucket="test", MaxKeys=1)
print(f.access_key)
EOF
}

# archive_and_list: bc-wal-archive then bc-ls wals with the current
# environment; both must succeed through the gate.
archive_and_list() {
    run bc-wal-archive --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/000000010000000000000001"
    echo "$output"
    [ "$status" -eq 0 ]
    run bc-ls wals --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *000000010000000000000001* ]]
}

# issued_keys: the access keys the stand-in issued, in order.
issued_keys() {
    python3 -c 'import json,sys; [print(json.loads(l)["AccessKeyId"]) for l in open(sys.argv[1])]' \
        "$S3RVER_DIR/issued.jsonl"
}

# no_secret_in FILE...: no token or issued secret appears in the files.
no_secret_in() {
    local secret
    for secret in "$WEB_TOKEN" standin-jwt $(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e = json.loads(l); print(e["SecretAccessKey"]); print(e["Token"])' "$S3RVER_DIR/issued.jsonl" 2>/dev/null); do
        ! grep -qF -- "$secret" "$@"
    done
}

@test "web identity from AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, as botocore does it" {
    standin
    web_identity_env "$T/token"
    archive_and_list
    run bc-ls wals -t -v --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv
    echo "$output"
    [[ "$output" == *"credentials from web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE)"* ]]
    grep -q "POST /" "$T/standin.log"
    [ "$(botocore_key)" = "$(issued_keys | tail -n 1)" ]
}

@test "web identity from a profile's role_arn and web_identity_token_file" {
    standin
    printf '[profile irsa]\nrole_arn = arn:aws:iam::123456789012:role/bc\nweb_identity_token_file = %s\nrole_session_name = bc-test\n' \
        "$T/token" >"$T/config"
    export AWS_PROFILE=irsa AWS_ENDPOINT_URL_STS="$STANDIN"
    run bc-ls wals -t -v --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"credentials from web identity of profile 'irsa'"* ]]
    archive_and_list
    [ "$(botocore_key)" = "$(issued_keys | tail -n 1)" ]
    no_secret_in "$T/standin.log"
}

@test "container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI with a token file (EKS Pod Identity)" {
    standin --container-path /v1/credentials --auth-token pod-identity-token-XYZ
    printf 'pod-identity-token-XYZ' >"$T/pod-token"
    export AWS_CONTAINER_CREDENTIALS_FULL_URI="$STANDIN/v1/credentials"
    export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/pod-token"
    archive_and_list
    grep -q "GET /v1/credentials" "$T/standin.log"
    [ "$(botocore_key)" = "$(issued_keys | tail -n 1)" ]

    # The token sent is the file's, so a wrong one is refused, in one line.
    printf 'wrong-token-ABC' >"$T/pod-token"
    run bc-ls wals --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv
    echo "$output"
    [ "$status" -eq 2 ]
    [[ "$output" == *"container credentials at $STANDIN/v1/credentials"* ]]
    [[ "$output" == *"HTTP 401"* ]]
    [[ "$output" != *wrong-token-ABC* ]]
}

@test "container credentials over http only to the hosts botocore allows" {
    export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://example.com:9/creds
    run bc-ls wals --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv
    echo "$output"
    [ "$status" -eq 2 ]
    [[ "$output" == *"http://example.com:9/creds is not allowed"* ]]
    [ -n "$BOTOCORE_PY" ] || skip "no python3 with botocore >= 1.34"
    run "$BOTOCORE_PY" -c 'import botocore.session; botocore.session.get_session().get_credentials()'
    [ "$status" -ne 0 ]
    [[ "$output" == *"Unsupported host 'example.com'"* ]]
}

@test "EC2 instance metadata, IMDSv2, at AWS_EC2_METADATA_SERVICE_ENDPOINT" {
    standin
    unset AWS_EC2_METADATA_DISABLED
    export AWS_EC2_METADATA_SERVICE_ENDPOINT="$STANDIN"
    archive_and_list
    # token first, then the role name and the role's keys, with the token
    grep -q "PUT /latest/api/token" "$T/standin.log"
    grep -q "GET /latest/meta-data/iam/security-credentials/bc-test-role" "$T/standin.log"
    [ "$(botocore_key)" = "$(issued_keys | tail -n 1)" ]
    no_secret_in "$T/standin.log"
}

@test "no instance metadata service: fails at once with exit 2, naming IMDS" {
    unset AWS_EC2_METADATA_DISABLED
    export AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$(free_port)"
    start=$SECONDS
    run bc-wal-archive --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/000000010000000000000001"
    echo "$output"
    [ "$status" -eq 2 ]
    [ $((SECONDS - start)) -le 5 ]
    [[ "$output" == *"EC2 instance metadata (IMDS) at $AWS_EC2_METADATA_SERVICE_ENDPOINT"* ]]
    [[ "$output" == *"no AWS credentials (set AWS_ACCESS_KEY_ID"* ]]
    [ "$(printf '%s\n' "$output" | grep -c .)" -eq 1 ]
}

@test "an unreadable web identity token file: exit 2, one line naming it" {
    standin
    web_identity_env "$T/missing-token"
    run bc-ls wals --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv
    echo "$output"
    [ "$status" -eq 2 ]
    [[ "$output" == *"web identity credentials (role arn:aws:iam::123456789012:role/bc, token file $T/missing-token): cannot read the token file"* ]]
    [ "$(printf '%s\n' "$output" | grep -c .)" -eq 1 ]
    [ ! -s "$T/standin.log" ]
}

@test "STS refusing the token: exit 2, its error code and message, never the token" {
    standin --refuse InvalidIdentityToken
    web_identity_env "$T/token"
    run bc-wal-archive -v -v --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/000000010000000000000001"
    echo "$output"
    [ "$status" -eq 2 ]
    [[ "$output" == *"STS AssumeRoleWithWebIdentity at $STANDIN: HTTP 400 InvalidIdentityToken: stand-in refuses"* ]]
    [[ "$output" != *standin-jwt* ]]
    printf '%s\n' "$output" >"$T/out"
    no_secret_in "$T/out"
}

@test "keys of temporary credentials never reach bc's output, even at debug level" {
    standin
    web_identity_env "$T/token"
    run bc-wal-archive -v -v --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
    [[ "$output" == *"credentials from web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE)"* ]]
    printf '%s\n' "$output" >"$T/out"
    no_secret_in "$T/out"
}

@test "the gate refuses a temporary key without its session token" {
    standin
    web_identity_env "$T/token"
    archive_and_list
    key=$(issued_keys | tail -n 1)
    secret=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["SecretAccessKey"])' "$S3RVER_DIR/issued.jsonl")
    unset AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE
    AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret run bc-ls wals --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv
    echo "$output"
    [ "$status" -eq 2 ]
    [[ "$output" == *InvalidToken* ]]
}

@test "keys that expire during a multipart upload are renewed: every part is signed with live keys" {
    standin --expiry 2
    web_identity_env "$T/token"
    # a second gate in front of the same s3rver, holding each part a second
    start_gate "$T" --part-delay 1
    run bc-wal-archive -v -v --max-single-put-size 5MB --max-block-size 5MB --max-concurrency 1 \
        --endpoint-url "$GATE" "s3://test/$P" srv "$T/000000010000000000000001"
    echo "$output"
    [ "$status" -eq 0 ]
    # four parts held a second each: the first keys (2 s) could not have lasted
    [ "$(grep -c "POST /" "$T/standin.log")" -ge 2 ]
    [[ "$output" == *"refreshed"* ]]
    [ ! -s "$T/rejected.log" ]
    run bc-wal-restore --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv 000000010000000000000001 "$T/back"
    [ "$status" -eq 0 ]
    cmp "$T/back" "$T/000000010000000000000001"
}

@test "keys the store refuses as expired before their time are renewed at once, and the request sent again" {
    # the stand-in says the keys last an hour; the gate takes them for 2 s
    standin --revoke-after 2
    web_identity_env "$T/token"
    start_gate "$T" --part-delay 1
    run bc-wal-archive -v --max-single-put-size 5MB --max-block-size 5MB --max-concurrency 1 \
        --endpoint-url "$GATE" "s3://test/$P" srv "$T/000000010000000000000001"
    echo "$output"
    [ "$status" -eq 0 ]
    # refused once, renewed, sent again: no proactive refresh was due
    grep -q "ExpiredToken" "$T/rejected.log"
    [[ "$output" == *"refused as expired"*"fetching new keys"* ]]
    [[ "$output" == *"refreshed"* ]]
    [ "$(grep -c "POST /" "$T/standin.log")" -ge 2 ]
    [ "$(issued_keys | sort -u | wc -l)" -ge 2 ]
    no_secret_in <(echo "$output") "$T/gate.log"
    run bc-wal-restore --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv 000000010000000000000001 "$T/back"
    [ "$status" -eq 0 ]
    cmp "$T/back" "$T/000000010000000000000001"
}

@test "fixed keys refused as expired fail at once: exit 2, naming the cause" {
    export AWS_ACCESS_KEY_ID=ASIASTALE AWS_SECRET_ACCESS_KEY=stale AWS_SESSION_TOKEN=stale-token
    echo '{"AccessKeyId": "ASIASTALE", "SecretAccessKey": "stale", "Token": "stale-token", "ExpiresAt": 0}' \
        >>"$S3RVER_DIR/issued.jsonl"
    run bc-wal-archive --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/000000010000000000000001"
    echo "$output"
    [ "$status" -eq 2 ]
    [[ "$output" == *"ExpiredToken"* ]]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" != *stale-token* ]]
}

@test "bc-plugin with inheritFromIAMRole passes no keys: the sidecar's IRSA variables reach the tool" {
    standin
    K=$T/kube
    cnpg_objects "$K" iam "s3://test/$P"
    # as upstream's ObjectStore says it: no Secret, the role from the pod
    python3 - "$K/objects/iam.json" <<'PY'
import json, sys
objs = [o for o in json.load(open(sys.argv[1])) if o["kind"] == "ObjectStore"]
objs[0]["spec"]["configuration"]["s3Credentials"] = {"inheritFromIAMRole": True}
json.dump(objs, open(sys.argv[1], "w"))
PY
    cnpg_cluster "$T/cluster.json" pg iam
    start_kube "$K"
    mkdir -p "$T/pgdata/pg_wal"
    make_segment "$T/pgdata/pg_wal/000000010000000000000001" 1
    start_plugin instance "$T" CLUSTER_NAME=pg POD_NAME=pg-1 PGDATA="$T/pgdata" \
        SPOOL_DIRECTORY="$T/spool" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/bc \
        AWS_WEB_IDENTITY_TOKEN_FILE="$T/token" AWS_ENDPOINT_URL_STS="$STANDIN" \
        AWS_EC2_METADATA_DISABLED=true
    run "$BC_TOP/tests/helpers/cnpgi_wal.py" --socket "$T/sock/barman-cloud.cloudnative-pg.io" \
        --stubs "$T/stubs" --cluster "$T/cluster.json" archive pg_wal/000000010000000000000001
    echo "$output"
    stop_plugin "$T"
    kill "$(cat "$K/standin.pid")" 2>/dev/null || true
    [ "$status" -eq 0 ]
    # STS was asked with the pod's token, and the upload was signed with
    # the temporary keys it issued (the gate checks them, token included)
    grep -q "POST /" "$T/standin.log"
    token=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])["Token"])' \
        "$S3RVER_DIR/issued.jsonl")
    grep -qF "PUT /test/$P/pg/wals/0000000100000000/000000010000000000000001.gz " "$S3RVER_DIR/journal.log"
    grep -F "PUT /test/$P/pg/wals/0000000100000000/000000010000000000000001.gz " \
        "$S3RVER_DIR/journal.log" | grep -qF "x-amz-security-token=$token"
    no_secret_in "$T/plugin.log"
}
