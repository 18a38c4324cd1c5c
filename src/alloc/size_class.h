/* SPDX-License-Identifier: MIT */
/*
 * size_class.h - small-object size classes.
 *
 * Classes are multiples of 16 bytes (so every object is 16-byte aligned):
 * 16..128 in steps of 16, then eight classes per doubling up to 32 KiB
 * (144, 160, ... 256, 288, ... 32768): 72 classes. Waste bound: a request
 * of n > 128 bytes gets a block of at most n * 1.125 (rounded to 16); below
 * 128 bytes at most 15 bytes are lost. Each class's span is the smallest
 * run of 1..16 pages whose tail (bytes left over after the last object) is
 * at most 1/8 of the span, with at most SPAN_MAX_OBJECTS objects.
 * Larger objects get a span of their own (class 0, "large").
 *
 * A span class (spanclass) is class * 3 + kind (enum span_kind): scanned,
 * atomic (noscan) and typed objects (alloc/layout.h) never share a span, so
 * the marker knows from the span alone whether and how to scan. The tables
 * are computed once by size_class_init, read-only after.
 */
#ifndef TRI_SIZE_CLASS_H
#define TRI_SIZE_CLASS_H
#include <stddef.h>
#include <stdint.h>

#define TRI_PAGE_SHIFT 13
#define TRI_PAGE_SIZE ((size_t)1 << TRI_PAGE_SHIFT)
#define TRI_MAX_SMALL 32768
#define TRI_NUM_CLASSES 73 /* 0 = large, 1..72 small */

/* How a span's objects are scanned: conservatively (tri_alloc), not at all
 * (tri_alloc_atomic), or by the layout in each block's header word
 * (tri_alloc_typed). */
enum span_kind { SPAN_SCAN = 0, SPAN_NOSCAN = 1, SPAN_TYPED = 2, SPAN_KINDS = 3 };
#define spanclass_of(cls, kind) ((unsigned)(cls) * SPAN_KINDS + (unsigned)(kind))
#define spanclass_cls(sc) ((unsigned)(sc) / SPAN_KINDS)
#define spanclass_kind(sc) ((unsigned)(sc) % SPAN_KINDS)
#define TRI_NUM_SPANCLASSES (TRI_NUM_CLASSES * SPAN_KINDS)
#define SPAN_MAX_OBJECTS 1024

struct size_class_info {
	uint32_t size;
	uint32_t npages;
	uint32_t nelems;
	uint32_t divmul; /* (offset * divmul) >> 32 == offset / size */
};

extern struct size_class_info tri_class[TRI_NUM_CLASSES];
extern uint8_t tri_class_by16[TRI_MAX_SMALL / 16 + 1];

void size_class_init(void);

/* Class for a small request 1 <= n <= TRI_MAX_SMALL. */
static inline unsigned size_to_class(size_t n)
{
	return tri_class_by16[(n + 15) >> 4];
}
#endif
