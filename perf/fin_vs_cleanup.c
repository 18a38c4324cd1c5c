/* SPDX-License-Identifier: MIT */
/*
 * fin_vs_cleanup.c - releasing real resources from the garbage collector:
 * tricolor finalizers vs tricolor cleanups (worker pool) vs bdwgc
 * finalizers.
 *
 * --threads T threads each allocate objects that own a resource (a pipe:
 * two file descriptors, or a malloc'd 4 KiB buffer that is written to),
 * keep the last --live of them reachable and drop the older ones; every
 * object also comes with --garbage bytes of short-lived garbage, so the
 * collector runs on its own (gc_percent pacing) while the threads work.
 * The resource is released by
 *   finalizer  tri_set_finalizer(obj, fn): fn(obj) closes/frees it; all
 *              finalizers run one at a time on the finalizer thread;
 *   cleanupN   tri_add_cleanup(obj, fn, rec) with rec a small
 *              tri_alloc_atomic record holding the descriptors/buffer (it
 *              does not point into obj); tri_init("cleanup_workers=N");
 *   bdwgc      GC_register_finalizer, run by a dedicated finalizer thread
 *              (GC_finalize_on_demand + notifier + GC_invoke_finalizers).
 * On top of the release the handler costs nothing (cost0), burns 10 us of
 * CPU (cpu10us) or sleeps 100 us (block100us, a blocking close/flush).
 * When pipe() fails with EMFILE a thread waits for handlers to catch up and
 * forces a collection after 10 ms of waiting (counted as emfile_waits).
 * At the end the main thread collects and drains until every resource is
 * released.
 *
 * Reported per configuration: handlers (releases) per second from the
 * first allocation to the last release, release latency (object dropped ->
 * resource released) p50/p99, peak handler queue (queued - executed from
 * the metrics, sampled every ms; tricolor only), peak unreleased resources
 * and peak open descriptors (atomic counter + descriptors open at start),
 * peak RSS, collections and the longest pause.
 *
 * Every configuration and repetition runs in a fresh child process.
 *
 * FVC_FD_BUDGET=N (environment): tricolor configurations count each pipe's
 * two descriptors with a tri_resource of soft limit N (tricolor.h), so the
 * collector runs when the descriptors near N, not only on heap growth.
 * Without it every run also includes one counted configuration,
 * "cleanup4+cnt" (4 cleanup workers and a tri_resource of soft limit 1024
 * counting the pipe's two descriptors or the one 4 KiB malloc'd buffer,
 * --fd-budget; --no-counted leaves it out): what a program that owns
 * resources through the collector should do, beside what it gets when it
 * does not (tricolor paces on its heap alone, and these objects are small).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
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


#define BENCH "fin_vs_cleanup"
#define MAX_THREADS 64
#define MAX_LIVE 4096

enum { C_NONE, C_CPU, C_BLOCK, C_COUNT };
static const char *const cost_names[C_COUNT] = { "cost0", "cpu10us",
						 "block100us" };
enum { R_PIPE, R_MALLOC };
enum { M_FINALIZER, M_CLEANUP };
enum { I_TRICOLOR, I_BDWGC };

/* The resource: in the object itself (finalizers) or in the cleanup arg. */
struct res {
	int fd[2];
	void *buf;
	uint64_t id;
	uint64_t t_drop;
};

struct obj {
	struct res r;	/* used by finalizers */
	struct res *rec; /* used by cleanups: the record passed as arg */
	uint64_t payload[3];
};

/* Configuration of this child. */
static int g_impl, g_mech, g_cost, g_resource, g_threads, g_live;
static uint64_t g_total, g_per_thread;
static size_t g_garbage;

/* Accounting. */
static uint64_t *g_lat;
static _Atomic uint64_t g_next_id, g_released, g_last_release;
static _Atomic int64_t g_outstanding, g_peak_outstanding;
static _Atomic uint64_t g_emfile_waits, g_forced_collects;
static _Atomic uint64_t g_peak_queue;
static atomic_int g_sampler_stop;

/* ------------------------------------------------------------------ */
/* Resources                                                           */
/* ------------------------------------------------------------------ */

static void force_collect(void);
static void block_enter(void);
static void block_leave(void);

static tri_resource *g_fd_budget; /* FVC_FD_BUDGET; NULL when unset */

static void note_acquired(void)
{
	int64_t o = atomic_fetch_add(&g_outstanding, 1) + 1;
	int64_t p = atomic_load(&g_peak_outstanding);
	while (o > p &&
	       !atomic_compare_exchange_weak(&g_peak_outstanding, &p, o))
		;
}

static void acquire(struct res *r)
{
	r->id = atomic_fetch_add(&g_next_id, 1);
	if (g_resource == R_MALLOC) {
		r->buf = malloc(4096);
		memset(r->buf, (int)(r->id & 0xff), 4096);
		if (g_fd_budget)
			tri_resource_acquire(g_fd_budget);
		note_acquired();
		return;
	}
	int waited = 0;
	while (pipe2(r->fd, O_CLOEXEC) != 0) {
		if (errno != EMFILE && errno != ENFILE) {
			perror(BENCH ": pipe2");
			exit(4);
		}
		atomic_fetch_add(&g_emfile_waits, 1);
		if (++waited % 10 == 0) {
			atomic_fetch_add(&g_forced_collects, 1);
			force_collect();
		} else {
			block_enter();
			bench_sleep_ns(1000000);
			block_leave();
		}
		if (waited > 30000) {
			fprintf(stderr, BENCH ": out of descriptors for 30 s\n");
			exit(4);
		}
	}
	if (g_fd_budget) {
		tri_resource_acquire(g_fd_budget);
		tri_resource_acquire(g_fd_budget);
	}
	note_acquired();
}

static void release(struct res *r, int attached)
{
	if (g_cost == C_CPU) {
		bench_burn_ns(10000);
	} else if (g_cost == C_BLOCK) {
		if (attached)
			tri_blocking_enter();
		bench_sleep_ns(100000);
		if (attached)
			tri_blocking_leave();
	}
	if (g_resource == R_MALLOC) {
		free(r->buf);
		r->buf = NULL;
		if (g_fd_budget)
			tri_resource_release(g_fd_budget);
	} else {
		close(r->fd[0]);
		close(r->fd[1]);
		if (g_fd_budget) {
			tri_resource_release(g_fd_budget);
			tri_resource_release(g_fd_budget);
		}
	}
	uint64_t t = bench_now_ns();
	atomic_fetch_sub(&g_outstanding, 1);
	if (r->id < g_total)
		g_lat[r->id] = t - r->t_drop + 1;
	uint64_t last = atomic_load(&g_last_release);
	while (t > last &&
	       !atomic_compare_exchange_weak(&g_last_release, &last, t))
		;
	atomic_fetch_add(&g_released, 1);
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", ".." and the directory's own descriptor */
}

/* ------------------------------------------------------------------ */
/* tricolor                                                            */
/* ------------------------------------------------------------------ */

static void tri_finalizer(void *p)
{
	release(&((struct obj *)p)->r, tri_thread_is_attached());
}

static void tri_cleanup_fn(void *arg)
{
	release(arg, tri_thread_is_attached());
}

static struct obj *tri_make(void)
{
	struct obj *o = tri_alloc(sizeof *o);
	if (g_mech == M_FINALIZER) {
		acquire(&o->r);
		tri_set_finalizer(o, tri_finalizer);
	} else {
		struct res *rec = tri_alloc_atomic(sizeof *rec);
		acquire(rec);
		o->rec = rec; /* o is not published yet: plain store */
		tri_add_cleanup(o, tri_cleanup_fn, rec);
	}
	return o;
}

/* ------------------------------------------------------------------ */
/* bdwgc                                                               */
/* ------------------------------------------------------------------ */
#ifdef HAVE_BDWGC
static sem_t g_fin_sem;
static atomic_int g_fin_stop;
static uint64_t g_stop_t0, g_gc_pmax;

static void GC_CALLBACK gc_event(GC_EventType ev)
{
	if (ev == GC_EVENT_PRE_STOP_WORLD) {
		g_stop_t0 = bench_now_ns();
	} else if (ev == GC_EVENT_POST_START_WORLD && g_stop_t0) {
		uint64_t len = bench_now_ns() - g_stop_t0;
		if (len > g_gc_pmax)
			g_gc_pmax = len;
		g_stop_t0 = 0;
	}
}

static void GC_CALLBACK gc_notify(void)
{
	sem_post(&g_fin_sem);
}

static void GC_CALLBACK gc_finalizer(void *p, void *cd)
{
	(void)cd;
	release(&((struct obj *)p)->r, 0);
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

static struct obj *gc_make(void)
{
	struct obj *o = GC_MALLOC(sizeof *o);
	acquire(&o->r);
	GC_register_finalizer(o, gc_finalizer, NULL, NULL, NULL);
	return o;
}
#endif

static void force_collect(void)
{
	if (g_impl == I_TRICOLOR)
		tri_collect();
#ifdef HAVE_BDWGC
	else
		GC_gcollect();
#endif
}

static void block_enter(void)
{
	if (g_impl == I_TRICOLOR)
		tri_blocking_enter();
}

static void block_leave(void)
{
	if (g_impl == I_TRICOLOR)
		tri_blocking_leave();
}

/* ------------------------------------------------------------------ */
/* Producer threads and the sampler                                    */
/* ------------------------------------------------------------------ */

static void *garbage(void)
{
	if (!g_garbage)
		return NULL;
	if (g_impl == I_TRICOLOR)
		return tri_alloc_atomic(g_garbage);
#ifdef HAVE_BDWGC
	return GC_MALLOC_ATOMIC(g_garbage);
#else
	return NULL;
#endif
}

static void __attribute__((noinline)) produce(void)
{
	struct obj *ring[MAX_LIVE];
	memset(ring, 0, sizeof ring);
	for (uint64_t i = 0; i < g_per_thread; i++) {
		struct obj *o;
#ifdef HAVE_BDWGC
		o = g_impl == I_TRICOLOR ? tri_make() : gc_make();
#else
		o = tri_make();
#endif
		void *g = garbage();
		if (g)
			((volatile char *)g)[0] = 1;
		size_t slot = i % (size_t)g_live;
		struct obj *old = ring[slot];
		if (old) {
			struct res *r = g_mech == M_CLEANUP ? old->rec : &old->r;
			r->t_drop = bench_now_ns();
		}
		ring[slot] = o;
	}
	for (int s = 0; s < g_live; s++) {
		struct obj *old = ring[s];
		if (!old)
			continue;
		struct res *r = g_mech == M_CLEANUP ? old->rec : &old->r;
		r->t_drop = bench_now_ns();
		ring[s] = NULL;
	}
	__asm__ __volatile__("" : : "r"(ring) : "memory");
}

static void *producer(void *arg)
{
	(void)arg;
	if (g_impl == I_TRICOLOR) {
		tri_thread_attach();
		produce();
		tri_thread_detach();
	}
#ifdef HAVE_BDWGC
	else {
		struct GC_stack_base sb;
		GC_get_stack_base(&sb);
		GC_register_my_thread(&sb);
		produce();
		GC_unregister_my_thread();
	}
#endif
	return NULL;
}

/* Not attached to either collector: reads metrics only. */
static void *sampler(void *arg)
{
	(void)arg;
	const char *q = g_mech == M_CLEANUP ? "/gc/cleanups/queued:cleanups"
					    : "/gc/finalizers/queued:finalizers";
	const char *x = g_mech == M_CLEANUP
				? "/gc/cleanups/executed:cleanups"
				: "/gc/finalizers/executed:finalizers";
	while (!atomic_load(&g_sampler_stop)) {
		if (g_impl == I_TRICOLOR) {
			uint64_t a = 0, b = 0;
			if (tri_read_metric(q, &a) == 0 &&
			    tri_read_metric(x, &b) == 0 && a > b &&
			    a - b > atomic_load(&g_peak_queue))
				atomic_store(&g_peak_queue, a - b);
		}
		bench_sleep_ns(1000000);
	}
	return NULL;
}

static long g_fd_budget_arg; /* --fd-budget N (child): as FVC_FD_BUDGET */

static int run_child(int pool)
{
	char opts[64];
	int base_fds = count_open_fds();
	uint64_t cyc0 = 0;
	if (g_impl == I_TRICOLOR) {
		snprintf(opts, sizeof opts, "cleanup_workers=%d", pool);
		int rc = tri_init(g_mech == M_CLEANUP ? opts : NULL);
		if (rc != 0) {
			fprintf(stderr, BENCH ": tri_init(%s) failed: %d\n", opts,
				rc);
			return 1;
		}
		tri_read_metric("/gc/cycles/total:gc-cycles", &cyc0);
		const char *budget = getenv("FVC_FD_BUDGET");
		long nb = g_fd_budget_arg > 0 ? g_fd_budget_arg : budget ? atol(budget) : 0;
		if (nb > 0)
			g_fd_budget = tri_resource_new(g_resource == R_PIPE ? "pipe descriptors" : "4 KiB malloc buffers",
						       (uint64_t)nb);
	}
#ifdef HAVE_BDWGC
	else {
		sem_init(&g_fin_sem, 0, 0);
		GC_set_finalize_on_demand(1);
		GC_set_finalizer_notifier(gc_notify);
		GC_set_on_collection_event(gc_event);
		GC_INIT();
		GC_allow_register_threads();
		cyc0 = GC_get_gc_no();
	}
	pthread_t fin_th;
	if (g_impl == I_BDWGC)
		pthread_create(&fin_th, NULL, gc_fin_thread, NULL);
#endif
	/* Descriptors of the runtime's own threads, counted after start. */
	int fds_after_init = count_open_fds();
	if (fds_after_init > base_fds)
		base_fds = fds_after_init;

	pthread_t samp, th[MAX_THREADS];
	pthread_create(&samp, NULL, sampler, NULL);
	uint64_t t0 = bench_now_ns();
	for (int i = 0; i < g_threads; i++)
		pthread_create(&th[i], NULL, producer, NULL);
	block_enter();
	for (int i = 0; i < g_threads; i++)
		pthread_join(th[i], NULL);
	block_leave();
	uint64_t t_prod = bench_now_ns();

	/* Collect until every resource is released (stale stack slots may
	 * keep a few objects for a cycle or two). */
	for (int round = 0; round < 8 && atomic_load(&g_released) < g_total;
	     round++) {
		if (g_impl == I_TRICOLOR) {
			tri_collect();
			tri_drain(-1);
		}
#ifdef HAVE_BDWGC
		else {
			GC_gcollect();
			uint64_t last = atomic_load(&g_released);
			uint64_t tp = bench_now_ns();
			while (atomic_load(&g_released) < g_total &&
			       bench_now_ns() - tp < 300000000u) {
				bench_sleep_ns(200000);
				if (atomic_load(&g_released) != last) {
					last = atomic_load(&g_released);
					tp = bench_now_ns();
				}
			}
		}
#endif
	}
	uint64_t t_end = bench_now_ns();
	atomic_store(&g_sampler_stop, 1);
	block_enter();
	pthread_join(samp, NULL);
	block_leave();

	uint64_t released = atomic_load(&g_released);
	uint64_t last = atomic_load(&g_last_release);
	if (!last)
		last = t_end;
	uint64_t elapsed = last > t0 ? last - t0 : 1;
	uint64_t *v = malloc(sizeof(uint64_t) * g_total);
	size_t n = 0;
	for (uint64_t i = 0; i < g_total; i++)
		if (g_lat[i])
			v[n++] = g_lat[i] - 1;
	printf("R released %llu\n", (unsigned long long)released);
	printf("R unreleased %llu\n",
	       (unsigned long long)(g_total - released));
	printf("R elapsed_ns %llu\n", (unsigned long long)elapsed);
	printf("R produce_ns %llu\n", (unsigned long long)(t_prod - t0));
	printf("R handlers_per_s %.6g\n",
	       (double)released * 1e9 / (double)elapsed);
	printf("R lat_p50_ns %llu\n",
	       (unsigned long long)bench_quantile_u64(v, n, 0.50));
	printf("R lat_p99_ns %llu\n",
	       (unsigned long long)bench_quantile_u64(v, n, 0.99));
	free(v);
	int64_t peak = atomic_load(&g_peak_outstanding);
	printf("R peak_unreleased %lld\n", (long long)peak);
	if (g_resource == R_PIPE)
		printf("R peak_open_fds %lld\n",
		       (long long)(base_fds + 2 * peak));
	printf("R peak_rss_bytes %ld\n", bench_peak_rss_bytes());
	printf("R emfile_waits %llu\n",
	       (unsigned long long)atomic_load(&g_emfile_waits));
	printf("R forced_collects %llu\n",
	       (unsigned long long)atomic_load(&g_forced_collects));
	if (g_impl == I_TRICOLOR) {
		uint64_t cyc1 = 0, pmax = 0, wpeak = 0;
		tri_read_metric("/gc/cycles/total:gc-cycles", &cyc1);
		printf("R gc_cycles %llu\n", (unsigned long long)(cyc1 - cyc0));
		printf("R peak_queue %llu\n",
		       (unsigned long long)atomic_load(&g_peak_queue));
		size_t cap = 1 << 16;
		tri_pause *ps = malloc(cap * sizeof *ps);
		size_t np = tri_pauses(ps, cap);
		for (size_t i = 0; i < np; i++)
			if (ps[i].start_ns >= t0 && ps[i].start_ns <= t_end &&
			    ps[i].length_ns > pmax)
				pmax = ps[i].length_ns;
		printf("R pause_max_ns %llu\n", (unsigned long long)pmax);
		/* which kind the longest pauses are (a comment line) */
		bench_pause_kinds_print(stdout, "# pauses", ps, np, t0, t_end);
		{
			uint64_t hs_max = 0;

			tri_read_metric("/gc/handshakes/longest:nanoseconds", &hs_max);
			printf("R handshake_longest_ns %llu\n", (unsigned long long)hs_max);
		}
		free(ps);
		if (g_mech == M_CLEANUP &&
		    tri_read_metric("/gc/cleanups/workers-peak:threads",
				    &wpeak) == 0)
			printf("R workers_peak %llu\n",
			       (unsigned long long)wpeak);
	}
#ifdef HAVE_BDWGC
	else {
		printf("R gc_cycles %llu\n",
		       (unsigned long long)(GC_get_gc_no() - cyc0));
		printf("R pause_max_ns %llu\n", (unsigned long long)g_gc_pmax);
		atomic_store(&g_fin_stop, 1);
		sem_post(&g_fin_sem);
		pthread_join(fin_th, NULL);
	}
#endif
	return 0;
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fin_vs_cleanup [--quick] [--threads T] "
		"[--resource pipe|malloc[,..]]\n"
		"         [--costs cost0,cpu10us,block100us] [--pools 1,2,4,8]\n"
		"         [--objects N] [--block-objects N] [--live K] "
		"[--garbage BYTES]\n"
		"         [--impls tricolor,bdwgc] [--no-finalizer] [--no-counted] [--reps R] "
		"[--timeout S] [--csv FILE]\n"
		"  --threads T        allocating threads (default 2)\n"
		"  --resource LIST    pipe (2 descriptors), malloc (4 KiB) "
		"(default pipe,malloc; quick pipe)\n"
		"  --pools LIST       cleanup_workers values (default 1,2,4,8)\n"
		"  --no-counted       without the cleanup4+cnt configuration "
		"(resources counted by a tri_resource, soft limit 1024)\n"
		"  --objects N        objects for cost0/cpu10us "
		"(default 100000, quick 20000)\n"
		"  --block-objects N  objects for block100us "
		"(default 20000, quick 3000)\n"
		"  --live K           objects each thread keeps reachable "
		"(default 16)\n"
		"  --garbage BYTES    garbage allocated per object "
		"(default 1024)\n"
		"  --reps R           repetitions (default 3, quick 1)\n"
		"  --timeout S        per child process (default 300)\n");
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

struct metric {
	const char *key, *name, *unit;
};
static const struct metric metrics[] = {
	{ "handlers_per_s", "handlers_per_s", "1/s" },
	{ "lat_p50_ns", "latency_p50", "ns" },
	{ "lat_p99_ns", "latency_p99", "ns" },
	{ "peak_queue", "peak_queue", "handlers" },
	{ "peak_unreleased", "peak_unreleased", "resources" },
	{ "peak_open_fds", "peak_open_fds", "fds" },
	{ "peak_rss_bytes", "peak_rss", "bytes" },
	{ "gc_cycles", "gc_cycles", "cycles" },
	{ "pause_max_ns", "pause_max", "ns" },
	{ "emfile_waits", "emfile_waits", "waits" },
	{ "forced_collects", "forced_collects", "collections" },
	{ "unreleased", "unreleased_at_end", "resources" },
	{ "elapsed_ns", "elapsed", "ns" },
	{ "workers_peak", "cleanup_workers_peak", "threads" },
};
#define NMETRICS (sizeof metrics / sizeof metrics[0])
#define MAXREPS 32

struct config {
	int impl, mech, pool;
	const char *impl_name;
	char label[24];
	int fd_budget; /* > 0: resources counted by a tri_resource of this soft limit */
};

#define COUNTED_POOL 4
#define COUNTED_BUDGET 1024

int main(int argc, char **argv)
{
	int quick = 0, reps = -1, threads = 2, live = 16, child = 0;
	long long objects = -1, block_objects = -1, garbage_bytes = 1024;
	const char *csv = NULL, *resources = NULL, *costs = NULL;
	const char *pools = "1,2,4,8", *impls = "tricolor,bdwgc";
	const char *c_impl = NULL, *c_mech = "finalizer", *c_cost = "cost0";
	int c_pool = 4, with_finalizer = 1, with_counted = 1;
	double timeout = 300;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--quick"))
			quick = 1;
		else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--no-finalizer"))
			with_finalizer = 0;
		else if (!strcmp(a, "--no-counted"))
			with_counted = 0;
		else if (v && !strcmp(a, "--fd-budget"))
			g_fd_budget_arg = atol(v), i++;
		else if (v && !strcmp(a, "--threads"))
			threads = atoi(v), i++;
		else if (v && !strcmp(a, "--resource"))
			resources = v, i++;
		else if (v && !strcmp(a, "--costs"))
			costs = v, i++;
		else if (v && !strcmp(a, "--pools"))
			pools = v, i++;
		else if (v && !strcmp(a, "--objects"))
			objects = atoll(v), i++;
		else if (v && !strcmp(a, "--block-objects"))
			block_objects = atoll(v), i++;
		else if (v && !strcmp(a, "--live"))
			live = atoi(v), i++;
		else if (v && !strcmp(a, "--garbage"))
			garbage_bytes = atoll(v), i++;
		else if (v && !strcmp(a, "--reps"))
			reps = atoi(v), i++;
		else if (v && !strcmp(a, "--timeout"))
			timeout = atof(v), i++;
		else if (v && !strcmp(a, "--csv"))
			csv = v, i++;
		else if (v && !strcmp(a, "--impls"))
			impls = v, i++;
		else if (v && !strcmp(a, "--impl"))
			c_impl = v, child = 1, i++;
		else if (v && !strcmp(a, "--mech"))
			c_mech = v, i++;
		else if (v && !strcmp(a, "--cost"))
			c_cost = v, i++;
		else if (v && !strcmp(a, "--pool"))
			c_pool = atoi(v), i++;
		else {
			fprintf(stderr, BENCH ": unknown argument %s\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (objects <= 0)
		objects = quick ? 20000 : 100000;
	if (block_objects <= 0)
		block_objects = quick ? 3000 : 20000;
	if (reps <= 0)
		reps = quick ? 1 : 3;
	if (reps > MAXREPS)
		reps = MAXREPS;
	if (threads < 1 || threads > MAX_THREADS || live < 1 ||
	    live > MAX_LIVE || garbage_bytes < 0) {
		fprintf(stderr, BENCH ": bad --threads/--live/--garbage\n");
		return 2;
	}
	if (!costs)
		costs = "cost0,cpu10us,block100us";
	if (!resources)
		resources = quick ? "pipe" : "pipe,malloc";

	bench_precise_timers();
	bench_raise_fd_limit();

	if (child) {
		g_impl = !strcmp(c_impl, "bdwgc") ? I_BDWGC : I_TRICOLOR;
#ifndef HAVE_BDWGC
		if (g_impl == I_BDWGC) {
			fprintf(stderr, BENCH ": built without bdwgc\n");
			return 3;
		}
#endif
		g_mech = !strcmp(c_mech, "cleanup") ? M_CLEANUP : M_FINALIZER;
		g_cost = C_NONE;
		for (int c = 0; c < C_COUNT; c++)
			if (!strcmp(c_cost, cost_names[c]))
				g_cost = c;
		g_resource = !strcmp(resources, "malloc") ? R_MALLOC : R_PIPE;
		g_threads = threads;
		g_live = live;
		g_garbage = (size_t)garbage_bytes;
		g_per_thread = (uint64_t)objects / (uint64_t)threads;
		if (g_per_thread == 0)
			g_per_thread = 1;
		g_total = g_per_thread * (uint64_t)threads;
		g_lat = calloc(g_total, sizeof *g_lat);
		return run_child(c_pool);
	}

	/* Parent: the configurations to run. */
	struct config cfg[16];
	int ncfg = 0;
	if (has_item(impls, "tricolor")) {
		if (with_finalizer)
			cfg[ncfg++] = (struct config){ I_TRICOLOR, M_FINALIZER,
						       0, "tricolor",
						       "finalizer", 0 };
		for (const char *p = pools; p && *p && ncfg < 15;) {
			int n = atoi(p);
			if (n > 0) {
				cfg[ncfg] = (struct config){ I_TRICOLOR,
							     M_CLEANUP, n,
							     "tricolor", "", 0 };
				snprintf(cfg[ncfg].label,
					 sizeof cfg[ncfg].label, "cleanup%d",
					 n);
				ncfg++;
			}
			p = strchr(p, ',');
			p = p ? p + 1 : NULL;
		}
		if (with_counted && ncfg < 15) {
			cfg[ncfg] = (struct config){ I_TRICOLOR, M_CLEANUP, COUNTED_POOL, "tricolor", "",
						     COUNTED_BUDGET };
			snprintf(cfg[ncfg].label, sizeof cfg[ncfg].label, "cleanup%d+cnt", COUNTED_POOL);
			ncfg++;
		}
	}
#ifdef HAVE_BDWGC
	if (has_item(impls, "bdwgc"))
		cfg[ncfg++] = (struct config){ I_BDWGC, M_FINALIZER, 0, "bdwgc",
					       "finalizer", 0 };
#else
	if (has_item(impls, "bdwgc"))
		printf("note: built without bdwgc, skipping it\n");
#endif

	printf("fin_vs_cleanup: %d threads, %lld objects (block100us: %lld), "
	       "live %d/thread, %lld B garbage/object, pools %s, %d rep(s), "
	       "each in a fresh process\n",
	       threads, objects, block_objects, live, garbage_bytes, pools,
	       reps);
	const char *exe = bench_self_exe(argv[0]);
	int tricolor_failed = 0;
	char tbuf[16], obuf[32], lbuf[16], gbuf[32], pbuf[16];
	snprintf(tbuf, sizeof tbuf, "%d", threads);
	snprintf(lbuf, sizeof lbuf, "%d", live);
	snprintf(gbuf, sizeof gbuf, "%lld", garbage_bytes);

	for (int rsi = 0; rsi < 2; rsi++) {
		const char *rname = rsi == 0 ? "pipe" : "malloc";
		if (!has_item(resources, rname))
			continue;
		for (int c = 0; c < C_COUNT; c++) {
			if (!has_item(costs, cost_names[c]))
				continue;
			long long n = c == C_BLOCK ? block_objects : objects;
			snprintf(obuf, sizeof obuf, "%lld", n);
			printf("\n%s, %s, %lld objects:\n", rname,
			       cost_names[c], n);
			printf("  %-12s %-9s %11s %10s %10s %10s %10s %9s "
			       "%7s %7s %10s\n",
			       "mechanism", "impl", "handlers/s", "lat p50",
			       "lat p99", "peak queue", "peak unrel", "peak RSS",
			       "cycles", "EMFILE", "vs bdwgc");
			double res_rate[16] = { 0 };
			char outl[16][200];
			for (int k = 0; k < ncfg; k++) {
				char cas[96];
				char bbuf[16];
				snprintf(bbuf, sizeof bbuf, "%d", cfg[k].fd_budget);
				snprintf(cas, sizeof cas, "%s-%s-%dt-%s", rname,
					 cost_names[c], threads, cfg[k].label);
				snprintf(pbuf, sizeof pbuf, "%d", cfg[k].pool);
				/* progress (stderr: the table on stdout stays whole) */
				fprintf(stderr, "# [fin_vs_cleanup] %s: %s x %d rep(s) ...\n",
					cas, cfg[k].impl_name, reps);
				double vals[NMETRICS][MAXREPS];
				int have[NMETRICS] = { 0 };
				int ok = 0, last_status = 0;
				for (int r = 0; r < reps; r++) {
					char *args[] = {
						(char *)exe,
						"--impl",
						(char *)cfg[k].impl_name,
						"--mech",
						cfg[k].mech == M_CLEANUP
							? "cleanup"
							: "finalizer",
						"--pool",
						pbuf,
						"--cost",
						(char *)cost_names[c],
						"--resource",
						(char *)rname,
						"--threads",
						tbuf,
						"--objects",
						obuf,
						"--live",
						lbuf,
						"--garbage",
						gbuf,
						cfg[k].fd_budget ? "--fd-budget" : NULL,
						bbuf,
						NULL
					};
					char *out;
					int st = bench_run_capture(args, timeout, &out);
					if (st != 0) {
						last_status = st;
						fprintf(stderr,
							BENCH ": %s %s rep %d: "
							      "%s\n",
							cfg[k].impl_name, cas,
							r + 1,
							bench_status_text(st));
						free(out);
						continue;
					}
					for (size_t m = 0; m < NMETRICS; m++) {
						double x;
						if (bench_child_result(out, metrics[m].key,
							      &x)) {
							vals[m][have[m]++] = x;
						}
					}
					ok++;
					free(out);
				}
				if (ok == 0) {
					snprintf(outl[k], sizeof outl[k],
						 "  %-12s %-9s FAILED: %s",
						 cfg[k].label, cfg[k].impl_name,
						 bench_status_text(last_status));
					bench_csv_append(csv, BENCH, cas,
							 cfg[k].impl_name, "failed", "status",
							 bench_stats_n(last_status, reps));
					if (cfg[k].impl == I_TRICOLOR)
						tricolor_failed = 1;
					continue;
				}
				double med[NMETRICS] = { 0 };
				for (size_t m = 0; m < NMETRICS; m++) {
					double md, mn, mx;
					if (!have[m])
						continue;
					bench_summary(vals[m], have[m], &md, &mn, &mx);
					med[m] = md;
					bench_csv_append(csv, BENCH, cas,
							 cfg[k].impl_name, metrics[m].name, metrics[m].unit,
							 (bench_stats){ md, mn, mx, have[m] });
				}
				res_rate[k] = med[0];
				char q[24];
				if (have[3])
					snprintf(q, sizeof q, "%.0f", med[3]);
				else
					snprintf(q, sizeof q, "-");
				snprintf(outl[k], sizeof outl[k],
					 "  %-12s %-9s %11.0f %8.2fms %8.2fms "
					 "%10s %10.0f %7.0fMB %7.0f %7.0f",
					 cfg[k].label, cfg[k].impl_name, med[0],
					 med[1] / 1e6, med[2] / 1e6, q, med[4],
					 med[6] / 1048576.0, med[7], med[9]);
			}
			/* Print with the ratio to bdwgc's handlers/s. */
			double peer = 0;
			for (int k = 0; k < ncfg; k++)
				if (cfg[k].impl == I_BDWGC)
					peer = res_rate[k];
			for (int k = 0; k < ncfg; k++) {
				if (peer > 0 && res_rate[k] > 0 &&
				    cfg[k].impl == I_TRICOLOR)
					printf("%s %9.2fx\n", outl[k],
					       res_rate[k] / peer);
				else
					printf("%s\n", outl[k]);
			}
		}
	}
	printf("\n(handlers/s: resources released per second from the first "
	       "allocation to the last release; vs bdwgc: handlers/s ratio, "
	       "higher is better)\n");
	return tricolor_failed ? 1 : 0;
}
