#!/bin/bash
# Network benchmark: TCP throughput, ringvm vs QEMU (TCG), same kernel/initrd.
#
#   bench/net.sh [-n RUNS] [-t SECS] [--no-qemu] [--timeout SECS]
#
# Scenarios, interleaved run by run (default 3 runs, 10 s of sending each):
#   g2g   guest -> guest: two VMs, ringvm-netbench send -> recv, over a
#         `ringvm switch` (both on access VLAN 10) under ringvm, and over
#         `-netdev socket` (listen/connect, a point-to-point link) under QEMU
#   g2h   guest -> host through slirp (--net user / -netdev user): the guest
#         sends to 10.0.2.2:PORT, a host ringvm-netbench (built from
#         guest/progs/netbench.c with gcc) receives on 127.0.0.1:PORT
# The figure is the receiver's Mbit/s (first byte to EOF, its own clock).
# Prints medians (min-max) and the ratio ringvm/QEMU (> 1: ringvm faster).
# Environment: RINGVM (default build/ringvm), GUEST (default build/guest),
# QEMU (default qemu-system-riscv64).  Loopback and unix sockets only.
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench/net.sh: $*" >&2; exit 1; }

runs=3 secs=10 use_qemu=1 run_timeout=180
while [ $# -gt 0 ]; do
	case $1 in
	-n|--runs) [ $# -ge 2 ] || die "$1 needs a number"; runs=$2; shift ;;
	-t|--time) [ $# -ge 2 ] || die "$1 needs seconds"; secs=$2; shift ;;
	--no-qemu) use_qemu=0 ;;
	--timeout) [ $# -ge 2 ] || die "$1 needs seconds"; run_timeout=$2; shift ;;
	-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
for v in "$runs" "$secs" "$run_timeout"; do
	case $v in ''|*[!0-9]*|0) die "numbers must be positive integers, not '$v'" ;; esac
done

RINGVM=${RINGVM:-build/ringvm}
GUEST=${GUEST:-build/guest}
QEMU=${QEMU:-qemu-system-riscv64}
[ -x "$RINGVM" ] || die "$RINGVM is missing (run make)"
for f in Image initrd.img; do
	[ -s "$GUEST/$f" ] || die "$GUEST/$f is missing (run make guest)"
done
if [ "$use_qemu" = 1 ]; then
	command -v "$QEMU" >/dev/null || die "$QEMU not found (install qemu-system-misc, or use --no-qemu)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringvm-netbench.XXXXXX")
pids=
cleanup() {
	local p
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
# A signal (Ctrl-C, a timeout) ends the script through the EXIT trap too.
trap 'exit 130' INT
trap 'exit 143' TERM
gcc -O2 -Wall -Wextra -Werror -o "$tmp/netbench" guest/progs/netbench.c ||
	die "building the host netbench failed"

# A free TCP port on the loopback (for hostfwd-less slirp and -netdev socket).
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

recv_cmd() { echo "ip link set eth0 up; ip addr add $1/24 dev eth0; ringvm-netbench recv 5001"; }
send_cmd() { echo "ip link set eth0 up; ip addr add $1/24 dev eth0; ${3:+ip route add default via $3; }ringvm-netbench send $2 $secs"; }

# vm LOG ENGINE NETARGS... -- CMD: start one VM in the background.
vm() {
	local log=$1 engine=$2 cmd
	shift 2
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	cmd=$2
	if [ "$engine" = ringvm ]; then
		timeout -k 5 "$run_timeout" "$RINGVM" run --mem 512M "${args[@]}" \
			--cmdline "ringvm.cmd=\"$cmd\"" </dev/null >"$log" 2>"$log.err" &
	else
		timeout -k 5 "$run_timeout" "$QEMU" -M virt -bios default -m 512M -smp 1 \
			-nographic -kernel "$GUEST/Image" -initrd "$GUEST/initrd.img" \
			-append "console=ttyS0 ringvm.cmd=\"$cmd\"" "${args[@]}" \
			</dev/null >"$log" 2>"$log.err" &
	fi
	pids="$pids $!"
	last=$!
}

# result FILE: the Mbit/s of a "NETBENCH recv" line, or nothing.
result() { tr -d '\r' <"$1" | awk '$1 == "NETBENCH" && $2 == "recv" { print $5 }' | tail -n1; }

nfailed=0
record() {  # record SCENARIO ENGINE LOG...
	local sc=$1 engine=$2 r=
	shift 2
	r=$(result "$1")
	if [ -z "$r" ]; then
		echo "  $engine $sc failed; log tails:" >&2
		for f in "$@"; do tr -d '\r' <"$f" | grep -v '^\[' | tail -n 4 | sed 's/^/    /' >&2; tail -n 2 "$f.err" 2>/dev/null | sed 's/^/    /' >&2; done
		nfailed=$((nfailed + 1))
		return
	fi
	echo "$r" >>"$tmp/$sc.$engine.dat"
	echo "  $engine $sc: $r Mbit/s" >&2
}

g2g_ringvm() {
	local d=$tmp/g2g.ringvm.$1 sock
	mkdir -p "$d"
	sock=$d/sw.sock
	"$RINGVM" switch --socket "$sock" 2>"$d/switch.err" &
	local sw=$!
	pids="$pids $sw"
	for _ in $(seq 50); do [ -S "$sock.ctl" ] && break; sleep 0.1; done
	vm "$d/recv" ringvm --net "switch,path=$sock,vlan=10,mac=52:54:00:12:00:02" -- "$(recv_cmd 10.0.10.2)"
	local r=$last
	vm "$d/send" ringvm --net "switch,path=$sock,vlan=10,mac=52:54:00:12:00:01" -- "$(send_cmd 10.0.10.1 "10.0.10.2 5001")"
	local s=$last
	wait "$r" "$s" || true
	"$RINGVM" switch ctl "$sock" show >"$d/switch.show" 2>&1 || true
	kill "$sw" 2>/dev/null; wait "$sw" 2>/dev/null || true
	record g2g ringvm "$d/recv" "$d/send"
}

g2g_qemu() {
	local d=$tmp/g2g.qemu.$1 port
	mkdir -p "$d"
	port=$(free_port)
	vm "$d/recv" qemu -netdev "socket,id=n0,listen=127.0.0.1:$port" \
		-device virtio-net-device,netdev=n0,mac=52:54:00:12:00:02 -- "$(recv_cmd 10.0.10.2)"
	local r=$last
	sleep 1
	vm "$d/send" qemu -netdev "socket,id=n0,connect=127.0.0.1:$port" \
		-device virtio-net-device,netdev=n0,mac=52:54:00:12:00:01 -- "$(send_cmd 10.0.10.1 "10.0.10.2 5001")"
	local s=$last
	wait "$r" "$s" || true
	record g2g qemu "$d/recv" "$d/send"
}

g2h() {  # g2h ENGINE RUN
	local d=$tmp/g2h.$1.$2 port h
	mkdir -p "$d"
	port=$(free_port)
	"$tmp/netbench" recv "$port" >"$d/host" 2>"$d/host.err" &
	h=$!
	pids="$pids $h"
	if [ "$1" = ringvm ]; then
		vm "$d/guest" ringvm --net user -- "$(send_cmd 10.0.2.15 "10.0.2.2 $port" 10.0.2.2)"
	else
		vm "$d/guest" qemu -netdev user,id=n0 -device virtio-net-device,netdev=n0 \
			-- "$(send_cmd 10.0.2.15 "10.0.2.2 $port" 10.0.2.2)"
	fi
	wait "$last" || true
	# The host receiver ends at EOF; do not wait forever if the guest failed.
	for _ in $(seq 50); do kill -0 "$h" 2>/dev/null || break; sleep 0.1; done
	kill "$h" 2>/dev/null || true
	wait "$h" 2>/dev/null || true
	record g2h "$1" "$d/host" "$d/guest"
}

echo "bench/net.sh: $runs run(s), ${secs}s of TCP per run, kernel $(cat "$GUEST/VERSION" 2>/dev/null || echo '?')"
echo "host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs$([ "$use_qemu" = 1 ] && echo ", $("$QEMU" --version | head -n1)")"
for i in $(seq 1 "$runs"); do
	echo "  run $i/$runs" >&2
	g2g_ringvm "$i"
	[ "$use_qemu" = 0 ] || g2g_qemu "$i"
	g2h ringvm "$i"
	[ "$use_qemu" = 0 ] || g2h qemu "$i"
done

stats() {  # stats FILE: "median min max" or "- - -"
	[ -s "$1" ] || { echo "- - -"; return; }
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%g %g %g\n", m, v[1], v[NR] }'
}
cell() { set -- $1; [ "$1" != - ] || { echo -; return; }; printf "%.4g (%.4g-%.4g)" "$1" "$2" "$3"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2fx", a / b }'; }

echo
printf '%-34s %-24s %-24s %s\n' "TCP throughput (Mbit/s)" ringvm QEMU ringvm/QEMU
for sc in g2g g2h; do
	r=$(stats "$tmp/$sc.ringvm.dat"); q=$(stats "$tmp/$sc.qemu.dat")
	case $sc in
	g2g) label="guest->guest (switch | socket)" ;;
	g2h) label="guest->host (slirp)" ;;
	esac
	printf '%-34s %-24s %-24s %s\n' "$label" "$(cell "$r")" "$(cell "$q")" "$(ratio "${r%% *}" "${q%% *}")"
done
[ "$nfailed" -eq 0 ] || die "$nfailed run(s) failed"
