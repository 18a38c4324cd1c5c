/* SPDX-License-Identifier: MIT */
/*
 * queue.h - the one callback queue behind finalizers and cleanups.
 *
 * Job: a finalizer and a cleanup are both a (fn, arg) pair that the sweeper
 * queues (alloc/special.c) and an attached consumer thread runs. This module
 * is the queue and its consumers, once, for both kinds: a FIFO of entries in
 * batches, each with a sequence number; consumer threads started on demand;
 * the wake-ups, the exit handler for a callback that calls pthread_exit, the
 * roots, tri_drain and fork. Two instances, two consumer disciplines, chosen
 * by data (queue.c's configuration rows), not by code:
 *   cbq_finalizers  one resident consumer (the finalizer thread, started by
 *                   the first tri_set_finalizer, never idle-exiting) taking
 *                   up to 64 entries at a time and running them in order;
 *                   watched by the slow-finalizer report (cbq_watchdog).
 *   cbq_cleanups    a pool of up to cleanup_workers consumers taking one
 *                   entry at a time, run concurrently; a consumer is started
 *                   when work is queued and none is idle, or when one takes
 *                   an entry and more wait with none idle; an idle one
 *                   leaves after 1 s without work (the pool restarts on
 *                   demand).
 * The semantics of each kind (tri_set_finalizer, tri_add_cleanup) stay in
 * final/ and cleanup/; the debug=checkfinalizers report is callback/check.c.
 *
 * Data, per queue, all under its lock: the batches; next_seq (the last
 * sequence queued), popped_seq (the last one taken: the queue is empty when
 * they are equal), nexecuted; the consumers, each with the lowest sequence
 * it holds (running, 0 if none) and how many entries it holds; the idle
 * count; wake_at (the smallest nexecuted a tri_drain caller waits for:
 * consumers wake waiters only once it is reached; a waiter not yet done
 * registers again). Counters are mirrored to tri_stats with relaxed stores.
 * The serial queue's running_* fields (the callback now running, for the
 * slow report) are written by its one consumer with relaxed stores and read
 * by cbq_watchdog seqlock style (running_seq read before and after).
 *
 * Invariants:
 *  - Every entry is a root from its enqueue until its callback returned:
 *    while queued, cbq_mark_roots marks it; once taken, it is in the
 *    consumer's frame (an attached thread's stack, scanned at every
 *    stack-scan handshake: a consumer takes entries only while not in a
 *    blocking region) and shaded at once if its thread's barrier is on.
 *  - Sequence numbers are handed out in FIFO order and an entry given back
 *    (its consumer exited) goes back to the head with its number, so
 *    "every sequence <= s finished" is: popped_seq >= s and no consumer
 *    holds a sequence <= s (done_locked). tri_drain waits for exactly that.
 *  - No lost wake-up: a consumer counts itself idle and re-checks the queue
 *    under the lock before it waits; enqueuers signal under the same lock.
 *  - An entry runs at most once: it is counted executed when its callback
 *    returned or exited, and a consumer lost to fork counts what it held as
 *    executed in the child (it stays with the parent).
 * No guarantee that queued callbacks run before the process exits (as in Go).
 *
 * Callers: special.c (cbq_enqueue, at sweep), finalizer.c (cbq_start,
 * cbq_watchdog), cycle.c (cbq_mark_roots), checkmark.c (cbq_visit_queued),
 * fork.c (cbq_fork_*), check.c (cbq_pending).
 */
#ifndef TRI_CALLBACK_QUEUE_H
#define TRI_CALLBACK_QUEUE_H
#include "mark/grey_queue.h"
#include <stdint.h>

struct cbq_item {
	void (*fn)(void *);
	void *arg; /* passed to fn and kept alive until fn returned */
};

struct cbq; /* queue.c */
extern struct cbq cbq_finalizers, cbq_cleanups;

/* Queue n callbacks at once (one lock round trip; the sweeper batches a
 * span's dead objects). A TRI_PAUSE_CALLBACK stall for the caller. */
void cbq_enqueue(struct cbq *q, const struct cbq_item *items, size_t n);
/* Make q's consumers resident: one is started now and one always exists
 * (the finalizer thread; the first tri_set_finalizer calls it). Aborts with
 * the queue's message if the thread cannot be created. */
void cbq_start(struct cbq *q);
/* Every queue's queued entries: marked as roots / visited (checkmark). */
void cbq_mark_roots(struct gcwork *w);
void cbq_visit_queued(void (*visit)(uintptr_t p, void *ctx), void *ctx);
/* Entries queued and not yet finished. */
uint64_t cbq_pending(struct cbq *q);
/* Report (once) the callback q's consumer has been running for more than
 * limit_ns (a serial queue only; coordinator, every ~100 ms). */
void cbq_watchdog(struct cbq *q, uint64_t limit_ns);
/* fork (runtime/fork.c): take every queue's lock / release them / reset
 * the child (consumers are gone; resident ones are restarted). */
void cbq_fork_lock(void);
void cbq_fork_unlock(void);
void cbq_after_fork_child(void);

/* callback/check.c: end of cycle n, the debug=checkfinalizers report.
 * Coordinator, after the sweep. */
void cbq_check_report(uint64_t n);
#endif
