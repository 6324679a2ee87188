#!/bin/sh
# The ISA tests again with binary translation: in lockstep with the
# interpreter (--accel jit-verify: every block translated on first use and
# checked against the interpreter), then as users run it (--accel jit).
# Results are named isa/jit-verify/NAME and isa/jit/NAME; multi-hart tests
# run under jit only (lockstep needs one hart: another hart's stores would
# land between the two runs of a block).
here=$(cd "$(dirname "$0")" && pwd)
st=0
"$here/run.sh" --accel jit-verify "$@" || st=1
"$here/run.sh" --accel jit "$@" || st=1
exit $st
