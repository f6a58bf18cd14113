#!/bin/sh
# The release, one scriptable step at a time, so that each step runs (and is tested, in
# tests/release.rs, against a local git repository and the local HTTPS release site) outside
# GitHub too. .github/workflows/release.yml builds the binaries from commit X, then runs:
#
#   package BIN_DIR OUT_DIR        BIN_DIR/ecr-login-<target>[.exe], the five targets, become
#                                  OUT_DIR/ecr-login-<target>.tar.gz (.zip for Windows), each
#                                  with the one binary inside, plus SHA256SUMS (`sha256sum
#                                  --check` format) and one <asset>.sha256 per archive
#   pin VERSION SHA256SUMS         commit Y on top of X: scripts/install.sh pins the archives'
#                                  checksums and defaults to VERSION, and so do its copies
#                                  (Jenkins resource, GitLab component, orb version defaults)
#   tag VERSION                    the annotated tag vVERSION on Y (HEAD)
#   push REMOTE VERSION            that tag to REMOTE (a tag is never overwritten)
#   publish VERSION DIST (--to DIR | --github)
#                                  the assets that vVERSION pins, under vVERSION: copied to
#                                  DIR/vVERSION/ (a release site), or a GitHub release (gh)
#   promote REMOTE VERSION BRANCH  moves the major tag v<major> (what `uses: ...@v1` means) to Y
#                                  on REMOTE, unless VERSION is a prerelease or older than the
#                                  newest release of that major; fast-forwards BRANCH to Y, or,
#                                  when BRANCH has moved on, pushes branch pin-checksums-vVERSION
#                                  to be merged; prints branch=<the branch that holds Y>
#   gitlab-component VERSION [PARENT]
#                                  prints a commit (child of PARENT, if given) whose tree is
#                                  gitlab/ at vVERSION: the GitLab component project's content
#
# So the tag users pin points at a commit whose installers already know that release.
# Needs git, sha256sum (or shasum), and for `package` GNU tar, gzip and zip.
set -eu

root="$(cd "$(dirname "$0")/.." && pwd)"
targets="x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-apple-darwin aarch64-apple-darwin x86_64-pc-windows-msvc"
# The files `pin` may change: the installer and the copies scripts/sync-installer.sh keeps.
pinned_files="scripts/install.sh jenkins/resources/ecr-login/install.sh gitlab/templates/ecr-login.yml orb/src/commands/login.yml orb/src/commands/logout.yml"

say() { printf 'release: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
usage() {
  echo "usage: $0 COMMAND ARGS..., the commands:" >&2
  sed -n '/^#   [a-z]/,/^# So the tag/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# A release version: X.Y.Z, or X.Y.Z-<prerelease>; a leading v is dropped.
version_of() {
  v="${1#v}"
  printf '%s\n' "$v" | grep -Eq '^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$' ||
    die "not a release version (X.Y.Z or X.Y.Z-pre): $1"
  printf '%s\n' "$v"
}

sha256_list() { # FILE...: "<sha256>  <file>" lines
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$@"
  else
    shasum -a 256 "$@"
  fi
}

asset_of() { # TARGET: the archive's name
  case "$1" in
    *-windows-*) printf 'ecr-login-%s.zip\n' "$1" ;;
    *) printf 'ecr-login-%s.tar.gz\n' "$1" ;;
  esac
}

# The "<sha256>  <asset>" lines that the installer in REV pins for VERSION, sorted.
pins_at() { # REV VERSION
  git -C "$root" show "$1:scripts/install.sh" |
    awk -v v="$2" '/<<.PINNED.$/ { p = 1; next } /^PINNED$/ { p = 0 } p && $1 == v && NF == 3 { print $2 "  " $3 }' |
    sort
}

package() {
  [ "$#" -eq 2 ] || usage
  bins="$1"
  out="$2"
  mkdir -p "$out"
  [ -z "$(ls -A "$out")" ] || die "$out is not empty"
  out="$(cd "$out" && pwd)"
  # Reproducible archives: every timestamp is the commit's, owners are 0, names sorted.
  epoch="${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct)}"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  for target in $targets; do
    case "$target" in
      *-windows-*) member=ecr-login.exe ;;
      *) member=ecr-login ;;
    esac
    src="$bins/ecr-login-$target${member#ecr-login}"
    [ -f "$src" ] || die "no $src: a release has a binary for each of $targets"
    asset="$(asset_of "$target")"
    rm -rf "$work/stage"
    mkdir "$work/stage"
    cp "$src" "$work/stage/$member"
    chmod 0755 "$work/stage/$member"
    touch -d "@$epoch" "$work/stage/$member"
    case "$asset" in
      *.zip)
        (cd "$work/stage" && TZ=UTC zip -q -X "$out/$asset" "$member") || die "zip $asset failed"
        ;;
      *)
        tar --format=ustar --owner=0 --group=0 --numeric-owner --mode=0755 --mtime="@$epoch" \
          -C "$work/stage" -cf "$work/stage.tar" "$member" || die "tar $asset failed"
        gzip -n -c "$work/stage.tar" >"$out/$asset" || die "gzip $asset failed"
        ;;
    esac
    (cd "$out" && sha256_list "$asset" >"$asset.sha256")
  done
  (cd "$out" && cat ./*.sha256 >SHA256SUMS)
  rm -rf "$work"
  trap - EXIT
  say "packaged $(echo "$targets" | wc -w | tr -d ' ') archives in $out:"
  cat "$out/SHA256SUMS" >&2
}

pin() {
  [ "$#" -eq 2 ] || usage
  version="$(version_of "$1")"
  sums="$2"
  [ -f "$sums" ] || die "no $sums"
  [ -z "$(git -C "$root" status --porcelain --untracked-files=no)" ] ||
    die "the work tree has changes: the pin commit holds the release's checksums and nothing else"
  cargo="$(awk '/^\[/ { p = ($0 == "[package]") } p && /^version *=/ { gsub(/^version *= *"|"$/, ""); print; exit }' "$root/Cargo.toml")"
  [ "$cargo" = "$version" ] ||
    die "Cargo.toml says version $cargo, not $version: the binaries built from this commit report $cargo"
  for target in $targets; do
    asset="$(asset_of "$target")"
    awk -v a="$asset" '$2 == a || $2 == "*" a { found = 1 } END { exit !found }' "$sums" ||
      die "$sums has no checksum for $asset: a release has all of $targets"
  done
  sh "$root/scripts/pin-checksums.sh" "$version" "$sums"
  sh "$root/scripts/sync-installer.sh"
  sh "$root/scripts/sync-installer.sh" --check
  changed="$(git -C "$root" status --porcelain --untracked-files=no | awk '{ print $2 }')"
  for f in $changed; do
    case " $pinned_files " in
      *" $f "*) ;;
      *) die "pinning changed $f, which is none of the installer's copies" ;;
    esac
  done
  # shellcheck disable=SC2086 # the list of files, split on purpose
  git -C "$root" commit -q -m "Release v$version: pin its checksums in the installers" \
    -m "The SHA-256 of each release archive (SHA256SUMS), pinned in scripts/install.sh and in its copies (the Jenkins library's resource, the GitLab component) by scripts/release.sh pin; $version is now their default, and the orb's. The tag v$version points here, so every wrapper at that tag installs that release." \
    -- $pinned_files
  say "pinned ecr-login $version: $(git -C "$root" rev-parse HEAD) on top of $(git -C "$root" rev-parse HEAD^)"
}

tag() {
  [ "$#" -eq 1 ] || usage
  version="$(version_of "$1")"
  t="v$version"
  if git -C "$root" rev-parse -q --verify "refs/tags/$t" >/dev/null; then
    die "tag $t exists already: a release is tagged once"
  fi
  git -C "$root" show HEAD:scripts/install.sh | grep -qx "DEFAULT_VERSION=\"$version\"" ||
    die "HEAD's installer does not default to $version: run \`release.sh pin $version SHA256SUMS\` first"
  n="$(pins_at HEAD "$version" | wc -l | tr -d ' ')"
  [ "$n" -eq "$(echo "$targets" | wc -w)" ] ||
    die "HEAD's installer pins $n archives of $version, not one per target: run \`release.sh pin\` first"
  git -C "$root" tag -a "$t" -m "ecr-login $version" HEAD
  say "tagged $t: $(git -C "$root" rev-parse "$t^{commit}")"
}

push() {
  [ "$#" -eq 2 ] || usage
  remote="$1"
  version="$(version_of "$2")"
  git -C "$root" push -q "$remote" "refs/tags/v$version:refs/tags/v$version" ||
    die "could not push tag v$version to the remote"
  say "pushed tag v$version"
}

publish() {
  [ "$#" -ge 3 ] || usage
  version="$(version_of "$1")"
  dist="$2"
  mode="$3"
  t="v$version"
  git -C "$root" rev-parse -q --verify "refs/tags/$t^{commit}" >/dev/null || die "no tag $t"
  [ -f "$dist/SHA256SUMS" ] || die "no $dist/SHA256SUMS"
  # Exactly the archives that the tag's installer pins, and intact.
  [ "$(pins_at "$t" "$version")" = "$(sed 's/  \*/  /' "$dist/SHA256SUMS" | sort)" ] ||
    die "$dist/SHA256SUMS is not the list of archives that $t pins"
  (cd "$dist" && sha256_list -c SHA256SUMS >/dev/null) || die "an archive in $dist does not match SHA256SUMS"
  files="SHA256SUMS"
  # (Asset names have no spaces: pin-checksums.sh allows none.)
  assets="$(awk '{ sub(/^\*/, "", $2); print $2 }' "$dist/SHA256SUMS")"
  for asset in $assets; do
    [ "$(cat "$dist/$asset.sha256")" = "$(grep "  $asset\$" "$dist/SHA256SUMS")" ] ||
      die "$dist/$asset.sha256 disagrees with SHA256SUMS"
    files="$files $asset $asset.sha256"
  done
  case "$mode" in
    --to)
      [ "$#" -eq 4 ] || usage
      site="$4"
      [ ! -e "$site/$t" ] || die "$site/$t exists already: a published release never changes"
      mkdir -p "$site/.$t.partial"
      for f in $files; do cp "$dist/$f" "$site/.$t.partial/$f"; done
      mv "$site/.$t.partial" "$site/$t"
      say "published $t in $site/$t"
      ;;
    --github)
      [ "$#" -eq 3 ] || usage
      command -v gh >/dev/null 2>&1 || die "gh (the GitHub CLI) is not installed"
      prerelease=""
      case "$version" in *-*) prerelease="--prerelease" ;; esac
      # shellcheck disable=SC2086 # the file list and the optional flag, split on purpose
      (cd "$dist" && gh release create "$t" --verify-tag --title "ecr-login $version" --generate-notes $prerelease $files)
      say "published $t on GitHub"
      ;;
    *) usage ;;
  esac
}

# Succeeds when stable version $1 is at least $2 (X.Y.Z each).
at_least() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    split(a, x, "."); split(b, y, ".")
    for (i = 1; i <= 3; i++) { if (x[i] + 0 > y[i] + 0) exit 0; if (x[i] + 0 < y[i] + 0) exit 1 }
    exit 0
  }'
}

promote() {
  [ "$#" -eq 3 ] || usage
  remote="$1"
  version="$(version_of "$2")"
  branch="$3"
  t="v$version"
  major="v${version%%.*}"
  commit="$(git -C "$root" rev-parse "$t^{commit}")" || die "no tag $t"
  remote_tags="$(git -C "$root" ls-remote --tags --refs "$remote")" || die "cannot list the remote's tags"
  printf '%s\n' "$remote_tags" | awk -v r="refs/tags/$t" '$2 == r { f = 1 } END { exit !f }' ||
    die "the remote has no tag $t: push it first"
  case "$version" in
    *-*) say "$version is a prerelease: $major stays where it is" ;;
    *)
      newest="$(printf '%s\n' "$remote_tags" | awk -v m="${major#v}" '
        { sub(/^refs\/tags\/v/, "", $2) }
        $2 ~ /^[0-9]+\.[0-9]+\.[0-9]+$/ {
          split($2, p, ".")
          if (p[1] != m) next
          if (best == "" || p[2] + 0 > b2 || (p[2] + 0 == b2 && p[3] + 0 > b3)) { best = $2; b2 = p[2] + 0; b3 = p[3] + 0 }
        }
        END { print best }')"
      if [ -n "$newest" ] && ! at_least "$version" "$newest"; then
        say "$major stays at v$newest, newer than $version"
      else
        old="$(printf '%s\n' "$remote_tags" | awk -v r="refs/tags/$major" '$2 == r { print $1 }')"
        git -C "$root" tag -f "$major" "$commit" >/dev/null
        git -C "$root" push -q --force-with-lease="refs/tags/$major:$old" "$remote" "refs/tags/$major:refs/tags/$major" ||
          die "could not move $major on the remote"
        say "moved $major to $t ($commit)"
      fi
      ;;
  esac
  if git -C "$root" push -q "$remote" "$commit:refs/heads/$branch" 2>/dev/null; then
    say "$branch fast-forwarded to $t"
    echo "branch=$branch"
  else
    pr="pin-checksums-$t"
    git -C "$root" push -q "$remote" "$commit:refs/heads/$pr" || die "could not push $pr"
    say "$branch has moved on since $t's parent: merge $pr into it, so that its installer knows $version too"
    echo "branch=$pr"
  fi
}

gitlab_component() {
  case "$#" in 1 | 2) ;; *) usage ;; esac
  version="$(version_of "$1")"
  t="v$version"
  tree="$(git -C "$root" rev-parse "$t^{commit}:gitlab")" || die "no gitlab/ at $t"
  commit="$(git -C "$root" rev-parse "$t^{commit}")"
  parent="${2:-}"
  set -- "$tree"
  if [ -n "$parent" ]; then set -- "$@" -p "$(git -C "$root" rev-parse "$parent^{commit}")"; fi
  git -C "$root" commit-tree "$@" -m "ecr-login component $version" \
    -m "gitlab/ of ecr-login $t ($commit): tag this commit $version in the component project."
}

[ "$#" -ge 1 ] || usage
command="$1"
shift
case "$command" in
  package) package "$@" ;;
  pin) pin "$@" ;;
  tag) tag "$@" ;;
  push) push "$@" ;;
  publish) publish "$@" ;;
  promote) promote "$@" ;;
  gitlab-component) gitlab_component "$@" ;;
  *) usage ;;
esac
