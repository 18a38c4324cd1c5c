/* SPDX-License-Identifier: MIT */
/*
 * pacer.h - when cycles start and how much allocating threads must help.
 *
 * After each sweep, with L the live bytes the sweep kept and GOGC the
 * gc_percent option: goal = max(L * (1 + GOGC/100), min_heap), lowered to
 * fit memory_limit (soft: the goal never drops below L plus 1/16). A cycle
 * starts when heap_live reaches trigger = L + 0.5 * (goal - L), leaving half
 * of the runway for marking (0.7 left too little at a 1 GiB live heap on two
 * cores: marking then ran on assists). While marking, an allocating thread
 * owes scan work in proportion to what it allocates (the assist ratio: the
 * scan work still expected over the runway still left, both measured at each
 * span refill), paid by draining grey objects in slices of at most 64 KiB;
 * past goal * 2 it waits for the mark to end instead. Past 1.25 *
 * memory_limit (resident heap), in any phase, an allocation waits for a full
 * collection, unless the last live heap already exceeded the limit (then the
 * limit is soft). gc_percent=off with no limit never triggers.
 *
 * Shared state: heap_goal, heap_trigger, hard_goal and scan_expected are
 * written by the coordinator at cycle boundaries (tri_gc_percent rewrites the
 * goal too) and read relaxed by allocators; tri_cycle_scanned is added to by
 * markers with relaxed atomics.
 */
#ifndef TRI_PACER_H
#define TRI_PACER_H
#include "runtime/thread.h"
void pacer_before_alloc(struct tri_thread *t, size_t bytes);
void pacer_out_of_memory(struct tri_thread *t);
void pacer_cycle_start(void);
void pacer_cycle_end(uint64_t live);
void pacer_init(void);
#endif
