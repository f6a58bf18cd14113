#!/usr/bin/env bash
# The main job, locally, with no AWS account: a GitHub Actions-style login end to end.
#   1. installs what it needs (scripts/setup.sh) and builds ecr-login;
#   2. starts, on 127.0.0.1 only: moto (STS + ECR), our AWS proxy in front of it (ECR Public,
#      call counting) and our OIDC issuer (behaves like GitHub's token endpoint);
#   3. runs `ecr-login` as a GitHub job with `permissions: id-token: write` would, for two
#      private registries in two regions plus ECR Public;
#   4. shows what it wrote: Docker's config.json (passwords elided), the step outputs, and
#      the AWS calls it made (one STS call, one ECR call per region, one ECR Public call).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/setup.sh
py="$venv/bin/python"

echo "== building ecr-login" >&2
cargo build --quiet --locked
bin="${CARGO_TARGET_DIR:-$root/target}/debug/ecr-login"

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a server of ours that prints "READY <port>"; sets $port.
start_ready() {
  local name="$1"; shift
  "$py" "$@" > "$work/$name.out" 2> "$work/$name.err" &
  pids+=("$!")
  for _ in $(seq 100); do
    if read -r word port < "$work/$name.out" 2>/dev/null && [ "$word" = READY ]; then return 0; fi
    sleep 0.1
  done
  echo "error: $name did not start:" >&2; cat "$work/$name.err" >&2; exit 1
}

echo "== starting moto, the AWS proxy and the OIDC issuer on 127.0.0.1" >&2
moto_port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" > "$work/moto.log" 2>&1 &
pids+=("$!")
for _ in $(seq 150); do
  (exec 3<>"/dev/tcp/127.0.0.1/$moto_port") 2>/dev/null && break
  sleep 0.2
done
start_ready proxy tests/support/aws_proxy.py --upstream "http://127.0.0.1:$moto_port"
proxy_port="$port"
start_ready issuer tests/support/oidc_issuer.py --request-token demo-request-token
issuer_port="$port"

echo "== ecr-login, as a GitHub Actions job would run it" >&2
mkdir -p "$work/home"
set -x
env -i PATH="$PATH" HOME="$work/home" \
  GITHUB_ACTIONS=true \
  ACTIONS_ID_TOKEN_REQUEST_URL="http://127.0.0.1:$issuer_port/token?api-version=2.0" \
  ACTIONS_ID_TOKEN_REQUEST_TOKEN=demo-request-token \
  GITHUB_REPOSITORY=octo-org/demo GITHUB_RUN_ID=42 GITHUB_RUN_ATTEMPT=1 \
  GITHUB_OUTPUT="$work/github_output" \
  DOCKER_CONFIG="$work/docker" \
  AWS_ENDPOINT_URL="http://127.0.0.1:$proxy_port" AWS_EC2_METADATA_DISABLED=true \
  "$bin" login \
    --role-arn arn:aws:iam::123456789012:role/demo \
    --region us-east-1 \
    --registries "111111111111,222222222222.dkr.ecr.eu-west-1.amazonaws.com,public.ecr.aws"
{ set +x; } 2>/dev/null

echo
echo "== $work/docker/config.json (passwords elided; mode $(stat -c %a "$work/docker/config.json"))"
"$py" - "$work/docker/config.json" <<'PY'
import base64, json, sys
cfg = json.load(open(sys.argv[1]))
for host, entry in cfg.get("auths", {}).items():
    user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
    entry["auth"] = f"<base64 of {user}:{password[:4]}...>"
print(json.dumps(cfg, indent=2))
PY
echo
echo "== step outputs (\$GITHUB_OUTPUT)"
grep -v '^ECR_LOGIN_EOF' "$work/github_output" | paste -sd' ' | sed 's/<<[A-Za-z0-9_]* / = /g'
echo
echo "== AWS calls made (service, region, operation, status)"
"$py" - "http://127.0.0.1:$proxy_port/__calls" <<'PY'
import json, sys, urllib.request
for c in json.load(urllib.request.urlopen(sys.argv[1])):
    print(f"  {c['service']:<11} {c['region'] or '-':<10} {c['operation']:<26} {c['status']}")
PY
