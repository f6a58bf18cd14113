#!/bin/sh
# Copies scripts/install.sh verbatim into the GitLab component template, between the line
# ending in <<'ECR_LOGIN_INSTALL_SH' and its terminator, and sets the `version` input's
# default to the installer's DEFAULT_VERSION. A GitLab component cannot read files from its
# own project at run time, so the installer travels inside the template: run this whenever
# scripts/install.sh changes (a release pins its checksums there). With --check it changes
# nothing and fails when the template is out of date.
#
# Usage: gitlab/embed-installer.sh [--check] [INSTALL_SH [TEMPLATE]]
set -eu

check=false
if [ "${1:-}" = --check ]; then
  check=true
  shift
fi
here="$(cd "$(dirname "$0")" && pwd)"
installer="${1:-$here/../scripts/install.sh}"
template="${2:-$here/templates/ecr-login.yml}"

die() { printf 'embed-installer: %s\n' "$*" >&2; exit 1; }

[ -f "$installer" ] || die "no installer at $installer"
[ -f "$template" ] || die "no template at $template"
version="$(sed -n 's/^DEFAULT_VERSION="\([^"]*\)"$/\1/p' "$installer")"
[ -n "$version" ] || die "no DEFAULT_VERSION=\"...\" line in $installer"
if grep -qx 'ECR_LOGIN_INSTALL_SH' "$installer"; then
  die "$installer contains the heredoc terminator line ECR_LOGIN_INSTALL_SH"
fi

new="$(mktemp)"
trap 'rm -f "$new"' EXIT INT TERM

# The template's layout: inputs at 4 spaces (`    version:`), their keys at 6; the heredoc's
# body at the indentation of the line that opens it.
awk -v installer="$installer" -v version="$version" '
  function fail(msg) { print "embed-installer: " msg > "/dev/stderr"; failed = 1; exit 1 }
  skipping {
    if ($0 == indent "ECR_LOGIN_INSTALL_SH") { skipping = 0; print; }
    next
  }
  /^    version:$/ { in_version = 1; print; next }
  in_version && /^    [^ ]/ { in_version = 0 }
  /^---$/ { in_version = 0 }
  in_version && /^      default: / {
    print "      default: \"" version "\""; versions++; in_version = 0; next
  }
  /<<'\''ECR_LOGIN_INSTALL_SH'\''$/ {
    print
    match($0, /^ */)
    indent = substr($0, 1, RLENGTH)
    while ((getline line < installer) > 0) {
      if (line == "") print ""; else print indent line
    }
    close(installer)
    skipping = 1; embeds++
    next
  }
  { print }
  END {
    if (failed) exit 1
    if (skipping) fail("the heredoc in the template has no ECR_LOGIN_INSTALL_SH terminator")
    if (embeds != 1) fail("expected one <<'\''ECR_LOGIN_INSTALL_SH'\'' heredoc in the template, found " embeds + 0)
    if (versions != 1) fail("expected one `default:` under the `version:` input, found " versions + 0)
  }
' "$template" >"$new"

if cmp -s "$new" "$template"; then
  exit 0
fi
if [ "$check" = true ]; then
  die "$template is out of date with $installer: run gitlab/embed-installer.sh"
fi
cat "$new" >"$template"
printf 'embed-installer: updated %s (ecr-login %s)\n' "$template" "$version" >&2
