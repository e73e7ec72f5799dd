#!/usr/bin/env bats
# WAL integrity on every store: bc-wal-archive stores the CRC-32C and size of
# the uncompressed WAL as object metadata (read back here with independent
# clients: os.getxattr, boto3, the Azure SDK, the GCS stand-in's JSON), and
# bc-wal-restore refuses (exit 4, nothing at the destination) an object
# whose bytes differ from it, or, without metadata, a segment of impossible
# size. A stored strict prefix of the file is replaced with a warning;
# different content is still refused.

load helpers

STORES="file s3 azure gcs"
SEG=000000010000000000000001

setup_file() {
    start_s3rver
    start_azurite
    export G=$(scratch_dir) FS=$(scratch_dir)
    export GCS_PORT=$(free_port)
    mkdir "$G/data"
    /usr/bin/python3 "$BC_TOP/tests/helpers/gcs_standin.py" --port "$GCS_PORT" --dir "$G/data" \
        --bucket test --no-auth >"$G/standin.log" 2>&1 &
    echo $! >"$G/standin.pid"
    export STORAGE_EMULATOR_HOST="http://127.0.0.1:$GCS_PORT"
    wait_for 30 port_open "$GCS_PORT"
    make_segment "$FS/seg" 1
}

teardown_file() {
    kill "$(cat "$G/standin.pid")" 2>/dev/null
    stop_azurite
    stop_s3rver
}

teardown() {
    if [ -n "${RAMFS:-}" ]; then umount "$RAMFS" 2>/dev/null || true; fi
}

setup() {
    T=$(scratch_dir)
    P="w$BATS_TEST_NUMBER"
    cp "$FS/seg" "$T/$SEG"
}

# url KIND PREFIX: the store URL; its object keys all start with PREFIX/.
url() {
    case $1 in
    file) mkdir -p "$FS/$2" && echo "file://$FS/$2" ;;
    s3) echo "s3://test/$2" ;;
    azure) echo "$AZURITE/test/$2" ;;
    gcs) echo "gs://test/$2" ;;
    esac
}
# bcw KIND TOOL ARGS...: a bc tool on the store of KIND (prefix $P).
bcw() {
    local kind=$1 tool=$2
    shift 2
    local ep=()
    [ "$kind" = s3 ] && ep=(--endpoint-url "$S3_ENDPOINT")
    "$tool" "${ep[@]}" "$@"
}
wal_key() { echo "$P/srv/wals/0000000100000000/$SEG$1"; } # [SUFFIX]

# meta KIND KEY: the object's metadata, "name=value" lines, sorted.
meta() {
    case $1 in
    file) python3 -c 'import os, sys
for a in sorted(os.listxattr(sys.argv[1])):
    print(a[len("user."):] + "=" + os.getxattr(sys.argv[1], a).decode())' "$FS/$2" ;;
    s3) python3 -c 'import boto3, os, sys
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"])
for k, v in sorted(s3.head_object(Bucket="test", Key=sys.argv[1])["Metadata"].items()):
    print(k + "=" + v)' "$2" ;;
    azure) az_sdk 'const p = await container.getBlobClient(args[0]).getProperties();
for (const k of Object.keys(p.metadata).sort()) console.log(k + "=" + p.metadata[k]);' "$2" ;;
    gcs) python3 -c 'import json, sys, urllib.parse, urllib.request
u = sys.argv[1] + "/storage/v1/b/test/o/" + urllib.parse.quote(sys.argv[2], safe="")
for k, v in sorted(json.load(urllib.request.urlopen(u)).get("metadata", {}).items()):
    print(k + "=" + v)' "$STORAGE_EMULATOR_HOST" "$2" ;;
    esac
}

# raw_get KIND KEY FILE: the stored bytes, as they are.
raw_get() {
    case $1 in
    file) cp "$FS/$2" "$3" ;;
    s3) s3_get "$2" "$3" ;;
    azure) az_sdk 'await container.getBlobClient(args[0]).downloadToFile(args[1]);' "$2" "$3" ;;
    gcs) cp "$G/data/test/$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$2")" "$3" ;;
    esac
}

# raw_put KIND KEY FILE keep|drop: stores FILE's bytes under KEY, keeping the
# object's metadata (damage at rest) or without any (as barman-cloud writes).
raw_put() {
    local kind=$1 key=$2 file=$3 mode=$4
    case $kind in
    file)
        mkdir -p "$(dirname "$FS/$key")"
        if [ "$mode" = keep ]; then
            # in place: the inode and its extended attributes stay
            dd if="$file" of="$FS/$key" conv=notrunc status=none
            truncate -s "$(stat -c %s "$file")" "$FS/$key"
        else
            rm -f "$FS/$key"
            cp "$file" "$FS/$key"
        fi ;;
    s3) python3 -c 'import boto3, os, sys
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"])
meta = s3.head_object(Bucket="test", Key=sys.argv[1])["Metadata"] if sys.argv[3] == "keep" else {}
s3.put_object(Bucket="test", Key=sys.argv[1], Body=open(sys.argv[2], "rb").read(), Metadata=meta)' \
        "$key" "$file" "$mode" ;;
    azure) az_sdk 'const b = container.getBlockBlobClient(args[0]);
const metadata = args[2] === "keep" ? (await b.getProperties()).metadata : {};
await b.uploadFile(args[1], { metadata });' "$key" "$file" "$mode" ;;
    gcs)
        if [ "$mode" = keep ]; then
            cp "$file" "$G/data/test/$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$key")"
        else
            # a simple upload: the stand-in keeps no metadata for it
            curl -sf -o /dev/null --data-binary "@$file" -H 'Content-Type: application/octet-stream' \
                "$STORAGE_EMULATOR_HOST/upload/storage/v1/b/test/o?uploadType=media&name=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$key")"
        fi ;;
    esac
}

# crc32c FILE: its CRC-32C as 8 hex digits, by crcmod (independent of bc).
crc32c() { python3 -c 'import crcmod.predefined, sys
print("%08x" % crcmod.predefined.mkCrcFun("crc-32c")(open(sys.argv[1], "rb").read()))' "$1"; }

# flip FILE OFFSET: changes one byte.
flip() { python3 -c 'import sys
p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[o] ^= 0x55; open(p, "wb").write(b)' "$1" "$2"; }

# refused_restore KIND WHAT: bc-wal-restore exits 4 naming the object and
# WHAT, and leaves nothing in $T/dest.
refused_restore() {
    mkdir -p "$T/dest"
    run bcw "$1" bc-wal-restore "$(url "$1" "$P")" srv "$SEG" "$T/dest/$SEG"
    [ "$status" -eq 4 ]
    [[ "$output" == *"$SEG"* ]]
    [[ "$output" == *"$2"* ]]
    [ "$(echo "$output" | wc -l)" -eq 1 ]
    [ -z "$(ls -A "$T/dest")" ]
}

@test "the CRC-32C and size of the uncompressed WAL are stored as metadata on every store" {
    sum=$(crc32c "$T/$SEG")
    [ ${#sum} -eq 8 ]
    for kind in $STORES; do
        for codec in "" --zstd; do
            P="w1$kind${codec#--}"
            run bcw "$kind" bc-wal-archive $codec "$(url "$kind" "$P")" srv "$T/$SEG"
            [ "$status" -eq 0 ]
            run meta "$kind" "$(wal_key ${codec:+.zst})"
            [ "$status" -eq 0 ]
            [ "$output" = "$(printf 'bccrc32c=%s\nbcsize=16777216' "$sum")" ]
            run bcw "$kind" bc-wal-restore "$(url "$kind" "$P")" srv "$SEG" "$T/back"
            [ "$status" -eq 0 ]
            cmp "$T/back" "$T/$SEG"
        done
    done
}

@test "a flipped byte in a plain stored WAL: exit 4, nothing at the destination" {
    for kind in $STORES; do
        P="w2$kind"
        bcw "$kind" bc-wal-archive "$(url "$kind" "$P")" srv "$T/$SEG"
        raw_get "$kind" "$(wal_key)" "$T/obj"
        flip "$T/obj" 5000000
        raw_put "$kind" "$(wal_key)" "$T/obj" keep
        [ -n "$(meta "$kind" "$(wal_key)")" ]
        refused_restore "$kind" "CRC-32C of the decoded bytes"
    done
}

@test "a compressed WAL re-encoded with other content passes its codec but not the checksum" {
    for kind in $STORES; do
        for codec in gz zst; do
            P="w3$kind$codec"
            flag=$([ $codec = gz ] && echo --gzip || echo --zstd)
            bcw "$kind" bc-wal-archive $flag "$(url "$kind" "$P")" srv "$T/$SEG"
            raw_get "$kind" "$(wal_key .$codec)" "$T/obj.$codec"
            if [ $codec = gz ]; then gzip -dc "$T/obj.$codec" >"$T/plain"; else zstd -qdc "$T/obj.$codec" >"$T/plain"; fi
            flip "$T/plain" 123456
            if [ $codec = gz ]; then gzip -c "$T/plain" >"$T/obj.$codec"; else zstd -qc "$T/plain" >"$T/obj.$codec"; fi
            raw_put "$kind" "$(wal_key .$codec)" "$T/obj.$codec" keep
            refused_restore "$kind" "CRC-32C of the decoded bytes"
            rm -f "$T/plain"
        done
    done
}

@test "without metadata (barman's objects) a truncated or extended segment is refused by its size" {
    head -c 16000000 "$T/$SEG" >"$T/short"
    { cat "$T/$SEG"; head -c 100 "$T/$SEG"; } >"$T/long"
    for kind in $STORES; do
        for body in short long; do
            P="w4$kind$body"
            raw_put "$kind" "$(wal_key)" "$T/$body" drop
            [ -z "$(meta "$kind" "$(wal_key)")" ]
            refused_restore "$kind" "not a WAL segment size"
        done
        # the whole segment without metadata restores
        P="w4$kind"
        raw_put "$kind" "$(wal_key)" "$T/$SEG" drop
        run bcw "$kind" bc-wal-restore "$(url "$kind" "$P")" srv "$SEG" "$T/whole"
        [ "$status" -eq 0 ]
        cmp "$T/whole" "$T/$SEG"
    done
}

@test "a stored strict prefix is an interrupted upload: replaced, with a warning naming it" {
    head -c 5000000 "$T/$SEG" >"$T/half"
    zstd -qc "$T/$SEG" | head -c 100000 >"$T/half.zst"
    sum=$(crc32c "$T/$SEG")
    for kind in $STORES; do
        # a plain leftover, archived again plain: replaced in place
        P="w5$kind"
        raw_put "$kind" "$(wal_key)" "$T/half" drop
        run bcw "$kind" bc-wal-archive "$(url "$kind" "$P")" srv "$T/$SEG"
        [ "$status" -eq 0 ]
        [[ "$output" == *"warning"*"$(wal_key)"*"interrupted upload"* ]]
        raw_get "$kind" "$(wal_key)" "$T/got"
        cmp "$T/got" "$T/$SEG"
        [[ "$(meta "$kind" "$(wal_key)")" == "bccrc32c=$sum"* ]]
        # a cut zstd stream, archived again with gzip, looking first: the
        # new object replaces it and the leftover is gone
        P="w5${kind}z"
        raw_put "$kind" "$(wal_key .zst)" "$T/half.zst" drop
        run bcw "$kind" bc-wal-archive --conditional-writes no --gzip "$(url "$kind" "$P")" srv "$T/$SEG"
        [ "$status" -eq 0 ]
        [[ "$output" == *"$(wal_key .zst)"*"interrupted upload"* ]]
        run bcw "$kind" bc-ls wals "$(url "$kind" "$P")" srv
        [[ "$output" != *".zst"* ]]
        ! raw_get "$kind" "$(wal_key .zst)" "$T/gone" 2>/dev/null || false
        raw_get "$kind" "$(wal_key .gz)" "$T/got.gz"
        gzip -dc "$T/got.gz" | cmp - "$T/$SEG"
        # uploading first does not see it: the restore leaves it aside,
        # naming it, and restores the whole copy
        P="w5${kind}y"
        raw_put "$kind" "$(wal_key .bz2)" "$T/half.zst" drop
        run bcw "$kind" bc-wal-archive --conditional-writes yes --gzip "$(url "$kind" "$P")" srv "$T/$SEG"
        [ "$status" -eq 0 ]
        run bcw "$kind" bc-wal-restore "$(url "$kind" "$P")" srv "$SEG" "$T/back-$kind"
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"warning"*"fails its checks and is left aside"*"$(wal_key .bz2)"* ]]
        cmp "$T/back-$kind" "$T/$SEG"
    done
}

@test "different content that is not a strict prefix is still refused (exit 1) and left untouched" {
    make_segment "$T/other" 2
    head -c 5000000 "$T/$SEG" >"$T/start"
    for kind in $STORES; do
        P="w6$kind"
        bcw "$kind" bc-wal-archive "$(url "$kind" "$P")" srv "$T/$SEG"
        raw_get "$kind" "$(wal_key)" "$T/before"
        mkdir -p "$T/o" "$T/s"
        cp "$T/other" "$T/o/$SEG"
        cp "$T/start" "$T/s/$SEG"
        # another cluster's segment, and a file the stored one extends
        for f in "$T/o/$SEG" "$T/s/$SEG"; do
            run bcw "$kind" bc-wal-archive "$(url "$kind" "$P")" srv "$f"
            [ "$status" -eq 1 ]
            [[ "$output" == *"different content; refusing to overwrite"* ]]
        done
        raw_get "$kind" "$(wal_key)" "$T/after"
        cmp "$T/before" "$T/after"
    done
}

@test "prefetch checks a segment before it goes into the spool" {
    P=w7
    mkdir "$T/spool"
    for i in 1 2 3; do
        make_segment "$T/00000001000000000000000$i" "$i"
        bc-wal-archive "$(url file "$P")" srv "$T/00000001000000000000000$i"
    done
    SEG=000000010000000000000002
    raw_get file "$(wal_key)" "$T/obj"
    flip "$T/obj" 77
    raw_put file "$(wal_key)" "$T/obj" keep
    run bc-wal-restore --prefetch 3 --spool-dir "$T/spool" "$(url file "$P")" srv \
        000000010000000000000001 "$T/r1"
    [ "$status" -eq 0 ]
    [[ "$output" == *"prefetching $SEG failed"*"CRC-32C"* ]]
    [ -f "$T/spool/000000010000000000000003" ]
    [ ! -e "$T/spool/$SEG" ]
    [ -z "$(ls -A "$T/spool" | grep tmp || true)" ]
    refused_restore file "CRC-32C"
}

@test "a body other than the listed size is refused before it reaches the destination" {
    mkdir -p "$T/store/p" "$T/dest"
    bc-wal-archive "file://$T/store/p" srv "$T/$SEG"
    for delta in 5 -5; do
        # tests/helpers/bad_s3.py lists the object with its size + delta
        port=$(free_port)
        /usr/bin/python3 "$BC_TOP/tests/helpers/bad_s3.py" --port "$port" --dir "$T/store" \
            --mode size-mismatch --size-delta "$delta" >"$T/peer.log" 2>&1 &
        peer=$!
        wait_for 10 port_open "$port"
        run timeout 30 env AWS_ACCESS_KEY_ID=X AWS_SECRET_ACCESS_KEY=Y bc-wal-restore \
            --endpoint-url "http://127.0.0.1:$port" s3://test/p srv "$SEG" "$T/dest/$SEG"
        kill "$peer"
        [ "$status" -eq 4 ]
        [[ "$output" == *"p/srv/wals/0000000100000000/$SEG: the GET reports 16777216 bytes, the listing $((16777216 + delta))"* ]]
        [ -z "$(ls -A "$T/dest")" ]
    done
}

@test "file:// on a file system without user xattrs: stored without metadata, with a warning" {
    # ramfs has no user extended attributes (tmpfs and ext4 here do)
    mkdir "$T/ramfs"
    mount -t ramfs ramfs "$T/ramfs" 2>/dev/null || skip "cannot mount a ramfs here"
    RAMFS="$T/ramfs"
    run bc-wal-archive --zstd "file://$RAMFS" srv "$T/$SEG"
    [ "$status" -eq 0 ]
    [[ "$output" == *"warning"*"no user extended attributes"*"without their metadata"* ]]
    [ -f "$RAMFS/srv/wals/0000000100000000/$SEG.zst" ]
    # restored with what can be checked without a checksum: its size
    run bc-wal-restore "file://$RAMFS" srv "$SEG" "$T/back"
    [ "$status" -eq 0 ]
    cmp "$T/back" "$T/$SEG"
    zstd -qdc "$RAMFS/srv/wals/0000000100000000/$SEG.zst" | head -c 1000000 | zstd -qc \
        >"$RAMFS/srv/wals/0000000100000000/$SEG.zst.new"
    mv "$RAMFS/srv/wals/0000000100000000/$SEG.zst.new" "$RAMFS/srv/wals/0000000100000000/$SEG.zst"
    run bc-wal-restore "file://$RAMFS" srv "$SEG" "$T/short"
    [ "$status" -eq 4 ]
    [[ "$output" == *"not a WAL segment size"* ]]
    [ ! -e "$T/short" ]
}
