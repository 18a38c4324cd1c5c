/* SPDX-License-Identifier: MIT */
/*
 * roots.c - registered root ranges (see roots.h).
 *
 * Data: the array of ranges, under roots_lock (writers: tri_add_roots and
 * tri_remove_roots on any mutator; readers: the coordinator's root scan and
 * the checkmark, which hold the lock while they scan).
 *
 * Invariants (docs/design.md section 20, issue 14 case 1):
 *  - A range registered while a cycle marks (phase == MARK) is scanned by
 *    tri_add_roots itself, through the mark gate, after it is in the list.
 *    The coordinator scans the list once per cycle (step 3); a range added
 *    after that scan would otherwise not be looked at before the next cycle,
 *    and an object whose only pointer it holds (stored before registration,
 *    so no barrier saw it) would be freed. Either the coordinator's scan
 *    sees the range (it took roots_lock after our unlock) or we see
 *    phase == MARK: the phase is stored (seq_cst) before the coordinator
 *    takes the lock, and we read it (seq_cst) after our unlock. A range
 *    registered once marking is over (MARK_DONE, SWEEP) is not scanned: that
 *    cycle already decided, and an object held only in memory the collector
 *    could not see when it decided is garbage to it (section 19, invisible
 *    memory); the registration counts from the next cycle.
 *  - tri_remove_roots needs no shade, during marking or not: a range is
 *    removed whole, like a heap object that becomes unreachable, not like a
 *    slot overwritten in a reachable object. If the removal precedes the
 *    coordinator's root scan, nothing is black that could have received a
 *    pointer from the range without the barrier (a tri_store into a black
 *    object shades the new value), and every stack is scanned after the
 *    root scan, so a pointer the program moved from the range to a stack or
 *    to the heap is found there. If it follows the root scan (or the
 *    registration's own scan), the range's referents are already grey.
 *    The lock keeps a range from being removed (and unmapped) under the
 *    coordinator's scan; the scan in tri_add_roots runs outside the lock,
 *    on a range its caller owns (removing a range while another thread is
 *    still registering it is the program's race).
 */
#include "mark/roots.h"
#include "runtime/preempt.h"
#include "mark/scan.h"
#include "runtime/runtime.h"
#include <stdlib.h>

struct root_range {
	uintptr_t lo, hi;
};

static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct root_range *ranges; /* roots_lock */
static size_t nranges, cap;

void tri_add_roots(void *start, void *end)
{
	NO_PREEMPT();
	tri_require_init("tri_add_roots");
	if ((uintptr_t)end < (uintptr_t)start)
		tri_fatal("tri_add_roots: end %p is below start %p", end, start);
	pthread_mutex_lock(&roots_lock);
	if (nranges == cap) {
		size_t ncap = cap ? cap * 2 : 16;
		struct root_range *n = realloc(ranges, ncap * sizeof *n);
		if (!n)
			tri_fatal("tri_add_roots: out of memory");
		ranges = n;
		cap = ncap;
	}
	ranges[nranges].lo = (uintptr_t)start;
	ranges[nranges].hi = (uintptr_t)end;
	nranges++;
	pthread_mutex_unlock(&roots_lock);
	/* Registered during marking: the root scan may be behind us (see the
	 * invariants above). */
	mark_late_range((uintptr_t)start, (uintptr_t)end);
}

void tri_remove_roots(void *start, void *end)
{
	NO_PREEMPT();
	tri_require_init("tri_remove_roots");
	pthread_mutex_lock(&roots_lock);
	for (size_t i = 0; i < nranges; i++) {
		if (ranges[i].lo == (uintptr_t)start && ranges[i].hi == (uintptr_t)end) {
			ranges[i] = ranges[--nranges];
			pthread_mutex_unlock(&roots_lock);
			return;
		}
	}
	pthread_mutex_unlock(&roots_lock);
	tri_fatal("tri_remove_roots: range [%p, %p) is not registered", start, end);
}

void roots_visit(range_visitor visit, void *ctx)
{
	pthread_mutex_lock(&roots_lock);
	for (size_t i = 0; i < nranges; i++)
		visit(ranges[i].lo, ranges[i].hi, ctx);
	pthread_mutex_unlock(&roots_lock);
}

static void scan_visit(uintptr_t lo, uintptr_t hi, void *ctx)
{
	scan_range(lo, hi, ctx);
}

void roots_scan(struct gcwork *w)
{
	roots_visit(scan_visit, w);
}

/* fork (runtime/fork.c) */
void roots_fork_lock(void)
{
	pthread_mutex_lock(&roots_lock);
}
void roots_fork_unlock(void)
{
	pthread_mutex_unlock(&roots_lock);
}
