#!/usr/bin/env bash
# The property tests (proptest) over the hostile-input surfaces, for longer than CI runs them:
# the registry-host parser, the config.json reader and merge, the JWT claims decoder and token
# check, the credential-helper stdin, the kubelet request, and the hand-off files ($GITHUB_OUTPUT,
# $BASH_ENV, dotenv). `cargo test` runs 256 cases of each; this runs FUZZ_CASES (default
# 20000). A failure is shrunk to a minimal case and saved under proptest-regressions/, which
# every later run (CI's included) replays first: commit that file with the fix, and add the
# case to the module's hand-written corpus test (`hostile_*`).
#   scripts/fuzz.sh                 # every property, 20000 cases each
#   FUZZ_CASES=200000 scripts/fuzz.sh registry   # one module's properties, longer
#     (modules: registry, config, id_token, helper, kubelet, util, github)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
pattern="props::"
[ -z "${1:-}" ] || pattern="$1::tests::props::"
PROPTEST_CASES="${FUZZ_CASES:-20000}" exec cargo test --lib --locked -- "$pattern"
