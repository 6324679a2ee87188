#!/bin/bash
# Build ringvm's default riscv64 guest from Debian trixie packages.
#
#   guest/build.sh [--refresh] OUTDIR
#
# Produces OUTDIR/Image (the kernel, an uncompressed RISC-V Image),
# OUTDIR/initrd.img (gzip'd newc cpio: busybox-static, virtio/ext4/8021q modules,
# /init, /bin/ringvm-workload, /bin/ringvm-netbench, /bin/ringvm-heartbeat), OUTDIR/VERSION (kernel release),
# OUTDIR/modules.txt (module load order), OUTDIR/workload-native and
# OUTDIR/u-boot.elf (Debian's u-boot-qemu, the qemu-riscv64_smode build: the
# boot loader `ringvm run --boot disk` starts to boot a disk's extlinux.conf).
#
# Packages come from the Debian mirror the host's apt already uses, through a
# private apt configuration (the host's apt state is never touched).  The
# package index and the .debs are cached in ${RINGVM_CACHE:-~/.cache/ringvm};
# the index is fetched once and refreshed only with --refresh (or
# RINGVM_GUEST_REFRESH=1), or when a download from a stale index fails.
# Re-running is a no-op when OUTDIR is current (same package versions, same
# guest/ inputs).  Environment: RINGVM_CACHE, RINGVM_DEBIAN_MIRROR (override the
# mirror URI), SOURCE_DATE_EPOCH (initramfs timestamps, default 0).
set -euo pipefail

die() { echo "guest/build.sh: $*" >&2; exit 1; }
log() { echo "guest: $*"; }

refresh=${RINGVM_GUEST_REFRESH:-0}
[ "$refresh" = 1 ] || refresh=0
outdir=
for arg in "$@"; do
	case $arg in
	--refresh) refresh=1 ;;
	-h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option $arg (usage: guest/build.sh [--refresh] OUTDIR)" ;;
	*) [ -z "$outdir" ] || die "more than one OUTDIR given"; outdir=$arg ;;
	esac
done
[ -n "$outdir" ] || die "usage: guest/build.sh [--refresh] OUTDIR"

srcdir=$(cd "$(dirname "$0")" && pwd)
suite=trixie
arch=riscv64
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# Modules a VM needs (names as in modules.dep); built-in ones are skipped.
wanted_modules="virtio_mmio virtio_blk virtio_net virtio_console virtio_rng
	virtio_input evdev crc32c_generic ext4 8021q"

for tool in apt-get apt-cache dpkg-deb depmod xz gzip python3 sha256sum \
	riscv64-linux-gnu-gcc gcc; do
	command -v "$tool" >/dev/null || die "$tool not found (run scripts/install-deps.sh)"
done
[ -r "$keyring" ] || die "$keyring missing (install debian-archive-keyring)"

cache=${RINGVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ringvm}
aptdir=$cache/apt-$suite-$arch
debdir=$cache/debs
mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" \
	"$aptdir/empty.d" "$debdir" "$outdir" ||
	die "cannot create $cache or $outdir"
outdir=$(cd "$outdir" && pwd)

# The Debian mirror the host already uses (first non-security Debian source).
host_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		# deb822: print the URIs of stanzas whose suites are plain Debian suites.
		awk 'function flush() {
			if (uris != "" && suites ~ /(^| )(bookworm|trixie|forky|sid|bullseye|stable|testing|unstable)( |$)/ &&
			    uris !~ /security/) print uris
			uris = ""; suites = ""
		}
		/^[ \t]*$/ { flush(); next }
		/^URIs:/ { sub(/^URIs:[ \t]*/, ""); uris = $1 }
		/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
		END { flush() }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		# one-line format: deb [opts] URI SUITE COMPONENTS...
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" &&
			$3 ~ /^(bookworm|trixie|forky|sid|bullseye|stable|testing|unstable)$/ &&
			$2 !~ /security/ { print $2 }'
	done
}
mirror=${RINGVM_DEBIAN_MIRROR:-$(host_mirror | head -n1)}
[ -n "$mirror" ] || die "no Debian mirror found in /etc/apt sources (set RINGVM_DEBIAN_MIRROR)"
mirror=${mirror%/}

printf 'deb [arch=%s signed-by=%s] %s %s main\n' "$arch" "$keyring" "$mirror" "$suite" \
	>"$aptdir/sources.list.new"
if ! cmp -s "$aptdir/sources.list.new" "$aptdir/sources.list" 2>/dev/null; then
	mv "$aptdir/sources.list.new" "$aptdir/sources.list"
	refresh=1
else
	rm -f "$aptdir/sources.list.new"
fi
: >>"$aptdir/status"

apt_opts=(-q
	-o "Dir::Etc::SourceList=$aptdir/sources.list"
	-o "Dir::Etc::SourceParts=$aptdir/empty.d"
	-o "Dir::Etc::Preferences=$aptdir/preferences"
	-o "Dir::Etc::PreferencesParts=$aptdir/empty.d"
	-o "Dir::State::Lists=$aptdir/lists"
	-o "Dir::State::status=$aptdir/status"
	-o "Dir::Cache=$aptdir/cache"
	-o "Dir::Cache::pkgcache=pkgcache.bin"
	-o "Dir::Cache::srcpkgcache=srcpkgcache.bin"
	-o "APT::Architecture=$arch"
	-o "APT::Architectures=$arch"
	-o "Acquire::Languages=none"
	-o "Debug::NoLocking=1")
[ "$(id -u)" -ne 0 ] || apt_opts+=(-o "APT::Sandbox::User=root")

apt_update() {
	log "fetching the Debian $suite $arch package index from $mirror"
	local err
	if ! err=$(apt-get "${apt_opts[@]}" update 2>&1); then
		echo "$err" | tail -n 5 >&2
		die "apt-get update of $suite/$arch from $mirror failed"
	fi
	# apt-get update exits 0 on some fetch errors; warnings name them.
	if echo "$err" | grep -qE '^(W|E): .*(Failed|NO_PUBKEY|not signed|EXPKEYSIG)'; then
		echo "$err" | grep -E '^(W|E):' >&2
		case $err in
		*NO_PUBKEY*|*"not signed"*|*EXPKEYSIG*)
			die "the $suite release key is not in $keyring (upgrade debian-archive-keyring)" ;;
		esac
		die "apt-get update of $suite/$arch from $mirror reported errors"
	fi
}
have_index() { compgen -G "$aptdir/lists/*_Packages*" >/dev/null; }

if [ "$refresh" = 1 ] || ! have_index; then
	apt_update
fi

# field PACKAGE FIELD: a field of the candidate version in the private index.
field() {
	apt-cache "${apt_opts[@]}" show --no-all-versions "$1" 2>/dev/null |
		awk -v f="$2" 'index($0, f ": ") == 1 { print substr($0, length(f) + 3); exit }'
}

resolve() {
	meta_ver=$(field linux-image-$arch Version)
	[ -n "$meta_ver" ] || return 1
	kpkg=$(field linux-image-$arch Depends | tr ',|' '\n\n' |
		sed -n 's/^ *\(linux-image-[0-9][^ ]*-'"$arch"'\).*/\1/p' | head -n1)
	[ -n "$kpkg" ] || die "linux-image-$arch $meta_ver depends on no linux-image-*-$arch"
	kver=$(field "$kpkg" Version)
	bb_ver=$(field busybox-static Version)
	ub_ver=$(field u-boot-qemu Version)
	[ -n "$kver" ] && [ -n "$bb_ver" ] && [ -n "$ub_ver" ]
}
if ! resolve; then
	[ "$refresh" = 1 ] && die "linux-image-$arch, busybox-static or u-boot-qemu not found in $suite/$arch"
	apt_update
	resolve || die "linux-image-$arch, busybox-static or u-boot-qemu not found in $suite/$arch"
fi
krel=${kpkg#linux-image-}   # kernel release, e.g. 6.12.57+deb13-riscv64

# Hash of everything under guest/ that goes into the outputs.
inputs_hash=$(cd "$srcdir" && find . -type f ! -name '*~' ! -name '.*' | LC_ALL=C sort |
	xargs sha256sum | sha256sum | cut -c1-16)
stamp_text="kernel=$kpkg $kver
busybox-static=$bb_ver
u-boot-qemu=$ub_ver
mirror=$mirror
inputs=$inputs_hash"
stamp=$outdir/.stamp
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ] &&
	[ -s "$outdir/Image" ] && [ -s "$outdir/initrd.img" ] &&
	[ -s "$outdir/workload-native" ] && [ -s "$outdir/VERSION" ] &&
	[ -s "$outdir/u-boot.elf" ]; then
	log "up to date ($krel, busybox $bb_ver)"
	exit 0
fi

# fetch PACKAGE: a verified .deb of the candidate version in $debdir; prints its path.
fetch() {
	local pkg=$1 ver sha fname deb tmp
	ver=$(field "$pkg" Version)
	sha=$(field "$pkg" SHA256)
	fname=$(field "$pkg" Filename)
	[ -n "$ver" ] && [ -n "$sha" ] && [ -n "$fname" ] || die "$pkg not found in the $suite/$arch index"
	deb=$debdir/${fname##*/}
	if [ -f "$deb" ] && echo "$sha  $deb" | sha256sum -c --status; then
		echo "$deb"
		return 0
	fi
	rm -f "$deb"
	tmp=$(mktemp -d "$debdir/.dl.XXXXXX")
	log "downloading $pkg $ver" >&2
	if ! (cd "$tmp" && apt-get "${apt_opts[@]}" download "$pkg=$ver" >/dev/null 2>"$tmp/.err"); then
		tail -n 3 "$tmp/.err" >&2
		rm -rf "$tmp"
		return 1
	fi
	mv "$tmp"/*.deb "$deb" 2>/dev/null || { rm -rf "$tmp"; die "apt-get download $pkg produced no .deb"; }
	rm -rf "$tmp"
	echo "$sha  $deb" | sha256sum -c --status || die "$deb: checksum mismatch"
	echo "$deb"
}
fetch_all() {
	meta_deb=$(fetch linux-image-$arch) && kdeb=$(fetch "$kpkg") &&
		bbdeb=$(fetch busybox-static) && ubdeb=$(fetch u-boot-qemu)
}
if ! fetch_all; then
	[ "$refresh" = 1 ] && die "downloading the guest packages from $mirror failed"
	log "download failed; refreshing the package index and retrying"
	apt_update
	resolve || die "linux-image-$arch, busybox-static or u-boot-qemu not found in $suite/$arch"
	krel=${kpkg#linux-image-}
	fetch_all || die "downloading the guest packages from $mirror failed"
fi
: "$meta_deb"

work=$outdir/.work
rm -rf "$work"
mkdir -p "$work/kernel" "$work/bb" "$work/root"
trap 'rm -rf "$work"' EXIT

log "extracting $kpkg $kver"
dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$work/kernel" \
	--wildcards "./boot/vmlinux-*" "./usr/lib/modules/*" ||
	die "extracting $kdeb failed"
dpkg-deb -x "$bbdeb" "$work/bb" || die "extracting $bbdeb failed"
mkdir -p "$work/uboot"
dpkg-deb --fsys-tarfile "$ubdeb" | tar -x -C "$work/uboot" \
	./usr/lib/u-boot/qemu-riscv64_smode/uboot.elf ||
	die "$ubdeb has no usr/lib/u-boot/qemu-riscv64_smode/uboot.elf"
vmlinux=$work/kernel/boot/vmlinux-$krel
[ -f "$vmlinux" ] || die "$kdeb has no boot/vmlinux-$krel"
kmods=$work/kernel/usr/lib/modules/$krel
[ -d "$kmods" ] || die "$kdeb has no usr/lib/modules/$krel"

# modules.dep over the whole tree (the package ships none); depmod wants
# BASE/lib/modules, the package has usr/lib/modules.
ln -s usr/lib "$work/kernel/lib"
depmod -b "$work/kernel" "$krel" || die "depmod over $krel failed"

# Load order: depth-first over modules.dep, dependencies first.
declare -A dep_of=() path_of=() seen=()
while IFS= read -r line; do
	mod=${line%%:*}
	name=${mod##*/}; name=${name%%.ko*}; name=${name//-/_}
	path_of[$name]=$mod
	dep_of[$mod]=${line#*: }
	[ "${line#*:}" != "" ] || dep_of[$mod]=
done <"$kmods/modules.dep"
order=()
visit() {
	local mod=$1 d
	[ -z "${seen[$mod]:-}" ] || return 0
	seen[$mod]=1
	for d in ${dep_of[$mod]}; do visit "$d"; done
	order+=("$mod")
}
builtin_list=
for name in $wanted_modules; do
	if [ -n "${path_of[$name]:-}" ]; then
		visit "${path_of[$name]}"
	elif grep -qE "/$name\.ko\$" "$kmods/modules.builtin" 2>/dev/null ||
		grep -qE "/${name//_/[-_]}\.ko\$" "$kmods/modules.builtin" 2>/dev/null; then
		builtin_list="$builtin_list $name"
	else
		die "module $name is neither in $krel's modules nor built in"
	fi
done

# The initramfs tree.
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc/ringvm,dev,proc,sys,tmp,run,mnt,root}
chmod 1777 "$root/tmp"
install -m 0755 "$work/bb/usr/bin/busybox" "$root/bin/busybox" ||
	die "busybox-static has no usr/bin/busybox"
ln -s busybox "$root/bin/sh"
install -m 0755 "$srcdir/init" "$root/init"
# Debian's busybox looks for /etc/udhcpc/default.script.
install -D -m 0755 "$srcdir/udhcpc.script" "$root/etc/udhcpc/default.script"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
: >"$root/etc/ringvm/modules"
mdir=lib/modules/$krel
for mod in "${order[@]}"; do
	ko=${mod%.ko*}.ko
	dst=$root/$mdir/$ko
	mkdir -p "$(dirname "$dst")"
	case $mod in
	*.xz) xz -dc "$kmods/$mod" >"$dst" ;;
	*.zst) zstd -qdc "$kmods/$mod" >"$dst" ;;
	*.gz) gzip -dc "$kmods/$mod" >"$dst" ;;
	*) cp "$kmods/$mod" "$dst" ;;
	esac || die "decompressing $mod failed"
	echo "$mdir/$ko" >>"$root/etc/ringvm/modules"
done
cp "$kmods/modules.order" "$kmods/modules.builtin" "$root/$mdir/" 2>/dev/null || true
[ ! -f "$kmods/modules.builtin.modinfo" ] ||
	cp "$kmods/modules.builtin.modinfo" "$root/$mdir/"
# modules.dep of the subset, for modprobe and the kernel's request_module.
depmod -b "$root" "$krel" || die "depmod over the initramfs modules failed"
rm -f "$root/$mdir"/*.bin

log "building guest programs"
riscv64-linux-gnu-gcc -O2 -march=rv64gc -mabi=lp64d -static -Wall -Wextra -Werror \
	-o "$root/bin/ringvm-workload" "$srcdir/progs/workload.c" ||
	die "cross-compiling progs/workload.c failed"
riscv64-linux-gnu-strip "$root/bin/ringvm-workload" 2>/dev/null || true
riscv64-linux-gnu-gcc -O2 -march=rv64gc -mabi=lp64d -static -Wall -Wextra -Werror \
	-o "$root/bin/ringvm-netbench" "$srcdir/progs/netbench.c" ||
	die "cross-compiling progs/netbench.c failed"
riscv64-linux-gnu-strip "$root/bin/ringvm-netbench" 2>/dev/null || true
riscv64-linux-gnu-gcc -O2 -march=rv64gc -mabi=lp64d -static -Wall -Wextra -Werror \
	-o "$root/bin/ringvm-heartbeat" "$srcdir/progs/heartbeat.c" ||
	die "cross-compiling progs/heartbeat.c failed"
riscv64-linux-gnu-strip "$root/bin/ringvm-heartbeat" 2>/dev/null || true
gcc -O2 -Wall -Wextra -Werror -o "$work/workload-native" "$srcdir/progs/workload.c" ||
	die "compiling progs/workload.c for the host failed"

log "writing initrd.img"
python3 "$srcdir/mkcpio.py" "$root" dev/console:c:5:1:600 dev/null:c:1:3:666 |
	gzip -9n >"$work/initrd.img" || die "building the initramfs failed"

# Install the outputs, stamp last.
rm -f "$stamp"
cp "$vmlinux" "$outdir/Image.new" && mv "$outdir/Image.new" "$outdir/Image"
mv "$work/initrd.img" "$outdir/initrd.img"
mv "$work/workload-native" "$outdir/workload-native"
cp "$work/uboot/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf" "$outdir/u-boot.elf.new" &&
	mv "$outdir/u-boot.elf.new" "$outdir/u-boot.elf"
echo "$krel" >"$outdir/VERSION"
sed "s|^$mdir/||" "$root/etc/ringvm/modules" >"$outdir/modules.txt"
echo "$stamp_text" >"$stamp"
log "built $outdir: kernel $krel, initrd $(($(stat -c %s "$outdir/initrd.img") / 1024)) KiB, ${#order[@]} modules${builtin_list:+ (built in:$builtin_list)}"
