#!/usr/bin/env bash
# Runs the whole test suite: installs missing packages, then
#   1. cargo test (unit tests, integration tests against the real server on 127.0.0.1,
#      ffmpeg/ffprobe as real clients, the deployment scripts under a fake-systemctl harness);
#   2. the proofs in Debian trixie roots (need root or sudo, and some minutes the first time
#      while the roots are built): libcamera (scripts/libcamera-check.sh: the helper against
#      libcamera's virtual camera), the kernel's vimc camera in Debian's kernel under qemu
#      (scripts/vimc-check.sh), the installed appliance booted with systemd under qemu
#      (scripts/appliance-check.sh), and the Pi cross builds (scripts/cross-check.sh).
# `scripts/test.sh --quick` runs only step 1.
#
# The roots and build output stay in .trixie/ and target/ for the next run. With CI=true (a
# one-off clone on a machine whose disk is shared) each is deleted as soon as no later step
# needs it, and the cross targets are proven one at a time: kept, they take ~13 GB (the CI run
# peaks at ~4 GB).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1
ci=0
[ "${CI:-}" = true ] && ci=1

free_disk() { echo "test.sh: disk: $(df -h --output=avail . | tail -1 | tr -d ' ') free $*"; }

scripts/deps.sh test
free_disk "before cargo test"
cargo test --locked --workspace --all-targets 2>&1
cargo test --locked --workspace --doc 2>&1
free_disk "after cargo test ($(du -sh target 2>/dev/null | cut -f1) in target/)"

if [ "$quick" = 1 ]; then
  echo "test.sh: --quick: skipped the trixie-root checks (libcamera, vimc, appliance, cross builds)"
  exit 0
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
run_check() {
  echo "== $*"
  "${sudo[@]}" env "$@"
  free_disk "after $*"
}
# CI only: deletes roots (safely: refused while mounted) and build output no later step needs.
ci_remove() {
  [ "$ci" = 1 ] || return 0
  local p
  for p in "$@"; do
    # A trixie root: trixie-root.sh refuses while anything is mounted in it. A failed removal
    # only costs disk: the next step runs anyway (and says so if the disk is then too small).
    if [ -d "$p/etc" ]; then
      "${sudo[@]}" env TRIXIE_ROOT="$PWD/$p" scripts/trixie-root.sh remove \
        || echo "test.sh: warning: $p not removed (see above)"
    else
      "${sudo[@]}" rm -rf "$p" || echo "test.sh: warning: $p not removed"
    fi
  done
  free_disk "after removing $*"
}

ci_remove target/debug
run_check scripts/libcamera-check.sh
run_check scripts/vimc-check.sh
run_check scripts/appliance-check.sh
ci_remove target/trixie-libcamera .trixie/root .trixie/vm .trixie/appliance
if [ "$ci" = 1 ]; then
  for arch in aarch64 armv7; do
    run_check CROSS_TARGETS=$arch scripts/cross-check.sh
    ci_remove ".trixie/cross-$arch"
  done
  ci_remove target/trixie-cross
else
  run_check scripts/cross-check.sh
fi
