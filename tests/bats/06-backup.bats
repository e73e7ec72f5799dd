#!/usr/bin/env bats
# Base backups of a running PostgreSQL with bc-backup, restored with
# bc-restore and recovered to a point in time through bc-wal-restore.

load helpers

setup_file() { start_primary_with_s3 pitr; }
teardown_file() { stop_primary_with_s3; }

E() { echo --endpoint-url "$S3_ENDPOINT"; }

# Re-evaluated on every poll: true once the standby has replayed the table.
has_table() { # PORT NAME
    [ "$(psql_at "$1" "select count(*) from pg_class where relname = '$2'")" = 1 ]
}

# Starts the cluster restored in DIR, checks that in_ts came back whole
# through the tablespace, and stops it.
check_in_ts() { # DIR
    local port
    port=$(free_port)
    start_restored "$1" "$port"
    [ "$(psql_at "$port" "select count(*) from in_ts")" -eq 7000 ]
    stop_pg "$1"
}

rows() { # PORT
    psql_at "$1" "select string_agg(v, ',' order by v) from marks"
}

@test "online backup under pgbench, then recovery to a time, an LSN and a restore point" {
    "$PG_BIN/pgbench" -h 127.0.0.1 -p "$PORT" -U postgres -c 4 -j 2 -t 3000 postgres >"$W/pgbench.log" 2>&1 &
    bench=$!
    id=$(bc-backup $(E) --immediate-checkpoint --zstd -h 127.0.0.1 -p "$PORT" -U postgres "$URL" srv)
    wait "$bench"
    [[ "$id" =~ ^[0-9]{8}T[0-9]{6}$ ]]

    psql_at "$PORT" "create table marks(v text)"
    psql_at "$PORT" "insert into marks values ('a')"
    T=$(psql_at "$PORT" "select clock_timestamp()")
    psql_at "$PORT" "insert into marks values ('b')"
    LSN=$(psql_at "$PORT" "select pg_current_wal_insert_lsn()")
    psql_at "$PORT" "insert into marks values ('c')"
    psql_at "$PORT" "select pg_create_restore_point('rp1')" >/dev/null
    psql_at "$PORT" "insert into marks values ('d')"
    archive_current_wal "$PORT"

    n=0
    for target in "time=$T:a" "lsn=$LSN:a,b" "name=rp1:a,b,c"; do
        n=$((n + 1))
        kind=${target%%=*}
        rest=${target#*=}
        value=${rest%:*}
        want=${rest##*:}
        run bc-restore $(E) "$URL" srv latest "$W/r$n" --write-recovery-conf \
            "--recovery-target-$kind" "$value" --recovery-target-action promote
        [ "$status" -eq 0 ]
        [ -f "$W/r$n/recovery.signal" ]
        grep -q "^restore_command = '.*bc-wal-restore .*$URL srv %f %p'" "$W/r$n/postgresql.auto.conf"
        port=$(free_port)
        start_restored "$W/r$n" "$port"
        [ "$(rows "$port")" = "$want" ]
        # the backup was taken under load and is consistent
        [ "$(psql_at "$port" "select sum(abalance) = (select sum(delta) from pgbench_history) from pgbench_accounts")" = t ]
        stop_pg "$W/r$n"
    done
}

@test "backup.info says DONE with the WAL range, and the archive objects are where barman puts them" {
    id=$(bc-backup $(E) --immediate-checkpoint -n nightly -h 127.0.0.1 -p "$PORT" -U postgres "$URL" srv)
    s3_get "pitr/srv/base/$id/backup.info" "$W/backup.info"
    grep -qx "status=DONE" "$W/backup.info"
    grep -qx "backup_name=nightly" "$W/backup.info"
    grep -q "^begin_wal=[0-9A-F]\{24\}$" "$W/backup.info"
    grep -q "^end_wal=[0-9A-F]\{24\}$" "$W/backup.info"
    grep -q "^systemid=$(psql_at "$PORT" "select system_identifier from pg_control_system()")$" "$W/backup.info"
    s3_keys "pitr/srv/base/$id/" | grep -qx "pitr/srv/base/$id/data.tar"
    # restore by name, and refuse a non-empty directory
    mkdir -p "$W/busy" && touch "$W/busy/x"
    run bc-restore $(E) "$URL" srv nightly "$W/busy"
    [ "$status" -eq 3 ]
    [[ "$output" == *"not empty"* ]]
    run bc-restore $(E) "$URL" srv no-such-backup "$W/none"
    [ "$status" -eq 1 ]
}

@test "a backup id that cannot be printed (full disk) exits 4, the backup itself stored" {
    run bash -c "bc-backup $(E) --immediate-checkpoint -h 127.0.0.1 -p $PORT -U postgres $URL srv-full >/dev/full"
    [ "$status" -eq 4 ]
    [[ "$output" == *"bc-backup: error: writing to standard output: No space left on device"* ]]
    run bc-ls backups --format json $(E) "$URL" srv-full
    [[ "$output" == *'"status": "DONE"'* ]]
}

@test "split archives, several jobs, every codec restore" {
    for codec in gzip bzip2 lz4 snappy xz; do
        id=$(bc-backup $(E) --immediate-checkpoint --$codec -J 2 -S 20MiB -h 127.0.0.1 -p "$PORT" -U postgres "$URL" "srv-$codec")
        keys=$(s3_keys "pitr/srv-$codec/base/$id/")
        suffix=$(case $codec in gzip) echo .gz;; bzip2) echo .bz2;; lz4) echo .lz4;; snappy) echo .snappy;; xz) echo .xz;; esac)
        grep -qx "pitr/srv-$codec/base/$id/data.tar$suffix" <<<"$keys"
        run bc-restore $(E) "$URL" "srv-$codec" "$id" "$W/c-$codec"
        [ "$status" -eq 0 ]
        [ -f "$W/c-$codec/PG_VERSION" ]
        [ -f "$W/c-$codec/backup_label" ]
        [ -f "$W/c-$codec/global/pg_control" ]
    done
    # with no compression the 80 MB of data is cut at 20 MiB
    id=$(bc-backup $(E) --immediate-checkpoint -S 20MiB -h 127.0.0.1 -p "$PORT" -U postgres "$URL" srv-split)
    s3_keys "pitr/srv-split/base/$id/" | grep -qx "pitr/srv-split/base/$id/data_0001.tar"
    run bc-restore $(E) "$URL" srv-split "$id" "$W/split"
    [ "$status" -eq 0 ]
    [ "$(du -sm "$W/split" | cut -f1)" -gt 40 ]
}

@test "a backup taken from a streaming standby restores and starts" {
    sport=$(free_port)
    as_postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PORT" -U postgres -D "$W/standby" -R -X stream -c fast
    sed -i '/^port = /d; /^archive_/d' "$W/standby/postgresql.conf"
    echo "port = $sport" >>"$W/standby/postgresql.conf"
    start_pg "$W/standby"
    psql_at "$PORT" "create table from_primary as select generate_series(1, 5000) i"
    wait_for 60 has_table "$sport" from_primary
    # same cluster, same server name: its WAL is archived by the primary
    id=$(bc-backup $(E) --immediate-checkpoint -h 127.0.0.1 -p "$sport" -U postgres "$URL" srv)
    archive_current_wal "$PORT"
    s3_get "pitr/srv/base/$id/backup.info" "$W/standby.info"
    grep -qx "status=DONE" "$W/standby.info"
    run bc-restore $(E) "$URL" srv "$id" "$W/from-standby" --write-recovery-conf \
        --recovery-target-action promote
    [ "$status" -eq 0 ]
    port=$(free_port)
    start_restored "$W/from-standby" "$port"
    [ "$(psql_at "$port" "select count(*) from from_primary")" -eq 5000 ]
    stop_pg "$W/from-standby"
    stop_pg "$W/standby"
}

@test "a tablespace backs up and restores, relocated and in place" {
    install -d -o postgres "$W/ts1"
    psql_at "$PORT" "create tablespace ts1 location '$W/ts1'"
    psql_at "$PORT" "create table in_ts tablespace ts1 as select generate_series(1, 7000) i"
    id=$(bc-backup $(E) --immediate-checkpoint -z -h 127.0.0.1 -p "$PORT" -U postgres "$URL" srv)
    archive_current_wal "$PORT"
    oid=$(psql_at "$PORT" "select oid from pg_tablespace where spcname = 'ts1'")
    s3_keys "pitr/srv/base/$id/" | grep -qx "pitr/srv/base/$id/$oid.tar.gz"

    run bc-restore $(E) "$URL" srv "$id" "$W/ts-moved" --tablespace "ts1:$W/ts1-moved" \
        --write-recovery-conf --recovery-target-action promote
    [ "$status" -eq 0 ]
    [ "$(readlink "$W/ts-moved/pg_tblspc/$oid")" = "$W/ts1-moved" ]
    chown -R postgres: "$W/ts1-moved"
    check_in_ts "$W/ts-moved"

    # in place: the original location must be free, as after losing the server
    stop_pg "$W/primary"
    mv "$W/ts1" "$W/ts1-old"
    run bc-restore $(E) "$URL" srv "$id" "$W/ts-inplace" --write-recovery-conf \
        --recovery-target-action promote
    [ "$status" -eq 0 ]
    [ "$(readlink "$W/ts-inplace/pg_tblspc/$oid")" = "$W/ts1" ]
    chown -R postgres: "$W/ts1"
    check_in_ts "$W/ts-inplace"
    rm -rf "$W/ts1"
    mv "$W/ts1-old" "$W/ts1"
    start_pg "$W/primary"
}
