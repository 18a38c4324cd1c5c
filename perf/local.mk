# SPDX-License-Identifier: MIT
# perf/: benchmarks (built on demand, never by `make` or `make check`).
# bench.mk: allocation, GCBench, message buffer, mark, churn (+ Go peers).
# final.mk: finalizer and finalizer-vs-cleanup benchmarks.
include $(srcdir)/perf/bench.mk
include $(srcdir)/perf/final.mk

.PHONY: bench bench-quick perf-programs
bench: perf-programs
	$(srcdir)/perf/run
bench-quick: perf-programs
	$(srcdir)/perf/run --quick
