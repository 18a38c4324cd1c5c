#!/bin/bash
# SPDX-License-Identifier: MIT
# kvserver_integration.sh - end-to-end test of tricolor-kvserver with the real
# Redis clients (automake TESTS script; exit 77 = skipped).
#
# For each safety-net mode (cleanup, finalizer): start the server on a free
# loopback port, check PING/SET/GET/INCR/DEL/GET-missing/CONFIG GET replies
# exactly with redis-cli, send malformed requests on raw connections and
# check each gets Redis' protocol error reply and then the connection is
# closed by the server (fixed cases, replies compared with redis-server 7's;
# tests/kvserver_fuzz.sh does the random ones), run a short pipelined redis-benchmark and check it
# finishes with a non-zero throughput, then send SIGTERM and check the server
# exits 0 within a few seconds.
#
# The server is taken from $KVSERVER, else ${builddir:-.}/tricolor-kvserver
# (automake runs TESTS from the build directory).
# Re-run under bash if a test driver started us with another shell.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

if ! command -v redis-cli >/dev/null 2>&1 ||
   ! command -v redis-benchmark >/dev/null 2>&1; then
	echo "SKIP: redis-cli or redis-benchmark not installed (Debian: redis-tools)"
	exit 77
fi

SERVER=${KVSERVER:-${builddir:-.}/tricolor-kvserver}
if [ ! -x "$SERVER" ]; then
	echo "FAIL: server not found at $SERVER (build it: make tricolor-kvserver)"
	exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kvserver-test.XXXXXX")
PID=
PORT=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -KILL "$PID" 2>/dev/null
		wait "$PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "FAIL: $*"
	if [ -f "$TMP/server.log" ]; then
		echo "--- server output:"
		tail -n 40 "$TMP/server.log"
	fi
	exit 1
}

# start_server ARGS...: on a random free high port; sets PID and PORT.
start_server() {
	local try i
	for try in 1 2 3 4 5 6 7 8 9 10; do
		PORT=$((20000 + RANDOM % 40000))
		"$SERVER" --port "$PORT" "$@" >"$TMP/server.log" 2>&1 &
		PID=$!
		for i in $(seq 1 50); do
			if ! kill -0 "$PID" 2>/dev/null; then
				break # exited: port taken? try another
			fi
			if [ "$(redis-cli -p "$PORT" PING 2>/dev/null)" = PONG ]; then
				return 0
			fi
			sleep 0.1
		done
		if kill -0 "$PID" 2>/dev/null; then
			fail "server started but does not answer PING on port $PORT"
		fi
		wait "$PID" 2>/dev/null
		if ! grep -q "bind" "$TMP/server.log"; then
			fail "server exited at start-up"
		fi
		PID=
	done
	fail "no free port found after 10 tries"
}

# expect EXPECTED ARGS...: redis-cli ARGS must print exactly EXPECTED.
expect() {
	local want=$1 got
	shift
	got=$(timeout 5 redis-cli --no-raw -p "$PORT" "$@" 2>&1)
	if [ "$got" != "$want" ]; then
		fail "redis-cli $*: expected '$want', got '$got'"
	fi
	echo "ok: $* -> $got"
}

# expect_closed REPLY REQUEST: send REQUEST (printf %b escapes) on a new
# connection; the server must answer exactly REPLY (also %b) and then close
# the connection (EOF within 5 s), and still answer PING on a new one.
expect_closed() {
	local want=$1 req=$2 rc
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 2
		printf "%b" "$2" >&3; cat <&3' _ "$PORT" "$req" >"$TMP/raw.out" 2>"$TMP/raw.err"
	rc=$?
	printf '%b' "$want" >"$TMP/raw.want"
	[ $rc -ne 124 ] || fail "request '$req': connection still open 5 s after the reply" \
		"(got: $(od -An -c "$TMP/raw.out" | tr -s ' \n' ' '))"
	[ $rc -eq 0 ] || fail "request '$req': raw connection failed (rc $rc: $(cat "$TMP/raw.err"))"
	cmp -s "$TMP/raw.out" "$TMP/raw.want" ||
		fail "request '$req': expected '$want', got '$(od -An -c "$TMP/raw.out" | tr -s ' \n' ' ')'"
	echo "ok: '$req' -> '$want', connection closed"
	expect "PONG" PING
}

run_mode() {
	local mode=$1
	echo "=== mode: $mode"
	start_server --threads 2 --cleanup-mode "$mode" --stats
	echo "server pid $PID on port $PORT"

	local k="test:$mode:$$"
	expect "PONG" PING
	expect "OK" SET "$k" "hello world"
	expect '"hello world"' GET "$k"
	expect "(integer) 1" INCR "$k:n"
	expect "(integer) 2" INCR "$k:n"
	expect '"2"' GET "$k:n"
	expect "(integer) 1" DEL "$k"
	expect "(nil)" GET "$k"
	expect "(integer) 0" DEL "$k"
	expect "OK" SET "$k:s" abc
	expect "(error) ERR value is not an integer or out of range" INCR "$k:s"
	# Redis' wording for the range checks (compared with redis-server 7).
	expect "(error) ERR invalid expire time in 'set' command" SET "$k:e" v EX 0
	expect "(error) ERR invalid expire time in 'set' command" SET "$k:e" v EX 9223372036854776
	expect "(error) ERR invalid expire time in 'set' command" SET "$k:e" v PX 9223372036854775807
	expect "OK" SET "$k:e" v EX 100
	expect "(integer) 100" TTL "$k:e"
	expect "(error) ERR invalid expire time in 'expire' command" EXPIRE "$k:e" 9999999999999999
	expect "OK" SET "$k:max" 9223372036854775807
	expect "(error) ERR increment or decrement would overflow" INCR "$k:max"
	expect "(error) ERR increment or decrement would overflow" INCRBY "$k:max" 1
	expect $'1) "save"\n2) ""' CONFIG GET save
	expect $'1) "appendonly"\n2) "no"' CONFIG GET appendonly

	# Malformed requests: Redis' reply, then the connection closed.
	expect_closed '-ERR Protocol error: invalid multibulk length\r\n' '*abc\r\n'
	expect_closed '-ERR Protocol error: invalid multibulk length\r\n' '*3000000000\r\n'
	expect_closed '-ERR Protocol error: invalid bulk length\r\n' '*1\r\n$x\r\n'
	expect_closed "-ERR Protocol error: expected '\$', got 'f'\r\n" '*1\r\nfoo\r\n'

	# Pipelined load: 20000 SET + 20000 GET, 20 clients, 16 in flight.
	local out
	out=$(timeout 20 redis-benchmark -p "$PORT" -t set,get -n 20000 -c 20 \
		-P 16 -q 2>&1 | tr '\r' '\n')
	local rc=$?
	local op rps
	for op in SET GET; do
		rps=$(printf '%s\n' "$out" |
			sed -n "s/^ *$op: \([0-9.]*\) requests per second.*/\1/p" |
			tail -n 1)
		if [ -z "$rps" ] || ! awk -v r="$rps" 'BEGIN { exit !(r > 0) }'; then
			printf '%s\n' "$out" | tail -n 5
			fail "redis-benchmark $op: no throughput (rc=$rc)"
		fi
		echo "ok: redis-benchmark $op: $rps requests per second"
	done
	expect "PONG" PING

	# Clean shutdown on SIGTERM: exit status 0 within 5 s.
	kill -TERM "$PID"
	local i
	for i in $(seq 1 50); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$PID" 2>/dev/null; then
		fail "server still running 5 s after SIGTERM"
	fi
	wait "$PID"
	rc=$?
	PID=
	[ "$rc" -eq 0 ] || fail "server exit status $rc after SIGTERM"
	grep -q '^STAT gc_cycles ' "$TMP/server.log" ||
		fail "no --stats output at exit"
	echo "ok: SIGTERM -> exit 0; $(grep -E '^STAT (gc_cycles|pause_max_ns|commands) ' \
		"$TMP/server.log" | tr '\n' ' ')"
}

run_mode cleanup
run_mode finalizer
echo "PASS"
exit 0
