#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# `ringvm exec --arch riscv64`: riscv64 Linux programs on this host.
#  - Debian's busybox-static inside --root: echo, ls, cat, sha256sum (against
#    the host's), a pipeline through sh -c, exit statuses;
#  - the guest's own faults end it as natively (139 for SIGSEGV);
#  - escapes from --root (.., absolute symlinks, /proc/self/root) stay inside;
#  - --mount (read-only refused writes);
#  - dynamic programs from a Debian rootfs (coreutils sha256sum, python3);
#  - tests/exec/*.c cross-built: the same output as the native build and as
#    qemu-riscv64-static when installed.
# Packages that cannot be fetched SKIP their part.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/system/lib/unix-escape.sh
. "$(dirname "$0")/lib/unix-escape.sh"

need_ringvm exec/busybox
S=$scratch
cache=${RINGVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ringvm}
T=${RINGVM_EXEC_TIMEOUT:-60}
RINGVM=$(realpath "$RINGVM")
rx() { timeout "$T" "$RINGVM" exec --arch riscv64 "$@"; }
# both NAME WHY CMD1 -- CMD2: PASS when both commands succeed.
both() {
	local name=$1 why=$2 a=() 
	shift 2
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	if "${a[@]}" && "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

# ---- busybox ----
bb=$cache/exec-rootfs-busybox
st=0
guest/exec-rootfs.sh busybox "$bb" >"$S/rootfs.log" 2>&1 || st=$?
if [ "$st" -ne 0 ]; then
	skip exec/busybox "busybox-static:riscv64 unavailable ($(tail -n1 "$S/rootfs.log"))"
else
	out=$(rx --root "$bb" -- /bin/echo hello riscv 2>&1) || true
	check exec/busybox-echo "got '$out'" [ "$out" = "hello riscv" ]

	out=$(rx --root "$bb" -- /bin/ls /bin 2>&1 | tr '\n' ' ') || true
	check exec/busybox-ls "got '$out'" grep -qw sha256sum <<<"$out"

	printf 'line one\nline two\n' >"$S/in.txt"
	out=$(rx --root "$bb" --mount "$S:/data" -- /bin/cat /data/in.txt 2>&1) || true
	check exec/busybox-cat-mount "got '$out'" [ "$out" = "$(cat "$S/in.txt")" ]

	head -c 3000000 /dev/urandom >"$S/blob"
	want=$(sha256sum <"$S/blob" | cut -d' ' -f1)
	got=$(rx --root "$bb" --mount "$S:/data:ro" -- /bin/sha256sum /data/blob 2>&1 | cut -d' ' -f1) || true
	check exec/busybox-sha256sum "got '$got', want $want" [ "$got" = "$want" ]

	out=$(rx --root "$bb" -- /bin/sh -c 'echo a b c | tr a-z A-Z | wc -w; seq 1 1000 | sort -n | tail -n1' 2>&1 | tr '\n' ' ') || true
	check exec/busybox-pipeline "got '$out'" [ "$out" = "3 1000 " ]

	set +e
	rx --root "$bb" -- /bin/sh -c 'exit 42' >/dev/null 2>&1
	st=$?
	echo data | rx --root "$bb" -- /bin/sh -c 'read x; [ "$x" = data ]' 2>/dev/null
	st2=$?
	rx --root "$bb" -- /bin/sh -c 'kill -TERM $$' >/dev/null 2>&1
	st3=$?
	set -e
	check exec/exit-status "sh exit 42 gave $st" [ "$st" -eq 42 ]
	printf '#!/bin/sh -e\necho "$0" "$@"\nexit 3\n' >"$S/script.sh"
	chmod +x "$S/script.sh"
	set +e
	out=$(rx --root "$bb" --mount "$S:/data" -- /bin/sh -c '/data/script.sh a "b c"; echo "status $?"' 2>&1 | tr '\n' ' ')
	set -e
	check exec/shebang-script "got '$out'" [ "$out" = "/data/script.sh a b c status 3 " ]
	# execve: the program's environment reaches the new program, never
	# the loader of the ringvm that runs it (a guest LD_PRELOAD there
	# would be code of its choosing outside the sandbox).
	out=$(rx --root "$bb" -- /bin/sh -c 'export LD_PRELOAD=/nonexistent.so FOO=bar; exec /bin/sh -c "echo \$FOO \$LD_PRELOAD"' 2>&1 | tr '\n' ' ')
	check exec/execve-env "got '$out'" [ "$out" = "bar /nonexistent.so " ]
	check exec/stdin "read from stdin gave $st2" [ "$st2" -eq 0 ]
	check exec/killed-by-signal "kill -TERM gave $st3, want 143" [ "$st3" -eq 143 ]

	set +e
	rx --root "$bb" --mount "$S:/data:ro" -- /bin/sh -c 'echo x > /data/new' >/dev/null 2>&1
	st=$?
	set -e
	both exec/mount-ro "write to a read-only mount: status $st, file $( [ -e "$S/new" ] && echo created || echo absent)" \
		[ "$st" -ne 0 ] -- [ ! -e "$S/new" ]

	# escapes: a copy of the root with planted links
	esc=$S/escroot
	cp -a "$bb" "$esc"
	echo secret >"$S/outside.txt"
	ln -s / "$esc/tmp/abs"
	ln -s ../../../../../.. "$esc/tmp/rel"
	for p in "/../../../../$S/outside.txt" "/tmp/abs$S/outside.txt" \
		"/tmp/rel$S/outside.txt" "/proc/self/root$S/outside.txt" \
		"/proc/1/root$S/outside.txt"; do
		out=$(rx --root "$esc" -- /bin/cat "$p" 2>/dev/null) || true
		check "exec/escape:$p" "read '$out' from outside the root" [ "$out" != secret ]
	done
	out=$(cd "$esc/tmp" && rx --root "$esc" -- /bin/sh -c 'cd ../../../..; pwd; ls' 2>&1 | tr '\n' ' ') || true
	check exec/escape-cwd "cd .. above the root shows '$out'" grep -q '^/ bin .*usr' <<<"$out"
	set +e
	rx --root "$esc" -- /bin/ln -s /tmp/abs/etc "/tmp/x" >/dev/null 2>&1
	rx --root "$esc" -- /bin/sh -c "echo owned > /tmp/abs$S/planted" >/dev/null 2>&1
	set -e
	check exec/escape-write "a write through an absolute symlink left the root" [ ! -e "$S/planted" ]
	# The calls that follow a final symlink (stat, access, utimes, chmod) must
	# follow it inside the root, not on the host.
	ln -sfn "$S/outside.txt" "$esc/tmp/final"
	touch -d 2001-02-03 "$S/outside.txt"
	chmod 600 "$S/outside.txt"
	out=$(rx --root "$esc" -- /bin/sh -c "for f in /tmp/final /tmp/abs$S/outside.txt; do test -e \$f && echo seen; stat -L -c %s \$f; touch \$f; chmod 666 \$f; done" 2>/dev/null) || true
	check exec/escape-follow "stat/access/touch/chmod through a symlink reached the host: '$out', $(stat -c '%a %y' "$S/outside.txt")" \
		bash -c "[ -z '$out' ] && [ \"\$(stat -c %a '$S/outside.txt')\" = 600 ] && stat -c %y '$S/outside.txt' | grep -q ^2001-02-03"
fi

# ---- tests/exec C programs ----
CROSS_CC=${CROSS_CC:-riscv64-linux-gnu-gcc}
if ! command -v "$CROSS_CC" >/dev/null; then
	skip exec/c-tests "$CROSS_CC not installed (scripts/install-deps.sh)"
else
	qemu=$(command -v qemu-riscv64-static || true)
	mkdir -p build/exec-tests
	for src in tests/exec/*.c; do
		t=$(basename "$src" .c)
		rv=build/exec-tests/$t.rv nat=build/exec-tests/$t.native
		if [ ! -s "$rv" ] || [ "$src" -nt "$rv" ]; then
			"$CROSS_CC" -static -O2 -pthread -o "$rv.tmp" "$src" && mv "$rv.tmp" "$rv" ||
				{ fail "exec/c-$t" "cross build failed"; continue; }
		fi
		if [ ! -s "$nat" ] || [ "$src" -nt "$nat" ]; then
			gcc -O2 -pthread -o "$nat.tmp" "$src" && mv "$nat.tmp" "$nat" ||
				{ fail "exec/c-$t" "native build failed"; continue; }
		fi
		[ "$t" = crash ] && continue
		args=()
		[ "$t" = files ] && args=("$S/files")
		[ "$t" = auxv ] && args=(a "b c")
		export AUXV_TEST=yes
		set +e
		timeout "$T" "$nat" "${args[@]}" >"$S/$t.native" 2>&1
		ns=$?
		rx -- "$rv" "${args[@]}" >"$S/$t.ringvm" 2>&1
		rs=$?
		set -e
		if [ "$rs" -ne "$ns" ] || ! cmp -s "$S/$t.native" "$S/$t.ringvm"; then
			fail "exec/c-$t" "status $rs (native $ns); $(diff "$S/$t.native" "$S/$t.ringvm" | head -5 | tr '\n' '|')"
		else
			pass "exec/c-$t"
		fi
		if [ -n "$qemu" ]; then
			set +e
			timeout "$T" "$qemu" "$rv" "${args[@]}" >"$S/$t.qemu" 2>&1
			qs=$?
			set -e
			if [ "$qs" -ne "$ns" ] || ! cmp -s "$S/$t.qemu" "$S/$t.native"; then
				skip "exec/c-$t-vs-qemu" "qemu-riscv64-static differs from native here ($(grep -m1 FAIL "$S/$t.qemu" | head -c 120))"
			else
				both "exec/c-$t-vs-qemu" "qemu status $qs, output differs" \
					[ "$qs" -eq "$rs" ] -- cmp -s "$S/$t.qemu" "$S/$t.ringvm"
			fi
		fi
	done
	crash=build/exec-tests/crash.rv
	for m in "null 139" "jump 139" "abort 134" "exit7 7"; do
		set -- $m
		arg=$1
		[ "$arg" = exit7 ] && arg="exit 7"
		set +e
		# shellcheck disable=SC2086
		{ (rx -- "$crash" $arg) >/dev/null 2>&1; } 2>/dev/null
		st=$?
		# shellcheck disable=SC2086
		{ (build/exec-tests/crash.native $arg) >/dev/null 2>&1; } 2>/dev/null
		nst=$?
		set -e
		both "exec/crash-$1" "status $st, native $nst, want $2" [ "$st" -eq "$2" ] -- [ "$nst" -eq "$2" ]
	done
	unix_connect_escape exec/escape-unix-connect rx build/exec-tests/sockets.rv
fi

# ---- dynamic programs ----
dyn=$cache/exec-rootfs-dynamic
st=0
guest/exec-rootfs.sh dynamic "$dyn" >"$S/dyn.log" 2>&1 || st=$?
if [ "$st" -ne 0 ]; then
	skip exec/dynamic "riscv64 libc6/coreutils/python3 unavailable ($(tail -n1 "$S/dyn.log"))"
else
	want=$(sha256sum <"$dyn/usr/bin/ls" | cut -d' ' -f1)
	got=$(rx --root "$dyn" -- /usr/bin/sha256sum /usr/bin/ls 2>&1 | cut -d' ' -f1) || true
	check exec/dynamic-sha256sum "got '$got', want $want" [ "$got" = "$want" ]
	out=$(rx --root "$dyn" -- /usr/bin/python3 -c 'print(42)' 2>&1) || true
	check exec/dynamic-python3 "got '$out'" [ "$out" = 42 ]
	out=$(rx --root "$dyn" -- /usr/bin/python3 -c '
import os, threading, subprocess
r = []
ts = [threading.Thread(target=lambda i=i: r.append(i * i)) for i in range(4)]
[t.start() for t in ts]; [t.join() for t in ts]
print(sorted(r), os.path.exists("/usr/bin/ls"), os.uname().machine)
print(subprocess.run(["/usr/bin/echo", "child"], capture_output=True).stdout.decode().strip())
' 2>&1 | tr '\n' ' ') || true
	check exec/dynamic-python3-threads-subprocess "got '$out'" \
		[ "$out" = "[0, 1, 4, 9] True riscv64 child " ]
fi
