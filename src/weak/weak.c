/* SPDX-License-Identifier: MIT */
/*
 * weak.c - tri_weak_make, tri_weak_get, tri_weak_equal (see weak.h).
 *
 * How weak_cell_get decides, by the phase it reads (cycle number first,
 * then phase, both seq_cst; no safepoint in between or after):
 *
 *  IDLE   every span was swept by the last cycle (phase IDLE is stored after
 *         the sweep ended), so the cell is current: obj or 0.
 *  MARK   the last sweep ended too, so the cell is current. The object may be
 *         white and reachable only through this cell; the caller's stack
 *         may already be scanned and the deletion barrier does not cover an
 *         object that was only weakly reachable at the snapshot. So unless
 *         it is already marked (or allocated black), it is marked now, inside
 *         the mark gate: a mark after the termination instant sets `dirty`
 *         and the gate then refuses to close (another termination round
 *         scans it). A barrier-buffer shade would not do: it may be flushed
 *         after round B, when the gate drops it (Go blocks weak-to-strong
 *         conversions during mark termination for the same reason).
 *         If the gate refuses (marking ended meanwhile), go on as below.
 *  MARK_DONE, SWEEP  cycle n's marking is final. Read the object's mark bit
 *         and black range, then (acquire fence) the span's weak_cycle. If
 *         weak_cycle >= n the span's sweep for n already cleared the cells
 *         of its dead objects: re-read the cell. Otherwise the mark bits read
 *         were the ones that sweep decides from (it publishes weak_cycle
 *         before it clears them, with a release fence between), so: marked or
 *         black means live, anything else dead (NULL; the sweep clears the
 *         cell). That is what "refuse to resurrect an object the sweeper has
 *         decided is dead" means here; an object with a finalizer that has
 *         not run is just as dead (its weak pointers read NULL from then on,
 *         before the finalizer is queued).
 *
 * Why the phase read stays valid: a cycle's stack-scan and sweep handshakes
 * need this thread at a safepoint. Read MARK: marking can end while we are
 * inside (the gate tells), but no later cycle can start. Read MARK_DONE or
 * SWEEP after reading cycle n: it is cycle n's (cycle n + 1 is stored before
 * its phase MARK), and cycle n + 1 cannot mark anything before our next
 * safepoint (its root scan follows the barrier-on handshake).
 */
#include "weak/weak.h"
#include "alloc/special.h"
#include "mark/grey_queue.h"
#include "mark/scan.h"
#include "runtime/preempt.h"
#include "runtime/thread.h"

/* The handle of the tri_alloc(0) address: not a heap object, never dies. */
static struct weak_cell zero_cell;

/* Mark p through the mark gate if marking is on; false if it ended. */
static bool gate_mark(uintptr_t p)
{
	if (!mark_gate_enter())
		return false;
	struct gcwork w;
	gcwork_init(&w, false);
	mark_ptr(p, &w);
	gcwork_dispose(&w);
	mark_gate_exit();
	return true;
}

static bool marked_or_black(struct span *s, uint32_t idx, uint64_t n)
{
	return mark_is_set(s, idx) || span_black_allocated(s, idx, n);
}

uintptr_t weak_cell_get(struct weak_cell *c)
{
	uint64_t n = ld_seq(&tri_rt.cycle);
	int ph = ld_seq(&tri_rt.phase);
	uintptr_t b = ld_acquire(&c->obj);
	if (!b || ph == PHASE_IDLE || c == &zero_cell)
		return b;
	struct span *s = span_of(b);
	uint32_t idx = span_index(s, b);
	if (ph == PHASE_MARK) {
		if (marked_or_black(s, idx, n) || gate_mark(b))
			return b;
		n = ld_seq(&tri_rt.cycle); /* marking of this cycle just ended */
	}
	bool live = marked_or_black(s, idx, n);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (ld_acquire(&s->weak_cycle) >= n)
		return ld_acquire(&c->obj); /* swept for n: the cell is current */
	return live ? b : 0;
}

tri_weak tri_weak_make(void *p)
{
	NO_PREEMPT();
	tri_weak w = {0};
	if (!p)
		return w;
	thread_require("tri_weak_make");
	if (p == (void *)tri_zerobase) {
		st_relaxed(&zero_cell.obj, (uintptr_t)tri_zerobase);
		w.cell_ = &zero_cell;
		return w;
	}
	struct span *s;
	uint32_t idx;
	uintptr_t base = object_lookup((uintptr_t)p, &s, &idx);
	if (!base)
		tri_fatal("tri_weak_make: pointer not in allocated block (%p)", p);
	w.off_ = (uintptr_t)p - base;
	struct weak_cell *c = special_weak_find(s, idx);
	if (!c) {
		/* May reach a safepoint; p (an argument, live below) keeps the
		 * object, its span and idx valid. */
		struct weak_cell *fresh = tri_alloc_atomic(sizeof *fresh);
		c = special_weak_find_or_add(s, idx, base, fresh);
		/* A new cell during marking: the root scan may have passed the
		 * specials, and once the caller drops the handle only the
		 * record refers to it (the record must never outlive it). */
		if (c == fresh && ld_seq(&tri_rt.phase) == PHASE_MARK)
			gate_mark((uintptr_t)fresh);
		tri_keep_alive(fresh);
	}
	tri_keep_alive(p);
	w.cell_ = c;
	return w;
}

void *tri_weak_get(tri_weak w)
{
	NO_PREEMPT();
	struct weak_cell *c = w.cell_;
	if (!c)
		return NULL;
	thread_require("tri_weak_get");
#ifdef TRI_DEBUG
	if (c != &zero_cell) {
		struct span *s;
		uint32_t idx;
		if (object_lookup((uintptr_t)c, &s, &idx) != (uintptr_t)c || !s->noscan ||
		    s->elemsize != sizeof *c)
			tri_fatal("tri_weak_get: not a weak handle (%p is not a handle's cell)", (void *)c);
	}
#endif
	uintptr_t b = weak_cell_get(c);
	return b ? (void *)(b + w.off_) : NULL;
}

int tri_weak_equal(tri_weak a, tri_weak b)
{
	return a.cell_ == b.cell_ && a.off_ == b.off_;
}
