#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# The sanitizer build (build/asan/ringvm: ASan+UBSan, LeakSanitizer at exit)
# on a real guest, with the seccomp sandbox on: one boot exercises every
# device kind — a raw and a qcow2 disk (writes, read-back, discard), a
# read-only raw disk holding the guest script, user networking (DHCP and an
# HTTP fetch from the host), two NICs on a `ringvm switch` (also the ASan
# build), and console input (the command that runs the script is typed on
# stdin; EOF then ends the shell).  Any sanitizer report, in ringvm or in the
# switch, is a failure.  One boot only: ASan is ~2-3x slower.
set -eu
RINGVM_BIN=${RINGVM_BIN:-build/asan/ringvm}
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="asan/exit-0 asan/console-input asan/raw-readback asan/qcow2-readback
	asan/discard asan/host-sees-raw-write asan/qcow2-check asan/net-user-dhcp
	asan/net-user-http asan/net-switch-rx asan/switch-clean-exit"
if [ ! -x "$RINGVM" ]; then
	for n in $names; do skip "$n" "$RINGVM not built (make asan)"; done
	exit 0
fi
need_guest $names
py=tests/system/lib/netutil.py

# Images: vda raw, vdb qcow2, vdc the script (read-only, zero padded).
truncate -s 16M "$scratch/d.raw"
"$RINGVM" img create -q -f qcow2 "$scratch/d.qcow2" 16M
http_port=$(python3 "$py" freeport)
cat >"$scratch/script" <<EOF
for d in vda vdb; do
	yes ringvm-asan-\$d | head -c 1048576 | dd of=/dev/\$d bs=64k conv=fsync 2>/dev/null
	echo RVT \$d-sha \$(dd if=/dev/\$d bs=64k count=16 2>/dev/null | sha256sum | cut -d' ' -f1)
	blkdiscard -o 4194304 -l 1048576 /dev/\$d && echo RVT \$d-discard ok
done
udhcpc -i eth0 -n -q -t 10 -T 1 >/dev/null 2>&1
echo RVT ip \$(ip -4 -o addr show eth0 | awk '{print \$4}')
echo RVT page \$(wget -q -O - http://10.0.2.2:$http_port/page.txt)
ip link set eth1 up; ip link set eth2 up; ip addr add 10.0.10.1/24 dev eth1
arping -c 3 -w 4 -I eth1 10.0.10.9 >/dev/null 2>&1
echo RVT eth2-rx \$(cat /sys/class/net/eth2/statistics/rx_packets)
echo RVT end
EOF
cp "$scratch/script" "$scratch/script.img"
truncate -s 64K "$scratch/script.img"
printf 'head -c 65536 /dev/vdc | tr -d "\\000" >/tmp/s; sh /tmp/s\n' >"$scratch/stdin"

mkdir -p "$scratch/www"
echo "ringvm-asan-page $$" >"$scratch/www/page.txt"
python3 -m http.server "$http_port" --bind 127.0.0.1 --directory "$scratch/www" \
	>"$scratch/http.log" 2>&1 &
bg_track $!

sock=$scratch/sw.sock
"$RINGVM" switch --socket "$sock" 2>"$scratch/switch.err" &
swpid=$!
bg_track "$swpid"
for _ in $(seq 100); do [ -S "$sock.ctl" ] && break; sleep 0.1; done

log=$scratch/asan
GUEST_STDIN=$scratch/stdin run_guest "$log" \
	--disk "$scratch/d.raw" --disk "$scratch/d.qcow2" --disk "$scratch/script.img,ro" \
	--net user --net "switch,path=$sock,vlan=10" --net "switch,path=$sock,vlan=10"
status_ok asan/exit-0 "$log"
echo "# asan: ${run_secs}s wall, exit $run_status"

val() { sed -n "s/^RVT $1 \{0,1\}//p" "$log.txt" | head -n1; }
expect() {
	if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got '$2', want '$3'"; fi
}
check asan/console-input "the script typed on the console did not run to its end" \
	has "$log" '^RVT end$'
sum_of() { yes "ringvm-asan-$1" | head -c 1048576 | sha256sum | cut -d' ' -f1; }
expect asan/raw-readback "$(val vda-sha)" "$(sum_of vda)"
expect asan/qcow2-readback "$(val vdb-sha)" "$(sum_of vdb)"
expect asan/discard "$(val vda-discard) $(val vdb-discard)" "ok ok"
expect asan/host-sees-raw-write "$(head -c 1048576 "$scratch/d.raw" | sha256sum | cut -d' ' -f1)" \
	"$(sum_of vda)"
if out=$(build/ringvm img check "$scratch/d.qcow2" 2>&1); then pass asan/qcow2-check
else fail asan/qcow2-check "$(echo "$out" | tail -n 2 | tr '\n' ' ')"; fi
expect asan/net-user-dhcp "$(val ip)" 10.0.2.15/24
expect asan/net-user-http "$(val page)" "ringvm-asan-page $$"
rx=$(val eth2-rx)
if [ "${rx:-0}" -gt 0 ] 2>/dev/null; then pass asan/net-switch-rx
else fail asan/net-switch-rx "eth2 received '$rx' frames (eth1's ARP broadcasts should reach it)"; fi

kill -TERM "$swpid"
wait_bounded "$swpid" 60
st=$wait_status
if report=$(sanitizer_report "$scratch/switch.err"); then
	fail asan/switch-clean-exit "sanitizer report: $report"
elif [ "$st" != 0 ]; then
	fail asan/switch-clean-exit "exit status $st after SIGTERM: $(tail -n 2 "$scratch/switch.err" | tr '\n' ' ')"
else
	pass asan/switch-clean-exit
fi
