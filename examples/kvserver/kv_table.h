/* SPDX-License-Identifier: MIT */
/*
 * kv_table.h - the shared key-value table of tricolor-kvserver.
 *
 * The table lives on the tricolor heap: a root object holds KV_SHARDS shard
 * objects, each shard a chained hash table (an array of bucket heads on the
 * heap, entries on the heap, key and value bytes in atomic blocks). Every
 * shard is protected by its own pthread mutex (lock striping); shards grow
 * independently. Pointer stores into published objects go through
 * TRI_STORE. Values are immutable once published: a SET or INCR publishes a
 * new value block, so a reader may copy a value after dropping the lock (its
 * stack reference keeps the old block alive).
 */
#ifndef KV_TABLE_H
#define KV_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct kv_table;

/* A value snapshot returned by kv_get: bytes stay valid while the caller
 * holds the pointer (the collector sees it on the stack). */
struct kv_value {
	const char *data;
	size_t len;
};

/* Create the table (attached thread; the caller must keep it reachable). */
struct kv_table *kv_table_new(void);

/* 1 if found (value filled in), 0 if missing or expired. */
int kv_get(struct kv_table *t, const char *key, size_t klen,
	   struct kv_value *out);

/* Set key to a copy of val (clears any expiry). Returns 0, or -1 on ENOMEM. */
int kv_set(struct kv_table *t, const char *key, size_t klen, const char *val,
	   size_t vlen);

/* Delete; returns 1 if the key existed. */
int kv_del(struct kv_table *t, const char *key, size_t klen);

/* INCRBY: 0 ok (*result set), -1 value not an integer, -2 ENOMEM,
 * -3 the result would overflow int64. */
int kv_incrby(struct kv_table *t, const char *key, size_t klen,
	      int64_t delta, int64_t *result);

/* EXPIRE key seconds: 1 if set, 0 if the key does not exist. A timeout
 * <= 0 deletes the key (as Redis does). */
int kv_expire(struct kv_table *t, const char *key, size_t klen,
	      int64_t seconds);

/* TTL in seconds: -2 missing, -1 no expiry. */
int64_t kv_ttl(struct kv_table *t, const char *key, size_t klen);

/* Number of keys (approximate while writers run). */
uint64_t kv_count(struct kv_table *t);

/* Remove every key. */
void kv_flush(struct kv_table *t);

/* Monotonic clock in milliseconds. */
int64_t kv_now_ms(void);

/* Strict decimal int64 parse (Redis rules: no spaces, no leading '+'). */
int kv_parse_i64(const char *s, size_t n, int64_t *out);

#endif
