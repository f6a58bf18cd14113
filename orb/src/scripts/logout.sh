#!/bin/sh
# The orb's `logout` command: installs ecr-login with the shared installer (a cached, intact
# binary is not downloaded again), then removes the ECR logins from Docker's config.json: every
# one, or only PARAM_REGISTRIES. Parameters arrive as PARAM_* environment variables and are
# handed on as ecr-login's environment settings; the installer's text arrives as SCRIPT_INSTALL.
# POSIX sh, so images without bash work too.
set -eu

# Exports $1=$2 when $2 is not empty: an empty parameter leaves the job's environment in charge.
setting() {
  if [ -n "$2" ]; then export "$1=$2"; fi
}

setting ECR_LOGIN_REGISTRIES "${PARAM_REGISTRIES:-}"
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

unset SCRIPT_INSTALL PARAM_REGISTRIES PARAM_VERSION PARAM_BASE_URL
exec "$bin" logout
