/* SPDX-License-Identifier: MIT */
/*
 * tcache.h - the per-thread allocation cache.
 *
 * A thread owns one span per span class (t->alloc[sc]) and allocates from it
 * with no lock and no atomic read-modify-write: the fast path is a load of
 * t->slow (the safepoint poll: handshake pending, debug mode, or not
 * attached), a count-trailing-zeros on the span's alloc_cache, and two plain
 * stores (alloc_cache, freeindex). Memory comes back already zeroed by the
 * sweeper. When the span is exhausted, the slow path hands it back to its
 * central list and takes another (alloc/central.c), paying the pacer (an
 * assist or a trigger) per span, not per object.
 *
 * tri_alloc_atomic and the typed allocators (tri_alloc_typed,
 * tri_alloc_array_typed: spans of kind SPAN_TYPED, one more store of the
 * block's layout word, alloc/layout.h) share the same fast path.
 *
 * Accounting: heap_live grows by a span's free bytes when a cache takes it
 * and shrinks by the bytes still free when the cache hands it back (as in
 * Go), so the fast path touches no shared counter.
 */
#ifndef TRI_TCACHE_H
#define TRI_TCACHE_H
#include "runtime/thread.h"
/* n bytes of span kind `kind` (enum span_kind); a SPAN_TYPED block gets
 * layout in its last word (alloc/layout.h). */
void *alloc_slow(struct tri_thread *t, size_t n, unsigned kind, uintptr_t layout);

/* A span with nothing free: the initial t->alloc[] entry (set at attach,
 * runtime/thread.c), so the fast path needs no NULL check. Never swept,
 * never listed. */
extern struct span tri_empty_span;

/* Called by the handshake actions (runtime/handshake.h), detach and fork. */
/* Hand every cached span back to its central list. */
void tcache_release_all(struct tri_thread *t);
/* HS_SWEEP without a lock: move the cached spans to out[] (returns how
 * many; at most TRI_NUM_SPANCLASSES); tcache_list puts them on the central
 * lists. */
uint32_t tcache_take_all(struct tri_thread *t, struct span **out);
void tcache_list(struct span **spans, uint32_t n);
/* HS_SCAN_STACK: allocate black for cycle `cycle` from now on; each cached
 * span starts its black range at its freeindex. */
void tcache_start_black(struct tri_thread *t, uint64_t cycle);
#endif
