/* SPDX-License-Identifier: MIT */
/*
 * external.c - counters of scarce resources owned by heap objects, and the
 * cycles they ask for (tricolor.h describes the pacing rule).
 *
 * Data, per struct tri_resource (all fields atomics; any thread):
 *   count      units outstanding: +1 acquire, -1 release (relaxed).
 *   low        smallest count since the last cycle this counter started;
 *              lowered by release (atomic_min loop), reset to the count by
 *              the thread that starts a cycle.
 *   armed_at   tri_stats.cycles (completed cycles) when this counter last
 *              started a cycle; the next one may start only once more
 *              cycles completed (no pile-up of requests). CAS, so one
 *              thread of many crossing the threshold starts it.
 *   soft       1 while the limit is soft (the last wait drained every
 *              queued callback and still left count > L);
 *              set by the waiting thread, cleared by a release that takes
 *              count below L / 2.
 *   wait_lock  serialises the collect-and-drain waits of threads over the
 *              limit (taken inside a blocking region: a thread waiting for
 *              it must not hold up a handshake); threads that got it re-check
 *              the count first, so one wait serves all that queued behind it.
 * external_due: set (seq_cst) by the thread that starts a cycle, before
 * cycle_trigger; consumed by the coordinator in auto_cycle_due through
 * external_cycle_due. Counters are never freed (the program may hold their
 * pointers until exit); the list of them is not kept.
 */
#include "runtime/external.h"
#include "runtime/cycle.h"
#include "runtime/preempt.h"
#include "runtime/runtime.h"
#include "runtime/thread.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tri_resource {
	uint64_t count;
	uint64_t low;
	uint64_t armed_at;
	uint64_t limit;
	int soft;
	pthread_mutex_t wait_lock;
	char name[64];
};

static int external_due;

bool external_cycle_due(void)
{
	return __atomic_exchange_n(&external_due, 0, __ATOMIC_SEQ_CST) != 0;
}

/*
 * Units that may be acquired beyond low (the smallest count since this
 * counter's last cycle) before it starts another: half the way to the
 * limit, but at least a quarter of low, so a program that keeps about the
 * limit or more reachable starts a cycle per 25% of growth (as GOGC paces
 * a heap) rather than one per cycle completed.
 */
static uint64_t external_runway(uint64_t low, uint64_t limit)
{
	uint64_t half = low < limit ? (limit - low) / 2 : 0, quarter = low / 4;
	uint64_t r = half > quarter ? half : quarter;
	return r ? r : 1;
}

tri_resource *tri_resource_new(const char *name, uint64_t soft_limit)
{
	NO_PREEMPT();
	tri_require_init("tri_resource_new");
	if (!soft_limit)
		tri_fatal("tri_resource_new: soft_limit is 0");
	struct tri_resource *r = calloc(1, sizeof *r);
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	r->limit = soft_limit;
	r->armed_at = UINT64_MAX; /* no cycle started yet */
	pthread_mutex_init(&r->wait_lock, NULL);
	snprintf(r->name, sizeof r->name, "%s", name ? name : "");
	return r;
}

static void check(const tri_resource *r, const char *fn)
{
	if (unlikely(!r))
		tri_fatal("%s: resource is NULL", fn);
}

/* Over the limit: collect, and wait for the finalizers and cleanups that
 * release the garbage's units. One thread at a time; the others find the
 * count lowered when they get the lock. */
static void wait_for_release(struct tri_resource *r)
{
	struct tri_thread *t = tri_self;
	if (t == &tri_detached_thread || t->in_callback || ld_relaxed(&r->soft))
		return;
	tri_blocking_enter();
	pthread_mutex_lock(&r->wait_lock);
	tri_blocking_leave();
	if (ld_relaxed(&r->count) > r->limit) {
		tri_collect();
		/* Soft only when every callback the collection queued has run and
		 * the count is still over: live units over the limit. A drain that
		 * timed out (slow callbacks, a loaded machine) says nothing about
		 * what is live; setting soft then let four threads drop 1000 pipes
		 * each unchecked (tests/test_resource under load). The next
		 * acquire over the limit waits again instead. */
		if (cycle_callbacks.drain(1000) == 0 && ld_relaxed(&r->count) > r->limit)
			st_relaxed(&r->soft, 1);
	}
	pthread_mutex_unlock(&r->wait_lock);
}

void tri_resource_acquire(tri_resource *r)
{
	NO_PREEMPT();
	check(r, "tri_resource_acquire");
	uint64_t n = fetch_add(&r->count, 1) + 1;
	uint64_t low = ld_relaxed(&r->low);
	uint64_t armed = ld_relaxed(&r->armed_at), done = ld_relaxed(&tri_stats.cycles);
	if (n >= low + external_runway(low, r->limit) &&
	    (armed == UINT64_MAX || done > armed) &&
	    __atomic_compare_exchange_n(&r->armed_at, &armed, done, 0, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED)) {
		st_relaxed(&r->low, n);
		st_seq(&external_due, 1);
		cycle_trigger();
	}
	if (n > r->limit)
		wait_for_release(r);
}

void tri_resource_release(tri_resource *r)
{
	NO_PREEMPT();
	check(r, "tri_resource_release");
	uint64_t old = fetch_sub(&r->count, 1);
	if (unlikely(old == 0))
		tri_fatal("tri_resource_release: resource \"%s\" released more often than acquired", r->name);
	uint64_t n = old - 1;
	uint64_t low = ld_relaxed(&r->low);
	while (n < low && !__atomic_compare_exchange_n(&r->low, &low, n, 1, __ATOMIC_RELAXED,
						       __ATOMIC_RELAXED))
		;
	if (n < r->limit / 2 && ld_relaxed(&r->soft))
		st_relaxed(&r->soft, 0);
}

uint64_t tri_resource_count(const tri_resource *r)
{
	check(r, "tri_resource_count");
	return ld_relaxed(&r->count);
}
