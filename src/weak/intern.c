/* SPDX-License-Identifier: MIT */
/*
 * intern.c - tri_intern: canonical heap copies of byte strings (Go's
 * unique.Make), held weakly.
 *
 * Data: one lock-free hash table (liburcu's rculfhash, bulletproof RCU
 * flavour like the thread registry) of entries, malloc'd, each with the
 * string's hash and length and a private weak cell (weak/weak.h) naming the
 * canonical copy, a noscan heap object. Nothing in the table keeps a copy
 * alive: the cell is a weak special on the copy's span.
 *
 * Lookup (no lock): inside rcu_read_lock, walk the entries of the hash; an
 * entry matches if its length is equal, its cell still reads the copy
 * (weak_cell_get: during marking the copy is marked before it is used, and
 * a copy the current cycle found dead reads 0), and the bytes are equal.
 * The copy returned is held on the caller's stack from then on.
 *
 * Insertion (intern_lock, the only lock, taken only on a miss): look again
 * under the lock; if still missing, record the new copy's cell, a cleanup on
 * the copy, and add the entry. So at any time at most one entry per byte
 * string reads a live copy (I1): every entry added was preceded, under the
 * same lock, by a lookup that found no live copy, and a copy that reads
 * dead never reads live again (W2, W3). No safepoint is reached with the
 * lock held (the copy and the entry are allocated before it), so a thread
 * waiting for it never delays a handshake for long.
 *
 * Removal: the copy's cleanup (a cleanup worker) deletes the entry from the
 * table and frees it after an RCU grace period (call_rcu), so a lookup that
 * is still walking it reads a cleared cell, never freed memory. The cell is
 * cleared by the sweep before that cleanup is queued (alloc/special.c), so
 * between death and removal the entry is only skipped. The weak record
 * (in the span) points into the entry: it is removed by that same sweep,
 * before the cleanup can free the entry.
 *
 * Lock order: intern_lock, then a span's special_lock (special_add_weak_
 * private, tri_add_cleanup); runtime/fork.c holds it across fork.
 *
 * Callers: the program (tri_intern); fork.c. Shared state: `table` (created once
 * under pthread_once, then read-only pointer), intern_lock.
 */
#include "alloc/special.h"
#include "runtime/preempt.h"
#include "runtime/thread.h"
#include "weak/weak.h"
#include <stdlib.h>
#include <string.h>
#include <urcu/rculfhash.h>

struct intern_entry {
	struct cds_lfht_node node;
	struct weak_cell cell; /* names the canonical copy */
	uint64_t hash;
	size_t len;
	struct rcu_head rcu;
};

struct intern_key {
	const void *bytes;
	size_t len;
	uintptr_t found; /* the live copy, set by the match */
};

static struct cds_lfht *table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;

static void table_create(void)
{
	table = cds_lfht_new(64, 64, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
	if (!table)
		tri_fatal("tri_intern: cannot create the intern table");
}

/* 64-bit hash of a byte string: 8-byte words, multiply-xorshift mixing. */
static uint64_t intern_hash(const unsigned char *p, size_t n)
{
	const uint64_t k = 0x9e3779b97f4a7c15ull;
	uint64_t h = n * k;
	for (; n >= 8; p += 8, n -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ w) * k;
		h ^= h >> 29;
	}
	uint64_t w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * k;
	h ^= h >> 32;
	return h * k ^ (h >> 29);
}

static int intern_match(struct cds_lfht_node *node, const void *key)
{
	struct intern_entry *e = caa_container_of(node, struct intern_entry, node);
	struct intern_key *k = (struct intern_key *)key;
	tsan_acquire(e); /* published by cds_lfht_add (see there) */
	if (e->len != k->len)
		return 0;
	uintptr_t copy = weak_cell_get(&e->cell);
	if (!copy || memcmp((const void *)copy, k->bytes, k->len))
		return 0;
	k->found = copy;
	return 1;
}

static uintptr_t intern_lookup(uint64_t h, struct intern_key *k)
{
	struct cds_lfht_iter it;
	k->found = 0;
	rcu_read_lock();
	cds_lfht_lookup(table, (unsigned long)h, intern_match, k, &it);
	rcu_read_unlock();
	return k->found;
}

static void entry_free(struct rcu_head *r)
{
	struct intern_entry *e = caa_container_of(r, struct intern_entry, rcu);
	tsan_acquire(&tri_rcu_sync_token); /* as thread.c's free_thread */
	free(e);
}

/* The cleanup of a canonical copy: it died, and its cell was cleared. */
static void intern_drop(void *arg)
{
	struct intern_entry *e = arg;
	rcu_read_lock();
	int r = cds_lfht_del(table, &e->node);
	rcu_read_unlock();
	if (r)
		tri_fatal("tricolor: tri_intern: entry %p was not in the table", (void *)e);
	call_rcu(&e->rcu, entry_free);
}

void intern_fork_lock(void)
{
	pthread_mutex_lock(&intern_lock);
}

void intern_fork_unlock(void)
{
	pthread_mutex_unlock(&intern_lock);
}

const void *tri_intern(const void *bytes, size_t n)
{
	NO_PREEMPT();
	thread_require("tri_intern");
	if (!n)
		return tri_zerobase;
	if (!bytes)
		tri_fatal("tri_intern: bytes is NULL (n = %zu)", n);
	pthread_once(&table_once, table_create);
	uint64_t h = intern_hash(bytes, n);
	struct intern_key k = {bytes, n, 0};
	if (intern_lookup(h, &k))
		return (const void *)k.found;

	/* Miss: allocate first (this may reach a safepoint), then decide
	 * under the lock. */
	void *copy = tri_alloc_atomic(n);
	if (!copy)
		return NULL; /* errno ENOMEM, as tri_alloc_atomic */
	memcpy(copy, bytes, n);
	struct intern_entry *e = malloc(sizeof *e);
	if (!e)
		tri_fatal("tri_intern: out of memory for an intern table entry");
	e->hash = h;
	e->len = n;
	cds_lfht_node_init(&e->node);
	pthread_mutex_lock(&intern_lock);
	if (intern_lookup(h, &k)) {
		pthread_mutex_unlock(&intern_lock);
		free(e); /* someone interned it meanwhile; our copy is garbage */
		return (const void *)k.found;
	}
	struct span *s = NULL;
	uint32_t idx = 0;
	uintptr_t base = object_lookup((uintptr_t)copy, &s, &idx);
	tri_assert(base == (uintptr_t)copy);
	special_add_weak_private(s, idx, base, &e->cell);
	tri_add_cleanup(copy, intern_drop, e);
	/* rculfhash publishes the node with its own barriers, which TSan does
	 * not see (runtime.h): declare the release of e's fields. */
	tsan_release(e);
	rcu_read_lock();
	cds_lfht_add(table, (unsigned long)h, &e->node);
	rcu_read_unlock();
	pthread_mutex_unlock(&intern_lock);
	tri_keep_alive(copy);
	return copy;
}
