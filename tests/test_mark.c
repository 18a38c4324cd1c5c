/* SPDX-License-Identifier: MIT */
/*
 * test_mark.c - the parallel marker: work sharing between markers, the
 * prefetch ring and the termination accounting around them.
 *
 * Linked statically (tests/core.mk) so that it can drive the grey queue's
 * internal functions directly (mark/grey_queue.h) as well as the public API.
 *  - gcwork_share hands the older half of a marker's block to an idle
 *    marker, only when one is idle and the global list is empty, and keeps
 *    both markers counted busy while they hold the halves;
 *  - a tree (whose DFS stack never overflows one block) marked with one
 *    worker plus the coordinator is split between them (tri_grey.shares
 *    grows), and every node
 *    survives under debug=checkmark,poison across many cycles, with and
 *    without a concurrently mutating thread (pacer assists drain with a
 *    budget, leaving the prefetch ring mid-way);
 *  - color_check_heap (mark/color.h, debug level 3 after every mark)
 *    aborts naming the edge when a marked object points to a white one,
 *    and passes when the target is marked too.
 *  - layout_of_header (alloc/layout.h): a typed block's layout word that
 *    holds the poison pattern reads as not yet written under debug=poison
 *    and aborts without it.
 */
#include "test_support.h"
#include "mark/color.h"
#include "mark/grey_queue.h"
#include "alloc/layout.h"
#include "sweep/sweep.h"
#include <stddef.h>

/* The queue tests run before tri_init in their own process (Check forks
 * each test): no worker exists, the queue is the static empty one. */
START_TEST(share_gives_the_older_half_to_an_idle_marker)
{
	struct gcwork a, b;
	gcwork_init(&a, true);
	gcwork_init(&b, true);
	for (uintptr_t i = 1; i <= 10; i++)
		gcwork_push(&a, i * 8);
	gcwork_share(&a); /* nobody idle: nothing moves */
	ck_assert_uint_eq(tri_grey.nfull, 0);
	ck_assert_uint_eq(a.cur->n, 10);

	tri_grey.sleeping = 1; /* pretend a worker waits */
	gcwork_share(&a);
	ck_assert_uint_eq(tri_grey.nfull, 1);
	ck_assert_uint_eq(tri_grey.shares, 1);
	ck_assert_uint_eq(a.cur->n, 5);
	gcwork_share(&a); /* a full block is already queued: nothing moves */
	ck_assert_uint_eq(tri_grey.nfull, 1);

	/* a keeps the newest items (its DFS top), in order */
	uintptr_t v;
	for (uintptr_t i = 10; i > 5; i--) {
		ck_assert(gcwork_pop(&a, &v));
		ck_assert_uint_eq(v, i * 8);
	}
	/* b gets the oldest, and both count as busy while they hold work */
	ck_assert(gcwork_pop(&b, &v));
	ck_assert_uint_eq(v, 5 * 8);
	ck_assert_int_eq(tri_grey.busy, 1); /* a never took a global block */
	ck_assert(!grey_queue_idle());
	for (uintptr_t i = 4; i >= 1; i--) {
		ck_assert(gcwork_pop(&b, &v));
		ck_assert_uint_eq(v, i * 8);
	}
	ck_assert(!gcwork_pop(&b, &v));
	ck_assert(!gcwork_pop(&a, &v));
	ck_assert_int_eq(tri_grey.busy, 0);
	ck_assert(grey_queue_idle());
	tri_grey.sleeping = 0;
}
END_TEST

START_TEST(share_never_splits_a_single_item)
{
	struct gcwork a;
	gcwork_init(&a, true);
	gcwork_push(&a, 8);
	tri_grey.sleeping = 1;
	gcwork_share(&a);
	ck_assert_uint_eq(tri_grey.nfull, 0);
	ck_assert_uint_eq(a.cur->n, 1);
	tri_grey.sleeping = 0;
}
END_TEST

struct node {
	struct node *left, *right;
	long depth, check;
};

static struct node *make(int depth)
{
	struct node *n = tri_alloc(sizeof *n);
	ck_assert_ptr_nonnull(n);
	n->depth = depth;
	n->check = depth * 7 + 1;
	if (depth > 0) {
		TRI_STORE(n->left, make(depth - 1));
		TRI_STORE(n->right, make(depth - 1));
	}
	return n;
}

static long verify(const struct node *n, int depth)
{
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(n->depth, depth);
	ck_assert_int_eq(n->check, depth * 7 + 1);
	if (depth == 0) {
		ck_assert_ptr_null(n->left);
		return 1;
	}
	return 1 + verify(n->left, depth - 1) + verify(n->right, depth - 1);
}

static struct node *tree_root;
static int stop_churn;

/* Replaces subtrees of its own tree and allocates garbage while cycles run:
 * barrier flushes, black allocation and budgeted assists meet the shared
 * work and the prefetch ring. Returns its tree's node count at the end. */
static void *churn(void *arg)
{
	(void)arg;
	struct node *mine = make(12);
	unsigned r = 1;
	while (!__atomic_load_n(&stop_churn, __ATOMIC_RELAXED)) {
		r = r * 1103515245u + 12345u;
		struct node *n = mine;
		int d = 12;
		while (d > 3 && (r >> (d + 4)) & 1) {
			n = (r >> d) & 1 ? n->left : n->right;
			d--;
		}
		TRI_STORE(n->left, make(d - 1));
		for (int i = 0; i < 64; i++)
			(void)tri_alloc(48);
	}
	long count = verify(mine, 12);
	tri_keep_alive(mine);
	return (void *)count;
}

static void mark_tree_cycles(bool with_churn)
{
	/* valgrind runs threads one at a time, 20-50x slower: a smaller tree */
	const int depth = TSUP_VALGRIND() ? 12 : 16, cycles = TSUP_VALGRIND() ? 4 : 8;
	ck_assert_int_eq(tri_init("mark_workers=1,debug=checkmark+poison"), 0);
	tri_add_roots(&tree_root, &tree_root + 1);
	tree_root = make(depth);
	struct tsup_thread t;
	if (with_churn)
		tsup_spawn(&t, churn, NULL);
	uint64_t shares0 = __atomic_load_n(&tri_grey.shares, __ATOMIC_RELAXED);
	uint64_t objs0 = tsup_metric("/gc/mark/scanned:objects");
	for (int i = 0; i < cycles; i++)
		tri_collect();
	uint64_t objs = tsup_metric("/gc/mark/scanned:objects") - objs0;
	if (with_churn) {
		__atomic_store_n(&stop_churn, 1, __ATOMIC_RELAXED);
		ck_assert_int_eq((long)tsup_join(&t), (1L << 13) - 1);
	}
	ck_assert_int_eq(verify(tree_root, depth), (1L << (depth + 1)) - 1);
	/* every node was scanned in every cycle */
	ck_assert_uint_ge(objs, (uint64_t)cycles * ((1u << (depth + 1)) - 1));
	/* Without a mutator the only work is the tree, found by one marker
	 * first: the other one idles until that marker shares (its block of a
	 * tree never fills, so without sharing the second marker got nothing).
	 * A mutator's barrier flushes queue full blocks of their own, and
	 * sharing, which waits for an empty global list, may then not happen. */
	if (!with_churn)
		ck_assert_uint_gt(__atomic_load_n(&tri_grey.shares, __ATOMIC_RELAXED), shares0);
}

START_TEST(a_tree_is_shared_between_two_markers_and_survives_checkmark)
{
	mark_tree_cycles(false);
}
END_TEST

START_TEST(a_tree_survives_checkmark_with_a_mutating_thread)
{
	mark_tree_cycles(true);
}
END_TEST

/* Mark bits set by hand, collector off (no cycle runs), the phase set to
 * "marking terminated" for the predicate. The cycle number is one no span
 * was allocated black in, so only marked objects are non-white. */
#define COLOR_CYCLE 123456789u

static void mark_by_hand(void *p)
{
	struct span *s = span_of((uintptr_t)p);
	mark_test_and_set(s, span_index(s, (uintptr_t)p));
}

static void color_check_with_edge(void *target_marked)
{
	ck_assert_int_eq(tri_init("gc_percent=off"), 0);
	void **a = tri_alloc(64);
	void *b = tri_alloc(64);
	a[3] = b; /* a plain store: the edge the barrier would have shaded */
	mark_by_hand(a);
	if (target_marked)
		mark_by_hand(b);
	st_seq(&tri_rt.phase, PHASE_MARK_DONE);
	color_check_heap(COLOR_CYCLE);
	st_seq(&tri_rt.phase, PHASE_IDLE);
}

START_TEST(color_check_aborts_on_a_marked_object_pointing_to_a_white_one)
{
	struct tsup_child c;
	tsup_capture_child(color_check_with_edge, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri-colour invariant broken", "word at +24 points to the white object");
}
END_TEST

START_TEST(color_check_passes_when_the_target_is_marked_too)
{
	struct tsup_child c;
	tsup_capture_child(color_check_with_edge, (void *)1, &c);
	ck_assert_msg(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0, "status 0x%x, stderr: %s", c.status,
		      c.err);
}
END_TEST

/* ---------------------------------------------------------------- */
/* A typed block's layout word (alloc/layout.h, layout_of_header)     */
/* ---------------------------------------------------------------- */

struct lnode {
	struct lnode *left;
	uint64_t i;
};

/* A typed block, its layout and the address one past its layout word. */
static struct lnode *typed_block(const tri_layout **L, uintptr_t *end)
{
	static const size_t offs[] = {offsetof(struct lnode, left)};
	*L = tri_layout_make(sizeof(struct lnode), offs, 1);
	struct lnode *n = tri_alloc_typed(*L);
	*end = (uintptr_t)n + tri_size(n) + LAYOUT_HEADER;
	return n;
}

/* Under debug=poison the slow path clears a poisoned slot after freeindex
 * has shown it to a marker: the poison pattern reads as "not yet written",
 * like 0, and the block is scanned as empty. */
START_TEST(layout_word_holding_poison_reads_as_unwritten_under_poison)
{
	ck_assert_int_eq(tri_init("debug=poison"), 0);
	const tri_layout *L;
	uintptr_t end;
	struct lnode *n = typed_block(&L, &end);
	uintptr_t *h = (uintptr_t *)(end - LAYOUT_HEADER);
	ck_assert_ptr_eq(layout_of_header((uintptr_t)n, end), L);
	*h = 0;
	ck_assert_ptr_null(layout_of_header((uintptr_t)n, end));
	*h = TRI_POISON;
	ck_assert_ptr_null(layout_of_header((uintptr_t)n, end));
	*h = (uintptr_t)L;
}
END_TEST

/* Without poison mode the same word is an overwritten layout word: abort
 * (the message is checked in tests/test_layout.c). */
START_TEST(layout_word_holding_poison_aborts_without_poison_mode)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	const tri_layout *L;
	uintptr_t end;
	struct lnode *n = typed_block(&L, &end);
	*(uintptr_t *)(end - LAYOUT_HEADER) = TRI_POISON;
	layout_of_header((uintptr_t)n, end);
}
END_TEST

static Suite *mark_suite(void)
{
	Suite *s = suite_create("mark");
	TCase *tc = tcase_create("grey_queue");
	tcase_add_test(tc, share_gives_the_older_half_to_an_idle_marker);
	tcase_add_test(tc, share_never_splits_a_single_item);
	suite_add_tcase(s, tc);

	tc = tcase_create("layout_word");
	tcase_add_test(tc, layout_word_holding_poison_reads_as_unwritten_under_poison);
	tcase_add_test_raise_signal(tc, layout_word_holding_poison_aborts_without_poison_mode, SIGABRT);
	suite_add_tcase(s, tc);

	tc = tcase_create("parallel");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, a_tree_is_shared_between_two_markers_and_survives_checkmark);
	tcase_add_test(tc, a_tree_survives_checkmark_with_a_mutating_thread);
	suite_add_tcase(s, tc);

	tc = tcase_create("color");
	tcase_add_test(tc, color_check_aborts_on_a_marked_object_pointing_to_a_white_one);
	tcase_add_test(tc, color_check_passes_when_the_target_is_marked_too);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mark_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
