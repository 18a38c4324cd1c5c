/* SPDX-License-Identifier: MIT */
/*
 * scan.h - marking: shading an address, scanning objects and ranges.
 *
 * Everything is conservative: any aligned word whose value falls inside an
 * allocated object marks that object (interior pointers included). Free
 * slots are never marked (span_slot_free), noscan spans are marked but not
 * scanned, and large objects are scanned in oblets of 128 KiB so that one
 * huge array does not make one long indivisible unit of work.
 *
 * Reads of heap words race with mutator stores by design: the write barrier
 * makes the result correct, and the loads are word-sized and aligned. The
 * scanning functions are therefore excluded from sanitizer instrumentation
 * (TRI_NO_SANITIZE, runtime/runtime.h): a conservative scanner reads stack slots and object
 * words that no C object owns at that moment.
 */
#ifndef TRI_SCAN_H
#define TRI_SCAN_H
#include "alloc/memcheck.h"
#include "alloc/span.h"
#include "mark/grey_queue.h"
#include "runtime/runtime.h"

#define OBLET_BYTES (128u << 10)

/* The word at a, read conservatively: racy and possibly uninitialised, by
 * design (memcheck is told so on our copy, alloc/memcheck.h). */
TRI_NO_SANITIZE static inline uintptr_t scan_word(uintptr_t a)
{
	uintptr_t v = ld_relaxed((uintptr_t *)a);
	return TRI_VG ? tri_vg_defined_word(v) : v;
}

/* Mark the object containing p, queueing it for scanning if it has
 * pointers. Returns true if this call marked it. */
static inline bool mark_ptr(uintptr_t p, struct gcwork *w)
{
	struct span *s;
	uint32_t idx;
	uintptr_t obj = object_lookup(p, &s, &idx);
	if (!obj || mark_is_set(s, idx))
		return false;
	/* Allocated black this cycle: already black, nothing to scan. Without
	 * this a mutator that keeps storing fresh objects made every barrier
	 * flush "newly mark" something and termination retried (122 rounds in
	 * 5 cycles in tests/test_collector). */
	if (span_black_allocated(s, idx, ld_relaxed(&tri_rt.cycle)))
		return false;
	if (!mark_test_and_set(s, idx))
		return false;
	if (!w->worker)
		w->produced = true;
	if (!s->noscan)
		gcwork_push(w, obj);
	return true;
}

/* Conservatively mark from every aligned word in [lo, hi). */
void scan_range(uintptr_t lo, uintptr_t hi, struct gcwork *w);
/* Shade p from outside a store (a value taken off a root queue) on t's
 * barrier buffer (mark/barrier.c; t's barrier is on). */
struct tri_thread;
void barrier_shade(struct tri_thread *t, uintptr_t p);
/* The barrier buffer (mark/barrier.c), called by the handshake actions
 * (runtime/handshake.h) and at detach (runtime/thread.c). */
/* Shade every buffered barrier entry of t now, on a gcwork of its own. */
void wbuf_flush(struct tri_thread *t);
/* Shade every buffered barrier entry into w (the mark gate permitting). */
void wbuf_mark_into(struct tri_thread *t, struct gcwork *w);
/* Scan one queued item (object or oblet) of span s; returns bytes scanned. */
size_t scan_item(uintptr_t item, struct span *s, struct gcwork *w);
/* A root range that appears while marking (a registered root range, a new
 * finalizer's referents, a new cleanup's arg) may be behind the root scan:
 * scan it now, through the mark gate (grey_queue.h). No-op unless the phase
 * is MARK. Any thread. */
void mark_late_range(uintptr_t lo, uintptr_t hi);
/* Scan the words of an object (without marking it): finalizer referents. */
void scan_object_referents(uintptr_t obj, struct gcwork *w);
/* Pop and scan until no work is left or budget bytes (0: no limit) are done. */
size_t mark_drain(struct gcwork *w, size_t budget);
#endif
