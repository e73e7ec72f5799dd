#!/bin/bash
# Restore from a local repository, and what the integrity checks cost:
# the same pgbench cluster (scale 40 by default, about 600 MB) backed up
# with zstd by bc-backup into a file:// store and by pgBackRest into a
# posix repository on the same disk, then, interleaved, RUNS times each:
#   raw:         zstd -dc data.tar.zst | tar -x, then sync: no checks
#   bc-restore:  every archive, tar end and file checksum checked, synced
#   pgBackRest:  pgbackrest restore (its own per-file checksums)
#   bc-verify:   the same checks as bc-restore, nothing written
# and bc-backup --zstd itself. Medians are printed, with ratios.
#   bench/restore-local.sh [SCALE] [RUNS]
# Needs Debian's pgbackrest (installed when missing).
scale=${1:-40}
runs=${2:-3}
. "$(dirname "$0")/common.sh"
command -v pgbackrest >/dev/null || apt-get install -y -qq pgbackrest >/dev/null

# pgBackRest reaches a local server through its Unix socket only.
mkdir -p "$work/bcstore/srv/wals" "$work/pgbr/repo" "$work/pgbr/log" "$work/pgbr/spool" "$work/sock"
chown -R postgres: "$work/bcstore" "$work/pgbr" "$work/sock"
start_pg "archive_mode = on" "archive_command = '$bin/bc-wal-archive file://$work/bcstore srv %p'" \
    "unix_socket_directories = '$work/sock'"
"$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s "$scale" -q postgres >/dev/null 2>&1
"$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -XAtqc checkpoint
echo "== cluster: $(du -sh --exclude=pg_wal "$work/pg" | cut -f1) in PGDATA without pg_wal (pgbench scale $scale)"

# pgBackRest: its own configuration, repository and stanza on this cluster;
# it archives through bc here too (it only needs WAL for its backup's end,
# and takes it through archive-check=n and archive-copy off).
cat >"$work/pgbr/pgbackrest.conf" <<CONF
[global]
repo1-path=$work/pgbr/repo
log-path=$work/pgbr/log
lock-path=$work/pgbr/spool
spool-path=$work/pgbr/spool
log-level-console=warn
compress-type=zst
process-max=2
start-fast=y
archive-check=n
repo1-retention-full=9
[bench]
pg1-path=$work/pg
pg1-port=$port
pg1-socket-path=$work/sock
pg1-host-user=postgres
CONF
chown postgres: "$work/pgbr/pgbackrest.conf"
pgbr() { runuser -u postgres -- pgbackrest --config="$work/pgbr/pgbackrest.conf" --stanza=bench "$@"; }
pgbr stanza-create --no-online >/dev/null 2>&1 || pgbr stanza-create >/dev/null

echo "== backups (once each)"
timed "bc-backup --zstd" "$bin/bc-backup --immediate-checkpoint -J 2 --zstd -h 127.0.0.1 -p $port -U postgres file://$work/bcstore srv"
timed "pgbackrest backup (zst)" "runuser -u postgres -- pgbackrest --config=$work/pgbr/pgbackrest.conf --stanza=bench --type=full backup"
id=$(ls "$work/bcstore/srv/base" | tail -n 1)
archive="$work/bcstore/srv/base/$id/data.tar.zst"
echo "bc backup $id: $(du -sh "$work/bcstore/srv/base/$id" | cut -f1) stored;" \
     "pgBackRest: $(du -sh "$work/pgbr/repo/backup" | cut -f1)"

declare -A all
record() { all[$1]="${all[$1]:-} ${secs[$1]}"; }
# Each run starts alike: an empty target, dirty pages written back and, where
# allowed, the page cache dropped (the store is then read from disk by all).
fresh() {
    rm -rf "$work/r" && mkdir -p "$work/r" && chown postgres: "$work/r" && chmod 700 "$work/r" && sync
    echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
}
run_one() {
    case $1 in
    raw) fresh; timed "raw: zstd -dc | tar -x; sync" "zstd -qdc $archive | tar -xf - -C $work/r && sync -f $work/r"; record "raw: zstd -dc | tar -x; sync" ;;
    bc) fresh; timed "bc-restore -J 2" "$bin/bc-restore -J 2 file://$work/bcstore srv $id $work/r"; record "bc-restore -J 2" ;;
    pgbr) fresh; timed "pgbackrest restore" "runuser -u postgres -- pgbackrest --config=$work/pgbr/pgbackrest.conf --stanza=bench --pg1-path=$work/r restore"; record "pgbackrest restore" ;;
    verify) fresh; timed "bc-verify -J 2" "$bin/bc-verify -J 2 file://$work/bcstore srv $id"; record "bc-verify -J 2" ;;
    esac
}
echo "== restores, $runs rounds, the order rotated each round"
order=(raw bc pgbr verify)
for round in $(seq "$runs"); do
    for i in 0 1 2 3; do run_one "${order[$(( (i + round) % 4 ))]}"; done
done
median() { printf '%s\n' $1 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "== medians"
declare -A med
for k in "raw: zstd -dc | tar -x; sync" "bc-restore -J 2" "pgbackrest restore" "bc-verify -J 2"; do
    med[$k]=$(median "${all[$k]}")
    printf '%-34s %8s s   (runs:%s)\n' "$k" "${med[$k]}" "${all[$k]}"
done
echo "== ratios"
echo "bc-restore / raw (cost of the checks):  $(ratio "${med[bc-restore -J 2]}" "${med[raw: zstd -dc | tar -x; sync]}")x  (target <= 1.10)"
echo "pgbackrest restore / bc-restore:        $(ratio "${med[pgbackrest restore]}" "${med[bc-restore -J 2]}")x  (target >= 1.00)"
