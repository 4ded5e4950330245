# shellcheck shell=bash
# appliance-vm.sh — the appliance check's VM: roots, the VM root configured as a Pi would be,
# vimc.ko, the binaries built in the libcamera root, the disks, boot and install-service.sh.
# Sourced by scripts/appliance-check.sh (not run): it uses that script's settings and globals.

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

# Two loopback ports for qemu's forwards, free now and below the kernel's ephemeral range
# (32768-60999 by default), so no outgoing connection or :0 bind takes one before qemu binds it.
free_ports() {
    python3 -c '
import random, socket
got = []
for port in random.sample(range(20000, 32000), 500):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    got.append(port)
    if len(got) == 2:
        break
print(*got)'
}

boot_vm() {
    read -r SSH_PORT HTTP_PORT < <(free_ports)
    [ -n "$HTTP_PORT" ] || die "no two free loopback ports in 20000-32000"
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
