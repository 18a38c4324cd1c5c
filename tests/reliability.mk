# SPDX-License-Identifier: MIT
# tests/reliability.mk: reliability tests (see docs/reliability.md).
#  test_model   model-based test of finalizer/cleanup semantics against a
#               reference reachability model (TRI_MODEL_SEED, TRI_MODEL_SEQS,
#               TRI_MODEL_STEPS); libFuzzer entry in tests/model/fuzz_model.c
#               (built by hand with clang, see docs/reliability.md)
#  test_faults  memory exhaustion (tri_debug_fail_mmap, heap_reserve,
#               memory_limit), blocking and exiting finalizers/cleanups, and
#               a death test for every misuse named in include/tricolor.h
#  test_fork    fork() while collections and callbacks run, both sides
# Scripts: scripts/sanitize {asan|tsan}, scripts/valgrind-check.
#   make stress-reliability [MODEL_SEQS=5000 MODEL_STEPS=200 FORK_ROUNDS=200]

RELIABILITY_TESTS = tests/test_model tests/test_faults tests/test_fork
check_PROGRAMS += $(RELIABILITY_TESTS)
TESTS += $(RELIABILITY_TESTS)
EXTRA_DIST += tests/model/model.h tests/model/fuzz_model.c tests/valgrind.supp tests/tsan.supp \
	scripts/sanitize scripts/valgrind-check docs/reliability.md

tests_test_model_SOURCES = tests/test_model.c tests/model/model.h tests/test_support.h
tests_test_model_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(srcdir)/tests
tests_test_model_LDADD = libtricolor.la $(CHECK_LIBS)

tests_test_faults_SOURCES = tests/test_faults.c tests/test_support.h
tests_test_faults_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_faults_LDADD = libtricolor-test.la $(CHECK_LIBS)

tests_test_fork_SOURCES = tests/test_fork.c tests/test_support.h
tests_test_fork_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_fork_LDADD = libtricolor.la $(CHECK_LIBS)

# Long soak of the reliability tests (the model with many long sequences,
# many fork rounds).
MODEL_SEQS = 5000
MODEL_STEPS = 200
FORK_ROUNDS = 200
.PHONY: stress-reliability
stress-reliability: $(RELIABILITY_TESTS)
	TRI_MODEL_SEQS=$(MODEL_SEQS) TRI_MODEL_STEPS=$(MODEL_STEPS) CK_TIMEOUT_MULTIPLIER=100 ./tests/test_model
	TRI_FORK_ROUNDS=$(FORK_ROUNDS) CK_TIMEOUT_MULTIPLIER=100 ./tests/test_fork
stress: stress-reliability
