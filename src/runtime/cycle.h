/* SPDX-License-Identifier: MIT */
/*
 * cycle.h - the collector cycle, run by the coordinator thread.
 * See docs/design.md and the comment at the top of cycle.c.
 */
#ifndef TRI_CYCLE_H
#define TRI_CYCLE_H
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
