#!/bin/bash
# `ringvm oci`: the OCI runtime on a busybox bundle (Debian busybox-static,
# tests/system/lib/busybox-rootfs.sh).  Exit statuses, PID 1 and isolation,
# escapes through mount destinations, cgroup limits (memory, pids), the init
# (zombies, signals), the create/start/state/kill/delete life cycle, the
# console socket, leaks over 100 runs and bad input.  Needs root.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

need_ringvm oci/true
if [ "$(id -u)" != 0 ]; then
	skip oci/all "needs root (namespaces, cgroups)"
	exit 0
fi
if ! rootfs=$(tests/system/lib/busybox-rootfs.sh); then
	fail oci/rootfs "cannot build the busybox rootfs"
	exit 1
fi
# Start cost: every exec of ringvm pays for the libraries it links; the
# ones only image and pull work need (libcurl, libcrypto) are dlopen'ed
# there instead (docs/PERFORMANCE.md "Containers").
if command -v readelf >/dev/null; then
	heavy=$(readelf -d "$RINGVM" | grep -oE 'lib(curl|crypto|ssl)[^]]*' | tr '\n' ' ' || true)
	check oci/no-heavy-libs-linked "linked: $heavy" [ -z "$heavy" ]
fi
root=$scratch/state
cfg=tests/system/lib/oci-config.py
bundle=$scratch/bundle
mkdir -p "$bundle"
cp -a "$rootfs" "$bundle/rootfs"
bgpids=""
ids=""

cleanup() {
	local p i
	for p in $bgpids; do kill -9 "$p" 2>/dev/null || true; done
	for i in $ids; do "$RINGVM" oci --root "$root" delete --force "$i" >/dev/null 2>&1 || true; done
	cleanup_scratch
}
trap 'st=$?; cleanup; [ "$st" -ne 0 ] || st=$failed; exit "$st"' EXIT

oci() { "$RINGVM" oci --root "$root" "$@"; }

# run_ctr ARGS-FOR-oci-config.py...: `oci run` it; sets st, out in $scratch/out.
run_ctr() {
	"$cfg" "$bundle/config.json" "$@"
	set +e
	timeout -k 5 60 "$RINGVM" oci --root "$root" run --bundle "$bundle" c1 \
		>"$scratch/out" 2>"$scratch/err" </dev/null
	st=$?
	set -e
}

run_ctr -- /bin/true
check oci/true "status $st: $(head -c 200 "$scratch/err")" [ "$st" = 0 ]
run_ctr -- /bin/false
check oci/false-status "status $st, want 1" [ "$st" = 1 ]
run_ctr -- /bin/sh -c 'exit 42'
check oci/exit-status "status $st, want 42" [ "$st" = 42 ]

run_ctr -- /bin/sh -c 'echo $$'
check oci/pid1-is-init "command is pid $(cat "$scratch/out"), want 2 (init is 1)" \
	[ "$(cat "$scratch/out")" = 2 ]
run_ctr -- /bin/sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; ps -o pid | wc -l'
if head -1 "$scratch/out" | grep -q 'ringvm' && [ "$(tail -1 "$scratch/out")" -le 5 ]; then
	pass oci/host-processes-invisible
else
	fail oci/host-processes-invisible "$(tr '\n' '|' <"$scratch/out")"
fi
run_ctr --hostname ctr-h -- /bin/hostname
check oci/hostname "got '$(cat "$scratch/out")'" [ "$(cat "$scratch/out")" = ctr-h ]
check oci/hostname-host-unchanged "host hostname changed" [ "$(hostname)" != ctr-h ]
run_ctr -- /bin/sh -c 'ip link 2>/dev/null | grep -c "^[0-9]"; grep -c . /proc/net/dev'
check oci/netns-only-lo "links: $(tr '\n' ' ' <"$scratch/out")" [ "$(head -1 "$scratch/out")" = 1 ]
run_ctr -- /bin/sh -c 'grep CapEff /proc/self/status; mount -t tmpfs x /mnt 2>&1; echo mount=$?'
if grep -q 'CapEff:.*0000000020000420' "$scratch/out" && grep -q 'mount=[1-9]' "$scratch/out"; then
	pass oci/caps-dropped
else
	fail oci/caps-dropped "$(tr '\n' '|' <"$scratch/out")"
fi
run_ctr -- /bin/sh -c 'wc -c </proc/timer_list; echo x >/proc/sys/kernel/hostname 2>&1; echo w=$?'
if [ "$(head -1 "$scratch/out")" = 0 ] && [ "$(head -c 1 /proc/timer_list | wc -c)" = 1 ] && grep -q 'w=[1-9]' "$scratch/out"; then
	pass oci/masked-readonly-proc
else
	fail oci/masked-readonly-proc "$(tr '\n' '|' <"$scratch/out")"
fi

# process.rlimits are applied; one that cannot be set (above fs.nr_open)
# fails create with the limit's name.
run_ctr --set '{"process": {"args": ["/bin/sh", "-c", "ulimit -n; ulimit -Hn"], "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]}}'
check oci/rlimits "status $st: $(tr '\n' ' ' <"$scratch/out")" [ "$st:$(tr '\n' ' ' <"$scratch/out")" = "0:100 200 " ]
over=$(( $(cat /proc/sys/fs/nr_open) + 1 ))
"$cfg" "$bundle/config.json" --set "{\"process\": {\"args\": [\"/bin/true\"], \"cwd\": \"/\", \"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"soft\": $over, \"hard\": $over}]}}"
refused oci/rlimit-refused "process.rlimits: RLIMIT_NOFILE soft $over" oci run --bundle "$bundle" x
refused oci/delete-missing "does not exist" oci delete nosuch
if oci delete --force nosuch 2>"$scratch/err"; then pass oci/delete-force-missing
else fail oci/delete-force-missing "$(cat "$scratch/err")"; fi

# The cgroup mount shows the container's own cgroup (its memory limit),
# read-only, and nothing of the host's tree.
run_ctr --memory 50000000 -- /bin/sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null; mkdir /sys/fs/cgroup/x 2>/dev/null || echo ro; find /sys/fs/cgroup -name "ringvm*" -o -name "c1" | wc -l'
if [ "$st" = 0 ] && [ "$(sed -n 1p "$scratch/out")" -le 50000000 ] &&
	[ "$(sed -n 1p "$scratch/out")" -ge 49000000 ] &&
	[ "$(sed -n 2p "$scratch/out")" = ro ] && [ "$(sed -n 3p "$scratch/out")" = 0 ]; then
	pass oci/cgroup-mount-own-view
else
	fail oci/cgroup-mount-own-view "status $st: $(tr '\n' '|' <"$scratch/out") $(head -c 200 "$scratch/err")"
fi

# Escapes: mount destinations with `..`, absolute and /proc/self/root
# symlinks planted in the rootfs must not create anything on the host.
esc=$scratch/escape
mkdir -p "$esc" "$scratch/src"
run_ctr --bind "$scratch/src:/../../../..$esc/dotdot" -- /bin/true
if [ "$st" = 0 ] && [ ! -e "$esc/dotdot" ] && [ -d "$bundle/rootfs$esc/dotdot" ]; then
	pass oci/escape-dotdot
else
	fail oci/escape-dotdot "status $st; host $(ls "$esc")"
fi
ln -s / "$bundle/rootfs/abs"
run_ctr --bind "$scratch/src:/abs$esc/abslink" -- /bin/true
if [ ! -e "$esc/abslink" ]; then pass oci/escape-absolute-symlink
else fail oci/escape-absolute-symlink "created $esc/abslink on the host"; fi
ln -s ../../../../../../.. "$bundle/rootfs/rel"
run_ctr --bind "$scratch/src:/rel$esc/rellink" -- /bin/true
if [ ! -e "$esc/rellink" ]; then pass oci/escape-relative-symlink
else fail oci/escape-relative-symlink "created $esc/rellink on the host"; fi
ln -s /proc/self/root "$bundle/rootfs/magic"
run_ctr --bind "$scratch/src:/magic$esc/magic" -- /bin/true
if [ "$st" = 1 ] && [ ! -e "$esc/magic" ] && grep -q 'mount /magic' "$scratch/err"; then
	pass oci/escape-proc-self-root
else
	fail oci/escape-proc-self-root "status $st, $(head -c 200 "$scratch/err"); host: $(ls "$esc")"
fi
rm -f "$bundle/rootfs/abs" "$bundle/rootfs/rel" "$bundle/rootfs/magic"
echo secret >"$scratch/secret"
run_ctr -- /bin/sh -c "cat /proc/1/root$scratch/secret /proc/self/root$scratch/secret ../..$scratch/secret 2>/dev/null; true"
check oci/escape-proc-root-read "read a host file: $(head -c 100 "$scratch/out")" \
	[ ! -s "$scratch/out" ]

# User namespace: root inside is host uid 100000, which cannot write a
# root-owned host file bound into the container.
userns='{"linux": {"namespaces": [{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"},{"type":"user"}], "uidMappings": [{"containerID":0,"hostID":100000,"size":65536}], "gidMappings": [{"containerID":0,"hostID":100000,"size":65536}], "maskedPaths": ["/proc/timer_list"], "readonlyPaths": ["/proc/sys"]}}'
# The container's root (host uid 100000) must reach the bundle, as with runc.
chmod 711 "$scratch"
echo host-owned >"$scratch/hostfile"
chmod 644 "$scratch/hostfile"
mkdir -p "$bundle/rootfs/mnt" && touch "$bundle/rootfs/mnt/f"  # the rootfs is host-root's: its root cannot create it
run_ctr --set "$userns" --bind "$scratch/hostfile:/mnt/f" -- /bin/sh -c 'id -u; cat /proc/self/uid_map; echo pwned >/mnt/f 2>/dev/null; echo w=$?; wc -c </proc/timer_list'
if [ "$st" = 0 ] && [ "$(head -1 "$scratch/out")" = 0 ] &&
	sed -n 2p "$scratch/out" | grep -qE '^ *0 +100000 +65536$' &&
	grep -q 'w=[1-9]' "$scratch/out" && [ "$(tail -1 "$scratch/out")" = 0 ] &&
	[ "$(cat "$scratch/hostfile")" = host-owned ]; then
	pass oci/userns-root-is-unprivileged
else
	fail oci/userns-root-is-unprivileged "status $st: $(tr '\n' '|' <"$scratch/out") $(head -c 200 "$scratch/err")"
fi
"$cfg" "$bundle/config.json" --set "$userns" -- /bin/sleep 30
ids="uns"
oci create --bundle "$bundle" --pid-file "$scratch/uns.pid" uns
hostuid=$(awk '/^Uid:/ { print $2 }' "/proc/$(cat "$scratch/uns.pid")/status")
oci delete --force uns
ids=""
check oci/userns-host-uid "init runs as host uid $hostuid, want 100000" [ "$hostuid" = 100000 ]
"$cfg" "$bundle/config.json" --set '{"linux": {"namespaces": [{"type":"pid"},{"type":"mount"},{"type":"user"}]}}' -- /bin/true
refused oci/userns-needs-mappings "needs uidMappings and gidMappings" oci run --bundle "$bundle" x

# Seccomp: the default profile refuses unshare (a user namespace needs no
# capability, so only the filter stops it); a config profile is honoured;
# noNewPrivileges false leaves no_new_privs off.
run_ctr -- /bin/sh -c 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status | tr -d "\t "; unshare -U true 2>/dev/null && echo unshared'
check oci/seccomp-default "$(tr '\n' ' ' <"$scratch/out")" [ "$(tr '\n' ' ' <"$scratch/out")" = "NoNewPrivs:1 Seccomp:2 " ]
run_ctr --set '{"process": {"args": ["/bin/sh", "-c", "grep ^NoNewPrivs: /proc/self/status | tr -d \"\\t \"; mkdir /tmp/sc 2>&1 || echo refused; unshare -U true && echo unshared"], "cwd": "/", "noNewPrivileges": false}, "hostname": null, "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}], "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}}}'
if grep -q '^NoNewPrivs:0$' "$scratch/out" && grep -q refused "$scratch/out" && grep -q unshared "$scratch/out"; then
	pass oci/seccomp-config-profile
else
	fail oci/seccomp-config-profile "status $st: $(tr '\n' '|' <"$scratch/out") $(head -c 200 "$scratch/err")"
fi

# The init runs the host's ringvm binary: the container cannot reach it
# through /proc/1 (exe, mem, fd).
run_ctr -- /bin/sh -c 'for f in /proc/1/exe /proc/1/mem; do cat $f >/dev/null 2>&1 && echo "read $f"; done; readlink /proc/1/exe /proc/1/fd/0 /proc/1/fd/1 2>/dev/null; true'
check oci/init-unreachable "container saw: $(tr '\n' '|' <"$scratch/out" | head -c 200)" [ ! -s "$scratch/out" ]

# Zombies re-parented to the init are reaped.
run_ctr -- /bin/sh -c '(sleep 0.2 &) ; (sleep 0.2 &); sleep 1; cat /proc/[0-9]*/stat | cut -d" " -f3 | grep -c Z'
check oci/zombies-reaped "zombies: $(cat "$scratch/out")" [ "$(cat "$scratch/out")" = 0 ]

# Signals: TERM to the container reaches the command through the init.
"$cfg" "$bundle/config.json" -- /bin/sh -c 'trap "exit 42" TERM; echo up; while :; do sleep 0.05; done'
"$RINGVM" oci --root "$root" run --bundle "$bundle" sig >"$scratch/sig.out" 2>&1 &
runpid=$!
bgpids="$runpid"
ids="sig"
for _ in $(seq 100); do grep -q up "$scratch/sig.out" 2>/dev/null && break; sleep 0.05; done
oci kill sig TERM || true
set +e; wait "$runpid"; st=$?; set -e
bgpids=""
check oci/signal-forwarded "status $st, want 42 (the command's TERM trap)" [ "$st" = 42 ]

# Life cycle: create, state, start, kill by number, delete.
"$cfg" "$bundle/config.json" -- /bin/sh -c 'while :; do sleep 0.05; done'
ids="life"
oci create --bundle "$bundle" --pid-file "$scratch/pid" life
s1=$(oci state life | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["status"], j["pid"], j["id"], j["ociVersion"])')
oci start life
s2=$(oci state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
oci kill life 9
for _ in $(seq 100); do
	s3=$(oci state life | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
	[ "$s3" = stopped ] && break
	sleep 0.05
done
oci delete life
ids=""
set +e; oci state life >/dev/null 2>&1; s4=$?; set -e
if [ "$s1" = "created $(cat "$scratch/pid") life 1.1.0" ] && [ "$s2" = running ] &&
	[ "$s3" = stopped ] && [ "$s4" = 1 ] && [ ! -e "$root/life" ] &&
	[ ! -e /sys/fs/cgroup/pids/ringvm/life ] && [ ! -e /sys/fs/cgroup/ringvm/life ]; then
	pass oci/lifecycle
else
	fail oci/lifecycle "states: '$s1' '$s2' '$s3' state-after-delete=$s4"
fi

# TERM to a created (not started) container ends it.
ids="created"
oci create --bundle "$bundle" created
oci kill created TERM
for _ in $(seq 100); do
	s5=$(oci state created | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
	[ "$s5" = stopped ] && break
	sleep 0.05
done
oci delete created
ids=""
check oci/kill-created "status after TERM: $s5" [ "$s5" = stopped ]

# run with an id in use fails and leaves the other container alone.
"$cfg" "$bundle/config.json" -- /bin/sleep 30
ids="taken"
oci create --bundle "$bundle" taken
refused oci/run-id-in-use "container .taken. already exists" oci run --bundle "$bundle" taken
s6=$(oci state taken | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
oci delete --force taken
ids=""
check oci/run-id-in-use-keeps-other "the existing container is now $s6" [ "$s6" = created ]

# A terminal without --console-socket: `run` relays it to its stdio.
"$cfg" "$bundle/config.json" --terminal -- /bin/sh -c 'tty; read x; echo "got $x"; exit 7'
set +e
echo hello | timeout -k 5 30 "$RINGVM" oci --root "$root" run --bundle "$bundle" relay >"$scratch/relay.out" 2>&1
st=$?
set -e
if [ "$st" = 7 ] && grep -q '^/dev/pts/0' "$scratch/relay.out" && grep -q 'got hello' "$scratch/relay.out"; then
	pass oci/run-terminal-relay
else
	fail oci/run-terminal-relay "status $st: $(tr '\r\n' '||' <"$scratch/relay.out" | head -c 200)"
fi

# delete refuses a running container without --force.
"$cfg" "$bundle/config.json" -- /bin/sh -c 'while :; do sleep 0.05; done'
ids="busy"
oci create --bundle "$bundle" busy
oci start busy
set +e; oci delete busy 2>"$scratch/err"; st=$?; set -e
oci delete --force busy
ids=""
if [ "$st" = 1 ] && grep -q 'running' "$scratch/err" && [ ! -e "$root/busy" ]; then
	pass oci/delete-running
else
	fail oci/delete-running "status $st: $(cat "$scratch/err")"
fi

# cgroup dirs of a container, v1 or v2.
cgdir() {  # cgdir CONTROLLER ID
	if [ -e /sys/fs/cgroup/cgroup.controllers ]; then echo "/sys/fs/cgroup/ringvm/$2"
	else echo "/sys/fs/cgroup/$1/ringvm/$2"; fi
}

# Memory hog: OOM-killed inside its cgroup, the runtime and host go on.
run_ctr --memory 33554432 -- /bin/sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived'
if [ "$st" = 137 ] && ! grep -q survived "$scratch/out"; then
	pass oci/memory-oom-killed
else
	fail oci/memory-oom-killed "status $st, out $(head -c 100 "$scratch/out")"
fi

# Fork bomb: stopped by the pids limit.
# A cpu quota of 20% keeps the bomb from eating the host's CPUs meanwhile.
"$cfg" "$bundle/config.json" --pids 32 --cpu-quota 20000 -- /bin/sh -c 'exec 2>/dev/null; b() { while :; do b & done; }; b'
ids="bomb"
oci create --bundle "$bundle" bomb 2>"$scratch/bomb.err"
oci start bomb
cq=$(cat "$(cgdir cpu bomb)/cpu.cfs_quota_us" 2>/dev/null || sed 's/ .*//' "$(cgdir cpu bomb)/cpu.max")
# busybox sh exits when fork fails, so the bomb burns out: wait for that,
# then read the peak and the number of refused forks.
for _ in $(seq 200); do
	[ "$(oci state bomb | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = stopped ] && break
	sleep 0.05
done
pd=$(cgdir pids bomb)
cur=$(cat "$pd/pids.peak" 2>/dev/null || echo 0)
ev=$(grep -o '[0-9]*' "$pd/pids.events" 2>/dev/null | head -1 || echo 0)
hostok=$(sh -c 'echo ok')
oci delete --force bomb
ids=""
if [ "$cur" -le 32 ] && [ "$cur" -ge 16 ] && [ "${ev:-0}" -gt 0 ] && [ "$hostok" = ok ] && [ ! -e "$pd" ]; then
	pass oci/fork-bomb-pids-limit
else
	fail oci/fork-bomb-pids-limit "pids.peak $cur, max events ${ev:-?}, cgroup left: $( [ -e "$pd" ] && echo yes || echo no)"
fi
check oci/cpu-quota-set "cpu quota $cq, want 20000" [ "$cq" = 20000 ]

# CPU quota observed: a busy loop held to 10 ms per 100 ms is throttled and
# gets at most ~10% of a CPU (0.3 s of CPU time in 1.5 s allows for slack).
"$cfg" "$bundle/config.json" --cpu-quota 10000 -- /bin/sh -c 'while :; do :; done'
ids="spin"
oci create --bundle "$bundle" spin
oci start spin
sleep 1.5
cd_=$(cgdir cpu spin)
thr=$(awk '/^nr_throttled/ { print $2 }' "$cd_/cpu.stat" 2>/dev/null)
# usage: cpuacct.usage (v1, ns) or cpu.stat usage_usec (v2)
used_ms=$(if [ -e "$(cgdir cpuacct spin)/cpuacct.usage" ]; then
	echo $(( $(cat "$(cgdir cpuacct spin)/cpuacct.usage") / 1000000 ))
	else awk '/^usage_usec/ { print int($2 / 1000) }' "$cd_/cpu.stat"; fi 2>/dev/null)
if [ -z "$used_ms" ]; then  # v1 without our cpuacct cgroup: sum the tasks
	used_ms=0
	for p in $(cat "$cd_/cgroup.procs"); do
		t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
		used_ms=$((used_ms + t * 1000 / $(getconf CLK_TCK)))
	done
fi
oci delete --force spin
ids=""
if [ "${thr:-0}" -gt 0 ] && [ "$used_ms" -le 300 ]; then
	pass oci/cpu-quota-observed
else
	fail oci/cpu-quota-observed "nr_throttled ${thr:-?}, cpu used ${used_ms} ms in 1.5 s"
fi

# Console socket: the pty master arrives over SCM_RIGHTS.
"$cfg" "$bundle/config.json" --terminal -- /bin/sh -c 'tty; echo hello-pty'
python3 tests/system/lib/console-recv.py "$scratch/con.sock" "$scratch/con.out" &
conpid=$!
bgpids="$conpid"
for _ in $(seq 50); do [ -S "$scratch/con.sock" ] && break; sleep 0.05; done
ids="tty"
set +e
oci run --bundle "$bundle" --console-socket "$scratch/con.sock" tty >/dev/null 2>"$scratch/err"
st=$?
wait "$conpid"
set -e
bgpids=""
ids=""
if [ "$st" = 0 ] && grep -q '^/dev/pts/0' "$scratch/con.out" && grep -q hello-pty "$scratch/con.out"; then
	pass oci/console-socket
else
	fail oci/console-socket "status $st: $(tr '\n' '|' <"$scratch/con.out" 2>/dev/null) $(cat "$scratch/err")"
fi

# 100 runs leave no mounts, cgroups, network namespaces, state or processes.
# Only what these containers could leave is counted, so other jobs on the
# host do not disturb it: host mounts under the bundle, ringvm cgroups,
# processes whose root is the bundle's rootfs (a leaked process would also
# hold its network namespace), and the state directory.
snapshot() {
	local p
	grep -c "$bundle" /proc/self/mountinfo || true
	find /sys/fs/cgroup -path '*ringvm*' -type d 2>/dev/null | sort
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$bundle/rootfs" ] && echo "process ${p#/proc/}"
	done
	ls -A "$root"
}
"$cfg" "$bundle/config.json" -- /bin/true
oci run --bundle "$bundle" warm
snapshot >"$scratch/before"
ok=0
for i in $(seq 100); do
	if oci run --bundle "$bundle" "r$i" >/dev/null 2>&1; then ok=$((ok + 1)); fi
done
snapshot >"$scratch/after"
if [ "$ok" = 100 ] && cmp -s "$scratch/before" "$scratch/after" &&
	! grep -q '^process' "$scratch/after" && [ "$(head -1 "$scratch/after")" = 0 ]; then
	pass oci/100-runs-no-leaks
else
	fail oci/100-runs-no-leaks "$ok/100 ok; diff: $(diff "$scratch/before" "$scratch/after" | tr '\n' '|' | head -c 300)"
fi

# status_and_out ST TEXT: run_ctr's status is ST and its output, lines
# joined by spaces, TEXT.
status_and_out() { [ "$st" = "$1" ] && [ "$(tr '\n' ' ' <"$scratch/out")" = "$2" ]; }

# A config whose own seccomp profile allows everything, with CAP_MKNOD:
# the device filter still refuses a block device (the rest of the profile
# applies: the fifo is made).
run_ctr --set '{"process": {"args": ["/bin/sh", "-c", "mknod /dev/hd b 8 0 2>/dev/null || echo blk-refused; mkfifo /tmp/p && echo fifo-ok"], "cwd": "/", "capabilities": {"bounding": ["CAP_MKNOD"], "effective": ["CAP_MKNOD"], "permitted": ["CAP_MKNOD"]}}, "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}], "seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}}}'
check oci/mknod-filter-stacked "status $st: got '$(tr '\n' '|' <"$scratch/out")' $(head -c 200 "$scratch/err")" \
	status_and_out 0 "blk-refused fifo-ok "

# linux.sysctl and process.oomScoreAdj, through the runtime alone.
run_ctr --set '{"process": {"args": ["/bin/sh", "-c", "cat /proc/sys/kernel/msgmax /proc/sys/net/ipv4/tcp_syncookies /proc/self/oom_score_adj"], "cwd": "/", "oomScoreAdj": 7}, "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "network"}, {"type": "uts"}], "sysctl": {"kernel.msgmax": "4242", "net.ipv4.tcp_syncookies": "0"}}}'
check oci/sysctl-oom "status $st: got '$(tr '\n' '|' <"$scratch/out")' $(head -c 200 "$scratch/err")" \
	status_and_out 0 "4242 0 7 "
"$cfg" "$bundle/config.json" --set '{"linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "network"}], "sysctl": {"kernel.msgmax": "1"}}}'
refused oci/sysctl-needs-ns "kernel.msgmax. needs a ipc namespace" oci run --bundle "$bundle" x
"$cfg" "$bundle/config.json" --set '{"linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}], "sysctl": {"vm.swappiness": "1"}}}'
refused oci/sysctl-host-wide "vm.swappiness. is not in a kernel namespace" oci run --bundle "$bundle" x

# Bad input: one line on stderr, exit status 1.
refused oci/missing-bundle "bundle .*nonexistent.*No such file" oci run --bundle "$scratch/nonexistent" x
"$cfg" "$bundle/config.json" --set '{"process": {"args": "sh"}}'
refused oci/bad-args-field "process.args: must be an array" oci run --bundle "$bundle" x
"$cfg" "$bundle/config.json" --set '{"ociVersion": "2.0.0"}'
refused oci/bad-version "ociVersion: .2.0.0. is not 1.x" oci run --bundle "$bundle" x
"$cfg" "$bundle/config.json" --set '{"linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "bogus"}]}}'
refused oci/bad-namespace "unknown namespace .bogus." oci run --bundle "$bundle" x
"$cfg" "$bundle/config.json" --memory -5 -- /bin/true
refused oci/bad-memory "memory.limit: out of range" oci run --bundle "$bundle" x
printf '{"ociVersion": "1.1.0",' >"$bundle/config.json"
refused oci/truncated-json "not valid JSON" oci run --bundle "$bundle" x
"$cfg" "$bundle/config.json" -- /bin/true
refused oci/bad-id "container id" oci run --bundle "$bundle" ../x
refused oci/unknown-container "does not exist" oci state nosuch
refused oci/bad-signal "unknown signal .BOGUS." oci kill nosuch BOGUS
"$cfg" "$bundle/config.json" -- /nonexistent
refused oci/missing-program "exec: ./nonexistent.: No such file" oci run --bundle "$bundle" x
check oci/failed-create-leaves-nothing "state left: $(ls -A "$root")" [ ! -e "$root/x" ]
"$cfg" "$bundle/config.json" --bind "$scratch/no-such-dir:/data" -- /bin/true
refused oci/bad-bind-source "mount /data: bind source .*no-such-dir: No such file" oci run --bundle "$bundle" x
"$cfg" "$bundle/config.json" --set '{"mounts": [{"destination": "/proc", "type": "nosuchfs", "source": "x"}]}' -- /bin/true
refused oci/bad-mount-type "mount /proc: nosuchfs: No such device" oci run --bundle "$bundle" x
left=$(ls -A "$root"; find /sys/fs/cgroup -path '*ringvm/x' 2>/dev/null)
check oci/failed-mount-leaves-nothing "left: $left" [ -z "$left" ]
refused oci/missing-command "missing command" "$RINGVM" oci
refused oci/bad-option "unknown option or missing argument .--bogus." oci create --bogus x
refused oci/console-without-terminal "process.terminal is false" oci create --bundle "$bundle" --console-socket "$scratch/none.sock" x
refused oci/log-json "does not exist" "$RINGVM" oci --root "$root" --log "$scratch/log.json" --log-format json state nosuch
if python3 -c 'import json,sys; j=json.loads(open(sys.argv[1]).readline()); assert j["level"] == "error" and "does not exist" in j["msg"] and j["time"]' "$scratch/log.json" 2>/dev/null; then
	pass oci/log-json-line
else
	fail oci/log-json-line "$(head -c 200 "$scratch/log.json" 2>/dev/null)"
fi
features=$(oci features | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["ociVersionMax"], "pid" in j["linux"]["namespaces"], j["linux"]["seccomp"]["enabled"])')
check oci/features "features: $features" [ "$features" = "1.1.0 True True" ]
