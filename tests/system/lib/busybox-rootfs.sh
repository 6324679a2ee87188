#!/bin/bash
# Print the path of a busybox rootfs for container tests, building it once
# under ~/.cache/ringvm/busybox-rootfs from Debian's busybox-static (host
# architecture; `apt-get download` into a private directory, no install).
# A static /bin/busybox on the host is used when apt cannot download.
set -euo pipefail
cache=${RINGVM_CACHE:-$HOME/.cache/ringvm}
out=$cache/busybox-rootfs
if [ -x "$out/bin/busybox" ] && [ -f "$out/.done" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d "$cache/busybox-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
bb=""
if (cd "$work" && apt-get download busybox-static >/dev/null 2>&1); then
	dpkg-deb -x "$work"/busybox-static_*.deb "$work/x"
	bb=$work/x/bin/busybox
elif [ -x /bin/busybox ] && file -L /bin/busybox | grep -q 'statically linked'; then
	bb=/bin/busybox
else
	echo "busybox-rootfs: cannot get a static busybox (apt-get download busybox-static failed)" >&2
	exit 1
fi
r=$work/rootfs
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var,run}
chmod 1777 "$r/tmp"
cp "$bb" "$r/bin/busybox"
for app in $("$r/bin/busybox" --list); do
	[ "$app" = busybox ] || ln -sf busybox "$r/bin/$app"
done
echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
echo 'root:x:0:' >"$r/etc/group"
touch "$r/.done"
rm -rf "$out"
mv "$r" "$out"
echo "$out"
