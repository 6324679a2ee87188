#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# `ringvm exec --install-binfmt`: riscv64 ELFs then run directly, through
# ringvm (like qemu-user-static's registration): output, exit status,
# argv[0] kept (a busybox applet by symlink name), the process image is
# ringvm's; `--uninstall-binfmt` removes the entry.  Needs root and
# binfmt_misc; the registration is removed on every exit path.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

names="exec/binfmt-install exec/binfmt-run exec/binfmt-status exec/binfmt-argv0
	exec/binfmt-is-ringvm exec/binfmt-uninstall"
skip_all() { for n in $names; do skip "$n" "$1"; done; exit 0; }
need_ringvm $names
B=/proc/sys/fs/binfmt_misc
[ "$(id -u)" = 0 ] || skip_all "needs root"
[ -w "$B/register" ] || skip_all "binfmt_misc not mounted at $B"
[ ! -e "$B/ringvm-riscv64" ] || skip_all "ringvm-riscv64 is already registered"
S=$scratch
cache=${RINGVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ringvm}
bb=$cache/exec-rootfs-busybox
guest/exec-rootfs.sh busybox "$bb" >"$S/rootfs.log" 2>&1 ||
	skip_all "busybox-static:riscv64 unavailable ($(tail -n1 "$S/rootfs.log"))"
RINGVM=$(realpath "$RINGVM")
mkdir "$S/bin"
cp "$bb/bin/busybox" "$S/bin/busybox"
chmod 755 "$S/bin/busybox"
ln -s busybox "$S/bin/echo"

uninstall() { [ ! -e "$B/ringvm-riscv64" ] || echo -1 >"$B/ringvm-riscv64"; }
at_exit uninstall
"$RINGVM" exec --install-binfmt 2>"$S/install.err" || true
entry=$(cat "$B/ringvm-riscv64" 2>/dev/null || true)
check exec/binfmt-install "entry: '$entry' $(cat "$S/install.err")" \
	grep -qx "interpreter $RINGVM" <<<"$entry"
grep -qx enabled <<<"$entry" || fail exec/binfmt-install "not enabled"
grep -qx "flags: POF" <<<"$entry" || fail exec/binfmt-install "flags: $entry"

out=$(timeout 60 "$S/bin/busybox" echo hello riscv 2>&1) || true
check exec/binfmt-run "got '$out'" [ "$out" = "hello riscv" ]
st=0
timeout 60 "$S/bin/busybox" sh -c 'exit 7' || st=$?
check exec/binfmt-status "exit status $st, want 7" [ "$st" = 7 ]
# busybox picks its applet from argv[0]: the symlink's name must reach it.
out=$(timeout 60 "$S/bin/echo" via argv0 2>&1) || true
check exec/binfmt-argv0 "got '$out'" [ "$out" = "via argv0" ]
"$S/bin/busybox" sleep 2 &
pid=$!
bg_track $pid
exe=
for _ in $(seq 50); do
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
	[ -z "$exe" ] || break
	sleep 0.05
done
wait $pid || true
check exec/binfmt-is-ringvm "the process image is '$exe'" [ "$exe" = "$RINGVM" ]

"$RINGVM" exec --uninstall-binfmt 2>"$S/uninstall.err" || true
check exec/binfmt-uninstall "$(cat "$S/uninstall.err")" [ ! -e "$B/ringvm-riscv64" ]
