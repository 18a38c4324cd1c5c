/* SPDX-License-Identifier: MIT */
/*
 * grey_queue.c - work blocks and the busy/dirty accounting described in
 * grey_queue.h.
 */
#include "mark/grey_queue.h"
#include "runtime/runtime.h"
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct grey_queue tri_grey = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
};

/*
 * Blocks come from mmap, 16 at a time, and are never freed (they go to the
 * empty list): never from malloc, because a mutator may flush its barrier
 * buffer from the preemption signal handler (runtime/preempt.c) while the
 * signal interrupted it inside malloc, holding malloc's lock.
 */
static struct wblock *block_new_locked(void)
{
	static char *batch;
	static size_t left;
	if (left < sizeof(struct wblock)) {
		size_t len = 16 * sizeof(struct wblock);
		void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			tri_fatal("tricolor: out of memory for mark work blocks");
		batch = m;
		left = len;
	}
	struct wblock *b = (struct wblock *)batch;
	batch += sizeof *b;
	left -= sizeof *b;
	return b;
}

static struct wblock *block_get_locked(void)
{
	struct wblock *b = tri_grey.empty;
	if (b)
		tri_grey.empty = b->next;
	else
		b = block_new_locked();
	b->next = NULL;
	b->n = 0;
	return b;
}

struct wblock *grey_block_get(void)
{
	pthread_mutex_lock(&tri_grey.lock);
	struct wblock *b = block_get_locked();
	pthread_mutex_unlock(&tri_grey.lock);
	return b;
}

uint64_t tri_cycle_scanned;

void gcwork_init(struct gcwork *w, bool worker)
{
	w->published = 0;
	w->cur = NULL;
	w->worker = worker;
	w->busy = false;
	w->produced = false;
	w->scanned_bytes = 0;
	w->scanned_objects = 0;
}

/* Queue b and wake one idle marker: a sleeping worker, else a coordinator
 * waiting in grey_queue_wait (it waits for a block or for busy == 0, and a
 * block is the first). */
static void publish_locked(struct gcwork *w, struct wblock *b)
{
	b->next = tri_grey.full;
	tri_grey.full = b;
	st_relaxed(&tri_grey.nfull, tri_grey.nfull + 1);
	if (!w->worker)
		st_seq(&tri_grey.dirty, 1);
	if (tri_grey.sleeping)
		pthread_cond_signal(&tri_grey.work);
	else if (tri_grey.idle_waiters)
		pthread_cond_signal(&tri_grey.idle);
}

void gcwork_share(struct gcwork *w)
{
	struct wblock *b = w->cur;
	if (!b || b->n < 2 || ld_relaxed(&tri_grey.nfull) ||
	    !(ld_relaxed(&tri_grey.sleeping) | ld_relaxed(&tri_grey.idle_waiters)))
		return;
	pthread_mutex_lock(&tri_grey.lock);
	if (!tri_grey.full && (tri_grey.sleeping || tri_grey.idle_waiters)) {
		struct wblock *nb = block_get_locked();
		uint32_t half = b->n / 2;
		memcpy(nb->obj, b->obj, half * sizeof b->obj[0]);
		memmove(b->obj, b->obj + half, (b->n - half) * sizeof b->obj[0]);
		nb->n = half;
		b->n -= half;
		tri_grey.shares++;
		publish_locked(w, nb);
	}
	pthread_mutex_unlock(&tri_grey.lock);
}

bool grey_queue_wait(void)
{
	pthread_mutex_lock(&tri_grey.lock);
	while (!tri_grey.full && tri_grey.busy > 0) {
		st_relaxed(&tri_grey.idle_waiters, tri_grey.idle_waiters + 1);
		pthread_cond_wait(&tri_grey.idle, &tri_grey.lock);
		st_relaxed(&tri_grey.idle_waiters, tri_grey.idle_waiters - 1);
	}
	bool idle = !tri_grey.full && tri_grey.busy == 0;
	pthread_mutex_unlock(&tri_grey.lock);
	return idle;
}

void gcwork_push(struct gcwork *w, uintptr_t obj)
{
	struct wblock *b = w->cur;
	if (unlikely(!b || b->n == WBLOCK_CAP)) {
		pthread_mutex_lock(&tri_grey.lock);
		if (b)
			publish_locked(w, b);
		b = w->cur = block_get_locked();
		pthread_mutex_unlock(&tri_grey.lock);
	}
	b->obj[b->n++] = obj;
}

/* Under the lock: w holds no more work. Its scan figures are counted
 * before it stops counting as busy: once busy reaches 0 the cycle may end,
 * and they must not land in the next one. */
static void leave_busy_locked(struct gcwork *w)
{
	if (!w->busy)
		return;
	gcwork_flush_stats(w);
	w->busy = false;
	tri_assert(tri_grey.busy > 0);
	if (--tri_grey.busy == 0)
		pthread_cond_broadcast(&tri_grey.idle);
}

bool gcwork_pop(struct gcwork *w, uintptr_t *obj)
{
	struct wblock *b = w->cur;
	if (likely(b && b->n)) {
		*obj = b->obj[--b->n];
		return true;
	}
	pthread_mutex_lock(&tri_grey.lock);
	if (tri_grey.full) {
		struct wblock *f = tri_grey.full;
		tri_grey.full = f->next;
		tri_assert(tri_grey.nfull > 0);
		st_relaxed(&tri_grey.nfull, tri_grey.nfull - 1);
		if (b) {
			b->next = tri_grey.empty;
			tri_grey.empty = b;
		}
		w->cur = b = f;
		if (!w->busy) {
			w->busy = true;
			tri_grey.busy++;
		}
		pthread_mutex_unlock(&tri_grey.lock);
		*obj = b->obj[--b->n];
		return true;
	}
	leave_busy_locked(w);
	pthread_mutex_unlock(&tri_grey.lock);
	return false;
}

void gcwork_release(struct gcwork *w)
{
	/* Nothing to hand over or account (a barrier flush or a finalizer
	 * registration that marked nothing new): no lock. w is private to the
	 * caller, so this reads only its own fields. */
	if (!w->cur && !w->busy && !(!w->worker && w->produced))
		return;
	pthread_mutex_lock(&tri_grey.lock);
	if (!w->worker && w->produced) {
		st_seq(&tri_grey.dirty, 1);
		w->produced = false;
	}
	struct wblock *b = w->cur;
	w->cur = NULL;
	if (b) {
		if (b->n)
			publish_locked(w, b);
		else {
			b->next = tri_grey.empty;
			tri_grey.empty = b;
		}
	}
	leave_busy_locked(w);
	pthread_mutex_unlock(&tri_grey.lock);
}

void gcwork_flush_stats(struct gcwork *w)
{
	if (w->scanned_bytes > w->published)
		fetch_add(&tri_cycle_scanned, w->scanned_bytes - w->published);
	w->published = 0;
	if (w->scanned_bytes)
		fetch_add(&tri_stats.scanned_bytes, w->scanned_bytes);
	if (w->scanned_objects)
		fetch_add(&tri_stats.scanned_objects, w->scanned_objects);
	w->scanned_bytes = w->scanned_objects = 0;
}

void gcwork_dispose(struct gcwork *w)
{
	gcwork_release(w);
	gcwork_flush_stats(w);
}

bool grey_queue_idle(void)
{
	pthread_mutex_lock(&tri_grey.lock);
	bool idle = !tri_grey.full && tri_grey.busy == 0;
	pthread_mutex_unlock(&tri_grey.lock);
	return idle;
}

bool grey_queue_idle_reset_dirty(void)
{
	pthread_mutex_lock(&tri_grey.lock);
	bool idle = !tri_grey.full && tri_grey.busy == 0;
	if (idle)
		st_seq(&tri_grey.dirty, 0);
	pthread_mutex_unlock(&tri_grey.lock);
	return idle;
}

/* gate_inside: markers inside the gate; gate_closing: the coordinator is
 * deciding whether marking is over (mark_gate_try_close). Both seq_cst:
 * gate_inside is changed by every marker, gate_closing written only by the
 * coordinator. See the protocol in grey_queue.h. */
static int gate_inside;
static int gate_closing;

bool mark_gate_enter(void)
{
	for (;;) {
		fetch_add_seq(&gate_inside, 1);
		if (!ld_seq(&gate_closing)) {
			if (ld_seq(&tri_rt.phase) == PHASE_MARK)
				return true;
			fetch_add_seq(&gate_inside, -1);
			return false;
		}
		/* The coordinator is deciding: wait for its verdict (a few
		 * microseconds unless it is descheduled), then look again. */
		fetch_add_seq(&gate_inside, -1);
		while (ld_seq(&gate_closing))
			sched_yield();
	}
}

void mark_gate_exit(void)
{
	int was = fetch_add_seq(&gate_inside, -1);
	tri_assert(was > 0); /* every exit matches an enter that returned true */
	(void)was;
}

/* Dekker with seq_cst: a marker that incremented before our store of
 * gate_closing is waited for; one that increments after it sees the flag
 * and waits for the verdict. The verdict is taken with nobody inside, so
 * it sees every mark a gate user made (each sets `dirty` before it leaves)
 * and no shade is dropped while it is pending. */
bool mark_gate_try_close(void)
{
	st_seq(&gate_closing, 1);
	while (ld_seq(&gate_inside))
		sched_yield();
	bool done = !ld_seq(&tri_grey.dirty) && grey_queue_idle();
	if (done)
		st_seq(&tri_rt.phase, PHASE_MARK_DONE); /* before the flag drops */
	st_seq(&gate_closing, 0);
	return done;
}
