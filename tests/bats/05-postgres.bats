#!/usr/bin/env bats
# A real PostgreSQL archiving through bc-wal-archive under pgbench, and a
# second instance recovering every committed row through bc-wal-restore.

load helpers

setup_file() {
    start_s3rver
    export W=$(scratch_dir)
}
teardown_file() {
    stop_pg "$W/primary"
    stop_pg "$W/replica"
    stop_s3rver
}

# Waits until the archiver has stored every segment up to the current one.
archived_up_to_current() {
    local port=$1 current
    current=$(psql_at "$port" "select pg_walfile_name(pg_current_wal_lsn())")
    [ "$(psql_at "$port" "select last_archived_wal >= '$current' from pg_stat_archiver")" = t ]
}


@test "archive under pgbench, then recover every committed row on a second instance" {
    port=$(free_port)
    common="--endpoint-url $S3_ENDPOINT --max-single-put-size 8MiB --max-block-size 8MiB"
    init_pg "$W/primary" "$port" \
        "archive_mode = on" \
        "archive_command = '$BC_BIN/bc-wal-archive --zstd $common --max-parallel 4 --spool-dir $W/archive-spool s3://test/pg srv %p'" \
        "wal_keep_size = 0"
    start_pg "$W/primary"
    "$PG_BIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s 5 -q postgres >/dev/null 2>&1
    as_postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$W/base" -X none -c fast
    "$PG_BIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -c 4 -j 2 -t 1500 postgres >/dev/null 2>&1
    psql_at "$port" "create table marker as select 'last' as v, count(*) as n, sum(abalance) as s from pgbench_accounts"
    psql_at "$port" "select pg_switch_wal()" >/dev/null
    psql_at "$port" "checkpoint"
    psql_at "$port" "select pg_switch_wal()" >/dev/null
    wait_for 300 archived_up_to_current "$port"

    [ "$(psql_at "$port" "select failed_count from pg_stat_archiver")" -eq 0 ]
    expected=$(psql_at "$port" "select count(*), sum(abalance), (select count(*) from pgbench_history) from pgbench_accounts")
    archived=$(psql_at "$port" "select archived_count from pg_stat_archiver")
    [ "$archived" -ge 5 ]
    # every archived file is in the store, zstd-compressed (segments and the
    # base backup's .backup label)
    s3_keys "pg/srv/wals/" >"$W/keys"
    [ "$(grep -c '\.zst$' "$W/keys")" -ge "$archived" ]
    [ "$(grep -c '/[0-9A-F]\{24\}\.zst$' "$W/keys")" -ge $((archived - 1)) ]
    stop_pg "$W/primary"

    # second instance: the base backup plus WAL fetched by bc-wal-restore
    port2=$(free_port)
    cp -a "$W/base" "$W/replica"
    sed -i '/^port = /d; /^archive_/d; /^unix_socket_directories/d' "$W/replica/postgresql.conf"
    {
        echo "port = $port2"
        echo "unix_socket_directories = ''"
        echo "restore_command = '$BC_BIN/bc-wal-restore $common --prefetch 4 --spool-dir $W/restore-spool s3://test/pg srv %f %p'"
        echo "recovery_target_action = promote"
    } >>"$W/replica/postgresql.conf"
    touch "$W/replica/recovery.signal"
    chown -R postgres: "$W/replica"
    start_pg "$W/replica"
    wait_for 300 promoted "$port2"

    [ "$(psql_at "$port2" "select count(*), sum(abalance), (select count(*) from pgbench_history) from pgbench_accounts")" = "$expected" ]
    [ "$(psql_at "$port2" "select v from marker")" = last ]
    grep -q "restored log file" "$W/replica/server.log"
    ! grep -q "FATAL" "$W/replica/server.log" || false
}
