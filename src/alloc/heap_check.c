/* SPDX-License-Identifier: MIT */
/*
 * heap_check.c - heap-structure validation (debug builds, and every cycle
 * when debug=checkmark is on, so the soak runs it).
 *
 * Checked at the end of a cycle's sweep, under each list's lock, while
 * mutators run (they only take spans off lists and put swept ones back):
 *  - no span is left unswept (a span carried unswept into the next mark
 *    would keep stale mark bits and hide live objects);
 *  - every listed span is in use, of the list's class, swept for this cycle,
 *    not owned by a cache, has clear mark bits, slots past nelems marked
 *    allocated, freeindex <= nelems, no black range, and sits on the list
 *    its free count calls for;
 *  - free page runs: state free, pages mapped to their run, never two free
 *    runs adjacent (coalescing), sizes consistent with the arena.
 * A violation aborts with the span and the rule.
 */
#include "alloc/central.h"
#include "alloc/page_heap.h"
#include "runtime/runtime.h"

static void bad(const struct span *s, const char *rule)
{
	tri_fatal("tricolor: heap check: span %p (base %p, class %u, %u pages): %s", (const void *)s,
		  (void *)s->base, s->cls, s->npages, rule);
}

static void check_listed(struct central *c, unsigned sc, struct span *head, int partial, uint64_t n)
{
	for (struct span *s = head; s; s = s->next) {
		if (ld_relaxed(&s->state) != SPAN_INUSE)
			bad(s, "listed span not in use");
		if (s->spanclass != sc)
			bad(s, "listed on another class's list");
		if (s->in_cache)
			bad(s, "listed span still owned by a thread cache");
		if (s->swept_cycle != n)
			bad(s, "swept list holds a span of another sweep generation");
		if (s->freeindex > s->nelems)
			bad(s, "freeindex past nelems");
		for (uint32_t w = 0; w < BITMAP_WORDS; w++) {
			if (s->mark_bits[w])
				bad(s, "mark bits left set after sweep");
			for (uint32_t i = w * 64; i < w * 64 + 64; i++)
				if (i >= s->nelems && !((s->alloc_bits[w] >> (i & 63)) & 1))
					bad(s, "slot past nelems not marked allocated");
		}
		if (s->black_from != NO_BLACK && s->black_cycle >= n && s->black_from > s->freeindex)
			bad(s, "black range starts past freeindex");
		if (s->cls != 0 && partial != (span_free_count(s) > 0))
			bad(s, partial ? "partial list span has no free slot" : "full list span has free slots");
		if (s->next && s->next->prev != s)
			bad(s, "broken list links");
	}
	(void)c;
}

void heap_check(void)
{
	uint64_t n = ld_seq(&tri_rt.sweep_cycle);
	for (unsigned sc = 0; sc < TRI_NUM_SPANCLASSES; sc++) {
		struct central *c = &tri_central[sc];
		tri_lock(&c->lock);
		/* central.h: lists [(n + 1) & 1] hold the unswept spans. */
		if (c->partial[(n + 1) & 1].head)
			bad(c->partial[(n + 1) & 1].head, "unswept span left after the sweep finished");
		if (c->full[(n + 1) & 1].head)
			bad(c->full[(n + 1) & 1].head, "unswept span left after the sweep finished");
		check_listed(c, sc, c->partial[n & 1].head, 1, n);
		check_listed(c, sc, c->full[n & 1].head, 0, n);
		tri_unlock(&c->lock);
	}
	page_heap_check_free_runs();
}
