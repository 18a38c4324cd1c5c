/*
 * pause.c - pause rings (see pause.h) and tri_pauses.
 */
#include "runtime/pause.h"
#include "runtime/preempt.h"
#include "runtime/runtime.h"
#include "runtime/probes.h"
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
	r->thread = thread_id;
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

void pause_record(struct pause_ring *r, uint32_t kind, uint64_t start_ns, uint64_t len_ns)
{
	pthread_mutex_lock(&pause_lock);
	if (r) {
		tri_pause *p = &r->e[r->next % PAUSE_RING_CAP];
		p->start_ns = start_ns;
		p->length_ns = len_ns;
		p->kind = kind;
		p->thread = r->thread;
		r->next++;
	}
	/* Written under pause_lock, read without it (metrics, gctrace). */
	st_relaxed(&tri_stats.pause_count, tri_stats.pause_count + 1);
	st_relaxed(&tri_stats.pause_total_ns, tri_stats.pause_total_ns + len_ns);
	if (len_ns > tri_stats.pause_max_ns)
		st_relaxed(&tri_stats.pause_max_ns, len_ns);
	if (len_ns > tri_stats.pause_cycle_max_ns)
		st_relaxed(&tri_stats.pause_cycle_max_ns, len_ns);
	if (kind == TRI_PAUSE_HANDSHAKE)
		st_relaxed(&tri_stats.pause_handshake_ns, tri_stats.pause_handshake_ns + len_ns);
	pthread_mutex_unlock(&pause_lock);
	TRI_PROBE3(pause, kind, start_ns, len_ns);
	static const char *const names[] = {"pause", "pause:handshake", "pause:assist", "pause:stop", "pause:wait"};
	trace_complete(names[kind < 5 ? kind : 0], "pause", r ? r->thread : 0, start_ns, len_ns, kind);
}

uint64_t pause_cycle_max_take(void)
{
	pthread_mutex_lock(&pause_lock);
	uint64_t m = tri_stats.pause_cycle_max_ns;
	st_relaxed(&tri_stats.pause_cycle_max_ns, 0);
	pthread_mutex_unlock(&pause_lock);
	return m;
}

size_t tri_pauses(tri_pause *out, size_t max)
{
	NO_PREEMPT();
	size_t n = 0;
	pthread_mutex_lock(&pause_lock);
	for (struct pause_ring *r = rings; r && n < max; r = r->all_next) {
		uint64_t count = r->next < PAUSE_RING_CAP ? r->next : PAUSE_RING_CAP;
		for (uint64_t i = r->next - count; i < r->next && n < max; i++)
			out[n++] = r->e[i % PAUSE_RING_CAP];
	}
	pthread_mutex_unlock(&pause_lock);
	return n;
}

/* fork (runtime/fork.c) */
void pause_fork_lock(void);
void pause_fork_unlock(void);
void pause_fork_lock(void)
{
	pthread_mutex_lock(&pause_lock);
}
void pause_fork_unlock(void)
{
	pthread_mutex_unlock(&pause_lock);
}
