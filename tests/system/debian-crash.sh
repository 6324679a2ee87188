#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# kill -9 of ringvm while the Debian guest of `make debian` writes, then
# recovery, on a copy of the image:
#   - the guest, booted from its disk, writes files in a loop over ssh
#     (16 MiB from /dev/urandom each, every other one fsync'd) and has
#     finished at least two when ringvm gets SIGKILL;
#   - right after the kill, qemu-img check and ringvm img check find no
#     corruption (leaked clusters are allowed: exit 0 or 3) and the root
#     file system is marked needs_recovery (its journal holds work);
#   - the next boot replays the journal (the kernel's "recovery complete"
#     for the root, in the boot's kernel log; Debian's initramfs has no
#     fsck), systemd-fsck-root.service then checks it with success, the
#     guest reaches multi-user, writes and syncs a file, and `systemctl
#     poweroff` ends ringvm with exit 0;
#   - afterwards e2fsck -fn is clean, both checkers find no corruption, and
#     after `ringvm img check -r all` qemu-img check is clean (exit 0).
# SKIPs like tests/system/debian.sh when the image is not built; the
# qemu-img lines SKIP without qemu-img.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/system/lib/debian.sh
. tests/system/lib/debian.sh

names="debian-crash/writing debian-crash/killed debian-crash/qemu-img-after-kill
	debian-crash/img-check-after-kill debian-crash/needs-recovery
	debian-crash/journal-replayed debian-crash/fsck-at-boot debian-crash/multi-user
	debian-crash/writable
	debian-crash/poweroff-exit-0 debian-crash/fsck debian-crash/qemu-img-no-corruption
	debian-crash/img-check-no-corruption debian-crash/qemu-img-clean"
# shellcheck disable=SC2086
debian_need $names
S=$scratch
have_qemu_img=0
command -v qemu-img >/dev/null && have_qemu_img=1

if ! debian_copy "$S/vm.qcow2"; then
	for n in $names; do fail "$n" "$debian_why"; done
	exit 1
fi

# checkers NAME-QEMU NAME-RINGVM OK-STATUSES: qemu-img check and ringvm img
# check of the copy; PASS when their exit status is one of OK-STATUSES.
checkers() {
	local st
	if [ "$have_qemu_img" = 1 ]; then
		set +e; qemu-img check "$S/vm.qcow2" >"$S/qcheck" 2>&1; st=$?; set -e
		if [[ " $3 " == *" $st "* ]]; then pass "$1"; else
			fail "$1" "qemu-img check exit $st: $(tail -n 4 "$S/qcheck" | tr '\n' ' ')"
		fi
		[ "$st" = 0 ] || echo "# $1: $(grep -m1 'leaked\|error' "$S/qcheck" || true)"
	else
		skip "$1" "qemu-img not installed (qemu-utils)"
	fi
	set +e; "$RINGVM" img check "$S/vm.qcow2" >"$S/rcheck" 2>&1; st=$?; set -e
	if [[ " $3 " == *" $st "* ]]; then pass "$2"; else
		fail "$2" "ringvm img check exit $st: $(tail -n 4 "$S/rcheck" | tr '\n' ' ')"
	fi
}

# First boot: write until killed.
log=$S/boot1
debian_launch "$S/vm.qcow2" "$log" $((BOOT_TIMEOUT * 2))
if ! debian_wait_ssh "$BOOT_TIMEOUT"; then
	for n in $names; do
		fail "$n" "no ssh login within ${BOOT_TIMEOUT}s (console: $(tr -d '\r' <"$log" | grep -v '^\[' | tail -n 2 | tr '\n' ' '))"
	done
	exit 1
fi
# shellcheck disable=SC2016  # expanded by the guest's shell
sshc 'nohup sh -c "i=0; while :; do
		s=; [ \$((i % 2)) = 0 ] && s=conv=fsync
		dd if=/dev/urandom of=/root/crash.\$((i % 4)) bs=1M count=16 \$s status=none
		i=\$((i + 1)); echo \$i >/root/crash.count
	done" >/dev/null 2>&1 </dev/null &' || true
done_n=0
for _ in $(seq 60); do
	done_n=$(sshc 'cat /root/crash.count 2>/dev/null' 2>/dev/null || true)
	[ "${done_n:-0}" -lt 2 ] || break
	sleep 2
done
# Mid-write: the next file is under way when the kill lands.
sleep 1.5
rvm=$(debian_ringvm_pid)
if [ "${done_n:-0}" -ge 2 ] && [ -n "$rvm" ]; then
	pass debian-crash/writing
	echo "# debian-crash: killing ringvm (pid $rvm) after $done_n files written"
else
	fail debian-crash/writing "the guest's writer finished ${done_n:-0} files (want 2) or ringvm is gone"
fi
# (bash's "Killed" notice for the wrapper is expected: silenced)
{
	[ -z "$rvm" ] || kill -KILL "$rvm" || true
	debian_wait_exit 30
} 2>/dev/null
# `timeout` reports its child's death by SIGKILL as 128 + 9.
check debian-crash/killed "ringvm's wrapper exit $wait_status, want 137 (killed by SIGKILL)" \
	test "$wait_status" = 137

checkers debian-crash/qemu-img-after-kill debian-crash/img-check-after-kill "0 3"
debian_root_part "$S/vm.qcow2" "$S/part.raw"
feat=$(dumpe2fs -h "$S/part.raw" 2>/dev/null | grep '^Filesystem features:' || true)
rm -f "$S/part.raw"
check debian-crash/needs-recovery "the killed guest's root is not marked needs_recovery ($feat)" \
	grep -qw needs_recovery <<<"$feat"

# Second boot: recovery.
log=$S/boot2
debian_launch "$S/vm.qcow2" "$log" $((BOOT_TIMEOUT * 2))
up=0
debian_wait_ssh "$BOOT_TIMEOUT" && up=1
if [ "$up" != 1 ]; then
	for n in debian-crash/journal-replayed debian-crash/fsck-at-boot debian-crash/multi-user \
		debian-crash/writable; do
		fail "$n" "no ssh login after the crash within ${BOOT_TIMEOUT}s (console: $(tr -d '\r' <"$log" | grep -v '^\[' | tail -n 2 | tr '\n' ' '))"
	done
else
	klog=$(sshc 'journalctl -k -b --no-pager -o cat' 2>/dev/null | grep -E 'EXT4-fs \(vda1\).*recover' || true)
	check debian-crash/journal-replayed "no journal recovery of vda1 in the boot's kernel log" \
		grep -q 'recovery complete' <<<"$klog"
	echo "# debian-crash: $(tr '\n' ' ' <<<"$klog")"
	# The initramfs has no fsck: the kernel replays, systemd-fsck-root checks.
	fsck_unit=$(sshc 'systemctl show -p ActiveState -p Result systemd-fsck-root.service' 2>/dev/null | sort | tr '\n' ' ' || true)
	check debian-crash/fsck-at-boot "systemd-fsck-root.service: '$fsck_unit', want 'ActiveState=active Result=success '" \
		test "$fsck_unit" = "ActiveState=active Result=success "
	debian_multi_user debian-crash/multi-user
	w=$(sshc 'echo after-crash >/root/after-crash && sync && cat /root/after-crash' 2>/dev/null || true)
	check debian-crash/writable "writing a file after the recovery gave '$w'" test "$w" = after-crash
	sshc 'systemctl poweroff' >/dev/null 2>&1 || true
fi
debian_wait_exit 180
if report=$(sanitizer_report "$log.err"); then
	fail debian-crash/poweroff-exit-0 "sanitizer report: $report"
elif [ "$up" = 1 ] && [ "$wait_status" = 0 ]; then
	pass debian-crash/poweroff-exit-0
else
	fail debian-crash/poweroff-exit-0 "ringvm exit $wait_status: $(tail -n 2 "$log.err" | tr '\n' ' ')"
fi

debian_root_part "$S/vm.qcow2" "$S/part.raw"
if out=$(e2fsck -fn "$S/part.raw" 2>&1); then
	pass debian-crash/fsck
else
	fail debian-crash/fsck "e2fsck -fn: $(echo "$out" | grep -v '^Pass\|^e2fsck' | head -n 3 | tr '\n' ' ')"
fi
rm -f "$S/part.raw"
checkers debian-crash/qemu-img-no-corruption debian-crash/img-check-no-corruption "0 3"
if [ "$have_qemu_img" != 1 ]; then
	skip debian-crash/qemu-img-clean "qemu-img not installed (qemu-utils)"
else
	set +e
	"$RINGVM" img check -r all "$S/vm.qcow2" >"$S/rcheck" 2>&1; rst=$?
	qemu-img check "$S/vm.qcow2" >"$S/qcheck" 2>&1; qst=$?
	set -e
	if [ "$rst" = 0 ] && [ "$qst" = 0 ]; then
		pass debian-crash/qemu-img-clean
	else
		fail debian-crash/qemu-img-clean "ringvm img check -r all exit $rst, then qemu-img check exit $qst: $(tail -n 3 "$S/qcheck" | tr '\n' ' ')"
	fi
fi
