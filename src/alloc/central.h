/* SPDX-License-Identifier: MIT */
/*
 * central.h - central span lists, one set per span class (Go's mcentral).
 *
 * Every in-use span is in exactly one place: a thread cache, one of its
 * class's lists, or in the hands of one sweeper. Large spans use class 0/1.
 *
 * The lists are indexed by sweep generation (Go's mcentral spanSets): a
 * listed span sits in partial[g] (has free slots) or full[g] (none), where
 * g = swept_cycle & 1. With N = tri_rt.sweep_cycle:
 *   INVARIANT (sweep generations): every listed span has swept_cycle N or
 *   N - 1; lists [N & 1] hold the spans swept for N, lists [(N + 1) & 1]
 *   the spans still to sweep (swept for N - 1).
 * So sweep start for N + 1 moves nothing: once the sweep of N is complete
 * (sweep_all, before the next cycle marks) lists [(N + 1) & 1] are empty,
 * and storing sweep_cycle = N + 1 turns every listed span into an unswept
 * one at once (O(1) per class: a lock and unlock that orders any thread that
 * read the old N under the lock before it). A span handed back later keeps
 * its parity and is unswept automatically; a span swept lazily for N + 1 is
 * pushed on the other parity and is never swept twice.
 * A refill takes a swept partial span, else sweeps unswept spans itself
 * (lazy sweeping, bounded in time: LAZY_SWEEP_NS) until one has room, else
 * asks the page heap for a new span.
 *
 * The class lock covers only list pushes and pops (a few instructions, never
 * a sweep, a span walk or a page-heap call): a mutator that finds it taken
 * waits for a holder that is about to let go. The wait is recorded as a
 * TRI_PAUSE_LOCK stall when it is longer than PAUSE_STALL_NS.
 * RULE (issue 12, a mutator never waits for a collector thread across
 * O(span) work): neither lock a refill takes is held by anyone, collector
 * threads included, across work that grows with a span or the heap: the
 * class lock covers list pushes and pops; the page heap lock (which a refill
 * takes for a new span and a sweep takes to free one) covers O(1) bucket
 * work (page_heap.c: free-run bounds) plus, for arena growth, one mmap; the
 * scavenger's madvise runs with it dropped (release in flight). The O(list)
 * validations under these locks (heap_check, check_generation) run only in
 * debug builds or with debug=checkmark.
 * All list fields and swept_cycle of listed spans: the class lock.
 */
#ifndef TRI_CENTRAL_H
#define TRI_CENTRAL_H
#include "alloc/span.h"

struct span_list {
	struct span *head;
	size_t n;
};

struct central {
	tri_lock_t lock;
	struct span_list partial[2], full[2]; /* index: swept_cycle & 1 */
} __attribute__((aligned(64)));

extern struct central tri_central[TRI_NUM_SPANCLASSES];
/* Spans being swept right now (so sweep completion can wait for them). */
extern int tri_sweeps_active;

/* A span with free slots for spanclass sc, swept, owned by the caller;
 * NULL with errno ENOMEM when the heap cannot grow. white: the caller does
 * not allocate black yet (see central.c: it gets no span with a black range
 * of the cycle being marked). */
struct span *central_acquire(unsigned sc, bool white);
/* Give back a span the caller owned (a thread cache or a sweeper). */
void central_release(struct span *s);
/* Register a new large span (owned by nobody: it sits in class 0's full). */
void central_add_large(struct span *s);
/* Start sweep cycle n: every listed span becomes unswept (O(1) per class). */
void central_sweep_start(uint64_t n);
/* Take one unswept span of class sc off its list (NULL if none). */
struct span *central_take_unswept(unsigned sc);
/* After sweeping a span taken with central_take_unswept. */
void central_after_sweep(struct span *s, int result);
void central_init(void);
/* Take c's lock, recording the wait as a TRI_PAUSE_LOCK stall. */
void central_lock(struct central *c);
/* Validate central lists and free page runs (heap_check.c); aborts on a violation. */
void heap_check(void);
#endif
