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
scale=${1:-40}
. "$(dirname "$0")/common.sh"
trap 'bench_cleanup; rm -f /dev/shm/bc-bench-raw.tar' EXIT

start_pg
"$pgbin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s "$scale" -q postgres >/dev/null 2>&1
"$pgbin/psql" -h 127.0.0.1 -p "$port" -U postgres -XAtqc checkpoint
echo "== cluster: $(du -sh --exclude=pg_wal "$work/pg" | cut -f1) in PGDATA without pg_wal (pgbench scale $scale)"

start_s3rver
pgconn="-h 127.0.0.1 -p $port -U postgres"

echo "== backups to s3rver at $endpoint"
timed "raw: tar + curl PUT" "tar -cf /dev/shm/bc-bench-raw.tar --exclude=./pg_wal/* -C $work/pg . && curl -sf --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER -H x-amz-content-sha256:UNSIGNED-PAYLOAD -T /dev/shm/bc-bench-raw.tar $endpoint/bench/raw/data.tar"
timed "bc-backup" "$bin/bc-backup --immediate-checkpoint -J 2 --endpoint-url $endpoint $pgconn s3://bench/bc plain"
timed "bc-backup --gzip" "$bin/bc-backup --immediate-checkpoint -J 2 --gzip --endpoint-url $endpoint $pgconn s3://bench/bc gzip"
timed "bc-backup --zstd" "$bin/bc-backup --immediate-checkpoint -J 2 --zstd --endpoint-url $endpoint $pgconn s3://bench/bc zstd"
timed "barman-cloud-backup" "barman-cloud-backup --immediate-checkpoint -J 2 --endpoint-url $endpoint $pgconn s3://bench/barman plain"
timed "barman-cloud-backup --gzip" "barman-cloud-backup --immediate-checkpoint -J 2 --gzip --endpoint-url $endpoint $pgconn s3://bench/barman gzip"

echo "== restores"
timed "bc-restore" "$bin/bc-restore -J 2 --endpoint-url $endpoint s3://bench/bc plain latest $work/r-bc"
timed "barman-cloud-restore" "id=\$(barman-cloud-backup-list --endpoint-url $endpoint --format json s3://bench/barman plain | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"backups_list\"][-1][\"backup_id\"])') && barman-cloud-restore --endpoint-url $endpoint s3://bench/barman plain \$id $work/r-barman"

echo "== ratios"
echo "bc-backup / raw:                          $(ratio "${secs[bc-backup]}" "${secs[raw: tar + curl PUT]}")x  (target <= 1.3)"
echo "barman-cloud-backup -z / bc-backup -z:    $(ratio "${secs[barman-cloud-backup --gzip]}" "${secs[bc-backup --gzip]}")x  (target >= 3)"
echo "bc-backup --zstd / raw:                   $(ratio "${secs[bc-backup --zstd]}" "${secs[raw: tar + curl PUT]}")x  (target <= 1.5)"
echo "barman-cloud-restore / bc-restore:        $(ratio "${secs[barman-cloud-restore]}" "${secs[bc-restore]}")x  (target >= 2)"
