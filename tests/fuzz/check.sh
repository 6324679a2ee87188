#!/bin/bash
# Short fixed-seed run of every libFuzzer target (part of `make check`, via
# tests/run-all.sh's fuzz section).  `make fuzz-build` has built
# build/fuzz/fuzz_NAME and its seed corpus build/fuzz/corpus-NAME.
# Prints PASS/FAIL/SKIP per target.  FUZZ_CHECK_RUNS inputs each (default 5000).
set -u
cd "$(dirname "$0")/../.."
runs=${FUZZ_CHECK_RUNS:-5000}
fz=build/fuzz
for src in tests/fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	t=${t#fuzz_}
	if ! command -v clang >/dev/null; then
		echo "SKIP fuzz/$t: clang not installed"
		continue
	fi
	if [ ! -x "$fz/fuzz_$t" ]; then
		echo "FAIL fuzz/$t: $fz/fuzz_$t was not built (make fuzz-build)"
		continue
	fi
	rm -rf "$fz/check-$t" && mkdir -p "$fz/check-$t" "$fz/corpus-$t"
	if "$fz/fuzz_$t" -seed=1 -runs="$runs" -max_len=262144 \
		"$fz/check-$t" "$fz/corpus-$t" >"$fz/fuzz-check-$t.log" 2>&1; then
		echo "PASS fuzz/$t: $runs runs, seed 1"
	else
		echo "FAIL fuzz/$t: crash or leak in $runs runs (log: $fz/fuzz-check-$t.log)"
		tail -40 "$fz/fuzz-check-$t.log" | sed 's/^/  | /'
	fi
done
