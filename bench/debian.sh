#!/bin/bash
# The Debian VM of `make debian` under ringvm and under QEMU.
#
#   bench/debian.sh [-n RUNS] [--quick] [--no-qemu] [--timeout SECS]
#
# Each run boots a fresh copy of the same image (a key made here put in
# once with debugfs, as tests/system/debian.sh does) from its disk, 2 harts
# and 2 GiB: `ringvm run --disk COPY --cpus 2 --mem 2G --net user,hostfwd=..`
# and `qemu-system-riscv64 -M virt -smp 2 -m 2G -bios default` (OpenSBI)
# `-kernel` U-Boot (the uboot.elf ringvm loads: build/guest/u-boot.elf, else
# the host's u-boot-qemu), the copy on virtio-blk-device, -netdev user with
# the same hostfwd, virtio-net-device and virtio-rng-device (ringvm's board
# has both).  Engines interleave run by run, RUNS times each (default 3).
# Per run, host wall times:
#   launch to the console's first "login:", launch to the first ssh login;
#   systemd-analyze's kernel, userspace and total (guest-measured);
#   sha256sum of a 200 MB file and xz -9 -T1 of an 80 MB one (--quick:
#   20 MB and 8 MB), both made from /dev/urandom in the guest and synced
#   before timing, so they are read from the page cache (the ssh call's own
#   cost is in the figure: see the next line);
#   ssh round trip: `ssh true`, median of 10 (--quick: 5);
# then `systemctl poweroff`.  Medians with min-max and ringvm/QEMU ratios.
# The default image has no xz: each run's guest gets Debian's riscv64
# xz-utils .deb (fetched once into the cache of `make guest`) before timing.
# Environment: RINGVM (build/ringvm), QEMU (qemu-system-riscv64), GUEST
# (build/guest, for u-boot.elf), RINGVM_DEBIAN_IMAGE (the image), TMPDIR.
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench/debian.sh: $*" >&2; exit 1; }

runs=3 mode=full use_qemu=1 run_timeout=
while [ $# -gt 0 ]; do
	case $1 in
	-n|--runs) [ $# -ge 2 ] || die "$1 needs a number"; runs=$2; shift ;;
	-n*) runs=${1#-n} ;;
	--quick) mode=quick ;;
	--no-qemu) use_qemu=0 ;;
	--timeout) [ $# -ge 2 ] || die "$1 needs seconds"; run_timeout=$2; shift ;;
	-h|--help) sed -n "2,$(grep -n "^set -eu" "$0" | cut -d: -f1)p" "$0" | sed '$ d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
case $runs in ''|*[!0-9]*|0) die "RUNS must be a positive integer, not '$runs'" ;; esac
if [ "$mode" = full ]; then sha_mb=200 xz_mb=80 nrtt=10; else sha_mb=20 xz_mb=8 nrtt=5; fi
# xz -9 of 80 MB took over 8 minutes under ringvm here.
[ -n "$run_timeout" ] || run_timeout=$([ "$mode" = full ] && echo 2400 || echo 900)
case $run_timeout in *[!0-9]*|0) die "--timeout must be a positive integer" ;; esac

RINGVM=${RINGVM:-build/ringvm}
QEMU=${QEMU:-qemu-system-riscv64}
GUEST=${GUEST:-build/guest}
[ -x "$RINGVM" ] || die "$RINGVM is missing (run make)"
for tool in ssh ssh-keygen debugfs sfdisk python3; do
	command -v "$tool" >/dev/null || die "$tool not found"
done
uboot=
if [ "$use_qemu" = 1 ]; then
	command -v "$QEMU" >/dev/null ||
		die "$QEMU not found (install qemu-system-misc, or use --no-qemu)"
	for f in "$GUEST/u-boot.elf" /usr/lib/u-boot/qemu-riscv64_smode/uboot.elf; do
		[ -s "$f" ] && { uboot=$f; break; }
	done
	[ -n "$uboot" ] || die "no U-Boot for QEMU (run make guest, or install u-boot-qemu)"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringvm-bench-debian.XXXXXX")
vm_pid=
# stop_vm: end the engine of the current run and what it started.
stop_vm() {
	[ -n "$vm_pid" ] || return 0
	local kids
	kids=$(ps -o pid= --ppid "$vm_pid" 2>/dev/null || true)
	# shellcheck disable=SC2086
	kill -KILL $kids "$vm_pid" 2>/dev/null || true
	wait "$vm_pid" 2>/dev/null || true
	vm_pid=
}
trap 'stop_vm; rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The image copy with the key: tests/system/lib/debian.sh's debian_copy
# (it works in $scratch and names the image from RINGVM_DEBIAN_IMAGE).
scratch=$tmp
# shellcheck source=tests/system/lib/debian.sh
. tests/system/lib/debian.sh
[ -s "$debian_img" ] || die "$debian_img is missing (run make debian)"
debian_copy "$tmp/base.qcow2" >/dev/null || die "$debian_why"

# xz: the default image has no xz-utils (its liblzma5 is there: dpkg needs
# it).  Fetched once with the private riscv64 apt configuration `make guest`
# keeps (guest/build.sh), installed in each run's guest before timing.
cache=${RINGVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ringvm}
aptdir=$cache/apt-trixie-riscv64
debs=("$cache"/debs/xz-utils_*_riscv64.deb)
xz_deb=${debs[-1]}
if [ ! -s "$xz_deb" ]; then
	[ -s "$aptdir/sources.list" ] || die "no riscv64 apt configuration in $aptdir (run make guest)"
	apt_opts=(-q -o "Dir::Etc::SourceList=$aptdir/sources.list"
		-o "Dir::Etc::SourceParts=$aptdir/empty.d" -o "Dir::State::Lists=$aptdir/lists"
		-o "Dir::State::status=$aptdir/status" -o "Dir::Cache=$aptdir/cache"
		-o "Dir::Cache::pkgcache=pkgcache.bin" -o "Dir::Cache::srcpkgcache=srcpkgcache.bin"
		-o APT::Architecture=riscv64 -o APT::Architectures=riscv64 -o Debug::NoLocking=1)
	[ "$(id -u)" -ne 0 ] || apt_opts+=(-o APT::Sandbox::User=root)
	mkdir -p "$tmp/dl" "$cache/debs"
	(cd "$tmp/dl" && apt-get "${apt_opts[@]}" download xz-utils >/dev/null) ||
		die "apt-get download xz-utils (riscv64) failed"
	debs=("$tmp"/dl/xz-utils_*_riscv64.deb)
	[ -s "${debs[0]}" ] || die "apt-get download xz-utils gave no .deb"
	mv "${debs[0]}" "$cache/debs/"
	xz_deb=$cache/debs/${debs[0]##*/}
fi

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
# secs_of "1min 2.5s" | "850ms" | "12.3s": seconds.
secs_of() {
	awk '{ t = 0; for (i = 1; i <= NF; i++) { v = $i
		if (v ~ /ms$/) t += v / 1000; else if (v ~ /min$/) t += v * 60
		else if (v ~ /h$/) t += v * 3600; else if (v ~ /s$/) t += v + 0 }
		printf "%.3f", t }' <<<"$1"
}

# run_one ENGINE RUN: one boot; appends "login ssh sa_kernel sa_user
# sa_total sha xz rtt" (seconds, "-" for what it did not reach) to
# $tmp/ENGINE.dat.
nfailed=0
run_one() {
	local engine=$1 run=$2 log=$tmp/$1.$2 t0 t_login=- t_ssh=- sa k=- u=- tot=- sha=- xz=- rtt=- t
	cp --reflink=auto "$tmp/base.qcow2" "$tmp/vm.qcow2"
	debian_port=$(python3 tests/system/lib/netutil.py freeport)
	local fwd="hostfwd=tcp:127.0.0.1:$debian_port-:22"
	t0=$(now)
	if [ "$engine" = ringvm ]; then
		timeout -k 10 "$run_timeout" "$RINGVM" run --disk "$tmp/vm.qcow2" --cpus 2 --mem 2G \
			--net "user,$fwd" </dev/null >"$log" 2>"$log.err" &
	else
		timeout -k 10 "$run_timeout" "$QEMU" -M virt -smp 2 -m 2G -bios default \
			-kernel "$uboot" -nographic \
			-drive "file=$tmp/vm.qcow2,format=qcow2,if=none,id=hd0" \
			-device virtio-blk-device,drive=hd0 \
			-netdev "user,id=n0,$fwd" -device virtio-net-device,netdev=n0 \
			-device virtio-rng-device </dev/null >"$log" 2>"$log.err" &
	fi
	vm_pid=$!
	local end=$(($(date +%s) + run_timeout))
	while [ "$(date +%s)" -lt "$end" ] && kill -0 "$vm_pid" 2>/dev/null; do
		if grep -q 'login: ' "$log"; then t_login=$(since "$t0"); break; fi
		sleep 0.2
	done
	while [ "$(date +%s)" -lt "$end" ] && kill -0 "$vm_pid" 2>/dev/null; do
		if sshc true 2>/dev/null; then t_ssh=$(since "$t0"); break; fi
		sleep 1
	done
	if [ "$t_ssh" != - ]; then
		sshc 'timeout 300 systemctl is-system-running --wait' >/dev/null 2>&1 || true
		sa=$(sshc systemd-analyze 2>/dev/null | head -n 1 || true)
		echo "  $engine $run: $sa" >&2
		# "Startup finished in 4.1s (kernel) + 30.2s (userspace) = 34.3s"
		k=$(secs_of "$(sed -n 's/.* in \(.*\) (kernel).*/\1/p' <<<"$sa")")
		u=$(secs_of "$(sed -n 's/.*+ \(.*\) (userspace).*/\1/p' <<<"$sa")")
		tot=$(secs_of "$(sed -n 's/.*= \(.*\)$/\1/p' <<<"$sa")")
		[ "$tot" != 0.000 ] || k=- u=- tot=-
		sshc 'command -v xz >/dev/null || { cat >/root/xz-utils.deb &&
			dpkg -i /root/xz-utils.deb >/dev/null; }' <"$xz_deb" 2>"$log.ssh" || true
		if sshc "head -c ${sha_mb}M /dev/urandom >/root/sha.dat &&
			head -c ${xz_mb}M /dev/urandom >/root/xz.dat && sync" 2>>"$log.ssh"; then
			t=$(now)
			sshc 'sha256sum /root/sha.dat >/dev/null' 2>>"$log.ssh" && sha=$(since "$t")
			t=$(now)
			sshc 'xz -9 -T1 -c /root/xz.dat >/dev/null' 2>>"$log.ssh" && xz=$(since "$t")
		fi
		: >"$log.rtt"
		for _ in $(seq "$nrtt"); do
			t=$(now)
			sshc true 2>>"$log.ssh" && since "$t" >>"$log.rtt" && echo >>"$log.rtt"
		done
		rtt=$(sort -g "$log.rtt" | awk 'NF { v[++n] = $1 } END {
			if (!n) { print "-"; exit }
			printf "%.3f", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }')
		sshc 'systemctl poweroff' >/dev/null 2>&1 || true
		for _ in $(seq 1200); do kill -0 "$vm_pid" 2>/dev/null || break; sleep 0.1; done
	fi
	if [ "$t_ssh" = - ] || [ "$sha" = - ] || [ "$xz" = - ] || [ "$rtt" = - ] ||
		kill -0 "$vm_pid" 2>/dev/null; then
		echo "  $engine run $run failed (login $t_login, ssh $t_ssh, sha256 $sha, xz $xz, rtt $rtt$(kill -0 "$vm_pid" 2>/dev/null && echo ', no poweroff')); log tail:" >&2
		tr -d '\r' <"$log" | tail -n 3 | sed 's/^/    /' >&2
		tail -n 3 "$log.err" "$log.ssh" 2>/dev/null | sed 's/^/    /' >&2
		nfailed=$((nfailed + 1))
	fi
	stop_vm
	rm -f "$tmp/vm.qcow2"
	echo "$t_login $t_ssh $k $u $tot $sha $xz $rtt" >>"$tmp/$engine.dat"
}

echo "bench/debian.sh: $runs run(s) each, $mode (sha256sum ${sha_mb} MB, xz -9 ${xz_mb} MB), image $debian_img"
echo "host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ringvm $("$RINGVM" --version 2>/dev/null | head -n 1)$([ "$use_qemu" = 1 ] && echo ", $("$QEMU" --version | head -n 1), U-Boot $uboot")"
for i in $(seq 1 "$runs"); do
	echo "  run $i/$runs" >&2
	run_one ringvm "$i"
	[ "$use_qemu" = 0 ] || run_one qemu "$i"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

# shellcheck source=bench/lib.sh
. bench/lib.sh
echo
printf '%-28s %-24s %-24s %-12s\n' "metric (s)" ringvm QEMU ringvm/QEMU
row() {
	local r q
	r=$(stats ringvm "$2"); q=$(stats qemu "$2")
	printf '%-28s %-24s %-24s %-12s\n' "$1" "$(cell "$r")" "$(cell "$q")" "$(ratio "${r%% *}" "${q%% *}")"
}
row "launch to login prompt" 1
row "launch to ssh login" 2
row "systemd-analyze kernel" 3
row "systemd-analyze userspace" 4
row "systemd-analyze total" 5
row "sha256sum ${sha_mb} MB" 6
row "xz -9 ${xz_mb} MB" 7
row "ssh true (median of $nrtt)" 8
[ "$nfailed" -eq 0 ] || die "$nfailed run(s) failed"
