/* SPDX-License-Identifier: MIT */
/*
 * gccpu.h - the CPU time the collector spends, for gctrace, the exit
 * statistics and the GC CPU fraction (Go's gc_cpu_fraction).
 *
 * GC CPU = the CPU time of the collector's own threads (the coordinator and
 * the mark workers, each read with its pthread CPU-time clock, the clock
 * CLOCK_THREAD_CPUTIME_ID reads on the thread itself) + the time mutators
 * spend in mark assists (tri_stats.assist_ns) + the time mutators spend
 * running handshake actions (tri_stats.pause_handshake_ns: stack scans,
 * barrier buffer flushes). The last two are wall time on a running thread,
 * as Go measures its assists. Sweeping by mutators and callbacks are not GC
 * CPU (Go counts neither).
 *
 * Callers: gccpu_register_self from the coordinator and every mark worker
 * at thread start; the readers from gctrace.c and stats.c.
 */
#ifndef TRI_GCCPU_H
#define TRI_GCCPU_H
#include <stdint.h>

/* The calling thread is a collector thread: count its CPU time. */
void gccpu_register_self(void);
/* CPU time of all collector threads of this process so far (ns). */
uint64_t gccpu_collector_ns(void);
/* Collector threads + assists + handshake actions (ns). */
uint64_t gccpu_total_ns(void);
/* CPUs this process may run on (Go's default GOMAXPROCS). */
unsigned gccpu_nprocs(void);
/* gccpu_total_ns over (wall time since tri_init x gccpu_nprocs), 0..1. */
double gccpu_fraction(void);
#endif
