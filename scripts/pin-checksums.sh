#!/bin/sh
# Pins a release's checksums in scripts/install.sh (the installer every wrapper uses) and makes
# it the default version:  scripts/pin-checksums.sh VERSION path/to/SHA256SUMS
# SHA256SUMS is in `sha256sum` format ("<sha256>  <asset>"), as scripts/release.sh package
# writes it; the assets are the archives ecr-login-<target>.tar.gz / .zip. A version that is
# pinned already is refused: a release's assets never change. scripts/release.sh pin runs this,
# then scripts/sync-installer.sh, and commits the result.
set -eu

[ "$#" -eq 2 ] || { echo "usage: $0 VERSION SHA256SUMS" >&2; exit 2; }
version="${1#v}"
sums="$2"
here="$(cd "$(dirname "$0")" && pwd)"
installer="$here/install.sh"

case "$version" in
  *[!0-9A-Za-z.+-]* | "") echo "error: bad version $version" >&2; exit 2 ;;
esac
# (No {64} intervals: mawk, Debian's awk, does not know them.)
lines="$(awk -v v="$version" '
  function sha(s) { return length(s) == 64 && s ~ /^[0-9a-f]+$/ }
  NF == 2 && sha($1) && $2 ~ /^\*?ecr-login-[0-9a-z_-]+\.(tar\.gz|zip)$/ { sub(/^\*/, "", $2); print v " " $1 " " $2; n++; next }
  { bad = 1 }
  END { if (bad || n == 0) exit 1 }
' "$sums")" || { echo "error: $sums is not a sha256sum list of ecr-login-<target>.tar.gz/.zip archives" >&2; exit 1; }

if awk -v v="$version" '/<<.PINNED.$/ { p = 1; next } /^PINNED$/ { p = 0 } p && $1 == v { found = 1 } END { exit !found }' "$installer"; then
  echo "error: ecr-login $version is pinned in $installer already: a release's checksums never change" >&2
  exit 1
fi

tmp="$installer.tmp.$$"
trap 'rm -f "$tmp"' EXIT
awk -v lines="$lines" -v version="$version" '
  /^DEFAULT_VERSION=/ { print "DEFAULT_VERSION=\"" version "\""; next }
  /^PINNED$/ && !done { n = split(lines, l, "\n"); for (i = 1; i <= n; i++) print l[i]; done = 1 }
  { print }
' "$installer" > "$tmp"
chmod 0755 "$tmp"
mv "$tmp" "$installer"
trap - EXIT
echo "pinned $(printf '%s\n' "$lines" | wc -l | tr -d ' ') checksums of ecr-login $version in $installer" >&2
