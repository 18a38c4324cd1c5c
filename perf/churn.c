/* SPDX-License-Identifier: MIT */
/*
 * perf/churn.c - many threads: handshake cost against the number of threads.
 *
 * For each thread count in --threads (default 1,2,4,8,16,32,64; each in its
 * own process), N attached threads allocate --obj-size byte objects in a
 * loop (a ring of --ring live objects per thread makes the rest garbage) and
 * every --block-every allocations sleep --sleep-us microseconds inside
 * tri_blocking_enter()/tri_blocking_leave() (where the collector handshakes
 * on their behalf). After --seconds, reported:
 *  - handshake pauses (TRI_PAUSE_HANDSHAKE from tri_pauses()) per thread:
 *    median over threads of each thread's p50, max over threads of each
 *    thread's max, handshakes per thread;
 *  - every pause (all kinds): distribution and MMU of the worst thread;
 *  - observed: every allocation and every blocking-region leave timed by
 *    the thread making it (longest, p99.9, counts over 100 us and 1 ms),
 *    beside the recorded pauses; the malloc row is the OS's share;
 *  - the collector's handshakes (metrics /gc/handshakes/time and
 *    /gc/handshakes/longest: posting to the last thread's answer);
 *  - GC cycles completed per second and total allocation throughput.
 * bdwgc runs the same loop (its pauses: stop-the-world, from collection
 * events) and malloc (malloc+free) gives the allocation baseline.
 */
#include "bench.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

#define RING_MAX 4096

static double g_seconds = 3;
static long g_obj = 64, g_ring = 256, g_block_every = 1000, g_sleep_us = 100;
static volatile int g_stop;

/* Observed latency: every allocation and every blocking-region leave is
 * timed by the thread that makes it (what the mutator sees, whatever the
 * pause log says). Buckets of 1 us up to 1 ms, then 1 ms up to 100 ms. */
#define OBS_US 1000
#define OBS_MS 100
typedef struct worker {
	pthread_t tid;
	pthread_barrier_t *barrier;
	uint64_t count; /* allocations, updated now and then (relaxed) */
	int measuring;  /* set by the main thread for the measured interval */
	uint64_t obs_max, obs_n, obs_over100us, obs_over1ms;
	uint32_t obs_us[OBS_US], obs_ms[OBS_MS + 1];
	char pad[64];
} worker;

static void observe(worker *w, uint64_t ns)
{
	if (!__atomic_load_n(&w->measuring, __ATOMIC_RELAXED))
		return;
	w->obs_n++;
	if (ns > w->obs_max)
		w->obs_max = ns;
	if (ns > 100000)
		w->obs_over100us++;
	if (ns > 1000000)
		w->obs_over1ms++;
	if (ns < OBS_US * 1000ull)
		w->obs_us[ns / 1000]++;
	else
		w->obs_ms[ns / 1000000 < OBS_MS ? ns / 1000000 : OBS_MS]++;
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	void *ring[g_ring]; /* exactly the live set, on the scanned stack */
	size_t size = (size_t)g_obj;
	long mask = g_ring - 1, i = 0, j;

	memset(ring, 0, sizeof ring);
	bench_thread_enter();
	bench_barrier_wait(w->barrier);
	while (!__atomic_load_n(&g_stop, __ATOMIC_RELAXED)) {
		for (j = 0; j < g_block_every; j++, i++) {
			uint64_t a0 = bench_now_ns();
			char *p = bh_alloc(size);

			observe(w, bench_now_ns() - a0);

			if (!p) {
				fprintf(stderr, "churn: out of memory\n");
				exit(1);
			}
			p[0] = 1;
			bh_free(ring[i & mask]);
			ring[i & mask] = p;
		}
		__atomic_store_n(&w->count, (uint64_t)i, __ATOMIC_RELAXED);
		bench_block_enter();
		usleep((useconds_t)g_sleep_us);
		{
			uint64_t l0 = bench_now_ns();

			bench_block_leave();
			observe(w, bench_now_ns() - l0);
		}
	}
	for (j = 0; j < g_ring; j++)
		bh_free(ring[j]);
	memset(ring, 0, sizeof ring);
	bench_thread_leave();
	return NULL;
}

static uint64_t total_count(worker *ws, int n)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += __atomic_load_n(&ws[i].count, __ATOMIC_RELAXED);
	return s;
}

static void handshake_stats(const tri_pause *p, size_t n, uint64_t t0,
			    uint64_t t1, double *p50_median_us, double *max_us,
			    double *per_thread, int *nthr)
{
	uint32_t *tids = malloc((n + 1) * sizeof *tids);
	uint64_t *len = malloc((n + 1) * sizeof *len);
	double *p50s = malloc((n + 1) * sizeof *p50s);
	size_t nt = 0, i, j, total = 0;
	uint64_t mx = 0;

	/* distinct threads */
	for (i = 0; i < n; i++) {
		if (p[i].kind != TRI_PAUSE_HANDSHAKE || p[i].start_ns < t0 ||
		    p[i].start_ns > t1)
			continue;
		for (j = 0; j < nt; j++)
			if (tids[j] == p[i].thread)
				break;
		if (j == nt)
			tids[nt++] = p[i].thread;
	}
	for (j = 0; j < nt; j++) {
		size_t m = 0;

		for (i = 0; i < n; i++)
			if (p[i].kind == TRI_PAUSE_HANDSHAKE &&
			    p[i].thread == tids[j] && p[i].start_ns >= t0 &&
			    p[i].start_ns <= t1)
				len[m++] = p[i].length_ns;
		bench_sort_u64(len, m);
		p50s[j] = (double)bench_pct_u64(len, m, 0.5) / 1e3;
		if (m && len[m - 1] > mx)
			mx = len[m - 1];
		total += m;
	}
	bench_sort_double(p50s, nt);
	*p50_median_us = nt ? p50s[nt / 2] : 0;
	*max_us = (double)mx / 1e3;
	*per_thread = nt ? (double)total / (double)nt : 0;
	*nthr = (int)nt;
	free(tids);
	free(len);
	free(p50s);
}

/* Observed: the longest allocation or leave any thread saw, the worst
 * thread's counts over 100 us and 1 ms, and p99.9 / p99.99 over all. */
static void observed_stats(worker *ws, int n, const char *impl,
			   const char *cas)
{
	static uint64_t us[OBS_US], ms[OBS_MS + 1];
	uint64_t total = 0, mx = 0, o100 = 0, o1 = 0, acc = 0;
	double p999 = 0, p9999 = 0;
	int i, b;

	memset(us, 0, sizeof us);
	memset(ms, 0, sizeof ms);
	for (i = 0; i < n; i++) {
		total += ws[i].obs_n;
		if (ws[i].obs_max > mx)
			mx = ws[i].obs_max;
		o100 += ws[i].obs_over100us;
		o1 += ws[i].obs_over1ms;
		for (b = 0; b < OBS_US; b++)
			us[b] += ws[i].obs_us[b];
		for (b = 0; b <= OBS_MS; b++)
			ms[b] += ws[i].obs_ms[b];
	}
	for (b = 0; b < OBS_US + OBS_MS + 1; b++) {
		uint64_t c = b < OBS_US ? us[b] : ms[b - OBS_US];
		double up = b < OBS_US ? b + 1 : (b - OBS_US + 1) * 1000.0;

		acc += c;
		if (!p999 && acc >= (uint64_t)((double)total * 0.999))
			p999 = up;
		if (!p9999 && acc >= (uint64_t)((double)total * 0.9999))
			p9999 = up;
	}
	printf("# %-8s %s observed (each allocation and blocking leave, timed by its thread): %llu ops, longest %.1f us, p99.9 <= %.0f us, p99.99 <= %.0f us, %llu over 100 us, %llu over 1 ms\n",
	       impl, cas, (unsigned long long)total, (double)mx / 1e3, p999,
	       p9999, (unsigned long long)o100, (unsigned long long)o1);
	bench_emit("churn", cas, impl, "observed_max", "us",
		   bench_stats_one((double)mx / 1e3));
	bench_emit("churn", cas, impl, "observed_p99.9", "us",
		   bench_stats_one(p999));
	bench_emit("churn", cas, impl, "observed_over100us", "ops",
		   bench_stats_one((double)o100));
	bench_emit("churn", cas, impl, "observed_over1ms", "ops",
		   bench_stats_one((double)o1));
}

static void run_case(int nthreads)
{
	worker *ws = calloc((size_t)nthreads, sizeof *ws);
	pthread_barrier_t barrier;
	uint64_t t0, t1, c0, c1, a0, a1, gc0, gc1;
	struct timespec ts;
	char cas[32];
	const char *impl = bench_impl_csv(bench_impl);
	double secs, rate, cps;
	int i;

	g_stop = 0;
	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads + 1);
	for (i = 0; i < nthreads; i++) {
		ws[i].barrier = &barrier;
		if (pthread_create(&ws[i].tid, NULL, worker_main, &ws[i])) {
			perror("pthread_create");
			exit(1);
		}
	}
	bench_barrier_wait(&barrier);
	/* let every thread get going, then measure */
	ts.tv_sec = 0;
	ts.tv_nsec = 50 * 1000 * 1000;
	bench_block_enter();
	nanosleep(&ts, NULL);
	bench_block_leave();
	for (i = 0; i < nthreads; i++)
		__atomic_store_n(&ws[i].measuring, 1, __ATOMIC_RELAXED);
	gc0 = bench_gc_cycles();
	a0 = total_count(ws, nthreads);
	t0 = bench_now_ns();
	c0 = t0;
	ts.tv_sec = (time_t)g_seconds;
	ts.tv_nsec = (long)((g_seconds - (double)ts.tv_sec) * 1e9);
	bench_block_enter();
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	bench_block_leave();
	t1 = bench_now_ns();
	for (i = 0; i < nthreads; i++)
		__atomic_store_n(&ws[i].measuring, 0, __ATOMIC_RELAXED);
	a1 = total_count(ws, nthreads);
	gc1 = bench_gc_cycles();
	c1 = t1;
	__atomic_store_n(&g_stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < nthreads; i++)
		bench_join(ws[i].tid);
	pthread_barrier_destroy(&barrier);
	(void)c0;
	(void)c1;

	secs = (double)(t1 - t0) / 1e9;
	rate = (double)(a1 - a0) / secs / 1e6;
	cps = (double)(gc1 - gc0) / secs;
	snprintf(cas, sizeof cas, "%dt", nthreads);
	printf("# %-8s %3d threads: %.2f M allocs/s total, %.1f GC cycles/s (%llu in %.2f s)\n",
	       impl, nthreads, rate, cps, (unsigned long long)(gc1 - gc0),
	       secs);
	bench_emit("churn", cas, impl, "alloc_rate", "Malloc/s",
		   bench_stats_one(rate));
	observed_stats(ws, nthreads, impl, cas);
	if (bench_impl == BENCH_IMPL_MALLOC) {
		free(ws);
		return;
	}
	bench_emit("churn", cas, impl, "cycles_per_sec", "cycles/s",
		   bench_stats_one(cps));
	{
		const tri_pause *p;
		tri_pause *own = NULL;
		size_t n;
		bench_pause_summary s;
		char label[64];

		if (bench_impl == BENCH_IMPL_TRICOLOR) {
			n = bench_tri_pauses(&own);
			p = own;
		} else {
			n = bench_bdwgc_pauses(&p);
		}
		if (bench_impl == BENCH_IMPL_TRICOLOR) {
			double p50, mx, per;
			int nt;

			handshake_stats(p, n, t0, t1, &p50, &mx, &per, &nt);
			printf("# %-8s %3d threads: handshakes on %d threads, %.1f per thread; per-thread p50 (median over threads) %.1f us, max %.1f us\n",
			       impl, nthreads, nt, per, p50, mx);
			/* The collector's side: posting to the last answer
			 * (whole run: the metrics are cumulative). */
			{
				double hs_n = (double)bench_metric("/gc/handshakes/total:handshakes");
				double hs_ns = (double)bench_metric("/gc/handshakes/time:nanoseconds");
				double hs_max = (double)bench_metric("/gc/handshakes/longest:nanoseconds");

				double cpu_max = (double)bench_metric("/gc/pauses/handshake/cpu-max:nanoseconds");
				double desched = (double)bench_metric("/gc/pauses/handshake/descheduled:pauses");

				printf("# %-8s %3d threads: collector handshakes (whole run): %.0f, mean %.1f us, longest %.1f us\n",
				       impl, nthreads, hs_n, hs_n ? hs_ns / hs_n / 1e3 : 0, hs_max / 1e3);
				printf("# %-8s %3d threads: handshake actions (whole run): longest on-CPU %.1f us; %.0f descheduled by the OS for over 50 us\n",
				       impl, nthreads, cpu_max / 1e3, desched);
				bench_emit("churn", cas, impl, "handshake_cpu_max", "us",
					   bench_stats_one(cpu_max / 1e3));
				bench_emit("churn", cas, impl, "collector_handshake_max", "us",
					   bench_stats_one(hs_max / 1e3));
			}
			bench_emit("churn", cas, impl, "handshake_p50", "us",
				   bench_stats_one(p50));
			bench_emit("churn", cas, impl, "handshake_max", "us",
				   bench_stats_one(mx));
			bench_emit("churn", cas, impl, "handshakes_per_thread",
				   "pauses", bench_stats_one(per));
		}
		bench_pause_analyze(p, n, 0, t0, t1, &s);
		snprintf(label, sizeof label, "# %-8s %3d threads, all pauses",
			 impl, nthreads);
		bench_pause_print(stdout, label, &s);
		if (bench_impl == BENCH_IMPL_TRICOLOR)
			bench_pause_kinds_print(stdout, label, p, n, t0, t1);
		bench_pause_emit("churn", cas, impl, &s);
		free(own);
	}
	free(ws);
}

static void usage(void)
{
	printf("usage: churn [flags]\n"
	       "  --seconds S       measured time per thread count (3; quick 1)\n"
	       "  --obj-size N      bytes per object (64)\n"
	       "  --ring N          live objects per thread, power of two (256)\n"
	       "  --block-every N   allocations between blocking sleeps (1000)\n"
	       "  --sleep-us N      sleep inside the blocking region (100)\n"
	       "  default --threads 1,2,4,8,16,32,64 (quick 1,8,64), one process each;\n"
	       "  impls tricolor,bdwgc,malloc\n");
	bench_usage_common(stdout);
}

int main(int argc, char **argv)
{
	bench_opts o;
	int i, impl;
	const char *s;
	long v;

	bench_opts_init(&o, argc, argv);
	o.bench = "churn";
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return 0;
		}
		if (bench_common_flag(&o, argc, argv, &i))
			continue;
		if (bench_flag_val(argc, argv, &i, "--seconds", &s)) {
			g_seconds = atof(s);
			if (g_seconds <= 0) {
				fprintf(stderr, "churn: bad --seconds\n");
				return 2;
			}
			continue;
		}
		if (bench_flag_long(argc, argv, &i, "--obj-size", &g_obj))
			continue;
		if (bench_flag_long(argc, argv, &i, "--block-every",
				    &g_block_every))
			continue;
		if (bench_flag_long(argc, argv, &i, "--sleep-us", &g_sleep_us))
			continue;
		if (bench_flag_long(argc, argv, &i, "--ring", &v)) {
			if (v < 1 || v > RING_MAX || (v & (v - 1))) {
				fprintf(stderr, "churn: --ring must be a power of two <= %d\n",
					RING_MAX);
				return 2;
			}
			g_ring = v;
			continue;
		}
		bench_bad_flag(&o, argv[i]);
	}
	if (o.quick && g_seconds == 3)
		g_seconds = 1;
	if (g_obj < 1 || g_block_every < 1 || g_sleep_us < 0) {
		fprintf(stderr, "churn: bad sizes\n");
		return 2;
	}
	if (!o.nthreads) {
		static const int full[] = { 1, 2, 4, 8, 16, 32, 64 };
		static const int quick[] = { 1, 8, 64 };

		if (o.quick) {
			memcpy(o.threads, quick, sizeof quick);
			o.nthreads = 3;
		} else {
			memcpy(o.threads, full, sizeof full);
			o.nthreads = 7;
		}
	}

	if (!o.inproc) {
		printf("churn: threads");
		for (i = 0; i < o.nthreads; i++)
			printf("%s%d", i ? "," : " ", o.threads[i]);
		printf(", %.1f s each, %ld-byte objects, ring %ld, blocking sleep of %ld us every %ld allocations\n",
		       g_seconds, g_obj, g_ring, g_sleep_us, g_block_every);
		for (impl = 0; impl <= BENCH_IMPL_MALLOC; impl++) {
			if (!bench_impl_selected(&o, impl))
				continue;
			for (i = 0; i < o.nthreads; i++) {
				char arg[16];
				const char *extra[] = { "--threads", arg, NULL };

				char cas[32];

				snprintf(arg, sizeof arg, "%d", o.threads[i]);
				snprintf(cas, sizeof cas, "%dt", o.threads[i]);
				bench_spawn(&o, impl, extra, cas);
			}
		}
		return bench_finish(&o, "churn: many threads (pauses lower is better, rates higher)");
	}

	for (impl = 0; impl < BENCH_IMPL_COUNT; impl++)
		if (bench_impl_selected(&o, impl))
			break;
	if (impl > BENCH_IMPL_MALLOC || !bench_impl_available(impl)) {
		fprintf(stderr, "churn: impl %s not supported here\n",
			bench_impl_name(impl));
		return 1;
	}
	bench_heap_init(impl, o.tri_options);
	if (impl == BENCH_IMPL_BDWGC)
		bench_bdwgc_record_pauses();
	for (i = 0; i < o.nthreads; i++)
		run_case(o.threads[i]);
	return bench_finish(&o, "churn (single impl)");
}
