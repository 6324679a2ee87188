#!/bin/bash
# riscv64 root filesystems for `ringvm exec` tests, from Debian trixie .debs.
#
#   guest/exec-rootfs.sh busybox OUTDIR   busybox-static with its applet links
#   guest/exec-rootfs.sh busybox-amd64 OUTDIR   the same for x86-64 (the KVM
#                                          sandbox); its amd64 index is made
#                                          from the riscv64 one's mirror
#   guest/exec-rootfs.sh dynamic OUTDIR   libc6 + coreutils + python3-minimal
#                                          (dpkg-deb -x, no maintainer scripts)
#
# Packages come through the same private apt configuration as guest/build.sh
# (index and .debs cached in ${RINGVM_CACHE:-~/.cache/ringvm}; the host's apt
# state is never touched).  Re-running is a no-op when OUTDIR has the same
# package versions.  Exits 2 when the packages cannot be fetched (offline),
# so tests can SKIP.
set -euo pipefail

die() { echo "guest/exec-rootfs.sh: $*" >&2; exit 1; }
unavailable() { echo "guest/exec-rootfs.sh: $*" >&2; exit 2; }

kind=${1:-}
outdir=${2:-}
[ -n "$kind" ] && [ -n "$outdir" ] || die "usage: guest/exec-rootfs.sh busybox|dynamic OUTDIR"
case $kind in
busybox|busybox-amd64) pkgs="busybox-static" ;;
dynamic) pkgs="libc6 libgcc-s1 coreutils libacl1 libattr1 libcap2 libgmp10
	libselinux1 libpcre2-8-0 libssl3t64 libzstd1 python3.13-minimal
	libpython3.13-minimal libexpat1 zlib1g" ;;
*) die "unknown kind $kind (busybox or dynamic)" ;;
esac

for tool in apt-get apt-cache dpkg-deb sha256sum; do
	command -v "$tool" >/dev/null || unavailable "$tool not found"
done
suite=trixie
arch=riscv64
[ "$kind" != busybox-amd64 ] || arch=amd64
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || unavailable "$keyring missing"
cache=${RINGVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ringvm}
aptdir=$cache/apt-$suite-$arch
debdir=$cache/debs
rvlist=$cache/apt-$suite-riscv64/sources.list
# guest/build.sh writes the riscv64 sources list and fetches the index;
# amd64 uses the same mirror.
[ -s "$rvlist" ] || unavailable "no riscv64 package index (run make guest first)"
mkdir -p "$debdir" "$aptdir/empty.d" "$aptdir/cache/archives/partial" \
	"$aptdir/lists/partial"
: >>"$aptdir/status"
need_update=0
if [ "$arch" != riscv64 ] && [ ! -s "$aptdir/sources.list" ]; then
	sed "s/arch=riscv64/arch=$arch/" "$rvlist" >"$aptdir/sources.list"
	need_update=1
fi

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

if [ "$need_update" = 1 ]; then
	echo "exec-rootfs: fetching the $suite $arch package index" >&2
	apt-get "${apt_opts[@]}" update >/dev/null 2>&1 || {
		rm -f "$aptdir/sources.list"
		unavailable "apt-get update of $suite/$arch failed"
	}
fi

field() {
	apt-cache "${apt_opts[@]}" show --no-all-versions "$1" 2>/dev/null |
		awk -v f="$2" 'index($0, f ": ") == 1 { print substr($0, length(f) + 3); exit }'
}

# fetch PACKAGE: a verified .deb of the candidate version; prints its path.
fetch() {
	local pkg=$1 ver sha fname deb tmp
	ver=$(field "$pkg" Version)
	sha=$(field "$pkg" SHA256)
	fname=$(field "$pkg" Filename)
	[ -n "$ver" ] && [ -n "$sha" ] && [ -n "$fname" ] || unavailable "$pkg not in the index"
	deb=$debdir/${fname##*/}
	if [ -f "$deb" ] && echo "$sha  $deb" | sha256sum -c --status; then
		echo "$deb"
		return 0
	fi
	rm -f "$deb"
	tmp=$(mktemp -d "$debdir/.dl.XXXXXX")
	echo "exec-rootfs: downloading $pkg $ver" >&2
	if ! (cd "$tmp" && apt-get "${apt_opts[@]}" download "$pkg=$ver" >/dev/null 2>"$tmp/.err"); then
		tail -n 3 "$tmp/.err" >&2
		rm -rf "$tmp"
		unavailable "cannot download $pkg"
	fi
	mv "$tmp"/*.deb "$deb" || { rm -rf "$tmp"; die "no .deb for $pkg"; }
	rm -rf "$tmp"
	echo "$sha  $deb" | sha256sum -c --status || die "$pkg: checksum mismatch"
	echo "$deb"
}

debs=()
stamp_text=""
for p in $pkgs; do
	d=$(fetch "$p")
	debs+=("$d")
	stamp_text+="${d##*/}"$'\n'
done
if [ -f "$outdir/.stamp" ] && [ "$(cat "$outdir/.stamp")" = "$stamp_text" ]; then
	exit 0
fi
rm -rf "$outdir"
mkdir -p "$outdir"
for d in "${debs[@]}"; do
	dpkg-deb -x "$d" "$outdir"
done
case $kind in
busybox|busybox-amd64)
	mkdir -p "$outdir/bin" "$outdir/tmp" "$outdir/etc"
	ln -sf ../usr/bin/busybox "$outdir/bin/busybox"
	for a in sh ash ls cat echo sha256sum wc head tail tr true false env pwd \
		mkdir ln readlink sleep printf test expr seq sort uniq cut grep \
		sed awk rm cp mv touch stat id uname kill dd od xargs; do
		ln -sf busybox "$outdir/bin/$a"
	done
	;;
dynamic)
	# merged /usr as Debian's base-files lays it out
	for d in bin lib sbin; do
		[ -e "$outdir/$d" ] || ln -s "usr/$d" "$outdir/$d"
	done
	ln -sf python3.13 "$outdir/usr/bin/python3"
	mkdir -p "$outdir/tmp" "$outdir/etc"
	;;
esac
printf '%s' "$stamp_text" >"$outdir/.stamp"
