/* SPDX-License-Identifier: MIT */
/*
 * weak_cache.c - a cache that does not keep what it caches alive.
 *
 * Keys are interned (tri_intern: one canonical copy per string, so keys
 * compare by pointer); values are held through weak pointers (tri_weak), so
 * the cache never keeps a value alive: a value in use is found again, a
 * value no one holds any more is reclaimed by the collector and computed
 * again on the next lookup. Go programs build the same with unique.Make and
 * weak.Pointer.
 */
#include <stdio.h>
#include <string.h>
#include <tricolor.h>

#define SLOTS 64

struct value { const char *key; long computed; };

/* The cache: interned key pointer -> weak pointer to the value. It lives
 * on the tricolor heap, so the collector sees the keys and the handles. */
struct cache { const char *key[SLOTS]; tri_weak val[SLOTS]; long computations; };

static struct value *compute(struct cache *c, const char *key)
{
	struct value *v = tri_alloc(sizeof *v);
	TRI_STORE(v->key, key);
	v->computed = (long)strlen(key) * 1000;
	c->computations++;
	return v;
}

static struct value *lookup(struct cache *c, const char *name)
{
	const char *key = tri_intern(name, strlen(name)); /* canonical pointer */
	unsigned h = (unsigned)(((unsigned long)key >> 4) % SLOTS);
	for (unsigned i = 0; i < SLOTS; i++, h = (h + 1) % SLOTS) {
		if (c->key[h] == key) {
			struct value *v = tri_weak_get(c->val[h]); /* a strong pointer, or NULL */
			if (!v) {				   /* reclaimed: compute again */
				v = compute(c, key);
				tri_weak_store(&c->val[h], tri_weak_make(v));
			}
			return v;
		}
		if (!c->key[h]) {
			struct value *v = compute(c, key);
			TRI_STORE(c->key[h], key);
			tri_weak_store(&c->val[h], tri_weak_make(v));
			return v;
		}
	}
	return compute(c, key); /* full: do not cache */
}

__attribute__((noinline)) static void use_and_drop(struct cache *c)
{
	char name[32];
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "temporary-%d", i);
		lookup(c, name); /* the result is dropped at once */
	}
}

int main(void)
{
	if (tri_init(NULL))
		return 1;
	struct cache *c = tri_alloc(sizeof *c);
	struct value *kept = lookup(c, "config"); /* held by this program */
	use_and_drop(c);
	long before = c->computations;
	for (int i = 0; i < 5; i++)
		tri_collect(); /* the dropped values are reclaimed, "config" is not */
	int hit = lookup(c, "config") == kept;
	char name[32];
	strcpy(name, "config");
	int same_key = tri_intern(name, 6) == kept->key; /* equal strings, one copy */
	use_and_drop(c);			       /* computed again: they were reclaimed */
	long recomputed = c->computations - before;
	printf("weak_cache: config %s, key interned once: %s, %ld of 10 dropped values recomputed\n",
	       hit ? "still cached" : "LOST", same_key ? "yes" : "NO", recomputed);
	tri_keep_alive(kept);
	/* Conservative stack scanning may keep a dropped value for a cycle or
	 * two; most must have been reclaimed. */
	return hit && same_key && recomputed >= 5 ? 0 : 1;
}
