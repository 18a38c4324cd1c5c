/* SPDX-License-Identifier: MIT */
/*
 * test_finalizer.c - tri_set_finalizer (Go's runtime.SetFinalizer
 * semantics) and tri_drain.
 *
 * Objects whose death a test observes are built on a helper thread (which
 * then exits) and their addresses are kept only in hidden form in memory
 * the collector does not scan, so conservative scanning of the test's own
 * stack cannot keep them alive by chance. Assertions that something is
 * collected retry up to 10 cycles; assertions that something is NOT
 * finalized or freed hold over 10 cycles.
 *
 * Knobs (make stress): TRI_FIN_MANY (100000 finalizers),
 * TRI_FIN_MARKING (objects given finalizers while cycles run back to back).
 */
#include "test_callback_support.h"

#include <sched.h>

/* Exported (non-static) so the slow-finalizer report can name it via
 * dladdr; the program is linked with -export-dynamic. */
void slow_finalizer_sleeper(void *obj);

/* Shared state of one test (each test runs in its own forked process). */
static long g_count, g_count2, g_bad, g_seq, g_running, g_max_running;
static uintptr_t g_expect; /* hidden address */
static uintptr_t g_expect2;
static long g_a_order, g_b_order, g_b_saw_a;
static void *g_root[4];

/* ================================================================ */
/* Misuse: exact messages                                            */
/* ================================================================ */

static void fin_noop(void *obj)
{
	(void)obj;
}

static void misuse_null(void *a)
{
	(void)a;
	tri_init(NULL);
	tri_set_finalizer(NULL, fin_noop);
}

static void misuse_malloc(void *a)
{
	(void)a;
	tri_init(NULL);
	void *m = malloc(64);
	tri_set_finalizer(m, fin_noop);
	free(m);
}

static void misuse_stack(void *a)
{
	(void)a;
	tri_init(NULL);
	long local[4] = {0};
	tri_set_finalizer(local, fin_noop);
	tri_keep_alive(local);
}

static void misuse_interior(void *a)
{
	(void)a;
	tri_init(NULL);
	char *p = tri_alloc(64);
	tri_set_finalizer(p + 8, fin_noop);
	tri_keep_alive(p);
}

static void misuse_twice(void *a)
{
	(void)a;
	tri_init(NULL);
	void *p = tri_alloc(64);
	tri_set_finalizer(p, fin_noop);
	tri_set_finalizer(p, fin_noop);
	tri_keep_alive(p);
}

static void death_test(void (*scenario)(void *), const char *msg)
{
	struct cbs_child c;
	cbs_capture_child(scenario, NULL, &c);
	cbs_assert_died(&c, SIGABRT, msg);
	/* And in the test process itself (the test expects SIGABRT). */
	scenario(NULL);
}

START_TEST(test_set_finalizer_on_null_aborts_with_message)
{
	death_test(misuse_null, "tri_set_finalizer: pointer is NULL");
}
END_TEST

START_TEST(test_set_finalizer_on_malloc_pointer_aborts_with_message)
{
	death_test(misuse_malloc, "tri_set_finalizer: pointer not in allocated block");
}
END_TEST

START_TEST(test_set_finalizer_on_stack_pointer_aborts_with_message)
{
	death_test(misuse_stack, "tri_set_finalizer: pointer not in allocated block");
}
END_TEST

START_TEST(test_set_finalizer_on_interior_pointer_aborts_with_message)
{
	death_test(misuse_interior, "tri_set_finalizer: pointer not at beginning of allocated block");
}
END_TEST

START_TEST(test_set_finalizer_twice_aborts_with_message)
{
	death_test(misuse_twice, "tri_set_finalizer: finalizer already set");
}
END_TEST

static void fin_count(void *obj)
{
	(void)obj;
	cbs_inc(&g_count);
}

START_TEST(test_set_finalizer_on_zero_size_address_is_silent_noop)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	void *z = tri_alloc(0);
	ck_assert_ptr_nonnull(z);
	tri_set_finalizer(z, fin_count);
	tri_set_finalizer(z, fin_count); /* not "already set": ignored */
	tri_set_finalizer(z, NULL);
	cbs_collect_n(3);
	ck_assert_int_eq(cbs_get(&g_count), 0);
	ck_assert_uint_eq(cbs_metric("/gc/finalizers/queued:finalizers"), 0);
}
END_TEST

/* tri_drain from inside a finalizer aborts. */
static void fin_calls_drain(void *obj)
{
	(void)obj;
	tri_drain(100);
}

static void *build_drain_obj(void *a)
{
	(void)a;
	void *p = tri_alloc(32);
	tri_set_finalizer(p, fin_calls_drain);
	return NULL;
}

static void scenario_drain_in_finalizer(void *a)
{
	(void)a;
	cbs_build_then_collect(build_drain_obj);
}

START_TEST(test_drain_called_from_finalizer_aborts_with_message)
{
	struct cbs_child c;
	cbs_capture_child(scenario_drain_in_finalizer, NULL, &c);
	cbs_assert_died(&c, SIGABRT, "tri_drain");
	ck_assert_msg(strstr(c.err, "finalizer") != NULL, "message should say why: %s", c.err);
}
END_TEST

/* Slow finalizer report. */
void slow_finalizer_sleeper(void *obj)
{
	(void)obj;
	cbs_sleep_ms(400);
	cbs_inc(&g_count);
}

static void *build_slow_obj(void *a)
{
	(void)a;
	void *p = tri_alloc(32);
	tri_set_finalizer(p, slow_finalizer_sleeper);
	return NULL;
}

static void scenario_slow_finalizer(void *a)
{
	(void)a;
	if (tri_init("slow_finalizer_ms=100"))
		_exit(3);
	cbs_run_in_thread(build_slow_obj, NULL);
	for (int i = 0; i < 10 && cbs_get(&g_count) == 0; i++) {
		cbs_scrub_stack();
		tri_collect();
		if (tri_drain(tsup_ms(5000)))
			_exit(4);
	}
	_exit(cbs_get(&g_count) == 1 ? 0 : 5);
}

START_TEST(test_slow_finalizer_is_reported_on_stderr_with_its_name)
{
	struct cbs_child c;
	cbs_capture_child(scenario_slow_finalizer, NULL, &c);
	cbs_assert_exited_ok(&c);
	ck_assert_msg(strstr(c.err, "slow finalizer") != NULL, "no report: %s", c.err);
	ck_assert_msg(strstr(c.err, "slow_finalizer_sleeper") != NULL, "report lacks the name: %s",
		      c.err);
}
END_TEST

/* debug=checkfinalizers: an object that reaches itself. */
static void *build_self_ref(void *a)
{
	(void)a;
	struct node *n = tri_alloc(sizeof *n);
	n->p = n;
	tri_set_finalizer(n, fin_noop);
	/* a well-formed one too */
	struct node *m = tri_alloc(sizeof *m);
	tri_set_finalizer(m, fin_count);
	return NULL;
}

static void *build_plain_fin(void *a)
{
	(void)a;
	struct node *m = tri_alloc(sizeof *m);
	tri_set_finalizer(m, fin_count);
	return NULL;
}

static void scenario_checkfinalizers(void *a)
{
	if (tri_init("debug=checkfinalizers"))
		_exit(3);
	cbs_run_in_thread(a ? build_self_ref : build_plain_fin, NULL);
	for (int i = 0; i < 3; i++) {
		tri_collect();
		tri_drain(2000);
	}
}

START_TEST(test_checkfinalizers_reports_object_reachable_from_itself)
{
	struct cbs_child c;
	cbs_capture_child(scenario_checkfinalizers, (void *)1, &c);
	cbs_assert_exited_ok(&c);
	ck_assert_msg(strstr(c.err, "can never run") != NULL, "no report: %s", c.err);
	ck_assert_msg(strstr(c.err, "fin_noop") != NULL || strstr(c.err, "finalizer") != NULL,
		      "report should name the finalizer: %s", c.err);
	/* Control: a finalizer on an ordinary object is not reported. */
	cbs_capture_child(scenario_checkfinalizers, NULL, &c);
	cbs_assert_exited_ok(&c);
	ck_assert_msg(strstr(c.err, "can never run") == NULL, "false report: %s", c.err);
}
END_TEST

/* ================================================================ */
/* Basic semantics (under checkmark+poison)                          */
/* ================================================================ */

#define DEBUG_OPTS "debug=checkmark+poison"

static void fin_record(void *obj)
{
	struct node *n = obj;
	if (obj != cbs_unhide(g_expect) || !node_ok(n))
		cbs_inc(&g_bad);
	cbs_inc(&g_count);
}

static void *build_one(void *fn)
{
	struct node *n = tri_alloc(sizeof *n);
	fill_node(n, 42);
	g_expect = cbs_hide(n);
	tri_set_finalizer(n, (void (*)(void *))fn);
	return NULL;
}

/* Wait until the object at hidden address h is freed (tri_base NULL). */
static int freed_within(uintptr_t h, int tries)
{
	for (int i = 1; i <= tries; i++) {
		cbs_collect_n(1);
		if (cbs_hidden_base(h) != h)
			return i;
	}
	return 0;
}

START_TEST(test_finalizer_runs_once_with_object_when_unreachable)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_one, (void *)fin_record);
	ck_assert_msg(cbs_collect_until(&g_count, 1, 10), "finalizer never ran");
	ck_assert_int_eq(cbs_get(&g_bad), 0);
	/* Resurrected: the cycle that queued the finalizer did not free it. */
	struct node *n = cbs_unhide(g_expect);
	ck_assert_ptr_eq(tri_base(n), n);
	ck_assert(node_ok(n));
	n = NULL;
	/* Memory is freed only by a later cycle; the finalizer never reruns. */
	ck_assert_msg(freed_within(g_expect, 10), "object never freed after its finalizer ran");
	cbs_collect_n(3);
	ck_assert_int_eq(cbs_get(&g_count), 1);
}
END_TEST

/* Referents are kept alive for the finalizer. */
static void fin_check_referent(void *obj)
{
	struct node *n = obj;
	if (!n->p || !node_ok(n->p) || !node_ok(n))
		cbs_inc(&g_bad);
	cbs_inc(&g_count);
}

static void *build_with_referent(void *a)
{
	(void)a;
	struct node *b = tri_alloc(sizeof *b);
	fill_node(b, 7);
	struct node *n = tri_alloc(sizeof *n);
	fill_node(n, 8);
	n->p = b;
	b = NULL;
	tri_set_finalizer(n, fin_check_referent);
	return NULL;
}

START_TEST(test_finalizer_keeps_object_and_referents_alive_for_the_call)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_with_referent, NULL);
	ck_assert(cbs_collect_until(&g_count, 1, 10));
	ck_assert_int_eq(cbs_get(&g_bad), 0);
}
END_TEST

/* Resurrection into a root. */
static void fin_resurrect(void *obj)
{
	TRI_STORE(g_root[0], obj);
	cbs_inc(&g_count);
}

/* What the root holds after the resurrection: 0 if it is the object, at
 * its base and intact, else which of those failed. noinline so that the
 * object's address stays out of the test function's frame: there a stale
 * copy (the "n = NULL" of an inline version is a dead store the compiler
 * drops) kept the dropped object alive by chance and the test failed. */
static CBS_NOINLINE int check_resurrected(void)
{
	struct node *n = tri_load(&g_root[0]);
	if (n != cbs_unhide(g_expect))
		return 1;
	if (tri_base(n) != n)
		return 2;
	return node_ok(n) ? 0 : 3;
}

START_TEST(test_finalizer_may_resurrect_object_into_a_root)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	tri_add_roots(g_root, g_root + 4);
	cbs_run_in_thread(build_one, (void *)fin_resurrect);
	ck_assert(cbs_collect_until(&g_count, 1, 10));
	cbs_collect_n(10);
	ck_assert_int_eq(cbs_get(&g_count), 1); /* never runs again */
	int bad = check_resurrected();
	ck_assert_msg(bad == 0, "the root %s", bad == 1 ? "does not hold the resurrected object"
				: bad == 2 ? "holds an interior pointer" : "holds a corrupted object");
	TRI_STORE(g_root[0], NULL);
	ck_assert_msg(freed_within(g_expect, 10), "dropped resurrected object never freed");
	ck_assert_int_eq(cbs_get(&g_count), 1);
}
END_TEST

/* Re-arming: the finalizer sets a new finalizer on its object. */
static void fin_rearm(void *obj)
{
	if (!node_ok(obj))
		cbs_inc(&g_bad);
	if (cbs_inc(&g_count) < 3)
		tri_set_finalizer(obj, fin_rearm);
}

START_TEST(test_finalizer_may_rearm_itself_and_runs_again)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_one, (void *)fin_rearm);
	ck_assert_msg(cbs_collect_until(&g_count, 3, 20), "re-armed finalizer ran %ld times",
		      cbs_get(&g_count));
	ck_assert_msg(freed_within(g_expect, 10), "object never freed");
	cbs_collect_n(2);
	ck_assert_int_eq(cbs_get(&g_count), 3);
	ck_assert_int_eq(cbs_get(&g_bad), 0);
}
END_TEST

/* Clearing with NULL. */
static void *build_cleared(void *a)
{
	(void)a;
	struct node *n = tri_alloc(sizeof *n);
	g_expect = cbs_hide(n);
	tri_set_finalizer(n, fin_count);
	tri_set_finalizer(n, NULL);
	tri_set_finalizer(n, NULL); /* silent when none */
	tri_set_finalizer(n, fin_count); /* settable again after clearing */
	tri_set_finalizer(n, NULL);
	return NULL;
}

START_TEST(test_finalizer_cleared_with_null_never_runs)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_cleared, NULL);
	ck_assert_msg(freed_within(g_expect, 10), "object with a cleared finalizer never freed");
	cbs_collect_n(2);
	ck_assert_int_eq(cbs_get(&g_count), 0);
}
END_TEST

/* tri_keep_alive (Go's TestDeferKeepAlive shape). */
START_TEST(test_keep_alive_prevents_finalizer_while_object_is_used)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	struct node *n = tri_alloc(sizeof *n);
	tri_set_finalizer(n, fin_count);
	cbs_collect_n(3);
	ck_assert_int_eq(cbs_get(&g_count), 0);
	tri_keep_alive(n);
}
END_TEST

/* Dependency order. */
static void fin_a(void *obj)
{
	(void)obj;
	cbs_set(&g_a_order, cbs_inc(&g_seq));
	cbs_inc(&g_count);
}

static void fin_b(void *obj)
{
	if (!node_ok(obj))
		cbs_inc(&g_bad);
	cbs_set(&g_b_saw_a, cbs_get(&g_a_order));
	cbs_set(&g_b_order, cbs_inc(&g_seq));
	cbs_inc(&g_count2);
}

static void *build_a_to_b(void *a)
{
	(void)a;
	struct node *b = tri_alloc(sizeof *b);
	fill_node(b, 11);
	struct node *an = tri_alloc(sizeof *an);
	fill_node(an, 12);
	an->p = b;
	tri_set_finalizer(b, fin_b);
	tri_set_finalizer(an, fin_a);
	return NULL;
}

START_TEST(test_dependency_order_finalizes_referrer_first)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_a_to_b, NULL);
	int i;
	for (i = 0; i < 10 && cbs_get(&g_count) == 0; i++) {
		cbs_collect_n(1);
		ck_assert_msg(cbs_get(&g_count2) == 0, "B finalized while A was not");
	}
	ck_assert_msg(cbs_get(&g_count) == 1, "A's finalizer never ran");
	ck_assert_msg(cbs_get(&g_count2) == 0, "B finalized in the same cycle as A");
	ck_assert_msg(cbs_collect_until(&g_count2, 1, 10), "B's finalizer never ran after A's");
	ck_assert_int_lt(g_a_order, g_b_order);
	ck_assert_int_eq(g_b_saw_a, g_a_order);
	ck_assert_int_eq(cbs_get(&g_bad), 0);
}
END_TEST

/* Reference cycles. */
static void *build_cycle(void *mode)
{
	long m = (long)mode; /* 0: no finalizer, 1: on A, 2: on both */
	struct node *a = tri_alloc(sizeof *a);
	struct node *b = tri_alloc(sizeof *b);
	fill_node(a, 21);
	fill_node(b, 22);
	a->p = b;
	b->p = a;
	g_expect = cbs_hide(a);
	g_expect2 = cbs_hide(b);
	if (m >= 1)
		tri_set_finalizer(a, fin_count);
	if (m >= 2)
		tri_set_finalizer(b, fin_count);
	if (m == 0) {
		long *flag = malloc(sizeof *flag);
		*flag = 0;
		g_root[3] = flag; /* malloc'd, not a heap object */
		tri_add_cleanup(a, cbs_cleanup_inc, flag);
	}
	return NULL;
}

static void assert_cycle_survives(void)
{
	for (int i = 0; i < 10; i++) {
		cbs_collect_n(1);
		ck_assert_int_eq(cbs_get(&g_count), 0);
	}
	struct node *a = cbs_unhide(g_expect), *b = cbs_unhide(g_expect2);
	ck_assert_ptr_eq(tri_base(a), a);
	ck_assert_ptr_eq(tri_base(b), b);
	ck_assert_msg(node_ok(a) && node_ok(b), "cycle members were freed (poisoned)");
	ck_assert_ptr_eq(a->p, b);
	ck_assert_ptr_eq(b->p, a);
}

START_TEST(test_cycle_with_finalizers_on_both_is_never_finalized_or_freed)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_cycle, (void *)2);
	assert_cycle_survives();
}
END_TEST

START_TEST(test_cycle_with_finalizer_on_one_is_never_finalized_or_freed)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_cycle, (void *)1);
	assert_cycle_survives();
}
END_TEST

START_TEST(test_cycle_without_finalizers_is_freed)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_cycle, (void *)0);
	ck_assert_msg(cbs_collect_until((long *)g_root[3], 1, 10), "cycle never freed");
	free(g_root[3]);
}
END_TEST

/* Rule 5: finalizers set while marking is active. */
static volatile int g_stop;

static void *collector_loop(void *a)
{
	(void)a;
	while (!__atomic_load_n(&g_stop, __ATOMIC_SEQ_CST))
		tri_collect();
	return NULL;
}

static void fin_check_ref_seeded(void *obj)
{
	struct node *n = obj;
	if (!n->p || !node_ok(n->p) || n->p->seed != n->seed + 1)
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
		fill_node(r, (uint64_t)i * 2 + 1001);
		struct node *o = tri_alloc(sizeof *o);
		o->seed = (uint64_t)i * 2 + 1000;
		cbs_fill(o->pad, sizeof o->pad, o->seed);
		TRI_STORE(o->p, r);
		r = NULL;
		tri_set_finalizer(o, fin_check_ref_seeded);
		o = NULL;
		/* garbage so freed memory gets reused (poison checks it) */
		for (int j = 0; j < 4; j++)
			(void)tri_alloc(sizeof(struct node));
	}
	*countp = i;
	return NULL;
}

START_TEST(test_finalizer_set_while_marking_sees_referents_intact)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	long n = cbs_env_long("TRI_FIN_MARKING", 20000);
	uint64_t cycles0 = cbs_metric("/gc/cycles/total:gc-cycles");
	struct cbs_thread col;
	cbs_spawn(&col, collector_loop, NULL);
	cbs_run_in_thread(build_during_marking, &n);
	__atomic_store_n(&g_stop, 1, __ATOMIC_SEQ_CST);
	cbs_join(&col);
	uint64_t cycles = cbs_metric("/gc/cycles/total:gc-cycles") - cycles0;
	ck_assert_msg(cycles >= 3, "only %llu cycles overlapped", (unsigned long long)cycles);
	ck_assert_msg(cbs_collect_until(&g_count, n, 10), "%ld of %ld finalizers ran",
		      cbs_get(&g_count), n);
	ck_assert_int_eq(cbs_get(&g_bad), 0);
	ck_assert_int_eq(cbs_get(&g_count), n);
}
END_TEST

/* Rule 7: a queued finalizer's object stays alive until it runs. */
static long g_release;

static void fin_blocker(void *obj)
{
	(void)obj;
	cbs_inc(&g_count2);
	cbs_wait_count(&g_release, 1, 10000);
}

static void fin_verify_self(void *obj)
{
	struct node *n = obj;
	if (!node_ok(n) || tri_base(n) != n)
		cbs_inc(&g_bad);
	cbs_inc(&g_count);
}

static void *build_blocker(void *a)
{
	(void)a;
	struct node *n = tri_alloc(sizeof *n);
	tri_set_finalizer(n, fin_blocker);
	return NULL;
}

static void *build_many_verified(void *a)
{
	long count = (long)a;
	for (long i = 0; i < count; i++) {
		struct node *n = tri_alloc(sizeof *n);
		fill_node(n, (uint64_t)i + 500);
		tri_set_finalizer(n, fin_verify_self);
	}
	return NULL;
}

static void *churn(void *a)
{
	long count = (long)a;
	for (long i = 0; i < count; i++) {
		struct node *n = tri_alloc(sizeof *n);
		memset(n->pad, 0x77, sizeof n->pad);
	}
	return NULL;
}

START_TEST(test_queued_finalizer_object_stays_intact_until_it_runs)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_blocker, NULL);
	for (int i = 0; i < 10 && cbs_get(&g_count2) == 0; i++) {
		cbs_scrub_stack();
		tri_collect();
		cbs_wait_count(&g_count2, 1, 200);
	}
	ck_assert_msg(cbs_get(&g_count2) == 1, "blocker finalizer never started");
	cbs_run_in_thread(build_many_verified, (void *)500);
	for (int i = 0; i < 5; i++) {
		cbs_scrub_stack();
		tri_collect();
		cbs_run_in_thread(churn, (void *)20000);
	}
	uint64_t q = cbs_metric("/gc/finalizers/queued:finalizers");
	uint64_t e = cbs_metric("/gc/finalizers/executed:finalizers");
	ck_assert_int_eq(cbs_get(&g_count), 0);
	ck_assert_msg(q - e >= 400, "only %llu finalizers waiting", (unsigned long long)(q - e));
	cbs_set(&g_release, 1);
	ck_assert(cbs_collect_until(&g_count, 500, 10));
	ck_assert_int_eq(cbs_get(&g_bad), 0);
}
END_TEST

/* ================================================================ */
/* The finalizer thread                                              */
/* ================================================================ */

static pthread_t g_fin_thread;
static long g_fin_thread_set;

static void fin_on_thread(void *obj)
{
	long now = cbs_inc(&g_running);
	cbs_max(&g_max_running, now);
	if (!__atomic_exchange_n(&g_fin_thread_set, 1, __ATOMIC_SEQ_CST))
		g_fin_thread = pthread_self();
	else if (!pthread_equal(g_fin_thread, pthread_self()))
		cbs_inc(&g_bad);
	if (!node_ok(obj))
		cbs_inc(&g_bad);
	for (int i = 0; i < 50; i++)
		sched_yield();
	cbs_dec(&g_running);
	cbs_inc(&g_count);
}

static void *build_thread_objs(void *a)
{
	long count = (long)a;
	for (long i = 0; i < count; i++) {
		struct node *n = tri_alloc(sizeof *n);
		fill_node(n, (uint64_t)i);
		tri_set_finalizer(n, fin_on_thread);
	}
	return NULL;
}

START_TEST(test_finalizers_run_on_one_dedicated_thread_one_at_a_time)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	struct cbs_thread t[2];
	cbs_spawn(&t[0], build_thread_objs, (void *)1000);
	cbs_spawn(&t[1], build_thread_objs, (void *)1000);
	cbs_join(&t[0]);
	cbs_join(&t[1]);
	ck_assert(cbs_collect_until(&g_count, 2000, 10));
	cbs_run_in_thread(build_thread_objs, (void *)500);
	ck_assert(cbs_collect_until(&g_count, 2500, 10));
	ck_assert_int_eq(cbs_get(&g_bad), 0);
	ck_assert_int_eq(cbs_get(&g_max_running), 1);
	ck_assert(!pthread_equal(g_fin_thread, pthread_self()));
}
END_TEST

/* A finalizer may allocate, store, set a finalizer, add a cleanup. */
static long g_child_fin, g_child_cleanup;

static void fin_child(void *obj)
{
	if (!node_ok(obj))
		cbs_inc(&g_bad);
	cbs_inc(&g_child_fin);
}

static void fin_rich(void *obj)
{
	struct node *self = obj;
	struct node *kept = tri_alloc(sizeof *kept);
	fill_node(kept, 77);
	TRI_STORE(g_root[1], kept);
	TRI_STORE(self->p, kept); /* store into the finalized object */
	struct node *c = tri_alloc(sizeof *c);
	fill_node(c, 78);
	tri_set_finalizer(c, fin_child);
	struct node *d = tri_alloc(sizeof *d);
	tri_add_cleanup(d, cbs_cleanup_inc, &g_child_cleanup);
	c = d = kept = NULL;
	cbs_inc(&g_count);
}

START_TEST(test_finalizer_may_allocate_store_set_finalizer_and_add_cleanup)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	tri_add_roots(g_root, g_root + 4);
	cbs_run_in_thread(build_one, (void *)fin_rich);
	ck_assert(cbs_collect_until(&g_count, 1, 10));
	ck_assert_msg(cbs_collect_until(&g_child_fin, 1, 10), "finalizer set by a finalizer never ran");
	ck_assert_msg(cbs_collect_until(&g_child_cleanup, 1, 10), "cleanup added by a finalizer never ran");
	cbs_collect_n(2);
	struct node *k = tri_load(&g_root[1]);
	ck_assert_ptr_nonnull(k);
	ck_assert(node_ok(k));
	ck_assert_int_eq(cbs_get(&g_bad), 0);
	ck_assert_int_eq(cbs_get(&g_count), 1);
	ck_assert_int_eq(cbs_get(&g_child_fin), 1);
	ck_assert_int_eq(cbs_get(&g_child_cleanup), 1);
}
END_TEST

/* A blocked finalizer delays other finalizers, not collections nor cleanups. */
static long g_slow_started, g_slow_ended, g_fast_saw_end, g_cleanup_saw_end;

static void fin_slow_block(void *obj)
{
	(void)obj;
	cbs_set(&g_slow_started, 1);
	cbs_wait_count(&g_release, 1, 10000);
	cbs_sleep_ms(300);
	cbs_set(&g_slow_ended, 1);
}

static void fin_fast(void *obj)
{
	(void)obj;
	cbs_set(&g_fast_saw_end, cbs_get(&g_slow_ended) + 1);
	cbs_inc(&g_count);
}

static void cleanup_records(void *arg)
{
	(void)arg;
	cbs_set(&g_cleanup_saw_end, cbs_get(&g_slow_ended) + 1);
}

static void *build_slow(void *a)
{
	(void)a;
	struct node *n = tri_alloc(sizeof *n);
	tri_set_finalizer(n, fin_slow_block);
	return NULL;
}

static void *build_fast_and_cleanup(void *a)
{
	(void)a;
	struct node *n = tri_alloc(sizeof *n);
	tri_set_finalizer(n, fin_fast);
	struct node *m = tri_alloc(sizeof *m);
	tri_add_cleanup(m, cleanup_records, NULL);
	return NULL;
}

START_TEST(test_blocked_finalizer_delays_finalizers_but_not_collect_or_cleanups)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	cbs_run_in_thread(build_slow, NULL);
	for (int i = 0; i < 10 && !cbs_get(&g_slow_started); i++) {
		cbs_scrub_stack();
		tri_collect();
		cbs_wait_count(&g_slow_started, 1, 200);
	}
	ck_assert_msg(cbs_get(&g_slow_started), "slow finalizer never started");
	double t0 = cbs_now();
	tri_collect();
	tri_collect();
	double dt = cbs_now() - t0;
	ck_assert_msg(dt < 2.0, "tri_collect took %.3f s behind a blocked finalizer", dt);
	cbs_run_in_thread(build_fast_and_cleanup, NULL);
	for (int i = 0; i < 10 && !cbs_get(&g_cleanup_saw_end); i++) {
		cbs_scrub_stack();
		tri_collect();
		cbs_wait_count(&g_cleanup_saw_end, 1, 300);
	}
	ck_assert_msg(cbs_get(&g_cleanup_saw_end) == 1, "cleanup did not run while a finalizer blocked (%ld)",
		      cbs_get(&g_cleanup_saw_end));
	/* The fast finalizer is queued (its object died with the cleanup's
	 * or soon after) but must wait for the slow one. */
	for (int i = 0; i < 10 && cbs_metric("/gc/finalizers/queued:finalizers") < 2; i++) {
		cbs_scrub_stack();
		tri_collect();
	}
	ck_assert_uint_eq(cbs_metric("/gc/finalizers/queued:finalizers"), 2);
	ck_assert_int_eq(tri_drain(50), ETIMEDOUT);
	ck_assert_int_eq(cbs_get(&g_count), 0);
	cbs_set(&g_release, 1);
	ck_assert_int_eq(tri_drain(tsup_ms(10000)), 0);
	ck_assert_int_eq(cbs_get(&g_count), 1);
	ck_assert_int_eq(cbs_get(&g_fast_saw_end), 2); /* ran after the slow one ended */
}
END_TEST

/* tri_drain results. */
static void fin_sleep_500(void *obj)
{
	(void)obj;
	cbs_inc(&g_count2);
	cbs_sleep_ms(500);
	cbs_inc(&g_count);
}

START_TEST(test_drain_returns_zero_when_done_and_etimedout_when_blocked)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	ck_assert_int_eq(tri_drain(0), 0); /* nothing queued */
	ck_assert_int_eq(tri_drain(-1), 0);
	cbs_run_in_thread(build_one, (void *)fin_sleep_500);
	for (int i = 0; i < 10 && !cbs_get(&g_count2); i++) {
		cbs_scrub_stack();
		tri_collect();
		cbs_wait_count(&g_count2, 1, 100);
	}
	ck_assert(cbs_get(&g_count2) == 1);
	double t0 = cbs_now();
	ck_assert_int_eq(tri_drain(50), ETIMEDOUT);
	double dt = cbs_now() - t0;
	ck_assert_msg(dt >= 0.045 && dt < 1.0 * (double)tsup_time_scale(), "tri_drain(50) took %.3f s", dt);
	ck_assert_int_eq(cbs_get(&g_count), 0);
	ck_assert_int_eq(tri_drain(-1), 0);
	ck_assert_int_eq(cbs_get(&g_count), 1); /* 0 means everything queued ran */
	ck_assert_int_eq(tri_drain(0), 0);
}
END_TEST

/* ================================================================ */
/* Ports of Go's runtime/mfinal_test.go                              */
/* ================================================================ */

/* TestFinalizerType / first word: the finalizer's argument is the object,
 * whether it was registered through the whole object or its first field. */
struct pair {
	long first;
	long second;
};

static void fin_pair(void *obj)
{
	struct pair *p = obj;
	if (obj != cbs_unhide(g_expect) || p->first != 97531 || p->second != 86420)
		cbs_inc(&g_bad);
	cbs_inc(&g_count);
}

static void *build_pair_first_word(void *a)
{
	(void)a;
	struct pair *p = tri_alloc(sizeof *p);
	p->first = 97531;
	p->second = 86420;
	g_expect = cbs_hide(p);
	tri_set_finalizer(&p->first, fin_pair);
	return NULL;
}

START_TEST(test_finalizer_set_through_first_field_gets_whole_object)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_pair_first_word, NULL);
	ck_assert(cbs_collect_until(&g_count, 1, 10));
	ck_assert_int_eq(cbs_get(&g_bad), 0);
}
END_TEST

/* Large (1 MiB) objects. */
#define LARGE (1u << 20)
static void fin_large(void *obj)
{
	uint64_t *w = obj;
	if (tri_size(obj) < LARGE || !cbs_check_fill(w + 1, LARGE - 8, w[0]))
		cbs_inc(&g_bad);
	cbs_inc(&g_count);
}

static void *build_large(void *a)
{
	long count = (long)a;
	for (long i = 0; i < count; i++) {
		uint64_t *w = tri_alloc(LARGE);
		ck_assert_ptr_nonnull(w);
		w[0] = (uint64_t)i + 31;
		cbs_fill(w + 1, LARGE - 8, w[0]);
		tri_set_finalizer(w, fin_large);
	}
	return NULL;
}

START_TEST(test_large_objects_with_finalizers)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_large, (void *)8);
	ck_assert_msg(cbs_collect_until(&g_count, 8, 10), "%ld of 8 ran", cbs_get(&g_count));
	ck_assert_int_eq(cbs_get(&g_bad), 0);
	cbs_collect_n(3);
	ck_assert_int_eq(cbs_get(&g_count), 8);
}
END_TEST

/* Tiny (16 B) and pointer-free objects: each finalizer gets its own object. */
static long *g_hits;

static void fin_tiny(void *obj)
{
	uint64_t *w = obj;
	uint64_t id = w[0] ^ 0x8000000000000000ull;
	if (w[1] != ~id || id >= 100000000)
		cbs_inc(&g_bad);
	else
		cbs_inc(&g_hits[id]);
	cbs_inc(&g_count);
}

struct tiny_job {
	long count;
	int atomic;
	size_t size;
};

static void *build_tiny(void *a)
{
	struct tiny_job *j = a;
	for (long i = 0; i < j->count; i++) {
		uint64_t *w = j->atomic ? tri_alloc_atomic(j->size) : tri_alloc(j->size);
		w[0] = (uint64_t)i | 0x8000000000000000ull;
		w[1] = ~(uint64_t)i;
		tri_set_finalizer(w, fin_tiny);
	}
	return NULL;
}

static void run_tiny(long count, int atomic, size_t size)
{
	g_hits = calloc((size_t)count, sizeof *g_hits);
	ck_assert_ptr_nonnull(g_hits);
	uint64_t q0 = cbs_metric("/gc/finalizers/queued:finalizers");
	uint64_t e0 = cbs_metric("/gc/finalizers/executed:finalizers");
	struct tiny_job j = {count, atomic, size};
	cbs_run_in_thread(build_tiny, &j);
	ck_assert_msg(cbs_collect_until(&g_count, count, 10), "%ld of %ld finalizers ran",
		      cbs_get(&g_count), count);
	cbs_collect_n(2);
	ck_assert_int_eq(cbs_get(&g_count), count);
	ck_assert_int_eq(cbs_get(&g_bad), 0);
	for (long i = 0; i < count; i++)
		ck_assert_msg(g_hits[i] == 1, "finalizer %ld ran %ld times", i, g_hits[i]);
	ck_assert_uint_eq(cbs_metric("/gc/finalizers/queued:finalizers") - q0, (uint64_t)count);
	ck_assert_uint_eq(cbs_metric("/gc/finalizers/executed:finalizers") - e0, (uint64_t)count);
	free(g_hits);
}

START_TEST(test_tiny_objects_with_finalizers)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	run_tiny(5000, 0, 16);
}
END_TEST

START_TEST(test_atomic_objects_with_finalizers)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	run_tiny(5000, 1, 48);
}
END_TEST

START_TEST(test_many_finalizers_all_run_exactly_once)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	run_tiny(cbs_env_long("TRI_FIN_MANY", 100000), 0, 32);
}
END_TEST

/* Several threads set finalizers while cycles run back to back: each
 * finalizer runs exactly once, on the finalizer thread. */
static volatile int g_stop2;

static void *collector_loop2(void *a)
{
	(void)a;
	while (!__atomic_load_n(&g_stop2, __ATOMIC_SEQ_CST))
		tri_collect();
	return NULL;
}

struct range_job {
	long first, count;
};

static void *build_range(void *a)
{
	struct range_job *j = a;
	for (long i = j->first; i < j->first + j->count; i++) {
		uint64_t *w = tri_alloc(16 + (size_t)(i % 4) * 16);
		w[0] = (uint64_t)i | 0x8000000000000000ull;
		w[1] = ~(uint64_t)i;
		tri_set_finalizer(w, fin_tiny);
	}
	return NULL;
}

START_TEST(test_finalizers_set_from_many_threads_during_cycles_run_exactly_once)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	long nthreads = 4, per = cbs_env_long("TRI_FIN_PER_THREAD", 5000), total = nthreads * per;
	g_hits = calloc((size_t)total, sizeof *g_hits);
	struct cbs_thread col, th[4];
	struct range_job jobs[4];
	cbs_spawn(&col, collector_loop2, NULL);
	for (long t = 0; t < nthreads; t++) {
		jobs[t].first = t * per;
		jobs[t].count = per;
		cbs_spawn(&th[t], build_range, &jobs[t]);
	}
	for (long t = 0; t < nthreads; t++)
		cbs_join(&th[t]);
	__atomic_store_n(&g_stop2, 1, __ATOMIC_SEQ_CST);
	cbs_join(&col);
	ck_assert_msg(cbs_collect_until(&g_count, total, 10), "%ld of %ld finalizers ran",
		      cbs_get(&g_count), total);
	cbs_collect_n(2);
	ck_assert_int_eq(cbs_get(&g_count), total);
	ck_assert_int_eq(cbs_get(&g_bad), 0);
	for (long i = 0; i < total; i++)
		ck_assert_msg(g_hits[i] == 1, "finalizer %ld ran %ld times", i, g_hits[i]);
	free(g_hits);
}
END_TEST

START_TEST(test_finalizer_metrics_match_counts)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	ck_assert_uint_eq(cbs_metric("/gc/finalizers/queued:finalizers"), 0);
	ck_assert_uint_eq(cbs_metric("/gc/finalizers/executed:finalizers"), 0);
	run_tiny(300, 0, 16);
	ck_assert_uint_eq(cbs_metric("/gc/finalizers/queued:finalizers"), 300);
	ck_assert_uint_eq(cbs_metric("/gc/finalizers/executed:finalizers"), 300);
}
END_TEST

static Suite *finalizer_suite(void)
{
	Suite *s = suite_create("finalizer");
	TCase *tc;

	tc = tcase_create("misuse");
	tcase_set_timeout(tc, 20);
	tcase_add_test_raise_signal(tc, test_set_finalizer_on_null_aborts_with_message, SIGABRT);
	tcase_add_test_raise_signal(tc, test_set_finalizer_on_malloc_pointer_aborts_with_message, SIGABRT);
	tcase_add_test_raise_signal(tc, test_set_finalizer_on_stack_pointer_aborts_with_message, SIGABRT);
	tcase_add_test_raise_signal(tc, test_set_finalizer_on_interior_pointer_aborts_with_message, SIGABRT);
	tcase_add_test_raise_signal(tc, test_set_finalizer_twice_aborts_with_message, SIGABRT);
	tcase_add_test(tc, test_set_finalizer_on_zero_size_address_is_silent_noop);
	tcase_add_test(tc, test_drain_called_from_finalizer_aborts_with_message);
	tcase_add_test(tc, test_slow_finalizer_is_reported_on_stderr_with_its_name);
	tcase_add_test(tc, test_checkfinalizers_reports_object_reachable_from_itself);
	suite_add_tcase(s, tc);

	tc = tcase_create("semantics");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_finalizer_runs_once_with_object_when_unreachable);
	tcase_add_test(tc, test_finalizer_keeps_object_and_referents_alive_for_the_call);
	tcase_add_test(tc, test_finalizer_may_resurrect_object_into_a_root);
	tcase_add_test(tc, test_finalizer_may_rearm_itself_and_runs_again);
	tcase_add_test(tc, test_finalizer_cleared_with_null_never_runs);
	tcase_add_test(tc, test_keep_alive_prevents_finalizer_while_object_is_used);
	tcase_add_test(tc, test_dependency_order_finalizes_referrer_first);
	tcase_add_test(tc, test_cycle_with_finalizers_on_both_is_never_finalized_or_freed);
	tcase_add_test(tc, test_cycle_with_finalizer_on_one_is_never_finalized_or_freed);
	tcase_add_test(tc, test_cycle_without_finalizers_is_freed);
	tcase_add_test(tc, test_finalizer_set_while_marking_sees_referents_intact);
	tcase_add_test(tc, test_queued_finalizer_object_stays_intact_until_it_runs);
	suite_add_tcase(s, tc);

	tc = tcase_create("thread");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_finalizers_run_on_one_dedicated_thread_one_at_a_time);
	tcase_add_test(tc, test_finalizer_may_allocate_store_set_finalizer_and_add_cleanup);
	tcase_add_test(tc, test_blocked_finalizer_delays_finalizers_but_not_collect_or_cleanups);
	tcase_add_test(tc, test_drain_returns_zero_when_done_and_etimedout_when_blocked);
	suite_add_tcase(s, tc);

	tc = tcase_create("go_mfinal");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_finalizer_set_through_first_field_gets_whole_object);
	tcase_add_test(tc, test_large_objects_with_finalizers);
	tcase_add_test(tc, test_tiny_objects_with_finalizers);
	tcase_add_test(tc, test_atomic_objects_with_finalizers);
	tcase_add_test(tc, test_many_finalizers_all_run_exactly_once);
	tcase_add_test(tc, test_finalizers_set_from_many_threads_during_cycles_run_exactly_once);
	tcase_add_test(tc, test_finalizer_metrics_match_counts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(finalizer_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
