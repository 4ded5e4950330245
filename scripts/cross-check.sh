#!/usr/bin/env bash
# cross-check.sh — prove the Raspberry Pi cross builds (issues 5, 8) without Docker.
#
# Does in Debian trixie roots (scripts/trixie-root.sh) what cross/Dockerfile.*
# do in an image: installs the packages of cross/packages-<arch>.txt (the same
# files the Dockerfiles read), then for every target:
#   1. cargo build --release of the packages (CROSS_PACKAGES) with Debian's
#      rustc-web/cargo-web, whose libstd-rust-web-dev:<arch> supplies the
#      target's std (the host's rustup toolchain is not used);
#   2. their unit tests (`cargo test --release`, libraries and the binaries of
#      packages without a library) run under qemu-user, reusing step 1's
#      dependencies;
#   3. the server binary under qemu-user on the test pattern: over loopback
#      only, /snapshot.jpg is a JPEG that decodes and /stream.mjpg delivers 30
#      parts; then each command of CROSS_RUN (e.g. a helper's `version`).
# Every target asked for is required: one that cannot be proven (its packages
# cannot be installed — e.g. the mirror's index for its architecture is
# broken —, it does not compile, a unit test fails, or it does not serve)
# FAILS the check, which says why. No target is skipped; the few unit tests
# that cannot work under qemu-user are listed in QEMU_SKIPS with the reason,
# and printed.
#
# Usage: scripts/cross-check.sh [CRATE_DIR]
#   CRATE_DIR       crate or workspace to build (default: the checkout). One
#                   outside the checkout is bind-mounted at /crate in the root.
# Environment:
#   CROSS_TARGETS   targets to prove, of "aarch64 armv7" (default: both)
#   CROSS_PACKAGES  cargo packages to build and unit-test, space separated
#                   (default: the checkout's REPO_PACKAGES below; for another
#                   crate, its [package] name)
#   CROSS_SERVER    binary given the HTTP proof (default: the [package] name of
#                   CRATE_DIR/Cargo.toml; CROSS_BIN is read as an old name)
#   CROSS_RUN       more commands to run under qemu-user, ';' separated, each
#                   "BINARY ARG..." and required to exit 0 (default: the
#                   checkout's REPO_RUN below; none for another crate)
#   CROSS_FRAMES    stream parts to require (default: 30)
#   CROSS_PORT      first loopback port to use (default: 18931)
#   CROSS_TEST_TIMEOUT  bound of each target's unit-test run, s (default: 900)
#   CROSS_ROOTS     directory of the per-target roots (default: <repo>/.trixie);
#                   each target gets its own root, cross-<arch>, because
#                   libcamera-dev is not Multi-Arch: same (one arch per root)
#   CARGO_PROFILE_RELEASE_DEBUG  debug info of the cross builds (default here:
#                   false — the check needs none, and it saves build time; the
#                   crate's own release profile is unchanged)
#   CARGO_BUILD_JOBS             (default: 2)
#
# Cold start (no roots): the packages all targets share (build tools, Debian's
# Rust, qemu-user) are installed once, in the first root, which is then copied
# for the other targets; then every target gets its own architecture's
# packages, all targets at once.
# Build output goes to target/trixie-cross, shared by the targets so that
# build scripts and proc macros (host code, same Debian rustc) compile once.
set -euo pipefail

# What the check builds and runs for this repository: the server and the
# camera helper (camera/, the only binary that links libcamera — against the
# target's libcamera-dev in the root), each run once under qemu-user.
REPO_PACKAGES="streamserver streamserver-camera"
REPO_RUN="streamserver --version; streamserver-camera version"

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

# Unit tests that cannot pass under qemu-user: NAME|REASON, NAME the tail of
# the test's path (cargo test's --skip: a substring, so it survives a module
# move). Each is printed with its reason, and entries that match no test are
# reported; they all still run natively in `cargo test`.
QEMU_SKIPS=(
    "camera::process::tests::a_missing_helper_is_a_spawn_error_naming_the_path|qemu-user runs posix_spawn's CLONE_VFORK child as a plain fork, so a failed exec reaches the parent as exit status 127, not as a spawn error (rust-lang/rust#90825)"
    "encode_pool::tests::dropping_the_pool_joins_its_named_workers|qemu-user lets pthread_join return before the joined thread's host thread has left /proc/self/task, which the test reads right after the join"
)

# --- in-root steps (this same file, run inside the root as /src/scripts/...) --
use_cross_env() { # ARCH TARGET_DIR
    local line
    while IFS= read -r line; do export "${line?}"; done < <(cross_env "$1")
    export CARGO_TARGET_DIR=$2
    export CARGO_PROFILE_RELEASE_DEBUG=${CARGO_PROFILE_RELEASE_DEBUG:-false}
}

in_root_build() { # ARCH CRATE_DIR TARGET_DIR PACKAGE...
    local arch=$1 crate=$2 target_dir=$3 triple p args=()
    shift 3
    read -r triple _ < <(target_info "$arch")
    use_cross_env "$arch" "$target_dir"
    echo "cross-check: cross environment:"; cross_env "$arch" | sed 's/^/    /'
    echo "    CARGO_PROFILE_RELEASE_DEBUG=$CARGO_PROFILE_RELEASE_DEBUG"
    echo "cross-check: $(command -v cargo): $(cargo --version); $(rustc --version)"
    for p in "$@"; do args+=(-p "$p"); done
    cd "$crate"
    cargo build --release --locked -j "${CARGO_BUILD_JOBS:-2}" --target "$triple" "${args[@]}"
}

in_root_unit_tests() { # ARCH CRATE_DIR TARGET_DIR build|run TIMEOUT CARGO-TEST-ARGS... [-- TEST-ARGS...]
    local arch=$1 crate=$2 target_dir=$3 mode=$4 limit=$5 triple rc=0
    shift 5
    read -r triple _ < <(target_info "$arch")
    use_cross_env "$arch" "$target_dir"
    cd "$crate"
    local cargo=(cargo test --release --locked -j "${CARGO_BUILD_JOBS:-2}" --target "$triple")
    if [ "$mode" = build ]; then
        local a args=()
        for a in "$@"; do [ "$a" = -- ] && break; args+=("$a"); done
        "${cargo[@]}" --no-run "${args[@]}"
    else
        # --no-fail-fast: every test binary runs, so all failures are reported at once.
        timeout --kill-after=10 "$limit" "${cargo[@]}" --no-fail-fast "$@" || rc=$?
        [ $rc != 124 ] || echo "cross-check: unit tests did not finish within ${limit}s" >&2
        return $rc
    fi
}

in_root_serve() { # ARCH BINARY PORT FRAMES
    local arch=$1 bin=$2 port=$3 frames=$4 qemu work pid rc=0
    read -r _ _ _ qemu < <(target_info "$arch")
    [ -x "$bin" ] || { echo "cross-check: FAIL ($arch): no binary $bin (is it in CROSS_PACKAGES?)" >&2; exit 1; }
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

in_root_command() { # ARCH BINARY [ARG...]: runs it under qemu-user (60 s at most), must exit 0
    local arch=$1 bin=$2 qemu rc=0
    shift 2
    read -r _ _ _ qemu < <(target_info "$arch")
    [ -x "$bin" ] || { echo "cross-check: FAIL ($arch): no binary $bin (is its package in CROSS_PACKAGES?)" >&2; exit 1; }
    timeout --kill-after=5 60 "$qemu" -L / "$bin" "$@" || rc=$?
    [ $rc = 0 ] || { echo "cross-check: FAIL ($arch): '$(basename "$bin") $*' exited $rc" >&2; exit 1; }
}

case ${1:-} in
    __in-root-build) shift; in_root_build "$@"; exit ;;
    __in-root-unit-tests) shift; in_root_unit_tests "$@"; exit ;;
    __in-root-serve) shift; in_root_serve "$@"; exit ;;
    __in-root-command) shift; in_root_command "$@"; exit ;;
esac

# --- host side ----------------------------------------------------------------
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOTSH=$REPO/scripts/trixie-root.sh
CRATE=$(cd "${1:-$REPO}" && pwd)
TARGETS=${CROSS_TARGETS:-aarch64 armv7}
FRAMES=${CROSS_FRAMES:-30}
PORT=${CROSS_PORT:-18931}
TEST_TIMEOUT=${CROSS_TEST_TIMEOUT:-900}
ROOTS=${CROSS_ROOTS:-$REPO/.trixie}
# Settings passed into the roots (trixie-root.sh runs commands with a clean environment).
TRIXIE_ENV="CARGO_PROFILE_RELEASE_DEBUG=${CARGO_PROFILE_RELEASE_DEBUG:-false} CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}"
export TRIXIE_ENV

die() { echo "cross-check: error: $*" >&2; exit 1; }
[ -f "$CRATE/Cargo.toml" ] || die "no Cargo.toml in $CRATE"
[ -z "${CROSS_REQUIRE:-}" ] || echo "cross-check: note: CROSS_REQUIRE is no longer read: every target in CROSS_TARGETS is required" >&2
for arch in $TARGETS; do target_info "$arch" >/dev/null || exit 1; done
[ -n "${TARGETS// /}" ] || die "CROSS_TARGETS is empty"

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

manifest_names() { # manifest_names FILE SECTION: every name = "…" in [SECTION] / [[SECTION]] tables
    awk -v sec="$2" '
        /^[ \t]*\[/ { s = $0; gsub(/[][ \t]/, "", s); p = (s == sec); next }
        p && $1 == "name" { v = $0; sub(/^[^=]*=[ \t]*"/, "", v); sub(/".*/, "", v); print v }' "$1"
}
ROOT_PACKAGE=$(manifest_names "$CRATE/Cargo.toml" package | head -n 1)
if [ "$CRATE" = "$REPO" ]; then
    PACKAGES=${CROSS_PACKAGES:-$REPO_PACKAGES}
    RUN=${CROSS_RUN-$REPO_RUN}
else
    PACKAGES=${CROSS_PACKAGES:-$ROOT_PACKAGE}
    RUN=${CROSS_RUN:-}
fi
SERVER=${CROSS_SERVER:-${CROSS_BIN:-$ROOT_PACKAGE}}
read -r -a PACKAGE_LIST <<<"$PACKAGES"
[ ${#PACKAGE_LIST[@]} -gt 0 ] || die "no package to build: $CRATE/Cargo.toml has no [package]; set CROSS_PACKAGES"
[ -n "$SERVER" ] || die "no server binary: set CROSS_SERVER"

# Unit-test targets: every library, and the binaries of packages without one
# (a package's directory is the crate's or a member's one level down).
TEST_ARGS=()
any_lib=0
for p in "${PACKAGE_LIST[@]}"; do
    dir=""
    for m in "$CRATE/Cargo.toml" "$CRATE"/*/Cargo.toml; do
        if [ -f "$m" ] && [ "$(manifest_names "$m" package | head -n 1)" = "$p" ]; then dir=$(dirname "$m"); break; fi
    done
    [ -n "$dir" ] || die "package '$p' (CROSS_PACKAGES) is neither $CRATE's nor a member's one level down"
    TEST_ARGS+=(-p "$p")
    if [ -f "$dir/src/lib.rs" ] || grep -q '^[[:space:]]*\[lib\]' "$dir/Cargo.toml"; then
        any_lib=1
    else
        while read -r b; do TEST_ARGS+=(--bin "$b"); done < <({
            # src/main.rs is a binary named after the package unless a [[bin]] claims it.
            if [ -f "$dir/src/main.rs" ] && ! grep -Eq '^[[:space:]]*path[[:space:]]*=[[:space:]]*"src/main.rs"' "$dir/Cargo.toml"; then
                echo "$p"
            fi
            manifest_names "$dir/Cargo.toml" bin
            for f in "$dir"/src/bin/*.rs; do if [ -f "$f" ]; then basename "$f" .rs; fi; done
        } | sort -u)
    fi
done
[ $any_lib = 0 ] || TEST_ARGS+=(--lib)
TEST_FILTER=(--)
for s in "${QEMU_SKIPS[@]}"; do TEST_FILTER+=(--skip "${s%%|*}"); done

timings=()
TIMES_FILE=$(mktemp)
cpu_seconds() { # sets CPU to the user + system time (s) of this shell's finished children so far
    times >"$TIMES_FILE"   # not in a subshell: a subshell's children times start at 0
    CPU=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }; printf "%d\n", t }' "$TIMES_FILE")
}
step() { # step LABEL CMD...: runs CMD, records its wall-clock and CPU time
    local label=$1 t0=$SECONDS c0 rc=0; shift
    cpu_seconds; c0=$CPU
    echo "=== cross-check: $label"
    "$@" || rc=$?
    cpu_seconds
    timings+=("$(printf '%-62s %5ss %5ss CPU  %s' "$label" $((SECONDS - t0)) $((CPU - c0)) \
        "$([ $rc = 0 ] && echo ok || echo "FAILED ($rc)")")")
    return $rc
}
report() {
    rm -f "$TIMES_FILE"
    echo "=== cross-check: timings (wall clock, and CPU time used: the machine may be shared)"
    printf '    %s\n' "${timings[@]}"
}
trap report EXIT

root_for() { echo "$ROOTS/cross-$1"; }
root_ready() { [ -e "$(root_for "$1")/.streamserver-trixie-base-complete" ]; }
in_root() { # in_root ARCH CMD...
    local arch=$1; shift
    TRIXIE_ROOT=$(root_for "$arch") TRIXIE_BINDS=$BINDS "$ROOTSH" run "$@"
}
pkgs_of() { # pkgs_of ARCH: cross/packages-ARCH.txt plus the proof's own tools
    local debarch
    read -r _ debarch _ < <(target_info "$1")
    sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$REPO/cross/packages-$1.txt"
    # Debian's Rust with the target's std, qemu-user, curl + djpeg for the HTTP check.
    printf '%s\n' rustc-web cargo-web "libstd-rust-web-dev:$debarch" qemu-user curl libjpeg-turbo-progs
}
ensure_root() { # ensure_root ARCH PKG...
    local arch=$1 rc=0; shift
    TRIXIE_ROOT=$(root_for "$arch") "$ROOTSH" ensure "$@" || rc=$?
    return $rc
}
# copy_root FROM TO: a new root as a copy of a complete one (no mounts may be
# active under FROM: it is not in use while this script runs its steps).
has_mounts() { awk -v r="$1" '$2 == r || index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; }
copy_root() {
    local from to d
    from=$(root_for "$1") to=$(root_for "$2")
    for d in "$from" "$to" "$to.copy"; do
        if has_mounts "$d"; then echo "cross-check: $d has active mounts (a concurrent run?); not copying" >&2; return 1; fi
    done
    rm -rf --one-file-system "$to.copy"
    cp -a --one-file-system "$from" "$to.copy"
    rm -rf --one-file-system "$to"
    mv "$to.copy" "$to"
}

logged() { # logged FILE CMD...: runs CMD, its output both shown and kept in FILE
    local f=$1; shift
    "$@" 2>&1 | tee "$f"
    return "${PIPESTATUS[0]}"
}

declare -A why=()   # arch -> why it failed
fail_arch() { why[$1]=$2; echo "cross-check: FAIL ($1): $2" >&2; }

# --- roots: shared packages once, then each architecture's ------------------
missing=()
for arch in $TARGETS; do root_ready "$arch" || missing+=("$arch"); done
if [ ${#missing[@]} -ge 2 ]; then
    # Packages every missing target needs (and that name no architecture).
    common=$(for arch in "${missing[@]}"; do pkgs_of "$arch" | grep -v ':' | sort -u; done \
        | sort | uniq -c | awk -v n=${#missing[@]} '$1 == n { print $2 }')
    first=${missing[0]}
    # shellcheck disable=SC2086  # one package per word
    if step "roots: $first with the shared packages (once)" ensure_root "$first" $common; then
        for arch in "${missing[@]:1}"; do
            step "roots: $arch as a copy of $first" copy_root "$first" "$arch" || true
        done
    fi   # on failure each target's own ensure below tries again and reports why
fi

# Each target's packages, all targets at once (download and dpkg: little CPU).
declare -A ensure_rc=()
ensure_all() {
    local arch i=0 rc any=0 pids=() logs=()
    for arch in $TARGETS; do
        logs+=("$(mktemp)")
        (
            t0=$SECONDS rc=0
            mapfile -t pkgs < <(pkgs_of "$arch")
            ensure_root "$arch" "${pkgs[@]}" || rc=$?
            echo "cross-check: $arch: packages done in $((SECONDS - t0))s (exit $rc)"
            exit $rc
        ) >"${logs[$i]}" 2>&1 &
        pids+=($!)
        i=$((i + 1))
    done
    i=0
    for arch in $TARGETS; do
        rc=0
        wait "${pids[$i]}" || rc=$?
        echo "--- $arch:"; cat "${logs[$i]}"; rm -f "${logs[$i]}"
        ensure_rc[$arch]=$rc
        [ $rc = 0 ] || any=1
        i=$((i + 1))
    done
    return $any
}
step "roots: each target's packages (all targets at once)" ensure_all || true

for arch in $TARGETS; do
    read -r triple debarch _ _ < <(target_info "$arch")
    rc=${ensure_rc[$arch]}
    if [ "$rc" = 3 ]; then
        fail_arch "$arch" "its packages cannot be installed: apt-get update failed, the mirror's package index (for $debarch?) could not be fetched (see above)"; continue
    elif [ "$rc" != 0 ]; then
        fail_arch "$arch" "its packages cannot be installed (trixie-root.sh ensure exited $rc, see above)"; continue
    fi
    step "$arch: cargo build --release ($PACKAGES)" \
        in_root "$arch" bash /src/scripts/cross-check.sh __in-root-build "$arch" "$CRATE_IN" "$TARGET_IN" "${PACKAGE_LIST[@]}" \
        || { fail_arch "$arch" "cargo build --release --target $triple failed (compiler output above)"; continue; }
    unit=(in_root "$arch" bash /src/scripts/cross-check.sh __in-root-unit-tests "$arch" "$CRATE_IN" "$TARGET_IN")
    step "$arch: unit tests: cargo test --release --no-run" "${unit[@]}" build 0 "${TEST_ARGS[@]}" \
        || { fail_arch "$arch" "the unit tests do not compile for $triple (compiler output above)"; continue; }
    for s in "${QEMU_SKIPS[@]}"; do echo "cross-check: SKIPPED under qemu-user: ${s%%|*}: ${s#*|}"; done
    log=$(mktemp)
    rc=0
    step "$arch: unit tests: run under qemu-user" logged "$log" "${unit[@]}" run "$TEST_TIMEOUT" "${TEST_ARGS[@]}" "${TEST_FILTER[@]}" || rc=$?
    if [ $rc != 0 ]; then
        failures=$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$log" | sort -u | tr '\n' ' ')
        fail_arch "$arch" "unit tests failed under qemu-user (exit $rc)${failures:+: ${failures% }}"
        rm -f "$log"; continue
    fi
    grep -E '^test result:' "$log" | sed 's/^/cross-check: /' || true
    filtered=$(sed -n 's/^test result:.* \([0-9]*\) filtered out.*/\1/p' "$log" | awk '{ n += $1 } END { print n + 0 }')
    [ "$filtered" -ge ${#QEMU_SKIPS[@]} ] \
        || echo "cross-check: warning ($arch): ${#QEMU_SKIPS[@]} QEMU_SKIPS entries but $filtered tests skipped: remove the entries that name no test" >&2
    rm -f "$log"
    bindir=$TARGET_IN/$triple/release
    step "$arch: run under qemu-user: snapshot + $FRAMES frames" \
        in_root "$arch" bash /src/scripts/cross-check.sh __in-root-serve "$arch" "$bindir/$SERVER" "$PORT" "$FRAMES" \
        || { fail_arch "$arch" "$SERVER did not serve under qemu-user (see above)"; continue; }
    PORT=$((PORT + 1))
    IFS=';' read -r -a commands <<<"$RUN"
    for c in "${commands[@]}"; do
        read -r -a words <<<"$c"
        [ ${#words[@]} -gt 0 ] || continue
        step "$arch: run under qemu-user: ${words[*]}" \
            in_root "$arch" bash /src/scripts/cross-check.sh __in-root-command "$arch" "$bindir/${words[0]}" "${words[@]:1}" \
            || { fail_arch "$arch" "'${words[*]}' failed under qemu-user (see above)"; break; }
    done
done

proven=()
for arch in $TARGETS; do [ -n "${why[$arch]:-}" ] || proven+=("$arch"); done
if [ ${#why[@]} -gt 0 ]; then
    echo "cross-check: FAILED:" >&2
    for arch in $TARGETS; do [ -z "${why[$arch]:-}" ] || echo "    $arch: ${why[$arch]}" >&2; done
    [ ${#proven[@]} -eq 0 ] || echo "cross-check: proven: ${proven[*]}" >&2
    exit 1
fi
echo "cross-check: OK: ${proven[*]} ($PACKAGES: built, unit tests passed under qemu-user, $SERVER served${RUN:+, ran: $RUN})"
