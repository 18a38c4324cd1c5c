/* SPDX-License-Identifier: MIT */
/*
 * gctrace.c - the per-cycle report (see gctrace.h): Go's gctrace line,
 *
 *   gc N @S.SSSs P%: A+B+C ms clock, D+E/F/G+H ms cpu, H0->H1->H2 MB,
 *   GOAL MB goal, STK MB stacks, GLB MB globals, NP P[ (forced)]
 *
 * printed exactly as Go's runtime (mgc.go, gcMarkTermination) prints it, so
 * tools that parse Go's gctrace read it, then tricolor's own figures on a
 * second line that starts "tricolor gc N:" (no Go parser matches it):
 *
 *   tricolor gc N: sweep X ms clock, Y ms cpu, max pause Z ms, R termination
 *   rounds, K handshakes, W mark workers, T threads, L MB kept
 *
 * H0->H1->H2 MB keeps Go's meaning, so H2 <= H1:
 *   H0  heap_live when the cycle starts (objects plus the free slots of
 *       thread-cached spans, as Go's heapLive);
 *   H1  heap_live when marking terminated;
 *   H2  the marked live heap: bytes of the objects whose mark bit was set
 *       when marking terminated, i.e. every object allocated before this
 *       cycle's black allocation began that the mark reached from the roots
 *       (counted by the sweep from the mark bits, tri_sweep_marked_bytes).
 *       Each is an object heap_live counted at mark termination, so
 *       H2 <= H1 always. Go's H2 (work.bytesMarked) also counts the objects
 *       allocated black during the mark; tricolor's fast path counts no
 *       single allocation, so those are left out of H2 (in a program that
 *       allocates fast while marking, Go's figure would be higher by them).
 * The bytes the sweep kept - H2 plus every object allocated black this
 * cycle, up to the sweep handshake, garbage or not - are the second line's
 * "L MB kept" (the live heap the pacer sets the next goal from). H2 used to
 * be that figure, which exceeds H1 when a cycle allocates a lot between
 * mark termination and the sweep handshake (15->27->60 MB was seen).
 *
 * The max pause is the longest pause any thread saw since the previous
 * cycle's report (pause_cycle_max_take), not the process's maximum.
 * Each line is formatted into a buffer and written with one fputs, so lines
 * of concurrent writers to stderr do not interleave within a line.
 */
#include "runtime/gctrace.h"
#include "mark/roots.h"
#include "runtime/gccpu.h"
#include "runtime/pause.h"
#include "runtime/runtime.h"
#include <stdio.h>

static uint64_t mutator_gc_ns(void)
{
	return ld_relaxed(&tri_stats.assist_ns) + ld_relaxed(&tri_stats.pause_handshake_ns);
}

void gctrace_begin(struct gctrace_cycle *g, uint64_t n, bool forced, uint64_t t0)
{
	g->n = n;
	g->forced = forced;
	g->heap0 = ld_relaxed(&tri_stats.heap_live);
	g->mutator_gc_ns0 = mutator_gc_ns();
	g->stack_bytes0 = ld_relaxed(&tri_stats.stack_scanned_bytes);
	g->handshakes0 = ld_relaxed(&tri_stats.handshakes);
	g->rounds = 0;
	g->heap1 = g->heap0;
	g->heap2 = 0;
	g->kept = 0;
	gctrace_at(g, GT_START, t0);
}

void gctrace_at(struct gctrace_cycle *g, enum gctrace_point p, uint64_t t)
{
	g->t[p] = t;
	/* A few clock_gettime system calls: only when someone reads them. */
	g->cpu[p] = tri_rt.opt.gctrace ? gccpu_collector_ns() : 0;
}

/* Go's itoaDiv: val / 10^dec with dec decimals. */
static char *itoa_div(char *buf, size_t len, uint64_t val, int dec)
{
	uint64_t p = 1;
	for (int i = 0; i < dec; i++)
		p *= 10;
	if (dec)
		snprintf(buf, len, "%llu.%0*llu", (unsigned long long)(val / p), dec,
			 (unsigned long long)(val % p));
	else
		snprintf(buf, len, "%llu", (unsigned long long)val);
	return buf;
}

/* Go's fmtNSAsMS: whole ms from 10 ms up, else two significant digits with
 * at most three decimals ("0.52", "0.005", "9.9", "12"). */
static char *gctrace_fmt_ms(char *buf, size_t len, uint64_t ns)
{
	if (ns >= 10000000u)
		return itoa_div(buf, len, ns / 1000000u, 0);
	uint64_t x = ns / 1000u;
	if (x == 0)
		return itoa_div(buf, len, 0, 0);
	int dec = 3;
	while (x >= 100) {
		x /= 10;
		dec--;
	}
	return itoa_div(buf, len, x, dec);
}

static void add_range(uintptr_t lo, uintptr_t hi, void *ctx)
{
	*(uint64_t *)ctx += hi - lo;
}

static uint64_t mb(int64_t b)
{
	return b > 0 ? (uint64_t)b >> 20 : 0;
}

static void print_lines(struct gctrace_cycle *g, uint64_t pause_max)
{
	char f[8][24];
	const uint64_t *t = g->t, *c = g->cpu;
	uint64_t globals = 0;
	roots_visit(add_range, &globals);
	uint64_t stacks = ld_relaxed(&tri_stats.stack_scanned_bytes) - g->stack_bytes0;
	uint64_t ms_start = (t[GT_START] - tri_rt.start_ns) / 1000000u;
	char line[512];
	int len = snprintf(line, sizeof line,
		 "gc %llu @%ss %d%%: %s+%s+%s ms clock, %s+%s/%s/%s+%s ms cpu, "
		 "%llu->%llu->%llu MB, %llu MB goal, %llu MB stacks, %llu MB globals, %u P%s\n",
		 (unsigned long long)g->n, itoa_div(f[0], sizeof f[0], ms_start, 3),
		 (int)(gccpu_fraction() * 100),
		 gctrace_fmt_ms(f[1], sizeof f[1], t[GT_BARRIER] - t[GT_START]),
		 gctrace_fmt_ms(f[2], sizeof f[2], t[GT_MARK] - t[GT_BARRIER]),
		 gctrace_fmt_ms(f[3], sizeof f[3], t[GT_SWEEP_HS] - t[GT_MARK]),
		 gctrace_fmt_ms(f[4], sizeof f[4], c[GT_BARRIER] - c[GT_START]),
		 gctrace_fmt_ms(f[5], sizeof f[5], mutator_gc_ns() - g->mutator_gc_ns0),
		 gctrace_fmt_ms(f[6], sizeof f[6], c[GT_MARK] - c[GT_BARRIER]),
		 "0", /* idle mark time: tricolor has no idle-priority markers */
		 gctrace_fmt_ms(f[7], sizeof f[7], c[GT_SWEEP_HS] - c[GT_MARK]),
		 (unsigned long long)mb(g->heap0), (unsigned long long)mb(g->heap1),
		 (unsigned long long)mb((int64_t)g->heap2),
		 (unsigned long long)mb((int64_t)ld_relaxed(&tri_stats.heap_goal)),
		 (unsigned long long)mb((int64_t)stacks), (unsigned long long)mb((int64_t)globals),
		 gccpu_nprocs(), g->forced ? " (forced)" : "");
	if (len > 0 && (size_t)len < sizeof line)
		snprintf(line + len, sizeof line - (size_t)len,
			 "tricolor gc %llu: sweep %s ms clock, %s ms cpu, max pause %s ms, "
			 "%u termination rounds, %llu handshakes, %d mark workers, %llu threads, "
			 "%llu MB kept\n",
			 (unsigned long long)g->n, gctrace_fmt_ms(f[1], sizeof f[1], t[GT_END] - t[GT_SWEEP_HS]),
			 gctrace_fmt_ms(f[2], sizeof f[2], c[GT_END] - c[GT_SWEEP_HS]),
			 gctrace_fmt_ms(f[3], sizeof f[3], pause_max), g->rounds,
			 (unsigned long long)(ld_relaxed(&tri_stats.handshakes) - g->handshakes0),
			 tri_rt.opt.mark_workers, (unsigned long long)ld_relaxed(&tri_stats.threads_attached),
			 (unsigned long long)mb((int64_t)g->kept));
	fputs(line, stderr);
}

void gctrace_end(struct gctrace_cycle *g, uint64_t t_end)
{
	gctrace_at(g, GT_END, t_end);
	/* Heap peak for the exit statistics: heap_live is largest just before
	 * the sweep frees (mark termination) or at the cycle's start. */
	int64_t peak = g->heap1 > g->heap0 ? g->heap1 : g->heap0;
	if (peak > ld_relaxed(&tri_stats.heap_peak))
		st_relaxed(&tri_stats.heap_peak, peak);
	if (tri_rt.opt.gctrace)
		print_lines(g, pause_cycle_max_take());
}
