#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# Snapshots of a running default guest (docs/LIFECYCLE.md, "## Snapshots"),
# driven through its console (stdin a FIFO this script writes to) and its
# control socket (`ringvm ctl SOCK snapshot DIR`):
#   1. the guest counts in the background (/tmp/cnt, 10 per second) and has
#      written "before" to its qcow2 data disk; snapshot; it writes "after"
#      and counts on (the VM continues); quit.
#   2. --restore: the count goes on from where it was (not from a new boot),
#      guest time continues across the gap (within 1 s), the disk has
#      "before", not "after"; disk writes, the RNG and the console work as
#      on a fresh boot; a guest reboot boots afresh.
#   3. two --clone's at once on one switch VLAN: new, different MACs; each
#      guest re-probes its NIC to adopt the MAC (a guest driver reads the MAC
#      once, at probe — as with Firecracker clones, the guest must be told),
#      takes its own IP, and they ping each other; the snapshot directory's
#      files are unchanged (sha256) by restores and clones.
#   4. a raw data disk is refused without --no-disk-state; hostile snapshot
#      directories (truncated, corrupt, other version) give one line, exit 1.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="snapshot/boot snapshot/take snapshot/vm-continues snapshot/restore-counter
	snapshot/restore-clock snapshot/restore-disk-before snapshot/restore-devices
	snapshot/restore-reboot snapshot/restore-exit snapshot/clone-macs snapshot/clones-ping
	snapshot/dir-unchanged snapshot/raw-refused snapshot/raw-no-disk-state
	snapshot/hostile-truncated snapshot/hostile-corrupt snapshot/hostile-version
	snapshot/hostile-missing snapshot/hostile-disk-kept snapshot/no-sanitizer-report"
need_ringvm $names
need_guest $names
command -v sha256sum >/dev/null || { for n in $names; do fail "$n" "sha256sum not installed"; done; exit 1; }
BOOT_TIMEOUT=${RINGVM_TEST_TIMEOUT:-200}

# A VM that ended early must not kill this script through its FIFO.
trap '' PIPE
now() { date +%s.%N; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }

# ---- VMs driven through their console ----------------------------------
declare -A vmfd
# start_vm NAME RUN-ARGS...: `ringvm run` with stdin from the FIFO
# $scratch/NAME.in (held open here), console in $scratch/NAME.
start_vm() {
	local n=$1 fd
	shift
	mkfifo "$scratch/$n.in"
	( set +e; timeout -k 10 "$BOOT_TIMEOUT" "$RINGVM" run "$@" \
		<"$scratch/$n.in" >"$scratch/$n" 2>"$scratch/$n.err"
	  echo $? >"$scratch/$n.status" ) &
	bg_track $!
	exec {fd}>"$scratch/$n.in"
	vmfd[$n]=$fd
}
say() { printf '%s\n' "$2" >&"${vmfd[$1]}" 2>/dev/null || true; }
# close_vm NAME: EOF on its console (the shell exits: power-off); wait.
close_vm() {
	local i fd=${vmfd[$1]}
	exec {fd}>&-
	for i in $(seq 600); do [ -e "$scratch/$1.status" ] && break; sleep 0.1; done
}
# wait_for NAME REGEX SECS: a console line matching REGEX appears.
wait_for() {
	local i
	for i in $(seq $(($3 * 10))); do
		tr -d '\r' <"$scratch/$1" | grep -qaE "$2" && return 0
		[ -e "$scratch/$1.status" ] && return 1
		sleep 0.1
	done
	return 1
}
# ask NAME SHELL-EXPR: run it in the guest, print its output (one line).
ask() {
	local tag="Q$RANDOM$RANDOM$1"
	say "$1" "echo $tag=\$($2)=END"
	if wait_for "$1" "^$tag=.*=END" 60; then
		tr -d '\r' <"$scratch/$1" | sed -n "s/^$tag=\(.*\)=END$/\1/p" | head -n1
	else
		echo "no-answer"
	fi
}
sums() { (cd "$1" && sha256sum ./* | sort); }

# ---- 1. the original VM ------------------------------------------------
sock=$scratch/sw.sock
"$RINGVM" switch --socket "$sock" 2>"$scratch/switch.err" &
bg_track $!
for _ in $(seq 50); do [ -S "$sock.ctl" ] && break; sleep 0.1; done
"$RINGVM" img create -f qcow2 "$scratch/data.qcow2" 16M >/dev/null
snap=$scratch/snap
api=$scratch/a.api
start_vm a --mem 256M --disk "$scratch/data.qcow2" --api "$api" \
	--net "switch,path=$sock,vlan=10"
if ! wait_for a '^RINGVM-GUEST-READY$' "$BOOT_TIMEOUT"; then
	for n in $names; do fail "$n" "the guest did not boot: $(tail -n1 "$scratch/a.err")"; done
	exit 1
fi
pass snapshot/boot
say a 'dmesg -n 1; (i=0; while :; do i=$((i+1)); echo $i >/tmp/cnt.new; mv /tmp/cnt.new /tmp/cnt; sleep 0.1; done) &'
wr='dd of=/dev/vda bs=512 count=1 conv=sync,fsync 2>/dev/null && echo ok'
rd='echo 3 >/proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 12'
[ "$(ask a "echo before-snap | $wr")" = ok ] || echo "# writing 'before' failed"
sleep 1
c0=$(ask a 'cat /tmp/cnt')
u0=$(ask a 'cut -d" " -f1 /proc/uptime')
h0=$(now)
if "$RINGVM" ctl "$api" snapshot "$snap" >"$scratch/ctl.out" 2>&1 && [ -s "$snap/state" ]; then
	pass snapshot/take
else
	fail snapshot/take "ctl snapshot: $(tail -n1 "$scratch/ctl.out")"
fi
hs=$(now)
echo "# snapshot: $(fsub "$hs" "$h0") s for the ctl call; files: $(du -sh --apparent-size "$snap" | cut -f1) apparent, $(du -sh "$snap" | cut -f1) on disk"
sum0=$(sums "$snap")
a_after=$(ask a "echo after--snap | $wr")
sleep 0.5
ca=$(ask a 'cat /tmp/cnt')
if [ "$a_after" = ok ] && [ "$ca" -gt "$c0" ] 2>/dev/null; then
	pass snapshot/vm-continues
else
	fail snapshot/vm-continues "after the snapshot: write '$a_after', count $c0 -> $ca"
fi
"$RINGVM" ctl "$api" quit >/dev/null 2>&1 || true
close_vm a

# ---- 2. restore ------------------------------------------------------------
hr=$(now)
start_vm r --restore "$snap" --api "$scratch/r.api" --stats
c1=$(ask r 'cat /tmp/cnt')
u1=$(ask r 'cut -d" " -f1 /proc/uptime')
h1=$(now)
sleep 0.5
c2=$(ask r 'cat /tmp/cnt')
# From a new boot there would be no /tmp/cnt, or a count from 0.
if [ "$c1" -ge "$c0" ] 2>/dev/null && [ "$c1" -lt $((c0 + 100)) ] && [ "$c2" -gt "$c1" ]; then
	pass snapshot/restore-counter
else
	fail snapshot/restore-counter "count at snapshot ~$c0, after restore $c1 then $c2"
fi
# Guest time ran while the VM ran: from u0 to the snapshot (hs - h0 at
# most) and from the restore to u1 (h1 - hr at most); the gap between
# the snapshot and the restore must not show.
drift=$(awk -v u0="$u0" -v u1="$u1" -v a="$(fsub "$hs" "$h0")" -v b="$(fsub "$h1" "$hr")" \
	'BEGIN { d = (u1 - u0) - (a + b); printf "%.2f", d }')
echo "# restore: guest uptime $u0 -> $u1; beyond the running time: $drift s; $(grep -h 'restored' "$scratch/r.err" | head -n1)"
if awk -v d="$drift" -v u0="$u0" -v u1="$u1" 'BEGIN { exit !(u1 >= u0 && d < 1.0) }'; then
	pass snapshot/restore-clock
else
	fail snapshot/restore-clock "guest uptime $u0 -> $u1 across a snapshot/restore (drift $drift s)"
fi
got=$(ask r "$rd")
if [ "$got" = before-snap ]; then
	pass snapshot/restore-disk-before
else
	fail snapshot/restore-disk-before "sector 0 reads '$got', want before-snap"
fi
# The devices of a fresh boot: disk writes, the RNG, the console (all of
# this went through it).
w=$(ask r "echo restored-ok | $wr")
back=$(ask r "$rd")
rng=$(ask r 'cat /sys/class/misc/hw_random/rng_current; head -c 64 /dev/hwrng | wc -c')
if [ "$w" = ok ] && [ "$back" = restored-ok ] && [ "$rng" = "virtio_rng.0 64" ]; then
	pass snapshot/restore-devices
else
	fail snapshot/restore-devices "disk write '$w', read back '$back', rng '$rng'"
fi
# A reboot of the restored VM boots afresh, inside the seccomp filter
# (guest_mem_clear replaces the file mapping with anonymous memory there;
# test_snapshot checks that the RAM reads zeros afterwards).
say r 'reboot -f'
if wait_for r '^RINGVM-GUEST-READY$' "$BOOT_TIMEOUT" &&
	[ "$(ask r 'cat /tmp/cnt 2>/dev/null || echo none')" = none ]; then
	pass snapshot/restore-reboot
else
	fail snapshot/restore-reboot "no fresh boot after a reboot: $(tail -n1 "$scratch/r.err")"
fi
close_vm r
run_status=$(cat "$scratch/r.status")
status_ok snapshot/restore-exit "$scratch/r"

# ---- 3. two clones on one VLAN -------------------------------------------
mkdir "$scratch/ctmp"
TMPDIR=$scratch/ctmp start_vm c1 --restore "$snap" --clone
start_vm c2 --restore "$snap" --clone --clone-dir "$scratch/c2disks"
adopt='d=$(basename $(readlink /sys/class/net/eth0/device)); echo $d >/sys/bus/virtio/drivers/virtio_net/unbind; echo $d >/sys/bus/virtio/drivers/virtio_net/bind; sleep 1; cat /sys/class/net/eth0/address'
m1=$(ask c1 "$adopt")
m2=$(ask c2 "$adopt")
say c1 'ip link set eth0 up; ip addr add 10.0.10.1/24 dev eth0'
say c2 'ip link set eth0 up; ip addr add 10.0.10.2/24 dev eth0'
case $m1$m2 in
*no-answer*) fail snapshot/clone-macs "no MAC from the clones ('$m1', '$m2')" ;;
*) if [ "$m1" != "$m2" ] && [ -n "$m1" ]; then pass snapshot/clone-macs; else fail snapshot/clone-macs "clone MACs '$m1' '$m2'"; fi ;;
esac
echo "# clone MACs: $m1 $m2"
p12=$(ask c1 'i=0; while [ $i -lt 30 ]; do ping -c1 -W1 10.0.10.2 >/dev/null && break; i=$((i+1)); done; [ $i -lt 30 ] && echo up || echo down')
p21=$(ask c2 'ping -c2 -W2 10.0.10.1 >/dev/null && echo up || echo down')
if [ "$p12" = up ] && [ "$p21" = up ]; then
	pass snapshot/clones-ping
else
	fail snapshot/clones-ping "clone 1 -> 2: $p12, 2 -> 1: $p21"
fi
close_vm c1
close_vm c2
if [ "$(sums "$snap")" = "$sum0" ] && [ -s "$scratch/c2disks/disk0.qcow2" ] &&
	[ -z "$(ls -A "$scratch/ctmp")" ]; then
	pass snapshot/dir-unchanged
else
	fail snapshot/dir-unchanged "the snapshot's files changed, or clone overlays are missing/left over"
fi

# ---- 4. refusals -----------------------------------------------------------
truncate -s 4M "$scratch/raw.img"
start_vm b --mem 128M --disk "$scratch/raw.img,format=raw" --api "$scratch/b.api" --no-rng
if wait_for b '^RINGVM-GUEST-READY$' "$BOOT_TIMEOUT"; then
	set +e
	"$RINGVM" ctl "$scratch/b.api" snapshot "$scratch/snap-raw" >"$scratch/rawctl" 2>&1
	st=$?
	set -e
	if [ "$st" = 1 ] && grep -q -- '--no-disk-state' "$scratch/rawctl" && [ ! -e "$scratch/snap-raw" ]; then
		pass snapshot/raw-refused
	else
		fail snapshot/raw-refused "status $st: $(head -c 200 "$scratch/rawctl")"
	fi
	if "$RINGVM" ctl "$scratch/b.api" snapshot "$scratch/snap-raw" --no-disk-state >"$scratch/rawctl2" 2>&1 &&
		[ -s "$scratch/snap-raw/state" ] && grep -q 'warning' "$scratch/b.err"; then
		pass snapshot/raw-no-disk-state
	else
		fail snapshot/raw-no-disk-state "$(head -c 200 "$scratch/rawctl2")"
	fi
else
	fail snapshot/raw-refused "the raw-disk guest did not boot"
	fail snapshot/raw-no-disk-state "the raw-disk guest did not boot"
fi
"$RINGVM" ctl "$scratch/b.api" quit >/dev/null 2>&1 || true
close_vm b

# hostile DIR WHAT: a copy of the snapshot with its state file spoilt.
hostile() {
	rm -rf "$scratch/$1"
	cp -r "$snap" "$scratch/$1"
	chmod -R u+w "$scratch/$1"
}
hostile bad-trunc
disk_sum=$(sha256sum <"$scratch/data.qcow2")
# Half the state file: the stream ends inside a section whatever its size.
head -c $(( $(stat -c %s "$snap/state") / 2 )) "$snap/state" >"$scratch/bad-trunc/state"
refused snapshot/hostile-truncated 'snapshot .*(truncated|section)' \
	"$RINGVM" run --restore "$scratch/bad-trunc"
hostile bad-crc
printf '\xff\xfe' | dd of="$scratch/bad-crc/state" bs=1 seek=2000 conv=notrunc 2>/dev/null
refused snapshot/hostile-corrupt 'snapshot .*checksum' \
	"$RINGVM" run --restore "$scratch/bad-crc"
hostile bad-ver
printf '\x09' | dd of="$scratch/bad-ver/state" bs=1 seek=8 conv=notrunc 2>/dev/null
refused snapshot/hostile-version 'format version 9' \
	"$RINGVM" run --restore "$scratch/bad-ver"
refused snapshot/hostile-missing 'snapshot .*No such file' \
	"$RINGVM" run --restore "$scratch/no-such-snapshot"
# A refused restore discards nothing: the disk is as it was and no
# half-made overlay is left beside it.
if [ "$(sha256sum <"$scratch/data.qcow2")" = "$disk_sum" ] &&
	! ls "$scratch"/data.qcow2.restore-* >/dev/null 2>&1; then
	pass snapshot/hostile-disk-kept
else
	fail snapshot/hostile-disk-kept "a refused restore changed $scratch/data.qcow2 or left an overlay"
fi

# Every VM of this test, under a sanitizer build: no report.
rep=
for f in "$scratch"/*.err; do
	r=$(sanitizer_report "$f") && rep="$rep ${f##*/}: $r"
done
if [ -z "$rep" ]; then pass snapshot/no-sanitizer-report; else fail snapshot/no-sanitizer-report "$rep"; fi
