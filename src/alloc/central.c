/* SPDX-License-Identifier: MIT */
/*
 * central.c - central span lists (see central.h).
 */
#include "alloc/central.h"
#include "alloc/memcheck.h"
#include "alloc/page_heap.h"
#include "runtime/pause.h"
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

/* s->list: 0 when on no list, else 1 + (kind << 1 | generation). */
enum { L_NONE = 0, K_PARTIAL = 0, K_FULL = 1 };

/* Lazy sweeping stops after this long (and after LAZY_SWEEP_MAX spans), at
 * least one span swept: a bounded quantum for the allocating thread. */
#define LAZY_SWEEP_NS 20000u
#define LAZY_SWEEP_MAX 64

void central_init(void)
{
	for (unsigned i = 0; i < TRI_NUM_SPANCLASSES; i++)
		tri_lock_init(&tri_central[i].lock);
}

void central_lock(struct central *c)
{
	if (likely(pthread_mutex_trylock(&c->lock) == 0))
		return;
	uint64_t t0 = tri_now_ns();
	tri_lock(&c->lock);
	pause_stall(TRI_PAUSE_LOCK, t0);
}

static struct span_list *list_of(struct central *c, int kind, unsigned gen)
{
	return kind == K_PARTIAL ? &c->partial[gen & 1] : &c->full[gen & 1];
}

/* Push s on the list its generation (swept_cycle parity) and kind call for. */
static void list_push(struct central *c, int kind, struct span *s)
{
	unsigned gen = (unsigned)(s->swept_cycle & 1);
	struct span_list *L = list_of(c, kind, gen);
	s->list = 1 + (kind << 1 | (int)gen);
	s->prev = NULL;
	s->next = L->head;
	if (L->head)
		L->head->prev = s;
	L->head = s;
	L->n++;
}

static void list_remove(struct central *c, struct span *s)
{
	int l = s->list - 1;
	struct span_list *L = list_of(c, l >> 1, (unsigned)l & 1);
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

static struct span *list_pop(struct central *c, int kind, unsigned gen)
{
	struct span *s = list_of(c, kind, gen)->head;
	if (s)
		list_remove(c, s);
	return s;
}

/* Pop an unswept span of c (sweep cycle n): partial ones first, as Go's
 * mcentral, since they are the likelier to yield room. Class lock held. */
static struct span *pop_unswept(struct central *c, uint64_t n)
{
	unsigned g = (unsigned)((n + 1) & 1);
	struct span *s = list_pop(c, K_PARTIAL, g);
	return s ? s : list_pop(c, K_FULL, g);
}

struct span *central_take_unswept(unsigned sc)
{
	struct central *c = &tri_central[sc];
	central_lock(c);
	struct span *s = pop_unswept(c, ld_seq(&tri_rt.sweep_cycle));
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

/* A fresh span from the page heap, cleared if it may be dirty: one
 * TRI_PAUSE_HEAP stall for the caller when it takes longer than
 * PAUSE_STALL_NS (arena growth, a lock wait, the clearing). */
static struct span *new_span(unsigned sc)
{
	bool needzero;
	unsigned cls = spanclass_cls(sc);
	uint64_t t0 = tri_now_ns();
	struct span *s = page_heap_alloc(tri_class[cls].npages, &needzero);
	if (!s)
		return NULL;
	span_init_small(s, sc);
	s->swept_cycle = ld_seq(&tri_rt.sweep_cycle);
	st_relaxed(&s->weak_cycle, s->swept_cycle); /* no object yet: weak/weak.h */
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
	page_heap_span_publish(s);
	pause_stall(TRI_PAUSE_HEAP, t0);
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
	central_lock(c);
	uint64_t n = ld_seq(&tri_rt.sweep_cycle);
	struct span *s;
	while ((s = list_pop(c, K_PARTIAL, (unsigned)(n & 1)))) {
		if (!unusable_for(white, s))
			break;
		skipped[nskipped++] = s;
		if (nskipped == SKIP_BLACK) {
			s = NULL;
			break;
		}
	}
	while (nskipped)
		list_push(c, K_PARTIAL, skipped[--nskipped]);
	if (s) {
		tri_unlock(&c->lock);
		return s;
	}
	/* Lazy sweeping: sweep this class's unswept spans until one has room,
	 * for at most LAZY_SWEEP_NS (and LAZY_SWEEP_MAX spans), with the lock
	 * dropped while sweeping. An unbounded search made one allocation
	 * sweep thousands of full spans at a 1 GiB live heap (482 ms); a budget
	 * of 64 spans still cost a mutator hundreds of microseconds. Past the
	 * budget a new span is cheaper; the background sweeper does the rest.
	 * The whole search is one TRI_PAUSE_SWEEP stall. */
	uint64_t t0 = 0;
	for (unsigned swept = 0; swept < LAZY_SWEEP_MAX; swept++) {
		s = pop_unswept(c, n);
		if (!s)
			break;
		fetch_add(&tri_sweeps_active, 1);
		tri_unlock(&c->lock);
		if (!t0)
			t0 = tri_now_ns();
		int r = sweep_span(s);
		if (r == SWEEP_HAS_FREE) {
			fetch_sub_release(&tri_sweeps_active, 1);
			pause_stall(TRI_PAUSE_SWEEP, t0);
			return s;
		}
		central_lock(c);
		if (r == SWEEP_FULL)
			list_push(c, K_FULL, s);
		fetch_sub_release(&tri_sweeps_active, 1);
		if (tri_now_ns() - t0 > LAZY_SWEEP_NS)
			break;
	}
	tri_unlock(&c->lock);
	if (t0)
		pause_stall(TRI_PAUSE_SWEEP, t0);
	return new_span(sc);
}

void central_release(struct span *s)
{
	struct central *c = &tri_central[s->spanclass];
	/* The caller owns s: its free count needs no lock. */
	bool has_free = s->cls != 0 && span_free_count(s) > 0;
	central_lock(c);
	s->in_cache = 0;
	/* Swept or not, s goes on its own generation's lists (central.h): an
	 * unswept span (swept_cycle < sweep_cycle) is on the unswept side. */
	list_push(c, has_free ? K_PARTIAL : K_FULL, s);
	tri_unlock(&c->lock);
}

void central_add_large(struct span *s)
{
	struct central *c = &tri_central[s->spanclass];
	central_lock(c);
	/* Read sweep_cycle under the lock that sweep start also takes: either
	 * sweep start's lock and unlock of this class comes after (and the
	 * span, generation N - 1, is unswept for N), or we see the new cycle
	 * and the span counts as swept. Never an unswept span on a swept list
	 * (its stale mark bits would survive into the next cycle). */
	s->swept_cycle = ld_seq(&tri_rt.sweep_cycle);
	/* Before the object is returned: a weak read of it must not take the
	 * struct's weak_cycle from its previous use (weak/weak.h). */
	st_release(&s->weak_cycle, s->swept_cycle);
	list_push(c, K_FULL, s);
	tri_unlock(&c->lock);
}

/* Debug builds: the side of the lists that becomes n's swept side holds
 * only spans a lazy sweeper already swept for n (between the store of
 * sweep_cycle and this class's lock); a span of generation n - 2 there
 * would never be swept for n. O(list), so not in release builds. */
static void check_generation(struct central *c, unsigned sc, uint64_t n)
{
#if TRI_DEBUG_LEVEL >= 2
	for (int k = K_PARTIAL; k <= K_FULL; k++)
		for (struct span *s = list_of(c, k, (unsigned)(n & 1))->head; s; s = s->next)
			if (s->swept_cycle != n)
				tri_fatal("tricolor: internal error: sweep %llu starts with span %p (class %u, "
					  "swept for %llu) on its swept side",
					  (unsigned long long)n, (void *)s->base, sc, (unsigned long long)s->swept_cycle);
#else
	(void)c, (void)sc, (void)n;
#endif
}

void central_sweep_start(uint64_t n)
{
	st_seq(&tri_rt.sweep_cycle, n);
	for (unsigned i = 0; i < TRI_NUM_SPANCLASSES; i++) {
		struct central *c = &tri_central[i];
		central_lock(c);
		check_generation(c, i, n);
		tri_unlock(&c->lock);
	}
}
