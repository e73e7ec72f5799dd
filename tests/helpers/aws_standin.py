#!/usr/bin/env python3
"""Test stand-in for the three AWS services that issue temporary
credentials, on one 127.0.0.1 port (it is none of them):

  - AWS STS, AssumeRoleWithWebIdentity only: POST / (form body, as botocore
    sends it) or GET /?query, unsigned; answers the XML
    AssumeRoleWithWebIdentityResponse, or an ErrorResponse (400) when the
    WebIdentityToken is not --web-token, a parameter is missing, or
    --refuse CODE is given.
  - The ECS / EKS Pod Identity container credentials endpoint: GET
    --container-path; requires "Authorization: --auth-token" when given
    (401 otherwise); answers JSON AccessKeyId, SecretAccessKey, Token,
    Expiration.
  - EC2 instance metadata, IMDSv2: PUT /latest/api/token (with
    X-aws-ec2-metadata-token-ttl-seconds) gives a session token; GET
    /latest/meta-data/iam/security-credentials/ (the role name) and
    .../ROLE (JSON with Code "Success") require it (401 without: IMDSv1
    is off, as on instances that enforce IMDSv2).

It hands out one set of keys until it expires, --expiry seconds after it
was issued (or the store stops taking it, --revoke-after) (so two clients asking in that time get the same access key, as
from IMDS), then a new one; each set is appended to --issued (one JSON object per line) for sigv4_gate.py to verify
signatures with. Each request is logged to --log as "METHOD PATH" (tokens
are not logged). Runs until killed.
"""
import argparse
import datetime
import http.server
import json
import secrets
import socketserver
import threading
import time
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--expiry", type=int, default=3600, help="seconds the keys last")
parser.add_argument("--issued", required=True)
parser.add_argument("--log", required=True)
parser.add_argument("--web-token", default="", help="the only WebIdentityToken STS accepts")
parser.add_argument("--revoke-after", type=int,
                    help="the store (sigv4_gate.py, through --issued) takes the keys for "
                         "expired this many seconds after issuing them, however long "
                         "their Expiration says they last (a clock off, revoked keys)")
parser.add_argument("--refuse", help="STS refuses every call with this error code")
parser.add_argument("--container-path", default="/v1/credentials")
parser.add_argument("--auth-token", help="the Authorization the container endpoint requires")
args = parser.parse_args()

LOCK = threading.Lock()
ROLE = "bc-test-role"
IMDS_TOKENS = set()
COUNT = [0]
CURRENT = [None]


def issue():
    with LOCK:
        if CURRENT[0] and time.time() < CURRENT[0]["ExpiresAt"]:
            return CURRENT[0]
        COUNT[0] += 1
        now = int(time.time())
        expires = now + args.expiry
        entry = {
            "AccessKeyId": "ASIASTANDIN%05d%s" % (COUNT[0], secrets.token_hex(2).upper()),
            "SecretAccessKey": secrets.token_urlsafe(30),
            "Token": "IQoJstandin" + secrets.token_urlsafe(60),
            "ExpiresAt": now + args.revoke_after if args.revoke_after else expires,
            "Expiration": datetime.datetime.fromtimestamp(expires, datetime.timezone.utc)
            .strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        with open(args.issued, "a") as f:
            f.write(json.dumps(entry) + "\n")
        CURRENT[0] = entry
        return entry


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        path, _, query = self.path.partition("?")
        with LOCK, open(args.log, "a") as f:
            f.write("%s %s\n" % (self.command, path))
        if path == "/latest/api/token" and self.command == "PUT":
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return self.reply(400, "missing ttl")
            token = secrets.token_urlsafe(32)
            IMDS_TOKENS.add(token)
            return self.reply(200, token)
        if path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") not in IMDS_TOKENS:
                return self.reply(401, "")
            role = path[len("/latest/meta-data/iam/security-credentials/"):]
            if role == "":
                return self.reply(200, ROLE)
            if role != ROLE:
                return self.reply(404, "")
            e = issue()
            return self.reply(200, json.dumps({
                "Code": "Success", "LastUpdated": e["Expiration"], "Type": "AWS-HMAC",
                "AccessKeyId": e["AccessKeyId"], "SecretAccessKey": e["SecretAccessKey"],
                "Token": e["Token"], "Expiration": e["Expiration"]}), "application/json")
        if path == args.container_path and self.command == "GET":
            if args.auth_token and self.headers.get("Authorization") != args.auth_token:
                return self.reply(401, json.dumps({"message": "bad authorization token"}),
                                  "application/json")
            e = issue()
            return self.reply(200, json.dumps({
                "AccessKeyId": e["AccessKeyId"], "SecretAccessKey": e["SecretAccessKey"],
                "Token": e["Token"], "Expiration": e["Expiration"]}), "application/json")
        if path == "/":
            params = urllib.parse.parse_qs(body if self.command == "POST" else query)
            get = lambda k: (params.get(k) or [""])[0]
            code = args.refuse
            if not code and (get("Action") != "AssumeRoleWithWebIdentity"
                             or get("Version") != "2011-06-15"):
                code = "InvalidAction"
            if not code and not (get("RoleArn") and get("RoleSessionName")):
                code = "MissingParameter"
            if not code and get("WebIdentityToken") != args.web_token:
                code = "InvalidIdentityToken"
            if code:
                return self.reply(400, (
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                    "<Error><Type>Sender</Type><Code>%s</Code><Message>stand-in refuses: %s"
                    "</Message></Error><RequestId>standin</RequestId></ErrorResponse>"
                    % (code, code)), "text/xml")
            e = issue()
            return self.reply(200, (
                "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/"
                "2011-06-15/\"><AssumeRoleWithWebIdentityResult>"
                "<SubjectFromWebIdentityToken>system:serviceaccount:ns:sa"
                "</SubjectFromWebIdentityToken><AssumedRoleUser><Arn>%s/%s</Arn>"
                "<AssumedRoleId>AROASTANDIN:%s</AssumedRoleId></AssumedRoleUser>"
                "<Credentials><SessionToken>%s</SessionToken><SecretAccessKey>%s"
                "</SecretAccessKey><Expiration>%s</Expiration><AccessKeyId>%s</AccessKeyId>"
                "</Credentials><Audience>sts.amazonaws.com</Audience>"
                "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>standin"
                "</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>"
                % (get("RoleArn"), get("RoleSessionName"), get("RoleSessionName"), e["Token"],
                   e["SecretAccessKey"], e["Expiration"], e["AccessKeyId"])), "text/xml")
        return self.reply(404, "")

    do_GET = do_PUT = do_POST = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


Server(("127.0.0.1", args.port), Handler).serve_forever()
