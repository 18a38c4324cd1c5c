/* SPDX-License-Identifier: MIT */
/*
 * test_faults.c - fault injection and misuse:
 *  - memory exhaustion: injected arena commit failures (tri_debug_fail_mmap)
 *    and a tight heap_reserve give NULL + ENOMEM, the collector keeps
 *    working and allocation recovers; cyclic garbage under failures stays
 *    bounded; memory_limit bounds mapped memory with a 16 MB live set;
 *  - callbacks that misbehave: a finalizer that never returns, inside a
 *    blocking region or not (collections, cleanups and allocation go on,
 *    "slow finalizer" is reported), a
 *    finalizer or cleanup that calls pthread_exit (reported, later
 *    callbacks still run, tri_drain returns 0);
 *  - asynchronous preemption: a thread blocked in read() without a blocking
 *    region is preempted and its stack roots survive; preempt_ms=off turns
 *    it off; a thread computing in its own code is never acted on; the
 *    program's own SIGURG handler still gets its signals;
 *  - every misuse named in include/tricolor.h aborts with its message
 *    (death tests: the scenario runs in a child whose stderr is asserted,
 *    and once more in-process under tcase_add_loop_test_raise_signal).
 * Scenarios that print on stderr or wait for a report run in a child
 * process (tsup_capture_child); the child reports a failed expectation as
 * "CHILD-FAIL: ..." on stderr and exit status 3.
 */
#include "test_support.h"
#include <semaphore.h>
#include <stdarg.h>

extern void tri_debug_fail_mmap(int n); /* test hook: exported by libtricolor-test.la */

#define MB (1024u * 1024u)

/* ---------------------------------------------------------------- */
/* Child-side expectations                                           */
/* ---------------------------------------------------------------- */

__attribute__((format(printf, 1, 2), noreturn)) static void child_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "CHILD-FAIL: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	fflush(stderr);
	_exit(3);
}

#define CHILD_CHECK(cond, ...)                                                 \
	do {                                                                   \
		if (!(cond))                                                   \
			child_fail(__VA_ARGS__);                               \
	} while (0)

static void assert_child_ok(const struct tsup_child *c)
{
	ck_assert_msg(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0,
		      "child failed (status 0x%x); stderr: %s", c->status, c->err);
}

static uint64_t metric(const char *name)
{
	uint64_t v = 0;
	if (tri_read_metric(name, &v))
		return 0;
	return v;
}

/* ---------------------------------------------------------------- */
/* Memory exhaustion                                                 */
/* ---------------------------------------------------------------- */

/* A registered root table for what the tests keep. */
#define NKEEP 256
static void *keep[NKEEP];

START_TEST(test_injected_commit_failures_give_enomem_and_allocation_recovers)
{
	ck_assert_int_eq(tri_init("heap_reserve=64m"), 0);
	tri_add_roots(keep, keep + NKEEP);
	tri_debug_fail_mmap(1000000);
	int nulls = 0, enomem = 0;
	for (int i = 0; i < 16; i++) {
		errno = 0;
		void *p = tri_alloc(2 * MB);
		if (!p) {
			nulls++;
			enomem += errno == ENOMEM;
		} else {
			tri_store(&keep[i], p);
		}
	}
	ck_assert_int_gt(nulls, 0);
	ck_assert_int_eq(enomem, nulls);
	/* small objects too: a fresh span needs a commit sooner or later */
	int small_null = 0;
	for (int i = 0; i < 200000 && !small_null; i++) {
		errno = 0;
		void *p = tri_alloc(1024);
		if (!p) {
			small_null = 1;
			ck_assert_int_eq(errno, ENOMEM);
		}
	}
	ck_assert_int_eq(small_null, 1);
	/* the collector keeps working while commits fail */
	tri_collect();
	ck_assert_int_eq(tri_drain(tsup_ms(5000)), 0);
	tri_collect();
	/* failures stop: allocation works again, memory is usable */
	tri_debug_fail_mmap(0);
	for (int i = 0; i < 8; i++) {
		char *p = tri_alloc(2 * MB);
		ck_assert_ptr_nonnull(p);
		memset(p, 0x5a, 2 * MB);
		tri_store(&keep[16 + i], p);
	}
	void *q = tri_alloc(100);
	ck_assert_ptr_nonnull(q);
	ck_assert_int_gt((long)tsup_metric("/gc/cycles/total:gc-cycles"), 1);
}
END_TEST

START_TEST(test_exhausted_heap_reserve_gives_enomem_and_freeing_makes_room)
{
	ck_assert_int_eq(tri_init("heap_reserve=64m"), 0);
	tri_add_roots(keep, keep + NKEEP);
	errno = 0;
	ck_assert_ptr_null(tri_alloc(128 * MB));
	ck_assert_int_eq(errno, ENOMEM);
	/* fill the reserve with live 1 MB objects */
	int n = 0;
	for (; n < NKEEP; n++) {
		errno = 0;
		char *p = tri_alloc(MB);
		if (!p)
			break;
		p[0] = 1;
		tri_store(&keep[n], p);
	}
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_int_gt(n, 16);
	ck_assert_int_lt(n, 65);
	/* the heap keeps working: free half, collect, allocate again */
	for (int i = 0; i < n; i += 2)
		tri_store(&keep[i], NULL);
	tri_collect();
	ck_assert_int_eq(tri_drain(tsup_ms(5000)), 0);
	int again = 0;
	for (int i = 0; i < n; i += 2) {
		char *p = tri_alloc(MB);
		if (p) {
			again++;
			tri_store(&keep[i], p);
		}
	}
	ck_assert_int_ge(again, n / 2 - 2);
	/* the survivors are intact */
	for (int i = 1; i < n; i += 2)
		ck_assert_int_eq(((char *)keep[i])[0], 1);
	printf("heap_reserve=64m: %d live 1 MB objects before ENOMEM, %d allocated again after freeing half\n",
	       n, again);
}
END_TEST

struct cnode {
	struct cnode *next;
	char pad[240];
};

/* Build a ring of n nodes (cyclic garbage once dropped). NULL on ENOMEM. */
static __attribute__((noinline)) int make_ring(int n)
{
	struct cnode *first = tri_alloc(sizeof *first), *prev = first;
	if (!first)
		return -1;
	for (int i = 1; i < n; i++) {
		struct cnode *c = tri_alloc(sizeof *c);
		if (!c)
			return -1; /* the partial chain is garbage too */
		c->next = prev;
		prev = c;
	}
	first->next = prev;
	return 0;
}

/* Warm up without failures, then churn with every further arena commit
 * failing: cyclic garbage must be reclaimed (no commit needed) or
 * allocation would run out. A round that fails retries once after an
 * explicit collection. */
struct churn {
	long rounds, failed_once, failed_twice;
};

static void *ring_churn(void *arg)
{
	struct churn *c = arg;
	for (int r = 0; r < 40; r++)
		make_ring(2048);
	tri_collect();
	tri_debug_fail_mmap(1 << 30);
	for (long r = 0; r < c->rounds; r++) {
		if (make_ring(2048) < 0) { /* 512 KB */
			c->failed_once++;
			tri_collect();
			if (make_ring(2048) < 0)
				c->failed_twice++;
		}
	}
	tri_debug_fail_mmap(0);
	return NULL;
}

START_TEST(test_cyclic_garbage_under_injected_failures_stays_bounded)
{
	ck_assert_int_eq(tri_init("heap_reserve=64m"), 0);
	struct churn arg = {.rounds = tsup_env_long("TRI_FAULT_ROUNDS", 600)};
	uint64_t peak = 0;
	double t0 = tsup_now();
	/* 600 rounds x 512 KB = 300 MB of cyclic garbage through a 64 MB reserve */
	struct tsup_thread th;
	tsup_spawn(&th, ring_churn, &arg);
	for (;;) {
		uint64_t total = metric("/memory/classes/total:bytes");
		if (total > peak)
			peak = total;
		tri_blocking_enter();
		int r = pthread_tryjoin_np(th.th, NULL);
		tri_blocking_leave();
		if (r == 0)
			break;
		tsup_sleep_ms(2);
	}
	tri_collect();
	tri_collect();
	uint64_t live = tsup_metric("/memory/classes/heap/objects:bytes");
	printf("cyclic garbage with every arena commit failing: %ld rounds of 512 KB rings in %.2f s, "
	       "%ld rounds hit ENOMEM and succeeded after tri_collect, %ld failed twice; peak mapped %.1f MB, "
	       "%.1f KB in objects after collect\n",
	       arg.rounds, tsup_now() - t0, arg.failed_once, arg.failed_twice, (double)peak / MB,
	       (double)live / 1024);
	ck_assert_int_eq(arg.failed_twice, 0);
	ck_assert_uint_le(peak, 64ull * MB + 16 * MB); /* reserve + metadata slack */
	ck_assert_uint_lt(live, 4 * MB);
	/* and it still allocates */
	ck_assert_ptr_nonnull(tri_alloc(4 * MB));
}
END_TEST

#define LIVE_OBJS 16384 /* x 1 KB = 16 MB */

static void *limit_churn(void *arg)
{
	uint64_t *peak = arg;
	void **table = tri_alloc(LIVE_OBJS * sizeof(void *));
	ck_assert_ptr_nonnull(table);
	tri_store(&keep[0], table);
	for (int i = 0; i < LIVE_OBJS; i++) {
		char *p = tri_alloc_atomic(1024);
		ck_assert_ptr_nonnull(p);
		tsup_fill(p, 1024, (uint64_t)i);
		tri_store(&table[i], p);
	}
	long garbage_mb = tsup_env_long("TRI_FAULT_GARBAGE_MB", 1024);
	for (long i = 0; i < garbage_mb * 16; i++) {
		char *g = tri_alloc(64 * 1024);
		ck_assert_ptr_nonnull(g);
		g[0] = 1;
		if ((i & 63) == 0) {
			uint64_t total = metric("/memory/classes/total:bytes");
			if (total > *peak)
				*peak = total;
		}
	}
	for (int i = 0; i < LIVE_OBJS; i += 97)
		ck_assert_uint_eq(tsup_check_fill(table[i], 1024, (uint64_t)i), 1024);
	return NULL;
}

START_TEST(test_memory_limit_bounds_mapped_memory_with_16mb_live_set)
{
	ck_assert_int_eq(tri_init("memory_limit=32m"), 0);
	tri_add_roots(keep, keep + NKEEP);
	uint64_t peak = 0;
	double t0 = tsup_now();
	tsup_run_in_thread(limit_churn, &peak);
	uint64_t cycles = tsup_metric("/gc/cycles/total:gc-cycles");
	printf("memory_limit=32m: 16 MB live + %ld MB garbage in %.2f s, %llu cycles, peak /memory/classes/total:bytes %.1f MB\n",
	       tsup_env_long("TRI_FAULT_GARBAGE_MB", 1024), tsup_now() - t0,
	       (unsigned long long)cycles, (double)peak / MB);
	ck_assert_uint_lt(peak, 3ull * 32 * MB);
	ck_assert_uint_gt(cycles, 5);
}
END_TEST

/*
 * More live data than the limit: collecting cannot bring the heap under
 * it, so the limit turns soft. Forced collections are rationed (each one
 * that did not help allows the next only after as long again and another
 * limit/8 bytes of allocation, pacer.c): the cycles are bounded by the MiB
 * allocated, not one per span refill, and every live object survives.
 */
#define OVER_OBJS 40960 /* x 1 KB = 40 MB, over a 32 MB limit */

static void *over_limit_churn(void *arg)
{
	uint64_t *stats = arg; /* [0] cycles, [1] MiB allocated */
	void **table = tri_alloc(OVER_OBJS * sizeof(void *));
	ck_assert_ptr_nonnull(table);
	tri_store(&keep[1], table);
	for (int i = 0; i < OVER_OBJS; i++) {
		char *p = tri_alloc_atomic(1024);
		ck_assert_ptr_nonnull(p);
		tsup_fill(p, 1024, (uint64_t)i);
		tri_store(&table[i], p);
	}
	tri_collect();
	uint64_t c0 = metric("/gc/cycles/total:gc-cycles"), a0 = metric("/gc/heap/allocs:bytes");
	for (long i = 0; i < 256 * 16; i++) { /* 256 MB of 64 KB garbage */
		char *g = tri_alloc(64 * 1024);
		ck_assert_ptr_nonnull(g);
		g[0] = 1;
	}
	stats[0] = metric("/gc/cycles/total:gc-cycles") - c0;
	stats[1] = (metric("/gc/heap/allocs:bytes") - a0) >> 20;
	for (int i = 0; i < OVER_OBJS; i += 89)
		ck_assert_uint_eq(tsup_check_fill(table[i], 1024, (uint64_t)i), 1024);
	return NULL;
}

START_TEST(test_memory_limit_below_the_live_heap_turns_soft_with_rationed_collections)
{
	ck_assert_int_eq(tri_init("memory_limit=32m"), 0);
	tri_add_roots(keep, keep + NKEEP);
	uint64_t stats[2] = {0, 0};
	double t0 = tsup_now();
	tsup_run_in_thread(over_limit_churn, stats);
	uint64_t forced = metric("/gc/cycles/forced:gc-cycles");
	printf("memory_limit=32m under 40 MB live: %llu cycles (%llu forced in all) for %llu MiB allocated in %.2f s\n",
	       (unsigned long long)stats[0], (unsigned long long)forced, (unsigned long long)stats[1],
	       tsup_now() - t0);
	ck_assert_uint_ge(stats[1], 256);
	/* one forced collection per limit/8 = 4 MiB at most, plus the
	 * pacer's background cycles (goal live + 1/16 + 1 MiB) */
	ck_assert_msg(stats[0] <= stats[1] / 2 + 8, "%llu cycles for %llu MiB allocated",
		      (unsigned long long)stats[0], (unsigned long long)stats[1]);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Misbehaving callbacks                                              */
/* ---------------------------------------------------------------- */

static sem_t never;
static volatile int blocked_started;
static long cleanups_ran;

static void fin_block_forever(void *obj)
{
	(void)obj;
	__atomic_store_n(&blocked_started, 1, __ATOMIC_SEQ_CST);
	tri_blocking_enter(); /* a blocking wait, as the rules ask */
	while (sem_wait(&never))
		;
	tri_blocking_leave();
}

static void fin_block_forever_unbracketed(void *obj)
{
	(void)obj;
	__atomic_store_n(&blocked_started, 1, __ATOMIC_SEQ_CST);
	while (sem_wait(&never))
		;
}

static __attribute__((noinline)) void drop_with_finalizer(void (*fn)(void *))
{
	tri_set_finalizer(tri_alloc(64), fn);
}

static __attribute__((noinline)) void drop_with_cleanup(void (*fn)(void *), void *arg)
{
	tri_add_cleanup(tri_alloc(64), fn, arg);
}

static void *make_blocked(void *arg)
{
	drop_with_finalizer((void (*)(void *))arg);
	return NULL;
}

static void *make_cleanups(void *arg)
{
	for (int i = 0; i < 100; i++)
		drop_with_cleanup(tsup_cleanup_count, arg);
	return NULL;
}

struct blocked_driver {
	uint64_t cycles;
	int done;
};

/* Collections, allocation and cleanups behind the blocked finalizer, on
 * an attached thread so that main can give up if they stall. */
static void *blocked_driver_main(void *arg)
{
	struct blocked_driver *d = arg;
	uint64_t c0 = metric("/gc/cycles/total:gc-cycles");
	tsup_run_in_thread(make_cleanups, &cleanups_ran);
	for (int i = 0; i < 20 || (__atomic_load_n(&cleanups_ran, __ATOMIC_SEQ_CST) < 100 && i < 500); i++) {
		tri_collect();
		for (int k = 0; k < 1000; k++)
			CHILD_CHECK(tri_alloc(128) != NULL, "tri_alloc failed");
		tsup_sleep_ms(5);
	}
	d->cycles = metric("/gc/cycles/total:gc-cycles") - c0;
	__atomic_store_n(&d->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void scenario_blocked_finalizer(void *arg)
{
	int bracketed = *(int *)arg;
	sem_init(&never, 0, 0);
	CHILD_CHECK(tri_init("slow_finalizer_ms=100") == 0, "tri_init");
	tsup_run_in_thread(make_blocked, bracketed ? (void *)fin_block_forever
						   : (void *)fin_block_forever_unbracketed);
	for (int i = 0; i < 50 && !__atomic_load_n(&blocked_started, __ATOMIC_SEQ_CST); i++) {
		tri_collect();
		tsup_sleep_ms(20);
	}
	CHILD_CHECK(blocked_started, "the blocking finalizer never started");
	static struct blocked_driver d;
	struct tsup_thread th;
	tsup_spawn(&th, blocked_driver_main, &d);
	for (int i = 0; i < 500 && !__atomic_load_n(&d.done, __ATOMIC_SEQ_CST); i++)
		tsup_sleep_ms(10);
	tsup_sleep_ms(300); /* the watchdog reports once past 100 ms */
	CHILD_CHECK(d.done, "collections stalled: 20 rounds of tri_collect + allocation did not finish in 5 s "
			    "(%ld of 100 cleanups ran)", cleanups_ran);
	tsup_join(&th); /* finished: join it (a stalled driver is left to _exit) */
	CHILD_CHECK(cleanups_ran == 100, "only %ld of 100 cleanups ran behind a blocked finalizer",
		    cleanups_ran);
	CHILD_CHECK(d.cycles >= 20, "only %llu collections", (unsigned long long)d.cycles);
	/* a drain can only time out: the finalizer never finishes */
	CHILD_CHECK(tri_drain(100) == ETIMEDOUT, "tri_drain should time out");
	fprintf(stderr, "child: %ld cleanups and %llu collections ran behind the blocked finalizer\n",
		cleanups_ran, (unsigned long long)d.cycles);
	_exit(0);
}

static void check_blocked_finalizer(int bracketed)
{
	struct tsup_child c;
	double t0 = tsup_now();
	tsup_capture_child(scenario_blocked_finalizer, &bracketed, &c);
	ck_assert_msg(strstr(c.err, "slow finalizer") != NULL, "no slow finalizer report: %s", c.err);
	assert_child_ok(&c);
	printf("%s", c.err);
	printf("blocked finalizer (%s): child ran %.2f s\n", bracketed ? "bracketed" : "unbracketed",
	       tsup_now() - t0);
}

START_TEST(test_finalizer_blocked_forever_does_not_stop_cleanups_collections_or_allocation)
{
	check_blocked_finalizer(1);
}
END_TEST

START_TEST(test_finalizer_blocked_forever_without_blocking_region_does_not_stop_collections)
{
	check_blocked_finalizer(0);
}
END_TEST

static long fin_ran, cln_ran;

static void fin_count(void *obj)
{
	(void)obj;
	__atomic_add_fetch(&fin_ran, 1, __ATOMIC_SEQ_CST);
}

static void fin_exit(void *obj)
{
	(void)obj;
	pthread_exit(NULL);
}

static void cln_exit(void *arg)
{
	(void)arg;
	pthread_exit(NULL);
}

static void *make_exiting(void *arg)
{
	int cleanup = *(int *)arg;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 10; i++) {
			if (cleanup)
				drop_with_cleanup(tsup_cleanup_count, &cln_ran);
			else
				drop_with_finalizer(fin_count);
		}
		if (cleanup)
			drop_with_cleanup(cln_exit, NULL);
		else
			drop_with_finalizer(fin_exit);
	}
	return NULL;
}

static void scenario_pthread_exit(void *arg)
{
	int cleanup = *(int *)arg;
	CHILD_CHECK(tri_init(NULL) == 0, "tri_init");
	tsup_run_in_thread(make_exiting, &cleanup);
	long *count = cleanup ? &cln_ran : &fin_ran;
	for (int i = 0; i < 10 && __atomic_load_n(count, __ATOMIC_SEQ_CST) < 30; i++) {
		tri_collect();
		int r = tri_drain(tsup_ms(5000));
		CHILD_CHECK(r == 0, "tri_drain returned %d", r);
	}
	CHILD_CHECK(*count == 30, "%ld of 30 later %s ran", *count, cleanup ? "cleanups" : "finalizers");
	/* and the replaced thread keeps serving */
	drop_with_cleanup(tsup_cleanup_count, &cln_ran);
	drop_with_finalizer(fin_count);
	long want_c = cln_ran + 1, want_f = fin_ran + 1;
	for (int i = 0; i < 10 && (cln_ran < want_c || fin_ran < want_f); i++) {
		tri_collect();
		CHILD_CHECK(tri_drain(tsup_ms(5000)) == 0, "tri_drain");
	}
	CHILD_CHECK(cln_ran == want_c && fin_ran == want_f, "callbacks stopped after pthread_exit");
	CHILD_CHECK(tri_drain(tsup_ms(1000)) == 0, "final drain");
	_exit(0);
}

static void check_pthread_exit(int cleanup)
{
	struct tsup_child c;
	tsup_capture_child(scenario_pthread_exit, &cleanup, &c);
	assert_child_ok(&c);
	ck_assert_msg(strstr(c.err, "called pthread_exit") != NULL, "no report: %s", c.err);
	ck_assert_msg(strstr(c.err, cleanup ? "tricolor: cleanup" : "tricolor: finalizer") != NULL,
		      "report does not say what exited: %s", c.err);
}

START_TEST(test_finalizer_calling_pthread_exit_is_reported_and_later_finalizers_run)
{
	check_pthread_exit(0);
}
END_TEST

START_TEST(test_cleanup_calling_pthread_exit_is_reported_and_later_cleanups_run)
{
	check_pthread_exit(1);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Misuse: every abort named in include/tricolor.h                   */
/* ---------------------------------------------------------------- */

static char not_heap[64] __attribute__((aligned(16)));

static void noop(void *p)
{
	(void)p;
}

static void m_fin_null(void)
{
	tri_set_finalizer(NULL, noop);
}
static void m_fin_not_block(void)
{
	tri_set_finalizer(not_heap, noop);
}
static void m_fin_not_beginning(void)
{
	tri_set_finalizer((char *)tri_alloc(64) + 16, noop);
}
static void m_fin_twice(void)
{
	void *p = tri_alloc(64);
	tri_set_finalizer(p, noop);
	tri_set_finalizer(p, noop);
}
static void m_cln_null(void)
{
	tri_add_cleanup(NULL, noop, NULL);
}
static void m_cln_not_block(void)
{
	tri_add_cleanup(not_heap, noop, NULL);
}
static void m_cln_equal(void)
{
	void *p = tri_alloc(64);
	tri_add_cleanup(p, noop, p);
}
static void m_cln_arg_inside(void)
{
	char *p = tri_alloc(64);
	tri_add_cleanup(p, noop, p + 32);
}
static void m_cln_arg_inside_interior_ptr(void)
{
	char *p = tri_alloc(64);
	tri_add_cleanup(p + 8, noop, p);
}
static void m_remove_roots(void)
{
	tri_remove_roots(not_heap, not_heap + 64);
}
static void m_remove_roots_other_bounds(void)
{
	tri_add_roots(not_heap, not_heap + 64);
	tri_remove_roots(not_heap, not_heap + 32);
}
static void m_leave(void)
{
	tri_blocking_leave();
}
static void m_nested(void)
{
	tri_blocking_enter();
	tri_blocking_enter();
}
static void m_detach_blocking(void)
{
	tri_blocking_enter();
	tri_thread_detach();
}
static void fin_drain(void *p)
{
	(void)p;
	tri_drain(-1);
}
static void m_drain_in_finalizer(void)
{
	tsup_run_in_thread(make_blocked, (void *)fin_drain);
	for (int i = 0; i < 20; i++) {
		tri_collect();
		tsup_sleep_ms(50);
	}
}
static void *make_drain_cleanup(void *arg)
{
	(void)arg;
	drop_with_cleanup(fin_drain, NULL);
	return NULL;
}
static void m_drain_in_cleanup(void)
{
	tsup_run_in_thread(make_drain_cleanup, NULL);
	for (int i = 0; i < 20; i++) {
		tri_collect();
		tsup_sleep_ms(50);
	}
}
static void m_memmove(void)
{
	char *a = tri_alloc(64), *b = tri_alloc(64);
	tri_memmove(a + 4, b, 16);
}
static void m_memmove_src(void)
{
	char *a = tri_alloc(64), *b = tri_alloc(64);
	tri_memmove(a, b + 8 + 3, 8);
}

/* Layouts (tri_layout_make, tri_alloc_typed, tri_alloc_array_typed). */
static const size_t m_offs_beyond[] = {0, 16};
static const size_t m_offs_odd[] = {4};
static const size_t m_offs_twice[] = {8, 0, 8};
static void m_layout_size0(void)
{
	tri_layout_make(0, NULL, 0);
}
static void m_layout_null_offsets(void)
{
	tri_layout_make(16, NULL, 1);
}
static void m_layout_beyond(void)
{
	tri_layout_make(16, m_offs_beyond, 2);
}
static void m_layout_misaligned(void)
{
	tri_layout_make(16, m_offs_odd, 1);
}
static void m_layout_twice(void)
{
	tri_layout_make(24, m_offs_twice, 3);
}
static void m_layout_size_odd(void)
{
	tri_layout_make(12, m_offs_beyond, 1);
}
static void m_layout_too_large(void)
{
	tri_layout_make((size_t)1 << 30, m_offs_beyond, 1);
}
static void m_typed_null(void)
{
	tri_alloc_typed(NULL);
}
static void m_typed_not_layout(void)
{
	static uint64_t fake[8] = {1, 2, 3, 4};
	tri_alloc_typed((const tri_layout *)fake);
}
static void m_array_typed_null(void)
{
	tri_alloc_array_typed(NULL, 4);
}

/* Unattached-thread misuse: the call runs on a plain pthread. */
static void *u_alloc(void *a)
{
	(void)a;
	return tri_alloc(16);
}
static const size_t u_offs[] = {0};
static void *u_alloc_typed(void *a)
{
	(void)a;
	return tri_alloc_typed(tri_layout_make(16, u_offs, 1));
}
static void *u_alloc_array_typed(void *a)
{
	(void)a;
	return tri_alloc_array_typed(tri_layout_make(16, u_offs, 1), 3);
}
static void *u_collect(void *a)
{
	(void)a;
	tri_collect();
	return NULL;
}
static void *u_set_finalizer(void *a)
{
	tri_set_finalizer(a, noop);
	return NULL;
}
static void *u_add_cleanup(void *a)
{
	tri_add_cleanup(a, noop, NULL);
	return NULL;
}
static void *u_drain(void *a)
{
	(void)a;
	tri_drain(0);
	return NULL;
}
static void *u_detach(void *a)
{
	(void)a;
	tri_thread_detach();
	return NULL;
}
static void *u_blocking(void *a)
{
	(void)a;
	tri_blocking_enter();
	return NULL;
}
static void *u_safepoint(void *a)
{
	(void)a;
	tri_safepoint();
	return NULL;
}
static void on_plain_thread(void *(*fn)(void *))
{
	void *obj = tri_alloc(64);
	pthread_t th;
	pthread_create(&th, NULL, fn, obj);
	tri_blocking_enter();
	pthread_join(th, NULL);
	tri_blocking_leave();
}
static void m_u_alloc(void)
{
	on_plain_thread(u_alloc);
}
static void m_u_alloc_typed(void)
{
	on_plain_thread(u_alloc_typed);
}
static void m_u_alloc_array_typed(void)
{
	on_plain_thread(u_alloc_array_typed);
}
static void m_u_collect(void)
{
	on_plain_thread(u_collect);
}
static void m_u_set_finalizer(void)
{
	on_plain_thread(u_set_finalizer);
}
static void *u_weak_get(void *a)
{
	tri_weak w = tri_weak_make(a); /* not attached either: aborts here */
	return tri_weak_get(w);
}
static void *u_intern(void *a)
{
	(void)a;
	return (void *)tri_intern("key", 3);
}
static void m_u_weak_make(void)
{
	on_plain_thread(u_weak_get);
}
static void m_u_intern(void)
{
	on_plain_thread(u_intern);
}
static void m_weak_not_block(void)
{
	tri_weak_make(not_heap);
}
static void m_intern_null(void)
{
	tri_intern(NULL, 4);
}
static void m_u_add_cleanup(void)
{
	on_plain_thread(u_add_cleanup);
}
static void m_u_drain(void)
{
	on_plain_thread(u_drain);
}
static void m_u_detach(void)
{
	on_plain_thread(u_detach);
}
static void m_u_blocking(void)
{
	on_plain_thread(u_blocking);
}
static void m_u_safepoint(void)
{
	on_plain_thread(u_safepoint);
}

struct misuse {
	const char *name;
	void (*fn)(void);
	const char *msg1, *msg2;
};

static const struct misuse misuses[] = {
	{"set_finalizer NULL", m_fin_null, "tri_set_finalizer: pointer is NULL", NULL},
	{"set_finalizer not in block", m_fin_not_block, "tri_set_finalizer: pointer not in allocated block", NULL},
	{"set_finalizer not at beginning", m_fin_not_beginning,
	 "tri_set_finalizer: pointer not at beginning of allocated block", NULL},
	{"set_finalizer twice", m_fin_twice, "tri_set_finalizer: finalizer already set", NULL},
	{"add_cleanup ptr NULL", m_cln_null, "tri_add_cleanup: ptr is NULL", NULL},
	{"add_cleanup ptr not in block", m_cln_not_block, "tri_add_cleanup: ptr not in allocated block", NULL},
	{"add_cleanup ptr == arg", m_cln_equal, "tri_add_cleanup: ptr is equal to arg, cleanup will never run",
	 NULL},
	{"add_cleanup arg inside object", m_cln_arg_inside,
	 "tri_add_cleanup: arg points into ptr's object, cleanup will never run", NULL},
	{"add_cleanup interior ptr, arg = base", m_cln_arg_inside_interior_ptr,
	 "tri_add_cleanup: arg points into ptr's object, cleanup will never run", NULL},
	{"remove_roots unregistered", m_remove_roots, "tri_remove_roots:", "is not registered"},
	{"remove_roots other bounds", m_remove_roots_other_bounds, "tri_remove_roots:", "is not registered"},
	{"blocking_leave without enter", m_leave, "tri_blocking_leave: not inside a blocking region", NULL},
	{"nested blocking_enter", m_nested, "tri_blocking_enter: already inside a blocking region", NULL},
	{"detach in blocking region", m_detach_blocking,
	 "tri_thread_detach: called inside tri_blocking_enter/tri_blocking_leave", NULL},
	{"drain from finalizer", m_drain_in_finalizer, "tri_drain: called from a finalizer or cleanup", NULL},
	{"drain from cleanup", m_drain_in_cleanup, "tri_drain: called from a finalizer or cleanup", NULL},
	{"memmove misaligned dst", m_memmove, "tri_memmove:", "must be 8-byte aligned"},
	{"memmove misaligned src", m_memmove_src, "tri_memmove:", "must be 8-byte aligned"},
	{"layout size 0", m_layout_size0, "tri_layout_make: size is 0", NULL},
	{"layout offsets NULL", m_layout_null_offsets, "tri_layout_make: ptr_offsets is NULL but count is 1", NULL},
	{"layout pointer beyond size", m_layout_beyond, "tri_layout_make: pointer word at offset 16 is beyond the size 16",
	 NULL},
	{"layout misaligned offset", m_layout_misaligned,
	 "tri_layout_make: pointer offset 4 is not a multiple of the pointer size (8)", NULL},
	{"layout offset twice", m_layout_twice, "tri_layout_make: pointer offset 8 is listed twice", NULL},
	{"layout size not words", m_layout_size_odd,
	 "tri_layout_make: size 12 is not a multiple of the pointer size (8)", NULL},
	{"layout too large", m_layout_too_large, "tri_layout_make: size 1073741824 is larger than the limit", NULL},
	{"alloc_typed NULL", m_typed_null, "tri_alloc_typed: layout is NULL", NULL},
	{"alloc_typed not a layout", m_typed_not_layout, "tri_alloc_typed:", "is not a layout made by tri_layout_make"},
	{"alloc_array_typed NULL", m_array_typed_null, "tri_alloc_array_typed: layout is NULL", NULL},
	{"unattached tri_alloc", m_u_alloc, "tri_alloc: thread not attached", NULL},
	{"unattached tri_alloc_typed", m_u_alloc_typed, "tri_alloc_typed: thread not attached", NULL},
	{"unattached tri_alloc_array_typed", m_u_alloc_array_typed, "tri_alloc_array_typed: thread not attached",
	 NULL},
	{"unattached tri_collect", m_u_collect, "tri_collect: thread not attached", NULL},
	{"unattached tri_set_finalizer", m_u_set_finalizer, "tri_set_finalizer: thread not attached", NULL},
	{"unattached tri_add_cleanup", m_u_add_cleanup, "tri_add_cleanup: thread not attached", NULL},
	{"weak_make not in block", m_weak_not_block, "tri_weak_make: pointer not in allocated block", NULL},
	{"intern NULL bytes", m_intern_null, "tri_intern: bytes is NULL", NULL},
	{"unattached tri_weak_make", m_u_weak_make, "tri_weak_make: thread not attached", NULL},
	{"unattached tri_intern", m_u_intern, "tri_intern: thread not attached", NULL},
	{"unattached tri_drain", m_u_drain, "tri_drain: thread not attached", NULL},
	{"unattached tri_thread_detach", m_u_detach, "tri_thread_detach: thread not attached", NULL},
	{"unattached tri_blocking_enter", m_u_blocking, "tri_blocking_enter: thread not attached", NULL},
	{"unattached tri_safepoint", m_u_safepoint, "tri_safepoint: thread not attached", NULL},
};
#define NMISUSE ((int)(sizeof misuses / sizeof misuses[0]))

static void run_misuse(void *arg)
{
	const struct misuse *m = arg;
	if (tri_init(NULL))
		child_fail("tri_init");
	m->fn();
	child_fail("%s: returned instead of aborting", m->name);
}

START_TEST(test_every_documented_misuse_aborts_with_its_message)
{
	const struct misuse *m = &misuses[_i];
	struct tsup_child c;
	tsup_capture_child(run_misuse, (void *)m, &c);
	ck_assert_msg(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGABRT,
		      "%s: child should die of SIGABRT; status 0x%x, stderr: %s", m->name, c.status, c.err);
	ck_assert_msg(strstr(c.err, m->msg1) != NULL, "%s: stderr lacks \"%s\": %s", m->name, m->msg1, c.err);
	if (m->msg2)
		ck_assert_msg(strstr(c.err, m->msg2) != NULL, "%s: stderr lacks \"%s\": %s", m->name,
			      m->msg2, c.err);
}
END_TEST

/* The same scenarios in the test process itself: Check expects SIGABRT. */
START_TEST(test_every_documented_misuse_raises_sigabrt_in_process)
{
	struct rlimit rl = {0, 0};
	setrlimit(RLIMIT_CORE, &rl);
	ck_assert_int_eq(tri_init(NULL), 0);
	misuses[_i].fn();
}
END_TEST

static void m_attach_before_init(void *arg)
{
	(void)arg;
	tri_thread_attach();
	child_fail("tri_thread_attach before tri_init returned");
}

START_TEST(test_attach_before_init_aborts_with_message)
{
	struct tsup_child c;
	tsup_capture_child(m_attach_before_init, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri_thread_attach: tri_init has not been called", NULL);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Asynchronous preemption (src/runtime/preempt.c)                   */
/* ---------------------------------------------------------------- */

/* A chain of objects whose only reference is a local of the thread that
 * blocks: if the preempted thread's stack or registers were not scanned,
 * the chain would be freed, poisoned (debug=poison) and reused by the
 * driver's allocations, and the check words would not survive. */
struct pchain {
	struct pchain *next;
	uintptr_t check;
	char pad[48];
};
#define PCHAIN_N 2000
#define PCHAIN_MAGIC 0x5eed5eed5eed5eedull

static __attribute__((noinline)) struct pchain *pchain_make(void)
{
	struct pchain *head = NULL;
	for (int i = 0; i < PCHAIN_N; i++) {
		struct pchain *n = tri_alloc(sizeof *n);
		CHILD_CHECK(n != NULL, "tri_alloc failed");
		n->check = (uintptr_t)n ^ PCHAIN_MAGIC;
		tri_store(&n->next, head);
		head = n;
	}
	return head;
}

static __attribute__((noinline)) long pchain_intact(const struct pchain *c)
{
	long ok = 0;
	for (; c; c = c->next)
		ok += c->check == ((uintptr_t)c ^ PCHAIN_MAGIC);
	return ok;
}

static int preempt_pipe[2];
static int preempt_ready;
static volatile int spin_stop;

/* Blocks in read() outside any blocking region, the chain in a local. */
static void *reader_main(void *arg)
{
	struct pchain *c = pchain_make();
	__atomic_store_n(&preempt_ready, 1, __ATOMIC_SEQ_CST);
	char b;
	while (read(preempt_pipe[0], &b, 1) < 0 && errno == EINTR)
		;
	*(long *)arg = pchain_intact(c);
	tri_keep_alive(c);
	return NULL;
}

/* Computes in its own code (no call, no safepoint) until told to stop. */
static void *spinner_main(void *arg)
{
	struct pchain *c = pchain_make();
	__atomic_store_n(&preempt_ready, 1, __ATOMIC_SEQ_CST);
	uint64_t x = 1;
	while (!spin_stop)
		x = x * 6364136223846793005ull + 1;
	*(long *)arg = pchain_intact(c) + (long)(x & 0);
	tri_keep_alive(c);
	return NULL;
}

/* Collections and allocation of the chain's size class. */
static void *preempt_driver_main(void *arg)
{
	struct blocked_driver *d = arg;
	uint64_t c0 = metric("/gc/cycles/total:gc-cycles");
	for (int i = 0; i < 10; i++) {
		tri_collect();
		for (int k = 0; k < 4000; k++)
			CHILD_CHECK(tri_alloc(sizeof(struct pchain)) != NULL, "tri_alloc failed");
	}
	d->cycles = metric("/gc/cycles/total:gc-cycles") - c0;
	__atomic_store_n(&d->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void wait_ready(void)
{
	for (int i = 0; i < 500 && !__atomic_load_n(&preempt_ready, __ATOMIC_SEQ_CST); i++)
		tsup_sleep_ms(10);
	CHILD_CHECK(preempt_ready, "the blocked thread never started");
}

static int wait_done(struct blocked_driver *d, int ms)
{
	for (int i = 0; i < ms / 10 && !__atomic_load_n(&d->done, __ATOMIC_SEQ_CST); i++)
		tsup_sleep_ms(10);
	return __atomic_load_n(&d->done, __ATOMIC_SEQ_CST);
}

/* Start the thread that holds the chain (and stalls), then, once it holds
 * it, the driver's collections. */
static void start_holder_and_driver(struct tsup_thread *holder, void *(*holder_main)(void *), long *intact,
				    struct tsup_thread *driver, struct blocked_driver *d)
{
	tsup_spawn(holder, holder_main, intact);
	wait_ready();
	tsup_spawn(driver, preempt_driver_main, d);
}

static void scenario_reader(void *arg)
{
	const char *opts = arg;
	CHILD_CHECK(pipe(preempt_pipe) == 0, "pipe");
	CHILD_CHECK(tri_init(opts) == 0, "tri_init(%s)", opts);
	int on = strstr(opts, "preempt_ms=off") == NULL;
	static long intact;
	static struct blocked_driver d;
	struct tsup_thread reader, driver;
	start_holder_and_driver(&reader, reader_main, &intact, &driver, &d);
	int done = wait_done(&d, on ? 20000 : 500);
	if (on)
		CHILD_CHECK(done, "10 collections did not finish in 20 s behind a thread blocked in read() "
				  "(%llu signals, %llu acted, %llu declined)",
			    (unsigned long long)metric("/sched/preempt/signals:signals"),
			    (unsigned long long)metric("/sched/preempt/acted:signals"),
			    (unsigned long long)metric("/sched/preempt/declined:signals"));
	else
		CHILD_CHECK(!done && d.cycles == 0,
			    "with preempt_ms=off a collection finished while a thread was blocked in read()");
	CHILD_CHECK(write(preempt_pipe[1], "x", 1) == 1, "write");
	tsup_join(&reader);
	tsup_join(&driver);
	CHILD_CHECK(intact == PCHAIN_N, "%ld of %d objects held by the blocked thread's stack survived", intact,
		    PCHAIN_N);
	uint64_t acted = metric("/sched/preempt/acted:signals");
	uint64_t sent = metric("/sched/preempt/signals:signals");
	if (on)
		CHILD_CHECK(acted >= 10, "only %llu preemptions acted", (unsigned long long)acted);
	else
		CHILD_CHECK(sent == 0, "%llu preemption signals with preempt_ms=off", (unsigned long long)sent);
	fprintf(stderr, "child: %llu cycles, %llu signals, %llu acted, %llu declined\n",
		(unsigned long long)d.cycles, (unsigned long long)sent, (unsigned long long)acted,
		(unsigned long long)metric("/sched/preempt/declined:signals"));
	_exit(0);
}

START_TEST(test_thread_blocked_in_read_without_blocking_region_is_preempted_and_its_stack_roots_survive)
{
	struct tsup_child c;
	tsup_capture_child(scenario_reader, "debug=poison+checkmark", &c);
	assert_child_ok(&c);
	printf("%s", c.err);
}
END_TEST

START_TEST(test_preempt_ms_off_leaves_collections_waiting_for_a_blocked_thread)
{
	struct tsup_child c;
	tsup_capture_child(scenario_reader, "preempt_ms=off", &c);
	assert_child_ok(&c);
}
END_TEST

static void scenario_spinner(void *arg)
{
	(void)arg;
	CHILD_CHECK(tri_init("debug=poison") == 0, "tri_init");
	static long intact;
	static struct blocked_driver d;
	struct tsup_thread spinner, driver;
	start_holder_and_driver(&spinner, spinner_main, &intact, &driver, &d);
	/* Until two signals were declined (a loaded machine may take a while
	 * to get there), the collection cannot finish. */
	for (int i = 0; i < 1000 && metric("/sched/preempt/declined:signals") < 2; i++)
		tsup_sleep_ms(10);
	int done = __atomic_load_n(&d.done, __ATOMIC_SEQ_CST);
	uint64_t acted = metric("/sched/preempt/acted:signals");
	uint64_t declined = metric("/sched/preempt/declined:signals");
	CHILD_CHECK(!done, "a collection finished while a thread computed without a safepoint");
	CHILD_CHECK(declined >= 2 && acted == 0,
		    "a thread computing in its own code: %llu preemptions declined, %llu acted (want >= 2, 0)",
		    (unsigned long long)declined, (unsigned long long)acted);
	spin_stop = 1;
	tsup_join(&spinner);
	CHILD_CHECK(wait_done(&d, 20000), "collections did not finish once the thread stopped computing");
	tsup_join(&driver);
	CHILD_CHECK(intact == PCHAIN_N, "%ld of %d objects held by the computing thread survived", intact,
		    PCHAIN_N);
	_exit(0);
}

START_TEST(test_thread_computing_without_safepoints_is_not_acted_on_by_a_signal)
{
	struct tsup_child c;
	tsup_capture_child(scenario_spinner, NULL, &c);
	assert_child_ok(&c);
}
END_TEST

static int user_sigurg;
static void on_sigurg(int sig)
{
	(void)sig;
	__atomic_add_fetch(&user_sigurg, 1, __ATOMIC_SEQ_CST);
}

/* The program installs its own SIGURG handler, then calls tri_init with
 * options (arg). */
static void install_sigurg_then_init(const char *opts)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigurg;
	CHILD_CHECK(sigaction(SIGURG, &sa, NULL) == 0, "sigaction");
	CHILD_CHECK(tri_init(opts) == 0, "tri_init(%s)", opts ? opts : "NULL");
}

static void scenario_user_sigurg(void *arg)
{
	(void)arg;
	struct sigaction now;
	install_sigurg_then_init(NULL);
	CHILD_CHECK(pthread_kill(pthread_self(), SIGURG) == 0, "pthread_kill");
	CHILD_CHECK(raise(SIGURG) == 0, "raise");
	CHILD_CHECK(user_sigurg == 2, "the program's SIGURG handler ran %d times, want 2", user_sigurg);
	/* ... through tricolor's handler, which forwards what it did not send. */
	sigaction(SIGURG, NULL, &now);
	CHILD_CHECK(now.sa_handler != on_sigurg, "tri_init did not install its handler on SIGURG");
	_exit(0);
}

static void scenario_other_signal(void *arg)
{
	(void)arg;
	struct sigaction now;
	install_sigurg_then_init("preempt_signal=34");
	sigaction(SIGURG, NULL, &now);
	CHILD_CHECK(now.sa_handler == on_sigurg, "preempt_signal=34 replaced the program's SIGURG handler");
	sigaction(34, NULL, &now);
	CHILD_CHECK(now.sa_handler != SIG_DFL, "no handler on signal 34");
	_exit(0);
}

START_TEST(test_program_signal_handler_still_receives_its_sigurg)
{
	struct tsup_child c;
	tsup_capture_child(scenario_user_sigurg, NULL, &c);
	assert_child_ok(&c);
	tsup_capture_child(scenario_other_signal, NULL, &c);
	assert_child_ok(&c);
}
END_TEST

static Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *mem = tcase_create("memory");
	tcase_set_timeout(mem, 60);
	tcase_add_test(mem, test_injected_commit_failures_give_enomem_and_allocation_recovers);
	tcase_add_test(mem, test_exhausted_heap_reserve_gives_enomem_and_freeing_makes_room);
	tcase_add_test(mem, test_cyclic_garbage_under_injected_failures_stays_bounded);
	tcase_add_test(mem, test_memory_limit_bounds_mapped_memory_with_16mb_live_set);
	tcase_add_test(mem, test_memory_limit_below_the_live_heap_turns_soft_with_rationed_collections);
	suite_add_tcase(s, mem);

	TCase *cb = tcase_create("callbacks");
	tcase_set_timeout(cb, 30);
	tcase_add_test(cb, test_finalizer_blocked_forever_does_not_stop_cleanups_collections_or_allocation);
	tcase_add_test(cb, test_finalizer_calling_pthread_exit_is_reported_and_later_finalizers_run);
	tcase_add_test(cb, test_cleanup_calling_pthread_exit_is_reported_and_later_cleanups_run);
	suite_add_tcase(s, cb);

	/* The library turns preemption off under ThreadSanitizer, which
	 * defers asynchronous signals (src/runtime/preempt.c). */
	if (TSUP_TSAN) {
		fprintf(stderr, "test_faults: ThreadSanitizer build: the preemption tests are skipped\n");
	} else {
		tcase_add_test(cb, test_finalizer_blocked_forever_without_blocking_region_does_not_stop_collections);
		TCase *pre = tcase_create("preempt");
		tcase_set_timeout(pre, 60);
		tcase_add_test(pre, test_thread_blocked_in_read_without_blocking_region_is_preempted_and_its_stack_roots_survive);
		tcase_add_test(pre, test_preempt_ms_off_leaves_collections_waiting_for_a_blocked_thread);
		tcase_add_test(pre, test_thread_computing_without_safepoints_is_not_acted_on_by_a_signal);
		tcase_add_test(pre, test_program_signal_handler_still_receives_its_sigurg);
		suite_add_tcase(s, pre);
	}

	TCase *mis = tcase_create("misuse");
	tcase_set_timeout(mis, 20);
	tcase_add_loop_test(mis, test_every_documented_misuse_aborts_with_its_message, 0, NMISUSE);
	tcase_add_loop_test_raise_signal(mis, test_every_documented_misuse_raises_sigabrt_in_process,
					 SIGABRT, 0, NMISUSE);
	tcase_add_test(mis, test_attach_before_init_aborts_with_message);
	suite_add_tcase(s, mis);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(faults_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
