#!/bin/sh
# Propagates scripts/install.sh to the wrappers that cannot read it from this repository at run
# time: the Jenkins library's resource (Jenkins refuses symlinks in a library), the GitLab
# component (embedded verbatim), and the orb's and component's `version` defaults (the
# installer's DEFAULT_VERSION). Run it after changing scripts/install.sh; the release workflow
# runs it after scripts/pin-checksums.sh. With --check it changes nothing and fails when any
# copy is out of date (scripts/lint.sh runs that).
set -eu

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
check=false
[ "${1:-}" = --check ] && check=true

version="$(sed -n 's/^DEFAULT_VERSION="\([^"]*\)"$/\1/p' scripts/install.sh)"
[ -n "$version" ] || { echo "sync-installer: no DEFAULT_VERSION in scripts/install.sh" >&2; exit 1; }
stale=""

if ! cmp -s scripts/install.sh jenkins/resources/ecr-login/install.sh; then
  stale="$stale jenkins/resources/ecr-login/install.sh"
  $check || cp scripts/install.sh jenkins/resources/ecr-login/install.sh
fi

if $check; then
  gitlab/embed-installer.sh --check || stale="$stale gitlab/templates/ecr-login.yml"
else
  gitlab/embed-installer.sh
fi

# The orb commands' `version:` parameter: its `default:` is the line after `type: string`.
for f in orb/src/commands/login.yml orb/src/commands/logout.yml; do
  want="    default: \"$version\""
  got="$(awk '/^  version:$/ { v = 1; next } v && /^    default:/ { print; exit }' "$f")"
  if [ "$got" != "$want" ]; then
    stale="$stale $f"
    if ! $check; then
      awk -v want="$want" '/^  version:$/ { v = 1 } v && /^    default:/ { print want; v = 0; next } { print }' "$f" > "$f.tmp"
      mv "$f.tmp" "$f"
    fi
  fi
done

if $check && [ -n "$stale" ]; then
  echo "sync-installer: out of date with scripts/install.sh:$stale (run scripts/sync-installer.sh)" >&2
  exit 1
fi
