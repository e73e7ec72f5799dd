#!/usr/bin/env bats
# bc-plugin's Kubernetes client (lib/kube: HTTP/1.1 over OpenSSL) against
# tests/helpers/kube_standin.py, configured each way a pod or a person
# would: token or client-certificate kubeconfig, in-cluster service
# account, a server behind a path prefix that answers chunked and 503 while
# restarting, and servers that must be refused. Each test starts a plugin
# and asks Metrics.Collect, which reads the ObjectStore from the API.

load helpers

# objects DIR: an ObjectStore whose status a backup has written.
objects() {
    mkdir -p "$1/objects"
    cat >"$1/objects/store.json" <<'JSON'
{"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
 "metadata": {"namespace": "default", "name": "store", "resourceVersion": "1"},
 "spec": {"configuration": {"destinationPath": "file:///nonexistent"}},
 "status": {"serverRecoveryWindow": {"pg": {"lastSuccessfulBackupTime": "2026-01-03T00:00:00Z"}}}}
JSON
}

setup_file() {
    export K=$(scratch_dir) R=$(scratch_dir) N=$(scratch_dir)
    objects "$K"
    objects "$R"
    objects "$N"
    start_kube "$R" --chunked --unavailable 2 --prefix /k8s/clusters/c-1
    start_kube "$N" --server-name kube.example
    start_kube "$K"
}

teardown_file() {
    kill "$(cat "$K/standin.pid")" "$(cat "$R/standin.pid")" "$(cat "$N/standin.pid")" 2>/dev/null || true
}

teardown() {
    [ -z "${P:-}" ] || stop_plugin "$P"
}

# collect KUBECONFIG [VAR=VALUE...]: starts a plugin reading the API as
# told and prints what Metrics.Collect answers: the last-backup gauge, or
# the gRPC error.
collect() {
    local kubeconfig=$1
    shift
    P=$(scratch_dir)
    cnpg_cluster "$P/cluster.json" pg store
    # no CLUSTER_NAME: no retention run, so the journal holds only the calls
    KUBECONFIG=$kubeconfig start_plugin instance "$P" "$@" >/dev/null
    PYTHONPATH="$P/stubs" /usr/bin/python3 -c "
import grpc, metrics_pb2 as M, metrics_pb2_grpc as MG
stub = MG.MetricsStub(grpc.insecure_channel('unix://$P/sock/barman-cloud.cloudnative-pg.io'))
try:
    got = stub.Collect(M.CollectMetricsRequest(cluster_definition=open('$P/cluster.json', 'rb').read()), timeout=20)
    print(int({m.fq_name: m.value for m in got.metrics}['barman_cloud_cloudnative_pg_io_last_available_backup_timestamp']))
except grpc.RpcError as e:
    print(e.code().name, e.details())"
}

# last_request DIR FIELD: FIELD of the stand-in's last journaled request.
last_request() {
    tail -n 1 "$1/journal" | python3 -c "import json, sys; print(json.load(sys.stdin)['$2'])"
}

@test "a kubeconfig with a bearer token, and one with a client certificate" {
    run collect "$K/kubeconfig"
    [ "$output" = 1767398400 ]
    [ "$(last_request "$K" token_ok)" = True ]
    stop_plugin "$P"
    run collect "$K/kubeconfig-cert"
    [ "$output" = 1767398400 ]
    [ "$(last_request "$K" token_ok)" = False ]
    [ "$(last_request "$K" client_cert)" = True ]
}

@test "in a pod: the service-account token, CA and namespace" {
    run collect "" KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT="$(cat "$K/port")" \
        BC_KUBE_SA_DIR="$K/serviceaccount"
    [ "$output" = 1767398400 ]
    [ "$(last_request "$K" token_ok)" = True ]
    [ "$(last_request "$K" path)" = /apis/barmancloud.cnpg.io/v1/namespaces/default/objectstores/store ]
}

@test "behind a path prefix, chunked replies and 503s while the apiserver restarts" {
    run collect "$R/kubeconfig"
    [ "$output" = 1767398400 ]
    # the first two attempts got 503 and were tried again
    [ "$(python3 -c "import json; print([json.loads(l)['status'] for l in open('$R/journal')])")" = "[503, 503, 200]" ]
    [ "$(last_request "$R" path)" = /k8s/clusters/c-1/apis/barmancloud.cnpg.io/v1/namespaces/default/objectstores/store ]
}

@test "a server certificate for another name or from another CA is refused" {
    local port
    # N's certificate names kube.example only: neither its IP address ...
    port=$(cat "$N/port")
    run collect "$N/kubeconfig"
    [[ "$output" == "UNAVAILABLE "*"TLS certificate verification failed for 127.0.0.1:$port"* ]]
    stop_plugin "$P"
    # ... nor another name for it will do
    sed "s|https://127.0.0.1:$port|https://localhost:$port|" "$N/kubeconfig" >"$BATS_TEST_TMPDIR/other-name"
    run collect "$BATS_TEST_TMPDIR/other-name"
    [[ "$output" == "UNAVAILABLE "*"TLS certificate verification failed for localhost:$port"* ]]
    stop_plugin "$P"
    # K's server and token, R's CA
    local ca_k ca_r
    port=$(cat "$K/port")
    ca_k=$(awk '/certificate-authority-data/ {print $2}' "$K/kubeconfig")
    ca_r=$(awk '/certificate-authority-data/ {print $2}' "$R/kubeconfig")
    sed "s|$ca_k|$ca_r|" "$K/kubeconfig" >"$BATS_TEST_TMPDIR/other-ca"
    run collect "$BATS_TEST_TMPDIR/other-ca"
    [[ "$output" == *"TLS certificate verification failed for 127.0.0.1:$port"* ]]
    # nothing reached the API servers
    [ ! -e "$N/journal" ]
}

@test "a wrong token is a one-line 401 that does not show the token" {
    sed 's/token: .*/token: not-the-token-0123456789/' "$K/kubeconfig" >"$BATS_TEST_TMPDIR/bad-token"
    run collect "$BATS_TEST_TMPDIR/bad-token"
    [[ "$output" == *"kube-apiserver: GET /apis/barmancloud.cnpg.io/v1/namespaces/default/objectstores/store: 401 Unauthorized"* ]]
    [ "${#lines[@]}" -eq 1 ]
    ! grep -q not-the-token "$P/plugin.log"
}

@test "an API server that is not listening is named" {
    cat >"$BATS_TEST_TMPDIR/closed" <<'YAML'
apiVersion: v1
kind: Config
current-context: c
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:9
contexts:
- name: c
  context: {cluster: c, user: u, namespace: default}
users:
- name: u
  user: {token: abc}
YAML
    run collect "$BATS_TEST_TMPDIR/closed"
    [[ "$output" == "UNAVAILABLE "*"cannot connect to 127.0.0.1:9: Connection refused"* ]]
}
