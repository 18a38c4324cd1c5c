/* SPDX-License-Identifier: MIT */
/*
 * queue.c - the callback queue, its consumer threads and tri_drain (see
 * queue.h for the data, who writes it and the invariants).
 */
#include "callback/queue.h"
#include "mark/scan.h"
#include "runtime/pause.h"
#include "runtime/preempt.h"
#include "runtime/probes.h"
#include "runtime/handshake.h"
#include "runtime/thread.h"
#include "runtime/trace.h"
#include <errno.h>
#include <stdlib.h>

#define CBQ_BATCH 256
#define CBQ_SERIAL_RUN 64 /* entries the serial consumer takes at once */

struct cbq_entry {
	void (*fn)(void *);
	void *arg;
	uint64_t seq;
};

struct cbq_batch {
	struct cbq_batch *next;
	uint32_t head, tail;
	struct cbq_entry e[CBQ_BATCH];
};

struct cbq_consumer {
	struct cbq_consumer *next;
	struct cbq *q;
	uint64_t running; /* lowest sequence held, 0 if none (lock) */
	uint32_t held;	  /* entries taken and not yet counted executed (lock) */
};

struct cbq {
	/* Configuration, constant. */
	const char *what;	 /* "finalizer": messages */
	const char *replaced;	 /* what the exit report says happens next */
	const char *thread_name; /* tri_spawn_thread's name and index */
	int thread_index;
	const char *trace_thread, *trace_batch;
	bool serial;	       /* one consumer, batches of CBQ_SERIAL_RUN, watched */
	uint64_t idle_exit_ns; /* an idle consumer leaves after this; 0 never */
	const int *max_consumers;
	const char *spawn_fatal; /* NULL: a failed spawn is left to the others */
	uint64_t *st_queued, *st_executed, *st_consumers, *st_peak; /* tri_stats */
	/* State, under lock (queue.h). */
	pthread_mutex_t lock;
	pthread_cond_t work, done;
	struct cbq_batch *qhead, *qtail;
	uint64_t next_seq, popped_seq, nexecuted, wake_at;
	struct cbq_consumer *consumers;
	unsigned nconsumers, nidle, peak;
	int resident; /* written under lock with relaxed stores; cbq_start reads
		       * it without the lock first (a stale 0 takes the lock) */
	/* The serial queue's running callback (queue.h): its consumer writes,
	 * relaxed, at every callback, so on a cache line of their own (not
	 * shared with the lock and counters enqueuers use); reported_seq under
	 * lock. */
	uint64_t running_seq __attribute__((aligned(64)));
	uint64_t running_since, reported_seq;
	void (*running_fn)(void *);
	void *running_arg;
};

static const int one_consumer = 1;

#define CBQ_STATE_INIT                                                                            \
	.lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER,                      \
	.done = PTHREAD_COND_INITIALIZER, .wake_at = UINT64_MAX

struct cbq cbq_finalizers = {
	.what = "finalizer",
	.replaced = "the finalizer thread is replaced and the other finalizers go on",
	.thread_name = "tri-final",
	.thread_index = -1,
	.trace_thread = "finalizer",
	.trace_batch = "finalizers",
	.serial = true,
	.idle_exit_ns = 0,
	.max_consumers = &one_consumer,
	.spawn_fatal = "tri_set_finalizer: cannot create the finalizer thread",
	.st_queued = &tri_stats.fin_queued,
	.st_executed = &tri_stats.fin_executed,
	CBQ_STATE_INIT,
};

struct cbq cbq_cleanups = {
	.what = "cleanup",
	.replaced = "its worker is replaced and the other cleanups go on",
	.thread_name = "tri-clean",
	.thread_index = TRI_SPAWN_AUTO_INDEX,
	.trace_thread = "cleanup worker",
	.trace_batch = "cleanups",
	.serial = false,
	.idle_exit_ns = 1000000000ull,
	.max_consumers = &tri_rt.opt.cleanup_workers,
	.st_queued = &tri_stats.cln_queued,
	.st_executed = &tri_stats.cln_executed,
	.st_consumers = &tri_stats.cln_workers,
	.st_peak = &tri_stats.cln_workers_peak,
	CBQ_STATE_INIT,
};

/* Every queue, in lock order (fork takes them in this order). */
static struct cbq *const queues[] = {&cbq_finalizers, &cbq_cleanups};
#define NQUEUES (sizeof queues / sizeof queues[0])

static uint64_t coarse_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool empty_locked(const struct cbq *q)
{
	return q->popped_seq == q->next_seq;
}

static void executed_locked(struct cbq *q, uint64_t n)
{
	q->nexecuted += n;
	st_relaxed(q->st_executed, q->nexecuted);
	if (q->nexecuted >= q->wake_at) {
		q->wake_at = UINT64_MAX;
		pthread_cond_broadcast(&q->done);
	}
}

static void consumers_stat_locked(struct cbq *q)
{
	if (q->st_consumers)
		st_relaxed(q->st_consumers, q->nconsumers);
}

/* Another consumer is wanted: work waits with nobody idle and the pool is
 * not full, or a resident queue has none. */
static bool want_consumer_locked(const struct cbq *q)
{
	if (q->resident && !q->nconsumers)
		return true;
	return !empty_locked(q) && !q->nidle && q->nconsumers < (unsigned)*q->max_consumers;
}

static void *consumer_main(void *arg);

static void spawn_locked(struct cbq *q)
{
	struct cbq_consumer *c = calloc(1, sizeof *c);
	if (c) {
		c->q = q;
		if (!tri_spawn_thread(consumer_main, c, q->thread_name, q->thread_index)) {
			c->next = q->consumers;
			q->consumers = c;
			q->nconsumers++;
			if (q->nconsumers > q->peak)
				q->peak = q->nconsumers;
			consumers_stat_locked(q);
			if (q->st_peak)
				st_relaxed(q->st_peak, q->peak);
			return;
		}
		free(c);
	}
	if (q->spawn_fatal)
		tri_fatal("%s", q->spawn_fatal);
	/* else the existing consumers will get to it */
}

static void unlink_consumer_locked(struct cbq *q, struct cbq_consumer *c)
{
	struct cbq_consumer **pp = &q->consumers;
	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	q->nconsumers--;
	consumers_stat_locked(q);
}

void cbq_enqueue(struct cbq *q, const struct cbq_item *items, size_t n)
{
	if (!n)
		return;
	/* A sweeping mutator hands the callback over here: its wait for the
	 * queue lock and the hand-off are a TRI_PAUSE_CALLBACK stall (pause.h). */
	uint64_t t0 = tri_now_ns();
	pthread_mutex_lock(&q->lock);
	for (size_t i = 0; i < n; i++) {
		if (!q->qtail || q->qtail->tail == CBQ_BATCH) {
			struct cbq_batch *b = calloc(1, sizeof *b);
			if (!b)
				tri_fatal("tricolor: out of memory queueing a %s", q->what);
			if (q->qtail)
				q->qtail->next = b;
			else
				q->qhead = b;
			q->qtail = b;
		}
		q->qtail->e[q->qtail->tail++] = (struct cbq_entry){items[i].fn, items[i].arg, ++q->next_seq};
	}
	st_relaxed(q->st_queued, q->next_seq);
	/* One idle consumer per queued entry at most; a consumer that finds
	 * more work waiting and nobody idle grows the pool itself. */
	if (q->nidle > 1 && n > 1)
		pthread_cond_broadcast(&q->work);
	else if (q->nidle)
		pthread_cond_signal(&q->work);
	else if (want_consumer_locked(q))
		spawn_locked(q);
	pthread_mutex_unlock(&q->lock);
	pause_stall(TRI_PAUSE_CALLBACK, t0);
}

void cbq_start(struct cbq *q)
{
	if (likely(ld_relaxed(&q->resident)))
		return;
	pthread_mutex_lock(&q->lock);
	if (!q->resident) {
		st_relaxed(&q->resident, 1);
		if (want_consumer_locked(q))
			spawn_locked(q);
	}
	pthread_mutex_unlock(&q->lock);
}

static bool pop_locked(struct cbq *q, struct cbq_entry *out)
{
	while (q->qhead && q->qhead->head == q->qhead->tail) {
		if (q->qhead == q->qtail) {
			q->qhead->head = q->qhead->tail = 0;
			return false;
		}
		struct cbq_batch *b = q->qhead;
		q->qhead = b->next;
		free(b);
	}
	if (!q->qhead)
		return false;
	*out = q->qhead->e[q->qhead->head++];
	q->popped_seq = out->seq;
	return true;
}

/* Put e back at the head (it was taken and not run); keeps FIFO order and
 * popped_seq when called from the last entry given back to the first. */
static void push_front_locked(struct cbq *q, struct cbq_entry e)
{
	if (!q->qhead || q->qhead->head == 0) {
		struct cbq_batch *b = calloc(1, sizeof *b);
		if (!b)
			tri_fatal("tricolor: out of memory queueing a %s", q->what);
		b->head = b->tail = CBQ_BATCH;
		b->next = q->qhead;
		q->qhead = b;
		if (!q->qtail)
			q->qtail = b;
	}
	q->qhead->e[--q->qhead->head] = e;
	q->popped_seq = e.seq - 1;
}

/* The entries a consumer took, in its frame (they are roots there). */
struct cbq_run {
	struct cbq *q;
	struct cbq_consumer *me;
	struct cbq_entry *e;
	uint32_t n;    /* entries taken */
	uint32_t next; /* entries started */
};

/* A callback that calls pthread_exit (or is cancelled) would take its
 * consumer thread with it (Go loses the worker silently, golang/go#71824).
 * Report it, count the callback as run, give the rest of the consumer's
 * entries back to the head of the queue (in order), drop the consumer and
 * start another if one is wanted (always for a resident queue). */
static void consumer_exited(void *arg)
{
	struct cbq_run *r = arg;
	struct cbq *q = r->q;
	struct cbq_entry *e = &r->e[r->next - 1];
	char name[256];
	rt_describe_fn((void *)e->fn, name, sizeof name);
	tri_warn("tricolor: %s %s(%p) called pthread_exit or was cancelled; %s", q->what, name, e->arg,
		 q->replaced);
	tri_nopreempt = 1; /* unwinding out of preemptible_call */
	tri_self->in_callback = 0;
	if (q->serial)
		st_relaxed(&q->running_since, 0);
	pthread_mutex_lock(&q->lock);
	for (uint32_t i = r->n; i-- > r->next;)
		push_front_locked(q, r->e[i]);
	unlink_consumer_locked(q, r->me);
	executed_locked(q, r->next);
	if (want_consumer_locked(q))
		spawn_locked(q);
	pthread_mutex_unlock(&q->lock);
	free(r->me);
}

/*
 * A consumer takes q->lock: on return it holds it and is RUNNING. A
 * handshake must not wait for a consumer queued on the lock behind another
 * (issue 12), so the wait is in a blocking region. The region is never left
 * holding the lock while an action or the checkmark stop is in progress on
 * this thread: the stopped world's checkmark takes every queue lock
 * (cbq_visit_queued), and tri_blocking_leave would wait for the stop to end
 * holding it; that deadlocked (tests/test_cleanup.c
 * test_checkmark_stop_never_deadlocks_with_workers_taking_the_queue_lock,
 * every run). So the lock is dropped and the wait done with nothing held.
 * Invariant Q1: a consumer never waits for the collector holding q->lock.
 */
static void consumer_lock(struct cbq *q, struct tri_thread *t)
{
	if (!pthread_mutex_trylock(&q->lock))
		return;
	for (;;) {
		tri_blocking_enter();
		pthread_mutex_lock(&q->lock);
		if (handshake_try_leave(t))
			return;
		pthread_mutex_unlock(&q->lock);
		tri_blocking_leave();
		if (!pthread_mutex_trylock(&q->lock))
			return;
	}
}

/*
 * Take up to max queued entries (q->lock held on entry and on return) and
 * run them in order; false if the queue is empty. The taken entries are
 * roots while they wait in e (queue.h). Not inlined, on purpose: the
 * entries live only in this frame and in registers it saves and restores,
 * all gone once it returns, so an idle
 * consumer's stack and saved registers (scanned conservatively while it
 * sleeps) never keep the last arg alive. (With the entry in the loop's
 * frame, the compiler dropped the clear of the dead local and kept the
 * value in a callee-saved register: an idle worker kept its last arg alive
 * for up to a second.) The array is sized per discipline (a variable-length
 * array) so that no unused slot of it holds a stale pointer either.
 */
static __attribute__((noinline)) bool run_locked(struct cbq *q, struct cbq_consumer *me,
						 struct tri_thread *t, uint64_t *batch_start, uint64_t *batch_n)
{
	const uint32_t max = q->serial ? CBQ_SERIAL_RUN : 1;
	struct cbq_entry e[max];
	struct cbq_run r = {q, me, e, 0, 0};
	while (r.n < max && pop_locked(q, &e[r.n]))
		r.n++;
	if (!r.n)
		return false;
	me->running = e[0].seq;
	me->held = r.n;
	if (!*batch_n)
		*batch_start = tri_now_ns();
	*batch_n += r.n;
	/* More work waiting and nobody idle: grow the pool. */
	if (want_consumer_locked(q))
		spawn_locked(q);
	pthread_mutex_unlock(&q->lock);
	/* The action consumer_lock left pending, before the first callback. */
	handshake_poll(t);
	if (t->barrier_on)
		for (uint32_t i = 0; i < r.n; i++)
			barrier_shade(t, (uintptr_t)e[i].arg);
	while (r.next < r.n) {
		struct cbq_entry *x = &e[r.next++];
		if (q->serial) {
			st_relaxed(&q->running_fn, x->fn);
			st_relaxed(&q->running_arg, x->arg);
			st_relaxed(&q->running_since, coarse_now_ns());
			__atomic_store_n(&q->running_seq, q->running_seq + 1, __ATOMIC_RELEASE);
			TRI_PROBE2(finalizer__start, x->arg, x->fn);
		} else {
			TRI_PROBE2(cleanup__start, x->fn, x->arg);
		}
		t->in_callback = 1;
		pthread_cleanup_push(consumer_exited, &r);
		preemptible_call(x->fn, x->arg);
		pthread_cleanup_pop(0);
		t->in_callback = 0;
		if (q->serial)
			TRI_PROBE1(finalizer__end, x->fn);
		else
			TRI_PROBE1(cleanup__end, x->fn);
		clear_stack_ref(x->arg);
		/* A safepoint between two callbacks: a handshake waits for at
		 * most one of them, not for the consumer's whole run (issue 12:
		 * with 8 cleanup workers on 2 cores, handshakes waited 70-280 ms
		 * for them). The entries still to run are in e, on this stack,
		 * scanned with it. */
		handshake_poll(t);
	}
	if (q->serial) {
		st_relaxed(&q->running_since, 0);
		st_relaxed(&q->running_arg, NULL);
	}
	/* This consumer holds no heap pointer here (the args were cleared). */
	consumer_lock(q, t);
	me->running = 0;
	me->held = 0;
	executed_locked(q, r.n);
	return true;
}

static void *consumer_main(void *arg)
{
	struct cbq_consumer *me = arg;
	struct cbq *q = me->q;
	tri_thread_attach();
	struct tri_thread *t = tri_self;
	uint64_t batch_start = 0, batch_n = 0;
	trace_thread_name_now(t->id, q->trace_thread); /* named in the trace at once: a process that dies before the first batch event still names it */
	pthread_mutex_lock(&q->lock);
	for (;;) {
		if (run_locked(q, me, t, &batch_start, &batch_n))
			continue;
		pthread_mutex_unlock(&q->lock);
		if (batch_n)
			trace_complete(q->trace_batch, "callback", t->id, batch_start, tri_now_ns() - batch_start,
				       batch_n);
		batch_n = 0;
		/* Sleep in a blocking region: the collector must not wait for an
		 * idle consumer. Count ourselves idle and re-check the queue
		 * under the lock before waiting. */
		scrub_callee_saved();
		tri_blocking_enter();
		pthread_mutex_lock(&q->lock);
		q->nidle++;
		uint64_t deadline = tri_now_ns() + q->idle_exit_ns;
		bool expired = false;
		while (empty_locked(q) && !expired) {
			if (!q->idle_exit_ns) {
				pthread_cond_wait(&q->work, &q->lock);
				continue;
			}
			tri_cond_wait_until(&q->work, &q->lock, tri_now_ns() + 100000000);
			expired = tri_now_ns() >= deadline;
		}
		q->nidle--;
		if (empty_locked(q)) {
			/* Idle too long: leave the pool. */
			unlink_consumer_locked(q, me);
			pthread_mutex_unlock(&q->lock);
			tri_blocking_leave();
			free(me);
			tri_thread_detach();
			return NULL;
		}
		pthread_mutex_unlock(&q->lock);
		tri_blocking_leave();
		consumer_lock(q, t);
	}
}

static void visit_locked(struct cbq *q, void (*visit)(uintptr_t, void *), void *ctx)
{
	for (struct cbq_batch *b = q->qhead; b; b = b->next)
		for (uint32_t i = b->head; i < b->tail; i++)
			visit((uintptr_t)b->e[i].arg, ctx);
}

void cbq_visit_queued(void (*visit)(uintptr_t, void *), void *ctx)
{
	for (size_t i = 0; i < NQUEUES; i++) {
		pthread_mutex_lock(&queues[i]->lock);
		visit_locked(queues[i], visit, ctx);
		pthread_mutex_unlock(&queues[i]->lock);
	}
}

static void mark_visit(uintptr_t p, void *w)
{
	mark_ptr(p, w);
}

void cbq_mark_roots(struct gcwork *w)
{
	cbq_visit_queued(mark_visit, w);
}

uint64_t cbq_pending(struct cbq *q)
{
	pthread_mutex_lock(&q->lock);
	uint64_t n = q->next_seq - q->nexecuted;
	pthread_mutex_unlock(&q->lock);
	return n;
}

static uint64_t queued_seq(struct cbq *q)
{
	pthread_mutex_lock(&q->lock);
	uint64_t s = q->next_seq;
	pthread_mutex_unlock(&q->lock);
	return s;
}

/* Every sequence <= target finished (queue.h). */
static bool done_locked(const struct cbq *q, uint64_t target)
{
	if (q->popped_seq < target)
		return false;
	for (const struct cbq_consumer *c = q->consumers; c; c = c->next)
		if (c->running && c->running <= target)
			return false;
	return true;
}

/* Wait until every sequence <= target finished, up to deadline_ns (0 =
 * none); 0 or ETIMEDOUT. */
static int wait_done(struct cbq *q, uint64_t target, uint64_t deadline_ns)
{
	int r = 0;
	pthread_mutex_lock(&q->lock);
	while (!done_locked(q, target) && !r) {
		/* Done needs nexecuted >= target; wake when the count is there,
		 * then re-check exactly. */
		if (target < q->wake_at)
			q->wake_at = target;
		r = tri_cond_wait_until(&q->done, &q->lock, deadline_ns);
	}
	bool done = done_locked(q, target);
	pthread_mutex_unlock(&q->lock);
	return done ? 0 : r;
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
	uint64_t target[NQUEUES];
	for (size_t i = 0; i < NQUEUES; i++)
		target[i] = queued_seq(queues[i]);
	tri_blocking_enter();
	int r = 0;
	for (size_t i = 0; i < NQUEUES && !r; i++)
		r = wait_done(queues[i], target[i], deadline);
	tri_blocking_leave();
	return r;
}

void cbq_watchdog(struct cbq *q, uint64_t limit_ns)
{
	if (!limit_ns)
		return;
	uint64_t seq = __atomic_load_n(&q->running_seq, __ATOMIC_ACQUIRE);
	uint64_t since = ld_relaxed(&q->running_since);
	void (*fn)(void *) = ld_relaxed(&q->running_fn);
	void *arg = ld_relaxed(&q->running_arg);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (!since || __atomic_load_n(&q->running_seq, __ATOMIC_RELAXED) != seq)
		return; /* none running, or a new one started while we read */
	uint64_t now = tri_now_ns();
	if (now < since || now - since <= limit_ns)
		return;
	pthread_mutex_lock(&q->lock);
	if (q->reported_seq == seq) {
		pthread_mutex_unlock(&q->lock);
		return;
	}
	q->reported_seq = seq;
	uint64_t waiting = q->next_seq - q->nexecuted - 1;
	pthread_mutex_unlock(&q->lock);
	char name[256];
	rt_describe_fn((void *)fn, name, sizeof name);
	double secs = (double)(now - since) / 1e9;
	tri_warn("tricolor: slow %s: %s(%p) has been running for %.1f s; %llu %ss wait behind it (if it blocks, it must do so inside tri_blocking_enter/leave, or collection waits for it too)",
		 q->what, name, arg, secs, (unsigned long long)waiting, q->what);
}

void cbq_fork_lock(void)
{
	for (size_t i = 0; i < NQUEUES; i++)
		pthread_mutex_lock(&queues[i]->lock);
}

void cbq_fork_unlock(void)
{
	for (size_t i = NQUEUES; i-- > 0;)
		pthread_mutex_unlock(&queues[i]->lock);
}

void cbq_after_fork_child(void)
{
	for (size_t i = 0; i < NQUEUES; i++) {
		struct cbq *q = queues[i];
		pthread_cond_init(&q->work, NULL);
		pthread_cond_init(&q->done, NULL);
		pthread_mutex_lock(&q->lock);
		/* The consumers are gone; the entries they held (the running one
		 * and the rest of a batch) stay with the parent: count them as
		 * done here, or tri_drain in the child would wait for them
		 * forever. */
		while (q->consumers) {
			struct cbq_consumer *c = q->consumers;
			q->consumers = c->next;
			q->nexecuted += c->held;
			free(c);
		}
		q->nconsumers = q->nidle = 0;
		consumers_stat_locked(q);
		st_relaxed(q->st_executed, q->nexecuted);
		q->running_since = 0;
		q->running_fn = NULL;
		q->running_arg = NULL;
		if (want_consumer_locked(q))
			spawn_locked(q);
		pthread_mutex_unlock(&q->lock);
	}
}
