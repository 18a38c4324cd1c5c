#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/packaging/spdx.sh - every source file carries its license: an
# "SPDX-License-Identifier: MIT" line in the first three lines of each C
# source and header, C++ test, shell and Python script, Makefile fragment
# and Autoconf input under the source tree (what a distributor's license
# scanner reads). 0 pass, 1 fail, naming each file without one.
srcdir=${srcdir:-.}
fail=0
files=$(cd "$srcdir" && find include src tests perf examples scripts man \
	-name '*.c' -o -name '*.h' -o -name '*.cc' -o -name '*.sh' -o -name '*.py' \
	-o -name '*.mk' -o -name '*.java' -o -name '*.map' 2>/dev/null | grep -v '/\.' | sort)
files="$files configure.ac Makefile.am"
n=0
for f in $files; do
	[ -f "$srcdir/$f" ] || continue
	case "$f" in *config.h|*/.libs/*|*/.deps/*) continue ;; esac
	n=$((n + 1))
	if ! head -n 3 "$srcdir/$f" | grep -q 'SPDX-License-Identifier: MIT'; then
		echo "FAIL: $f: no SPDX-License-Identifier: MIT line"
		fail=1
	fi
done
echo "spdx: $n files checked"
exit $fail
