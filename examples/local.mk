# examples/: programs built on the library.

# tricolor-kvserver: a multithreaded Redis-protocol key-value server whose
# connections, buffers, keys and values live on the tricolor heap
# (docs/kvserver.md). Installed; tested by tests/kvserver_integration.sh
# with redis-cli and redis-benchmark; compared with redis-server by
# perf/kvserver-bench.
bin_PROGRAMS += tricolor-kvserver
tricolor_kvserver_SOURCES = \
	examples/kvserver/kvserver.c \
	examples/kvserver/kv_table.c \
	examples/kvserver/kv_table.h
tricolor_kvserver_LDADD = libtricolor.la

TESTS += tests/kvserver_integration.sh tests/kvserver_fuzz.sh
EXTRA_DIST += tests/kvserver_fuzz.py
EXTRA_DIST += tests/kvserver_integration.sh perf/kvserver-bench docs/kvserver.md
