#!/bin/bash
# The full Debian VM of `make debian`, booted from its own disk: no --kernel
# (ringvm's SBI, U-Boot, the image's extlinux.conf, kernel and initramfs),
# multi-user reached (`systemctl is-system-running`: running, or degraded
# with the failed units listed), DHCP from --net user, ssh from the host
# through hostfwd with a key made here, `systemctl poweroff` ending ringvm
# with exit 0, and the image clean afterwards (`ringvm img check`, e2fsck -fn
# of the root partition).  Runs on a copy; the key goes into the copy's
# /root/.ssh/authorized_keys with debugfs (no mounts).
#
# The image is built by `make debian` (a cold build is slow); when it is
# absent every check is SKIPped.  RINGVM_DEBIAN_IMAGE names another image.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="debian/boot-from-disk debian/multi-user debian/dhcp debian/ssh
	debian/poweroff-exit-0 debian/img-check debian/fsck"
img=${RINGVM_DEBIAN_IMAGE:-build/debian-trixie-riscv64.qcow2}
if [ ! -s "$img" ]; then
	for n in $names; do skip "$n" "image not built (make debian)"; done
	exit 0
fi
need_ringvm $names
for tool in ssh ssh-keygen debugfs e2fsck sfdisk; do
	command -v $tool >/dev/null || { for n in $names; do skip "$n" "$tool not installed"; done; exit 0; }
done
py=tests/system/lib/netutil.py
S=$scratch

# part_of RAW: "START SIZE" in bytes of RAW's first partition.
part_of() {
	sfdisk -d "$1" | awk -F'[=,]' '/start=/ { gsub(/ /, ""); for (i = 1; i <= NF; i++) {
		if ($i ~ /start$/) s = $(i + 1); if ($i ~ /size$/) z = $(i + 1) }
		printf "%.0f %.0f\n", s * 512, z * 512; exit }'
}

# A copy with the test's key.
ssh-keygen -q -t ed25519 -N '' -f "$S/key"
"$RINGVM" img convert -O raw "$img" "$S/disk.raw"
read -r pstart psize < <(part_of "$S/disk.raw")
[ -n "${psize:-}" ] || { for n in $names; do fail "$n" "no partition in $img"; done; exit 1; }
dd if="$S/disk.raw" of="$S/part.raw" bs=1M iflag=skip_bytes,count_bytes \
	skip="$pstart" count="$psize" conv=sparse status=none
debugfs -w -R "rm /root/.ssh/authorized_keys" "$S/part.raw" >/dev/null 2>&1 || true
debugfs -w -f - "$S/part.raw" >/dev/null 2>"$S/debugfs.err" <<CMDS
write $S/key.pub /root/.ssh/authorized_keys
set_inode_field /root/.ssh/authorized_keys mode 0100600
set_inode_field /root/.ssh/authorized_keys uid 0
set_inode_field /root/.ssh/authorized_keys gid 0
CMDS
dd if="$S/part.raw" of="$S/disk.raw" bs=1M oflag=seek_bytes seek="$pstart" \
	conv=notrunc,sparse status=none
rm -f "$S/part.raw"
"$RINGVM" img convert -O qcow2 "$S/disk.raw" "$S/vm.qcow2"
rm -f "$S/disk.raw"

port=$(python3 "$py" freeport)
sshc() {
	ssh -i "$S/key" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 \
		root@127.0.0.1 "$@"
}
log=$S/debian
t0=$(date +%s)
set +e
timeout -k 10 $((BOOT_TIMEOUT * 2)) "$RINGVM" run --disk "$S/vm.qcow2" --cpus 2 --mem 2G \
	--net "user,hostfwd=tcp:127.0.0.1:$port-:22" </dev/null >"$log" 2>"$log.err" &
vm_pid=$!
set -e
bg_track "$vm_pid"

up=0
for _ in $(seq 1 $((BOOT_TIMEOUT / 3))); do
	kill -0 "$vm_pid" 2>/dev/null || break
	if sshc true 2>/dev/null; then up=1; break; fi
	sleep 3
done
t_ssh=$(($(date +%s) - t0))
tr -d '\r' <"$log" >"$log.txt"
check debian/boot-from-disk "no U-Boot extlinux boot of the image's kernel on the console" \
	grep -q 'Found /boot/extlinux/extlinux.conf' "$log.txt"
if [ "$up" != 1 ]; then
	for n in debian/multi-user debian/dhcp debian/ssh; do
		fail "$n" "no ssh login within ${BOOT_TIMEOUT}s (console: $(grep -v '^\[' "$log.txt" | tail -n 2 | tr '\n' ' '))"
	done
else
	pass debian/ssh
	echo "# debian: ssh login ${t_ssh}s after launch"
	state=$(sshc 'timeout 240 systemctl is-system-running --wait' 2>/dev/null || true)
	case $state in
	running) pass debian/multi-user ;;
	degraded) pass debian/multi-user
		echo "# debian: degraded; failed units: $(sshc 'systemctl --failed --no-legend --plain' | awk '{print $1}' | tr '\n' ' ')" ;;
	*) fail debian/multi-user "systemctl is-system-running: '$state'" ;;
	esac
	addr=$(sshc "ip -4 -o addr show scope global" 2>/dev/null || true)
	check debian/dhcp "no DHCP address 10.0.2.15 (ip addr: $addr)" grep -q 'inet 10\.0\.2\.15/' <<<"$addr"
	sshc 'systemctl poweroff' >/dev/null 2>&1 || true
fi
# Not wait_bounded: its KILL would reach only `timeout`, not ringvm, which
# must be gone before its disk is checked.
for _ in $(seq 1800); do kill -0 "$vm_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$vm_pid" 2>/dev/null; then
	kill_tree "$vm_pid"
	wait "$vm_pid" 2>/dev/null || true
	wait_status=124
else
	set +e; wait "$vm_pid"; wait_status=$?; set -e
fi
tr -d '\r' <"$log" >"$log.txt"
if [ "$up" = 1 ] && [ "$wait_status" = 0 ]; then
	pass debian/poweroff-exit-0
	echo "# debian: launch to poweroff $(($(date +%s) - t0))s"
else
	fail debian/poweroff-exit-0 "ringvm exit $wait_status$( [ "$up" = 1 ] || echo ' (never reachable)'): $(tail -n 2 "$log.err" | tr '\n' ' ')"
fi

if out=$("$RINGVM" img check "$S/vm.qcow2" 2>&1); then
	pass debian/img-check
else
	fail debian/img-check "$(echo "$out" | tail -n 2 | tr '\n' ' ')"
fi
"$RINGVM" img convert -O raw "$S/vm.qcow2" "$S/after.raw"
dd if="$S/after.raw" of="$S/part.raw" bs=1M iflag=skip_bytes,count_bytes \
	skip="$pstart" count="$psize" conv=sparse status=none
rm -f "$S/after.raw"
if out=$(e2fsck -fn "$S/part.raw" 2>&1); then
	pass debian/fsck
else
	fail debian/fsck "e2fsck -fn: $(echo "$out" | grep -v '^Pass\|^e2fsck' | head -n 3 | tr '\n' ' ')"
fi
