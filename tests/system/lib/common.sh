# shellcheck shell=bash
# Shared helpers for tests/system/*.sh (sourced; bash).
#
# Every test prints PASS <name> / FAIL <name>: <why> / SKIP <name>: <reason>.
# RINGVM (default build/ringvm; RINGVM_BIN wins, e.g. build/asan/ringvm) and
# GUEST (default build/guest) may be overridden; paths are relative to the
# repository root, where tests run.
# RINGVM_TEST_TIMEOUT bounds each guest boot (seconds, default 300).
# RINGVM_TEST_KEEP=1 keeps the scratch directory and logs for inspection.

cd "$(dirname "${BASH_SOURCE[0]}")/../../.." || exit 1
RINGVM=${RINGVM_BIN:-${RINGVM:-build/ringvm}}
GUEST=${GUEST:-build/guest}
BOOT_TIMEOUT=${RINGVM_TEST_TIMEOUT:-300}

# A sanitizer build (RINGVM_BIN=build/asan/ringvm or build/tsan/ringvm): any
# report fails the run that printed it (status_ok looks at its stderr); leaks
# are checked at exit, through the seccomp filter (vmm/sandbox.c lets
# LeakSanitizer work).
case $RINGVM in */asan/*) RINGVM_ASAN=1 ;; esac
if [ "${RINGVM_ASAN:-0}" = 1 ]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:abort_on_error=0}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
	BOOT_TIMEOUT=$((BOOT_TIMEOUT * 2))
fi
# sanitizer_report FILE: the first line of a sanitizer report in FILE.
sanitizer_report() {
	grep -m1 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|UndefinedBehaviorSanitizer|WARNING: ThreadSanitizer|ThreadSanitizer:' "$1" 2>/dev/null
}

failed=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failed=1; }
skip() { echo "SKIP $1: $2"; }

# check NAME CONDITION-WORDS... WHY: PASS if the command succeeds.
check() {
	local name=$1 why=$2
	shift 2
	if "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

# RINGVM_TEST_TAG names what the tests create, so tests/run-all.sh can check
# at the end that nothing is left (it exports one per run; every process a
# test starts inherits it): scratch directories, network namespaces
# ("$RINGVM_TEST_TAG-..."); TAP devices, whose names are short, start with
# "rvt".
export RINGVM_TEST_TAG=${RINGVM_TEST_TAG:-ringvm-test-$$}

# A scratch directory removed at exit (unless RINGVM_TEST_KEEP=1).
scratch=$(mktemp -d "${TMPDIR:-/tmp}/$RINGVM_TEST_TAG.XXXXXX") || exit 1
cleanup_scratch() {
	if [ "${RINGVM_TEST_KEEP:-0}" = 1 ]; then
		echo "# kept $scratch" >&2
	else
		rm -rf "$scratch"
	fi
}

# Background work: bg_track PID ends PID and every process below it at exit
# (a backgrounded shell function is a subshell whose children outlive a
# plain kill); at_exit CMD runs CMD at exit, after those, last added first.
bg_pids=()
exit_hooks=()
bg_track() { bg_pids+=("$1"); }
at_exit() { exit_hooks+=("$*"); }

# tree_of PID: PID and its descendants, one per line.
tree_of() {
	ps -e -o pid= -o ppid= | awk -v root="$1" '
		{ par[$1] = $2 }
		END { for (p in par) { q = p; n = 0
			while (q != root && (q in par) && q > 1 && n++ < 64) q = par[q]
			if (q == root) print p } }'
}

# kill_tree PID: TERM, then KILL after 3 s, to PID and its descendants.
kill_tree() {
	local pids i
	pids=$(tree_of "$1")
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	for i in $(seq 30); do   # zombies (not yet reaped) count as gone
		# shellcheck disable=SC2086
		ps -o stat= -p "$(echo $pids | tr ' ' ,)" 2>/dev/null | grep -qv '^Z' || break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null || true
}

# wait_bounded PID SECS: wait for a child, at most SECS seconds (then KILL
# it); sets wait_status (124 when it had to be killed).
wait_bounded() {
	local i
	for i in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1" 2>/dev/null || true
		wait "$1" 2>/dev/null || true
		wait_status=124
		return
	fi
	set +e
	wait "$1"
	wait_status=$?
	set -e
}

# netns_cleanup NS: end every process in namespace NS, then delete it.
netns_cleanup() {
	local pids
	pids=$(ip netns pids "$1" 2>/dev/null || true)
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
	ip netns del "$1" 2>/dev/null || true
}

run_exit_hooks() {
	local i
	for i in "${bg_pids[@]}"; do kill_tree "$i"; done
	for ((i = ${#exit_hooks[@]} - 1; i >= 0; i--)); do
		eval "${exit_hooks[i]}" || true
	done
}
# Exit 1 when any check failed (or the script died: status kept).  A signal
# (Ctrl-C, run-all's timeout) goes through the same clean-up.
trap 'st=$?; run_exit_hooks; cleanup_scratch; [ "$st" -ne 0 ] || st=$failed; exit "$st"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# need_ringvm NAME...: FAIL every NAME and exit if the binary is missing.
need_ringvm() {
	local n
	if [ ! -x "$RINGVM" ]; then
		for n in "$@"; do fail "$n" "$RINGVM is missing (build it with make)"; done
		exit 1
	fi
}

# need_guest NAME...: FAIL every NAME and exit if the default guest is missing.
need_guest() {
	local n
	if [ ! -s "$GUEST/Image" ] || [ ! -s "$GUEST/initrd.img" ]; then
		for n in "$@"; do fail "$n" "$GUEST/Image or initrd.img missing (make guest)"; done
		exit 1
	fi
}

# run_guest LOG ARGS...: boot `ringvm run ARGS...` with stdin from /dev/null
# (or from $GUEST_STDIN), console to LOG (CRs stripped into LOG.txt), under a
# timeout.  Sets run_status (124 = timed out) and run_secs.
run_guest() {
	local log=$1 t0 t1
	shift
	t0=$(date +%s.%N)
	set +e
	timeout -k 10 "$BOOT_TIMEOUT" "$RINGVM" run "$@" \
		<"${GUEST_STDIN:-/dev/null}" >"$log" 2>"$log.err"
	run_status=$?
	set -e
	t1=$(date +%s.%N)
	run_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	tr -d '\r' <"$log" >"$log.txt"
}

# status_ok NAME LOG: PASS when run_status is 0 and LOG.err has no sanitizer
# report, else FAIL with a reason.
status_ok() {
	local report
	if report=$(sanitizer_report "$2.err"); then
		fail "$1" "sanitizer report: $report"
		return
	fi
	case $run_status in
	0) pass "$1" ;;
	124|137) fail "$1" "timed out after ${BOOT_TIMEOUT}s" ;;
	*) fail "$1" "exit status $run_status$( [ "$run_status" -ge 128 ] && echo ' (crashed)'): $(tail -n 2 "$2.err" 2>/dev/null | tr '\n' ' ')" ;;
	esac
}

# has LOG REGEX: the (CR-stripped) console log has a line matching REGEX.
has() { grep -qE "$2" "$1.txt"; }

# refused NAME EXPECTED-REGEX CMD...: CMD must exit 1 with exactly one stderr
# line matching EXPECTED-REGEX (the "bad input" contract).
refused() { refused_status 1 "$@"; }

# refused_status STATUS NAME EXPECTED-REGEX CMD...: as refused, for a command
# whose bad-input status is STATUS (`ringvm container` uses docker's 125).
refused_status() {
	local want=$1 name=$2 re=$3 st
	shift 3
	set +e
	"$@" >"$scratch/out" 2>"$scratch/err" </dev/null
	st=$?
	set -e
	if [ "$st" != "$want" ]; then
		fail "$name" "exit status $st, want $want ($(head -c 200 "$scratch/err"))"
	elif [ "$(wc -l <"$scratch/err")" != 1 ]; then
		fail "$name" "want one line on stderr, got: $(head -c 300 "$scratch/err" | tr '\n' '|')"
	elif ! grep -qE -e "$re" "$scratch/err"; then
		fail "$name" "message '$(cat "$scratch/err")' does not match /$re/"
	else
		pass "$name"
	fi
}
