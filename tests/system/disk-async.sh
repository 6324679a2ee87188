#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# Disk I/O runs off the vCPU: one boot with --cpus 1 where a guest process
# hammers two disks with O_DIRECT I/O (1 MiB writes to a cache=writethrough
# disk, host O_DSYNC writes; 64 KiB reads from a cache=none disk) while
# another guest process only counts.  The count must advance by a
# measurable amount during each I/O phase: the vCPU keeps running the
# counter while virtio-blk's I/O threads do the host I/O.  (Guest CPU time
# dominates these phases in the interpreter, so a synchronous device would
# pass too; the unit tests in tests/unit/test_virtio_blk.c prove that a
# notify returns with the requests still in flight.)  The guest script
# (tests/system/guest/disk-async-check) is carried on a read-only ext4
# disk; the host checks what was written.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="disk-async/exit-0 disk-async/write disk-async/write-progress
	disk-async/read disk-async/read-progress disk-async/host-sees-write"
need_ringvm $names
need_guest $names
for tool in mke2fs sha256sum; do
	command -v "$tool" >/dev/null || { for n in $names; do fail "$n" "$tool not installed"; done; exit 1; }
done

writes=32 reads=256
# Counter increments each I/O phase must at least see: the counting shell
# manages about a thousand a second alone, each phase lasts about a second
# (and a loaded host slows both).
min_progress=50

mkdir -p "$scratch/s"
sed -e "s/WRITES/$writes/" -e "s/READS/$reads/" tests/system/guest/disk-async-check >"$scratch/s/check"
if ! out=$(mke2fs -q -F -t ext4 -d "$scratch/s" "$scratch/script.img" 4M 2>&1); then
	for n in $names; do fail "$n" "mke2fs failed: $out"; done
	exit 1
fi
head -c $((writes << 20)) /dev/urandom >"$scratch/w.img"
head -c $((16 << 20)) /dev/urandom >"$scratch/r.img"

# Direct I/O needs a file system that has it (not tmpfs).
cache_r=none
if ! dd if="$scratch/r.img" of=/dev/null bs=4096 count=1 iflag=direct 2>/dev/null; then
	echo "# disk-async: no O_DIRECT in $scratch; the read disk uses cache=writeback"
	cache_r=writeback
fi

gcmd='mkdir -p /t; mount -t ext4 -o ro /dev/vdc /t && cp /t/check /tmp/check && umount /t && sh /tmp/check'
log=$scratch/disk-async
run_guest "$log" --cpus 1 --disk "$scratch/w.img,format=raw,cache=writethrough" \
	--disk "$scratch/r.img,format=raw,cache=$cache_r" --disk "$scratch/script.img,ro" \
	--cmdline "ringvm.cmd=\"$gcmd\""
status_ok disk-async/exit-0 "$log"
echo "# disk-async: ${run_secs}s wall, exit $run_status"

val() { sed -n "s/^RVT $1 //p" "$log.txt" | head -n1; }
if ! has "$log" '^RVT begin$'; then
	reason="the guest check script did not start"
	has "$log" '^RINGVM-GUEST-READY$' || reason="the guest did not reach RINGVM-GUEST-READY"
	for n in $names; do [ "$n" = disk-async/exit-0 ] || fail "$n" "$reason"; done
	exit 1
fi
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
# at_least NAME GOT MIN
at_least() {
	case $2 in
	''|*[!0-9]*) fail "$1" "no count reported ('$2')" ;;
	*) if [ "$2" -ge "$3" ]; then pass "$1"; else fail "$1" "the counter advanced $2 times during the I/O, want >= $3"; fi ;;
	esac
}
expect disk-async/write "$(val write)" ok
at_least disk-async/write-progress "$(val write-progress)" "$min_progress"
expect disk-async/read "$(val read)" ok
at_least disk-async/read-progress "$(val read-progress)" "$min_progress"
echo "# disk-async: counter alone: $(val base) (count, centiseconds); write phase $(val write-cs) cs, read phase $(val read-cs) cs"
echo "# disk-async: counter advanced $(val write-progress) during $writes writes (cache=writethrough), $(val read-progress) during $reads reads (cache=$cache_r)"
want=$(head -c $((writes << 20)) /dev/zero | sha256sum | cut -d' ' -f1)
got=$(head -c $((writes << 20)) "$scratch/w.img" | sha256sum | cut -d' ' -f1)
expect disk-async/host-sees-write "$got" "$want"
