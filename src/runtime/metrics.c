/* SPDX-License-Identifier: MIT */
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

/*
 * TRI_METRIC_TABLE(X): X(id, name, description, reader), the one list of
 * metrics: it generates the names and descriptions tri_metrics_list
 * returns (and docs/metrics.md, `make docs-tables`) and, from the same row,
 * the function that reads the value, so a name and its reader cannot drift
 * apart. reader: an expression, evaluated when the metric is read.
 */
#define TRI_METRIC_TABLE(X)                                                                       \
	X(cycles, "/gc/cycles/total:gc-cycles", "Completed GC cycles.", S(cycles))                    \
	X(forced, "/gc/cycles/forced:gc-cycles", "tri_collect calls (each forces a cycle).", S(forced_cycles)) \
	X(periodic, "/gc/cycles/periodic:gc-cycles",                                                  \
	  "Cycles started because none had run for gc_period_ms (Go's forcegcperiod).", S(periodic_cycles)) \
	X(live, "/gc/heap/live:bytes",                                                                \
	  "Heap bytes the last sweep found live (Go: marked live after the last GC).", S(heap_marked)) \
	X(goal, "/gc/heap/goal:bytes",                                                                \
	  "Heap size at which the pacer wants the next cycle to have finished.", S(heap_goal))       \
	X(allocs_bytes, "/gc/heap/allocs:bytes", "Cumulative bytes allocated (counted per span refill).", \
	  S(alloc_bytes))                                                                             \
	X(allocs_objects, "/gc/heap/allocs:objects",                                                  \
	  "Cumulative objects allocated (counted per span refill).", S(alloc_objects))               \
	X(frees_bytes, "/gc/heap/frees:bytes", "Cumulative bytes freed by the sweeper.", S(freed_bytes)) \
	X(frees_objects, "/gc/heap/frees:objects", "Cumulative objects freed by the sweeper.", S(freed_objects)) \
	X(heap_objects, "/memory/classes/heap/objects:bytes",                                         \
	  "Bytes in allocated objects, plus free slots in thread-cached spans.", pos(S(heap_live)))   \
	X(heap_free, "/memory/classes/heap/free:bytes", "Bytes in free page runs still mapped.",      \
	  heap_free_bytes())                                                                          \
	X(heap_released, "/memory/classes/heap/released:bytes",                                       \
	  "Bytes in free page runs returned to the OS.", heap_released_bytes())                      \
	X(total, "/memory/classes/total:bytes", "Heap memory mapped and not returned to the OS.",     \
	  page_heap_resident_bytes())                                                                 \
	X(pause_count, "/gc/pauses/count:pauses",                                                     \
	  "Pauses seen by threads (handshake actions, assists, waits, stops).", S(pause_count))       \
	X(pause_total, "/gc/pauses/total:nanoseconds", "Sum of all pauses.", S(pause_total_ns))        \
	X(pause_max, "/gc/pauses/max:nanoseconds", "Longest single pause any thread saw.", S(pause_max_ns)) \
	X(mark_time, "/gc/mark/time:nanoseconds", "Cumulative wall time of mark phases.", S(mark_time_ns)) \
	X(mark_last, "/gc/mark/last:nanoseconds", "Wall time of the last cycle's mark phase.", S(mark_last_ns)) \
	X(scanned_bytes, "/gc/mark/scanned:bytes", "Cumulative bytes scanned by the marker.", S(scanned_bytes)) \
	X(scanned_objects, "/gc/mark/scanned:objects", "Cumulative objects scanned by the marker.",   \
	  S(scanned_objects))                                                                         \
	X(assists, "/gc/assists/total:nanoseconds", "Cumulative time mutators spent in mark assists.", \
	  S(assist_ns))                                                                               \
	X(handshakes, "/gc/handshakes/total:handshakes", "Handshakes run by the collector.", S(handshakes)) \
	X(rounds, "/gc/termination/rounds:rounds", "Cumulative termination rounds (one per A/B pair).", \
	  S(termination_rounds))                                                                      \
	X(fin_queued, "/gc/finalizers/queued:finalizers", "Finalizers queued so far.", S(fin_queued))  \
	X(fin_executed, "/gc/finalizers/executed:finalizers", "Finalizers that have finished running.", \
	  S(fin_executed))                                                                            \
	X(cln_queued, "/gc/cleanups/queued:cleanups", "Cleanups queued so far.", S(cln_queued))        \
	X(cln_executed, "/gc/cleanups/executed:cleanups", "Cleanups that have finished running.",     \
	  S(cln_executed))                                                                            \
	X(cln_workers, "/gc/cleanups/workers:threads", "Cleanup worker threads now.", S(cln_workers))  \
	X(cln_peak, "/gc/cleanups/workers-peak:threads", "Most cleanup worker threads at once.",      \
	  S(cln_workers_peak))                                                                        \
	X(attached, "/sched/threads/attached:threads",                                                \
	  "Attached threads now (including the finalizer and cleanup threads).", S(threads_attached)) \
	X(gogc, "/gc/gogc:percent", "gc_percent (Go's GOGC); UINT64_MAX (-1 as uint64) when off.",    \
	  (uint64_t)ld_relaxed(&tri_rt.opt.gc_percent))                                               \
	X(gomemlimit, "/gc/gomemlimit:bytes", "memory_limit (Go's GOMEMLIMIT); 0 when none.",          \
	  tri_rt.opt.memory_limit)                                                                    \
	X(trigger, "/gc/heap/trigger:bytes", "Heap size at which the next cycle starts.", S(heap_trigger)) \
	X(oom, "/gc/heap/oom:errors", "Allocations that returned NULL with ENOMEM.", S(oom_count))      \
	X(sweep_last, "/gc/sweep/last:nanoseconds", "Wall time of the last cycle's background sweep.", \
	  S(sweep_last_ns))                                                                           \
	X(spans, "/gc/heap/spans:spans", "Spans in use.", S(spans_inuse))                              \
	X(preempt_signals, "/sched/preempt/signals:signals",                                          \
	  "Preemption signals sent to threads that held up a handshake.", S(preempt_signals))         \
	X(preempt_acted, "/sched/preempt/acted:signals",                                              \
	  "Preemption signals whose handler ran the thread's handshake action.", S(preempt_acted))    \
	X(preempt_declined, "/sched/preempt/declined:signals",                                        \
	  "Preemption signals that found the thread outside an asynchronous safe point.",             \
	  S(preempt_declined))                                                                        \
	TRI_PAUSE_KIND_METRICS(X, handshake, "handshake", TRI_PAUSE_HANDSHAKE,                        \
			       "handshake actions a thread ran or that ran on its behalf")            \
	TRI_PAUSE_KIND_METRICS(X, assist, "assist", TRI_PAUSE_ASSIST, "mark assists")                  \
	TRI_PAUSE_KIND_METRICS(X, stop, "stop", TRI_PAUSE_STOP, "checkmark stops of the world")        \
	TRI_PAUSE_KIND_METRICS(X, wait, "wait", TRI_PAUSE_WAIT, "allocations that waited for a cycle") \
	TRI_PAUSE_KIND_METRICS(X, sweep, "sweep", TRI_PAUSE_SWEEP,                                    \
			       "lazy sweeps by an allocating thread (over 2 us)")                     \
	TRI_PAUSE_KIND_METRICS(X, lock, "lock", TRI_PAUSE_LOCK,                                       \
			       "waits for an allocator lock another thread held (over 2 us)")         \
	TRI_PAUSE_KIND_METRICS(X, heap, "heap", TRI_PAUSE_HEAP,                                       \
			       "page-heap growth and fresh-span clearing (over 2 us)")                \
	TRI_PAUSE_KIND_METRICS(X, callback, "callback", TRI_PAUSE_CALLBACK,                           \
			       "finalizer or cleanup queue hand-offs (over 2 us)")                    \
	X(handshake_time, "/gc/handshakes/time:nanoseconds",                                          \
	  "Cumulative wall time of the collector's handshakes, from posting to the last thread's answer.", \
	  S(handshake_ns))                                                                            \
	X(handshake_longest, "/gc/handshakes/longest:nanoseconds",                                    \
	  "Longest handshake, from posting to the last thread's answer.", S(handshake_max_ns))        \
	X(handshake_cpu_max, "/gc/pauses/handshake/cpu-max:nanoseconds",                              \
	  "Longest on-CPU time of a handshake action a thread ran itself (its thread CPU clock).",     \
	  S(hs_action_cpu_max_ns))                                                                    \
	X(handshake_descheduled, "/gc/pauses/handshake/descheduled:pauses",                           \
	  "Handshake actions a thread ran itself that were off the CPU for over 50 us of their length (OS scheduling).", \
	  S(hs_action_descheduled))

/* Three rows per TRI_PAUSE_* kind k: count, total and longest. */
#define TRI_PAUSE_KIND_METRICS(X, id, kind, k, what)                                              \
	X(pause_##id##_count, "/gc/pauses/" kind "/count:pauses", "Pauses of kind " kind ": " what ".", \
	  S(pause_kind_count[k]))                                                                     \
	X(pause_##id##_total, "/gc/pauses/" kind "/total:nanoseconds",                                \
	  "Sum of the pauses of kind " kind ".", S(pause_kind_ns[k]))                                 \
	X(pause_##id##_max, "/gc/pauses/" kind "/max:nanoseconds", "Longest pause of kind " kind ".",  \
	  S(pause_kind_max_ns[k]))

#define READER(id, name, desc, expr)                                                              \
	static uint64_t read_##id(void)                                                               \
	{                                                                                             \
		return expr;                                                                          \
	}
TRI_METRIC_TABLE(READER)

#define DESC(id, name, desc, expr) {name, desc},
static const tri_metric_desc metrics[] = {TRI_METRIC_TABLE(DESC)};
#define READER_PTR(id, name, desc, expr) read_##id,
static uint64_t (*const readers[])(void) = {TRI_METRIC_TABLE(READER_PTR)};

#define NMETRICS (sizeof metrics / sizeof metrics[0])
_Static_assert(sizeof readers / sizeof readers[0] == NMETRICS, "one reader per metric");

int tri_read_metric(const char *name, uint64_t *value)
{
	NO_PREEMPT();
	if (!name || !value)
		return EINVAL;
	for (size_t i = 0; i < NMETRICS; i++) {
		if (!strcmp(name, metrics[i].name)) {
			*value = tri_rt.initialized ? readers[i]() : 0;
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
