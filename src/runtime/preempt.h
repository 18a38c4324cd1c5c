/* SPDX-License-Identifier: MIT */
/*
 * preempt.h - asynchronous preemption of a thread that does not reach a
 * safepoint (see preempt.c for when a signal may act for the thread).
 *
 * The no-preemption counter (tri_nopreempt, NO_PREEMPT, preemptible_call)
 * is in runtime/nopreempt.h (base layer): code below the threads layer
 * uses it without this header.
 */
#ifndef TRI_PREEMPT_H
#define TRI_PREEMPT_H
#include "runtime/nopreempt.h"

struct tri_thread;

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
