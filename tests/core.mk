# SPDX-License-Identifier: MIT
# tests/core.mk: Check tests of the foundation (allocator, options, threads,
# misuse aborts) and of the concurrent collector (roots, reclamation,
# barriers, metrics), plus a multi-thread stress test.
#   make check TESTS=tests/test_alloc       one binary
#   make stress-core [STRESS_SECONDS=600]   long soak of tests/test_stress
#   (part of `make stress`)

CORE_TESTS = tests/test_alloc tests/test_threads tests/test_collector tests/test_stress \
	tests/test_mark tests/test_specials tests/test_latency tests/test_pause_ring tests/test_layout
check_PROGRAMS += $(CORE_TESTS)
TESTS += $(CORE_TESTS)
EXTRA_DIST += tests/test_support.h

tests_test_alloc_SOURCES = tests/test_alloc.c tests/test_support.h
tests_test_alloc_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_alloc_LDADD = libtricolor-test.la $(CHECK_LIBS)

tests_test_threads_SOURCES = tests/test_threads.c tests/test_support.h
tests_test_threads_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_threads_LDADD = libtricolor.la $(CHECK_LIBS)

tests_test_layout_SOURCES = tests/test_layout.c tests/test_support.h
tests_test_layout_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_layout_LDADD = libtricolor.la $(CHECK_LIBS)

tests_test_collector_SOURCES = tests/test_collector.c tests/test_support.h
tests_test_collector_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_collector_LDADD = libtricolor.la $(CHECK_LIBS)

# Linked statically: it drives the grey queue's internal (hidden) functions.
tests_test_mark_SOURCES = tests/test_mark.c tests/test_support.h
tests_test_mark_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_mark_LDFLAGS = -static
tests_test_mark_LDADD = libtricolor.la $(CHECK_LIBS)

tests_test_specials_SOURCES = tests/test_specials.c tests/test_support.h
tests_test_specials_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_specials_LDFLAGS = -static
tests_test_specials_LDADD = libtricolor.la $(CHECK_LIBS)

# Linked statically: it records synthetic pauses (runtime/pause.h).
tests_test_pause_ring_SOURCES = tests/test_pause_ring.c tests/test_support.h
tests_test_pause_ring_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_pause_ring_LDFLAGS = -static
tests_test_pause_ring_LDADD = libtricolor.la $(CHECK_LIBS)

tests_test_latency_SOURCES = tests/test_latency.c tests/test_support.h
tests_test_latency_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_latency_LDADD = libtricolor.la $(CHECK_LIBS)

tests_test_stress_SOURCES = tests/test_stress.c tests/test_support.h
tests_test_stress_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_stress_LDADD = libtricolor.la $(CHECK_LIBS)

# Long soak: the stress test for STRESS_SECONDS (default 600 s). `make stress`
# also runs the other fragments' soaks; `make stress-core` runs only this one.
STRESS_SECONDS = 600
.PHONY: stress stress-core
stress: stress-core
stress-core: tests/test_stress
	TRI_STRESS_SECONDS=$(STRESS_SECONDS) ./tests/test_stress
