#!/bin/bash
# Retention benchmark: the same synthetic archive (BACKUPS daily backups and
# WALS WAL objects, tests/helpers/fake_store.py) is written twice to one
# s3rver, then bc-retention and barman-cloud-backup-delete each apply
# "REDUNDANCY 2" to their copy. Prints wall time, peak RSS and the ratio,
# and whether each left exactly the objects the policy keeps (barman-cloud
# 3.4 reads only the first page, 1000 keys, of the WAL listing, so with
# more WAL files than that it leaves some behind).
#
#   bench/retention.sh [BACKUPS] [WALS]     (default 30 and 3000)
backups=${1:-30}
wals=${2:-3000}
. "$(dirname "$0")/common.sh"
start_s3rver

echo "== writing two copies of an archive of $backups backups and $wals WAL files"
python3 - "$backups" "$wals" >"$work/spec.json" <<'PY'
import json, sys, time
n, wals = int(sys.argv[1]), int(sys.argv[2])
now, step = int(time.time()), max(1, wals // n)
backups = [{"id": time.strftime("%Y%m%dT%H%M%S", time.gmtime(now - (n - i) * 86400)),
            "begin": 2 + i * step, "end": 3 + i * step, "end_time": now - (n - i) * 86400 + 600}
           for i in range(n)]
print(json.dumps({"backups": backups, "wals": [{"tli": 1, "from": 1, "to": wals}]}))
PY
for copy in bc barman; do
    S3_ENDPOINT=$endpoint python3 "$top/tests/helpers/fake_store.py" "s3:bench/$copy" srv <"$work/spec.json"
done

echo "== REDUNDANCY 2 on s3rver at $endpoint"
timed "bc-retention" "$bin/bc-retention --endpoint-url $endpoint -r 'REDUNDANCY 2' s3://bench/bc srv"
timed "barman-cloud-backup-delete" "barman-cloud-backup-delete --endpoint-url $endpoint -r 'REDUNDANCY 2' s3://bench/barman srv"

left() { S3_ENDPOINT=$endpoint python3 -c "
import boto3, os, sys
s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'])
for page in s3.get_paginator('list_objects_v2').paginate(Bucket='bench', Prefix='$1/'):
    for o in page.get('Contents', []):
        print(o['Key'].split('/', 1)[1])"; }
# What REDUNDANCY 2 must leave: the two newest backups and the WAL from the
# older one's begin WAL on.
python3 - "$work/spec.json" >"$work/expected" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
seg = lambda n: "%08X%08X%08X" % (1, n // 256, n % 256)
kept = spec["backups"][-2:]
bound = seg(kept[0]["begin"])
for b in kept:
    print("srv/base/%s/backup.info" % b["id"]); print("srv/base/%s/data.tar" % b["id"])
names = [seg(n) for n in range(1, spec["wals"][0]["to"] + 1)]
names += ["%s.00000028.backup" % seg(b["begin"]) for b in spec["backups"]]
for name in names:
    if name >= bound:
        print("srv/wals/%s/%s" % (name[:16], name))
PY
for copy in bc barman; do
    if diff <(left $copy | sort) <(sort "$work/expected") >/dev/null; then
        echo "$copy: left exactly the expected $(wc -l <"$work/expected") objects"
    else
        echo "$copy: left $(left $copy | wc -l) objects, expected $(wc -l <"$work/expected")"
    fi
done
echo "== ratios"
echo "barman-cloud-backup-delete / bc-retention:   $(ratio "${secs[barman-cloud-backup-delete]}" "${secs[bc-retention]}")x"
echo "peak RSS bc-retention: ${rss[bc-retention]} KiB; barman-cloud-backup-delete: ${rss[barman-cloud-backup-delete]} KiB"
