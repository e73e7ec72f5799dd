#!/usr/bin/env python3
"""A TEST STAND-IN for Google Cloud Storage's JSON API. It is not Google's
server and not a general emulator: it implements the few endpoints the gs://
backend of bc uses, as Google documents them, strictly enough that the tests
can catch a client that gets them wrong.

Endpoints (all on 127.0.0.1 only):
  POST   /token                                  OAuth 2.0 JWT bearer grant: the
         assertion's RS256 signature is verified against --public-key, and its
         iss (--client-email), aud (this URL), iat/exp and scope are checked;
         answers a random access token
  GET    /computeMetadata/v1/instance/service-accounts/default/token
         the GCE metadata server's token (needs "Metadata-Flavor: Google")
  GET    /storage/v1/b/BUCKET                    bucket metadata
  GET    /storage/v1/b/BUCKET/o                  list: prefix, delimiter,
         maxResults, pageToken (pages of at most --page-size entries, objects
         and prefixes counted together), items[], prefixes[], nextPageToken
  GET    /storage/v1/b/BUCKET/o/OBJECT           metadata; ?alt=media: the bytes
         (Range honoured), the custom metadata as X-Goog-Meta-KEY headers.
         OBJECT must be percent-encoded, '/' as %2F
  DELETE /storage/v1/b/BUCKET/o/OBJECT
  POST   /batch/storage/v1                       a multipart/mixed body of at most
         100 application/http parts; only DELETE of an object is implemented
         (anything else answers 400 in its part); the reply is multipart/mixed,
         one "HTTP/1.1 STATUS" part per call in order, each sub-request
         journalled as "BATCH METHOD PATH"
  POST   /upload/storage/v1/b/BUCKET/o?uploadType=media&name=N    simple upload
         (no custom metadata: an object replaced this way loses it)
  POST   /upload/storage/v1/b/BUCKET/o?uploadType=multipart&name=N  a
         multipart/related body (boundary from Content-Type): the JSON
         resource, whose "metadata" map becomes the custom metadata, then the
         bytes
  POST   /upload/storage/v1/b/BUCKET/o?uploadType=resumable&name=N opens a
         session (Location and X-GUploader-UploadID headers); the JSON body's
         "metadata" map becomes the object's custom metadata, returned in its
         resource ("metadata", as GCS does; absent when empty); PUT to the session
         URI with Content-Range "bytes A-B/TOTAL|*" or "bytes */TOTAL": 308 Resume
         Incomplete (with Range) until the object is complete; chunks but the
         last must be multiples of 256 KiB; DELETE cancels (499)
  ifGenerationMatch=0 on uploads: 412 if the object exists.

Storage endpoints want "Authorization: Bearer T" with a token it issued,
unless started with --no-auth. Objects live in --dir, one file per object
(the name percent-encoded); custom metadata in --dir/.metadata/BUCKET/NAME
as JSON (outside the bucket directories, so listings never see it). --token-log records issued tokens so tests can
check that none leaks into output.
Every request is appended to --journal as "METHOD PATH?QUERY auth=yes|no".
"""
import argparse
import base64
import datetime
import json
import os
import re
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

CHUNK_UNIT = 256 * 1024
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"

LOCK = threading.Lock()
TOKENS = {}      # access token -> expiry
SESSIONS = {}    # upload id -> dict


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "gcs-standin"

    def log_message(self, *args):
        pass

    # ---- plumbing -------------------------------------------------------

    def reply(self, status, body=b"", headers=None, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if body or status not in (204, 308):
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, message, reason="invalid"):
        self.reply(status, {"error": {"code": status, "message": message,
                                      "errors": [{"message": message, "domain": "global",
                                                  "reason": reason}]}})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def journal(self):
        with LOCK, open(ARGS.journal, "a") as f:
            auth = "yes" if self.headers.get("Authorization") else "no"
            f.write(f"{self.command} {self.path} auth={auth}\n")

    def authorized(self):
        if ARGS.no_auth:
            return True
        h = self.headers.get("Authorization", "")
        tok = h[7:] if h.startswith("Bearer ") else None
        with LOCK:
            ok = tok is not None and TOKENS.get(tok, 0) > time.time()
        if not ok:
            self.error(401, "Invalid Credentials", "authError")
        return ok

    def issue(self):
        tok = secrets.token_urlsafe(32)
        with LOCK:
            TOKENS[tok] = time.time() + ARGS.token_ttl
            if ARGS.token_log:
                with open(ARGS.token_log, "a") as f:
                    f.write(tok + "\n")
        self.reply(200, {"access_token": tok, "expires_in": ARGS.token_ttl,
                         "token_type": "Bearer"})

    # ---- dispatch -------------------------------------------------------

    def route(self):
        self.journal()
        path, _, query = self.path.partition("?")
        self.q = {k: v[0] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()}
        data = self.body() if self.command in ("POST", "PUT") else b""
        if path == "/token" and self.command == "POST":
            return self.token(data)
        if path == "/computeMetadata/v1/instance/service-accounts/default/token":
            if self.headers.get("Metadata-Flavor") != "Google":
                return self.error(403, "Missing Metadata-Flavor: Google header")
            return self.issue()
        parts = path.split("/")
        if not self.authorized():
            return
        if path == "/batch/storage/v1" and self.command == "POST":
            return self.batch(data)
        # /storage/v1/b/B[/o[/OBJ]] or /upload/storage/v1/b/B/o
        upload = parts[1:2] == ["upload"]
        if upload:
            parts = parts[1:]
        if parts[1:4] != ["storage", "v1", "b"] or len(parts) < 5:
            return self.error(404, "Not Found", "notFound")
        bucket = urllib.parse.unquote(parts[4])
        if not os.path.isdir(self.bucket_dir(bucket)):
            return self.error(404, "The specified bucket does not exist.", "notFound")
        rest = parts[5:]
        if upload and rest == ["o"]:
            return self.upload(bucket, data)
        if rest == [] and self.command == "GET":
            return self.reply(200, {"kind": "storage#bucket", "id": bucket, "name": bucket})
        if rest == ["o"] and self.command == "GET":
            return self.list(bucket)
        if len(rest) == 2 and rest[0] == "o":
            return self.object(bucket, urllib.parse.unquote(rest[1]))
        return self.error(404, "Not Found (object names must be percent-encoded)", "notFound")

    do_GET = do_POST = do_PUT = do_DELETE = route

    # ---- OAuth ----------------------------------------------------------

    def token(self, data):
        form = urllib.parse.parse_qs(data.decode(), keep_blank_values=True)
        if form.get("grant_type", [""])[0] != JWT_GRANT:
            return self.reply(400, {"error": "unsupported_grant_type"})
        try:
            head_b, claims_b, sig_b = form["assertion"][0].split(".")
            head = json.loads(b64url_decode(head_b))
            claims = json.loads(b64url_decode(claims_b))
            if head.get("alg") != "RS256" or head.get("typ") != "JWT":
                raise ValueError("bad header")
            PUBLIC_KEY.verify(b64url_decode(sig_b), f"{head_b}.{claims_b}".encode(),
                              padding.PKCS1v15(), hashes.SHA256())
        except (KeyError, ValueError, InvalidSignature, AttributeError):
            return self.reply(400, {"error": "invalid_grant",
                                    "error_description": "Invalid JWT Signature."})
        now = time.time()
        aud = f"http://127.0.0.1:{ARGS.port}/token"
        if (claims.get("iss") != ARGS.client_email or claims.get("aud") != aud
                or SCOPE not in claims.get("scope", "").split()
                or not claims.get("iat", 0) - 300 <= now < claims.get("exp", 0)
                or claims["exp"] - claims["iat"] > 3600):
            return self.reply(400, {"error": "invalid_grant",
                                    "error_description": "Invalid JWT: bad iss, aud, scope or time."})
        self.issue()

    # ---- objects --------------------------------------------------------

    def bucket_dir(self, bucket):
        return os.path.join(ARGS.dir, urllib.parse.quote(bucket, safe=""))

    def object_path(self, bucket, name):
        return os.path.join(self.bucket_dir(bucket), urllib.parse.quote(name, safe=""))

    def meta_path(self, bucket, name):
        return os.path.join(ARGS.dir, ".metadata", urllib.parse.quote(bucket, safe=""),
                            urllib.parse.quote(name, safe=""))

    def custom_metadata(self, bucket, name):
        try:
            with open(self.meta_path(bucket, name)) as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def resource(self, bucket, name):
        st = os.stat(self.object_path(bucket, name))
        gen = str(st.st_mtime_ns)
        res = {"kind": "storage#object", "bucket": bucket, "name": name, "size": str(st.st_size),
               "generation": gen, "updated": rfc3339(st.st_mtime), "etag": gen}
        meta = self.custom_metadata(bucket, name)
        if meta:
            res["metadata"] = meta
        return res

    def list(self, bucket):
        prefix, delim = self.q.get("prefix", ""), self.q.get("delimiter", "")
        size = min(int(self.q.get("maxResults", ARGS.page_size)), ARGS.page_size)
        after = b64url_decode(self.q["pageToken"]).decode() if "pageToken" in self.q else None
        names = sorted(urllib.parse.unquote(n) for n in os.listdir(self.bucket_dir(bucket)))
        entries = []   # (name, is_prefix), in name order, prefixes once
        for n in names:
            if not n.startswith(prefix):
                continue
            cut = n.find(delim, len(prefix)) if delim else -1
            e = (n[:cut + len(delim)], True) if cut >= 0 else (n, False)
            if not entries or entries[-1] != e:
                entries.append(e)
        if after is not None:
            entries = [e for e in entries if e[0] > after]
        page, more = entries[:size], len(entries) > size
        out = {"kind": "storage#objects"}
        items = [self.resource(bucket, n) for n, p in page if not p]
        prefixes = [n for n, p in page if p]
        if items:
            out["items"] = items
        if prefixes:
            out["prefixes"] = prefixes
        if more:
            out["nextPageToken"] = base64.urlsafe_b64encode(page[-1][0].encode()).decode()
        self.reply(200, out)

    def delete(self, bucket, name):
        """204 when the object was there, else 404."""
        path = self.object_path(bucket, name)
        if not os.path.exists(path):
            return 404
        os.unlink(path)
        if os.path.exists(self.meta_path(bucket, name)):
            os.unlink(self.meta_path(bucket, name))
        return 204

    def batch(self, data):
        m = re.search(r'boundary="?([^";]+)"?', self.headers.get("Content-Type", ""))
        if not m or not self.headers.get("Content-Type", "").startswith("multipart/mixed"):
            return self.error(400, "batch: the body must be multipart/mixed with a boundary")
        sep = b"--" + m.group(1).encode()
        calls = [c for c in data.split(sep)[1:] if not c.startswith(b"--")]
        if len(calls) > 100:
            return self.error(400, "batch: more than 100 calls")
        out = []
        for i, call in enumerate(calls):
            head, _, inner = call.partition(b"\r\n\r\n")
            if b"application/http" not in head:
                return self.error(400, "batch: a part is not application/http")
            line = inner.split(b"\r\n", 1)[0].decode()
            method, target, _ = (line.split(" ") + ["", ""])[:3]
            with LOCK, open(ARGS.journal, "a") as f:
                f.write(f"BATCH {method} {target}\n")
            p = target.split("?")[0].split("/")
            status = 400
            if method == "DELETE" and p[1:4] == ["storage", "v1", "b"] and len(p) == 7 \
                    and p[5] == "o":
                bucket = urllib.parse.unquote(p[4])
                status = self.delete(bucket, urllib.parse.unquote(p[6])) \
                    if os.path.isdir(self.bucket_dir(bucket)) else 404
            reason = {204: "No Content", 404: "Not Found", 400: "Bad Request"}[status]
            out.append(f"--batch_reply\r\nContent-Type: application/http\r\n"
                       f"Content-ID: <response-{i}>\r\n\r\nHTTP/1.1 {status} {reason}\r\n"
                       f"Content-Length: 0\r\n\r\n")
        body = ("".join(out) + "--batch_reply--\r\n").encode()
        return self.reply(200, body, ctype="multipart/mixed; boundary=batch_reply")

    def object(self, bucket, name):
        path = self.object_path(bucket, name)
        if self.command == "DELETE":
            if self.delete(bucket, name) == 404:
                return self.error(404, f"No such object: {bucket}/{name}", "notFound")
            return self.reply(204)
        if self.command != "GET":
            return self.error(405, "Method not allowed")
        if not os.path.exists(path):
            return self.error(404, f"No such object: {bucket}/{name}", "notFound")
        res = self.resource(bucket, name)
        if self.q.get("alt") != "media":
            return self.reply(200, res)
        with open(path, "rb") as f:
            data = f.read()
        rng = self.headers.get("Range", "")
        match = self.headers.get("If-Match")
        if match and match.strip('"') != res["etag"]:
            return self.error(412, "Precondition Failed", "conditionNotMet")
        hdr = {"ETag": f'"{res["etag"]}"'}
        hdr.update({f"X-Goog-Meta-{k}": v for k, v in res.get("metadata", {}).items()})
        if rng.startswith("bytes=") and rng[6:].endswith("-"):
            start = int(rng[6:-1])
            hdr["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            return self.reply(206, data[start:], hdr, "application/octet-stream")
        self.reply(200, data, hdr, "application/octet-stream")

    def store(self, bucket, name, data, if_gen, metadata=None):
        path = self.object_path(bucket, name)
        if if_gen == "0" and os.path.exists(path):
            return self.error(412, "At least one of the pre-conditions you specified did not hold.",
                              "conditionNotMet")
        mpath = self.meta_path(bucket, name)
        os.makedirs(os.path.dirname(mpath), exist_ok=True)
        if metadata:
            with open(mpath + ".tmp", "w") as f:
                json.dump(metadata, f)
            os.replace(mpath + ".tmp", mpath)
        elif os.path.exists(mpath):
            os.unlink(mpath)
        tmp = f"{path}.{secrets.token_hex(4)}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        self.reply(200, self.resource(bucket, name))

    def upload(self, bucket, data):
        kind, name = self.q.get("uploadType"), self.q.get("name")
        uid = self.q.get("upload_id")
        if uid is not None:
            return self.session(bucket, uid, data)
        if not name or self.command != "POST":
            return self.error(400, "Required parameter: name", "required")
        if_gen = self.q.get("ifGenerationMatch")
        if if_gen == "0" and os.path.exists(self.object_path(bucket, name)):
            return self.error(412, "At least one of the pre-conditions you specified did not hold.",
                              "conditionNotMet")
        if kind == "media":
            return self.store(bucket, name, data, if_gen)
        if kind == "multipart":
            ctype = self.headers.get("Content-Type", "")
            bnd = ctype.partition("boundary=")[2].strip('"').encode()
            parts = data.split(b"--" + bnd) if bnd else []
            if (not ctype.startswith("multipart/related") or len(parts) != 4
                    or parts[0] or not parts[3].startswith(b"--")):
                return self.error(400, "Bad multipart/related body")
            (h1, _, resource), (h2, _, media) = (p[2:].partition(b"\r\n\r\n") for p in parts[1:3])
            if (b"application/json" not in h1.lower() or not resource.endswith(b"\r\n")
                    or not media.endswith(b"\r\n")):
                return self.error(400, "Bad multipart/related part")
            meta = json.loads(resource[:-2] or b"{}")
            return self.store(bucket, name, media[:-2], if_gen, meta.get("metadata", {}))
        if kind != "resumable":
            return self.error(400, f"Unsupported uploadType {kind}")
        meta = json.loads(data or b"{}")
        uid = secrets.token_urlsafe(24)
        with LOCK:
            SESSIONS[uid] = {"bucket": bucket, "name": name, "if_gen": if_gen, "data": bytearray(),
                             "metadata": meta.get("metadata", {})}
        loc = f"http://127.0.0.1:{ARGS.port}{self.path}&upload_id={uid}"
        self.reply(200, b"", {"Location": loc, "X-GUploader-UploadID": uid})

    def session(self, bucket, uid, data):
        with LOCK:
            s = SESSIONS.get(uid)
        if s is None or s["bucket"] != bucket:
            return self.error(404, "No such upload session", "notFound")
        if self.command == "DELETE":
            with LOCK:
                SESSIONS.pop(uid, None)
            return self.reply(499, b"")
        if self.command != "PUT":
            return self.error(405, "Method not allowed")
        unit, _, spec = self.headers.get("Content-Range", "").partition(" ")
        rng, _, total = spec.partition("/")
        if unit != "bytes" or not total:
            return self.error(400, "Missing or bad Content-Range")
        have = len(s["data"])
        if rng != "*":
            a, _, b = rng.partition("-")
            a, b = int(a), int(b)
            if b - a + 1 != len(data) or a > have:
                return self.error(400, "Content-Range does not match the data or leaves a gap")
            final = total != "*" and b + 1 == int(total)
            if not final and len(data) % CHUNK_UNIT:
                return self.error(400, "Chunk size must be a multiple of 256 KiB")
            s["data"][a:] = data
        if total != "*" and int(total) == len(s["data"]):
            with LOCK:
                SESSIONS.pop(uid, None)
            return self.store(bucket, s["name"], bytes(s["data"]), s["if_gen"], s["metadata"])
        hdr = {"Range": f"bytes=0-{len(s['data']) - 1}"} if s["data"] else {}
        self.reply(308, b"", hdr)


def main():
    global ARGS, PUBLIC_KEY
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--bucket", action="append", default=[])
    p.add_argument("--public-key", help="PEM public key of the test service account")
    p.add_argument("--client-email", default="")
    p.add_argument("--journal", default=os.devnull)
    p.add_argument("--page-size", type=int, default=1000)
    p.add_argument("--token-ttl", type=int, default=3600)
    p.add_argument("--no-auth", action="store_true")
    p.add_argument("--token-log", help="appends every issued token (tests check none leaks)")
    ARGS = p.parse_args()
    PUBLIC_KEY = None
    if ARGS.public_key:
        with open(ARGS.public_key, "rb") as f:
            PUBLIC_KEY = serialization.load_pem_public_key(f.read())
    for b in ARGS.bucket:
        os.makedirs(os.path.join(ARGS.dir, urllib.parse.quote(b, safe="")), exist_ok=True)
    ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
