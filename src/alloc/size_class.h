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
 * A span class (spanclass) is class * 2 + noscan: scanned and atomic objects
 * never share a span, so the marker knows from the span alone whether to
 * scan. The tables are computed once by size_class_init, read-only after.
 */
#ifndef TRI_SIZE_CLASS_H
#define TRI_SIZE_CLASS_H
#include <stddef.h>
#include <stdint.h>

#define TRI_PAGE_SHIFT 13
#define TRI_PAGE_SIZE ((size_t)1 << TRI_PAGE_SHIFT)
#define TRI_MAX_SMALL 32768
#define TRI_NUM_CLASSES 73 /* 0 = large, 1..72 small */
#define TRI_NUM_SPANCLASSES (TRI_NUM_CLASSES * 2)
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
