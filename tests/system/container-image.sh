#!/bin/bash
# `ringvm container load | images | tag | rmi`: the image store with
# archives built offline from the busybox rootfs (lib/busybox-image.py):
# docker-archive and OCI layout (image index, gzip layers, whiteouts,
# opaque directories), layers shared between images, digest checks (a
# corrupted blob or layer is refused), hostile layers that try to write
# outside the store (lib/evil-image.py) and bad input (exit 125, one line).
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/system/lib/container.sh
. "$(dirname "$0")/lib/container.sh"

need_ringvm image/load
busybox_store image/rootfs
id=$image_id
ctr() { "$RINGVM" container "$@"; }

out=$(ctr load -i "$scratch/img/docker.tar" 2>&1)
check image/load-docker-archive "$out" [ "$out" = "Loaded image: docker.io/library/busybox:latest" ]
ctr images >"$scratch/images"
head -1 "$scratch/images" | grep -qE '^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$' &&
	grep -qE "^busybox +latest +${id:0:12} +[0-9]+ years ago +[0-9.]+MB$" "$scratch/images" &&
	pass image/images-columns || fail image/images-columns "$(tr '\n' '|' <"$scratch/images")"
check image/images-quiet "$(ctr images -q)" [ "$(ctr images -q)" = "${id:0:12}" ]

# Layers: unpacked once each, whiteout and opaque directory in overlay form.
nl=$(find "$store/layers" -mindepth 1 -maxdepth 1 -type d | wc -l)
check image/two-layers "$nl layer directories" [ "$nl" = 2 ]
wh=$(find "$store/layers" -path '*/etc/motd' -type c | wc -l)
check image/whiteout-is-0-0-chardev "$wh whiteouts" [ "$wh" = 1 ]
opq=$(python3 - "$store" <<'PY'
import glob, os, sys
n = 0
for d in glob.glob(sys.argv[1] + "/layers/*/opt/a"):
    try:
        n += os.getxattr(d, "trusted.overlay.opaque") == b"y"
    except OSError:
        pass
print(n)
PY
)
check image/opaque-dir-xattr "$opq opaque" [ "$opq" = 1 ]
check image/no-tmp-left "tmp: $(ls -A "$store/tmp")" [ -z "$(ls -A "$store/tmp")" ]

# The OCI layout of the same image (gzip layers, index with an arm64
# decoy): same image id, layers shared (nothing unpacked again).
out=$(ctr load -i "$scratch/img/oci.tar" 2>&1)
check image/load-oci-layout "$out" [ "$out" = "Loaded image: docker.io/library/busybox:latest" ]
nl=$(find "$store/layers" -mindepth 1 -maxdepth 1 -type d | wc -l)
check image/layers-shared "$nl layer directories" [ "$nl" = 2 ]
check image/one-image "$(ctr images -q | tr '\n' ' ')" [ "$(ctr images -q | wc -l)" = 1 ]

# zstd layers (an OCI layout without an index): the same diff_ids, so the
# same image; unpacked into a fresh store to prove the zstd path ran.
if [ -e "$scratch/img/oci-zstd.tar" ]; then
	out=$(RINGVM_CONTAINER_ROOT=$scratch/zstore ctr load -i "$scratch/img/oci-zstd.tar" 2>&1)
	check image/load-zstd "$out" [ "$out" = "Loaded image: docker.io/library/busybox:latest" ]
	zl=$(cat "$scratch"/zstore/layers/*/etc/layer2 2>/dev/null || true)
	check image/zstd-layer-content "layer2: '$zl'" [ "$zl" = "layer two" ]
	zid=$(RINGVM_CONTAINER_ROOT=$scratch/zstore ctr images -q)
	check image/zstd-same-image "id $zid" [ "$zid" = "${id:0:12}" ]
	rm -rf "$scratch/zstore"
else
	skip image/load-zstd "the zstd program is not installed"
fi

# tag / rmi
ctr tag busybox localhost:5000/my/bb:v1
grep_img() { ctr images | grep -qE "$1"; }
check image/tag "$(ctr images | tr '\n' '|')" grep_img "^localhost:5000/my/bb +v1 +${id:0:12}"
out=$(ctr rmi localhost:5000/my/bb:v1)
check image/rmi-untags-one-name "$out" [ "$out" = "Untagged: localhost:5000/my/bb:v1" ]
check image/rmi-kept-image "$(ctr images -q)" [ "$(ctr images -q)" = "${id:0:12}" ]
ctr tag "${id:0:8}" other:x
refused125 image/rmi-id-with-two-names "has 2 names" ctr rmi "${id:0:12}"
out=$(ctr rmi -f "${id:0:12}" | tail -1)
check image/rmi-deletes "$out" [ "$out" = "Deleted: sha256:$id" ]
left=$(ls -A "$store/blobs/sha256" "$store/layers" | grep -c '^[0-9a-f]\{64\}' || true)
check image/rmi-collects-blobs-and-layers "$left left" [ "$left" = 0 ]
check image/images-empty "$(ctr images | wc -l) lines" [ "$(ctr images | wc -l)" = 1 ]

# Corruption: a blob changed on disk is refused when used; a layer whose
# content does not match the config's diff_id is refused at load.
ctr load -q -i "$scratch/img/docker.tar"
printf 'x' >>"$store/blobs/sha256/$id"
refused125 image/corrupted-blob-refused "blob sha256:${id:0:12} is corrupted" ctr run --rm busybox /bin/true
ctr rmi busybox >/dev/null
python3 - "$scratch/img/docker.tar" "$scratch/bad-layer.tar" <<'PY'
import sys, tarfile, io
src, dst = sys.argv[1:]
with tarfile.open(src) as a, tarfile.open(dst, "w") as b:
    for m in a.getmembers():
        data = a.extractfile(m).read() if m.isfile() else None
        if m.name.endswith("layer.tar") and len(data) > 4096:
            # flip one byte in the middle: inside busybox's data
            h = len(data) // 2
            data = data[:h] + bytes([data[h] ^ 1]) + data[h + 1:]
        b.addfile(m, io.BytesIO(data) if data is not None else None)
PY
refused125 image/corrupted-layer-refused "hashes to sha256:.*the image config says" ctr load -i "$scratch/bad-layer.tar"
python3 - "$scratch/img/oci.tar" "$scratch/bad-oci.tar" <<'PY'
import sys, tarfile, io
src, dst = sys.argv[1:]
with tarfile.open(src) as a, tarfile.open(dst, "w") as b:
    for m in a.getmembers():
        data = a.extractfile(m).read() if m.isfile() else None
        if m.name.startswith("blobs/sha256/") and m.size > 4096:
            data = data[:-1] + bytes([data[-1] ^ 1])
        b.addfile(m, io.BytesIO(data) if data is not None else None)
PY
refused125 image/oci-blob-digest-mismatch "digest mismatch" ctr load -i "$scratch/bad-oci.tar"
left=$(find "$store/blobs/sha256" "$store/layers" "$store/tmp" -mindepth 1 -maxdepth 1)
check image/failed-loads-leave-nothing "left: $left" [ -z "$left" ]

# Hostile layers: nothing may appear outside the store.
target=$scratch/target
mkdir -p "$target"
nlink=$(stat -c %h /etc/passwd)
kinds="dotdot absolute symlink-dir symlink-rel hardlink-abs hardlink-up linkname-dotdot bad-checksum truncated zstd"
command -v zstd >/dev/null && kinds="$kinds zstd-truncated zstd-bomb"
for k in $kinds; do
	tests/system/lib/evil-image.py "$scratch/evil.tar" "$k" "$target"
	case $k in
	dotdot|linkname-dotdot|hardlink-up) re="path with \`\.\.\`" ;;
	absolute|hardlink-abs) re="absolute path" ;;
	symlink-*) re="a parent is a symlink" ;;
	bad-checksum) re="checksum mismatch" ;;
	truncated) re="truncated archive" ;;
	zstd) re="zstd: (Unknown frame descriptor|Data corruption)" ;;
	zstd-truncated) re="zstd: truncated stream" ;;
	zstd-bomb) re="exceeds [0-9]+ bytes .*decompression bomb" ;;
	esac
	refused125 "image/evil-$k" "$re" ctr load -i "$scratch/evil.tar"
done
tests/system/lib/evil-image.py "$scratch/evil.tar" hardlink-sym "$target"
ctr load -q -i "$scratch/evil.tar"
lay=$(ls -d "$store"/layers/*/ | head -1)
[ -L "$lay/h" ] && [ "$(stat -c %h /etc/passwd)" = "$nlink" ] &&
	pass image/hardlink-to-symlink-links-the-symlink ||
	fail image/hardlink-to-symlink-links-the-symlink "h: $(ls -la "$lay" | tr '\n' '|')"
check image/evil-wrote-nothing-outside "target: $(ls -A "$target")" [ -z "$(ls -A "$target")" ]
check image/passwd-untouched "nlink $(stat -c %h /etc/passwd) was $nlink" [ "$(stat -c %h /etc/passwd)" = "$nlink" ]

# Bad input: one line, status 125.
refused125 image/load-not-a-tar "not a tar archive" ctr load -i "$rootfs/bin/busybox"
head -c 100 "$scratch/img/docker.tar" >"$scratch/short.tar"
refused125 image/load-truncated "truncated archive" ctr load -i "$scratch/short.tar"
refused125 image/load-missing-file "No such file" ctr load -i "$scratch/none.tar"
tar -C "$scratch/img" -cf "$scratch/empty.tar" --files-from /dev/null
refused125 image/load-no-manifest "neither a docker-archive" ctr load -i "$scratch/empty.tar"
refused125 image/bad-reference "invalid reference format" ctr rmi 'Upper/Case'
refused125 image/unknown-image "image .nosuch. not known" ctr rmi nosuch
refused125 image/tag-unknown "image .nosuch. not known" ctr tag nosuch x:y
refused125 image/tag-bad-target "invalid reference format" ctr tag evil:hardlink-sym 'x:bad tag'
refused125 image/unknown-verb "unknown command .frob." ctr frob
refused125 image/images-bad-option "unknown option" ctr images --bogus
