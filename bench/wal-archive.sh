#!/bin/bash
# WAL archiving benchmark: the same real 16 MiB PostgreSQL segments pushed to
# the same s3rver on 127.0.0.1 by bc-wal-archive, barman-cloud-wal-archive
# and a raw `curl --aws-sigv4` PUT. Prints the mean wall time per segment,
# the ratios, and the peak RSS of one archiving process.
#
#   bench/wal-archive.sh [SEGMENTS]     (default 8; run as root after `make`)
#
# s3rver is used directly here (no signature gate), so every client pays the
# same server cost. Azurite is measured the same way, against curl with a SAS
# token (barman-cloud is not: its Azure client needs Debian's python3-azure,
# 543 MB installed). For S3, curl sends x-amz-content-sha256: UNSIGNED-PAYLOAD (curl
# 7.88 does not hash the body), so it skips the SHA-256 pass bc makes; the
# ratio includes that. Results vary with the machine: docs/performance.md holds
# the figures recorded and how they were obtained.
nseg=${1:-8}
. "$(dirname "$0")/common.sh"

echo "== collecting $nseg real WAL segments from pgbench"
mkdir -p "$work/segments"; chown postgres: "$work/segments"
start_pg "archive_mode = on" "archive_command = 'cp %p $work/segments/%f'"
"$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s 20 -q postgres >/dev/null 2>&1
while [ "$(ls "$work/segments" | grep -c '^[0-9A-F]\{24\}$')" -lt "$nseg" ]; do
    "$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -c 4 -j 2 -t 2000 postgres >/dev/null 2>&1
    "$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -XAtqc "select pg_switch_wal()" >/dev/null
done
runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null
mapfile -t segs < <(ls "$work/segments" | grep '^[0-9A-F]\{24\}$' | head -n "$nseg")

start_s3rver
start_azurite

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
        /usr/bin/time -o "$work/rss" -f '%M' bash -c "exec $cmd" >/dev/null 2>"$work/err" ||
            { echo "$name failed:"; tail -n 3 "$work/err"; exit 1; }
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

echo "== archiving the same segments to Azurite at $azurite"
run "curl PUT to Azurite (raw, SAS)" "curl -sf -X PUT -H x-ms-blob-type:BlockBlob -T SEG '$azurite/bench/curl/NAME?$azure_sas'"
run "bc-wal-archive to Azurite" "$bin/bc-wal-archive $azurite/bench/bc srv SEG"
run "bc-wal-archive --zstd to Azurite" "$bin/bc-wal-archive --zstd $azurite/bench/bc-zstd srv SEG"

echo "== ratios"
echo "barman-cloud-wal-archive / bc-wal-archive:        $(ratio "${mean[barman-cloud-wal-archive]}" "${mean[bc-wal-archive]}")x"
echo "barman --gzip / bc --gzip:                        $(ratio "${mean[barman-cloud-wal-archive --gzip]}" "${mean[bc-wal-archive --gzip]}")x"
echo "bc-wal-archive / raw curl PUT:                    $(ratio "${mean[bc-wal-archive]}" "${mean[curl PUT (raw, SigV4)]}")x"
echo "peak RSS bc-wal-archive: ${rss[bc-wal-archive]} KiB; barman-cloud-wal-archive: ${rss[barman-cloud-wal-archive]} KiB"
echo "Azure: bc-wal-archive / raw curl PUT:             $(ratio "${mean[bc-wal-archive to Azurite]}" "${mean[curl PUT to Azurite (raw, SAS)]}")x"
echo "Azure: bc-wal-archive S3 / Azurite:               $(ratio "${mean[bc-wal-archive]}" "${mean[bc-wal-archive to Azurite]}")x"
echo "peak RSS bc-wal-archive to Azurite: ${rss[bc-wal-archive to Azurite]} KiB"
