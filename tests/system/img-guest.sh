#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# One boot of the default guest on qcow2 disks; the guest script
# (tests/system/guest/img-check, carried on the base filesystem) reports
# "RVT ..." lines and this side judges them, then inspects the images:
# - vda: an overlay (ringvm img create -b) on an ext4 base made with
#   mke2fs -d and converted to qcow2: the guest mounts it, reads files of the
#   base, writes and deletes files; afterwards the overlay holds the changes,
#   the base file is byte-for-byte unchanged, qemu-img check is clean, both
#   tools see the same disk, e2fsck is clean; then `img commit` moves the
#   changes into the base;
# - vdb: an image qemu-img made (compressed clusters, zero clusters, an
#   internal snapshot sharing every cluster): the guest reads what QEMU
#   reads, its writes copy on write, the snapshot keeps the old data;
# - vdc: a fresh qcow2: writes, discard, write-zeroes.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="img-guest/exit-0 img-guest/a-mount img-guest/a-read-text img-guest/a-read-binary
	img-guest/a-write img-guest/a-readback img-guest/a-umount img-guest/a-remount
	img-guest/base-unchanged img-guest/overlay-qemu-check img-guest/overlay-ringvm-check
	img-guest/overlay-same-view img-guest/overlay-holds-write img-guest/overlay-fsck
	img-guest/overlay-allocated img-guest/base-lacks-write
	img-guest/commit img-guest/commit-base-has-write img-guest/commit-base-qemu-check
	img-guest/b-size img-guest/b-read img-guest/b-read-direct img-guest/b-write
	img-guest/b-content img-guest/b-qemu-check img-guest/b-snapshot-intact
	img-guest/c-write img-guest/c-discard img-guest/c-discarded-readable img-guest/c-content
	img-guest/c-qemu-check img-guest/c-discard-deallocates"
need_ringvm $names
need_guest $names
for tool in mke2fs debugfs e2fsck qemu-img qemu-io python3 sha256sum; do
	command -v "$tool" >/dev/null || { for n in $names; do fail "$n" "$tool not installed"; done; exit 1; }
done
S=$scratch
sum() { sha256sum <"$1" | cut -d' ' -f1; }
R() { "$RINGVM" img "$@"; }

# vda: ext4 base -> qcow2 -> overlay
mkdir -p "$S/basedir"
echo "base text $$" >"$S/basedir/known.txt"
head -c 1048576 /dev/urandom >"$S/basedir/known.bin"
echo "to be deleted" >"$S/basedir/gone.txt"
cp tests/system/guest/img-check "$S/basedir/img-check"
known_bin=$(sum "$S/basedir/known.bin")
if ! out=$(mke2fs -q -F -t ext4 -L ringvm-base -d "$S/basedir" "$S/base.raw" 32M 2>&1) ||
	! out=$(R convert -q -f raw -O qcow2 "$S/base.raw" "$S/base.qcow2" 2>&1) ||
	! out=$(R create -q -f qcow2 -b base.qcow2 -F qcow2 "$S/vm1.qcow2" 2>&1); then
	for n in $names; do fail "$n" "preparing the images failed: $out"; done
	exit 1
fi
base_sum=$(sum "$S/base.qcow2")
want_new=$(yes ringvm-overlay-write | head -c 700000 | sha256sum | cut -d' ' -f1)

# vdb: made by qemu: compressed clusters, then writes, then a snapshot
python3 - "$S/b.raw" <<'EOF'
import random, sys
r = random.Random(3)
with open(sys.argv[1], 'wb') as f:
    for i in range(64):     # 4 MiB: 64 KiB chunks, random / pattern / zero
        k = i % 3
        f.write(bytes(r.getrandbits(8) for _ in range(65536)) if k == 0 else
                (bytes([i]) * 65536 if k == 1 else bytes(65536)))
EOF
qemu-img convert -q -c -f raw -O qcow2 "$S/b.raw" "$S/b.qcow2"
qemu-io -c "write -P 0xa5 2M 192k" -c "write -z 3M 64k" "$S/b.qcow2" >/dev/null
qemu-img snapshot -c before-guest "$S/b.qcow2"
qemu-img convert -O raw "$S/b.qcow2" "$S/b-before.raw"
b_sum=$(sum "$S/b-before.raw")

# vdc: fresh
R create -q -f qcow2 "$S/c.qcow2" 8M

gcmd='mkdir -p /t; mount -t ext4 -o ro /dev/vda /t && cp /t/img-check /tmp/c; umount /t; sh /tmp/c'
log=$S/guest
run_guest "$log" --disk "$S/vm1.qcow2" --disk "$S/b.qcow2" --disk "$S/c.qcow2" \
	--cmdline "ringvm.cmd=\"$gcmd\""
status_ok img-guest/exit-0 "$log"
echo "# img-guest: ${run_secs}s wall, exit $run_status, guest script $(sed -n 's/^RVT t0 //p' "$log.txt")-$(sed -n 's/^RVT t1 //p' "$log.txt") s uptime"

val() { sed -n "s/^RVT $1 \{0,1\}//p" "$log.txt" | head -n1; }
expect() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }
if ! has "$log" '^RVT begin$'; then
	reason="the guest check script did not start: $(grep -v '^\[' "$log.txt" | tail -n 3 | tr '\n' ' ')"
	has "$log" '^RINGVM-GUEST-READY$' || reason="the guest did not reach RINGVM-GUEST-READY"
	for n in $names; do [ "$n" = img-guest/exit-0 ] || fail "$n" "$reason"; done
	exit 1
fi
has "$log" '^RVT end$' || echo "# img-guest: the guest script did not finish"

# --- vda ---------------------------------------------------------------------
expect img-guest/a-mount "$(val a-mount)" ok
expect img-guest/a-read-text "$(val a-known-txt)" "$(cat "$S/basedir/known.txt")"
expect img-guest/a-read-binary "$(val a-known-bin)" "$known_bin"
expect img-guest/a-write "$(val a-write)" ok
expect img-guest/a-readback "$(val a-readback)" "$want_new"
expect img-guest/a-umount "$(val a-umount)" ok
expect img-guest/a-remount "$(val a-remount)" "written in the overlay removed"
expect img-guest/base-unchanged "$(sum "$S/base.qcow2")" "$base_sum"
if out=$(qemu-img check "$S/vm1.qcow2" 2>&1); then pass img-guest/overlay-qemu-check; else fail img-guest/overlay-qemu-check "$(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
if out=$(R check "$S/vm1.qcow2" 2>&1); then pass img-guest/overlay-ringvm-check; else fail img-guest/overlay-ringvm-check "$(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
R convert -q -O raw "$S/vm1.qcow2" "$S/vm1.raw"
qemu-img convert -O raw "$S/vm1.qcow2" "$S/vm1.qemu.raw"
cmp -s "$S/vm1.raw" "$S/vm1.qemu.raw" && pass img-guest/overlay-same-view || fail img-guest/overlay-same-view "ringvm and qemu-img read different disks"
got=$(debugfs -R 'cat /newfile' "$S/vm1.raw" 2>/dev/null | sha256sum | cut -d' ' -f1)
expect img-guest/overlay-holds-write "$got" "$want_new"
if out=$(e2fsck -fn "$S/vm1.raw" 2>&1); then pass img-guest/overlay-fsck; else fail img-guest/overlay-fsck "$(echo "$out" | grep -v '^Pass\|^e2fsck' | head -n 3 | tr '\n' ' ')"; fi
own=$(R map --json "$S/vm1.qcow2" | python3 -c 'import json,sys; print(sum(e["length"] for e in json.load(sys.stdin) if e["depth"] == 0 and e["present"]))')
[ "$own" -gt 0 ] && [ "$own" -lt $((16 << 20)) ] && pass img-guest/overlay-allocated ||
	fail img-guest/overlay-allocated "the overlay holds $own bytes itself"
qemu-img convert -O raw "$S/base.qcow2" "$S/base.now.raw"
if debugfs -R 'stat /newfile' "$S/base.now.raw" 2>&1 | grep -q 'File not found'; then pass img-guest/base-lacks-write; else fail img-guest/base-lacks-write "the base has /newfile"; fi
if out=$(R commit -q "$S/vm1.qcow2" 2>&1); then pass img-guest/commit; else fail img-guest/commit "$out"; fi
rm -f "$S/base.now.raw"
qemu-img convert -O raw "$S/base.qcow2" "$S/base.now.raw"
got=$(debugfs -R 'cat /newfile' "$S/base.now.raw" 2>/dev/null | sha256sum | cut -d' ' -f1)
expect img-guest/commit-base-has-write "$got" "$want_new"
if out=$(qemu-img check "$S/base.qcow2" 2>&1); then pass img-guest/commit-base-qemu-check; else fail img-guest/commit-base-qemu-check "$(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi

# --- vdb ---------------------------------------------------------------------
expect img-guest/b-size "$(val b-size)" $((4 << 20))
expect img-guest/b-read "$(val b-sha)" "$b_sum"
expect img-guest/b-read-direct "$(val b-sha-direct)" "$b_sum"
expect img-guest/b-write "$(val b-write)/$(val b-write2)" ok/ok
python3 - "$S/b-before.raw" "$S/b-want.raw" <<'EOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
def yes(word, n):
    s = (word + "\n").encode() * (n // (len(word) + 1) + 1)
    return s[:n]
d[17 * 65536:17 * 65536 + 196608] = yes("guest-direct-write", 196608)
d[131000:131000 + 100000] = yes("unaligned", 100000)
open(sys.argv[2], 'wb').write(d)
EOF
qemu-img convert -O raw "$S/b.qcow2" "$S/b-after.raw"
cmp -s "$S/b-after.raw" "$S/b-want.raw" && pass img-guest/b-content || fail img-guest/b-content "$(cmp "$S/b-after.raw" "$S/b-want.raw" 2>&1 | head -n1)"
if out=$(qemu-img check "$S/b.qcow2" 2>&1); then pass img-guest/b-qemu-check; else fail img-guest/b-qemu-check "$(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
qemu-img convert -l snapshot.name=before-guest -O raw "$S/b.qcow2" "$S/b-snap.raw"
cmp -s "$S/b-snap.raw" "$S/b-before.raw" && pass img-guest/b-snapshot-intact || fail img-guest/b-snapshot-intact "the snapshot's data changed"

# --- vdc ---------------------------------------------------------------------
expect img-guest/c-write "$(val c-write)" ok
expect img-guest/c-discard "$(val c-discard)" ok
expect img-guest/c-discarded-readable "$(val c-discarded-len)" 1048576
expect img-guest/c-content "$(val c-kept)" "$(yes fresh-pattern | head -c 1048576 | sha256sum | cut -d' ' -f1)"
if out=$(qemu-img check "$S/c.qcow2" 2>&1); then pass img-guest/c-qemu-check; else fail img-guest/c-qemu-check "$(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
data=$(qemu-img map --output=json "$S/c.qcow2" | python3 -c '
import json, sys
print(sum(max(0, min(e["start"] + e["length"], 2 << 20) - max(e["start"], 1 << 20))
          for e in json.load(sys.stdin) if e["data"]))')
expect img-guest/c-discard-deallocates "$data" 0
