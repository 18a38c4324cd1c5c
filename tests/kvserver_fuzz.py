#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""kvserver_fuzz.py - a small protocol fuzzer: tricolor-kvserver against
redis-server.

Usage: kvserver_fuzz.py KVSERVER_PORT REDIS_PORT SECONDS [SEED]

Each case is a few commands from the set tricolor-kvserver supports (GET,
SET [EX|PX], DEL, INCR/DECR/INCRBY/DECRBY, EXPIRE, EXISTS, ECHO, PING,
DBSIZE, QUIT), with keys from a small set and values near the integer
limits, framed as multibulk or inline requests; one case in two is then
mutated (bytes flipped, inserted, deleted or duplicated, the buffer cut
short, a framing digit changed). Both servers start each case empty
(FLUSHALL), get the same bytes on a fresh connection, then see EOF; every
reply up to the close is compared. Differences allowed: Redis' "unknown
command" text (tricolor's is shorter) and commands or options tricolor does
not implement, which a mutation can create (the case is then not compared
past that point). A case that times out (no close within 3 s) is a hang;
the kvserver must answer PING at the end. tricolor-kvserver's own limit
(more than 256 arguments: a protocol error) also ends the comparison. Exit 0 on agreement, 1 otherwise.
"""
import random
import socket
import sys
import time

SUPPORTED = {b"GET", b"SET", b"DEL", b"UNLINK", b"INCR", b"DECR", b"INCRBY", b"DECRBY",
             b"EXPIRE", b"EXISTS", b"ECHO", b"PING", b"DBSIZE", b"QUIT", b"FLUSHALL",
             b"FLUSHDB"}
KEYS = [b"k", b"n", b"key:1", b"x" * 40]
INTS = [b"0", b"1", b"-1", b"10", b"9223372036854775807", b"-9223372036854775808",
        b"9223372036854775806", b"9223372036854775", b"9223372036854776", b"99999999999999999999",
        b"-0", b"01", b"1.5", b"abc", b"", b"3600", b"-5"]


def value(r):
    return r.choice(INTS + [b"hello", b"a b", bytes(r.randrange(33, 127) for _ in range(r.randrange(0, 8)))])


def command(r):
    c = r.choice(sorted(SUPPORTED - {b"QUIT", b"FLUSHALL", b"FLUSHDB"}) + [b"QUIT"] * 0)
    k = r.choice(KEYS)
    if c == b"GET":
        return [c, k]
    if c == b"SET":
        a = [c, k, value(r)]
        if r.random() < 0.5:
            a += [r.choice([b"EX", b"PX", b"ex", b"px"]), r.choice(INTS)]
            if r.random() < 0.1:
                a += [r.choice([b"EX", b"PX"]), r.choice(INTS)]
        elif r.random() < 0.1:
            a += [r.choice([b"EX", b"PX"])]
        return a
    if c in (b"DEL", b"UNLINK", b"EXISTS"):
        return [c] + r.sample(KEYS, r.randrange(1, 3))
    if c in (b"INCR", b"DECR"):
        return [c, k]
    if c in (b"INCRBY", b"DECRBY"):
        return [c, k, r.choice(INTS)]
    if c == b"EXPIRE":
        return [c, k, r.choice(INTS)]
    if c == b"ECHO":
        return [c, value(r)]
    if c == b"PING":
        return [c] + ([value(r)] if r.random() < 0.3 else [])
    return [c]


def multibulk(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def inline(args):
    # No quotes or backslashes: Redis' inline split reads quotes, ours not.
    if any(not a or any(ch in b" \t\r\n\"'\\\0" for ch in a) for a in args):
        return multibulk(args)
    return b" ".join(args) + b"\r\n"


def mutate(r, data):
    data = bytearray(data)
    for _ in range(r.randrange(1, 4)):
        op = r.randrange(6)
        if not data:
            break
        i = r.randrange(len(data))
        if op == 0:
            data[i] = r.randrange(256)
        elif op == 1:
            data.insert(i, r.choice(b"*$\r\n-0123456789 abc"))
        elif op == 2:
            del data[i]
        elif op == 3:
            data[i:i] = data[i:i + r.randrange(1, 8)]
        elif op == 4:
            del data[i:]
        else:
            digits = [j for j, ch in enumerate(data) if 48 <= ch <= 57]
            if digits:
                data[r.choice(digits)] = r.choice(b"0123456789-x")
    return bytes(data)


def exchange(port, data, timeout=3.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        deadline = time.time() + timeout
        while True:
            s.settimeout(max(0.01, deadline - time.time()))
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                raise TimeoutError("no close within %.0f s" % timeout)
            if not d:
                break
            out += d
        return out
    finally:
        s.close()


def replies(buf):
    """Split a RESP reply stream into top-level replies (bytes each)."""
    out, i = [], 0

    def one(i):
        if i >= len(buf):
            return None
        e = buf.find(b"\r\n", i)
        if e < 0:
            return None
        t = buf[i:i + 1]
        if t in (b"+", b"-", b":"):
            return e + 2
        n = int(buf[i + 1:e])
        if t == b"$":
            return e + 2 if n < 0 else e + 2 + n + 2
        if t == b"*":
            j = e + 2
            for _ in range(max(n, 0)):
                j = one(j)
                if j is None:
                    return None
            return j
        return None
    while i < len(buf):
        j = one(i)
        if j is None:
            out.append(buf[i:])
            break
        out.append(buf[i:j])
        i = j
    return out


def unsupported(rep):
    return (rep.startswith(b"-ERR unknown command") or rep.startswith(b"-ERR unknown subcommand")
            or b"not supported" in rep or rep.startswith(b"-ERR Unsupported option"))


def main():
    kport, rport, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else random.randrange(1 << 30)
    r = random.Random(seed)
    print("seed %d, %.0f s" % (seed, seconds))
    end = time.time() + seconds
    cases = compared = mutated = 0
    while time.time() < end:
        cmds = [command(r) for _ in range(r.randrange(1, 5))]
        if r.random() < 0.1:
            cmds.insert(r.randrange(len(cmds) + 1), [b"QUIT"])
        data = b"".join(inline(c) if r.random() < 0.3 else multibulk(c) for c in cmds)
        if r.random() < 0.5:
            data = mutate(r, data)
            mutated += 1
        for p in (kport, rport):
            exchange(p, b"FLUSHALL\r\n")
        try:
            got = exchange(kport, data)
        except TimeoutError as e:
            print("FAIL: kvserver hung (%s) on %r" % (e, data))
            return 1
        want = exchange(rport, data)
        cases += 1
        g, w = replies(got), replies(want)
        for a, b in zip(g, w):
            if a == b:
                continue
            if unsupported(b) and a.startswith(b"-ERR unknown command"):
                continue
            if (unsupported(b) or a.startswith(b"-ERR unknown command")
                    or a.startswith(b"-ERR Protocol error: too many arguments")):
                break  # a command, option or argument count tricolor does not support
            print("FAIL: case %d: request %r\n  kvserver: %r\n  redis:    %r" % (cases, data, got, want))
            return 1
        else:
            if len(g) > len(w) and g[len(w)].startswith(b"-ERR Protocol error: too many arguments"):
                continue  # redis still waits for the rest of a request over tricolor's argument limit
            if len(g) != len(w):
                print("FAIL: case %d: request %r\n  kvserver: %r\n  redis:    %r" % (cases, data, got, want))
                return 1
        compared += 1
    if exchange(kport, b"PING\r\n") != b"+PONG\r\n":
        print("FAIL: kvserver does not answer PING after the fuzz")
        return 1
    print("ok: %d cases (%d mutated), replies agree with redis-server" % (cases, mutated))
    return 0


if __name__ == "__main__":
    sys.exit(main())
