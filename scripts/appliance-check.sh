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

# The parts, in the order the run uses them.
# shellcheck source=scripts/appliance-harness.sh
. "$REPO/scripts/appliance-harness.sh"
# shellcheck source=scripts/appliance-vm.sh
. "$REPO/scripts/appliance-vm.sh"
# shellcheck source=scripts/appliance-checks.sh
. "$REPO/scripts/appliance-checks.sh"

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
