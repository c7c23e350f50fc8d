#!/bin/bash
# tests/vm/build-vm.sh - build a small Debian 12 VM (systemd as PID 1, pure
# cgroup v2) for nsrun's cgroup-v2 / systemd tests (tests/vm/vm-tests.sh).
# Run as root.  Needs nothing but Debian's package archive (the mirror the
# host's apt sources name, or $NSRUN_VM_MIRROR).  ~70-90 s on a 2-core machine.
#
# Produces, in $NSRUN_VM_DIR (default /var/tmp/nsrun-vm):
#   vmlinuz      Debian's own kernel (linux-image-*-amd64, extracted, not installed)
#   initrd.img   tiny busybox initramfs: loads virtio/ext4/9p modules, mounts /dev/vda
#   rootfs.img   ext4 image (2G sparse) of bookworm minbase + systemd, dbus, udev,
#                logind, the user bus, python3 + pytest, iproute2, and the shared libraries a
#                host-built nsrun links against; user 'nsrun' (uid 1000) with
#                lingering on; nsrun-job.service runs /job/run.sh from a 9p share
#                then powers off.
#   build.stamp  hash of this script + $NSRUN_VM_EXTRA_PKGS: the cache key.
# Idempotent: does nothing when all of these exist and the stamp matches (so
# editing this script, e.g. the package list, rebuilds).  NSRUN_VM_REBUILD=1
# forces a rebuild.  Concurrent runs serialise on $NSRUN_VM_DIR/.build.lock.
#
# Env: NSRUN_VM_DIR, NSRUN_VM_MIRROR, NSRUN_VM_REBUILD=1,
#      NSRUN_VM_EXTRA_PKGS="pkg1 pkg2" (more Debian packages in the rootfs).
set -euo pipefail

VM_DIR=${NSRUN_VM_DIR:-/var/tmp/nsrun-vm}
SELF=$(readlink -f "${BASH_SOURCE[0]}")
# the mirror this machine's apt already uses (first URIs: line of a deb822 source, or a one-line source)
apt_mirror() { sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n1; }
MIRROR=${NSRUN_VM_MIRROR:-$(apt_mirror)}
[ -n "$MIRROR" ] || MIRROR=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$MIRROR" ] || MIRROR=http://deb.debian.org/debian
SUITE=bookworm
TEST_USER=nsrun
IMG_SIZE=2G
# boot and service manager
# (dbus-user-session: the user bus at /run/user/UID/bus, which sd_bus_open_user() needs)
BASE_PKGS="systemd systemd-sysv dbus dbus-user-session udev libpam-systemd kmod"
# what the in-VM test cases use
TEST_PKGS="bash util-linux procps iproute2 python3 python3-pytest"
# shared libraries of a host-built nsrun (host and VM are both bookworm; keep in
# sync with the dependency() calls in meson.build)
LIB_PKGS="libc6 libmount1 libnl-3-200 libsystemd0 libjson-c5 libxml2"
PKGS="$BASE_PKGS $TEST_PKGS $LIB_PKGS ${NSRUN_VM_EXTRA_PKGS:-}"
# modules for boot (virtio-pci disk, 9p shares) and for a sandbox's tests
BOOT_MODS="virtio_pci virtio_blk virtio_console crc32c_generic ext4 9pnet_virtio 9p"
EXTRA_MODS="overlay loop veth fuse autofs4"

log() { printf '[build-vm %(%T)T] %s\n' -1 "$*" >&2; }
[ "$(id -u)" = 0 ] || { echo "build-vm.sh: must run as root" >&2; exit 1; }
mkdir -p "$VM_DIR"
cd "$VM_DIR"
exec 9>"$VM_DIR/.build.lock"
flock 9            # a second concurrent build waits, then finds the image built

stamp=$( { cat "$SELF"; echo "extra=${NSRUN_VM_EXTRA_PKGS:-}"; } | sha256sum | cut -c1-16)
if [ "${NSRUN_VM_REBUILD:-0}" != 1 ] && [ -e vmlinuz ] && [ -e initrd.img ] && [ -e rootfs.img ] &&
   [ "$(cat build.stamp 2>/dev/null)" = "$stamp" ]; then
    log "already built in $VM_DIR (stamp $stamp)"; exit 0
fi
t0=$SECONDS
B=$VM_DIR/build
rm -rf "$B" && mkdir -p "$B"

# 1. host tools -------------------------------------------------------------
need=()
for p in qemu-system-x86_64:qemu-system-x86 debootstrap:debootstrap \
         busybox:busybox-static depmod:kmod modprobe:kmod cpio:cpio mkfs.ext4:e2fsprogs; do
    command -v "${p%%:*}" >/dev/null || need+=("${p#*:}")
done
kdep() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}'; }
if [ ${#need[@]} -gt 0 ] || [ -z "$(kdep)" ]; then
    log "apt-get update + install ${need[*]}"
    apt-get update -qq
    [ ${#need[@]} -eq 0 ] ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. debootstrap in the background while the kernel is fetched -------------
log "debootstrap $SUITE minbase from $MIRROR (background)"
debootstrap --variant=minbase --include="$(echo $PKGS | tr ' ' ,)" \
    "$SUITE" "$B/rootfs" "$MIRROR" >"$B/debootstrap.log" 2>&1 &
dbs_pid=$!

# 3. kernel: Debian's linux-image, extracted (not installed on the host) ------
kpkg=$(kdep)
log "downloading $kpkg"
mkdir -p "$B/kpkg"
(cd "$B/kpkg" && apt-get download -qq -o APT::Sandbox::User=root "$kpkg" && dpkg-deb -x ./*.deb . && rm -f ./*.deb)
kver=$(ls "$B/kpkg/lib/modules")
K=$B/kpkg/lib/modules/$kver
depmod -b "$B/kpkg" "$kver"
modorder() { for m in "$@"; do modprobe -d "$B/kpkg" -S "$kver" --show-depends "$m"; done |
             awk '$1=="insmod"{print $2}' | awk '!seen[$0]++' | sed "s|^.*/lib/modules/$kver/||"; }

# 4. initramfs ----------------------------------------------------------------
log "building initrd.img"
I=$B/initrd
mkdir -p "$I"/{bin,dev,proc,sys,newroot}
cp "$(command -v busybox)" "$I/bin/busybox"
ln -s busybox "$I/bin/sh"
for f in $(modorder $BOOT_MODS); do
    install -D -m644 "$K/$f" "$I/lib/modules/$kver/$f"
    echo "/lib/modules/$kver/$f" >> "$I/modules.list"
done
cat > "$I/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /modules.list); do insmod "$m" 2>/dev/null; done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
if ! mount -t ext4 -o rw /dev/vda /newroot; then
    echo "initrd: cannot mount /dev/vda; dropping to a shell"; exec sh
fi
umount /sys /proc; mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
EOF
chmod 755 "$I/init"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -1) > "$B/initrd.img"

# 5. root filesystem ----------------------------------------------------------
if ! wait $dbs_pid; then tail -20 "$B/debootstrap.log" >&2; exit 1; fi
log "configuring rootfs"
R=$B/rootfs
missing=()
for p in $PKGS; do
    chroot "$R" dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || { echo "build-vm.sh: not installed in the rootfs: ${missing[*]}" >&2; exit 1; }
# keep the image small: no apt caches, docs, man pages or translations
rm -rf "$R"/var/cache/apt/archives/*.deb "$R"/var/cache/apt/*.bin "$R"/var/lib/apt/lists/* \
       "$R"/usr/share/doc/* "$R"/usr/share/man/* "$R"/usr/share/info/* "$R"/usr/share/locale/*
echo nsrun-vm > "$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 nsrun-vm\n' > "$R/etc/hosts"
cat > "$R/etc/fstab" <<'EOF'
/dev/vda  /     ext4  rw,errors=remount-ro  0 0
job       /job  9p    trans=virtio,version=9p2000.L,msize=262144,nofail  0 0
EOF
mkdir -p "$R/job" "$R/src"
chroot "$R" passwd -dq root                 # passwordless root on the serial console
chroot "$R" useradd -m -u 1000 -s /bin/bash "$TEST_USER"
# offline equivalent of 'loginctl enable-linger nsrun': user@1000.service at boot
mkdir -p "$R/var/lib/systemd/linger" && touch "$R/var/lib/systemd/linger/$TEST_USER"
for f in $(modorder $BOOT_MODS $EXTRA_MODS); do
    install -D -m644 "$K/$f" "$R/lib/modules/$kver/$f"
done
cp "$K"/modules.{order,builtin,builtin.modinfo} "$R/lib/modules/$kver/"
depmod -b "$R" "$kver"
cat > "$R/usr/local/sbin/nsrun-job" <<'EOF'
#!/bin/bash
# Runs /job/run.sh (host's job dir, 9p tag "job") as root once boot has finished.
# Output -> /job/output.log (and the console); status -> /job/exit-code; poweroff.
mountpoint -q /job || mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 job /job
if grep -qsx src /sys/bus/virtio/drivers/9pnet_virtio/virtio*/mount_tag; then
    mkdir -p /src && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro src /src
fi
timeout 300 systemctl is-system-running --wait >/dev/null
cd /job
if [ -f /job/run.sh ]; then
    bash /job/run.sh 2>&1 | tee /job/output.log > /dev/console
    rc=${PIPESTATUS[0]}
else
    echo "nsrun-job: no /job/run.sh" | tee /job/output.log > /dev/console; rc=127
fi
echo "$rc" > /job/exit-code.tmp && mv /job/exit-code.tmp /job/exit-code
sync
systemctl poweroff --no-block
EOF
chmod 755 "$R/usr/local/sbin/nsrun-job"
cat > "$R/etc/systemd/system/nsrun-job.service" <<'EOF'
[Unit]
Description=nsrun test job from the 9p share
ConditionKernelCommandLine=nsrun.job
After=multi-user.target
[Service]
# exec, not oneshot: otherwise boot never "finishes" while the job runs
Type=exec
ExecStart=/usr/local/sbin/nsrun-job
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/nsrun-job.service "$R/etc/systemd/system/multi-user.target.wants/"
# nothing periodic or slow in a throwaway VM
rm -f "$R"/etc/systemd/system/timers.target.wants/*.timer \
      "$R/etc/systemd/system/multi-user.target.wants/e2scrub_reap.service"
# python3 ships a binfmt.d rule, binfmt_misc is a module we do not carry: without
# these masks boot ends "degraded" instead of "running"
for u in systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount; do
    ln -sf /dev/null "$R/etc/systemd/system/$u"
done

log "making ext4 image"
mkfs.ext4 -q -F -L nsrun-root -d "$R" "$B/rootfs.img" "$IMG_SIZE" >/dev/null
cp "$B/kpkg/boot/vmlinuz-$kver" "$B/vmlinuz"
rm -f build.stamp
mv "$B/vmlinuz" "$B/initrd.img" "$B/rootfs.img" "$VM_DIR/"
echo "$kver" > "$VM_DIR/kernel-version"
echo "$stamp" > "$VM_DIR/build.stamp"
rm -rf "$B"
log "done in $((SECONDS - t0)) s: rootfs.img $(du -h rootfs.img | cut -f1) used, kernel $kver, $(du -sh "$VM_DIR" | cut -f1) in $VM_DIR"
