#!/usr/bin/python3
"""Test stand-in, not Microsoft's service: the two token endpoints the
Azure backend asks for OAuth tokens, so the managed-identity and
workload-identity paths run end to end against Azurite (started with
--oauth basic, which checks a token's audience, issuer and lifetime but
not its signature).

  GET  /metadata/identity/oauth2/token?api-version=...&resource=...
       the instance metadata endpoint; requires "Metadata: true" and the
       storage resource
  POST /TENANT/oauth2/v2.0/token
       Entra ID's token endpoint for a federated (workload identity)
       client: requires grant_type=client_credentials, the jwt-bearer
       assertion type, --client-id, the storage scope, and a
       client_assertion equal to the content of --federated-token-file

Tokens are unsigned JWTs with the claims Azurite checks. Every request is
appended to --journal as "METHOD PATH". Listens on 127.0.0.1 only.
"""
import argparse
import base64
import http.server
import json
import time
import urllib.parse

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--tenant", required=True)
parser.add_argument("--client-id", required=True)
parser.add_argument("--federated-token-file", required=True)
parser.add_argument("--journal", required=True)
args = parser.parse_args()


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def token():
    now = int(time.time())
    claims = {"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/%s/" % args.tenant,
              "nbf": now - 60, "iat": now - 60, "exp": now + 3600, "oid": "test-object",
              "tid": args.tenant}
    return "%s.%s.%s" % (b64({"typ": "JWT", "alg": "RS256"}), b64(claims), "c3RhbmQtaW4")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def journal(self):
        with open(args.journal, "a") as f:
            f.write("%s %s\n" % (self.command, self.path.split("?")[0]))

    def do_GET(self):
        self.journal()
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path != "/metadata/identity/oauth2/token":
            return self.reply(404, {"error": "not_found"})
        if self.headers.get("Metadata") != "true":
            return self.reply(400, {"error": "invalid_request", "error_description": "Metadata header"})
        if q.get("resource") != ["https://storage.azure.com/"]:
            return self.reply(400, {"error": "invalid_resource"})
        self.reply(200, {"access_token": token(), "expires_on": str(int(time.time()) + 3600),
                         "resource": "https://storage.azure.com/", "token_type": "Bearer"})

    def do_POST(self):
        self.journal()
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if self.path != "/%s/oauth2/v2.0/token" % args.tenant:
            return self.reply(404, {"error": "not_found"})
        expected = open(args.federated_token_file).read().strip()
        want = {"grant_type": ["client_credentials"],
                "client_assertion_type": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
                "client_id": [args.client_id], "scope": ["https://storage.azure.com/.default"],
                "client_assertion": [expected]}
        for k, v in want.items():
            if form.get(k) != v:
                return self.reply(401, {"error": "invalid_client",
                                        "error_description": "bad %s" % k})
        self.reply(200, {"access_token": token(), "expires_in": 3600, "token_type": "Bearer"})


http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
