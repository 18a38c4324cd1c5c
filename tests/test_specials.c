/* SPDX-License-Identifier: MIT */
/*
 * test_specials.c - finalizer and cleanup records and the batched
 * finalizer queue (alloc/special.c, final/finalizer.c).
 *
 * Linked statically (tests/core.mk) to look at a span's record pool.
 *  - a span's records are reused: setting and clearing a finalizer many
 *    times, or adding and stopping cleanups, never grows the span's pool
 *    past one chunk;
 *  - many cleanups (several sweep batches) each run exactly once;
 *  - many finalizers (several run batches and sweep batches) each run
 *    exactly once, with cycles marking while the finalizer thread holds a
 *    taken batch (its entries are roots then), under checkmark+poison;
 *  - objects that stay live keep their finalizers across many cycles, and
 *    dead objects in a span whose first bitmap word is all live still have
 *    their finalizers run (the sweep skips only spans where nothing dies).
 */
#include "test_support.h"
#include "alloc/span.h"

/* check: the object's address, scrambled (a pointer to itself would make
 * the object reachable from itself, and its finalizer could never run) */
struct obj {
	uintptr_t check;
	long id;
};
#define CHECK_OF(o) ((uintptr_t)(o) ^ 0xa5a5a5a5a5a5a5a5ull)

static long ran, bad;
static unsigned char *seen;

static void fin_once(void *p)
{
	struct obj *o = p;
	if (o->check != CHECK_OF(o) || o->id < 0 || seen[o->id]++)
		__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&ran, 1, __ATOMIC_RELAXED);
	/* allocate from the finalizer: cycles start while a batch is held */
	(void)tri_alloc(64);
}

static void fin_never(void *p)
{
	(void)p;
	__atomic_add_fetch(&bad, 1, __ATOMIC_RELAXED);
}

/* Collect and drain (at most 20 times) until *counter reaches want. */
static void collect_until(const long *counter, long want)
{
	for (int i = 0; i < 20 && __atomic_load_n(counter, __ATOMIC_RELAXED) < want; i++) {
		tsup_scrub_stack();
		tri_collect();
		ck_assert_int_eq(tri_drain(tsup_ms(10000)), 0);
	}
}

START_TEST(a_spans_records_are_reused)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	void *o = tri_alloc(32);
	struct span *s = span_of((uintptr_t)o);
	ck_assert_ptr_nonnull(s);
	uint32_t before = s->nrecords;
	for (int i = 0; i < 10000; i++) {
		tri_set_finalizer(o, fin_never);
		tri_set_finalizer(o, NULL);
		tri_cleanup c = tri_add_cleanup(o, fin_never, NULL);
		tri_cleanup_stop(c);
	}
	ck_assert_uint_le(s->nrecords, before + 8);
	tri_keep_alive(o);
	tri_collect();
	tri_drain(-1);
	ck_assert_int_eq(bad, 0);
}
END_TEST

#define NOBJ 20000

static void *make_dropped(void *arg)
{
	(void)arg;
	for (long i = 0; i < NOBJ; i++) {
		struct obj *o = tri_alloc(sizeof *o);
		o->check = CHECK_OF(o);
		o->id = i;
		tri_set_finalizer(o, fin_once);
	}
	return NULL;
}

START_TEST(many_finalizers_run_exactly_once_across_batches)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	seen = calloc(NOBJ, 1);
	tsup_run_in_thread(make_dropped, NULL);
	collect_until(&ran, NOBJ);
	ck_assert_int_eq(ran, NOBJ);
	ck_assert_int_eq(bad, 0);
	for (long i = 0; i < NOBJ; i++)
		ck_assert_int_eq(seen[i], 1);
	ck_assert_uint_eq(tsup_metric("/gc/finalizers/executed:finalizers"), NOBJ);
}
END_TEST

static struct obj **keep;

START_TEST(live_objects_keep_their_finalizers_over_many_cycles)
{
	ck_assert_int_eq(tri_init("debug=checkmark"), 0);
	tri_add_roots(&keep, &keep + 1);
	keep = tri_alloc(1000 * sizeof *keep);
	for (int i = 0; i < 1000; i++) {
		keep[i] = tri_alloc(sizeof **keep);
		tri_set_finalizer(keep[i], fin_never);
	}
	for (int i = 0; i < 10; i++) {
		tri_collect();
		tri_drain(-1);
	}
	ck_assert_int_eq(bad, 0);
	/* every record is still there: setting again is a misuse (EEXIST),
	 * clearing then setting is not */
	for (int i = 0; i < 1000; i++) {
		tri_set_finalizer(keep[i], NULL);
		tri_set_finalizer(keep[i], fin_never);
		tri_set_finalizer(keep[i], NULL);
	}
}
END_TEST

/* Objects in the first 64 slots of their span are kept, the others are
 * dropped with finalizers: the sweep sees spans whose first dead-bitmap
 * word is empty while later words are not. */
static long dropped_n;

static void *make_mixed(void *arg)
{
	(void)arg;
	long k = 0;
	for (long i = 0; i < NOBJ; i++) {
		struct obj *o = tri_alloc(sizeof *o);
		struct span *s = span_of((uintptr_t)o);
		if (span_index(s, (uintptr_t)o) < 64) {
			keep[k++] = o;
			continue;
		}
		o->check = CHECK_OF(o);
		o->id = dropped_n++;
		tri_set_finalizer(o, fin_once);
	}
	return NULL;
}

START_TEST(finalizers_past_the_first_bitmap_word_run_while_the_first_word_lives)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	seen = calloc(NOBJ, 1);
	tri_add_roots(&keep, &keep + 1);
	keep = tri_alloc(NOBJ * sizeof *keep);
	tsup_run_in_thread(make_mixed, NULL);
	ck_assert_int_gt(dropped_n, NOBJ / 2);
	collect_until(&ran, dropped_n);
	ck_assert_int_eq(ran, dropped_n);
	ck_assert_int_eq(bad, 0);
}
END_TEST

/* Cleanups, queued by the sweeper 64 at a time, each run exactly once. */
static long cln_ran, cln_bad;
static unsigned char *cln_seen;

static void cln_once(void *arg)
{
	long id = (long)(uintptr_t)arg - 1;
	if (id < 0 || id >= NOBJ || __atomic_fetch_add(&cln_seen[id], 1, __ATOMIC_RELAXED))
		__atomic_add_fetch(&cln_bad, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&cln_ran, 1, __ATOMIC_RELAXED);
}

static void *make_cleanups(void *arg)
{
	(void)arg;
	for (long i = 0; i < NOBJ; i++)
		tri_add_cleanup(tri_alloc(48), cln_once, (void *)(uintptr_t)(i + 1));
	return NULL;
}

START_TEST(many_cleanups_run_exactly_once_across_batches)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	cln_seen = calloc(NOBJ, 1);
	tsup_run_in_thread(make_cleanups, NULL);
	collect_until(&cln_ran, NOBJ);
	ck_assert_int_eq(cln_ran, NOBJ);
	ck_assert_int_eq(cln_bad, 0);
}
END_TEST

static Suite *specials_suite(void)
{
	Suite *s = suite_create("specials");
	TCase *tc = tcase_create("records");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, a_spans_records_are_reused);
	tcase_add_test(tc, many_finalizers_run_exactly_once_across_batches);
	tcase_add_test(tc, live_objects_keep_their_finalizers_over_many_cycles);
	tcase_add_test(tc, finalizers_past_the_first_bitmap_word_run_while_the_first_word_lives);
	tcase_add_test(tc, many_cleanups_run_exactly_once_across_batches);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(specials_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
