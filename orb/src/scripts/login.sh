#!/bin/sh
# The orb's `login` command: installs ecr-login with the shared installer, then logs Docker in
# to Amazon ECR with the job's OIDC token. The parameters arrive as PARAM_* environment
# variables and are handed on as ecr-login's own environment settings, never on a command line;
# the installer's text arrives as SCRIPT_INSTALL (scripts/install.sh, inlined by
# `circleci orb pack`). ecr-login itself appends `export ECR_LOGIN_REGISTRY=...` to $BASH_ENV,
# which every later step's shell reads. POSIX sh, so images without bash work too.
set -eu

# Exports $1=$2 when $2 is not empty: an empty parameter leaves what the job's environment
# (a context, say) already holds.
setting() {
  if [ -n "$2" ]; then export "$1=$2"; fi
}
# Exports $1=true for a boolean parameter that is on (CircleCI writes booleans as 1 or 0).
flag() {
  case "$2" in
    1 | true) export "$1=true" ;;
  esac
}

setting AWS_ROLE_ARN "${PARAM_ROLE_ARN:-}"
setting AWS_REGION "${PARAM_REGION:-}"
setting ECR_LOGIN_REGISTRIES "${PARAM_REGISTRIES:-}"
setting ECR_LOGIN_AUDIENCE "${PARAM_AUDIENCE:-}"
setting ECR_LOGIN_INLINE_SESSION_POLICY "${PARAM_INLINE_SESSION_POLICY:-}"
setting ECR_LOGIN_MANAGED_SESSION_POLICIES "${PARAM_MANAGED_SESSION_POLICIES:-}"
flag ECR_LOGIN_ROLE_CHAINING "${PARAM_ROLE_CHAINING:-}"
setting ECR_LOGIN_CHAIN_ROLE_ARN "${PARAM_CHAIN_ROLE_ARN:-}"
setting ECR_LOGIN_ROLE_EXTERNAL_ID "${PARAM_ROLE_EXTERNAL_ID:-}"
setting ECR_LOGIN_ALLOWED_ACCOUNT_IDS "${PARAM_ALLOWED_ACCOUNT_IDS:-}"
flag ECR_LOGIN_DUAL_STACK "${PARAM_DUAL_STACK:-}"
setting ECR_LOGIN_ENV_FILE "${PARAM_ENV_FILE:-}"
setting ECR_LOGIN_VERSION "${PARAM_VERSION:-}"
setting ECR_LOGIN_BASE_URL "${PARAM_BASE_URL:-}"

# The installer prints the binary's path as its last line of stdout (progress goes to stderr).
# Its failures exit 9 ("could not be installed"), which the step passes on.
installed="$(sh -c "${SCRIPT_INSTALL:?is not set: the orb passes the installer in it}")" || {
  status=$?
  echo "ecr-login orb: ecr-login could not be installed (exit $status; see the installer's error above)" >&2
  exit "$status"
}
bin="$(printf '%s\n' "$installed" | tail -n 1)"
[ -x "$bin" ] || { echo "ecr-login orb: ecr-login could not be installed (the installer named no executable: $bin)" >&2; exit 9; }

unset SCRIPT_INSTALL PARAM_ROLE_ARN PARAM_REGION PARAM_REGISTRIES PARAM_AUDIENCE PARAM_ENV_FILE \
  PARAM_VERSION PARAM_BASE_URL PARAM_INLINE_SESSION_POLICY PARAM_MANAGED_SESSION_POLICIES \
  PARAM_ROLE_CHAINING PARAM_CHAIN_ROLE_ARN PARAM_ROLE_EXTERNAL_ID PARAM_ALLOWED_ACCOUNT_IDS \
  PARAM_DUAL_STACK
exec "$bin" login
