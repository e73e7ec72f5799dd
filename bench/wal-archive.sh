#!/bin/bash
# WAL archiving benchmark: the same real 16 MiB PostgreSQL segments pushed to
# the same s3rver on 127.0.0.1 by bc-wal-archive, barman-cloud-wal-archive
# and a raw `curl --aws-sigv4` PUT. Prints the mean wall time per segment,
# the ratios, and the peak RSS of one archiving process.
#
#   bench/wal-archive.sh [SEGMENTS]     (default 8; run as root after `make`)
#
# s3rver is used directly here (no signature gate), so every client pays the
# same server cost. curl sends x-amz-content-sha256: UNSIGNED-PAYLOAD (curl
# 7.88 does not hash the body), so it skips the SHA-256 pass bc makes; the
# ratio includes that. Results vary with the machine: docs/performance.md holds
# the figures recorded and how they were obtained.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
nseg=${1:-8}
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
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

echo "== collecting $nseg real WAL segments from pgbench"
port=$(free_port)
runuser -u postgres -- "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
mkdir -p "$work/segments"; chown postgres: "$work/segments"
cat >>"$work/pg/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
archive_mode = on
archive_command = 'cp %p $work/segments/%f'
CONF
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w start >/dev/null
"$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s 20 -q postgres >/dev/null 2>&1
while [ "$(ls "$work/segments" | grep -c '^[0-9A-F]\{24\}$')" -lt "$nseg" ]; do
    "$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -c 4 -j 2 -t 2000 postgres >/dev/null 2>&1
    "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -XAtqc "select pg_switch_wal()" >/dev/null
done
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null
mapfile -t segs < <(ls "$work/segments" | grep '^[0-9A-F]\{24\}$' | head -n "$nseg")

s3port=$(free_port)
node --openssl-legacy-provider "$top/tests/node_modules/s3rver/bin/s3rver.js" --directory "$work/s3" \
    --address 127.0.0.1 --port "$s3port" --configure-bucket bench --silent >/dev/null 2>&1 &
pids+=($!)
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $s3port), 1)" 2>/dev/null; do sleep 0.1; done
endpoint="http://127.0.0.1:$s3port"
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1

# run NAME COMMAND-TEMPLATE: archives every segment (SEG in the template is
# the segment path), prints mean ms per segment and peak RSS in KiB.
declare -A mean rss
run() {
    local name=$1 template=$2 total=0 peak=0
    for s in "${segs[@]}"; do
        local cmd=${template//SEG/$work/segments/$s}
        cmd=${cmd//NAME/$s}
        local t0 t1 kib
        t0=$(date +%s%N)
        /usr/bin/time -o "$work/rss" -f '%M' bash -c "exec $cmd" >/dev/null 2>&1
        kib=$(tail -n 1 "$work/rss")
        t1=$(date +%s%N)
        total=$((total + (t1 - t0) / 1000))
        [ "$kib" -gt "$peak" ] && peak=$kib
    done
    mean[$name]=$((total / ${#segs[@]} / 1000))
    rss[$name]=$peak
    printf '%-34s %7s ms/segment  peak RSS %6s KiB\n' "$name" "${mean[$name]}" "$peak"
}

echo "== archiving ${#segs[@]} segments of 16 MiB to s3rver at $endpoint"
run "curl PUT (raw, SigV4)" "curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -H x-amz-content-sha256:UNSIGNED-PAYLOAD -T SEG $endpoint/bench/curl/NAME"
run "bc-wal-archive" "$bin/bc-wal-archive --endpoint-url $endpoint s3://bench/bc srv SEG"
run "bc-wal-archive --zstd" "$bin/bc-wal-archive --zstd --endpoint-url $endpoint s3://bench/bc-zstd srv SEG"
run "bc-wal-archive --gzip" "$bin/bc-wal-archive --gzip --endpoint-url $endpoint s3://bench/bc-gzip srv SEG"
run "barman-cloud-wal-archive" "barman-cloud-wal-archive --endpoint-url $endpoint s3://bench/barman srv SEG"
run "barman-cloud-wal-archive --gzip" "barman-cloud-wal-archive --gzip --endpoint-url $endpoint s3://bench/barman-gzip srv SEG"

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
echo "== ratios"
echo "barman-cloud-wal-archive / bc-wal-archive:        $(ratio "${mean[barman-cloud-wal-archive]}" "${mean[bc-wal-archive]}")x"
echo "barman --gzip / bc --gzip:                        $(ratio "${mean[barman-cloud-wal-archive --gzip]}" "${mean[bc-wal-archive --gzip]}")x"
echo "bc-wal-archive / raw curl PUT:                    $(ratio "${mean[bc-wal-archive]}" "${mean[curl PUT (raw, SigV4)]}")x"
echo "peak RSS bc-wal-archive: ${rss[bc-wal-archive]} KiB; barman-cloud-wal-archive: ${rss[barman-cloud-wal-archive]} KiB"
