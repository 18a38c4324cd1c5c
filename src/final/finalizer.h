/*
 * finalizer.h - Go's runtime.SetFinalizer for C.
 *
 * Job: tri_set_finalizer validates and records a finalizer special on the
 * object (alloc/special.c); the sweep that finds the object dead resurrects
 * it and queues (object, fn) here; one dedicated attached thread, started on
 * first use, runs the queue in order, one finalizer at a time.
 *
 * Data: a FIFO of entries in batches, under fin_lock; the finalizer thread
 * takes up to 64 at a time. Counters queued and
 * executed (fin_lock; mirrored to tri_stats). While an entry is queued its
 * object is a root (finalizer_mark_roots); the finalizer thread takes an
 * entry only while not in a blocking region and shades it if its barrier is
 * on, so the object is never between two roots unseen by a marking cycle.
 *
 * Invariants: a finalizer runs at most once per registration (the special is
 * removed when it is queued), on an object the collector found unreachable,
 * never concurrently with another finalizer.
 * (The thread may hold a taken batch: those entries are then roots on its
 * stack; see run_batch.) No guarantee that queued
 * finalizers run before the process exits (as in Go).
 */
#ifndef TRI_FINALIZER_H
#define TRI_FINALIZER_H
#include "mark/grey_queue.h"
#include <stdint.h>

struct fin_entry {
	void *obj;
	void (*fn)(void *);
};

/* Queue n finalizers at once (one lock round trip; the sweeper batches a
 * span's dead finalizer objects). */
void finalizer_enqueue_batch(const struct fin_entry *e, size_t n);
void finalizer_mark_roots(struct gcwork *w);
void finalizer_visit_queued(void (*visit)(uintptr_t p, void *ctx), void *ctx);
/* End of cycle n: debug=checkfinalizers report. Coordinator. */
void finalizer_cycle_report(uint64_t n);
/* Called every ~100 ms by the coordinator: the slow-finalizer report. */
void finalizer_watchdog(void);
/* Wait until executed >= target, up to deadline (ns, 0 = none); 0 or ETIMEDOUT. */
int finalizer_wait(uint64_t target, uint64_t deadline_ns);
uint64_t finalizer_queued_count(void);
/* Name a function for reports ("symbol+0x10" or the address). */
void describe_fn(void *fn, char *buf, size_t len);
void finalizer_fork_lock(void);
void finalizer_fork_unlock(void);
void finalizer_after_fork_child(void);
#endif
