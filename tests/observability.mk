# tests/observability.mk: what a user reads from a running program
# (tests/test_observability.c): debug=gctrace in Go's format, statistics at
# exit (TRICOLOR_SHOW_STATS=1, debug=stats), debug=trace=PATH JSON (parsed
# with python3, and jq when installed).
#   make check TESTS=tests/test_observability

OBSERVABILITY_TESTS = tests/test_observability
check_PROGRAMS += $(OBSERVABILITY_TESTS)
TESTS += $(OBSERVABILITY_TESTS)

tests_test_observability_SOURCES = tests/test_observability.c tests/test_support.h
tests_test_observability_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_observability_LDADD = libtricolor.la $(CHECK_LIBS)
