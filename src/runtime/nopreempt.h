/* SPDX-License-Identifier: MIT */
/*
 * nopreempt.h - the per-thread no-preemption counter (base layer, see
 * docs/design.md "Layers"; the preemption itself is runtime/preempt.h).
 *
 * tri_nopreempt: per thread, nonzero while the thread runs tricolor's own
 * code (an entry point, or a runtime thread outside a user callback). Only
 * the owning thread writes it; its signal handler (runtime/preempt.c)
 * reads it, so the increments are ordered with compiler signal fences, not
 * atomics. Defined in runtime/runtime.c.
 */
#ifndef TRI_NOPREEMPT_H
#define TRI_NOPREEMPT_H
#include "runtime/runtime.h"

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
#endif
