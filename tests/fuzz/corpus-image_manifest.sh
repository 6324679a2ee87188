#!/bin/sh
# Seed corpus for fuzz_image_manifest: the index, manifests and config of
# the test image (tests/system/lib/busybox-image.py, built offline from the
# busybox rootfs) and a few references.
set -e
out=$1
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rootfs=$("$here/../system/lib/busybox-rootfs.sh") || exit 0
"$here/../system/lib/busybox-image.py" "$rootfs" "$tmp" >/dev/null
cp "$tmp/layout/index.json" "$out/index.json"
for b in "$tmp"/layout/blobs/sha256/*; do
	# the JSON documents only, not the layers
	[ "$(head -c 1 "$b")" = "{" ] && cp "$b" "$out/$(basename "$b").json"
done
printf 'busybox' >"$out/ref1"
printf '127.0.0.1:5000/a/b:v1@sha256:%064d' 0 >"$out/ref2"
printf 'Bearer realm="https://auth.example/token",service="registry",scope="repository:a/b:pull"' >"$out/challenge"
