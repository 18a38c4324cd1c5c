/*
 * scan.c - conservative scanning of ranges and objects (see scan.h).
 */
#include "mark/scan.h"
#include "alloc/memcheck.h"
#include "runtime/runtime.h"

/* vg: running under valgrind; every word is declared defined on its copy
 * (alloc/memcheck.h) before it is compared or used as an address. The
 * native instance (vg false) is the plain loop. */
TRI_NO_SANITIZE static inline __attribute__((always_inline)) void
scan_words(uintptr_t lo, uintptr_t hi, struct gcwork *w, bool vg)
{
	const uintptr_t base = tri_heap.base;
	const uintptr_t committed = ld_relaxed(&tri_heap.committed);
	for (uintptr_t a = lo; a + sizeof(uintptr_t) <= hi; a += sizeof(uintptr_t)) {
		uintptr_t v = ld_relaxed((uintptr_t *)a);
		if (vg)
			v = tri_vg_defined_word(v);
		if (v - base < committed)
			mark_ptr(v, w);
	}
}

TRI_NO_SANITIZE void scan_range(uintptr_t lo, uintptr_t hi, struct gcwork *w)
{
	lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
	if (TRI_VG)
		scan_words(lo, hi, w, true);
	else
		scan_words(lo, hi, w, false);
	w->scanned_bytes += hi > lo ? hi - lo : 0;
}

size_t scan_item(uintptr_t item, struct gcwork *w)
{
	struct span *s = span_of(item);
	uintptr_t end;
	if (s->cls == 0) {
		end = s->limit;
		if (item == s->base && end - item > OBLET_BYTES) {
			for (uintptr_t o = item + OBLET_BYTES; o < end; o += OBLET_BYTES)
				gcwork_push(w, o);
		}
		if (end - item > OBLET_BYTES)
			end = item + OBLET_BYTES;
	} else {
		end = item + s->elemsize;
	}
	w->scanned_objects++;
	scan_range(item, end, w);
	return end - item;
}

void scan_object_referents(uintptr_t obj, struct gcwork *w)
{
	struct span *s;
	uint32_t idx;
	uintptr_t base = object_lookup(obj, &s, &idx);
	if (!base || s->noscan)
		return;
	scan_range(base, base + s->elemsize, w);
}

size_t mark_drain(struct gcwork *w, size_t budget)
{
	size_t done = 0;
	uintptr_t item;
	while (gcwork_pop(w, &item)) {
		done += scan_item(item, w);
		if (w->scanned_bytes - w->published >= (64u << 10)) {
			fetch_add(&tri_cycle_scanned, w->scanned_bytes - w->published);
			w->published = w->scanned_bytes;
		}
		if (budget && done >= budget) {
			gcwork_release(w);
			break;
		}
	}
	return done;
}
