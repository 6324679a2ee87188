# shellcheck shell=bash
# Shared by tests/system/debian*.sh (sourced after lib/common.sh): the image
# of `make debian` (RINGVM_DEBIAN_IMAGE names another), a copy of it that
# trusts a key made here, boots of that copy with ssh through hostfwd, and
# checks of its root partition from the host.

debian_img=${RINGVM_DEBIAN_IMAGE:-build/debian-trixie-riscv64.qcow2}

# debian_need NAME...: SKIP every NAME and exit 0 when the image or a host
# tool is missing (building the image is slow, so `make check` does not);
# FAIL them when ringvm itself is missing.
debian_need() {
	local n tool
	if [ ! -s "$debian_img" ]; then
		for n; do skip "$n" "image not built (make debian)"; done
		exit 0
	fi
	need_ringvm "$@"
	for tool in ssh ssh-keygen debugfs dumpe2fs e2fsck sfdisk; do
		command -v "$tool" >/dev/null && continue
		for n; do skip "$n" "$tool not installed"; done
		exit 0
	done
}

# debian_part_of RAW: "START SIZE" in bytes of RAW's first partition.
debian_part_of() {
	sfdisk -d "$1" | awk -F'[=,]' '/start=/ { gsub(/ /, ""); for (i = 1; i <= NF; i++) {
		if ($i ~ /start$/) s = $(i + 1); if ($i ~ /size$/) z = $(i + 1) }
		printf "%.0f %.0f\n", s * 512, z * 512; exit }'
}

# debian_copy OUT: OUT, a qcow2 copy of the image whose root trusts
# $scratch/key (made here), written with debugfs (no mounts).  Sets
# debian_pstart and debian_psize (bytes) of its root partition.  Returns 1
# with the reason in debian_why when the image has no partition.
debian_copy() {
	local out=$1 S=$scratch
	[ -s "$S/key" ] || ssh-keygen -q -t ed25519 -N '' -f "$S/key"
	"$RINGVM" img convert -O raw "$debian_img" "$S/disk.raw"
	read -r debian_pstart debian_psize < <(debian_part_of "$S/disk.raw")
	if [ -z "${debian_psize:-}" ]; then
		rm -f "$S/disk.raw"
		debian_why="no partition in $debian_img"
		return 1
	fi
	dd if="$S/disk.raw" of="$S/part.raw" bs=1M iflag=skip_bytes,count_bytes \
		skip="$debian_pstart" count="$debian_psize" conv=sparse status=none
	debugfs -w -R "rm /root/.ssh/authorized_keys" "$S/part.raw" >/dev/null 2>&1 || true
	debugfs -w -f - "$S/part.raw" >/dev/null 2>"$S/debugfs.err" <<-CMDS
	write $S/key.pub /root/.ssh/authorized_keys
	set_inode_field /root/.ssh/authorized_keys mode 0100600
	set_inode_field /root/.ssh/authorized_keys uid 0
	set_inode_field /root/.ssh/authorized_keys gid 0
	CMDS
	dd if="$S/part.raw" of="$S/disk.raw" bs=1M oflag=seek_bytes seek="$debian_pstart" \
		conv=notrunc,sparse status=none
	rm -f "$S/part.raw"
	"$RINGVM" img convert -O qcow2 "$S/disk.raw" "$out"
	rm -f "$S/disk.raw"
}

# debian_root_part QCOW2 OUT: the root partition of QCOW2 as a raw file OUT.
debian_root_part() {
	"$RINGVM" img convert -O raw "$1" "$scratch/root-disk.raw"
	dd if="$scratch/root-disk.raw" of="$2" bs=1M iflag=skip_bytes,count_bytes \
		skip="$debian_pstart" count="$debian_psize" conv=sparse status=none
	rm -f "$scratch/root-disk.raw"
}

# sshc CMD...: run CMD as root in the guest ($debian_port on 127.0.0.1).
sshc() {
	ssh -i "$scratch/key" -p "$debian_port" -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=10 \
		root@127.0.0.1 "$@"
}

# debian_launch QCOW2 LOG SECS: boot QCOW2 from its disk in the background
# (2 harts, 2 GiB, --net user with ssh forwarded from a free port), console
# to LOG, at most SECS seconds.  Sets vm_pid (the `timeout` around ringvm;
# ended at exit) and debian_port.
debian_launch() {
	debian_port=$(python3 tests/system/lib/netutil.py freeport)
	set +e
	timeout -k 10 "$3" "$RINGVM" run --disk "$1" --cpus 2 --mem 2G \
		--net "user,hostfwd=tcp:127.0.0.1:$debian_port-:22" </dev/null >"$2" 2>"$2.err" &
	vm_pid=$!
	set -e
	bg_track "$vm_pid"
}

# debian_ringvm_pid: the pid of ringvm itself (the child of vm_pid).
debian_ringvm_pid() {
	ps -o pid= --ppid "$vm_pid" | tr -d ' ' | head -n 1
}

# debian_wait_ssh SECS: 0 once ssh logs in, 1 when SECS pass or ringvm ends.
debian_wait_ssh() {
	local end=$(($(date +%s) + $1))
	while [ "$(date +%s)" -lt "$end" ]; do
		kill -0 "$vm_pid" 2>/dev/null || return 1
		sshc true 2>/dev/null && return 0
		sleep 3
	done
	return 1
}

# debian_multi_user NAME: PASS when the guest reaches `running`, or
# `degraded` (the failed units are listed), within 240 s.
debian_multi_user() {
	local state
	state=$(sshc 'timeout 240 systemctl is-system-running --wait' 2>/dev/null || true)
	case $state in
	running) pass "$1" ;;
	degraded) pass "$1"
		echo "# $1: degraded; failed units: $(sshc 'systemctl --failed --no-legend --plain' | awk '{print $1}' | tr '\n' ' ')" ;;
	*) fail "$1" "systemctl is-system-running: '$state'" ;;
	esac
}

# debian_wait_exit SECS: wait for ringvm to end, at most SECS seconds (then
# end it and its wrapper); sets wait_status (124 when it had to be ended).
# Not wait_bounded: its KILL would reach only `timeout`, not ringvm, which
# must be gone before its disk is checked.
debian_wait_exit() {
	local _
	for _ in $(seq $(($1 * 10))); do kill -0 "$vm_pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$vm_pid" 2>/dev/null; then
		kill_tree "$vm_pid"
		wait "$vm_pid" 2>/dev/null || true
		wait_status=124
	else
		set +e; wait "$vm_pid" 2>/dev/null; wait_status=$?; set -e
	fi
}

# debian_banners LOG: how many kernel banners ("Linux version" lines) the
# console LOG holds: one per boot.
debian_banners() {
	tr -d '\r' <"$1" | grep -cE '\] Linux version [0-9]' || true
}
