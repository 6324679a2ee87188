#!/bin/bash
# Seed corpus for fuzz_switch_fwd: a few frames (untagged, priority-tagged,
# VLAN-tagged, double-tagged) entering access and trunk ports.  Layout: mode
# byte, three VLAN bytes (see vid_of()), a 12-byte net_hdr, the frame.
#   tests/fuzz/corpus-switch_fwd.sh OUTDIR RINGVM
set -eu
out=$1
mkdir -p "$out"
addr='\x52\x54\x00\x00\x00\x02\x52\x54\x00\x00\x00\x01'
hdr='\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
csum='\x01\x00\x00\x00\x00\x00\x22\x00\x10\x00\x00\x00'
pay=$(printf '\\x%02x' $(seq 1 46))
seed() {  # seed NAME PORT-BYTES HDR TAGS
	printf "$2$3$addr$4$pay" >"$out/$1"
}
seed access10-untagged '\x00\x0a\x00\x00' "$hdr" '\x08\x00'
seed access10-prio-tag20 '\x00\x0a\x00\x00' "$hdr" '\x81\x00\xa0\x00\x81\x00\x00\x14\x08\x00'
seed access10-tag20 '\x00\x0a\x00\x00' "$hdr" '\x81\x00\x00\x14\x08\x00'
seed access10-csum '\x00\x0a\x00\x00' "$csum" '\x08\x00'
seed trunk-native10-tag20 '\x01\x0a\x14\x00' "$hdr" '\x81\x00\x00\x14\x08\x00'
seed trunk-native10-qinq '\x01\x0a\x14\x00' "$hdr" '\x81\x00\x00\x0a\x81\x00\x00\x14\x08\x00'
seed trunk-stag '\x01\x0a\x14\x00' "$hdr" '\x88\xa8\x00\x14\x08\x00'
seed trunk-nonative-prio '\x01\x00\x0a\x14' "$hdr" '\x81\x00\x20\x00\x08\x00'
seed trunk-csum-tag20 '\x01\x0a\x14\x00' "$csum" '\x81\x00\x00\x14\x08\x00'
