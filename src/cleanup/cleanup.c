/*
 * cleanup.c - tri_add_cleanup, tri_cleanup_stop and the worker pool (see
 * cleanup.h).
 */
#include "cleanup/cleanup.h"
#include "runtime/preempt.h"
#include "alloc/special.h"
#include "final/finalizer.h"
#include "mark/scan.h"
#include "runtime/handshake.h"
#include "runtime/probes.h"
#include "runtime/thread.h"
#include "runtime/trace.h"
#include <errno.h>
#include <stdlib.h>

#define CLN_BATCH 256
#define IDLE_EXIT_NS 1000000000ull

struct cln_entry {
	void (*fn)(void *);
	void *arg;
	uint64_t seq;
};

struct cln_batch {
	struct cln_batch *next;
	uint32_t head, tail;
	struct cln_entry e[CLN_BATCH];
};

struct cln_worker {
	struct cln_worker *next;
	uint64_t running; /* sequence being run, 0 if none */
	void (*fn)(void *); /* the running cleanup, for reports */
	void *arg;
};

static pthread_mutex_t cln_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cln_work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t cln_done = PTHREAD_COND_INITIALIZER;
static struct cln_batch *qhead, *qtail;
static uint64_t next_seq;	/* last sequence queued */
static uint64_t popped_seq;	/* last sequence taken by a worker */
static uint64_t nexecuted;
static struct cln_worker *workers;
static unsigned nworkers, nidle, peak;
/* cln_lock: tri_drain callers wait for every sequence <= their target;
 * workers wake them only once at least that many cleanups finished (they
 * re-check exactly and register again), not after every cleanup. */
static uint64_t wake_at = UINT64_MAX;

static void executed_one_locked(void)
{
	nexecuted++;
	st_relaxed(&tri_stats.cln_executed, nexecuted);
	if (nexecuted >= wake_at) {
		wake_at = UINT64_MAX;
		pthread_cond_broadcast(&cln_done);
	}
}

void barrier_shade(struct tri_thread *t, uintptr_t p);
static void spawn_worker_locked(void);

static bool queue_empty_locked(void)
{
	return popped_seq == next_seq;
}

void cleanup_enqueue_batch(const struct cln_item *c, size_t n)
{
	if (!n)
		return;
	/* A sweeping mutator hands the callback over here: its wait for the
	 * queue lock and the hand-off are a TRI_PAUSE_CALLBACK stall (pause.h). */
	uint64_t t0 = tri_now_ns();
	pthread_mutex_lock(&cln_lock);
	for (size_t i = 0; i < n; i++) {
		if (!qtail || qtail->tail == CLN_BATCH) {
			struct cln_batch *b = calloc(1, sizeof *b);
			if (!b)
				tri_fatal("tricolor: out of memory queueing a cleanup");
			if (qtail)
				qtail->next = b;
			else
				qhead = b;
			qtail = b;
		}
		qtail->e[qtail->tail++] = (struct cln_entry){c[i].fn, c[i].arg, ++next_seq};
	}
	st_relaxed(&tri_stats.cln_queued, next_seq);
	/* One idle worker per queued cleanup at most; a worker that finds
	 * more work waiting and nobody idle grows the pool itself. */
	if (nidle > 1 && n > 1)
		pthread_cond_broadcast(&cln_work);
	else if (nidle)
		pthread_cond_signal(&cln_work);
	else if (nworkers < (unsigned)tri_rt.opt.cleanup_workers)
		spawn_worker_locked();
	pthread_mutex_unlock(&cln_lock);
	pause_stall(TRI_PAUSE_CALLBACK, t0);
}

static bool pop_locked(struct cln_entry *out)
{
	while (qhead && qhead->head == qhead->tail) {
		if (qhead == qtail) {
			qhead->head = qhead->tail = 0;
			return false;
		}
		struct cln_batch *b = qhead;
		qhead = b->next;
		free(b);
	}
	if (!qhead)
		return false;
	*out = qhead->e[qhead->head++];
	popped_seq = out->seq;
	return true;
}

/* A cleanup that calls pthread_exit (or is cancelled) takes its worker
 * with it: report it, count the cleanup as run, drop the worker from the
 * pool, and start another if work is waiting. */
static void cleanup_exited(void *arg)
{
	struct cln_worker *me = arg;
	char name[256];
	describe_fn((void *)me->fn, name, sizeof name);
	tri_warn("tricolor: cleanup %s(%p) called pthread_exit or was cancelled; its worker is replaced and the other cleanups go on",
		 name, me->arg);
	tri_nopreempt = 1; /* unwinding out of preemptible_call */
	tri_self->in_callback = 0;
	pthread_mutex_lock(&cln_lock);
	struct cln_worker **pp = &workers;
	while (*pp != me)
		pp = &(*pp)->next;
	*pp = me->next;
	nworkers--;
	st_relaxed(&tri_stats.cln_workers, nworkers);
	executed_one_locked();
	if (!queue_empty_locked() && !nidle)
		spawn_worker_locked();
	pthread_mutex_unlock(&cln_lock);
	free(me);
}

/*
 * Take one queued cleanup (cln_lock held on entry and on return) and run
 * it; false if the queue is empty. Not inlined, on purpose: the entry's arg
 * lives only in this frame and in the registers it saves and restores, all
 * of which are gone once it returns, so the idle worker's stack and saved
 * registers (scanned conservatively while it sleeps) never hold the last
 * arg it ran. (With the entry in the worker's loop frame, the compiler
 * dropped the clear of the dead local and kept the value in a callee-saved
 * register: an idle worker kept its last arg alive for up to a second.)
 */
static __attribute__((noinline)) bool run_one_locked(struct cln_worker *me, struct tri_thread *t,
						    uint64_t *batch_start, uint64_t *batch_n)
{
	struct cln_entry e;
	if (!pop_locked(&e))
		return false;
	me->running = e.seq;
	if (!(*batch_n)++)
		*batch_start = tri_now_ns();
	me->fn = e.fn;
	me->arg = e.arg;
	/* More work waiting and nobody idle: grow the pool. */
	if (!queue_empty_locked() && !nidle && nworkers < (unsigned)tri_rt.opt.cleanup_workers)
		spawn_worker_locked();
	pthread_mutex_unlock(&cln_lock);
	if (t->barrier_on)
		barrier_shade(t, (uintptr_t)e.arg);
	TRI_PROBE2(cleanup__start, e.fn, e.arg);
	t->in_callback = 1;
	pthread_cleanup_push(cleanup_exited, me);
	preemptible_call(e.fn, e.arg);
	pthread_cleanup_pop(0);
	t->in_callback = 0;
	TRI_PROBE1(cleanup__end, e.fn);
	clear_stack_ref(e.arg);
	/* Between two cleanups: a safepoint, and the lock taken inside a
	 * blocking region, so a handshake never waits for a worker going
	 * through a long queue, nor for one waiting on cln_lock (issue 12:
	 * with 8 workers on 2 cores, handshakes waited 70-280 ms for them). The
	 * worker holds no heap pointer here (arg was cleared). */
	handshake_poll(t);
	tri_blocking_enter();
	pthread_mutex_lock(&cln_lock);
	tri_blocking_leave();
	me->running = 0;
	me->arg = NULL;
	executed_one_locked();
	return true;
}

static void *worker_main(void *arg)
{
	struct cln_worker *me = arg;
	tri_thread_attach();
	struct tri_thread *t = tri_self;
	uint64_t batch_start = 0, batch_n = 0;
	trace_thread_name(t->id, "cleanup worker");
	pthread_mutex_lock(&cln_lock);
	for (;;) {
		if (run_one_locked(me, t, &batch_start, &batch_n))
			continue;
		if (batch_n)
			trace_complete("cleanups", "callback", t->id, batch_start, tri_now_ns() - batch_start,
				       batch_n);
		batch_n = 0;
		/* Sleep in a blocking region: the collector must not wait for an
		 * idle worker. Count ourselves idle and re-check the queue under
		 * the lock before waiting. */
		pthread_mutex_unlock(&cln_lock);
		scrub_callee_saved();
		tri_blocking_enter();
		pthread_mutex_lock(&cln_lock);
		nidle++;
		uint64_t deadline = tri_now_ns() + IDLE_EXIT_NS;
		bool expired = false;
		while (queue_empty_locked() && !expired) {
			tri_cond_wait_until(&cln_work, &cln_lock, tri_now_ns() + 100000000);
			expired = tri_now_ns() >= deadline;
		}
		nidle--;
		if (queue_empty_locked()) {
			/* Idle too long: leave the pool. */
			struct cln_worker **pp = &workers;
			while (*pp != me)
				pp = &(*pp)->next;
			*pp = me->next;
			nworkers--;
			st_relaxed(&tri_stats.cln_workers, nworkers);
			pthread_mutex_unlock(&cln_lock);
			tri_blocking_leave();
			free(me);
			tri_thread_detach();
			return NULL;
		}
		pthread_mutex_unlock(&cln_lock);
		tri_blocking_leave();
		pthread_mutex_lock(&cln_lock);
	}
}

static void spawn_worker_locked(void)
{
	struct cln_worker *w = calloc(1, sizeof *w);
	if (!w)
		return;
	if (tri_spawn_thread(worker_main, w, "tri-clean", TRI_SPAWN_AUTO_INDEX)) {
		free(w);
		return; /* the existing workers will get to it */
	}
	w->next = workers;
	workers = w;
	nworkers++;
	if (nworkers > peak)
		peak = nworkers;
	st_relaxed(&tri_stats.cln_workers, nworkers);
	st_relaxed(&tri_stats.cln_workers_peak, peak);
}

void cleanup_mark_roots(struct gcwork *w)
{
	pthread_mutex_lock(&cln_lock);
	for (struct cln_batch *b = qhead; b; b = b->next)
		for (uint32_t i = b->head; i < b->tail; i++)
			mark_ptr((uintptr_t)b->e[i].arg, w);
	pthread_mutex_unlock(&cln_lock);
}

void cleanup_visit_queued(void (*visit)(uintptr_t, void *), void *ctx)
{
	pthread_mutex_lock(&cln_lock);
	for (struct cln_batch *b = qhead; b; b = b->next)
		for (uint32_t i = b->head; i < b->tail; i++)
			visit((uintptr_t)b->e[i].arg, ctx);
	pthread_mutex_unlock(&cln_lock);
}

uint64_t cleanup_queued_seq(void)
{
	pthread_mutex_lock(&cln_lock);
	uint64_t s = next_seq;
	pthread_mutex_unlock(&cln_lock);
	return s;
}

uint64_t cleanup_pending_count(void)
{
	pthread_mutex_lock(&cln_lock);
	uint64_t s = next_seq - nexecuted;
	pthread_mutex_unlock(&cln_lock);
	return s;
}

static bool done_locked(uint64_t target)
{
	if (popped_seq < target)
		return false;
	for (struct cln_worker *w = workers; w; w = w->next)
		if (w->running && w->running <= target)
			return false;
	return true;
}

int cleanup_wait(uint64_t target, uint64_t deadline_ns)
{
	int r = 0;
	pthread_mutex_lock(&cln_lock);
	while (!done_locked(target) && !r) {
		/* Sequences <= target are all finished once nexecuted >= target
		 * and nothing <= target is still running; wake when the count is
		 * there, then re-check exactly. */
		if (target < wake_at)
			wake_at = target;
		r = tri_cond_wait_until(&cln_done, &cln_lock, deadline_ns);
	}
	bool done = done_locked(target);
	pthread_mutex_unlock(&cln_lock);
	return done ? 0 : r;
}

tri_cleanup tri_add_cleanup(void *ptr, void (*fn)(void *arg), void *arg)
{
	NO_PREEMPT();
	thread_require("tri_add_cleanup");
	tri_cleanup c = {0};
	if (!ptr)
		tri_fatal("tri_add_cleanup: ptr is NULL");
	if (ptr == (void *)tri_zerobase)
		return c;
	if (!fn)
		tri_fatal("tri_add_cleanup: fn is NULL");
	struct span *s;
	uint32_t idx;
	uintptr_t base = object_lookup((uintptr_t)ptr, &s, &idx);
	if (!base)
		tri_fatal("tri_add_cleanup: ptr not in allocated block (%p)", ptr);
	if (arg == ptr)
		tri_fatal("tri_add_cleanup: ptr is equal to arg, cleanup will never run");
	if ((uintptr_t)arg >= base && (uintptr_t)arg < base + s->elemsize)
		tri_fatal("tri_add_cleanup: arg points into ptr's object, cleanup will never run");
	c.id = special_add_cleanup(s, idx, fn, arg);
	/* A cleanup added while marking: its arg may already have been passed
	 * over by the root scan. */
	if (ld_seq(&tri_rt.phase) == PHASE_MARK && mark_gate_enter()) {
		struct gcwork w;
		gcwork_init(&w, false);
		mark_ptr((uintptr_t)arg, &w);
		gcwork_dispose(&w);
		mark_gate_exit();
	}
	return c;
}

void tri_cleanup_stop(tri_cleanup c)
{
	NO_PREEMPT();
	if (!c.id)
		return;
	tri_require_init("tri_cleanup_stop");
	special_stop_cleanup(c.id);
}

/* fork (runtime/fork.c) */
void cleanup_fork_lock(void)
{
	pthread_mutex_lock(&cln_lock);
}

void cleanup_fork_unlock(void)
{
	pthread_mutex_unlock(&cln_lock);
}

void cleanup_after_fork_child(void)
{
	pthread_cond_init(&cln_work, NULL);
	pthread_cond_init(&cln_done, NULL);
	pthread_mutex_lock(&cln_lock);
	/* The workers are gone; what they were running stays with the parent. */
	while (workers) {
		struct cln_worker *w = workers;
		workers = w->next;
		if (w->running)
			nexecuted++;
		free(w);
	}
	nworkers = nidle = 0;
	st_relaxed(&tri_stats.cln_workers, 0);
	st_relaxed(&tri_stats.cln_executed, nexecuted);
	if (!queue_empty_locked())
		spawn_worker_locked();
	pthread_mutex_unlock(&cln_lock);
}
