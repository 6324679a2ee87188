#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# Four guests on one `ringvm switch` with 802.1Q VLANs:
#   A, B  access VLAN 10   (10.0.10.1, .2)
#   C     access VLAN 20   (10.0.20.3, and 10.0.10.3 too: same IP subnet as
#         A/B, so that only the VLAN keeps it apart)
#   D     trunk 10,20      (eth0.10 10.0.10.4, eth0.20 10.0.20.4; eth0.30 on
#         VLAN 30, which the trunk does not carry)
# Each guest runs a script from its command line that waits for its peers
# (retrying ping), prints X-Y-OK / X-Y-FAIL markers, and lingers a while so
# that the others can reach it.  A also tags frames for VLAN 20 itself
# (eth0.20 on an access port): the switch must drop them.  While the guests
# run, the host polls `ringvm switch ctl SOCK show --json` and then checks
# the MAC table (each MAC on the right VLAN and port) and the drop counters.
# Everything stays on unix sockets; no traffic leaves the machine.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="net-switch/start net-switch/boot-a net-switch/boot-b net-switch/boot-c
	net-switch/boot-d net-switch/a-reaches-b net-switch/b-reaches-a
	net-switch/c-isolated-from-a-b net-switch/a-isolated-from-c
	net-switch/no-vlan-hopping net-switch/trunk-vlan10 net-switch/trunk-vlan20
	net-switch/mac-table net-switch/drops-counted net-switch/clean-exit"
need_ringvm $names
need_guest $names
command -v python3 >/dev/null || { for n in $names; do fail "$n" "python3 not installed"; done; exit 1; }
BOOT_TIMEOUT=${RINGVM_TEST_TIMEOUT:-150}

sock=$scratch/sw.sock
"$RINGVM" switch --socket "$sock" 2>"$scratch/switch.err" &
swpid=$!
bg_track "$swpid"
for _ in $(seq 50); do [ -S "$sock.ctl" ] && break; sleep 0.1; done
if ! [ -S "$sock.ctl" ] || ! kill -0 "$swpid" 2>/dev/null; then
	for n in $names; do fail "$n" "the switch did not start: $(head -n1 "$scratch/switch.err")"; done
	exit 1
fi
pass net-switch/start

# W ADDR: wait until ADDR answers a ping (at most ~50 s).
wait_fn='W(){ i=0; while [ $i -lt 40 ]; do ping -c1 -W1 $1 >/dev/null && return 0; i=$((i+1)); sleep 0.2; done; return 1; };'
up='ip link set eth0 up;'
linger='sleep 12'
cmd_a="$up ip addr add 10.0.10.1/24 dev eth0; $wait_fn W 10.0.10.2 && echo A-B-OK; W 10.0.10.4 && echo A-D-OK; ping -c3 -W1 10.0.10.3 >/dev/null && echo A-C-REACHED || echo A-C-FAIL; ip link add link eth0 name eth0.20 type vlan id 20; ip link set eth0.20 up; ip addr add 10.0.20.1/24 dev eth0.20; ping -c3 -W1 10.0.20.3 >/dev/null && echo A-HOP-REACHED || echo A-HOP-FAIL; echo A-DONE; $linger"
cmd_b="$up ip addr add 10.0.10.2/24 dev eth0; $wait_fn W 10.0.10.1 && echo B-A-OK; W 10.0.10.4 && echo B-D-OK; echo B-DONE; $linger"
cmd_c="$up ip addr add 10.0.20.3/24 dev eth0; ip addr add 10.0.10.3/24 dev eth0; $wait_fn W 10.0.20.4 && echo C-D-OK; sleep 2; ping -c3 -W1 10.0.10.1 >/dev/null && echo C-A-REACHED || echo C-A-FAIL; ping -c3 -W1 10.0.10.2 >/dev/null && echo C-B-REACHED || echo C-B-FAIL; echo C-DONE; $linger"
cmd_d="$up for v in 10 20 30; do ip link add link eth0 name eth0.\$v type vlan id \$v; ip link set eth0.\$v up; ip addr add 10.0.\$v.4/24 dev eth0.\$v; done; $wait_fn W 10.0.10.1 && echo D-A-OK; W 10.0.10.2 && echo D-B-OK; W 10.0.20.3 && echo D-C-OK; ping -c2 -W1 10.0.30.9 >/dev/null; echo D-DONE; $linger"

mac_a=52:54:00:5e:00:0a mac_b=52:54:00:5e:00:0b mac_c=52:54:00:5e:00:0c mac_d=52:54:00:5e:00:0d
boot() {   # boot NAME NETOPTS CMD
	( run_guest "$scratch/$1" --mem 256M --net "switch,path=$sock,$2" \
		--cmdline "ringvm.cmd=\"$3\""
	  echo "$run_status" >"$scratch/$1.status" ) &
	guests="$guests $!"
	bg_track $!
}
guests=
t0=$(date +%s)
boot a "vlan=10,mac=$mac_a" "$cmd_a"
boot b "vlan=10,mac=$mac_b" "$cmd_b"
boot c "vlan=20,mac=$mac_c" "$cmd_c"
boot d "trunk=10,20,mac=$mac_d" "$cmd_d"

# Snapshot the switch while all four ports are up (the port of a guest that
# powers off is freed, with its MACs); keep the last such snapshot.
nports() { python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["ports"]))' "$1" 2>/dev/null || echo 0; }
while [ "$(ls "$scratch"/*.status 2>/dev/null | wc -l)" -lt 4 ]; do
	if "$RINGVM" switch ctl "$sock" show --json >"$scratch/snap.tmp" 2>/dev/null &&
		[ "$(nports "$scratch/snap.tmp")" = 4 ]; then
		mv "$scratch/snap.tmp" "$scratch/snap4.json"
	fi
	sleep 0.5
done
wait $guests
echo "# net-switch: four guests in $(( $(date +%s) - t0 ))s"
"$RINGVM" switch ctl "$sock" show --json >"$scratch/final.json" || true
"$RINGVM" switch ctl "$sock" show >"$scratch/final.txt" 2>&1 || true

for g in a b c d; do
	run_status=$(cat "$scratch/$g.status")
	status_ok "net-switch/boot-$g" "$scratch/$g"
done
# ok NAME WHY LOG MARKER...: PASS when every marker is in LOG.
ok() {
	local name=$1 why=$2 log=$3 m
	shift 3
	for m in "$@"; do
		if ! has "$log" "^$m\$"; then
			fail "$name" "$why (no $m in the console of guest ${log##*/})"
			return
		fi
	done
	pass "$name"
}
ok net-switch/a-reaches-b "A cannot ping B on VLAN 10" "$scratch/a" A-B-OK
ok net-switch/b-reaches-a "B cannot ping A on VLAN 10" "$scratch/b" B-A-OK
ok net-switch/c-isolated-from-a-b "C (VLAN 20) reached A or B" "$scratch/c" C-D-OK C-A-FAIL C-B-FAIL
ok net-switch/a-isolated-from-c "A reached C's VLAN 10 address across VLANs" "$scratch/a" A-D-OK A-C-FAIL
ok net-switch/no-vlan-hopping "A reached VLAN 20 by tagging on its access port" "$scratch/a" A-HOP-FAIL
ok net-switch/trunk-vlan10 "D via eth0.10 cannot reach A and B" "$scratch/d" D-A-OK D-B-OK
ok net-switch/trunk-vlan20 "D via eth0.20 cannot reach C" "$scratch/d" D-C-OK

if [ -s "$scratch/snap4.json" ]; then
	if why=$(python3 - "$scratch/snap4.json" "$mac_a" "$mac_b" "$mac_c" "$mac_d" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
a, b, c, d = sys.argv[2:6]
ports = {p["id"]: p for p in j["ports"]}
# which port each guest sits on, from the port's mode/VLAN and the MACs
where = {}
for m in j["macs"]:
    where.setdefault(m["mac"], set()).add((m["vlan"], m["port"]))
def one(mac, vlans):
    got = where.get(mac, set())
    if {v for v, _ in got} != set(vlans):
        return "%s learned on VLANs %s, want %s" % (mac, sorted(v for v, _ in got), vlans)
    if len({p for _, p in got}) != 1:
        return "%s learned on several ports" % mac
    return None
errs = [e for e in (one(a, [10]), one(b, [10]), one(c, [20]), one(d, [10, 20])) if e]
def port_of(mac):
    return next(iter(where.get(mac, {(0, 0)})))[1]
want = {a: ("access", [10]), b: ("access", [10]), c: ("access", [20]), d: ("trunk", [10, 20])}
for mac, (mode, vlans) in want.items():
    p = ports.get(port_of(mac))
    if not p or p["mode"] != mode or p["vlans"] != vlans:
        errs.append("%s sits on port %s, which is not %s %s" % (mac, port_of(mac), mode, vlans))
vl = {v["vid"]: sorted(v["ports"]) for v in j["vlans"]}
if vl.get(10) != sorted([port_of(a), port_of(b), port_of(d)]) or vl.get(20) != sorted([port_of(c), port_of(d)]):
    errs.append("VLAN membership %s" % vl)
print("; ".join(errs))
sys.exit(1 if errs else 0)
PY
	); then pass net-switch/mac-table; else fail net-switch/mac-table "$why"; fi
else
	fail net-switch/mac-table "never saw all four ports in ctl show"
fi

if why=$(python3 - "$scratch/final.json" "$scratch/snap4.json" "$mac_a" "$mac_d" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
d = f["counters"]["drops"]
errs = []
if d["tagged_on_access"] < 1:
    errs.append("no tagged_on_access drop (A's eth0.20)")
if d["vlan_not_allowed"] < 1:
    errs.append("no vlan_not_allowed drop (D's eth0.30)")
if f["counters"]["dropped"] != sum(d.values()):
    errs.append("dropped %d != sum of reasons %d" % (f["counters"]["dropped"], sum(d.values())))
try:
    s = json.load(open(sys.argv[2]))
    mac_port = {m["mac"]: m["port"] for m in s["macs"]}
    ports = {p["id"]: p for p in s["ports"]}
    pa, pd = ports.get(mac_port.get(sys.argv[3])), ports.get(mac_port.get(sys.argv[4]))
    if pa and pa["drops"]["tagged_on_access"] < 1:
        errs.append("A's port counts no tagged_on_access drop")
    if pd and pd["drops"]["vlan_not_allowed"] < 1:
        errs.append("D's port counts no vlan_not_allowed drop")
except (OSError, ValueError):
    pass
print("; ".join(errs))
sys.exit(1 if errs else 0)
PY
); then pass net-switch/drops-counted; else fail net-switch/drops-counted "$why"; fi

kill -TERM "$swpid"
set +e
wait "$swpid"
st=$?
set -e
if [ "$st" = 0 ] && ! [ -e "$sock" ] && ! [ -e "$sock.ctl" ]; then
	pass net-switch/clean-exit
else
	fail net-switch/clean-exit "exit status $st after SIGTERM, or socket files left"
fi
if [ "$failed" != 0 ]; then
	echo "# switch state at the end:"
	sed 's/^/#   /' "$scratch/final.txt"
	for g in a b c d; do
		echo "# guest $g:"; grep -E '^[A-D]-|RINGVM-CMD-EXIT' "$scratch/$g.txt" | sed 's/^/#   /' || true
	done
fi
