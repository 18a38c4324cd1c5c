# SPDX-License-Identifier: MIT
# tests/correctness.mk: regression tests for the correctness defects of
# issue 14 (roots registered while marking, threads attaching while marking,
# tri_memmove overlap, checkmark without malloc, fork in a blocking region,
# preemption after a dead signal frame, coroutine stacks, destructor order,
# TLS roots, foreign preemption signals, memory_limit on a fragmented heap).
#   make check TESTS=tests/test_correctness

CORRECTNESS_TESTS = tests/test_correctness
check_PROGRAMS += $(CORRECTNESS_TESTS)
TESTS += $(CORRECTNESS_TESTS)

tests_test_correctness_SOURCES = tests/test_correctness.c tests/test_support.h
tests_test_correctness_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# libtricolor-test.la: the cycle hook (tri_debug_cycle_hook) of the
# checkstacks cases.
tests_test_correctness_LDADD = libtricolor-test.la $(CHECK_LIBS)
