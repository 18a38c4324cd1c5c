#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/layers/prefixes.sh - the prefix rule of docs/design.md ("Layers"):
# every global symbol defined in src/ (nm of this build's objects) is tri_*
# or starts with its module's prefix, and no src/ .c file declares a
# non-static function or an extern variable (declarations live in the
# home header).
# scripts/prefix-rename fixes the first; this runs its --check.
# 0 pass, 1 fail, 77 skip (no python3 or nm).
srcdir=${srcdir:-.}
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }
command -v nm >/dev/null 2>&1 || { echo "SKIP: no nm (binutils)"; exit 77; }
python3 "$srcdir/scripts/prefix-rename" --check --builddir "${TRI_BUILDDIR:-.}" || exit 1
echo "PASS: prefix rule"
