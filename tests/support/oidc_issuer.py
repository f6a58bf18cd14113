"""Local stand-in for the GitHub Actions OIDC token service, for ecr-login's tests.

Why this exists: ecr-login exchanges a GitHub Actions OIDC token for AWS
credentials (sts:AssumeRoleWithWebIdentity).  On a real runner the token comes
from ACTIONS_ID_TOKEN_REQUEST_URL / ACTIONS_ID_TOKEN_REQUEST_TOKEN; in tests we
need the same endpoint, with real RS256-signed JWTs whose public keys are
published as a JWKS (so aws_proxy.py can verify them like STS does), and with
switches to make the endpoint fail so retry behaviour can be tested.

Endpoints (all bound to 127.0.0.1):
  GET /.well-known/openid-configuration   discovery document
  GET /.well-known/jwks                   {"keys": [<RSA public JWK>]}
  GET /token?audience=AUD[&api-version=2.0...]
        needs "Authorization: Bearer <--request-token>", else 401
        {"message": ...}; answers {"value": "<JWT>", "count": 1}
  GET /__job?sub=..&event_name=..
        the job /token issues tokens for from now on (one issuer, one key,
        playing a production job, then a pull request's)
  GET /token-file?audience=AUD[&sub=..][&iss=..][&ttl=SECONDS]
        no auth; the raw JWT as text/plain (for building token files; the
        optional sub/iss/ttl overrides help make tokens for negative tests)
        with --fail-rate R, a share R of them fail transiently, each in one of
        these ways (--fail-kinds): 500, 503, 429 (throttled), a connection
        reset, and with --stall-ms N an answer held N ms (past the client's
        timeout)
  GET /__stats                            {"token_requests": N, "token_faults": N}
  GET /container-credentials              ECS/Pod Identity-style AWS credentials (JSON)

Prints "READY <port>" once the socket is bound; exits cleanly on SIGTERM.
"""

import argparse
import json
import random
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class Issuer:
    """Key material, settings and counters shared by all request threads."""

    def __init__(self, args):
        self.args = args
        self.issuer = args.issuer  # filled in after binding when not given
        self.kid = "test-" + secrets.token_hex(8)
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        jwk.pop("key_ops", None)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        self.jwks = {"keys": [jwk]}
        self.lock = threading.Lock()
        self.token_requests = 0
        self.token_faults = 0
        # What /token states of the job: the same process plays another job (GET /__job).
        self.job = {"sub": args.sub, "event_name": "push"}

    def count_token_request(self):
        """Counts a /token request and returns its 1-based number."""
        with self.lock:
            self.token_requests += 1
            return self.token_requests

    def discovery(self):
        return {
            "issuer": self.issuer,
            "jwks_uri": self.issuer + "/.well-known/jwks",
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "claims_supported": ["sub", "aud", "exp", "iat", "iss", "jti", "nbf",
                                 "ref", "repository", "repository_owner", "run_id"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
        }

    def mint(self, audience=None, sub=None, iss=None, ttl=None):
        """Returns a freshly signed RS256 JWT shaped like a GitHub Actions token."""
        a = self.args
        now = int(time.time())
        ttl = a.ttl if ttl is None else ttl
        repository = a.repository
        claims = {
            "jti": secrets.token_hex(16),
            "sub": sub or self.job["sub"],
            "aud": audience or a.default_aud,
            "ref": a.ref,
            "ref_type": "branch",
            "repository": repository,
            "repository_owner": repository.split("/")[0],
            "run_id": a.run_id,
            "run_number": "1",
            "run_attempt": "1",
            "actor": repository.split("/")[0],
            "event_name": self.job["event_name"],
            "workflow": "ci",
            "runner_environment": "github-hosted",
            "iss": iss or self.issuer,
            "nbf": now,
            "iat": now,
            "exp": now + ttl,
        }
        return jwt.encode(claims, self.private_key, algorithm="RS256",
                          headers={"kid": self.kid, "typ": "JWT"})


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without this, Nagle holds the body for the client's
    # delayed ACK (40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True
    server_version = "oidc-issuer-test/1.0"
    issuer: Issuer = None  # set in main()

    # --- plumbing -----------------------------------------------------------

    def log_message(self, fmt, *args):
        if self.issuer.args.verbose:
            sys.stderr.write("oidc_issuer: %s - %s\n" % (self.address_string(), fmt % args))

    def send_body(self, status, body, content_type="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def discard_request_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def dispatch(self):
        try:
            self.discard_request_body()
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            route = {
                "/.well-known/openid-configuration": self.get_discovery,
                "/.well-known/jwks": self.get_jwks,
                "/token": self.get_token,
                "/token-file": self.get_token_file,
                "/__stats": self.get_stats,
                "/__job": self.set_job,
                "/container-credentials": self.get_container_credentials,
            }.get(url.path.rstrip("/") or "/")
            if route is None:
                self.send_body(404, {"message": "Not Found: " + url.path})
            elif self.command not in ("GET", "HEAD"):
                self.send_body(405, {"message": "Method Not Allowed"})
            else:
                route(query)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # never let a bug kill the connection silently
            traceback.print_exc(file=sys.stderr)
            try:
                self.send_body(500, {"message": "internal error: %s" % exc})
            except OSError:
                self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = dispatch

    # --- routes -------------------------------------------------------------

    def get_discovery(self, _query):
        self.send_body(200, self.issuer.discovery())

    def get_jwks(self, _query):
        self.send_body(200, self.issuer.jwks)

    def get_stats(self, _query):
        with self.issuer.lock:
            stats = {"token_requests": self.issuer.token_requests,
                     "token_faults": self.issuer.token_faults}
        self.send_body(200, stats)

    def set_job(self, query):
        """GET /__job?sub=..&event_name=..: the job the next /token tokens are for."""
        with self.issuer.lock:
            for k in ("sub", "event_name"):
                if k in query:
                    self.issuer.job[k] = query[k]
            job = dict(self.issuer.job)
        self.send_body(200, job)

    def random_fault(self):
        """With --fail-rate: fails this /token request transiently, one way or another, and
        returns True; else returns False (answer normally)."""
        a = self.issuer.args
        if random.random() >= a.fail_rate:
            return False
        kinds = [k for k in a.fail_kinds.split(",") if k != "stall" or a.stall_ms > 0]
        kind = random.choice(kinds)
        with self.issuer.lock:
            self.issuer.token_faults += 1
        if kind == "stall":
            time.sleep(a.stall_ms / 1000)  # the client has given up; answer into the void
            self.send_body(503, {"message": "stalled"})
        elif kind == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        else:
            self.send_body(int(kind), {"message": "injected transient failure (%s)" % kind})
        return True

    def get_token(self, query):
        a = self.issuer.args
        number = self.issuer.count_token_request()
        if number <= a.fail_first:
            self.send_body(503, {"message": "service unavailable"})
            return
        if a.fail_rate > 0 and self.random_fault():
            return
        if a.status is not None and a.status != 200:
            self.send_body(a.status, {"message": "injected failure (status %d)" % a.status})
            return
        auth = self.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
                token.strip().encode(), a.request_token.encode()):
            self.send_body(401, {"message": "Bad credentials: missing or invalid "
                                            "ACTIONS_ID_TOKEN_REQUEST_TOKEN bearer token"})
            return
        value = "" if a.empty_value else self.issuer.mint(audience=query.get("audience"))
        self.send_body(200, {"value": value, "count": 1})

    def get_container_credentials(self, _query):
        """What the ECS / EKS Pod Identity credential endpoint answers (for the AWS chain)."""
        expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        self.send_body(200, {"AccessKeyId": "ASIACONTAINERCREDS01", "SecretAccessKey":
                             "container-secret-access-key-0123456789", "Token":
                             "container-session-token-0123456789abcdef", "Expiration": expiration})

    def get_token_file(self, query):
        ttl = query.get("ttl")
        try:
            ttl = int(ttl) if ttl is not None else None
        except ValueError:
            self.send_body(400, {"message": "ttl must be an integer"})
            return
        token = self.issuer.mint(audience=query.get("audience"), sub=query.get("sub"),
                                 iss=query.get("iss"), ttl=ttl)
        self.send_body(200, token, "text/plain; charset=utf-8")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = ephemeral)")
    p.add_argument("--issuer", help="iss claim and issuer URL (default http://127.0.0.1:PORT)")
    p.add_argument("--request-token", default="test-request-token",
                   help="bearer token /token requires (ACTIONS_ID_TOKEN_REQUEST_TOKEN)")
    p.add_argument("--default-aud", default="https://github.com/test-owner",
                   help="aud claim when the request has no audience parameter")
    p.add_argument("--sub", default="repo:test-owner/test-repo:ref:refs/heads/main")
    p.add_argument("--repository", default="test-owner/test-repo")
    p.add_argument("--ref", default="refs/heads/main")
    p.add_argument("--run-id", default="1234567890")
    p.add_argument("--ttl", type=int, default=300,
                   help="token lifetime in seconds (negative = already expired)")
    p.add_argument("--fail-first", type=int, default=0, metavar="N",
                   help="first N /token requests answer 503")
    p.add_argument("--status", type=int, metavar="S",
                   help="every /token request answers status S")
    p.add_argument("--empty-value", action="store_true", help='/token answers {"value": ""}')
    p.add_argument("--fail-rate", type=float, default=0.0, metavar="R",
                   help="a share R (0 to 1) of /token requests fail transiently: 500, 503, 429, "
                        "a connection reset, or (with --stall-ms) a stalled answer")
    p.add_argument("--stall-ms", type=int, default=0, metavar="N",
                   help="with --fail-rate: one of the failures holds the answer N ms")
    p.add_argument("--fail-kinds", default="500,503,429,reset,stall", metavar="LIST",
                   help="with --fail-rate: the ways to fail, picked at random for each failure")
    p.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = p.parse_args(argv)
    kinds = args.fail_kinds.split(",")
    if not set(kinds) <= {"500", "503", "429", "reset", "stall"}:
        p.error("--fail-kinds takes 500, 503, 429, reset and stall")
    if not [k for k in kinds if k != "stall" or args.stall_ms > 0]:
        p.error("--fail-kinds stall needs --stall-ms")
    return args


def main(argv=None):
    args = parse_args(argv)
    issuer = Issuer(args)
    Handler.issuer = issuer
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if not issuer.issuer:
        issuer.issuer = "http://127.0.0.1:%d" % port
    issuer.issuer = issuer.issuer.rstrip("/")

    def on_sigterm(_signum, _frame):
        raise SystemExit(0)  # unwinds serve_forever() in the main thread

    signal.signal(signal.SIGTERM, on_sigterm)
    print("READY %d" % port, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
