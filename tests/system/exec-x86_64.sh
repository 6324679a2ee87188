#!/bin/bash
# `ringvm exec` of x86-64 programs in the KVM ring-3 sandbox.
#  - tests/exec-x86/kvmtest.c (host gcc -static): output and status as a
#    native run (hello with argv/--env, files, memory, a compute loop, exit
#    status 7, processes: fork, vfork, posix_spawn, execve and its errors,
#    wait4, waitid, kill of a child, a fork in a thread, an exec with a
#    second thread running, what execve keeps of signals; page
#    permissions: mmap's prot, mprotect — a PROT_NONE guard, read-only
#    then back, NX, munmap, the errors; hostile calls on the VMM's system
#    area; a page made PROT_NONE by one thread while another uses it;
#    threads flipping pages of one table while signals come; glibc's
#    thread stack guard; the ring-3 shim's registers and red zone); its
#    faults end it as natively (NULL deref, store to code, wild jump,
#    stack overflow 139; ud2 132; divide error 136; abort 134);
#  - the same program linked dynamically (the host's ld.so and libc) and
#    the host's python3, also starting a child by subprocess;
#  - Debian's busybox-static amd64 inside --root: echo, cat, ls, sha256sum
#    (against the host's), sh -c with builtins, pipelines and external
#    commands, exit statuses (127, 126, 143 for a child killed by SIGTERM),
#    exec, a #! script, --mount (ro refuses writes), kill of a process
#    outside its reach refused;
#  - escapes from --root (.., absolute symlinks, /proc/self/root) stay inside;
#  - the VMM runs under its seccomp filter;
#  - the shared C programs of tests/exec (files, mmap, threads, signals,
#    timers, clocks, pipes, sockets, auxv, fileio: the I/O queue under
#    threads, a timer and fork), static, against their native run.
# SKIP without /dev/kvm or when KVM_CREATE_VM fails.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/system/lib/unix-escape.sh
. "$(dirname "$0")/lib/unix-escape.sh"

need_ringvm exec-x86/kvm
S=$scratch
trap cleanup_scratch EXIT
cache=${RINGVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ringvm}
T=${RINGVM_EXEC_TIMEOUT:-60}
RINGVM=$(realpath "$RINGVM")
kx() { timeout "$T" "$RINGVM" exec "$@"; }
both() {
	local name=$1 why=$2 a=()
	shift 2
	while [ "$1" != -- ]; do a+=("$1"); shift; done
	shift
	if "${a[@]}" && "$@"; then pass "$name"; else fail "$name" "$why"; fi
}

if ! gcc -O2 -static -o "$S/kvmtest" tests/exec-x86/kvmtest.c 2>"$S/cc.log"; then
	skip exec-x86/kvm "gcc -static cannot build tests/exec-x86/kvmtest.c ($(tail -n1 "$S/cc.log"))"
	exit 0
fi
if [ ! -e /dev/kvm ]; then
	skip exec-x86/kvm "no /dev/kvm"
	exit 0
fi
set +e
out=$(kx -- "$S/kvmtest" hello 2>&1)
st=$?
set -e
if [ "$st" -ne 0 ] && grep -qE '/dev/kvm|KVM_CREATE_VM|enters ring 0' <<<"$out"; then
	skip exec-x86/kvm "KVM unusable here: $out"
	exit 0
fi

# ---- the project's own program, against a native run ----
mkdir -p "$S/files"
head -c 4096 /dev/zero >"$S/stdin.bin"
# The system area of the default 2 GiB guest (natively nothing is there).
sys=0x7fe00000
for m in "hello a b" "files $S/files" memory "compute 3000000" handlers efault \
	shim fpsig waitmask prot "hostile $sys" threadprot protstress guard exit7 "procs $S"; do
	set +e
	KVMTEST=yes "$S/kvmtest" $m >"$S/native.out" 2>/dev/null <"$S/stdin.bin"
	ns=$?
	kx --env KVMTEST=yes -- "$S/kvmtest" $m >"$S/kvm.out" 2>"$S/kvm.err" <"$S/stdin.bin"
	ks=$?
	set -e
	name=exec-x86/${m%% *}
	if [ "$ks" -ne "$ns" ] || ! cmp -s "$S/native.out" "$S/kvm.out"; then
		fail "$name" "status $ks (native $ns); $(diff "$S/native.out" "$S/kvm.out" | head -4 | tr '\n' '|') $(head -c 200 "$S/kvm.err")"
	else
		pass "$name"
	fi
done
check exec-x86/exit-status-7 "exit7 gave something else" bash -c "'$RINGVM' exec -- '$S/kvmtest' exit7; [ \$? -eq 7 ]"
out=$(kx -- "$S/kvmtest" sysmap $sys 2>&1 | tr '\n' '|') || true
want="mmap over the entry page: Cannot allocate memory|mmap into the system area: Cannot allocate memory|munmap of the system area: -1 Invalid argument|entry page w: MAPERR at the address|system area r: MAPERR at the address|"
check exec-x86/sysmap "got '$out'" [ "$out" = "$want" ]

for m in "null 139" "writetext 139" "wild 139" "stackoverflow 139" "ud2 132" "div0 136" "abort 134"; do
	set -- $m
	set +e
	{ (kx -- "$S/kvmtest" "$1") >/dev/null 2>&1; } 2>/dev/null
	st=$?
	{ ("$S/kvmtest" "$1") >/dev/null 2>&1; } 2>/dev/null
	nst=$?
	set -e
	both "exec-x86/fault-$1" "status $st, native $nst, want $2" [ "$st" -eq "$2" ] -- [ "$nst" -eq "$2" ]
done

# ---- dynamic programs: the host's ld.so and libc (no --root) ----
if gcc -O2 -o "$S/kvmtest-dyn" tests/exec-x86/kvmtest.c 2>>"$S/cc.log"; then
	for m in "hello a b" "files $S/files" memory handlers prot "procs $S"; do
		set +e
		KVMTEST=yes "$S/kvmtest-dyn" $m >"$S/native.out" 2>/dev/null
		ns=$?
		kx --env KVMTEST=yes -- "$S/kvmtest-dyn" $m >"$S/kvm.out" 2>"$S/kvm.err"
		ks=$?
		set -e
		name=exec-x86/dynamic-${m%% *}
		if [ "$ks" -ne "$ns" ] || ! cmp -s "$S/native.out" "$S/kvm.out"; then
			fail "$name" "status $ks (native $ns); $(diff "$S/native.out" "$S/kvm.out" | head -4 | tr '\n' '|') $(head -c 200 "$S/kvm.err")"
		else
			pass "$name"
		fi
	done
else
	skip exec-x86/dynamic "gcc cannot build a dynamic kvmtest"
fi
py=$(readlink -f /usr/bin/python3 2>/dev/null || true)
if [ -n "$py" ] && [ "$(head -c4 "$py" | od -An -c | tr -d ' ')" = '177ELF' ]; then
	out=$(kx -- "$py" -c 'import hashlib; print(6 * 7, hashlib.sha256(b"kvm").hexdigest()[:8])' 2>&1) || true
	want=$("$py" -c 'import hashlib; print(6 * 7, hashlib.sha256(b"kvm").hexdigest()[:8])')
	check exec-x86/dynamic-python3 "got '$out', want '$want'" [ "$out" = "$want" ]
	# subprocess: vfork and execve of a dynamic program, a pipe back
	out=$(kx -- "$py" -c 'import subprocess; print(subprocess.run(["/bin/echo","hi"],capture_output=True).stdout)' 2>&1) || true
	check exec-x86/dynamic-python3-subprocess "got '$out'" [ "$out" = "b'hi\\n'" ]
else
	skip exec-x86/dynamic-python3 "no ELF /usr/bin/python3"
fi

# ---- the shared C programs of tests/exec (as exec-riscv64.sh runs them
# emulated): the same output and status as their native run ----
mkdir -p build/exec-tests
for src in tests/exec/*.c; do
	t=$(basename "$src" .c)
	[ "$t" = crash ] && continue   # its modes are kvmtest's fault checks
	bin=build/exec-tests/$t.x86
	if [ ! -s "$bin" ] || [ "$src" -nt "$bin" ]; then
		gcc -O2 -static -pthread -o "$bin.tmp" "$src" 2>>"$S/cc.log" &&
			mv "$bin.tmp" "$bin" ||
			{ fail "exec-x86/c-$t" "static build failed"; continue; }
	fi
	args=()
	[ "$t" = files ] && args=("$S/cfiles")
	[ "$t" = auxv ] && args=(a "b c")
	set +e
	AUXV_TEST=yes timeout "$T" "$bin" "${args[@]}" >"$S/$t.native" 2>&1
	ns=$?
	kx --env AUXV_TEST=yes -- "$bin" "${args[@]}" >"$S/$t.kvm" 2>&1
	ks=$?
	set -e
	if [ "$ks" -ne "$ns" ] || ! cmp -s "$S/$t.native" "$S/$t.kvm"; then
		fail "exec-x86/c-$t" "status $ks (native $ns); $(diff "$S/$t.native" "$S/$t.kvm" | head -5 | tr '\n' '|')"
	else
		pass "exec-x86/c-$t"
	fi
done

if [ -s build/exec-tests/sockets.x86 ]; then
	unix_connect_escape exec-x86/escape-unix-connect kx build/exec-tests/sockets.x86
fi

# ---- busybox-static amd64 ----
bb=$cache/exec-rootfs-busybox-amd64
st=0
guest/exec-rootfs.sh busybox-amd64 "$bb" >"$S/rootfs.log" 2>&1 || st=$?
if [ "$st" -ne 0 ]; then
	skip exec-x86/busybox "busybox-static:amd64 unavailable ($(tail -n1 "$S/rootfs.log"))"
	exit "$failed"
fi
out=$(kx --root "$bb" -- /bin/echo hello kvm 2>&1) || true
check exec-x86/busybox-echo "got '$out'" [ "$out" = "hello kvm" ]

out=$(kx --root "$bb" -- /bin/ls /bin 2>&1 | tr '\n' ' ') || true
check exec-x86/busybox-ls "got '$out'" grep -qw sha256sum <<<"$out"

printf 'line one\nline two\n' >"$S/in.txt"
out=$(kx --root "$bb" --mount "$S:/data" -- /bin/cat /data/in.txt 2>&1) || true
check exec-x86/busybox-cat-mount "got '$out'" [ "$out" = "$(cat "$S/in.txt")" ]

head -c 3000000 /dev/urandom >"$S/blob"
want=$(sha256sum <"$S/blob" | cut -d' ' -f1)
got=$(kx --root "$bb" --mount "$S:/data:ro" -- /bin/sha256sum /data/blob 2>&1 | cut -d' ' -f1) || true
check exec-x86/busybox-sha256sum "got '$got', want $want" [ "$got" = "$want" ]

out=$(echo in | kx --root "$bb" -- /bin/sh -c 'read x; echo "$x $((6*7))"; cd /tmp; pwd; exit 42' 2>&1 | tr '\n' ' ')
set +e
kx --root "$bb" -- /bin/sh -c 'exit 42' >/dev/null 2>&1
st=$?
set -e
both exec-x86/busybox-sh "got '$out', status $st" [ "$out" = "in 42 /tmp " ] -- [ "$st" -eq 42 ]

printf '#!/bin/sh -e\necho "$0" "$@"\nexit 3\n' >"$S/script.sh"
chmod +x "$S/script.sh"
set +e
out=$(kx --root "$bb" --mount "$S:/data" -- /data/script.sh a "b c" 2>&1)
st=$?
set -e
both exec-x86/shebang-script "got '$out', status $st" [ "$out" = "/data/script.sh a b c" ] -- [ "$st" -eq 3 ]
# execve: the program's environment reaches the new program, never the
# loader of the ringvm that runs it.
out=$(kx --root "$bb" -- /bin/sh -c 'export LD_PRELOAD=/nonexistent.so FOO=bar; exec /bin/sh -c "echo \$FOO \$LD_PRELOAD"' 2>&1 | tr '\n' ' ')
check exec-x86/execve-env "got '$out'" [ "$out" = "bar /nonexistent.so " ]

# Processes: pipelines, external commands and their statuses, exec.
out=$(kx --root "$bb" -- /bin/sh -c 'echo a | wc -c; ls / | wc -l; echo hello | tr a-z A-Z | sed s/L/l/g; seq 1 1000 | sort -rn | head -n 1' 2>&1 | tr '\n' ' ')
check exec-x86/busybox-pipelines "got '$out'" [ "$out" = "2 4 HEllO 1000 " ]
out=$(kx --root "$bb" --mount "$S:/data" -- /bin/sh -c '/bin/echo ext; /bin/false; echo $?; sh -c "exit 3"; echo $?; x=$(cat /data/in.txt | grep -c line); echo "n $x"; /data/script.sh a | cat; FOO=bar /bin/sh -c "echo \$FOO"; seq 1 20000 | xargs echo | wc -w' 2>&1 | tr '\n' ' ')
check exec-x86/busybox-commands "got '$out'" [ "$out" = "ext 1 3 n 2 /data/script.sh a bar 20000 " ]
out=$(kx --root "$bb" --mount "$S:/data" -- /bin/sh -c '/nonexistent; echo "missing $?"; /data/in.txt; echo "noexec $?"; sh -c "kill -TERM \$\$"; echo "term $?"' 2>/dev/null | tr '\n' ' ')
check exec-x86/busybox-statuses "got '$out'" [ "$out" = "missing 127 noexec 126 term 143 " ]
out=$(kx --root "$bb" -- /bin/sh -c 'exec sh -c "exec sh -c \"exec /bin/echo replaced\""' 2>&1)
check exec-x86/busybox-exec "got '$out'" [ "$out" = replaced ]
# kill reaches the program's own process group and descendants only.
out=$(kx --root "$bb" -- /bin/sh -c 'kill -0 1' 2>&1) || true
check exec-x86/kill-outside "got '$out'" grep -q 'not permitted' <<<"$out"

set +e
kx --root "$bb" --mount "$S:/data:ro" -- /bin/sh -c 'echo x > /data/new' >/dev/null 2>&1
st=$?
set -e
both exec-x86/mount-ro "write to a read-only mount: status $st" \
	[ "$st" -ne 0 ] -- [ ! -e "$S/new" ]

# The VMM runs under its seccomp filter (without --root the program sees
# the host's /proc, i.e. ringvm's own status).
out=$(kx -- "$bb/usr/bin/busybox" grep '^Seccomp:' /proc/self/status 2>&1 | tr -s '\t ' ' ') || true
check exec-x86/seccomp "got '$out'" [ "$out" = "Seccomp: 2" ]

# ---- escapes: a copy of the root with planted links ----
esc=$S/escroot
cp -a "$bb" "$esc"
echo secret >"$S/outside.txt"
ln -s / "$esc/tmp/abs"
ln -s ../../../../../.. "$esc/tmp/rel"
for p in "/../../../../$S/outside.txt" "/tmp/abs$S/outside.txt" \
	"/tmp/rel$S/outside.txt" "/proc/self/root$S/outside.txt" \
	"/proc/1/root$S/outside.txt"; do
	out=$(kx --root "$esc" -- /bin/cat "$p" 2>/dev/null) || true
	check "exec-x86/escape:$p" "read '$out' from outside the root" [ "$out" != secret ]
	out=$(kx --root "$esc" --mount "$S:/data" -- /data/kvmtest escape "$p" 2>&1) || true
	check "exec-x86/escape-own:$p" "got '$out'" bash -c "! grep -q secret <<<'$out'"
done
out=$(kx --root "$esc" --mount "$S:/data" -- /data/kvmtest escape /data/outside.txt 2>&1) || true
check exec-x86/escape-control "the mounted file itself: '$out'" grep -q secret <<<"$out"
out=$(cd "$esc/tmp" && kx --root "$esc" -- /bin/sh -c 'cd ../../../..; pwd; ls' 2>&1 | tr '\n' ' ') || true
check exec-x86/escape-cwd "cd .. above the root shows '$out'" grep -q '^/ bin .*usr' <<<"$out"
set +e
kx --root "$esc" -- /bin/sh -c "echo owned > /tmp/abs$S/planted" >/dev/null 2>&1
set -e
check exec-x86/escape-write "a write through an absolute symlink left the root" [ ! -e "$S/planted" ]
# The calls that follow a final symlink (stat, access, utimes, chmod) must
# follow it inside the root, not on the host.
ln -sfn "$S/outside.txt" "$esc/tmp/final"
touch -d 2001-02-03 "$S/outside.txt"
chmod 600 "$S/outside.txt"
out=$(kx --root "$esc" -- /bin/sh -c "for f in /tmp/final /tmp/abs$S/outside.txt; do test -e \$f && echo seen; stat -L -c %s \$f; touch \$f; chmod 666 \$f; done" 2>/dev/null) || true
check exec-x86/escape-follow "stat/access/touch/chmod through a symlink reached the host: '$out', $(stat -c '%a %y' "$S/outside.txt")" \
	bash -c "[ -z '$out' ] && [ \"\$(stat -c %a '$S/outside.txt')\" = 600 ] && stat -c %y '$S/outside.txt' | grep -q ^2001-02-03"
exit "$failed"
