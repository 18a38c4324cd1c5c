#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/packaging/spdx.sh - every source file carries its license: an
# "SPDX-License-Identifier: MIT" line in the first three lines (what a
# distributor's license scanner reads). Source files are, under include src
# tests perf examples scripts man .ci and at the top level:
#  - by name: C sources and headers (.c .h), C++ (.cc), shell (.sh), Python
#    (.py), Go (.go, go.mod), Java (.java), Makefile fragments (.mk), the
#    linker version script (.map), Autoconf/Automake/pkg-config inputs
#    (configure.ac, Makefile.am, *.pc.in);
#  - by content: any other file whose first two bytes are "#!" (the
#    extensionless scripts: scripts/setup, scripts/demo, perf/run,
#    perf/kvserver-bench, .ci/run, ...), except libtool's generated wrapper
#    scripts of built programs (an in-tree build puts tests/test_alloc etc.
#    beside the sources).
# Build products (.libs/, .deps/, objects, binaries) are not sources and
# are skipped. A few files that must be classified as sources are named
# below, so a classification that silently stops finding them fails too.
# 0 pass, 1 fail, naming each file without the line.
srcdir=${srcdir:-.}
fail=0
list=$(mktemp "${TMPDIR:-/tmp}/spdx.XXXXXX") || exit 1
trap 'rm -f "$list"' EXIT
(
	cd "$srcdir" || exit 1
	find include src tests perf examples scripts man .ci \
		\( -name .libs -o -name .deps -o -name '*.tmp' -o -path perf/peers/go/bin \) -prune \
		-o -type f -print 2>/dev/null
	ls configure.ac Makefile.am ./*.pc.in 2>/dev/null
) | sed 's|^\./||' | sort -u | while read -r f; do
	case "$f" in
	*.c|*.h|*.cc|*.sh|*.py|*.go|*/go.mod|*.java|*.mk|*.map|configure.ac|Makefile.am|*.pc.in)
		echo "$f" ;;
	*.o|*.lo|*.la|*.a|*.so|*.log|*.trs|*.png|*.csv|*.md|*.txt) ;;
	*)
		[ "$(head -c 2 "$srcdir/$f" 2>/dev/null)" = '#!' ] || continue
		head -n 5 "$srcdir/$f" | grep -q 'temporary wrapper script for' && continue
		echo "$f" ;;
	esac
done >"$list"

n=0
while read -r f; do
	n=$((n + 1))
	if ! head -n 3 "$srcdir/$f" | grep -q 'SPDX-License-Identifier: MIT'; then
		echo "FAIL: $f: no SPDX-License-Identifier: MIT line"
		fail=1
	fi
done <"$list"

# Files of each kind that must have been found (when they exist: a release
# tarball ships only part of perf/): extensionless scripts found by their
# "#!", and one file per language.
for f in scripts/setup scripts/demo scripts/test perf/run perf/kvserver-bench .ci/run \
	man/gen-man.py perf/peers/go/gcbench/main.go perf/peers/go/go.mod \
	perf/peers/java/MsgBuf.java tests/packaging/spdx.sh include/tricolor.h \
	src/tricolor.map tricolor.pc.in configure.ac; do
	[ -f "$srcdir/$f" ] || continue
	grep -qx "$f" "$list" || { echo "FAIL: $f was not classified as a source file"; fail=1; }
done
echo "spdx: $n files checked"
exit $fail
