#!/usr/bin/env bash
# Installs the Debian / Raspberry Pi OS packages streamserver needs, only those missing.
#   scripts/deps.sh build   # building: cmake, nasm (libjpeg-turbo's SIMD), pkg-config, clang
#   scripts/deps.sh test    # building + what the tests run: ffmpeg, shellcheck, systemd-analyze,
#                           # readelf, chromium, and from PyPI opencv-python-headless and playwright
#                           # (the real clients of tests/auth_clients.rs)
# Uses sudo when not root. Safe to run again: it does nothing when all is there.
set -euo pipefail

want=(cmake nasm pkg-config gcc g++ make)
case "${1:-build}" in
  build) ;;
  test) want+=(ffmpeg shellcheck systemd libjpeg-turbo-progs debootstrap curl binutils chromium) ;;
  *) echo "usage: $0 [build|test]" >&2; exit 2 ;;
esac

# pip for the Python clients below, unless the python3 on PATH has it already (pyenv).
if [ "${1:-build}" = test ] && ! python3 -m pip --version >/dev/null 2>&1; then
  want+=(python3-pip)
fi

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing missing packages: ${missing[*]}"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python clients of the tests (the python3 first on PATH; tests print SKIPPED with the reason
# when an import still fails). Playwright drives Debian's /usr/bin/chromium: no browser download.
if [ "${1:-build}" = test ]; then
  py=()
  python3 -c 'import cv2' 2>/dev/null || py+=(opencv-python-headless)
  python3 -c 'import playwright' 2>/dev/null || py+=(playwright)
  if [ ${#py[@]} -gt 0 ]; then
    echo "Installing from PyPI: ${py[*]}"
    user=()
    [ "$(id -u)" -eq 0 ] || user=(--user)
    python3 -m pip install --quiet --disable-pip-version-check "${user[@]}" "${py[@]}" ||
      echo "deps.sh: warning: pip could not install ${py[*]}; their tests will print SKIPPED" >&2
  fi
fi
