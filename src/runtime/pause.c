/* SPDX-License-Identifier: MIT */
/*
 * pause.c - pause rings (see pause.h) and tri_pauses.
 *
 * Callers: every place an attached thread can stall inside tricolor
 * (handshake.c, pacer.c, alloc/central.c, alloc/page_heap.c, alloc/tcache.c,
 * the checkmark stop); thread.c (ring per attach); tri_pauses (users).
 */
#include "runtime/pause.h"
#include "runtime/nopreempt.h"
#include "runtime/runtime.h"
#include "runtime/probes.h"
#include "runtime/thread.h"
#include "runtime/trace.h"
#include <stdlib.h>

static pthread_mutex_t pause_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pause_ring *rings; /* every ring ever made, under pause_lock */
static unsigned nretired;

#define MAX_RETIRED 256

struct pause_ring *pause_ring_get(uint32_t thread_id)
{
	pthread_mutex_lock(&pause_lock);
	struct pause_ring *r = NULL;
	if (nretired > MAX_RETIRED) {
		/* Recycle the oldest retired ring: its samples are the stalest. */
		for (struct pause_ring *q = rings; q; q = q->all_next)
			if (q->retired)
				r = q;
		if (r) {
			r->retired = 0;
			nretired--;
		}
	}
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			tri_fatal("tri_thread_attach: out of memory for the pause ring");
		r->all_next = rings;
		rings = r;
	}
	st_relaxed(&r->thread, thread_id);
	pthread_mutex_unlock(&pause_lock);
	return r;
}

void pause_ring_retire(struct pause_ring *r)
{
	pthread_mutex_lock(&pause_lock);
	r->retired = 1;
	nretired++;
	pthread_mutex_unlock(&pause_lock);
}

static const char *const kind_names[PAUSE_KINDS] = {
	"pause", "pause:handshake", "pause:assist", "pause:stop", "pause:wait",
	"pause:sweep", "pause:lock", "pause:heap", "pause:callback"};

void pause_record(struct pause_ring *r, uint32_t kind, uint64_t start_ns, uint64_t len_ns)
{
	if (kind >= PAUSE_KINDS)
		kind = 0;
	if (r) {
		/* Owner only (pause.h): the per-entry seqlock write side. */
		uint64_t i = ld_relaxed(&r->next);
		struct pause_entry *e = &r->e[i % PAUSE_RING_CAP];
		uint32_t seq = ld_relaxed(&e->seq);
		st_relaxed(&e->seq, seq + 1);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		st_relaxed(&e->p.start_ns, start_ns);
		st_relaxed(&e->p.length_ns, len_ns);
		st_relaxed(&e->p.kind, kind);
		st_relaxed(&e->p.thread, ld_relaxed(&r->thread));
		st_release(&e->seq, seq + 2);
		st_release(&r->next, i + 1);
	}
	fetch_add(&tri_stats.pause_count, 1);
	fetch_add(&tri_stats.pause_total_ns, len_ns);
	fetch_add(&tri_stats.pause_kind_count[kind], 1);
	fetch_add(&tri_stats.pause_kind_ns[kind], len_ns);
	atomic_max(&tri_stats.pause_max_ns, len_ns);
	atomic_max(&tri_stats.pause_kind_max_ns[kind], len_ns);
	atomic_max(&tri_stats.pause_cycle_max_ns, len_ns); /* gctrace, reset per cycle */
	if (kind == TRI_PAUSE_HANDSHAKE)
		fetch_add(&tri_stats.pause_handshake_ns, len_ns);
	TRI_PROBE3(pause, kind, start_ns, len_ns);
	trace_complete(kind_names[kind], "pause", r ? ld_relaxed(&r->thread) : 0, start_ns, len_ns, kind);
}

void pause_stall(uint32_t kind, uint64_t start_ns)
{
	uint64_t len = tri_now_ns() - start_ns;
	if (len < PAUSE_STALL_NS)
		return;
	struct tri_thread *t = tri_self;
	if (t == &tri_detached_thread || !t->ring)
		return;
	pause_record(t->ring, kind, start_ns, len);
}

uint64_t pause_cycle_max_take(void)
{
	return __atomic_exchange_n(&tri_stats.pause_cycle_max_ns, 0, __ATOMIC_RELAXED);
}

size_t tri_pauses(tri_pause *out, size_t max)
{
	NO_PREEMPT();
	size_t n = 0;
	pthread_mutex_lock(&pause_lock);
	for (struct pause_ring *r = rings; r && n < max; r = r->all_next) {
		uint64_t next = ld_acquire(&r->next);
		uint64_t count = next < PAUSE_RING_CAP ? next : PAUSE_RING_CAP;
		for (uint64_t i = next - count; i < next && n < max; i++) {
			/* Read side of the entry's seqlock: skip an entry the
			 * owner is rewriting (it is newer than `next` said). */
			struct pause_entry *e = &r->e[i % PAUSE_RING_CAP];
			uint32_t s0 = ld_acquire(&e->seq);
			if (s0 & 1)
				continue;
			tri_pause p = {ld_relaxed(&e->p.start_ns), ld_relaxed(&e->p.length_ns),
				       ld_relaxed(&e->p.kind), ld_relaxed(&e->p.thread)};
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (ld_relaxed(&e->seq) != s0)
				continue;
			out[n++] = p;
		}
	}
	pthread_mutex_unlock(&pause_lock);
	return n;
}

/* fork (runtime/fork.c) */
void pause_fork_lock(void)
{
	pthread_mutex_lock(&pause_lock);
}
void pause_fork_unlock(void)
{
	pthread_mutex_unlock(&pause_lock);
}
