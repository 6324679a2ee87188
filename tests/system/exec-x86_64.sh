#!/bin/bash
# `ringvm exec` of x86-64 programs in the KVM ring-3 sandbox.
#  - tests/exec-x86/kvmtest.c (host gcc -static): output and status as a
#    native run (hello with argv/--env, files, memory, a compute loop, exit
#    status 7); page permissions (mmap's prot, mprotect: a PROT_NONE
#    guard, read-only then back, NX, munmap, the errors; hostile calls
#    on the VMM's system area; a page made PROT_NONE by one thread while
#    another uses it; threads flipping pages of one table while signals
#    come; glibc's thread stack guard); its faults end it as
#    natively (NULL deref, store to code, wild jump, stack overflow 139;
#    ud2 132; divide error 136; abort 134);
#  - the same program linked dynamically (the host's ld.so and libc) and
#    the host's python3;
#  - Debian's busybox-static amd64 inside --root: echo, cat, ls, sha256sum
#    (against the host's), sh -c without fork, a #! script, --mount (ro
#    refuses writes);
#  - escapes from --root (.., absolute symlinks, /proc/self/root) stay inside;
#  - the VMM runs under its seccomp filter.
# Pipelines need fork, which this sandbox does not do yet: not tested.
# SKIP without /dev/kvm or when KVM_CREATE_VM fails.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

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
if [ "$st" -ne 0 ] && grep -qE '/dev/kvm|KVM_CREATE_VM' <<<"$out"; then
	skip exec-x86/kvm "KVM unusable here: $out"
	exit 0
fi

# ---- the project's own program, against a native run ----
mkdir -p "$S/files"
head -c 4096 /dev/zero >"$S/stdin.bin"
# The system area of the default 2 GiB guest (natively nothing is there).
sys=0x7fe00000
for m in "hello a b" "files $S/files" memory "compute 3000000" handlers efault \
	prot "hostile $sys" threadprot protstress guard exit7; do
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
	for m in "hello a b" "files $S/files" memory handlers prot; do
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
else
	skip exec-x86/dynamic-python3 "no ELF /usr/bin/python3"
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
exit "$failed"
