#!/usr/bin/env bash
# Install or upgrade streamserver as a systemd service (README.md, "Deploy to a Pi").
#
# Run it as your normal user from a checkout of the repository: it builds as
# you and uses sudo only for the steps that change the system. Running it
# again upgrades in place and never touches an existing config.
set -euo pipefail

readonly SERVICE=streamserver.service
readonly SERVICE_USER=streamserver
readonly DEVICE_GROUP=video
readonly BIN_DEST=/usr/local/bin/streamserver
readonly HELPER_DEST=/usr/local/bin/streamserver-camera
readonly UNIT_DEST=/etc/systemd/system/$SERVICE
readonly CONF_DIR=/etc/streamserver
readonly CONF_DEST=$CONF_DIR/config.toml
readonly LOG_DIR=/var/log/streamserver
readonly STATE_DIR=/var/lib/streamserver
readonly DEFAULT_PORT=8080

# Needed to build on the Pi (turbojpeg builds libjpeg-turbo with cmake+nasm; the
# camera helper's libcamera bindings need clang, pkg-config and libcamera-dev).
readonly BUILD_DEPS=(build-essential cmake nasm pkg-config clang libclang-dev libcamera-dev)
# Needed to run: libcamera and its IPA modules (libcamera-ipa pulls in the
# versioned libcamera library, whatever its soname on this release).
readonly RUNTIME_DEPS=(libcamera-ipa)

# Every installed path is prefixed with this. Only the files move: apt-get,
# useradd and systemctl still act on this machine, so a test harness that sets
# it must also put fakes of those tools first on PATH.
ROOT=${STREAMSERVER_ROOT:-}
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly ROOT SCRIPT_DIR

usage() {
    cat <<EOF
Usage: ./install-service.sh [--binary PATH] [--camera-binary PATH]
       ./install-service.sh --camera-helper-only [--camera-binary PATH]

Installs streamserver as the systemd service $SERVICE, or upgrades it.

  - installs the apt packages needed to build and run it,
  - builds the server and its camera helper with 'cargo build --release
    --locked' (or takes --binary / --camera-binary),
  - creates the system user '$SERVICE_USER' (group '$DEVICE_GROUP' for the camera),
  - installs $BIN_DEST, the camera helper $HELPER_DEST,
    $UNIT_DEST,
    $CONF_DEST (from config.toml next to this script; an existing
    config is never overwritten: the new default goes to config.toml.new;
    either way it is made mode 0640, owner root, group $SERVICE_USER,
    as it may hold password hashes),
    the log directory $LOG_DIR and the state directory $STATE_DIR
    (writable by the service, e.g. for a folder source),
  - enables and starts the service (restarts it on an upgrade) and prints
    the stream URL.

Run it as your normal user (not root, not with sudo): it asks sudo for the
steps that need it.

The camera helper (streamserver-camera) is the only program that links
libcamera, so it must match this Pi's libcamera: after an 'apt upgrade' that
changed libcamera (the stream then says the helper cannot load its
libraries), run ./install-service.sh --camera-helper-only. The server itself
keeps running meanwhile and picks the new helper up at the camera's next
restart.

Options:
  --binary PATH          install this prebuilt server binary (e.g. from a cross
                         build) instead of building the server
  --camera-binary PATH   install this prebuilt camera helper instead of building
                         it (it must have been built against this Pi's libcamera)
  --camera-helper-only   (re)build and install only the camera helper; the
                         service is not restarted
  -h, --help             show this help

Environment:
  STREAMSERVER_ROOT   prefix for every installed file (default: empty; for tests)
EOF
}

log() { printf '==> %s\n' "$*"; }
warn() { printf 'install-service.sh: warning: %s\n' "$*" >&2; }
die() {
    printf 'install-service.sh: error: %s\n' "$*" >&2
    exit 1
}

# toml_get SECTION KEY: prints the quoted string value of KEY in [SECTION] of
# the TOML document on stdin (enough for the keys this script reads).
toml_get() {
    awk -v section="$1" -v key="$2" '
        /^[[:space:]]*\[/ {
            line = $0
            sub(/[[:space:]]*(#.*)?$/, "", line)
            sub(/^[[:space:]]*/, "", line)
            in_section = (line == "[" section "]")
            next
        }
        in_section && $0 ~ "^[[:space:]]*" key "[[:space:]]*=" {
            if (match($0, /"[^"]*"/)) {
                print substr($0, RSTART + 1, RLENGTH - 2)
                exit
            }
        }'
}

# set_log_dir DIR: copies the TOML on stdin to stdout with `dir` in [logging]
# set to DIR (added to the section, or as a new section, when missing).
set_log_dir() {
    awk -v dir="$1" '
        function emit() { printf "dir = \"%s\"\n", dir; done = 1 }
        /^[[:space:]]*\[/ {
            if (in_logging && !done) emit()
            line = $0
            sub(/[[:space:]]*(#.*)?$/, "", line)
            sub(/^[[:space:]]*/, "", line)
            in_logging = (line == "[logging]")
            print
            next
        }
        in_logging && /^[[:space:]]*dir[[:space:]]*=/ {
            if (!done) emit()
            next
        }
        { print }
        END {
            if (!done) {
                if (!in_logging) printf "\n[logging]\n"
                emit()
            }
        }'
}

# ---- Arguments and sanity checks ------------------------------------------

binary=""
helper=""
helper_only=false
while (($# > 0)); do
    case $1 in
    -h | --help)
        usage
        exit 0
        ;;
    --binary)
        (($# >= 2)) || die "--binary needs a path (see --help)"
        binary=$2
        shift 2
        ;;
    --binary=*)
        binary=${1#--binary=}
        shift
        ;;
    --camera-binary)
        (($# >= 2)) || die "--camera-binary needs a path (see --help)"
        helper=$2
        shift 2
        ;;
    --camera-binary=*)
        helper=${1#--camera-binary=}
        shift
        ;;
    --camera-helper-only)
        helper_only=true
        shift
        ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done

# `id -u`, not $EUID: it is what a test harness can fake.
if [[ "$(id -u)" == 0 ]]; then
    die "do not run this as root or with sudo: run it as your normal user, it asks sudo for the steps that need it"
fi
command -v sudo >/dev/null || die "sudo is not installed (apt-get install sudo, as root)"

[[ -f "$SCRIPT_DIR/$SERVICE" ]] || die "missing $SCRIPT_DIR/$SERVICE"
[[ -f "$SCRIPT_DIR/config.toml" ]] || die "missing $SCRIPT_DIR/config.toml"
if [[ -n "$binary" ]]; then
    $helper_only && die "--camera-helper-only installs no server: drop --binary"
    [[ -f "$binary" && -x "$binary" ]] || die "--binary $binary: not an executable file"
    binary=$(realpath -- "$binary")
fi
if [[ -n "$helper" ]]; then
    [[ -f "$helper" && -x "$helper" ]] || die "--camera-binary $helper: not an executable file"
    helper=$(realpath -- "$helper")
fi

# An existing unit or binary means this is an upgrade.
upgrade=false
if [[ -e "$ROOT$UNIT_DEST" || -e "$ROOT$BIN_DEST" ]]; then
    upgrade=true
fi

staged=""
rendered=$(mktemp)
cleanup() {
    rm -f "$rendered"
    if [[ -n "$staged" ]]; then sudo rm -f "$staged"; fi
}
trap cleanup EXIT

# ---- Packages and build ----------------------------------------------------

# Build what was not given: the server unless --binary (or --camera-helper-only),
# the camera helper unless --camera-binary.
build=()
names=()
if [[ -z "$binary" ]] && ! $helper_only; then build+=(-p streamserver); names+=(streamserver); fi
if [[ -z "$helper" ]]; then build+=(-p streamserver-camera); names+=(streamserver-camera); fi
if ((${#build[@]} > 0)); then
    packages=("${BUILD_DEPS[@]}" "${RUNTIME_DEPS[@]}")
else
    packages=("${RUNTIME_DEPS[@]}")
fi
log "installing packages: ${packages[*]}"
sudo apt-get update
sudo apt-get install -y --no-install-recommends "${packages[@]}"

if ((${#build[@]} > 0)); then
    command -v cargo >/dev/null ||
        die "cargo not found: install Rust with rustup first (https://rustup.rs), or pass --binary and --camera-binary"
    log "building ${names[*]} (this takes a while on a Pi)"
    (cd "$SCRIPT_DIR" && cargo build --release --locked "${build[@]}")
    target_dir=${CARGO_TARGET_DIR:-target}
    [[ "$target_dir" == /* ]] || target_dir=$SCRIPT_DIR/$target_dir
    if [[ -z "$binary" ]] && ! $helper_only; then binary=$target_dir/release/streamserver; fi
    if [[ -z "$helper" ]]; then helper=$target_dir/release/streamserver-camera; fi
    for built in "$binary" "$helper"; do
        [[ -z "$built" || -x "$built" ]] || die "cargo build succeeded but $built is missing"
    done
fi

# The helper must load this machine's libcamera: its `version` says so, or the loader why not.
if ! helper_version=$("$helper" version 2>&1); then
    die "the camera helper $helper cannot run here: ${helper_version//$'\n'/ }
  (libcamera missing or of another version than it was built for: build it on this Pi with
  ./install-service.sh --camera-helper-only)"
fi
log "camera helper: ${helper_version//$'\n'/; }"

# stage_install SRC DEST: installs SRC as DEST atomically (the old file stays intact until
# replaced); sets $staged meanwhile so a failure cleans up.
stage_install() {
    staged=$ROOT${2%/*}/.${2##*/}.new.$$
    sudo install -m 0755 "$1" "$staged"
    sudo mv -f "$staged" "$ROOT$2"
    staged=""
}

if $helper_only; then
    sudo install -d -m 0755 "$ROOT${HELPER_DEST%/*}"
    stage_install "$helper" "$HELPER_DEST"
    log "installed the camera helper $HELPER_DEST"
    log "the running server starts it at the camera's next restart (at once if the camera is down);"
    log "'sudo systemctl restart streamserver' switches now"
    exit 0
fi

# Also catches a binary built for another architecture.
version=$("$binary" --version) || die "cannot run $binary (built for another architecture?)"
log "installing $version"

# ---- User and directories --------------------------------------------------

if ! getent group "$DEVICE_GROUP" >/dev/null; then
    sudo groupadd --system "$DEVICE_GROUP"
fi
if getent passwd "$SERVICE_USER" >/dev/null; then
    log "user $SERVICE_USER exists"
    if ! id -nG "$SERVICE_USER" | tr ' ' '\n' | grep -qx "$DEVICE_GROUP"; then
        sudo usermod --append --groups "$DEVICE_GROUP" "$SERVICE_USER"
    fi
else
    log "creating system user $SERVICE_USER"
    sudo useradd --system --user-group --groups "$DEVICE_GROUP" \
        --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        --comment "streamserver camera service" "$SERVICE_USER"
fi

sudo install -d -m 0755 "$ROOT${BIN_DEST%/*}" "$ROOT${UNIT_DEST%/*}" "$ROOT$CONF_DIR"
sudo install -d -m 0750 "$ROOT$LOG_DIR" "$ROOT$STATE_DIR"
sudo chown "$SERVICE_USER:$SERVICE_USER" "$ROOT$LOG_DIR" "$ROOT$STATE_DIR"

# ---- Config: install once, afterwards only offer the new default -----------

# The service runs with / as working directory and may only write to
# $LOG_DIR, so the installed config logs there.
set_log_dir "$LOG_DIR" <"$SCRIPT_DIR/config.toml" >"$rendered"

install_config() { # install_config DEST: root-owned, readable by the service
    sudo install -m 0640 "$rendered" "$1"
    sudo chown "root:$SERVICE_USER" "$1"
}
if [[ -e "$ROOT$CONF_DEST" ]]; then
    if sudo cmp -s "$rendered" "$ROOT$CONF_DEST"; then
        log "config $CONF_DEST is up to date"
        sudo rm -f "$ROOT$CONF_DEST.new"
    else
        install_config "$ROOT$CONF_DEST.new"
        log "kept your $CONF_DEST; the new default config is $CONF_DEST.new"
        log "compare them with: sudo diff -u $CONF_DEST $CONF_DEST.new"
    fi
else
    log "installing config $CONF_DEST"
    install_config "$ROOT$CONF_DEST"
fi
# The config may hold password hashes and tokens ([[user]]): root and the service's group
# only, also when an older install or an editor left it readable by everyone.
config_mode=$(sudo stat -c %a "$ROOT$CONF_DEST")
if [[ "$config_mode" != 640 ]]; then
    log "config $CONF_DEST was mode $config_mode: now 0640 (root and group $SERVICE_USER)"
fi
sudo chown "root:$SERVICE_USER" "$ROOT$CONF_DEST"
sudo chmod 0640 "$ROOT$CONF_DEST"
installed_config=$(sudo cat "$ROOT$CONF_DEST")

log_dir=$(toml_get logging dir <<<"$installed_config")
if [[ "$log_dir" != "$LOG_DIR" ]]; then
    warn "[logging] dir in $CONF_DEST is '$log_dir': the service can only write to $LOG_DIR"
fi

# ---- Binary: stage, check the config with it, then swap atomically ---------

staged=$ROOT${BIN_DEST%/*}/.streamserver.new.$$
sudo install -m 0755 "$binary" "$staged"
# As the service user, from /, as the service runs it: check-config creates a
# missing folder-source directory, which must not end up owned by root, and a
# path the service cannot use fails here rather than at the next start.
if ! (cd / && sudo -u "$SERVICE_USER" "$staged" check-config --config "$ROOT$CONF_DEST"); then
    die "the new binary rejects $CONF_DEST (see above); fix it and run this again. Nothing was restarted."
fi
# rename(2) within one directory: the old binary stays intact until replaced.
sudo mv -f "$staged" "$ROOT$BIN_DEST"
staged=""
stage_install "$helper" "$HELPER_DEST"

# ---- Unit and service --------------------------------------------------------

sudo install -m 0644 "$SCRIPT_DIR/$SERVICE" "$ROOT$UNIT_DEST"
sudo systemctl daemon-reload

started=true
if $upgrade; then
    log "upgrade: restarting $SERVICE"
    sudo systemctl enable "$SERVICE"
    # A unit that hit its start limit refuses to restart until reset.
    sudo systemctl reset-failed "$SERVICE" 2>/dev/null || true
    sudo systemctl restart "$SERVICE" || started=false
else
    log "enabling and starting $SERVICE"
    sudo systemctl enable --now "$SERVICE" || started=false
fi

systemctl --no-pager --full status "$SERVICE" || true
$started || die "$SERVICE did not start: see 'journalctl -u streamserver -e'"

# ---- Where to find it --------------------------------------------------------

listen=$(toml_get server listen <<<"$installed_config")
port=${listen##*:}
[[ "$port" =~ ^[0-9]+$ ]] || port=$DEFAULT_PORT
case ${listen%:*} in
127.* | localhost | "[::1]") host=${listen%:*} ;;
*)
    # First address of this machine; the name if it has none (yet).
    host=$(hostname -I 2>/dev/null | awk '{ print $1 }') || host=""
    [[ -n "$host" ]] || host=$(hostname)
    [[ "$host" != *:* ]] || host="[$host]" # IPv6 literal
    ;;
esac

echo
log "streamserver is running: http://$host:$port/stream.mjpg"
log "config: $CONF_DEST   logs: $LOG_DIR and 'journalctl -u streamserver'"
