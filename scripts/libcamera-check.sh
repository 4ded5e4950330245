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
# and 3 frames); then streamserver's own camera work (host rustup toolchain):
# build with --features libcamera, the camera unit tests, `streamserver list-cameras`, and
# tests/camera.rs (colour bars over /stream.mjpg, idle mode, supervisor
# recovery from a hung camera). Prints the time of each step.
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

# ---------------------------------------------------------------------------
# streamserver's camera tests — the place for the camera-source work.
# Builds streamserver with libcamera support using the host's rustup
# toolchain, runs the camera module's unit tests in that build, then
# tests/camera.rs against the virtual camera with the udmabuf shim preloaded
# (one test thread: one camera). UDMABUF_SHIM_HANG_FILE names the shim's fault
# trigger: the supervisor test creates it to hang the camera's buffer mapping
# (a hung driver) and removes it to let the camera recover.
# ---------------------------------------------------------------------------
CAMERA_TARGET=/src/target/trixie-libcamera
HANG_FILE=/tmp/udmabuf-shim.hang              # inside the root

camera_build() {
    # shellcheck disable=SC2016  # expanded by the shell in the root
    in_root_rust env CARGO_TARGET_DIR=$CAMERA_TARGET \
        sh -c 'cd /src && cargo build -j "${CARGO_BUILD_JOBS:-2}" --features libcamera --all-targets'
}

camera_unit_tests() {
    # shellcheck disable=SC2016  # expanded by the shell in the root
    in_root_rust env CARGO_TARGET_DIR=$CAMERA_TARGET \
        sh -c 'cd /src && cargo test -j "${CARGO_BUILD_JOBS:-2}" --features libcamera --lib source::camera'
}

camera_list() {
    in_root_shim $CAMERA_TARGET/debug/streamserver list-cameras >"$WORK/list-cameras.txt" 2>&1 \
        || { cat "$WORK/list-cameras.txt"; die "streamserver list-cameras exited non-zero"; }
    cat "$WORK/list-cameras.txt"
    grep -q '^0: Virtual0 ' "$WORK/list-cameras.txt" || die "list-cameras does not list Virtual0"
}

camera_integration_tests() {
    rm -f "$ROOT$HANG_FILE"
    # shellcheck disable=SC2016  # expanded by the shell in the root
    in_root_rust env CARGO_TARGET_DIR=$CAMERA_TARGET \
        LD_PRELOAD="$SHIM" LIBCAMERA_LOG_NO_COLOR=1 LIBCAMERA_LOG_LEVELS="*:WARN" \
        UDMABUF_SHIM_HANG_FILE=$HANG_FILE UDMABUF_SHIM_HANG_MAX_S=60 \
        sh -c 'cd /src && cargo test -j "${CARGO_BUILD_JOBS:-2}" --features libcamera --test camera -- --test-threads=1'
}

main() {
    trap 'report; rm -rf "$WORK"' EXIT
    step "trixie root + packages" prepare_root
    step "compile udmabuf shim" build_shim
    step "cam -l" cam_list
    step "cam -c 1 -I" cam_info
    step "cam -c 1 --capture=3" cam_capture
    step "streamserver: build --features libcamera" camera_build
    step "streamserver: camera unit tests" camera_unit_tests
    step "streamserver list-cameras" camera_list
    step "streamserver: tests/camera.rs (virtual camera)" camera_integration_tests
    echo "libcamera-check: OK"
}

main "$@"
