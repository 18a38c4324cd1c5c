/* SPDX-License-Identifier: MIT */
/*
 * test_alloc.c - the foundation: allocation sizes, alignment and zeroing in
 * every size class and for large objects, interior-pointer lookups, memory
 * reuse, ENOMEM paths, option parsing and the start-up / attach aborts.
 */
#include "test_support.h"

void tri_debug_fail_mmap(int n); /* test hook: exported by libtricolor-test.la */

#define MAX_SMALL 32768

/* Request sizes that step through every 16-byte boundary of 1..32768:
 * 1, then for each multiple b of 16: b-15 (first size rounding to b), b,
 * and b+1 (first size past it). */
static size_t boundary_sizes(size_t *out)
{
	size_t n = 0;
	out[n++] = 1;
	for (size_t b = 16; b <= MAX_SMALL; b += 16) {
		if (b - 15 > 1)
			out[n++] = b - 15;
		out[n++] = b;
		if (b + 1 <= MAX_SMALL)
			out[n++] = b + 1;
	}
	return n;
}

static void check_block(void *p, size_t n, const char *what)
{
	ck_assert_msg(p != NULL, "%s(%zu) returned NULL", what, n);
	ck_assert_msg(((uintptr_t)p & 15) == 0, "%s(%zu) = %p is not 16-byte aligned", what, n, p);
	size_t sz = tri_size(p);
	ck_assert_msg(sz >= n, "tri_size(%s(%zu)) = %zu < request", what, n, sz);
	ck_assert_msg(tri_base(p) == p, "tri_base(%s(%zu)) != p", what, n);
	ck_assert_msg(tsup_all_zero(p, sz), "%s(%zu): block of %zu bytes is not zeroed", what, n,
		      sz);
}

/* Allocate every boundary size with alloc, check it, dirty the whole block
 * (so a later reuse must re-zero it), drop it. Then collect and do it again:
 * the second round draws from swept memory. */
static void sizes_round(void *(*alloc)(size_t), const char *what, int rounds)
{
	static size_t sizes[3 * MAX_SMALL / 16 + 2];
	size_t ns = boundary_sizes(sizes);
	ck_assert_uint_gt(ns, 6000);
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < ns; i++) {
			size_t n = sizes[i];
			/* a few objects per size so each class's span is reused */
			int k = n <= 1024 ? 4 : 2;
			for (int j = 0; j < k; j++) {
				unsigned char *p = alloc(n);
				check_block(p, n, what);
				memset(p, 0xA5, tri_size(p));
			}
		}
		tri_collect();
		tri_collect();
	}
}

START_TEST(test_alloc_sizes_alignment_and_zeroing_in_every_size_class)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	sizes_round(tri_alloc, "tri_alloc", 3);
}
END_TEST

START_TEST(test_alloc_atomic_sizes_alignment_and_zeroing_in_every_size_class)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	sizes_round(tri_alloc_atomic, "tri_alloc_atomic", 3);
}
END_TEST

START_TEST(test_alloc_zeroes_reused_memory_under_poison)
{
	/* poison fills freed blocks with 0xdeadbeef and checks it on reuse:
	 * blocks still come back zeroed and nothing was written after free. */
	ck_assert_int_eq(tri_init("debug=poison"), 0);
	sizes_round(tri_alloc, "tri_alloc", 2);
}
END_TEST

START_TEST(test_alloc_large_sizes_are_aligned_zeroed_and_sized)
{
	static const size_t sizes[] = {MAX_SMALL + 1, 40 << 10, 1 << 20, (1 << 20) + 7, 64 << 20};
	ck_assert_int_eq(tri_init(NULL), 0);
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
			size_t n = sizes[i];
			unsigned char *p = (i & 1) ? tri_alloc_atomic(n) : tri_alloc(n);
			check_block(p, n, (i & 1) ? "tri_alloc_atomic" : "tri_alloc");
			ck_assert_ptr_eq(tri_base(p + n - 1), p);
			ck_assert_ptr_eq(tri_base(p + n / 2), p);
			ck_assert_uint_eq(tri_size(p + n - 1), tri_size(p));
			ck_assert_int_eq(tri_is_heap_ptr(p + n - 1), 1);
			memset(p, 0x5A, n);
		}
		tri_collect();
	}
}
END_TEST

START_TEST(test_alloc_zero_returns_stable_non_null_address)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	void *a = tri_alloc(0), *b = tri_alloc(0);
	void *c = tri_alloc_atomic(0), *d = tri_alloc_atomic(0);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_eq(c, d);
	/* interleaved with real allocations and a collection, still the same */
	for (int i = 0; i < 1000; i++)
		ck_assert_ptr_nonnull(tri_alloc(24));
	tri_collect();
	ck_assert_ptr_eq(tri_alloc(0), a);
	ck_assert_ptr_eq(tri_alloc_atomic(0), c);
	/* distinct from real blocks */
	void *e = tri_alloc(1);
	ck_assert_ptr_ne(e, a);
	ck_assert_ptr_ne(e, c);
}
END_TEST

/* For every size class: tri_base / tri_size / tri_is_heap_ptr resolve the
 * first, a middle and the last byte of the request (and of the block) to
 * the object's start. */
START_TEST(test_interior_pointers_resolve_to_base_in_every_size_class)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	void **keep = tri_alloc(3 * sizeof(void *));
	size_t classes = 0, last_size = 0;
	for (size_t n = 16; n <= MAX_SMALL; n += 16) {
		for (int j = 0; j < 3; j++) {
			unsigned char *p = (j == 2) ? tri_alloc_atomic(n) : tri_alloc(n);
			keep[j] = p; /* neighbours stay allocated too */
			size_t sz = tri_size(p);
			ck_assert_uint_ge(sz, n);
			if (sz != last_size) {
				classes++;
				last_size = sz;
			}
			size_t ks[] = {0, 1, n / 2, n - 1, sz / 2, sz - 1};
			for (size_t q = 0; q < sizeof ks / sizeof ks[0]; q++) {
				ck_assert_msg(tri_base(p + ks[q]) == p,
					      "size %zu (block %zu): tri_base(p + %zu) = %p, want %p", n,
					      sz, ks[q], tri_base(p + ks[q]), (void *)p);
				ck_assert_uint_eq(tri_size(p + ks[q]), sz);
				ck_assert_int_eq(tri_is_heap_ptr(p + ks[q]), 1);
			}
		}
	}
	ck_assert_uint_ge(classes, 60); /* 72 classes in the design; be lenient */
	/* large objects */
	unsigned char *big = tri_alloc(3 << 20);
	ck_assert_ptr_eq(tri_base(big + (3 << 20) - 1), big);
	ck_assert_ptr_eq(tri_base(big + 12345), big);
	tri_keep_alive(keep);
	tri_keep_alive(big);
}
END_TEST

static int static_thing[64];

START_TEST(test_pointers_outside_the_heap_do_not_resolve)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	int local = 0;
	char *m = malloc(4096);
	ck_assert_ptr_nonnull(m);
	const void *outside[] = {NULL, (void *)1, (void *)16, &local, static_thing, m, m + 100,
				 (void *)&tri_init, (void *)UINTPTR_MAX, (void *)(UINTPTR_MAX - 4095)};
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
		ck_assert_msg(tri_base(outside[i]) == NULL, "tri_base(%p) should be NULL", outside[i]);
		ck_assert_uint_eq(tri_size(outside[i]), 0);
		ck_assert_int_eq(tri_is_heap_ptr(outside[i]), 0);
	}
	unsigned char *p = tri_alloc(16);
	ck_assert_int_eq(tri_is_heap_ptr(p), 1);
	free(m);
	tri_keep_alive(p);
}
END_TEST

/* Objects allocated by a helper thread and then dropped stop resolving once
 * a collection freed them (checked on most of them: a conservative root may
 * keep a few). */
struct drop_ctx {
	uintptr_t *addrs; /* malloc'd: invisible to the collector */
	size_t n;
};

static void *alloc_and_drop(void *a)
{
	struct drop_ctx *c = a;
	for (size_t i = 0; i < c->n; i++)
		c->addrs[i] = (uintptr_t)tri_alloc(48);
	return NULL;
}

START_TEST(test_collected_objects_no_longer_resolve)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	struct drop_ctx c = {malloc(10000 * sizeof(uintptr_t)), 10000};
	tsup_run_in_thread(alloc_and_drop, &c);
	tri_collect();
	tri_collect();
	size_t still = 0;
	for (size_t i = 0; i < c.n; i++)
		still += tri_is_heap_ptr((void *)c.addrs[i]);
	ck_assert_msg(still < c.n / 10, "%zu of %zu dropped objects still resolve", still, c.n);
	free(c.addrs);
}
END_TEST

START_TEST(test_memory_is_reused_after_collection)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	uint64_t maxtotal = 0;
	/* 1 GiB of garbage in 1 KiB..8 KiB objects, collecting every 64 MiB */
	size_t total = 0;
	for (unsigned i = 0; total < (1ull << 30); i++) {
		size_t n = 1024u << (i & 3);
		char *p = tri_alloc(n);
		ck_assert_ptr_nonnull(p);
		p[0] = 1;
		p[n - 1] = 2;
		total += n;
		if ((total & ((64u << 20) - 1)) < n) {
			tri_collect();
			uint64_t t = tsup_metric("/memory/classes/total:bytes");
			if (t > maxtotal)
				maxtotal = t;
		}
	}
	tri_collect();
	uint64_t t = tsup_metric("/memory/classes/total:bytes");
	ck_assert_msg(maxtotal < (192ull << 20), "mapped heap reached %llu bytes for 1 GiB of garbage",
		      (unsigned long long)maxtotal);
	ck_assert_msg(t < (160ull << 20), "mapped heap is %llu bytes at the end",
		      (unsigned long long)t);
	ck_assert_uint_ge(tsup_metric("/gc/heap/allocs:bytes"), 1ull << 30);
}
END_TEST

START_TEST(test_huge_alloc_beyond_reserve_returns_enomem_and_heap_keeps_working)
{
	ck_assert_int_eq(tri_init("heap_reserve=64m"), 0);
	uint64_t oom0 = tsup_metric("/gc/heap/oom:errors");
	errno = 0;
	void *p = tri_alloc((size_t)1 << 30);
	ck_assert_ptr_null(p);
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(tri_alloc_atomic((size_t)1 << 30));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_uint_ge(tsup_metric("/gc/heap/oom:errors"), oom0 + 2);
	/* the heap still works: small objects, a linked list, a collection */
	void **head = NULL;
	for (int i = 0; i < 10000; i++) {
		void **n = tri_alloc(32);
		ck_assert_ptr_nonnull(n);
		n[0] = head;
		n[1] = (void *)(uintptr_t)i;
		head = n;
	}
	tri_collect();
	int count = 0;
	for (void **n = head; n; n = n[0]) {
		ck_assert_uint_eq((uintptr_t)n[1], (uintptr_t)(9999 - count));
		count++;
	}
	ck_assert_int_eq(count, 10000);
	/* a large object that fits the reserve still works */
	char *q = tri_alloc(8 << 20);
	ck_assert_ptr_nonnull(q);
	memset(q, 1, 8 << 20);
}
END_TEST

START_TEST(test_failing_commits_give_enomem_then_allocation_recovers)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	/* keep everything alive in a heap array reachable from the stack, so
	 * the heap must grow (a commit) to satisfy new allocations */
	enum { N = 4096 };
	void **keep = tri_alloc(N * sizeof(void *));
	ck_assert_ptr_nonnull(keep);
	tri_debug_fail_mmap(1000);
	int got_null = 0, i;
	for (i = 0; i < N; i++) {
		errno = 0;
		void *p = tri_alloc(256 << 10);
		if (!p) {
			ck_assert_int_eq(errno, ENOMEM);
			got_null = 1;
			break;
		}
		TRI_STORE(keep[i], p);
	}
	ck_assert_msg(got_null, "no allocation failed with commits failing (%d x 256 KiB)", i);
	/* small allocations that need a new span fail too, sooner or later */
	int small_null = 0;
	for (int j = 0; j < 200000 && !small_null; j++) {
		errno = 0;
		void *p = tri_alloc(2048);
		if (!p) {
			ck_assert_int_eq(errno, ENOMEM);
			small_null = 1;
		} else {
			TRI_STORE(keep[j % N], p);
		}
	}
	ck_assert_msg(small_null, "small allocations never failed with commits failing");
	tri_debug_fail_mmap(0);
	for (int j = 0; j < 64; j++) {
		char *p = tri_alloc(256 << 10);
		ck_assert_msg(p != NULL, "allocation still fails after tri_debug_fail_mmap(0)");
		memset(p, 7, 256 << 10);
		TRI_STORE(keep[j], p);
	}
	for (int j = 0; j < 10000; j++) {
		char *p = tri_alloc(2048);
		ck_assert_ptr_nonnull(p);
		p[2047] = 1;
	}
	ck_assert_uint_ge(tsup_metric("/gc/heap/oom:errors"), 2);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Options                                                           */
/* ---------------------------------------------------------------- */

struct bad_opt {
	const char *options;
	const char *needle; /* must appear in the message */
};

static void init_with_bad_option(void *a)
{
	const struct bad_opt *b = a;
	int r = tri_init(b->options);
	if (r != EINVAL)
		_exit(10);
	/* nothing was started: a correct tri_init still works */
	r = tri_init(NULL);
	if (r != 0)
		_exit(11);
	if (!tri_alloc(16))
		_exit(12);
	_exit(0);
}

static const struct bad_opt bad_opts[] = {
	{"no_such_option=1", "no_such_option"},
	{"gc_percent=abc", "gc_percent"},
	{"memory_limit=-1", "memory_limit"},
	{"mark_workers=0", "mark_workers"},
	{"gc_percent", "gc_percent"},
	{"gc_percent=50,bogus=2", "bogus"},
	{"debug=nonsense", "nonsense"},
	{"heap_reserve=1k", "heap_reserve"},
};

START_TEST(test_init_rejects_bad_options_with_einval_and_names_them)
{
	const struct bad_opt *b = &bad_opts[_i];
	struct tsup_child c;
	tsup_capture_child(init_with_bad_option, (void *)b, &c);
	ck_assert_msg(WIFEXITED(c.status), "child died: status 0x%x, stderr: %s", c.status, c.err);
	ck_assert_msg(WEXITSTATUS(c.status) == 0, "\"%s\": child exit %d (10: not EINVAL, 11: retry failed), stderr: %s",
		      b->options, WEXITSTATUS(c.status), c.err);
	ck_assert_msg(strstr(c.err, b->needle) != NULL, "message for \"%s\" lacks \"%s\": %s",
		      b->options, b->needle, c.err);
	ck_assert_msg(strstr(c.err, "tri_init") != NULL, "message lacks tri_init: %s", c.err);
}
END_TEST

START_TEST(test_init_accepts_valid_options)
{
	ck_assert_int_eq(tri_init("gc_percent=250, memory_limit=512m,mark_workers=2,cleanup_workers=3,"
				  "heap_reserve=2g,min_heap=8m,slow_finalizer_ms=50,debug=checkmark+poison"),
			 0);
	ck_assert_uint_eq(tsup_metric("/gc/gogc:percent"), 250);
	ck_assert_uint_eq(tsup_metric("/gc/gomemlimit:bytes"), 512ull << 20);
	ck_assert_ptr_nonnull(tri_alloc(100));
	tri_collect();
}
END_TEST

START_TEST(test_tricolor_options_env_overrides_options_string)
{
	setenv("TRICOLOR_OPTIONS", "gc_percent=37,memory_limit=64m", 1);
	unsetenv("TRICOLOR_GC_PERCENT");
	ck_assert_int_eq(tri_init("gc_percent=20"), 0);
	unsetenv("TRICOLOR_OPTIONS");
	ck_assert_uint_eq(tsup_metric("/gc/gogc:percent"), 37);
	ck_assert_uint_eq(tsup_metric("/gc/gomemlimit:bytes"), 64ull << 20);
}
END_TEST

START_TEST(test_tricolor_gc_percent_env_overrides_everything)
{
	setenv("TRICOLOR_OPTIONS", "gc_percent=37", 1);
	setenv("TRICOLOR_GC_PERCENT", "55", 1);
	ck_assert_int_eq(tri_init("gc_percent=20"), 0);
	unsetenv("TRICOLOR_OPTIONS");
	unsetenv("TRICOLOR_GC_PERCENT");
	ck_assert_uint_eq(tsup_metric("/gc/gogc:percent"), 55);
}
END_TEST

static void init_with_bad_env(void *a)
{
	(void)a;
	setenv("TRICOLOR_GC_PERCENT", "lots", 1);
	_exit(tri_init(NULL) == EINVAL ? 0 : 1);
}

START_TEST(test_bad_env_value_is_rejected_and_named)
{
	struct tsup_child c;
	tsup_capture_child(init_with_bad_env, NULL, &c);
	ck_assert_msg(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0,
		      "tri_init with TRICOLOR_GC_PERCENT=lots should return EINVAL; stderr: %s", c.err);
	ck_assert_msg(strstr(c.err, "TRICOLOR_GC_PERCENT") || strstr(c.err, "gc_percent"),
		      "message does not name the variable: %s", c.err);
}
END_TEST

START_TEST(test_gc_percent_off_reads_minus_one)
{
	ck_assert_int_eq(tri_init("gc_percent=off"), 0);
	/* metrics.c stores (uint64_t)(int)-1 */
	ck_assert_uint_eq(tsup_metric("/gc/gogc:percent"), UINT64_MAX);
	ck_assert_int_eq(tri_gc_percent(80), -1);
	ck_assert_uint_eq(tsup_metric("/gc/gogc:percent"), 80);
	ck_assert_int_eq(tri_gc_percent(-1), 80);
	ck_assert_uint_eq(tsup_metric("/gc/gogc:percent"), UINT64_MAX);
}
END_TEST

START_TEST(test_second_init_returns_ealready_and_changes_nothing)
{
	ck_assert_int_eq(tri_init("gc_percent=42"), 0);
	ck_assert_int_eq(tri_init("gc_percent=77"), EALREADY);
	ck_assert_int_eq(tri_init(NULL), EALREADY);
	ck_assert_uint_eq(tsup_metric("/gc/gogc:percent"), 42);
	ck_assert_int_eq(tri_thread_is_attached(), 1);
	ck_assert_ptr_nonnull(tri_alloc(10));
}
END_TEST

/* ---------------------------------------------------------------- */
/* Start-up and attach aborts                                        */
/* ---------------------------------------------------------------- */

static void *alloc_unattached(void *a)
{
	(void)a;
	void *p = tri_alloc(16); /* aborts */
	return p;
}

static void scenario_alloc_from_unattached_thread(void *a)
{
	(void)a;
	if (tri_init(NULL))
		_exit(20);
	pthread_t th;
	pthread_create(&th, NULL, alloc_unattached, NULL);
	tri_blocking_enter();
	pthread_join(th, NULL);
	tri_blocking_leave();
	_exit(21); /* not reached */
}

START_TEST(test_alloc_from_unattached_thread_aborts_with_not_attached)
{
	struct tsup_child c;
	tsup_capture_child(scenario_alloc_from_unattached_thread, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "not attached", "tri_alloc");
	scenario_alloc_from_unattached_thread(NULL);
}
END_TEST

static void *alloc_atomic_unattached(void *a)
{
	(void)a;
	return tri_alloc_atomic(16);
}

static void scenario_alloc_atomic_from_unattached_thread(void *a)
{
	(void)a;
	if (tri_init(NULL))
		_exit(20);
	pthread_t th;
	pthread_create(&th, NULL, alloc_atomic_unattached, NULL);
	tri_blocking_enter();
	pthread_join(th, NULL);
	tri_blocking_leave();
	_exit(21);
}

START_TEST(test_alloc_atomic_from_unattached_thread_aborts_with_not_attached)
{
	struct tsup_child c;
	tsup_capture_child(scenario_alloc_atomic_from_unattached_thread, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "not attached", "tri_alloc_atomic");
	scenario_alloc_atomic_from_unattached_thread(NULL);
}
END_TEST

static void scenario_alloc_after_detach(void *a)
{
	(void)a;
	if (tri_init(NULL))
		_exit(20);
	tri_thread_detach();
	tri_alloc(100);
	_exit(21);
}

START_TEST(test_alloc_after_detach_aborts_with_not_attached)
{
	struct tsup_child c;
	tsup_capture_child(scenario_alloc_after_detach, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "not attached", "tri_alloc");
	scenario_alloc_after_detach(NULL);
}
END_TEST

static void scenario_alloc_before_init(void *a)
{
	(void)a;
	tri_alloc(16);
	_exit(21);
}

START_TEST(test_alloc_before_init_aborts_with_init_not_called)
{
	struct tsup_child c;
	tsup_capture_child(scenario_alloc_before_init, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri_init has not been called", "tri_alloc");
	scenario_alloc_before_init(NULL);
}
END_TEST

static void scenario_attach_before_init(void *a)
{
	(void)a;
	tri_thread_attach();
	_exit(21);
}

START_TEST(test_attach_before_init_aborts_with_init_not_called)
{
	struct tsup_child c;
	tsup_capture_child(scenario_attach_before_init, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri_init has not been called", "tri_thread_attach");
	scenario_attach_before_init(NULL);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Span reuse and the page heap (page_heap.c free-run bounds,       */
/* sweep.c clear_dead)                                               */
/* ---------------------------------------------------------------- */

/* In the data segment: scanned (data_roots), so kept[i] keeps its object. */
static unsigned char *kept_objs[4096];

/* The sweep clears runs of dead slots with one memset each: every dead slot
 * reads as zero when allocated again, across bitmap-word boundaries and at
 * the span's ends, and no live neighbour of a run is touched. */
START_TEST(test_sweep_clears_every_dead_run_and_no_live_neighbour)
{
	static const size_t sizes[] = {16, 48, 112, 1024};
	ck_assert_int_eq(tri_init("gc_percent=off"), 0);
	for (unsigned k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t sz = sizes[k];
		for (unsigned i = 0; i < 4096; i++) {
			kept_objs[i] = tri_alloc(sz);
			memset(kept_objs[i], 0xA5, sz);
		}
		/* irregular runs of dead and live slots, 1 to 70 long */
		unsigned run = 1, live = 0, left = 1;
		for (unsigned i = 0; i < 4096; i++) {
			if (!--left) {
				live = !live;
				run = run * 37 % 71 + 1;
				left = run;
			}
			if (!live)
				kept_objs[i] = NULL;
		}
		tri_collect();
		tri_collect();
		for (unsigned i = 0; i < 4096; i++)
			if (kept_objs[i])
				for (size_t b = 0; b < sz; b++)
					if (kept_objs[i][b] != 0xA5) /* (one Check call per failure: each is a write) */
						ck_abort_msg("size %zu: live object %u byte %zu is %#x", sz, i, b,
							     kept_objs[i][b]);
		for (unsigned i = 0; i < 8192; i++) {
			unsigned char *p = tri_alloc(sz);
			ck_assert_msg(tsup_all_zero(p, sz), "size %zu: reused slot %p is not zeroed", sz,
				      (void *)p);
		}
		memset(kept_objs, 0, sizeof kept_objs);
	}
}
END_TEST

static unsigned char *large_objs[64];

/* Only a free run's first and last pages name its struct: pointers into
 * the interior of freed runs (split and merged since) never resolve to a
 * free or foreign object, and every page of a live object resolves to it.
 * With checkmark, each cycle's heap check validates the runs' bounds. */
START_TEST(test_pointers_into_split_and_merged_free_runs_resolve_correctly)
{
	ck_assert_int_eq(tri_init("gc_percent=off,debug=checkmark"), 0);
	/* malloc'd: invisible to the collector (a stack copy would keep them) */
	uintptr_t *dropped = malloc(64 * sizeof *dropped);
	size_t *dsize = malloc(64 * sizeof *dsize), nd = 0;
	for (int round = 0; round < 3; round++) {
		for (unsigned i = 0; i < 64; i++) {
			size_t sz = (size_t)(40 + (i * 29 + (unsigned)round * 11) % 200) << 10;
			large_objs[i] = tri_alloc(sz);
			ck_assert_ptr_nonnull(large_objs[i]);
			large_objs[i][sz - 1] = 1;
		}
		nd = 0;
		for (unsigned i = 0; i < 64; i += 1 + (i & 1)) {
			dropped[nd] = (uintptr_t)large_objs[i];
			dsize[nd++] = tri_size(large_objs[i]);
			large_objs[i] = NULL;
		}
		tri_collect();
		tri_collect();
		for (size_t d = 0; d < nd; d++)
			for (size_t off = 4096; off < dsize[d] && !tri_is_heap_ptr((void *)dropped[d]); off += 4096)
				ck_assert_msg(!tri_is_heap_ptr((void *)(dropped[d] + off)),
					      "page %zu of a freed run resolves", off / 4096);
		/* (an object whose base still resolves was kept by a stale
		 * conservative root: live, not a freed run) */
		/* small spans and new large objects split and merge the runs */
		for (unsigned i = 0; i < 20000; i++)
			tri_keep_alive(tri_alloc(64 + (i % 7) * 16));
		for (unsigned i = 0; i < 64; i++) {
			if (!large_objs[i])
				continue;
			size_t sz = tri_size(large_objs[i]);
			for (size_t off = 0; off < sz; off += 4096)
				ck_assert_ptr_eq(tri_base(large_objs[i] + off), large_objs[i]);
		}
		for (size_t d = 0; d < nd; d++)
			for (size_t off = 0; off < dsize[d]; off += 4096) {
				unsigned char *q = (unsigned char *)(dropped[d] + off);
				unsigned char *b = tri_base(q);
				if (b)
					ck_assert_msg(b <= q && q < b + tri_size(b),
						      "%p resolves to %p, an object that does not contain it", (void *)q,
						      (void *)b);
			}
		memset(large_objs, 0, sizeof large_objs);
		tri_collect();
	}
	free(dropped);
	free(dsize);
}
END_TEST

/* Large objects churned under a memory limit, with a thread collecting:
 * every cycle's scavenger releases free runs with the page heap lock
 * dropped (page_heap.c: release in flight) while the allocators split and
 * merge the runs around the one in flight. Every new object reads as zero,
 * and each keeps its own pattern until dropped (a run handed out twice, or
 * released while in use, would break one or the other). */
static volatile int scav_stop;

static void *scav_allocator(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	unsigned char *ring[8] = {0}, pat[8] = {0};
	size_t sizes[8] = {0};
	for (unsigned i = 0; i < 600; i++) {
		unsigned k = i & 7;
		if (ring[k])
			for (size_t off = 0; off < sizes[k]; off += 4093)
				if (ring[k][off] != pat[k])
					ck_abort_msg("object %p byte %zu changed under its owner", (void *)ring[k], off);
		seed = seed * 1103515245u + 12345u;
		sizes[k] = (size_t)(36 + (seed >> 16) % 220) << 10;
		ring[k] = tri_alloc(sizes[k]);
		ck_assert_ptr_nonnull(ring[k]);
		ck_assert_msg(tsup_all_zero(ring[k], sizes[k]), "new object %p of %zu bytes is not zeroed",
			      (void *)ring[k], sizes[k]);
		pat[k] = (unsigned char)(seed >> 8 | 1);
		memset(ring[k], pat[k], sizes[k]);
	}
	return NULL;
}

static void *scav_collector(void *arg)
{
	uint64_t *max_released = arg;
	while (!__atomic_load_n(&scav_stop, __ATOMIC_SEQ_CST)) {
		tri_collect();
		uint64_t r = tsup_metric("/memory/classes/heap/released:bytes");
		if (r > *max_released)
			*max_released = r;
	}
	return NULL;
}

START_TEST(test_allocation_racing_the_scavenger_gets_zeroed_unshared_runs)
{
	ck_assert_int_eq(tri_init("memory_limit=8m,debug=checkmark"), 0);
	uint64_t max_released = 0;
	struct tsup_thread a, b, c;
	tsup_spawn(&c, scav_collector, &max_released);
	tsup_spawn(&a, scav_allocator, (void *)(uintptr_t)1);
	tsup_spawn(&b, scav_allocator, (void *)(uintptr_t)77);
	tsup_join(&a);
	tsup_join(&b);
	__atomic_store_n(&scav_stop, 1, __ATOMIC_SEQ_CST);
	tsup_join(&c);
	ck_assert_msg(max_released > 0, "the scavenger never released memory during the run");
}
END_TEST

static Suite *alloc_suite(void)
{
	Suite *s = suite_create("alloc");
	TCase *tc = tcase_create("sizes");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_alloc_sizes_alignment_and_zeroing_in_every_size_class);
	tcase_add_test(tc, test_alloc_atomic_sizes_alignment_and_zeroing_in_every_size_class);
	tcase_add_test(tc, test_alloc_zeroes_reused_memory_under_poison);
	tcase_add_test(tc, test_alloc_large_sizes_are_aligned_zeroed_and_sized);
	tcase_add_test(tc, test_alloc_zero_returns_stable_non_null_address);
	tcase_add_test(tc, test_interior_pointers_resolve_to_base_in_every_size_class);
	tcase_add_test(tc, test_pointers_outside_the_heap_do_not_resolve);
	tcase_add_test(tc, test_collected_objects_no_longer_resolve);
	tcase_add_test(tc, test_memory_is_reused_after_collection);
	suite_add_tcase(s, tc);

	tc = tcase_create("span_reuse");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sweep_clears_every_dead_run_and_no_live_neighbour);
	tcase_add_test(tc, test_pointers_into_split_and_merged_free_runs_resolve_correctly);
	tcase_add_test(tc, test_allocation_racing_the_scavenger_gets_zeroed_unshared_runs);
	suite_add_tcase(s, tc);

	tc = tcase_create("enomem");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_huge_alloc_beyond_reserve_returns_enomem_and_heap_keeps_working);
	tcase_add_test(tc, test_failing_commits_give_enomem_then_allocation_recovers);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_init_rejects_bad_options_with_einval_and_names_them, 0,
			    (int)(sizeof bad_opts / sizeof bad_opts[0]));
	tcase_add_test(tc, test_init_accepts_valid_options);
	tcase_add_test(tc, test_tricolor_options_env_overrides_options_string);
	tcase_add_test(tc, test_tricolor_gc_percent_env_overrides_everything);
	tcase_add_test(tc, test_bad_env_value_is_rejected_and_named);
	tcase_add_test(tc, test_gc_percent_off_reads_minus_one);
	tcase_add_test(tc, test_second_init_returns_ealready_and_changes_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("aborts");
	tcase_set_timeout(tc, 20);
	tcase_add_test_raise_signal(tc, test_alloc_from_unattached_thread_aborts_with_not_attached, SIGABRT);
	tcase_add_test_raise_signal(tc, test_alloc_atomic_from_unattached_thread_aborts_with_not_attached,
				    SIGABRT);
	tcase_add_test_raise_signal(tc, test_alloc_after_detach_aborts_with_not_attached, SIGABRT);
	tcase_add_test_raise_signal(tc, test_alloc_before_init_aborts_with_init_not_called, SIGABRT);
	tcase_add_test_raise_signal(tc, test_attach_before_init_aborts_with_init_not_called, SIGABRT);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(alloc_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
