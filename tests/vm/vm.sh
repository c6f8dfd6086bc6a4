#!/bin/bash
# vm.sh - run a command as root in a throw-away QEMU guest whose only cgroup
# hierarchy is cgroup v2 with every controller, for the tests a hybrid or
# cgroup v1 host cannot run.  See tests/vm/README.md.
#
# usage: tests/vm/vm.sh [OPTIONS] -- COMMAND [ARG...]
#        tests/vm/vm.sh --prepare
#
#   --timeout S   power the guest off after S seconds (exit status 124)
#   --mem MB      guest memory (default 1024)
#   --cpus N      guest CPUs (default 2)
#   --systemd     boot systemd as PID 1 and run COMMAND as a service once
#                 basic.target is reached; dbus and logind are not started
#                 (`systemctl start dbus.socket systemd-logind.service`, then
#                 `systemctl start user@UID.service` for a user session with
#                 cpu, memory and pids delegated)
#   --verbose     copy the guest's console (kernel log) to stderr
#   --prepare     only download and unpack the kernel, build the initramfs
#
# The guest's / is the host's /, read-only over 9p under a tmpfs overlay
# (writes are discarded), with fresh /tmp and /run.  The current directory
# is shared read-write at the same path.  COMMAND runs as root there, in
# the root cgroup (no controller enabled in its subtree_control: that is
# the runtime's job) or, with --systemd, in a service's cgroup, with the
# exported environment of the caller and stdin from /dev/null.  Its stdout
# and stderr are ours; our exit status is its exit status, 124 on timeout,
# 125 when the guest could not be made or run.  The guest has one empty
# disk, /dev/vda, and the kernel's modules for modprobe.
#
# Environment:
#   MDRUN_VM_CACHE   kernel cache (default ${XDG_CACHE_HOME:-~/.cache}/mdrun-vm)
#   MDRUN_VM_KERNEL  the kernel package (default: what linux-image-amd64
#                    depends on, remembered in the cache on first use)
#   MDRUN_VM_QEMU    the emulator (default qemu-system-x86_64)
#   MDRUN_VM_APPEND  more kernel parameters
#   MDRUN_VM_SHARE   share read-write the deepest directory that holds both
#                    this one and the current one (default: the current one)
set -euo pipefail

CACHE=${MDRUN_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mdrun-vm}
QEMU=${MDRUN_VM_QEMU:-qemu-system-x86_64}
TIMEOUT=0 MEM=1024 CPUS=2 SYSTEMD=0 VERBOSE=0 PREPARE=0

fail() {
    echo "vm.sh: $*" >&2
    exit 125
}

while [ $# -gt 0 ]; do
    case $1 in
    --timeout) TIMEOUT=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --cpus) CPUS=$2; shift 2 ;;
    --systemd) SYSTEMD=1; shift ;;
    --verbose) VERBOSE=1; shift ;;
    --prepare) PREPARE=1; shift ;;
    --) shift; break ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown option $1 (the command goes after --)" ;;
    esac
done
[ $# -gt 0 ] || [ "$PREPARE" = 1 ] || fail "no command; usage: vm.sh [OPTIONS] -- COMMAND [ARG...]"

for tool in "$QEMU" busybox dpkg-deb apt-get xz flock; do
    command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install qemu-system-x86 busybox-static xz-utils)"
done
# The initramfs has no libc: its busybox must be the static one.
BUSYBOX=$(command -v busybox)
if ldd "$BUSYBOX" >/dev/null 2>&1; then
    fail "$BUSYBOX is not statically linked (apt-get install busybox-static)"
fi

# ------------------------------------------------------------ the kernel

# The modules the initramfs loads: PCI virtio, the console ports, the
# disk, 9p and overlayfs (dependencies are added from modules.dep).
INITRD_MODULES="virtio_pci virtio_console virtio_blk 9pnet_virtio 9p overlay"

# The uncompressed kernel inside a vmlinuz: QEMU boots the ELF directly
# (PVH), which saves the seconds an emulated CPU spends decompressing it.
extract_vmlinux() { # vmlinuz output
    local off
    off=$(LC_ALL=C grep -aboP '\xfd7zXZ\x00' "$1" | head -1 | cut -d: -f1) || true
    [ -n "$off" ] || return 1
    tail -c +$((off + 1)) "$1" | xz -dc >"$2" 2>/dev/null || true
    [ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]
}

# Print the modules to load for $1 after its dependencies, once each.
declare -A LISTED=()
module_order() { # moddir name
    local line dep
    line=$(grep -E "(^|/)$2\.ko(\.xz)?:" "$1/modules.dep") || {
        grep -qE "(^|/)$2\.ko" "$1/modules.builtin" && return 0
        fail "module $2 not found in $1"
    }
    for dep in ${line#*:}; do
        dep=${dep##*/}
        module_order "$1" "${dep%%.ko*}"
    done
    if [ -z "${LISTED[$2]:-}" ]; then
        LISTED[$2]=1
        echo "${line%%:*}"
    fi
}

build_initramfs() { # kdir output
    local dir moddir m name
    dir=$(mktemp -d "$CACHE/initramfs.XXXXXX")
    moddir=$1/lib/modules/$KVER
    mkdir -p "$dir/bin" "$dir/modules" "$dir/proc" "$dir/sys" "$dir/dev"
    cp "$BUSYBOX" "$dir/bin/busybox"
    ln -s busybox "$dir/bin/sh"
    for name in $INITRD_MODULES; do
        module_order "$moddir" "$name"
    done >"$dir/order"
    while read -r m; do
        name=${m##*/}
        case $m in
        *.xz) xz -dc "$moddir/$m" >"$dir/modules/${name%.xz}" ;;
        *) cp "$moddir/$m" "$dir/modules/" ;;
        esac
        echo "${name%.xz}"
    done <"$dir/order" >"$dir/modules.list"
    rm "$dir/order"
    write_init >"$dir/init"
    write_stage2 >"$dir/stage2"
    chmod +x "$dir/init"
    (cd "$dir" && find . | busybox cpio -o -H newc 2>/dev/null) >"$2.tmp"
    mv "$2.tmp" "$2"
    rm -rf "$dir"
}

prepare() {
    mkdir -p "$CACHE"
    exec 9>"$CACHE/lock"
    flock 9
    local pkg=${MDRUN_VM_KERNEL:-}
    if [ -z "$pkg" ] && [ -s "$CACHE/kernel-package" ]; then
        pkg=$(cat "$CACHE/kernel-package")
    elif [ -z "$pkg" ]; then
        pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
            awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
        [ -n "$pkg" ] || fail "apt knows no linux-image-amd64 (run apt-get update once)"
        echo "$pkg" >"$CACHE/kernel-package"
    fi
    KDIR=$CACHE/$pkg
    if [ ! -e "$KDIR/ready" ]; then
        echo "vm.sh: downloading and unpacking $pkg into $KDIR (once)" >&2
        rm -rf "$KDIR"
        mkdir -p "$KDIR/download"
        (cd "$KDIR/download" && apt-get download "$pkg" >/dev/null) ||
            fail "apt-get download $pkg failed"
        dpkg-deb -x "$KDIR"/download/*.deb "$KDIR/tree"
        KVER=$(ls "$KDIR/tree/lib/modules")
        mkdir -p "$KDIR/lib/modules"
        mv "$KDIR/tree/lib/modules/$KVER" "$KDIR/lib/modules/"
        if extract_vmlinux "$KDIR/tree/boot/vmlinuz-$KVER" "$KDIR/vmlinux"; then
            echo vmlinux >"$KDIR/kernel"
        else
            rm -f "$KDIR/vmlinux"
            mv "$KDIR/tree/boot/vmlinuz-$KVER" "$KDIR/vmlinuz"
            echo vmlinuz >"$KDIR/kernel"
        fi
        busybox depmod -b "$KDIR" "$KVER" || fail "depmod $KVER failed"
        echo "$KVER" >"$KDIR/version"
        rm -rf "$KDIR/download" "$KDIR/tree"
        touch "$KDIR/ready"
    fi
    KVER=$(cat "$KDIR/version")
    KERNEL=$KDIR/$(cat "$KDIR/kernel")
    # Keyed by this script's checksum, so an edit rebuilds it.
    INITRD=$KDIR/initramfs-$(md5sum <"${BASH_SOURCE[0]}" | cut -c1-12).cpio
    if [ ! -e "$INITRD" ]; then
        rm -f "$KDIR"/initramfs-*.cpio
        build_initramfs "$KDIR" "$INITRD"
    fi
    flock -u 9
}

# ------------------------------------------------------------- the guest

# PID 1 of the initramfs: load the modules, make the root (host / under a
# tmpfs overlay), mount what a system needs, then switch to it.
write_init() {
    cat <<'EOF'
#!/bin/sh
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
die() {
    echo "<2>mdrun-vm: error: $*" >/dev/kmsg
    reboot -f
}
for m in $(cat /modules.list); do insmod /modules/$m || die "insmod $m"; done
. /vm.conf
O=trans=virtio,version=9p2000.L,msize=262144,cache=loose
mkdir -p /lower /upper /newroot
mount -t 9p -o $O,ro root /lower || die "mount the host's / over 9p"
mount -t tmpfs -o mode=0755 tmpfs /upper
mkdir /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot ||
    die "mount the overlay root"
R=/newroot
for d in proc sys dev; do mount --move /$d $R/$d; done
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 $R/sys/fs/cgroup || die "mount cgroup2"
mount -t bpf bpf $R/sys/fs/bpf 2>/dev/null
mkdir -p $R/dev/pts $R/dev/shm $R/dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $R/dev/shm
mount -t mqueue mqueue $R/dev/mqueue
ln -s /proc/self/fd $R/dev/fd
for i in 0:stdin 1:stdout 2:stderr; do ln -s /proc/self/fd/${i%:*} $R/dev/${i#*:}; done
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs $R/run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs $R/tmp
mkdir -p $R/lib/modules/$VM_KVER && mount --bind /lower$VM_MODULES $R/lib/modules/$VM_KVER
if [ -n "$VM_CWD" ]; then
    mkdir -p $R$VM_CWD
    mount -t 9p -o $O cwd $R$VM_CWD || die "mount $VM_CWD over 9p"
fi
mkdir $R/run/vm
cp /bin/busybox /stage2 /cmd $R/run/vm/
# The host may have no kmod: the kernel's module requests go to busybox.
ln -s busybox $R/run/vm/modprobe
echo /run/vm/modprobe >$R/proc/sys/kernel/modprobe
if [ "$VM_SYSTEMD" = 1 ]; then
    U=$R/etc/systemd/system
    mkdir -p $U
    printf '[Unit]\nRequires=mdrun-vm.service\nAfter=mdrun-vm.service\nAllowIsolate=yes\n' >$U/mdrun-vm.target
    printf '[Unit]\nAfter=basic.target\n[Service]\nType=oneshot\nTimeoutStartSec=infinity\nEnvironment=VM_SYSTEMD=1\nExecStart=/run/vm/busybox sh /run/vm/stage2\n' >$U/mdrun-vm.service
    exec switch_root $R /lib/systemd/systemd systemd.unit=mdrun-vm.target
fi
exec switch_root $R /run/vm/busybox sh /run/vm/stage2
EOF
}

# In the new root (PID 1, or a systemd service): run the command with its
# output on the virtio ports "out" and "err", its status on "rc", power off.
write_stage2() {
    cat <<'EOF'
B=/run/vm/busybox
if [ -z "$VM_SYSTEMD" ]; then
    $B mount --make-rshared /
    $B hostname mdrun-vm
    $B ip link set lo up
fi
port() {
    for p in /sys/class/virtio-ports/*; do
        [ "$($B cat $p/name)" = "$1" ] && echo /dev/${p##*/}
    done
}
/bin/bash /run/vm/cmd </dev/null >"$(port out)" 2>"$(port err)"
echo $? >"$(port rc)"
$B sync
$B reboot -f
EOF
}

prepare
[ "$PREPARE" = 1 ] && exit 0

# ---------------------------------------------------------------- one run

RUN=$(mktemp -d "${TMPDIR:-/tmp}/mdrun-vm.XXXXXX")
QPID= TAILS=()
cleanup() {
    [ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
    [ ${#TAILS[@]} -gt 0 ] && kill "${TAILS[@]}" 2>/dev/null
    rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

CWD=$(pwd -P)
# What is shared read-write: the current directory, or a directory above
# it (MDRUN_VM_SHARE) when the command needs more of the tree, such as a
# checkout under /tmp, which the guest would otherwise hide.
SHARE=$CWD
if [ -n "${MDRUN_VM_SHARE:-}" ]; then
    SHARE=$(cd "$MDRUN_VM_SHARE" && pwd -P) || fail "MDRUN_VM_SHARE=$MDRUN_VM_SHARE is not a directory"
    while :; do
        case $CWD/ in "${SHARE%/}"/*) break ;; esac
        SHARE=$(dirname "$SHARE")
    done
fi
[ "$SHARE" = / ] && SHARE=
{
    printf 'VM_SYSTEMD=%s\nVM_KVER=%q\nVM_MODULES=%q\nVM_CWD=%q\n' \
        "$SYSTEMD" "$KVER" "$KDIR/lib/modules/$KVER" "$SHARE"
} >"$RUN/vm.conf"
{
    echo '#!/bin/bash'
    export -p | grep -vE '^declare -x (PWD|OLDPWD|SHLVL|_)(=|$)' || true
    printf 'cd -- %q || exit 125\n' "${CWD:-/}"
    echo '[ -n "${TMPDIR:-}" ] && mkdir -p -- "$TMPDIR"'
    printf 'exec'
    printf ' %q' "$@"
    echo
} >"$RUN/cmd"
# The run's files go in a second archive after the cached one.
{
    cat "$INITRD"
    (cd "$RUN" && printf '%s\n' vm.conf cmd | busybox cpio -o -H newc 2>/dev/null)
} >"$RUN/initrd"

ACCEL=(-accel tcg)
[ -w /dev/kvm ] && ACCEL=(-accel kvm)
qemu_path() { printf '%s' "${1//,/,,}"; } # QEMU doubles a comma in a value
# passthrough keeps ownership and modes, which only root may set.
FS=security_model=none
[ "$(id -u)" = 0 ] && FS=security_model=passthrough
FS=$FS,multidevs=remap

APPEND="console=ttyS0 quiet loglevel=4 printk.devkmsg=on panic=-1 mitigations=off acpi=noirq cryptomgr.notests=1"
APPEND+=" cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1"
[ "$SYSTEMD" = 1 ] && APPEND+=" fstab=0 systemd.show_status=0 systemd.journald.forward_to_console=0"
APPEND+=" ${MDRUN_VM_APPEND:-}"

ARGS=(-nodefaults -no-user-config -no-reboot -display none -monitor none "${ACCEL[@]}"
    -cpu max -m "$MEM" -smp "$CPUS"
    -kernel "$(qemu_path "$KERNEL")" -initrd "$(qemu_path "$RUN/initrd")" -append "$APPEND"
    -serial "file:$(qemu_path "$RUN/console")"
    -fsdev "local,id=root,path=/,readonly=on,$FS" -device virtio-9p-pci,fsdev=root,mount_tag=root
    -blockdev null-co,node-name=disk,size=1073741824,read-zeroes=on -device virtio-blk-pci,drive=disk
    -device virtio-serial-pci)
for port in out err rc; do
    : >"$RUN/$port"
    ARGS+=(-chardev "file,id=$port,path=$(qemu_path "$RUN/$port"),append=on"
        -device "virtserialport,chardev=$port,name=$port")
done
if [ -n "$SHARE" ]; then
    ARGS+=(-fsdev "local,id=cwd,path=$(qemu_path "$SHARE"),$FS"
        -device virtio-9p-pci,fsdev=cwd,mount_tag=cwd)
fi

TO=()
[ "$TIMEOUT" -gt 0 ] && TO=(timeout "$TIMEOUT")
: >"$RUN/console"
"${TO[@]}" "$QEMU" "${ARGS[@]}" </dev/null >"$RUN/qemu.log" 2>&1 &
QPID=$!
tail -q -s 0.2 -c +1 -f --pid=$QPID "$RUN/out" &
TAILS+=($!)
tail -q -s 0.2 -c +1 -f --pid=$QPID "$RUN/err" >&2 &
TAILS+=($!)
[ "$VERBOSE" = 1 ] && { tail -q -s 0.2 -c +1 -f --pid=$QPID "$RUN/console" >&2 & TAILS+=($!); }
set +e
wait "$QPID"
QRC=$?
QPID=
wait "${TAILS[@]}"
TAILS=()
set -e

RC=$(tr -dc 0-9 <"$RUN/rc")
if [ -n "$RC" ]; then
    exit "$RC"
fi
if [ "$QRC" = 124 ] && [ "$TIMEOUT" -gt 0 ]; then
    echo "vm.sh: the guest timed out after ${TIMEOUT}s" >&2
    exit 124
fi
echo "vm.sh: the guest stopped without an exit status (qemu exit status $QRC)" >&2
grep -v multidevs "$RUN/qemu.log" | tail -n 5 >&2
[ "$VERBOSE" = 1 ] || tail -n 20 "$RUN/console" >&2
exit 125
