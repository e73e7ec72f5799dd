#!/usr/bin/env bats
# Base backups interchangeable with barman-cloud both ways; bc-ls; failures.

load helpers

setup_file() {
    start_s3rver
    export W=$(scratch_dir) PORT=$(free_port) URL=s3://test/ia
    start_primary "$W/primary" "$PORT" "$URL"
    psql_at "$PORT" "create table marks as select 'before-backup'::text as v"
}

teardown_file() {
    for d in "$W"/*/; do stop_pg "$d"; done
    stop_s3rver
}

E() { echo --endpoint-url "$S3_ENDPOINT"; }

# Recovery settings for a directory restored by barman-cloud-restore.
recovery_conf() { # DIR
    {
        echo "restore_command = '$BC_BIN/bc-wal-restore $(E) $URL srv %f %p'"
        echo "recovery_target_action = promote"
    } >>"$1/postgresql.auto.conf"
    touch "$1/recovery.signal"
}

@test "barman-cloud-backup-list and -show read our backups; barman-cloud-restore restores one" {
    id=$(bc-backup $(E) --immediate-checkpoint -z -n ours -h 127.0.0.1 -p "$PORT" -U postgres "$URL" srv)
    # with bc's backup_manifest and bc_archives.json beside the archives
    keys=$(s3_keys "ia/srv/base/$id/")
    grep -qx "ia/srv/base/$id/backup_manifest" <<<"$keys"
    grep -qx "ia/srv/base/$id/bc_archives.json" <<<"$keys"
    psql_at "$PORT" "insert into marks values ('after-ours')"
    archive_current_wal "$PORT"
    barman-cloud-backup-list $(E) --format json "$URL" srv >"$W/list.json"
    python3 - "$W/list.json" "$id" <<'PY'
import json, sys
backups = json.load(open(sys.argv[1]))["backups_list"]
mine = [b for b in backups if b["backup_id"] == sys.argv[2]]
assert mine and mine[0]["status"] == "DONE", backups
assert mine[0]["backup_name"] == "ours", mine
PY
    run barman-cloud-backup-show $(E) --format json "$URL" srv "$id"
    [ "$status" -eq 0 ]
    [[ "$output" == *'"status": "DONE"'* ]]
    barman-cloud-restore $(E) "$URL" srv "$id" "$W/by-barman"
    # barman-cloud-restore takes only the archives
    [ ! -e "$W/by-barman/backup_manifest" ]
    recovery_conf "$W/by-barman"
    port=$(free_port)
    start_restored "$W/by-barman" "$port"
    [ "$(psql_at "$port" "select string_agg(v, ',' order by v) from marks")" = "after-ours,before-backup" ]
    stop_pg "$W/by-barman"
}

@test "bc-restore restores what barman-cloud-backup wrote, and bc-ls lists it" {
    barman-cloud-backup $(E) --immediate-checkpoint -z -n theirs -h 127.0.0.1 -p "$PORT" -U postgres "$URL" srv
    psql_at "$PORT" "insert into marks values ('after-theirs')"
    archive_current_wal "$PORT"
    run bc-ls backups --format json $(E) "$URL" srv
    [ "$status" -eq 0 ]
    id=$(python3 -c 'import json,sys; print([b["backup_id"] for b in json.load(sys.stdin)["backups_list"] if b.get("backup_name") == "theirs"][0])' <<<"$output")
    run bc-ls show $(E) "$URL" srv theirs
    [ "$status" -eq 0 ]
    [[ "$output" == *"$id"* ]]
    run bc-restore $(E) "$URL" srv "$id" "$W/by-us" --write-recovery-conf --recovery-target-action promote
    [ "$status" -eq 0 ]
    port=$(free_port)
    start_restored "$W/by-us" "$port"
    [ "$(psql_at "$port" "select count(*) from marks where v = 'after-theirs'")" -eq 1 ]
    stop_pg "$W/by-us"
}

@test "bc-ls backups (console), wals with gaps, check-empty" {
    run bc-ls backups $(E) "$URL" srv
    [ "$status" -eq 0 ]
    [[ "$output" == *"Backup ID"* ]]
    [[ "$output" == *ours* ]]
    run bc-ls wals $(E) "$URL" srv
    [ "$status" -eq 0 ]
    [[ "$output" == *"timeline 1"* ]]
    [[ "$output" != *gap* ]]
    # a hole in the archive is reported
    victim=$(s3_keys "ia/srv/wals/0000000100000000/" | grep '/[0-9A-F]\{24\}$' | sed -n 3p)
    python3 -c 'import boto3,os,sys; boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"]).delete_object(Bucket="test", Key=sys.argv[1])' "$victim"
    run bc-ls wals $(E) "$URL" srv
    [ "$status" -eq 1 ]
    [[ "$output" == *"gap"*"$(basename "$victim")"* ]]
    run bc-ls check-empty $(E) "$URL" srv
    [ "$status" -eq 1 ]
    run bc-ls check-empty $(E) "$URL" nobody-here
    [ "$status" -eq 0 ]
    run bc-ls backups -t $(E) "s3://no-such-bucket" srv
    [ "$status" -eq 2 ]
}

@test "the store dying mid-backup leaves no DONE backup and aborts the upload" {
    port=$(free_port)
    python3 "$BC_TOP/tests/helpers/flaky_proxy.py" --port "$port" --mode reset --fail-parts-after 3 \
        --upstream "${S3_ENDPOINT#http://}" --count-file "$W/count" &
    pid=$!
    wait_for 10 port_open "$port"
    run bc-backup --immediate-checkpoint --endpoint-url "http://127.0.0.1:$port" --max-retries 1 --max-single-put-size 5MiB \
        --max-block-size 5MiB -h 127.0.0.1 -p "$PORT" -U postgres "$URL" srv-broken
    kill $pid
    [ "$status" -eq 2 ]
    run bc-ls backups --format json $(E) "$URL" srv-broken
    [[ "$output" != *'"status": "DONE"'* ]]
    # no archive object was completed, and the multipart upload was aborted
    ! s3_keys "ia/srv-broken/base/" | grep -q '\.tar' || false
    grep -q "^DELETE /test/ia/srv-broken/base/.*/data.tar?uploadId=" "$S3RVER_DIR/journal.log"
    info=$(s3_keys "ia/srv-broken/base/" | grep backup.info)
    s3_get "$info" "$W/broken.info"
    grep -qx "status=FAILED" "$W/broken.info"
}

@test "bc-restore refuses archives that would write outside the target" {
    mkdir -p "$W/store"
    id=$(bc-backup --immediate-checkpoint -h 127.0.0.1 -p "$PORT" -U postgres "file://$W/store" srv)
    # without the manifest (as barman-cloud writes backups) only the tar
    # reader's own checks stand between the archive and the file system
    rm "$W/store/srv/base/$id/backup_manifest" "$W/store/srv/base/$id/bc_archives.json"
    for evil in dotdot absolute symlink; do
        python3 - "$W/store/srv/base/$id/data.tar" "$evil" "$W" <<'PY'
import io, sys, tarfile
path, kind, work = sys.argv[1:]
with tarfile.open(path, "w") as t:
    def add(name, data=b"x", **kw):
        info = tarfile.TarInfo(name)
        for k, v in kw.items():
            setattr(info, k, v)
        info.size = len(data) if info.type == tarfile.REGTYPE else 0
        t.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    add("PG_VERSION", b"15\n")
    if kind == "dotdot":
        add("base/../../escaped-dotdot")
    elif kind == "absolute":
        add(work + "/escaped-absolute")
    else:
        add("link", type=tarfile.SYMTYPE, linkname=work)
        add("link/escaped-symlink")
PY
        run bc-restore "file://$W/store" srv "$id" "$W/evil-$evil"
        [ "$status" -ne 0 ]
        [[ "$output" == *"outside"* || "$output" == *"unsafe"* ]]
    done
    [ ! -e "$W/escaped-dotdot" ]
    [ ! -e "$W/escaped-absolute" ]
    [ ! -e "$W/escaped-symlink" ]
}
