/* SPDX-License-Identifier: MIT */
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
 * sleeping, idle_waiters; cond `work` wakes idle workers, `idle` wakes the
 * coordinator. nfull, sleeping and idle_waiters are written with relaxed
 * atomic stores (under the lock) so that a marker may read them without the
 * lock as a hint for work sharing (gcwork_share); no decision that matters
 * for correctness is taken on such an unlocked read.
 *
 * Work sharing: a marker scans its own block depth first (LIFO) and would
 * publish only when the block overflows, which on a tree never happens, so
 * a second marker would starve. Every SHARE_CHECK items a draining marker
 * looks (unlocked) for an idle marker and an empty global list; when both
 * hold it moves the older half of its block (the bottom of its DFS stack:
 * the biggest subtrees) to the global list under the lock. The grey objects
 * move from one place the termination check sees (a busy marker's block) to
 * another (the global list) inside one critical section, so the accounting
 * above is unchanged.
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
	int sleeping;	  /* workers waiting on `work` */
	int idle_waiters; /* coordinators waiting on `idle` (grey_queue_wait) */
	uint64_t shares;  /* blocks split off by gcwork_share (tests, profiles) */
};

extern struct grey_queue tri_grey;

void gcwork_init(struct gcwork *w, bool worker);
/* Push a marked object (or oblet) to be scanned. */
void gcwork_push(struct gcwork *w, uintptr_t obj);
/* Next item; false when no work is left anywhere (the worker is then idle). */
bool gcwork_pop(struct gcwork *w, uintptr_t *obj);
/* Items a draining marker scans between two looks for an idle marker. */
#define SHARE_CHECK 64
/* If another marker is idle and no full block is queued, move the older half
 * of w's block to the global list (see work sharing above). */
void gcwork_share(struct gcwork *w);
/* Coordinator: sleep until a full block is queued or no marker is busy;
 * returns true in the second case (no grey object: the queue is idle). */
bool grey_queue_wait(void);
/* Hand all local work to the global list and stop counting as busy. */
void gcwork_release(struct gcwork *w);
/* An empty block (for a thread's next handshake action, handshake.c). */
struct wblock *grey_block_get(void);
/* Add scan counters to the global stats (and release). */
void gcwork_dispose(struct gcwork *w);
/* Add scan counters to the cycle's and the global stats, zero them. */
void gcwork_flush_stats(struct gcwork *w);
/* Under the lock: no grey object (global list empty, no busy marker). */
bool grey_queue_idle(void);
/* Under the lock: if no grey object exists, clear dirty and return true.
 * Atomic with respect to every publication (all happen under the lock). */
bool grey_queue_idle_reset_dirty(void);

/*
 * The mark gate. Mutators mark outside handshakes in a few places (a full
 * barrier buffer, tri_set_finalizer during marking, tri_add_cleanup, a
 * range registered with tri_add_roots, a thread attaching after the
 * stack-scan handshake). Each such marker enters the gate, checks that
 * marking is still on, marks (setting `dirty` through its gcwork), and
 * leaves. The coordinator ends marking with mark_gate_try_close, in two
 * steps: it raises gate_closing and waits until nobody is inside (markers
 * arriving meanwhile wait for the verdict instead of marking or backing
 * out); then, with nobody inside, it decides. If no marker marked anything
 * since the termination instant (dirty clear, queue idle), marking is over:
 * phase = MARK_DONE, and from then on every marker backs out, which is safe
 * because every object a mutator can reach is marked (the termination proof
 * in runtime/cycle.c). Otherwise a late marker (a root range or an attaching
 * thread's stack, scanned after round B) greyed something: the gate opens
 * again and termination runs another round, so its grey objects are scanned
 * with the barrier still feeding the marker. Dropping shades while a late
 * marker's grey objects are still unscanned would lose objects a mutator
 * loads from them and then unlinks (a deletion shade dropped), which a
 * drain after the close could not recover.
 * So no mark bit is ever set after marking ended - in particular never in a
 * span that a lazy sweeper has already swept, where a stale bit would make
 * the object look marked in the next cycle and hide its children (a
 * use-after-free).
 */
bool mark_gate_enter(void);
void mark_gate_exit(void);
/* Coordinator, after a clean round B: true if marking is over (phase is
 * then MARK_DONE and the gate closed for good this cycle); false if a late
 * marker produced work (the gate is open again: run more rounds). */
bool mark_gate_try_close(void);
#endif
