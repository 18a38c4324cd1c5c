# SPDX-License-Identifier: MIT
# tests/observability.mk: what a user reads from a running program
# (tests/test_observability.c): debug=gctrace in Go's format, statistics at
# exit (TRICOLOR_SHOW_STATS=1, debug=stats), debug=trace=PATH JSON (parsed
# with python3, and jq when installed), debug=heapprofile=PATH; external resource counters
# (tests/test_resource.c, tri_resource_*).
#   make check TESTS=tests/test_observability

OBSERVABILITY_TESTS = tests/test_observability tests/test_resource
check_PROGRAMS += $(OBSERVABILITY_TESTS)
TESTS += $(OBSERVABILITY_TESTS)

tests_test_observability_SOURCES = tests/test_observability.c tests/test_support.h
tests_test_observability_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_observability_LDFLAGS = -export-dynamic
# libtricolor-test.la: the cycle hook (tri_debug_cycle_hook) of the gctrace
# H2 test that allocates between mark termination and the sweep handshake.
tests_test_observability_LDADD = libtricolor-test.la $(CHECK_LIBS)

tests_test_resource_SOURCES = tests/test_resource.c tests/test_support.h
tests_test_resource_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_resource_LDADD = libtricolor.la $(CHECK_LIBS)

# tests/test_tables.c: the option, debug-flag and metric tables round-trip
# and are documented; docs/options.md and docs/metrics.md are generated from
# them (`make docs-tables` rewrites both). Static: it reads hidden tables.
check_PROGRAMS += tests/test_tables
TESTS += tests/test_tables
tests_test_tables_SOURCES = tests/test_tables.c tests/test_support.h
tests_test_tables_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_tables_LDFLAGS = -static
tests_test_tables_LDADD = libtricolor.la $(CHECK_LIBS)
.PHONY: docs-tables
docs-tables: tests/test_tables
	srcdir=$(srcdir) ./tests/test_tables --write-docs
