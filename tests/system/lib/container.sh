# shellcheck shell=bash
# Shared set-up for tests/system/container-*.sh (sourced after common.sh):
# the busybox image in a private store, clean-up of what a failing test
# leaves, and the docker-style bad-input check.

# cond 'A && B': a compound condition for check (which runs one command).
cond() { eval "$1"; }

# need_root NAME WHY: SKIP NAME and exit unless running as root.
need_root() {
	if [ "$(id -u)" != 0 ]; then
		skip "$1" "needs root ($2)"
		exit 0
	fi
}

# busybox_rootfs NAME: sets rootfs to the cached busybox rootfs; FAIL NAME
# and exit when it cannot be built.
busybox_rootfs() {
	if ! rootfs=$(tests/system/lib/busybox-rootfs.sh); then
		fail "$1" "cannot build the busybox rootfs"
		exit 1
	fi
}

# busybox_store NAME: busybox_rootfs NAME, then a private image store in
# $scratch/store (exported as RINGVM_CONTAINER_ROOT, also in store) and the
# busybox image archives built offline in $scratch/img (docker.tar,
# oci.tar); image_id is the image's config digest (hex).
busybox_store() {
	busybox_rootfs "$1"
	export RINGVM_CONTAINER_ROOT=$scratch/store
	store=$RINGVM_CONTAINER_ROOT
	image_id=$(tests/system/lib/busybox-image.py "$rootfs" "$scratch/img")
}

# Clean-up hooks for at_exit: whatever a failing test leaves in the store.
# cleanup_ctrs: every container killed and removed.
cleanup_ctrs() {
	local id
	for id in $(ls "$store/containers" 2>/dev/null); do
		"$RINGVM" container rm -f "$id" >/dev/null 2>&1 || true
	done
}
# cleanup_rootfs_mounts: every container rootfs unmounted.
cleanup_rootfs_mounts() {
	local m
	for m in $(grep -o "$store/containers/[0-9a-f]*/rootfs" /proc/mounts 2>/dev/null); do
		umount -l "$m" 2>/dev/null || true
	done
}

# refused125 NAME REGEX CMD...: exit 125, exactly one stderr line matching.
refused125() { refused_status 125 "$@"; }

# freeport: a TCP port on 127.0.0.1 that was free a moment ago.
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
