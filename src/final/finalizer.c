/*
 * finalizer.c - tri_set_finalizer, the finalizer queue and thread (see
 * finalizer.h).
 */
#include "final/finalizer.h"
#include "runtime/preempt.h"
#include "alloc/layout.h"
#include "alloc/memcheck.h"
#include "alloc/special.h"
#include "cleanup/cleanup.h"
#include "mark/scan.h"
#include "runtime/probes.h"
#include "runtime/thread.h"
#include "runtime/trace.h"
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define FIN_BATCH 256

struct fin_batch {
	struct fin_batch *next;
	uint32_t head, tail;
	struct fin_entry e[FIN_BATCH];
};

static pthread_mutex_t fin_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fin_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t fin_done = PTHREAD_COND_INITIALIZER;
static struct fin_batch *qhead, *qtail; /* fin_lock */
static uint64_t nqueued, nexecuted;	/* fin_lock */
/*
 * The finalizer thread takes up to FIN_RUN_BATCH entries per fin_lock
 * acquisition (run_batch) and counts them executed when the batch is done:
 * two lock round trips and a clock read per finalizer were a third of a
 * 1M no-op finalizer run. `taken`: entries popped by the finalizer thread
 * and not yet counted executed (fin_lock).
 *
 * The running finalizer, for the slow-finalizer report: running_seq counts
 * finalizer starts, running_since (a CLOCK_MONOTONIC_COARSE reading: a few
 * ms of resolution against a limit of 100 ms or more, and no syscall-class
 * cost per finalizer), running_fn and running_obj describe the current one;
 * running_since is 0 between batches. Written only by the finalizer thread
 * with relaxed atomic stores, read by finalizer_watchdog without the lock,
 * seqlock style (running_seq read before and after; a change means a new
 * finalizer started meanwhile and the sample is dropped). reported_seq: the
 * running_seq already reported (fin_lock).
 */
#define FIN_RUN_BATCH 64
static uint64_t taken;
static uint64_t running_seq;
static uint64_t running_since;
static void (*running_fn)(void *);
static void *running_obj;
static uint64_t reported_seq;

static uint64_t coarse_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* the finalizer thread exists (or is being replaced): written under fin_lock
 * with relaxed atomic stores; tri_set_finalizer reads it without the lock
 * and takes the lock only when it reads 0 (a stale 1 is harmless: whoever
 * cleared it starts a new thread under the lock at once) */
static int thread_started;
/* fin_lock: the smallest executed count a tri_drain caller waits for; the
 * finalizer thread wakes waiters only when it is reached, not after every
 * finalizer (a waiter not yet satisfied registers again). */
static uint64_t wake_at = UINT64_MAX;

static void executed_locked(uint64_t n)
{
	nexecuted += n;
	st_relaxed(&tri_stats.fin_executed, nexecuted);
	if (nexecuted >= wake_at) {
		wake_at = UINT64_MAX;
		pthread_cond_broadcast(&fin_done);
	}
}

void barrier_shade(struct tri_thread *t, uintptr_t p);

void describe_fn(void *fn, char *buf, size_t len)
{
	Dl_info info;
	if (dladdr(fn, &info) && info.dli_sname)
		snprintf(buf, len, "%s+%#lx", info.dli_sname,
			 (unsigned long)((char *)fn - (char *)info.dli_saddr));
	else if (dladdr(fn, &info) && info.dli_fname)
		snprintf(buf, len, "%p (in %s)", fn, info.dli_fname);
	else
		snprintf(buf, len, "%p", fn);
}

void finalizer_enqueue_batch(const struct fin_entry *e, size_t n)
{
	if (!n)
		return;
	/* A sweeping mutator hands the callback over here: its wait for the
	 * queue lock and the hand-off are a TRI_PAUSE_CALLBACK stall (pause.h). */
	uint64_t t0 = tri_now_ns();
	pthread_mutex_lock(&fin_lock);
	for (size_t i = 0; i < n; i++) {
		if (!qtail || qtail->tail == FIN_BATCH) {
			struct fin_batch *b = calloc(1, sizeof *b);
			if (!b)
				tri_fatal("tricolor: out of memory queueing a finalizer");
			if (qtail)
				qtail->next = b;
			else
				qhead = b;
			qtail = b;
		}
		qtail->e[qtail->tail++] = e[i];
	}
	nqueued += n;
	st_relaxed(&tri_stats.fin_queued, nqueued);
	pthread_cond_signal(&fin_work);
	pthread_mutex_unlock(&fin_lock);
	pause_stall(TRI_PAUSE_CALLBACK, t0);
}

static bool fin_pop_locked(struct fin_entry *out)
{
	while (qhead && qhead->head == qhead->tail) {
		if (qhead == qtail) {
			qhead->head = qhead->tail = 0;
			return false;
		}
		struct fin_batch *b = qhead;
		qhead = b->next;
		free(b);
	}
	if (!qhead)
		return false;
	*out = qhead->e[qhead->head++];
	return true;
}

static void start_thread(void);

struct fin_run {
	struct fin_entry e[FIN_RUN_BATCH];
	uint32_t n;    /* entries taken */
	uint32_t next; /* entries started */
};

/* Under fin_lock: put e back at the head of the queue (it was taken and not
 * run). Keeps FIFO order when called from the last entry to the first. */
static void fin_push_front_locked(struct fin_entry e)
{
	if (!qhead || qhead->head == 0) {
		struct fin_batch *b = calloc(1, sizeof *b);
		if (!b)
			tri_fatal("tricolor: out of memory queueing a finalizer");
		b->head = b->tail = FIN_BATCH;
		b->next = qhead;
		qhead = b;
		if (!qtail)
			qtail = b;
	}
	qhead->e[--qhead->head] = e;
}

/* A finalizer that calls pthread_exit (or is cancelled) would take the
 * finalizer thread with it (Go loses the worker silently, golang/go#71824).
 * Report it, count the finalizer as run, give the rest of its batch back to
 * the queue (in order, at the head) and start a new finalizer thread. */
static void finalizer_exited(void *arg)
{
	struct fin_run *r = arg;
	struct fin_entry *e = &r->e[r->next - 1];
	char name[256];
	describe_fn((void *)e->fn, name, sizeof name);
	tri_warn("tricolor: finalizer %s(%p) called pthread_exit or was cancelled; the finalizer thread is replaced and the other finalizers go on",
		 name, e->obj);
	tri_nopreempt = 1; /* unwinding out of preemptible_call */
	tri_self->in_callback = 0;
	st_relaxed(&running_since, 0);
	pthread_mutex_lock(&fin_lock);
	for (uint32_t i = r->n; i-- > r->next;)
		fin_push_front_locked(r->e[i]);
	taken -= r->n;
	executed_locked(r->next);
	st_relaxed(&thread_started, 0);
	start_thread();
	pthread_mutex_unlock(&fin_lock);
}

/*
 * Take up to FIN_RUN_BATCH queued finalizers and run them in order; false
 * if the queue is empty. The taken entries are roots while they wait in r:
 * r is on this attached thread's stack (scanned at every stack-scan
 * handshake, and the thread is not in a blocking region here), and if a
 * marking cycle already scanned both that stack and the queue, they are
 * shaded at once (barrier_on). Each entry's object is cleared from r once
 * its finalizer returned, and r is cleared at the end. Not inlined, on
 * purpose: the objects live only in this frame and in registers it saves
 * and restores, all gone once it returns, so the idle finalizer thread's
 * stack and saved registers never keep the last object alive (the same
 * trap as the cleanup workers', see cleanup.c).
 */
static __attribute__((noinline)) bool run_batch(struct tri_thread *t, uint64_t *batch_start, uint64_t *batch_n)
{
	struct fin_run r;
	r.n = r.next = 0;
	pthread_mutex_lock(&fin_lock);
	while (r.n < FIN_RUN_BATCH && fin_pop_locked(&r.e[r.n]))
		r.n++;
	taken += r.n;
	pthread_mutex_unlock(&fin_lock);
	if (!r.n)
		return false;
	if (t->barrier_on)
		for (uint32_t i = 0; i < r.n; i++)
			barrier_shade(t, (uintptr_t)r.e[i].obj);
	if (!*batch_n)
		*batch_start = tri_now_ns();
	*batch_n += r.n;
	while (r.next < r.n) {
		struct fin_entry *e = &r.e[r.next++];
		st_relaxed(&running_fn, e->fn);
		st_relaxed(&running_obj, e->obj);
		st_relaxed(&running_since, coarse_now_ns());
		__atomic_store_n(&running_seq, running_seq + 1, __ATOMIC_RELEASE);
		TRI_PROBE2(finalizer__start, e->obj, e->fn);
		t->in_callback = 1;
		pthread_cleanup_push(finalizer_exited, &r);
		preemptible_call(e->fn, e->obj);
		pthread_cleanup_pop(0);
		t->in_callback = 0;
		TRI_PROBE1(finalizer__end, e->fn);
		clear_stack_ref(e->obj);
	}
	st_relaxed(&running_since, 0);
	st_relaxed(&running_obj, NULL);
	pthread_mutex_lock(&fin_lock);
	taken -= r.n;
	executed_locked(r.n);
	pthread_mutex_unlock(&fin_lock);
	return true;
}

static void *finalizer_main(void *arg)
{
	(void)arg;
	tri_thread_attach();
	struct tri_thread *t = tri_self;
	uint64_t batch_start = 0, batch_n = 0;
	trace_thread_name(t->id, "finalizer");
	for (;;) {
		if (run_batch(t, &batch_start, &batch_n))
			continue;
		if (batch_n)
			trace_complete("finalizers", "callback", t->id, batch_start, tri_now_ns() - batch_start,
				       batch_n);
		batch_n = 0;
		scrub_callee_saved();
		tri_blocking_enter();
		pthread_mutex_lock(&fin_lock);
		while (!qhead || (qhead->head == qhead->tail && !qhead->next))
			pthread_cond_wait(&fin_work, &fin_lock);
		pthread_mutex_unlock(&fin_lock);
		tri_blocking_leave();
	}
	return NULL;
}

/* Under fin_lock. */
static void start_thread(void)
{
	if (thread_started)
		return;
	st_relaxed(&thread_started, 1);
	if (tri_spawn_thread(finalizer_main, NULL, "tri-final", -1))
		tri_fatal("tri_set_finalizer: cannot create the finalizer thread");
}

void tri_set_finalizer(void *obj, void (*fn)(void *obj))
{
	NO_PREEMPT();
	thread_require("tri_set_finalizer");
	if (!obj)
		tri_fatal("tri_set_finalizer: pointer is NULL");
	if (obj == (void *)tri_zerobase)
		return;
	struct span *s;
	uint32_t idx;
	uintptr_t base = object_lookup((uintptr_t)obj, &s, &idx);
	if (!base)
		tri_fatal("tri_set_finalizer: pointer not in allocated block (%p)", obj);
	if (base != (uintptr_t)obj)
		tri_fatal("tri_set_finalizer: pointer not at beginning of allocated block (%p is %zu bytes into the block at %p)",
			  obj, (size_t)((uintptr_t)obj - base), (void *)base);
	if (!fn) {
		special_remove_finalizer(s, idx);
		return;
	}
	if (unlikely(!ld_relaxed(&thread_started))) {
		pthread_mutex_lock(&fin_lock);
		start_thread();
		pthread_mutex_unlock(&fin_lock);
	}
	if (special_add_finalizer(s, idx, fn))
		tri_fatal("tri_set_finalizer: finalizer already set (object %p)", obj);
	/* Rule 5: the marker may have walked the finalizer specials already;
	 * scan the referents now so the dependency order holds this cycle. */
	if (ld_seq(&tri_rt.phase) == PHASE_MARK && mark_gate_enter()) {
		struct gcwork w;
		gcwork_init(&w, false);
		scan_object_referents((uintptr_t)obj, &w);
		gcwork_dispose(&w);
		mark_gate_exit();
	}
}

void finalizer_mark_roots(struct gcwork *w)
{
	pthread_mutex_lock(&fin_lock);
	for (struct fin_batch *b = qhead; b; b = b->next)
		for (uint32_t i = b->head; i < b->tail; i++)
			mark_ptr((uintptr_t)b->e[i].obj, w);
	pthread_mutex_unlock(&fin_lock);
}

void finalizer_visit_queued(void (*visit)(uintptr_t, void *), void *ctx)
{
	pthread_mutex_lock(&fin_lock);
	for (struct fin_batch *b = qhead; b; b = b->next)
		for (uint32_t i = b->head; i < b->tail; i++)
			visit((uintptr_t)b->e[i].obj, ctx);
	pthread_mutex_unlock(&fin_lock);
}

uint64_t finalizer_queued_count(void)
{
	pthread_mutex_lock(&fin_lock);
	uint64_t n = nqueued;
	pthread_mutex_unlock(&fin_lock);
	return n;
}

int finalizer_wait(uint64_t target, uint64_t deadline_ns)
{
	int r = 0;
	pthread_mutex_lock(&fin_lock);
	while (nexecuted < target && !r) {
		if (target < wake_at)
			wake_at = target;
		r = tri_cond_wait_until(&fin_done, &fin_lock, deadline_ns);
	}
	pthread_mutex_unlock(&fin_lock);
	return nexecuted >= target ? 0 : r;
}

void finalizer_watchdog(void)
{
	uint64_t limit = tri_rt.opt.slow_finalizer_ms * 1000000ull;
	if (!limit)
		return;
	uint64_t seq = __atomic_load_n(&running_seq, __ATOMIC_ACQUIRE);
	uint64_t since = ld_relaxed(&running_since);
	void (*fn)(void *) = ld_relaxed(&running_fn);
	void *obj = ld_relaxed(&running_obj);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (!since || __atomic_load_n(&running_seq, __ATOMIC_RELAXED) != seq)
		return; /* none running, or a new one started while we read */
	uint64_t now = tri_now_ns();
	if (now < since || now - since <= limit)
		return;
	pthread_mutex_lock(&fin_lock);
	if (reported_seq == seq) {
		pthread_mutex_unlock(&fin_lock);
		return;
	}
	reported_seq = seq;
	uint64_t waiting = nqueued - nexecuted - 1;
	pthread_mutex_unlock(&fin_lock);
	char name[256];
	describe_fn((void *)fn, name, sizeof name);
	double secs = (double)(now - since) / 1e9;
	tri_warn("tricolor: slow finalizer: %s(%p) has been running for %.1f s; %llu finalizers wait behind it (if it blocks, it must do so inside tri_blocking_enter/leave, or collection waits for it too)",
		 name, obj, secs, (unsigned long long)waiting);
}

/* debug=checkfinalizers: a finalizer whose object reaches itself through
 * its referents can never run; a cleanup whose arg reaches its object can
 * never run either. Runs in the coordinator after a sweep (no sweeping or
 * freeing can happen meanwhile); reads the heap racily, as a diagnostic. */
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

/* A word read conservatively: possibly uninitialised, by design (memcheck
 * is told so on our copy, alloc/memcheck.h). */
TRI_NO_SANITIZE static inline uintptr_t scanned_word(uintptr_t a)
{
	uintptr_t v = ld_relaxed((uintptr_t *)a);
	return TRI_VG ? tri_vg_defined_word(v) : v;
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
		c->found = reach_push(c->r, scanned_word(a), c->target);
}

/* Push what the words of the object at obj name that the marker would
 * follow: every word, or a typed object's pointer words (alloc/layout.h). */
static bool reach_object(struct reach *r, uintptr_t obj, struct span *s, uintptr_t target)
{
	uintptr_t end = layout_block_end(s, obj);
	if (s->typed) {
		struct reach_word c = {r, target, false};
		layout_scan(obj, end, obj, end, true, reach_word, &c);
		return c.found;
	}
	bool found = false;
	for (uintptr_t a = obj; a + 8 <= end && !found; a += 8)
		found = reach_push(r, scanned_word(a), target);
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
			found = reach_push(&r, scanned_word(a), target);
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
	uintptr_t obj = s->base + (uintptr_t)q->idx * s->elemsize;
	char name[256];
	describe_fn((void *)q->fn, name, sizeof name);
	if (q->kind == SPECIAL_FINALIZER) {
		if (!s->noscan && reaches(obj, obj + s->elemsize, obj)) {
			c->reported++;
			tri_warn("tricolor: checkfinalizers: finalizer %s on object %p can never run: the object is reachable from itself",
				 name, (void *)obj);
		}
	} else {
		uintptr_t arg = (uintptr_t)q->arg;
		if (reaches((uintptr_t)&arg, (uintptr_t)(&arg + 1), obj)) {
			c->reported++;
			tri_warn("tricolor: checkfinalizers: cleanup %s(%p) on object %p can never run: its argument reaches the object",
				 name, q->arg, (void *)obj);
		}
	}
}

void finalizer_cycle_report(uint64_t n)
{
	if (!tri_rt.opt.checkfinalizers)
		return;
	struct check_ctx c = {0};
	specials_visit(check_visit, &c);
	pthread_mutex_lock(&fin_lock);
	uint64_t qlen = nqueued - nexecuted;
	pthread_mutex_unlock(&fin_lock);
	tri_warn("tricolor: checkfinalizers: cycle %llu: %llu finalizers queued or running, %llu cleanups queued or running, %u problems reported",
		 (unsigned long long)n, (unsigned long long)qlen,
		 (unsigned long long)cleanup_pending_count(), c.reported);
}

int tri_drain(long timeout_ms)
{
	NO_PREEMPT();
	struct tri_thread *t = thread_require("tri_drain");
	if (t->in_callback)
		tri_fatal("tri_drain: called from a finalizer or cleanup (it would wait for itself)");
	uint64_t deadline = timeout_ms < 0 ? 0 : tri_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	if (timeout_ms == 0)
		deadline = tri_now_ns();
	uint64_t fin_target = finalizer_queued_count();
	uint64_t cln_target = cleanup_queued_seq();
	tri_blocking_enter();
	int r = finalizer_wait(fin_target, deadline);
	if (!r)
		r = cleanup_wait(cln_target, deadline);
	tri_blocking_leave();
	return r;
}

/* fork (runtime/fork.c) */
void finalizer_fork_lock(void)
{
	pthread_mutex_lock(&fin_lock);
}

void finalizer_fork_unlock(void)
{
	pthread_mutex_unlock(&fin_lock);
}

void finalizer_after_fork_child(void)
{
	pthread_cond_init(&fin_work, NULL);
	pthread_cond_init(&fin_done, NULL);
	pthread_mutex_lock(&fin_lock);
	/* A finalizer running in the parent's finalizer thread at the fork
	 * stays with the parent: count it as done here, or tri_drain in the
	 * child would wait for it forever. */
	/* Finalizers taken by the parent's finalizer thread at the fork (the
	 * running one and the rest of its batch) stay with the parent: count
	 * them as done here, or tri_drain in the child would wait for them
	 * forever. */
	nexecuted += taken;
	taken = 0;
	st_relaxed(&tri_stats.fin_executed, nexecuted);
	running_since = 0;
	running_fn = NULL;
	running_obj = NULL;
	if (thread_started) {
		st_relaxed(&thread_started, 0);
		start_thread();
	}
	pthread_mutex_unlock(&fin_lock);
}
