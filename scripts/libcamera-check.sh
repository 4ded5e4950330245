#!/usr/bin/env bash
# libcamera-check.sh — prove streamserver's libcamera path against libcamera's
# virtual camera in a Debian trixie root (issue 3).
#
# Debian trixie ships libcamera 0.4 with the "virtual" pipeline built in, but
# (1) no /usr/share/libcamera/pipeline/virtual/virtual.yaml, without which the
# pipeline registers no camera: this script installs
# scripts/libcamera-virtual.yaml there (one camera, "Virtual0", NV12,
# 640x480..1280x720); and (2) a chroot/container has no dma-buf provider
# (/dev/udmabuf, /dev/dma_heap/*), so buffers cannot be allocated: the
# test-only LD_PRELOAD shim scripts/udmabuf-shim.c fakes /dev/udmabuf with
# memfds and is compiled here, inside the root.
#
# Steps: ensure the root and packages; install the camera config; compile the
# shim; `cam -l`, `cam -c 1 -I`, `cam -c 1 --capture=3` (asserting the camera
# and 3 frames); build and run scripts/placeholder/libcamera-probe (the
# libcamera crate, host rustup toolchain) to list the camera and capture
# frames; then streamserver's own camera tests (streamserver_camera_tests,
# run once tests/camera.rs exists). Prints the time of each step.
#
# Environment: TRIXIE_ROOT (default <repo>/.trixie/root), see trixie-root.sh.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOTSH=$REPO/scripts/trixie-root.sh
ROOT=$("$ROOTSH" path)
PACKAGES=(libcamera-dev libcamera-ipa libcamera-tools libclang-dev pkg-config g++ cmake make nasm)
SHIM=/usr/local/lib/udmabuf-shim.so          # inside the root
RUST_PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

die() { echo "libcamera-check: FAIL: $*" >&2; exit 1; }
in_root() { "$ROOTSH" run "$@"; }
# Run in the root with the shim preloaded (and libcamera's log without colour).
in_root_shim() { in_root env LD_PRELOAD="$SHIM" LIBCAMERA_LOG_NO_COLOR=1 "$@"; }
# Run in the root with the host's rustup toolchain first on PATH.
in_root_rust() { in_root env PATH="$RUST_PATH" "$@"; }

timings=()
step() { # step LABEL FUNCTION...
    local label=$1 t0=$SECONDS rc=0; shift
    echo "=== libcamera-check: $label"
    "$@" || rc=$?
    timings+=("$(printf '%-48s %4ss  %s' "$label" $((SECONDS - t0)) "$([ $rc = 0 ] && echo ok || echo "FAILED ($rc)")")")
    return $rc
}
report() {
    echo "=== libcamera-check: timings"
    printf '    %s\n' "${timings[@]}"
}

prepare_root() {
    "$ROOTSH" ensure "${PACKAGES[@]}"
    install -D -m 644 "$REPO/scripts/libcamera-virtual.yaml" \
        "$ROOT/usr/share/libcamera/pipeline/virtual/virtual.yaml"
    # shellcheck disable=SC2016  # dpkg-query's format, not the shell's
    in_root dpkg-query -W -f '${Package} ${Version}\n' libcamera-dev libcamera-tools
}

build_shim() {
    in_root gcc -shared -fPIC -O2 -Wall -Wextra -Werror \
        -o "$SHIM" /src/scripts/udmabuf-shim.c -ldl
}

cam_list() {
    in_root_shim cam -l >"$WORK/cam-l.txt" 2>&1 || { cat "$WORK/cam-l.txt"; die "cam -l exited non-zero"; }
    cat "$WORK/cam-l.txt"
    grep -q '(Virtual0)' "$WORK/cam-l.txt" || die "cam -l does not list the virtual camera Virtual0"
}

cam_info() {
    in_root_shim cam -c 1 -I 2>&1 | tee "$WORK/cam-I.txt"
    grep -q 'NV12' "$WORK/cam-I.txt" || die "cam -c 1 -I reports no NV12 format"
}

cam_capture() {
    local n
    in_root_shim cam -c 1 --capture=3 --metadata >"$WORK/cam-capture.txt" 2>&1 \
        || { cat "$WORK/cam-capture.txt"; die "cam -c 1 --capture=3 exited non-zero"; }
    cat "$WORK/cam-capture.txt"
    n=$(grep -c 'cam0-stream0 seq:' "$WORK/cam-capture.txt" || true)
    [ "$n" -eq 3 ] || die "cam captured $n frames, expected 3"
    echo "libcamera-check: cam captured $n frames"
}

probe_build() {
    in_root_rust env CARGO_TARGET_DIR=/src/target/trixie-libcamera-probe \
        cargo build --release -j "${CARGO_BUILD_JOBS:-2}" \
        --manifest-path /src/scripts/placeholder/libcamera-probe/Cargo.toml
}

probe_run() {
    in_root_shim /src/target/trixie-libcamera-probe/release/libcamera-probe 3 640x480 \
        >"$WORK/probe.txt" 2>&1 || { cat "$WORK/probe.txt"; die "libcamera-probe exited non-zero"; }
    cat "$WORK/probe.txt"
    grep -q '^camera: Virtual0' "$WORK/probe.txt" || die "libcamera-probe did not list Virtual0"
    grep -q '^captured 3 frames' "$WORK/probe.txt" || die "libcamera-probe did not capture 3 frames"
}

# ---------------------------------------------------------------------------
# streamserver's camera tests — the place for the camera-source work.
# Builds streamserver with libcamera support using the host's rustup
# toolchain, then runs tests/camera.rs against the virtual camera with the
# udmabuf shim preloaded (one test thread: one camera). Skipped until
# tests/camera.rs exists.
# ---------------------------------------------------------------------------
streamserver_camera_tests() {
    if [ ! -f "$REPO/tests/camera.rs" ]; then
        echo "libcamera-check: skipped: no tests/camera.rs in the checkout yet"
        return 0
    fi
    # shellcheck disable=SC2016  # expanded by the shell in the root
    in_root_rust env CARGO_TARGET_DIR=/src/target/trixie-libcamera \
        sh -c 'cd /src && cargo build -j "${CARGO_BUILD_JOBS:-2}" --features libcamera'
    # shellcheck disable=SC2016  # expanded by the shell in the root
    in_root_rust env CARGO_TARGET_DIR=/src/target/trixie-libcamera \
        LD_PRELOAD="$SHIM" LIBCAMERA_LOG_NO_COLOR=1 \
        sh -c 'cd /src && cargo test -j "${CARGO_BUILD_JOBS:-2}" --features libcamera --test camera -- --test-threads=1'
}

main() {
    trap 'report; rm -rf "$WORK"' EXIT
    step "trixie root + packages" prepare_root
    step "compile udmabuf shim" build_shim
    step "cam -l" cam_list
    step "cam -c 1 -I" cam_info
    step "cam -c 1 --capture=3" cam_capture
    step "build libcamera-probe (libcamera crate)" probe_build
    step "libcamera-probe: list + capture 3 frames" probe_run
    step "streamserver camera tests" streamserver_camera_tests
    echo "libcamera-check: OK"
}

main "$@"
