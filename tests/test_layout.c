/* SPDX-License-Identifier: MIT */
/*
 * test_layout.c - precise object layouts (tri_layout_make, tri_alloc_typed,
 * tri_alloc_array_typed; docs/design.md section 23):
 *  - integers that look like pointers keep garbage alive in a conservative
 *    object and do not in a typed one (observed through cleanups);
 *  - pointer words of typed objects, single and in arrays (small, and
 *    large enough to be scanned in several oblets, with an element across
 *    the oblet boundary), keep their referents alive, checked under
 *    checkmark and poison while a background thread collects and other
 *    threads allocate typed objects;
 *  - layouts with no pointer word or only pointer words, tri_size,
 *    tri_realloc keeping the layout, n == 0 and overflow;
 *  - a write over the hidden layout word aborts with its message (the
 *    poison pattern's exception under debug=poison is tested on
 *    layout_of_header itself in tests/test_mark.c, linked statically);
 *  - debug=checkfinalizers follows only the pointer words.
 * The misuse aborts of tri_layout_make and the typed allocators are in
 * tests/test_faults.c's misuse table.
 *
 * Garbage is made on a helper thread that then exits, so no stale word of
 * this thread's stack or registers can retain it by chance; what it leaves
 * behind is reachable only from the registered root `holder`.
 */
#include "test_support.h"
#include <stddef.h>

/* A GCBench-like node: two pointers, two integers, a 64-byte payload. */
struct node {
	struct node *left, *right;
	uint64_t i, j;
	uint64_t pay[8];
};

static const size_t node_offs[] = {offsetof(struct node, left), offsetof(struct node, right)};

static const tri_layout *node_layout(void)
{
	const tri_layout *L = tri_layout_make(sizeof(struct node), node_offs, 2);
	ck_assert_ptr_nonnull(L);
	return L;
}

/* ---------------------------------------------------------------- */
/* Integers retain garbage conservatively, not with a layout         */
/* ---------------------------------------------------------------- */

#define NGARBAGE 64
static struct node *holder; /* registered root */
static long freed;	    /* cleanups run */

struct retain_args {
	const tri_layout *L; /* NULL: a conservative holder */
	uint64_t seed;
};

/* On a helper thread: NGARBAGE garbage objects with cleanups, chained by
 * real pointers (o[g]->left = o[g - 1]), and a holder whose ten integer
 * words (i, j, the payload) hold interior addresses of them as integers:
 * the first names the chain's head, the others random members at random
 * offsets (any word that falls inside a block counts for the conservative
 * scanner). */
static void *make_holder(void *a)
{
	struct retain_args *r = a;
	struct node *h = r->L ? tri_alloc_typed(r->L) : tri_alloc(sizeof(struct node));
	ck_assert_ptr_nonnull(h);
	struct node *o[NGARBAGE];
	for (int g = 0; g < NGARBAGE; g++) {
		o[g] = tri_alloc(sizeof *o[g]);
		ck_assert_ptr_nonnull(o[g]);
		o[g]->left = g ? o[g - 1] : NULL;
		tri_add_cleanup(o[g], tsup_cleanup_count, &freed);
	}
	uint64_t *words = &h->i, s = r->seed;
	for (int k = 0; k < 10; k++) {
		s = tsup_mix(s + (uint64_t)k);
		struct node *t = k == 0 ? o[NGARBAGE - 1] : o[s % NGARBAGE];
		words[k] = (uint64_t)(uintptr_t)t + (s >> 32) % sizeof *t;
	}
	tri_store(&holder, h);
	memset(o, 0, sizeof o);
	__asm__ __volatile__("" : : "r"(o) : "memory");
	return NULL;
}

/* Returns how many of the NGARBAGE objects were freed after 5 collections. */
static long retained_run(const tri_layout *L)
{
	tri_store(&holder, NULL);
	__atomic_store_n(&freed, 0, __ATOMIC_SEQ_CST);
	struct retain_args r = {L, 12345};
	tsup_run_in_thread(make_holder, &r);
	tsup_scrub_stack();
	for (int i = 0; i < 5; i++) {
		tri_collect();
		ck_assert_int_eq(tri_drain(tsup_ms(5000)), 0);
	}
	ck_assert_ptr_nonnull(tri_load(&holder));
	return tsup_count(&freed);
}

START_TEST(test_integers_retain_garbage_in_conservative_objects_not_in_typed_ones)
{
	ck_assert_int_eq(tri_init("data_roots=off"), 0);
	tri_add_roots(&holder, &holder + 1);
	long conservative = retained_run(NULL);
	tri_store(&holder, NULL); /* the conservative run's garbage goes */
	ck_assert_int_eq(tsup_collect_until_count(&freed, NGARBAGE, 5) > 0, 1);
	long precise = retained_run(node_layout());
	/* The interior addresses chain every garbage object to an integer
	 * word of the holder, so the conservative scan keeps all of them;
	 * the typed holder's integer words are not pointer words. */
	ck_assert_msg(conservative == 0, "conservative holder: %ld of %d freed, expected none", conservative,
		      NGARBAGE);
	ck_assert_msg(precise == NGARBAGE, "typed holder: %ld of %d freed, expected all", precise, NGARBAGE);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Typed objects survive; their pointer words are traced             */
/* ---------------------------------------------------------------- */

static int bg_stop; /* atomic */

static void *collect_loop(void *a)
{
	long *cycles = a;
	while (!__atomic_load_n(&bg_stop, __ATOMIC_SEQ_CST)) {
		tri_collect();
		__atomic_add_fetch(cycles, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/* A node whose payload is a checksum pattern of seed. */
static struct node *node_new(const tri_layout *L, uint64_t seed, struct node *l, struct node *r)
{
	struct node *n = tri_alloc_typed(L);
	ck_assert_ptr_nonnull(n);
	n->left = l; /* not yet published: plain stores */
	n->right = r;
	n->i = seed;
	n->j = ~seed;
	tsup_fill(n->pay, sizeof n->pay, seed);
	return n;
}

static struct node *tree_new(const tri_layout *L, int depth, uint64_t *next)
{
	if (depth < 0)
		return NULL;
	struct node *l = tree_new(L, depth - 1, next);
	struct node *r = tree_new(L, depth - 1, next);
	return node_new(L, (*next)++, l, r);
}

/* Number of intact nodes; -1 on a damaged one. */
static long tree_check(const struct node *n, int depth)
{
	if (depth < 0)
		return n ? -1 : 0;
	if (!n || tri_base(n) != n || n->j != ~n->i ||
	    tsup_check_fill(n->pay, sizeof n->pay, n->i) != sizeof n->pay)
		return -1;
	long a = tree_check(n->left, depth - 1), b = tree_check(n->right, depth - 1);
	return a < 0 || b < 0 ? -1 : 1 + a + b;
}

#define TREE_DEPTH 9 /* 1023 nodes */
#define MUT_THREADS 2

static struct node *trees[MUT_THREADS]; /* registered root */

/* A mutator: keeps replacing its tree with a fresh one (typed allocation
 * while cycles run, the fast path's header store racing the marker) and
 * checks the old one after more churn; garbage typed nodes on the way. */
static void *mutator(void *a)
{
	int id = (int)(intptr_t)a;
	const tri_layout *L = node_layout();
	uint64_t next = (uint64_t)id << 40;
	for (int round = 0; round < 12; round++) {
		struct node *t = tree_new(L, TREE_DEPTH, &next);
		tri_store(&trees[id], t);
		t = NULL;
		for (int g = 0; g < 4000; g++) /* garbage, poisoned when freed */
			node_new(L, 1, NULL, NULL);
		long n = tree_check(tri_load(&trees[id]), TREE_DEPTH);
		ck_assert_msg(n == (2L << TREE_DEPTH) - 1, "thread %d round %d: tree check %ld", id, round, n);
	}
	return NULL;
}

START_TEST(test_typed_objects_survive_concurrent_collection_under_checkmark_and_poison)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	tri_add_roots(trees, trees + MUT_THREADS);
	long cycles = 0;
	__atomic_store_n(&bg_stop, 0, __ATOMIC_SEQ_CST);
	struct tsup_thread bg, mut[MUT_THREADS];
	tsup_spawn(&bg, collect_loop, &cycles);
	for (int i = 0; i < MUT_THREADS; i++)
		tsup_spawn(&mut[i], mutator, (void *)(intptr_t)i);
	for (int i = 0; i < MUT_THREADS; i++)
		tsup_join(&mut[i]);
	__atomic_store_n(&bg_stop, 1, __ATOMIC_SEQ_CST);
	tsup_join(&bg);
	ck_assert_msg(cycles >= 3, "only %ld cycles ran beside the mutators", cycles);
	tri_collect();
	for (int i = 0; i < MUT_THREADS; i++)
		ck_assert_int_eq(tree_check(tri_load(&trees[i]), TREE_DEPTH), (2L << TREE_DEPTH) - 1);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Arrays                                                            */
/* ---------------------------------------------------------------- */

/* 24 bytes: 131072 is not a multiple, so an element straddles each oblet
 * boundary of a large array. */
struct elem {
	struct node *p;
	uint64_t bogus; /* an interior address of garbage, as an integer */
	struct node *q;
};
static const size_t elem_offs[] = {offsetof(struct elem, p), offsetof(struct elem, q)};

static struct elem *arr; /* registered root */
static long arr_freed;

struct arr_args {
	size_t n;
};

static void *make_array(void *a)
{
	struct arr_args *x = a;
	const tri_layout *L = tri_layout_make(sizeof(struct elem), elem_offs, 2);
	const tri_layout *NL = node_layout();
	struct elem *v = tri_alloc_array_typed(L, x->n);
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_ge(tri_size(v), x->n * sizeof *v);
	for (size_t k = 0; k < x->n; k++) {
		v[k].p = node_new(NL, 2 * k, NULL, NULL); /* unpublished: plain stores */
		v[k].q = node_new(NL, 2 * k + 1, NULL, NULL);
		if (k % 97 == 0) {
			struct node *g = node_new(NL, 0, NULL, NULL);
			tri_add_cleanup(g, tsup_cleanup_count, &arr_freed);
			v[k].bogus = (uint64_t)(uintptr_t)g + 40;
		}
	}
	tri_store(&arr, v);
	return NULL;
}

static void check_array(size_t n)
{
	struct elem *v = tri_load(&arr);
	for (size_t k = 0; k < n; k++) {
		ck_assert_msg(v[k].p && v[k].p->i == 2 * k && v[k].p->j == ~(2 * k) &&
				      tsup_check_fill(v[k].p->pay, sizeof v[k].p->pay, 2 * k) == sizeof v[k].p->pay,
			      "element %zu of %zu: p damaged", k, n);
		ck_assert_msg(v[k].q && v[k].q->i == 2 * k + 1 &&
				      tsup_check_fill(v[k].q->pay, sizeof v[k].q->pay, 2 * k + 1) == sizeof v[k].q->pay,
			      "element %zu of %zu: q damaged", k, n);
	}
}

static void array_case(size_t n)
{
	tri_add_roots(&arr, &arr + 1);
	__atomic_store_n(&arr_freed, 0, __ATOMIC_SEQ_CST);
	struct arr_args x = {n};
	tsup_run_in_thread(make_array, &x);
	tsup_scrub_stack();
	const tri_layout *NL = node_layout();
	for (int i = 0; i < 4; i++) {
		for (int g = 0; g < 20000; g++) /* reuse of any wrongly freed node */
			node_new(NL, 3, NULL, NULL);
		tri_collect();
		ck_assert_int_eq(tri_drain(tsup_ms(5000)), 0);
		check_array(n);
	}
	ck_assert_int_eq(tsup_count(&arr_freed), (long)((n + 96) / 97));
	tri_store(&arr, NULL);
	tri_remove_roots(&arr, &arr + 1);
}

START_TEST(test_small_typed_array_traces_every_element)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison,data_roots=off"), 0);
	array_case(100); /* 2400 + 8 bytes: a small size class */
}
END_TEST

START_TEST(test_large_typed_array_is_traced_across_oblets)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison,data_roots=off"), 0);
	array_case(20000); /* 480 KB: four 128 KiB oblets */
}
END_TEST

/* ---------------------------------------------------------------- */
/* Layout kinds, sizes, realloc                                      */
/* ---------------------------------------------------------------- */

START_TEST(test_layout_kinds_and_sizes)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	/* pointer-free: atomic, no hidden word (12 bytes: no pointer field, any size) */
	const tri_layout *flat = tri_layout_make(12, NULL, 0);
	ck_assert_ptr_nonnull(flat);
	void *f = tri_alloc_typed(flat);
	ck_assert_uint_eq(tri_size(f), 16);
	/* every word a pointer: conservative, no hidden word */
	static const size_t all[] = {8, 0};
	const tri_layout *ptrs = tri_layout_make(16, all, 2);
	void *p = tri_alloc_typed(ptrs);
	ck_assert_uint_eq(tri_size(p), 16);
	/* mixed: 96 bytes + the layout word -> the 112-byte class, 104 usable */
	const tri_layout *L = node_layout();
	struct node *n = tri_alloc_typed(L);
	ck_assert_ptr_nonnull(n);
	ck_assert_ptr_eq(tri_base((char *)n + 50), n);
	ck_assert_uint_eq(tri_size(n), 104);
	ck_assert_uint_eq((uintptr_t)n % 16, 0);
	/* arrays: n == 0 is the shared zero-size address; overflow is ENOMEM */
	ck_assert_ptr_eq(tri_alloc_array_typed(L, 0), tri_alloc(0));
	errno = 0;
	ck_assert_ptr_null(tri_alloc_array_typed(L, SIZE_MAX / 50));
	ck_assert_int_eq(errno, ENOMEM);
	/* a large single array and a large pointer-free one */
	struct node *big = tri_alloc_array_typed(L, 1000);
	ck_assert_uint_ge(tri_size(big), 1000 * sizeof *big);
	ck_assert_uint_eq(tri_size(big) % 8192, 8192 - 8);
	void *bigflat = tri_alloc_array_typed(flat, 10000); /* stride 12: 120000 bytes, 15 pages */
	ck_assert_uint_eq(tri_size(bigflat), 15 * 8192);
}
END_TEST

static struct node *re_root; /* registered */
static long re_freed;

static void *make_realloc(void *a)
{
	(void)a;
	const tri_layout *L = node_layout();
	struct node *n = tri_alloc_typed(L);
	struct node *keep = tri_alloc(sizeof *keep);
	keep->i = 77;
	struct node *g = tri_alloc(sizeof *g);
	tri_add_cleanup(g, tsup_cleanup_count, &re_freed);
	n->left = keep;
	n->i = (uint64_t)(uintptr_t)g;
	/* grows into an array of 3 nodes of the same layout */
	struct node *m = tri_realloc(n, 2 * sizeof *n + 1);
	ck_assert_ptr_nonnull(m);
	ck_assert_ptr_ne(m, n);
	ck_assert_uint_ge(tri_size(m), 3 * sizeof *m);
	ck_assert_ptr_eq(m->left, keep);
	ck_assert_uint_eq(m->i, (uint64_t)(uintptr_t)g);
	m[2].j = (uint64_t)(uintptr_t)g; /* an integer word of the third element */
	tri_store(&re_root, m);
	return NULL;
}

START_TEST(test_realloc_keeps_the_layout)
{
	ck_assert_int_eq(tri_init("data_roots=off"), 0);
	tri_add_roots(&re_root, &re_root + 1);
	tsup_run_in_thread(make_realloc, NULL);
	tsup_scrub_stack();
	ck_assert_int_eq(tsup_collect_until_count(&re_freed, 1, 5), 1);
	struct node *m = tri_load(&re_root);
	ck_assert_uint_eq(m->left->i, 77);
}
END_TEST

/* ---------------------------------------------------------------- */
/* A write over the layout word                                      */
/* ---------------------------------------------------------------- */

static struct node *smash_root;

static void scenario_smash(void *a)
{
	(void)a;
	if (tri_init(NULL))
		_exit(20);
	tri_add_roots(&smash_root, &smash_root + 1);
	struct node *n = tri_alloc_typed(node_layout());
	tri_store(&smash_root, n);
	size_t sz = tri_size(n);
	memset(n, 0x41, sz + 8); /* 8 bytes past the usable size */
	tri_collect();
	_exit(21);
}

START_TEST(test_overwriting_the_layout_word_aborts_at_the_next_scan)
{
	struct tsup_child c;
	tsup_capture_child(scenario_smash, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tricolor: typed object", "does not name a layout");
}
END_TEST

/* ---------------------------------------------------------------- */
/* debug=checkfinalizers walks typed objects by their layout         */
/* ---------------------------------------------------------------- */

static struct node *fin_root; /* registered */

static void fin_noop(void *p)
{
	(void)p;
}

/* A typed object with a finalizer that names itself: through a pointer
 * word (via = 1: it can never be finalized) or only through an integer
 * word (via = 0: not a reference, no report). */
static void *make_self_ref(void *a)
{
	int via_pointer = a != NULL;
	struct node *n = tri_alloc_typed(node_layout());
	struct node *m = tri_alloc_typed(node_layout());
	if (via_pointer)
		m->right = n; /* n -> m -> n */
	else
		m->i = (uint64_t)(uintptr_t)n; /* n -> m, m holds n as an integer */
	n->left = m;
	tri_set_finalizer(n, fin_noop);
	tri_store(&fin_root, n);
	return NULL;
}

static void scenario_checkfinalizers(void *a)
{
	if (tri_init("debug=checkfinalizers"))
		_exit(20);
	tri_add_roots(&fin_root, &fin_root + 1);
	tsup_run_in_thread(make_self_ref, a);
	for (int i = 0; i < 2; i++)
		tri_collect();
	_exit(0);
}

START_TEST(test_checkfinalizers_follows_only_pointer_words_of_typed_objects)
{
	struct tsup_child c;
	tsup_capture_child(scenario_checkfinalizers, (void *)1, &c);
	ck_assert_msg(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0, "status 0x%x: %s", c.status, c.err);
	ck_assert_msg(strstr(c.err, "reachable from itself") != NULL, "no report through a pointer word: %s", c.err);
	tsup_capture_child(scenario_checkfinalizers, NULL, &c);
	ck_assert_msg(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0, "status 0x%x: %s", c.status, c.err);
	ck_assert_msg(strstr(c.err, "can never run") == NULL, "false report through an integer word: %s", c.err);
}
END_TEST

static Suite *layout_suite(void)
{
	Suite *s = suite_create("layout");
	TCase *r = tcase_create("retention");
	tcase_add_test(r, test_integers_retain_garbage_in_conservative_objects_not_in_typed_ones);
	suite_add_tcase(s, r);
	TCase *t = tcase_create("typed");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, test_typed_objects_survive_concurrent_collection_under_checkmark_and_poison);
	tcase_add_test(t, test_small_typed_array_traces_every_element);
	tcase_add_test(t, test_large_typed_array_is_traced_across_oblets);
	suite_add_tcase(s, t);
	TCase *k = tcase_create("kinds");
	tcase_add_test(k, test_layout_kinds_and_sizes);
	tcase_add_test(k, test_realloc_keeps_the_layout);
	tcase_add_test(k, test_checkfinalizers_follows_only_pointer_words_of_typed_objects);
	tcase_add_test(k, test_overwriting_the_layout_word_aborts_at_the_next_scan);
	suite_add_tcase(s, k);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(layout_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
