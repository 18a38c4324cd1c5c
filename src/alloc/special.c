/* SPDX-License-Identifier: MIT */
/*
 * special.c - finalizer and cleanup records on spans (see special.h).
 */
#include "alloc/special.h"
#include "callback/queue.h"
#include "mark/scan.h"
#include "runtime/runtime.h"
#include "weak/weak.h"
#include <errno.h>
#include <stdlib.h>

static uint64_t cleanup_seq = 1; /* atomic, never reused */

/*
 * Records. A span's records come from malloc'd chunks that the span keeps
 * for good: freed records go back to the span's spare list, and a chunk is
 * never freed (the span struct is never unmapped either). Everything is
 * under the span's special_lock, which every caller holds anyway: no calloc
 * and free per record (they were 12% of a 1M-finalizer run, with
 * malloc_consolidate), and no new lock (fork.c already takes every
 * special_lock). A chunk doubles the span's record count, from 8 up to
 * RECORD_CHUNK_MAX, so a span with one finalizer costs one small chunk.
 */
#define RECORD_CHUNK_MIN 8u
#define RECORD_CHUNK_MAX 256u
#define FIN_SWEEP_BATCH 64

/* Under special_lock. */
static struct special *special_new_locked(struct span *s)
{
	struct special *sp = s->spare;
	if (unlikely(!sp)) {
		uint32_t n = s->nrecords;
		n = n < RECORD_CHUNK_MIN ? RECORD_CHUNK_MIN : n > RECORD_CHUNK_MAX ? RECORD_CHUNK_MAX : n;
		struct special *chunk = malloc(n * sizeof *chunk);
		if (!chunk)
			tri_fatal("tricolor: out of memory for a finalizer/cleanup record");
		for (uint32_t i = 0; i + 1 < n; i++)
			chunk[i].next = &chunk[i + 1];
		chunk[n - 1].next = NULL;
		s->nrecords += n;
		sp = chunk;
	}
	s->spare = sp->next;
	*sp = (struct special){0};
	return sp;
}

/* Under special_lock: q is unlinked and no longer referenced. */
static void special_free_locked(struct span *s, struct special *q)
{
	q->next = s->spare;
	s->spare = q;
}

/* Unlink q (under special_lock). An atomic store: pp may be &s->specials,
 * which specials_visit and sweep_span read without the lock as a hint. */
static void unlink_special(struct special **pp, struct special *q)
{
	st_release(pp, q->next);
}

int special_add_finalizer(struct span *s, uint32_t idx, void (*fn)(void *))
{
	uint64_t bit = 1ull << (idx & 63);
	tri_lock(&s->special_lock);
	if (s->fin_bits[idx >> 6] & bit) {
		tri_unlock(&s->special_lock);
		return EEXIST;
	}
	struct special *sp = special_new_locked(s);
	sp->idx = idx;
	sp->kind = SPECIAL_FINALIZER;
	sp->fn = fn;
	s->fin_bits[idx >> 6] |= bit;
	sp->next = s->specials;
	st_release(&s->specials, sp);
	tri_unlock(&s->special_lock);
	return 0;
}

bool special_remove_finalizer(struct span *s, uint32_t idx)
{
	uint64_t bit = 1ull << (idx & 63);
	tri_lock(&s->special_lock);
	if (!(s->fin_bits[idx >> 6] & bit)) {
		tri_unlock(&s->special_lock);
		return false;
	}
	for (struct special **pp = &s->specials; *pp; pp = &(*pp)->next) {
		struct special *q = *pp;
		if (q->idx == idx && q->kind == SPECIAL_FINALIZER) {
			s->fin_bits[idx >> 6] &= ~bit;
			unlink_special(pp, q);
			special_free_locked(s, q);
			tri_unlock(&s->special_lock);
			return true;
		}
	}
	tri_unlock(&s->special_lock);
	return false;
}

uint64_t special_add_cleanup(struct span *s, uint32_t idx, void (*fn)(void *), void *arg)
{
	uint64_t seq = fetch_add(&cleanup_seq, 1);
	tri_lock(&s->special_lock);
	struct special *sp = special_new_locked(s);
	sp->idx = idx;
	sp->kind = SPECIAL_CLEANUP;
	sp->fn = fn;
	sp->arg = arg;
	sp->id = (seq << CLEANUP_SPAN_BITS) | (uint64_t)(s - tri_heap.spans);
	sp->next = s->specials;
	st_release(&s->specials, sp);
	tri_unlock(&s->special_lock);
	return sp->id;
}

void special_stop_cleanup(uint64_t id)
{
	uint64_t si = id & ((1ull << CLEANUP_SPAN_BITS) - 1);
	if (!id || si >= ld_acquire(&tri_heap.span_hwm))
		return;
	struct span *s = &tri_heap.spans[si];
	tri_lock(&s->special_lock);
	for (struct special **pp = &s->specials; *pp; pp = &(*pp)->next) {
		struct special *q = *pp;
		if (q->kind == SPECIAL_CLEANUP && q->id == id) {
			unlink_special(pp, q);
			special_free_locked(s, q);
			tri_unlock(&s->special_lock);
			return;
		}
	}
	tri_unlock(&s->special_lock);
}

/* Under special_lock: the span's index has room for every slot. */
static void weak_index_reserve_locked(struct span *s)
{
	if (likely(s->weak_index_cap >= s->nelems))
		return;
#ifdef TRI_DEBUG
	for (uint32_t i = 0; i < s->weak_index_cap; i++)
		tri_assert(!s->weak_index[i]); /* no live object had a handle */
#endif
	free(s->weak_index);
	s->weak_index = calloc(s->nelems, sizeof *s->weak_index);
	if (!s->weak_index)
		tri_fatal("tri_weak_make: out of memory for a weak handle index");
	s->weak_index_cap = s->nelems;
}

struct weak_cell *special_weak_find(struct span *s, uint32_t idx)
{
	struct weak_cell *c = NULL;
	tri_lock(&s->special_lock);
	if (idx < s->weak_index_cap && s->weak_index[idx])
		c = s->weak_index[idx]->arg;
	tri_unlock(&s->special_lock);
	return c;
}

/* Under special_lock: link a weak record for idx with cell c. */
static struct special *add_weak_locked(struct span *s, uint32_t idx, uintptr_t base,
				       struct weak_cell *c, uint8_t kind)
{
	struct special *sp = special_new_locked(s);
	sp->idx = idx;
	sp->kind = kind;
	sp->arg = c;
	st_release(&c->obj, base);
	sp->next = s->specials;
	st_release(&s->specials, sp);
	s->nweak++;
	return sp;
}

struct weak_cell *special_weak_find_or_add(struct span *s, uint32_t idx, uintptr_t base,
					   struct weak_cell *fresh)
{
	tri_lock(&s->special_lock);
	weak_index_reserve_locked(s);
	struct special *sp = s->weak_index[idx];
	if (!sp)
		sp = s->weak_index[idx] = add_weak_locked(s, idx, base, fresh, SPECIAL_WEAK);
	struct weak_cell *c = sp->arg;
	tri_unlock(&s->special_lock);
	return c;
}

void special_add_weak_private(struct span *s, uint32_t idx, uintptr_t base, struct weak_cell *c)
{
	tri_lock(&s->special_lock);
	add_weak_locked(s, idx, base, c, SPECIAL_WEAK_PRIVATE);
	tri_unlock(&s->special_lock);
}

void specials_visit(special_visitor visit, void *ctx)
{
	uint32_t hwm = ld_acquire(&tri_heap.span_hwm);
	for (uint32_t i = 0; i < hwm; i++) {
		struct span *s = &tri_heap.spans[i];
		if (!ld_acquire(&s->specials) || ld_acquire(&s->state) != SPAN_INUSE)
			continue;
		tri_lock(&s->special_lock);
		for (struct special *q = s->specials; q; q = q->next)
			visit(s, q, ctx);
		tri_unlock(&s->special_lock);
	}
}

static void mark_visit(struct span *s, struct special *q, void *ctx)
{
	struct gcwork *w = ctx;
	if (q->kind == SPECIAL_FINALIZER)
		scan_object_referents(span_slot_addr(s, q->idx), w);
	else /* a cleanup's arg, or a weak cell (noscan: marks the cell only) */
		mark_ptr((uintptr_t)q->arg, w);
}

void specials_mark_roots(struct gcwork *w)
{
	specials_visit(mark_visit, w);
}

void specials_sweep(struct span *s, uint64_t *live, uint64_t *dead)
{
	/* Nothing dies in this span: no special can fire, and the walk of the
	 * whole list (every live object's records, each cycle) is skipped. */
	uint64_t any = 0;
	for (uint32_t i = 0; i < (s->nelems + 63) / 64; i++) /* the words sweep_span set */
		any |= dead[i];
	if (!any)
		return;
	tri_lock(&s->special_lock);
	/* Weak cells first, with the dead bits before any resurrection: a weak
	 * pointer to an object reads NULL from the sweep that found it dead on,
	 * even if its finalizer resurrects it, and no finalizer or cleanup
	 * queued below can observe it still set (Go's order). The cell clears
	 * are published by the release store of weak_cycle (sweep_span). */
	for (struct special **pp = &s->specials; s->nweak && *pp;) {
		struct special *q = *pp;
		if ((q->kind == SPECIAL_WEAK || q->kind == SPECIAL_WEAK_PRIVATE) &&
		    (dead[q->idx >> 6] >> (q->idx & 63) & 1)) {
			struct weak_cell *c = q->arg;
			st_release(&c->obj, 0);
			if (q->kind == SPECIAL_WEAK)
				s->weak_index[q->idx] = NULL;
			unlink_special(pp, q);
			special_free_locked(s, q);
			s->nweak--;
			continue;
		}
		pp = &q->next;
	}
	/* A dead object with a finalizer: resurrect it, queue the finalizer
	 * alone; its cleanups wait for it to die again. Queued FIN_SWEEP_BATCH
	 * at a time (one queue-lock round trip each; the objects are resurrected,
	 * live in this sweep, before the batch is queued and the sweeper holds
	 * the span, so nothing can free them meanwhile). */
	struct cbq_item fins[FIN_SWEEP_BATCH];
	size_t nfins = 0;
	for (struct special **pp = &s->specials; *pp;) {
		struct special *q = *pp;
		uint64_t bit = 1ull << (q->idx & 63);
		if (q->kind == SPECIAL_FINALIZER && (dead[q->idx >> 6] & bit)) {
			s->fin_bits[q->idx >> 6] &= ~bit;
			dead[q->idx >> 6] &= ~bit;
			live[q->idx >> 6] |= bit;
			unlink_special(pp, q);
			fins[nfins++] = (struct cbq_item){q->fn, (void *)span_slot_addr(s, q->idx)};
			if (nfins == FIN_SWEEP_BATCH) {
				cbq_enqueue(&cbq_finalizers, fins, nfins);
				nfins = 0;
			}
			special_free_locked(s, q);
			continue;
		}
		pp = &q->next;
	}
	cbq_enqueue(&cbq_finalizers, fins, nfins);
	/* A dead object without a finalizer: queue its cleanups (batched the
	 * same way; the args are cleanup roots again once queued, and no
	 * marking runs during a sweep). */
	struct cbq_item clns[FIN_SWEEP_BATCH];
	size_t nclns = 0;
	for (struct special **pp = &s->specials; *pp;) {
		struct special *q = *pp;
		uint64_t bit = 1ull << (q->idx & 63);
		if (q->kind == SPECIAL_CLEANUP && (dead[q->idx >> 6] & bit)) {
			unlink_special(pp, q);
			clns[nclns++] = (struct cbq_item){q->fn, q->arg};
			if (nclns == FIN_SWEEP_BATCH) {
				cbq_enqueue(&cbq_cleanups, clns, nclns);
				nclns = 0;
			}
			special_free_locked(s, q);
			continue;
		}
		pp = &q->next;
	}
	cbq_enqueue(&cbq_cleanups, clns, nclns);
	tri_unlock(&s->special_lock);
}
