/* SPDX-License-Identifier: MIT */
/*
 * test_threads.c - the allocator and the collector under several threads:
 * concurrent allocation (no overlapping live objects, contents intact),
 * attach/detach churn during collections, concurrent tri_collect calls, and
 * blocking-region misuse aborts.
 */
#include "test_support.h"

/* ---------------------------------------------------------------- */
/* Concurrent allocation                                             */
/* ---------------------------------------------------------------- */

#define ALLOC_THREADS 4

struct alloc_worker {
	int id;
	size_t nobj;
	void **roots;	  /* malloc'd, registered with tri_add_roots */
	uint32_t *sizes;  /* malloc'd */
	size_t bad;	  /* objects found corrupted by the worker itself */
};

static const uint32_t mixed_sizes[] = {8,  16, 24,  32,  40,	48,  64,  80,  96,  112,
				       128, 144, 200, 256, 320, 500, 1000, 2048, 4000, 9000};

static uint64_t obj_seed(int tid, size_t i)
{
	return ((uint64_t)tid << 40) ^ (uint64_t)i * 0x9e3779b97f4a7c15ull;
}

static void *concurrent_alloc_worker(void *a)
{
	struct alloc_worker *w = a;
	uint64_t r = tsup_mix((uint64_t)w->id + 1);
	for (size_t i = 0; i < w->nobj; i++) {
		r = tsup_mix(r + i);
		/* mostly small; a large object now and then */
		uint32_t n = mixed_sizes[r % 16];
		if (r % 997 == 0)
			n = mixed_sizes[16 + (r >> 20) % 4];
		if (r % 50000 == 1)
			n = 40000;
		unsigned char *p = (r & 0x100) ? tri_alloc_atomic(n) : tri_alloc(n);
		ck_assert_ptr_nonnull(p);
		ck_assert_int_eq((uintptr_t)p & 15, 0);
		tsup_fill(p, n, obj_seed(w->id, i));
		w->sizes[i] = n;
		tri_store(&w->roots[i], p);
		/* and some garbage, so cycles run while the live set grows */
		if ((i & 3) == 0) {
			char *g = tri_alloc(64 + (r >> 32) % 512);
			ck_assert_ptr_nonnull(g);
			g[0] = 1;
		}
		/* re-verify an earlier object now and then */
		if ((i & 1023) == 1023) {
			size_t j = (size_t)(r >> 8) % i;
			if (tsup_check_fill(w->roots[j], w->sizes[j], obj_seed(w->id, j)) != w->sizes[j])
				w->bad++;
		}
	}
	return NULL;
}

struct span_rec {
	uintptr_t lo, hi;
	int tid;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span_rec *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

START_TEST(test_concurrent_allocation_gives_disjoint_intact_objects)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	size_t nobj = (size_t)tsup_env_long("TRI_THREADS_OBJECTS", 200000);
	struct alloc_worker w[ALLOC_THREADS];
	struct tsup_thread th[ALLOC_THREADS];
	uint64_t cycles0 = tsup_metric("/gc/cycles/total:gc-cycles");
	for (int t = 0; t < ALLOC_THREADS; t++) {
		w[t].id = t;
		w[t].nobj = nobj;
		w[t].roots = calloc(nobj, sizeof(void *));
		w[t].sizes = calloc(nobj, sizeof(uint32_t));
		w[t].bad = 0;
		ck_assert_ptr_nonnull(w[t].roots);
		tri_add_roots(w[t].roots, w[t].roots + nobj);
	}
	for (int t = 0; t < ALLOC_THREADS; t++)
		tsup_spawn(&th[t], concurrent_alloc_worker, &w[t]);
	for (int t = 0; t < ALLOC_THREADS; t++)
		tsup_join(&th[t]);
	tri_collect();
	uint64_t cycles = tsup_metric("/gc/cycles/total:gc-cycles") - cycles0;
	ck_assert_msg(cycles >= 2, "only %llu cycles ran during the test", (unsigned long long)cycles);

	size_t total = ALLOC_THREADS * nobj, k = 0;
	struct span_rec *recs = malloc(total * sizeof *recs);
	ck_assert_ptr_nonnull(recs);
	for (int t = 0; t < ALLOC_THREADS; t++) {
		ck_assert_msg(w[t].bad == 0, "thread %d saw %zu corrupted objects", t, w[t].bad);
		for (size_t i = 0; i < nobj; i++) {
			unsigned char *p = w[t].roots[i];
			size_t n = w[t].sizes[i];
			ck_assert_ptr_eq(tri_base(p), p);
			ck_assert_uint_ge(tri_size(p), n);
			size_t off = tsup_check_fill(p, n, obj_seed(t, i));
			ck_assert_msg(off == n, "thread %d object %zu (%zu bytes at %p) differs at byte %zu", t,
				      i, n, (void *)p, off);
			recs[k].lo = (uintptr_t)p;
			recs[k].hi = (uintptr_t)p + n;
			recs[k].tid = t;
			k++;
		}
	}
	qsort(recs, total, sizeof *recs, cmp_span);
	for (size_t i = 1; i < total; i++)
		ck_assert_msg(recs[i - 1].hi <= recs[i].lo,
			      "objects overlap: [%#lx,%#lx) (thread %d) and [%#lx,%#lx) (thread %d)",
			      (unsigned long)recs[i - 1].lo, (unsigned long)recs[i - 1].hi, recs[i - 1].tid,
			      (unsigned long)recs[i].lo, (unsigned long)recs[i].hi, recs[i].tid);
	free(recs);
	for (int t = 0; t < ALLOC_THREADS; t++) {
		tri_remove_roots(w[t].roots, w[t].roots + nobj);
		free(w[t].roots);
		free(w[t].sizes);
	}
}
END_TEST

/* ---------------------------------------------------------------- */
/* Attach / detach churn while collections run                      */
/* ---------------------------------------------------------------- */

struct churn {
	int done;	/* set by the launcher */
	long finished;	/* threads that completed their work */
	long bad;	/* threads that found a corrupted list */
};

static void *churn_body(void *a)
{
	struct churn *c = a;
	tri_thread_attach();
	ck_assert_int_eq(tri_thread_is_attached(), 1);
	/* a list reachable only from this thread's stack */
	uintptr_t *head = NULL;
	for (uintptr_t i = 0; i < 2000; i++) {
		uintptr_t *n = tri_alloc(16 + (i % 7) * 16);
		ck_assert_ptr_nonnull(n);
		n[0] = (uintptr_t)head;
		n[1] = i ^ 0xabcdef;
		head = n;
		if (i % 500 == 0)
			tri_safepoint();
	}
	uintptr_t expect = 2000;
	for (uintptr_t *n = head; n; n = (uintptr_t *)n[0]) {
		expect--;
		if (n[1] != (expect ^ 0xabcdef) || tri_base(n) != n)
			__atomic_add_fetch(&c->bad, 1, __ATOMIC_SEQ_CST);
	}
	if (expect != 0)
		__atomic_add_fetch(&c->bad, 1, __ATOMIC_SEQ_CST);
	tri_thread_detach();
	ck_assert_int_eq(tri_thread_is_attached(), 0);
	__atomic_add_fetch(&c->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Not attached: only creates and joins threads. */
static void *churn_launcher(void *a)
{
	struct churn *c = a;
	for (int i = 0; i < 200; i++) {
		pthread_t th;
		ck_assert_int_eq(pthread_create(&th, NULL, churn_body, c), 0);
		ck_assert_int_eq(pthread_join(th, NULL), 0);
	}
	for (int i = 0; i < 200; i += 8) {
		pthread_t th[8];
		for (int j = 0; j < 8; j++)
			ck_assert_int_eq(pthread_create(&th[j], NULL, churn_body, c), 0);
		for (int j = 0; j < 8; j++)
			ck_assert_int_eq(pthread_join(th[j], NULL), 0);
	}
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

START_TEST(test_attach_detach_churn_during_collections)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	uint64_t attached0 = tsup_metric("/sched/threads/attached:threads");
	struct churn c = {0, 0, 0};
	pthread_t launcher;
	ck_assert_int_eq(pthread_create(&launcher, NULL, churn_launcher, &c), 0);
	long collections = 0;
	while (!__atomic_load_n(&c.done, __ATOMIC_SEQ_CST)) {
		tri_collect();
		collections++;
	}
	tri_blocking_enter();
	pthread_join(launcher, NULL);
	tri_blocking_leave();
	tri_collect();
	ck_assert_int_eq(c.finished, 400);
	ck_assert_int_eq(c.bad, 0);
	ck_assert_int_ge(collections, 1);
	ck_assert_uint_eq(tsup_metric("/sched/threads/attached:threads"), attached0);
}
END_TEST

/* A thread that exits while attached is detached by the key destructor. */
static void *exit_attached(void *a)
{
	(void)a;
	tri_thread_attach();
	ck_assert_ptr_nonnull(tri_alloc(64));
	return NULL;
}

START_TEST(test_thread_exiting_attached_is_detached)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	uint64_t attached0 = tsup_metric("/sched/threads/attached:threads");
	for (int i = 0; i < 20; i++) {
		pthread_t th;
		ck_assert_int_eq(pthread_create(&th, NULL, exit_attached, NULL), 0);
		tri_blocking_enter();
		pthread_join(th, NULL);
		tri_blocking_leave();
		tri_collect();
	}
	ck_assert_uint_eq(tsup_metric("/sched/threads/attached:threads"), attached0);
}
END_TEST

START_TEST(test_attach_is_idempotent_and_counted)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	uint64_t a0 = tsup_metric("/sched/threads/attached:threads");
	ck_assert_uint_ge(a0, 1);
	tri_thread_attach(); /* already attached: no-op */
	ck_assert_uint_eq(tsup_metric("/sched/threads/attached:threads"), a0);
	tri_thread_detach();
	ck_assert_int_eq(tri_thread_is_attached(), 0);
	ck_assert_uint_eq(tsup_metric("/sched/threads/attached:threads"), a0 - 1);
	tri_thread_attach();
	ck_assert_int_eq(tri_thread_is_attached(), 1);
	ck_assert_uint_eq(tsup_metric("/sched/threads/attached:threads"), a0);
	ck_assert_ptr_nonnull(tri_alloc(8));
}
END_TEST

/* ---------------------------------------------------------------- */
/* tri_collect from several threads                                  */
/* ---------------------------------------------------------------- */

struct collector_arg {
	int id;
	int bad;
};

static void *collect_many(void *a)
{
	struct collector_arg *c = a;
	/* each thread keeps a small list on its stack and checks it after
	 * every collection */
	uintptr_t *head = NULL;
	for (uintptr_t i = 0; i < 100; i++) {
		uintptr_t *n = tri_alloc(32);
		n[0] = (uintptr_t)head;
		n[1] = i * 7 + (uintptr_t)c->id;
		head = n;
	}
	for (int k = 0; k < 50; k++) {
		tri_collect();
		for (int g = 0; g < 200; g++)
			((volatile char *)tri_alloc(128))[0] = 1;
		uintptr_t i = 100;
		for (uintptr_t *n = head; n; n = (uintptr_t *)n[0])
			if (n[1] != --i * 7 + (uintptr_t)c->id)
				c->bad++;
		if (i != 0)
			c->bad++;
	}
	return NULL;
}

START_TEST(test_collect_from_four_threads_at_once)
{
	ck_assert_int_eq(tri_init("debug=checkmark"), 0);
	uint64_t c0 = tsup_metric("/gc/cycles/total:gc-cycles");
	struct tsup_thread th[4];
	struct collector_arg a[4];
	for (int i = 0; i < 4; i++) {
		a[i].id = i;
		a[i].bad = 0;
		tsup_spawn(&th[i], collect_many, &a[i]);
	}
	for (int i = 0; i < 4; i++)
		tsup_join(&th[i]);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(a[i].bad == 0, "thread %d saw a corrupted list", i);
	/* each thread's 50 calls each needed a full cycle that started after
	 * the call: at least 50 distinct cycles */
	uint64_t c = tsup_metric("/gc/cycles/total:gc-cycles") - c0;
	ck_assert_msg(c >= 50, "only %llu cycles for 4 x 50 tri_collect calls", (unsigned long long)c);
	ck_assert_uint_ge(tsup_metric("/gc/cycles/forced:gc-cycles"), 50);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Blocking-region misuse                                            */
/* ---------------------------------------------------------------- */

static void scenario_leave_without_enter(void *a)
{
	(void)a;
	if (tri_init(NULL))
		_exit(20);
	tri_blocking_leave();
	_exit(21);
}

START_TEST(test_blocking_leave_without_enter_aborts)
{
	struct tsup_child c;
	tsup_capture_child(scenario_leave_without_enter, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "not inside a blocking region", "tri_blocking_leave");
	scenario_leave_without_enter(NULL);
}
END_TEST

static void scenario_double_enter(void *a)
{
	(void)a;
	if (tri_init(NULL))
		_exit(20);
	tri_blocking_enter();
	tri_blocking_enter();
	_exit(21);
}

START_TEST(test_blocking_enter_twice_aborts)
{
	struct tsup_child c;
	tsup_capture_child(scenario_double_enter, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri_blocking_enter", "blocking region");
	scenario_double_enter(NULL);
}
END_TEST

static void scenario_detach_inside_blocking(void *a)
{
	(void)a;
	if (tri_init(NULL))
		_exit(20);
	tri_blocking_enter();
	tri_thread_detach();
	_exit(21);
}

START_TEST(test_detach_inside_blocking_region_aborts)
{
	struct tsup_child c;
	tsup_capture_child(scenario_detach_inside_blocking, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri_thread_detach", NULL);
	scenario_detach_inside_blocking(NULL);
}
END_TEST

static void *leave_unattached(void *a)
{
	(void)a;
	tri_blocking_leave();
	return NULL;
}

static void scenario_leave_unattached(void *a)
{
	(void)a;
	if (tri_init(NULL))
		_exit(20);
	pthread_t th;
	pthread_create(&th, NULL, leave_unattached, NULL);
	tri_blocking_enter();
	pthread_join(th, NULL);
	tri_blocking_leave();
	_exit(21);
}

START_TEST(test_blocking_leave_from_unattached_thread_aborts)
{
	struct tsup_child c;
	tsup_capture_child(scenario_leave_unattached, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "not attached", "tri_blocking_leave");
	scenario_leave_unattached(NULL);
}
END_TEST

static Suite *threads_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc = tcase_create("concurrency");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_concurrent_allocation_gives_disjoint_intact_objects);
	tcase_add_test(tc, test_attach_detach_churn_during_collections);
	tcase_add_test(tc, test_thread_exiting_attached_is_detached);
	tcase_add_test(tc, test_attach_is_idempotent_and_counted);
	tcase_add_test(tc, test_collect_from_four_threads_at_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("misuse");
	tcase_set_timeout(tc, 20);
	tcase_add_test_raise_signal(tc, test_blocking_leave_without_enter_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_blocking_enter_twice_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_detach_inside_blocking_region_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_blocking_leave_from_unattached_thread_aborts, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(threads_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
