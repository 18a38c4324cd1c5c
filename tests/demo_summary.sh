#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/demo_summary.sh - scripts/demo prints the run's summary
# (results/summary.txt, the wins and losses) exactly once, after its result
# tables: perf/run, which it calls, is told --no-summary.
#
# Runs the real scripts/demo, perf/run and perf/report.py from a copy of
# the tree in a temporary directory, with a stub scripts/setup (no package
# installs, no build), a fake build directory whose "benchmark"
# perf/fin_vs_cleanup writes the committed fin_vs_cleanup rows of
# perf/results/latest.csv, and no Go or Java peers. A few seconds.
# automake TESTS script: 0 pass, 1 fail, 77 skip (no python3).
set -u
srcdir=${srcdir:-.}
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3 (perf/report.py)"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/demo-summary.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; echo "--- demo output:"; cat "$T/out.txt" 2>/dev/null; exit 1; }

mkdir -p "$T/src/scripts" "$T/src/perf/results" "$T/build/perf"
cp "$srcdir/scripts/demo" "$T/src/scripts/demo"
cp "$srcdir/perf/run" "$srcdir/perf/report.py" "$T/src/perf/"
printf '#!/bin/sh\nexit 0\n' >"$T/src/scripts/setup"
printf 'perf-programs:\n\t@:\n' >"$T/build/Makefile"
{
	echo "benchmark,case,impl,metric,unit,median,min,max,reps"
	grep '^fin_vs_cleanup,' "$srcdir/perf/results/latest.csv" 2>/dev/null
} >"$T/rows.csv"
cat >"$T/build/perf/fin_vs_cleanup" <<EOT
#!/bin/sh
# the fake benchmark: --csv FILE gets the fixed rows
while [ \$# -gt 0 ]; do [ "\$1" = --csv ] && cp "$T/rows.csv" "\$2"; shift; done
echo "fin_vs_cleanup (fake): done"
EOT
chmod +x "$T/src/scripts/demo" "$T/src/perf/run" "$T/src/scripts/setup" "$T/build/perf/fin_vs_cleanup"

BUILDDIR=$T/build PERF_OUT=$T/out timeout 120 "$T/src/scripts/demo" --quick >"$T/out.txt" 2>&1
rc=$?
[ $rc = 0 ] || fail "scripts/demo --quick exited $rc"
sum=$T/out/results/summary.txt
[ -s "$sum" ] || fail "no summary.txt written"
# Every non-blank line of the summary appears once in the output.
n=0
while IFS= read -r line; do
	[ -n "${line// }" ] || continue
	n=$((n + 1))
	c=$(grep -cxF -- "$line" "$T/out.txt")
	[ "$c" = 1 ] || fail "summary line printed $c times (want 1): '$line'"
done <"$sum"
[ $n -gt 0 ] || fail "summary.txt has no lines"
# ... after the result tables, under the demo's heading.
first=$(grep -m1 -v '^ *$' "$sum")
h=$(grep -nxF -- '---- summary of this run ----' "$T/out.txt" | head -n 1 | cut -d: -f1)
s=$(grep -nxF -- "$first" "$T/out.txt" | head -n 1 | cut -d: -f1)
t=$(grep -n -- '^---- fin_vs_cleanup' "$T/out.txt" | head -n 1 | cut -d: -f1)
[ -n "$h" ] || fail "no '---- summary of this run ----' heading"
[ -n "$t" ] || fail "no result table section (---- fin_vs_cleanup ...)"
[ "$t" -lt "$h" ] && [ "$h" -lt "$s" ] ||
	fail "order: tables at line $t, heading at $h, summary at $s"
echo "ok: the summary's $n lines printed once, after the tables (line $s of $(wc -l <"$T/out.txt"))"
exit 0
