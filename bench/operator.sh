#!/usr/bin/env bash
# bc-plugin operator's footprint: idle RSS (and PSS) once it leads and
# serves, RSS after the calls, and the latency of OperatorLifecycle.
# LifecycleHook on a CloudNativePG-shaped Pod, from Python grpcio over TCP
# with mutual TLS on one channel, as CloudNativePG's operator keeps one.
# The kube-apiserver is the tests' stand-in; ObjectStores are cached 10 s,
# as upstream's client caches them, so most hooks make no API request: the
# first call of each 10 s window does, and is part of the sample.
#   bench/operator.sh [CALLS]   (default 1000 hooks)
source "$(dirname "$0")/common.sh"
calls=${1:-1000}

kube="$work/kube" certs="$work/certs"
mkdir -p "$kube/objects" "$work/stubs"
cat >"$kube/objects/store.json" <<JSON
[{"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
  "metadata": {"namespace": "default", "name": "store", "generation": 1},
  "spec": {"configuration": {"destinationPath": "s3://bench/pg",
     "endpointCA": {"name": "ca", "key": "ca.crt"},
     "s3Credentials": {"accessKeyId": {"name": "creds", "key": "id"},
                       "secretAccessKey": {"name": "creds", "key": "key"}}},
   "instanceSidecarConfiguration": {"env": [{"name": "X", "value": "1"}],
     "resources": {"requests": {"memory": "64Mi"}}, "logLevel": "info"}}}]
JSON
python3 "$top/tests/helpers/kube_standin.py" --dir "$kube" >/dev/null 2>&1 &
pids+=($!)
until [ -s "$kube/kubeconfig" ]; do sleep 0.1; done
/usr/bin/python3 "$top/tests/helpers/plugin_certs.py" "$certs"
/usr/bin/python3 -m grpc_tools.protoc -I "$top/proto" --python_out="$work/stubs" \
    --grpc_python_out="$work/stubs" "$top"/proto/*.proto

port=$(free_port) health=$(free_port)
KUBECONFIG="$kube/kubeconfig" NAMESPACE=default SIDECAR_IMAGE=bench/bc:1 \
    "$bin/bc-plugin" operator --server-address "127.0.0.1:$port" --leader-elect \
    --server-cert "$certs/server.crt" --server-key "$certs/server.key" \
    --client-cert "$certs/client.crt" --health-probe-bind-address "127.0.0.1:$health" \
    -q 2>"$work/operator.log" &
op=$!
pids+=($op)
until curl -sf "http://127.0.0.1:$health/readyz" >/dev/null; do sleep 0.1; done

status_kib() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$op/status"; }
pss_kib() { awk '$1 == "Pss:" {print $2}' "/proc/$op/smaps_rollup"; }
idle=$(status_kib VmRSS) idle_pss=$(pss_kib)

read -r median p90 p99 < <(OP_ADDR="127.0.0.1:$port" OP_CERTS="$certs" OP_STUBS="$work/stubs" \
    PYTHONPATH="$top/tests/helpers" /usr/bin/python3 -c "
import json, statistics, time
from cnpgi_operator import *
pod = fixture('pod.json')
cl = json.dumps(cluster('pg', 'store')).encode()
obj = json.dumps(pod).encode()
_, lc, _, _ = stubs()
req = L.OperatorLifecycleRequest(operation_type=L.OperatorOperationType(type=OP['EVALUATE']),
                                 cluster_definition=cl, object_definition=obj)
assert lc.LifecycleHook(req, timeout=10).json_patch
times = []
for i in range($calls):
    t = time.monotonic_ns()
    lc.LifecycleHook(req, timeout=10)
    times.append(time.monotonic_ns() - t)
times.sort()
print(int(statistics.median(times)), times[int(len(times) * 0.9)], times[int(len(times) * 0.99)])")
after=$(status_kib VmRSS) peak=$(status_kib VmHWM)

python3 - "$calls" "$idle" "$idle_pss" "$after" "$peak" "$median" "$p90" "$p99" <<'PY'
import sys
calls, idle, pss, after, peak, med, p90, p99 = map(int, sys.argv[1:])
print(f"bc-plugin operator RSS idle (leading, serving)  {idle / 1024:6.1f} MiB (PSS {pss / 1024:.1f} MiB)")
print(f"RSS after {calls} LifecycleHook calls             {after / 1024:6.1f} MiB (peak {peak / 1024:.1f} MiB)")
print(f"LifecycleHook round trip (grpcio, mTLS)          median {med / 1e6:.2f} ms, p90 {p90 / 1e6:.2f} ms, p99 {p99 / 1e6:.2f} ms")
PY
