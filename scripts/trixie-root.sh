#!/usr/bin/env bash
# trixie-root.sh — a cached Debian trixie root (debootstrap) for the checks
# that need trixie's packages: libcamera >= 0.4 (issue 3) and the cross
# toolchains / libcamera-dev:arm64 (issue 5).
#
# Usage:
#   scripts/trixie-root.sh ensure [PKG...]   build the root once, then install
#                                            whichever of PKG... are missing
#                                            (PKG may be arch-qualified, e.g.
#                                            libcamera-dev:arm64)
#   scripts/trixie-root.sh run CMD [ARG...]  run CMD in the root (chroot) with
#                                            /proc /sys /dev /dev/pts /dev/shm,
#                                            ~/.cargo, ~/.rustup and the
#                                            checkout (at /src) mounted
#   scripts/trixie-root.sh path              print the root's directory
#   scripts/trixie-root.sh remove            delete the root (refused while
#                                            anything is mounted under it)
#   scripts/trixie-root.sh mirror            print the apt mirror it uses
#
# Environment:
#   TRIXIE_ROOT    the root's directory (default: <repo>/.trixie/root, gitignored)
#   TRIXIE_MIRROR  apt mirror URL (default: read from the host's apt sources)
#   TRIXIE_BINDS   extra bind mounts for `run`, space separated HOST:GUEST pairs
#                  (e.g. a crate outside the checkout: "/tmp/crate:/crate")
#   TRIXIE_ENV     extra VAR=value words passed into `run`'s environment
#
# Exit status: that of CMD for `run`; 1 for errors; 3 when `ensure` fails
# because the apt index could not be fetched (apt-get update), so callers can
# tell "mirror/index broken" from "build broken".
#
# Mounts are made per `run` and undone when it exits (also on failure or
# signal; a signal sent to this script alone is acted on when CMD exits, so
# nothing is unmounted under a running CMD, while Ctrl-C reaches both). A mount
# point that is already mounted (a concurrent or nested `run`) is left alone:
# not mounted twice, and not unmounted by us. Concurrent runs on one root
# share the first run's mounts, which go when that run ends: serialise runs
# on one root if they can overlap in time.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=${TRIXIE_ROOT:-$REPO/.trixie/root}
SUITE=trixie
BASE_MARKER=.streamserver-trixie-base-complete

# Bounds for network steps (seconds).
DEBOOTSTRAP_TIMEOUT=${DEBOOTSTRAP_TIMEOUT:-1800}
APT_TIMEOUT=${APT_TIMEOUT:-1800}
# --force-unsafe-io: dpkg skips its fsyncs, a third off unpacking; a root is a
# cache (only a machine crash mid-install could leave one to delete by hand).
APT_OPTS=(-o Acquire::Retries=3 -o Acquire::http::Timeout=60
          -o Acquire::https::Timeout=60 -o APT::Install-Recommends=false
          -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300
          -o Dpkg::Options::=--force-unsafe-io)

die() { echo "trixie-root: error: $*" >&2; exit 1; }
log() { echo "trixie-root: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, mount and chroot need it)"

# --- the apt mirror -------------------------------------------------------
# The host's own mirror, so nothing in the repo names a host. Prefers the
# deb822 entry (/etc/apt/sources.list.d/*.sources) whose Suites include the
# host's main suite, then a classic "deb URL suite ..." line.
host_mirror() {
    local codename="" f uri
    if [ -r /etc/os-release ]; then
        # shellcheck disable=SC1091
        codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    fi
    [ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release; set TRIXIE_MIRROR"
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        uri=$(awk -v suite="$codename" '
            function flush() {
                if (!found && types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no" && uris != "") {
                    n = split(suites, s, /[ \t]+/)
                    for (i = 1; i <= n; i++) if (s[i] == suite) { split(uris, u, /[ \t]+/); print u[1]; found = 1; exit }
                }
                types = ""; uris = ""; suites = ""; enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            {
                line = $0; key = tolower(line); sub(/:.*/, "", key)
                val = line; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
                if (key == "types") types = val
                else if (key == "uris") uris = val
                else if (key == "suites") suites = val
                else if (key == "enabled") enabled = tolower(val)
            }
            END { flush() }' "$f")
        if [ -n "$uri" ]; then echo "$uri"; return 0; fi
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        # deb [options] URL suite component...
        uri=$(awk -v suite="$codename" '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite) { print $i; exit }
            }' "$f")
        if [ -n "$uri" ]; then echo "$uri"; return 0; fi
    done
    die "no apt source for suite '$codename' in /etc/apt/sources.list.d/*.sources or sources.list; set TRIXIE_MIRROR"
}

MIRROR=""
mirror() {
    if [ -z "$MIRROR" ]; then
        MIRROR=${TRIXIE_MIRROR:-$(host_mirror)}
        MIRROR=${MIRROR%/}
    fi
    echo "$MIRROR"
}

# --- mounts ---------------------------------------------------------------
MOUNTED=()   # mount points this process made, in order

do_mount() { # do_mount TARGET MOUNT-ARGS...
    local target=$1; shift
    mkdir -p "$target"
    if mountpoint -q "$target"; then
        return 0   # someone else's (concurrent/nested run): not ours to mount or unmount
    fi
    mount "$@" "$target" || die "mount $* $target failed"
    MOUNTED+=("$target")
}

bind_dir() { # bind_dir HOST-DIR GUEST-PATH
    [ -d "$1" ] || die "bind source $1 is not a directory"
    do_mount "$ROOT$2" --bind "$1"
}

undo_mounts() {
    local i t
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        t=${MOUNTED[$i]}
        umount "$t" 2>/dev/null || umount -l "$t" 2>/dev/null || log "warning: could not unmount $t"
    done
    MOUNTED=()
}

mount_all() {
    trap undo_mounts EXIT
    trap 'undo_mounts; exit 130' INT
    trap 'undo_mounts; exit 143' TERM
    do_mount "$ROOT/proc" -t proc proc
    bind_dir /sys /sys
    bind_dir /dev /dev
    bind_dir /dev/pts /dev/pts
    if [ -d /dev/shm ]; then bind_dir /dev/shm /dev/shm; fi
    if [ -d "$HOME/.cargo" ]; then bind_dir "$HOME/.cargo" /root/.cargo; fi
    if [ -d "$HOME/.rustup" ]; then bind_dir "$HOME/.rustup" /root/.rustup; fi
    bind_dir "$REPO" /src
    local b
    for b in ${TRIXIE_BINDS:-}; do
        bind_dir "${b%%:*}" "${b#*:}"
    done
    # Name resolution for apt and cargo (only registries are reachable anyway).
    cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
}

in_root() { # run a command in the root; mounts must be in place
    local envs=(HOME=/root LANG=C.UTF-8 LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
                "TERM=${TERM:-dumb}")
    local e
    # shellcheck disable=SC2206  # word splitting of VAR=value words is the interface
    for e in ${TRIXIE_ENV:-}; do envs+=("$e"); done
    chroot "$ROOT" /usr/bin/env -i "${envs[@]}" "$@"
}

# --- ensure ---------------------------------------------------------------
lock() {
    mkdir -p "$(dirname "$ROOT")"
    exec 9>"$ROOT.lock"
    flock -w 3600 9 || die "timed out waiting for the lock $ROOT.lock (another ensure running?)"
}

mounts_under_root() {
    awk -v r="$ROOT" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts
}

build_base() {
    local m
    m=$(mirror)
    if [ -e "$ROOT" ]; then
        # An incomplete root from an interrupted run: start again, but never
        # rm -rf through a live bind mount (that would delete host files).
        if [ -n "$(mounts_under_root)" ]; then
            die "incomplete root $ROOT still has mounts: $(mounts_under_root | tr '\n' ' ')— unmount them first"
        fi
        log "removing incomplete root $ROOT"
        rm -rf --one-file-system "$ROOT"
    fi
    command -v debootstrap >/dev/null || die "debootstrap not installed (apt-get install -y debootstrap)"
    [ -e "/usr/share/debootstrap/scripts/$SUITE" ] || die "this debootstrap does not know '$SUITE'; upgrade debootstrap"
    log "debootstrap --variant=minbase $SUITE $ROOT $m (timeout ${DEBOOTSTRAP_TIMEOUT}s)"
    local t0=$SECONDS
    timeout "$DEBOOTSTRAP_TIMEOUT" debootstrap --variant=minbase --include=ca-certificates \
        "$SUITE" "$ROOT" "$m" >"$ROOT.debootstrap.log" 2>&1 \
        || { tail -n 30 "$ROOT.debootstrap.log" >&2; die "debootstrap failed or timed out (log: $ROOT.debootstrap.log)"; }
    log "debootstrap done in $((SECONDS - t0))s"

    # Trixie's sources, on the same mirror.
    rm -f "$ROOT/etc/apt/sources.list"
    cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $m
Suites: $SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    # No daemons start in the root.
    printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
    chmod 755 "$ROOT/usr/sbin/policy-rc.d"
    # The host's extra CA certificates (cargo must trust the same registry proxy).
    mkdir -p "$ROOT/usr/local/share/ca-certificates"
    if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
        cp -a /usr/local/share/ca-certificates/. "$ROOT/usr/local/share/ca-certificates/"
    fi
    (
        mount_all
        in_root update-ca-certificates >/dev/null
        in_root dpkg --add-architecture arm64
    )
    touch "$ROOT/$BASE_MARKER"
}

pkg_installed() { # pkg_installed NAME[:ARCH]
    # shellcheck disable=SC2016  # ${...} is dpkg-query's format, not the shell's
    [ "$(in_root dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

ensure() {
    lock
    if [ ! -e "$ROOT/$BASE_MARKER" ]; then
        build_base
    else
        log "reusing $ROOT"
    fi
    # Refresh the CA certs in case the host's changed.
    if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null &&
       ! diff -rq /usr/local/share/ca-certificates "$ROOT/usr/local/share/ca-certificates" >/dev/null 2>&1; then
        cp -a /usr/local/share/ca-certificates/. "$ROOT/usr/local/share/ca-certificates/"
        in_root update-ca-certificates >/dev/null
    fi
    [ $# -gt 0 ] || return 0

    # Foreign architectures named by the packages (e.g. libfoo:armhf).
    local p arch missing=()
    local foreign
    foreign=" $(in_root dpkg --print-foreign-architectures | tr '\n' ' ') "
    for p in "$@"; do
        case $p in
            *:*)
                arch=${p##*:}
                if [ "$arch" != amd64 ] && [ "$arch" != all ] && [[ $foreign != *" $arch "* ]]; then
                    log "dpkg --add-architecture $arch"
                    in_root dpkg --add-architecture "$arch"
                    foreign+="$arch "
                fi ;;
        esac
    done
    for p in "$@"; do
        pkg_installed "$p" || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        log "all ${#} requested packages already installed"
        return 0
    fi
    (
        mount_all
        local t0=$SECONDS
        # Only reached when something is missing: refresh the index first.
        log "apt-get update (timeout ${APT_TIMEOUT}s)"
        timeout "$APT_TIMEOUT" chroot "$ROOT" /usr/bin/env -i DEBIAN_FRONTEND=noninteractive \
            PATH=/usr/sbin:/usr/bin:/sbin:/bin apt-get "${APT_OPTS[@]}" update -q >"$ROOT.apt-update.log" 2>&1 \
            || { tail -n 20 "$ROOT.apt-update.log" >&2
                 echo "trixie-root: error: apt-get update in the root failed or timed out (log: $ROOT.apt-update.log)" >&2
                 exit 3; }
        log "installing ${missing[*]} (timeout ${APT_TIMEOUT}s)"
        if ! timeout "$APT_TIMEOUT" chroot "$ROOT" /usr/bin/env -i DEBIAN_FRONTEND=noninteractive \
            PATH=/usr/sbin:/usr/bin:/sbin:/bin apt-get "${APT_OPTS[@]}" install -y -q "${missing[@]}" \
            >"$ROOT.apt.log" 2>&1; then
            tail -n 40 "$ROOT.apt.log" >&2
            die "apt-get install ${missing[*]} failed or timed out (log: $ROOT.apt.log)"
        fi
        timeout 300 chroot "$ROOT" apt-get clean || true
        log "installed in $((SECONDS - t0))s"
    )
}

# --- main -----------------------------------------------------------------
cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
    ensure)
        ensure "$@" ;;
    run)
        [ $# -gt 0 ] || die "usage: $0 run CMD [ARG...]"
        [ -e "$ROOT/$BASE_MARKER" ] || die "no trixie root at $ROOT; run '$0 ensure' first"
        mount_all
        rc=0
        in_root "$@" || rc=$?
        undo_mounts
        exit "$rc" ;;
    path)
        echo "$ROOT" ;;
    remove)
        [ -e "$ROOT" ] || exit 0
        lock
        # Never rm -rf through a live bind mount (/src is the checkout).
        if [ -n "$(mounts_under_root)" ]; then
            die "$ROOT still has mounts: $(mounts_under_root | tr '\n' ' ')— not removed"
        fi
        size=$(du -sh --one-file-system "$ROOT" 2>/dev/null | cut -f1)
        rm -rf --one-file-system "$ROOT"
        rm -f "$ROOT".*.log
        log "removed $ROOT ($size)" ;;
    mirror)
        mirror ;;
    *)
        echo "usage: $0 ensure [PKG...] | run CMD [ARG...] | path | mirror | remove" >&2
        exit 2 ;;
esac
