/* SPDX-License-Identifier: MIT */
/*
 * color.h - the tri-colour invariant as code (docs/design.md, section 1).
 *
 * The colour of an allocated object during cycle n, from the marking state:
 *   white  its mark bit is clear and it was not allocated black in n
 *          (color_white);
 *   grey   its mark bit is set and its address waits in a work block (the
 *          grey queue or a marker's private block): found, not yet scanned;
 *   black  its mark bit is set and it was scanned (or is noscan), or it
 *          was allocated black in n (span_black_allocated).
 * The bits tell white from non-white; grey and black differ only by the
 * work blocks, so a predicate over the bits can state the invariant only
 * once no grey object is left.
 *
 * The invariant (weak form, kept by the hybrid barrier and black
 * allocation while marking): no black object points to a white object that
 * is not also reachable from a grey one. color_keep_invariant() says when
 * it must hold, in the spirit of Lua's keepinvariant: from the barrier-on
 * handshake until the end of the cycle's marking (phase MARK or MARK_DONE;
 * the sweep then frees exactly the white objects). When marking has
 * terminated (MARK_DONE) no grey object is left and the weak form becomes
 * the strong one: no non-white object points to a white object. That is
 * color_check_heap, the one predicate over the whole marking state: run by
 * the coordinator after termination and before the sweep at debug level 3
 * (configure --enable-debug=3); it aborts naming the first edge from a
 * non-white object to a white one. Mutators run meanwhile: they can only
 * store pointers to objects they reach, which are non-white once marking
 * has terminated, and what they allocate is black.
 *
 * Conservative like the marker: every aligned word of a non-white scan
 * object that falls inside an allocated object is an edge. (A plain
 * integer store that happens to equal a white object's address after the
 * object was scanned would be reported, as checkmark would report it.)
 */
#ifndef TRI_COLOR_H
#define TRI_COLOR_H
#include "alloc/span.h"
#include "runtime/runtime.h"

/* Slot idx of in-use span s is white in cycle n. */
static inline bool color_white(const struct span *s, uint32_t idx, uint64_t n)
{
	return !mark_is_set(s, idx) && !span_black_allocated(s, idx, n);
}

/* The invariant must hold now: this cycle's marking has begun and the
 * sweep has not (the phase is read racily: callers are in the coordinator
 * or hold a state that fixes it). */
static inline bool color_keep_invariant(void)
{
	int phase = ld_relaxed(&tri_rt.phase);
	return phase == PHASE_MARK || phase == PHASE_MARK_DONE;
}

/* After termination (phase MARK_DONE, before the sweep), debug level 3:
 * abort unless no non-white object points to a white object. Coordinator.
 * mark/color.c. */
void color_check_heap(uint64_t n);
#endif
