#!/usr/bin/env bash
# bc-plugin's footprint: idle RSS of `bc-plugin instance`, and what a
# WAL.Archive call costs over running bc-wal-archive directly, on the same
# segments and the same s3rver. The gRPC client is Python grpcio on one
# channel (as the instance manager keeps one); the kube-apiserver is the
# tests' stand-in (the ObjectStore and Secret are cached 10 s, as upstream).
# The per-call overhead proper is measured apart, with files of a few bytes
# into a file:// store on tmpfs, where the store costs next to nothing.
#   bench/plugin.sh [SEGMENTS [SMALL_CALLS]]   (default 40 segments of 16 MiB,
#                                               400 small calls)
source "$(dirname "$0")/common.sh"
n=${1:-40}
small=${2:-400}
shm=$(mktemp -d /dev/shm/bc-bench.XXXXXX)
trap 'rm -rf "$shm"; bench_cleanup' EXIT
mkdir -p "$shm/plugin" "$shm/direct"
start_s3rver

kube="$work/kube"
mkdir -p "$kube/objects" "$work/pgdata/pg_wal" "$work/sock" "$work/stubs" "$work/files"
cat >"$kube/objects/store.json" <<JSON
[{"apiVersion": "v1", "kind": "Secret", "metadata": {"namespace": "default", "name": "creds"},
  "data": {"id": "$(printf S3RVER | base64)", "key": "$(printf S3RVER | base64)"}},
 {"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
  "metadata": {"namespace": "default", "name": "store"},
  "spec": {"configuration": {"destinationPath": "s3://bench/plugin", "endpointURL": "$endpoint",
    "s3Credentials": {"accessKeyId": {"name": "creds", "key": "id"},
                      "secretAccessKey": {"name": "creds", "key": "key"}}}}},
 {"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
  "metadata": {"namespace": "default", "name": "local"},
  "spec": {"configuration": {"destinationPath": "file://$work/files"}}},
 {"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
  "metadata": {"namespace": "default", "name": "shm"},
  "spec": {"configuration": {"destinationPath": "file://$shm/plugin"}}}]
JSON
cat >"$work/cluster.json" <<JSON
{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
 "metadata": {"namespace": "default", "name": "pg", "uid": "u"},
 "spec": {"plugins": [{"name": "barman-cloud.cloudnative-pg.io", "parameters": {"barmanObjectName": "store"}}]},
 "status": {"currentPrimary": "pg-1"}}
JSON
sed 's/"store"/"local"/' "$work/cluster.json" >"$work/cluster-local.json"
sed 's/"store"/"shm"/' "$work/cluster.json" >"$work/cluster-shm.json"
python3 "$top/tests/helpers/kube_standin.py" --dir "$kube" >/dev/null 2>&1 &
pids+=($!)
until [ -s "$kube/kubeconfig" ]; do sleep 0.1; done
/usr/bin/python3 -m grpc_tools.protoc -I "$top/proto" --python_out="$work/stubs" \
    --grpc_python_out="$work/stubs" "$top"/proto/*.proto

for i in $(seq 1 "$n"); do
    head -c 16777216 /dev/urandom >"$work/pgdata/pg_wal/$(printf '0000000100000000%08X' "$i")"
done

env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY KUBECONFIG="$kube/kubeconfig" NAMESPACE=default \
    PGDATA="$work/pgdata" SPOOL_DIRECTORY="$work/spool" \
    "$bin/bc-plugin" instance --plugin-path "$work/sock" ${BENCH_PLUGIN_LOG:--q} 2>"$work/plugin.log" &
plugin=$!
pids+=($plugin)
sock="$work/sock/barman-cloud.cloudnative-pg.io"
until [ -S "$sock" ]; do sleep 0.1; done

client() {
    PYTHONPATH="$work/stubs" /usr/bin/python3 -c "
import grpc, sys, time
import identity_pb2 as I, identity_pb2_grpc as IG, wal_pb2 as W, wal_pb2_grpc as WG
ch = grpc.insecure_channel('unix://$sock')
cluster = open('$work/cluster.json', 'rb').read()
$1"
}
status_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$plugin/status"; }
# Pss: RSS with each shared library page divided among the processes mapping it
pss_kib() { awk '$1 == "Pss:" {print $2}' "/proc/$plugin/smaps_rollup"; }

client 'IG.IdentityStub(ch).Probe(I.ProbeRequest(), timeout=5)'
idle=$(status_kib VmRSS) idle_pss=$(pss_kib)
idle_private=$(awk '$1 ~ /^Private_(Clean|Dirty):$/ {t += $2} END {print t}' "/proc/$plugin/smaps_rollup")

half=$((n / 2))
run_direct() { # FIRST LAST DIRECT_ARGS...
    local t0 t1 i first=$1 last=$2
    shift 2
    t0=$(date +%s%N)
    for i in $(seq "$first" "$last"); do
        "$bin/bc-wal-archive" "$@" "$work/pgdata/pg_wal/$(printf '0000000100000000%08X' "$i")"
    done
    t1=$(date +%s%N)
    direct=$((direct + t1 - t0))
}
run_plugin() { # FIRST LAST CLUSTER_FILE
    local ns
    ns=$(client "
stub = WG.WALStub(ch)
cl = open('$3', 'rb').read()
t = time.monotonic_ns()
for i in range($1, $2 + 1):
    stub.Archive(W.WALArchiveRequest(cluster_definition=cl, source_file_name='pg_wal/0000000100000000%08X' % i), timeout=120)
print(time.monotonic_ns() - t)")
    viaplugin=$((viaplugin + ns))
}
# measure CLUSTER_FILE DIRECT_ARGS...: interleaved halves, so drift in the
# store hits both alike; sets direct and viaplugin (ns in all).
measure() {
    local cl=$1
    shift
    direct=0 viaplugin=0
    # one call first: the ObjectStore and Secret reads are not per call
    client "WG.WALStub(ch).Status(W.WALStatusRequest(cluster_definition=open('$cl', 'rb').read()), timeout=60)" >/dev/null
    run_direct 1 "$half" "$@"
    run_plugin 1 "$half" "$cl"
    run_plugin $((half + 1)) "$n" "$cl"
    run_direct $((half + 1)) "$n" "$@"
}
measure "$work/cluster.json" --endpoint-url "$endpoint" s3://bench/direct direct
s3_direct=$direct s3_plugin=$viaplugin
measure "$work/cluster-local.json" "file://$work/files" direct

# Small files: timeline history files (a few bytes each, valid names for
# WAL.Archive), one call at a time from one Python process, alternating the
# direct run (a subprocess, as the instance manager would exec the tool)
# and WAL.Archive, so drift hits both alike. Prints the medians in ns.
for i in $(seq 2 $((small + 1))); do
    printf '1\t0/%X\tno recovery target specified\n' "$i" >"$work/pgdata/pg_wal/$(printf '%08X' "$i").history"
done
read -r small_direct small_plugin < <(client "
import subprocess, statistics
stub = WG.WALStub(ch)
cl = open('$work/cluster-shm.json', 'rb').read()
stub.Status(W.WALStatusRequest(cluster_definition=cl), timeout=60)
direct, plugin = [], []
for i in range(2, $small + 2):
    name = '%08X.history' % i
    calls = [(direct, lambda: subprocess.run(['$bin/bc-wal-archive', 'file://$shm/direct', 'direct',
                                                '$work/pgdata/pg_wal/' + name], check=True)),
             (plugin, lambda: stub.Archive(W.WALArchiveRequest(cluster_definition=cl,
                                                               source_file_name='pg_wal/' + name), timeout=60))]
    for times, call in (calls if i % 2 else calls[::-1]):
        t = time.monotonic_ns()
        call()
        times.append(time.monotonic_ns() - t)
print(int(statistics.median(direct)), int(statistics.median(plugin)))")
peak=$(status_kib VmHWM)
[ -n "${BENCH_PLUGIN_LOG:-}" ] && cp "$work/plugin.log" /tmp/bench-plugin.log
after=$(status_kib VmRSS)

python3 - "$n" "$s3_direct" "$s3_plugin" "$direct" "$viaplugin" "$idle" "$after" "$peak" "$idle_pss" "$idle_private" "$small" "$small_direct" "$small_plugin" <<'PY'
import sys
n, s3d, s3p, fd, fp, idle, after, peak, idle_pss, idle_private, small, sd, sp = map(int, sys.argv[1:])
print(f"segments                         {n} x 16 MiB per store")
for store, direct, plugin in (("s3rver", s3d, s3p), ("file://", fd, fp)):
    print(f"{store:8} bc-wal-archive direct   {direct / n / 1e6:8.1f} ms/segment")
    print(f"{store:8} through WAL.Archive     {plugin / n / 1e6:8.1f} ms/segment")
    print(f"{store:8} per-call overhead       {(plugin - direct) / n / 1e6:8.1f} ms   (plugin / direct = {plugin / direct:.3f})")
print(f"small files ({small} calls, file:// on tmpfs, medians):")
print(f"         bc-wal-archive direct   {sd / 1e6:8.2f} ms/call")
print(f"         through WAL.Archive     {sp / 1e6:8.2f} ms/call")
print(f"         per-call overhead       {(sp - sd) / 1e6:8.2f} ms")
print(f"bc-plugin RSS idle               {idle / 1024:8.1f} MiB (PSS {idle_pss / 1024:.1f} MiB, private {idle_private / 1024:.1f} MiB)")
print(f"bc-plugin RSS after the calls    {after / 1024:8.1f} MiB (peak {peak / 1024:.1f} MiB)")
PY
