# SPDX-License-Identifier: MIT
# tests/weak.mk: Check tests of weak pointers (tri_weak_make / tri_weak_get,
# Go's weak.Pointer semantics) and interning (tri_intern, Go's unique.Make),
# tests/test_weak.c.
#   make check TESTS=tests/test_weak   one binary
#   make stress-weak                   longer races (part of `make stress`)

WEAK_TESTS = tests/test_weak
check_PROGRAMS += $(WEAK_TESTS)
TESTS += $(WEAK_TESTS)

tests_test_weak_SOURCES = tests/test_weak.c tests/test_callback_support.h
tests_test_weak_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# libtricolor-test.la: the cycle hook (tri_debug_cycle_hook) of the
# deterministic race tests.
tests_test_weak_LDADD = libtricolor-test.la $(CHECK_LIBS)

.PHONY: stress-weak
stress: stress-weak
stress-weak: $(WEAK_TESTS)
	CK_TIMEOUT_MULTIPLIER=10 TRI_WEAK_RACE_ROUNDS=200 ./tests/test_weak
