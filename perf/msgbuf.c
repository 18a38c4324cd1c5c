/*
 * perf/msgbuf.c - GC latency: the "message buffer" benchmark.
 *
 * A window of --window messages (default 200000) of --msg-size bytes
 * (default 1024, pointer-free: tri_alloc_atomic / GC_MALLOC_ATOMIC /
 * malloc). Each push allocates a message, fills it, and stores it into slot
 * i % window, dropping (or, for malloc, freeing) the message that was
 * there. Every push is timed with clock_gettime; reported per impl: max,
 * p99.9, p99 and p50 push latency. For tricolor the pauses recorded by
 * tri_pauses() give a pause distribution and the minimum mutator
 * utilization; for bdwgc the stop-the-world pauses are taken from
 * GC_set_on_collection_event. Also GC cycles and peak RSS.
 *
 * The window array lives on the GC heap (stores through TRI_STORE) or,
 * with --window-in roots, in malloc'd memory registered with tri_add_roots
 * (bdwgc: GC_add_roots).
 */
#include "bench.h"

#include <errno.h>

static long g_window = 200000, g_msg = 1024, g_pushes = 1000000;
static long g_live_mib;
static int g_in_roots;
static long g_top; /* --top N: print the N slowest pushes */
static uint64_t *g_starts; /* push start times, with --top */

typedef struct rep_result {
	double max_us, p999_us, p99_us, p50_us, mean_ns;
	bench_pause_summary ps;
	int have_ps;
} rep_result;

/* The g_top slowest pushes, with the pauses (tricolor) that overlap them. */
static void print_top(const uint64_t *lat, long pushes, uint64_t t_start)
{
	tri_pause *p = NULL;
	size_t n = 0, k;
	long i, t;
	uint64_t prev = UINT64_MAX;

	if (bench_impl == BENCH_IMPL_TRICOLOR)
		n = bench_tri_pauses(&p);
	for (t = 0; t < g_top; t++) {
		long best = -1;

		/* the largest latency below the previous one (ties: first) */
		for (i = 0; i < pushes; i++)
			if (lat[i] < prev && (best < 0 || lat[i] > lat[best]))
				best = i;
		if (best < 0)
			break;
		prev = lat[best];
		printf("#   slow push %ld: %.1f us at +%.3f ms", best,
		       (double)lat[best] / 1e3,
		       (double)(g_starts[best] - t_start) / 1e6);
		for (k = 0; k < n; k++) {
			uint64_t a = g_starts[best], b = a + lat[best];

			if (p[k].start_ns < b && p[k].start_ns + p[k].length_ns > a)
				printf("; pause kind %u %.1f us", p[k].kind,
				       (double)p[k].length_ns / 1e3);
		}
		printf("\n");
	}
	free(p);
}

static void run_rep(rep_result *res, uint64_t *lat)
{
	long window = g_window, pushes = g_pushes, i;
	size_t msg = (size_t)g_msg;
	void **win;
	uint64_t t_start, t_end, sum = 0;
	size_t nbytes = (size_t)window * sizeof(void *);

	if (bench_impl == BENCH_IMPL_MALLOC || g_in_roots) {
		win = calloc((size_t)window, sizeof *win);
		if (g_in_roots && bench_impl == BENCH_IMPL_TRICOLOR)
			tri_add_roots(win, (char *)win + nbytes);
#ifdef HAVE_BDWGC
		if (g_in_roots && bench_impl == BENCH_IMPL_BDWGC)
			GC_add_roots(win, (char *)win + nbytes);
#endif
	} else {
		win = bh_alloc(nbytes);
	}
	if (!win) {
		fprintf(stderr, "msgbuf: cannot allocate the window\n");
		exit(1);
	}
	t_start = bench_now_ns();
	for (i = 0; i < pushes; i++) {
		uint64_t a = bench_now_ns(), b;
		char *m = bh_alloc_atomic(msg);
		long slot = i % window;

		if (__builtin_expect(!m, 0)) {
			fprintf(stderr, "msgbuf: out of memory at push %ld\n",
				i);
			exit(1);
		}
		memset(m, (int)(i & 0xff), msg);
		if (bench_impl == BENCH_IMPL_MALLOC)
			free(win[slot]);
		bh_store(&win[slot], m);
		b = bench_now_ns();
		lat[i] = b - a;
		if (g_starts)
			g_starts[i] = a;
	}
	t_end = bench_now_ns();
	for (i = 0; i < pushes; i++)
		sum += lat[i];
	res->mean_ns = (double)sum / (double)pushes;
	if (g_starts)
		print_top(lat, pushes, t_start);
	bench_sort_u64(lat, (size_t)pushes);
	res->max_us = (double)lat[pushes - 1] / 1e3;
	res->p999_us = (double)bench_pct_u64(lat, (size_t)pushes, 0.999) / 1e3;
	res->p99_us = (double)bench_pct_u64(lat, (size_t)pushes, 0.99) / 1e3;
	res->p50_us = (double)bench_pct_u64(lat, (size_t)pushes, 0.50) / 1e3;
	res->have_ps = 0;
	if (bench_impl == BENCH_IMPL_TRICOLOR) {
		tri_pause *p;
		size_t n = bench_tri_pauses(&p);

		bench_pause_analyze(p, n, 0, t_start, t_end, &res->ps);
		res->have_ps = 1;
		bench_pause_kinds_print(stdout, "# tricolor pauses", p, n,
					t_start, t_end);
		free(p);
	} else if (bench_impl == BENCH_IMPL_BDWGC) {
		const tri_pause *bp;
		size_t bn = bench_bdwgc_pauses(&bp);

		bench_pause_analyze(bp, bn, 0, t_start, t_end, &res->ps);
		res->have_ps = 1;
	}

	/* drop the window (not timed) */
	if (bench_impl == BENCH_IMPL_MALLOC) {
		for (i = 0; i < window; i++)
			free(win[i]);
		free(win);
	} else if (g_in_roots) {
		if (bench_impl == BENCH_IMPL_TRICOLOR)
			tri_remove_roots(win, (char *)win + nbytes);
#ifdef HAVE_BDWGC
		if (bench_impl == BENCH_IMPL_BDWGC)
			GC_remove_roots(win, (char *)win + nbytes);
#endif
		free(win);
	}
	win = NULL;
}

#define EMIT_FIELD(metric, unit, field)                                      \
	do {                                                                 \
		for (r = 0; r < reps; r++)                                   \
			v[r] = (double)(field);                              \
		bench_emit("msgbuf", cas, impl_csv, metric, unit,            \
			   bench_stats_of(v, reps));                         \
	} while (0)

static void usage(void)
{
	printf("usage: msgbuf [flags]\n"
	       "  --window N      messages kept live (200000; quick 20000)\n"
	       "  --msg-size N    bytes per message (1024)\n"
	       "  --pushes N      pushes per rep (1000000; quick 200000;\n"
	       "                  with --live-mib at least 2 x window)\n"
	       "  --live-mib M    window = M MiB of messages (e.g. 1024 for a 1 GiB live heap)\n"
	       "  (a full run without size flags runs the default case and --live-mib 1024)\n"
	       "  --window-in heap|roots  where the window array lives (heap)\n"
	       "  --top N         print the N slowest pushes (and overlapping pauses)\n"
	       "  default --reps 3 (quick 1); impls tricolor,bdwgc,malloc,go\n");
	bench_usage_common(stdout);
}

int main(int argc, char **argv)
{
	bench_opts o;
	int i, impl, reps, r, set_w = 0, set_p = 0;
	const char *s;
	rep_result *res;
	uint64_t *lat, gc0, gc1, tpc0 = 0;
	double *v;
	char cas[64];
	const char *impl_csv;

	bench_opts_init(&o, argc, argv);
	o.bench = "msgbuf";
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return 0;
		}
		if (bench_common_flag(&o, argc, argv, &i))
			continue;
		if (bench_flag_long(argc, argv, &i, "--window", &g_window)) {
			set_w = 1;
			continue;
		}
		if (bench_flag_long(argc, argv, &i, "--msg-size", &g_msg))
			continue;
		if (bench_flag_long(argc, argv, &i, "--pushes", &g_pushes)) {
			set_p = 1;
			continue;
		}
		if (bench_flag_long(argc, argv, &i, "--live-mib", &g_live_mib))
			continue;
		if (bench_flag_long(argc, argv, &i, "--top", &g_top))
			continue;
		if (bench_flag_val(argc, argv, &i, "--window-in", &s)) {
			if (!strcmp(s, "roots"))
				g_in_roots = 1;
			else if (!strcmp(s, "heap"))
				g_in_roots = 0;
			else
				bench_bad_flag(&o, s);
			continue;
		}
		bench_bad_flag(&o, argv[i]);
	}
	if (g_msg < 1) {
		fprintf(stderr, "msgbuf: --msg-size must be >= 1\n");
		return 2;
	}
	if (g_live_mib > 0) {
		g_window = (long)((uint64_t)g_live_mib * 1024 * 1024 /
				  (uint64_t)g_msg);
		if (!set_p && g_pushes < 2 * g_window)
			g_pushes = 2 * g_window;
	} else if (o.quick) {
		if (!set_w)
			g_window = 20000;
		if (!set_p)
			g_pushes = 200000;
	}
	if (g_window < 1 || g_pushes < 1) {
		fprintf(stderr, "msgbuf: --window and --pushes must be >= 1\n");
		return 2;
	}
	reps = o.reps ? o.reps : (o.quick ? 1 : 3);
	snprintf(cas, sizeof cas, "w%ld-%ldB", g_window, g_msg);

	if (!o.inproc) {
		/*
		 * Cases: the one the flags describe; a full run with no size
		 * flags also runs a 1 GiB live heap (--live-mib 1024, 1 rep).
		 */
		int ncases = 1, c;

		if (!o.quick && !set_w && !set_p && g_live_mib <= 0)
			ncases = 2;
		for (c = 0; c < ncases; c++) {
			long window = g_window, pushes = g_pushes;
			int creps = reps;
			char w_s[32], p_s[32], r_s[32], m_s[32];
			const char *extra[] = { "--window", w_s, "--pushes", p_s,
						"--reps", r_s, "--live-mib", "0",
						NULL };

			if (c == 1) {
				window = (long)(1024L * 1024 * 1024 / g_msg);
				pushes = 2 * window;
				creps = o.reps ? o.reps : 1;
			}
			snprintf(w_s, sizeof w_s, "%ld", window);
			snprintf(p_s, sizeof p_s, "%ld", pushes);
			snprintf(r_s, sizeof r_s, "%d", creps);
			snprintf(m_s, sizeof m_s, "%ld", g_msg);
			snprintf(cas, sizeof cas, "w%ld-%ldB", window, g_msg);
			printf("%smsgbuf: window %ld messages x %ld B (%.1f MiB live), %ld pushes per rep, %d reps, window array in %s\n",
			       c ? "\n" : "", window, g_msg,
			       (double)window * (double)g_msg / 1048576.0,
			       pushes, creps,
			       g_in_roots ? "registered roots" : "the GC heap");
			for (impl = 0; impl <= BENCH_IMPL_MALLOC; impl++)
				if (bench_impl_selected(&o, impl))
					bench_spawn(&o, impl, extra, cas);
			if (bench_go_selected(&o)) {
				const char *go = bench_go_peer(argv[0], "msgbuf");
				char *args[] = { (char *)go, (char *)"-window", w_s,
						 (char *)"-pushes", p_s,
						 (char *)"-reps", r_s,
						 (char *)"-msg-size", m_s, NULL };

				if (go)
					bench_spawn_cmd(&o, "go msgbuf", "go", cas,
							args, 0);
				else
					printf("# go: skipped (perf/peers/go/go-msgbuf not built: run perf/peers/go/build.sh OUTDIR and set PERF_GO_DIR=OUTDIR)\n");
			}
		}
		return bench_finish(&o, "msgbuf: push latency (lower is better; mmu higher is better)");
	}

	for (impl = 0; impl < BENCH_IMPL_COUNT; impl++)
		if (bench_impl_selected(&o, impl))
			break;
	if (impl > BENCH_IMPL_MALLOC || !bench_impl_available(impl)) {
		fprintf(stderr, "msgbuf: impl %s not supported here\n",
			bench_impl_name(impl));
		return 1;
	}
	impl_csv = bench_impl_csv(impl);
	bench_heap_init(impl, o.tri_options);
	if (impl == BENCH_IMPL_BDWGC)
		bench_bdwgc_record_pauses();
	if (impl == BENCH_IMPL_TRICOLOR)
		tpc0 = bench_metric("/gc/pauses/count:pauses");
	lat = malloc((size_t)g_pushes * sizeof *lat);
	res = calloc((size_t)reps, sizeof *res);
	v = calloc((size_t)reps, sizeof *v);
	if (!lat || !res || !v) {
		perror("malloc");
		return 1;
	}
	memset(lat, 0, (size_t)g_pushes * sizeof *lat); /* fault it in */
	if (g_top > 0) {
		g_starts = calloc((size_t)g_pushes, sizeof *g_starts);
		if (!g_starts) {
			perror("calloc");
			return 1;
		}
	}
	gc0 = bench_gc_cycles();
	for (r = 0; r < reps; r++) {
		bench_collect(); /* start each rep from a collected heap */
		run_rep(&res[r], lat);
		printf("# %-8s rep %d: push max %.1f us, p99.9 %.2f us, p99 %.2f us, p50 %.3f us, mean %.1f ns\n",
		       impl_csv, r + 1, res[r].max_us, res[r].p999_us,
		       res[r].p99_us, res[r].p50_us, res[r].mean_ns);
		if (res[r].have_ps) {
			char label[64];

			snprintf(label, sizeof label, "# %-8s rep %d pauses",
				 impl_csv, r + 1);
			bench_pause_print(stdout, label, &res[r].ps);
		}
	}
	gc1 = bench_gc_cycles();
	if (impl == BENCH_IMPL_TRICOLOR) {
		tri_pause *p;
		size_t n = bench_tri_pauses(&p);
		uint64_t tpc1 = bench_metric("/gc/pauses/count:pauses");

		free(p);
		if (tpc1 - tpc0 > n)
			printf("# note: tri_pauses() returned %zu pauses but /gc/pauses/count grew by %llu: the pause ring dropped some, distribution/MMU cover the kept ones\n",
			       n, (unsigned long long)(tpc1 - tpc0));
		printf("# tricolor: /gc/pauses/max %.1f us, /gc/assists/total %.3f ms, /gc/heap/goal %.1f MiB\n",
		       (double)bench_metric("/gc/pauses/max:nanoseconds") / 1e3,
		       (double)bench_metric("/gc/assists/total:nanoseconds") / 1e6,
		       (double)bench_metric("/gc/heap/goal:bytes") / 1048576.0);
	}
	EMIT_FIELD("push_max", "us", res[r].max_us);
	EMIT_FIELD("push_p99.9", "us", res[r].p999_us);
	EMIT_FIELD("push_p99", "us", res[r].p99_us);
	EMIT_FIELD("push_p50", "us", res[r].p50_us);
	EMIT_FIELD("push_mean", "ns", res[r].mean_ns);
	if (impl != BENCH_IMPL_MALLOC) {
		EMIT_FIELD("pause_count", "pauses", res[r].ps.count);
		EMIT_FIELD("pause_total", "ms", res[r].ps.total_ns / 1e6);
		EMIT_FIELD("pause_p50", "us", res[r].ps.p50_ns / 1e3);
		EMIT_FIELD("pause_p99", "us", res[r].ps.p99_ns / 1e3);
		EMIT_FIELD("pause_p99.9", "us", res[r].ps.p999_ns / 1e3);
		EMIT_FIELD("pause_max", "us", res[r].ps.max_ns / 1e3);
		for (i = 0; i < BENCH_MMU_NWIN; i++) {
			char metric[32];
			int k = 0;

			/* only the reps that lasted at least one window */
			for (r = 0; r < reps; r++)
				if (res[r].ps.mmu[i] >= 0)
					v[k++] = res[r].ps.mmu[i];
			if (k == 0)
				continue;
			snprintf(metric, sizeof metric, "mmu_%s",
				 bench_mmu_window_name[i]);
			bench_emit("msgbuf", cas, impl_csv, metric, "fraction",
				   bench_stats_of(v, k));
		}
		/* not counting the collection before each rep */
		bench_emit("msgbuf", cas, impl_csv, "gc_cycles", "cycles",
			   bench_stats_one((double)(gc1 - gc0 - (uint64_t)reps) /
					   reps));
	}
	bench_emit("msgbuf", cas, impl_csv, "peak_rss", "MiB",
		   bench_stats_one(bench_peak_rss_mib()));
	free(lat);
	free(res);
	free(v);
	return bench_finish(&o, "msgbuf (single impl)");
}
