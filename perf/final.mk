# perf/final.mk - finalizer benchmarks (included by perf/local.mk).
#   perf/finalizers      finalizer throughput and queued-to-run latency
#   perf/fin_vs_cleanup  releasing resources: finalizers vs cleanup pool
#                        vs bdwgc finalizers (the headline benchmark)
# Built on demand: `make perf-programs`; run with perf/run.

EXTRA_PROGRAMS += perf/finalizers perf/fin_vs_cleanup

perf_finalizers_SOURCES = perf/finalizers.c perf/final_common.h
perf_finalizers_CPPFLAGS = $(AM_CPPFLAGS)
perf_finalizers_LDADD = libtricolor.la

perf_fin_vs_cleanup_SOURCES = perf/fin_vs_cleanup.c perf/final_common.h
perf_fin_vs_cleanup_CPPFLAGS = $(AM_CPPFLAGS)
perf_fin_vs_cleanup_LDADD = libtricolor.la

if HAVE_BDWGC
perf_finalizers_CPPFLAGS += -DHAVE_BDWGC $(BDWGC_CFLAGS)
perf_finalizers_LDADD += $(BDWGC_LIBS)
perf_fin_vs_cleanup_CPPFLAGS += -DHAVE_BDWGC $(BDWGC_CFLAGS)
perf_fin_vs_cleanup_LDADD += $(BDWGC_LIBS)
endif

perf-programs: perf/finalizers$(EXEEXT) perf/fin_vs_cleanup$(EXEEXT)

EXTRA_DIST += perf/run perf/report.py perf/README.md perf/results/.gitkeep
