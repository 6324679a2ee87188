#!/bin/bash
# podman with ringvm as its OCI runtime (`podman --runtime`): an image
# imported offline from the busybox rootfs; run --rm with exit statuses,
# -t (console socket), -d + stop (TERM reaches the process) + rm, and no
# ringvm state or cgroup left.  SKIP when podman is not installed.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

need_ringvm podman/run
if ! command -v podman >/dev/null; then
	skip podman/all "podman not installed"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	skip podman/all "needs root (rootless podman needs user namespaces, not done yet)"
	exit 0
fi
if ! rootfs=$(tests/system/lib/busybox-rootfs.sh); then
	fail podman/rootfs "cannot build the busybox rootfs"
	exit 1
fi
img=localhost/ringvm-test-busybox:$$
name=ringvm-test-$$
state=$scratch/state
wrap=$scratch/ringvm-oci
bin=$(realpath "$RINGVM")
# The runtime podman calls: ringvm oci with a private state directory.
printf '#!/bin/sh\nexec %s oci --root %s "$@"\n' "$bin" "$state" >"$wrap"
chmod +x "$wrap"
P() { timeout -k 5 120 podman --runtime "$wrap" "$@"; }
# podman asks for RLIMIT_NOFILE and RLIMIT_NPROC 1048576 by default, above
# the hard limits of a host without CAP_SYS_RESOURCE (like this one);
# ringvm, like runc, refuses a limit it cannot set, so the runs ask for
# small ones.
UL="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"

cleanup() {
	P rm -f "$name" >/dev/null 2>&1 || true
	podman rmi -f "$img" >/dev/null 2>&1 || true
	cleanup_scratch
}
trap 'st=$?; cleanup; [ "$st" -ne 0 ] || st=$failed; exit "$st"' EXIT

if ! tar -C "$rootfs" -c . | podman import - "$img" >"$scratch/import.log" 2>&1; then
	fail podman/import "$(tail -1 "$scratch/import.log")"
	exit 1
fi

set +e
out=$(P run --rm $UL "$img" /bin/sh -c 'echo hi; echo $$' 2>&1); st=$?
set -e
check podman/run "status $st: $(echo "$out" | tr '\n' '|' | head -c 300)" \
	[ "$st:$out" = "0:hi
2" ]
set +e; P run --rm $UL "$img" /bin/false >/dev/null 2>&1; st=$?; set -e
check podman/exit-status "status $st, want 1" [ "$st" = 1 ]
set +e
out=$(P run --rm -t $UL "$img" /bin/sh -c 'tty' </dev/null 2>&1 | tr -d '\r'); st=$?
set -e
check podman/tty "status $st, tty '$out'" [ "$st:$out" = 0:/dev/pts/0 ]

P run -d $UL --name "$name" "$img" /bin/sh -c 'trap "exit 3" TERM; while :; do sleep 0.1; done' >/dev/null
for _ in $(seq 50); do
	[ "$(P inspect "$name" --format '{{.State.Status}}')" = running ] && break
	sleep 0.1
done
P stop -t 10 "$name" >/dev/null
code=$(P inspect "$name" --format '{{.State.ExitCode}}')
P rm "$name" >/dev/null
check podman/stop-forwards-term "exit code $code, want 3 (the TERM trap)" [ "$code" = 3 ]
left=$(ls -A "$state" 2>/dev/null; find /sys/fs/cgroup -path '*libpod_parent/libpod-*' -type d 2>/dev/null)
check podman/nothing-left "left: $left" [ -z "$left" ]
