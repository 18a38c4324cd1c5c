#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/packaging/exports.sh - libtricolor.so exports the public API and
# nothing else (the version script src/tricolor.map): every dynamic symbol
# it defines starts with tri_, is declared in include/tricolor.h and is no
# test hook (tri_debug_*); and every TRI_API function or variable the header
# declares is exported (none is declared without an implementation).
# 0 pass, 1 fail, 77 skip (no nm, or a static-only build).
builddir=${TRI_BUILDDIR:-.}
srcdir=${srcdir:-.}
header="$srcdir/include/tricolor.h"
so="$builddir/.libs/libtricolor.so"
command -v nm >/dev/null 2>&1 || { echo "SKIP: nm not found (binutils)"; exit 77; }
[ -f "$so" ] || { echo "SKIP: no $so (static-only build)"; exit 77; }

exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sed 's/@.*//' | sort -u)
# The name declared on each line that starts with TRI_API (or extern TRI_API).
declared=$(grep -E '^(extern )?TRI_API ' "$header" | while IFS= read -r line; do
	echo "$line" | grep -oE 'tri_[a-z0-9_]+ *[(;]' | head -n 1 | tr -d ' (;'
done | sort -u)
[ -n "$declared" ] || { echo "FAIL: no TRI_API declaration parsed from $header"; exit 1; }
fail=0
for s in $exported; do
	case "$s" in
	tri_debug_*) echo "FAIL: test hook exported: $s"; fail=1 ;;
	tri_*)
		echo "$declared" | grep -qx "$s" || { echo "FAIL: $s is exported but not declared TRI_API in include/tricolor.h"; fail=1; } ;;
	*) echo "FAIL: non-tri_ symbol exported: $s"; fail=1 ;;
	esac
done
for s in $declared; do
	echo "$exported" | grep -qx "$s" || { echo "FAIL: $s is declared in include/tricolor.h but not exported"; fail=1; }
done
[ $fail = 0 ] && echo "ok: $(echo "$exported" | wc -l) symbols, all tri_* and declared in include/tricolor.h"
exit $fail
