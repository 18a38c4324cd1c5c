# SPDX-License-Identifier: MIT
# perf/final.mk - finalizer benchmarks (included by perf/local.mk).
#   perf/finalizers      finalizer throughput and queued-to-run latency
#   perf/fin_vs_cleanup  releasing resources: finalizers vs cleanup pool
#                        vs bdwgc finalizers (the headline benchmark)
# Built on demand: `make perf-programs`; run with perf/run. Both use the
# shared harness perf/bench.c (its "R name value" child protocol).

FINAL_PROGS = perf/finalizers perf/fin_vs_cleanup
EXTRA_PROGRAMS += $(FINAL_PROGS)
CLEANFILES += $(FINAL_PROGS)

perf_finalizers_SOURCES = perf/finalizers.c perf/bench.c perf/bench.h
perf_finalizers_CPPFLAGS = $(AM_CPPFLAGS)
perf_finalizers_LDADD = libtricolor.la -lm
perf_finalizers_LDFLAGS = $(AM_LDFLAGS) -pthread

perf_fin_vs_cleanup_SOURCES = perf/fin_vs_cleanup.c perf/bench.c perf/bench.h
perf_fin_vs_cleanup_CPPFLAGS = $(AM_CPPFLAGS)
perf_fin_vs_cleanup_LDADD = libtricolor.la -lm
perf_fin_vs_cleanup_LDFLAGS = $(AM_LDFLAGS) -pthread

if HAVE_BDWGC
perf_finalizers_CPPFLAGS += -DHAVE_BDWGC $(BDWGC_CFLAGS)
perf_finalizers_LDADD += $(BDWGC_LIBS)
perf_fin_vs_cleanup_CPPFLAGS += -DHAVE_BDWGC $(BDWGC_CFLAGS)
perf_fin_vs_cleanup_LDADD += $(BDWGC_LIBS)
endif

perf-programs: $(FINAL_PROGS)

EXTRA_DIST += perf/run perf/report.py perf/README.md perf/results/.gitkeep
