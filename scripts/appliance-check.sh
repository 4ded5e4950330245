#!/usr/bin/env bash
# appliance-check.sh — the appliance tested as a whole: Debian trixie booted with systemd as
# PID 1 under qemu-system-x86_64 (TCG; no KVM needed), the kernel's vimc test camera, and the
# real ./install-service.sh run in it as a normal user with sudo. Driven from the host over ssh
# and an HTTP port forward, both on 127.0.0.1 only; the guest has no other network. As root:
#
#   scripts/appliance-check.sh
#
# Steps (each prints its time; a failing one prints the guest's journal and console tails; after
# a failing check of the appliance's behaviour (7.-14.) the run goes on with the next one, and
# ends with a non-zero status):
#   1. roots: the VM root (debootstrap by scripts/trixie-root.sh, TRIXIE_ROOT=.trixie/vm:
#      systemd, udev, Debian's kernel, sudo, ssh, libcamera) and the libcamera build root
#      (.trixie/root, shared with libcamera-check.sh / vimc-check.sh); qemu on the host;
#   2. the VM root configured (user `pi` with passwordless sudo, ssh, static network, vimc
#      loaded at boot, a small initramfs);
#   3. vimc.ko for the VM's kernel (scripts/vimc-lib.sh, as vimc-check.sh builds it);
#   4. streamserver and streamserver-camera built in the libcamera root (the helper with
#      libcamera);
#   5. disks: the VM root as an ext4 image (mkfs.ext4 -d, cached until the root changes; the
#      guest writes to a throw-away overlay) and a small per-run seed disk (the ssh key of this
#      run, the binary, a copy of the checkout, two JPEGs for the folder source);
#   6. boot; then, in the guest as `pi`: ./install-service.sh --binary ...;
#   7. the service is active (Type=notify: READY=1 arrived), /health is 200 and the stream,
#      read from the host, shows vimc's colour bars;
#   8. camera unplugged (vimc unbound from its platform driver): a stream client that stays
#      connected sees the placeholder, /health 503; rebound: live frames again;
#   9. process wedged (SIGSTOP): systemd's watchdog kills it within WatchdogSec + 5 s and
#      Restart= brings the stream back; 10. crash (SIGSEGV): restarted, stream back;
#  11. reboot: the service comes back by itself and streams;
#  12. a folder source at /var/lib/streamserver/frames under the unit's sandbox: frames a
#      producer writes show on the stream, old ones are cleaned up;
#  13. the journal and /var/log/streamserver/{main,error}.log hold the expected lines;
#  14. ./uninstall-service.sh, then PURGE_LOCAL_ARTIFACTS=1: nothing left behind.
# The figures (unplug → placeholder, replug → live, watchdog and crash restarts, reboot) are
# printed at the end; the run's logs are kept in target/appliance-check/.
#
# The guest's apt has no sources (the guest has no network but the two forwards), so the
# installer's `apt-get update/install` run for real and find the runtime packages installed.
#
# Environment: APPLIANCE_VM_ROOT (default <repo>/.trixie/vm), TRIXIE_ROOT (the libcamera build
# root, default <repo>/.trixie/root), APPLIANCE_SMP (guest CPUs, default 2), APPLIANCE_CPU
# (qemu -cpu, default qemu64), APPLIANCE_KERNEL_ARGS (added to the guest's command line),
# APPLIANCE_MEMORY (MiB, default 1536), APPLIANCE_VM_TIMEOUT (the VM's whole life, s,
# default 1500).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOTSH=$REPO/scripts/trixie-root.sh
# shellcheck source=scripts/vimc-lib.sh
. "$REPO/scripts/vimc-lib.sh"
VM_ROOT=${APPLIANCE_VM_ROOT:-$REPO/.trixie/vm}
BUILD_ROOT=${TRIXIE_ROOT:-$REPO/.trixie/root}
CACHE=$REPO/.trixie/appliance
LOGS=$REPO/target/appliance-check
SMP=${APPLIANCE_SMP:-2}
# The baseline x86-64 CPU boots faster under TCG here than `max` (whose extra instruction sets
# the guest then uses, emulated): about 60-70 s against 80-90 s to ssh on a loaded 2-core host.
CPU=${APPLIANCE_CPU:-qemu64}
KERNEL_ARGS=${APPLIANCE_KERNEL_ARGS:-}
MEMORY=${APPLIANCE_MEMORY:-1536}
VM_TIMEOUT=${APPLIANCE_VM_TIMEOUT:-1500}

# What the VM root holds: a Pi-like system plus the camera's runtime (libcamera0.4 is what the
# binary links; libcamera-ipa its image-processing modules).
VM_PACKAGES=(systemd systemd-sysv udev dbus kmod linux-image-amd64 initramfs-tools sudo
             openssh-server curl ca-certificates libcamera0.4 libcamera-ipa)
BUILD_PACKAGES=(libcamera-dev libclang-dev pkg-config g++ cmake make nasm binutils)
RUST_PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CARGO_TARGET=target/trixie-libcamera     # shared with libcamera-check.sh / vimc-check.sh

# The binaries the appliance runs, built in the libcamera root and installed by
# install-service.sh: the server and its camera helper (the only one that links libcamera).
BINARIES=(streamserver streamserver-camera)
INSTALL_ARGS=(--binary /home/pi/bin/streamserver --camera-binary /home/pi/bin/streamserver-camera)

# The shipped config.toml streams `source = "auto"`: the camera when the helper finds one. The
# check keeps it (0), so it proves that an installed appliance finds vimc's camera by itself;
# 1 would switch the installed copy's first stream to `source = "camera"`.
FORCE_CAMERA_SOURCE=0
# vimc's camera as the check runs it, in [stream.camera] (kept after the switch above goes):
# vimc's Sensor B offers RGB888/BGR888 but no YUV, and libcamera 0.4 cannot stream our bgr888
# from it (see vimc-check.sh); 640x480 keeps TCG's software emulation fast enough.
VIMC_CAMERA_SETTINGS=('select = "platform/vimc.0 Sensor B"' 'width = 640' 'height = 480'
                      'format = "rgb888"' 'fps = 10.0')

# The unit's watchdog and restart delay; the checks' limits follow them.
unit_seconds() { sed -n "s/^$1=\([0-9]*\)s\$/\1/p" "$REPO/streamserver.service"; }
WATCHDOG_S=$(unit_seconds WatchdogSec)
RESTART_S=$(unit_seconds RestartSec)

WORK=""
KEY=""
QEMU_PID=""
SSH_PORT=""
HTTP_PORT=""
KVER=""
CURRENT_STEP=""

log() { echo "appliance-check: $*"; }
die() { echo "appliance-check: FAIL: $*" >&2; exit 1; }

# ---- steps, timings, figures, failure report ------------------------------------------------

# Two kinds of steps. `step`: what the rest needs (roots, build, boot, install); its failure
# ends the run. `check`: one behaviour of the appliance, run in a subshell; its failure prints
# the guest's state and the run goes on with the next check (so one run shows every broken
# behaviour), then ends non-zero. Timings and figures go to files, which subshells can append to.
step() { # step LABEL FUNCTION...: a failure ends the script (set -e) and the EXIT trap reports
    local label=$1 t0=$SECONDS; shift
    CURRENT_STEP=$label
    echo "=== appliance-check: $label"
    "$@"
    printf '%-56s %4ss  ok\n' "$label" $((SECONDS - t0)) >>"$WORK/timings"
    CURRENT_STEP=""
}
FAILED_CHECKS=()
check() { # check LABEL FUNCTION...
    local label=$1 t0=$SECONDS rc=0; shift
    echo "=== appliance-check: $label"
    set +e
    (set -e; "$@")
    rc=$?
    set -e
    if [ "$rc" = 0 ]; then
        printf '%-56s %4ss  ok\n' "$label" $((SECONDS - t0)) >>"$WORK/timings"
    else
        printf '%-56s %4ss  FAILED\n' "$label" $((SECONDS - t0)) >>"$WORK/timings"
        FAILED_CHECKS+=("$label")
        echo "=== appliance-check: check FAILED: $label" >&2
        guest_diagnostics
    fi
}
figure() { # figure LABEL VALUE
    printf '%-56s %s\n' "$1" "$2" >>"$WORK/figures"
    log "figure: $1: $2"
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

guest_diagnostics() { # what the guest says, on stderr
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null && [ -n "$SSH_PORT" ]; then
        echo "--- guest: journalctl -u streamserver (tail)" >&2
        gssh_t 30 'sudo journalctl -u streamserver --no-pager -n 60' >&2
        echo "--- guest: systemctl status streamserver" >&2
        gssh_t 30 'sudo systemctl --no-pager --full status streamserver | head -n 12' >&2
        echo "--- guest: journalctl -b (tail)" >&2
        gssh_t 30 'sudo journalctl -b --no-pager -n 40' >&2
    fi
    if [ -f "$WORK/console.log" ]; then
        echo "--- guest: serial console (tail)" >&2
        tail -n 30 "$WORK/console.log" | sed 's/\x1b\[[0-9;?]*[a-zA-Z]//g' >&2
    fi
}

finish() {
    local rc=$?
    set +e
    if [ "$rc" -ne 0 ] && [ -n "$CURRENT_STEP" ]; then
        echo "=== appliance-check: FAILED in step: $CURRENT_STEP (exit $rc)" >&2
        guest_diagnostics
    fi
    stop_watchers
    if [ -n "$QEMU_PID" ]; then
        [ -S "$WORK/ssh-control" ] && timeout 10 ssh -o ControlPath="$WORK/ssh-control" -O exit x >/dev/null 2>&1
        kill "$QEMU_PID" 2>/dev/null && wait "$QEMU_PID" 2>/dev/null
    fi
    mkdir -p "$LOGS"
    cp -f "$WORK"/*.log "$LOGS/" 2>/dev/null
    echo "=== appliance-check: timings"
    sed 's/^/    /' "$WORK/timings" 2>/dev/null
    if [ -s "$WORK/figures" ]; then
        echo "=== appliance-check: figures"
        sed 's/^/    /' "$WORK/figures"
        cp "$WORK/figures" "$LOGS/figures.txt"
    fi
    echo "(logs: $LOGS)"
    rm -rf "$WORK"
    exit "$rc"
}

# ---- the guest over ssh ------------------------------------------------------------------------

ssh_opts() {
    echo -F /dev/null -i "$KEY" -p "$SSH_PORT" -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=15 \
        -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o ControlPath="$WORK/ssh-control"
}
gssh_t() { # gssh_t SECONDS COMMAND: run COMMAND as pi in the guest, bounded, stdin closed
    local t=$1; shift
    # shellcheck disable=SC2046  # ssh_opts is a list of words without spaces in them
    timeout "$t" ssh $(ssh_opts) -o ControlMaster=no pi@127.0.0.1 "$@" </dev/null
}
gssh() { gssh_t 120 "$@"; }
gssh_in() { # gssh_in COMMAND: as gssh, with this script's stdin
    # shellcheck disable=SC2046
    timeout 120 ssh $(ssh_opts) -o ControlMaster=no pi@127.0.0.1 "$@"
}
ssh_master() { # one authenticated connection that the later commands share (TCG is slow at kex)
    # shellcheck disable=SC2046
    timeout 10 ssh $(ssh_opts) -O check x >/dev/null 2>&1 && return 0
    rm -f "$WORK/ssh-control"   # the socket of a master that died with the guest's reboot
    # shellcheck disable=SC2046
    timeout 60 ssh $(ssh_opts) -M -N -f -o ControlPersist=yes pi@127.0.0.1 </dev/null >/dev/null 2>&1 || true
}

# http PATH: prints the status code of GET PATH on the forwarded port ("000": no answer).
http_code() { curl -s -o /dev/null -m 10 -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT$1" || true; }
# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND once a second.
wait_until() {
    local limit=$1 what=$2 t0=$SECONDS; shift 2
    until "$@"; do
        [ $((SECONDS - t0)) -lt "$limit" ] || die "timed out after ${limit}s waiting for: $what"
        kill -0 "$QEMU_PID" 2>/dev/null || die "qemu exited while waiting for: $what"
        sleep 1
    done
}
is_http() { [ "$(http_code "$2")" = "$1" ]; }
service_prop() { gssh "systemctl show -p $1 --value streamserver.service"; }
service_active() { [ "$(service_prop ActiveState 2>/dev/null)" = active ]; }

# ---- host-side stream watchers (scripts/mjpeg-watch.py) ----------------------------------------

start_watcher() { # start_watcher NAME PATH: records the stream at PATH in $WORK/watch-NAME
    local dir=$WORK/watch-$1
    rm -rf "$dir" && mkdir -p "$dir"
    python3 "$REPO/scripts/mjpeg-watch.py" "http://127.0.0.1:$HTTP_PORT$2" "$dir" 600 \
        >"$dir/out.log" 2>&1 &
    echo $! >"$dir/pid"
    echo "$1" >>"$WORK/watchers"
    wait_until 60 "a first part on the $1 watcher" grep -s -q '^part ' "$dir/parts.tsv"
}
watcher_alive() { # watcher_alive NAME: still connected
    local dir=$WORK/watch-$1
    kill -0 "$(cat "$dir/pid")" 2>/dev/null && ! grep -q '^end ' "$dir/parts.tsv"
}
stop_watcher() { # stop_watcher NAME: ends it; fails if it had lost its connection
    local dir=$WORK/watch-$1 pid rc=0
    pid=$(cat "$dir/pid")
    touch "$dir/stop"
    timeout 30 tail --pid="$pid" -f /dev/null || kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || rc=$?
    cp "$dir/parts.tsv" "$WORK/watch-$1.parts.log" 2>/dev/null || true
    [ "$rc" = 0 ] || { tail -n 3 "$dir/parts.tsv"; return 1; }
}
stop_watchers() {
    local name
    [ -f "$WORK/watchers" ] || return 0
    while read -r name; do
        [ -f "$WORK/watch-$name/stop" ] || stop_watcher "$name" >/dev/null 2>&1 || true
    done <"$WORK/watchers"
}
# first_part_after NAME TIME WANT: prints "time index" of the first newly sequenced part that
# arrived after TIME and is (WANT=live) or is not (WANT=placeholder) vimc's colour bars.
first_part_after() {
    local dir=$WORK/watch-$1 after=$2 want=$3 idx t jpg bars
    while read -r idx t; do
        jpg=$dir/part-$(printf '%06d' "$idx").jpg
        [ -f "$jpg" ] || continue
        if [ ! -f "$jpg.class" ]; then   # decoding takes a while: once per part
            if vimc_check_bars "$jpg" "$WORK" >/dev/null 2>&1; then
                echo live >"$jpg.class"
            else
                echo placeholder >"$jpg.class"
            fi
        fi
        bars=$(cat "$jpg.class")
        if [ "$bars" = "$want" ]; then
            echo "$t $idx"
            return 0
        fi
    done < <(awk -v a="$after" '$1 == "part" && $3 > a { print $2, $3 }' "$dir/parts.tsv")
    return 1
}
# wait_part NAME TIME WANT LIMIT: as first_part_after, waiting up to LIMIT seconds for it.
# Fails (status 1, a message on stderr) on timeout or when the client loses its connection.
wait_part() {
    local t0=$SECONDS found=""
    while ! found=$(first_part_after "$1" "$2" "$3"); do
        if [ $((SECONDS - t0)) -ge "$4" ]; then
            echo "appliance-check: no $3 frame on the $1 stream within ${4}s" >&2
            return 1
        fi
        if ! watcher_alive "$1"; then
            found=$(first_part_after "$1" "$2" "$3") && break
            echo "appliance-check: the $1 stream client lost its connection:" \
                "$(tail -n 1 "$WORK/watch-$1/parts.tsv")" >&2
            return 1
        fi
        sleep 1
    done
    echo "$found"
}
# The stream shows vimc now: a fresh snapshot from the host has the colour bars.
snapshot_is_vimc() {
    curl -s -f -m 15 -o "$WORK/snapshot.jpg" "http://127.0.0.1:$HTTP_PORT/snapshot.jpg" &&
        vimc_check_bars "$WORK/snapshot.jpg" "$WORK" >/dev/null 2>&1
}

# ---- 1. roots ------------------------------------------------------------------------------------

vmroot() { TRIXIE_ROOT=$VM_ROOT "$ROOTSH" "$@"; }
buildroot() { TRIXIE_ROOT=$BUILD_ROOT "$ROOTSH" "$@"; }

# write_file PATH MODE: stdin to PATH in the VM root, only when it differs (keeps the image cache).
write_file() {
    local dest=$VM_ROOT$1 tmp
    tmp=$(mktemp)
    cat >"$tmp"
    if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
        rm -f "$tmp"
    else
        mkdir -p "$(dirname "$dest")"
        install -m "$2" "$tmp" "$dest"
        rm -f "$tmp"
    fi
}

prepare_roots() {
    local tool
    if ! command -v qemu-system-x86_64 >/dev/null; then
        DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends \
            qemu-system-x86 >/dev/null
    fi
    for tool in qemu-system-x86_64 ssh ssh-keygen curl ffmpeg ffprobe python3 mkfs.ext4 debugfs objcopy; do
        command -v "$tool" >/dev/null || die "$tool is not installed on the host"
    done
    vmroot ensure
    # Before the kernel is installed, so its first initramfs is already the small one: the
    # guest's root is a virtio disk with ext4, nothing else is needed to mount it.
    printf 'MODULES=list\n' | write_file /etc/initramfs-tools/conf.d/appliance.conf 644
    printf 'virtio_pci\nvirtio_blk\next4\n' | write_file /etc/initramfs-tools/modules 644
    # trixie-root.sh adds arm64 for its cross users; this root needs only amd64's indexes.
    if chroot "$VM_ROOT" dpkg --print-foreign-architectures | grep -q .; then
        chroot "$VM_ROOT" dpkg --remove-architecture arm64
    fi
    vmroot ensure "${VM_PACKAGES[@]}"
    local d
    for d in "$VM_ROOT"/lib/modules/*-amd64; do
        [ -d "$d" ] && KVER=$(basename "$d")
    done
    if [ -z "$KVER" ] || [ ! -f "$VM_ROOT/boot/vmlinuz-$KVER" ]; then die "no amd64 kernel in the VM root"; fi
    # shellcheck disable=SC2046  # a list of package names
    buildroot ensure "${BUILD_PACKAGES[@]}" $(vimc_build_packages "$KVER")
    log "kernel $KVER; $(qemu-system-x86_64 --version | head -n 1)"
}

# ---- 2. the VM root, configured as a Pi would be -------------------------------------------------

configure_vm() {
    local timer
    printf 'appliance\n' | write_file /etc/hostname 644
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tappliance\n' | write_file /etc/hosts 644
    # vdb: this run's seed disk (ssh key, binaries, the checkout copy, test frames).
    write_file /etc/fstab 644 <<'EOF'
/dev/vda  /          ext4  rw,errors=remount-ro  0 1
/dev/vdb  /srv/seed  ext4  ro,nofail,x-systemd.device-timeout=60s  0 0
EOF
    mkdir -p "$VM_ROOT/srv/seed" "$VM_ROOT/var/log/journal"
    # qemu's user-mode network: the guest is 10.0.2.15; the forwards reach it there.
    write_file /etc/systemd/network/10-qemu.network 644 <<'EOF'
[Match]
Name=en* eth*

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
EOF
    printf 'pi ALL=(ALL) NOPASSWD: ALL\n' | write_file /etc/sudoers.d/pi 440
    # The run's public key is on the seed disk; no passwords, no root login.
    write_file /etc/ssh/sshd_config.d/appliance.conf 644 <<'EOF'
AuthorizedKeysFile .ssh/authorized_keys /srv/seed/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UseDNS no
EOF
    # The camera "plugged in" at boot, as a Pi's camera driver is loaded from its device tree.
    printf 'vimc\n' | write_file /etc/modules-load.d/vimc.conf 644
    if ! grep -q '^pi:' "$VM_ROOT/etc/passwd"; then
        chroot "$VM_ROOT" useradd --create-home --shell /bin/bash --groups sudo pi
        chroot "$VM_ROOT" usermod --password '*' pi
    fi
    [ -e "$VM_ROOT/etc/systemd/system/multi-user.target.wants/systemd-networkd.service" ] ||
        systemctl --root="$VM_ROOT" enable systemd-networkd.service
    # Timers that could fire during the run and compete for the (emulated) CPU.
    for timer in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
        if [ -e "$VM_ROOT/usr/lib/systemd/system/$timer" ] && [ ! -L "$VM_ROOT/etc/systemd/system/$timer" ]; then
            systemctl --root="$VM_ROOT" mask "$timer"
        fi
    done
    if [ "$VM_ROOT/etc/initramfs-tools/modules" -nt "$VM_ROOT/boot/initrd.img-$KVER" ] ||
       [ "$VM_ROOT/etc/initramfs-tools/conf.d/appliance.conf" -nt "$VM_ROOT/boot/initrd.img-$KVER" ]; then
        vmroot run update-initramfs -u -k "$KVER"
    fi
    [ -f "$VM_ROOT/boot/initrd.img-$KVER" ] || die "no initramfs for $KVER in the VM root"
}

# ---- 3. vimc.ko ----------------------------------------------------------------------------------

vimc_kver() { # the kernel version vimc.ko in the VM root was built for ("" if none)
    [ -f "$VM_ROOT/lib/modules/$KVER/updates/vimc.ko" ] || return 0
    chroot "$VM_ROOT" modinfo -F vermagic "/lib/modules/$KVER/updates/vimc.ko" | awk '{ print $1 }'
}

install_vimc() {
    if [ "$(vimc_kver)" = "$KVER" ]; then
        log "reusing the VM root's vimc.ko"
    else
        vimc_build buildroot "$KVER" "$VM_ROOT/lib/modules/$KVER/updates/vimc.ko"
        [ "$(vimc_kver)" = "$KVER" ] || die "vimc.ko was not built for $KVER"
    fi
    if ! grep -q '^updates/vimc.ko:' "$VM_ROOT/lib/modules/$KVER/modules.dep"; then
        chroot "$VM_ROOT" depmod -a "$KVER"
    fi
    grep '^updates/vimc.ko:' "$VM_ROOT/lib/modules/$KVER/modules.dep"
}

# ---- 4. the binaries -----------------------------------------------------------------------------

build_binaries() {
    local bins=() b lib
    for b in "${BINARIES[@]}"; do bins+=(-p "$b"); done
    # shellcheck disable=SC2016  # expanded by the shell in the root
    # The same profile as libcamera-check.sh / vimc-check.sh, whose build output this shares.
    buildroot run env PATH="$RUST_PATH" CARGO_TARGET_DIR="/src/$CARGO_TARGET" \
        CARGO_PROFILE_DEV_DEBUG=0 CARGO_INCREMENTAL=0 \
        sh -c 'cd /src && cargo build -j "${CARGO_BUILD_JOBS:-2}" --features streamserver-camera/libcamera "$@"' sh "${bins[@]}"
    mkdir -p "$WORK/seed/bin"
    for b in "${BINARIES[@]}"; do
        # Without debug info: the guest reads it from an emulated disk.
        objcopy --strip-debug "$REPO/$CARGO_TARGET/debug/$b" "$WORK/seed/bin/$b"
        # Every library it needs must be in the VM root (the guest installs nothing).
        for lib in $(objdump -p "$WORK/seed/bin/$b" | awk '$1 == "NEEDED" { print $2 }'); do
            compgen -G "$VM_ROOT/usr/lib/x86_64-linux-gnu/$lib" >/dev/null ||
                die "$b needs $lib, which the VM root does not have"
        done
        log "$b: $(du -h "$WORK/seed/bin/$b" | cut -f1), needs $(objdump -p "$WORK/seed/bin/$b" | awk '$1 == "NEEDED" { printf "%s ", $2 }')"
    done
}

# ---- 5. disks ------------------------------------------------------------------------------------

# set_camera_config FILE: the edits FORCE_CAMERA_SOURCE and VIMC_CAMERA_SETTINGS describe.
set_camera_config() {
    local settings
    settings=$(printf '%s\n' "${VIMC_CAMERA_SETTINGS[@]}")
    awk -v force="$FORCE_CAMERA_SOURCE" -v settings="$settings" '
        BEGIN {
            n = split(settings, lines, "\n")
            for (i = 1; i <= n; i++) { k = lines[i]; sub(/[ \t]*=.*/, "", k); value[k] = lines[i] }
        }
        /^[ \t]*\[/ { section = $0; gsub(/[ \t]/, "", section); streams += (section == "[[stream]]") }
        section == "[[stream]]" && streams == 1 && force == 1 && /^source[ \t]*=/ { print "source = \"camera\""; forced = 1; next }
        section == "[stream.camera]" && streams == 1 && /^[a-z_]+[ \t]*=/ {
            k = $0; sub(/[ \t]*=.*/, "", k)
            if (k in value) { print value[k]; done[k] = 1; next }
        }
        { print }
        END {
            if (force == 1 && !forced) { print "config edit: no source = in the first [[stream]]" > "/dev/stderr"; exit 1 }
            for (k in value) if (!(k in done)) { print "config edit: no " k " in [stream.camera]" > "/dev/stderr"; exit 1 }
        }
    ' "$1" >"$1.new" || die "cannot switch $1 to vimc's camera (see above)"
    mv "$1.new" "$1"
}

make_seed() {
    local seed=$WORK/seed f
    mkdir -p "$seed/checkout" "$seed/frames"
    ssh-keygen -q -t ed25519 -N '' -C appliance-check -f "$KEY"
    install -m 644 "$KEY.pub" "$seed/authorized_keys"
    # The checkout as it is now (tracked and new files, not what .gitignore ignores).
    (cd "$REPO" && git ls-files -z --cached --others --exclude-standard) |
        while IFS= read -r -d '' f; do [ -f "$REPO/$f" ] && printf '%s\0' "$f"; done |
        tar -C "$REPO" --null -T - -cf - | tar -C "$seed/checkout" -xf -
    set_camera_config "$seed/checkout/config.toml"
    log "config.toml as installed in the guest: $(diff -U0 "$REPO/config.toml" "$seed/checkout/config.toml" |
        grep '^+[^+]' | tr '\n' ' ')"
    # Two different frames for the folder source's producer.
    ffmpeg -v error -f lavfi -i testsrc=size=320x240:rate=1 -frames:v 1 "$seed/frames/a.jpg"
    ffmpeg -v error -f lavfi -i smptebars=size=320x240:rate=1 -frames:v 1 "$seed/frames/b.jpg"
    cmp -s "$seed/frames/a.jpg" "$seed/frames/b.jpg" && die "the two test frames are identical"
    local mb
    mb=$(( $(du -sm "$seed" | cut -f1) + 32 ))
    truncate -s "${mb}M" "$WORK/seed.img"
    mkfs.ext4 -q -F -L seed -d "$seed" "$WORK/seed.img"
}

# The VM root as an ext4 image, rebuilt when a file in the root is newer than the image or
# this recipe changed (its hash is in the image's name).
make_base_image() {
    local recipe base newer mb
    recipe=$(declare -f make_base_image configure_vm | sha256sum | cut -c1-12)
    base=$CACHE/base-$KVER-$recipe.img
    if awk -v r="$VM_ROOT" '$2 == r || index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; then
        die "the VM root has active mounts (a concurrent trixie-root.sh run?)"
    fi
    if [ -f "$base" ]; then
        newer=$(find "$VM_ROOT" -xdev -newer "$base" -not -path "$VM_ROOT/etc/resolv.conf" -print -quit)
        if [ -z "$newer" ]; then
            log "reusing $base"
            BASE_IMAGE=$base
            return 0
        fi
        log "rebuilding $base ($newer changed)"
    fi
    mkdir -p "$CACHE"
    rm -f "$CACHE"/base-*.img
    # Room for what the guest writes (logs, journal, the installed files).
    mb=$(( $(du -sm --exclude=./proc --exclude=./sys "$VM_ROOT" | cut -f1) + 768 ))
    truncate -s "${mb}M" "$base.tmp"
    mkfs.ext4 -q -F -L appliance -d "$VM_ROOT" "$base.tmp"
    # Differences between the root (a chroot that apt maintains) and the booted system:
    # - policy-rc.d keeps daemons from starting in the chroot; a booted system must not have it,
    #   nor trixie-root.sh's marker;
    # - no apt sources: the guest has no network, the installed packages are all it needs;
    # - what systemd redoes at the first boot after a package change (ldconfig, the journal
    #   catalog) apt did in the root: stamp it done (mkfs gave /usr a new mtime).
    printf 'TIMESTAMP_NSEC=%s\n' "$(date +%s%N)" >"$WORK/updated"
    debugfs -w -f - "$base.tmp" >"$WORK/debugfs.log" 2>&1 <<EOF
rm /usr/sbin/policy-rc.d
rm /.streamserver-trixie-base-complete
rm /etc/apt/sources.list.d/debian.sources
rm /etc/.updated
write $WORK/updated /etc/.updated
rm /var/.updated
write $WORK/updated /var/.updated
EOF
    mv "$base.tmp" "$base"
    BASE_IMAGE=$base
    log "$base: ${mb} MiB"
}
BASE_IMAGE=""

make_disks() {
    make_seed
    make_base_image
}

# ---- 6. boot and install -------------------------------------------------------------------------

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

boot_vm() {
    SSH_PORT=$(free_port)
    HTTP_PORT=$(free_port)
    # snapshot=on: the guest's writes go to a temporary overlay, kept across its reboots, gone
    # with qemu; the cached image is never written.
    timeout "$VM_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu "$CPU" -smp "$SMP" -m "$MEMORY" \
        -display none -monitor none -serial "file:$WORK/console.log" \
        -kernel "$VM_ROOT/boot/vmlinuz-$KVER" -initrd "$VM_ROOT/boot/initrd.img-$KVER" \
        -append "root=/dev/vda rw console=ttyS0 loglevel=4 $KERNEL_ARGS" \
        -drive "file=$BASE_IMAGE,format=raw,if=virtio,snapshot=on" \
        -drive "file=$WORK/seed.img,format=raw,if=virtio,readonly=on" \
        -netdev "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22,hostfwd=tcp:127.0.0.1:$HTTP_PORT-:8080" \
        -device virtio-net-pci,netdev=net0 -device virtio-rng-pci \
        </dev/null >"$WORK/qemu.log" 2>&1 &
    QEMU_PID=$!
    log "qemu pid $QEMU_PID, ssh 127.0.0.1:$SSH_PORT, http 127.0.0.1:$HTTP_PORT"
    wait_for_ssh 300
    log "$(gssh 'uname -r; systemctl is-system-running || true; systemd-analyze | head -n 1' | tr '\n' ' ')"
    [ "$(gssh 'cat /proc/1/comm')" = systemd ] || die "PID 1 is not systemd"
}

wait_for_ssh() { # wait_for_ssh LIMIT
    local t0=$SECONDS
    until gssh_t 10 true 2>/dev/null; do
        [ $((SECONDS - t0)) -lt "$1" ] || die "no ssh into the guest within ${1}s"
        kill -0 "$QEMU_PID" 2>/dev/null || die "qemu exited: $(tail -n 5 "$WORK/qemu.log")"
        sleep 2
    done
    ssh_master
    log "ssh up after $((SECONDS - t0))s"
}

install_service() {
    # shellcheck disable=SC2016  # expanded in the guest
    gssh_t 600 'set -e
        rm -rf ~/streamserver ~/bin
        cp -r /srv/seed/checkout ~/streamserver
        mkdir -p ~/bin && cp /srv/seed/bin/* ~/bin/
        cd ~/streamserver && ./install-service.sh '"${INSTALL_ARGS[*]}" >"$WORK/install.log" 2>&1 ||
        { tail -n 40 "$WORK/install.log"; die "install-service.sh failed"; }
    grep -E '^==>' "$WORK/install.log"
}

# ---- 7. the service, as installed ----------------------------------------------------------------

check_service() {
    wait_until 120 "streamserver.service active" service_active
    local props journal
    props=$(gssh 'systemctl show -p Type,ActiveState,SubState,NRestarts,MainPID streamserver.service' | tr '\n' ' ')
    log "$props"
    [[ $props == *Type=notify* && $props == *SubState=running* && $props == *NRestarts=0* ]] ||
        die "unexpected service state: $props"
    # LimitNOFILE= reached the process.
    local nofile
    nofile=$(gssh "sudo grep 'Max open files' /proc/$(service_prop MainPID)/limits" | awk '{ print $4 }')
    log "open-file limit of the server: $nofile"
    [ "$nofile" = "$(sed -n 's/^LimitNOFILE=//p' "$REPO/streamserver.service")" ] ||
        die "the server's open-file limit is $nofile, not the unit's LimitNOFILE"
    # Type=notify: "Started" is logged only after READY=1, and the server logs it sent READY=1.
    journal=$(gssh 'sudo journalctl -u streamserver.service -b --no-pager -o cat')
    grep -q 'streamserver ready' <<<"$journal" || die "no 'streamserver ready' in the journal"
    grep -q '^Started streamserver.service' <<<"$journal" || die "systemd never logged 'Started' (no READY=1?)"
    wait_until 90 "/health 200 from the host" is_http 200 /health
    wait_until 60 "vimc's colour bars on /snapshot.jpg" snapshot_is_vimc
    vimc_check_bars "$WORK/snapshot.jpg" "$WORK"
    start_watcher main /stream.mjpg
    sleep 5
    local parts
    parts=$(awk '$1 == "part" { n++ } END { print n + 0 }' "$WORK/watch-main/parts.tsv")
    figure "stream parts in the first ~5 s (TCG)" "$parts"
    vimc_check_bars "$WORK/watch-main/latest.jpg" "$WORK" >/dev/null ||
        die "the stream's newest frame is not vimc's camera"
    stop_watcher main
    log "the stream shows vimc's camera (colour bars in order)"
}

# ---- 8. camera unplugged and plugged in again ----------------------------------------------------

camera_unplug() {
    local dev pid t_unbind t_bind found state watcher=unplug problems=()
    pid=$(service_prop MainPID)
    dev=$(gssh 'ls /sys/bus/platform/drivers/vimc/ | grep "^vimc"' | head -n 1)
    [ -n "$dev" ] || die "vimc is not bound to its platform driver"
    # Whatever happens below, the camera is plugged in again for the checks after this one.
    # shellcheck disable=SC2064  # $dev is known now
    trap "gssh 'echo $dev | sudo tee /sys/bus/platform/drivers/vimc/bind' >/dev/null 2>&1 || true" EXIT
    start_watcher unplug /stream.mjpg
    t_unbind=$(now)
    gssh "echo $dev | sudo tee /sys/bus/platform/drivers/vimc/unbind >/dev/null"
    log "unbound $dev from the vimc driver"
    wait_until 60 "/health 503 with the camera gone" is_http 503 /health
    figure "unplug -> /health 503" "$(elapsed "$t_unbind" "$(now)") s"
    if found=$(wait_part unplug "$t_unbind" placeholder 60); then
        figure "unplug -> placeholder on the stream" "$(elapsed "$t_unbind" "${found%% *}") s"
    else
        problems+=("the stream client did not stay connected to see the placeholder")
        watcher=unplug-again
        start_watcher "$watcher" /stream.mjpg
        if found=$(wait_part "$watcher" "$t_unbind" placeholder 60); then
            figure "unplug -> placeholder (on a NEW connection)" "$(elapsed "$t_unbind" "${found%% *}") s"
        else
            problems+=("no placeholder on the stream")
        fi
    fi
    if [ "$(service_prop MainPID)" != "$pid" ]; then
        problems+=("the server process died when the camera went away ($(gssh \
            'sudo journalctl -u streamserver.service -b --no-pager -o cat -n 300' |
            grep -E 'FATAL|Main process exited' | tail -n 2 | sed 's/\x1b\[[0-9;]*m//g' | tr '\n' ' '))")
    fi
    state=$(curl -s -m 10 "http://127.0.0.1:$HTTP_PORT/api/state" | python3 -c '
import json, sys
s = json.load(sys.stdin)["streams"][0]
print(s["state"], "placeholder" if s["showing_placeholder"] else "no-placeholder", s.get("last_error"))
') || state="(no /api/state)"
    log "/api/state while unplugged: $state"
    [[ $state == *" placeholder "* ]] || problems+=("/api/state does not report the placeholder: $state")
    sleep 5   # a few restart attempts that find no camera
    t_bind=$(now)
    gssh "echo $dev | sudo tee /sys/bus/platform/drivers/vimc/bind >/dev/null"
    log "bound $dev to the vimc driver again"
    if found=$(wait_part "$watcher" "$t_bind" live 120); then
        figure "replug -> live frames on the stream" "$(elapsed "$t_bind" "${found%% *}") s"
    else
        problems+=("no live frames on the stream after the replug")
    fi
    wait_until 30 "/health 200 after the replug" is_http 200 /health
    if watcher_alive "$watcher" && stop_watcher "$watcher"; then
        log "$watcher: $(grep -c '^part ' "$WORK/watch-$watcher.parts.log") parts in one connection"
    else
        problems+=("the stream client lost its connection after the replug")
    fi
    [ ${#problems[@]} = 0 ] || die "$(printf '%s; ' "${problems[@]}")"
}

# ---- 9./10. wedged and crashed -------------------------------------------------------------------

new_main_pid() { # new_main_pid OLD: the service is active with a main process other than OLD
    local p
    p=$(service_prop MainPID 2>/dev/null) && [ "$p" != "$1" ] && [ "$p" != 0 ] && service_active
}

# kill_and_wait SIGNAL LIMIT FIGURE: sends SIGNAL to the main process, waits for systemd to run a
# new one and for the stream to show the camera again.
kill_and_wait() {
    local sig=$1 limit=$2 label=$3 pid restarts t_kill t_guest t_new
    pid=$(service_prop MainPID)
    restarts=$(service_prop NRestarts)
    [ "$pid" -gt 0 ] || die "no main process"
    t_kill=$(now)
    t_guest=$(gssh "date +%s.%N; sudo kill -$sig $pid")
    log "SIG$sig to $pid"
    if [ "$sig" = SEGV ] && sleep 3 && [ "$(service_prop MainPID)" = "$pid" ]; then
        # Rust's std catches SIGSEGV (to report stack overflows); one that is not a fault in its
        # guard page resets the default action and returns, so a SIGSEGV sent by kill(1) is
        # survived once. A real fault repeats at once and kills; so does a second kill.
        figure "kill -SEGV: the first one survived" "yes (Rust std's SIGSEGV handler); sent twice"
        gssh "sudo kill -$sig $pid"
    fi
    wait_until "$limit" "a new main process after SIG$sig" new_main_pid "$pid"
    t_new=$(now)
    [ "$(service_prop NRestarts)" = $((restarts + 1)) ] || die "NRestarts did not go up by one"
    wait_until 90 "vimc's colour bars after SIG$sig" snapshot_is_vimc
    figure "$label -> service active again" "$(elapsed "$t_kill" "$t_new") s"
    figure "$label -> live stream again" "$(elapsed "$t_kill" "$(now)") s"
    KILL_GUEST_TIME=$t_guest
}
KILL_GUEST_TIME=""

process_wedged() {
    kill_and_wait STOP $((WATCHDOG_S + 5 + RESTART_S + 60)) "SIGSTOP (wedged)"
    # When systemd's watchdog fired, in the guest's clock.
    local fired
    fired=$(gssh "sudo journalctl -u streamserver.service -b --no-pager -o short-unix --since @${KILL_GUEST_TIME%.*}" |
        awk '/Watchdog timeout/ { print $1; exit }')
    [ -n "$fired" ] || die "no 'Watchdog timeout' in the journal"
    local after
    after=$(elapsed "$KILL_GUEST_TIME" "$fired")
    figure "SIGSTOP -> watchdog kill (WatchdogSec=${WATCHDOG_S}s)" "$after s"
    awk -v a="$after" -v l="$((WATCHDOG_S + 5))" 'BEGIN { exit !(a <= l) }' ||
        die "the watchdog fired after ${after}s, more than WatchdogSec + 5 s"
}

process_crash() {
    kill_and_wait SEGV $((RESTART_S + 60)) "SIGSEGV (crash)"
    gssh "sudo journalctl -u streamserver.service -b --no-pager -o cat --since @${KILL_GUEST_TIME%.*}" |
        grep -E 'status=11/SEGV|Scheduled restart' || die "the journal does not show the SEGV and the restart"
}

# ---- 11. reboot ----------------------------------------------------------------------------------

new_boot_id() { # new_boot_id OLD: the guest answers with a boot id other than OLD
    local b
    b=$(gssh_t 10 'cat /proc/sys/kernel/random/boot_id' 2>/dev/null) && [ -n "$b" ] && [ "$b" != "$1" ]
}

reboot_vm() {
    local boot_id t0 booted
    boot_id=$(gssh 'cat /proc/sys/kernel/random/boot_id')
    t0=$(now)
    gssh_t 30 'sudo systemctl reboot' || true
    [ -S "$WORK/ssh-control" ] && timeout 10 ssh -o ControlPath="$WORK/ssh-control" -O exit x >/dev/null 2>&1
    wait_until 360 "the guest to come back with a new boot id" new_boot_id "$boot_id"
    ssh_master
    booted=$(now)
    log "$(gssh 'systemd-analyze | head -n 1')"
    wait_until 120 "streamserver.service active after the reboot" service_active
    [ "$(service_prop NRestarts)" = 0 ] || die "the service needed restarts after the reboot"
    wait_until 90 "vimc's colour bars after the reboot" snapshot_is_vimc
    figure "reboot -> ssh up" "$(elapsed "$t0" "$booted") s"
    figure "reboot -> live stream" "$(elapsed "$t0" "$(now)") s"
}

# ---- 12. folder source under the sandbox ---------------------------------------------------------

folder_snapshot_is() { # folder_snapshot_is NAME: the folder stream's snapshot is seed frame NAME
    curl -s -f -m 10 -o "$WORK/folder.jpg" "http://127.0.0.1:$HTTP_PORT/streams/folder/snapshot.jpg" &&
        cmp -s "$WORK/folder.jpg" "$WORK/seed/frames/$1"
}
folder_holds_only() { # folder_holds_only DIR NAME: DIR in the guest holds NAME and nothing else
    [ "$(gssh "sudo ls -A $1" | tr '\n' ' ')" = "$2 " ]
}

folder_source() {
    local frames=/var/lib/streamserver/frames owner
    # A second stream: a folder in the state directory (StateDirectory= in the unit).
    gssh_in 'sudo tee -a /etc/streamserver/config.toml >/dev/null' <<EOF

[[stream]]
id = "folder"
source = "folder"
[stream.folder]
path = "$frames"
stale_after = "300s"
max_frame_age = "3s"
EOF
    # ExecStartPre (check-config) creates the folder, in the sandbox, as the service user.
    gssh 'sudo systemctl restart streamserver.service'
    wait_until 90 "streamserver.service active with the folder stream" service_active
    owner=$(gssh "sudo stat -c '%U:%G %a' $frames")
    log "$frames: $owner"
    [ "${owner%% *}" = streamserver:streamserver ] || die "$frames is owned by ${owner%% *}, not the service user"
    # The producer writes under a temporary name and renames into place, as README asks.
    gssh "sudo cp /srv/seed/frames/a.jpg $frames/a.jpg.tmp && sudo mv $frames/a.jpg.tmp $frames/a.jpg"
    wait_until 30 "the producer's first frame on /streams/folder/snapshot.jpg" folder_snapshot_is a.jpg
    start_watcher folder /streams/folder/stream.mjpg
    local t0
    t0=$(now)
    gssh "sudo cp /srv/seed/frames/b.jpg $frames/b.jpg.tmp && sudo mv $frames/b.jpg.tmp $frames/b.jpg"
    wait_until 30 "the producer's second frame on the folder stream" \
        cmp -s "$WORK/watch-folder/latest.jpg" "$WORK/seed/frames/b.jpg"
    figure "folder: file renamed in -> on the stream client" "$(elapsed "$t0" "$(now)") s (host poll, 1 s)"
    stop_watcher folder
    # Cleanup (max_frame_age = 3s) deletes the old frame, never the one on air.
    wait_until 20 "the old frame cleaned up, the one on air kept" folder_holds_only "$frames" b.jpg
    curl -s -m 10 "http://127.0.0.1:$HTTP_PORT/api/state" | python3 -c '
import json, sys
streams = {s["id"]: s for s in json.load(sys.stdin)["streams"]}
print("streams:", {k: (v["source"], v["state"], v["healthy"]) for k, v in streams.items()})
assert streams["main"]["healthy"] and streams["folder"]["state"] == "running", "unhealthy"
' || die "the camera stream is not healthy or the folder stream not running"
}

# ---- 13. logs ------------------------------------------------------------------------------------

check_logs() {
    local journal main errors pattern
    journal=$(gssh 'sudo journalctl -u streamserver.service --no-pager -o cat')
    main=$(gssh 'sudo cat /var/log/streamserver/main.log')
    errors=$(gssh 'sudo cat /var/log/streamserver/error.log')
    expect() { # expect NAME TEXT PATTERN
        local line
        line=$(grep -a -m 1 -E "$3" <<<"$2") || die "$1 has no line matching: $3"
        echo "    $1: $(cut -c1-150 <<<"$line")"
    }
    for pattern in 'streamserver ready' 'Watchdog timeout' 'status=11/SEGV' \
                   'Scheduled restart job' 'camera streaming'; do
        expect journal "$journal" "$pattern"
    done
    expect main.log "$main" 'streamserver ready'
    expect main.log "$main" 'camera streaming'
    expect main.log "$main" 'source starting'
    expect error.log "$errors" 'source failed; restarting'
    if grep -a -q -E ' (INFO|DEBUG) ' <<<"$errors"; then
        die "error.log holds lines below warning level"
    fi
}

# ---- 14. uninstall -------------------------------------------------------------------------------

# What a purge must leave behind: nothing named streamserver outside pi's checkout copy.
LEFTOVERS='find / -xdev -name "*streamserver*" -not -path "/home/pi/*" 2>/dev/null;
           getent passwd streamserver; getent group streamserver;
           systemctl show -p LoadState --value streamserver.service | grep -v "^not-found$" || true'

uninstall_service() {
    gssh_t 120 'cd ~/streamserver && ./uninstall-service.sh' >"$WORK/uninstall.log" 2>&1 ||
        { cat "$WORK/uninstall.log"; die "uninstall-service.sh failed"; }
    grep -E '^==>' "$WORK/uninstall.log"
    local kept
    kept=$(gssh 'sudo ls -d /etc/streamserver /var/log/streamserver /var/lib/streamserver; getent passwd streamserver | cut -d: -f1')
    [ "$(wc -l <<<"$kept")" = 4 ] || die "a plain uninstall must keep config, logs, state and user: $kept"
    gssh 'test ! -e /usr/local/bin/streamserver && test ! -e /etc/systemd/system/streamserver.service' ||
        die "the unit or the binary is still there"
    gssh_t 120 'cd ~/streamserver && PURGE_LOCAL_ARTIFACTS=1 ./uninstall-service.sh' >>"$WORK/uninstall.log" 2>&1 ||
        { cat "$WORK/uninstall.log"; die "PURGE_LOCAL_ARTIFACTS=1 uninstall-service.sh failed"; }
    local left
    left=$(gssh "sudo sh -c '$LEFTOVERS'")
    [ -z "$left" ] || die "left behind after the purge: $left"
    log "nothing named streamserver left (files, user, group, unit)"
}

main() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot, mkfs of the roots)"
    if [ -z "$WATCHDOG_S" ] || [ -z "$RESTART_S" ]; then
        die "no WatchdogSec= or RestartSec= in seconds in streamserver.service"
    fi
    WORK=$(mktemp -d /tmp/appliance-check.XXXXXX)
    KEY=$WORK/id_ed25519
    trap finish EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    step "roots: VM root, libcamera build root, qemu" prepare_roots
    step "VM root: user pi, ssh, network, vimc at boot" configure_vm
    step "vimc.ko for the VM's kernel" install_vimc
    step "build ${BINARIES[*]} (--features libcamera)" build_binaries
    step "disks: VM root image, seed (key, binary, checkout)" make_disks
    step "boot (systemd as PID 1), ssh up" boot_vm
    step "install-service.sh as pi" install_service
    check "service active, READY=1, /health 200, vimc on stream" check_service
    check "camera unplugged and plugged in again" camera_unplug
    check "process wedged (SIGSTOP): watchdog restarts it" process_wedged
    check "process crashed (SIGSEGV): restarted" process_crash
    check "reboot: the service comes back by itself" reboot_vm
    check "folder source under the sandbox" folder_source
    check "journal, main.log, error.log" check_logs
    check "uninstall, then purge: nothing left" uninstall_service
    if [ ${#FAILED_CHECKS[@]} -gt 0 ]; then
        echo "appliance-check: FAIL: ${#FAILED_CHECKS[@]} check(s) failed:" >&2
        printf '    %s\n' "${FAILED_CHECKS[@]}" >&2
        exit 1
    fi
    echo "appliance-check: OK"
}

# Sourced (e.g. to try one step by hand), it only defines the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
