/* SPDX-License-Identifier: MIT */
/*
 * test_weak.c - weak pointers (tri_weak_make / tri_weak_get, Go's
 * weak.Pointer semantics) and interning (tri_intern, Go's unique.Make).
 *
 * Objects whose death is observed are built on a helper thread and their
 * addresses kept hidden (test_callback_support.h); the handles themselves
 * sit in globals (data roots), which keeps their cells but not the objects.
 * "Reads NULL" assertions retry up to 10 cycles (conservative stacks may
 * keep an object a cycle longer); "still reachable" assertions hold over
 * several cycles. Every test runs with debug=checkmark+poison: checkmark
 * verifies after every mark that no reachable object was left white (a
 * pointer handed out by tri_weak_get during marking without being marked
 * would be such an object), poison makes a use of a freed object visible.
 *
 * Knobs (make stress): TRI_WEAK_RACE_ROUNDS (rounds of the race tests).
 */
#include "test_callback_support.h"
#include <stdbool.h>

void tri_debug_cycle_hook(void (*fn)(int point)); /* libtricolor-test.la */
enum { AT_STACKS_SCANNED = 1, AT_MARK_DONE = 2, AT_SWEEP_START = 3 }; /* runtime/cycle.h */

#define DEBUG_OPTS "debug=checkmark+poison"
#define NOBJ 64
#define PAYLOAD 48

static tri_weak g_w[NOBJ];
static uintptr_t g_hidden[NOBJ];
static long g_fin_ran, g_fin_saw_live, g_cln_ran, g_cln_saw_live;
static void *g_root;

static int weak_null_within(tri_weak w, int tries)
{
	for (int i = 0; i < tries; i++) {
		cbs_collect_n(1);
		if (!tri_weak_get(w))
			return 1;
	}
	return 0;
}

/* Collect (up to 10 cycles) until every handle of w[0..n) reads NULL;
 * returns how many do. */
static int collect_until_all_null(const tri_weak *w, int n)
{
	int cleared = 0;
	for (int c = 0; c < 10 && cleared < n; c++) {
		cbs_collect_n(1);
		cleared = 0;
		for (int i = 0; i < n; i++)
			cleared += tri_weak_get(w[i]) == NULL;
	}
	return cleared;
}

/* ================================================================ */
/* Basic rules                                                       */
/* ================================================================ */

START_TEST(test_weak_get_returns_the_original_interior_pointer_while_reachable)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	char *small = tri_alloc(100);
	char *big = tri_alloc(1u << 20);
	char *atom = tri_alloc_atomic(40);
	tri_weak ws = tri_weak_make(small + 17);
	tri_weak wb = tri_weak_make(big + (1u << 19));
	tri_weak wa = tri_weak_make(atom);
	for (int i = 0; i < 4; i++) {
		cbs_collect_n(1);
		ck_assert_ptr_eq(tri_weak_get(ws), small + 17);
		ck_assert_ptr_eq(tri_weak_get(wb), big + (1u << 19));
		ck_assert_ptr_eq(tri_weak_get(wa), atom);
	}
	tri_keep_alive(small);
	tri_keep_alive(big);
	tri_keep_alive(atom);
}
END_TEST

START_TEST(test_weak_handles_from_equal_pointers_are_equal_by_value_and_by_weak_equal)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	char *p = tri_alloc(64);
	char *q = tri_alloc(64);
	tri_weak a = tri_weak_make(p), b = tri_weak_make(p);
	tri_weak i1 = tri_weak_make(p + 8), i2 = tri_weak_make(p + 8);
	tri_weak other = tri_weak_make(q);
	ck_assert(tri_weak_equal(a, b));
	ck_assert_int_eq(memcmp(&a, &b, sizeof a), 0);
	ck_assert(tri_weak_equal(i1, i2));
	ck_assert_int_eq(memcmp(&i1, &i2, sizeof a), 0);
	ck_assert(!tri_weak_equal(a, i1)); /* other offset: other handle (Go) */
	ck_assert(!tri_weak_equal(a, other));
	/* one cell per object, however many handles */
	ck_assert_ptr_eq(a.cell_, i1.cell_);
	ck_assert_ptr_ne(a.cell_, other.cell_);
	tri_weak z = tri_weak_make(NULL), zero = {0};
	ck_assert(tri_weak_equal(z, zero));
	ck_assert_ptr_null(tri_weak_get(z));
	void *e = tri_alloc(0);
	ck_assert_ptr_eq(tri_weak_get(tri_weak_make(e)), e);
	tri_keep_alive(p);
	tri_keep_alive(q);
}
END_TEST

static void *build_dying(void *a)
{
	long n = (long)a;
	for (long i = 0; i < n; i++) {
		char *p = tri_alloc(PAYLOAD);
		memset(p, (int)i, PAYLOAD);
		g_hidden[i] = cbs_hide(p);
		g_w[i] = tri_weak_make(p + (i % PAYLOAD));
		ck_assert_ptr_eq(tri_weak_get(g_w[i]), p + (i % PAYLOAD));
	}
	return NULL;
}

START_TEST(test_weak_reads_null_forever_once_the_object_is_unreachable_and_it_is_freed)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_dying, (void *)(long)NOBJ);
	ck_assert_int_eq(collect_until_all_null(g_w, NOBJ), NOBJ);
	for (int c = 0; c < 3; c++) {
		cbs_collect_n(1);
		for (int i = 0; i < NOBJ; i++) {
			ck_assert_ptr_null(tri_weak_get(g_w[i]));
			ck_assert(cbs_hidden_base(g_hidden[i]) == cbs_hide(NULL));
		}
	}
	/* Equality survives the object's death. */
	ck_assert(!tri_weak_equal(g_w[0], g_w[1]));
	ck_assert(tri_weak_equal(g_w[0], g_w[0]));
}
END_TEST

/* The handle's cell is a heap object: freed when the object is dead and no
 * handle is left; kept while a handle is held even after the object died. */
static uintptr_t g_cell_hidden[2];

static void *build_cells(void *a)
{
	(void)a;
	for (int i = 0; i < 2; i++) {
		char *p = tri_alloc(32);
		g_w[i] = tri_weak_make(p);
		g_cell_hidden[i] = cbs_hide(g_w[i].cell_);
	}
	return NULL;
}

START_TEST(test_weak_handle_cell_lives_while_held_and_is_freed_when_unreachable)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_cells, NULL);
	ck_assert(weak_null_within(g_w[0], 10));
	ck_assert(weak_null_within(g_w[1], 10));
	g_w[1] = (tri_weak){0}; /* drop the second handle */
	int freed = 0;
	for (int c = 0; c < 10 && !freed; c++) {
		cbs_collect_n(1);
		freed = cbs_hidden_base(g_cell_hidden[1]) == cbs_hide(NULL);
	}
	ck_assert_msg(freed, "a dropped handle's cell was never freed");
	ck_assert(cbs_hidden_base(g_cell_hidden[0]) == g_cell_hidden[0]);
	ck_assert_ptr_null(tri_weak_get(g_w[0]));
}
END_TEST

/* Many handles to short-lived objects: the heap does not keep their cells. */
static void *churn(void *a)
{
	long n = (long)a;
	for (long i = 0; i < n; i++) {
		void *p = tri_alloc(64);
		tri_weak w = tri_weak_make(p);
		ck_assert_ptr_eq(tri_weak_get(w), p);
		if (i % 4096 == 0)
			tri_collect();
	}
	return NULL;
}

START_TEST(test_weak_handles_of_dead_objects_do_not_accumulate)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(churn, (void *)40000L);
	cbs_collect_n(3);
	uint64_t live = cbs_metric("/gc/heap/live:bytes");
	/* 40000 objects of 64 bytes plus 40000 cells of 16 would be 3.2 MB. */
	ck_assert_msg(live < (1u << 20), "%llu bytes live after the churn", (unsigned long long)live);
}
END_TEST

/* ================================================================ */
/* Finalizers and cleanups (Go's order)                              */
/* ================================================================ */

static void fin_resurrect(void *obj)
{
	if (tri_weak_get(g_w[0]))
		cbs_inc(&g_fin_saw_live);
	tri_store(&g_root, obj); /* resurrect */
	cbs_inc(&g_fin_ran);
}

static void *build_fin(void *a)
{
	(void)a;
	char *p = tri_alloc(64);
	strcpy(p, "resurrected");
	tri_set_finalizer(p, fin_resurrect);
	g_w[0] = tri_weak_make(p + 3);
	return NULL;
}

START_TEST(test_weak_reads_null_once_the_finalizer_is_queued_although_it_resurrects)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_fin, NULL);
	ck_assert(cbs_collect_until(&g_fin_ran, 1, 10));
	ck_assert_int_eq(cbs_get(&g_fin_saw_live), 0);
	char *p = tri_load(&g_root);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "resurrected");
	cbs_collect_n(2);
	ck_assert_ptr_null(tri_weak_get(g_w[0])); /* forever, resurrected or not */
	tri_weak again = tri_weak_make(p);
	ck_assert(!tri_weak_equal(again, g_w[0]));
	ck_assert_ptr_eq(tri_weak_get(again), p);
	tri_store(&g_root, NULL);
}
END_TEST

static void cln_check_weak(void *arg)
{
	(void)arg;
	if (tri_weak_get(g_w[0]))
		cbs_inc(&g_cln_saw_live);
	cbs_inc(&g_cln_ran);
}

static void *build_cln(void *a)
{
	(void)a;
	char *p = tri_alloc(64);
	g_w[0] = tri_weak_make(p);
	tri_add_cleanup(p, cln_check_weak, NULL);
	return NULL;
}

START_TEST(test_cleanup_sees_the_weak_pointer_already_cleared)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	for (int round = 0; round < 20; round++) {
		cbs_set(&g_cln_ran, 0);
		cbs_run_in_thread(build_cln, NULL);
		ck_assert(cbs_collect_until(&g_cln_ran, 1, 10));
		ck_assert_ptr_null(tri_weak_get(g_w[0]));
	}
	ck_assert_int_eq(cbs_get(&g_cln_saw_live), 0);
}
END_TEST

/* ================================================================ */
/* Races with marking and sweeping                                   */
/* ================================================================ */

/*
 * The race: objects are reachable only through weak handles; getters turn
 * them strong while cycles run back to back, keep some of them in a root
 * array (through tri_store, after their stacks may have been scanned), and
 * drop others. The rules checked:
 *  - W4: a pointer returned during marking is kept alive: checkmark aborts
 *    if the mark left it white while it sits on a stack or in the roots,
 *    and its contents (a checksum of its index) must still be intact when
 *    it is read again later (poison overwrites a freed object);
 *  - W3: a pointer returned while the cycle sweeps is never of an object
 *    the cycle found dead: its contents are checked at once;
 *  - W2: once a handle read NULL it reads NULL forever.
 */
#define RACE_OBJ 256
#define RACE_GETTERS 2
static tri_weak g_rw[RACE_OBJ];
static void *g_keep[RACE_OBJ];
static int g_dead[RACE_OBJ];
static long g_stop, g_bad_content, g_resurrected, g_gets_live;

static void fill(char *p, int i)
{
	for (int k = 0; k < PAYLOAD; k++)
		p[k] = (char)(i * 7 + k);
}

static int intact(const char *p, int i)
{
	for (int k = 0; k < PAYLOAD; k++)
		if (p[k] != (char)(i * 7 + k))
			return 0;
	return 1;
}

static void *build_race(void *a)
{
	(void)a;
	for (int i = 0; i < RACE_OBJ; i++) {
		char *p = tri_alloc(PAYLOAD);
		fill(p, i);
		tri_weak_store(&g_rw[i], tri_weak_make(p));
		g_dead[i] = 0;
		tri_store(&g_keep[i], NULL);
	}
	return NULL;
}

static long completed_cycles(void)
{
	uint64_t v = 0;
	tri_read_metric("/gc/cycles/total:gc-cycles", &v);
	return (long)v;
}

#define HELD 1024
struct held {
	char *p;
	int i;
	long tag; /* completed cycles when it was returned */
};

static void check_held(const struct held *h)
{
	if (!intact(h->p, h->i))
		cbs_inc(&g_bad_content);
}

static void *getter(void *a)
{
	uint64_t s = (uint64_t)(uintptr_t)a;
	/* Odd objects: pointers returned by tri_weak_get are held only here
	 * (on this stack) until the cycle in progress at the get (or the next
	 * one, if none was) has completed, then checked and dropped, so they
	 * start the next cycle reachable only weakly. An object handed out
	 * during marking after this stack was scanned and not marked, or
	 * handed out after the cycle found it dead, is freed (and poisoned)
	 * meanwhile; checkmark aborts on the first (reachable but white).
	 * Even objects go to the heap instead (the barrier path). */
	struct held ring[HELD];
	unsigned head = 0, n = 0;
	while (!cbs_get(&g_stop)) {
		tri_safepoint();
		long done = completed_cycles();
		while (n && done > ring[head].tag) {
			check_held(&ring[head]);
			head = (head + 1) % HELD;
			n--;
		}
		if (n == HELD)
			continue;
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		int i = (int)((s >> 33) % RACE_OBJ);
		char *p = tri_weak_get(g_rw[i]);
		if (!p) {
			__atomic_store_n(&g_dead[i], 1, __ATOMIC_SEQ_CST);
			continue;
		}
		if (__atomic_load_n(&g_dead[i], __ATOMIC_SEQ_CST))
			cbs_inc(&g_resurrected);
		if (!intact(p, i))
			cbs_inc(&g_bad_content);
		cbs_inc(&g_gets_live);
		if (i % 2 == 0) {
			tri_store(&g_keep[i], p);
		} else {
			ring[(head + n) % HELD] = (struct held){p, i, done};
			n++;
		}
	}
	for (; n; n--, head = (head + 1) % HELD)
		check_held(&ring[head]);
	return NULL;
}

/* A long linked list, live throughout: marking it takes a while, so the
 * getters run for a while after their stacks were scanned and before the
 * mark ends (the window in which a get must mark what it returns). */
static void *g_bulk;
static void *build_bulk(void *a)
{
	(void)a;
	void **head = NULL;
	for (int i = 0; i < 200000; i++) {
		void **node = tri_alloc(32);
		node[0] = head;
		head = node;
	}
	tri_store(&g_bulk, head);
	return NULL;
}

static void race_rounds(long rounds, bool bulk)
{
	if (bulk)
		cbs_run_in_thread(build_bulk, NULL);
	for (long r = 0; r < rounds; r++) {
		cbs_run_in_thread(build_race, NULL);
		cbs_set(&g_stop, 0);
		struct cbs_thread th[RACE_GETTERS];
		for (int g = 0; g < RACE_GETTERS; g++)
			cbs_spawn(&th[g], getter, (void *)(uintptr_t)(r * 31 + g + 1));
		for (int c = 0; c < 8; c++) {
			/* Drop the strong references: what the getters do not
			 * hold is reachable only weakly when the cycle starts,
			 * and a get after a getter's stack scan must mark it. */
			for (int i = 0; i < RACE_OBJ; i++)
				tri_store(&g_keep[i], NULL);
			tri_collect();
			/* Everything kept is intact (checked after the cycles that
			 * could have freed it). */
			for (int i = 0; i < RACE_OBJ; i++) {
				char *p = tri_load(&g_keep[i]);
				if (p && !intact(p, i))
					cbs_inc(&g_bad_content);
			}
		}
		cbs_set(&g_stop, 1);
		for (int g = 0; g < RACE_GETTERS; g++)
			cbs_join(&th[g]);
		for (int i = 0; i < RACE_OBJ; i++)
			tri_store(&g_keep[i], NULL);
	}
}

static void race_check(void)
{
	ck_assert_int_eq(cbs_get(&g_bad_content), 0);
	ck_assert_int_eq(cbs_get(&g_resurrected), 0);
	ck_assert_msg(cbs_get(&g_gets_live) > 0, "no get ever returned an object");
}

/* A long mark (the bulk list): most gets that matter happen after the
 * getter's stack scan, while marking; without the mark in tri_weak_get the
 * objects they return are freed (verified: 3 failures in 4 runs). */
START_TEST(test_weak_get_racing_with_marking_marks_what_it_returns)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	race_rounds(cbs_env_long("TRI_WEAK_RACE_ROUNDS", 8), true);
	race_check();
}
END_TEST

/* A short mark: many gets happen after marking ended, of objects the cycle
 * found dead; without the decided-phase rule they are handed out and then
 * freed under the getter. */
START_TEST(test_weak_get_racing_with_sweeping_never_resurrects_a_dead_object)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	race_rounds(cbs_env_long("TRI_WEAK_RACE_ROUNDS", 8), false);
	race_check();
}
END_TEST

/* Every handle of a dropped set reads NULL in the end: the race did not
 * keep anything alive for good. */
START_TEST(test_weak_objects_dropped_after_the_race_all_read_null)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	race_rounds(1, false);
	ck_assert_int_eq(collect_until_all_null(g_rw, RACE_OBJ), RACE_OBJ);
}
END_TEST

/*
 * The same races, deterministic: the cycle hook stops the coordinator at one
 * point of a cycle while this thread (which waited in a blocking region, so
 * its stack was scanned for it) calls tri_weak_get, then lets it go on.
 *   stacks scanned: X is reachable only weakly; the get must mark it (W4),
 *     or the cycle frees it while this thread holds it (checkmark aborts
 *     at mark end; poison shows in its contents after the cycle).
 *   mark done, sweep start: the cycle found X dead; the get must say NULL
 *     although no sweep has reached X's span yet (W3), and must return Y,
 *     which is held, marked and equally unswept.
 */
static pthread_mutex_t hk_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hk_cv = PTHREAD_COND_INITIALIZER;
static int hk_want, hk_reached, hk_release;

static void hook(int point)
{
	pthread_mutex_lock(&hk_mu);
	if (point == hk_want) {
		hk_want = 0; /* once */
		hk_reached = 1;
		pthread_cond_broadcast(&hk_cv);
		while (!hk_release)
			pthread_cond_wait(&hk_cv, &hk_mu);
		hk_release = 0;
	}
	pthread_mutex_unlock(&hk_mu);
}

static void *collect_once(void *a)
{
	(void)a;
	tri_collect();
	return NULL;
}

static void *build_xy(void *a)
{
	(void)a;
	char *x = tri_alloc(PAYLOAD), *y = tri_alloc(PAYLOAD);
	fill(x, 1);
	fill(y, 2);
	g_w[0] = tri_weak_make(x);
	g_w[1] = tri_weak_make(y);
	tri_store(&g_root, y);
	return NULL;
}

/* Run one cycle stopped at `point`; returns what tri_weak_get gave there
 * for X (and checks Y), holding X's pointer until the cycle is over. */
static __attribute__((noinline)) char *get_at(int point, int *y_ok)
{
	cbs_run_in_thread(build_xy, NULL);
	cbs_scrub_stack();
	tri_debug_cycle_hook(hook);
	pthread_mutex_lock(&hk_mu);
	hk_want = point;
	hk_reached = 0;
	pthread_mutex_unlock(&hk_mu);
	struct cbs_thread c;
	cbs_spawn(&c, collect_once, NULL);
	tri_blocking_enter();
	pthread_mutex_lock(&hk_mu);
	while (!hk_reached)
		pthread_cond_wait(&hk_cv, &hk_mu);
	pthread_mutex_unlock(&hk_mu);
	tri_blocking_leave();
	char *volatile x = tri_weak_get(g_w[0]);
	*y_ok = tri_weak_get(g_w[1]) == tri_load(&g_root);
	pthread_mutex_lock(&hk_mu);
	hk_release = 1;
	pthread_cond_broadcast(&hk_cv);
	pthread_mutex_unlock(&hk_mu);
	cbs_join(&c); /* in a blocking region: x is on this stack */
	tri_debug_cycle_hook(NULL);
	return x;
}

START_TEST(test_weak_get_after_the_stack_scan_marks_the_object_it_returns)
{
	ck_assert_int_eq(tri_init("gc_percent=off,debug=checkmark+poison"), 0);
	int y_ok = 0;
	char *x = get_at(AT_STACKS_SCANNED, &y_ok);
	ck_assert_ptr_nonnull(x); /* not decided yet: the object is handed out */
	ck_assert(y_ok);
	cbs_collect_n(1);
	ck_assert_msg(intact(x, 1), "the object tri_weak_get returned was freed under its holder");
	ck_assert_ptr_eq(tri_base(x), x);
	ck_assert_ptr_eq(tri_weak_get(g_w[0]), x);
	tri_keep_alive(x);
}
END_TEST

/* At `point` (marking over), X reads NULL and Y reads Y, and they stay so. */
static void expect_decided_at(int point)
{
	ck_assert_int_eq(tri_init("gc_percent=off,debug=checkmark+poison"), 0);
	int y_ok = 0;
	char *x = get_at(point, &y_ok);
	ck_assert_ptr_null(x);
	ck_assert(y_ok);
	ck_assert_ptr_null(tri_weak_get(g_w[0]));
	ck_assert_ptr_nonnull(tri_weak_get(g_w[1]));
}

START_TEST(test_weak_get_after_mark_done_refuses_an_object_the_cycle_found_dead)
{
	expect_decided_at(AT_MARK_DONE);
}
END_TEST

START_TEST(test_weak_get_before_the_sweep_reaches_the_span_refuses_a_dead_object)
{
	expect_decided_at(AT_SWEEP_START);
}
END_TEST

/* ================================================================ */
/* Interning                                                         */
/* ================================================================ */

START_TEST(test_intern_equal_bytes_give_one_canonical_copy)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	char buf[32];
	strcpy(buf, "hello, world");
	const char *a = tri_intern(buf, 12);
	const char *b = tri_intern("hello, world", 12);
	const char *c = tri_intern("hello, worle", 12);
	const char *d = tri_intern("hello", 5);
	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_ne(a, c);
	ck_assert_ptr_ne(a, d);
	ck_assert_ptr_ne(a, buf);
	ck_assert_int_eq(memcmp(a, "hello, world", 12), 0);
	ck_assert_ptr_eq(tri_base(a), a); /* a heap copy */
	ck_assert_ptr_eq(tri_intern(NULL, 0), tri_intern("x", 0));
	for (int i = 0; i < 3; i++) {
		cbs_collect_n(1);
		ck_assert_ptr_eq(tri_intern("hello, world", 12), a);
		ck_assert_ptr_eq(tri_intern("hello, worle", 12), c);
	}
	tri_keep_alive(a);
	tri_keep_alive(c);
	tri_keep_alive(d);
}
END_TEST

static uintptr_t g_interned_hidden;

static void *build_interned(void *a)
{
	(void)a;
	char key[40];
	snprintf(key, sizeof key, "transient-key-%d", 42);
	g_interned_hidden = cbs_hide(tri_intern(key, strlen(key)));
	return NULL;
}

START_TEST(test_intern_copy_no_one_references_is_dropped_and_made_again)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	cbs_run_in_thread(build_interned, NULL);
	int freed = 0;
	for (int c = 0; c < 10 && !freed; c++) {
		cbs_collect_n(1);
		freed = cbs_hidden_base(g_interned_hidden) == cbs_hide(NULL);
	}
	ck_assert_msg(freed, "an unreferenced canonical copy was never freed");
	const char *again = tri_intern("transient-key-42", 16);
	ck_assert_int_eq(memcmp(again, "transient-key-42", 16), 0);
	ck_assert_ptr_eq(tri_intern("transient-key-42", 16), again);
	tri_keep_alive(again);
}
END_TEST

/* Threads intern overlapping keys while cycles run: for every key all
 * threads that hold its copy hold the same one. */
#define IKEYS 200
#define ITHREADS 3
static const char *g_canon[ITHREADS][IKEYS];
static long g_intern_stop;

static void *interner(void *a)
{
	int t = (int)(uintptr_t)a;
	char key[32];
	for (int round = 0; round < 30; round++) {
		for (int k = 0; k < IKEYS; k++) {
			int n = snprintf(key, sizeof key, "key-%d-%d", k, k * 13);
			const char *p = tri_intern(key, (size_t)n);
			if (memcmp(p, key, (size_t)n))
				cbs_inc(&g_bad_content);
			if (round % 3 == t)
				tri_store(&g_canon[t][k], p);
		}
		tri_safepoint();
	}
	return NULL;
}

START_TEST(test_intern_from_many_threads_gives_every_thread_the_same_copy)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	struct cbs_thread th[ITHREADS];
	for (int t = 0; t < ITHREADS; t++)
		cbs_spawn(&th[t], interner, (void *)(uintptr_t)t);
	for (int c = 0; c < 4; c++)
		tri_collect();
	for (int t = 0; t < ITHREADS; t++)
		cbs_join(&th[t]);
	ck_assert_int_eq(cbs_get(&g_bad_content), 0);
	/* Every key is held by every thread's array: one copy per key. */
	for (int k = 0; k < IKEYS; k++)
		for (int t = 1; t < ITHREADS; t++)
			ck_assert_ptr_eq(tri_load(&g_canon[t][k]), tri_load(&g_canon[0][k]));
	cbs_collect_n(1);
	char key[32];
	for (int k = 0; k < IKEYS; k++) {
		int n = snprintf(key, sizeof key, "key-%d-%d", k, k * 13);
		ck_assert_ptr_eq(tri_intern(key, (size_t)n), tri_load(&g_canon[0][k]));
	}
	(void)g_intern_stop;
}
END_TEST

/* The intern table keeps working in a child after fork (liburcu's hash
 * table resizes with helper threads the child does not inherit). */
static int intern_many(const char *prefix, int n, const char **keep)
{
	char key[48];
	for (int k = 0; k < n; k++) {
		int len = snprintf(key, sizeof key, "%s-%d", prefix, k);
		const char *p = tri_intern(key, (size_t)len);
		if (memcmp(p, key, (size_t)len) || (keep[k] && keep[k] != p))
			return 0;
		keep[k] = p;
	}
	return 1;
}

static const char *g_fork_keep[4096];

START_TEST(test_intern_works_in_the_child_after_fork)
{
	ck_assert_int_eq(tri_init(DEBUG_OPTS), 0);
	ck_assert(intern_many("parent", 2048, g_fork_keep));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int ok = intern_many("parent", 2048, g_fork_keep); /* same copies */
		ok = ok && intern_many("child", 2048, g_fork_keep + 2048);
		tri_collect();
		ok = ok && intern_many("child", 2048, g_fork_keep + 2048);
		_exit(ok ? 0 : 3);
	}
	int st = 0;
	tri_blocking_enter();
	waitpid(pid, &st, 0);
	tri_blocking_leave();
	/* Under ThreadSanitizer only the parent side is checked: TSan kills a
	 * child of a multithreaded process that starts threads (test_fork.c). */
	if (!TSUP_TSAN)
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
	ck_assert(intern_many("parent", 2048, g_fork_keep));
}
END_TEST

/* ================================================================ */
/* Misuse                                                            */
/* ================================================================ */

static void misuse_make_malloc(void *a)
{
	(void)a;
	tri_init(NULL);
	void *m = malloc(32);
	tri_weak_make(m);
	free(m);
}

static void misuse_intern_null(void *a)
{
	(void)a;
	tri_init(NULL);
	tri_intern(NULL, 3);
}

static void *plain_get(void *a)
{
	tri_weak w = *(tri_weak *)a;
	return tri_weak_get(w);
}

static void misuse_get_unattached(void *a)
{
	(void)a;
	tri_init(NULL);
	void *p = tri_alloc(16);
	tri_weak w = tri_weak_make(p);
	pthread_t th;
	pthread_create(&th, NULL, plain_get, &w);
	tri_blocking_enter();
	pthread_join(th, NULL);
	tri_blocking_leave();
	tri_keep_alive(p);
}

START_TEST(test_weak_and_intern_misuse_abort_with_their_messages)
{
	struct cbs_child c;
	cbs_capture_child(misuse_make_malloc, NULL, &c);
	cbs_assert_died(&c, SIGABRT, "tri_weak_make: pointer not in allocated block");
	cbs_capture_child(misuse_intern_null, NULL, &c);
	cbs_assert_died(&c, SIGABRT, "tri_intern: bytes is NULL");
	cbs_capture_child(misuse_get_unattached, NULL, &c);
	cbs_assert_died(&c, SIGABRT, "tri_weak_get: thread not attached");
}
END_TEST

static Suite *weak_suite(void)
{
	Suite *s = suite_create("weak");
	TCase *basic = tcase_create("basic");
	tcase_set_timeout(basic, 60);
	tcase_add_test(basic, test_weak_get_returns_the_original_interior_pointer_while_reachable);
	tcase_add_test(basic, test_weak_handles_from_equal_pointers_are_equal_by_value_and_by_weak_equal);
	tcase_add_test(basic, test_weak_reads_null_forever_once_the_object_is_unreachable_and_it_is_freed);
	tcase_add_test(basic, test_weak_handle_cell_lives_while_held_and_is_freed_when_unreachable);
	tcase_add_test(basic, test_weak_handles_of_dead_objects_do_not_accumulate);
	tcase_add_test(basic, test_weak_and_intern_misuse_abort_with_their_messages);
	suite_add_tcase(s, basic);
	TCase *cb = tcase_create("callbacks");
	tcase_set_timeout(cb, 60);
	tcase_add_test(cb, test_weak_reads_null_once_the_finalizer_is_queued_although_it_resurrects);
	tcase_add_test(cb, test_cleanup_sees_the_weak_pointer_already_cleared);
	suite_add_tcase(s, cb);
	TCase *race = tcase_create("race");
	tcase_set_timeout(race, 120);
	tcase_add_test(race, test_weak_get_racing_with_marking_marks_what_it_returns);
	tcase_add_test(race, test_weak_get_racing_with_sweeping_never_resurrects_a_dead_object);
	tcase_add_test(race, test_weak_objects_dropped_after_the_race_all_read_null);
	tcase_add_test(race, test_weak_get_after_the_stack_scan_marks_the_object_it_returns);
	tcase_add_test(race, test_weak_get_after_mark_done_refuses_an_object_the_cycle_found_dead);
	tcase_add_test(race, test_weak_get_before_the_sweep_reaches_the_span_refuses_a_dead_object);
	suite_add_tcase(s, race);
	TCase *in = tcase_create("intern");
	tcase_set_timeout(in, 60);
	tcase_add_test(in, test_intern_equal_bytes_give_one_canonical_copy);
	tcase_add_test(in, test_intern_copy_no_one_references_is_dropped_and_made_again);
	tcase_add_test(in, test_intern_from_many_threads_gives_every_thread_the_same_copy);
	tcase_add_test(in, test_intern_works_in_the_child_after_fork);
	suite_add_tcase(s, in);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(weak_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
