/* SPDX-License-Identifier: MIT */
/*
 * libc_api.c - the libc-shaped allocation calls a porting user reaches for:
 * tri_calloc, tri_realloc, tri_strdup, tri_strndup. All are built on
 * tri_alloc / tri_alloc_atomic and the write barrier; none touches
 * allocator internals beyond object_lookup (alloc/span.h) to find a
 * block's start, size and kind.
 *
 * Data: none of its own.
 * Invariants kept here:
 *  - tri_realloc never writes a heap pointer into a scanned block without
 *    the write barrier: the copy goes through tri_memmove and the cleared
 *    tail through tri_store(slot, NULL), so a pointer that a black stack
 *    loaded from the old contents is shaded (Yuasa half) and the new
 *    block's pointers are shaded (Dijkstra half) even when the new block
 *    was allocated black during marking.
 *  - the old block is never freed by hand: other threads may still hold
 *    it, and the collector reclaims it when it is unreachable.
 * Callers: user code (include/tricolor.h), attached threads only: each
 * entry point checks (thread_require) and aborts naming itself.
 */
#include "alloc/layout.h"
#include "alloc/span.h"
#include "runtime/runtime.h"
#include "runtime/thread.h"
#include <errno.h>
#include <string.h>

void *tri_calloc(size_t nmemb, size_t size)
{
	thread_require("tri_calloc");
	size_t n;
	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return tri_alloc(n); /* tri_alloc memory is zeroed */
}

/* Clear [from, to) of a block: word by word through the barrier when the
 * block is scanned (the words may hold heap pointers), else memset. */
static void clear_tail(char *from, char *to, bool noscan)
{
	if (from >= to)
		return;
	if (noscan) {
		memset(from, 0, (size_t)(to - from));
		return;
	}
	uintptr_t w = ((uintptr_t)from + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1);
	memset(from, 0, (size_t)((char *)w - from)); /* a partial word holds no pointer */
	for (; w + sizeof(void *) <= (uintptr_t)to; w += sizeof(void *))
		tri_store((void *)w, NULL);
	if (w < (uintptr_t)to)
		memset((void *)w, 0, (size_t)((uintptr_t)to - w));
}

void *tri_realloc(void *p, size_t n)
{
	thread_require("tri_realloc");
	if (!p)
		return tri_alloc(n);
	if (p == (void *)tri_zerobase)
		return n ? tri_alloc(n) : p;
	struct span *s;
	uint32_t idx;
	uintptr_t base = object_lookup((uintptr_t)p, &s, &idx);
	if (!base)
		tri_fatal("tri_realloc: pointer not in allocated block (%p)", p);
	if (base != (uintptr_t)p)
		tri_fatal("tri_realloc: pointer not at beginning of allocated block (%p is %zu bytes into the block at %p)",
			  p, (size_t)((uintptr_t)p - base), (void *)base);
	bool noscan = s->noscan;
	/* A typed block keeps its layout: the new one is an array of it, of
	 * enough elements for n bytes; its layout word is not the program's. */
	const tri_layout *l = s->typed ? layout_of_header(base, layout_block_end(s, base)) : NULL;
	size_t have = s->typed ? s->elemsize - LAYOUT_HEADER : s->elemsize;
	if (n == 0)
		return (void *)tri_zerobase;
	if (n <= have) {
		clear_tail((char *)p + n, (char *)p + have, noscan);
		return p;
	}
	void *q = l ? tri_alloc_array_typed(l, n / l->size + (n % l->size != 0))
		    : noscan ? tri_alloc_atomic(n) : tri_alloc(n);
	if (!q)
		return NULL; /* errno = ENOMEM from tri_alloc */
	if (noscan)
		memcpy(q, p, have);
	else
		tri_memmove(q, p, have);
	return q;
}

char *tri_strndup(const char *s, size_t n)
{
	thread_require("tri_strndup");
	if (!s)
		tri_fatal("tri_strndup: s is NULL");
	size_t len = strnlen(s, n);
	char *d = tri_alloc_atomic(len + 1);
	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = 0;
	return d;
}

char *tri_strdup(const char *s)
{
	thread_require("tri_strdup");
	if (!s)
		tri_fatal("tri_strdup: s is NULL");
	return tri_strndup(s, (size_t)-1);
}
