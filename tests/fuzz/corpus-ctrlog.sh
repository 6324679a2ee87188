#!/bin/sh
# Seed corpus for fuzz_ctrlog: records as the pump writes them.
out=$1
printf '2026-12-03T10:00:00.123456789Z stdout F hello' >"$out/full"
printf '2026-12-03T23:59:60.000000001Z stderr P piece' >"$out/leap"
printf '2026-02-31T00:00:00.000000000Z stdout F ' >"$out/feb31"
