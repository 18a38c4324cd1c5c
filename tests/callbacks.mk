# SPDX-License-Identifier: MIT
# tests/callbacks.mk: Check tests of finalizers (Go SetFinalizer semantics,
# tests/test_finalizer.c) and cleanups (Go AddCleanup semantics,
# tests/test_cleanup.c); helpers in tests/test_callback_support.h.
#   make check TESTS=tests/test_finalizer   one binary
#   make stress-callbacks                   bigger sizes (part of `make stress`)
# The binaries are linked with -export-dynamic so that the slow-finalizer
# report can name the test's finalizer function (dladdr).

CALLBACK_TESTS = tests/test_finalizer tests/test_cleanup
check_PROGRAMS += $(CALLBACK_TESTS)
TESTS += $(CALLBACK_TESTS)
EXTRA_DIST += tests/test_callback_support.h

tests_test_finalizer_SOURCES = tests/test_finalizer.c tests/test_callback_support.h
tests_test_finalizer_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_finalizer_LDFLAGS = -export-dynamic
tests_test_finalizer_LDADD = libtricolor.la $(CHECK_LIBS)

tests_test_cleanup_SOURCES = tests/test_cleanup.c tests/test_callback_support.h
tests_test_cleanup_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_cleanup_LDFLAGS = -export-dynamic
tests_test_cleanup_LDADD = libtricolor.la $(CHECK_LIBS)

.PHONY: stress stress-callbacks
stress: stress-callbacks
stress-callbacks: $(CALLBACK_TESTS)
	CK_TIMEOUT_MULTIPLIER=10 TRI_FIN_MANY=1000000 TRI_FIN_MARKING=200000 TRI_FIN_PER_THREAD=100000 ./tests/test_finalizer
	CK_TIMEOUT_MULTIPLIER=10 TRI_CLEANUP_PER_THREAD=100000 TRI_CLEANUP_THREADS=8 ./tests/test_cleanup
