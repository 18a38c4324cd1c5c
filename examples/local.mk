# SPDX-License-Identifier: MIT
# examples/: programs built on the library.

# tricolor-kvserver: a multithreaded Redis-protocol key-value server whose
# connections, buffers, keys and values live on the tricolor heap
# (docs/kvserver.md). Tested by tests/kvserver_integration.sh with
# redis-cli and redis-benchmark; compared with redis-server by
# perf/kvserver-bench. An example, so always built but installed into
# bin/ only on request: ./configure --enable-examples, or
# `make install-examples` (and `make uninstall-examples`).
if ENABLE_EXAMPLES
bin_PROGRAMS += tricolor-kvserver
else
noinst_PROGRAMS += tricolor-kvserver
endif
.PHONY: install-examples uninstall-examples
install-examples: tricolor-kvserver
	$(MKDIR_P) '$(DESTDIR)$(bindir)'
	$(LIBTOOL) $(AM_LIBTOOLFLAGS) $(LIBTOOLFLAGS) --mode=install \
		$(INSTALL_PROGRAM) tricolor-kvserver '$(DESTDIR)$(bindir)/tricolor-kvserver'
uninstall-examples:
	rm -f '$(DESTDIR)$(bindir)/tricolor-kvserver'
tricolor_kvserver_SOURCES = \
	examples/kvserver/kvserver.c \
	examples/kvserver/kv_table.c \
	examples/kvserver/kv_table.h \
	examples/kvserver/stats.h
tricolor_kvserver_LDADD = libtricolor.la

TESTS += tests/kvserver_integration.sh tests/kvserver_fuzz.sh

# --stats' percentile arithmetic (nearest rank, examples/kvserver/stats.h),
# compiled without the server or the library.
check_PROGRAMS += tests/test_kvserver_stats
TESTS += tests/test_kvserver_stats
tests_test_kvserver_stats_SOURCES = tests/test_kvserver_stats.c examples/kvserver/stats.h
tests_test_kvserver_stats_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_kvserver_stats_LDADD = $(CHECK_LIBS)
EXTRA_DIST += tests/kvserver_fuzz.py tests/kvserver_fuzz.sh
EXTRA_DIST += tests/kvserver_integration.sh perf/kvserver-bench docs/kvserver.md
