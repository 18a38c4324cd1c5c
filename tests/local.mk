# SPDX-License-Identifier: MIT
# tests/: Check unit and behaviour tests, run by `make check`.
# core.mk: allocator and collector (foundation, concurrent collector).
# callbacks.mk: finalizers and cleanups.
# reliability.mk: model-based test, fault injection, fork.
# correctness.mk: regression tests of the correctness defects (issue 14).
# weak.mk: weak pointers and interning (issue 16).
include $(srcdir)/tests/core.mk
include $(srcdir)/tests/callbacks.mk
include $(srcdir)/tests/reliability.mk
include $(srcdir)/tests/probes.mk
include $(srcdir)/tests/valgrind.mk
include $(srcdir)/tests/correctness.mk
include $(srcdir)/tests/observability.mk
include $(srcdir)/tests/weak.mk
include $(srcdir)/tests/layers.mk

# The README's example, built and run as a test.
check_PROGRAMS += examples/hello
TESTS += examples/hello
examples_hello_LDADD = libtricolor.la

# The worker-pool example (README, "Example: a worker pool"), built and run
# as a test.
check_PROGRAMS += examples/worker_pool
TESTS += examples/worker_pool
examples_worker_pool_LDADD = libtricolor.la
# The weak cache example (tri_intern keys, tri_weak values), as a test.
check_PROGRAMS += examples/weak_cache
TESTS += examples/weak_cache
examples_weak_cache_LDADD = libtricolor.la

# The soak (tests/soak.c): 10 s in make check, TRI_SOAK_SECONDS (600) in
# `make stress`.
check_PROGRAMS += tests/soak
TESTS += tests/soak
tests_soak_LDADD = libtricolor.la
AM_TESTS_ENVIRONMENT = TRI_SOAK_SECONDS=$${TRI_SOAK_SECONDS:-10}; export TRI_SOAK_SECONDS;
.PHONY: stress-soak
stress-soak: tests/soak
	TRI_SOAK_SECONDS=$(STRESS_SECONDS) ./tests/soak
stress: stress-soak

# scripts/demo prints the run's summary once, after its tables (the real
# demo, perf/run and report.py on a fake benchmark; a few seconds).
TESTS += tests/demo_summary.sh
EXTRA_DIST += tests/demo_summary.sh

# Packaging, API and docs checks (after AM_TESTS_ENVIRONMENT, which it extends).
include $(srcdir)/tests/packaging.mk
