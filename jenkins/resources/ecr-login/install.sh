#!/bin/sh
# Installs the ecr-login release for this OS and CPU: downloads its archive (.tar.gz; .zip for
# Windows), checks the archive's SHA-256 against the checksums pinned below, unpacks the binary
# and caches it. One script for every wrapper: the GitHub action runs it, the GitLab component,
# the CircleCI orb and the Jenkins library embed it verbatim. The release (scripts/release.sh
# pin) pins each release's checksums here in the very commit it tags, so the installer at tag
# vX.Y.Z, and every wrapper at that tag, installs X.Y.Z by default.
#
# Settings (environment):
#   ECR_LOGIN_VERSION      release to install (default: the one this script pins)
#   ECR_LOGIN_BASE_URL     where releases live (https:// only); the asset URL is
#                          <base>/v<version>/<asset>
#   ECR_LOGIN_INSTALL_DIR  where to put it (default: the GitHub tool cache, else
#                          ${XDG_CACHE_HOME:-$HOME/.cache}/ecr-login/<version>); it must be
#                          yours and not writable by others, nor may any directory above it
#                          be (unless sticky, like /tmp)
#   ECR_LOGIN_CHECKSUMS_FILE  extra "<version> <sha256> <asset>" lines (mirrors, tests)
#   ECR_LOGIN_OS, ECR_LOGIN_ARCH  override what `uname` says
# Needs curl, sha256sum (or shasum), tar and gzip; for Windows, unzip (Git for Windows has it).
# Prints the installed binary's path as the last line of stdout. Exit 0 on success, 9 when
# ecr-login could not be installed (download, checksum, unpack, unsupported OS/CPU, install
# directory), whatever failed: ecr-login's own exit codes are 0-8, so 9 always means this.
set -eu

DEFAULT_VERSION="0.1.0"
DEFAULT_BASE_URL="https://github.com/ecr-login/ecr-login/releases/download"

# Pinned checksums: "<version> <sha256> <asset>". scripts/release.sh pin adds each release's.
pinned_checksums() {
  cat <<'PINNED'
PINNED
}

# Every way out but success is exit 9, and the temporary directory goes with it.
tmp=""
finish() {
  status=$?
  if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
  if [ "$status" -ne 0 ]; then exit 9; fi
}
trap finish EXIT
trap 'exit 9' HUP INT TERM

say() { printf 'ecr-login install: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 9; }

version="${ECR_LOGIN_VERSION:-$DEFAULT_VERSION}"
version="${version#v}"
case "$version" in
  "" | *[!0-9A-Za-z.+-]*) die "ECR_LOGIN_VERSION must be a release version like $DEFAULT_VERSION, not $version" ;;
esac
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
  x86_64 | amd64 | AMD64 | X64) arch=x86_64 ;;
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
# The archive holds one file, the binary, named as installed.
if [ "$os" = windows ]; then
  member="ecr-login.exe"
  asset="ecr-login-$target.zip"
else
  member="ecr-login"
  asset="ecr-login-$target.tar.gz"
fi

want=$(
  {
    pinned_checksums
    if [ -n "${ECR_LOGIN_CHECKSUMS_FILE:-}" ]; then cat "$ECR_LOGIN_CHECKSUMS_FILE"; fi
  } | awk -v v="$version" -v a="$asset" '$1 == v && $3 == a { print $2; exit }'
)
[ -n "$want" ] || die "no pinned checksum for ecr-login $version ($asset): this installer does not know that release; pin the wrapper to the release's tag (its installer pins it), or set ECR_LOGIN_VERSION to a release this one knows (default $DEFAULT_VERSION)"

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
bin="$dir/$member"
# What was installed: "<archive sha256> <binary sha256>", so that a cached binary is reused only
# when it came from the archive pinned now and is unchanged since.
record="$dir/.ecr-login.verified"

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
# Nor may any directory above it be writable by others, unless sticky: they could rename the
# install directory away and put their own, with their binary, in its place. Walked from the
# install directory's parent up to /, as named (following symlinks, `ls -L`) and along the
# physical path (`pwd -P`) of its nearest existing directory, before anything is created.
parents_private() { # DIR: fails if a directory above DIR, up to /, is writable by others
  d="$1"
  while [ "$d" != / ]; do
    while [ "${d%/}" != "$d" ]; do d="${d%/}"; done
    d="${d%/*}"
    [ -n "$d" ] || d=/
    [ -d "$d" ] || continue
    # shellcheck disable=SC2012 # as in private()
    info="$(ls -ldnL "$d")" || die "cannot read the mode of $d"
    mode="${info%% *}"
    case "$mode" in
      d????????[tT]*) ;;
      ?????w* | ????????w*)
        die "the directory $d above the install directory $dir is writable by other users ($mode) and not sticky: another user could replace ecr-login by renaming the directories below it and putting their own in their place; chmod go-w $d (or chmod +t $d, like /tmp), or set ECR_LOGIN_INSTALL_DIR to a directory whose parents only you and root can write"
        ;;
    esac
  done
}
case "$dir" in
  /*) parents_private "$dir" ;;
  *) parents_private "$PWD/$dir" ;;
esac
existing="$dir"
while [ ! -d "$existing" ]; do existing="$(dirname "$existing")"; done
physical="$(cd "$existing" && pwd -P)" || die "cannot enter $existing"
if [ "$existing" = "$dir" ]; then
  parents_private "$physical"
else
  parents_private "$physical/." # the directory the new ones go in, too
fi
(umask 022 && mkdir -p "$dir") || die "cannot create the install directory $dir"
private "$dir" "the install directory"

# Cached, from the pinned archive and intact: nothing to download.
if [ -f "$bin" ] && [ ! -L "$bin" ]; then
  private "$bin" "the cached binary"
  if [ -f "$record" ] && [ ! -L "$record" ]; then
    private "$record" "the record of the cached binary"
    cached_archive="" cached_binary=""
    read -r cached_archive cached_binary <"$record" || true
    if [ "$cached_archive" = "$want" ] && [ "$(sha256 "$bin")" = "$cached_binary" ]; then
      say "using cached $bin"
      printf '%s\n' "$bin"
      exit 0
    fi
  fi
fi

command -v curl >/dev/null 2>&1 || die "curl is not installed"
# A new directory of ours with an unpredictable name, next to the binary: the final rename is
# atomic, and nothing planted in the install directory beforehand (a symlink) is followed.
tmp="$(mktemp -d "$dir/.ecr-login.XXXXXXXX")" || die "cannot create a temporary directory in $dir"
url="$base_url/v$version/$asset"
say "downloading $url"
curl --proto '=https' --tlsv1.2 --fail --silent --show-error --location \
  --retry 5 --retry-delay 1 --retry-connrefused --connect-timeout 10 --max-time 300 \
  --output "$tmp/$asset" "$url" || die "download of $url failed"

got="$(sha256 "$tmp/$asset")"
[ "$got" = "$want" ] || die "checksum mismatch: want $want got $got ($url); nothing was installed"

# Only the verified archive is unpacked, and only its one member. `tar -o` keeps the files
# ours (GNU tar, bsdtar and BusyBox alike) instead of the archive's owner when run as root.
mkdir "$tmp/unpacked"
case "$asset" in
  *.zip)
    command -v unzip >/dev/null 2>&1 ||
      die "unzip is not installed: it unpacks the Windows release (Git for Windows has it)"
    unzip -q "$tmp/$asset" "$member" -d "$tmp/unpacked" >&2 || die "cannot unpack $asset; nothing was installed"
    ;;
  *)
    tar -xzof "$tmp/$asset" -C "$tmp/unpacked" "$member" >&2 || die "cannot unpack $asset; nothing was installed"
    ;;
esac
unpacked="$tmp/unpacked/$member"
if [ ! -f "$unpacked" ] || [ -L "$unpacked" ]; then
  die "$asset holds no file $member; nothing was installed"
fi
chmod 0755 "$unpacked" || die "cannot make $member executable"
printf '%s %s\n' "$want" "$(sha256 "$unpacked")" >"$tmp/verified" || die "cannot write to $tmp"

# The verified file is the one that is moved into place: nobody else can write it meanwhile.
mv -f "$unpacked" "$bin" || die "cannot move ecr-login into $dir"
mv -f "$tmp/verified" "$record" || die "cannot write $record"
say "installed ecr-login $version at $bin"
printf '%s\n' "$bin"
