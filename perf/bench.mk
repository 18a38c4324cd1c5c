# SPDX-License-Identifier: MIT
# perf/bench.mk: allocation, GCBench, message buffer, mark and churn
# benchmarks (EXTRA_PROGRAMS: built by `make perf-programs` only) and the
# Go peers (perf/peers/go, built by perf/peers/go/build.sh OUTDIR into
# OUTDIR/go-gcbench, go-msgbuf, go-finalizers; perf/gcbench and perf/msgbuf
# run them from $PERF_GO_DIR, as perf/run sets it).
#
# Every program links libtricolor; when bdwgc is available (HAVE_BDWGC) it
# is compiled with -DHAVE_BDWGC and linked with bdwgc too, and runs each
# implementation in a child process of its own.

BENCH_SRC = perf/bench.c perf/bench.h
if HAVE_BDWGC
BENCH_PEER_CF = -DHAVE_BDWGC $(BDWGC_CFLAGS)
BENCH_PEER_LIBS = $(BDWGC_LIBS)
else
BENCH_PEER_CF =
BENCH_PEER_LIBS =
endif
BENCH_CF = $(AM_CFLAGS) $(BENCH_PEER_CF)
BENCH_LIBS_ALL = libtricolor.la $(BENCH_PEER_LIBS) -lm
BENCH_LDF = $(AM_LDFLAGS) -pthread

BENCH_PROGS = perf/alloc_bench perf/gcbench perf/msgbuf perf/markbench \
	perf/churn perf/layoutbench
EXTRA_PROGRAMS += $(BENCH_PROGS)
CLEANFILES += $(BENCH_PROGS)

perf_alloc_bench_SOURCES = perf/alloc_bench.c $(BENCH_SRC)
perf_alloc_bench_CFLAGS = $(BENCH_CF)
perf_alloc_bench_LDADD = $(BENCH_LIBS_ALL)
perf_alloc_bench_LDFLAGS = $(BENCH_LDF)

perf_layoutbench_SOURCES = perf/layoutbench.c $(BENCH_SRC)
perf_layoutbench_CFLAGS = $(BENCH_CF)
perf_layoutbench_LDADD = $(BENCH_LIBS_ALL)
perf_layoutbench_LDFLAGS = $(BENCH_LDF)

perf_gcbench_SOURCES = perf/gcbench.c $(BENCH_SRC)
perf_gcbench_CFLAGS = $(BENCH_CF)
perf_gcbench_LDADD = $(BENCH_LIBS_ALL)
perf_gcbench_LDFLAGS = $(BENCH_LDF)

perf_msgbuf_SOURCES = perf/msgbuf.c $(BENCH_SRC)
perf_msgbuf_CFLAGS = $(BENCH_CF)
perf_msgbuf_LDADD = $(BENCH_LIBS_ALL)
perf_msgbuf_LDFLAGS = $(BENCH_LDF)

perf_markbench_SOURCES = perf/markbench.c $(BENCH_SRC)
perf_markbench_CFLAGS = $(BENCH_CF)
perf_markbench_LDADD = $(BENCH_LIBS_ALL)
perf_markbench_LDFLAGS = $(BENCH_LDF)

perf_churn_SOURCES = perf/churn.c $(BENCH_SRC)
perf_churn_CFLAGS = $(BENCH_CF)
perf_churn_LDADD = $(BENCH_LIBS_ALL)
perf_churn_LDFLAGS = $(BENCH_LDF)

perf-programs: $(BENCH_PROGS)

EXTRA_DIST += \
	perf/peers/go/go.mod \
	perf/peers/go/build.sh \
	perf/peers/go/internal/bench/bench.go \
	perf/peers/go/gcbench/main.go \
	perf/peers/go/msgbuf/main.go \
	perf/peers/go/finalizers/main.go \
	perf/peers/java/MsgBuf.java
