#!/usr/bin/env bats
# The gs:// backend against tests/helpers/gcs_standin.py, a stand-in for the
# GCS JSON API that verifies the service account's RS256 JWT at its /token
# endpoint and wants the tokens it issued on every storage request. The
# stand-in keeps objects as files (names percent-encoded) and journals
# every request, which the tests read independently of bc.

load helpers

EMAIL=bc-test@bc-project.iam.gserviceaccount.com

# key_file NAME PEM TOKEN_URI: a service account JSON key file.
key_file() {
    python3 - "$1" "$2" "$3" "$EMAIL" <<'PY'
import json, sys
out, pem, uri, email = sys.argv[1:]
json.dump({"type": "service_account", "project_id": "bc-project", "private_key_id": "k1",
           "private_key": open(pem).read(), "client_email": email,
           "client_id": "1", "token_uri": uri}, open(out, "w"))
PY
}

setup_file() {
    export G=$(scratch_dir)
    openssl genrsa -out "$G/sa.pem" 2048 2>/dev/null
    openssl rsa -in "$G/sa.pem" -pubout -out "$G/sa.pub" 2>/dev/null
    openssl genrsa -out "$G/other.pem" 2048 2>/dev/null
    export GCS_PORT=$(free_port)
    key_file "$G/sa.json" "$G/sa.pem" "http://127.0.0.1:$GCS_PORT/token"
    key_file "$G/wrong.json" "$G/other.pem" "http://127.0.0.1:$GCS_PORT/token"
    chmod 644 "$G"/*.json
    mkdir "$G/data"
    touch "$G/journal.log"
    /usr/bin/python3 "$BC_TOP/tests/helpers/gcs_standin.py" --port "$GCS_PORT" --dir "$G/data" \
        --bucket test --public-key "$G/sa.pub" --client-email "$EMAIL" --page-size 4 \
        --journal "$G/journal.log" --token-log "$G/tokens.log" >"$G/standin.log" 2>&1 &
    echo $! >"$G/standin.pid"
    export STORAGE_EMULATOR_HOST="http://127.0.0.1:$GCS_PORT"
    export GOOGLE_APPLICATION_CREDENTIALS="$G/sa.json"
    wait_for 30 port_open "$GCS_PORT"
}

teardown_file() {
    for d in "$G"/pg-*/; do [ -d "$d" ] && stop_pg "$d"; done
    kill "$(cat "$G/standin.pid")" 2>/dev/null
    true
}

setup() {
    T=$(scratch_dir)
    P="p$BATS_TEST_NUMBER"
}

# Whether gs://test/KEY is stored (read from the stand-in's directory).
gcs_has() { [ -f "$G/data/test/$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1")" ]; }
gcs_keys() { # prefix: stored object names under it
    python3 - "$G/data/test" "$1" <<'PY'
import os, sys, urllib.parse
for n in sorted(urllib.parse.unquote(f) for f in os.listdir(sys.argv[1])):
    if n.startswith(sys.argv[2]):
        print(n)
PY
}
# (A negated command does not fail a bats test by itself: "! cmd || false" does.)
# Journal lines of requests made after the line count $1.
journal_since() { tail -n +"$(($1 + 1))" "$G/journal.log"; }
journal_len() { wc -l <"$G/journal.log"; }

@test "WAL segments through gs:// with gzip and zstd come back byte-identical" {
    make_segment "$T/000000010000000000000001" 1
    make_segment "$T/000000010000000000000002" 2
    mark=$(journal_len)
    run bc-wal-archive -z "gs://test/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
    run bc-wal-archive --zstd "gs://test/$P" srv "$T/000000010000000000000002"
    [ "$status" -eq 0 ]
    gcs_has "$P/srv/wals/0000000100000000/000000010000000000000001.gz"
    gcs_has "$P/srv/wals/0000000100000000/000000010000000000000002.zst"
    gzip -dc "$G/data/test/$P%2Fsrv%2Fwals%2F0000000100000000%2F000000010000000000000001.gz" |
        cmp - "$T/000000010000000000000001"
    # a token was fetched with the JWT and every storage request carried it
    journal_since "$mark" | grep -q "^POST /token auth=no$"
    ! journal_since "$mark" | grep -v "^POST /token" | grep -q "auth=no$" || false
    # object names are encoded whole, '/' included, and writes are conditional
    journal_since "$mark" | grep -q "^POST /upload/storage/v1/b/test/o?uploadType=multipart&name=$P%2Fsrv%2Fwals%2F0000000100000000%2F000000010000000000000001.gz&ifGenerationMatch=0 "
    for n in 1 2; do
        run bc-wal-restore "gs://test/$P" srv "00000001000000000000000$n" "$T/r$n"
        [ "$status" -eq 0 ]
        cmp "$T/r$n" "$T/00000001000000000000000$n"
    done
    run bc-wal-restore "gs://test/$P" srv 0000000100000000000000AB "$T/none"
    [ "$status" -eq 1 ]
    [ ! -e "$T/none" ]
}

@test "overwrite protection on gs://: identical is success, different is refused" {
    make_segment "$T/000000010000000000000001" 1
    bc-wal-archive "gs://test/$P" srv "$T/000000010000000000000001"
    run bc-wal-archive "gs://test/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
    mkdir "$T/b"
    make_segment "$T/b/000000010000000000000001" 7
    run bc-wal-archive "gs://test/$P" srv "$T/b/000000010000000000000001"
    [ "$status" -eq 1 ]
    [[ "$output" == *"refusing to overwrite"* ]]
    cmp "$G/data/test/$P%2Fsrv%2Fwals%2F0000000100000000%2F000000010000000000000001" \
        "$T/000000010000000000000001"
}

@test "a large object takes the resumable path in 256 KiB-multiple chunks, with --kms-key-name" {
    make_segment "$T/000000010000000000000001" 3
    key=projects/p/locations/global/keyRings/r/cryptoKeys/k
    mark=$(journal_len)
    run bc-wal-archive --max-single-put-size 5MiB --max-block-size 5MiB --kms-key-name "$key" \
        "gs://test/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
    name="$P%2Fsrv%2Fwals%2F0000000100000000%2F000000010000000000000001"
    [ "$(journal_since "$mark" | grep -c "^POST /upload/storage/v1/b/test/o?uploadType=resumable&name=$name&ifGenerationMatch=0&kmsKeyName=projects%2Fp%2Flocations%2Fglobal%2FkeyRings%2Fr%2FcryptoKeys%2Fk auth=yes$")" -eq 1 ]
    # 16 MiB in 5 MiB chunks: three chunks and the last
    [ "$(journal_since "$mark" | grep -c "^PUT /upload/storage/v1/b/test/o?uploadType=resumable&name=$name&.*&upload_id=")" -eq 4 ]
    ! journal_since "$mark" | grep -q "uploadType=media" || false
    run bc-wal-restore "gs://test/$P" srv 000000010000000000000001 "$T/back"
    [ "$status" -eq 0 ]
    cmp "$T/back" "$T/000000010000000000000001"
    # small objects carry the key on their one upload request (multipart:
    # WAL objects have metadata, their checksum)
    printf '1\t0/3000000\tno recovery target specified\n' >"$T/00000002.history"
    mark=$(journal_len)
    bc-wal-archive --kms-key-name "$key" "gs://test/$P" srv "$T/00000002.history"
    journal_since "$mark" | grep -q "^POST /upload/storage/v1/b/test/o?uploadType=multipart&name=$P%2Fsrv%2Fwals%2F00000002.history&ifGenerationMatch=0&kmsKeyName=projects%2Fp%2F"
}

@test "a JWT signed by another key exits 2, says authentication failed, shows no secret" {
    make_segment "$T/000000010000000000000001" 1
    GOOGLE_APPLICATION_CREDENTIALS="$G/wrong.json" run bc-wal-archive -vv "gs://test/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 2 ]
    [[ "$output" == *"authentication failed"* ]]
    [[ "$output" == *"Invalid JWT Signature"* ]]
    [[ "$output" != *"PRIVATE KEY"* ]]
    [[ "$output" != *"$(sed -n 2p "$G/other.pem")"* ]]
    [[ "$output" != *"assertion="* ]]
    ! gcs_has "$P/srv/wals/0000000100000000/000000010000000000000001" || false
    GOOGLE_APPLICATION_CREDENTIALS="$G/wrong.json" run bc-wal-restore -t "gs://test/$P" srv
    [ "$status" -eq 2 ]
    [[ "$output" == *"authentication failed"*"/token refused the credentials of service account $EMAIL"* ]]
    # with the right key, verbose output never shows an issued token
    run bc-wal-archive -vv "gs://test/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
    [ -s "$G/tokens.log" ]
    while read -r tok; do [[ "$output" != *"$tok"* ]]; done <"$G/tokens.log"
}

@test "a missing bucket exits 2 naming the bucket" {
    make_segment "$T/000000010000000000000001" 1
    run bc-wal-archive "gs://no-such-bucket/$P" srv "$T/000000010000000000000001"
    [ "$status" -eq 2 ]
    [[ "$output" == *"bucket 'no-such-bucket' does not exist"* ]]
    run bc-ls backups -t "gs://no-such-bucket/$P" srv
    [ "$status" -eq 2 ]
    [[ "$output" == *"bucket 'no-such-bucket' does not exist"* ]]
    run bc-ls backups -t "gs://test/$P" srv
    [ "$status" -eq 0 ]
}

@test "-t against an unreachable port says the connection failed" {
    port=$(free_port)
    STORAGE_EMULATOR_HOST="http://127.0.0.1:$port" run bc-wal-restore --max-retries 0 -t "gs://test/$P" srv
    [ "$status" -eq 2 ]
    [[ "$output" == *"connection failed"*"127.0.0.1:$port"* ]]
}

@test "without credentials the stand-in refuses; the metadata server's token is accepted" {
    # an emulator with no key file: unauthenticated, as Google's clients do
    GOOGLE_APPLICATION_CREDENTIALS= run bc-wal-restore -t "gs://test/$P" srv
    [ "$status" -eq 2 ]
    [[ "$output" == *"HTTP 401"*"GOOGLE_APPLICATION_CREDENTIALS"* ]]
    # GKE / GCE: the token from the metadata server (GCE_METADATA_HOST)
    mark=$(journal_len)
    HOME=$T GOOGLE_APPLICATION_CREDENTIALS= STORAGE_EMULATOR_HOST= GCE_METADATA_HOST="127.0.0.1:$GCS_PORT" \
        run bc-wal-restore --endpoint-url "$STORAGE_EMULATOR_HOST" -t "gs://test/$P" srv
    [ "$status" -eq 0 ]
    journal_since "$mark" | grep -q "^GET /computeMetadata/v1/instance/service-accounts/default/token auth=no$"
    journal_since "$mark" | grep -q "^GET /storage/v1/b/test auth=yes$"
}

# ---- a real PostgreSQL ----------------------------------------------------

rows() { psql_at "$1" "select string_agg(v, ',' order by v) from marks"; }

@test "PostgreSQL archives to gs://, bc-backup streams a resumable upload, bc-restore -R recovers, retention deletes in batches" {
    url=gs://test/pg
    dir="$G/pg-primary" port=$(free_port)
    init_pg "$dir" "$port" "archive_mode = on" \
        "archive_command = '$BC_BIN/bc-wal-archive --zstd $url srv %p'"
    start_pg "$dir"
    "$PG_BIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s 2 -q postgres >/dev/null 2>&1
    mark=$(journal_len)
    id=$(bc-backup --immediate-checkpoint --max-single-put-size 5MiB --min-chunk-size 5MiB \
        -h 127.0.0.1 -p "$port" -U postgres "$url" srv)
    [[ "$id" =~ ^[0-9]{8}T[0-9]{6}$ ]]
    gcs_has "pg/srv/base/$id/backup.info"
    grep -qx "status=DONE" "$G/data/test/pg%2Fsrv%2Fbase%2F$id%2Fbackup.info"
    # data.tar (~30 MB) went through the streaming writer's resumable session
    journal_since "$mark" | grep -q "^POST /upload/storage/v1/b/test/o?uploadType=resumable&name=pg%2Fsrv%2Fbase%2F$id%2Fdata.tar[& ]"
    [ "$(journal_since "$mark" | grep -c "^PUT .*name=pg%2Fsrv%2Fbase%2F$id%2Fdata.tar&.*upload_id=")" -ge 3 ]

    psql_at "$port" "create table marks(v text)"
    psql_at "$port" "insert into marks values ('a'), ('b')"
    archive_current_wal "$port"
    run bc-restore "$url" srv latest "$G/pg-restored" -R --recovery-target-action promote
    [ "$status" -eq 0 ]
    grep -q "^restore_command = '.*bc-wal-restore .*$url srv %f %p'" "$G/pg-restored/postgresql.auto.conf"
    rport=$(free_port)
    start_restored "$G/pg-restored" "$rport"
    [ "$(rows "$rport")" = "a,b" ]
    [ "$(psql_at "$rport" "select count(*) from pgbench_accounts")" -eq 200000 ]
    stop_pg "$G/pg-restored"

    # bc-ls lists the backup and the WAL, paging through the stand-in's
    # four-entry pages
    run bc-ls backups "$url" srv
    [ "$status" -eq 0 ]
    [[ "$output" == *"$id"* ]]
    mark=$(journal_len)
    run bc-ls wals "$url" srv
    [ "$status" -eq 0 ]
    [[ "$output" == *"timeline 1:"* ]]
    [ "$(gcs_keys pg/srv/wals/ | wc -l)" -gt 4 ]
    journal_since "$mark" | grep -q "pageToken="

    # REDUNDANCY 1 with a second backup: the first one and its WAL go
    id2=$(bc-backup --immediate-checkpoint -h 127.0.0.1 -p "$port" -U postgres "$url" srv)
    [ "$id2" != "$id" ]
    archive_current_wal "$port"
    first_wal=$(gcs_keys pg/srv/wals/ | head -n 1)
    mark=$(journal_len)
    run bc-retention -r "REDUNDANCY 1" "$url" srv
    [ "$status" -eq 0 ]
    # the deletes went through the JSON batch endpoint, not one request each
    journal_since "$mark" | grep -q "^POST /batch/storage/v1 auth=yes$"
    journal_since "$mark" | grep -q "^BATCH DELETE /storage/v1/b/test/o/pg%2Fsrv%2Fbase%2F$id%2F"
    ! journal_since "$mark" | grep -q "^DELETE /storage/v1/b/" || false
    [ -z "$(gcs_keys "pg/srv/base/$id/")" ]
    gcs_has "pg/srv/base/$id2/backup.info"
    ! gcs_has "$first_wal" || false
    run bc-ls backups "$url" srv
    [[ "$output" != *"$id"* ]]
    [[ "$output" == *"$id2"* ]]
    stop_pg "$dir"
}
