/* SPDX-License-Identifier: MIT */
/*
 * span.c - initialising spans and walking their allocation bitmaps.
 */
#include "alloc/span.h"
#include "runtime/runtime.h"
#include <string.h>

static void bits_init(struct span *s)
{
	memset(s->mark_bits, 0, sizeof s->mark_bits);
	memset(s->fin_bits, 0, sizeof s->fin_bits);
	/* Slots past nelems are permanently "allocated", so they are never free. */
	for (uint32_t w = 0; w < BITMAP_WORDS; w++) {
		uint32_t lo = w * 64;
		s->alloc_bits[w] = s->nelems <= lo ? ~0ull : s->nelems >= lo + 64 ? 0 : ~0ull << (s->nelems - lo);
	}
	s->freeindex = 0;
	s->alloc_cache = ~s->alloc_bits[0];
	s->black_from = NO_BLACK;
	s->black_cycle = 0;
	st_relaxed(&s->specials, NULL);
}

void span_init_small(struct span *s, unsigned spanclass)
{
	unsigned cls = spanclass_cls(spanclass);
	s->spanclass = (uint16_t)spanclass;
	s->cls = (uint8_t)cls;
	s->noscan = spanclass_kind(spanclass) == SPAN_NOSCAN;
	s->typed = spanclass_kind(spanclass) == SPAN_TYPED;
	s->elemsize = tri_class[cls].size;
	s->nelems = tri_class[cls].nelems;
	s->divmul = tri_class[cls].divmul;
	s->limit = s->base + (uintptr_t)s->nelems * s->elemsize;
	bits_init(s);
}

void span_init_large(struct span *s, unsigned kind)
{
	s->spanclass = (uint16_t)spanclass_of(0, kind);
	s->cls = 0;
	s->noscan = kind == SPAN_NOSCAN;
	s->typed = kind == SPAN_TYPED;
	s->elemsize = (size_t)s->npages * TRI_PAGE_SIZE;
	s->nelems = 1;
	s->divmul = 0;
	s->limit = s->base + s->elemsize;
	bits_init(s);
	s->freeindex = 1; /* the one object is allocated */
	s->alloc_cache = 0;
}

bool span_refill_cache(struct span *s)
{
	uint32_t i = s->freeindex;
	while (i < s->nelems) {
		uint64_t w = ~s->alloc_bits[i >> 6] >> (i & 63);
		if (w) {
			uint32_t z = (uint32_t)__builtin_ctzll(w);
			i += z;
			if (i >= s->nelems)
				break;
			st_relaxed(&s->freeindex, i);
			s->alloc_cache = w >> z;
			return true;
		}
		i = (i | 63) + 1;
	}
	st_relaxed(&s->freeindex, s->nelems);
	s->alloc_cache = 0;
	return false;
}

uint32_t span_free_count(const struct span *s)
{
	uint32_t n = 0;
	for (uint32_t w = s->freeindex >> 6; w < BITMAP_WORDS && w * 64 < s->nelems; w++) {
		uint64_t free = ~s->alloc_bits[w];
		if (w == s->freeindex >> 6)
			free &= ~0ull << (s->freeindex & 63);
		n += (uint32_t)__builtin_popcountll(free);
	}
	return n;
}
