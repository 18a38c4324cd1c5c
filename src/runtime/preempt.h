/* SPDX-License-Identifier: MIT */
/*
 * preempt.h - asynchronous preemption of a thread that does not reach a
 * safepoint (see preempt.c for when a signal may act for the thread).
 *
 * tri_nopreempt: per thread, nonzero while the thread runs tricolor's own
 * code (an entry point, or a runtime thread outside a user callback). Only
 * the owning thread writes it; its signal handler reads it, so the
 * increments are ordered with compiler signal fences, not atomics.
 */
#ifndef TRI_PREEMPT_H
#define TRI_PREEMPT_H
#include "runtime/runtime.h"

struct tri_thread;

extern __thread unsigned tri_nopreempt __attribute__((tls_model("initial-exec")));

static inline void nopreempt_leave_(unsigned *unused)
{
	(void)unused;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	tri_nopreempt--;
}

static inline unsigned nopreempt_enter_(void)
{
	tri_nopreempt++;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return 0;
}

/* NO_PREEMPT(): first statement of an entry point; the thread is not
 * preempted from here to the end of the enclosing block (any return). */
#define NO_PREEMPT()                                                          \
	unsigned nopreempt_guard_ __attribute__((cleanup(nopreempt_leave_), unused)) = \
		nopreempt_enter_()

/* Run fn(arg) as user code: preemptible whatever the caller was. */
static inline void preemptible_call(void (*fn)(void *), void *arg)
{
	unsigned saved = tri_nopreempt;
	tri_nopreempt = 0;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	fn(arg);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	tri_nopreempt = saved;
}

/* At tri_init: find the C library's code, install the signal handler
 * (options preempt_ms, preempt_signal). */
void preempt_init(void);
/* At attach: unblock the signal in this thread. */
void preempt_thread_init(void);
/* Coordinator: ask thread t (attached, RUNNING, not answering a handshake)
 * to run its pending action from the signal handler. */
void preempt_poke(struct tri_thread *t);
/* 0 when preemption is off; else the delay before the first signal. */
extern uint64_t tri_preempt_after_ns;
#endif
