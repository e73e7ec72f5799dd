#!/usr/bin/env bats
# Base backup integrity: the backup_manifest bc-backup writes, checked by
# PostgreSQL's own pg_verifybackup (and pg_waldump through it) on what
# bc-restore produces; the faults bc-restore must refuse (a flipped byte,
# a tar cut at a member header or with a zeroed header, a lost part of a
# split archive, files missing from or extra to the manifest); barman-cloud
# backups without a manifest; and the backup id reservation under
# concurrent runs.

load helpers

setup_file() {
    start_azurite
    start_primary_with_s3 integ
    export FS="file://$W/fstore"
    mkdir -p "$W/fstore"
}

teardown_file() {
    stop_primary_with_s3
    stop_azurite
}

E() { echo --endpoint-url "$S3_ENDPOINT"; }
PGC() { echo -h 127.0.0.1 -p "$PORT" -U postgres; }

field() { # BACKUP_INFO_FILE KEY
    sed -n "s/^$2=//p" "$1"
}

# fetch_wal STORE_URL SERVER FIRST LAST DIR: the segments FIRST..LAST
# (inclusive, 16 MiB segments) through bc-wal-restore, as restore_command
# would fetch them.
fetch_wal() {
    local url=$1 srv=$2 dir=$5 seg
    mkdir -p "$dir"
    for seg in $(python3 - "$3" "$4" <<'PY'
import sys
first, last = sys.argv[1], sys.argv[2]
tli, n, end = first[:8], int(first[8:16], 16) * 256 + int(first[16:], 16), \
    int(last[8:16], 16) * 256 + int(last[16:], 16)
while n <= end:
    print("%s%08X%08X" % (tli, n // 256, n % 256))
    n += 1
PY
    ); do
        bc-wal-restore $(E) "$url" "$srv" "$seg" "$dir/$seg" || return 1
    done
}

# Flips a bit in, cuts the archive at, or zeroes the header of a member in
# the middle of a plain tar; prints the member's name.
tar_fault() { # TAR flip|cut|zero
    python3 - "$1" "$2" <<'PY'
import sys, tarfile
path, kind = sys.argv[1:]
data = bytearray(open(path, "rb").read())
with tarfile.open(path) as t:
    members = t.getmembers()
if kind == "flip":
    m = [m for m in members if m.isfile() and m.size > 8192][-3]
    data[m.offset_data + m.size // 2] ^= 0x10
elif kind == "cut":
    m = members[len(members) // 2]
    data = data[:m.offset]
    m = members[len(members) // 2 - 1]
else:
    m = members[len(members) // 2]
    data[m.offset:m.offset + 512] = bytes(512)
open(path, "wb").write(data)
print(m.name)
PY
}

# A copy of server srv's backup ID in the file store under server NAME.
copy_backup() { # ID NAME
    mkdir -p "$W/fstore/$2/base"
    rm -rf "$W/fstore/$2/base/$1"
    cp -a "$W/fstore/srv/base/$1" "$W/fstore/$2/base/$1"
}

# The backup's manifest rewritten by python code on the parsed JSON
# (`m`), with a correct Manifest-Checksum and bc_archives.json naming it,
# so that only the file check can notice.
# bc-restore from the file store refuses SERVER's backup ID into DEST with
# exit 4 and a message holding TEXT.
restore_refused() { # SERVER ID DEST TEXT
    run bc-restore "$FS" "$1" "$2" "$3"
    echo "$output"
    [ "$status" -eq 4 ]
    [[ "$output" == *"$4"* ]]
}

edit_manifest() { # DIR PYTHON
    python3 - "$1" "$2" <<'PY'
import hashlib, json, sys
d, code = sys.argv[1:]
m = json.load(open(d + "/backup_manifest"))
exec(code)
files = ",\n".join(json.dumps(f) for f in m["Files"])
ranges = ",\n".join(json.dumps(r) for r in m["WAL-Ranges"])
text = ('{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [\n%s\n],\n"WAL-Ranges": [\n%s\n],\n'
        % (files, ranges)).encode()
text += b'"Manifest-Checksum": "%s"}\n' % hashlib.sha256(text).hexdigest().encode()
open(d + "/backup_manifest", "wb").write(text)
a = json.load(open(d + "/bc_archives.json"))
a["Manifest-Size"] = len(text)
a["Manifest-SHA256"] = hashlib.sha256(text).hexdigest()
json.dump(a, open(d + "/bc_archives.json", "w"))
PY
}

@test "pg_verifybackup accepts what bc-restore makes of plain, -z, --zstd and split backups, WAL range included" {
    psql_at "$PORT" "create table t1 as select generate_series(1, 100000) i"
    install -d -o postgres "$W/ts1"
    psql_at "$PORT" "create tablespace ts1 location '$W/ts1'"
    psql_at "$PORT" "create table in_ts tablespace ts1 as select generate_series(1, 7000) i"
    oid=$(psql_at "$PORT" "select oid from pg_tablespace where spcname = 'ts1'")
    n=0
    for opts in "" "-z" "--zstd" "-S 20MiB"; do
        n=$((n + 1))
        id=$(bc-backup $(E) --immediate-checkpoint $opts $(PGC) "$URL" srv)
        archive_current_wal "$PORT"
        keys=$(s3_keys "integ/srv/base/$id/")
        grep -qx "integ/srv/base/$id/backup_manifest" <<<"$keys"
        grep -qx "integ/srv/base/$id/bc_archives.json" <<<"$keys"
        s3_get "integ/srv/base/$id/bc_archives.json" "$W/archives-$n.json"
        # every archive object, and only those, is listed with its stored size
        python3 - "$W/archives-$n.json" "integ/srv/base/$id/" <<'PY'
import json, sys, boto3, os
listed = {a["Name"]: a["Size"] for a in json.load(open(sys.argv[1]))["Archives"]}
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"])
stored = {o["Key"][len(sys.argv[2]):]: o["Size"]
          for o in s3.list_objects_v2(Bucket="test", Prefix=sys.argv[2])["Contents"]
          if ".tar" in o["Key"]}
assert listed == stored, (listed, stored)
PY
        if [ "$opts" = "-S 20MiB" ]; then
            grep -q '"data_0001.tar"' "$W/archives-$n.json"
        fi
        # -R adds recovery.signal and changes postgresql.auto.conf, which
        # pg_verifybackup expects
        run bc-restore $(E) "$URL" srv "$id" "$W/v$n" -R --tablespace "ts1:$W/ts1-v$n"
        [ "$status" -eq 0 ]
        # tablespace files are in the manifest as pg_basebackup names them
        grep -q "\"Path\": \"pg_tblspc/$oid/PG_" "$W/v$n/backup_manifest"
        s3_get "integ/srv/base/$id/backup_manifest" "$W/manifest-$n"
        cmp "$W/manifest-$n" "$W/v$n/backup_manifest"
        s3_get "integ/srv/base/$id/backup.info" "$W/info-$n"
        fetch_wal "$URL" srv "$(field "$W/info-$n" begin_wal)" "$(field "$W/info-$n" end_wal)" "$W/wal-$n"
        run "$PG_BIN/pg_verifybackup" --wal-directory "$W/wal-$n" "$W/v$n"
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"backup successfully verified"* ]]
    done
    # and pg_verifybackup is a real check: a missing segment is noticed
    rm "$W/wal-$n/$(field "$W/info-$n" end_wal)"
    run "$PG_BIN/pg_verifybackup" --wal-directory "$W/wal-$n" "$W/v$n"
    [ "$status" -ne 0 ]
    # the other tests restore to the recorded tablespace locations
    psql_at "$PORT" "drop table in_ts"
    psql_at "$PORT" "drop tablespace ts1"
}

@test "a flipped byte in a plain data.tar member fails the restore, naming the file" {
    id=$(bc-backup --immediate-checkpoint $(PGC) "$FS" srv)
    echo "$id" >"$W/fs-id"
    copy_backup "$id" flip
    member=$(tar_fault "$W/fstore/flip/base/$id/data.tar" flip)
    run bc-restore "$FS" flip "$id" "$W/r-flip"
    echo "$output"
    [ "$status" -eq 4 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"data.tar: $member: CRC32C checksum"*"damaged"* ]]
    # a half-restored directory cannot be started by mistake
    [ ! -e "$W/r-flip/global/pg_control" ]
    # the untouched backup restores
    run bc-restore "$FS" srv "$id" "$W/r-good"
    [ "$status" -eq 0 ]
    [ -f "$W/r-good/global/pg_control" ]
}

@test "a tar cut at a member header or with a zeroed header fails, with and without a manifest" {
    id=$(cat "$W/fs-id")
    for kind in cut zero; do
        copy_backup "$id" "$kind"
        member=$(tar_fault "$W/fstore/$kind/base/$id/data.tar" "$kind")
        run bc-restore "$FS" "$kind" "$id" "$W/r-$kind"
        echo "$output"
        [ "$status" -eq 4 ]
        [[ "$output" == *"data.tar"* ]]
        # as an older bc or barman-cloud wrote it: only the tar itself tells
        rm "$W/fstore/$kind/base/$id/backup_manifest" "$W/fstore/$kind/base/$id/bc_archives.json"
        rm -rf "$W/r-$kind"
        run bc-restore "$FS" "$kind" "$id" "$W/r-$kind"
        echo "$output"
        [ "$status" -eq 4 ]
        [ "${#lines[@]}" -eq 1 ]
        if [ "$kind" = cut ]; then
            [[ "$output" == *"data.tar: ends without its end-of-archive blocks"*"after '$member'"* ]]
        else
            [[ "$output" == *"data.tar: has a zeroed block where a header was due"* ]]
        fi
    done
}

@test "a split backup with a missing part fails naming it, with and without a manifest" {
    id=$(bc-backup --immediate-checkpoint -S 20MiB $(PGC) "$FS" srv-split)
    dir="$W/fstore/srv-split/base/$id"
    last=$(cd "$dir" && ls data_*.tar | sort | tail -n 1)
    [ "$last" != data_0001.tar ]
    mv "$dir/$last" "$W/$last"
    restore_refused srv-split "$id" "$W/r-split1" "archive $last is missing"
    # without the list, a gap in the part numbers is what shows
    mv "$W/$last" "$dir/$last"
    mv "$dir/data_0001.tar" "$W/data_0001.tar"
    rm "$dir/backup_manifest" "$dir/bc_archives.json"
    restore_refused srv-split "$id" "$W/r-split2" "data_0001.tar is missing"
}

@test "a file extra to the manifest, or one no archive holds, fails the restore" {
    id=$(cat "$W/fs-id")
    copy_backup "$id" extra
    edit_manifest "$W/fstore/extra/base/$id" 'm["Files"] = [f for f in m["Files"] if f.get("Path") != "PG_VERSION"]'
    restore_refused extra "$id" "$W/r-extra" "data.tar: PG_VERSION is in the archive but not in the backup manifest"
    copy_backup "$id" missing
    edit_manifest "$W/fstore/missing/base/$id" 'm["Files"].append({"Path": "base/1/999999", "Size": 0, "Last-Modified": "2026-01-01 00:00:00 GMT", "Checksum-Algorithm": "CRC32C", "Checksum": "00000000"})'
    restore_refused missing "$id" "$W/r-missing" "base/1/999999 is in the backup manifest but in no archive"
    # a manifest damaged in the store is refused before anything is unpacked
    copy_backup "$id" badsum
    sed -i 's/"Size": 3,/"Size": 4,/' "$W/fstore/badsum/base/$id/backup_manifest"
    run bc-restore "$FS" badsum "$id" "$W/r-badsum"
    [ "$status" -eq 4 ]
    [[ "$output" == *"backup_manifest is not the one bc_archives.json names"* ]]
}

@test "a barman-cloud backup (no manifest) restores, and a cut one fails" {
    barman-cloud-backup $(E) --immediate-checkpoint $(PGC) "$URL" srv-barman
    id=$(s3_keys "integ/srv-barman/base/" | sed -n 's|.*/base/\([^/]*\)/backup.info$|\1|p' | tail -n 1)
    ! s3_keys "integ/srv-barman/base/$id/" | grep -q backup_manifest
    run bc-restore $(E) "$URL" srv-barman "$id" "$W/r-barman"
    [ "$status" -eq 0 ]
    [ -f "$W/r-barman/global/pg_control" ]
    [ ! -e "$W/r-barman/backup_manifest" ]
    s3_get "integ/srv-barman/base/$id/data.tar" "$W/barman.tar"
    tar_fault "$W/barman.tar" cut >/dev/null
    python3 -c 'import boto3,os,sys; boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"]).upload_file(sys.argv[1], "test", sys.argv[2])' \
        "$W/barman.tar" "integ/srv-barman/base/$id/data.tar"
    run bc-restore $(E) "$URL" srv-barman "$id" "$W/r-barman-cut"
    echo "$output"
    [ "$status" -eq 4 ]
    [[ "$output" == *"data.tar: ends without its end-of-archive blocks"* ]]
}

# N bc-backup runs started together into STORE_URL as server SRV; each
# run's id in $W/ids-SRV.
concurrent_backups() { # N STORE_URL SRV [OPTIONS...]
    local n=$1 url=$2 srv=$3 i pids=()
    shift 3
    rm -f "$W/ids-$srv"
    for i in $(seq "$n"); do
        bc-backup "$@" --immediate-checkpoint -v $(PGC) "$url" "$srv" >>"$W/ids-$srv" 2>"$W/log-$srv-$i" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
}

@test "bc-backup runs started at once get distinct ids and all end DONE (file://, S3, Azure)" {
    concurrent_backups 3 "$FS" srv-conc
    [ "$(sort -u "$W/ids-srv-conc" | wc -l)" -eq 3 ]
    for id in $(cat "$W/ids-srv-conc"); do
        grep -qx status=DONE "$W/fstore/srv-conc/base/$id/backup.info"
        [ -f "$W/fstore/srv-conc/base/$id/backup_manifest" ]
    done
    [ "$(ls "$W/fstore/srv-conc/base" | wc -l)" -eq 3 ]

    concurrent_backups 3 "$URL" srv-conc $(E)
    [ "$(sort -u "$W/ids-srv-conc" | wc -l)" -eq 3 ]
    for id in $(cat "$W/ids-srv-conc"); do
        s3_get "integ/srv-conc/base/$id/backup.info" "$W/conc.info"
        grep -qx status=DONE "$W/conc.info"
    done
    # the reservation is a conditional create on the wire
    grep -q "^PUT /test/integ/srv-conc/base/.*/backup.info content-length=[0-9]* if-none-match=\*" "$S3RVER_DIR/journal.log"

    # Azurite implements If-None-Match itself
    concurrent_backups 3 "$AZURITE/test/integ" srv-conc
    [ "$(sort -u "$W/ids-srv-conc" | wc -l)" -eq 3 ]
    [ "$(az_blobs "integ/srv-conc/base/" | grep -c '/backup.info$')" -eq 3 ]
    for id in $(cat "$W/ids-srv-conc"); do
        az_sdk 'const b = await container.getBlobClient(args[0]).downloadToBuffer();
                if (!/^status=DONE$/m.test(b.toString())) process.exit(1);' \
            "integ/srv-conc/base/$id/backup.info"
    done
}

@test "a reserved backup is STARTED for barman-cloud-backup-list until it is DONE" {
    bc-backup $(E) --immediate-checkpoint --bzip2 $(PGC) "$URL" srv-started >"$W/started.id" &
    pid=$!
    wait_for 60 sh -c "python3 -c 'import boto3,os; s3=boto3.client(\"s3\", endpoint_url=os.environ[\"S3_ENDPOINT\"]); print(s3.list_objects_v2(Bucket=\"test\", Prefix=\"integ/srv-started/base/\").get(\"KeyCount\", 0))' | grep -qv '^0$'"
    kill -STOP "$pid"
    run barman-cloud-backup-list $(E) --format json "$URL" srv-started
    kill -CONT "$pid"
    [ "$status" -eq 0 ]
    [[ "$output" == *'"status": "STARTED"'* ]]
    wait "$pid"
    id=$(cat "$W/started.id")
    run barman-cloud-backup-list $(E) --format json "$URL" srv-started
    [[ "$output" == *'"status": "DONE"'* ]]
    [[ "$output" == *"$id"* ]]
}
