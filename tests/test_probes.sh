#!/bin/sh
# SPDX-License-Identifier: MIT
# test_probes.sh - check that the built libtricolor carries the USDT probes
# (provider "tricolor") listed in docs/perf.md, as stapsdt ELF notes.
#
# Run by `make check` from the top build directory, or by hand from there:
#   sh tests/test_probes.sh
# Exit status (automake conventions): 0 pass, 1 fail, 77 skip (readelf
# missing, or the library was configured without <sys/sdt.h>, so the probes
# compile to nothing by design), 99 hard error (no built library).

builddir=${TRI_BUILDDIR:-.}
config="$builddir/config.h"

if ! command -v readelf >/dev/null 2>&1; then
	echo "SKIP: readelf not found (binutils)"
	exit 77
fi
if [ ! -f "$config" ]; then
	echo "ERROR: $config not found; run from the top build directory (or set TRI_BUILDDIR)"
	exit 99
fi
if ! grep -q '^#define HAVE_SYS_SDT_H 1' "$config"; then
	echo "SKIP: built without <sys/sdt.h> (install systemtap-sdt-dev and reconfigure for USDT probes)"
	exit 77
fi

lib=
for f in "$builddir/.libs/libtricolor.so" "$builddir/.libs/libtricolor.a"; do
	if [ -f "$f" ]; then
		lib=$f
		break
	fi
done
if [ -z "$lib" ]; then
	echo "ERROR: no built library in $builddir/.libs (run make first)"
	exit 99
fi

notes=$(readelf -n "$lib" 2>/dev/null) || {
	echo "FAIL: readelf -n $lib failed"
	exit 1
}

# Provider and name of every stapsdt note, as "provider:name".
found=$(printf '%s\n' "$notes" | awk '
	/NT_STAPSDT/ { insdt = 1; next }
	insdt && $1 == "Provider:" { prov = $2; next }
	insdt && $1 == "Name:" { print prov ":" $2; insdt = 0 }')

if [ -z "$found" ]; then
	echo "FAIL: $lib has no stapsdt notes although config.h has HAVE_SYS_SDT_H"
	exit 1
fi

expected="cycle__start cycle__end phase__change
handshake__start handshake__end
handshake__action__start handshake__action__end
assist__start assist__end
finalizer__start finalizer__end
cleanup__start cleanup__end
sweep__span pause"

status=0
n=0
for p in $expected; do
	n=$((n + 1))
	if printf '%s\n' "$found" | grep -qx "tricolor:$p"; then
		sites=$(printf '%s\n' "$found" | grep -cx "tricolor:$p")
		echo "ok   tricolor:$p ($sites site(s))"
	else
		echo "FAIL tricolor:$p: no stapsdt note in $lib"
		status=1
	fi
done

# A note for any probe not in the list above (not a failure: the list is
# "at least"; add new probes here and to docs/perf.md).
for q in $(printf '%s\n' "$found" | sort -u); do
	case " $(echo $expected) " in
	*" ${q#tricolor:} "*) ;;
	*) echo "note $q: not in this test's list nor, probably, in docs/perf.md" ;;
	esac
done

[ $status -eq 0 ] && echo "PASS: $n probes present in $lib"
exit $status
