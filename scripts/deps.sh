#!/usr/bin/env bash
# Installs the Debian / Raspberry Pi OS packages streamserver needs, only those missing.
#   scripts/deps.sh build   # building: cmake, nasm (libjpeg-turbo's SIMD), pkg-config, clang
#   scripts/deps.sh test    # building + what the tests run: ffmpeg, shellcheck, systemd-analyze, readelf
# Uses sudo when not root. Safe to run again: it does nothing when all is there.
set -euo pipefail

want=(cmake nasm pkg-config gcc g++ make)
case "${1:-build}" in
  build) ;;
  test) want+=(ffmpeg shellcheck systemd libjpeg-turbo-progs debootstrap curl binutils) ;;
  *) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing packages: ${missing[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
