#!/usr/bin/env python3
"""Test stand-in: a SigV4-verifying gate in front of s3rver.

s3rver 3.7.1 accepts any SigV4 signature from a known access key (its
source says the V4 calculation is unimplemented), so on its own it would
not catch a signing bug. This gate checks every request the way S3 does
before forwarding it unchanged to s3rver:
  - recomputes the signature with botocore's S3SigV4Auth (an implementation
    independent of ours) from the method, raw path, query, signed headers,
    credential scope and x-amz-date, using the secret for the access key;
  - checks x-amz-content-sha256 against the SHA-256 of the body received;
  - rejects requests whose x-amz-date is more than 15 minutes off.
Failures are answered like S3 (403 with an XML Error: SignatureDoesNotMatch,
XAmzContentSHA256Mismatch, RequestTimeTooSkewed, InvalidAccessKeyId).
Every verified request is also written to the --journal file as
"METHOD PATH [header=value ...]" for the headers in JOURNAL_HEADERS, so tests can assert on what crossed the
wire where s3rver does not reflect it back (it ignores x-amz-tagging on
uploads, for one).
s3rver ignores If-None-Match on writes (it honours it only on GET), so
the gate emulates S3's conditional create: a PutObject or
CompleteMultipartUpload with "If-None-Match: *" is forwarded only if a HEAD
of the key finds nothing, both under one lock shared by all conditional
writes, and is otherwise answered 412 PreconditionFailed as S3 does. Two
clients racing to create one key thus see exactly one success, which is
what bc-backup's backup id reservation relies on.
With --bucket-region the buckets live in that region: a request signed for
another one gets S3's answer (301 PermanentRedirect with x-amz-bucket-region
for HEAD and bucket-level calls, 400 AuthorizationHeaderMalformed with the
region in the body's <Region> for object calls), so a client can follow it.
With --cert/--key it serves HTTPS (for CA bundle and TLS failure tests).
With --prefix-only BUCKET/PREFIX it refuses, with AccessDenied, what an IAM
policy scoped to the prefix refuses: every bucket-level call but a
ListObjectsV2 whose prefix is inside PREFIX and a DeleteObjects of keys
inside it, and every object outside it (HeadBucket, GetBucketLocation, a
listing of the whole bucket all fail).
Credentials: S3RVER / S3RVER, and the temporary keys the AWS credential
stand-in (aws_standin.py) issued, read from its --issued file (one JSON
object per line): those require their x-amz-security-token, signed, and
are refused with ExpiredToken past their expiry, as S3 does; s3rver, which
knows its own key only, gets them as S3RVER. --part-delay holds part
uploads, so that an upload outlasts keys that expire within seconds. Listens on 127.0.0.1 only; runs until killed.
"""
import argparse
import datetime
import hashlib
import hmac
import html
import http.client
import http.server
import json
import re
import socketserver
import sys
import threading
import time
import urllib.parse

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SECRETS = {"S3RVER": "S3RVER"}
CONDITIONAL_LOCK = threading.Lock()
AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request,\s*"
    r"SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$")

JOURNAL_HEADERS = ("content-length", "x-amz-security-token", "if-none-match", "x-amz-server-side-encryption",
                   "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-tagging")

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--upstream", required=True, help="host:port of s3rver")
parser.add_argument("--log", help="append one line per rejected request here")
parser.add_argument("--journal", help="append one line per verified request here")
parser.add_argument("--journal-header", action="append", default=[], metavar="NAME",
                    help="journal this header too, after the usual ones (repeatable)")
parser.add_argument("--issued", help="temporary keys issued by aws_standin.py (JSON lines)")
parser.add_argument("--prefix-only", metavar="BUCKET/PREFIX",
                    help="answer AccessDenied, as an IAM policy scoped to the prefix would, to "
                         "any bucket-level call but a listing inside PREFIX and a DeleteObjects "
                         "of keys inside it, and to any object outside it")
parser.add_argument("--part-delay", type=float, default=0,
                    help="hold each verified part upload this many seconds before "
                         "forwarding it, so an upload outlasts short-lived keys")
parser.add_argument("--bucket-region", metavar="REGION",
                    help="the buckets are in REGION: a request signed for another region is "
                         "answered as S3 does, 301 PermanentRedirect for HEAD and bucket-level "
                         "calls (x-amz-bucket-region), 400 AuthorizationHeaderMalformed "
                         "naming the region in its body for the others")
parser.add_argument("--cert", help="serve HTTPS with this PEM certificate")
parser.add_argument("--key", help="private key of --cert")
args = parser.parse_args()


def issued(key_id):
    """The temporary credentials issued under key_id, or None."""
    if not args.issued:
        return None
    try:
        with open(args.issued) as f:
            for line in f:
                entry = json.loads(line)
                if entry["AccessKeyId"] == key_id:
                    return entry
    except FileNotFoundError:
        pass
    return None


def outside_prefix(method, raw_path, body):
    """What a policy granting s3:ListBucket with an s3:prefix condition and
    the object verbs on BUCKET/PREFIX* only would refuse; None if allowed."""
    bucket, _, prefix = args.prefix_only.partition("/")
    path, _, query = raw_path.partition("?")
    q = urllib.parse.parse_qs(query, keep_blank_values=True)
    parts = path.lstrip("/").split("/", 1)
    denied = ("AccessDenied", "Access Denied (the policy grants %s only)" % args.prefix_only)
    if parts[0] != bucket:
        return denied
    key = urllib.parse.unquote(parts[1]) if len(parts) > 1 else ""
    if key:
        return None if key.startswith(prefix) else denied
    if method == "GET" and q.get("list-type") == ["2"] and \
            q.get("prefix", [""])[0].startswith(prefix) and \
            not set(q) - {"list-type", "prefix", "delimiter", "continuation-token",
                          "max-keys", "start-after", "encoding-type"}:
        return None
    if method == "POST" and "delete" in q:
        keys = re.findall(rb"<Key>(.*?)</Key>", body)
        if keys and all(html.unescape(k.decode()).startswith(prefix) for k in keys):
            return None
    return denied


def verify(method, raw_path, headers, body):
    """None if the request is correctly signed, else (code, message)."""
    auth = headers.get("Authorization", "")
    m = AUTH_RE.match(auth)
    if not m:
        return ("AccessDenied", "missing or malformed SigV4 Authorization header")
    key_id, scope_date, region, signed, signature = m.groups()
    secret = SECRETS.get(key_id)
    temporary = None if secret else issued(key_id)
    if temporary:
        secret = temporary["SecretAccessKey"]
        if headers.get("x-amz-security-token") != temporary["Token"]:
            return ("InvalidToken", "temporary key without its x-amz-security-token")
        if time.time() >= temporary["ExpiresAt"]:
            return ("ExpiredToken", "the provided token has expired")
    if not secret:
        return ("InvalidAccessKeyId", "unknown access key")
    amz_date = headers.get("x-amz-date", "")
    if not amz_date.startswith(scope_date):
        return ("SignatureDoesNotMatch", "x-amz-date does not match the credential scope")
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return ("AccessDenied", "bad x-amz-date")
    if abs((datetime.datetime.utcnow() - when).total_seconds()) > 900:
        return ("RequestTimeTooSkewed", "x-amz-date is too far from now")
    content_sha = headers.get("x-amz-content-sha256", "")
    if content_sha != "UNSIGNED-PAYLOAD" and content_sha != hashlib.sha256(body).hexdigest():
        return ("XAmzContentSHA256Mismatch", "body does not match x-amz-content-sha256")

    signed_names = signed.split(";")
    if "x-amz-security-token" in headers and "x-amz-security-token" not in signed_names:
        return ("SignatureDoesNotMatch", "x-amz-security-token is sent but not signed")
    req_headers = {}
    for name in signed_names:
        value = headers.get(name)
        if value is None:
            return ("SignatureDoesNotMatch", "signed header %s is missing" % name)
        req_headers[name] = value
    request = AWSRequest(method=method, url="http://%s%s" % (headers["host"], raw_path),
                         headers=req_headers, data=body)
    request.context["timestamp"] = amz_date
    signer = S3SigV4Auth(Credentials(key_id, secret), "s3", region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        return ("SignatureDoesNotMatch", "signature mismatch; canonical request was:\n" + canonical)
    return None


class Gate(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def wrong_region(self):
        """Answers as S3 does a request signed for a region other than
        --bucket-region; False if it was signed for that one."""
        m = AUTH_RE.match(self.headers.get("Authorization", ""))
        if not args.bucket_region or not m or m.group(3) == args.bucket_region:
            return False
        path = self.path.partition("?")[0].strip("/")
        if args.log:
            with open(args.log, "a") as f:
                f.write("%s %s WrongRegion: signed for %s\n" % (self.command, self.path, m.group(3)))
        if self.command == "HEAD" or "/" not in path:
            xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>PermanentRedirect"
                   "</Code><Message>The bucket you are attempting to access must be addressed "
                   "using the specified endpoint.</Message><Bucket>%s</Bucket></Error>"
                   % path.split("/")[0]).encode()
            self.reply(301, xml, [("Content-Type", "application/xml"),
                                  ("x-amz-bucket-region", args.bucket_region)])
        else:
            xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
                   "AuthorizationHeaderMalformed</Code><Message>The authorization header is "
                   "malformed; the region '%s' is wrong; expecting '%s'</Message><Region>%s"
                   "</Region></Error>" % (m.group(3), args.bucket_region, args.bucket_region)).encode()
            self.reply(400, xml, [("Content-Type", "application/xml")])
        return True

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.wrong_region():
            return
        problem = verify(self.command, self.path, self.headers, body) or \
            (args.prefix_only and outside_prefix(self.command, self.path, body))
        if problem:
            code, message = problem
            if args.log:
                with open(args.log, "a") as f:
                    f.write("%s %s %s: %s\n" % (self.command, self.path, code, message))
            xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
                   "<Message>%s</Message></Error>" % (code, message.split("\n")[0])).encode()
            status = 403
            self.reply(status, xml, [("Content-Type", "application/xml")])
            return
        if args.journal:
            extra = "".join(" %s=%s" % (h, self.headers[h])
                            for h in JOURNAL_HEADERS + tuple(args.journal_header)
                            if self.headers.get(h) is not None)
            with open(args.journal, "a") as f:
                f.write("%s %s%s\n" % (self.command, self.path, extra))
        if args.part_delay and self.command == "PUT" and "partNumber=" in self.path:
            time.sleep(args.part_delay)
        host, port = args.upstream.split(":")
        headers = {k: v for k, v in self.headers.items() if k.lower() != "expect"}
        key_id = AUTH_RE.match(self.headers["Authorization"]).group(1)
        if key_id not in SECRETS:
            # s3rver knows its own key only (and checks no signature): a
            # temporary key, verified above, goes on under that name.
            headers = {k: (v.replace(key_id, "S3RVER", 1) if k.lower() == "authorization" else v)
                       for k, v in headers.items() if k.lower() != "x-amz-security-token"}
        query = self.path.partition("?")[2]
        conditional = self.headers.get("if-none-match") == "*" and (
            (self.command == "PUT" and "uploadId=" not in query)
            or (self.command == "POST" and "uploadId=" in query))
        if conditional:
            with CONDITIONAL_LOCK:
                if self.exists(host, port, headers):
                    xml = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error>"
                           b"<Code>PreconditionFailed</Code><Message>At least one of the "
                           b"pre-conditions you specified did not hold</Message>"
                           b"<Condition>If-None-Match</Condition></Error>")
                    self.reply(412, xml, [("Content-Type", "application/xml")])
                    return
                resp, data = self.forward(host, port, headers, body)
        else:
            resp, data = self.forward(host, port, headers, body)
        passed = [(k, v) for k, v in resp.getheaders()
                  if k.lower() not in ("transfer-encoding", "connection", "content-length")]
        if self.command == "HEAD":
            passed.append(("Content-Length", resp.getheader("Content-Length", "0")))
            self.send_response(resp.status)
            for k, v in passed:
                self.send_header(k, v)
            self.end_headers()
            return
        self.reply(resp.status, data, passed)

    def forward(self, host, port, headers, body):
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp, data

    def exists(self, host, port, headers):
        """Whether the key of this request exists upstream (s3rver checks no signature)."""
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        head = {k: v for k, v in headers.items()
                if k.lower() not in ("content-length", "content-type", "if-none-match",
                                     "content-md5", "transfer-encoding")}
        conn.request("HEAD", self.path.partition("?")[0], headers=head)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        return resp.status == 200

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


server = Server(("127.0.0.1", args.port), Gate)
if args.cert:
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
