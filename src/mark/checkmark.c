/* SPDX-License-Identifier: MIT */
/*
 * checkmark.c - the checkmark verification (see checkmark.h).
 *
 * Invariant: nothing here calls malloc (or anything that may: stdio is used
 * only after handshake_world_start, or to abort). The world is stopped while it runs,
 * and a parked mutator may be inside malloc holding its arena lock (it was
 * stopped by the preemption signal inside the C library): a malloc here
 * would wait for it forever. Scratch memory is mmap'd (alloc/os_mem.h).
 */
#include "mark/checkmark.h"
#include "weak/weak.h"
#include "alloc/layout.h"
#include "alloc/memcheck.h"
#include "alloc/os_mem.h"
#include "alloc/special.h"
#include "runtime/cycle.h"
#include "mark/roots.h"
#include "mark/data_roots.h"
#include "mark/scan.h"
#include "runtime/handshake.h"
#include <stdlib.h>

/* Coordinator only, while the world is stopped. Both arrays are mmap'd
 * (alloc/os_mem.h scratch), never malloc'd: a parked mutator may hold a
 * malloc arena lock (issue 14 case 4). The mark stack keeps its mapping
 * from cycle to cycle; the bitmap is mapped per run (zeroed) and unmapped. */
struct cm {
	uint64_t *bits;   /* BITMAP_WORDS per span struct */
	size_t bits_cap;  /* bytes mapped */
	uintptr_t *stack; /* explicit mark stack */
	size_t stack_cap; /* bytes mapped */
	size_t n, cap;
	uint64_t cycle;
	uint64_t reached;
	/* For the report of a white object: the heap object being traversed
	 * (0 while the roots are) and the address of the word being read. */
	uintptr_t parent, word_at;
	const struct tri_thread *thread; /* whose stack is being read, or NULL */
	bool from_black; /* parent: a conservative block allocated black */
};

static struct cm cm;

static void cm_push(uintptr_t obj)
{
	if (cm.n == cm.cap) {
		size_t ncap = cm.cap ? cm.cap * 2 : 4096;
		uintptr_t *n = os_scratch_resize(cm.stack, &cm.stack_cap, ncap * sizeof *n);
		if (!n)
			tri_fatal("tricolor: checkmark: out of memory");
		cm.stack = n;
		cm.cap = ncap;
	}
	cm.stack[cm.n++] = obj;
}

/* A word for a report: under valgrind declared defined on its copy, as the
 * scan does (a stack or a block may hold words never written). */
TRI_NO_SANITIZE static uint64_t cm_word_value(uintptr_t a)
{
	uintptr_t v = *(const uintptr_t *)a;
	return TRI_VG ? tri_vg_defined_word(v) : v;
}

/* For the report of a white object: the slot's span state and its first
 * words, so the report says what the object is (a program's structure, a
 * stale copy, zeroes) and how its span got its colour. Aborting anyway. */
static void cm_describe(const char *what, uintptr_t obj, struct span *s, uint32_t idx)
{
	tri_warn("tricolor: checkmark: %s %p: span %p slot %u of %u, freeindex %u, black_from %u "
		 "black_cycle %llu, swept_cycle %llu, in_cache %u, alloc bit %u, mark bit %u",
		 what, (void *)obj, (void *)s->base, idx, s->nelems, ld_relaxed(&s->freeindex),
		 ld_relaxed(&s->black_from), (unsigned long long)ld_relaxed(&s->black_cycle),
		 (unsigned long long)s->swept_cycle, (unsigned)s->in_cache,
		 (unsigned)((s->alloc_bits[idx >> 6] >> (idx & 63)) & 1), (unsigned)mark_is_set(s, idx));
	size_t words = s->elemsize / 8 < 64 ? s->elemsize / 8 : 64;
	for (size_t i = 0; i < words; i += 4)
		tri_warn("tricolor: checkmark:   +%-4zu %016llx %016llx %016llx %016llx", i * 8,
			 (unsigned long long)cm_word_value(obj + i * 8),
			 (unsigned long long)(i + 1 < words ? cm_word_value(obj + i * 8 + 8) : 0),
			 (unsigned long long)(i + 2 < words ? cm_word_value(obj + i * 8 + 16) : 0),
			 (unsigned long long)(i + 3 < words ? cm_word_value(obj + i * 8 + 24) : 0));
}

/* lenient: a stack or register word. A conservative stack holds stale
 * slots (uninitialised words of frames pushed since the stack was scanned)
 * that may name dead objects, so a white object named only by a stack word
 * is not an error; it is not traversed either. Everything reached from the
 * global roots, the specials and marked objects must be marked.
 *
 * A conservative block allocated black (cm.from_black) was never scanned by
 * the concurrent mark, by design (black allocation), so its words were
 * never checked against anything: the program's integers in it are seen
 * here for the first time. From such a block only an exact base pointer to
 * a white block is an edge to report; a word that merely falls inside a
 * white block is forgiven and not traversed, like a stack word. Found by
 * test_stress (three aborts in about 250 runs of 40 s): the last, partial
 * word of a node's pseudo-random payload, zero-extended by the zeroed
 * slack, read 0x00007eff80ad6c23, inside a dropped 352-byte garbage block
 * (reproduced from the node's id and generation: the test wrote it). A
 * random word names a heap address about once in 2^18; it names an exact
 * block base a few hundred thousand times less often. A missing barrier in
 * the library or the program stores a block's base, which is still
 * reported. */
static void cm_mark(uintptr_t p, const char *from, bool lenient)
{
	struct span *s;
	uint32_t idx;
	uintptr_t obj = object_lookup(p, &s, &idx);
	if (!obj)
		return;
	uint64_t *w = &cm.bits[(size_t)(s - tri_heap.spans) * BITMAP_WORDS + (idx >> 6)];
	uint64_t bit = 1ull << (idx & 63);
	if (*w & bit)
		return;
	bool white = !mark_is_set(s, idx) && !span_black_allocated(s, idx, cm.cycle);
	if (white && (lenient || (cm.from_black && p != obj)))
		return;
	*w |= bit;
	cm.reached++;
	if (white) {
		struct span *ps = NULL;
		uint32_t pidx = 0;
		uintptr_t parent = cm.parent ? object_lookup(cm.parent, &ps, &pidx) : 0;
		if (parent) {
			tri_warn("tricolor: checkmark: the referrer is %p (size class %u, %s, word +%zu), cycle %llu",
				 (void *)parent, ps->cls,
				 mark_is_set(ps, pidx)				  ? "marked"
				 : span_black_allocated(ps, pidx, cm.cycle) ? "allocated black"
									    : "white",
				 (size_t)(cm.word_at - parent), (unsigned long long)cm.cycle);
			cm_describe("referrer", parent, ps, pidx);
		}
		cm_describe("object", obj, s, idx);
		if (cm.thread && !parent) {
			const struct tri_thread *t = cm.thread;
			tri_warn("tricolor: checkmark: the word is at %p on thread %u's stack: scan_lo %+ld, "
				 "stopped at %+ld, stack top %+ld bytes from it; the words around it:",
				 (void *)cm.word_at, t->id, (long)(t->scan_lo - cm.word_at),
				 (long)(t->blocking_sp - cm.word_at), (long)(t->stack_hi - cm.word_at));
			for (uintptr_t a = (cm.word_at - 128 > t->blocking_sp ? cm.word_at - 128 : t->blocking_sp) & ~(uintptr_t)7;
			     a < cm.word_at + 256 && a + 8 <= t->stack_hi; a += 8)
				tri_warn("tricolor: checkmark:   %p %016llx", (void *)a,
					 (unsigned long long)cm_word_value(a));
		}
		tri_fatal("tricolor: checkmark: object %p (size class %u, %zu bytes, reached from %s) is reachable but the concurrent mark left it white",
			  (void *)obj, s->cls, s->elemsize, from);
	}
	if (!s->noscan)
		cm_push(obj);
}

/* Conservative like scan_range: under valgrind each word is declared
 * defined on its copy (alloc/memcheck.h); the world is stopped, so the
 * per-word branch costs nothing that matters. */
TRI_NO_SANITIZE static void cm_range(uintptr_t lo, uintptr_t hi, const char *from, bool lenient)
{
	lo = (lo + 7) & ~(uintptr_t)7;
	for (uintptr_t a = lo; a + 8 <= hi; a += 8) {
		uintptr_t v = *(uintptr_t *)a;
		cm.word_at = a;
		cm_mark(TRI_VG ? tri_vg_defined_word(v) : v, from, lenient);
	}
}

/* A pointer word of a typed object (layout_scan's visit); ctx: from. */
TRI_NO_SANITIZE static void cm_word(uintptr_t a, void *ctx)
{
	uintptr_t v = *(uintptr_t *)a;
	cm.word_at = a;
	cm_mark(TRI_VG ? tri_vg_defined_word(v) : v, ctx, false);
}

/* The words of a heap object the marker scans: all of them, or a typed
 * object's pointer words only (alloc/layout.h). */
static void cm_object(uintptr_t obj, struct span *s, const char *from)
{
	uintptr_t end = layout_block_end(s, obj);
	if (s->typed)
		layout_scan(obj, end, obj, end, true, cm_word, (void *)from);
	else
		cm_range(obj, end, from, false);
}

/*
 * A thread's stack from its stop point up. Plain checkmark forgives every
 * stack word that names a white object (see cm_mark). debug=checkstacks is
 * strict about the part the thread's stack scan of this cycle covered,
 * [scan_lo, stack_hi): the verifier of issue 14 case 2, a stack the cycle
 * failed to scan (or scanned too little of) while the thread used what it
 * held there.
 *
 * Why a word there must name a marked or black object: it was either
 * scanned (the scan marked what it named, or named a free slot then) or
 * written since by the thread, with a value it held after its scan - every
 * such value is marked or black (what it loads from the heap is marked or
 * shaded by the deletion barrier, what it allocates is black).
 * False positives it rules out: stale slots of frames pushed below the scan
 * point since the scan ([blocking_sp, scan_lo) stays lenient); when the
 * thread is stopped in the preemption handler, everything below the
 * interrupted stack pointer (sig_sp): the kernel's signal frame copies
 * every register, and a caller-saved or vector register may still hold a
 * value that was dead at the scan (not a root then, rightly) - the reports
 * test_stress made within seconds before this rule were such words; registers
 * (lenient: a dead register keeps any old value), TLS (lenient), a thread
 * not scanned this cycle (scan_cycle differs: lenient; none exists once
 * marking terminated, but the test is cheap). The one it cannot rule out:
 * a stale word inside the scanned part that named a free slot at the scan,
 * where another thread, still white, then allocated an object that is
 * garbage. That needs a stale word naming exactly a reused slot before the
 * allocator's own scan; so checkstacks is a debugging mode (tests/test_correctness
 * tests it; test_stress runs clean under it), not part of checkmark.
 */
static void cm_stack(const struct tri_thread *t)
{
	uintptr_t lo = t->blocking_sp, hi = t->stack_hi;
	cm.thread = t;
	uintptr_t strict = t->scan_lo > lo ? t->scan_lo : lo;
	if (t->sig_sp > strict) /* stopped in the preemption handler */
		strict = t->sig_sp;
	if (!tri_rt.opt.checkstacks || t->scan_cycle != cm.cycle || strict >= hi) {
		cm_range(lo, hi, "a thread's stack", true);
		cm.thread = NULL;
		return;
	}
	cm_range(lo, strict, "a thread's stack", true);
	cm_range(strict, hi, "the part of a thread's stack its scan covered (debug=checkstacks)", false);
	cm.thread = NULL;
}

static void root_visit(uintptr_t lo, uintptr_t hi, void *ctx)
{
	(void)ctx;
	cm_range(lo, hi, "a root range", false);
}

static void special_visit(struct span *s, struct special *q, void *ctx)
{
	(void)ctx;
	if (q->kind == SPECIAL_FINALIZER) {
		uintptr_t obj = span_slot_addr(s, q->idx);
		if (!s->noscan)
			cm_object(obj, s, "a finalizer object's referents");
	} else if (q->kind == SPECIAL_CLEANUP) {
		cm_mark((uintptr_t)q->arg, "a cleanup argument", false);
	} else { /* W1 (weak/weak.h): a set cell names this record's object */
		const struct weak_cell *c = q->arg;
		uintptr_t obj = span_slot_addr(s, q->idx);
		uintptr_t v = ld_acquire(&c->obj);
		if (v != obj)
			tri_fatal("tricolor: checkmark: weak cell %p of object %p names %#lx",
				  (const void *)c, (void *)obj, (unsigned long)v);
		cm_mark((uintptr_t)c, "a weak handle's record", false);
	}
}

static void queued_visit(uintptr_t p, void *ctx)
{
	(void)ctx;
	cm_mark(p, "a queued finalizer or cleanup", false);
}

void checkmark_run(void)
{
	uint64_t t0 = tri_now_ns();
	handshake_world_stop();
	cm.cycle = ld_relaxed(&tri_rt.cycle);
	uint32_t hwm = ld_acquire(&tri_heap.span_hwm);
	cm.bits_cap = 0;
	cm.bits = os_scratch_resize(NULL, &cm.bits_cap, ((size_t)hwm * BITMAP_WORDS + 1) * sizeof(uint64_t));
	if (!cm.bits)
		tri_fatal("tricolor: checkmark: out of memory");
	cm.n = 0;
	cm.reached = 0;
	cm.parent = 0;

	roots_visit(root_visit, NULL);
	data_roots_visit(root_visit, NULL);
	specials_visit(special_visit, NULL);
	cycle_callbacks.visit_queued(queued_visit, NULL);
	struct tri_thread *t;
	rcu_read_lock();
	cds_list_for_each_entry_rcu(t, &tri_threads, node) {
		tsan_acquire(t);
		if (ld_acquire(&t->state) == TS_DETACHED)
			continue;
		cm_range((uintptr_t)t->regs, (uintptr_t)(t->regs + 8), "a thread's registers", true);
		cm_stack(t);
		for (uint32_t i = 0; i < t->ntls; i++)
			cm_range(t->tls[i].lo, t->tls[i].hi, "a thread's TLS", true);
	}
	tsan_release(&tri_rcu_sync_token);
	rcu_read_unlock();
	while (cm.n) {
		uintptr_t obj = cm.stack[--cm.n];
		struct span *s = span_of(obj);
		uint32_t idx = 0;
		object_lookup(obj, &s, &idx); /* a pushed block: always found */
		cm.parent = obj;
		cm.from_black = !s->typed && !mark_is_set(s, idx) && span_black_allocated(s, idx, cm.cycle);
		cm_object(obj, s, "a heap object");
	}
	cm.from_black = false;
	os_scratch_free(cm.bits, cm.bits_cap);
	cm.bits = NULL;
	handshake_world_start();
	uint64_t len = tri_now_ns() - t0;
	pause_record(NULL, TRI_PAUSE_STOP, t0, len);
	if (tri_rt.opt.gctrace)
		tri_warn("tricolor: checkmark: cycle %llu ok, %llu objects reachable, %.3f ms stopped",
			 (unsigned long long)cm.cycle, (unsigned long long)cm.reached, (double)len / 1e6);
}
