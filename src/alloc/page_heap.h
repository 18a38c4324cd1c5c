/* SPDX-License-Identifier: MIT */
/*
 * page_heap.h - pages for spans, from one reserved arena.
 *
 * The arena is reserved once (heap_reserve bytes of address space) and
 * committed in 4 MiB steps as the heap grows. Free page runs are spans in
 * state SPAN_FREE, kept in size-bucketed lists and coalesced with free
 * neighbours on free. All of it is under tri_heap.lock.
 *
 * Return to the OS (scavenging), the policy: at the end of each cycle's
 * sweep (and every 100 ms from the coordinator when idle), a free run that
 * has stayed free for 500 ms is released with MADV_DONTNEED, at most 64 MiB
 * per pass and only while the resident heap exceeds the heap goal + 10%
 * (the heap in use + 10% when gc_percent=off);
 * when the mapped total exceeds memory_limit every free run is released at
 * once. The lock is dropped between runs and during each madvise
 * (page_heap.c: release in flight).
 * Released pages read back as zeros, so they need no clearing when reused.
 * (Releasing after one cycle, the first policy, made a fast allocator fault
 * the same pages back in every few milliseconds: 7% of its time in the
 * kernel.)
 * free_since_ns: when the run became free (CLOCK_MONOTONIC ns); a merged run
 * takes the newer time of its parts.
 */
#ifndef TRI_PAGE_HEAP_H
#define TRI_PAGE_HEAP_H
#include "alloc/span.h"

int page_heap_init(size_t reserve);
/* A span of npages pages, state still SPAN_FREE and not in the page map's
 * in-use view until page_heap_span_publish; *needzero says whether its memory may be
 * dirty. NULL when the arena is exhausted or the OS refuses (errno ENOMEM). */
struct span *page_heap_alloc(size_t npages, bool *needzero);
/* Make every page of s map to s and release-store state SPAN_INUSE. */
void page_heap_span_publish(struct span *s);
/* Give s's pages back to the page heap (the span is unused after this).
 * dirty: the memory may hold non-zero bytes. */
void page_heap_free(struct span *s, bool dirty);
/* Release free runs as described above (now_ns: tri_now_ns()). */
void page_heap_scavenge(uint64_t now_ns, bool all);
/* fork (runtime/fork.c): take the page heap lock once no release is in
 * flight (page_heap.c); in the child, after unlocking, reset the release
 * condition variable (no waiter survived). */
void page_heap_fork_lock(void);
void page_heap_fork_child(void);
/* Bytes in free runs not released to the OS, and released. */
void page_heap_usage(uint64_t *free_bytes, uint64_t *released_bytes);
/* Heap memory the OS backs: mapped minus what was returned with
 * MADV_DONTNEED (the memory limit is about this, not address space). No
 * lock (relaxed reads of tri_stats), so any thread, the allocation path
 * included; 0 if a release raced past the mapped total it read. */
uint64_t page_heap_resident_bytes(void);
/* Debug: check the free-run invariants (takes the page heap lock; aborts
 * naming the rule a run breaks). Called by heap_check.c. */
void page_heap_check_free_runs(void);
#endif
