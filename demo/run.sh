#!/bin/bash
# The main job on an embedded default: a throwaway PostgreSQL archives its
# WAL through bc-wal-archive into a file:// store while pgbench writes, and
# bc-backup takes an online base backup into the same store; bc-restore
# then rebuilds a second instance from that backup, which replays the WAL
# through bc-wal-restore, and the two are compared row for row. Everything lives in a temporary
# directory that is removed at the end (KEEP=1 keeps it).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/bc-demo.XXXXXX)
chmod 755 "$work"
chown postgres: "$work"   # PostgreSQL and its archive_command run as postgres
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
say() { printf '\n== %s\n' "$*"; }
as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
    for d in primary replica; do
        [ -f "$work/$d/postmaster.pid" ] && as_pg "$pgbin/pg_ctl" -D "$work/$d" -m immediate stop >/dev/null 2>&1
    done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

make -s -C "$top" install PREFIX="$work/prefix" >/dev/null
bin="$work/prefix/bin"
store="$work/store"
install -d -o postgres "$store" "$work/spool"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
psql() { "$pgbin/psql" -h 127.0.0.1 -p "$1" -U postgres -XAtq -c "$2"; }

say "Starting a throwaway PostgreSQL ($("$pgbin/postgres" --version)) on port $port"
as_pg "$pgbin/initdb" -D "$work/primary" -A trust -U postgres >/dev/null
cat >>"$work/primary/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
wal_level = replica
archive_mode = on
archive_command = '$bin/bc-wal-archive --zstd file://$store demo %p'
CONF
as_pg "$pgbin/pg_ctl" -D "$work/primary" -l "$work/primary.log" -w start >/dev/null
echo "archive_command = '$bin/bc-wal-archive --zstd file://$store demo %p'"

say "Writing with pgbench while WAL is archived"
"$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s 10 -q postgres 2>&1 | tail -n 1
"$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -c 4 -j 2 -t 2000 postgres >"$work/pgbench.log" 2>&1 &
bench=$!

say "Taking a base backup with bc-backup while pgbench runs"
echo "bc-backup --zstd --immediate-checkpoint -h 127.0.0.1 -p $port -U postgres file://$store demo"
id=$("$bin/bc-backup" --zstd --immediate-checkpoint -h 127.0.0.1 -p "$port" -U postgres "file://$store" demo)
echo "backup id: $id"
wait "$bench"
grep -E 'transactions actually|tps' "$work/pgbench.log" | head -n 2
"$bin/bc-ls" backups "file://$store" demo
psql "$port" "select pg_switch_wal()" >/dev/null
current=$(psql "$port" "select pg_walfile_name(pg_current_wal_lsn())")
psql "$port" "checkpoint"
psql "$port" "select pg_switch_wal()" >/dev/null
for _ in $(seq 600); do
    [ "$(psql "$port" "select last_archived_wal >= '$current' from pg_stat_archiver")" = t ] && break
    sleep 0.2
done
expected=$(psql "$port" "select count(*) || ' accounts, balance ' || sum(abalance) || ', ' || (select count(*) from pgbench_history) || ' history rows' from pgbench_accounts")
read -r archived failed < <(psql "$port" "select archived_count, failed_count from pg_stat_archiver" | tr '|' ' ')
as_pg "$pgbin/pg_ctl" -D "$work/primary" -m fast -w stop >/dev/null
echo "pg_stat_archiver: $archived archived, $failed failed"
echo "store: $(find "$store" -type f | wc -l) objects, $(du -sh "$store" | cut -f1) (WAL written: $(du -sh "$work/primary/pg_wal" | cut -f1) left in pg_wal)"
find "$store" -type f | sort | head -n 3 | sed "s|$store|file://$store|"
echo "..."

say "Restoring backup $id with bc-restore; recovery replays WAL through bc-wal-restore"
port2=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "bc-restore -R --recovery-target-action promote file://$store demo latest $work/replica"
"$bin/bc-restore" -R --recovery-target-action promote "file://$store" demo latest "$work/replica"
sed -i '/^port = /d; /^archive_/d' "$work/replica/postgresql.conf"
echo "port = $port2" >>"$work/replica/postgresql.conf"
grep '^restore_command' "$work/replica/postgresql.auto.conf"
chown -R postgres: "$work/replica"
as_pg "$pgbin/pg_ctl" -D "$work/replica" -l "$work/replica.log" -w -t 300 start >/dev/null
for _ in $(seq 1500); do
    [ "$(psql "$port2" "select pg_is_in_recovery()" 2>/dev/null)" = f ] && break
    sleep 0.2
done
echo "restored $(grep -c 'restored log file' "$work/replica.log") WAL files; recovery finished: $(grep -o 'archive recovery complete' "$work/replica.log" | head -n 1)"
got=$(psql "$port2" "select count(*) || ' accounts, balance ' || sum(abalance) || ', ' || (select count(*) from pgbench_history) || ' history rows' from pgbench_accounts")

say "Verifying"
echo "primary : $expected"
echo "recovered: $got"
if [ "$got" = "$expected" ] && [ "$failed" = 0 ]; then
    echo "OK: every committed row came back through the archive."
else
    echo "FAILED: the recovered instance differs from the primary." >&2
    exit 1
fi
