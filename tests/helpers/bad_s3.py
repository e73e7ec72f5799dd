#!/usr/bin/env python3
"""Test peer: a scripted, misbehaving S3 server, for the fault tests.

Not a real S3 server, and it checks no SigV4 signature (any Authorization
header, or none, is accepted): it serves, read-only and path-style
(/BUCKET/KEY, the bucket name ignored), the files under --dir as objects,
KEY being the path below --dir, with ETag = MD5 of the body in quotes.
GET (with "Range: bytes=N-"), HEAD and ListObjectsV2 (prefix, delimiter,
continuation-token, max-keys) are implemented; nothing else. Listings
page --page-size keys at a time with continuation tokens "page:N".

--mode picks one fault (default "honest": none):
  endless-token     every listing page lists the same keys again (those of
                    the first page) with a new NextContinuationToken: a
                    server that ignores continuation-token.
  repeat-token      page one is honest and hands out token "again"; asked
                    for "again", a page lists nothing and gives "again".
  empty-pages       page one is honest; every later page lists nothing and
                    gives a fresh token, for ever.
  cut               the first GET of each object sends all headers (the full
                    Content-Length) but half the body, then closes the
                    connection; the resumed GET is answered honestly (206).
  cut-changed       as cut, but the resumed GET is answered 206 from the
                    offset asked of a changed object (other bytes, other
                    ETag / Last-Modified), If-Match ignored.
  range-200         as cut, but the resumed GET is answered 200 with the
                    whole object (a server that ignores Range).
  range-200-changed as range-200, of a changed object.
  size-mismatch     objects are listed with <Size> = real size +
                    --size-delta (may be negative) but served as they are;
                    HEAD says the real size too: for "body shorter or
                    longer than the listed size" tests.
--no-etag sends Last-Modified alone (no ETag) on GET and HEAD.
--api azure or --api gcs speaks, for listings only (the honest and the
three listing modes), Azure's List Blobs (GET /ACCOUNT/CONTAINER?comp=list,
marker/NextMarker; no SharedKey or SAS checked) or GCS's objects.list
(GET /storage/v1/b/BUCKET/o, pageToken/nextPageToken; as an unauthenticated
STORAGE_EMULATOR_HOST), so every provider's list loop meets the same
faults; their GETs are not implemented.
--journal appends "METHOD PATH [range=...] [if-match=...]" per request, so a
test can assert what the client asked for. Listens on 127.0.0.1 only;
serves until killed.
"""
import argparse
import email.utils
import hashlib
import http.server
import json
import os
import socketserver
import threading
import urllib.parse
from xml.sax.saxutils import escape

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--dir", required=True, help="the objects: files below this directory")
parser.add_argument("--mode", default="honest",
                    choices=["honest", "endless-token", "repeat-token", "empty-pages", "cut",
                             "cut-changed", "range-200", "range-200-changed", "size-mismatch"])
parser.add_argument("--page-size", type=int, default=1000)
parser.add_argument("--size-delta", type=int, default=1)
parser.add_argument("--no-etag", action="store_true")
parser.add_argument("--api", choices=["s3", "azure", "gcs"], default="s3")
parser.add_argument("--journal", default=None)
args = parser.parse_args()

lock = threading.Lock()
cut_done = set()       # keys whose first GET was already cut
MTIME = 1700000000     # Last-Modified of every object; the "changed" one is later


def all_keys():
    out = []
    for root, _, files in os.walk(args.dir):
        for f in files:
            out.append(os.path.relpath(os.path.join(root, f), args.dir))
    return sorted(out)


def changed(body):
    """The object as it is after someone replaced it: same size, other bytes."""
    return bytes(b ^ 0xFF for b in body)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def journal(self):
        if args.journal:
            extra = "".join(" %s=%s" % (h, self.headers[h]) for h in ("range", "if-match")
                            if self.headers.get(h))
            with lock, open(args.journal, "a") as f:
                f.write("%s %s%s\n" % (self.command, self.path, extra))

    def reply(self, status, body=b"", headers=(), length=None):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def object_headers(self, body, mtime):
        h = [("Last-Modified", email.utils.formatdate(mtime, usegmt=True))]
        if not args.no_etag:
            h.append(("ETag", '"%s"' % hashlib.md5(body).hexdigest()))
        return h

    def do_GET(self):
        self.journal()
        path, _, query = self.path.partition("?")
        parts = urllib.parse.unquote(path).lstrip("/").split("/", 1)
        q = urllib.parse.parse_qs(query, keep_blank_values=True)
        if args.api == "azure":
            return self.list_objects(q, "marker")
        if args.api == "gcs":
            return self.list_objects(q, "pageToken")
        if len(parts) < 2 or not parts[1]:
            return self.list_objects(q, "continuation-token")
        self.get_object(parts[1])

    def do_HEAD(self):
        self.do_GET()

    def get_object(self, key):
        try:
            with open(os.path.join(args.dir, key), "rb") as f:
                body = f.read()
        except OSError:
            msg = b"<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>"
            return self.reply(404, msg, [("Content-Type", "application/xml")])
        rng = self.headers.get("Range")
        if self.command == "GET" and args.mode in ("cut", "cut-changed", "range-200",
                                                     "range-200-changed"):
            with lock:
                first = key not in cut_done
                cut_done.add(key)
            if first:
                # Full length announced, half sent, connection dropped.
                self.send_response(200)
                for k, v in self.object_headers(body, MTIME):
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if args.mode.endswith("-changed"):
                body, mtime = changed(body), MTIME + 60
            else:
                mtime = MTIME
            if args.mode.startswith("range-200"):
                rng = None
        else:
            mtime = MTIME
        headers = self.object_headers(body, mtime)
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            headers.append(("Content-Range", "bytes %d-%d/%d" % (start, len(body) - 1, len(body))))
            return self.reply(206, body[start:], headers)
        self.reply(200, body, headers)

    def list_objects(self, q, token_param):
        prefix = q.get("prefix", [""])[0]
        delim = q.get("delimiter", [""])[0]
        token = q.get(token_param, [None])[0]
        size = min(args.page_size, int(q.get("max-keys", q.get("maxresults", ["1000"]))[0]))
        entries = []   # (key, is_prefix, size)
        for k in all_keys():
            if not k.startswith(prefix):
                continue
            d = k.find(delim, len(prefix)) if delim else -1
            if d >= 0:
                p = k[:d + len(delim)]
                if not entries or entries[-1][0] != p:
                    entries.append((p, True, 0))
            else:
                entries.append((k, False, os.path.getsize(os.path.join(args.dir, k))))
        start = int(token.split(":")[1]) if token and token.startswith("page:") else 0
        page, nxt = entries[start:start + size], None
        if start + size < len(entries):
            nxt = "page:%d" % (start + size)
        if args.mode == "endless-token":
            page, nxt = entries[:size], "endless:%d" % (start + 1)
            if token and token.startswith("endless:"):
                nxt = "endless:%d" % (int(token.split(":")[1]) + 1)
        elif args.mode == "repeat-token":
            page, nxt = (entries[:size], "again") if token is None else ([], "again")
        elif args.mode == "empty-pages" and token is not None:
            n = int(token.split(":")[1]) if token.startswith("empty:") else 0
            page, nxt = [], "empty:%d" % (n + 1)
        elif args.mode == "empty-pages":
            nxt = "empty:0"
        if args.mode == "size-mismatch":
            page = [(k, p, sz if p else sz + args.size_delta) for k, p, sz in page]
        if args.api == "azure":
            return self.reply(200, azure_list(prefix, page, nxt), [("Content-Type", "application/xml")])
        if args.api == "gcs":
            return self.reply(200, gcs_list(page, nxt), [("Content-Type", "application/json")])
        out = ['<?xml version="1.0" encoding="UTF-8"?>',
               '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
               "<Name>test</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount>" % (
                   escape(prefix), len(page)),
               "<IsTruncated>%s</IsTruncated>" % ("true" if nxt else "false")]
        if nxt:
            out.append("<NextContinuationToken>%s</NextContinuationToken>" % escape(nxt))
        out.append(xml_entries(page, "<CommonPrefixes><Prefix>%s</Prefix></CommonPrefixes>",
                               "<Contents><Key>%s</Key><Size>%d</Size><LastModified>"
                               "2023-11-14T22:13:20.000Z</LastModified></Contents>"))
        out.append("</ListBucketResult>")
        self.reply(200, "".join(out).encode(), [("Content-Type", "application/xml")])


def xml_entries(page, prefix_form, object_form):
    """A page's entries in an XML listing: common prefixes and objects."""
    return "".join(prefix_form % escape(key) if is_prefix else object_form % (escape(key), sz)
                   for key, is_prefix, sz in page)


def azure_list(prefix, page, nxt):
    return ('<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Prefix>%s</Prefix>'
            "<Blobs>%s</Blobs><NextMarker>%s</NextMarker></EnumerationResults>" % (
                escape(prefix),
                xml_entries(page, "<BlobPrefix><Name>%s</Name></BlobPrefix>",
                            "<Blob><Name>%s</Name><Properties><Content-Length>%d"
                            "</Content-Length><Last-Modified>Tue, 14 Nov 2023 22:13:20 GMT"
                            "</Last-Modified></Properties></Blob>"),
                escape(nxt or ""))).encode()


def gcs_list(page, nxt):
    doc = {"items": [{"name": k, "size": str(sz), "updated": "2023-11-14T22:13:20.000Z"}
                     for k, p, sz in page if not p],
           "prefixes": [k for k, p, _ in page if p]}
    if nxt:
        doc["nextPageToken"] = nxt
    return json.dumps(doc).encode()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


Server(("127.0.0.1", args.port), Handler).serve_forever()
