# unix_connect_escape NAME RUN BIN: a filesystem socket named through a
# symlink resolves inside the root — a link planted in it to a host
# listener must not reach the listener, while a control connect without
# a root does.  RUN is the test's ringvm-exec function (rx, kx), BIN a
# copy of tests/exec/sockets.c built for it (its `connect PATH` mode).
# Uses $S (scratch) and check() from common.sh.
unix_connect_escape() {
	local name=$1 run=$2 bin=$3 croot=$S/croot lpid out ctl
	cp "$bin" "$S/sockets.bin"
	mkdir -p "$croot/tmp"
	ln -sfn "$S/host.sock" "$croot/tmp/final_sock"
	python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1); s.settimeout(20); s.accept()' \
		"$S/host.sock" 2>/dev/null &
	lpid=$!
	for _ in $(seq 50); do [ -S "$S/host.sock" ] && break; sleep 0.1; done
	out=$("$run" --root "$croot" --mount "$S:/data" -- /data/sockets.bin connect /tmp/final_sock 2>&1) || true
	ctl=$("$run" -- "$S/sockets.bin" connect "$S/host.sock" 2>&1) || true
	kill "$lpid" 2>/dev/null || true
	wait "$lpid" 2>/dev/null || true
	check "$name" "connect through a planted symlink: '$out' (control without a root: '$ctl')" \
		bash -c "[ '$out' != connected ] && [ '$ctl' = connected ]"
}
