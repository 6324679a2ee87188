#!/bin/bash
# ringvm-engines: jit interp (tests/run-all.sh runs this under each)
# The full Debian VM of `make debian`, booted from its own disk: no --kernel
# (ringvm's SBI, U-Boot, the image's extlinux.conf, kernel and initramfs).
# One boot, in order:
#   multi-user reached (`systemctl is-system-running`: running, or degraded
#   with the failed units listed), DHCP from --net user, ssh from the host
#   through hostfwd with a key made here;
#   the guest's clock (`date` and the RTC's own seconds) within 2 s of the
#   host's (the goldfish RTC; no NTP is needed);
#   /dev/hwrng there, fed by virtio-rng, and readable;
#   `apt-get install` of a .deb made here (arch all, no network): its file
#   is there and `dpkg -s` says installed;
#   `systemctl reboot` resets and boots again (a second kernel banner on the
#   console, a new boot id, ssh again, the package still installed);
#   `systemctl poweroff` ends ringvm with exit 0;
# then the image is clean (`ringvm img check`, e2fsck -fn of the root
# partition).  Runs on a copy; the key goes into the copy's
# /root/.ssh/authorized_keys with debugfs (no mounts).
#
# The image is built by `make debian` (a cold build is slow); when it is
# absent every check is SKIPped.  RINGVM_DEBIAN_IMAGE names another image.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/system/lib/debian.sh
. tests/system/lib/debian.sh

names="debian/boot-from-disk debian/multi-user debian/dhcp debian/ssh
	debian/date debian/hwrng debian/apt-local-deb debian/reboot
	debian/poweroff-exit-0 debian/img-check debian/fsck"
# shellcheck disable=SC2086
debian_need $names
S=$scratch

if ! debian_copy "$S/vm.qcow2"; then
	for n in $names; do fail "$n" "$debian_why"; done
	exit 1
fi

# The package: one file with a token only this run knows.
pkg=ringvm-test-token
token=ringvm-$$-$RANDOM$RANDOM
have_deb=0
if command -v dpkg-deb >/dev/null; then
	mkdir -p "$S/deb/DEBIAN" "$S/deb/usr/share/$pkg"
	echo "$token" >"$S/deb/usr/share/$pkg/token"
	cat >"$S/deb/DEBIAN/control" <<-EOF
	Package: $pkg
	Version: 1.0
	Architecture: all
	Maintainer: ringvm tests <tests@ringvm.invalid>
	Description: a file tests/system/debian.sh installs in the Debian guest
	EOF
	dpkg-deb --root-owner-group -b "$S/deb" "$S/$pkg.deb" >/dev/null && have_deb=1
fi

log=$S/debian
t0=$(date +%s)
# Two boots and the checks between them.
debian_launch "$S/vm.qcow2" "$log" $((BOOT_TIMEOUT * 4))
up=0
debian_wait_ssh "$BOOT_TIMEOUT" && up=1
t_ssh=$(($(date +%s) - t0))
tr -d '\r' <"$log" >"$log.txt"
check debian/boot-from-disk "no U-Boot extlinux boot of the image's kernel on the console" \
	grep -q 'Found /boot/extlinux/extlinux.conf' "$log.txt"

if [ "$up" != 1 ]; then
	for n in debian/multi-user debian/dhcp debian/ssh debian/date debian/hwrng \
		debian/apt-local-deb debian/reboot; do
		fail "$n" "no ssh login within ${BOOT_TIMEOUT}s (console: $(grep -v '^\[' "$log.txt" | tail -n 2 | tr '\n' ' '))"
	done
else
	pass debian/ssh
	echo "# debian: ssh login ${t_ssh}s after launch"
	debian_multi_user debian/multi-user
	addr=$(sshc "ip -4 -o addr show scope global" 2>/dev/null || true)
	check debian/dhcp "no DHCP address 10.0.2.15 (ip addr: $addr)" grep -q 'inet 10\.0\.2\.15/' <<<"$addr"

	# The guest's time between two host readings, 2 s of slack each side.
	h0=$(date +%s.%N)
	g=$(sshc 'date +%s.%N; cat /sys/class/rtc/rtc0/since_epoch' 2>/dev/null | tr '\n' ' ' || true)
	h1=$(date +%s.%N)
	if awk -v a="$h0" -v b="$h1" -v g="$g" 'BEGIN { n = split(g, v, " ")
		if (n != 2) exit 1
		for (i = 1; i <= 2; i++) if (v[i] + 0 < a - 2 || v[i] + 0 > b + 2) exit 1 }'; then
		pass debian/date
	else
		fail debian/date "guest date and RTC seconds '$g' not within 2 s of the host's [$h0, $h1]"
	fi

	rng=$(sshc 'test -c /dev/hwrng && cat /sys/class/misc/hw_random/rng_current &&
		head -c 64 /dev/hwrng | wc -c' 2>/dev/null | tr '\n' ' ' || true)
	check debian/hwrng "/dev/hwrng: want a virtio_rng source giving 64 bytes, got '$rng'" \
		grep -qE '^virtio_rng[.0-9]* 64 $' <<<"$rng"

	if [ "$have_deb" != 1 ]; then
		skip debian/apt-local-deb "dpkg-deb not installed (or failed)"
	elif ! sshc "cat >/root/$pkg.deb" <"$S/$pkg.deb" 2>"$S/apt.err" ||
		! sshc "DEBIAN_FRONTEND=noninteractive apt-get install -y /root/$pkg.deb" \
			>"$S/apt.out" 2>>"$S/apt.err"; then
		fail debian/apt-local-deb "apt-get install: $(tail -n 3 "$S/apt.out" "$S/apt.err" 2>/dev/null | tr '\n' ' ')"
	else
		got=$(sshc "cat /usr/share/$pkg/token; dpkg -s $pkg | grep '^Status:'" 2>/dev/null | tr '\n' ' ' || true)
		check debian/apt-local-deb "after the install: '$got', want '$token Status: install ok installed '" \
			test "$got" = "$token Status: install ok installed "
	fi

	# Reboot: the same ringvm process boots again.
	id1=$(sshc 'cat /proc/sys/kernel/random/boot_id' 2>/dev/null || true)
	t_rb=$(date +%s)
	sshc 'systemctl reboot' >/dev/null 2>&1 || true
	for _ in $(seq "$BOOT_TIMEOUT"); do
		[ "$(debian_banners "$log")" -lt 2 ] || break
		kill -0 "$vm_pid" 2>/dev/null || break
		sleep 1
	done
	nb=$(debian_banners "$log")
	id2='' still=''
	if [ "$nb" = 2 ] && debian_wait_ssh "$BOOT_TIMEOUT"; then
		id2=$(sshc 'cat /proc/sys/kernel/random/boot_id' 2>/dev/null || true)
		still=$(sshc "dpkg -s $pkg 2>/dev/null | grep '^Status:'" 2>/dev/null || true)
		echo "# debian: reboot to ssh $(($(date +%s) - t_rb))s"
	fi
	if [ "$nb" != 2 ]; then
		fail debian/reboot "$nb kernel banners on the console, want 2$(kill -0 "$vm_pid" 2>/dev/null || echo ' (ringvm ended)')"
	elif [ -z "$id2" ] || [ "$id2" = "$id1" ]; then
		fail debian/reboot "no ssh into a new boot (boot id before '$id1', after '$id2')"
	elif [ "$have_deb" = 1 ] && [ "$still" != "Status: install ok installed" ]; then
		fail debian/reboot "$pkg not installed after the reboot ('$still')"
	else
		pass debian/reboot
	fi
	sshc 'systemctl poweroff' >/dev/null 2>&1 || true
fi
debian_wait_exit 180
tr -d '\r' <"$log" >"$log.txt"
if report=$(sanitizer_report "$log.err"); then
	fail debian/poweroff-exit-0 "sanitizer report: $report"
elif [ "$up" = 1 ] && [ "$wait_status" = 0 ]; then
	pass debian/poweroff-exit-0
	echo "# debian: launch to poweroff $(($(date +%s) - t0))s"
else
	fail debian/poweroff-exit-0 "ringvm exit $wait_status$( [ "$up" = 1 ] || echo ' (never reachable)'): $(tail -n 2 "$log.err" | tr '\n' ' ')"
fi

if out=$("$RINGVM" img check "$S/vm.qcow2" 2>&1); then
	pass debian/img-check
else
	fail debian/img-check "$(echo "$out" | tail -n 2 | tr '\n' ' ')"
fi
debian_root_part "$S/vm.qcow2" "$S/part.raw"
if out=$(e2fsck -fn "$S/part.raw" 2>&1); then
	pass debian/fsck
else
	fail debian/fsck "e2fsck -fn: $(echo "$out" | grep -v '^Pass\|^e2fsck' | head -n 3 | tr '\n' ' ')"
fi
