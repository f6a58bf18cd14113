"""A static HTTPS file server on loopback, standing in for a release download site.

Why: scripts/install.sh only downloads over https (curl --proto '=https'), so the installer
tests need a real TLS server with a certificate the test trusts (CURL_CA_BUNDLE). Every
request path is appended to --log so tests can tell a cached install from a download.
Prints "READY <port>" once bound.
"""

import argparse
import functools
import http.server
import signal
import ssl
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    log_file = None

    def log_message(self, fmt, *args):
        if self.log_file:
            with open(self.log_file, "a", encoding="utf-8") as f:
                f.write(self.path + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--log")
    p.add_argument("--host", default="127.0.0.1", help="a loopback address to bind")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    Handler.log_file = args.log
    handler = functools.partial(Handler, directory=args.dir)
    server = http.server.ThreadingHTTPServer((args.host, args.port), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("READY %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
