#!/usr/bin/env bats
# A corruption sweep over every object type on a file:// store: WAL
# segments, .partial and .history files (plain and every codec) and base
# backup archives (plain, every codec, a split one), then backup.info,
# backup_manifest and bc_archives.json. Each stored object is damaged in
# place (its inode and the integrity xattrs stay: the content checks are
# what is tested, not the missing-metadata path) by a flipped bit at the
# start, inside the codec header, in the middle and in the last byte, by
# truncation to 0, 1, half and size-1 bytes, and by appended garbage. The
# reader must exit 4 with one error line naming the object and leave
# nothing usable behind. Without metadata (barman's WAL) the documented
# limits are asserted instead.

load helpers

CODECS="none gzip bzip2 snappy lz4 xz zstd"

flag() { [ "$1" = none ] || echo "--$1"; }
suffix() {
    case $1 in
    none) ;; gzip) echo .gz ;; bzip2) echo .bz2 ;; snappy) echo .snappy ;;
    lz4) echo .lz4 ;; xz) echo .xz ;; zstd) echo .zst ;;
    esac
}
# An offset inside the codec's header where every bit matters: gzip's
# compression method (its MTIME, XFL and OS bytes are not checked by
# anyone), bzip2's block magic, snappy's stream identifier, lz4's frame
# flags, xz's stream flags, zstd's frame header descriptor; plain: the
# first WAL page header, or a tar header's checksum field.
header_offset() {
    case $1 in
    none) echo "${2:-20}" ;; gzip) echo 2 ;; xz) echo 6 ;; *) echo 4 ;;
    esac
}

# cases FILE HEADER_OFFSET: the corruptions of FILE, one a line.
cases() {
    local size
    size=$(stat -c %s "$1")
    printf '%s\n' flip:0 "flip:$2" "flip:$((size / 2))" "flip:$((size - 1))" \
        trunc:0 trunc:1 "trunc:$((size / 2))" "trunc:$((size - 1))" append
}

# damage ORIGINAL OBJECT CASE: OBJECT rewritten in place as ORIGINAL with
# CASE applied (flip:OFFSET[:MASK], trunc:LENGTH, append, or none).
damage() {
    python3 - "$@" <<'PY'
import sys
orig, obj, case = sys.argv[1:]
data = bytearray(open(orig, "rb").read())
kind, *args = case.split(":")
if kind == "flip":
    data[int(args[0])] ^= int(args[1], 0) if len(args) > 1 else 0x80
elif kind == "trunc":
    del data[int(args[0]):]
elif kind == "append":
    data += b"\xa5garbage after the end\x5a" * 3
else:
    assert kind == "none", case
with open(obj, "r+b") as f:   # the same inode: its xattrs stay
    f.write(data)
    f.truncate()
PY
}

same_json() { python3 -c 'import json, sys
sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' "$1" "$2" 2>/dev/null; }

xattrs() { python3 -c 'import os, sys; print(" ".join(sorted(os.listxattr(sys.argv[1]))))' "$1"; }

setup_file() {
    export W=$(scratch_dir)
    export ST="$W/store" PORT=$(free_port)
    mkdir -p "$ST" "$W/in"
    # WAL: a segment, the same bytes as a .partial, a history file
    make_segment "$W/in/000000010000000000000003" 3
    cp "$W/in/000000010000000000000003" "$W/in/000000010000000000000004.partial"
    printf '1\t0/5000000\tno recovery target specified\n\n' >"$W/in/00000002.history"
    for c in $CODECS; do
        for f in 000000010000000000000003 000000010000000000000004.partial 00000002.history; do
            bc-wal-archive $(flag "$c") "file://$ST" "w-$c" "$W/in/$f"
        done
    done
    # base backups of a fresh cluster (a 23 MB tar), one server per kind
    init_pg "$W/pg" "$PORT" "shared_buffers = 16MB"
    start_pg "$W/pg"
    for c in $CODECS; do
        bc-backup --immediate-checkpoint $(flag "$c") -h 127.0.0.1 -p "$PORT" -U postgres \
            "file://$ST" "b-$c" >"$W/id-b-$c"
    done
    bc-backup --immediate-checkpoint -S 8MiB -h 127.0.0.1 -p "$PORT" -U postgres \
        "file://$ST" b-split >"$W/id-b-split"
    # two backups of one server, for backup.info
    for i in 1 2; do
        bc-backup --immediate-checkpoint --zstd -h 127.0.0.1 -p "$PORT" -U postgres \
            "file://$ST" b-info >>"$W/id-b-info"
    done
    stop_pg "$W/pg"
    # as barman-cloud writes them: no backup_manifest, no bc_archives.json
    for b in $CODECS split; do
        mkdir -p "$ST/m-$b/base"
        cp -a "$ST/b-$b/base/$(cat "$W/id-b-$b")" "$ST/m-$b/base/"
        rm "$ST/m-$b/base/$(cat "$W/id-b-$b")"/{backup_manifest,bc_archives.json}
    done
    # the originals, xattrs kept
    cp -a "$ST" "$W/orig"
}

teardown_file() {
    stop_pg "$W/pg"
    rm -rf "$W"
}

wal_key() { # SERVER NAME SUFFIX
    echo "$1/wals/0000000100000000/$2$3"
}
# restore_name NAME: what restore_command asks for.
restore_name() { echo "${1%.partial}"; }

# harmless KEY CASE: a damage the decoded bytes cannot show, so no check
# over them can see it; the restore gives the right bytes. snappy's last
# byte is the high byte of a copy's offset inside a run of zeros.
harmless() { [[ "$1" == *.snappy && "$2" == "flip:$(($(stat -c %s "$W/orig/$1") - 1))" ]]; }

# sweep_wal SERVER NAME CODEC ORIGINAL_FILE: every case on that object;
# appends to fails[] what a check let through. Plain objects without
# metadata have the documented limit: a flip is restored as is.
sweep_wal() {
    local srv=$1 f=$2 codec=$3 orig=$4 sfx key obj name k what
    sfx=$(suffix "$codec")
    key=$(wal_key "$srv" "$f" "$sfx")
    [[ "$f" == *.history ]] && key="$srv/wals/$f$sfx"
    obj="$ST/$key"
    name=$(restore_name "$f")
    # the untouched object restores, byte for byte
    run bc-wal-restore "file://$ST" "$srv" "$name" "$W/back"
    [ "$status" -eq 0 ] || fails+=("$key untouched: exit $status: $output")
    cmp -s "$W/back" "$orig" || fails+=("$key untouched: wrong bytes")
    rm -f "$W/back"
    for k in $(cases "$obj" "$(header_offset "$codec")"); do
        damage "$W/orig/$key" "$obj" "$k"
        mkdir -p "$W/dest"
        run bc-wal-restore "file://$ST" "$srv" "$name" "$W/dest/$name"
        what="$key $k: exit $status: $output"
        if [ -z "$sfx" ] && [ -z "$(xattrs "$obj")" ] &&
            [[ "$k" == flip:* || "$k" == trunc:8388608 ]]; then
            # barman's plain WAL: nothing to check a flipped byte against,
            # and 8 MiB is a WAL segment size too
            [ "$status" -eq 0 ] && ! cmp -s "$W/dest/$name" "$orig" ||
                fails+=("$what (want the documented limit: restored as is)")
        elif [ "$status" -eq 0 ] && harmless "$key" "$k" && cmp -s "$W/dest/$name" "$orig"; then
            harmless+=("$key $k")
        elif [ "$status" -ne 4 ]; then
            fails+=("$what (want exit 4)")
        elif [ "${#lines[@]}" -ne 1 ] || [[ "$output" != *"$key"* ]]; then
            fails+=("$what (want one line naming the object)")
        elif [ -n "$(ls -A "$W/dest")" ]; then
            fails+=("$what (left $(ls -A "$W/dest"))")
        fi
        rm -rf "$W/dest"
    done
    damage "$W/orig/$key" "$obj" none
}

@test "WAL with metadata, every codec, segment/.partial/.history: every corruption is refused" {
    fails=() harmless=()
    for c in $CODECS; do
        [ -n "$(xattrs "$ST/$(wal_key "w-$c" 000000010000000000000003 "$(suffix "$c")")")" ]
        for f in 000000010000000000000003 000000010000000000000004.partial 00000002.history; do
            sweep_wal "w-$c" "$f" "$c" "$W/in/$f"
        done
    done
    printf '%s\n' "${fails[@]}" "harmless, restored right:" "${harmless[@]}"
    [ "${#fails[@]}" -eq 0 ]
    # only snappy's last byte, of the two 16 MiB objects
    [ "${#harmless[@]}" -eq 2 ]
}

@test "WAL without metadata (barman's): codec and size checks refuse all but the documented limits" {
    fails=() harmless=()
    f=000000010000000000000003
    for c in $CODECS; do
        key=$(wal_key "n-$c" $f "$(suffix "$c")")
        mkdir -p "$(dirname "$ST/$key")" "$(dirname "$W/orig/$key")"
        cp "$W/orig/$(wal_key "w-$c" $f "$(suffix "$c")")" "$W/orig/$key"
        cp "$W/orig/$key" "$ST/$key"   # no xattrs
        [ -z "$(xattrs "$ST/$key")" ]
        sweep_wal "n-$c" $f "$c" "$W/in/$f"
    done
    printf '%s\n' "${fails[@]}" "harmless, restored right:" "${harmless[@]}"
    [ "${#fails[@]}" -eq 0 ]
    [ "${#harmless[@]}" -eq 1 ]
}

# restore_refused SERVER ID NAME [same|limit]: bc-restore exits 4 with one
# error line naming NAME, and the target has no global/pg_control; with
# "same" (no damage at all) it restores instead, and with "limit" (what
# nothing can check) it may restore, appending to as_is[]; with
# same_is_harmless set, a restore equal to the untouched one ($W/ref) is
# appended to harmless[]. Else appends to fails[] (with $what). Removes
# the target.
restore_refused() {
    local r="$W/r"
    rm -rf "$r"
    run bc-restore "file://$ST" "$1" "$2" "$r"
    what="$what: exit $status: $output"
    if [ "${4:-}" = limit ] && [ "$status" -eq 0 ] && [ -f "$r/global/pg_control" ]; then
        as_is+=("$what")
    elif [ -n "${same_is_harmless:-}" ] && [ "$status" -eq 0 ] && diff -r -q "$W/ref" "$r" >/dev/null; then
        harmless+=("$what")
    elif [ "${4:-}" = same ]; then
        [ "$status" -eq 0 ] && [ -f "$r/global/pg_control" ] || fails+=("$what (want a restore)")
    elif [ "$status" -ne 4 ]; then
        fails+=("$what (want exit 4)")
    elif [ "$(grep -c 'error' <<<"$output")" -ne 1 ] || [[ "$output" != *"$3"* ]]; then
        fails+=("$what (want one error line naming $3)")
    elif [ -e "$r/global/pg_control" ]; then
        fails+=("$what (left global/pg_control)")
    fi
    rm -rf "$r"
}

# sweep_backup PREFIX KIND: every case on one archive of backup
# PREFIX-KIND (a middle part if split), through restore_refused; the
# cases in $limits are restored as is instead.
sweep_backup() {
    local srv=$1-$2 id dir name k hdr
    id=$(cat "$W/id-b-$2")
    dir="$srv/base/$id"
    name=data.tar$(suffix "$2")
    hdr=$(header_offset "$2" 148)  # plain: the first tar header's checksum
    if [ "$2" = split ]; then name=data_0001.tar hdr=148; fi
    # the untouched backup restores (kept to compare with)
    rm -rf "$W/ref"
    run bc-restore "file://$ST" "$srv" "$id" "$W/ref"
    [ "$status" -eq 0 ] && [ -f "$W/ref/global/pg_control" ] ||
        fails+=("$dir untouched: exit $status: $output")
    for k in $(cases "$ST/$dir/$name" "$hdr"); do
        damage "$W/orig/$dir/$name" "$ST/$dir/$name" "$k"
        what="$dir/$name $k"
        restore_refused "$srv" "$id" "$name" "$([[ " $limits " != *" $2/$k "* ]] || echo limit)"
    done
    damage "$W/orig/$dir/$name" "$ST/$dir/$name" none
    rm -rf "$W/ref"
}

@test "base backup archives, plain, every codec and a split part: every corruption is refused" {
    fails=() limits= as_is=()
    for b in $CODECS split; do sweep_backup b "$b"; done
    printf '%s\n' "${fails[@]}"
    [ "${#fails[@]}" -eq 0 ]
}

@test "without backup_manifest (barman's backups): codec and tar checks refuse all but a plain member's bytes" {
    fails=() limits= as_is=() harmless=()
    # the documented limit: the middle of a plain tar is most likely some
    # file's bytes, which nothing records a checksum of
    # A flip that decodes to the same bytes (an LZ4 or snappy copy offset
    # moved within a run of equal bytes) leaves nothing to detect: harmless
    # when the restore is the same as the untouched backup's, file for file.
    same_is_harmless=1
    for b in none split; do
        size=$(stat -c %s "$ST/m-$b/base/$(cat "$W/id-b-$b")/$([ $b = split ] && echo data_0001.tar || echo data.tar)")
        limits+=" $b/flip:$((size / 2))"
    done
    for b in $CODECS split; do sweep_backup m "$b"; done
    printf '%s\n' "${fails[@]}" "restored as is:" "${as_is[@]}" "harmless, restored right:" "${harmless[@]}"
    [ "${#fails[@]}" -eq 0 ]
}

@test "backup_manifest and bc_archives.json: every corruption is refused, naming them" {
    fails=()
    id=$(cat "$W/id-b-zstd")
    dir="b-zstd/base/$id"
    for k in $(cases "$ST/$dir/backup_manifest" 40); do
        damage "$W/orig/$dir/backup_manifest" "$ST/$dir/backup_manifest" "$k"
        what="backup_manifest $k"
        restore_refused b-zstd "$id" backup_manifest
    done
    damage "$W/orig/$dir/backup_manifest" "$ST/$dir/backup_manifest" none
    # nothing checks bc_archives.json itself: a flip of the low bit of
    # every byte, then the usual cases
    size=$(stat -c %s "$ST/$dir/bc_archives.json")
    for k in $(seq -f 'flip:%g:1' 0 $((size - 1))) $(cases "$ST/$dir/bc_archives.json" 0); do
        damage "$W/orig/$dir/bc_archives.json" "$ST/$dir/bc_archives.json" "$k"
        what="bc_archives.json $k"
        # a damage that leaves the same JSON (a lost final newline) is none
        restore_refused b-zstd "$id" bc_archives.json \
            "$(! same_json "$W/orig/$dir/bc_archives.json" "$ST/$dir/bc_archives.json" || echo same)"
    done
    damage "$W/orig/$dir/bc_archives.json" "$ST/$dir/bc_archives.json" none
    printf '%s\n' "${fails[@]}"
    [ "${#fails[@]}" -eq 0 ]
}

@test "backup.info damaged: that backup is skipped or refused with a message, never a crash" {
    fails=()
    old=$(head -n 1 "$W/id-b-info") new=$(tail -n 1 "$W/id-b-info")
    [ "$old" != "$new" ]
    key="b-info/base/$new/backup.info"
    status_at=$(grep -bo '^status=DONE' "$ST/$key" | cut -d: -f1)
    # the usual cases, and the low bit of every byte of the status line
    for k in $(cases "$ST/$key" $((status_at + 7))) $(seq -f 'flip:%g:1' "$status_at" $((status_at + 11))); do
        damage "$W/orig/$key" "$ST/$key" "$k"
        what="$key $k"
        rm -rf "$W/r"
        run bc-restore "file://$ST" b-info "$new" "$W/r"
        refused=$status
        if [ "$status" -eq 0 ]; then
            # damage to a value a restore does not use: the archives are
            # checked all the same
            [ -f "$W/r/global/pg_control" ] || fails+=("$what: exit 0 without pg_control")
        elif [ "$status" -ne 1 ] || [ "$(grep -c error <<<"$output")" -ne 1 ] ||
            [[ "$output" != *"$new"* ]] || [ -e "$W/r" ]; then
            fails+=("$what: exit $status: $output (want exit 1 naming the backup, no target)")
        fi
        # latest: the damaged backup if it restores by its id, else the other
        want=$([ "$refused" -eq 0 ] && echo "$new" || echo "$old")
        rm -rf "$W/r"
        run bc-restore "file://$ST" b-info latest "$W/r"
        [ "$status" -eq 0 ] && grep -q "^LABEL: .*$want" "$W/r/backup_label" ||
            fails+=("$what: latest: exit $status: $output (want $want)")
        run bc-ls backups "file://$ST" b-info
        { [ "$status" -eq 0 ] && [[ "$output" == *"$old"* ]] &&
            { [ "$refused" -eq 0 ] || [[ "$output" != *"$new "* ]]; }; } ||
            fails+=("$what: bc-ls: exit $status: $output")
    done
    damage "$W/orig/$key" "$ST/$key" none
    rm -rf "$W/r"
    printf '%s\n' "${fails[@]}"
    [ "${#fails[@]}" -eq 0 ]
}
