#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# Without ringvm.cmd the guest runs an interactive shell on the console.  With
# stdin not a terminal, ringvm feeds stdin to the guest's UART and sends
# Ctrl-D at EOF, so the shell exits and the guest powers off: ringvm exit 0.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="console/exit-0 console/guest-ready console/stdin-command console/no-cmd-exit-line"
need_ringvm $names
need_guest $names

printf 'echo console-$((6*7))-ok\n' >"$scratch/stdin"
log=$scratch/console
GUEST_STDIN=$scratch/stdin run_guest "$log"
status_ok console/exit-0 "$log"
echo "# console: ${run_secs}s wall, exit $run_status"
check console/guest-ready "no RINGVM-GUEST-READY line" has "$log" '^RINGVM-GUEST-READY$'
# The typed line is echoed back; only the command's output is exactly this.
check console/stdin-command "the shell did not run the command read from stdin" \
	has "$log" '(^|[#$] )console-42-ok$'
if has "$log" '^RINGVM-CMD-EXIT'; then
	fail console/no-cmd-exit-line "a ringvm.cmd ran although none was given"
else
	pass console/no-cmd-exit-line
fi
