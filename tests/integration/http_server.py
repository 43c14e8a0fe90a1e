#!/usr/bin/env python3
"""A tiny HTTP/1.1 keep-alive server on loopback for the http example's smoke test.

    python3 http_server.py PORTFILE CONNLOG

Binds 127.0.0.1 on a free port, writes the port to PORTFILE, and answers every
GET with a short body and a Content-Length (so connections are kept alive).
Appends one line to CONNLOG per accepted TCP connection, so the test can check
on the server side how many connections the client opened.
"""
import http.server
import os
import socketserver
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; the default HTTP/1.0 closes
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stall

    def setup(self):
        super().setup()
        with open(sys.argv[2], "a") as log:
            log.write("connection from %s:%d\n" % self.client_address)

    def do_GET(self):
        body = b"hello from memo's test server\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass  # quiet


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])

    os.rename(sys.argv[1] + ".tmp", sys.argv[1])  # appears whole
    srv.serve_forever()


if __name__ == "__main__":
    main()
