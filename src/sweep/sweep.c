/* SPDX-License-Identifier: MIT */
/*
 * sweep.c - sweeping spans (see sweep.h).
 */
#include "sweep/sweep.h"
#include "alloc/central.h"
#include "alloc/memcheck.h"
#include "alloc/page_heap.h"
#include "runtime/probes.h"
#include "runtime/runtime.h"
#include <sched.h>
#include <string.h>

uint64_t tri_sweep_live_bytes;
uint64_t tri_sweep_marked_bytes;
sweep_dead_fn *sweep_dead_hook;

void sweep_poison(void *p, size_t n)
{
	uint64_t *w = p;
	for (size_t i = 0; i < n / 8; i++)
		w[i] = TRI_POISON;
}

void sweep_check_poison(void *p, size_t n)
{
	const uint64_t *w = p;
	for (size_t i = 0; i < n / 8; i++)
		if (w[i] != TRI_POISON && w[i] != 0)
			tri_fatal("tricolor: debug=poison: freed object %p (size %zu) was written after it was freed: word %zu is %#llx",
				  p, n, i, (unsigned long long)w[i]);
}

/* Bits [lo, hi) of bitmap word w. */
static uint64_t range_mask(uint32_t w, uint32_t lo, uint32_t hi)
{
	uint32_t a = w * 64, b = a + 64;
	if (hi <= a || lo >= b || lo >= hi)
		return 0;
	uint32_t l = lo > a ? lo - a : 0;
	uint32_t h = hi < b ? hi - a : 64;
	uint64_t m = h == 64 ? ~0ull : (1ull << h) - 1;
	return m & (~0ull << l);
}

/*
 * Clear (or poison: large objects too, reuse checks them) every dead slot,
 * one memset per run of adjacent dead slots: a span whose objects all died
 * is one call, not nelems calls (per-object memsets of 16-byte objects were
 * most of a small-object sweep).
 */
static void clear_dead(struct span *s, const uint64_t *dead, uint32_t nwords)
{
	uint32_t i = 0, end = nwords * 64;
	while (i < end) {
		uint64_t d = dead[i >> 6] >> (i & 63);
		if (!d) {
			i = (i | 63) + 1;
			continue;
		}
		i += (uint32_t)__builtin_ctzll(d);
		uint32_t j = i;
		while (j < end) { /* the first live (or invalid) slot from j */
			uint64_t z = ~dead[j >> 6] >> (j & 63);
			if (z) {
				j += (uint32_t)__builtin_ctzll(z);
				break;
			}
			j = (j | 63) + 1;
		}
		void *p = (void *)span_slot_addr(s, i);
		size_t n = (size_t)(j - i) * s->elemsize;
		if (tri_rt.opt.poison)
			sweep_poison(p, n);
		else
			memset(p, 0, n);
		i = j;
	}
}

int sweep_span(struct span *s)
{
	uint64_t n = ld_seq(&tri_rt.sweep_cycle);
	/* A span is swept exactly once per cycle: a second sweep would find
	 * its mark bits cleared and free every live object. Broken, it aborts
	 * (never tolerated: the caller's ownership of s is wrong). Sweeping
	 * needs final mark bits: never while marking. */
	if (unlikely(s->swept_cycle >= n))
		tri_fatal("tricolor: internal error: span %p (class %u) swept twice for cycle %llu (swept for %llu)",
			  (void *)s->base, s->cls, (unsigned long long)n, (unsigned long long)s->swept_cycle);
	tri_assert(ld_relaxed(&tri_rt.phase) != PHASE_MARK);
	uint32_t fi = s->freeindex;
	bool black = s->black_cycle == n && s->black_from != NO_BLACK;
	uint64_t live[BITMAP_WORDS], dead[BITMAP_WORDS];
	uint64_t nmarked = 0; /* live by their mark bit (not allocated black) */
	uint32_t nwords = (s->nelems + 63) / 64;
	TRI_PROBE2(sweep__span, s->base, s->spanclass);
	for (uint32_t w = 0; w < nwords; w++) {
		uint64_t alloc = s->alloc_bits[w];
		uint64_t valid = range_mask(w, 0, s->nelems);
		uint64_t allocated = (alloc | range_mask(w, 0, fi)) & valid;
		uint64_t blk = black ? range_mask(w, s->black_from, fi) & ~alloc : 0;
		uint64_t marked = s->mark_bits[w] & allocated;
		live[w] = (marked | blk) & allocated;
		dead[w] = allocated & ~live[w];
		nmarked += (uint64_t)__builtin_popcountll(marked);
	}
	if (ld_acquire(&s->specials)) /* written under special_lock, read as a hint */
		sweep_dead_hook(s, live, dead);
	/* The weak cells of this span now reflect cycle n's decision (the dead
	 * ones were cleared above); published before the mark bits are cleared
	 * below, so a weak read that sees a cleared mark bit also sees this
	 * (weak/weak.h). A handle made after the hint read above is for an
	 * object the program held, which is marked or black: live either way. */
	st_release(&s->weak_cycle, n);
	__atomic_thread_fence(__ATOMIC_RELEASE);

	uint64_t freed = 0, nlive = 0;
	for (uint32_t w = 0; w < nwords; w++) {
		nlive += (uint64_t)__builtin_popcountll(live[w]);
		freed += (uint64_t)__builtin_popcountll(dead[w]);
	}
	if (freed && (tri_rt.opt.poison || s->cls != 0))
		clear_dead(s, dead, nwords);
	/* From here a use of a dead object is a memcheck error. */
	if (TRI_VG)
		for (uint32_t w = 0; w < nwords; w++)
			for (uint64_t d = dead[w]; d; d &= d - 1)
				TRI_VG_FREE((void *)span_slot_addr(s, w * 64 + (uint32_t)__builtin_ctzll(d)));
	size_t freed_bytes = freed * s->elemsize;
	if (freed) {
		fetch_sub(&tri_stats.heap_live, (int64_t)freed_bytes);
		fetch_add(&tri_stats.freed_bytes, freed_bytes);
		fetch_add(&tri_stats.freed_objects, freed);
	}
	fetch_add(&tri_sweep_live_bytes, nlive * s->elemsize);
	if (nmarked)
		fetch_add(&tri_sweep_marked_bytes, nmarked * s->elemsize);

	for (uint32_t w = 0; w < BITMAP_WORDS; w++) {
		uint64_t beyond = ~range_mask(w, 0, s->nelems);
		st_relaxed(&s->alloc_bits[w], (w < nwords ? live[w] : 0) | beyond);
		st_relaxed(&s->mark_bits[w], 0); /* weak_cell_get may read it now */
	}
	st_relaxed(&s->freeindex, 0);
	s->alloc_cache = ~s->alloc_bits[0];
	st_relaxed(&s->black_from, NO_BLACK); /* relaxed: as mark_bits */
	st_relaxed(&s->black_cycle, 0);
	s->swept_cycle = n;

	if (nlive == 0) {
		st_release(&s->state, SPAN_UNUSED);
		page_heap_free(s, s->cls == 0 || tri_rt.opt.poison);
		return SWEEP_FREED;
	}
	if (s->cls == 0)
		return SWEEP_FULL;
	return nlive < s->nelems ? SWEEP_HAS_FREE : SWEEP_FULL;
}

void sweep_all(void)
{
	for (unsigned sc = 0; sc < TRI_NUM_SPANCLASSES; sc++) {
		struct span *s;
		while ((s = central_take_unswept(sc))) {
			int r = sweep_span(s);
			central_after_sweep(s, r);
		}
	}
	while (ld_seq(&tri_sweeps_active))
		sched_yield();
}
