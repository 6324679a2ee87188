#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# Live migration on loopback (docs/LIFECYCLE.md "Live migration"), the
# default guest driven through the control socket (--api) on both sides.
# The guest fills a 4 MiB buffer in its tmpfs and prints its md5 now and
# then ("SUM"), prints a heartbeat ("HB n") every 100 ms, keeps rewriting
# 32 MiB of tmpfs (dirty pages), and writes the first 16 MiB of its disk,
# 1 MiB at a time, each with its own pattern ("WRITING" ... "DISK-DONE"):
# the first migration overlaps the writing, so blocks change after the
# first copy, and each is written once (a lost block stays lost).
#
#   migrate/bogus-target   migrate to a port nobody listens on: ctl fails,
#                          migrate-status says failed, the source runs on
#   migrate/target-dies    a target that reads 8 MiB and closes: failed,
#                          the source runs on
#   migrate/cancel         a target that never reads: migrate-cancel ends it
#                          (cancelled), the source runs on
#   migrate/copy-disks     source -> target 1 with --copy-disks (the disk
#                          written during the migration): ctl reports
#                          success, the source exits 0, target 1's image
#                          (created by it) ends with all 16 MiB the guest
#                          wrote, before, during and after migrations
#   migrate/continues      target 1 goes on: heartbeats after the source's
#                          last, the buffer's md5 unchanged
#   migrate/shared-storage target 1 -> target 2 without --copy-disks: the
#                          same image file, opened after target 1 let go
# A TCP connection surviving migration: tests/system/migrate-net.sh (over a
# switch; through --net user it cannot, docs/LIFECYCLE.md).
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="migrate/bogus-target migrate/target-dies migrate/cancel
	migrate/copy-disks migrate/continues migrate/shared-storage"
need_ringvm $names
need_guest $names
py=tests/system/lib/netutil.py
command -v python3 >/dev/null || { for n in $names; do fail "$n" "python3 not installed"; done; exit 1; }

W=$scratch
T=$((BOOT_TIMEOUT))
gcmd='dd if=/dev/urandom of=/tmp/buf bs=64k count=64 2>/dev/null;'
gcmd="$gcmd"' (while :; do yes x | dd of=/tmp/dirt bs=1M count=32 iflag=fullblock 2>/dev/null; done) &'
gcmd="$gcmd"' (while [ ! -e /tmp/go ]; do usleep 100000; done; echo WRITING; for p in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do yes rvmig$p | head -c 1048576 | dd of=/dev/vda bs=1M seek=$p iflag=fullblock oflag=direct 2>/dev/null; usleep 150000; done; echo DISK-DONE) &'
gcmd="$gcmd"' i=0; while :; do i=$((i+1)); echo HB $i; [ $((i % 20)) = 1 ] && echo SUM $(md5sum </tmp/buf); [ $i = 30 ] && touch /tmp/go; usleep 100000; done'

ctl() { "$RINGVM" ctl "$@"; }

# start_vm NAME ARGS...: `ringvm run ARGS` in the background, console to
# $W/NAME.out; pid in var pid_NAME.
start_vm() {
	local n=$1
	shift
	"$RINGVM" run "$@" </dev/null >"$W/$n.out" 2>"$W/$n.err" &
	bg_track $!
	eval "pid_$n=$!"
}

# wait_line FILE REGEX SECS: until FILE has a line matching REGEX.
wait_line() {
	local i
	for i in $(seq $(($3 * 10))); do
		tr -d '\r' <"$1" | grep -qE "$2" && return 0
		sleep 0.1
	done
	return 1
}

wait_sock() {
	local i
	for i in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done
	return 1
}

last_hb() { tr -d '\r' <"$1" | awk '$1 == "HB" { n = $2 } END { print n + 0 }'; }

# The source runs on: heartbeats keep coming, status says running.
source_runs() {
	local a b i
	a=$(last_hb "$W/src.out")
	for i in $(seq 300); do
		b=$(last_hb "$W/src.out")
		[ "$b" -gt "$a" ] && break
		sleep 0.1
	done
	[ "$b" -gt "$a" ] || { echo "no heartbeat after HB $a" >>"$W/why"; return 1; }
	ctl "$W/src.sock" status >"$W/st.txt" 2>&1
	grep -q '^state: running' "$W/st.txt" || { cat "$W/st.txt" >>"$W/why"; return 1; }
}

"$RINGVM" img create -q -f qcow2 "$W/src.qcow2" 64M
start_vm src --mem 256M --disk "$W/src.qcow2" --api "$W/src.sock" \
	--cmdline "console=ttyS0 quiet ringvm.cmd=\"$gcmd\""
if ! wait_sock "$W/src.sock" || ! wait_line "$W/src.out" '^SUM ' "$T"; then
	for n in $names; do fail "$n" "the source guest did not come up: $(tail -n 3 "$W/src.err" | tr '\n' ' ')"; done
	exit 1
fi

# ---- failures: the source must survive each ----
port=$(python3 "$py" freeport)
if ! ctl "$W/src.sock" migrate "tcp:127.0.0.1:$port" >"$W/bogus.out" 2>&1 &&
   ctl "$W/src.sock" migrate-status >"$W/bogus.st" 2>&1 &&
   grep -q failed "$W/bogus.st" && source_runs; then
	pass migrate/bogus-target
else
	fail migrate/bogus-target "$(cat "$W/bogus.out" "$W/bogus.st" "$W/why" 2>/dev/null | tr '\n' ' ')"
fi

# Fake targets: accept one connection; read N bytes then close, or read
# nothing until the test is done.
fake_target() {
	python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
open(sys.argv[3], "w").close()
c, _ = s.accept()
n = int(sys.argv[2])
if n:
    got = 0
    while got < n:
        d = c.recv(65536)
        if not d: break
        got += len(d)
    c.close()
else:
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    time.sleep(120)
' "$@" "$W/fake.ready" &
	bg_track $!
	fake_pid=$!
	for _ in $(seq 100); do [ -e "$W/fake.ready" ] && break; sleep 0.1; done
	rm -f "$W/fake.ready"
}

port=$(python3 "$py" freeport)
fake_target "$port" 8388608
if ! ctl "$W/src.sock" migrate "tcp:127.0.0.1:$port" >"$W/dies.out" 2>&1 &&
   ctl "$W/src.sock" migrate-status >"$W/dies.st" 2>&1 &&
   grep -q failed "$W/dies.st" && source_runs; then
	pass migrate/target-dies
else
	fail migrate/target-dies "$(cat "$W/dies.out" "$W/dies.st" "$W/why" 2>/dev/null | tr '\n' ' ')"
fi
kill_tree "$fake_pid"

port=$(python3 "$py" freeport)
fake_target "$port" 0
ctl "$W/src.sock" migrate "tcp:127.0.0.1:$port" >"$W/cancel.out" 2>&1 &
mig=$!
sleep 2
ctl "$W/src.sock" migrate-cancel >"$W/cancel.ctl" 2>&1 || true
wait_bounded "$mig" 10
ctl "$W/src.sock" migrate-status >"$W/cancel.st" 2>&1 || true
if [ "$wait_status" != 0 ] && [ "$wait_status" != 124 ] &&
   grep -q cancel "$W/cancel.st" && source_runs; then
	pass migrate/cancel
else
	fail migrate/cancel "ctl status $wait_status: $(cat "$W/cancel.out" "$W/cancel.ctl" "$W/cancel.st" "$W/why" 2>/dev/null | tr '\n' ' ')"
fi
kill_tree "$fake_pid"

# ---- source -> target 1, copying the disk while the guest writes it ----
port=$(python3 "$py" freeport)
start_vm t1 --incoming "tcp:127.0.0.1:$port" --api "$W/t1.sock" \
	--disk "$W/t1.qcow2"
sleep 0.5
wait_line "$W/src.out" '^WRITING' 60 || true
sum0=$(tr -d '\r' <"$W/src.out" | awk '$1 == "SUM" { print $2; exit }')
if ctl "$W/src.sock" migrate --copy-disks "tcp:127.0.0.1:$port" >"$W/m1.out" 2>&1; then
	wait_bounded "$pid_src" 30
	src_status=$wait_status
else
	src_status=ctl-failed
fi
hb_src=$(last_hb "$W/src.out")
if [ "$src_status" = 0 ] && grep -q '^migrated:' "$W/m1.out" &&
   wait_line "$W/t1.out" "^HB $((hb_src + 10))\$" 60; then
	wait_line "$W/t1.out" '^SUM ' 10 || true
	sum1=$(tr -d '\r' <"$W/t1.out" | awk '$1 == "SUM" { s = $2 } END { print s }')
	if [ -n "$sum0" ] && [ "$sum1" = "$sum0" ] &&
	   cat "$W/src.out" "$W/t1.out" | tr -d '\r' | awk '$1 == "SUM" && $2 != s && s { bad = 1 } $1 == "SUM" { s = $2 } END { exit bad }'; then
		pass migrate/continues
	else
		fail migrate/continues "buffer md5 before $sum0, after $sum1"
	fi
	m1_ok=1
else
	fail migrate/continues "ctl: $(cat "$W/m1.out" | tr '\n' ' '); source status $src_status; target: $(tail -n 2 "$W/t1.err" | tr '\n' ' ')"
	m1_ok=0
fi

# ---- target 1 -> target 2, shared storage (the same t1.qcow2) ----
if [ "$m1_ok" = 1 ]; then
	port=$(python3 "$py" freeport)
	start_vm t2 --incoming "tcp:127.0.0.1:$port" --api "$W/t2.sock"
	sleep 0.5
	if ctl "$W/t1.sock" migrate "tcp:127.0.0.1:$port" >"$W/m2.out" 2>&1; then
		wait_bounded "$pid_t1" 30
		t1_status=$wait_status
	else
		t1_status=ctl-failed
	fi
	hb1=$(last_hb "$W/t1.out")
	if [ "$t1_status" = 0 ] && wait_line "$W/t2.out" "^HB $((hb1 + 10))\$" 60 &&
	   ctl "$W/t2.sock" status | grep -q '^state: running'; then
		pass migrate/shared-storage
	else
		fail migrate/shared-storage "ctl: $(cat "$W/m2.out" | tr '\n' ' '); t1 status $t1_status; t2: $(tail -n 2 "$W/t2.err" | tr '\n' ' ')"
	fi
	# The disk: all the guest wrote, whichever VM it ran in.
	wait_line "$W/t2.out" '^DISK-DONE' 120 || true
	ctl "$W/t2.sock" quit >/dev/null 2>&1 || true
	wait_bounded "$pid_t2" 30
	"$RINGVM" img convert -O raw "$W/t1.qcow2" "$W/t1.raw"
	for p in $(seq 0 15); do yes "rvmig$p" | head -c 1048576; done >"$W/want"
	if ! cat "$W/src.out" "$W/t1.out" "$W/t2.out" | tr -d '\r' | grep -q '^DISK-DONE'; then
		fail migrate/copy-disks "the guest did not finish writing its disk"
	elif cmp -s -n $((16 << 20)) "$W/want" "$W/t1.raw" &&
	     [ "$(stat -c %s "$W/t1.raw")" = $((64 << 20)) ]; then
		pass migrate/copy-disks
	else
		fail migrate/copy-disks "target image differs from what the guest wrote: $(cmp -n $((16 << 20)) "$W/want" "$W/t1.raw" 2>&1 | head -1)"
	fi
else
	fail migrate/shared-storage "no first migration"
	fail migrate/copy-disks "no first migration"
fi

for f in "$W"/*.err; do
	if r=$(sanitizer_report "$f"); then fail "migrate/sanitizer" "$f: $r"; fi
done
