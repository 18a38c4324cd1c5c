/*
 * central.h - central span lists, one set per span class (Go's mcentral).
 *
 * Every in-use span is in exactly one place: a thread cache, or one of its
 * class's lists: `partial` (swept this sweep cycle, has free slots), `full`
 * (swept, no free slot), `unswept` (not yet swept for the current
 * sweep_cycle), or in the hands of one sweeper. Large spans use class 0.
 *
 * sweep_start(N) moves the spans of partial and full not yet swept for N to
 * unswept (a walk of both lists under the class lock; a span a lazy sweeper
 * already swept for N stays); spans that threads hand back later with
 * swept_cycle < N go to unswept too.
 * A refill takes a partial span, else sweeps unswept spans itself (lazy
 * sweeping) until one has room, else asks the page heap for a new span.
 *
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
	struct span_list partial, full, unswept;
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
/* Start sweep cycle n: every listed span becomes unswept. */
void central_sweep_start(uint64_t n);
/* Take one unswept span of class sc off its list (NULL if none). */
struct span *central_take_unswept(unsigned sc);
/* After sweeping a span taken with central_take_unswept. */
void central_after_sweep(struct span *s, int result);
void central_init(void);
/* Validate central lists and free page runs (heap_check.c); aborts on a violation. */
void heap_check(void);
#endif
