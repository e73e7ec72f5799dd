#!/usr/bin/env python3
"""Stands in for CloudNativePG's instance manager in the tests: what
`/controller/manager wal-archive %p` and `wal-restore %f %p` do with a
CNPG-i plugin, i.e. one WAL.Archive or WAL.Restore call over the plugin's
Unix socket, the Cluster given as JSON. PostgreSQL runs it as its
archive_command / restore_command. Python grpcio with stubs compiled from
our proto/ (by grpc_tools) in --stubs.

  cnpgi_wal.py --socket S --stubs DIR --cluster FILE archive PATH
  cnpgi_wal.py --socket S --stubs DIR --cluster FILE restore NAME DEST

Exit 0 on success, 1 with the gRPC status on stderr otherwise."""
import argparse
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--socket", required=True)
ap.add_argument("--stubs", required=True)
ap.add_argument("--cluster", required=True)
ap.add_argument("--timeout", type=float, default=120)
ap.add_argument("op", choices=["archive", "restore"])
ap.add_argument("args", nargs="+")
a = ap.parse_args()
sys.path.insert(0, a.stubs)

import grpc  # noqa: E402
import wal_pb2 as W  # noqa: E402
import wal_pb2_grpc as WG  # noqa: E402

cluster = open(a.cluster, "rb").read()
stub = WG.WALStub(grpc.insecure_channel("unix://" + a.socket))
try:
    if a.op == "archive":
        stub.Archive(W.WALArchiveRequest(cluster_definition=cluster, source_file_name=a.args[0]),
                     timeout=a.timeout)
    else:
        stub.Restore(W.WALRestoreRequest(cluster_definition=cluster, source_wal_name=a.args[0],
                                         destination_file_name=a.args[1]), timeout=a.timeout)
except grpc.RpcError as e:
    print("%s: %s %s" % (a.op, e.code().name, e.details()), file=sys.stderr)
    sys.exit(1)
