#!/usr/bin/env bash
# Fuzzes the multipart parser, the JPEG validator, the camera helper protocol's readers and the
# server's request path (http_request: hyper, routes, access control) with cargo-fuzz
# (libFuzzer + AddressSanitizer).
#
#   scripts/fuzz.sh [SECONDS]   run each target for SECONDS (default 15; CI runs the default)
#
# Needs cargo-fuzz (installed from crates.io if missing) and a nightly toolchain; without one the
# stable compiler is used with RUSTC_BOOTSTRAP=1 (cargo-fuzz passes -Z flags). The corpus grows in
# fuzz/corpus/<target> (git-ignored) from the seeds in fuzz/seeds/<target>; a crash is saved in
# fuzz/artifacts/<target>/ and makes this script fail. Replay one with
#   cargo fuzz run <target> fuzz/artifacts/<target>/crash-…
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
targets=(multipart jpeg_check camera_protocol http_request)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi
toolchain=()
# Never let rustup try to download a toolchain (no network beyond the registries).
export RUSTUP_AUTO_INSTALL=0
if rustc +nightly --version >/dev/null 2>&1; then
    toolchain=(+nightly)
else
    echo "== no nightly toolchain: using stable with RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
fi

echo "== building the fuzz targets"
cargo "${toolchain[@]}" fuzz build --release

for target in "${targets[@]}"; do
    corpus=fuzz/corpus/$target
    mkdir -p "$corpus" "fuzz/artifacts/$target"
    echo "== fuzzing $target for ${seconds}s"
    # -rss_limit_mb: a bounded parser must stay small; -max_len: frames up to 64 KiB.
    log=fuzz/artifacts/$target/last-run.log
    set +e
    cargo "${toolchain[@]}" fuzz run --release "$target" "$corpus" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=1024 -timeout=10 \
        -print_final_stats=1 >"$log" 2>&1
    status=$?
    set -e
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$log" >&2
        echo "FAIL: $target (exit $status); full log $log, inputs in fuzz/artifacts/$target" >&2
        exit "$status"
    fi
done
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crash"
