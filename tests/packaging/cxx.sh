#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/packaging/cxx.sh - include/tricolor.h from C++: tests/test_cxx.cc is
# compiled as C++11, C++17 and C++20 with g++ and with clang++ (each when
# installed; scripts/setup installs both), warnings as errors, linked
# against the built libtricolor and run.
# 0 pass, 1 fail, 77 skip (no C++ compiler at all).
builddir=${TRI_BUILDDIR:-.}
srcdir=${srcdir:-.}
src="$srcdir/tests/test_cxx.cc"
out="$builddir/tests/packaging-cxx.tmp"
mkdir -p "$out"
# The library's sanitizer flags (configure --enable-sanitizer), if any: a
# program linked against an instrumented library must be instrumented too.
san=${TRI_SAN_CFLAGS:-}
if [ -f "$builddir/.libs/libtricolor.so" ]; then
	lib="$builddir/.libs/libtricolor.so -Wl,-rpath,$(cd "$builddir/.libs" && pwd)"
else
	lib="$builddir/.libs/libtricolor.a $(PKG_CONFIG_LIBDIR=$builddir pkg-config --static --libs-only-l tricolor 2>/dev/null || echo -lck -lurcu-bp -lurcu-cds -ldl)"
fi
fail=0 ran=0
for cxx in g++ clang++; do
	command -v $cxx >/dev/null 2>&1 || { echo "note: $cxx not installed"; continue; }
	if [ -n "$san" ] && [ $cxx = clang++ ]; then
		# the library was built by gcc: clang's sanitizer runtime clashes
		echo "note: clang++ skipped in a sanitizer build ($san)"
		continue
	fi
	for std in c++11 c++17 c++20; do
		bin="$out/test_cxx-$cxx-$std"
		if ! $cxx -std=$std -Wall -Wextra -pedantic -Werror $san -I"$srcdir/include" \
			"$src" -o "$bin" $lib -pthread; then
			echo "FAIL: $cxx -std=$std does not compile include/tricolor.h"
			fail=1
			continue
		fi
		if "$bin"; then
			echo "ok: $cxx -std=$std"
		else
			echo "FAIL: $cxx -std=$std: the program failed"
			fail=1
		fi
		ran=$((ran + 1))
	done
done
rm -rf "$out"
[ $ran = 0 ] && [ $fail = 0 ] && { echo "SKIP: neither g++ nor clang++"; exit 77; }
exit $fail
