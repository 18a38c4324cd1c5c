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

/*
 * The prefetch ring. A popped item is not scanned at once: its first cache
 * line is prefetched and the item waits in a small FIFO while the
 * PREFETCH_RING - 1 items popped before it are scanned, so the load of its
 * words no longer stalls the marker (scanning a heap larger than the caches
 * is bound by those misses: 77% of scan_range's samples were the first load
 * of an object's word). bdwgc's GC_mark_from and Go's gcDrain prefetch the
 * same way.
 *
 * Invariant (termination, grey_queue.h): an item in the ring is grey and
 * held by this marker, which stays counted busy while it holds any. So the
 * marker takes work from the global list (gcwork_pop, the only call that
 * can leave busy) only when both its block and its ring are empty, and on
 * the budget exit it pushes the ring back into its block before releasing
 * it. Nothing stays in the ring after mark_drain returns.
 */
#define PREFETCH_RING 16 /* a power of two */

size_t mark_drain(struct gcwork *w, size_t budget)
{
	uintptr_t ring[PREFETCH_RING];
	unsigned head = 0, held = 0, tick = 0;
	size_t done = 0;
	for (;;) {
		struct wblock *b = w->cur;
		uintptr_t item;
		if (likely(b && b->n)) {
			item = b->obj[--b->n];
		} else if (held) {
			goto scan_oldest;
		} else if (!gcwork_pop(w, &item)) {
			break;
		}
		__builtin_prefetch((const void *)item);
		ring[(head + held++) & (PREFETCH_RING - 1)] = item;
		if (held < PREFETCH_RING)
			continue;
	scan_oldest:
		item = ring[head];
		head = (head + 1) & (PREFETCH_RING - 1);
		held--;
		done += scan_item(item, w);
		if (w->scanned_bytes - w->published >= (64u << 10)) {
			fetch_add(&tri_cycle_scanned, w->scanned_bytes - w->published);
			w->published = w->scanned_bytes;
		}
		if (unlikely(++tick % SHARE_CHECK == 0))
			gcwork_share(w);
		if (budget && done >= budget) {
			while (held) {
				gcwork_push(w, ring[head]);
				head = (head + 1) & (PREFETCH_RING - 1);
				held--;
			}
			gcwork_release(w);
			break;
		}
	}
	tri_assert(held == 0);
	return done;
}
