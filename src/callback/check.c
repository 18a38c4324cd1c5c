/* SPDX-License-Identifier: MIT */
/*
 * check.c - debug=checkfinalizers: at the end of every cycle, report the
 * finalizers and cleanups that can never run, and how many of each kind are
 * queued or running (callback/queue.h).
 *
 * A finalizer whose object reaches itself through its referents never runs
 * (the object stays reachable from its own finalizer root); a cleanup
 * whose arg reaches its object never runs either. Found by a bounded walk
 * (1M objects) of the heap from the object or arg, with a side bitmap of
 * the objects seen. Runs in the coordinator after a sweep (no sweeping or
 * freeing can happen meanwhile); reads the heap racily, as a diagnostic:
 * it writes nothing shared. Called by cycle.c (cbq_check_report).
 */
#include "callback/queue.h"
#include "alloc/layout.h"
#include "alloc/special.h"
#include "mark/scan.h"
#include <stdlib.h>

/* The walk: objects seen (one bit per slot, per span), a stack of objects
 * to scan, and a budget of objects. */
struct reach {
	uint64_t *seen;
	uintptr_t *stack;
	size_t n, cap;
	size_t budget;
};

static bool reach_push(struct reach *r, uintptr_t p, uintptr_t target)
{
	struct span *s;
	uint32_t idx;
	uintptr_t obj = object_lookup(p, &s, &idx);
	if (!obj)
		return false;
	if (obj == target)
		return true;
	uint64_t *w = &r->seen[(size_t)(s - tri_heap.spans) * BITMAP_WORDS + (idx >> 6)];
	if (*w & (1ull << (idx & 63)) || s->noscan)
		return false;
	*w |= 1ull << (idx & 63);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->stack = realloc(r->stack, r->cap * sizeof *r->stack);
		if (!r->stack)
			tri_fatal("tricolor: checkfinalizers: out of memory");
	}
	r->stack[r->n++] = obj;
	return false;
}

struct reach_word {
	struct reach *r;
	uintptr_t target;
	bool found;
};

/* A pointer word of a typed object (layout_scan's visit). */
TRI_NO_SANITIZE static void reach_word(uintptr_t a, void *ctx)
{
	struct reach_word *c = ctx;
	if (!c->found)
		c->found = reach_push(c->r, scan_word(a), c->target);
}

/* Push what the words of the object at obj name that the marker would
 * follow: every word, or a typed object's pointer words (alloc/layout.h). */
TRI_NO_SANITIZE static bool reach_object(struct reach *r, uintptr_t obj, struct span *s, uintptr_t target)
{
	uintptr_t end = layout_block_end(s, obj);
	if (s->typed) {
		struct reach_word c = {r, target, false};
		layout_scan(obj, end, obj, end, true, reach_word, &c);
		return c.found;
	}
	bool found = false;
	for (uintptr_t a = obj; a + 8 <= end && !found; a += 8)
		found = reach_push(r, scan_word(a), target);
	return found;
}

/* Does anything reachable from [from_lo, from_hi) lead to target? The
 * range is the target object itself (a finalizer's object: scanned as the
 * marker scans it) or one word outside the heap (a cleanup's argument). */
TRI_NO_SANITIZE static bool reaches(uintptr_t from_lo, uintptr_t from_hi, uintptr_t target)
{
	struct reach r = {0};
	uint32_t hwm = ld_acquire(&tri_heap.span_hwm);
	r.seen = calloc((size_t)hwm * BITMAP_WORDS, sizeof(uint64_t));
	r.budget = 1u << 20;
	bool found = false;
	if (!r.seen)
		return false;
	struct span *fs = from_lo == target ? span_of(from_lo) : NULL;
	if (fs)
		found = reach_object(&r, from_lo, fs, target);
	else
		for (uintptr_t a = from_lo; a + 8 <= from_hi && !found; a += 8)
			found = reach_push(&r, scan_word(a), target);
	while (!found && r.n && r.budget--) {
		uintptr_t obj = r.stack[--r.n];
		found = reach_object(&r, obj, span_of(obj), target);
	}
	free(r.seen);
	free(r.stack);
	return found;
}

struct check_ctx {
	unsigned reported;
};

static void check_visit(struct span *s, struct special *q, void *ctx)
{
	struct check_ctx *c = ctx;
	if (c->reported >= 100)
		return;
	uintptr_t obj = span_slot_addr(s, q->idx);
	char name[256];
	rt_describe_fn((void *)q->fn, name, sizeof name);
	if (q->kind == SPECIAL_FINALIZER) {
		if (!s->noscan && reaches(obj, obj + s->elemsize, obj)) {
			c->reported++;
			tri_warn("tricolor: checkfinalizers: finalizer %s on object %p can never run: the object is reachable from itself",
				 name, (void *)obj);
		}
	} else if (q->kind == SPECIAL_CLEANUP) {
		uintptr_t arg = (uintptr_t)q->arg;
		if (reaches((uintptr_t)&arg, (uintptr_t)(&arg + 1), obj)) {
			c->reported++;
			tri_warn("tricolor: checkfinalizers: cleanup %s(%p) on object %p can never run: its argument reaches the object",
				 name, q->arg, (void *)obj);
		}
	}
}

void cbq_check_report(uint64_t n)
{
	if (!tri_rt.opt.checkfinalizers)
		return;
	struct check_ctx c = {0};
	specials_visit(check_visit, &c);
	tri_warn("tricolor: checkfinalizers: cycle %llu: %llu finalizers queued or running, %llu cleanups queued or running, %u problems reported",
		 (unsigned long long)n, (unsigned long long)cbq_pending(&cbq_finalizers),
		 (unsigned long long)cbq_pending(&cbq_cleanups), c.reported);
}

