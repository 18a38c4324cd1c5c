/* SPDX-License-Identifier: MIT */
/*
 * finalizers.c - finalizer throughput and latency: tricolor vs bdwgc.
 *
 * One measurement: allocate --count objects of 32 bytes, give each a
 * finalizer, keep them all reachable from one array, then drop them all
 * (recording, per object, the time it was dropped), run one full collection
 * and wait until every finalizer has run. Reported:
 *   finalizers/s and ns per finalizer over [start of the collection, last
 *   finalizer done]; queued-to-run latency (dropped -> handler ran) p50/p99;
 *   the time the explicit collection took; the collector pauses seen while
 *   the finalizers were queued and run.
 *   the cost of allocation + registration per object (set_finalizer: the
 *   loop that allocates each object and gives it its finalizer, ns per
 *   object) and the end-to-end rate (end_to_end_per_s: objects / time from
 *   the first allocation to the last finalizer done).
 * Handlers: noop, cpu10us (burns 10 us of CPU), block100us (sleeps 100 us).
 *
 * tricolor: tri_set_finalizer + tri_collect + tri_drain; finalizers run on
 * the library's finalizer thread. bdwgc: GC_register_finalizer (ordered,
 * like Go) + GC_gcollect; GC_finalize_on_demand with a dedicated finalizer
 * thread woken by the finalizer notifier, calling GC_invoke_finalizers.
 *
 * Each (handler, implementation, repetition) runs in a fresh child process
 * (the program re-executes itself with --impl X).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


#define BENCH "finalizers"

enum { H_NOOP, H_CPU, H_BLOCK, H_COUNT };
static const char *const handler_names[H_COUNT] = { "noop", "cpu10us",
						    "block100us" };

struct fobj {
	uint64_t id;
	uint64_t t_drop;
	uint64_t pad[2];
};

/* Shared by both implementations (each child runs one). */
static int g_handler;
static uint64_t *g_lat;	/* per object: dropped -> finalizer ran, ns */
static _Atomic uint64_t g_done;
static _Atomic uint64_t g_last_done;

static void handler_body(struct fobj *o, int blocking_bracket)
{
	if (g_handler == H_CPU) {
		bench_burn_ns(10000);
	} else if (g_handler == H_BLOCK) {
		if (blocking_bracket)
			tri_blocking_enter();
		bench_sleep_ns(100000);
		if (blocking_bracket)
			tri_blocking_leave();
	}
	uint64_t t = bench_now_ns();
	g_lat[o->id] = t - o->t_drop;
	atomic_store_explicit(&g_last_done, t, memory_order_relaxed);
	atomic_fetch_add_explicit(&g_done, 1, memory_order_release);
}

/* ------------------------------------------------------------------ */
/* tricolor                                                            */
/* ------------------------------------------------------------------ */

static void tri_fin(void *obj)
{
	handler_body(obj, g_handler == H_BLOCK && tri_thread_is_attached());
}

static void emit_common(uint64_t count, uint64_t t_reg0, uint64_t t_reg1,
			uint64_t t_collect0, uint64_t t_collect1,
			uint64_t unfinalized)
{
	uint64_t done = atomic_load(&g_done);
	uint64_t last = atomic_load(&g_last_done);
	printf("R set_fin_ns %.6g\n",
	       count ? (double)(t_reg1 - t_reg0) / (double)count : 0.0);
	printf("R e2e_per_s %.6g\n",
	       last > t_reg0 ? (double)done * 1e9 / (double)(last - t_reg0)
			     : 0.0);
	uint64_t window = last > t_collect0 ? last - t_collect0 : 1;
	printf("R done %llu\n", (unsigned long long)done);
	printf("R unfinalized %llu\n", (unsigned long long)unfinalized);
	printf("R window_ns %llu\n", (unsigned long long)window);
	printf("R fin_per_s %.6g\n", (double)done * 1e9 / (double)window);
	printf("R ns_per_fin %.6g\n",
	       done ? (double)window / (double)done : 0.0);
	printf("R collect_ns %llu\n",
	       (unsigned long long)(t_collect1 - t_collect0));
	/* Latencies of the objects whose finalizer ran. */
	uint64_t *v = malloc(sizeof(uint64_t) * (count ? count : 1));
	size_t n = 0;
	for (uint64_t i = 0; i < count; i++)
		if (g_lat[i])
			v[n++] = g_lat[i];
	printf("R lat_p50_ns %llu\n",
	       (unsigned long long)bench_quantile_u64(v, n, 0.50));
	printf("R lat_p99_ns %llu\n",
	       (unsigned long long)bench_quantile_u64(v, n, 0.99));
	printf("R lat_max_ns %llu\n",
	       (unsigned long long)(n ? v[n - 1] : 0));
	free(v);
	printf("R peak_rss_bytes %ld\n", bench_peak_rss_bytes());
}

static int run_tricolor(uint64_t count)
{
	int rc = tri_init(NULL);
	if (rc != 0) {
		fprintf(stderr, BENCH ": tri_init failed: %d\n", rc);
		return 1;
	}
	struct fobj **objs = tri_alloc(count * sizeof(void *));
	if (!objs) {
		fprintf(stderr, BENCH ": cannot allocate the root array\n");
		return 1;
	}
	uint64_t t_reg0 = bench_now_ns();
	for (uint64_t i = 0; i < count; i++) {
		struct fobj *o = tri_alloc(sizeof *o);
		o->id = i;
		tri_set_finalizer(o, tri_fin);
		TRI_STORE(objs[i], o);
	}
	uint64_t t_reg1 = bench_now_ns();
	uint64_t cycles0 = 0, cycles1 = 0, pmax_metric = 0;
	tri_read_metric("/gc/cycles/total:gc-cycles", &cycles0);

	uint64_t t_drop0 = bench_now_ns();
	for (uint64_t i = 0; i < count; i++) {
		objs[i]->t_drop = bench_now_ns();
		TRI_STORE(objs[i], NULL);
	}
	uint64_t t_c0 = bench_now_ns();
	tri_collect();
	uint64_t t_c1 = bench_now_ns();
	tri_drain(-1);
	/* Conservative stack scanning may keep a few objects one more cycle. */
	for (int extra = 0; extra < 5 && atomic_load(&g_done) < count;
	     extra++) {
		tri_collect();
		tri_drain(-1);
	}
	uint64_t t_end = bench_now_ns();
	tri_read_metric("/gc/cycles/total:gc-cycles", &cycles1);
	tri_read_metric("/gc/pauses/max:nanoseconds", &pmax_metric);

	/* Pauses recorded while the finalizers were dropped, queued and run. */
	size_t cap = 1 << 16;
	tri_pause *ps = malloc(cap * sizeof *ps);
	size_t np = tri_pauses(ps, cap);
	uint64_t pmax = 0, ptotal = 0, pcount = 0;
	for (size_t i = 0; i < np; i++) {
		if (ps[i].start_ns < t_drop0 || ps[i].start_ns > t_end)
			continue;
		pcount++;
		ptotal += ps[i].length_ns;
		if (ps[i].length_ns > pmax)
			pmax = ps[i].length_ns;
	}
	free(ps);
	emit_common(count, t_reg0, t_reg1, t_c0, t_c1,
		    count - atomic_load(&g_done));
	printf("R pause_max_ns %llu\n", (unsigned long long)pmax);
	printf("R pause_total_ns %llu\n", (unsigned long long)ptotal);
	printf("R pauses %llu\n", (unsigned long long)pcount);
	printf("R pause_max_process_ns %llu\n",
	       (unsigned long long)pmax_metric);
	printf("R gc_cycles %llu\n", (unsigned long long)(cycles1 - cycles0));
	tri_keep_alive(objs);
	return 0;
}

/* ------------------------------------------------------------------ */
/* bdwgc                                                               */
/* ------------------------------------------------------------------ */
#ifdef HAVE_BDWGC

static sem_t g_fin_sem;
static atomic_int g_fin_stop;
static uint64_t g_stop_t0;
static _Atomic uint64_t g_win0 = UINT64_MAX, g_win1 = UINT64_MAX;
static uint64_t g_pmax, g_ptotal, g_pcount;

static void GC_CALLBACK gc_event(GC_EventType ev)
{
	/* Called with the allocation lock held: plain variables are fine. */
	if (ev == GC_EVENT_PRE_STOP_WORLD) {
		g_stop_t0 = bench_now_ns();
	} else if (ev == GC_EVENT_POST_START_WORLD && g_stop_t0) {
		uint64_t len = bench_now_ns() - g_stop_t0;
		if (g_stop_t0 >= atomic_load(&g_win0) &&
		    g_stop_t0 <= atomic_load(&g_win1)) {
			g_pcount++;
			g_ptotal += len;
			if (len > g_pmax)
				g_pmax = len;
		}
		g_stop_t0 = 0;
	}
}

static void GC_CALLBACK gc_notify(void)
{
	sem_post(&g_fin_sem);
}

static void GC_CALLBACK gc_fin(void *obj, void *cd)
{
	(void)cd;
	handler_body(obj, 0);
}

static void *gc_fin_thread(void *arg)
{
	struct GC_stack_base sb;
	(void)arg;
	GC_get_stack_base(&sb);
	GC_register_my_thread(&sb);
	while (!atomic_load(&g_fin_stop)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 5000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		(void)sem_timedwait(&g_fin_sem, &ts);
		while (GC_should_invoke_finalizers())
			GC_invoke_finalizers();
	}
	GC_unregister_my_thread();
	return NULL;
}

static int run_bdwgc(uint64_t count)
{
	sem_init(&g_fin_sem, 0, 0);
	GC_set_finalize_on_demand(1);
	GC_set_finalizer_notifier(gc_notify);
	GC_set_on_collection_event(gc_event);
	GC_INIT();
	GC_allow_register_threads();
	pthread_t th;
	pthread_create(&th, NULL, gc_fin_thread, NULL);

	struct fobj **objs = GC_MALLOC(count * sizeof(void *));
	if (!objs) {
		fprintf(stderr, BENCH ": cannot allocate the root array\n");
		return 1;
	}
	uint64_t t_reg0 = bench_now_ns();
	for (uint64_t i = 0; i < count; i++) {
		struct fobj *o = GC_MALLOC(sizeof *o);
		o->id = i;
		GC_register_finalizer(o, gc_fin, NULL, NULL, NULL);
		objs[i] = o;
	}
	uint64_t t_reg1 = bench_now_ns();
	GC_word cycles0 = GC_get_gc_no();
	uint64_t t_drop0 = bench_now_ns();
	atomic_store(&g_win0, t_drop0);
	for (uint64_t i = 0; i < count; i++) {
		objs[i]->t_drop = bench_now_ns();
		objs[i] = NULL;
	}
	uint64_t t_c0 = bench_now_ns();
	GC_gcollect();
	uint64_t t_c1 = bench_now_ns();
	/* Wait for the finalizer thread; collect again if it stops making
	 * progress (objects kept by stale stack slots, as for tricolor). */
	int extra = 0;
	uint64_t last = 0, t_last_progress = bench_now_ns();
	while (atomic_load(&g_done) < count) {
		uint64_t d = atomic_load(&g_done);
		if (d != last) {
			last = d;
			t_last_progress = bench_now_ns();
		} else if (bench_now_ns() - t_last_progress > 200000000u) {
			if (extra++ >= 5)
				break;
			GC_gcollect();
			t_last_progress = bench_now_ns();
		}
		bench_sleep_ns(200000);
	}
	atomic_store(&g_win1, bench_now_ns());
	GC_word cycles1 = GC_get_gc_no();
	emit_common(count, t_reg0, t_reg1, t_c0, t_c1,
		    count - atomic_load(&g_done));
	printf("R pause_max_ns %llu\n", (unsigned long long)g_pmax);
	printf("R pause_total_ns %llu\n", (unsigned long long)g_ptotal);
	printf("R pauses %llu\n", (unsigned long long)g_pcount);
	printf("R gc_cycles %llu\n", (unsigned long long)(cycles1 - cycles0));
	atomic_store(&g_fin_stop, 1);
	sem_post(&g_fin_sem);
	pthread_join(th, NULL);
	return 0;
}
#endif /* HAVE_BDWGC */

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

/*
 * Run the Go peer for one handler; its rows (same metric names) are read
 * from a temporary CSV, copied to csv and returned in med[] (by metric
 * index). Returns 0 on success or the child's status.
 */
struct metric {
	const char *key, *name, *unit;
};
static const struct metric metrics[] = {
	{ "fin_per_s", "finalizers_per_s", "1/s" },
	{ "ns_per_fin", "ns_per_finalizer", "ns" },
	{ "lat_p50_ns", "latency_p50", "ns" },
	{ "lat_p99_ns", "latency_p99", "ns" },
	{ "collect_ns", "collect_time", "ns" },
	{ "pause_max_ns", "pause_max", "ns" },
	{ "pause_total_ns", "pause_total", "ns" },
	{ "unfinalized", "unfinalized", "objects" },
	{ "peak_rss_bytes", "peak_rss", "bytes" },
	{ "pauses", "pause_count", "pauses" },
	{ "pause_max_process_ns", "pause_max_process", "ns" },
	{ "set_fin_ns", "set_finalizer", "ns" },
	{ "e2e_per_s", "end_to_end_per_s", "1/s" },
};
#define NMETRICS (sizeof metrics / sizeof metrics[0])

static int run_go_peer(const char *go, const char *handler, long long n,
		       int reps, int quick, double timeout, const char *csv,
		       double med[NMETRICS], int have[NMETRICS])
{
	char tmp[] = "/tmp/finalizers-go-XXXXXX";
	int fd = mkstemp(tmp);
	if (fd < 0)
		return -1;
	close(fd);
	char nbuf[32], rbuf[16], tbuf[32];
	snprintf(nbuf, sizeof nbuf, "%lld", n);
	snprintf(rbuf, sizeof rbuf, "%d", reps);
	snprintf(tbuf, sizeof tbuf, "%d", (int)timeout);
	char *args[] = { (char *)go, "-handlers", (char *)handler, "-count",
			 nbuf, "-block-count", nbuf, "-reps", rbuf,
			 "-timeout", tbuf, "-csv", tmp,
			 quick ? "-quick" : NULL, NULL };
	char *out;
	int st = bench_run_capture(args, timeout * reps + 30, &out);
	free(out);
	FILE *f = fopen(tmp, "r");
	char line[512];
	while (f && fgets(line, sizeof line, f)) {
		char b[64], c[64], im[32], m[64], u[32];
		double md, mn, mx;
		int r;
		if (sscanf(line,
			   "%63[^,],%63[^,],%31[^,],%63[^,],%31[^,],%lf,%lf,"
			   "%lf,%d",
			   b, c, im, m, u, &md, &mn, &mx, &r) != 9 ||
		    strcmp(b, BENCH) != 0)
			continue;
		bench_csv_append(csv, b, c,
				 im, m, u,
				 (bench_stats){ md, mn, mx, r });
		for (size_t k = 0; k < NMETRICS; k++)
			if (!strcmp(m, metrics[k].name)) {
				med[k] = md;
				have[k] = 1;
			}
	}
	if (f)
		fclose(f);
	unlink(tmp);
	return st;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: finalizers [--quick] [--count N] [--block-count N]\n"
		"         [--handlers noop,cpu10us,block100us] "
		"[--impls tricolor,bdwgc,go]\n"
		"         [--reps R] [--timeout S] [--csv FILE]\n"
		"  --count N        objects for noop and cpu10us "
		"(default 1000000, quick 100000)\n"
		"  --block-count N  objects for block100us "
		"(default 20000, quick 2000)\n"
		"  --reps R         repetitions, each in a fresh process "
		"(default 3, quick 1)\n"
		"  --timeout S      per child process (default 600)\n"
		"  go: the Go peer $PERF_GO_DIR/go-finalizers (or "
		"peers/go/go-finalizers next to\n"
		"      this program), built by perf/peers/go/build.sh; "
		"skipped when absent\n"
		"internal: --impl tricolor|bdwgc --handler H --count N\n");
}

static int handler_index(const char *s)
{
	for (int i = 0; i < H_COUNT; i++)
		if (strcmp(s, handler_names[i]) == 0)
			return i;
	return -1;
}

static int has_item(const char *list, const char *item)
{
	size_t n = strlen(item);
	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && strncmp(p, item, n) == 0)
			return 1;
		p = e ? e + 1 : NULL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int quick = 0, reps = -1;
	long long count = -1, block_count = -1;
	const char *impl = NULL, *handler = NULL, *csv = NULL;
	const char *handlers = "noop,cpu10us,block100us";
	const char *impls = "tricolor,bdwgc,go";
	double timeout = 600;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quick"))
			quick = 1;
		else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (v && !strcmp(a, "--count"))
			count = atoll(v), i++;
		else if (v && !strcmp(a, "--block-count"))
			block_count = atoll(v), i++;
		else if (v && !strcmp(a, "--reps"))
			reps = atoi(v), i++;
		else if (v && !strcmp(a, "--timeout"))
			timeout = atof(v), i++;
		else if (v && !strcmp(a, "--csv"))
			csv = v, i++;
		else if (v && !strcmp(a, "--impl"))
			impl = v, i++;
		else if (v && !strcmp(a, "--impls"))
			impls = v, i++;
		else if (v && !strcmp(a, "--handler"))
			handler = v, i++;
		else if (v && !strcmp(a, "--handlers"))
			handlers = v, i++;
		else {
			fprintf(stderr, BENCH ": unknown argument %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (count <= 0)
		count = quick ? 100000 : 1000000;
	if (block_count <= 0)
		block_count = quick ? 2000 : 20000;
	if (reps <= 0)
		reps = quick ? 1 : 3;

	bench_precise_timers();

	/* Child: one measurement. */
	if (impl) {
		g_handler = handler ? handler_index(handler) : H_NOOP;
		if (g_handler < 0) {
			fprintf(stderr, BENCH ": unknown handler %s\n", handler);
			return 2;
		}
		g_lat = calloc((size_t)count, sizeof *g_lat);
		if (!strcmp(impl, "tricolor"))
			return run_tricolor((uint64_t)count);
#ifdef HAVE_BDWGC
		if (!strcmp(impl, "bdwgc"))
			return run_bdwgc((uint64_t)count);
#endif
		fprintf(stderr, BENCH ": implementation %s not built in\n",
			impl);
		return 3;
	}

	/* Parent: every handler x implementation x repetition. */
	const char *impl_list[2];
	int nimpl = 0;
	if (has_item(impls, "tricolor"))
		impl_list[nimpl++] = "tricolor";
#ifdef HAVE_BDWGC
	if (has_item(impls, "bdwgc"))
		impl_list[nimpl++] = "bdwgc";
#else
	if (has_item(impls, "bdwgc"))
		printf("note: built without bdwgc, skipping it\n");
#endif
	printf("finalizers: %lld objects (block100us: %lld), handlers %s, "
	       "%d rep(s), each in a fresh process\n",
	       count, block_count, handlers, reps);

	const char *exe = bench_self_exe(argv[0]);
	const char *go = has_item(impls, "go") ? bench_go_peer(argv[0], "finalizers") : NULL;
	if (!go && has_item(impls, "go"))
		go = bench_go_peer(exe, "finalizers");
	if (has_item(impls, "go"))
		printf("go peer: %s\n",
		       go ? go : "not found (set PERF_GO_DIR), skipped");
	printf("fin/s and ns/fin: from the collection to the last finalizer; e2e/s: objects / (first\n"
	       "allocation to last finalizer); set ns: allocation + registration per object\n");
	printf("%-18s %-9s %12s %10s %10s %10s %10s %10s %7s %10s %7s\n",
	       "case", "impl", "fin/s", "ns/fin", "lat p50", "lat p99",
	       "collect", "pause max", "left", "e2e/s", "set ns");
	int tricolor_failed = 0;
	for (int h = 0; h < H_COUNT; h++) {
		if (!has_item(handlers, handler_names[h]))
			continue;
		long long n = h == H_BLOCK ? block_count : count;
		char cas[64], nbuf[32];
		snprintf(cas, sizeof cas, "%s-%lld", handler_names[h], n);
		snprintf(nbuf, sizeof nbuf, "%lld", n);
		double ns_per[2] = { 0, 0 }, e2e[2] = { 0, 0 },
		       setns[2] = { 0, 0 };
		for (int k = 0; k < nimpl; k++) {
			double vals[NMETRICS][64];
			int have[NMETRICS] = { 0 };
			int ok = 0, last_status = 0;
			for (int r = 0; r < reps && r < 64; r++) {
				char *args[] = { (char *)exe,   "--impl",
						 (char *)impl_list[k], "--handler",
						 (char *)handler_names[h],
						 "--count",     nbuf,
						 NULL };
				char *out;
				int st = bench_run_capture(args, timeout, &out);
				if (st != 0) {
					last_status = st;
					fprintf(stderr,
						BENCH ": %s %s rep %d: %s\n",
						impl_list[k], cas, r + 1,
						bench_status_text(st));
					free(out);
					continue;
				}
				for (size_t m = 0; m < NMETRICS; m++) {
					double x = 0;
					have[m] = bench_child_result(out, metrics[m].key,
							    &x);
					vals[m][ok] = x;
				}
				ok++;
				free(out);
			}
			if (ok == 0) {
				printf("%-18s %-9s FAILED: %s\n", cas,
				       impl_list[k], bench_status_text(last_status));
				bench_csv_append(csv, BENCH, cas,
						 impl_list[k], "failed", "status",
						 bench_stats_n(last_status, reps));
				if (!strcmp(impl_list[k], "tricolor"))
					tricolor_failed = 1;
				continue;
			}
			double med[NMETRICS];
			for (size_t m = 0; m < NMETRICS; m++) {
				double md, mn, mx;
				bench_summary(vals[m], ok, &md, &mn, &mx);
				med[m] = md;
				if (!have[m])
					continue;
				bench_csv_append(csv, BENCH, cas,
						 impl_list[k], metrics[m].name, metrics[m].unit,
						 (bench_stats){ md, mn, mx, ok });
			}
			ns_per[k] = med[1];
			e2e[k] = med[12];
			setns[k] = med[11];
			printf("%-18s %-9s %12.0f %10.0f %8.2fms %8.2fms "
			       "%8.2fms %8.1fus %7.0f %10.0f %7.0f\n",
			       cas, impl_list[k], med[0], med[1], med[2] / 1e6,
			       med[3] / 1e6, med[4] / 1e6, med[5] / 1e3,
			       med[7], med[12], med[11]);
			fflush(stdout);
		}
		double go_ns = 0, go_e2e = 0, go_set = 0;
		if (go) {
			double med[NMETRICS] = { 0 };
			int have[NMETRICS] = { 0 };
			int st = run_go_peer(go, handler_names[h], n, reps, quick,
					     timeout, csv, med, have);
			if (!have[0]) {
				printf("%-18s %-9s FAILED: %s\n", cas, "go",
				       bench_status_text(st));
				bench_csv_append(csv, BENCH, cas,
						 "go", "failed", "status",
						 bench_stats_n(st, reps));
			} else {
				go_ns = med[1];
				go_e2e = med[12];
				go_set = med[11];
				printf("%-18s %-9s %12.0f %10.0f %8.2fms %8.2fms "
				       "%8.2fms %10s %7.0f %10.0f %7.0f\n",
				       cas, "go", med[0], med[1], med[2] / 1e6,
				       med[3] / 1e6, med[4] / 1e6, "-", med[7],
				       med[12], med[11]);
			}
		}
		if (nimpl == 2 && ns_per[0] > 0 && ns_per[1] > 0)
			printf("%-18s ratio ns/finalizer tricolor/bdwgc = %.2f "
			       "(goal <= 1)\n",
			       cas, ns_per[0] / ns_per[1]);
		if (ns_per[0] > 0 && go_ns > 0)
			printf("%-18s ratio ns/finalizer tricolor/go = %.2f\n",
			       cas, ns_per[0] / go_ns);
		if (nimpl == 2 && e2e[0] > 0 && e2e[1] > 0)
			printf("%-18s end to end: tricolor/bdwgc = %.2f (goal >= 1); set ns: tricolor %.0f, bdwgc %.0f (goal <= 150)\n",
			       cas, e2e[0] / e2e[1], setns[0], setns[1]);
		if (e2e[0] > 0 && go_e2e > 0)
			printf("%-18s end to end: tricolor/go = %.2f (goal >= 1); set ns: go %.0f\n",
			       cas, e2e[0] / go_e2e, go_set);
	}
	return tricolor_failed ? 1 : 0;
}
