/* SPDX-License-Identifier: MIT */
/*
 * barrier.c - the write barrier: Yuasa deletion plus Dijkstra insertion.
 *
 * While a thread's barrier_on is set (from its "barrier on" handshake to its
 * "sweep" handshake), every pointer store through tri_store shades the old
 * value of the slot and the new value, then stores. Shading appends to the
 * thread's buffer (wbuf); the buffer is flushed (each entry marked, new grey
 * objects published) when it fills and at every termination handshake.
 *
 * Why both halves: the deletion half keeps the snapshot at the start of
 * marking intact (no object reachable then is lost by overwriting the last
 * pointer to it), which is what lets a thread's stack be scanned once and
 * never again; the insertion half covers a pointer copied into the heap
 * from a stack that is not scanned yet (before the thread's stack-scan
 * handshake), so no rescan of stacks is needed at the end (Go's hybrid
 * barrier, proposal 17503).
 *
 * Invariants kept here:
 *  - A barrier action is atomic with respect to handshakes: actions run only
 *    at the owner's safepoints, never between the shade and the store.
 *  - Entries flushed after marking terminated are dropped: they can only be
 *    objects already marked (everything reachable was marked at termination
 *    and nothing white becomes reachable after it). A flush marks inside the
 *    mark gate (grey_queue.h), so it never sets a bit once sweeping may run.
 *  - tri_barrier_enabled_ (the inline fast-path flag) is set before the
 *    barrier-on handshake and cleared after the sweep handshake completes, so
 *    every thread with barrier_on set reaches the slow path.
 */
#include "mark/scan.h"
#include "runtime/preempt.h"
#include "runtime/thread.h"
#include "runtime/handshake.h"
#include <string.h>

volatile int tri_barrier_enabled_;

void wbuf_mark_into(struct tri_thread *t, struct gcwork *w)
{
	uint32_t n = t->wbuf_n;
	t->wbuf_n = 0;
	if (!n || !mark_gate_enter())
		return;
	for (uint32_t i = 0; i < n; i++)
		mark_ptr(t->wbuf[i], w);
	mark_gate_exit();
}

void wbuf_flush(struct tri_thread *t)
{
	if (!t->wbuf_n)
		return;
	struct gcwork w;
	gcwork_init(&w, false);
	wbuf_mark_into(t, &w);
	gcwork_dispose(&w);
}

static inline void shade(struct tri_thread *t, uintptr_t p)
{
	if (p - tri_heap.base < ld_relaxed(&tri_heap.committed)) {
		t->wbuf[t->wbuf_n++] = p;
		if (unlikely(t->wbuf_n == WBUF_CAP)) {
			/* Marking work the barrier makes the mutator do: recorded
			 * as an assist when it takes longer than a stall. */
			uint64_t t0 = tri_now_ns();
			wbuf_flush(t);
			pause_stall(TRI_PAUSE_ASSIST, t0);
		}
	}
}

static inline struct tri_thread *barrier_enter(const char *fn)
{
	struct tri_thread *t = thread_require(fn);
	if (unlikely(ld_relaxed(&t->slow) & SLOW_POLL))
		handshake_safepoint_slow(t);
	return t;
}

void tri_store_slow_(void **slot, const void *value)
{
	NO_PREEMPT();
	struct tri_thread *t = barrier_enter("tri_store");
	if (t->barrier_on) {
		/* Acquire: the old value was published by another thread's
		 * release store, and shading reads its span's metadata
		 * (mark bits, black range) that thread's sweep wrote. */
		shade(t, (uintptr_t)ld_acquire(slot));
		shade(t, (uintptr_t)value);
	}
	st_release(slot, (void *)value);
}

int tri_cas(void *slot, const void *expected, const void *desired)
{
	NO_PREEMPT();
	void **s = slot;
	void *exp = (void *)expected;
	if (ld_relaxed(&tri_barrier_enabled_)) {
		struct tri_thread *t = barrier_enter("tri_cas");
		if (t->barrier_on) {
			shade(t, (uintptr_t)expected);
			shade(t, (uintptr_t)desired);
		}
	}
	return __atomic_compare_exchange_n(s, &exp, (void *)desired, 0, __ATOMIC_SEQ_CST,
					   __ATOMIC_SEQ_CST);
}

void *tri_memmove(void *dst, const void *src, size_t n)
{
	NO_PREEMPT();
	if (((uintptr_t)dst | (uintptr_t)src) & (sizeof(void *) - 1)) {
		if (n >= sizeof(void *))
			tri_fatal("tri_memmove: dst %p and src %p must be 8-byte aligned", dst, src);
		return memmove(dst, src, n);
	}
	size_t words = n / sizeof(void *);
	void **d = dst;
	void *const *s = src;
	if (ld_relaxed(&tri_barrier_enabled_)) {
		struct tri_thread *t = barrier_enter("tri_memmove");
		if (t->barrier_on) {
			for (size_t i = 0; i < words; i++) {
				shade(t, (uintptr_t)ld_acquire(&d[i])); /* as tri_store */
				shade(t, (uintptr_t)ld_acquire(&s[i]));
			}
		}
	}
	/* memmove semantics for every overlap: each byte is read before any
	 * store could overwrite it. Copying upwards (dst <= src, or no
	 * overlap), the words go first and the byte tail (the highest bytes)
	 * last; copying downwards (src < dst overlapping), the tail goes first,
	 * then the words from the top. The tail after a downward word copy read
	 * source bytes the words had already overwritten (issue 14, case 3). */
	size_t tail = n % sizeof(void *);
	char *dt = (char *)dst + n - tail;
	const char *stl = (const char *)src + n - tail;
	if ((uintptr_t)dst <= (uintptr_t)src || (uintptr_t)dst >= (uintptr_t)src + n) {
		for (size_t i = 0; i < words; i++)
			st_relaxed(&d[i], ld_relaxed(&s[i]));
		if (tail)
			memmove(dt, stl, tail);
	} else {
		if (tail)
			memmove(dt, stl, tail);
		for (size_t i = words; i-- > 0;)
			st_relaxed(&d[i], ld_relaxed(&s[i]));
	}
	return dst;
}

void barrier_shade(struct tri_thread *t, uintptr_t p)
{
	shade(t, p);
}
