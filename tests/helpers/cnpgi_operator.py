#!/usr/bin/env python3
"""What CloudNativePG's operator does with a plugin's operator side, for the
tests: Python grpcio (stubs compiled from our proto/ by grpc_tools) over TCP
with mutual TLS, as CNPG dials the Service with the certificates of the
cnpg.io/pluginClientSecret and pluginServerSecret annotations, and RFC 6902
patches applied with python3-jsonpatch (an independent implementation),
as CNPG applies them with evanphx/json-patch.

Imported by the bats files: environment OP_ADDR (host:port), OP_CERTS (the
directory of plugin_certs.py), OP_STUBS (the stubs)."""
import json
import os
import sys

sys.path.insert(0, os.environ["OP_STUBS"])

import grpc  # noqa: E402
import jsonpatch  # noqa: E402

import identity_pb2 as I  # noqa: E402,F401
import identity_pb2_grpc as IG  # noqa: E402
import operator_lifecycle_pb2 as L  # noqa: E402
import operator_lifecycle_pb2_grpc as LG  # noqa: E402
import operator_pb2 as O  # noqa: E402
import operator_pb2_grpc as OG  # noqa: E402
import reconciler_pb2 as R  # noqa: E402
import reconciler_pb2_grpc as RG  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def channel(client="client", addr=None):
    d = os.environ["OP_CERTS"]
    creds = grpc.ssl_channel_credentials(read(f"{d}/server.crt"), read(f"{d}/{client}.key"),
                                         read(f"{d}/{client}.crt"))
    # the certificate names the Service, barman-cloud; the test dials 127.0.0.1
    return grpc.secure_channel(addr or os.environ["OP_ADDR"], creds,
                               options=[("grpc.ssl_target_name_override", "barman-cloud")])


CH = None


def stubs():
    global CH
    CH = CH or channel()
    return IG.IdentityStub(CH), LG.OperatorLifecycleStub(CH), RG.ReconcilerHooksStub(CH), \
        OG.OperatorStub(CH)


def fixture(name):
    with open(os.path.join(HERE, "cnpg", name)) as f:
        return json.load(f)


def cluster(name="pg", store="store", primary=None, plugins=None, extra=None):
    """A Cluster as CNPG sends it (JSON), using the plugin with STORE."""
    c = {"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
         "metadata": {"namespace": "default", "name": name, "uid": "uid-" + name},
         "spec": {"instances": 3, "imagePullPolicy": "IfNotPresent",
                  "plugins": plugins if plugins is not None else [
                      {"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": True,
                       "parameters": {"barmanObjectName": store}}]},
         "status": {"currentPrimary": primary if primary is not None else name + "-1"}}
    for k, v in (extra or {}).items():
        c["spec"][k] = v
    return c


OP = {"CREATE": L.OperatorOperationType.TYPE_CREATE,
      "EVALUATE": L.OperatorOperationType.TYPE_EVALUATE}


def hook_raw(obj, cl, op="CREATE"):
    _, lc, _, _ = stubs()
    req = L.OperatorLifecycleRequest(
        operation_type=L.OperatorOperationType(type=OP[op]),
        cluster_definition=json.dumps(cl).encode(), object_definition=json.dumps(obj).encode())
    return lc.LifecycleHook(req, timeout=10).json_patch


def hook(obj, cl, op="CREATE"):
    """(patched object, patch bytes): the patch applied as CNPG applies it."""
    raw = hook_raw(obj, cl, op)
    if not raw:
        return obj, raw
    return jsonpatch.JsonPatch(json.loads(raw)).apply(obj), raw


def sidecar(pod_spec):
    found = [c for c in pod_spec.get("initContainers", []) if c["name"] == "plugin-barman-cloud"]
    assert len(found) == 1, f"{len(found)} plugin-barman-cloud init containers"
    assert not [c for c in pod_spec["containers"] if c["name"] == "plugin-barman-cloud"]
    return found[0]


def code_of(fn):
    try:
        fn()
        return "OK"
    except grpc.RpcError as e:
        return "%s %s" % (e.code().name, e.details())


def pre(cl, resource=None, post=False):
    _, _, rh, _ = stubs()
    req = R.ReconcilerHooksRequest(cluster_definition=json.dumps(cl).encode(),
                                   resource_definition=json.dumps(resource or cl).encode())
    res = (rh.Post if post else rh.Pre)(req, timeout=15)
    return R.ReconcilerHooksResult.Behavior.Name(res.behavior)
