/* SPDX-License-Identifier: MIT */
/*
 * perf/alloc_bench.c - nanoseconds per allocation.
 *
 * For each object size (--sizes, default 16,64,256,4096) and thread count
 * (--threads, default 1,2), every thread runs the same loop: allocate an
 * object, write its first byte, and store it into a ring of --ring live
 * objects (default 1024), dropping the object that was there. The dropped
 * object is garbage for the collectors, is free()d for "malloc" and is
 * leaked for "malloc-nofree". Reported: wall time of the loop divided by
 * the allocations of one thread (so perfect scaling keeps the number
 * constant as threads are added), and beside it the CPU cost per object:
 * user + sys CPU of the whole process (collector threads included,
 * getrusage RUSAGE_SELF around the threads' lifetime) divided by every
 * object allocated by every thread (cpu_per_alloc). A collector that
 * marks and sweeps on other cores looks cheap in wall time only; the CPU
 * column shows what it costs the machine.
 *
 * Each implementation runs in its own process (tricolor and bdwgc both want
 * to own the process); the parent collects the rows.
 */
#include "bench.h"

#include <errno.h>

#define RING_MAX (1 << 16)

static long g_count = 2000000; /* allocations per thread per rep */
static long g_ring = 1024;
static long g_max_mib = 256; /* per thread per rep: caps count for big sizes */
static int g_sizes[BENCH_MAX_LIST] = { 16, 64, 256, 4096 };
static int g_nsizes = 4;

typedef struct worker {
	pthread_t tid;
	int index;
	size_t size;
	long count;
	int reps;
	pthread_barrier_t *barrier;
	uint64_t *t0, *t1; /* [rep] */
} worker;

/* One timed loop. ring is on this thread's stack (a root for both GCs). */
#define ALLOC_LOOP(ALLOC, FREE)                                              \
	do {                                                                 \
		for (i = 0; i < count; i++) {                                \
			char *p = (char *)(ALLOC);                           \
			void *old;                                           \
			if (__builtin_expect(p == NULL, 0)) {                \
				fprintf(stderr, "allocation failed\n");      \
				exit(1);                                     \
			}                                                    \
			p[0] = 1;                                            \
			old = ring[i & mask];                                \
			FREE;                                                \
			ring[i & mask] = p;                                  \
		}                                                            \
	} while (0)

static void run_loop(void **ring, long mask, size_t size, long count)
{
	long i;

	switch (bench_impl) {
	case BENCH_IMPL_TRICOLOR:
		ALLOC_LOOP(tri_alloc(size), (void)old);
		break;
#ifdef HAVE_BDWGC
	case BENCH_IMPL_BDWGC:
		ALLOC_LOOP(GC_MALLOC(size), (void)old);
		break;
#endif
	case BENCH_IMPL_MALLOC:
		ALLOC_LOOP(malloc(size), free(old));
		break;
	default:
		ALLOC_LOOP(malloc(size), (void)old);
		break;
	}
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	void *ring[g_ring]; /* exactly the live set, on the scanned stack */
	long mask = g_ring - 1, j;
	int r;

	bench_thread_enter();
	for (r = 0; r < w->reps; r++) {
		memset(ring, 0, sizeof(void *) * (size_t)g_ring);
		bench_barrier_wait(w->barrier);
		w->t0[r] = bench_now_ns();
		run_loop(ring, mask, w->size, w->count);
		w->t1[r] = bench_now_ns();
		if (bench_impl == BENCH_IMPL_MALLOC)
			for (j = 0; j < g_ring; j++)
				free(ring[j]);
		memset(ring, 0, sizeof(void *) * (size_t)g_ring);
	}
	bench_thread_leave();
	return NULL;
}

static void run_case(const bench_opts *o, size_t size, int nthreads, int reps)
{
	worker *ws = calloc((size_t)nthreads, sizeof *ws);
	uint64_t *t0 = calloc((size_t)nthreads * (size_t)reps, sizeof *t0);
	uint64_t *t1 = calloc((size_t)nthreads * (size_t)reps, sizeof *t1);
	double *ns = calloc((size_t)reps, sizeof *ns);
	pthread_barrier_t barrier;
	long count = g_count;
	long cap = (long)((uint64_t)g_max_mib * 1024 * 1024 / size);
	uint64_t gc0, gc1;
	double c0, c1, cpu_ns;
	char cas[64];
	int i, r;
	bench_stats s;

	if (count > cap)
		count = cap;
	if (count < 1)
		count = 1;
	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
	gc0 = bench_gc_cycles();
	c0 = bench_cpu_s();
	for (i = 0; i < nthreads; i++) {
		ws[i].index = i;
		ws[i].size = size;
		ws[i].count = count;
		ws[i].reps = reps;
		ws[i].barrier = &barrier;
		ws[i].t0 = t0 + (size_t)i * (size_t)reps;
		ws[i].t1 = t1 + (size_t)i * (size_t)reps;
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i])) {
			perror("pthread_create");
			exit(1);
		}
	}
	for (i = 0; i < nthreads; i++)
		bench_join(ws[i].tid);
	c1 = bench_cpu_s();
	gc1 = bench_gc_cycles();
	for (r = 0; r < reps; r++) {
		uint64_t a = UINT64_MAX, b = 0;

		for (i = 0; i < nthreads; i++) {
			if (ws[i].t0[r] < a)
				a = ws[i].t0[r];
			if (ws[i].t1[r] > b)
				b = ws[i].t1[r];
		}
		ns[r] = (double)(b - a) / (double)count;
	}
	s = bench_stats_of(ns, reps);
	snprintf(cas, sizeof cas, "%zuB-%dt", size, nthreads);
	cpu_ns = (c1 - c0) * 1e9 / ((double)count * nthreads * reps);
	printf("# %-14s %-10s %ld allocs/thread x %d reps: median %.2f ns/alloc wall (min %.2f, max %.2f), %.2f ns CPU per object, %llu GC cycles\n",
	       bench_impl_name(bench_impl), cas, count, reps, s.median, s.min,
	       s.max, cpu_ns, (unsigned long long)(gc1 - gc0));
	bench_emit("alloc", cas, bench_impl_csv(bench_impl),
		   bench_impl == BENCH_IMPL_MALLOC_NOFREE ? "alloc_time_nofree"
							  : "alloc_time",
		   "ns/alloc", s);
	bench_emit("alloc", cas, bench_impl_csv(bench_impl),
		   bench_impl == BENCH_IMPL_MALLOC_NOFREE ? "cpu_per_alloc_nofree"
							  : "cpu_per_alloc",
		   "ns/alloc", bench_stats_one(cpu_ns));
	if (bench_impl == BENCH_IMPL_TRICOLOR || bench_impl == BENCH_IMPL_BDWGC)
		bench_emit("alloc", cas, bench_impl_csv(bench_impl),
			   "gc_cycles", "cycles",
			   bench_stats_one((double)(gc1 - gc0)));
	pthread_barrier_destroy(&barrier);
	free(ws);
	free(t0);
	free(t1);
	free(ns);
	(void)o;
}

static void usage(void)
{
	printf("usage: alloc_bench [flags]\n"
	       "  --sizes LIST   object sizes in bytes (16,64,256,4096)\n"
	       "  --count N      allocations per thread per rep (2000000; quick 200000)\n"
	       "  --max-mib N    cap of bytes allocated per thread per rep (256; quick 64)\n"
	       "  --ring N       live objects per thread, power of two (1024)\n"
	       "  default --threads 1,2, --reps 5 (quick 2); impls tricolor,bdwgc,malloc,malloc-nofree\n"
	       "  (each implementation and size runs in a process of its own)\n");
	bench_usage_common(stdout);
}

int main(int argc, char **argv)
{
	bench_opts o;
	int i, j, reps, impl, set_count = 0, set_mib = 0;
	long v;

	bench_opts_init(&o, argc, argv);
	o.bench = "alloc";
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return 0;
		}
		if (bench_common_flag(&o, argc, argv, &i))
			continue;
		if (bench_flag_list(argc, argv, &i, "--sizes", g_sizes,
				    &g_nsizes))
			continue;
		if (bench_flag_long(argc, argv, &i, "--count", &g_count)) {
			set_count = 1;
			continue;
		}
		if (bench_flag_long(argc, argv, &i, "--max-mib", &g_max_mib)) {
			set_mib = 1;
			continue;
		}
		if (bench_flag_long(argc, argv, &i, "--ring", &v)) {
			if (v < 1 || v > RING_MAX || (v & (v - 1))) {
				fprintf(stderr,
					"--ring must be a power of two <= %d\n",
					RING_MAX);
				return 2;
			}
			g_ring = v;
			continue;
		}
		bench_bad_flag(&o, argv[i]);
	}
	if (o.quick) {
		if (!set_count)
			g_count = 200000;
		if (!set_mib)
			g_max_mib = 64;
	}
	if (g_count < 1 || g_max_mib < 1) {
		fprintf(stderr, "--count and --max-mib must be >= 1\n");
		return 2;
	}
	reps = o.reps ? o.reps : (o.quick ? 2 : 5);
	if (!o.nthreads) {
		o.threads[0] = 1;
		o.threads[1] = 2;
		o.nthreads = 2;
	}

	if (!o.inproc) {
		printf("alloc_bench: sizes");
		for (i = 0; i < g_nsizes; i++)
			printf("%s%d", i ? "," : " ", g_sizes[i]);
		printf(" B, threads");
		for (i = 0; i < o.nthreads; i++)
			printf("%s%d", i ? "," : " ", o.threads[i]);
		printf(", %ld allocs/thread/rep (capped at %ld MiB/thread/rep), ring %ld live objects/thread, %d reps\n",
		       g_count, g_max_mib, g_ring, reps);
		printf("alloc_time = wall time / allocations of one thread; malloc = malloc+free, malloc-nofree never frees\n");
		/* one process per implementation and size */
		for (impl = 0; impl < BENCH_IMPL_COUNT; impl++) {
			if (!bench_impl_selected(&o, impl))
				continue;
			for (i = 0; i < g_nsizes; i++) {
				char sz[32], cas[48];
				const char *extra[] = { "--sizes", sz, NULL };

				snprintf(sz, sizeof sz, "%d", g_sizes[i]);
				snprintf(cas, sizeof cas, "%dB", g_sizes[i]);
				bench_spawn(&o, impl, extra, cas);
			}
		}
		return bench_finish(&o, "alloc_bench: ns per allocation (lower is better)");
	}

	/* child: exactly one implementation */
	for (impl = 0; impl < BENCH_IMPL_COUNT; impl++)
		if (bench_impl_selected(&o, impl))
			break;
	if (!bench_impl_available(impl)) {
		fprintf(stderr, "impl %s not available in this build\n",
			bench_impl_name(impl));
		return 1;
	}
	bench_heap_init(impl, o.tri_options);
	for (i = 0; i < g_nsizes; i++)
		for (j = 0; j < o.nthreads; j++)
			run_case(&o, (size_t)g_sizes[i], o.threads[j], reps);
	return bench_finish(&o, "alloc_bench (single impl)");
}
