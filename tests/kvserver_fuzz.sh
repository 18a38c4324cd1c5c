#!/bin/bash
# SPDX-License-Identifier: MIT
# kvserver_fuzz.sh - tricolor-kvserver against redis-server under a small
# protocol fuzzer (tests/kvserver_fuzz.py): random and mutated requests,
# replies compared, no crash, no hang. Bounded: TRI_FUZZ_SECONDS (default 8)
# of cases; TRI_FUZZ_SEED replays a run (the seed is printed).
# automake TESTS script; exit 77 = skipped (no redis-server or python3).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u
for p in redis-server redis-cli python3; do
	command -v $p >/dev/null 2>&1 || { echo "SKIP: $p not installed"; exit 77; }
done
SERVER=${KVSERVER:-${builddir:-.}/tricolor-kvserver}
FUZZ=${srcdir:-$(dirname "$0")/..}/tests/kvserver_fuzz.py
[ -x "$SERVER" ] || { echo "FAIL: server not found at $SERVER"; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kvserver-fuzz.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# start NAME CMD...: on a free port (the command gets --port PORT); sets PORT.
start() {
	local name=$1 try i
	shift
	for try in 1 2 3 4 5 6 7 8 9 10; do
		PORT=$((20000 + RANDOM % 40000))
		"$@" --port "$PORT" >"$TMP/$name.log" 2>&1 &
		local pid=$!
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			if [ "$(redis-cli -p "$PORT" PING 2>/dev/null)" = PONG ]; then
				PIDS+=("$pid")
				return 0
			fi
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	echo "FAIL: cannot start $name"
	cat "$TMP/$name.log"
	exit 1
}
start redis redis-server --save '' --appendonly no --bind 127.0.0.1
RPORT=$PORT
start kvserver "$SERVER" --threads 2
KPORT=$PORT
KPID=${PIDS[1]}
python3 "$FUZZ" "$KPORT" "$RPORT" "${TRI_FUZZ_SECONDS:-8}" ${TRI_FUZZ_SEED:-} || {
	echo "--- kvserver output:"
	tail -n 20 "$TMP/kvserver.log"
	exit 1
}
kill -0 "$KPID" 2>/dev/null || { echo "FAIL: kvserver died"; exit 1; }
echo PASS
