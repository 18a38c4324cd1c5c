/* SPDX-License-Identifier: MIT */
/*
 * fork.c - fork() while the collector runs (pthread_atfork handlers).
 *
 * prepare: the forking thread enters a blocking region (so a cycle in
 *   progress can finish without it) unless it is in one already, stops new cycles (tri_rt.forking),
 *   waits until no cycle is running, then takes every lock of the runtime in
 *   one fixed order: cycle, registry, callback queues, intern table, roots, pauses, grey
 *   queue, page heap, central lists, span specials. With the collector idle
 *   and those locks held, no runtime structure is mid-update when the
 *   address space is copied, and no RCU reader section of the collector is
 *   open (a tri_intern lookup in another thread may be: liburcu-bp drops
 *   that thread's reader record in the child).
 * parent: releases them in reverse and goes on.
 * child: releases them; the other threads are gone, so their records are
 *   removed (their cached spans handed back first, so every span is swept
 *   again - a span left unswept would carry stale mark bits into the next
 *   cycle), and the coordinator, mark workers and finalizer thread are
 *   started anew. Queued finalizers and cleanups stay queued in both
 *   processes (each process owns a copy of the objects); the callbacks that
 *   were running in other threads of the parent do not run in the child.
 */
#include "alloc/central.h"
#include "alloc/page_heap.h"
#include "alloc/tcache.h"
#include "callback/queue.h"
#include "mark/roots.h"
#include "mark/workers.h"
#include "runtime/cycle.h"
#include "runtime/fork.h"
#include "runtime/handshake.h"
#include "runtime/pause.h"
#include "weak/weak.h"
#include <stdlib.h>
#include <unistd.h>
#include <urcu-bp.h>
#ifdef TRI_TSAN
#include <dlfcn.h>
#endif


/* prepare put the forking thread into a blocking region, and parent/child
 * take it out again. Only when it was attached and RUNNING: fork inside a
 * blocking region is allowed (fork, or a helper that forks and waits, is a
 * blocking call), and that region belongs to the program, which leaves it
 * itself (issue 14 case 6). Written by prepare, read by parent/child, all
 * on the forking thread. */
static int fork_entered;

/*
 * The per-span-class and per-span locks, of which lock_all holds hundreds at
 * once. ThreadSanitizer's deadlock detector tracks at most 64 locks held by
 * one thread and kills the process past that ("CHECK failed:
 * sanitizer_deadlock_detector.h:67 ... n_all_locks_", exit 66; LLVM issue
 * 57007). So in TSan builds these bulk locks are taken with libc's own
 * pthread_mutex_lock/unlock (looked up in libc, past TSan's interceptor),
 * and the synchronization the interceptor would record is declared with
 * __tsan_acquire after locking and __tsan_release before unlocking, on the
 * mutex's address: the same sync object the interceptor uses, so
 * happens-before is exactly as with the interceptor. Only the lock-order
 * graph does not see these locks here (it sees them everywhere else), and
 * every other lock of lock_all still goes through the interceptor.
 */
#ifdef TRI_TSAN
static int (*libc_mutex_lock)(pthread_mutex_t *);
static int (*libc_mutex_unlock)(pthread_mutex_t *);

static void bulk_lock(tri_lock_t *l)
{
	if (!libc_mutex_lock) {
		void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
		if (libc) {
			*(void **)&libc_mutex_lock = dlsym(libc, "pthread_mutex_lock");
			*(void **)&libc_mutex_unlock = dlsym(libc, "pthread_mutex_unlock");
		}
		if (!libc_mutex_lock || !libc_mutex_unlock)
			tri_fatal("tricolor: fork: cannot find libc's pthread_mutex_lock (TSan build)");
	}
	libc_mutex_lock(l);
	tsan_acquire(l);
}

static void bulk_unlock(tri_lock_t *l)
{
	tsan_release(l);
	libc_mutex_unlock(l);
}
#else
#define bulk_lock tri_lock
#define bulk_unlock tri_unlock
#endif

/*
 * The registry lock comes first, before liburcu's locks: a thread attaching
 * takes liburcu's registry lock (registering as an RCU reader) while it
 * holds ours, and a detaching thread may take call_rcu's mutex (call_rcu)
 * while it holds ours. Taken after them, as it was, an attach during a fork
 * deadlocked: the forking thread held liburcu's registry lock and waited for
 * ours, the attaching thread held ours and waited for liburcu's (TSan's
 * lock-order-inversion report in test_fork). Holding ours while liburcu
 * pauses its call_rcu thread is safe: no RCU reader waits for our registry
 * lock inside a read-side section (the only readers are the coordinator's
 * handshake and checkmark walks, and no cycle runs during a fork).
 */
static void lock_all(void)
{
	pthread_mutex_lock(&tri_registry_lock);
	call_rcu_before_fork();
	rcu_bp_before_fork();
	cbq_fork_lock();
	intern_fork_lock(); /* before the special locks (weak/weak.h) */
	roots_fork_lock();
	pause_fork_lock();
	pthread_mutex_lock(&tri_grey.lock);
	page_heap_fork_lock(); /* the heap lock, no release in flight */
	for (unsigned i = 0; i < TRI_NUM_SPANCLASSES; i++)
		bulk_lock(&tri_central[i].lock);
	uint32_t hwm = tri_heap.span_hwm;
	for (uint32_t i = 0; i < hwm; i++)
		bulk_lock(&tri_heap.spans[i].special_lock);
}

static void unlock_all(void)
{
	uint32_t hwm = tri_heap.span_hwm;
	for (uint32_t i = 0; i < hwm; i++)
		bulk_unlock(&tri_heap.spans[i].special_lock);
	for (unsigned i = TRI_NUM_SPANCLASSES; i-- > 0;)
		bulk_unlock(&tri_central[i].lock);
	pthread_mutex_unlock(&tri_heap.lock);
	pthread_mutex_unlock(&tri_grey.lock);
	pause_fork_unlock();
	roots_fork_unlock();
	intern_fork_unlock();
	cbq_fork_unlock();
	pthread_mutex_unlock(&tri_registry_lock);
}

static void prepare(void)
{
	if (!ld_acquire(&tri_rt.initialized))
		return;
	fork_entered = tri_thread_is_attached() && ld_relaxed(&tri_self->state) == TS_RUNNING;
	if (fork_entered)
		tri_blocking_enter();
	pthread_mutex_lock(&tri_rt.cycle_lock);
	tri_rt.forking = 1;
	while (tri_rt.started != tri_rt.completed)
		pthread_cond_wait(&tri_rt.cycle_done, &tri_rt.cycle_lock);
	lock_all();
}

static void parent(void)
{
	if (!ld_acquire(&tri_rt.initialized))
		return;
	unlock_all();
	rcu_bp_after_fork_parent();
	call_rcu_after_fork_parent();
	tri_rt.forking = 0;
	pthread_cond_broadcast(&tri_rt.cycle_cond);
	pthread_mutex_unlock(&tri_rt.cycle_lock);
	if (fork_entered)
		tri_blocking_leave();
}

static void child(void)
{
	if (!ld_acquire(&tri_rt.initialized))
		return;
	unlock_all();
	pthread_mutex_unlock(&tri_rt.cycle_lock);
	/* Condition variables keep the parent's waiters in their state; no one
	 * waits in the child, so they are made anew (a broadcast on an inherited
	 * one would wait forever for waiters that do not exist here). */
	pthread_cond_init(&tri_rt.cycle_cond, NULL);
	pthread_cond_init(&tri_rt.cycle_done, NULL);
	pthread_cond_init(&tri_grey.work, NULL);
	pthread_cond_init(&tri_grey.idle, NULL);
	page_heap_fork_child();
	rcu_bp_after_fork_child();
	call_rcu_after_fork_child();
	tri_rt.pid = getpid();

	/* Only this thread survived: drop every other record. */
	struct tri_thread *t, *tmp;
	uint64_t attached = 0;
	cds_list_for_each_entry_safe(t, tmp, &tri_threads, node) {
		if (t == tri_self) {
			attached++;
			continue;
		}
		tcache_release_all(t);
		pause_ring_retire(t->ring);
		cds_list_del(&t->node);
		free(t);
	}
	st_relaxed(&tri_stats.threads_attached, attached);
	tri_grey.busy = 0;
	tri_grey.sleeping = 0;

	if (mark_workers_start(tri_rt.opt.mark_workers))
		tri_fatal("tricolor: fork: cannot restart the mark workers in the child");
	cbq_after_fork_child();
	cycle_after_fork_child();
	if (fork_entered)
		tri_blocking_leave();
}

void fork_handlers_install(void)
{
	pthread_atfork(prepare, parent, child);
}
