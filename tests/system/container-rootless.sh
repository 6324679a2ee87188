#!/bin/bash
# Rootless `ringvm container`: a throwaway user (created here, removed at
# exit) loads the busybox image into its own store ($XDG_DATA_HOME) and
# runs containers in a user namespace: id (root inside, the user outside),
# /bin/true, a file write, the image's whiteouts (copy rootfs), a limit
# refused with one line and status 125, the store's permissions, nothing
# left behind.  Twice: with a single-id map (no /etc/subuid range) and,
# when newuidmap is installed, with a subordinate range (then a non-root
# user inside works too).  Needs root (to make the user); SKIP when the
# kernel forbids unprivileged user namespaces.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/system/lib/container.sh
. "$(dirname "$0")/lib/container.sh"

need_ringvm rootless/true
need_root rootless/all "to create a throwaway user"
for t in useradd userdel setpriv; do
	command -v "$t" >/dev/null || { skip rootless/all "$t not installed"; exit 0; }
done
if ! setpriv --reuid=65534 --regid=65534 --clear-groups unshare -U true 2>/dev/null; then
	skip rootless/all "the kernel forbids unprivileged user namespaces"
	exit 0
fi
busybox_rootfs rootless/rootfs
user=rvrl$$
home=$scratch/home
bin=$(realpath "$RINGVM")
# The user reaches its home through the scratch directory (traverse only).
chmod 711 "$scratch"
useradd -M -d "$home" -s /bin/sh "$user"
# useradd may give it a subordinate range (SUB_UID_COUNT): none at first.
sed -i "/^$user:/d" /etc/subuid /etc/subgid 2>/dev/null || true
remove_user() {
	pkill -KILL -u "$user" 2>/dev/null || true
	userdel "$user" 2>/dev/null || true
	sed -i "/^$user:/d" /etc/subuid /etc/subgid 2>/dev/null || true
}
at_exit remove_user
mkdir -p "$home"
tests/system/lib/busybox-image.py "$rootfs" "$home/img" >/dev/null
chown -R "$user:$user" "$home"
uid=$(id -u "$user")
gid=$(id -g "$user")

# as_user CMD...: CMD as the user, its environment only; status in st,
# output in $scratch/out, err.
as_user() {
	set +e
	timeout -k 5 120 setpriv --reuid="$uid" --regid="$gid" --clear-groups \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" \
		XDG_DATA_HOME="$home/data" "$@" >"$scratch/out" 2>"$scratch/err" </dev/null
	st=$?
	set -e
}
ctr() { as_user "$bin" container "$@"; }
out_is() { [ "$(cat "$scratch/out")" = "$1" ]; }
store=$home/data/ringvm/containers

# runs TAG: the checks for one id-map set-up.
runs() {
	local t=$1
	ctr run --rm --net none busybox id
	check "rootless/$t/id-root-inside" "status $st: $(cat "$scratch/out" "$scratch/err" | head -c 300)" \
		cond '[ "$st" = 0 ] && grep -q "^uid=0(root) gid=0(root)" "$scratch/out"'
	ctr run --rm --net none busybox cat /proc/self/uid_map
	check "rootless/$t/mapped-to-user" "status $st: $(tr -s ' \n' ' ' <"$scratch/out")" \
		cond '[ "$st" = 0 ] && awk "NR == 1 && \$1 == 0 && \$2 == $uid && \$3 == 1 { ok = 1 } END { exit !ok }" "$scratch/out"'
	ctr run --rm --net none busybox /bin/true
	check "rootless/$t/true" "status $st: $(head -c 200 "$scratch/err")" [ "$st" = 0 ]
	ctr run --rm --net none busybox /bin/false
	check "rootless/$t/false-status" "status $st, want 1" [ "$st" = 1 ]
	ctr run --rm --net none busybox sh -c 'echo data >/root/f && cat /root/f && stat -c %u /root/f'
	check "rootless/$t/file-write" "status $st: $(tr '\n' '|' <"$scratch/out") $(head -c 200 "$scratch/err")" \
		cond '[ "$st" = 0 ] && out_is "data
0"'
	ctr run --rm --net none busybox sh -c 'cat /etc/layer2; ls /etc/motd 2>/dev/null; ls /opt/a'
	check "rootless/$t/layers-whiteouts" "status $st: $(tr '\n' '|' <"$scratch/out")" \
		cond '[ "$st" = 0 ] && out_is "layer two
y"'
	ctr run --rm --net none --memory 64M busybox /bin/true
	check "rootless/$t/limit-refused-125" "status $st: $(cat "$scratch/err")" \
		cond '[ "$st" = 125 ] && [ "$(wc -l <"$scratch/err")" = 1 ] && grep -q "rootless" "$scratch/err"'
	ctr run --rm --net host busybox /bin/true
	check "rootless/$t/net-host" "status $st: $(head -c 200 "$scratch/err")" [ "$st" = 0 ]
	ctr run --rm busybox /bin/true
	check "rootless/$t/net-default" "status $st: $(head -c 200 "$scratch/err")" [ "$st" = 0 ]
	# --net user makes a TAP in the container's namespace from the host's
	# /dev/net/tun, which must be open to the user (0666 on Debian).
	if setpriv --reuid="$uid" --regid="$gid" --clear-groups sh -c ': </dev/net/tun' 2>/dev/null; then
		ctr run --rm --net user busybox sh -c 'ip -4 addr show eth0 | grep -c "inet 10.0.2."'
		check "rootless/$t/net-user" "status $st: $(cat "$scratch/out") $(head -c 200 "$scratch/err")" \
			cond '[ "$st" = 0 ] && out_is 1'
	else
		skip "rootless/$t/net-user" "/dev/net/tun is not open to non-root users on this host ($(stat -c %A /dev/net/tun 2>/dev/null))"
	fi
}

ctr load -q -i "$home/img/oci.tar"
check rootless/load "status $st: $(cat "$scratch/err")" [ "$st" = 0 ]
runs single-map
# The store: the user's own, private, under $XDG_DATA_HOME.
bad=$(find "$home/data" ! -user "$user" | head -3)
mode=$(stat -c %a "$store")
check rootless/store-owned-by-user "not the user's: $bad" [ -z "$bad" ]
check rootless/store-private "store mode $mode" [ "$mode" = 700 ]
ctr run --rm --net none busybox sh -c 'wc -l </proc/self/uid_map'
check rootless/single-map/one-range "status $st: $(cat "$scratch/out")" cond '[ "$st" = 0 ] && out_is 1'
ctr run --rm --net none -u 1000:1000 busybox id -u
check rootless/single-map/other-uid-refused "status $st: $(cat "$scratch/out" "$scratch/err")" \
	cond '[ "$st" != 0 ] && [ ! -s "$scratch/out" ] && grep -q "setgid 1000" "$scratch/err"'

if [ -x /usr/bin/newuidmap ] && [ -x /usr/bin/newgidmap ] && command -v usermod >/dev/null &&
	usermod --add-subuids 3000000-3065535 --add-subgids 3000000-3065535 "$user" 2>/dev/null; then
	runs subid-map
	ctr run --rm --net none busybox sh -c 'wc -l </proc/self/uid_map; wc -l </proc/self/gid_map'
	check rootless/subid-map/two-ranges "status $st: $(tr '\n' ' ' <"$scratch/out")" \
		cond '[ "$st" = 0 ] && out_is "2
2"'
	ctr run --rm --net none -u 1000:1000 busybox sh -c 'id -u; echo x >/tmp/x && stat -c %u /tmp/x'
	check rootless/subid-map/non-root-inside "status $st: $(tr '\n' '|' <"$scratch/out") $(head -c 200 "$scratch/err")" \
		cond '[ "$st" = 0 ] && out_is "1000
1000"'
else
	skip rootless/subid-map "newuidmap/newgidmap (uidmap package) or usermod --add-subuids unavailable"
fi

# Nothing left: containers, runtime state, processes, mounts.
left=$(find "$store/containers" "$store/oci" -mindepth 1 -maxdepth 1 2>/dev/null)
procs=$(pgrep -u "$user" || true)
mnt=$(grep -c "$home" /proc/mounts || true)
check rootless/nothing-left "left: $left procs: $procs mounts: $mnt" \
	cond '[ -z "$left" ] && [ -z "$procs" ] && [ "$mnt" = 0 ]'
