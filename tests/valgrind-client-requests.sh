#!/bin/sh
# SPDX-License-Identifier: MIT
# valgrind-client-requests.sh - prove that memcheck understands the tricolor
# heap (src/alloc/memcheck.h): tests/valgrind_uaf reads a collected small
# object, a collected large object and a never-allocated free slot, and
# memcheck must report exactly those three invalid reads (the first two in
# blocks "free'd" by sweep_span, the third just past a live 48-byte block)
# and nothing else. Without the client requests memcheck sees the arena as
# ordinary mapped memory and reports none of them: the test fails.
#
# Run by `make check` from the top build directory (and by
# scripts/valgrind-check). Exit status (automake): 0 pass, 1 fail, 77 skip
# (no valgrind, a sanitizer build, or the library was configured without
# <valgrind/valgrind.h> so the requests compile to nothing by design), 99
# hard error.
builddir=${TRI_BUILDDIR:-.}
config="$builddir/config.h"
prog="$builddir/tests/valgrind_uaf"

if ! command -v valgrind >/dev/null 2>&1; then
	echo "SKIP: valgrind not found"
	exit 77
fi
if [ ! -f "$config" ] || [ ! -x "$prog" ]; then
	echo "ERROR: $config or $prog missing; run from the top build directory after make"
	exit 99
fi
# A sanitizer build (scripts/sanitize) cannot run under valgrind: the
# sanitizer runtimes refuse to start there.
if grep -q '^SAN_CFLAGS = -fsanitize' "$builddir/Makefile" 2>/dev/null; then
	echo "SKIP: sanitizer build (ASan/TSan do not run under valgrind)"
	exit 77
fi
if ! grep -q '^#define HAVE_VALGRIND_VALGRIND_H 1' "$config"; then
	echo "SKIP: built without <valgrind/valgrind.h> (install valgrind and reconfigure)"
	exit 77
fi

log=$(mktemp) || exit 99
out=$(mktemp) || exit 99
trap 'rm -f "$log" "$out"' EXIT
"$builddir/libtool" --mode=execute valgrind --tool=memcheck --num-callers=30 --leak-check=no \
	--log-file="$log" "$prog" >"$out" 2>&1
rc=$?
cat "$out"
fail=0
if [ "$rc" -ne 0 ]; then
	echo "FAIL: tests/valgrind_uaf exited with $rc"
	fail=1
fi
errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -1)
if [ "${errors:-x}" != 3 ]; then
	echo "FAIL: memcheck reported ${errors:-no} errors, expected exactly 3"
	fail=1
fi
# Each expected error: an invalid read whose address description matches
# the extended regular expression $1 and, when $3 is set, whose freeing stack (the frames after the
# description, up to "Block was alloc'd") names $3.
check() {
	if ! awk -v pat="$1" -v frame="$3" '
		/Invalid read of size/ { inerr = 1; desc = 0; next }
		/^==[0-9]+== *$/ || /Block was alloc/ { inerr = 0; desc = 0; next }
		inerr && $0 ~ pat { desc = 1; if (frame == "") found = 1; next }
		inerr && desc && frame != "" && index($0, frame) { found = 1 }
		END { exit !found }' "$log"; then
		echo "FAIL: no invalid read reported for $2"
		fail=1
	else
		echo "ok: memcheck reported $2"
	fi
}
check "is 0 bytes inside a block of size 32 free'd" "the collected small object" "sweep_span"
check "is 0 bytes inside a block of size 65,?536 free'd" "the collected large object" "sweep_span"
check "is 0 bytes after a (recently re-allocated )?block of size 48 alloc'd" \
	"the free slot after a live object" ""
if [ "$fail" -ne 0 ]; then
	echo "--- memcheck log"
	cat "$log"
fi
exit "$fail"
