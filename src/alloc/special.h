/* SPDX-License-Identifier: MIT */
/*
 * special.h - special records: finalizers and cleanups attached to objects.
 *
 * Each in-use span keeps a singly linked list of its objects' specials,
 * guarded by the span's special_lock. A finalizer special holds fn; a cleanup
 * special holds fn, arg and its id. A cleanup id is (sequence << 27) | the
 * span's index in the span table: it finds its span without any global
 * index, and a sequence number is never reused, so a stale handle never
 * matches another cleanup, even after the span is reused.
 *
 * A weak special (SPECIAL_WEAK, SPECIAL_WEAK_PRIVATE) holds arg = a weak
 * cell (weak/weak.h) whose obj word names the object. SPECIAL_WEAK cells are
 * the shared handles of tri_weak_make, one per object, found in O(1) through
 * the span's weak_index (idx -> record, special_lock); SPECIAL_WEAK_PRIVATE
 * cells belong to the intern table (weak/intern.c), live outside the heap
 * and are not indexed.
 *
 * Roles in a cycle (who calls):
 *  - specials_mark_roots (coordinator, during marking): for every finalizer,
 *    scan the object's referents but do not mark the object (so A -> B with
 *    finalizers on both keeps B until A is gone, and a cycle through a
 *    finalizer object is never collected); for every cleanup, mark arg;
 *    for every weak special, mark the cell (a noscan object, so the
 *    referent is not kept alive through it; a private cell is not a heap
 *    object and mark_ptr ignores it).
 *  - specials_sweep (a sweeper holding the span): first every weak cell of
 *    a dead object is cleared (obj = 0) and its record removed, before
 *    anything is queued, so a finalizer or cleanup never sees a weak
 *    pointer to its object still set (Go's order); then a dead object with
 *    a finalizer is resurrected and its finalizer (only) queued; a dead
 *    object without one has every cleanup queued and is freed.
 */
#ifndef TRI_SPECIAL_H
#define TRI_SPECIAL_H
#include "alloc/span.h"
#include "mark/grey_queue.h"

#define CLEANUP_SPAN_BITS 27

enum { SPECIAL_FINALIZER = 1, SPECIAL_CLEANUP = 2, SPECIAL_WEAK = 3, SPECIAL_WEAK_PRIVATE = 4 };

struct weak_cell;

struct special {
	struct special *next;
	uint32_t idx;
	uint8_t kind;
	void (*fn)(void *);
	void *arg;
	uint64_t id;
};

/* 0, or EEXIST if obj already has a finalizer. */
int special_add_finalizer(struct span *s, uint32_t idx, void (*fn)(void *));
/* Remove obj's finalizer; returns whether there was one. */
bool special_remove_finalizer(struct span *s, uint32_t idx);
uint64_t special_add_cleanup(struct span *s, uint32_t idx, void (*fn)(void *), void *arg);
/* Remove the cleanup with this id if it is still attached. */
void special_stop_cleanup(uint64_t id);
/* The shared weak cell of object idx, or NULL if it has none (O(1)). */
struct weak_cell *special_weak_find(struct span *s, uint32_t idx);
/* The shared weak cell of object idx: the existing one, or `fresh` (a new
 * cell, not yet published) recorded now with obj = base. */
struct weak_cell *special_weak_find_or_add(struct span *s, uint32_t idx, uintptr_t base,
					   struct weak_cell *fresh);
/* Record a private weak cell c (obj = base) for object idx. */
void special_add_weak_private(struct span *s, uint32_t idx, uintptr_t base, struct weak_cell *c);
void specials_mark_roots(struct gcwork *w);
void specials_sweep(struct span *s, uint64_t *live, uint64_t *dead);

typedef void (*special_visitor)(struct span *s, struct special *sp, void *ctx);
/* Call visit on every special of every in-use span (under span locks). */
void specials_visit(special_visitor visit, void *ctx);
#endif
