/* SPDX-License-Identifier: MIT */
/*
 * tcache.c - tri_alloc and the per-thread cache (see tcache.h).
 */
#include "alloc/tcache.h"
#include "runtime/heapprof.h"
#include "runtime/nopreempt.h"
#include "alloc/central.h"
#include "alloc/layout.h"
#include "alloc/memcheck.h"
#include "alloc/page_heap.h"
#include "runtime/handshake.h"
#include "runtime/pacer.h"
#include "sweep/sweep.h"
#include <errno.h>
#include <string.h>

/* The initial t->alloc[] entry (tcache.h). */
struct span tri_empty_span = {.state = SPAN_UNUSED};
char tri_zerobase[16] __attribute__((aligned(16)));

/* The slow path's allocation from a span. Under valgrind (alloc/memcheck.h)
 * the object becomes a memcheck block before freeindex shows it to a
 * marker, and alloc_cache is left empty, so that the next allocation takes
 * the slow path too (span_refill_cache refills from freeindex) and is
 * registered: the fast path carries no client request. */
static inline void *alloc_from(struct span *s)
{
	uint64_t c = s->alloc_cache;
	if (likely(c != 0)) {
		unsigned bit = (unsigned)__builtin_ctzll(c);
		uint32_t idx = s->freeindex + bit;
		void *p = (void *)span_slot_addr(s, idx);
		if (TRI_VG) {
			TRI_VG_ALLOC(p, s->elemsize);
			c = 0;
		}
		s->alloc_cache = (c >> bit) >> 1;
		st_relaxed(&s->freeindex, idx + 1);
		return p;
	}
	return NULL;
}

/* The fast path, inlined into every entry point: one TLS load, the poll
 * word, the size-class table, the span's alloc_cache, a tzcnt, two stores
 * (three for a typed block: its layout word, at the slot's end, before the
 * freeindex store that shows the slot to a marker; layout.h says why a
 * marker that still sees the word 0 loses nothing). kind is a constant in
 * each caller, so the typed store is compiled only into the typed path. */
static inline __attribute__((always_inline)) void *alloc_fast(size_t n, unsigned kind, uintptr_t layout)
{
	struct tri_thread *t = tri_self;
	if (likely(n - 1 < TRI_MAX_SMALL && !ld_relaxed(&t->slow))) {
		struct span *s = t->alloc[spanclass_of(size_to_class(n), kind)];
		uint64_t c = s->alloc_cache;
		if (likely(c != 0)) {
			unsigned b = (unsigned)__builtin_ctzll(c);
			uint32_t i = s->freeindex + b;
			uintptr_t p = span_slot_addr(s, i);
			s->alloc_cache = (c >> b) >> 1;
			if (kind == SPAN_TYPED)
				st_release((uintptr_t *)(p + s->elemsize - LAYOUT_HEADER), layout);
			st_relaxed(&s->freeindex, i + 1);
			return (void *)p;
		}
	}
	return alloc_slow(t, n, kind, layout);
}

void *tri_alloc(size_t n)
{
	return alloc_fast(n, SPAN_SCAN, 0);
}

void *tri_alloc_atomic(size_t n)
{
	return alloc_fast(n, SPAN_NOSCAN, 0);
}

/* Everything but a valid mixed layout: misuse, or a layout that needs no
 * header (layout.h: LAYOUT_NOSCAN and LAYOUT_ALL are exact as atomic and
 * conservative blocks). */
static void *alloc_untyped(const char *fn, const tri_layout *l, size_t bytes)
{
	if (!l)
		tri_fatal("%s: layout is NULL", fn);
	if (l->magic != LAYOUT_MAGIC)
		tri_fatal("%s: %p is not a layout made by tri_layout_make", fn, (const void *)l);
	return l->kind == LAYOUT_NOSCAN ? tri_alloc_atomic(bytes) : tri_alloc(bytes);
}

/* magic and kind as one 64-bit word: a valid layout that needs a header. */
static inline bool layout_is_typed(const tri_layout *l)
{
	uint64_t w;
	if (unlikely(!l))
		return false;
	memcpy(&w, l, sizeof w);
	return likely(w == ((uint64_t)LAYOUT_TYPED << 32 | LAYOUT_MAGIC));
}

void *tri_alloc_typed(const tri_layout *l)
{
	if (!layout_is_typed(l))
		return alloc_untyped("tri_alloc_typed", l, l ? l->size : 0);
	return alloc_fast(l->size + LAYOUT_HEADER, SPAN_TYPED, (uintptr_t)l);
}

void *tri_alloc_array_typed(const tri_layout *l, size_t n)
{
	if (unlikely(ld_relaxed(&tri_self->slow) & SLOW_DETACHED))
		thread_require("tri_alloc_array_typed");
	size_t bytes;
	if (unlikely(!l || __builtin_mul_overflow(n, l->size, &bytes) || bytes > SIZE_MAX - LAYOUT_HEADER)) {
		if (!l)
			alloc_untyped("tri_alloc_array_typed", l, 0);
		errno = ENOMEM;
		return NULL;
	}
	if (!layout_is_typed(l))
		return alloc_untyped("tri_alloc_array_typed", l, bytes);
	if (n == 0)
		return tri_alloc(0);
	return alloc_fast(bytes + LAYOUT_HEADER, SPAN_TYPED, (uintptr_t)l);
}

void tcache_start_black(struct tri_thread *t, uint64_t cycle)
{
	t->alloc_black = 1;
	t->alloc_black_cycle = cycle;
	for (unsigned sc = 0; sc < TRI_NUM_SPANCLASSES; sc++) {
		struct span *s = t->alloc[sc];
		if (s != &tri_empty_span && s->black_cycle != cycle)
			span_start_black(s, cycle, s->freeindex);
	}
}

/* Take span class sc's span out of the cache (NULL if none), uncounting
 * its free slots. */
static struct span *cache_drop(struct tri_thread *t, unsigned sc)
{
	struct span *s = t->alloc[sc];
	if (s == &tri_empty_span)
		return NULL;
	t->alloc[sc] = &tri_empty_span;
	size_t unused = (size_t)span_free_count(s) * s->elemsize;
	if (unused) {
		fetch_sub(&tri_stats.heap_live, (int64_t)unused);
		fetch_sub(&tri_stats.alloc_bytes, unused);
	}
	return s;
}

static void cache_put(struct tri_thread *t, unsigned sc)
{
	struct span *s = cache_drop(t, sc);
	if (s)
		central_release(s);
}

void tcache_release_all(struct tri_thread *t)
{
	for (unsigned sc = 0; sc < TRI_NUM_SPANCLASSES; sc++)
		cache_put(t, sc);
}

/*
 * The sweep handshake's part of cache_put without the central lock: with
 * 64 threads on 2 cores a central lock is often held by a descheduled
 * thread, and the sweep action waited for it (handshake pauses of 30-60 ms
 * in perf/churn at 64 threads). The spans go to out[] (the thread's
 * hand-off, thread.h) and the coordinator lists them with tcache_list
 * once the thread has acknowledged, before the background sweep: until
 * then they are in no cache and on no list, and nobody else reaches them.
 */
uint32_t tcache_take_all(struct tri_thread *t, struct span **out)
{
	uint32_t n = 0;
	for (unsigned sc = 0; sc < TRI_NUM_SPANCLASSES; sc++) {
		struct span *s = cache_drop(t, sc);
		if (s)
			out[n++] = s;
	}
	return n;
}

void tcache_list(struct span **spans, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		central_release(spans[i]);
}

/* Black allocation: a span taken while the thread allocates black starts its
 * black range where its free slots start. */
static void cache_take(struct tri_thread *t, unsigned sc, struct span *s)
{
	if (t->alloc_black && s->black_cycle != t->alloc_black_cycle)
		span_start_black(s, t->alloc_black_cycle, s->freeindex);
	tri_assert(!s->in_cache); /* a span has one owner (span.h) */
	s->in_cache = 1;
	size_t bytes = (size_t)span_free_count(s) * s->elemsize;
	fetch_add(&tri_stats.heap_live, (int64_t)bytes);
	fetch_add(&tri_stats.alloc_bytes, bytes);
	fetch_add(&tri_stats.alloc_objects, bytes / s->elemsize);
	t->alloc[sc] = s;
	heapprof_refill(t, bytes);
}

static void *out_of_memory(void)
{
	fetch_add(&tri_stats.oom_count, 1);
	errno = ENOMEM;
	return NULL;
}

/*
 * Before a large allocation during the sweep phase, sweep unswept large
 * spans until at least npages pages were freed (Go's mheap.alloc does the
 * same): dead large objects go back to the page heap before the arena grows.
 * Without it a program churning 64 KiB objects under memory_limit=32m grew
 * to 117 MB while the background sweeper caught up.
 */
static void sweep_large_for(size_t npages)
{
	size_t freed = 0;
	uint64_t t0 = tri_now_ns();
	for (unsigned sc = 0; sc < SPAN_KINDS && freed < npages; sc++) {
		struct span *s;
		while (freed < npages && (s = central_take_unswept(sc))) {
			size_t np = s->npages;
			int r = sweep_span(s);
			if (r == SWEEP_FREED)
				freed += np;
			central_after_sweep(s, r);
		}
	}
	pause_stall(TRI_PAUSE_SWEEP, t0);
}

static void *alloc_large(struct tri_thread *t, size_t n, unsigned kind, uintptr_t layout)
{
	if (n > tri_heap.reserved)
		return out_of_memory();
	size_t npages = (n + TRI_PAGE_SIZE - 1) >> TRI_PAGE_SHIFT;
	size_t bytes = npages * TRI_PAGE_SIZE;
	pacer_before_alloc(t, bytes);
	heapprof_refill(t, bytes);
	if (ld_relaxed(&tri_rt.phase) == PHASE_SWEEP)
		sweep_large_for(npages);
	bool needzero;
	uint64_t t0 = tri_now_ns();
	struct span *s = page_heap_alloc(npages, &needzero);
	if (!s) {
		pacer_out_of_memory(t);
		s = page_heap_alloc(npages, &needzero);
		if (!s)
			return out_of_memory();
	}
	span_init_large(s, kind);
	/* A memcheck block before the poison check and the zeroing read and
	 * write it (free pages are NOACCESS), and before page_heap_span_publish. */
	if (TRI_VG)
		TRI_VG_ALLOC((void *)s->base, bytes);
	/* The one object is allocated already (freeindex 1): the range starts
	 * at 0. (Starting it at freeindex left it empty, and a large object
	 * allocated black was freed by the sweep: perf/gcbench's array.) */
	if (t->alloc_black)
		span_start_black(s, t->alloc_black_cycle, 0);
	if (tri_rt.opt.poison)
		sweep_check_poison((void *)s->base, bytes);
	if (needzero || tri_rt.opt.poison)
		memset((void *)s->base, 0, bytes);
	if (kind == SPAN_TYPED) /* before page_heap_span_publish shows it to a marker */
		st_release((uintptr_t *)(s->limit - LAYOUT_HEADER), layout);
	pause_stall(TRI_PAUSE_HEAP, t0); /* page heap, growth, clearing */
	fetch_add(&tri_stats.heap_live, (int64_t)bytes);
	fetch_add(&tri_stats.alloc_bytes, bytes);
	fetch_add(&tri_stats.alloc_objects, 1);
	/* Published (in use) before it is listed: heap_check, at the end of a
	 * sweep that may run while this thread is here (it acknowledged the
	 * sweep handshake before), takes every listed span to be in use. The
	 * other order failed test_collector 2 times in 30 with checkmark. No
	 * cycle can end its marking in between: that needs a flush handshake
	 * this thread only answers at a safepoint. */
	page_heap_span_publish(s);
	central_add_large(s);
	return (void *)s->base;
}

void *alloc_slow(struct tri_thread *t, size_t n, unsigned kind, uintptr_t layout)
{
	NO_PREEMPT();
	if (unlikely(ld_relaxed(&t->slow) & SLOW_DETACHED)) {
		static const char *const fn[SPAN_KINDS] = {"tri_alloc", "tri_alloc_atomic", "tri_alloc_typed"};
		tri_require_init(fn[kind]);
		tri_fatal("%s: thread not attached (call tri_thread_attach first)", fn[kind]);
	}
	if (ld_relaxed(&t->slow) & SLOW_POLL)
		handshake_safepoint_slow(t);
	if (n == 0)
		return tri_zerobase;
	if (n > TRI_MAX_SMALL)
		return heapprof_after(t, alloc_large(t, n, kind, layout), n);
	unsigned sc = spanclass_of(size_to_class(n), kind);
	for (;;) {
		struct span *s = t->alloc[sc];
		void *p = alloc_from(s);
		if (!p && s != &tri_empty_span && span_refill_cache(s))
			p = alloc_from(s);
		if (p) {
			if (unlikely(tri_rt.opt.poison)) {
				sweep_check_poison(p, s->elemsize);
				memset(p, 0, s->elemsize);
			}
			if (kind == SPAN_TYPED)
				st_release((uintptr_t *)((uintptr_t)p + s->elemsize - LAYOUT_HEADER), layout);
			return heapprof_after(t, p, s->elemsize);
		}
		cache_put(t, sc);
		pacer_before_alloc(t, (size_t)tri_class[spanclass_cls(sc)].npages * TRI_PAGE_SIZE);
		s = central_acquire(sc, !t->alloc_black);
		if (!s) {
			pacer_out_of_memory(t);
			s = central_acquire(sc, !t->alloc_black);
			if (!s)
				return out_of_memory();
		}
		cache_take(t, sc, s);
	}
}

static uintptr_t lookup(const void *p, struct span **sp)
{
	uint32_t idx;
	return object_lookup((uintptr_t)p, sp, &idx);
}

size_t tri_size(const void *p)
{
	struct span *s;
	if (!lookup(p, &s))
		return 0;
	return s->typed ? s->elemsize - LAYOUT_HEADER : s->elemsize; /* the layout word is not the program's */
}

void *tri_base(const void *p)
{
	struct span *s;
	return (void *)lookup(p, &s);
}

int tri_is_heap_ptr(const void *p)
{
	struct span *s;
	return lookup(p, &s) != 0;
}
