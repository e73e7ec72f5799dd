#!/bin/bash
# Base backup and restore benchmark on the same pgbench cluster (about
# 600 MB at the default scale 40) and the same s3rver on 127.0.0.1:
#   bc-backup (plain, --gzip, --zstd) vs barman-cloud-backup (plain, --gzip)
#   vs a raw upload (tar of PGDATA, then one curl --aws-sigv4 PUT),
#   bc-restore vs barman-cloud-restore.
# Prints wall time, ratios and peak RSS.   bench/backup.sh [SCALE]
# s3rver is used directly (no signature gate); it is the same server for
# every client. The raw figure is tar of PGDATA without pg_wal (what a base
# backup copies) into tmpfs plus the PUT, since s3rver does not take
# chunked uploads of unknown length.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
scale=${1:-40}
"$top/tests/setup.sh"
command -v /usr/bin/time >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
make -s -C "$top" >/dev/null
bin="$top/build/bin"
work=$(mktemp -d /tmp/bc-bench.XXXXXX)
chmod 755 "$work"; chown postgres: "$work"
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pids=()
cleanup() {
    [ -f "$work/pg/postmaster.pid" ] && runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work" /dev/shm/bc-bench-raw.tar
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

port=$(free_port)
runuser -u postgres -- "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n" "$port" >>"$work/pg/postgresql.conf"
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w start >/dev/null
"$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s "$scale" -q postgres >/dev/null 2>&1
"$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -XAtqc checkpoint
echo "== cluster: $(du -sh --exclude=pg_wal "$work/pg" | cut -f1) in PGDATA without pg_wal (pgbench scale $scale)"

s3port=$(free_port)
node --openssl-legacy-provider "$top/tests/node_modules/s3rver/bin/s3rver.js" --directory "$work/s3" \
    --address 127.0.0.1 --port "$s3port" --configure-bucket bench --silent >/dev/null 2>&1 &
pids+=($!)
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $s3port), 1)" 2>/dev/null; do sleep 0.1; done
endpoint="http://127.0.0.1:$s3port"
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
pgconn="-h 127.0.0.1 -p $port -U postgres"

declare -A secs rss
# run NAME COMMAND: wall seconds and peak RSS of one run
run() {
    local name=$1 cmd=$2 t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -o "$work/rss" -f '%M' bash -c "$cmd" >"$work/out" 2>"$work/err" ||
        { echo "$name failed:"; tail -n 5 "$work/err"; exit 1; }
    t1=$(date +%s%N)
    secs[$name]=$(python3 -c "print(f'{($t1 - $t0) / 1e9:.2f}')")
    rss[$name]=$(tail -n 1 "$work/rss")
    printf '%-34s %8s s   peak RSS %8s KiB\n' "$name" "${secs[$name]}" "${rss[$name]}"
}

echo "== backups to s3rver at $endpoint"
run "raw: tar + curl PUT" "tar -cf /dev/shm/bc-bench-raw.tar --exclude=./pg_wal/* -C $work/pg . && curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -H x-amz-content-sha256:UNSIGNED-PAYLOAD -T /dev/shm/bc-bench-raw.tar $endpoint/bench/raw/data.tar"
run "bc-backup" "$bin/bc-backup --immediate-checkpoint -J 2 --endpoint-url $endpoint $pgconn s3://bench/bc plain"
run "bc-backup --gzip" "$bin/bc-backup --immediate-checkpoint -J 2 --gzip --endpoint-url $endpoint $pgconn s3://bench/bc gzip"
run "bc-backup --zstd" "$bin/bc-backup --immediate-checkpoint -J 2 --zstd --endpoint-url $endpoint $pgconn s3://bench/bc zstd"
run "barman-cloud-backup" "barman-cloud-backup --immediate-checkpoint -J 2 --endpoint-url $endpoint $pgconn s3://bench/barman plain"
run "barman-cloud-backup --gzip" "barman-cloud-backup --immediate-checkpoint -J 2 --gzip --endpoint-url $endpoint $pgconn s3://bench/barman gzip"

echo "== restores"
run "bc-restore" "$bin/bc-restore -J 2 --endpoint-url $endpoint s3://bench/bc plain latest $work/r-bc"
run "barman-cloud-restore" "id=\$(barman-cloud-backup-list --endpoint-url $endpoint --format json s3://bench/barman plain | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"backups_list\"][-1][\"backup_id\"])') && barman-cloud-restore --endpoint-url $endpoint s3://bench/barman plain \$id $work/r-barman"

r() { python3 -c "print(f'{$1/$2:.2f}')"; }
echo "== ratios"
echo "bc-backup / raw:                          $(r "${secs[bc-backup]}" "${secs[raw: tar + curl PUT]}")x  (target <= 1.3)"
echo "barman-cloud-backup -z / bc-backup -z:    $(r "${secs[barman-cloud-backup --gzip]}" "${secs[bc-backup --gzip]}")x  (target >= 3)"
echo "bc-backup --zstd / raw:                   $(r "${secs[bc-backup --zstd]}" "${secs[raw: tar + curl PUT]}")x  (target <= 1.5)"
echo "barman-cloud-restore / bc-restore:        $(r "${secs[barman-cloud-restore]}" "${secs[bc-restore]}")x  (target >= 2)"
