/* SPDX-License-Identifier: MIT */
/*
 * handshake.c - ragged handshakes, safepoints and blocking regions (see
 * handshake.h for the protocol).
 *
 * Invariants:
 *  - hs_action is written only by the coordinator, before any thread's
 *    hs_req is raised to the new epoch, and not changed until every thread
 *    acknowledged: a thread that reads hs_req == e then hs_action sees e's.
 *  - A thread's record is touched by the collector only while the thread is
 *    BLOCKING and the collector holds it ACTING (CAS, acquire): the owner's
 *    writes before tri_blocking_enter's release store are visible, and the
 *    owner cannot run until the collector's release store of BLOCKING.
 *  - The owner clears SLOW_POLL (seq_cst) before reading hs_req (seq_cst);
 *    the collector writes hs_req before setting SLOW_POLL: a posted action is
 *    never missed (either the flag survives or the owner sees the epoch).
 */
#include "runtime/handshake.h"
#include "alloc/os_mem.h"
#include "alloc/tcache.h"
#include "mark/scan.h"
#include "runtime/preempt.h"
#include "runtime/probes.h"
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void (*handshake_watchdog_hook)(void); /* see handshake.h: set once by tri_init */
static uint64_t hs_epoch;	/* coordinator only */
static int hs_action;		/* see invariants */
static int world_stopped;	/* seq_cst; set by handshake_world_stop, cleared by handshake_world_start */
/* BLOCKING threads held ACTING while stopped; coordinator only. mmap'd
 * scratch, not malloc: a thread parked by the stop may hold a malloc lock
 * (issue 14 case 4). held_bytes is the mapping's length. */
static struct tri_thread **held;
static size_t nheld, held_cap, held_bytes;

/*
 * The coordinator's wait for one thread, by elapsed time rather than by
 * count (a count of 256 spins, 192 of them sched_yield, took milliseconds on
 * a loaded machine before the preemption clock even started): spin for
 * HS_SPIN_NS (a thread at a safepoint answers within that), yield the core
 * until HS_YIELD_NS, then sleep in steps of at most 50 us. The preemption
 * clock (wait_for) runs from the first iteration.
 */
#define HS_SPIN_NS 20000ull
#define HS_OFFCPU_NS 50000ull /* /gc/pauses/handshake/descheduled */

/* This thread's CPU time (CLOCK_THREAD_CPUTIME_ID, async-signal-safe). */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#define HS_YIELD_NS 200000ull

static void wait_backoff(uint64_t waited_ns)
{
	if (waited_ns < HS_SPIN_NS) {
		cpu_relax();
	} else if (waited_ns < HS_YIELD_NS) {
		sched_yield();
	} else {
		uint64_t us = waited_ns / 8000 < 50 ? waited_ns / 8000 : 50;
		struct timespec ts = {0, (long)us * 1000};
		nanosleep(&ts, NULL);
	}
}

/* Owner-side waits (stop, leave while ACTING): by count, they are short. */
static void backoff(unsigned spins)
{
	if (spins < 64) {
		cpu_relax();
	} else if (spins < 256) {
		sched_yield();
	} else {
		unsigned us = spins - 256 < 50 ? spins - 256 + 1 : 50;
		struct timespec ts = {0, (long)us * 1000};
		nanosleep(&ts, NULL);
	}
}

static void scan_saved_stack(struct tri_thread *t, struct gcwork *w)
{
	scan_range((uintptr_t)t->regs, (uintptr_t)(t->regs + 8), w);
	t->scan_lo = t->blocking_sp;
	t->scan_cycle = ld_relaxed(&tri_rt.cycle);
	scan_range(t->blocking_sp, t->stack_hi, w);
	fetch_add(&tri_stats.stack_scanned_bytes, t->stack_hi - t->blocking_sp); /* gctrace */
	thread_scan_tls(t, w);
}

/*
 * The hand-off (thread.h, handshake.h): an action marks into a block the
 * thread owns (hs_block, refilled by the coordinator) instead of taking the
 * grey-queue lock, and leaves it, with the spans the sweep action gave up,
 * for the coordinator to publish. A block that overflows (more than
 * WBLOCK_CAP new grey objects: a deep stack) is published by gcwork_push
 * under the lock as before. If the previous hand-off was not published yet
 * (never, in the protocol: the coordinator publishes it inside the
 * handshake that made it), the action publishes its own results itself.
 */
static void action_work_begin(struct tri_thread *t, struct gcwork *w)
{
	gcwork_init(w, false);
	w->cur = t->hs_block;
	t->hs_block = NULL;
}

static void action_end(struct tri_thread *t, struct gcwork *w, bool spans)
{
	if (ld_acquire(&t->handoff_state) != HANDOFF_EMPTY) {
		if (w)
			gcwork_dispose(w);
		if (spans)
			tcache_release_all(t);
		return;
	}
	t->handoff_block = NULL;
	t->handoff_produced = 0;
	if (w) {
		gcwork_flush_stats(w);
		t->handoff_block = w->cur;
		t->handoff_produced = w->produced;
	}
	t->handback_n = spans ? tcache_take_all(t, t->handback) : 0;
	st_release(&t->handoff_state, HANDOFF_FULL);
}

static void handoff_publish(struct tri_thread *t)
{
	tcache_list(t->handback, t->handback_n);
	t->handback_n = 0;
	struct wblock *b = t->handoff_block;
	int produced = t->handoff_produced;
	t->handoff_block = NULL;
	t->handoff_produced = 0;
	if (b && !b->n && !t->hs_block) {
		t->hs_block = b; /* nothing to scan: keep the block */
		b = NULL;
	}
	if (b || produced) {
		struct gcwork w;
		gcwork_init(&w, false);
		w.cur = b;
		w.produced = produced;
		gcwork_release(&w); /* publishes; dirty if it marked anything */
	}
	if (!t->hs_block)
		t->hs_block = grey_block_get();
}

void handshake_handoff_drain(struct tri_thread *t)
{
	uint32_t exp = HANDOFF_FULL;
	if (ld_acquire(&t->handoff_state) != HANDOFF_FULL || !cas_acq(&t->handoff_state, &exp, HANDOFF_DRAINING))
		return;
	handoff_publish(t);
	st_release(&t->handoff_state, HANDOFF_EMPTY);
}

void handshake_thread_exit(struct tri_thread *t)
{
	for (unsigned spins = 0;; spins++) {
		handshake_handoff_drain(t);
		if (ld_acquire(&t->handoff_state) == HANDOFF_EMPTY)
			break;
		backoff(spins); /* the coordinator is publishing it */
	}
	if (t->hs_block) {
		struct gcwork w;
		gcwork_init(&w, false);
		w.cur = t->hs_block;
		t->hs_block = NULL;
		gcwork_release(&w); /* back to the empty list */
	}
}

static void run_action(struct tri_thread *t, int a, bool on_behalf)
{
	TRI_PROBE2(handshake__action__start, t->id, a);
	struct gcwork w;
	switch (a) {
	case HS_BARRIER_ON:
		t->barrier_on = 1;
		break;
	case HS_SCAN_STACK:
		tcache_start_black(t, ld_relaxed(&tri_rt.cycle));
		action_work_begin(t, &w);
		if (on_behalf)
			scan_saved_stack(t, &w);
		else
			thread_scan_own_stack(t, &w);
		wbuf_mark_into(t, &w);
		action_end(t, &w, false);
		break;
	case HS_FLUSH:
		action_work_begin(t, &w);
		wbuf_mark_into(t, &w);
		action_end(t, &w, false);
		break;
	case HS_SWEEP:
		t->barrier_on = 0;
		t->alloc_black = 0;
		t->wbuf_n = 0;
		action_end(t, NULL, true);
		break;
	default:
		break;
	}
	TRI_PROBE2(handshake__action__end, t->id, a);
}

static void __attribute__((noinline)) stop_self(struct tri_thread *t, uint64_t req)
{
	uintptr_t here;
	__builtin_unwind_init();
	thread_save_regs(t->regs);
	thread_check_sp(t, (uintptr_t)&here, "tricolor: world stop");
	t->blocking_sp = (uintptr_t)&here;
	uint64_t t0 = tri_now_ns();
	st_release(&t->hs_done, req);
	for (unsigned spins = 0; ld_seq(&world_stopped); spins++)
		backoff(spins);
	pause_record(t->ring, TRI_PAUSE_STOP, t0, tri_now_ns() - t0);
}

void handshake_safepoint_slow(struct tri_thread *t)
{
	fetch_and_seq(&t->slow, ~SLOW_POLL);
	uint64_t req = ld_seq(&t->hs_req);
	if (req <= t->hs_done)
		return;
	int a = ld_seq(&hs_action);
	if (a == HS_STOP) {
		stop_self(t, req);
		return;
	}
	uint64_t t0 = tri_now_ns(), c0 = thread_cpu_ns();
	run_action(t, a, false);
	st_release(&t->hs_done, req);
	uint64_t len = tri_now_ns() - t0, cpu = thread_cpu_ns() - c0;
	pause_record(t->ring, TRI_PAUSE_HANDSHAKE, t0, len);
	/* Its own cost against what the OS added: an action takes no lock and
	 * never sleeps, so wall time beyond its CPU time is the OS running
	 * another thread on this core. */
	atomic_max(&tri_stats.hs_action_cpu_max_ns, cpu);
	if (len > cpu + HS_OFFCPU_NS)
		fetch_add(&tri_stats.hs_action_descheduled, 1);
}

/*
 * While a thread does not reach a safepoint, the coordinator keeps the
 * other reports alive (a finalizer stuck without a blocking region is the
 * usual cause, and the slow-finalizer report must still fire) and says once
 * which thread it is waiting for.
 */
static void waiting_report(struct tri_thread *t, uint64_t since, bool *reported)
{
	handshake_watchdog();
	uint64_t waited = tri_now_ns() - since;
	if (!*reported && waited > 1000000000ull) {
		*reported = true;
		tri_warn("tricolor: the collector has waited %.1f s for thread %u to reach a safepoint%s%s; "
			 "a thread that blocks must do it inside tri_blocking_enter/tri_blocking_leave, and a long "
			 "computation must call tri_safepoint",
			 (double)waited / 1e9, t->id,
			 ld_relaxed(&t->in_callback) ? " (it is running a finalizer or cleanup)" : "",
			 tri_preempt_after_ns ? " (preemption signals were declined: it is not inside a C library call, "
						"or it is inside tricolor or a signal handler)" : "");
	}
}

/*
 * A RUNNING thread that has not answered for tri_preempt_after_ns gets the
 * preemption signal (preempt.c), again after twice the delay, and so on up
 * to one every 100 ms: its handler acts only at an asynchronous safe point
 * (inside the C library, outside tricolor), so a thread computing in its
 * own code keeps being waited for.
 */
static void wait_for(struct tri_thread *t, uint64_t e, int a)
{
	uint64_t poke_gap = tri_preempt_after_ns;
	uint64_t since = tri_now_ns(), now = since, next_poke = since + poke_gap;
	bool reported = false;
	for (unsigned spins = 0;; spins++, now = tri_now_ns()) {
		if ((spins & 1023) == 1023)
			waiting_report(t, since, &reported);
		if (poke_gap && now >= next_poke && ld_relaxed(&t->state) == TS_RUNNING) {
			preempt_poke(t);
			poke_gap = poke_gap * 2 < 100000000ull ? poke_gap * 2 : 100000000ull;
			next_poke = now + poke_gap;
		}
		if (ld_seq(&t->hs_req) < e)
			return; /* attached after the action was posted */
		if (ld_acquire(&t->hs_done) >= e)
			return;
		uint32_t st = ld_acquire(&t->state);
		if (st == TS_DETACHED)
			return;
		if (st == TS_BLOCKING) {
			uint32_t exp = TS_BLOCKING;
			if (cas_acq(&t->state, &exp, TS_ACTING)) {
				if (ld_relaxed(&t->hs_done) < e) {
					run_action(t, a, true);
					st_release(&t->hs_done, e);
				}
				if (a == HS_STOP) {
					if (nheld == held_cap) {
						size_t ncap = held_cap ? held_cap * 2 : 512;
						void *n = os_scratch_resize(held, &held_bytes, ncap * sizeof *held);
						if (!n)
							tri_fatal("tricolor: out of memory stopping threads");
						held = n;
						held_cap = ncap;
					}
					held[nheld++] = t;
					return;
				}
				/* Only the CAS winner acts and hands the thread back. */
				tri_assert(ld_relaxed(&t->state) == TS_ACTING);
				st_release(&t->state, TS_BLOCKING);
				return;
			}
			continue;
		}
		wait_backoff(now - since);
	}
}

void handshake(enum hs_action a)
{
	uint64_t e = ++hs_epoch, t0 = tri_now_ns();
	st_seq(&hs_action, (int)a);
	fetch_add(&tri_stats.handshakes, 1);
	TRI_PROBE2(handshake__start, e, a);
	struct tri_thread *t;
	rcu_read_lock();
	cds_list_for_each_entry_rcu(t, &tri_threads, node) {
		tsan_acquire(t);
		st_seq(&t->hs_req, e);
		fetch_or_seq(&t->slow, SLOW_POLL);
	}
	cds_list_for_each_entry_rcu(t, &tri_threads, node) {
		tsan_acquire(t); /* it may have attached between the two walks */
		wait_for(t, e, (int)a);
		/* Its marks reach the grey queue (and set dirty) and its spans the
		 * central lists before the handshake returns: termination and the
		 * background sweep see them. */
		handshake_handoff_drain(t);
	}
	tsan_release(&tri_rcu_sync_token);
	rcu_read_unlock();
	uint64_t took = tri_now_ns() - t0;
	fetch_add(&tri_stats.handshake_ns, took);
	atomic_max(&tri_stats.handshake_max_ns, took);
	TRI_PROBE2(handshake__end, e, a);
}

/*
 * The registry lock is held from handshake_world_stop to handshake_world_start: no thread
 * attaches or detaches while the world is stopped. Without it a thread that
 * attached after the stop was posted ran on, unstopped and with no saved
 * stack bounds, while the checkmark scanned its stack (found by the soak: a
 * segfault scanning from address 0). A thread trying to attach waits on the
 * lock outside the registry; one detaching is already DETACHED and skipped.
 * Between handshake_world_stop and handshake_world_start nothing may call malloc: a thread may
 * be parked inside malloc by the preemption signal, holding an arena lock
 * (held[] and the checkmark's memory are mmap'd scratch).
 */
void handshake_world_stop(void)
{
	pthread_mutex_lock(&tri_registry_lock);
	st_seq(&world_stopped, 1);
	handshake(HS_STOP);
}

void handshake_world_start(void)
{
	st_seq(&world_stopped, 0);
	for (size_t i = 0; i < nheld; i++) {
		tri_assert(ld_relaxed(&held[i]->state) == TS_ACTING); /* held since HS_STOP */
		st_release(&held[i]->state, TS_BLOCKING);
	}
	nheld = 0;
	pthread_mutex_unlock(&tri_registry_lock);
}

void tri_safepoint(void)
{
	NO_PREEMPT();
	struct tri_thread *t = thread_require("tri_safepoint");
	if (unlikely(ld_relaxed(&t->slow) & SLOW_POLL))
		handshake_safepoint_slow(t);
}

/* Called by the tri_blocking_enter stub with the caller's callee-saved
 * registers and stack pointer. */
void tri_blocking_enter_impl(uintptr_t *regs, uintptr_t caller_sp)
{
	NO_PREEMPT();
	struct tri_thread *t = thread_require("tri_blocking_enter");
	if (ld_relaxed(&t->state) != TS_RUNNING)
		tri_fatal("tri_blocking_enter: already inside a blocking region (nesting is not allowed)");
	thread_check_sp(t, caller_sp, "tri_blocking_enter");
	memcpy(t->regs, regs, 6 * sizeof(uintptr_t));
	t->blocking_sp = caller_sp;
	st_release(&t->state, TS_BLOCKING);
}

bool handshake_try_leave(struct tri_thread *t)
{
	uint32_t exp = TS_BLOCKING;
	return cas_acq(&t->state, &exp, TS_RUNNING);
}

void tri_blocking_leave(void)
{
	NO_PREEMPT();
	struct tri_thread *t = thread_require("tri_blocking_leave");
	uint32_t exp = TS_BLOCKING;
	if (unlikely(!cas_acq(&t->state, &exp, TS_RUNNING))) {
		if (exp != TS_ACTING)
			tri_fatal("tri_blocking_leave: not inside a blocking region");
		uint64_t t0 = tri_now_ns();
		for (unsigned spins = 0; !handshake_try_leave(t); spins++)
			backoff(spins);
		pause_record(t->ring, ld_seq(&world_stopped) ? TRI_PAUSE_STOP : TRI_PAUSE_HANDSHAKE, t0,
			     tri_now_ns() - t0);
	}
	if (unlikely(ld_relaxed(&t->slow) & SLOW_POLL))
		handshake_safepoint_slow(t);
}
