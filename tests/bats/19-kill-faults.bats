#!/usr/bin/env bats
# Killed runs (issue 13): bc-wal-archive, bc-backup and bc-restore killed
# with SIGKILL at seeded points, on file:// and on S3 (s3rver behind the
# SigV4 gate), must never leave anything incomplete that looks complete,
# and a rerun must succeed. Then what the killed runs left behind:
# hidden temporary files (file://), unfinished multipart uploads (S3) and
# backups that stay STARTED, which listings report or ignore and
# bc-retention removes.
#
# Kill points are drawn from BC_KILL_SEED (default below; every test
# prints it, so a failure can be replayed): after a line of the tool's
# -v output, once the store or the target has grown by some bytes, or
# after some milliseconds, each then delayed by a random few
# milliseconds. The random delays inject the fault; they synchronise
# nothing (tests/helpers/kill_run.py polls for the condition).

load helpers

SEED=${BC_KILL_SEED:-1913}

setup_file() {
    start_primary_with_s3 kill
    export FS="file://$W/fstore"
    mkdir -p "$W/fstore"
}
teardown_file() { stop_primary_with_s3; }

E() { echo --endpoint-url "$S3_ENDPOINT"; }
PGC() { echo -h 127.0.0.1 -p "$PORT" -U postgres; }

# A reproducible RANDOM sequence per test; shown with the output of a failure.
seed_rng() { # TEST_NUMBER
    RANDOM=$((SEED * 100 + $1))
    echo "# BC_KILL_SEED=$SEED"
}

url() { if [ "$1" = fs ]; then echo "$FS"; else echo "$URL"; fi; }
opts() { if [ "$1" = s3 ]; then E; fi; }

# The directory where the store keeps SERVER's objects: ours for file://,
# s3rver's for S3 (it writes an object only once the gate has its body).
store_dir() { # fs|s3 SERVER
    if [ "$1" = fs ]; then echo "$W/fstore/$2"; else echo "$S3RVER_DIR/data/test/kill/$2"; fi
}
# Where s3rver keeps the parts of multipart uploads not completed.
S3_UPLOADS() { echo "$S3RVER_DIR/data/test/._S3rver_uploads"; }

# kill_run OUT ERR WHEN... -- COMMAND...: prints "killed" or "exited RC".
kill_run() {
    /usr/bin/python3 "$BC_TOP/tests/helpers/kill_run.py" --stdout "$1" --stderr "$2" "${@:3}"
}

# The keys (file://: paths below the store, temporary files left out) of
# SERVER's objects under SUBDIR, one per line.
objects() { # fs|s3 SERVER SUBDIR
    if [ "$1" = fs ]; then
        [ -d "$W/fstore/$2/$3" ] || return 0
        (cd "$W/fstore" && find "$2/$3" -type f ! -name '.bc-tmp-*' | sort)
    else
        s3_keys "kill/$2/$3" | sed 's|^kill/||'
    fi
}

# The ids of SERVER's backups, from the backup.info objects.
backup_ids() { # fs|s3 SERVER
    objects "$1" "$2" base | sed -n 's|.*/base/\([^/]*\)/backup\.info$|\1|p' | sort
}

info_status() { # fs|s3 SERVER ID
    if [ "$1" = fs ]; then
        sed -n 's/^status=//p' "$W/fstore/$2/base/$3/backup.info"
    else
        s3_get "kill/$2/base/$3/backup.info" "$W/info.tmp" && sed -n 's/^status=//p' "$W/info.tmp"
    fi
}

# verify_restore fs|s3 SERVER ID DIR: DIR (restored from backup ID) passes
# pg_verifybackup with the backup's WAL, fetched as restore_command would.
verify_restore() {
    local store=$1 srv=$2 id=$3 dir=$4 begin end seg
    if [ "$store" = fs ]; then
        cp "$W/fstore/$srv/base/$id/backup.info" "$W/info.tmp"
    else
        s3_get "kill/$srv/base/$id/backup.info" "$W/info.tmp"
    fi
    begin=$(sed -n 's/^begin_wal=//p' "$W/info.tmp")
    end=$(sed -n 's/^end_wal=//p' "$W/info.tmp")
    rm -rf "$W/vwal"
    mkdir "$W/vwal"
    # the primary archives to S3 as server srv; a backup's range is one or
    # two segments here, never across a log boundary
    for seg in $(printf '%s\n' "$begin" "$end" | sort -u); do
        bc-wal-restore $(E) "$URL" srv "$seg" "$W/vwal/$seg"
    done
    if [ "$begin" != "$end" ]; then
        for n in $(seq $((16#${begin:16} + 1)) $((16#${end:16} - 1))); do
            seg=${begin:0:16}$(printf '%08X' "$n")
            bc-wal-restore $(E) "$URL" srv "$seg" "$W/vwal/$seg"
        done
    fi
    run "$PG_BIN/pg_verifybackup" --wal-directory "$W/vwal" "$dir"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"backup successfully verified"* ]]
}

@test "bc-wal-archive killed at seeded points: the object is absent or whole, and a rerun stores it" {
    seed_rng 1
    make_segment "$W/seg" "$SEED"
    mkdir -p "$W/pg_wal"
    codecs=("" -z --zstd --lz4 -j)
    n=0
    for store in fs s3; do
        span=30 # milliseconds: about what an upload of the segment takes
        [ "$store" = s3 ] && span=150
        for i in 1 2 3 4 5; do
            n=$((n + 1))
            name=$(printf '0000000100000000000000%02X' "$n")
            srv=kw-$store-$i
            codec=${codecs[RANDOM % 5]}
            # every point archives a segment of its own
            cp "$W/seg" "$W/pg_wal/$name"
            printf '%s' "$name" | dd of="$W/pg_wal/$name" bs=1 seek=100 conv=notrunc status=none
            case $i in
            1 | 4) when=(--at-ms $((RANDOM % span))) ;;
            2 | 5) when=(--at-bytes $(((1 + RANDOM % 32) * 65536)) --under "$(store_dir "$store" "$srv")") ;;
            3) if [ "$store" = s3 ]; then
                   when=(--at-line 'bc-wal-archive: s3://test at' --delay-ms $((RANDOM % 100)))
               else
                   when=(--at-ms $((RANDOM % 10)) --delay-ms $((RANDOM % 10)))
               fi ;;
            esac
            res=$(kill_run "$W/k.out" "$W/k.err" "${when[@]}" -- \
                bc-wal-archive -vv $(opts "$store") $codec "$(url "$store")" "$srv" "$W/pg_wal/$name")
            echo "# $store point $i ($codec ${when[*]}): $res"
            [[ "$res" == killed || "$res" == "exited 0" ]]
            objs=$(objects "$store" "$srv" wals)
            rm -f "$W/got"
            if [ -n "$objs" ]; then
                # stored: the whole segment, exactly
                [ "$(wc -l <<<"$objs")" -eq 1 ]
                bc-wal-restore $(opts "$store") "$(url "$store")" "$srv" "$name" "$W/got"
                cmp "$W/pg_wal/$name" "$W/got"
            else
                [ "$res" = killed ]
                run bc-wal-restore $(opts "$store") "$(url "$store")" "$srv" "$name" "$W/got"
                [ "$status" -eq 1 ]
                [ ! -e "$W/got" ]
            fi
            # PostgreSQL runs archive_command again
            bc-wal-archive $(opts "$store") $codec "$(url "$store")" "$srv" "$W/pg_wal/$name"
            [ "$(objects "$store" "$srv" wals | wc -l)" -eq 1 ]
            rm -f "$W/got"
            bc-wal-restore $(opts "$store") "$(url "$store")" "$srv" "$name" "$W/got"
            cmp "$W/pg_wal/$name" "$W/got"
            run bc-ls wals $(opts "$store") "$(url "$store")" "$srv"
            [ "$status" -eq 0 ]
            [[ "$output" == "timeline 1: $name .. $name, 1 segment" ]]
        done
    done
    # killed writers on file:// left hidden temporary files, never an object
    find "$W/fstore" -name '.bc-tmp-*' >"$W/wal-debris"
    cat "$W/wal-debris"
}

# bc-backup's options: small parts, so that kills land between parts and
# inside them, and on S3 inside multipart uploads.
backup_opts() { # fs|s3
    if [ "$1" = fs ]; then
        echo -S 16MiB
    else
        # 16 MiB parts, each sent as a multipart upload of 5 MiB chunks
        echo $(E) -S 16MiB --max-single-put-size 4MiB --min-chunk-size 5MiB
    fi
}

@test "bc-backup killed at seeded points: never DONE, never restorable; a rerun restores and verifies" {
    seed_rng 2
    for store in fs s3; do
        srv=kb-$store
        span=1000 # milliseconds: about what a backup takes
        [ "$store" = s3 ] && span=2000
        : >"$W/killed-$store"
        for i in 2 3 4 5; do
            case $i in
            2) when=(--at-line 'writing .*/data_0001\.tar' --delay-ms $((RANDOM % 200))) ;;
            3) if [ "$store" = fs ]; then
                   # inside the 64 MiB part (pgbench_accounts)
                   when=(--at-bytes $(((20 + RANDOM % 50) << 20)) --under "$W/fstore/$srv")
               else
                   # while s3rver receives the chunks of a multipart upload
                   when=(--at-bytes $(((1 + RANDOM % 12) << 20)) --under "$(S3_UPLOADS)")
               fi ;;
            4) when=(--at-ms $((150 + RANDOM % span))) ;;
            5) when=(--at-line 'writing .*/data_0003\.tar|all required WAL' --delay-ms $((RANDOM % 40))) ;;
            esac
            backup_ids "$store" "$srv" >"$W/ids.before"
            res=$(kill_run "$W/b.out" "$W/b.err" "${when[@]}" -- \
                bc-backup -v --immediate-checkpoint $(backup_opts "$store") $(PGC) "$(url "$store")" "$srv")
            echo "# $store point $i (${when[*]}): $res"
            [[ "$res" == killed || "$res" == "exited 0" ]]
            id=$(backup_ids "$store" "$srv" | comm -13 "$W/ids.before" -)
            if [ -z "$id" ]; then
                # killed before the id was reserved: nothing was stored
                [ "$res" = killed ]
            else
                st=$(info_status "$store" "$srv" "$id")
                echo "# backup $id: $st"
                if [ "$st" = DONE ]; then
                    # completed before the kill landed: it must be whole
                    rm -rf "$W/rk"
                    bc-restore $(opts "$store") "$(url "$store")" "$srv" "$id" "$W/rk"
                    verify_restore "$store" "$srv" "$id" "$W/rk"
                else
                    [ "$res" = killed ]
                    [ "$st" = STARTED ]
                    echo "$id" >>"$W/killed-$store"
                    # neither listing calls it DONE: the console shows DONE
                    # backups only, JSON says STARTED
                    run bc-ls backups $(opts "$store") "$(url "$store")" "$srv"
                    [[ "$output" != *"$id"* ]]
                    bc-ls backups --format json $(opts "$store") "$(url "$store")" "$srv" >"$W/list.json"
                    python3 -c 'import json, sys
b = {x["backup_id"]: x["status"] for x in json.load(open(sys.argv[1]))["backups_list"]}
assert b[sys.argv[2]] == "STARTED", b' "$W/list.json" "$id"
                    # latest is never the killed one, and it restores by id
                    # from nowhere
                    run bc-ls show $(opts "$store") "$(url "$store")" "$srv" latest
                    [[ "$output" != *"$id"* ]]
                    run bc-restore $(opts "$store") "$(url "$store")" "$srv" "$id" "$W/rk-$store-$i"
                    echo "$output"
                    [ "$status" -ne 0 ]
                    [[ "$output" == *"has status STARTED, not DONE"* ]]
                    [ ! -e "$W/rk-$store-$i/global/pg_control" ]
                fi
            fi
            # the next scheduled backup
            id2=$(bc-backup --immediate-checkpoint $(backup_opts "$store") $(PGC) "$(url "$store")" "$srv")
            [ "$(info_status "$store" "$srv" "$id2")" = DONE ]
            rm -rf "$W/rb"
            bc-restore $(opts "$store") "$(url "$store")" "$srv" latest "$W/rb"
            verify_restore "$store" "$srv" "$id2" "$W/rb"
            echo "$id2" >"$W/done-$store"
        done
        [ "$store" = s3 ] || continue
        # barman-cloud agrees: no killed backup is DONE, and its console
        # list (DONE backups only) leaves them out
        barman-cloud-backup-list $(opts "$store") --format json "$(url "$store")" "$srv" >"$W/barman.json"
        python3 - "$W/barman.json" "$W/killed-$store" <<'PY'
import json, sys
b = {x["backup_id"]: x["status"] for x in json.load(open(sys.argv[1]))["backups_list"]}
for k in open(sys.argv[2]).read().split():
    assert b[k] == "STARTED", (k, b)
PY
        run barman-cloud-backup-list $(opts "$store") "$(url "$store")" "$srv"
        for k in $(cat "$W/killed-$store"); do [[ "$output" != *"$k"* ]]; done
    done
    # the seeds used here kill several runs mid-upload
    [ "$(cat "$W/killed-fs" "$W/killed-s3" | wc -l)" -ge 5 ]
}

@test "bc-restore killed at seeded points: the directory never starts; a rerun with --force verifies" {
    seed_rng 3
    tried_start=0
    for store in fs s3; do
        srv=kb-$store
        id=$(cat "$W/done-$store")
        span=250 # milliseconds: about what a restore takes
        [ "$store" = s3 ] && span=800
        for i in 1 2 3 4; do
            t="$W/rr-$store-$i"
            mkdir -p "$t"
            case $i in
            1) when=(--at-line 'restoring backup' --delay-ms $((RANDOM % 150))) ;;
            2) when=(--at-bytes $(((1 + RANDOM % 90) << 20)) --under "$t") ;;
            3) when=(--at-line 'unpacked data' --delay-ms $((RANDOM % 30))) ;;
            4) when=(--at-ms $((RANDOM % span))) ;;
            esac
            res=$(kill_run "$W/r.out" "$W/r.err" "${when[@]}" -- \
                bc-restore -v -J 2 $(opts "$store") "$(url "$store")" "$srv" "$id" "$t")
            echo "# $store point $i (${when[*]}): $res"
            if [ "$res" = killed ]; then
                # PostgreSQL cannot read a control file, so will not start
                [ ! -e "$t/global/pg_control" ]
                run "$PG_BIN/pg_controldata" -D "$t"
                [ "$status" -ne 0 ]
                if [ "$tried_start" = 0 ] && [ -f "$t/postgresql.conf" ]; then
                    tried_start=1
                    chown -R postgres: "$t"
                    chmod 700 "$t"
                    run as_postgres "$PG_BIN/pg_ctl" -D "$t" -l "$W/start.log" -w -t 30 start
                    [ "$status" -ne 0 ]
                    grep -q 'global/pg_control' "$W/start.log"
                fi
            else
                [ "$res" = "exited 0" ]
            fi
            run bc-restore -J 2 --force $(opts "$store") "$(url "$store")" "$srv" "$id" "$t"
            echo "$output"
            [ "$status" -eq 0 ]
            [ -f "$t/global/pg_control" ]
            verify_restore "$store" "$srv" "$id" "$t"
        done
    done
}

@test "what killed runs leave is hidden or reported, and bc-retention removes it" {
    seed_rng 4
    for store in fs s3; do
        srv=kb-$store
        killed=$(cat "$W/killed-$store")
        [ -n "$killed" ]
        first=$(head -n 1 <<<"$killed")
        # reported: bc-ls shows a killed backup as STARTED, and so does
        # bc-retention's report, among the backups in progress
        run bc-ls show $(opts "$store") "$(url "$store")" "$srv" "$first"
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"Status"*": STARTED"* ]]
        bc-retention --report $(opts "$store") "$(url "$store")" "$srv" >"$W/report.json"
        python3 - "$W/report.json" $killed <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["backups_in_progress"] == sys.argv[2:], r
PY
        if [ "$store" = fs ]; then
            # the archive a killed run was writing: a hidden temporary file
            # in the backup folder, which no listing takes for an object
            find "$W/fstore/$srv/base" -name '.bc-tmp-*' | grep -q .
        else
            # the chunks of the multipart uploads killed runs left are kept
            # by s3rver (as by S3, until a lifecycle rule aborts them), and
            # none of them shows as an object
            keys=$(s3_keys "kill/$srv/")
            n=0
            for u in "$(S3_UPLOADS)"/*/; do
                [ -f "$u/key" ] || continue
                n=$((n + 1))
                ! grep -qxF "$(cat "$u/key")" <<<"$keys"
            done
            [ "$n" -ge 1 ]
        fi
        # a policy keeping every DONE backup still deletes the killed ones,
        # older than the newest DONE backup, each folder whole
        run bc-retention --dry-run -r "REDUNDANCY 100" $(opts "$store") "$(url "$store")" "$srv"
        echo "$output"
        [ "$(grep -c ', abandoned)$' <<<"$output")" -eq "$(wc -l <<<"$killed")" ]
        done_before=$(bc-ls backups $(opts "$store") "$(url "$store")" "$srv" | tail -n +2)
        bc-retention -v -r "REDUNDANCY 100" --report $(opts "$store") "$(url "$store")" "$srv" \
            >"$W/report.json" 2>"$W/retention.log"
        cat "$W/retention.log"
        ! grep -q 'bc-tmp\|leaving alone' "$W/retention.log"
        python3 - "$W/report.json" $killed <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["deleted_backups"] == sys.argv[2:], r
assert r["backups_in_progress"] == [], r
assert r["backups"]["other"] == 0, r
PY
        for id in $killed; do
            if [ "$store" = fs ]; then
                [ ! -e "$W/fstore/$srv/base/$id" ]
            else
                [ -z "$(s3_keys "kill/$srv/base/$id/")" ]
            fi
        done
        if [ "$store" = fs ]; then
            [ -z "$(find "$W/fstore/$srv" -name '.bc-tmp-*')" ]
        fi
        # the DONE backups are all there
        [ "$(bc-ls backups $(opts "$store") "$(url "$store")" "$srv" | tail -n +2)" = "$done_before" ]
    done
}

@test "a running backup that bc-retention takes for a killed one fails instead of storing DONE" {
    seed_rng 5
    # Run A is stopped (not killed) early; run B starts and ends meanwhile,
    # so that A looks killed. On S3 the upload A has in flight is not in
    # the listing, so the deletion leaves A going until its last check.
    bc-backup -v --immediate-checkpoint $(backup_opts s3) $(PGC) "$URL" ov >"$W/ov-a.out" 2>"$W/ov-a.err" &
    a=$!
    wait_for 60 grep -q 'writing .*/data\.tar' "$W/ov-a.err"
    kill -STOP "$a"
    b=$(bc-backup --immediate-checkpoint $(backup_opts s3) $(PGC) "$URL" ov)
    ida=$(sed -n 's/.*starting backup \([0-9T]*\) .*/\1/p' "$W/ov-a.err")
    [ -n "$ida" ] && [[ "$ida" < "$b" ]]
    bc-retention $(E) -r "REDUNDANCY 100" --report "$URL" ov >"$W/ov.json"
    grep -q "\"$ida\"" "$W/ov.json"
    [ -z "$(s3_keys "kill/ov/base/$ida/")" ]
    kill -CONT "$a"
    rc=0
    wait "$a" || rc=$?
    cat "$W/ov-a.err"
    [ "$rc" -ne 0 ]
    grep -q "backup.info of backup $ida was deleted while the backup ran" "$W/ov-a.err"
    # what it left says FAILED, and nothing restores it
    [ "$(info_status s3 ov "$ida")" = FAILED ]
    run bc-restore $(E) "$URL" ov "$ida" "$W/ov-r"
    [ "$status" -ne 0 ]
    [ "$(bc-ls backups $(E) "$URL" ov | tail -n +2 | cut -d' ' -f1)" = "$b" ]
}
