/* SPDX-License-Identifier: MIT */
/*
 * weak.h - weak cells: the state behind tri_weak handles and the intern
 * table's entries (Go's weak.Pointer and internal_weak_runtime_*).
 *
 * Job: a weak cell names an object without keeping it alive. Its one word,
 * obj, is the object's base address while the object is alive, and 0 from
 * the sweep that found it dead on, forever. A tri_weak is {cell, offset};
 * tri_weak_make gives every object at most one shared cell (a 16-byte
 * noscan heap object, so the word inside is never scanned), recorded as a
 * SPECIAL_WEAK record on the object's span and found again in O(1) through
 * the span's weak_index. The intern table (weak/intern.c) keeps private
 * cells in its own malloc'd entries (SPECIAL_WEAK_PRIVATE).
 *
 * Data and who writes it:
 *   cell->obj   set (release) when the record is added, under the span's
 *               special_lock, before the cell is published; cleared
 *               (release) only by the sweeper of the span, under
 *               special_lock, when the object is found dead. Read without a
 *               lock by weak_cell_get.
 *   span->weak_cycle  see alloc/span.h.
 *
 * Lifetime of a shared cell: the record marks it every cycle (special roots)
 * while the object lives, the program's handles keep it (conservatively)
 * as long as it holds them, and a cell made while a cycle marks is marked
 * by its maker through the mark gate (the root scan may have passed). So a
 * cell is freed only when the object is dead and no handle is left.
 *
 * Invariants (W1-W4, docs/design.md section 22):
 *  W1 a nonzero cell names the allocated object whose record holds it;
 *     checkmark verifies it for every record.
 *  W2 cleared means dead: a cell is cleared only by the sweep that decided
 *     its object dead, before that sweep queues any finalizer or cleanup;
 *     never set again.
 *  W3 no resurrection: weak_cell_get returns an object only if the current
 *     cycle has not decided it dead; after marking ended it answers from
 *     the same mark bits and black ranges the sweep decides from.
 *  W4 a returned pointer is a strong pointer: during marking the object is
 *     marked through the mark gate before it is returned (a pointer from a
 *     weak handle may be the only one, and on an already scanned stack);
 *     an already marked or black object needs no gate.
 *
 * weak_cell_get runs no safepoint: a cycle cannot pass its stack scan or
 * its sweep handshake while a thread is inside, which is what makes the
 * phase it read stay meaningful (see weak.c).
 *
 * Callers: include/tricolor.h's tri_weak_* (weak.c), weak/intern.c; the
 * sweeper clears cells in alloc/special.c.
 */
#ifndef TRI_WEAK_H
#define TRI_WEAK_H
#include <stdint.h>

struct weak_cell {
	uintptr_t obj; /* see above */
	uintptr_t pad; /* the smallest size class; also keeps the cell 16 bytes */
};

/* The object's base while the cell's object may be used; 0 once the current
 * or an earlier cycle has found it dead. The caller must be an attached,
 * running thread (its stack is what keeps the result alive). */
uintptr_t weak_cell_get(struct weak_cell *c);
/* fork (runtime/fork.c): hold the intern table's insertion lock across
 * fork, taken before any span's special_lock (intern.c takes them in that
 * order). */
void intern_fork_lock(void);
void intern_fork_unlock(void);
#endif
