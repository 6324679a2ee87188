#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# Container networking through net/ backends: `--net user` (libslirp NAT,
# eth0 10.0.2.15/24 via 10.0.2.2; IPv6 by SLAAC in fec0::/64), `-p` host forwards to a detached busybox
# httpd (curl from the host, PORTS in ps), `--net switch` (containers and
# a VM on a `ringvm switch`: same VLAN reachable, other VLAN isolated),
# bad input,
# and nothing left (supervisors, switch, mounts).  Needs root.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/system/lib/container.sh
. "$(dirname "$0")/lib/container.sh"

need_ringvm net/user
need_root net/all "namespaces, TAP devices"
if [ ! -c /dev/net/tun ]; then
	skip net/all "no /dev/net/tun"
	exit 0
fi
busybox_store net/rootfs
ctr() { timeout -k 5 60 "$RINGVM" container "$@"; }
ctr load -q -i "$scratch/img/oci.tar"
at_exit cleanup_ctrs

out=$(ctr run --rm --net user busybox sh -c 'ip -4 addr show eth0 | grep -o "inet [0-9./]*"; ip route | grep -o "^default via [0-9.]*"; ping -c1 -W3 10.0.2.2 >/dev/null && echo gw-ok')
check net/user "got '$(tr '\n' '|' <<<"$out")'" [ "$out" = "inet 10.0.2.15/24
default via 10.0.2.2
gw-ok" ]

# IPv6 through --net user: an address from libslirp's router
# advertisement (SLAAC in fec0::/64), the gateway fec0::2 answers.
out=$(ctr run --rm --net user busybox sh -c 'i=0; while [ $i -lt 50 ] && ! ip -6 addr show eth0 | grep -q "inet6 fec0::.*/64 scope site dynamic"; do sleep 0.1; i=$((i+1)); done; ip -6 addr show eth0 | grep -o "inet6 fec0::[0-9a-f:]*/64"; ping -6 -c1 -W3 fec0::2 >/dev/null && echo gw6-ok' 2>&1)
check net/user-ipv6 "got '$(tr '\n' '|' <<<"$out")'" cond 'grep -qE "^inet6 fec0::[0-9a-f:]+/64$" <<<"$out" && grep -qx gw6-ok <<<"$out"'

# -p: a detached httpd answers curl on the host.
port=$(freeport)
id=$(ctr run -d --name web -p "127.0.0.1:$port:80" busybox sh -c 'mkdir -p /www; echo hello-ctr >/www/index.html; echo started; exec httpd -f -v -p 80 -h /www')
body=""
for _ in $(seq 50); do
	body=$(curl -s --max-time 2 "http://127.0.0.1:$port/" || true)
	[ -n "$body" ] && break
	sleep 0.1
done
check net/publish-curl "got '$body'" [ "$body" = hello-ctr ]
check net/ps-ports "$(ctr ps | tr '\n' '|')" grep -qE "127\.0\.0\.1:$port->80/tcp +web$" <(ctr ps)
check net/logs-httpd "logs: $(ctr logs web 2>/dev/null | tr '\n' '|')" grep -q started <(ctr logs web 2>/dev/null)
ctr stop -t 1 web >/dev/null
set +e
curl -s --max-time 2 "http://127.0.0.1:$port/" >/dev/null
cst=$?
set -e
check net/stop-closes-port "curl status $cst" [ "$cst" != 0 ]
ctr rm web >/dev/null

# A switch with two VLANs.
sock=$scratch/sw.sock
"$RINGVM" switch --socket "$sock" 2>"$scratch/switch.err" &
swpid=$!
bg_track "$swpid"
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
ctr run -d --name a --net "switch,path=$sock,vlan=10" --ip 192.168.77.1/24 busybox sleep 120 >/dev/null
ctr run -d --name c --net "switch,path=$sock,vlan=20" --ip 192.168.77.3/24 busybox sleep 120 >/dev/null
out=$(ctr run --rm --net "switch,path=$sock,vlan=10" --ip 192.168.77.2/24 busybox sh -c \
	'ping -c1 -W3 192.168.77.1 >/dev/null && echo reach-a; ping -c1 -W1 192.168.77.3 >/dev/null && echo reach-c || echo isolated-c')
check net/switch-same-vlan "got '$(tr '\n' '|' <<<"$out")'" grep -qx reach-a <<<"$out"
check net/switch-other-vlan-isolated "got '$(tr '\n' '|' <<<"$out")'" grep -qx isolated-c <<<"$out"

# A VM on the same switch (build/guest): VLAN 10 with container a, not
# with c (same subnet, VLAN 20).
if [ ! -f "$GUEST/Image" ] || [ ! -f "$GUEST/initrd.img" ]; then
	skip net/container-and-vm "no guest in $GUEST (make guest)"
else
	wait_fn='W(){ i=0; while [ $i -lt 60 ]; do ping -c1 -W1 $1 >/dev/null && return 0; i=$((i+1)); sleep 0.2; done; return 1; };'
	vmcmd="ip link set eth0 up; ip addr add 192.168.77.4/24 dev eth0; $wait_fn W 192.168.77.1 && echo VM-CTR-OK; ping -c3 -W1 192.168.77.3 >/dev/null && echo VM-C-REACHED || echo VM-C-FAIL; echo VM-READY; sleep 40; echo VM-END"
	( run_guest "$scratch/vm" --mem 256M --net "switch,path=$sock,vlan=10,mac=52:54:00:5e:01:02" \
		--cmdline "ringvm.cmd=\"$vmcmd\""; echo "$run_status" >"$scratch/vm.status" ) &
	vmp=$!
	bg_track "$vmp"
	for _ in $(seq 600); do
		grep -qa "^VM-READY" "$scratch/vm" 2>/dev/null && break
		[ -e "$scratch/vm.status" ] && break
		sleep 0.5
	done
	# Retried: the VM's replies once took seconds to leave it (seen with
	# the first I/O-thread VMM of this tree; not reproduced since: 50 of
	# 50 first tries at 9048d9b, 20 of 20 at 7dc51b6, docs/CONTAINERS.md
	# "Networking").  A retry is reported on stderr, the neighbour
	# table is in the FAIL line, so that a slow VM leaves evidence.
	cv=$(ctr exec a sh -c 'i=0; while [ $i -lt 15 ]; do ping -c1 -W2 192.168.77.4 >/dev/null && { echo "CTR-VM-OK $i"; exit 0; }; i=$((i+1)); done; ip neigh' 2>&1)
	kill_tree "$vmp"
	wait "$vmp" 2>/dev/null || true
	tr -d '\r' <"$scratch/vm" >"$scratch/vm.txt" 2>/dev/null || true
	check net/vm-reaches-container "VM console: $(grep -E 'VM-' "$scratch/vm.txt" | tr '\n' ' ')" grep -q '^VM-CTR-OK' "$scratch/vm.txt"
	check net/container-reaches-vm "got '$cv' (retries after the first try)" cond '[ "${cv% *}" = CTR-VM-OK ]'
	case $cv in "CTR-VM-OK "[1-9]*) echo "net/container-reaches-vm: needed ${cv##* } retries" >&2 ;; esac
	check net/vm-isolated-from-other-vlan "VM console: $(grep -E 'VM-' "$scratch/vm.txt" | tr '\n' ' ')" grep -q '^VM-C-FAIL' "$scratch/vm.txt"
fi
ctr rm -f a c >/dev/null

# Bad input: one line, 125.
refused125 net/bad-publish "expected \[IP:\]HOSTPORT:PORT" ctr run --rm -p 80 busybox true
refused125 net/bad-publish-port "expected \[IP:\]HOSTPORT:PORT" ctr run --rm -p 1:99999 busybox true
refused125 net/publish-with-host "-p needs --net user" ctr run --rm --net host -p 1:2 busybox true
refused125 net/bad-net "--net .bogus." ctr run --rm --net bogus busybox true
refused125 net/ip-without-net "--ip needs" ctr run --rm --ip 1.2.3.4/24 busybox true
refused125 net/bad-ip "address .1.2.3/24.: expected" ctr run --rm --net "switch,path=$sock,vlan=10" --ip 1.2.3/24 busybox true
refused125 net/no-switch "$scratch/none.sock" ctr run --rm --net "switch,path=$scratch/none.sock,vlan=1" busybox true
busy=$(freeport)
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); open(sys.argv[2], "w").close(); time.sleep(30)' "$busy" "$scratch/busy.ready" &
bg_track $!
# Listening before the run (a fixed sleep lost the race on a loaded host).
for _ in $(seq 100); do [ -e "$scratch/busy.ready" ] && break; sleep 0.05; done
refused125 net/port-in-use "cannot listen" ctr run --rm -p "127.0.0.1:$busy:80" busybox true

kill "$swpid"
wait_bounded "$swpid" 10
left=$(find "$store/containers" "$store/oci" -mindepth 1 -maxdepth 1 2>/dev/null)
check net/no-containers-left "left: $left" [ -z "$left" ]
mnt=$(grep -c "$store" /proc/mounts || true)
check net/no-mounts-left "$mnt mounts" [ "$mnt" = 0 ]
sup=$(pgrep -f "$RINGVM container run" || true)
check net/no-supervisors-left "pids: $sup" [ -z "$sup" ]
