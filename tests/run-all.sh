#!/bin/bash
# Run every ringvm test and summarize (called by `make check` after it built
# build/ringvm, build/asan/ringvm, build/asan/tests/test_* and build/guest).
#
#   tests/run-all.sh [unit|fuzz|isa|system|interp]...  (default: all five, in that order)
#
# 1. each cmocka unit test binary build/asan/tests/test_* (every cmocka test
#    case counts as one test; a binary that crashes or stops early adds a FAIL),
# 2. tests/fuzz/check.sh (a short fixed-seed run of each libFuzzer target),
# 3. tests/isa/run.sh, if present,
# 4. each tests/system/*.sh (guests run under the default engine, the JIT),
# 5. again, under the interpreter (RINGVM_ACCEL=interp), each system script
#    that runs guest code: those with a "# ringvm-engines: jit interp" line.
#    Their results are named "interp/NAME".
# Every script prints "PASS <name>", "FAIL <name>: <why>" or
# "SKIP <name>: <reason>" lines (other lines pass through uncounted); a script
# that exits non-zero without a FAIL line, or prints no result at all, counts
# as one failure.  The last line is "N passed, N failed, N skipped"; the exit
# status is 1 if anything failed.
# The last check, "hygiene", passes when the tests left nothing behind:
# no process that inherited this run's RINGVM_TEST_TAG, no network namespace
# named after it, no TAP device "rvt*" in this namespace, no mount and no
# file under this run's temporary directory (whatever it finds is listed,
# then removed).
# Environment: RINGVM_UNIT_TIMEOUT (per unit binary, default 300 s),
# RINGVM_SCRIPT_TIMEOUT (per script, default 1200 s).
set -eu
cd "$(dirname "$0")/.."

unit_timeout=${RINGVM_UNIT_TIMEOUT:-300}
script_timeout=${RINGVM_SCRIPT_TIMEOUT:-1200}
npass=0 nfail=0 nskip=0
out=$(mktemp "${TMPDIR:-/tmp}/ringvm-run-all.XXXXXX")
# Everything the tests make carries this tag (tests/system/lib/common.sh) and
# lives under this directory.
export RINGVM_TEST_TAG=ringvm-check-$$
check_tmp=$(mktemp -d "${TMPDIR:-/tmp}/$RINGVM_TEST_TAG.XXXXXX")
trap 'rm -f "$out" "$out.tap"; rm -rf "$check_tmp"' EXIT
# Traversable (not listable) by others: a container test maps its root to an
# unprivileged host uid that must reach a bundle below here.
chmod 711 "$check_tmp"
export TMPDIR=$check_tmp

result() {   # result PASS|FAIL|SKIP LINE
	echo "$2"
	case $1 in
	PASS) npass=$((npass + 1)) ;;
	FAIL) nfail=$((nfail + 1)) ;;
	SKIP) nskip=$((nskip + 1)) ;;
	esac
}

secs() { echo $(($(date +%s) - $1)); }

# A cmocka binary, run with TAP output; each test case is one result.
run_unit() {
	local bin=$1 name st planned=0 seen=0 nfail_before=$nfail line t0
	name=unit/$(basename "$bin")
	t0=$(date +%s)
	set +e
	CMOCKA_MESSAGE_OUTPUT=TAP timeout -k 10 "$unit_timeout" "$bin" >"$out.tap" 2>"$out"
	st=$?
	set -e
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		[0-9]*..[0-9]*) planned=$((planned + ${line#*..})) ;;
		"ok "[0-9]*" - "*) seen=$((seen + 1)); result PASS "PASS $name/${line#* - }" ;;
		"not ok "[0-9]*" # SKIP"*)
			seen=$((seen + 1))
			line=${line#*# SKIP}; result SKIP "SKIP $name/${line# }: skipped" ;;
		"not ok "[0-9]*" - "*)
			seen=$((seen + 1)); result FAIL "FAIL $name/${line#* - }: see the messages below" ;;
		"# not ok - "*|"# ok - "*) ;;
		"#"*) echo "  $line" ;;
		esac
	done <"$out.tap"
	if [ "$st" -eq 124 ] || [ "$st" -eq 137 ]; then
		result FAIL "FAIL $name: timed out after ${unit_timeout}s"
	elif [ "$seen" -lt "$planned" ]; then
		result FAIL "FAIL $name: stopped after $seen of $planned tests (exit status $st)"
	elif [ "$st" -ne 0 ] && [ "$nfail" -eq "$nfail_before" ]; then
		result FAIL "FAIL $name: exit status $st without a failed test"
	elif [ "$seen" -eq 0 ] && [ "$st" -eq 0 ]; then
		result FAIL "FAIL $name: ran no tests"
	fi
	if [ "$nfail" -ne "$nfail_before" ] && [ -s "$out" ]; then
		sed -n '1,40s/^/  | /p' "$out"
	fi
	echo "# $name: $(secs "$t0")s"
}

# A script following the PASS/FAIL/SKIP convention; PREFIX (optional) goes
# before each result's name.
run_script() {
	local script=$1 prefix=${2:-} st nfail_before=$nfail counted_before t0 line
	counted_before=$((npass + nfail + nskip))
	t0=$(date +%s)
	echo "# $prefix$script"
	set +e
	if [ -x "$script" ]; then
		timeout -k 10 "$script_timeout" "$script" </dev/null >"$out"
	else
		timeout -k 10 "$script_timeout" bash "$script" </dev/null >"$out"
	fi
	st=$?
	set -e
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		"PASS "*|"FAIL "*|"SKIP "*)
			result "${line%% *}" "${line%% *} $prefix${line#* }" ;;
		*) echo "$line" ;;
		esac
	done <"$out"
	if [ "$st" -eq 124 ] || [ "$st" -eq 137 ]; then
		result FAIL "FAIL $prefix$script: timed out after ${script_timeout}s"
	elif [ "$st" -ne 0 ] && [ "$nfail" -eq "$nfail_before" ]; then
		result FAIL "FAIL $prefix$script: exited with status $st without reporting a failure"
	elif [ $((npass + nfail + nskip)) -eq "$counted_before" ]; then
		result FAIL "FAIL $prefix$script: reported no results"
	fi
	echo "# $prefix$script: $(secs "$t0")s"
}

sections=${*:-unit fuzz isa system interp}
for section in $sections; do
	case $section in
	unit)
		found=0
		for bin in build/asan/tests/test_*; do
			[ -x "$bin" ] && [ -f "$bin" ] || continue
			case $bin in *.d|*.o) continue ;; esac
			found=1
			run_unit "$bin"
		done
		[ "$found" = 1 ] || result SKIP "SKIP unit: no build/asan/tests/test_* binaries"
		;;
	fuzz)
		run_script tests/fuzz/check.sh
		;;
	isa)
		if [ -f tests/isa/run.sh ]; then
			run_script tests/isa/run.sh
			run_script tests/isa/run-jit.sh
		else
			result SKIP "SKIP isa: tests/isa/run.sh does not exist yet"
		fi
		;;
	system)
		for script in tests/system/*.sh; do
			[ -f "$script" ] || continue
			run_script "$script"
		done
		;;
	interp)
		for script in tests/system/*.sh; do
			grep -q '^# ringvm-engines: .*interp' "$script" || continue
			RINGVM_ACCEL=interp run_script "$script" interp/
		done
		;;
	*)
		echo "tests/run-all.sh: unknown section '$section' (want unit, fuzz, isa, system or interp)" >&2
		exit 2
		;;
	esac
done

# Leftovers of this run: processes (found by the tag in their environment;
# this script and its own children excluded), namespaces, TAP devices,
# mounts, files.  Printed, then removed so the next run starts clean.
leftovers() {
	python3 - "$$" "$RINGVM_TEST_TAG" <<'PY'
import os, sys
me, tag = sys.argv[1], ("RINGVM_TEST_TAG=" + sys.argv[2]).encode()
for pid in os.listdir("/proc"):
    if not pid.isdigit() or pid in (me, str(os.getpid())):
        continue
    try:
        with open("/proc/%s/environ" % pid, "rb") as f:
            if tag not in f.read().split(b"\0"):
                continue
        with open("/proc/%s/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()
        if st[1] == me or st[0] == "Z":
            continue
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        print("process %s %s" % (pid, cmd[:160]))
    except OSError:
        pass
PY
	if command -v ip >/dev/null; then
		ip netns list 2>/dev/null | awk -v t="$RINGVM_TEST_TAG" \
			'index($1, t) == 1 { print "netns " $1 }'
		ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^rvt/ { sub(/@.*/, "", $2); print "tap " $2 }'
	fi
	awk -v d="$check_tmp" 'index($2, d) == 1 { print "mount " $2 }' /proc/mounts
	find "$check_tmp" -mindepth 1 -maxdepth 1 -printf 'file %p\n' 2>/dev/null
}
remove_leftovers() {
	local kind what rest
	while read -r kind what rest; do
		case $kind in
		process) kill -KILL "$what" 2>/dev/null || true ;;
		netns) ip netns pids "$what" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		       ip netns del "$what" 2>/dev/null || true ;;
		tap) ip link del "$what" 2>/dev/null || true ;;
		mount) umount -l "$what" 2>/dev/null || true ;;
		file) rm -rf "$what" ;;
		esac
	done
}
left=$(leftovers)
if [ -z "$left" ]; then
	result PASS "PASS hygiene: nothing left behind"
else
	result FAIL "FAIL hygiene: the tests left $(echo "$left" | wc -l) thing(s) behind"
	echo "$left" | sed 's/^/  | /'
	echo "$left" | remove_leftovers
fi

echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
