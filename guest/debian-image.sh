#!/bin/bash
# Build a bootable Debian trixie riscv64 disk image (qcow2) for `ringvm run --disk`.
#
#   guest/debian-image.sh [options] OUTPUT.qcow2
#
#   --size SIZE            virtual disk size (default 4G)
#   --packages LIST        extra packages, comma- or space-separated
#   --root-password PW     set root's password (default: none, root's password
#                          is locked; log in with an ssh key)
#   --ssh-key FILE         put FILE (a public key) in root's authorized_keys;
#                          repeatable; default: the caller's ~/.ssh/id_*.pub
#   --hostname NAME        (default ringvm-debian)
#   --ringvm PATH          the ringvm binary for `img convert` (default:
#                          build/ringvm beside this script)
#
# The image has one MBR partition (bootable, ext4, label debian-root) holding
# systemd, udev, openssh-server, systemd-networkd (DHCP on en*/eth*), a serial
# getty on ttyS0, linux-image-riscv64 with its initramfs, and u-boot-menu's
# /boot/extlinux/extlinux.conf, which U-Boot reads when ringvm boots the disk
# with no --kernel.  Built with mmdebstrap (--arch=riscv64; maintainer scripts
# run under qemu-user-static through binfmt_misc) from the Debian mirror the
# host's apt uses, as guest/build.sh does; the host's apt state is untouched.
# Runs as root (mmdebstrap's root mode; no loop mounts: mkfs.ext4 -d).
#
# The finished image is cached in ${RINGVM_CACHE:-~/.cache/ringvm}/debian,
# keyed by this script, the options, the keys and the package index; a re-run
# with the same inputs whose OUTPUT is current does nothing (OUTPUT is a VM's
# disk: it is never overwritten while current).  --refresh refetches the index.
set -euo pipefail

die() { echo "guest/debian-image.sh: $*" >&2; exit 1; }
log() { echo "debian-image: $*"; }

srcdir=$(cd "$(dirname "$0")" && pwd)
size=4G packages= rootpw= host=ringvm-debian out= refresh=0
ringvm=$srcdir/../build/ringvm
keys=()
while [ $# -gt 0 ]; do
	case $1 in
	--size) size=${2:?--size needs a value}; shift ;;
	--packages) packages=${2?--packages needs a value}; shift ;;
	--root-password) rootpw=${2?--root-password needs a value}; shift ;;
	--ssh-key) [ -r "${2:?--ssh-key needs a file}" ] || die "--ssh-key: cannot read $2"
		keys+=("$2"); shift ;;
	--hostname) host=${2:?--hostname needs a value}; shift ;;
	--ringvm) ringvm=${2:?--ringvm needs a path}; shift ;;
	--refresh) refresh=1 ;;
	-h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $1 (try --help)" ;;
	*) [ -z "$out" ] || die "more than one OUTPUT given"; out=$1 ;;
	esac
	shift
done
[ -n "$out" ] || die "usage: guest/debian-image.sh [options] OUTPUT.qcow2"
[[ $size =~ ^[0-9]+[MGT]?$ ]] || die "--size: \`$size' is not a size like 4G"
[[ $host =~ ^[A-Za-z0-9-]{1,63}$ ]] || die "--hostname: \`$host' is not a host name"
packages=$(echo "$packages" | tr ', ' '\n\n' | sed '/^$/d' | sort -u | paste -sd,)
[[ $packages =~ ^[a-z0-9.+,-]*$ ]] || die "--packages: \`$packages' has a character no package name has"
if [ ${#keys[@]} -eq 0 ]; then
	for k in "$HOME"/.ssh/id_*.pub; do [ -r "$k" ] && keys+=("$k"); done
fi
[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap root mode, mkfs.ext4 -d)"
for tool in mmdebstrap mkfs.ext4 sfdisk dd sha256sum; do
	command -v "$tool" >/dev/null || die "$tool not found (run scripts/install-deps.sh --debian)"
done
[ -x "$ringvm" ] || die "$ringvm not built (make build/ringvm)"
[ -e /usr/bin/qemu-riscv64-static ] || die "qemu-user-static not installed (scripts/install-deps.sh --debian)"
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-riscv64 ]; then
	[ -e /proc/sys/fs/binfmt_misc/register ] ||
		mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
	update-binfmts --enable qemu-riscv64 >/dev/null 2>&1 || true
	[ -e /proc/sys/fs/binfmt_misc/qemu-riscv64 ] ||
		die "binfmt_misc has no qemu-riscv64 entry (update-binfmts --enable qemu-riscv64)"
fi

suite=trixie arch=riscv64
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cache=${RINGVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ringvm}
aptdir=$cache/apt-$suite-$arch
# The private apt configuration guest/build.sh maintains: its sources.list
# names the mirror, its lists are the index the key covers.
if [ "$refresh" = 1 ] || [ ! -s "$aptdir/sources.list" ]; then
	ropt=(); [ "$refresh" = 0 ] || ropt=(--refresh)
	"$srcdir/build.sh" "${ropt[@]}" "$srcdir/../build/guest" >/dev/null ||
		die "guest/build.sh (the private apt index) failed"
fi
mirror=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' \
	"$aptdir/sources.list")
[ -n "$mirror" ] || die "no mirror in $aptdir/sources.list"
index_hash=$(cat "$aptdir"/lists/*InRelease 2>/dev/null | sha256sum | cut -c1-16)

key_text=$(for k in "${keys[@]}"; do cat "$k"; done)

include=systemd,systemd-sysv,udev,dbus,openssh-server,systemd-resolved,
include+=linux-image-$arch,initramfs-tools,u-boot-menu,e2fsprogs,kmod,
include+=iproute2,iputils-ping,ca-certificates,less,procps
[ -z "$packages" ] || include+=,$packages
# Hooks: the initramfs module list and u-boot-menu's settings must exist
# before linux-image's postinst builds the initramfs and extlinux.conf.  The
# settings go in a conf.d fragment: /etc/default/u-boot is the package's
# conffile (dpkg would stop to ask).  U_BOOT_FDT_DIR points nowhere so that
# extlinux.conf has no fdt line and U-Boot hands the kernel ringvm's device
# tree, which describes this machine (the package's dtbs are for boards).
mm_args=(--mode=root --arch="$arch" --variant=minbase --include="$include"
	--aptopt='Acquire::Languages "none"'
	--dpkgopt='path-exclude=/usr/share/{doc,man,locale}/*'
	--dpkgopt='path-include=/usr/share/doc/*/copyright'
	--essential-hook='mkdir -p "$1/etc/initramfs-tools" "$1/etc/u-boot-menu/conf.d"
			printf "virtio_mmio\nvirtio_blk\nvirtio_net\next4\n" >>"$1/etc/initramfs-tools/modules"
			printf "U_BOOT_ROOT=\"root=LABEL=debian-root\"\nU_BOOT_PARAMETERS=\"ro console=ttyS0\"\nU_BOOT_TIMEOUT=\"10\"\nU_BOOT_FDT_DIR=\"/none/\"\n" >"$1/etc/u-boot-menu/conf.d/ringvm.conf"'
	--customize-hook="echo $host >\"\$1/etc/hostname\"
			printf '127.0.0.1 localhost\n127.0.1.1 $host\n::1 localhost ip6-localhost ip6-loopback\n' >\"\$1/etc/hosts\"
			printf 'LABEL=debian-root / ext4 errors=remount-ro 0 1\n' >\"\$1/etc/fstab\"
			mkdir -p \"\$1/etc/systemd/network\"
			printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n' >\"\$1/etc/systemd/network/20-wired.network\"
			chroot \"\$1\" systemctl enable systemd-networkd systemd-resolved serial-getty@ttyS0 >/dev/null 2>&1
			ln -sf ../run/systemd/resolve/stub-resolv.conf \"\$1/etc/resolv.conf\"
			chroot \"\$1\" u-boot-update
			rm -f \"\$1\"/etc/ssh/ssh_host_*"
	"$suite")
mm_source="deb [signed-by=$keyring] $mirror $suite main"

# The root filesystem tree (the slow part) is cached as a tarball keyed by
# what goes into it (mmdebstrap's arguments and the package index); keys,
# password and size only change the cheap last step.
tree_id=$( { printf '%s\n' "${mm_args[@]}" "$mm_source"; echo "$index_hash"; } |
	sha256sum | cut -c1-16)
id=$( { sha256sum <"$0"; echo "$tree_id|$size|$rootpw"; echo "$key_text"; } |
	sha256sum | cut -c1-16)
imgdir=$cache/debian
cached=$imgdir/$suite-$arch-$tree_id.tar
stamp=$out.stamp
if [ -f "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$id" ]; then
	log "$out is current ($id)"
	exit 0
fi
mkdir -p "$imgdir" "$(dirname "$out")"
work=$(mktemp -d "$imgdir/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/root
if [ ! -f "$cached" ]; then
	log "mmdebstrap $suite $arch from $mirror (maintainer scripts under qemu-user; about 20 minutes)"
	mmdebstrap "${mm_args[@]}" "$work/root.tar" "$mm_source" >"$work/mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$work/mmdebstrap.log" >&2
		  cp "$work/mmdebstrap.log" "$imgdir/mmdebstrap-failed.log"
		  die "mmdebstrap failed (log: $imgdir/mmdebstrap-failed.log)"; }
	mv "$work/root.tar" "$cached"
	log "cached the root filesystem tree in $cached"
fi
mkdir "$rootfs"
tar -C "$rootfs" --numeric-owner --xattrs --xattrs-include='*' -xpf "$cached" ||
	die "extracting $cached failed"
# Host keys are per machine: made at first boot, not shared by every copy.
mkdir -p "$rootfs/etc/systemd/system/ssh.service.d"
# (The package's ExecStartPre, sshd -t, fails without keys: list it after.)
printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
	>"$rootfs/etc/systemd/system/ssh.service.d/ringvm-hostkeys.conf"
install -d -m 0700 "$rootfs/root/.ssh"
printf '%s\n' "$key_text" | sed '/^$/d' >"$rootfs/root/.ssh/authorized_keys"
chmod 0600 "$rootfs/root/.ssh/authorized_keys"
if [ -n "$rootpw" ]; then
	printf 'root:%s\n' "$rootpw" | chroot "$rootfs" chpasswd ||
		die "setting the root password failed"
else
	chroot "$rootfs" passwd -l root >/dev/null
fi
grep -qE '^[[:space:]]*(linux|kernel)[[:space:]]' "$rootfs/boot/extlinux/extlinux.conf" 2>/dev/null ||
	die "u-boot-menu wrote no /boot/extlinux/extlinux.conf with a kernel in it"
ls "$rootfs"/boot/initrd.img-* >/dev/null 2>&1 || die "no initramfs in /boot"

log "making the ext4 filesystem and the partition table"
raw=$work/disk.raw part=$work/part.raw
truncate -s "$size" "$raw"
bytes=$(stat -c %s "$raw")
# One partition from 1 MiB to the end.
truncate -s $((bytes - (1 << 20))) "$part"
mkfs.ext4 -q -L debian-root -d "$rootfs" "$part" ||
	die "mkfs.ext4 -d failed (is --size big enough?)"
echo 'start=2048, type=83, bootable' | sfdisk -q "$raw" || die "sfdisk failed"
dd if="$part" of="$raw" bs=1M seek=1 conv=notrunc,sparse status=none ||
	die "writing the partition failed"
rm -f "$part"
"$ringvm" img convert -O qcow2 "$raw" "$out.tmp.$$" ||
	{ rm -f "$out.tmp.$$"; die "ringvm img convert failed"; }
# Rename: OUTPUT is whole or absent.
mv "$out.tmp.$$" "$out"
echo "$id" >"$stamp"
if [ -n "$rootpw" ]; then
	log "root password set (console login as root)"
elif [ ${#keys[@]} -eq 0 ]; then
	log "NOTE: root's password is locked and no ssh key was found (~/.ssh/id_*.pub);"
	log "      use --ssh-key FILE or --root-password PW to be able to log in"
else
	log "root's password is locked; ssh in with the key(s): ${keys[*]}"
fi
log "built $out ($size): ringvm run --disk $out --net user,hostfwd=tcp:127.0.0.1:2222-:22"
