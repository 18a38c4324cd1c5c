/*
 * special.c - finalizer and cleanup records on spans (see special.h).
 */
#include "alloc/special.h"
#include "cleanup/cleanup.h"
#include "final/finalizer.h"
#include "mark/scan.h"
#include "runtime/runtime.h"
#include <errno.h>
#include <stdlib.h>

static uint64_t cleanup_seq = 1; /* atomic, never reused */

static struct special *special_new(void)
{
	struct special *sp = calloc(1, sizeof *sp);
	if (!sp)
		tri_fatal("tricolor: out of memory for a finalizer/cleanup record");
	return sp;
}

/* Unlink q (under special_lock). An atomic store: pp may be &s->specials,
 * which specials_visit and sweep_span read without the lock as a hint. */
static void unlink_special(struct special **pp, struct special *q)
{
	st_release(pp, q->next);
}

int special_add_finalizer(struct span *s, uint32_t idx, void (*fn)(void *))
{
	struct special *sp = special_new();
	sp->idx = idx;
	sp->kind = SPECIAL_FINALIZER;
	sp->fn = fn;
	uint64_t bit = 1ull << (idx & 63);
	tri_lock(&s->special_lock);
	if (s->fin_bits[idx >> 6] & bit) {
		tri_unlock(&s->special_lock);
		free(sp);
		return EEXIST;
	}
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
			tri_unlock(&s->special_lock);
			free(q);
			return true;
		}
	}
	tri_unlock(&s->special_lock);
	return false;
}

uint64_t special_add_cleanup(struct span *s, uint32_t idx, void (*fn)(void *), void *arg)
{
	struct special *sp = special_new();
	uint64_t seq = fetch_add(&cleanup_seq, 1);
	sp->idx = idx;
	sp->kind = SPECIAL_CLEANUP;
	sp->fn = fn;
	sp->arg = arg;
	sp->id = (seq << CLEANUP_SPAN_BITS) | (uint64_t)(s - tri_heap.spans);
	tri_lock(&s->special_lock);
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
			tri_unlock(&s->special_lock);
			free(q);
			return;
		}
	}
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
		scan_object_referents(s->base + (uintptr_t)q->idx * s->elemsize, w);
	else
		mark_ptr((uintptr_t)q->arg, w);
}

void specials_mark_roots(struct gcwork *w)
{
	specials_visit(mark_visit, w);
}

void specials_sweep(struct span *s, uint64_t *live, uint64_t *dead)
{
	tri_lock(&s->special_lock);
	/* A dead object with a finalizer: resurrect it, queue the finalizer
	 * alone; its cleanups wait for it to die again. */
	for (struct special **pp = &s->specials; *pp;) {
		struct special *q = *pp;
		uint64_t bit = 1ull << (q->idx & 63);
		if (q->kind == SPECIAL_FINALIZER && (dead[q->idx >> 6] & bit)) {
			s->fin_bits[q->idx >> 6] &= ~bit;
			dead[q->idx >> 6] &= ~bit;
			live[q->idx >> 6] |= bit;
			unlink_special(pp, q);
			finalizer_enqueue((void *)(s->base + (uintptr_t)q->idx * s->elemsize), q->fn);
			free(q);
			continue;
		}
		pp = &q->next;
	}
	/* A dead object without a finalizer: queue its cleanups. */
	for (struct special **pp = &s->specials; *pp;) {
		struct special *q = *pp;
		uint64_t bit = 1ull << (q->idx & 63);
		if (q->kind == SPECIAL_CLEANUP && (dead[q->idx >> 6] & bit)) {
			unlink_special(pp, q);
			cleanup_enqueue(q->fn, q->arg);
			free(q);
			continue;
		}
		pp = &q->next;
	}
	tri_unlock(&s->special_lock);
}
