#!/usr/bin/env python3
"""A stand-in for kube-apiserver, for the tests. It is NOT a real apiserver:
no etcd, no watch, no paging, no field or set-based label selectors, no
discovery, no admission, no RBAC, no schemas, no cluster-scoped objects.
It holds namespaced objects of any kind in memory and serves what bc's
Kubernetes client uses, over HTTPS with a CA it makes at start:

  GET    /version
  GET    /api/v1/namespaces/NS/PLURAL/NAME[/status]              (core kinds)
  GET    /apis/GROUP/VERSION/namespaces/NS/PLURAL/NAME[/status]
  GET    /api/v1/namespaces/NS/pods/NAME/log?container=C[&tailLines=N][&limitBytes=N]
         (text/plain: DIR/logs/NS/NAME/C.log, its last N lines, then its
         first N bytes; a pod of one container needs no container=)
  GET    .../namespaces/NS/PLURAL                   (a KINDList of those in NS)
  GET    /api/v1/PLURAL, /apis/GROUP/VERSION/PLURAL  (... in every namespace)
  POST   .../namespaces/NS/PLURAL, application/json (creates an object)
  PUT    .../NAME, application/json (replaces all of it but .status)
         (POST and PUT bodies without a Content-Type are JSON, sized or chunked)
  PUT    .../NAME/status (replaces .status)
  PATCH  .../NAME and .../NAME/status, application/merge-patch+json (RFC 7386)
  DELETE .../NAME (answers a Success Status; the object is gone until its
         file changes)

PLURAL is the lowercase kind plus "s" (secrets, clusters, objectstores,
backups, roles, rolebindings, leases, pods, services), and an object's
apiVersion and kind must match its path. Lists take ?labelSelector= with
comma-joined terms "key", "!key", "key=value" ("==" too) and "key!=value"
(URL-decoded; set-based terms, "in" and "notin", are a 400).

A create needs metadata.name (no generateName) and no resourceVersion, and
a metadata.namespace, if any, that is the path's (400 otherwise); it sets
metadata.namespace, uid (a uuid4), creationTimestamp, generation 1 and
resourceVersion, drops .status, and answers 409 AlreadyExists when the name
is taken. A status patch or PUT changes only .status; a patch or PUT of the
object everything but .status, keeping kind, apiVersion, name, namespace,
uid and creationTimestamp. Each of these bumps metadata.resourceVersion
and answers 409 Conflict when the request names another resourceVersion; a
write of the object that changes anything besides apiVersion, kind,
metadata and status (.spec; .rules, .subjects or .roleRef of RBAC kinds)
also bumps metadata.generation (objects from files start at 1). Errors are
Status objects (404 unknown object or path, 405 other methods, 415 other
content types, 401 without the right bearer token or client certificate,
400 bad JSON or a bad object).

Objects come from JSON files named on the command line and from
DIR/objects/*.json (one object or a JSON array of them each), read again
whenever such a file changes, so a test can change a Cluster between calls
by rewriting its file; changes made through the API since are then lost
for that object (objects created through the API stay until deleted).

Written to --dir DIR: ca.crt; port; serviceaccount/{token,ca.crt,namespace}
(a pod's service-account directory); kubeconfig-cert (a client certificate
instead of a token); kubeconfig last, so a caller waits for it to appear.
Options that mimic how real API servers and the proxies in front of them
answer: --chunked sends every reply with Transfer-Encoding: chunked in
small pieces (Go's server does so for replies it does not size first);
--unavailable N answers the first N requests with a 503 Status (an
apiserver that is restarting); --prefix /PATH serves everything under PATH
(an API behind a path-routing proxy) and puts it in the kubeconfigs;
--server-name NAME issues the server a certificate for NAME alone (in
place of localhost and 127.0.0.1), for clients that must refuse it;
--conflict-once PATH (PATH as sent, less any --prefix) makes another
writer's change to the object at PATH just before the first PUT to it is
served: it sets the annotation kube-standin/concurrent-write (to how many
times it did) and bumps resourceVersion, so that PUT, if it names the
version it read, gets a real 409 Conflict (a client's read-modify-write
racing another one); PATH given N times does so to the first N PUTs.

--journal FILE gets one JSON line per request: method, path, content_type,
token_ok, client_cert, body (for POST, PATCH and PUT; null otherwise) and
status. The token is written only to kubeconfig and serviceaccount/token
(both 0600), never printed or journaled.
"""
import argparse
import base64
import collections
import copy
import datetime
import glob
import json
import os
import secrets
import ssl
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MERGE_PATCH = "application/merge-patch+json"
# The kinds an empty list is named after (otherwise the kind of an object
# seen at that plural, or the plural less its "s", capitalized).
KINDS = {k.lower() + "s": k for k in ("Backup", "Cluster", "Lease", "ObjectStore", "Pod", "Role",
                                       "RoleBinding", "ScheduledBackup", "Secret", "Service")}


# ---- certificates --------------------------------------------------------

def pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def issue(name, ca_key=None, ca_cert=None, server=False, server_name=None):
    """A key and certificate for name; self-signed (a CA) without ca_key. A
    server certificate names localhost and 127.0.0.1, or server_name only."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    b = (x509.CertificateBuilder().subject_name(subject)
         .issuer_name(ca_cert.subject if ca_cert else subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5))
         .not_valid_after(now + datetime.timedelta(days=2)))
    if ca_key is None:
        b = b.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    elif server:
        names = ([x509.DNSName(server_name)] if server_name else
                 [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))])
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    cert = b.sign(ca_key or key, hashes.SHA256())
    return key, cert


def write_file(path, data, mode=0o600):
    """Written whole under a temporary name, then renamed into place."""
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.replace(tmp, path)


def kubeconfig(server, ca_pem, user_lines):
    b64 = base64.b64encode(ca_pem).decode()
    return (f"apiVersion: v1\nkind: Config\ncurrent-context: standin\n"
            f"clusters:\n- name: standin\n  cluster:\n    server: {server}\n"
            f"    certificate-authority-data: {b64}\n"
            f"contexts:\n- name: standin\n  context:\n    cluster: standin\n    user: standin\n"
            f"    namespace: default\n"
            f"users:\n- name: standin\n  user:\n" + "".join(f"    {l}\n" for l in user_lines))


# ---- objects -------------------------------------------------------------

def split_api_version(api_version):
    group, _, version = api_version.rpartition("/")
    return group, version


def plural_of(kind):
    return kind.lower() + "s"


def object_key(obj):
    group, version = split_api_version(obj["apiVersion"])
    meta = obj["metadata"]
    return (group, version, plural_of(obj["kind"]), meta["namespace"], meta["name"])


def content(obj):
    """What metadata.generation tracks: everything but the bookkeeping."""
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata", "status")}


def parse_selector(text):
    """A labelSelector as (key, op, value) terms; ValueError if unsupported."""
    terms = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        if "(" in term or " in " in term or " notin " in term:
            raise ValueError(f'set-based selector "{term}" is not supported by the stand-in')
        for op in ("!=", "==", "="):
            if op in term:
                key, value = (x.strip() for x in term.split(op, 1))
                terms.append((key, "!=" if op == "!=" else "=", value))
                break
        else:
            terms.append((term[1:].strip(), "!", None) if term.startswith("!") else
                         (term, "exists", None))
    return terms


def selected(obj, terms):
    labels = (obj.get("metadata") or {}).get("labels") or {}
    for key, op, value in terms:
        if op == "exists" and key not in labels:
            return False
        if op == "!" and key in labels:
            return False
        if op == "=" and labels.get(key) != value:
            return False
        if op == "!=" and labels.get(key) == value:
            return False
    return True


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


class Store:
    def __init__(self, files, objects_dir):
        self.lock = threading.Lock()
        self.files = list(files)
        self.objects_dir = objects_dir
        self.seen = {}      # path -> (mtime_ns, size, keys loaded from it)
        self.objects = {}
        self.kinds = {}     # (group, version, plural) -> kind, for empty lists
        self.version = 0

    def bump(self, obj):
        self.version += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.version)

    def refresh(self):
        """Loads files that are new or changed since, drops vanished ones."""
        paths = self.files + sorted(glob.glob(os.path.join(self.objects_dir, "*.json")))
        for path in list(self.seen):
            if path not in paths or not os.path.exists(path):
                for key in self.seen.pop(path)[2]:
                    self.objects.pop(key, None)
        for path in paths:
            st = os.stat(path)
            stamp = (st.st_mtime_ns, st.st_size)
            if self.seen.get(path, (None, None))[:2] == stamp:
                continue
            with open(path) as f:
                try:
                    doc = json.load(f)
                except ValueError as e:
                    raise ValueError(f"{path}: {e}")
            keys = []
            for obj in doc if isinstance(doc, list) else [doc]:
                try:
                    key = object_key(obj)
                except (KeyError, TypeError, AttributeError):
                    raise ValueError(f"{path}: an object without apiVersion, kind, "
                                     "metadata.namespace or metadata.name")
                self.bump(obj)
                obj["metadata"].setdefault("generation", 1)
                self.objects[key] = obj
                self.kinds[key[:3]] = obj["kind"]
                keys.append(key)
            for key in self.seen.get(path, (None, None, []))[2]:
                if key not in keys:
                    self.objects.pop(key, None)
            self.seen[path] = stamp + (keys,)


# ---- HTTP ----------------------------------------------------------------

def status_object(code, reason, message, details=None):
    s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason, "code": code}
    if details:
        s["details"] = details
    return s


def parse_path(path):
    """(group, version, plural, ns, name, subresource) or None; ns is None
    for a list across namespaces."""
    parts = urllib.parse.urlsplit(path).path.strip("/").split("/")
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if len(rest) == 1 and rest[0] and rest[0] != "namespaces":
        return (group, version, rest[0], None, None, "")
    if len(rest) not in (3, 4, 5) or rest[0] != "namespaces" or (
            len(rest) == 5 and rest[4] != "status" and not (rest[2] == "pods" and rest[4] == "log")):
        return None
    return (group, version, rest[2], rest[1], rest[3] if len(rest) > 3 else None,
            rest[4] if len(rest) == 5 else "")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-standin"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        if self.server.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 100):
                piece = body[i:i + 100]
                self.wfile.write(b"%x;piece=%d\r\n%s\r\n" % (len(piece), i, piece))
            self.wfile.write(b"0\r\nX-Trailer: end\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        return code

    def fail(self, code, reason, message, details=None):
        return self.reply(code, status_object(code, reason, message, details))

    def read_body(self):
        """The request body, sized or chunked (as kubectl sends files)."""
        if "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""
        raw = b""
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass    # trailers
                return raw
            raw += self.rfile.read(size)
            self.rfile.readline()

    def handle_any(self):
        raw = self.read_body()
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        token_ok = secrets.compare_digest(self.headers.get("Authorization", ""),
                                          "Bearer " + self.server.token)
        client_cert = bool(self.connection.getpeercert())
        entry = {"method": self.command, "path": self.path, "content_type": ctype,
                 "token_ok": token_ok, "client_cert": client_cert}
        try:
            entry["body"] = (json.loads(raw) if raw and self.command in ("POST", "PATCH", "PUT")
                             else None)
        except ValueError:
            entry["body"] = None
        with self.server.journal_lock:
            unavailable = self.server.unavailable > 0
            self.server.unavailable -= unavailable
        prefix = self.server.prefix
        if unavailable:
            code = self.fail(503, "ServiceUnavailable", "the apiserver is shutting down")
        elif not (token_ok or client_cert):
            code = self.fail(401, "Unauthorized", "Unauthorized")
        elif prefix and not self.path.startswith(prefix + "/"):
            code = self.fail(404, "NotFound", "the server could not find the requested resource")
        else:
            with self.server.store.lock:
                code = self.serve(raw, ctype)
        entry["status"] = code
        if self.server.journal:
            with self.server.journal_lock, open(self.server.journal, "a") as j:
                j.write(json.dumps(entry) + "\n")

    def serve(self, raw, ctype):
        store = self.server.store
        try:
            store.refresh()
        except (OSError, ValueError) as e:
            return self.fail(500, "InternalError", f"kube stand-in: cannot load objects: {e}")
        path = self.path[len(self.server.prefix):]
        if self.command == "GET" and path.split("?", 1)[0] == "/version":
            return self.reply(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0-kube-standin",
                                    "platform": "linux/amd64"})
        where = parse_path(path)
        if where is None:
            return self.fail(404, "NotFound", "the server could not find the requested resource")
        group, version, plural, ns, name, sub = where
        resource = f"{plural}.{group}" if group else plural
        api_version = f"{group}/{version}" if group else version
        if name is None and self.command == "GET":
            return self.list(group, version, plural, ns)
        if (name is None) != (self.command == "POST") or ns is None:
            return self.fail(405, "MethodNotAllowed", "the stand-in lists collections and "
                             "creates in namespaced ones")
        key = (group, version, plural, ns, name)
        obj = store.objects.get(key)
        if obj is None and self.command != "POST":
            return self.fail(404, "NotFound", f'{resource} "{name}" not found',
                             {"name": name, "group": group, "kind": plural})
        if sub == "log":
            return self.pod_log(obj, ns, name)
        if self.command == "GET":
            return self.reply(200, obj)
        if self.command == "DELETE" and not sub:
            del store.objects[key]
            return self.reply(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                    "status": "Success",
                                    "details": {"name": name, "group": group, "kind": plural}})
        if self.command not in ("POST", "PATCH", "PUT"):
            return self.fail(405, "MethodNotAllowed",
                             "the server does not allow this method on the requested resource "
                             "(the stand-in does GET, POST, PUT, PATCH and DELETE)")
        wanted = MERGE_PATCH if self.command == "PATCH" else "application/json"
        # as the apiserver does, a body without a Content-Type is JSON (not a patch)
        if ctype != wanted and (ctype or self.command == "PATCH"):
            return self.fail(415, "UnsupportedMediaType",
                             f"the body of the request was in an unknown format - accepted media "
                             f"types include: {wanted}")
        try:
            body = json.loads(raw)
            if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
                raise ValueError("not a JSON object with an object as metadata")
        except ValueError as e:
            return self.fail(400, "BadRequest", f"the request body is not a JSON object: {e}")
        meta = body.get("metadata") or {}
        if self.command == "POST":
            return self.create(body, meta, group, version, plural, ns, resource, api_version)
        if self.command == "PUT" and not sub:
            bad = self.mismatch(body, api_version, plural, ns, name)
            if bad:
                return self.fail(400, "BadRequest", bad)
        if self.command == "PUT" and self.server.conflict_once[path.split("?", 1)[0]] > 0:
            # another writer's change, made between the client's GET and this PUT
            self.server.conflict_once[path.split("?", 1)[0]] -= 1
            obj = copy.deepcopy(obj)
            notes = obj["metadata"].setdefault("annotations", {})
            notes["kube-standin/concurrent-write"] = str(
                int(notes.get("kube-standin/concurrent-write", "0")) + 1)
            store.bump(obj)
            store.objects[key] = obj
        asked = meta.get("resourceVersion")
        if asked is not None and asked != obj["metadata"]["resourceVersion"]:
            return self.fail(409, "Conflict",
                             f'Operation cannot be fulfilled on {resource} "{name}": the object has '
                             "been modified; please apply your changes to the latest version and "
                             "try again", {"name": name, "group": group, "kind": plural})
        if sub == "status":
            new = copy.deepcopy(obj)
            if self.command == "PUT":
                new["status"] = body.get("status")
            else:
                new["status"] = merge_patch(obj.get("status"), body.get("status"))
            if new["status"] is None:
                del new["status"]
        else:
            rest = {k: v for k, v in body.items() if k != "status"}
            if self.command == "PUT":
                new = copy.deepcopy(rest)
                new.setdefault("metadata", {})
            else:
                new = merge_patch(obj, rest)
            for k in ("apiVersion", "kind"):
                new[k] = obj[k]
            for k in ("name", "namespace", "uid", "creationTimestamp", "generation"):
                if k in obj["metadata"]:
                    new.setdefault("metadata", {})[k] = obj["metadata"][k]
                else:
                    new.setdefault("metadata", {}).pop(k, None)
            if "status" in obj:
                new["status"] = obj["status"]
            if content(new) != content(obj):
                new["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
        store.bump(new)
        store.objects[key] = new
        return self.reply(200, new)

    def pod_log(self, pod, ns, name):
        if self.command != "GET":
            return self.fail(405, "MethodNotAllowed", "logs are read with GET")
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        spec = pod.get("spec", {})
        names = [c.get("name") for c in spec.get("containers", []) + spec.get("initContainers", [])]
        container = (query.get("container") or [None])[0]
        if container is None and len(names) == 1:
            container = names[0]
        if container is None or container not in names:
            return self.fail(400, "BadRequest", f"container {container} is not valid for pod {name}"
                             if container else f"a container name must be specified for pod "
                             f"{name}, choose one of: {names}")
        path = os.path.join(self.server.dir, "logs", ns, name, container + ".log")
        try:
            data = open(path, "rb").read()
        except OSError:
            data = b""
        if "tailLines" in query:
            n = int(query["tailLines"][0])
            data = b"".join(data.splitlines(keepends=True)[-n:]) if n > 0 else b""
        if "limitBytes" in query:
            data = data[:int(query["limitBytes"][0])]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        return 200

    def list(self, group, version, plural, ns):
        store = self.server.store
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        try:
            terms = parse_selector(",".join(query.get("labelSelector", [])))
        except ValueError as e:
            return self.fail(400, "BadRequest", f"unable to parse requirement: {e}")
        items = [o for (g, v, p, n, _), o in sorted(store.objects.items())
                 if (g, v, p) == (group, version, plural) and ns in (None, n) and selected(o, terms)]
        kind = (store.kinds.get((group, version, plural)) or KINDS.get(plural) or
                plural[:-1].capitalize())
        return self.reply(200, {"apiVersion": f"{group}/{version}" if group else version,
                                "kind": kind + "List",
                                "metadata": {"resourceVersion": str(store.version)},
                                "items": items})

    @staticmethod
    def mismatch(body, api_version, plural, ns, name):
        """Why body cannot be the object at that path, or None."""
        meta = body.get("metadata") or {}
        if body.get("apiVersion") != api_version or not isinstance(body.get("kind"), str) or \
                plural_of(body["kind"]) != plural:
            return (f"the object's apiVersion {body.get('apiVersion')!r} and kind "
                    f"{body.get('kind')!r} are not those of {api_version} {plural}")
        if meta.get("namespace") not in (None, ns):
            return ("the namespace of the provided object does not match the namespace sent "
                    "on the request")
        if name is not None and meta.get("name") not in (None, name):
            return "the name of the object does not match the name on the URL"
        return None

    def create(self, body, meta, group, version, plural, ns, resource, api_version):
        store = self.server.store
        name = meta.get("name")
        bad = self.mismatch(body, api_version, plural, ns, None)
        if bad:
            pass
        elif not isinstance(name, str) or not name:
            bad = "metadata.name: Required value: name is required (the stand-in has no generateName)"
        elif "resourceVersion" in meta:
            bad = "resourceVersion should not be set on objects to be created"
        if bad:
            return self.fail(400, "BadRequest", bad)
        key = (group, version, plural, ns, name)
        if key in store.objects:
            return self.fail(409, "AlreadyExists", f'{resource} "{name}" already exists',
                             {"name": name, "group": group, "kind": plural})
        obj = copy.deepcopy(body)
        obj.pop("status", None)     # as for kinds with a status subresource
        obj["metadata"] = dict(meta, namespace=ns, uid=str(uuid.uuid4()), generation=1,
                               creationTimestamp=datetime.datetime.now(datetime.timezone.utc)
                               .strftime("%Y-%m-%dT%H:%M:%SZ"))
        store.bump(obj)
        store.objects[key] = obj
        store.kinds[key[:3]] = obj["kind"]
        return self.reply(201, obj)

    do_GET = do_PATCH = do_PUT = do_POST = do_DELETE = handle_any


def main():
    ap = argparse.ArgumentParser(description="A kube-apiserver stand-in for tests (not a real one).")
    ap.add_argument("--dir", required=True, help="where ca.crt, port and kubeconfig are written")
    ap.add_argument("--port", type=int, default=0, help="0 (default) = a free port")
    ap.add_argument("--journal", help="append one JSON line per request to this file")
    ap.add_argument("--chunked", action="store_true", help="chunked replies")
    ap.add_argument("--unavailable", type=int, default=0, help="answer the first N requests 503")
    ap.add_argument("--prefix", default="", help="serve under this path")
    ap.add_argument("--server-name", help="the only name in the server certificate")
    ap.add_argument("--conflict-once", action="append", default=[], metavar="PATH",
                    help="another writer changes PATH just before the first PUT to it "
                    "(given N times: the first N)")
    ap.add_argument("objects", nargs="*", help="JSON files of Kubernetes objects")
    args = ap.parse_args()

    d = os.path.abspath(args.dir)
    os.makedirs(os.path.join(d, "objects"), exist_ok=True)
    store = Store([os.path.abspath(p) for p in args.objects], os.path.join(d, "objects"))
    try:
        store.refresh()
    except (OSError, ValueError) as e:
        sys.exit(f"kube stand-in: {e}")

    ca_key, ca_cert = issue("kube stand-in CA")
    srv_key, srv_cert = issue("127.0.0.1", ca_key, ca_cert, server=True,
                              server_name=args.server_name)
    cli_key, cli_cert = issue("bc-test-client", ca_key, ca_cert)
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    write_file(os.path.join(d, "ca.crt"), ca_pem, 0o644)
    write_file(os.path.join(d, "server.pem"),
               srv_cert.public_bytes(serialization.Encoding.PEM) + pem_key(srv_key))

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "server.pem"))
    ctx.load_verify_locations(cadata=ca_pem.decode())
    ctx.verify_mode = ssl.CERT_OPTIONAL   # a client certificate is one way in
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    httpd.daemon_threads = True
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    httpd.store = store
    httpd.dir = d
    httpd.token = secrets.token_urlsafe(32)
    httpd.journal = args.journal
    httpd.chunked = args.chunked
    httpd.unavailable = args.unavailable
    httpd.prefix = args.prefix.rstrip("/")
    httpd.conflict_once = collections.Counter(args.conflict_once)
    httpd.journal_lock = threading.Lock()
    port = httpd.server_address[1]
    server = f"https://127.0.0.1:{port}{httpd.prefix}"

    sa = os.path.join(d, "serviceaccount")
    os.makedirs(sa, exist_ok=True)
    write_file(os.path.join(sa, "token"), httpd.token)
    write_file(os.path.join(sa, "ca.crt"), ca_pem, 0o644)
    write_file(os.path.join(sa, "namespace"), "default", 0o644)
    write_file(os.path.join(d, "port"), f"{port}\n", 0o644)
    b64 = lambda data: base64.b64encode(data).decode()
    cert_pem = cli_cert.public_bytes(serialization.Encoding.PEM)
    write_file(os.path.join(d, "kubeconfig-cert"), kubeconfig(server, ca_pem, [
        f"client-certificate-data: {b64(cert_pem)}", f"client-key-data: {b64(pem_key(cli_key))}"]))
    write_file(os.path.join(d, "kubeconfig"), kubeconfig(server, ca_pem, [f"token: {httpd.token}"]))
    print(f"kube stand-in: {server}, files in {d}", file=sys.stderr, flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
