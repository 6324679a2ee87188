#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# A TCP connection to a VM survives its live migration: the VM sits on a
# `ringvm switch` (VLAN 10) and echoes a TCP stream (busybox nc -e cat)
# from a container on the same VLAN; the VM migrates to a target on the
# same switch (same MAC, the NIC spec comes with the stream) while the
# container keeps sending a line every 100 ms.  The container's one
# connection must go on echoing after the migration, with no line lost.
# (Through `--net user` it cannot: libslirp's state carries no host
# sockets — docs/LIFECYCLE.md.)  Needs root (the container's netns).
#   migrate-net/echo-before   the echo runs before the migration
#   migrate-net/migrated      migrate: completed, the source exited 0
#   migrate-net/tcp-survives  the same connection echoes on after it,
#                             every line in order
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/system/lib/container.sh
. "$(dirname "$0")/lib/container.sh"

names="migrate-net/echo-before migrate-net/migrated migrate-net/tcp-survives"
need_ringvm $names
need_guest $names
if [ "$(id -u)" != 0 ]; then
	for n in $names; do skip "$n" "needs root (the container's network namespace)"; done
	exit 0
fi
busybox_store migrate-net/rootfs
ctr() { timeout -k 5 60 "$RINGVM" container "$@"; }
ctr load -q -i "$scratch/img/oci.tar"
at_exit cleanup_ctrs
W=$scratch
T=$BOOT_TIMEOUT

"$RINGVM" switch --socket "$W/sw.sock" 2>"$W/switch.err" &
bg_track $!
for _ in $(seq 50); do [ -S "$W/sw.sock" ] && break; sleep 0.1; done

gcmd='ip link set eth0 up; ip addr add 192.168.77.4/24 dev eth0; echo LISTENING; nc -l -p 5000 -e cat; echo NC-ENDED'
"$RINGVM" run --mem 128M --api "$W/src.sock" \
	--net "switch,path=$W/sw.sock,vlan=10,mac=52:54:00:5e:01:04" \
	--cmdline "console=ttyS0 quiet ringvm.cmd=\"$gcmd\"" </dev/null >"$W/src.out" 2>"$W/src.err" &
src=$!
bg_track $src
for _ in $(seq $((T * 10))); do grep -qa LISTENING "$W/src.out" && break; sleep 0.1; done

# One connection for the whole test: a line every 100 ms for 60 s.
ctr run -d --name peer --net "switch,path=$W/sw.sock,vlan=10" --ip 192.168.77.1/24 busybox \
	sh -c 'i=0; while [ $i -lt 600 ]; do echo L$i; i=$((i+1)); sleep 0.1; done | nc 192.168.77.4 5000; echo NC-EXIT $?' >/dev/null
# echoed LINES: the echoed line numbers so far, in order.
echoed() { ctr logs peer 2>/dev/null | sed -n 's/^L\([0-9]*\)$/\1/p'; }
for _ in $(seq 100); do [ "$(echoed | wc -l)" -ge 20 ] && break; sleep 0.1; done
n0=$(echoed | wc -l)
check migrate-net/echo-before "$n0 lines echoed; VM: $(tr -d '\r' <"$W/src.out" | tail -n 2 | tr '\n' ' ')" [ "$n0" -ge 20 ]

"$RINGVM" run --incoming "unix:$W/mig.sock" --api "$W/dst.sock" </dev/null >"$W/dst.out" 2>"$W/dst.err" &
dst=$!
bg_track $dst
for _ in $(seq 100); do [ -S "$W/mig.sock" ] && break; sleep 0.1; done
"$RINGVM" ctl "$W/src.sock" migrate "unix:$W/mig.sock" >"$W/mig.out" 2>&1 || true
sst=0
wait_bounded "$src" 30 && sst=$wait_status || sst=timeout
check migrate-net/migrated "ctl: $(tr '\n' ' ' <"$W/mig.out"); source exit $sst" \
	cond '[ "$sst" = 0 ] && kill -0 '"$dst"

# Two more seconds of lines, all through the same connection.
n1=$(echoed | wc -l)
for _ in $(seq 50); do [ "$(echoed | wc -l)" -ge $((n1 + 20)) ] && break; sleep 0.1; done
n2=$(echoed | wc -l)
# In order and none lost: the numbers are exactly 0..n2-1.
gaps=$(echoed | awk '$1 != NR - 1 { print NR - 1 ": " $1; exit }')
alive=$(ctr ps -q | wc -l)
check migrate-net/tcp-survives "echoed $n0 before, $n1 at the end of migration, $n2 after; first gap: '${gaps:-none}'; peer running: $alive; peer log tail: $(ctr logs --tail 3 peer 2>&1 | tr '\n' ' ')" \
	cond '[ "$n2" -ge $((n1 + 20)) ] && [ -z "$gaps" ] && [ "$alive" = 1 ]'

ctr rm -f peer >/dev/null 2>&1 || true
"$RINGVM" ctl "$W/dst.sock" quit >/dev/null 2>&1 || true
wait_bounded "$dst" 20 || kill_tree "$dst"
for f in "$W"/*.err; do
	if r=$(sanitizer_report "$f"); then fail migrate-net/sanitizer "$f: $r"; fi
done
