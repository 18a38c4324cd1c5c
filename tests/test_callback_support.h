/* SPDX-License-Identifier: MIT */
/*
 * test_callback_support.h - helpers for the finalizer and cleanup tests
 * (test_finalizer.c, test_cleanup.c):
 *  - cbs_capture_child / cbs_assert_died: run a scenario in a forked child
 *    (which calls tri_init itself) with its stderr captured, so death tests
 *    assert the misuse message and not only the abort;
 *  - cbs_run_in_thread: run a function on an attached helper thread, so
 *    the objects it allocates leave no stale pointers on the test's stack;
 *  - hidden addresses (cbs_hide/cbs_unhide) kept in malloc'd memory, which
 *    the collector never scans;
 *  - checksummed fills, counters, metrics, sleeping inside blocking regions,
 *    a barrier with a timeout, and collect+drain retry loops.
 * Everything is static: each test binary includes this header once.
 */
#ifndef TRI_TEST_CALLBACK_SUPPORT_H
#define TRI_TEST_CALLBACK_SUPPORT_H

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <tricolor.h>
#include "test_support.h"
#include <unistd.h>

#define CBS_UNUSED __attribute__((unused))
#define CBS_NOINLINE __attribute__((noinline))

/* ---------------------------------------------------------------- */
/* Child processes with captured stderr                              */
/* ---------------------------------------------------------------- */

/* Child processes with captured stderr: tests/test_support.h's, under this
 * file's prefix. */
#define cbs_child tsup_child
#define cbs_capture_child tsup_capture_child

static CBS_UNUSED void cbs_assert_died(const struct cbs_child *c, int sig, const char *needle)
{
	tsup_assert_died(c, sig, needle, NULL);
}

static CBS_UNUSED void cbs_assert_exited_ok(const struct cbs_child *c)
{
	ck_assert_msg(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0,
		      "child should exit 0; status 0x%x, stderr: %s", c->status, c->err);
}

/* ---------------------------------------------------------------- */
/* Threads                                                           */
/* ---------------------------------------------------------------- */

/* The attached helper threads of tests/test_support.h, under this file's
 * prefix (one implementation for both suites). */
#define cbs_thread tsup_thread
#define cbs_spawn tsup_spawn
#define cbs_join tsup_join
#define cbs_run_in_thread tsup_run_in_thread

/* ---------------------------------------------------------------- */
/* Hidden addresses, counters, time                                  */
/* ---------------------------------------------------------------- */

#define CBS_HIDE_MASK ((uintptr_t)0x5a5a5a5a5a5a5a5aull)
static CBS_UNUSED uintptr_t cbs_hide(const void *p)
{
	return (uintptr_t)p ^ CBS_HIDE_MASK;
}
static CBS_UNUSED void *cbs_unhide(uintptr_t h)
{
	return (void *)(h ^ CBS_HIDE_MASK);
}

/*
 * tri_base of the object at hidden address h, hidden again: cbs_hidden_base
 * (h) == h while the object is allocated, == cbs_hide(NULL) once it is
 * freed. noinline, and masked both ways, so the object's address is only
 * ever in this frame, below the test function's, where the next
 * cbs_collect_* scrubs it. Written inline in a test
 * (tri_base(cbs_unhide(h))), the address could stay in a spill slot of the
 * test function's own frame and keep the object alive by chance (seen under
 * TSan: the finalizer-then-cleanups test waited 10 collections for an
 * object that only such a stale word still reached).
 */
static CBS_UNUSED CBS_NOINLINE uintptr_t cbs_hidden_base(uintptr_t h)
{
	return cbs_hide(tri_base(cbs_unhide(h)));
}

static CBS_UNUSED long cbs_get(const long *c)
{
	return __atomic_load_n(c, __ATOMIC_SEQ_CST);
}
static CBS_UNUSED long cbs_inc(long *c)
{
	return __atomic_add_fetch(c, 1, __ATOMIC_SEQ_CST);
}
static CBS_UNUSED long cbs_dec(long *c)
{
	return __atomic_sub_fetch(c, 1, __ATOMIC_SEQ_CST);
}
static CBS_UNUSED void cbs_set(long *c, long v)
{
	__atomic_store_n(c, v, __ATOMIC_SEQ_CST);
}
/* A cleanup (or finalizer) that increments the long its argument points to. */
static CBS_UNUSED void cbs_cleanup_inc(void *arg)
{
	cbs_inc((long *)arg);
}
/* *c = max(*c, v) */
static CBS_UNUSED void cbs_max(long *c, long v)
{
	long cur = cbs_get(c);
	while (v > cur && !__atomic_compare_exchange_n(c, &cur, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		;
}

/* Time, environment and sleeping: tests/test_support.h's helpers. */
#define cbs_now tsup_now
#define cbs_env_long tsup_env_long
#define cbs_sleep_ms tsup_sleep_ms

/* Wait (polling, in blocking regions) until *c >= want or timeout (scaled
 * for sanitizer builds: it only bounds the wait); returns 1 if reached. */
static CBS_UNUSED int cbs_wait_count(const long *c, long want, long timeout_ms)
{
	double end = cbs_now() + (double)tsup_ms(timeout_ms) / 1000.0;
	while (cbs_get(c) < want) {
		if (cbs_now() > end)
			return 0;
		cbs_sleep_ms(1);
	}
	return 1;
}

static CBS_UNUSED uint64_t cbs_metric(const char *name)
{
	uint64_t v = 0;
	int r = tri_read_metric(name, &v);
	ck_assert_msg(r == 0, "tri_read_metric(%s) returned %d", name, r);
	return v;
}

/* Overwrite a chunk of this thread's stack below the caller. */
#define cbs_scrub_stack tsup_scrub_stack

/* Collect and drain up to `tries` times until *c >= want; returns the
 * number of collections needed, 0 if never reached. */
static CBS_UNUSED int cbs_collect_until(const long *c, long want, int tries)
{
	for (int i = 1; i <= tries; i++) {
		cbs_scrub_stack();
		tri_collect();
		ck_assert_int_eq(tri_drain(tsup_ms(10000)), 0);
		if (cbs_get(c) >= want)
			return i;
	}
	return 0;
}

static CBS_UNUSED void cbs_collect_n(int n)
{
	for (int i = 0; i < n; i++) {
		cbs_scrub_stack();
		tri_collect();
		ck_assert_int_eq(tri_drain(tsup_ms(10000)), 0);
	}
}

/* A death-test scenario: build the callback's object on a helper thread
 * (no stale copy on this stack), then collect and drain until the callback
 * has run and, by the test's design, aborted the process. */
static CBS_UNUSED void cbs_build_then_collect(void *(*build)(void *))
{
	tri_init(NULL);
	cbs_run_in_thread(build, NULL);
	for (int i = 0; i < 10; i++) {
		cbs_scrub_stack();
		tri_collect();
		tri_drain(2000);
	}
}

/* ---------------------------------------------------------------- */
/* Checksummed contents                                              */
/* ---------------------------------------------------------------- */

/* Fill n bytes (n multiple of 8) with words derived from seed; the words
 * have the top bit set so they are never mistaken for heap pointers. */
static CBS_UNUSED void cbs_fill(void *p, size_t n, uint64_t seed)
{
	uint64_t *w = p;
	for (size_t i = 0; i < n / 8; i++)
		w[i] = tsup_mix(seed * 0x9e3779b97f4a7c15ull + i) | 0x8000000000000001ull;
}

/* 1 if the fill is intact. */
static CBS_UNUSED int cbs_check_fill(const void *p, size_t n, uint64_t seed)
{
	const uint64_t *w = p;
	for (size_t i = 0; i < n / 8; i++)
		if (w[i] != (tsup_mix(seed * 0x9e3779b97f4a7c15ull + i) | 0x8000000000000001ull))
			return 0;
	return 1;
}

/* ---------------------------------------------------------------- */
/* A barrier with a timeout (a test fails instead of hanging)        */
/* ---------------------------------------------------------------- */

struct cbs_barrier {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int arrived, need;
};

static CBS_UNUSED void cbs_barrier_init(struct cbs_barrier *b, int need)
{
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	b->arrived = 0;
	b->need = need;
}

/* Returns 1 if all `need` parties arrived within timeout_ms, else 0. */
static CBS_UNUSED int cbs_barrier_wait(struct cbs_barrier *b, long timeout_ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	int attached = tri_thread_is_attached();
	if (attached)
		tri_blocking_enter();
	pthread_mutex_lock(&b->mu);
	b->arrived++;
	pthread_cond_broadcast(&b->cv);
	int ok = 1;
	while (b->arrived < b->need) {
		if (pthread_cond_timedwait(&b->cv, &b->mu, &ts) == ETIMEDOUT) {
			ok = b->arrived >= b->need;
			break;
		}
	}
	pthread_mutex_unlock(&b->mu);
	if (attached)
		tri_blocking_leave();
	return ok;
}

/* The checksummed test object both callback suites use: a pointer field,
 * a seed and a payload filled from it (node_ok verifies it, so a freed and
 * poisoned or reused object is caught). */
struct node {
	struct node *p;
	uint64_t seed;
	uint64_t pad[6]; /* checksummed payload */
};

static CBS_UNUSED void fill_node(struct node *n, uint64_t seed)
{
	n->seed = seed;
	cbs_fill(n->pad, sizeof n->pad, seed);
}

static CBS_UNUSED int node_ok(const struct node *n)
{
	return cbs_check_fill(n->pad, sizeof n->pad, n->seed);
}

#endif
