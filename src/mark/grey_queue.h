/*
 * grey_queue.h - grey objects waiting to be scanned.
 *
 * Work is passed around in blocks of object addresses (wblock, 4 KiB). Each
 * marker (mark worker, assisting mutator, coordinator) owns a gcwork holding
 * one block; full blocks go to the global list, empty ones to a free list.
 *
 * Termination needs to know, at one instant, that no grey object exists.
 * A grey object is one that is marked but not yet scanned: it sits in some
 * block. Markers that pop blocks are counted in `busy` from the moment they
 * take a block until they find no more work, both under the queue lock, so
 * "global list empty and busy == 0" read under the lock means no grey object
 * exists outside the non-marker producers, and those (root scans, stack
 * scans, barrier flushes) publish under the lock and set `dirty` when they
 * marked anything new (see termination in runtime/cycle.c).
 *
 * Shared fields (struct grey_queue), all under `lock`: full, nfull, empty,
 * busy, dirty (also read/cleared with seq_cst by the coordinator),
 * sleeping; cond `work` wakes idle workers, `idle` wakes the coordinator.
 */
#ifndef TRI_GREY_QUEUE_H
#define TRI_GREY_QUEUE_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WBLOCK_CAP 510

struct wblock {
	struct wblock *next;
	uint32_t n;
	uint32_t pad;
	uintptr_t obj[WBLOCK_CAP];
};

struct gcwork {
	struct wblock *cur;
	bool worker; /* pops work; counted in busy while it holds any */
	bool busy;
	bool produced; /* non-worker: marked something new */
	uint64_t scanned_bytes;
	uint64_t scanned_objects;
	uint64_t published; /* scanned_bytes already added to tri_cycle_scanned */
};

/* Bytes scanned in the current cycle, published by markers every 64 KiB
 * (relaxed atomic; the pacer reads it to size assists). */
extern uint64_t tri_cycle_scanned;

struct grey_queue {
	pthread_mutex_t lock;
	pthread_cond_t work;
	pthread_cond_t idle;
	struct wblock *full;
	size_t nfull;
	struct wblock *empty;
	int busy;
	int dirty;
	int sleeping;
};

extern struct grey_queue tri_grey;

void gcwork_init(struct gcwork *w, bool worker);
/* Push a marked object (or oblet) to be scanned. */
void gcwork_push(struct gcwork *w, uintptr_t obj);
/* Next item; false when no work is left anywhere (the worker is then idle). */
bool gcwork_pop(struct gcwork *w, uintptr_t *obj);
/* Hand all local work to the global list and stop counting as busy. */
void gcwork_release(struct gcwork *w);
/* Add scan counters to the global stats (and release). */
void gcwork_dispose(struct gcwork *w);
/* Add scan counters to the cycle's and the global stats, zero them. */
void gcwork_flush_stats(struct gcwork *w);
/* Under the lock: no grey object (global list empty, no busy marker). */
bool grey_queue_idle(void);
/* Drop all queued work (used when the queue is reset between cycles). */
void grey_queue_reset(void);
/* Under the lock: if no grey object exists, clear dirty and return true.
 * Atomic with respect to every publication (all happen under the lock). */
bool grey_queue_idle_reset_dirty(void);

/*
 * The mark gate. Mutators mark outside handshakes in a few places (a full
 * barrier buffer, tri_set_finalizer during marking, tri_add_cleanup). Each
 * such marker enters the gate, checks that marking is still on, marks, and
 * leaves. The coordinator closes the gate at termination: it sets phase to
 * MARK_DONE and waits until nobody is inside, so no mark bit is ever set
 * after marking ended - in particular never in a span that a lazy sweeper
 * has already swept, where a stale bit would make the object look marked in
 * the next cycle and hide its children (a use-after-free).
 */
bool mark_gate_enter(void);
void mark_gate_exit(void);
void mark_gate_close(void);
#endif
