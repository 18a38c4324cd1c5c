/*
 * central.c - central span lists (see central.h).
 */
#include "alloc/central.h"
#include "alloc/memcheck.h"
#include "alloc/page_heap.h"
#include "runtime/runtime.h"
#include "sweep/sweep.h"
#include <errno.h>
#include <string.h>

struct central tri_central[TRI_NUM_SPANCLASSES];
/* Sweeps in progress. Incremented under the class lock that pops the span,
 * decremented with release after the sweep: sweep_all's seq_cst load that
 * sees 0 then acquires every sweeper's writes (mark bits cleared, black
 * range reset) before the next cycle marks. (Relaxed decrements were a
 * race under the C11 model: TSan found it in the soak.) */
int tri_sweeps_active;

enum { L_NONE = 0, L_PARTIAL, L_FULL, L_UNSWEPT };

#define LAZY_SWEEP_BUDGET 64

void central_init(void)
{
	for (unsigned i = 0; i < TRI_NUM_SPANCLASSES; i++)
		tri_lock_init(&tri_central[i].lock);
}

static struct span_list *list_of(struct central *c, int l)
{
	return l == L_PARTIAL ? &c->partial : l == L_FULL ? &c->full : &c->unswept;
}

static void list_push(struct central *c, int l, struct span *s)
{
	struct span_list *L = list_of(c, l);
	s->list = l;
	s->prev = NULL;
	s->next = L->head;
	if (L->head)
		L->head->prev = s;
	L->head = s;
	L->n++;
}

static void list_remove(struct central *c, struct span *s)
{
	struct span_list *L = list_of(c, s->list);
	if (s->prev)
		s->prev->next = s->next;
	else
		L->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	s->list = L_NONE;
	L->n--;
}

static struct span *list_pop(struct central *c, int l)
{
	struct span *s = list_of(c, l)->head;
	if (s)
		list_remove(c, s);
	return s;
}

/* Move the spans of list `from` not yet swept for cycle n to unswept.
 * A span already swept for n must stay: between the store of sweep_cycle
 * and this class's turn, a thread may have released an unswept span and a
 * lazy sweeper swept it and listed it again; moving it back would sweep it
 * twice, and a second sweep sees cleared mark bits and frees live objects. */
static void move_unswept(struct central *c, int from, uint64_t n)
{
	struct span *s = list_of(c, from)->head;
	while (s) {
		struct span *next = s->next;
		if (s->swept_cycle < n) {
			list_remove(c, s);
			list_push(c, L_UNSWEPT, s);
		}
		s = next;
	}
}

struct span *central_take_unswept(unsigned sc)
{
	struct central *c = &tri_central[sc];
	tri_lock(&c->lock);
	struct span *s = list_pop(c, L_UNSWEPT);
	if (s)
		fetch_add(&tri_sweeps_active, 1);
	tri_unlock(&c->lock);
	return s;
}

void central_after_sweep(struct span *s, int result)
{
	if (result != SWEEP_FREED)
		central_release(s);
	fetch_sub_release(&tri_sweeps_active, 1);
}

static struct span *new_span(unsigned sc)
{
	bool needzero;
	unsigned cls = sc >> 1;
	struct span *s = page_heap_alloc(tri_class[cls].npages, &needzero);
	if (!s)
		return NULL;
	span_init_small(s, sc);
	s->swept_cycle = ld_seq(&tri_rt.sweep_cycle);
	size_t bytes = (size_t)s->npages * TRI_PAGE_SIZE;
	/* Free pages are NOACCESS under memcheck (alloc/memcheck.h): open them
	 * for the clearing, then close every slot until it is allocated. */
	if (TRI_VG)
		TRI_VG_UNDEFINED((void *)s->base, bytes);
	if (needzero || tri_rt.opt.poison) {
		if (tri_rt.opt.poison)
			sweep_poison((void *)s->base, bytes);
		else
			memset((void *)s->base, 0, bytes);
	}
	if (TRI_VG)
		TRI_VG_NOACCESS((void *)s->base, bytes);
	span_publish(s);
	return s;
}

/*
 * A thread that is still white (its stack not scanned this cycle) must not
 * take a span holding a black range of the cycle being marked: its white
 * allocations would land inside the range, the marker would take them for
 * black and never scan them, and what they point to (stored with plain
 * initialising stores) would be freed while reachable (GCBench's long-lived
 * tree, in perf/gcbench). Such spans are rare on the partial list (a black
 * thread detaching during marking leaves them): a white thread passes over
 * up to SKIP_BLACK of them, then takes an unswept or a new span.
 */
#define SKIP_BLACK 8

static bool unusable_for(bool white, const struct span *s)
{
	return white && ld_seq(&tri_rt.phase) == PHASE_MARK &&
	       ld_relaxed(&s->black_cycle) == ld_relaxed(&tri_rt.cycle);
}

struct span *central_acquire(unsigned sc, bool white)
{
	struct central *c = &tri_central[sc];
	struct span *skipped[SKIP_BLACK];
	unsigned nskipped = 0;
	tri_lock(&c->lock);
	struct span *s;
	while ((s = list_pop(c, L_PARTIAL))) {
		if (!unusable_for(white, s))
			break;
		skipped[nskipped++] = s;
		if (nskipped == SKIP_BLACK) {
			s = NULL;
			break;
		}
	}
	while (nskipped)
		list_push(c, L_PARTIAL, skipped[--nskipped]);
	if (s) {
		tri_unlock(&c->lock);
		return s;
	}
	/* Lazy sweeping: sweep this class's unswept spans until one has room,
	 * at most LAZY_SWEEP_BUDGET of them (as Go's cacheSpan): with a large,
	 * mostly live heap an unbounded search made one allocation sweep
	 * thousands of full spans (a 482 ms stall measured by perf/msgbuf at a
	 * 1 GiB live heap). Past the budget a new span is cheaper; the
	 * background sweeper finishes the rest. */
	unsigned budget = LAZY_SWEEP_BUDGET;
	while (budget-- && (s = list_pop(c, L_UNSWEPT))) {
		fetch_add(&tri_sweeps_active, 1);
		tri_unlock(&c->lock);
		int r = sweep_span(s);
		if (r == SWEEP_HAS_FREE) {
			fetch_sub_release(&tri_sweeps_active, 1);
			return s;
		}
		tri_lock(&c->lock);
		if (r == SWEEP_FULL)
			list_push(c, L_FULL, s);
		fetch_sub_release(&tri_sweeps_active, 1);
	}
	tri_unlock(&c->lock);
	return new_span(sc);
}

void central_release(struct span *s)
{
	struct central *c = &tri_central[s->spanclass];
	tri_lock(&c->lock);
	s->in_cache = 0;
	if (s->swept_cycle < ld_seq(&tri_rt.sweep_cycle))
		list_push(c, L_UNSWEPT, s);
	else if (s->cls != 0 && span_free_count(s) > 0)
		list_push(c, L_PARTIAL, s);
	else
		list_push(c, L_FULL, s);
	tri_unlock(&c->lock);
}

void central_add_large(struct span *s)
{
	struct central *c = &tri_central[s->spanclass];
	tri_lock(&c->lock);
	/* Read sweep_cycle under the lock that sweep start also takes: either
	 * the splice that follows moves this span to unswept, or we see the new
	 * cycle and the span counts as swept. Never an unswept span on a
	 * swept list (its stale mark bits would survive into the next cycle). */
	s->swept_cycle = ld_seq(&tri_rt.sweep_cycle);
	list_push(c, L_FULL, s);
	tri_unlock(&c->lock);
}

void central_sweep_start(uint64_t n)
{
	st_seq(&tri_rt.sweep_cycle, n);
	for (unsigned i = 0; i < TRI_NUM_SPANCLASSES; i++) {
		struct central *c = &tri_central[i];
		tri_lock(&c->lock);
		move_unswept(c, L_PARTIAL, n);
		move_unswept(c, L_FULL, n);
		tri_unlock(&c->lock);
	}
}
