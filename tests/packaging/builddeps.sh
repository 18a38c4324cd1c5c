#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/packaging/builddeps.sh - the build dependencies are stated in one
# consistent way: every Debian package the README's "Install" section lists
# is one scripts/setup installs; python3 (man/gen-man.py generates the man
# pages at build time) is in both lists, configure.ac checks for it (with an
# error naming the package) and man/local.mk runs it as $(PYTHON3), the
# interpreter configure found; `make dist` ships the generator (EXTRA_DIST).
# 0 pass, 1 fail.
srcdir=${srcdir:-.}
fail=0
readme="$srcdir/README.md"
setup="$srcdir/scripts/setup"
# The list: the backquoted words after "with the Debian packages" (the
# paragraph may wrap).
listed=$(awk '/with the Debian packages/{on=1} on&&/^$/{exit} on' "$readme" |
	tr '\n' ' ' | sed -n 's/.*with the Debian packages *`\([^`]*\)`.*/\1/p')
if [ -z "$listed" ]; then
	echo "FAIL: README.md: no \"with the Debian packages \`...\`\" list found"
	exit 1
fi
pkgs=$(sed -n '/^PKGS=(/,/)/p' "$setup" | tr '()' '  ' | sed 's/PKGS=//')
for p in $listed; do
	case " $(echo $pkgs) " in
	*" $p "*) ;;
	*) echo "FAIL: README.md lists $p, scripts/setup does not install it"; fail=1 ;;
	esac
done
case " $listed " in *" python3 "*) ;; *) echo "FAIL: README.md's package list omits python3"; fail=1 ;; esac
case " $(echo $pkgs) " in *" python3 "*) ;; *) echo "FAIL: scripts/setup does not install python3"; fail=1 ;; esac
grep -q 'AC_PATH_PROGS(\[PYTHON3\]' "$srcdir/configure.ac" ||
	{ echo "FAIL: configure.ac does not check for python3 (AC_PATH_PROGS([PYTHON3], ...))"; fail=1; }
grep -q 'AC_MSG_ERROR(\[python3 not found.*python3' "$srcdir/configure.ac" ||
	{ echo "FAIL: configure.ac: no error naming the python3 package when it is missing"; fail=1; }
if grep -n '^	.*[^A-Z_(]python3 ' "$srcdir/man/local.mk"; then
	echo "FAIL: man/local.mk runs python3 by name, not \$(PYTHON3)"; fail=1
fi
grep -q '^EXTRA_DIST += .*man/gen-man.py' "$srcdir/man/local.mk" ||
	{ echo "FAIL: man/local.mk: man/gen-man.py is not in EXTRA_DIST"; fail=1; }
[ $fail = 0 ] && echo "ok: build dependencies: $listed"
exit $fail
