/* SPDX-License-Identifier: MIT */
/*
 * pacer.c - trigger, goal and assists (see pacer.h).
 */
#include "runtime/pacer.h"
#include "alloc/page_heap.h"
#include "mark/scan.h"
#include "runtime/cycle.h"
#include "runtime/probes.h"

static uint64_t scan_expected; /* scan work this cycle should need (last live) */
static uint64_t hard_goal;

#define ASSIST_MAX_BYTES (16u << 10) /* one assist scans at most this much (~15 us) */

static uint64_t compute_goal(uint64_t live)
{
	int pct = ld_relaxed(&tri_rt.opt.gc_percent);
	uint64_t goal = UINT64_MAX;
	if (pct >= 0)
		goal = live + live / 100 * (uint64_t)pct;
	if (goal < tri_rt.opt.min_heap && pct >= 0)
		goal = tri_rt.opt.min_heap;
	uint64_t limit = tri_rt.opt.memory_limit;
	if (limit) {
		uint64_t mapped = page_heap_resident_bytes();
		int64_t hl = ld_relaxed(&tri_stats.heap_live);
		uint64_t overhead = mapped > (uint64_t)(hl > 0 ? hl : 0) ? mapped - (uint64_t)(hl > 0 ? hl : 0) : 0;
		uint64_t lgoal = limit > overhead ? limit - overhead : 0;
		/* The limit is soft: never ask for less than live + 1/16. */
		if (lgoal < live + live / 16 + (1u << 20))
			lgoal = live + live / 16 + (1u << 20);
		if (lgoal < goal)
			goal = lgoal;
	}
	return goal;
}

void pacer_init(void)
{
	pacer_cycle_end(0);
}

void pacer_cycle_end(uint64_t live)
{
	uint64_t goal = compute_goal(live);
	uint64_t trigger = goal == UINT64_MAX ? UINT64_MAX : live + (goal - live) / 2;
	st_relaxed(&tri_stats.heap_marked, live);
	st_relaxed(&tri_stats.heap_goal, goal);
	st_relaxed(&tri_stats.heap_trigger, trigger);
	st_relaxed(&hard_goal, goal == UINT64_MAX ? UINT64_MAX : goal * 2);
}

void pacer_cycle_start(void)
{
	st_relaxed(&tri_cycle_scanned, 0);
	st_relaxed(&scan_expected, ld_relaxed(&tri_stats.heap_marked));
}

/*
 * Assists, as Go's pacer sizes them: the work an allocation owes is its
 * size times (scan work still expected) / (runway still left before the
 * goal), both measured now. When the background markers are ahead, the
 * debt is small or zero; when the heap nears the goal with work left, it
 * grows. One assist scans at most ASSIST_MAX_BYTES (tens of microseconds)
 * and carries the rest of the debt to the next refill, so
 * assists are short pauses rather than one long one.
 */
static void assist(struct tri_thread *t, size_t bytes)
{
	uint64_t expected = ld_relaxed(&scan_expected);
	uint64_t scanned = ld_relaxed(&tri_cycle_scanned);
	int64_t hl = ld_relaxed(&tri_stats.heap_live);
	uint64_t live = hl > 0 ? (uint64_t)hl : 0;
	uint64_t goal = ld_relaxed(&tri_stats.heap_goal);
	if (scanned < expected) {
		uint64_t left = expected - scanned;
		uint64_t runway = goal > live + (1u << 20) ? goal - live : (1u << 20);
		t->assist_debt += (int64_t)((double)bytes * ((double)left / (double)runway));
	}
	if (t->assist_debt <= 0)
		return;
	size_t budget = t->assist_debt > (int64_t)ASSIST_MAX_BYTES ? ASSIST_MAX_BYTES : (size_t)t->assist_debt;
	uint64_t t0 = tri_now_ns();
	TRI_PROBE1(assist__start, t->id);
	struct gcwork w;
	gcwork_init(&w, true);
	size_t done = mark_drain(&w, budget);
	gcwork_dispose(&w);
	t->assist_debt = done ? t->assist_debt - (int64_t)done : 0;
	if (t->assist_debt < 0)
		t->assist_debt = 0;
	uint64_t len = tri_now_ns() - t0;
	TRI_PROBE1(assist__end, t->id);
	fetch_add(&tri_stats.assist_ns, len);
	if (done)
		pause_record(t->ring, TRI_PAUSE_ASSIST, t0, len);
}

/*
 * The memory limit's collections, limited as Go limits them (its GC CPU
 * limiter caps the GC at 50% of the CPU and lets the heap exceed the limit
 * rather than thrash). Collecting frees dead objects but cannot return a
 * span that still holds one live object: on a fragmented heap the resident
 * memory can stay above the limit whatever the collector does, and forcing
 * a full collection at every span refill then spent all the time in GC
 * (4000 cycles for 20,000 allocations; issue 14 case 5). So a forced
 * collection that did not bring the resident heap back under the limit
 * itself (collecting did not help enough: fragmentation, or live + overhead
 * near or above the limit; each such collection reclaims little, and the
 * next refill crosses the 1.25x line again) closes the window for the next
 * one until both
 *  - as long again as it took has passed since it ended (forced collections
 *    that do not help take at most half the wall time, Go's 50% cap), and
 *  - another limit/8 bytes have been allocated;
 * the heap then runs over the limit, paced by the lowered goal. While
 * collections do bring the heap back under the line (garbage churn), the
 * limit wins and they are not rationed: that can cost more than half the
 * time (a difference from Go, docs/design.md section 18). The window also
 * gates the idle-phase trigger for the soft line. The two fields
 * are written by whichever allocating thread finished a forced collection
 * and read by all, relaxed: a stale value costs one extra or one missed
 * collection, never correctness.
 */
static uint64_t limit_open_ns;	  /* no forced collection before this time */
static uint64_t limit_open_alloc; /* ... nor before tri_stats.alloc_bytes reaches this */

static bool limit_window_open(void)
{
	return tri_now_ns() >= ld_relaxed(&limit_open_ns) &&
	       ld_relaxed(&tri_stats.alloc_bytes) >= ld_relaxed(&limit_open_alloc);
}

static void limit_collect(struct tri_thread *t, uint64_t limit)
{
	uint64_t t0 = tri_now_ns();
	tri_collect();
	uint64_t t1 = tri_now_ns();
	pause_record(t->ring, TRI_PAUSE_WAIT, t0, t1 - t0);
	bool helped = page_heap_resident_bytes() <= limit;
	st_relaxed(&limit_open_ns, helped ? 0 : t1 + (t1 - t0));
	st_relaxed(&limit_open_alloc, helped ? 0 : ld_relaxed(&tri_stats.alloc_bytes) + limit / 8);
}

void pacer_before_alloc(struct tri_thread *t, size_t bytes)
{
	int64_t live = ld_relaxed(&tri_stats.heap_live) + (int64_t)bytes;
	int phase = ld_relaxed(&tri_rt.phase);
	uint64_t limit = tri_rt.opt.memory_limit;
	/* Over the memory limit by a quarter, in any phase: wait for a full
	 * collection (a TRI_PAUSE_WAIT pause), as often as the window above
	 * allows. With more live than the limit, or a heap too fragmented to
	 * shrink, a forced collection does not help and the window rations the
	 * next: the limit turns soft without a collection per allocation.
	 * (Checking only while marking let an allocator spinning through 64 KiB
	 * objects grow the heap to 4x a 32 MiB limit while the coordinator was
	 * descheduled between phases. Skipping the collection when the last
	 * cycle's marked bytes exceeded the limit, as this did before, let a
	 * 16 MiB live set grow to 176 MiB under load: the objects allocated
	 * black during a slow concurrent cycle count as marked, so one slow
	 * cycle switched the limit off; tests/test_faults.) */
	if (limit && !t->in_callback && page_heap_resident_bytes() + bytes > limit + limit / 4 &&
	    limit_window_open()) {
		limit_collect(t, limit);
		return;
	}
	if (phase == PHASE_IDLE) {
		if ((live >= 0 && (uint64_t)live >= ld_relaxed(&tri_stats.heap_trigger)) ||
		    (limit && page_heap_resident_bytes() + bytes > limit && limit_window_open()))
			cycle_trigger();
		return;
	}
	if (phase != PHASE_MARK || !ld_relaxed(&tri_rt.mark_enabled))
		return;
	assist(t, bytes);
	bool over = live > 0 && (uint64_t)live > ld_relaxed(&hard_goal);
	if (over && !t->in_callback) {
		uint64_t t0 = tri_now_ns();
		cycle_wait_mark_done();
		pause_record(t->ring, TRI_PAUSE_WAIT, t0, tri_now_ns() - t0);
	}
}

void pacer_out_of_memory(struct tri_thread *t)
{
	(void)t;
	tri_collect();
	page_heap_scavenge(tri_now_ns(), true);
}
