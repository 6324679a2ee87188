#!/bin/bash
# Container start->exit benchmark: ringvm vs runc (vs crun) vs the floor.
#
#   bench/container.sh [-n RUNS] [--podman-runs N] [--no-podman]
#
# Every row runs /bin/true in a busybox container, RUNS times in sequence
# (default 100), rows interleaved in rounds of 10 so a load change on the
# host hits every row alike.  Per run: the wall time from the fork of the
# command to its exit (bash $EPOCHREALTIME, no helper process).  Rows:
#   ringvm container   ringvm container run --rm busybox /bin/true (image
#                      loaded offline with tests/system/lib/busybox-image.py
#                      into a private store)
#   ringvm oci         ringvm oci run on a bundle (tests/system/lib/
#                      oci-config.py: runc-spec defaults, all namespaces)
#   runc               runc run on the same bundle
#   crun               crun run on the same bundle, where the host allows
#   unshare+chroot     unshare -muinpfC --mount-proc chroot ROOTFS /bin/true:
#                      the same namespaces with no runtime, the floor
#   podman+ringvm      podman --runtime <ringvm oci> run --rm IMG /bin/true
#   podman+runc        podman --runtime runc run --rm IMG /bin/true
#   base container/oci the two ringvm rows again with $RINGVM_BASE (another
#                      ringvm build, e.g. an older commit), when set
# (podman rows: --podman-runs, default 20; a podman run costs ~10x more).
# A row whose program is missing or fails on this host says SKIP and why.
# Prints median, min-max and p90 in ms per container, and ratios against
# runc and the floor; then bench/container-pull.sh (pull + unpack MB/s
# against dd's sequential write speed on the same filesystem).  Needs root.  Environment: RINGVM (default build/ringvm),
# RINGVM_BASE (optional second build for before/after rows).
set -eu
cd "$(dirname "$0")/.."

die() { echo "bench/container.sh: $*" >&2; exit 1; }

runs=100 pruns=20 use_podman=1
while [ $# -gt 0 ]; do
	case $1 in
	-n|--runs) [ $# -ge 2 ] || die "$1 needs a number"; runs=$2; shift ;;
	--podman-runs) [ $# -ge 2 ] || die "$1 needs a number"; pruns=$2; shift ;;
	--no-podman) use_podman=0 ;;
	-h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
for v in "$runs" "$pruns"; do
	case $v in ''|*[!0-9]*|0) die "run counts must be positive integers, not '$v'" ;; esac
done
[ "$(id -u)" = 0 ] || die "needs root (namespaces, cgroups, overlayfs)"
RINGVM=${RINGVM:-build/ringvm}
[ -x "$RINGVM" ] || die "$RINGVM is missing (run make build/ringvm)"
RINGVM=$(realpath "$RINGVM")
rootfs=$(tests/system/lib/busybox-rootfs.sh) || die "cannot build the busybox rootfs"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringvm-bench-ctr.XXXXXX")
img=localhost/ringvm-bench-busybox:$$
cleanup() {
	local m
	[ "$use_podman" = 0 ] || podman rmi -f "$img" >/dev/null 2>&1 || true
	for m in $(grep -o "$tmp/[^ ]*" /proc/mounts 2>/dev/null | sort -r); do
		umount -l "$m" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export RINGVM_CONTAINER_ROOT=$tmp/store
tests/system/lib/busybox-image.py "$rootfs" "$tmp/img" >/dev/null
"$RINGVM" container load -q -i "$tmp/img/oci.tar" >/dev/null
bundle=$tmp/bundle
mkdir -p "$bundle"
cp -a "$rootfs" "$bundle/rootfs"
tests/system/lib/oci-config.py "$bundle/config.json" -- /bin/true
wrap=$tmp/ringvm-oci
printf '#!/bin/sh\nexec %s oci --root %s "$@"\n' "$RINGVM" "$tmp/oci-podman" >"$wrap"
chmod +x "$wrap"
# podman's default RLIMIT_NOFILE/NPROC ask is above this host's hard limits
# (see tests/system/container-podman.sh); the same small ones for both.
UL="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"

# The rows: name, then the command (a bash function so quoting stays simple).
r_ringvm_container() { "$RINGVM" container run --rm busybox /bin/true; }
r_ringvm_oci() { "$RINGVM" oci --root "$tmp/oci" run --bundle "$bundle" bench-ringvm; }
r_base_container() { "$RINGVM_BASE" container run --rm busybox /bin/true; }
r_base_oci() { "$RINGVM_BASE" oci --root "$tmp/oci-base" run --bundle "$bundle" bench-base; }
r_runc() { runc --root "$tmp/runc" run --bundle "$bundle" bench-runc; }
r_crun() { crun --root "$tmp/crun" run --bundle "$bundle" bench-crun; }
r_floor() { unshare -muinpfC --mount-proc="$rootfs/proc" chroot "$rootfs" /bin/true; }
r_podman_ringvm() { podman --runtime "$wrap" run --rm $UL "$img" /bin/true; }
r_podman_runc() { podman --runtime "$(command -v runc)" run --rm $UL "$img" /bin/true; }

rows="ringvm_container ringvm_oci runc crun floor"
if [ -n "${RINGVM_BASE:-}" ]; then
	[ -x "$RINGVM_BASE" ] || die "RINGVM_BASE=$RINGVM_BASE is not executable"
	RINGVM_BASE=$(realpath "$RINGVM_BASE")
	rows="ringvm_container base_container ringvm_oci base_oci runc crun floor"
fi
[ "$use_podman" = 0 ] || rows="$rows podman_ringvm podman_runc"
declare -A label=([ringvm_container]="ringvm container run" [ringvm_oci]="ringvm oci run"
	[runc]="runc run" [crun]="crun run" [floor]="unshare+chroot (floor)"
	[podman_ringvm]="podman + ringvm" [podman_runc]="podman + runc"
	[base_container]="base: container run" [base_oci]="base: oci run")
declare -A skip=() want=()
for r in $rows; do want[$r]=$runs; done
[ "$use_podman" = 0 ] || { want[podman_ringvm]=$pruns; want[podman_runc]=$pruns; }

# Programs and a trial run: a row that cannot run here is skipped with why.
command -v runc >/dev/null || skip[runc]="runc not installed"
command -v crun >/dev/null || skip[crun]="crun not installed"
if [ "$use_podman" = 1 ]; then
	if ! command -v podman >/dev/null; then
		skip[podman_ringvm]="podman not installed"; skip[podman_runc]="podman not installed"
	elif ! tar -C "$rootfs" -c . | podman import - "$img" >"$tmp/import.log" 2>&1; then
		skip[podman_ringvm]="podman import failed: $(tail -1 "$tmp/import.log")"
		skip[podman_runc]=${skip[podman_ringvm]}
	fi
	command -v runc >/dev/null || skip[podman_runc]="runc not installed"
fi
for r in $rows; do
	[ -z "${skip[$r]:-}" ] || continue
	if ! "r_$r" </dev/null >"$tmp/trial.out" 2>&1; then
		skip[$r]="fails on this host: $(grep -v '^$' "$tmp/trial.out" | tail -1 | cut -c1-160)"
		[ "$r" != crun ] || skip[$r]="${skip[$r]} (crun 1.8 refuses hybrid cgroup v1 hosts)"
	fi
done

echo "bench/container.sh: $runs runs per row ($pruns for podman rows), /bin/true in busybox"
echo "host: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs, kernel $(uname -r)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: ringvm $(git rev-parse --short HEAD 2>/dev/null || echo '?')," \
	"runc $(runc --version 2>/dev/null | sed -n '1s/.*version //p')," \
	"podman $(podman --version 2>/dev/null | sed 's/.*version //')"
[ -z "${RINGVM_BASE:-}" ] || echo "base: $RINGVM_BASE ($("$RINGVM_BASE" --version 2>/dev/null | head -1))"

# One timed run of a row; a failure is counted and not timed.
declare -A nfail=()
timed() {
	local r=$1 t0 t1 st
	t0=$EPOCHREALTIME
	set +e
	"r_$r" </dev/null >/dev/null 2>"$tmp/$r.err"
	st=$?
	set -e
	t1=$EPOCHREALTIME
	if [ "$st" -ne 0 ]; then
		nfail[$r]=$((${nfail[$r]:-0} + 1))
		[ "${nfail[$r]}" -gt 1 ] || echo "  $r failed (status $st): $(tail -1 "$tmp/$r.err")" >&2
		return 0
	fi
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$tmp/$r.dat"
}
declare -A done_=()
left=1
while [ "$left" = 1 ]; do
	left=0
	for r in $rows; do
		[ -z "${skip[$r]:-}" ] || continue
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			[ "${done_[$r]:-0}" -lt "${want[$r]}" ] || break
			timed "$r"
			done_[$r]=$((${done_[$r]:-0} + 1))
		done
		[ "${done_[$r]}" -ge "${want[$r]}" ] || left=1
	done
	echo "  round done: $(for r in $rows; do printf '%s=%s ' "$r" "${done_[$r]:-0}"; done)" >&2
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

# stats ROW: "median min max p90" in ms, or "- - - -".
stats() {
	[ -s "$tmp/$1.dat" ] || { echo "- - - -"; return; }
	sort -g "$tmp/$1.dat" | awk '{ v[NR] = $1 } END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		p = v[int(NR * 0.9 + 0.999)]
		printf "%.2f %.2f %.2f %.2f\n", m, v[1], v[NR], p }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2fx", a / b }'
}
declare -A med=()
for r in $rows; do s=$(stats "$r"); med[$r]=${s%% *}; done
echo
printf '%-24s %6s %10s %18s %8s %9s %9s\n' "ms per container" runs median min-max p90 "/runc" "/floor"
for r in $rows; do
	if [ -n "${skip[$r]:-}" ]; then
		printf '%-24s SKIP: %s\n' "${label[$r]}" "${skip[$r]}"
		continue
	fi
	set -- $(stats "$r")
	base=runc
	case $r in podman_*) base=podman_runc ;; esac
	printf '%-24s %6s %10s %18s %8s %9s %9s\n' "${label[$r]}" "$(wc -l <"$tmp/$r.dat")" "$1" "$2-$3" "$4" \
		"$(ratio "$1" "${med[$base]:--}")" "$(ratio "$1" "${med[floor]:--}")"
done
echo "(/runc: against runc run; podman rows against podman + runc)"
echo
RINGVM=$RINGVM bench/container-pull.sh || echo "pull+unpack: failed" >&2
bad=0
for r in $rows; do bad=$((bad + ${nfail[$r]:-0})); done
[ "$bad" -eq 0 ] || die "$bad run(s) failed"
