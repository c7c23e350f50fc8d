#!/bin/bash
# tests/vm/run-in-vm.sh SCRIPT [SRC_DIR]
# tests/vm/run-in-vm.sh --shell [SRC_DIR]   (interactive: root login on the serial
#                                    console, no password; Ctrl-A x quits;
#                                    /job is the job dir; SRC_DIR: mount -t 9p -o trans=virtio,ro src /src)
#   Boots the VM built by build-vm.sh (fresh: the disk is opened with
#   snapshot=on, so nothing persists), runs SCRIPT with bash as root once
#   systemd has finished booting, streams its output (stdout+stderr) while it
#   runs, powers the VM off, and exits with SCRIPT's exit status.
#   SRC_DIR (optional) is shared read-only and mounted at /src in the VM
#   (the project checkout with nsrun already built on the host: host and VM
#   are both Debian 12, so host-built binaries run unchanged).
#   Inside the VM the job dir is /job (read-write, 9p): files the script
#   writes there land in $NSRUN_VM_DIR/jobs/<id>/ on the host ($TMPDIR if that
#   is not writable), with console.log (the guest's serial console) and
#   qemu.log; the job dir is deleted at exit unless NSRUN_VM_KEEP=1.
# Env: NSRUN_VM_DIR (default /var/tmp/nsrun-vm), NSRUN_VM_TIMEOUT (s, default 900),
#      NSRUN_VM_ACCEL (kvm|tcg; default kvm only if the CPU has vmx/svm),
#      NSRUN_VM_MEM (MiB, default 2048), NSRUN_VM_CPUS (default: host cores),
#      NSRUN_VM_KEEP=1 keeps the job dir.
# Exit: SCRIPT's status; 124 timeout; 125 VM failed before writing a status.
set -euo pipefail
VM_DIR=${NSRUN_VM_DIR:-/var/tmp/nsrun-vm}
script=${1:?usage: run-in-vm.sh SCRIPT|--shell [SRC_DIR]}
src=${2:-}
for f in vmlinuz initrd.img rootfs.img; do
    [ -e "$VM_DIR/$f" ] || { echo "run-in-vm.sh: $VM_DIR/$f missing; run build-vm.sh" >&2; exit 125; }
done
command -v qemu-system-x86_64 >/dev/null ||
    { echo "run-in-vm.sh: qemu-system-x86_64 missing (apt-get install qemu-system-x86)" >&2; exit 125; }

accel=${NSRUN_VM_ACCEL:-}
if [ -z "$accel" ]; then
    # A /dev/kvm alone is not enough: nested PVM-style KVM (no vmx/svm in
    # cpuinfo) exists but cannot run a stock Debian kernel at any useful speed.
    if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=kvm; else accel=tcg; fi
fi
if [ "$accel" = kvm ]; then cpu=(-accel kvm -cpu host); else cpu=(-accel "tcg,thread=multi" -cpu max); fi

jobs_dir=$VM_DIR/jobs
mkdir -p "$jobs_dir" 2>/dev/null || true
[ -w "$jobs_dir" ] || jobs_dir=${TMPDIR:-/tmp}     # a non-root user of a root-built VM
job=$(mktemp -d "$jobs_dir/job.XXXXXX")
chmod 755 "$job"          # the VM's nsrun user may read /job too
qpid=
cleanup() {
    [ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
    [ "${NSRUN_VM_KEEP:-0}" = 1 ] || rm -rf "$job"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ "$script" = --shell ]; then
    mode=shell; jobarg=        # nsrun-job.service is skipped; log in as root
else
    mode=job; jobarg=nsrun.job
    cp "$script" "$job/run.sh"
fi

extra=()
if [ -n "$src" ]; then
    extra+=(-virtfs "local,path=$(cd "$src" && pwd),mount_tag=src,security_model=none,readonly=on")
fi

qemu=(qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot
    "${cpu[@]}" -smp "${NSRUN_VM_CPUS:-$(nproc)}" -m "${NSRUN_VM_MEM:-2048}"
    -kernel "$VM_DIR/vmlinuz" -initrd "$VM_DIR/initrd.img"
    -append "console=ttyS0 root=/dev/vda rw quiet panic=-1 systemd.unified_cgroup_hierarchy=1 systemd.show_status=0 $jobarg"
    -drive "file=$VM_DIR/rootfs.img,format=raw,if=virtio,snapshot=on"
    -virtfs "local,path=$job,mount_tag=job,security_model=none"
    "${extra[@]}" -nic none)
if [ $mode = shell ]; then
    "${qemu[@]}" -serial mon:stdio
    exit 0
fi

# qemu in the background; the guest's output.log (9p, written through) is
# copied to stdout as it grows, and flushed once more after qemu has exited.
timeout -k 10 "${NSRUN_VM_TIMEOUT:-900}" \
    "${qemu[@]}" -serial "file:$job/console.log" </dev/null >"$job/qemu.log" 2>&1 &
qpid=$!
off=0
while :; do
    alive=1; kill -0 "$qpid" 2>/dev/null || alive=0
    if [ -f "$job/output.log" ]; then
        size=$(stat -c %s "$job/output.log")
        if [ "$size" -gt "$off" ]; then
            tail -c +$((off + 1)) "$job/output.log" | head -c $((size - off))
            off=$size
        fi
    fi
    [ $alive = 1 ] || break
    sleep 0.5
done
set +e
wait "$qpid"
qrc=$?
qpid=
set -e

if [ -f "$job/exit-code" ]; then
    exit "$(cat "$job/exit-code")"
fi
echo "run-in-vm.sh: no exit status from the VM (qemu rc=$qrc); last console lines:" >&2
tail -n 40 "$job/console.log" "$job/qemu.log" >&2 || true
[ $qrc = 124 ] && exit 124
exit 125
