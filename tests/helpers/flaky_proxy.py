#!/usr/bin/env python3
"""Test stand-in: an HTTP proxy that fails on purpose, for retry tests.

Not a real S3 server: it forwards every request unchanged (Host header
included, so SigV4 signatures still verify) to the real server named by
--upstream, except that the first --fail requests it sees are answered
with HTTP 503 SlowDown, dropped without an answer (--mode reset), or read
and then never answered (--mode stall, for read timeouts); or, instead,
every multipart part upload or every DeleteObjects after the first N.
It counts requests in --count-file so a test can assert the retries
happened. Listens on 127.0.0.1 only; serves until killed.
"""
import argparse
import http.client
import http.server
import socketserver
import threading

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--upstream", required=True, help="host:port of the real server")
parser.add_argument("--fail", type=int, default=2)
parser.add_argument("--mode", choices=["503", "reset", "stall"], default="503")
parser.add_argument("--count-file", required=True)
parser.add_argument("--fail-parts-after", type=int, default=None,
                    help="instead of the first --fail requests, fail every multipart "
                         "part upload (PUT ...partNumber=) after this many, for good")
parser.add_argument("--journal", default=None,
                    help="append 'METHOD PATH' and the x-ms-/x-goog- headers of every request")
parser.add_argument("--fail-deletes-after", type=int, default=None,
                    help="instead of the first --fail requests, fail every DeleteObjects "
                         "(POST ...?delete) after this many, for good")
args = parser.parse_args()

lock = threading.Lock()
seen = 0
parts_seen = [0]
deletes_seen = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_any(self):
        global seen
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with lock:
            seen += 1
            n = seen
            with open(args.count_file, "w") as f:
                f.write(str(n))
            if args.journal:
                extra = "".join(" %s=%s" % (k.lower(), v) for k, v in self.headers.items()
                                if k.lower().startswith(("x-ms-", "x-goog-")))
                with open(args.journal, "a") as f:
                    f.write("%s %s%s\n" % (self.command, self.path, extra))
        if args.fail_parts_after is not None:
            is_part = self.command == "PUT" and "partNumber=" in self.path
            with lock:
                if is_part:
                    parts_seen[0] += 1
                failing = is_part and parts_seen[0] > args.fail_parts_after
        elif args.fail_deletes_after is not None:
            is_delete = self.command == "POST" and "delete" in self.path.partition("?")[2]
            with lock:
                if is_delete:
                    deletes_seen[0] += 1
                failing = is_delete and deletes_seen[0] > args.fail_deletes_after
        else:
            failing = n <= args.fail
        if failing:
            if args.mode == "stall":
                threading.Event().wait(3600)
                return
            if args.mode == "reset":
                self.close_connection = True
                self.connection.close()
                return
            msg = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            self.wfile.write(msg)
            return
        host, port = args.upstream.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {k: v for k, v in self.headers.items()}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


Server(("127.0.0.1", args.port), Handler).serve_forever()
