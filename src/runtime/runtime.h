/* SPDX-License-Identifier: MIT */
/*
 * runtime.h - the runtime's global state and the declarations every part
 * of the collector shares. Per-part details live in each part's header.
 *
 * tri_rt fields, who writes them and how they are synchronized:
 *   opt          tri_init, before any other runtime thread starts; then
 *                read-only (gc_percent: atomic, tri_gc_percent).
 *   phase        the coordinator thread, seq_cst stores: cycle.c, and
 *                mark_gate_try_close (mark/grey_queue.c, run by the
 *                coordinator) for MARK -> MARK_DONE; read by anyone
 *                (barrier flush, assists, set_finalizer, mark_late_range).
 *   cycle        number of the cycle in progress or last run; coordinator,
 *                under cycle_lock; read relaxed elsewhere.
 *   sweep_cycle  the cycle whose sweep is running or done; coordinator,
 *                seq_cst store before the sweep handshake; read by span
 *                creation (a small span only enters a cache, and is checked
 *                again when released; a large span reads it under its class
 *                lock) and by central release under the class lock.
 *   mark_black   1 once the stack-scan handshake began: threads attaching
 *                from then on allocate black. Coordinator; seq_cst.
 *   requested, started, completed: cycle counters, under cycle_lock.
 */
#ifndef TRI_RUNTIME_H
#define TRI_RUNTIME_H

#include "config.h"
#include "tricolor.h"
#include "runtime/atomics.h"
#include "runtime/clock.h"
#include "runtime/lock.h"
#include "runtime/options.h"
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Debug levels (configure --enable-debug=LEVEL, as mimalloc's MI_DEBUG):
 *   0  release: no assertions (misuse and broken invariants the release
 *      build checks abort with tri_fatal all the same)
 *   1  tri_assert: cheap assertions where invariants are kept (thread state
 *      changes, span ownership, grey-queue and gate counters, sweeping)
 *   2  (--enable-debug) also tri_assert2 and heap_check after every sweep:
 *      O(list) or O(spans) checks
 *   3  also tri_assert3: O(heap) checks, the tri-colour invariant over the
 *      whole heap after every mark (mark/color.h)
 * TRI_DEBUG is defined (to the level) in debug builds only, so `#ifdef
 * TRI_DEBUG` means level 1 or more. A failed assertion aborts with its text
 * and place; it is never tolerated.
 */
#ifdef TRI_DEBUG
#define TRI_DEBUG_LEVEL TRI_DEBUG
#else
#define TRI_DEBUG_LEVEL 0
#endif
#define tri_assert_level(level, c)                                            \
	do {                                                                  \
		if (TRI_DEBUG_LEVEL >= (level) && !(c))                       \
			tri_fatal("tricolor: assertion failed: %s (%s:%d)",   \
				  #c, __FILE__, __LINE__);                    \
	} while (0)
#define tri_assert(c) tri_assert_level(1, c)
#define tri_assert2(c) tri_assert_level(2, c)
#define tri_assert3(c) tri_assert_level(3, c)

enum gc_phase {
	PHASE_IDLE = 0,	 /* no cycle: sweeping done, barrier off */
	PHASE_MARK = 1,	 /* barrier on, marking (or about to start) */
	PHASE_MARK_DONE = 2, /* marking terminated; barrier shades are dropped */
	PHASE_SWEEP = 3	 /* sweeping the cycle's spans */
};

struct tri_runtime {
	int initialized;
	struct tri_options opt;
	int phase;
	uint64_t cycle;
	uint64_t sweep_cycle;
	int mark_black;
	int mark_enabled; /* workers may blacken: after the barrier handshake */
	uint64_t requested, started, completed;
	pthread_mutex_t cycle_lock;
	pthread_cond_t cycle_cond;  /* coordinator waits for work */
	pthread_cond_t cycle_done;  /* tri_collect waits for completion */
	int trigger_pending;	    /* atomic: a mutator asked for a cycle */
	int forking;		    /* cycle_lock: fork() in progress, start no cycle */
	uint64_t start_ns;	    /* process start, for gctrace */
	pid_t pid;
};

/* Counters for metrics; each is updated with relaxed atomics by whoever
 * does the counted thing, and read racily by tri_read_metric. */
struct tri_stats {
	uint64_t mapped_bytes;	/* committed arena */
	uint64_t released_bytes; /* free runs returned to the OS (page heap lock) */
	uint64_t released_total; /* cumulative bytes returned (page_heap.c; stats.c) */
	uint64_t spans_inuse;
	int64_t heap_live;	/* bytes in objects + free bytes in cached spans */
	uint64_t heap_marked;	/* live bytes after the last sweep */
	uint64_t heap_goal;
	uint64_t heap_trigger;
	uint64_t alloc_bytes;	/* cumulative */
	uint64_t alloc_objects;
	uint64_t freed_bytes;
	uint64_t freed_objects;
	uint64_t cycles;
	uint64_t forced_cycles;
	uint64_t periodic_cycles; /* started by gc_period_ms (cycle.c, coordinator) */
	uint64_t pause_count, pause_total_ns, pause_max_ns;
	/* per TRI_PAUSE_* kind (index 0 unused): pause.c, relaxed atomics */
	uint64_t pause_kind_count[TRI_PAUSE_CALLBACK + 1];
	uint64_t pause_kind_ns[TRI_PAUSE_CALLBACK + 1];
	uint64_t pause_kind_max_ns[TRI_PAUSE_CALLBACK + 1];
	uint64_t mark_time_ns, mark_last_ns;
	uint64_t sweep_last_ns;
	uint64_t scanned_bytes, scanned_objects;
	uint64_t assist_ns;
	uint64_t threads_attached;
	uint64_t handshakes;
	/* coordinator: wall time of its handshakes (post to last answer), sum and max */
	uint64_t handshake_ns, handshake_max_ns;
	/* owners' own handshake actions: the longest on-CPU time of one (its
	 * thread CPU clock), and how many were off the CPU for more than
	 * HS_OFFCPU_NS of their wall time (the OS ran something else: an
	 * action takes no lock and does not sleep) */
	uint64_t hs_action_cpu_max_ns, hs_action_descheduled;
	uint64_t termination_rounds;
	uint64_t fin_queued, fin_executed;
	uint64_t cln_queued, cln_executed;
	uint64_t cln_workers, cln_workers_peak;
	uint64_t oom_count;
	uint64_t preempt_signals, preempt_acted, preempt_declined;
	/* Observability (gctrace.c, stats.c, gccpu.c): */
	uint64_t pause_handshake_ns;	/* handshake-action pauses; under pause_lock */
	uint64_t pause_cycle_max_ns;	/* longest pause since the last gctrace line;
					 * under pause_lock (pause_cycle_max_take) */
	uint64_t stack_scanned_bytes;	/* cumulative, by whoever scans a stack */
	int64_t heap_peak;		/* max heap_live sampled at cycle points; coordinator */
};

extern struct tri_runtime tri_rt;
extern struct tri_stats tri_stats;

__attribute__((noreturn, format(printf, 1, 2))) void tri_fatal(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void tri_warn(const char *fmt, ...);
/* Name a function for a report: "symbol+0x10", "0x... (in libfoo.so)" or
 * the address (dladdr; fatal.c). */
void rt_describe_fn(void *fn, char *buf, size_t len);

/* Clear a stack slot that holds a heap pointer the thread no longer needs.
 * A plain store to a dead local is removed by the compiler, and the stale
 * slot would keep the object alive through conservative stack scanning
 * (an idle cleanup worker kept its last arg alive this way). */
#define clear_stack_ref(lv)                                                   \
	do {                                                                  \
		__atomic_store_n(&(lv), NULL, __ATOMIC_RELAXED);              \
		__asm__ __volatile__("" : : : "memory");                      \
	} while (0)

/* Before a callback thread goes idle in a blocking region (where its
 * callee-saved registers are saved and scanned): zero those registers, so a
 * stale copy of the last callback's object or arg is not kept alive for as
 * long as the thread sleeps. The clobbers make the compiler keep its live
 * values elsewhere across the statement. */
#if defined(__x86_64__)
#define scrub_callee_saved()                                                  \
	__asm__ __volatile__("xorl %%ebx, %%ebx\n\txorl %%r12d, %%r12d\n\t"     \
			     "xorl %%r13d, %%r13d\n\txorl %%r14d, %%r14d\n\t"     \
			     "xorl %%r15d, %%r15d"                               \
			     : : : "rbx", "r12", "r13", "r14", "r15", "memory")
#else
#define scrub_callee_saved() __asm__ __volatile__("" : : : "memory")
#endif

/* Start a detached internal thread (runtime/fatal.c); returns 0 or errno. */
int tri_spawn_detached(void *(*fn)(void *), void *arg);
/* The same, named for perf/top/gdb ("name-index", or "name" when index is
 * -1, or a process-wide sequence number with TRI_SPAWN_AUTO_INDEX; at most
 * 15 characters). Every runtime thread runs at the normal scheduling
 * policy (docs/design.md, "Sharing the CPU", says why). */
#define TRI_SPAWN_AUTO_INDEX (-2)
int tri_spawn_thread(void *(*fn)(void *), void *arg, const char *name, int index);

/* pthread_cond_wait on `cond` (mutex held) until woken or, when deadline_ns
 * (CLOCK_MONOTONIC) is not 0, until it passes; returns ETIMEDOUT once the
 * deadline has passed, else 0. Wakes at least every 50 ms. */
int tri_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex, uint64_t deadline_ns);

/*
 * ThreadSanitizer cannot see liburcu's barriers (inline assembly), so in
 * TSan builds the two synchronisations they provide are declared to it:
 * publishing a thread record on the registry list (attach releases it, a
 * walker acquires it) and reclaiming it after a grace period (the
 * coordinator releases rcu_sync_token before each rcu_read_unlock, the
 * call_rcu callback acquires it before free). No-ops otherwise.
 */
#ifdef TRI_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define tsan_acquire(p) __tsan_acquire((void *)(p))
#define tsan_release(p) __tsan_release((void *)(p))
#else
#define tsan_acquire(p) ((void)0)
#define tsan_release(p) ((void)0)
#endif
extern int tri_rcu_sync_token;

/* Code that reads memory no C object owns at that moment (a conservative
 * scan of object words, stack slots, a signal frame: mark/scan.h,
 * runtime/preempt.c) is excluded from sanitizer instrumentation. */
#if defined(__clang__) || __GNUC__ >= 8
#define TRI_NO_SANITIZE                                                       \
	__attribute__((no_sanitize("address", "thread", "undefined")))
#else
#define TRI_NO_SANITIZE
#endif

/* Abort unless tri_init ran (name: the calling API function). */
void tri_require_init(const char *fn);

/* The zero-size allocation's address (tri_alloc(0)). */
extern char tri_zerobase[16];

#endif
