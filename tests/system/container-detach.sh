#!/bin/bash
# Detached containers: `run -d` under the supervisor, `ps [-a]`, `logs
# [-f] [-t] [--tail N]` (stdout and stderr apart, long and unterminated
# lines), `exec`, `stop` (TERM reaches the command, the exit code is
# recorded), `start` again, `rm [-f]`; and that nothing is left: no
# supervisor, container process, mount, cgroup, runtime state.  Needs root.
set -eu
# shellcheck source=tests/system/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/system/lib/container.sh
. "$(dirname "$0")/lib/container.sh"

need_ringvm detach/run
need_root detach/all "namespaces, cgroups, overlayfs"
busybox_store detach/rootfs
ctr() { timeout -k 5 60 "$RINGVM" container "$@"; }
ctr load -q -i "$scratch/img/oci.tar"

# Whatever a failing test leaves: every container killed and removed, then
# any rootfs still mounted unmounted (at_exit hooks run last added first).
at_exit cleanup_rootfs_mounts
at_exit cleanup_ctrs

# A container whose command logs, then waits for TERM and exits 3.
id=$(ctr run -d --name web busybox sh -c 'echo out-line; echo err-line >&2; trap "echo got-term; exit 3" TERM; while :; do sleep 0.1; done')
check detach/run-prints-id "id '$id'" grep -qE '^[0-9a-f]{64}$' <<<"$id"
sleep 0.3
ctr ps >"$scratch/ps"
if head -1 "$scratch/ps" | grep -qE '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$' &&
	grep -qE "^${id:0:12} +busybox +\"sh -c echo out-line…\" +.* ago +Up .* +web$" "$scratch/ps"; then
	pass detach/ps-running
else
	fail detach/ps-running "$(tr '\n' '|' <"$scratch/ps")"
fi
check detach/ps-quiet "$(ctr ps -q)" [ "$(ctr ps -q)" = "${id:0:12}" ]
# logs: stdout and stderr kept apart, as docker does.
ctr logs web >"$scratch/lo" 2>"$scratch/le"
check detach/logs "stdout '$(cat "$scratch/lo")' stderr '$(cat "$scratch/le")'" \
	cond '[ "$(cat "$scratch/lo")" = out-line ] && [ "$(cat "$scratch/le")" = err-line ]'
# -t: each line prefixed with the RFC 3339 time it was written (UTC, ns).
ts=$(ctr logs -t web 2>/dev/null)
when=$(date -u -d "$(cut -d' ' -f1 <<<"$ts")" +%s 2>/dev/null || echo 0)
check detach/logs-timestamps "got '$ts'" cond \
	'grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z out-line$" <<<"$ts" &&
	 [ $(( $(date +%s) - when )) -ge 0 ] && [ $(( $(date +%s) - when )) -lt 60 ]'
# --tail N: the last N lines (of both streams).
check detach/logs-tail "got '$(ctr logs --tail 1 web 2>&1)'" \
	cond '[ -z "$(ctr logs --tail 1 web 2>/dev/null)" ] && [ "$(ctr logs --tail 1 web 2>&1)" = err-line ]'
refused125 detach/logs-bad-tail "--tail \`-3\`" ctr logs --tail -3 web
# --since/--until: docker's forms (a duration back from now, Unix seconds,
# RFC 3339); the lines were written within the last minute.
since_all=$(ctr logs --since 1h web 2>&1 | tr '\n' ' ')
since_none=$(ctr logs --since "$(( $(date +%s) + 60 ))" web 2>&1)
until_none=$(ctr logs --until 2000-01-01T00:00:00Z web 2>&1)
until_all=$(ctr logs --since 1h --until "$(date -u -d '+1 min' +%Y-%m-%dT%H:%M:%SZ)" web 2>/dev/null)
check detach/logs-since-until "1h '$since_all', future '$since_none', until 2000 '$until_none', window '$until_all'" \
	cond '{ [ "$since_all" = "out-line err-line " ] || [ "$since_all" = "err-line out-line " ]; } &&
	      [ -z "$since_none" ] && [ -z "$until_none" ] && [ "$until_all" = out-line ]'
refused125 detach/logs-bad-since "--since \`yesterday\`" ctr logs --since yesterday web

out=$(ctr exec -e X=1 -w /opt web sh -c 'echo $X $(pwd) $(hostname); cat /proc/2/cmdline | tr "\0" " "')
check detach/exec "got '$out'" grep -qE "^1 /opt ${id:0:12}$" <<<"$(head -1 <<<"$out")"
check detach/exec-sees-container-command "got '$out'" grep -q '^sh -c echo out-line' <<<"$(tail -1 <<<"$out")"
set +e
ctr exec web sh -c 'exit 5'
est=$?
ctr exec web /no/such >/dev/null 2>&1
nst=$?
set -e
check detach/exec-status "status $est" [ "$est" = 5 ]
check detach/exec-not-found "status $nst" [ "$nst" = 127 ]

# exec -it with a terminal: a pty of the container's devpts.
tests/system/lib/pty-run.py 20 "$RINGVM" container exec -it web sh -c 'tty; exit 6' >"$scratch/tty" 2>&1 || true
tty_out=$(tr -d '\r' <"$scratch/tty" | tr '\n' ' ' | sed -E 's/ +/ /g; s/ $//')
check detach/exec-tty "got '$tty_out'" grep -qE '^/dev/pts/[0-9]+ 6$' <<<"$tty_out"
out=$(ctr exec -t web sh -c 'tty || true' </dev/null)
check detach/exec-t-without-terminal "got '$out'" [ "$out" = "not a tty" ]

# logs -f follows until the container exits; stop sends TERM.
ctr logs -f web >"$scratch/follow" 2>&1 &
lp=$!
bg_track "$lp"
sleep 0.3
out=$(ctr stop web)
check detach/stop-prints-name "got '$out'" [ "$out" = web ]
wait_bounded "$lp" 15
check detach/logs-follow-ends "status $wait_status, got '$(tr '\n' ' ' <"$scratch/follow")'" \
	grep -q got-term "$scratch/follow"
ctr ps -a >"$scratch/ps"
check detach/ps-exited "$(tr '\n' '|' <"$scratch/ps")" grep -qE 'Exited \(3\) .* ago +web$' "$scratch/ps"
check detach/ps-hides-exited "$(ctr ps -q)" [ -z "$(ctr ps -q)" ]
mnt=$(grep -c "$store/containers/$id" /proc/mounts || true)
check detach/stopped-rootfs-unmounted "$mnt mounts" [ "$mnt" = 0 ]

# start again: the same container, its writes kept (overlay upper).
ctr exec web true 2>/dev/null && fail detach/exec-stopped "exec into a stopped container worked" ||
	pass detach/exec-stopped
out=$(ctr start web)
sleep 0.3
check detach/start "got '$out', ps: $(ctr ps | tr '\n' '|')" grep -qE 'Up .* web$' <<<"$(ctr ps)"
ctr exec web sh -c 'echo kept >/etc/kept'
set +e
ctr rm web >/dev/null 2>"$scratch/err"
st=$?
set -e
check detach/rm-running-refused "status $st: $(cat "$scratch/err")" grep -q 'is running' "$scratch/err"
ctr stop -t 0 web >/dev/null
ctr start web >/dev/null
sleep 0.3
check detach/writes-survive-restart "got '$(ctr exec web cat /etc/kept 2>&1)'" [ "$(ctr exec web cat /etc/kept 2>&1)" = kept ]
initpid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' \
	"$store/oci/$id/state.json" 2>/dev/null || echo 0)
out=$(ctr rm -f web)
check detach/rm-force "got '$out'" [ "$out" = web ]
check detach/container-process-gone "pid $initpid alive" cond '[ "$initpid" != 0 ] && ! kill -0 "$initpid" 2>/dev/null'

# A line longer than a log record and output without a final newline
# come back byte for byte.
ctr run -d --name lines busybox sh -c 'head -c 40000 /dev/zero | tr "\0" x; echo; printf tail-no-newline' >/dev/null
for _ in $(seq 100); do ctr ps -a | grep -qE 'Exited \(0\) .* lines$' && break; sleep 0.1; done
{ head -c 40000 /dev/zero | tr '\0' x; echo; printf tail-no-newline; } >"$scratch/want"
ctr logs lines >"$scratch/got" 2>&1
check detach/logs-long-and-partial "$(wc -c <"$scratch/got") bytes" cmp -s "$scratch/want" "$scratch/got"
ctr rm lines >/dev/null

# --log-opt max-size/max-file: the log rotates, at most max-file files
# stay, `logs` reads them oldest first (the newest lines, in order) and
# `logs -f` started before the output follows it across rotations.
# The output comes in batches of 10 lines, 0.1 s apart (a rotation about
# every 0.4 s; the follower looks every 0.1 s): it falls behind only when more than
# max-file rotations pass between two looks, as docker's does.
ctr run -d --name rot --log-opt max-size=2k --log-opt max-file=3 busybox \
	sh -c 'sleep 1; i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); [ $((i % 10)) = 0 ] && sleep 0.1; done' >/dev/null
ctr logs -f rot >"$scratch/rot-follow" 2>&1 &
follower=$!
bg_track "$follower"
for _ in $(seq 100); do ctr ps -a | grep -qE 'Exited \(0\) .* rot$' && break; sleep 0.1; done
wait_bounded "$follower" 20
rotdir=$store/containers/$(ctr ps -a --no-trunc | awk '$NF == "rot" { print $1 }')
nlogs=$(ls "$rotdir" | grep -c '^ctr\.log')
ctr logs rot >"$scratch/rot" 2>&1
first=$(head -1 "$scratch/rot" | sed 's/line-//')
want=$(seq "$first" 399 | sed 's/^/line-/')
check detach/log-rotation "files $nlogs, lines $(wc -l <"$scratch/rot"), from $(head -1 "$scratch/rot") to $(tail -1 "$scratch/rot")" \
	cond '[ "$nlogs" = 3 ] && [ "$first" -gt 0 ] && [ "$(cat "$scratch/rot")" = "$want" ]'
check detach/log-rotation-follow "follow got $(wc -l <"$scratch/rot-follow") lines, $(head -1 "$scratch/rot-follow") .. $(tail -1 "$scratch/rot-follow")" \
	cond '[ "$(cat "$scratch/rot-follow")" = "$(seq 0 399 | sed "s/^/line-/")" ]'
ctr logs --tail 3 rot >"$scratch/rot-tail" 2>&1
check detach/log-rotation-tail "got '$(tr '\n' ' ' <"$scratch/rot-tail")'" \
	cond '[ "$(tr "\n" " " <"$scratch/rot-tail")" = "line-397 line-398 line-399 " ]'
ctr rm rot >/dev/null
refused125 detach/bad-log-opt "--log-opt .max-age=1.: expected max-size=SIZE or max-file=N" \
	ctr run -d --log-opt max-age=1 busybox true
refused125 detach/log-max-file-alone "max-file needs max-size" ctr run -d --log-opt max-file=2 busybox true

# run -d --rm: gone by itself after exiting; a failing command: 127.
id2=$(ctr run -d --rm busybox sh -c 'exit 0')
for _ in $(seq 50); do [ -e "$store/containers/$id2" ] || break; sleep 0.1; done
check detach/rm-on-exit "still there" [ ! -e "$store/containers/$id2" ]
set +e
ctr run -d busybox /no/such >/dev/null 2>"$scratch/err"
st=$?
set -e
check detach/run-d-not-found "status $st: $(cat "$scratch/err")" [ "$st" = 127 ]
for c in $(ls "$store/containers"); do ctr rm -f "$c" >/dev/null; done

# Bad input.
refused125 detach/logs-unknown "no such container: nosuch" ctr logs nosuch
refused125 detach/stop-unknown "no such container" ctr stop nosuch
refused125 detach/rm-unknown "no such container" ctr rm nosuch
refused125 detach/exec-unknown "no such container" ctr exec nosuch true
refused125 detach/exec-no-cmd "expected CONTAINER CMD" ctr exec web
refused125 detach/stop-bad-time "bad option or --time" ctr stop -t x web
refused125 detach/ps-bad-option "unknown option" ctr ps --bogus

# Nothing left.
sleep 0.2
mnt=$(grep -c "$store" /proc/mounts || true)
check detach/no-mounts-left "$mnt mounts" [ "$mnt" = 0 ]
left=$(find "$store/containers" "$store/oci" -mindepth 1 -maxdepth 1 2>/dev/null)
check detach/no-containers-left "left: $left" [ -z "$left" ]
sup=$(pgrep -f "$RINGVM container run -d" || true)
check detach/no-supervisors-left "pids: $sup" [ -z "$sup" ]
cg=$(find /sys/fs/cgroup -maxdepth 3 -path '*/ringvm/*' -regextype posix-extended \
	-regex '.*/[0-9a-f]{64}' -newer "$scratch/img/oci.tar" 2>/dev/null)
check detach/no-cgroups-left "left: $cg" [ -z "$cg" ]
