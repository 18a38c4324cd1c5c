/* SPDX-License-Identifier: MIT */
/*
 * size_class.c - computes the class tables described in size_class.h.
 */
#include "alloc/size_class.h"
#include "runtime/runtime.h"

struct size_class_info tri_class[TRI_NUM_CLASSES];
uint8_t tri_class_by16[TRI_MAX_SMALL / 16 + 1];

static void set_class(unsigned c, uint32_t size)
{
	uint32_t best = 0;
	for (uint32_t np = 1; np <= 16; np++) {
		size_t bytes = np * TRI_PAGE_SIZE;
		size_t n = bytes / size;
		if (n == 0)
			continue;
		if (n > SPAN_MAX_OBJECTS)
			break;
		size_t tail = bytes - n * size;
		if (tail * 8 <= bytes) {
			best = np;
			break;
		}
	}
	if (!best)
		tri_fatal("tricolor: internal error: no span size for class %u (%u bytes)", c, size);
	tri_class[c].size = size;
	tri_class[c].npages = best;
	tri_class[c].nelems = (uint32_t)(best * TRI_PAGE_SIZE / size);
	tri_class[c].divmul = (uint32_t)(0xffffffffu / size + 1);
}

void size_class_init(void)
{
	unsigned c = 1;
	for (uint32_t s = 16; s <= 128; s += 16)
		set_class(c++, s);
	for (uint32_t d = 128; d < TRI_MAX_SMALL; d *= 2)
		for (uint32_t k = 1; k <= 8; k++)
			set_class(c++, d + k * (d / 8));
	if (c != TRI_NUM_CLASSES)
		tri_fatal("tricolor: internal error: %u size classes, expected %u", c, TRI_NUM_CLASSES);
	unsigned cls = 1;
	for (size_t i = 0; i <= TRI_MAX_SMALL / 16; i++) {
		size_t n = i * 16;
		while (cls < TRI_NUM_CLASSES - 1 && tri_class[cls].size < n)
			cls++;
		tri_class_by16[i] = (uint8_t)cls;
	}
	tri_class_by16[0] = 1;
}
