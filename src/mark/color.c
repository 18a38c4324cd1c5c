/* SPDX-License-Identifier: MIT */
/*
 * color.c - color_check_heap: the strong tri-colour invariant over the
 * whole heap once marking has terminated (see color.h for the colours, when
 * the invariant holds and why the check may run beside mutators).
 * Coordinator only, debug level 3; writes nothing shared.
 */
#include "mark/color.h"
#include "mark/scan.h"

TRI_NO_SANITIZE static void check_object(const struct span *s, uintptr_t obj, uint64_t n)
{
	for (uintptr_t a = obj; a + sizeof(uintptr_t) <= obj + s->elemsize; a += sizeof(uintptr_t)) {
		struct span *ts;
		uint32_t tidx;
		uintptr_t target = object_lookup(scan_word(a), &ts, &tidx);
		if (target && color_white(ts, tidx, n))
			tri_fatal("tricolor: tri-colour invariant broken after marking cycle %llu: object %p "
				  "(size class %u) is not white but its word at +%zu points to the white object "
				  "%p (size class %u)",
				  (unsigned long long)n, (void *)obj, s->cls, (size_t)(a - obj), (void *)target,
				  ts->cls);
	}
}

void color_check_heap(uint64_t n)
{
	tri_assert(ld_relaxed(&tri_rt.phase) == PHASE_MARK_DONE);
	uint32_t hwm = ld_acquire(&tri_heap.span_hwm);
	for (uint32_t i = 0; i < hwm; i++) {
		struct span *s = &tri_heap.spans[i];
		if (ld_acquire(&s->state) != SPAN_INUSE || s->noscan)
			continue;
		for (uint32_t idx = 0; idx < s->nelems; idx++)
			if (!span_slot_free(s, idx) && !color_white(s, idx, n))
				check_object(s, span_slot_addr(s, idx), n);
	}
}
