/* SPDX-License-Identifier: MIT */
/*
 * heapprof.h - debug=heapprofile=PATH: a sampled heap profile by
 * allocation site, written at exit in the legacy text heap-profile format
 * that pprof reads (`go tool pprof -text PROGRAM PATH`, or gperftools'
 * pprof), for finding what keeps memory alive (GC_FIND_LEAK's question).
 *
 * Sampling never touches the allocation fast path: a thread's byte
 * countdown (t->prof_countdown) is charged at each span refill and each
 * large allocation (tcache.c, the slow path) with the bytes the thread
 * takes; when it crosses zero the allocation that caused the refill is
 * sampled (t->prof_pending, consumed on the slow path's return), and the
 * countdown restarts from an exponentially distributed interval with mean
 * heapprofile_rate (default 512 KiB, Go's MemProfileRate), as Go draws its
 * sampling points. Each sample is one object of its size with the calling
 * stack; pprof scales samples by the rate ("heap_v2/RATE" in the header). A
 * cleanup on the sampled object (tri_add_cleanup) takes it out of the in-use
 * figures when it is collected, so the profile's inuse_* says what the
 * sampled live objects were allocated by, and alloc_* what was allocated.
 *
 * Shared state: tri_heapprof_on, written once by tri_init before other
 * runtime threads start; the bucket table under heapprof_lock (taken only
 * when sampling, by cleanups and at exit: never on the fast path).
 */
#ifndef TRI_HEAPPROF_H
#define TRI_HEAPPROF_H
#include "runtime/thread.h"
#include <stddef.h>
#include <stdint.h>

extern int tri_heapprof_on;
void heapprof_init(const char *path, uint64_t rate);
void heapprof_refill_slow(struct tri_thread *t, size_t bytes);
void heapprof_sample(struct tri_thread *t, void *p, size_t size);

/* Span refill / large allocation of `bytes` on the slow path. */
static inline void heapprof_refill(struct tri_thread *t, size_t bytes)
{
	if (unlikely(tri_heapprof_on))
		heapprof_refill_slow(t, bytes);
}

/* The slow path returns p (size bytes): sample it if a refill asked. */
static inline void *heapprof_after(struct tri_thread *t, void *p, size_t size)
{
	if (unlikely(t->prof_pending) && p)
		heapprof_sample(t, p, size);
	return p;
}
#endif
