#!/usr/bin/env bash
# cross-check.sh — prove the Raspberry Pi cross builds (issue 5) without Docker.
#
# Does in a Debian trixie root (scripts/trixie-root.sh) what cross/Dockerfile.*
# do in an image: installs the packages of cross/packages-<arch>.txt (the same
# file the Dockerfiles read), cross-compiles the crate in release mode with
# Debian's rustc-web/cargo-web (whose libstd-rust-web-dev:<arch> supplies the
# target's std; the host's rustup toolchain is not used), then runs the binary
# under qemu-user on the test pattern and checks, over loopback only, that
# /snapshot.jpg is a JPEG that decodes and that /stream.mjpg delivers 30 parts.
#
# Usage: scripts/cross-check.sh [CRATE_DIR]
#   CRATE_DIR       crate to build (default: the checkout). A crate outside the
#                   checkout is bind-mounted at /crate in the root.
# Environment:
#   CROSS_TARGETS   which of "aarch64 armv7" to prove (default: both)
#   CROSS_REQUIRE   targets that must not be skipped (default: aarch64). A
#                   target whose package index cannot be fetched from the
#                   mirror is reported as SKIPPED unless it is listed here.
#   CROSS_BIN       binary to run (default: the package name in Cargo.toml)
#   CROSS_FRAMES    stream parts to require (default: 30)
#   CROSS_PORT      first loopback port to use (default: 18931)
#   CROSS_ROOTS     directory of the per-target roots (default: <repo>/.trixie);
#                   each target gets its own root, cross-<arch>, because
#                   libcamera-dev is not Multi-Arch: same (one arch per root)
set -euo pipefail

# --- target table -----------------------------------------------------------
# arch -> rust triple, Debian architecture, GNU triple, qemu-user binary
target_info() {
    case $1 in
        aarch64) echo "aarch64-unknown-linux-gnu arm64 aarch64-linux-gnu qemu-aarch64" ;;
        armv7)   echo "armv7-unknown-linux-gnueabihf armhf arm-linux-gnueabihf qemu-arm" ;;
        *) echo "cross-check: unknown target '$1' (aarch64, armv7)" >&2; return 1 ;;
    esac
}

# The cross build environment, one VAR=value per line. The Dockerfiles' ENV
# lines are the same settings (keep cross/Dockerfile.* in step with this).
cross_env() { # cross_env ARCH
    local triple debarch gnu qemu up low
    read -r triple debarch gnu qemu < <(target_info "$1")
    up=$(echo "$triple" | tr 'a-z-' 'A-Z_')
    low=${triple//-/_}
    cat <<EOF
CARGO_TARGET_${up}_LINKER=${gnu}-gcc
CARGO_TARGET_${up}_RUNNER=${qemu} -L /
CC_${low}=${gnu}-gcc
CXX_${low}=${gnu}-g++
AR_${low}=${gnu}-ar
PKG_CONFIG_ALLOW_CROSS=1
PKG_CONFIG_LIBDIR=/usr/lib/${gnu}/pkgconfig:/usr/share/pkgconfig
EOF
}

# --- in-root steps (this same file, run inside the root as /src/scripts/...) --
in_root_build() { # ARCH CRATE_DIR TARGET_DIR
    local arch=$1 crate=$2 line triple
    read -r triple _ < <(target_info "$arch")
    while IFS= read -r line; do export "${line?}"; done < <(cross_env "$arch")
    export CARGO_TARGET_DIR=$3
    echo "cross-check: cross environment:"; cross_env "$arch" | sed 's/^/    /'
    echo "cross-check: $(command -v cargo): $(cargo --version); $(rustc --version)"
    cd "$crate"
    cargo build --release -j "${CARGO_BUILD_JOBS:-2}" --target "$triple"
}

in_root_test() { # ARCH BINARY PORT FRAMES
    local arch=$1 bin=$2 port=$3 frames=$4 qemu work pid rc=0
    read -r _ _ _ qemu < <(target_info "$arch")
    work=$(mktemp -d /tmp/cross-check.XXXXXX)
    local url=http://127.0.0.1:$port
    "$qemu" -L / "$bin" --source test --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
    pid=$!
    # shellcheck disable=SC2317  # called via trap
    stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
    trap stop EXIT
    fail() { echo "cross-check: FAIL ($arch): $*" >&2; echo "--- server log:" >&2; tail -n 30 "$work/server.log" >&2; exit 1; }

    local ok=0
    for _ in $(seq 1 120); do
        kill -0 "$pid" 2>/dev/null || fail "server exited before answering"
        if curl -fsS --max-time 10 -o "$work/snapshot.jpg" "$url/snapshot.jpg" 2>/dev/null; then ok=1; break; fi
        sleep 0.5
    done
    [ $ok = 1 ] || fail "no snapshot from $url/snapshot.jpg within 60s"
    # A valid JPEG: SOI at the start, EOI at the end, and libjpeg-turbo decodes it.
    [ "$(od -An -tx1 -N3 "$work/snapshot.jpg" | tr -d ' ')" = ffd8ff ] || fail "snapshot does not start with a JPEG SOI marker"
    [ "$(tail -c 2 "$work/snapshot.jpg" | od -An -tx1 | tr -d ' ')" = ffd9 ] || fail "snapshot does not end with a JPEG EOI marker"
    djpeg -pnm -outfile "$work/snapshot.pnm" "$work/snapshot.jpg" 2>"$work/djpeg.err" || fail "djpeg cannot decode the snapshot: $(cat "$work/djpeg.err")"
    local dims
    dims=$(head -c 64 "$work/snapshot.pnm" | tr '\n' ' ' | awk '{print $2 "x" $3}')
    echo "cross-check: snapshot OK ($(stat -c %s "$work/snapshot.jpg") bytes, decodes to $dims)"

    # The stream: read until FRAMES complete parts have arrived (at most 60s).
    curl -sS --max-time 60 -o "$work/stream.bin" "$url/stream.mjpg" 2>"$work/curl.err" &
    local curl_pid=$! parts=0
    for _ in $(seq 1 240); do
        sleep 0.25
        parts=$(LC_ALL=C grep -a -c -i '^Content-Type: image/jpeg' "$work/stream.bin" 2>/dev/null || true)
        [ "${parts:-0}" -gt "$frames" ] && break   # > so that part FRAMES is complete
        kill -0 "$curl_pid" 2>/dev/null || break
    done
    kill "$curl_pid" 2>/dev/null || true
    wait "$curl_pid" 2>/dev/null || true
    parts=$(LC_ALL=C grep -a -c -i '^Content-Type: image/jpeg' "$work/stream.bin" || true)
    local soi eoi
    soi=$(LC_ALL=C grep -a -o -P '\xff\xd8\xff' "$work/stream.bin" | wc -l)
    eoi=$(LC_ALL=C grep -a -o -P '\xff\xd9' "$work/stream.bin" | wc -l)
    if [ "$parts" -lt "$frames" ] || [ "$soi" -lt "$frames" ] || [ "$eoi" -lt "$frames" ]; then
        fail "stream: wanted $frames JPEG parts, got $parts part headers, $soi SOI, $eoi EOI markers ($(stat -c %s "$work/stream.bin") bytes; $(cat "$work/curl.err"))"
    fi
    echo "cross-check: stream OK ($parts image/jpeg parts, $soi SOI markers in $(stat -c %s "$work/stream.bin") bytes)"

    # The binary's own MJPEG client, where it has one (`streamserver probe
    # URL --frames N --json`).
    local help
    help=$("$qemu" -L / "$bin" probe --help 2>&1 || true)
    if [[ $help == *--frames* && $help == *--json* ]]; then
        "$qemu" -L / "$bin" probe "$url/stream.mjpg" --frames "$frames" --json >"$work/probe.json" 2>"$work/probe.err" \
            || { rc=$?; cat "$work/probe.err" >&2; fail "'$(basename "$bin") probe' exited $rc"; }
        echo "cross-check: probe OK: $(tr -d '\n' <"$work/probe.json" | cut -c1-300)"
    fi
    stop
    trap - EXIT
    rm -rf "$work"
}

case ${1:-} in
    __in-root-build) shift; in_root_build "$@"; exit ;;
    __in-root-test) shift; in_root_test "$@"; exit ;;
esac

# --- host side ----------------------------------------------------------------
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOTSH=$REPO/scripts/trixie-root.sh
CRATE=$(cd "${1:-$REPO}" && pwd)
TARGETS=${CROSS_TARGETS:-aarch64 armv7}
REQUIRE=" ${CROSS_REQUIRE:-aarch64} "
FRAMES=${CROSS_FRAMES:-30}
PORT=${CROSS_PORT:-18931}
ROOTS=${CROSS_ROOTS:-$REPO/.trixie}

[ -f "$CRATE/Cargo.toml" ] || { echo "cross-check: no Cargo.toml in $CRATE" >&2; exit 1; }
if [[ $CRATE == "$REPO" || $CRATE == "$REPO"/* ]]; then
    CRATE_IN=/src${CRATE#"$REPO"}
    BINDS=""
    TARGET_IN=/src/target/trixie-cross
else
    CRATE_IN=/crate
    BINDS="$CRATE:/crate"
    TARGET_IN=/crate/target/trixie-cross
fi
# (Build output stays apart from the host's target/ and from other checks.)
BIN_NAME=${CROSS_BIN:-$(awk '/^\[package\]/{p=1; next} /^\[/{p=0} p && $1=="name"{gsub(/["= ]/, "", $0); sub(/^name/, ""); print; exit}' "$CRATE/Cargo.toml")}

timings=()
step() { # step LABEL CMD...
    local label=$1 t0=$SECONDS rc=0; shift
    echo "=== cross-check: $label"
    "$@" || rc=$?
    timings+=("$(printf '%-40s %4ss  %s' "$label" $((SECONDS - t0)) "$([ $rc = 0 ] && echo ok || echo "FAILED ($rc)")")")
    return $rc
}
report() {
    echo "=== cross-check: timings"
    printf '    %s\n' "${timings[@]}"
}
trap report EXIT

root_for() { echo "$ROOTS/cross-$1"; }
in_root() { # in_root ARCH CMD...
    local arch=$1; shift
    TRIXIE_ROOT=$(root_for "$arch") TRIXIE_BINDS=$BINDS "$ROOTSH" run "$@"
}

failed=()
skipped=()
for arch in $TARGETS; do
    read -r triple debarch _ _ < <(target_info "$arch")
    mapfile -t pkgs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$REPO/cross/packages-$arch.txt")
    # Proof-only tools on top of the image's list: Debian's Rust with the
    # target's std, qemu-user, and curl + djpeg for the HTTP checks.
    pkgs+=(rustc-web cargo-web "libstd-rust-web-dev:$debarch" qemu-user curl libjpeg-turbo-progs)
    rc=0
    step "$arch: trixie root + packages" env TRIXIE_ROOT="$(root_for "$arch")" "$ROOTSH" ensure "${pkgs[@]}" || rc=$?
    if [ $rc = 3 ] && [[ $REQUIRE != *" $arch "* ]]; then
        echo "cross-check: SKIPPED $arch: the $debarch package index could not be fetched from the mirror (see above)" >&2
        skipped+=("$arch")
        continue
    elif [ $rc != 0 ]; then
        failed+=("$arch (packages)"); continue
    fi
    step "$arch: cargo build --release --target $triple" \
        in_root "$arch" bash /src/scripts/cross-check.sh __in-root-build "$arch" "$CRATE_IN" "$TARGET_IN" \
        || { failed+=("$arch (build)"); continue; }
    bin=$TARGET_IN/$triple/release/$BIN_NAME
    step "$arch: run under qemu, snapshot + $FRAMES frames" \
        in_root "$arch" bash /src/scripts/cross-check.sh __in-root-test "$arch" "$bin" "$PORT" "$FRAMES" \
        || { failed+=("$arch (run)"); continue; }
    PORT=$((PORT + 1))
done

[ ${#skipped[@]} -eq 0 ] || echo "cross-check: skipped: ${skipped[*]}"
if [ ${#failed[@]} -gt 0 ]; then
    echo "cross-check: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "cross-check: OK: $(for a in $TARGETS; do [[ " ${skipped[*]} " == *" $a "* ]] || printf '%s ' "$a"; done)"
