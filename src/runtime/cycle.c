/* SPDX-License-Identifier: MIT */
/*
 * cycle.c - the collector cycle without a global stop.
 *
 * One coordinator thread runs cycles one after another, when the pacer
 * triggers one or tri_collect asks. Cycle N:
 *
 *  1. The previous cycle's sweep is complete (each cycle sweeps to the end
 *     before it is counted complete): every mark bit is clear.
 *  2. phase = MARK, the inline barrier flag is raised, handshake
 *     HS_BARRIER_ON. No object is blackened (scanned) before every thread
 *     acknowledged: mark_enabled is raised only after the handshake, and only
 *     workers with mark_enabled scan. (Greying before that is harmless.)
 *  3. Roots: registered ranges, the referents of every finalizer object,
 *     every cleanup argument, every queued finalizer and cleanup.
 *  4. mark_black = 1, handshake HS_SCAN_STACK: each thread starts allocating
 *     black and scans its own stack and registers (or the coordinator scans
 *     them for a thread in a blocking region). A stack is scanned exactly once
 *     per cycle; after that the hybrid barrier keeps it black.
 *  5. Termination (no global stop), repeated until clean:
 *       drain until no grey work and no busy marker;
 *       round A: HS_FLUSH (every barrier buffer into the marker);
 *       drain again; dirty = 0 (instant I);
 *       round B: HS_FLUSH; any new mark anywhere since I sets dirty.
 *     If dirty is still 0 and the queue is idle, then at I there was no grey
 *     object (queue empty, markers idle, and every buffered shade was of an
 *     already-marked object, else round B would have marked it and set
 *     dirty); stacks are black and new objects black: marking is complete.
 *  6. The mark gate closes (mark_gate_try_close: phase = MARK_DONE once
 *     nobody inside marked anything since I; a late root scan - a range
 *     registered or a thread attached after round B - sends the loop back
 *     for another round instead), then mark_enabled = 0:
 *     no mark bit is set after this point (later barrier flushes are
 *     dropped; they can only name marked objects). debug=checkmark verifies
 *     the mark here, with the world stopped.
 *  7. Sweep start: sweep_cycle = N, every listed span becomes unswept;
 *     phase = SWEEP; handshake HS_SWEEP: each thread turns its barrier off,
 *     stops allocating black and hands its cached spans back (they are swept
 *     too). Threads allocate from swept spans only from then on.
 *  8. The coordinator sweeps all remaining spans (mutators sweep lazily
 *     meanwhile); finalizers and cleanups of dead objects are queued; the
 *     pacer sets the next goal from the live bytes the sweep kept.
 */
#include "runtime/cycle.h"
#include "runtime/preempt.h"
#include "alloc/central.h"
#include "alloc/page_heap.h"
#include "alloc/special.h"
#include "mark/checkmark.h"
#include "mark/color.h"
#include "mark/roots.h"
#include "mark/data_roots.h"
#include "mark/scan.h"
#include "mark/workers.h"
#include "runtime/external.h"
#include "runtime/gccpu.h"
#include "runtime/gctrace.h"
#include "runtime/handshake.h"
#include "runtime/pacer.h"
#include "runtime/probes.h"
#include "runtime/trace.h"
#include "sweep/sweep.h"
#include <errno.h>
#include <stdio.h>




void (*cycle_test_hook)(int point);

static void test_point(int point)
{
	void (*fn)(int) = ld_acquire(&cycle_test_hook);
	if (unlikely(fn != NULL))
		fn(point);
}
struct cycle_callbacks cycle_callbacks; /* see cycle.h: set once by tri_init */

void cycle_trigger(void)
{
	if (ld_relaxed(&tri_rt.trigger_pending))
		return;
	if (__atomic_exchange_n(&tri_rt.trigger_pending, 1, __ATOMIC_SEQ_CST))
		return;
	pthread_mutex_lock(&tri_rt.cycle_lock);
	pthread_cond_signal(&tri_rt.cycle_cond);
	pthread_mutex_unlock(&tri_rt.cycle_lock);
}

static void drain_until_idle(struct gcwork *w)
{
	for (;;) {
		mark_drain(w, 0);
		if (grey_queue_wait())
			return;
	}
}

static void broadcast_progress(void)
{
	pthread_mutex_lock(&tri_rt.cycle_lock);
	pthread_cond_broadcast(&tri_rt.cycle_done);
	pthread_mutex_unlock(&tri_rt.cycle_lock);
}

static void run_cycle(uint64_t n, bool forced)
{
	uint64_t t0 = tri_now_ns();
	struct gctrace_cycle gt;
	gctrace_begin(&gt, n, forced, t0);
	TRI_PROBE2(cycle__start, n, forced);

	st_seq(&tri_rt.cycle, n);
	st_seq(&tri_grey.dirty, 0);
	pacer_cycle_start();

	/* 2. Barrier on everywhere before anything is blackened. */
	st_seq(&tri_rt.phase, PHASE_MARK);
	TRI_PROBE2(phase__change, n, ld_seq(&tri_rt.phase));
	__atomic_store_n(&tri_barrier_enabled_, 1, __ATOMIC_SEQ_CST);
	fence_seq();
	handshake(HS_BARRIER_ON);
	uint64_t t_barrier = tri_now_ns();
	gctrace_at(&gt, GT_BARRIER, t_barrier);
	st_seq(&tri_rt.mark_enabled, 1);
	mark_workers_wake();

	/* 3. Global roots. */
	struct gcwork roots;
	gcwork_init(&roots, false);
	roots_scan(&roots);
	data_roots_scan(&roots);
	specials_mark_roots(&roots);
	cycle_callbacks.mark_roots(&roots);
	gcwork_dispose(&roots);

	/* 4. Stacks, once each; from here on threads allocate black. */
	st_seq(&tri_rt.mark_black, 1);
	fence_seq();
	handshake(HS_SCAN_STACK);
	test_point(CYCLE_AT_STACKS_SCANNED);

	/* 5. Termination without a global stop. */
	struct gcwork cw;
	gcwork_init(&cw, true);
	unsigned rounds = 0;
	for (;;) {
		rounds++;
		drain_until_idle(&cw);
		handshake(HS_FLUSH);
		drain_until_idle(&cw);
		if (!grey_queue_idle_reset_dirty())
			continue; /* new work arrived since the drain */
		handshake(HS_FLUSH);
		if (!ld_seq(&tri_grey.dirty) && grey_queue_idle() && mark_gate_try_close())
			break; /* 6: phase is MARK_DONE, the gate closed */
	}
	gcwork_dispose(&cw);
	fetch_add(&tri_stats.termination_rounds, rounds);
	int64_t heap_at_termination = ld_relaxed(&tri_stats.heap_live);
	uint64_t t_mark = tri_now_ns();
	gctrace_at(&gt, GT_MARK, t_mark);

	/* 6. Marking is over: the gate closed in the loop above (a late root
	 * scan reopens it for another round instead, mark/grey_queue.h). */
	st_seq(&tri_rt.mark_enabled, 0);
	TRI_PROBE2(phase__change, n, ld_seq(&tri_rt.phase));
	broadcast_progress();
	if (tri_rt.opt.checkmark)
		checkmark_run();
	if (TRI_DEBUG_LEVEL >= 3)
		color_check_heap(n);
	test_point(CYCLE_AT_MARK_DONE);

	/* 7. Sweep start and the sweep handshake. */
	st_seq(&tri_sweep_live_bytes, 0);
	st_seq(&tri_sweep_marked_bytes, 0);
	central_sweep_start(n);
	st_seq(&tri_rt.phase, PHASE_SWEEP);
	TRI_PROBE2(phase__change, n, ld_seq(&tri_rt.phase));
	handshake(HS_SWEEP);
	__atomic_store_n(&tri_barrier_enabled_, 0, __ATOMIC_SEQ_CST);
	st_seq(&tri_rt.mark_black, 0);
	uint64_t t_hs3 = tri_now_ns();
	gctrace_at(&gt, GT_SWEEP_HS, t_hs3);
	test_point(CYCLE_AT_SWEEP_START);

	/* 8. Sweep everything left, then pace the next cycle. */
	sweep_all();
	if (TRI_DEBUG_LEVEL >= 2 || tri_rt.opt.checkmark)
		heap_check();
	uint64_t live = ld_seq(&tri_sweep_live_bytes);
	pacer_cycle_end(live);
	st_seq(&tri_rt.phase, PHASE_IDLE);
	TRI_PROBE2(phase__change, n, ld_seq(&tri_rt.phase));
	uint64_t t_end = tri_now_ns();

	uint64_t limit = tri_rt.opt.memory_limit;
	page_heap_scavenge(tri_now_ns(), limit && page_heap_resident_bytes() > limit);

	if (tri_trace_on) {
		trace_complete("GC cycle", "gc", 0, t0, t_end - t0, n);
		trace_complete("barrier on", "phase", 0, t0, t_barrier - t0, n);
		trace_complete("mark", "phase", 0, t_barrier, t_mark - t_barrier, n);
		trace_complete("sweep handshake", "phase", 0, t_mark, t_hs3 - t_mark, n);
		trace_complete("sweep", "phase", 0, t_hs3, t_end - t_hs3, n);
		trace_counter("heap live", t_end, live);
		trace_counter("heap goal", t_end, ld_relaxed(&tri_stats.heap_goal));
		trace_flush();
	}
	fetch_add(&tri_stats.cycles, 1);
	fetch_add(&tri_stats.mark_time_ns, t_mark - t_barrier);
	st_relaxed(&tri_stats.mark_last_ns, t_mark - t_barrier);
	st_relaxed(&tri_stats.sweep_last_ns, t_end - t_hs3);
	TRI_PROBE2(cycle__end, n, live);
	cycle_callbacks.check_report(n);

	gt.rounds = rounds;
	gt.heap1 = heap_at_termination;
	gt.heap2 = ld_seq(&tri_sweep_marked_bytes);
	gt.kept = live;
	gctrace_end(&gt, t_end);
}

static bool auto_cycle_due(void)
{
	if (!ld_seq(&tri_rt.trigger_pending))
		return false;
	st_seq(&tri_rt.trigger_pending, 0);
	int64_t live = ld_relaxed(&tri_stats.heap_live);
	return (live >= 0 && (uint64_t)live >= ld_relaxed(&tri_stats.heap_trigger)) ||
	       external_cycle_due(); /* a resource counter asked (external.c) */
}

/*
 * The periodic cycle (Go's forcegcperiod, 2 minutes there and here): a
 * program that allocates too little to reach its trigger still gets a
 * collection every gc_period_ms, so cleanups and finalizers of objects it
 * dropped (sockets, descriptors: docs/kvserver.md's --forget) run within
 * that bound. last_cycle_end_ns is written and read by the coordinator
 * only; the timed wait below wakes it every 100 ms to check.
 */
static uint64_t last_cycle_end_ns;

static bool periodic_cycle_due(void)
{
	uint64_t period = tri_rt.opt.gc_period_ms;
	/* as in Go, gc_percent=off turns the periodic cycle off too */
	if (!period || ld_relaxed(&tri_rt.opt.gc_percent) < 0 || tri_now_ns() - last_cycle_end_ns < period * 1000000ull)
		return false;
	fetch_add(&tri_stats.periodic_cycles, 1);
	return true;
}

static void *coordinator_main(void *arg)
{
	(void)arg;
	rcu_register_thread();
	gccpu_register_self();
	last_cycle_end_ns = tri_now_ns();
	for (;;) {
		pthread_mutex_lock(&tri_rt.cycle_lock);
		bool forced, automatic;
		for (;;) {
			forced = tri_rt.requested > tri_rt.started;
			automatic = !forced && (auto_cycle_due() || periodic_cycle_due());
			if ((forced || automatic) && !tri_rt.forking)
				break;
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			int r = pthread_cond_timedwait(&tri_rt.cycle_cond, &tri_rt.cycle_lock, &ts);
			if (r == ETIMEDOUT) {
				pthread_mutex_unlock(&tri_rt.cycle_lock);
				handshake_watchdog();
				page_heap_scavenge(tri_now_ns(), false);
				pthread_mutex_lock(&tri_rt.cycle_lock);
			}
		}
		uint64_t n = ++tri_rt.started;
		pthread_mutex_unlock(&tri_rt.cycle_lock);
		run_cycle(n, forced);
		last_cycle_end_ns = tri_now_ns();
		/* Also between back-to-back cycles: the idle wait above may
		 * never time out while a program collects continually. */
		handshake_watchdog();
		pthread_mutex_lock(&tri_rt.cycle_lock);
		tri_rt.completed = n;
		pthread_cond_broadcast(&tri_rt.cycle_done);
		pthread_mutex_unlock(&tri_rt.cycle_lock);
	}
	return NULL;
}

/* After fork, in the child: the coordinator is gone; start a new one. */
void cycle_after_fork_child(void)
{
	tri_rt.forking = 0;
	if (cycle_init())
		tri_fatal("tricolor: fork: cannot restart the collector in the child");
}

int cycle_init(void)
{
	/* The hooks the layers above pass in (cycle.h, sweep.h, handshake.h)
	 * are all set before the coordinator starts: a missing one would
	 * silently drop callback roots or reports, so it aborts here. */
	if (!cycle_callbacks.mark_roots || !cycle_callbacks.check_report ||
	    !cycle_callbacks.visit_queued || !cycle_callbacks.drain ||
	    !sweep_dead_hook || !handshake_watchdog_hook)
		tri_fatal("tricolor: cycle_init: a hook of the layer above is not set (runtime/init.c)");
	return tri_spawn_thread(coordinator_main, NULL, "tri-coord", -1);
}

void tri_collect(void)
{
	NO_PREEMPT();
	struct tri_thread *t = thread_require("tri_collect");
	(void)t;
	fetch_add(&tri_stats.forced_cycles, 1);
	tri_blocking_enter();
	pthread_mutex_lock(&tri_rt.cycle_lock);
	uint64_t target = tri_rt.started + 1;
	if (tri_rt.requested < target)
		tri_rt.requested = target;
	pthread_cond_signal(&tri_rt.cycle_cond);
	while (tri_rt.completed < target)
		pthread_cond_wait(&tri_rt.cycle_done, &tri_rt.cycle_lock);
	pthread_mutex_unlock(&tri_rt.cycle_lock);
	tri_blocking_leave();
}

void cycle_wait_mark_done(void)
{
	tri_blocking_enter();
	pthread_mutex_lock(&tri_rt.cycle_lock);
	while (ld_seq(&tri_rt.phase) == PHASE_MARK)
		pthread_cond_wait(&tri_rt.cycle_done, &tri_rt.cycle_lock);
	pthread_mutex_unlock(&tri_rt.cycle_lock);
	tri_blocking_leave();
}

int tri_gc_percent(int percent)
{
	NO_PREEMPT();
	tri_require_init("tri_gc_percent");
	int old = __atomic_exchange_n(&tri_rt.opt.gc_percent, percent < 0 ? -1 : percent,
				      __ATOMIC_SEQ_CST);
	pacer_cycle_end(ld_relaxed(&tri_stats.heap_marked));
	return old;
}
