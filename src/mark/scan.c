/* SPDX-License-Identifier: MIT */
/*
 * scan.c - conservative scanning of ranges and objects (see scan.h).
 */
#include "mark/scan.h"
#include "alloc/layout.h"
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

/* One pointer word of a typed block (layout_scan's visit); under valgrind
 * declared defined on its copy, like a conservative word. */
TRI_NO_SANITIZE static inline __attribute__((always_inline)) void scan_ptr_word(uintptr_t a, void *ctx)
{
	uintptr_t v = ld_relaxed((uintptr_t *)a);
	if (TRI_VG)
		v = tri_vg_defined_word(v);
	if (v - tri_heap.base < ld_relaxed(&tri_heap.committed))
		mark_ptr(v, ctx);
}

/* A typed block, or one oblet [lo, hi) of a large one: only the words its
 * layout names (alloc/layout.h). scanned_bytes counts the range covered,
 * as for a conservative block, so the pacer's scan work means the same. */
TRI_NO_SANITIZE static void scan_typed(uintptr_t obj, uintptr_t end, uintptr_t lo, uintptr_t hi, struct gcwork *w)
{
	if (lo == obj && hi == end)
		layout_scan(obj, end, obj, end, true, scan_ptr_word, w);
	else
		layout_scan(obj, end, lo, hi, false, scan_ptr_word, w);
	w->scanned_bytes += hi - lo;
}

size_t scan_item(uintptr_t item, struct span *s, struct gcwork *w)
{
	uintptr_t end;
	if (s->typed && s->cls != 0) {
		w->scanned_objects++;
		scan_typed(item, item + s->elemsize, item, item + s->elemsize, w);
		return s->elemsize;
	}
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
	if (s->typed)
		scan_typed(s->base, s->limit, item, end, w);
	else
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
	uintptr_t end = layout_block_end(s, base);
	if (s->typed)
		scan_typed(base, end, base, end, w);
	else
		scan_range(base, end, w);
}

void mark_late_range(uintptr_t lo, uintptr_t hi)
{
	if (ld_seq(&tri_rt.phase) != PHASE_MARK || !mark_gate_enter())
		return;
	struct gcwork w;
	gcwork_init(&w, false);
	scan_range(lo, hi, &w);
	gcwork_dispose(&w);
	mark_gate_exit();
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
 * A typed object's layout word is at its end, usually in another cache line
 * than its first word (for the 96-byte GCBench node in the 112-byte class,
 * the line after): the span is looked up when the item enters the ring, and
 * the layout word is prefetched too. That miss was 59% of scan_typed's
 * samples without it (perf/layoutbench, one worker: 94 ms of CPU per
 * collection without, 75 with, against 101 conservative). The ring keeps
 * the span, so scan_item does not look it up again.
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
	struct span *ring_span[PREFETCH_RING];
	unsigned head = 0, held = 0, tick = 0;
	size_t done = 0;
	for (;;) {
		struct wblock *b = w->cur;
		uintptr_t item;
		struct span *s;
		if (likely(b && b->n)) {
			item = b->obj[--b->n];
		} else if (held) {
			goto scan_oldest;
		} else if (!gcwork_pop(w, &item)) {
			break;
		}
		__builtin_prefetch((const void *)item);
		s = span_of(item);
		if (s->typed && s->cls)
			__builtin_prefetch((const void *)(item + s->elemsize - LAYOUT_HEADER));
		unsigned slot = (head + held++) & (PREFETCH_RING - 1);
		ring[slot] = item;
		ring_span[slot] = s;
		if (held < PREFETCH_RING)
			continue;
	scan_oldest:
		item = ring[head];
		s = ring_span[head];
		head = (head + 1) & (PREFETCH_RING - 1);
		held--;
		done += scan_item(item, s, w);
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
