#!/usr/bin/env bash
# Makes <target dir>/hot-text.ld from the code being built: the list of functions that the
# release binary's linker puts first in its code (build.rs passes it to the musl release link
# when ECR_LOGIN_HOT_TEXT names it), so that a login maps its code with a few dozen page faults
# instead of a hundred scattered over 9 MB. Nothing generated is committed: the release job and
# scripts/bench.sh run this before their release build; without it the binary is the same code,
# laid out as the linker likes (a helper hit about 0.15 ms slower, a login about 2.5 ms).
#
# 1. Links the release binary once more with its symbols kept (only the last crate relinks).
# 2. Runs it once under callgrind for each case scripts/bench.sh profiles (BENCH_PROFILE): a
#    login over HTTP and over HTTPS, the credential helper's `get` on a miss and on a hit.
# 3. Writes every function those runs executed as a section pattern. Rust's legacy symbol hash
#    (`17h<16 hex digits>E`) and LLVM's numbering of local copies (`.1234`) become `*`, so
#    that a version bump or a dependency's new hash does not empty the list; the other
#    instances of the same generic function come along.
#
# Prints the path it wrote, for: export ECR_LOGIN_HOT_TEXT="$(scripts/hot-text.sh)".
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source scripts/setup.sh
command -v valgrind >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y -qq valgrind >/dev/null; }
target="${CARGO_TARGET_DIR:-$root/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== linking the release binary with its symbols" >&2
cargo rustc --release --locked --target x86_64-unknown-linux-musl --bin ecr-login --quiet -- -C strip=none
cp "$target/x86_64-unknown-linux-musl/release/ecr-login" "$work/ecr-login"
# The next plain build relinks the stripped binary (its arguments differ).

echo "== running the profiled cases under callgrind" >&2
mkdir -p "$work/profiles"
BENCH_PROFILE="$work/profiles" BENCH_BIN="$work/ecr-login" bash scripts/bench.sh >&2
for case in login login-https helper-miss helper-hit; do
  [ -s "$work/profiles/$case.out" ] || { echo "error: the $case run left no profile" >&2; exit 1; }
done

nm --defined-only "$work/ecr-login" | awk '$2 ~ /^[tTwW]$/ { print $3 }' > "$work/symbols"
# In this order: a case's functions that no earlier case ran follow the earlier cases' (the
# helper's hit, the shortest run, first), so that each case's code is one block.
out="$target/hot-text.ld"
python3 - "$work/symbols" "$work"/profiles/{helper-hit,login,login-https,helper-miss}.out > "$out" <<'PY'
import re, sys

symbols = set(open(sys.argv[1]).read().split())
rank = {}
for i, path in enumerate(sys.argv[2:]):
    for line in open(path):
        m = re.match(r"c?fn=\(\d+\) (\S+)$", line)
        if m and m.group(1) in symbols:
            rank.setdefault(m.group(1), i)
def pattern(name):
    # LLVM's numbering of a function's local copies (`.1234`, `.llvm.1234`) and Rust's legacy
    # hash (`17h<16 hex digits>E`) change from build to build: both become `*`.
    base = re.sub(r"(\.llvm)?\.\d+$", "", name)
    base = re.sub(r"17h[0-9a-f]{16}E$", "17h", base)
    return base + "*" if base != name else name

first = {}
for name, i in rank.items():
    p = pattern(name)
    first[p] = min(i, first.get(p, i))
patterns = sorted(first, key=lambda p: (first[p], p))
print("/* The functions a login and a credential-helper `get` run, laid out first in the")
print("   release binary's code: see build.rs. Made by scripts/hot-text.sh from this build. */")
print("SECTIONS")
print("{")
print("  .text.hot :")
print("  {")
for p in patterns:
    print(f"    *(.text.{p})")
print("  }")
print("}")
print("INSERT BEFORE .text;")
print(f"{len(rank)} functions ran, {len(patterns)} patterns", file=sys.stderr)
PY
echo "== wrote $out" >&2
echo "$out"
