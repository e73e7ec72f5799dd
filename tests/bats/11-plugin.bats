#!/usr/bin/env bats
# bc-plugin speaks CNPG-i: a real gRPC client that no one here wrote
# (Python grpcio, with stubs compiled from our proto/ by grpc_tools) calls
# it over the Unix socket.

load helpers

setup_file() {
    export W=$(scratch_dir) SOCK_DIR=$(scratch_dir)
    /usr/bin/python3 -m grpc_tools.protoc -I "$BC_TOP/proto" --python_out="$W" \
        --grpc_python_out="$W" "$BC_TOP"/proto/*.proto
    bc-plugin instance --plugin-path "$SOCK_DIR" -v 2>"$W/plugin.log" &
    echo $! >"$W/plugin.pid"
    wait_for 10 test -S "$SOCK_DIR/barman-cloud.cloudnative-pg.io"
}

teardown_file() {
    kill "$(cat "$W/plugin.pid")" 2>/dev/null || true
}

# client PYTHON: runs PYTHON with the stubs importable, `channel` open on
# SOCKET, `identity` its Identity stub and status_of(method, raw bytes).
client() {
    PYTHONPATH="$W" /usr/bin/python3 -c "
import grpc, sys
import identity_pb2 as I, identity_pb2_grpc as IG
SOCKET = 'unix://$SOCK_DIR/barman-cloud.cloudnative-pg.io'
channel = grpc.insecure_channel(SOCKET)
identity = IG.IdentityStub(channel)
def status_of(method, payload):
    try:
        channel.unary_unary(method)(payload, timeout=5)
        return 'OK'
    except grpc.RpcError as e:
        return '%s %s' % (e.code().name, e.details())
$1"
}

@test "Identity: metadata, capabilities and probe" {
    run client '
m = identity.GetPluginMetadata(I.GetPluginMetadataRequest(), timeout=5)
print(m.name, m.version, m.license)
print(len(identity.GetPluginCapabilities(I.GetPluginCapabilitiesRequest(), timeout=5).capabilities))
print(identity.Probe(I.ProbeRequest(), timeout=5).ready)'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "barman-cloud.cloudnative-pg.io $(bc-plugin -V | cut -d' ' -f2) Apache-2.0" ]
    # only services this build answers are announced
    [ "${lines[1]}" = 0 ]
    [ "${lines[2]}" = True ]
}

@test "unknown methods, malformed and oversized requests get gRPC errors, not a crash" {
    run client '
print(status_of("/cnpgi.wal.v1.WAL/Archive", b""))
print(status_of("/cnpgi.identity.v1.Identity/Probe", b"\xff\xff\xff"))
print(status_of("/cnpgi.identity.v1.Identity/Probe", b"\x0a" * (5 * 1024 * 1024)))'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "UNIMPLEMENTED unknown method /cnpgi.wal.v1.WAL/Archive" ]
    [ "${lines[1]}" = "INVALID_ARGUMENT malformed cnpgi.identity.v1.ProbeRequest message" ]
    [[ "${lines[2]}" == "RESOURCE_EXHAUSTED"* ]]
    # garbage instead of HTTP/2 only costs that connection
    python3 -c "
import socket
s = socket.socket(socket.AF_UNIX); s.connect('$SOCK_DIR/barman-cloud.cloudnative-pg.io')
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

@test "SIGTERM stops the plugin and removes its socket" {
    dir=$(scratch_dir)
    bc-plugin instance --plugin-path "$dir" &
    pid=$!
    wait_for 10 test -S "$dir/barman-cloud.cloudnative-pg.io"
    kill -TERM "$pid"
    wait "$pid"
    [ ! -e "$dir/barman-cloud.cloudnative-pg.io" ]
    run bc-plugin serve
    [ "$status" -eq 3 ]
}
