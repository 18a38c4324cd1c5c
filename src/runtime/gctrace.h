/* SPDX-License-Identifier: MIT */
/*
 * gctrace.h - the per-cycle report: debug=gctrace's line in Go's format,
 * and the heap-peak sample the exit statistics use.
 *
 * The coordinator (cycle.c run_cycle) fills one struct gctrace_cycle on its
 * stack: gctrace_begin at the cycle's start, gctrace_at at each phase
 * boundary (it samples the collector threads' CPU clocks there), the heap
 * figures and rounds, then gctrace_end once the sweep is done. Only the
 * coordinator touches the struct. docs/perf.md ("gctrace") maps tricolor's
 * phases onto Go's fields.
 */
#ifndef TRI_GCTRACE_H
#define TRI_GCTRACE_H
#include <stdbool.h>
#include <stdint.h>

enum gctrace_point {
	GT_START,	/* cycle start: barrier-on handshake begins */
	GT_BARRIER,	/* barrier on everywhere: marking begins */
	GT_MARK,	/* marking terminated */
	GT_SWEEP_HS,	/* sweep handshake done: concurrent sweep begins */
	GT_END,		/* sweep done, next goal set */
	GT_NPOINTS
};

struct gctrace_cycle {
	uint64_t n;
	bool forced;
	uint64_t t[GT_NPOINTS];	  /* tri_now_ns at each point */
	uint64_t cpu[GT_NPOINTS]; /* gccpu_collector_ns at each point */
	uint64_t mutator_gc_ns0;  /* assists + handshake actions at the start */
	uint64_t stack_bytes0;	  /* tri_stats.stack_scanned_bytes at the start */
	uint64_t handshakes0;
	int64_t heap0, heap1;	  /* heap_live at the start and at mark termination */
	uint64_t heap2;		  /* marked live: bytes the sweep found with their mark
				   * bit set (tri_sweep_marked_bytes), <= heap1 */
	uint64_t kept;		  /* bytes the sweep kept: heap2 plus the objects
				   * allocated black this cycle (tri_sweep_live_bytes) */
	unsigned rounds;	  /* termination rounds */
};

void gctrace_begin(struct gctrace_cycle *g, uint64_t n, bool forced, uint64_t t0);
void gctrace_at(struct gctrace_cycle *g, enum gctrace_point p, uint64_t t);
void gctrace_end(struct gctrace_cycle *g, uint64_t t_end);

#endif
