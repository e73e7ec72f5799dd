#!/usr/bin/env bats
# bc-verify: a backup and its WAL read back and checked without writing
# anything: clean backups on file:// and S3 (bc's and barman-cloud's), the
# problems it must name (a damaged archive, a missing or damaged WAL
# segment, a segment of the wrong position, a gap after a timeline switch),
# --wal-to-latest across a promotion, and the JSON report.

load helpers

setup_file() {
    start_s3rver
    export W=$(scratch_dir) PORT=$(free_port) URL=s3://test/verify
    export FS="file://$W/store"
    # archive_command runs as postgres, bc-backup as root
    mkdir -p "$W/store/srv/wals"
    chown -R postgres: "$W/store"
    init_pg "$W/primary" "$PORT" "archive_mode = on" \
        "archive_command = '$BC_BIN/bc-wal-archive --gzip $FS srv %p && $BC_BIN/bc-wal-archive --endpoint-url $S3_ENDPOINT $URL srv %p'"
    start_pg "$W/primary"
    "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -i -s 2 -q postgres >/dev/null 2>&1
    export ID=$(timeout 300 bc-backup --immediate-checkpoint --zstd -h 127.0.0.1 -p "$PORT" -U postgres "$FS" srv)
}

teardown_file() {
    for d in "$W"/*/; do stop_pg "$d"; done
    stop_gate "$W"
    stop_s3rver
}

PGC() { echo -h 127.0.0.1 -p "$PORT" -U postgres; }
jfield() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

# A copy of the file store (xattrs kept: they hold the WAL checksums).
copy_store() { # DIR
    rm -rf "$1"
    cp -a "$W/store" "$1"
}

@test "a fresh backup verifies, archives, files and WAL, with a JSON report" {
    run bc-verify "$FS" srv latest
    [ "$status" -eq 0 ]
    [[ "$output" == *"backup $ID: verified"* ]]
    [[ "$output" == *"checked against backup_manifest"* ]]
    bc-verify --format json -J 2 "$FS" srv "$ID" >"$W/report.json"
    [ "$(jfield "$W/report.json" 'd["verified"]')" = True ]
    [ "$(jfield "$W/report.json" 'd["backups"][0]["result"]')" = verified ]
    [ "$(jfield "$W/report.json" 'd["backups"][0]["files"] > 500')" = True ]
    [ "$(jfield "$W/report.json" 'd["backups"][0]["manifest"]')" = True ]
    # every segment of the range read, each against its checksum
    n=$(jfield "$W/report.json" 'd["backups"][0]["wal_segments"]')
    [ "$n" -ge 1 ]
    [ "$(jfield "$W/report.json" 'd["backups"][0]["wal_with_checksum"]')" = "$n" ]
    [ "$(jfield "$W/report.json" 'd["backups"][0]["last_wal"] == d["backups"][0]["end_wal"]')" = True ]
}

@test "bc-verify on S3 reads only: GET, HEAD and listings, for bc's and barman-cloud's backups" {
    bc-backup --endpoint-url "$S3_ENDPOINT" --immediate-checkpoint -S 2MiB $(PGC) "$URL" srv >/dev/null
    barman-cloud-backup --endpoint-url "$S3_ENDPOINT" --immediate-checkpoint -z -n theirs $(PGC) "$URL" srv
    : >"$S3RVER_DIR/journal.log"
    run bc-verify --endpoint-url "$S3_ENDPOINT" "$URL" srv all
    [ "$status" -eq 0 ]
    [ "$(grep -c ': verified$' <<<"$output")" -eq 2 ]
    [[ "$output" == *"no backup_manifest: structure and decoding checked"* ]]
    [[ "$output" == *"2 backups verified, 0 failed"* ]]
    ! grep -Ev '^(GET|HEAD) ' "$S3RVER_DIR/journal.log"
}

@test "every problem is named: a damaged archive, a missing and a damaged WAL segment" {
    copy_store "$W/bad"
    archive=$(ls "$W/bad/srv/base/$ID"/data.tar.zst)
    python3 - "$archive" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01
open(p, "r+b").write(b)
PY
    begin=$(sed -n 's/^begin_wal=//p' "$W/bad/srv/base/$ID/backup.info")
    end=$(sed -n 's/^end_wal=//p' "$W/bad/srv/base/$ID/backup.info")
    rm "$W/bad/srv/wals/${begin:0:16}/$begin.gz"
    if [ "$begin" != "$end" ]; then
        f="$W/bad/srv/wals/${end:0:16}/$end.gz"
        python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[40]^=1; open(p,"r+b").write(b)' "$f"
    fi
    run bash -c 'bc-verify --format json "$1" srv "$2" >"$3"' _ "file://$W/bad" "$ID" "$W/bad.json"
    [ "$status" -eq 4 ]
    [ "$(jfield "$W/bad.json" 'd["backups"][0]["result"]')" = failed ]
    objs=$(jfield "$W/bad.json" '" ".join(p["object"] for p in d["backups"][0]["problems"])')
    [[ "$objs" == *data.tar.zst* ]]
    [[ "$objs" == *"$begin"* ]]
    if [ "$begin" != "$end" ]; then [[ "$objs" == *"$end.gz"* ]]; fi
    # text: one line per problem, and the first also as the error line
    run bc-verify "file://$W/bad" srv "$ID"
    [ "$status" -eq 4 ]
    [[ "$output" == *"FAILED"* ]]
    [[ "$output" == *"problem: $begin: WAL segment $begin is missing"* ]]
    [[ "$output" == *"bc-verify: error: backup $ID: "* ]]
}

@test "a barman-cloud segment (no checksum) of the wrong position is caught by its page header" {
    psql_at "$PORT" "select pg_switch_wal()" >/dev/null
    psql_at "$PORT" "create table t2 as select generate_series(1, 1000) g" >/dev/null
    archive_current_wal "$PORT"
    copy_store "$W/moved"
    end=$(sed -n 's/^end_wal=//p' "$W/moved/srv/base/$ID/backup.info")
    dir="$W/moved/srv/wals/${end:0:16}"
    next=$(ls "$dir" | grep -A1 "^$end" | tail -1)
    [ "$next" != "$end.gz" ]
    # the next segment's bytes under this name, without bc's metadata, as
    # a damaged barman-cloud archive would hold it
    cp "$dir/$next" "$dir/$end.gz"
    python3 -c 'import os,sys; [os.removexattr(sys.argv[1], a) for a in ("user.bccrc32c", "user.bcsize")]' "$dir/$end.gz"
    run bc-verify "file://$W/moved" srv "$ID"
    [ "$status" -eq 4 ]
    [[ "$output" == *"$end.gz: its first page is at "*"not at the start of segment $end"* ]]
}

@test "--wal-to-latest follows a promotion to the new timeline, and names a gap on it" {
    # a restore of the backup, promoted, archiving into the same server
    P2=$(free_port)
    bc-restore -R "$FS" srv "$ID" "$W/promoted"
    sed -i '/^port = /d;/^archive_command/d' "$W/promoted/postgresql.conf"
    {
        echo "port = $P2"
        echo "archive_command = '$BC_BIN/bc-wal-archive --gzip $FS srv %p'"
    } >>"$W/promoted/postgresql.conf"
    chown -R postgres: "$W/promoted"
    chmod 700 "$W/promoted"
    start_pg "$W/promoted"
    wait_for 300 promoted "$P2"
    psql_at "$P2" "create table after_promotion as select generate_series(1, 1000) g" >/dev/null
    archive_current_wal "$P2"
    psql_at "$P2" "insert into after_promotion select generate_series(1, 1000)" >/dev/null
    archive_current_wal "$P2"
    [ -n "$(ls "$W/store/srv/wals/" | grep '^00000002.history')" ]

    bc-verify --wal-to-latest --format json "$FS" srv "$ID" >"$W/latest.json"
    [ "$(jfield "$W/latest.json" 'd["backups"][0]["result"]')" = verified ]
    [ "$(jfield "$W/latest.json" 'd["backups"][0]["last_timeline"]')" = 2 ]
    last=$(jfield "$W/latest.json" 'd["backups"][0]["last_wal"]')
    [ "${last:0:8}" = 00000002 ]
    # without --wal-to-latest only the backup's own range is read
    bc-verify --format json "$FS" srv "$ID" >"$W/own.json"
    [ "$(jfield "$W/own.json" 'd["backups"][0]["last_timeline"]')" = 1 ]

    # a segment of timeline 2 before its last one lost: a gap
    copy_store "$W/gap"
    victim=$(find "$W/gap/srv/wals" -type f -name '00000002*' ! -name '*.history*' | sort | tail -2 | head -1)
    [ -n "$victim" ] && [ "$victim" != "$(find "$W/gap/srv/wals" -type f -name '00000002*' ! -name '*.history*' | sort | tail -1)" ]
    rm "$victim"
    name=$(basename "$victim" .gz)
    run bc-verify --wal-to-latest "file://$W/gap" srv "$ID"
    [ "$status" -eq 4 ]
    [[ "$output" == *"WAL segment $name is missing"* ]]
}

@test "bad input: unknown backup, not DONE, bad options" {
    run bc-verify "$FS" srv 20000101T000000
    [ "$status" -eq 1 ]
    run bc-verify --format yaml "$FS" srv
    [ "$status" -eq 3 ]
    [[ "$output" == *"invalid --format 'yaml'"* ]]
    run bc-verify --jobs 0 "$FS" srv
    [ "$status" -eq 3 ]
    run bc-verify "$FS"
    [ "$status" -eq 3 ]
    run bc-verify --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"--wal-to-latest"* ]]
}

@test "credentials scoped to the prefix are enough to back up, verify, list and restore" {
    # a gate refusing what an IAM policy for s3://test/verify/ only would
    start_gate "$W" --prefix-only test/verify/
    E=(--endpoint-url "$GATE")
    id=$(bc-backup "${E[@]}" --immediate-checkpoint -S 2MiB --gzip $(PGC) "$URL" srv)
    run bc-verify "${E[@]}" "$URL" srv "$id"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"backup $id: verified"* ]]
    run bc-ls backups "${E[@]}" "$URL" srv
    [[ "$output" == *"$id"* ]]
    bc-restore "${E[@]}" "$URL" srv "$id" "$W/scoped-restore" >/dev/null
    "$PG_BIN/pg_verifybackup" -n "$W/scoped-restore"
    stop_gate "$W"
    # nothing was refused, and every request stayed inside the prefix
    [ ! -s "$W/rejected.log" ]
    [ -s "$W/journal" ]
    ! grep -v "^[A-Z]* /test/verify/" "$W/journal" |
        grep -qv "^GET /test?list-type=2&\(max-keys=1&\)\{0,1\}prefix=verify%2F" || false
}
