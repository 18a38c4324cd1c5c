/* SPDX-License-Identifier: MIT */
/*
 * thread.h - the per-thread record of an attached (mutator) thread and the
 * registry the collector walks.
 *
 * The registry is an RCU list (liburcu, "bulletproof" flavour): threads
 * attach and detach under registry_lock with cds_list_add_rcu and
 * cds_list_del_rcu; the collector walks it inside rcu_read_lock without
 * blocking attaches, and a detached record is freed with call_rcu once no
 * walker can still see it. The bp flavour, not memb: after fork() only it can
 * drop the reader records of the parent's other threads (memb kept them, and
 * the child crashed in synchronize_rcu reading a dead thread's record).
 *
 * Fields of struct tri_thread, who writes them, how they are synchronized:
 *   slow          bit set: the owner must take its slow path. SLOW_POLL is set
 *                 by the collector (seq_cst OR) when it posts a handshake and
 *                 cleared by the owner (seq_cst AND) before it reads hs_req.
 *                 SLOW_DEBUG is set at attach in poison mode, never cleared.
 *   alloc[]       the owner; or the collector while it holds the thread in
 *                 state ACTING (the owner is then blocked in leave).
 *   wbuf, wbuf_n  same rule as alloc[].
 *   barrier_on, alloc_black, alloc_black_cycle: set by handshake actions
 *                 (owner at a safepoint, or collector while ACTING); read by
 *                 the owner.
 *   state         RUNNING <-> BLOCKING by the owner (release/acquire CAS);
 *                 BLOCKING -> ACTING -> BLOCKING by the collector (CAS);
 *                 DETACHED by the owner when it leaves.
 *   hs_req        the collector (seq_cst). hs_done: whoever ran the action
 *                 (release), read by the collector (acquire).
 *   blocking_sp, regs: the owner, before the release store of BLOCKING;
 *                 read by the collector after its acquire CAS.
 *   stack_lo, stack_hi, tls, ntls  set at attach, immutable.
 *   sig_lock      taken by the coordinator around pthread_sigqueue (preempt.c)
 *                 and by the owner around its store of DETACHED: t->pthread
 *                 stays valid while a signal is sent.
 *   handoff_state and the hand-off it guards (handoff_block,
 *                 handoff_produced, handback_n, handback[], hs_block): a
 *                 handshake action's marked-but-unscanned objects and the
 *                 sweep handshake's cached spans. EMPTY -> FULL by whoever
 *                 ran the thread's action (the owner, or the collector while
 *                 ACTING), a release store after filling the fields and
 *                 before acknowledging (hs_done); FULL -> DRAINING by a CAS
 *                 (acquire) of whoever publishes them (the coordinator right
 *                 after the thread acknowledged, or the owner at detach),
 *                 who refills hs_block and stores EMPTY (release). Only the
 *                 CAS winner touches the fields between FULL and EMPTY;
 *                 between EMPTY and FULL only the action's runner does.
 *   counters      the owner, relaxed; read racily for metrics.
 *   name_seq, name  the owner (tri_thread_set_name, runtime/thread_name.c)
 *                 under the seqcount name_seq (odd while writing), byte by
 *                 byte with relaxed atomics; any thread reads a consistent
 *                 copy with thread_name_read while the record is alive
 *                 (inside rcu_read_lock or under registry_lock).
 */
#ifndef TRI_THREAD_H
#define TRI_THREAD_H
#include "alloc/size_class.h"
#include "runtime/pause.h"
#include "runtime/runtime.h"
#include <urcu-bp.h>
#include <urcu/rculist.h>

#define SLOW_POLL 1u
#define SLOW_DEBUG 2u
#define SLOW_DETACHED 4u

#define WBUF_CAP 512
#define TRI_TLS_MAX 8

enum thread_state {
	TS_RUNNING = 0,
	TS_BLOCKING = 1,
	TS_ACTING = 2, /* blocking, and the collector acts on its behalf */
	TS_DETACHED = 3
};

struct span;
struct wblock;

struct tri_thread {
	uint32_t slow;
	uint32_t id;
	struct span *alloc[TRI_NUM_SPANCLASSES];

	uint32_t wbuf_n;
	int barrier_on;
	int alloc_black;
	uint64_t alloc_black_cycle;
	int64_t assist_debt;

	uint32_t state;
	uint64_t hs_req;
	uint64_t hs_done;

	uintptr_t stack_lo, stack_hi;
	/* The thread's TLS blocks that lie outside its stack (the main
	 * thread's, and any glibc placed elsewhere): set at attach, immutable;
	 * scanned with the stack (thread_scan_tls). */
	struct {
		uintptr_t lo, hi;
	} tls[TRI_TLS_MAX];
	uint32_t ntls;
	pthread_mutex_t sig_lock;
	uintptr_t blocking_sp;
	/* The lowest address the stack scan of cycle scan_cycle covered (the
	 * scanner's frame, or blocking_sp for a scan on the thread's behalf):
	 * written by whoever scans the stack (the owner in its action or at
	 * attach, the collector holding the record ACTING), read by
	 * debug=checkstacks with the world stopped (mark/checkmark.c). */
	uintptr_t scan_lo;
	uint64_t scan_cycle;
	/* While the preemption handler acts for the thread: the interrupted
	 * stack pointer (else 0). Below it lie the handler's frames and the
	 * kernel's signal frame, which holds every register of the
	 * interrupted code, dead ones included. Written by the owner in its
	 * handler, read by debug=checkstacks with the world stopped. */
	uintptr_t sig_sp;
	uintptr_t regs[8];
	int in_callback; /* running a finalizer/cleanup: tri_drain aborts */
	int exit_rounds; /* owner: pthread key destructor rounds seen (thread.c) */

	uint64_t alloc_bytes;
	struct pause_ring *ring;
	/* A handshake action's results, handed to the coordinator instead of
	 * to the grey queue and the central lists (runtime/handshake.c): a
	 * thread answering a handshake takes no collector lock. */
	uint32_t handoff_state; /* HANDOFF_* (handshake.h) */
	uint32_t handback_n;
	int handoff_produced;
	struct wblock *handoff_block;
	struct wblock *hs_block; /* the next action's (empty) mark block */
	struct span *handback[TRI_NUM_SPANCLASSES];
	/* debug=heapprofile (runtime/heapprof.c), this thread only: bytes to
	 * the next sample, a sample due on the slow path's return, the
	 * sampling interval generator's state. */
	int64_t prof_countdown;
	int prof_pending;
	uint64_t prof_rng;

	uint32_t name_seq;
	char name[TRI_THREAD_NAME_MAX]; /* "" = unnamed */

	struct cds_list_head node;
	struct rcu_head rcu;
	pthread_t pthread;

	uintptr_t wbuf[WBUF_CAP];
};

/* initial-exec: one %fs-relative load, no __tls_get_addr call on the
 * allocation fast path (the library must be loaded at start-up or fit the
 * static TLS surplus when dlopen'd; it needs 8 bytes). */
extern __thread struct tri_thread *tri_self __attribute__((tls_model("initial-exec")));
extern struct tri_thread tri_detached_thread;

/* The registry. */
extern struct cds_list_head tri_threads;
extern pthread_mutex_t tri_registry_lock;

/* Abort with "<fn>: thread not attached" unless the caller is attached. */
static inline struct tri_thread *thread_require(const char *fn)
{
	struct tri_thread *t = tri_self;
	if (unlikely(t == &tri_detached_thread)) {
		tri_require_init(fn);
		tri_fatal("%s: thread not attached (call tri_thread_attach first)", fn);
	}
	return t;
}

/* Copy t's name (tri_thread_set_name) into buf[n], NUL-terminated; "" if
 * it has none. t must stay alive (rcu_read_lock or registry_lock). */
void thread_name_read(struct tri_thread *t, char *buf, size_t n);

void thread_attach_internal(void);
/* Save callee-saved registers into regs[] (x86-64 and aarch64). */
void thread_save_regs(uintptr_t *regs);
/*
 * Abort unless sp lies inside t's stack [stack_lo, stack_hi). Stacks are
 * scanned from a stack pointer up to stack_hi, so a thread running on
 * another stack (ucontext, a coroutine library) would make the scanner walk
 * from the coroutine's stack to the thread stack's top, across unrelated
 * memory (a SIGSEGV in scan_range, issue 14 case 8). Switching stacks is
 * not supported; fn names the entry point that noticed.
 */
static inline void thread_check_sp(const struct tri_thread *t, uintptr_t sp, const char *fn)
{
	if (unlikely(sp < t->stack_lo || sp >= t->stack_hi))
		tri_fatal("%s: stack pointer %p is outside this thread's stack [%p, %p): running tricolor code "
			  "on another stack (ucontext, coroutines) is not supported",
			  fn, (void *)sp, (void *)t->stack_lo, (void *)t->stack_hi);
}

/* The calling thread scans its own registers and stack (from this call's
 * frame up to stack_hi) into w. */
struct gcwork;
void thread_scan_own_stack(struct tri_thread *t, struct gcwork *w);
/* Scan t's TLS blocks (t->tls) into w: any thread (the coordinator on
 * behalf of a blocking thread too). __thread variables are roots of every
 * attached thread, like its stack: scanned at its stack scan, written
 * without the barrier. */
void thread_scan_tls(const struct tri_thread *t, struct gcwork *w);
/* The calling thread's stack: [*lo, *hi). */
void thread_stack_bounds(uintptr_t *lo, uintptr_t *hi);
#endif
