#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# --net user (libslirp NAT), one boot: the guest gets its address by DHCP,
# fetches a small page and a 2 MiB file from an HTTP server on the host's
# loopback (through slirp's host alias 10.0.2.2: receive path, GUEST_TSO
# frames resolved or passed), uploads 2 MiB to a host TCP sink (transmit
# path: the guest's TSO frames are segmented for slirp), then listens on
# port 22 where the host connects through a hostfwd rule.  Nothing leaves
# the machine: every host endpoint is on 127.0.0.1.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="net-user/exit-0 net-user/dhcp net-user/route-dns net-user/http-small
	net-user/http-big net-user/upload net-user/hostfwd net-user/two-nics
	net-user/default-mac net-user/mac-option"
need_ringvm $names
need_guest $names
py=tests/system/lib/netutil.py
command -v python3 >/dev/null || { for n in $names; do fail "$n" "python3 not installed"; done; exit 1; }

www=$scratch/www
mkdir -p "$www"
echo "ringvm-net-user-page $$" >"$www/page.txt"
head -c 2097152 /dev/urandom >"$www/big.bin"
big_sum=$(sha256sum <"$www/big.bin" | cut -d' ' -f1)
http_port=$(python3 "$py" freeport)
sink_port=$(python3 "$py" freeport)
fwd_port=$(python3 "$py" freeport)

python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$www" \
	>"$scratch/http.log" 2>&1 &
bg_track $!
python3 "$py" sink 127.0.0.1 "$sink_port" "$scratch/sink.out" &
bg_track $!

# Guest side: each fact on an "RVT key value" line.
gcmd="echo RVT macs \$(cat /sys/class/net/eth0/address) \$(cat /sys/class/net/eth1/address);"
gcmd="$gcmd udhcpc -i eth0 -n -q -t 10 -T 1 >/dev/null 2>&1; echo RVT ip \$(ip -4 -o addr show eth0 | awk '{print \$4}');"
gcmd="$gcmd echo RVT gw \$(ip route | awk '/^default/ {print \$3}') dns \$(awk '/^nameserver/ {print \$2; exit}' /etc/resolv.conf);"
gcmd="$gcmd echo RVT page \$(wget -q -O - http://10.0.2.2:$http_port/page.txt);"
gcmd="$gcmd echo RVT big \$(wget -q -O - http://10.0.2.2:$http_port/big.bin | sha256sum | cut -d' ' -f1);"
gcmd="$gcmd head -c 2097152 /dev/zero | nc 10.0.2.2 $sink_port; echo RVT upload-done;"
gcmd="$gcmd echo RVT fwd-listening; echo ringvm-hostfwd-ok | timeout 60 nc -l -p 22; echo RVT fwd-done"

log=$scratch/net-user
run_guest_bg() {
	set +e
	timeout -k 10 "$BOOT_TIMEOUT" "$RINGVM" run \
		--net "user,hostfwd=tcp::$fwd_port-:22" \
		--net user --mac 02:00:5e:10:00:42 \
		--cmdline "ringvm.cmd=\"$gcmd\"" </dev/null >"$log" 2>"$log.err" &
	vm_pid=$!
	set -e
}
t0=$(date +%s)
run_guest_bg
bg_track "$vm_pid"
# Connect through the forward once the guest listens.
fwd_reply=
for _ in $(seq 1 "$BOOT_TIMEOUT"); do
	if grep -q "^RVT fwd-listening" "$log" 2>/dev/null; then
		fwd_reply=$(python3 "$py" fetch 127.0.0.1 "$fwd_port" 30 || true)
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
echo "# net-user: $(( $(date +%s) - t0 ))s wall, exit $run_status"
status_ok net-user/exit-0 "$log"

val() { sed -n "s/^RVT $1 \{0,1\}//p" "$log.txt" | head -n1; }
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
macs=$(val macs)
mac0=${macs%% *} mac1=${macs#* }
if [ -n "$macs" ] && [ "$mac0" != "$mac1" ]; then pass net-user/two-nics; else fail net-user/two-nics "eth0/eth1 MACs: '$macs'"; fi
# Default: locally administered (bit 1 of the first byte), unicast (bit 0 clear).
case $mac0 in
?[26aeAE]:*:*:*:*:*) pass net-user/default-mac ;;
*) fail net-user/default-mac "eth0 MAC '$mac0' is not a locally administered unicast address" ;;
esac
expect net-user/mac-option "$mac1" 02:00:5e:10:00:42
expect net-user/dhcp "$(val ip)" 10.0.2.15/24
expect net-user/route-dns "$(val gw)" "10.0.2.2 dns 10.0.2.3"
expect net-user/http-small "$(val page)" "$(cat "$www/page.txt")"
expect net-user/http-big "$(val big)" "$big_sum"
zero_sum=$(head -c 2097152 /dev/zero | sha256sum | cut -d' ' -f1)
for _ in 1 2 3 4 5; do [ -s "$scratch/sink.out" ] && break; sleep 1; done
expect net-user/upload "$(cat "$scratch/sink.out" 2>/dev/null)" "2097152 $zero_sum"
expect net-user/hostfwd "$(echo "$fwd_reply" | tr -d '\r\n')" ringvm-hostfwd-ok
