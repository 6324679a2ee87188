#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# Crash consistency of qcow2 under kill -9.  The guest
# (tests/system/guest/img-crash-writer) writes to a qcow2 disk: a pattern
# that it flushes and announces, then numbered records, each flushed and
# announced, between unflushed random writes that allocate clusters.  The
# host kills ringvm with SIGKILL a pseudo-random time after the flush
# (delays from a fixed seed list, so runs are reproducible), then:
#   - qemu-img check and ringvm img check find no corruption (leaks are
#     allowed: exit 0 or 3);
#   - the flushed pattern and the last 63 announced records are intact;
#   - ringvm and qemu-img read the same disk.
# The same image goes through every round (damage would accumulate); at the
# end `ringvm img check -r all` repairs the leaks and qemu-img check is clean.
# RINGVM_CRASH_SEEDS overrides the seed list.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

seeds=${RINGVM_CRASH_SEEDS:-"3 17 29 41"}
need_ringvm img-crash/setup
need_guest img-crash/setup
for tool in qemu-img python3; do
	command -v "$tool" >/dev/null || { fail img-crash/setup "$tool not installed"; exit 1; }
done
S=$scratch
R() { "$RINGVM" img "$@"; }

"$RINGVM" img create -q -f qcow2 "$S/disk.qcow2" 64M
# The writer script on a raw disk, padded with newlines: `sh /dev/vdb`.
cp tests/system/guest/img-crash-writer "$S/writer.raw"
truncate -s 64K "$S/writer.raw"
python3 - "$S/writer.raw" <<'EOF'
import sys
p = sys.argv[1]
d = open(p, 'rb').read()
n = len(d.rstrip(b'\0'))
open(p, 'wb').write(d[:n] + b'\n' * (len(d) - n))
EOF

# verify IMG LOG START: check the flushed data against the console log
# (records of this round are numbered from START).
verify() {
	python3 - "$1" "$2" "$3" <<'EOF'
import re, sys
img, log, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = open(img, 'rb').read()
def yes(word, n):
    s = (word + "\n").encode() * (n // (len(word) + 1) + 1)
    return s[:n]
errs = []
if d[:4 << 20] != yes("flushed-pattern-A", 4 << 20):
    errs.append("region A (flushed) differs")
recs = [int(m.group(1)) for m in re.finditer(r'^RVT-REC (\d+)\r?$', open(log, errors='replace').read(), re.M)]
if recs:
    k = recs[-1]
    for j in range(max(start, k - 62), k + 1):
        slot = (4 << 20) + (j % 64) * 65536
        if d[slot:slot + 65536] != yes("rec %d" % j, 65536):
            errs.append("record %d (announced, flushed) is not in slot %d" % (j, j % 64))
            break
print("; ".join(errs) if errs else "ok %d" % (recs[-1] if recs else -1))
EOF
}

round=0 start=0
for seed in $seeds; do
	round=$((round + 1))
	n=img-crash/$round
	RANDOM=$seed
	delay_ms=$((200 + RANDOM % 2500))
	log=$S/log.$round
	"$RINGVM" run --disk "$S/disk.qcow2" --disk "$S/writer.raw,ro" \
		--cmdline "ringvm.cmd=\"RVT_START=$start sh /dev/vdb\"" </dev/null >"$log" 2>"$log.err" &
	pid=$!
	bg_track "$pid"
	flushed=0
	for _ in $(seq 1 $((BOOT_TIMEOUT * 10))); do
		if grep -q '^RVT-FLUSHED' "$log"; then flushed=1; break; fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ "$flushed" = 1 ]; then
		sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
	fi
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	nrec=$(grep -c '^RVT-REC' "$log" || true)
	echo "# $n: seed $seed, killed ${delay_ms} ms after the flush, $nrec records announced"
	if [ "$flushed" = 1 ]; then pass "$n/flushed-marker"; else
		fail "$n/flushed-marker" "the guest never announced its flush: $(tail -n 3 "$log" "$log.err" | tr '\r\n' '  ')"
		continue
	fi
	set +e
	qemu-img check "$S/disk.qcow2" >"$S/qcheck" 2>&1; qst=$?
	R check "$S/disk.qcow2" >"$S/rcheck" 2>&1; rst=$?
	set -e
	case $qst in 0|3) pass "$n/qemu-check-no-corruption" ;;
	*) fail "$n/qemu-check-no-corruption" "qemu-img check exit $qst: $(tail -n 4 "$S/qcheck" | tr '\n' ' ')" ;; esac
	case $rst in 0|3) pass "$n/ringvm-check-no-corruption" ;;
	*) fail "$n/ringvm-check-no-corruption" "ringvm img check exit $rst: $(tail -n 4 "$S/rcheck" | tr '\n' ' ')" ;; esac
	[ "$qst" = 0 ] || echo "# $n: qemu-img check: $(grep -m1 'leaked clusters\|errors' "$S/qcheck")"
	rm -f "$S/view.raw" "$S/view.qemu"
	if ! R convert -q -O raw "$S/disk.qcow2" "$S/view.raw" 2>"$S/err"; then
		fail "$n/flushed-data-intact" "ringvm img convert: $(cat "$S/err")"
		continue
	fi
	res=$(verify "$S/view.raw" "$log" "$start")
	case $res in ok*) pass "$n/flushed-data-intact" ;; *) fail "$n/flushed-data-intact" "$res" ;; esac
	qemu-img convert -O raw "$S/disk.qcow2" "$S/view.qemu"
	cmp -s "$S/view.raw" "$S/view.qemu" && pass "$n/same-view" || fail "$n/same-view" "ringvm and qemu-img read different disks"
	start=$((start + nrec + 1000))
done

set +e
R check -r all "$S/disk.qcow2" >"$S/rcheck" 2>&1; rst=$?
qemu-img check "$S/disk.qcow2" >"$S/qcheck" 2>&1; qst=$?
set -e
[ "$rst" = 0 ] && pass img-crash/repair || fail img-crash/repair "ringvm img check -r all exit $rst: $(tail -n 4 "$S/rcheck" | tr '\n' ' ')"
[ "$qst" = 0 ] && pass img-crash/repaired-qemu-clean || fail img-crash/repaired-qemu-clean "qemu-img check exit $qst: $(tail -n 4 "$S/qcheck" | tr '\n' ' ')"
