/* SPDX-License-Identifier: MIT */
/*
 * stats.c - the statistics report at exit (see stats.h).
 *
 * Reads tri_stats racily (each figure exact on its own, not a snapshot:
 * collector threads still run while the process exits), the pause rings
 * through tri_pauses, and the GC CPU time through gccpu.c. Writes the
 * report with one fputs to stderr. The heap peak is the maximum of
 * heap_live sampled by gctrace_end at each cycle's start and mark
 * termination (where it peaks in a paced heap) and at exit; the resident
 * set peak (getrusage) is printed beside it. Pause percentiles are exact
 * nearest-rank over the pauses the rings still hold (the last 8192 per
 * thread); the report says how many that is when fewer than all.
 */
#include "runtime/stats.h"
#include "alloc/page_heap.h"
#include "runtime/gccpu.h"
#include "runtime/runtime.h"
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#define S(field) ld_relaxed(&tri_stats.field)
#define MIB(b) ((double)(b) / 1048576.0)
#define MS(ns) ((double)(ns) / 1e6)

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t stats_nearest_rank(uint64_t *v, size_t n, double p)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof *v, cmp_u64);
	double r = p / 100.0 * (double)n;
	size_t rank = (size_t)r;
	if ((double)rank < r)
		rank++; /* ceil without libm */
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

/* Pause lengths still in the rings, as a malloc'd array (*n of them). */
static uint64_t *pause_lengths(size_t *n)
{
	size_t cap = S(pause_count) + 64;
	if (cap > (1u << 22))
		cap = 1u << 22;
	tri_pause *p = malloc(cap * sizeof *p);
	uint64_t *len = malloc(cap * sizeof *len);
	*n = 0;
	if (!p || !len) {
		free(p);
		free(len);
		return NULL;
	}
	*n = tri_pauses(p, cap);
	for (size_t i = 0; i < *n; i++)
		len[i] = p[i].length_ns;
	free(p);
	return len;
}

static void print_report(void)
{
	char buf[2048];
	size_t off = 0;
#define OUT(...)                                                              \
	do {                                                                  \
		int w_ = snprintf(buf + off, sizeof buf - off, __VA_ARGS__);  \
		if (w_ > 0)                                                   \
			off = off + (size_t)w_ < sizeof buf ? off + (size_t)w_ : sizeof buf - 1; \
	} while (0)
	uint64_t wall = tri_now_ns() - tri_rt.start_ns;
	unsigned np = gccpu_nprocs();
	uint64_t coll = gccpu_collector_ns(), assist = S(assist_ns), hs = S(pause_handshake_ns);
	uint64_t gc_cpu = coll + assist + hs;
	int64_t peak = S(heap_peak), now = S(heap_live);
	if (now > peak)
		peak = now;
	size_t np_ret = 0;
	uint64_t *len = pause_lengths(&np_ret);
	uint64_t count = S(pause_count);
	uint64_t p50 = stats_nearest_rank(len, np_ret, 50), p99 = stats_nearest_rank(len, np_ret, 99);
	uint64_t pmax = np_ret ? len[np_ret - 1] : 0;
	if (S(pause_max_ns) > pmax)
		pmax = S(pause_max_ns);
	free(len);
	uint64_t freeb, released;
	page_heap_usage(&freeb, &released);
	struct rusage ru;
	long maxrss_kib = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;

	OUT("tricolor: statistics at exit (pid %d, %.3f s since tri_init, %u CPUs)\n", (int)getpid(),
	    (double)wall / 1e9, np);
	OUT("  cycles: %llu (%llu forced)\n", (unsigned long long)S(cycles),
	    (unsigned long long)S(forced_cycles));
	OUT("  heap peak: %.1f MiB (heap in use, sampled at cycle boundaries); peak RSS %.1f MiB\n",
	    MIB(peak > 0 ? peak : 0), (double)maxrss_kib / 1024.0);
	OUT("  heap at exit: %.1f MiB in use, %.1f MiB live after the last sweep, %.1f MiB goal\n",
	    MIB(now > 0 ? now : 0), MIB(S(heap_marked)), MIB(S(heap_goal)));
	OUT("  allocated: %.1f MiB (%llu objects); freed %.1f MiB (%llu objects)\n", MIB(S(alloc_bytes)),
	    (unsigned long long)S(alloc_objects), MIB(S(freed_bytes)), (unsigned long long)S(freed_objects));
	OUT("  gc cpu: %.3f ms, %.2f%% of %u CPUs x %.3f s (collector threads %.3f ms, assists %.3f ms, "
	    "handshake actions %.3f ms)\n",
	    MS(gc_cpu), wall ? 100.0 * (double)gc_cpu / ((double)wall * np) : 0.0, np, (double)wall / 1e9,
	    MS(coll), MS(assist), MS(hs));
	OUT("  pauses: %llu, total %.3f ms, p50 %.3f ms, p99 %.3f ms, max %.3f ms (nearest rank over %zu%s)\n",
	    (unsigned long long)count, MS(S(pause_total_ns)), MS(p50), MS(p99), MS(pmax), np_ret,
	    np_ret < count ? " most recent" : "");
	OUT("  finalizers run: %llu (%llu queued)\n", (unsigned long long)S(fin_executed),
	    (unsigned long long)S(fin_queued));
	OUT("  cleanups run: %llu (%llu queued, %llu workers at most)\n", (unsigned long long)S(cln_executed),
	    (unsigned long long)S(cln_queued), (unsigned long long)S(cln_workers_peak));
	OUT("  memory returned to the OS: %.1f MiB in all; %.1f MiB released now, %.1f MiB mapped\n",
	    MIB(S(released_total)), MIB(released), MIB(S(mapped_bytes)));
#undef OUT
	fputs(buf, stderr);
}

void stats_init(void)
{
	if (tri_rt.opt.stats)
		atexit(print_report);
}
