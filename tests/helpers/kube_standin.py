#!/usr/bin/env python3
"""A stand-in for kube-apiserver, for the tests. It is NOT a real apiserver:
no etcd, no watch, no selectors or paging, no admission, no RBAC, no
schemas. It holds a few namespaced objects in memory and serves what bc's
Kubernetes client uses, over HTTPS with a CA it makes at start:

  GET    /api/v1/namespaces/NS/PLURAL/NAME[/status]              (core kinds)
  GET    /apis/GROUP/VERSION/namespaces/NS/PLURAL/NAME[/status]
  GET    .../namespaces/NS/PLURAL                  (a KINDList of all of them)
  PATCH  .../NAME and .../NAME/status, application/merge-patch+json (RFC 7386)
  PUT    .../NAME/status (replaces .status)
  DELETE .../NAME (answers a Success Status; the object is gone until its
         file changes)

PLURAL is the lowercase kind plus "s" (secrets, clusters, objectstores,
backups). A status patch or PUT changes only .status, a patch of the object
everything but .status; both bump metadata.resourceVersion and answer 409
when the request names an older resourceVersion. Errors are Status objects
(404 unknown object or path, 405 other methods, 415 other content types,
401 without the right bearer token or client certificate, 400 bad JSON).

Objects come from JSON files named on the command line and from
DIR/objects/*.json (one object or a JSON array of them each), read again
whenever such a file changes, so a test can change a Cluster between calls
by rewriting its file; patches made since are then lost for that object.

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
place of localhost and 127.0.0.1), for clients that must refuse it.

--journal FILE gets one JSON line per request: method, path, content_type,
token_ok, client_cert, status and, for PATCH and PUT, the body. The token
is written only to kubeconfig and serviceaccount/token (both 0600), never
printed or journaled.
"""
import argparse
import base64
import copy
import datetime
import glob
import json
import os
import secrets
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

MERGE_PATCH = "application/merge-patch+json"


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


def object_key(obj):
    group, version = split_api_version(obj["apiVersion"])
    meta = obj["metadata"]
    return (group, version, obj["kind"].lower() + "s", meta["namespace"], meta["name"])


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
                self.objects[key] = obj
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
    """(group, version, plural, ns, name, subresource) or None."""
    parts = path.split("?", 1)[0].strip("/").split("/")
    if parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if len(rest) not in (3, 4, 5) or rest[0] != "namespaces" or (len(rest) == 5 and rest[4] != "status"):
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

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        token_ok = secrets.compare_digest(self.headers.get("Authorization", ""),
                                          "Bearer " + self.server.token)
        client_cert = bool(self.connection.getpeercert())
        entry = {"method": self.command, "path": self.path, "content_type": ctype,
                 "token_ok": token_ok, "client_cert": client_cert}
        try:
            entry["body"] = json.loads(raw) if raw and self.command in ("PATCH", "PUT") else None
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
        where = parse_path(self.path[len(self.server.prefix):])
        if where is None:
            return self.fail(404, "NotFound", "the server could not find the requested resource")
        group, version, plural, ns, name, sub = where
        resource = f"{plural}.{group}" if group else plural
        if name is None:
            if self.command != "GET":
                return self.fail(405, "MethodNotAllowed", "the stand-in only lists collections")
            items = [o for (g, v, p, n, _), o in sorted(store.objects.items())
                     if (g, v, p, n) == (group, version, plural, ns)]
            kind = items[0]["kind"] if items else plural[:-1].capitalize()
            return self.reply(200, {"apiVersion": f"{group}/{version}" if group else version,
                                    "kind": kind + "List",
                                    "metadata": {"resourceVersion": str(store.version)},
                                    "items": items})
        obj = store.objects.get((group, version, plural, ns, name))
        if obj is None:
            return self.fail(404, "NotFound", f'{resource} "{name}" not found',
                             {"name": name, "group": group, "kind": plural})
        if self.command == "GET":
            return self.reply(200, obj)
        if self.command == "DELETE" and not sub:
            del store.objects[(group, version, plural, ns, name)]
            return self.reply(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                    "status": "Success",
                                    "details": {"name": name, "group": group, "kind": plural}})
        if self.command not in ("PATCH", "PUT") or (self.command == "PUT" and sub != "status"):
            return self.fail(405, "MethodNotAllowed",
                             "the server does not allow this method on the requested resource "
                             "(the stand-in does GET, PATCH, DELETE, and PUT of status)")
        wanted = MERGE_PATCH if self.command == "PATCH" else "application/json"
        if ctype != wanted:
            return self.fail(415, "UnsupportedMediaType",
                             f"the body of the request was in an unknown format - accepted media "
                             f"types include: {wanted}")
        try:
            body = json.loads(raw)
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            return self.fail(400, "BadRequest", f"the request body is not a JSON object: {e}")
        asked = (body.get("metadata") or {}).get("resourceVersion")
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
            new = merge_patch(obj, {k: v for k, v in body.items() if k != "status"})
            for k in ("apiVersion", "kind"):
                new[k] = obj[k]
            for k in ("name", "namespace"):
                new.setdefault("metadata", {})[k] = obj["metadata"][k]
            if "status" in obj:
                new["status"] = obj["status"]
        store.bump(new)
        store.objects[(group, version, plural, ns, name)] = new
        return self.reply(200, new)

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
    httpd.token = secrets.token_urlsafe(32)
    httpd.journal = args.journal
    httpd.chunked = args.chunked
    httpd.unavailable = args.unavailable
    httpd.prefix = args.prefix.rstrip("/")
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
