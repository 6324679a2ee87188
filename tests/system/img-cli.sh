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
