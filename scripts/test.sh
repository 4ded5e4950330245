#!/usr/bin/env bash
# Runs the whole test suite: installs missing packages, then
#   1. cargo test (unit tests, integration tests against the real server on 127.0.0.1,
#      ffmpeg/ffprobe as real clients, the deployment scripts under a fake-systemctl harness);
#   2. the proofs in Debian trixie roots (need root or sudo, and some minutes the first time
#      while the roots are built): libcamera (scripts/libcamera-check.sh: the helper against
#      libcamera's virtual camera), the Pi cross builds (scripts/cross-check.sh), the kernel's
#      vimc camera in Debian's kernel under qemu (scripts/vimc-check.sh), and the installed
#      appliance booted with systemd under qemu (scripts/appliance-check.sh).
# `scripts/test.sh --quick` runs only step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

scripts/deps.sh test
cargo test --locked --workspace --all-targets 2>&1
cargo test --locked --workspace --doc 2>&1

if [ "$quick" = 1 ]; then
  echo "test.sh: --quick: skipped the trixie-root checks (libcamera, cross build)"
  exit 0
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
for check in scripts/libcamera-check.sh scripts/cross-check.sh scripts/vimc-check.sh \
    scripts/appliance-check.sh; do
  if [ -x "$check" ]; then
    echo "== $check"
    "${sudo[@]}" "$check"
  fi
done
