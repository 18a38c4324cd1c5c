/* SPDX-License-Identifier: MIT */
/*
 * span.h - spans, the page map and object lookup.
 *
 * A span is a run of pages from the heap arena. An in-use span holds objects
 * of one span class (small), or one large object (class 0). Every page of an
 * in-use span maps to it in the page map, so any address resolves in O(1):
 * arena offset -> page -> span -> object index (a multiply, no divide).
 * Span structs live in one table that only grows (tri_heap.spans); they are
 * recycled, never unmapped, so a stale page-map entry still points at a valid
 * struct (lookups check state and bounds). Stale entries are normal inside
 * free page runs, of which only the first and last pages are kept mapped
 * (page_heap.c: free-run bounds); during marking an in-use span is never
 * freed, so a marker that finds one in use reads bounds that hold.
 *
 * Allocation state of a small span, after Go's mspan:
 *   alloc_bits  bit i set: slot i held a live object at the last sweep.
 *   freeindex   slots below it have been handed out (or were live) since the
 *               last sweep; allocation searches upward from it.
 *   alloc_cache inverted alloc_bits window starting at freeindex (bit 0 is
 *               slot freeindex), so the fast path is a count-trailing-zeros.
 *   A slot is free iff idx >= freeindex && !alloc_bits[idx].
 *   black_from / black_cycle: slots in [black_from, freeindex) not set in
 *               alloc_bits were allocated black during cycle black_cycle
 *               (by a thread whose stack was already scanned): the sweep of
 *               that cycle keeps them whatever their mark bit says, and the
 *               marker treats them as marked (never scans them). So only
 *               black threads may allocate inside a range of the cycle being
 *               marked: a white thread never takes such a span
 *               (central_acquire), and its own spans get their range at its
 *               stack scan, starting past everything it allocated white.
 *
 * Who writes what:
 *   base, limit, npages, cls, spanclass, noscan, typed, elemsize, nelems, divmul:
 *       the page heap / central lists, before state is release-stored to
 *       SPAN_INUSE; immutable while in use.
 *   state: release-stored by the page heap; acquire-loaded by lookups.
 *   alloc_cache, freeindex, black_from, black_cycle: the span's owner (the
 *       thread cache it sits in, or the holder of the central lock); the
 *       marker reads freeindex racily (relaxed) - see span_slot_free.
 *   alloc_bits: only the sweeper of the span (which owns it exclusively);
 *       never changes during marking (every span is swept before a cycle).
 *   mark_bits: set by markers with atomic OR, only while marking; read and
 *       cleared (relaxed stores) by the sweeper, which runs after marking
 *       has ended; read (relaxed) by tri_weak_get after marking, possibly
 *       while the sweeper clears them (weak_cycle says which it saw). So are
 *       black_from/black_cycle reset by the sweeper with relaxed stores.
 *   swept_cycle: the central lock of the span's class (or the sweeper that
 *       took the span off the lists).
 *   specials, fin_bits, spare, nrecords, weak_index, weak_index_cap, nweak:
 *       special_lock.
 *   weak_cycle: the last cycle whose sweep decision this span's weak cells
 *       reflect (weak/weak.h): release-stored by the sweeper of the span
 *       after its cells of dead objects were cleared and before its mark
 *       bits are cleared (a release fence between); at span creation set to
 *       swept_cycle before any object of it exists. Read by tri_weak_get
 *       without a lock. Only grows (kept across reuse of the struct).
 */
#ifndef TRI_SPAN_H
#define TRI_SPAN_H
#include "alloc/size_class.h"
#include "runtime/atomics.h"
#include "runtime/lock.h"
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BITMAP_WORDS (SPAN_MAX_OBJECTS / 64)
#define NO_BLACK UINT32_MAX

enum span_state { SPAN_FREE = 0, SPAN_INUSE = 1, SPAN_UNUSED = 2 };

struct special;

struct span {
	uintptr_t base;
	uintptr_t limit; /* end of the last object */
	size_t elemsize;
	uint32_t npages;
	uint32_t state;
	uint16_t spanclass;
	uint8_t cls;
	uint8_t noscan; /* kind SPAN_NOSCAN: never scanned */
	uint8_t typed;  /* kind SPAN_TYPED: blocks end with a layout word */
	uint32_t nelems;
	uint32_t divmul;

	uint64_t alloc_cache;
	uint32_t freeindex;
	uint32_t black_from;
	uint64_t black_cycle;
	uint64_t swept_cycle;

	uint64_t alloc_bits[BITMAP_WORDS];
	uint64_t mark_bits[BITMAP_WORDS];

	/* central list or page-heap free list (owner of the list's lock) */
	struct span *next, *prev;
	int list;

	tri_lock_t special_lock;
	struct special *specials;
	uint64_t fin_bits[BITMAP_WORDS]; /* special_lock: object idx has a finalizer */
	/* special_lock: this span's free special records and how many records
	 * it owns in all (alloc/special.c); kept across reuse of the struct */
	struct special *spare;
	uint32_t nrecords;
	/* special_lock: idx -> the object's SPECIAL_WEAK record (alloc/special.c);
	 * calloc'd on the span's first weak handle, kept across reuse (all
	 * NULL when the span is free: a free span has no live object) */
	struct special **weak_index;
	uint32_t weak_index_cap;
	uint32_t nweak; /* special_lock: weak records (both kinds) on the list */
	uint64_t weak_cycle;

	/* page heap bookkeeping for free spans (page heap lock) */
	uint64_t free_since_ns;
	uint8_t needzero;
	uint8_t scavenged;
	uint8_t in_cache; /* owned by a thread cache (debug checks) */
};

struct tri_heap {
	uintptr_t base;		/* arena start, immutable after init */
	size_t reserved;	/* arena size, immutable */
	size_t committed;	/* bytes committed from base; grows under lock, read relaxed */
	struct span **pagemap;	/* one entry per arena page */
	struct span *spans;	/* span struct table */
	size_t max_spans;
	uint32_t span_hwm;	/* structs ever used; grows under lock, read relaxed */
	pthread_mutex_t lock;	/* page heap lock: free lists, pagemap updates, span structs */
};

extern struct tri_heap tri_heap;

/* The span an address falls in (any state), or NULL outside the arena. */
static inline struct span *span_of(uintptr_t p)
{
	uintptr_t off = p - tri_heap.base;
	if (off >= ld_relaxed(&tri_heap.committed))
		return NULL;
	return ld_relaxed(&tri_heap.pagemap[off >> TRI_PAGE_SHIFT]);
}

static inline uint32_t span_index(const struct span *s, uintptr_t p)
{
	if (s->cls == 0)
		return 0;
	return (uint32_t)(((uint64_t)(uint32_t)(p - s->base) * s->divmul) >> 32);
}

/* The address of slot idx of s (the inverse of span_index). */
static inline uintptr_t span_slot_addr(const struct span *s, uint32_t idx)
{
	return s->base + (uintptr_t)idx * s->elemsize;
}

static inline bool span_slot_free(const struct span *s, uint32_t idx)
{
	if (idx < ld_relaxed(&s->freeindex))
		return false;
	return !((ld_relaxed(&s->alloc_bits[idx >> 6]) >> (idx & 63)) & 1);
}

/*
 * Resolve p to the allocated object containing it: returns the object's
 * base (and its span and index), or 0 if p is not inside an allocated
 * object. Safe on any word (conservative scanning).
 */
static inline uintptr_t object_lookup(uintptr_t p, struct span **sp, uint32_t *idxp)
{
	struct span *s = span_of(p);
	if (!s || ld_acquire(&s->state) != SPAN_INUSE)
		return 0;
	if (p < s->base || p >= s->limit)
		return 0;
	uint32_t idx = span_index(s, p);
	if (span_slot_free(s, idx))
		return 0;
	*sp = s;
	*idxp = idx;
	return span_slot_addr(s, idx);
}

static inline bool mark_test_and_set(struct span *s, uint32_t idx)
{
	uint64_t bit = 1ull << (idx & 63);
	uint64_t *w = &s->mark_bits[idx >> 6];
	if (ld_relaxed(w) & bit)
		return false;
	return !(fetch_or(w, bit) & bit);
}

/*
 * Slot idx was allocated black in cycle `cycle` (by a thread whose stack was
 * already scanned): it counts as marked. Racy reads of another thread's span
 * are safe in both directions: black_from is written before black_cycle
 * (release/acquire), so seeing black_cycle == cycle means black_from is this
 * cycle's; a stale freeindex or black_cycle only makes a black object look
 * white, and marking it then is merely extra work.
 */
static inline bool span_black_allocated(const struct span *s, uint32_t idx, uint64_t cycle)
{
	if (ld_acquire(&s->black_cycle) != cycle)
		return false;
	uint32_t from = ld_relaxed(&s->black_from);
	if (idx < from || idx >= ld_relaxed(&s->freeindex))
		return false;
	return !((ld_relaxed(&s->alloc_bits[idx >> 6]) >> (idx & 63)) & 1);
}

/* Owner: start the span's black range for `cycle` at slot `from` (its
 * freeindex, or 0 for a large span whose one object is being allocated). */
static inline void span_start_black(struct span *s, uint64_t cycle, uint32_t from)
{
	st_relaxed(&s->black_from, from);
	st_release(&s->black_cycle, cycle);
}

static inline bool mark_is_set(const struct span *s, uint32_t idx)
{
	return (ld_relaxed(&s->mark_bits[idx >> 6]) >> (idx & 63)) & 1;
}

/* Set up a fresh small span for spanclass sc (caller owns it). */
void span_init_small(struct span *s, unsigned spanclass);
/* Set up a large span (one object of npages pages) of kind (span_kind). */
void span_init_large(struct span *s, unsigned kind);
/* Refill alloc_cache from freeindex; returns false if the span is full. */
bool span_refill_cache(struct span *s);
/* Number of free slots at or above freeindex. */
uint32_t span_free_count(const struct span *s);
#endif
