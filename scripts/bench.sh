#!/usr/bin/env bash
# Side-by-side speed of a full CI login (OIDC token -> STS -> ECR -> auth file) on 127.0.0.1:
#   ecr-login (the static release binary) against the floor: the same three HTTP requests made
#   by curl + jq (curl signs the ECR call itself with --aws-sigv4), and 10 registries in 5
#   regions against 1 registry. Prints hyperfine's medians and the ratios PRODUCT.md aims at.
#   Two rounds: (1) no added latency, ecr-login against the floor; (2) the AWS side answering
#   after BENCH_LATENCY_MS (default 30 ms, a round trip to a region), 1 registry against 10 in
#   5 regions: without latency moto, which answers in Python under one lock, turns parallel
#   requests into sequential ones, which would measure moto rather than us.
#   A third round: the credential helper's `get`, on a cache hit and on a miss, against
#   amazon-ecr-credential-helper's `docker-credential-ecr-login` (Debian's) on the same servers.
#   That helper ignores AWS_ENDPOINT_URL, so the measurements run in a private network namespace
#   where api.ecr.us-east-1.amazonaws.com is 127.0.0.20, served over TLS by our proxy.
# Peers that need the internet to install (the AWS CLI, the Node actions) are not run here.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ -z "${BENCH_IN_NAMESPACE:-}" ]; then
  source scripts/setup.sh
  for pair in hyperfine:hyperfine jq:jq /usr/bin/time:time strace:strace; do
    command -v "${pair%%:*}" >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y -qq "${pair#*:}" >/dev/null; }
  done
  if [ -z "${BENCH_PROFILE:-}" ]; then
    # The binary as the release job builds it: its code laid out by a profile of this code
    # (scripts/hot-text.sh; BENCH_NO_LAYOUT=1 measures it without).
    if [ -z "${BENCH_NO_LAYOUT:-}" ]; then
      echo "== laying out the release binary's code (scripts/hot-text.sh)" >&2
      ECR_LOGIN_HOT_TEXT="$(scripts/hot-text.sh)"
      export ECR_LOGIN_HOT_TEXT
    fi
    echo "== building the release binary" >&2
    cargo build --release --locked --target x86_64-unknown-linux-musl --quiet
    echo "== building the warm-client limit (examples/warm_limit.rs)" >&2
    cargo build --release --locked --example warm_limit --quiet
  fi
  # The rest runs where only loopback exists, with the real ECR API name on it.
  hosts="$(mktemp)"
  { cat tests/support/hosts; printf '127.0.0.20\tapi.ecr.us-east-1.amazonaws.com\n'; } > "$hosts"
  ns=(unshare --net --mount --pid --fork --mount-proc)
  [ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --net --mount --pid --fork --mount-proc)
  # shellcheck disable=SC2016 # expanded by the inner shell
  exec "${ns[@]}" env BENCH_IN_NAMESPACE=1 BENCH_HOSTS="$hosts" bash -c '
    ip link set lo up
    mount --bind "$BENCH_HOSTS" /etc/hosts
    exec bash "$0"' "$0"
fi
venv="${ECR_LOGIN_TEST_VENV:-$root/.venv}"
py="$venv/bin/python"
runs="${BENCH_RUNS:-30}"
bin="${BENCH_BIN:-${CARGO_TARGET_DIR:-$root/target}/x86_64-unknown-linux-musl/release/ecr-login}"
warm="${CARGO_TARGET_DIR:-$root/target}/release/examples/warm_limit"

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

moto_port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" > /dev/null 2>&1 &
pids+=("$!")
"$py" tests/support/oidc_issuer.py --request-token bench-token > "$work/issuer.out" 2>/dev/null &
pids+=("$!")
for _ in $(seq 150); do
  (exec 3<>"/dev/tcp/127.0.0.1/$moto_port") 2>/dev/null && break
  sleep 0.2
done
"$py" tests/support/aws_proxy.py --upstream "http://127.0.0.1:$moto_port" > "$work/proxy.out" 2>/dev/null &
pids+=("$!")
"$py" tests/support/aws_proxy.py --upstream "http://127.0.0.1:$moto_port" --latency-ms "${BENCH_LATENCY_MS:-30}" > "$work/slow.out" 2>/dev/null &
pids+=("$!")
for _ in $(seq 150); do
  read -r _ issuer_port < "$work/issuer.out" 2>/dev/null || true
  read -r _ proxy_port < "$work/proxy.out" 2>/dev/null || true
  read -r _ slow_port < "$work/slow.out" 2>/dev/null || true
  [ -n "${issuer_port:-}" ] && [ -n "${proxy_port:-}" ] && [ -n "${slow_port:-}" ] && break
  sleep 0.1
done
if [ -z "${issuer_port:-}" ] || [ -z "${proxy_port:-}" ] || [ -z "${slow_port:-}" ]; then
  echo "error: the local servers did not start" >&2
  exit 1
fi

export ACTIONS_ID_TOKEN_REQUEST_URL="http://127.0.0.1:$issuer_port/token?api-version=2.0"
export ACTIONS_ID_TOKEN_REQUEST_TOKEN=bench-token
export MOTO="http://127.0.0.1:$proxy_port" WORK="$work" BIN="$bin"
export ROLE=arn:aws:iam::123456789012:role/bench

# The AWS side over TLS as well, at the real ECR API name (127.0.0.20 in this namespace), with a
# test CA: for the credential helpers and the HTTPS round.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/ca.key" -out "$work/ca.crt" -days 1 \
  -subj "/CN=bench CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$work/api.key" -out "$work/api.csr" -subj "/CN=api" 2>/dev/null
printf 'subjectAltName=DNS:api.ecr.us-east-1.amazonaws.com\n' > "$work/ext.cnf"
openssl x509 -req -in "$work/api.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
  -out "$work/api.crt" -days 1 -extfile "$work/ext.cnf" 2>/dev/null
"$py" tests/support/aws_proxy.py --upstream "http://127.0.0.1:$moto_port" --host 127.0.0.20 --port 443 \
  --tls-cert "$work/api.crt" --tls-key "$work/api.key" > "$work/tls.out" 2>/dev/null &
pids+=("$!")
for _ in $(seq 100); do [ -s "$work/tls.out" ] && break; sleep 0.1; done
api=https://api.ecr.us-east-1.amazonaws.com
cat /etc/ssl/certs/ca-certificates.crt "$work/ca.crt" > "$work/bundle.pem"
# The credential helper, under the name Docker runs it by.
mkdir -p "$work/bin"
ln -s "$bin" "$work/bin/docker-credential-ecr-login"

# The floor: what any tool must do, as three curl calls and jq.
cat > "$work/curl-login.sh" <<'SH'
#!/usr/bin/env bash
set -euo pipefail
jwt="$(curl -sf -H "Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sts.amazonaws.com" | jq -r .value)"
xml="$(curl -sf "$MOTO/" --data-urlencode Action=AssumeRoleWithWebIdentity --data-urlencode Version=2011-06-15 \
  --data-urlencode "RoleArn=$ROLE" --data-urlencode RoleSessionName=bench --data-urlencode "WebIdentityToken=$jwt")"
get() { sed -n "s:.*<$1>\(.*\)</$1>.*:\1:p" <<<"$xml"; }
token="$(curl -sf "$MOTO/" --aws-sigv4 "aws:amz:us-east-1:ecr" --user "$(get AccessKeyId):$(get SecretAccessKey)" \
  -H "x-amz-security-token: $(get SessionToken)" -H "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken" \
  -H "Content-Type: application/x-amz-json-1.1" -d '{}' | jq -r '.authorizationData[0].authorizationToken')"
umask 077
mkdir -p "$WORK/curl-docker"
printf '{"auths":{"123456789012.dkr.ecr.us-east-1.amazonaws.com":{"auth":"%s"}}}\n' "$token" > "$WORK/curl-docker/config.json"
SH
chmod +x "$work/curl-login.sh"
"$work/curl-login.sh"

# job ENDPOINT COMMAND...: runs COMMAND in the environment of a GitHub Actions job (and
# nothing else) whose AWS calls go to ENDPOINT. hyperfine runs inside it, with -N: what it
# times is the measured program's own process, not a shell or an `env` exec before it (a
# dynamically linked `env` costs about a millisecond).
job() {
  env -i PATH="$PATH" GITHUB_ACTIONS=true ACTIONS_ID_TOKEN_REQUEST_URL="$ACTIONS_ID_TOKEN_REQUEST_URL" \
    ACTIONS_ID_TOKEN_REQUEST_TOKEN=bench-token AWS_ENDPOINT_URL="$1" AWS_EC2_METADATA_DISABLED=true \
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null DOCKER_CONFIG="$work/docker" \
    MOTO="$MOTO" WORK="$work" ROLE="$ROLE" "${@:2}"
}
# login REGISTRIES: the command line of one GitHub-style login.
login() {
  printf '%s --role-arn %s --region us-east-1 -q --registries %s' "$bin" "$ROLE" "$1"
}
ten="111111111111,222222222222,333333333333.dkr.ecr.eu-west-1.amazonaws.com,444444444444.dkr.ecr.eu-west-1.amazonaws.com,555555555555.dkr.ecr.ap-south-1.amazonaws.com,666666666666.dkr.ecr.ap-south-1.amazonaws.com,777777777777.dkr.ecr.us-west-2.amazonaws.com,888888888888.dkr.ecr.us-west-2.amazonaws.com,999999999999.dkr.ecr.sa-east-1.amazonaws.com,101010101010.dkr.ecr.sa-east-1.amazonaws.com"
slow="http://127.0.0.1:$slow_port"
# shellcheck disable=SC2046 # login's words are meant to split
job "$MOTO" $(login 111111111111) > /dev/null || { echo "error: ecr-login failed against the local servers" >&2; exit 1; }

# scripts/hot-text.sh: the runs whose code the release binary lays out first, each once under
# callgrind (its output in $BENCH_PROFILE), then nothing is measured: a login over plain HTTP,
# one over HTTPS, and the credential helper's `get` on a cache miss and on a hit.
if [ -n "${BENCH_PROFILE:-}" ]; then
  grind=(valgrind --tool=callgrind --demangle=no)
  # shellcheck disable=SC2046 # login's words are meant to split
  job "$MOTO" "${grind[@]}" --callgrind-out-file="$BENCH_PROFILE/login.out" $(login 111111111111) > /dev/null 2>&1
  # shellcheck disable=SC2046
  MOTO="$api" job "$api" env SSL_CERT_FILE="$work/bundle.pem" "${grind[@]}" \
    --callgrind-out-file="$BENCH_PROFILE/login-https.out" $(login 111111111111) > /dev/null 2>&1
  for run in helper-miss helper-hit; do
    printf %s 123456789012.dkr.ecr.us-east-1.amazonaws.com | env -i PATH=/usr/bin:/bin HOME="$work/helper-home" \
      AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \
      AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
      AWS_ENDPOINT_URL="$api" SSL_CERT_FILE="$work/ca.crt" "${grind[@]}" --callgrind-out-file="$BENCH_PROFILE/$run.out" \
      "$work/bin/docker-credential-ecr-login" get > /dev/null 2>&1
  done
  exit 0
fi

# The warm-client limit, in three rounds, each just before a round of logins: the machine drifts
# between rounds, so each side is the median of its three rounds.
warm_limit() {
  WARM_RUNS="$runs" AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    AWS_ENDPOINT_URL="$MOTO" "$warm"
}
limits=("$(warm_limit)")
job "$MOTO" hyperfine -N --style basic --warmup 3 --runs "$runs" --export-json "$work/floor.json" \
  -n "curl+jq (floor)" "$work/curl-login.sh" \
  -n "ecr-login" "$(login 111111111111)" >&2
job "$slow" hyperfine -N --style basic --warmup 2 --runs "$runs" --export-json "$work/fanout.json" \
  -n "1 registry" "$(login 111111111111)" \
  -n "10 registries in 5 regions" "$(login "$ten")" >&2

ms() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median * 1000 | round' "$work/$1.json"; }
# The same, to a tenth of a millisecond: a login is a few milliseconds more than the limit.
ms1() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .median * 1000' "$work/$1.json" | xargs printf '%.1f'; }
floor=$(ms floor "curl+jq (floor)"); ours=$(ms floor ecr-login)
one=$(ms fanout "1 registry"); ten_ms=$(ms fanout "10 registries in 5 regions")
echo
echo "medians, no added latency: curl+jq floor ${floor} ms, ecr-login ${ours} ms"
echo "  ecr-login / floor = $(awk -v a="$ours" -v b="$floor" 'BEGIN { printf "%.2f", a / b }') (target <= 0.5)"
logins=("$(ms1 floor ecr-login)")
for round in 2 3; do
  limits+=("$(warm_limit)")
  # The state the first round's logins found: a config.json of this registry alone (the fan-out
  # round left nine more, which would make each rewrite sync). The warm-up runs remake it.
  rm -rf "$work/docker"
  job "$MOTO" hyperfine -N --style none --warmup 3 --runs "$runs" --export-json "$work/login$round.json" \
    -n "ecr-login" "$(login 111111111111)" >&2
  logins+=("$(ms1 "login$round" ecr-login)")
done
median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
limit=$(median3 "${limits[@]}")
echo "warm-client limit (the same three requests by one warm process, no start-up): ${limit} ms (median of rounds ${limits[*]} ms)"
ours1=$(median3 "${logins[@]}")
echo "  ecr-login / warm limit = ${ours1} ms / ${limit} ms = $(awk -v a="$ours1" -v b="$limit" 'BEGIN { printf "%.2f", a / b }') (target <= 1.3; logins: median of rounds ${logins[*]} ms, each after a warm round)"
# Where a login's time goes: logins under strace stopped at a handful of syscalls only (the
# others, filtered by seccomp, run untraced), the median time between them; next to each AWS
# answer, the same request's median in the warm process.
# The third round's logins left the state the measured logins found: a config.json holding
# this registry alone.
for i in $(seq "${BENCH_PHASE_RUNS:-40}"); do
  # shellcheck disable=SC2046 # login's words are meant to split
  job "$MOTO" strace -f --seccomp-bpf -ttt -e trace=execve,connect,writev,recvfrom,renameat2,exit_group \
    -o "$work/trace.$i" $(login 111111111111) > /dev/null
done
WARM_PHASES=1 warm_limit 2>&1 >/dev/null | sed 's/^/  /'
"$py" - "$work"/trace.* <<'PY'
import collections, re, statistics, sys
runs = []
for path in sys.argv[1:]:
    events = []
    for line in open(path):
        m = re.match(r"\d+\s+([\d.]+) (?:(\w+)\(|\+\+\+ (exited))", line)
        if m:
            events.append((float(m.group(1)), m.group(2) or m.group(3)))
    runs.append(events)
shapes = collections.Counter(tuple(name for _, name in r) for r in runs)
shape, count = shapes.most_common(1)[0]
expected = ("execve", "connect", "writev", "recvfrom", "connect", "writev", "recvfrom",
            "writev", "recvfrom", "renameat2", "exit_group", "exited")
if shape != expected:
    sys.exit(f"error: unexpected syscall sequence {shape}")
labels = [
    "start-up: exec, relocation, allocator, environment, command line, configuration, runtime, HTTP client",
    "CI token request: connect, request written",
    "  the issuer answers (the SDK configuration and endpoint tables load meanwhile)",
    "token checked, STS client, connect",
    "STS request written",
    "  STS answers (moto, through the test proxy)",
    "credentials, ECR client, SigV4 signature, request written (pooled connection)",
    "  ECR answers",
    "auth file: lock, read, merge, temporary file written (no fsync: nothing else to lose)",
    "swap into place (renameat2), old file removed, unlock",
    "teardown and exit",
]
rows = [r for r in runs if tuple(name for _, name in r) == shape]
print(f"where a login's time goes (median of {len(rows)} logins under strace, seccomp-filtered):")
for i, label in enumerate(labels, 1):
    gap = statistics.median((r[i][0] - r[i - 1][0]) * 1000 for r in rows)
    print(f"  {gap:5.2f} ms  {label}")
total = statistics.median((r[-1][0] - r[0][0]) * 1000 for r in rows)
print(f"  {total:5.2f} ms  in all (strace's stops included)")
PY
echo "medians, ${BENCH_LATENCY_MS:-30} ms per AWS answer: 1 registry ${one} ms, 10 registries in 5 regions ${ten_ms} ms"
echo "  10 registries / 1 = $(awk -v a="$ten_ms" -v b="$one" 'BEGIN { printf "%.2f", a / b }') (target <= 1.3)"
# shellcheck disable=SC2046 # login's words are meant to split
rss=$(job "$slow" /usr/bin/time -f %M $(login "$ten") 2>&1 >/dev/null | tail -n 1)
echo "peak memory, 10 registries: $((rss / 1024)) MB (target < 20 MB)"

# --- the credential helper: ecr-login vs docker-credential-ecr-login, hit and miss ------------
echo "== credential helper get: ecr-login vs amazon-ecr-credential-helper" >&2
host=123456789012.dkr.ecr.us-east-1.amazonaws.com
# helper PROGRAM [ENV...]: 50 `get`s of $host with static keys, as Docker runs them (a fork and
# an exec each), in one shell with the environment set once. The same loop around /bin/true
# measures the loop itself, which is taken off both helpers' times: what is left is the
# helpers' own (their process start included).
per=50
helper() {
  local prog="$1"; shift
  printf "env -i PATH=/usr/bin:/bin HOME=%q AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_ENDPOINT_URL=%q SSL_CERT_FILE=%q %s sh -c 'i=0; while [ \$i -lt %d ]; do printf %%s %s | %q get >/dev/null || exit 1; i=\$((i+1)); done'" \
    "$work/helper-home" "$api" "$work/ca.crt" "$*" "$per" "$host" "$prog"
}
# startup PROGRAM: the same loop, the same environment and the same request on stdin, with
# PROGRAM --version instead of `get`: the binary's own start-up (exec, relocation, argument
# parsing), the floor under a cache hit.
startup() {
  helper "$1" | sed 's/ get >\/dev\/null/ --version >\/dev\/null/'
}
# Both helpers call ECR over TLS, at the real API name (docker-credential-ecr-login ignores
# AWS_ENDPOINT_URL; ecr-login is pointed at the same name), trusting the test CA.
ours="$work/bin/docker-credential-ecr-login"
theirs=/usr/bin/docker-credential-ecr-login
eval "$(helper "$ours")" || { echo "error: ecr-login's helper failed" >&2; exit 1; }
eval "$(helper "$theirs")" || { echo "error: docker-credential-ecr-login failed against the local servers" >&2; exit 1; }
hyperfine --style basic --warmup 1 --runs "$(( (runs + 2) / 3 ))" --export-json "$work/helper.json" \
  -n "the loop alone" "$(helper /bin/true)" \
  -n "ecr-login --version" "$(startup "$bin")" \
  -n "ecr-login hit" "$(helper "$ours")" \
  -n "docker-credential-ecr-login hit" "$(helper "$theirs")" \
  -n "ecr-login miss" "$(helper "$ours" ECR_LOGIN_NO_CACHE=1)" \
  -n "docker-credential-ecr-login miss" "$(helper "$theirs" AWS_ECR_DISABLE_CACHE=true)" >&2
loop=$(ms helper "the loop alone")
each() { awk -v t="$(ms helper "$1")" -v l="$loop" -v n="$per" 'BEGIN { printf "%.2f", (t - l) / n }'; }
oh=$(each "ecr-login hit"); th=$(each "docker-credential-ecr-login hit")
om=$(each "ecr-login miss"); tm=$(each "docker-credential-ecr-login miss")
echo "credential helper get, median per get (the loop's own $(awk -v l="$loop" -v n="$per" 'BEGIN { printf "%.2f", l / n }') ms taken off): hit ecr-login ${oh} ms vs docker-credential-ecr-login ${th} ms; miss ${om} ms vs ${tm} ms"
echo "  hit: docker-credential-ecr-login / ecr-login = $(awk -v a="$th" -v b="$oh" 'BEGIN { printf "%.1f", a / b }')x (minimum 3x, aim 5x)"
echo "  miss: ecr-login / docker-credential-ecr-login = $(awk -v a="$om" -v b="$tm" 'BEGIN { printf "%.2f", a / b }') (aim <= 1)"
# Whole calls here (the loop not taken off): a hit is a start-up plus its checks and one file.
whole() { awk -v t="$(ms helper "$1")" -v n="$per" 'BEGIN { printf "%.2f", t / n }'; }
hw=$(whole "ecr-login hit"); sw=$(whole "ecr-login --version")
echo "  start-up: ecr-login --version ${sw} ms a call, a hit ${hw} ms a call (the loop included); hit / start-up = $(awk -v a="$hw" -v b="$sw" 'BEGIN { printf "%.2f", a / b }') (at most 1.5: a hit adds checks, no network call)"

# --- over HTTPS: every real login's case ------------------------------------------------------
# The AWS side through the TLS proxy above (the real ECR API name), trusting the system's CA
# bundle with the test CA added, as a TLS-inspecting proxy's users do; the CI token endpoint
# stays plain HTTP. curl reads the same bundle.
MOTO="$api" job "$api" env SSL_CERT_FILE="$work/bundle.pem" CURL_CA_BUNDLE="$work/bundle.pem" \
  hyperfine -N --style basic --warmup 3 --runs "$runs" --export-json "$work/tls.json" \
  -n "curl+jq (floor, HTTPS)" "$work/curl-login.sh" \
  -n "ecr-login (HTTPS)" "$(login 111111111111)" >&2
tls_floor=$(ms tls "curl+jq (floor, HTTPS)"); tls_ours=$(ms tls "ecr-login (HTTPS)")
echo "medians over HTTPS: curl+jq floor ${tls_floor} ms, ecr-login ${tls_ours} ms"
echo "  ecr-login / floor = $(awk -v a="$tls_ours" -v b="$tls_floor" 'BEGIN { printf "%.2f", a / b }')"

size=$(stat -c %s "$bin"); xz_size=$(xz -9 -c "$bin" | wc -c)
echo "release binary: $((size / 1024)) KiB, $((xz_size / 1024)) KiB xz-compressed (target <= 4096 KiB)"
