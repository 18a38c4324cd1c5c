/*
 * metrics.c - tri_read_metric: Go runtime/metrics names where Go has one.
 * Values are read racily from tri_stats (relaxed atomics): each is exact on
 * its own, but two metrics read one after the other are not a snapshot.
 */
#include "alloc/page_heap.h"
#include "runtime/pause.h"
#include "runtime/preempt.h"
#include "runtime/runtime.h"
#include <errno.h>
#include <string.h>

static uint64_t pos(int64_t v)
{
	return v > 0 ? (uint64_t)v : 0;
}

static uint64_t heap_free_bytes(void)
{
	uint64_t f, r;
	page_heap_usage(&f, &r);
	return f - r;
}

static uint64_t heap_released_bytes(void)
{
	uint64_t f, r;
	page_heap_usage(&f, &r);
	return r;
}

#define S(field) ld_relaxed(&tri_stats.field)
#define PAUSE_METRICS_FIRST 38 /* index of the first per-kind pause metric */

static uint64_t metric_value(int i)
{
	switch (i) {
	case 0: return S(cycles);
	case 1: return S(forced_cycles);
	case 2: return S(heap_marked);
	case 3: return S(heap_goal);
	case 4: return S(alloc_bytes);
	case 5: return S(alloc_objects);
	case 6: return S(freed_bytes);
	case 7: return S(freed_objects);
	case 8: return pos(S(heap_live));
	case 9: return heap_free_bytes();
	case 10: return heap_released_bytes();
	case 11: return S(mapped_bytes) - heap_released_bytes();
	case 12: return S(pause_count);
	case 13: return S(pause_total_ns);
	case 14: return S(pause_max_ns);
	case 15: return S(mark_time_ns);
	case 16: return S(mark_last_ns);
	case 17: return S(scanned_bytes);
	case 18: return S(scanned_objects);
	case 19: return S(assist_ns);
	case 20: return S(handshakes);
	case 21: return S(termination_rounds);
	case 22: return S(fin_queued);
	case 23: return S(fin_executed);
	case 24: return S(cln_queued);
	case 25: return S(cln_executed);
	case 26: return S(cln_workers);
	case 27: return S(cln_workers_peak);
	case 28: return S(threads_attached);
	case 29: return (uint64_t)ld_relaxed(&tri_rt.opt.gc_percent);
	case 30: return tri_rt.opt.memory_limit;
	case 31: return S(heap_trigger);
	case 32: return S(oom_count);
	case 33: return S(sweep_last_ns);
	case 34: return S(spans_inuse);
	case 35: return S(preempt_signals);
	case 36: return S(preempt_acted);
	case 37: return S(preempt_declined);
	default:
		if (i >= PAUSE_METRICS_FIRST && i < PAUSE_METRICS_FIRST + 3 * (PAUSE_KINDS - 1)) {
			int k = 1 + (i - PAUSE_METRICS_FIRST) / 3, which = (i - PAUSE_METRICS_FIRST) % 3;
			return which == 0 ? S(pause_kind_count[k]) : which == 1 ? S(pause_kind_ns[k])
										 : S(pause_kind_max_ns[k]);
		}
		if (i == PAUSE_METRICS_FIRST + 3 * (PAUSE_KINDS - 1))
			return S(handshake_ns);
		if (i == PAUSE_METRICS_FIRST + 3 * (PAUSE_KINDS - 1) + 1)
			return S(handshake_max_ns);
		if (i == PAUSE_METRICS_FIRST + 3 * (PAUSE_KINDS - 1) + 2)
			return S(hs_action_cpu_max_ns);
		if (i == PAUSE_METRICS_FIRST + 3 * (PAUSE_KINDS - 1) + 3)
			return S(hs_action_descheduled);
		return 0;
	}
}

static const tri_metric_desc metrics[] = {
	{"/gc/cycles/total:gc-cycles", "Completed GC cycles."},
	{"/gc/cycles/forced:gc-cycles", "tri_collect calls (each forces a cycle)."},
	{"/gc/heap/live:bytes", "Heap bytes the last sweep found live (Go: marked live after the last GC)."},
	{"/gc/heap/goal:bytes", "Heap size at which the pacer wants the next cycle to have finished."},
	{"/gc/heap/allocs:bytes", "Cumulative bytes allocated (counted per span refill)."},
	{"/gc/heap/allocs:objects", "Cumulative objects allocated (counted per span refill)."},
	{"/gc/heap/frees:bytes", "Cumulative bytes freed by the sweeper."},
	{"/gc/heap/frees:objects", "Cumulative objects freed by the sweeper."},
	{"/memory/classes/heap/objects:bytes", "Bytes in allocated objects, plus free slots in thread-cached spans."},
	{"/memory/classes/heap/free:bytes", "Bytes in free page runs still mapped."},
	{"/memory/classes/heap/released:bytes", "Bytes in free page runs returned to the OS."},
	{"/memory/classes/total:bytes", "Heap memory mapped and not returned to the OS."},
	{"/gc/pauses/count:pauses", "Pauses seen by threads (handshake actions, assists, waits, stops)."},
	{"/gc/pauses/total:nanoseconds", "Sum of all pauses."},
	{"/gc/pauses/max:nanoseconds", "Longest single pause any thread saw."},
	{"/gc/mark/time:nanoseconds", "Cumulative wall time of mark phases."},
	{"/gc/mark/last:nanoseconds", "Wall time of the last cycle's mark phase."},
	{"/gc/mark/scanned:bytes", "Cumulative bytes scanned by the marker."},
	{"/gc/mark/scanned:objects", "Cumulative objects scanned by the marker."},
	{"/gc/assists/total:nanoseconds", "Cumulative time mutators spent in mark assists."},
	{"/gc/handshakes/total:handshakes", "Handshakes run by the collector."},
	{"/gc/termination/rounds:rounds", "Cumulative termination rounds (one per A/B pair)."},
	{"/gc/finalizers/queued:finalizers", "Finalizers queued so far."},
	{"/gc/finalizers/executed:finalizers", "Finalizers that have finished running."},
	{"/gc/cleanups/queued:cleanups", "Cleanups queued so far."},
	{"/gc/cleanups/executed:cleanups", "Cleanups that have finished running."},
	{"/gc/cleanups/workers:threads", "Cleanup worker threads now."},
	{"/gc/cleanups/workers-peak:threads", "Most cleanup worker threads at once."},
	{"/sched/threads/attached:threads", "Attached threads now (including the finalizer and cleanup threads)."},
	{"/gc/gogc:percent", "gc_percent (Go's GOGC); UINT64_MAX (-1 as uint64) when off."},
	{"/gc/gomemlimit:bytes", "memory_limit (Go's GOMEMLIMIT); 0 when none."},
	{"/gc/heap/trigger:bytes", "Heap size at which the next cycle starts."},
	{"/gc/heap/oom:errors", "Allocations that returned NULL with ENOMEM."},
	{"/gc/sweep/last:nanoseconds", "Wall time of the last cycle's background sweep."},
	{"/gc/heap/spans:spans", "Spans in use."},
	{"/sched/preempt/signals:signals", "Preemption signals sent to threads that held up a handshake."},
	{"/sched/preempt/acted:signals", "Preemption signals whose handler ran the thread's handshake action."},
	{"/sched/preempt/declined:signals", "Preemption signals that found the thread outside an asynchronous safe point."},
#define PAUSE_METRICS(kind, what)                                                              \
	{"/gc/pauses/" kind "/count:pauses", "Pauses of kind " kind ": " what "."},                   \
	{"/gc/pauses/" kind "/total:nanoseconds", "Sum of the pauses of kind " kind "."},             \
	{"/gc/pauses/" kind "/max:nanoseconds", "Longest pause of kind " kind "."}
	/* PAUSE_METRICS_FIRST onwards, in TRI_PAUSE_* order (metric_value) */
	PAUSE_METRICS("handshake", "handshake actions a thread ran or that ran on its behalf"),
	PAUSE_METRICS("assist", "mark assists"),
	PAUSE_METRICS("stop", "checkmark stops of the world"),
	PAUSE_METRICS("wait", "allocations that waited for a cycle"),
	PAUSE_METRICS("sweep", "lazy sweeps by an allocating thread (over 2 us)"),
	PAUSE_METRICS("lock", "waits for an allocator lock another thread held (over 2 us)"),
	PAUSE_METRICS("heap", "page-heap growth and fresh-span clearing (over 2 us)"),
	PAUSE_METRICS("callback", "finalizer or cleanup queue hand-offs (over 2 us)"),
	/* after the per-kind pause metrics (metric_value) */
	{"/gc/handshakes/time:nanoseconds",
	 "Cumulative wall time of the collector's handshakes, from posting to the last thread's answer."},
	{"/gc/handshakes/longest:nanoseconds", "Longest handshake, from posting to the last thread's answer."},
	{"/gc/pauses/handshake/cpu-max:nanoseconds",
	 "Longest on-CPU time of a handshake action a thread ran itself (its thread CPU clock)."},
	{"/gc/pauses/handshake/descheduled:pauses",
	 "Handshake actions a thread ran itself that were off the CPU for over 50 us of their length (OS scheduling)."},
};

#define NMETRICS (sizeof metrics / sizeof metrics[0])

int tri_read_metric(const char *name, uint64_t *value)
{
	NO_PREEMPT();
	if (!name || !value)
		return EINVAL;
	for (size_t i = 0; i < NMETRICS; i++) {
		if (!strcmp(name, metrics[i].name)) {
			*value = tri_rt.initialized ? metric_value((int)i) : 0;
			return 0;
		}
	}
	return ENOENT;
}

const tri_metric_desc *tri_metrics_list(size_t *count)
{
	if (count)
		*count = NMETRICS;
	return metrics;
}
