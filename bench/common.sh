# Sourced by the bench/ scripts: installs what they need, builds the tools,
# and provides a scratch directory, a throwaway PostgreSQL, an s3rver and
# Azurite, all removed on exit. s3rver is used directly (no signature gate),
# so every client pays the same server cost.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/tests/setup.sh"
make -s -C "$top" >/dev/null
bin="$top/build/bin"
work=$(mktemp -d /tmp/bc-bench.XXXXXX)
chmod 755 "$work"; chown postgres: "$work"
# The servers keep their objects in memory where it can (tmpfs): their
# disk is not what is measured, and its hiccups would blur the ratios.
serverdir=$work
if [ -d /dev/shm ] && [ -w /dev/shm ]; then serverdir=$(mktemp -d /dev/shm/bc-bench.XXXXXX); fi
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pids=()
bench_cleanup() {
    [ -f "$work/pg/postmaster.pid" ] && runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work" "$serverdir"
}
trap bench_cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_pg [CONF_LINE...]: initdb and start $work/pg on a free port ($port).
start_pg() {
    port=$(free_port)
    runuser -u postgres -- "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
    printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n" "$port" >>"$work/pg/postgresql.conf"
    for line in "$@"; do echo "$line" >>"$work/pg/postgresql.conf"; done
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -w start >/dev/null
}

# start_s3rver: bucket "bench" at $endpoint, with the AWS variables set.
start_s3rver() {
    local s3port
    s3port=$(free_port)
    node --openssl-legacy-provider "$top/tests/node_modules/s3rver/bin/s3rver.js" --directory "$serverdir/s3" \
        --address 127.0.0.1 --port "$s3port" --configure-bucket bench --silent >/dev/null 2>&1 &
    pids+=($!)
    until python3 -c "import socket; socket.create_connection(('127.0.0.1', $s3port), 1)" 2>/dev/null; do sleep 0.1; done
    endpoint="http://127.0.0.1:$s3port"
    export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
}

# start_s3rver_tls: a second s3rver serving https (a certificate for
# 127.0.0.1 made here, trusted through $tls_ca) at $endpoint_tls: what
# clients meet on AWS S3, where every request goes over TLS.
start_s3rver_tls() {
    local s3port
    s3port=$(free_port)
    tls_ca="$work/tls-cert.pem"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$work/tls-key.pem" -out "$tls_ca" 2>/dev/null
    node --openssl-legacy-provider "$top/tests/node_modules/s3rver/bin/s3rver.js" --directory "$serverdir/s3-tls" \
        --address 127.0.0.1 --port "$s3port" --configure-bucket bench --silent \
        --key "$work/tls-key.pem" --cert "$tls_ca" >/dev/null 2>&1 &
    pids+=($!)
    until python3 -c "import socket; socket.create_connection(('127.0.0.1', $s3port), 1)" 2>/dev/null; do sleep 0.1; done
    endpoint_tls="https://127.0.0.1:$s3port"
}

# start_azurite: Azurite's blob service with container "bench" at $azurite
# (http://127.0.0.1:PORT/devstoreaccount1), the connection string exported,
# and $azure_sas, a container SAS token for raw clients.
start_azurite() {
    local port
    port=$(free_port)
    node "$top/tests/node_modules/azurite/dist/src/blob/main.js" --blobHost 127.0.0.1 \
        --blobPort "$port" --location "$serverdir/azurite" --skipApiVersionCheck --silent \
        --disableTelemetry >/dev/null 2>&1 &
    pids+=($!)
    until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do sleep 0.1; done
    azurite="http://127.0.0.1:$port/devstoreaccount1"
    export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=$azurite;"
    azure_sas=$(node -e "
const sdk = require('$top/tests/node_modules/@azure/storage-blob');
const c = sdk.BlobServiceClient.fromConnectionString(process.env.AZURE_STORAGE_CONNECTION_STRING).getContainerClient('bench');
(async () => { await c.createIfNotExists();
  console.log((await c.generateSasUrl({ permissions: sdk.ContainerSASPermissions.parse('racwdl'),
    expiresOn: new Date(Date.now() + 86400e3) })).split('?')[1]); })();")
}

# timed NAME COMMAND: runs COMMAND once; sets secs[NAME] (wall seconds)
# and rss[NAME] (peak KiB) and prints both.
declare -A secs rss
timed() {
    local name=$1 cmd=$2 t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -o "$work/rss" -f '%M' bash -c "$cmd" >"$work/out" 2>"$work/err" ||
        { echo "$name failed:"; tail -n 5 "$work/err"; exit 1; }
    t1=$(date +%s%N)
    secs[$name]=$(python3 -c "print(f'{($t1 - $t0) / 1e9:.2f}')")
    rss[$name]=$(tail -n 1 "$work/rss")
    printf '%-34s %8s s   peak RSS %8s KiB\n' "$name" "${secs[$name]}" "${rss[$name]}"
}

ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
