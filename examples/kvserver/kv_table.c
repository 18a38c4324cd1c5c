/* SPDX-License-Identifier: MIT */
/*
 * kv_table.c - striped, sharded hash table on the tricolor heap.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "kv_table.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <tricolor.h>

#define KV_SHARDS 256		/* power of two; one mutex each */
#define KV_INITIAL_BUCKETS 64	/* per shard; power of two */

struct kv_entry {
	struct kv_entry *next;
	char *key;		/* tri_alloc_atomic, klen bytes */
	char *val;		/* tri_alloc_atomic, vlen bytes (immutable) */
	uint64_t hash;
	size_t klen;
	size_t vlen;
	int64_t expire_ms;	/* 0 = none, else kv_now_ms() deadline */
};

struct kv_shard {
	struct kv_entry **buckets; /* tri_alloc, mask + 1 heads */
	size_t mask;
	size_t count;
};

struct kv_table {
	struct kv_shard *shards[KV_SHARDS];
};

/* The mutexes are plain static data: they hold no heap pointers. Padded so
 * that two stripes never share a cache line. */
static struct {
	pthread_mutex_t m;
	char pad[64 - sizeof(pthread_mutex_t) % 64];
} kv_locks[KV_SHARDS];
static pthread_once_t kv_locks_once = PTHREAD_ONCE_INIT;

static void kv_locks_init(void)
{
	for (int i = 0; i < KV_SHARDS; i++)
		pthread_mutex_init(&kv_locks[i].m, NULL);
}

/* A short hold is the norm: try first; only if the stripe is busy, sleep on
 * it inside a blocking region so that the collector never waits for us. */
static void shard_lock(unsigned i)
{
	if (pthread_mutex_trylock(&kv_locks[i].m) == 0)
		return;
	(void)TRI_BLOCKING(pthread_mutex_lock(&kv_locks[i].m));
}

static void shard_unlock(unsigned i)
{
	pthread_mutex_unlock(&kv_locks[i].m);
}

int64_t kv_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 64-bit FNV-1a followed by a murmur finalizer (good high bits for the
 * shard index, good low bits for the bucket index). */
static uint64_t kv_hash(const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static unsigned shard_of(uint64_t h)
{
	return (unsigned)(h >> 56) & (KV_SHARDS - 1);
}

struct kv_table *kv_table_new(void)
{
	pthread_once(&kv_locks_once, kv_locks_init);
	struct kv_table *t = tri_alloc(sizeof *t);
	if (!t)
		return NULL;
	for (int i = 0; i < KV_SHARDS; i++) {
		struct kv_shard *s = tri_alloc(sizeof *s);
		if (!s)
			return NULL;
		s->buckets = tri_alloc(KV_INITIAL_BUCKETS * sizeof(void *));
		if (!s->buckets)
			return NULL;
		s->mask = KV_INITIAL_BUCKETS - 1;
		/* t is not yet published, but s->buckets is a fresh pointer
		 * in a fresh object: the store into t goes through the
		 * barrier anyway since tri_alloc may have run a cycle. */
		TRI_STORE(t->shards[i], s);
	}
	return t;
}

/* Find the slot pointing at the entry for key (or the NULL at the end of
 * its chain). Shard lock held. */
static struct kv_entry **find_slot(struct kv_shard *s, uint64_t h,
				   const char *key, size_t klen)
{
	struct kv_entry **slot = &s->buckets[h & s->mask];
	for (struct kv_entry *e = *slot; e; slot = &e->next, e = *slot) {
		if (e->hash == h && e->klen == klen &&
		    memcmp(e->key, key, klen) == 0)
			return slot;
	}
	return slot;
}

static int expired(const struct kv_entry *e, int64_t now)
{
	return e->expire_ms != 0 && now >= e->expire_ms;
}

/* Unlink *slot. Shard lock held. */
static void unlink_slot(struct kv_shard *s, struct kv_entry **slot)
{
	struct kv_entry *e = *slot;
	TRI_STORE(*slot, e->next);
	s->count--;
}

/* Look up key, dropping it if it has expired. Shard lock held. */
static struct kv_entry **lookup(struct kv_shard *s, uint64_t h,
				const char *key, size_t klen)
{
	struct kv_entry **slot = find_slot(s, h, key, klen);
	if (*slot && (*slot)->expire_ms && expired(*slot, kv_now_ms())) {
		unlink_slot(s, slot);
		return find_slot(s, h, key, klen);
	}
	return slot;
}

/* Double the bucket array when the load factor exceeds 2. Allocating under
 * the stripe lock is fine: other threads that want this stripe wait inside
 * a blocking region (shard_lock). */
static void maybe_grow(struct kv_shard *s)
{
	if (s->count <= 2 * (s->mask + 1))
		return;
	size_t nsize = 2 * (s->mask + 1);
	struct kv_entry **nb = tri_alloc(nsize * sizeof(void *));
	if (!nb)
		return; /* keep the long chains; still correct */
	size_t nmask = nsize - 1;
	for (size_t i = 0; i <= s->mask; i++) {
		struct kv_entry *e = s->buckets[i];
		while (e) {
			struct kv_entry *next = e->next;
			size_t b = e->hash & nmask;
			TRI_STORE(e->next, nb[b]);
			TRI_STORE(nb[b], e);
			e = next;
		}
		TRI_STORE(s->buckets[i], NULL);
	}
	TRI_STORE(s->buckets, nb);
	s->mask = nmask;
}

int kv_get(struct kv_table *t, const char *key, size_t klen,
	   struct kv_value *out)
{
	uint64_t h = kv_hash(key, klen);
	unsigned si = shard_of(h);
	struct kv_shard *s = t->shards[si];
	int found = 0;
	shard_lock(si);
	struct kv_entry *e = *lookup(s, h, key, klen);
	if (e) {
		out->data = e->val;
		out->len = e->vlen;
		found = 1;
	}
	shard_unlock(si);
	return found;
}

static char *copy_bytes(const char *p, size_t n)
{
	char *b = tri_alloc_atomic(n ? n : 1);
	if (b && n)
		memcpy(b, p, n);
	return b;
}

int kv_set(struct kv_table *t, const char *key, size_t klen, const char *val,
	   size_t vlen)
{
	uint64_t h = kv_hash(key, klen);
	unsigned si = shard_of(h);
	struct kv_shard *s = t->shards[si];

	/* Allocate outside the lock: the value always, the entry and key
	 * speculatively (dropped to the collector if the key exists). */
	char *v = copy_bytes(val, vlen);
	char *k = copy_bytes(key, klen);
	struct kv_entry *ne = tri_alloc(sizeof *ne);
	if (!v || !k || !ne)
		return -1;
	ne->key = k;
	ne->klen = klen;
	ne->val = v;
	ne->vlen = vlen;
	ne->hash = h;

	shard_lock(si);
	struct kv_entry **slot = lookup(s, h, key, klen);
	struct kv_entry *e = *slot;
	if (e) {
		e->vlen = vlen;
		TRI_STORE(e->val, v);
		e->expire_ms = 0;
	} else {
		/* ne is unpublished: plain stores are allowed until the
		 * TRI_STORE that links it into the chain. */
		ne->next = NULL;
		TRI_STORE(*slot, ne);
		s->count++;
		maybe_grow(s);
	}
	shard_unlock(si);
	return 0;
}

int kv_del(struct kv_table *t, const char *key, size_t klen)
{
	uint64_t h = kv_hash(key, klen);
	unsigned si = shard_of(h);
	struct kv_shard *s = t->shards[si];
	int found = 0;
	shard_lock(si);
	struct kv_entry **slot = lookup(s, h, key, klen);
	if (*slot) {
		unlink_slot(s, slot);
		found = 1;
	}
	shard_unlock(si);
	return found;
}

int kv_parse_i64(const char *p, size_t n, int64_t *out)
{
	if (n == 0 || n > 20)
		return -1;
	size_t i = 0;
	int neg = 0;
	if (p[0] == '-') {
		neg = 1;
		i = 1;
		if (n == 1)
			return -1;
	}
	if (p[i] == '0' && (n > i + 1 || neg))
		return -1; /* no leading zeros and no "-0", like Redis' string2ll */
	uint64_t v = 0;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		uint64_t d = (uint64_t)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = (int64_t)(0 - v);
	} else {
		if (v > (uint64_t)INT64_MAX)
			return -1;
		*out = (int64_t)v;
	}
	if (neg && *out == 0)
		return -1; /* "-0" */
	return 0;
}

int kv_incrby(struct kv_table *t, const char *key, size_t klen,
	      int64_t delta, int64_t *result)
{
	uint64_t h = kv_hash(key, klen);
	unsigned si = shard_of(h);
	struct kv_shard *s = t->shards[si];
	char buf[32];
	int rc = 0;

	shard_lock(si);
	struct kv_entry **slot = lookup(s, h, key, klen);
	struct kv_entry *e = *slot;
	int64_t cur = 0;
	if (e && kv_parse_i64(e->val, e->vlen, &cur) != 0) {
		rc = -1;
		goto out;
	}
	if ((delta > 0 && cur > INT64_MAX - delta) ||
	    (delta < 0 && cur < INT64_MIN - delta)) {
		rc = -3;
		goto out;
	}
	cur += delta;
	int n = snprintf(buf, sizeof buf, "%lld", (long long)cur);
	char *v = copy_bytes(buf, (size_t)n);
	if (!v) {
		rc = -2;
		goto out;
	}
	if (e) {
		e->vlen = (size_t)n;
		TRI_STORE(e->val, v);
	} else {
		char *k = copy_bytes(key, klen);
		struct kv_entry *ne = tri_alloc(sizeof *ne);
		if (!k || !ne) {
			rc = -2;
			goto out;
		}
		ne->key = k;
		ne->klen = klen;
		ne->val = v;
		ne->vlen = (size_t)n;
		ne->hash = h;
		/* The allocations may have let other code run a cycle, but
		 * nobody else can have touched this stripe: slot is valid. */
		TRI_STORE(*slot, ne);
		s->count++;
		maybe_grow(s);
	}
	*result = cur;
out:
	shard_unlock(si);
	return rc;
}

int kv_expire(struct kv_table *t, const char *key, size_t klen,
	      int64_t seconds)
{
	uint64_t h = kv_hash(key, klen);
	unsigned si = shard_of(h);
	struct kv_shard *s = t->shards[si];
	int found = 0;
	shard_lock(si);
	struct kv_entry **slot = lookup(s, h, key, klen);
	if (*slot) {
		found = 1;
		if (seconds <= 0)
			unlink_slot(s, slot);
		else
			(*slot)->expire_ms = kv_now_ms() +
				(seconds > INT64_MAX / 2000 ? INT64_MAX / 2
							    : seconds * 1000);
	}
	shard_unlock(si);
	return found;
}

int64_t kv_ttl(struct kv_table *t, const char *key, size_t klen)
{
	uint64_t h = kv_hash(key, klen);
	unsigned si = shard_of(h);
	struct kv_shard *s = t->shards[si];
	int64_t ttl = -2;
	shard_lock(si);
	struct kv_entry *e = *lookup(s, h, key, klen);
	if (e)
		ttl = e->expire_ms ? (e->expire_ms - kv_now_ms() + 999) / 1000
				   : -1;
	shard_unlock(si);
	return ttl;
}

uint64_t kv_count(struct kv_table *t)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < KV_SHARDS; i++)
		n += __atomic_load_n(&t->shards[i]->count, __ATOMIC_RELAXED);
	return n;
}

void kv_flush(struct kv_table *t)
{
	for (unsigned i = 0; i < KV_SHARDS; i++) {
		struct kv_shard *s = t->shards[i];
		shard_lock(i);
		for (size_t b = 0; b <= s->mask; b++)
			TRI_STORE(s->buckets[b], NULL);
		s->count = 0;
		shard_unlock(i);
	}
}
