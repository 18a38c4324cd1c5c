/* SPDX-License-Identifier: MIT */
/*
 * layout.c - making layouts (tri_layout_make) and the region they live in
 * (see layout.h for the representation, the invariants and who calls it).
 *
 * Shared data: tri_layouts.base is set once (pthread_once) and read by
 * markers relaxed (a marker only follows a header word written by a thread
 * that got its layout from tri_layout_make, after the once); used and the
 * region's contents are written under tri_layouts.lock, each layout before
 * it is returned, and never again.
 */
#include "alloc/layout.h"
#include "alloc/os_mem.h"
#include "sweep/sweep.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>

struct layout_region tri_layouts = {.lock = PTHREAD_MUTEX_INITIALIZER};
static pthread_once_t layouts_once = PTHREAD_ONCE_INIT;

/* The largest element: its bitmap is 1/64 of it, and every layout must fit
 * the region several times over. */
#define LAYOUT_MAX_SIZE ((size_t)1 << 26)

static void layouts_reserve(void)
{
	/* Far from the heap arena, never unmapped: layout_of_header's range
	 * test stays valid for the life of the process. A failed reservation
	 * leaves base 0 and tri_layout_make returns ENOMEM. */
	void *p = os_alloc_meta(LAYOUT_REGION);
	if (p)
		st_relaxed(&tri_layouts.base, (uintptr_t)p);
}

const struct tri_layout *layout_bad_header(uintptr_t obj, uintptr_t hdr)
{
	if (hdr == TRI_POISON && tri_rt.opt.poison)
		return NULL; /* allocated, not yet cleared by alloc_slow (layout.h) */
	tri_fatal("tricolor: typed object %p: its layout word (%#lx, the last word of the block) does not name a "
		  "layout: the program wrote past the end of the object, or into a block tri_size does not cover",
		  (void *)obj, (unsigned long)hdr);
}

const tri_layout *tri_layout_make(size_t size, const size_t *ptr_offsets, size_t count)
{
	if (size == 0)
		tri_fatal("tri_layout_make: size is 0");
	if (count && !ptr_offsets)
		tri_fatal("tri_layout_make: ptr_offsets is NULL but count is %zu", count);
	if (size > LAYOUT_MAX_SIZE)
		tri_fatal("tri_layout_make: size %zu is larger than the limit of %zu bytes", size, LAYOUT_MAX_SIZE);
	if (count && size % sizeof(void *))
		tri_fatal("tri_layout_make: size %zu is not a multiple of the pointer size (%zu), so it cannot hold a pointer field",
			  size, sizeof(void *));
	for (size_t i = 0; i < count; i++) {
		size_t off = ptr_offsets[i];
		if (off % sizeof(void *))
			tri_fatal("tri_layout_make: pointer offset %zu is not a multiple of the pointer size (%zu)", off,
				  sizeof(void *));
		if (off >= size)
			tri_fatal("tri_layout_make: pointer word at offset %zu is beyond the size %zu", off, size);
	}
	size_t nwords = (size + 7) / 8, nmask = (nwords + 63) / 64;
	size_t bytes = (sizeof(struct tri_layout) + nmask * 8 + 15) & ~(size_t)15;
	pthread_once(&layouts_once, layouts_reserve);
	if (!tri_layouts.base) {
		errno = ENOMEM;
		return NULL;
	}
	tri_lock(&tri_layouts.lock);
	if (LAYOUT_REGION - tri_layouts.used < bytes) {
		tri_unlock(&tri_layouts.lock);
		errno = ENOMEM;
		return NULL;
	}
	struct tri_layout *L = (struct tri_layout *)(tri_layouts.base + tri_layouts.used);
	tri_layouts.used += bytes;
	L->size = nwords * 8;
	L->nwords = (uint32_t)nwords;
	L->nmask = (uint32_t)nmask;
	uint32_t nptrs = 0;
	for (size_t i = 0; i < count; i++) {
		size_t w = ptr_offsets[i] / 8;
		if (L->mask[w / 64] & (1ull << (w % 64))) {
			tri_layouts.used -= bytes; /* the last block: give it back */
			memset(L, 0, bytes);
			tri_unlock(&tri_layouts.lock);
			tri_fatal("tri_layout_make: pointer offset %zu is listed twice", ptr_offsets[i]);
		}
		L->mask[w / 64] |= 1ull << (w % 64);
		nptrs++;
	}
	L->nptrs = nptrs;
	if (nptrs == 0)
		L->size = size; /* no pointer field: any size, the C array stride */
	L->kind = nptrs == 0 ? LAYOUT_NOSCAN : nptrs == nwords ? LAYOUT_ALL : LAYOUT_TYPED;
	L->magic = LAYOUT_MAGIC;
	tri_unlock(&tri_layouts.lock);
	return L;
}
