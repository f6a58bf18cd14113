#!/usr/bin/env bash
# Runs every check and test of ecr-login, installing what they need first:
#   formatting, clippy, the static release build, unit tests, and the integration tests
#   against local servers (moto, our OIDC issuer and proxy, docker-registry, skopeo).
# The tests run inside a private network + mount + PID namespace: only loopback exists there,
# the ECR host names resolve to local registries (tests/support/hosts), and every server they
# start dies with them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/setup.sh

step() { printf '\n== %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets --features online-tests --locked -- -D warnings

step "the wrappers' validators"
bash scripts/lint.sh

step "static release binary (x86_64-unknown-linux-musl)"
cargo build --release --locked --target x86_64-unknown-linux-musl
bin="${CARGO_TARGET_DIR:-$root/target}/x86_64-unknown-linux-musl/release/ecr-login"
desc="$(file -b "$bin")"
echo "$desc" >&2
case "$desc" in
  *"statically linked"* | *"static-pie linked"*) ;;
  *) echo "error: the release binary is not statically linked: $desc" >&2; exit 1 ;;
esac
"$bin" --version >&2
# Its allocator takes no settings from the environment (mimalloc built with MI_NO_GETENV, in
# .cargo/config.toml): MIMALLOC_VERBOSE would otherwise print to stderr.
noise="$(MIMALLOC_VERBOSE=1 MIMALLOC_SHOW_STATS=1 "$bin" --version 2>&1 >/dev/null)"
if [ -n "$noise" ]; then
  echo "error: the release binary's allocator read MIMALLOC_* variables: $noise" >&2
  exit 1
fi

step "the crate compiles for Windows (cargo check, x86_64-pc-windows-gnu)"
cargo check --locked --target x86_64-pc-windows-gnu --bin ecr-login

step "build the tests"
cargo test --locked --features online-tests --no-run

step "run the tests in a private network namespace"
ns=(unshare --net --mount --pid --fork --mount-proc)
[ "$(id -u)" -eq 0 ] || ns=(unshare --user --map-root-user --net --mount --pid --fork --mount-proc)
"${ns[@]}" bash -euo pipefail -c '
  ip link set lo up
  mount --bind tests/support/hosts /etc/hosts
  exec cargo test --locked --offline --features online-tests -- "$@"
' ecr-login-tests "$@"
