/* SPDX-License-Identifier: MIT */
/*
 * perf/bench.h - helpers shared by the benchmark programs under perf/.
 *
 * - a monotonic clock, statistics (median/min/max, percentiles);
 * - flag parsing for the flags every benchmark takes (--csv FILE, --quick,
 *   --reps N, --threads LIST, --impl LIST, --inproc, --timeout S);
 * - result rows: printed as a table with ratios tricolor/peer and appended
 *   to the shared CSV file (benchmark,case,impl,metric,unit,median,min,max,reps);
 * - one child process per implementation: tricolor and bdwgc both want to
 *   own the process, so the parent re-executes itself with --inproc --impl X
 *   and collects the rows the child prints on its stdout;
 * - a tiny heap abstraction (bh_alloc, bh_store, ...) that dispatches on the
 *   implementation of the current process with a predictable branch;
 * - pause analysis: distribution and minimum mutator utilization (MMU) from
 *   tri_pauses() (or from any list of pauses);
 * - the second child protocol, used by finalizers.c and fin_vs_cleanup.c
 *   (formerly perf/final_common.h): the parent runs a child with a time
 *   limit and captures its stdout, where the child printed "R name value"
 *   lines; busy work, precise sleeps and descriptor limits for handlers.
 *
 * Programs using it compile with -DHAVE_BDWGC $(BDWGC_CFLAGS) when bdwgc is
 * available; without it the bdwgc implementation is reported as skipped.
 */
#ifndef PERF_BENCH_H
#define PERF_BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include "tricolor.h"

#ifdef HAVE_BDWGC
#define GC_THREADS 1
#define GC_NO_THREAD_REDIRECTS 1
#include <gc.h>
#endif

/* ------------------------------------------------------------------ */
/* Clock and statistics                                                */
/* ------------------------------------------------------------------ */

/* CLOCK_MONOTONIC in nanoseconds (the clock of tri_pause.start_ns). */
uint64_t bench_now_ns(void);

typedef struct bench_stats {
	double median, min, max;
	int n;
} bench_stats;

/* Median, min, max of v[0..n) (v is not modified). */
bench_stats bench_stats_of(const double *v, int n);
/* Run fn(arg) reps times; fn returns one measurement. */
bench_stats bench_repeat(int reps, double (*fn)(void *arg), void *arg);
/* A single value as a statistic (reps = 1). */
bench_stats bench_stats_one(double v);
/* The same value over n repetitions (e.g. a failure status). */
bench_stats bench_stats_n(double v, int n);
/* bench_stats_of(v, n) into three doubles. */
void bench_summary(const double *v, int n, double *med, double *mn,
		   double *mx);

void bench_sort_u64(uint64_t *v, size_t n);
void bench_sort_double(double *v, size_t n);
/* p in [0,1]; nearest-rank percentile of a sorted array; 0 if n == 0. */
uint64_t bench_pct_u64(const uint64_t *sorted, size_t n, double p);

/* Peak resident set size of this process in MiB (getrusage ru_maxrss). */
double bench_peak_rss_mib(void);

/*
 * CPU time (user + sys) consumed so far by every thread of this process,
 * the collector's threads included (getrusage RUSAGE_SELF), in seconds.
 * Take the difference around a measured interval and report it beside
 * the wall time.
 */
double bench_cpu_s(void);

/* ------------------------------------------------------------------ */
/* Flags                                                               */
/* ------------------------------------------------------------------ */

#define BENCH_MAX_LIST 32

typedef struct bench_opts {
	const char *prog;       /* argv[0] */
	const char *bench;      /* benchmark name for rows (set by the program) */
	const char *csv;        /* --csv FILE (parent only) */
	int quick;              /* --quick */
	int reps;               /* --reps N (0: the program's default) */
	int threads[BENCH_MAX_LIST]; /* --threads LIST, e.g. 1,2,4 */
	int nthreads;           /* 0: the program's default */
	unsigned impl_mask;     /* --impl LIST (bit per BENCH_IMPL_*); 0: all */
	int inproc;             /* --inproc: run in this process (child mode) */
	int timeout_s;          /* --timeout S per child (0: 900, quick 45) */
	const char *tri_options; /* --tri-options STR (passed to tri_init) */
	int argc;               /* the original arguments, for children */
	char **argv;
} bench_opts;

void bench_opts_init(bench_opts *o, int argc, char **argv);

/*
 * If argv[*i] is a common flag, consume it (and its value), advance *i and
 * return 1; return 0 if it is not one. Exits with a message on a bad value.
 */
int bench_common_flag(bench_opts *o, int argc, char **argv, int *i);

/*
 * If argv[*i] is "--name VALUE" or "--name=VALUE", set *val, advance *i
 * past the value and return 1; else return 0.
 */
int bench_flag_val(int argc, char **argv, int *i, const char *name,
		   const char **val);
/* Numeric forms; exit with a message on a bad number. */
int bench_flag_long(int argc, char **argv, int *i, const char *name,
		    long *val);
int bench_flag_list(int argc, char **argv, int *i, const char *name,
		    int *list, int *n);
/* "1,2,4" into list (at most BENCH_MAX_LIST); returns count, -1 on error. */
int bench_parse_list(const char *s, int *list);
/* Common flag help text. */
void bench_usage_common(FILE *f);
/* Exit 2 with "unknown flag" message. */
void bench_bad_flag(const bench_opts *o, const char *flag);

/* ------------------------------------------------------------------ */
/* Implementations                                                     */
/* ------------------------------------------------------------------ */

enum {
	BENCH_IMPL_TRICOLOR = 0,
	BENCH_IMPL_BDWGC = 1,
	BENCH_IMPL_MALLOC = 2, /* malloc + free (manual management) */
	BENCH_IMPL_MALLOC_NOFREE = 3, /* malloc, never freed */
	/*
	 * bdwgc with GC_MARKERS=1 (one marker thread). Not run unless a
	 * program asks for it (bench_impl_selected is false for it without an
	 * explicit --impl bdwgc-m1); in its process bench_impl is
	 * BENCH_IMPL_BDWGC and the CSV impl column says "bdwgc-m1".
	 */
	BENCH_IMPL_BDWGC_M1 = 4,
	BENCH_IMPL_COUNT
};

/* The implementation of this process (set by bench_heap_init). */
extern int bench_impl;

const char *bench_impl_name(int impl);
/* Name used in the CSV "impl" column (malloc-nofree -> malloc). */
const char *bench_impl_csv(int impl);
int bench_impl_parse(const char *s); /* -1 if unknown */
int bench_impl_available(int impl);  /* bdwgc only with HAVE_BDWGC */
/*
 * Whether impl was selected by --impl (all but bdwgc-m1 if none given).
 * bench_impl_selected(o, BENCH_IMPL_BDWGC_M1) is also true when --impl is
 * absent and *also_m1 is passed: bench_impl_selected_m1 below.
 */
int bench_impl_selected(const bench_opts *o, int impl);
/* Whether the bdwgc GC_MARKERS=1 row should run: --impl bdwgc-m1, or no --impl. */
int bench_impl_selected_m1(const bench_opts *o);
/* Whether the Go peer was selected (--impl go, or no --impl). */
#define BENCH_GO_BIT (1u << 30)
int bench_go_selected(const bench_opts *o);
/* Whether the Java peer was selected (--impl java, or no --impl). */
#define BENCH_JAVA_BIT (1u << 29)
int bench_java_selected(const bench_opts *o);

/*
 * Start the heap for impl in this process: tri_init(tri_options) for
 * tricolor (exits on failure), GC_INIT + GC_allow_register_threads for
 * bdwgc (bdwgc-m1: GC_MARKERS=1 first), nothing for malloc. For bdwgc it
 * prints its configuration once ("# bdwgc 8.2.2: all_interior_pointers=1,
 * markers 2 (GC_MARKERS unset), parallel mark"), so a table says which
 * bdwgc it measured.
 */
void bench_heap_init(int impl, const char *tri_options);

/* Per-thread registration (tri_thread_attach / GC_register_my_thread). */
void bench_thread_enter(void);
void bench_thread_leave(void);
/* Around blocking calls (tri_blocking_enter/leave; no-op for others). */
void bench_block_enter(void);
void bench_block_leave(void);
/* Full collection (tri_collect / GC_gcollect; no-op for malloc). */
void bench_collect(void);
/* Collections so far (/gc/cycles/total or GC_get_gc_no; 0 for malloc). */
uint64_t bench_gc_cycles(void);
/* pthread_barrier_wait inside a blocking region. */
void bench_barrier_wait(pthread_barrier_t *b);
/* pthread_join inside a blocking region. */
void bench_join(pthread_t t);

static inline void *bh_alloc(size_t n)
{
	switch (bench_impl) {
	case BENCH_IMPL_TRICOLOR:
		return tri_alloc(n);
#ifdef HAVE_BDWGC
	case BENCH_IMPL_BDWGC:
		return GC_MALLOC(n);
#endif
	default:
		return calloc(1, n);
	}
}

/* Memory that holds no pointers to the heap. Not zeroed for malloc. */
static inline void *bh_alloc_atomic(size_t n)
{
	switch (bench_impl) {
	case BENCH_IMPL_TRICOLOR:
		return tri_alloc_atomic(n);
#ifdef HAVE_BDWGC
	case BENCH_IMPL_BDWGC:
		return GC_MALLOC_ATOMIC(n);
#endif
	default:
		return malloc(n);
	}
}

/* free() for malloc, nothing for the collected heaps and malloc-nofree. */
static inline void bh_free(void *p)
{
	if (bench_impl == BENCH_IMPL_MALLOC)
		free(p);
}

/* A pointer store into a published object: TRI_STORE for tricolor. */
static inline void bh_store(void *slot, const void *v)
{
	if (bench_impl == BENCH_IMPL_TRICOLOR)
		tri_store(slot, v);
	else
		*(void **)slot = (void *)v;
}

/* ------------------------------------------------------------------ */
/* Results, table, CSV, children                                       */
/* ------------------------------------------------------------------ */

/*
 * Record one result row. In a child (--inproc started by a parent) the
 * row goes to the parent through stdout; otherwise it is kept for
 * bench_finish. impl is the CSV name (tricolor, bdwgc, malloc, go).
 */
void bench_emit(const char *benchmark, const char *cas, const char *impl,
		const char *metric, const char *unit, bench_stats s);

/*
 * Run impl in a child process: re-executes this program with the original
 * arguments plus "--inproc --impl NAME" and the extra arguments (NULL
 * terminated, may be NULL). Rows the child emits are collected; its other
 * output is passed through. Returns 0 on success, or -1 if the child
 * crashed, failed or timed out (a message says which; the failure is also
 * listed by bench_finish and recorded as a "failed" row for fail_case).
 */
int bench_spawn(const bench_opts *o, int impl, const char *const *extra,
		const char *fail_case);

/*
 * The general form: run args (args[0] is the program; with use_proc_self
 * this executable is run under the name args[0]) with the same protocol and
 * time limit. On failure a row (o->bench, fail_case or "all", fail_impl,
 * "failed", "status", code) is recorded (code: exit status, 128+signal, or
 * 124 for a timeout), as perf/run expects.
 */
int bench_spawn_cmd(const bench_opts *o, const char *label,
		    const char *fail_impl, const char *fail_case,
		    char *const *args, int use_proc_self);

/*
 * Path of the Go peer program go-NAME ($PERF_GO_DIR/go-NAME, else
 * <directory of argv0>/peers/go/go-NAME), or NULL if not built.
 */
const char *bench_go_peer(const char *prog_argv0, const char *name);

/* Whether this process is a child started by bench_spawn. */
int bench_is_child(void);

/*
 * Print the table of all rows (grouped by case and metric, one column per
 * impl, ratio columns tricolor/bdwgc, tricolor/malloc, tricolor/go) and
 * append the rows to o->csv. Prints the list of failed children. Returns
 * the exit status for main (0, or 1 if a child failed).
 */
int bench_finish(const bench_opts *o, const char *title);

/* The median of a recorded row; returns 1 if found. */
int bench_lookup(const char *benchmark, const char *cas, const char *impl,
		 const char *metric, double *median);

/* Append a row to a CSV file in the shared format (header if empty; no-op if path is NULL). */
void bench_csv_append(const char *path, const char *benchmark,
		      const char *cas, const char *impl, const char *metric,
		      const char *unit, bench_stats s);

/* ------------------------------------------------------------------ */
/* Pauses                                                              */
/* ------------------------------------------------------------------ */

#define BENCH_MMU_NWIN 5
/* 100us, 1ms, 10ms, 100ms, 1s */
extern const uint64_t bench_mmu_window_ns[BENCH_MMU_NWIN];
extern const char *const bench_mmu_window_name[BENCH_MMU_NWIN];

typedef struct bench_pause_summary {
	uint64_t count;     /* pauses overlapping the interval */
	uint64_t total_ns;
	uint64_t p50_ns, p99_ns, p999_ns, max_ns;
	int threads;        /* distinct threads with pauses */
	/* worst thread's MMU per window; -1 if the window exceeds the run */
	double mmu[BENCH_MMU_NWIN];
	uint32_t mmu_thread[BENCH_MMU_NWIN];
} bench_pause_summary;

/*
 * All pauses recorded by tricolor (tri_pauses, growing the buffer until
 * everything fits). *out is malloc'd; returns the count.
 */
size_t bench_tri_pauses(tri_pause **out);

/*
 * Analyse pauses of kind `kind` (0: every kind) overlapping [t0, t1]:
 * distribution of lengths, and for each window w the minimum over threads
 * and over windows [x, x+w] within [t0, t1] of the fraction of time that
 * thread was not paused (pauses of one thread are merged first).
 */
void bench_pause_analyze(const tri_pause *p, size_t n, uint32_t kind,
			 uint64_t t0, uint64_t t1, bench_pause_summary *s);

/* MMU of one sorted, disjoint set of intervals over [t0, t1] for window w. */
double bench_mmu_intervals(const uint64_t *start, const uint64_t *end,
			   size_t n, uint64_t t0, uint64_t t1, uint64_t w);

/* Human-readable lines about s. */
void bench_pause_print(FILE *f, const char *label,
		       const bench_pause_summary *s);

/* One line per pause kind (handshake, assist, stop, wait): count, total, max. */
void bench_pause_kinds_print(FILE *f, const char *label, const tri_pause *p,
			     size_t n, uint64_t t0, uint64_t t1);

/* Rows: pause_count, pause_p50/p99/p99.9/max (us), mmu_<w> (fraction). */
void bench_pause_emit(const char *benchmark, const char *cas,
		      const char *impl, const bench_pause_summary *s);

/*
 * bdwgc: record stop-the-world pauses (GC_EVENT_PRE_STOP_WORLD to
 * GC_EVENT_POST_START_WORLD) from now on; bench_bdwgc_pauses returns them
 * (kind TRI_PAUSE_STOP, thread 0: every thread is stopped). No-op / 0
 * without HAVE_BDWGC. Call after bench_heap_init.
 */
void bench_bdwgc_record_pauses(void);
size_t bench_bdwgc_pauses(const tri_pause **out);
/*
 * bdwgc: the marking time (GC_EVENT_MARK_START to GC_EVENT_MARK_END) of
 * the last collection since bench_bdwgc_record_pauses, in ns (0 if none).
 */
uint64_t bench_bdwgc_last_mark_ns(void);
/* bdwgc: marker threads including the initiating one (GC_get_parallel+1). */
int bench_bdwgc_markers(void);

/* xorshift64*: the benchmarks' reproducible random numbers (*state != 0). */
static inline uint64_t bench_xorshift(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* tri_read_metric that returns 0 for an unknown metric. */
uint64_t bench_metric(const char *name);

/*
 * A series of full collections of a live heap, for the mark-throughput
 * benchmarks (markbench's tree, layoutbench): one warm-up bench_collect(),
 * then reps more, each giving the mark time in ms (tricolor:
 * /gc/mark/last:nanoseconds; bdwgc: GC_EVENT_MARK_START to _END, which
 * needs bench_bdwgc_record_pauses; the call's wall time when neither is
 * known), rate = mib / mark time in MiB/s, and the call's wall and
 * user+sys CPU time in ms. One "# label collect N: ..." progress line
 * each. bench_mark_series_emit records mark_time, mark_rate, collect_wall
 * and collect_cpu rows; bench_mark_series_free frees the arrays.
 */
typedef struct bench_mark_series {
	int reps;
	double *ms, *rate, *wall, *cpu;
} bench_mark_series;
void bench_mark_series_run(bench_mark_series *m, int reps, double mib, const char *label);
void bench_mark_series_emit(const bench_mark_series *m, const char *benchmark, const char *cas,
			    const char *impl);
void bench_mark_series_free(bench_mark_series *m);

/* ------------------------------------------------------------------ */
/* Handlers' work, and children reporting "R name value" lines          */
/* ------------------------------------------------------------------ */

/* Burn about ns of CPU in the calling thread (busy loop on the clock). */
void bench_burn_ns(uint64_t ns);
/* Sleep ns (restarted on EINTR). */
void bench_sleep_ns(uint64_t ns);
/* 1 ns timer slack so that a 100 us sleep lasts about 100 us, not 150. */
void bench_precise_timers(void);
/* Raise RLIMIT_NOFILE's soft limit to the hard limit. */
void bench_raise_fd_limit(void);
/* Peak resident set size in bytes (-1 if unknown). */
long bench_peak_rss_bytes(void);
/* Sorts v in place; the p-quantile (0 <= p <= 1), nearest rank; 0 if n == 0. */
uint64_t bench_quantile_u64(uint64_t *v, size_t n, double p);
/* This executable's path (/proc/self/exe), else argv0. */
const char *bench_self_exe(const char *argv0);
/*
 * Run argv (argv[0] is the executable's path) with a time limit in
 * seconds. The child's stdout is captured into *out (malloc'd,
 * NUL-terminated; free it), its stderr goes to ours. Returns 0 on success,
 * the exit status, 128 + signal, 124 on timeout (the child is then
 * killed), or -1 if it could not start.
 */
int bench_run_capture(char *const argv[], double timeout_s, char **out);
/* Find "R name value" in a child's output; returns 1 and sets *out if found. */
int bench_child_result(const char *text, const char *name, double *out);
/* "timed out (killed)", "killed by signal 11 (...)", "exit status 3". */
const char *bench_status_text(int status);

#endif /* PERF_BENCH_H */
