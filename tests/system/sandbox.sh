#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# The seccomp sandbox of `ringvm run` (src/vmm/sandbox.c).  A forbidden call
# made after set-up (RINGVM_TEST_SECCOMP_PROBE makes ringvm attempt one) must
# end ringvm with exit status 4 and one line naming the call; with
# --seccomp=off the same run must boot normally.  Then a confined guest with
# a qcow2 disk and user networking asks the DNS proxy (libslirp opens
# /etc/resolv.conf at that moment) and pings the host (a new ICMP socket):
# ringvm must survive both.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

probes="openat execve socket-unix mprotect-exec"
names="sandbox/probe-off-boots sandbox/dns-and-ping-exit-0 sandbox/dns-and-ping-ran
	sandbox/bad-option"
for p in $probes; do names="$names sandbox/probe-$p"; done
need_ringvm $names
need_guest $names

for p in $probes; do
	if [ "$p" = openat ] && [ "${RINGVM_ASAN:-0}" = 1 ]; then
		skip "sandbox/probe-$p" "sanitizer builds allow openat (LeakSanitizer reads /proc)"
		continue
	fi
	log=$scratch/probe-$p
	RINGVM_TEST_SECCOMP_PROBE=$p run_guest "$log" --cmdline 'ringvm.cmd="echo should-not-run"'
	if [ "$run_status" = 4 ] &&
		grep -q "^ringvm: sandbox: forbidden system call ${p%%-*} ([0-9]*); stopped" "$log.err" &&
		[ "$(grep -c . "$log.err")" = 1 ] && ! has "$log" should-not-run; then
		pass "sandbox/probe-$p"
	else
		fail "sandbox/probe-$p" "exit status $run_status, stderr: $(tr '\r\n' '  ' <"$log.err" | head -c 300)"
	fi
done

log=$scratch/probe-off
RINGVM_TEST_SECCOMP_PROBE=openat run_guest "$log" --seccomp=off \
	--cmdline 'ringvm.cmd="echo probe-off-$((6*7))"'
if [ "$run_status" = 0 ] && has "$log" '^probe-off-42$'; then
	pass sandbox/probe-off-boots
else
	fail sandbox/probe-off-boots "exit status $run_status: $(tail -n 2 "$log.err" | tr '\n' ' ')"
fi

# DNS: the answer depends on the host's resolver (none may be reachable);
# what matters is that the query went through libslirp and ringvm lived.
"$RINGVM" img create -q -f qcow2 "$scratch/d.qcow2" 16M
g='udhcpc -i eth0 -n -q -t 10 -T 1 >/dev/null 2>&1;'
g="$g nslookup ringvm-test.invalid 10.0.2.3 >/dev/null 2>&1; nslookup example.org 10.0.2.3 >/dev/null 2>&1;"
g="$g ping -c 1 -W 5 10.0.2.2 >/dev/null 2>&1;"
g="$g dd if=/dev/urandom of=/dev/vda bs=64k count=16 conv=fsync 2>/dev/null;"
g="$g echo RVT dns-ping-done"
log=$scratch/dns
run_guest "$log" --disk "$scratch/d.qcow2" --net user --cmdline "ringvm.cmd=\"$g\""
status_ok sandbox/dns-and-ping-exit-0 "$log"
check sandbox/dns-and-ping-ran "the guest did not finish its DNS/ping/disk commands" \
	has "$log" '^RVT dns-ping-done$'

set +e
"$RINGVM" run --seccomp=maybe >/dev/null 2>"$scratch/bad.err"
st=$?
set -e
if [ "$st" = 1 ] && grep -q -- '--seccomp' "$scratch/bad.err"; then pass sandbox/bad-option
else fail sandbox/bad-option "exit status $st: $(cat "$scratch/bad.err")"; fi
