#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/packaging/man.sh - the generated man pages (man/gen-man.py) cover
# the header and render cleanly: every TRI_API name of include/tricolor.h
# has a page, every one-line page sources an existing family page, and
# groff -man -ww (all warnings) prints nothing for any page.
# 0 pass, 1 fail, 77 skip (no groff), 99 hard error (pages not built).
builddir=${TRI_BUILDDIR:-.}
srcdir=${srcdir:-.}
man="$builddir/man"
[ -f "$man/tricolor.3" ] || { echo "ERROR: $man/tricolor.3 not generated (run make)"; exit 99; }
fail=0
names=$(grep -E '^(extern )?TRI_API ' "$srcdir/include/tricolor.h" | while IFS= read -r line; do
	echo "$line" | grep -oE 'tri_[a-z0-9_]+ *[(;]' | head -n 1 | tr -d ' (;'
done; sed -n 's/^#define \(TRI_[A-Z_]*[A-Z]\)(.*/\1/p; s/^#define \(tri_[a-z_]*\)(.*/\1/p' "$srcdir/include/tricolor.h")
for n in $names; do
	case "$n" in *_) continue ;; esac # internal (tri_store_slow_, ...)
	[ -f "$man/$n.3" ] || { echo "FAIL: $n has no man page"; fail=1; }
done
command -v groff >/dev/null 2>&1 || { echo "SKIP: groff not installed (names checked: $fail)"; [ $fail = 0 ] && exit 77; exit 1; }
pages=0
for p in "$man"/*.3; do
	first=$(head -n 1 "$p")
	case "$first" in
	.so\ *)
		target="$man/$(basename "${first#.so man3/}")"
		[ -f "$target" ] || { echo "FAIL: $p sources missing $target"; fail=1; } ;;
	*)
		w=$(groff -man -ww -z "$p" 2>&1)
		[ -z "$w" ] || { echo "FAIL: groff warnings for $p:"; echo "$w"; fail=1; }
		pages=$((pages + 1)) ;;
	esac
done
[ $fail = 0 ] && echo "ok: $pages pages render without warnings; every TRI_API name has a page"
exit $fail
