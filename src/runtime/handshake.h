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
 *                 entries are all black now), hand cached spans back.
 *  HS_STOP        park until world_start (checkmark only).
 */
#ifndef TRI_HANDSHAKE_H
#define TRI_HANDSHAKE_H
#include "runtime/thread.h"

enum hs_action { HS_NONE = 0, HS_BARRIER_ON, HS_SCAN_STACK, HS_FLUSH, HS_SWEEP, HS_STOP };

/* Coordinator: run action on every attached thread; returns when all did. */
void handshake(enum hs_action a);
/* Coordinator: stop every attached thread (HS_STOP) / let them go. */
void world_stop(void);
void world_start(void);
/* Owner: run a pending handshake action (t->slow had SLOW_POLL). */
void safepoint_slow(struct tri_thread *t);
/* Called by the tri_blocking_enter stub (thread.c) with the caller's
 * callee-saved registers and stack pointer. */
void tri_blocking_enter_impl(uintptr_t *regs, uintptr_t caller_sp);

/* Implemented by the collector parts, called by actions. */
void wbuf_flush(struct tri_thread *t);
void tcache_release_all(struct tri_thread *t);
void tcache_start_black(struct tri_thread *t, uint64_t cycle);
#endif
