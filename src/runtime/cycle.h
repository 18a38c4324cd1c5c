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
#endif
