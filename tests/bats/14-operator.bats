#!/usr/bin/env bats
# bc-plugin operator, the plugin's operator side, as CloudNativePG's operator
# uses it: Python grpcio over TCP with mutual TLS and certificates made as
# cert-manager makes them (tests/helpers/plugin_certs.py), RFC 6902 patches
# applied with python3-jsonpatch to CloudNativePG-shaped Pods and Jobs, and
# the Roles, RoleBindings and Lease it writes read back from the
# kube-apiserver stand-in (tests/helpers/kube_standin.py).

load helpers

setup_file() {
    export K=$(scratch_dir) O=$(scratch_dir)
    export OP_CERTS="$O/certs" OP_STUBS="$O/stubs"
    /usr/bin/python3 "$BC_TOP/tests/helpers/plugin_certs.py" "$OP_CERTS"
    mkdir -p "$OP_STUBS" "$K/objects"
    /usr/bin/python3 -m grpc_tools.protoc -I "$BC_TOP/proto" --python_out="$OP_STUBS" \
        --grpc_python_out="$OP_STUBS" "$BC_TOP"/proto/*.proto
    write_stores 1
    start_kube "$K"
    export OP_PORT=$(free_port) OP_HEALTH=$(free_port)
    export OP_ADDR="127.0.0.1:$OP_PORT"
    start_operator "$O/op1" "$OP_PORT" "$OP_HEALTH"
    wait_for 30 ready "$OP_HEALTH"
}

teardown_file() {
    stop_operator "$O/op1"
    kill "$(cat "$K/standin.pid")" 2>/dev/null || true
}

# write_stores GENERATION: the ObjectStores and Secrets of these tests; the
# "store" ObjectStore's credentials change with the generation.
write_stores() {
    local region='{"name": "region-secret", "key": "REGION"}'
    [ "$1" -gt 1 ] && region='{"name": "region-secret-2", "key": "REGION"}'
    cat >"$K/objects/stores.json" <<JSON
[{"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
  "metadata": {"namespace": "default", "name": "store", "generation": $1},
  "spec": {"configuration": {"destinationPath": "s3://bucket/pg", "endpointURL": "https://s3.example:9000",
     "endpointCA": {"name": "store-ca", "key": "ca.crt"},
     "s3Credentials": {"accessKeyId": {"name": "store-creds", "key": "ACCESS_KEY_ID"},
                       "secretAccessKey": {"name": "store-creds", "key": "ACCESS_SECRET_KEY"},
                       "region": $region}},
   "instanceSidecarConfiguration": {
     "env": [{"name": "STORE_ENV", "value": "from-store"}, {"name": "NAMESPACE", "value": "not-this"},
             {"name": "STORE_ENV", "value": "second"}],
     "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
     "additionalContainerArgs": ["--log-format=json"], "logLevel": "debug"}}},
 {"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
  "metadata": {"namespace": "default", "name": "iam", "generation": 1},
  "spec": {"configuration": {"destinationPath": "s3://bucket/iam",
     "s3Credentials": {"inheritFromIAMRole": true}},
   "instanceSidecarConfiguration": {"env": [{"name": "IAM_ENV", "value": "1"}],
     "resources": {"limits": {"memory": "128Mi"}}}}},
 {"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
  "metadata": {"namespace": "default", "name": "recovery", "generation": 1},
  "spec": {"configuration": {"destinationPath": "gs://bucket/old",
     "googleCredentials": {"applicationCredentials": {"name": "gcs-creds", "key": "key.json"}}},
   "instanceSidecarConfiguration": {"env": [{"name": "RECOVERY_ENV", "value": "r"}],
     "resources": {"requests": {"memory": "256Mi"}}}}},
 {"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
  "metadata": {"namespace": "default", "name": "azure-ad", "generation": 1},
  "spec": {"configuration": {"destinationPath": "https://acct.blob.core.windows.net/c/p",
     "azureCredentials": {"inheritFromAzureAD": true,
                          "storageAccount": {"name": "az-account", "key": "name"}}}}},
 {"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
  "metadata": {"namespace": "default", "name": "named", "generation": 1},
  "spec": {"configuration": {"destinationPath": "s3://bucket/n", "serverName": "other",
     "s3Credentials": {"inheritFromIAMRole": true}}}}]
JSON
}

# start_operator DIR PORT HEALTH_PORT [VAR=VALUE...]
start_operator() {
    local dir=$1 port=$2 health=$3
    shift 3
    mkdir -p "$dir"
    env SIDECAR_IMAGE=registry.example/bc:1.2.3 NAMESPACE=default POD_NAME="$(basename "$dir")" \
        BC_ROLE_SYNC_SECONDS=1 "$@" \
        "$BC_BIN/bc-plugin" operator --server-address "127.0.0.1:$port" \
        --server-cert "$OP_CERTS/server.crt" --server-key "$OP_CERTS/server.key" \
        --client-cert "$OP_CERTS/client.crt" --leader-elect \
        --health-probe-bind-address "127.0.0.1:$health" --log-level=debug \
        2>"$dir/log" 3>&- &
    echo $! >"$dir/pid"
}
stop_operator() { # DIR
    local pid
    pid=$(cat "$1/pid" 2>/dev/null) || return 0
    kill "$pid" 2>/dev/null || true
    wait_for 30 sh -c "! kill -0 $pid"
}
ready() { curl -sf "http://127.0.0.1:$1/readyz" >/dev/null; }

# op PYTHON: runs PYTHON with tests/helpers/cnpgi_operator.py imported as *
# (grpc's own log lines, which a refused handshake provokes, kept out).
op() {
    GRPC_VERBOSITY=NONE PYTHONPATH="$BC_TOP/tests/helpers" /usr/bin/python3 -c "
import json, sys
from cnpgi_operator import *
$1"
}

@test "operator: refuses to start without SIDECAR_IMAGE, or with TLS files missing" {
    run env -u SIDECAR_IMAGE "$BC_BIN/bc-plugin" operator --server-address 127.0.0.1:0 \
        --server-cert "$OP_CERTS/server.crt" --server-key "$OP_CERTS/server.key" \
        --client-cert "$OP_CERTS/client.crt" --health-probe-bind-address 0
    [ "$status" -eq 3 ]
    [[ "$output" == *"SIDECAR_IMAGE is not set"* ]]
    run env SIDECAR_IMAGE=x "$BC_BIN/bc-plugin" operator --server-address 127.0.0.1:0 \
        --server-cert "$OP_CERTS/nope.crt" --server-key "$OP_CERTS/server.key" \
        --client-cert "$OP_CERTS/client.crt" --health-probe-bind-address 0
    [ "$status" -eq 3 ]
    [[ "$output" == *"nope.crt"* ]]
    run env SIDECAR_IMAGE=x "$BC_BIN/bc-plugin" operator --server-address 127.0.0.1:0 \
        --health-probe-bind-address 0
    [ "$status" -eq 3 ]
    [[ "$output" == *"--server-cert"* ]]
}

@test "Identity over mutual TLS: metadata and the operator side's capabilities" {
    run op '
idn, _, _, _ = stubs()
m = idn.GetPluginMetadata(I.GetPluginMetadataRequest(), timeout=5)
print(m.name)
caps = idn.GetPluginCapabilities(I.GetPluginCapabilitiesRequest(), timeout=5).capabilities
print(" ".join(I.PluginCapability.Service.Type.Name(c.service.type) for c in caps))
print(idn.Probe(I.ProbeRequest(), timeout=5).ready)'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = barman-cloud.cloudnative-pg.io ]
    [ "${lines[1]}" = "TYPE_RECONCILER_HOOKS TYPE_LIFECYCLE_SERVICE TYPE_INSTANCE_SIDECAR_INJECTION TYPE_OPERATOR_SERVICE" ]
    [ "${lines[2]}" = True ]
}

@test "a client without the right certificate, or on TLS 1.2, is refused in the handshake" {
    run op '
idn = IG.IdentityStub(channel("foreign"))
print(code_of(lambda: idn.Probe(I.ProbeRequest(), timeout=5)))
import socket, ssl
def handshake(cert=None, tls12=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.environ["OP_CERTS"] + "/server.crt")
    ctx.set_alpn_protocols(["h2"])
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if cert:
        ctx.load_cert_chain(os.environ["OP_CERTS"] + "/" + cert + ".crt", os.environ["OP_CERTS"] + "/" + cert + ".key")
    host, port = os.environ["OP_ADDR"].split(":")
    try:
        with ctx.wrap_socket(socket.create_connection((host, int(port)), 5), server_hostname="barman-cloud") as s:
            s.settimeout(5)
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            data = s.recv(100)   # TLS 1.3: a refused client certificate shows here
            return "open %s %d" % (s.selected_alpn_protocol(), len(data))
    except (ssl.SSLError, ConnectionError) as e:
        return "refused"
import os
print(handshake("client"))
print(handshake(None))
print(handshake("foreign"))
print(handshake("client", tls12=True))'
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == UNAVAILABLE* ]]
    [[ "${lines[1]}" == "open h2 "* ]]
    [ "${lines[2]}" = refused ]
    [ "${lines[3]}" = refused ]
    [ "${lines[4]}" = refused ]
    # refused before any call: the log has the handshake failures, no RPC
    grep -q "TLS handshake" "$O/op1/log"
    ! grep -q "Identity/Probe: status" "$O/op1/log"
}

@test "a renewed server certificate is used from the next connection, without a restart" {
    cp "$OP_CERTS/server.crt" "$O/old-server.crt"
    /usr/bin/python3 "$BC_TOP/tests/helpers/plugin_certs.py" "$OP_CERTS" server
    ! cmp -s "$O/old-server.crt" "$OP_CERTS/server.crt"
    run op '
import hashlib, os, socket, ssl
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(os.environ["OP_CERTS"] + "/server.crt")
ctx.load_cert_chain(os.environ["OP_CERTS"] + "/client.crt", os.environ["OP_CERTS"] + "/client.key")
host, port = os.environ["OP_ADDR"].split(":")
with ctx.wrap_socket(socket.create_connection((host, int(port)), 5), server_hostname="barman-cloud") as s:
    served = ssl.DER_cert_to_PEM_cert(s.getpeercert(True))
want = open(os.environ["OP_CERTS"] + "/server.crt").read()
print(ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(want))
idn, _, _, _ = stubs()
print(idn.Probe(I.ProbeRequest(), timeout=5).ready)'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = True ]
    [ "${lines[1]}" = True ]
}

@test "OperatorLifecycle: Pods on CREATE and EVALUATE, batch Jobs on CREATE" {
    run op '
_, lc, _, _ = stubs()
for c in lc.GetCapabilities(L.OperatorLifecycleCapabilitiesRequest(), timeout=5).lifecycle_capabilities:
    print(repr(c.group), c.kind, " ".join(L.OperatorOperationType.Type.Name(t.type) for t in c.operation_types))'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "'' Pod TYPE_CREATE TYPE_EVALUATE" ]
    [ "${lines[1]}" = "'batch' Job TYPE_CREATE" ]
}

@test "LifecycleHook on an instance Pod adds upstream's native sidecar, field by field" {
    run op '
pod = fixture("pod.json")
patched, raw = hook(pod, cluster())
ops = json.loads(raw)
assert all(o["op"] in ("add", "replace", "remove") for o in ops), ops
spec = patched["spec"]
s = sidecar(spec)
assert s["image"] == "registry.example/bc:1.2.3"
assert s["imagePullPolicy"] == "IfNotPresent"
assert "command" not in s
assert s["args"] == ["instance", "--log-format=json", "--log-level=debug"], s["args"]
assert s["restartPolicy"] == "Always"
assert s["startupProbe"] == {"exec": {"command": ["/manager", "healthcheck", "unix"]},
    "periodSeconds": 1, "failureThreshold": 30, "timeoutSeconds": 5}, s["startupProbe"]
assert s["securityContext"] == {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
    "privileged": False, "readOnlyRootFilesystem": True, "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]}}, s["securityContext"]
assert s["resources"] == {"requests": {"cpu": "100m", "memory": "64Mi"}}
names = [e["name"] for e in s["env"]]
main = pod["spec"]["containers"][0]
# the main container first, then the defaults, then the store: first one wins
assert names == [e["name"] for e in main["env"]] + ["SPOOL_DIRECTORY", "CUSTOM_CNPG_GROUP",
    "CUSTOM_CNPG_VERSION", "STORE_ENV"], names
env = {e["name"]: e for e in s["env"]}
assert env["NAMESPACE"]["value"] == "default"
assert env["POD_IP"] == main["env"][-1]
assert env["SPOOL_DIRECTORY"]["value"] == "/controller/wal-restore-spool"
assert env["CUSTOM_CNPG_GROUP"]["value"] == "postgresql.cnpg.io"
assert env["CUSTOM_CNPG_VERSION"]["value"] == "v1"
assert env["STORE_ENV"]["value"] == "from-store"
mounts = [(m["name"], m["mountPath"]) for m in s["volumeMounts"]]
# ensureVolumeMount matches by name: scratch-data keeps its last path, as upstream
assert mounts == [("barman-certificates", "/barman-certificates"),
    ("pgdata", "/var/lib/postgresql/data"), ("scratch-data", "/controller"), ("shm", "/dev/shm"),
    ("app-secret", "/etc/app-secret"), ("superuser-secret", "/etc/superuser-secret"),
    ("plugins", "/plugins")], mounts
vols = {v["name"]: v for v in spec["volumes"]}
assert vols["plugins"] == {"name": "plugins", "emptyDir": {}}
assert {"name": "plugins", "mountPath": "/plugins"} in spec["containers"][0]["volumeMounts"]
assert vols["barman-certificates"] == {"name": "barman-certificates", "projected": {"sources": [
    {"secret": {"name": "store-ca", "items": [{"key": "ca.crt", "path": "store/barman-ca.crt"}]}}]}}
# everything else is as it was
assert spec["initContainers"][0] == pod["spec"]["initContainers"][0]
assert [c["name"] for c in spec["initContainers"]] == ["bootstrap-controller", "plugin-barman-cloud"]
assert patched["metadata"] == pod["metadata"]
print("ok")'
    [ "$status" -eq 0 ]
    [ "$output" = ok ]
}

@test "CREATE and EVALUATE give the same bytes; a Pod that has the sidecar needs no patch" {
    run op '
pod = fixture("pod.json")
a = hook_raw(pod, cluster(), "CREATE")
b = hook_raw(pod, cluster(), "EVALUATE")
print(len(a) > 0, a == b)
patched, _ = hook(pod, cluster())
print(repr(hook_raw(patched, cluster(), "EVALUATE")))
# a Pod with the volumes CloudNativePG 1.26+ already gives it: nothing else moves
pod["spec"]["volumes"].append({"name": "plugins", "emptyDir": {}})
pod["spec"]["containers"][0]["volumeMounts"].append({"name": "plugins", "mountPath": "/plugins"})
patched, raw = hook(pod, cluster("pg", "iam"))
print(sorted({o["path"] for o in json.loads(raw)}))
s = sidecar(patched["spec"])
print(s["args"], s["resources"], [m["name"] for m in s["volumeMounts"]][:1])'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "True True" ]
    [ "${lines[1]}" = "b''" ]
    [ "${lines[2]}" = "['/spec/initContainers/1']" ]
    [ "${lines[3]}" = "['instance'] {'limits': {'memory': '128Mi'}} ['pgdata']" ]
}

@test "LifecycleHook: a Cluster not using the plugin gets an empty answer; a missing store an error" {
    run op '
pod = fixture("pod.json")
print(repr(hook_raw(pod, cluster(plugins=[]))))
print(repr(hook_raw(pod, cluster(plugins=[{"name": "other.plugin.io", "parameters": {"barmanObjectName": "store"}}]))))
print(code_of(lambda: hook_raw(pod, cluster("pg", "no-such-store"))))
print(code_of(lambda: hook_raw({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}, cluster())))'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "b''" ]
    [ "${lines[1]}" = "b''" ]
    [[ "${lines[2]}" == NOT_FOUND*no-such-store* ]]
    [[ "${lines[3]}" == "INVALID_ARGUMENT unsupported kind: Service" ]]
}

@test "LifecycleHook on a recovery Job adds the restore sidecar with the recovery store's resources" {
    run op '
job = fixture("job.json")
rec = cluster("pg", "store", extra={
    "bootstrap": {"recovery": {"source": "old"}},
    "externalClusters": [{"name": "old", "plugin": {"name": "barman-cloud.cloudnative-pg.io",
        "parameters": {"barmanObjectName": "recovery", "serverName": "old-pg"}}}]})
patched, raw = hook(job, rec)
spec = patched["spec"]["template"]["spec"]
s = sidecar(spec)
print(s["args"], s["resources"])
print([e["name"] for e in s["env"]][-3:])
print([v["name"] for v in spec["volumes"]])
print(spec["volumes"][-1]["projected"]["sources"])
# the other roles and Clusters that do not recover through the plugin: untouched
other = json.loads(json.dumps(job))
other["spec"]["template"]["metadata"]["labels"]["cnpg.io/jobRole"] = "import"
print(repr(hook_raw(other, rec)))
print(repr(hook_raw(job, cluster())))
bad = json.loads(json.dumps(job))
bad["spec"]["template"]["spec"]["containers"][0]["name"] = "renamed"
print(code_of(lambda: hook_raw(bad, rec)))'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "['restore'] {'requests': {'memory': '256Mi'}}" ]
    [ "${lines[1]}" = "['CUSTOM_CNPG_VERSION', 'STORE_ENV', 'RECOVERY_ENV']" ]
    [ "${lines[2]}" = "['pgdata', 'scratch-data', 'plugins', 'barman-certificates']" ]
    [ "${lines[3]}" = "[{'secret': {'name': 'store-ca', 'items': [{'key': 'ca.crt', 'path': 'store/barman-ca.crt'}]}}]" ]
    [ "${lines[4]}" = "b''" ]
    [ "${lines[5]}" = "b''" ]
    [[ "${lines[6]}" == *"main container not found"* ]]
}

@test "a recovery-only Cluster gets the sidecar in its Pods until it has a primary (in-pod recovery)" {
    run op '
pod = fixture("pod.json")
def rec(primary):
    return cluster("pg", plugins=[], primary=primary, extra={
        "bootstrap": {"recovery": {"source": "old"}},
        "externalClusters": [{"name": "old", "plugin": {"name": "barman-cloud.cloudnative-pg.io",
            "parameters": {"barmanObjectName": "recovery"}}}]})
patched, _ = hook(pod, rec(""))
s = sidecar(patched["spec"])
print(s["args"], s["resources"])
print(repr(hook_raw(pod, rec("pg-1"))))'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "['instance'] {'requests': {'memory': '256Mi'}}" ]
    [ "${lines[1]}" = "b''" ]
}

@test "Pre makes the Cluster's Role and RoleBinding as upstream; a second Pre writes nothing" {
    : >"$K/journal"
    run op 'print(pre(cluster("pg", "store")))'
    [ "$status" -eq 0 ]
    [ "$output" = BEHAVIOR_CONTINUE ]
    run kube_get /apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/pg-barman-cloud
    [ "$status" -eq 0 ]
    echo "$output" >"$O/role.json"
    run kube_get /apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/pg-barman-cloud
    [ "$status" -eq 0 ]
    echo "$output" >"$O/rb.json"
    run /usr/bin/python3 - "$O/role.json" "$O/rb.json" "$(bc-plugin -V | cut -d' ' -f2)" <<'PY'
import json, sys
role, rb = (json.load(open(p)) for p in sys.argv[1:3])
assert role["rules"] == [
    {"apiGroups": ["barmancloud.cnpg.io"], "verbs": ["get", "watch", "list"],
     "resources": ["objectstores"], "resourceNames": ["store"]},
    {"apiGroups": ["barmancloud.cnpg.io"], "verbs": ["update"],
     "resources": ["objectstores/status"], "resourceNames": ["store"]},
    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"],
     "resourceNames": ["region-secret", "store-creds"]}], role["rules"]
labels = {"barmancloud.cnpg.io/cluster": "pg", "app.kubernetes.io/name": "barman-cloud-plugin",
          "app.kubernetes.io/instance": "pg", "app.kubernetes.io/version": sys.argv[3],
          "app.kubernetes.io/component": "database", "app.kubernetes.io/managed-by": "plugin-barman-cloud"}
owner = [{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "name": "pg", "uid": "uid-pg",
          "controller": True, "blockOwnerDeletion": True}]
for o in (role, rb):
    assert o["metadata"]["labels"] == labels, o["metadata"]["labels"]
    assert o["metadata"]["ownerReferences"] == owner, o["metadata"]["ownerReferences"]
assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "pg", "namespace": "default"}]
assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pg-barman-cloud"}
print("ok")
PY
    [ "$status" -eq 0 ]
    [ "$output" = ok ]
    grep -q '"method": "POST", "path": "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles"' "$K/journal"
    : >"$K/journal"
    run op 'print(pre(cluster("pg", "store")))'
    [ "$output" = BEHAVIOR_CONTINUE ]
    # (the Lease renewals every 2 s are PUTs too: only RBAC writes count)
    ! grep -E '"method": "(POST|PUT|PATCH)", "path": "/apis/rbac' "$K/journal"
}

@test "Pre: REQUEUE while a store is missing; no Secrets rule for workload identities; Backups and Post continue" {
    run op '
_, _, rh, _ = stubs()
print(" ".join(R.ReconcilerHooksCapability.Kind.Name(c.kind) for c in rh.GetCapabilities(R.ReconcilerHooksCapabilitiesRequest(), timeout=5).reconciler_capabilities))'
    [ "$status" -eq 0 ]
    [ "$output" = "KIND_CLUSTER KIND_BACKUP" ]
    run op '
print(pre(cluster("gone", "no-such-store")))
print(pre(cluster("wi", "iam", extra={"externalClusters": [{"name": "az", "plugin": {
    "name": "barman-cloud.cloudnative-pg.io", "parameters": {"barmanObjectName": "azure-ad"}}}],
    "replica": {"enabled": True, "source": "az"}})))
print(pre(cluster("pg"), {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup", "metadata": {"name": "b"}}))
print(pre(cluster("pg"), post=True))'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = BEHAVIOR_REQUEUE ]
    [ "${lines[1]}" = BEHAVIOR_CONTINUE ]
    [ "${lines[2]}" = BEHAVIOR_CONTINUE ]
    [ "${lines[3]}" = BEHAVIOR_CONTINUE ]
    run kube_get /apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/gone-barman-cloud
    [ "$status" -ne 0 ]
    run kube_get /apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/wi-barman-cloud
    [ "$status" -eq 0 ]
    run /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)["rules"]; print([(x["resources"][0], x.get("resourceNames")) for x in r])' <<<"$output"
    [ "$output" = "[('objectstores', ['azure-ad', 'iam']), ('objectstores/status', ['azure-ad', 'iam'])]" ]
}

@test "Pre keeps foreign labels and subjects, and refuses a RoleBinding bound to another role" {
    cat >"$K/objects/rbac.json" <<'JSON'
[{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
  "metadata": {"namespace": "default", "name": "kept-barman-cloud", "labels": {"team": "db"}},
  "rules": []},
 {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
  "metadata": {"namespace": "default", "name": "kept-barman-cloud"},
  "subjects": [{"kind": "User", "name": "alice"}],
  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "kept-barman-cloud"}},
 {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
  "metadata": {"namespace": "default", "name": "odd-barman-cloud"},
  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"}}]
JSON
    run op '
print(pre(cluster("kept", "iam")))
print(code_of(lambda: pre(cluster("odd", "iam"))))'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = BEHAVIOR_CONTINUE ]
    [[ "${lines[1]}" == *"roleRef cannot change"*"delete the RoleBinding"* ]]
    run kube_get /apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/kept-barman-cloud
    [[ "$output" == *'"team": "db"'* ]]
    [[ "$output" == *'"resourceNames": ["iam"]'* ]]
    run kube_get /apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/kept-barman-cloud
    [[ "$output" == *'"name": "alice"'* ]]
    [[ "$output" == *'"kind": "ServiceAccount", "name": "kept"'* ]]
}

@test "an ObjectStore whose credentials change re-syncs the Roles that name it" {
    run op 'print(pre(cluster("sync", "store")))'
    [ "$output" = BEHAVIOR_CONTINUE ]
    write_stores 2
    wait_for 30 role_names_secret sync region-secret-2
    run kube_get /apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/sync-barman-cloud
    [[ "$output" != *'"region-secret"'* ]]
    write_stores 1
    wait_for 30 role_names_secret sync region-secret
}
role_names_secret() { # CLUSTER SECRET
    kube_get "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/$1-barman-cloud" |
        grep -q "\"$2\""
}

@test "Operator service: the troubleshooting guide's mistakes are validation errors" {
    run op '
_, _, _, o = stubs()
print(" ".join(O.OperatorCapability.RPC.Type.Name(c.rpc.type) for c in o.GetCapabilities(O.OperatorCapabilitiesRequest(), timeout=5).capabilities))
def create(cl):
    res = o.ValidateClusterCreate(O.OperatorValidateClusterCreateRequest(definition=json.dumps(cl).encode()), timeout=10)
    return ["/".join(e.path_components) + " " + e.value + ": " + e.message for e in res.validation_errors]
print(create(cluster("ok", "store")))
for e in create(cluster("bad", plugins=[{"name": "barman-cloud.cloudnative-pg.io"},
        {"name": "barman-cloud.cloudnative-pg.io", "parameters": {"barmanObjectName": "missing"}},
        {"name": "barman-cloud.cloudnative-pg.io", "parameters": {"barmanObjectName": "named"}}],
        extra={"externalClusters": [{"name": "src", "plugin": {"name": "barman-cloud.cloudnative-pg.io", "parameters": {}}}]})):
    print(e)
old = cluster("ch", "missing")
new = cluster("ch", "missing", extra={"instances": 5})
res = o.ValidateClusterChange(O.OperatorValidateClusterChangeRequest(old_cluster=json.dumps(old).encode(), new_cluster=json.dumps(new).encode()), timeout=10)
print(len(res.validation_errors))
res = o.ValidateClusterChange(O.OperatorValidateClusterChangeRequest(old_cluster=json.dumps(cluster("ch", "store")).encode(), new_cluster=json.dumps(old).encode()), timeout=10)
print([e.value for e in res.validation_errors])'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "TYPE_VALIDATE_CLUSTER_CREATE TYPE_VALIDATE_CLUSTER_CHANGE" ]
    [ "${lines[1]}" = "[]" ]
    [[ "${lines[2]}" == "spec/plugins/0/parameters : the barman-cloud.cloudnative-pg.io plugin needs parameters"* ]]
    [[ "${lines[3]}" == "spec/plugins/1/parameters/barmanObjectName missing: no ObjectStore \"missing\" in namespace default"* ]]
    [[ "${lines[4]}" == "spec/plugins/2/parameters/barmanObjectName named: ObjectStore \"named\" sets spec.configuration.serverName"* ]]
    [[ "${lines[5]}" == "spec/externalClusters/0/plugin/parameters/barmanObjectName : external cluster \"src\""* ]]
    [ "${#lines[@]}" -eq 8 ]
    [ "${lines[6]}" = 0 ]
    [ "${lines[7]}" = "['missing']" ]
}

@test "leader election: a second replica waits, not listening, and takes over when the first stops" {
    run kube_get /apis/coordination.k8s.io/v1/namespaces/default/leases/822e3f5c.cnpg.io
    [ "$status" -eq 0 ]
    [[ "$output" == *'"holderIdentity": "op1_'* ]]
    local port2 health2
    port2=$(free_port)
    health2=$(free_port)
    start_operator "$O/op2" "$port2" "$health2"
    wait_for 30 grep -q "waiting for lease" "$O/op2/log"
    # alive, not ready, not listening while op1 holds the lease
    curl -sf "http://127.0.0.1:$health2/healthz"
    run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$health2/readyz"
    [ "$output" = 503 ]
    ! port_open "$port2"
    stop_operator "$O/op1"
    grep -q "lease 822e3f5c.cnpg.io released" "$O/op1/log"
    wait_for 30 ready "$health2"
    run kube_get /apis/coordination.k8s.io/v1/namespaces/default/leases/822e3f5c.cnpg.io
    [[ "$output" == *'"holderIdentity": "op2_'* ]]
    OP_ADDR="127.0.0.1:$port2" op 'idn, _, _, _ = stubs(); assert idn.Probe(I.ProbeRequest(), timeout=5).ready'
    # op1 back as the follower, for teardown
    mv "$O/op2" "$O/op1-next"
    stop_operator "$O/op1-next"
}

@test "bc-plugin healthcheck unix: 0 when the sidecar answers Probe, 1 with a reason when not" {
    local P
    P=$(scratch_dir)
    cnpg_cluster "$P/cluster.json" pg store
    start_plugin instance "$P" CLUSTER_NAME=pg POD_NAME=pg-1 SPOOL_DIRECTORY="$P/spool"
    run "$BC_BIN/bc-plugin" healthcheck unix --plugin-path "$P/sock"
    [ "$status" -eq 0 ]
    stop_plugin "$P"
    run "$BC_BIN/bc-plugin" healthcheck unix --plugin-path "$P/sock"
    [ "$status" -eq 1 ]
    [[ "$output" == *"cannot connect"* ]]
    run "$BC_BIN/bc-plugin" healthcheck tcp
    [ "$status" -eq 3 ]
}

@test "the sidecar takes the operator side's arguments and refuses unknown ones in one line" {
    run "$BC_BIN/bc-plugin" instance --log-level=trace --no-such-flag
    [ "$status" -eq 3 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == *"unknown option '--no-such-flag'"*additionalContainerArgs* ]]
    run "$BC_BIN/bc-plugin" instance --log-level=loud
    [ "$status" -eq 3 ]
    [[ "$output" == *"--log-level must be error, warning, info, debug or trace"* ]]
    # every level upstream's logLevel allows is taken (--help then ends the parse)
    for level in error warning info debug trace; do
        "$BC_BIN/bc-plugin" instance "--log-level=$level" --help >/dev/null
    done
}
