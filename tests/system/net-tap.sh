#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# --net tap,ifname=NAME: the test makes a network namespace with a
# persistent TAP device (host side 10.99.0.1/24), boots the guest inside that
# namespace attached to the TAP (guest 10.99.0.2/24, static), and checks
# ping both ways, HTTP host -> guest (a small page and 2 MiB: receive path
# with the host kernel's TSO/checksum offloads passed through the vnet
# header), a 4 MiB upload guest -> host (transmit path, guest TSO) and a
# guest listener reached from the host.  Everything stays in the namespace.
# Needs CAP_NET_ADMIN and /dev/net/tun; prints SKIP only when those are
# really missing.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="net-tap/exit-0 net-tap/link net-tap/guest-ping net-tap/http-small
	net-tap/http-big net-tap/upload net-tap/guest-listener net-tap/host-ping"
need_ringvm $names
need_guest $names
py=tests/system/lib/netutil.py

if [ ! -c /dev/net/tun ]; then
	for n in $names; do skip "$n" "tap: /dev/net/tun does not exist"; done
	exit 0
fi
for tool in ip python3; do
	command -v "$tool" >/dev/null || { for n in $names; do fail "$n" "$tool not installed"; done; exit 1; }
done
ns=$RINGVM_TEST_TAG-tap
if ! err=$(ip netns add "$ns" 2>&1); then
	case $err in
	*"ermission"*|*"not permitted"*)
		for n in $names; do skip "$n" "tap: no CAP_NET_ADMIN ($err)"; done
		exit 0 ;;
	esac
	for n in $names; do fail "$n" "ip netns add failed: $err"; done
	exit 1
fi
# Everything started in the namespace (servers, the VM) ends with it: its
# processes are found with `ip netns pids`, whatever their parent.
at_exit netns_cleanup "$ns"
inns() { ip netns exec "$ns" "$@"; }
if ! err=$(inns ip link set lo up 2>&1 && inns ip tuntap add dev rvt0 mode tap 2>&1 &&
	inns ip addr add 10.99.0.1/24 dev rvt0 2>&1 && inns ip link set rvt0 up 2>&1); then
	for n in $names; do fail "$n" "setting up the tap failed: $err"; done
	exit 1
fi

www=$scratch/www
mkdir -p "$www"
echo "ringvm-net-tap-page $$" >"$www/page.txt"
head -c 2097152 /dev/urandom >"$www/big.bin"
big_sum=$(sha256sum <"$www/big.bin" | cut -d' ' -f1)
inns python3 -m http.server 8000 --bind 10.99.0.1 --directory "$www" \
	>"$scratch/http.log" 2>&1 &
bg_track $!
inns python3 "$py" sink 10.99.0.1 9000 "$scratch/sink.out" &
bg_track $!

g="ip addr add 10.99.0.2/24 dev eth0; ip link set eth0 up;"
g="$g echo RVT link \$(cat /sys/class/net/eth0/carrier);"
g="$g ping -c 2 -W 5 10.99.0.1 >/dev/null 2>&1 && echo RVT ping ok;"
g="$g echo RVT page \$(wget -q -O - http://10.99.0.1:8000/page.txt);"
g="$g echo RVT big \$(wget -q -O - http://10.99.0.1:8000/big.bin | sha256sum | cut -d' ' -f1);"
g="$g head -c 4194304 /dev/zero | nc 10.99.0.1 9000; echo RVT upload-done;"
g="$g echo RVT listening; echo ringvm-tap-listener-ok | timeout 60 nc -l -p 7777; sleep 1; echo RVT done"

log=$scratch/net-tap
t0=$(date +%s)
set +e
inns timeout -k 10 "$BOOT_TIMEOUT" "$RINGVM" run --stats --net tap,ifname=rvt0 \
	--cmdline "ringvm.cmd=\"$g\"" </dev/null >"$log" 2>"$log.err" &
vm_pid=$!
set -e
bg_track "$vm_pid"
reply= host_ping=no
for _ in $(seq 1 "$BOOT_TIMEOUT"); do
	if grep -q "^RVT listening" "$log" 2>/dev/null; then
		inns python3 "$py" ping 10.99.0.2 2 && host_ping=ok
		reply=$(inns python3 "$py" fetch 10.99.0.2 7777 30 || true)
		break
	fi
	kill -0 "$vm_pid" 2>/dev/null || break
	sleep 1
done
set +e
wait "$vm_pid"
run_status=$?
set -e
tr -d '\r' <"$log" >"$log.txt"
echo "# net-tap: $(( $(date +%s) - t0 ))s wall, exit $run_status"
sed -n 's/^ringvm: \(net.*\)/# \1/p' "$log.err"
status_ok net-tap/exit-0 "$log"

val() { sed -n "s/^RVT $1 \{0,1\}//p" "$log.txt" | head -n1; }
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
expect net-tap/link "$(val link)" 1
expect net-tap/guest-ping "$(val ping)" ok
expect net-tap/http-small "$(val page)" "$(cat "$www/page.txt")"
expect net-tap/http-big "$(val big)" "$big_sum"
zero_sum=$(head -c 4194304 /dev/zero | sha256sum | cut -d' ' -f1)
for _ in 1 2 3 4 5; do [ -s "$scratch/sink.out" ] && break; sleep 1; done
expect net-tap/upload "$(cat "$scratch/sink.out" 2>/dev/null)" "4194304 $zero_sum"
expect net-tap/guest-listener "$(echo "$reply" | tr -d '\r\n')" ringvm-tap-listener-ok
expect net-tap/host-ping "$host_ping" ok
