#!/bin/bash
# `ringvm img` and qemu-img on the same qcow2 images (no guest):
# - every image ringvm creates or modifies passes `qemu-img check`;
# - `qemu-img info` reads the virtual size, backing chain and snapshots
#   ringvm wrote, and ringvm reads what qemu-img wrote;
# - images written by qemu-img/qemu-io (data, zero clusters, compressed
#   clusters, snapshots, v2, 4K clusters, backing chains) have the same guest
#   view through `ringvm img convert -O raw` as through `qemu-img convert`;
# - convert round-trips raw <-> qcow2 byte-exactly;
# - commit, rebase, resize, snapshot, map, check/repair do what qemu-img's do.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

need_ringvm img-interop/tools
for tool in qemu-img qemu-io python3 cmp sha256sum; do
	command -v "$tool" >/dev/null || { fail img-interop/tools "$tool not installed (qemu-utils is a dependency)"; exit 1; }
done
S=$scratch
R() { "$RINGVM" img "$@"; }
sum() { sha256sum <"$1" | cut -d' ' -f1; }
# qio IMG CMD...: qemu-io -c CMD... on IMG (format probed).
qio() {
	local img=$1 a=()
	shift
	for c in "$@"; do a+=(-c "$c"); done
	qemu-io "${a[@]}" "$img" >/dev/null
}
# qclean NAME IMG: qemu-img check exits 0.
qclean() {
	local out
	if out=$(qemu-img check "$2" 2>&1); then pass "$1"; else fail "$1" "qemu-img check: $(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}
# rclean NAME IMG: ringvm img check exits 0.
rclean() {
	local out
	if out=$(R check "$2" 2>&1); then pass "$1"; else fail "$1" "ringvm img check (status $?): $(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}
# same_view NAME IMG: ringvm and qemu-img convert IMG to the same raw bytes.
same_view() {
	local a=$S/view.rv b=$S/view.qemu
	rm -f "$a" "$b"
	if ! R convert -q -O raw "$2" "$a" 2>"$S/err"; then
		fail "$1" "ringvm img convert failed: $(cat "$S/err")"; return
	fi
	qemu-img convert -O raw "$2" "$b"
	if cmp -s "$a" "$b"; then pass "$1"; else fail "$1" "guest views differ: $(cmp "$a" "$b" 2>&1 | head -n1)"; fi
}
# qinfo IMG EXPR: evaluate a python expression on qemu-img info's JSON (d).
qinfo() { qemu-img info --output=json "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }
rinfo() { R info --output=json "$1" | python3 -c "import json,sys; d=json.load(sys.stdin); print($2)"; }
expect() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi; }

# --- create: qemu-img reads what ringvm made --------------------------------
R create -q -f qcow2 "$S/base.qcow2" 4G
qclean img-interop/create-qemu-check "$S/base.qcow2"
expect img-interop/create-qemu-info "$(qinfo "$S/base.qcow2" 'd["format"], d["virtual-size"], d["cluster-size"], d["format-specific"]["data"]["compat"]')" \
	"qcow2 4294967296 65536 1.1"
R create -q -f qcow2 -o cluster_size=4K,compat=0.10 "$S/v2.qcow2" 100M
qclean img-interop/create-v2-4k-qemu-check "$S/v2.qcow2"
expect img-interop/create-v2-4k-qemu-info "$(qinfo "$S/v2.qcow2" 'd["virtual-size"], d["cluster-size"], d["format-specific"]["data"]["compat"]')" \
	"104857600 4096 0.10"
R create -q -f qcow2 -o lazy_refcounts=on,cluster_size=2M "$S/lazy.qcow2" 1G
expect img-interop/create-lazy-2m-qemu-info "$(qinfo "$S/lazy.qcow2" 'd["cluster-size"], d["format-specific"]["data"]["lazy-refcounts"]')" "2097152 True"
qclean img-interop/create-lazy-2m-qemu-check "$S/lazy.qcow2"
R create -q -f qcow2 -b base.qcow2 -F qcow2 "$S/vm1.qcow2"
qclean img-interop/overlay-qemu-check "$S/vm1.qcow2"
expect img-interop/overlay-qemu-info "$(qinfo "$S/vm1.qcow2" 'd["virtual-size"], d["backing-filename"], d["backing-filename-format"]')" \
	"4294967296 base.qcow2 qcow2"
expect img-interop/overlay-chain-qemu "$(qemu-img info --backing-chain --output=json "$S/vm1.qcow2" |
	python3 -c 'import json,sys; print(" ".join(i["filename"].split("/")[-1] for i in json.load(sys.stdin)))')" "vm1.qcow2 base.qcow2"
R create -q -f qcow2 -b base.qcow2 "$S/probed.qcow2" 1G
expect img-interop/overlay-probed-fmt "$(qinfo "$S/probed.qcow2" 'd["virtual-size"], d.get("backing-filename-format")')" "1073741824 qcow2"

# --- info: ringvm reads what qemu-img made ----------------------------------
qemu-img create -q -f qcow2 "$S/qbase.qcow2" 64M
qemu-img create -q -f qcow2 -b qbase.qcow2 -F qcow2 "$S/qtop.qcow2"
expect img-interop/info-qemu-made "$(rinfo "$S/qtop.qcow2" 'd["format"], d["virtual-size"], d["cluster-size"], d["backing-filename"], d["backing-filename-format"]')" \
	"qcow2 67108864 65536 qbase.qcow2 qcow2"
expect img-interop/info-backing-chain "$(R info --backing-chain --json "$S/qtop.qcow2" |
	python3 -c 'import json,sys; print(" ".join("%s:%s" % (i["filename"].split("/")[-1], i["format"]) for i in json.load(sys.stdin)))')" \
	"qtop.qcow2:qcow2 qbase.qcow2:qcow2"
R info --backing-chain "$S/qtop.qcow2" >"$S/out"
grep -q '^backing file: qbase.qcow2' "$S/out" && [ "$(grep -c '^image: ' "$S/out")" = 2 ] &&
	pass img-interop/info-human-chain || fail img-interop/info-human-chain "$(tr '\n' '|' <"$S/out" | head -c 300)"

# --- guest view of images qemu wrote ----------------------------------------
qio "$S/qbase.qcow2" "write -P 0x11 0 1M" "write -P 0x22 3M 64k" "write -P 0x33 10M 4k" "write -P 0x44 63M 1M"
qio "$S/qtop.qcow2" "write -P 0x55 512k 1M" "write -z 3M 32k" "write -P 0x66 20M 128k" "discard 10M 64k"
same_view img-interop/view-qemu-base "$S/qbase.qcow2"
same_view img-interop/view-qemu-overlay "$S/qtop.qcow2"
qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4096 "$S/qv2.qcow2" 16M
qio "$S/qv2.qcow2" "write -P 0x77 4096 100k" "write -P 0x78 8M 8k" "write -z 8M 4k"
same_view img-interop/view-qemu-v2-4k "$S/qv2.qcow2"
python3 - "$S/rnd.raw" <<'EOF'
import random, sys
r = random.Random(7)
size = 24 << 20
with open(sys.argv[1], 'wb') as f:
    f.truncate(size)
    for i in range(60):
        off = r.randrange(0, size - 65536) & ~511
        n = r.choice((512, 4096, 65536, 3000 & ~511))
        f.seek(off)
        # half random, half compressible
        f.write(bytes(r.getrandbits(8) for _ in range(n)) if i % 2 else bytes([i]) * n)
EOF
qemu-img convert -c -O qcow2 "$S/rnd.raw" "$S/qcomp.qcow2"
same_view img-interop/view-qemu-compressed "$S/qcomp.qcow2"
R convert -q -O raw "$S/qcomp.qcow2" "$S/back.raw"
cmp -s "$S/back.raw" "$S/rnd.raw" && pass img-interop/view-qemu-compressed-exact ||
	fail img-interop/view-qemu-compressed-exact "ringvm's view of a compressed image differs from the original"
qemu-img convert -O qcow2 "$S/rnd.raw" "$S/qconv.qcow2"
same_view img-interop/view-qemu-converted "$S/qconv.qcow2"
cp "$S/qconv.qcow2" "$S/qsnap.qcow2"
qemu-img snapshot -c first "$S/qsnap.qcow2"
qio "$S/qsnap.qcow2" "write -P 0x99 0 2M"
qemu-img snapshot -c second "$S/qsnap.qcow2"
same_view img-interop/view-qemu-snapshots "$S/qsnap.qcow2"
R snapshot -l "$S/qsnap.qcow2" >"$S/out"
grep -q ' first ' "$S/out" && grep -q ' second ' "$S/out" && pass img-interop/snapshot-list-qemu-made ||
	fail img-interop/snapshot-list-qemu-made "$(tr '\n' '|' <"$S/out")"
# (up to VM CLOCK: the ICOUNT column needs the snapshots' extra data, which
# ringvm's API does not expose; it prints it empty, as qemu-img does for
# snapshots without one)
if diff <(R snapshot -l "$S/qsnap.qcow2" | cut -c1-68) <(qemu-img snapshot -l "$S/qsnap.qcow2" | cut -c1-68) >"$S/out"; then
	pass img-interop/snapshot-list-same-table
else
	fail img-interop/snapshot-list-same-table "$(tr '\n' '|' <"$S/out" | head -c 300)"
fi
# The human `info` lines qemu-img users read (and scripts grep) are the same.
lines='^(image|file format|virtual size|cluster_size|backing file|backing file format|Snapshot list|ID|1|2|Format specific information|    compat|    lazy refcounts|    refcount bits|    corrupt):'
for img in qtop qsnap; do
	if diff <(R info "$S/$img.qcow2" | grep -E "$lines") <(qemu-img info "$S/$img.qcow2" | grep -E "$lines") >"$S/out"; then
		pass "img-interop/info-human-same-$img"
	else
		fail "img-interop/info-human-same-$img" "$(tr '\n' '|' <"$S/out" | head -c 300)"
	fi
done
expect img-interop/info-snapshots-qemu-made "$(rinfo "$S/qsnap.qcow2" '" ".join(s["name"] for s in d["snapshots"])')" "first second"

# --- convert round trips ------------------------------------------------------
R convert -q -f raw -O qcow2 "$S/rnd.raw" "$S/r.qcow2"
qclean img-interop/convert-to-qcow2-qemu-check "$S/r.qcow2"
if qemu-img compare -q -f raw -F qcow2 "$S/rnd.raw" "$S/r.qcow2"; then pass img-interop/convert-to-qcow2-compare; else fail img-interop/convert-to-qcow2-compare "qemu-img compare: contents differ"; fi
R convert -q -f qcow2 -O raw "$S/r.qcow2" "$S/r.raw"
cmp -s "$S/r.raw" "$S/rnd.raw" && pass img-interop/convert-roundtrip-exact || fail img-interop/convert-roundtrip-exact "raw -> qcow2 -> raw changed bytes"
[ "$(stat -c %s "$S/r.raw")" = "$(stat -c %s "$S/rnd.raw")" ] && pass img-interop/convert-roundtrip-size || fail img-interop/convert-roundtrip-size "size changed"
alloc=$(du -k "$S/r.qcow2" | cut -f1)
[ "$alloc" -lt 8192 ] && pass img-interop/convert-sparse || fail img-interop/convert-sparse "qcow2 of a mostly empty 24M disk uses ${alloc}K"
R convert -q -c -f raw -O qcow2 "$S/rnd.raw" "$S/rc.qcow2"
qclean img-interop/convert-compressed-qemu-check "$S/rc.qcow2"
qemu-img compare -q -f raw -F qcow2 "$S/rnd.raw" "$S/rc.qcow2" && pass img-interop/convert-compressed-compare ||
	fail img-interop/convert-compressed-compare "contents differ"
qemu-img map --output=json "$S/rc.qcow2" | grep -q '"compressed": true' ||
	qemu-img check "$S/rc.qcow2" | grep -q '[1-9][0-9.]*% compressed' &&
	pass img-interop/convert-compressed-is-compressed || fail img-interop/convert-compressed-is-compressed "no compressed clusters"
R convert -q -O qcow2 -o cluster_size=4096 "$S/qsnap.qcow2" "$S/r4k.qcow2"
qclean img-interop/convert-4k-qemu-check "$S/r4k.qcow2"
same_view img-interop/convert-qcow2-to-qcow2 "$S/r4k.qcow2"
qemu-img compare -q "$S/qsnap.qcow2" "$S/r4k.qcow2" && pass img-interop/convert-qcow2-compare || fail img-interop/convert-qcow2-compare "contents differ"
# convert -n writes ringvm data into an existing overlay (allocating writes)
R create -q -f qcow2 -b r.qcow2 -F qcow2 "$S/ov.qcow2"
head -c $((24 << 20)) /dev/urandom >"$S/noise.raw"
R convert -q -n -f raw -O qcow2 "$S/noise.raw" "$S/ov.qcow2"
qclean img-interop/convert-n-qemu-check "$S/ov.qcow2"
qemu-img compare -q -f raw -F qcow2 "$S/noise.raw" "$S/ov.qcow2" && pass img-interop/convert-n-compare || fail img-interop/convert-n-compare "contents differ"
# zeros written over a backing file with data must read as zeros
truncate -s 24M "$S/zeros.raw"
R convert -q -O qcow2 "$S/noise.raw" "$S/noise-base.qcow2"
R create -q -f qcow2 -b noise-base.qcow2 -F qcow2 "$S/zov.qcow2"
R convert -q -n -f raw -O qcow2 "$S/zeros.raw" "$S/zov.qcow2"
qemu-img compare -q -f raw -F qcow2 "$S/zeros.raw" "$S/zov.qcow2" && pass img-interop/convert-n-zeros-over-backing ||
	fail img-interop/convert-n-zeros-over-backing "zeros written over backing data do not read as zeros"
qclean img-interop/convert-n-zeros-qemu-check "$S/zov.qcow2"
bad_out=$(R convert -O raw "$S/ov.qcow2" "$S/r.qcow2" 2>&1) && fail img-interop/convert-onto-backing "convert overwrote the source's backing file" ||
	{ echo "$bad_out" | grep -q 'refusing' && pass img-interop/convert-onto-backing || fail img-interop/convert-onto-backing "$bad_out"; }
qemu-img compare -q -f raw -F qcow2 "$S/rnd.raw" "$S/r.qcow2" && pass img-interop/convert-onto-backing-intact || fail img-interop/convert-onto-backing-intact "backing file changed"

# --- map ------------------------------------------------------------------------
# Same ranges (start, length, depth, present, data, offset) as qemu-img map.
cmpmap() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
def norm(path):
    out = []
    for e in json.load(open(path)):
        k = (e["depth"], e["present"], e["data"], e.get("offset") is not None)
        if out and out[-1][2] == k and out[-1][0] + out[-1][1] == e["start"] and \
           (not k[3] or out[-1][3] + out[-1][1] == e["offset"]):
            out[-1][1] += e["length"]
        else:
            out.append([e["start"], e["length"], k, e.get("offset")])
    return [(a, b, c, d) for a, b, c, d in out]
a, b = norm(sys.argv[1]), norm(sys.argv[2])
if a != b:
    for x, y in zip(a, b):
        if x != y:
            print("first difference: ringvm %s qemu %s" % (x, y)); break
    else:
        print("lengths differ: %d vs %d entries" % (len(a), len(b)))
    sys.exit(1)
EOF
}
for img in qtop qbase qcomp; do
	R map --json "$S/$img.qcow2" >"$S/map.rv" && qemu-img map --output=json "$S/$img.qcow2" >"$S/map.qemu"
	if out=$(cmpmap "$S/map.rv" "$S/map.qemu"); then pass "img-interop/map-$img"; else fail "img-interop/map-$img" "$out"; fi
done
R map "$S/qtop.qcow2" >"$S/out"
grep -qE '^0x80000 +0x100000 +0x[0-9a-f]+ +.*qtop.qcow2$' "$S/out" && grep -q 'qbase.qcow2$' "$S/out" &&
	pass img-interop/map-human || fail img-interop/map-human "$(tr '\n' '|' <"$S/out" | head -c 400)"

# --- snapshots (ringvm) ---------------------------------------------------------
cp "$S/r.qcow2" "$S/s.qcow2"
qemu-img convert -O raw "$S/s.qcow2" "$S/s.raw"; before=$(sum "$S/s.raw")
R snapshot -c snap1 "$S/s.qcow2"
qclean img-interop/snapshot-create-qemu-check "$S/s.qcow2"
qemu-img snapshot -l "$S/s.qcow2" | grep -q ' snap1 ' && pass img-interop/snapshot-create-qemu-list || fail img-interop/snapshot-create-qemu-list "qemu-img snapshot -l does not show snap1"
out=$(R snapshot -c snap1 "$S/s.qcow2" 2>&1) && fail img-interop/snapshot-duplicate "a second snap1 was created" || pass img-interop/snapshot-duplicate
R convert -q -n -f raw -O qcow2 "$S/noise.raw" "$S/s.qcow2"
qemu-img compare -q -f raw -F qcow2 "$S/noise.raw" "$S/s.qcow2" && pass img-interop/snapshot-write-after ||
	fail img-interop/snapshot-write-after "writes after the snapshot are not visible"
qclean img-interop/snapshot-write-after-qemu-check "$S/s.qcow2"
R snapshot -a snap1 "$S/s.qcow2"
rm -f "$S/s.raw"; qemu-img convert -O raw "$S/s.qcow2" "$S/s.raw"; after=$(sum "$S/s.raw")
expect img-interop/snapshot-apply "$after" "$before"
qclean img-interop/snapshot-apply-qemu-check "$S/s.qcow2"
R snapshot -d snap1 "$S/s.qcow2"
qclean img-interop/snapshot-delete-qemu-check "$S/s.qcow2"
expect img-interop/snapshot-delete-qemu-list "$(qemu-img snapshot -l "$S/s.qcow2" | wc -l)" 0
out=$(R snapshot -a nosuch "$S/s.qcow2" 2>&1) && fail img-interop/snapshot-apply-missing "applying a missing snapshot succeeded" ||
	{ [ "$(echo "$out" | wc -l)" = 1 ] && pass img-interop/snapshot-apply-missing || fail img-interop/snapshot-apply-missing "$out"; }
# apply/delete a snapshot qemu made
R snapshot -a first "$S/qsnap.qcow2"
qemu-img compare -q -F qcow2 "$S/qconv.qcow2" "$S/qsnap.qcow2" && pass img-interop/snapshot-apply-qemu-made ||
	fail img-interop/snapshot-apply-qemu-made "contents differ from the state at 'first'"
R snapshot -d second "$S/qsnap.qcow2"
qclean img-interop/snapshot-delete-qemu-made "$S/qsnap.qcow2"

# --- resize -----------------------------------------------------------------------
cp "$S/r.qcow2" "$S/rs.qcow2"
R resize -q "$S/rs.qcow2" +1G
expect img-interop/resize-grow-qemu-info "$(qinfo "$S/rs.qcow2" 'd["virtual-size"]')" $(((24 << 20) + (1 << 30)))
qclean img-interop/resize-grow-qemu-check "$S/rs.qcow2"
qemu-img convert -O raw "$S/rs.qcow2" "$S/rs.raw"
cmp -s -n $((24 << 20)) "$S/rs.raw" "$S/rnd.raw" && pass img-interop/resize-grow-data || fail img-interop/resize-grow-data "data changed"
R resize -q "$S/rs.qcow2" 64G
qclean img-interop/resize-grow-l1-qemu-check "$S/rs.qcow2"
out=$(R resize "$S/rs.qcow2" 1G 2>&1) && fail img-interop/resize-shrink-refused "shrink without --shrink succeeded" || pass img-interop/resize-shrink-refused
R resize -q --shrink "$S/rs.qcow2" 1G
expect img-interop/resize-shrink-empty-tail "$(qinfo "$S/rs.qcow2" 'd["virtual-size"]')" $((1 << 30))
qclean img-interop/resize-shrink-qemu-check "$S/rs.qcow2"

# --- commit ---------------------------------------------------------------------------
cp "$S/r.qcow2" "$S/cbase.qcow2"
R create -q -f qcow2 -b cbase.qcow2 -F qcow2 "$S/ctop.qcow2"
qio "$S/ctop.qcow2" "write -P 0xc1 0 1M" "write -P 0xc2 5M 4k" "write -z 6M 64k" "write -P 0xc3 $(((24 << 20) - 65536)) 64k"
qemu-img convert -O raw "$S/ctop.qcow2" "$S/cwant.raw"
if R commit -q "$S/ctop.qcow2"; then pass img-interop/commit; else fail img-interop/commit "exit status $?"; fi
qemu-img compare -q -f raw -F qcow2 "$S/cwant.raw" "$S/cbase.qcow2" && pass img-interop/commit-base-content ||
	fail img-interop/commit-base-content "the base does not hold the overlay's view"
qemu-img compare -q -f raw -F qcow2 "$S/cwant.raw" "$S/ctop.qcow2" && pass img-interop/commit-overlay-content ||
	fail img-interop/commit-overlay-content "the overlay's view changed"
qclean img-interop/commit-base-qemu-check "$S/cbase.qcow2"
qclean img-interop/commit-overlay-qemu-check "$S/ctop.qcow2"
expect img-interop/commit-overlay-emptied "$(qemu-img map --output=json "$S/ctop.qcow2" | python3 -c 'import json,sys; print(sum(e["length"] for e in json.load(sys.stdin) if e["depth"] == 0 and e["present"]))')" 0
out=$(R commit "$S/cbase.qcow2" 2>&1) && fail img-interop/commit-no-backing "commit without a backing file succeeded" ||
	{ echo "$out" | grep -q 'no backing file' && pass img-interop/commit-no-backing || fail img-interop/commit-no-backing "$out"; }
# commit into a raw base, larger overlay
cp "$S/rnd.raw" "$S/craw.raw"
R create -q -f qcow2 -b craw.raw -F raw "$S/ctop2.qcow2" 32M
qio "$S/ctop2.qcow2" "write -P 0xd1 1M 64k" "write -P 0xd2 30M 1M"
qemu-img convert -O raw "$S/ctop2.qcow2" "$S/cwant2.raw"
R commit -q "$S/ctop2.qcow2"
cmp -s "$S/craw.raw" "$S/cwant2.raw" && pass img-interop/commit-raw-base-grows || fail img-interop/commit-raw-base-grows "raw base differs ($(stat -c %s "$S/craw.raw") bytes)"

# --- rebase -------------------------------------------------------------------------
cp "$S/r.qcow2" "$S/rb0.qcow2"
R create -q -f qcow2 -b rb0.qcow2 -F qcow2 "$S/rb1.qcow2"
qio "$S/rb1.qcow2" "write -P 0xe1 0 2M" "write -P 0xe2 9M 64k"
R create -q -f qcow2 -b rb1.qcow2 -F qcow2 "$S/rb2.qcow2"
qio "$S/rb2.qcow2" "write -P 0xe3 1M 64k"
qemu-img convert -O raw "$S/rb2.qcow2" "$S/rbwant.raw"
R rebase -b rb0.qcow2 -F qcow2 "$S/rb2.qcow2"
expect img-interop/rebase-qemu-info "$(qinfo "$S/rb2.qcow2" 'd["backing-filename"], d["backing-filename-format"]')" "rb0.qcow2 qcow2"
qemu-img compare -q -f raw -F qcow2 "$S/rbwant.raw" "$S/rb2.qcow2" && pass img-interop/rebase-safe-content ||
	fail img-interop/rebase-safe-content "the guest view changed"
qclean img-interop/rebase-qemu-check "$S/rb2.qcow2"
cp "$S/rb0.qcow2" "$S/rb0copy.qcow2"
R rebase -u -b rb0copy.qcow2 -F qcow2 "$S/rb2.qcow2"
expect img-interop/rebase-unsafe "$(qinfo "$S/rb2.qcow2" 'd["backing-filename"]')" rb0copy.qcow2
qemu-img compare -q -f raw -F qcow2 "$S/rbwant.raw" "$S/rb2.qcow2" && pass img-interop/rebase-unsafe-content ||
	fail img-interop/rebase-unsafe-content "the guest view changed"
sum_before=$(sum "$S/rb2.qcow2")
out=$(R rebase -b nonexistent.qcow2 "$S/rb2.qcow2" 2>&1) && fail img-interop/rebase-missing-backing "rebase onto a missing file succeeded" ||
	{ [ "$(echo "$out" | wc -l)" = 1 ] && [ "$(sum "$S/rb2.qcow2")" = "$sum_before" ] && pass img-interop/rebase-missing-backing ||
		fail img-interop/rebase-missing-backing "image changed or messages: $out"; }
out=$(R rebase -u -b nonexistent.qcow2 "$S/rb2.qcow2" 2>&1) && fail img-interop/rebase-unsafe-missing-backing "rebase -u onto a missing file succeeded" ||
	pass img-interop/rebase-unsafe-missing-backing
R rebase -b "" "$S/rb2.qcow2"
expect img-interop/rebase-remove-backing "$(qinfo "$S/rb2.qcow2" 'd.get("backing-filename", "none")')" none
qemu-img compare -q -f raw -F qcow2 "$S/rbwant.raw" "$S/rb2.qcow2" && pass img-interop/rebase-remove-content ||
	fail img-interop/rebase-remove-content "flattening changed the guest view"
qclean img-interop/rebase-remove-qemu-check "$S/rb2.qcow2"

# --- check: leaks, corruptions, exit codes, repair --------------------------------------
# inject KIND IMG: "leak" drops the first L2 entry that maps data (the data
# cluster stays referenced by nothing); "corrupt" sets the refcount of the
# first L2 table to 0.
inject() {
	python3 - "$1" "$2" <<'EOF'
import struct, sys
kind, path = sys.argv[1], sys.argv[2]
f = open(path, 'r+b')
h = f.read(72)
cbits = struct.unpack('>I', h[20:24])[0]; cs = 1 << cbits
l1_size = struct.unpack('>I', h[36:40])[0]; l1_off = struct.unpack('>Q', h[40:48])[0]
rt_off = struct.unpack('>Q', h[48:56])[0]
f.seek(l1_off); l1 = struct.unpack('>%dQ' % l1_size, f.read(8 * l1_size))
mask = 0x00fffffffffffe00
l2 = next(e & mask for e in l1 if e & mask)
if kind == 'leak':
    f.seek(l2)
    ents = struct.unpack('>%dQ' % (cs // 8), f.read(cs))
    i = next(i for i, e in enumerate(ents) if e & mask)
    f.seek(l2 + 8 * i); f.write(b'\0' * 8)
else:
    idx = l2 // cs
    per = cs // 2
    f.seek(rt_off + 8 * (idx // per)); rb = struct.unpack('>Q', f.read(8))[0] & ~(cs - 1)
    f.seek(rb + 2 * (idx % per)); f.write(b'\0\0')
f.close()
EOF
}
# status CMD...: the exit status.
status() { set +e; "$@" >/dev/null 2>&1; echo $?; set -e; }
cp "$S/r.qcow2" "$S/leak.qcow2"
inject leak "$S/leak.qcow2"
expect img-interop/check-leak-qemu-3 "$(status qemu-img check "$S/leak.qcow2")" 3
expect img-interop/check-leak-ringvm-3 "$(status R check "$S/leak.qcow2")" 3
R check --output=json "$S/leak.qcow2" >"$S/out" 2>/dev/null || true
expect img-interop/check-leak-json "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("leaks"))' "$S/out")" 1
expect img-interop/check-repair-leaks "$(status R check -r leaks "$S/leak.qcow2")" 0
qclean img-interop/check-repair-leaks-qemu-check "$S/leak.qcow2"
cp "$S/r.qcow2" "$S/corrupt.qcow2"
inject corrupt "$S/corrupt.qcow2"
expect img-interop/check-corrupt-qemu-2 "$(status qemu-img check "$S/corrupt.qcow2")" 2
expect img-interop/check-corrupt-ringvm-2 "$(status R check "$S/corrupt.qcow2")" 2
expect img-interop/check-corrupt-leaks-only-2 "$(status R check -r leaks "$S/corrupt.qcow2")" 2
expect img-interop/check-repair-all "$(status R check -r all "$S/corrupt.qcow2")" 0
qclean img-interop/check-repair-all-qemu-check "$S/corrupt.qcow2"
qemu-img compare -q -f raw -F qcow2 "$S/rnd.raw" "$S/corrupt.qcow2" && pass img-interop/check-repair-all-data ||
	fail img-interop/check-repair-all-data "repair changed the guest view"
rclean img-interop/check-ringvm-clean-qemu-made "$S/qsnap.qcow2"
rclean img-interop/check-ringvm-clean-compressed "$S/qcomp.qcow2"
