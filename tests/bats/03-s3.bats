#!/usr/bin/env bats
# The S3 backend against s3rver (signatures verified), read back with boto3.

load helpers

setup_file() { start_s3rver; }
teardown_file() { stop_s3rver; }

teardown() { stop_gate "$T"; }

setup() {
    T=$(scratch_dir)
    P="p$BATS_TEST_NUMBER"
    make_segment "$T/000000010000000000000001" 1
}

@test "archive and restore every codec through S3 at barman's keys" {
    declare -A flag=([none]="" [gz]=-z [bz2]=-j [xz]=--xz [lz4]=--lz4 [zst]=--zstd [snappy]=--snappy)
    seg=0
    for ext in none gz bz2 xz lz4 zst snappy; do
        seg=$((seg + 1))
        name=$(printf '0000000100000000000000%02X' "$seg")
        make_segment "$T/$name" "$seg"
        run bc-wal-archive ${flag[$ext]} --endpoint-url "$S3_ENDPOINT" "s3://test/$P/" srv "$T/$name"
        [ "$status" -eq 0 ]
        suffix=$([ "$ext" = none ] || echo ".$ext")
        s3_keys "$P/srv/wals/0000000100000000/$name" | grep -qx "$P/srv/wals/0000000100000000/$name$suffix"
        run bc-wal-restore --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$name" "$T/r.$ext"
        [ "$status" -eq 0 ]
        cmp "$T/r.$ext" "$T/$name"
    done
}

@test "a WAL that is not in the archive exits 1 and writes nothing" {
    run bc-wal-restore --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv 0000000100000000000000AB "$T/out"
    [ "$status" -eq 1 ]
    [ ! -e "$T/out" ]
    run bc-wal-restore --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv 00000009.history "$T/out"
    [ "$status" -eq 1 ]
}

@test "overwrite protection on S3: identical is success, different is refused" {
    bc-wal-archive -z --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/000000010000000000000001"
    run bc-wal-archive --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
    mkdir "$T/b"
    make_segment "$T/b/000000010000000000000001" 7
    run bc-wal-archive -z --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/b/000000010000000000000001"
    [ "$status" -eq 1 ]
    [[ "$output" == *"different content; refusing to overwrite"* ]]
    [ "$(s3_keys "$P/" | wc -l)" -eq 1 ]
    s3_get "$P/srv/wals/0000000100000000/000000010000000000000001.gz" "$T/got.gz"
    gzip -dc "$T/got.gz" | cmp - "$T/000000010000000000000001"
}

@test "--conditional-writes yes: one conditional PUT per new segment, the overwrite check only on conflict" {
    E=(--endpoint-url "$S3_ENDPOINT" --conditional-writes yes)
    # the default on an endpoint URL: the listing first
    : >"$S3RVER_DIR/journal.log"
    bc-wal-archive --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/000000010000000000000001"
    head -n 1 "$S3RVER_DIR/journal.log" | grep -q "^GET /test?list-type=2&prefix=$P%2F"
    # trusted: a new segment is one request, a conditional PUT
    make_segment "$T/000000010000000000000002" 2
    : >"$S3RVER_DIR/journal.log"
    bc-wal-archive "${E[@]}" "s3://test/$P" srv "$T/000000010000000000000002"
    [ "$(wc -l <"$S3RVER_DIR/journal.log")" -eq 1 ]
    grep -q "^PUT /test/$P/srv/wals/0000000100000000/000000010000000000000002 .*if-none-match=\*" \
        "$S3RVER_DIR/journal.log"
    # the same again: the PUT is refused (412), the stored copy compared
    run bc-wal-archive -v "${E[@]}" "s3://test/$P" srv "$T/000000010000000000000002"
    [ "$status" -eq 0 ]
    [[ "$output" == *"already archived with identical content"* ]]
    # different content under the name: refused, the stored object kept
    mkdir "$T/b"
    make_segment "$T/b/000000010000000000000002" 7
    run bc-wal-archive "${E[@]}" "s3://test/$P" srv "$T/b/000000010000000000000002"
    [ "$status" -eq 1 ]
    [[ "$output" == *"different content; refusing to overwrite"* ]]
    bc-wal-restore --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv 000000010000000000000002 "$T/back"
    cmp "$T/back" "$T/000000010000000000000002"
}

@test "a name stored under two suffixes is restored only when both copies hold the same bytes" {
    E=(--endpoint-url "$S3_ENDPOINT" --conditional-writes yes)
    bc-wal-archive -z "${E[@]}" "s3://test/$P" srv "$T/000000010000000000000001"
    # putting first does not see the .gz: the same bytes again as .zst
    bc-wal-archive --zstd "${E[@]}" "s3://test/$P" srv "$T/000000010000000000000001"
    [ "$(s3_keys "$P/" | wc -l)" -eq 2 ]
    run bc-wal-restore -v --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv 000000010000000000000001 "$T/back"
    [ "$status" -eq 0 ]
    [[ "$output" == *"archived under 2 suffixes; restored from $P/srv/wals/0000000100000000/000000010000000000000001.gz"* ]]
    cmp "$T/back" "$T/000000010000000000000001"
    # another cluster's segment of that name, with yet another compression
    mkdir "$T/b"
    make_segment "$T/b/000000010000000000000001" 7
    bc-wal-archive --lz4 "${E[@]}" "s3://test/$P" srv "$T/b/000000010000000000000001"
    run bc-wal-restore --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv 000000010000000000000001 "$T/back2"
    echo "$output"
    [ "$status" -eq 4 ]
    [[ "$output" == *"archived twice with different contents"* ]]
    [[ "$output" == *"000000010000000000000001.gz and "*"000000010000000000000001.lz4"* ]]
    [ ! -e "$T/back2" ]
    # looking first (the default here) refuses it at archive time instead
    run bc-wal-archive --xz --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/b/000000010000000000000001"
    [ "$status" -eq 1 ]
}

@test "multipart upload above the threshold, parts in parallel" {
    run bc-wal-archive -v --max-single-put-size 5MiB --max-block-size 5MiB --max-concurrency 3 \
        --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
    s3_get "$P/srv/wals/0000000100000000/000000010000000000000001" "$T/got"
    cmp "$T/got" "$T/000000010000000000000001"
    # the gate saw one CreateMultipartUpload, four parts, one completion
    key="/test/$P/srv/wals/0000000100000000/000000010000000000000001"
    [ "$(grep -c "^POST $key?uploads" "$S3RVER_DIR/journal.log")" -eq 1 ]
    [ "$(grep -c "^PUT $key?.*partNumber=" "$S3RVER_DIR/journal.log")" -eq 4 ]
    [ "$(grep -c "^POST $key?uploadId=" "$S3RVER_DIR/journal.log")" -eq 1 ]
}

@test "--max-parts: a segment that needs more parts goes up in larger ones, all equal but the last" {
    run bc-wal-archive --max-single-put-size 5MiB --max-block-size 5MiB --max-parts 3 \
        --endpoint-url "$S3_ENDPOINT" "s3://test/$P-parts" srv "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
    s3_get "$P-parts/srv/wals/0000000100000000/000000010000000000000001" "$T/got"
    cmp "$T/got" "$T/000000010000000000000001"
    # 16 MiB in at most 3 parts: 6 MiB, 6 MiB and the last 4 MiB
    key="/test/$P-parts/srv/wals/0000000100000000/000000010000000000000001"
    run sh -c "grep '^PUT $key?.*partNumber=' '$S3RVER_DIR/journal.log' | sed -n 's/.* content-length=\([0-9]*\).*/\1/p' | sort -n | tr '\n' ' '"
    [ "$output" = "4194304 6291456 6291456 " ]
    run bc-wal-archive --max-parts 10001 "s3://test/$P-parts" srv "$T/000000010000000000000001"
    [ "$status" -eq 3 ]
}

@test "tags and history tags are set on the objects" {
    printf '1\t0/3000000\tno recovery target specified\n' >"$T/00000002.history"
    bc-wal-archive --tags "team,db" "env,prod" --history-tags "kind,history" \
        --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/000000010000000000000001"
    bc-wal-archive --tags "team,db" --history-tags "kind,history" \
        --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/00000002.history"
    # s3rver ignores x-amz-tagging on uploads; the gate's journal shows what was sent
    grep -q "^PUT /test/$P/srv/wals/0000000100000000/000000010000000000000001 .*x-amz-tagging=team=db&env=prod$" \
        "$S3RVER_DIR/journal.log"
    grep -q "^PUT /test/$P/srv/wals/00000002.history .*x-amz-tagging=kind=history$" "$S3RVER_DIR/journal.log"
    # values are URL-encoded as Python's urlencode does (barman-cloud's encoding)
    bc-wal-archive --tags "a b,c&d=é" --endpoint-url "$S3_ENDPOINT" "s3://test/$P-enc" srv "$T/000000010000000000000001"
    grep -q "^PUT /test/$P-enc/.* x-amz-tagging=a+b=c%26d%3D%C3%A9$" "$S3RVER_DIR/journal.log"
}

@test "server-side encryption and conditional writes are requested" {
    bc-wal-archive -e AES256 --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/000000010000000000000001"
    grep -q "^PUT /test/$P/srv/wals/0000000100000000/000000010000000000000001 content-length=16777216 if-none-match=\* x-amz-server-side-encryption=AES256$" \
        "$S3RVER_DIR/journal.log"
    bc-wal-archive -e aws:kms --sse-kms-key-id alias/pg --max-single-put-size 5MiB --max-block-size 5MiB \
        --endpoint-url "$S3_ENDPOINT" "s3://test/$P-kms" srv "$T/000000010000000000000001"
    key="/test/$P-kms/srv/wals/0000000100000000/000000010000000000000001"
    # encryption goes on CreateMultipartUpload, the condition on the completion
    grep -q "^POST $key?uploads=\{0,1\}\( content-length=0\)\{0,1\} x-amz-server-side-encryption=aws:kms x-amz-server-side-encryption-aws-kms-key-id=alias/pg$" \
        "$S3RVER_DIR/journal.log"
    grep -q "^POST $key?uploadId=.* if-none-match=\*$" "$S3RVER_DIR/journal.log"
    run bc-wal-archive -e DES "s3://test/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 3 ]
}

@test "missing bucket exits 2 and names the bucket" {
    run bc-wal-archive --endpoint-url "$S3_ENDPOINT" "s3://no-such-bucket/x" srv "$T/000000010000000000000001"
    [ "$status" -eq 2 ]
    [[ "$output" == *"no-such-bucket"* ]]
    run bc-wal-restore -t --endpoint-url "$S3_ENDPOINT" "s3://no-such-bucket/x" srv
    [ "$status" -eq 2 ]
}

@test "wrong secret exits 2 and never prints the secret" {
    AWS_SECRET_ACCESS_KEY=TopSecretValue42 run bc-wal-archive -vv --endpoint-url "$S3_ENDPOINT" \
        "s3://test/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 2 ]
    [[ "$output" != *TopSecretValue42* ]]
    [[ "$output" == *Signature* || "$output" == *nvalid* || "$output" == *denied* ]]
    AWS_SECRET_ACCESS_KEY=TopSecretValue42 run bc-wal-restore -t --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv
    [ "$status" -eq 2 ]
    [[ "$output" != *TopSecretValue42* ]]
}

@test "missing credentials exit 2 with a hint" {
    HOME=$T AWS_ACCESS_KEY_ID= AWS_SECRET_ACCESS_KEY= run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
        bc-wal-restore -t --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv
    [ "$status" -eq 2 ]
    [[ "$output" == *AWS_ACCESS_KEY_ID* ]]
}

@test "credentials from a profile in the shared credentials file" {
    mkdir -p "$T/.aws"
    printf '[other]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n' >"$T/.aws/credentials"
    HOME=$T run env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
        bc-wal-archive -P other --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
}

@test "unreachable endpoint exits 2 quickly with the cause" {
    port=$(free_port)
    run bc-wal-restore --max-retries 1 --endpoint-url "http://127.0.0.1:$port" "s3://test/$P" srv \
        000000010000000000000001 "$T/out"
    [ "$status" -eq 2 ]
    [[ "$output" == *"127.0.0.1:$port"* ]]
    [[ "$output" == *connect* ]]
    [ ! -e "$T/out" ]
}

@test "retries: a server answering 503 twice, then a dropped connection, still gets the object" {
    for mode in 503 reset; do
        port=$(free_port)
        python3 "$BC_TOP/tests/helpers/flaky_proxy.py" --port "$port" --fail 2 --mode "$mode" \
            --upstream "${S3_ENDPOINT#http://}" --count-file "$T/count.$mode" &
        pid=$!
        wait_for 10 port_open "$port"
        run bc-wal-archive -v --endpoint-url "http://127.0.0.1:$port" "s3://test/$P-$mode" srv \
            "$T/000000010000000000000001"
        kill $pid
        [ "$status" -eq 0 ]
        [ "$(cat "$T/count.$mode")" -ge 4 ]
    done
    run bc-wal-restore --endpoint-url "$S3_ENDPOINT" "s3://test/$P-reset" srv 000000010000000000000001 "$T/back"
    [ "$status" -eq 0 ]
    cmp "$T/back" "$T/000000010000000000000001"
}

@test "a silent server hits --read-timeout and exits 2" {
    port=$(free_port)
    python3 "$BC_TOP/tests/helpers/flaky_proxy.py" --port "$port" --fail 1000 --mode stall \
        --upstream "${S3_ENDPOINT#http://}" --count-file "$T/count" &
    pid=$!
    wait_for 10 port_open "$port"
    start=$SECONDS
    run bc-wal-restore --read-timeout 2 --max-retries 1 --endpoint-url "http://127.0.0.1:$port" \
        "s3://test/$P" srv 000000010000000000000001 "$T/out"
    kill $pid
    [ "$status" -eq 2 ]
    [[ "$output" == *"timed out"* ]]
    [ $((SECONDS - start)) -lt 30 ]
}

@test "HTTPS: an untrusted certificate fails with exit 2; --ca-bundle and AWS_CA_BUNDLE trust it; bodies go UNSIGNED-PAYLOAD" {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
    port=$(free_port)
    python3 "$BC_TOP/tests/helpers/sigv4_gate.py" --port "$port" --upstream "${S3RVER_ENDPOINT#http://}" \
        --cert "$T/cert.pem" --key "$T/key.pem" --journal "$T/journal" --journal-header x-amz-content-sha256 &
    pid=$!
    wait_for 10 port_open "$port"
    run bc-wal-archive --max-retries 0 --endpoint-url "https://127.0.0.1:$port" "s3://test/$P" srv \
        "$T/000000010000000000000001"
    [ "$status" -eq 2 ]
    [[ "$output" == *TLS* || "$output" == *certificate* ]]
    run bc-wal-archive --ca-bundle "$T/cert.pem" --endpoint-url "https://127.0.0.1:$port" "s3://test/$P" srv \
        "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
    AWS_CA_BUNDLE="$T/cert.pem" run bc-wal-restore --endpoint-url "https://127.0.0.1:$port" "s3://test/$P" srv \
        000000010000000000000001 "$T/back"
    kill $pid
    [ "$status" -eq 0 ]
    cmp "$T/back" "$T/000000010000000000000001"
    # TLS guards the body: no SHA-256 pass over it, as the AWS SDKs do
    grep -q "^PUT /test/$P/srv/wals/.* x-amz-content-sha256=UNSIGNED-PAYLOAD" "$T/journal"
    # over plain http the body is signed with its hash
    start_gate "$T" --journal-header x-amz-content-sha256
    bc-wal-archive --endpoint-url "$GATE" "s3://test/$P-http" srv "$T/000000010000000000000001"
    grep -q "^PUT /test/$P-http/.* x-amz-content-sha256=$(sha256sum <"$T/000000010000000000000001" | cut -c1-64)" \
        "$T/journal"
}

@test "a session token is sent, signed, and never printed" {
    AWS_SESSION_TOKEN=SessionTokenValue123 run bc-wal-archive -vv --endpoint-url "$S3_ENDPOINT" \
        "s3://test/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
    [[ "$output" != *SessionTokenValue123* ]]
    grep -q "^PUT /test/$P/srv/wals/0000000100000000/000000010000000000000001 content-length=[0-9]* x-amz-security-token=SessionTokenValue123 " \
        "$S3RVER_DIR/journal.log"
}

@test "virtual-hosted addressing puts the bucket in the host name" {
    port=${S3_ENDPOINT##*:}
    run bc-wal-archive --addressing-style virtual --endpoint-url "http://s3.localhost:$port" \
        "s3://test/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
    grep -q "^PUT /$P/srv/wals/0000000100000000/000000010000000000000001 " "$S3RVER_DIR/journal.log"
    run bc-wal-restore --addressing-style virtual --endpoint-url "http://s3.localhost:$port" \
        "s3://test/$P" srv 000000010000000000000001 "$T/back"
    [ "$status" -eq 0 ]
    cmp "$T/back" "$T/000000010000000000000001"
    # path style (the default with an endpoint URL) names the bucket in the path
    s3_keys "$P/" | grep -qx "$P/srv/wals/0000000100000000/000000010000000000000001"
}

@test "-t checks connectivity, credentials and bucket" {
    run bc-wal-archive -t --endpoint-url "$S3_ENDPOINT" "s3://test/$P" srv
    [ "$status" -eq 0 ]
}

@test "credentials scoped to a prefix are enough: no bucket-level call to archive, restore, list, check or apply retention" {
    # a gate that refuses what an IAM policy for s3://test/$P/ only would
    start_gate "$T" --prefix-only "test/$P/"
    E=(--endpoint-url "$GATE")
    # the gate does refuse a bucket-level call and a key outside the prefix
    run bc-ls wals "${E[@]}" "s3://test/other" srv
    [ "$status" -eq 2 ]
    [[ "$output" == *"AccessDenied"* || "$output" == *"access denied"* ]]
    bc-wal-archive -t "${E[@]}" "s3://test/$P" srv
    bc-wal-archive "${E[@]}" "s3://test/$P" srv "$T/000000010000000000000001"
    make_segment "$T/000000010000000000000002" 2
    bc-wal-archive --zstd "${E[@]}" "s3://test/$P" srv "$T/000000010000000000000002"
    # archiving the same file again: the overwrite check lists inside the prefix
    bc-wal-archive "${E[@]}" "s3://test/$P" srv "$T/000000010000000000000001"
    bc-wal-restore "${E[@]}" "s3://test/$P" srv 000000010000000000000002 "$T/back"
    cmp "$T/back" "$T/000000010000000000000002"
    run bc-ls wals "${E[@]}" "s3://test/$P" srv
    [ "$status" -eq 0 ]
    [[ "$output" == *000000010000000000000002* ]]
    bc-ls backups "${E[@]}" "s3://test/$P" srv
    bc-retention "${E[@]}" -r "REDUNDANCY 1" "s3://test/$P" srv
    stop_gate "$T"
    # only the refused probe above was refused
    [ "$(grep -c . "$T/rejected.log")" -eq 1 ]
    grep -q "^GET /test?.*prefix=other" "$T/rejected.log"
    # and everything that went through was inside the prefix
    ! grep -v "^[A-Z]* /test/$P/" "$T/journal" | grep -v "^POST /test?delete" |
        grep -qv "^GET /test?list-type=2&\(max-keys=1&\)\{0,1\}prefix=$P%2F" || false
}

@test "a bucket in another region: S3's answer naming it is followed, once per process, and the work succeeds" {
    start_gate "$T" --bucket-region eu-west-3
    E=(--endpoint-url "$GATE")
    # AWS_DEFAULT_REGION is us-east-1: the first request of each process is
    # answered with the region, then everything is signed for it
    run bc-wal-archive -v "${E[@]}" "s3://test/$P" srv "$T/000000010000000000000001"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"s3://test is in region eu-west-3, not us-east-1"* ]]
    [[ "$output" == *"AWS_DEFAULT_REGION=eu-west-3"* ]]
    # a multipart upload, four parts in parallel
    make_segment "$T/000000010000000000000002" 2
    bc-wal-archive "${E[@]}" --max-single-put-size 5MB --max-block-size 5MB --max-concurrency 4 \
        "s3://test/$P" srv "$T/000000010000000000000002"
    bc-wal-restore "${E[@]}" "s3://test/$P" srv 000000010000000000000002 "$T/back"
    cmp "$T/back" "$T/000000010000000000000002"
    bc-wal-archive -t "${E[@]}" "s3://test/$P" srv
    run bc-ls wals "${E[@]}" "s3://test/$P" srv
    [ "$status" -eq 0 ]
    [[ "$output" == *000000010000000000000002* ]]
    # each process starts with a listing, answered 301 with x-amz-bucket-region
    # (the 400 AuthorizationHeaderMalformed of object calls: test_http_peer.c)
    grep -q "^GET /test?.* WrongRegion" "$T/rejected.log"
    # at most one wrong-region answer per thread and process: 4 processes,
    # the multipart's parts at most 4 more
    [ "$(grep -c WrongRegion "$T/rejected.log")" -le 8 ]
    [ "$(grep -vc WrongRegion "$T/rejected.log")" -eq 0 ]
    # signed for the right region, nothing is refused
    : >"$T/rejected.log"
    AWS_DEFAULT_REGION=eu-west-3 bc-wal-restore "${E[@]}" "s3://test/$P" srv 000000010000000000000001 "$T/back1"
    cmp "$T/back1" "$T/000000010000000000000001"
    [ ! -s "$T/rejected.log" ]
}
