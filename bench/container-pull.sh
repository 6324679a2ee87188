#!/bin/bash
# Image pull + unpack throughput against the disk's sequential write speed.
#
#   bench/container-pull.sh [--mb N] [--runs R]
#
# Builds (offline) an OCI image with one gzip layer holding an N MiB file of
# random bytes (default 256: incompressible, the worst case for the
# unpacker's CPU per byte written), pushes it with skopeo to Debian's
# docker-registry on 127.0.0.1, then R times (default 3): `ringvm container
# pull` into an empty store, and `dd` of N MiB of zeros to a file on the
# same filesystem, each timed to the end of a syncfs (`sync -f`) so both
# include writeback.  Prints the pull's CPU time too (the number that
# does not depend on other load on the host).  Prints MB/s of the layer's uncompressed bytes (the
# best run of each) and the ratio pull/dd.  Called by bench/container.sh;
# SKIP without docker-registry or skopeo.  Environment: RINGVM.
set -eu
cd "$(dirname "$0")/.."
die() { echo "bench/container-pull.sh: $*" >&2; exit 1; }
mb=256 runs=3
while [ $# -gt 0 ]; do
	case $1 in
	--mb) [ $# -ge 2 ] || die "$1 needs a number"; mb=$2; shift ;;
	--runs) [ $# -ge 2 ] || die "$1 needs a number"; runs=$2; shift ;;
	-h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	shift
done
for v in "$mb" "$runs"; do
	case $v in ''|*[!0-9]*|0) die "sizes and counts must be positive integers, not '$v'" ;; esac
done
for t in docker-registry skopeo; do
	command -v "$t" >/dev/null || { echo "pull+unpack: SKIP: $t is not installed"; exit 0; }
done
RINGVM=$(realpath "${RINGVM:-build/ringvm}")
[ -x "$RINGVM" ] || die "$RINGVM is missing (run make build/ringvm)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ringvm-bench-pull.XXXXXX")
regpid=
cleanup() {
	[ -z "$regpid" ] || { kill "$regpid" 2>/dev/null; wait "$regpid" 2>/dev/null || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

python3 - "$tmp/layout" "$mb" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
out, n = sys.argv[1], int(sys.argv[2]) << 20
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    ti = tarfile.TarInfo("data.bin")
    ti.size, ti.mode = n, 0o644
    t.addfile(ti, io.BytesIO(os.urandom(n)))
layer = buf.getvalue()
gz = gzip.compress(layer, compresslevel=1, mtime=0)
sha = lambda b: hashlib.sha256(b).hexdigest()
desc = lambda b, mt: {"mediaType": mt, "digest": "sha256:" + sha(b), "size": len(b)}
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/x"]},
                  "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(layer)]}}).encode()
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": desc(cfg, "application/vnd.oci.image.config.v1+json"),
                  "layers": [desc(gz, "application/vnd.oci.image.layer.v1.tar+gzip")]}).encode()
os.makedirs(out + "/blobs/sha256")
for b in (cfg, man, gz):
    open(out + "/blobs/sha256/" + sha(b), "wb").write(b)
open(out + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
m = dict(desc(man, "application/vnd.oci.image.manifest.v1+json"),
         annotations={"org.opencontainers.image.ref.name": "big"})
open(out + "/index.json", "w").write(json.dumps({"schemaVersion": 2, "manifests": [m]}))
print(len(layer), file=open(out + "/../usize", "w"))
PY
usize=$(cat "$tmp/usize")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/registry.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $tmp/registry
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$tmp/registry.yml" >"$tmp/registry.log" 2>&1 &
regpid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
skopeo copy -q --dest-tls-verify=false "oci:$tmp/layout:big" "docker://127.0.0.1:$port/bench/big:v1" >/dev/null
rm -rf "$tmp/layout"

now() { date +%s.%N; }
best() { sort -g | head -1; }
for _ in $(seq "$runs"); do
	rm -rf "$tmp/store"
	t0=$(now)
	RINGVM_CONTAINER_ROOT=$tmp/store /usr/bin/time -f '%U %S' -a -o "$tmp/cpu.dat" \
		"$RINGVM" container pull -q "127.0.0.1:$port/bench/big:v1" >/dev/null
	sync -f "$tmp"
	t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$tmp/pull.dat"
	t0=$(now)
	dd if=/dev/zero of="$tmp/dd.bin" bs=1M count="$mb" status=none
	sync -f "$tmp"
	t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$tmp/dd.dat"
	rm -f "$tmp/dd.bin"
done
p=$(best <"$tmp/pull.dat")
d=$(best <"$tmp/dd.dat")
cpu=$(awk '{ print $1 + $2 }' "$tmp/cpu.dat" | best)
awk -v u="$usize" -v p="$p" -v d="$d" -v mb="$mb" -v cpu="$cpu" -v fs="$(df --output=source "$tmp" | tail -1)" 'BEGIN {
	printf "pull+unpack %d MiB gzip layer: %.0f MB/s; dd seq write (%s): %.0f MB/s; pull/dd %.2fx\n",
		mb, u / p / 1e6, fs, mb * 1048576 / d / 1e6, (u / p) / (mb * 1048576 / d)
	printf "pull CPU (user+sys, best run): %.2f s = %.1f ns per uncompressed byte\n", cpu, cpu * 1e9 / u }'
