#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/packaging/docs.sh - the documentation a user reads names no path of
# the development machine, and docs/design.md's contents list matches its
# sections.
#  - README.md, NEWS, docs/*.md, perf/*.md, include/tricolor.h and the
#    example sources must not contain /work/, /home/, /root/,
#    /Users/ or a build directory under /tmp (/tmp/DIR/...; a single file
#    such as /tmp/trace.json in an example command is allowed).
#  - the "Contents:" paragraph of docs/design.md lists "N title" for every
#    "## N. Title" heading, in order, with the same words (case aside).
# 0 pass, 1 fail.
srcdir=${srcdir:-.}
fail=0
files=$(cd "$srcdir" && ls README.md NEWS docs/*.md perf/*.md include/tricolor.h examples/*.c 2>/dev/null)
for f in $files; do
	if grep -nE '/work/|/home/|/root/|/Users/|/tmp/[^ /`"]+/' "$srcdir/$f" >/tmp/docs-paths.$$ 2>/dev/null; then
		sed "s|^|FAIL: $f:|" /tmp/docs-paths.$$
		fail=1
	fi
done
rm -f /tmp/docs-paths.$$

design="$srcdir/docs/design.md"
headings=$(sed -n 's/^## \([0-9][0-9]*\)\. \(.*\)$/\1 \2/p' "$design" | tr 'A-Z' 'a-z')
contents=$(awk '/^Contents/{on=1} on&&/^$/{exit} on' "$design" | tr '\n' ' ' |
	sed 's/^Contents[^:]*: *//; s/[.] *$//; s/  */ /g' | tr 'A-Z' 'a-z')
# Split the list before each section number (a number followed by a space
# and a letter, preceded by ", " or the start).
listed=$(echo "$contents" | sed 's/, \([0-9][0-9]* [a-z]\)/\n\1/g' | sed 's/ *$//')
if [ "$headings" != "$listed" ]; then
	echo "FAIL: docs/design.md contents list and section headings differ:"
	echo "--- headings"; echo "$headings"
	echo "--- contents"; echo "$listed"
	fail=1
else
	echo "ok: docs/design.md lists its $(echo "$headings" | wc -l) sections"
fi
[ $fail = 0 ] && echo "ok: no development-machine paths in: $(echo $files)"
exit $fail
