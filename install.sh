#!/bin/sh
# CodeTether installer: downloads the `codetether` binary for this machine, verifies its
# SHA-256 against the release's SHA256SUMS and installs it. POSIX sh (dash, busybox ash, bash).
#
#   curl -fsSL https://github.com/codetether/codetether/releases/latest/download/install.sh | sh
#   sh install.sh [--version V] [--base-url URL] [--prefix DIR] [--modify-path]
#   sudo sh install.sh --system --server http://ct.example:8000 [--name N] [--codebase name:/path]...
#   sh install.sh --uninstall [--purge] [--system]
#
# Download layout (any static HTTP server works; `scripts/release --out DIR` writes the files):
#   $BASE/$VERSION/codetether-<os>-<arch>[-musl][-baseline]   e.g. codetether-linux-x64-musl
#   $BASE/$VERSION/SHA256SUMS                                   sha256sum format, must list the file
#   $BASE/$VERSION/a2a-agent-worker.service                     (--system only)
# VERSION defaults to "latest". BASE comes from --base-url, else $CODETETHER_DOWNLOAD_URL, else
# DEFAULT_BASE_URL below. For a GitHub releases base (.../releases/download) "latest" maps to
# GitHub's .../releases/latest/download/<file>; other versions are tag names (e.g. v0.1.0).
#
# INSTALL_ROOT (environment) prefixes every system path of --system/--uninstall --system, so
# a test or an image build can install into a directory. With INSTALL_ROOT set the installer
# never creates users, never chowns and never calls systemctl on this host.
set -eu

# Placeholder until the project's release repository is final; override with --base-url.
DEFAULT_BASE_URL="https://github.com/codetether/codetether/releases/download"
UNIT=a2a-agent-worker.service
MARK="# codetether-installer"

say() { printf 'codetether-install: %s\n' "$*"; }
warn() { printf 'codetether-install: warning: %s\n' "$*" >&2; }
die() { printf 'codetether-install: error: %s\n' "$*" >&2; exit 1; }
usage_die() { printf 'codetether-install: error: %s (see --help)\n' "$*" >&2; exit 2; }
has() { command -v "$1" >/dev/null 2>&1; }

usage() {
  sed -n '2,20p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//' || true
  cat <<'EOF'
Options:
  --version V        release to install (default: latest)
  --base-url URL     download base (default: $CODETETHER_DOWNLOAD_URL or the GitHub releases URL)
  --prefix DIR       install to DIR/bin (default: ~/.codetether)
  --modify-path      append the PATH line to your shell's rc file
  --print-asset      print the file name chosen for this machine and exit
  --uninstall        remove the binary (config and data are kept)
  --purge            with --uninstall: also remove config and data
  --system           (root) install to /usr/local/bin with the a2a-agent-worker systemd service
  --server URL       --system: server_url for a new /etc/a2a-worker/config.json
  --name NAME        --system: worker_name (default: this host's name)
  --codebase N:PATH  --system: a codebase to serve (repeatable)
EOF
}

base_url=${CODETETHER_DOWNLOAD_URL:-$DEFAULT_BASE_URL}
version=${CODETETHER_VERSION:-latest}
prefix="" modify_path=0 print_asset=0 uninstall=0 purge=0 system=0
server="" name="" codebases=""
need() { [ $# -ge 2 ] && [ -n "$2" ] || usage_die "$1 needs a value"; }
while [ $# -gt 0 ]; do
  case $1 in
    --version) need "$@"; version=$2; shift ;;
    --base-url) need "$@"; base_url=$2; shift ;;
    --prefix) need "$@"; prefix=$2; shift ;;
    --server) need "$@"; server=$2; shift ;;
    --name) need "$@"; name=$2; shift ;;
    --codebase) need "$@"; codebases="$codebases
$2"; shift ;;
    --version=*|--base-url=*|--prefix=*|--server=*|--name=*|--codebase=*)
      k=${1%%=*}; v=${1#*=}; shift; set -- "$k" "$v" "$@"; continue ;;
    --modify-path) modify_path=1 ;;
    --print-asset) print_asset=1 ;;
    --uninstall) uninstall=1 ;;
    --purge) purge=1 ;;
    --system) system=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage_die "unknown option: $1" ;;
  esac
  shift
done
base_url=${base_url%/}
[ "$purge" = 0 ] || [ "$uninstall" = 1 ] || usage_die "--purge only goes with --uninstall"
if [ "$system" = 0 ] && { [ -n "$server" ] || [ -n "$name" ] || [ -n "$codebases" ]; }; then
  usage_die "--server, --name and --codebase only go with --system"
fi
[ "$system" = 0 ] || [ -z "$prefix" ] || usage_die "--prefix cannot be used with --system (the unit runs /usr/local/bin/codetether)"

# ---- platform -> asset name ------------------------------------------------------------
detect_asset() {
  case $(uname -s) in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "unsupported OS $(uname -s): only Linux and macOS binaries are published" ;;
  esac
  case $(uname -m) in
    x86_64|amd64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) die "unsupported CPU $(uname -m): binaries exist for x86_64 and arm64" ;;
  esac
  # A shell under Rosetta reports x86_64 on Apple silicon; the native build is better.
  if [ "$os" = darwin ] && [ "$arch" = x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)" = 1 ]; then
    arch=arm64
  fi
  suffix=""
  if [ "$os" = linux ]; then
    if ls /lib/ld-musl-* >/dev/null 2>&1 || { has ldd && ldd --version 2>&1 | grep -qi musl; }; then
      suffix=-musl
    fi
  fi
  # The default x64 builds need AVX2 (Haswell, 2013+); older CPUs get the -baseline build.
  if [ "$arch" = x64 ]; then
    if [ "$os" = linux ]; then
      grep -qw avx2 /proc/cpuinfo 2>/dev/null || suffix="$suffix-baseline"
    else
      [ "$(sysctl -n hw.optional.avx2_0 2>/dev/null || echo 0)" = 1 ] || suffix="$suffix-baseline"
    fi
  fi
  echo "codetether-$os-$arch$suffix"
}

# ---- download + verify -----------------------------------------------------------------
url_of() {
  case $base_url in
    https://github.com/*/releases/download)
      if [ "$version" = latest ]; then echo "${base_url%/download}/latest/download/$1"; return; fi ;;
  esac
  echo "$base_url/$version/$1"
}

fetch() { # url dest
  # file:// is a local release (scripts/release --out DIR), e.g. for an air-gapped machine
  case $1 in file://*) cp "${1#file://}" "$2"; return ;; esac
  if has curl; then curl -fsSL --retry 3 --connect-timeout 20 -o "$2" "$1"
  elif has wget; then wget -q -O "$2" "$1"
  else die "need curl or wget to download"; fi
}

sha256_tool() {
  if has sha256sum; then echo sha256sum
  elif has shasum; then echo "shasum -a 256"
  else die "need sha256sum or shasum to verify the download; nothing installed"; fi
}

# Downloads $1 into $tmp and checks it against $tmp/SHA256SUMS; refuses on any doubt.
fetch_verified() {
  fetch "$(url_of "$1")" "$tmp/$1" || die "download failed: $(url_of "$1"); nothing installed"
  expected=$(awk -v f="$1" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/SHA256SUMS")
  [ -n "$expected" ] || die "SHA256SUMS has no line for $1; refusing to install"
  actual=$($sha "$tmp/$1" | awk '{ print $1 }')
  expected=$(printf '%s' "$expected" | tr 'A-F' 'a-f')
  [ "$expected" = "$actual" ] || die "checksum mismatch for $1 (expected $expected, got $actual); refusing to install"
}

tmp="" staged="" made_dirs=""
cleanup() {
  [ -z "$tmp" ] || rm -rf "$tmp"
  [ -z "$staged" ] || rm -f "$staged"
  for d in $made_dirs; do rmdir "$d" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# mkdir -p that remembers what it created, so a refused install leaves nothing behind.
mkdirs() {
  missing="" d=$1
  while [ ! -d "$d" ]; do missing="$d $missing"; d=$(dirname "$d"); done
  mkdir -p "$1"
  for d in $missing; do made_dirs="$d $made_dirs"; done
}

# Puts the verified binary at $1 atomically: stage next to it (same filesystem), check it
# runs, rename over the old one. A running worker keeps its old inode until restarted.
install_binary() {
  dest=$1
  mkdirs "$(dirname "$dest")"
  staged="$(dirname "$dest")/.codetether.new.$$"
  cp "$tmp/$asset" "$staged"
  chmod 0755 "$staged"
  new_version=$("$staged" --version 2>/dev/null) ||
    die "the downloaded $asset does not run on this machine (wrong build?); nothing installed"
  old_version=""
  [ ! -x "$dest" ] || old_version=$("$dest" --version 2>/dev/null || echo unknown)
  mv -f "$staged" "$dest"
  staged="" made_dirs=""
  if [ -n "$old_version" ] && [ "$old_version" = "$new_version" ]; then
    say "reinstalled codetether $new_version at $dest"
  elif [ -n "$old_version" ]; then
    say "upgraded codetether $old_version -> $new_version at $dest"
  else
    say "installed codetether $new_version at $dest"
  fi
}

download_release() { # files beyond the binary...
  sha=$(sha256_tool)
  tmp=$(mktemp -d 2>/dev/null || mktemp -d -t codetether)
  say "downloading $asset ($version) from $base_url"
  fetch "$(url_of SHA256SUMS)" "$tmp/SHA256SUMS" || die "download failed: $(url_of SHA256SUMS); nothing installed"
  for f in "$asset" "$@"; do fetch_verified "$f"; done
  say "sha256 verified"
}

# ---- per-user install ------------------------------------------------------------------
user_prefix=${prefix:-$HOME/.codetether}
user_bin="$user_prefix/bin"

rc_file() {
  case ${SHELL:-} in
    */zsh) echo "${ZDOTDIR:-$HOME}/.zshrc" ;;
    */bash) if [ "$(uname -s)" = Darwin ]; then echo "$HOME/.bash_profile"; else echo "$HOME/.bashrc"; fi ;;
    */fish) echo "$HOME/.config/fish/config.fish" ;;
    *) echo "$HOME/.profile" ;;
  esac
}
path_line() {
  case ${SHELL:-} in
    */fish) echo "set -gx PATH \"$user_bin\" \$PATH $MARK" ;;
    *) echo "export PATH=\"$user_bin:\$PATH\" $MARK" ;;
  esac
}

user_install() {
  download_release
  install_binary "$user_bin/codetether"
  rc=$(rc_file) line=$(path_line)
  if [ "$modify_path" = 1 ]; then
    if [ -f "$rc" ] && grep -qF "$line" "$rc"; then
      say "$rc already puts $user_bin on PATH"
    else
      mkdir -p "$(dirname "$rc")"
      printf '\n%s\n' "$line" >>"$rc"
      say "added $user_bin to PATH in $rc (open a new shell or: . $rc)"
    fi
  else
    case ":${PATH:-}:" in
      *":$user_bin:"*) ;;
      *) say "add it to your PATH (or re-run with --modify-path):"
         printf '  %s\n' "${line% "$MARK"}" ;;
    esac
  fi
  say "config and data are never touched by re-running (upgrade) or --uninstall"
}

user_uninstall() {
  if [ -e "$user_bin/codetether" ]; then rm -f "$user_bin/codetether"; say "removed $user_bin/codetether"
  else say "nothing to remove at $user_bin/codetether"; fi
  for rc in "$HOME/.profile" "$HOME/.bashrc" "$HOME/.bash_profile" "${ZDOTDIR:-$HOME}/.zshrc" "$HOME/.config/fish/config.fish"; do
    if [ -f "$rc" ] && grep -qF "$MARK" "$rc"; then
      grep -vF "$MARK" "$rc" >"$rc.codetether.tmp" || true
      cat "$rc.codetether.tmp" >"$rc" && rm -f "$rc.codetether.tmp"
      say "removed the PATH line from $rc"
    fi
  done
  rmdir "$user_bin" "$user_prefix" 2>/dev/null || true
  # Where `codetether` looks for them (src/config/resolve.ts, KEYS.data_dir default).
  config_dir="$HOME/.config/a2a-worker"
  data_dir="${XDG_STATE_HOME:-$HOME/.local/state}/codetether"
  if [ "$purge" = 1 ]; then
    rm -rf "$config_dir" "$data_dir"
    [ -n "$prefix" ] || rm -rf "$user_prefix"
    say "purged $config_dir and $data_dir"
  else
    say "kept config ($config_dir) and data ($data_dir); --purge removes them"
  fi
}

# ---- system install (root) ---------------------------------------------------------------
R=${INSTALL_ROOT:-}
R=${R%/}
SYS_BIN="$R/usr/local/bin/codetether"
ETC="$R/etc/a2a-worker"
DATA="$R/var/lib/a2a-worker"
UNIT_DIR="$R/etc/systemd/system"
can_own=0  # 1 when we may create the a2a-worker user and chown to it

json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

write_config() {
  cfg="$ETC/config.json"
  if [ -e "$cfg" ]; then
    say "kept existing $cfg"
    if [ -n "$server$name$codebases" ]; then say "  (--server/--name/--codebase apply only when it is created; edit it instead)"; fi
    return
  fi
  [ -n "$server" ] || warn "no --server given: server_url is http://127.0.0.1:8000; edit $cfg"
  case ${server:-http://} in http://*|https://*) ;; *) die "--server must be an http(s) URL like http://host:8000, got '$server'" ;; esac
  entries="" rw=""
  old_ifs=$IFS; IFS='
'
  set -f  # paths are data, not globs
  for cb in $codebases; do
    cb_name=${cb%%:*} cb_path=${cb#*:}
    [ "$cb_name" != "$cb" ] && [ -n "$cb_name" ] || die "--codebase must be name:/absolute/path, got '$cb'"
    case $cb_path in /*) ;; *) die "--codebase path must be absolute, got '$cb'" ;; esac
    entries="$entries${entries:+,}
    {\"name\": $(json_str "$cb_name"), \"path\": $(json_str "$cb_path")}"
    case $cb_path in /var/lib/a2a-worker|/var/lib/a2a-worker/*) ;; *) rw="$rw -$cb_path" ;; esac
  done
  IFS=$old_ifs
  set +f
  (umask 027 && cat >"$cfg" <<EOF
{
  "server_url": $(json_str "${server:-http://127.0.0.1:8000}"),
  "worker_name": $(json_str "${name:-$(uname -n)}"),
  "data_dir": "/var/lib/a2a-worker",
  "codebases": [${entries}${entries:+
  }]
}
EOF
  )
  chmod 0640 "$cfg"
  [ "$can_own" = 0 ] || chown root:a2a-worker "$cfg"
  say "wrote $cfg (0640)"
  if [ -n "$rw" ]; then
    mkdir -p "$UNIT_DIR/$UNIT.d"
    printf '# Written by install.sh: codebases must be writable under ProtectSystem=strict.\n# A leading "-" skips a path that does not exist.\n[Service]\nReadWritePaths=%s\n' "${rw# }" >"$UNIT_DIR/$UNIT.d/codebases.conf"
    say "wrote $UNIT_DIR/$UNIT.d/codebases.conf; make the codebases writable: chown -R a2a-worker:a2a-worker <path>"
  fi
}

write_env() {
  envf="$ETC/env"
  if [ -e "$envf" ]; then say "kept existing $envf"; return; fi
  (umask 027 && {
    echo "# Secrets for $UNIT (systemd EnvironmentFile). Keep mode 0640 root:a2a-worker."
    if [ -n "${A2A_AUTH_TOKEN:-}" ]; then echo "A2A_AUTH_TOKEN=$A2A_AUTH_TOKEN"; else echo "#A2A_AUTH_TOKEN="; fi
    echo "# Model provider keys OpenCode reads, for example:"
    echo "#ANTHROPIC_API_KEY="
    echo "#OPENAI_API_KEY="
  } >"$envf")
  chmod 0640 "$envf"
  [ "$can_own" = 0 ] || chown root:a2a-worker "$envf"
  say "wrote $envf (0640): put A2A_AUTH_TOKEN and provider keys there"
}

ensure_user() {
  if [ -n "$R" ]; then
    say "INSTALL_ROOT is set: not creating the a2a-worker user and not changing owners on this host"
    return
  fi
  if [ "$(id -u)" != 0 ]; then say "not root: skipped creating the a2a-worker user and chown"; return; fi
  if id a2a-worker >/dev/null 2>&1; then can_own=1; return; fi
  nologin=/usr/sbin/nologin
  [ -x "$nologin" ] || nologin=/sbin/nologin
  [ -x "$nologin" ] || nologin=/bin/false
  if has useradd; then
    useradd --system --user-group --home-dir /var/lib/a2a-worker --no-create-home --shell "$nologin" a2a-worker
  elif has adduser && has addgroup; then  # Alpine / BusyBox
    addgroup -S a2a-worker && adduser -S -D -H -h /var/lib/a2a-worker -s "$nologin" -G a2a-worker a2a-worker
  else
    say "no useradd or adduser: skipped creating the a2a-worker user and chown; create it yourself"
    return
  fi
  can_own=1
  say "created system user a2a-worker"
}

systemd_live() { [ -z "$R" ] && [ -d /run/systemd/system ] && has systemctl; }

system_install() {
  if [ "$(id -u)" != 0 ] && [ -z "$R" ]; then die "--system needs root (sudo sh install.sh --system ...); without it the default installs to ~/.codetether/bin"; fi
  download_release "$UNIT"
  ensure_user
  install_binary "$SYS_BIN"
  mkdir -p "$ETC" "$DATA" "$UNIT_DIR"
  chmod 0750 "$ETC" "$DATA"
  if [ "$can_own" = 1 ]; then chown root:a2a-worker "$ETC"; chown a2a-worker:a2a-worker "$DATA"; fi
  write_config
  write_env
  cp "$tmp/$UNIT" "$UNIT_DIR/.$UNIT.new"
  chmod 0644 "$UNIT_DIR/.$UNIT.new"
  mv -f "$UNIT_DIR/.$UNIT.new" "$UNIT_DIR/$UNIT"
  say "installed $UNIT_DIR/$UNIT"
  if systemd_live; then
    systemctl daemon-reload
    if systemctl enable "$UNIT" >/dev/null 2>&1; then say "enabled $UNIT"; else warn "systemctl enable $UNIT failed"; fi
    if systemctl is-active --quiet "$UNIT"; then
      say "restart to run the new binary: systemctl restart a2a-agent-worker"
    else
      say "start it: systemctl start a2a-agent-worker   (logs: journalctl -u a2a-agent-worker -f)"
    fi
  else
    say "systemd is not running here${R:+ (or INSTALL_ROOT is set)}: skipped daemon-reload and enable."
    say "on the target: systemctl daemon-reload && systemctl enable --now a2a-agent-worker"
  fi
}

system_uninstall() {
  if [ "$(id -u)" != 0 ] && [ -z "$R" ]; then die "--uninstall --system needs root"; fi
  if systemd_live; then systemctl disable --now "$UNIT" >/dev/null 2>&1 || true; fi
  rm -f "$SYS_BIN" "$UNIT_DIR/$UNIT"
  say "removed $SYS_BIN and $UNIT_DIR/$UNIT"
  if [ "$purge" = 1 ]; then
    rm -rf "$ETC" "$DATA" "$UNIT_DIR/$UNIT.d"
    say "purged $ETC, $DATA and $UNIT_DIR/$UNIT.d"
    if [ -z "$R" ] && [ "$(id -u)" = 0 ] && id a2a-worker >/dev/null 2>&1; then
      if has userdel; then userdel a2a-worker; elif has deluser; then deluser a2a-worker; fi
      say "removed user a2a-worker"
    fi
  else
    say "kept $ETC and $DATA; --purge removes them"
  fi
  if systemd_live; then systemctl daemon-reload; fi
}

# ---- main ------------------------------------------------------------------------------
asset=$(detect_asset)
if [ "$print_asset" = 1 ]; then echo "$asset"; exit 0; fi
if [ "$uninstall" = 1 ]; then
  if [ "$system" = 1 ]; then system_uninstall; else user_uninstall; fi
elif [ "$system" = 1 ]; then
  system_install
else
  user_install
fi
