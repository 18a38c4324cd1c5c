/* SPDX-License-Identifier: MIT */
/*
 * handshake.h - ragged handshakes instead of stopping the world.
 *
 * The coordinator posts an action to every attached thread and waits until
 * each has run it. A RUNNING thread runs it itself at its next safepoint
 * (allocation slow path, tri_safepoint, barrier slow path, blocking leave);
 * for a BLOCKING thread the coordinator takes the thread's record (CAS
 * BLOCKING -> ACTING) and runs the action on its behalf with the registers
 * and stack pointer saved at tri_blocking_enter; tri_blocking_leave waits
 * while its record is ACTING. Only one handshake runs at a time (the
 * coordinator's). The length of each action is a pause of that thread and
 * is recorded in its pause ring.
 *
 * Actions:
 *  HS_BARRIER_ON  set barrier_on.
 *  HS_SCAN_STACK  set alloc_black for this cycle (cached spans start their
 *                 black range at freeindex), scan stack and registers
 *                 conservatively, flush the barrier buffer.
 *  HS_FLUSH       flush the barrier buffer (termination rounds).
 *  HS_SWEEP       clear barrier_on and alloc_black, drop the buffer (its
 *                 entries are all black now), hand cached spans back
 *                 (to t->handback: the coordinator lists them once the
 *                 thread acknowledged).
 *
 * No action takes a collector lock: what it marked (its block of grey
 * objects) and the spans it gave up go to the thread's hand-off
 * (thread.h), which the coordinator publishes to the grey queue and the
 * central lists right after the thread acknowledged, before the handshake
 * returns. A thread descheduled while holding the grey-queue or a central
 * lock therefore never lengthens another thread's handshake pause (with 64
 * threads on 2 cores it did: 30-60 ms sweep actions in perf/churn).
 *  HS_STOP        park until handshake_world_start (checkmark only).
 */
#ifndef TRI_HANDSHAKE_H
#define TRI_HANDSHAKE_H
#include "runtime/thread.h"

enum hs_action { HS_NONE = 0, HS_BARRIER_ON, HS_SCAN_STACK, HS_FLUSH, HS_SWEEP, HS_STOP };

/* Coordinator: run action on every attached thread; returns when all did. */
/*
 * The coordinator's watchdog: a periodic check it runs while it waits for
 * a thread (here) or idles between cycles (runtime/cycle.c). The layer
 * above passes it in (docs/design.md "Layers"): tri_init sets it to
 * finalizer_watchdog before the coordinator starts (thread creation
 * publishes it); never written again; cycle_init aborts if it is unset.
 */
extern void (*handshake_watchdog_hook)(void);
static inline void handshake_watchdog(void)
{
	handshake_watchdog_hook();
}

void handshake(enum hs_action a);
/* Coordinator: stop every attached thread (HS_STOP) / let them go. */
void handshake_world_stop(void);
void handshake_world_start(void);
/* Owner: run a pending handshake action (t->slow had SLOW_POLL). */
void handshake_safepoint_slow(struct tri_thread *t);
/* Called by the tri_blocking_enter stub (thread.c) with the caller's
 * callee-saved registers and stack pointer. */
void tri_blocking_enter_impl(uintptr_t *regs, uintptr_t caller_sp);
/*
 * Owner, inside a blocking region: leave it only if no action (nor the
 * checkmark stop) is in progress on this record, CAS BLOCKING -> RUNNING;
 * false, still blocking, otherwise. Runs no pending action: the caller's
 * next safepoint does. For a runtime thread that took, inside the region,
 * a lock the collector itself takes while an action or the stop is in
 * progress: tri_blocking_leave would wait for it holding that lock, a
 * deadlock (callback/queue.c's consumer_lock).
 */
bool handshake_try_leave(struct tri_thread *t);
/* Owner: a safepoint (runtime threads between two user callbacks). */
static inline void handshake_poll(struct tri_thread *t)
{
	if (unlikely(ld_relaxed(&t->slow) & SLOW_POLL))
		handshake_safepoint_slow(t);
}

/* The actions call the barrier buffer's wbuf_flush and wbuf_mark_into
 * (mark/scan.h) and the thread cache's tcache_release_all,
 * tcache_take_all, tcache_list and tcache_start_black (alloc/tcache.h). */

/* t->handoff_state (thread.h). */
enum { HANDOFF_EMPTY = 0, HANDOFF_FULL = 1, HANDOFF_DRAINING = 2 };
/* Publish t's hand-off if it is FULL and nobody else took it (coordinator
 * after the thread acknowledged; owner at detach). */
void handshake_handoff_drain(struct tri_thread *t);
/* Owner, at detach: publish the hand-off (waiting for a coordinator that is
 * publishing it) and give back the spare mark block. */
void handshake_thread_exit(struct tri_thread *t);
#endif
