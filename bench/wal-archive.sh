#!/bin/bash
# WAL archiving benchmark: the same real 16 MiB PostgreSQL segments pushed to
# the same s3rver on 127.0.0.1 by bc-wal-archive, barman-cloud-wal-archive
# and a raw `curl --aws-sigv4` PUT, each segment by every client in turn.
# Prints the median wall time per segment, the ratios, and the peak RSS of
# one archiving process.
#
#   bench/wal-archive.sh [SEGMENTS]     (default 8; run as root after `make`)
#
# s3rver is used directly here (no signature gate), so every client pays the
# same server cost. Azurite is measured the same way, against curl with a SAS
# token (barman-cloud is not: its Azure client needs Debian's python3-azure,
# 543 MB installed). For S3, curl sends x-amz-content-sha256: UNSIGNED-PAYLOAD (curl
# 7.88 does not hash the body), so over plain http it skips the SHA-256 pass
# bc makes there; the ratio includes that. Over https (a second s3rver, as
# every AWS request is) both send UNSIGNED-PAYLOAD. On an --endpoint-url
# server bc-wal-archive lists the name before its PUT; on AWS S3 it puts
# first, which the "PUT first" rows measure. Results vary with the machine: docs/performance.md holds
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
start_s3rver_tls
start_azurite

# client NAME COMMAND-TEMPLATE: one client to measure (SEG in the template
# is the segment path, NAME its file name). run_clients then archives each
# segment with every client in turn, so that whatever drifts during the
# run (the server's page cache, its disk) weighs on all of them alike, and
# prints for each the median ms per segment and the peak RSS in KiB.
declare -A mean rss template
order=()
client() { order+=("$1"); template[$1]=$2; }
run_clients() {
    local name s cmd t0 t1 kib
    declare -A times
    for s in "${segs[@]}"; do
        for name in "${order[@]}"; do
            cmd=${template[$name]//SEG/$work/segments/$s}
            cmd=${cmd//NAME/$s}
            t0=$(date +%s%N)
            /usr/bin/time -o "$work/rss" -f '%M' bash -c "exec $cmd" >/dev/null 2>"$work/err" ||
                { echo "$name failed:"; tail -n 3 "$work/err"; exit 1; }
            t1=$(date +%s%N)
            kib=$(tail -n 1 "$work/rss")
            times[$name]+=" $(((t1 - t0) / 1000))"
            [ "$kib" -gt "${rss[$name]:-0}" ] && rss[$name]=$kib
        done
    done
    for name in "${order[@]}"; do
        mean[$name]=$(python3 -c 'import statistics,sys; print(round(statistics.median(map(int, sys.argv[1:])) / 1000))' ${times[$name]})
        printf '%-38s %7s ms/segment  peak RSS %6s KiB\n' "$name" "${mean[$name]}" "${rss[$name]}"
    done
    order=()
}

echo "== archiving ${#segs[@]} segments of 16 MiB to s3rver at $endpoint (median per segment)"
client "curl PUT (raw, SigV4)" "curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -H x-amz-content-sha256:UNSIGNED-PAYLOAD -T SEG $endpoint/bench/curl/NAME"
client "bc-wal-archive" "$bin/bc-wal-archive --endpoint-url $endpoint s3://bench/bc srv SEG"
# What AWS S3 itself gets: the conditional PUT first, no LIST (s3rver does
# not honour the condition; the requests are those of AWS all the same).
client "bc-wal-archive, PUT first" "$bin/bc-wal-archive --conditional-writes yes --endpoint-url $endpoint s3://bench/bc-first srv SEG"
client "bc-wal-archive --zstd" "$bin/bc-wal-archive --zstd --endpoint-url $endpoint s3://bench/bc-zstd srv SEG"
client "bc-wal-archive --gzip" "$bin/bc-wal-archive --gzip --endpoint-url $endpoint s3://bench/bc-gzip srv SEG"
client "barman-cloud-wal-archive" "barman-cloud-wal-archive --endpoint-url $endpoint s3://bench/barman srv SEG"
client "barman-cloud-wal-archive --gzip" "barman-cloud-wal-archive --gzip --endpoint-url $endpoint s3://bench/barman-gzip srv SEG"
run_clients

echo "== archiving the same segments to s3rver over https at $endpoint_tls (median per segment)"
client "curl PUT over https (raw, SigV4)" "curl -sf --cacert $tls_ca --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -H x-amz-content-sha256:UNSIGNED-PAYLOAD -T SEG $endpoint_tls/bench/curl/NAME"
client "bc-wal-archive over https" "$bin/bc-wal-archive --ca-bundle $tls_ca --endpoint-url $endpoint_tls s3://bench/bc srv SEG"
client "bc-wal-archive over https, PUT first" "$bin/bc-wal-archive --ca-bundle $tls_ca --conditional-writes yes --endpoint-url $endpoint_tls s3://bench/bc-first srv SEG"
run_clients

echo "== archiving the same segments to Azurite at $azurite (median per segment)"
client "curl PUT to Azurite (raw, SAS)" "curl -sf -X PUT -H x-ms-blob-type:BlockBlob -T SEG '$azurite/bench/curl/NAME?$azure_sas'"
client "bc-wal-archive to Azurite" "$bin/bc-wal-archive $azurite/bench/bc srv SEG"
client "bc-wal-archive --zstd to Azurite" "$bin/bc-wal-archive --zstd $azurite/bench/bc-zstd srv SEG"
run_clients

echo "== ratios"
echo "barman-cloud-wal-archive / bc-wal-archive:        $(ratio "${mean[barman-cloud-wal-archive]}" "${mean[bc-wal-archive]}")x"
echo "barman --gzip / bc --gzip:                        $(ratio "${mean[barman-cloud-wal-archive --gzip]}" "${mean[bc-wal-archive --gzip]}")x"
echo "bc-wal-archive / raw curl PUT:                    $(ratio "${mean[bc-wal-archive]}" "${mean[curl PUT (raw, SigV4)]}")x"
echo "bc-wal-archive, PUT first / raw curl PUT:         $(ratio "${mean[bc-wal-archive, PUT first]}" "${mean[curl PUT (raw, SigV4)]}")x"
echo "https: bc-wal-archive / raw curl PUT:             $(ratio "${mean[bc-wal-archive over https]}" "${mean[curl PUT over https (raw, SigV4)]}")x"
echo "https: bc-wal-archive, PUT first / raw curl PUT:  $(ratio "${mean[bc-wal-archive over https, PUT first]}" "${mean[curl PUT over https (raw, SigV4)]}")x"
echo "peak RSS bc-wal-archive: ${rss[bc-wal-archive]} KiB; barman-cloud-wal-archive: ${rss[barman-cloud-wal-archive]} KiB"
echo "Azure: bc-wal-archive / raw curl PUT:             $(ratio "${mean[bc-wal-archive to Azurite]}" "${mean[curl PUT to Azurite (raw, SAS)]}")x"
echo "Azure: bc-wal-archive S3 / Azurite:               $(ratio "${mean[bc-wal-archive]}" "${mean[bc-wal-archive to Azurite]}")x"
echo "peak RSS bc-wal-archive to Azurite: ${rss[bc-wal-archive to Azurite]} KiB"
