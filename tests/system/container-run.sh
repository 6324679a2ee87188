#!/bin/bash
# `ringvm container run`: containers from an image built offline from the
# busybox rootfs (lib/busybox-image.py) on the existing runtime: exit
# statuses (the command's; 125/126/127 as docker), the image config
# (Cmd, Env, layers with whiteouts) and options (-e -w -u -h -v --read-only
# --memory --cpus --pids-limit --net --name --rm -t --sysctl
# --oom-score-adj), overlayfs and the copy
# fallback, signals forwarded, and that nothing is left behind: mounts,
# cgroups, runtime state, container directories.  Needs root.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/system/lib/container.sh
. "$(dirname "$0")/lib/container.sh"

need_ringvm run/true
need_root run/all "namespaces, cgroups, overlayfs"
busybox_store run/rootfs
ctr() { "$RINGVM" container "$@"; }
ctr load -q -i "$scratch/img/oci.tar"

# Whatever a failing test leaves: unmount and remove it at exit.
at_exit cleanup_rootfs_mounts

# crun ARGS...: `container run ARGS`; sets st, output in $scratch/out, err.
crun() {
	set +e
	timeout -k 5 60 "$RINGVM" container run "$@" >"$scratch/out" 2>"$scratch/err" </dev/null
	st=$?
	set -e
}
out_is() { [ "$(cat "$scratch/out")" = "$1" ]; }

crun --rm busybox /bin/true
check run/true "status $st: $(head -c 200 "$scratch/err")" [ "$st" = 0 ]
crun --rm busybox /bin/false
check run/false-status "status $st, want 1" [ "$st" = 1 ]
crun --rm busybox sh -c 'exit 42'
check run/exit-status "status $st, want 42" [ "$st" = 42 ]
crun --rm busybox /no/such/program
check run/not-found-127 "status $st: $(cat "$scratch/err")" [ "$st" = 127 ]
crun --rm busybox /etc/layer2
check run/not-executable-126 "status $st: $(cat "$scratch/err")" [ "$st" = 126 ]
crun --rm busybox
check run/image-cmd "status $st (Cmd /bin/sh with stdin at EOF)" [ "$st" = 0 ]
crun --rm busybox sh -c 'echo $$'
check run/pid1-is-init "command is pid $(cat "$scratch/out")" out_is 2

# The layers: layer 2 deletes /etc/motd, makes /opt/a opaque, adds files.
crun --rm busybox sh -c 'cat /etc/layer2; ls /etc/motd 2>/dev/null; ls /opt/a | tr "\n" " "; ls /opt | tr "\n" " "'
check run/layers-and-whiteouts "got '$(tr '\n' '|' <"$scratch/out")'" out_is "layer two
y a keep "
crun --rm -e A=1 -e IMAGE_VAR=over -w /opt -u 1000:1000 -h ctr-host busybox \
	sh -c 'echo $A $IMAGE_VAR; pwd; id -u; id -g; hostname; cat /etc/hostname'
check run/options "got '$(tr '\n' '|' <"$scratch/out") $(head -c 200 "$scratch/err")'" out_is "1 over
/opt
1000
1000
ctr-host
ctr-host"
crun --rm busybox sh -c 'echo $IMAGE_VAR'
check run/image-env "got '$(cat "$scratch/out")'" out_is from-image
crun --rm -u nobody busybox id -u
check run/user-by-name-unknown "status $st: $(cat "$scratch/err")" \
	grep -q "no such user in the image's /etc/passwd" "$scratch/err"
crun --rm -u root busybox id -u
check run/user-by-name "got '$(cat "$scratch/out")', status $st" out_is 0

mkdir -p "$scratch/vol"
echo hostfile >"$scratch/vol/f"
crun --rm -v "$scratch/vol:/data:ro" busybox sh -c 'cat /data/f; echo x >/data/g 2>/dev/null || echo ro'
check run/volume-ro "got '$(tr '\n' '|' <"$scratch/out")'" out_is "hostfile
ro"
crun --rm -v "$scratch/vol:/data" busybox sh -c 'echo from-ctr >/data/g'
check run/volume-rw "host sees '$(cat "$scratch/vol/g" 2>/dev/null)'" [ "$(cat "$scratch/vol/g" 2>/dev/null)" = from-ctr ]
crun --rm --read-only busybox sh -c 'touch /x 2>/dev/null || echo ro; echo ok >/tmp/t 2>/dev/null || echo tmp-ro'
check run/read-only "got '$(tr '\n' '|' <"$scratch/out")'" grep -q '^ro$' "$scratch/out"
crun --rm busybox sh -c 'echo w >/etc/written; cat /etc/written'
check run/writable-upper "got '$(cat "$scratch/out")'" out_is w
lay=$(find "$store/layers" -name written | wc -l)
check run/layers-untouched "layers hold $lay written files" [ "$lay" = 0 ]
crun --rm --net host busybox sh -c 'ls /sys/class/net | wc -l'
check run/net-host "links: $(cat "$scratch/out")" [ "$(cat "$scratch/out")" -ge 2 ] 2>/dev/null
crun --rm busybox sh -c 'ls /sys/class/net'
check run/net-none "links: $(tr '\n' ' ' <"$scratch/out")" out_is lo

# No device of the host through mknod (CAP_MKNOD is in the default set and
# /dev is a tmpfs without nodev): block devices and character devices
# other than the default ones are refused; the default ones work.
crun --rm busybox sh -c 'mknod /dev/hd b 8 0 2>/dev/null || echo blk-refused
mknod /dev/kmem2 c 1 1 2>/dev/null || echo mem-refused
mknod /dev/null2 c 1 3 && echo x >/dev/null2 && echo null-ok
mkfifo /tmp/fifo && echo fifo-ok'
check run/mknod-host-devices "got '$(tr '\n' '|' <"$scratch/out") $(head -c 200 "$scratch/err")'" \
	out_is "blk-refused
mem-refused
null-ok
fifo-ok"

# Kernel parameters of the container's own namespaces, and the OOM score.
host_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
new_fwd=$((1 - host_fwd))
crun --rm --sysctl "net.ipv4.ip_forward=$new_fwd" --sysctl kernel.shmmax=123456789 \
	--sysctl 'net.ipv4.ping_group_range=0 1000' --oom-score-adj 321 busybox sh -c \
	'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ping_group_range /proc/self/oom_score_adj; echo 1 >/proc/sys/net/ipv4/ip_forward 2>/dev/null || echo sys-ro'
check run/sysctl-oom "got '$(tr '\n' '|' <"$scratch/out") $(head -c 200 "$scratch/err")'" \
	out_is "$new_fwd
123456789
0	1000
321
sys-ro"
check run/sysctl-host-untouched "host ip_forward $(cat /proc/sys/net/ipv4/ip_forward), was $host_fwd" \
	[ "$(cat /proc/sys/net/ipv4/ip_forward)" = "$host_fwd" ]

# Resources.
crun --rm --memory 64m --pids-limit 20 --cpus 0.5 busybox sh -c \
	'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null; true'
check run/limits "got '$(tr '\n' '|' <"$scratch/out")'" \
	grep -qzE '67108864.*20.*50000' "$scratch/out"
crun --rm --memory 32m busybox sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived'
check run/memory-oom-killed "status $st, out $(head -c 100 "$scratch/out")" [ "$st" = 137 ]

# The copy fallback (overlayfs "unavailable") says so and gives the same tree.
RINGVM_CONTAINER_NO_OVERLAY=1 crun --rm busybox sh -c 'cat /etc/layer2; ls /etc/motd 2>/dev/null; ls /opt/a'
if [ "$st" = 0 ] && out_is "layer two
y" && grep -q 'copying the image.s layers instead' "$scratch/err"; then
	pass run/copy-fallback
else
	fail run/copy-fallback "status $st: $(tr '\n' '|' <"$scratch/out") $(head -c 200 "$scratch/err")"
fi

# A terminal: -t with a pty on stdin gives the command a pty.
tests/system/lib/pty-run.py 30 "$RINGVM" container run --rm -it busybox sh -c 'tty; exit 7' >"$scratch/tty" 2>&1 || true
tty_out=$(tr -d '\r' <"$scratch/tty" | tr '\n' ' ' | sed -E 's/ +/ /g; s/ $//')
check run/tty "got '$tty_out'" grep -qE '^/dev/(pts/[0-9]+|console) 7$' <<<"$tty_out"

# Signals: TERM to `run` reaches the command (sh's trap), run exits with
# its status.
"$RINGVM" container run --rm busybox sh -c 'trap "exit 9" TERM; while :; do sleep 0.1; done' \
	>"$scratch/sig" 2>&1 </dev/null &
rp=$!
bg_track "$rp"
sleep 1
kill -TERM "$rp"
wait_bounded "$rp" 20
st=$wait_status
check run/signal-forwarded "status $st, want 9: $(head -c 200 "$scratch/sig")" [ "$st" = 9 ]

# --name: unique; without --rm the record stays (with its exit code) and
# keeps the image from being removed.
crun --name keep1 busybox sh -c 'exit 3'
check run/named-status "status $st" [ "$st" = 3 ]
crun --rm --name keep1 busybox /bin/true
check run/name-conflict "status $st: $(cat "$scratch/err")" \
	cond '[ "$st" = 125 ] && grep -q "already in use" "$scratch/err"'
set +e
ctr rmi busybox >"$scratch/out" 2>"$scratch/err"
rst=$?
set -e
check run/rmi-refused-while-used "status $rst: $(cat "$scratch/err")" \
	cond '[ "$rst" = 125 ] && grep -q "is used by container" "$scratch/err"'
rec=$(grep -l '"name":"keep1"' "$store"/containers/*/meta.json | head -1)
check run/record-kept "record: $(cat "$rec" 2>/dev/null)" grep -q '"exit_code":3' "$rec"
rm -rf "$(dirname "$rec")"

# Bad input: one line, status 125.
# refused125 here runs `container run ARGS` (through crun, which sets st).
refused125() {
	local name=$1 re=$2
	shift 2
	crun "$@"
	if [ "$st" = 125 ] && [ "$(wc -l <"$scratch/err")" = 1 ] && grep -qE -e "$re" "$scratch/err"; then
		pass "$name"
	else
		fail "$name" "status $st, stderr '$(head -c 300 "$scratch/err" | tr '\n' '|')'"
	fi
}
refused125 run/unknown-image "image .nosuch:1. not known" --rm nosuch:1 true
refused125 run/bad-reference "invalid reference format" --rm 'BAD/Ref' true
refused125 run/bad-option "unknown option or missing argument .--bogus." --rm --bogus busybox
refused125 run/bad-memory "--memory .lots." --memory lots busybox true
refused125 run/bad-cpus "--cpus .-1." --cpus -1 busybox true
refused125 run/bad-net "--net .bridge." --net bridge busybox true
refused125 run/bad-volume "expected /HOST:/CONTAINER" -v relative:/x busybox true
refused125 run/missing-volume "host path.*No such file" -v "$scratch/none:/x" busybox true
refused125 run/bad-name "invalid container name" --name '-x' busybox true
refused125 run/bad-workdir "must be absolute" -w rel busybox true
refused125 run/missing-image-arg "missing IMAGE" --rm
refused125 run/bad-sysctl "--sysctl .net/x=1.: expected NAME=VALUE" --sysctl net/x=1 busybox true
refused125 run/host-sysctl "kernel.pid_max. is not in a kernel namespace" --sysctl kernel.pid_max=99999 busybox true
refused125 run/sysctl-host-net "net.ipv4.ip_forward. needs a network namespace" --net host --sysctl net.ipv4.ip_forward=1 busybox true
refused125 run/bad-oom-score-adj "--oom-score-adj .2000." --oom-score-adj 2000 busybox true

# 100 runs in a row (foreground and --rm), then nothing may be left.
bad=0
for i in $(seq 100); do
	timeout -k 5 30 "$RINGVM" container run --rm busybox /bin/true </dev/null >/dev/null 2>&1 || bad=$((bad + 1))
done
check run/hundred-runs "$bad of 100 failed" [ "$bad" = 0 ]

# Nothing left: no rootfs mounts, container directories, runtime state,
# cgroups.
mnt=$(grep -c "$store" /proc/mounts || true)
check run/no-mounts-left "$mnt mounts under the store" [ "$mnt" = 0 ]
left=$(find "$store/containers" "$store/oci" -mindepth 1 -maxdepth 1 2>/dev/null)
check run/no-containers-left "left: $left" [ -z "$left" ]
cg=$(find /sys/fs/cgroup -maxdepth 3 -path '*/ringvm/*' -regextype posix-extended \
	-regex '.*/[0-9a-f]{64}' -newer "$scratch/img/oci.tar" 2>/dev/null)
check run/no-cgroups-left "left: $cg" [ -z "$cg" ]
