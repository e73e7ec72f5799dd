#!/usr/bin/env bats
# Azure Blob Storage through Azurite: the WAL and backup story with a real
# PostgreSQL, every credential form, block uploads, and failures. Object
# names and blob properties are checked with Microsoft's own SDK
# (@azure/storage-blob), which shares no code with ours.

load helpers

setup_file() {
    start_azurite
    export W=$(scratch_dir) URL="$AZURITE/test/az"
}

teardown_file() {
    for d in "$W"/*/; do [ -f "$d/PG_VERSION" ] && stop_pg "$d"; done
    for p in "$W"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
    stop_azurite
}

@test "WAL files go to barman's blob names and come back byte for byte, with every codec" {
    make_segment "$W/000000010000000000000001" 1
    for codec in "" --gzip --bzip2 --zstd --lz4; do
        run bc-wal-archive $codec "$URL" "srv${codec}" "$W/000000010000000000000001"
        [ "$status" -eq 0 ]
        bc-wal-restore "$URL" "srv${codec}" 000000010000000000000001 "$W/back"
        cmp "$W/000000010000000000000001" "$W/back"
    done
    az_blobs az/srv/ | grep -qx "az/srv/wals/0000000100000000/000000010000000000000001"
    az_blobs az/srv--gzip/ | grep -qx "az/srv--gzip/wals/0000000100000000/000000010000000000000001.gz"
    az_blobs az/srv--zstd/ | grep -qx "az/srv--zstd/wals/0000000100000000/000000010000000000000001.zst"
    # archiving the same WAL again is success; different content is refused
    bc-wal-archive "$URL" srv "$W/000000010000000000000001"
    make_segment "$W/other/000000010000000000000001" 2 2>/dev/null || {
        mkdir -p "$W/other"; make_segment "$W/other/000000010000000000000001" 2; }
    run bc-wal-archive "$URL" srv "$W/other/000000010000000000000001"
    [ "$status" -eq 1 ]
    [[ "$output" == *"different content"* ]]
    run bc-wal-restore "$URL" srv 0000000100000000000000FF "$W/none"
    [ "$status" -eq 1 ]
}

@test "a large object goes up as blocks and a block list, with tags" {
    make_segment "$W/000000010000000000000002" 3
    bc-wal-archive --max-single-put-size 5MiB --max-block-size 5MiB --max-concurrency 3 \
        --tags env,test "$URL" blocks "$W/000000010000000000000002"
    blob=az/blocks/wals/0000000100000000/000000010000000000000002
    run az_sdk 'const b = container.getBlockBlobClient(args[0]);
        const list = await b.getBlockList("committed");
        const tags = (await b.getTags()).tags;
        console.log(list.committedBlocks.length, tags.env);' "$blob"
    [ "$output" = "4 test" ]
    bc-wal-restore "$URL" blocks 000000010000000000000002 "$W/back2"
    cmp "$W/000000010000000000000002" "$W/back2"
}

@test "PostgreSQL archives to Azure, bc-backup and bc-restore round trip, retention applies" {
    PORT=$(free_port)
    init_pg "$W/primary" "$PORT" "archive_mode = on" \
        "archive_command = '$BC_BIN/bc-wal-archive --zstd $URL pg %p'"
    start_pg "$W/primary"
    psql_at "$PORT" "create table marks as select 'before-1'::text as v"
    archive_current_wal "$PORT"
    first=$(bc-backup --immediate-checkpoint -h 127.0.0.1 -p "$PORT" -U postgres "$URL" pg)
    psql_at "$PORT" "insert into marks values ('before-2')"
    second=$(bc-backup --immediate-checkpoint --gzip -S 1MiB --max-block-size 1MiB \
        -h 127.0.0.1 -p "$PORT" -U postgres "$URL" pg)
    psql_at "$PORT" "insert into marks values ('after')"
    archive_current_wal "$PORT"
    az_blobs "az/pg/base/$second/" | grep -q "data_0001.tar.gz"
    run bc-ls backups "$URL" pg
    [[ "$output" == *"$first"* && "$output" == *"$second"* ]]

    bc-restore "$URL" pg latest "$W/restored" --write-recovery-conf
    grep -q "^restore_command = '.*bc-wal-restore .*$URL pg %f %p'" "$W/restored/postgresql.auto.conf"
    port=$(free_port)
    start_restored "$W/restored" "$port"
    [ "$(psql_at "$port" "select string_agg(v, ',' order by v) from marks")" = "after,before-1,before-2" ]

    run bc-retention -r "REDUNDANCY 1" --report "$URL" pg
    [ "$status" -eq 0 ]
    [[ "$output" == *"\"deleted_backups\": [
    \"$first\"
  ]"* ]]
    ! az_blobs "az/pg/base/$first/" | grep -q . || false
    az_blobs "az/pg/base/$second/" | grep -q backup.info
}

@test "account key, SAS token: each works alone; none of them is ever printed" {
    make_segment "$W/000000010000000000000003" 4
    conn=$AZURE_STORAGE_CONNECTION_STRING
    # shared key from AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY
    run env -u AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_ACCOUNT=devstoreaccount1 \
        AZURE_STORAGE_KEY="$AZURITE_KEY" bc-wal-archive -v "$URL" keys "$W/000000010000000000000003"
    [ "$status" -eq 0 ]
    [[ "$output" != *"$AZURITE_KEY"* ]]
    # a SAS token made by the SDK, with read, write, list and delete
    sas=$(az_sdk 'console.log((await container.generateSasUrl({ permissions: sdk.ContainerSASPermissions.parse("racwdl"),
            expiresOn: new Date(Date.now() + 3600e3) })).split("?")[1]);')
    run env -u AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_SAS_TOKEN="$sas" \
        bc-wal-restore -v "$URL" keys 000000010000000000000003 "$W/back3"
    [ "$status" -eq 0 ]
    cmp "$W/000000010000000000000003" "$W/back3"
    sig=$(echo "$sas" | tr '&' '\n' | sed -n 's/^sig=//p')
    [ -n "$sig" ]
    [[ "$output" != *"$sig"* ]]
}

@test "a read-only SAS token, a wrong key and a missing container fail with exit 2 and say why" {
    make_segment "$W/000000010000000000000004" 5
    ro=$(az_sdk 'console.log((await container.generateSasUrl({ permissions: sdk.ContainerSASPermissions.parse("rl"),
            expiresOn: new Date(Date.now() + 3600e3) })).split("?")[1]);')
    run env -u AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_SAS_TOKEN="$ro" \
        bc-wal-archive "$URL" ro "$W/000000010000000000000004"
    [ "$status" -eq 2 ]
    [[ "$output" == *"lack the permission"* ]]
    ! az_blobs az/ro/ | grep -q . || false

    wrong=$(printf 'not the key, but long enough to decode' | base64 -w0)
    run env -u AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_ACCOUNT=devstoreaccount1 \
        AZURE_STORAGE_KEY="$wrong" bc-ls -t backups "$URL" srv
    [ "$status" -eq 2 ]
    [[ "$output" == *"authentication failed"* ]]
    [[ "$output" != *"$wrong"* ]]

    run bc-ls -t backups "$AZURITE/no-such-container/x" srv
    [ "$status" -eq 2 ]
    [[ "$output" == *"container 'no-such-container' does not exist"* ]]

    # (a connection string names its own endpoint: use the account key here)
    run env -u AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_KEY="$AZURITE_KEY" \
        bc-ls -t --max-retries 0 backups "http://127.0.0.1:$(free_port)/devstoreaccount1/test" srv
    [ "$status" -eq 2 ]
    [[ "$output" == *"connect"* ]]
}

@test "503 throttling and dropped connections are retried; the encryption scope is sent" {
    make_segment "$W/000000010000000000000006" 7
    for mode in 503 reset; do
        port=$(free_port)
        up=${AZURITE#http://}
        python3 "$BC_TOP/tests/helpers/flaky_proxy.py" --port "$port" --fail 2 --mode "$mode" \
            --upstream "${up%%/*}" --count-file "$W/count-$mode" --journal "$W/journal-$mode" &
        echo $! >"$W/proxy-$mode.pid"
        wait_for 10 port_open "$port"
        # the shared key signs the path, not the host: the proxy is transparent
        run env -u AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_KEY="$AZURITE_KEY" \
            bc-wal-archive --encryption-scope scope-1 \
            "http://127.0.0.1:$port/devstoreaccount1/test/retry-$mode" srv "$W/000000010000000000000006"
        kill "$(cat "$W/proxy-$mode.pid")"
        [ "$status" -eq 0 ]
        [ "$(cat "$W/count-$mode")" -ge 3 ]
        # Azurite ignores encryption scopes: the request shows it was asked for
        grep -q "^PUT /devstoreaccount1/test/retry-$mode/srv/wals/.* x-ms-encryption-scope=scope-1" \
            "$W/journal-$mode"
        az_blobs "retry-$mode/" | grep -q 000000010000000000000006
    done
}

@test "Azure URLs and options are checked before anything is sent" {
    run bc-ls backups "https://account.blob.core.windows.net/" srv
    [ "$status" -eq 3 ]
    [[ "$output" == *"invalid Azure URL"* ]]
    run bc-ls backups --cloud-provider aws-s3 "$URL" srv
    [ "$status" -eq 3 ]
    run bc-ls backups --credential azure-cli "$URL" srv
    [ "$status" -eq 3 ]
    [[ "$output" == *"az command line"* ]]
    run bc-ls backups --credential magic "$URL" srv
    [ "$status" -eq 3 ]
}

@test "managed identity and workload identity tokens reach Azurite over HTTPS" {
    # Azurite takes OAuth only over HTTPS: a throwaway certificate for 127.0.0.1.
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$W/tls.key" -out "$W/tls.crt" 2>/dev/null
    port=$(free_port)
    node "$BC_TOP/tests/node_modules/azurite/dist/src/blob/main.js" --blobHost 127.0.0.1 \
        --blobPort "$port" --location "$W/oauth-data" --skipApiVersionCheck --silent \
        --cert "$W/tls.crt" --key "$W/tls.key" --oauth basic >"$W/azurite-oauth.log" 2>&1 &
    echo $! >"$W/azurite-oauth.pid"
    tport=$(free_port)
    echo "federated-token-from-the-kubelet" >"$W/federated"
    python3 "$BC_TOP/tests/helpers/azure_token_standin.py" --port "$tport" --tenant tenant-1 \
        --client-id client-1 --federated-token-file "$W/federated" --journal "$W/tokens.log" &
    echo $! >"$W/token.pid"
    wait_for 30 port_open "$port"
    wait_for 30 port_open "$tport"
    https="https://127.0.0.1:$port/devstoreaccount1"
    AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=devstoreaccount1;AccountKey=$AZURITE_KEY;BlobEndpoint=$https;" \
        NODE_EXTRA_CA_CERTS="$W/tls.crt" az_sdk 'await container.createIfNotExists();'
    make_segment "$W/000000010000000000000005" 6

    # --credential managed-identity: the metadata endpoint
    run env -u AZURE_STORAGE_CONNECTION_STRING AZURE_POD_IDENTITY_AUTHORITY_HOST="http://127.0.0.1:$tport" \
        bc-wal-archive -v --credential managed-identity --ca-bundle "$W/tls.crt" \
        "$https/test/mi" srv "$W/000000010000000000000005"
    [ "$status" -eq 0 ]
    grep -qx "GET /metadata/identity/oauth2/token" "$W/tokens.log"

    # no variables but the workload identity's: Entra ID's token endpoint
    wi=(env -u AZURE_STORAGE_CONNECTION_STRING AZURE_FEDERATED_TOKEN_FILE="$W/federated"
        AZURE_CLIENT_ID=client-1 AZURE_TENANT_ID=tenant-1 AZURE_AUTHORITY_HOST="http://127.0.0.1:$tport/")
    run "${wi[@]}" bc-wal-restore -v --ca-bundle "$W/tls.crt" "$https/test/mi" srv \
        000000010000000000000005 "$W/back5"
    [ "$status" -eq 0 ]
    cmp "$W/000000010000000000000005" "$W/back5"
    grep -qx "POST /tenant-1/oauth2/v2.0/token" "$W/tokens.log"
    [[ "$output" != *"federated-token-from-the-kubelet"* ]]

    # a certificate nobody vouched for
    run env -u AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_KEY="$AZURITE_KEY" \
        bc-ls -t --max-retries 0 backups "$https/test/mi" srv
    [ "$status" -eq 2 ]
    [[ "$output" == *"TLS certificate verification failed for 127.0.0.1"* ]]

    # a federated token the issuer does not accept
    echo "someone-elses-token" >"$W/federated-wrong"
    run env -u AZURE_STORAGE_CONNECTION_STRING AZURE_FEDERATED_TOKEN_FILE="$W/federated-wrong" \
        AZURE_CLIENT_ID=client-1 AZURE_TENANT_ID=tenant-1 AZURE_AUTHORITY_HOST="http://127.0.0.1:$tport/" \
        bc-ls -t --ca-bundle "$W/tls.crt" backups "$https/test/mi" srv
    kill "$(cat "$W/azurite-oauth.pid")" "$(cat "$W/token.pid")"
    [ "$status" -eq 2 ]
    [[ "$output" == *"no Azure token from the workload identity"* ]]
    [[ "$output" != *"someone-elses-token"* ]]
}

@test "retention pages through 1100 blobs and deletes them through Blob Batch requests" {
    now=$(date +%s)
    python3 "$BC_TOP/tests/helpers/fake_store.py" "dir:$W/batch" srv <<EOF2
{"backups": [
 {"id": "20261101T000000", "begin": 2, "end": 3, "end_time": $((now - 20 * 86400))},
 {"id": "20261120T000000", "begin": 1080, "end": 1081, "end_time": $((now - 86400))}],
 "wals": [{"tli": 1, "from": 1, "to": 1100}]}
EOF2
    # the SDK uploads the synthetic archive under az-batch/
    az_sdk 'const fs = require("fs"), path = require("path");
        const walk = d => fs.readdirSync(d, { withFileTypes: true }).flatMap(e =>
            e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
        const files = walk(args[0]);
        for (let i = 0; i < files.length; i += 32)
            await Promise.all(files.slice(i, i + 32).map(f => container.getBlockBlobClient(
                "az-batch/" + path.relative(args[0], f)).uploadFile(f)));' "$W/batch"
    [ "$(az_blobs az-batch/srv/wals/ | wc -l)" -eq 1102 ]
    run bc-retention -r "REDUNDANCY 1" "$AZURITE/test/az-batch" srv
    [ "$status" -eq 0 ]
    # WAL before the kept backup's begin (segment 1080 = 0x438) is gone,
    # 1079 segments and one backup label: the listing had two pages of
    # 1000, the deletes five batches of up to 256
    [ "$(az_blobs az-batch/srv/wals/ | wc -l)" -eq 22 ]
    az_blobs az-batch/srv/wals/ | head -1 | grep -q "000000010000000400000038$"
    ! az_blobs az-batch/srv/base/20261101T000000/ | grep -q . || false
}

@test "Azurite stays on this machine: --disableTelemetry, and no outside lookup or connection" {
    # the running Azurite got the flag, and tried nothing (no-egress.js logs
    # and refuses any lookup or connection off loopback)
    tr '\0' ' ' <"/proc/$(cat "$AZURITE_DIR/pid")/cmdline" | grep -q -- --disableTelemetry
    [ ! -s "$AZURITE_DIR/egress.log" ]
    # every Azurite the suite or the benchmarks start is given the flag
    run grep -rlE 'azurite/dist/src/blob/main.js|azurite-blob' "$BC_TOP/tests/bats" "$BC_TOP/bench"
    [ -n "$output" ]
    for f in $output; do grep -q -- --disableTelemetry "$f"; done
}

@test "the egress guard sees what Azurite sends without --disableTelemetry (and refuses it)" {
    local dir port
    dir=$(scratch_dir)
    port=$(free_port)
    # TMPDIR: the telemetry client keeps its unsent reports there
    TMPDIR="$dir" BC_EGRESS_LOG="$dir/egress.log" node -r "$BC_TOP/tests/helpers/no-egress.js" \
        "$BC_TOP/tests/node_modules/azurite/dist/src/blob/main.js" --blobHost 127.0.0.1 \
        --blobPort "$port" --location "$dir/data" --skipApiVersionCheck --silent \
        >"$dir/azurite.log" 2>&1 3>&- &
    local pid=$!
    wait_for 30 grep -q "applicationinsights.azure.com" "$dir/egress.log"
    # its shutdown waits on the telemetry it cannot send: no grace
    kill -9 "$pid"
}
