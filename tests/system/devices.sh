#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# One boot with --cpus 2, a read-write ext4 disk and a read-only ext4 disk; a
# guest script (tests/system/guest/devices-check, carried on the read-only
# disk) reports facts as "RVT ..." lines, and this side judges each one:
# CPUs, ISA string, the workload's results against the host's, ext4 reads and
# writes, read-only enforcement; then the host inspects the images.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="devices/exit-0 devices/nproc devices/cpuinfo-harts devices/isa devices/workload
	devices/disk-order devices/rw-mount devices/rw-read-text devices/rw-read-binary
	devices/rw-write devices/rw-readback devices/rw-umount devices/host-sees-write
	devices/rw-fsck-clean devices/ro-flag devices/ro-mount devices/ro-touch-refused
	devices/ro-dd-refused devices/ro-dd-direct-refused devices/ro-image-unchanged"
need_ringvm $names
need_guest $names
for tool in mke2fs debugfs e2fsck sha256sum; do
	command -v "$tool" >/dev/null || { for n in $names; do fail "$n" "$tool not installed"; done; exit 1; }
done
[ -x "$GUEST/workload-native" ] || { for n in $names; do fail "$n" "$GUEST/workload-native missing"; done; exit 1; }

# Host-side images.
mkdir -p "$scratch/rwdir" "$scratch/rodir"
echo "ringvm known text $$" >"$scratch/rwdir/known.txt"
head -c 1048576 /dev/urandom >"$scratch/rwdir/known.bin"
known_bin=$(sha256sum <"$scratch/rwdir/known.bin" | cut -d' ' -f1)
cp tests/system/guest/devices-check "$scratch/rodir/check"
echo "ringvm read-only marker" >"$scratch/rodir/marker.txt"
for img in rw:32M ro:8M; do
	if ! out=$(mke2fs -q -F -t ext4 -L "ringvm-${img%%:*}" -d "$scratch/${img%%:*}dir" \
		"$scratch/${img%%:*}.img" "${img#*:}" 2>&1); then
		for n in $names; do fail "$n" "mke2fs failed: $out"; done
		exit 1
	fi
done
ro_sum=$(sha256sum <"$scratch/ro.img" | cut -d' ' -f1)
want_new=$(yes ringvm-guest-wrote-this | head -c 300000 | sha256sum | cut -d' ' -f1)

# Find the read-only disk, copy the script off it, run it.
gcmd='mkdir -p /t; for d in /dev/vd?; do mount -t ext4 -o ro $d /t 2>/dev/null || continue; [ -f /t/check ] && break; umount /t; done; cp /t/check /tmp/check && umount /t && sh /tmp/check'
log=$scratch/devices
run_guest "$log" --cpus 2 --disk "$scratch/rw.img" --disk "$scratch/ro.img,ro" \
	--cmdline "ringvm.cmd=\"$gcmd\""
status_ok devices/exit-0 "$log"
echo "# devices: ${run_secs}s wall, exit $run_status"

# val KEY: the value of the guest's "RVT KEY value" line.
val() { sed -n "s/^RVT $1 \{0,1\}//p" "$log.txt" | head -n1; }
if ! has "$log" '^RVT begin$'; then
	reason="the guest check script did not start"
	has "$log" '^RINGVM-GUEST-READY$' || reason="the guest did not reach RINGVM-GUEST-READY"
	for n in $names; do [ "$n" = devices/exit-0 ] || fail "$n" "$reason"; done
	exit 1
fi
has "$log" '^RVT end$' || echo "# devices: the guest check script did not finish"

# expect NAME GOT WANT: PASS when equal.
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
expect devices/nproc "$(val nproc)" 2
expect devices/cpuinfo-harts "$(val harts)" 2
isa=$(val isa)
case $isa in
rv64imafdc*) pass devices/isa; echo "# guest isa: $isa (mmu $(val mmu))" ;;
*) fail devices/isa "isa '$isa' is not rv64imafdc..." ;;
esac
native=$("$GUEST/workload-native" quick | awk '$1 == "crc32" || $1 == "sieve" { printf "%s %s;", $1, $2 }')
guest=$(sed -n 's/^RVT workload //p' "$log.txt" | awk '$1 == "crc32" || $1 == "sieve" { printf "%s %s;", $1, $2 }')
expect devices/workload "$guest" "$native"
sed -n 's/^RVT workload /# guest workload (quick): /p' "$log.txt"
expect devices/disk-order "$(val disks)" "vda=rw vdb=ro"
expect devices/rw-mount "$(val rw-mount)" ok
expect devices/rw-read-text "$(val rw-known-txt)" "$(cat "$scratch/rwdir/known.txt")"
expect devices/rw-read-binary "$(val rw-known-bin)" "$known_bin"
expect devices/rw-write "$(val rw-write)" ok
expect devices/rw-readback "$(val rw-readback)" "$want_new"
expect devices/rw-umount "$(val rw-umount)" ok
got=$(debugfs -R 'cat /newfile' "$scratch/rw.img" 2>/dev/null | sha256sum | cut -d' ' -f1)
expect devices/host-sees-write "$got" "$want_new"
if out=$(e2fsck -fn "$scratch/rw.img" 2>&1); then
	pass devices/rw-fsck-clean
else
	fail devices/rw-fsck-clean "e2fsck -fn: $(echo "$out" | grep -v '^Pass\|^e2fsck\|^ringvm' | head -n3 | tr '\n' ' ')"
fi
expect devices/ro-flag "$(val ro-getro)" 1
expect devices/ro-mount "$(val ro-mount)" ok
expect devices/ro-touch-refused "$(val ro-touch)" refused
case $(val ro-dd) in
refused:*) pass devices/ro-dd-refused ;;
*) fail devices/ro-dd-refused "buffered dd to the read-only disk: '$(val ro-dd)'" ;;
esac
case $(val ro-dd-direct) in
refused:*"invalid"*|refused:*"unknown"*) fail devices/ro-dd-direct-refused "dd rejected its arguments: $(val ro-dd-direct)" ;;
refused:*) pass devices/ro-dd-direct-refused ;;
*) fail devices/ro-dd-direct-refused "O_DIRECT dd to the read-only disk: '$(val ro-dd-direct)'" ;;
esac
echo "# ro dd errors: $(val ro-dd) / $(val ro-dd-direct)"
expect devices/ro-image-unchanged "$(sha256sum <"$scratch/ro.img" | cut -d' ' -f1)" "$ro_sum"
