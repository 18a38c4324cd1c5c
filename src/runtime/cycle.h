/* SPDX-License-Identifier: MIT */
/*
 * cycle.h - the collector cycle, run by the coordinator thread.
 * See docs/design.md and the comment at the top of cycle.c.
 */
#ifndef TRI_CYCLE_H
#define TRI_CYCLE_H
#include <stdint.h>

struct gcwork;

/*
 * What the callbacks layer adds to the collector (docs/design.md "Layers":
 * the cycle is gc, the callback queue sits above it, so its actions are
 * passed in rather than called up):
 *   mark_roots    step 3 of a cycle: mark the objects of queued callbacks
 *   check_report  after the sweep: the checkfinalizers report of cycle n
 *   visit_queued  checkmark: visit every queued callback's object
 *   drain         wait for queued callbacks (tri_drain), for external.c
 * Written once by tri_init (api) before the coordinator and the mark
 * workers start (thread creation publishes them); never written again.
 * cycle_init aborts if one is missing (as it does for sweep_dead_hook and
 * handshake_watchdog_hook), so the users call them unconditionally.
 */
struct cycle_callbacks {
	void (*mark_roots)(struct gcwork *w);
	void (*check_report)(uint64_t n);
	void (*visit_queued)(void (*visit)(uintptr_t p, void *ctx), void *ctx);
	int (*drain)(long timeout_ms);
};
extern struct cycle_callbacks cycle_callbacks;

int cycle_init(void);
/* Ask for an automatic cycle (pacer); cheap if one is already asked for. */
void cycle_trigger(void);
/* Wait (in a blocking region) until the current mark phase has ended. */
void cycle_wait_mark_done(void);
void cycle_after_fork_child(void);
/*
 * Test hook (tests' tri_debug_cycle_hook, libtricolor-test.la only): when
 * set, the coordinator calls it at these points of every cycle, with no
 * lock held, and waits for it to return. NULL (one relaxed load per point)
 * otherwise. Written by the test, read by the coordinator.
 */
enum {
	CYCLE_AT_STACKS_SCANNED = 1, /* after HS_SCAN_STACK, before termination */
	CYCLE_AT_MARK_DONE = 2,	     /* marking over, gate closed, checkmark done */
	CYCLE_AT_SWEEP_START = 3     /* after HS_SWEEP, before the background sweep */
};
extern void (*cycle_test_hook)(int point);
#endif
