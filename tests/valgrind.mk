# SPDX-License-Identifier: MIT
# tests/valgrind.mk: memcheck understands the heap (src/alloc/memcheck.h).
# tests/valgrind-client-requests.sh runs tests/valgrind_uaf under valgrind
# and asserts that memcheck reports its three deliberate invalid reads
# (collected small and large objects, a never-allocated slot); it skips
# (77) without valgrind or <valgrind/valgrind.h>. The whole suite under
# memcheck: scripts/valgrind-check (docs/reliability.md).
check_PROGRAMS += tests/valgrind_uaf
tests_valgrind_uaf_LDADD = libtricolor.la
TESTS += tests/valgrind-client-requests.sh
EXTRA_DIST += tests/valgrind-client-requests.sh tests/valgrind.mk
