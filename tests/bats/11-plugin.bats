#!/usr/bin/env bats
# bc-plugin speaks CNPG-i: a real gRPC client that no one here wrote
# (Python grpcio, with stubs compiled from our proto/ by grpc_tools) calls
# it over the Unix socket. The plugin reads its ObjectStore and Secret from
# tests/helpers/kube_standin.py (a kube-apiserver stand-in) and stores in
# s3rver.

load helpers

setup_file() {
    start_s3rver
    export K=$(scratch_dir) P=$(scratch_dir) PGD=$(scratch_dir)
    cnpg_objects "$K" store "s3://test/plugin"
    # a store whose endpoint refuses connections, for deadlines
    cnpg_objects "$K" dead "s3://test/dead"
    sed -i "s|$S3_ENDPOINT|http://127.0.0.1:9|" "$K/objects/dead.json"
    cnpg_cluster "$P/cluster.json" pg store
    cnpg_cluster "$P/dead-cluster.json" pg dead
    start_kube "$K"
    mkdir -p "$PGD/pg_wal"
    start_plugin instance "$P" CLUSTER_NAME=pg POD_NAME=pg-2 PGDATA="$PGD" \
        SPOOL_DIRECTORY="$P/spool"
}

teardown_file() {
    stop_plugin "$P"
    kill "$(cat "$K/standin.pid")" "$(cat "$S3RVER_DIR/pid")" "$(cat "$S3RVER_DIR/gate.pid")" 2>/dev/null || true
}

# client PYTHON: runs PYTHON with the stubs importable, `channel` open on
# the socket, stubs identity/wal/backup/metrics, CLUSTER (the Cluster JSON)
# and status_of(method, raw bytes) / code_of(callable).
client() {
    PYTHONPATH="$P/stubs:$BC_TOP/tests/helpers" /usr/bin/python3 -c "
import grpc, sys
import identity_pb2 as I, identity_pb2_grpc as IG
import wal_pb2 as W, wal_pb2_grpc as WG
import metrics_pb2 as M, metrics_pb2_grpc as MG
SOCKET = 'unix://$P/sock/barman-cloud.cloudnative-pg.io'
CLUSTER = open('$P/cluster.json', 'rb').read()
channel = grpc.insecure_channel(SOCKET)
identity = IG.IdentityStub(channel)
wal = WG.WALStub(channel)
metrics = MG.MetricsStub(channel)
from rpc_outcome import code_of
def status_of(method, payload, timeout=5):
    return code_of(lambda: channel.unary_unary(method)(payload, timeout=timeout))
$1"
}

@test "Identity: metadata, capabilities and probe" {
    run client '
m = identity.GetPluginMetadata(I.GetPluginMetadataRequest(), timeout=5)
print(m.name, m.version, m.license)
caps = identity.GetPluginCapabilities(I.GetPluginCapabilitiesRequest(), timeout=5).capabilities
print(" ".join(sorted(I.PluginCapability.Service.Type.Name(c.service.type) for c in caps)))
print(identity.Probe(I.ProbeRequest(), timeout=5).ready)
print(" ".join(W.WALCapability.RPC.Type.Name(c.rpc.type) for c in wal.GetCapabilities(W.WALCapabilitiesRequest(), timeout=5).capabilities))'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "barman-cloud.cloudnative-pg.io $(bc-plugin -V | cut -d' ' -f2) Apache-2.0" ]
    [ "${lines[1]}" = "TYPE_BACKUP_SERVICE TYPE_METRICS TYPE_RESTORE_JOB TYPE_WAL_SERVICE" ]
    [ "${lines[2]}" = True ]
    [ "${lines[3]}" = "TYPE_ARCHIVE_WAL TYPE_RESTORE_WAL" ]
}

@test "unknown methods, malformed and oversized requests get gRPC errors, not a crash" {
    run client '
print(status_of("/cnpgi.operator.v1.Operator/ValidateClusterCreate", b""))
print(status_of("/cnpgi.identity.v1.Identity/Probe", b"\xff\xff\xff"))
print(status_of("/cnpgi.identity.v1.Identity/Probe", b"\x0a" * (5 * 1024 * 1024)))
print(status_of("/cnpgi.wal.v1.WAL/Archive", W.WALArchiveRequest(cluster_definition=b"{not json", source_file_name="x").SerializeToString()))'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "UNIMPLEMENTED unknown method /cnpgi.operator.v1.Operator/ValidateClusterCreate" ]
    [ "${lines[1]}" = "INVALID_ARGUMENT malformed cnpgi.identity.v1.ProbeRequest message" ]
    [[ "${lines[2]}" == "RESOURCE_EXHAUSTED"* ]]
    [[ "${lines[3]}" == "INVALID_ARGUMENT the cluster definition is not JSON"* ]]
    # garbage instead of HTTP/2 only costs that connection
    python3 -c "
import socket
s = socket.socket(socket.AF_UNIX); s.connect('$P/sock/barman-cloud.cloudnative-pg.io')
s.sendall(b'GET / HTTP/1.1\r\n\r\n' + bytes(range(256)) * 4)
s.settimeout(5)
while s.recv(4096): pass"
    run client 'print(identity.Probe(I.ProbeRequest(), timeout=5).ready)'
    [ "$output" = True ]
}

@test "concurrent calls on one connection and on many" {
    run client '
from concurrent.futures import ThreadPoolExecutor
chans = [grpc.insecure_channel(SOCKET) for _ in range(8)]
def call(i):
    stub = IG.IdentityStub(chans[i % 8] if i % 2 else channel)
    return stub.Probe(I.ProbeRequest(), timeout=10).ready
with ThreadPoolExecutor(16) as pool:
    print(sum(pool.map(call, range(200))))'
    [ "$output" = 200 ]
}

@test "WAL.Archive stores the segment where barman-cloud finds it; Restore gives it back" {
    make_segment "$PGD/pg_wal/000000010000000000000001" 1
    run "$BC_TOP/tests/helpers/cnpgi_wal.py" --socket "$P/sock/barman-cloud.cloudnative-pg.io" \
        --stubs "$P/stubs" --cluster "$P/cluster.json" archive pg_wal/000000010000000000000001
    [ "$status" -eq 0 ]
    # the ObjectStore's gzip, credentials from its Secret, server name = Cluster name
    barman-cloud-wal-restore --endpoint-url "$S3_ENDPOINT" s3://test/plugin pg \
        000000010000000000000001 "$P/by-barman"
    cmp "$P/by-barman" "$PGD/pg_wal/000000010000000000000001"
    run bc-ls wals --endpoint-url "$S3_ENDPOINT" s3://test/plugin pg
    [[ "$output" == *"000000010000000000000001"* ]]
    # through the plugin, byte-identical, relative to PGDATA
    run "$BC_TOP/tests/helpers/cnpgi_wal.py" --socket "$P/sock/barman-cloud.cloudnative-pg.io" \
        --stubs "$P/stubs" --cluster "$P/cluster.json" restore 000000010000000000000001 pg_wal/RECOVERYXLOG
    [ "$status" -eq 0 ]
    cmp "$PGD/pg_wal/RECOVERYXLOG" "$PGD/pg_wal/000000010000000000000001"
}

@test "WAL: a missing segment is NOT_FOUND, a different file under an archived name is refused" {
    run client '
print(code_of(lambda: wal.Restore(W.WALRestoreRequest(cluster_definition=CLUSTER,
    source_wal_name="0000000100000000000000FE", destination_file_name="pg_wal/RECOVERYXLOG"), timeout=60)))'
    [ "$output" = 'NOT_FOUND wal "0000000100000000000000FE": WAL 0000000100000000000000FE not found in s3://test/plugin (server pg)' ] ||
        [[ "$output" == "NOT_FOUND wal \"0000000100000000000000FE\""* ]]
    make_segment "$PGD/pg_wal/000000010000000000000002" 2
    make_segment "$P/other" 3
    run client '
req = lambda: wal.Archive(W.WALArchiveRequest(cluster_definition=CLUSTER, source_file_name="pg_wal/000000010000000000000002"), timeout=60)
print(code_of(req))'
    [ "$output" = OK ]
    cp "$P/other" "$PGD/pg_wal/000000010000000000000002"
    run client 'print(code_of(lambda: wal.Archive(W.WALArchiveRequest(cluster_definition=CLUSTER, source_file_name="pg_wal/000000010000000000000002"), timeout=60)))'
    [[ "$output" == "ALREADY_EXISTS 000000010000000000000002: "* ]]
    # the archived one is still the first
    barman-cloud-wal-restore --endpoint-url "$S3_ENDPOINT" s3://test/plugin pg \
        000000010000000000000002 "$P/kept"
    ! cmp -s "$P/kept" "$P/other" || false
}

@test "WAL.Restore on a standby prefetches and stops at the end of the archive; on the primary it does not" {
    cnpg_objects "$K" ahead "s3://test/ahead"
    sed -i 's/"wal": {"compression": "gzip"}/"wal": {"compression": "gzip", "maxParallel": 3}/' "$K/objects/ahead.json"
    cnpg_cluster "$P/ahead.json" pg ahead            # primary pg-1: this pod (pg-2) is a standby
    cnpg_cluster "$P/ahead-self.json" pg ahead pg-2  # this pod is the primary
    for i in 1 2; do
        make_segment "$P/ahead$i" "$i"
        cp "$P/ahead$i" "$P/00000001000000000000000$i"
        bc-wal-archive --endpoint-url "$S3_ENDPOINT" s3://test/ahead pg "$P/00000001000000000000000$i"
    done
    restore() { # CLUSTER WAL
        "$BC_TOP/tests/helpers/cnpgi_wal.py" --socket "$P/sock/barman-cloud.cloudnative-pg.io" \
            --stubs "$P/stubs" --cluster "$1" restore "$2" pg_wal/RECOVERYXLOG
    }
    run restore "$P/ahead.json" 000000010000000000000001
    [ "$status" -eq 0 ]
    cmp "$PGD/pg_wal/RECOVERYXLOG" "$P/ahead1"
    # two wanted after segment 1, one found and fetched: the end is in sight
    [ -f "$P/spool/restore/000000010000000000000002" ]
    [ -e "$P/spool/restore/end-of-wal-stream" ]
    run restore "$P/ahead.json" 000000010000000000000002
    [ "$status" -eq 0 ]
    cmp "$PGD/pg_wal/RECOVERYXLOG" "$P/ahead2"
    # the next miss is answered at once, so the standby turns to streaming
    run restore "$P/ahead.json" 000000010000000000000003
    [ "$status" -eq 1 ]
    [[ "$output" == *NOT_FOUND*"end-of-WAL-stream flag"* ]]
    [ ! -e "$P/spool/restore/end-of-wal-stream" ]
    # the primary cannot stream from anyone: no flag
    run restore "$P/ahead-self.json" 000000010000000000000001
    [ "$status" -eq 0 ]
    [ ! -e "$P/spool/restore/end-of-wal-stream" ]
}

@test "WAL.Status reports the archive; SetFirstRequired checks its WAL name" {
    run client '
s = wal.Status(W.WALStatusRequest(cluster_definition=CLUSTER), timeout=60)
print(s.first_wal, s.last_wal)
print(code_of(lambda: wal.SetFirstRequired(W.SetFirstRequiredRequest(cluster_definition=CLUSTER, first_required_wal="000000010000000000000002"), timeout=5)))
print(code_of(lambda: wal.SetFirstRequired(W.SetFirstRequiredRequest(cluster_definition=CLUSTER, first_required_wal="../etc"), timeout=5)))'
    [ "${lines[0]}" = "000000010000000000000001 000000010000000000000002" ]
    [ "${lines[1]}" = OK ]
    [[ "${lines[2]}" == "INVALID_ARGUMENT "* ]]
}

@test "a missing ObjectStore or Secret is an error naming it" {
    cnpg_cluster "$P/nostore.json" pg nosuchstore
    run "$BC_TOP/tests/helpers/cnpgi_wal.py" --socket "$P/sock/barman-cloud.cloudnative-pg.io" \
        --stubs "$P/stubs" --cluster "$P/nostore.json" archive pg_wal/000000010000000000000001
    [ "$status" -eq 1 ]
    [[ "$output" == *"NOT_FOUND"*"nosuchstore"* ]]
    cnpg_objects "$K" nosecret "s3://test/x"
    sed -i 's/"nosecret-creds", "key": "ACCESS_KEY_ID"/"gone", "key": "ACCESS_KEY_ID"/' "$K/objects/nosecret.json"
    cnpg_cluster "$P/nosecret.json" pg nosecret
    run "$BC_TOP/tests/helpers/cnpgi_wal.py" --socket "$P/sock/barman-cloud.cloudnative-pg.io" \
        --stubs "$P/stubs" --cluster "$P/nosecret.json" archive pg_wal/000000010000000000000001
    [ "$status" -eq 1 ]
    [[ "$output" == *"accessKeyId"*"gone"* ]]
}

@test "deadlines: a call past its grpc-timeout gets DEADLINE_EXCEEDED and its tool is stopped" {
    make_segment "$PGD/pg_wal/000000010000000000000003" 3
    run client '
import time
dead = open("'"$P"'/dead-cluster.json", "rb").read()
t = time.monotonic()
print(code_of(lambda: wal.Archive(W.WALArchiveRequest(cluster_definition=dead, source_file_name="pg_wal/000000010000000000000003"), timeout=0.5)))
print(time.monotonic() - t < 3)'
    [[ "${lines[0]}" == "DEADLINE_EXCEEDED"* ]]
    [ "${lines[1]}" = True ]
    wait_for 30 grep -q 'abandoned by the client: stopping pid' "$P/plugin.log"
    wait_for 30 grep -q 'finished after the call was abandoned' "$P/plugin.log"
}

@test "Metrics: the three gauges, from the ObjectStore status" {
    run client '
names = sorted(m.fq_name for m in metrics.Define(M.DefineMetricsRequest(cluster_definition=CLUSTER), timeout=5).metrics)
print(" ".join(names))
got = {m.fq_name: m.value for m in metrics.Collect(M.CollectMetricsRequest(cluster_definition=CLUSTER), timeout=5).metrics}
print(len(got), sum(got.values()))'
    [ "${lines[0]}" = "barman_cloud_cloudnative_pg_io_first_recoverability_point barman_cloud_cloudnative_pg_io_last_available_backup_timestamp barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp" ]
    [ "${lines[1]}" = "3 0.0" ]
    # a status written by a backup or retention shows up (after the 10 s cache at most)
    python3 - "$K/objects/store.json" <<'PY'
import json, sys
objs = json.load(open(sys.argv[1]))
objs[1]["status"] = {"serverRecoveryWindow": {"pg": {
    "firstRecoverabilityPoint": "2026-01-02T03:04:05Z",
    "lastSuccessfulBackupTime": "2026-01-03T00:00:00Z",
    "lastFailedBackupTime": "2026-01-01T00:00:00Z"}}}
json.dump(objs, open(sys.argv[1], "w"))
PY
    collect() {
        client '
got = {m.fq_name: m.value for m in metrics.Collect(M.CollectMetricsRequest(cluster_definition=CLUSTER), timeout=5).metrics}
print(int(got["barman_cloud_cloudnative_pg_io_first_recoverability_point"]), int(got["barman_cloud_cloudnative_pg_io_last_available_backup_timestamp"]), int(got["barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp"]))'
    }
    wait_for 20 sh -c "$(declare -f client collect); P=$P BC_TOP=$BC_TOP collect | grep -qx '1767323045 1767398400 1767225600'"
}

@test "credentials reach neither argv nor the log" {
    # S3RVER is the access key and the secret: registered for redaction
    ! grep -q S3RVER "$P/plugin.log" || false
    ! grep -qF "$(cat "$K/serviceaccount/token")" "$P/plugin.log" || false
    # every relayed tool line is JSON with the tool and its pid
    grep '"logger":"bc-wal-' "$P/plugin.log" | python3 -c '
import json, sys
lines = [json.loads(l) for l in sys.stdin]
assert lines and all("pid" in l for l in lines), lines'
    # the stand-in saw the Secret read with a token
    grep -q '"path": "/api/v1/namespaces/default/secrets/store-creds".*"token_ok": true' "$K/journal"
}

@test "SIGTERM drains the calls in progress, then the plugin exits and removes its socket" {
    dir=$(scratch_dir)
    start_plugin instance "$dir" PGDATA="$PGD" SPOOL_DIRECTORY="$dir/spool"
    cp "$P/dead-cluster.json" "$dir/cluster.json"
    make_segment "$PGD/pg_wal/000000010000000000000004" 4
    # a slow call (retries against a closed port), then SIGTERM while it runs
    "$BC_TOP/tests/helpers/cnpgi_wal.py" --socket "$dir/sock/barman-cloud.cloudnative-pg.io" \
        --stubs "$dir/stubs" --cluster "$dir/cluster.json" archive pg_wal/000000010000000000000004 \
        2>"$dir/call.err" &
    call=$!
    wait_for 30 grep -q 'started bc-wal-archive' "$dir/plugin.log"
    kill -TERM "$(cat "$dir/plugin.pid")"
    wait_for 10 grep -q 'draining: waiting for 1 call' "$dir/plugin.log"
    # the call still gets its real answer, not a broken connection
    rc=0
    wait "$call" || rc=$?
    [ "$rc" -eq 1 ]
    grep -q 'archive: UNAVAILABLE' "$dir/call.err"
    wait_for 30 sh -c "! kill -0 $(cat "$dir/plugin.pid")"
    [ ! -e "$dir/sock/barman-cloud.cloudnative-pg.io" ]
    run bc-plugin serve
    [ "$status" -eq 3 ]
}
