#!/usr/bin/python3
"""Test fixture builder, not a server: writes a synthetic barman-cloud
archive (backup.info files in the field set barman-cloud 3.4 writes, small
stand-in tar objects, WAL objects, keep annotations) so retention can be
tested on backups whose end times lie days or months in the past without
waiting for them. Nothing here is read back by the tools as real data: the
tar and WAL objects are placeholders, which retention never opens.

usage: fake_store.py DEST SERVER < spec.json
  DEST: dir:/path/to/store/root, or s3:BUCKET/PREFIX (boto3, S3_ENDPOINT)
  spec: {"backups": [{"id", "status", "tli", "begin", "end", "end_time",
                      "keep", "name"}],
         "wals": [{"tli", "from", "to"}], "history": [2, ...],
         "extra": ["relative/key", ...]}
  begin/end are segment numbers counted from the timeline's start (16 MiB
  segments); end_time is seconds since the epoch.
"""
import datetime
import json
import os
import sys

FIELDS = ["backup_label", "begin_offset", "begin_time", "begin_wal", "begin_xlog",
          "compression", "config_file", "copy_stats", "deduplicated_size", "end_offset",
          "end_time", "end_wal", "end_xlog", "error", "hba_file", "ident_file",
          "included_files", "mode", "pgdata", "server_name", "size", "status", "systemid",
          "tablespaces", "timeline", "version", "xlog_segment_size"]


def seg(tli, n):
    """The n-th 16 MiB segment of a timeline (256 per log file)."""
    return "%08X%08X%08X" % (tli, n // 256, n % 256)


def stamp(epoch):
    t = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return t.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


def backup_info(server, b):
    v = dict.fromkeys(FIELDS, "None")
    tli = b.get("tli", 1)
    v.update(server_name=server, status=b.get("status", "DONE"), version="150006",
             xlog_segment_size="16777216", systemid="7343040263428431262",
             pgdata="/var/lib/postgresql/15/main", timeline=str(tli),
             begin_time=stamp(b["end_time"] - 60), begin_wal=seg(tli, b["begin"]),
             begin_xlog="%X/%X" % (b["begin"] >> 8, (b["begin"] & 255) << 24 | 0x28),
             begin_offset="40")
    if b.get("end_time") is not None and v["status"] != "FAILED":
        v.update(end_time=stamp(b["end_time"]), end_wal=seg(tli, b["end"]),
                 end_xlog="%X/%X" % (b["end"] >> 8, (b["end"] & 255) << 24 | 0x138),
                 end_offset="312")
    if v["status"] == "FAILED":
        v.update(error="failure uploading data")
    text = "".join("%s=%s\n" % (k, v[k]) for k in FIELDS)
    if b.get("name"):
        text = "backup_name=%s\n" % b["name"] + text
    return text


def objects(server, spec):
    for b in spec.get("backups", []):
        base = "%s/base/%s/" % (server, b["id"])
        yield base + "data.tar", b"stand-in archive of %s\n" % b["id"].encode()
        yield base + "backup.info", backup_info(server, b).encode()
        if b.get("keep"):
            yield base + "annotations/keep", b["keep"].encode()
        tli = b.get("tli", 1)
        label = "%s.00000028.backup" % seg(tli, b["begin"])
        yield "%s/wals/%s/%s" % (server, label[:16], label), b"START WAL LOCATION\n"
    for r in spec.get("wals", []):
        for n in range(r["from"], r["to"] + 1):
            name = seg(r["tli"], n)
            yield "%s/wals/%s/%s" % (server, name[:16], name), b"stand-in WAL\n"
    for tli in spec.get("history", []):
        yield "%s/wals/%08X.history" % (server, tli), b"1\t0/9000000\tno recovery target\n"
    for key in spec.get("extra", []):
        yield "%s/%s" % (server, key), b"unknown\n"


def main():
    dest, server = sys.argv[1], sys.argv[2]
    spec = json.load(sys.stdin)
    if dest.startswith("dir:"):
        root = dest[4:]
        for key, data in objects(server, spec):
            path = os.path.join(root, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
    else:
        import boto3
        bucket, _, prefix = dest[3:].partition("/")
        from concurrent.futures import ThreadPoolExecutor
        s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"])
        base = prefix + "/" if prefix else ""
        with ThreadPoolExecutor(8) as pool:
            done = pool.map(lambda kv: s3.put_object(Bucket=bucket, Key=base + kv[0], Body=kv[1]),
                            objects(server, spec))
            for _ in done:
                pass


main()
