#!/usr/bin/env bats
# Store faults that must fail loudly instead of looping or delivering wrong
# bytes: a scripted misbehaving S3 peer (tests/helpers/bad_s3.py) serving
# what bc wrote into a file:// store, plus oversized backup.info files.

load helpers

# fake_backup ID [STATUS]: a minimal DONE backup.info as barman writes it.
fake_backup() {
    mkdir -p "$T/store/p/srv/base/$1"
    cat >"$T/store/p/srv/base/$1/backup.info" <<EOF
backup_id=$1
begin_time=2026-11-01 10:00:00.000000+00:00
begin_wal=000000010000000000000001
begin_xlog=0/1000028
end_time=2026-11-01 10:05:00.000000+00:00
end_wal=000000010000000000000002
end_xlog=0/2000100
status=${2:-DONE}
timeline=1
version=150000
EOF
}

setup() {
    T=$(scratch_dir)
    mkdir -p "$T/store/p"
    export AWS_ACCESS_KEY_ID=BAD AWS_SECRET_ACCESS_KEY=BADSECRET AWS_DEFAULT_REGION=us-east-1
    # one plain WAL segment and a second one, archived as bc lays them out
    make_segment "$T/000000010000000000000001" 1
    head -c 1048576 /dev/urandom >"$T/000000010000000000000002"
    bc-wal-archive "file://$T/store/p" srv "$T/000000010000000000000001"
    bc-wal-archive "file://$T/store/p" srv "$T/000000010000000000000002"
    fake_backup 20261101T100000
    fake_backup 20261102T100000
}

teardown() {
    if [ -f "$T/peer.pid" ]; then kill "$(cat "$T/peer.pid")" 2>/dev/null || true; fi
}

# peer MODE [OPTIONS...]: bad_s3.py on the store, PEER set to its endpoint.
peer() {
    local port
    port=$(free_port)
    /usr/bin/python3 "$BC_TOP/tests/helpers/bad_s3.py" --port "$port" --dir "$T/store" \
        --journal "$T/journal" --mode "$@" >"$T/peer.log" 2>&1 &
    echo $! >"$T/peer.pid"
    PEER="http://127.0.0.1:$port"
    wait_for 10 port_open "$port"
}

@test "the peer serves an honest listing and objects (the tests' baseline)" {
    peer honest --page-size 1
    run timeout 30 bc-ls wals --endpoint-url "$PEER" s3://test/p srv
    [ "$status" -eq 0 ]
    [[ "$output" == *000000010000000000000001* ]]
    [[ "$output" == *000000010000000000000002* ]]
    # two keys one per page: a continuation token was followed
    grep -q "continuation-token=page" "$T/journal"
    run timeout 30 bc-wal-restore --endpoint-url "$PEER" s3://test/p srv 000000010000000000000002 "$T/out"
    [ "$status" -eq 0 ]
    cmp "$T/out" "$T/000000010000000000000002"
}

@test "a listing that repeats its page with a new token every time fails instead of looping" {
    peer endless-token
    run timeout 30 bc-ls backups --endpoint-url "$PEER" s3://test/p srv
    [ "$status" -eq 4 ]
    [[ "$output" == *"NextContinuationToken"* ]]
    [[ "$output" == *"never end"* ]]
    [[ "$output" == *"s3://test/p/srv/base/"* ]]
    [ "$(grep -c '^GET /test?list-type' "$T/journal")" -le 3 ]
}

@test "a listing that hands out the same token again fails instead of looping" {
    peer repeat-token
    run timeout 30 bc-ls backups --endpoint-url "$PEER" s3://test/p srv
    [ "$status" -eq 4 ]
    [[ "$output" == *"same NextContinuationToken again"* ]]
    [ "$(grep -c '^GET /test?list-type' "$T/journal")" -le 3 ]
    # archive_command and restore_command list too: they stop as well
    run timeout 30 bc-wal-restore --endpoint-url "$PEER" s3://test/p srv 000000010000000000000009 "$T/out"
    [ "$status" -eq 4 ]
    [ ! -e "$T/out" ]
}

@test "a listing of empty pages without end fails after a bounded number of pages" {
    peer empty-pages
    run timeout 30 bc-ls backups --endpoint-url "$PEER" s3://test/p srv
    [ "$status" -eq 4 ]
    [[ "$output" == *"pages in a row listed nothing new"* ]]
    n=$(grep -c '^GET /test?list-type' "$T/journal")
    [ "$n" -gt 50 ] && [ "$n" -le 110 ]
}

@test "Azure's and GCS's list loops stop on the same faults (NextMarker, nextPageToken)" {
    for api in azure gcs; do
        for mode in honest endless-token repeat-token empty-pages; do
            rm -f "$T/journal"
            peer "$mode" --api "$api" --page-size 1
            if [ "$api" = azure ]; then
                run timeout 30 env AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=$PEER/devstoreaccount1;" \
                    bc-ls backups "$PEER/devstoreaccount1/test/p" srv
                token=NextMarker
            else
                run timeout 30 env -u GOOGLE_APPLICATION_CREDENTIALS STORAGE_EMULATOR_HOST="$PEER" \
                    bc-ls backups gs://test/p srv
                token=nextPageToken
            fi
            kill "$(cat "$T/peer.pid")"
            if [ "$mode" = honest ]; then
                # one key a page: both backups seen through a followed token
                [ "$status" -eq 0 ]
                [[ "$output" == *20261101T100000*20261102T100000* ]]
            else
                echo "$api $mode: $output" >>"$T/messages"
                [ "$status" -eq 4 ]
                [[ "$output" == *"$token"* ]]
                [[ "$output" == *"list "*"p/srv/base/"* ]]
            fi
        done
    done
}

@test "a download cut mid-body resumes with Range and If-Match and gets every byte" {
    peer cut
    run timeout 30 bc-wal-restore --endpoint-url "$PEER" s3://test/p srv 000000010000000000000002 "$T/out"
    [ "$status" -eq 0 ]
    cmp "$T/out" "$T/000000010000000000000002"
    grep -q "^GET /test/p/srv/wals/0000000100000000/000000010000000000000002 range=bytes=524288- if-match=\"" "$T/journal"
}

@test "a resumed download whose 206 comes from a changed object (other ETag) fails" {
    peer cut-changed
    run timeout 30 bc-wal-restore --endpoint-url "$PEER" s3://test/p srv 000000010000000000000002 "$T/out"
    [ "$status" -eq 4 ]
    [[ "$output" == *"changed"* ]]
    [[ "$output" == *ETag* ]]
    [ ! -e "$T/out" ]
}

@test "without ETag, a changed Last-Modified on the resumed 206 fails too" {
    peer cut-changed --no-etag
    run timeout 30 bc-wal-restore --endpoint-url "$PEER" s3://test/p srv 000000010000000000000002 "$T/out"
    [ "$status" -eq 4 ]
    [[ "$output" == *"Last-Modified"* ]]
    [ ! -e "$T/out" ]
}

@test "a 200 answering a resumed Range request is not appended: the bytes already had are skipped" {
    peer range-200
    run timeout 30 bc-wal-restore --endpoint-url "$PEER" s3://test/p srv 000000010000000000000002 "$T/out"
    [ "$status" -eq 0 ]
    cmp "$T/out" "$T/000000010000000000000002"
}

@test "a 200 of a changed object answering a resumed Range request fails" {
    peer range-200-changed
    run timeout 30 bc-wal-restore --endpoint-url "$PEER" s3://test/p srv 000000010000000000000002 "$T/out"
    [ "$status" -eq 4 ]
    [[ "$output" == *"changed"* ]]
    [ ! -e "$T/out" ]
}

@test "the size-mismatch mode lists a size other than the body's" {
    peer size-mismatch --size-delta 5
    # an independent client sees the listed size, then the real body
    python3 - "$PEER" <<'PY'
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
key = "p/srv/wals/0000000100000000/000000010000000000000002"
listed = [o["Size"] for o in s3.list_objects_v2(Bucket="test", Prefix=key)["Contents"]]
body = s3.get_object(Bucket="test", Key=key)["Body"].read()
assert listed == [1048576 + 5], listed
assert len(body) == 1048576, len(body)
PY
}

# --- backup.info over the reader's size limit ---

@test "a backup.info over the size limit is skipped like any unreadable one" {
    fake_backup 20261103T100000
    # the newest one's backup.info is 5 MiB (the reader takes at most 4 MiB)
    yes 'padding=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' | head -c 5242880 \
        >>"$T/store/p/srv/base/20261103T100000/backup.info"
    run bc-ls backups "file://$T/store/p" srv
    [ "$status" -eq 0 ]
    [[ "$output" == *20261101T100000* ]]
    [[ "$output" == *20261102T100000* ]]
    [[ "$output" != *"20261103T100000 "* ]]
    [ "$(grep -c "warning: skipping backup 20261103T100000" <<<"$output")" -eq 1 ]
    # "latest" resolves to the newest readable backup
    run bc-ls show "file://$T/store/p" srv latest
    [ "$status" -eq 0 ]
    [[ "$output" == *20261102T100000* ]]
    # retention leaves it alone, with the WAL it may need
    run bc-retention -r "REDUNDANCY 1" "file://$T/store/p" srv
    [[ "$output" == *"20261103T100000"* ]]
    [ -e "$T/store/p/srv/base/20261103T100000/backup.info" ]
    [ -e "$T/store/p/srv/wals/0000000100000000/000000010000000000000001" ]
    # it still counts as the unreadable one the policy run reports (exit 1)
    [ "$status" -eq 1 ]
    [[ "$output" == *"could not be read"* ]]
}
