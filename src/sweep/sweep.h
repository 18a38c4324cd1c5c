/* SPDX-License-Identifier: MIT */
/*
 * sweep.h - returning dead objects to the allocator.
 *
 * Job: after marking, every in-use span is swept once per cycle, by the
 * background sweeper (the coordinator thread, runtime/cycle.c) or lazily by
 * an allocating thread that needs a span of that class (alloc/central.c).
 * The sweeper owns the span exclusively (it is off every list).
 *
 * For cycle N, slot i of a span is live after the sweep iff it was allocated
 * (alloc bit, or below freeindex) and either marked, or allocated black in
 * cycle N (black_cycle == N and black_from <= i < freeindex, alloc bit clear),
 * or it is resurrected for its finalizer. Dead slots are zeroed (or poisoned
 * in debug=poison mode) so the allocation fast path never clears memory.
 * Their finalizers are queued (the object resurrected) or, for objects with
 * no finalizer, their cleanups queued and the object freed; before either,
 * the weak cells of dead objects are cleared, and span->weak_cycle = N is
 * published before the mark bits are cleared (weak/weak.h). A span left with
 * no live object goes back to the page heap.
 *
 * Invariants: sweeping never overlaps marking (a cycle starts only after
 * every span was swept); mark bits are all clear after a span's sweep.
 */
#ifndef TRI_SWEEP_H
#define TRI_SWEEP_H
#include <stddef.h>
#include <stdint.h>

struct span;
enum { SWEEP_FREED = 0, SWEEP_FULL = 1, SWEEP_HAS_FREE = 2 };

#define TRI_POISON 0xdeadbeefdeadbeefull

/*
 * The dead-object hook: sweep_span calls it for a span that has specials
 * (finalizers, cleanups, weak cells), with the span's live and dead
 * bitmaps, before it clears the mark bits; the hook may queue callbacks and
 * move objects from dead to live (resurrection for a finalizer). It is the
 * layer above's business (docs/design.md "Layers": sweeping is heap, the
 * specials are gc): tri_init sets it to specials_sweep before any thread
 * that sweeps is started (thread creation publishes it); never written
 * again; cycle_init aborts if it is unset.
 */
typedef void sweep_dead_fn(struct span *s, uint64_t *live, uint64_t *dead);
extern sweep_dead_fn *sweep_dead_hook;

/* Sweep s for tri_rt.sweep_cycle; returns what became of it. */
int sweep_span(struct span *s);
/* Sweep every remaining unswept span and wait for lazy sweepers. */
void sweep_all(void);
/* Bytes found live by the sweeps of the current sweep cycle: marked
 * objects plus everything allocated black this cycle (what the sweep
 * keeps; the pacer's live heap). */
extern uint64_t tri_sweep_live_bytes;
/* The part of tri_sweep_live_bytes whose mark bit was set: the objects the
 * cycle's mark reached. Mark bits are set only while marking (never after
 * termination) and never on an object allocated black (mark_ptr), so this
 * is the heap marked live at mark termination, without the objects
 * allocated during the cycle (gctrace's H2, runtime/gctrace.h). Reset with
 * tri_sweep_live_bytes by the coordinator at sweep start. */
extern uint64_t tri_sweep_marked_bytes;
void sweep_poison(void *p, size_t n);
/* Abort if [p, p+n) holds anything but zero or the poison pattern. */
void sweep_check_poison(void *p, size_t n);
#endif
