/*
 * cleanup.h - Go's runtime.AddCleanup and Cleanup.Stop for C, run by a
 * pool of concurrent workers (Go 1.25's model).
 *
 * Job: tri_add_cleanup validates and records a cleanup special (id, fn,
 * arg) on ptr's object; the sweep that frees the object (one with no
 * finalizer left) queues (fn, arg) here; worker threads run them
 * concurrently. tri_cleanup_stop removes a special that is not queued yet.
 *
 * Data, all under cln_lock: the FIFO of queued entries, each with a sequence
 * number; the workers (count, idle count, peak) and the sequence number each
 * is running (so tri_drain knows when everything queued before it finished).
 *
 * The pool: max cleanup_workers threads (default max(4, ncpu), so at least
 * two cleanups overlap even on one core). A worker is started when work is
 * queued and no worker is idle, or when a worker takes an entry and more
 * wait with none idle; an idle worker exits after 1 s without work (the last
 * one too: the pool restarts on demand). No lost wake-ups: a worker counts
 * itself idle and re-checks the queue under cln_lock before it waits, and
 * enqueuers signal under the same lock (the race of golang/go#73642 cannot
 * happen with a mutex-protected sleep).
 *
 * Roots: queued args are marked every cycle; a worker takes an entry only
 * while not in a blocking region and shades arg if its barrier is on.
 */
#ifndef TRI_CLEANUP_H
#define TRI_CLEANUP_H
#include "mark/grey_queue.h"
#include <stdint.h>

struct cln_item {
	void (*fn)(void *);
	void *arg;
};

/* Queue n cleanups at once (one lock round trip; the sweeper batches a
 * span's dead objects' cleanups). */
void cleanup_enqueue_batch(const struct cln_item *c, size_t n);
void cleanup_mark_roots(struct gcwork *w);
void cleanup_visit_queued(void (*visit)(uintptr_t p, void *ctx), void *ctx);
uint64_t cleanup_queued_seq(void);
uint64_t cleanup_pending_count(void);
/* Wait until every cleanup with sequence <= target finished. */
int cleanup_wait(uint64_t target, uint64_t deadline_ns);
void cleanup_fork_lock(void);
void cleanup_fork_unlock(void);
void cleanup_after_fork_child(void);
#endif
