#!/usr/bin/env bash
# vimc-check.sh — capture RGB888 and BGR888 frames from the kernel's vimc test
# camera ("Sensor B") through streamserver, in Debian trixie's own kernel booted
# under qemu-system-x86_64 (TCG; no KVM needed). Takes minutes; scripts/test.sh
# (and so CI) runs it. As root:
#
#   scripts/vimc-check.sh
#
# Steps:
#   1. the trixie root (scripts/trixie-root.sh) with libcamera, Debian's kernel
#      (linux-image-amd64), its headers and linux-source-6.12, busybox-static and
#      udev; qemu-system-x86 on the host (apt) if missing;
#   2. vimc.ko: Debian's kernel does not ship vimc, so it is built from
#      linux-source-6.12's drivers/media/test-drivers/vimc against
#      linux-headers-amd64 and installed under /lib/modules/<ver>/updates;
#   3. streamserver and its camera helper built in the root (the helper with
#      libcamera);
#   4. a tiny initramfs (busybox + the 9p modules) that mounts the trixie root
#      over virtio-9p and runs a guest script in it: start systemd-udevd,
#      modprobe vimc, `streamserver-camera list`, then for rgb888 and bgr888
#      run the server on vimc's Sensor B and fetch /snapshot.jpg, /api/state,
#      a few seconds of /stream.mjpg, a 1280x720 /still.jpg (switch: vimc takes
#      one output) and the controls listing over the guest's loopback;
#   5. on the host: the camera is listed, each format was used as asked (no
#      fallback), the stream has frames, and the decoded snapshots show vimc's
#      75% colour bars in the right order (red and blue swapped = wrong
#      RGB888/BGR888 mapping); the still is 1280x720 with the bars, taken by
#      switch (its gap logged), the stream comes back, and the controls listing
#      has Brightness, Contrast and Saturation; Brightness 0.6 set over HTTP raises the
#      snapshot's mean luma by 10 or more, and AfMode (vimc has none) is a 400. A format libcamera's own `cam` cannot capture
#      either (libcamera 0.4 + kernel 6.12: libcamera "RGB888", our bgr888,
#      fails STREAMON with EPIPE) must fail in streamserver as a reported start
#      error; the check says so, and fails if no format could be captured.
# Prints the time of each step.
#
# Environment: TRIXIE_ROOT (see trixie-root.sh), VIMC_TIMEOUT (guest run, s,
# default 900), VIMC_MEMORY (MiB, default 1536), VIMC_SMP (guest CPUs, default 2: vimc draws
# its frames in the guest's kernel, which on one emulated CPU starves the server beside it).
set -euo pipefail


REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOTSH=$REPO/scripts/trixie-root.sh
# shellcheck source=scripts/vimc-lib.sh
. "$REPO/scripts/vimc-lib.sh"
ROOT=$("$ROOTSH" path)
PACKAGES=(libcamera-dev libcamera-ipa libcamera-tools libclang-dev pkg-config g++ cmake make nasm
          linux-image-amd64 linux-headers-amd64 linux-source-6.12 busybox-static udev kmod xz-utils)
RUST_PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
TARGET=/src/target/trixie-libcamera
OUT=/vimc-out                  # inside the root (the guest writes its results there)
WORK=$(mktemp -d)

die() { echo "vimc-check: FAIL: $*" >&2; exit 1; }
in_root() { "$ROOTSH" run "$@"; }

timings=()
step() { # step LABEL FUNCTION...
    local label=$1 t0=$SECONDS rc=0; shift
    echo "=== vimc-check: $label"
    "$@" || rc=$?
    timings+=("$(printf '%-44s %4ss  %s' "$label" $((SECONDS - t0)) "$([ $rc = 0 ] && echo ok || echo "FAILED ($rc)")")")
    return $rc
}
report() {
    echo "=== vimc-check: timings"
    printf '    %s\n' "${timings[@]}"
}

prepare() {
    if ! command -v qemu-system-x86_64 >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-system-x86 >/dev/null
    fi
    "$ROOTSH" ensure "${PACKAGES[@]}"
    local d
    KVER=""
    for d in "$ROOT"/lib/modules/*-amd64; do
        [ -d "$d" ] && KVER=$(basename "$d")
    done
    [ -n "$KVER" ] || die "no amd64 kernel modules in the root"
    [ -f "$ROOT/boot/vmlinuz-$KVER" ] || die "no kernel image for $KVER in the root"
    echo "kernel $KVER; $(qemu-system-x86_64 --version | head -n 1)"
}

build_vimc() {
    vimc_build "$ROOTSH" "$KVER" "$ROOT/lib/modules/$KVER/updates/vimc.ko"
    in_root depmod -a "$KVER"
}

build_streamserver() {
    # The same profile settings as libcamera-check's build (no debug info, no incremental
    # state), so the two share one build in the target directory instead of two.
    # shellcheck disable=SC2016  # expanded by the shell in the root
    in_root env PATH="$RUST_PATH" CARGO_TARGET_DIR=$TARGET CARGO_PROFILE_DEV_DEBUG=0 CARGO_INCREMENTAL=0 \
        sh -c 'cd /src && cargo build -j "${CARGO_BUILD_JOBS:-2}" -p streamserver -p streamserver-camera --features streamserver-camera/libcamera'
    install -m 755 "$REPO/target/trixie-libcamera/debug/streamserver" "$ROOT/usr/local/bin/streamserver"
    install -m 755 "$REPO/target/trixie-libcamera/debug/streamserver-camera" "$ROOT/usr/local/bin/streamserver-camera"
}

build_initramfs() {
    local dir=$WORK/initramfs m
    mkdir -p "$dir"/{bin,modules,proc,sys,dev,newroot}
    cp "$ROOT/bin/busybox" "$dir/bin/busybox"
    # The 9p modules and their dependencies, in load order, decompressed (busybox insmod).
    in_root modprobe -S "$KVER" --show-depends -a 9p 9pnet_virtio | awk '$1 == "insmod" { print $2 }' >"$WORK/mods"
    : >"$dir/modules/order"
    while read -r m; do
        local name
        name=$(basename "$m"); name=${name%.xz}; name=${name%.ko}
        grep -qx "$name" "$dir/modules/order" && continue
        case $m in
            *.xz) xz -dc "$ROOT$m" >"$dir/modules/$name.ko" ;;
            *) cp "$ROOT$m" "$dir/modules/$name.ko" ;;
        esac
        echo "$name" >>"$dir/modules/order"
    done <"$WORK/mods"
    cat >"$dir/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do insmod "/modules/$m.ko" || echo "initramfs: insmod $m failed"; done
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 rootfs /newroot; then
    echo "initramfs: cannot mount the 9p root"; echo o >/proc/sysrq-trigger
fi
umount /proc /sys /dev
exec chroot /newroot /bin/sh /usr/local/lib/vimc-guest.sh
EOF
    chmod 755 "$dir/init"
    (cd "$dir" && find . | "$ROOT/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1 >"$WORK/initramfs.gz")
    echo "initramfs: $(wc -c <"$WORK/initramfs.gz") bytes, modules: $(tr '\n' ' ' <"$dir/modules/order")"
}

write_guest_script() {
    install -d "$ROOT/usr/local/lib"
    cat >"$ROOT/usr/local/lib/vimc-guest.sh" <<'EOF'
#!/bin/sh
# Runs as PID 1 in the trixie root under qemu (written by scripts/vimc-check.sh).
OUT=/vimc-out
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
echo 1 >/proc/sys/kernel/sysrq
busybox ip link set lo up
export PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LIBCAMERA_LOG_NO_COLOR=1
echo "guest: $(uname -r)"
/usr/lib/systemd/systemd-udevd --daemon
modprobe vimc && echo "guest: vimc loaded"
udevadm trigger --action=add
udevadm settle --timeout=60
ls -l /dev/media* /dev/video* >"$OUT/devices.txt" 2>&1
streamserver-camera list >"$OUT/list-cameras.txt" 2>&1
cat "$OUT/list-cameras.txt"
# libcamera's own tool on the same camera, for comparison when streamserver fails.
for pf in RGB888 BGR888; do
    cam -c "platform/vimc.0 Sensor B" -s "pixelformat=$pf,width=640,height=480" --capture=3 >"$OUT/cam-$pf.txt" 2>&1
    echo "guest: cam $pf exit $?"
done
index=$(sed -n 's/^\([0-9]*\): .*Sensor B.*/\1/p' "$OUT/list-cameras.txt" | head -n 1)
for fmt in rgb888 bgr888; do
    cat >"/tmp/$fmt.toml" <<CONF
[server]
listen = "127.0.0.1:8080"
[logging]
dir = "/tmp/logs-$fmt"
console = true
[[stream]]
id = "vimc"
source = "camera"
[stream.camera]
select = ${index:-0}
width = 640
height = 480
fps = 10
format = "$fmt"
# Under TCG on a shared 2-core host vimc gives about 1 fps, its first frame about 2 s after
# start (libcamera's own cam above shows it), and the emulated camera can stall for seconds: the
# 2 s default would take that for a hang. A Pi's camera runs at full speed with the default.
frame_timeout = "10s"
still_width = 1280
still_height = 720
still_timeout = "120s"
[stream.supervisor]
stall_timeout = "60s"
CONF
    streamserver --config "/tmp/$fmt.toml" >"$OUT/server-$fmt.log" 2>&1 &
    pid=$!
    n=0 healthy=1
    # The snapshot once the stream is healthy (a live frame, not the placeholder).
    until busybox wget -q -T 10 -O "$OUT/$fmt-health.json" http://127.0.0.1:8080/api/state &&
        grep -q '"healthy": *true' "$OUT/$fmt-health.json"; do
        n=$((n + 1)); [ $n -ge 45 ] && { healthy=0; break; }; sleep 1
    done
    busybox wget -q -T 10 -O "$OUT/$fmt.jpg" http://127.0.0.1:8080/snapshot.jpg
    # 10 s of the stream: vimc under TCG on a busy 2-core host gives 1-10 fps.
    busybox timeout 10 busybox wget -q -O "$OUT/$fmt.mjpg" http://127.0.0.1:8080/stream.mjpg
    busybox wget -q -O "$OUT/$fmt-state.json" http://127.0.0.1:8080/api/state
    if [ "$healthy" = 0 ]; then
        # No live frame in 45 s (a format vimc cannot stream): a still would only wait out its
        # 120 s timeout. The host's verify step fails a format it expected to stream anyway.
        echo "guest: $fmt never streamed: no still or controls steps"
    else
        # A still (vimc takes one output: still_mode auto is switch) and the controls listing.
        busybox wget -q -T 150 -O "$OUT/$fmt-still.jpg" http://127.0.0.1:8080/still.jpg
        busybox wget -q -T 30 -O "$OUT/$fmt-controls.json" http://127.0.0.1:8080/api/streams/vimc/controls
        # The stream after the still: the switch restarts the camera, whose first frame under TCG
        # can take several seconds (3 s were once too few), so 10 s of it.
        busybox timeout 10 busybox wget -q -O "$OUT/$fmt-after.mjpg" http://127.0.0.1:8080/stream.mjpg
        # A control vimc has (Brightness: the picture gets brighter) and one it lacks (AfMode: 400).
        busybox wget -q -T 30 -O "$OUT/$fmt-bright.json" --header 'Content-Type: application/json' \
            --post-data '{"Brightness": 0.6}' http://127.0.0.1:8080/api/streams/vimc/controls
        busybox wget -q -T 30 -O "$OUT/$fmt-afmode.json" --header 'Content-Type: application/json' \
            --post-data '{"AfMode": "auto"}' http://127.0.0.1:8080/api/streams/vimc/controls \
            2>"$OUT/$fmt-afmode.err" || true
        sleep 6
        busybox wget -q -T 10 -O "$OUT/$fmt-bright.jpg" http://127.0.0.1:8080/snapshot.jpg
    fi
    kill "$pid"; wait "$pid"
    echo "guest: $fmt done (server exit $?)"
done
echo ok >"$OUT/done"
sync
echo o >/proc/sysrq-trigger
EOF
    chmod 755 "$ROOT/usr/local/lib/vimc-guest.sh"
    rm -rf "${ROOT:?}$OUT" && mkdir -p "$ROOT$OUT"
}

boot_guest() {
    # The root is exported as is: no `trixie-root.sh run` mounts may be active now.
    if awk -v r="$ROOT" 'index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; then
        die "the trixie root has active mounts (a concurrent run?)"
    fi
    timeout "${VIMC_TIMEOUT:-900}" qemu-system-x86_64 -accel tcg -m "${VIMC_MEMORY:-1536}" -smp "${VIMC_SMP:-2}" -cpu max \
        -nographic -no-reboot -serial mon:stdio \
        -kernel "$ROOT/boot/vmlinuz-$KVER" -initrd "$WORK/initramfs.gz" \
        -append "console=ttyS0 panic=-1 loglevel=4" \
        -virtfs "local,path=$ROOT,mount_tag=rootfs,security_model=passthrough,id=rootfs" \
        </dev/null >"$WORK/guest.log" 2>&1 || true
    grep -a -E '^(guest|initramfs):|^[0-9]+: |NV12|RGB888|BGR888' "$WORK/guest.log" || true
    [ -f "$ROOT$OUT/done" ] || { tail -n 60 "$WORK/guest.log"; die "the guest did not finish (log above)"; }
}

# libcamera's name for one of our formats (DRM naming: its RGB888 is our bgr888).
libcamera_name() { case $1 in rgb888) echo BGR888 ;; bgr888) echo RGB888 ;; esac; }

verify() {
    local o=$ROOT$OUT fmt parts lc
    cat "$o/devices.txt"
    grep -q 'Sensor B' "$o/list-cameras.txt" || die "list-cameras does not list vimc's Sensor B"
    for fmt in rgb888 bgr888; do
        lc=$(libcamera_name $fmt)
        echo "--- $fmt (libcamera $lc)"
        sed 's/\x1b\[[0-9;]*m//g' "$o/server-$fmt.log" >"$WORK/server-$fmt.log"
        grep -a -E 'camera streaming|does not offer|ERROR' "$WORK/server-$fmt.log" | head -n 6 | cut -c1-220 || true
        if ! grep -q 'seq: 000002' "$o/cam-$lc.txt"; then
            # libcamera itself cannot capture this format here: streamserver must report the
            # same start failure (and keep retrying), not pretend or crash.
            grep -q 'Failed to start streaming: Broken pipe' "$o/cam-$lc.txt" \
                || { cat "$o/cam-$lc.txt"; die "cam $lc failed for an unexpected reason"; }
            grep -a -q 'start failed' "$WORK/server-$fmt.log" \
                || die "$fmt: libcamera cannot stream $lc, but streamserver did not report a start failure"
            echo "$fmt: NOT CAPTURABLE with this libcamera + kernel: libcamera's own cam fails too"
            echo "$fmt: (STREAMON: Broken pipe, vimc's pipeline rejects $lc); streamserver reports it and retries"
            continue
        fi
        grep -a 'camera streaming' "$WORK/server-$fmt.log" | grep -q "format=\"$fmt\"" \
            || die "$fmt: the camera did not stream $fmt"
        ! grep -a -q 'does not offer the configured format' "$WORK/server-$fmt.log" \
            || die "$fmt: the camera fell back to another format"
        parts=$(grep -a -c '^X-Frame-Seq:' "$o/$fmt.mjpg" || true)
        echo "$fmt: $parts stream parts in 10 s; snapshot $(wc -c <"$o/$fmt.jpg") bytes"
        [ "$parts" -ge 3 ] || die "$fmt: fewer than 3 stream parts"
        vimc_check_bars "$o/$fmt.jpg" "$WORK" || die "$fmt: the snapshot does not show vimc's colour bars"
        check_still_and_controls "$fmt"
        cp "$o/$fmt.jpg" "$REPO/target/vimc-$fmt.jpg"
        CAPTURED+=("$fmt")
    done
    [ ${#CAPTURED[@]} -ge 1 ] || die "no format could be captured from vimc"
    echo "captured with colour bars in order: ${CAPTURED[*]}"
}
CAPTURED=()

# The switch still of a format that streams: 1280x720 with the bars, the switch logged with its
# gap, the stream back afterwards; the controls listing has vimc's Brightness/Contrast/Saturation.
check_still_and_controls() { # check_still_and_controls FMT
    local fmt=$1 o=$ROOT$OUT size gap parts c
    [ -s "$o/$fmt-still.jpg" ] || die "$fmt: no still from /still.jpg"
    size=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 \
        "$o/$fmt-still.jpg" </dev/null)
    [ "$size" = "1280,720" ] || die "$fmt: the still is $size, not 1280,720"
    vimc_check_bars "$o/$fmt-still.jpg" "$WORK" || die "$fmt: the still does not show vimc's colour bars"
    grep -a -q 'strategy=Switch' "$WORK/server-$fmt.log" || die "$fmt: stills were not taken by switch"
    gap=$(grep -a -o 'switch still: the stream is back.*gap_ms=[0-9]*' "$WORK/server-$fmt.log" \
        | grep -o 'gap_ms=[0-9]*' | head -n 1)
    [ -n "$gap" ] || die "$fmt: no switch still logged"
    parts=$(grep -a -c '^X-Frame-Seq:' "$o/$fmt-after.mjpg" 2>/dev/null || true)
    [ "${parts:-0}" -ge 1 ] || die "$fmt: no stream parts in the 10 s after the still"
    echo "$fmt: switch still 1280x720 with the bars, stream back ($parts parts in 10 s), $gap (stop to restart, TCG)"
    for c in Brightness Contrast Saturation; do
        grep -q "\"name\":\"$c\"" "$o/$fmt-controls.json" || die "$fmt: the controls listing lacks $c"
    done
    echo "$fmt: controls listed: $(grep -o '"name":"[A-Za-z]*"' "$o/$fmt-controls.json" | cut -d'"' -f4 | tr '\n' ' ')"
    grep -q '"Brightness"' "$o/$fmt-bright.json" || die "$fmt: setting Brightness was not answered with it applied"
    grep -q '400' "$o/$fmt-afmode.err" || die "$fmt: AfMode (vimc has none) was not a 400: $(cat "$o/$fmt-afmode.err")"
    local before after
    before=$(mean_luma "$o/$fmt.jpg") || die "$fmt: cannot decode the snapshot before Brightness"
    after=$(mean_luma "$o/$fmt-bright.jpg") || die "$fmt: cannot decode the snapshot after Brightness"
    echo "$fmt: Brightness 0.6 applied: mean luma $before -> $after; AfMode refused with 400"
    [ "$after" -ge $((before + 10)) ] || die "$fmt: Brightness 0.6 did not brighten the picture ($before -> $after)"
}

# The mean luma (0-255, whole number) of a JPEG, decoded by ffmpeg.
mean_luma() { # mean_luma JPEG
    ffmpeg -nostdin -v error -i "$1" -f rawvideo -pix_fmt gray - \
        | python3 -c 'import sys; d = sys.stdin.buffer.read(); print(sum(d) // max(len(d), 1))'
}

main() {
    trap 'report; rm -rf "$WORK"' EXIT
    step "trixie root, kernel, qemu" prepare
    step "build vimc.ko (linux-source-6.12)" build_vimc
    step "build streamserver + streamserver-camera (libcamera)" build_streamserver
    step "initramfs (busybox + 9p modules)" build_initramfs
    step "guest script" write_guest_script
    step "boot Debian's kernel in qemu (TCG), capture" boot_guest
    step "verify: Sensor B listed, RGB888/BGR888 bars" verify
    echo "vimc-check: OK"
}

main "$@"
