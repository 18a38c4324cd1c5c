/* SPDX-License-Identifier: MIT */
/*
 * perf/msgbuf.c - GC latency: the "message buffer" benchmark.
 *
 * A window of --window messages (default 200000) of --msg-size bytes
 * (default 1024, pointer-free: tri_alloc_atomic / GC_MALLOC_ATOMIC /
 * malloc). Each push allocates a message, fills it (memset), and stores it
 * into slot i % window, dropping (or, for malloc, freeing) the message that
 * was there. Every push is timed with clock_gettime(CLOCK_MONOTONIC) around
 * alloc + memset + store: this is the latency the mutator observes, not the
 * collector's own pause log.
 *
 * --threads LIST (default 1,2,4): with T threads the window and the pushes
 * are split across T threads (each owns window/T slots and pushes/T
 * messages), all starting at one barrier; T = 4 on a 2-core machine is
 * oversubscribed on purpose (the malloc row shows what the OS alone costs).
 * Each thread count runs in a fresh process per implementation.
 *
 * Reported per implementation and thread count (medians over --reps):
 * longest push, p99.99, p99.9, p99, p50, mean; pushes over 100 us and over
 * 1 ms; whole-run wall time (first push to last) and user+sys CPU of the
 * process over the same interval; GC cycles; peak RSS. For tricolor (and
 * bdwgc, whose stop-the-world pauses come from GC_set_on_collection_event)
 * the recorded-vs-observed comparison: the longest recorded pause against
 * the longest observed push, and how many of the pushes over 100 us
 * overlap a recorded pause (slow_explained; with T > 1 a pause of any
 * thread counts, since tri_pause names threads by registry id, which a
 * mutator cannot learn). An unexplained slow push is either work inside the
 * library that is not recorded, or OS scheduling: the malloc row, which
 * has no collector, shows how much of the latter this machine produces.
 * Plus the pause distribution and the minimum mutator utilization (MMU),
 * printed beside the observed one. With --explain every push also counts
 * the thread's context switches during it (getrusage RUSAGE_THREAD, read
 * outside the timed interval): each slow push that no recorded pause
 * covers is then put down to the OS (an involuntary switch: another thread
 * ran on the core), to an unrecorded wait (voluntary switches only: it
 * blocked on a lock or slept without a record, which is a tricolor bug), or
 * left unexplained (CPU work or page faults nobody recorded). The malloc
 * row with --explain shows how much the OS alone accounts for.
 *
 * Peers: malloc/free (the no-GC floor), bdwgc (Debian default), Go
 * (perf/peers/go/msgbuf, GOGC default) and Java ZGC (perf/peers/java,
 * -XX:+UseZGC, -Xmx = max(1 GiB, 4 x live bytes); printed with each run).
 *
 * The window array lives on the GC heap (stores through TRI_STORE) or,
 * with --window-in roots, in malloc'd memory registered with tri_add_roots
 * (bdwgc: GC_add_roots).
 */
#include "bench.h"

#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>

#define SLOW_NS 100000u     /* a "slow" push: over 100 us */
#define VERY_SLOW_NS 1000000u /* over 1 ms */

static long g_window = 200000, g_msg = 1024, g_pushes = 1000000;
static long g_live_mib;
static int g_in_roots;
static long g_top; /* --top N: print the N slowest pushes */
/* --explain: per push, the thread's context switches during it (getrusage
 * RUSAGE_THREAD before and after, outside the timed interval), so that a
 * slow push no recorded pause covers is shown to be the OS's (involuntary
 * switch) or an unrecorded wait (voluntary switch: blocked on a lock or a
 * sleep without a record). */
static int g_explain;
static uint8_t *g_inv, *g_vol; /* [pushes]: switches during each push (saturated) */

typedef struct rep_result {
	double max_us, p9999_us, p999_us, p99_us, p50_us, mean_ns;
	double over100us, over1ms, run_ms, cpu_ms;
	double rec_max_us, slow_explained; /* recorded vs observed */
	/* --explain: slow pushes no recorded pause covers, by what the OS saw */
	double slow_os, slow_blocked, slow_unexplained;
	bench_pause_summary ps;
	int have_ps;
} rep_result;

/* One pushing thread: its slice of the window and of the latency arrays. */
typedef struct pusher {
	pthread_t tid;
	long window, pushes;
	uint64_t *lat, *start; /* [pushes]: latency and start of each push */
	uint8_t *inv, *vol;    /* [pushes] with --explain */
	pthread_barrier_t *barrier;
	uint64_t t0, t1;
} pusher;

/* The g_top slowest pushes, with the pauses (tricolor) that overlap them. */
static void print_top(const uint64_t *lat, const uint64_t *starts,
		      long pushes, uint64_t t_start)
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
		       (double)(starts[best] - t_start) / 1e6);
		if (g_explain)
			printf(" (OS: %u involuntary, %u voluntary switches)",
			       g_inv[best], g_vol[best]);
		for (k = 0; k < n; k++) {
			uint64_t a = starts[best], b = a + lat[best];

			if (p[k].start_ns < b && p[k].start_ns + p[k].length_ns > a)
				printf("; pause kind %u thread %u %.1f us",
				       p[k].kind, p[k].thread,
				       (double)p[k].length_ns / 1e3);
		}
		printf("\n");
	}
	free(p);
}

static void **window_new(long window)
{
	size_t nbytes = (size_t)window * sizeof(void *);
	void **win;

	if (bench_impl == BENCH_IMPL_MALLOC || g_in_roots) {
		win = calloc((size_t)window, sizeof *win);
		if (win && g_in_roots && bench_impl == BENCH_IMPL_TRICOLOR)
			tri_add_roots(win, (char *)win + nbytes);
#ifdef HAVE_BDWGC
		if (win && g_in_roots && bench_impl == BENCH_IMPL_BDWGC)
			GC_add_roots(win, (char *)win + nbytes);
#endif
	} else {
		win = bh_alloc(nbytes);
	}
	if (!win) {
		fprintf(stderr, "msgbuf: cannot allocate the window\n");
		exit(1);
	}
	return win;
}

/* Drop the window (not timed). */
static void window_drop(void **win, long window)
{
	size_t nbytes = (size_t)window * sizeof(void *);
	long i;

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
}

static void *pusher_main(void *arg)
{
	pusher *w = arg;
	long window = w->window, pushes = w->pushes, i;
	size_t msg = (size_t)g_msg;
	void **win;

	bench_thread_enter();
	win = window_new(window);
	bench_barrier_wait(w->barrier);
	w->t0 = bench_now_ns();
	for (i = 0; i < pushes; i++) {
		struct rusage r0, r1;
		uint64_t a, b;
		char *m;

		if (g_explain)
			getrusage(RUSAGE_THREAD, &r0);
		a = bench_now_ns();
		m = bh_alloc_atomic(msg);
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
		w->lat[i] = b - a;
		w->start[i] = a;
		if (g_explain) {
			long di, dv;

			getrusage(RUSAGE_THREAD, &r1);
			di = r1.ru_nivcsw - r0.ru_nivcsw;
			dv = r1.ru_nvcsw - r0.ru_nvcsw;
			w->inv[i] = (uint8_t)(di > 255 ? 255 : di);
			w->vol[i] = (uint8_t)(dv > 255 ? 255 : dv);
		}
	}
	w->t1 = bench_now_ns();
	window_drop(win, window);
	win = NULL;
	bench_thread_leave();
	return NULL;
}

/*
 * Recorded vs observed: the longest recorded pause overlapping [t0, t1]
 * and how many pushes over SLOW_NS overlap at least one recorded pause.
 */
static void recorded_vs_observed(const tri_pause *p, size_t n,
				 const uint64_t *lat, const uint64_t *starts,
				 long pushes, uint64_t t0, uint64_t t1,
				 rep_result *res)
{
	uint64_t *ps, *pe, rec_max = 0;
	size_t m = 0, k;
	long i, explained = 0, os = 0, blocked = 0, unexplained = 0;

	ps = malloc((n + 1) * sizeof *ps);
	pe = malloc((n + 1) * sizeof *pe);
	if (!ps || !pe) {
		perror("malloc");
		exit(1);
	}
	for (k = 0; k < n; k++) {
		if (p[k].start_ns + p[k].length_ns < t0 || p[k].start_ns > t1)
			continue;
		ps[m] = p[k].start_ns;
		pe[m] = p[k].start_ns + p[k].length_ns;
		if (p[k].length_ns > rec_max)
			rec_max = p[k].length_ns;
		m++;
	}
	/* sort the pause intervals by start and merge overlaps (any thread) */
	for (k = 1; k < m; k++) {
		uint64_t s = ps[k], e = pe[k];
		size_t j = k;

		while (j > 0 && ps[j - 1] > s) {
			ps[j] = ps[j - 1];
			pe[j] = pe[j - 1];
			j--;
		}
		ps[j] = s;
		pe[j] = e;
	}
	if (m > 1) {
		size_t w = 0;

		for (k = 1; k < m; k++) {
			if (ps[k] <= pe[w]) {
				if (pe[k] > pe[w])
					pe[w] = pe[k];
			} else {
				w++;
				ps[w] = ps[k];
				pe[w] = pe[k];
			}
		}
		m = w + 1;
	}
	for (i = 0; i < pushes; i++) {
		uint64_t a = starts[i], b = a + lat[i];
		size_t lo = 0, hi = m;

		if (lat[i] <= SLOW_NS)
			continue;
		/* first merged interval ending after a */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (pe[mid] > a)
				hi = mid;
			else
				lo = mid + 1;
		}
		if (lo < m && ps[lo] < b)
			explained++;
		else if (g_explain && g_inv[i])
			os++;
		else if (g_explain && g_vol[i])
			blocked++;
		else
			unexplained++;
	}
	res->rec_max_us = (double)rec_max / 1e3;
	res->slow_explained = (double)explained;
	if (g_explain) {
		res->slow_os = (double)os;
		res->slow_blocked = (double)blocked;
		res->slow_unexplained = (double)unexplained;
	}
	free(ps);
	free(pe);
}

static void run_rep(rep_result *res, uint64_t *lat, uint64_t *starts,
		    int nthreads)
{
	long pushes = 0, i;
	uint64_t t_start = UINT64_MAX, t_end = 0, sum = 0, slow = 0, vslow = 0;
	pusher *ws = calloc((size_t)nthreads, sizeof *ws);
	pthread_barrier_t barrier;
	double c0, c1;
	int k;

	if (!ws) {
		perror("calloc");
		exit(1);
	}
	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads + 1);
	for (k = 0; k < nthreads; k++) {
		ws[k].window = g_window / nthreads +
			       (k == 0 ? g_window % nthreads : 0);
		ws[k].pushes = g_pushes / nthreads +
			       (k == 0 ? g_pushes % nthreads : 0);
		if (ws[k].window < 1)
			ws[k].window = 1;
		ws[k].lat = lat + pushes;
		ws[k].start = starts + pushes;
		ws[k].inv = g_inv ? g_inv + pushes : NULL;
		ws[k].vol = g_vol ? g_vol + pushes : NULL;
		ws[k].barrier = &barrier;
		pushes += ws[k].pushes;
		if (pthread_create(&ws[k].tid, NULL, pusher_main, &ws[k])) {
			perror("pthread_create");
			exit(1);
		}
	}
	c0 = bench_cpu_s();
	bench_barrier_wait(&barrier);
	for (k = 0; k < nthreads; k++)
		bench_join(ws[k].tid);
	c1 = bench_cpu_s();
	pthread_barrier_destroy(&barrier);
	for (k = 0; k < nthreads; k++) {
		if (ws[k].t0 < t_start)
			t_start = ws[k].t0;
		if (ws[k].t1 > t_end)
			t_end = ws[k].t1;
	}
	free(ws);
	for (i = 0; i < pushes; i++) {
		sum += lat[i];
		slow += lat[i] > SLOW_NS;
		vslow += lat[i] > VERY_SLOW_NS;
	}
	res->mean_ns = (double)sum / (double)pushes;
	res->over100us = (double)slow;
	res->over1ms = (double)vslow;
	res->run_ms = (double)(t_end - t_start) / 1e6;
	res->cpu_ms = (c1 - c0) * 1e3;
	res->rec_max_us = res->slow_explained = -1;
	res->slow_os = res->slow_blocked = res->slow_unexplained = -1;
	if (g_top > 0)
		print_top(lat, starts, pushes, t_start);
	if (bench_impl == BENCH_IMPL_MALLOC && g_explain) {
		/* no collector: every slow push is the OS's or malloc's */
		recorded_vs_observed(NULL, 0, lat, starts, pushes, t_start,
				     t_end, res);
		res->rec_max_us = res->slow_explained = -1;
	}
	res->have_ps = 0;
	if (bench_impl == BENCH_IMPL_TRICOLOR) {
		tri_pause *p;
		size_t n = bench_tri_pauses(&p);

		recorded_vs_observed(p, n, lat, starts, pushes, t_start, t_end,
				     res);
		bench_pause_analyze(p, n, 0, t_start, t_end, &res->ps);
		res->have_ps = 1;
		bench_pause_kinds_print(stdout, "# tricolor pauses", p, n,
					t_start, t_end);
		free(p);
	} else if (bench_impl == BENCH_IMPL_BDWGC) {
		const tri_pause *bp;
		size_t bn = bench_bdwgc_pauses(&bp);

		recorded_vs_observed(bp, bn, lat, starts, pushes, t_start,
				     t_end, res);
		bench_pause_analyze(bp, bn, 0, t_start, t_end, &res->ps);
		res->have_ps = 1;
	}
	bench_sort_u64(lat, (size_t)pushes);
	res->max_us = (double)lat[pushes - 1] / 1e3;
	res->p9999_us = (double)bench_pct_u64(lat, (size_t)pushes, 0.9999) / 1e3;
	res->p999_us = (double)bench_pct_u64(lat, (size_t)pushes, 0.999) / 1e3;
	res->p99_us = (double)bench_pct_u64(lat, (size_t)pushes, 0.99) / 1e3;
	res->p50_us = (double)bench_pct_u64(lat, (size_t)pushes, 0.50) / 1e3;
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
	       "  --window N      messages kept live in all (200000; quick 20000)\n"
	       "  --msg-size N    bytes per message (1024)\n"
	       "  --pushes N      pushes per rep in all (2000000; quick 200000;\n"
	       "                  with --live-mib at least 2 x window)\n"
	       "  --live-mib M    window = M MiB of messages (e.g. 1024 for a 1 GiB live heap)\n"
	       "  (a full run without size flags also runs --live-mib 1024 at 1 thread: msgbuf_1gib)\n"
	       "  --window-in heap|roots  where the window arrays live (heap)\n"
	       "  --top N         print the N slowest pushes (and overlapping pauses)\n"
	       "  --explain       count each push's context switches (getrusage, outside\n"
	       "                  the timed interval): slow pushes no pause covers are\n"
	       "                  split into OS preemption, unrecorded waits, unexplained\n"
	       "  default --threads 1,2,4 (window and pushes split across the threads),\n"
	       "  --reps 3 (quick 1); impls tricolor,bdwgc,malloc,go,java\n"
	       "  (go: $PERF_GO_DIR/go-msgbuf; java: $PERF_JAVA_DIR/MsgBuf.class, run as\n"
	       "   java -XX:+UseZGC -Xmx<max(1 GiB, 4 x live)> -cp $PERF_JAVA_DIR MsgBuf)\n");
	bench_usage_common(stdout);
}

/* Java ZGC peer: $PERF_JAVA_DIR/MsgBuf.class, else peers/java next to argv0. */
static const char *java_peer_dir(const char *argv0)
{
	static char dir[4096];
	char path[4200];
	const char *env = getenv("PERF_JAVA_DIR");
	const char *slash = strrchr(argv0, '/');

	if (env && *env) {
		snprintf(dir, sizeof dir, "%s", env);
	} else {
		int len = slash ? (int)(slash - argv0) : 0;

		if (len >= 5 && !strncmp(slash - 5, ".libs", 5))
			len = len > 5 ? len - 6 : 0;
		snprintf(dir, sizeof dir, "%.*s%speers/java", len, argv0,
			 len ? "/" : "");
	}
	snprintf(path, sizeof path, "%s/MsgBuf.class", dir);
	return access(path, R_OK) == 0 ? dir : NULL;
}

static void run_peers(const bench_opts *o, const char *cas, long window,
		      long pushes, int creps, int nthreads)
{
	char w_s[32], p_s[32], r_s[32], m_s[32], t_s[16], x_s[48];
	long xmx_mib = (long)((double)window * (double)g_msg * 4 / 1048576.0);

	snprintf(w_s, sizeof w_s, "%ld", window);
	snprintf(p_s, sizeof p_s, "%ld", pushes);
	snprintf(r_s, sizeof r_s, "%d", creps);
	snprintf(m_s, sizeof m_s, "%ld", g_msg);
	snprintf(t_s, sizeof t_s, "%d", nthreads);
	if (xmx_mib < 1024)
		xmx_mib = 1024;
	snprintf(x_s, sizeof x_s, "-Xmx%ldm", xmx_mib);
	if (bench_go_selected(o)) {
		const char *go = bench_go_peer(o->argv[0], "msgbuf");
		char *args[] = { (char *)go, (char *)"-window", w_s,
				 (char *)"-pushes", p_s, (char *)"-reps", r_s,
				 (char *)"-msg-size", m_s, (char *)"-threads",
				 t_s, NULL };

		if (go) {
			printf("# [msgbuf %s] go (GOGC default) ...\n", cas);
			bench_spawn_cmd(o, "go msgbuf", "go", cas, args, 0);
		} else {
			printf("# go: skipped (perf/peers/go/go-msgbuf not built: run perf/peers/go/build.sh OUTDIR and set PERF_GO_DIR=OUTDIR)\n");
		}
	}
	if (bench_java_selected(o)) {
		const char *dir = java_peer_dir(o->argv[0]);
		char *args[] = { (char *)"java", (char *)"-XX:+UseZGC", x_s,
				 (char *)"-cp", (char *)dir, (char *)"MsgBuf",
				 (char *)"--window", w_s, (char *)"--pushes",
				 p_s, (char *)"--reps", r_s,
				 (char *)"--msg-size", m_s,
				 (char *)"--threads", t_s, (char *)"--case",
				 (char *)cas, NULL };

		if (dir) {
			printf("# [msgbuf %s] java -XX:+UseZGC %s ...\n", cas,
			       x_s);
			bench_spawn_cmd(o, "java msgbuf", "java", cas, args,
					0);
		} else {
			printf("# java: skipped (perf/peers/java/MsgBuf.class not built: javac -d OUTDIR perf/peers/java/MsgBuf.java and set PERF_JAVA_DIR=OUTDIR)\n");
		}
	}
}

int main(int argc, char **argv)
{
	bench_opts o;
	int i, impl, reps, r, set_w = 0, set_p = 0, nthreads;
	const char *s;
	rep_result *res;
	uint64_t *lat, *starts, gc0, gc1, tpc0 = 0;
	double *v;
	char cas[64];
	const char *impl_csv;

	bench_opts_init(&o, argc, argv);
	o.bench = "msgbuf";
	g_pushes = 2000000;
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
		if (!strcmp(argv[i], "--explain")) {
			g_explain = 1;
			continue;
		}
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
	if (!o.nthreads) {
		o.threads[0] = 1;
		o.threads[1] = 2;
		o.threads[2] = 4;
		o.nthreads = 3;
	}
	reps = o.reps ? o.reps : (o.quick ? 1 : 3);

	if (!o.inproc) {
		/*
		 * Cases: the one the flags describe, at each thread count; a
		 * full run with no size flags also runs a 1 GiB live heap
		 * (--live-mib 1024, 1 thread, 1 rep: the msgbuf_1gib case).
		 */
		int ncases = 1, c, t;

		if (!o.quick && !set_w && !set_p && g_live_mib <= 0)
			ncases = 2;
		for (c = 0; c < ncases; c++) {
			long window = g_window, pushes = g_pushes;
			int creps = reps, nt = o.nthreads;

			if (c == 1) {
				window = (long)(1024L * 1024 * 1024 / g_msg);
				pushes = 2 * window;
				creps = o.reps ? o.reps : 1;
				nt = 1;
			}
			printf("%smsgbuf: window %ld messages x %ld B (%.1f MiB live), %ld pushes per rep, %d reps, window arrays in %s\n",
			       c ? "\n" : "", window, g_msg,
			       (double)window * (double)g_msg / 1048576.0,
			       pushes, creps,
			       g_in_roots ? "registered roots" : "the GC heap");
			for (t = 0; t < nt; t++) {
				char w_s[32], p_s[32], r_s[32], t_s[16];
				const char *extra[] = { "--window", w_s,
							"--pushes", p_s,
							"--reps", r_s,
							"--live-mib", "0",
							"--threads", t_s,
							NULL };
				int th = c == 1 ? 1 : o.threads[t];

				snprintf(w_s, sizeof w_s, "%ld", window);
				snprintf(p_s, sizeof p_s, "%ld", pushes);
				snprintf(r_s, sizeof r_s, "%d", creps);
				snprintf(t_s, sizeof t_s, "%d", th);
				snprintf(cas, sizeof cas, "w%ld-%ldB-%dt",
					 window, g_msg, th);
				for (impl = 0; impl <= BENCH_IMPL_MALLOC; impl++)
					if (bench_impl_selected(&o, impl)) {
						printf("# [msgbuf %s] %s ...\n",
						       cas,
						       bench_impl_name(impl));
						bench_spawn(&o, impl, extra, cas);
					}
				run_peers(&o, cas, window, pushes, creps, th);
			}
		}
		return bench_finish(&o, "msgbuf: push latency observed by the mutator (lower is better; malloc = the no-GC floor; mmu higher is better)");
	}

	for (impl = 0; impl < BENCH_IMPL_COUNT; impl++)
		if (bench_impl_selected(&o, impl))
			break;
	if (impl > BENCH_IMPL_MALLOC || !bench_impl_available(impl)) {
		fprintf(stderr, "msgbuf: impl %s not supported here\n",
			bench_impl_name(impl));
		return 1;
	}
	nthreads = o.threads[0];
	snprintf(cas, sizeof cas, "w%ld-%ldB-%dt", g_window, g_msg, nthreads);
	impl_csv = bench_impl_csv(impl);
	bench_heap_init(impl, o.tri_options);
	if (impl == BENCH_IMPL_BDWGC)
		bench_bdwgc_record_pauses();
	if (impl == BENCH_IMPL_TRICOLOR)
		tpc0 = bench_metric("/gc/pauses/count:pauses");
	lat = malloc((size_t)g_pushes * sizeof *lat);
	starts = malloc((size_t)g_pushes * sizeof *starts);
	res = calloc((size_t)reps, sizeof *res);
	v = calloc((size_t)reps, sizeof *v);
	if (!lat || !starts || !res || !v) {
		perror("malloc");
		return 1;
	}
	if (g_explain) {
		g_inv = calloc((size_t)g_pushes, 1);
		g_vol = calloc((size_t)g_pushes, 1);
		if (!g_inv || !g_vol) {
			perror("calloc");
			return 1;
		}
	}
	/* fault them in before timing */
	memset(lat, 0, (size_t)g_pushes * sizeof *lat);
	memset(starts, 0, (size_t)g_pushes * sizeof *starts);
	gc0 = bench_gc_cycles();
	for (r = 0; r < reps; r++) {
		bench_collect(); /* start each rep from a collected heap */
		run_rep(&res[r], lat, starts, nthreads);
		printf("# %-8s %dt rep %d: push max %.1f us, p99.99 %.1f us, p99.9 %.2f us, p99 %.2f us, p50 %.3f us; %.0f pushes > 100 us, %.0f > 1 ms; run %.1f ms wall, %.1f ms CPU\n",
		       impl_csv, nthreads, r + 1, res[r].max_us,
		       res[r].p9999_us, res[r].p999_us, res[r].p99_us,
		       res[r].p50_us, res[r].over100us, res[r].over1ms,
		       res[r].run_ms, res[r].cpu_ms);
		if (res[r].rec_max_us >= 0)
			printf("# %-8s %dt rep %d: recorded vs observed: longest recorded pause %.1f us, longest observed push %.1f us; %.0f of %.0f pushes > 100 us overlap a recorded pause\n",
			       impl_csv, nthreads, r + 1, res[r].rec_max_us,
			       res[r].max_us, res[r].slow_explained,
			       res[r].over100us);
		if (res[r].slow_os >= 0)
			printf("# %-8s %dt rep %d: the %.0f pushes > 100 us: %.0f overlap a recorded pause; of the rest, %.0f had an involuntary context switch (the OS ran another thread), %.0f only voluntary ones (an unrecorded wait), %.0f neither (unexplained)\n",
			       impl_csv, nthreads, r + 1, res[r].over100us,
			       res[r].slow_explained < 0 ? 0 : res[r].slow_explained,
			       res[r].slow_os, res[r].slow_blocked,
			       res[r].slow_unexplained);
		if (res[r].have_ps) {
			char label[64];

			snprintf(label, sizeof label, "# %-8s rep %d pauses",
				 impl_csv, r + 1);
			bench_pause_print(stdout, label, &res[r].ps);
			/* the two distributions side by side */
			printf("# %-8s %dt rep %d: observed push p99 %.1f us, p99.9 %.1f us, p99.99 %.1f us, max %.1f us | recorded pause p99 %.1f us, p99.9 %.1f us, max %.1f us (%.0f pauses)\n",
			       impl_csv, nthreads, r + 1, res[r].p99_us,
			       res[r].p999_us, res[r].p9999_us, res[r].max_us,
			       res[r].ps.p99_ns / 1e3, res[r].ps.p999_ns / 1e3,
			       res[r].ps.max_ns / 1e3, (double)res[r].ps.count);
		}
		fflush(stdout);
	}
	gc1 = bench_gc_cycles();
	if (impl == BENCH_IMPL_TRICOLOR) {
		tri_pause *p;
		size_t n = bench_tri_pauses(&p);
		uint64_t tpc1 = bench_metric("/gc/pauses/count:pauses");

		free(p);
		if (tpc1 - tpc0 > n)
			printf("# note: tri_pauses() returned %zu pauses but /gc/pauses/count grew by %llu: the pause ring dropped some, distribution/MMU/explained cover the kept ones\n",
			       n, (unsigned long long)(tpc1 - tpc0));
		printf("# tricolor: /gc/pauses/max %.1f us, /gc/assists/total %.3f ms, /gc/heap/goal %.1f MiB\n",
		       (double)bench_metric("/gc/pauses/max:nanoseconds") / 1e3,
		       (double)bench_metric("/gc/assists/total:nanoseconds") / 1e6,
		       (double)bench_metric("/gc/heap/goal:bytes") / 1048576.0);
	}
	EMIT_FIELD("push_max", "us", res[r].max_us);
	EMIT_FIELD("push_p99.99", "us", res[r].p9999_us);
	EMIT_FIELD("push_p99.9", "us", res[r].p999_us);
	EMIT_FIELD("push_p99", "us", res[r].p99_us);
	EMIT_FIELD("push_p50", "us", res[r].p50_us);
	EMIT_FIELD("push_mean", "ns", res[r].mean_ns);
	EMIT_FIELD("pushes_over_100us", "pushes", res[r].over100us);
	EMIT_FIELD("pushes_over_1ms", "pushes", res[r].over1ms);
	EMIT_FIELD("run_time", "ms", res[r].run_ms);
	EMIT_FIELD("cpu", "ms", res[r].cpu_ms);
	if (g_explain) {
		EMIT_FIELD("slow_os_preempted", "pushes", res[r].slow_os);
		EMIT_FIELD("slow_unrecorded_wait", "pushes", res[r].slow_blocked);
		EMIT_FIELD("slow_unexplained", "pushes", res[r].slow_unexplained);
	}
	if (impl != BENCH_IMPL_MALLOC) {
		EMIT_FIELD("recorded_pause_max", "us", res[r].rec_max_us);
		EMIT_FIELD("slow_explained", "pushes", res[r].slow_explained);
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
	free(starts);
	free(res);
	free(v);
	return bench_finish(&o, "msgbuf (single impl)");
}
