"""HTTP proxy in front of moto_server that fills moto's gaps for ecr-login's tests.

Why this exists: ecr-login's tests point the Rust AWS SDK (AWS_ENDPOINT_URL) at
moto, which alone is not enough.  This proxy counts every call (GET /__calls,
with each call's parameters but the web identity token;
POST /__reset; POST /__faults replaces the fault rules), rewrites ECR
GetAuthorizationToken expiresAt (moto says 2015) to now + 12 h, implements ECR
Public GetAuthorizationToken (moto lacks it), injects faults as AWS-shaped errors
or connection resets, can verify AssumeRoleWithWebIdentity tokens like STS does
(--jwks-url/--trust) and can record every STS/ECR response body (--record) so
tests can look for leaked secrets.  Prints "READY <port>" once the socket is
bound; exits cleanly on SIGTERM.

Fault rule: {"service": "sts"|"ecr"|"ecr-public", "operation": .., "region": ..,
"times": N (-1 = always, the default), "status": 503, "code": "ServiceUnavailable",
"message": "..", "drop": false, "rate": 1.0, "stall_ms": 0}; absent keys match anything.
Throttling codes are "Throttling" (STS) and "ThrottlingException" (ECR).  "rate": the share of
matching requests the rule fires on; one random draw per request is split between the rules
in order, so five rules of rate 0.06 fail 30% of the calls, each its own way.  "stall_ms":
hold the request that long first (a stalled answer: past the client's timeout it never
arrives), then answer as the rest of the rule says (normally when it says nothing else).  A rule with "proxy_endpoint": ".."
answers normally but puts that value in every proxyEndpoint of an ECR
GetAuthorizationToken answer (a misbehaving or impostor ECR).  A rule with "expires_in": N
answers normally with tokens that expire N seconds from now (tests of --watch and status).
"""

import argparse
import base64
import http.client
import json
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import jwt

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
              "proxy-connection", "te", "trailer", "trailers", "transfer-encoding", "upgrade"}
TARGET_SERVICES = {"AmazonEC2ContainerRegistry_V20150921": "ecr",
                   "SpencerFrontendService": "ecr-public",
                   "AWSSecurityTokenServiceV20110615": "sts"}
CREDENTIAL_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
TWELVE_HOURS = 12 * 3600
MSG_SHORT_TOKEN = ("1 validation error detected: Value at 'webIdentityToken' failed to satisfy "
                   "constraint: Member must have length greater than or equal to 4")
MSG_UNPARSABLE = ("The web identity token that was passed could not be validated by AWS. Get a new "
                  "identity token from the identity provider and then retry the request.")
MSG_NO_JWKS = ("Couldn't retrieve verification key from your identity provider,  please reference "
               "AssumeRoleWithWebIdentity documentation for requirements")
CALL_KEYS = ("service", "region", "operation")
AWI = ("sts", "AssumeRoleWithWebIdentity")


class State:
    """Settings, call log and fault rules shared by all request threads."""

    def __init__(self, args):
        self.args = args
        up = urlsplit(args.upstream)
        self.upstream = (up.hostname or "127.0.0.1", up.port or 80)
        self.lock = threading.Lock()
        self.calls = []
        self.faults = self.load_faults(args.faults or "[]")
        self.trust = json.loads(args.trust) if args.trust else None
        if args.trust_policy:
            with open(args.trust_policy, encoding="utf-8") as f:
                self.trust = {"policy": json.load(f)}
        if args.oidc_provider:
            with open(args.oidc_provider, encoding="utf-8") as f:
                self.trust["provider"] = json.load(f)
        self.jwks = jwt.PyJWKClient(args.jwks_url, timeout=5) if self.trust else None

    @staticmethod
    def load_faults(text):
        rules = json.loads(text)
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise ValueError("faults must be a JSON list of objects")
        return [dict(r, _left=int(r.get("times", -1))) for r in rules]

    def take_fault(self, call):
        """Returns the first matching rule with uses left that fires (consuming one), or None.
        A rule with a "rate" fires on its own slice of one random draw per request."""
        draw, taken = random.random(), 0.0
        with self.lock:
            for rule in self.faults:
                if rule["_left"] != 0 and all(rule.get(k, call[k]) == call[k] for k in CALL_KEYS):
                    if "rate" in rule:
                        start, taken = taken, taken + float(rule["rate"])
                        if not start <= draw < taken:
                            continue
                    rule["_left"] -= 1 if rule["_left"] > 0 else 0
                    return rule
        return None

    def log_call(self, call, status, body, absolute_form=False):
        # The request's parameters minus the token, so tests can see what reached STS
        # (session policies, external ids, role ARNs).
        params = {k: v for k, v in call["params"].items() if k != "WebIdentityToken"}
        # absolute_form: the request line named the whole URL, as a client sends it to a
        # forward proxy (HTTP_PROXY), not to the server itself.
        entry = dict({k: call[k] for k in CALL_KEYS}, status=status, params=params,
                     absolute_form=absolute_form)
        with self.lock:
            self.calls.append(entry)
            if self.args.record and call["service"] in ("sts", "ecr", "ecr-public"):
                line = {"service": call["service"], "operation": call["operation"],
                        "status": status, "response": body.decode("utf-8", "replace"),
                        "web_identity_token": call["params"].get("WebIdentityToken")}
                with open(self.args.record, "a", encoding="utf-8") as f:
                    f.write(json.dumps(line) + "\n")


def identify(headers, body):
    """Works out service, region, operation, protocol ("query"/"json") and params."""
    call = {"service": "", "region": "", "operation": "", "protocol": "json", "params": {}}
    scope = CREDENTIAL_RE.search(headers.get("Authorization", ""))
    if scope:
        call["region"], call["service"] = scope.group(1), scope.group(2)
    target = headers.get("X-Amz-Target", "")
    if target:
        prefix, _, call["operation"] = target.partition(".")
        call["service"] = call["service"] or TARGET_SERVICES.get(prefix, "")
        try:
            call["params"] = dict(json.loads(body or b"{}"))
        except (ValueError, TypeError):
            pass
    elif "x-www-form-urlencoded" in headers.get("Content-Type", "") or body.startswith(b"Action="):
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        call["params"] = {k: v[-1] for k, v in form.items()}
        call["operation"], call["protocol"] = call["params"].get("Action", ""), "query"
    if not call["service"] and call["operation"].startswith("AssumeRoleWith"):
        call["service"] = "sts"  # AssumeRoleWithWebIdentity/SAML are sent unsigned
    return call


def error_response(call, status, code, message):
    """Builds (status, headers, body) for an AWS error in the request's protocol."""
    request_id = str(uuid.uuid4())
    fault = "Sender" if status < 500 else "Receiver"
    headers = {"x-amzn-RequestId": request_id}
    if call["service"] == "sts" and call["protocol"] == "query":
        body = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                "<Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error>"
                "<RequestId>%s</RequestId></ErrorResponse>"
                % (fault, escape(code), escape(message), request_id))
        headers["Content-Type"] = "text/xml"
    else:
        body = json.dumps({"__type": code, "message": message})
        if call["service"] == "sts":  # query-compatible awsJson1.0
            headers.update({"Content-Type": "application/x-amz-json-1.0",
                            "x-amzn-query-error": "%s;%s" % (code, fault)})
        else:
            headers.update({"Content-Type": "application/x-amz-json-1.1", "x-amzn-ErrorType": code})
    return status, headers, body.encode("utf-8")


def as_list(value):
    return value if isinstance(value, list) else [value]


def glob_match(pattern, value):
    """IAM StringLike matching: '*' and '?' wildcards, case-sensitive."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def policy_providers(policy):
    """The OIDC provider hosts an IAM trust policy's Allow statements name."""
    hosts = []
    for st in policy.get("Statement", []):
        fed = (st.get("Principal") or {}).get("Federated", "")
        if st.get("Effect") == "Allow" and ":oidc-provider/" in fed:
            hosts.append(fed.split(":oidc-provider/", 1)[1])
    return hosts


def policy_allows(policy, claims):
    """Evaluates an IAM trust policy's StringEquals/StringLike conditions on the claims, as IAM
    does for AssumeRoleWithWebIdentity: keys are `<issuer host>:<claim>`."""
    iss_host = str(claims.get("iss", "")).split("://", 1)[-1].rstrip("/")
    for st in policy.get("Statement", []):
        fed = (st.get("Principal") or {}).get("Federated", "")
        if st.get("Effect") != "Allow" or fed.split(":oidc-provider/", 1)[-1] != iss_host:
            continue
        if st.get("Action") not in ("sts:AssumeRoleWithWebIdentity", ["sts:AssumeRoleWithWebIdentity"]):
            continue
        ok = True
        for op, conds in (st.get("Condition") or {}).items():
            for key, want in conds.items():
                host, _, claim = key.rpartition(":")
                values = [str(v) for v in as_list(claims.get(claim))]
                pats = [str(w) for w in as_list(want)]
                if host != iss_host:
                    ok = False
                elif op == "StringEquals":
                    ok = ok and any(v in pats for v in values)
                elif op == "StringLike":
                    ok = ok and any(glob_match(p, v) for p in pats for v in values)
                else:
                    ok = False  # an operator this evaluator does not know never grants
        if ok:
            return True
    return False


def check_trust(state, params):
    """Validates AssumeRoleWithWebIdentity like STS; returns (status, code, msg) or None."""
    if not ROLE_ARN_RE.match(params.get("RoleArn", "")):
        return 400, "ValidationError", "Request ARN is invalid"
    token = params.get("WebIdentityToken", "")
    if len(token) < 4:
        return 400, "ValidationError", MSG_SHORT_TOKEN
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return 400, "InvalidIdentityToken", MSG_UNPARSABLE
    trust = state.trust
    policy = trust.get("policy")
    iss_host = str(claims.get("iss", "")).split("://", 1)[-1].rstrip("/")
    if policy is not None and iss_host not in policy_providers(policy):
        return (400, "InvalidIdentityToken",
                "No OpenIDConnect provider found in your account for %s" % claims.get("iss"))
    provider = trust.get("provider")
    if provider is not None and str(claims.get("iss", "")).rstrip("/") != provider["Url"].rstrip("/"):
        return (400, "InvalidIdentityToken",
                "No OpenIDConnect provider found in your account for %s" % claims.get("iss"))
    if "iss" in trust and claims.get("iss") != trust["iss"]:
        return (400, "InvalidIdentityToken",
                "No OpenIDConnect provider found in your account for %s" % claims.get("iss"))
    try:
        key = state.jwks.get_signing_key_from_jwt(token)
        jwt.decode(token, key.key, algorithms=["RS256"], leeway=5,
                   options={"verify_aud": False, "verify_iss": False})
    except jwt.PyJWKClientConnectionError:
        return 400, "InvalidIdentityToken", MSG_NO_JWKS
    except jwt.ExpiredSignatureError:
        return (400, "ExpiredTokenException", "Token expired: current date/time %d must be "
                "before the expiration date/time %s" % (time.time(), claims.get("exp")))
    except jwt.PyJWTError:  # bad signature, unknown kid, unusable JWKS, nbf/iat in future
        return 400, "InvalidIdentityToken", "Token signature verification failed"
    if "aud" in trust and not set(as_list(claims.get("aud"))) & set(as_list(trust["aud"])):
        return 400, "InvalidIdentityToken", "Incorrect token audience"
    if provider is not None and not set(as_list(claims.get("aud"))) & set(provider["ClientIDList"]):
        return 400, "InvalidIdentityToken", "Incorrect token audience"
    if policy is not None and not policy_allows(policy, claims):
        return 403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    sub = str(claims.get("sub", ""))
    if "sub" in trust and not any(glob_match(pat, sub) for pat in as_list(trust["sub"])):
        return 403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    return None


def ecr_public_response(call):
    if call["operation"] != "GetAuthorizationToken":
        message = "ecr-public %s is not supported by the test proxy" % call["operation"]
        return error_response(call, 400, "UnsupportedOperation", message)
    body = {"authorizationData": {
        "authorizationToken": base64.b64encode(b"AWS:public-ecr-auth-token").decode(),
        "expiresAt": round(time.time() + TWELVE_HOURS, 3)}}
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": str(uuid.uuid4())}
    return 200, headers, json.dumps(body).encode()


def fix_ecr_expiry(body, life=TWELVE_HOURS):
    """Rewrites every authorizationData[].expiresAt to now + life (12 h)."""
    try:
        doc = json.loads(body)
        for entry in doc.get("authorizationData") or []:
            entry["expiresAt"] = round(time.time() + life, 3)
        return json.dumps(doc).encode()
    except (ValueError, AttributeError, TypeError):
        return body


def set_proxy_endpoint(body, endpoint):
    """Sets every authorizationData[].proxyEndpoint to `endpoint`."""
    doc = json.loads(body)
    for entry in doc.get("authorizationData") or []:
        entry["proxyEndpoint"] = endpoint
    return json.dumps(doc).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "aws-proxy-test/1.0"
    # Headers and body go out in two writes: with Nagle's algorithm the body waits for the
    # client's delayed ACK of the headers, 40 ms per answer that real AWS never adds.
    disable_nagle_algorithm = True
    state: State = None  # set in main()

    def log_message(self, fmt, *args):
        if self.state.args.verbose:
            sys.stderr.write("aws_proxy: %s - %s\n" % (self.address_string(), fmt % args))

    def reply(self, status, headers, body):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, status, value):
        self.reply(status, {"Content-Type": "application/json"}, json.dumps(value).encode())

    def dispatch(self):
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self.close_connection = True  # AWS SDKs send Content-Length here
                return self.reply_json(411, {"message": "chunked requests are not supported"})
            body = self.rfile.read(max(0, int(self.headers.get("Content-Length") or 0)))
            path = urlsplit(self.path).path
            if path.startswith("/__"):
                self.control(path, body)
            else:
                self.proxy(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # keep serving whatever happens
            traceback.print_exc(file=sys.stderr)
            try:
                self.reply_json(500, {"message": "aws_proxy internal error: %s" % exc})
            except OSError:
                self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = dispatch

    def control(self, path, body):
        st, status, result = self.state, 200, {"ok": True}
        with st.lock:
            if path == "/__calls" and self.command == "GET":
                result = list(st.calls)
            elif path == "/__reset" and self.command == "POST":
                st.calls.clear()
            elif path == "/__faults" and self.command == "POST":
                try:
                    st.faults = st.load_faults(body or b"[]")
                except ValueError as exc:
                    status, result = 400, {"message": str(exc)}
            else:
                status, result = 404, {"message": "unknown control endpoint " + path}
        self.reply_json(status, result)

    def proxy(self, body):
        call = identify(self.headers, body)
        status, headers, out = self.answer(call, body)
        self.state.log_call(call, status, out, absolute_form=bool(urlsplit(self.path).scheme))
        if status is not None:
            return self.reply(status, headers, out)
        self.close_connection = True  # drop: TCP reset, no response
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def answer(self, call, body):
        """Decides the response: (status, headers, body); status None = drop."""
        st = self.state
        if st.args.latency_ms:
            time.sleep(st.args.latency_ms / 1000)  # a WAN round trip; sleeping frees the GIL
        endpoint, life = None, TWELVE_HOURS
        if (rule := st.take_fault(call)) is not None:
            if rule.get("stall_ms"):
                time.sleep(int(rule["stall_ms"]) / 1000)  # the client may have given up by now
            if "proxy_endpoint" in rule:
                endpoint = rule["proxy_endpoint"]
            elif "expires_in" in rule:
                life = float(rule["expires_in"])
            elif rule.get("drop"):
                return None, {}, b""
            elif "status" in rule or "code" in rule or not rule.get("stall_ms"):
                return error_response(call, int(rule.get("status", 503)),
                                      rule.get("code", "ServiceUnavailable"),
                                      rule.get("message", "Service is unavailable"))
        if st.trust is not None and (call["service"], call["operation"]) == AWI:
            if problem := check_trust(st, call["params"]):
                return error_response(call, *problem)
        if call["service"] == "ecr-public":
            return ecr_public_response(call)
        status, headers, out = self.forward(body)
        if (call["service"], call["operation"], status) == ("ecr", "GetAuthorizationToken", 200):
            out = fix_ecr_expiry(out, life)
            if endpoint is not None:
                out = set_proxy_endpoint(out, endpoint)
        return status, headers, out

    def forward(self, body):
        drop = HOP_BY_HOP | {"host", "content-length", "accept-encoding"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in drop}
        headers["Host"] = "%s:%d" % self.state.upstream
        headers["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection(*self.state.upstream, timeout=60)
        try:
            # A request sent to us as a forward proxy names the whole URL: moto gets the path.
            url = urlsplit(self.path)
            target = (url.path or "/") + ("?" + url.query if url.query else "")
            conn.request(self.command, target, body=body, headers=headers)
            resp = conn.getresponse()
            out = resp.read()
            skip = HOP_BY_HOP | {"content-length", "server", "date"}
            return resp.status, {k: v for k, v in resp.getheaders() if k.lower() not in skip}, out
        except (OSError, http.client.HTTPException) as exc:
            msg = json.dumps({"message": "aws_proxy: upstream error: %s" % exc}).encode()
            return 502, {"Content-Type": "application/json"}, msg
        finally:
            conn.close()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--upstream", required=True, help="moto_server URL, e.g. http://127.0.0.1:5601")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = ephemeral)")
    p.add_argument("--host", default="127.0.0.1",
                   help="loopback address to listen on (127.x.y.z; benchmarks give the real ECR name one)")
    p.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (and --tls-key)")
    p.add_argument("--tls-key", metavar="PEM")
    p.add_argument("--faults", help="JSON list of fault rules (see module docstring)")
    p.add_argument("--record", metavar="FILE", help="append STS/ECR response bodies as JSON lines")
    p.add_argument("--jwks-url", help="JWKS used to verify WebIdentityToken (with --trust)")
    p.add_argument("--trust", help='JSON {"iss": .., "aud": .., "sub": "repo:owner/*"}')
    p.add_argument("--trust-policy", metavar="FILE",
                   help="an IAM trust policy (JSON) to evaluate on the token, like IAM (with --jwks-url)")
    p.add_argument("--oidc-provider", metavar="FILE",
                   help="with --trust-policy: the IAM OIDC provider (create-open-id-connect-provider's "
                        "JSON); the token's iss must be its Url and its aud in its ClientIDList")
    p.add_argument("--latency-ms", type=int, default=0,
                   help="delay every AWS answer this long (benchmarks: a real network's round trip)")
    p.add_argument("--verbose", action="store_true", help="log each request to stderr")
    args = p.parse_args(argv)
    if (args.trust or args.trust_policy) and not args.jwks_url:
        p.error("--trust/--trust-policy needs --jwks-url")
    if not args.host.startswith("127."):
        p.error("--host must be a loopback address (127.x.y.z)")
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.oidc_provider and not args.trust_policy:
        p.error("--oidc-provider needs --trust-policy")
    try:
        State.load_faults(args.faults or "[]")
        json.loads(args.trust or "{}")
    except ValueError as exc:
        p.error("bad --faults/--trust JSON: %s" % exc)
    return args


def main(argv=None):
    args = parse_args(argv)
    Handler.state = State(args)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    for signum in (signal.SIGTERM, signal.SIGINT):  # SystemExit unwinds serve_forever()
        signal.signal(signum, lambda _signum, _frame: sys.exit(0))
    print("READY %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
