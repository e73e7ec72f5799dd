#!/usr/bin/env bats
# Command lines, exit codes and messages for bad input, man pages.

load helpers

setup() { T=$(scratch_dir); }

@test "--help and -V work for every tool" {
    for tool in $(ls "$BC_TOP/cmd"); do
        run "$tool" --help
        [ "$status" -eq 0 ]
        [[ "$output" == *"usage: $tool"* ]]
        [[ "$output" == *"Exit status"* ]]
        run "$tool" -V
        [ "$status" -eq 0 ]
        [[ "$output" =~ ^$tool\ [0-9]+\.[0-9]+ ]]
    done
}

@test "a write error on standard output (full disk) exits 4 with one line, for every tool" {
    for tool in $(ls "$BC_TOP/cmd"); do
        for opt in --help -V; do
            run bash -c "$tool $opt >/dev/full"
            [ "$status" -eq 4 ]
            [ "$output" = "$tool: error: writing to standard output: No space left on device" ]
        done
    done
}

@test "unknown option exits 3 with a one-line hint" {
    run bc-wal-archive --no-such-option file:///tmp srv x
    [ "$status" -eq 3 ]
    [[ "$output" == *"try 'bc-wal-archive --help'"* ]]
    run bc-wal-restore --prefetch zero file:///tmp srv 000000010000000000000001 x
    [ "$status" -eq 3 ]
    [[ "$output" == *"invalid --prefetch 'zero'"* ]]
}

@test "missing positional arguments exit 3" {
    run bc-wal-archive file:///tmp srv
    [ "$status" -eq 3 ]
    run bc-wal-restore file:///tmp srv 000000010000000000000001
    [ "$status" -eq 3 ]
}

@test "bad URLs exit 3 and say what is expected" {
    make_segment "$T/000000010000000000000001"
    run bc-wal-archive "not-a-url" srv "$T/000000010000000000000001"
    [ "$status" -eq 3 ]
    [[ "$output" == *"invalid URL 'not-a-url'"* ]]
    run bc-wal-archive "ftp://bucket/x" srv "$T/000000010000000000000001"
    [ "$status" -eq 3 ]
    [[ "$output" == *"unsupported URL scheme 'ftp://'"* ]]
    run bc-wal-archive "s3:///x" srv "$T/000000010000000000000001"
    [ "$status" -eq 3 ]
    [[ "$output" == *"no bucket name"* ]]
}

@test "bad WAL names are refused with exit 3 before touching the store" {
    echo x >"$T/not-a-wal"
    run bc-wal-archive "file://$T/missing-store" srv "$T/not-a-wal"
    [ "$status" -eq 3 ]
    [[ "$output" == *"invalid name for a WAL file"* ]]
    for bad in 00000001000000000000000 000000010000000000000001.gz ../00000001.history \
               00000001000000000000000G 000000010000000000000001.partial.x; do
        run bc-wal-restore "file://$T" srv "$bad" "$T/out"
        [ "$status" -eq 3 ]
    done
    [ ! -e "$T/out" ]
}

@test "bad server names are refused" {
    make_segment "$T/000000010000000000000001"
    run bc-wal-archive "file://$T" "a/b" "$T/000000010000000000000001"
    [ "$status" -eq 3 ]
    [[ "$output" == *"invalid server name 'a/b'"* ]]
}

@test "a control character in a server name is refused by every tool, on one line" {
    make_segment "$T/000000010000000000000001"
    mkdir "$T/store"
    nl=$'a\nb' tab=$'a\tb'
    for name in "$nl" "$tab"; do
        run bc-wal-archive "file://$T/store" "$name" "$T/000000010000000000000001"
        [ "$status" -eq 3 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == *"invalid server name: it holds a control character"* ]]
        for cmd in "bc-ls backups" "bc-retention --report" "bc-wal-restore -t"; do
            run $cmd "file://$T/store" "$name"
            [ "$status" -eq 3 ]
            [[ "$output" == *"invalid server name"* ]]
        done
    done
    [ -z "$(ls -A "$T/store")" ]
}

@test "a control character in a recovery target or a store option of bc-restore is refused (exit 3)" {
    mkdir "$T/store" "$T/dest"
    for opt in --recovery-target-time --recovery-target-xid --recovery-target-lsn \
        --recovery-target-name --recovery-target-timeline --endpoint-url; do
        run bc-restore -R "$opt" $'http://x\nrestore_command = \'rm -rf /\'' "file://$T/store" srv latest "$T/dest"
        [ "$status" -eq 3 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ "$output" == *"invalid $opt: it holds a control character (0x0a at byte 9)"* ]]
    done
    run bc-restore -R "file://$T/sto"$'\r'"re" srv latest "$T/dest"
    [ "$status" -eq 3 ]
    [[ "$output" == *"invalid SOURCE_URL: it holds a control character (0x0d"* ]]
    run bc-restore -R "file://$T/store" $'s\nrv' latest "$T/dest"
    [ "$status" -eq 3 ]
    [[ "$output" == *"invalid server name"* ]]
    [ -z "$(ls -A "$T/dest")" ]
    # a backup name lands in backup.info, one setting a line
    run bc-backup --name $'x\ny' "file://$T/store" srv
    [ "$status" -eq 3 ]
    [[ "$output" == *"invalid --name: it holds a control character"* ]]
}

@test "missing WAL file exits 4 naming the file" {
    mkdir "$T/store"
    run bc-wal-archive "file://$T/store" srv "$T/000000010000000000000009"
    [ "$status" -eq 4 ]
    [[ "$output" == *"cannot open WAL file $T/000000010000000000000009"* ]]
}

@test "missing store directory exits 2" {
    make_segment "$T/000000010000000000000001"
    run bc-wal-archive "file://$T/nowhere" srv "$T/000000010000000000000001"
    [ "$status" -eq 2 ]
    [[ "$output" == *"store directory $T/nowhere does not exist"* ]]
    run bc-wal-restore -t "file://$T/nowhere" srv
    [ "$status" -eq 2 ]
}

@test "conflicting compression flags exit 3" {
    run bc-wal-archive -z --zstd "file://$T" srv "$T/000000010000000000000001"
    [ "$status" -eq 3 ]
    [[ "$output" == *"choose one compression"* ]]
}

@test "--log-format json writes one JSON object per line" {
    run bc-wal-archive --log-format json "file://$T/nowhere" srv "$T/000000010000000000000001"
    [ "$status" -ne 0 ]
    python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin.read().splitlines()]' <<<"$output"
    [[ "$output" == *'"level":"error"'* ]]
}

@test "man pages exist for every tool and pass mandoc -Tlint" {
    for tool in "$BC_TOP"/cmd/*/; do
        page="$BC_TOP/man/$(basename "$tool").1"
        [ -f "$page" ]
        run mandoc -Tlint -W warning "$page"
        [ "$status" -eq 0 ]
        [ -z "$output" ]
    done
    run mandoc -Tlint -W warning "$BC_TOP"/man/*.7
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "make layers passes on the tree and catches an include that points up" {
    run sh "$BC_TOP/tests/layers.sh"
    [ "$status" -eq 0 ]
    T=$(scratch_dir)
    cp -r "$BC_TOP/lib" "$BC_TOP/cmd" "$T/"
    # util is the ground floor: it may not reach the store
    echo '#include "store/store.h"' >>"$T/lib/util/buffer.h"
    # the HTTP layer knows no provider
    echo '#include "store/s3/sigv4.h"' >>"$T/lib/store/http/url.c"
    run sh "$BC_TOP/tests/layers.sh" "$T"
    [ "$status" -eq 1 ]
    [[ "$output" == *"lib/util/buffer.h: util (layer 0) includes store/ (layer 2): points up the stack"* ]]
    [[ "$output" == *"lib/store/http/url.c: store/http includes store/s3/: the HTTP layer knows no provider"* ]]
}

@test "make coding passes on the tree and catches what CODING.md forbids" {
    run sh "$BC_TOP/tests/coding.sh"
    [ "$status" -eq 0 ]
    T=$(scratch_dir)
    cp -r "$BC_TOP/lib" "$BC_TOP/cmd" "$T/"
    printf 'static void f(void) { exit(1); }\n' >>"$T/lib/util/buffer.c"
    printf 'static void f(void) { exit(3); }\n' >>"$T/lib/cli/cli.c" # no exception for the CLI layer
    printf 'static int g(bc_status st) { if ((st = h()) != BC_OK) return 1; return 0; }\n' >>"$T/lib/wal/restore.c"
    printf 'static int k(void) { return bc_error(BC_ERR_INTERNAL, "out of memory"); }\n' >>"$T/lib/tar/walk.c"
    run sh "$BC_TOP/tests/coding.sh" "$T"
    [ "$status" -eq 1 ]
    [[ "$output" == *"lib/util/buffer.c:"*"exit() in library code"* ]]
    [[ "$output" == *"lib/cli/cli.c:"*"exit() in library code"* ]]
    [[ "$output" == *"lib/wal/restore.c:"*"status assigned inside a condition"* ]]
    [[ "$output" == *"lib/tar/walk.c:"*"use bc_oom()"* ]]
}

@test "every option --help shows is in the man page, every option the man page documents is in the option table, and every option of the table is documented" {
    lister="$BC_TOP/bin/../tests/test_options" # make unit builds it beside the tools
    run "$BC_TOP/tests/helpers/options_check.sh" "$BC_TOP" "$BC_BIN" "$lister"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    # a page that drifted from its tool is caught every way
    T=$(scratch_dir)
    cp -r "$BC_TOP/cmd" "$BC_TOP/man" "$T/"
    sed -i 's/^\.It Fl -wal-to-latest$/.It Fl -wal-to-newest/' "$T/man/bc-verify.1"
    run "$BC_TOP/tests/helpers/options_check.sh" "$T" "$BC_BIN" "$lister"
    [ "$status" -eq 1 ]
    [[ "$output" == *"bc-verify: --help shows --wal-to-latest, which the OPTIONS section of bc-verify(1) does not document"* ]]
    [[ "$output" == *"bc-verify: bc-verify(1) documents --wal-to-newest, which bc-verify does not accept"* ]]
    [[ "$output" == *"bc-verify: the option table gives bc-verify --wal-to-latest, which the OPTIONS section of bc-verify(1) does not document"* ]]
}
