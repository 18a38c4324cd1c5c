/* SPDX-License-Identifier: MIT */
/*
 * test_collector.c - the concurrent collector: every kind of root keeps
 * objects alive (stack, callee-saved register, registered range, the stack
 * of a thread in a blocking region), unreachable cycles are reclaimed,
 * atomic objects are not scanned, the heap stays bounded under a garbage
 * loop, gc_percent=off, metrics, pauses, and tri_memmove / tri_cas through
 * the write barrier while marking runs.
 *
 * Survival is checked without finalizers: each object carries a checksum
 * of its own contents, and a "shadow" copy of its address lives in malloc'd
 * memory (invisible to the collector). Under debug=poison a block freed by
 * mistake is overwritten with 0xdeadbeef and then reused by the garbage
 * churn, so a wrongly freed object fails its checksum. Death is checked with
 * cleanups (tri_add_cleanup) whose args are malloc'd flags.
 */
#include "test_support.h"

/* ---------------------------------------------------------------- */
/* Checked objects                                                   */
/* ---------------------------------------------------------------- */

#define COBJ_MAGIC 0x7472696f626a6563ull

struct cobj {
	uint64_t magic;
	uint64_t seed;
	struct cobj *next;
	uint64_t pad;
	unsigned char data[96];
};

static struct cobj *cobj_new(uint64_t seed)
{
	struct cobj *o = tri_alloc(sizeof *o);
	ck_assert_ptr_nonnull(o);
	o->magic = COBJ_MAGIC;
	o->seed = seed;
	tsup_fill(o->data, sizeof o->data, seed);
	return o;
}

/* NULL if o is an intact, allocated checked object with this seed. */
static const char *cobj_check(const struct cobj *o, uint64_t seed)
{
	if (!o)
		return "NULL object";
	if (tri_base(o) != o)
		return "not an allocated heap block (freed?)";
	if (o->magic != COBJ_MAGIC)
		return "magic overwritten";
	if (o->seed != seed)
		return "seed overwritten";
	if (tsup_check_fill(o->data, sizeof o->data, seed) != sizeof o->data)
		return "data overwritten";
	return NULL;
}

static __attribute__((noinline)) struct cobj *chain_new(uint64_t seed, int n)
{
	struct cobj *head = NULL;
	for (int i = n - 1; i >= 0; i--) {
		struct cobj *o = cobj_new(seed + (uint64_t)i);
		o->next = head;
		head = o;
	}
	return head;
}

static const char *chain_check(const struct cobj *head, uint64_t seed, int n)
{
	int i = 0;
	for (const struct cobj *o = head; o; o = o->next, i++) {
		if (i >= n)
			return "chain too long";
		const char *e = cobj_check(o, seed + (uint64_t)i);
		if (e)
			return e;
	}
	return i == n ? NULL : "chain too short";
}

#define ASSERT_CHAIN(head, seed, n)                                                              \
	do {                                                                                     \
		const char *e_ = chain_check((head), (seed), (n));                               \
		ck_assert_msg(e_ == NULL, "chain at %p (seed %llu): %s", (void *)(head),         \
			      (unsigned long long)(seed), e_);                                   \
	} while (0)

/* Allocate and write a few MB of garbage (reusing whatever was freed). */
static __attribute__((noinline)) void churn(size_t bytes)
{
	size_t done = 0;
	for (unsigned i = 0; done < bytes; i++) {
		size_t n = (size_t)128 << (i % 4);
		unsigned char *p = tri_alloc(n);
		ck_assert_ptr_nonnull(p);
		memset(p, 0x3c, n);
		done += n;
	}
}

static __attribute__((noinline)) void churn_and_collect(int times)
{
	for (int i = 0; i < times; i++) {
		churn(4 << 20);
		tri_collect();
	}
	churn(4 << 20);
	tsup_scrub_stack();
}

/* ---------------------------------------------------------------- */
/* Roots                                                             */
/* ---------------------------------------------------------------- */

/* The root tests run their bodies on a fresh helper thread: the test
 * thread's stack holds stale words from Check and earlier calls that could
 * keep the object alive by chance and make the test vacuous. Each body
 * returns NULL or what went wrong. */
static __attribute__((noinline)) void *stack_local_body(void *a)
{
	uintptr_t *shadow = a;
	struct cobj *volatile local = chain_new(1000, 16);
	*shadow = (uintptr_t)local;
	tsup_scrub_stack();
	churn_and_collect(5);
	const char *e = chain_check((struct cobj *)*shadow, 1000, 16);
	if (!e && (uintptr_t)local != *shadow)
		e = "the local changed";
	return (void *)e;
}

START_TEST(test_object_reachable_only_from_stack_local_survives)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	uintptr_t *shadow = malloc(sizeof *shadow);
	const char *e = tsup_run_in_thread(stack_local_body, shadow);
	ck_assert_msg(e == NULL, "object held by a stack local: %s", e);
	free(shadow);
}
END_TEST

#if defined(__x86_64__)
static __attribute__((noinline)) void *register_body(void *a)
{
	uintptr_t *shadow = a;
	register struct cobj *reg __asm__("r12") = chain_new(2000, 16);
	__asm__ __volatile__("" : "+r"(reg));
	*shadow = (uintptr_t)reg;
	tsup_scrub_stack();
	for (int i = 0; i < 5; i++) {
		churn_and_collect(1);
		__asm__ __volatile__("" : "+r"(reg));
	}
	const char *e = chain_check((struct cobj *)*shadow, 2000, 16);
	if (!e && (uintptr_t)reg != *shadow)
		e = "the register changed";
	return (void *)e;
}

START_TEST(test_object_reachable_only_from_callee_saved_register_survives)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	uintptr_t *shadow = malloc(sizeof *shadow);
	const char *e = tsup_run_in_thread(register_body, shadow);
	ck_assert_msg(e == NULL, "object held in a callee-saved register: %s", e);
	free(shadow);
}
END_TEST
#endif

static void *root_slots[4];

struct root_ctx {
	uintptr_t shadow;
	int *flag;
	void **slot;
};

static void *publish_into_root(void *a)
{
	struct root_ctx *c = a;
	struct cobj *o = chain_new(3000, 16);
	tri_add_cleanup(o, tsup_cleanup_set_flag, c->flag);
	c->shadow = (uintptr_t)o;
	tri_store(c->slot, o);
	return NULL;
}

/* Heap pointers are only handled in noinline helpers (the Check macros
 * keep their operands in the test function's frame, a conservative root). */
static __attribute__((noinline)) void check_root_slot(const struct root_ctx *c)
{
	ASSERT_CHAIN((struct cobj *)c->shadow, 3000, 16);
	ck_assert_msg(*c->slot == (void *)c->shadow, "root slot changed");
}

static struct root_ctx *root_ctx_new(void **slot)
{
	/* malloc'd: the shadow address must not sit on the test's stack */
	struct root_ctx *c = malloc(sizeof *c);
	ck_assert_ptr_nonnull(c);
	c->shadow = 0;
	c->flag = tsup_new_flag();
	c->slot = slot;
	return c;
}

START_TEST(test_object_reachable_only_from_registered_roots_survives_until_removed)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	memset(root_slots, 0, sizeof root_slots);
	tri_add_roots(root_slots, root_slots + 4);
	struct root_ctx *c = root_ctx_new(&root_slots[1]);
	tsup_run_in_thread(publish_into_root, c);
	churn_and_collect(5);
	ck_assert_int_eq(tri_drain(5000), 0);
	ck_assert_msg(!tsup_flag(c->flag), "object in a registered root range was collected");
	check_root_slot(c);
	tsup_scrub_stack();
	tri_remove_roots(root_slots, root_slots + 4);
	tri_store(&root_slots[1], NULL);
	ck_assert_msg(tsup_collect_until_flag(c->flag, 10) > 0,
		      "object stayed alive after its root was removed and cleared");
	free(c->flag);
	free(c);
}
END_TEST

START_TEST(test_unregistered_range_is_not_a_root_with_data_roots_off)
{
	/* removing the range alone (the slot still holds the pointer) is
	 * enough: with data_roots=off static data is not scanned unless
	 * registered (data_roots=on is tested in tests/test_api.c) */
	ck_assert_int_eq(tri_init("data_roots=off,debug=checkmark+poison"), 0);
	memset(root_slots, 0, sizeof root_slots);
	tri_add_roots(root_slots, root_slots + 4);
	struct root_ctx *c = root_ctx_new(&root_slots[2]);
	tsup_run_in_thread(publish_into_root, c);
	churn_and_collect(2);
	ck_assert_int_eq(tri_drain(5000), 0);
	ck_assert(!tsup_flag(c->flag));
	tri_remove_roots(root_slots, root_slots + 4);
	ck_assert_msg(tsup_collect_until_flag(c->flag, 10) > 0,
		      "object referenced only from an unregistered static array was not collected");
	ck_assert_msg(root_slots[2] != NULL, "the slot was cleared by someone");
	free(c->flag);
	free(c);
}
END_TEST

START_TEST(test_malloced_root_range_keeps_objects_alive)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	void **range = calloc(1000, sizeof(void *));
	tri_add_roots(range, range + 1000);
	uintptr_t *shadow = malloc(1000 * sizeof *shadow);
	for (int i = 0; i < 1000; i++) {
		struct cobj *o = cobj_new(5000 + (uint64_t)i);
		tri_store(&range[i], o);
		shadow[i] = (uintptr_t)o;
	}
	tsup_scrub_stack();
	churn_and_collect(4);
	for (int i = 0; i < 1000; i++) {
		const char *e = cobj_check((struct cobj *)shadow[i], 5000 + (uint64_t)i);
		ck_assert_msg(e == NULL, "object %d of a malloc'd root range: %s", i, e);
	}
	tri_remove_roots(range, range + 1000);
	free(range);
	free(shadow);
}
END_TEST

/* (d) another thread's stack while it sits in a blocking region */
struct blocker {
	int pipefd[2];
	int ready;
	uintptr_t shadow;
	uintptr_t reg_shadow;
	const char *err;
};

static __attribute__((noinline)) void *blocker_body(void *a)
{
	struct blocker *b = a;
	struct cobj *volatile local = chain_new(7000, 16);
	b->shadow = (uintptr_t)local;
#if defined(__x86_64__)
	register struct cobj *reg __asm__("r13") = chain_new(8000, 16);
	__asm__ __volatile__("" : "+r"(reg));
	b->reg_shadow = (uintptr_t)reg;
#endif
	tsup_scrub_stack();
	__atomic_store_n(&b->ready, 1, __ATOMIC_SEQ_CST);
	char ch;
	tri_blocking_enter();
	ssize_t n = read(b->pipefd[0], &ch, 1);
	tri_blocking_leave();
	if (n != 1)
		b->err = "read from the pipe failed";
	else
		b->err = chain_check(local, 7000, 16);
#if defined(__x86_64__)
	__asm__ __volatile__("" : "+r"(reg));
	if (!b->err)
		b->err = chain_check(reg, 8000, 16);
#endif
	return NULL;
}

START_TEST(test_stack_of_thread_in_blocking_region_is_a_root)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	struct blocker b;
	memset(&b, 0, sizeof b);
	ck_assert_int_eq(pipe(b.pipefd), 0);
	struct tsup_thread th;
	tsup_spawn(&th, blocker_body, &b);
	while (!__atomic_load_n(&b.ready, __ATOMIC_SEQ_CST))
		tsup_sleep_ms(1);
	uint64_t c0 = tsup_metric("/gc/cycles/total:gc-cycles");
	churn_and_collect(5);
	ck_assert_uint_ge(tsup_metric("/gc/cycles/total:gc-cycles"), c0 + 5);
	/* still intact while the owner is blocked */
	ASSERT_CHAIN((struct cobj *)b.shadow, 7000, 16);
#if defined(__x86_64__)
	ASSERT_CHAIN((struct cobj *)b.reg_shadow, 8000, 16);
#endif
	ck_assert_int_eq(write(b.pipefd[1], "x", 1), 1);
	tsup_join(&th);
	ck_assert_msg(b.err == NULL, "blocked thread's object: %s", b.err);
	close(b.pipefd[0]);
	close(b.pipefd[1]);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Reclamation                                                       */
/* ---------------------------------------------------------------- */

struct ring_ctx {
	int n;
	long *counter;
	void **keep; /* NULL or a root slot that keeps the ring alive */
};

static void *build_ring(void *a)
{
	struct ring_ctx *c = a;
	void **first = tri_alloc(4 * sizeof(void *));
	void **prev = first;
	tri_add_cleanup(first, tsup_cleanup_count, c->counter);
	for (int i = 1; i < c->n; i++) {
		void **node = tri_alloc(4 * sizeof(void *));
		tri_add_cleanup(node, tsup_cleanup_count, c->counter);
		node[1] = (void *)(uintptr_t)i;
		TRI_STORE(prev[0], node);
		prev = node;
	}
	TRI_STORE(prev[0], first); /* close the cycle */
	if (c->keep)
		tri_store(c->keep, first);
	return NULL;
}

START_TEST(test_unreachable_two_object_cycle_is_reclaimed)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	long *count = calloc(1, sizeof *count);
	struct ring_ctx c = {2, count, NULL};
	tsup_run_in_thread(build_ring, &c);
	ck_assert_msg(tsup_collect_until_count(count, 2, 10) > 0,
		      "A<->B cycle not reclaimed: %ld of 2 cleanups ran", tsup_count(count));
	ck_assert_int_eq(tsup_count(count), 2);
	free(count);
}
END_TEST

static __attribute__((noinline)) void walk_rooted_ring(void)
{
	void **n = root_slots[0];
	for (int i = 0; i < 1000; i++) {
		ck_assert_msg(tri_base(n) == n, "ring node %d is not allocated", i);
		ck_assert_msg((uintptr_t)n[1] == (uintptr_t)i, "ring node %d has index %lu", i,
			      (unsigned long)(uintptr_t)n[1]);
		n = n[0];
	}
	ck_assert_msg(n == root_slots[0], "the ring does not close after 1000 nodes");
}

START_TEST(test_unreachable_thousand_node_ring_is_reclaimed_and_rooted_ring_is_not)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	memset(root_slots, 0, sizeof root_slots);
	tri_add_roots(root_slots, root_slots + 4);
	long *dead = calloc(1, sizeof *dead), *live = calloc(1, sizeof *live);
	struct ring_ctx cd = {1000, dead, NULL}, cl = {1000, live, &root_slots[0]};
	tsup_run_in_thread(build_ring, &cd);
	tsup_run_in_thread(build_ring, &cl);
	ck_assert_msg(tsup_collect_until_count(dead, 1000, 10) > 0,
		      "1000-node ring not reclaimed: %ld of 1000 cleanups ran", tsup_count(dead));
	tri_collect();
	ck_assert_int_eq(tri_drain(5000), 0);
	ck_assert_int_eq(tsup_count(dead), 1000);
	ck_assert_msg(tsup_count(live) == 0, "%ld nodes of a rooted ring were reclaimed",
		      tsup_count(live));
	walk_rooted_ring();
	tri_store(&root_slots[0], NULL);
	tsup_scrub_stack();
	ck_assert_msg(tsup_collect_until_count(live, 1000, 10) > 0,
		      "ring not reclaimed after its root was cleared: %ld of 1000", tsup_count(live));
	tri_remove_roots(root_slots, root_slots + 4);
	free(dead);
	free(live);
}
END_TEST

struct atomic_ctx {
	int *flag_atomic, *flag_scanned;
	uintptr_t holder_atomic, holder_scanned;
};

static void *build_holders(void *a)
{
	struct atomic_ctx *c = a;
	void **v1 = tri_alloc(64), **v2 = tri_alloc(64);
	tri_add_cleanup(v1, tsup_cleanup_set_flag, c->flag_atomic);
	tri_add_cleanup(v2, tsup_cleanup_set_flag, c->flag_scanned);
	void **ha = tri_alloc_atomic(64), **hs = tri_alloc(64);
	ha[0] = v1;
	ha[1] = (char *)v1 + 8; /* an interior pointer too */
	hs[0] = v2;
	c->holder_atomic = (uintptr_t)ha;
	c->holder_scanned = (uintptr_t)hs;
	tri_store(&root_slots[0], ha);
	tri_store(&root_slots[1], hs);
	return NULL;
}

START_TEST(test_atomic_objects_are_not_scanned)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	memset(root_slots, 0, sizeof root_slots);
	tri_add_roots(root_slots, root_slots + 4);
	struct atomic_ctx c = {tsup_new_flag(), tsup_new_flag(), 0, 0};
	tsup_run_in_thread(build_holders, &c);
	ck_assert_msg(tsup_collect_until_flag(c.flag_atomic, 10) > 0,
		      "an object referenced only from a tri_alloc_atomic block was kept alive");
	ck_assert_msg(!tsup_flag(c.flag_scanned),
		      "an object referenced from a scanned, rooted block was collected");
	/* the holders themselves are alive */
	ck_assert_ptr_eq(tri_base((void *)c.holder_atomic), (void *)c.holder_atomic);
	ck_assert_ptr_eq(tri_base((void *)c.holder_scanned), (void *)c.holder_scanned);
	tri_remove_roots(root_slots, root_slots + 4);
	free(c.flag_atomic);
	free(c.flag_scanned);
}
END_TEST

/*
 * Process memory in the garbage loop. In a normal build it is the process
 * RSS, which must stay under 128 MB. In a sanitizer build RSS is dominated
 * by the sanitizer (ASan's shadow and malloc quarantine, TSan's shadow and
 * metadata: 133-250 MB measured with a 24-52 MB heap) and says nothing
 * about the collector, so there the same property is checked on the two
 * parts of it the collector owns, each measured without the sanitizer's
 * share: the resident pages of the heap's address range
 * (tsup_heap_resident_bytes: pages in use plus pages the scavenger failed
 * to return) and the bytes it malloc'd (tsup_malloc_bytes, metadata). Both
 * are checked in every build; RSS only where it means something.
 */
struct loop_mem {
	uint64_t rss, heap_res, malloc_bytes;
};

enum { LOOP_HEAP_RESERVE_GB = 64 }; /* the default heap_reserve, given explicitly */

static void loop_mem_sample(struct loop_mem *m, const void *heap_ptr)
{
	m->rss = tsup_rss_bytes();
	m->heap_res = tsup_heap_resident_bytes(heap_ptr, (uint64_t)LOOP_HEAP_RESERVE_GB << 30);
	m->malloc_bytes = tsup_malloc_bytes();
}

static void loop_mem_max(struct loop_mem *max, const struct loop_mem *m)
{
	if (m->rss > max->rss)
		max->rss = m->rss;
	if (m->heap_res > max->heap_res)
		max->heap_res = m->heap_res;
	if (m->malloc_bytes > max->malloc_bytes)
		max->malloc_bytes = m->malloc_bytes;
}

START_TEST(test_garbage_loop_with_small_live_set_keeps_memory_bounded)
{
	char opts[32];
	snprintf(opts, sizeof opts, "heap_reserve=%dg", LOOP_HEAP_RESERVE_GB);
	ck_assert_int_eq(tri_init(opts), 0);
	size_t total_target = (size_t)tsup_env_long("TRI_GARBAGE_MB", 2048) << 20;
	enum { SLOTS = 512 }; /* ~1 MB live at ~2 KB average */
	void **live = tri_alloc(SLOTS * sizeof(void *));
	uint64_t r = 12345, maxtotal = 0, maxlive = 0, cycles0 = tsup_metric("/gc/cycles/total:gc-cycles");
	struct loop_mem start, now, max = {0, 0, 0};
	loop_mem_sample(&start, live);
	size_t total = 0;
	/* 2 GB normally takes a few seconds */
	double budget = 30.0 * (double)tsup_time_scale(), deadline = tsup_now() + budget;
	for (unsigned long i = 0; total < total_target && (i & 8191 || tsup_now() < deadline); i++) {
		r = tsup_mix(r + i);
		size_t n = 64 + (size_t)(r % (4096 - 64 + 1));
		unsigned char *p = tri_alloc(n);
		ck_assert_ptr_nonnull(p);
		p[0] = (unsigned char)i;
		p[n - 1] = (unsigned char)i;
		TRI_STORE(live[(r >> 32) % SLOTS], p);
		total += n;
		if ((i & 8191) == 0) {
			uint64_t t = tsup_metric("/memory/classes/total:bytes");
			uint64_t l = tsup_metric("/gc/heap/live:bytes");
			if (t > maxtotal)
				maxtotal = t;
			if (l > maxlive)
				maxlive = l;
			loop_mem_sample(&now, live);
			loop_mem_max(&max, &now);
		}
	}
	uint64_t cycles = tsup_metric("/gc/cycles/total:gc-cycles") - cycles0;
	/* the documented scavenging policy: free runs idle for 500 ms go back
	 * to the OS (checked every 100 ms when idle) */
	tri_collect();
	tsup_sleep_ms(800);
	uint64_t t = tsup_metric("/memory/classes/total:bytes");
	loop_mem_sample(&now, live);
	fprintf(stderr,
		"garbage loop (sanitizer: %s): %zu MB allocated, %llu cycles, heap mapping peak %.1f MB, at "
		"the end %.1f MB (after 800 ms idle); heap resident peak %.1f MB, at the end %.1f MB; "
		"malloc'd %.1f MB at the start, peak %.1f MB, at the end %.1f MB; RSS peak %.1f MB, at the "
		"end %.1f MB; largest live after a cycle %.1f MB\n",
		TSUP_SANITIZER_NAME, total >> 20, (unsigned long long)cycles, (double)maxtotal / 1048576.0,
		(double)t / 1048576.0, (double)max.heap_res / 1048576.0, (double)now.heap_res / 1048576.0,
		(double)start.malloc_bytes / 1048576.0, (double)max.malloc_bytes / 1048576.0,
		(double)now.malloc_bytes / 1048576.0, (double)max.rss / 1048576.0, (double)now.rss / 1048576.0,
		(double)maxlive / 1048576.0);
	ck_assert_msg(t < (64ull << 20), "heap mapping is %llu bytes after %zu MB of garbage (peak %llu)",
		      (unsigned long long)t, total >> 20, (unsigned long long)maxtotal);
	if (!TSUP_SANITIZER && !TSUP_VALGRIND()) { /* valgrind's RSS: 226 MB with a 3 MB heap */
		ck_assert_msg(now.rss < (128ull << 20), "RSS is %llu bytes at the end", (unsigned long long)now.rss);
		ck_assert_msg(max.rss < (128ull << 20), "RSS reached %llu bytes during the loop (heap peak %llu)",
			      (unsigned long long)max.rss, (unsigned long long)maxtotal);
	}
	/* The heap's resident pages: bounded like RSS during the loop, and at
	 * the end no more than what the heap says it still maps (plus 1 MB):
	 * what it says it returned to the OS is really gone. */
	ck_assert_msg(max.heap_res < (128ull << 20), "the heap's resident pages reached %llu bytes (heap peak %llu)",
		      (unsigned long long)max.heap_res, (unsigned long long)maxtotal);
	ck_assert_msg(now.heap_res < t + (1ull << 20),
		      "the heap has %llu bytes resident at the end but maps only %llu (not returned to the OS)",
		      (unsigned long long)now.heap_res, (unsigned long long)t);
	/* The collector's malloc'd metadata does not grow with the garbage. */
	ck_assert_msg(max.malloc_bytes < start.malloc_bytes + (16ull << 20),
		      "malloc'd bytes grew from %llu to %llu during the loop",
		      (unsigned long long)start.malloc_bytes, (unsigned long long)max.malloc_bytes);
	ck_assert_msg(cycles >= 10, "only %llu cycles for %zu MB of garbage", (unsigned long long)cycles,
		      total >> 20);
	ck_assert_msg(total >= total_target, "only %zu MB of garbage allocated in %.0f s", total >> 20, budget);
	/* ~1 MB is reachable at any time: the heap may hold the floating
	 * garbage of a cycle or two, not hundreds of MB (the largest live size
	 * after a cycle is in the message above, for diagnosis) */
	ck_assert_msg(maxtotal < (128ull << 20),
		      "heap mapping peaked at %llu bytes with ~1 MB reachable (a cycle found %llu live)",
		      (unsigned long long)maxtotal, (unsigned long long)maxlive);
	/* the live slots are intact heap objects */
	for (int i = 0; i < SLOTS; i++)
		if (live[i])
			ck_assert_ptr_eq(tri_base(live[i]), live[i]);
}
END_TEST

/* A mutator that keeps storing freshly allocated objects into a small
 * rooted array (through TRI_STORE) while cycles run. The objects it
 * allocates after its stack scan are black; shading them again through the
 * barrier must not count as new grey work, or marking cannot terminate
 * until the mutator is throttled (and all it allocated meanwhile stays
 * live). Termination takes a few rounds per cycle, not dozens. */
struct storer {
	int stop;
	long stores;
	void **slots;
};

static void *store_fresh_objects(void *a)
{
	struct storer *st = a;
	uint64_t r = 99;
	while (!__atomic_load_n(&st->stop, __ATOMIC_SEQ_CST)) {
		r = tsup_mix(r + 1);
		void *p = tri_alloc(64 + (size_t)(r % 1024));
		TRI_STORE(st->slots[(r >> 32) % 512], p);
		st->stores++;
	}
	return NULL;
}

START_TEST(test_marking_terminates_promptly_while_a_mutator_stores_fresh_objects)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	void **slots = calloc(512, sizeof(void *));
	tri_add_roots(slots, slots + 512);
	struct storer st = {0, 0, slots};
	struct tsup_thread th;
	tsup_spawn(&th, store_fresh_objects, &st);
	tsup_sleep_ms(20);
	uint64_t c0 = tsup_metric("/gc/cycles/total:gc-cycles");
	uint64_t r0 = tsup_metric("/gc/termination/rounds:rounds");
	double deadline = tsup_now() + 5;
	int collects = 0;
	while (collects < 20 && tsup_now() < deadline) {
		tri_collect();
		collects++;
	}
	uint64_t cycles = tsup_metric("/gc/cycles/total:gc-cycles") - c0;
	uint64_t rounds = tsup_metric("/gc/termination/rounds:rounds") - r0;
	__atomic_store_n(&st.stop, 1, __ATOMIC_SEQ_CST);
	tsup_join(&th);
	ck_assert_int_gt(st.stores, 0);
	ck_assert_uint_ge(cycles, (uint64_t)collects);
	ck_assert_msg(rounds <= 4 * cycles,
		      "%llu termination rounds in %llu cycles (%ld stores): marking keeps finding "
		      "\"new\" grey objects",
		      (unsigned long long)rounds, (unsigned long long)cycles, st.stores);
	tri_remove_roots(slots, slots + 512);
	free(slots);
}
END_TEST

START_TEST(test_gc_percent_off_never_collects_automatically)
{
	ck_assert_int_eq(tri_init("gc_percent=off"), 0);
	ck_assert_uint_eq(tsup_metric("/gc/cycles/total:gc-cycles"), 0);
	for (size_t total = 0; total < (200u << 20); total += 1024) {
		char *p = tri_alloc(1024);
		ck_assert_ptr_nonnull(p);
		p[0] = 1;
		if ((total & ((16u << 20) - 1)) == 0)
			ck_assert_uint_eq(tsup_metric("/gc/cycles/total:gc-cycles"), 0);
	}
	ck_assert_uint_eq(tsup_metric("/gc/cycles/total:gc-cycles"), 0);
	ck_assert_uint_ge(tsup_metric("/memory/classes/total:bytes"), 190u << 20);
	/* an explicit collection still works and frees the garbage */
	tri_collect();
	ck_assert_uint_eq(tsup_metric("/gc/cycles/total:gc-cycles"), 1);
	ck_assert_uint_lt(tsup_metric("/gc/heap/live:bytes"), 16u << 20);
}
END_TEST

/*
 * gc_period_ms (Go's forcegcperiod): a program that allocates nothing more
 * still gets a cycle, so the cleanup of an object it dropped runs; off, or
 * gc_percent=off (as in Go), starts none. Not timed: the first test waits
 * up to 30 s for a 100 ms period, the others look for a cycle that must
 * never come.
 */
static __attribute__((noinline)) void drop_with_flag_cleanup(int *flag)
{
	tri_add_cleanup(tri_alloc(64), tsup_cleanup_set_flag, flag);
}

START_TEST(test_periodic_cycle_runs_a_dropped_objects_cleanup_without_allocation)
{
	ck_assert_int_eq(tri_init("gc_period_ms=100"), 0);
	int *flag = tsup_new_flag();
	drop_with_flag_cleanup(flag);
	tsup_scrub_stack();
	/* an object can survive one cycle in a stale register or stack slot:
	 * give it several periodic cycles */
	for (int i = 0; i < 3000 && !tsup_flag(flag); i++)
		tsup_sleep_ms(10);
	ck_assert_msg(tsup_flag(flag), "no periodic cycle ran the cleanup in 30 s (%llu cycles)",
		      (unsigned long long)tsup_metric("/gc/cycles/total:gc-cycles"));
	ck_assert_uint_ge(tsup_metric("/gc/cycles/periodic:gc-cycles"), 1);
	ck_assert_uint_eq(tsup_metric("/gc/cycles/forced:gc-cycles"), 0);
}
END_TEST

static void expect_no_cycle_while_idle(const char *opts)
{
	ck_assert_int_eq(tri_init(opts), 0);
	tri_add_cleanup(tri_alloc(64), tsup_cleanup_set_flag, tsup_new_flag());
	tsup_sleep_ms(800);
	ck_assert_uint_eq(tsup_metric("/gc/cycles/total:gc-cycles"), 0);
	ck_assert_uint_eq(tsup_metric("/gc/cycles/periodic:gc-cycles"), 0);
}

START_TEST(test_gc_period_off_starts_no_periodic_cycle)
{
	expect_no_cycle_while_idle("gc_period_ms=off");
}
END_TEST

START_TEST(test_gc_percent_off_starts_no_periodic_cycle)
{
	expect_no_cycle_while_idle("gc_percent=off,gc_period_ms=100");
}
END_TEST

START_TEST(test_collect_increments_cycle_counters)
{
	ck_assert_int_eq(tri_init("gc_percent=off"), 0);
	for (int i = 0; i < 5; i++) {
		uint64_t c = tsup_metric("/gc/cycles/total:gc-cycles");
		uint64_t f = tsup_metric("/gc/cycles/forced:gc-cycles");
		tri_collect();
		ck_assert_uint_eq(tsup_metric("/gc/cycles/total:gc-cycles"), c + 1);
		ck_assert_uint_eq(tsup_metric("/gc/cycles/forced:gc-cycles"), f + 1);
	}
	/* with the pacer on, a collection still adds at least one cycle */
	tri_gc_percent(100);
	uint64_t c = tsup_metric("/gc/cycles/total:gc-cycles");
	tri_collect();
	ck_assert_uint_ge(tsup_metric("/gc/cycles/total:gc-cycles"), c + 1);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Metrics and pauses                                                */
/* ---------------------------------------------------------------- */

static const char *const documented_metrics[] = {
	"/gc/cycles/total:gc-cycles",	     "/gc/heap/live:bytes",
	"/gc/heap/goal:bytes",		     "/gc/heap/allocs:bytes",
	"/gc/heap/allocs:objects",	     "/memory/classes/heap/objects:bytes",
	"/memory/classes/total:bytes",	     "/gc/pauses/count:pauses",
	"/gc/pauses/total:nanoseconds",	     "/gc/pauses/max:nanoseconds",
	"/gc/mark/time:nanoseconds",	     "/gc/mark/last:nanoseconds",
	"/gc/mark/scanned:bytes",	     "/gc/mark/scanned:objects",
	"/gc/assists/total:nanoseconds",     "/gc/finalizers/queued:finalizers",
	"/gc/finalizers/executed:finalizers", "/gc/cleanups/queued:cleanups",
	"/gc/cleanups/executed:cleanups",    "/gc/cleanups/workers:threads",
	"/gc/cleanups/workers-peak:threads", "/sched/threads/attached:threads",
};

static void *read_metrics_unattached(void *a)
{
	(void)a;
	uint64_t v;
	ck_assert_int_eq(tri_thread_is_attached(), 0);
	ck_assert_int_eq(tri_read_metric("/gc/cycles/total:gc-cycles", &v), 0);
	ck_assert_uint_ge(v, 1);
	return NULL;
}

START_TEST(test_every_listed_metric_is_readable_and_unknown_is_enoent)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	/* some activity so the counters move */
	void **keep = tri_alloc(1024 * sizeof(void *));
	for (int i = 0; i < 1024; i++)
		TRI_STORE(keep[i], tri_alloc(8192));
	uint64_t scanned0 = tsup_metric("/gc/mark/scanned:bytes");
	tri_collect();
	size_t n = 0;
	const tri_metric_desc *m = tri_metrics_list(&n);
	ck_assert_ptr_nonnull(m);
	ck_assert_uint_ge(n, sizeof documented_metrics / sizeof documented_metrics[0]);
	for (size_t i = 0; i < n; i++) {
		uint64_t v = 0;
		ck_assert_ptr_nonnull(m[i].name);
		ck_assert_msg(m[i].name[0] == '/' && strchr(m[i].name, ':'), "bad metric name %s",
			      m[i].name);
		ck_assert_msg(m[i].description && m[i].description[0], "%s has no description",
			      m[i].name);
		ck_assert_msg(tri_read_metric(m[i].name, &v) == 0, "%s is listed but not readable",
			      m[i].name);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(m[i].name, m[j].name) != 0, "%s listed twice", m[i].name);
	}
	for (size_t k = 0; k < sizeof documented_metrics / sizeof documented_metrics[0]; k++) {
		int found = 0;
		for (size_t i = 0; i < n; i++)
			found |= !strcmp(m[i].name, documented_metrics[k]);
		ck_assert_msg(found, "documented metric %s is not listed", documented_metrics[k]);
	}
	uint64_t v = 42;
	ck_assert_int_eq(tri_read_metric("/no/such:metric", &v), ENOENT);
	ck_assert_int_eq(tri_read_metric("/gc/cycles/total", &v), ENOENT);
	ck_assert_int_eq(tri_read_metric("", &v), ENOENT);
	/* plausible values */
	ck_assert_uint_ge(tsup_metric("/gc/heap/live:bytes"), 8u << 20);
	ck_assert_uint_ge(tsup_metric("/gc/heap/goal:bytes"), tsup_metric("/gc/heap/live:bytes"));
	ck_assert_uint_ge(tsup_metric("/gc/heap/allocs:bytes"), 8u << 20);
	ck_assert_uint_ge(tsup_metric("/gc/heap/allocs:objects"), 1024);
	ck_assert_uint_ge(tsup_metric("/memory/classes/heap/objects:bytes"), 8u << 20);
	ck_assert_uint_ge(tsup_metric("/memory/classes/total:bytes"),
			  tsup_metric("/memory/classes/heap/objects:bytes"));
	ck_assert_uint_ge(tsup_metric("/gc/mark/scanned:bytes"), scanned0 + 8192);
	ck_assert_uint_ge(tsup_metric("/gc/mark/scanned:objects"), 1024);
	ck_assert_uint_gt(tsup_metric("/gc/mark/time:nanoseconds"), 0);
	ck_assert_uint_gt(tsup_metric("/gc/mark/last:nanoseconds"), 0);
	ck_assert_uint_ge(tsup_metric("/gc/mark/time:nanoseconds"),
			  tsup_metric("/gc/mark/last:nanoseconds"));
	ck_assert_uint_ge(tsup_metric("/sched/threads/attached:threads"), 1);
	pthread_t th; /* an unattached thread may read metrics */
	ck_assert_int_eq(pthread_create(&th, NULL, read_metrics_unattached, NULL), 0);
	tri_blocking_enter();
	pthread_join(th, NULL);
	tri_blocking_leave();
	tri_keep_alive(keep);
}
END_TEST

struct spinner {
	int stop;
	long iterations;
};

static void *spin_allocating(void *a)
{
	struct spinner *s = a;
	while (!__atomic_load_n(&s->stop, __ATOMIC_SEQ_CST)) {
		for (int i = 0; i < 100; i++)
			((volatile char *)tri_alloc(256))[0] = 1;
		tri_safepoint();
		s->iterations++;
	}
	return NULL;
}

START_TEST(test_pauses_are_recorded_with_a_live_helper_thread)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	struct spinner s = {0, 0};
	struct tsup_thread th;
	tsup_spawn(&th, spin_allocating, &s);
	for (int i = 0; i < 5; i++) {
		tri_collect();
		tsup_sleep_ms(2);
	}
	__atomic_store_n(&s.stop, 1, __ATOMIC_SEQ_CST);
	tsup_join(&th);
	ck_assert_int_gt(s.iterations, 0);
	tri_pause buf[4096];
	size_t n = tri_pauses(buf, 4096);
	ck_assert_msg(n > 0, "no pauses recorded after 5 cycles with a helper thread");
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(buf[i].kind >= TRI_PAUSE_HANDSHAKE && buf[i].kind <= TRI_PAUSE_CALLBACK,
			      "pause %zu has kind %u", i, buf[i].kind);
		ck_assert_uint_gt(buf[i].start_ns, 0);
		ck_assert_uint_le(buf[i].start_ns, now);
		ck_assert_uint_lt(buf[i].length_ns, 10000000000ull);
		ck_assert_uint_ne(buf[i].thread, 0);
	}
	ck_assert_uint_ge(tsup_metric("/gc/pauses/count:pauses"), n);
	ck_assert_uint_gt(tsup_metric("/gc/pauses/total:nanoseconds"), 0);
	ck_assert_uint_ge(tsup_metric("/gc/pauses/total:nanoseconds"),
			  tsup_metric("/gc/pauses/max:nanoseconds"));
	/* max bounds what it is asked for */
	ck_assert_uint_le(tri_pauses(buf, 1), 1);
	ck_assert_uint_eq(tri_pauses(buf, 0), 0);
}
END_TEST

/* ---------------------------------------------------------------- */
/* tri_memmove and tri_cas                                           */
/* ---------------------------------------------------------------- */

START_TEST(test_memmove_and_cas_values)
{
	ck_assert_int_eq(tri_init(NULL), 0);
	enum { N = 64 };
	void **arr = tri_alloc(N * sizeof(void *));
	void *ref[N];
	for (int i = 0; i < N; i++) {
		arr[i] = tri_alloc(16);
		ref[i] = arr[i];
	}
	/* overlapping forwards and backwards, as memmove */
	ck_assert_ptr_eq(tri_memmove(arr + 3, arr, 40 * sizeof(void *)), arr + 3);
	memmove(ref + 3, ref, 40 * sizeof(void *));
	ck_assert_int_eq(memcmp(arr, ref, sizeof ref), 0);
	ck_assert_ptr_eq(tri_memmove(arr, arr + 7, 50 * sizeof(void *)), arr);
	memmove(ref, ref + 7, 50 * sizeof(void *));
	ck_assert_int_eq(memcmp(arr, ref, sizeof ref), 0);
	/* into a root range */
	void *roots[8];
	memset(roots, 0, sizeof roots);
	tri_add_roots(roots, roots + 8);
	tri_memmove(roots, arr, sizeof roots);
	ck_assert_int_eq(memcmp(roots, arr, sizeof roots), 0);
	tri_remove_roots(roots, roots + 8);
	/* a byte tail */
	unsigned char *src = tri_alloc_atomic(64), *dst = tri_alloc_atomic(64);
	for (int i = 0; i < 64; i++)
		src[i] = (unsigned char)(i * 3 + 1);
	ck_assert_ptr_eq(tri_memmove(dst, src, 43), dst);
	ck_assert_int_eq(memcmp(dst, src, 43), 0);
	ck_assert_int_eq(dst[43], 0);
	ck_assert_ptr_eq(tri_memmove(dst + 8, src, 5), dst + 8);
	ck_assert_int_eq(memcmp(dst + 8, src, 5), 0);
	ck_assert_ptr_eq(tri_memmove(dst, src, 0), dst);
	/* tri_cas */
	void **obj = tri_alloc(4 * sizeof(void *));
	void *a = tri_alloc(8), *b = tri_alloc(8);
	ck_assert_int_eq(tri_cas(&obj[1], NULL, a), 1);
	ck_assert_ptr_eq(obj[1], a);
	ck_assert_int_eq(tri_cas(&obj[1], NULL, b), 0);
	ck_assert_ptr_eq(obj[1], a);
	ck_assert_int_eq(tri_cas(&obj[1], a, b), 1);
	ck_assert_ptr_eq(obj[1], b);
	ck_assert_int_eq(tri_cas(&obj[1], b, NULL), 1);
	ck_assert_ptr_null(obj[1]);
	ck_assert_ptr_eq(tri_load(&obj[0]), NULL);
}
END_TEST

struct bg_collector {
	int stop;
	long cycles;
};

static void *collect_loop(void *a)
{
	struct bg_collector *c = a;
	while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST)) {
		tri_collect();
		__atomic_add_fetch(&c->cycles, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/*
 * The barrier test. Objects are moved out of "source" arrays into
 * "destination" arrays with tri_memmove (and one per array with a pair of
 * tri_cas), and the source is then cleared. Everything involved is old
 * (allocated several iterations, hence several back-to-back cycles, before
 * it is moved), so it is white when a cycle starts: objects allocated during
 * marking are black and would survive without any barrier. Destinations
 * hang directly off a root range (marked early); sources hang off the end of
 * a long chain (marked late), so a move often lands after the destination
 * was scanned and before the source was: without the barrier the moved
 * objects would be freed (checkmark reports them, poison and the checksums
 * catch their reuse).
 */
#define MOVE_K 16
#define MOVE_RING 64 /* destination arrays */
#define MOVE_LAG 32  /* iterations between filling a source and moving it */
#define CHAIN_LEN 20000

/* [0]: the chain head, [1..MOVE_RING]: destinations. The grey queue is
 * LIFO, so with the chain first the destinations are scanned first. */
static void *move_roots[MOVE_RING + 1];
#define DST(i) (&move_roots[1 + (i)])

struct mv_link {
	struct mv_link *next;
	void **sources; /* on the last link: MOVE_LAG source arrays */
};

static void **move_sources(void)
{
	struct mv_link *l = tri_load(&move_roots[0]);
	while (l->next)
		l = l->next;
	return l->sources;
}

static __attribute__((noinline)) void move_setup(void)
{
	struct mv_link *head = NULL;
	for (int i = 0; i < CHAIN_LEN; i++) {
		struct mv_link *l = tri_alloc(sizeof *l);
		l->next = head;
		head = l;
	}
	/* the last link (built first) holds the sources */
	struct mv_link *last = head;
	while (last->next)
		last = last->next;
	last->sources = tri_alloc(MOVE_LAG * sizeof(void *));
	tri_store(&move_roots[0], head);
	for (int i = 0; i < MOVE_RING; i++)
		tri_store(DST(i), tri_alloc((MOVE_K + 1) * sizeof(void *)));
}

static void check_moved(void **dst, long it)
{
	ck_assert_msg(tri_base(dst) == dst, "destination array of iteration %ld freed", it);
	for (int j = 0; j <= MOVE_K; j++) {
		const char *e = cobj_check(tri_load(&dst[j]), (uint64_t)it * 100 + (uint64_t)j);
		ck_assert_msg(e == NULL, "iteration %ld, object %d moved by %s: %s", it, j,
			      j == MOVE_K ? "tri_cas" : "tri_memmove", e);
	}
}

/* Iteration it: move the source filled at iteration it - MOVE_LAG into
 * destination it % MOVE_RING (checking what that destination held), then
 * refill the source slot. moved[k] is the iteration whose objects
 * destination k holds, or -1. */
static __attribute__((noinline)) void move_iteration(long it, long *moved)
{
	static void *const zeros[MOVE_K];
	void **sources = move_sources();
	void **src = tri_load(&sources[it % MOVE_LAG]);
	if (src) {
		void **dst = tri_load(DST(it % MOVE_RING));
		if (moved[it % MOVE_RING] >= 0)
			check_moved(dst, moved[it % MOVE_RING]);
		tri_memmove(dst, src, MOVE_K * sizeof(void *));
		tri_memmove(src, zeros, sizeof zeros);
		void *last = tri_load(&src[MOVE_K]);
		ck_assert_int_eq(tri_cas(&dst[MOVE_K], tri_load(&dst[MOVE_K]), last), 1);
		ck_assert_int_eq(tri_cas(&src[MOVE_K], last, NULL), 1);
		moved[it % MOVE_RING] = it - MOVE_LAG;
	}
	void **fresh = tri_alloc((MOVE_K + 1) * sizeof(void *));
	for (int j = 0; j <= MOVE_K; j++)
		fresh[j] = cobj_new((uint64_t)it * 100 + (uint64_t)j); /* unpublished */
	tri_store(&sources[it % MOVE_LAG], fresh);
	churn(32 << 10);
	tsup_scrub_stack();
}

START_TEST(test_memmove_and_cas_keep_objects_alive_while_marking)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	memset(move_roots, 0, sizeof move_roots);
	tri_add_roots(move_roots, move_roots + MOVE_RING + 1);
	move_setup();
	long *moved = malloc(MOVE_RING * sizeof *moved);
	for (int i = 0; i < MOVE_RING; i++)
		moved[i] = -1;
	struct bg_collector bg = {0, 0};
	struct tsup_thread th;
	tsup_spawn(&th, collect_loop, &bg);
	/* at least 1000 iterations and 300 cycles, however long that takes on
	 * a loaded machine (it used to stop after 30 s and fail with "only 125
	 * background cycles" at load 24; Check's timeout guards a hang) */
	long iters = tsup_env_long("TRI_MOVE_ITERATIONS", 1000) + MOVE_LAG;
	long min_cycles = tsup_env_long("TRI_MOVE_CYCLES", 300), it;
	for (it = 0; it < iters || __atomic_load_n(&bg.cycles, __ATOMIC_SEQ_CST) < min_cycles; it++)
		move_iteration(it, moved);
	__atomic_store_n(&bg.stop, 1, __ATOMIC_SEQ_CST);
	tsup_join(&th);
	ck_assert_msg(bg.cycles >= min_cycles, "only %ld background cycles ran in %ld iterations",
		      bg.cycles, it);
	tri_collect();
	for (int k = 0; k < MOVE_RING; k++)
		if (moved[k] >= 0)
			check_moved(tri_load(DST(k)), moved[k]);
	tri_remove_roots(move_roots, move_roots + MOVE_RING + 1);
	free(moved);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Root-range misuse                                                 */
/* ---------------------------------------------------------------- */

static void *misuse_range[4];

static void scenario_remove_unregistered_roots(void *a)
{
	(void)a;
	if (tri_init(NULL))
		_exit(20);
	tri_add_roots(misuse_range, misuse_range + 4);
	tri_remove_roots(misuse_range, misuse_range + 3); /* not the same bounds */
	_exit(21);
}

START_TEST(test_removing_an_unregistered_root_range_aborts)
{
	struct tsup_child c;
	tsup_capture_child(scenario_remove_unregistered_roots, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri_remove_roots", "not registered");
	scenario_remove_unregistered_roots(NULL);
}
END_TEST

static void scenario_add_inverted_roots(void *a)
{
	(void)a;
	if (tri_init(NULL))
		_exit(20);
	tri_add_roots(misuse_range + 4, misuse_range);
	_exit(21);
}

START_TEST(test_adding_an_inverted_root_range_aborts)
{
	struct tsup_child c;
	tsup_capture_child(scenario_add_inverted_roots, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri_add_roots", "below");
	scenario_add_inverted_roots(NULL);
}
END_TEST


/* Regression (perf/gcbench "long-lived data was corrupted"): a large object
 * allocated black (after its thread's stack scan) got an empty black range
 * and was freed by the sweep while a stack still held it. Objects of many
 * sizes, small and large, are allocated while cycles run back to back and
 * held only by this thread's stack; each is checked before it is dropped. */
static int large_stop; /* atomic */

static void *large_collect_loop(void *arg)
{
	(void)arg;
	tri_thread_attach();
	while (!__atomic_load_n(&large_stop, __ATOMIC_ACQUIRE))
		tri_collect();
	tri_thread_detach();
	return NULL;
}

static void *alloc_and_hold(void *arg)
{
	(void)arg;
	unsigned char *held[8] = {0};
	size_t sizes[8] = {0};
	for (int i = 0; i < 4000; i++) {
		int k = i % 8;
		if (held[k]) {
			for (size_t j = 0; j < sizes[k]; j += 4093)
				ck_assert_msg(held[k][j] == (unsigned char)(k + 1),
					      "object of %zu bytes freed while a stack held it", sizes[k]);
		}
		sizes[k] = (i % 3 == 0) ? 40000 + (size_t)(i % 7) * 65536 : 64 + (size_t)(i % 100) * 16;
		held[k] = tri_alloc_atomic(sizes[k]);
		ck_assert_ptr_nonnull(held[k]);
		memset(held[k], k + 1, sizes[k]);
	}
	return NULL;
}

START_TEST(test_objects_allocated_during_marking_survive_while_a_stack_holds_them)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	__atomic_store_n(&large_stop, 0, __ATOMIC_RELEASE);
	pthread_t c;
	pthread_create(&c, NULL, large_collect_loop, NULL);
	tsup_run_in_thread(alloc_and_hold, NULL);
	__atomic_store_n(&large_stop, 1, __ATOMIC_RELEASE);
	tri_blocking_enter();
	pthread_join(c, NULL);
	tri_blocking_leave();
}
END_TEST

static Suite *collector_suite(void)
{
	Suite *s = suite_create("collector");
	TCase *tc = tcase_create("roots");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_object_reachable_only_from_stack_local_survives);
#if defined(__x86_64__)
	tcase_add_test(tc, test_object_reachable_only_from_callee_saved_register_survives);
#endif
	tcase_add_test(tc, test_object_reachable_only_from_registered_roots_survives_until_removed);
	tcase_add_test(tc, test_unregistered_range_is_not_a_root_with_data_roots_off);
	tcase_add_test(tc, test_malloced_root_range_keeps_objects_alive);
	tcase_add_test(tc, test_stack_of_thread_in_blocking_region_is_a_root);
	tcase_add_test(tc, test_objects_allocated_during_marking_survive_while_a_stack_holds_them);
	suite_add_tcase(s, tc);

	tc = tcase_create("reclamation");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_unreachable_two_object_cycle_is_reclaimed);
	tcase_add_test(tc, test_unreachable_thousand_node_ring_is_reclaimed_and_rooted_ring_is_not);
	tcase_add_test(tc, test_atomic_objects_are_not_scanned);
	tcase_add_test(tc, test_garbage_loop_with_small_live_set_keeps_memory_bounded);
	tcase_add_test(tc, test_gc_percent_off_never_collects_automatically);
	tcase_add_test(tc, test_collect_increments_cycle_counters);
	tcase_add_test(tc, test_periodic_cycle_runs_a_dropped_objects_cleanup_without_allocation);
	tcase_add_test(tc, test_gc_period_off_starts_no_periodic_cycle);
	tcase_add_test(tc, test_gc_percent_off_starts_no_periodic_cycle);
	suite_add_tcase(s, tc);

	tc = tcase_create("termination");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_marking_terminates_promptly_while_a_mutator_stores_fresh_objects);
	suite_add_tcase(s, tc);

	tc = tcase_create("metrics");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_every_listed_metric_is_readable_and_unknown_is_enoent);
	tcase_add_test(tc, test_pauses_are_recorded_with_a_live_helper_thread);
	suite_add_tcase(s, tc);

	tc = tcase_create("misuse");
	tcase_set_timeout(tc, 20);
	tcase_add_test_raise_signal(tc, test_removing_an_unregistered_root_range_aborts, SIGABRT);
	tcase_add_test_raise_signal(tc, test_adding_an_inverted_root_range_aborts, SIGABRT);
	suite_add_tcase(s, tc);

	tc = tcase_create("barrier");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_memmove_and_cas_values);
	tcase_add_test(tc, test_memmove_and_cas_keep_objects_alive_while_marking);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(collector_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
