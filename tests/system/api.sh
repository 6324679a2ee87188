#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# The control socket (`ringvm run --api`, `ringvm ctl`): one boot of the
# default guest printing a tick every 0.2 s, then, against the running VM:
# the socket's mode, status fields, pause (console output and instret stand
# still) and resume, the event stream, hostile clients
# (tests/system/lib/api-client.py: malformed JSON, unknown command,
# over-long line, disconnect mid-reply, a client that never reads, 140
# clients at once, a never-finished line) with the VM still running after
# them, snapshot/migrate through the socket (SKIP while not built), a
# second VM refused on a live socket, `ringvm ctl` bad usage, and `stop`:
# the default guest's init powers off on the power button (virtio-input
# KEY_POWER) without the Magic SysRq fallback, the VM ends with status 0
# and the socket file is gone.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

hostile_names="api/malformed-json api/unknown-command api/oversized-line
	api/disconnect-mid-reply api/never-reads api/events-never-read
	api/many-clients api/slowloris
	api/status-after"
names="api/boot api/socket-mode api/status api/pause-console api/pause-instret
	api/resume api/events $hostile_names api/guest-alive api/snapshot
	api/migrate-status api/migrate-refused api/alive-after-snapshot
	api/socket-in-use
	api/ctl-usage api/ctl-unknown-command api/ctl-no-socket api/ctl-missing-dir
	api/stop api/stop-power-button api/exit-0 api/socket-removed api/events-shutdown"
need_ringvm $names
need_guest $names
command -v python3 >/dev/null || { for n in $names; do skip "$n" "python3 not installed"; done; exit 0; }

client=tests/system/lib/api-client.py
sock=$scratch/vm.sock
log=$scratch/console
truncate -s 4M "$scratch/disk.img"
# The guest prints ticks until it is stopped.
timeout -k 10 "$BOOT_TIMEOUT" "$RINGVM" run --api "$sock" --mem 256M \
	--disk "$scratch/disk.img,ro,format=raw" --net user,mac=52:54:00:12:34:56 \
	--cmdline 'ringvm.cmd="while :; do echo RVT-TICK; sleep 0.2; done"' \
	</dev/null >"$log" 2>"$log.err" &
vm=$!
bg_track "$vm"

ctl() { "$RINGVM" ctl "$@"; }
ticks() { grep -c RVT-TICK "$log" || true; }
field() {   # field JSON-REPLY KEY: result.KEY
	python3 -c 'import json,sys; print(json.loads(sys.argv[1])["result"][sys.argv[2]])' "$1" "$2"
}

# Up: the socket exists and the guest ticks.
up=0
for _ in $(seq $((BOOT_TIMEOUT * 5))); do
	kill -0 "$vm" 2>/dev/null || break
	if [ -S "$sock" ] && [ "$(ticks)" -ge 3 ]; then up=1; break; fi
	sleep 0.2
done
if [ $up != 1 ]; then
	for n in $names; do fail "$n" "the guest did not start ticking ($(tail -n 2 "$log.err" | tr '\n' ' '))"; done
	exit 1
fi
pass api/boot

mode=$(stat -c %a "$sock")
check api/socket-mode "mode $mode, want 600" test "$mode" = 600

# Status: every field the protocol promises, with this VM's values.
st=$(ctl --json "$sock" status)
if python3 - "$st" "$scratch/disk.img" <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
assert r["ok"] is True and r["id"] == 1, r
s = r["result"]
assert s["state"] == "running", s
assert s["vcpus"] == 1 and s["mem"] == 256 << 20, s
assert s["uptime_ns"] > 0 and s["instret"] > 0, s
disks = [d for d in s["devices"] if d["type"] == "disk"]
assert len(disks) == 1 and disks[0]["path"] == sys.argv[2], s
assert disks[0]["read_only"] is True and disks[0]["format"] == "raw", s
assert any(d["type"] == "rng" for d in s["devices"]), s
assert any(d["type"] == "power-button" for d in s["devices"]), s
nics = [d for d in s["devices"] if d["type"] == "nic"]
assert len(nics) == 1 and nics[0]["backend"] == "user", s
assert nics[0]["mac"] == "52:54:00:12:34:56", s
EOF
then pass api/status; else fail api/status "unexpected status: $st"; fi

# Events: a subscriber sees pause and resume.
ctl --json "$sock" events >"$scratch/events" 2>&1 &
ev=$!
bg_track "$ev"
# Subscribed once the reply is there.
for _ in $(seq 100); do
	grep -q '"ok":true' "$scratch/events" && break
	sleep 0.1
done

# Pause: the console and the instruction count stand still.
out=$(ctl "$sock" pause)
sleep 0.5
t0=$(ticks)
i0=$(field "$(ctl --json "$sock" status)" instret)
s0=$(field "$(ctl --json "$sock" status)" state)
sleep 2
t1=$(ticks)
i1=$(field "$(ctl --json "$sock" status)" instret)
check api/pause-console "out '$out', ticks $t0 -> $t1 while paused" \
	test "$out" = paused -a "$t0" = "$t1" -a "$s0" = paused
check api/pause-instret "instret $i0 -> $i1 while paused" test "$i0" = "$i1"

out=$(ctl "$sock" resume)
sleep 2
t2=$(ticks)
i2=$(field "$(ctl --json "$sock" status)" instret)
check api/resume "out '$out', ticks $t1 -> $t2, instret $i1 -> $i2 after resume" \
	test "$out" = running -a "$t2" -gt "$t1" -a "$i2" -gt "$i1"
if grep -q '"event":"pause"' "$scratch/events" &&
   grep -q '"event":"resume"' "$scratch/events"; then
	pass api/events
else
	fail api/events "no pause/resume events: $(head -c 300 "$scratch/events")"
fi

# Hostile clients.
python3 "$client" "$sock" hostile >"$scratch/hostile" 2>&1 || true
for n in $hostile_names; do
	line=$(grep "^RESULT ${n#api/} " "$scratch/hostile" || true)
	case $line in
	*" ok") pass "$n" ;;
	"") fail "$n" "no result: $(tail -n 3 "$scratch/hostile" | tr '\n' ' ')" ;;
	*) fail "$n" "${line#RESULT * FAIL }" ;;
	esac
done
t3=$(ticks)
sleep 1.5
check api/guest-alive "ticks $t3 -> $(ticks) after the hostile clients" \
	test "$(ticks)" -gt "$t3" -a -S "$sock"

# Snapshot and migration through the socket (the VM keeps running either
# way; SKIP while this build has no snapshots / migration: ENOSYS).
set +e
out=$(timeout 300 "$RINGVM" ctl "$sock" snapshot "$scratch/snap" 2>&1)
rc=$?
set -e
t4=$(ticks)
case $rc:$out in
0:*) if [ -d "$scratch/snap" ]; then pass api/snapshot; else fail api/snapshot "ctl said '$out' but $scratch/snap is missing"; fi ;;
*ENOSYS*) skip api/snapshot "not in this build: $out" ;;
*) fail api/snapshot "status $rc: $out" ;;
esac
out=$(ctl "$sock" migrate-status)
check api/migrate-status "migrate-status: '$out'" grep -q '^state: none$' <<<"$out"
# Nobody listens there: the migration fails, the VM stays.
set +e
out=$(timeout 120 "$RINGVM" ctl "$sock" migrate "unix:$scratch/nobody.sock" 2>&1)
rc=$?
set -e
case $rc:$out in
0:*) fail api/migrate-refused "migrating to nobody succeeded: $out" ;;
*ENOSYS*) skip api/migrate-refused "not in this build: $out" ;;
1:"ringvm ctl: "*) pass api/migrate-refused ;;
*) fail api/migrate-refused "status $rc: $out" ;;
esac
sleep 1.5
check api/alive-after-snapshot "ticks $t4 -> $(ticks) after snapshot/migrate" \
	test "$(ticks)" -gt "$t4"

# A second VM on the live socket is refused before it boots.
refused api/socket-in-use "in use" "$RINGVM" run --api "$sock"

# ringvm ctl: bad usage is one line, status 1.
refused api/ctl-usage "usage" "$RINGVM" ctl
refused api/ctl-unknown-command "unknown command" "$RINGVM" ctl "$sock" frobnicate
refused api/ctl-no-socket "cannot connect" "$RINGVM" ctl "$scratch/nope.sock" status
refused api/ctl-missing-dir "needs a directory" "$RINGVM" ctl "$sock" snapshot

# Stop: the power button, and the guest's init powers off on it long
# before the SysRq fallback (half the timeout, 30 s).
set +e
t0=$(date +%s)
out=$(timeout 120 "$RINGVM" ctl --json "$sock" stop --timeout 60 2>&1)
rc=$?
secs=$(($(date +%s) - t0))
set -e
tr -d '\r' <"$log" >"$log.txt"
check api/stop "ctl stop: status $rc after ${secs}s, '$out'" \
	test "$rc" = 0 -a "$secs" -lt 20
case $out in
*'"method":"power-button"'*) method=ok ;;
*) method=$out ;;
esac
if [ "$method" = ok ] && has "$log" 'ringvm-init: power button: powering off' &&
   ! has "$log" 'sysrq:'; then
	pass api/stop-power-button
else
	fail api/stop-power-button "reply '$method'; console: $(grep -E 'power button|sysrq' "$log.txt" | tr '\n' ' ')"
fi
wait_bounded "$vm" 30
run_status=$wait_status
tr -d '\r' <"$log" >"$log.txt"
status_ok api/exit-0 "$log"
check api/socket-removed "$sock still exists" test ! -e "$sock"
wait_bounded "$ev" 10
if grep -q '"event":"shutdown".*"reason":"poweroff"' "$scratch/events"; then
	pass api/events-shutdown
else
	fail api/events-shutdown "no shutdown event: $(tail -c 300 "$scratch/events")"
fi
