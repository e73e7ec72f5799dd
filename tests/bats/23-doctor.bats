#!/usr/bin/env bats
# bc-doctor store and postgres: each fault the troubleshooting guide names
# is produced for real (s3rver behind the SigV4 gate, a self-signed TLS
# gate, a real PostgreSQL archiving and backing up into a file:// store,
# its archive_command made to fail) and the failing check, its detail and
# its fix asserted; a healthy setup passes with exit 0.

load helpers

setup_file() {
    start_s3rver
    export W=$(scratch_dir) PORT=$(free_port)
    export FS="file://$W/store"
    mkdir -p "$W/store/srv/wals"
    chown -R postgres: "$W/store"
    init_pg "$W/pg" "$PORT" "archive_mode = on" \
        "archive_command = '$BC_BIN/bc-wal-archive $FS srv %p && $BC_BIN/bc-wal-archive --endpoint-url $S3_ENDPOINT s3://test/doc srv %p'"
    start_pg "$W/pg"
    for i in 1 2 3; do
        psql_at "$PORT" "create table t$i as select generate_series(1, 1000) v" >/dev/null
        archive_current_wal "$PORT"
    done
    export ID=$(timeout 300 bc-backup --immediate-checkpoint -h 127.0.0.1 -p "$PORT" -U postgres "$FS" srv)
    timeout 300 bc-backup --endpoint-url "$S3_ENDPOINT" --immediate-checkpoint -h 127.0.0.1 \
        -p "$PORT" -U postgres s3://test/doc srv >/dev/null
}

teardown_file() {
    stop_pg "$W/pg"
    stop_gate "$W"
    stop_s3rver
}

setup() { T=$(scratch_dir); }
teardown() { stop_gate "$T"; }

# check_line NAME STATUS: the report line of check NAME has STATUS.
check_line() {
    grep -q "^$2 *$1: " <<<"$output"
}

# doctor_pg [ARGS...]: bc-doctor postgres on the file's server, as run.
doctor_pg() {
    run bc-doctor postgres -h 127.0.0.1 -p "$PORT" -U postgres "$@"
    echo "$output"
}

jfield() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

@test "a healthy store passes every check with exit 0, in text and in JSON" {
    run bc-doctor store --write-test --endpoint-url "$S3_ENDPOINT" s3://test/doc srv
    echo "$output"
    [ "$status" -eq 0 ]
    for c in url credentials "name resolution" "tcp connect" clock authentication bucket prefix \
        "write test" wal "newest wal" "wal gaps" "last backup" "failed backup" "recovery window"; do
        check_line "$c" ok
    done
    [[ "$output" == *"0 failed, 0 warnings, 0 skipped"* ]]
    # the probe is gone again
    [ -z "$(bc-ls wals --endpoint-url "$S3_ENDPOINT" s3://test/doc srv | grep probe)" ]
    bc-doctor store --format json "$FS" srv >"$T/r.json"
    [ "$(jfield "$T/r.json" 'd["subject"]')" = store ]
    [ "$(jfield "$T/r.json" 'd["failed"]')" = 0 ]
    [ "$(jfield "$T/r.json" '[c["status"] for c in d["checks"]] == ["ok"] * len(d["checks"])')" = True ]
    [ "$(jfield "$T/r.json" '[c["name"] for c in d["checks"]][-1]')" = "recovery window" ]
    [[ "$(jfield "$T/r.json" '[c["detail"] for c in d["checks"] if c["name"] == "last backup"][0]')" == "$ID DONE"* ]]
}

@test "a wrong secret (403) fails authentication in plain words, never showing the secret" {
    AWS_SECRET_ACCESS_KEY=not-the-secret-value run bc-doctor store --endpoint-url "$S3_ENDPOINT" s3://test/doc srv
    echo "$output"
    [ "$status" -eq 1 ]
    check_line authentication fail
    [[ "$output" == *"authentication: the secret key does not match the access key"* ]]
    [[ "$output" == *"fix: check the credentials' Secret and key names"* ]]
    check_line bucket skipped
    [[ "$output" == *"bucket: skipped because authentication failed"* ]]
    check_line wal skipped
    [[ "$output" != *not-the-secret-value* ]]
}

@test "a missing bucket fails the bucket check, with what to do" {
    run bc-doctor store --endpoint-url "$S3_ENDPOINT" s3://no-such-bucket/doc srv
    echo "$output"
    [ "$status" -eq 1 ]
    check_line authentication ok
    check_line bucket fail
    [[ "$output" == *"bucket 'no-such-bucket' does not exist"* ]]
    [[ "$output" == *"fix: create it, or correct destinationPath"* ]]
}

@test "a self-signed endpoint without its CA fails TLS, naming the fix; with --ca-bundle it passes" {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/key.pem" \
        -out "$T/cert.pem" -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
    start_gate "$T" --cert "$T/cert.pem" --key "$T/key.pem"
    tls=${GATE/http:/https:}
    run bc-doctor store --endpoint-url "$tls" s3://test/doc srv
    echo "$output"
    [ "$status" -eq 1 ]
    check_line "tcp connect" ok
    check_line tls fail
    [[ "$output" == *"certificate"* ]]
    [[ "$output" == *"fix: if the store uses a private CA, pass its PEM file with --ca-bundle"*"endpointCA"* ]]
    [[ "$output" == *"authentication: skipped because tls failed"* ]]
    run bc-doctor store --ca-bundle "$T/cert.pem" --endpoint-url "$tls" s3://test/doc srv
    echo "$output"
    [ "$status" -eq 0 ]
    check_line tls ok
}

@test "nothing listening: the TCP connection fails and what depends on it is skipped" {
    port=$(free_port)
    run bc-doctor store --endpoint-url "http://127.0.0.1:$port" s3://test/doc srv
    [ "$status" -eq 1 ]
    check_line "name resolution" ok
    check_line "tcp connect" fail
    [[ "$output" == *"fix: check the port"* ]]
    check_line authentication skipped
}

@test "stale WAL, a gap and a failed backup are warnings naming them; exit 0" {
    cp -a "$W/store" "$T/store"
    s="$T/store/srv/wals"
    segs=($(find "$s" -type f | grep -E '/[0-9A-F]{24}$' | sort))
    [ "${#segs[@]}" -ge 3 ]
    rm "${segs[1]}"
    find "$s" -type f -exec touch -d '3 hours ago' {} +
    # a later backup that failed, with its error
    failed=29991231T235959
    mkdir -p "$T/store/srv/base/$failed"
    sed -e 's/^status=.*/status=FAILED/' -e "s/^backup_id=.*/backup_id=$failed/" \
        -e 's/^error=.*/error=failure uploading data (connection reset by peer)/' \
        "$W/store/srv/base/$ID/backup.info" >"$T/store/srv/base/$failed/backup.info"
    run bc-doctor store "file://$T/store" srv
    echo "$output"
    [ "$status" -eq 0 ]
    check_line "newest wal" warn
    [[ "$output" == *"stored 3h "*"ago"* ]]
    [[ "$output" == *"fix: WAL archiving may have stopped"* ]]
    check_line "wal gaps" warn
    [[ "$output" == *"1 gap, the first timeline 1: $(basename "${segs[1]}")"* ]]
    check_line "failed backup" warn
    [[ "$output" == *"$failed FAILED after the last DONE one: failure uploading data (connection reset by peer)"* ]]
    check_line "last backup" ok
}

@test "no WAL and no backup for the server name: both fail, the window is skipped" {
    run bc-doctor store "$FS" other-server
    [ "$status" -eq 1 ]
    check_line wal fail
    [[ "$output" == *"no WAL segment archived for server 'other-server'"* ]]
    check_line "last backup" fail
    check_line "recovery window" skipped
}

@test "postgres: a healthy primary passes, and --archive-test sees the switched segment reach the store" {
    doctor_pg --archive-test "$FS" srv
    [ "$status" -eq 0 ]
    for c in connection wal_level archive_mode archive_command archiver "last archived" backlog \
        "backup in progress" "archive test"; do
        check_line "$c" ok
    done
    [[ "$output" == *"backup in progress: no backup running"* ]]
    [[ "$output" == *"archive_command: bc-wal-archive: "* ]]
    [[ "$output" == *"archive test: switched WAL; "*" reached file://$W/store as "* ]]
    bc-doctor postgres --format json -h 127.0.0.1 -p "$PORT" -U postgres >"$T/r.json"
    [ "$(jfield "$T/r.json" 'd["subject"]')" = postgres ]
    [ "$(jfield "$T/r.json" 'd["failed"]')" = 0 ]
}

@test "postgres: a low-level backup left running in another session is named with its client" {
    mkfifo "$T/in"
    # a session that starts a backup and stays in it until told
    PGAPPNAME=stuck-client psql -X -q -h 127.0.0.1 -p "$PORT" -U postgres <"$T/in" >"$T/psql.out" 2>&1 &
    exec 7>"$T/in"
    echo "select pg_backup_start('doctor', true);" >&7
    wait_for 30 sh -c "psql -X -Atq -h 127.0.0.1 -p $PORT -U postgres -c \"select count(*) from pg_stat_activity where application_name = 'stuck-client' and state = 'idle' and query ~ 'pg_backup_start'\" | grep -qx 1"
    doctor_pg
    echo "select pg_backup_stop();" >&7
    exec 7>&-
    wait
    [ "$status" -eq 0 ]
    check_line "backup in progress" ok
    [[ "$output" == *"backup in progress: 1 running, the oldest for "*" (stuck-client)"* ]]
}

@test "postgres: no server there fails the connection, naming what to check" {
    port=$(free_port)
    run bc-doctor postgres -h 127.0.0.1 -p "$port" -U postgres
    [ "$status" -eq 1 ]
    check_line connection fail
    [[ "$output" == *"fix: check -h/-p/-U/-d"* ]]
    check_line wal_level skipped
}

archive_failures() { # at least N
    [ "$(psql_at "$PORT" "select failed_count >= $1 from pg_stat_archiver")" = t ]
}

@test "postgres: a failing archive_command and the WAL backlog it leaves are named; fixed, they clear" {
    psql_at "$PORT" "alter system set archive_command = 'false'" >/dev/null
    psql_at "$PORT" "select pg_reload_conf()" >/dev/null
    for i in 1 2 3 4 5 6; do
        psql_at "$PORT" "create table f$i as select generate_series(1, 1000) v" >/dev/null
        psql_at "$PORT" "select pg_switch_wal()" >/dev/null
    done
    wait_for 60 archive_failures 1
    doctor_pg
    [ "$status" -eq 1 ]
    check_line archive_command warn
    [[ "$output" == *"'false' is neither bc-wal-archive, barman-cloud nor the plugin"* ]]
    check_line archiver fail
    [[ "$output" == *"archiver: archiving is failing: "*" failures, the last "*" ago on 0000000"* ]]
    [[ "$output" == *"fix: run archive_command by hand as the postgres user"* ]]
    check_line backlog warn
    [[ "$output" =~ backlog:\ ([0-9]+)\ segments\ waiting ]]
    [ "${BASH_REMATCH[1]}" -ge 5 ]
    # put it back: the backlog drains and the archiver recovers
    psql_at "$PORT" "alter system reset archive_command" >/dev/null
    psql_at "$PORT" "select pg_reload_conf()" >/dev/null
    archive_current_wal "$PORT"
    doctor_pg
    [ "$status" -eq 0 ]
    check_line archiver warn
    [[ "$output" == *"succeeding since"* ]]
    check_line backlog ok
}

@test "bad input: no subject, an unknown subject, missing operands, a bad format" {
    run bc-doctor
    [ "$status" -eq 3 ]
    [[ "$output" == *"expected a subject"* ]]
    run bc-doctor stor "$FS" srv
    [ "$status" -eq 3 ]
    [[ "$output" == *"unknown subject 'stor'"* ]]
    run bc-doctor store "$FS"
    [ "$status" -eq 3 ]
    run bc-doctor store --format yaml "$FS" srv
    [ "$status" -eq 3 ]
    run bc-doctor store "ftp://x/y" srv
    [ "$status" -eq 1 ]
    check_line url fail
    run bc-doctor postgres "$FS" srv
    [ "$status" -eq 3 ]
    [[ "$output" == *"postgres takes no operands without --archive-test"* ]]
    run bc-doctor postgres --archive-test
    [ "$status" -eq 3 ]
    run bc-doctor --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"--write-test"* && "$output" == *"--archive-test"* ]]
}
