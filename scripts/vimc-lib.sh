# shellcheck shell=bash
# vimc-lib.sh — the vimc test camera's parts shared by scripts/vimc-check.sh and
# scripts/appliance-check.sh (sourced, not run):
#   vimc_build_packages KVER    the packages a trixie root needs to build vimc.ko for KVER
#   vimc_build ROOTSH KVER OUT  build vimc.ko in the root of ROOTSH (scripts/trixie-root.sh,
#                               with TRIXIE_ROOT set as the caller wants), copy it to OUT
#   vimc_check_bars JPEG DIR    decode JPEG and check vimc's 75% colour bars, in order
#                               (DIR: a scratch directory)
#
# Debian's kernel does not ship vimc, so it is built out of tree from linux-source-6.12's
# drivers/media/test-drivers/vimc against the headers of the kernel that will load it.

VIMC_SOURCE_PACKAGE=linux-source-6.12

vimc_build_packages() { # vimc_build_packages KVER
    echo "linux-headers-$1 $VIMC_SOURCE_PACKAGE make gcc xz-utils kmod"
}

vimc_build() { # vimc_build ROOTSH KVER OUT
    local rootsh=$1 kver=$2 out=$3 root
    root=$("$rootsh" path)
    # shellcheck disable=SC2016  # expanded by the shell in the root
    "$rootsh" run env KVER="$kver" SRC="$VIMC_SOURCE_PACKAGE" sh -ec '
        rm -rf /tmp/vimc-build && mkdir -p /tmp/vimc-build && cd /tmp/vimc-build
        tar -xJf "/usr/src/$SRC.tar.xz" --strip-components=4 "$SRC/drivers/media/test-drivers/vimc"
        make -s -C "/usr/src/linux-headers-$KVER" M=/tmp/vimc-build/vimc CONFIG_VIDEO_VIMC=m -j2 modules
        modinfo -F vermagic vimc/vimc.ko'
    install -D -m 644 "$root/tmp/vimc-build/vimc/vimc.ko" "$out"
}

# Decodes a JPEG with ffmpeg and checks vimc's 75% colour bars along three rows, in order
# (white, yellow, cyan, green, magenta, red, blue, black, cyclic). Prints the bars it saw.
vimc_check_bars() { # vimc_check_bars JPEG DIR
    local size
    size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 "$1" \
        </dev/null) || return 1
    ffmpeg -nostdin -v error -y -i "$1" -f rawvideo -pix_fmt rgb24 - >"$2/vimc-frame.rgb" || return 1
    python3 - "$2/vimc-frame.rgb" "$size" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
w, h = (int(v) for v in sys.argv[2].split(","))
order = [0b111, 0b110, 0b011, 0b010, 0b101, 0b100, 0b001, 0b000]
names = {7: "white", 6: "yellow", 3: "cyan", 2: "green", 5: "magenta", 4: "red", 1: "blue", 0: "black"}
def runs(y):
    out = []
    for x in range(w):
        p = data[(y * w + x) * 3:(y * w + x) * 3 + 3]
        bits = sum((1 << (2 - i)) for i, c in enumerate(p) if c > 100)
        clear = all(c < 60 or c > 140 for c in p)
        if out and out[-1][0] == bits:
            out[-1][1] += 1
        elif clear:
            out.append([bits, 1])
    return [b for b, n in out if n >= w // 32]
rows = [runs(h * k // 4) for k in (1, 2, 3)]
mid = rows[1]
print("bars:", [names[b] for b in mid])
assert len(set(mid)) >= 7, "fewer than 7 bar colours"
for a, b in zip(mid, mid[1:]):
    assert order[(order.index(a) + 1) % 8] == b, "bars out of order (R/B swapped?)"
assert rows[0] == mid == rows[2], "bars are not vertical"
PY
}
