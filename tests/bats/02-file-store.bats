#!/usr/bin/env bats
# The file:// store: layout, every codec, overwrite protection, spools.

load helpers

setup() {
    T=$(scratch_dir)
    mkdir "$T/store"
    STORE="file://$T/store/prefix"
    mkdir "$T/store/prefix"
    make_segment "$T/000000010000000000000001" 1
}

@test "plain segment lands at barman's path and restores byte-identically" {
    run bc-wal-archive "$STORE" srv "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
    obj="$T/store/prefix/srv/wals/0000000100000000/000000010000000000000001"
    cmp "$obj" "$T/000000010000000000000001"
    run bc-wal-restore "$STORE" srv 000000010000000000000001 "$T/restored"
    [ "$status" -eq 0 ]
    cmp "$T/restored" "$T/000000010000000000000001"
    # no temporary files left behind anywhere
    [ -z "$(find "$T/store" -name '*tmp*')" ]
}

@test "every codec round-trips and writes a stream the usual tool decodes" {
    declare -A flag=([gz]=-z [bz2]=-j [xz]=--xz [lz4]=--lz4 [zst]=--zstd [snappy]=--snappy)
    declare -A tool=([gz]="gzip -dc" [bz2]="bzip2 -dc" [xz]="xz -dc" [lz4]="lz4 -dc"
                     [zst]="zstd -dcq" [snappy]="python3 -m snappy -d")
    seg=1
    for ext in gz bz2 xz lz4 zst snappy; do
        seg=$((seg + 1))
        name=$(printf '0000000100000000000000%02X' "$seg")
        make_segment "$T/$name" "$seg"
        run bc-wal-archive ${flag[$ext]} "$STORE" srv "$T/$name"
        [ "$status" -eq 0 ]
        obj="$T/store/prefix/srv/wals/0000000100000000/$name.$ext"
        [ -f "$obj" ]
        [ "$(stat -c %s "$obj")" -lt $((16 * 1024 * 1024)) ]
        if [ "$ext" = snappy ]; then
            python3 -m snappy -d "$obj" "$T/decoded.$ext"
        else
            ${tool[$ext]} "$obj" >"$T/decoded.$ext"
        fi
        cmp "$T/decoded.$ext" "$T/$name"
        run bc-wal-restore "$STORE" srv "$name" "$T/restored.$ext"
        [ "$status" -eq 0 ]
        cmp "$T/restored.$ext" "$T/$name"
    done
}

@test "history files live directly under wals/" {
    printf '1\t0/3000000\tbefore 2026-01-01\n' >"$T/00000002.history"
    run bc-wal-archive -z "$STORE" srv "$T/00000002.history"
    [ "$status" -eq 0 ]
    [ -f "$T/store/prefix/srv/wals/00000002.history.gz" ]
    run bc-wal-restore "$STORE" srv 00000002.history "$T/h"
    [ "$status" -eq 0 ]
    cmp "$T/h" "$T/00000002.history"
}

@test "archiving the same segment twice with identical content succeeds" {
    bc-wal-archive -z "$STORE" srv "$T/000000010000000000000001"
    before=$(stat -c %Y.%s "$T/store/prefix/srv/wals/0000000100000000/000000010000000000000001.gz")
    # even with another compression: the content is what counts
    run bc-wal-archive --zstd "$STORE" srv "$T/000000010000000000000001"
    [ "$status" -eq 0 ]
    [ ! -e "$T/store/prefix/srv/wals/0000000100000000/000000010000000000000001.zst" ]
    [ "$(stat -c %Y.%s "$T/store/prefix/srv/wals/0000000100000000/000000010000000000000001.gz")" = "$before" ]
}

@test "a different segment under the same name is refused and the stored one kept" {
    bc-wal-archive "$STORE" srv "$T/000000010000000000000001"
    obj="$T/store/prefix/srv/wals/0000000100000000/000000010000000000000001"
    sum=$(sha256sum <"$obj")
    mkdir "$T/other"
    make_segment "$T/other/000000010000000000000001" 99
    for flags in "" "-z"; do
        run bc-wal-archive $flags "$STORE" srv "$T/other/000000010000000000000001"
        [ "$status" -eq 1 ]
        [[ "$output" == *"already exists with different content; refusing to overwrite"* ]]
    done
    [ "$(sha256sum <"$obj")" = "$sum" ]
    [ ! -e "$obj.gz" ]
    # a truncated copy of the original is different content too
    head -c 1000 "$T/000000010000000000000001" >"$T/other/000000010000000000000001"
    run bc-wal-archive "$STORE" srv "$T/other/000000010000000000000001"
    [ "$status" -eq 1 ]
}

@test "restore of a missing segment exits 1 and writes nothing" {
    run bc-wal-restore "$STORE" srv 0000000100000000000000AA "$T/out"
    [ "$status" -eq 1 ]
    [ ! -e "$T/out" ]
    [ -z "$(ls "$T" | grep tmp || true)" ]
}

@test "a .partial segment is restored when the full one is absent, unless --no-partial" {
    cp "$T/000000010000000000000001" "$T/000000010000000000000007.partial"
    bc-wal-archive -z "$STORE" srv "$T/000000010000000000000007.partial"
    [ -f "$T/store/prefix/srv/wals/0000000100000000/000000010000000000000007.partial.gz" ]
    run bc-wal-restore "$STORE" srv 000000010000000000000007 "$T/out"
    [ "$status" -eq 0 ]
    cmp "$T/out" "$T/000000010000000000000001"
    run bc-wal-restore --no-partial "$STORE" srv 000000010000000000000007 "$T/out2"
    [ "$status" -eq 1 ]
}

@test "parallel archiving uploads ready files ahead and answers later calls from the spool" {
    mkdir -p "$T/pg_wal/archive_status" "$T/spool"
    for i in 1 2 3 4 5; do
        make_segment "$T/pg_wal/00000001000000000000000$i" "$i"
        touch "$T/pg_wal/archive_status/00000001000000000000000$i.ready"
    done
    run bc-wal-archive --max-parallel 3 --spool-dir "$T/spool" "$STORE" srv \
        "$T/pg_wal/000000010000000000000001"
    [ "$status" -eq 0 ]
    ls "$T/store/prefix/srv/wals/0000000100000000/" >"$T/listing"
    [ "$(wc -l <"$T/listing")" -eq 3 ]
    [ -f "$T/spool/000000010000000000000002" ]
    [ -f "$T/spool/000000010000000000000003" ]
    # PostgreSQL's status files are untouched
    [ "$(ls "$T/pg_wal/archive_status" | grep -c ready)" -eq 5 ]
    # the later call for a spooled segment is answered from the marker
    rm "$T/store/prefix/srv/wals/0000000100000000/000000010000000000000002"
    run bc-wal-archive -v --max-parallel 3 --spool-dir "$T/spool" "$STORE" srv \
        "$T/pg_wal/000000010000000000000002"
    [ "$status" -eq 0 ]
    [[ "$output" == *"already archived ahead"* ]]
    [ ! -f "$T/spool/000000010000000000000002" ]
    # a marker written for another destination is not trusted
    mkdir "$T/store2"
    run bc-wal-archive --max-parallel 3 --spool-dir "$T/spool" "file://$T/store2" srv \
        "$T/pg_wal/000000010000000000000003"
    [ "$status" -eq 0 ]
    [ -f "$T/store2/srv/wals/0000000100000000/000000010000000000000003" ]
}

@test "prefetch fills the spool and serves the next segments from it" {
    for i in 1 2 3 4 5 6; do
        make_segment "$T/seg$i" "$i"
        cp "$T/seg$i" "$T/00000001000000000000000$i"
        bc-wal-archive --lz4 "$STORE" srv "$T/00000001000000000000000$i"
    done
    run bc-wal-restore --prefetch 4 --spool-dir "$T/spool" "$STORE" srv \
        000000010000000000000002 "$T/out2"
    [ "$status" -eq 0 ]
    cmp "$T/out2" "$T/seg2"
    [ -f "$T/spool/000000010000000000000003" ]
    [ -f "$T/spool/000000010000000000000005" ]
    [ ! -f "$T/spool/000000010000000000000006" ]
    # served from the spool even after the object disappears from the store
    rm "$T/store/prefix/srv/wals/0000000100000000/000000010000000000000003.lz4"
    run bc-wal-restore -v --prefetch 4 --spool-dir "$T/spool" "$STORE" srv \
        000000010000000000000003 "$T/out3"
    [ "$status" -eq 0 ]
    [[ "$output" == *"from the prefetch spool"* ]]
    cmp "$T/out3" "$T/seg3"
    # another source empties the spool instead of serving stale files
    mkdir "$T/other"
    run bc-wal-restore --prefetch 4 --spool-dir "$T/spool" "file://$T/other" srv \
        000000010000000000000004 "$T/out4"
    [ "$status" -eq 1 ]
    [ ! -f "$T/spool/000000010000000000000004" ]
    [ ! -f "$T/spool/000000010000000000000005" ]
}

@test "end-of-WAL flag: a prefetch that reaches the end of the archive answers the next miss at once" {
    for i in 1 2 3; do
        make_segment "$T/seg$i" "$i"
        cp "$T/seg$i" "$T/00000001000000000000000$i"
        bc-wal-archive "$STORE" srv "$T/00000001000000000000000$i"
    done
    # without the option, no flag
    run bc-wal-restore --prefetch 4 --spool-dir "$T/plain" "$STORE" srv 000000010000000000000001 "$T/out"
    [ "$status" -eq 0 ]
    [ ! -e "$T/plain/end-of-wal-stream" ]
    # 3 more wanted after segment 1, 2 found: the archive ends within reach
    run bc-wal-restore -v --end-of-wal-flag --prefetch 4 --spool-dir "$T/spool" "$STORE" srv \
        000000010000000000000001 "$T/out1"
    [ "$status" -eq 0 ]
    [ -e "$T/spool/end-of-wal-stream" ]
    # what the spool holds is still served, the flag stays
    run bc-wal-restore --end-of-wal-flag --prefetch 4 --spool-dir "$T/spool" "$STORE" srv \
        000000010000000000000003 "$T/out3"
    [ "$status" -eq 0 ]
    cmp "$T/out3" "$T/seg3"
    [ -e "$T/spool/end-of-wal-stream" ]
    # the next miss is "not found" without asking the store: segment 4 is
    # archived now, and still not found this once
    make_segment "$T/seg4" 4
    cp "$T/seg4" "$T/000000010000000000000004"
    bc-wal-archive "$STORE" srv "$T/000000010000000000000004"
    run bc-wal-restore -v --end-of-wal-flag --prefetch 4 --spool-dir "$T/spool" "$STORE" srv \
        000000010000000000000004 "$T/out4"
    [ "$status" -eq 1 ]
    [[ "$output" == *"end of the archive (end-of-WAL-stream flag, now reset)"* ]]
    [ ! -e "$T/out4" ]
    [ ! -e "$T/spool/end-of-wal-stream" ]
    # the attempt after that asks the store again
    run bc-wal-restore --end-of-wal-flag --prefetch 4 --spool-dir "$T/spool" "$STORE" srv \
        000000010000000000000004 "$T/out4"
    [ "$status" -eq 0 ]
    cmp "$T/out4" "$T/seg4"
    # nothing follows segment 4 yet: the flag is set again
    [ -e "$T/spool/end-of-wal-stream" ]
    rm "$T/spool/end-of-wal-stream"
    # a prefetch that could not fetch what it listed does not set the flag
    make_segment "$T/seg5" 5
    make_segment "$T/seg6" 6
    cp "$T/seg5" "$T/000000010000000000000005"
    cp "$T/seg6" "$T/000000010000000000000006"
    bc-wal-archive "$STORE" srv "$T/000000010000000000000005"
    bc-wal-archive --lz4 "$STORE" srv "$T/000000010000000000000006"
    truncate -s 100 "$T/store/prefix/srv/wals/0000000100000000/000000010000000000000006.lz4"
    run bc-wal-restore --end-of-wal-flag --prefetch 4 --spool-dir "$T/spool" "$STORE" srv \
        000000010000000000000005 "$T/out5"
    [ "$status" -eq 0 ]
    cmp "$T/out5" "$T/seg5"
    [[ "$output" == *"prefetching 000000010000000000000006 failed"* ]]
    [ ! -e "$T/spool/end-of-wal-stream" ]
}

# closed_reader CMD...: runs CMD with its stdout a pipe nobody reads any
# more (the read end is closed before it starts, as after "| head" has
# exited); prints its exit status (-13: killed by SIGPIPE) then its stderr.
closed_reader() {
    python3 - "$@" <<'PY'
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
p = subprocess.run(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)
print(p.returncode)
sys.stdout.write(p.stderr.decode())
PY
}

@test "bc-ls and bc-retention stop quietly with exit 0 when the reader goes away (| head)" {
    bc-wal-archive "$STORE" srv "$T/000000010000000000000001"
    for cmd in "bc-ls wals" "bc-ls backups --format json" "bc-retention --report"; do
        run closed_reader $cmd "$STORE" srv
        [ "$status" -eq 0 ]
        [ "$output" = 0 ]
    done
    # and through a real pipe, whatever the timing
    run bash -c "set -o pipefail; bc-ls wals '$STORE' srv | head -c 1 >/dev/null"
    [ "$status" -eq 0 ]
}

@test "bc-ls and bc-retention to a full disk exit 4 with one line" {
    bc-wal-archive "$STORE" srv "$T/000000010000000000000001"
    for cmd in "bc-ls wals" "bc-retention --report"; do
        run bash -c "$cmd '$STORE' srv >/dev/full"
        [ "$status" -eq 4 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == *": error: writing to standard output: No space left on device" ]]
    done
}
