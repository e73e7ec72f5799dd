# Shared helpers for the bats files: scratch directories, free ports, the
# s3rver, Azurite and PostgreSQL servers the suite starts on 127.0.0.1, and waiting
# for conditions with bounded polling (never a fixed sleep).

BC_TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
: "${BC_BIN:=$BC_TOP/bin}"
# Debian's python3 first: it has boto3 and snappy (a pyenv one may not).
PATH="$BC_BIN:/usr/bin:$PATH"
# Works around Debian's broken python3-snappy CRC helper (see the shim).
export PYTHONPATH="$BC_TOP/tests/helpers/snappy-shim${PYTHONPATH:+:$PYTHONPATH}"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
export PATH BC_BIN PG_BIN
# Credential chains fall back to cloud metadata endpoints: in the suite they
# point at a closed local port, so nothing ever leaves this machine.
export AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:9 GCE_METADATA_HOST=127.0.0.1:9
export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9

# A directory the postgres user can use too.
scratch_dir() {
    local d
    d=$(mktemp -d "${BC_SUITE_TMP:-/tmp}/t.XXXXXX")
    chmod 777 "$d"
    echo "$d"
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for TIMEOUT_SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
    local timeout=$1 start=$SECONDS
    shift
    until "$@" >/dev/null 2>&1; do
        if [ $((SECONDS - start)) -ge "$timeout" ]; then
            echo "timed out after ${timeout}s waiting for: $*" >&2
            return 1
        fi
        sleep 0.1
    done
}

# Starts s3rver with bucket "test" behind tests/helpers/sigv4_gate.py, which
# verifies every SigV4 signature (s3rver itself does not), and exports
# S3_ENDPOINT (the gate), S3RVER_ENDPOINT (s3rver itself) and the S3RVER
# credentials. Call from setup_file.
start_s3rver() {
    local dir port gate
    dir=$(scratch_dir)
    port=$(free_port)
    gate=$(free_port)
    # --openssl-legacy-provider: s3rver's listing continuation tokens use DES.
    # --service-endpoint localhost: <bucket>.s3.localhost is virtual-hosted.
    BC_EGRESS_LOG="$dir/egress.log" node --openssl-legacy-provider \
        -r "$BC_TOP/tests/helpers/no-egress.js" "$BC_TOP/tests/node_modules/s3rver/bin/s3rver.js" \
        --directory "$dir/data" --address 127.0.0.1 --port "$port" \
        --configure-bucket test --service-endpoint localhost --silent >"$dir/s3rver.log" 2>&1 &
    echo $! >"$dir/pid"
    /usr/bin/python3 "$BC_TOP/tests/helpers/sigv4_gate.py" --port "$gate" \
        --upstream "127.0.0.1:$port" --log "$dir/rejected.log" \
        --journal "$dir/journal.log" --issued "$dir/issued.jsonl" >"$dir/gate.log" 2>&1 &
    echo $! >"$dir/gate.pid"
    export S3RVER_DIR=$dir S3_ENDPOINT="http://127.0.0.1:$gate" S3RVER_ENDPOINT="http://127.0.0.1:$port"
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
    wait_for 30 port_open "$port"
    wait_for 30 port_open "$gate"
}

# Starts Azurite's blob service with container "test" (created with the
# official @azure/storage-blob SDK) and exports AZURITE (the account's base
# URL, http://127.0.0.1:PORT/devstoreaccount1), AZURITE_KEY and
# AZURE_STORAGE_CONNECTION_STRING. Call from setup_file.
start_azurite() {
    local dir port
    dir=$(scratch_dir)
    port=$(free_port)
    # --skipApiVersionCheck: the SDK speaks a newer API version than this Azurite.
    # --disableTelemetry: Azurite reports usage to an outside host unless told
    # not to; no-egress.js refuses (and logs) any attempt all the same.
    TMPDIR="$dir" BC_EGRESS_LOG="$dir/egress.log" node -r "$BC_TOP/tests/helpers/no-egress.js" \
        "$BC_TOP/tests/node_modules/azurite/dist/src/blob/main.js" --blobHost 127.0.0.1 \
        --blobPort "$port" --location "$dir/data" --skipApiVersionCheck --silent --disableTelemetry \
        >"$dir/azurite.log" 2>&1 &
    echo $! >"$dir/pid"
    export AZURITE_DIR=$dir AZURITE="http://127.0.0.1:$port/devstoreaccount1"
    export AZURITE_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZURITE_KEY;BlobEndpoint=$AZURITE;"
    wait_for 30 port_open "$port"
    az_sdk 'await container.createIfNotExists();'
}

stop_azurite() {
    [ -n "${AZURITE_DIR:-}" ] && kill "$(cat "$AZURITE_DIR/pid")" 2>/dev/null
    true
}

# az_sdk JS [ARGS...]: runs JS in an async function with `sdk` (the
# @azure/storage-blob module), `container` (its client of container "test",
# from the connection string) and `args`.
az_sdk() {
    local js=$1
    shift
    node -e "
const sdk = require('$BC_TOP/tests/node_modules/@azure/storage-blob');
const container = sdk.BlobServiceClient.fromConnectionString(process.env.AZURE_STORAGE_CONNECTION_STRING)
    .getContainerClient('test');
const args = process.argv.slice(1);
(async () => { $js })().catch(e => { console.error(e.message); process.exit(1); });
" "$@"
}

# Blob names under PREFIX in container "test", as the SDK lists them.
az_blobs() { # PREFIX
    az_sdk 'for await (const b of container.listBlobsFlat({ prefix: args[0] })) console.log(b.name);' "$1"
}

stop_s3rver() {
    [ -n "${S3RVER_DIR:-}" ] && kill "$(cat "$S3RVER_DIR/pid")" "$(cat "$S3RVER_DIR/gate.pid")" 2>/dev/null
    true
}

# start_gate DIR [GATE OPTIONS...]: one more SigV4 gate in front of
# start_s3rver's s3rver, for a test that needs the gate to behave
# differently (--prefix-only, --bucket-region, --part-delay). Refusals go
# to DIR/rejected.log, verified requests to DIR/journal, its pid to
# DIR/gate.pid (stop it with stop_gate DIR); exports GATE, its URL.
start_gate() {
    local dir=$1 port
    shift
    port=$(free_port)
    /usr/bin/python3 "$BC_TOP/tests/helpers/sigv4_gate.py" --port "$port" \
        --upstream "${S3RVER_ENDPOINT#http://}" --log "$dir/rejected.log" --journal "$dir/journal" \
        --issued "$S3RVER_DIR/issued.jsonl" "$@" >"$dir/gate.log" 2>&1 &
    echo $! >"$dir/gate.pid"
    export GATE="http://127.0.0.1:$port"
    wait_for 30 port_open "$port"
}

stop_gate() { # DIR
    [ -f "$1/gate.pid" ] && kill "$(cat "$1/gate.pid")" 2>/dev/null
    rm -f "$1/gate.pid"
}

# A WAL-like test file: 16 MiB of mostly zeros with varied records.
make_segment() { # path [seed]
    python3 - "$1" "${2:-1}" <<'PY'
import random, sys
path, seed = sys.argv[1], int(sys.argv[2])
rnd = random.Random(seed)
buf = bytearray(16 * 1024 * 1024)
pos = 0
while pos < 12 * 1024 * 1024:
    n = rnd.randint(40, 400)
    buf[pos:pos + n] = bytes(rnd.getrandbits(8) if rnd.random() < 0.3 else 65 + i % 26 for i in range(n))
    pos += n + rnd.randint(0, 2000)
open(path, "wb").write(buf)
PY
}

# S3 objects under a prefix, one key per line, read with boto3 (an
# independent client).
s3_keys() { # prefix
    python3 - "$1" <<'PY'
import boto3, os, sys
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"])
pages = s3.get_paginator("list_objects_v2").paginate(Bucket="test", Prefix=sys.argv[1])
for page in pages:
    for obj in page.get("Contents", []):
        print(obj["Key"])
PY
}

s3_get() { # key dest
    python3 - "$1" "$2" <<'PY'
import boto3, os, sys
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"])
s3.download_file("test", sys.argv[1], sys.argv[2])
PY
}

# --- PostgreSQL ---

as_postgres() { runuser -u postgres -- "$@"; }

# init_pg DIR PORT [extra postgresql.conf lines...]
init_pg() {
    local dir=$1 port=$2
    shift 2
    as_postgres "$PG_BIN/initdb" -D "$dir" -A trust -U postgres >/dev/null
    {
        echo "port = $port"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = ''"
        echo "wal_level = replica"
        echo "max_wal_senders = 4"
        echo "fsync = off"
        for line in "$@"; do echo "$line"; done
    } >>"$dir/postgresql.conf"
}

start_pg() { # DIR
    local v vars=()
    # The store credentials of every provider, for archive_command.
    for v in AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AZURE_STORAGE_CONNECTION_STRING \
        AZURE_STORAGE_ACCOUNT AZURE_STORAGE_KEY AZURE_STORAGE_SAS_TOKEN \
        AZURE_POD_IDENTITY_AUTHORITY_HOST GOOGLE_APPLICATION_CREDENTIALS STORAGE_EMULATOR_HOST \
        GCE_METADATA_HOST; do
        [ -n "${!v:-}" ] && vars+=("$v=${!v}")
    done
    as_postgres env "PATH=$PATH" AWS_DEFAULT_REGION=us-east-1 "${vars[@]}" \
        "$PG_BIN/pg_ctl" -D "$1" -l "$1/server.log" -w -t 120 start >/dev/null
}

stop_pg() { # DIR
    [ -f "$1/postmaster.pid" ] && as_postgres "$PG_BIN/pg_ctl" -D "$1" -m fast -w stop >/dev/null
    true
}

psql_at() { # PORT SQL
    "$PG_BIN/psql" -h 127.0.0.1 -p "$1" -U postgres -d postgres -XAtq -c "$2"
}

# True once something accepts TCP connections on 127.0.0.1:PORT (sends no request).
port_open() {
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1"
}

# --- a primary archiving to S3, for the backup tests ---

# start_primary DIR PORT URL: initdb, archive through bc-wal-archive to URL
# (server name "srv"), pgbench tables at scale 5.
start_primary() {
    local dir=$1 port=$2 url=$3
    init_pg "$dir" "$port" \
        "archive_mode = on" \
        "archive_command = '$BC_BIN/bc-wal-archive --endpoint-url $S3_ENDPOINT $url srv %p'" \
        "hot_standby = on"
    start_pg "$dir"
    "$PG_BIN/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s 5 -q postgres >/dev/null 2>&1
}

# start_primary_with_s3 PREFIX: s3rver, a scratch directory $W, and in it
# the primary of start_primary on $PORT, archiving to $URL (s3://test/PREFIX).
# Call from setup_file; stop_primary_with_s3 from teardown_file.
start_primary_with_s3() {
    start_s3rver
    export W=$(scratch_dir) PORT=$(free_port) URL=s3://test/$1
    start_primary "$W/primary" "$PORT" "$URL"
}
stop_primary_with_s3() {
    for d in "$W"/*/; do stop_pg "$d"; done
    stop_s3rver
}

# Forces a segment switch and waits until it is archived.
archive_current_wal() { # PORT
    local current
    current=$(psql_at "$1" "select pg_walfile_name(pg_current_wal_lsn())")
    psql_at "$1" "select pg_switch_wal()" >/dev/null
    wait_for 120 archived_at_least "$1" "$current"
}
archived_at_least() { # PORT WALNAME
    [ "$(psql_at "$1" "select coalesce(last_archived_wal, '') >= '$2' from pg_stat_archiver")" = t ]
}

# start_restored DIR PORT: starts an instance bc-restore prepared, waits for
# the end of recovery.
start_restored() {
    local dir=$1 port=$2
    sed -i '/^port = /d' "$dir/postgresql.conf"
    echo "port = $port" >>"$dir/postgresql.conf"
    echo "archive_mode = off" >>"$dir/postgresql.conf"
    chown -R postgres: "$dir"
    chmod 700 "$dir"
    start_pg "$dir"
    wait_for 300 promoted "$port"
}
promoted() { [ "$(psql_at "$1" "select pg_is_in_recovery()" 2>/dev/null)" = f ]; }

# --- bc-plugin and its Kubernetes API stand-in ---

# start_kube DIR: tests/helpers/kube_standin.py serving the objects in
# DIR/objects/*.json (re-read when they change), journal in DIR/journal;
# exports KUBECONFIG and KUBE_TOKEN (for kube_get).
start_kube() { # DIR [STAND-IN OPTIONS...]
    local dir=$1
    shift
    /usr/bin/python3 "$BC_TOP/tests/helpers/kube_standin.py" --dir "$dir" \
        --journal "$dir/journal" "$@" >"$dir/standin.log" 2>&1 &
    echo $! >"$dir/standin.pid"
    wait_for 30 test -s "$dir/kubeconfig"
    export KUBECONFIG="$dir/kubeconfig" KUBE_DIR="$dir"
}
# kube_get PATH: the object at the stand-in, as a client would see it.
kube_get() {
    curl -sf --cacert "$KUBE_DIR/ca.crt" -H "Authorization: Bearer $(cat "$KUBE_DIR/serviceaccount/token")" \
        "https://127.0.0.1:$(cat "$KUBE_DIR/port")$1"
}

# cnpg_objects DIR NAME DESTINATION: a Secret with the s3rver keys, an
# ObjectStore NAME on DESTINATION at S3_ENDPOINT, into DIR/objects.
cnpg_objects() {
    local dir=$1 name=$2 dest=$3
    mkdir -p "$dir/objects"
    cat >"$dir/objects/$name.json" <<JSON
[{"apiVersion": "v1", "kind": "Secret",
  "metadata": {"namespace": "default", "name": "$name-creds"},
  "data": {"ACCESS_KEY_ID": "$(printf S3RVER | base64)", "ACCESS_SECRET_KEY": "$(printf S3RVER | base64)"}},
 {"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
  "metadata": {"namespace": "default", "name": "$name", "resourceVersion": "1"},
  "spec": {"configuration": {"destinationPath": "$dest", "endpointURL": "$S3_ENDPOINT",
     "s3Credentials": {"accessKeyId": {"name": "$name-creds", "key": "ACCESS_KEY_ID"},
                       "secretAccessKey": {"name": "$name-creds", "key": "ACCESS_SECRET_KEY"}},
     "wal": {"compression": "gzip"}, "data": {"compression": "gzip", "immediateCheckpoint": true}},
   "retentionPolicy": "30d",
   "instanceSidecarConfiguration": {"retentionPolicyIntervalSeconds": 1}}}]
JSON
}

# cnpg_cluster FILE NAME STORE [CURRENT_PRIMARY [EXTRA_SPEC_JSON]]: a Cluster
# using the plugin with barmanObjectName STORE (JSON, one line).
cnpg_cluster() {
    local file=$1 name=$2 store=$3 primary=${4-$2-1} extra=${5:-}
    cat >"$file" <<JSON
{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
 "metadata": {"namespace": "default", "name": "$name", "uid": "uid-$name"},
 "spec": {"instances": 1${extra:+, $extra},
   "plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": true,
                "parameters": {"barmanObjectName": "$store"}}]},
 "status": {"currentPrimary": "$primary"}}
JSON
}

# start_plugin MODE DIR [VAR=VALUE...]: bc-plugin MODE on DIR/sock, log in
# DIR/plugin.log, without the suite's AWS variables (credentials must come
# from the ObjectStore's Secret); stubs for Python grpcio in DIR/stubs.
# With PLUGIN_USER set it runs as that user, as the sidecar shares the
# postgres user with PostgreSQL in a pod.
start_plugin() {
    local mode=$1 dir=$2 kubeconfig=$KUBECONFIG run=()
    shift 2
    mkdir -p "$dir/sock" "$dir/stubs"
    /usr/bin/python3 -m grpc_tools.protoc -I "$BC_TOP/proto" --python_out="$dir/stubs" \
        --grpc_python_out="$dir/stubs" "$BC_TOP"/proto/*.proto
    if [ -n "${PLUGIN_USER:-}" ]; then
        kubeconfig="$dir/kubeconfig"
        install -m 600 -o "$PLUGIN_USER" "$KUBECONFIG" "$kubeconfig"
        chown "$PLUGIN_USER" "$dir/sock"
        run=(runuser -u "$PLUGIN_USER" --)
    fi
    "${run[@]}" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY KUBECONFIG="$kubeconfig" \
        NAMESPACE=default "$@" \
        "$BC_BIN/bc-plugin" "$mode" --plugin-path "$dir/sock" -v --log-format json \
        2>"$dir/plugin.log" 3>&- &
    echo $! >"$dir/plugin.pid"
    wait_for 30 test -S "$dir/sock/barman-cloud.cloudnative-pg.io"
    chmod 755 "$dir/sock" "$dir/stubs"
    chmod 666 "$dir/sock/barman-cloud.cloudnative-pg.io"
}
stop_plugin() { # DIR
    local pid
    pid=$(cat "$1/plugin.pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || true
    wait_for 60 sh -c "! kill -0 $pid"
}
