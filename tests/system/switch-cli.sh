#!/bin/bash
# `ringvm switch` and `--net switch,...` without guests: start/stop, socket
# reclaiming, ctl show (text and JSON), a control client that drips its
# request (must not hold up the switch), and bad input (one line on stderr,
# exit status 1).
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

need_ringvm switch-cli/start
sock=$scratch/sw.sock
swpid=
at_exit '[ -z "$swpid" ] || kill_tree "$swpid"'

start() {  # start: a switch on $sock in the background; waits until it is set up
	# (its "listening" line comes after bind and the sandbox; the socket
	# files alone may be a killed switch's leftovers)
	rm -f "$scratch/sw.err"
	"$RINGVM" switch --socket "$sock" --ports 4 --ageing 60 2>"$scratch/sw.err" &
	swpid=$!
	for _ in $(seq 100); do
		grep -q 'listening on' "$scratch/sw.err" 2>/dev/null && return 0
		kill -0 "$swpid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}


if start; then pass switch-cli/start; else fail switch-cli/start "no control socket: $(cat "$scratch/sw.err")"; fi
refused switch-cli/in-use "in use by a running switch" "$RINGVM" switch --socket "$sock"
if "$RINGVM" switch ctl "$sock" show >"$scratch/show.txt" 2>&1 &&
	grep -q "^switch $sock .*ports 0/4 .*ageing 60s  MACs 0/4096 (256 per port)" "$scratch/show.txt" &&
	grep -q "MACS   LEARN-REFUSED" "$scratch/show.txt" &&
	grep -q "learn-port-limit 0" "$scratch/show.txt"; then
	pass switch-cli/ctl-show
else
	fail switch-cli/ctl-show "$(head -n 2 "$scratch/show.txt")"
fi
if "$RINGVM" switch ctl "$sock" show --json >"$scratch/show.json" 2>&1 &&
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); c=j["counters"]; assert j["max_ports"] == 4 and j["ports"] == [] and "stacked_tag" in c["drops"] and j["max_macs"] == 4096 and j["max_macs_per_port"] == 256 and c["learn_port_limit"] == 0 and c["ctl_timeouts"] == 0' "$scratch/show.json"; then
	pass switch-cli/ctl-show-json
else
	fail switch-cli/ctl-show-json "$(head -c 300 "$scratch/show.json")"
fi
refused switch-cli/ctl-unknown-command "unknown command" "$RINGVM" switch ctl "$sock" reboot

# A control client sending a byte every 0.3 s: `ctl show` still answers at
# once (the switch used to wait up to 1 s per byte), and the dripper is cut
# off after the 1 s request deadline.
python3 - "$sock.ctl" >"$scratch/drip.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.send(b"s")
print("connected", flush=True)
t0 = time.time()
try:
    while time.time() - t0 < 4:
        s.send(b"s")
        time.sleep(0.3)
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                break
        except BlockingIOError:
            pass
        s.setblocking(True)
except OSError:
    pass
print("cut after %.1f s" % (time.time() - t0))
PY
drip=$!
for _ in $(seq 100); do grep -q connected "$scratch/drip.out" && break; sleep 0.05; done
sleep 0.3
t0=$(date +%s%N)
"$RINGVM" switch ctl "$sock" show >/dev/null 2>&1 || true
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
wait "$drip" || true
if [ "$ms" -lt 400 ]; then pass switch-cli/ctl-drip-no-stall
else fail switch-cli/ctl-drip-no-stall "ctl show took $ms ms while a client dripped"; fi
if grep -qE "^cut after (0\.[6-9]|[12]\.[0-9])" "$scratch/drip.out" &&
	"$RINGVM" switch ctl "$sock" show --json | python3 -c 'import json,sys; assert json.load(sys.stdin)["counters"]["ctl_timeouts"] == 1'; then
	pass switch-cli/ctl-drip-cut-off
else
	fail switch-cli/ctl-drip-cut-off "$(cat "$scratch/drip.out")"
fi

kill -TERM "$swpid"
set +e; wait "$swpid"; st=$?; set -e
swpid=
if [ "$st" = 0 ] && [ ! -e "$sock" ] && [ ! -e "$sock.ctl" ]; then
	pass switch-cli/sigterm-cleans-up
else
	fail switch-cli/sigterm-cleans-up "exit $st or socket files left"
fi

# A switch killed hard leaves its socket files; the next one reclaims them.
start || true
kill -KILL "$swpid"; wait "$swpid" 2>/dev/null || true
swpid=
if [ -S "$sock" ] && start; then pass switch-cli/stale-socket-reclaimed
else fail switch-cli/stale-socket-reclaimed "$(cat "$scratch/sw.err")"; fi
[ -z "$swpid" ] || { kill_tree "$swpid"; wait "$swpid" 2>/dev/null || true; swpid=; }

# The switch runs confined (vmm/sandbox.h): a forbidden call made after its
# sockets are bound ends it with status 4 and a line naming the call; with
# --seccomp=off the same call is harmless and the switch keeps running.
set +e
RINGVM_TEST_SECCOMP_PROBE=openat timeout 10 "$RINGVM" switch --socket "$scratch/p.sock" \
	</dev/null >/dev/null 2>"$scratch/probe.err"
st=$?
set -e
if [ "$st" = 4 ] && grep -q 'sandbox: forbidden system call openat' "$scratch/probe.err"; then
	pass switch-cli/seccomp-probe-caught
else
	fail switch-cli/seccomp-probe-caught "exit status $st, stderr: $(tr '\n' '|' <"$scratch/probe.err")"
fi
RINGVM_TEST_SECCOMP_PROBE=openat "$RINGVM" switch --seccomp=off --socket "$scratch/p.sock" \
	2>"$scratch/probe-off.err" &
swpid=$!
ok=0
for _ in $(seq 100); do grep -q 'listening on' "$scratch/probe-off.err" && { ok=1; break; }; sleep 0.1; done
sleep 0.3
if [ "$ok" = 1 ] && kill -0 "$swpid" 2>/dev/null &&
	"$RINGVM" switch ctl "$scratch/p.sock" show >/dev/null 2>&1; then
	pass switch-cli/seccomp-off
else
	fail switch-cli/seccomp-off "the switch with --seccomp=off did not keep running: $(tr '\n' '|' <"$scratch/probe-off.err")"
fi
kill_tree "$swpid"; wait "$swpid" 2>/dev/null || true; swpid=
refused switch-cli/bad-seccomp "--seccomp" "$RINGVM" switch --socket "$scratch/x" --seccomp=maybe

refused switch-cli/missing-socket "missing --socket" "$RINGVM" switch
refused switch-cli/bad-ports "--ports" "$RINGVM" switch --socket "$scratch/x" --ports 0
refused switch-cli/bad-ageing "--ageing" "$RINGVM" switch --socket "$scratch/x" --ageing abc
refused switch-cli/bad-max-macs-per-port "--max-macs-per-port" "$RINGVM" switch --socket "$scratch/x" --max-macs-per-port 0
refused switch-cli/unknown-option "unknown" "$RINGVM" switch --socket "$scratch/x" --frobnicate
: >"$scratch/file"
refused switch-cli/not-a-socket "not a socket" "$RINGVM" switch --socket "$scratch/file"
refused switch-cli/ctl-no-switch "no switch is running" "$RINGVM" switch ctl "$scratch/none.sock" show

# --net switch,... refusals come before the guest boots.
refused switch-cli/net-vlan-0 "not a VLAN id" "$RINGVM" run --net "switch,path=$sock,vlan=0"
refused switch-cli/net-vlan-4095 "not a VLAN id" "$RINGVM" run --net "switch,path=$sock,vlan=4095"
refused switch-cli/net-vlan-abc "not a VLAN id" "$RINGVM" run --net "switch,path=$sock,vlan=abc"
refused switch-cli/net-vlan-and-trunk "exclude each other" "$RINGVM" run --net "switch,path=$sock,vlan=10,trunk=20"
refused switch-cli/net-missing-path "missing path" "$RINGVM" run --net "switch,vlan=10"
refused switch-cli/net-no-switch "no switch is listening" "$RINGVM" run --net "switch,path=$scratch/none.sock,vlan=10"
