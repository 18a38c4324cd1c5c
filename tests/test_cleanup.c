/* SPDX-License-Identifier: MIT */
/*
 * test_cleanup.c - tri_add_cleanup / tri_cleanup_stop (Go 1.24's
 * runtime.AddCleanup semantics) and the cleanup worker pool.
 *
 * As in test_finalizer.c, objects whose death is observed are built on a
 * helper thread and their addresses kept hidden; "collected" assertions
 * retry up to 10 cycles, "not run" assertions hold over several cycles.
 *
 * Knobs (make stress): TRI_CLEANUP_THREADS (4) x TRI_CLEANUP_PER_THREAD
 * (10000) cleanups in the exactly-once test.
 */
#include "test_callback_support.h"

#define DEBUG_OPTS "debug=checkmark+poison"

static long g_count, g_count2, g_bad, g_running, g_max_running;
static uintptr_t g_expect, g_expect_arg;
static void *g_root[4];

static void cleanup_noop(void *arg)
{
	(void)arg;
}

/* ================================================================ */
/* Misuse                                                            */
/* ================================================================ */

static void misuse_null_ptr(void *a)
{
	(void)a;
	tri_init(NULL);
	tri_add_cleanup(NULL, cleanup_noop, NULL);
}

static void misuse_null_fn(void *a)
{
	(void)a;
	tri_init(NULL);
	void *p = tri_alloc(32);
	tri_add_cleanup(p, NULL, NULL);
	tri_keep_alive(p);
}

static void misuse_malloc_ptr(void *a)
{
	(void)a;
	tri_init(NULL);
	void *m = malloc(32);
	tri_add_cleanup(m, cleanup_noop, NULL);
	free(m);
}

static void misuse_stack_ptr(void *a)
{
	(void)a;
	tri_init(NULL);
	long local[4] = {0};
	tri_add_cleanup(local, cleanup_noop, NULL);
	tri_keep_alive(local);
}

static void misuse_equal(void *a)
{
	(void)a;
	tri_init(NULL);
	void *p = tri_alloc(32);
	tri_add_cleanup(p, cleanup_noop, p);
	tri_keep_alive(p);
}

static void misuse_arg_inside(void *a)
{
	(void)a;
	tri_init(NULL);
	char *p = tri_alloc(64);
	tri_add_cleanup(p, cleanup_noop, p + 16);
	tri_keep_alive(p);
}

static void misuse_arg_inside_interior_ptr(void *a)
{
	(void)a;
	tri_init(NULL);
	char *p = tri_alloc(64);
	tri_add_cleanup(p + 40, cleanup_noop, p);
	tri_keep_alive(p);
}

static void death_test(void (*scenario)(void *), const char *msg)
{
	struct cbs_child c;
	cbs_capture_child(scenario, NULL, &c);
	cbs_assert_died(&c, SIGABRT, msg);
	scenario(NULL); /* the test itself expects SIGABRT */
}

START_TEST(test_add_cleanup_null_ptr_aborts_with_message)
{
	death_test(misuse_null_ptr, "tri_add_cleanup: ptr is NULL");
}
END_TEST

START_TEST(test_add_cleanup_null_fn_aborts_with_message)
{
	death_test(misuse_null_fn, "tri_add_cleanup: fn is NULL");
}
END_TEST

START_TEST(test_add_cleanup_malloc_ptr_aborts_with_message)
{
	death_test(misuse_malloc_ptr, "tri_add_cleanup: ptr not in allocated block");
}
END_TEST

START_TEST(test_add_cleanup_stack_ptr_aborts_with_message)
{
	death_test(misuse_stack_ptr, "tri_add_cleanup: ptr not in allocated block");
}
END_TEST

START_TEST(test_add_cleanup_ptr_equal_to_arg_aborts_with_message)
{
	death_test(misuse_equal, "tri_add_cleanup: ptr is equal to arg, cleanup will never run");
}
END_TEST

START_TEST(test_add_cleanup_arg_inside_object_aborts_with_message)
{
	death_test(misuse_arg_inside, "tri_add_cleanup: arg points into ptr's object, cleanup will never run");
}
END_TEST

START_TEST(test_add_cleanup_arg_is_base_of_interior_ptr_aborts_with_message)
{
	death_test(misuse_arg_inside_interior_ptr,
		   "tri_add_cleanup: arg points into ptr's object, cleanup will never run");
}
END_TEST

START_TEST(test_add_cleanup_on_zero_size_returns_zero_handle_that_stops_nothing)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	void *z = tri_alloc(0);
	tri_cleanup c = tri_add_cleanup(z, cbs_cleanup_inc, &g_count);
	ck_assert_uint_eq(c.id, 0);
	tri_cleanup_stop(c);
	tri_cleanup_stop(c);
	cbs_collect_n(3);
	ck_assert_int_eq(cbs_get(&g_count), 0);
	ck_assert_uint_eq(cbs_metric("/gc/cleanups/queued:cleanups"), 0);
}
END_TEST

static void cleanup_calls_drain(void *arg)
{
	(void)arg;
	tri_drain(100);
}

static void *build_drain_cleanup(void *a)
{
	(void)a;
	void *p = tri_alloc(32);
	tri_add_cleanup(p, cleanup_calls_drain, NULL);
	return NULL;
}

static void scenario_drain_in_cleanup(void *a)
{
	(void)a;
	cbs_build_then_collect(build_drain_cleanup);
}

START_TEST(test_drain_called_from_cleanup_aborts_with_message)
{
	struct cbs_child c;
	cbs_capture_child(scenario_drain_in_cleanup, NULL, &c);
	cbs_assert_died(&c, SIGABRT, "tri_drain");
	ck_assert_msg(strstr(c.err, "cleanup") != NULL, "message should say why: %s", c.err);
}
END_TEST

/* debug=checkfinalizers: a cleanup whose arg reaches its object. */
static void *build_arg_reaches_ptr(void *a)
{
	int bad = a != NULL;
	struct node *obj = tri_alloc(sizeof *obj);
	struct node *arg = tri_alloc(sizeof *arg);
	if (bad)
		arg->p = obj;
	tri_add_cleanup(obj, cleanup_noop, arg);
	TRI_STORE(g_root[0], obj); /* keep obj alive; the report runs each cycle */
	return NULL;
}

static void scenario_checkfinalizers(void *a)
{
	if (tri_init("debug=checkfinalizers"))
		_exit(3);
	tri_add_roots(g_root, g_root + 4);
	cbs_run_in_thread(build_arg_reaches_ptr, a);
	for (int i = 0; i < 3; i++) {
		tri_collect();
		tri_drain(2000);
	}
}

START_TEST(test_checkfinalizers_reports_cleanup_whose_arg_reaches_object)
{
	struct cbs_child c;
	cbs_capture_child(scenario_checkfinalizers, (void *)1, &c);
	cbs_assert_exited_ok(&c);
	ck_assert_msg(strstr(c.err, "can never run") != NULL, "no report: %s", c.err);
	ck_assert_msg(strstr(c.err, "cleanup") != NULL, "report should say cleanup: %s", c.err);
	cbs_capture_child(scenario_checkfinalizers, NULL, &c);
	cbs_assert_exited_ok(&c);
	ck_assert_msg(strstr(c.err, "can never run") == NULL, "false report: %s", c.err);
}
END_TEST

/* ================================================================ */
/* Semantics                                                         */
/* ================================================================ */

struct rec {
	long runs;
	long bad;
};

static struct rec g_rec;

static void cleanup_check_arg(void *arg)
{
	/* fn receives arg, never ptr */
	if (arg != &g_rec || arg == cbs_unhide(g_expect))
		cbs_inc(&g_bad);
	cbs_inc(&g_rec.runs);
	cbs_inc(&g_count);
}

static void *build_basic(void *a)
{
	(void)a;
	struct node *n = tri_alloc(sizeof *n);
	fill_node(n, 5);
	g_expect = cbs_hide(n);
	tri_cleanup c = tri_add_cleanup(n, cleanup_check_arg, &g_rec);
	ck_assert_uint_ne(c.id, 0);
	return NULL;
}

START_TEST(test_cleanup_runs_once_with_arg_and_object_is_freed_in_same_cycle)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_basic, NULL);
	int i;
	for (i = 0; i < 10; i++) {
		cbs_collect_n(1);
		if (cbs_get(&g_count))
			break;
		/* not yet queued: the object is still allocated */
		ck_assert(cbs_hidden_base(g_expect) == g_expect);
	}
	ck_assert_msg(cbs_get(&g_count) == 1, "cleanup never ran");
	/* Same cycle: no resurrection. */
	ck_assert_msg(cbs_hidden_base(g_expect) == cbs_hide(NULL),
		      "object still allocated after the cycle that queued its cleanup");
	cbs_collect_n(3);
	ck_assert_int_eq(cbs_get(&g_count), 1);
	ck_assert_int_eq(cbs_get(&g_bad), 0);
}
END_TEST

static long g_c1, g_c2, g_c3;

static void *build_three_interior(void *a)
{
	(void)a;
	char *p = tri_alloc(256);
	tri_add_cleanup(p, cbs_cleanup_inc, &g_c1);
	tri_add_cleanup(p + 8, cbs_cleanup_inc, &g_c2);
	tri_add_cleanup(p + 255, cbs_cleanup_inc, &g_c3);
	return NULL;
}

START_TEST(test_three_cleanups_with_interior_pointers_all_run_once)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_three_interior, NULL);
	ck_assert(cbs_collect_until(&g_c1, 1, 10));
	cbs_collect_n(2);
	ck_assert_int_eq(cbs_get(&g_c1), 1);
	ck_assert_int_eq(cbs_get(&g_c2), 1);
	ck_assert_int_eq(cbs_get(&g_c3), 1);
}
END_TEST

/* Large and pointer-free objects, interior pointers: run and freed. */
static uintptr_t g_large, g_atomic;

static void *build_large_atomic(void *a)
{
	(void)a;
	char *big = tri_alloc(1u << 20);
	char *at = tri_alloc_atomic(48);
	ck_assert_ptr_nonnull(big);
	g_large = cbs_hide(big);
	g_atomic = cbs_hide(at);
	tri_add_cleanup(big + (1u << 19), cbs_cleanup_inc, &g_c1);
	tri_add_cleanup(big, cbs_cleanup_inc, &g_c1);
	tri_add_cleanup(at + 40, cbs_cleanup_inc, &g_c2);
	return NULL;
}

START_TEST(test_cleanups_on_large_and_atomic_objects_run_and_free_them)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_large_atomic, NULL);
	ck_assert(cbs_collect_until(&g_c1, 2, 10));
	ck_assert(cbs_hidden_base(g_large) == cbs_hide(NULL));
	ck_assert(cbs_collect_until(&g_c2, 1, 10));
	ck_assert(cbs_hidden_base(g_atomic) == cbs_hide(NULL));
	cbs_collect_n(2);
	ck_assert_int_eq(cbs_get(&g_c1), 2);
	ck_assert_int_eq(cbs_get(&g_c2), 1);
}
END_TEST

/* arg kept alive while pending, collected after. */
static void cleanup_verify_arg(void *arg)
{
	struct node *n = arg;
	if (!node_ok(n) || tri_base(n) != n || n->p == NULL || !node_ok(n->p))
		cbs_inc(&g_bad);
	if (cbs_get(&g_count2) != 0) /* arg's own cleanup must not have run */
		cbs_inc(&g_bad);
	cbs_inc(&g_count);
}

static void cleanup_on_arg(void *arg)
{
	(void)arg;
	if (cbs_get(&g_count) != 1)
		cbs_inc(&g_bad);
	cbs_inc(&g_count2);
}

static void *build_heap_arg(void *a)
{
	(void)a;
	struct node *argref = tri_alloc(sizeof *argref);
	fill_node(argref, 99);
	struct node *arg = tri_alloc(sizeof *arg);
	fill_node(arg, 100);
	arg->p = argref;
	struct node *obj = tri_alloc(sizeof *obj);
	tri_add_cleanup(obj, cleanup_verify_arg, arg);
	tri_add_cleanup(arg, cleanup_on_arg, NULL);
	g_expect_arg = cbs_hide(arg);
	TRI_STORE(g_root[0], obj);
	return NULL;
}

static void *churn(void *a)
{
	long count = (long)a;
	for (long i = 0; i < count; i++) {
		struct node *n = tri_alloc(sizeof *n);
		memset(n->pad, 0x66, sizeof n->pad);
	}
	return NULL;
}

__attribute__((noinline)) static int arg_alive_and_intact(void)
{
	struct node *arg = cbs_unhide(g_expect_arg);
	return tri_base(arg) == (void *)arg && node_ok(arg);
}

/* Found a library bug: the cleanup worker kept the last arg it ran in a
 * stack slot (the `e.arg = NULL` store was removed by the compiler as dead)
 * and in callee-saved registers while it idled, so the conservative scan
 * kept arg alive for up to 1 s (fixed: clear_stack_ref, scrub_callee_saved). */
START_TEST(test_cleanup_arg_kept_alive_while_pending_and_collected_after)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	tri_add_roots(g_root, g_root + 4);
	cbs_run_in_thread(build_heap_arg, NULL);
	/* Only the cleanup record references arg: it must survive cycles. */
	for (int i = 0; i < 3; i++) {
		cbs_collect_n(1);
		cbs_run_in_thread(churn, (void *)20000);
	}
	ck_assert_int_eq(cbs_get(&g_count), 0);
	ck_assert_int_eq(cbs_get(&g_count2), 0);
	/* Check arg in a non-inlined helper: a local here would keep its
	 * address in this frame or a callee-saved register (a dead store of
	 * NULL is removed by the compiler), and the conservative scan of this
	 * thread's stack would keep arg alive. */
	ck_assert(arg_alive_and_intact());
	cbs_scrub_stack();
	TRI_STORE(g_root[0], NULL);
	ck_assert_msg(cbs_collect_until(&g_count, 1, 10), "cleanup never ran");
	ck_assert_msg(cbs_collect_until(&g_count2, 1, 10),
		      "arg never collected after its cleanup ran (arg %s)",
		      cbs_hidden_base(g_expect_arg) != cbs_hide(NULL) ? "still allocated" : "freed");
	ck_assert_int_eq(cbs_get(&g_bad), 0);
	ck_assert_int_eq(cbs_get(&g_count), 1);
	ck_assert_int_eq(cbs_get(&g_count2), 1);
}
END_TEST

/* Stop. */
static tri_cleanup g_h1, g_h2, g_h3;

static void *build_stop(void *a)
{
	(void)a;
	struct node *n = tri_alloc(sizeof *n);
	g_h1 = tri_add_cleanup(n, cbs_cleanup_inc, &g_c1);
	g_h2 = tri_add_cleanup(n, cbs_cleanup_inc, &g_c2);
	tri_cleanup_stop(g_h1);
	return NULL;
}

START_TEST(test_cleanup_stop_cancels_a_cleanup_not_yet_queued)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_stop, NULL);
	ck_assert(cbs_collect_until(&g_c2, 1, 10));
	cbs_collect_n(3);
	ck_assert_int_eq(cbs_get(&g_c1), 0);
	ck_assert_int_eq(cbs_get(&g_c2), 1);
	ck_assert_uint_ne(g_h1.id, g_h2.id);
}
END_TEST

static void *build_stop_all(void *a)
{
	(void)a;
	struct node *n = tri_alloc(sizeof *n);
	g_h1 = tri_add_cleanup(n, cbs_cleanup_inc, &g_c1);
	g_h2 = tri_add_cleanup(n, cbs_cleanup_inc, &g_c1);
	g_h3 = tri_add_cleanup(n, cbs_cleanup_inc, &g_c1);
	tri_cleanup_stop(g_h2);
	tri_cleanup_stop(g_h1);
	tri_cleanup_stop(g_h3);
	tri_add_cleanup(n, cbs_cleanup_inc, &g_c2); /* witness */
	return NULL;
}

START_TEST(test_cleanup_stop_multiple_none_run)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_stop_all, NULL);
	ck_assert(cbs_collect_until(&g_c2, 1, 10));
	cbs_collect_n(2);
	ck_assert_int_eq(cbs_get(&g_c1), 0);
}
END_TEST

/* Go's TestCleanupStopinterleavedMultiple: args 1,2,1,2,1, stop the 2s. */
static void cleanup_arg_kind(void *arg)
{
	if ((uintptr_t)arg == 1)
		cbs_inc(&g_c1);
	else
		cbs_inc(&g_c2);
}

static void *build_interleaved(void *a)
{
	(void)a;
	struct node *n = tri_alloc(sizeof *n);
	tri_cleanup h[5];
	for (int i = 0; i < 5; i++)
		h[i] = tri_add_cleanup(n, cleanup_arg_kind, (void *)(uintptr_t)(i % 2 ? 2 : 1));
	tri_cleanup_stop(h[1]);
	tri_cleanup_stop(h[3]);
	return NULL;
}

START_TEST(test_cleanup_stop_interleaved_multiple)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_interleaved, NULL);
	ck_assert(cbs_collect_until(&g_c1, 3, 10));
	cbs_collect_n(2);
	ck_assert_int_eq(cbs_get(&g_c1), 3);
	ck_assert_int_eq(cbs_get(&g_c2), 0);
}
END_TEST

/* Stop after the cleanup ran, twice, zero handle: no-ops. */
static void *build_one_cleanup(void *a)
{
	(void)a;
	struct node *n = tri_alloc(sizeof *n);
	g_expect = cbs_hide(n);
	g_h1 = tri_add_cleanup(n, cbs_cleanup_inc, &g_c1);
	return NULL;
}

START_TEST(test_cleanup_stop_after_run_twice_or_zero_is_noop)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_one_cleanup, NULL);
	ck_assert(cbs_collect_until(&g_c1, 1, 10));
	tri_cleanup_stop(g_h1);
	tri_cleanup_stop(g_h1);
	tri_cleanup zero = {0};
	tri_cleanup_stop(zero);
	cbs_collect_n(2);
	ck_assert_int_eq(cbs_get(&g_c1), 1);
	/* A stopped handle stopped again. */
	cbs_run_in_thread(build_stop, NULL);
	tri_cleanup_stop(g_h1);
	tri_cleanup_stop(g_h1);
	ck_assert(cbs_collect_until(&g_c2, 1, 10));
	ck_assert_int_eq(cbs_get(&g_c1), 1);
}
END_TEST

/* A stale handle never cancels a later cleanup, even on reused memory. */
static long g_reused;

static void *build_reuse(void *a)
{
	(void)a;
	void *target = cbs_unhide(g_expect);
	struct node *found = NULL;
	for (long i = 0; i < 200000 && !found; i++) {
		struct node *n = tri_alloc(sizeof *n);
		if ((void *)n == target)
			found = n;
	}
	if (!found)
		return NULL;
	cbs_set(&g_reused, 1);
	g_h2 = tri_add_cleanup(found, cbs_cleanup_inc, &g_c2);
	tri_cleanup_stop(g_h1); /* stale: must not touch g_h2 */
	return NULL;
}

START_TEST(test_stale_handle_never_cancels_cleanup_on_reused_memory)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	cbs_run_in_thread(build_one_cleanup, NULL);
	ck_assert(cbs_collect_until(&g_c1, 1, 10));
	ck_assert(cbs_hidden_base(g_expect) == cbs_hide(NULL));
	cbs_run_in_thread(build_reuse, NULL);
	ck_assert_msg(cbs_get(&g_reused), "the freed slot was never reused (test inconclusive)");
	ck_assert_uint_ne(g_h1.id, g_h2.id);
	ck_assert_msg(cbs_collect_until(&g_c2, 1, 10), "cleanup on reused memory never ran");
	ck_assert_int_eq(cbs_get(&g_c1), 1);
}
END_TEST

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void *build_ids(void *a)
{
	uint64_t *ids = a;
	struct node *n = NULL;
	for (int i = 0; i < 20000; i++) {
		if (i % 7 == 0)
			n = tri_alloc(sizeof *n);
		tri_cleanup c = tri_add_cleanup(n, cleanup_noop, NULL);
		ids[i] = c.id;
		if (i % 3 == 0)
			tri_cleanup_stop(c);
	}
	return NULL;
}

START_TEST(test_cleanup_handles_are_unique_and_nonzero)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	uint64_t *ids = calloc(40000, sizeof *ids);
	cbs_run_in_thread(build_ids, ids);
	cbs_collect_n(2);
	cbs_run_in_thread(build_ids, ids + 20000);
	qsort(ids, 40000, sizeof *ids, cmp_u64);
	ck_assert_uint_ne(ids[0], 0);
	for (int i = 1; i < 40000; i++)
		ck_assert_msg(ids[i] != ids[i - 1], "duplicate cleanup id %llu",
			      (unsigned long long)ids[i]);
	free(ids);
}
END_TEST

/* Finalizer first, cleanups when unreachable again. */
static long g_fin_ran, g_fin_saw_cleanups, g_cleanup_saw_fin;

static void fin_first(void *obj)
{
	if (!node_ok(obj))
		cbs_inc(&g_bad);
	cbs_set(&g_fin_saw_cleanups, cbs_get(&g_count));
	cbs_inc(&g_fin_ran);
}

static void cleanup_after_fin(void *arg)
{
	(void)arg;
	cbs_set(&g_cleanup_saw_fin, cbs_get(&g_fin_ran));
	cbs_inc(&g_count);
}

static void *build_fin_and_cleanups(void *a)
{
	(void)a;
	struct node *n = tri_alloc(sizeof *n);
	fill_node(n, 3);
	g_expect = cbs_hide(n);
	tri_add_cleanup(n, cleanup_after_fin, NULL);
	tri_set_finalizer(n, fin_first);
	tri_add_cleanup((char *)n + 16, cleanup_after_fin, NULL);
	return NULL;
}

START_TEST(test_finalizer_runs_first_then_cleanups_once_unreachable_again)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_fin_and_cleanups, NULL);
	ck_assert_msg(cbs_collect_until(&g_fin_ran, 1, 10), "finalizer never ran");
	ck_assert_int_eq(cbs_get(&g_count), 0); /* not in the same cycle */
	ck_assert(cbs_hidden_base(g_expect) == g_expect);
	ck_assert_msg(cbs_collect_until(&g_count, 2, 10),
		      "cleanups never ran after the finalizer (%ld of 2 ran, object %s)", cbs_get(&g_count),
		      cbs_hidden_base(g_expect) != cbs_hide(NULL) ? "still allocated" : "freed");
	ck_assert_int_eq(g_fin_saw_cleanups, 0);
	ck_assert_int_eq(g_cleanup_saw_fin, 1);
	ck_assert_int_eq(cbs_get(&g_bad), 0);
	cbs_collect_n(2);
	ck_assert_int_eq(cbs_get(&g_count), 2);
	ck_assert_int_eq(cbs_get(&g_fin_ran), 1);
}
END_TEST

/* Cleanups added while cycles run back to back: args intact when run. */
static volatile int g_stop;

static void *collector_loop(void *a)
{
	(void)a;
	while (!__atomic_load_n(&g_stop, __ATOMIC_SEQ_CST))
		tri_collect();
	return NULL;
}

static void cleanup_check_node(void *arg)
{
	struct node *n = arg;
	if (!node_ok(n) || !n->p || !node_ok(n->p))
		cbs_inc(&g_bad);
	cbs_inc(&g_count);
}

/* Builds at least *a objects, and goes on until at least 5 cycles ran
 * meanwhile (at most 5 s); *a receives the number built. */
static void *build_during_marking(void *a)
{
	long *countp = a, count = *countp, i;
	uint64_t c0 = cbs_metric("/gc/cycles/total:gc-cycles");
	double end = cbs_now() + 5.0 * (double)tsup_time_scale();
	for (i = 0; i < count || (cbs_metric("/gc/cycles/total:gc-cycles") - c0 < 5 && cbs_now() < end);
	     i++) {
		struct node *r = tri_alloc(sizeof *r);
		fill_node(r, (uint64_t)i + 7000);
		struct node *arg = tri_alloc(sizeof *arg);
		fill_node(arg, (uint64_t)i + 9000);
		TRI_STORE(arg->p, r);
		struct node *obj = tri_alloc(sizeof *obj);
		tri_add_cleanup(obj, cleanup_check_node, arg);
		r = arg = obj = NULL;
		for (int j = 0; j < 4; j++)
			(void)tri_alloc(sizeof(struct node));
	}
	*countp = i;
	return NULL;
}

START_TEST(test_cleanup_added_while_marking_gets_intact_arg)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	long n = 20000;
	uint64_t cycles0 = cbs_metric("/gc/cycles/total:gc-cycles");
	struct cbs_thread col;
	cbs_spawn(&col, collector_loop, NULL);
	cbs_run_in_thread(build_during_marking, &n);
	__atomic_store_n(&g_stop, 1, __ATOMIC_SEQ_CST);
	cbs_join(&col);
	uint64_t cycles = cbs_metric("/gc/cycles/total:gc-cycles") - cycles0;
	ck_assert_msg(cycles >= 3, "only %llu cycles overlapped", (unsigned long long)cycles);
	ck_assert_msg(cbs_collect_until(&g_count, n, 10), "%ld of %ld ran", cbs_get(&g_count), n);
	ck_assert_int_eq(cbs_get(&g_bad), 0);
	ck_assert_int_eq(cbs_get(&g_count), n);
}
END_TEST

/*
 * The checkmark stop against workers cycling the queue lock. A worker used
 * to take the queue lock inside a blocking region and leave the region
 * holding it: when the checkmark's stop began in between, the worker waited
 * in tri_blocking_leave for the stop to end, holding the lock the stopped
 * world's checkmark then waited for (it visits the queued callbacks). Found
 * by the TSan run of the test above (a hang, about 1 run in 10); here many
 * short cleanups keep four workers taking the lock while cycles run back to
 * back, each ending in a checkmark stop. A deadlock fails on the timeout.
 */
static void cleanup_count(void *arg)
{
	(void)arg;
	cbs_inc(&g_count);
}

static void *add_cleanups_for_a_while(void *a)
{
	long *countp = a, i = 0;
	uint64_t c0 = cbs_metric("/gc/cycles/total:gc-cycles");
	double end = cbs_now() + 2.0 * (double)tsup_time_scale();
	while (cbs_now() < end || cbs_metric("/gc/cycles/total:gc-cycles") - c0 < 20) {
		for (int j = 0; j < 64; j++, i++) {
			void *obj = tri_alloc(16);
			tri_add_cleanup(obj, cleanup_count, NULL);
		}
	}
	*countp = i;
	return NULL;
}

START_TEST(test_checkmark_stop_never_deadlocks_with_workers_taking_the_queue_lock)
{
	ck_assert_int_eq(tri_init("debug=checkmark,cleanup_workers=4"), 0);
	long n = 0;
	struct cbs_thread col;
	cbs_spawn(&col, collector_loop, NULL);
	cbs_run_in_thread(add_cleanups_for_a_while, &n);
	__atomic_store_n(&g_stop, 1, __ATOMIC_SEQ_CST);
	cbs_join(&col);
	ck_assert_msg(cbs_collect_until(&g_count, n, 10), "%ld of %ld ran", cbs_get(&g_count), n);
	ck_assert_int_eq(cbs_get(&g_count), n);
}
END_TEST

/* ================================================================ */
/* The worker pool                                                   */
/* ================================================================ */

static struct cbs_barrier g_barrier;
static long g_barrier_ok;

static void cleanup_meet(void *arg)
{
	(void)arg;
	if (cbs_barrier_wait(&g_barrier, 5000))
		cbs_inc(&g_barrier_ok);
	cbs_inc(&g_count);
}

static void *build_two_meeting(void *a)
{
	(void)a;
	struct node *x = tri_alloc(sizeof *x), *y = tri_alloc(sizeof *y);
	tri_add_cleanup(x, cleanup_meet, NULL);
	tri_add_cleanup(y, cleanup_meet, NULL);
	return NULL;
}

START_TEST(test_cleanups_run_concurrently_on_a_pool)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	cbs_barrier_init(&g_barrier, 2);
	cbs_run_in_thread(build_two_meeting, NULL);
	ck_assert(cbs_collect_until(&g_count, 2, 10));
	ck_assert_msg(cbs_get(&g_barrier_ok) == 2, "cleanups did not overlap (%ld of 2 met)",
		      cbs_get(&g_barrier_ok));
	ck_assert_uint_ge(cbs_metric("/gc/cleanups/workers-peak:threads"), 2);
}
END_TEST

static long g_release, g_fin_started;

static void fin_block(void *obj)
{
	(void)obj;
	cbs_set(&g_fin_started, 1);
	cbs_wait_count(&g_release, 1, 10000);
}

static void *build_blocking_fin(void *a)
{
	(void)a;
	struct node *n = tri_alloc(sizeof *n);
	tri_set_finalizer(n, fin_block);
	return NULL;
}

START_TEST(test_blocked_finalizer_does_not_stop_cleanups)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	cbs_run_in_thread(build_blocking_fin, NULL);
	for (int i = 0; i < 10 && !cbs_get(&g_fin_started); i++) {
		cbs_scrub_stack();
		tri_collect();
		cbs_wait_count(&g_fin_started, 1, 200);
	}
	ck_assert(cbs_get(&g_fin_started));
	cbs_run_in_thread(build_three_interior, NULL);
	for (int i = 0; i < 10 && cbs_get(&g_c1) == 0; i++) {
		cbs_scrub_stack();
		tri_collect();
		cbs_wait_count(&g_c1, 1, 500);
	}
	ck_assert_msg(cbs_get(&g_c1) == 1 && cbs_wait_count(&g_c3, 1, 2000),
		      "cleanups did not run while a finalizer blocked");
	ck_assert_int_eq(cbs_get(&g_release), 0);
	cbs_set(&g_release, 1);
	ck_assert_int_eq(tri_drain(tsup_ms(10000)), 0);
}
END_TEST

/* Many threads x many cleanups: each runs exactly once. */
static long *g_hits;

static void cleanup_hit(void *arg)
{
	long running = cbs_inc(&g_running);
	cbs_max(&g_max_running, running);
	cbs_inc(&g_hits[(uintptr_t)arg - 1]);
	cbs_dec(&g_running);
	cbs_inc(&g_count);
}

struct many_job {
	long first, count;
};

static void *build_many(void *a)
{
	struct many_job *j = a;
	for (long i = 0; i < j->count; i++) {
		struct node *n = tri_alloc(sizeof *n);
		tri_add_cleanup(n, cleanup_hit, (void *)(uintptr_t)(j->first + i + 1));
		if (i % 5 == 0) /* some with a stopped sibling */
			tri_cleanup_stop(tri_add_cleanup(n, cleanup_hit, (void *)(uintptr_t)1));
	}
	return NULL;
}

START_TEST(test_many_threads_many_cleanups_each_run_exactly_once)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	long nthreads = cbs_env_long("TRI_CLEANUP_THREADS", 4);
	long per = cbs_env_long("TRI_CLEANUP_PER_THREAD", 10000);
	long total = nthreads * per;
	g_hits = calloc((size_t)total, sizeof *g_hits);
	struct many_job *jobs = calloc((size_t)nthreads, sizeof *jobs);
	struct cbs_thread *th = calloc((size_t)nthreads, sizeof *th);
	uint64_t q0 = cbs_metric("/gc/cleanups/queued:cleanups");
	uint64_t e0 = cbs_metric("/gc/cleanups/executed:cleanups");
	for (long t = 0; t < nthreads; t++) {
		jobs[t].first = t * per;
		jobs[t].count = per;
		cbs_spawn(&th[t], build_many, &jobs[t]);
	}
	for (long t = 0; t < nthreads; t++)
		cbs_join(&th[t]);
	ck_assert_msg(cbs_collect_until(&g_count, total, 10), "%ld of %ld cleanups ran",
		      cbs_get(&g_count), total);
	cbs_collect_n(2);
	ck_assert_int_eq(cbs_get(&g_count), total);
	for (long i = 0; i < total; i++)
		ck_assert_msg(g_hits[i] == 1, "cleanup %ld ran %ld times", i, g_hits[i]);
	ck_assert_uint_eq(cbs_metric("/gc/cleanups/queued:cleanups") - q0, (uint64_t)total);
	ck_assert_uint_eq(cbs_metric("/gc/cleanups/executed:cleanups") - e0, (uint64_t)total);
	/* The pool never exceeds cleanup_workers (default max(4, ncpu)). */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	ck_assert_uint_le(cbs_metric("/gc/cleanups/workers-peak:threads"), (uint64_t)(ncpu > 4 ? ncpu : 4));
	ck_assert_uint_le(cbs_metric("/gc/cleanups/workers:threads"), (uint64_t)(ncpu > 4 ? ncpu : 4));
	free(g_hits);
	free(jobs);
	free(th);
}
END_TEST

static void cleanup_serial(void *arg)
{
	(void)arg;
	long running = cbs_inc(&g_running);
	cbs_max(&g_max_running, running);
	cbs_sleep_ms(5);
	cbs_dec(&g_running);
	cbs_inc(&g_count);
}

static void *build_serial(void *a)
{
	long count = (long)a;
	for (long i = 0; i < count; i++) {
		struct node *n = tri_alloc(sizeof *n);
		tri_add_cleanup(n, cleanup_serial, NULL);
	}
	return NULL;
}

START_TEST(test_one_cleanup_worker_runs_cleanups_serially)
{
	ck_assert_int_eq(tri_init("cleanup_workers=1"), 0);
	cbs_run_in_thread(build_serial, (void *)60);
	ck_assert(cbs_collect_until(&g_count, 60, 10));
	ck_assert_int_eq(cbs_get(&g_max_running), 1);
	ck_assert_uint_eq(cbs_metric("/gc/cleanups/workers-peak:threads"), 1);
}
END_TEST

START_TEST(test_default_pool_overlaps_slow_cleanups)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	cbs_run_in_thread(build_serial, (void *)60);
	ck_assert(cbs_collect_until(&g_count, 60, 10));
	ck_assert_int_ge(cbs_get(&g_max_running), 2);
}
END_TEST

static Suite *cleanup_suite(void)
{
	Suite *s = suite_create("cleanup");
	TCase *tc;

	tc = tcase_create("misuse");
	tcase_set_timeout(tc, 20);
	tcase_add_test_raise_signal(tc, test_add_cleanup_null_ptr_aborts_with_message, SIGABRT);
	tcase_add_test_raise_signal(tc, test_add_cleanup_null_fn_aborts_with_message, SIGABRT);
	tcase_add_test_raise_signal(tc, test_add_cleanup_malloc_ptr_aborts_with_message, SIGABRT);
	tcase_add_test_raise_signal(tc, test_add_cleanup_stack_ptr_aborts_with_message, SIGABRT);
	tcase_add_test_raise_signal(tc, test_add_cleanup_ptr_equal_to_arg_aborts_with_message, SIGABRT);
	tcase_add_test_raise_signal(tc, test_add_cleanup_arg_inside_object_aborts_with_message, SIGABRT);
	tcase_add_test_raise_signal(tc, test_add_cleanup_arg_is_base_of_interior_ptr_aborts_with_message,
				    SIGABRT);
	tcase_add_test(tc, test_add_cleanup_on_zero_size_returns_zero_handle_that_stops_nothing);
	tcase_add_test(tc, test_drain_called_from_cleanup_aborts_with_message);
	tcase_add_test(tc, test_checkfinalizers_reports_cleanup_whose_arg_reaches_object);
	suite_add_tcase(s, tc);

	tc = tcase_create("semantics");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_cleanup_runs_once_with_arg_and_object_is_freed_in_same_cycle);
	tcase_add_test(tc, test_three_cleanups_with_interior_pointers_all_run_once);
	tcase_add_test(tc, test_cleanups_on_large_and_atomic_objects_run_and_free_them);
	tcase_add_test(tc, test_cleanup_arg_kept_alive_while_pending_and_collected_after);
	tcase_add_test(tc, test_cleanup_stop_cancels_a_cleanup_not_yet_queued);
	tcase_add_test(tc, test_cleanup_stop_multiple_none_run);
	tcase_add_test(tc, test_cleanup_stop_interleaved_multiple);
	tcase_add_test(tc, test_cleanup_stop_after_run_twice_or_zero_is_noop);
	tcase_add_test(tc, test_stale_handle_never_cancels_cleanup_on_reused_memory);
	tcase_add_test(tc, test_cleanup_handles_are_unique_and_nonzero);
	tcase_add_test(tc, test_finalizer_runs_first_then_cleanups_once_unreachable_again);
	tcase_add_test(tc, test_cleanup_added_while_marking_gets_intact_arg);
	tcase_add_test(tc, test_checkmark_stop_never_deadlocks_with_workers_taking_the_queue_lock);
	suite_add_tcase(s, tc);

	tc = tcase_create("pool");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cleanups_run_concurrently_on_a_pool);
	tcase_add_test(tc, test_blocked_finalizer_does_not_stop_cleanups);
	tcase_add_test(tc, test_many_threads_many_cleanups_each_run_exactly_once);
	tcase_add_test(tc, test_one_cleanup_worker_runs_cleanups_serially);
	tcase_add_test(tc, test_default_pool_overlaps_slow_cleanups);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cleanup_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
