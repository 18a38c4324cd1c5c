#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/layers/check.sh - the layer rule of docs/design.md ("Layers"):
# scripts/check-layers on this build (includes and, from nm of the objects,
# calls) finds no upward edge outside scripts/layers-allow.txt. Then a
# self-test: with an empty allow-list the same check must fail and name an
# edge of the list, so the check can fail at all.
# 0 pass, 1 fail, 77 skip (no python3 or nm).
srcdir=${srcdir:-.}
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }
command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm (binutils)"; exit 77; }
chk="$srcdir/scripts/check-layers"
allow="$srcdir/scripts/layers-allow.txt"
python3 "$chk" --srcdir "$srcdir" --builddir "${TRI_BUILDDIR:-.}" || exit 1
first=$(grep -v '^[[:space:]]*\(#\|$\)' "$allow" 2>/dev/null | head -n 1 | awk '{print $1}')
if [ -n "$first" ]; then
	empty=$(mktemp) || exit 1
	out=$(python3 "$chk" --srcdir "$srcdir" --builddir "${TRI_BUILDDIR:-.}" --allow "$empty")
	rc=$?
	rm -f "$empty"
	[ $rc = 1 ] || { echo "FAIL: check-layers passed with an empty allow-list"; exit 1; }
	echo "$out" | grep -q "FAIL: upward edge $first " ||
		{ echo "FAIL: check-layers did not name the edge from $first"; exit 1; }
fi
echo "PASS: layer rule"
