#!/bin/bash
# The cgroup v2 code path of `ringvm oci` on a host that is not v2: in a
# private mount namespace a cgroup2 mount is put over /sys/fs/cgroup, so
# ringvm sees a v2 host.  On a hybrid v1 host (like the one this was
# written on) that is the real unified hierarchy with no controllers (they
# are bound to v1), so what runs is the v2 placement: the cgroup made at
# cgroupsPath, init moved by cgroup.procs, the container's own cgroup2
# mount and namespace root, removal at exit; a limit must fail with one
# line naming the step, leaving no cgroup.  Limits themselves on v2
# (memory.max, pids.max, cpu.max) need a v2 host with controllers: then
# the limit checks run too.  Needs root.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/system/lib/container.sh
. "$(dirname "$0")/lib/container.sh"

need_ringvm cgroup2/run
need_root cgroup2/all "mount namespace, cgroups"
busybox_rootfs cgroup2/rootfs
cfg=tests/system/lib/oci-config.py
bundle=$scratch/bundle
mkdir -p "$bundle"
cp -a "$rootfs" "$bundle/rootfs"
grp=ringvm-cg2test-$$
bin=$(realpath "$RINGVM")

# in_v2 SCRIPT: SCRIPT in a mount namespace whose /sys/fs/cgroup is cgroup2
# (RINGVM, ROOT, BUNDLE set); status in st, output in $scratch/out, err.
in_v2() {
	set +e
	timeout -k 5 120 unshare -m --propagation private env RINGVM="$bin" ROOT="$scratch/state" \
		BUNDLE="$bundle" sh -c 'mount -t cgroup2 none /sys/fs/cgroup || exit 99; '"$1" \
		>"$scratch/out" 2>"$scratch/err" </dev/null
	st=$?
	set -e
}
unified=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ -z "$unified" ]; then
	skip cgroup2/all "no cgroup2 hierarchy mounted on this host"
	exit 0
fi
cleanup_cg() { rmdir "$unified/$grp/c1" "$unified/$grp/c2" "$unified/$grp" 2>/dev/null || true; }
at_exit cleanup_cg
ctrls=$(cat "$unified/cgroup.controllers" 2>/dev/null || true)

in_v2 'stat -f -c %T /sys/fs/cgroup'
if [ "$st" = 99 ] || [ "$(cat "$scratch/out")" != cgroup2fs ]; then
	skip cgroup2/all "cannot mount cgroup2 in a mount namespace: $(head -c 200 "$scratch/err")"
	exit 0
fi

# --set replaces the whole linux object: namespaces spelled out.
ns='"namespaces": [{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"}]'
# Placement without limits: cgroupsPath forces a cgroup of its own.
"$cfg" "$bundle/config.json" --set "{\"linux\": {\"cgroupsPath\": \"/$grp/c1\", $ns}}" -- \
	/bin/sh -c 'cat /proc/self/cgroup; grep " /sys/fs/cgroup " /proc/mounts | cut -d" " -f3; ls /sys/fs/cgroup | grep -c "^cgroup.procs$"'
# Outside, while the container runs: its init is in /$grp/c1.
# (the container's stdout is create's: a file, shown after it stopped)
in_v2 '"$RINGVM" oci --root "$ROOT" create --bundle "$BUNDLE" c1 >"$ROOT.c1out" || exit 98
	pid=$(cat /sys/fs/cgroup/'"$grp"'/c1/cgroup.procs)
	echo "procs=$pid"
	"$RINGVM" oci --root "$ROOT" start c1
	for _ in $(seq 100); do "$RINGVM" oci --root "$ROOT" state c1 | grep -q stopped && break; sleep 0.05; done
	"$RINGVM" oci --root "$ROOT" delete c1
	cat "$ROOT.c1out"
	test -e /sys/fs/cgroup/'"$grp"'/c1 && echo left || echo gone'
out=$(tr '\n' '|' <"$scratch/out")
check cgroup2/placed-by-cgroup-procs "status $st: $out $(head -c 200 "$scratch/err")" \
	cond '[ "$st" = 0 ] && grep -q "^procs=[0-9][0-9]*$" "$scratch/out"'
check cgroup2/namespace-root "status $st: $out" \
	cond 'grep -qx "0::/" "$scratch/out"'
check cgroup2/own-cgroup2-mount "status $st: $out" \
	cond '[ "$(grep -c "^cgroup2$" "$scratch/out")" = 1 ] && grep -qx 1 "$scratch/out"'
check cgroup2/removed-at-delete "status $st: $out" cond 'grep -qx gone "$scratch/out"'

# A limit: with the controller delegated it is written, else one line and
# nothing left.
"$cfg" "$bundle/config.json" \
	--set "{\"linux\": {\"cgroupsPath\": \"/$grp/c2\", $ns, \"resources\": {\"pids\": {\"limit\": 20}, \"memory\": {\"limit\": 50000000}, \"cpu\": {\"quota\": 20000, \"period\": 100000}}}}" -- \
	/bin/sh -c 'cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max'
in_v2 '"$RINGVM" oci --root "$ROOT" run --bundle "$BUNDLE" c2'
case " $ctrls " in
*" memory "*" pids "*|*" pids "*" memory "*)
	check cgroup2/limits-written "status $st: $(tr '\n' '|' <"$scratch/out") $(head -c 200 "$scratch/err")" \
		cond '[ "$st" = 0 ] && [ "$(tr "\n" " " <"$scratch/out")" = "20 49999872 20000 100000 " ]'
	;;
*)
	check cgroup2/limit-without-controller-refused "status $st: $(cat "$scratch/err")" \
		cond '[ "$st" = 1 ] && [ "$(wc -l <"$scratch/err")" = 1 ] && grep -q "subtree_control" "$scratch/err"'
	skip cgroup2/limits-written "the v2 hierarchy has no memory/pids controllers here (hybrid host: '$ctrls')"
	;;
esac
left=$(ls -A "$scratch/state" 2>/dev/null; if [ -e "$unified/$grp/c2" ]; then echo "$unified/$grp/c2"; fi)
check cgroup2/nothing-left "left: $left" [ -z "$left" ]
