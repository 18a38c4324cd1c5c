#!/bin/sh
# SPDX-License-Identifier: MIT
# perf/peers/go/build.sh OUTDIR: build the Go peers of the benchmarks into
# OUTDIR/go-gcbench, OUTDIR/go-msgbuf and OUTDIR/go-finalizers with
# `go build`. No external modules are used. Exits 0 with a message if Go is
# not installed. perf/gcbench and perf/msgbuf run them from $PERF_GO_DIR (or
# <directory of the program>/peers/go) when present.
set -eu
if [ $# -ne 1 ]; then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
if ! command -v go >/dev/null 2>&1; then
	echo "build.sh: go is not installed: the Go peers are not built"
	exit 0
fi
out=$1
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
# A writable build cache even when HOME is not (CI, sandboxes).
if [ -z "${GOCACHE:-}" ]; then
	cache=$(go env GOCACHE 2>/dev/null || true)
	if [ -z "$cache" ] || ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
		GOCACHE=$out/.gocache
		export GOCACHE
	fi
fi
export GOFLAGS="${GOFLAGS:-}" GO111MODULE=on GOTOOLCHAIN=local
cd "$here"
for p in gcbench msgbuf finalizers; do
	echo "go build -o $out/go-$p ./$p"
	go build -o "$out/go-$p" "./$p"
done
echo "built: $(go version) -> $out"
