#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/packaging/pkgconfig.sh - the generated tricolor.pc gives a user
# tricolor's include path and library and nothing else, and works when the
# private dependencies' .pc files (ck, liburcu) are absent: only
# `pkg-config --static --libs` names them.
# Run by `make check` from the top build directory. 0 pass, 1 fail, 77 skip
# (no pkg-config), 99 hard error (tricolor.pc not generated).
builddir=${TRI_BUILDDIR:-.}
pc="$builddir/tricolor.pc"
command -v pkg-config >/dev/null 2>&1 || { echo "SKIP: pkg-config not found"; exit 77; }
[ -f "$pc" ] || { echo "ERROR: $pc not found (run configure)"; exit 99; }

# Only the build directory is searched: ck.pc and liburcu*.pc cannot be
# found, as on a machine without libck-dev / liburcu-dev.
PKG_CONFIG_LIBDIR=$builddir
PKG_CONFIG_PATH=
export PKG_CONFIG_LIBDIR PKG_CONFIG_PATH

fail=0
prefix=$(pkg-config --variable=prefix tricolor) || { echo "FAIL: pkg-config cannot read tricolor.pc without ck/liburcu"; exit 1; }
includedir=$(pkg-config --variable=includedir tricolor)
libdir=$(pkg-config --variable=libdir tricolor)

check() { # check WHAT GOT WANT
	if [ "$2" = "$3" ]; then
		echo "ok: $1: '$2'"
	else
		echo "FAIL: $1: got '$2', want '$3'"
		fail=1
	fi
}
cflags=$(pkg-config --cflags tricolor) || { echo "FAIL: pkg-config --cflags tricolor failed"; exit 1; }
libs=$(pkg-config --libs tricolor) || { echo "FAIL: pkg-config --libs tricolor failed"; exit 1; }
check "--cflags" "$(echo $cflags)" "-I$includedir"
check "--libs" "$(echo $libs)" "-L$libdir -ltricolor"
check "--modversion" "$(pkg-config --modversion tricolor)" "$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' "$builddir/config.h")"

# A static link needs the private libraries: they are in Libs.private.
static=$(pkg-config --static --libs tricolor) || { echo "FAIL: pkg-config --static --libs failed"; exit 1; }
for l in -ltricolor -lck -lurcu-bp -lurcu-cds -pthread; do
	case " $static " in
	*" $l "*) echo "ok: --static --libs has $l" ;;
	*) echo "FAIL: --static --libs lacks $l: '$static'"; fail=1 ;;
	esac
done
# Nothing the user compiles with comes from a dependency.
if grep -q '^Requires' "$pc"; then
	echo "FAIL: $pc has a Requires line: its Cflags would reach the user"
	fail=1
fi
exit $fail
