/* SPDX-License-Identifier: MIT */
/*
 * layout.h - precise object layouts (tri_layout_make, tri_alloc_typed,
 * tri_alloc_array_typed): which words of an object hold pointers.
 *
 * Job. A layout describes one element of `size` bytes (a multiple of 8) by
 * a bitmap with one bit per word: set means "this word may hold a heap
 * pointer". A typed block is an array of elements of one layout; the marker
 * scans only the words whose bit is set, so integers in the other words
 * never retain anything (docs/design.md section 23).
 *
 * Where the layout lives: in a header word at the END of the block (the
 * last 8 bytes of its size-class slot, or of a large object's pages), as
 * bdwgc's GC_malloc_explicitly_typed does. So the user's pointer is the
 * block's start (16-byte aligned, tri_base(p) == p, finalizers and cleanups
 * need nothing new), and the allocation fast path is tri_alloc's plus one
 * store. Typed blocks live in spans of their own kind (SPAN_TYPED, size
 * class * 3 + 2), so the marker knows from the span, as it knows noscan,
 * that a block ends with a header word; conservative and typed objects
 * never share a span. A span per layout (Go's span-inline masks) was not
 * taken: it needs a cache per thread per layout and central lists per
 * layout, and layouts are unbounded.
 *
 * Elements: the block's bytes before the header word are scanned as
 * consecutive elements of the layout, as many whole elements as fit; a
 * single object is an array of one (its slack past the element, less than
 * one element for every small size class, is scanned as more elements if it
 * holds one whole: it is zero unless the program wrote there). So arrays
 * need no bitmap per element and no element count.
 *
 * Layouts with no pointer word are allocated as atomic (noscan) blocks and
 * layouts whose every word is a pointer word as plain conservative blocks:
 * both are exact already and need no header (LAYOUT_NOSCAN, LAYOUT_ALL).
 *
 * Data. Layouts are immortal and live in one region reserved at the first
 * tri_layout_make (tri_layouts: LAYOUT_REGION bytes of address space,
 * MAP_NORESERVE), bump-allocated under tri_layouts.lock; the region is
 * never unmapped, so a header word can be validated by range and magic
 * before it is followed (layout_of_header), which turns a program's write
 * past the end of a typed object into a clear abort instead of a wild
 * pointer in the marker.
 *
 * Invariants:
 *  - a struct layout is written once, under tri_layouts.lock, before the
 *    pointer is returned to the program; then immutable;
 *  - the header word of a typed block is 0 (slot free, or allocated and
 *    its header store not yet visible to this marker: the block is then
 *    all zero to it, and scanning nothing is what the conservative scanner
 *    would find in it) or a valid layout pointer, written by the allocating
 *    thread before tri_alloc_typed returns, never changed while the block
 *    lives, zeroed by the sweeper with the rest of a dead block. Under
 *    debug=poison a dead block holds TRI_POISON instead, and the slow path
 *    clears it after alloc_from has moved freeindex past the slot: a
 *    marker that finds the slot in between (a stale stack word naming it)
 *    reads the poison pattern as "not yet written", as it reads 0;
 *  - the layout word is stored with release and loaded with acquire (plain
 *    moves on x86-64): the allocating thread got the layout from
 *    tri_layout_make through its own synchronization, so a marker that
 *    reads the word also sees the layout's contents (relaxed accesses
 *    would leave that a data race in C11; scripts/sanitize tsan runs
 *    tests/test_layout clean);
 *  - only pointer words are read by the marker, the checkmark and the
 *    checkfinalizers walk (all through layout_scan).
 *
 * Who calls it: alloc/tcache.c (allocation), mark/scan.c, mark/checkmark.c,
 * final/finalizer.c (scanning), alloc/libc_api.c (tri_realloc, tri_size).
 */
#ifndef TRI_LAYOUT_H
#define TRI_LAYOUT_H
#include "alloc/span.h"
#include "runtime/runtime.h"
#include <stdbool.h>
#include <stdint.h>

#define LAYOUT_MAGIC 0x7a1d0017u
#define LAYOUT_REGION ((size_t)64 << 20)
#define LAYOUT_HEADER sizeof(uintptr_t) /* the header word at a block's end */

enum layout_kind { LAYOUT_TYPED = 0, LAYOUT_NOSCAN = 1, LAYOUT_ALL = 2 };

struct tri_layout {
	uint32_t magic;
	uint32_t kind;	    /* enum layout_kind */
	size_t size;	    /* element bytes, > 0; a multiple of 8 unless LAYOUT_NOSCAN */
	uint32_t nwords;    /* size / 8 */
	uint32_t nmask;	    /* bitmap words: (nwords + 63) / 64 */
	uint32_t nptrs;	    /* pointer words per element */
	uint32_t pad_;
	uint64_t mask[];    /* bit i of mask[i / 64]: word i is a pointer word */
};

/* The layout region (layout.c). base: written once under pthread_once;
 * used: bytes handed out, under lock. */
struct layout_region {
	uintptr_t base;
	size_t used;
	pthread_mutex_t lock;
};
extern struct layout_region tri_layouts;

/* A header word that does not name a layout: NULL (scan nothing) for the
 * poison pattern under debug=poison, else abort naming the block. */
__attribute__((cold)) const struct tri_layout *layout_bad_header(uintptr_t obj, uintptr_t hdr);

/* The block end (address one past its last byte) of the object at obj in
 * span s: the header word sits just below it. */
static inline uintptr_t layout_block_end(const struct span *s, uintptr_t obj)
{
	return s->cls == 0 ? s->limit : obj + s->elemsize;
}

/* The layout of the typed block at obj ending at end, or NULL when its
 * header word is still 0. Aborts on a word that is not a layout. */
static inline const struct tri_layout *layout_of_header(uintptr_t obj, uintptr_t end)
{
	uintptr_t h = ld_acquire((uintptr_t *)(end - LAYOUT_HEADER));
	if (h == 0)
		return NULL;
	if (unlikely(h - tri_layouts.base >= LAYOUT_REGION || (h & 15) ||
		     ((const struct tri_layout *)h)->magic != LAYOUT_MAGIC))
		return layout_bad_header(obj, h);
	return (const struct tri_layout *)h;
}

/*
 * Call visit(word address, ctx) for every pointer word of the typed block
 * [obj, end) that lies in [lo, hi) (a large block's oblet). whole: the
 * caller scans the whole block (lo == obj, hi == end), so no word needs the
 * range test. Returns the number of words visited. always_inline with
 * constant visit and whole, so the marker's loop has no indirect call.
 */
static inline __attribute__((always_inline)) size_t
layout_scan(uintptr_t obj, uintptr_t end, uintptr_t lo, uintptr_t hi, bool whole,
	    void (*visit)(uintptr_t a, void *ctx), void *ctx)
{
	const struct tri_layout *L = layout_of_header(obj, end);
	if (!L)
		return 0;
	const size_t esz = L->size;
	const uintptr_t data_end = end - LAYOUT_HEADER;
	uintptr_t e = obj;
	size_t n = 0;
	if (lo > obj) /* an oblet: start at the element that holds lo */
		e = obj + (lo - obj) / esz * esz;
	if (hi > data_end)
		hi = data_end;
	for (; e + esz <= data_end && e < hi; e += esz) {
		for (uint32_t m = 0; m < L->nmask; m++) {
			uint64_t bits = L->mask[m];
			while (bits) {
				uintptr_t a = e + (((uintptr_t)m << 6) + (uintptr_t)__builtin_ctzll(bits)) * 8;
				bits &= bits - 1;
				if (whole || (a >= lo && a < hi)) {
					visit(a, ctx);
					n++;
				}
			}
		}
	}
	return n;
}
#endif
