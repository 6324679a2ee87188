#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# A guest must not reach host files through format probing.  The attack: a
# guest on a raw --disk (format probed) writes a qcow2 header naming a host
# file as its raw backing file over its own first sector; the next run with
# the same command line (or `img info/convert` without -f) would probe qcow2
# and read the host file through the guest's disk.
#
# One boot of the default guest with three disks: vda a raw image given
# without format= (ringvm warns and guards its first sector), vdb the guest
# script (tests/system/guest/probe-escape-check) with the header and an
# ordinary partition table sector behind it, vdc a raw image given with
# format=raw.  Then the host checks the image files and what `img info`
# probes.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="probe-escape/exit-0 probe-escape/warning probe-escape/evil-4k-refused
	probe-escape/evil-512-refused probe-escape/mbr-allowed
	probe-escape/host-sector0 probe-escape/img-info-raw
	probe-escape/explicit-format-allows"
need_ringvm $names
need_guest $names
command -v python3 >/dev/null || { for n in $names; do fail "$n" "python3 not installed"; done; exit 1; }
S=$scratch

# A host file the guest must never read, the guest's disks.
echo "host secret $$ $RANDOM" >"$S/host-secret.txt"
truncate -s 4M "$S/probed.raw" "$S/explicit.raw"
printf 'ringvm sector 0 before the guest ran\n' | dd of="$S/probed.raw" conv=notrunc status=none
"$RINGVM" img create -q -f qcow2 -u -b "$S/host-secret.txt" -F raw "$S/evil.qcow2" 4M
# Script disk: script, newlines to 32 KiB, the evil header (4 KiB), then at
# 40 KiB a sector with a DOS partition table and zeros to 4 KiB.
python3 - "$S/script.raw" tests/system/guest/probe-escape-check "$S/evil.qcow2" <<'PY'
import sys
out, script, evil = sys.argv[1:4]
s = open(script, 'rb').read()
assert len(s) < 32768
hdr = open(evil, 'rb').read(4096)
assert hdr[:4] == b'QFI\xfb'
mbr = bytearray(4096)
mbr[:16] = b'ringvm-mbr-boot!'
mbr[446:462] = bytes([0x80, 0, 2, 0, 0x83, 0, 0, 0, 8, 0, 0, 0, 0, 0x10, 0, 0])
mbr[510:512] = b'\x55\xaa'
d = s + b'\n' * (32768 - len(s)) + hdr + bytes(4096) + bytes(mbr)
d += bytes(65536 - len(d))
open(out, 'wb').write(d)
open(out + '.mbr', 'wb').write(bytes(mbr))
PY

log=$S/probe
run_guest "$log" --disk "$S/probed.raw" --disk "$S/script.raw,ro" \
	--disk "$S/explicit.raw,format=raw" --cmdline 'ringvm.cmd="sh /dev/vdb"'
status_ok probe-escape/exit-0 "$log"
echo "# probe-escape: ${run_secs}s wall, exit $run_status"

if grep -q "^ringvm: warning: disk $S/probed.raw: format probed as raw.*,format=raw" "$log.err" &&
	[ "$(grep -c warning "$log.err")" = 1 ]; then
	pass probe-escape/warning
else
	fail probe-escape/warning "want one warning naming probed.raw and ,format=raw: $(head -c 300 "$log.err" | tr '\n' '|')"
fi
if ! has "$log" '^RVT begin$'; then
	reason="the guest script did not start"
	has "$log" '^RINGVM-GUEST-READY$' || reason="the guest did not reach RINGVM-GUEST-READY"
	for n in $names; do case $n in */exit-0|*/warning) ;; *) fail "$n" "$reason" ;; esac; done
	exit 1
fi
val() { sed -n "s/^RVT $1 \{0,1\}//p" "$log.txt" | head -n1; }
case $(val evil-4k) in
refused*) pass probe-escape/evil-4k-refused ;;
*) fail probe-escape/evil-4k-refused "the guest's qcow2 header write: '$(val evil-4k)'" ;;
esac
case $(val evil-512) in
refused*) pass probe-escape/evil-512-refused ;;
*) fail probe-escape/evil-512-refused "the guest's buffered one-sector write: '$(val evil-512)'" ;;
esac
if [ "$(val mbr)" = written ]; then pass probe-escape/mbr-allowed; else fail probe-escape/mbr-allowed "a partition table write to sector 0: '$(val mbr)'"; fi

# The image file: sector 0 is what the allowed write put there, never a qcow2 header.
if head -c 4096 "$S/probed.raw" | cmp -s - "$S/script.raw.mbr"; then
	pass probe-escape/host-sector0
else
	fail probe-escape/host-sector0 "probed.raw starts with: $(head -c 16 "$S/probed.raw" | od -An -c | head -n1)"
fi
# ... so the next probing open still sees raw, not a qcow2 reading host-secret.txt.
info=$("$RINGVM" img info "$S/probed.raw" 2>&1 || true)
if echo "$info" | grep -q '^file format: raw$' && ! echo "$info" | grep -q 'host-secret'; then
	pass probe-escape/img-info-raw
else
	fail probe-escape/img-info-raw "$(echo "$info" | head -n 4 | tr '\n' '|')"
fi
# format=raw: the guest owns every byte (the user chose it).
if [ "$(val explicit)" = written ] && [ "$(head -c 4 "$S/explicit.raw" | od -An -tx1 | tr -d ' ')" = 514649fb ]; then
	pass probe-escape/explicit-format-allows
else
	fail probe-escape/explicit-format-allows "with format=raw: '$(val explicit)'"
fi
