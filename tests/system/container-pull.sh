#!/bin/bash
# `ringvm container pull` against Debian's docker-registry on 127.0.0.1
# (a random port), filled with `skopeo copy` from the image built offline
# (lib/busybox-image.py): a docker v2 manifest, an OCI image index (the
# host's entry picked), pull by digest, bearer-token auth and blob
# redirects (lib/registry-auth-proxy.py: the token must not follow the
# redirect to another host), a corrupted layer refused, bad input.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/system/lib/container.sh
. "$(dirname "$0")/lib/container.sh"

need_ringvm pull/all
for t in docker-registry skopeo; do
	if ! command -v "$t" >/dev/null; then
		skip pull/all "$t is not installed (apt-get install docker-registry skopeo)"
		exit 0
	fi
done
busybox_store pull/rootfs
id=$image_id
ctr() { timeout -k 5 120 "$RINGVM" container "$@"; }

port=$(freeport)
cat >"$scratch/registry.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $scratch/registry
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$scratch/registry.yml" >"$scratch/registry.log" 2>&1 &
bg_track $!
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
	sleep 0.1
done
if ! curl -sf "http://127.0.0.1:$port/v2/" >/dev/null 2>&1; then
	fail pull/registry "docker-registry did not come up: $(head -c 300 "$scratch/registry.log")"
	exit 1
fi
reg=127.0.0.1:$port
skopeo copy -q --dest-tls-verify=false "docker-archive:$scratch/img/docker.tar" "docker://$reg/test/busybox:v1" >/dev/null
skopeo copy -q --all --dest-tls-verify=false "oci:$scratch/img/layout:busybox:latest" "docker://$reg/test/multi:latest" >/dev/null
if [ -d "$scratch/img/layout-zstd" ]; then
	skopeo copy -q --dest-tls-verify=false "oci:$scratch/img/layout-zstd:busybox:latest" "docker://$reg/test/zstd:v1" >/dev/null
fi

ctr pull "$reg/test/busybox:v1" >"$scratch/out"
check pull/docker-manifest "$(tr '\n' '|' <"$scratch/out")" grep -q "^Status: Downloaded image for $reg/test/busybox:v1$" "$scratch/out"
check pull/images "$(ctr images | tr '\n' '|')" grep -qE "^$reg/test/busybox +v1 +${id:0:12} " <(ctr images)
out=$(ctr run --rm "$reg/test/busybox:v1" cat /etc/layer2)
check pull/run-pulled "got '$out'" [ "$out" = "layer two" ]
digest=$(sed -n 's/^Digest: //p' "$scratch/out")
ctr rmi "$reg/test/busybox:v1" >/dev/null
ctr pull -q "$reg/test/busybox@$digest" >/dev/null
check pull/by-digest "images: $(ctr images -q)" [ "$(ctr images -q)" = "${id:0:12}" ]
ctr rmi -f "${id:0:12}" >/dev/null

# An OCI index with an arm64 decoy: the host's image is picked.
ctr pull -q "$reg/test/multi" >/dev/null
check pull/index-picks-host-arch "images: $(ctr images -q)" [ "$(ctr images -q)" = "${id:0:12}" ]
out=$(ctr run --rm "$reg/test/multi" cat /etc/layer2)
check pull/index-runs "got '$out'" [ "$out" = "layer two" ]
ctr rmi "$reg/test/multi" >/dev/null

# zstd layers through the registry: digest-checked, unpacked, runnable.
if [ -d "$scratch/img/layout-zstd" ]; then
	zt=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
		"http://$reg/v2/test/zstd/manifests/v1" | grep -c 'tar+zstd' || true)
	check pull/zstd-registry-has-zstd "manifest zstd lines: $zt" [ "$zt" -ge 1 ]
	ctr pull -q "$reg/test/zstd:v1" >/dev/null
	check pull/zstd "images: $(ctr images -q)" [ "$(ctr images -q)" = "${id:0:12}" ]
	out=$(ctr run --rm "$reg/test/zstd:v1" cat /etc/layer2)
	check pull/zstd-runs "got '$out'" [ "$out" = "layer two" ]
	ctr rmi "$reg/test/zstd:v1" >/dev/null
else
	skip pull/zstd "the zstd program is not installed"
fi

# Bearer token and a redirect to another host for blobs.
python3 tests/system/lib/registry-auth-proxy.py "$scratch/proxy.ports" "$port" &
bg_track $!
for _ in $(seq 50); do [ -s "$scratch/proxy.ports" ] && break; sleep 0.1; done
read -r pport _ <"$scratch/proxy.ports"
set +e
ctr pull -q "127.0.0.1:$pport/test/busybox:v1" >"$scratch/out" 2>"$scratch/err"
st=$?
set -e
check pull/token-and-redirect "status $st: $(cat "$scratch/err")" [ "$st" = 0 ]
check pull/token-image "images: $(ctr images -q)" [ "$(ctr images -q)" = "${id:0:12}" ]
ctr rmi "127.0.0.1:$pport/test/busybox:v1" >/dev/null

# Resuming: a partial blob left in the store's tmp/ by an interrupted pull
# is hashed and completed with a Range request (206 from the registry; the
# proxy's blob host answers 200 with everything, which starts over); a
# partial that is not a prefix of the blob is refused and removed.
big=$(find "$scratch/registry" -path '*/blobs/sha256/*/data' -size +100k | head -1)
bighex=$(basename "$(dirname "$big")")
half=$(( $(stat -c %s "$big") / 2 ))
head -c "$half" "$big" >"$store/tmp/pull-$bighex.part"
ctr pull -q "$reg/test/busybox:v1" >/dev/null 2>"$scratch/err" && st=0 || st=$?
check pull/resume-206 "status $st: $(cat "$scratch/err")" cond '[ "$st" = 0 ] && [ ! -e "$store/tmp/pull-$bighex.part" ]'
ctr rmi "$reg/test/busybox:v1" >/dev/null
head -c "$half" "$big" >"$store/tmp/pull-$bighex.part"
ctr pull -q "127.0.0.1:$pport/test/busybox:v1" >/dev/null 2>"$scratch/err" && st=0 || st=$?
check pull/resume-server-sends-all "status $st: $(cat "$scratch/err")" cond '[ "$st" = 0 ] && [ ! -e "$store/tmp/pull-$bighex.part" ]'
ctr rmi "127.0.0.1:$pport/test/busybox:v1" >/dev/null
python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read(int(sys.argv[2]))); b[10]^=1; open(sys.argv[3],"wb").write(b)' \
	"$big" "$half" "$store/tmp/pull-$bighex.part"
ctr pull -q "$reg/test/busybox:v1" >/dev/null 2>"$scratch/err" && st=0 || st=$?
check pull/resume-bad-part-refused "status $st: $(cat "$scratch/err")" \
	cond '[ "$st" = 125 ] && grep -q "hashing to" "$scratch/err" && [ ! -e "$store/tmp/pull-$bighex.part" ]'
ctr pull -q "$reg/test/busybox:v1" >/dev/null
check pull/after-bad-part "images: $(ctr images -q)" [ "$(ctr images -q)" = "${id:0:12}" ]
ctr rmi "$reg/test/busybox:v1" >/dev/null

# A pull killed in the middle of a layer (SIGKILL: nothing cleans up)
# resumes: the next pull asks for the rest of the blob with a Range and
# gets only that (lib/slow-registry-proxy.py sends blobs at 400 kB/s and
# logs what each blob request asked for and got).
python3 tests/system/lib/slow-registry-proxy.py "$scratch/slow.port" "$port" "$scratch/slow.log" 400000 &
bg_track $!
for _ in $(seq 50); do [ -s "$scratch/slow.port" ] && break; sleep 0.1; done
read -r sport <"$scratch/slow.port"
part=$store/tmp/pull-$bighex.part
"$RINGVM" container pull -q "127.0.0.1:$sport/test/busybox:v1" >/dev/null 2>&1 &
kpid=$!
for _ in $(seq 100); do
	[ "$(stat -c %s "$part" 2>/dev/null || echo 0)" -gt 100000 ] && break
	sleep 0.05
done
kill -9 "$kpid" 2>/dev/null || true
wait "$kpid" 2>/dev/null || true
have=$(stat -c %s "$part" 2>/dev/null || echo 0)
full=$(stat -c %s "$big")
check pull/killed-mid-layer-keeps-part "part $have of $full bytes" cond '[ "$have" -gt 0 ] && [ "$have" -lt "$full" ]'
ctr pull -q "127.0.0.1:$sport/test/busybox:v1" >/dev/null 2>"$scratch/err" && st=0 || st=$?
# The proxy logs a request after its handler returns, which can be after
# the client has the whole body: wait (bounded) for the ranged request's
# line.  (The killed request's own line may land late too: only ranged
# ones count.)
line=
for _ in $(seq 50); do
	line=$(grep "sha256:$bighex range=bytes" "$scratch/slow.log" || true)
	[ -n "$line" ] && break
	sleep 0.1
done
check pull/killed-pull-resumes "status $st, log: $line" \
	cond '[ "$st" = 0 ] && [ "$line" = "/v2/test/busybox/blobs/sha256:$bighex range=bytes=$have- status=206 sent=$((full - have))" ]'
check pull/resumed-image "images: $(ctr images -q)" [ "$(ctr images -q)" = "${id:0:12}" ]
check pull/resumed-part-gone "part left" [ ! -e "$part" ]
ctr rmi "127.0.0.1:$sport/test/busybox:v1" >/dev/null

# On a terminal each blob gets a progress bar redrawn in place.
out=$(python3 tests/system/lib/pty-run.py 60 "$RINGVM" container pull "127.0.0.1:$sport/test/busybox:v1")
nbar=$(printf '%s' "$out" | tr '\r' '\n' | grep -cE "^${bighex:0:12}: Downloading \[=*>? *\] +[0-9.]+/[0-9.]+ MB" || true)
check pull/progress-bar "$nbar bars: $(printf '%s' "$out" | tr '\r' '|' | head -c 400)" \
	cond '[ "$nbar" -ge 3 ] && printf "%s" "$out" | grep -q "${bighex:0:12}: Pull complete" && printf "%s" "$out" | grep -q " 0$"'
ctr rmi "127.0.0.1:$sport/test/busybox:v1" >/dev/null

# Bad input: one line, status 125.
refused125 pull/unknown-tag "HTTP 404 \(MANIFEST_UNKNOWN" ctr pull "$reg/test/busybox:nope"
refused125 pull/unknown-repo "HTTP 404" ctr pull "$reg/test/nothing:v1"
refused125 pull/bad-reference "invalid reference format" ctr pull "$reg/Test/X"
refused125 pull/unknown-digest "HTTP 404" ctr pull "$reg/test/busybox@sha256:$(printf '%064d' 0)"
closed=$(freeport)
refused125 pull/connection-refused "Couldn't connect|Could not connect" ctr pull "127.0.0.1:$closed/x:y"

# A layer corrupted in the registry's storage: refused, nothing stored.
big=$(find "$scratch/registry" -path '*/blobs/sha256/*/data' -size +100k | head -1)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' "$big"
refused125 pull/corrupted-layer-refused "blob sha256:.*hashing to sha256:.*refused" ctr pull "$reg/test/busybox:v1"
left=$(find "$store/blobs/sha256" "$store/layers" "$store/tmp" -mindepth 1 -maxdepth 1)
check pull/corrupted-pull-leaves-nothing "left: $left" [ -z "$left" ]
