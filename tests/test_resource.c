/* SPDX-License-Identifier: MIT */
/*
 * test_resource.c - external resource counters (tri_resource_*): objects
 * that own pipe descriptors, closed by cleanups, dropped in a loop that
 * allocates too little for the heap pacer to start a cycle. With a counter
 * the number of open pipes stays within its soft limit plus a bound; without
 * one it piles up (the control); a program that keeps more than the limit
 * live makes the limit soft instead of collecting per acquisition; misuse
 * aborts with a message.
 */
#include "test_support.h"

#define LIMIT 64
#define ROUNDS 4000

static tri_resource *res;
static long open_pipes, peak_pipes;

static void note_open(void)
{
	long n = __atomic_add_fetch(&open_pipes, 1, __ATOMIC_RELAXED);
	long p = __atomic_load_n(&peak_pipes, __ATOMIC_RELAXED);
	while (n > p && !__atomic_compare_exchange_n(&peak_pipes, &p, n, 1, __ATOMIC_RELAXED,
						     __ATOMIC_RELAXED))
		;
}

/* arg packs the two descriptors (not a heap pointer). */
static void close_pipe(void *arg)
{
	uintptr_t v = (uintptr_t)arg;
	close((int)(v & 0xffffffffu) - 1);
	close((int)(v >> 32));
	__atomic_sub_fetch(&open_pipes, 1, __ATOMIC_RELAXED);
	if (res)
		tri_resource_release(res);
}

/* One object owning one pipe, dropped at once. */
static __attribute__((noinline)) void drop_one(int counted)
{
	int fd[2];
	ck_assert_int_eq(pipe(fd), 0);
	note_open();
	if (counted)
		tri_resource_acquire(res);
	void *obj = tri_alloc(32);
	tri_add_cleanup(obj, close_pipe, (void *)((uintptr_t)(fd[0] + 1) | ((uintptr_t)fd[1] << 32)));
}

static void *dropper(void *arg)
{
	tri_thread_attach();
	for (long i = 0; i < (long)(intptr_t)arg; i++)
		drop_one(1);
	tsup_scrub_stack();
	tri_thread_detach();
	return NULL;
}

static void setup(void)
{
	/* min_heap 64 MiB: the heap pacer starts no cycle in these loops. */
	ck_assert_int_eq(tri_init("min_heap=64m"), 0);
	res = tri_resource_new("pipes", LIMIT);
	ck_assert_ptr_nonnull(res);
}

/* The control: without a counter nothing collects the dropped pipes. */
START_TEST(without_counter_dropped_pipes_pile_up)
{
	setup();
	tri_resource *saved = res;
	res = NULL;
	uint64_t c0, c1;
	tri_read_metric("/gc/cycles/total:gc-cycles", &c0);
	for (int i = 0; i < 8 * LIMIT; i++)
		drop_one(0);
	tri_read_metric("/gc/cycles/total:gc-cycles", &c1);
	ck_assert_int_ge(peak_pipes, 8 * LIMIT);
	ck_assert_uint_eq(c1, c0);
	res = saved;
}
END_TEST

START_TEST(counter_keeps_open_pipes_near_limit)
{
	setup();
	for (int i = 0; i < ROUNDS; i++)
		drop_one(1);
	ck_assert_msg(peak_pipes <= LIMIT + 2, "peak %ld open pipes with a soft limit of %d", peak_pipes,
		      LIMIT);
	uint64_t cycles, forced;
	tri_read_metric("/gc/cycles/total:gc-cycles", &cycles);
	tri_read_metric("/gc/cycles/forced:gc-cycles", &forced);
	fprintf(stderr, "1 thread: %d pipes dropped, peak %ld open, %llu cycles (%llu forced)\n", ROUNDS,
		peak_pipes, (unsigned long long)cycles, (unsigned long long)forced);
	ck_assert_uint_ge(cycles, ROUNDS / LIMIT / 2);
	tsup_scrub_stack();
	tri_collect();
	ck_assert_int_eq(tri_drain(-1), 0);
	ck_assert_uint_le(tri_resource_count(res), 4); /* conservative stack scan may keep a few */
}
END_TEST

/* Four threads: each may be one over while another thread waits. */
START_TEST(counter_bounds_pipes_with_four_threads)
{
	setup();
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, dropper, (void *)(intptr_t)(ROUNDS / 4)), 0);
	tri_blocking_enter();
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	tri_blocking_leave();
	fprintf(stderr, "4 threads: %d pipes dropped, peak %ld open\n", ROUNDS, peak_pipes);
	ck_assert_msg(peak_pipes <= LIMIT + 2 * 4, "peak %ld open pipes with a soft limit of %d, 4 threads",
		      peak_pipes, LIMIT);
}
END_TEST

/* 2 x LIMIT pipes kept reachable: the limit turns soft; acquisitions over
 * it do not each force a collection. */
START_TEST(live_resources_over_limit_make_it_soft)
{
	setup();
	struct holder { int fd[2]; } *keep[2 * LIMIT];
	for (int i = 0; i < 2 * LIMIT; i++) {
		keep[i] = tri_alloc(sizeof *keep[i]);
		ck_assert_int_eq(pipe(keep[i]->fd), 0);
		tri_resource_acquire(res);
	}
	uint64_t f0, f1, c0, c1;
	tri_read_metric("/gc/cycles/forced:gc-cycles", &f0);
	tri_read_metric("/gc/cycles/total:gc-cycles", &c0);
	for (int i = 0; i < 500; i++) {
		tri_resource_acquire(res);
		tri_resource_release(res);
		tsup_sleep_ms(i % 50 == 0); /* let started cycles complete */
	}
	tri_read_metric("/gc/cycles/forced:gc-cycles", &f1);
	tri_read_metric("/gc/cycles/total:gc-cycles", &c1);
	ck_assert_uint_le(f1 - f0, 2);
	/* No growth beyond the live count: no cycle per completed cycle. */
	ck_assert_msg(c1 - c0 <= 3, "%llu cycles for 500 acquire/release pairs at a steady count",
		      (unsigned long long)(c1 - c0));
	ck_assert_uint_eq(tri_resource_count(res), 2 * LIMIT);
	for (int i = 0; i < 2 * LIMIT; i++) {
		close(keep[i]->fd[0]);
		close(keep[i]->fd[1]);
		tri_resource_release(res);
	}
	ck_assert_uint_eq(tri_resource_count(res), 0);
}
END_TEST

static void over_release(void *arg)
{
	(void)arg;
	tri_init(NULL);
	tri_resource *r = tri_resource_new("sockets", 10);
	tri_resource_acquire(r);
	tri_resource_release(r);
	tri_resource_release(r);
}

START_TEST(release_more_than_acquired_aborts)
{
	struct tsup_child c;
	tsup_capture_child(over_release, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri_resource_release: resource \"sockets\" released more often than acquired",
			 NULL);
}
END_TEST

static void zero_limit(void *arg)
{
	(void)arg;
	tri_init(NULL);
	tri_resource_new("x", 0);
}

START_TEST(zero_soft_limit_aborts)
{
	struct tsup_child c;
	tsup_capture_child(zero_limit, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri_resource_new: soft_limit is 0", NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("resource");
	TCase *tc = tcase_create("resource");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, without_counter_dropped_pipes_pile_up);
	tcase_add_test(tc, counter_keeps_open_pipes_near_limit);
	tcase_add_test(tc, counter_bounds_pipes_with_four_threads);
	tcase_add_test(tc, live_resources_over_limit_make_it_soft);
	tcase_add_test(tc, release_more_than_acquired_aborts);
	tcase_add_test(tc, zero_soft_limit_aborts);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
