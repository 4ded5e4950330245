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
# and 3 frames); then the camera helper's work (host rustup toolchain): build
# streamserver-camera with --features libcamera (and streamserver, which must
# not link libcamera even here), clippy on the libcamera code,
# `streamserver-camera list` and `version`, the
# linking check (readelf), and all the helper's tests in that build, among
# them camera/tests/virtual_camera.rs (colour bars over the helper protocol,
# idle/Alive, Stop releasing the camera, a second helper, a hung camera
# reported and left behind). Prints the time of each step.
#
# Environment: TRIXIE_ROOT (default <repo>/.trixie/root), see trixie-root.sh.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOTSH=$REPO/scripts/trixie-root.sh
ROOT=$("$ROOTSH" path)
PACKAGES=(libcamera-dev libcamera-ipa libcamera-tools libclang-dev pkg-config g++ cmake make nasm curl)
SHIM=/usr/local/lib/udmabuf-shim.so          # inside the root
RUST_PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

die() { echo "libcamera-check: FAIL: $*" >&2; exit 1; }
in_root() { "$ROOTSH" run "$@"; }
# Run in the root with the shim preloaded (and libcamera's log without colour).
in_root_shim() { in_root env LD_PRELOAD="$SHIM" LIBCAMERA_LOG_NO_COLOR=1 "$@"; }
# Run in the root with the host's rustup toolchain first on PATH; debug builds
# without debug info or incremental state (about 1 GiB of target instead of
# 4.5; panics still name file and line).
in_root_rust() { in_root env PATH="$RUST_PATH" CARGO_PROFILE_DEV_DEBUG=0 CARGO_INCREMENTAL=0 "$@"; }

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
# The camera helper (streamserver-camera, camera/), the only binary that links
# libcamera, built with the host's rustup toolchain against the root's
# libcamera; its tests run with the udmabuf shim preloaded (one test thread:
# one camera) and STREAMSERVER_CAMERA_CHECK=1 (camera/tests/virtual_camera.rs
# runs only then). UDMABUF_SHIM_HANG_FILE names the shim's fault trigger: the
# hang step creates it to hang the camera's buffer mapping (a hung driver).
# ---------------------------------------------------------------------------
CAMERA_TARGET=/src/target/trixie-libcamera
HANG_FILE=/tmp/udmabuf-shim.hang              # inside the root
HELPER=$CAMERA_TARGET/debug/streamserver-camera

camera_build() {
    # shellcheck disable=SC2016  # expanded by the shell in the root
    in_root_rust env CARGO_TARGET_DIR=$CAMERA_TARGET \
        sh -c 'cd /src && cargo build -j "${CARGO_BUILD_JOBS:-2}" -p streamserver -p streamserver-camera --features streamserver-camera/libcamera'
}

# The libcamera-only code is linted here (the host's clippy builds without it).
camera_clippy() {
    # shellcheck disable=SC2016  # expanded by the shell in the root
    in_root_rust env CARGO_TARGET_DIR=$CAMERA_TARGET \
        sh -c 'cd /src && cargo clippy -j "${CARGO_BUILD_JOBS:-2}" -p streamserver-camera --features libcamera --all-targets -- -D warnings'
}

camera_list() {
    in_root_shim $HELPER list >"$WORK/list.txt" 2>&1 \
        || { cat "$WORK/list.txt"; die "streamserver-camera list exited non-zero"; }
    cat "$WORK/list.txt"
    grep -q '^0: Virtual0 ' "$WORK/list.txt" || die "streamserver-camera list does not list Virtual0"
}

camera_version() {
    in_root $HELPER version >"$WORK/version.txt" 2>&1 \
        || { cat "$WORK/version.txt"; die "streamserver-camera version exited non-zero"; }
    cat "$WORK/version.txt"
    grep -q '^libcamera built against: 0\.4\.' "$WORK/version.txt" || die "version: not built against libcamera 0.4"
    grep -q '^libcamera loaded: .*0\.4\.' "$WORK/version.txt" || die "version: libcamera 0.4 not loaded"
}

# Only the helper links libcamera (and the C++ runtime), also in this build.
camera_linking() {
    local needed
    needed=$(in_root readelf -d $HELPER | grep NEEDED)
    echo "streamserver-camera: $needed" | grep -E 'libcamera|stdc' || true
    grep -q 'libcamera\.so' <<<"$needed" || die "streamserver-camera does not link libcamera"
    needed=$(in_root readelf -d $CAMERA_TARGET/debug/streamserver | grep NEEDED)
    if grep -E 'libcamera|libstdc\+\+' <<<"$needed"; then die "streamserver links libcamera or libstdc++"; fi
    echo "streamserver: no libcamera, no libstdc++ in NEEDED"
}

camera_tests() {
    rm -f "$ROOT$HANG_FILE"
    # shellcheck disable=SC2016  # expanded by the shell in the root
    in_root_rust env CARGO_TARGET_DIR=$CAMERA_TARGET \
        LD_PRELOAD="$SHIM" LIBCAMERA_LOG_NO_COLOR=1 LIBCAMERA_LOG_LEVELS="*:WARN" \
        STREAMSERVER_CAMERA_CHECK=1 UDMABUF_SHIM_HANG_FILE=$HANG_FILE UDMABUF_SHIM_HANG_MAX_S=30 \
        sh -c 'cd /src && cargo test -j "${CARGO_BUILD_JOBS:-2}" -p streamserver-camera --features libcamera -- --test-threads=1 --nocapture' \
        2>&1 | tee "$WORK/camera-tests.txt"
    local rc=${PIPESTATUS[0]}
    rm -f "$ROOT$HANG_FILE"
    [ "$rc" = 0 ] || die "the camera helper's tests failed"
    ! grep -q '^SKIPPED' "$WORK/camera-tests.txt" || die "a camera test was skipped in the libcamera build"
}

main() {
    trap 'report; rm -rf "$WORK"' EXIT
    step "trixie root + packages" prepare_root
    step "compile udmabuf shim" build_shim
    step "cam -l" cam_list
    step "cam -c 1 -I" cam_info
    step "cam -c 1 --capture=3" cam_capture
    step "build streamserver + streamserver-camera (libcamera)" camera_build
    step "clippy -D warnings (libcamera build)" camera_clippy
    step "streamserver-camera list" camera_list
    step "streamserver-camera version" camera_version
    step "linking: only the helper has libcamera" camera_linking
    step "streamserver-camera: tests (virtual camera)" camera_tests
    echo "libcamera-check: OK"
}

main "$@"
