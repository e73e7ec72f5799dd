#!/usr/bin/env bats
# Interoperability with Debian's barman-cli-cloud, both ways, through s3rver.

load helpers

setup_file() { start_s3rver; }
teardown_file() { stop_s3rver; }

setup() {
    T=$(scratch_dir)
    P="i$BATS_TEST_NUMBER"
    URL="s3://test/$P"
}

barman_flag() { case $1 in none) ;; gzip) echo --gzip ;; bzip2) echo --bzip2 ;; snappy) echo --snappy ;; esac; }

@test "bc-wal-restore restores what barman-cloud-wal-archive wrote (plain, gzip, bzip2, snappy)" {
    seg=0
    for codec in none gzip bzip2 snappy; do
        seg=$((seg + 1))
        name=$(printf '0000000100000000000000%02X' "$seg")
        make_segment "$T/$name" "$seg"
        barman-cloud-wal-archive $(barman_flag $codec) --endpoint-url "$S3_ENDPOINT" "$URL" srv "$T/$name"
        run bc-wal-restore --endpoint-url "$S3_ENDPOINT" "$URL" srv "$name" "$T/ours.$codec"
        [ "$status" -eq 0 ]
        cmp "$T/ours.$codec" "$T/$name"
    done
}

@test "barman-cloud-wal-restore restores what bc-wal-archive wrote (plain, gzip, bzip2, snappy)" {
    seg=0
    for codec in none gzip bzip2 snappy; do
        seg=$((seg + 1))
        name=$(printf '0000000100000000000000%02X' "$seg")
        make_segment "$T/$name" "$seg"
        run bc-wal-archive $(barman_flag $codec) --endpoint-url "$S3_ENDPOINT" "$URL" srv "$T/$name"
        [ "$status" -eq 0 ]
        barman-cloud-wal-restore --endpoint-url "$S3_ENDPOINT" "$URL" srv "$name" "$T/theirs.$codec"
        cmp "$T/theirs.$codec" "$T/$name"
    done
}

@test "history files both ways" {
    printf '1\t0/3000000\tno recovery target specified\n' >"$T/00000002.history"
    printf '2\t0/5000000\tno recovery target specified\n' >"$T/00000003.history"
    barman-cloud-wal-archive --gzip --endpoint-url "$S3_ENDPOINT" "$URL" srv "$T/00000002.history"
    run bc-wal-restore --endpoint-url "$S3_ENDPOINT" "$URL" srv 00000002.history "$T/h2"
    [ "$status" -eq 0 ]
    cmp "$T/h2" "$T/00000002.history"
    run bc-wal-archive -j --endpoint-url "$S3_ENDPOINT" "$URL" srv "$T/00000003.history"
    [ "$status" -eq 0 ]
    barman-cloud-wal-restore --endpoint-url "$S3_ENDPOINT" "$URL" srv 00000003.history "$T/h3"
    cmp "$T/h3" "$T/00000003.history"
    # both under wals/ directly, exactly as barman names them
    [ "$(s3_keys "$P/srv/wals/0000000" | sort | tr '\n' ' ')" = \
      "$P/srv/wals/00000002.history.gz $P/srv/wals/00000003.history.bz2 " ]
}

@test "both tools produce the same object keys for the same files" {
    make_segment "$T/000000010000000000000042" 42
    barman-cloud-wal-archive --gzip --endpoint-url "$S3_ENDPOINT" "$URL-barman" srv "$T/000000010000000000000042"
    bc-wal-archive --gzip --endpoint-url "$S3_ENDPOINT" "$URL-ours" srv "$T/000000010000000000000042"
    [ "$(s3_keys "$P-barman/" | sed "s|^$P-barman/||")" = "$(s3_keys "$P-ours/" | sed "s|^$P-ours/||")" ]
}

@test "bc-wal-archive accepts a segment barman-cloud already archived with the same content" {
    make_segment "$T/000000010000000000000050" 50
    barman-cloud-wal-archive --snappy --endpoint-url "$S3_ENDPOINT" "$URL" srv "$T/000000010000000000000050"
    run bc-wal-archive -z --endpoint-url "$S3_ENDPOINT" "$URL" srv "$T/000000010000000000000050"
    [ "$status" -eq 0 ]
    [ "$(s3_keys "$P/srv/wals/" | wc -l)" -eq 1 ]
}
