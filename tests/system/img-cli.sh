#!/bin/bash
# `ringvm img` without a guest: argument handling, bad input (one line on
# stderr naming the problem, exit 1, no data lost) and the raw-format paths.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

need_ringvm img-cli/usage
for tool in qemu-img flock python3 sha256sum; do
	command -v "$tool" >/dev/null || { fail img-cli/tools "$tool not installed (scripts/install-deps.sh)"; exit 1; }
done
S=$scratch
sum() { sha256sum <"$1" | cut -d' ' -f1; }

# bad NAME REGEX CMD...: exit status 1, exactly one line on stderr matching
# REGEX (case-insensitive), nothing on stdout.
bad() {
	local name=$1 re=$2 st
	shift 2
	set +e
	"$@" >"$S/out" 2>"$S/err"
	st=$?
	set -e
	if [ "$st" -ne 1 ]; then
		fail "$name" "exit status $st, want 1 ($(head -c 200 "$S/err" | tr '\n' ' '))"
	elif [ "$(wc -l <"$S/err")" -ne 1 ]; then
		fail "$name" "want one line on stderr, got: $(head -c 300 "$S/err" | tr '\n' '|')"
	elif ! grep -qiE -e "$re" "$S/err"; then
		fail "$name" "stderr '$(cat "$S/err")' does not match /$re/"
	else
		pass "$name"
	fi
}

# usage and dispatch
if "$RINGVM" img --help | grep -q 'convert'; then pass img-cli/usage; else fail img-cli/usage "img --help lists no verbs"; fi
for v in create info check convert commit rebase resize snapshot map; do
	if ! "$RINGVM" img "$v" --help >"$S/out" 2>&1 || ! grep -q "usage: ringvm img $v" "$S/out"; then
		fail img-cli/help-$v "ringvm img $v --help failed or printed no usage"
		continue
	fi
	pass img-cli/help-$v
done
bad img-cli/no-verb 'missing command' "$RINGVM" img
bad img-cli/unknown-verb 'unknown command `frobnicate`' "$RINGVM" img frobnicate
bad img-cli/unknown-option 'unknown option `-Z`' "$RINGVM" img create -Z x 1M
bad img-cli/option-needs-value 'needs a value' "$RINGVM" img create x 1M -f

# create: bad input
bad img-cli/create-no-size 'missing SIZE' "$RINGVM" img create -f qcow2 "$S/x.qcow2"
bad img-cli/create-bad-size '`12Q` is not a size' "$RINGVM" img create "$S/x.raw" 12Q
bad img-cli/create-bad-format 'unknown format `vmdk`' "$RINGVM" img create -f vmdk "$S/x" 1G
bad img-cli/create-bad-cluster 'cluster_size.*power of two' "$RINGVM" img create -f qcow2 -o cluster_size=3000 "$S/x" 1G
bad img-cli/create-cluster-too-big 'cluster_size' "$RINGVM" img create -f qcow2 -o cluster_size=4M "$S/x" 1G
bad img-cli/create-unknown-o 'unknown option `frob`' "$RINGVM" img create -f qcow2 -o frob=1 "$S/x" 1G
bad img-cli/create-o-no-value 'needs a value' "$RINGVM" img create -f qcow2 -o cluster_size "$S/x" 1G
bad img-cli/create-raw-backing 'raw.*backing' "$RINGVM" img create -f raw -b "$S/a" "$S/x" 1G
bad img-cli/create-missing-backing 'backing file.*No such file' "$RINGVM" img create -f qcow2 -b "$S/nonexistent.qcow2" "$S/x.qcow2"
bad img-cli/create-extra-arg 'unexpected argument `extra`' "$RINGVM" img create "$S/x.raw" 1M extra
bad img-cli/create-unaligned-qcow2 'multiple of 512' "$RINGVM" img create -f qcow2 "$S/x.qcow2" 1000
[ ! -e "$S/x.qcow2" ] && [ ! -e "$S/x" ] && pass img-cli/create-bad-leaves-nothing ||
	fail img-cli/create-bad-leaves-nothing "a refused create left a file behind"

# create raw, info, map
if "$RINGVM" img create -q -f raw "$S/a.raw" 64M && [ "$(stat -c %s "$S/a.raw")" = 67108864 ] &&
	[ "$(stat -c %b "$S/a.raw")" -lt 64 ]; then
	pass img-cli/create-raw-sparse
else
	fail img-cli/create-raw-sparse "want a sparse 64 MiB file"
fi
"$RINGVM" img create -q -f raw -o preallocation=full "$S/full.raw" 1M
[ "$(stat -c %b "$S/full.raw")" -ge 2048 ] && pass img-cli/create-raw-prealloc ||
	fail img-cli/create-raw-prealloc "preallocation=full left holes"
got=$("$RINGVM" img info --output=json "$S/a.raw" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["format"], d["virtual-size"])')
[ "$got" = "raw 67108864" ] && pass img-cli/info-raw-json || fail img-cli/info-raw-json "got '$got'"
"$RINGVM" img info "$S/a.raw" >"$S/out"
grep -q '^virtual size: 64 MiB (67108864 bytes)$' "$S/out" && grep -q '^file format: raw$' "$S/out" &&
	pass img-cli/info-raw-human || fail img-cli/info-raw-human "$(tr '\n' '|' <"$S/out")"
bad img-cli/info-missing 'cannot open.*No such file' "$RINGVM" img info "$S/nonexistent"
bad img-cli/info-bad-output '--output' "$RINGVM" img info --output=xml "$S/a.raw"

# check on raw: qemu-img's "format does not support checks" status
set +e; "$RINGVM" img check "$S/a.raw" >/dev/null 2>&1; st=$?; set -e
[ "$st" = 63 ] && pass img-cli/check-raw-63 || fail img-cli/check-raw-63 "exit status $st, want 63"
bad img-cli/check-bad-repair '-r: `some` is not leaks or all' "$RINGVM" img check -r some "$S/a.raw"

# convert raw -> raw byte-exact and sparse
python3 - "$S/a.raw" <<'EOF'
import os, random, sys
r = random.Random(1)
with open(sys.argv[1], 'r+b') as f:
    for off in (0, 5 << 20, (5 << 20) + 4096 * 3, 40 << 20, (64 << 20) - 8192):
        f.seek(off); f.write(bytes(r.getrandbits(8) for _ in range(8192)))
EOF
want=$(sum "$S/a.raw")
if "$RINGVM" img convert -q -f raw -O raw "$S/a.raw" "$S/b.raw" && [ "$(sum "$S/b.raw")" = "$want" ]; then
	pass img-cli/convert-raw-exact
else
	fail img-cli/convert-raw-exact "output differs from input"
fi
[ "$(stat -c %b "$S/b.raw")" -lt 1024 ] && pass img-cli/convert-raw-sparse ||
	fail img-cli/convert-raw-sparse "output uses $(stat -c %b "$S/b.raw") blocks"
"$RINGVM" img convert -p -O raw "$S/a.raw" "$S/c.raw" >"$S/out"
grep -q '100.00/100%' "$S/out" && pass img-cli/convert-progress || fail img-cli/convert-progress "no progress shown"
cat "$S/a.raw" "$S/b.raw" >"$S/ab.raw"
"$RINGVM" img convert -q "$S/a.raw" "$S/b.raw" "$S/cat.raw"
cmp -s "$S/ab.raw" "$S/cat.raw" && pass img-cli/convert-concat || fail img-cli/convert-concat "two sources not concatenated"

# convert: never loses data
bad img-cli/convert-onto-source 'refusing to overwrite' "$RINGVM" img convert -O raw "$S/a.raw" "$S/a.raw"
[ "$(sum "$S/a.raw")" = "$want" ] && pass img-cli/convert-onto-source-intact || fail img-cli/convert-onto-source-intact "source changed"
ln -sf a.raw "$S/alias.raw"
bad img-cli/convert-onto-source-alias 'refusing to overwrite' "$RINGVM" img convert -O raw "$S/a.raw" "$S/alias.raw"
cp "$S/b.raw" "$S/keep.raw"; keep=$(sum "$S/keep.raw")
bad img-cli/convert-missing-source 'cannot open.*nonexistent' "$RINGVM" img convert -O raw "$S/nonexistent" "$S/keep.raw"
[ "$(sum "$S/keep.raw")" = "$keep" ] && pass img-cli/convert-missing-source-intact ||
	fail img-cli/convert-missing-source-intact "existing output was changed"
bad img-cli/convert-one-arg 'need a source and a destination' "$RINGVM" img convert "$S/a.raw"
bad img-cli/convert-bad-format 'unknown format `qed`' "$RINGVM" img convert -O qed "$S/a.raw" "$S/q"
"$RINGVM" img create -q -f raw "$S/small.raw" 1M
bad img-cli/convert-n-too-small 'smaller than the sources' "$RINGVM" img convert -n -O raw "$S/a.raw" "$S/small.raw"
# an image in use (locked by another process) is never overwritten
flock -x "$S/keep.raw" sleep 30 &
lockpid=$!
bg_track "$lockpid"
sleep 0.3
bad img-cli/convert-locked-output 'in use' "$RINGVM" img convert -O raw "$S/a.raw" "$S/keep.raw"
bad img-cli/create-locked 'in use' "$RINGVM" img create -f raw "$S/keep.raw" 1M
kill "$lockpid" 2>/dev/null; wait "$lockpid" 2>/dev/null || true
[ "$(sum "$S/keep.raw")" = "$keep" ] && pass img-cli/locked-intact || fail img-cli/locked-intact "locked image changed"

# convert replaces DST only when it has a complete, flushed image: a source
# failing part-way (an L2 entry of its third cluster made unaligned, which
# the driver refuses with EIO) leaves the old DST byte for byte and no
# temporary file beside it.
C=$S/cv
mkdir -p "$C"
head -c $((256 << 10)) /dev/urandom >"$S/cv-data.raw"
"$RINGVM" img convert -q -O qcow2 "$S/cv-data.raw" "$S/cv-bad.qcow2"
python3 - "$S/cv-bad.qcow2" <<'EOF'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    h = f.read(512)
    l1 = struct.unpack('>Q', h[40:48])[0]
    f.seek(l1)
    l2 = struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00
    f.seek(l2 + 8 * 2)
    e = struct.unpack('>Q', f.read(8))[0]
    assert e & 0x00fffffffffffe00, 'cluster 2 not allocated'
    f.seek(l2 + 8 * 2)
    f.write(struct.pack('>Q', e + 512))
EOF
"$RINGVM" img convert -q -O qcow2 "$S/a.raw" "$C/dst.qcow2"
chmod 640 "$C/dst.qcow2"
old=$(sum "$C/dst.qcow2")
bad img-cli/convert-failing-source 'read .*cv-bad.qcow2.*Input/output error' \
	"$RINGVM" img convert -O qcow2 "$S/cv-bad.qcow2" "$C/dst.qcow2"
[ "$(sum "$C/dst.qcow2")" = "$old" ] && pass img-cli/convert-failing-source-dst-intact ||
	fail img-cli/convert-failing-source-dst-intact "DST changed by a convert that failed"
[ "$(ls -A "$C")" = dst.qcow2 ] && pass img-cli/convert-failing-source-no-temp ||
	fail img-cli/convert-failing-source-no-temp "left behind: $(ls -A "$C" | tr '\n' ' ')"
bad img-cli/convert-failing-source-raw 'Input/output error' \
	"$RINGVM" img convert -O raw "$S/cv-bad.qcow2" "$C/dst.qcow2"
[ "$(sum "$C/dst.qcow2")" = "$old" ] && [ "$(ls -A "$C")" = dst.qcow2 ] &&
	pass img-cli/convert-failing-source-raw-intact ||
	fail img-cli/convert-failing-source-raw-intact "DST changed or a temporary file left"
# success replaces DST (keeping its permissions), through a symlink too
if "$RINGVM" img convert -q -O qcow2 "$S/cv-data.raw" "$C/dst.qcow2" &&
	qemu-img compare -q "$S/cv-data.raw" "$C/dst.qcow2" &&
	[ "$(stat -c %a "$C/dst.qcow2")" = 640 ] && [ "$(ls -A "$C")" = dst.qcow2 ]; then
	pass img-cli/convert-replaces-dst
else
	fail img-cli/convert-replaces-dst "DST not replaced by the converted image (mode $(stat -c %a "$C/dst.qcow2"), dir: $(ls -A "$C" | tr '\n' ' '))"
fi
ln -s dst.qcow2 "$C/link.qcow2"
if "$RINGVM" img convert -q -O raw "$S/cv-data.raw" "$C/link.qcow2" &&
	[ -L "$C/link.qcow2" ] && cmp -s "$S/cv-data.raw" "$C/dst.qcow2"; then
	pass img-cli/convert-through-symlink
else
	fail img-cli/convert-through-symlink "the symlink was replaced or its target not written"
fi
rm -f "$C/link.qcow2"
# SIGTERM while DST is being written: the temporary file goes, DST stays.
# The convert is stopped (SIGSTOP) as soon as its temporary file shows, so
# the signal surely lands mid-copy.
truncate -s 8G "$S/cv-huge.raw"
old=$(sum "$C/dst.qcow2")
"$RINGVM" img convert -q -O raw "$S/cv-huge.raw" "$C/dst.qcow2" 2>/dev/null &
cvpid=$!
seen=
for _ in $(seq 1 500); do
	if ls -A "$C" | grep -q '^\.dst\.qcow2\.'; then kill -STOP "$cvpid" 2>/dev/null && seen=1; break; fi
	kill -0 "$cvpid" 2>/dev/null || break
	sleep 0.01
done
kill -TERM "$cvpid" 2>/dev/null || true
kill -CONT "$cvpid" 2>/dev/null || true
set +e
wait "$cvpid"
st=$?
set -e
if [ -z "$seen" ]; then
	skip img-cli/convert-sigterm-cleanup "the convert ended before its temporary file could be seen"
elif [ "$st" = 143 ] && [ "$(ls -A "$C")" = dst.qcow2 ] && [ "$(sum "$C/dst.qcow2")" = "$old" ]; then
	pass img-cli/convert-sigterm-cleanup
else
	fail img-cli/convert-sigterm-cleanup "status $st (want 143), dir: $(ls -A "$C" | tr '\n' ' ')"
fi
rm -f "$S/cv-huge.raw"
# ENOSPC half-way: a 1 MiB tmpfs in a private mount namespace, which goes
# away with the namespace on every exit path.
if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
	head -c $((4 << 20)) /dev/urandom >"$S/cv-big.raw"
	mkdir -p "$S/small-fs"
	set +e
	unshare -m --propagation private bash -c '
		set -e
		mount -t tmpfs -o size=1M tmpfs "$1"
		head -c 300000 /dev/urandom >"$1/dst.raw"
		before=$(sha256sum <"$1/dst.raw")
		if "$2" img convert -q -O raw "$3" "$1/dst.raw" 2>"$4"; then
			echo "convert succeeded"; exit 1
		fi
		[ "$(sha256sum <"$1/dst.raw")" = "$before" ] || { echo "DST changed"; exit 1; }
		[ "$(ls -A "$1")" = dst.raw ] || { echo "left: $(ls -A "$1" | tr "\n" " ")"; exit 1; }
	' enospc "$S/small-fs" "$RINGVM" "$S/cv-big.raw" "$S/err" >"$S/out" 2>&1
	st=$?
	set -e
	if [ "$st" = 0 ] && grep -q 'No space left' "$S/err"; then
		pass img-cli/convert-enospc-dst-intact
	else
		fail img-cli/convert-enospc-dst-intact "$(cat "$S/out") $(head -c 200 "$S/err")"
	fi
	rmdir "$S/small-fs"
else
	skip img-cli/convert-enospc-dst-intact "needs root and unshare -m for a small tmpfs"
fi

# resize raw
"$RINGVM" img resize -q "$S/b.raw" +1M && [ "$(stat -c %s "$S/b.raw")" = $((65 << 20)) ] &&
	pass img-cli/resize-raw-grow || fail img-cli/resize-raw-grow "size $(stat -c %s "$S/b.raw")"
bad img-cli/resize-shrink-refused 'use --shrink' "$RINGVM" img resize "$S/b.raw" 32M
[ "$(stat -c %s "$S/b.raw")" = $((65 << 20)) ] && pass img-cli/resize-shrink-refused-intact ||
	fail img-cli/resize-shrink-refused-intact "size changed"
"$RINGVM" img resize -q --shrink "$S/b.raw" -1M && [ "$(sum "$S/b.raw")" = "$want" ] &&
	pass img-cli/resize-raw-shrink || fail img-cli/resize-raw-shrink "-1M shrink did not restore the image"
bad img-cli/resize-no-size 'need FILE and SIZE' "$RINGVM" img resize "$S/b.raw"
bad img-cli/resize-below-zero 'cannot shrink' "$RINGVM" img resize --shrink "$S/b.raw" -- -1G

# map raw
"$RINGVM" img map --output=json "$S/a.raw" >"$S/out"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert sum(e["length"] for e in m) == 64 << 20 and m[0]["start"] == 0' "$S/out" &&
	pass img-cli/map-raw-json || fail img-cli/map-raw-json "$(head -c 200 "$S/out")"

# verbs that need qcow2
bad img-cli/commit-raw 'only qcow2' "$RINGVM" img commit "$S/a.raw"
bad img-cli/snapshot-raw 'only qcow2' "$RINGVM" img snapshot -l "$S/a.raw"
bad img-cli/snapshot-no-action 'one of -l' "$RINGVM" img snapshot "$S/a.raw"
bad img-cli/snapshot-two-actions 'only one of' "$RINGVM" img snapshot -l -c s "$S/a.raw"
bad img-cli/rebase-no-b 'missing -b' "$RINGVM" img rebase "$S/a.raw"
bad img-cli/rebase-raw 'only qcow2' "$RINGVM" img rebase -b "$S/b.raw" "$S/a.raw"
[ "$(sum "$S/a.raw")" = "$want" ] && pass img-cli/raw-untouched || fail img-cli/raw-untouched "a refused verb changed a.raw"

# rebase -u fixes up an overlay whose backing file moved away (the old one
# cannot be opened, which unsafe mode must not need)
"$RINGVM" img create -f qcow2 "$S/rb-base.qcow2" 16M >/dev/null &&
	"$RINGVM" img create -f qcow2 -b rb-base.qcow2 -F qcow2 "$S/rb-ov.qcow2" >/dev/null &&
	mv "$S/rb-base.qcow2" "$S/rb-moved.qcow2"
if "$RINGVM" img rebase -u -b rb-moved.qcow2 -F qcow2 "$S/rb-ov.qcow2" 2>"$S/err" &&
	qemu-img info "$S/rb-ov.qcow2" | grep -q '^backing file: rb-moved.qcow2' &&
	qemu-img check -q "$S/rb-ov.qcow2"; then
	pass img-cli/rebase-unsafe-missing-old
else
	fail img-cli/rebase-unsafe-missing-old "$(head -c 200 "$S/err")"
fi
bad img-cli/rebase-unsafe-missing-new 'gone.qcow2' "$RINGVM" img rebase -u -b gone.qcow2 -F qcow2 "$S/rb-ov.qcow2"

# snapshot -a refuses an inconsistent snapshot and leaves the image
# byte-for-byte as it was (qemu-img still finds it clean)
snap_patch() {  # FILE WHAT: corrupt snapshot 1's disk size or L1 table
	python3 - "$1" "$2" <<'PY'
import struct, sys
path, what = sys.argv[1], sys.argv[2]
with open(path, 'r+b') as f:
    h = f.read(72)
    snap = struct.unpack('>Q', h[64:72])[0]
    f.seek(snap)
    l1_off, = struct.unpack('>Q', f.read(8))
    if what == 'size':  # extra data: vm_state_size, then disk_size
        f.seek(snap + 40 + 8)
        f.write(struct.pack('>Q', 1 << 40))
    else:               # L2 table far beyond the end of the file
        f.seek(l1_off)
        f.write(struct.pack('>Q', 1 << 40))
PY
}
for what in size l1; do
	img=$S/snap-$what.qcow2
	rm -f "$img"
	"$RINGVM" img create -q -f qcow2 "$img" 16M &&
		qemu-io -c 'write -P 9 0 64k' "$img" >/dev/null &&
		"$RINGVM" img snapshot -c s1 "$img" &&
		qemu-io -c 'write -P 8 0 64k' "$img" >/dev/null &&
		snap_patch "$img" "$what" || fail img-cli/snapshot-apply-bad-$what "setup failed"
	before=$(sum "$img")
	if [ $what = size ]; then re='larger than its L1 table'; else re='L2 table offset'; fi
	bad img-cli/snapshot-apply-bad-$what "snapshot \`s1\`.*$re.*not applied" "$RINGVM" img snapshot -a s1 "$img"
	# (the planted bad L2 offset is an error for qemu-img check too)
	if [ "$(sum "$img")" = "$before" ] && "$RINGVM" img info "$img" >/dev/null &&
		{ [ $what = l1 ] || qemu-img check -q "$img"; }; then
		pass img-cli/snapshot-apply-bad-$what-untouched
	else
		fail img-cli/snapshot-apply-bad-$what-untouched "the image changed or no longer checks clean"
	fi
done

# a full disk: writes that fail with ENOSPC give back the clusters they
# took, so check (ours and qemu-img's) finds no leaked clusters.  The
# small tmpfs lives in a private mount namespace that ends with the shell.
if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
	skip img-cli/full-disk-no-leaks "needs root and unshare (a private tmpfs)"
else
	mkdir -p "$S/full"
	head -c 8M /dev/urandom >"$S/rnd.raw"
	# shellcheck disable=SC2016
	unshare -m sh -c '
		set -u
		R=$1 D=$2 SRC=$3 OUT=$4
		mount -t tmpfs -o size=2M tmpfs "$D" || exit 10
		"$R" img create -q -f qcow2 -o cluster_size=4096 "$D/x.qcow2" 64M || exit 11
		fails=0
		for i in 1 2 3 4 5 6; do
			"$R" img convert -n -O qcow2 "$SRC" "$D/x.qcow2" 2>/dev/null || fails=$((fails + 1))
		done
		[ "$fails" -eq 6 ] || exit 12
		"$R" img check "$D/x.qcow2" >"$OUT.ours" 2>&1; echo $? >"$OUT.ours.rc"
		qemu-img check "$D/x.qcow2" >"$OUT.qemu" 2>&1; echo $? >"$OUT.qemu.rc"
	' sh "$RINGVM" "$S/full" "$S/rnd.raw" "$S/full-check" && st=0 || st=$?
	if [ "$st" -ne 0 ]; then
		fail img-cli/full-disk-no-leaks "setup in the private tmpfs failed (step $st)"
	elif [ "$(cat "$S/full-check.ours.rc")" != 0 ] || [ "$(cat "$S/full-check.qemu.rc")" != 0 ]; then
		fail img-cli/full-disk-no-leaks "$(grep -hiE 'leak|error' "$S/full-check.ours" "$S/full-check.qemu" | head -3 | tr '\n' ' ')"
	else
		pass img-cli/full-disk-no-leaks
	fi
fi
