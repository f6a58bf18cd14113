#!/bin/sh
# Installs the ecr-login release binary for this OS and CPU, after checking its SHA-256
# against the checksums pinned below (the release workflow adds each release's). One script
# for every wrapper: the GitHub action runs it, the GitLab component, the CircleCI orb and the
# Jenkins library embed it verbatim.
#
# Settings (environment):
#   ECR_LOGIN_VERSION      release to install (default: the one this script pins)
#   ECR_LOGIN_BASE_URL     where releases live (https:// only); the asset URL is
#                          <base>/v<version>/<asset>
#   ECR_LOGIN_INSTALL_DIR  where to put it (default: the GitHub tool cache, else
#                          ${XDG_CACHE_HOME:-$HOME/.cache}/ecr-login/<version>); it must be
#                          yours and not writable by others (unless sticky, like /tmp)
#   ECR_LOGIN_CHECKSUMS_FILE  extra "<version> <sha256> <asset>" lines (mirrors, tests)
#   ECR_LOGIN_OS, ECR_LOGIN_ARCH  override what `uname` says
# Prints the installed binary's path as the last line of stdout. Exit 0 on success.
set -eu

DEFAULT_VERSION="0.1.0"
DEFAULT_BASE_URL="https://github.com/ecr-login/ecr-login/releases/download"

# Pinned checksums: "<version> <sha256> <asset>". The release workflow appends each release's.
pinned_checksums() {
  cat <<'PINNED'
PINNED
}

say() { printf 'ecr-login install: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

version="${ECR_LOGIN_VERSION:-$DEFAULT_VERSION}"
version="${version#v}"
base_url="${ECR_LOGIN_BASE_URL:-$DEFAULT_BASE_URL}"
base_url="${base_url%/}"
case "$base_url" in
  https://*) ;;
  *) die "ECR_LOGIN_BASE_URL must be an https:// URL, not $base_url: the binary is only downloaded over TLS" ;;
esac

os="${ECR_LOGIN_OS:-$(uname -s)}"
arch="${ECR_LOGIN_ARCH:-$(uname -m)}"
case "$os" in
  Linux | linux) os=linux ;;
  Darwin | darwin | macOS) os=macos ;;
  MINGW* | MSYS* | CYGWIN* | Windows_NT | windows) os=windows ;;
  *) os="unsupported:$os" ;;
esac
case "$arch" in
  x86_64 | amd64 | X64) arch=x86_64 ;;
  aarch64 | arm64 | ARM64) arch=aarch64 ;;
  *) arch="unsupported:$arch" ;;
esac
case "$os/$arch" in
  linux/x86_64) target=x86_64-unknown-linux-musl ;;
  linux/aarch64) target=aarch64-unknown-linux-musl ;;
  macos/x86_64) target=x86_64-apple-darwin ;;
  macos/aarch64) target=aarch64-apple-darwin ;;
  windows/x86_64) target=x86_64-pc-windows-msvc ;;
  *)
    die "unsupported platform ${ECR_LOGIN_OS:-$(uname -s)}/${ECR_LOGIN_ARCH:-$(uname -m)}; releases exist for Linux x86_64/arm64, macOS x86_64/arm64 and Windows x86_64 (elsewhere: cargo build --release)"
    ;;
esac
exe=""
[ "$os" = windows ] && exe=".exe"
asset="ecr-login-$target$exe"

want=$(
  {
    pinned_checksums
    if [ -n "${ECR_LOGIN_CHECKSUMS_FILE:-}" ]; then cat "$ECR_LOGIN_CHECKSUMS_FILE"; fi
  } | awk -v v="$version" -v a="$asset" '$1 == v && $3 == a { print $2; exit }'
)
[ -n "$want" ] || die "no pinned checksum for ecr-login $version ($asset): this installer does not know that release; use a newer installer or pin ECR_LOGIN_VERSION to a release it knows"

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | awk '{ print $1 }'
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | awk '{ print $1 }'
  else
    die "neither sha256sum nor shasum is installed: cannot verify the download"
  fi
}

if [ -n "${ECR_LOGIN_INSTALL_DIR:-}" ]; then
  dir="$ECR_LOGIN_INSTALL_DIR"
elif [ -n "${RUNNER_TOOL_CACHE:-}" ]; then
  dir="$RUNNER_TOOL_CACHE/ecr-login/$version/$arch"
else
  dir="${XDG_CACHE_HOME:-$HOME/.cache}/ecr-login/$version"
fi
bin="$dir/ecr-login$exe"

# The install directory must be ours and writable by nobody else (or sticky, like /tmp):
# otherwise another user could swap the binary between its check and its run. `ls -ldn` is
# portable (POSIX sh on Linux and macOS): mode in field 1, numeric owner in field 3.
me="$(id -u)"
private() { # PATH WHAT: fails unless PATH is owned by us and not writable by group or others
  # shellcheck disable=SC2012 # ls -ldn's mode and owner fields are portable; stat's flags are not
  info="$(ls -ldn "$1")" || die "cannot read the owner of $1"
  mode="${info%% *}"
  owner="$(printf '%s\n' "$info" | awk '{ print $3 }')"
  [ "$owner" = "$me" ] ||
    die "$2 $1 is owned by uid $owner, not by you (uid $me): its owner could replace ecr-login there; set ECR_LOGIN_INSTALL_DIR to a directory of your own"
  case "$mode" in
    ?????w* | ????????w*)
      case "$mode" in
        d????????[tT]*) ;;
        *) die "$2 $1 is writable by other users ($mode): they could replace ecr-login there; chmod go-w it, or set ECR_LOGIN_INSTALL_DIR to a directory of your own" ;;
      esac
      ;;
  esac
}
(umask 022 && mkdir -p "$dir") || die "cannot create the install directory $dir"
private "$dir" "the install directory"

# Cached and intact: nothing to download.
if [ -f "$bin" ] && [ ! -L "$bin" ]; then
  private "$bin" "the cached binary"
  if [ "$(sha256 "$bin")" = "$want" ]; then
    say "using cached $bin"
    printf '%s\n' "$bin"
    exit 0
  fi
fi

command -v curl >/dev/null 2>&1 || die "curl is not installed"
# A new file of ours with an unpredictable name, next to the binary: the final rename is
# atomic, and nothing planted in the directory beforehand (a symlink) is followed.
tmp="$(mktemp "$dir/.ecr-login.XXXXXXXX")" || die "cannot create a temporary file in $dir"
trap 'rm -f "$tmp"' EXIT
trap 'exit 1' INT TERM
url="$base_url/v$version/$asset"
say "downloading $url"
curl --proto '=https' --tlsv1.2 --fail --silent --show-error --location \
  --retry 5 --retry-delay 1 --retry-connrefused --connect-timeout 10 --max-time 300 \
  --output "$tmp" "$url" || die "download of $url failed"

got="$(sha256 "$tmp")"
[ "$got" = "$want" ] || die "checksum mismatch: want $want got $got ($url); nothing was installed"

# The verified file is the one that is moved into place: nobody else can write it meanwhile.
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
trap - EXIT INT TERM
say "installed ecr-login $version at $bin"
printf '%s\n' "$bin"
